"""The analysis: pure functions on the book (DataFrame in, new DataFrame out).

- ``book``: the units (``ALL``, 支局, 网点), :func:`for_branch` (the one unit check), labels,
  :func:`enrich` (yields and risk per policy);
- ``yields``: policy yield against the after-tax 整存整取 benchmark deposit;
- ``risk``: the complaint-risk rating (A/B/C) with reasons;
- ``tables``: Tables 1–4, the segment table, the maturity-product analysis;
- ``targets``: the targets from data, allocated to branches and phases (largest remainder);
- ``reconcile``: the plan's stated figures against the reproduced ones;
- ``costs``: the shortfall against deposits and the compensation scenarios;
- ``kpis`` and ``evaluation``: each KPI, and the evaluation of a unit for a period;
- ``league``: the league tables of the 支局 and 网点 (actual, target, 达成率, verdict, rank);
- ``trends``: each KPI cumulated month by month against its cumulative target, for a unit and
  its child units;
- ``amounts``: the 转保 premiums and 转存 amounts against the playbook's amount per customer.

Nothing here formats for a reader or writes a file: that is ``output``.
"""

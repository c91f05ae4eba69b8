"""The fan-out: every unit's reports in one run — plan jobs → execute → export → index.

- ``jobs``: a job (a notebook for a unit, or its workbook), its key over everything the output
  depends on, the results, the planning of a run;
- ``run``: :func:`~maturity_analysis.reports.run.run_reports`, the pipeline ``make reports``
  calls;
- ``executors``: where jobs run — local worker processes, or a Dask cluster;
- ``worker``: one job in a worker: parameterise → execute in a warm kernel → render → check
  for PII → write atomically;
- ``kernels`` and ``kernelstate``: the warm kernel and its clean state between notebooks;
- ``render``: an executed notebook → self-contained HTML without code;
- ``index``: the run's ``index.html``.

A failing job fails alone; outputs appear atomically; a job whose key is unchanged is skipped.
"""

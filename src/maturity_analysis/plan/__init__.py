"""The plan as data: what the programme fixes, read from one TOML file and typed at load.

- ``model``: :class:`Plan` and :func:`load_plan` (bands, targets, phases, operations,
  playbook, tracking settings, risk, costs, programme, stated figures);
- ``period``: THE period — a year, a phase of the plan (``2013Q2``), a month or a day —
  parsed once, on the plan's own phases;
- ``bands``: age (周岁) and principal bands;
- ``workdays``: Chinese working days with 调休, from ``chinesecalendar``;
- ``programme``: the plan's programme tables dated for the plan year.

The bottom layer above ``config``/``files``/``exceptions``: it imports nothing else of the
package, and every other layer reads the plan through it.
"""

"""What people read: number formats, workbooks, the reports' sentences, charts, call lists.

- ``display``: column kinds (share, count, amount, date), text widths, :func:`format_table`,
  the reconciliation's reading copy;
- ``excel``: the one workbook writer (headers, formats, frozen panes, widths);
- ``workbook``: the tables workbook, for ``tables`` and every report's ``workbook.xlsx``;
- ``narrative``: the sentences the reports say, computed from the tables;
- ``plots``: the charts, with a CJK font that comes with the install;
- ``calllist``: call lists on working days and the monthly 附件 forms workbook (internal);
- ``privacy``: masking of PII and the leak check on what is rendered.
"""

"""Inputs: every spreadsheet read by one reader, validated row by row, and the dataset catalog.

- ``schema``: canonical columns, header aliases, allowed values; ``ids``: PRC ID numbers;
- ``readers``: raw xlsx/csv → cell text with sheet and Excel row numbers; header rows, footer
  (合计/共计/…) and blank rows, Excel dates;
- ``policies``: a maturity list → canonical policies, rejects with reasons, a manifest;
- ``forms``: the tracking forms (附件一/二/三, 满期去向) and their read-back;
- ``dataset``: ``data/raw/<name>/`` → ``data/processed/<name>/`` (prepare, freshness,
  ``read_dataset``, ``read_dataset_tracking``, fingerprint, manifest).

Every row read is accepted or rejected with file, sheet, row, column, value and reason:
``accepted + rejected == rows read``.
"""

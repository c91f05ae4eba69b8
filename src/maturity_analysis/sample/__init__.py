"""The deterministic sample: a maturity list reproducing the plan's Table 1 (``book``) and a
year of filled tracking forms for it (``tracking``), the same bytes for the same seed."""

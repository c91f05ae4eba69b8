"""The real report notebooks rerun to the same bytes.

Every notebook :func:`find_notebooks` returns, for one branch of the sample (with its
tracking forms) and the plan year, is built twice with ``force`` into two folders on one warm
worker: the HTML, the executed notebooks and the workbook must be byte-identical apart from a
report's one generation-time field (compared as ``test_outputs`` compares them).
"""

from __future__ import annotations

import nbformat
import pytest
from test_outputs import _comparable, _files

from maturity_analysis.reports.executors import LocalExecutor
from maturity_analysis.reports.jobs import applies_to, find_notebooks
from maturity_analysis.reports.run import prepare_dataset, run_reports
from maturity_analysis.sample.book import write_sample

DATASET = "sample"
PERIOD = "2013"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The sample's smallest branch, every report notebook, built twice with ``force``."""
    root = tmp_path_factory.mktemp("same-bytes")
    raw, processed = root / "data" / "raw", root / "data" / "processed"
    write_sample(raw / DATASET)
    _, policies = prepare_dataset(DATASET, raw, processed)  # the run then finds it prepared
    branch = policies["branch_code"].astype(str).value_counts().index[-1]
    executor = LocalExecutor(1)
    try:
        return [
            run_reports(
                DATASET,
                PERIOD,
                [branch],
                out_dir=root / f"out{n}",
                raw_dir=raw,
                processed_dir=processed,
                executor=executor,
                force=True,
                progress=False,
            )
            for n in (1, 2)
        ]
    finally:
        executor.close()


@pytest.mark.xfail(
    strict=True,
    reason="not yet: the executed notebooks keep each Styler's text/plain repr with its memory "
    "address ('<pandas.io.formats.style.Styler at 0x...>'), and 04's HTML has one Styler table "
    "with a random id (T_xxxxx, no uuid set); both differ on every run (notebooks/render)",
)
def test_real_reports_rerun_byte_identical(runs):
    for run in runs:
        assert run.ok, run.summary()
    first, second = (_files(r.out_dir) for r in runs)
    kept = [n for n in first if not n.endswith((".key", "run.json"))]  # stamps: build records
    assert sorted(kept) == sorted(n for n in second if not n.endswith((".key", "run.json")))
    notebooks = [nb for nb in find_notebooks() if applies_to(nbformat.read(nb, 4), PERIOD)]
    assert len(notebooks) >= 4
    for notebook in notebooks:
        assert sum(n.endswith(f"/{notebook.stem}.html") for n in kept) == 1, notebook.name
        assert sum(n.endswith(f"/{notebook.stem}.ipynb") for n in kept) == 1, notebook.name
    assert sum(n.endswith("/workbook.xlsx") for n in kept) == 1
    differ = [
        n
        for n in kept
        if _comparable(n, first[n].read_bytes()) != _comparable(n, second[n].read_bytes())
    ]
    assert differ == []

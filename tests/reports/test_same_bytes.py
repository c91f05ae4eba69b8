"""The real report notebooks rerun to the same bytes.

Every notebook :func:`find_notebooks` returns, for one branch of a small sample-shaped book
(400 policies over three branches, with the sample's tracking forms) and the plan year, is built twice with ``force`` into two folders on one warm
worker: the HTML, the executed notebooks and the workbook must be byte-identical apart from a
report's one generation-time field (compared as ``test_outputs`` compares them). Then each
notebook is built cold, alone in a fresh worker and kernel (no dataset, evaluation or parsed
notebook kept from an earlier job), and must equal its warm build. Last, all of them are built
in a fresh worker on a machine with an analyst's own ``matplotlibrc`` and IPython profile
(kernel config and a startup file), and must equal the warm build.
"""

from __future__ import annotations

import nbformat
import pytest
from test_outputs import _comparable, _differing, _files

from maturity_analysis.reports.executors import LocalExecutor
from maturity_analysis.reports.jobs import applies_to, find_notebooks
from maturity_analysis.reports.run import prepare_dataset, run_reports
from maturity_analysis.sample.book import scaled_policies
from maturity_analysis.sample.tracking import write_tracking

DATASET = "sample"
PERIOD = "2013"

pytestmark = pytest.mark.slow
# An analyst's own matplotlib settings: none of them may reach a report's charts.
STYLED_RC = """\
font.size: 20
figure.dpi: 50
figure.facecolor: yellow
axes.facecolor: black
lines.linewidth: 5
axes.prop_cycle: cycler('color', ['ff00ff'])
"""
# ... and their IPython kernel config and startup file.
STYLED_KERNEL = """\
c = get_config()
c.InlineBackend.rc = {"figure.dpi": 40, "font.size": 18}
c.InlineBackend.print_figure_kwargs = {"bbox_inches": "tight"}
c.InteractiveShell.ast_node_interactivity = "all"
"""
STYLED_STARTUP = "import pandas as pd\npd.set_option('display.precision', 1)\n"


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The book's smallest branch, every report notebook, built twice with ``force``."""
    root = tmp_path_factory.mktemp("same-bytes")
    raw, processed = root / "data" / "raw", root / "data" / "processed"
    frame = scaled_policies(400, seed=7, branches=3)
    (raw / DATASET).mkdir(parents=True)
    frame.to_excel(raw / DATASET / "policies.xlsx", index=False)
    write_tracking(raw / DATASET, frame, seed=7)
    _, policies = prepare_dataset(DATASET, raw, processed)  # the run then finds it prepared
    branch = policies["branch_code"].astype(str).value_counts().index[-1]
    executor = LocalExecutor(1)
    try:
        warm = [_build(raw, processed, branch, root / f"out{n}", executor) for n in (1, 2)]
    finally:
        executor.close()
    cold = {}
    for notebook in find_notebooks():
        fresh = LocalExecutor(1)
        try:
            cold[notebook.stem] = _build(
                raw, processed, branch, root / f"cold-{notebook.stem}", fresh, [notebook]
            )
        finally:
            fresh.close()
    rc = root / "matplotlibrc"
    rc.write_text(STYLED_RC)
    profile = root / "ipython" / "profile_default"
    (profile / "startup").mkdir(parents=True)
    (profile / "ipython_kernel_config.py").write_text(STYLED_KERNEL)
    (profile / "startup" / "00-analyst.py").write_text(STYLED_STARTUP)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MATPLOTLIBRC", str(rc))  # read by every matplotlib the worker starts
        env.setenv("IPYTHONDIR", str(root / "ipython"))
        styled = LocalExecutor(1)
        try:
            mine = _build(raw, processed, branch, root / "styled", styled)
        finally:
            styled.close()
    return warm, cold, mine


def _build(raw, processed, branch, out_dir, executor, notebooks=None):
    return run_reports(
        DATASET,
        PERIOD,
        [branch],
        out_dir=out_dir,
        raw_dir=raw,
        processed_dir=processed,
        executor=executor,
        force=True,
        progress=False,
        notebooks=notebooks,
    )


def test_real_reports_rerun_byte_identical(runs):
    runs, _, _ = runs
    for run in runs:
        assert run.ok, run.summary()
    kept, differ = _differing(*(_files(r.out_dir) for r in runs))
    notebooks = [nb for nb in find_notebooks() if applies_to(nbformat.read(nb, 4), PERIOD)]
    assert len(notebooks) >= 4
    for notebook in notebooks:
        assert sum(n.endswith(f"/{notebook.stem}.html") for n in kept) == 1, notebook.name
        assert sum(n.endswith(f"/{notebook.stem}.ipynb") for n in kept) == 1, notebook.name
    assert sum(n.endswith("/workbook.xlsx") for n in kept) == 1
    assert differ == []


def test_each_report_built_cold_equals_it_built_warm(runs):
    """A fresh worker whose kernel has read nothing yet (every per-process cache empty) writes
    the same report, executed notebook and workbook as the warm worker's second build."""
    (_, warm), cold, _ = runs
    warm_files = _files(warm.out_dir)
    notebooks = [nb for nb in find_notebooks() if applies_to(nbformat.read(nb, 4), PERIOD)]
    for notebook in notebooks:
        run = cold[notebook.stem]
        assert run.ok, run.summary()
        built = _files(run.out_dir)
        mine = [n for n in built if n.endswith(f"/{notebook.stem}.html")]
        mine += [n for n in built if n.endswith((f"/{notebook.stem}.ipynb", "/workbook.xlsx"))]
        assert len(mine) == 3, (notebook.name, sorted(built))
        for name in mine:
            assert _comparable(name, built[name].read_bytes()) == _comparable(
                name, warm_files[name].read_bytes()
            ), name


def test_an_analysts_own_settings_change_no_report(runs):
    """A worker started where ``$MATPLOTLIBRC`` names a file of other settings (font size,
    dpi, colours, line width) and ``$IPYTHONDIR`` a profile with its own kernel config
    (figure settings, every expression of a cell shown) and startup file writes the same
    reports, executed notebooks, workbook and index as the warm one."""
    (_, warm), _, styled = runs
    assert styled.ok, styled.summary()
    kept, differ = _differing(_files(warm.out_dir), _files(styled.out_dir))
    assert sum(n.endswith(".ipynb") for n in kept) >= 4  # their charts' PNGs
    assert differ == []

"""The report notebooks: stored clean, parameterised, and run by nbval (lax) on a small fixture.

nbval executes a notebook as stored, so each notebook is first parameterised with papermill
(as the report runner does) to read a fixture dataset prepared into ``tmp_path``: a few hundred
policies over three branches. The copies run once for the whole book and once for a branch.
"""

import ast
import subprocess
import sys

import nbformat
import pytest

from maturity_analysis.config import NOTEBOOKS_DIR

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
FIXTURE = "nbval_fixture"
REQUIRED = {"dataset": "sample", "branch": "ALL"}
PERIODS = {"04_quarterly_evaluation": "2013Q2"}  # default period "2013" unless listed here


def _parameters_cell(nb):
    return next(c for c in nb.cells if c.cell_type == "code")


def test_notebooks_exist_in_reading_order():
    assert [p.name[:3] for p in NOTEBOOKS][:3] == ["01_", "02_", "03_"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_holds_the_parameters(path):
    cell = _parameters_cell(nbformat.read(path, as_version=4))
    assert "parameters" in cell.metadata.get("tags", [])
    tree = ast.parse(cell.source)
    assigned = {
        t.id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
    }
    assert all(isinstance(node, ast.Assign) for node in tree.body)  # assignments only
    assert REQUIRED.items() <= assigned.items()
    assert assigned["period"] == PERIODS.get(path.stem, "2013")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_cell_is_a_chinese_heading(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in first.source.splitlines()[0])


@pytest.fixture(scope="module")
def fixture_dataset(tmp_path_factory):
    """A prepared 300-policy dataset over three branches: (processed root, branch codes)."""
    import pandas as pd

    from maturity_analysis.ingest.dataset import prepare
    from maturity_analysis.sample.book import scaled_policies

    root = tmp_path_factory.mktemp("nbval")
    raw = root / "raw" / FIXTURE
    raw.mkdir(parents=True)
    scaled_policies(300, seed=7, branches=3).to_excel(raw / "policies.xlsx", index=False)
    processed = root / "processed"
    assert prepare(raw, processed / FIXTURE).manifest["rows_accepted"] == 300
    codes = pd.read_parquet(processed / FIXTURE / "policies.parquet")["branch_code"]
    return processed, sorted(codes.astype(str).unique())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_under_nbval(path, fixture_dataset, tmp_path):
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    from maturity_analysis.analysis.book import sub_branch_unit
    from maturity_analysis.sample.book import SUB_BRANCHES

    processed, codes = fixture_dataset
    assert len(codes) == 3
    copies = []
    for i, branch in enumerate(("ALL", codes[0], sub_branch_unit(SUB_BRANCHES[0]))):
        nb = parameterize_notebook(
            load_notebook_node(str(path)),
            {"dataset": FIXTURE, "branch": branch, "processed_dir": str(processed)},
            kernel_name="python3",
            language="python",
        )
        copy = tmp_path / f"{path.stem}_{i}.ipynb"  # 全辖, 网点, 支局
        nbformat.write(nb, copy)
        copies.append(copy.name)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "-q",
            "-p",
            "no:cacheprovider",
            *copies,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]

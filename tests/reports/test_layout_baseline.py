"""The layered package builds what the flat one built: same HTML, same workbook cells.

The flat package is the commit before the move (``FLAT``), taken from this repository's
history with ``git archive``; both run as the command line, each from its own copy of the
project (its ``data/``, ``notebooks/`` and ``src/``), on one small dataset without tracking
forms. Only what differs from run to run is masked: the generation time, the random ids of
pandas' tables and of the cell papermill injects, and the inputs' SHA-256 (an ``.xlsx`` records when it was written).

The move changed two outputs on purpose, neither seen here: a report's workbook gains the
compensation actually paid (实际) when the dataset has tracking forms (see test_worker.py),
and the programme follows the plan's phases (the shipped plan's phases are calendar
quarters). When a later change alters the reports on purpose, this test has done its work:
retire it in that commit.
"""

import re
import shutil
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import openpyxl
import pytest

from maturity_analysis.sample.book import scaled_policies

FLAT = "4b2dce9"  # tracking: one check for the amount ... (the last commit of the flat layout)
REPO = Path(__file__).resolve().parents[2]
DATASET = "fx"


def _masked(html: str) -> str:
    html = re.sub(r"生成时间</dt><dd>[^<]*</dd>", "生成时间</dt><dd>-</dd>", html)
    html = re.sub(r"生成时间 [0-9T:+-]+", "生成时间 -", html)
    html = re.sub(r"T_[0-9a-f]{5}", "T_xxxxx", html)
    html = re.sub(r"cell-id=[0-9a-f-]{8,36}", "cell-id=ID", html)  # papermill's injected cell
    return re.sub(r"(\.xlsx: )[0-9a-f]{64}", r"\1SHA", html)


def _cells(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}


def _project(root: Path, source: bytes | None) -> Path:
    """A copy of the project: the flat commit's archive, or (``None``) this working tree."""
    if source is None:
        for part in ("src", "notebooks"):
            shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    else:
        with tarfile.open(fileobj=BytesIO(source)) as tar:
            tar.extractall(root, filter="data")
    return root


def _run(project: Path, *args: str) -> None:
    env = {"PYTHONPATH": str(project / "src"), "PATH": str(Path(sys.executable).parent)}
    subprocess.run(
        [sys.executable, "-m", "maturity_analysis", *args], cwd=project, env=env, check=True
    )


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    try:
        source = subprocess.run(
            ["git", "-C", str(REPO), "archive", FLAT, "src", "notebooks"],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip(f"not a git checkout holding {FLAT}")
    book = scaled_policies(120, seed=5, branches=2)
    branch = sorted(book["网点代码"].astype(str).unique())[0]
    out = {}
    for name, src in (("flat", source), ("layered", None)):
        project = _project(tmp_path_factory.mktemp(name), src)
        raw = project / "data" / "raw" / DATASET
        raw.mkdir(parents=True)
        book.to_excel(raw / "policies.xlsx", index=False)
        _run(project, "tables", "--dataset", DATASET, "--out", str(project / "tables.xlsx"))
        for period in ("2013", "2013Q2"):
            _run(project, "reports", "--dataset", DATASET, "--period", period,
                 "--branch", "ALL", branch, "--jobs", "2")  # fmt: skip
        out[name] = project
    return out


def test_tables_workbook_has_the_same_cells(both):
    assert _cells(both["layered"] / "tables.xlsx") == _cells(both["flat"] / "tables.xlsx")


def test_reports_are_the_same(both):
    flat, layered = (both[k] / "reports" / DATASET for k in ("flat", "layered"))
    pages = sorted(p.relative_to(flat) for p in flat.rglob("*.html"))
    assert pages == sorted(p.relative_to(layered) for p in layered.rglob("*.html"))
    assert len(pages) == 2 * (3 + 1) + 2 * 4  # two units: 3 notebooks (year) and 4, two indexes
    for page in pages:
        assert _masked((layered / page).read_text("utf-8")) == _masked(
            (flat / page).read_text("utf-8")
        ), page
    books = sorted(p.relative_to(flat) for p in flat.rglob("workbook.xlsx"))
    assert len(books) == 4
    for wb in books:
        assert _cells(layered / wb) == _cells(flat / wb), wb

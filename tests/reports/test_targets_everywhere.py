"""One set of targets everywhere (issue #11): the same unit and period show the same target in
notebook 03 (targets), notebook 04 (evaluation), the branch workbook and the index, read back
from what the runner rendered for a small book with a year of sample tracking forms."""

from __future__ import annotations

from html.parser import HTMLParser

import openpyxl
import pytest

from maturity_analysis.analysis.targets import GOAL, allocate_branches, allocate_phases
from maturity_analysis.config import NOTEBOOKS_DIR
from maturity_analysis.ingest.dataset import read_dataset
from maturity_analysis.reports.executors import LocalExecutor
from maturity_analysis.reports.run import run_reports
from maturity_analysis.sample.book import scaled_policies
from maturity_analysis.sample.tracking import write_tracking

DATASET = "tg"
TARGETS = ("保单转换", "存款转换")
NOTEBOOK_03 = NOTEBOOKS_DIR / "03_targets.ipynb"
NOTEBOOK_04 = next(NOTEBOOKS_DIR.glob("04_*.ipynb"))


class _Rows(HTMLParser):
    """Every table row of an HTML page as the list of its cells' texts."""

    def __init__(self):
        super().__init__()
        self.rows, self._row, self._cell = [], None, None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _rows(path) -> list[list[str]]:
    parser = _Rows()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.rows


def _number(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """120 policies over two branches with the sample's tracking forms, reported for 2013Q2
    (03 and 04, ALL and the first branch) and for the year (04, ALL)."""
    root = tmp_path_factory.mktemp("targets")
    frame = scaled_policies(120, seed=11, branches=2)
    raw = root / "raw" / DATASET
    raw.mkdir(parents=True)
    frame.to_excel(raw / "policies.xlsx", index=False)
    write_tracking(raw, frame, seed=11)
    branch = sorted(frame["网点代码"].astype(str).unique())[0]
    where = {"raw_dir": root / "raw", "processed_dir": root / "processed", "progress": False}
    executor = LocalExecutor(1)
    try:
        quarter = run_reports(
            DATASET,
            "2013Q2",
            ["ALL", branch],
            out_dir=root / "q2",
            notebooks=[NOTEBOOK_03, NOTEBOOK_04],
            executor=executor,
            **where,
        )
        year = run_reports(
            DATASET,
            "2013",
            ["ALL"],
            out_dir=root / "year",
            notebooks=[NOTEBOOK_04],
            executor=executor,
            **where,
        )
    finally:
        executor.close()
    assert not quarter.failed and not year.failed
    book = read_dataset(DATASET, root / "raw", root / "processed")
    return {"quarter": quarter, "year": year, "book": book, "branch": branch}


def _expected_q2(book, unit: str, phases=("Q2",)) -> dict[str, int]:
    table = allocate_phases(book, branch=unit)
    return {t: sum(int(table.loc[p, (t, GOAL)].item()) for p in phases) for t in TARGETS}


def _first_table(rows, nth: int = 1) -> dict[str, list[str]]:
    """The KPI rows of the ``nth`` evaluation table (header KPI, 实际, 目标, ...)."""
    starts = [i for i, r in enumerate(rows) if r[:3] == ["KPI", "实际", "目标"]]
    start = starts[nth - 1]
    end = starts[nth] if len(starts) > nth else len(rows)
    return {r[0]: r for r in rows[start + 1 : end] if r and r[0] in TARGETS}


@pytest.mark.parametrize("unit", ["ALL", "branch"])
def test_q2_targets_are_the_same_in_03_04_and_the_workbook(run, unit):
    code = run["branch"] if unit == "branch" else "ALL"
    book, out = run["book"], run["quarter"].out_dir / code
    expected = _expected_q2(book, code)
    # 03: the phase table's 促进期 row, (基数, 目标件数) per target in the plan's order.
    row = next(r for r in _rows(out / "03_targets.html") if "促进期" in r)
    cells = row[row.index("4-6月") + 1 :]
    assert {t: _number(cells[2 * i + 1]) for i, t in enumerate(TARGETS)} == expected
    # 04: the summary's 目标 column (the first table: KPI, 实际, 目标, ...).
    rows = _rows(out / f"{NOTEBOOK_04.stem}.html")
    shown = _first_table(rows)
    assert {t: _number(shown[t][2]) for t in TARGETS} == expected
    # The year to date (the next table): January-June against the targets due by June.
    to_june = _expected_q2(book, code, ("Q1", "Q2"))
    assert {t: _number(_first_table(rows, 2)[t][2]) for t in TARGETS} == to_june
    # The workbook: 阶段分配 (Q2 row) and 评估 (the same KPI rows as 04).
    wb = openpyxl.load_workbook(out / "workbook.xlsx", read_only=True)
    values = [[c for c in r] for r in wb["阶段分配"].iter_rows(values_only=True)]
    q2 = next(r for r in values if "Q2" in r)
    goals = [v for v in q2 if isinstance(v, int | float)]
    assert {t: int(goals[2 * i + 1]) for i, t in enumerate(TARGETS)} == expected
    evaluation = {r[0]: r for r in wb["评估"].iter_rows(values_only=True) if r and r[0] in TARGETS}
    assert {t: _number(str(evaluation[t][2])) for t in TARGETS} == expected


def test_the_index_shows_the_year_targets_of_03(run):
    book, out = run["book"], run["quarter"].out_dir
    year = allocate_branches(book).loc["合计"]
    rows = _rows(out / "index.html")
    header = next(r for r in rows if any(c.startswith("目标·") for c in r))
    first = next(r for r in rows[rows.index(header) + 1 :] if "全部网点" in r)
    for t in TARGETS:
        assert _number(first[header.index(f"目标·{t}")]) == int(year[(t, GOAL)].item())
    # 03's 网点分配 合计 row: 合计, (name blank), then (基数, 目标件数) per target.
    row = next(r for r in _rows(out / "ALL" / "03_targets.html") if r and r[0] == "合计")
    for i, t in enumerate(TARGETS):
        assert _number(row[2 * i + 3]) == int(year[(t, GOAL)].item())


def test_04_runs_for_the_year_with_the_year_to_date(run):
    out = run["year"].out_dir / "ALL"
    text = (out / f"{NOTEBOOK_04.stem}.html").read_text(encoding="utf-8")
    assert "全年" in text and "年度目标" in text
    year = allocate_branches(run["book"]).loc["合计"]
    shown = _first_table(_rows(out / f"{NOTEBOOK_04.stem}.html"))
    for t in TARGETS:
        assert _number(shown[t][2]) == int(year[(t, GOAL)].item())

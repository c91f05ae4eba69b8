"""``maturity-analysis daily``: pages and sheets per unit, masked, PII-checked, internal."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook

from maturity_analysis import cli, config
from maturity_analysis.analysis.daily import DailyCheck
from maturity_analysis.ingest.schema import PII_COLUMNS
from maturity_analysis.output.excel import INTERNAL_LISTS
from maturity_analysis.output.privacy import PiiIndex, check_file, html_text
from maturity_analysis.plan.model import load_plan
from maturity_analysis.reports.daily import daily_sheet, render_daily
from maturity_analysis.sample.book import scaled_policies
from maturity_analysis.sample.tracking import canonical, write_tracking

PLAN = load_plan()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The smallest sample (200 policies, 2 branches, one 支局) and its daily check of a
    working Tuesday and of the Labour Day holiday."""
    root = tmp_path_factory.mktemp("daily")
    raw = root / "data" / "raw" / "tiny"
    raw.mkdir(parents=True)
    book = scaled_policies(200, branches=2)
    book.to_excel(raw / "policies.xlsx", index=False)
    write_tracking(raw, book)
    mp = pytest.MonkeyPatch()
    mp.setenv(config.ROOT_ENV, str(root))
    try:
        codes = [
            cli.main(["daily", "--date", d, "--dataset", "tiny"])
            for d in ("2013-05-14", "2013-05-01")
        ]
    finally:
        mp.undo()
    return root / "reports" / "daily", canonical(book), codes


def test_daily_writes_a_page_and_a_sheet_per_unit(run):
    out, book, codes = run
    assert codes == [0, 0]
    stems = {p.stem for p in (out / "2013-05-14").iterdir() if p.suffix == ".html"}
    subs = book["sub_branch"].unique()
    assert len(stems) == 1 + len(subs) + book["branch_code"].nunique()
    assert {"ALL", *book["branch_code"].astype(str)} <= stems
    assert stems == {p.stem for p in (out / "2013-05-14").glob("*.xlsx")}


def test_no_customer_pii_in_any_daily_page(run):
    out, book, _ = run
    index = PiiIndex(book[[c for c in PII_COLUMNS if c in book.columns]])
    pages = sorted(out.rglob("*.html"))
    assert pages
    for page in pages:
        check_file(page, index)  # raises PrivacyError on any unmasked customer value
        assert 'name="viewport"' in page.read_text(encoding="utf-8")


def test_a_holiday_page_says_so(run):
    out, _, _ = run
    text = html_text((out / "2013-05-01" / "ALL.html").read_text(encoding="utf-8"))
    assert "2013-05-01 不是工作日（劳动节）" in text and "各团队回访量" not in text
    assert "不是工作日" not in html_text((out / "2013-05-14" / "ALL.html").read_text("utf-8"))


def test_every_daily_sheet_says_it_is_internal(run):
    out, _, _ = run
    books = sorted(out.rglob("*.xlsx"))
    assert books
    for path in books:
        for ws in load_workbook(path, read_only=True):
            assert next(ws.iter_rows(max_row=1, values_only=True))[0] == INTERNAL_LISTS


def _check(notes: str) -> DailyCheck:
    teams = pd.DataFrame(
        {
            "网点代码": ["B01", "B01"],
            "团队": ["团队1", "团队2"],
            "附件一回访": [18, 0],
            "附件三申报": pd.array([18, None], dtype="Int64"),
            "目标": [20, 20],
            "差额": [2, 20],
            "状态": ["不足", "不足"],
            "附件三": ["已填", "未填"],
        }
    )
    return DailyCheck(
        day=date(2013, 5, 14),
        unit="B01",
        day_off="",
        teams=teams,
        no_log=teams.loc[[1], ["网点代码", "团队", "附件一回访"]],
        complaints=pd.DataFrame(),
        soon=pd.DataFrame(),
        notes=pd.DataFrame({"网点代码": ["B01"], "团队": ["团队1"], "夕会总结": [notes]}),
    )


def test_page_escapes_data_text():
    html = render_daily(_check("<script>alert(1)</script>"), "B01 <b>网点</b>", PLAN)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "B01 &lt;b&gt;网点&lt;/b&gt;" in html


def test_sheet_rows_say_what_is_short_and_unlogged():
    sheet = daily_sheet(_check("话术需加强"), PLAN)
    assert sheet["类别"].tolist() == ["团队回访", "团队回访", "夕会总结"]
    assert sheet["说明"].tolist() == [
        "不足20访，差2访；附件三申报18访",
        "不足20访，差20访；附件三未填",
        "话术需加强",
    ]

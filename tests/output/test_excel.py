"""Workbooks: sheets, Chinese headers, frozen header, number/percent formats, atomic writes;
the tables workbook and the ``tables`` / ``reconcile`` commands."""

import os

import numpy as np
import openpyxl
import pandas as pd
import pytest

from maturity_analysis import cli
from maturity_analysis.analysis.book import ALL_LABEL
from maturity_analysis.output.display import column_kind
from maturity_analysis.output.excel import INTEGER, PERCENT, PORTRAIT_WIDTH, write_workbook
from maturity_analysis.output.workbook import write_tables_workbook


@pytest.fixture
def frames():
    cols = pd.MultiIndex.from_tuples(
        [("分红", "件数"), ("分红", "占比"), ("万能", "件数"), ("万能", "占比")]
    )
    table = pd.DataFrame(
        [[3, 0.75, 1, 0.5], [1, 0.25, 1, 0.5], [4, 1.0, 2, 1.0]],
        index=pd.Index(["20-30", "31-40", "合计"], name="年龄"),
        columns=cols,
    )
    flat = pd.DataFrame(
        {
            "policy_no": ["P1", "P2"],
            "premium": [10_000.5, 2.0],
            "whole_life": [True, False],
            "issue_date": pd.to_datetime(["2008-03-01", "2009-01-02"]),
            "count": [1, 2],
        }
    )
    return {"表2": table, "清单": flat}


def test_sheets_headers_formats_and_frozen_panes(frames, tmp_path):
    path = write_workbook(frames, tmp_path / "out.xlsx", notes={"清单": ["内部资料"]})
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["表2", "清单"]
    ws = wb["表2"]
    # Two header rows (product, measure) with the product merged over its columns, the index
    # name over both rows; data from row 3, right of the index column.
    assert [c.value for c in ws[1]] == ["年龄", "分红", None, "万能", None]
    assert [c.value for c in ws[2]] == [None, "件数", "占比", "件数", "占比"]
    assert {str(r) for r in ws.merged_cells.ranges} == {"A1:A2", "B1:C1", "D1:E1"}
    assert ws.freeze_panes == "B3"
    assert ws["C3"].value == 0.75 and ws["C3"].number_format == PERCENT
    assert ws["B3"].number_format == INTEGER
    assert ws["A5"].value == "合计" and ws["B5"].font.b
    ws = wb["清单"]
    # The note comes first, then a blank row, then the header with the schema's Chinese names.
    assert ws["A1"].value == "内部资料"
    assert [c.value for c in ws[3]] == ["保单号", "已交保费", "whole_life", "承保日期", "count"]
    assert ws.freeze_panes == "A4"
    assert ws["B4"].number_format == "#,##0.00"
    assert ws["C4"].value == "是"
    assert ws["D4"].number_format == "yyyy-mm-dd"
    assert ws.column_dimensions["A"].width >= 8  # 保单号: three wide characters


def test_missing_values_are_blank_cells(tmp_path):
    frame = pd.DataFrame({"占比": [np.nan, 0.5], "件数": pd.array([None, 2], dtype="Int64")})
    ws = openpyxl.load_workbook(write_workbook({"s": frame}, tmp_path / "x.xlsx"))["s"]
    assert (ws["A2"].value, ws["B2"].value, ws["A3"].value, ws["B3"].value) == (None, None, 0.5, 2)


@pytest.mark.parametrize("name", ["", "a" * 32, "表[1]", "a/b"])
def test_bad_sheet_names_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="sheet name"):
        write_workbook({name: pd.DataFrame({"a": [1]})}, tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = write_workbook({"s": pd.DataFrame({"a": [1]})}, tmp_path / "x.xlsx")
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("maturity_analysis.files.os.replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_workbook({"s": pd.DataFrame({"a": [2]})}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.xlsx"]


def test_workbook_is_readable_by_others_as_the_umask_allows(tmp_path):
    # mkstemp would create it 0600: a workbook published on a shared drive must follow the umask.
    mask = os.umask(0o022)
    try:
        path = write_workbook({"s": pd.DataFrame({"a": [1]})}, tmp_path / "x.xlsx")
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize(
    ("label", "dtype", "kind"),
    [
        (("分红", "占比"), "float64", "share"),
        ("跑赢存款占比", "float64", "share"),
        ("平均年化收益率", "float64", "share"),
        ("保费(万元)", "float64", "amount"),
        ("件数", "int64", "count"),
        ("件数", "Int64", "count"),
        ("姓名", "str", "text"),
        ("是否", "bool", "text"),
    ],
)
def test_column_kind(label, dtype, kind):
    assert column_kind(label, pd.Series([], dtype=dtype).dtype) == kind


SHEETS = [
    "说明",
    "表1 年龄险种本金",
    "表2 年龄险种占比",
    "表3 满期本金",
    "表4 年龄保费",
    "年龄段分析",
    "满期产品分析",
    "目标",
    "网点分配",
    "阶段分配",
    "风险评级",
    "核对",
]


@pytest.fixture(scope="module")
def workbook(sample_policies, tmp_path_factory):
    path = write_tables_workbook(
        sample_policies, tmp_path_factory.mktemp("wb") / "t.xlsx", dataset="sample"
    )
    return openpyxl.load_workbook(path)


def test_tables_workbook_sheets(workbook):
    assert workbook.sheetnames[: len(SHEETS)] == SHEETS
    for ws in workbook:
        assert ws.freeze_panes is not None, ws.title


def test_tables_workbook_values_and_formats(workbook):
    ws = workbook["表2 年龄险种占比"]
    # Table 2 · 20-30: 分红 1054, 万能 1165, 总件数 2219, 总占比 6.03%.
    row = [c.value for c in ws[3]]
    assert row[:2] == ["20-30", 1054] and row[3] == 1165 and row[5] == 2219
    assert round(100 * row[6], 2) == 6.03
    assert ws.cell(3, 7).number_format == PERCENT
    assert [c.value for c in ws[8]][0] == "合计"
    t1 = workbook["表1 年龄险种本金"]
    assert t1["B8"].value == 16236  # Table 1 · 合计 · 分红 合计
    rec = workbook["核对"]
    assert [c.value for c in rec[3]] == [
        "指标",
        "出处",
        "方案数字",
        "数据重现",
        "单位",
        "状态",
        "说明",
    ]


def test_branch_workbook(sample_policies, tmp_path):
    branch = sorted(sample_policies["branch_code"].unique())[0]
    n = int((sample_policies["branch_code"] == branch).sum())
    wb = openpyxl.load_workbook(
        write_tables_workbook(sample_policies, tmp_path / "b.xlsx", branch=branch)
    )
    assert wb["表2 年龄险种占比"]["F8"].value == n  # 合计 · 总件数 of this branch only
    alloc = wb["网点分配"]
    codes = [r[0] for r in alloc.iter_rows(min_row=5, values_only=True)]
    assert codes == [branch]
    # Issue #11: a branch's target is its allocated count, its rate that count over its base.
    assert {"目标件数", "目标比率"} <= {c.value for c in wb["目标"][1]}
    for ws in wb.worksheets:  # every sheet prints with the branch's code in the footer
        assert ws.oddFooter.left.text == branch, ws.title


def test_every_tables_sheet_prints_one_page_wide_with_its_header_repeated(workbook):
    for ws in workbook.worksheets:
        setup = ws.page_setup
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), ws.title
        assert ws.oddFooter.left.text == ALL_LABEL, ws.title  # the whole book
        assert "&P" in ws.oddFooter.right.text and "&N" in ws.oddFooter.right.text
        width = sum(d.width for d in ws.column_dimensions.values())
        want = "landscape" if width > PORTRAIT_WIDTH else "portrait"
        assert setup.orientation == want, ws.title
    # Table 2's two header rows (product over measure) repeat on every page.
    assert workbook["表2 年龄险种占比"].print_title_rows == "$1:$2"
    # A sheet with a note above the table repeats the header, not the note.
    assert workbook["网点分配"].print_title_rows.startswith("$3:")


@pytest.fixture
def dataset(monkeypatch, sample_policies):
    """The commands read the sample book as dataset "sample", without tracking forms."""
    import maturity_analysis.analysis.costs as costs
    import maturity_analysis.ingest.dataset as load

    monkeypatch.setattr(load, "read_dataset", lambda *args, **kwargs: sample_policies)
    monkeypatch.setattr(load, "read_dataset_tracking", lambda *args, **kwargs: None)
    monkeypatch.setattr(costs, "paid_complaints", lambda tracking: None)


def test_cli_tables(dataset, tmp_path, capsys):
    out = tmp_path / "tables.xlsx"
    assert cli.main(["tables", "--out", str(out)]) == 0
    assert openpyxl.load_workbook(out).sheetnames[: len(SHEETS)] == SHEETS
    assert str(out) in capsys.readouterr().out


def test_cli_unknown_branch_is_one_line_and_exit_2(dataset, tmp_path, capsys):
    assert cli.main(["tables", "--branch", "NOPE", "--out", str(tmp_path / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: branch 'NOPE'") and err.count("\n") == 1


def test_cli_reconcile(dataset, capsys):
    assert cli.main(["reconcile"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("指标")
    assert "可实现3806件" in out and "不一致" in out

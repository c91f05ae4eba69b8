"""The tracking forms of a messy folder give the frames, rejects and counts written down.

The folder (:func:`write_messy`) holds every kind of file the reader takes: workbooks with a
title, a cover sheet, two form sheets, blank and 合计/共计 rows; a CSV with ragged lines; a
returned ``forms*`` workbook; a second file repeating a first one's rows. Its cells are the
ones branches type: full-width digits and letters, padded text, numbers as policy numbers,
dates as text, serials, 8-digit numbers and datetime cells, amounts as ``1,200元``, ``是`` with
spaces, booleans, answers off the drop-down, rows with several problems.

``tests/fixtures/forms_golden/`` holds what the cell-by-cell reader (commit 5a2b3af) gave for
it: each accepted frame and the rejects as CSV, the counts as JSON. The columnar reader must
give the same, byte for byte; regenerate only for an intended change of output.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from maturity_analysis.ingest.forms import FORMS, KINDS, empty, read_tracking

GOLDEN = Path(__file__).parents[1] / "fixtures" / "forms_golden"

POLICIES = pd.DataFrame(
    {
        "policy_no": ["P1", "P2", "P3", "820058664315402", "123"],
        "branch_code": ["B01", "B01", "B02", "B03", "B01"],
        "product_type": ["分红", "万能", "分红", "万能", "分红"],
    }
)

CALLS = [
    ["2013-01-08", "第1组", "张三", "P1", "分红", "", "", "考虑中", ""],
    [
        datetime(2013, 1, 9, 10, 30),
        " 第1组 ",
        "李四",
        " P 2 ",
        "万能",
        "满期说明，有",
        "",
        "继续持有",
        "上门",
    ],
    ["２０１３－０１－１０", "第１组", "李四", "Ｐ２", "万能", "", "", "未接通 ", "电话"],
    [20130111, "第2组", "王五", 820058664315402, "万能", "", "", "意向转存", None],
    ["20130112", "第2组", "王五", 123, "分红", "", "", "到期领取", ""],
    [41286.75, "第2组", "王五", 123.0, "分红", "", "", "不满意", "\u3000"],
    ["2013/1/14 9:30", "第2组", "王五", "123", "分红", "", "", "考虑中", "跟进"],
    ["2013年1月15日", "第2组", "王五", "P9", "分红", "", "", "好的", "上门"],  # 2 problems
    ["明天", "第2组", "王五", "P1", "分红", "", "", True, "骑车"],  # 3 problems
    ["2013-02-30", "第2组", None, None, "分红", "", "", None, ""],  # 3 problems
    [None, None, None, None, None, None, None, None, None],
    ["2014-06-01", "第2组", "张三", "P1", "分红", "", "", "考虑中", ""],
    ["2013-01-08", "第3组", "张三", "P1", "分红", "", "", "意向转保", ""],  # duplicate
    [date(2013, 3, 1), "第3组", "张三", "P3", "分红", "", "", "考虑中", ""],
    ["合 计", None, "8人", None, None, None, None, 8, None],
]

COMPLAINTS = [
    ["2013-01-10", "张三", "P1", "收益低于存款", "解释", "2013-01-15", "否", "否", None, "第1组"],
    ["2013-02-01", "李四", "P2", "收益低", "赔偿", "2013-02-05", " 否 ", "是", "1,200元", "第1组"],
    ["2013-02-01", "李四", "P2", "收益低", "", None, "否", "是", "１２００", "第1组"],  # duplicate
    ["2013-02-02", "李四", "P2", "态度", "", None, "否", "是", 0, "第1组"],
    ["2013-02-03", "李四", "P2", "态度", "", None, "否", "否", 300.5, "第1组"],
    ["2013-02-10", "李四", "P2", "态度", "", "2013-02-01", "否", "否", None, "第1组"],
    ["2013-02-11", "李四", "P2", "态度", "", None, "可能", "是", "nan", "第1组"],
    ["2013-02-12", "李四", "P2", None, "", None, "否", "是", -5, "第1组"],
    ["2013-02-13", "王五", "123", "收益", "", 41318, "是", "是", "2 000 元", None],
    ["共计", None, None, None, None, None, None, 3, 1500.5, None],
]

WORKLOG_CSV = [
    ["附件三《工作日志》"],
    [],
    ["日期", "网点代码", "团队", "回访量", "有效回访", "上门服务", "夕会总结"],
    ["2013-01-07", "B01", "第1组", "22", "18", "1", "重点客户"],
    ["2013-01-07", "B01", "第2组", "15", "", "0"],
    [],
    ["2013-01-07", "B99", "第1组", "20", "18", "0", ""],
    ["2013-01-08", "B01", "第1组", "20", "25", "0", ""],
    ["2013-01-09", "B01", "第1组", "20.5", "-1", "x", ""],
    ["2013-01-07", " B01", "第1组", "21", "18", "0", ""],
    ["2013-01-10", "B01", "", "1.0", "1", "0", "", "多出的格"],
    ["2013-01-11", "B02", "第1组", "１２", "1,0", "0", ""],
    ["共计", "", "", "118"],
]

OUTCOMES = [
    ["P1", "张三", "转保", "2013-02-25", "XX+意外险", 12000, None, ""],
    ["P2", "李四", "续持", "2013-03-10", None, None, None, ""],
    ["P3", "王五", "续持", "2013-05-06", None, None, None, ""],
    ["P3", "王五", "转存", "2013-05-06", None, None, 0, ""],
    ["P3", "王五", "转保", "2013-05-06", None, "0元", None, ""],
    ["123", "王五", "转存", 41400, None, None, "10,000.50", ""],
    ["P3", "王五", "退回", "2013-05-06", None, None, None, ""],
]
OUTCOMES_AGAIN = [
    ["P1", "张三", "领取", "2013-02-26", None, None, None, ""],  # duplicate of the first file
    ["820058664315402", "赵六", "领取", "2012-10-01", None, None, None, ""],
]


def _sheet(wb: Workbook, title: str, rows: list[list], first: bool = False) -> None:
    ws = wb.active if first else wb.create_sheet(title)
    ws.title = title
    for r in rows:
        ws.append(r)


def write_messy(folder: Path) -> Path:
    """The messy tracking folder (see the module's docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    calls = FORMS["calls"]
    wb = Workbook()
    _sheet(wb, "说明", [["请填写附件一"], ["填写说明"]], first=True)
    _sheet(wb, calls.sheet, [[calls.title], [], calls.headers, *CALLS[:9]])
    _sheet(wb, "附件一 (2)", [calls.headers, *CALLS[9:]])
    wb.save(folder / "calls.xlsx")

    comp = FORMS["complaints"]
    wb = Workbook()
    _sheet(wb, comp.sheet, [[comp.title], comp.headers[:-1], *COMPLAINTS], first=True)
    wb.save(folder / "complaints.xlsx")

    with open(folder / "worklog.csv", "w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows(WORKLOG_CSV)

    out = FORMS["outcomes"]
    for name, rows in (("outcomes.xlsx", OUTCOMES), ("outcomes_2.xlsx", OUTCOMES_AGAIN)):
        wb = Workbook()
        _sheet(wb, out.sheet, [out.headers, *rows], first=True)
        wb.save(folder / name)

    # A returned templates workbook: a calls sheet and a work-log sheet under aliases.
    wb = Workbook()
    _sheet(
        wb,
        calls.sheet,
        [
            ["回访日期", "保单号码", "客户意向", "服务方式"],
            ["2013-01-20", "P1", "考虑中", "上门"],
            ["2013-01-08", "P1", "考虑中", None],  # duplicate of calls.xlsx
        ],
        first=True,
    )
    _sheet(
        wb,
        FORMS["worklog"].sheet,
        [["工作日期", "网点编码", "小组", "回访数"], [datetime(2013, 1, 21), 1, "第1组", 3]],
    )
    wb.save(folder / "forms_b01.xlsx")
    return folder


def outputs(folder: Path) -> dict[str, str]:
    """What the reader gives for a folder, as text: ``<kind>.csv``, rejects.csv, counts.json."""
    read = read_tracking(folder, POLICIES)
    texts = {f"{k}.csv": read.tracking[k].to_csv(index=False) for k in KINDS}
    texts["rejects.csv"] = read.rejects.to_csv(index=False)
    # Each file's sha256 left out: openpyxl writes the time it saved a workbook into it.
    counts = {
        k: c | {"files": [{n: v for n, v in f.items() if n != "sha256"} for f in c["files"]]}
        for k, c in read.counts.items()
    }
    texts["counts.json"] = json.dumps(counts, ensure_ascii=False, indent=1) + "\n"
    return texts


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    folder = write_messy(tmp_path_factory.mktemp("messy") / "tracking")
    return folder, read_tracking(folder, POLICIES)


@pytest.mark.parametrize("name", [*(f"{k}.csv" for k in KINDS), "rejects.csv", "counts.json"])
def test_the_messy_folder_gives_the_golden_output(messy, name):
    expected = (GOLDEN / name).read_text(encoding="utf-8")
    assert outputs(messy[0])[name] == expected


@pytest.mark.parametrize("kind", KINDS)
def test_accepted_frames_have_the_schemas_dtypes(messy, kind):
    got = messy[1].tracking[kind]
    assert got.dtypes.to_dict() == empty(kind).dtypes.to_dict()
    assert isinstance(got.index, pd.RangeIndex)


def test_the_golden_output_exercises_every_rule(messy):
    # Every kind has accepted and rejected rows, a duplicate, a cell and a row problem.
    read = messy[1]
    assert all(len(read.tracking[k]) for k in KINDS)
    reasons = read.rejects["reason"]
    for what in ("duplicate", "not a date", "not in the maturity list", "drop-down", "required"):
        assert reasons.str.contains(what).any(), what
    assert (read.rejects["other_problems"].str.count(",") >= 1).any()
    assert read.rejects["file"].nunique() == 6


if __name__ == "__main__":  # regenerate the golden files (an intended change of output only)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name, text in outputs(write_messy(Path(tmp) / "tracking")).items():
            (GOLDEN / name).write_text(text, encoding="utf-8")

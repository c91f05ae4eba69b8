"""Loading and validation: every kind of mess a core-system export has, read or rejected.

Each test builds its files in ``tmp_path`` (xlsx with openpyxl, CSV in UTF-8 or GB18030) and
checks what came out, and that no row was lost: ``accepted + rejected == data rows read``.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from maturity_analysis import __version__
from maturity_analysis.analysis.yields import payment_counts
from maturity_analysis.cli import main
from maturity_analysis.exceptions import MaturityDataError
from maturity_analysis.ingest import policies
from maturity_analysis.ingest.dataset import (
    dataset_fingerprint,
    dataset_manifest,
    prepare,
    read_dataset,
)
from maturity_analysis.ingest.ids import check_char
from maturity_analysis.ingest.policies import (
    REASONS,
    REJECT_COLUMNS,
    load_policies,
)
from maturity_analysis.ingest.schema import POLICY_COLUMNS

HEADERS = {c.name: c.header for c in POLICY_COLUMNS}
CANONICAL = [c.name for c in POLICY_COLUMNS]
POLICY_FRAME_COLUMNS = [
    *CANONICAL[:11],
    "whole_life",
    *CANONICAL[11:],
    "age",
    "age_band",
    "principal_band",
]


def make_id(ymd: str, seq: int = 1) -> str:
    """A well-formed 18-character ID born on ``ymd``."""
    body = f"110105{ymd}{seq % 1000:03d}"
    return body + check_char(body)


def wrong_check(pid: str) -> str:
    return pid[:17] + ("0" if pid[17] != "0" else "1")


def good(i: int = 0, **changes: object) -> dict:
    """One clean policy row, in the cell types an Excel export has."""
    row = {
        "policy_no": f"P2013{i:06d}",
        "holder_name": "张三",
        "holder_id": make_id("19600305", i),
        "holder_birth_date": dt.datetime(1960, 3, 5),
        "holder_mobile": "13800000000",
        "branch_code": "0101",
        "branch_name": "城关网点",
        "sub_branch": "城关支局",
        "product_type": "分红",
        "product_name": "千里马",
        "term_years": 5,
        "payment_mode": "趸交",
        "payment_years": None,
        "premium": 50000,
        "issue_date": dt.datetime(2008, 3, 5),
        "maturity_date": dt.datetime(2013, 3, 5),
        "maturity_value": 56000.5,
        "manager": "李经理",
    }
    row.update(changes)
    return row


def write_xlsx(
    path: Path,
    rows: list,
    headers: dict | None = None,
    above: list | None = None,
    below: list | None = None,
    sheet: str = "清单",
) -> Path:
    """rows: dicts by canonical name, or None for a blank row; above/below: raw rows."""
    headers = headers or HEADERS
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in above or []:
        ws.append(r)
    ws.append(list(headers.values()))
    for row in rows:
        ws.append([] if row is None else [row.get(n) for n in headers])
    for r in below or []:
        ws.append(r)
    wb.save(path)
    return path


def as_text(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d")
    return str(v)


def write_csv(
    path: Path,
    rows: list,
    headers: dict | None = None,
    encoding: str = "utf-8",
    above: list | None = None,
    below: list | None = None,
    sep: str = ",",
) -> Path:
    headers = headers or HEADERS
    lines = [sep.join(r) for r in above or []]
    lines.append(sep.join(headers.values()))
    for row in rows:
        lines.append("" if row is None else sep.join(as_text(row.get(n)) for n in headers))
    lines += [sep.join(r) for r in below or []]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def accounted(loaded, rows_read: int | None = None):
    """No row lost: per sheet, per file and in total, read == accepted + rejected."""
    m = loaded.manifest
    for f in m["inputs"]:
        for s in f["sheets"]:
            assert s["rows_read"] == s["rows_accepted"] + s["rows_rejected"]
        assert f["rows_read"] == f["rows_accepted"] + f["rows_rejected"]
    assert m["rows_read"] == m["rows_accepted"] + m["rows_rejected"]
    assert len(loaded.policies) == m["rows_accepted"]
    assert len(loaded.rejects) == m["rows_rejected"]
    assert not loaded.rejects.duplicated(["file", "sheet", "row"]).any()
    if rows_read is not None:
        assert m["rows_read"] == rows_read
    return loaded


def reason_of(loaded) -> tuple[str, str, int]:
    [rej] = loaded.rejects.to_dict("records")
    return rej["column"], rej["reason"], rej["row"]


# --------------------------------------------------------------------------- clean input


def test_clean_workbook_gives_the_canonical_frame(tmp_path):
    f = write_xlsx(tmp_path / "policies.xlsx", [good(i) for i in range(3)])
    got = accounted(load_policies(f), 3)
    p = got.policies
    assert list(p.columns) == POLICY_FRAME_COLUMNS
    assert p["policy_no"].tolist() == ["P2013000000", "P2013000001", "P2013000002"]
    assert str(p["holder_birth_date"].dtype).startswith("datetime64")
    assert str(p["issue_date"].dtype).startswith("datetime64")
    assert p["term_years"].dtype == "Int64" and p["age"].dtype == "Int64"
    assert p["whole_life"].dtype == bool
    assert p["premium"].dtype == "float64"
    assert p["policy_no"].dtype == "str" and p["branch_code"].tolist() == ["0101"] * 3
    assert p["age"].tolist() == [53, 53, 53]  # 1960-03-05 → 2013-03-05: birthday that day
    assert p["age_band"].astype(str).tolist() == ["51-60"] * 3
    assert p["principal_band"].astype(str).tolist() == ["5-10万"] * 3
    assert got.rejects.empty and list(got.rejects.columns) == REJECT_COLUMNS


def test_manifest_records_inputs_counts_and_version(tmp_path):
    f = write_xlsx(
        tmp_path / "policies.xlsx", [good(0), None, good(1), good(1)], below=[["合计", None, None]]
    )
    m = accounted(load_policies(f), 3).manifest
    assert m["dataset"] == tmp_path.name
    assert m["package_version"] == __version__
    assert re.fullmatch("[0-9a-f]{64}", m["plan_sha256"])
    [inp] = m["inputs"]
    assert inp["file"] == "policies.xlsx" and inp["format"] == "xlsx"
    assert re.fullmatch("[0-9a-f]{64}", inp["sha256"])
    [sheet] = inp["sheets"]
    assert (sheet["sheet"], sheet["header_rows"]) == ("清单", [1])
    assert {
        k: m[k]
        for k in ("rows_read", "rows_accepted", "rows_rejected", "rows_footer", "rows_blank")
    } == {"rows_read": 3, "rows_accepted": 2, "rows_rejected": 1, "rows_footer": 1, "rows_blank": 1}
    assert m["reject_reasons"] == {REASONS["duplicate"]: 1}


# ------------------------------------------------------------------- values read correctly


@pytest.mark.parametrize(
    ("column", "cell", "expected"),
    [
        ("premium", "12,345.00", 12345.0),
        ("premium", "１２３４５", 12345.0),
        ("premium", "50000", 50000.0),
        ("premium", " 8000.50 元", 8000.5),
        ("premium", "5万", 50000.0),
        ("premium", 12345.67, 12345.67),
        ("maturity_value", "１,０００.５", 1000.5),
        ("issue_date", 39512, pd.Timestamp("2008-03-05")),  # Excel serial
        ("issue_date", 39512.75, pd.Timestamp("2008-03-05")),
        ("issue_date", "39512", pd.Timestamp("2008-03-05")),
        ("issue_date", "2008年3月5日", pd.Timestamp("2008-03-05")),
        ("issue_date", "２００８年３月５日", pd.Timestamp("2008-03-05")),
        ("issue_date", "2008/3/5", pd.Timestamp("2008-03-05")),
        ("issue_date", "2008/3/5 0:00", pd.Timestamp("2008-03-05")),
        ("issue_date", "2008-03-05", pd.Timestamp("2008-03-05")),
        ("issue_date", "2008.3.5", pd.Timestamp("2008-03-05")),
        ("issue_date", "20080305", pd.Timestamp("2008-03-05")),
        ("issue_date", 20080305, pd.Timestamp("2008-03-05")),
        ("issue_date", dt.datetime(2008, 3, 5, 14, 30), pd.Timestamp("2008-03-05")),
        ("policy_no", "  P2013000000 ", "P2013000000"),
        ("policy_no", 2013000001, "2013000001"),
        ("policy_no", "Ｐ２０１３０００００１", "P2013000001"),
        ("branch_code", 101, "101"),
        ("holder_name", "\u3000张三 ", "张三"),
        ("product_type", " 分红险 ", "分红"),
        ("product_type", "万能型", "万能"),
        ("payment_mode", "趸缴", "趸交"),
        ("payment_mode", "年交", "期交"),
        ("term_years", "8年", 8),
        ("term_years", 8.0, 8),
        ("term_years", "１０", 10),
        ("holder_mobile", 13812345678, "13812345678"),
        ("holder_id", " " + make_id("19600305") + " ", make_id("19600305")),
    ],
)
def test_messy_cells_are_read(tmp_path, column, cell, expected):
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0, **{column: cell})])
    p = accounted(load_policies(f), 1).policies
    assert p.loc[0, column] == expected


def test_id_ending_in_x_keeps_upper_case_x(tmp_path):
    pid = make_id("19491231", 2)
    assert pid.endswith("X")  # 11010519491231002X is the standard's own example
    f = write_xlsx(
        tmp_path / "policies.xlsx", [good(0, holder_id=pid.lower(), holder_birth_date=None)]
    )
    p = accounted(load_policies(f), 1).policies
    assert p.loc[0, "holder_id"] == pid
    assert p.loc[0, "holder_birth_date"] == pd.Timestamp("1949-12-31")


def test_whole_life_term(tmp_path):
    f = write_xlsx(
        tmp_path / "policies.xlsx", [good(0, product_type="万能", term_years="终身"), good(1)]
    )
    p = accounted(load_policies(f), 2).policies
    assert p["whole_life"].tolist() == [True, False]
    assert p["term_years"].isna().tolist() == [True, False]


def test_missing_years_are_never_cast(tmp_path, monkeypatch):
    """No NaN is cast to an integer while reading: pandas hides the warning of that cast with
    ``warnings.catch_warnings``, which is not thread-safe, so prepare's checking threads printed
    "invalid value encountered in cast" now and then. Here the parts are checked in this thread,
    where numpy raises on such a cast."""
    monkeypatch.setattr(policies, "in_threads", lambda work, items, ahead: map(work, items))
    f = write_csv(
        tmp_path / "policies.csv",
        [
            good(0, product_type="万能", term_years="终身", payment_mode="期交", payment_years=""),
            good(1, term_years="长期", payment_years="x"),
            good(2),
        ],
    )
    with np.errstate(invalid="raise"):
        p = accounted(load_policies(f), 3).policies
    assert p["term_years"].tolist() == [pd.NA, 5]


@pytest.mark.parametrize(
    ("changes", "birth", "holder_id"),
    [
        # no birth date: derived from a valid ID
        ({"holder_birth_date": None}, "1960-03-05", make_id("19600305", 0)),
        # old 15-digit ID: upgraded to 18 characters, birth date from it
        (
            {"holder_birth_date": None, "holder_id": "110105600305001"},
            "1960-03-05",
            make_id("19600305", 1),
        ),
        # wrong check digit, but a birth date to fall back on: kept
        (
            {"holder_id": wrong_check(make_id("19600305"))},
            "1960-03-05",
            wrong_check(make_id("19600305")),
        ),
        # ID and birth date disagree: the birth-date column wins
        ({"holder_id": make_id("19650101")}, "1960-03-05", make_id("19650101")),
        # unreadable birth date, valid ID: the ID's date
        ({"holder_birth_date": "不详"}, "1960-03-05", make_id("19600305", 0)),
        # no ID at all, birth date given
        ({"holder_id": None}, "1960-03-05", None),
    ],
)
def test_birth_date_and_id_fall_back_on_each_other(tmp_path, changes, birth, holder_id):
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0, **changes)])
    p = accounted(load_policies(f), 1).policies
    assert p.loc[0, "holder_birth_date"] == pd.Timestamp(birth)
    assert p["holder_id"].tolist() == [holder_id if holder_id else p.loc[0, "holder_id"]]
    assert pd.isna(p.loc[0, "holder_id"]) == (holder_id is None)


def test_ages_under_20_are_kept_in_their_own_band(tmp_path):
    f = write_xlsx(
        tmp_path / "policies.xlsx",
        [
            good(
                0,
                holder_birth_date=dt.datetime(1995, 6, 1),
                holder_id=make_id("19950601"),
                issue_date=dt.datetime(2008, 3, 5),
            )
        ],
    )
    p = accounted(load_policies(f), 1).policies
    assert p.loc[0, "age"] == 17
    assert p.loc[0, "age_band"] == "20岁以下"


def test_id_as_exact_integer_cell_is_fine(tmp_path):
    """An xlsx cell holding the ID as a whole number written out in full (not a float)."""
    pid = make_id("19600305")
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0, holder_id="IDCELL")])
    with zipfile.ZipFile(f) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    sheet = re.sub(r'<c r="C2"[^>]*>.*?</c>', f'<c r="C2" t="n"><v>{pid}</v></c>', sheet)
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(f, "w") as z:
        for n, b in parts.items():
            z.writestr(n, b)
    p = accounted(load_policies(f), 1).policies
    assert p.loc[0, "holder_id"] == pid


def test_amounts_in_wan_yuan_header(tmp_path):
    headers = {**HEADERS, "premium": "已交保费（万元）"}
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0, premium=5.5)], headers=headers)
    got = accounted(load_policies(f), 1)
    assert got.policies.loc[0, "premium"] == 55000.0
    assert got.policies.loc[0, "principal_band"] == "5-10万"


# ------------------------------------------------------------------------- rejected rows


def birth(y: int, m: int = 1, d: int = 1) -> dict:
    return {"holder_birth_date": dt.datetime(y, m, d), "holder_id": make_id(f"{y}{m:02d}{d:02d}")}


@pytest.mark.parametrize(
    ("changes", "column", "reason"),
    [
        ({"policy_no": None}, "policy_no", REASONS["missing"]),
        ({"policy_no": "   "}, "policy_no", REASONS["missing"]),
        ({"branch_code": None}, "branch_code", REASONS["missing"]),
        ({"product_type": None}, "product_type", REASONS["missing"]),
        ({"premium": None}, "premium", REASONS["missing"]),
        ({"issue_date": None}, "issue_date", REASONS["missing"]),
        ({"maturity_date": None}, "maturity_date", REASONS["missing"]),
        ({"policy_no": 1.2345678901234567e17}, "policy_no", REASONS["number"]),
        (
            {"holder_id": 1.10101196003051e17, "holder_birth_date": None},
            "holder_id",
            REASONS["id_number"],
        ),
        ({"issue_date": "2008-02-30"}, "issue_date", REASONS["date"]),
        ({"maturity_date": "下月"}, "maturity_date", REASONS["date"]),
        ({"issue_date": "1850-01-01"}, "issue_date", REASONS["date"]),
        ({"premium": "五万"}, "premium", REASONS["amount"]),
        ({"maturity_value": "n/a"}, "maturity_value", REASONS["amount"]),
        ({"premium": 0}, "premium", REASONS["premium"]),
        ({"premium": "-100"}, "premium", REASONS["premium"]),
        ({"maturity_date": dt.datetime(2007, 3, 5)}, "maturity_date", REASONS["order"]),
        ({"maturity_date": dt.datetime(2008, 3, 5)}, "maturity_date", REASONS["order"]),
        ({"product_type": "健康险"}, "product_type", REASONS["product"]),
        ({"payment_mode": "月缴"}, "payment_mode", REASONS["payment"]),
        (
            {"payment_mode": "期交", "payment_years": "半年"},
            "payment_years",
            REASONS["payment_years"],
        ),
        (
            {"payment_mode": "期交", "payment_years": 6},
            "payment_years",
            REASONS["payment_years_term"],
        ),
        (
            {"payment_mode": "期交", "payment_years": 0},
            "payment_years",
            REASONS["payment_years_term"],
        ),
        ({"payment_years": 5}, "payment_years", REASONS["payment_years_single"]),
        ({"term_years": "长期"}, "term_years", REASONS["term"]),
        ({"term_years": 0}, "term_years", REASONS["term"]),
        (
            {"holder_birth_date": None, "holder_id": wrong_check(make_id("19600305"))},
            "holder_id",
            REASONS["id_check"],
        ),
        ({"holder_birth_date": None, "holder_id": "12345"}, "holder_id", REASONS["id_bad"]),
        ({"holder_birth_date": None, "holder_id": None}, "holder_birth_date", REASONS["no_birth"]),
        ({"holder_birth_date": "不详", "holder_id": "12345"}, "holder_birth_date", REASONS["date"]),
        (birth(1900), "holder_birth_date", "年龄不合理（113岁） / impossible age (113)"),
        (birth(2010), "holder_birth_date", REASONS["born_after"]),
        (
            {"holder_birth_date": dt.datetime(2014, 1, 1)},
            "holder_birth_date",
            "年龄不合理（-1岁） / impossible age (-1)",
        ),
    ],
)
def test_bad_rows_are_rejected_with_their_reason(tmp_path, changes, column, reason):
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0), good(1, **changes), good(2)])
    got = accounted(load_policies(f), 3)
    assert got.policies["policy_no"].tolist() == ["P2013000000", "P2013000002"]
    assert reason_of(got) == (column, reason, 3)  # row 3: header, good(0), then this
    rej = got.rejects.iloc[0]
    assert (rej["file"], rej["sheet"], rej["header"]) == ("policies.xlsx", "清单", HEADERS[column])


def test_payment_years_are_read(tmp_path):
    rows = [
        good(0, payment_mode="期交", payment_years="3年"),
        good(1, payment_mode="期交", payment_years=5),  # the whole term
        good(2, payment_mode="期交"),  # not given: the term stands in (yields)
        good(3, payment_years=1),  # 趸交 pays once
        good(4, product_type="万能", term_years="终身", payment_mode="期交", payment_years=10),
    ]
    p = accounted(load_policies(write_xlsx(tmp_path / "policies.xlsx", rows)), 5).policies
    assert p["payment_years"].tolist() == [3, 5, pd.NA, 1, 10]
    assert str(p["payment_years"].dtype) == "Int64"
    assert payment_counts(p).tolist() == [3, 5, 5, 1, 10]


def test_value_is_shown_as_written(tmp_path):
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0, premium="五万")])
    assert accounted(load_policies(f), 1).rejects.loc[0, "value"] == "五万"


def test_all_problems_of_a_row_are_listed(tmp_path):
    f = write_xlsx(
        tmp_path / "policies.xlsx", [good(0, premium="x", product_type="健康险", issue_date="?")]
    )
    rej = accounted(load_policies(f), 1).rejects.iloc[0]
    assert rej["column"] == "issue_date"
    assert rej["other_problems"] == "premium, product_type"


def test_duplicates_after_the_first_are_rejected_naming_it(tmp_path):
    f = write_xlsx(
        tmp_path / "policies.xlsx",
        [good(0), good(1), good(0, holder_name="二"), good(0, holder_name="三")],
    )
    got = accounted(load_policies(f), 4)
    assert got.policies["holder_name"].tolist() == ["张三", "张三"]
    assert got.rejects["row"].tolist() == [4, 5]
    assert set(got.rejects["reason"]) == {
        "保单号重复，首次出现在 policies.xlsx 清单 第2行 / "
        "duplicate policy number, first in policies.xlsx 清单 row 2"
    }


# ----------------------------------------------------------------------------- layouts


def test_title_row_above_the_header_and_excel_row_numbers(tmp_path):
    f = write_xlsx(
        tmp_path / "policies.xlsx",
        [good(0), good(1, premium=-1)],
        above=[["2013年满期保单清单"], ["制表：银保部", None, "2013-01-05"]],
    )
    got = accounted(load_policies(f), 2)
    assert got.manifest["inputs"][0]["sheets"][0]["header_rows"] == [3]
    assert reason_of(got)[2] == 5


def test_merged_two_row_header(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2013年满期保单清单"])
    ws.merge_cells("A1:Q1")
    top = [
        "保单号",
        "投保人",
        None,
        None,
        None,
        "网点",
        None,
        "支局",
        "险种类型",
        "产品名称",
        "保障期限",
        "缴费方式",
        "已交保费",
        "承保日期",
        "保险止期",
        "满期金+分红",
        "客户经理",
    ]
    sub = [None, "姓名", "身份证号", "出生日期", "手机", "代码", "名称"] + [None] * 10
    ws.append(top)
    ws.append(sub)
    for rng in ("B2:E2", "F2:G2", "A2:A3", *(f"{c}2:{c}3" for c in "HIJKLMNOPQ")):
        ws.merge_cells(rng)
    ws.append([good(0)[n] for n in CANONICAL if n != "payment_years"])  # no 缴费年期 here
    wb.save(tmp_path / "policies.xlsx")
    got = accounted(load_policies(tmp_path / "policies.xlsx"), 1)
    [sheet] = got.manifest["inputs"][0]["sheets"]
    assert sheet["header_rows"] == [2, 3]
    assert set(sheet["columns"]) == set(CANONICAL) - {"payment_years"}
    p = got.policies
    assert (p.loc[0, "holder_name"], p.loc[0, "branch_code"], p.loc[0, "branch_name"]) == (
        "张三",
        "0101",
        "城关网点",
    )


def test_header_cells_with_newlines_spaces_and_units(tmp_path):
    headers = {
        **HEADERS,
        "maturity_date": "保险\n止期",
        "policy_no": " 保 单 号 ",
        "premium": "已交保费(元)",
    }
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0)], headers=headers)
    p = accounted(load_policies(f), 1).policies
    assert p.loc[0, "maturity_date"] == pd.Timestamp("2013-03-05")
    assert p.loc[0, "premium"] == 50000.0


def test_english_canonical_headers(tmp_path):
    f = write_csv(tmp_path / "policies.csv", [good(0)], headers={n: n for n in CANONICAL})
    p = accounted(load_policies(f), 1).policies
    assert p.loc[0, "holder_name"] == "张三"


@pytest.mark.parametrize("header", ["保险止期", "满期日期", "满期日", "maturity_date"])
def test_maturity_date_aliases(tmp_path, header):
    f = write_xlsx(
        tmp_path / "policies.xlsx", [good(0)], headers={**HEADERS, "maturity_date": header}
    )
    p = accounted(load_policies(f), 1).policies
    assert p.loc[0, "maturity_date"] == pd.Timestamp("2013-03-05")


@pytest.mark.parametrize("name", sorted({(c.name, a) for c in POLICY_COLUMNS for a in c.aliases}))
def test_every_alias_in_the_schema_maps_to_its_column(tmp_path, name):
    column, alias = name
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0)], headers={**HEADERS, column: alias})
    got = accounted(load_policies(f), 1)
    assert got.manifest["inputs"][0]["sheets"][0]["columns"][column] == alias


@pytest.mark.parametrize("word", ["合计", "总计", "小计", "合 计", "合计："])
def test_summary_rows_are_footers_not_policies(tmp_path, word):
    f = write_xlsx(
        tmp_path / "policies.xlsx",
        [good(0), good(1)],
        below=[[word, None, None, None, None, None, None, None, None, None, None, None, 100000]],
    )
    got = accounted(load_policies(f), 2)
    assert got.manifest["rows_footer"] == 1 and got.rejects.empty


def test_blank_rows_are_counted_apart_and_rows_keep_their_numbers(tmp_path):
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0), None, None, good(1, premium=0)])
    got = accounted(load_policies(f), 2)
    assert got.manifest["rows_blank"] == 2
    assert reason_of(got)[2] == 5


def test_every_policy_sheet_is_read_and_others_skipped(tmp_path):
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0), good(1)], sheet="一季度")
    wb = openpyxl.load_workbook(f)
    notes = wb.create_sheet("说明", 0)
    notes.append(["本表由核心系统导出"])
    ws = wb.create_sheet("二季度")
    ws.append(list(HEADERS.values()))
    ws.append([good(2)[n] for n in CANONICAL])
    ws.append([good(0)[n] for n in CANONICAL])
    wb.save(f)
    got = accounted(load_policies(f), 4)
    [inp] = got.manifest["inputs"]
    assert inp["skipped_sheets"] == ["说明"]
    assert [s["sheet"] for s in inp["sheets"]] == ["一季度", "二季度"]
    assert reason_of(got) == (
        "policy_no",
        "保单号重复，首次出现在 policies.xlsx 一季度 第2行 / "
        "duplicate policy number, first in policies.xlsx 一季度 row 2",
        3,
    )


def test_a_dataset_folder_reads_every_policies_file_sorted(tmp_path):
    write_xlsx(tmp_path / "policies_2013a.xlsx", [good(0), good(1)])
    write_csv(tmp_path / "policies_2013b.csv", [good(2), good(0)], encoding="gb18030")
    write_csv(tmp_path / "branches.csv", [good(9)])  # not a policies file
    got = accounted(load_policies(tmp_path), 4)
    assert [i["file"] for i in got.manifest["inputs"]] == [
        "policies_2013a.xlsx",
        "policies_2013b.csv",
    ]
    assert got.policies["policy_no"].tolist() == ["P2013000000", "P2013000001", "P2013000002"]
    assert reason_of(got)[:2] == (
        "policy_no",
        "保单号重复，首次出现在 policies_2013a.xlsx 清单 "
        "第2行 / duplicate policy number, first in "
        "policies_2013a.xlsx 清单 row 2",
    )
    assert got.rejects.loc[0, ["file", "sheet", "row"]].tolist() == ["policies_2013b.csv", "", 3]


# ---------------------------------------------------------------------------------- CSV


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings(tmp_path, encoding):
    f = write_csv(
        tmp_path / "policies.csv", [good(0), good(1, holder_name="欧阳娜娜")], encoding=encoding
    )
    got = accounted(load_policies(f), 2)
    assert got.policies["holder_name"].tolist() == ["张三", "欧阳娜娜"]
    assert got.manifest["inputs"][0]["encoding"] == ("gb18030" if "gb" in encoding else "utf-8")


@pytest.mark.parametrize(
    ("above", "rows", "below", "bad_line"),
    [
        ([], [good(0), good(1, premium=0)], [], 3),  # clean: the fast reader
        ([["2013年满期保单清单"]], [good(0), good(1, premium=0)], [], 4),
        ([], [good(0), None, good(1, premium=0)], [], 4),  # a blank line
        ([], [good(0), good(1, premium=0)], [["合计", "2"]], 3),  # a short summary row
        ([["标题"], [""]], [None, good(0), None, good(1, premium=0)], [[""]], 7),
    ],
)
def test_csv_line_numbers(tmp_path, above, rows, below, bad_line):
    f = write_csv(tmp_path / "policies.csv", rows, above=above, below=below)
    got = accounted(load_policies(f), 2)
    assert reason_of(got) == ("premium", REASONS["premium"], bad_line)


def test_csv_quoted_values_with_commas_and_newlines(tmp_path):
    f = tmp_path / "policies.csv"
    write_csv(f, [good(0, premium='"12,345.00"', holder_name='"张\n三"'), good(1, premium=0)])
    got = accounted(load_policies(f), 2)
    assert got.policies.loc[0, "premium"] == 12345.0
    assert reason_of(got)[2] == 4  # the quoted newline made record 1 two lines long


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("1.10101196003051E+17", None), ("110105196003050020", "110105196003050020")],
)
def test_csv_id_excel_turned_into_a_number(tmp_path, cell, expected):
    """A lost ID is dropped (the birth date gives the age); a whole one is kept."""
    f = write_csv(tmp_path / "policies.csv", [good(0, holder_id=cell)])
    got = accounted(load_policies(f), 1)
    value = got.policies.loc[0, "holder_id"]
    assert pd.isna(value) if expected is None else value == expected
    assert got.manifest["rows_warned"] == (expected is None)


def test_csv_row_shifted_by_an_unquoted_comma_is_rejected(tmp_path):
    f = write_csv(tmp_path / "policies.csv", [good(0), good(1, premium="12,345.00")])
    got = accounted(load_policies(f), 2)
    assert reason_of(got) == ("", REASONS["extra"], 3)
    assert got.rejects.loc[0, "value"] == "李经理"  # the last cell, pushed past the header


def test_text_saved_as_xls_is_read_as_tab_separated(tmp_path):
    f = write_csv(tmp_path / "policies.xls", [good(0)], sep="\t", encoding="gb18030")
    assert accounted(load_policies(f), 1).policies.loc[0, "premium"] == 50000.0


# ------------------------------------------------------------------------ unreadable files


def _zip_not_xlsx(p: Path) -> None:
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("hello.txt", "hi")


@pytest.mark.parametrize(
    ("name", "make", "problem"),
    [
        ("policies.xlsx", None, "file not found"),
        ("policies.csv", lambda p: p.write_bytes(b""), "empty"),
        ("policies.csv", lambda p: p.write_text("\n\n  \n"), "empty"),
        (
            "policies.xlsx",
            lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00garbage"),
            "not a spreadsheet",
        ),
        ("policies.xlsx", _zip_not_xlsx, "not a readable Excel workbook"),
        ("policies.xls", lambda p: p.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 600), ".xls"),
        ("policies.xls", lambda p: p.write_text("<html><table></table></html>"), "HTML"),
        ("policies.csv", lambda p: p.write_text("a,b,c\n1,2,3\n"), "no recognisable header"),
        (
            "policies.csv",
            lambda p: write_csv(
                p, [good(0)], headers={k: v for k, v in HEADERS.items() if k != "issue_date"}
            ),
            "承保日期 (issue_date)",
        ),
        (
            "policies.csv",
            lambda p: write_csv(
                p,
                [good(0)],
                headers={
                    k: v for k, v in HEADERS.items() if k not in ("holder_id", "holder_birth_date")
                },
            ),
            "neither column found",
        ),
        ("policies.csv", lambda p: write_csv(p, []), "no policy rows"),
        (
            "policies.csv",
            lambda p: p.write_bytes("保单号,网点代码\n".encode() + b"\xff\xfe\xfa\x81\x30\xff"),
            "not UTF-8 or GB18030",
        ),
    ],
)
def test_unreadable_files_are_one_line_errors_naming_the_file(tmp_path, name, make, problem):
    f = tmp_path / name
    if make:
        make(f)
    with pytest.raises(MaturityDataError) as err:
        load_policies(f)
    message = str(err.value)
    assert "\n" not in message
    assert name in message and problem in message


def test_unrecognised_sheets_error_names_them(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet1"
    wb.active.append(["foo", "bar"])
    wb.save(tmp_path / "policies.xlsx")
    with pytest.raises(MaturityDataError, match=r"policies\.xlsx \(sheets Sheet1\): no recog"):
        load_policies(tmp_path / "policies.xlsx")


def test_folder_without_policy_files_is_an_error(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(MaturityDataError, match="no policies"):
        load_policies(tmp_path)


# ------------------------------------------------------------------------ prepare and CLI


def test_prepare_writes_parquet_rejects_and_manifest(tmp_path):
    raw = tmp_path / "raw" / "mydata"
    raw.mkdir(parents=True)
    write_xlsx(raw / "policies.xlsx", [good(0), good(1, premium="x"), good(2)])
    out = tmp_path / "out"
    result = prepare(raw, out=out)
    assert result.out_dir == out
    assert sorted(p.name for p in out.iterdir()) == [
        "manifest.json",
        "policies.parquet",
        "rejects.csv",
    ]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["dataset"] == "mydata"
    assert (manifest["rows_read"], manifest["rows_accepted"], manifest["rows_rejected"]) == (
        3,
        2,
        1,
    )
    assert manifest["outputs"] == {"policies": "policies.parquet", "rejects": "rejects.csv"}
    back = pd.read_parquet(out / "policies.parquet")
    pd.testing.assert_frame_equal(back, result.policies)
    assert (out / "rejects.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    rejects = pd.read_csv(out / "rejects.csv", encoding="utf-8-sig", dtype=str)
    assert rejects.loc[0, "reason"] == REASONS["amount"] and rejects.loc[0, "row"] == "3"


def test_prepare_removes_an_old_manifest_before_writing(tmp_path, monkeypatch):
    write_xlsx(tmp_path / "policies.xlsx", [good(0)])
    out = tmp_path / "out"
    prepare(tmp_path, out=out)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", broken)  # policies.parquet's rows
    with pytest.raises(OSError):
        prepare(tmp_path, out=out)
    assert sorted(p.name for p in out.iterdir()) == ["policies.parquet", "rejects.csv"]


def test_cli_prepare_prints_counts(tmp_path, capsys):
    write_xlsx(tmp_path / "policies.xlsx", [good(0), good(1, premium=0)])
    assert main(["prepare", str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "1 accepted, 1 rejected of 2 rows read" in out


@pytest.mark.parametrize("make", [None, lambda p: p.write_text("hello,world\n")])
def test_cli_unreadable_file_exits_2_with_one_line(tmp_path, capsys, make):
    f = tmp_path / "policies.csv"
    if make:
        make(f)
    assert main(["prepare", str(f), "--out", str(tmp_path / "out")]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert "policies.csv" in captured.err and "Traceback" not in captured.err


# --------------------------------------------------------------------- prepared datasets


@pytest.fixture
def dataset(tmp_path):
    raw = tmp_path / "raw"
    (raw / "demo").mkdir(parents=True)
    write_xlsx(raw / "demo" / "policies.xlsx", [good(0), good(1)])
    return raw, tmp_path / "processed"


def test_read_dataset_prepares_once_then_reuses(dataset):
    raw, processed = dataset
    first = read_dataset("demo", raw_dir=raw, processed_dir=processed)
    assert first["policy_no"].tolist() == ["P2013000000", "P2013000001"]
    manifest = processed / "demo" / "manifest.json"
    stamp = manifest.stat().st_mtime_ns
    again = read_dataset("demo", raw_dir=raw, processed_dir=processed)
    pd.testing.assert_frame_equal(first, again)
    assert manifest.stat().st_mtime_ns == stamp


def test_read_dataset_prepares_again_when_raw_files_change(dataset):
    raw, processed = dataset
    read_dataset("demo", raw_dir=raw, processed_dir=processed)
    write_xlsx(raw / "demo" / "policies.xlsx", [good(0), good(1), good(2)])
    assert len(read_dataset("demo", raw_dir=raw, processed_dir=processed)) == 3
    m = dataset_manifest("demo", raw_dir=raw, processed_dir=processed)
    assert m["rows_accepted"] == 3


def test_read_dataset_hands_out_copies_and_sees_rewritten_files(dataset):
    raw, processed = dataset
    first = read_dataset("demo", raw_dir=raw, processed_dir=processed)
    first.loc[0, "premium"] = -1.0  # a notebook changing its frame changes no later read
    first.drop(columns="manager", inplace=True)
    again = read_dataset("demo", raw_dir=raw, processed_dir=processed)
    assert "manager" in again.columns and (again["premium"] > 0).all()
    key = dataset_fingerprint("demo", raw_dir=raw, processed_dir=processed)
    path = processed / "demo" / "policies.parquet"
    again.iloc[:1].to_parquet(path)  # the prepared file rewritten behind the process's back
    assert len(read_dataset("demo", raw_dir=raw, processed_dir=processed)) == 1
    assert dataset_fingerprint("demo", raw_dir=raw, processed_dir=processed) != key


def test_unknown_dataset_names_the_known_ones(dataset):
    raw, processed = dataset
    with pytest.raises(MaturityDataError, match=r"no dataset 'nope' \(known: demo\)"):
        read_dataset("nope", raw_dir=raw, processed_dir=processed)


# ------------------------------------------------------------------------------ roundtrip


def test_roundtrip_of_a_generated_frame(tmp_path):
    """A frame written as an export (text IDs, date cells) comes back the same."""
    import numpy as np

    rng = np.random.default_rng(7)
    n = 40
    born = pd.to_datetime("1940-01-01") + pd.to_timedelta(rng.integers(0, 20000, n), unit="D")
    term = rng.choice([5, 8, 10], n)
    matures = pd.to_datetime("2013-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    frame = pd.DataFrame(
        {
            "policy_no": [f"P{i:08d}" for i in range(n)],
            "holder_name": rng.choice(["张三", "李四", "王五"], n),
            "holder_id": [make_id(b.strftime("%Y%m%d"), i) for i, b in enumerate(born)],
            "holder_birth_date": born,
            "holder_mobile": [f"139{i:08d}" for i in range(n)],
            "branch_code": rng.choice(["0101", "0102"], n),
            "branch_name": "网点",
            "sub_branch": "支局",
            "product_type": rng.choice(["分红", "万能"], n),
            "product_name": "千里马",
            "term_years": pd.array(term, dtype="Int64"),
            "whole_life": False,
            "payment_mode": "趸交",
            "premium": np.round(rng.uniform(1000, 300000, n), 2),
            "issue_date": matures - pd.to_timedelta(term * 365, unit="D"),
            "maturity_date": matures,
            "maturity_value": np.round(rng.uniform(1000, 400000, n), 2),
            "manager": "甲",
        }
    )
    cells = frame.astype(object).where(frame.notna(), None)
    rows = [
        {c: (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v) for c, v in r.items()}
        for r in cells.to_dict("records")
    ]
    f = write_xlsx(tmp_path / "policies.xlsx", rows)
    p = accounted(load_policies(f), n).policies
    for col in frame.columns:
        assert p[col].tolist() == frame[col].tolist(), col
    assert p["age"].tolist() == [
        m.year - b.year - ((m.month, m.day) < (b.month, b.day))
        for b, m in zip(born, matures, strict=True)
    ]

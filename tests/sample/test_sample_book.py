"""The sample maturity list reproduces the plan (PLAN_FIGURES.md) and is well-formed.

The expected figures below are copied from PLAN_FIGURES.md, not read from plan.toml, so a slip
in either the plan file or the generator shows up here.
"""

import hashlib
import re
import zipfile
from datetime import datetime

import numpy as np
import openpyxl
import pandas as pd
import pytest

from maturity_analysis.analysis.yields import add_yields
from maturity_analysis.cli import main
from maturity_analysis.ingest.schema import SAMPLE_HEADERS
from maturity_analysis.plan.bands import age_at, age_band, principal_band
from maturity_analysis.sample.book import generate_policies, scaled_policies, write_sample

AGES = ["20-30", "31-40", "41-50", "51-60", "61以上"]
BANDS = ["5万以下", "5-10万", "10-20万", "20万及以上"]
# PLAN_FIGURES.md, Table 1: per age band, [<5万, 5-10万, 10-20万, >=20万] policy counts.
TABLE1 = {
    "分红": {
        "20-30": [1023, 28, 3, 0],
        "31-40": [3096, 58, 20, 1],
        "41-50": [5204, 98, 48, 5],
        "51-60": [2971, 95, 36, 3],
        "61以上": [3441, 77, 22, 7],
    },
    "万能": {
        "20-30": [1121, 36, 3, 5],
        "31-40": [4160, 28, 8, 1],
        "41-50": [6661, 296, 70, 20],
        "51-60": [3650, 241, 39, 22],
        "61以上": [4015, 159, 45, 7],
    },
}
# PLAN_FIGURES.md, Table 1, rows: 分红 total and 万能 total per age band, and the 合计 row.
ROW_TOTALS = {"分红": [1054, 3175, 5355, 3105, 3547], "万能": [1165, 4197, 7047, 3952, 4226]}
COLUMN_TOTALS = {"分红": [16236, 15735, 356, 129, 16], "万能": [20587, 19607, 760, 165, 55]}


def check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2, as GB 11643 defines it (written out here, independent of sample.py)."""
    weights = [2 ** (17 - i) % 11 for i in range(17)]  # 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights, strict=True)) % 11]


@pytest.fixture(scope="module")
def book() -> pd.DataFrame:
    return generate_policies(seed=2013)


@pytest.fixture(scope="module")
def derived(book) -> pd.DataFrame:
    age = age_at(book["投保人出生日期"], book["保险止期"])
    return pd.DataFrame(
        {
            "product": book["险种类型"],
            "age": age,
            "age_band": age_band(age),
            "band": principal_band(book["已交保费"].astype(float)),
            "premium": book["已交保费"],
        }
    )


@pytest.fixture(scope="module")
def yields(book) -> pd.DataFrame:
    canonical = pd.DataFrame(
        {
            "premium": book["已交保费"].astype(float),
            "issue_date": book["承保日期"],
            "maturity_date": book["保险止期"],
            "maturity_value": book["满期金+分红"],
        }
    )
    out = add_yields(canonical)
    out["group"] = np.where(
        book["险种类型"] == "万能", "万能", np.where(book["保障期限"] == 5, "5年", "8年及以上")
    )
    return out


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """The folder the command line's ``sample --out`` wrote."""
    out = tmp_path_factory.mktemp("sample")
    assert main(["sample", "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize(
    ("product", "age", "band", "expected"),
    [
        pytest.param(p, a, BANDS[b], row[b], id=f"Table 1, row {a}, {p} {BANDS[b]}")
        for p, rows in TABLE1.items()
        for a, row in rows.items()
        for b in range(4)
    ],
)
def test_every_cell_of_table1(derived, product, age, band, expected):
    cell = (
        (derived["product"] == product) & (derived["age_band"] == age) & (derived["band"] == band)
    )
    assert cell.sum() == expected


@pytest.mark.parametrize("product", ["分红", "万能"])
def test_table1_totals(derived, product, book):
    mine = derived[derived["product"] == product]
    # PLAN_FIGURES.md Table 1: the product's total column per age band and its 合计 row.
    assert mine["age_band"].value_counts().reindex(AGES).tolist() == ROW_TOTALS[product]
    assert [len(mine), *mine["band"].value_counts().reindex(BANDS).tolist()] == COLUMN_TOTALS[
        product
    ]


def test_book_size_and_no_one_under_20(derived):
    # PLAN_FIGURES.md Table 2, 合计: 36823 policies, all inside the plan's age bands.
    assert len(derived) == 36823
    assert derived["age"].min() >= 20


@pytest.mark.parametrize(
    ("who", "expected_wan"),
    [
        pytest.param("61以上 分红", 3880, id="Table 4, 61以上 分红 3880万元"),
        pytest.param("61以上 万能", 2219, id="Table 4, 61以上 万能 2219万元"),
        pytest.param("共计", 30721, id="Table 4, 共计 30721万元"),
    ],
)
def test_table4_premiums(derived, who, expected_wan):
    rows = (
        derived
        if who == "共计"
        else derived[(derived["age_band"] == "61以上") & (derived["product"] == who.split()[1])]
    )
    assert rows["premium"].sum() / 1e4 == pytest.approx(expected_wan, abs=0.5)


def test_premiums_are_whole_yuan_and_small_ones_average_well_under_1wan(derived):
    premium = derived["premium"]
    assert premium.dtype == np.int64 and premium.min() >= 1000
    small = premium[derived["band"] == "5万以下"]
    # PLAN_FIGURES.md Table 3: "件均1万元" overall; the <5万 band must sit well under it.
    assert small.mean() < 7000
    assert 5000 < premium.mean() < 15000


def test_products_terms_and_dates(book):
    participating = book[book["险种类型"] == "分红"]
    universal = book[book["险种类型"] == "万能"]
    assert participating["产品名称"].str.contains("千里马").all()
    terms = participating["保障期限"].value_counts(normalize=True)
    assert set(terms.index) == {5, 8, 10} and terms[5] > 0.5  # "term mostly 5 years"
    assert (universal["保障期限"] == "终身").all()
    assert set(book["缴费方式"]) == {"趸交", "期交"} and (book["缴费方式"] == "趸交").mean() > 0.8
    assert (book["保险止期"].dt.year == 2013).all()
    # 分红: issued exactly `term` years before maturity, same day.
    for term, rows in participating.groupby(participating["保障期限"].astype(int)):
        assert (rows["保险止期"] - pd.DateOffset(years=term) == rows["承保日期"]).all()
    held = (universal["保险止期"] - universal["承保日期"]).dt.days / 365.25
    assert held.between(4.99, 8.01).all()


def test_holders_were_adults_at_issue(book):
    assert (age_at(book["投保人出生日期"], book["承保日期"]) >= 18).all()


def test_ids_are_valid_and_match_the_birth_date(book):
    ids = book["投保人身份证号"]
    assert ids.str.fullmatch(r"\d{17}[\dX]").all()
    assert (ids.str[17] == ids.str[:17].map(check_char)).all()
    assert (ids.str[6:14] == book["投保人出生日期"].dt.strftime("%Y%m%d")).all()


def test_mobiles_and_policy_numbers(book):
    assert book["投保人手机"].str.fullmatch(r"1[358]\d{9}").all()
    assert book["保单号"].is_unique
    assert book["保单号"].str.fullmatch(r"8\d{14}").all()
    assert (book["保单号"].str[1:5] == book["承保日期"].dt.year.astype(str)).all()
    assert book["投保人姓名"].str.fullmatch(r"[\u4e00-\u9fff]{2,4}").all()


def test_branches_are_uneven_and_nested_in_sub_branches(book):
    sizes = book.groupby("网点代码").size()
    assert 40 <= len(sizes) <= 56 and 5 <= book["支局"].nunique() <= 7
    assert sizes.max() > 5 * sizes.min()
    assert (book.groupby("网点代码")[["网点名称", "支局"]].nunique() == 1).all().all()
    assert book["网点代码"].str.fullmatch(r"\d{6}").all()


@pytest.mark.parametrize(
    ("group", "beats_at_most", "beats_at_least"),
    [
        # deposit_rates.md / the plan: 千里马 of 5 years mostly below the deposit, >= 8 years mostly
        # above; 万能 cashed in "at maturity" is worse than a deposit.
        ("5年", 0.25, 0.0),
        ("8年及以上", 1.0, 0.75),
        ("万能", 0.25, 0.0),
    ],
)
def test_returns_against_the_deposit(yields, group, beats_at_most, beats_at_least):
    share = yields.loc[yields["group"] == group, "beats_deposit"].astype(bool).mean()
    assert beats_at_least <= share <= beats_at_most


def test_same_seed_same_frame_other_seed_differs(book):
    pd.testing.assert_frame_equal(generate_policies(seed=2013), book)
    other = generate_policies(seed=7)
    assert not other["投保人身份证号"].equals(book["投保人身份证号"])
    assert len(other) == len(book)  # the plan's counts hold for any seed


def test_written_workbook_round_trips(written, book):
    path = written / "policies.xlsx"
    assert sorted(p.name for p in written.iterdir()) == ["policies.xlsx", "tracking"]  # no temp
    assert sorted(p.name for p in (written / "tracking").iterdir()) == [  # files left
        "calls.xlsx",
        "complaints.xlsx",
        "outcomes.xlsx",
        "worklog.xlsx",
    ]
    with zipfile.ZipFile(path) as z:  # every policy is a row (+ the header)
        assert z.read("xl/worksheets/sheet1.xml").count(b"<row ") == 36823 + 1
    # openpyxl is slow on 600k cells: read the first 2000 rows back and compare them in full.
    ws = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    assert (ws.max_row, ws.max_column) == (36823 + 1, len(SAMPLE_HEADERS))  # sized, no rescan
    rows = list(ws.iter_rows(max_row=2001, values_only=True))
    assert list(rows[0]) == SAMPLE_HEADERS
    back = pd.DataFrame(rows[1:], columns=rows[0])
    head = book.head(2000)
    for header in ("投保人出生日期", "承保日期", "保险止期"):  # real Excel dates
        assert isinstance(back[header].iloc[0], datetime)
        assert (pd.to_datetime(back[header]) == head[header]).all()
    for header in SAMPLE_HEADERS:
        if header not in ("投保人出生日期", "承保日期", "保险止期"):
            got = back[header].astype(object)  # blank cells (缴费年期 of 趸交) read back as None
            assert got.where(got.notna(), None).tolist() == head[header].tolist(), header


def test_same_seed_writes_identical_bytes(written, tmp_path):
    again = write_sample(tmp_path, seed=2013)
    assert again[0] == tmp_path / "policies.xlsx"  # then tracking/*.xlsx (test_tracking.py)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(again[0]) == digest(written / "policies.xlsx")


def test_scaled_policies_have_the_same_shape():
    small = scaled_policies(3000, seed=1)
    assert list(small.columns) == SAMPLE_HEADERS and len(small) == 3000
    assert small["保单号"].is_unique
    ids = small["投保人身份证号"].astype(str)
    assert (ids.str[17] == ids.str[:17].map(check_char)).all()
    age = age_at(small["投保人出生日期"], small["保险止期"])
    assert age.min() >= 20
    # Premium volume scales with the book: 30721万元 x 3000 / 36823, within 2%.
    assert small["已交保费"].sum() == pytest.approx(30721e4 * 3000 / 36823, rel=0.02)
    pd.testing.assert_frame_equal(scaled_policies(3000, seed=1), small)


def test_scaled_policies_take_a_branch_count():
    big = scaled_policies(2000, branches=100)
    assert big["网点代码"].nunique() > 90
    assert big["网点名称"].nunique() == big["网点代码"].nunique()
    assert big["网点代码"].astype(str).map(lambda c: bool(re.fullmatch(r"\d{6}", c))).all()

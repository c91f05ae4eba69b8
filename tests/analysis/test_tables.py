"""The plan's tables reproduced from the sample book; every figure cites PLAN_FIGURES.md."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from maturity_analysis.analysis import tables as tables_module
from maturity_analysis.analysis.book import for_branch
from maturity_analysis.analysis.tables import (
    maturity_groups,
    maturity_product_table,
    plan_tables,
    product_difference,
    table1,
    table2,
    table3,
    table4,
)
from maturity_analysis.analysis.yields import add_yields
from maturity_analysis.exceptions import MaturityDataError
from maturity_analysis.output.display import format_table
from maturity_analysis.plan.model import MaturityGroup, load_plan

AGES = ["20-30", "31-40", "41-50", "51-60", "61以上", "合计"]
BANDS = ["5万以下", "5-10万", "10-20万", "20万及以上"]

# PLAN_FIGURES.md, Table 1: per age band, [total, <5万, 5-10万, 10-20万, >=20万].
TABLE1 = {
    "分红": {
        "20-30": [1054, 1023, 28, 3, 0],
        "31-40": [3175, 3096, 58, 20, 1],
        "41-50": [5355, 5204, 98, 48, 5],
        "51-60": [3105, 2971, 95, 36, 3],
        "61以上": [3547, 3441, 77, 22, 7],
        "合计": [16236, 15735, 356, 129, 16],
    },
    "万能": {
        "20-30": [1165, 1121, 36, 3, 5],
        "31-40": [4197, 4160, 28, 8, 1],
        "41-50": [7047, 6661, 296, 70, 20],
        "51-60": [3952, 3650, 241, 39, 22],
        "61以上": [4226, 4015, 159, 45, 7],
        "合计": [20587, 19607, 760, 165, 55],
    },
}
TABLE1_CELLS = [
    pytest.param(product, age, col, value, id=f"Table 1 · {age} · {product} {col}")
    for product, rows in TABLE1.items()
    for age, values in rows.items()
    for col, value in zip(["合计", *BANDS], values, strict=True)
]


@pytest.fixture(scope="module")
def tables(sample_policies):
    return plan_tables(sample_policies)


@pytest.mark.parametrize(("product", "age", "col", "expected"), TABLE1_CELLS)
def test_table1_cell(tables, product, age, col, expected):
    assert tables["表1 年龄险种本金"].loc[age, (product, col)] == expected


def test_table1_layout(tables):
    t1 = tables["表1 年龄险种本金"]
    # PLAN_FIGURES.md, Table 1: five age bands and a 合计 row; per product 合计 then the bands.
    assert list(t1.index) == AGES
    assert list(t1.columns) == [(p, c) for p in ("分红", "万能") for c in ["合计", *BANDS]]
    assert all(pd.api.types.is_integer_dtype(d) for d in t1.dtypes)


# PLAN_FIGURES.md, Table 2: 总件数 and 总占比 per age band.
@pytest.mark.parametrize(
    ("age", "count", "share"),
    [
        pytest.param("20-30", 2219, 6.03, id="Table 2 · 20-30 · 总件数 2219, 总占比 6.03%"),
        pytest.param("31-40", 7372, 20.02, id="Table 2 · 31-40 · 总件数 7372, 总占比 20.02%"),
        pytest.param("41-50", 12402, 33.68, id="Table 2 · 41-50 · 总件数 12402, 总占比 33.68%"),
        pytest.param("51-60", 7057, 19.16, id="Table 2 · 51-60 · 总件数 7057, 总占比 19.16%"),
        pytest.param("61以上", 7773, 21.11, id="Table 2 · 61以上 · 总件数 7773, 总占比 21.11%"),
        pytest.param("合计", 36823, 100.00, id="Table 2 · 合计 · 总件数 36823, 总占比 100%"),
    ],
)
def test_table2_totals_and_shares(tables, age, count, share):
    t2 = tables["表2 年龄险种占比"]
    assert t2.loc[age, ("合计", "件数")] == count
    assert round(100 * t2.loc[age, ("合计", "占比")], 2) == share


@pytest.mark.parametrize(
    ("age", "participating", "universal"),
    [
        pytest.param("41-50", 5355, 7047, id="Table 2 · 41-50 · 分红 5355, 万能 7047 (not 7074)"),
        pytest.param("合计", 16236, 20587, id="Table 2 · 合计 · 分红 16236, 万能 20587"),
    ],
)
def test_table2_product_counts(tables, age, participating, universal):
    t2 = tables["表2 年龄险种占比"]
    assert (t2.loc[age, ("分红", "件数")], t2.loc[age, ("万能", "件数")]) == (
        participating,
        universal,
    )


def test_table2_shares_within_each_product(tables):
    # PLAN_FIGURES.md, Table 2: shares within each product recomputed from the counts,
    # e.g. 分红 41-50: 5355 / 16236 = 32.98%.
    t2 = tables["表2 年龄险种占比"]
    assert round(100 * t2.loc["41-50", ("分红", "占比")], 2) == 32.98
    assert t2.loc[AGES[:-1], ("万能", "占比")].sum() == pytest.approx(1.0)


def test_universal_minus_participating(sample_policies):
    # PLAN_FIGURES.md, Table 2 text: 万能险件数高于分红险4351件 (20587 - 16236), 11.82% of 36823.
    diff, share = product_difference(sample_policies)
    assert diff == 4351
    assert round(100 * share, 2) == 11.82


@pytest.mark.parametrize(
    ("band", "count", "participating", "universal"),
    [
        pytest.param(
            "5万以下", 35342, 15735, 19607, id="Table 3 · 5万以下 · 35342 (15735 + 19607)"
        ),
        pytest.param("5-10万", 1116, 356, 760, id="Table 3 · 5(含)-10万 · 1116 (356 + 760)"),
        pytest.param("10-20万", 294, 129, 165, id="Table 3 · 10(含)-20万 · 294 (129 + 165)"),
        pytest.param("20万及以上", 71, 16, 55, id="Table 3 · 20万及以上 · 71 (16 + 55)"),
    ],
)
def test_table3_counts(tables, band, count, participating, universal):
    t3 = tables["表3 满期本金"]
    assert t3.loc[band, ("合计", "件数")] == count
    assert (t3.loc[band, ("分红", "件数")], t3.loc[band, ("万能", "件数")]) == (
        participating,
        universal,
    )


def test_table3_below_5w_share_and_average_premium(tables):
    # PLAN_FIGURES.md, Table 3 text: "[95.98]%, 件均1万元" (35342 / 36823 = 95.98%; about 1万元).
    t3 = tables["表3 满期本金"]
    assert round(100 * t3.loc["5万以下", ("合计", "占比")], 2) == 95.98
    assert round(t3.loc["合计", ("合计", "件均保费(元)")] / 10_000) == 1


@pytest.mark.parametrize(
    ("age", "col", "wan"),
    [
        pytest.param("61以上", "分红", 3880, id="Table 4 · 61以上 · 分红 3880万元"),
        pytest.param("61以上", "万能", 2219, id="Table 4 · 61以上 · 万能 2219万元"),
        pytest.param("61以上", "合计", 6099, id="Table 4 · 61以上 · 合计 6099万元"),
        pytest.param("合计", "合计", 30721, id="Table 4 · 共计 30721万元"),
    ],
)
def test_table4_premium(tables, age, col, wan):
    assert round(tables["表4 年龄保费"].loc[age, (col, "保费(万元)")]) == wan


def test_table4_shares_sum_to_one(tables):
    t4 = tables["表4 年龄保费"]
    for product in ("分红", "万能", "合计"):
        assert t4.loc[AGES[:-1], (product, "占比")].sum() == pytest.approx(1.0)
        assert t4.loc["合计", (product, "占比")] == 1.0


@pytest.mark.parametrize(
    ("age", "count", "middle", "share"),
    [
        pytest.param(
            "20-30", 1054, 31, 2.94, id="Segment table · 20-30 · 1054件; 5-20万 31件 2.94%"
        ),
        pytest.param(
            "31-40", 3175, 78, 2.46, id="Segment table · 31-40 · 3175件; 5-20万 78件 2.46%"
        ),
        pytest.param(
            "41-50", 5355, 146, 2.73, id="Segment table · 41-50 · 5355件; 5-20万 146件 2.73%"
        ),
        pytest.param(
            "51-60", 3105, 131, 4.22, id="Segment table · 51-60 · 3105件; 5-20万 131件 4.22%"
        ),
        pytest.param(
            "61以上", 3547, 99, 2.79, id="Segment table · 61以上 · 3547件; 5-20万 99件 2.79%"
        ),
    ],
)
def test_segment_table(tables, age, count, middle, share):
    seg = tables["年龄段分析"]
    assert seg.loc[age, "分红件数"] == count
    assert seg.loc[age, "5-20万件数"] == middle
    assert round(100 * seg.loc[age, "5-20万占比"], 2) == share


def test_segment_table_quotes_premium_and_playbook(tables):
    seg = tables["年龄段分析"]
    # PLAN_FIGURES.md, segment table · 61以上: "保费3880万元, 3547件"; 转换产品 存款 (保单转存单).
    assert round(seg.loc["61以上", "分红保费(万元)"]) == 3880
    assert "保单转存单" in seg.loc["61以上", "转换产品"]
    # 51-60: the highest high-premium share of any age group (4.22%).
    assert seg.loc[AGES[:-1], "5-20万占比"].idxmax() == "51-60"
    assert seg.loc["51-60", "缴费"] == "趸交"


def test_maturity_product_table_matches_the_plans_analysis(tables):
    # PLAN_FIGURES.md, the 2012 maturity product analysis: 千里马 of 8 years or more should beat
    # deposits; 5 years or less is below deposits; 万能 cashed in is worse than a deposit.
    mp = tables["满期产品分析"]
    assert list(mp.index) == ["千里马(8年期以上)", "千里马(5年期以下)", "万能", "合计"]
    assert mp.loc["千里马(8年期以上)", "跑赢存款占比"] > 0.5
    assert mp.loc["千里马(8年期以上)", "平均收益差(百分点)"] > 0
    assert mp.loc["千里马(5年期以下)", "跑赢存款占比"] < 0.5
    assert (
        mp.loc["千里马(5年期以下)", "平均年化收益率"]
        < mp.loc["千里马(5年期以下)", "平均存款年化收益率"]
    )
    assert mp.loc["万能", "平均收益差(百分点)"] < 0
    assert mp.loc["合计", "件数"] == 36823
    assert mp.loc["万能", "件数"] == 20587


# --- small hand-made books ------------------------------------------------------------------


def test_below_20_and_unknown_age_rows_only_when_present(make_policies):
    plain = make_policies([{"age": 25}, {"age": 70}])
    assert "20岁以下" not in table1(plain).index
    young = make_policies([{"age": 25}, {"age": 18}, {"holder_birth_date": None}])
    t1 = table1(young)
    assert list(t1.index) == ["20岁以下", *AGES[:-1], "年龄不详", "合计"]
    assert t1.loc["20岁以下", ("分红", "合计")] == 1
    assert t1.loc["年龄不详", ("分红", "合计")] == 1
    assert t1.loc["合计", ("分红", "合计")] == 3


def test_total_row_is_the_column_sums(make_policies):
    book = make_policies(
        [
            {"age": 25, "premium": 60_000},
            {"age": 45, "product_type": "万能", "term_years": None},
            {"age": 55, "premium": 250_000},
            {"age": 65, "premium": 120_000},
        ]
    )
    for frame in (table1(book), table2(book), table4(book)):
        counts = [c for c in frame.columns if c[-1] != "占比"]
        assert (frame.loc["合计", counts] == frame.drop(index="合计")[counts].sum()).all()
    t3 = table3(book)
    assert t3.loc["20万及以上", ("分红", "件均保费(元)")] == 250_000
    assert t3.loc["合计", ("合计", "件均保费(元)")] == pytest.approx(110_000)
    assert np.isnan(t3.loc["10-20万", ("万能", "件均保费(元)")])


def test_empty_product_has_no_share(make_policies):
    t2 = table2(make_policies([{"age": 30}]))
    assert t2.loc["合计", ("分红", "占比")] == 1.0
    assert np.isnan(t2.loc["合计", ("万能", "占比")])


def test_for_branch_filters_and_rejects_unknown_codes(make_policies):
    book = make_policies([{"branch_code": "B01"}, {"branch_code": "B02"}, {"branch_code": "B02"}])
    assert len(for_branch(book, "B02")) == 2
    assert len(for_branch(book, "ALL")) == 3
    assert table2(for_branch(book, "B02")).loc["合计", ("合计", "件数")] == 2
    with pytest.raises(MaturityDataError, match="B09"):
        for_branch(book, "B09")


def test_maturity_groups_by_name_and_term(make_policies):
    book = make_policies(
        [
            {"term_years": 10},
            {"term_years": 8},
            {"term_years": 5},
            {"term_years": 6},
            {"product_name": "鸿利两全(分红型)", "term_years": 10},
            {"product_type": "万能", "term_years": None},
        ]
    )
    assert maturity_groups(book).tolist() == [
        "千里马(8年期以上)",
        "千里马(8年期以上)",
        "千里马(5年期以下)",
        "其他",
        "其他",
        "万能",
    ]
    table = maturity_product_table(book)
    assert table.loc["其他", "件数"] == 2
    assert table.loc["合计", "件数"] == 6


def test_a_policy_in_two_groups_takes_the_first(make_policies):
    """Groups may overlap (in a plan of one's own): a policy is in the first group it
    matches, in the order the plan lists them; one in none is in 其他."""
    book = make_policies(
        [
            {"term_years": 10},
            {"term_years": 3},
            {"term_years": None},
            {"product_name": "鸿利两全(分红型)", "term_years": 10},
            {"product_type": "万能", "term_years": 10},
        ]
    )
    shipped = load_plan()
    groups = (
        MaturityGroup("长期千里马", "分红", "千里马", min_term=8),
        MaturityGroup("分红", "分红"),
        MaturityGroup("十年以下", "分红", max_term=9),  # every 分红 policy is in an earlier one
    )
    plan = replace(shipped, tables=replace(shipped.tables, maturity_groups=groups))
    assert maturity_groups(book, plan).tolist() == ["长期千里马", "分红", "分红", "分红", "其他"]
    assert maturity_groups(
        book, replace(plan, tables=replace(plan.tables, maturity_groups=groups[::-1]))
    ).tolist() == ["分红", "十年以下", "分红", "分红", "其他"]


def test_maturity_product_table_averages_given_yields(make_policies):
    book = make_policies([{"term_years": 5}, {"term_years": 5}, {"term_years": 5}]).assign(
        policy_yield=[0.02, 0.04, np.nan],
        deposit_yield=[0.05, 0.03, 0.05],
        gap_pp=[-3.0, 1.0, np.nan],
        beats_deposit=pd.array([False, True, pd.NA], dtype="boolean"),
    )
    row = maturity_product_table(book).loc["千里马(5年期以下)"]
    assert row["件数"] == 3
    assert row["平均年化收益率"] == pytest.approx(0.03)  # the policy without a yield is left out
    assert row["平均存款年化收益率"] == pytest.approx(0.13 / 3)
    assert row["跑赢存款件数"] == 1
    assert row["跑赢存款占比"] == pytest.approx(0.5)
    assert "其他" not in maturity_product_table(book).index


def test_tables_do_not_change_their_input(make_policies):
    book = make_policies([{"age": 25}, {"age": 55, "product_type": "万能", "term_years": None}])
    before = book.copy()
    plan_tables(book)
    pd.testing.assert_frame_equal(book, before)


def test_format_table_shows_percent_with_two_decimals(tables):
    html = format_table(tables["表2 年龄险种占比"]).to_html()
    assert "6.03%" in html  # Table 2 · 20-30 · 总占比
    assert "36,823" in html
    assert "2.94%" in format_table(tables["年龄段分析"]).to_html()  # Segment table · 20-30


def test_tables_taken_in_blocks_equal_one_pass(sample_policies, monkeypatch):
    """A book of more rows than one bincount block (ten million policies are ten blocks)
    gives the tables of one pass: counts exactly, sums and averages to rounding, the policies
    without a yield left out of each block's count as of the whole."""
    book = add_yields(sample_policies)
    book.loc[book.index[::7], ["policy_yield", "gap_pp"]] = np.nan
    book.loc[book.index[::11], "premium"] = np.nan
    book["beats_deposit"] = book["beats_deposit"].astype("boolean").mask(book.index % 13 == 0)
    whole = plan_tables(book)
    assert len(book) < tables_module.BLOCK
    monkeypatch.setattr(tables_module, "BLOCK", 1000)  # 37 blocks of the sample
    for name, table in plan_tables(book).items():
        pd.testing.assert_frame_equal(table, whole[name], check_exact=False, rtol=1e-12)
    products = plan_tables(book)["满期产品分析"]
    assert (products["件数"] == whole["满期产品分析"]["件数"]).all()
    assert products.loc["合计", "跑赢存款件数"] == whole["满期产品分析"].loc["合计", "跑赢存款件数"]

"""The notebooks' computed sentences: each figure in the text is the table's, not typed in."""

import pandas as pd
import pytest

from maturity_analysis import narrative
from maturity_analysis.analysis.reconcile import COLUMNS, DISCREPANCY, EXACT, UNVERIFIABLE

# Ten policies: 分红 at 45, 35, 45, 45, 55, 65; 万能 at 28, 45, 58, 70. Two in branch B02.
ROWS = [
    {"age": 45, "premium": 10_000.0},
    {"age": 35, "premium": 60_000.0, "branch_code": "B02", "branch_name": "网点二"},
    {
        "age": 45,
        "premium": 150_000.0,
        "term_years": 10,
        "issue_date": "2003-03-01",
        "maturity_value": 190_000.0,
    },
    {"age": 45, "premium": 20_000.0},
    {"age": 55, "premium": 30_000.0, "maturity_date": "2013-08-01", "issue_date": "2008-08-01"},
    {"age": 65, "premium": 5_000.0, "maturity_date": "2013-11-01", "issue_date": "2008-11-01"},
    {"age": 28, "product_type": "万能", "term_years": None, "product_name": "金账户(万能型)"},
    {
        "age": 45,
        "product_type": "万能",
        "term_years": None,
        "product_name": "金账户(万能型)",
        "premium": 80_000.0,
        "maturity_value": 85_000.0,
        "branch_code": "B02",
        "branch_name": "网点二",
        "holder_name": "欧阳明华",
        "holder_mobile": "13912345678",
    },
    {
        "age": 58,
        "product_type": "万能",
        "term_years": None,
        "product_name": "金账户(万能型)",
        "maturity_date": "2013-05-01",
        "issue_date": "2008-05-01",
    },
    {
        "age": 70,
        "product_type": "万能",
        "term_years": None,
        "product_name": "金账户(万能型)",
        "maturity_date": "2013-12-01",
        "issue_date": "2008-12-01",
    },
]


@pytest.fixture
def book(make_policies):
    from maturity_analysis.analysis.book import enrich

    return enrich(make_policies(ROWS))


@pytest.mark.parametrize(
    ("label", "phrase"),
    [
        ("41-50", "41-50岁"),
        ("61以上", "61岁以上"),
        ("20岁以下", "20岁以下"),
        ("年龄不详", "年龄不详"),
    ],
)
def test_age_bands_read_as_phrases(label, phrase):
    assert narrative._age(label) == phrase


@pytest.mark.parametrize(("branch", "where"), [("ALL", "全部网点"), ("B02", "网点二（B02）")])
def test_scope_names_the_branch_and_counts_its_policies(book, branch, where):
    from maturity_analysis.analysis.book import for_branch

    text = narrative.scope(for_branch(book, branch), branch, "demo", "2013Q2")
    assert f"**网点**：{where}" in text and "**报告期**：2013Q2" in text
    assert f"**满期保单**：{10 if branch == 'ALL' else 2} 件" in text


def test_table1_text_names_the_largest_cell(book):
    from maturity_analysis.analysis.tables import table1

    text = narrative.table1_text(table1(book))
    # 41-50 分红 5万以下 holds the 10k and 20k policies; every other cell one or none.
    assert text.startswith("件数最多的组合是 41-50岁 · 分红 · 5万以下，共 2 件")
    assert "满期本金 20万及以上 的保单共 0 件（分红 0 件，万能 0 件）" in text


def test_table2_text_gives_the_product_difference_and_largest_band(book):
    from maturity_analysis.analysis.tables import table2

    assert narrative.table2_text(table2(book)) == (
        "共 10 件满期保单：分红 6 件，万能 4 件。分红比万能多 2 件（占总件数 20.00%）。"
        "41-50岁是件数最多的年龄段，共 4 件，占 40.00%。"
    )


def test_table3_text_gives_the_lowest_band_share_and_average_premium(book):
    from maturity_analysis.analysis.tables import table3

    text = narrative.table3_text(table3(book))
    # Below 5万: 10k, 20k, 30k, 5k (分红) + 10k, 10k, 10k (万能) = 7 of 10 policies.
    # That band's own average premium: (10 + 20 + 30 + 5 + 10 + 10 + 10) 千元 / 7 = 13,571 元,
    # beside its share; then the book's: (10+60+150+20+30+5 + 10+80+10+10) 万元 / 10 = 38,500 元.
    assert text.startswith(
        "满期本金 5万以下 的保单 7 件，占 70.00%，该区间件均保费 13,571 元；全部保单件均保费 38,500 元"
    )
    assert "分红 45,833 元，万能 27,500 元" in text


def test_table4_text_gives_premium_and_the_older_customers_share(book):
    from maturity_analysis.analysis.tables import table2, table4

    text = narrative.table4_text(table4(book), table2(book))
    # 41-50: 1 + 15 + 2 + 8 = 26万元 of 38.5万元 = 67.53%. Aged 51+ (the plan pays from 50):
    # 55, 65, 58, 70 → 4 of 10 policies; premium 3 + 0.5 + 1 + 1 = 5.5万元 = 14.29%.
    assert "保费合计 38.50 万元（分红 27.50 万元，万能 11.00 万元）" in text
    assert "41-50岁保费最多，26.00 万元，占 67.53%" in text
    assert text.endswith("51岁以上客户占件数的 40.00%、保费的 14.29%。")


def test_segment_text_finds_the_highest_middle_band_share(book):
    from maturity_analysis.analysis.tables import segment_table

    text = narrative.segment_text(segment_table(book))
    # 分红 5-20万: 31-40 has 1 of 1 (100%), 41-50 has 1 of 3.
    assert text == (
        "分红保单最多的年龄段是 41-50岁，3 件。5-20万保单占比最高的是 31-40岁："
        "1 件，占该年龄段分红保单的 100.00%。"
    )


def test_yields_text_counts_policies_short_of_the_deposit(book):
    from maturity_analysis.analysis.tables import maturity_product_table

    text = narrative.yields_text(maturity_product_table(book), book)
    below = ~book["beats_deposit"].astype("boolean")
    wan = (book["product_type"] == "万能").to_numpy()
    # 分红 only among the policies that matured below the deposit; 万能 (which does not
    # mature) on a line of its own, as the surrender risk
    assert f"分红险共有 **{int(below[~wan].sum())} 件**保单的满期金低于同期存款" in text
    assert f"{int(wan.sum())} 件中 {int(below[wan].sum())} 件账户价值低于同期存款" in text
    assert "**万能**：4 件" in text
    assert text.count("\n- ") + text.startswith("- ") == 3  # one line per product group


def test_risk_text_counts_each_rating(book):
    from maturity_analysis.analysis.risk import risk_table

    table = risk_table(book)
    text = narrative.risk_text(table)
    for rating in "ABC":
        assert (
            f"{rating} 级（{narrative.RATING_NAMES[rating]}）{table.loc['合计', rating]} 件" in text
        )


def test_watchlist_is_masked_and_ordered_by_risk(book):
    shown = narrative.watchlist(book, n=3)
    assert len(shown) == 3 and list(shown.index) == [1, 2, 3]
    assert shown["风险评级"].iloc[0] == "A"
    text = shown.to_string()
    for value in pd.concat([book["holder_name"], book["holder_mobile"], book["policy_no"]]):
        assert value not in text
    top = book.sort_values(["risk_points", "gap_yuan"], ascending=[False, True]).iloc[0]
    assert shown["较存款差额(元)"].iloc[0] == top["gap_yuan"]


@pytest.mark.parametrize("branch", ["ALL", "B02"])
def test_targets_text_compares_with_the_plan_only_for_the_whole_book(book, branch):
    from maturity_analysis.output.workbook import tables_workbook

    goals = tables_workbook(book, branch)["目标"]
    text = narrative.targets_text(goals, branch)
    shown = narrative.targets_view(goals, branch)
    # The plan states 3806 policy conversions for the whole book (PLAN_FIGURES.md, Targets).
    assert ("方案所述 3,806 件" in text) == (branch == "ALL")
    assert ("方案所述件数" in shown.columns) == (branch == "ALL")
    assert ("本网点分得" in text) == (branch != "ALL")


@pytest.mark.parametrize(("period", "phases"), [("2013", 4), ("2013Q2", 1), ("2013-08", 1)])
def test_phases_text_lists_the_phases_of_the_period(book, period, phases):
    from maturity_analysis.analysis.targets import allocate_phases

    text = narrative.phases_text(allocate_phases(book), period)
    assert text.count("\n- ") == phases
    assert ("Q3 提升期" in text) == (period in ("2013", "2013-08"))


@pytest.fixture
def checks():
    rows = [
        ("a", EXACT, ""),
        ("b", EXACT, ""),
        ("c", DISCREPANCY, "原文印作7074，应为7047"),
        ("d", UNVERIFIABLE, "数字已丢失"),
    ]
    return pd.DataFrame(
        [
            {
                "figure": f,
                "source": "Table 1",
                "unit": "件",
                "stated": 1.0,
                "reproduced": 1.0,
                "status": s,
                "explanation": e,
            }
            for f, s, e in rows
        ],
        columns=COLUMNS,
    )


@pytest.mark.parametrize(("branch", "rows"), [("ALL", 4), ("B02", 2)])
def test_reconciliation_is_summarised_and_explained(checks, branch, rows):
    text = narrative.reconciliation_text(checks, branch)
    assert (
        "方案所述的 4 个数字中：一致 2 个，舍入内一致 0 个，近似 0 个，不一致 1 个，无法核实 1 个。"
        in text
    )
    assert "- c：原文印作7074，应为7047" in text
    assert ("不是本网点的数字" in text) == (branch != "ALL")
    assert len(narrative.reconciliation_view(checks, branch)) == rows


def test_reconciliation_text_lists_only_the_first_discrepancies(checks):
    many = pd.concat([checks] * 5, ignore_index=True)  # five discrepancies
    text = narrative.reconciliation_text(many, "ALL", limit=2)
    assert text.count("- c：") == 2
    assert text.endswith("- 另有 3 处不一致，见下表。")


def _exceptions():
    return pd.DataFrame(
        {
            "例外": ["61岁以上客户转保", "61岁以上客户转保", "赔付客户不满50岁"],
            "branch_code": ["B1", "B2", "B1"],
            "policy_no": ["P0000000011", "P0000000022", "P0000000033"],
            "age": [63, 70, 41],
            "amount": [float("nan"), float("nan"), 800.0],
            "branch_name": ["甲所", "<b>乙所</b>", "甲所"],
        }
    )


def test_a_branch_report_lists_each_exception_masked():
    shown = narrative.exceptions_shown(_exceptions().iloc[[0, 2]], "B1")
    assert list(shown.index) == [1, 2]
    assert shown["保单号"].tolist() != ["P0000000011", "P0000000033"]  # masked
    assert shown["例外"].tolist() == ["61岁以上客户转保", "赔付客户不满50岁"]


@pytest.mark.parametrize("unit", ["ALL", "支局:城关支局"])
def test_whole_book_and_sub_branch_reports_count_each_kind_per_branch(unit):
    shown = narrative.exceptions_shown(_exceptions(), unit)
    assert shown.loc[("B1", "甲所"), "61岁以上客户转保"] == 1
    assert shown.loc[("B1", "甲所"), "赔付客户不满50岁"] == 1
    assert shown.loc[("B2", "<b>乙所</b>"), "合计"] == 1
    assert shown.loc["合计", "合计"].item() == 3
    assert "保单号" not in shown.columns and "P0000000011" not in shown.to_string()

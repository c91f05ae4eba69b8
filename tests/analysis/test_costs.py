"""The shortfall against deposits and the compensation estimate, against hand-worked examples.

Replacement premiums are the playbook amounts of PLAN_FIGURES.md, "The age-segment table"
(额度: 20-30 1万/件, 31-40 1-3万/件, 41-50 3万-5万/件, 51-60 5万-10万, 61以上 存款 — no product).
"""

import copy
import tomllib

import numpy as np
import pandas as pd
import pytest

from maturity_analysis import costs
from maturity_analysis.config import PLAN_FILE
from maturity_analysis.exceptions import MaturityDataError, PlanError
from maturity_analysis.plan.bands import age_band
from maturity_analysis.plan.model import parse_plan

H = "高情景(投诉率50%，赔付率30%)"


@pytest.fixture
def raw():
    return tomllib.loads(PLAN_FILE.read_text(encoding="utf-8"))


def plan_with(raw, costs_=None, compensation=None):
    """The shipped plan with [costs] / [compensation] keys replaced (fixed test values)."""
    r = copy.deepcopy(raw)
    r["costs"].update(costs_ or {})
    r["compensation"].update(compensation or {})
    return parse_plan(r, source="test-plan")


SCENARIOS = {
    "low": {"label": "低", "complaint_rate": 0.10, "payout_rate": 0.10},
    "central": {"label": "中", "complaint_rate": 0.25, "payout_rate": 0.20},
    "high": {"label": "高", "complaint_rate": 0.50, "payout_rate": 0.30},
}


@pytest.fixture
def test_plan(raw):
    return plan_with(
        raw,
        {"replacement_amount": "min", "max_discount": 1.0},
        {
            "at_risk_ratings": ["A"],
            "payout_basis": "shortfall",
            "payout_share": 1.0,
            "scenarios": SCENARIOS,
        },
    )


def frame(rows):
    """Policies from (no, branch, age, product, term, maturity_value, deposit_value, rating)."""
    df = pd.DataFrame(
        rows,
        columns=[
            "policy_no",
            "branch_code",
            "age",
            "product_type",
            "term_years",
            "maturity_value",
            "deposit_value",
            "risk_rating",
        ],
    )
    df["branch_name"] = df["branch_code"].map({"B1": "一支局", "B2": "二支局"})
    df["age"] = df["age"].astype("Int64")
    df["age_band"] = age_band(df["age"])
    df["term_years"] = df["term_years"].astype("Int64")
    df["whole_life"] = df["term_years"].isna()
    df["product_name"] = np.where(df["product_type"] == "分红", "千里马", "金账户")
    df["maturity_date"] = pd.Timestamp("2013-05-01")
    return df


@pytest.fixture
def book():
    # hand-worked shortfall (deposit - value) and discount (shortfall / playbook amount_min)
    return frame(
        [
            ("p1", "B1", 25, "分红", 5, 10_200.0, 10_500.0, "B"),  # 300 / 10000 = 3%
            ("p2", "B1", 35, "分红", 5, 200_000.0, 212_000.0, "B"),  # 12000 / 10000 -> capped 100%
            ("p3", "B1", 45, "分红", 5, 10_900.0, 11_500.0, "C"),  # 600 / 30000 = 2%
            ("p4", "B2", 45, "分红", 8, 12_000.0, 11_500.0, "C"),  # beats the deposit: 0
            ("p5", "B2", 55, "万能", None, 20_000.0, 21_000.0, "A"),  # 万能: apart, 1000
            ("p6", "B2", 65, "分红", 5, 9_600.0, 10_000.0, "A"),  # 400, 61以上: no product
        ]
    )


def test_shortfall_and_discount_per_policy(book, test_plan):
    s = costs.shortfall(book, test_plan).set_index("policy_no")
    # 万能 (p5) does not mature: never short, no shortfall; its 1000 below the deposit is
    # the surrender risk, apart
    assert s["short"].tolist() == [True, True, True, False, False, True]
    assert s["shortfall_yuan"].fillna(-1).tolist() == [300.0, 12_000.0, 600.0, 0.0, -1, 400.0]
    assert s["surrender_gap_yuan"].fillna(-1).tolist() == [-1, -1, -1, -1, 1_000.0, -1]
    assert s["replacement_premium"].tolist()[:5] == [
        10_000.0,
        10_000.0,
        30_000.0,
        30_000.0,
        50_000.0,
    ]
    assert s["required_discount"].iloc[:4].tolist() == pytest.approx([0.03, 1.0, 0.02, 0.0])
    assert np.isnan(s.at["p5", "required_discount"])
    assert s["discount_capped"].tolist() == [False, True, False, False, False, False]
    # 61以上: the playbook offers a deposit (保单转存单), not a policy to discount
    assert np.isnan(s.at["p6", "required_discount"]) and np.isnan(s.at["p6", "replacement_premium"])
    assert s["no_replacement"].tolist() == [False] * 5 + [True]


def test_shortfall_does_not_touch_its_input(book, test_plan):
    before = book.copy()
    costs.shortfall(book, test_plan)
    pd.testing.assert_frame_equal(book, before)


@pytest.mark.parametrize(
    ("how", "discount_41_50"), [("min", 600 / 30_000), ("mid", 600 / 40_000), ("max", 600 / 50_000)]
)
def test_replacement_amount_picks_the_playbook_amount(raw, book, how, discount_41_50):
    plan = plan_with(raw, {"replacement_amount": how})
    s = costs.shortfall(book, plan).set_index("policy_no")
    assert s.at["p3", "required_discount"] == pytest.approx(discount_41_50)


def test_the_cap_comes_from_the_plan_file(raw, book):
    s = costs.shortfall(book, plan_with(raw, {"max_discount": 0.25})).set_index("policy_no")
    assert s.at["p2", "required_discount"] == 0.25 and s.at["p2", "discount_capped"]


def test_shortfall_by_age_band(book, test_plan):
    t = costs.shortfall_table(book, "age_band", test_plan)
    assert t.index.tolist() == ["20-30", "31-40", "41-50", "51-60", "61以上", "合计"]
    assert t["件数"].tolist() == [1, 1, 2, 1, 1, 6]
    # 分红 only: the 51-60 万能 policy is not among the short ones nor in the share's base
    assert t["低于存款件数"].tolist() == [1, 1, 1, 0, 1, 4]
    assert t.loc["41-50", "低于存款占比"] == 0.5
    assert np.isnan(t.loc["51-60", "低于存款占比"])
    assert t.loc["合计", "低于存款占比"] == 4 / 5
    assert t["差额合计(元)"].tolist() == [300.0, 12_000.0, 600.0, 0.0, 400.0, 13_300.0]
    assert t.loc["合计", "件均差额(元)"] == 13_300 / 4
    # the average discount is over short policies with a product: (3% + 100% + 2%) / 3
    assert t.loc["合计", "平均所需优惠率"] == pytest.approx(1.05 / 3)
    assert t.loc["合计", "最高所需优惠率"] == 1.0
    assert (t.loc["合计", "优惠封顶件数"], t.loc["合计", "无对接产品件数"]) == (1, 1)
    assert t.loc["51-60", "对接保单保费(元)"] == 50_000
    # 万能 apart: 1 policy, 1 below the deposit by 1000, not in 差额合计
    assert t["万能件数"].tolist() == [0, 0, 0, 1, 0, 1]
    assert t["万能低于存款件数"].tolist() == [0, 0, 0, 1, 0, 1]
    assert t["万能差额合计(元)"].tolist() == [0.0, 0.0, 0.0, 1_000.0, 0.0, 1_000.0]


def test_shortfall_by_product_and_term(book, test_plan):
    t = costs.shortfall_table(book, "product", test_plan)
    assert t.index.tolist() == [("分红", "5年"), ("分红", "8年"), ("万能", "终身"), ("合计", "")]
    assert t["低于存款件数"].tolist() == [4, 0, 0, 4]
    assert t["万能低于存款件数"].tolist() == [0, 0, 1, 1]
    assert t.loc[("分红", "5年"), "差额合计(元)"] == 13_300.0
    assert t.loc[("合计", ""), "差额合计(元)"] == 13_300.0


def test_shortfall_by_maturity_group(book, test_plan):
    t = costs.shortfall_table(book, "maturity_group", test_plan)
    # the plan's groups (千里马 8年期以上 / 5年期以下, 万能); no 其他 when every policy has one
    assert t["件数"].to_dict() == {
        "千里马(8年期以上)": 1,
        "千里马(5年期以下)": 4,
        "万能": 1,
        "合计": 6,
    }


def test_shortfall_by_branch(book, test_plan):
    t = costs.shortfall_table(book, "branch", test_plan)
    assert t.index.tolist() == [("B1", "一支局"), ("B2", "二支局"), ("合计", "")]
    # B2: p4 beats, p6 short by 400 (分红); p5 (万能, 1000) apart
    assert t["差额合计(元)"].tolist() == [12_900.0, 400.0, 13_300.0]
    assert t["低于存款占比"].tolist() == pytest.approx([1.0, 1 / 2, 4 / 5])
    assert t["万能差额合计(元)"].tolist() == [0.0, 1_000.0, 1_000.0]


def test_shortfall_table_rejects_an_unknown_grouping(book):
    with pytest.raises(ValueError, match="by='city'"):
        costs.shortfall_table(book, "city")


def test_shortfall_computes_the_deposit_when_absent(test_plan):
    # deposit_rates.md: 2008-12-23 1-year rate 2.25%, no interest tax after 2008-10-09:
    # 10000 -> 10225.00; a maturity value of 10100 falls short by 125.
    df = pd.DataFrame(
        {
            "premium": [10_000.0],
            "issue_date": pd.to_datetime(["2008-12-23"]),
            "maturity_date": pd.to_datetime(["2009-12-23"]),
            "maturity_value": [10_100.0],
            "age": pd.array([30], dtype="Int64"),
            "product_type": ["分红"],
        }
    )
    df["age_band"] = age_band(df["age"])
    s = costs.shortfall(df, test_plan)
    assert s.loc[0, "shortfall_yuan"] == 125.0
    assert s.loc[0, "required_discount"] == pytest.approx(125 / 10_000)


def test_shortfall_needs_the_age_band(book):
    with pytest.raises(MaturityDataError, match="age_band"):
        costs.shortfall(book.drop(columns="age_band"))


# --- compensation ---------------------------------------------------------------------------


@pytest.fixture
def portfolio():
    # at risk = aged >= 50, below the deposit, rated A
    return frame(
        [
            ("c1", "B1", 55, "分红", 5, 10_000.0, 11_000.0, "A"),  # at risk, 1000
            ("c2", "B1", 50, "分红", 5, 10_000.0, 10_500.0, "A"),  # at risk (50 counts), 500
            ("c3", "B1", 49, "分红", 5, 10_000.0, 10_800.0, "A"),  # too young
            ("c4", "B1", 60, "分红", 5, 12_000.0, 11_000.0, "A"),  # beats the deposit
            ("c5", "B2", 65, "分红", 5, 10_000.0, 12_000.0, "A"),  # at risk, 2000
            ("c6", "B2", 58, "分红", 5, 10_000.0, 10_300.0, "B"),  # not rated high risk
            ("c7", "B2", 70, "分红", 5, 10_000.0, 10_700.0, "C"),  # not rated high risk
        ]
    )


def test_at_risk_policies(portfolio, test_plan):
    risk = costs.at_risk(costs.shortfall(portfolio, test_plan), test_plan)
    assert risk.tolist() == [True, True, False, False, True, False, False]


def test_universal_policies_are_not_in_the_compensation_estimate(portfolio, test_plan):
    # c5 as a 万能 policy (aged 65, A, 2000 below the deposit): it does not mature, so it is not
    # among the policies whose 满期分红 fell below the deposit; B2 is left with no one at risk.
    wan = portfolio.assign(
        product_type=np.where(portfolio["policy_no"] == "c5", "万能", portfolio["product_type"])
    )
    est = costs.compensation_estimate(wan, test_plan)
    assert est[("风险客户", "件数")].tolist() == [2, 0, 2]
    assert est[("风险客户", "赔付基数合计(元)")].tolist() == [1_500.0, 0.0, 1_500.0]


@pytest.mark.parametrize(
    ("header", "complaints", "payouts", "cost"),
    [
        # B1: 2 at risk, 1500 元; B2: 1 at risk, 2000 元; complaints = at risk x 投诉率,
        # payouts = complaints x 赔付率, both rounded half up to whole 件; cost = payout
        # amounts x 投诉率 x 赔付率. Low: 0.2, 0.1, 0.3 -> 0; payouts 0.02.. -> 0.
        ("低情景(投诉率10%，赔付率10%)", [0, 0, 0], [0, 0, 0], [15.0, 20.0, 35.0]),
        # central: complaints 0.5, 0.25, 0.75 -> 1, 0, 1; payouts 0.1, 0.05, 0.15 -> 0
        ("中情景(投诉率25%，赔付率20%)", [1, 0, 1], [0, 0, 0], [75.0, 100.0, 175.0]),
        # high: complaints 1.0, 0.5, 1.5 -> 1, 1, 2; payouts 0.3, 0.15, 0.45 -> 0
        (H, [1, 1, 2], [0, 0, 0], [225.0, 300.0, 525.0]),
    ],
)
def test_compensation_estimate_per_scenario(
    portfolio, test_plan, header, complaints, payouts, cost
):
    est = costs.compensation_estimate(portfolio, test_plan)
    assert est.index.tolist() == [("B1", "一支局"), ("B2", "二支局"), ("合计", "")]
    assert est[("风险客户", "件数")].tolist() == [2, 1, 3]
    assert est[("风险客户", "赔付基数合计(元)")].tolist() == [1_500.0, 2_000.0, 3_500.0]
    assert est[(header, "预计投诉件数")].tolist() == complaints
    assert est[(header, "预计赔付件数")].tolist() == payouts
    assert est[(header, "预计赔付金额(元)")].tolist() == pytest.approx(cost)


def test_scenarios_sit_side_by_side_in_file_order(portfolio, test_plan):
    est = costs.compensation_estimate(portfolio, test_plan)
    assert list(dict.fromkeys(est.columns.get_level_values(0))) == [
        "满期保单",
        "风险客户",
        "低情景(投诉率10%，赔付率10%)",
        "中情景(投诉率25%，赔付率20%)",
        H,
    ]
    assert "实际" not in est.columns.get_level_values(0)


def test_fixed_amount_and_share_per_payout(raw, portfolio):
    plan = plan_with(
        raw,
        compensation={
            "payout_basis": "fixed",
            "payout_fixed_yuan": 3_000,
            "payout_share": 0.5,
            "scenarios": SCENARIOS,
        },
    )
    est = costs.compensation_estimate(portfolio, plan)
    # 3 at risk x (3000 元 x share 0.5) x 投诉率 0.5 x 赔付率 0.3
    assert est.loc[("合计", ""), (H, "预计赔付金额(元)")] == pytest.approx(675.0)


def test_actual_compensation_sits_beside_the_estimate(portfolio, test_plan):
    complaints = pd.DataFrame(
        {
            "complaint_date": pd.to_datetime(
                ["2013-05-03", "2013-05-20", "2013-06-02", "2013-08-01"]
            ),
            "policy_no": ["c1", "c5", "c6", "c2"],
            "compensated": [True, False, True, True],
            "compensation": [900.0, 0.0, 300.0, 500.0],
            "branch_code": ["B1", "B2", "B2", "B1"],
        }
    )
    est = costs.compensation_estimate(portfolio, test_plan, complaints=complaints, period="2013Q2")
    # Q2 complaints only: c2's payment in August falls outside the period
    assert est[("实际", "投诉件数")].tolist() == [1, 2, 3]
    assert est[("实际", "赔付件数")].tolist() == [1, 1, 2]
    assert est[("实际", "赔付金额(元)")].tolist() == [900.0, 300.0, 1_200.0]
    # every policy matures 2013-05-01, inside Q2: the estimate is the full one
    assert est.loc[("合计", ""), ("风险客户", "件数")] == 3


def test_period_limits_the_estimate_to_policies_maturing_in_it(portfolio, test_plan):
    est = costs.compensation_estimate(portfolio, test_plan, period="2013Q1")
    assert est[("满期保单", "件数")].tolist() == [0]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"payout_basis": "premium"}, "compensation.payout_basis"),
        ({"payout_basis": "fixed", "payout_fixed_yuan": 0}, "compensation.payout_fixed_yuan"),
        (
            {"scenarios": {"x": {"complaint_rate": 1.5, "payout_rate": 0.1}}},
            "compensation.scenarios.x.complaint_rate",
        ),
        ({"at_risk_ratings": []}, "compensation.at_risk_ratings"),
    ],
)
def test_a_bad_compensation_setting_names_the_key(raw, portfolio, change, key):
    with pytest.raises(PlanError, match=key.replace(".", r"\.")):
        costs.compensation_estimate(portfolio, plan_with(raw, compensation=change))


@pytest.mark.parametrize(
    ("change", "key"),
    [({"replacement_amount": "avg"}, "replacement_amount"), ({"max_discount": 0}, "max_discount")],
)
def test_a_bad_costs_setting_names_the_key(raw, book, change, key):
    with pytest.raises(PlanError, match=f"costs.{key}"):
        costs.shortfall(book, plan_with(raw, change))


def test_shipped_scenarios_rise_from_low_to_high():
    sc = costs.compensation_scenarios()
    assert sc.index.tolist() == ["low", "central", "high"]
    assert sc["综合赔付率"].is_monotonic_increasing
    # the central payout rate is what the 80% complaint-satisfaction target leaves (三、目标)
    assert sc.loc["central", "赔付率"] == pytest.approx(1 - 0.80)


# --- charts ------------------------------------------------------------------------------------


def test_shortfall_chart_draws_a_bar_per_group(book, test_plan):
    import matplotlib

    matplotlib.use("Agg")
    from maturity_analysis.output.plots import shortfall_chart

    ax = shortfall_chart(costs.shortfall_table(book, "age_band", test_plan))
    heights = [round(b.get_height(), 4) for b in ax.patches]
    assert heights == [0.03, 1.2, 0.06, 0.0, 0.04]  # 万元, 20-30 .. 61以上 (万能 apart)
    assert [t.get_text() for t in ax.texts][-1] == "无对接产品"


def test_compensation_chart_shows_each_scenario_and_the_paid(portfolio, test_plan):
    import matplotlib

    matplotlib.use("Agg")
    from maturity_analysis.output.plots import compensation_chart

    complaints = pd.DataFrame(
        {
            "complaint_date": pd.to_datetime(["2013-05-03"]),
            "policy_no": ["c1"],
            "compensated": [True],
            "compensation": [900.0],
            "branch_code": ["B1"],
        }
    )
    est = costs.compensation_estimate(portfolio, test_plan, complaints=complaints)
    ax = compensation_chart(est)
    assert [round(b.get_height(), 4) for b in ax.patches] == [0.0035, 0.0175, 0.0525, 0.09]


def test_tables_workbook_carries_the_cost_and_programme_sheets(make_policies):
    from maturity_analysis.output.workbook import tables_workbook

    policies = make_policies(
        [
            {"age": 55, "maturity_value": 10_100.0},
            {"age": 30, "branch_code": "B02", "branch_name": "网点二"},
        ]
    )
    complaints = pd.DataFrame(
        {
            "complaint_date": pd.to_datetime(["2013-04-01"]),
            "policy_no": ["P000000"],
            "compensated": [True],
            "compensation": [500.0],
            "branch_code": ["B01"],
        }
    )
    sheets = tables_workbook(policies, complaints=complaints)
    assert {
        "低于存款差额(年龄)",
        "低于存款差额(险种期限)",
        "低于存款差额(网点)",
        "赔付情景",
        "赔付预估",
        "推动的阶段性安排",
        "培训内容",
        "12月份行事历",
        "附件一至五",
    } <= set(sheets)
    assert sheets["赔付预估"].loc[("合计", ""), ("实际", "赔付金额(元)")] == 500.0
    assert sheets["低于存款差额(网点)"].index.tolist() == [
        ("B01", "网点一"),
        ("B02", "网点二"),
        ("合计", ""),
    ]


# --- report text ---------------------------------------------------------------------------------


def test_shortfall_text_states_the_totals(book, test_plan):
    text = costs.shortfall_text(costs.shortfall_table(book, "age_band", test_plan))
    # 分红: 4 of 5 short (80.00%), 13,300 元 = 1.33 万元, 3,325 元 each; discounts 3%, 100%,
    # 2% (average 35.00%); 万能 apart: 1 of 1 below the deposit by 1000 元 = 0.10 万元
    for part in (
        "5 件分红险满期保单",
        "4 件(80.00%)",
        "1.33 万元",
        "3,325.00 元",
        "35.00%",
        "100.00%",
        "1 件差额超过对接保单保费",
        "另有 1 件",
        "万能险为终身产品，不满期，不计入上述差额：1 件中 1 件账户价值低于同期存款(差额 0.10 万元)",
    ):
        assert part in text


def test_shortfall_text_without_any_shortfall(book, test_plan):
    fine = book[book["policy_no"] == "p4"]
    assert costs.shortfall_text(costs.shortfall_table(fine, "branch", test_plan)) == (
        "1 件分红险满期保单中没有满期金低于同期存款的保单。"
    )


def test_compensation_text_names_each_scenario_and_the_paid(portfolio, test_plan):
    complaints = pd.DataFrame(
        {
            "complaint_date": pd.to_datetime(["2013-05-03"]),
            "policy_no": ["c1"],
            "compensated": [True],
            "compensation": [900.0],
            "branch_code": ["B1"],
        }
    )
    est = costs.compensation_estimate(portfolio, test_plan, complaints=complaints)
    text = costs.compensation_text(est, test_plan)
    for part in (
        "50岁以上",
        "评级A) 3 件",
        "0.35 万元",
        # expected payouts 0.03, 0.15, 0.45 件: under one each, said so rather than as fractions
        "低情景预计赔付不足 1 件、0.00 万元",
        "中情景预计赔付不足 1 件、0.02 万元",
        "高情景预计赔付不足 1 件、0.05 万元",
        "投诉 1 件，赔付 1 件、0.09 万元",
    ):
        assert part in text


@pytest.mark.parametrize(("calls", "expected_none"), [(0, True), (1, False)])
def test_paid_complaints_only_when_there_is_tracking_data(calls, expected_none):
    from maturity_analysis.ingest.forms import Tracking, empty

    tracking = Tracking(calls=empty("calls").reindex(range(calls)))
    got = costs.paid_complaints(tracking)
    assert (got is None) is expected_none
    if got is not None:
        assert got.empty


def test_observed_rates_sit_beside_the_assumed_scenarios(portfolio, test_plan):
    # at risk: c1, c2, c5 (3). Complaints: c1 paid, c5 not paid, c6 (not at risk) paid.
    # observed 投诉率 2/3, 赔付率 1/2 of those complaining, 综合 1/3.
    complaints = pd.DataFrame(
        {
            "complaint_date": pd.to_datetime(["2013-05-03", "2013-05-20", "2013-06-02"]),
            "policy_no": ["c1", "c5", "c6"],
            "compensated": [True, False, True],
            "compensation": [900.0, 0.0, 300.0],
            "branch_code": ["B1", "B2", "B2"],
        }
    )
    seen = costs.observed_rates(portfolio, complaints, test_plan)
    assert seen[["风险客户件数", "投诉件数", "赔付件数"]].tolist() == [3, 2, 1]
    assert seen[["投诉率", "赔付率", "综合赔付率"]].tolist() == pytest.approx([2 / 3, 1 / 2, 1 / 3])
    sc = costs.compensation_scenarios(test_plan, seen)
    assert sc["情景"].tolist() == ["低", "中", "高", "实际"]
    assert sc.loc["observed", "投诉率"] == pytest.approx(2 / 3)
    est = costs.compensation_estimate(portfolio, test_plan, complaints=complaints)
    text = costs.compensation_text(est, test_plan, seen)
    assert "风险客户 3 件有 2 件投诉(实际投诉率 66.67%)，赔付 1 件(占投诉的 50.00%)" in text

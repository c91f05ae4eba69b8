"""Each KPI function of kpis.py on a few hand-built rows, the answer worked out beside them.

The plan's defaults: 保单转换 base 分红 aged 20-60 at maturity, 存款转换 base all 分红 (三、目标:
4,871 = 30% of all 16,236), persistency base 万能 (on recorded outcomes);
targets 20% / 30% / 60% / 80%; answers within 7 days; 20 calls per team-day; compensation
to customers aged 50 and over; 附件一 answer ``未接通`` = not reached. Periods are 2013Q2
(1 April - 30 June) unless a test says otherwise.
"""

import dataclasses
import math

import pandas as pd
import pytest

from maturity_analysis.analysis import kpis
from maturity_analysis.analysis.kpis import KPIS, Measure, Unit
from maturity_analysis.ingest.forms import Tracking, frame
from maturity_analysis.plan.model import load_plan
from maturity_analysis.plan.period import parse_period

PLAN = load_plan()


def policies(rows):
    """A book from ``(policy_no, product_type, maturity_date, age)`` rows, all branch B1."""
    from conftest import build_policies

    book = build_policies(
        [
            {
                "branch_code": "B1",
                "product_type": p,
                "maturity_date": m,
                "age": a,
                "term_years": None if p == "万能" else 5,
            }
            for _, p, m, a in rows
        ]
    )
    book["policy_no"] = [r[0] for r in rows]
    return book


def unit(book=None, period="2013Q2", goals=None, plan=PLAN, other_goals=None, **records):
    """A Unit of ``book`` (default: one policy due in 2012) whose tracking frames are built
    from ``records`` (kind → rows)."""
    book = policies([("Z", "分红", "2012-12-31", 40)]) if book is None else book
    frames = {
        kind: frame(kind, [{"branch_code": "B1"} | r for r in rows])
        for kind, rows in records.items()
    }
    return Unit(
        book, Tracking(**frames), parse_period(period, plan), plan, goals or {}, other_goals or {}
    )


# --- 保单转换 / 存款转换 -------------------------------------------------------------------------

CONVERSION_BOOK = [
    ("A", "分红", "2013-05-10", 40),  # in base, due: 转保
    ("B", "分红", "2013-05-10", 40),  # in base, due: 转保
    ("C", "分红", "2013-06-30", 60),  # in base (60 is inclusive), due: 转存
    ("D", "分红", "2013-04-01", 20),  # in base, due: 领取 first, a later 转保 row is ignored
    ("E", "分红", "2013-05-10", 61),  # too old: outside the base, its 转保 does not count
    ("F", "万能", "2013-05-10", 40),  # not 分红: outside the base
    ("G", "分红", "2013-07-01", 40),  # in base but due in Q3: not counted
]
CONVERSION_OUTCOMES = [
    {"policy_no": "A", "outcome": "转保"},
    {"policy_no": "B", "outcome": "转保"},
    {"policy_no": "C", "outcome": "转存"},
    {"policy_no": "D", "outcome": "领取"},
    {"policy_no": "D", "outcome": "转保"},
    {"policy_no": "E", "outcome": "转保"},
    {"policy_no": "F", "outcome": "转保"},
    {"policy_no": "G", "outcome": "转保"},
]


@pytest.fixture(scope="module")
def conversions():
    goals = {"policy_conversion": 3, "deposit_conversion": 1}
    return unit(policies(CONVERSION_BOOK), goals=goals, outcomes=CONVERSION_OUTCOMES)


def test_policy_conversion(conversions):
    # Base due: A, B, C, D = 4; 转保: A, B = 2; against the 3 allocated (share 3/4).
    m = kpis.policy_conversion(conversions)
    assert (m.value, m.target, m.num, m.den, m.share) == (2, 3, 2, 4, 0.75)
    assert "转换率50.0%" in m.note and "占本期基数4件的75.0%" in m.note


def test_deposit_conversion_on_all_participating(conversions):
    # 存款转换's base is every 分红 due, E (61) included: A, B, C, D, E = 5; 转存: C only.
    m = kpis.deposit_conversion(conversions)
    assert (m.value, m.target, m.num, m.den, m.share) == (1, 1, 1, 5, 0.2)


def test_conversion_in_a_month(conversions):
    # May: A, B due in the 保单转换 base (C matures in June, D in April); both 转保.
    may = dataclasses.replace(conversions, period=parse_period("2013-05", PLAN))
    assert (kpis.policy_conversion(may).num, kpis.policy_conversion(may).den) == (2, 2)
    assert (kpis.deposit_conversion(may).num, kpis.deposit_conversion(may).den) == (0, 3)  # +E


def test_conversion_needs_its_allocated_target(conversions):
    m = kpis.policy_conversion(dataclasses.replace(conversions, goals={}))
    assert math.isnan(m.target) and math.isnan(m.value)


def test_progress_against_the_count_that_does_not_bind(conversions):
    # 三、目标: 保单转换 binds on its rate; the plan's 3,806 is shown as progress only.
    other = dataclasses.replace(conversions, other_goals={"policy_conversion": 5})
    m = kpis.policy_conversion_other(other)
    assert (m.value, m.target, m.den) == (2, 5, 4) and "不作考核" in m.note
    assert math.isnan(kpis.policy_conversion_other(conversions).target)  # none given


def test_exceptions_of_the_plans_rules():
    # 60岁以上客户已不适合购买保险产品: E (61) 转保 is an exception; compensation to A (40).
    book = policies(CONVERSION_BOOK)
    complaints = [complaint("A", "2013-04-01", "2013-04-03", compensated=True, amount=300)]
    u = unit(book, outcomes=CONVERSION_OUTCOMES, complaints=complaints)
    rows = kpis.exceptions(u)
    assert rows[["例外", "policy_no", "age"]].values.tolist() == [
        ["赔付客户不满50岁", "A", 40],
        ["61岁以上客户转保", "E", 61],
    ]
    assert kpis.young_compensation(u).value == 1 and kpis.old_switched(u).value == 1


# --- 万能险保单持有率 ------------------------------------------------------------------------------


def test_persistency_on_recorded_outcomes():
    book = policies(
        [
            ("U1", "万能", "2013-04-15", 70),  # 续持: kept
            ("U2", "万能", "2013-05-15", 45),  # 退保
            ("U3", "万能", "2013-06-15", 30),  # nothing recorded: 未记录, counted apart
            ("U4", "万能", "2013-06-15", 30),  # 领取
            ("U6", "万能", "2013-06-15", 30),  # 续持
            ("U5", "万能", "2013-09-15", 30),  # due in Q3: not in the base
            ("H1", "分红", "2013-05-15", 40),  # 分红: not in the base
        ]
    )
    outcomes = [
        {"policy_no": "U1", "outcome": "续持"},
        {"policy_no": "U2", "outcome": "退保"},
        {"policy_no": "U4", "outcome": "领取"},
        {"policy_no": "U6", "outcome": "续持"},
        {"policy_no": "U5", "outcome": "退保"},
    ]
    # Issue #11: U3 was counted as kept (3/5 = 60%, 达标). Recorded U1, U2, U4, U6: kept 2 of
    # 4 = 50%; coverage 4/5 = 80%, at the plan file's 80% threshold: a verdict, not 数据不全.
    m = kpis.persistency(unit(book, outcomes=outcomes))
    assert (m.value, m.target, m.num, m.den, m.verdict) == (0.5, 0.6, 2, 4, None)
    assert "覆盖率80.0%" in m.note and "未记录1件不计入" in m.note
    assert "若未记录的均未持有为40.0%，均持有为60.0%" in m.note
    # One more unrecorded (U6's row gone): coverage 3/5 = 60% < 80% → 数据不全.
    fewer = [o for o in outcomes if o["policy_no"] != "U6"]
    low = kpis.persistency(unit(book, outcomes=fewer))
    assert (low.num, low.den, low.verdict) == (1, 3, "数据不全")


def test_persistency_without_outcomes_is_no_data():
    book = policies([("U1", "万能", "2013-04-15", 70)])
    assert kpis.persistency(unit(book)).verdict == "无数据"  # no 满期去向 rows at all
    other = [{"policy_no": "Z", "outcome": "领取"}]  # outcomes exist, none for U1
    m = kpis.persistency(unit(book, outcomes=other))
    assert m.verdict == "无数据" and math.isnan(m.value)


# --- 投诉处理满意度 / 一周内答复率 ---------------------------------------------------------------


def complaint(policy, made, answered=None, surrender=False, compensated=False, amount=None):
    return {
        "policy_no": policy,
        "complaint_date": made,
        "answer_date": answered,
        "irregular_surrender": surrender,
        "compensated": compensated,
        "compensation": amount,
    }


def test_complaint_satisfaction():
    complaints = [
        complaint("A", "2013-04-01", "2013-04-03"),  # A: two complaints, both answered well
        complaint("A", "2013-05-01", "2013-05-02"),
        complaint("B", "2013-04-10", "2013-04-12", surrender=True),  # B: 非常规退保
        complaint("C", "2013-04-10", "2013-04-30", compensated=True, amount=500),  # C: 赔偿
        complaint("D", "2013-06-01", "2013-06-02"),  # D: one answered, one open → pending
        complaint("D", "2013-06-20"),
        complaint("E", "2013-03-31", "2013-04-02", surrender=True),  # E: in Q1, not counted
    ]
    # Handled customers A, B, C; satisfied A → 1/3 against 80%; D pending.
    assert kpis.complaint_satisfaction(unit(complaints=complaints)) == Measure(
        1 / 3, 0.8, num=1, den=3, note="按客户计，未处理至非常规退保或赔偿为满意；另1人待答复"
    )


def test_complaint_satisfaction_without_pending_or_complaints():
    done = [complaint("A", "2013-04-01", "2013-04-03")]
    assert kpis.complaint_satisfaction(unit(complaints=done)) == Measure(
        1.0, 0.8, num=1, den=1, note="按客户计，未处理至非常规退保或赔偿为满意"
    )
    none = kpis.complaint_satisfaction(unit())
    assert math.isnan(none.value) and none.verdict == "无数据"  # no 附件二 at all


def test_answered_in_time():
    complaints = [
        complaint("A", "2013-04-01", "2013-04-01"),  # the same day: in time
        complaint("B", "2013-04-01", "2013-04-08"),  # 7 days: in time
        complaint("C", "2013-04-01", "2013-04-09"),  # 8 days: late
        complaint("D", "2013-06-30"),  # not answered: not in time
        complaint("E", "2013-07-01", "2013-07-20"),  # Q3, not counted
    ]
    u = unit(complaints=complaints)
    # 2 of 4 against 100%; one unanswered.
    assert kpis.answered_in_time(u) == Measure(0.5, 1.0, num=2, den=4, note="未答复1件")
    # The window is the plan's: with 8 days, C is in time too.
    eight = dataclasses.replace(PLAN, complaint_answer_days=8)
    assert kpis.answered_in_time(unit(plan=eight, complaints=complaints)).num == 3


# --- 日均回访量 / 回访不足天数 -------------------------------------------------------------------

WORKLOG = [
    {"team": "第1组", "work_date": "2013-04-01", "calls": 22},
    {"team": "第1组", "work_date": "2013-04-02", "calls": 18},  # short
    {"team": "第1组", "work_date": "2013-04-04", "calls": 30},  # 清明: not a working day
    {"team": "第1组", "work_date": "2013-04-07", "calls": 20},  # Sunday worked (调休): counts
    {"team": "第2组", "work_date": "2013-04-01", "calls": 20},  # exactly 20: not short
    {"team": "第1组", "work_date": "2013-03-29", "calls": 5},  # Q1: not counted
]


CALLS = [  # 附件一: the evidence
    {"policy_no": "Z", "team": "第1组", "call_date": "2013-04-01", "intent": "考虑中"},
    {"policy_no": "Z", "team": "第1组", "call_date": "2013-04-01", "intent": "未接通"},
    {"policy_no": "Z", "team": "第2组", "call_date": "2013-04-02", "intent": "考虑中"},
    {"policy_no": "Z", "call_date": "2013-04-03", "intent": "考虑中"},  # no team: 第1组
    {"policy_no": "Z", "team": "第1组", "call_date": "2013-04-04", "intent": "考虑中"},  # 清明
]


def test_calls_per_team_day():
    # Q2 2013 has 62 working days; teams 第1组, 第2组 → 124 team-days, a day without a log or a
    # call counts zero. 附件一 on working days: 4 calls (4-4 is 清明) → 4 / 124.
    m = kpis.calls_per_team_day(unit(calls=CALLS, worklog=WORKLOG))
    assert (m.value, m.target, m.num, m.den) == (4 / 124, 20, 4, 124)
    # 附件三 claims 22 + 18 + 20 + 20 = 80 (清明 and Q1 left out): more than recorded, flagged.
    assert "附件一记录4访，附件三申报80访，申报多于记录76访，需核实" in m.note
    assert kpis.calls_claimed_over(unit(calls=CALLS, worklog=WORKLOG)).value == 76


def test_calls_per_team_day_counts_with_thousands_separated():
    """The note reads as the table's figures do: 12,750 team-days, not 12750."""
    grid = pd.DataFrame(
        {"branch_code": "B1", "team": ["T"] * 1250 + ["U"] * 1250, "recorded": 1, "claimed": 0}
    )
    u = dataclasses.replace(unit(), sources=frozenset({"calls"}), grid=grid)
    assert kpis.calls_per_team_day(u).note.startswith(
        "2个团队，2,500个团队工作日；附件一记录2,500访"
    )


def test_calls_per_team_day_without_forms_is_no_data():
    m = kpis.calls_per_team_day(unit())
    assert math.isnan(m.value) and m.verdict == "无数据"


def test_team_days_short():
    # Every team-day has fewer than 20 recorded calls: 124 of 124.
    assert kpis.team_days_short(unit(calls=CALLS, worklog=WORKLOG)) == Measure(
        124, 0, num=124, den=124
    )


# --- 满期前回访率 ---------------------------------------------------------------------------------


def test_phoned_before_maturity():
    book = policies(
        [
            ("A", "分红", "2013-05-10", 40),  # reached 1 April: before
            ("B", "分红", "2013-05-10", 40),  # 未接通 in April, reached after maturity: no
            ("C", "分红", "2013-05-10", 40),  # reached on the maturity date itself: not before
            ("D", "万能", "2013-05-10", 40),  # never called: no
            ("E", "分红", "2013-05-10", 40),  # 未接通 first, reached 15 April: before
            ("F", "分红", "2013-08-10", 40),  # due in Q3: not in the base
        ]
    )
    calls = [
        {"policy_no": "A", "call_date": "2013-04-01", "intent": "考虑中"},
        {"policy_no": "B", "call_date": "2013-04-01", "intent": "未接通"},
        {"policy_no": "B", "call_date": "2013-05-20", "intent": "考虑中"},
        {"policy_no": "C", "call_date": "2013-05-10", "intent": "考虑中"},
        {"policy_no": "E", "call_date": "2013-04-01", "intent": "未接通"},
        {"policy_no": "E", "call_date": "2013-04-15", "intent": "继续持有"},
        {"policy_no": "F", "call_date": "2013-04-01", "intent": "考虑中"},
    ]
    # A and E of A-E = 40%, against 100%.
    assert kpis.phoned_before_maturity(unit(book, calls=calls)) == Measure(
        0.4, 1.0, num=2, den=5, note="有效回访(客户意向不为未接通)早于满期日"
    )


# --- 赔偿金额 --------------------------------------------------------------------------------------


def test_compensation_paid():
    book = policies([("A", "分红", "2013-05-10", 40), ("B", "分红", "2013-05-10", 55)])
    complaints = [
        complaint("A", "2013-04-01", "2013-04-03", compensated=True, amount=1500),  # aged 40
        complaint("B", "2013-04-01", "2013-04-03", compensated=True, amount=2500.5),  # aged 55
        complaint("B", "2013-05-01", "2013-05-03"),  # not compensated
        complaint("A", "2013-05-01", "2013-05-03", compensated=None),  # not recorded: not paid
        complaint("X", "2013-06-01", "2013-06-03", compensated=True, amount=100),  # age unknown
        complaint("A", "2013-03-01", "2013-03-03", compensated=True, amount=999),  # Q1
    ]
    u = unit(book, complaints=complaints)
    m = kpis.compensation_paid(u)
    # 1500 + 2500.5 + 100, three paid of five complaints; one to a customer under 50 (A).
    assert (m.value, m.num, m.den, m.note) == (4100.5, 3, 5, "赔偿3件")
    assert math.isnan(m.target)
    assert kpis.young_compensation(u).value == 1


def test_compensation_paid_to_older_customers_only():
    book = policies([("B", "分红", "2013-05-10", 55)])
    complaints = [complaint("B", "2013-04-01", compensated=True, amount=800)]
    m = kpis.compensation_paid(unit(book, complaints=complaints))
    assert (m.value, m.num, m.den, m.note) == (800.0, 1, 1, "赔偿1件")


def test_notes_separate_thousands():
    book = policies([("B", "分红", "2013-05-10", 55)])
    complaints = [complaint("B", "2013-04-01", compensated=True, amount=1)] * 1200
    m = kpis.compensation_paid(unit(book, complaints=complaints))
    assert (m.value, m.num, m.note) == (1200.0, 1200, "赔偿1,200件")  # as the tables write 1,200
    waiting = unit(book, complaints=[complaint(f"P{i}", "2013-04-01") for i in range(1200)])
    assert kpis.answered_in_time(waiting).note == "未答复1,200件"
    assert kpis.complaint_satisfaction(waiting).note.endswith("；另1,200人待答复")


# --- the table ------------------------------------------------------------------------------------


def test_the_table_in_the_summarys_order():
    # One KPI per conversion target (issue #11: a count and a rate verdict could disagree).
    assert [(k.key, k.title(PLAN), k.unit) for k in KPIS] == [
        ("policy_conversion", "保单转换", "件"),
        ("policy_conversion_other", "保单转换(方案所述件数)", "件"),
        ("deposit_conversion", "存款转换", "件"),
        ("persistency", "万能险保单持有率", "%"),
        ("complaint_satisfaction", "投诉处理满意度", "%"),
        ("answered_in_time", "7天内答复率", "%"),
        ("calls_per_team_day", "日均回访量(每团队)", "访"),
        ("team_days_short", "回访不足20访的团队日", "天"),
        ("calls_claimed_over", "工作日志多报回访量", "次"),
        ("phoned_before_maturity", "满期前回访率", "%"),
        ("compensation_paid", "赔偿金额", "元"),
        ("young_compensation", "例外：赔付客户不满50岁", "件"),
        ("old_switched", "例外：高龄客户转保", "件"),
    ]
    assert all(k.measure is getattr(kpis, k.key) for k in KPIS)  # each KPI's function
    assert [k.key for k in KPIS if k.rate] == [k.key for k in KPIS if k.unit == "%"]
    assert [k.key for k in KPIS if not k.higher] == ["team_days_short"]
    assert [k.key for k in KPIS if not k.judged] == ["policy_conversion_other"]


def test_labels_follow_the_plan():
    plan = dataclasses.replace(PLAN, complaint_answer_days=5, calls_per_day=25)
    titles = {k.key: k.title(plan) for k in KPIS}
    assert titles["answered_in_time"] == "5天内答复率"
    assert titles["team_days_short"] == "回访不足25访的团队日"


@pytest.mark.parametrize("kpi", KPIS, ids=lambda k: k.key)
def test_every_kpi_without_tracking(kpi):
    # A due 分红 and a due 万能 policy and no tracking rows: 无数据, never a measured 0% or 100%.
    book = policies([("A", "分红", "2013-05-10", 40), ("U", "万能", "2013-05-10", 40)])
    goals = {"policy_conversion": 1, "deposit_conversion": 1}
    m = kpi.measure(unit(book, goals=goals, other_goals={"policy_conversion": 2}))
    assert m.verdict == "无数据" and math.isnan(m.value)


def test_the_units_frames_of_the_period():
    book = policies([("A", "分红", "2013-03-31", 40), ("B", "分红", "2013-04-01", 40)])
    outcomes = [{"policy_no": "B", "outcome": "转存"}, {"policy_no": "B", "outcome": "转保"}]
    u = unit(book, outcomes=outcomes)
    assert u.due["policy_no"].tolist() == ["B"]
    pd.testing.assert_index_equal(u.outcome.index, u.due.index)
    assert u.outcome.tolist() == ["转存"]  # the first recorded

"""Each KPI function of kpis.py on a few hand-built rows, the answer worked out beside them.

The plan's defaults: conversion bases 分红 aged 20-60 at maturity, persistency base 万能;
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


def unit(book=None, period="2013Q2", goals=None, plan=PLAN, **records):
    """A Unit of ``book`` (default: one policy due in 2012) whose tracking frames are built
    from ``records`` (kind → rows)."""
    book = policies([("Z", "分红", "2012-12-31", 40)]) if book is None else book
    frames = {
        kind: frame(kind, [{"branch_code": "B1"} | r for r in rows])
        for kind, rows in records.items()
    }
    return Unit(book, Tracking(**frames), parse_period(period, plan), plan, goals or {})


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


def test_policy_conversion_count(conversions):
    # Base due: A, B, C, D = 4; 转保: A, B = 2; against the 3 allocated.
    assert kpis.policy_conversion_count(conversions) == Measure(
        2, 3, num=2, den=4, note="满期去向为转保；目标为分配到本期的件数"
    )


def test_policy_conversion_rate(conversions):
    # 2 of 4 = 50%, against the plan's 20%; no note.
    assert kpis.policy_conversion_rate(conversions) == Measure(0.5, 0.2, num=2, den=4)


def test_deposit_conversion_count(conversions):
    # 转存: C only, against the 1 allocated.
    assert kpis.deposit_conversion_count(conversions) == Measure(
        1, 1, num=1, den=4, note="满期去向为转存；目标为分配到本期的件数"
    )


def test_deposit_conversion_rate(conversions):
    assert kpis.deposit_conversion_rate(conversions) == Measure(0.25, 0.3, num=1, den=4)


def test_conversion_in_a_month(conversions):
    # May: A, B due in the base (C matures in June, D in April); both 转保.
    may = dataclasses.replace(conversions, period=parse_period("2013-05", PLAN))
    assert kpis.policy_conversion_rate(may) == Measure(1.0, 0.2, num=2, den=2)
    assert kpis.deposit_conversion_rate(may) == Measure(0.0, 0.3, num=0, den=2)


def test_conversion_count_needs_its_allocated_target():
    with pytest.raises(KeyError, match="policy_conversion"):
        kpis.policy_conversion_count(unit(policies(CONVERSION_BOOK)))


# --- 万能险保单持有率 ------------------------------------------------------------------------------


def test_persistency():
    book = policies(
        [
            ("U1", "万能", "2013-04-15", 70),  # 续持: kept
            ("U2", "万能", "2013-05-15", 45),  # 退保
            ("U3", "万能", "2013-06-15", 30),  # nothing recorded: kept (in force)
            ("U4", "万能", "2013-06-15", 30),  # 领取
            ("U5", "万能", "2013-09-15", 30),  # due in Q3: not in the base
            ("H1", "分红", "2013-05-15", 40),  # 分红: not in the base
        ]
    )
    outcomes = [
        {"policy_no": "U1", "outcome": "续持"},
        {"policy_no": "U2", "outcome": "退保"},
        {"policy_no": "U4", "outcome": "领取"},
        {"policy_no": "U5", "outcome": "退保"},
    ]
    # Kept U1, U3 of U1-U4 = 50%, against 60%; U3 counted as kept, so the note says so.
    assert kpis.persistency(unit(book, outcomes=outcomes)) == Measure(
        0.5, 0.6, num=2, den=4, note="含未登记去向1件(按续持计)"
    )
    recorded = outcomes + [{"policy_no": "U3", "outcome": "续持"}]
    assert kpis.persistency(unit(book, outcomes=recorded)) == Measure(0.5, 0.6, num=2, den=4)


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
    assert math.isnan(none.value) and (none.num, none.den) == (0, 0)


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


def test_calls_per_team_day():
    # (22 + 18 + 20 + 20) / 4 team-days = 20.0, against 20; two teams.
    assert kpis.calls_per_team_day(unit(worklog=WORKLOG)) == Measure(
        20.0, 20, num=80.0, den=4, note="2个团队，4个团队工作日(附件三)"
    )


def test_calls_per_team_day_without_a_log():
    m = kpis.calls_per_team_day(unit())
    assert math.isnan(m.value)
    assert (m.target, m.num, m.den, m.note) == (20, 0.0, 0, "0个团队，0个团队工作日(附件三)")


def test_team_days_short():
    # 18 only (the 30 of 清明 and the 5 of Q1 are not counted either way); target none short.
    assert kpis.team_days_short(unit(worklog=WORKLOG)) == Measure(1, 0, num=1, den=4)


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
    m = kpis.compensation_paid(unit(book, complaints=complaints))
    # 1500 + 2500.5 + 100, three paid of five complaints; one to a customer under 50 (A).
    assert (m.value, m.num, m.den, m.note) == (4100.5, 3, 5, "赔偿3件，其中1件客户不满50岁")
    assert math.isnan(m.target)


def test_compensation_paid_to_older_customers_only():
    book = policies([("B", "分红", "2013-05-10", 55)])
    complaints = [complaint("B", "2013-04-01", compensated=True, amount=800)]
    m = kpis.compensation_paid(unit(book, complaints=complaints))
    assert (m.value, m.num, m.den, m.note) == (800.0, 1, 1, "赔偿1件")


# --- the table ------------------------------------------------------------------------------------


def test_the_table_in_the_summarys_order():
    assert [(k.key, k.title(PLAN), k.unit) for k in KPIS] == [
        ("policy_conversion_count", "保单转换件数", "件"),
        ("policy_conversion_rate", "保单转换率", "%"),
        ("deposit_conversion_count", "存款转换件数", "件"),
        ("deposit_conversion_rate", "存款转换率", "%"),
        ("persistency", "万能险保单持有率", "%"),
        ("complaint_satisfaction", "投诉处理满意度", "%"),
        ("answered_in_time", "7天内答复率", "%"),
        ("calls_per_team_day", "日均回访量(每团队)", "访"),
        ("team_days_short", "回访不足20访的团队日", "天"),
        ("phoned_before_maturity", "满期前回访率", "%"),
        ("compensation_paid", "赔偿金额", "元"),
    ]
    assert all(k.measure is getattr(kpis, k.key) for k in KPIS)  # each KPI's function
    assert [k.key for k in KPIS if k.rate] == [k.key for k in KPIS if k.unit == "%"]
    assert [k.key for k in KPIS if not k.higher] == ["team_days_short"]


def test_labels_follow_the_plan():
    plan = dataclasses.replace(PLAN, complaint_answer_days=5, calls_per_day=25)
    titles = {k.key: k.title(plan) for k in KPIS}
    assert titles["answered_in_time"] == "5天内答复率"
    assert titles["team_days_short"] == "回访不足25访的团队日"


@pytest.mark.parametrize("kpi", KPIS, ids=lambda k: k.key)
def test_every_kpi_without_tracking(kpi):
    # A due 分红 and a due 万能 policy and no tracking rows: nothing converted, kept or phoned.
    book = policies([("A", "分红", "2013-05-10", 40), ("U", "万能", "2013-05-10", 40)])
    goals = {"policy_conversion": 1, "deposit_conversion": 1}
    m = kpi.measure(unit(book, goals=goals))
    expected = {
        "policy_conversion_count": (0, 1),
        "policy_conversion_rate": (0.0, 1),
        "deposit_conversion_count": (0, 1),
        "deposit_conversion_rate": (0.0, 1),
        "persistency": (1.0, 1),  # nothing recorded: in force
        "complaint_satisfaction": (math.nan, 0),
        "answered_in_time": (math.nan, 0),
        "calls_per_team_day": (math.nan, 0),
        "team_days_short": (0, 0),
        "phoned_before_maturity": (0.0, 2),
        "compensation_paid": (0.0, 0),
    }[kpi.key]
    assert m.value == pytest.approx(expected[0], nan_ok=True)
    assert m.den == expected[1]


def test_the_units_frames_of_the_period():
    book = policies([("A", "分红", "2013-03-31", 40), ("B", "分红", "2013-04-01", 40)])
    outcomes = [{"policy_no": "B", "outcome": "转存"}, {"policy_no": "B", "outcome": "转保"}]
    u = unit(book, outcomes=outcomes)
    assert u.due["policy_no"].tolist() == ["B"]
    pd.testing.assert_index_equal(u.outcome.index, u.due.index)
    assert u.outcome.tolist() == ["转存"]  # the first recorded

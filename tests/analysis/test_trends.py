"""Trends and conversion amounts on a small hand-built book, answers worked out in the comments.

The book (period 2013-03: the trend runs January to March):
  B1  P1-P3 分红 45岁 maturing 2013-01-15: P1 转保 40,000, P2 转保 60,000, P3 转存 12,000
      P4-P5 分红 45岁 maturing 2013-02-15: P4 转保 30,000, P5 nothing recorded
      U1-U2 万能 45岁 due 2013-02-20: U1 续持, U2 退保
  B2  E1-E3 分红 55岁 maturing 2013-02-10: E1 转存 50,000, E2 转保 20,000, E3 nothing
      E4-E5 分红 55岁 maturing 2013-03-10: E4 转保 80,000, E5 nothing
      E6    分红 65岁 maturing 2013-03-20: E6 转保 10,000 (61以上: no 额度, not in 保单转换's base)

Targets (the one allocation, largest remainder; basis "rate"):
  保单转换 (分红 20-60): base B1 5 + B2 5 = 10, goal ceil(20% × 10) = 2 → B1 1, B2 1.
      B1 by month (base Jan 3, Feb 2): Jan 1.  B2 (Feb 3, Mar 2): Feb 1.
      Cumulative: B1 1 1 1, B2 – 1 1 (nothing due nor allocated in January: no target), ALL 1 2 2.
  存款转换 (all 分红): base 5 + 6 = 11, goal ceil(30% × 11 = 3.3) = 4 → B1 1.82, B2 2.18 →
      floors 1, 2, the one left to B1 (.82 > .18) → B1 2, B2 2.
      B1 (Jan 3, Feb 2): 1.2, 0.8 → Jan 1, Feb 1.  B2 (Feb 3, Mar 3): Feb 1, Mar 1.
      Cumulative: B1 1 2 2, B2 – 1 2, ALL 1 3 4.
Actuals, January to each month's end:
  保单转换 (转保 in the base; E6 is 65): B1 P1 P2 | P4 → 2 3 3; B2 E2 | E4 → 0 1 2; ALL 2 4 5.
  存款转换: B1 P3 → 1 1 1; B2 E1 in Feb → 0 1 1; ALL 1 2 2.
  万能险保单持有率: nothing due in January (无数据, NaN); from February U1 of U1, U2 = 50%.
  投诉 (B1): C1 P1 01-10 answered 01-12; C2 P2 02-05 answered 02-20 (15 days), 非常规退保;
      C3 P1 03-01 answered 03-03. Satisfaction by customer: Jan 1/1, Feb 1/2 (P2 not), Mar 1/2
      (P1 twice is one customer; monthly sums would give 2/3). Answered in 7 days: 1/1, 1/2, 2/3.
  日均回访量: B1's one team (第1组, from its 附件三 row) and 附件一 calls P1 01-08, P2 01-09,
      P4 02-05 over the working days (chinesecalendar): January 23 weekdays − 1-3 off + 5, 6
      worked = 22; February 20 − 11-15 off + 16, 17 worked = 17 (39); March 21 (60).
      → 2/22, 3/39, 3/60.  B2 has no team: 无数据.
"""

import dataclasses
import math

import pandas as pd
import pytest

from maturity_analysis.analysis import amounts, trends
from maturity_analysis.analysis.evaluation import evaluate
from maturity_analysis.analysis.tables import TOTAL
from maturity_analysis.exceptions import MaturityDataError
from maturity_analysis.ingest.forms import Tracking, frame

SPEC = [  # policy, branch, product, age, maturity date, outcome, amount
    ("P1", "B1", "分红", 45, "2013-01-15", "转保", 40_000),
    ("P2", "B1", "分红", 45, "2013-01-15", "转保", 60_000),
    ("P3", "B1", "分红", 45, "2013-01-15", "转存", 12_000),
    ("P4", "B1", "分红", 45, "2013-02-15", "转保", 30_000),
    ("P5", "B1", "分红", 45, "2013-02-15", None, None),
    ("U1", "B1", "万能", 45, "2013-02-20", "续持", None),
    ("U2", "B1", "万能", 45, "2013-02-20", "退保", None),
    ("E1", "B2", "分红", 55, "2013-02-10", "转存", 50_000),
    ("E2", "B2", "分红", 55, "2013-02-10", "转保", 20_000),
    ("E3", "B2", "分红", 55, "2013-02-10", None, None),
    ("E4", "B2", "分红", 55, "2013-03-10", "转保", 80_000),
    ("E5", "B2", "分红", 55, "2013-03-10", None, None),
    ("E6", "B2", "分红", 65, "2013-03-20", "转保", 10_000),
]
BRANCH = {p: b for p, b, *_ in SPEC}


@pytest.fixture(scope="module")
def book():
    from conftest import build_policies

    df = build_policies(
        [
            {
                "branch_code": b,
                "branch_name": "<b>网点二</b>" if b == "B2" else "网点一",
                "product_type": kind,
                "age": age,
                "maturity_date": due,
                "term_years": None if kind == "万能" else 5,
            }
            for _, b, kind, age, due, _, _ in SPEC
        ]
    )
    df["policy_no"] = [s[0] for s in SPEC]
    return df


@pytest.fixture(scope="module")
def tracking():
    outcomes = []
    for p, b, _, _, due, outcome, amount in SPEC:
        if outcome is None:
            continue
        row = {"policy_no": p, "branch_code": b, "outcome": outcome, "outcome_date": due}
        if outcome == "转保":
            row["new_premium"] = amount
        elif outcome == "转存":
            row["deposit_amount"] = amount
        outcomes.append(row)
    complaints = [  # policy, date, answered, 非常规退保
        ("P1", "2013-01-10", "2013-01-12", False),
        ("P2", "2013-02-05", "2013-02-20", True),
        ("P1", "2013-03-01", "2013-03-03", False),
    ]
    calls = [("P1", "2013-01-08"), ("P2", "2013-01-09"), ("P4", "2013-02-05")]
    return Tracking(
        calls=frame(
            "calls",
            [
                {"policy_no": p, "call_date": d, "intent": "考虑中", "branch_code": BRANCH[p]}
                for p, d in calls
            ],
        ),
        complaints=frame(
            "complaints",
            [
                {
                    "policy_no": p,
                    "complaint_date": d,
                    "answer_date": a,
                    "irregular_surrender": s,
                    "compensated": False,
                    "complaint_point": "收益低",
                    "branch_code": BRANCH[p],
                }
                for p, d, a, s in complaints
            ],
        ),
        worklog=frame(
            "worklog",
            [{"branch_code": "B1", "team": "第1组", "work_date": "2013-01-08", "calls": 2}],
        ),
        outcomes=frame("outcomes", outcomes),
    )


@pytest.fixture(scope="module")
def trend(book, tracking):
    return trends.progress(book, tracking, "2013-03", "ALL", ["B1", "B2"])


def _series(trend, unit, kpi, col):
    rows = trend[(trend["unit"] == unit) & (trend["kpi"] == kpi)].sort_values("month")
    return rows[col].tolist()


@pytest.mark.parametrize(
    ("unit", "kpi", "actual", "target"),
    [
        ("ALL", "policy_conversion", [2, 4, 5], [1, 2, 2]),
        ("B1", "policy_conversion", [2, 3, 3], [1, 1, 1]),
        # Nothing of B2's due and nothing allocated in January: no target (the evaluation's rule).
        ("B2", "policy_conversion", [0, 1, 2], [math.nan, 1, 1]),
        ("ALL", "deposit_conversion", [1, 2, 2], [1, 3, 4]),
        ("B1", "deposit_conversion", [1, 1, 1], [1, 2, 2]),
        ("B2", "deposit_conversion", [0, 1, 1], [math.nan, 1, 2]),
        ("B1", "persistency", [math.nan, 0.5, 0.5], [0.6, 0.6, 0.6]),
        ("B2", "persistency", [math.nan] * 3, [0.6] * 3),
        ("B1", "complaint_satisfaction", [1.0, 0.5, 0.5], [0.8] * 3),
        ("B1", "answered_in_time", [1.0, 0.5, 2 / 3], [1.0] * 3),
        ("ALL", "calls_per_team_day", [2 / 22, 3 / 39, 3 / 60], [20] * 3),
        ("B2", "calls_per_team_day", [math.nan] * 3, [20] * 3),
    ],
)
def test_cumulative_actuals_and_targets(trend, unit, kpi, actual, target):
    assert _series(trend, unit, kpi, "month") == [1, 2, 3]
    assert _series(trend, unit, kpi, "actual") == pytest.approx(actual, nan_ok=True)
    assert _series(trend, unit, kpi, "target") == pytest.approx(target, nan_ok=True)


def test_rates_cumulate_on_numerators_and_denominators(trend):
    rows = trend[(trend["unit"] == "B1") & (trend["kpi"] == "answered_in_time")]
    assert rows[["num", "den"]].values.tolist() == [[1, 1], [1, 2], [2, 3]]
    calls = trend[(trend["unit"] == "B1") & (trend["kpi"] == "calls_per_team_day")]
    assert calls["den"].tolist() == [22, 39, 60]


@pytest.mark.parametrize("unit", ["ALL", "B1", "B2"])
def test_last_month_is_the_evaluations_year_to_date(book, tracking, trend, unit):
    ytd = evaluate(book, tracking, "2013-03", unit).ytd
    last = trend[(trend["unit"] == unit) & (trend["month"] == 3)].set_index("kpi")
    for col, theirs in (("actual", "实际"), ("target", "目标"), ("num", "分子"), ("den", "分母")):
        mine = last[col].astype(float)
        assert mine.tolist() == pytest.approx(
            ytd.loc[mine.index, theirs].astype(float).tolist(), nan_ok=True
        ), col


def test_a_unit_of_several_branches_sums_them(book, tracking, trend):
    """A 支局-like unit (name, codes): its targets and actuals are those of its branches."""
    both = trends.progress(
        book, tracking, "2013-03", ("支局一", ["B1", "B2"]), [("B2 only", ["B2"])]
    )
    mine = both[both["unit"] == "支局一"].drop(columns=["unit", "name"]).reset_index(drop=True)
    whole = trend[trend["unit"] == "ALL"].drop(columns=["unit", "name"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, whole)
    alone = both[both["unit"] == "B2 only"].drop(columns=["unit", "name"]).reset_index(drop=True)
    b2 = trend[trend["unit"] == "B2"].drop(columns=["unit", "name"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, b2)
    assert trends.children(book, ("支局一", ["B2", "B1"])) == ["B1", "B2"]
    assert trends.children(book, "ALL") == ["B1", "B2"] and trends.children(book, "B1") == []


def test_the_allocation_is_computed_once_per_book_and_plan(book, tracking, trend, monkeypatch):
    """Every unit's trend of one book uses the same allocation, kept in the process: a trend
    built warm equals one built cold."""
    from maturity_analysis.analysis import evaluation

    def not_again(*args):
        raise AssertionError("allocated again")

    evaluation._allocation_memo.clear()
    cold = trends.progress(book, tracking, "2013-03", "ALL", ["B1", "B2"])
    pd.testing.assert_frame_equal(cold, trend)
    with monkeypatch.context() as patched:
        patched.setattr(evaluation, "month_allocation", not_again)
        warm = trends.progress(book, tracking, "2013-03", "ALL", ["B1", "B2"])
        with pytest.raises(AssertionError, match="allocated again"):  # another book
            trends.progress(book.iloc[1:], tracking, "2013-03", "ALL", ["B1", "B2"])
    pd.testing.assert_frame_equal(warm, cold)


def test_unknown_unit_is_named(book, tracking):
    with pytest.raises(MaturityDataError, match="B9"):
        trends.progress(book, tracking, "2013-03", "ALL", ["B9"])


def test_table_and_text(book, tracking, trend):
    t = trends.table(trend)
    assert list(t.index) == ["1月", "2月", "3月"]
    assert t.at["3月", "保单转换"] == "5 / 2" and t.at["2月", "存款转换"] == "2 / 3"
    assert t.at["1月", "万能险保单持有率"] == "— / 60.0%"
    text = trends.text(trend)
    assert text.startswith("**全部网点** 截至3月末累计：保单转换5（累计目标2，达成率250%")
    assert "下属2个单位中，累计达成率达到100%的：保单转换2个" in text
    b2 = trends.text(trends.progress(book, tracking, "2013-03", "B2"))
    assert r"\<b\>网点二\</b\>" in b2 and "<b>" not in b2  # a name from the data is text


# --- conversion amounts -------------------------------------------------------------------


@pytest.fixture(scope="module")
def conv(book, tracking):
    return amounts.conversions(book, tracking, "2013-03")


def test_conversions_carry_the_playbook_amount(conv):
    assert list(conv["policy_no"]) == ["P1", "P2", "P3", "P4", "E1", "E2", "E4", "E6"]
    rows = conv.set_index("policy_no")
    assert rows.loc["P1", ["amount_min", "amount_max"]].tolist() == [30_000, 50_000]  # 41-50
    assert rows.loc["P4", "within"] and not rows.loc["P2", "within"]  # 30,000 is the low edge
    assert pd.isna(rows.loc["E6", "within"]) and pd.isna(rows.loc["E6", "amount_max"])  # 61以上
    assert pd.isna(rows.loc["P3", "within"])  # a 转存 has no 额度


def test_amounts_by_band(conv):
    t = amounts.by_band(conv)
    assert list(t.index) == ["41-50", "51-60", "61以上", TOTAL]
    # 41-50: P1 40,000 (within), P2 60,000 (above), P4 30,000 (within); P3 转存 12,000.
    r = t.loc["41-50"]
    assert r["方案额度"] == "3万-5万/件"
    assert [r["转保件数"], r["有额度件数"], r["额度内件数"], r["高于额度件数"]] == [3, 3, 2, 1]
    assert r["新保单保费(万元)"] == pytest.approx(13) and r["额度内占比"] == pytest.approx(2 / 3)
    assert r["转存件数"] == 1 and r["转存金额(万元)"] == pytest.approx(1.2)
    # 51-60: E2 20,000 (below 5万), E4 80,000 (within); E1 转存 50,000.
    r = t.loc["51-60"]
    assert [r["转保件数"], r["额度内件数"], r["低于额度件数"]] == [2, 1, 1]
    assert r["额度内占比"] == pytest.approx(0.5) and r["件均保费(万元)"] == pytest.approx(5)
    # 61以上: E6 has no 额度, so no share; the total's share is 3 within of 5 with one.
    assert t.loc["61以上", "有额度件数"] == 0 and pd.isna(t.loc["61以上", "额度内占比"])
    total = t.loc[TOTAL]
    assert [total["转保件数"], total["有额度件数"], total["额度内件数"]] == [6, 5, 3]
    assert total["额度内占比"] == pytest.approx(0.6)
    assert total["转存金额(万元)"] == pytest.approx(6.2)


def test_amounts_by_month_and_unit(book, conv):
    m = amounts.by_month(conv)
    assert list(m.index) == ["1月", "2月", "3月", TOTAL]
    assert m["额度内占比"].tolist()[:3] == pytest.approx([0.5, 0.5, 1.0])  # P1/P1 P2; P4/P4 E2; E4
    u = amounts.by_unit(conv, book, ["B1", "B2"])
    assert u.loc["B1", ["转保件数", "额度内件数"]].tolist() == [3, 2]
    assert u.loc["B2", ["转保件数", "有额度件数", "额度内件数"]].tolist() == [3, 2, 1]


def test_amounts_follow_the_evaluations_count(conv, trend):
    """The 转保 of 分红 20-60 (E6 is 65) are the 保单转换 the trend counts by March."""
    in_base = conv[(conv["outcome"] == "转保") & (conv["age_band"] != "61以上")]
    assert len(in_base) == _series(trend, "ALL", "policy_conversion", "actual")[-1] == 5


def test_a_units_conversions_are_its_rows_of_the_areas(book, tracking, conv):
    """A branch's book with the whole area's tracking: its rows of the area's conversions,
    each policy's first outcome counted (a second one for P1, 转存 later, changes nothing)."""
    outcomes = tracking.outcomes
    again = outcomes[outcomes["policy_no"] == "P1"].assign(outcome="转存", deposit_amount=1.0)
    both = dataclasses.replace(tracking, outcomes=pd.concat([outcomes, again], ignore_index=True))
    for code in ("B1", "B2"):
        mine = amounts.conversions(book[book["branch_code"] == code], both, "2013-03")
        theirs = conv[conv["branch_code"] == code].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, theirs)
        assert len(mine) > 2


def test_amounts_stop_at_the_period_end(book, tracking):
    feb = amounts.conversions(book, tracking, "2013-02")
    assert sorted(feb.loc[feb["outcome"] == "转保", "policy_no"]) == ["E2", "P1", "P2", "P4"]


def test_amounts_text(conv):
    text = amounts.text(amounts.by_band(conv))
    assert "转保6件，新保单保费24.00万元，件均4.00万元；有方案额度的5件中60.0%在额度内。" in text
    assert "41-50岁（额度3万-5万/件）3件，额度内66.7%，多高于额度" in text
    assert "51-60岁（额度5万-10万）2件，额度内50.0%" in text
    assert "转存2件，转存金额6.20万元，件均3.10万元。" in text


# --- the fast path against a direct per-unit measurement ----------------------------------


def _direct(policies, tracking, period, specs, plan):
    """The trend measured the slow way: every KPI function on each unit's own frames, January
    to each month's end (what progress computed before it counted once per branch and month)."""
    from maturity_analysis.analysis.evaluation import allocated, month_allocation
    from maturity_analysis.analysis.kpis import KPIS, Unit

    alloc = month_allocation(policies, plan)
    sources = frozenset(
        k for k in ("calls", "complaints", "worklog", "outcomes") if len(tracking[k])
    )
    chosen = [k for k in KPIS if k.key in trends.TREND_KPIS]
    rows = []
    for spec in specs:
        key, name, codes = trends.unit_branches(policies, spec)
        mine = policies[policies["branch_code"].isin(codes)]
        ours = set(mine["policy_no"])
        frames = Tracking(
            calls=tracking.calls[tracking.calls["policy_no"].isin(ours)],
            complaints=tracking.complaints[tracking.complaints["branch_code"].isin(codes)],
            worklog=tracking.worklog[tracking.worklog["branch_code"].isin(codes)],
            outcomes=tracking.outcomes[tracking.outcomes["policy_no"].isin(ours)],
        )
        share = alloc[alloc["branch_code"].isin(codes)]
        for span in trends.months(period, plan):
            goals = allocated(policies, span, "ALL", plan, alloc=share)
            u = Unit(mine, frames, span, plan, goals=goals, sources=sources)
            for kpi in chosen:
                m = kpi.measure(u)
                ok = m.target and not pd.isna(m.target) and not pd.isna(m.value)
                rows.append(
                    (
                        span.end.month,
                        key,
                        name,
                        kpi.key,
                        kpi.title(plan),
                        kpi.unit,
                        m.value,
                        m.target,
                        m.num,
                        m.den,
                        m.value / m.target if ok else math.nan,
                    )
                )
    return pd.DataFrame(rows, columns=trends.COLUMNS).astype({c: float for c in trends.COLUMNS[6:]})


def test_counting_once_per_branch_equals_measuring_each_unit():
    """Two 支局 (甲: B1 B2, 乙: B3 B4), January to April, with what does not add up over months
    or branches: a customer complaining in January and again (非常规退保) in March, one still
    open; B3's calls naming no team (未填团队) until its 附件三 names 第2组 in March; a Sunday
    call (not a working day) and one at 15:00 on 31 January (in February's span, not January's)."""
    from conftest import build_policies

    from maturity_analysis.plan.model import load_plan

    plan = load_plan()
    spec = [  # branch, 支局, product, age, maturity, outcome
        ("B1", "支局甲", "分红", 45, "2013-01-20", "转保"),
        ("B1", "支局甲", "分红", 52, "2013-02-11", "转存"),
        ("B1", "支局甲", "万能", 48, "2013-03-05", "续持"),
        ("B2", "支局甲", "分红", 58, "2013-02-25", None),
        ("B2", "支局甲", "万能", 40, "2013-04-02", "退保"),
        ("B3", "支局乙", "分红", 35, "2013-01-28", "转保"),
        ("B3", "支局乙", "分红", 66, "2013-03-18", "转保"),
        ("B3", "支局乙", "分红", 44, "2013-04-09", "转存"),
        ("B4", "支局乙", "万能", 51, "2013-02-14", None),
        ("B4", "支局乙", "分红", 29, "2013-03-30", "转保"),
    ]
    book = build_policies(
        [
            {
                "branch_code": b,
                "sub_branch": s,
                "product_type": kind,
                "age": age,
                "maturity_date": due,
                "term_years": None if kind == "万能" else 5,
            }
            for b, s, kind, age, due, _ in spec
        ]
    )
    pno = book["policy_no"].tolist()
    branch = dict(zip(pno, book["branch_code"], strict=True))
    outcomes = [
        {"policy_no": p, "branch_code": branch[p], "outcome": o, "outcome_date": r[4]}
        for p, r in zip(pno, spec, strict=True)
        for o in [r[5]]
        if o
    ]
    calls = [  # policy, when, team, intent
        (pno[0], "2013-01-08", "第1组", "考虑中"),
        (pno[1], "2013-01-31 15:00", "第1组", "考虑中"),
        (pno[3], "2013-02-18", None, "考虑中"),
        (pno[5], "2013-01-10", None, "考虑中"),
        (pno[5], "2013-01-13", None, "考虑中"),  # a Sunday
        (pno[6], "2013-03-12", None, "未接通"),
        (pno[7], "2013-04-08", "第2组", "考虑中"),
        (pno[9], "2013-03-20", None, "考虑中"),
    ]
    complaints = [  # policy, date, answered, 非常规退保
        (pno[0], "2013-01-10", "2013-01-12", False),
        (pno[0], "2013-03-04", "2013-03-20", True),
        (pno[3], "2013-02-20", None, False),
        (pno[5], "2013-02-01", "2013-02-03", False),
        (pno[9], "2013-04-02", "2013-04-05", False),
    ]
    tracking = Tracking(
        calls=frame(
            "calls",
            [
                {
                    "policy_no": p,
                    "call_date": pd.Timestamp(d),
                    "team": t,
                    "intent": i,
                    "branch_code": branch[p],
                }
                for p, d, t, i in calls
            ],
        ),
        complaints=frame(
            "complaints",
            [
                {
                    "policy_no": p,
                    "complaint_date": d,
                    "answer_date": a,
                    "irregular_surrender": s,
                    "compensated": False,
                    "complaint_point": "收益低",
                    "branch_code": branch[p],
                }
                for p, d, a, s in complaints
            ],
        ),
        worklog=frame(
            "worklog",
            [
                {"branch_code": "B1", "team": "第1组", "work_date": "2013-01-08", "calls": 1},
                {"branch_code": "B3", "team": "第2组", "work_date": "2013-03-12", "calls": 3},
            ],
        ),
        outcomes=frame("outcomes", outcomes),
    )
    kids = trends.children(book, "ALL")
    assert kids == [("支局乙", ["B3", "B4"]), ("支局甲", ["B1", "B2"])]
    assert trends.children(book, "支局:支局甲") == ["B1", "B2"]
    specs = ["ALL", *kids, "支局:支局乙", "B3", "B4"]
    fast = trends.progress(book, tracking, "2013-04", specs[0], specs[1:], plan)
    pd.testing.assert_frame_equal(fast, _direct(book, tracking, "2013-04", specs, plan))
    alone = trends.progress(book, tracking, "2013-04", "支局:支局乙", ["B3", "B4"], plan)
    rows = fast[fast["unit"].isin(["支局:支局乙", "B3", "B4"])]  # counted on 支局乙's rows only
    pd.testing.assert_frame_equal(alone, rows.reset_index(drop=True))
    b3 = fast[(fast["unit"] == "B3") & (fast["kpi"] == "calls_per_team_day")]
    # B3: 10 January (13 January is a Sunday), 12 March, 8 April; one team throughout (未填团队,
    # then 第2组 from March, which its unnamed calls fall to).
    assert b3["num"].tolist() == [1, 1, 2, 3]
    days = [22, 39, 60, 81]  # working days to each month's end (April: 21, 4-5 off, 7 worked)
    assert b3["den"].tolist() == days
    # ALL: B1's 第1组 and B3's team from January, B2's (未填团队) from February, B4's from March.
    whole = fast[(fast["unit"] == "ALL") & (fast["kpi"] == "calls_per_team_day")]
    assert whole["den"].tolist() == [2 * 22, 3 * 39, 4 * 60, 4 * 81]
    sat = fast[(fast["unit"] == "支局甲") & (fast["kpi"] == "complaint_satisfaction")]
    # B1's customer satisfied in January, not after March's 非常规退保; B2's still open.
    assert sat[["num", "den"]].values.tolist() == [[1, 1], [1, 1], [0, 1], [0, 1]]

"""Each KPI against a small hand-built programme whose answers are worked out in the comments.

The book (every 分红 customer is 40, inside the conversion targets' 20-60 base):
  B1  Q1: Q1a..Q1e   5 分红 maturing 2013-02-15, all 转保
      Q2: D1..D6     6 分红 maturing 2013-05-15: D1-D3 转保, D4-D5 转存, D6 领取
          D7..D10    4 分红 maturing 2013-06-15: 领取
          U1..U4     4 万能 due 2013-05-20: U1 续持, U2 退保, U3 nothing recorded, U4 领取
  B2  Q2: E1..E10   10 分红 maturing 2013-04-20, no outcome recorded

Allocated targets (targets.branch_phase_allocation, basis "rate", largest remainder; every
分红 customer is 40, so 存款转换's base, all 分红, is the same 25):
  保单转换: base 15 (B1) + 10 (B2) = 25; goal ceil(20% × 25) = 5 → B1 5×15/25 = 3, B2 2.
            B1 by phase: Q1 3×5/15 = 1, Q2 3×10/15 = 2.  B2: Q2 2.
  存款转换: goal ceil(30% × 25 = 7.5) = 8 → B1 4.8, B2 3.2 → floors 4, 3 + 1 to B1 → 5, 3.
            B1 by phase: Q1 1.67, Q2 3.33 → floors 1, 3 + 1 to Q1 → Q1 2, Q2 3.  B2: Q2 3.

Verdicts (issue #11): one per target; 待定 where the base is under 200 and the 95% Wilson interval
contains the target (as a share of the base); Q2 has 62 working days (chinesecalendar, 清明 4-4..6
and 劳动节 4-29..5-1 off, 4-7 and 4-27, 4-28 worked; 端午 6-10..12 off, 6-8, 6-9 worked).
"""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from maturity_analysis.analysis import evaluation, reconcile
from maturity_analysis.analysis.evaluation import (
    MET,
    NOT_MET,
    PENDING,
    SUMMARY_COLUMNS,
    allocated,
    by_branch,
    dataset_by_branch,
    evaluate,
    parse_period,
    team_days,
    wilson,
)
from maturity_analysis.analysis.reconcile import dataset_reconciliation, reconciliation
from maturity_analysis.exceptions import MaturityDataError, PlanError
from maturity_analysis.ingest.forms import KINDS, Tracking, frame


@pytest.fixture(scope="module")
def book():
    from conftest import build_policies

    spec = (
        [("Q1" + c, "B1", "分红", "2013-02-15") for c in "abcde"]
        + [(f"D{i}", "B1", "分红", "2013-05-15") for i in range(1, 7)]
        + [(f"D{i}", "B1", "分红", "2013-06-15") for i in range(7, 11)]
        + [(f"U{i}", "B1", "万能", "2013-05-20") for i in range(1, 5)]
        + [(f"E{i}", "B2", "分红", "2013-04-20") for i in range(1, 11)]
    )
    df = build_policies(
        [
            {
                "branch_code": b,
                "product_type": p,
                "maturity_date": m,
                "age": 40,
                "term_years": None if p == "万能" else 5,
            }
            for _, b, p, m in spec
        ]
    )
    df["policy_no"] = [s[0] for s in spec]
    return df


@pytest.fixture(scope="module")
def tracking():
    outcomes = (
        [
            {
                "policy_no": "Q1" + c,
                "outcome": "转保",
                "outcome_date": "2013-02-20",
                "new_premium": 10000,
            }
            for c in "abcde"
        ]
        + [
            {
                "policy_no": f"D{i}",
                "outcome": "转保",
                "outcome_date": "2013-05-20",
                "new_premium": 10000,
            }
            for i in (1, 2, 3)
        ]
        + [
            {
                "policy_no": f"D{i}",
                "outcome": "转存",
                "outcome_date": "2013-05-20",
                "deposit_amount": 11000,
            }
            for i in (4, 5)
        ]
        + [
            {"policy_no": f"D{i}", "outcome": "领取", "outcome_date": "2013-06-20"}
            for i in range(6, 11)
        ]
        + [
            {"policy_no": "U1", "outcome": "续持", "outcome_date": "2013-05-20"},
            {"policy_no": "U2", "outcome": "退保", "outcome_date": "2013-05-21"},
            {"policy_no": "U4", "outcome": "领取", "outcome_date": "2013-05-22"},
        ]
    )
    no, yes = False, True
    complaints = [  # policy, date, answered, 非常规退保, 赔偿, amount
        ("D1", "2013-04-10", "2013-04-15", no, no, None),  # c1: 5 days, satisfied
        ("D2", "2013-05-02", "2013-05-12", yes, no, None),  # c2: 10 days (late), 非常规退保
        ("D3", "2013-06-01", "2013-06-08", no, yes, 1500),  # c3: 7 days (in time), 赔偿 1500
        ("D1", "2013-06-10", "2013-06-12", no, no, None),  # c4: D1 again, satisfied
        ("D4", "2013-06-20", None, no, no, None),  # c5: not answered yet
        ("Q1a", "2013-03-01", "2013-03-02", no, yes, 999),  # c6: Q1, outside 2013Q2
    ]
    calls = [
        {"policy_no": f"D{i}", "call_date": "2013-04-10", "intent": "考虑中"} for i in range(1, 11)
    ] + [
        {"policy_no": "U1", "call_date": "2013-04-11", "intent": "未接通"},
        {"policy_no": "U2", "call_date": "2013-05-25", "intent": "继续持有"},
        {"policy_no": "U3", "call_date": "2013-05-20", "intent": "继续持有"},
    ]
    worklog = [  # branch, team, date, calls
        ("B1", "第1组", "2013-04-01", 22),
        ("B1", "第1组", "2013-04-02", 18),
        ("B1", "第1组", "2013-04-04", 30),  # 清明 holiday: not a working day, left out
        ("B1", "第1组", "2013-04-07", 20),  # Sunday worked (调休): counts
        ("B1", "第2组", "2013-04-01", 15),
        ("B1", "第1组", "2013-03-29", 5),  # Q1
        ("B2", "第1组", "2013-04-01", 25),
    ]
    branch = {"D": "B1", "U": "B1", "Q": "B1", "E": "B2"}
    return Tracking(
        calls=frame("calls", [c | {"branch_code": branch[c["policy_no"][0]]} for c in calls]),
        complaints=frame(
            "complaints",
            [
                {
                    "policy_no": p,
                    "complaint_date": d,
                    "answer_date": a,
                    "irregular_surrender": s,
                    "compensated": c,
                    "compensation": m,
                    "complaint_point": "收益低",
                    "branch_code": branch[p[0]],
                }
                for p, d, a, s, c, m in complaints
            ],
        ),
        worklog=frame(
            "worklog",
            [{"branch_code": b, "team": t, "work_date": d, "calls": n} for b, t, d, n in worklog],
        ),
        outcomes=frame(
            "outcomes", [o | {"branch_code": branch[o["policy_no"][0]]} for o in outcomes]
        ),
    )


@pytest.fixture(scope="module")
def b1_q2(book, tracking):
    return evaluate(book, tracking, "2013Q2", "B1").summary


@pytest.mark.parametrize(
    ("key", "actual", "target", "verdict"),
    [
        # D1-D3 转保 of B1's 10 Q2 分红 against its share 2 (20% of 10): Wilson(3, 10) =
        # 10.8%-60.3% contains 20% → 待定 (the count and the rate are one target).
        ("policy_conversion", 3, 2, PENDING),
        # D4-D5 转存 against 3 (30%): Wilson(2, 10) = 5.7%-51.0% contains 30% → 待定.
        ("deposit_conversion", 2, 3, PENDING),
        # Recorded: U1 续持, U2 退保, U4 领取 → 1/3; U3 unrecorded, coverage 3/4 = 75% < 80%.
        ("persistency", 1 / 3, 0.6, "数据不全"),
        # D1 yes, D2 no, D3 no; D4 pending. Wilson(1, 3) = 6.1%-79.2%: 80% is outside.
        ("complaint_satisfaction", 1 / 3, 0.8, NOT_MET),
        ("answered_in_time", 0.6, 1.0, NOT_MET),  # c1, c3, c4 of c1-c5; a 100% rule: no 待定
        # 附件一 on working days: D1-D10 on 4-10, U1 4-11, U3 5-20 (U2's 5-25 is a Saturday) =
        # 12 calls over 2 teams × 62 working days = 124 team-days (no log counts zero).
        ("calls_per_team_day", 12 / 124, 20, NOT_MET),
        ("team_days_short", 124, 0, NOT_MET),  # every team-day is under 20 recorded calls
        ("phoned_before_maturity", 10 / 14, 1.0, NOT_MET),  # D1-D10 reached; U1-U4 not in time
    ],
)
def test_kpi_for_one_branch_and_quarter(b1_q2, key, actual, target, verdict):
    row = b1_q2.loc[key]
    assert row["实际"] == pytest.approx(actual)
    assert row["目标"] == pytest.approx(target)
    assert row["结论"] == verdict
    assert (
        (row["达标"] is pd.NA) if verdict not in (MET, NOT_MET) else row["达标"] == (verdict == MET)
    )


def test_numerators_and_denominators(b1_q2):
    s = b1_q2
    assert s.loc["policy_conversion", ["分子", "分母"]].tolist() == [3, 10]
    assert s.loc["persistency", ["分子", "分母"]].tolist() == [1, 3]  # recorded outcomes only
    assert s.loc["complaint_satisfaction", ["分子", "分母"]].tolist() == [1, 3]
    assert s.loc["policy_conversion", "达成率"] == pytest.approx(1.5)  # 3 / 2
    assert s.loc["deposit_conversion", "达成率"] == pytest.approx(2 / 3)


def test_notes_say_what_is_pending_or_assumed(b1_q2):
    assert "另1人待答复" in b1_q2.loc["complaint_satisfaction", "说明"]  # D4
    assert "未记录1件不计入" in b1_q2.loc["persistency", "说明"]  # U3
    assert "覆盖率75.0%" in b1_q2.loc["persistency", "说明"]
    assert "未答复1件" in b1_q2.loc["answered_in_time", "说明"]  # c5
    # 附件三 claims 22 + 18 + 20 + 15 = 75 calls (4-4 is 清明) against 12 recorded: flagged.
    assert (
        "附件一记录12访，附件三申报75访，申报多于记录63访"
        in b1_q2.loc["calls_per_team_day", "说明"]
    )
    assert b1_q2.loc["calls_claimed_over", "实际"] == 63


def test_compensation_paid(book, tracking, b1_q2):
    row = b1_q2.loc["compensation_paid"]
    assert row["实际"] == 1500  # c3 only; c6's 999 is in Q1
    assert row["分子"] == 1
    assert pd.isna(row["目标"]) and row["结论"] == "—"
    # D3 is 40; the plan pays out to customers over 50: an exception, counted and named.
    assert b1_q2.loc["young_compensation", "实际"] == 1
    rows = evaluate(book, tracking, "2013Q2", "B1").exceptions
    assert rows[["例外", "policy_no", "amount"]].values.tolist() == [
        ["赔付客户不满50岁", "D3", 1500.0]
    ]


def test_wilson_interval_on_small_bases(b1_q2):
    # 3 / 10 at 95%: z = 1.96, centre (0.3 + 1.92/10) / 1.384 = 0.3555,
    # half 1.96 × sqrt(0.021 + 0.0096) / 1.384 = 0.2477 → (0.1078, 0.6032).
    row = b1_q2.loc["policy_conversion"]
    assert (row["区间下限"], row["区间上限"]) == pytest.approx((0.1078, 0.6032), abs=1e-4)
    assert pd.isna(b1_q2.loc["calls_per_team_day", "区间下限"])  # an average has none


@pytest.mark.parametrize(
    ("k", "n", "expected"),
    [(0, 10, (0.0, 0.2775)), (10, 10, (0.7225, 1.0)), (8, 10, (0.4902, 0.9433))],
)
def test_wilson(k, n, expected):
    assert wilson(k, n) == pytest.approx(expected, abs=1e-4)


def test_wilson_ends_are_exact():
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0


def test_wilson_of_nothing():
    assert all(math.isnan(x) for x in wilson(0, 0))


def test_all_branches(book, tracking):
    s = evaluate(book, tracking, "2013Q2").summary
    # 保单转换: B1 3 + B2 0 = 3 against 2 + 2 = 4 of 20 (Wilson 5.2%-36.0% contains 20%).
    assert s.loc["policy_conversion", ["实际", "目标", "分母"]].tolist() == [3, 4, 20]
    assert s.loc["policy_conversion", "结论"] == PENDING
    # 日均回访量: 12 recorded calls over 3 teams × 62 days; 附件三 claims 75 + 25 = 100.
    assert s.loc["calls_per_team_day", ["分子", "分母"]].tolist() == [12, 186]
    assert s.loc["calls_claimed_over", "实际"] == 88


def test_a_month(book, tracking):
    # B1's Q2 shares split by the month's base (Apr 0, May 6, Jun 4):
    # 保单转换 2 → 0, 1.2, 0.8 → May 1;  存款转换 3 → 0, 1.8, 1.2 → floors 0, 1, 1 + 1 to May → 2.
    assert allocated(book, "2013-05", "B1") == {
        "policy_conversion": 1,
        "deposit_conversion": 2,
        "persistency": 3,
    }
    s = evaluate(book, tracking, "2013-05", "B1").summary
    assert s.loc["policy_conversion", "实际"] == 3  # D1-D3 mature in May
    # 3 of 6 against 1 (16.7% of 6): Wilson(3, 6) = 18.8%-81.2% does not contain it → 达标.
    assert s.loc["policy_conversion", "结论"] == MET
    assert s.loc["deposit_conversion", "实际"] == 2  # D4-D5, against 2 of 6: 待定
    assert s.loc["deposit_conversion", "结论"] == PENDING


def test_the_year(book, tracking):
    ev = evaluate(book, tracking, "2013", "B1")
    s = ev.summary
    # Q1's five 转保 and Q2's three, against B1's whole share of 3.
    assert s.loc["policy_conversion", ["实际", "目标"]].tolist() == [8, 3]
    pd.testing.assert_frame_equal(ev.ytd[s.columns], s)  # the year is its own year to date
    # 2013 complaints: c1-c6 → 6, of which c1, c3, c4, c6 within 7 days.
    assert s.loc["answered_in_time", "实际"] == pytest.approx(4 / 6)


def test_no_tracking_is_no_data_never_a_measured_zero(book):
    # Issue #11: without forms a KPI is 无数据, never 0% or 100% as if measured.
    s = evaluate(book, Tracking(), "2013Q2", "B2").summary
    for key in (
        "policy_conversion",
        "deposit_conversion",
        "persistency",
        "complaint_satisfaction",
        "answered_in_time",
        "calls_per_team_day",
        "team_days_short",
        "phoned_before_maturity",
    ):
        assert s.loc[key, "结论"] == "无数据", key
        assert pd.isna(s.loc[key, "实际"]), key
    assert s.loc["policy_conversion", "目标"] == 2  # the target is known all the same


def test_year_to_date_against_the_annual_target(book, tracking):
    ytd = evaluate(book, tracking, "2013Q2", "B1").ytd
    # January-June: Q1's five 转保 and Q2's three = 8 against the share due by June (Q1 1 +
    # Q2 2 = 3), and B1's annual target 3.
    assert ytd.loc["policy_conversion", ["实际", "目标", "年度目标"]].tolist() == [8, 3, 3]
    assert ytd.loc["policy_conversion", "年度完成率"] == pytest.approx(8 / 3)


def test_by_branch_stacks_every_branch(book, tracking):
    table = by_branch(book, tracking, "2013Q2")
    assert list(table.index.get_level_values("branch_code").unique()) == ["B1", "B2"]
    assert table.loc[("B2", "policy_conversion"), "目标"] == 2
    assert list(table.columns) == SUMMARY_COLUMNS


def test_team_days(book, tracking):
    days = team_days(tracking, "2013Q2", "B1", policies=book)
    assert len(days) == 124  # 2 teams × 62 working days, a day without a log counts
    logged = days[days["claimed"] > 0]
    assert logged["claimed"].tolist() == [22, 18, 20, 15]  # 4-1, 4-2, 4-7 (调休), 第2组 4-1
    assert logged["calls"].tolist() == [0, 0, 0, 0]  # 附件一 has no calls on those days
    assert days["calls"].sum() == 12 and days["short"].all()


def test_display(book, tracking):
    ev = evaluate(book, tracking, "2013Q2", "B1")
    html = ev._repr_html_()
    assert "<table" in html and "促进期" in html
    table = ev.table()
    assert table.loc[table["KPI"] == "保单转换", "实际"].item() == "3"
    assert table.loc[table["KPI"] == "保单转换", "结论"].item() == PENDING
    assert table.loc[table["KPI"] == "投诉处理满意度", "结论"].item() == NOT_MET
    assert "年度目标" in ev.ytd_table().columns


@pytest.mark.parametrize(
    ("text", "kind", "start", "end"),
    [
        ("2013Q2", "quarter", "2013-04-01", "2013-06-30"),
        ("2013-q4", "quarter", "2013-10-01", "2013-12-31"),
        ("2013-05", "month", "2013-05-01", "2013-05-31"),
        ("2013-2", "month", "2013-02-01", "2013-02-28"),
        ("2013", "year", "2013-01-01", "2013-12-31"),
    ],
)
def test_parse_period(text, kind, start, end):
    p = parse_period(text)
    assert (p.kind, p.start.isoformat(), p.end.isoformat()) == (kind, start, end)


@pytest.mark.parametrize("text", ["2013Q5", "2013-13", "Q2", "next quarter"])
def test_bad_period(text):
    with pytest.raises(PlanError, match="period"):
        parse_period(text)


def test_unknown_branch(book, tracking):
    with pytest.raises(MaturityDataError, match="B9"):
        evaluate(book, tracking, "2013Q2", "B9")


@pytest.mark.parametrize("period", ["2013Q2", "2013-05", "2013"])
def test_by_branch_agrees_with_evaluate(book, tracking, period):
    table = by_branch(book, tracking, period)
    for code in ("B1", "B2"):
        pd.testing.assert_frame_equal(
            table.xs(code, level="branch_code"),
            evaluate(book, tracking, period, code).summary,
            check_names=False,
        )


# --- charts (Agg backend) -----------------------------------------------------------------------


@pytest.fixture
def plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from maturity_analysis import plots

    yield plots
    plt.close("all")


def test_kpi_progress_chart(plots, b1_q2):
    ax = plots.kpi_progress(b1_q2)
    # 8 KPIs have a target with a 达成率 (team-days short has target 0, compensation none;
    # 保单转换 against the plan's stated count is shown as progress).
    assert len(ax.patches) == 8
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "保单转换" and "赔偿金额" not in labels
    colours = {t: p.get_facecolor() for t, p in zip(labels, ax.patches, strict=True)}
    assert colours["保单转换"] != colours["投诉处理满意度"]  # 待定 (grey) vs 未达标 (red)


def test_kpi_progress_labels_each_bar_as_the_table_shows_it(plots):
    """A 达成率 of 99.8% (未达标) is labelled 99.8%, as in the evaluation table, not 100%."""
    summary = pd.DataFrame(
        {"KPI": ["万能险保单持有率", "保单转换"], "达成率": [0.998, 1.05], "达标": [False, True]}
    )
    ax = plots.kpi_progress(summary)
    assert [t.get_text() for t in ax.texts] == ["99.8%", "105.0%"]


def test_kpi_by_branch_chart(plots, book, tracking):
    table = by_branch(book, tracking, "2013Q2")
    ax = plots.kpi_by_branch(table, "complaint_satisfaction", highlight="B1")
    assert [t.get_text() for t in ax.branch_labels] == ["▶ B1", "B2"]  # B1 highlighted
    assert ax.branch_labels[0].get_color() != ax.branch_labels[1].get_color()
    assert len(ax.get_yticks()) == 0  # the labels are texts, not ticks
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx([1 / 3, 0.0])  # B1 1 of 3; B2 has no complaints (无数据)
    assert ax.lines[-1].get_xdata()[0] == pytest.approx(0.8)  # the plan's 80% line
    # Wilson whisker on B1's 1/3: 0.0615-0.7923.
    segments = ax.collections[0].get_segments()
    assert [tuple(np.round(s[:, 0], 4)) for s in segments] == [(0.0615, 0.7923)]
    counts = plots.kpi_by_branch(table, "policy_conversion")
    assert [p.get_width() for p in counts.patches] == pytest.approx([1.5, 0.0])  # 3/2, 0/2


def test_kpis_by_branch_panels(plots, book, tracking):
    table = by_branch(book, tracking, "2013Q2")
    keys = ["policy_conversion", "deposit_conversion", "persistency"]
    axes = plots.kpis_by_branch(table, keys, highlight="B2")
    assert len(axes) == 3 and len({ax.figure for ax in axes}) == 1  # one figure, 2 × 2 grid
    assert [ax.get_title() for ax in axes] == [
        "保单转换：各网点",
        "存款转换：各网点",
        "万能险保单持有率：各网点",
    ]
    # Labels on the first panel of each row only; the same bars as one chart per KPI.
    shown = [[t.get_text() for t in getattr(ax, "branch_labels", [])] for ax in axes]
    assert shown[0] == shown[2] == ["B1", "▶ B2"]
    assert shown[1] == [] and len(axes[1].get_yticks()) == 0
    assert [p.get_width() for p in axes[1].patches] == pytest.approx([2 / 3, 0.0])  # 2/3, 0/3
    assert not axes[0].figure.axes[3].axison  # the empty fourth cell


def test_calls_per_day_chart(plots, tracking):
    ax = plots.calls_per_day(team_days(tracking, "2013Q2", "B1"))
    # 附件一 per working day, averaged over B1's two teams: 4-10 (10 calls) 5.0, 4-11 0.5.
    ydata = list(ax.lines[0].get_ydata())
    assert len(ydata) == 62 and max(ydata) == 5.0 and sum(ydata) == pytest.approx(6.0)
    assert len(ax.collections[0].get_offsets()) == 124  # every team-day is short of 20


def test_narrative_states_the_figures(book, tracking):
    text = evaluate(book, tracking, "2013Q2", "B1").narrative()
    # B1 Q2: 未达标 satisfaction, answered, calls, short days, phoned; 待定 both conversions;
    # 数据不全 persistency.
    assert "有目标的指标中未达标5项，待定2项，数据不全1项" in text
    assert "保单转换3件，目标2件，待定" in text
    assert "5件投诉，60.0%在7天内答复；处理后满意度33.3%（目标80.0%），未达标" in text
    assert (
        "附件一记录每团队每个工作日平均回访0.1访（方案要求20访），124个团队工作日不足20访" in text
    )
    assert "申报多于记录63访" in text
    assert "赔偿1件，共1,500元" in text
    assert "赔付客户不满50岁1件" in text


def test_narrative_writes_counts_as_the_tables_do(book, tracking):
    """Thousands are separated in the sentences as in the table beside them (the sample's
    全辖 read 1803件投诉 against 1,803 in its table; a province's 赔偿1388件, 例外1969件)."""
    ev = evaluate(book, tracking, "2013Q2", "B1")
    summary = ev.summary.copy()
    summary.loc["answered_in_time", "分母"] = 1803
    summary.loc["compensation_paid", "分子"] = 1388
    exceptions = pd.concat([ev.exceptions] * 1200, ignore_index=True)
    assert ev.exceptions["例外"].tolist() == ["赔付客户不满50岁"]
    text = dataclasses.replace(ev, summary=summary, exceptions=exceptions).narrative()
    assert "1,803件投诉，" in text
    assert "赔偿1,388件，共1,500元" in text
    assert "例外1,200件：赔付客户不满50岁1,200件，" in text


def test_narrative_without_tracking(book):
    text = evaluate(book, Tracking(), "2013Q2", "B2").narrative()
    assert "投诉：无数据" in text and "电话回访：无数据" in text and "赔偿：无数据" in text
    assert "万能险保单持有率：无数据" in text and "保单转换：无数据" in text


def _prepared(book, tracking, tmp_path) -> dict[str, str]:
    """``book`` and ``tracking`` as the prepared dataset ``demo`` under ``tmp_path``."""
    folder = tmp_path / "processed" / "demo"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")  # prepared, no raw copy: used as it is
    book.to_parquet(folder / "policies.parquet")
    for kind in KINDS:
        tracking[kind].to_parquet(folder / f"{kind}.parquet")
    return {"raw_dir": str(tmp_path / "raw"), "processed_dir": str(tmp_path / "processed")}


def test_dataset_by_branch_is_by_branch_of_the_prepared_files(book, tracking, tmp_path):
    where = _prepared(book, tracking, tmp_path)
    folder = tmp_path / "processed" / "demo"
    first = dataset_by_branch("demo", "2013Q2", **where)
    pd.testing.assert_frame_equal(first, by_branch(book, tracking, "2013Q2"))
    first.loc[("B1", "policy_conversion"), "实际"] = 99  # the caller's copy only
    again = dataset_by_branch("demo", "2013Q2", **where)
    assert again.loc[("B1", "policy_conversion"), "实际"] == 3  # 3 转保 in Q2
    other = dataset_by_branch("demo", "2013-05", **where)  # another period, another result
    pd.testing.assert_frame_equal(other, by_branch(book, tracking, "2013-05"))
    book[book["branch_code"] == "B2"].to_parquet(folder / "policies.parquet")  # rewritten
    rewritten = dataset_by_branch("demo", "2013Q2", **where)
    assert rewritten.index.get_level_values("branch_code").unique().tolist() == ["B2"]


def test_dataset_reconciliation_is_kept_per_prepared_files(book, tracking, tmp_path, monkeypatch):
    """The whole book's reconciliation, computed once per process while the files are
    unchanged; each call gets its own copy."""
    where = _prepared(book, tracking, tmp_path)
    first = dataset_reconciliation("demo", **where)
    expected = reconciliation(book, None, tracking)
    assert len(expected) > 5
    pd.testing.assert_frame_equal(first, expected)
    first.loc[0, "status"] = "改过"  # the caller's copy only

    def not_again(*args):
        raise AssertionError("computed again")

    with monkeypatch.context() as patched:
        patched.setattr(reconcile, "reconciliation", not_again)
        pd.testing.assert_frame_equal(dataset_reconciliation("demo", **where), expected)
    b2 = book[book["branch_code"] == "B2"]
    b2.to_parquet(tmp_path / "processed" / "demo" / "policies.parquet")  # rewritten
    pd.testing.assert_frame_equal(
        dataset_reconciliation("demo", **where), reconciliation(b2, None, tracking)
    )


def test_dataset_by_branch_is_computed_once_for_every_process(
    book, tracking, tmp_path, monkeypatch
):
    where = _prepared(book, tracking, tmp_path)
    store = tmp_path / "processed" / evaluation.STORE / "demo"
    first = dataset_by_branch("demo", "2013Q2", **where)
    [stored] = store.glob("*.parquet")

    def not_again(*args):
        raise AssertionError("computed again")

    evaluation._by_branch_memo.clear()  # as another process of the run finds it
    with monkeypatch.context() as patched:
        patched.setattr(evaluation, "by_branch", not_again)
        pd.testing.assert_frame_equal(dataset_by_branch("demo", "2013Q2", **where), first)
        with pytest.raises(AssertionError, match="computed again"):  # not stored: computed
            dataset_by_branch("demo", "2013-05", **where)
    stored.write_bytes(b"damaged")
    evaluation._by_branch_memo.clear()
    pd.testing.assert_frame_equal(dataset_by_branch("demo", "2013Q2", **where), first)
    book[book["branch_code"] == "B2"].to_parquet(tmp_path / "processed/demo/policies.parquet")
    dataset_by_branch("demo", "2013Q2", **where)
    names = sorted(p.name for p in store.glob("*.parquet"))
    assert len(names) == 1 and not names[0].startswith(stored.name[:16])  # the old file went


def test_processes_needing_the_summaries_at_once_wait_for_the_one_computing_them(
    book, tracking, tmp_path, monkeypatch
):
    """The runner's index thread and a report kernel needing every branch's summaries at the
    same time: the second waits on the store's lock and reads what the first stored. Two
    threads here, each holding a lock of its own on the file, as two processes hold theirs."""
    import threading

    import filelock

    where = _prepared(book, tracking, tmp_path)
    computing, arrived, go = threading.Event(), threading.Event(), threading.Event()
    computed, results = [], {}
    real_by_branch, real_acquire = evaluation.by_branch, filelock.FileLock.acquire

    def by_branch_held(*args):  # the first holds its computation until the second arrived
        computed.append(threading.current_thread().name)
        computing.set()
        if len(computed) > 1:  # the second computing too
            arrived.set()
        assert go.wait(30)
        return real_by_branch(*args)

    def acquire(self, *args, **kwargs):
        if threading.current_thread().name == "second":
            arrived.set()  # about to wait for the first's lock
        return real_acquire(self, *args, **kwargs)

    def run():
        results[threading.current_thread().name] = dataset_by_branch("demo", "2013Q2", **where)

    monkeypatch.setattr(evaluation, "by_branch", by_branch_held)
    monkeypatch.setattr(filelock.FileLock, "acquire", acquire)
    threads = [threading.Thread(target=run, name=name) for name in ("first", "second")]
    threads[0].start()
    assert computing.wait(30)
    threads[1].start()
    assert arrived.wait(30)
    go.set()
    for thread in threads:
        thread.join(30)
    assert computed == ["first"]  # the second read the first's file
    expected = real_by_branch(book, tracking, "2013Q2")
    for name in ("first", "second"):
        pd.testing.assert_frame_equal(results[name], expected)


def test_summaries_are_computed_where_their_store_cannot_be_made(book, tracking, tmp_path):
    where = _prepared(book, tracking, tmp_path)
    (tmp_path / "processed" / evaluation.STORE).write_text("not a folder")
    pd.testing.assert_frame_equal(
        dataset_by_branch("demo", "2013Q2", **where), by_branch(book, tracking, "2013Q2")
    )


def test_league_of_the_branches(book, tracking):
    from maturity_analysis.analysis.league import league_table

    g = league_table(by_branch(book, tracking, "2013Q2"))
    assert g.loc["B1", ("保单转换", "结论")] == PENDING
    assert g.loc["B2", ("存款转换", "结论")] == NOT_MET
    assert "赔偿金额" not in g.columns.get_level_values(0)  # not a plan target
    assert g.loc["B1", ("万能险保单持有率", "结论")] == "数据不全"
    assert g.loc["B2", ("投诉处理满意度", "结论")] == "无数据"
    # none met; judged: the plan targets' verdicts that are 达标, 未达标 or 待定
    for code in ("B1", "B2"):
        verdicts = g.loc[code].xs("结论", level=1)
        judged = verdicts.isin([MET, NOT_MET, PENDING]).sum()
        assert g.loc[code, ("达标项数", "")] == f"0/{judged}"


def test_calls_per_day_chart_without_a_log(plots):
    ax = plots.calls_per_day(team_days(Tracking(), "2013Q2"))
    assert "没有记录" in ax.texts[0].get_text()


def test_a_branch_code_given_as_a_number(book, tracking):
    # papermill's -p infers 420302 as an int; the functions take it as the code it is.
    book2 = book.assign(branch_code=book["branch_code"].str.replace("B", "42030"))
    trk = Tracking(
        worklog=tracking.worklog.assign(
            branch_code=tracking.worklog["branch_code"].str.replace("B", "42030")
        )
    )
    assert len(team_days(trk, "2013Q2", 420301)) == 124  # 2 teams × 62 working days
    assert evaluate(book2, trk, "2013Q2", 420301).branch == "420301"


def test_index_shows_each_branchs_kpis_with_values(book, tracking):
    # The index's league tables: B1's May policy conversions 3 (D1-D3) of 6 against an
    # allocated 1 → 300%, 达标 (Wilson 18.8%-81.2% leaves out 16.7%); B2 has nothing maturing
    # in May and no target: —, unranked. B1's one May complaint (D2) is not satisfied: 未达标.
    from maturity_analysis.reports.index import kpi_leagues

    [subs, branches] = kpi_leagues(book, tracking, "2013-05").tables
    t = branches.table
    assert t.loc["B1", ("保单转换", "实际")] == 3 and t.loc["B1", ("保单转换", "目标")] == 1
    assert t.loc["B1", ("保单转换", "结论")] == MET and t.loc["B1", ("保单转换", "排名")] == 1
    assert t.loc["B2", ("保单转换", "结论")] == "—" and pd.isna(t.loc["B2", ("保单转换", "排名")])
    assert t.loc["B1", ("投诉处理满意度", "结论")] == NOT_MET
    html = branches.to_html()
    assert '<td class="met">达标</td>' in html  # the text is its own sort key
    assert '<td class="miss">未达标</td>' in html
    assert list(subs.table.index) == ["支局一"]  # both branches' 支局, on their sums


def test_index_has_no_kpis_without_tracking(book):
    from maturity_analysis.reports.index import kpi_leagues

    assert kpi_leagues(book, Tracking(), "2013Q2") is None


def test_the_kept_allocation_is_the_computed_one_and_follows_the_book(book, tracking):
    """The allocation kept in the process (every unit's evaluation needs the same one) equals a
    fresh computation, is handed out as copies, and is recomputed when the book changes."""
    from maturity_analysis.analysis import evaluation

    plan = evaluation.load_plan()
    evaluation._allocation_memo.clear()
    cold = evaluation._allocations(book, plan)
    warm = evaluation._allocations(book, plan)
    fresh = {b: evaluation.month_allocation(book, plan, b) for b in evaluation.BASES}
    for basis, expected in fresh.items():
        pd.testing.assert_frame_equal(cold[basis], expected)
        pd.testing.assert_frame_equal(warm[basis], expected)
    warm[evaluation.BASES[0]].loc[:, "allocated"] = -1  # a caller's change stays its own
    again = evaluation._allocations(book, plan)
    pd.testing.assert_frame_equal(again[evaluation.BASES[0]], fresh[evaluation.BASES[0]])
    moved = book.assign(branch_code=book["branch_code"].replace({"B2": "B1"}))
    changed = evaluation._allocations(moved, plan)[evaluation.BASES[0]]
    assert set(changed["branch_code"]) == {"B1"}
    assert evaluate(book, tracking, "2013Q2", "B1").summary.equals(
        evaluate(book.copy(), tracking, "2013Q2", "B1").summary
    )

"""Each KPI against a small hand-built programme whose answers are worked out in the comments.

The book (every 分红 customer is 40, inside the conversion targets' 20-60 base):
  B1  Q1: Q1a..Q1e   5 分红 maturing 2013-02-15, all 转保
      Q2: D1..D6     6 分红 maturing 2013-05-15: D1-D3 转保, D4-D5 转存, D6 领取
          D7..D10    4 分红 maturing 2013-06-15: 领取
          U1..U4     4 万能 due 2013-05-20: U1 续持, U2 退保, U3 nothing recorded, U4 领取
  B2  Q2: E1..E10   10 分红 maturing 2013-04-20, no outcome recorded

Allocated targets (targets.branch_phase_allocation, basis "rate", largest remainder):
  保单转换: base 15 (B1) + 10 (B2) = 25; goal ceil(20% × 25) = 5 → B1 5×15/25 = 3, B2 2.
            B1 by phase: Q1 3×5/15 = 1, Q2 3×10/15 = 2.  B2: Q2 2.
  存款转换: goal ceil(30% × 25 = 7.5) = 8 → B1 4.8, B2 3.2 → floors 4, 3 + 1 to B1 → 5, 3.
            B1 by phase: Q1 1.67, Q2 3.33 → floors 1, 3 + 1 to Q1 → Q1 2, Q2 3.  B2: Q2 3.
"""

import math

import numpy as np
import pandas as pd
import pytest

from maturity_analysis.analysis.evaluation import (
    MET,
    NOT_MET,
    SUMMARY_COLUMNS,
    allocated,
    by_branch,
    dataset_by_branch,
    evaluate,
    parse_period,
    team_days,
    wilson,
)
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
    ("key", "actual", "target", "met"),
    [
        ("policy_conversion_count", 3, 2, True),  # D1-D3 转保; B1's Q2 share is 2
        ("policy_conversion_rate", 0.3, 0.2, True),  # 3 of B1's 10 Q2 分红 customers
        ("deposit_conversion_count", 2, 3, False),  # D4-D5 转存; B1's Q2 share is 3
        ("deposit_conversion_rate", 0.2, 0.3, False),  # 2 of 10
        ("persistency", 0.5, 0.6, False),  # U1 续持 + U3 unrecorded = 2 of 4
        ("complaint_satisfaction", 1 / 3, 0.8, False),  # D1 yes, D2 no, D3 no; D4 pending
        ("answered_in_time", 0.6, 1.0, False),  # c1, c3, c4 of c1-c5
        ("calls_per_team_day", 18.75, 20, False),  # (22 + 18 + 20 + 15) / 4 team-days
        ("team_days_short", 2, 0, False),  # 18 and 15
        ("phoned_before_maturity", 10 / 14, 1.0, False),  # D1-D10 reached; U1-U4 not in time
    ],
)
def test_kpi_for_one_branch_and_quarter(b1_q2, key, actual, target, met):
    row = b1_q2.loc[key]
    assert row["实际"] == pytest.approx(actual)
    assert row["目标"] == pytest.approx(target)
    assert bool(row["达标"]) is met


def test_numerators_and_denominators(b1_q2):
    s = b1_q2
    assert s.loc["policy_conversion_rate", ["分子", "分母"]].tolist() == [3, 10]
    assert s.loc["persistency", ["分子", "分母"]].tolist() == [2, 4]
    assert s.loc["complaint_satisfaction", ["分子", "分母"]].tolist() == [1, 3]
    assert s.loc["policy_conversion_count", "达成率"] == pytest.approx(1.5)  # 3 / 2
    assert s.loc["deposit_conversion_count", "达成率"] == pytest.approx(2 / 3)


def test_notes_say_what_is_pending_or_assumed(b1_q2):
    assert "另1人待答复" in b1_q2.loc["complaint_satisfaction", "说明"]  # D4
    assert "未登记去向1件" in b1_q2.loc["persistency", "说明"]  # U3
    assert "未答复1件" in b1_q2.loc["answered_in_time", "说明"]  # c5


def test_compensation_paid(b1_q2):
    row = b1_q2.loc["compensation_paid"]
    assert row["实际"] == 1500  # c3 only; c6's 999 is in Q1
    assert row["分子"] == 1
    assert pd.isna(row["目标"]) and pd.isna(row["达标"])
    assert "1件客户不满50岁" in row["说明"]  # D3 is 40; the plan pays out to customers over 50


def test_wilson_interval_on_small_bases(b1_q2):
    # 3 / 10 at 95%: z = 1.96, centre (0.3 + 1.92/10) / 1.384 = 0.3555,
    # half 1.96 × sqrt(0.021 + 0.0096) / 1.384 = 0.2477 → (0.1078, 0.6032).
    row = b1_q2.loc["policy_conversion_rate"]
    assert (row["区间下限"], row["区间上限"]) == pytest.approx((0.1078, 0.6032), abs=1e-4)
    assert pd.isna(b1_q2.loc["policy_conversion_count", "区间下限"])  # counts have none


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
    # 保单转换: B1 3 + B2 0 = 3 against 2 + 2 = 4; rate 3 / 20.
    assert s.loc["policy_conversion_count", ["实际", "目标"]].tolist() == [3, 4]
    assert s.loc["policy_conversion_rate", "实际"] == pytest.approx(0.15)
    # 日均回访量: (22 + 18 + 20 + 15 + 25) / 5 = 20, met; still 2 short days.
    assert s.loc["calls_per_team_day", "实际"] == 20
    assert bool(s.loc["calls_per_team_day", "达标"])
    assert s.loc["team_days_short", "实际"] == 2


def test_a_month(book, tracking):
    # B1's Q2 shares split by the month's base (Apr 0, May 6, Jun 4):
    # 保单转换 2 → 0, 1.2, 0.8 → May 1;  存款转换 3 → 0, 1.8, 1.2 → floors 0, 1, 1 + 1 to May → 2.
    assert allocated(book, "2013-05", "B1") == {
        "policy_conversion": 1,
        "deposit_conversion": 2,
        "persistency": 3,
    }
    s = evaluate(book, tracking, "2013-05", "B1").summary
    assert s.loc["policy_conversion_count", "实际"] == 3  # D1-D3 mature in May
    assert s.loc["deposit_conversion_count", "实际"] == 2  # D4-D5
    assert bool(s.loc["deposit_conversion_count", "达标"])


def test_the_year(book, tracking):
    s = evaluate(book, tracking, "2013", "B1").summary
    # Q1's five 转保 and Q2's three, against B1's whole share of 3.
    assert s.loc["policy_conversion_count", ["实际", "目标"]].tolist() == [8, 3]
    # 2013 complaints: c1-c6 → 6, of which c1, c3, c4, c6 within 7 days.
    assert s.loc["answered_in_time", "实际"] == pytest.approx(4 / 6)


def test_empty_tracking_gives_zeros_not_errors(book):
    s = evaluate(book, Tracking(), "2013Q2", "B2").summary
    assert s.loc["policy_conversion_count", "实际"] == 0
    assert s.loc["persistency", "分母"] == 0 and pd.isna(s.loc["persistency", "实际"])
    assert pd.isna(s.loc["calls_per_team_day", "实际"])


def test_by_branch_stacks_every_branch(book, tracking):
    table = by_branch(book, tracking, "2013Q2")
    assert list(table.index.get_level_values("branch_code").unique()) == ["B1", "B2"]
    assert table.loc[("B2", "policy_conversion_count"), "目标"] == 2
    assert list(table.columns) == SUMMARY_COLUMNS


def test_team_days(tracking):
    days = team_days(tracking, "2013Q2", "B1")
    assert days["calls"].tolist() == [22, 18, 20, 15]
    assert days["short"].tolist() == [False, True, False, True]


def test_display(book, tracking):
    ev = evaluate(book, tracking, "2013Q2", "B1")
    html = ev._repr_html_()
    assert "<table" in html and "促进期" in html
    table = ev.table()
    assert table.loc[table["KPI"] == "保单转换率", "实际"].item() == "30.0%"
    assert table.loc[table["KPI"] == "保单转换件数", "达标"].item() == MET
    assert table.loc[table["KPI"] == "存款转换件数", "达标"].item() == NOT_MET


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
    # 9 KPIs have a target with a 达成率 (team-days short has target 0, compensation none).
    assert len(ax.patches) == 9
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "保单转换件数" and "赔偿金额" not in labels
    colours = {t: p.get_facecolor() for t, p in zip(labels, ax.patches, strict=True)}
    assert colours["保单转换件数"] != colours["存款转换件数"]  # met (1.5) vs not met (0.67)


def test_kpi_by_branch_chart(plots, book, tracking):
    table = by_branch(book, tracking, "2013Q2")
    ax = plots.kpi_by_branch(table, "policy_conversion_rate", highlight="B1")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["▶ B1", "B2"]  # B1 highlighted
    assert ax.get_yticklabels()[0].get_color() != ax.get_yticklabels()[1].get_color()
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx([0.3, 0.0])  # 3/10 and 0/10
    assert ax.lines[-1].get_xdata()[0] == pytest.approx(0.2)  # the plan's 20% line
    # Wilson whiskers on both rates (bases of 10): B1 0.1078-0.6032, B2 0-0.2775.
    segments = ax.collections[0].get_segments()
    assert [tuple(np.round(s[:, 0], 4)) for s in segments] == [(0.1078, 0.6032), (0.0, 0.2775)]
    counts = plots.kpi_by_branch(table, "policy_conversion_count")
    assert [p.get_width() for p in counts.patches] == pytest.approx([1.5, 0.0])  # 3/2, 0/2


def test_kpis_by_branch_panels(plots, book, tracking):
    table = by_branch(book, tracking, "2013Q2")
    keys = ["policy_conversion_count", "policy_conversion_rate", "persistency"]
    axes = plots.kpis_by_branch(table, keys, highlight="B2")
    assert len(axes) == 3 and len({ax.figure for ax in axes}) == 1  # one figure, 2 × 2 grid
    assert [ax.get_title() for ax in axes] == [
        "保单转换件数：各网点",
        "保单转换率：各网点",
        "万能险保单持有率：各网点",
    ]
    # Labels on the first panel of each row only; the same bars as one chart per KPI.
    shown = [[t.get_text() for t in ax.get_yticklabels() if t.get_visible()] for ax in axes]
    assert shown[0] == shown[2] == ["B1", "▶ B2"]
    assert len(axes[1].get_yticks()) == 0
    assert [p.get_width() for p in axes[1].patches] == pytest.approx([0.3, 0.0])
    assert not axes[0].figure.axes[3].axison  # the empty fourth cell


def test_calls_per_day_chart(plots, tracking):
    ax = plots.calls_per_day(team_days(tracking, "2013Q2", "B1"))
    # 1 April: (22 + 15) / 2 = 18.5; 2 April 18; 7 April 20.
    assert list(ax.lines[0].get_ydata()) == [18.5, 18.0, 20.0]
    assert len(ax.collections[0].get_offsets()) == 2  # the two short team-days


def test_narrative_states_the_figures(book, tracking):
    text = evaluate(book, tracking, "2013Q2", "B1").narrative()
    # 10 KPIs with a target; met: 保单转换件数 (3 ≥ 2) and 保单转换率 (30% ≥ 20%).
    assert "有目标的10项指标中达标2项" in text
    assert "保单转换3件，分配目标2件（转换率30.0%，目标20.0%）" in text
    assert "5件投诉，60.0%在7天内答复；处理后满意度33.3%（目标80.0%）" in text
    assert (
        "附件三记录4个团队工作日，每团队日均回访18.8访（方案要求20访），2个团队工作日不足20访"
        in text
    )
    assert "赔偿1件，共1,500元" in text


def test_narrative_without_tracking(book):
    text = evaluate(book, Tracking(), "2013Q2", "B2").narrative()
    assert "本期没有投诉" in text and "本期附件三没有记录" in text and "本期没有赔偿" in text


def test_dataset_by_branch_is_by_branch_of_the_prepared_files(book, tracking, tmp_path):
    folder = tmp_path / "processed" / "demo"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text("{}")  # prepared, no raw copy: used as it is
    book.to_parquet(folder / "policies.parquet")
    for kind in KINDS:
        tracking[kind].to_parquet(folder / f"{kind}.parquet")
    where = {"raw_dir": str(tmp_path / "raw"), "processed_dir": str(tmp_path / "processed")}
    first = dataset_by_branch("demo", "2013Q2", **where)
    pd.testing.assert_frame_equal(first, by_branch(book, tracking, "2013Q2"))
    first.loc[("B1", "policy_conversion_count"), "实际"] = 99  # the caller's copy only
    again = dataset_by_branch("demo", "2013Q2", **where)
    assert again.loc[("B1", "policy_conversion_count"), "实际"] == 3  # 3 转保 in Q2
    other = dataset_by_branch("demo", "2013-05", **where)  # another period, another result
    pd.testing.assert_frame_equal(other, by_branch(book, tracking, "2013-05"))
    book[book["branch_code"] == "B2"].to_parquet(folder / "policies.parquet")  # rewritten
    rewritten = dataset_by_branch("demo", "2013Q2", **where)
    assert rewritten.index.get_level_values("branch_code").unique().tolist() == ["B2"]


def test_glance(book, tracking):
    from maturity_analysis.analysis.evaluation import glance

    g = glance(by_branch(book, tracking, "2013Q2"))
    assert g.loc["B1", "保单转换件数"] == MET and g.loc["B1", "存款转换件数"] == NOT_MET
    assert g.loc["B1", "赔偿金额"] == "—"
    assert g.loc["B1", MET] == "2/10"


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
    assert len(team_days(trk, "2013Q2", 420301)) == 4
    assert evaluate(book2, trk, "2013Q2", 420301).branch == "420301"


def test_index_shows_each_branchs_kpis_at_a_glance(book, tracking):
    # The index's KPI block is the glance table: B1 Q2 policy conversions 3 (D1-D3) against an
    # allocated 2 → 达标; B2 has no conversions against its allocated 2 → 未达标.
    from maturity_analysis.reports.index import _glance_block, kpi_glance

    table = kpi_glance(book, tracking, "2013Q2")
    html = _glance_block(table, "2013Q2")
    label = table.columns[0]
    assert "2013Q2 各网点KPI达标情况" in html
    assert table.loc["B1", label] == MET and table.loc["B2", label] == NOT_MET
    assert '<td class="met">达标</td>' in html and '<td class="miss">未达标</td>' in html


def test_index_has_no_kpis_without_tracking(book):
    from maturity_analysis.reports.index import _glance_block, kpi_glance

    assert kpi_glance(book, Tracking(), "2013Q2") is None
    assert _glance_block(None, "2013Q2") == ""

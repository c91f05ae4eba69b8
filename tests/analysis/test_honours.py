"""League tables and award candidates on a hand-built month, ties worked out here."""

from __future__ import annotations

import pytest

from maturity_analysis.analysis import honours
from maturity_analysis.ingest.forms import Tracking, frame
from maturity_analysis.plan.model import load_plan
from maturity_analysis.plan.period import parse_period

PLAN = load_plan()
MAY = parse_period("2013-05", PLAN)


@pytest.fixture
def month(make_policies):
    # A = B01 团队1, B = B01 团队2, C = B02 团队1, D = B02 团队2
    owners = [("B01", "王经理")] * 4 + [("B02", "李经理")] * 3
    book = make_policies(
        [{"branch_code": b, "manager": m, "maturity_date": "2013-06-01"} for b, m in owners]
    )
    team = {0: "团队1", 1: "团队1", 2: "团队2", 3: "团队2", 4: "团队1", 5: "团队1", 6: "团队2"}
    calls = frame(
        "calls",
        [
            {
                "policy_no": f"P{i:06d}",
                "team": t,
                "call_date": "2013-05-06",
                "intent": "未接通" if i == 6 else "考虑中",
            }
            for i, t in team.items()
        ],
    )
    outcomes = frame(
        "outcomes",
        [
            {"policy_no": p, "outcome": "转保", "outcome_date": d, "new_premium": 1e4}
            for p, d in [
                ("P000000", "2013-05-20"),
                ("P000002", "2013-05-21"),
                ("P000006", "2013-05-22"),
                ("P000004", "2013-07-01"),  # outside the month
            ]
        ],
    )
    complaints = frame(
        "complaints",
        [
            {
                "policy_no": p,
                "complaint_date": "2013-05-02",
                "answer_date": a,
                "complaint_point": "收益低",
                "irregular_surrender": False,
                "compensated": False,
                "branch_code": "B02",
            }
            for p, a in [("P000004", "2013-05-09"), ("P000005", "2013-05-10")]  # 7 and 8 days
        ],
    )
    return book, Tracking(calls=calls, outcomes=outcomes, complaints=complaints)


def test_team_counts(month):
    book, tracking = month
    counts = honours.criteria_counts(book, tracking, MAY, "team", PLAN)
    assert counts.to_dict("index") == {
        ("B01", "团队1"): {"conversions": 1, "reached": 2, "resolved_in_time": 0},
        ("B01", "团队2"): {"conversions": 1, "reached": 2, "resolved_in_time": 0},
        ("B02", "团队1"): {"conversions": 0, "reached": 2, "resolved_in_time": 1},
        ("B02", "团队2"): {"conversions": 1, "reached": 0, "resolved_in_time": 0},
    }


def test_team_ranking_breaks_ties_by_criteria_then_codes(month):
    # weights 0.5 / 0.3 / 0.2 of the best counts (1, 2, 1): A = B = 0.5 + 0.3 = 0.8;
    # C = 0.3 + 0.2 = 0.5 = D = 0.5. A before B by team; D before C by 转保件数 (1 > 0)
    book, tracking = month
    table = honours.league_table(book, tracking, MAY, "team", plan=PLAN)
    assert list(zip(table["网点代码"], table["团队"], strict=True)) == [
        ("B01", "团队1"),
        ("B01", "团队2"),
        ("B02", "团队2"),
        ("B02", "团队1"),
    ]
    assert table["得分"].tolist() == [0.8, 0.8, 0.5, 0.5]
    assert table.index.tolist() == [1, 2, 3, 4] and table.index.name == "名次"
    assert list(table.columns[2:5]) == ["转保件数", "有效回访", "投诉按时处理"]


def test_manager_ranking(month):
    # 王经理: 2 转保, 4 reached, 0 in time -> 0.5 + 0.3 = 0.8; 李经理: 1, 2, 1 -> .25+.15+.2
    book, tracking = month
    table = honours.league_table(book, tracking, MAY, "manager", plan=PLAN, masked=False)
    assert table["客户经理"].tolist() == ["王经理", "李经理"]
    masked = honours.league_table(book, tracking, MAY, "manager", plan=PLAN)
    assert masked["客户经理"].tolist() == ["王*理", "李*理"]  # staff names mask like customers'
    assert table["得分"].tolist() == [0.8, 0.6]


def test_award_candidates_follow_the_period_kind(month):
    # a month shows its own (月度) awards and its phase's (季度) to date; a quarter its own
    book, tracking = month
    got = honours.award_candidates(book, tracking, MAY, plan=PLAN).reset_index()
    by_kind = {k: [a for a in PLAN.honours.awards if a.period == k] for k in ("month", "quarter")}
    monthly = got[got["期间"] == "2013-05"]
    assert set(monthly["奖项"]) == {a.label for a in by_kind["month"]}
    assert monthly["候选"].tolist() == ["团队1", "团队2", "团队2"][: by_kind["month"][0].winners]
    quarter = got[got["期间"] == "2013Q2至今"]
    assert set(quarter["奖项"]) == {a.label for a in by_kind["quarter"]}
    q2 = honours.award_candidates(book, tracking, parse_period("2013Q2", PLAN), plan=PLAN)
    q2 = q2.reset_index()
    assert set(q2["期间"]) == {"2013Q2"} and set(q2["奖项"]) == set(quarter["奖项"])


def test_a_sub_branch_ranks_with_its_branches_complaints(month):
    """A 支局's league counts its branches' complaints answered in time (a 支局 is no branch
    code of a complaint): here both branches are its own, so it ranks as the whole book."""
    book, tracking = month
    assert set(book["sub_branch"]) == {"支局一"}
    whole = honours.league_table(book, tracking, MAY, "team", plan=PLAN)
    mine = honours.league_table(book, tracking, MAY, "team", "支局:支局一", PLAN)
    assert mine["投诉按时处理"].sum() == 1  # B02 团队1's complaint answered in 7 days
    assert mine.equals(whole)

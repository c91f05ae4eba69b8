"""The supervisor's daily check on a hand-built day."""

from __future__ import annotations

from datetime import date

import pytest

from maturity_analysis.analysis import daily
from maturity_analysis.analysis.book import enrich
from maturity_analysis.ingest.forms import Tracking, frame
from maturity_analysis.plan.model import load_plan

PLAN = load_plan()
DAY = date(2013, 5, 14)


@pytest.fixture
def day(make_policies):
    # 团队1 makes 18 calls and logs 18; 团队2 makes 20 and logs 22; 团队3 makes 20, no log
    book = enrich(make_policies([{"maturity_date": "2013-06-20"} for _ in range(58)]), PLAN)
    teams = ["团队1"] * 18 + ["团队2"] * 20 + ["团队3"] * 20
    calls = frame(
        "calls",
        [
            {"policy_no": f"P{i:06d}", "team": t, "call_date": DAY, "intent": "考虑中"}
            for i, t in enumerate(teams)
        ],
    )
    log = frame(
        "worklog",
        [
            {
                "work_date": DAY,
                "branch_code": "B01",
                "team": "团队1",
                "calls": 18,
                "note": "话术需加强",
            },
            {"work_date": DAY, "branch_code": "B01", "team": "团队2", "calls": 22},
        ],
    )
    return book, Tracking(calls=calls, worklog=log)


def test_a_team_with_18_calls_is_short_and_one_without_a_log_is_listed(day):
    book, tracking = day
    check = daily.daily_check(book, tracking, DAY, PLAN)
    assert check.day_off == ""
    t = check.teams.set_index("团队")
    assert t["附件一回访"].tolist() == [18, 20, 20]
    assert t["状态"].tolist() == [daily.SHORT, daily.ENOUGH, daily.ENOUGH]
    assert t.loc["团队1", "差额"] == 2 and t.loc["团队2", "附件三申报"] == 22
    assert t["附件三"].tolist() == [daily.LOGGED, daily.LOGGED, daily.NO_LOG]
    assert check.no_log["团队"].tolist() == ["团队3"] and check.short == 1
    assert check.notes.to_dict("records") == [
        {"网点代码": "B01", "团队": "团队1", "夕会总结": "话术需加强"}
    ]


def test_a_holiday_says_so(day):
    book, tracking = day
    assert daily.day_off_reason(date(2013, 5, 1), PLAN) == "劳动节"
    assert daily.day_off_reason(date(2013, 5, 4), PLAN) == "周末"
    assert daily.day_off_reason(date(2013, 4, 27), PLAN) == ""  # 调休: a working Saturday
    check = daily.daily_check(book, tracking, date(2013, 5, 1), PLAN)
    assert check.day_off == "劳动节" and check.teams.empty and check.short == 0


def test_complaints_due_today_are_listed_even_before_five_working_days(day):
    # received Fri 4-26, due 5-03 (7 days): only 4 working days (4-27, 4-28 调休; 5-02, 5-03)
    book, tracking = day
    comp = frame(
        "complaints",
        [
            {
                "policy_no": "P000000",
                "complaint_date": "2013-04-26",
                "complaint_point": "收益低",
                "irregular_surrender": False,
                "compensated": False,
                "branch_code": "B01",
            }
        ],
    )
    t = Tracking(calls=tracking.calls, worklog=tracking.worklog, complaints=comp)
    check = daily.daily_check(book, t, date(2013, 5, 3), PLAN)
    assert check.complaints["状态"].tolist() == ["今日到期"]
    assert check.complaints["已过工作日"].tolist() == [4]

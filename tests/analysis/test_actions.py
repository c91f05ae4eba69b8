"""The action lists on hand-built books: each answer worked out here."""

from __future__ import annotations

from datetime import date

import pandas as pd

from maturity_analysis.analysis import actions
from maturity_analysis.analysis.book import enrich
from maturity_analysis.ingest.forms import Tracking, frame
from maturity_analysis.plan.model import load_plan

PLAN = load_plan()
DAY = date(2013, 5, 13)  # a Monday


def _calls(rows):
    return frame("calls", [{"intent": "考虑中", "branch_code": "B01"} | r for r in rows])


def test_not_called_next_month_lists_only_june_customers_without_any_call(make_policies):
    book = make_policies(
        [
            {"maturity_date": "2013-06-03"},  # P000000: June, called (not reached): not listed
            {"maturity_date": "2013-06-20"},  # P000001: June, no call: listed
            {"maturity_date": "2013-07-01"},  # P000002: July: not next month
            {"maturity_date": "2013-06-28"},  # P000003: called only after the day: listed
        ]
    )
    calls = _calls(
        [
            {"policy_no": "P000000", "call_date": "2013-05-10", "intent": "未接通"},
            {"policy_no": "P000003", "call_date": "2013-05-14"},
        ]
    )
    got = actions.not_called_next_month(book, Tracking(calls=calls), DAY, masked=False)
    assert got["保单号"].tolist() == ["P000001", "P000003"]


def test_maturing_soon_not_reached(make_policies):
    book = make_policies(
        [
            {"maturity_date": "2013-05-15"},  # P0: only a call that did not reach: listed
            {"maturity_date": "2013-05-20"},  # P1: = day + 7, no call: listed
            {"maturity_date": "2013-05-21"},  # P2: day + 8: outside soon_days
            {"maturity_date": "2013-05-16"},  # P3: reached: not listed
        ]
    )
    assert PLAN.actions.soon_days == 7
    calls = _calls(
        [
            {"policy_no": "P000000", "call_date": "2013-05-09", "intent": "未接通"},
            {"policy_no": "P000003", "call_date": "2013-05-09", "intent": "意向转存"},
        ]
    )
    got = actions.maturing_not_reached(book, Tracking(calls=calls), DAY, PLAN, masked=False)
    assert got["保单号"].tolist() == ["P000000", "P000001"]
    assert got["距满期天数"].tolist() == [2, 7]
    assert got["未接通次数"].tolist() == [1, 0]


def _complaint(policy, received, answered=None):
    return {
        "policy_no": policy,
        "holder_name": "张三",
        "complaint_date": received,
        "complaint_point": "收益低",
        "answer_date": answered,
        "irregular_surrender": False,
        "compensated": False,
        "branch_code": "B01",
    }


def test_open_complaints_count_working_days_after_receipt():
    assert PLAN.actions.complaint_open_workdays == 5
    comp = frame(
        "complaints",
        [
            _complaint("A", "2013-05-06"),  # 5 working days (7,8,9,10,13): listed
            _complaint("B", "2013-05-06", "2013-05-10"),  # answered: not listed
            _complaint("C", "2013-05-07"),  # 4 working days: not listed
            _complaint("D", "2013-05-02", "2013-05-14"),  # answered only after the day: listed
            _complaint("E", "2013-05-14"),  # after the day: not listed
        ],
    )
    got = actions.open_complaints(Tracking(complaints=comp), DAY, PLAN, masked=False)
    assert got["保单号"].tolist() == ["D", "A"]  # by due date: 5-09, 5-13
    assert got["已过工作日"].tolist() == [7, 5]  # D: 3,6,7,8,9,10,13
    assert got["答复期限"].tolist() == [date(2013, 5, 9), date(2013, 5, 13)]
    assert got["状态"].tolist() == [actions.OVERDUE, actions.DUE_TODAY]


def test_open_complaints_skip_the_labour_day_holiday_and_count_its_weekend_workdays():
    # received Fri 2013-04-26; 4-27/28 are 调休 working days, 4-29..5-01 the holiday:
    # on Fri 5-03 it has been open 4 working days (27, 28, 2, 3), not the 5 weekdays
    comp = frame("complaints", [_complaint("A", "2013-04-26")])
    t = Tracking(complaints=comp)
    assert actions.open_complaints(t, date(2013, 5, 3), PLAN).empty
    got = actions.open_complaints(t, date(2013, 5, 6), PLAN)
    assert got["已过工作日"].tolist() == [5]


def test_key_customers_without_a_home_visit(make_policies):
    book = enrich(
        make_policies(
            [
                {"maturity_date": "2013-06-10", "premium": 60_000.0, "maturity_value": 70_000.0},
                {"maturity_date": "2013-06-11", "premium": 50_000.0, "maturity_value": 60_000.0},
                {"maturity_date": "2013-06-12", "premium": 49_000.0, "age": 40},
                {"maturity_date": "2013-07-12", "premium": 80_000.0, "maturity_value": 90_000.0},
            ]
        ),
        PLAN,
    )
    key = actions.key_customers(book, PLAN)
    # premium >= 5万; the third is below it and under risk_min_age
    assert key.tolist() == [True, True, False, True]
    calls = _calls(
        [
            {"policy_no": "P000000", "call_date": "2013-05-10", "visit_mode": "上门"},
            {"policy_no": "P000001", "call_date": "2013-05-10", "visit_mode": "电话"},
        ]
    )
    got = actions.key_not_visited(book, Tracking(calls=calls), DAY, PLAN, masked=False)
    assert got["保单号"].tolist() == ["P000001"]  # P3 matures after next month


def test_key_customers_by_risk_and_age(make_policies):
    book = pd.DataFrame(
        {
            "premium": [10_000.0, 10_000.0, 10_000.0],
            "risk_rating": ["A", "A", "B"],
            "age": [50, 49, 70],
        }
    )
    assert actions.key_customers(book, PLAN).tolist() == [True, False, False]


def test_lists_mask_customers_by_default(make_policies):
    book = enrich(make_policies([{"maturity_date": "2013-06-10", "holder_name": "欧阳明月"}]))
    lists = actions.action_lists(book, Tracking(), DAY, "B01", PLAN)
    row = lists[actions.NOT_CALLED].iloc[0]
    assert (row["客户姓名"], row["保单号"]) == ("欧阳*月", "***0000")
    counts = actions.list_counts(lists, book["branch_code"])
    # aged 50 and rated A (below the deposit): also a key customer not visited
    assert (book["risk_rating"].astype(str) == "A").all()
    assert counts.loc["B01"].tolist() == [1, 0, 0, 1] == counts.loc["合计"].tolist()


def test_a_sub_branch_lists_what_its_branches_list(make_policies):
    """A 支局's lists are its branches' lists together: its branches' open complaints (a 支局
    is no branch code of a complaint), and its policies' calls only."""
    book = enrich(
        make_policies(
            [
                {"branch_code": "B01", "sub_branch": "S1", "maturity_date": "2013-05-15"},
                {"branch_code": "B02", "sub_branch": "S1", "maturity_date": "2013-05-16"},
                {"branch_code": "B03", "sub_branch": "S2", "maturity_date": "2013-05-17"},
            ]
        )
    )
    calls = _calls([{"policy_no": "P000001", "call_date": "2013-05-09", "intent": "意向转存"}])
    comp = frame(
        "complaints",
        [
            _complaint("P000000", "2013-05-06") | {"branch_code": code}
            for code in ("B01", "B02", "B03")
        ],
    )
    tracking = Tracking(calls=calls, complaints=comp)
    lists = {
        unit: actions.action_lists(book, tracking, DAY, unit, PLAN, masked=False)
        for unit in ("支局:S1", "B01", "B02")
    }
    assert lists["支局:S1"][actions.COMPLAINTS]["网点代码"].tolist() == ["B01", "B02"]
    for name in actions.LISTS:
        together = pd.concat([lists["B01"][name], lists["B02"][name]])
        assert sorted(lists["支局:S1"][name]["保单号"]) == sorted(together["保单号"]), name
    assert lists["支局:S1"][actions.SOON]["保单号"].tolist() == ["P000000"]  # P000001 reached

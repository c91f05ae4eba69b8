"""Chinese working days: holidays and make-up working days (调休) come from chinesecalendar.

Expected dates are from the State Council's holiday notices (国务院办公厅关于2012/2013/2014年
部分节假日安排的通知), not from the package itself.
"""

from datetime import date

import pytest

from maturity_analysis.exceptions import PlanError
from maturity_analysis.plan.workdays import (
    covered_years,
    is_workday,
    month_bounds,
    shift_month,
    working_days,
)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2013-01-05", True),  # Saturday, 调休 for 元旦 (1月1日-3日放假, 5日6日上班)
        ("2013-01-06", True),  # Sunday, same
        ("2013-02-16", True),  # Saturday, 调休 for 春节 (2月9日-15日放假, 16日17日上班)
        ("2013-02-17", True),  # Sunday, same
        ("2013-04-07", True),  # Sunday, 调休 for 清明 (4月4日-6日放假)
        ("2013-09-29", True),  # Sunday, 调休 for 国庆 (10月1日-7日放假, 9月29日10月12日上班)
        ("2013-10-12", True),  # Saturday, same
        ("2013-01-12", False),  # an ordinary Saturday
        ("2013-01-02", False),  # 元旦 holiday on a Wednesday
        ("2013-02-11", False),  # 春节 holiday on a Monday
        ("2013-10-07", False),  # 国庆 holiday on a Monday
        ("2013-01-04", True),  # an ordinary Friday
        ("2012-09-29", True),  # Saturday, 调休 for 2012 中秋国庆 (9月30日-10月7日放假)
        ("2012-10-03", False),  # 2012 国庆 holiday on a Wednesday
        ("2014-01-26", True),  # Sunday, 调休 for 2014 春节 (1月31日-2月6日放假)
        ("2014-02-03", False),  # 2014 春节 holiday on a Monday
    ],
)
def test_is_workday_follows_the_holiday_notices(day, expected):
    assert is_workday(date.fromisoformat(day)) is expected


def test_working_days_across_the_2013_spring_festival():
    # 2月8日 Friday works, 9日-15日 holiday, 16日 Saturday and 17日 Sunday 调休, 18日 Monday.
    got = working_days("2013-02-08", "2013-02-18")
    assert [d.isoformat() for d in got] == ["2013-02-08", "2013-02-16", "2013-02-17", "2013-02-18"]


def test_working_days_of_an_empty_span():
    assert working_days("2013-03-02", "2013-03-01") == []


def test_the_plan_years_are_covered():
    first, last = covered_years()
    assert first <= 2012 and last >= 2014


@pytest.mark.parametrize("day", [date(1999, 10, 1), date(2099, 1, 1)])
def test_a_year_the_calendar_lacks_is_a_clear_error(day):
    with pytest.raises(PlanError, match=rf"{day.year}.*chinesecalendar"):
        is_workday(day)
    with pytest.raises(PlanError, match="upgrade"):
        working_days(day, day)


@pytest.mark.parametrize(
    ("ym", "by", "expected"),
    [((2013, 1), -1, (2012, 12)), ((2013, 12), 1, (2014, 1)), ((2013, 5), 0, (2013, 5))],
)
def test_shift_month(ym, by, expected):
    assert shift_month(*ym, by) == expected


def test_month_bounds_of_december():
    assert month_bounds(2012, 12) == (date(2012, 12, 1), date(2012, 12, 31))


def test_same_answers_as_the_package_for_2012_to_2014():
    # working_days applies chinese_calendar's rule to its data directly (the package's own
    # is_workday re-checks its whole range on every call); both must agree on every day.
    import chinese_calendar

    days = working_days("2012-01-01", "2014-12-31")
    every = [
        date.fromordinal(n)
        for n in range(date(2012, 1, 1).toordinal(), date(2014, 12, 31).toordinal() + 1)
    ]
    assert days == [d for d in every if chinese_calendar.is_workday(d)]

"""Chinese working days: public holidays and make-up working days (调休) from ``chinesecalendar``.

The calendar is the maintained PyPI package ``chinesecalendar`` (imported as
``chinese_calendar``), which follows the State Council's yearly holiday notices. It knows a
limited range of years; a date outside it raises :class:`~maturity_analysis.exceptions.PlanError`
saying which years are covered and how to get newer ones, rather than guessing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache

import chinese_calendar
import pandas as pd

from ..exceptions import PlanError


@cache
def covered_years() -> tuple[int, int]:
    """First and last year the installed ``chinesecalendar`` has holiday data for.

    >>> first, last = covered_years()
    >>> first <= 2012 and last >= 2014
    True
    """
    years = {d.year for d in chinese_calendar.holidays}  # the package's own test of coverage
    return min(years), max(years)


def _workday(day: date) -> bool:
    """The package's rule (``chinese_calendar.is_workday``) on its data, without its per-call
    range check, which scans every holiday it knows: 调休 days work, holidays do not, else
    Monday to Friday."""
    if day in chinese_calendar.workdays:
        return True
    return day.weekday() < 5 and day not in chinese_calendar.holidays


def _as_date(day: date | datetime | pd.Timestamp | str) -> date:
    if isinstance(day, str):
        day = pd.Timestamp(day)
    if isinstance(day, datetime):  # also pd.Timestamp
        return day.date()
    return day


def _check(day: date) -> None:
    first, last = covered_years()
    if not first <= day.year <= last:
        version = getattr(chinese_calendar, "__version__", "?")
        raise PlanError(
            f"{day}: the Chinese holiday calendar (chinesecalendar {version}) covers "
            f"{first}-{last} only; upgrade it (pip install -U chinesecalendar) for {day.year}"
        )


def is_workday(day: date | datetime | pd.Timestamp | str) -> bool:
    """Whether ``day`` is a working day in mainland China (调休 Saturdays count, holidays do not).

    >>> is_workday(date(2013, 1, 5)), is_workday(date(2013, 10, 1)), is_workday("2013-02-16")
    (True, False, True)
    """
    d = _as_date(day)
    _check(d)
    return _workday(d)


def working_days(
    start: date | datetime | pd.Timestamp | str, end: date | datetime | pd.Timestamp | str
) -> list[date]:
    """Working days from ``start`` to ``end``, both included, in order.

    >>> [d.isoformat() for d in working_days("2013-02-15", "2013-02-18")]
    ['2013-02-16', '2013-02-17', '2013-02-18']
    """
    first, last = _as_date(start), _as_date(end)
    if last < first:
        return []
    _check(first)
    _check(last)
    days = (first + timedelta(n) for n in range((last - first).days + 1))
    return [d for d in days if _workday(d)]


def month_bounds(year: int, month: int) -> tuple[date, date]:
    """First and last day of a calendar month.

    >>> month_bounds(2013, 2)
    (datetime.date(2013, 2, 1), datetime.date(2013, 2, 28))
    """
    first = date(year, month, 1)
    nxt = date(year + month // 12, month % 12 + 1, 1)
    return first, nxt - timedelta(1)


def shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    """The (year, month) ``by`` months away (negative: earlier).

    >>> shift_month(2013, 1, -1)
    (2012, 12)
    """
    k = year * 12 + month - 1 + by
    return k // 12, k % 12 + 1

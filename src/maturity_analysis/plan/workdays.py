"""Chinese working days: public holidays and make-up working days (调休) from ``chinesecalendar``,
or from the State Council's holiday notice carried in the plan file.

The calendar is the maintained PyPI package ``chinesecalendar`` (imported as
``chinese_calendar``), which follows the State Council's yearly holiday notices. It knows a
limited range of years. A plan file may carry a year's notice (``[[holiday_notice]]``: its
holidays and its 调休 working days); for that year the notice is used, also where the package
has the year too (:func:`calendar_notes` says so). A date in a year neither knows raises
:class:`~maturity_analysis.exceptions.PlanError` naming the year and both ways to fix it; no
holiday is ever guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class HolidayNotice:
    """One year's State Council holiday notice, as the plan file gives it: the days off
    (``holidays``) and the weekend days worked instead (``workdays``, 调休)."""

    year: int
    title: str
    holidays: frozenset[date]
    workdays: frozenset[date]


Notices = tuple[HolidayNotice, ...]


def _notice(day: date, notices: Notices) -> HolidayNotice | None:
    return next((n for n in notices if n.year == day.year), None)


def _workday(day: date, notices: Notices = ()) -> bool:
    """The package's rule (``chinese_calendar.is_workday``) on its data, or on the year's notice
    when the plan carries one, without the package's per-call range check, which scans every
    holiday it knows: 调休 days work, holidays do not, else Monday to Friday."""
    if (n := _notice(day, notices)) is not None:
        workdays, holidays = n.workdays, n.holidays
    else:
        workdays, holidays = chinese_calendar.workdays, chinese_calendar.holidays
    if day in workdays:
        return True
    return day.weekday() < 5 and day not in holidays


def _as_date(day: date | datetime | pd.Timestamp | str) -> date:
    if isinstance(day, str):
        day = pd.Timestamp(day)
    if isinstance(day, datetime):  # also pd.Timestamp
        return day.date()
    return day


def _check(day: date, notices: Notices = ()) -> None:
    first, last = covered_years()
    if not first <= day.year <= last and _notice(day, notices) is None:
        version = getattr(chinese_calendar, "__version__", "?")
        raise PlanError(
            f"{day}: no holiday calendar for {day.year}: chinesecalendar {version} covers "
            f"{first}-{last} only; upgrade it (pip install -U chinesecalendar) or add the State "
            f"Council's {day.year} holiday notice to the plan file ([[holiday_notice]], "
            "see the README)"
        )


def is_workday(day: date | datetime | pd.Timestamp | str, notices: Notices = ()) -> bool:
    """Whether ``day`` is a working day in mainland China (调休 Saturdays count, holidays do not);
    ``notices``: the plan's holiday notices (``plan.holiday_notices``).

    >>> is_workday(date(2013, 1, 5)), is_workday(date(2013, 10, 1)), is_workday("2013-02-16")
    (True, False, True)
    """
    d = _as_date(day)
    _check(d, notices)
    return _workday(d, notices)


def working_days(
    start: date | datetime | pd.Timestamp | str,
    end: date | datetime | pd.Timestamp | str,
    notices: Notices = (),
) -> list[date]:
    """Working days from ``start`` to ``end``, both included, in order; ``notices``: the plan's
    holiday notices (``plan.holiday_notices``), used for their years.

    >>> [d.isoformat() for d in working_days("2013-02-15", "2013-02-18")]
    ['2013-02-16', '2013-02-17', '2013-02-18']
    """
    first, last = _as_date(start), _as_date(end)
    if last < first:
        return []
    for year in range(first.year, last.year + 1):
        _check(max(first, date(year, 1, 1)), notices)
    days = (first + timedelta(n) for n in range((last - first).days + 1))
    return [d for d in days if _workday(d, notices)]


def calendar_notes(notices: Notices) -> list[str]:
    """One line per holiday notice taken from the plan file, saying whether it fills a year the
    installed ``chinesecalendar`` lacks or overrides the package's data for that year."""
    first, last = covered_years()
    out = []
    for n in notices:
        how = (
            "覆盖 chinesecalendar 的同年数据"
            if first <= n.year <= last
            else "chinesecalendar 无该年数据"
        )
        out.append(
            f"{n.year}年节假日按方案文件所附通知（{n.title}）：放假 {len(n.holidays)} 天、"
            f"调休上班 {len(n.workdays)} 天（{how}）"
        )
    return out


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

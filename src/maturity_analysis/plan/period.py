"""THE period: a year, a phase of the plan (``2013Q2``), a month or a day, parsed once.

Every command, report and table that takes a period reads it here, on the plan's own phases:
``2013Q2`` is the plan's phase ``Q2`` (促进期, April to June in the 2013 plan), not a calendar
quarter, so a plan whose phases are not calendar quarters is followed everywhere alike.

>>> p = parse_period("2013Q2")
>>> p.label, p.kind, p.start, p.end, p.name
('2013Q2', 'quarter', datetime.date(2013, 4, 1), datetime.date(2013, 6, 30), '促进期')
>>> parse_period("2013年5月").label, parse_period("2013-05-14").kind
('2013-05', 'day')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from ..exceptions import PlanError
from .model import Plan, load_plan
from .workdays import month_bounds

KINDS = ("year", "quarter", "month", "day")
_QUARTER = re.compile(r"(\d{4})\s*-?\s*Q([1-9])")
_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?")
_DAY = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_YEAR = re.compile(r"(\d{4})\s*年?")
_EXPECTED = "a year (2013), a phase (2013Q2), a month (2013-05) or a day (2013-05-14)"


@dataclass(frozen=True)
class Period:
    """A reporting period: ``kind`` is one of :data:`KINDS`; ``start`` and ``end`` inclusive;
    ``name`` the phase's name (促进期), 全年 for the year, empty outside the plan's phases."""

    label: str
    kind: str
    start: date
    end: date
    name: str = ""

    def contains(self, dates: pd.Series) -> pd.Series:
        """Whether each date falls in the period."""
        d = pd.to_datetime(dates)
        return (d >= pd.Timestamp(self.start)) & (d <= pd.Timestamp(self.end))

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """First and last day as timestamps."""
        return pd.Timestamp(self.start), pd.Timestamp(self.end)


def _phase_name(plan: Plan, year: int, month: int) -> str:
    if year != plan.year:
        return ""
    return next((p.name for p in plan.phases if p.first_month <= month <= p.last_month), "")


def parse_period(text: object, plan: Plan | None = None) -> Period:
    """Read a period: ``"2013"``, ``"2013Q2"`` (a phase of the plan), ``"2013-05"`` (also
    ``2013/5``, ``2013年5月``), ``"2013-05-14"``; a :class:`datetime.date`, a
    :class:`pandas.Period` or a :class:`Period` are taken as they are.

    Raises
    ------
    PlanError
        Naming the text and what was expected, or the phases the plan has.
    """
    if isinstance(text, Period):
        return text
    plan = plan or load_plan()
    if isinstance(text, date):  # datetime and Timestamp too: the day
        text = date(text.year, text.month, text.day).isoformat()
    t = str(text).strip().upper()
    if m := _QUARTER.fullmatch(t):
        year, key = int(m[1]), f"Q{m[2]}"
        phase = next((p for p in plan.phases if p.key == key), None)
        if phase is None:
            raise PlanError(
                f"period '{text}': the plan has no phase {key} "
                f"(phases: {', '.join(p.key for p in plan.phases)})"
            )
        return Period(f"{year}{key}", "quarter", phase.start(year), phase.end(year), phase.name)
    if m := _DAY.fullmatch(t):
        try:
            day = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise PlanError(f"period '{text}': no such day; expected {_EXPECTED}") from None
        name = _phase_name(plan, day.year, day.month)
        return Period(day.isoformat(), "day", day, day, name)
    if m := _MONTH.fullmatch(t):
        year, month = int(m[1]), int(m[2])
        if 1 <= month <= 12:
            first, last = month_bounds(year, month)
            return Period(
                f"{year}-{month:02d}", "month", first, last, _phase_name(plan, year, month)
            )
    if m := _YEAR.fullmatch(t):
        year = int(m[1])
        return Period(str(year), "year", date(year, 1, 1), date(year, 12, 31), "全年")
    raise PlanError(f"period '{text}': expected {_EXPECTED}")


def period_kind(text: object, plan: Plan | None = None) -> str:
    """``"year"``, ``"quarter"``, ``"month"`` or ``"day"``.

    >>> period_kind("2013"), period_kind("2013Q2"), period_kind("2013-05")
    ('year', 'quarter', 'month')
    """
    return parse_period(text, plan).kind


def report_period(text: object, plan: Plan | None = None) -> Period:
    """A period reports are made for: the year, a phase or a month (a day is the daily check's).

    >>> report_period("2013q2").label
    '2013Q2'
    """
    plan = plan or load_plan()
    p = in_plan_year(parse_period(text, plan), plan)
    if p.kind == "day":
        raise PlanError(f"period '{text}': reports are made for {_EXPECTED.rsplit(' or ', 1)[0]}")
    return p


def in_plan_year(period: Period, plan: Plan) -> Period:
    """``period`` when it lies in the plan year, else a :class:`PlanError` naming both: the
    plan's targets, phases and programme are that year's.

    >>> in_plan_year(parse_period("2014"), load_plan())
    Traceback (most recent call last):
    ...
    maturity_analysis.exceptions.PlanError: period '2014' is outside the plan year 2013 of plan.toml; give a period of 2013 or the plan file for 2014 (--plan)
    """
    if period.start.year != plan.year or period.end.year != plan.year:
        raise PlanError(
            f"period '{period.label}' is outside the plan year {plan.year} of "
            f"{Path(plan.source).name}; give a period of {plan.year} or the plan file for "
            f"{period.start.year} (--plan)"
        )
    return period


def parse_month(month: object, plan: Plan | None = None) -> tuple[int, int]:
    """A month as ``(year, month)``: ``"2013-02"``, ``2013年2月``, a date or ``(2013, 2)``.

    >>> parse_month("2013-02"), parse_month((2013, 12))
    ((2013, 2), (2013, 12))
    """
    if isinstance(month, tuple):
        month = f"{month[0]}-{month[1]}"
    try:
        p = parse_period(month, plan)
    except PlanError:
        p = None
    if p is None or p.kind not in ("month", "day"):
        raise PlanError(f"month '{month}' should look like 2013-02")
    return p.start.year, p.start.month

"""The supervisor's daily check (由主管进行每日检查): one unit's working day, as pure tables.

For a day and a unit (ALL, a 支局 or a 网点): each team's 附件一 calls against the plan's
``calls_per_day`` with 附件三's claim beside them (the evaluation's team-day grid,
:func:`~maturity_analysis.analysis.evaluation.team_days`: teams are those seen in the day's
month), the teams with no 附件三 row that day, the complaints due or overdue (and those open
``actions.complaint_open_workdays`` working days or more), the customers maturing soon not yet
reached (:mod:`analysis.actions`) and the day's 夕会总结 from 附件三. A day that is not a
working day says so, and which holiday.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import chinese_calendar
import pandas as pd

from ..ingest.forms import Tracking
from ..plan.model import Plan
from ..plan.period import parse_period
from ..plan.workdays import is_workday
from . import actions
from .book import ALL, in_branches
from .evaluation import team_days
from .lookup import as_text

SHORT, ENOUGH = "不足", "达到"
LOGGED, NO_LOG = "已填", "未填"


def day_off_reason(day: date, plan: Plan) -> str:
    """Why ``day`` is not a working day: the holiday's name (劳动节; from the plan's own
    holiday notice for its year when it has one), else 周末; "" on a working day."""
    if is_workday(day, plan.holiday_notices):
        return ""
    notice = next((n for n in plan.holiday_notices if n.year == day.year), None)
    if notice is not None:
        return f"{notice.title}所列假日" if day in notice.holidays else "周末"
    _, name = chinese_calendar.get_holiday_detail(day)
    if name is None:
        return "周末"
    return next((h.chinese for h in chinese_calendar.Holiday if h.value == name), name)


@dataclass(frozen=True)
class DailyCheck:
    """One unit's day: ``teams`` (a row per team), ``no_log`` (teams without a 附件三 row),
    ``complaints``, ``soon`` (customers, masked) and ``notes`` (夕会总结); ``day_off`` the
    reason the day is not a working day ("" when it is)."""

    day: date
    unit: str
    day_off: str
    teams: pd.DataFrame = field(default_factory=pd.DataFrame)
    no_log: pd.DataFrame = field(default_factory=pd.DataFrame)
    complaints: pd.DataFrame = field(default_factory=pd.DataFrame)
    soon: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def short(self) -> int:
        """Teams below the day's calls target."""
        return int((self.teams["状态"] == SHORT).sum()) if len(self.teams) else 0


def _unit_tracking(tracking: Tracking, codes: set[str]) -> Tracking:
    """The unit's own 附件二 / 附件三 rows (calls and outcomes are joined by policy)."""
    comp, log = tracking.complaints, tracking.worklog
    return Tracking(
        calls=tracking.calls,
        complaints=comp[in_branches(comp, codes)],
        worklog=log[in_branches(log, codes)],
        outcomes=tracking.outcomes,
    )


def team_calls(book: pd.DataFrame, tracking: Tracking, day: date, plan: Plan) -> pd.DataFrame:
    """Each team's day: 网点代码, 团队, 附件一回访, 附件三申报, 目标, 差额 (calls short of the
    target, 0 when met), 状态 (达到 / 不足, on 附件一), 附件三 (已填 / 未填: a 附件三 row that day
    or none; 附件三申报 is blank without one)."""
    month = parse_period(f"{day.year}-{day.month:02d}", plan)
    grid = team_days(tracking, month, ALL, plan, policies=book)
    grid = grid[grid["work_date"] == pd.Timestamp(day)]
    log = tracking.worklog
    logged = log[log["work_date"] == pd.Timestamp(day)]
    logged = set(zip(as_text(logged["branch_code"]), logged["team"].astype(str), strict=True))
    has_log = [(b, t) in logged for b, t in zip(grid["branch_code"], grid["team"], strict=True)]
    target = plan.calls_per_day
    return pd.DataFrame(
        {
            "网点代码": as_text(grid["branch_code"]).to_numpy(),
            "团队": grid["team"].astype(str).to_numpy(),
            "附件一回访": grid["calls"].to_numpy(),
            "附件三申报": pd.array(
                [c if ok else None for c, ok in zip(grid["claimed"], has_log, strict=True)],
                dtype="Int64",
            ),
            "目标": target,
            "差额": (target - grid["calls"]).clip(lower=0).to_numpy(),
            "状态": [SHORT if short else ENOUGH for short in grid["short"]],
            "附件三": [LOGGED if ok else NO_LOG for ok in has_log],
        }
    )


def evening_notes(tracking: Tracking, day: date) -> pd.DataFrame:
    """The day's 夕会总结 (附件三 ``note``): 网点代码, 团队, 夕会总结, rows with text only."""
    log = tracking.worklog
    log = log[(log["work_date"] == pd.Timestamp(day)) & log["note"].notna()]
    log = log.sort_values(["branch_code", "team"])
    return pd.DataFrame(
        {
            "网点代码": as_text(log["branch_code"]).to_numpy(),
            "团队": log["team"].astype(str).to_numpy(),
            "夕会总结": log["note"].astype(str).to_numpy(),
        }
    )


def daily_check(
    book: pd.DataFrame,
    tracking: Tracking,
    day: date,
    plan: Plan,
    codes: list[str] | None = None,
    unit: str = ALL,
) -> DailyCheck:
    """The daily check of the branches ``codes`` (None: every branch) as ``unit``. ``book``
    is the enriched book (for the customer lists); customers are masked."""
    codes = sorted(set(map(str, codes if codes is not None else book["branch_code"].unique())))
    part = book[in_branches(book, codes)]
    mine = _unit_tracking(tracking, set(codes))
    off = day_off_reason(day, plan)
    teams = team_calls(part, mine, day, plan) if not off else pd.DataFrame()
    return DailyCheck(
        day=day,
        unit=unit,
        day_off=off,
        teams=teams,
        no_log=teams[teams["附件三"] == NO_LOG][["网点代码", "团队", "附件一回访"]]
        if len(teams)
        else pd.DataFrame(columns=["网点代码", "团队", "附件一回访"]),
        complaints=actions.open_complaints(mine, day, plan, due_too=True),
        soon=actions.maturing_not_reached(part, mine, day, plan),
        notes=evening_notes(mine, day),
    )

"""Each KPI of the evaluation (阶段性评估): one pure function of a unit's frames for a period.

What each KPI counts (the plan's words where it has them; this project's reading where not):

- 保单转换 / 存款转换: policies in the target's base (``[targets.*]``: 分红, 20-60岁) maturing in
  the period whose 满期去向 is 转保 / 转存, whenever recorded; against the target count
  allocated to the unit and period (:func:`~maturity_analysis.analysis.evaluation.allocated`),
  and as a rate against the plan's rate.
- 万能险保单持有率: 万能 policies due in the period not surrendered, cashed in or moved
  (outcome 续持, or none recorded: a whole-life policy stays in force unless the customer acts).
- 投诉处理满意度: customers who complained in the period and whose complaints are all answered;
  satisfied = none ended in 非常规退保 or 赔偿 (the plan's definition). Pending ones are left
  out and counted in the note.
- 一周内答复率: complaints of the period answered within ``complaint_answer_days`` calendar
  days; an unanswered complaint is not answered in time.
- 日均回访量 / 回访不足天数: 附件三 rows on working days: calls per team-day against
  ``calls_per_day``, and the team-days below it.
- 满期前回访率: customers maturing in the period reached (a 附件一 call whose 客户意向 is not
  ``not_reached``) before their maturity date.
- 赔偿金额: compensation paid on the period's complaints (no target; the plan asks for an
  estimate, see costs.py).

A KPI is a :class:`Kpi` of :data:`KPIS`: its key, label, unit and the function that measures it
on a :class:`Unit`, giving a :class:`Measure` (actual, target, numerator, denominator, note).
The evaluation turns each measure into a row of its summary (达成率, 达标, Wilson interval).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from ..ingest.forms import Tracking, settings
from ..plan.model import Plan, TrackingSettings
from ..plan.period import Period
from ..plan.workdays import working_days
from .targets import eligible


@dataclass(frozen=True, eq=False)
class Unit:
    """What a unit's KPIs are measured on: a branch's (or the whole book's) policies and
    tracking frames, the period, the plan and the target counts allocated to the unit.

    ``tracking.complaints`` and ``tracking.worklog`` are the unit's own rows; ``calls`` and
    ``outcomes`` are joined to the unit's policies by ``policy_no``, so they may hold others.
    ``goals`` is :func:`~maturity_analysis.analysis.evaluation.allocated` (only the count KPIs
    read it). The period's frames below are derived once per unit.
    """

    book: pd.DataFrame
    tracking: Tracking
    period: Period
    plan: Plan
    goals: dict[str, int] = field(default_factory=dict)

    @cached_property
    def settings(self) -> TrackingSettings:
        """The plan's ``[tracking]`` section."""
        return settings(self.plan)

    @cached_property
    def due(self) -> pd.DataFrame:
        """The unit's policies maturing in the period."""
        return self.book[self.period.contains(self.book["maturity_date"])]

    @cached_property
    def outcome(self) -> pd.Series:
        """Each due policy's recorded 满期去向 (the first per policy; NA when none), on ``due``."""
        first = self.tracking.outcomes.drop_duplicates("policy_no").set_index("policy_no")
        return _lookup(self.due["policy_no"], first["outcome"])

    @cached_property
    def complaints(self) -> pd.DataFrame:
        """The unit's complaints made in the period."""
        comp = self.tracking.complaints
        return comp[self.period.contains(comp["complaint_date"])]

    @cached_property
    def worklog(self) -> pd.DataFrame:
        """The unit's 附件三 rows in the period on working days."""
        log = self.tracking.worklog
        log = log[self.period.contains(log["work_date"])]
        workdays = set(working_days(self.period.start, self.period.end, self.plan.holiday_notices))
        return log[log["work_date"].dt.date.isin(workdays)]


@dataclass(frozen=True)
class Measure:
    """A KPI measured: ``value`` (实际) against ``target`` (目标, NaN: none), with the numerator
    and denominator it is counted from (分子, 分母) and a note (说明)."""

    value: float
    target: float
    num: float = math.nan
    den: float = math.nan
    note: str = ""


@dataclass(frozen=True)
class Kpi:
    """A row of the evaluation: ``label`` is formatted with ``plan`` (:meth:`title`); ``rate``
    KPIs get a Wilson interval on small bases; ``higher`` is False when at most the target
    is met."""

    key: str
    label: str
    unit: str
    measure: Callable[[Unit], Measure]
    rate: bool = False
    higher: bool = True

    def title(self, plan: Plan) -> str:
        """The label for ``plan``, e.g. ``"7天内答复率"``."""
        return self.label.format(plan=plan)


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``values`` looked up by each of ``keys`` (missing: NA), on ``keys``' index."""
    return pd.Series(values.reindex(keys.to_numpy()).to_numpy(), index=keys.index)


def _rate(num: int, den: int) -> float:
    return num / den if den else math.nan


def _converted(u: Unit, key: str, kind: str) -> tuple[int, int]:
    """Due policies in target ``key``'s base, and those of them whose outcome is ``kind``."""
    base = eligible(u.due, u.plan.targets[key])
    return int(base.sum()), int((base & (u.outcome == kind)).sum())


def _conversion_count(u: Unit, key: str, kind: str) -> Measure:
    n, done = _converted(u, key, kind)
    note = f"满期去向为{kind}；目标为分配到本期的件数"
    return Measure(done, u.goals[key], num=done, den=n, note=note)


def _conversion_rate(u: Unit, key: str, kind: str) -> Measure:
    n, done = _converted(u, key, kind)
    return Measure(_rate(done, n), u.plan.targets[key].rate, num=done, den=n)


def policy_conversion_count(u: Unit) -> Measure:
    """保单转换件数: base policies due whose outcome is 转保, against the allocated count."""
    return _conversion_count(u, "policy_conversion", u.settings.policy_conversion_outcome)


def policy_conversion_rate(u: Unit) -> Measure:
    """保单转换率: the same of the base due, against the plan's rate."""
    return _conversion_rate(u, "policy_conversion", u.settings.policy_conversion_outcome)


def deposit_conversion_count(u: Unit) -> Measure:
    """存款转换件数: base policies due whose outcome is 转存, against the allocated count."""
    return _conversion_count(u, "deposit_conversion", u.settings.deposit_conversion_outcome)


def deposit_conversion_rate(u: Unit) -> Measure:
    """存款转换率: the same of the base due, against the plan's rate."""
    return _conversion_rate(u, "deposit_conversion", u.settings.deposit_conversion_outcome)


def persistency(u: Unit) -> Measure:
    """万能险保单持有率: 万能 policies due kept (续持, or no outcome recorded)."""
    t = u.plan.targets["persistency"]
    base = eligible(u.due, t)
    kept = base & (u.outcome.isna() | (u.outcome == u.settings.hold_outcome))
    unrecorded = int((base & u.outcome.isna()).sum())
    return Measure(
        _rate(int(kept.sum()), int(base.sum())),
        t.rate,
        num=int(kept.sum()),
        den=int(base.sum()),
        note=f"含未登记去向{unrecorded}件(按续持计)" if unrecorded else "",
    )


def complaint_satisfaction(u: Unit) -> Measure:
    """投诉处理满意度: customers whose complaints are all answered, none ending in 非常规退保
    or 赔偿; customers with a complaint still open are left out (the note counts them)."""
    comp = u.complaints
    per = comp.assign(
        bad=comp["irregular_surrender"].fillna(False) | comp["compensated"].fillna(False),
        open_=comp["answer_date"].isna(),
    ).groupby("policy_no")
    customers = per.agg(bad=("bad", "any"), open_=("open_", "any"))
    handled = customers[~customers["open_"]]
    good, pending = int((~handled["bad"]).sum()), int(customers["open_"].sum())
    note = "按客户计，未处理至非常规退保或赔偿为满意"
    if pending:
        note += f"；另{pending}人待答复"
    return Measure(
        _rate(good, len(handled)),
        u.plan.targets["complaint_satisfaction"].rate,
        num=good,
        den=len(handled),
        note=note,
    )


def answered_in_time(u: Unit) -> Measure:
    """N天内答复率: complaints answered within ``complaint_answer_days`` calendar days."""
    comp = u.complaints
    waited = (comp["answer_date"] - comp["complaint_date"]).dt.days
    in_time = int((waited <= u.plan.complaint_answer_days).sum())
    unanswered = int(comp["answer_date"].isna().sum())
    return Measure(
        _rate(in_time, len(comp)),
        u.settings.answer_within_target,
        num=in_time,
        den=len(comp),
        note=f"未答复{unanswered}件" if unanswered else "",
    )


def calls_per_team_day(u: Unit) -> Measure:
    """日均回访量(每团队): calls per team-day on working days, against ``calls_per_day``."""
    log = u.worklog
    calls = log["calls"].astype("float")
    teams = len(log[["branch_code", "team"]].drop_duplicates())
    return Measure(
        calls.mean() if len(log) else math.nan,
        u.plan.calls_per_day,
        num=float(calls.sum()),
        den=len(log),
        note=f"{teams}个团队，{len(log)}个团队工作日(附件三)",
    )


def team_days_short(u: Unit) -> Measure:
    """回访不足N访的团队日: working team-days below ``calls_per_day`` (target 0)."""
    log = u.worklog
    short = int((log["calls"].astype("float") < u.plan.calls_per_day).sum())
    return Measure(short, 0, num=short, den=len(log))


def phoned_before_maturity(u: Unit) -> Measure:
    """满期前回访率: due customers first reached (intent not ``not_reached``) before maturity."""
    s, due, calls = u.settings, u.due, u.tracking.calls
    reached = calls[calls["intent"] != s.not_reached]
    first_call = reached.groupby("policy_no")["call_date"].min()
    n_before = int((_lookup(due["policy_no"], first_call) < due["maturity_date"]).sum())
    return Measure(
        _rate(n_before, len(due)),
        s.phoned_before_target,
        num=n_before,
        den=len(due),
        note=f"有效回访(客户意向不为{s.not_reached})早于满期日",
    )


def compensation_paid(u: Unit) -> Measure:
    """赔偿金额: compensation on the period's complaints (no target); the note counts those
    paid to customers under ``compensation_min_age``."""
    comp, plan = u.complaints, u.plan
    paid = comp[comp["compensated"].fillna(False)]
    age = u.book.drop_duplicates("policy_no").set_index("policy_no")["age"]
    ages = _lookup(paid["policy_no"], age).astype("Float64")
    young = int((ages < plan.compensation_min_age).sum())
    return Measure(
        float(paid["compensation"].sum()),
        math.nan,
        num=len(paid),
        den=len(comp),
        note=f"赔偿{len(paid)}件"
        + (f"，其中{young}件客户不满{plan.compensation_min_age}岁" if young else ""),
    )


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "policy_conversion_count",
        "{plan.targets[policy_conversion].label}件数",
        "件",
        policy_conversion_count,
    ),
    Kpi(
        "policy_conversion_rate",
        "{plan.targets[policy_conversion].label}率",
        "%",
        policy_conversion_rate,
        rate=True,
    ),
    Kpi(
        "deposit_conversion_count",
        "{plan.targets[deposit_conversion].label}件数",
        "件",
        deposit_conversion_count,
    ),
    Kpi(
        "deposit_conversion_rate",
        "{plan.targets[deposit_conversion].label}率",
        "%",
        deposit_conversion_rate,
        rate=True,
    ),
    Kpi("persistency", "{plan.targets[persistency].label}", "%", persistency, rate=True),
    Kpi(
        "complaint_satisfaction",
        "{plan.targets[complaint_satisfaction].label}",
        "%",
        complaint_satisfaction,
        rate=True,
    ),
    Kpi(
        "answered_in_time",
        "{plan.complaint_answer_days}天内答复率",
        "%",
        answered_in_time,
        rate=True,
    ),
    Kpi("calls_per_team_day", "日均回访量(每团队)", "访", calls_per_team_day),
    Kpi(
        "team_days_short",
        "回访不足{plan.calls_per_day}访的团队日",
        "天",
        team_days_short,
        higher=False,
    ),
    Kpi("phoned_before_maturity", "满期前回访率", "%", phoned_before_maturity, rate=True),
    Kpi("compensation_paid", "赔偿金额", "元", compensation_paid),
)
"""The evaluation's KPIs, in the summary's order."""

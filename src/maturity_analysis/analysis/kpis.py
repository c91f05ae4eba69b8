"""Each KPI of the evaluation (阶段性评估): one pure function of a unit's frames for a period.

What each KPI counts (the plan's words where it has them; this project's reading where not):

- 保单转换 / 存款转换: policies in the target's base (``[targets.*]``: 保单转换 分红 20-60岁,
  存款转换 all 分红) maturing in the period whose 满期去向 is 转保 / 转存; one KPI per target,
  against the count allocated to the unit and period
  (:func:`~maturity_analysis.analysis.evaluation.allocated`), whose rate is allocated ÷ base:
  the count and the rate cannot disagree. Where the plan states another count (保单转换 3,806),
  a second row shows progress against it, without a verdict.
- 万能险保单持有率: 万能 policies due in the period whose recorded outcome is 续持, of those with
  an outcome recorded; unrecorded ones (未记录) are counted apart, the coverage is in the note,
  and below ``tracking.coverage_min`` the verdict is 数据不全.
- 投诉处理满意度: customers who complained in the period and whose complaints are all answered;
  satisfied = none ended in 非常规退保 or 赔偿 (the plan's definition). Pending ones are left
  out and counted in the note.
- 一周内答复率: complaints of the period answered within ``complaint_answer_days`` calendar
  days; an unanswered complaint is not answered in time.
- 日均回访量 / 回访不足天数: calls per team per working day from 附件一 (the evidence), every
  working day of the period for every team seen (a team-day without a call or a log counts zero),
  against ``calls_per_day``, and the team-days below it; 附件三's claimed counts beside them.
- 例外: compensation paid to customers under ``compensation_min_age``, and customers of the age
  band the playbook sends to deposits (61以上) switched into insurance (转保).
- 满期前回访率: customers maturing in the period reached (a 附件一 call whose 客户意向 is not
  ``not_reached``) before their maturity date.
- 赔偿金额: compensation paid on the period's complaints (no target; the plan asks for an
  estimate, see costs.py).

A KPI is a :class:`Kpi` of :data:`KPIS`: its key, label, unit and the function that measures it
on a :class:`Unit`, giving a :class:`Measure` (actual, target, numerator, denominator, note).
The evaluation turns each measure into a row of its summary (达成率, 结论, Wilson interval).
A KPI whose tracking form has no rows at all, or whose base is empty, is 无数据 (never 0% or
100% as if measured).
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
from ..plan.workdays import Notices, working_days
from .lookup import as_text, member
from .targets import eligible

NO_DATA, INCOMPLETE = "无数据", "数据不全"
UNNAMED_TEAM = "未填团队"
GRID_COLUMNS = ["branch_code", "team", "work_date", "recorded", "claimed"]


@dataclass(frozen=True, eq=False)
class Unit:
    """What a unit's KPIs are measured on: a branch's (or the whole book's) policies and
    tracking frames, the period, the plan and the target counts allocated to the unit.

    ``tracking.complaints`` and ``tracking.worklog`` are the unit's own rows; ``calls`` and
    ``outcomes`` are joined to the unit's policies by ``policy_no``, so they may hold others.
    ``goals`` is :func:`~maturity_analysis.analysis.evaluation.allocated` on the binding basis,
    ``other_goals`` on the other one (targets whose stated count differs from the rate's);
    ``sources`` the tracking kinds the dataset has rows of (None: judge by the unit's frames);
    ``grid`` its :attr:`team_days`, when found for many units at once (None: from its frames).
    """

    book: pd.DataFrame
    tracking: Tracking
    period: Period
    plan: Plan
    goals: dict[str, int] = field(default_factory=dict)
    other_goals: dict[str, int] = field(default_factory=dict)
    sources: frozenset[str] | None = None
    grid: pd.DataFrame | None = None

    @cached_property
    def settings(self) -> TrackingSettings:
        """The plan's ``[tracking]`` section."""
        return settings(self.plan)

    def has(self, kind: str) -> bool:
        """Whether the dataset has any rows of tracking ``kind``."""
        if self.sources is not None:
            return kind in self.sources
        return not self.tracking[kind].empty

    @cached_property
    def exceptions(self) -> pd.DataFrame:
        """:func:`exceptions` of the unit, found once for both KPIs that count them."""
        return exceptions(self)

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

    @cached_property
    def team_days(self) -> pd.DataFrame:
        """Every working day of the period for every team seen (附件一 or 附件三): branch_code,
        team, work_date, recorded (附件一 calls), claimed (附件三 回访量; 0 without a log)."""
        if self.grid is not None:
            return self.grid
        return team_day_grid(self.tracking, self.period, self.book, self.plan.holiday_notices)


def team_day_grid(
    tracking: Tracking, period: Period, book: pd.DataFrame, notices: Notices = ()
) -> pd.DataFrame:
    """The team-day grid of :attr:`Unit.team_days`: teams are those on the unit's 附件三 rows
    or its 附件一 rows (calls on the unit's policies); a call without a team counts for its
    branch's first team (or 未填团队 when the branch names none)."""
    days = pd.to_datetime(pd.Series(working_days(period.start, period.end, notices), dtype=object))
    log = tracking.worklog
    log = log[period.contains(log["work_date"]) & log["work_date"].isin(days)]
    calls = tracking.calls
    calls = calls[member(calls["policy_no"], book["policy_no"])]
    calls = calls[period.contains(calls["call_date"])]
    branch = _lookup(
        calls["policy_no"], book.drop_duplicates("policy_no").set_index("policy_no")["branch_code"]
    )
    calls = calls.assign(
        branch_code=branch.astype(str), work_date=calls["call_date"].dt.normalize()
    )
    teams = pd.concat(
        [
            log[["branch_code", "team"]].astype(str),
            calls.loc[calls["team"].notna(), ["branch_code", "team"]].astype(str),
        ]
    ).drop_duplicates()
    first_team = teams.sort_values(["branch_code", "team"]).groupby("branch_code")["team"].first()
    fallback = calls["branch_code"].map(first_team).fillna(UNNAMED_TEAM)
    calls["team"] = calls["team"].where(calls["team"].notna(), fallback).astype(str)
    teams = pd.concat([teams, calls[["branch_code", "team"]]]).drop_duplicates()
    if teams.empty or days.empty:
        return no_team_days()
    grid = teams.merge(pd.DataFrame({"work_date": days}), how="cross")
    recorded = calls.groupby(["branch_code", "team", "work_date"]).size().rename("recorded")
    claimed = (
        log.assign(branch_code=as_text(log["branch_code"]), team=log["team"].astype(str))
        .groupby(["branch_code", "team", "work_date"])["calls"]
        .sum()
        .rename("claimed")
    )
    keys = ["branch_code", "team", "work_date"]
    grid = grid.join(recorded, on=keys).join(claimed, on=keys)
    grid[["recorded", "claimed"]] = grid[["recorded", "claimed"]].fillna(0).astype("int64")
    return grid.sort_values(keys).reset_index(drop=True)[GRID_COLUMNS]


def no_team_days() -> pd.DataFrame:
    """The team-day grid of a unit without a team (or a period without a working day)."""
    return pd.DataFrame({c: pd.Series(dtype="int64") for c in GRID_COLUMNS})


@dataclass(frozen=True)
class Measure:
    """A KPI measured: ``value`` (实际) against ``target`` (目标, NaN: none), with the numerator
    and denominator it is counted from (分子, 分母) and a note (说明). ``share`` is the target
    as a share of ``den`` (for the Wilson check of a count target); ``verdict`` forces one
    (无数据, 数据不全)."""

    value: float
    target: float
    num: float = math.nan
    den: float = math.nan
    note: str = ""
    share: float = math.nan
    verdict: str | None = None


@dataclass(frozen=True)
class Kpi:
    """A row of the evaluation: ``label`` is formatted with ``plan`` (:meth:`title`); ``rate``
    KPIs (and counts on a base, through ``Measure.share``) get a Wilson interval on small bases;
    ``higher`` is False when at most the target is met; ``judged`` False: progress shown, no
    verdict (a target that does not bind)."""

    key: str
    label: str
    unit: str
    measure: Callable[[Unit], Measure]
    rate: bool = False
    higher: bool = True
    judged: bool = True

    def title(self, plan: Plan) -> str:
        """The label for ``plan``, e.g. ``"7天内答复率"``."""
        return self.label.format(plan=plan)


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``values`` looked up by each of ``keys`` (missing: NA), on ``keys``' index."""
    return pd.Series(values.reindex(keys.to_numpy()).to_numpy(), index=keys.index)


def _rate(num: int, den: int) -> float:
    return num / den if den else math.nan


def _no_data(target: float, form: str) -> Measure:
    return Measure(math.nan, target, note=f"没有{form}数据", verdict=NO_DATA)


def _converted(u: Unit, key: str, kind: str) -> tuple[int, int]:
    """Due policies in target ``key``'s base, and those of them whose outcome is ``kind``."""
    base = eligible(u.due, u.plan.targets[key])
    return int(base.sum()), int((base & (u.outcome == kind)).sum())


def _conversion(u: Unit, key: str, kind: str, goals: dict[str, int], judged: bool) -> Measure:
    t = u.plan.targets[key]
    if key not in goals:
        return Measure(math.nan, math.nan, note="方案未另述件数")
    goal = goals[key]
    if not u.has("outcomes"):
        return _no_data(goal, "满期去向")
    n, done = _converted(u, key, kind)
    if not n and not goal:
        return Measure(0, math.nan, num=0, den=0, note="本期没有满期的目标客户，也没有分配目标")
    share = goal / n if n else math.nan
    note = (
        f"满期去向为{kind}，转换率{_pct(done, n)}；目标为分配到本期的{goal:,}件"
        f"（占本期基数{n:,}件的{_pct(goal, n)}，方案比率{t.rate:.0%}）"
        if judged
        else (
            f"按比率计算的目标分配到本期为{goal:,}件"
            if t.binds == "stated"
            else f"方案所述{t.stated_count:,}件按同一方法分配到本期为{goal:,}件"
        )
        + "，仅列进度，不作考核"
    )
    return Measure(done, goal, num=done, den=n, note=note, share=share)


def _pct(num: float, den: float) -> str:
    return f"{num / den:.1%}" if den else "—"


def policy_conversion(u: Unit) -> Measure:
    """保单转换: base policies due whose outcome is 转保, against the allocated count."""
    return _conversion(u, "policy_conversion", u.settings.policy_conversion_outcome, u.goals, True)


def policy_conversion_other(u: Unit) -> Measure:
    """保单转换 against the count of the basis that does not bind (the plan's 3,806)."""
    return _conversion(
        u, "policy_conversion", u.settings.policy_conversion_outcome, u.other_goals, False
    )


def deposit_conversion(u: Unit) -> Measure:
    """存款转换: base policies due whose outcome is 转存, against the allocated count."""
    return _conversion(
        u, "deposit_conversion", u.settings.deposit_conversion_outcome, u.goals, True
    )


def persistency(u: Unit) -> Measure:
    """万能险保单持有率: 万能 policies due whose recorded outcome is 续持, of those recorded;
    未记录 counted apart; 数据不全 when the recorded share is under ``coverage_min``."""
    t, s = u.plan.targets["persistency"], u.settings
    if not u.has("outcomes"):
        return _no_data(t.rate, "满期去向")
    base = eligible(u.due, t)
    recorded = base & u.outcome.notna()
    kept = int((recorded & (u.outcome == s.hold_outcome)).sum())
    n, k = int(base.sum()), int(recorded.sum())
    if not k:
        return Measure(
            math.nan, t.rate, num=0, den=0, note=f"应评估{n:,}件，均未记录去向", verdict=NO_DATA
        )
    coverage = k / n
    note = f"已记录去向{k:,}件/应评估{n:,}件（覆盖率{coverage:.1%}）"
    if n > k:
        note += (
            f"，未记录{n - k:,}件不计入；若未记录的均未持有为{kept / n:.1%}，"
            f"均持有为{(kept + n - k) / n:.1%}"
        )
    low = coverage < s.coverage_min
    if low:
        note += f"；覆盖率低于{s.coverage_min:.0%}，结论为数据不全"
    return Measure(
        kept / k, t.rate, num=kept, den=k, note=note, verdict=INCOMPLETE if low else None
    )


def complaint_satisfaction(u: Unit) -> Measure:
    """投诉处理满意度: customers whose complaints are all answered, none ending in 非常规退保
    or 赔偿; customers with a complaint still open are left out (the note counts them)."""
    target = u.plan.targets["complaint_satisfaction"].rate
    if not u.has("complaints"):
        return _no_data(target, "附件二")
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
        note += f"；另{pending:,}人待答复"
    return Measure(_rate(good, len(handled)), target, num=good, den=len(handled), note=note)


def answered_in_time(u: Unit) -> Measure:
    """N天内答复率: complaints answered within ``complaint_answer_days`` calendar days."""
    if not u.has("complaints"):
        return _no_data(u.settings.answer_within_target, "附件二")
    comp = u.complaints
    waited = (comp["answer_date"] - comp["complaint_date"]).dt.days
    in_time = int((waited <= u.plan.complaint_answer_days).sum())
    unanswered = int(comp["answer_date"].isna().sum())
    return Measure(
        _rate(in_time, len(comp)),
        u.settings.answer_within_target,
        num=in_time,
        den=len(comp),
        note=f"未答复{unanswered:,}件" if unanswered else "",
    )


def calls_per_team_day(u: Unit) -> Measure:
    """日均回访量(每团队): 附件一 calls per team per working day (a day without a call or a
    log counts zero), against ``calls_per_day``; 附件三's claim in the note."""
    if not (u.has("calls") or u.has("worklog")):
        return _no_data(u.plan.calls_per_day, "附件一、附件三")
    days = u.team_days
    if days.empty:
        return Measure(
            math.nan, u.plan.calls_per_day, num=0, den=0, note="本期没有团队记录", verdict=NO_DATA
        )
    recorded, claimed = int(days["recorded"].sum()), int(days["claimed"].sum())
    teams = len(days[["branch_code", "team"]].drop_duplicates())
    note = f"{teams:,}个团队，{len(days):,}个团队工作日；附件一记录{recorded:,}访，附件三申报{claimed:,}访"
    if claimed > recorded:
        note += f"，申报多于记录{claimed - recorded:,}访，需核实"
    return Measure(
        recorded / len(days), u.plan.calls_per_day, num=recorded, den=len(days), note=note
    )


def calls_claimed_over(u: Unit) -> Measure:
    """附件三多报回访量: calls the work logs claim beyond those 附件一 records (no target;
    a positive number flags the unit)."""
    if not (u.has("calls") or u.has("worklog")):
        return _no_data(math.nan, "附件一、附件三")
    days = u.team_days
    over = int(days["claimed"].sum()) - int(days["recorded"].sum())
    flagged = int((days["claimed"] > days["recorded"]).sum())
    note = f"{flagged:,}个团队日申报多于记录" if flagged else "申报不多于记录"
    return Measure(
        max(over, 0),
        math.nan,
        num=int(days["claimed"].sum()),
        den=int(days["recorded"].sum()),
        note=note,
    )


def team_days_short(u: Unit) -> Measure:
    """回访不足N访的团队日: working team-days whose 附件一 calls are below ``calls_per_day``."""
    if not (u.has("calls") or u.has("worklog")):
        return _no_data(0, "附件一、附件三")
    days = u.team_days
    if days.empty:
        return Measure(math.nan, 0, num=0, den=0, verdict=NO_DATA)
    short = int((days["recorded"] < u.plan.calls_per_day).sum())
    return Measure(short, 0, num=short, den=len(days))


def phoned_before_maturity(u: Unit) -> Measure:
    """满期前回访率: due customers first reached (intent not ``not_reached``) before maturity."""
    s, due, calls = u.settings, u.due, u.tracking.calls
    if not u.has("calls"):
        return _no_data(s.phoned_before_target, "附件一")
    calls = calls[member(calls["policy_no"], due["policy_no"])]  # the area's: the unit's due
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
    """赔偿金额: compensation on the period's complaints (no target)."""
    if not u.has("complaints"):
        return _no_data(math.nan, "附件二")
    comp = u.complaints
    paid = comp[comp["compensated"].fillna(False)]
    return Measure(
        float(paid["compensation"].sum()),
        math.nan,
        num=len(paid),
        den=len(comp),
        note=f"赔偿{len(paid):,}件",
    )


def exceptions(u: Unit) -> pd.DataFrame:
    """The unit's exceptions to the plan's rules in the period, one row each: kind (例外),
    branch_code, policy_no, age, amount. Compensation paid to a customer under
    ``compensation_min_age`` (the plan pays 50岁以上), and a customer of the age band the
    playbook sends to deposits (61以上: 60岁以上客户已不适合购买保险产品) switched into insurance."""
    plan, s = u.plan, u.settings
    ages = u.book.drop_duplicates("policy_no").set_index("policy_no")["age"]
    comp = u.complaints
    paid = comp[comp["compensated"].fillna(False)]
    paid_age = _lookup(paid["policy_no"], ages).astype("Float64")
    young = (paid_age < plan.compensation_min_age).fillna(False)
    rows = [
        {
            "例外": f"赔付客户不满{plan.compensation_min_age}岁",
            "branch_code": str(code),
            "policy_no": policy,
            "age": ages.get(policy),
            "amount": amount,
        }
        for code, policy, amount in _rows(paid, young, ["branch_code", "policy_no", "compensation"])
    ]
    old_age = deposit_only_age(plan)
    if old_age is not None:
        due = u.due
        moved = ((u.outcome == s.policy_conversion_outcome) & (due["age"] >= old_age)).fillna(False)
        rows += [
            {
                "例外": f"{old_age}岁以上客户转保",
                "branch_code": str(code),
                "policy_no": policy,
                "age": age,
                "amount": math.nan,
            }
            for code, policy, age in _rows(due, moved, ["branch_code", "policy_no", "age"])
        ]
    cols = ["例外", "branch_code", "policy_no", "age", "amount"]
    return pd.DataFrame(rows, columns=cols)


def _rows(frame: pd.DataFrame, where: pd.Series, columns: list[str]):
    """The values of ``columns`` in the rows of ``frame`` where ``where`` is true, a tuple a
    row: only those columns taken (the rows' ``itertuples`` would take every column and
    name each tuple, a few milliseconds a call even where no row is true)."""
    return zip(*(frame.loc[where, c] for c in columns), strict=True)


def deposit_only_age(plan: Plan) -> int | None:
    """The lowest age of the playbook's band that offers no insurance (amount 0: 61以上 →
    存款), or None."""
    for row in plan.playbook:
        if row["amount_max"] == 0 and row["age_band"] in plan.age_labels:
            return plan.age_lower[plan.age_labels.index(row["age_band"])]
    return None


def _exception_count(u: Unit, kind_prefix: str) -> Measure:
    rows = u.exceptions
    rows = rows[rows["例外"].str.startswith(kind_prefix)]
    return Measure(len(rows), math.nan, num=len(rows), note="见例外清单" if len(rows) else "")


def young_compensation(u: Unit) -> Measure:
    """例外：赔付客户不满50岁 (count; no target)."""
    if not u.has("complaints"):
        return _no_data(math.nan, "附件二")
    return _exception_count(u, "赔付客户不满")


def old_switched(u: Unit) -> Measure:
    """例外：61岁以上客户转保 (count; no target)."""
    if not u.has("outcomes"):
        return _no_data(math.nan, "满期去向")
    return _exception_count(u, f"{deposit_only_age(u.plan)}岁以上")


KPIS: tuple[Kpi, ...] = (
    Kpi("policy_conversion", "{plan.targets[policy_conversion].label}", "件", policy_conversion),
    Kpi(
        "policy_conversion_other",
        "{plan.targets[policy_conversion].label}(方案所述件数)",
        "件",
        policy_conversion_other,
        judged=False,
    ),
    Kpi("deposit_conversion", "{plan.targets[deposit_conversion].label}", "件", deposit_conversion),
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
    Kpi("calls_claimed_over", "工作日志多报回访量", "次", calls_claimed_over),
    Kpi("phoned_before_maturity", "满期前回访率", "%", phoned_before_maturity, rate=True),
    Kpi("compensation_paid", "赔偿金额", "元", compensation_paid),
    Kpi(
        "young_compensation",
        "例外：赔付客户不满{plan.compensation_min_age}岁",
        "件",
        young_compensation,
    ),
    Kpi("old_switched", "例外：高龄客户转保", "件", old_switched),
)
"""The evaluation's KPIs, in the summary's order."""

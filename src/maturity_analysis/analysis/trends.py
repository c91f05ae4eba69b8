"""Progress through the year (进度与趋势): each KPI of the evaluation, cumulated month by month.

For every month from the plan year's first to the period's end, each KPI is measured as its
function in :data:`~maturity_analysis.analysis.kpis.KPIS` measures it on the year to date up to
that month's end (:func:`~maturity_analysis.analysis.evaluation.year_to_date`), against the
target due by then: a count KPI (保单转换, 存款转换) against the sum of the one allocation's months
so far (:func:`~maturity_analysis.analysis.evaluation.month_allocation`), a rate KPI (持有率,
满意度, 日均回访量 …) as the rate on the cumulated numerator and denominator against its rate
target. The last month is the evaluation's own year to date, figure for figure.

The KPI functions are not called per unit and month (the whole year of a 48-branch book would
take minutes): each numerator and denominator is counted once per branch and month for the whole
book, cumulated over the months and summed over a unit's branches. What does not add up is
counted on the cumulated span: customers of 投诉处理满意度 (one customer however many months
they complain), teams of 日均回访量 (a team counts from the first month it is seen; a branch's
calls naming no team count for 未填团队 until the branch has a team). The tests hold this equal
to calling the KPI functions on each unit.

A unit is a branch code, ``"ALL"``, a 支局 as ``"支局:<name>"`` or ``(name, branch codes)``;
:func:`progress` measures a unit and any list of child units alike, and :func:`children` names
the units a report shows one by one (ALL: its 支局, a 支局: its branches).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import numpy as np
import pandas as pd

from ..exceptions import MaturityDataError
from ..ingest.forms import KINDS, Tracking
from ..plan.model import Plan, load_plan
from ..plan.period import Period, parse_period
from ..plan.workdays import working_days
from .book import (
    ALL,
    branch_codes,
    branch_label,
    branch_sub_branches,
    check_branches,
    in_branches,
    is_all,
    is_sub_branch,
    sub_branch_name,
    unit_tracking,
)
from .evaluation import kept_allocation, year_to_date
from .kpis import KPIS
from .lookup import as_text
from .markup import md
from .targets import eligible, policy_targets

TREND_KPIS = (
    "policy_conversion",
    "deposit_conversion",
    "persistency",
    "complaint_satisfaction",
    "answered_in_time",
    "calls_per_team_day",
    "phoned_before_maturity",
)
"""The KPIs with a target that a trend follows (counts, rates and the calls average)."""
COLUMNS = [
    "month",
    "unit",
    "name",
    "kpi",
    "label",
    "measure",
    "actual",
    "target",
    "num",
    "den",
    "ratio",
]
UnitSpec = str | tuple[str, Collection[str]]


def unit_branches(policies: pd.DataFrame, unit: UnitSpec) -> tuple[str, str, list[str]]:
    """A unit as (key, name a reader knows, its branch codes): ``"ALL"`` → every branch, a code →
    itself, ``"支局:<name>"`` → the branches of that 支局
    (:func:`~maturity_analysis.analysis.book.branch_sub_branches`), ``(name, codes)`` → the name (key and name) and those codes (checked)."""
    known = sorted(branch_codes(policies))
    if isinstance(unit, tuple):
        name, codes = unit
        codes = sorted(str(c) for c in codes)
        check_branches(codes, known)
        return str(name), str(name), codes
    unit = str(unit)
    if is_all(unit):
        return ALL, branch_label(ALL), known
    if is_sub_branch(unit):
        name = sub_branch_name(unit)
        members = branch_sub_branches(policies)
        codes = sorted(members.index[members == name])
        if not codes:
            shown = ", ".join(sorted(set(members))[:20]) or "none"
            raise MaturityDataError(f"支局 '{name}': no branch belongs to it (支局: {shown})")
        return unit, name, codes
    check_branches([unit], known)
    names = policies.loc[as_text(policies["branch_code"]) == unit, "branch_name"].dropna()
    return unit, branch_label(unit, str(names.iloc[0]) if len(names) else None), [unit]


def children(policies: pd.DataFrame, unit: UnitSpec) -> list[UnitSpec]:
    """The units under ``unit`` that its report shows one by one: under ``"ALL"`` each 支局 as
    ``(name, codes)`` when every branch belongs to one and there are several (else every
    branch); the branches of a 支局 or of ``(name, codes)``; none under a branch."""
    key, _, codes = unit_branches(policies, unit)
    if is_all(key):
        members = branch_sub_branches(policies)
        if set(codes) <= set(members.index) and members.nunique() > 1:
            return [(str(n), sorted(g.index)) for n, g in members.groupby(members, sort=True)]
        return codes
    return codes if is_sub_branch(key) or isinstance(unit, tuple) else []


def months(period: str | Period, plan: Plan) -> list[Period]:
    """The cumulative spans of the trend: January to the end of each month up to the period's."""
    end = parse_period(period, plan).end.month
    return [
        year_to_date(parse_period(f"{plan.year}-{m:02d}", plan), plan) for m in range(1, end + 1)
    ]


def _bucket(dates: pd.Series, spans: list[Period]) -> np.ndarray:
    """Each date's month of the trend (0 = January): the first span it falls in, -1 if none."""
    d = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]")
    ends = np.array([pd.Timestamp(s.end) for s in spans], dtype="datetime64[ns]")
    out = np.searchsorted(ends, d, side="left")
    out[(d < np.datetime64(pd.Timestamp(spans[0].start))) | np.isnat(d) | (out >= len(ends))] = -1
    return out


def _by_month(keys: pd.Series, month: np.ndarray, counts, n: int) -> pd.DataFrame:
    """``counts`` summed per branch key and month (-1 left out), cumulated over the months:
    one row per key, one column per month (0 = January)."""
    ok = month >= 0
    frame = pd.DataFrame(
        {"key": np.asarray(keys)[ok], "month": month[ok], "n": np.asarray(counts, float)[ok]}
    )
    table = frame.groupby(["key", "month"])["n"].sum().unstack("month")
    return table.reindex(columns=range(n)).fillna(0).cumsum(axis=1)


def _first_month(keys: pd.DataFrame, month: np.ndarray) -> pd.DataFrame:
    """For each distinct row of ``keys`` (-1 months left out), the first month it appears."""
    ok = month >= 0
    return keys[ok].assign(first=month[ok]).groupby(list(keys.columns), as_index=False).min()


def _present(first: pd.DataFrame, by: str, n: int) -> pd.DataFrame:
    """How many rows of ``first`` have appeared by each month, per ``by`` (cumulative)."""
    return _by_month(first[by], first["first"].to_numpy(), np.ones(len(first)), n)


def _is(values: pd.Series, value: str) -> np.ndarray:
    return values.eq(value).fillna(False).to_numpy(dtype=bool)


def _counts(policies: pd.DataFrame, tracking: Tracking, spans: list[Period], plan: Plan) -> dict:
    """Every additive count of the trend KPIs, once per branch key (``branch_code`` as text) and
    month, cumulated from January: ``{name: DataFrame keys × months}``; complaints per
    customer are kept as rows (``"customers"``), satisfaction not being additive."""
    s, n = plan.tracking, len(spans)
    key = as_text(policies["branch_code"])
    due = _bucket(policies["maturity_date"], spans)
    first = tracking.outcomes.drop_duplicates("policy_no").set_index("policy_no")["outcome"]
    outcome = pd.Series(first.reindex(policies["policy_no"].to_numpy()).to_numpy())
    out = {}
    for name, t, kind in (
        ("policy_conversion", plan.targets["policy_conversion"], s.policy_conversion_outcome),
        ("deposit_conversion", plan.targets["deposit_conversion"], s.deposit_conversion_outcome),
    ):
        base = eligible(policies, t).to_numpy()
        out[f"{name}.den"] = _by_month(key, due, base, n)
        out[f"{name}.num"] = _by_month(key, due, base & _is(outcome, kind), n)
    base = eligible(policies, plan.targets["persistency"]).to_numpy()
    recorded = base & outcome.notna().to_numpy()
    out["persistency.den"] = _by_month(key, due, recorded, n)
    out["persistency.num"] = _by_month(key, due, recorded & _is(outcome, s.hold_outcome), n)
    calls = tracking.calls[
        pd.Index(policies["policy_no"].unique()).get_indexer(tracking.calls["policy_no"]) >= 0
    ]
    reached = calls[calls["intent"] != s.not_reached].groupby("policy_no")["call_date"].min()
    before = (
        pd.Series(reached.reindex(policies["policy_no"].to_numpy()).to_numpy())
        < policies["maturity_date"].reset_index(drop=True)
    ).to_numpy()
    out["phoned_before_maturity.num"] = _by_month(key, due, before, n)
    out["phoned_before_maturity.den"] = _by_month(key, due, np.ones(len(key)), n)

    comp = tracking.complaints
    month = _bucket(comp["complaint_date"], spans)
    waited = (comp["answer_date"] - comp["complaint_date"]).dt.days
    comp_key = as_text(comp["branch_code"])
    out["answered_in_time.num"] = _by_month(
        comp_key, month, (waited <= plan.complaint_answer_days).to_numpy(), n
    )
    out["answered_in_time.den"] = _by_month(comp_key, month, np.ones(len(comp)), n)
    bad = (comp["irregular_surrender"].fillna(False) | comp["compensated"].fillna(False)).to_numpy(
        dtype=bool
    )
    late = np.where(month >= 0, month, n)  # a complaint outside the trend: never
    out["customers"] = pd.DataFrame(
        {
            "key": comp_key.to_numpy(),
            "policy_no": comp["policy_no"].to_numpy(),
            "first": late,
            "bad": np.where(bad, late, n),
            "open": np.where(comp["answer_date"].isna().to_numpy(), late, n),
        }
    )[late < n]

    # 日均回访量 (kpis.team_day_grid, counted rather than laid out): calls on working days, and
    # team-days = teams seen by then × working days by then; a branch whose calls name no team
    # and that has no team yet counts one (未填团队).
    days = pd.to_datetime(
        pd.Series(working_days(spans[0].start, spans[-1].end, plan.holiday_notices), dtype=object)
    )
    out["days"] = np.cumsum(np.bincount(_bucket(days, spans), minlength=n)[:n])
    books = policies.drop_duplicates("policy_no").set_index("policy_no")["branch_code"]
    call_key = pd.Series(books.reindex(calls["policy_no"].to_numpy()).to_numpy()).astype(str)
    call_month = _bucket(calls["call_date"], spans)
    workday = calls["call_date"].dt.normalize().isin(days).to_numpy()
    out["calls_per_team_day.num"] = _by_month(call_key, call_month, workday, n)
    log = tracking.worklog
    log_month = np.where(
        log["work_date"].isin(days).to_numpy(), _bucket(log["work_date"], spans), -1
    )
    named = calls["team"].notna().to_numpy()
    teams = _first_month(
        pd.concat(
            [
                log[["branch_code", "team"]].astype(str),
                pd.DataFrame(
                    {
                        "branch_code": call_key[named].to_numpy(),
                        "team": calls["team"][named].astype(str).to_numpy(),
                    }
                ),
            ],
            ignore_index=True,
        ),
        np.concatenate([log_month, call_month[named]]),
    )
    present = _present(teams, "branch_code", n)
    unnamed = _present(
        _first_month(
            pd.DataFrame({"branch_code": call_key[~named].to_numpy()}), call_month[~named]
        ),
        "branch_code",
        n,
    )
    keys = present.index.union(unnamed.index)
    present, unnamed = present.reindex(keys, fill_value=0), unnamed.reindex(keys, fill_value=0)
    out["teams"] = present + ((unnamed > 0) & (present == 0))
    return out


def _restricted(policies: pd.DataFrame, tracking: Tracking, units: list) -> tuple:
    """The book and tracking rows the units can count (all of them when one is ``ALL``):
    policies, complaints and work logs of their branches, calls and outcomes of those policies."""
    if any(is_all(key) for key, _, _ in units):
        return policies, tracking
    codes = {c for _, _, cs in units for c in cs}
    mine = policies[in_branches(policies, codes)]
    return mine, unit_tracking(mine, tracking)


def _satisfaction(customers: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Satisfied customers and customers handled, January to each month's end, counted per
    customer over the unit's complaints (a customer is one however many months they complain)."""
    per = customers.groupby("policy_no")[["first", "bad", "open"]].min().to_numpy()
    m = np.arange(n)
    counted = per[:, [0]] <= m
    handled = counted & ~(per[:, [2]] <= m)
    good = handled & ~(per[:, [1]] <= m)
    return good.sum(axis=0).astype(float), handled.sum(axis=0).astype(float)


def _rate(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.full(len(den), math.nan), where=den > 0)


def _measures(key: str, c: dict, goals: dict, plan: Plan, sources: frozenset[str]):
    """One KPI of a unit for each month: (actual, target, num, den) arrays, by the KPI's rules
    in :mod:`~maturity_analysis.analysis.kpis` (无数据 without its tracking form, …)."""
    s, nan = plan.tracking, math.nan
    num, den = c.get(f"{key}.num"), c.get(f"{key}.den")
    n = len(c["days"])
    if key in ("policy_conversion", "deposit_conversion"):
        goal = goals[key]
        if "outcomes" not in sources:
            return np.full(n, nan), goal, np.full(n, nan), np.full(n, nan)
        none = (den == 0) & (goal == 0)  # nothing due, nothing allocated: no target
        return num, np.where(none, nan, goal), num, den
    if key == "persistency":
        target, form = plan.targets[key].rate, "outcomes"
    elif key == "complaint_satisfaction":
        target, form = plan.targets[key].rate, "complaints"
        num, den = c["satisfaction"]
    elif key == "answered_in_time":
        target, form = s.answer_within_target, "complaints"
    elif key == "phoned_before_maturity":
        target, form = s.phoned_before_target, "calls"
    elif key == "calls_per_team_day":
        target, form = plan.calls_per_day, "calls"
        den = c["teams"] * c["days"]
        if "worklog" in sources:
            sources = sources | {"calls"}
    else:
        raise ValueError(f"{key}: not a trend KPI (one of {', '.join(TREND_KPIS)})")
    full = np.full(n, float(target))
    if form not in sources:
        return np.full(n, nan), full, np.full(n, nan), np.full(n, nan)
    return _rate(num, den), full, num, den


def progress(
    policies: pd.DataFrame,
    tracking: Tracking,
    period: str | Period,
    unit: UnitSpec = ALL,
    children: Sequence[UnitSpec] = (),
    plan: Plan | None = None,
    kpis: Sequence[str] = TREND_KPIS,
) -> pd.DataFrame:
    """Each KPI of ``unit`` and of each child unit, cumulated month by month to the period's end.

    Every count is taken once per branch and month over the whole book (:func:`_counts`) and
    cumulated; a unit sums its branches' (customers of 投诉处理满意度 are counted per unit).

    Parameters
    ----------
    policies
        The whole book (targets are allocated over all its branches, as in the evaluation).
    tracking
        The accepted tracking frames.
    period
        The evaluation's period; the trend runs from the plan year's first month to its end.
    unit, children
        The unit reported on and the units under it (see :func:`unit_branches`).
    kpis
        KPI keys of :data:`TREND_KPIS`.

    Returns
    -------
    DataFrame
        One row per month, unit (the parent first) and KPI: :data:`COLUMNS` — month (1–12), unit
        (key), name, kpi (key), label, measure (件, %, 访), actual and target of January to the
        month's end, num and den they are counted from, ratio (actual ÷ target; NaN without a
        target). Rates are fractions.
    """
    plan = plan or load_plan()
    by_key = {k.key: k for k in KPIS}
    chosen = [by_key[k] for k in kpis]
    sources = frozenset(k for k in KINDS if not tracking[k].empty)
    spans = months(period, plan)
    n = len(spans)
    units = [unit_branches(policies, spec) for spec in [unit, *children]]
    counts = _counts(*_restricted(policies, tracking, units), spans, plan)
    alloc = kept_allocation(policies, plan)
    alloc = alloc.assign(branch_code=as_text(alloc["branch_code"]))
    goals_by = alloc.pivot_table(
        index=["target", "branch_code"], columns="month", values="allocated", aggfunc="sum"
    ).reindex(columns=range(1, n + 1))
    rows = []
    for key, name, codes in units:
        whole = is_all(key)
        mine = {
            k: (v if whole else v[v.index.isin(codes)]).sum(axis=0).to_numpy(dtype=float)
            for k, v in counts.items()
            if isinstance(v, pd.DataFrame) and k != "customers"
        }
        mine["days"] = counts["days"].astype(float)
        cust = counts["customers"]
        mine["satisfaction"] = _satisfaction(cust if whole else cust[cust["key"].isin(codes)], n)
        share = goals_by[goals_by.index.get_level_values("branch_code").isin(codes)]
        totals = share.groupby(level="target").sum().fillna(0).cumsum(axis=1)
        goals = {
            t.key: totals.loc[t.key].to_numpy(dtype=float) if t.key in totals.index else np.zeros(n)
            for t in policy_targets(plan)
        }
        measured = [(kpi, *_measures(kpi.key, mine, goals, plan, sources)) for kpi in chosen]
        for m in range(n):
            for kpi, actual, target, num, den in measured:
                ok = target[m] and not np.isnan(target[m]) and not np.isnan(actual[m])
                ratio = actual[m] / target[m] if ok else math.nan
                row = (actual[m], target[m], num[m], den[m], ratio)
                rows.append(
                    (m + 1, key, name, kpi.key, kpi.title(plan), kpi.unit, *map(float, row))
                )
    return pd.DataFrame(rows, columns=COLUMNS)


def _shown(value: float, measure: str) -> str:
    if pd.isna(value):
        return "—"
    if measure == "%":
        return f"{value:.1%}"
    if measure == "访":
        return f"{value:.1f}"
    return f"{value:,.0f}"


def table(frame: pd.DataFrame, unit: str | None = None) -> pd.DataFrame:
    """One unit's trend (default: the first) as a table: a row per month (1月…), a column per
    KPI, each cell "累计实际 / 累计目标" in the KPI's unit."""
    unit = frame["unit"].iloc[0] if unit is None else unit
    mine = frame[frame["unit"] == unit]
    cells = mine.assign(
        cell=[
            f"{_shown(a, m)} / {_shown(t, m)}"
            for a, t, m in zip(mine["actual"], mine["target"], mine["measure"], strict=True)
        ],
        月份=[f"{m}月" for m in mine["month"]],
    )
    out = cells.pivot(index="月份", columns="label", values="cell")
    order = list(dict.fromkeys(mine["label"]))
    return out.reindex(index=list(dict.fromkeys(cells["月份"])), columns=order).rename_axis(
        columns="累计实际 / 累计目标"
    )


def text(frame: pd.DataFrame) -> str:
    """The trend in a few sentences (Markdown): the parent unit's cumulative figures at the last
    month against those due, the change of its 达成率 over the last month, and how many child
    units have reached their cumulative target; every figure computed, names escaped."""
    if frame.empty:
        return "没有可列的月份。"
    unit = frame["unit"].iloc[0]
    mine = frame[frame["unit"] == unit]
    last = int(mine["month"].max())
    now = mine[mine["month"] == last].set_index("kpi")
    before = mine[mine["month"] == last - 1].set_index("kpi")
    parts = []
    for key, r in now.iterrows():
        if pd.isna(r["actual"]):
            parts.append(f"{md(r['label'])}无数据")
            continue
        s = f"{md(r['label'])}{_shown(r['actual'], r['measure'])}"
        s += f"（累计目标{_shown(r['target'], r['measure'])}"
        if not pd.isna(r["ratio"]):
            s += f"，达成率{r['ratio']:.0%}"
            if key in before.index and not pd.isna(before.at[key, "ratio"]):
                delta = round(r["ratio"] - before.at[key, "ratio"], 2)
                s += (
                    f"，较上月{'上升' if delta > 0 else '下降'}{abs(delta):.0%}"
                    if delta
                    else "，与上月持平"
                )
        parts.append(s + "）")
    lines = [f"**{md(mine['name'].iloc[0])}** 截至{last}月末累计：" + "；".join(parts) + "。"]
    kids = frame[(frame["unit"] != unit) & (frame["month"] == last)]
    if not kids.empty:
        n = kids["unit"].nunique()
        counts = [
            f"{md(label)}{int((g['ratio'] >= 1).sum())}个"
            for label, g in kids.groupby("label", sort=False)
            if g["ratio"].notna().any()
        ]
        if counts:
            lines.append(f"下属{n}个单位中，累计达成率达到100%的：" + "，".join(counts) + "。")
    return "\n\n".join(lines)

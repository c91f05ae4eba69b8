"""Progress through the year (进度与趋势): each KPI of the evaluation, cumulated month by month.

For every month from the plan year's first to the period's end, each KPI is measured by its own
function (:data:`~maturity_analysis.analysis.kpis.KPIS`) on the year to date up to that month's
end (:func:`~maturity_analysis.analysis.evaluation.year_to_date`), against the target due by then:
a count KPI (保单转换, 存款转换) against the sum of the one allocation's months so far
(:func:`~maturity_analysis.analysis.evaluation.month_allocation`, summed by
:func:`~maturity_analysis.analysis.evaluation.allocated`), a rate KPI (持有率, 满意度, 日均回访量 …)
as the rate on the cumulated numerator and denominator against its rate target. The last month
is the evaluation's own year to date, figure for figure.

A unit is a branch code, ``"ALL"`` or ``(name, branch codes)`` (e.g. a 支局 and its branches);
:func:`progress` measures a unit and any list of child units alike.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence

import pandas as pd

from ..ingest.forms import KINDS, Tracking
from ..plan.model import Plan, load_plan
from ..plan.period import Period, parse_period
from .book import ALL, branch_label, check_branches, is_all
from .evaluation import allocated, month_allocation, year_to_date
from .kpis import KPIS, Unit
from .markup import md

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
    itself, ``(name, codes)`` → the name (key and name) and those codes (checked)."""
    known = sorted(policies["branch_code"].dropna().astype(str).unique())
    if isinstance(unit, tuple):
        name, codes = unit
        codes = sorted(str(c) for c in codes)
        check_branches(codes, known)
        return str(name), str(name), codes
    unit = str(unit)
    if is_all(unit):
        return ALL, branch_label(ALL), known
    check_branches([unit], known)
    names = policies.loc[policies["branch_code"].astype(str) == unit, "branch_name"].dropna()
    return unit, branch_label(unit, str(names.iloc[0]) if len(names) else None), [unit]


def children(policies: pd.DataFrame, unit: UnitSpec) -> list[UnitSpec]:
    """The units under ``unit`` that its report shows one by one: every branch of ``"ALL"``, the
    branches of ``(name, codes)``, none under a branch."""
    key, _, codes = unit_branches(policies, unit)
    return codes if is_all(key) or isinstance(unit, tuple) else []


def months(period: str | Period, plan: Plan) -> list[Period]:
    """The cumulative spans of the trend: January to the end of each month up to the period's."""
    end = parse_period(period, plan).end.month
    return [
        year_to_date(parse_period(f"{plan.year}-{m:02d}", plan), plan) for m in range(1, end + 1)
    ]


def _unit_frames(policies: pd.DataFrame, tracking: Tracking, codes: list[str], whole: bool):
    """The unit's policies and tracking rows: complaints and work logs by branch, calls and
    outcomes by the unit's policies (what the evaluation joins them on)."""
    if whole:
        return policies, tracking
    mine = policies[policies["branch_code"].astype(str).isin(codes)]
    ours = set(mine["policy_no"])

    def by_branch(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["branch_code"].astype(str).isin(codes)]

    return mine, Tracking(
        calls=tracking.calls[tracking.calls["policy_no"].isin(ours)],
        complaints=by_branch(tracking.complaints),
        worklog=by_branch(tracking.worklog),
        outcomes=tracking.outcomes[tracking.outcomes["policy_no"].isin(ours)],
    )


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
        KPI keys of :data:`~maturity_analysis.analysis.kpis.KPIS`.

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
    alloc = month_allocation(policies, plan)
    sources = frozenset(k for k in KINDS if not tracking[k].empty)
    spans = months(period, plan)
    rows = []
    for spec in [unit, *children]:
        key, name, codes = unit_branches(policies, spec)
        book, mine = _unit_frames(policies, tracking, codes, is_all(key))
        share = alloc[alloc["branch_code"].astype(str).isin(codes)]
        for span in spans:
            goals = allocated(policies, span, ALL, plan, alloc=share)
            u = Unit(book=book, tracking=mine, period=span, plan=plan, goals=goals, sources=sources)
            for kpi in chosen:
                m = kpi.measure(u)
                ok = m.target and not pd.isna(m.target) and not pd.isna(m.value)
                rows.append(
                    (
                        span.end.month,
                        key,
                        name,
                        kpi.key,
                        kpi.title(plan),
                        kpi.unit,
                        float(m.value),
                        float(m.target),
                        float(m.num),
                        float(m.den),
                        m.value / m.target if ok else math.nan,
                    )
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

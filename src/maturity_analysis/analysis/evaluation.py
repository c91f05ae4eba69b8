"""The evaluation (阶段性评估): every KPI of the plan against its target, for a month, a
phase/quarter or the year, and the year to date against the annual target.

A period is a phase/quarter (``"2013Q2"``), a month (``"2013-05"``) or the year (``"2013"``).
What each KPI counts is in :mod:`~maturity_analysis.analysis.kpis` (one function per KPI, and
:data:`~maturity_analysis.analysis.kpis.KPIS`, their order); here each unit is evaluated: the
targets allocated to it (:func:`allocated`, from the one allocation
:func:`~maturity_analysis.analysis.targets.branch_phase_allocation`, each branch's phase split
over its months by :func:`month_allocation`), each KPI's 达成率 and one verdict (结论), the
summary, its display and narrative, and every branch or 支局 at once (:func:`by_branch`,
:func:`by_sub_branch`; their league tables are :mod:`~maturity_analysis.analysis.league`).
A 支局 is evaluated on its branches together: its targets are the sums of their allocations,
its counts the sums of their counts and its rates the rates of their pooled rows.

Verdicts: 达标, 未达标, 待定 (the base is below ``tracking.wilson_below`` and the Wilson interval
of the result contains the target: too few to tell), 无数据 (no tracking data of the kind, or an
empty base), 数据不全 (万能险保单持有率 with too few outcomes recorded), — (no target).
"""

from __future__ import annotations

import hashlib
import html
import math
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from .. import config
from ..files import atomic_path, package_fingerprint
from ..ingest.dataset import dataset_fingerprint, read_dataset, read_dataset_tracking
from ..ingest.forms import Tracking
from ..memo import kept
from ..plan.model import Plan, load_plan, plan_file
from ..plan.period import Period, parse_period
from .book import (
    ALL,
    branch_codes,
    branch_label,
    branch_sub_branches,
    compared_branches,
    in_branches,
    is_all,
    is_sub_branch,
    unit_branches,
    unit_tracking,
)
from .kpis import (
    INCOMPLETE,
    KPIS,
    NO_DATA,
    Kpi,
    Unit,
    exceptions,
    no_team_days,
    team_day_grid,
)
from .lookup import as_text
from .markup import md
from .targets import (
    binding,
    branch_phase_allocation,
    eligible,
    other_basis,
    policy_targets,
    split_whole,
)

SUMMARY_COLUMNS = [
    "KPI",
    "单位",
    "实际",
    "目标",
    "达成率",
    "结论",
    "达标",
    "分子",
    "分母",
    "区间下限",
    "区间上限",
    "说明",
]
MET, NOT_MET, PENDING, NO_TARGET = "达标", "未达标", "待定", "—"
VERDICTS = (MET, NOT_MET, PENDING, NO_DATA, INCOMPLETE, NO_TARGET)
BASES = ("rate", "stated")


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``successes / n`` (NaN, NaN when ``n`` is 0).

    >>> [round(x, 4) for x in wilson(8, 10)]
    [0.4902, 0.9433]
    """
    if n <= 0:
        return math.nan, math.nan
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p, z2 = successes / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)  # exact ends, not rounding noise
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


Codes = list[str] | None  # a unit's branch codes (:func:`~.book.unit_branches`); None: ALL


def _within(frame: pd.DataFrame, codes: Codes) -> pd.DataFrame:
    if codes is None:
        return frame
    return frame[in_branches(frame, codes)]


def month_allocation(
    policies: pd.DataFrame, plan: Plan | None = None, basis: str | None = None
) -> pd.DataFrame:
    """The one allocation (:func:`~maturity_analysis.analysis.targets.branch_phase_allocation`)
    with each branch's phase count split over the phase's months by the branch's eligible base
    in each month (largest remainder). Columns: target, branch_code, phase, month, base,
    allocated; any period's target is a sum of these rows."""
    plan = plan or load_plan()
    long = branch_phase_allocation(policies, plan, basis)
    code, codes = pd.factorize(as_text(policies["branch_code"]))
    month = policies["maturity_date"].dt.month.to_numpy(dtype=float, na_value=0).astype(int)
    cell = np.where((code >= 0) & (month > 0), code * 12 + month - 1, -1)
    row_of = {c: i for i, c in enumerate(codes)}
    phases = {p.key: np.arange(p.first_month, p.last_month + 1) for p in plan.phases}
    rows = []
    for t in policy_targets(plan):
        counted = cell[np.asarray(eligible(policies, t), dtype=bool) & (cell >= 0)]
        grid = np.bincount(counted, minlength=len(codes) * 12).reshape(-1, 12)
        for r in long[long["target"] == t.key].itertuples():
            months = phases[r.phase]
            i = row_of.get(r.branch_code)
            base = grid[i, months - 1] if i is not None else np.zeros(len(months), np.int64)
            parts = split_whole(int(r.allocated), base, months) if r.allocated else base * 0
            rows += [
                (t.key, r.branch_code, r.phase, int(m), int(b), int(a))
                for m, b, a in zip(months, base, parts, strict=True)
            ]
    cols = ["target", "branch_code", "phase", "month", "base", "allocated"]
    return pd.DataFrame(rows, columns=cols)


# What the one allocation reads of the book: its key in the process's memo.
_ALLOCATION_COLUMNS = ("branch_code", "branch_name", "product_type", "age", "maturity_date")
_allocation_memo: dict[tuple, dict[str | None, pd.DataFrame]] = {}


def _allocations(
    policies: pd.DataFrame, plan: Plan, bases: tuple[str | None, ...] = BASES
) -> dict[str | None, pd.DataFrame]:
    """:func:`month_allocation` on each of ``bases`` (``None``: each target's own). Every
    unit's evaluation and trend of a book needs the same ones, so each is kept in the process,
    keyed by the content of the columns it reads and the plan; each call gets copies."""
    columns = [c for c in _ALLOCATION_COLUMNS if c in policies.columns]
    content = pd.util.hash_pandas_object(policies[columns], index=False).to_numpy()
    key = (hashlib.sha256(content.tobytes()).hexdigest(), tuple(columns), pickle.dumps(plan))
    by_basis = kept(_allocation_memo, key, dict)
    for b in bases:
        if b not in by_basis:
            by_basis[b] = month_allocation(policies, plan, b)
    return {b: by_basis[b].copy() for b in bases}


def kept_allocation(policies: pd.DataFrame, plan: Plan, basis: str | None = None) -> pd.DataFrame:
    """:func:`month_allocation` of ``basis``, computed once per book and plan in the process
    (:func:`_allocations`); a copy."""
    return _allocations(policies, plan, (basis,))[basis]


def _sum_goals(alloc: pd.DataFrame, period: Period, codes: Codes, plan: Plan) -> dict[str, int]:
    alloc = _within(alloc, codes)
    if period.start.year == period.end.year == plan.year:
        alloc = alloc[alloc["month"].between(period.start.month, period.end.month)]
    sums = alloc.groupby("target")["allocated"].sum()
    return {t.key: int(sums.get(t.key, 0)) for t in policy_targets(plan)}


def allocated(
    policies: pd.DataFrame,
    period: str | Period,
    branch: str = ALL,
    plan: Plan | None = None,
    alloc: pd.DataFrame | None = None,
    basis: str | None = None,
) -> dict[str, int]:
    """Target counts allocated to ``branch`` (a branch, a 支局 or all) for ``period``, per
    policy target key: the sum of :func:`month_allocation` (``alloc``, default on the whole
    book ``policies``) over the unit's branches and the period's months."""
    plan = plan or load_plan()
    period = parse_period(period, plan)
    if alloc is None:
        alloc = kept_allocation(policies, plan, basis)
    return _sum_goals(alloc, period, unit_branches(policies, str(branch)), plan)


def _alternatives(allocs: dict[str, pd.DataFrame], plan: Plan) -> frozenset[str]:
    """The policy targets whose other basis gives the whole book another count for the year
    (``allocs``: the whole book's allocation on each basis)."""
    year = {b: _sum_goals(a, _year(plan), None, plan) for b, a in allocs.items()}
    return frozenset(
        t.key
        for t in policy_targets(plan)
        if (alt := other_basis(t)) is not None and year[alt][t.key] != year[binding(t)][t.key]
    )


def _goals(
    allocs: dict[str, pd.DataFrame],
    period: Period,
    codes: Codes,
    plan: Plan,
    alternatives: frozenset[str],
) -> tuple[dict[str, int], dict[str, int]]:
    """The binding goals and, for the :func:`_alternatives` targets, the other basis's
    (``allocs``: each basis's allocation, of the whole book or only the unit's branches)."""
    by = {b: _sum_goals(a, period, codes, plan) for b, a in allocs.items()}
    goals = {t.key: by[binding(t)][t.key] for t in policy_targets(plan)}
    other = {
        t.key: by[other_basis(t)][t.key] for t in policy_targets(plan) if t.key in alternatives
    }
    return goals, other


def _year(plan: Plan) -> Period:
    return parse_period(str(plan.year), plan)


def year_to_date(period: Period, plan: Plan) -> Period:
    """From the plan year's first day to the end of ``period`` (the year itself for a year)."""
    if period.kind == "year":
        return period
    return Period(
        f"{plan.year}年1-{period.end.month}月累计",
        "ytd",
        date(plan.year, 1, 1),
        period.end,
        "年初至今",
    )


def _share_target(kpi: Kpi, m) -> float:
    return m.target if kpi.rate else m.share


def _verdict(kpi: Kpi, m, lo: float, hi: float) -> str:
    if m.verdict:
        return m.verdict
    if not kpi.judged or pd.isna(m.target):
        return NO_TARGET
    if pd.isna(m.value):
        return NO_DATA
    share = _share_target(kpi, m)
    # A target of 0 or 100% is a rule (every one, none), not an estimate: no 待定 there.
    if not pd.isna(lo) and 0 < share < 1 and lo <= share <= hi:
        return PENDING
    ok = m.value >= m.target if kpi.higher else m.value <= m.target
    return MET if ok else NOT_MET


def _row(kpi: Kpi, unit: Unit) -> dict[str, Any]:
    """One row of the summary: ``kpi`` measured on ``unit``, its 达成率, 结论 and interval."""
    m, s = kpi.measure(unit), unit.settings
    actual, target = m.value, m.target
    ratio = actual / target if target and not pd.isna(target) and not pd.isna(actual) else math.nan
    lo = hi = math.nan
    proportion = kpi.rate or not pd.isna(m.share)
    if proportion and not pd.isna(m.den) and 0 < m.den < s.wilson_below:
        lo, hi = wilson(int(m.num), int(m.den), s.confidence)
    verdict = _verdict(kpi, m, lo, hi)
    return {
        "key": kpi.key,
        "KPI": kpi.title(unit.plan),
        "单位": kpi.unit,
        "实际": actual,
        "目标": target,
        "达成率": ratio,
        "结论": verdict,
        "达标": True if verdict == MET else False if verdict == NOT_MET else pd.NA,
        "分子": m.num,
        "分母": m.den,
        "区间下限": lo,
        "区间上限": hi,
        "说明": m.note,
    }


def _unit(
    policies: pd.DataFrame,
    tracking: Tracking,
    period: Period,
    codes: Codes,
    plan: Plan,
    allocs: dict[str, pd.DataFrame],
    alternatives: frozenset[str],
    sources: frozenset[str],
    grid: pd.DataFrame | None = None,
) -> Unit:
    goals, other = _goals(allocs, period, codes, plan, alternatives)
    return Unit(
        book=_within(policies, codes),
        tracking=Tracking(
            calls=tracking.calls,  # joined to the unit's policies by policy_no
            complaints=_within(tracking.complaints, codes),
            worklog=_within(tracking.worklog, codes),
            outcomes=tracking.outcomes,  # likewise
        ),
        period=period,
        plan=plan,
        goals=goals,
        other_goals=other,
        sources=sources,
        grid=grid,
    )


def _table(unit: Unit) -> pd.DataFrame:
    out = pd.DataFrame([_row(kpi, unit) for kpi in KPIS]).set_index("key")
    out["达标"] = out["达标"].astype("boolean")
    return out[SUMMARY_COLUMNS]


def _sources(tracking: Tracking) -> frozenset[str]:
    return frozenset(
        k for k in ("calls", "complaints", "worklog", "outcomes") if not tracking[k].empty
    )


def _summary(
    policies: pd.DataFrame,
    tracking: Tracking,
    period: Period,
    codes: Codes,
    plan: Plan,
    allocs: dict[str, pd.DataFrame],
    alternatives: frozenset[str],
    sources: frozenset[str],
    grid: pd.DataFrame | None = None,
) -> pd.DataFrame:
    return _table(
        _unit(policies, tracking, period, codes, plan, allocs, alternatives, sources, grid)
    )


def _ytd(table: Callable[[Period], pd.DataFrame], period: Period, plan: Plan) -> pd.DataFrame:
    """Year to date: the summary from January to the period's end, against the targets due
    by then, with the annual target (年度目标) and the share of it done (年度完成率);
    ``table``: a period's summary of the unit."""
    out = table(year_to_date(period, plan)).copy()
    annual = table(_year(plan))
    counts = out["单位"] == "件"
    out["年度目标"] = annual["目标"]
    out["年度完成率"] = [
        a / t if t and not pd.isna(t) and not pd.isna(a) and c else math.nan
        for a, t, c in zip(out["实际"], out["年度目标"], counts, strict=True)
    ]
    return out


def shown(value: Any, unit: str) -> str:
    """A figure as the evaluation shows it in ``unit`` (件, %, 元, 访 …); — when missing."""
    if value is None or pd.isna(value):
        return "—"
    if unit == "%":
        return f"{value:.1%}"
    if unit == "元":
        return f"{value:,.0f}"
    if unit == "访":
        return f"{value:.1f}"
    return f"{value:,.0f}"


def _display(s: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=s.index)
    out["KPI"] = s["KPI"]
    for col in ("实际", "目标"):
        out[col] = [shown(v, u) for v, u in zip(s[col], s["单位"], strict=True)]
    out["达成率"] = [shown(v, "%") for v in s["达成率"]]
    if "年度目标" in s.columns:
        out["年度目标"] = [shown(v, u) for v, u in zip(s["年度目标"], s["单位"], strict=True)]
        out["年度完成率"] = [shown(v, "%") for v in s["年度完成率"]]
    out["结论"] = s["结论"]
    out["分子/分母"] = [
        f"{shown(a, '件')}/{shown(b, '件')}" if u in ("%", "件") and not pd.isna(b) else "—"
        for a, b, u in zip(s["分子"], s["分母"], s["单位"], strict=True)
    ]
    out["区间"] = [
        f"{lo:.1%}–{hi:.1%}" if not pd.isna(lo) else ""
        for lo, hi in zip(s["区间下限"], s["区间上限"], strict=True)
    ]
    out["说明"] = s["说明"]
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Evaluation:
    """KPIs of one unit (a branch, a 支局 or ``"ALL"``) for one period (``summary``, one per row) and for the
    year to date against the annual targets (``ytd``; the same as ``summary`` for the year);
    ``exceptions`` lists the period's exceptions to the plan's rules (kpis.exceptions)."""

    period: Period
    branch: str
    summary: pd.DataFrame
    ytd: pd.DataFrame
    exceptions: pd.DataFrame
    name: str = ""

    @property
    def title(self) -> str:
        """E.g. ``"全部网点 2013Q2 促进期 阶段性评估"``, ``"城关网点（4203） 2013 全年 阶段性评估"``,
        ``"城关支局 2013Q2 促进期 阶段性评估"``."""
        return f"{branch_label(self.branch, self.name)} {self.period.label} {self.period.name} 阶段性评估"

    def table(self) -> pd.DataFrame:
        """The period's summary as display text: figures, 达成率, 结论, intervals."""
        return _display(self.summary)

    def ytd_table(self) -> pd.DataFrame:
        """The year to date as display text, with the annual target and the share done."""
        return _display(self.ytd)

    def _repr_html_(self) -> str:
        body = self.table().to_html(index=False, escape=True, border=0, classes="evaluation")
        return f"<h4>{html.escape(self.title)}</h4>\n{body}"

    def __repr__(self) -> str:
        return f"{self.title}\n{self.table().to_string(index=False)}"

    def narrative(self) -> str:
        """The evaluation in a few sentences (Markdown), every figure computed."""
        s = self.summary
        counts = s["结论"].value_counts()
        judged = [v for v in (MET, NOT_MET, PENDING, NO_DATA, INCOMPLETE) if counts.get(v, 0)]
        missed = list(s.loc[s["结论"] == NOT_MET, "KPI"])
        v = lambda key, col="实际": shown(s.at[key, col], s.at[key, "单位"])  # noqa: E731
        lines = [
            f"**{md(self.title)}**：有目标的指标中"
            + "，".join(f"{x}{int(counts[x])}项" for x in judged)
            + (f"；未达标：{'、'.join(missed)}。" if missed else "。")
        ]
        for key in ("policy_conversion", "deposit_conversion"):
            if s.at[key, "结论"] == NO_DATA:
                lines.append(f"{s.at[key, 'KPI']}：{NO_DATA}（{s.at[key, '说明']}）。")
                continue
            lines.append(
                f"{s.at[key, 'KPI']}{v(key)}件，目标{v(key, '目标')}件，{s.at[key, '结论']}；"
                f"{s.at[key, '说明']}。"
            )
        if "policy_conversion_other" in s.index and not pd.isna(
            s.at["policy_conversion_other", "目标"]
        ):
            lines.append(
                f"按方案所述件数口径，本期应完成{v('policy_conversion_other', '目标')}件，"
                f"达成率{shown(s.at['policy_conversion_other', '达成率'], '%')}（仅列进度）。"
            )
        lines.append(
            f"{s.at['persistency', 'KPI']}：{NO_DATA}（{s.at['persistency', '说明']}）。"
            if s.at["persistency", "结论"] == NO_DATA
            else f"{s.at['persistency', 'KPI']}{v('persistency')}（目标{v('persistency', '目标')}），"
            f"{s.at['persistency', '结论']}；{s.at['persistency', '说明']}。"
        )
        lines.append(self._complaints())
        if s.at["calls_per_team_day", "结论"] == NO_DATA:
            lines.append(f"电话回访：{NO_DATA}（{s.at['calls_per_team_day', '说明']}）。")
        else:
            target = int(s.at["calls_per_team_day", "目标"])
            lines.append(
                f"附件一记录每团队每个工作日平均回访{v('calls_per_team_day')}访"
                f"（方案要求{target}访），{v('team_days_short')}个团队工作日不足{target}访；"
                f"{s.at['calls_per_team_day', '说明']}。"
            )
        if s.at["compensation_paid", "结论"] == NO_DATA:
            lines.append(f"赔偿：{NO_DATA}（没有附件二数据）。")
        else:
            paid = int(s.at["compensation_paid", "分子"])
            lines.append(
                f"赔偿{paid:,}件，共{v('compensation_paid')}元。" if paid else "本期没有赔偿。"
            )
        n = len(self.exceptions)
        lines.append(
            f"例外{n:,}件："
            + "，".join(
                f"{k}{c:,}件"
                for k, c in self.exceptions["例外"].value_counts().sort_index().items()
            )
            + "，见例外清单。"
            if n
            else "本期没有例外（赔付不满规定年龄的客户、高龄客户转保）。"
        )
        return "\n\n".join(lines)

    def _complaints(self) -> str:
        s = self.summary
        if s.at["answered_in_time", "结论"] == NO_DATA and pd.isna(
            s.at["answered_in_time", "分母"]
        ):
            return f"投诉：{NO_DATA}（没有附件二数据）。"
        n = int(s.at["answered_in_time", "分母"])
        if not n:
            return "本期没有投诉，投诉处理满意度无数据。"
        within = s.at["answered_in_time", "KPI"].removesuffix("答复率")
        satisfied = shown(s.at["complaint_satisfaction", "实际"], "%")
        goal = shown(s.at["complaint_satisfaction", "目标"], "%")
        answered = shown(s.at["answered_in_time", "实际"], "%")
        return (
            f"{n:,}件投诉，{answered}在{within}答复；处理后满意度{satisfied}（目标{goal}），"
            f"{s.at['complaint_satisfaction', '结论']}。"
        )


def _exceptions(unit: Unit, policies: pd.DataFrame) -> pd.DataFrame:
    rows = exceptions(unit)
    names = policies.drop_duplicates("branch_code").set_index(
        policies.drop_duplicates("branch_code")["branch_code"].astype(str)
    )["branch_name"]
    return rows.assign(branch_name=rows["branch_code"].map(names))


def evaluate(
    policies: pd.DataFrame,
    tracking: Tracking,
    period: str | Period,
    branch: str = ALL,
    plan: Plan | None = None,
) -> Evaluation:
    """Evaluate a unit (a ``branch_code``, a 支局 unit ``"支局:<name>"`` or ``"ALL"``) for a
    period, and the year to date.

    Parameters
    ----------
    policies
        The whole book's canonical policies (targets are allocated across all branches).
    tracking
        Accepted tracking frames (:func:`tracking.read_tracking` / :func:`tracking.read_processed`).
    period
        ``"2013Q2"``, ``"2013-05"`` or ``"2013"``.

    Returns
    -------
    Evaluation
        ``summary`` and ``ytd`` are indexed by KPI key with columns ``SUMMARY_COLUMNS`` (``ytd``
        adds 年度目标, 年度完成率); rates are fractions.
    """
    plan = plan or load_plan()
    p = parse_period(period, plan)
    branch = str(branch)
    codes = unit_branches(policies, branch)
    allocs = _allocations(policies, plan)
    alternatives = _alternatives(allocs, plan)
    sources = _sources(tracking)
    book = _within(policies, codes)  # the unit's rows, once: not the area's for every span
    if codes is not None:  # and its calls and outcomes, not the area's for every KPI
        tracking = unit_tracking(book, tracking)

    @cache  # the period, its year to date and the year: one, two or three distinct spans
    def unit(span: Period) -> Unit:
        return _unit(book, tracking, span, codes, plan, allocs, alternatives, sources)

    @cache
    def table(span: Period) -> pd.DataFrame:
        return _table(unit(span))

    return Evaluation(
        p,
        branch,
        table(p),
        _ytd(table, p, plan),
        _exceptions(unit(p), policies),
        _branch_name(policies, branch),
    )


def _branch_name(policies: pd.DataFrame, branch: str) -> str:
    if is_all(branch) or is_sub_branch(branch) or "branch_name" not in policies.columns:
        return ""
    names = policies.loc[as_text(policies["branch_code"]) == branch, "branch_name"].dropna()
    return str(names.iloc[0]) if len(names) else ""


def _by_groups(
    policies: pd.DataFrame,
    tracking: Tracking,
    p: Period,
    plan: Plan,
    group: pd.Series,
    name: str,
) -> pd.DataFrame:
    """Each group's summary stacked (``group``: branch code → group, the branches in it)."""
    allocs = _allocations(policies, plan)
    alternatives = _alternatives(allocs, plan)
    sources = _sources(tracking)

    def split(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        of = as_text(frame["branch_code"]).map(group)
        return dict(tuple(frame[of.notna()].groupby(of[of.notna()], sort=True)))

    books = split(policies)
    kinds = {k: split(tracking[k]) for k in ("calls", "complaints", "worklog", "outcomes")}
    split_allocs = {basis: split(alloc) for basis, alloc in allocs.items()}
    # a unit's team-days are the book's on its branches (teams, calls and logs are a branch's)
    grids = split(team_day_grid(tracking, p, policies, plan.holiday_notices))
    parts = {}
    for unit, book in books.items():  # each unit on its own rows: the same as evaluate(unit)
        mine = Tracking(**{k: kinds[k].get(unit, tracking[k].iloc[:0]) for k in kinds})
        codes = sorted(group.index[group == unit])
        grid = grids[unit].reset_index(drop=True) if unit in grids else no_team_days()
        own = {basis: split_allocs[basis].get(unit, a.iloc[:0]) for basis, a in allocs.items()}
        parts[unit] = _summary(book, mine, p, codes, plan, own, alternatives, sources, grid)
    return pd.concat(parts, names=[name, "key"])


def by_branch(
    policies: pd.DataFrame, tracking: Tracking, period: str | Period, plan: Plan | None = None
) -> pd.DataFrame:
    """Every branch's summary stacked: index (branch_code, key), columns as ``summary``."""
    plan = plan or load_plan()
    codes = pd.Index(branch_codes(policies))
    group = pd.Series(codes, index=codes)
    return _by_groups(policies, tracking, parse_period(period, plan), plan, group, "branch_code")


def by_sub_branch(
    policies: pd.DataFrame, tracking: Tracking, period: str | Period, plan: Plan | None = None
) -> pd.DataFrame:
    """Every 支局's summary stacked (each on its branches together, as :func:`evaluate` of its
    unit): index (sub_branch — the 支局's name —, key), columns as ``summary``."""
    plan = plan or load_plan()
    group = branch_sub_branches(policies)
    return _by_groups(policies, tracking, parse_period(period, plan), plan, group, "sub_branch")


_by_branch_memo: dict[tuple, pd.DataFrame] = {}
# Beside the prepared datasets' folders (their fingerprints cover every file in them): each
# dataset's summaries of every branch and every 支局, one file per period, plan and package.
STORE = ".evaluations"


def dataset_by_branch(
    dataset: str = "sample",
    period: str | Period = "2013Q2",
    plan: Plan | None = None,
    raw_dir: str | None = None,
    processed_dir: str | None = None,
    level: str = "branch",
) -> pd.DataFrame:
    """:func:`by_branch` of a prepared dataset (its policies and tracking frames), a copy;
    ``level="sub_branch"``: :func:`by_sub_branch`.

    Kept in the process per prepared files (:func:`~maturity_analysis.ingest.dataset.dataset_fingerprint`), plan and period:
    every branch's evaluation report shows every branch, and a warm report kernel computes them
    once per dataset and period instead of once per report. Also stored (:data:`STORE`, by the
    same inputs and the package's files), so the runner and its kernels compute them once a run.
    """
    plan = plan or load_plan(plan_file(dataset=dataset, raw_dir=raw_dir))
    used = plan.source  # the dataset is prepared on this plan file
    key = (
        dataset_fingerprint(dataset, raw_dir, processed_dir, used),
        parse_period(period, plan),
        pickle.dumps(plan),
        level,
    )

    def stored_or_computed() -> pd.DataFrame:
        store = Path(processed_dir or config.processed_dir()) / STORE / dataset
        inputs = _sha256(pickle.dumps((*key[1:], package_fingerprint())))
        name = f"{key[0][:16]}-{inputs[:16]}.parquet"
        table = _read_stored(store / name)
        if table is not None:
            return table
        with _computing(store):  # stored meanwhile by the process this one waited for?
            table = _read_stored(store / name)
            if table is None:
                book = read_dataset(dataset, raw_dir, processed_dir, used)
                tracking = read_dataset_tracking(dataset, raw_dir, processed_dir, used)
                summaries = by_sub_branch if level == "sub_branch" else by_branch
                table = summaries(book, tracking, period, plan)
                _store(store, name, table)
        return table

    return kept(_by_branch_memo, key, stored_or_computed).copy()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def _computing(store: Path) -> Iterator[None]:
    """Hold the store's lock file while computing what goes in it: the runner's index thread
    and the report kernels that need the same summaries at once wait for the one computing them
    and read its file, instead of each computing them (the province's 300 branches: 12 s each).
    A store that cannot be locked (a folder that cannot be written) is computed without."""
    from filelock import FileLock

    lock = FileLock(store / ".lock")
    try:
        store.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except OSError:
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


def _read_stored(path: Path) -> pd.DataFrame | None:
    """A table :func:`_store` wrote, or None when it is not there or cannot be read."""
    try:
        return pd.read_parquet(path)
    except Exception:  # noqa: BLE001 - missing or damaged: computed again
        return None


def _store(store: Path, name: str, table: pd.DataFrame) -> None:
    """Keep ``table`` as ``store/name`` for the other processes of a run (the report kernels
    and the runner), removing what earlier prepared files of the dataset left (``name``
    starts with the files' fingerprint); a folder that cannot be written is left alone."""
    try:
        for old in store.glob("*.parquet"):
            if not old.name.startswith(name[:16]):
                old.unlink(missing_ok=True)
        with atomic_path(store / name) as tmp:
            table.to_parquet(tmp)
    except OSError:
        return


def beside(table: pd.DataFrame, policies: pd.DataFrame, unit: str = ALL) -> pd.DataFrame:
    """The rows of :func:`by_branch` ``table`` a unit's report shows
    (:func:`~maturity_analysis.analysis.book.compared_branches`): every branch for ``ALL``, a
    支局's own branches, and for a branch those of its 支局 (every branch when it names none)."""
    codes = compared_branches(policies, unit)
    if codes is None:
        return table
    return table[table.index.get_level_values("branch_code").isin(codes)]


def team_days(
    tracking: Tracking,
    period: str | Period,
    branch: str = ALL,
    plan: Plan | None = None,
    policies: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every working team-day of the period (:func:`~maturity_analysis.analysis.kpis.team_day_grid`):
    branch_code, team, work_date, calls (附件一 recorded; 0 on a day without any), claimed
    (附件三), short (calls below ``calls_per_day``). ``policies`` (the book) joins the calls
    to branches; without it, the calls' own branch_code is used."""
    plan = plan or load_plan()
    p = parse_period(period, plan)
    branch = str(branch)
    if policies is None:
        calls = tracking.calls
        policies = calls[["policy_no", "branch_code"]].drop_duplicates("policy_no")
    codes = None if is_all(branch) else [branch]
    if is_sub_branch(branch):
        codes = unit_branches(policies, branch)
    book = _within(policies, codes)
    mine = Tracking(
        calls=tracking.calls,
        complaints=tracking.complaints,
        worklog=_within(tracking.worklog, codes),
        outcomes=tracking.outcomes,
    )
    grid = team_day_grid(mine, p, book, plan.holiday_notices).rename(columns={"recorded": "calls"})
    return grid.assign(short=grid["calls"] < plan.calls_per_day)

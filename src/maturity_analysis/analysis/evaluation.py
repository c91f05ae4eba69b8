"""The quarterly evaluation (阶段性评估): every KPI of the plan against its target, for a period.

A period is a phase/quarter (``"2013Q2"``), a month (``"2013-05"``) or the year (``"2013"``).
What each KPI counts is in :mod:`~maturity_analysis.analysis.kpis` (one function per KPI, and
:data:`~maturity_analysis.analysis.kpis.KPIS`, their order); here each unit is evaluated: the
targets allocated to it (:func:`allocated`: a month gets its phase's allocation split by the
month's base), each KPI's 达成率 and 达标, the summary, its display and narrative, and every
branch at once (:func:`by_branch`, :func:`glance`).

Rates get a Wilson score interval when their base is below ``tracking.wilson_below``.
"""

from __future__ import annotations

import html
import math
import pickle
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import pandas as pd

from ..ingest.dataset import dataset_fingerprint, read_dataset, read_dataset_tracking
from ..ingest.forms import Tracking
from ..plan.model import Plan, load_plan, plan_file
from ..plan.period import Period, parse_period
from ..plan.workdays import working_days
from .book import ALL, ALL_LABEL, check_branches, is_all
from .kpis import KPIS, Kpi, Unit
from .targets import allocate, branch_phase_allocation, eligible, policy_targets

SUMMARY_COLUMNS = [
    "KPI",
    "单位",
    "实际",
    "目标",
    "达成率",
    "达标",
    "分子",
    "分母",
    "区间下限",
    "区间上限",
    "说明",
]
MET, NOT_MET, NO_TARGET = "达标", "未达标", "—"


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


def _for_branch(frame: pd.DataFrame, branch: str) -> pd.DataFrame:
    if is_all(branch):
        return frame
    return frame[frame["branch_code"].astype(str) == branch]


def allocated(
    policies: pd.DataFrame,
    period: str | Period,
    branch: str = ALL,
    plan: Plan | None = None,
    alloc: pd.DataFrame | None = None,
) -> dict[str, int]:
    """Target counts allocated to ``branch`` (or all) for ``period``, per policy target key.

    The year's allocation by branch and phase (``alloc``, default
    :func:`targets.branch_phase_allocation` on the whole book); a month takes its phase's
    share in proportion to the month's eligible base.
    """
    plan = plan or load_plan()
    period = parse_period(period, plan)
    if alloc is None:
        alloc = branch_phase_allocation(policies, plan)
    alloc = _for_branch(alloc, branch)
    months = range(period.start.month, period.end.month + 1)
    phases = {plan.phase_of_month(m).key for m in months}
    out = {}
    for t in policy_targets(plan):
        rows = alloc[(alloc["target"] == t.key) & alloc["phase"].isin(phases)]
        if period.kind != "month":
            out[t.key] = int(rows["allocated"].sum())
            continue
        phase = plan.phase_of_month(period.start.month)
        book = _for_branch(policies, branch)
        flag = eligible(book, t)
        month = book["maturity_date"].dt.month
        total = 0
        for code, n in rows.set_index("branch_code")["allocated"].items():
            mine = flag & (book["branch_code"].astype(str) == code)
            weights = pd.Series(
                {
                    m: int((mine & (month == m)).sum())
                    for m in range(phase.first_month, phase.last_month + 1)
                }
            )
            if n:
                total += int(allocate(int(n), weights)[period.start.month])
        out[t.key] = total
    return out


def _row(kpi: Kpi, unit: Unit) -> dict[str, Any]:
    """One row of the summary: ``kpi`` measured on ``unit``, its 达成率, 达标 and interval."""
    m, s = kpi.measure(unit), unit.settings
    actual, target = m.value, m.target
    ok = pd.NA
    if not pd.isna(target) and not pd.isna(actual):
        ok = actual >= target if kpi.higher else actual <= target
    ratio = actual / target if target and not pd.isna(target) and not pd.isna(actual) else math.nan
    lo = hi = math.nan
    if kpi.rate and 0 < m.den < s.wilson_below:
        lo, hi = wilson(int(m.num), int(m.den), s.confidence)
    return {
        "key": kpi.key,
        "KPI": kpi.title(unit.plan),
        "单位": kpi.unit,
        "实际": actual,
        "目标": target,
        "达成率": ratio,
        "达标": ok,
        "分子": m.num,
        "分母": m.den,
        "区间下限": lo,
        "区间上限": hi,
        "说明": m.note,
    }


def _summary(
    policies: pd.DataFrame,
    tracking: Tracking,
    period: Period,
    branch: str,
    plan: Plan,
    alloc: pd.DataFrame,
) -> pd.DataFrame:
    unit = Unit(
        book=_for_branch(policies, branch),
        tracking=Tracking(
            calls=tracking.calls,  # joined to the unit's policies by policy_no
            complaints=_for_branch(tracking.complaints, branch),
            worklog=_for_branch(tracking.worklog, branch),
            outcomes=tracking.outcomes,  # likewise
        ),
        period=period,
        plan=plan,
        goals=allocated(policies, period, branch, plan, alloc),
    )
    out = pd.DataFrame([_row(kpi, unit) for kpi in KPIS]).set_index("key")
    out["达标"] = out["达标"].astype("boolean")
    return out[SUMMARY_COLUMNS]


def _shown(value: Any, unit: str) -> str:
    if value is None or pd.isna(value):
        return "—"
    if unit == "%":
        return f"{value:.1%}"
    if unit == "元":
        return f"{value:,.0f}"
    if unit == "访":
        return f"{value:.1f}"
    return f"{value:,.0f}"


@dataclass(frozen=True)
class Evaluation:
    """KPIs of one branch (or ``"ALL"``) for one period; ``summary`` holds them, one per row."""

    period: Period
    branch: str
    summary: pd.DataFrame

    @property
    def title(self) -> str:
        """E.g. ``"全部网点 2013Q2 促进期 阶段性评估"``."""
        who = ALL_LABEL if is_all(self.branch) else f"网点 {self.branch}"
        return f"{who} {self.period.label} {self.period.name} 阶段性评估"

    def table(self) -> pd.DataFrame:
        """The summary as display text: percentages, amounts, 达标 / 未达标, intervals."""
        s = self.summary
        out = pd.DataFrame(index=s.index)
        out["KPI"] = s["KPI"]
        for col in ("实际", "目标"):
            out[col] = [_shown(v, u) for v, u in zip(s[col], s["单位"], strict=True)]
        out["达成率"] = [_shown(v, "%") for v in s["达成率"]]
        out["达标"] = [NO_TARGET if pd.isna(v) else MET if v else NOT_MET for v in s["达标"]]
        out["分子/分母"] = [
            f"{_shown(a, '件')}/{_shown(b, '件')}" if u in ("%", "件") else "—"
            for a, b, u in zip(s["分子"], s["分母"], s["单位"], strict=True)
        ]
        out["区间"] = [
            f"{lo:.1%}–{hi:.1%}" if not pd.isna(lo) else ""
            for lo, hi in zip(s["区间下限"], s["区间上限"], strict=True)
        ]
        out["说明"] = s["说明"]
        return out.reset_index(drop=True)

    def _repr_html_(self) -> str:
        body = self.table().to_html(index=False, escape=True, border=0, classes="evaluation")
        return f"<h4>{html.escape(self.title)}</h4>\n{body}"

    def __repr__(self) -> str:
        return f"{self.title}\n{self.table().to_string(index=False)}"

    def narrative(self) -> str:
        """The evaluation in a few sentences (Markdown), every figure computed."""
        s = self.summary
        rated = s[s["达标"].notna()]
        missed = list(rated.loc[~rated["达标"].astype(bool), "KPI"])
        v = lambda key, col="实际": _shown(s.at[key, col], s.at[key, "单位"])  # noqa: E731
        lines = [
            f"**{self.title}**：有目标的{len(rated)}项指标中达标{len(rated) - len(missed)}项"
            + (f"，未达标：{'、'.join(missed)}。" if missed else "，全部达标。")
        ]
        if s.at["policy_conversion_rate", "分母"] == 0:
            lines.append("本期没有满期的转换目标客户。")
        else:
            lines.append(
                f"保单转换{v('policy_conversion_count')}件，分配目标"
                f"{v('policy_conversion_count', '目标')}件（转换率"
                f"{v('policy_conversion_rate')}，目标{v('policy_conversion_rate', '目标')}）；"
                f"存款转换{v('deposit_conversion_count')}件，分配目标"
                f"{v('deposit_conversion_count', '目标')}件（转存率"
                f"{v('deposit_conversion_rate')}，目标{v('deposit_conversion_rate', '目标')}）。"
            )
        lines.append(
            f"万能险保单持有率{v('persistency')}（目标{v('persistency', '目标')}）。"
            + self._complaints()
        )
        days = int(s.at["calls_per_team_day", "分母"])
        target = int(s.at["calls_per_team_day", "目标"])
        lines.append(
            f"附件三记录{days}个团队工作日，每团队日均回访{v('calls_per_team_day')}访"
            f"（方案要求{target}访），{v('team_days_short')}个团队工作日不足{target}访；"
            f"满期前回访率{v('phoned_before_maturity')}。"
            if days
            else f"本期附件三没有记录；满期前回访率{v('phoned_before_maturity')}。"
        )
        paid = int(s.at["compensation_paid", "分子"])
        lines.append(f"赔偿{paid}件，共{v('compensation_paid')}元。" if paid else "本期没有赔偿。")
        return "\n\n".join(lines)

    def _complaints(self) -> str:
        s = self.summary
        n = int(s.at["answered_in_time", "分母"])
        if not n:
            return "本期没有投诉。"
        within = s.at["answered_in_time", "KPI"].removesuffix("答复率")
        satisfied = _shown(s.at["complaint_satisfaction", "实际"], "%")
        goal = _shown(s.at["complaint_satisfaction", "目标"], "%")
        answered = _shown(s.at["answered_in_time", "实际"], "%")
        return f"{n}件投诉，{answered}在{within}答复；处理后满意度{satisfied}（目标{goal}）。"


def evaluate(
    policies: pd.DataFrame,
    tracking: Tracking,
    period: str | Period,
    branch: str = ALL,
    plan: Plan | None = None,
) -> Evaluation:
    """Evaluate a branch (a ``branch_code``, or ``"ALL"``) for a period.

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
        ``summary`` is indexed by KPI key with columns ``SUMMARY_COLUMNS``; rates are fractions.
    """
    plan = plan or load_plan()
    p = parse_period(period, plan)
    branch = str(branch)
    check_branches([branch], policies["branch_code"].astype(str).unique())
    alloc = branch_phase_allocation(policies, plan)
    return Evaluation(p, branch, _summary(policies, tracking, p, branch, plan, alloc))


def by_branch(
    policies: pd.DataFrame, tracking: Tracking, period: str | Period, plan: Plan | None = None
) -> pd.DataFrame:
    """Every branch's summary stacked: index (branch_code, key), columns as ``summary``."""
    plan = plan or load_plan()
    p = parse_period(period, plan)
    alloc = branch_phase_allocation(policies, plan)

    def split(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
        return dict(tuple(frame.groupby(frame["branch_code"].astype(str), sort=True)))

    books = split(policies)
    kinds = {k: split(tracking[k]) for k in ("calls", "complaints", "worklog", "outcomes")}
    allocs = split(alloc)
    parts = {}
    for code, book in books.items():  # each branch on its own rows: the same as branch=code
        mine = Tracking(**{k: kinds[k].get(code, tracking[k].iloc[:0]) for k in kinds})
        parts[code] = _summary(book, mine, p, ALL, plan, allocs.get(code, alloc.iloc[:0]))
    return pd.concat(parts, names=["branch_code", "key"])


_by_branch_memo: dict[tuple, pd.DataFrame] = {}


def dataset_by_branch(
    dataset: str = "sample",
    period: str | Period = "2013Q2",
    plan: Plan | None = None,
    raw_dir: str | None = None,
    processed_dir: str | None = None,
) -> pd.DataFrame:
    """:func:`by_branch` of a prepared dataset (its policies and tracking frames), a copy.

    Kept in the process per prepared files (:func:`~maturity_analysis.ingest.dataset.dataset_fingerprint`), plan and period:
    every branch's evaluation report shows every branch, and a warm report kernel computes them
    once per dataset and period instead of once per report.
    """
    plan = plan or load_plan(plan_file(dataset=dataset, raw_dir=raw_dir))
    used = plan.source  # the dataset is prepared on this plan file
    key = (
        dataset_fingerprint(dataset, raw_dir, processed_dir, used),
        parse_period(period, plan),
        pickle.dumps(plan),
    )
    if key not in _by_branch_memo:
        book = read_dataset(dataset, raw_dir, processed_dir, used)
        tracking = read_dataset_tracking(dataset, raw_dir, processed_dir, used)
        if len(_by_branch_memo) >= 4:
            _by_branch_memo.pop(next(iter(_by_branch_memo)))
        _by_branch_memo[key] = by_branch(book, tracking, period, plan)
    return _by_branch_memo[key].copy()


def glance(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`by_branch` at a glance: branches × KPIs, each cell 达标, 未达标 or — (no target),
    and a last column 达标 with ``met/rated``; for an index page."""
    met = table["达标"].unstack("key")
    keys = list(dict.fromkeys(table.index.get_level_values("key")))
    labels = table["KPI"].droplevel("branch_code").groupby(level=0).first()
    out = met[keys].map(lambda m: NO_TARGET if pd.isna(m) else MET if m else NOT_MET)
    out.columns = [labels[k] for k in keys]
    rated = met[keys].notna().sum(axis=1)
    out[MET] = [
        f"{int(m)}/{int(r)}"
        for m, r in zip(met[keys].fillna(False).sum(axis=1), rated, strict=True)
    ]
    return out


def team_days(
    tracking: Tracking, period: str | Period, branch: str = ALL, plan: Plan | None = None
) -> pd.DataFrame:
    """附件三 rows of the period on working days: branch_code, team, work_date, calls, short."""
    plan = plan or load_plan()
    p = parse_period(period, plan)
    log = _for_branch(tracking.worklog, str(branch))
    log = log[p.contains(log["work_date"])]
    log = log[
        log["work_date"].dt.date.isin(set(working_days(p.start, p.end, plan.holiday_notices)))
    ]
    out = log[["branch_code", "team", "work_date", "calls"]].sort_values(
        ["branch_code", "team", "work_date"]
    )
    return out.assign(short=out["calls"] < plan.calls_per_day).reset_index(drop=True)

"""The quarterly evaluation (阶段性评估): every KPI of the plan against its target, for a period.

A period is a phase/quarter (``"2013Q2"``), a month (``"2013-05"``) or the year (``"2013"``).
What each KPI counts (the plan's words where it has them; this project's reading where not):

- 保单转换 / 存款转换: policies in the target's base (``[targets.*]``: 分红, 20-60岁) maturing in
  the period whose 满期去向 is 转保 / 转存, whenever recorded; against the target count
  allocated to the branch and phase (:func:`targets.branch_phase_allocation`; a month gets its
  phase's allocation split by the month's base), and as a rate against the plan's rate.
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

from ..exceptions import MaturityDataError
from ..ingest.dataset import dataset_fingerprint, read_dataset, read_dataset_tracking
from ..ingest.forms import Tracking, settings
from ..plan.model import Plan, load_plan
from ..plan.period import Period, parse_period
from ..plan.workdays import working_days
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
    if branch == "ALL":
        return frame
    return frame[frame["branch_code"].astype(str) == branch]


def allocated(
    policies: pd.DataFrame,
    period: str | Period,
    branch: str = "ALL",
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


def _row(
    key: str,
    label: str,
    unit: str,
    actual: float,
    target: float,
    *,
    num: float = math.nan,
    den: float = math.nan,
    rate: bool = False,
    higher: bool = True,
    note: str = "",
    s: Any = None,
) -> dict[str, Any]:
    ok = pd.NA
    if not pd.isna(target) and not pd.isna(actual):
        ok = actual >= target if higher else actual <= target
    ratio = actual / target if target and not pd.isna(target) and not pd.isna(actual) else math.nan
    lo = hi = math.nan
    if rate and s is not None and 0 < den < s.wilson_below:
        lo, hi = wilson(int(num), int(den), s.confidence)
    return {
        "key": key,
        "KPI": label,
        "单位": unit,
        "实际": actual,
        "目标": target,
        "达成率": ratio,
        "达标": ok,
        "分子": num,
        "分母": den,
        "区间下限": lo,
        "区间上限": hi,
        "说明": note,
    }


def _lookup(keys: pd.Series, values: pd.Series) -> pd.Series:
    """``values`` looked up by each of ``keys`` (missing: NA), on ``keys``' index."""
    return pd.Series(values.reindex(keys.to_numpy()).to_numpy(), index=keys.index)


def _rate(num: int, den: int) -> float:
    return num / den if den else math.nan


def _summary(
    policies: pd.DataFrame,
    tracking: Tracking,
    period: Period,
    branch: str,
    plan: Plan,
    alloc: pd.DataFrame,
) -> pd.DataFrame:
    s = settings(plan)
    book = _for_branch(policies, branch)
    due = book[period.contains(book["maturity_date"])]
    outcome = _lookup(
        due["policy_no"],
        tracking.outcomes.drop_duplicates("policy_no").set_index("policy_no")["outcome"],
    )
    goals = allocated(policies, period, branch, plan, alloc)
    rows = []

    for key, kind in (
        ("policy_conversion", s.policy_conversion_outcome),
        ("deposit_conversion", s.deposit_conversion_outcome),
    ):
        t = plan.targets[key]
        base = eligible(due, t)
        n, done = int(base.sum()), int((base & (outcome == kind)).sum())
        rows.append(
            _row(
                f"{key}_count",
                f"{t.label}件数",
                "件",
                done,
                goals[key],
                num=done,
                den=n,
                note=f"满期去向为{kind}；目标为分配到本期的件数",
            )
        )
        rows.append(
            _row(
                f"{key}_rate",
                f"{t.label}率",
                "%",
                _rate(done, n),
                t.rate,
                num=done,
                den=n,
                rate=True,
                s=s,
            )
        )

    t = plan.targets["persistency"]
    base = eligible(due, t)
    kept = base & (outcome.isna() | (outcome == s.hold_outcome))
    unrecorded = int((base & outcome.isna()).sum())
    rows.append(
        _row(
            "persistency",
            t.label,
            "%",
            _rate(int(kept.sum()), int(base.sum())),
            t.rate,
            num=int(kept.sum()),
            den=int(base.sum()),
            rate=True,
            s=s,
            note=f"含未登记去向{unrecorded}件(按续持计)" if unrecorded else "",
        )
    )

    comp = _for_branch(tracking.complaints, branch)
    comp = comp[period.contains(comp["complaint_date"])]
    per = comp.assign(
        bad=comp["irregular_surrender"].fillna(False) | comp["compensated"].fillna(False),
        open_=comp["answer_date"].isna(),
    ).groupby("policy_no")
    customers = per.agg(bad=("bad", "any"), open_=("open_", "any"))
    handled = customers[~customers["open_"]]
    good, pending = int((~handled["bad"]).sum()), int(customers["open_"].sum())
    t = plan.targets["complaint_satisfaction"]
    rows.append(
        _row(
            "complaint_satisfaction",
            t.label,
            "%",
            _rate(good, len(handled)),
            t.rate,
            num=good,
            den=len(handled),
            rate=True,
            s=s,
            note="按客户计，未处理至非常规退保或赔偿为满意"
            + (f"；另{pending}人待答复" if pending else ""),
        )
    )

    waited = (comp["answer_date"] - comp["complaint_date"]).dt.days
    in_time = int((waited <= plan.complaint_answer_days).sum())
    unanswered = int(comp["answer_date"].isna().sum())
    rows.append(
        _row(
            "answered_in_time",
            f"{plan.complaint_answer_days}天内答复率",
            "%",
            _rate(in_time, len(comp)),
            s.answer_within_target,
            num=in_time,
            den=len(comp),
            rate=True,
            s=s,
            note=f"未答复{unanswered}件" if unanswered else "",
        )
    )

    log = _for_branch(tracking.worklog, branch)
    log = log[period.contains(log["work_date"])]
    workdays = set(working_days(period.start, period.end))
    log = log[log["work_date"].dt.date.isin(workdays)]
    calls = log["calls"].astype("float")
    short = int((calls < plan.calls_per_day).sum())
    teams = len(log[["branch_code", "team"]].drop_duplicates())
    rows.append(
        _row(
            "calls_per_team_day",
            "日均回访量(每团队)",
            "访",
            calls.mean() if len(log) else math.nan,
            plan.calls_per_day,
            num=float(calls.sum()),
            den=len(log),
            note=f"{teams}个团队，{len(log)}个团队工作日(附件三)",
        )
    )
    rows.append(
        _row(
            "team_days_short",
            f"回访不足{plan.calls_per_day}访的团队日",
            "天",
            short,
            0,
            num=short,
            den=len(log),
            higher=False,
        )
    )

    reached = tracking.calls[tracking.calls["intent"] != s.not_reached]
    first_call = reached.groupby("policy_no")["call_date"].min()
    before = _lookup(due["policy_no"], first_call) < due["maturity_date"]
    n_before = int(before.sum())
    rows.append(
        _row(
            "phoned_before_maturity",
            "满期前回访率",
            "%",
            _rate(n_before, len(due)),
            s.phoned_before_target,
            num=n_before,
            den=len(due),
            rate=True,
            s=s,
            note=f"有效回访(客户意向不为{s.not_reached})早于满期日",
        )
    )

    paid = comp[comp["compensated"].fillna(False)]
    age = book.drop_duplicates("policy_no").set_index("policy_no")["age"]
    ages = _lookup(paid["policy_no"], age).astype("Float64")
    young = int((ages < plan.compensation_min_age).sum())
    rows.append(
        _row(
            "compensation_paid",
            "赔偿金额",
            "元",
            float(paid["compensation"].sum()),
            math.nan,
            num=len(paid),
            den=len(comp),
            note=f"赔偿{len(paid)}件"
            + (f"，其中{young}件客户不满{plan.compensation_min_age}岁" if young else ""),
        )
    )
    out = pd.DataFrame(rows).set_index("key")
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
        who = "全部网点" if self.branch == "ALL" else f"网点 {self.branch}"
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
    branch: str = "ALL",
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
    if branch != "ALL" and branch not in set(policies["branch_code"].astype(str)):
        raise MaturityDataError(f"branch '{branch}' is not in the maturity list")
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
        parts[code] = _summary(book, mine, p, "ALL", plan, allocs.get(code, alloc.iloc[:0]))
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
    plan = plan or load_plan()
    key = (
        dataset_fingerprint(dataset, raw_dir, processed_dir),
        parse_period(period, plan),
        pickle.dumps(plan),
    )
    if key not in _by_branch_memo:
        book = read_dataset(dataset, raw_dir, processed_dir)
        tracking = read_dataset_tracking(dataset, raw_dir, processed_dir)
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
    tracking: Tracking, period: str | Period, branch: str = "ALL", plan: Plan | None = None
) -> pd.DataFrame:
    """附件三 rows of the period on working days: branch_code, team, work_date, calls, short."""
    plan = plan or load_plan()
    p = parse_period(period, plan)
    log = _for_branch(tracking.worklog, str(branch))
    log = log[p.contains(log["work_date"])]
    log = log[log["work_date"].dt.date.isin(set(working_days(p.start, p.end)))]
    out = log[["branch_code", "team", "work_date", "calls"]].sort_values(
        ["branch_code", "team", "work_date"]
    )
    return out.assign(short=out["calls"] < plan.calls_per_day).reset_index(drop=True)

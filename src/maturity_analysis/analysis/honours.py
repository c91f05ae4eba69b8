"""Honours (八、建立荣誉体系): league tables of the 1+1 service teams and the 客户经理 for a
period, and the candidates for the plan's award categories (``[honours]`` of the plan file).

What each criterion counts in the period (``[[honours.criteria]]``, keys of
:data:`~maturity_analysis.plan.model.HONOUR_CRITERIA`):

- ``conversions``: 满期去向 ``tracking.policy_conversion_outcome`` (转保) dated in the period;
- ``reached``: 附件一 calls in the period that reached the customer (有效回访);
- ``resolved_in_time``: complaints received in the period answered within
  ``operations.complaint_answer_days`` calendar days.

A policy belongs to the team of its first 附件一 call that reached the customer (else of its
first call); a call without a team to its branch's first team, as the evaluation counts it.
A policy belongs to its 客户经理 (``manager`` of the maturity list).

Score: the sum over criteria of weight × count ÷ the best count of that ranking (0 when the
best is 0). Ties are broken deterministically: the higher score first, then the higher count
of each criterion in the plan file's order, then the unit's code in ascending order (网点代码,
then 团队 or 客户经理). Every unit gets its own 名次.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

from ..ingest.forms import Tracking
from ..ingest.ids import mask_name
from ..plan.model import Plan, load_plan
from ..plan.period import Period, parse_period
from .book import ALL, for_branch, is_all, unit_tracking
from .kpis import UNNAMED_TEAM
from .lookup import member

TIE_RULE = "同分时依次比较各项指标件数（按方案文件所列顺序）、网点代码、团队或客户经理，名次唯一"
LEVELS = {"team": ("team", "团队"), "manager": ("manager", "客户经理")}


def _teamed_calls(calls: pd.DataFrame, book: pd.DataFrame) -> pd.DataFrame:
    """The calls on ``book``'s policies with branch_code from the book and every call a team
    (none named: its branch's first named team, else 未填团队)."""
    branch = book.drop_duplicates("policy_no").set_index("policy_no")["branch_code"].astype(str)
    calls = calls[member(calls["policy_no"], branch.index)]
    calls = calls.assign(branch_code=calls["policy_no"].map(branch))
    named = calls[calls["team"].notna()]
    first = named.sort_values(["branch_code", "team"]).groupby("branch_code")["team"].first()
    fallback = calls["branch_code"].map(first).fillna(UNNAMED_TEAM)
    return calls.assign(team=calls["team"].where(calls["team"].notna(), fallback).astype(str))


def _owners(book: pd.DataFrame, calls: pd.DataFrame, level: str, plan: Plan) -> pd.DataFrame:
    """policy_no → branch_code and the owner (team or manager) of each policy."""
    if level == "manager":
        out = book.drop_duplicates("policy_no")[["policy_no", "branch_code", "manager"]]
        out = out[out["manager"].notna()]
        return out.astype({"branch_code": str, "manager": str}).set_index("policy_no")
    reached = calls["intent"] != plan.tracking.not_reached
    ordered = calls.assign(missed=~reached).sort_values(["policy_no", "missed", "call_date"])
    first = ordered.drop_duplicates("policy_no")
    return first.set_index("policy_no")[["branch_code", "team"]]


def _count(rows: pd.DataFrame, owners: pd.DataFrame, col: str) -> pd.Series:
    joined = owners.reindex(rows["policy_no"]).dropna()
    return joined.groupby(["branch_code", col]).size()


def criteria_counts(
    book: pd.DataFrame, tracking: Tracking, period: Period, level: str, plan: Plan
) -> pd.DataFrame:
    """Each criterion's count per unit (index branch_code and team / manager) in the period;
    units are those with any call, customer or complaint on record."""
    col = LEVELS[level][0]
    calls = _teamed_calls(tracking.calls, book)
    owners = _owners(book, calls, level, plan)
    s = plan.tracking
    in_period = calls[period.contains(calls["call_date"])]
    reached = in_period[in_period["intent"] != s.not_reached]
    if level == "team":
        reached_count = reached.groupby(["branch_code", "team"]).size()
    else:
        reached_count = _count(reached, owners, col)
    out = tracking.outcomes
    conv = out[
        (out["outcome"] == s.policy_conversion_outcome) & period.contains(out["outcome_date"])
    ]
    comp = tracking.complaints
    comp = comp[period.contains(comp["complaint_date"])]
    waited = (comp["answer_date"] - comp["complaint_date"]).dt.days
    in_time = comp[waited <= plan.complaint_answer_days]
    counts = {
        "conversions": _count(conv, owners, col),
        "reached": reached_count,
        "resolved_in_time": _count(in_time, owners, col),
    }
    units = pd.MultiIndex.from_frame(owners[["branch_code", col]].drop_duplicates())
    if level == "team":
        units = units.union(reached_count.index)
    units = units.set_names(["branch_code", col])
    table = pd.DataFrame(
        {c.key: counts[c.key].reindex(units, fill_value=0) for c in plan.honours.criteria},
        index=units,
    )
    return table.astype("int64").sort_index()


def rank(counts: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """``counts`` (:func:`criteria_counts`) with 得分 and a unique 名次, best first (the tie
    rule is :data:`TIE_RULE`)."""
    criteria = plan.honours.criteria
    score = pd.Series(0.0, index=counts.index)
    for c in criteria:
        best = counts[c.key].max() if len(counts) else 0
        if best > 0:
            score = score + c.weight * counts[c.key] / best
    keys = [c.key for c in criteria]
    out = counts.assign(score=score.round(6)).reset_index()
    names = list(counts.index.names)
    out = out.sort_values(
        ["score", *keys, *names], ascending=[False] * (1 + len(keys)) + [True] * len(names)
    )
    out.insert(0, "rank", range(1, len(out) + 1))
    return out.reset_index(drop=True)


def league_table(
    book: pd.DataFrame,
    tracking: Tracking,
    period: Period,
    level: str = "team",
    branch: str = ALL,
    plan: Plan | None = None,
    masked: bool = True,
) -> pd.DataFrame:
    """The ranking of ``level`` (``team`` or ``manager``) units of ``branch`` (ALL: every
    branch) in the period, indexed 名次, with Chinese headers: 网点代码, 团队 / 客户经理, each
    criterion's label (件数), 得分. 客户经理 are masked as names (``masked``): staff share names
    with customers, and the reports' leak check cannot tell them apart."""
    plan = plan or load_plan()
    part = for_branch(book, branch)
    mine = tracking if is_all(branch) else unit_tracking(part, tracking)
    ranked = rank(criteria_counts(part, mine, period, level, plan), plan)
    if masked and level == "manager":
        ranked["manager"] = ranked["manager"].map(mask_name).astype(object)
    col, label = LEVELS[level]
    headers = {"rank": "名次", "branch_code": "网点代码", col: label, "score": "得分"}
    headers |= {c.key: c.label for c in plan.honours.criteria}
    return ranked.rename(columns=headers).set_index("名次")


def award_periods(period: Period, plan: Plan) -> list[Period]:
    """The periods whose awards a report for ``period`` shows: a month's own and its phase's
    (季度) to date, else the period itself."""
    if period.kind != "month":
        return [period]
    phase = plan.phase_of_month(period.start.month)
    quarter = parse_period(f"{period.start.year}{phase.key}", plan)
    return [period, dataclasses.replace(quarter, end=period.end, label=f"{quarter.label}至今")]


def award_candidates(
    book: pd.DataFrame,
    tracking: Tracking,
    period: Period,
    branch: str = ALL,
    plan: Plan | None = None,
) -> pd.DataFrame:
    """The candidates of each award category for ``period`` and the periods of
    :func:`award_periods` (月度 for a month, 季度 for a quarter, 年度 for the year): the top
    ``winners`` of its ranking, award by award."""
    plan = plan or load_plan()
    rows = []
    for p in award_periods(period, plan):
        for award in plan.honours.awards:
            if award.period != p.kind:
                continue
            table = league_table(book, tracking, p, award.level, branch, plan)
            label = LEVELS[award.level][1]
            for place, rec in table.head(award.winners).iterrows():
                rows.append(
                    {
                        "期间": p.label,
                        "奖项": award.label,
                        "名次": place,
                        "网点代码": rec["网点代码"],
                        "候选": rec[label],
                        "得分": rec["得分"],
                    }
                )
    out = pd.DataFrame(rows, columns=["期间", "奖项", "名次", "网点代码", "候选", "得分"])
    return out.set_index(["期间", "奖项", "名次"])

"""The plan's targets computed from data, and their allocation to branches and phases.

A target is a rate on a base of policies (``[targets.*]`` in the plan file: product, ages).
:func:`targets` shows what the plan's rates give on the data beside what the plan states;
:func:`allocate` splits any whole number in proportion to weights by the largest-remainder
method, so the parts are integers that sum exactly to the total.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from fractions import Fraction
from typing import Literal

import numpy as np
import pandas as pd

from .plan import Plan, Target, load_plan
from .tables import TOTAL

BASE = "基数"
GOAL = "目标件数"
BRANCH_INDEX = ["网点代码", "网点名称"]
PHASE_INDEX = ["阶段", "名称", "月份"]
Basis = Literal["rate", "stated"]


def policy_targets(plan: Plan) -> list[Target]:
    """The targets whose base is a set of policies (not complaints), in plan order."""
    return [t for key, t in plan.targets.items()
            if plan.section(f"targets.{key}").get("base", "policies") == "policies"]


def eligible(policies: pd.DataFrame, target: Target) -> pd.Series:
    """Whether each policy is in the target's base (product, 周岁 at maturity inclusive)."""
    mask = pd.Series(True, index=policies.index)
    if target.product is not None:
        mask &= policies["product_type"] == target.product
    age = policies["age"].astype("Float64")
    if target.min_age is not None:
        mask &= (age >= target.min_age).fillna(False).astype(bool)
    if target.max_age is not None:
        mask &= (age <= target.max_age).fillna(False).astype(bool)
    return mask.rename(target.key)


def describe_base(target: Target) -> str:
    """The base in words, e.g. ``"分红，20-60岁"``."""
    parts = [target.product or "全部"]
    if target.min_age is not None and target.max_age is not None:
        parts.append(f"{target.min_age}-{target.max_age}岁")
    elif target.min_age is not None:
        parts.append(f"{target.min_age}岁以上")
    elif target.max_age is not None:
        parts.append(f"{target.max_age}岁以下")
    return "，".join(parts)


def goal(rate: float, base: int) -> int:
    """Policies needed to reach ``rate`` of ``base`` ("at least", so rounded up).

    >>> goal(0.2, 12689), goal(0.6, 20587), goal(0.3, 10)
    (2538, 12353, 3)
    """
    return math.ceil(round(rate * base, 9))


def targets(
    policies: pd.DataFrame, plan: Plan | None = None, complaints: int | None = None
) -> pd.DataFrame:
    """Each target of the plan on the data: base, rate, rate × base, the count that reaches
    it (rounded up) and the count the plan states.

    Parameters
    ----------
    policies
        Canonical policies frame (the whole book or one branch).
    plan
        The plan (default: the shipped plan).
    complaints
        Complaints handled, the base of targets with ``base = "complaints"``; unknown
        (``<NA>``) when not given.

    Returns
    -------
    DataFrame
        Indexed by target key: 目标, 口径, 基数, 目标比率, 按比率计算, 目标件数, 方案所述件数,
        差额 (stated − 目标件数), 方案原文.
    """
    plan = plan or load_plan()
    on_policies = {t.key for t in policy_targets(plan)}
    rows = []
    for key, t in plan.targets.items():
        if key in on_policies:
            base, base_text = int(eligible(policies, t).sum()), describe_base(t)
        else:
            base, base_text = complaints, "投诉处理件数"
        exact = np.nan if base is None else t.rate * base
        count = None if base is None else goal(t.rate, base)
        rows.append({
            "目标": t.label, "口径": base_text, BASE: base, "目标比率": t.rate,
            "按比率计算": exact, GOAL: count, "方案所述件数": t.stated_count,
            "差额": None if t.stated_count is None or count is None else t.stated_count - count,
            "方案原文": t.note,
        })
    frame = pd.DataFrame(rows, index=pd.Index(list(plan.targets), name="target"))
    for col in (BASE, GOAL, "方案所述件数", "差额"):
        frame[col] = frame[col].astype("Int64")
    return frame


def allocate(total: int, weights: pd.Series | Mapping) -> pd.Series:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder).

    Each label first gets the whole part of its exact quota ``total × w / Σw``; the units
    left go one each to the largest remainders, ties broken by label (ascending). The parts
    sum exactly to ``total``, none is negative, a zero weight gets zero, and the result does
    not depend on the order of the labels. Quotas are computed in exact fractions.

    >>> allocate(10, {"B": 1, "A": 1, "C": 1}).to_dict()
    {'B': 3, 'A': 4, 'C': 3}

    Raises
    ------
    ValueError
        A negative or non-integer total, a negative or missing weight, or a positive total
        with nothing to allocate it to.
    """
    w = pd.Series(weights, dtype=float) if isinstance(weights, Mapping) else weights
    if isinstance(total, bool) or not float(total).is_integer() or total < 0:
        raise ValueError(f"total must be a whole number >= 0, got {total!r}")
    if w.isna().any() or (w < 0).any() or not np.isfinite(w.to_numpy(dtype=float)).all():
        raise ValueError(f"weights must be finite and >= 0, got {w.to_dict()}")
    total = int(total)
    fractions = [Fraction(x) for x in w.to_numpy(dtype=float)]
    whole = sum(fractions, Fraction(0))
    if whole == 0:
        if total:
            raise ValueError(f"cannot allocate {total}: every weight is zero")
        return pd.Series(0, index=w.index, dtype="int64", name=w.name)
    quotas = [total * f / whole for f in fractions]
    parts = [math.floor(q) for q in quotas]
    left = total - sum(parts)
    order = sorted(range(len(parts)), key=lambda i: (-(quotas[i] - parts[i]), str(w.index[i])))
    for i in order[:left]:
        parts[i] += 1
    return pd.Series(parts, index=w.index, dtype="int64", name=w.name)


def _totals(policies: pd.DataFrame, plan: Plan, basis: Basis) -> dict[str, int]:
    """The count to allocate per policy target: the rate's count, or the plan's stated one."""
    table = targets(policies, plan)
    out = {}
    for t in policy_targets(plan):
        stated = table.loc[t.key, "方案所述件数"]
        out[t.key] = int(stated if basis == "stated" and not pd.isna(stated)
                         else table.loc[t.key, GOAL])
    return out


def _bases(policies: pd.DataFrame, plan: Plan, by: pd.Series | list[pd.Series]) -> pd.DataFrame:
    """Eligible policies per group of ``by`` (rows) and policy target (columns)."""
    flags = pd.DataFrame({t.key: eligible(policies, t) for t in policy_targets(plan)})
    return flags.groupby(by, observed=False, sort=True).sum().astype("int64")


def _wide(bases: pd.DataFrame, parts: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    cols = {}
    for t in policy_targets(plan):
        cols[(t.label, BASE)] = bases[t.key]
        cols[(t.label, GOAL)] = parts[t.key]
    frame = pd.DataFrame(cols)
    frame.columns.names = ["目标", None]
    return frame


def _with_total(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a 合计 row (index levels after the first left blank)."""
    key = (TOTAL, *[""] * (frame.index.nlevels - 1))
    out = pd.concat([frame, frame.sum().to_frame(key).T]).astype("int64")
    out.index.names = frame.index.names
    return out


def allocate_branches(
    policies: pd.DataFrame, plan: Plan | None = None, basis: Basis = "rate"
) -> pd.DataFrame:
    """Each policy target split over branches in proportion to their eligible base.

    ``basis="rate"`` allocates the count the plan's rate gives on ``policies``;
    ``"stated"`` the count the plan states (where it states one). Rows are branches
    (网点代码, 网点名称) and a 合计 row; columns (target, 基数 / 目标件数).
    """
    plan = plan or load_plan()
    code = policies["branch_code"].astype(str)
    bases = _bases(policies, plan, code)
    totals = _totals(policies, plan, basis)
    parts = pd.DataFrame({k: allocate(n, bases[k]) for k, n in totals.items()})
    frame = _wide(bases, parts, plan)
    names = policies.groupby(code, sort=True)["branch_name"].first()
    frame.index = pd.MultiIndex.from_arrays(
        [frame.index, names.reindex(frame.index).fillna("").astype(str)], names=BRANCH_INDEX)
    return _with_total(frame)


def _phase_of(policies: pd.DataFrame, plan: Plan) -> pd.Series:
    month_to_phase = {m: ph.key for ph in plan.phases
                      for m in range(ph.first_month, ph.last_month + 1)}
    keys = [ph.key for ph in plan.phases]
    month = policies["maturity_date"].dt.month
    return pd.Series(pd.Categorical(month.map(month_to_phase), categories=keys),
                     index=policies.index, name="phase")


def allocate_phases(
    policies: pd.DataFrame,
    plan: Plan | None = None,
    totals: Mapping[str, int] | None = None,
    basis: Basis = "rate",
) -> pd.DataFrame:
    """Each policy target split over the plan's phases by the month policies mature.

    ``totals`` (target key → count) defaults to the targets on ``policies`` (see
    :func:`allocate_branches` for ``basis``); pass a branch's allocation to get that
    branch's quarterly milestones. Rows (阶段, 名称, 月份) and 合计; columns as in
    :func:`allocate_branches`.
    """
    plan = plan or load_plan()
    bases = _bases(policies, plan, _phase_of(policies, plan))
    totals = dict(totals) if totals is not None else _totals(policies, plan, basis)
    parts = pd.DataFrame({t.key: allocate(totals[t.key], bases[t.key])
                          for t in policy_targets(plan)})
    frame = _wide(bases, parts, plan)
    frame.index = pd.MultiIndex.from_tuples(
        [(ph.key, ph.name, f"{ph.first_month}-{ph.last_month}月") for ph in plan.phases],
        names=PHASE_INDEX)
    return _with_total(frame)


def branch_phase_allocation(
    policies: pd.DataFrame, plan: Plan | None = None, basis: Basis = "rate"
) -> pd.DataFrame:
    """Long table of each branch's allocation split over phases, for the evaluation.

    Columns: target (key), branch_code, phase (key), base, allocated. For every target and
    branch, ``allocated`` sums over phases to the branch's count in :func:`allocate_branches`.
    """
    plan = plan or load_plan()
    by_branch = allocate_branches(policies, plan, basis).drop(index=TOTAL, level=0)
    code = policies["branch_code"].astype(str)
    bases = _bases(policies, plan, [code, _phase_of(policies, plan)])
    records = []
    for t in policy_targets(plan):
        for (branch, _name), total in by_branch[(t.label, GOAL)].items():
            base = bases.loc[branch, t.key]
            for phase, n in allocate(int(total), base).items():
                records.append({"target": t.key, "branch_code": branch, "phase": phase,
                                "base": int(base[phase]), "allocated": int(n)})
    return pd.DataFrame.from_records(
        records, columns=["target", "branch_code", "phase", "base", "allocated"])

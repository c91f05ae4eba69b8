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

from ..plan.model import Plan, Target, load_plan
from .book import ALL, branch_sub_branches, for_branch, unit_branches
from .lookup import as_text
from .tables import TOTAL, category_codes

BASE = "基数"
GOAL = "目标件数"
RATE = "目标比率"
PLAN_RATE = "方案比率"
BY_RATE = "按比率件数"
STATED = "方案所述件数"
BASIS_LABELS = {"rate": "按比率计算", "stated": "按方案所述件数"}
BRANCH_INDEX = ["网点代码", "网点名称"]
SUB_BRANCH_INDEX = "支局"
PHASE_INDEX = ["阶段", "名称", "月份"]
Basis = Literal["rate", "stated"]


def policy_targets(plan: Plan) -> list[Target]:
    """The targets whose base is a set of policies (not complaints), in plan order."""
    return [t for t in plan.targets.values() if t.base == "policies"]


def _eligible(policies: pd.DataFrame, target: Target) -> np.ndarray:
    mask = np.ones(len(policies), dtype=bool)
    if target.product is not None:
        mask &= category_codes(policies["product_type"], [target.product]) == 0
    if target.min_age is not None or target.max_age is not None:
        age = policies["age"].to_numpy(dtype=float, na_value=np.nan)
        if target.min_age is not None:
            mask &= age >= target.min_age
        if target.max_age is not None:
            mask &= age <= target.max_age
    return mask


def eligible(policies: pd.DataFrame, target: Target) -> pd.Series:
    """Whether each policy is in the target's base (product, 周岁 at maturity inclusive)."""
    return pd.Series(_eligible(policies, target), index=policies.index, name=target.key)


def describe_base(target: Target) -> str:
    """The base in words, e.g. ``"分红，20-60岁"``, ``"分红，全部年龄"``."""
    parts = [target.product or "全部"]
    if target.min_age is not None and target.max_age is not None:
        parts.append(f"{target.min_age}-{target.max_age}岁")
    elif target.min_age is not None:
        parts.append(f"{target.min_age}岁以上")
    elif target.max_age is not None:
        parts.append(f"{target.max_age}岁以下")
    elif target.product is not None:
        parts.append("全部年龄")
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
    """Each target of the plan on the data: base, the plan's rate, rate × base, the count that
    reaches it (rounded up), the count the plan states, and the target (the binding count,
    :func:`binding`) with its rate on the base.

    Parameters
    ----------
    policies
        Canonical policies frame (the whole book or one branch; a branch's own target is its
        allocated count, :func:`branch_targets`).
    plan
        The plan (default: the shipped plan).
    complaints
        Complaints handled, the base of targets with ``base = "complaints"``; unknown
        (``<NA>``) when not given.

    Returns
    -------
    DataFrame
        Indexed by target key: 目标, 口径, 基数, 方案比率, 比率×基数 (the unrounded product),
        按比率件数, 方案所述件数, 差额 (stated − 按比率件数), 考核口径, 目标件数, 目标比率 (目标件数 ÷ 基数), 方案原文.
    """
    plan = plan or load_plan()
    on_policies = {t.key for t in policy_targets(plan)}
    rows = []
    for key, t in plan.targets.items():
        if key in on_policies:
            base, base_text = int(_eligible(policies, t).sum()), describe_base(t)
        else:
            base, base_text = complaints, "投诉处理件数"
        exact = np.nan if base is None else t.rate * base
        count = None if base is None else goal(t.rate, base)
        basis = binding(t)
        target = t.stated_count if basis == "stated" else count
        rows.append(
            {
                "目标": t.label,
                "口径": base_text,
                BASE: base,
                PLAN_RATE: t.rate,
                "比率×基数": exact,
                BY_RATE: count,
                STATED: t.stated_count,
                "差额": None if t.stated_count is None or count is None else t.stated_count - count,
                "考核口径": BASIS_LABELS[basis],
                GOAL: target,
                RATE: t.rate if not base or target is None else target / base,
                "方案原文": t.note,
            }
        )
    frame = pd.DataFrame(rows, index=pd.Index(list(plan.targets), name="target"))
    for col in (BASE, BY_RATE, STATED, "差额", GOAL):
        frame[col] = frame[col].astype("Int64")
    return frame


def _split(total: int, weights: np.ndarray, rank: np.ndarray) -> np.ndarray:
    """Largest remainder in exact integer arithmetic for whole-number ``weights``; ties go to
    the lower ``rank``."""
    w = [int(x) for x in weights]
    whole = sum(w)
    if whole == 0:
        if total:
            raise ValueError(f"cannot allocate {total}: every weight is zero")
        return np.zeros(len(w), dtype=np.int64)
    quotas = [total * x for x in w]
    parts = np.array([q // whole for q in quotas], dtype=np.int64)
    remainders = np.array([q % whole for q in quotas], dtype=object)
    left = total - int(parts.sum())
    order = sorted(range(len(w)), key=lambda i: (-remainders[i], rank[i]))
    parts[order[:left]] += 1
    return parts


def allocate(total: int, weights: pd.Series | Mapping) -> pd.Series:
    """Split ``total`` into integers proportional to ``weights`` (largest remainder).

    Each label first gets the whole part of its exact quota ``total × w / Σw``; the units
    left go one each to the largest remainders, ties broken by label (ascending). The parts
    sum exactly to ``total``, none is negative, a zero weight gets zero, and the result does
    not depend on the order of the labels. Quotas are computed in exact arithmetic.

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
    values = w.to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"weights must be finite and >= 0, got {w.to_dict()}")
    # Floats are exact binary fractions: scale them to whole numbers without rounding.
    scaled = [Fraction(x) for x in values]
    common = math.lcm(*(f.denominator for f in scaled))
    parts = split_whole(int(total), np.array([f * common for f in scaled], dtype=object), w.index)
    return pd.Series(parts, index=w.index, dtype="int64", name=w.name)


def split_whole(total: int, weights: np.ndarray, labels) -> np.ndarray:
    """:func:`allocate` of whole-number ``weights`` labelled ``labels``, as an array (no
    checks, no pandas: for loops over many small allocations)."""
    rank = np.argsort(np.argsort(np.array([str(x) for x in labels]), kind="stable"))
    return _split(total, weights, rank)


def _flags(policies: pd.DataFrame, plan: Plan) -> dict[str, np.ndarray]:
    """Eligibility of each policy for each policy target."""
    return {t.key: _eligible(policies, t) for t in policy_targets(plan)}


def binding(t: Target, basis: Basis | None = None) -> Basis:
    """Which count of ``t`` is allocated and judged on: ``basis`` when given, else the plan
    file's ``binds`` ("rate": rate × base rounded up; "stated": the plan's count, if any)."""
    chosen = basis or t.binds
    return "stated" if chosen == "stated" and t.stated_count is not None else "rate"


def other_basis(t: Target, basis: Basis | None = None) -> Basis | None:
    """The basis that does not bind ``t``, when its count differs (e.g. 保单转换 2,538 by the
    rate, 3,806 as stated), else None."""
    if t.stated_count is None:
        return None
    return "rate" if binding(t, basis) == "stated" else "stated"


def _totals(flags: dict[str, np.ndarray], plan: Plan, basis: Basis | None) -> dict[str, int]:
    """The count to allocate per policy target, on its binding basis (:func:`binding`)."""
    out = {}
    for t in policy_targets(plan):
        stated = binding(t, basis) == "stated"
        out[t.key] = t.stated_count if stated else goal(t.rate, int(flags[t.key].sum()))
    return out


def _bases(flags: dict[str, np.ndarray], codes: np.ndarray, size: int) -> dict[str, np.ndarray]:
    """Eligible policies per group code (0..size-1; -1 left out), per policy target."""
    keep = codes >= 0
    return {
        k: np.bincount(codes[keep], weights=f[keep], minlength=size).astype(np.int64)
        for k, f in flags.items()
    }


def _wide(bases: dict, parts: dict, plan: Plan, index: pd.Index) -> pd.DataFrame:
    cols = {}
    for t in policy_targets(plan):
        cols[(t.label, BASE)] = bases[t.key]
        cols[(t.label, GOAL)] = parts[t.key]
    frame = pd.DataFrame(cols, index=index)
    frame.columns.names = ["目标", None]
    return frame


def _branches(policies: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    """Branch code of each policy as 0..k-1 over the sorted distinct codes."""
    codes, uniques = pd.factorize(as_text(policies["branch_code"]), sort=True)
    return codes, pd.Index(uniques)


def _phases(policies: pd.DataFrame, plan: Plan) -> np.ndarray:
    """Phase of each policy (index into ``plan.phases``) by its maturity month; -1 for none."""
    lookup = np.full(13, -1)
    for i, ph in enumerate(plan.phases):
        lookup[ph.first_month : ph.last_month + 1] = i
    month = policies["maturity_date"].dt.month.to_numpy(dtype=float, na_value=0).astype(int)
    return lookup[month]


def _with_total(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a 合计 row (index levels after the first left blank)."""
    key = (TOTAL, *[""] * (frame.index.nlevels - 1)) if frame.index.nlevels > 1 else TOTAL
    out = pd.concat([frame, frame.sum().to_frame(key).T]).astype("int64")
    out.index.names = frame.index.names
    return out


def allocate_branches(
    policies: pd.DataFrame, plan: Plan | None = None, basis: Basis | None = None
) -> pd.DataFrame:
    """Each policy target split over branches in proportion to their eligible base: the first
    step of the one allocation (book → branch → phase, :func:`branch_phase_allocation`).

    The count split is the target's binding one (:func:`binding`: the plan file's ``binds``
    unless ``basis`` says "rate" or "stated"). Rows are branches (网点代码, 网点名称) and a 合计
    row; columns (target, 基数 / 目标件数).
    """
    plan = plan or load_plan()
    flags = _flags(policies, plan)
    codes, branches = _branches(policies)
    bases = _bases(flags, codes, len(branches))
    rank = np.arange(len(branches))
    parts = {k: _split(n, bases[k], rank) for k, n in _totals(flags, plan, basis).items()}
    first = np.empty(len(branches), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    names = policies["branch_name"].iloc[first].astype(str).fillna("").to_numpy()
    index = pd.MultiIndex.from_arrays([branches, names], names=BRANCH_INDEX)
    return _with_total(_wide(bases, parts, plan, index))


def branch_phase_allocation(
    policies: pd.DataFrame, plan: Plan | None = None, basis: Basis | None = None
) -> pd.DataFrame:
    """THE allocation, computed once: each target's count split over branches
    (:func:`allocate_branches`), then each branch's count over the phases by the month its
    policies mature (largest remainder both times). Every unit's phase targets are sums of
    these rows: ALL's are the sum of its branches'.

    Long table; columns: target (key), branch_code, phase (key), base, allocated.
    """
    plan = plan or load_plan()
    by_branch = allocate_branches(policies, plan, basis).drop(index=TOTAL, level=0)
    flags = _flags(policies, plan)
    codes, branches = _branches(policies)
    phase = _phases(policies, plan)
    n_phases = len(plan.phases)
    cell = np.where((codes >= 0) & (phase >= 0), codes * n_phases + phase, -1)
    bases = {
        k: v.reshape(len(branches), n_phases)
        for k, v in _bases(flags, cell, len(branches) * n_phases).items()
    }
    rank = np.arange(n_phases)
    keys = [ph.key for ph in plan.phases]
    frames = []
    for t in policy_targets(plan):
        totals = by_branch[(t.label, GOAL)].to_numpy()
        parts = np.vstack(
            [_split(int(n), b, rank) for n, b in zip(totals, bases[t.key], strict=True)]
        )
        frames.append(
            pd.DataFrame(
                {
                    "target": t.key,
                    "branch_code": np.repeat(branches.to_numpy(), n_phases),
                    "phase": np.tile(keys, len(branches)),
                    "base": bases[t.key].ravel(),
                    "allocated": parts.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def allocate_phases(
    policies: pd.DataFrame,
    plan: Plan | None = None,
    branch: str = ALL,
    basis: Basis | None = None,
) -> pd.DataFrame:
    """A unit's targets over the plan's phases: the sum of its branches' rows of
    :func:`branch_phase_allocation` on the whole book ``policies`` (``"ALL"``: every branch; a
    支局: its branches).
    Rows (阶段, 名称, 月份) and 合计; columns as in :func:`allocate_branches`."""
    plan = plan or load_plan()
    long = branch_phase_allocation(policies, plan, basis)
    codes = unit_branches(policies, branch)
    if codes is not None:
        long = long[long["branch_code"].isin(codes)]
    sums = long.groupby(["target", "phase"])[["base", "allocated"]].sum()
    keys = [ph.key for ph in plan.phases]
    bases, parts = {}, {}
    for t in policy_targets(plan):
        mine = sums.loc[t.key] if t.key in sums.index.get_level_values(0) else sums.iloc[:0]
        mine = mine.reindex(keys, fill_value=0)
        bases[t.key], parts[t.key] = mine["base"].to_numpy(), mine["allocated"].to_numpy()
    index = pd.MultiIndex.from_tuples(
        [(ph.key, ph.name, f"{ph.first_month}-{ph.last_month}月") for ph in plan.phases],
        names=PHASE_INDEX,
    )
    return _with_total(_wide(bases, parts, plan, index))


def allocate_sub_branches(
    policies: pd.DataFrame, plan: Plan | None = None, basis: Basis | None = None
) -> pd.DataFrame:
    """Each 支局's targets: the sum of its branches' rows of :func:`allocate_branches` (never an
    allocation of its own), by 支局 name, with a 合计 row (the whole book's target when every
    branch has a 支局). Columns as in :func:`allocate_branches`."""
    by_branch = allocate_branches(policies, plan, basis).drop(index=TOTAL, level=0)
    members = branch_sub_branches(policies)
    codes = by_branch.index.get_level_values(0).astype(str)
    mine = by_branch[codes.isin(members.index)]
    sums = mine.groupby(members.reindex(mine.index.get_level_values(0).astype(str)).to_numpy())
    frame = sums.sum().rename_axis(SUB_BRANCH_INDEX)
    return _with_total(frame)


def branch_targets(
    policies: pd.DataFrame, branch: str = ALL, plan: Plan | None = None
) -> dict[str, pd.DataFrame]:
    """The targets of the book (``"ALL"``), a 支局 or one branch, as every report and sheet
    shows them.

    ``policies`` is the whole book. Returns ``"目标"`` (:func:`targets` on the unit, indexed by
    目标, where 目标件数 is the unit's allocated count — a 支局's the sum of its branches' — and
    目标比率 = 目标件数 ÷ 基数), ``"网点分配"`` (:func:`allocate_branches`; a 支局: its branches'
    rows and their 合计; a branch: its row) and ``"阶段分配"`` (:func:`allocate_phases`: the sum
    of the unit's branches' phase allocations).
    """
    plan = plan or load_plan()
    part = for_branch(policies, branch)
    by_branch = allocate_branches(policies, plan)
    goals = targets(part, plan).set_index("目标")
    codes = unit_branches(policies, branch)
    if codes is not None:
        body = by_branch.drop(index=TOTAL, level=0)
        body = body[body.index.get_level_values(0).astype(str).isin(codes)]
        by_branch = body if len(codes) == 1 else _with_total(body)
    row = by_branch.iloc[-1] if len(by_branch) > 1 else by_branch.iloc[0]
    for t in policy_targets(plan):
        n = int(row[(t.label, GOAL)])
        base = goals.at[t.label, BASE]
        goals.at[t.label, GOAL] = n
        goals.at[t.label, RATE] = n / base if base else np.nan
    return {
        "目标": goals,
        "网点分配": by_branch,
        "阶段分配": allocate_phases(policies, plan, branch),
    }

"""Complaint-risk rating of each maturing customer, before the call.

The rules are the plan's concerns, kept in the plan file (``[risk]``, typed and checked at load
as ``plan.risk``): a return below the benchmark deposit, a customer aged 50 or more at maturity
(the plan pays out on mis-selling complaints from them), aged 60 or more at purchase, a large
premium, and a 万能 policy the customer may treat as maturing (cashing it in is a surrender at
cash value). Each rule that holds adds its points; the total gives the rating A (high), B
(medium) or C (low), and the reasons are the rules' texts joined with "；".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..plan.bands import age_at
from ..plan.model import RISK_RATINGS, RISK_RULES, Plan, RiskRule, load_plan
from .lookup import member
from .tables import category_codes
from .yields import add_yields

RATINGS = RISK_RATINGS
RULES = tuple(RISK_RULES)


def _numbers(values: pd.Series) -> np.ndarray:
    return values.to_numpy(dtype=float, na_value=np.nan)


def _rule_flags(policies: pd.DataFrame, rules: dict[str, RiskRule]) -> dict[str, np.ndarray]:
    """Which policies each configured rule holds for (missing data: the rule does not hold)."""
    flags = {}
    if "below_deposit" in rules:
        if "beats_deposit" in policies.columns:
            beats = policies["beats_deposit"]
        else:
            beats = add_yields(policies)["beats_deposit"]
        flags["below_deposit"] = _numbers(beats) == 0
    if "age_at_maturity" in rules:
        flags["age_at_maturity"] = _numbers(policies["age"]) >= rules["age_at_maturity"].min_age
    if "age_at_purchase" in rules:
        at_issue = _numbers(age_at(policies["holder_birth_date"], policies["issue_date"]))
        flags["age_at_purchase"] = at_issue >= rules["age_at_purchase"].min_age
    if "large_premium" in rules:
        flags["large_premium"] = _numbers(policies["premium"]) >= rules["large_premium"].min_premium
    if "universal_as_maturity" in rules:
        product = rules["universal_as_maturity"].product
        flags["universal_as_maturity"] = category_codes(policies["product_type"], [product]) == 0
    return flags


def rate_risk(policies: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """Return a copy of ``policies`` with ``risk_points``, ``risk_rating`` and ``risk_reasons``.

    The below-deposit rule reads ``beats_deposit`` (from
    :func:`maturity_analysis.analysis.yields.add_yields`) and computes it when absent; a policy whose
    yield cannot be computed does not count as below the deposit. ``risk_rating`` is a
    categorical with categories A, B, C; ``risk_reasons`` a categorical of the reason texts
    ("" when no rule holds).
    """
    plan = plan or load_plan()
    rules, a_min, b_min = plan.risk.rules, plan.risk.a_min_points, plan.risk.b_min_points
    flags = _rule_flags(policies, rules)
    points = np.zeros(len(policies), dtype=np.int64)
    combo = np.zeros(len(policies), dtype=np.int64)
    for bit, (name, rule) in enumerate(rules.items()):
        points += flags[name] * rule.points
        combo |= flags[name].astype(np.int64) << bit
    reasons = [
        "；".join(rule.reason for bit, rule in enumerate(rules.values()) if c >> bit & 1)
        for c in range(2 ** len(rules))
    ]
    rating = np.where(points >= a_min, 0, np.where(points >= b_min, 1, 2))
    out = policies.copy(deep=False)
    out["risk_points"] = points
    out["risk_rating"] = pd.Categorical.from_codes(rating, categories=list(RATINGS))
    out["risk_reasons"] = pd.Categorical.from_codes(combo, categories=reasons)
    return out


def risk_table(rated: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """Rated policies by age band (rows) and rating (columns), with a 合计 row and column."""
    plan = plan or load_plan()
    counts = pd.crosstab(rated["age_band"], rated["risk_rating"], dropna=False)
    counts = counts.reindex(columns=list(RATINGS), fill_value=0)
    keep = [lab for lab in counts.index if lab in plan.age_labels or counts.loc[lab].sum() > 0]
    counts = counts.loc[keep]
    counts.loc["合计"] = counts.sum()
    counts["合计"] = counts.sum(axis=1)
    counts.index.name, counts.columns.name = "年龄", "风险评级"
    return counts.astype("int64")


def complained(rated: pd.DataFrame, complaints: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per rated policy: did its customer complain, and was any complaint compensated."""
    policy = complaints["policy_no"].astype(str)
    paid = set(policy[complaints["compensated"].astype(bool).to_numpy()])
    numbers = rated["policy_no"].astype(str)
    return member(numbers, policy), member(numbers, paid)


def backtest(rated: pd.DataFrame, complaints: pd.DataFrame | None) -> pd.DataFrame:
    """The rating against what happened: per rating (A, B, C) and 合计, 件数, 投诉件数 (customers
    with at least one complaint in the tracking data), 投诉率, 赔付件数 (customers compensated),
    赔付率 (of those who complained) and 综合赔付率 (of all the rating's customers).

    ``rated`` is :func:`rate_risk`'s output; ``complaints`` the 附件二 frame (``policy_no``,
    ``compensated``), or ``None`` without tracking data: then only 件数, the rest empty (no
    data is not zero complaints). A rating that works shows A's rates above B's above C's.
    """
    known = complaints is not None
    complained_, paid = complained(rated, complaints) if known else (False, False)
    parts = pd.DataFrame({"件数": 1, "投诉件数": complained_, "赔付件数": paid}, index=rated.index)
    counts = parts.groupby(rated["risk_rating"], observed=False).sum()
    counts = counts.reindex(list(RATINGS), fill_value=0)
    counts.loc["合计"] = counts.sum()
    counts = counts.astype("int64")
    counts.index.name = "风险评级"
    n, c = counts["件数"].replace(0, np.nan), counts["投诉件数"].replace(0, np.nan)
    counts.insert(2, "投诉率", counts["投诉件数"] / n)
    counts["赔付率"] = counts["赔付件数"] / c
    counts["综合赔付率"] = counts["赔付件数"] / n
    if not known:  # no tracking data: unknown, not zero
        counts[["投诉件数", "投诉率", "赔付件数", "赔付率", "综合赔付率"]] = np.nan
    return counts

"""Conversion amounts (转换金额): what the converted customers put into the new policy (转保,
新保单保费) or the deposit (转存, 转存金额), from the 满期去向 form, against the segment playbook's
amount per customer (额度, ``[[playbook]]`` ``amount_min``–``amount_max``, 元).

The conversions are those the evaluation counts: the unit's policies maturing from the plan
year's first day to the period's end whose (first) recorded 满期去向 is 转保 or 转存, by the
month they mature. A 转保 is within its band's 额度 when ``amount_min ≤ 新保单保费 ≤ amount_max``;
a band whose playbook offers no product (amount 0: 61以上 → 存款) or that has no playbook row
(20岁以下) has no 额度, and its conversions are left out of the within-额度 share.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..ingest.forms import Tracking
from ..plan.model import Plan, load_plan
from ..plan.period import Period, parse_period
from .evaluation import year_to_date
from .lookup import as_text, member
from .markup import md
from .tables import TOTAL
from .trends import UnitSpec, unit_branches

WAN = 10_000
COLUMNS = [
    "policy_no",
    "branch_code",
    "month",
    "age_band",
    "outcome",
    "amount",
    "amount_min",
    "amount_max",
    "within",
]


def conversions(
    policies: pd.DataFrame, tracking: Tracking, period: str | Period, plan: Plan | None = None
) -> pd.DataFrame:
    """Each 转保 and 转存 of ``policies`` (a unit's book) maturing in the year to date of
    ``period``: :data:`COLUMNS` — month (of maturity), age_band, outcome, amount (元: 新保单保费
    or 转存金额; NaN when not filled), the band's 额度 (amount_min, amount_max; NaN for 转存
    and bands without one) and within (True/False; NA without an 额度 or an amount)."""
    plan = plan or load_plan()
    s = plan.tracking
    span = year_to_date(parse_period(period, plan), plan)
    due = policies[span.contains(policies["maturity_date"])]
    outcomes = tracking.outcomes  # of the unit's policies first: the area's may be far more
    outcomes = outcomes[member(outcomes["policy_no"], due["policy_no"])]
    first = outcomes.drop_duplicates("policy_no").set_index("policy_no")
    rec = first.reindex(due["policy_no"].to_numpy())
    kinds = {
        s.policy_conversion_outcome: "new_premium",
        s.deposit_conversion_outcome: "deposit_amount",
    }
    outcome = rec["outcome"].to_numpy(dtype=object)
    keep = np.isin(outcome, list(kinds))
    rec, mine = rec[keep], due[keep]
    amount = np.where(
        rec["outcome"] == s.policy_conversion_outcome,
        rec["new_premium"].to_numpy(dtype=float),
        rec["deposit_amount"].to_numpy(dtype=float),
    )
    band = mine["age_band"].astype(str).to_numpy()
    insured = rec["outcome"].to_numpy(dtype=object) == s.policy_conversion_outcome
    limits = {b: _limits(plan, b) for b in set(band)}  # each band's once, not each policy's
    lo, hi = (np.array([limits[b][i] for b in band], dtype=float) for i in (0, 1))
    lo, hi = np.where(insured, lo, np.nan), np.where(insured, hi, np.nan)
    judged = ~np.isnan(lo) & ~np.isnan(amount)
    within = pd.array(np.where(judged, (amount >= lo) & (amount <= hi), False), dtype="boolean")
    within[~judged] = pd.NA
    out = pd.DataFrame(
        {
            "policy_no": mine["policy_no"].to_numpy(),
            "branch_code": as_text(mine["branch_code"]).to_numpy(),
            "month": mine["maturity_date"].dt.month.to_numpy(),
            "age_band": band,
            "outcome": rec["outcome"].to_numpy(dtype=object),
            "amount": amount,
            "amount_min": lo,
            "amount_max": hi,
            "within": within,
        }
    )
    return out.sort_values(["month", "branch_code", "policy_no"], ignore_index=True)


def _limits(plan: Plan, band: str) -> tuple[float, float]:
    """The band's 额度 (元), or NaN, NaN when the playbook has none for it."""
    row = plan.playbook_for(band)
    if not row or not row["amount_max"]:
        return np.nan, np.nan
    return float(row["amount_min"]), float(row["amount_max"])


def _summary(conv: pd.DataFrame, plan: Plan) -> dict[str, float]:
    s = plan.tracking
    ins = conv[conv["outcome"] == s.policy_conversion_outcome]
    dep = conv[conv["outcome"] == s.deposit_conversion_outcome]
    judged = ins["within"].notna()
    below = judged & (ins["amount"] < ins["amount_min"])
    above = judged & (ins["amount"] > ins["amount_max"])
    n_judged = int(judged.sum())
    return {
        "转保件数": len(ins),
        "新保单保费(万元)": ins["amount"].sum() / WAN,
        "件均保费(万元)": ins["amount"].mean() / WAN if ins["amount"].notna().any() else np.nan,
        "有额度件数": n_judged,
        "额度内件数": int(ins["within"].sum()),
        "低于额度件数": int(below.sum()),
        "高于额度件数": int(above.sum()),
        "额度内占比": ins["within"].sum() / n_judged if n_judged else np.nan,
        "转存件数": len(dep),
        "转存金额(万元)": dep["amount"].sum() / WAN,
        "件均转存(万元)": dep["amount"].mean() / WAN if dep["amount"].notna().any() else np.nan,
    }


def _table(conv: pd.DataFrame, groups: list[tuple[str, pd.DataFrame]], plan: Plan, name: str):
    rows = {label: _summary(part, plan) for label, part in groups}
    rows[TOTAL] = _summary(conv, plan)
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(name)


def by_band(conv: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """Conversions per age band (the plan's order, then any other such as 20岁以下) and 合计:
    the playbook's 额度 beside the 转保 count and premium, how many fall within, below and above
    it and the within share, and the 转存 count and amount (万元)."""
    plan = plan or load_plan()
    seen = list(dict.fromkeys(conv["age_band"]))
    bands = [b for b in plan.age_labels if b in seen] + [
        b for b in seen if b not in plan.age_labels
    ]
    out = _table(conv, [(b, conv[conv["age_band"] == b]) for b in bands], plan, "年龄段")
    quota = {b: plan.playbook_for(b).get("amount", "—") for b in bands}
    out.insert(0, "方案额度", [quota.get(b, "") for b in out.index])
    return out


def by_month(conv: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """Conversions per month of maturity (1月…) and 合计, columns as :func:`by_band`'s."""
    plan = plan or load_plan()
    months = sorted(conv["month"].unique())
    return _table(conv, [(f"{m}月", conv[conv["month"] == m]) for m in months], plan, "满期月份")


def by_unit(
    conv: pd.DataFrame,
    policies: pd.DataFrame,
    children: Sequence[UnitSpec],
    plan: Plan | None = None,
) -> pd.DataFrame:
    """Conversions per child unit (a branch code or ``(name, codes)``; ``policies`` names them)
    and 合计, columns as :func:`by_band`'s."""
    plan = plan or load_plan()
    groups = []
    for child in children:
        key, _, codes = unit_branches(policies, child)
        groups.append((key, conv[conv["branch_code"].isin(codes)]))
    return _table(conv, groups, plan, "单位")


def text(band_table: pd.DataFrame) -> str:
    """:func:`by_band` in a few sentences (Markdown): the 转保 premium and its within-额度 share,
    each band's share within its 额度 and whether it falls short or over, and the 转存 amount."""
    total = band_table.loc[TOTAL]
    if not total["转保件数"] and not total["转存件数"]:
        return "年初至本期末没有登记转保或转存的满期客户。"
    lines = []
    if total["转保件数"]:
        lines.append(
            f"转保{int(total['转保件数']):,}件，新保单保费{total['新保单保费(万元)']:,.2f}万元，"
            f"件均{total['件均保费(万元)']:,.2f}万元；有方案额度的{int(total['有额度件数']):,}件中"
            f"{_pct(total['额度内占比'])}在额度内。"
        )
        bands = []
        for band, r in band_table.drop(index=TOTAL).iterrows():
            if not r["有额度件数"]:
                continue
            lean = (
                "多低于额度"
                if r["低于额度件数"] > r["高于额度件数"]
                else "多高于额度"
                if r["高于额度件数"] > r["低于额度件数"]
                else ""
            )
            bands.append(
                f"{md(band)}岁（额度{md(r['方案额度'])}）{int(r['有额度件数']):,}件，"
                f"额度内{_pct(r['额度内占比'])}"
                + (f"，{lean}" if lean and r["额度内占比"] < 1 else "")
            )
        if bands:
            lines.append("分年龄段：" + "；".join(bands) + "。")
    if total["转存件数"]:
        lines.append(
            f"转存{int(total['转存件数']):,}件，转存金额{total['转存金额(万元)']:,.2f}万元，"
            f"件均{total['件均转存(万元)']:,.2f}万元。"
        )
    return "\n\n".join(lines)


def _pct(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.1%}"

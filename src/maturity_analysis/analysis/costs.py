"""The plan's costs: the shortfall against deposits and the compensation estimate.

产品研发: "用新产品保费优惠的概念，抵消满期分红低于存款的部分" — a maturing (分红) policy that
returned less than the benchmark deposit (:mod:`maturity_analysis.analysis.yields`) falls short by
``deposit_value - maturity_value`` 元; a replacement policy of the age band's playbook amount
makes the customer whole with a premium discount of ``shortfall / replacement premium``
(capped; ``[costs]`` in the plan file says which playbook amount and the cap). Products that do
not mature (``[tracking] hold_products``: 万能, whole-life) are not in the shortfall: a 万能
customer who cashes in gets the cash value, so a cash value below the deposit is shown apart as
the surrender risk (退保风险), never added to the shortfall.

赔付预估: "对50岁以上的客户群体，确因销售不妥而引发的投诉进行及时赔付，做好相关费用的预估" —
per branch, the policies at risk (aged at least ``compensation_min_age``, below the deposit,
rated high risk by :mod:`maturity_analysis.analysis.risk`; 分红 only, as the shortfall) times each scenario's complaint and payout
rates, at the amount per payout the plan file sets (``[compensation]``); the compensation paid
(附件二, :mod:`maturity_analysis.ingest.forms`) beside it once tracking data exists.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import MaturityDataError
from ..plan.model import Plan, load_plan
from ..plan.programme import period_span
from .lookup import as_text
from .risk import complained, rate_risk
from .tables import maturity_groups
from .yields import add_yields

TOTAL = "合计"
OBSERVED = "实际"
SHORTFALL_COLUMNS = (
    "short",
    "shortfall_yuan",
    "replacement_premium",
    "required_discount",
    "discount_capped",
    "no_replacement",
    "surrender_gap_yuan",
)
#: shortfall_table(by=...) -> index level names
GROUPINGS = {
    "age_band": ("年龄",),
    "product": ("险种", "保险期间"),
    "maturity_group": ("满期产品",),
    "branch": ("网点代码", "网点名称"),
}
_TERM_LAST = {"终身": 1, "不详": 2}  # after the terms in years, in this order


def replacement_premiums(plan: Plan | None = None) -> pd.Series:
    """Premium (元) of the replacement policy per age band; NaN where the playbook has no product.

    ``[costs] replacement_amount`` picks the playbook's ``amount_min``, the midpoint or
    ``amount_max``; an amount of 0 (61以上: 保单转存单) or a band without a playbook row
    (20岁以下) has no replacement policy.

    >>> replacement_premiums().to_dict()  # doctest: +NORMALIZE_WHITESPACE
    {'20岁以下': nan, '20-30': 10000.0, '31-40': 10000.0, '41-50': 30000.0, '51-60': 50000.0,
     '61以上': nan}
    """
    plan = plan or load_plan()
    how = plan.costs.replacement_amount
    out = {}
    for band in (plan.below_age_label, *plan.age_labels):
        row = plan.playbook_for(band)
        lo, hi = float(row.get("amount_min", 0)), float(row.get("amount_max", 0))
        amount = {"min": lo, "mid": (lo + hi) / 2, "max": hi}[how]
        out[band] = amount if amount > 0 else np.nan
    return pd.Series(out, name="replacement_premium", dtype=float)


def shortfall(policies: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """Return a copy of ``policies`` with the shortfall against the deposit and the discount.

    Needs ``maturity_value``, ``deposit_value`` (computed by
    :func:`~maturity_analysis.analysis.yields.add_yields` when absent) and ``age_band``. Adds:

    - ``short``: a maturing policy (not of ``[tracking] hold_products``) returned less than the
      deposit (False where either is unknown, and for 万能);
    - ``shortfall_yuan``: ``deposit_value - maturity_value`` when short, 0 when not, NaN when
      unknown or the product does not mature;
    - ``surrender_gap_yuan``: for a product that does not mature (万能), the cash value's gap
      to the deposit when below it, 0 when not, NaN otherwise (the surrender risk);
    - ``replacement_premium``: the age band's replacement premium (:func:`replacement_premiums`);
    - ``required_discount``: ``shortfall_yuan / replacement_premium``, capped at
      ``[costs] max_discount``; 0 when not short; NaN where there is no replacement policy;
    - ``discount_capped``: the uncapped discount exceeded the cap;
    - ``no_replacement``: short, and the playbook offers no product (e.g. 61以上 → 存款).
    """
    plan = plan or load_plan()
    cap = plan.costs.max_discount
    premiums = replacement_premiums(plan)
    missing = [
        c for c in ("maturity_value", "age_band", "product_type") if c not in policies.columns
    ]
    if missing:
        raise MaturityDataError(f"policies lack column(s) {', '.join(missing)} for the shortfall")
    if "deposit_value" not in policies.columns:
        policies = add_yields(policies)
    out = policies.copy()
    value = pd.to_numeric(out["maturity_value"], errors="coerce").astype(float)
    deposit = pd.to_numeric(out["deposit_value"], errors="coerce").astype(float)
    gap = (deposit - value).round(2).clip(lower=0.0)
    held = out["product_type"].isin(plan.tracking.hold_products).to_numpy(dtype=bool)
    out["short"] = ((gap > 0) & ~held).to_numpy(dtype=bool)
    out["shortfall_yuan"] = gap.where(~held)
    out["surrender_gap_yuan"] = gap.where(held)
    prem = out["age_band"].astype(object).map(premiums).astype(float)
    out["replacement_premium"] = prem
    discount = out["shortfall_yuan"] / prem
    out["discount_capped"] = (discount > cap).to_numpy(dtype=bool)
    out["required_discount"] = discount.clip(upper=cap)
    out["no_replacement"] = (out["short"] & prem.isna()).to_numpy(dtype=bool)
    return out


def _with_shortfall(policies: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    if set(SHORTFALL_COLUMNS) <= set(policies.columns):
        return policies
    return shortfall(policies, plan)


def _rated_in(policies: pd.DataFrame, plan: Plan, period) -> pd.DataFrame:
    """``policies`` with the shortfall and risk columns, those maturing in ``period`` (all
    when ``None``)."""
    f = _with_shortfall(policies, plan)
    if "risk_rating" not in f.columns:
        f = rate_risk(f, plan)
    if period is not None:
        start, end = period_span(period)
        day = pd.to_datetime(f["maturity_date"]).dt.normalize()
        f = f[(day >= start) & (day <= end)]
    return f


def _term_label(policies: pd.DataFrame) -> pd.Series:
    """保险期间: "5年", "终身" (whole-life, or no term on a 万能 policy without ``whole_life``)."""
    term = policies["term_years"].astype("Int64")
    whole = policies["whole_life"].astype(bool) if "whole_life" in policies.columns else term.isna()
    label = pd.Series("不详", index=policies.index, dtype=object)
    label[term.notna()] = term.dropna().astype(str) + "年"
    label[whole.to_numpy()] = "终身"
    order = sorted(
        label.unique(), key=lambda t: (_TERM_LAST.get(t, 0), 0 if t in _TERM_LAST else int(t[:-1]))
    )
    return pd.Series(pd.Categorical(label, categories=order), index=policies.index)


def _keys(policies: pd.DataFrame, by: str, plan: Plan) -> list[pd.Series]:
    if by == "age_band":
        return [policies["age_band"]]
    if by == "product":
        products = list(dict.fromkeys([*plan.products, *policies["product_type"].dropna()]))
        return [
            pd.Categorical(policies["product_type"], categories=products),
            _term_label(policies),
        ]
    if by == "maturity_group":
        return [maturity_groups(policies, plan)]
    return [as_text(policies["branch_code"]), policies["branch_name"].astype(str)]


def _summary_columns(f: pd.DataFrame) -> pd.DataFrame:
    """Per-row parts whose group sums (and max) give the summary."""
    short = f["short"].to_numpy(dtype=bool)
    disc = f["required_discount"].to_numpy(dtype=float)
    has_disc = short & ~np.isnan(disc)
    surrender = f["surrender_gap_yuan"].to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "件数": 1,
            "_compared": f["shortfall_yuan"].notna().to_numpy(),
            "低于存款件数": short,
            "差额合计(元)": np.where(short, f["shortfall_yuan"].to_numpy(dtype=float), 0.0),
            "_disc_sum": np.where(has_disc, disc, 0.0),
            "_disc_n": has_disc,
            "最高所需优惠率": np.where(has_disc, disc, np.nan),
            "优惠封顶件数": short & f["discount_capped"].to_numpy(dtype=bool),
            "无对接产品件数": f["no_replacement"].to_numpy(dtype=bool),
            "万能件数": ~np.isnan(surrender),
            "万能低于存款件数": surrender > 0,
            "万能差额合计(元)": np.where(surrender > 0, surrender, 0.0),
        },
        index=f.index,
    )


def _finish(sums: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=sums.index)
    for col in ("件数", "低于存款件数"):
        out[col] = sums[col].astype("int64")
    out["低于存款占比"] = sums["低于存款件数"] / sums["_compared"].replace(0, np.nan)
    out["差额合计(元)"] = sums["差额合计(元)"].round(2)
    out["件均差额(元)"] = (sums["差额合计(元)"] / sums["低于存款件数"].replace(0, np.nan)).round(2)
    out["平均所需优惠率"] = sums["_disc_sum"] / sums["_disc_n"].replace(0, np.nan)
    out["最高所需优惠率"] = sums["最高所需优惠率"].astype(float)
    for col in ("优惠封顶件数", "无对接产品件数", "万能件数", "万能低于存款件数"):
        out[col] = sums[col].astype("int64")
    out["万能差额合计(元)"] = sums["万能差额合计(元)"].round(2)
    return out


def shortfall_table(
    policies: pd.DataFrame, by: str = "age_band", plan: Plan | None = None
) -> pd.DataFrame:
    """The shortfall against deposits summarised by age band, product and term, or branch.

    Parameters
    ----------
    policies
        The policies frame, with or without the :func:`shortfall` columns.
    by
        ``"age_band"`` (the plan's bands; 20岁以下 only when present), ``"product"``
        (险种 × 保险期间), ``"maturity_group"`` (the plan's 千里马 ≥8 / ≤5 years / 万能 groups,
        :func:`maturity_analysis.analysis.tables.maturity_groups`) or ``"branch"``.

    Returns
    -------
    DataFrame
        One row per group and a 合计 row: 件数 (every product), then the maturing (分红)
        policies' 低于存款件数, 低于存款占比 (of those with a deposit comparison), 差额合计(元),
        件均差额(元) (per short policy), 平均所需优惠率 and 最高所需优惠率 (short policies with
        a replacement product), 优惠封顶件数, 无对接产品件数; then, apart and not in those sums,
        the surrender risk of the products that do not mature: 万能件数, 万能低于存款件数
        (cash value below the deposit), 万能差额合计(元). By age band also 对接保单保费(元).
    """
    if by not in GROUPINGS:
        raise ValueError(f"by={by!r}: expected one of {', '.join(GROUPINGS)}")
    plan = plan or load_plan()
    f = _with_shortfall(policies, plan)
    parts = _summary_columns(f)
    grouped = parts.groupby(_keys(f, by, plan), observed=False, sort=True)
    sums = grouped.sum().drop(columns="最高所需优惠率").join(grouped["最高所需优惠率"].max())
    sums.index = sums.index.set_names(list(GROUPINGS[by]))
    # the plan's age bands always; other groups (20岁以下, 其他, empty combinations) when present
    always = plan.age_labels if by == "age_band" else ()
    sums = sums[(sums["件数"] > 0) | sums.index.isin(always)]
    total = parts.sum().to_frame().T
    total["最高所需优惠率"] = parts["最高所需优惠率"].max()
    label = (TOTAL,) + ("",) * (len(GROUPINGS[by]) - 1)
    total.index = (
        pd.MultiIndex.from_tuples([label], names=sums.index.names)
        if len(label) > 1
        else pd.Index([TOTAL], name=sums.index.name)
    )
    table = _finish(pd.concat([sums.astype(float), total.astype(float)]))
    if len(label) == 1:
        table.index = table.index.astype(str)
    if by == "age_band":
        prem = replacement_premiums(plan)
        table.insert(0, "对接保单保费(元)", [prem.get(k, np.nan) for k in table.index])
    return table


def compensation_scenarios(
    plan: Plan | None = None, observed: pd.Series | None = None
) -> pd.DataFrame:
    """The plan file's compensation scenarios (``[compensation.scenarios.*]``), in file order.

    Columns: 情景, 投诉率 (share of at-risk customers who complain), 赔付率 (share of those
    complaints that end in compensation), 综合赔付率 (their product: share of at-risk customers
    paid). Indexed by the scenario key (low, central, high). With ``observed``
    (:func:`observed_rates`) a last row ``observed`` (情景 实际) holds the tracked rates.

    >>> compensation_scenarios()[["情景", "投诉率", "赔付率"]]
            情景   投诉率  赔付率
    low      低  0.10  0.1
    central  中  0.25  0.2
    high     高  0.50  0.3
    """
    plan = plan or load_plan()
    rows = {
        key: {
            "情景": sc.label,
            "投诉率": sc.complaint_rate,
            "赔付率": sc.payout_rate,
            "综合赔付率": sc.complaint_rate * sc.payout_rate,
        }
        for key, sc in plan.compensation.scenarios.items()
    }
    if observed is not None:
        rows["observed"] = {"情景": OBSERVED, **observed[["投诉率", "赔付率", "综合赔付率"]]}
    return pd.DataFrame.from_dict(rows, orient="index")


def observed_rates(
    policies: pd.DataFrame,
    complaints: pd.DataFrame | None,
    plan: Plan | None = None,
    period: Any = None,
) -> pd.Series | None:
    """The scenario rates as the tracking data shows them, on the at-risk customers
    (:func:`at_risk`) maturing in ``period``: 风险客户件数, 投诉件数 (customers who complained),
    赔付件数 (compensated), 投诉率, 赔付率 (of those who complained) and 综合赔付率. ``None``
    when ``complaints`` is (no tracking data, :func:`paid_complaints`)."""
    if complaints is None:
        return None
    plan = plan or load_plan()
    f = _rated_in(policies, plan, period)
    f = f[at_risk(f, plan).to_numpy()]
    said, paid = complained(f, complaints)
    n, c, p = len(f), int(said.sum()), int(paid.sum())
    return pd.Series(
        {
            "风险客户件数": n,
            "投诉件数": c,
            "赔付件数": p,
            "投诉率": c / n if n else np.nan,
            "赔付率": p / c if c else np.nan,
            "综合赔付率": p / n if n else np.nan,
        }
    )


def at_risk(policies: pd.DataFrame, plan: Plan | None = None) -> pd.Series:
    """Which policies are at risk of a compensation claim (bool Series, ``at_risk``).

    At risk: aged at least ``[operations] compensation_min_age`` at maturity, returned less than
    the deposit (``short``), and rated one of ``[compensation] at_risk_ratings``
    (``risk_rating``, :func:`maturity_analysis.analysis.risk.rate_risk`). Needs ``age`` and those columns.
    """
    plan = plan or load_plan()
    ratings = list(plan.compensation.at_risk_ratings)
    missing = [c for c in ("age", "short", "risk_rating") if c not in policies.columns]
    if missing:
        raise MaturityDataError(
            f"policies lack column(s) {', '.join(missing)} for the compensation estimate"
        )
    aged = (policies["age"].astype("Float64") >= plan.compensation_min_age).fillna(False)
    risk = (
        aged.to_numpy(dtype=bool)
        & policies["short"].to_numpy(dtype=bool)
        & (policies["risk_rating"].isin(ratings).to_numpy(dtype=bool))
    )
    return pd.Series(risk, index=policies.index, name="at_risk")


def payout_amounts(policies: pd.DataFrame, plan: Plan | None = None) -> pd.Series:
    """The amount (元) one payout would cost per policy, as ``[compensation]`` defines it.

    ``payout_basis = "shortfall"``: the policy's ``shortfall_yuan`` (the deposit it fell short
    of); ``"fixed"``: ``payout_fixed_yuan``; either times ``payout_share``.
    """
    plan = plan or load_plan()
    c = plan.compensation
    if c.payout_basis == "shortfall":
        amount = policies["shortfall_yuan"].astype(float).fillna(0.0)
    else:  # "fixed": a positive payout_fixed_yuan, checked at load
        amount = pd.Series(float(c.payout_fixed_yuan), index=policies.index)
    return (amount * c.payout_share).rename("payout_yuan")


def _scenario_header(row: pd.Series) -> str:
    return f"{row['情景']}情景(投诉率{row['投诉率'] * 100:g}%，赔付率{row['赔付率'] * 100:g}%)"


def _paid(complaints: pd.DataFrame, policies: pd.DataFrame, period: Any) -> pd.DataFrame:
    """Complaints, compensations and amount paid per branch code, from the complaints frame."""
    c = complaints
    if period is not None:
        start, end = period_span(period)
        day = pd.to_datetime(c["complaint_date"]).dt.normalize()
        c = c[(day >= start) & (day <= end)]
    if "branch_code" in c.columns:
        branch = as_text(c["branch_code"])
    else:
        branch = c["policy_no"].map(policies.set_index("policy_no")["branch_code"]).astype(str)
    paid = c["compensated"].astype(bool).to_numpy()
    parts = pd.DataFrame(
        {
            "投诉件数": 1,
            "赔付件数": paid,
            "赔付金额(元)": np.where(
                paid, c["compensation"].astype(float).fillna(0.0).to_numpy(), 0.0
            ),
        },
        index=c.index,
    )
    return parts.groupby(branch.to_numpy()).sum()


def _whole(counts: pd.Series) -> pd.Series:
    """Expected counts rounded half up to whole 件."""
    return np.floor(counts + 0.5).astype("int64")


def compensation_estimate(
    policies: pd.DataFrame,
    plan: Plan | None = None,
    complaints: pd.DataFrame | None = None,
    period: Any = None,
) -> pd.DataFrame:
    """赔付预估 per branch: the policies at risk and each scenario's expected payouts and cost.

    Parameters
    ----------
    policies
        The policies frame; the shortfall columns (:func:`shortfall`) and ``risk_rating``
        (:func:`maturity_analysis.analysis.risk.rate_risk`) are computed when absent.
    complaints
        The complaints tracking frame (附件二: ``complaint_date``, ``policy_no``, ``compensated``,
        ``compensation``, ``branch_code``); when given, the complaints and compensation actually
        paid appear beside the estimate under 实际.
    period
        A year, quarter, month or day ("2013Q2"): the estimate covers the policies maturing in it
        and 实际 the complaints dated in it. ``None``: all policies and all complaints.

    Returns
    -------
    DataFrame
        Rows: 网点代码 × 网点名称 and a 合计 row. Columns (two header levels): 满期保单/件数;
        风险客户/件数, 赔付基数合计(元), 件均赔付基数(元); for each scenario 预计投诉件数 and
        预计赔付件数 (= at-risk × 投诉率 × 赔付率), rounded to whole 件, and 预计赔付金额(元) (= the at-risk payout
        amounts × 投诉率 × 赔付率); with ``complaints``, 实际/投诉件数, 赔付件数, 赔付金额(元).
    """
    plan = plan or load_plan()
    scenarios = compensation_scenarios(plan)
    f = _rated_in(policies, plan, period)
    risk = at_risk(f, plan).to_numpy()
    amount = np.where(risk, payout_amounts(f, plan).to_numpy(), 0.0)
    keys = [as_text(f["branch_code"]).to_numpy(), f["branch_name"].astype(str).to_numpy()]
    base = pd.DataFrame({"n": 1, "risk": risk, "amount": amount}, index=f.index)
    sums = base.groupby(keys).sum()
    sums.index = sums.index.set_names(["网点代码", "网点名称"])
    total_index = pd.MultiIndex.from_tuples([(TOTAL, "")], names=sums.index.names)
    sums = pd.concat([sums, pd.DataFrame([base.sum()], index=total_index)])
    cols: dict[tuple[str, str], Any] = {
        ("满期保单", "件数"): sums["n"].astype("int64"),
        ("风险客户", "件数"): sums["risk"].astype("int64"),
        ("风险客户", "赔付基数合计(元)"): sums["amount"].round(2),
        ("风险客户", "件均赔付基数(元)"): (sums["amount"] / sums["risk"].replace(0, np.nan)).round(
            2
        ),
    }
    for _, sc in scenarios.iterrows():
        head = _scenario_header(sc)
        # expected counts in whole 件 (the amount keeps the exact product)
        cols[(head, "预计投诉件数")] = _whole(sums["risk"] * sc["投诉率"])
        cols[(head, "预计赔付件数")] = _whole(sums["risk"] * sc["综合赔付率"])
        cols[(head, "预计赔付金额(元)")] = (sums["amount"] * sc["综合赔付率"]).round(2)
    if complaints is not None:
        paid = _paid(complaints, policies, period)
        paid = paid.reindex(sums.index.get_level_values(0)[:-1], fill_value=0)
        paid.loc[TOTAL] = paid.sum()
        for col in paid.columns:
            values = paid[col].to_numpy()
            cols[("实际", col)] = (
                values.round(2) if col.endswith("(元)") else values.astype("int64")
            )
    out = pd.DataFrame(cols, index=sums.index)
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    return out


def cost_sheets(
    policies: pd.DataFrame,
    plan: Plan | None = None,
    complaints: pd.DataFrame | None = None,
    period: Any = None,
) -> dict[str, pd.DataFrame]:
    """The cost tables as workbook sheets: the shortfall by age band, product and term, and
    branch; the compensation scenarios; the compensation estimate (with the observed rates and
    实际 when ``complaints`` are given)."""
    plan = plan or load_plan()
    f = _with_shortfall(policies, plan)
    observed = observed_rates(f, complaints, plan, period)
    return {
        "低于存款差额(年龄)": shortfall_table(f, "age_band", plan),
        "低于存款差额(险种期限)": shortfall_table(f, "product", plan),
        "低于存款差额(网点)": shortfall_table(f, "branch", plan),
        "赔付情景": compensation_scenarios(plan, observed).set_index("情景"),
        "赔付预估": compensation_estimate(f, plan, complaints=complaints, period=period),
    }


def cost_notes(plan: Plan | None = None) -> dict[str, list[str]]:
    """Lines above each cost sheet saying how its figures are made (from the plan file)."""
    plan = plan or load_plan()
    which = {"min": "下限", "mid": "中值", "max": "上限"}[plan.costs.replacement_amount]
    cap = plan.costs.max_discount
    c = plan.compensation
    basis = "低于存款差额" if c.payout_basis == "shortfall" else f"固定{c.payout_fixed_yuan:,}元"
    share = "" if c.payout_share == 1 else f"×{c.payout_share:.0%}"
    discount = (
        f"差额=同期整存整取存款本息(税后)-满期金，只计分红险满期保单；所需优惠率=差额÷对接保单"
        f"保费(年龄段建议额度{which})，上限{cap:.0%}；无对接产品(如61以上建议转存款)的不计"
        "优惠率。万能险为终身产品、不满期，不计入差额合计：其账户价值低于同期存款的单列为"
        "退保风险(客户提前领取仅得现金价值)。"
    )
    return {
        "低于存款差额(年龄)": [discount],
        "低于存款差额(险种期限)": [discount],
        "低于存款差额(网点)": [discount],
        "赔付情景": [
            "投诉率、赔付率为预算假设，非方案原文数字；有跟踪数据时，“实际”一行为期内风险客户"
            "的实际投诉率与赔付率。"
        ],
        "赔付预估": [
            f"风险客户：分红险满期时{plan.compensation_min_age}岁以上、满期金低于同期存款、"
            f"风险评级{'/'.join(c.at_risk_ratings)}。每件赔付额={basis}{share}；预计赔付金额="
            "风险客户赔付额合计×投诉率×赔付率。"
        ],
    }


def paid_complaints(tracking: Any) -> pd.DataFrame | None:
    """The complaints frame of a :class:`~maturity_analysis.ingest.forms.Tracking` when the dataset
    has any tracking data (then no complaint means nothing paid), else ``None`` (no 实际)."""
    kinds = ("calls", "complaints", "worklog", "outcomes")
    return tracking.complaints if any(len(tracking[k]) for k in kinds) else None


def _wan(yuan: float) -> str:
    return f"{yuan / 10_000:,.2f} 万元"


def _n(count: float) -> str:
    return f"{int(count):,}"


def _about(count: float) -> str:
    """An expected count in whole 件: ``约 3 件``, or ``不足 1 件`` when it rounds to 0."""
    return "不足 1 件" if 0 < count < 0.5 else f"约 {int(count + 0.5):,} 件"


def shortfall_text(table: pd.DataFrame) -> str:
    """One paragraph on the 合计 row of :func:`shortfall_table` (any grouping), for a report:
    the 分红 shortfall, then the 万能 surrender risk apart."""
    t = table.loc[TOTAL]
    t = t.iloc[0] if isinstance(t, pd.DataFrame) else t
    maturing = t["件数"] - t["万能件数"]
    if t["低于存款件数"] == 0:
        text = f"{_n(maturing)} 件分红险满期保单中没有满期金低于同期存款的保单。"
    else:
        text = (
            f"{_n(maturing)} 件分红险满期保单中，{_n(t['低于存款件数'])} 件"
            f"({t['低于存款占比']:.2%})的满期金低于同期整存整取存款本息，差额合计 "
            f"{_wan(t['差额合计(元)'])}，件均 {t['件均差额(元)']:,.2f} 元。"
        )
    if t["低于存款件数"] and not pd.isna(t["平均所需优惠率"]):
        text += (
            f"以各年龄段建议额度的对接保单弥补差额，平均需保费优惠 "
            f"{t['平均所需优惠率']:.2%}，最高 {t['最高所需优惠率']:.2%}"
        )
        text += (
            f"(其中 {_n(t['优惠封顶件数'])} 件差额超过对接保单保费，优惠封顶)。"
            if t["优惠封顶件数"]
            else "。"
        )
    if t["无对接产品件数"]:
        text += f"另有 {_n(t['无对接产品件数'])} 件所在年龄段建议转存款，无对接保险产品，不计优惠。"
    if t["万能件数"]:
        text += (
            f"万能险为终身产品，不满期，不计入上述差额：{_n(t['万能件数'])} 件中 "
            f"{_n(t['万能低于存款件数'])} 件账户价值低于同期存款(差额 "
            f"{_wan(t['万能差额合计(元)'])})，客户如提前领取只能按现金价值退保，"
            "回访时应讲清并建议继续持有。"
        )
    return text


def compensation_text(
    estimate: pd.DataFrame, plan: Plan | None = None, observed: pd.Series | None = None
) -> str:
    """One paragraph on the 合计 row of :func:`compensation_estimate`, for a report; with
    ``observed`` (:func:`observed_rates`) the tracked rates beside the assumed ones."""
    plan = plan or load_plan()
    t = estimate.iloc[-1]
    ratings = "/".join(plan.compensation.at_risk_ratings)
    n = t[("风险客户", "件数")]
    text = (
        f"风险客户(分红险满期时{plan.compensation_min_age}岁以上、满期金低于同期存款、风险评级"
        f"{ratings}) {_n(n)} 件，赔付基数合计 {_wan(t[('风险客户', '赔付基数合计(元)')])}。"
    )
    parts = [
        f"{sc['情景']}情景预计赔付{_about(n * sc['综合赔付率'])}、"
        f"{_wan(t[(_scenario_header(sc), '预计赔付金额(元)')])}"
        for _, sc in compensation_scenarios(plan).iterrows()
    ]
    text += "；".join(parts) + "。"
    if observed is not None and observed["风险客户件数"]:
        text += (
            f"跟踪数据中，风险客户 {_n(observed['风险客户件数'])} 件有 "
            f"{_n(observed['投诉件数'])} 件投诉(实际投诉率 {observed['投诉率']:.2%})，"
            f"赔付 {_n(observed['赔付件数'])} 件"
            + (f"(占投诉的 {observed['赔付率']:.2%})" if not pd.isna(observed["赔付率"]) else "")
            + "，可与各情景的假设对照。"
        )
    if ("实际", "赔付金额(元)") in estimate.columns:
        text += (
            f"期内实际受理投诉 {_n(t[('实际', '投诉件数')])} 件，赔付 {_n(t[('实际', '赔付件数')])} 件、"
            f"{_wan(t[('实际', '赔付金额(元)')])}。"
        )
    return text

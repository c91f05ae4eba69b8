"""Every figure the plan states against the figure reproduced from data.

Each row has a status: ``exact``; ``within rounding`` (agrees once rounded as the plan
rounds, or on a base the explanation names); ``approximate`` (a round figure the plan words
as such, "件均1万元": the data differs from it beyond rounding at one digit past the plan's
last, but by no more than :data:`APPROX_TOLERANCE` of it); ``discrepancy`` (with the
explanation); or ``not verifiable`` (the source text is garbled: the digits of a percentage
were stripped, or a table survived only in part). Sources cite the plan's table and cell in
the reader's words (方案表1 · 20-30 · 分红 合计; 三、目标 · …), as PLAN_FIGURES.md numbers them.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd

from ..ingest.dataset import dataset_fingerprint, read_dataset, read_dataset_tracking
from ..memo import kept
from ..plan.model import Plan, Target, load_plan, plan_file
from .tables import (
    COUNT,
    PREMIUM_WAN,
    SHARE,
    TOTAL,
    product_difference,
    segment_table,
    table1,
    table2,
    table3,
    table4,
)
from .targets import binding, describe_base, eligible, goal, policy_targets

EXACT, ROUNDING, APPROXIMATE, DISCREPANCY, UNVERIFIABLE = (
    "exact",
    "within rounding",
    "approximate",
    "discrepancy",
    "not verifiable",
)
STATUSES = (EXACT, ROUNDING, APPROXIMATE, DISCREPANCY, UNVERIFIABLE)
# A round figure the plan states as such (件均1万元) is 近似 when the data is within this share
# of it (0.83万 against 1万: 17%), 不一致 beyond.
APPROX_TOLERANCE = 0.2
COLUMNS = ["figure", "source", "unit", "stated", "reproduced", "status", "explanation"]
HEADERS = {
    "figure": "指标",
    "source": "出处",
    "unit": "单位",
    "stated": "方案数字",
    "reproduced": "数据重现",
    "status": "状态",
    "explanation": "说明",
}
STATUS_LABELS = {
    EXACT: "一致",
    ROUNDING: "舍入内一致",
    APPROXIMATE: "近似",
    DISCREPANCY: "不一致",
    UNVERIFIABLE: "无法核实",
}
STRIPPED = "原文百分数的数字已丢失（只剩“%”），此为按件数重算"


def _row(
    figure: str,
    source: str,
    unit: str,
    stated: float,
    reproduced: float,
    status: str,
    explanation: str = "",
) -> dict:
    return {
        "figure": figure,
        "source": source,
        "unit": unit,
        "stated": stated,
        "reproduced": reproduced,
        "status": status,
        "explanation": explanation,
    }


def _count_row(
    figure: str, source: str, stated: int, reproduced: float, explanation: str = ""
) -> dict:
    if stated == reproduced:
        return _row(figure, source, "件", stated, reproduced, EXACT, explanation)
    why = f"数据为{reproduced:,.0f}件，方案为{stated:,}件，相差{reproduced - stated:+,.0f}件"
    return _row(
        figure,
        source,
        "件",
        stated,
        reproduced,
        DISCREPANCY,
        "；".join(x for x in (why, explanation) if x),
    )


def _lookup(frame: pd.DataFrame, row: str, col: object) -> float:
    try:
        return float(frame.loc[row, col])
    except KeyError:
        return float("nan")


def _table1_rows(t1: pd.DataFrame, plan: Plan) -> list[dict]:
    recovered = plan.figures.get("table1_recovered", {})
    rows = []
    for product, by_age in plan.figures["table1"].items():
        for age, values in by_age.items():
            for col, stated in zip([TOTAL, *plan.principal_labels], values, strict=True):
                note = (
                    "原文缺此格（重复的数字被删），由行、列合计恢复"
                    if f"{age}/{col}" in recovered.get(product, ())
                    else ""
                )
                rows.append(
                    _count_row(
                        f"{age} {product} {col}",
                        f"方案表1 · {age} · {product} {col}",
                        stated,
                        _lookup(t1, age, (product, col)),
                        note,
                    )
                )
    return rows


def _typo_row(t2: pd.DataFrame, plan: Plan) -> dict:
    f = plan.figures["table2"]
    printed, intended = f["typo_printed"], f["typo_intended"]
    cell = next(
        (
            (p, age)
            for p, by_age in plan.figures["table1"].items()
            for age, v in by_age.items()
            if v[0] == intended and age != TOTAL
        ),
        None,
    )
    if cell is None:
        return _row(
            f"原文印作{printed}",
            "方案表2",
            "件",
            printed,
            np.nan,
            DISCREPANCY,
            f"方案表1中无{intended}件的格子，无法定位",
        )
    product, age = cell
    other = [p for p in plan.products if p != product]
    others = sum(plan.figures["table1"][p][age][0] for p in other)
    row_total = f["totals"].get(age)
    why = (
        f"原文印作{printed}，应为{intended}（数字颠倒的笔误）：表1该格为{intended}，"
        f"且行合计{row_total} = {others} + {intended}"
    )
    return _row(
        f"{age} {product} {COUNT}（原文{printed}）",
        f"方案表2 · {age} · {product} 件数",
        "件",
        printed,
        _lookup(t2, age, (product, COUNT)),
        DISCREPANCY,
        why,
    )


def _table2_rows(policies: pd.DataFrame, t2: pd.DataFrame, plan: Plan) -> list[dict]:
    f = plan.figures["table2"]
    rows = [
        _count_row(
            f"{age} 总件数", f"方案表2 · {age} · 总件数", stated, _lookup(t2, age, (TOTAL, COUNT))
        )
        for age, stated in f["totals"].items()
    ]
    for age in plan.age_labels:
        rows.append(
            _row(
                f"{age} 总占比",
                f"方案表2 · {age} · 总占比",
                "%",
                np.nan,
                100 * _lookup(t2, age, (TOTAL, SHARE)),
                UNVERIFIABLE,
                STRIPPED,
            )
        )
    share = 100 * _lookup(t2, TOTAL, (TOTAL, SHARE))
    rows.append(
        _row(
            "合计 总占比",
            "方案表2 · 合计 · 总占比",
            "%",
            100.0,
            share,
            EXACT if share == 100 else DISCREPANCY,
        )
    )
    rows.append(_typo_row(t2, plan))
    diff, diff_share = product_difference(policies, plan)
    first, second = plan.products[:2]
    rows.append(
        _count_row(
            f"{second}件数高于{first}",
            "方案表2 · 正文“万能险件数高于分红险4351件”",
            f["universal_minus_participating"],
            diff,
        )
    )
    rows.append(
        _row(
            f"{second}高于{first}占总件数",
            "方案表2 · 正文“4351件,%”",
            "%",
            np.nan,
            100 * diff_share,
            UNVERIFIABLE,
            STRIPPED,
        )
    )
    return rows


def _table3_rows(policies: pd.DataFrame, t3: pd.DataFrame, plan: Plan) -> list[dict]:
    f = plan.figures["table3"]
    rows = [
        _count_row(
            f"{band} 件数", f"方案表3 · {band} · 件数", stated, _lookup(t3, band, (TOTAL, COUNT))
        )
        for band, stated in f["counts"].items()
    ]
    first = plan.principal_labels[0]
    share = 100 * _lookup(t3, first, (TOTAL, SHARE))
    stated = 100 * f["below_5w_share"]
    status = (
        EXACT
        if share == stated
        else ROUNDING
        if round(share, 2) == round(stated, 2)
        else DISCREPANCY
    )
    rows.append(
        _row(
            f"{first}占比",
            "方案表3 · 正文“[95.98]%”",
            "%",
            stated,
            share,
            status,
            "原文只剩“%”；95.98%为按方案表3件数重建的数字，按两位小数比较",
        )
    )
    average = _lookup(t3, TOTAL, (TOTAL, "件均保费(元)")) / 10_000
    stated = f["average_premium_wan"]
    rows.append(
        _row(
            "件均保费",
            "方案表3 · 正文“件均1万元”",
            "万元",
            stated,
            average,
            *_approximate(average, stated, 1),
        )
    )
    return rows


def _approximate(value: float, stated: float, digits: int) -> tuple[str, str]:
    """Status and explanation of ``value`` against a round figure the plan states with
    ``digits`` decimals fewer than it is compared at (件均1万元 is compared at 0.1万元)."""
    shown = f"数据为{value:,.{digits}f}万元（{value * 10_000:,.0f}元）"
    if round(value, digits) == round(stated, digits):
        return ROUNDING, f"{shown}，与方案的约数{stated:g}万元在舍入内一致"
    off = abs(value - stated) / abs(stated) if stated else math.inf
    if off <= APPROX_TOLERANCE:
        return APPROXIMATE, (
            f"{shown}；方案的{stated:g}万元是约数，相差{off:.0%}，"
            f"在约数允许的{APPROX_TOLERANCE:.0%}以内"
        )
    return (
        DISCREPANCY,
        f"{shown}；与方案的约数{stated:g}万元相差{off:.0%}，超出{APPROX_TOLERANCE:.0%}",
    )


def _table4_rows(t4: pd.DataFrame, plan: Plan) -> list[dict]:
    f = plan.figures["table4"]
    old = plan.age_labels[-1]
    first, second = plan.products[:2]
    garbled = "原文表4残缺，只存“3880”“6099”“共计30721”，无法完全核实"
    cells = [
        (
            "over61_participating_wan",
            f"{old} {first}保费",
            f"方案表4 · {old} · {first} 保费",
            _lookup(t4, old, (first, PREMIUM_WAN)),
            "另见年龄段表“保费3880万元，3547件”",
        ),
        (
            "over61_universal_wan",
            f"{old} {second}保费",
            f"方案表4 · {old} · {second} 保费",
            _lookup(t4, old, (second, PREMIUM_WAN)),
            "2219是推断值：与表2的2219重复而被删",
        ),
        (
            "over61_total_wan",
            f"{old} 保费合计",
            f"方案表4 · {old} · 保费合计",
            _lookup(t4, old, (TOTAL, PREMIUM_WAN)),
            "",
        ),
        (
            "grand_total_wan",
            "保费共计",
            "方案表4 · 共计",
            _lookup(t4, TOTAL, (TOTAL, PREMIUM_WAN)),
            f"另一读法视30721为{second}合计，数据中{second}合计为"
            f"{_lookup(t4, TOTAL, (second, PREMIUM_WAN)):,.0f}万元",
        ),
    ]
    rows = []
    for key, figure, source, reproduced, note in cells:
        stated = f[key]
        agrees = abs(reproduced - stated) < 0.5
        reading = (
            "数据与第一种读法一致（万元取整）"
            if agrees
            else f"数据为{reproduced:,.0f}万元，与第一种读法不符"
        )
        rows.append(
            _row(
                figure,
                source,
                "万元",
                stated,
                reproduced,
                UNVERIFIABLE,
                "；".join(x for x in (garbled, reading, note) if x),
            )
        )
    return rows


def _segment_rows(seg: pd.DataFrame, plan: Plan) -> list[dict]:
    middle, product = plan.tables.segment.middle_label, plan.tables.segment.product
    rows = []
    for age, stated in plan.figures["segments"]["participating_5_to_20w"].items():
        rows.append(
            _count_row(
                f"{age} {product} {middle}件数",
                f"客户细分表 · {age} · {middle}",
                stated,
                _lookup(seg, age, f"{middle}{COUNT}"),
            )
        )
    for age in plan.figures["segments"]["participating_5_to_20w"]:
        rows.append(
            _row(
                f"{age} {product} {middle}占比",
                f"客户细分表 · {age} · {middle} 占比",
                "%",
                np.nan,
                100 * _lookup(seg, age, f"{middle}{SHARE}"),
                UNVERIFIABLE,
                STRIPPED,
            )
        )
    return rows


def _rounded(x: float, stated: int) -> str | None:
    """How ``x`` rounds to ``stated`` (exact, 截尾, 向上取整), or None."""
    x = round(x, 9)
    if x == stated:
        return "exact"
    if math.floor(x) == stated:
        return "截尾"
    if math.ceil(x) == stated:
        return "向上取整"
    return None


def _text_base(plan: Plan, t: Target) -> Target | None:
    """The base as the plan's sentence words it, where the target's own base drops its ages:
    "分红险满期客户(20-60岁)，实现20%的保单转换…另30%的存款转换" gives the deposit target the
    ages of the other target on the same product. None when the base is the same."""
    if t.min_age is not None or t.max_age is not None:
        return None
    for o in policy_targets(plan):
        if o.key != t.key and o.product == t.product and (o.min_age, o.max_age) != (None, None):
            return Target(t.key, t.label, t.rate, t.product, o.min_age, o.max_age)
    return None


def _year_verdict(policies: pd.DataFrame, tracking, plan: Plan, t: Target) -> tuple[int, int]:
    """(converted, target count) for the whole book's year on ``t``'s base."""
    kinds = {
        "policy_conversion": plan.tracking.policy_conversion_outcome,
        "deposit_conversion": plan.tracking.deposit_conversion_outcome,
    }
    first = tracking.outcomes.drop_duplicates("policy_no").set_index("policy_no")["outcome"]
    outcome = policies["policy_no"].map(first)
    base = eligible(policies, t)
    done = int((base & (outcome == kinds.get(t.key, ""))).sum())
    return done, goal(t.rate, int(base.sum()))


def _base_change(policies: pd.DataFrame, plan: Plan, t: Target, tracking) -> str:
    """Whether the base (all ages vs the sentence's ages) changes the whole book's year verdict."""
    text = _text_base(plan, t)
    if text is None or tracking is None or tracking.outcomes.empty:
        return ""
    done, need = _year_verdict(policies, tracking, plan, t)
    old_done, old_need = _year_verdict(policies, tracking, plan, text)
    verdict = "达标" if done >= need else "未达标"
    old = "达标" if old_done >= old_need else "未达标"
    head = (
        f"全辖全年按{describe_base(t)}口径：{t.label}{done:,}件，目标{need:,}件，{verdict}；"
        f"若按方案句中{describe_base(text)}口径：{old_done:,}件，目标{old_need:,}件，{old}"
    )
    return head + ("：口径改变了全年结论" if old != verdict else "：口径不改变全年结论")


def _target_row(policies: pd.DataFrame, plan: Plan, t: Target, tracking=None) -> dict:
    """The plan's stated count against the count the target takes from its rate (rate × base,
    rounded up: "at least"); one status, the same the targets section states."""
    own = int(eligible(policies, t).sum())
    value = t.rate * own
    count = goal(t.rate, own)
    figure, source = f"{t.label}目标件数", f"三、目标 · {t.label} · 可实现{t.stated_count}件"
    own_text = f"{t.rate:.0%} × {describe_base(t)} {own:,}件 = {value:,.1f}"
    rounded = _rounded(value, count)
    own_text += "" if rounded == "exact" else "，向上取整"
    change = _base_change(policies, plan, t, tracking)
    if count == t.stated_count:
        why = "；".join(x for x in (f"{own_text}，与方案所述{t.stated_count:,}件相同", change) if x)
        return _row(figure, source, "件", t.stated_count, count, EXACT, why)
    bases = [(describe_base(t), own)]
    text = _text_base(plan, t)
    if text is not None:
        bases.append((describe_base(text), int(eligible(policies, text).sum())))
    if t.min_age is not None or t.max_age is not None:
        whole = Target(t.key, t.label, t.rate, product=t.product)
        bases.append((f"全部{t.product or ''}（不限年龄）", int(eligible(policies, whole).sum())))
    rates = [t.rate, *sorted({o.rate for o in policy_targets(plan)} - {t.rate})]
    found = next(
        (
            f"{t.stated_count:,} = {rate:.0%} × {text} {base:,}件 = {rate * base:,.1f}，{how}"
            for rate in rates
            for text, base in bases
            if (how := _rounded(rate * base, t.stated_count))
            and (rate, text) != (t.rate, bases[0][0])
        ),
        "",
    )
    binds = "方案所述件数" if binding(t) == "stated" else f"按比率计算的{count:,}件"
    why = (
        f"方案比率与件数不符：{own_text}为{count:,}件，方案所述{t.stated_count:,}件，"
        f"相差{t.stated_count - count:+,}件"
        + (f"；而{found}" if found else "")
        + f"；考核采用{binds}（可在方案设定中改选），评估同时列出对另一件数的进度"
    )
    why = "；".join(x for x in (why, change) if x)
    return _row(figure, source, "件", t.stated_count, count, DISCREPANCY, why)


def reconciliation(policies: pd.DataFrame, plan: Plan | None = None, tracking=None) -> pd.DataFrame:
    """The plan's stated figures against the data (the whole book); with ``tracking`` (the
    year's outcomes), a target whose base differs from the plan's sentence also says whether
    the base changes the whole book's year verdict.

    Returns
    -------
    DataFrame
        One row per figure: figure, source (the plan's table · row · column, in Chinese), unit
        (件, 万元, %), stated, reproduced, status (one of :data:`STATUSES`), explanation.
        Percentages are in percent (95.98), stated is NaN where the source lost the digits.
    """
    plan = plan or load_plan()
    if not plan.figures:  # a plan file without stated figures: nothing to reconcile
        return pd.DataFrame(columns=COLUMNS)
    rows = _table1_rows(table1(policies, plan), plan)
    rows += _table2_rows(policies, table2(policies, plan), plan)
    rows += _table3_rows(policies, table3(policies, plan), plan)
    rows += _table4_rows(table4(policies, plan), plan)
    rows += _segment_rows(segment_table(policies, plan), plan)
    rows += [
        _target_row(policies, plan, t, tracking)
        for t in plan.targets.values()
        if t.stated_count is not None
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


_memo: dict[tuple, pd.DataFrame] = {}


def dataset_reconciliation(
    dataset: str = "sample",
    plan: Plan | None = None,
    raw_dir: str | None = None,
    processed_dir: str | None = None,
) -> pd.DataFrame:
    """:func:`reconciliation` of a prepared dataset (its policies and tracking frames), a copy.

    It is the whole book's, the same in every unit's report: kept in the process per prepared
    files (:func:`~maturity_analysis.ingest.dataset.dataset_fingerprint`) and plan, so a warm
    report kernel computes it once per dataset instead of once per report.
    """
    plan = plan or load_plan(plan_file(dataset=dataset, raw_dir=raw_dir))
    used = plan.source  # the dataset is prepared on this plan file
    key = (dataset_fingerprint(dataset, raw_dir, processed_dir, used), pickle.dumps(plan))

    def computed() -> pd.DataFrame:
        book = read_dataset(dataset, raw_dir, processed_dir, used)
        tracking = read_dataset_tracking(dataset, raw_dir, processed_dir, used)
        return reconciliation(book, plan, tracking)

    return kept(_memo, key, computed).copy()


def summary(frame: pd.DataFrame) -> pd.Series:
    """How many figures have each status (every status listed, zeros included)."""
    return frame["status"].value_counts().reindex(list(STATUSES), fill_value=0)

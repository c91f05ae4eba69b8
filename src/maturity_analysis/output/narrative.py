"""What the report notebooks say: sentences computed from the library's tables.

Each function takes a table (or the policies) and returns Markdown text, so a notebook cell
is one call (``Markdown(narrative.table2_text(t2))``) and no figure in the prose is typed in
by hand. A few ``*_view`` functions pick what a reader is shown of a table (e.g. the
riskiest customers, masked). Numbers follow the tables' display: counts with thousands
separators, shares as percentages with two decimals.
"""

from __future__ import annotations

import pandas as pd

from ..analysis.book import ALL, RANK_ROW, branch_label, is_all, is_sub_branch, unit_noun
from ..analysis.costs import replacement_premiums
from ..analysis.markup import md
from ..analysis.reconcile import DISCREPANCY, EXACT, STATUS_LABELS, STATUSES, summary
from ..analysis.tables import AVERAGE_PREMIUM, COUNT, PREMIUM_WAN, SHARE, TOTAL
from ..analysis.targets import BASE, BY_RATE, GOAL, PLAN_RATE, RATE
from ..ingest.schema import PERSONAL_COLUMNS
from ..plan.model import Plan, load_plan
from ..plan.programme import period_span
from .display import format_reconciliation
from .privacy import mask_frame

RATING_NAMES = {"A": "高风险", "B": "中风险", "C": "低风险"}
WATCHLIST_COLUMNS = {
    "policy_no": "保单号",
    "holder_name": "客户姓名",
    "holder_mobile": "手机号码",
    "branch_name": "网点",
    "product_name": "产品名称",
    "age": "年龄",
    "premium": "已交保费(元)",
    "maturity_date": "满期日期",
    "policy_yield": "保单年化收益率",
    "deposit_yield": "存款年化收益率",
    "gap_yuan": "较存款差额(元)",
    "risk_rating": "风险评级",
    "risk_reasons": "风险原因",
}
WATCHLIST_PII = tuple(c for c in WATCHLIST_COLUMNS if c in PERSONAL_COLUMNS)
"""The PII columns :func:`watchlist` shows (masked): a book read for it asks for these
(``read_dataset(pii=WATCHLIST_PII)``)."""
STATED = "方案所述件数"


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _pct(value: float) -> str:
    return "—" if pd.isna(value) else f"{value:.2%}"


def _age(label: str) -> str:
    """An age band as a phrase: ``41-50`` → ``41-50岁``, ``61以上`` → ``61岁以上``."""
    if label[-1:].isdigit():
        return f"{label}岁"
    return label.replace("以上", "岁以上") if "岁" not in label else label


def _body(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame.index.get_level_values(0) != TOTAL]


def _products(frame: pd.DataFrame) -> list[str]:
    return [p for p in frame.columns.get_level_values(0).unique() if p != TOTAL]


def scope(policies: pd.DataFrame, branch: str, dataset: str, period: str) -> str:
    """One line naming what the report covers: branch, dataset, period, number of policies."""
    names = [] if is_all(branch) else policies["branch_name"].dropna().unique()
    where = branch_label(branch, names[0] if len(names) else None)
    return (
        f"**{'网点' if is_all(branch) else unit_noun(branch)}**：{md(where)} · **数据集**：{md(dataset)} · **报告期**：{md(period)} · "
        f"**满期保单**：{_n(len(policies))} 件"
    )


def table1_text(t1: pd.DataFrame) -> str:
    """The most crowded cell of Table 1 and how many policies reach the top principal band."""
    cells = _body(t1).drop(columns=TOTAL, level=1)
    stacked = cells.stack(level=[0, 1], future_stack=True)
    (age, product, band), top = stacked.idxmax(), stacked.max()
    last = cells.columns.get_level_values(1)[-1]
    per_product = "，".join(f"{md(p)} {_n(t1.loc[TOTAL, (p, last)])} 件" for p in _products(t1))
    total_last = sum(t1.loc[TOTAL, (p, last)] for p in _products(t1))
    return (
        f"件数最多的组合是 {md(_age(age))} · {md(product)} · {md(band)}，共 {_n(top)} 件；"
        f"满期本金 {md(last)} 的保单共 {_n(total_last)} 件（{per_product}）。"
    )


def table2_text(t2: pd.DataFrame) -> str:
    """Total policies, each product's count, the difference between two products and the
    age band with the most policies."""
    products = _products(t2)
    total = t2.loc[TOTAL, (TOTAL, COUNT)]
    counts = {p: int(t2.loc[TOTAL, (p, COUNT)]) for p in products}
    parts = [
        f"共 {_n(total)} 件满期保单："
        + "，".join(f"{md(p)} {_n(n)} 件" for p, n in counts.items())
        + "。"
    ]
    if len(products) == 2:
        (a, na), (b, nb) = counts.items()
        more, less = (b, a) if nb >= na else (a, b)
        diff = abs(nb - na)
        parts.append(f"{md(more)}比{md(less)}多 {_n(diff)} 件（占总件数 {_pct(diff / total)}）。")
    body = _body(t2)[(TOTAL, COUNT)]
    top = body.idxmax()
    parts.append(
        f"{md(_age(top))}是件数最多的年龄段，共 {_n(body[top])} 件，"
        f"占 {_pct(t2.loc[top, (TOTAL, SHARE)])}。"
    )
    return "".join(parts)


def table3_text(t3: pd.DataFrame) -> str:
    """The share of the lowest principal band with that band's own average premium, then the
    whole book's average premium per policy (per product)."""
    first = _body(t3).index[0]
    averages = "，".join(
        f"{md(p)} {_n(t3.loc[TOTAL, (p, AVERAGE_PREMIUM)])} 元"
        for p in _products(t3)
        if t3.loc[TOTAL, (p, COUNT)] > 0
    )
    own = t3.loc[first, (TOTAL, AVERAGE_PREMIUM)]
    return (
        f"满期本金 {md(first)} 的保单 {_n(t3.loc[first, (TOTAL, COUNT)])} 件，"
        f"占 {_pct(t3.loc[first, (TOTAL, SHARE)])}"
        + ("" if pd.isna(own) else f"，该区间件均保费 {_n(own)} 元")
        + f"；全部保单件均保费 {_n(t3.loc[TOTAL, (TOTAL, AVERAGE_PREMIUM)])} 元（{averages}）。"
    )


def table4_text(t4: pd.DataFrame, t2: pd.DataFrame, plan: Plan | None = None) -> str:
    """Total premium, the age band with the most premium, and the share of policies and
    premium from customers in the bands at or above the plan's compensation age."""
    plan = plan or load_plan()
    per_product = "，".join(
        f"{md(p)} {t4.loc[TOTAL, (p, PREMIUM_WAN)]:,.2f} 万元" for p in _products(t4)
    )
    body = _body(t4)[(TOTAL, PREMIUM_WAN)]
    top = body.idxmax()
    text = (
        f"保费合计 {t4.loc[TOTAL, (TOTAL, PREMIUM_WAN)]:,.2f} 万元（{per_product}）；"
        f"{md(_age(top))}保费最多，{body[top]:,.2f} 万元，占 {_pct(t4.loc[top, (TOTAL, SHARE)])}。"
    )
    older = [
        lab
        for lab, lo in zip(plan.age_labels, plan.age_lower, strict=True)
        if lo >= plan.compensation_min_age and lab in body.index
    ]
    if older:
        count_share = t2.loc[older, (TOTAL, SHARE)].sum()
        premium_share = t4.loc[older, (TOTAL, SHARE)].sum()
        lowest = plan.age_lower[plan.age_labels.index(older[0])]
        text += f"{lowest}岁以上客户占件数的 {_pct(count_share)}、保费的 {_pct(premium_share)}。"
    return text


def segment_text(seg: pd.DataFrame, plan: Plan | None = None) -> str:
    """The age band with the most 分红 policies and the one with the highest 5-20万 share."""
    plan = plan or load_plan()
    product, middle = plan.tables.segment.product, plan.tables.segment.middle_label
    body = _body(seg)
    counts, shares = body[f"{product}{COUNT}"], body[f"{middle}{SHARE}"]
    most = counts.idxmax()
    text = f"{md(product)}保单最多的年龄段是 {md(_age(most))}，{_n(counts[most])} 件。"
    if shares.fillna(0).max() > 0:
        high = shares.idxmax()
        text += (
            f"{md(middle)}保单占比最高的是 {md(_age(high))}："
            f"{_n(body.loc[high, f'{middle}{COUNT}'])} 件，占该年龄段{md(product)}保单的 "
            f"{_pct(shares[high])}。"
        )
    return text


def yields_text(table: pd.DataFrame, policies: pd.DataFrame, plan: Plan | None = None) -> str:
    """Per maturity-product group its average return against the deposit's and the share
    that beat it; then how many maturing (分红) policies fell short of the deposit, and apart
    the 万能 policies (which do not mature) whose account value is below it."""
    plan = plan or load_plan()
    lines = []
    for group, row in _body(table).iterrows():
        if row[COUNT] == 0 or pd.isna(row["平均年化收益率"]):
            continue
        gap = row["平均收益差(百分点)"]
        lines.append(
            f"- **{md(group)}**：{_n(row[COUNT])} 件，平均年化收益率 {_pct(row['平均年化收益率'])}，"
            f"同期存款 {_pct(row['平均存款年化收益率'])}，"
            f"{'高出' if gap >= 0 else '低'} {abs(gap):.2f} 个百分点；"
            f"跑赢存款 {_n(row['跑赢存款件数'])} 件（{_pct(row['跑赢存款占比'])}）。"
        )
    held = policies["product_type"].isin(plan.tracking.hold_products).to_numpy(dtype=bool)
    beats = policies["beats_deposit"].astype("boolean")
    maturing, kept = beats[~held], beats[held]
    short, known = int((~maturing).sum()), int(maturing.notna().sum())
    lines.append(
        f"\n分红险共有 **{_n(short)} 件**保单的满期金低于同期存款"
        f"（占可比较的分红险保单 {_n(known)} 件的 "
        f"{_pct(short / known if known else float('nan'))}）。"
    )
    if held.any():
        lines.append(
            f"万能险为终身产品，不满期，不计入上述件数：{_n(held.sum())} 件中 "
            f"{_n((~kept).sum())} 件账户价值低于同期存款，客户如提前领取只能按现金价值退保。"
        )
    return "\n".join(lines)


def risk_text(table: pd.DataFrame) -> str:
    """How many customers have each rating, and where the high-risk ones concentrate."""
    total = table.loc[TOTAL, TOTAL]
    parts = [
        f"{md(r)} 级（{md(RATING_NAMES.get(r, r))}）{_n(table.loc[TOTAL, r])} 件"
        f"（{_pct(table.loc[TOTAL, r] / total if total else float('nan'))}）"
        for r in table.columns
        if r != TOTAL
    ]
    text = "；".join(parts) + "。"
    first = next(r for r in table.columns if r != TOTAL)
    body = _body(table)[first]
    if body.sum() > 0:
        top = body.idxmax()
        text += f"{md(first)} 级客户最多的年龄段是 {md(_age(top))}，{_n(body[top])} 件。"
    return text


def backtest_text(table: pd.DataFrame) -> str:
    """The risk rating against the tracked complaints (:func:`maturity_analysis.analysis.risk.
    backtest`): each rating's complaint and payout rates, and whether they fall with the rating."""
    ratings = [r for r in table.index if r != TOTAL]
    if pd.isna(table.loc[TOTAL, "投诉件数"]):
        return "尚无投诉跟踪数据，评级待录入投诉后用实际结果检验。"
    if table.loc[TOTAL, "投诉件数"] == 0:
        return "跟踪数据中尚无投诉，评级暂无法用实际结果检验。"
    parts = [
        f"{r} 级 {_n(table.loc[r, '件数'])} 件中投诉 {_n(table.loc[r, '投诉件数'])} 件"
        f"（{_pct(table.loc[r, '投诉率'])}），获赔 {_n(table.loc[r, '赔付件数'])} 件"
        for r in ratings
    ]
    rates = table.loc[ratings, "投诉率"].dropna()
    falling = rates.is_monotonic_decreasing and len(rates) == len(ratings)
    verdict = (
        "投诉率随评级由高到低依次下降，评级能区分投诉风险。"
        if falling
        else "投诉率并未随评级由高到低依次下降，评级规则宜结合实际投诉调整。"
    )
    return "按跟踪数据检验评级：" + "；".join(parts) + "。" + verdict


def standing_view(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`maturity_analysis.analysis.book.standing_table` as shown: counts, shares and
    元 written out."""

    def cell(label: str, value: float) -> str:
        if pd.isna(value):
            return "—"
        return _pct(value) if "占" in label else f"{value:,.0f}"

    return pd.DataFrame(
        {col: [cell(lab, v) for lab, v in table[col].items()] for col in table.columns},
        index=table.index,
    )


def standing_text(
    table: pd.DataFrame, policies: pd.DataFrame, branch: str, plan: Plan | None = None
) -> str:
    """Where the unit stands against the whole book and what to do next, from
    :func:`maturity_analysis.analysis.book.standing_table` and the unit's enriched policies (``risk_rating``, ``beats_deposit``, ``age_band``)."""
    plan = plan or load_plan()
    lines = []
    if branch == ALL:
        book = table["全辖"]
        lines.append(
            f"全辖 {_n(book[RANK_ROW])} 个网点共满期保单 {_n(book.iloc[0])} 件；分红险低于存款的"
            f"占比 {_pct(book['分红险低于存款占比'])}，高风险（A 级）客户占 "
            f"{_pct(book['高风险(A级)占比'])}。各网点的位置见其各自报告的本节。"
        )
    else:
        noun = unit_noun(branch)
        mine, book = table[f"本{noun}"], table["全辖"]
        lines.append(
            f"本{noun}满期保单 {_n(mine.iloc[0])} 件，占全辖的 {_pct(mine['占全辖件数'])}，"
            f"在全辖 {_n(book[RANK_ROW])} 个{noun}中按件数排第 {_n(mine[RANK_ROW])} 位。"
        )
        compare = []
        for label in ("分红险低于存款占比", "高风险(A级)占比", "满期时50岁以上占比", "万能险占比"):
            a, b = mine[label], book[label]
            if pd.isna(a) or pd.isna(b):
                continue
            word = "高于" if a > b else "低于" if a < b else "持平于"
            compare.append(
                f"{label.removesuffix('占比')}的占比为 {_pct(a)}，{word}全辖的 {_pct(b)}"
            )
        if compare:
            lines.append("；".join(compare) + "。")
    rating = policies["risk_rating"].astype(object)
    held = policies["product_type"].isin(plan.tracking.hold_products).to_numpy(dtype=bool)
    beats = policies["beats_deposit"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    short = ~beats & ~held
    premiums = replacement_premiums(plan)
    to_deposit = policies["age_band"].astype(object).isin(premiums[premiums.isna()].index)
    steps = [
        f"先回访 {_n((rating == 'A').sum())} 位高风险（A 级）客户，按“优先回访的客户”的顺序在"
        "满期前接通，讲清已购产品收益与同期存款的差别；"
    ]
    if short.any():
        steps.append(
            f"分红险满期金低于存款的 {_n(short.sum())} 位客户，按年龄段推荐对接产品并说明保费"
            f"优惠，其中 {_n((short & to_deposit.to_numpy()).sum())} 位按方案建议转存款；"
        )
    if held.any():
        steps.append(
            f"万能险 {_n(held.sum())} 位客户，说明其为终身产品、提前领取只能按现金价值退保，"
            "建议继续持有；"
        )
    if (
        branch != ALL
        and table.loc["分红险低于存款占比", table.columns[0]]
        > table.loc["分红险低于存款占比", "全辖"]
    ):
        steps.append(
            f"本{unit_noun(branch)}低于存款的占比高于全辖，投诉风险偏高，应提前备好解释口径和赔付预案；"
        )
    steps.append("每日完成回访量，并在工作日志和回访统计表中如实登记结果。")
    lines.append("\n**下一步**：\n\n" + "\n".join(f"- {s}" for s in steps))
    return "\n".join(lines)


def watchlist(rated: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` riskiest customers to call first, masked for the report.

    Ordered by risk points (highest first), then by the shortfall against the deposit
    (largest first), then policy number; names, phones and policy numbers are masked with
    :func:`maturity_analysis.output.privacy.mask_frame`, headers are Chinese.
    """
    columns = [c for c in WATCHLIST_COLUMNS if c in rated.columns]
    top = rated.sort_values(
        ["risk_points", "gap_yuan", "policy_no"], ascending=[False, True, True], na_position="last"
    ).head(n)
    shown = mask_frame(top[columns])
    if "maturity_date" in shown.columns:
        shown["maturity_date"] = shown["maturity_date"].dt.strftime("%Y-%m-%d")
    shown = shown.rename(columns=WATCHLIST_COLUMNS)
    return shown.reset_index(drop=True).rename(index=lambda i: i + 1)


EXCEPTION_COLUMNS = {
    "例外": "例外",
    "branch_code": "网点代码",
    "branch_name": "网点",
    "policy_no": "保单号",
    "age": "年龄",
    "amount": "赔偿金额(元)",
}


def exceptions_view(rows: pd.DataFrame) -> pd.DataFrame:
    """The evaluation's exceptions (``Evaluation.exceptions``) one row each: policy numbers
    masked, Chinese headers, numbered from 1."""
    shown = mask_frame(rows[[c for c in EXCEPTION_COLUMNS if c in rows.columns]])
    return (
        shown.rename(columns=EXCEPTION_COLUMNS).reset_index(drop=True).rename(index=lambda i: i + 1)
    )


def exceptions_shown(rows: pd.DataFrame, unit: str = ALL) -> pd.DataFrame:
    """The exceptions a unit's report shows: a branch's one row each (:func:`exceptions_view`);
    for ALL and a 支局 (hundreds of rows) each branch's count of each kind, with a 合计 row
    (the rows themselves are in each branch's report and in the workbook's 例外 sheet)."""
    if not (is_all(unit) or is_sub_branch(unit)):
        return exceptions_view(rows)
    keys = [c for c in ("branch_code", "branch_name") if c in rows.columns]
    counts = pd.crosstab(
        [rows[c].astype(str) for c in keys],
        rows["例外"].astype(str),
        margins=True,
        margins_name=TOTAL,
    )
    counts.index.names = [EXCEPTION_COLUMNS[c] for c in keys]
    counts.columns.name = None
    return counts.astype("int64")


def targets_text(goals: pd.DataFrame, branch: str) -> str:
    """Each target in words: its base, the plan's rate, the target count and its rate on the
    base; for the whole book against the plan's stated count, for a branch its allocated share
    (which is its target: 目标比率 = 目标件数 ÷ 基数).

    ``goals`` is the ``"目标"`` table of :func:`maturity_analysis.analysis.targets.branch_targets`.
    """
    lines = []
    for name, row in goals.iterrows():
        label = row.get("目标", name)
        if pd.isna(row[BASE]):
            lines.append(
                f"- **{md(label)}** ≥ {row[PLAN_RATE]:.0%}：基数为{md(row['口径'])}，"
                "录入投诉跟踪数据后评估。"
            )
            continue
        line = (
            f"- **{md(label)}**（{md(row['口径'])}）：基数 {_n(row[BASE])} 件，方案比率 "
            f"{row[PLAN_RATE]:.0%}，{_n(row[BASE])} × {row[PLAN_RATE]:.0%} = "
            f"{row['比率×基数']:,.1f}；目标 {_n(row[GOAL])} 件（占基数 {row[RATE]:.1%}）"
        )
        if is_all(branch) and not pd.isna(row[STATED]):
            diff = int(row[STATED]) - int(row[BY_RATE])
            line += (
                f"；方案所述 {_n(row[STATED])} 件，比按比率计算的 {_n(row[BY_RATE])} 件"
                f"{'多' if diff > 0 else '少'} {_n(abs(diff))} 件，考核采用{row['考核口径']}的"
                f" {_n(row[GOAL])} 件，评估同时列出对 {_n(row[STATED] if row[GOAL] != row[STATED] else row[BY_RATE])} 件的进度"
                if diff
                else f"；与方案所述 {_n(row[STATED])} 件一致"
            )
        if is_sub_branch(branch):
            line += "；目标为本支局各网点分得件数之和"
        elif not is_all(branch):
            line += "；目标即本网点分得的件数"
        lines.append(line + "。")
    if is_sub_branch(branch):
        lines.append(
            "\n方案所述件数是全辖数字，本支局不与之直接比较；全辖目标按各网点符合条件的"
            "保单数分配（最大余数法），本支局的目标是其各网点分得件数之和（不另行分配），"
            "目标比率为该件数除以本支局基数。"
        )
    elif not is_all(branch):
        lines.append(
            "\n方案所述件数是全辖数字，本网点不与之直接比较；全辖目标按各网点符合条件的"
            "保单数分配（最大余数法），各网点之和等于全辖目标，本网点的目标比率为分得件数"
            "除以本网点基数。"
        )
    return "\n".join(lines)


def targets_view(goals: pd.DataFrame, branch: str) -> pd.DataFrame:
    """The targets table as shown: for a branch without the plan's whole-book stated counts
    (and their difference), which do not apply to one branch."""
    shown = goals.drop(columns=["方案原文"], errors="ignore")
    if not is_all(branch):
        shown = shown.drop(columns=[STATED, "差额", BY_RATE, "考核口径"], errors="ignore")
    return shown


def phases_text(phases: pd.DataFrame, period: str) -> str:
    """Which phases the report period covers and the milestones (counts) due in them."""
    start, end = period_span(period)
    months = set(range(start.month, end.month + 1)) if start.year == end.year else set(range(1, 13))
    body = _body(phases)
    targets = list(phases.columns.get_level_values(0).unique())
    lines = []
    for key, row in body.iterrows():
        first, last = (int(m) for m in key[2].rstrip("月").split("-"))
        if months & set(range(first, last + 1)):
            goals = "，".join(f"{md(t)} {_n(row[(t, GOAL)])} 件" for t in targets)
            lines.append(f"- {md(key[0])} {md(key[1])}（{md(key[2])}）：{goals}")
    head = f"报告期 {md(period)} 涉及 {len(lines)} 个阶段，各阶段按满期月份分得的目标件数："
    return "\n".join([head, *lines])


def reconciliation_text(rec: pd.DataFrame, branch: str, limit: int = 8) -> str:
    """How the plan's stated figures compare with the data, and the discrepancies explained
    (the first ``limit`` of them; the table below the text lists them all)."""
    if rec.empty:
        return "本方案文件未列示方案数字（无 [figures] 一节），不做核对。"
    counts = summary(rec)
    text = (
        f"方案所述的 {_n(len(rec))} 个数字中："
        + "，".join(f"{STATUS_LABELS[s]} {_n(counts[s])} 个" for s in STATUSES)
        + "。"
    )
    if branch != ALL:
        text = (
            f"方案的数字是全辖数字，以下核对基于全部网点的数据，不是本{unit_noun(branch)}的数字。"
            + text
        )
    wrong = rec[rec["status"] == DISCREPANCY]
    lines = [f"- {md(row.figure)}：{md(row.explanation)}" for row in wrong.head(limit).itertuples()]
    if len(wrong) > limit:
        lines.append(f"- 另有 {_n(len(wrong) - limit)} 处不一致，见下表。")
    return "\n".join([text, *(["\n不一致之处："] if lines else []), *lines])


def reconciliation_view(rec: pd.DataFrame, branch: str) -> pd.DataFrame:
    """The reconciliation as shown: every figure for the whole book; for a branch, only the
    figures that are not exact (the whole table is in the whole book's report)."""
    shown = rec if branch == ALL else rec[rec["status"] != EXACT]
    return format_reconciliation(shown).reset_index(drop=True)

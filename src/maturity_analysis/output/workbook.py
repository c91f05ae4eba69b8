"""The tables workbook: every plan table, the targets and their allocation, the risk summary,
the reconciliation, the costs and the programme, as one formatted workbook for the book or one
branch. ``tables`` and each report's ``workbook.xlsx`` are built by this one function.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import __version__
from ..analysis.actions import COMPLAINTS, NOT_CALLED, NOT_VISITED, SOON, action_lists, as_of
from ..analysis.book import ALL, branch_label, enrich, for_branch
from ..analysis.costs import cost_notes, cost_sheets
from ..analysis.evaluation import evaluate
from ..analysis.reconcile import reconciliation
from ..analysis.risk import risk_table
from ..analysis.tables import plan_tables
from ..analysis.targets import branch_targets
from ..plan.model import Plan, load_plan
from ..plan.period import parse_period
from ..plan.programme import PROGRAMME_NOTES, programme_sheets
from .display import format_reconciliation
from .excel import INTERNAL_LISTS, write_workbook
from .narrative import exceptions_view


def tables_workbook(
    policies: pd.DataFrame,
    branch: str = ALL,
    plan: Plan | None = None,
    dataset: str = "",
    complaints: pd.DataFrame | None = None,
    tracking=None,
    period: str | None = None,
    book: dict[str, pd.DataFrame] | None = None,
) -> dict[str, pd.DataFrame]:
    """Every sheet of the tables workbook for the book (``"ALL"``) or one branch.

    ``complaints`` (the 附件二 tracking frame), when given, puts the compensation actually
    paid beside the compensation estimate. ``tracking`` (every tracking frame) and ``period``
    add the evaluation (:func:`~maturity_analysis.analysis.evaluation.evaluate`, the report's
    own): the period's KPIs (评估), the year to date (年初至今) and the exceptions (例外).

    The tables, targets and risk summary are computed on the branch's policies; the
    allocation splits the whole book's targets over branches (one branch: its row) and the
    branch's share over the phases; the reconciliation is always on the whole book, since
    the plan's figures are the whole book's. ``book``: :func:`book_sheets` of the same
    ``policies``, ``plan`` and ``tracking``, when the caller keeps them (computed when not).
    """
    plan = plan or load_plan()
    book = book_sheets(policies, plan, tracking) if book is None else book
    part = for_branch(policies, branch)
    enriched = enrich(part, plan)
    goals = branch_targets(policies, branch, plan)
    about = pd.DataFrame(
        {
            "内容": [
                dataset or "—",
                branch_label(branch),
                f"{len(part):,}",
                plan.title,
                str(plan.year),
                f"maturity-analysis {__version__}",
            ]
        },
        index=pd.Index(["数据集", "网点", "保单件数", "方案", "方案年度", "生成程序"], name="项目"),
    )
    return {
        "说明": about,
        **plan_tables(enriched, plan),
        **goals,
        "风险评级": risk_table(enriched, plan),
        RECONCILIATION: book[RECONCILIATION],
        **cost_sheets(enriched, plan, complaints=complaints),
        **{name: frame for name, frame in book.items() if name != RECONCILIATION},
        **evaluation_sheets(policies, tracking, period, branch, plan),
        **action_sheets(enriched, tracking, period, branch, plan),
    }


RECONCILIATION = "核对"


def book_sheets(policies: pd.DataFrame, plan: Plan, tracking=None) -> dict[str, pd.DataFrame]:
    """The sheets every unit's workbook of a book shows alike: the reconciliation (always on
    the whole book) and the programme."""
    return {
        RECONCILIATION: format_reconciliation(reconciliation(policies, plan, tracking)).set_index(
            "指标"
        ),
        **programme_sheets(plan),
    }


def evaluation_sheets(
    policies: pd.DataFrame, tracking, period: str | None, branch: str, plan: Plan
) -> dict[str, pd.DataFrame]:
    """The evaluation as sheets of display text (empty without tracking or a period)."""
    if tracking is None or period is None:
        return {}
    result = evaluate(policies, tracking, period, branch, plan)
    return {
        "评估": result.table().set_index("KPI"),
        "年初至今": result.ytd_table().set_index("KPI"),
        "例外": exceptions_view(result.exceptions),
    }


ACTION_NOTES = {
    NOT_CALLED: "次月满期、附件一尚无回访记录的客户",
    SOON: "{soon}天内满期、尚未接通的客户",
    COMPLAINTS: "未答复且已过{open}个工作日以上的投诉（须在投诉后{answer}天内明确答复）",
    NOT_VISITED: "重点客户（保费{premium:,.0f}元以上，或风险评级{ratings}且{age}岁以上）中"
    "至下月底满期、附件一尚无上门记录的",
}


def action_sheets(
    enriched: pd.DataFrame, tracking, period: str | None, branch: str, plan: Plan
) -> dict[str, pd.DataFrame]:
    """The action lists (:func:`~maturity_analysis.analysis.actions.action_lists`) as of the
    period's last day, customers masked (empty without tracking or a period)."""
    if tracking is None or period is None:
        return {}
    return action_lists(enriched, tracking, as_of(parse_period(period, plan)), branch, plan)


def action_notes(plan: Plan, period: str) -> dict[str, list[str]]:
    """Each action sheet's lines: internal, what it lists and as of which day."""
    k = plan.actions.key_customer
    values = {
        "soon": plan.actions.soon_days,
        "open": plan.actions.complaint_open_workdays,
        "answer": plan.complaint_answer_days,
        "premium": k.min_premium,
        "ratings": "、".join(k.risk_ratings),
        "age": k.risk_min_age,
    }
    day = as_of(parse_period(period, plan))
    return {
        name: [INTERNAL_LISTS, f"截至{day}：{text.format(**values)}（客户信息已脱敏）。"]
        for name, text in ACTION_NOTES.items()
    }


def write_tables_workbook(
    policies: pd.DataFrame,
    path: str | Path,
    branch: str = ALL,
    plan: Plan | None = None,
    dataset: str = "",
    complaints: pd.DataFrame | None = None,
    tracking=None,
    period: str | None = None,
    book: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Write :func:`tables_workbook` to ``path`` (atomically) and return the path."""
    plan = plan or load_plan()
    sheets = tables_workbook(policies, branch, plan, dataset, complaints, tracking, period, book)
    notes = {
        "网点分配": [
            "目标按各网点符合条件的保单数按比例分配（最大余数法），各网点之和等于总目标。"
        ],
        "阶段分配": ["目标按保单满期月份所在阶段分配（最大余数法）。"],
        RECONCILIATION: ["方案所述数字与数据重现的对照（全部数据）；出处为方案的表格与段落。"],
        "评估": [
            "本期各项目标的结论：达标、未达标、待定（基数小，置信区间包含目标）、无数据、"
            "数据不全；件数目标为分配到本期的件数，与目标与分配表相同。"
        ],
        "年初至今": ["年初至本期末的累计结果，对照到期末应完成的目标与年度目标。"],
        "例外": ["赔付给不满50岁客户的、高龄客户转保的，逐件列出（保单号已脱敏）。"],
        **cost_notes(plan),
        **PROGRAMME_NOTES,
        **(action_notes(plan, period) if COMPLAINTS in sheets else {}),
    }
    return write_workbook(sheets, path, notes=notes, unit=branch_label(branch))

"""The tables workbook: every plan table, the targets and their allocation, the risk summary,
the reconciliation, the costs and the programme, as one formatted workbook for the book or one
branch. ``tables`` and each report's ``workbook.xlsx`` are built by this one function.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .. import __version__
from ..analysis.book import ALL, ALL_LABEL, enrich, for_branch, is_all
from ..analysis.costs import cost_notes, cost_sheets
from ..analysis.reconcile import reconciliation
from ..analysis.risk import risk_table
from ..analysis.tables import plan_tables
from ..analysis.targets import branch_targets
from ..plan.model import Plan, load_plan
from ..plan.programme import PROGRAMME_NOTES, programme_sheets
from .display import format_reconciliation
from .excel import write_workbook


def tables_workbook(
    policies: pd.DataFrame,
    branch: str = ALL,
    plan: Plan | None = None,
    dataset: str = "",
    complaints: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """Every sheet of the tables workbook for the book (``"ALL"``) or one branch.

    ``complaints`` (the 附件二 tracking frame), when given, puts the compensation actually
    paid beside the compensation estimate.

    The tables, targets and risk summary are computed on the branch's policies; the
    allocation splits the whole book's targets over branches (one branch: its row) and the
    branch's share over the phases; the reconciliation is always on the whole book, since
    the plan's figures are the whole book's.
    """
    plan = plan or load_plan()
    part = for_branch(policies, branch)
    enriched = enrich(part, plan)
    goals = branch_targets(policies, branch, plan)
    about = pd.DataFrame(
        {
            "内容": [
                dataset or "—",
                ALL_LABEL if is_all(branch) else branch,
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
        "核对": format_reconciliation(reconciliation(policies, plan)).set_index("指标"),
        **cost_sheets(enriched, plan, complaints=complaints),
        **programme_sheets(plan),
    }


def write_tables_workbook(
    policies: pd.DataFrame,
    path: str | Path,
    branch: str = ALL,
    plan: Plan | None = None,
    dataset: str = "",
    complaints: pd.DataFrame | None = None,
) -> Path:
    """Write :func:`tables_workbook` to ``path`` (atomically) and return the path."""
    sheets = tables_workbook(policies, branch, plan, dataset, complaints)
    notes = {
        "网点分配": [
            "目标按各网点符合条件的保单数按比例分配（最大余数法），各网点之和等于总目标。"
        ],
        "阶段分配": ["目标按保单满期月份所在阶段分配（最大余数法）。"],
        "核对": ["方案所述数字与数据重现的对照（全部数据）；出处见 PLAN_FIGURES.md。"],
        **cost_notes(plan),
        **PROGRAMME_NOTES,
    }
    return write_workbook(sheets, path, notes=notes, unit=ALL_LABEL if is_all(branch) else branch)

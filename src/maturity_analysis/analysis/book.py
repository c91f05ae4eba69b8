"""The book and its units: ``ALL`` (the whole book), one branch's policies, the names a
reader knows them by, and the per-policy enrichment every report uses.

``ALL`` is the one spelling of "the whole book" in code; a reader sees 全部网点. A branch is
checked in one place, :func:`for_branch`, which names the known codes when it is wrong.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import MaturityDataError
from ..ingest.dataset import stored_derived
from ..plan.model import Plan, load_plan
from .risk import rate_risk
from .yields import YIELD_COLUMNS, add_yields

ALL = "ALL"
DERIVED_COLUMNS = (*YIELD_COLUMNS, "risk_points", "risk_rating", "risk_reasons")
"""The columns :func:`enrich` adds."""
ALL_LABEL = "全部网点"


def is_all(branch: object) -> bool:
    """Whether ``branch`` names the whole book.

    >>> is_all("ALL"), is_all("4203")
    (True, False)
    """
    return str(branch) == ALL


def branch_label(branch: str, name: str | None = None) -> str:
    """The unit as a reader knows it: 全部网点 for ``ALL``, else ``name（code）`` (or the code).

    >>> branch_label("ALL"), branch_label("4203", "城关网点"), branch_label("4203")
    ('全部网点', '城关网点（4203）', '4203')
    """
    if is_all(branch):
        return ALL_LABEL
    return f"{name}（{branch}）" if name and name != branch else str(branch)


def check_branches(wanted, known) -> None:
    """The one branch check: every code in ``wanted`` is ``ALL`` or one of ``known``.

    Raises
    ------
    MaturityDataError
        Naming the unknown codes and (the first 20 of) the known ones.
    """
    known = [str(k) for k in known]
    unknown = [str(b) for b in wanted if not is_all(b) and str(b) not in set(known)]
    if unknown:
        named = ", ".join(f"'{u}'" for u in unknown)
        shown = ", ".join(sorted(known)[:20])
        raise MaturityDataError(f"branch {named}: no policies with this 网点代码 (known: {shown})")


def for_branch(policies: pd.DataFrame, branch: str = ALL) -> pd.DataFrame:
    """The policies of one branch (``branch_code``); ``"ALL"`` keeps the whole book.

    Raises
    ------
    MaturityDataError
        When no policy has that branch code.
    """
    if is_all(branch):
        return policies.copy(deep=False)
    mask = policies["branch_code"] == branch
    if not mask.any():
        check_branches([branch], policies["branch_code"].dropna().astype(str).unique())
    return policies.loc[mask].copy(deep=False)


def enrich(policies: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """Policies with the yield columns (:func:`~maturity_analysis.analysis.yields.add_yields`) and the
    risk columns (:func:`~maturity_analysis.analysis.risk.rate_risk`) added; the input is not changed.

    The columns ``prepare`` stored are used as they are when they were computed for these rows
    under ``plan`` (:func:`~maturity_analysis.ingest.dataset.stored_derived`)."""
    plan = plan or load_plan()
    if set(DERIVED_COLUMNS) <= set(policies.columns) and stored_derived(policies, plan):
        return policies.copy(deep=False)
    return rate_risk(add_yields(policies), plan)


RANK_ROW = "件数排名/网点数"
STANDING_ROWS = (
    "满期保单(件)",
    "占全辖件数",
    "件均保费(元)",
    "万能险占比",
    "满期时50岁以上占比",
    "分红险低于存款占比",
    "高风险(A级)占比",
)


def _standing(policies: pd.DataFrame, book_size: int, plan: Plan) -> list[float]:
    held = policies["product_type"].isin(plan.tracking.hold_products).to_numpy(dtype=bool)
    beats = policies["beats_deposit"].astype("boolean")[~held]
    n = len(policies)
    return [
        n,
        n / book_size if book_size else np.nan,
        policies["premium"].astype(float).mean() if n else np.nan,
        held.mean() if n else np.nan,
        (policies["age"].astype("Float64") >= plan.compensation_min_age).mean() if n else np.nan,
        (~beats.dropna()).mean() if beats.notna().any() else np.nan,
        (policies["risk_rating"].astype(object) == "A").mean() if n else np.nan,
    ]


def standing_table(book: pd.DataFrame, branch: str, plan: Plan | None = None) -> pd.DataFrame:
    """Where a branch stands against the whole book: :data:`STANDING_ROWS` for 本网点 and 全辖.

    ``book`` is the whole book with the yield and risk columns
    (:func:`maturity_analysis.analysis.book.enrich`); ``branch`` a branch code, or ``ALL`` for
    the 全辖 column alone. A last row ``件数排名/网点数`` gives the branch's rank by policy
    count (1 = most) and, under 全辖, the number of branches.
    """
    plan = plan or load_plan()
    counts = book["branch_code"].astype(str).value_counts()
    columns = {"全辖": [*_standing(book, len(book), plan), len(counts)]}
    if not is_all(branch):
        mine = book[book["branch_code"].astype(str) == str(branch)]
        rank = int((counts > counts.get(str(branch), 0)).sum()) + 1
        columns = {"本网点": [*_standing(mine, len(book), plan), rank], **columns}
    return pd.DataFrame(columns, index=pd.Index([*STANDING_ROWS, RANK_ROW], name="指标"))

"""The book and its units: ``ALL`` (the whole book), one branch's policies, the names a
reader knows them by, and the per-policy enrichment every report uses.

``ALL`` is the one spelling of "the whole book" in code; a reader sees 全部网点. A branch is
checked in one place, :func:`for_branch`, which names the known codes when it is wrong.
"""

from __future__ import annotations

import pandas as pd

from ..exceptions import MaturityDataError
from ..plan.model import Plan
from .risk import rate_risk
from .yields import add_yields

ALL = "ALL"
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
    risk columns (:func:`~maturity_analysis.analysis.risk.rate_risk`) added; the input is not changed."""
    return rate_risk(add_yields(policies), plan)

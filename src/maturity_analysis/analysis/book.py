"""The book and its units: ``ALL`` (the whole book), a 支局's or one branch's policies, the
names a reader knows them by, and the per-policy enrichment every report uses.

Report units are three levels, each spelt as one string (a notebook's ``branch`` parameter, a
job's unit): ``ALL`` (全辖; a reader sees 全部网点), a 支局 as ``"支局:<name>"``
(:func:`sub_branch_unit`; a reader sees its name) and a branch as its 网点代码. A 支局 is a
group of whole branches: each branch belongs to the 支局 most of its policies name
(``sub_branch``; a tie goes to the first name in sort order, a branch naming none belongs to no
支局), so a 支局's book, counts and targets are exactly the sums of its branches'. The 支局
spelling can never be taken for a branch code: a book with a branch code that starts with
``支局:`` (like one coded ``ALL``) is refused where units are resolved (:func:`unit_branches`).
A unit is checked in one place, :func:`for_branch`, which names the known ones when it is wrong.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..exceptions import MaturityDataError
from ..ingest.dataset import stored_derived
from ..ingest.forms import KINDS, Tracking
from ..plan.model import Plan, load_plan
from .lookup import as_text, member
from .risk import rate_risk
from .yields import YIELD_COLUMNS, add_yields

ALL = "ALL"
DERIVED_COLUMNS = (*YIELD_COLUMNS, "risk_points", "risk_rating", "risk_reasons")
"""The columns :func:`enrich` adds."""
ALL_LABEL = "全部网点"
SUB_BRANCH = "支局:"  # the prefix of a 支局 unit
LEVELS = ("all", "sub_branch", "branch")
LEVEL_NOUNS = {"all": "全辖", "sub_branch": "支局", "branch": "网点"}


def is_all(branch: object) -> bool:
    """Whether ``branch`` names the whole book.

    >>> is_all("ALL"), is_all("4203")
    (True, False)
    """
    return str(branch) == ALL


def sub_branch_unit(name: object) -> str:
    """The unit of the 支局 ``name``.

    >>> sub_branch_unit("城关支局")
    '支局:城关支局'
    """
    return f"{SUB_BRANCH}{name}"


def is_sub_branch(unit: object) -> bool:
    """Whether ``unit`` names a 支局 (:func:`sub_branch_unit`)."""
    return str(unit).startswith(SUB_BRANCH)


def sub_branch_name(unit: object) -> str:
    """The 支局's name in a 支局 unit.

    >>> sub_branch_name("支局:城关支局")
    '城关支局'
    """
    return str(unit).removeprefix(SUB_BRANCH)


def unit_level(unit: object) -> str:
    """``"all"``, ``"sub_branch"`` or ``"branch"`` (:data:`LEVELS`)."""
    return "all" if is_all(unit) else "sub_branch" if is_sub_branch(unit) else "branch"


def unit_noun(unit: object) -> str:
    """What a reader calls the unit's level: 全辖, 支局 or 网点."""
    return LEVEL_NOUNS[unit_level(unit)]


def branch_label(branch: str, name: str | None = None) -> str:
    """The unit as a reader knows it: 全部网点 for ``ALL``, a 支局's name, else ``name（code）``
    (or the code).

    >>> branch_label("ALL"), branch_label("4203", "城关网点"), branch_label("4203")
    ('全部网点', '城关网点（4203）', '4203')
    >>> branch_label("支局:城关支局")
    '城关支局'
    """
    if is_all(branch):
        return ALL_LABEL
    if is_sub_branch(branch):
        return sub_branch_name(branch)
    return f"{name}（{branch}）" if name and name != branch else str(branch)


def check_branches(wanted, known, sub_branches=()) -> None:
    """The one unit check: every unit in ``wanted`` is ``ALL``, one of the branch codes
    ``known`` or a 支局 unit of one of the names ``sub_branches``.

    Raises
    ------
    MaturityDataError
        Naming the unknown units and (the first 20 of) the known ones.
    """
    known = {str(k) for k in known}
    subs = {str(s) for s in sub_branches}

    def found(unit: str) -> bool:
        if is_sub_branch(unit):
            return sub_branch_name(unit) in subs
        return is_all(unit) or unit in known

    unknown = [str(b) for b in wanted if not found(str(b))]
    branches = [u for u in unknown if not is_sub_branch(u)]
    if branches:
        named = ", ".join(f"'{u}'" for u in branches)
        shown = ", ".join(sorted(known)[:20])
        raise MaturityDataError(f"branch {named}: no policies with this 网点代码 (known: {shown})")
    if unknown:
        named = ", ".join(f"'{sub_branch_name(u)}'" for u in unknown)
        shown = ", ".join(sorted(subs)[:20]) or "none"
        raise MaturityDataError(f"支局 {named}: no branch belongs to this 支局 (支局: {shown})")


def branch_names(policies: pd.DataFrame) -> pd.Series:
    """Branch code → name for every branch in the data, by code: each branch's first row's
    name, blank when that row has none."""
    codes = as_text(policies["branch_code"])
    names = policies.get("branch_name", pd.Series("", index=policies.index))
    return names.groupby(codes, sort=True).first(skipna=False).astype(str).fillna("")


def branch_codes(policies: pd.DataFrame) -> pd.Series:
    """The distinct branch codes, as text, in order of first appearance (found on the column
    as stored, categories included, then spelt out)."""
    return pd.Series(policies["branch_code"].dropna().unique()).astype(str)


def _checked_codes(policies: pd.DataFrame) -> pd.Series:
    """:func:`branch_codes`, none of which may start with the 支局 prefix (it would read as a
    支局): :class:`MaturityDataError` naming them."""
    codes = branch_codes(policies)
    clash = sorted(c for c in codes if is_sub_branch(c))
    if clash:
        raise MaturityDataError(
            f"branch {', '.join(repr(c) for c in clash[:5])}: a 网点代码 may not start with "
            f"'{SUB_BRANCH}', which names a 支局"
        )
    return codes


def branch_sub_branches(policies: pd.DataFrame) -> pd.Series:
    """Branch code → the 支局 it belongs to (the name most of its policies give; a tie: the
    first in sort order), by code; branches whose policies name no 支局 are left out.

    Raises
    ------
    MaturityDataError
        When a branch code starts with the 支局 prefix (it would read as a 支局).
    """
    _checked_codes(policies)
    if "sub_branch" not in policies.columns:
        return pd.Series(
            [], index=pd.Index([], name="branch_code"), dtype=object, name="sub_branch"
        )
    # counted on the columns as stored (categories: their codes), then spelt out
    pairs = policies[["branch_code", "sub_branch"]]
    counts = pairs.groupby(["branch_code", "sub_branch"], observed=True, sort=False).size()
    counts = counts.rename("n").reset_index()
    counts = counts.assign(
        branch_code=as_text(counts["branch_code"]),
        sub_branch=counts["sub_branch"].astype(object).astype(str),
    )
    counts = counts[counts["sub_branch"].str.strip() != ""]
    counts = counts.groupby(["branch_code", "sub_branch"], as_index=False, sort=False)["n"].sum()
    counts = counts.sort_values(["branch_code", "n", "sub_branch"], ascending=[True, False, True])
    return counts.drop_duplicates("branch_code").set_index("branch_code")["sub_branch"]


def unit_branches(policies: pd.DataFrame, unit: str = ALL) -> list[str] | None:
    """The branch codes of ``unit``, by code; ``None`` for ``ALL`` (every policy, whatever its
    branch).

    Raises
    ------
    MaturityDataError
        An unknown branch or 支局 (:func:`check_branches`), or a branch code that reads as a
        支局 (:func:`_checked_codes`).
    """
    codes = _checked_codes(policies)
    if is_all(unit):
        return None
    if not is_sub_branch(unit):  # a branch: no need of the 支局 each branch belongs to
        check_branches([unit], codes)
        return [str(unit)]
    members = branch_sub_branches(policies)
    check_branches([unit], codes, set(members))
    return sorted(members.index[members == sub_branch_name(unit)])


def compared_branches(policies: pd.DataFrame, unit: str = ALL) -> list[str] | None:
    """The branch codes a unit's report compares (its charts and league of branches), by code:
    a 支局's own branches; a branch's, those of its 支局 (the rows its 支局's report shows,
    itself among them), so that a branch's report stays the same size however many branches
    the area has; ``None`` (every branch) for ``ALL`` and for a branch that names no 支局.

    Raises
    ------
    MaturityDataError
        As :func:`unit_branches`.
    """
    if is_all(unit) or is_sub_branch(unit):
        return unit_branches(policies, unit)
    members = branch_sub_branches(policies)
    check_branches([unit], branch_codes(policies), set(members))
    own = members.get(str(unit))
    return None if own is None else sorted(members.index[members == own])


def in_branches(frame: pd.DataFrame, codes) -> np.ndarray:
    """Which rows of ``frame`` have a ``branch_code`` (as text) among ``codes``: on the
    categories of a categorical of text (the policies'), each row's code looked up."""
    column = frame["branch_code"]
    kind = column.dtype
    if isinstance(kind, pd.CategoricalDtype):
        kind = kind.categories.dtype
    if not isinstance(kind, pd.StringDtype):
        column = column.astype(str)
    return member(column, codes)


def for_branch(policies: pd.DataFrame, branch: str = ALL) -> pd.DataFrame:
    """The policies of one unit: a branch (``branch_code``), a 支局 (its branches, see the
    module docstring) or ``"ALL"`` (the whole book).

    Raises
    ------
    MaturityDataError
        When no policy has that branch code (or no branch belongs to that 支局).
    """
    if is_all(branch):
        return policies.copy(deep=False)
    if is_sub_branch(branch):
        codes = unit_branches(policies, branch)
        return policies.loc[in_branches(policies, codes)].copy(deep=False)
    mask = policies["branch_code"] == branch
    if not mask.any():
        check_branches([branch], branch_codes(policies))
    return policies.loc[mask].copy(deep=False)


def unit_tracking(part: pd.DataFrame, tracking: Tracking) -> Tracking:
    """The tracking rows of a unit's policies ``part`` (:func:`for_branch`): complaints and
    work logs of its branches (a 支局's: its branches'), calls and outcomes of its policies."""
    codes, policies = as_text(part["branch_code"]), part["policy_no"]

    def ours(kind: str) -> pd.DataFrame:
        frame = tracking[kind]
        if kind in ("calls", "outcomes"):
            return frame[member(frame["policy_no"], policies)]
        return frame[in_branches(frame, codes)]

    return Tracking(**{kind: ours(kind) for kind in KINDS})


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
    """Where a unit stands against the whole book: :data:`STANDING_ROWS` for 本网点 (or 本支局)
    and 全辖.

    ``book`` is the whole book with the yield and risk columns
    (:func:`maturity_analysis.analysis.book.enrich`); ``branch`` a unit, ``ALL`` for the 全辖
    column alone. A last row ``件数排名/网点数`` gives the unit's rank by policy count (1 = most)
    among the units of its level and, under 全辖, the number of those units (branches, or 支局
    for a 支局).
    """
    plan = plan or load_plan()
    codes = as_text(book["branch_code"])
    if is_sub_branch(branch):
        codes = codes.map(branch_sub_branches(book)).dropna().map(sub_branch_unit)
    counts = codes.value_counts()
    columns = {"全辖": [*_standing(book, len(book), plan), len(counts)]}
    if not is_all(branch):
        mine = for_branch(book, branch)
        rank = int((counts > counts.get(str(branch), 0)).sum()) + 1
        columns = {f"本{unit_noun(branch)}": [*_standing(mine, len(book), plan), rank], **columns}
    return pd.DataFrame(columns, index=pd.Index([*STANDING_ROWS, RANK_ROW], name="指标"))

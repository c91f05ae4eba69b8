"""The run's ``index.html``: one row per unit with reports on disk for the period (its key
figures, links and whether each report is current) as a tree 全辖 → 支局 → 网点, each row
linking down to the rows of its 支局 or 网点; the league tables of the 支局 and the 网点
(:mod:`~maturity_analysis.analysis.league`), then failures.

The page is the Jinja2 template ``templates/index.html.j2`` (autoescaped: every name, code,
dataset and error shows as text); it reads on a phone: a viewport, tables that scroll in their
own box, numbers right-aligned with thousands separators.
"""

from __future__ import annotations

import json
import numbers
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

import jinja2
import markupsafe
import numpy as np
import pandas as pd

from .. import __version__
from ..analysis.book import (
    ALL,
    ALL_LABEL,
    branch_names,
    branch_sub_branches,
    is_all,
    is_sub_branch,
    sub_branch_name,
    sub_branch_unit,
    unit_level,
)
from ..analysis.evaluation import MET, NOT_MET, PENDING, by_branch, by_sub_branch
from ..analysis.kpis import INCOMPLETE, NO_DATA
from ..analysis.league import Leagues, unit_leagues
from ..analysis.targets import GOAL, TOTAL, allocate_branches, allocate_sub_branches
from .jobs import NOTEBOOK, Job, RunResult, find_notebooks, plan_jobs, unit_folder, unit_names

NAME, POLICIES = "网点名称", "保单件数"
PRODUCTS = ("分红", "万能")


def branch_figures(policies: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Per unit (``ALL``, each 支局, each branch code): name, policies, 分红, 万能 and each
    target's count (a 支局's: the sums of its branches').

    Returns the figures and notes on what could not be computed (the index is written anyway).
    """
    code = policies["branch_code"].astype(str)
    frame = pd.DataFrame({NAME: branch_names(policies), POLICIES: code.value_counts()})
    products = pd.crosstab(code, policies["product_type"]).reindex(columns=PRODUCTS, fill_value=0)
    frame = frame.join(products)
    members = branch_sub_branches(policies)
    subs = frame.loc[members.index].groupby(members.to_numpy()).sum(numeric_only=True)
    subs.index = subs.index.map(sub_branch_unit)
    subs.insert(0, NAME, [sub_branch_name(u) for u in subs.index])
    frame = pd.concat([subs, frame])
    total = {
        NAME: ALL_LABEL,
        POLICIES: len(policies),
        **{p: int((policies["product_type"] == p).sum()) for p in PRODUCTS},
    }
    frame = pd.concat([pd.DataFrame(total, index=[ALL]), frame])
    notes = []
    try:
        allocated = allocate_branches(policies).xs(GOAL, axis=1, level=1)
        allocated.index = allocated.index.get_level_values(0).map(
            lambda c: ALL if c == TOTAL else str(c)
        )
        by_sub = allocate_sub_branches(policies).xs(GOAL, axis=1, level=1)
        by_sub = by_sub.drop(index=TOTAL)
        by_sub.index = by_sub.index.map(sub_branch_unit)
        frame = frame.join(pd.concat([allocated, by_sub]).add_prefix("目标·"))
    except Exception as exc:  # noqa: BLE001 - the index is written without the targets
        notes.append(f"index: targets not shown ({type(exc).__name__}: {exc})")
    return frame, notes


# What the index says of each report file on disk.
BUILT, UP_TO_DATE, FAILED = "本次新建", "未变", "失败"
CURRENT, STALE = "未在本次运行：与当前输入一致", "过期"
OUTPUT_SUFFIXES = (".html", ".xlsx")


@dataclass(frozen=True)
class Report:
    """One report of a unit as the index shows it: a link (when on disk) and its state."""

    label: str
    href: str | None
    state: str
    built: str = ""


@dataclass
class UnitRow:
    """One row of the index: a unit and its reports on disk (or in this run). ``known`` is
    False for a folder left by an earlier run whose unit is not in the current data."""

    code: str
    known: bool = True
    figures: dict = field(default_factory=dict)
    reports: list[Report] = field(default_factory=list)
    depth: int = 0  # 0 全辖, 1 a 支局 (or a branch of no 支局 shown), 2 a branch under its 支局
    children: list[tuple[str, str]] = field(default_factory=list)  # (anchor, label) of rows below

    @property
    def anchor(self) -> str:
        """The row's id in the page, for the links down to it."""
        return f"u-{unit_folder(self.code)}"

    @property
    def level(self) -> str:
        """``all``, ``sub_branch`` or ``branch`` (a folder of an unknown unit: ``branch``)."""
        return unit_level(self.code)

    @property
    def shown(self) -> str:
        """What the first cell says: the code (ALL, a branch's), a 支局's name."""
        return sub_branch_name(self.code) if is_sub_branch(self.code) else self.code

    @property
    def stale(self) -> bool:
        """Whether any report of the unit on disk was not built from the current inputs."""
        return any(r.state == STALE for r in self.reports)


def _stamp_time(job: Job) -> str:
    try:
        return str(json.loads(job.stamp.read_text(encoding="utf-8")).get("built", ""))
    except (OSError, ValueError, AttributeError):
        return ""


def _every_unit_jobs(result: RunResult, policies: pd.DataFrame, period: str) -> list[Job]:
    """The jobs a run of every unit would plan with this run's dataset and parameters, for its
    notebooks and those beside them: what each report on disk is checked against."""
    if not result.jobs:
        return []
    run = [j.notebook for j in result.jobs if j.kind == NOTEBOOK]
    beside = [
        nb for folder in dict.fromkeys(nb.parent for nb in run) for nb in find_notebooks(folder)
    ]
    notebooks = list(dict.fromkeys([*run, *beside]))
    first = next((j for j in result.jobs if j.kind == NOTEBOOK), result.jobs[0])
    extra = {k: v for k, v in first.parameters.items() if k not in ("dataset", "branch", "period")}
    units = {ALL: ALL_LABEL, **unit_names(policies)}
    return plan_jobs(first.dataset, period, units, notebooks, result.out_dir, extra)


def _state(job: Job, result: RunResult) -> str | None:
    """What the index says of ``job``'s output, None when it is neither on disk nor failed."""
    if any(r.job.output == job.output for r in result.failed):
        return FAILED
    if any(r.job.output == job.output for r in result.built):
        return BUILT
    if not job.output.exists():
        return None
    if any(j.output == job.output for j in result.up_to_date):
        return UP_TO_DATE
    return CURRENT if job.up_to_date() else STALE


def unit_rows(result: RunResult, policies: pd.DataFrame, period: str) -> list[UnitRow]:
    """Every unit with a report of this period on disk or in this run, in report order, then
    the folders of units the current data no longer has.

    A report this run built, found up to date or failed says so; one this run did not plan (a
    narrower ``--branch`` run) is checked against the key the current inputs give it: the same
    key is :data:`CURRENT`, another (other data, plan, notebook or package) is :data:`STALE`, as
    is every report on disk that no job of the current data and notebooks makes. Rows know
    their place in the tree 全辖 → 支局 → 网点 (``depth``, ``children``).
    """
    rows: dict[str, UnitRow] = {}
    folders: dict[Path, UnitRow] = {}
    seen: set[Path] = set()
    for job in [*_every_unit_jobs(result, policies, period), *result.jobs]:
        row = rows.setdefault(job.branch, UnitRow(job.branch))
        folders.setdefault(job.output.parent, row)
        if job.output in seen:
            continue
        seen.add(job.output)
        state = _state(job, result)
        if state is None:
            continue
        label = job.title if job.kind == NOTEBOOK else "工作簿 (Excel)"
        href = None if state == FAILED else job.output.relative_to(result.out_dir).as_posix()
        built = _stamp_time(job) if state in (CURRENT, STALE) else ""
        row.reports.append(Report(label, href, state, built))
    for path in sorted(Path(result.out_dir).resolve().glob("*/*")):
        if path.suffix not in OUTPUT_SUFFIXES or not path.is_file() or path in seen:
            continue
        if path.parent not in folders:
            folders[path.parent] = rows[f"folder:{path.parent.name}"] = UnitRow(
                path.parent.name, known=False
            )
        href = f"{path.parent.name}/{path.name}"
        folders[path.parent].reports.append(Report(path.stem, href, STALE))
    shown = [row for row in sorted(rows.values(), key=lambda r: not r.known) if row.reports]
    return _tree(shown, policies)


def _tree(rows: list[UnitRow], policies: pd.DataFrame) -> list[UnitRow]:
    """Each row's depth and links down: a branch hangs under its 支局's row (when shown), a 支局
    and a branch without its 支局 shown under 全辖's row; rows keep their (report) order."""
    members = branch_sub_branches(policies)
    names = unit_names(policies)
    present = {row.code: row for row in rows if row.known}
    for row in rows:
        if not row.known or is_all(row.code):
            continue
        parent = ALL
        if not is_sub_branch(row.code) and row.code in members.index:
            parent = sub_branch_unit(members[row.code])
        if parent not in present:
            parent = ALL
        row.depth = 1 if is_all(parent) else 2
        if parent in present:
            present[parent].children.append((row.anchor, names.get(row.code) or row.shown))
    return rows


def _is_number(value: object) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and pd.notna(value)
    )


def number(value: object) -> str:
    """A figure as the index shows it: thousands separators, whole numbers without decimals
    (numpy's integers and floats too); anything else as text.

    >>> number(np.int64(36823)), number(1234.5), number(float("nan")), number("x")
    ('36,823', '1,234.50', '—', 'x')
    """
    if _is_number(value):
        return f"{int(value):,}" if float(value).is_integer() else f"{float(value):,.2f}"
    return "—" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


@cache
def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("maturity_analysis.reports", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["number"] = number
    env.tests["number"] = _is_number
    return env


# The league tables' verdicts, by the names the index's legend explains them.
VERDICTS = {
    "met": MET,
    "not_met": NOT_MET,
    "pending": PENDING,
    "no_data": NO_DATA,
    "incomplete": INCOMPLETE,
}


def kpi_leagues(
    policies: pd.DataFrame,
    tracking,
    period: str,
    plan=None,
    summaries: Callable[[str], pd.DataFrame] | None = None,
) -> Leagues | None:
    """The league tables of the 支局 and the 网点 for ``period`` (each unit's actual, target,
    达成率, verdict and rank per plan target), ``None`` when the dataset has no tracking data
    (nothing to evaluate). ``summaries(level)``: every branch's (``"branch"``) or every 支局's
    (``"sub_branch"``) summary where they are kept (default: computed here)."""
    if all(tracking[k].empty for k in ("calls", "complaints", "worklog", "outcomes")):
        return None
    if summaries is None:
        branches = by_branch(policies, tracking, period, plan)
        subs = by_sub_branch(policies, tracking, period, plan)
    else:
        branches, subs = summaries("branch"), summaries("sub_branch")
    return unit_leagues(branches, subs, policies, ALL, plan)


def render_index(
    result: RunResult,
    policies: pd.DataFrame,
    dataset: str,
    period: str,
    kpis: Leagues | None = None,
) -> tuple[str, list[str]]:
    """The index page's HTML (with ``kpis`` from :func:`kpi_leagues` when given) and the notes
    on anything left out of it. Every unit with reports of ``period`` on disk has a row
    (:func:`unit_rows`), its stale reports marked."""
    figures, notes = branch_figures(policies)
    rows = unit_rows(result, policies, period)
    for row in rows:
        if row.known and row.code in figures.index:
            row.figures = figures.loc[row.code].to_dict()
    failed = [
        {
            "job": r.job.name,
            "cell": r.error.cell,
            "source": r.error.cell_source,
            "error": f"{r.error.error}: {r.error.message}",
            "diagnosis": r.job.failed_notebook.relative_to(result.out_dir).as_posix()
            if r.job.failed_notebook.exists()
            else None,
        }
        for r in result.failed
    ]
    html = (
        _templates()
        .get_template("index.html.j2")
        .render(
            dataset=dataset,
            period=period,
            version=__version__,
            generated=datetime.now().astimezone().isoformat(timespec="seconds"),
            result=result,
            columns=list(figures.columns),
            rows=rows,
            all_code=ALL,
            stale=STALE,
            failed=failed,
            leagues=None if kpis is None else [markupsafe.Markup(t.to_html()) for t in kpis.tables],
            **VERDICTS,
            stale_count=sum(row.stale for row in rows),
        )
    )
    return html, notes

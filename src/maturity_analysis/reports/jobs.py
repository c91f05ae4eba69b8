"""Report jobs: what one output is (a notebook for a unit, or its workbook), the keys that
say when it is up to date, the results, and the planning of a run's jobs.

A job's key hashes everything its output depends on: the notebook, the parameters, the
dataset's inputs (their SHA-256), the plan and the whole package's source. A job whose stamp
holds the same key is up to date.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import __version__, config
from ..analysis.book import (
    ALL,
    ALL_LABEL,
    branch_label,
    branch_names,
    branch_sub_branches,
    check_branches,
    is_all,
    is_sub_branch,
    sub_branch_name,
    sub_branch_unit,
    unit_level,
)
from ..files import package_fingerprint
from ..plan.model import load_plan
from ..plan.period import period_kind, report_period

NOTEBOOK = "notebook"
WORKBOOK = "workbook"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
METADATA_KEY = "maturity_analysis"
WORKBOOK_NAME = "workbook.xlsx"
RUN_RECORD = "run.json"
# Parameters that say where the data is, not what it is (its inputs' SHA-256 are keyed).
# The plan file is keyed by its content (``plan`` in every key), not by its path.
UNKEYED = frozenset({"processed_dir", "plan_file"})


@dataclass(frozen=True)
class Dataset:
    """Where a prepared dataset lives and what it was made from (for footers and keys)."""

    name: str
    policies: Path
    inputs: tuple[tuple[str, str], ...] = ()
    plan: Path = config.PLAN_FILE  # the plan file in force
    plan_name: str = ""  # how the footers name it (its label and SHA-256)


@dataclass(frozen=True)
class Job:
    """One output of a run: a notebook rendered for a unit, or a unit's workbook. ``branch``
    is the unit (``ALL``, a 支局 unit ``支局:<name>`` or a branch code, see
    :mod:`~maturity_analysis.analysis.book`)."""

    kind: str
    branch: str
    branch_name: str
    output: Path
    key: str
    dataset: Dataset
    parameters: dict = field(default_factory=dict)
    notebook: Path | None = None
    title: str = ""

    @property
    def name(self) -> str:
        """``<branch>/<output file>``, how summaries and the index refer to the job."""
        return f"{self.branch}/{self.output.name}"

    @property
    def branch_label(self) -> str:
        """The unit as a reader knows it: ``name（code）``, a 支局's name, or 全部网点 for ``ALL``."""
        return branch_label(self.branch, self.branch_name)

    @property
    def executed(self) -> Path:
        """The executed notebook kept beside the HTML for audit."""
        return self.output.with_suffix(".ipynb")

    @property
    def failed_notebook(self) -> Path:
        """Where the executed notebook of a failed run is kept, for diagnosis."""
        return self.output.with_suffix(".failed.ipynb")

    @property
    def stamp(self) -> Path:
        """Sidecar recording the key of the inputs the outputs were built from."""
        return self.output.with_name(f".{self.output.name}.key")

    @property
    def finished_outputs(self) -> tuple[Path, ...]:
        """The files that exist only when the job succeeded."""
        extra = (self.executed,) if self.kind == NOTEBOOK else ()
        return (self.output, *extra, self.stamp)

    def up_to_date(self) -> bool:
        """Whether every output exists and was built from inputs with this job's key."""
        if not all(p.exists() for p in self.finished_outputs):
            return False
        try:
            return json.loads(self.stamp.read_text(encoding="utf-8"))["key"] == self.key
        except (OSError, ValueError, KeyError):
            return False


@dataclass(frozen=True)
class JobError:
    """Why a job failed: the cell (1-based, as numbered in the notebook file) and the error."""

    error: str
    message: str
    cell: int | None = None
    cell_source: str = ""
    traceback: str = ""

    def describe(self) -> str:
        """One line: where and what."""
        where = f"cell {self.cell} ({self.cell_source}): " if self.cell is not None else ""
        return f"{where}{self.error}: {self.message}"


@dataclass(frozen=True)
class JobResult:
    """The outcome of one job; ``error`` is None when it succeeded."""

    job: Job
    seconds: float
    error: JobError | None = None
    size: int = 0

    @property
    def ok(self) -> bool:
        """Whether the job succeeded."""
        return self.error is None


@dataclass
class RunResult:
    """What a run planned, built, skipped and where its index is."""

    out_dir: Path
    index: Path
    jobs: list[Job]
    results: list[JobResult]
    up_to_date: list[Job]
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[JobResult]:
        """The results of the jobs that failed."""
        return [r for r in self.results if not r.ok]

    @property
    def built(self) -> list[JobResult]:
        """The results of the jobs that were (re)built."""
        return [r for r in self.results if r.ok]

    @property
    def ok(self) -> bool:
        """Whether nothing failed."""
        return not self.failed

    def summary(self) -> str:
        """A few lines: counts, then one line per failure (job, cell, error)."""
        lines = [
            f"{self.out_dir}: {len(self.built)} built, {len(self.up_to_date)} up to date, "
            f"{len(self.failed)} failed ({len(self.jobs)} jobs, {self.seconds:.1f} s)"
        ]
        lines += [f"  FAILED {r.job.name}: {r.error.describe()}" for r in self.failed]
        lines += [f"  note: {note}" for note in self.notes]
        lines.append(f"index: {self.index}")
        return "\n".join(lines)


def find_notebooks(folder: Path | None = None) -> list[Path]:
    """The report notebooks of ``folder`` (default ``notebooks/``) in reading order
    (``NN_name.ipynb``)."""
    return sorted(Path(folder or config.NOTEBOOKS_DIR).glob(NOTEBOOK_GLOB))


def notebook_title(nb: Mapping, default: str) -> str:
    r"""A notebook's ``metadata.title``, else its first Markdown heading, else ``default``.

    ``nb`` is the notebook's JSON (a dict) or an ``nbformat`` node.

    >>> cells = [{"cell_type": "markdown", "source": ["说明\n", "# 组合结构\n"]}]
    >>> notebook_title({"metadata": {}, "cells": cells}, "01_x")
    '组合结构'
    """
    if nb.get("metadata", {}).get("title"):
        return str(nb["metadata"]["title"])
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        source = cell.get("source", "")
        for line in ("".join(source) if isinstance(source, list) else source).splitlines():
            if line.startswith("#"):
                return line.lstrip("#").strip()
    return default


def applies_to(nb: Mapping, period: str, unit: str = ALL) -> bool:
    """Whether a notebook is made for ``period`` and for ``unit``'s level.

    A notebook may restrict itself in its metadata, e.g. a quarterly evaluation:
    ``"maturity_analysis": {"periods": ["quarter", "month"]}``, or one for branches only:
    ``{"levels": ["branch"]}`` (of ``all``, ``sub_branch``, ``branch``); by default it applies
    to all.
    """
    meta = nb.get("metadata", {}).get(METADATA_KEY, {})
    kinds, levels = meta.get("periods"), meta.get("levels")
    return (kinds is None or period_kind(period) in kinds) and (
        levels is None or unit_level(unit) in levels
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def job_key(**parts: object) -> str:
    """SHA-256 of the JSON of ``parts`` (keys sorted): equal inputs, equal key."""
    return _sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode())


_PLAIN = re.compile(r"[0-9A-Z][0-9A-Z_-]{0,63}")
_UNSAFE = re.compile(r"[^0-9A-Za-z_\-\u3400-\u4dbf\u4e00-\u9fff]")
_RESERVED = frozenset(
    "CON PRN AUX NUL COM1 COM2 COM3 COM4 COM5 COM6 COM7 COM8 COM9 "
    "LPT1 LPT2 LPT3 LPT4 LPT5 LPT6 LPT7 LPT8 LPT9".split()
)
SAFE_LENGTH = 40


def unit_folder(code: str) -> str:
    """The folder name of a report unit: its code when plain, else a safe name + short hash.

    Units are distinct strings (``ALL``, ``支局:<name>``, branch codes, which may not start with
    ``支局:``), so their folders are distinct: a 支局's is ``支局_<name>~<hash>``.

    A plain code (upper-case letters, digits, ``_`` and ``-``, at most 64 characters, not a
    name Windows reserves) is its own folder. Any other code becomes its first
    ``SAFE_LENGTH`` characters with every character but letters, digits, ``_``, ``-`` and
    Chinese replaced by ``_``, then ``~`` and 10 hex digits of the code's SHA-256. Plain
    names hold no ``~`` and no lower case, so two codes never share a folder, even on a
    file system that ignores case.

    >>> [unit_folder(c) for c in ["4203_04", "ALL"]]
    ['4203_04', 'ALL']
    >>> unit_folder("4203/04")
    '4203_04~e00ca9eb83'
    >>> unit_folder("支局:城关支局").startswith("支局_城关支局~")
    True
    >>> [unit_folder(c) for c in [".", ".."]]
    ['_~cdb4ee2aea', '__~5ec1f7e700']
    >>> len(unit_folder("9" * 300))
    51
    """
    code = str(code)
    if _PLAIN.fullmatch(code) and code not in _RESERVED:
        return code
    safe = _UNSAFE.sub("_", code[:SAFE_LENGTH]) or "_"
    return f"{safe}~{_sha256(code.encode('utf-8'))[:10]}"


def plan_jobs(
    dataset: Dataset,
    period: str,
    branches: Mapping[str, str],
    notebooks: Sequence[Path],
    out_dir: Path,
    parameters: Mapping[str, object] | None = None,
) -> list[Job]:
    """One job per notebook × unit (those made for the unit's level), plus one workbook job
    per unit.

    Parameters
    ----------
    dataset
        The prepared dataset (its input files' SHA-256 go into every key).
    period
        ``2013``, ``2013Q2`` or ``2013-05``; notebooks not made for it are left out.
    branches
        Unit → name, in report order: ``"ALL"`` is the whole book, ``"支局:<name>"`` a 支局,
        any other a branch code (:func:`unit_names`).
    notebooks
        The notebooks to run for each branch.
    out_dir
        Outputs go to ``out_dir/<branch>/<notebook stem>.html`` (+ ``.ipynb``) and
        ``out_dir/<branch>/workbook.xlsx``.
    parameters
        Extra notebook parameters, beside ``dataset``, ``branch`` and ``period``.
    """
    period = report_period(period, load_plan(dataset.plan)).label
    out_dir = Path(out_dir).resolve()
    base = {
        "inputs": dataset.inputs,
        "plan": _sha256(Path(dataset.plan).read_bytes()),
        "version": __version__,
        "package": package_fingerprint(),
        "period": period,
    }
    sources = []
    for path in map(Path.resolve, map(Path, notebooks)):
        data = path.read_bytes()
        nb = json.loads(data.decode("utf-8"))
        if applies_to(nb, period):
            sources.append((path, _sha256(data), notebook_title(nb, path.stem), nb))
    jobs = []
    for code, name in branches.items():
        folder = out_dir / unit_folder(code)
        params = {
            "dataset": dataset.name,
            "branch": code,
            "period": period,
            "plan_file": str(dataset.plan),
            **(parameters or {}),
        }
        keyed = {k: v for k, v in params.items() if k not in UNKEYED}
        for path, digest, title, nb in sources:
            if not applies_to(nb, period, code):
                continue
            jobs.append(
                Job(
                    kind=NOTEBOOK,
                    branch=code,
                    branch_name=name,
                    notebook=path,
                    title=title,
                    output=folder / f"{path.stem}.html",
                    dataset=dataset,
                    parameters=params,
                    key=job_key(kind=NOTEBOOK, notebook=digest, parameters=keyed, **base),
                )
            )
        jobs.append(
            Job(
                kind=WORKBOOK,
                branch=code,
                branch_name=name,
                output=folder / WORKBOOK_NAME,
                dataset=dataset,
                parameters={
                    "dataset": dataset.name,
                    "branch": code,
                    "period": period,
                    "plan_file": str(dataset.plan),
                },
                key=job_key(kind=WORKBOOK, branch=code, dataset=dataset.name, **base),
            )
        )
    return jobs


# -------------------------------------------------------------------------------- executing


def unit_names(policies: pd.DataFrame) -> dict[str, str]:
    """Unit → name for every 支局 and branch of the data, in report order: each 支局 (by name)
    followed by its branches (by code), then the branches of no 支局."""
    names = branch_names(policies).to_dict()
    members = branch_sub_branches(policies)
    out: dict[str, str] = {}
    for sub in sorted(set(members)):
        out[sub_branch_unit(sub)] = sub
        out.update({c: names[c] for c in sorted(members.index[members == sub])})
    return out | {c: n for c, n in names.items() if c not in out}


def select_units(known: Mapping[str, str], wanted: Sequence[str] | None) -> dict[str, str]:
    """Unit → name of the units a run reports on: ``wanted`` (checked; a 支局 as
    ``支局:<name>``), or ALL and every one of ``known`` (:func:`unit_names`)."""
    if not wanted:
        return {ALL: ALL_LABEL, **known}
    subs = [sub_branch_name(u) for u in known if is_sub_branch(u)]
    check_branches(wanted, [u for u in known if not is_sub_branch(u)], subs)
    return {b: (ALL_LABEL if is_all(b) else known[b]) for b in dict.fromkeys(wanted)}

"""Every branch's reports in one run: plan jobs → execute → export → index.

:func:`run_reports` is what ``maturity-analysis reports`` (and ``make reports``) calls:

1. prepare the dataset once, in this process, so workers never race to build it;
2. :func:`plan_jobs`: one job per notebook × branch (every branch plus ``ALL``) and one
   workbook per branch, each with a key over everything its output depends on; a job whose
   outputs were built from the same key is up to date and skipped (unless ``force``);
3. :func:`run_jobs`: the jobs go to an executor — by default :class:`LocalExecutor`, worker
   processes each keeping one warm kernel — and :func:`maturity_analysis.engine.run_job`
   executes, renders, checks and writes each one atomically;
4. :func:`maturity_analysis.index.write_index` writes ``index.html``, and a summary says what
   was built, what was up to date and what failed.

Executors
---------
An executor is any object with ``submit(fn, *args) -> future``, ``as_completed(futures)`` and
``close()``, where a future has ``result()`` (the :mod:`concurrent.futures` protocol, which
``distributed.Client`` also follows): :class:`LocalExecutor` here, and
:class:`maturity_analysis.dask_executor.DaskExecutor` for a Dask cluster.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import re
import signal
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cache
from pathlib import Path

import pandas as pd

from . import __version__, config
from .engine import NOTEBOOK, WORKBOOK, Dataset, Job, JobError, JobResult, run_job, warm_up
from .exceptions import ReportError
from .files import remove_temp_files, write_atomic
from .privacy import PiiIndex
from .schema import PII_COLUMNS

ALL = "ALL"
DEFAULT_PERIOD = "2013"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"
METADATA_KEY = "maturity_analysis"
WORKBOOK_NAME = "workbook.xlsx"
RUN_RECORD = "run.json"
# Parameters that say where the data is, not what it is (its inputs' SHA-256 are keyed).
UNKEYED = frozenset({"processed_dir"})
_PERIOD_RE = {
    "year": re.compile(r"^\d{4}$"),
    "quarter": re.compile(r"^\d{4}Q[1-4]$"),
    "month": re.compile(r"^\d{4}-(0[1-9]|1[0-2])$"),
}


# --------------------------------------------------------------------------------- planning


def period_kind(period: str) -> str:
    """``"year"`` (``2013``), ``"quarter"`` (``2013Q2``) or ``"month"`` (``2013-05``).

    >>> period_kind("2013"), period_kind("2013Q2"), period_kind("2013-05")
    ('year', 'quarter', 'month')
    """
    for kind, pattern in _PERIOD_RE.items():
        if pattern.match(str(period)):
            return kind
    raise ReportError(
        f"period {period!r}: expected a year (2013), a quarter (2013Q2) or a month (2013-05)"
    )


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


def applies_to(nb: Mapping, period: str) -> bool:
    """Whether a notebook is made for ``period``.

    A notebook may restrict itself in its metadata, e.g. a quarterly evaluation:
    ``"maturity_analysis": {"periods": ["quarter", "month"]}``; by default it applies to all.
    """
    kinds = nb.get("metadata", {}).get(METADATA_KEY, {}).get("periods")
    return kinds is None or period_kind(period) in kinds


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@cache
def package_fingerprint() -> str:
    """SHA-256 over the package's source and data files: any change to them changes every key."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".toml", ".csv", ".json"}:
            h.update(path.relative_to(root).as_posix().encode())
            h.update(_sha256(path.read_bytes()).encode())
    return h.hexdigest()


def job_key(**parts: object) -> str:
    """SHA-256 of the JSON of ``parts`` (keys sorted): equal inputs, equal key."""
    return _sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str).encode())


def _safe(name: str) -> str:
    """A branch code as a folder name (path separators and control characters replaced)."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", str(name)).strip(". ") or "_"


def plan_jobs(
    dataset: Dataset,
    period: str,
    branches: Mapping[str, str],
    notebooks: Sequence[Path],
    out_dir: Path,
    parameters: Mapping[str, object] | None = None,
) -> list[Job]:
    """One job per notebook × branch, plus one workbook job per branch.

    Parameters
    ----------
    dataset
        The prepared dataset (its input files' SHA-256 go into every key).
    period
        ``2013``, ``2013Q2`` or ``2013-05``; notebooks not made for it are left out.
    branches
        Branch code → name, in report order; ``"ALL"`` is the whole book.
    notebooks
        The notebooks to run for each branch.
    out_dir
        Outputs go to ``out_dir/<branch>/<notebook stem>.html`` (+ ``.ipynb``) and
        ``out_dir/<branch>/workbook.xlsx``.
    parameters
        Extra notebook parameters, beside ``dataset``, ``branch`` and ``period``.
    """
    period_kind(period)
    out_dir = Path(out_dir).resolve()
    base = {
        "inputs": dataset.inputs,
        "plan": _sha256(config.PLAN_FILE.read_bytes()),
        "version": __version__,
        "package": package_fingerprint(),
        "period": period,
    }
    sources = []
    for path in map(Path.resolve, map(Path, notebooks)):
        data = path.read_bytes()
        nb = json.loads(data.decode("utf-8"))
        if applies_to(nb, period):
            sources.append((path, _sha256(data), notebook_title(nb, path.stem)))
    jobs = []
    for code, name in branches.items():
        folder = out_dir / _safe(code)
        params = {"dataset": dataset.name, "branch": code, "period": period, **(parameters or {})}
        keyed = {k: v for k, v in params.items() if k not in UNKEYED}
        for path, digest, title in sources:
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
                parameters={"dataset": dataset.name, "branch": code},
                key=job_key(kind=WORKBOOK, branch=code, dataset=dataset.name, **base),
            )
        )
    return jobs


# -------------------------------------------------------------------------------- executing


def _start_worker() -> None:
    """Initializer of a local worker: leave Ctrl-C to the parent, which lets running jobs end
    and cancels the rest; then warm up.

    A failure to warm up must not break the pool: each job then starts the kernel itself and
    reports what goes wrong.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        warm_up()
    except Exception:  # noqa: BLE001, S110 - the jobs report it, with the cause
        pass


class LocalExecutor:
    """Worker processes on this machine, each with one warm kernel (started as it starts).

    Parameters
    ----------
    workers : int, optional
        Number of processes (default: the number of cores).
    """

    def __init__(self, workers: int | None = None):
        self.workers = workers or os.cpu_count() or 1
        self._pool = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
        )

    def submit(self, fn, *args) -> Future:
        """Run ``fn(*args)`` in a worker."""
        return self._pool.submit(fn, *args)

    def as_completed(self, futures: Iterable[Future]) -> Iterator[Future]:
        """The futures as they finish."""
        return as_completed(list(futures))

    def close(self) -> None:
        """Stop the workers (and their kernels); pending jobs are cancelled."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def _infrastructure_failure(job: Job, exc: BaseException) -> JobResult:
    for path in job.finished_outputs:
        path.unlink(missing_ok=True)
    return JobResult(
        job=job,
        seconds=0.0,
        error=JobError(error=type(exc).__name__, message=f"worker failed: {exc}"),
    )


def run_jobs(jobs: Sequence[Job], executor, progress: bool = True) -> list[JobResult]:
    """Run ``jobs`` on ``executor``, one progress bar; results in the order of ``jobs``.

    One failing job never stops the others: failures come back as results.
    """
    from tqdm.auto import tqdm

    futures = {executor.submit(run_job, job): i for i, job in enumerate(jobs)}
    results: list[JobResult | None] = [None] * len(jobs)
    failed = 0
    with tqdm(total=len(jobs), unit="job", desc="reports", disable=not progress) as bar:
        for future in executor.as_completed(futures):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as exc:  # noqa: BLE001 - a dead worker fails its job only
                results[i] = _infrastructure_failure(jobs[i], exc)
            failed += not results[i].ok
            bar.set_postfix(failed=failed, refresh=False)
            bar.update()
    return results


# ---------------------------------------------------------------------------------- the run


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


def default_out_dir(dataset: str, period: str) -> Path:
    """``reports/<dataset>/<period>/``."""
    return config.REPORTS_DIR / dataset / period


def prepare_dataset(name: str, raw_dir: Path, processed_dir: Path) -> tuple[Dataset, pd.DataFrame]:
    """Prepare ``name`` (when its processed copy is missing or stale) and read its policies.

    The dataset's inputs are its policy files and its tracking forms, each with its SHA-256.
    """
    from .load import dataset_manifest

    manifest = dataset_manifest(name, raw_dir=raw_dir, processed_dir=processed_dir)
    policies_file = (processed_dir / name / manifest["outputs"]["policies"]).resolve()
    tracked = manifest.get("tracking", {}).get("inputs", [])
    inputs = tuple((f["file"], f["sha256"]) for f in manifest["inputs"]) + tuple(
        (f"tracking/{name}", sha) for name, sha in tracked
    )
    dataset = Dataset(name=name, policies=policies_file, inputs=inputs)
    return dataset, pd.read_parquet(policies_file)


def branch_names(policies: pd.DataFrame) -> dict[str, str]:
    """Branch code → name for every branch in the data, by code."""
    codes = policies["branch_code"].astype(str)
    names = policies.get("branch_name", pd.Series("", index=policies.index)).fillna("")
    return names.groupby(codes, sort=True).first().astype(str).to_dict()


def _select(known: Mapping[str, str], wanted: Sequence[str] | None) -> dict[str, str]:
    if not wanted:
        return {ALL: "全部网点", **known}
    unknown = [b for b in wanted if b != ALL and b not in known]
    if unknown:
        shown = ", ".join(list(known)[:20])
        raise ReportError(f"branch {', '.join(unknown)}: not in the data (known: {shown} …)")
    return {b: ("全部网点" if b == ALL else known[b]) for b in dict.fromkeys(wanted)}


def _redacted(results: list[JobResult], policies: pd.DataFrame) -> list[JobResult]:
    """Results whose error texts show no customer's PII (they go to the terminal and index)."""
    pii = PiiIndex(policies[[c for c in PII_COLUMNS if c in policies.columns]])

    def clean(r: JobResult) -> JobResult:
        if r.ok:
            return r
        e = r.error
        error = replace(
            e,
            message=pii.redact(e.message),
            cell_source=pii.redact(e.cell_source),
            traceback=pii.redact(e.traceback),
        )
        return replace(r, error=error)

    return [clean(r) for r in results]


def _write_record(result: RunResult, dataset: str, period: str) -> None:
    def entry(r: JobResult) -> dict:
        record = {
            "job": r.job.name,
            "kind": r.job.kind,
            "seconds": round(r.seconds, 3),
            "bytes": r.size,
        }
        if r.error is not None:
            record.update(cell=r.error.cell, error=r.error.error, message=r.error.message)
        return record

    write_atomic(
        result.out_dir / RUN_RECORD,
        json.dumps(
            {
                "dataset": dataset,
                "period": period,
                "version": __version__,
                "finished": datetime.now().astimezone().isoformat(timespec="seconds"),
                "seconds": round(result.seconds, 3),
                "built": [entry(r) for r in result.built],
                "up_to_date": [j.name for j in result.up_to_date],
                "failed": [entry(r) for r in result.failed],
            },
            ensure_ascii=False,
            indent=1,
        ),
    )


def run_reports(
    dataset: str = "sample",
    period: str = DEFAULT_PERIOD,
    branches: Sequence[str] | None = None,
    *,
    out_dir: Path | None = None,
    jobs: int | None = None,
    force: bool = False,
    executor=None,
    notebooks: Sequence[Path] | None = None,
    raw_dir: Path | None = None,
    processed_dir: Path | None = None,
    progress: bool = True,
) -> RunResult:
    """Build every report of ``dataset`` for ``period``: the whole pipeline.

    Parameters
    ----------
    dataset, period
        The dataset name (``data/raw/<dataset>/``) and the period reported on.
    branches
        Branch codes (``"ALL"`` for the whole book); default every branch and ``ALL``.
    out_dir
        Default ``reports/<dataset>/<period>/``.
    jobs
        Local worker processes (default: the number of cores); ignored with ``executor``.
    force
        Rebuild even what is up to date.
    executor
        Where jobs run (see the module docstring); default a :class:`LocalExecutor`,
        started only when something needs building and closed at the end.
    notebooks
        Default every ``notebooks/NN_*.ipynb``.
    raw_dir, processed_dir
        Roots holding ``<dataset>/`` (default ``data/raw`` and ``data/processed``); the
        notebooks get ``processed_dir`` as a parameter.
    progress
        Show the progress bar.
    """
    from .index import kpi_glance, write_index
    from .tracking import read_dataset_tracking

    start = time.perf_counter()
    period_kind(period)
    out_dir = Path(out_dir or default_out_dir(dataset, period))
    raw_dir = Path(raw_dir or config.RAW_DIR).resolve()
    processed_dir = Path(processed_dir or config.PROCESSED_DIR).resolve()
    data, policies = prepare_dataset(dataset, raw_dir, processed_dir)
    selected = _select(branch_names(policies), branches)
    extra = {"processed_dir": str(processed_dir)}
    planned = plan_jobs(data, period, selected, notebooks or find_notebooks(), out_dir, extra)
    if not any(j.kind == NOTEBOOK for j in planned):
        raise ReportError(f"no report notebook applies to period {period}")
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_temp_files(out_dir)
    fresh = [not force and j.up_to_date() for j in planned]
    todo = [j for j, ok in zip(planned, fresh, strict=True) if not ok]
    results: list[JobResult] = []
    if todo:
        own = executor is None
        executor = executor or LocalExecutor(min(jobs or os.cpu_count() or 1, len(todo)))
        try:
            results = run_jobs(todo, executor, progress=progress)
        finally:
            if own:
                executor.close()
    if any(not r.ok for r in results):
        results = _redacted(results, policies)
    result = RunResult(
        out_dir=out_dir,
        index=out_dir / "index.html",
        jobs=planned,
        results=results,
        up_to_date=[j for j, ok in zip(planned, fresh, strict=True) if ok],
        seconds=0.0,
    )
    kpis = None
    try:  # the index is written without the KPI glance rather than not at all
        kpis = kpi_glance(policies, read_dataset_tracking(dataset, raw_dir, processed_dir), period)
    except Exception as exc:  # noqa: BLE001
        result.notes.append(f"index: KPIs not shown ({type(exc).__name__}: {exc})")
    result.notes += write_index(result, policies, dataset=dataset, period=period, kpis=kpis)
    result.seconds = time.perf_counter() - start
    _write_record(result, dataset, period)
    return result

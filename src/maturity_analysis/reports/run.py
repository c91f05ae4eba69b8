"""Every branch's reports in one run: plan jobs → execute → export → index.

:func:`run_reports` is what ``maturity-analysis reports`` (and ``make reports``) calls:

1. prepare the dataset once, in this process, so workers never race to build it;
2. :func:`plan_jobs`: one job per notebook × unit (``ALL``, every 支局 and every branch) and
   one workbook per unit, each with a key over everything its output depends on; a job whose
   outputs were built from the same key is up to date and skipped (unless ``force``);
3. :func:`run_jobs`: the jobs go to an executor — by default :class:`LocalExecutor`, worker
   processes each keeping one warm kernel — and :func:`maturity_analysis.reports.worker.run_job`
   executes, renders, checks and writes each one atomically;
4. :func:`maturity_analysis.reports.index.render_index` makes ``index.html`` (checked, then written), and a summary says what
   was built, what was up to date and what failed.

Executors
---------
An executor is any object with ``submit(fn, *args) -> future``, ``as_completed(futures)`` and
``close()``, where a future has ``result()`` (the :mod:`concurrent.futures` protocol, which
``distributed.Client`` also follows): :class:`LocalExecutor` here, and
:class:`maturity_analysis.reports.executors.DaskExecutor` for a Dask cluster.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path

import pandas as pd

from .. import __version__, config
from ..analysis.evaluation import dataset_by_branch
from ..analysis.league import Leagues
from ..exceptions import ReportError
from ..files import remove_temp_files, write_atomic
from ..ingest.dataset import dataset_manifest, read_dataset, read_dataset_tracking
from ..ingest.schema import PII_COLUMNS
from ..output.privacy import PiiIndex, check_text, html_text
from ..plan.model import Plan, load_plan, plan_file, plan_label
from ..plan.period import report_period
from ..plan.workdays import calendar_notes
from .executors import LocalExecutor
from .index import kpi_leagues, render_index
from .jobs import (
    NOTEBOOK,
    RUN_RECORD,
    Dataset,
    Job,
    JobError,
    JobResult,
    RunResult,
    find_notebooks,
    plan_jobs,
    select_units,
    unit_names,
)
from .pdf import write_pdfs
from .worker import run_job

# --------------------------------------------------------------------------------- planning


def _infrastructure_failure(job: Job, exc: BaseException) -> JobResult:
    for path in job.finished_outputs:
        path.unlink(missing_ok=True)
    return JobResult(
        job=job,
        seconds=0.0,
        error=JobError(error=type(exc).__name__, message=f"worker failed: {exc}"),
    )


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) during :func:`run_jobs`; ``results`` holds the jobs that finished
    and, once :func:`run_reports` has written the index, ``result`` the run."""

    def __init__(self, results: list[JobResult]):
        super().__init__("interrupted")
        self.results = results
        self.result: RunResult | None = None


def run_jobs(jobs: Sequence[Job], executor, progress: bool = True) -> list[JobResult]:
    """Run ``jobs`` on ``executor``, one progress bar; results in the order of ``jobs``.

    One failing job never stops the others: failures come back as results. An interrupt
    raises :class:`RunInterrupted` with the results of the jobs that finished.
    """
    from tqdm.auto import tqdm

    futures = {executor.submit(run_job, job): i for i, job in enumerate(jobs)}
    results: list[JobResult | None] = [None] * len(jobs)
    failed = 0
    with tqdm(total=len(jobs), unit="job", desc="reports", disable=not progress) as bar:
        try:
            for future in executor.as_completed(futures):
                i = futures[future]
                try:
                    results[i] = future.result()
                except Exception as exc:  # noqa: BLE001 - a dead worker fails its job only
                    results[i] = _infrastructure_failure(jobs[i], exc)
                failed += not results[i].ok
                bar.set_postfix(failed=failed, refresh=False)
                bar.update()
        except KeyboardInterrupt:
            raise RunInterrupted([r for r in results if r is not None]) from None
    return results


# ---------------------------------------------------------------------------------- the run


def default_out_dir(dataset: str, period: str) -> Path:
    """``reports/<dataset>/<period>/``."""
    return config.reports_dir() / dataset / period


def prepare_dataset(
    name: str, raw_dir: Path, processed_dir: Path, plan: Path | None = None
) -> tuple[Dataset, pd.DataFrame]:
    """Prepare ``name`` on the plan file ``plan`` (default: the dataset's own plan.toml, else
    the shipped plan) when its processed copy is missing or stale, and read its policies.

    The dataset's inputs are its policy files and its tracking forms, each with its SHA-256.
    """
    plan = plan_file(plan, name, raw_dir)
    manifest = dataset_manifest(name, raw_dir=raw_dir, processed_dir=processed_dir, plan=plan)
    policies_file = (processed_dir / name / manifest["outputs"]["policies"]).resolve()
    tracked = manifest.get("tracking", {}).get("inputs", [])
    inputs = tuple((f["file"], f["sha256"]) for f in manifest["inputs"]) + tuple(
        (f"tracking/{name}", sha) for name, sha in tracked
    )
    name_of_plan = f"{plan_label(plan)} · SHA-256 {manifest['plan_sha256']}"
    dataset = Dataset(name, policies_file, inputs, plan=plan, plan_name=name_of_plan)
    # read once: read_dataset keeps it for this process (the index's tracking read reuses it)
    return dataset, read_dataset(name, raw_dir=raw_dir, processed_dir=processed_dir, plan=plan)


def _index_inputs(
    policies: pd.DataFrame,
    dataset: str,
    raw_dir: Path,
    processed_dir: Path,
    data: Dataset,
    period: str,
    plan: Plan,
) -> tuple[PiiIndex, Leagues | None, list[str]]:
    """What the index needs besides the jobs' results, so it is computed while they run: the
    PII index, the KPI league tables and the notes on them (the index is written without the
    league tables, saying why, rather than not at all)."""
    kpis, notes = None, []
    try:
        tracking = read_dataset_tracking(dataset, raw_dir, processed_dir, data.plan)
        summaries = partial(dataset_by_branch, dataset, period, plan, raw_dir, processed_dir)
        kpis = kpi_leagues(policies, tracking, period, plan, summaries)  # shared with kernels
    except Exception as exc:  # noqa: BLE001
        notes.append(f"index: KPIs not shown ({type(exc).__name__}: {exc})")
    pii = PiiIndex(read_dataset(dataset, raw_dir, processed_dir, data.plan, columns=PII_COLUMNS))
    return pii, kpis, notes


def _writable(out_dir: Path) -> None:
    """Make ``out_dir`` and check a file can be created in it, or say so in one line."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as exc:
        raise ReportError(
            f"cannot write reports to {out_dir}: {exc.strerror or exc} "
            "(a read-only or immutable folder?); give a writable one with --out"
        ) from exc


def _redacted(results: list[JobResult], pii: PiiIndex) -> list[JobResult]:
    """Results whose error texts show no customer's PII (they go to the terminal and index)."""

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


def _write_index(result: RunResult, policies, pii: PiiIndex, dataset: str, period: str, kpis):
    """Write ``index.html`` once it shows no customer's PII: values from the data (a branch
    name carrying a contact person) are masked in it, and the run says which."""
    html, notes = render_index(result, policies, dataset=dataset, period=period, kpis=kpis)
    found = pii.find(html_text(html))
    if found:
        html = pii.redact(html)
        shown = ", ".join(f"{f.column} {f.masked}" for f in found[:5])
        notes.append(f"index: {len(found)} customer value(s) from the data masked: {shown}")
    check_text(result.index, html_text(html), pii)  # what could not be masked stops it
    write_atomic(result.index, html)
    return notes


def _write_record(result: RunResult, dataset: str, period: str, pii: PiiIndex) -> None:
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

    text = json.dumps(
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
    )
    check_text(RUN_RECORD, text, pii)
    write_atomic(result.out_dir / RUN_RECORD, text)


def run_reports(
    dataset: str = "sample",
    period: str | None = None,
    branches: Sequence[str] | None = None,
    *,
    plan: str | Path | None = None,
    out_dir: Path | None = None,
    jobs: int | None = None,
    force: bool = False,
    executor=None,
    notebooks: Sequence[Path] | None = None,
    raw_dir: Path | None = None,
    processed_dir: Path | None = None,
    progress: bool = True,
    pdf: bool = False,
) -> RunResult:
    """Build every report of ``dataset`` for ``period``: the whole pipeline.

    Parameters
    ----------
    dataset, period
        The dataset name (``data/raw/<dataset>/``) and the period reported on, within the plan
        year (default: the plan year).
    plan
        The plan file (default: ``data/raw/<dataset>/plan.toml`` when present, else the
        shipped plan); its content keys every output, its name is in every footer.
    branches
        Units: branch codes, 支局 as ``"支局:<name>"``, ``"ALL"`` for the whole book; default
        ``ALL``, every 支局 and every branch.
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
    pdf
        Also print each report to an A4 PDF beside its HTML (:mod:`.pdf`).
    """

    start = time.perf_counter()
    raw_dir = Path(raw_dir or config.raw_dir()).resolve()
    processed_dir = Path(processed_dir or config.processed_dir()).resolve()
    used = load_plan(plan_file(plan, dataset, raw_dir))
    period = report_period(period or str(used.year), used).label
    out_dir = Path(out_dir or default_out_dir(dataset, period))
    data, policies = prepare_dataset(dataset, raw_dir, processed_dir, Path(used.source))
    selected = select_units(unit_names(policies), branches)
    extra = {"processed_dir": str(processed_dir)}
    planned = plan_jobs(data, period, selected, notebooks or find_notebooks(), out_dir, extra)
    if not any(j.kind == NOTEBOOK for j in planned):
        raise ReportError(f"no report notebook applies to period {period}")
    _writable(out_dir)
    remove_temp_files(out_dir)
    fresh = [not force and j.up_to_date() for j in planned]
    todo = [j for j, ok in zip(planned, fresh, strict=True) if not ok]
    results: list[JobResult] = []
    interrupted: RunInterrupted | None = None
    with ThreadPoolExecutor(1) as aside:  # this process waits on the jobs meanwhile
        index_inputs = aside.submit(
            _index_inputs, policies, dataset, raw_dir, processed_dir, data, period, used
        )
        if todo:
            own = executor is None
            executor = executor or LocalExecutor(min(jobs or os.cpu_count() or 1, len(todo)))
            try:
                results = run_jobs(todo, executor, progress=progress)
            except RunInterrupted as exc:  # the index still lists what finished
                results, interrupted = exc.results, exc
            finally:
                if own:
                    executor.close()
        pii, kpis, index_notes = index_inputs.result()
    if any(not r.ok for r in results):
        results = _redacted(results, pii)
    result = RunResult(
        out_dir=out_dir,
        index=out_dir / "index.html",
        jobs=planned,
        results=results,
        up_to_date=[j for j, ok in zip(planned, fresh, strict=True) if ok],
        seconds=0.0,
    )
    if interrupted is not None:
        result.notes.append(f"interrupted: {len(todo) - len(results)} job(s) not run")
    result.notes += calendar_notes(used.holiday_notices) + index_notes
    result.notes += _write_index(result, policies, pii, dataset, period, kpis)
    if pdf:
        reports = [j.output for j in planned if j.kind == NOTEBOOK and j.output.exists()]
        result.notes += write_pdfs(reports, pii)
    result.seconds = time.perf_counter() - start
    _write_record(result, dataset, period, pii)
    if interrupted is not None:
        interrupted.result = result
        raise interrupted
    return result

"""One report job, run in a worker: parameterise → execute (warm kernel) → render → check → write.

:func:`run_job` is what an executor runs, in a local worker process or on a Dask worker. It
never raises: every failure becomes a :class:`JobResult` naming the notebook cell and error.
Outputs are written atomically and only when the job succeeded and the leak check
(:func:`maturity_analysis.output.privacy.check_file`) passed on each of them; a failed job
leaves no finished-looking file for itself. Its executed notebook is kept for diagnosis as
``*.failed.ipynb`` with every customer value masked and its images dropped (and not at all if
it still would show one), so what reviewers can open never shows PII. A refused output is
never written under its name: the error says which values, masked, and nothing publishes it.

Each worker thread keeps its own warm state (kernel, HTML exporter, PII index) in
:data:`_local`, so a Dask worker running several threads gets one kernel per thread.
"""

from __future__ import annotations

import atexit
import copy
import gc
import json
import pickle
import re
import threading
import time
import traceback
from datetime import datetime
from pathlib import Path

import pandas as pd

from .. import __version__
from ..analysis.actions import CUSTOMER_PII
from ..analysis.costs import paid_complaints
from ..files import atomic_path, write_atomic
from ..ingest.dataset import read_policies, read_prepared_tracking
from ..ingest.schema import PII_COLUMNS
from ..output.privacy import PiiIndex, PrivacyError, check_file, redact_notebook
from ..output.workbook import book_sheets, write_tables_workbook
from ..plan.model import load_plan
from .jobs import NOTEBOOK, Dataset, Job, JobError, JobResult, unit_folder
from .kernels import WarmKernel
from .render import ReportPage, make_exporter, to_html

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ERROR_TAIL = 2000
# The injected-parameters cell's id: fixed, so reruns write the same bytes (papermill's is random).
INJECTED_ID = "injected-parameters"


class _WorkerState(threading.local):
    kernel = None
    exporter = None
    pii: tuple[str, PiiIndex] | None = None

    def __init__(self):
        self.notebooks: dict = {}

    policies: tuple[str, pd.DataFrame] | None = None
    book: tuple[tuple, dict[str, pd.DataFrame]] | None = None


_local = _WorkerState()
_kernels: list = []


def _shutdown_kernels() -> None:
    while _kernels:
        _kernels.pop().shutdown()


def kill_kernels() -> None:
    """Kill this worker's kernels at once and remove their folders (the worker is ending)."""
    for kernel in list(_kernels):
        kernel.kill()


def _kernel(wait: bool = True):
    if _local.kernel is None:
        _local.kernel = WarmKernel()
        _kernels.append(_local.kernel)
        if len(_kernels) == 1:
            atexit.register(_shutdown_kernels)
            try:
                from multiprocessing import util

                util.Finalize(None, _shutdown_kernels, exitpriority=100)
            except ImportError:  # pragma: no cover
                pass
    if wait:
        _local.kernel.start()
    else:
        _local.kernel.launch()
    return _local.kernel


def _exporter():
    if _local.exporter is None:
        _local.exporter = make_exporter()
    return _local.exporter


def warm_up() -> None:
    """Start this worker's kernel and exporter before the first job arrives.

    The initializer of :class:`~maturity_analysis.reports.run.LocalExecutor`'s processes.
    What it loaded lives as long as the worker, so it is moved out of the garbage
    collector's view (``gc.freeze``), as in the kernel (:func:`.kernelstate.warm_up`).
    """
    import nbformat

    _kernel(wait=False)
    blank = ReportPage(*[""] * 7)
    to_html(nbformat.v4.new_notebook(), blank, _exporter())  # compiles the template once
    _kernel()
    gc.collect()
    gc.freeze()


def _token(dataset: Dataset) -> str:
    """What the worker's kept frames of ``dataset`` are kept by: its policies file and the
    SHA-256 of its inputs."""
    return f"{dataset.policies}:{dataset.inputs}"


def _policies(dataset: Dataset) -> pd.DataFrame:
    """The (cached) policies the workbooks are made from: the default read and the PII their
    action lists show (masked)."""
    token = _token(dataset)
    if _local.policies is None or _local.policies[0] != token:
        _local.policies = (token, read_policies(dataset.policies, pii=CUSTOMER_PII))
    return _local.policies[1]


def pii_index(dataset: Dataset) -> PiiIndex:
    """The (cached) PII index of the dataset's policies (reads only the PII columns)."""
    import pyarrow.parquet as pq

    token = _token(dataset)
    if _local.pii is None or _local.pii[0] != token:
        present = set(pq.read_schema(dataset.policies).names)
        columns = [c for c in PII_COLUMNS if c in present]
        _local.pii = (token, PiiIndex(pd.read_parquet(dataset.policies, columns=columns)))
    return _local.pii[1]


def _clear(paths) -> None:
    for path in paths:
        Path(path).unlink(missing_ok=True)


def _failing_cell(nb) -> tuple[int | None, str]:
    """The 1-based number (in the notebook file, injected cell not counted) and first line."""
    injected = 0
    for index, cell in enumerate(nb.cells):
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            injected = 1
            continue
        if cell.cell_type == "code" and any(o.output_type == "error" for o in cell.outputs):
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            return index + 1 - injected, first.strip()[:80]
    return None, ""


def _source(path: Path):
    """The notebook at ``path`` as papermill reads it, parsed once per worker while unchanged."""
    from papermill.iorw import load_notebook_node

    stat = path.stat()
    token = (str(path), stat.st_mtime_ns, stat.st_size)
    if token not in _local.notebooks:
        _local.notebooks[token] = load_notebook_node(str(path))
    return copy.deepcopy(_local.notebooks[token])


def _parameterize(job: Job):
    from papermill.parameterize import parameterize_notebook

    nb = _source(job.notebook)
    # the output's place in the report folder, not the machine's path: same run, same bytes
    output = f"{unit_folder(job.branch)}/{job.executed.name}"
    nb.metadata.papermill.update(input_path=str(job.notebook), output_path=output)
    nb = parameterize_notebook(nb, job.parameters, kernel_name="python3", language="python")
    for cell in nb.cells:
        if INJECTED_ID in cell.metadata.get("tags", []):
            cell.id = INJECTED_ID
    return nb


def _notebook_json(nb) -> str:
    """The notebook file's text (nbformat's writer, without its schema check of every save)."""
    from nbformat.v4 import writes

    return writes(nb)


def _page(job: Job):

    return ReportPage(
        title=job.title or job.notebook.stem,
        branch_label=job.branch_label,
        period=str(job.parameters.get("period", "")),
        dataset=job.dataset.name,
        version=__version__,
        parameters=", ".join(
            f"{k}={v!r}"
            for k, v in job.parameters.items()
            if k not in ("processed_dir", "plan_file")
        ),
        generated=datetime.now().astimezone().isoformat(timespec="seconds"),
        inputs=job.dataset.inputs,
        plan=job.dataset.plan_name,
    )


def _write_stamp(job: Job, seconds: float) -> None:
    record = {
        "key": job.key,
        "built": datetime.now().astimezone().isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "version": __version__,
    }
    write_atomic(job.stamp, json.dumps(record, ensure_ascii=False, indent=1))


def _keep_failed(job: Job, nb) -> None:
    """Keep a failed job's executed notebook for diagnosis, every customer value masked and
    its images dropped; if it still would show PII it is not kept."""
    import nbformat

    index = pii_index(job.dataset)
    text = _notebook_json(nbformat.from_dict(redact_notebook(nb, index)))
    try:
        check_file(job.failed_notebook, index, text.encode("utf-8"))
    except PrivacyError:
        job.failed_notebook.unlink(missing_ok=True)
        return
    write_atomic(job.failed_notebook, text)


def _run_notebook(job: Job) -> tuple[JobError | None, int]:
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = _parameterize(job)
    try:
        _kernel().execute(nb, cwd=str(job.notebook.parent))
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        cell, source = _failing_cell(nb)
        _keep_failed(job, nb)
        return JobError(
            error=getattr(exc, "ename", type(exc).__name__),
            message=_ANSI.sub("", str(getattr(exc, "evalue", exc))).strip()[:ERROR_TAIL],
            cell=cell,
            cell_source=source,
            traceback=_ANSI.sub("", str(exc))[-ERROR_TAIL:],
        ), 0
    html = to_html(nb, _page(job), _exporter())
    executed = _notebook_json(nb)
    index = pii_index(job.dataset)
    try:  # both checked before either is kept
        check_file(job.output, index, html.encode("utf-8"))
        check_file(job.executed, index, executed.encode("utf-8"))
    except PrivacyError as exc:
        _keep_failed(job, nb)
        return JobError(error="PrivacyError", message=str(exc)), 0
    write_atomic(job.executed, executed)
    write_atomic(job.output, html)
    return None, len(html.encode("utf-8"))


def _book_sheets(dataset: Dataset, plan, tracking) -> dict[str, pd.DataFrame]:
    """:func:`~maturity_analysis.output.workbook.book_sheets` of the dataset and plan, kept
    while both are unchanged (every unit's workbook shows them alike); each call gets its own
    frames (copy-on-write)."""
    key = (_token(dataset), pickle.dumps(plan))
    if _local.book is None or _local.book[0] != key:
        _local.book = (key, book_sheets(_policies(dataset), plan, tracking))
    return {name: frame.copy(deep=False) for name, frame in _local.book[1].items()}


def _run_workbook(job: Job) -> tuple[JobError | None, int]:
    tracking = read_prepared_tracking(Path(job.dataset.policies).parent)
    plan = load_plan(job.parameters.get("plan_file") or job.dataset.plan)
    try:
        with atomic_path(job.output) as tmp:  # checked before it takes the workbook's name
            write_tables_workbook(
                _policies(job.dataset),
                tmp,
                job.branch,
                plan=plan,
                dataset=job.dataset.name,
                complaints=None if tracking is None else paid_complaints(tracking),
                tracking=tracking,
                period=job.parameters.get("period"),
                book=_book_sheets(job.dataset, plan, tracking),
            )
            check_file(job.output, pii_index(job.dataset), tmp.read_bytes())
    except PrivacyError as exc:  # the workbook was removed with its temporary name
        return JobError(error="PrivacyError", message=str(exc)), 0
    return None, job.output.stat().st_size


def run_job(job: Job) -> JobResult:
    """Build one job's outputs; never raises (a failure is returned, its outputs removed)."""
    start = time.perf_counter()
    _clear([job.stamp])
    try:
        error, size = (_run_notebook if job.kind == NOTEBOOK else _run_workbook)(job)
    except Exception as exc:  # noqa: BLE001 - one failing job never stops the others
        error, size = (
            JobError(
                error=type(exc).__name__,
                message=str(exc)[:ERROR_TAIL],
                traceback=traceback.format_exc()[-ERROR_TAIL:],
            ),
            0,
        )
    seconds = time.perf_counter() - start
    if error is None:
        _write_stamp(job, seconds)
        _clear([job.failed_notebook])
    else:
        _clear(job.finished_outputs)
    return JobResult(job=job, seconds=seconds, error=error, size=size)

"""One report job, run in a worker: parameterise → execute (warm kernel) → render → check → write.

:func:`run_job` is what an executor runs, in a local worker process or on a Dask worker. It
never raises: every failure becomes a :class:`JobResult` naming the notebook cell and error.
Outputs are written atomically and only when the job succeeded; a failed job leaves no
finished-looking file for itself (its executed notebook is kept as ``*.failed.ipynb``).

Each worker thread keeps its own warm state (kernel, HTML exporter, PII index) in
:data:`_local`, so a Dask worker running several threads gets one kernel per thread.
"""

from __future__ import annotations

import atexit
import copy
import json
import re
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

from . import __version__
from .files import write_atomic
from .privacy import PiiIndex
from .schema import PII_COLUMNS

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
NOTEBOOK = "notebook"
WORKBOOK = "workbook"
ERROR_TAIL = 2000


@dataclass(frozen=True)
class Dataset:
    """Where a prepared dataset lives and what it was made from (for footers and keys)."""

    name: str
    policies: Path
    inputs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Job:
    """One output of a run: a notebook rendered for a branch, or a branch's workbook."""

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
        """The branch as a reader knows it: ``name（code）``, or 全部网点 for ``ALL``."""
        if self.branch == "ALL":
            return "全部网点"
        return f"{self.branch_name}（{self.branch}）" if self.branch_name else self.branch

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


class _WorkerState(threading.local):
    kernel = None
    exporter = None
    pii: tuple[str, PiiIndex] | None = None

    def __init__(self):
        self.notebooks: dict = {}

    policies: tuple[str, pd.DataFrame] | None = None


_local = _WorkerState()
_kernels: list = []


def _shutdown_kernels() -> None:
    while _kernels:
        _kernels.pop().shutdown()


def _kernel(wait: bool = True):
    if _local.kernel is None:
        from .kernels import WarmKernel

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
        from .render import make_exporter

        _local.exporter = make_exporter()
    return _local.exporter


def skip_slow_imports() -> None:
    """Keep ``rfc3987_syntax`` from being imported in this process.

    jsonschema (imported by nbformat) imports it, when installed, only to check the ``iri``
    string format, which notebooks never use; building its grammar takes 1.5-3 s, the
    largest part of importing nbformat. Only for the runner's own worker processes.
    """
    sys.modules.setdefault("rfc3987_syntax", None)


def warm_up() -> None:
    """Start this worker's kernel and exporter before the first job arrives.

    The initializer of :class:`~maturity_analysis.reports.LocalExecutor`'s processes.
    """
    skip_slow_imports()
    import nbformat

    from .render import ReportPage, to_html

    _kernel(wait=False)
    blank = ReportPage(*[""] * 7)
    to_html(nbformat.v4.new_notebook(), blank, _exporter())  # compiles the template once
    _kernel()


def _policies(dataset: Dataset) -> pd.DataFrame:
    token = f"{dataset.policies}:{dataset.inputs}"
    if _local.policies is None or _local.policies[0] != token:
        _local.policies = (token, pd.read_parquet(dataset.policies))
    return _local.policies[1]


def pii_index(dataset: Dataset) -> PiiIndex:
    """The (cached) PII index of the dataset's policies (reads only the PII columns)."""
    import pyarrow.parquet as pq

    token = f"{dataset.policies}:{dataset.inputs}"
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
    nb.metadata.papermill.update(input_path=str(job.notebook), output_path=str(job.executed))
    return parameterize_notebook(nb, job.parameters, kernel_name="python3", language="python")


def _notebook_json(nb) -> str:
    """The notebook file's text (nbformat's writer, without its schema check of every save)."""
    from nbformat.v4 import writes

    return writes(nb)


def _page(job: Job):
    from .render import ReportPage

    return ReportPage(
        title=job.title or job.notebook.stem,
        branch_label=job.branch_label,
        period=str(job.parameters.get("period", "")),
        dataset=job.dataset.name,
        version=__version__,
        parameters=", ".join(
            f"{k}={v!r}" for k, v in job.parameters.items() if k != "processed_dir"
        ),
        generated=datetime.now().astimezone().isoformat(timespec="seconds"),
        inputs=job.dataset.inputs,
    )


def _write_stamp(job: Job, seconds: float) -> None:
    record = {
        "key": job.key,
        "built": datetime.now().astimezone().isoformat(timespec="seconds"),
        "seconds": round(seconds, 3),
        "version": __version__,
    }
    write_atomic(job.stamp, json.dumps(record, ensure_ascii=False, indent=1))


def _run_notebook(job: Job) -> tuple[JobError | None, int]:
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    from .render import to_html

    nb = _parameterize(job)
    try:
        _kernel().execute(nb, cwd=str(job.notebook.parent))
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        cell, source = _failing_cell(nb)
        write_atomic(job.failed_notebook, _notebook_json(nb))
        return JobError(
            error=getattr(exc, "ename", type(exc).__name__),
            message=_ANSI.sub("", str(getattr(exc, "evalue", exc))).strip()[:ERROR_TAIL],
            cell=cell,
            cell_source=source,
            traceback=_ANSI.sub("", str(exc))[-ERROR_TAIL:],
        ), 0
    html = to_html(nb, _page(job), _exporter())
    found = pii_index(job.dataset).find(html)
    if found:
        write_atomic(job.failed_notebook, _notebook_json(nb))
        shown = ", ".join(f"{f.column} {f.masked}" for f in found[:5])
        return JobError(
            error="PrivacyError",
            message=f"the rendered report shows {len(found)} customer value(s) unmasked: {shown}",
        ), 0
    write_atomic(job.executed, _notebook_json(nb))
    write_atomic(job.output, html)
    return None, len(html.encode("utf-8"))


def _run_workbook(job: Job) -> tuple[JobError | None, int]:
    from .analysis import write_tables_workbook

    write_tables_workbook(_policies(job.dataset), job.output, job.branch, dataset=job.dataset.name)
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

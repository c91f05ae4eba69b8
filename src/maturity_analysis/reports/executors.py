"""Report jobs on a Dask distributed cluster: ``maturity-analysis reports --scheduler URL``.

:class:`DaskExecutor` follows the executor protocol of :mod:`maturity_analysis.reports.run`
(``submit``, ``as_completed``, ``close``), so a run on a cluster has the same progress bar,
failure isolation, index and summary as one on local workers. The workers need this package
installed (the same version) but **no shared file system**:

- the client sends each worker the prepared dataset once (``policies.parquet``, manifest,
  rejects; broadcast, then cached in a worker-local folder) and each job its notebook;
- a worker runs :func:`maturity_analysis.reports.worker.run_job` into a private temporary folder and
  returns the bytes of what it produced;
- the client writes them into the output folder atomically, the key stamp last, so a job that
  fails, a worker that dies or a run that is interrupted leaves no finished-looking file.

Each worker thread keeps its warm kernel between jobs (:mod:`maturity_analysis.reports.worker` holds
it per thread), and between runs too, for as long as the worker lives.
"""

from __future__ import annotations

import atexit
import hashlib
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import replace
from functools import cache
from pathlib import Path

from .. import __version__
from ..exceptions import ReportError
from ..files import write_atomic
from .jobs import Dataset, Job, JobResult
from .worker import warm_up


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


CONNECT_TIMEOUT = 30
FILE_PARAMETERS = ("plan_file",)

_staging_lock = threading.Lock()


@cache
def _staging_root() -> Path:
    """Worker side: this process's folder for the datasets and files it was sent."""
    root = Path(tempfile.mkdtemp(prefix="maturity-dask-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    return root


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def dataset_bundle(dataset: Dataset) -> tuple[str, dict[str, bytes]]:
    """The files of a prepared dataset's folder (policies.parquet, manifest.json, ...) and a
    token naming their content."""
    folder = Path(dataset.policies).parent
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}
    token = _sha(repr([dataset.name, *((n, _sha(d)) for n, d in files.items())]).encode())
    return token, files


def _stage_dataset(dataset: Dataset, bundle: tuple[str, dict[str, bytes]]) -> Path:
    """Worker side: write a dataset's files once per process; its processed-data root."""
    token, files = bundle
    root = _staging_root() / "data" / token
    with _staging_lock:
        if not root.exists():
            tmp = root.with_name(f".{token}.tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            (tmp / dataset.name).mkdir(parents=True)
            for name, data in files.items():
                (tmp / dataset.name / name).write_bytes(data)
            tmp.rename(root)
    return root


def _stage_file(name: str, data: bytes) -> Path:
    """Worker side: a notebook (or plan file) written once per process, in a folder that
    outlives the job (the warm kernel keeps a notebook's folder as its working directory)."""
    path = _staging_root() / "files" / _sha(data) / name
    with _staging_lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    return path


def _package_version() -> str:

    return __version__


def _outputs(job: Job) -> dict[str, Path]:
    """Every file a job may leave, by role."""
    return {
        "executed": job.executed,
        "output": job.output,
        "failed": job.failed_notebook,
        "stamp": job.stamp,
    }


def job_files(job: Job) -> dict[str, tuple[str, bytes]]:
    """Client side: the files a job reads besides the dataset, by role: its notebook and any
    file-valued notebook parameter (``plan_file``), as (file name, bytes)."""
    files = {}
    if job.notebook is not None:
        files["notebook"] = (Path(job.notebook).name, Path(job.notebook).read_bytes())
    for name in FILE_PARAMETERS:
        if job.parameters.get(name):
            path = Path(job.parameters[name])
            files[name] = (path.name, path.read_bytes())
    return files


def run_remote(
    fn: Callable[[Job], JobResult],
    job: Job,
    files: dict[str, tuple[str, bytes]],
    bundle: tuple[str, dict[str, bytes]],
) -> tuple[JobResult, dict[str, bytes]]:
    """Worker side: run ``fn(job)`` on local copies of its inputs, into a private folder.

    Returns the result (naming the client's job) and the bytes of the files the job left.
    """
    root = _stage_dataset(job.dataset, bundle)
    staged = {role: _stage_file(name, data) for role, (name, data) in files.items()}
    with tempfile.TemporaryDirectory(prefix="maturity-job-") as tmp:
        dataset = replace(job.dataset, policies=root / job.dataset.name / "policies.parquet")
        local = replace(job, output=Path(tmp) / job.output.name, dataset=dataset)
        parameters = job.parameters | {k: str(v) for k, v in staged.items() if k in FILE_PARAMETERS}
        local = replace(local, parameters=parameters)
        if "notebook" in staged:
            parameters = {**parameters, "processed_dir": str(root)}
            local = replace(local, notebook=staged["notebook"], parameters=parameters)
        result = fn(local)
        outputs = {role: p.read_bytes() for role, p in _outputs(local).items() if p.exists()}
    return replace(result, job=job), outputs


def deliver(job: Job, result: JobResult, files: dict[str, bytes]) -> JobResult:
    """Client side: write what a worker returned for ``job``, atomically, the stamp last.

    A failed job leaves only its ``*.failed.ipynb`` (when it got that far), never an HTML,
    executed notebook or stamp that looks finished.
    """
    paths = _outputs(job)
    paths["stamp"].unlink(missing_ok=True)
    if not result.ok:
        for role in ("output", "executed"):
            paths[role].unlink(missing_ok=True)
    else:
        paths["failed"].unlink(missing_ok=True)
    for role in ("failed", "executed", "output", "stamp"):
        if role in files and (result.ok or role == "failed"):
            write_atomic(paths[role], files[role])
    return result


class DaskFuture:
    """A submitted job: its Dask future, and on ``result()`` the delivered :class:`JobResult`."""

    def __init__(self, future, job: Job):
        self.future = future
        self.job = job
        self._result: JobResult | None = None

    def result(self) -> JobResult:
        """Wait for the job, write its files (once) and return its result.

        Raises what the cluster raised when the job could not run at all (e.g.
        ``distributed.KilledWorker``); the runner turns that into this job's failure.
        """
        if self._result is None:
            result, files = self.future.result()
            self._result = deliver(self.job, result, files)
        return self._result


class DaskExecutor:
    """Jobs sent to a running Dask distributed scheduler instead of local worker processes.

    Parameters
    ----------
    address : str
        The scheduler, e.g. ``tcp://10.0.0.5:8786``.
    timeout : float
        Seconds to wait for the scheduler to answer and for at least one worker.

    Raises
    ------
    ReportError
        The scheduler cannot be reached, has no worker, or a worker runs another version of
        this package.
    """

    def __init__(self, address: str, timeout: float = CONNECT_TIMEOUT):
        from distributed import Client

        try:
            self.client = Client(address, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ReportError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        try:
            self.client.wait_for_workers(1, timeout=timeout)
            self._check_versions()
        except BaseException as exc:
            self.client.close()
            if isinstance(exc, TimeoutError):
                raise ReportError(
                    f"the Dask scheduler at {address} has no worker "
                    f"(waited {timeout:g} s); start some with "
                    f"`dask worker {address}`"
                ) from exc
            raise
        self._data: dict[Path, object] = {}
        self._submitted: list[DaskFuture] = []

    def _check_versions(self) -> None:

        theirs = self.client.run(_package_version)
        other = sorted(worker for worker, version in theirs.items() if version != __version__)
        if other:
            raise ReportError(
                f"Dask worker(s) {', '.join(other)} run another version of maturity-analysis "
                f"than {__version__}: install the same package on every worker and restart them"
            )

    def _dataset_future(self, dataset: Dataset):
        """The dataset's files, sent to every worker once per run."""
        if dataset.policies not in self._data:
            [sent] = self.client.scatter([dataset_bundle(dataset)], broadcast=True, hash=False)
            self._data[dataset.policies] = sent
        return self._data[dataset.policies]

    def submit(self, fn: Callable[[Job], JobResult], job: Job) -> DaskFuture:
        """Run ``fn(job)`` on a worker (never cached: every job is run)."""
        future = self.client.submit(
            run_remote,
            fn,
            job,
            job_files(job),
            self._dataset_future(job.dataset),
            key=f"report-{job.name}-{uuid.uuid4().hex}",
        )
        self._submitted.append(DaskFuture(future, job))
        return self._submitted[-1]

    def as_completed(self, futures: Iterable[DaskFuture]) -> Iterator[DaskFuture]:
        """The futures as their jobs finish."""
        from distributed import as_completed

        by_key = {f.future.key: f for f in futures}
        for done in as_completed([f.future for f in by_key.values()]):
            yield by_key[done.key]

    def close(self) -> None:
        """Cancel what has not run, drop the data sent and disconnect (the cluster runs on)."""
        pending = [f.future for f in self._submitted if not f.future.done()]
        if pending:
            self.client.cancel(pending)
        self._submitted.clear()
        self._data.clear()
        self.client.close()

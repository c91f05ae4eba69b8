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
import contextlib
import hashlib
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from functools import cache
from pathlib import Path

from .. import __version__
from ..exceptions import ReportError
from ..files import write_atomic
from .jobs import Dataset, Job, JobResult
from .lifeline import (
    TERMINATED,
    die_with_parent,
    quiet_resource_tracker,
    remove_kernel_folders,
    temp_root,
)

JOB_TIMEOUT_ENV = "MATURITY_ANALYSIS_JOB_TIMEOUT"
JOB_TIMEOUT = 1800.0  # seconds one job may run: far past any report, still not forever
POLL = 1.0  # seconds between looks at the running jobs
START_TRIES = 3  # pools in a row whose workers die before any job: then the jobs fail


def job_timeout_setting() -> float:
    """Seconds one job may run before its worker is ended: ``$MATURITY_ANALYSIS_JOB_TIMEOUT``,
    else :data:`JOB_TIMEOUT`."""
    text = os.environ.get(JOB_TIMEOUT_ENV, "").strip()
    if not text:
        return JOB_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = 0.0
    if not seconds > 0:
        raise ReportError(f"{JOB_TIMEOUT_ENV}={text!r}: give the seconds a job may run, e.g. 1800")
    return seconds


def _timed_out(seconds: float, where: str) -> str:
    return (
        f"the job ran past its time limit ({seconds:g} s, {JOB_TIMEOUT_ENV}) and was stopped "
        f"({where}); the other jobs ran on"
    )


def skip_slow_imports() -> None:
    """Keep ``rfc3987_syntax`` from being imported in this process.

    jsonschema (imported by nbformat) imports it, when installed, only to check the ``iri``
    string format, which notebooks never use; building its grammar takes 1.5-3 s, the
    largest part of importing nbformat. For the runner's own processes (the command's and
    its local workers), called before anything imports nbformat.
    """
    sys.modules.setdefault("rfc3987_syntax", None)


def _start_worker(parent: int, started, temp: str) -> None:
    """Initializer of a local worker: temporary files (its kernels' folders) in ``temp``, the
    parent's; die with the parent (killing its kernels), leave Ctrl-C to the parent, which
    lets running jobs end and cancels the rest; then warm up.

    A failure to warm up must not break the pool: each job then starts the kernel itself and
    reports what goes wrong.
    """
    global _started
    skip_slow_imports()
    from .worker import kill_kernels, warm_up  # here: after the skip

    _started = started
    tempfile.tempdir = temp
    die_with_parent(parent, cleanup=kill_kernels)
    quiet_resource_tracker()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        warm_up()
    except Exception:  # noqa: BLE001, S110 - the jobs report it, with the cause
        pass


_started = None  # in a local worker: the queue telling the parent which job it starts


def _tracked(number: int, fn, *args):
    """In a local worker: say "job ``number`` runs in this process", then run it."""
    _started.put((number, os.getpid()))
    return fn(*args)


class WorkerDied(ReportError):
    """The worker process running a job died (killed, or out of memory)."""


class JobTimedOut(ReportError):
    """A job ran past its time limit (:func:`job_timeout_setting`): it hung, or its kernel did."""


class LocalFuture(Future):
    """A job submitted to :class:`LocalExecutor`; it survives the pool being replaced."""

    def __init__(self, number: int, fn, args: tuple):
        super().__init__()
        self.number, self.fn, self.args = number, fn, args
        self.inner: Future | None = None


class LocalExecutor:
    """Worker processes on this machine, each with one warm kernel (started as it starts).

    A worker that dies (killed, out of memory) fails only the job it was running: the pool
    is replaced and the jobs it had not finished are run again on the new one. A job that runs
    past ``job_timeout`` seconds (a hung kernel or worker) has its worker killed and fails
    alike, with :class:`JobTimedOut`. Workers die with the process that started them
    (:mod:`maturity_analysis.reports.lifeline`); the kernel folders of a worker that is gone
    are removed as the pool is replaced or closed.

    Parameters
    ----------
    workers : int, optional
        Number of processes (default: the number of cores).
    job_timeout : float, optional
        Seconds one job may run (default: :func:`job_timeout_setting`).
    """

    def __init__(self, workers: int | None = None, job_timeout: float | None = None):
        self.workers = workers or os.cpu_count() or 1
        self.job_timeout = job_timeout or job_timeout_setting()
        quiet_resource_tracker()
        self._temp = temp_root()  # the workers' temporary folder, and their kernels'
        self._context = multiprocessing.get_context("spawn")
        self._started = self._context.SimpleQueue()
        self._count = 0
        self._seen: dict = {}  # pid → Process of the current pool, as last seen
        self._gone: set[int] = set()  # pids of every worker so far (their folders go with them)
        self._running: dict[int, tuple[int, float]] = {}  # job number → (pid, start)
        self._stopped: dict[int, str] = {}  # pid → why it was killed (its job timed out)
        self._unstarted = 0  # pools in a row that broke before any job started
        self._pool = self._new_pool()

    def _processes(self) -> dict:
        # the pool's processes by pid (a private attribute: the pool names no dead worker)
        return dict(getattr(self._pool, "_processes", None) or {})

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=self._context,
            initializer=_start_worker,
            initargs=(os.getpid(), self._started, self._temp),
        )

    def _send(self, future: LocalFuture) -> None:
        future.inner = self._pool.submit(_tracked, future.number, future.fn, *future.args)

    def submit(self, fn, *args) -> Future:
        """Run ``fn(*args)`` in a worker."""
        self._count += 1
        future = LocalFuture(self._count, fn, args)
        self._send(future)
        return future

    def _drain(self) -> None:
        """Note the jobs the workers said they started."""
        while not self._started.empty():
            number, pid = self._started.get()
            self._running[number] = (pid, time.monotonic())

    def _stop_overdue(self, pending: list[LocalFuture]) -> None:
        """Kill the worker of each job running past its time limit (its pool then breaks)."""
        now = time.monotonic()
        for future in pending:
            pid, start = self._running.get(future.number, (None, now))
            if pid is not None and pid not in self._stopped and now - start > self.job_timeout:
                where = f"its worker, pid {pid}, was killed"
                self._stopped[pid] = _timed_out(self.job_timeout, where)
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)  # a hung worker may not run a SIGTERM handler

    def _replace_pool(self, pending: list[LocalFuture]) -> None:
        """The pool broke: fail the jobs the dead worker held, run the others on a new pool."""
        processes = {**self._seen, **self._processes()}
        self._seen = {}
        wait([f.inner for f in pending])
        self._pool.shutdown(wait=True, cancel_futures=True)
        for process in processes.values():
            process.join(timeout=5)
        remove_kernel_folders(processes, self._temp)
        self._drain()
        running = {number: pid for number, (pid, _) in self._running.items()}
        self._running = {}
        # the pool ends the other workers with SIGTERM: the dead one is the one it did not end
        dead = {
            pid: p.exitcode
            for pid, p in processes.items()
            if p.exitcode not in (None, -signal.SIGTERM, TERMINATED)
        }
        held = [f for f in pending if running.get(f.number) in dead]
        if not held:  # no worker stands out: every job that was running is suspect
            held = [f for f in pending if f.number in running]
        # workers that die as they start, before any job, would be replaced forever
        self._unstarted = 0 if running else self._unstarted + 1
        if self._unstarted >= START_TRIES:
            codes = sorted({p.exitcode for p in processes.values()}, key=str)
            for future in pending:
                future.set_exception(
                    WorkerDied(
                        f"the worker processes died as they started, {START_TRIES} times "
                        f"(exit codes {', '.join(map(str, codes))}); no job could run"
                    )
                )
            self._pool = self._new_pool()
            return
        self._pool = self._new_pool()
        for future in pending:
            if future in held:
                pid = running[future.number]
                if pid in self._stopped:
                    future.set_exception(JobTimedOut(self._stopped.pop(pid)))
                    continue
                future.set_exception(
                    WorkerDied(
                        f"the worker process running this job (pid {pid}) died "
                        f"(exit code {dead.get(pid, processes[pid].exitcode)}); "
                        "the other jobs ran on a new worker"
                    )
                )
            elif future.inner.exception() is not None and isinstance(
                future.inner.exception(), BrokenProcessPool
            ):
                self._send(future)
            else:
                self._settle(future)

    @staticmethod
    def _settle(future: LocalFuture) -> None:
        exc = future.inner.exception()
        if exc is None:
            future.set_result(future.inner.result())
        else:
            future.set_exception(exc)

    def as_completed(self, futures: Iterable[Future]) -> Iterator[Future]:
        """The futures as they finish (a job whose worker died finishes with
        :class:`WorkerDied`)."""
        pending = list(futures)
        while pending:
            self._seen.update(self._processes())
            self._gone.update(self._seen)
            done, _ = wait([f.inner for f in pending], timeout=POLL, return_when=FIRST_COMPLETED)
            self._drain()
            broken = [f for f in pending if f.inner in done and _broke(f.inner)]
            if broken:
                self._replace_pool([f for f in pending if not f.done()])
            else:
                for future in [f for f in pending if f.inner in done]:
                    self._settle(future)
                    self._running.pop(future.number, None)
                self._stop_overdue([f for f in pending if not f.done()])
            for future in [f for f in pending if f.done()]:
                pending.remove(future)
                yield future

    def close(self) -> None:
        """Stop the workers (and their kernels); pending jobs are cancelled."""
        self._gone.update(self._processes())
        self._pool.shutdown(wait=True, cancel_futures=True)
        remove_kernel_folders(self._gone, self._temp)


def _broke(future: Future) -> bool:
    return not future.cancelled() and isinstance(future.exception(), BrokenProcessPool)


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
        self.timed_out = ""  # why the job was stopped, when it ran past its time limit

    def result(self) -> JobResult:
        """Wait for the job, write its files (once) and return its result.

        Raises what the cluster raised when the job could not run at all (e.g.
        ``distributed.KilledWorker``); the runner turns that into this job's failure.
        """
        if self.timed_out:
            raise JobTimedOut(self.timed_out)
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
    job_timeout : float, optional
        Seconds one job may run once a worker has it (default: :func:`job_timeout_setting`);
        then it is cancelled and fails with :class:`JobTimedOut`.

    Raises
    ------
    ReportError
        The scheduler cannot be reached, has no worker, or a worker runs another version of
        this package.
    """

    def __init__(
        self, address: str, timeout: float = CONNECT_TIMEOUT, job_timeout: float | None = None
    ):
        from distributed import Client

        self.job_timeout = job_timeout or job_timeout_setting()

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
        """The futures as their jobs finish; a job still running ``job_timeout`` seconds after
        the scheduler gave it to a worker is cancelled and finishes with :class:`JobTimedOut`."""
        from distributed import wait as wait_for

        pending = {f.future.key: f for f in futures}
        given: dict = {}  # key → when first seen on a worker
        while pending:
            try:
                done, _ = wait_for(
                    [f.future for f in pending.values()], timeout=POLL, return_when=FIRST_COMPLETED
                )
            except TimeoutError:
                done = set()
            for future in done:
                yield pending.pop(future.key)
            now = time.monotonic()
            on_workers = {key for keys in self.client.processing().values() for key in keys}
            for key in [k for k in pending if k in on_workers]:
                given.setdefault(key, now)
                if now - given[key] > self.job_timeout:
                    overdue = pending.pop(key)
                    self.client.cancel([overdue.future], force=True)
                    overdue.timed_out = _timed_out(self.job_timeout, "cancelled on the cluster")
                    yield overdue

    def close(self) -> None:
        """Cancel what has not run, drop the data sent and disconnect (the cluster runs on)."""
        pending = [f.future for f in self._submitted if not f.future.done()]
        if pending:
            self.client.cancel(pending)
        self._submitted.clear()
        self._data.clear()
        self.client.close()

"""Warm IPython kernels: start once, preload the libraries, run many notebooks in a clean state.

Starting a kernel and importing pandas and matplotlib costs seconds, while a branch's
notebook does a fraction of a second of work. A :class:`WarmKernel` pays the start-up once and
then runs notebook after notebook, restoring the kernel's baseline state before each
(:mod:`maturity_analysis.reports.kernelstate`). The kernel runs this very interpreter
(``sys.executable``), so it needs no installed kernelspec: a fresh clone with only ``.venv``
works.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
from contextlib import asynccontextmanager

import zmq.asyncio
from ipykernel.kernelspec import make_ipkernel_cmd
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from ..exceptions import ReportError
from .lifeline import FOLDER_ENV, PARENT_ENV, kernel_folder_prefix

# ipykernel sleeps 0.5 ms before every execute reply, for frontends that stop reading a cell's
# output at its reply; nbclient reads it until the kernel's idle status, which follows every
# output, so the reports lose nothing without it (a run of eight units: 2% less wall time).
KERNEL_ARGS = (
    "--HistoryManager.enabled=False",
    "--Application.log_level=WARN",
    "--IPythonKernel._execute_sleep=0",
)
# Run by the kernel as it starts, before it answers: die with the worker (its lifeline), preload
# the libraries, record the baseline.
PRELOAD_LINE = (
    "import maturity_analysis.reports.lifeline as _ll; _ll.kernel_lifeline(); del _ll; "
    "import maturity_analysis.reports.kernelstate as _ks; _ks.warm_up(); del _ks"
)
PRELOAD_ARG = f"--IPKernelApp.exec_lines={PRELOAD_LINE}"


IPC_PATH_MAX = 100  # of sun_path's 107 bytes, room for jupyter's "-<port>"
LOOPBACK = ("tcp", "127.0.0.1")


def _context() -> zmq.asyncio.Context:
    """A ZeroMQ context whose sockets drop unsent messages when closed (linger 0): one left to
    the garbage collector after its kernel died must not block the worker forever."""
    context = zmq.asyncio.Context()
    context.setsockopt(zmq.LINGER, 0)
    return context


class ThisPythonKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel is ``sys.executable -m ipykernel_launcher``."""

    @property
    def kernel_spec(self) -> KernelSpec:
        """The spec of an IPython kernel on the running interpreter."""
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(
                argv=make_ipkernel_cmd(python_arguments=["-Xfrozen_modules=off"]),
                display_name=f"Python {sys.version_info.major}.{sys.version_info.minor}",
                language="python",
                name="python3",
            )
        return self._kernel_spec


class WarmClient(NotebookClient):
    """A notebook client on a kernel someone else keeps: it neither starts nor stops it.

    nbclient's own set-up would also install SIGINT/SIGTERM handlers that shut the kernel down
    (and stay installed afterwards), so a worker could no longer leave Ctrl-C to its parent.
    """

    @asynccontextmanager
    async def async_setup_kernel(self, **kwargs):
        """Use the kernel and client given (``km``, ``kc``) as they are."""
        yield


class WarmKernel:
    """One long-lived kernel that executes notebooks one after another, isolated.

    Parameters
    ----------
    cell_timeout : int
        Seconds a cell may run before it is interrupted and the kernel restarted.
    startup_timeout : int
        Seconds to wait for the kernel to start.
    """

    def __init__(self, cell_timeout: int = 600, startup_timeout: int = 120):
        self.cell_timeout = cell_timeout
        self.startup_timeout = startup_timeout
        self.km: ThisPythonKernelManager | None = None
        self.kc = None
        self._sockets = ""
        self._ready = False

    @property
    def alive(self) -> bool:
        """Whether the kernel process is running."""
        return self.km is not None and run_sync(self.km.is_alive)()

    def launch(self) -> None:
        """Start the kernel process (if not running) without waiting for it.

        The kernel imports the libraries as it boots (``PRELOAD_LINE``), so the caller can do
        other work meanwhile; :meth:`start` waits until it is ready.
        """
        if self.km is not None:
            if self.alive:
                return
            self.shutdown()  # it died: clear its client and sockets first
        self._ready = False
        run_sync(self._launch)()

    async def _launch(self) -> None:
        # IPC sockets in a private folder: faster than TCP, no ports to collide, nothing in cwd.
        # The folder names this worker, so the pool can remove it once the worker is gone.
        self._sockets = tempfile.mkdtemp(prefix=kernel_folder_prefix(os.getpid()))
        ipc = os.path.join(self._sockets, "kernel")
        # A socket path holds 107 bytes and jupyter adds "-<port>": under a long TMPDIR the
        # kernel could not bind and died at start, so it talks over loopback TCP instead.
        transport, ip = ("ipc", ipc) if len(os.fsencode(ipc)) <= IPC_PATH_MAX else LOOPBACK
        self.km = ThisPythonKernelManager(
            kernel_name="python3",
            transport=transport,
            ip=ip,
            connection_file=os.path.join(self._sockets, "kernel.json"),
            context=_context(),
        )
        env = {
            **os.environ,
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            # an empty IPython profile of its own: the user's kernel config and startup files
            # (figure settings, what a cell shows) must not change the reports
            "IPYTHONDIR": os.path.join(self._sockets, "ipython"),
            PARENT_ENV: str(os.getpid()),
            FOLDER_ENV: self._sockets,
        }
        try:
            await self.km.start_kernel(extra_arguments=[*KERNEL_ARGS, PRELOAD_ARG], env=env)
            self.kc = self.km.client(context=_context())
            self.kc.start_channels()
        except Exception as exc:
            self._discard()
            raise ReportError(f"the report kernel could not start: {exc}") from exc
        self.kc.allow_stdin = False

    def _discard(self) -> None:
        """Drop a kernel that failed to start: kill it, close its sockets, remove its folder."""
        km, kc = self.km, self.kc
        if kc is not None:
            with contextlib.suppress(Exception):  # its channels may be half started
                kc.stop_channels()
        self.kill()
        for context in (getattr(kc, "context", None), getattr(km, "context", None)):
            if context is not None:
                context.destroy(linger=0)

    def start(self) -> None:
        """Start the kernel (if not running) and wait until it has preloaded the libraries.

        A kernel launched but not yet ready is waited for, not replaced: if it died at start,
        this says so (:class:`ReportError`, with its exit code).
        """
        if self.km is None or self._ready:
            self.launch()
        if not self._ready:
            try:
                run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
            except RuntimeError as exc:  # it died at start, or never answered
                process = getattr(getattr(self.km, "provisioner", None), "process", None)
                code = None if process is None else process.poll()
                self._discard()
                died = "" if code is None else f" (exit code {code})"
                raise ReportError(f"the report kernel could not start{died}: {exc}") from exc
            self._ready = True

    async def _run_silently(self, code: str) -> None:
        """Run set-up ``code`` without output or history."""
        reply = await self.kc.execute_interactive(
            code, silent=True, store_history=False, timeout=self.startup_timeout
        )
        content = reply["content"]
        if content["status"] != "ok":
            raise ReportError(
                f"the report kernel could not run its set-up code: "
                f"{content.get('ename')}: {content.get('evalue')}"
            )

    def shutdown(self) -> None:
        """Stop the kernel (if running)."""
        if self.km is None:
            return
        if self.kc is None:  # it never started
            self._discard()
            return
        km, kc, self.km, self.kc = self.km, self.kc, None, None
        kc.stop_channels()
        try:
            run_sync(km.shutdown_kernel)(now=True)
        finally:
            # End both ZeroMQ contexts now, dropping unsent messages (see _context).
            kc.context.destroy(linger=0)
            km.context.destroy(linger=0)
            shutil.rmtree(self._sockets, ignore_errors=True)

    def kill(self) -> None:
        """Kill the kernel at once and remove its folder: for a worker that is being ended
        (no messages, no event loop; safe from a signal handler or another thread)."""
        km, self.km, self.kc = self.km, None, None
        pid = getattr(getattr(km, "provisioner", None), "pid", None)
        if pid:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)  # its own session (jupyter_client starts it so)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self._sockets, ignore_errors=True)

    def restart(self) -> None:
        """Replace the kernel with a fresh, warmed-up one."""
        self.shutdown()
        self.start()

    def execute(self, nb: NotebookNode, cwd: str) -> NotebookNode:
        """Run every cell of ``nb`` (in place) from ``cwd`` after restoring the baseline state.

        Raises
        ------
        nbclient.exceptions.CellExecutionError
            A cell raised; the kernel stays warm and is reset before the next notebook.
        nbclient.exceptions.DeadKernelError, CellTimeoutError
            The kernel died or hung; it has been replaced by a fresh one before this raises.
        """
        self.start()
        reset = f"import maturity_analysis.reports.kernelstate as _ks\n_ks.restore({cwd!r})\n"
        try:
            run_sync(self._run_silently)(reset)
        except (ReportError, TimeoutError, RuntimeError):
            self.restart()
            run_sync(self._run_silently)(reset)
        client = WarmClient(
            nb,
            km=self.km,
            kernel_name="python3",
            timeout=self.cell_timeout,
            interrupt_on_timeout=True,
            startup_timeout=self.startup_timeout,
            record_timing=False,  # no execution times in the notebook: same run, same bytes
            # one output per stream and cell: the kernel flushes a print's pieces on a timer,
            # so under load one print could come as two outputs, and the page would differ
            coalesce_streams=True,
        )
        client.kc = self.kc
        try:
            return client.execute()
        except (DeadKernelError, CellTimeoutError):
            self.restart()
            raise

"""Processes that die with their parent: a killed run leaves no worker, kernel or folder behind.

A local report worker (:mod:`maturity_analysis.reports.executors`) calls :func:`die_with_parent`
as it starts: on Linux the kernel sends it SIGTERM the moment its parent dies
(``prctl(PR_SET_PDEATHSIG)``), and everywhere a watchdog thread notices the parent is gone
(``getppid`` changes) within ``POLL`` seconds. Either way the worker runs its clean-up (it
kills its kernels and removes their ``maturity-kernel-*`` folders) and exits.

A report kernel calls :func:`kernel_lifeline` as it boots (the worker passes its own pid and
the kernel's folder in the environment): a watchdog thread that, when the worker is gone,
removes the folder and exits. The folder is named after its worker
(:func:`kernel_folder_prefix`), so the pool removes a dead worker's folders itself as it
replaces the worker (:func:`remove_kernel_folders`): a worker killed while it was starting
its kernel leaves no folder either. Kernels use the watchdog only: ``PR_SET_PDEATHSIG`` fires when
the *thread* that started the process ends, and a kernel is started from whichever thread of
the worker ran the job.

:func:`quiet_resource_tracker` keeps a killed multiprocessing resource tracker from flooding
stderr: the tracker multiprocessing relaunches never saw the semaphores registered with the
dead one and prints a traceback for each as it is released.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable

POLL = 0.5
PARENT_ENV = "MATURITY_KERNEL_PARENT"
FOLDER_ENV = "MATURITY_KERNEL_DIR"
FOLDER_PREFIX = "maturity-kernel-"
_PR_SET_PDEATHSIG = 1
# The exit code of a process ended by SIGTERM through :func:`die_with_parent`'s handler.
TERMINATED = 128 + signal.SIGTERM


def _watch(parent: int, end: Callable[[], None]) -> None:
    while True:
        if os.getppid() != parent:
            end()
        time.sleep(POLL)


def die_with_parent(parent: int, cleanup: Callable[[], None] | None = None) -> None:
    """End this process (after ``cleanup``) when process ``parent`` — its parent — dies, or
    when it receives SIGTERM.

    Call it from the main thread (it installs a SIGTERM handler).
    """

    def end(*_args) -> None:
        if cleanup is not None:
            with contextlib.suppress(Exception):
                cleanup()
        os._exit(TERMINATED)

    signal.signal(signal.SIGTERM, end)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # it died before the line above
        end()
    threading.Thread(target=_watch, args=(parent, end), name="lifeline", daemon=True).start()


def kernel_lifeline() -> None:
    """In a report kernel: exit, removing the kernel's folder, when its worker dies."""
    parent = os.environ.get(PARENT_ENV, "")
    if not parent.isdigit():
        return
    folder = os.environ.get(FOLDER_ENV)

    def end() -> None:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
        os._exit(1)

    if os.getppid() != int(parent):
        end()
    threading.Thread(target=_watch, args=(int(parent), end), name="lifeline", daemon=True).start()


def kernel_folder_prefix(worker: int) -> str:
    """The name with which the folders of process ``worker``'s kernels begin."""
    return f"{FOLDER_PREFIX}{worker}-"


def temp_root() -> str:
    """The folder for temporary files that a process started now would use: what
    ``tempfile.gettempdir()`` gives from this process's environment as it is, not as it was
    when first called (``$TMPDIR`` may have changed since)."""
    saved = tempfile.tempdir
    tempfile.tempdir = None
    try:
        return tempfile.gettempdir()
    finally:
        tempfile.tempdir = saved


def remove_kernel_folders(workers, root: str) -> None:
    """Remove from ``root`` the kernel folders of the processes ``workers`` (pids), ended."""
    prefixes = tuple(kernel_folder_prefix(worker) for worker in workers)
    if not prefixes:
        return
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith(prefixes):
                shutil.rmtree(entry.path, ignore_errors=True)


def quiet_resource_tracker() -> None:
    """Give a *relaunched* resource tracker no stderr, and say once that it was relaunched.

    The first tracker keeps stderr (its warnings about leaked resources matter); one that
    replaces a killed tracker would print a ``KeyError`` traceback for every semaphore
    released afterwards. Call once per process (the parent and each worker).
    """
    from multiprocessing import resource_tracker

    tracker = resource_tracker._resource_tracker  # the process's tracker (no public handle)
    if getattr(tracker, "_maturity_quiet", False):
        return
    launch = tracker.ensure_running

    def ensure_running():
        if tracker._fd is None or tracker._check_alive():
            return launch()
        # the tracker inherits file descriptor 2: point it at /dev/null while it starts
        sys.stderr.flush()
        shown, quiet = os.dup(2), os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(quiet, 2)
            launch()
        finally:
            os.dup2(shown, 2)
            os.close(shown)
            os.close(quiet)
        print(
            "note: the multiprocessing resource tracker was killed and has been restarted; "
            "its messages about what it lost are not shown",
            file=sys.stderr,
        )

    tracker.ensure_running = ensure_running
    tracker._maturity_quiet = True

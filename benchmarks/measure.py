"""Timing and memory of whole child processes, and the machine they ran on.

``measure`` runs a command to completion and reads its wall time and, from ``wait4``, its peak
resident memory (the largest single process among it and the children it waited for).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
BIN = Path(sys.executable).parent
MB = 1024 * 1024


@dataclass(frozen=True)
class Run:
    """One measured child process."""

    wall: float
    rc: int
    peak_mb: float
    user: float
    sys: float


def measure(cmd: list[str], log: Path, cwd: Path = ROOT) -> Run:
    """Run ``cmd`` to completion with output appended to ``log``; time it and read its peak RSS."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(map(str, cmd))}\n".encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(c) for c in cmd], cwd=cwd, stdout=out, stderr=out, stdin=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, proc.returncode, usage.ru_maxrss / 1024, usage.ru_utime, usage.ru_stime)


def run_checked(cmd: list[str], log: Path) -> Run:
    """``measure`` a step the benchmark cannot go on without; stop with the log's tail if it fails."""
    result = measure(cmd, log)
    if result.rc != 0:
        tail = log.read_text(errors="replace").splitlines()[-30:]
        sys.exit(f"failed (exit {result.rc}): {' '.join(map(str, cmd))}\n" + "\n".join(tail))
    return result


def say(message: str) -> None:
    """Progress on stderr, with the time of day."""
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# -- machine --------------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    """Cores, memory, CPU, versions and the commit measured."""
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kb = int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal")))
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit or "?",
        "cores": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable), {cpu}",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "OS": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    for package in (
        "maturity-analysis",
        "pandas",
        "numpy",
        "pyarrow",
        "papermill",
        "nbconvert",
        "nbclient",
        "ipykernel",
        "matplotlib",
        "dask",
        "distributed",
    ):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = "not installed"
    return info

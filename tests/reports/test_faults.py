"""Faults: a killed worker fails only its job; a killed parent leaves no process or folder behind.

The fixture notebook 05_fault kills its own worker for the branch named in
``MATURITY_TEST_KILL_WORKER`` and sleeps ``MATURITY_TEST_SLEEP`` seconds. Children are found
with psutil when installed, else by reading /proc.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from maturity_analysis.analysis.book import ALL
from maturity_analysis.reports.executors import LocalExecutor
from maturity_analysis.reports.run import run_reports
from maturity_analysis.sample.book import scaled_policies

FIXTURES = Path(__file__).parents[1] / "fixtures"
DATASET = "faults"
BRANCHES = ("B01", "B02", "B03")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux processes")


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A 30-policy book over three branches, prepared once."""
    root = tmp_path_factory.mktemp("faults")
    frame = scaled_policies(30, seed=3, branches=3)
    codes = sorted(frame["网点代码"].unique())
    frame["网点代码"] = frame["网点代码"].map(dict(zip(codes, BRANCHES, strict=True)))
    raw = root / "data" / "raw" / DATASET
    raw.mkdir(parents=True)
    frame.to_excel(raw / "policies.xlsx", index=False)
    return root


def _children(pid: int) -> set[int]:
    """Every descendant of ``pid``."""
    try:
        import psutil

        return {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except ImportError:
        pass
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has ended


def _wait_for(predicate, seconds: float = 60.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def _kernel_folders(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("maturity-kernel-*"))


def test_killed_worker_fails_only_its_job(book, tmp_path, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))  # the workers' and kernels' temporary folders
    monkeypatch.setenv("MATURITY_TEST_KILL_WORKER", "B02")
    executor = LocalExecutor(2)
    try:
        result = run_reports(
            DATASET,
            "2013",
            [ALL, *BRANCHES],
            out_dir=tmp_path / "out",
            raw_dir=book / "data" / "raw",
            processed_dir=book / "data" / "processed",
            notebooks=[FIXTURES / "05_fault.ipynb"],
            executor=executor,
            progress=False,
        )
    finally:
        executor.close()
    assert [(r.job.name, r.error.error) for r in result.failed] == [
        ("B02/05_fault.html", "WorkerDied")
    ]
    assert len(result.built) == len(result.jobs) - 1
    for r in result.built:  # every finished job's outputs are there
        assert r.job.output.is_file() and r.job.stamp.is_file()
    # the dead worker's kernel folder is removed with it (by the kernel or by the pool)
    assert _wait_for(lambda: not _kernel_folders(temp), 60), _kernel_folders(temp)


# Stands in for ``python -m ipykernel_launcher``: the first two kernels exit at once (the
# worker's warm-up, then its first job's), the next ones start as usual.
LAUNCHER = """
import os, sys
starts = os.environ["MATURITY_TEST_KERNEL_STARTS"]
with open(starts, "a") as f:
    f.write("x")
if os.path.getsize(starts) <= 2:
    sys.exit(3)
from ipykernel import kernelapp
kernelapp.launch_new_instance()
"""


def _fault_run(book, out: Path, notebook: str, executor):
    return run_reports(
        DATASET,
        "2013",
        [ALL, "B01"],
        out_dir=out,
        raw_dir=book / "data" / "raw",
        processed_dir=book / "data" / "processed",
        notebooks=[FIXTURES / notebook],
        executor=executor,
        progress=False,
    )


def test_kernel_that_cannot_start_fails_only_its_job(book, tmp_path, monkeypatch):
    launcher = tmp_path / "launcher"
    launcher.mkdir()
    (launcher / "ipykernel_launcher.py").write_text(LAUNCHER)
    monkeypatch.setenv("PYTHONPATH", str(launcher))
    monkeypatch.setenv("MATURITY_TEST_KERNEL_STARTS", str(tmp_path / "starts"))
    executor = LocalExecutor(1)  # one worker: its jobs run in the order planned
    try:
        result = _fault_run(book, tmp_path / "out", "05_fault.ipynb", executor)
    finally:
        executor.close()
    first = next(j for j in result.jobs if j.notebook is not None)
    [failed] = result.failed
    assert failed.job == first
    assert failed.error.error == "ReportError"
    assert failed.error.message.startswith("the report kernel could not start (exit code 3)")
    assert len(result.built) == len(result.jobs) - 1
    assert all(r.job.output.is_file() for r in result.built)
    assert not first.output.exists()


def test_hung_job_times_out_alone(book, tmp_path, monkeypatch):
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    monkeypatch.setenv("MATURITY_TEST_HANG", "B01")
    executor = LocalExecutor(2, job_timeout=15)
    try:
        result = _fault_run(book, tmp_path / "out", "06_hang.ipynb", executor)
    finally:
        executor.close()
    [failed] = result.failed
    assert (failed.job.name, failed.error.error) == ("B01/06_hang.html", "JobTimedOut")
    assert "ran past its time limit (15 s, MATURITY_ANALYSIS_JOB_TIMEOUT)" in failed.error.message
    assert len(result.built) == len(result.jobs) - 1
    assert not failed.job.output.exists()
    assert _wait_for(lambda: not _kernel_folders(temp), 60), _kernel_folders(temp)


SCRIPT = """
import sys
from pathlib import Path
from maturity_analysis import cli, config

config.NOTEBOOKS_DIR = Path(sys.argv[1])
sys.exit(cli.main(["reports", "--dataset", "faults", "--jobs", "2", "--out", sys.argv[2]]))
"""


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killed_parent_leaves_nothing_running(book, tmp_path, sig):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "05_fault.ipynb").write_bytes((FIXTURES / "05_fault.ipynb").read_bytes())
    temp = tmp_path / "temp"
    temp.mkdir()
    out = tmp_path / "out"
    env = {
        **os.environ,
        "MATURITY_ANALYSIS_ROOT": str(book),
        "TMPDIR": str(temp),
        "MATURITY_TEST_SLEEP": "2",
    }
    parent = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(notebooks), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # two workers, each with its kernel, and the resource tracker
        assert _wait_for(lambda: len(_children(parent.pid)) >= 5 and _kernel_folders(temp), 120)
        assert _wait_for(lambda: (out / "ALL" / "05_fault.html").exists(), 120)  # one finished
        children = _children(parent.pid)
        parent.send_signal(sig)
        _, stderr = parent.communicate(timeout=120)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert _wait_for(lambda: not any(map(_alive, children)), 30), [p for p in children if _alive(p)]
    assert _wait_for(lambda: not _kernel_folders(temp), 10), _kernel_folders(temp)
    assert len(stderr.splitlines()) < 10, stderr  # no flood of tracebacks
    if sig == signal.SIGTERM:  # interrupted in a new folder: the index lists what finished
        assert parent.returncode == 130
        index = (out / "index.html").read_text(encoding="utf-8")
        assert 'href="ALL/05_fault.html"' in index


def _tracker(pid: int) -> int | None:
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"resource_tracker" in cmdline:
            return child
    return None


def test_killed_resource_tracker_does_not_flood_stderr(book, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    (notebooks / "05_fault.ipynb").write_bytes((FIXTURES / "05_fault.ipynb").read_bytes())
    env = {**os.environ, "MATURITY_ANALYSIS_ROOT": str(book), "MATURITY_TEST_SLEEP": "1"}
    script = SCRIPT.replace('"--jobs", "2"', '"--jobs", "1"')
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(notebooks), str(tmp_path / "out")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait_for(lambda: _tracker(parent.pid) and len(_children(parent.pid)) >= 3, 120)
        os.kill(_tracker(parent.pid), signal.SIGKILL)
        _, stderr = parent.communicate(timeout=300)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert parent.returncode == 0, stderr
    assert "Traceback" not in stderr and "KeyError" not in stderr
    assert len([line for line in stderr.splitlines() if "reports:" not in line]) <= 3, stderr

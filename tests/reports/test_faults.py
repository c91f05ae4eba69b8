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


@pytest.mark.skip(
    reason="flaky: the job outcome is right, but now and then the dead worker's kernel "
    "folder outlives the 60 s wait (seen in a fresh-clone run); open on issue #14"
)
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
    # the dead worker's kernel notices and leaves, removing its folder
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

"""The runner on a Dask cluster gives what it gives on local workers.

A ``distributed.LocalCluster`` (two worker processes, one thread each) stands in for a real
cluster. The runner builds the same fixture reports (two branches and ALL, two small notebooks,
one of which fails for one branch) once on local workers and once through the scheduler; the
HTML, the index, the failures and the exit status must agree, apart from the time of day.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from maturity_analysis.exceptions import ReportError
from maturity_analysis.reports.executors import (
    JOB_TIMEOUT,
    JOB_TIMEOUT_ENV,
    DaskExecutor,
    deliver,
    job_timeout_setting,
)
from maturity_analysis.reports.jobs import NOTEBOOK, Dataset, Job, JobError, JobResult
from maturity_analysis.reports.run import run_reports
from maturity_analysis.sample.book import scaled_policies

distributed = pytest.importorskip("distributed")

DATASET = "dasktest"
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")
# papermill gives the (hidden) injected-parameters cell a random id on every run
INJECTED_ID = re.compile(r'(celltag_injected-parameters" id="cell-id=)[0-9a-f-]+')
PARAMETERS = 'dataset = "sample"\nbranch = "ALL"\nperiod = "2013"\nprocessed_dir = None\n'


def _notebook(path: Path, title: str, code: str) -> Path:
    nb = new_notebook(
        cells=[
            new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
            new_markdown_cell(f"# {title}"),
            new_code_cell(code),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.fixture(scope="module")
def fixture(tmp_path_factory):
    """A two-branch raw dataset and two notebooks; the second fails for the second branch."""
    root = tmp_path_factory.mktemp("dask")
    book = scaled_policies(240, seed=11, branches=2)
    raw = root / "raw" / DATASET
    raw.mkdir(parents=True)
    book.to_csv(raw / "policies.csv", index=False, date_format="%Y-%m-%d")
    branches = sorted(book["网点代码"].astype(str).unique())
    notebooks = root / "notebooks"
    notebooks.mkdir()
    first = _notebook(
        notebooks / "01_counts.ipynb",
        "保单结构",
        (
            "from maturity_analysis.ingest.dataset import read_dataset\n"
            "from maturity_analysis.analysis.book import for_branch\n"
            "from maturity_analysis.analysis.tables import table1\n"
            # a name a previous notebook in the same warm kernel would have left behind
            "leaked = 'seen_branch' in globals()\n"
            "seen_branch = branch\n"
            "policies = for_branch(read_dataset(dataset, processed_dir=processed_dir), branch)\n"
            # one print, one stream output (two may or may not be merged, by timing)
            "print(f'leaked state: {leaked}\\nbranch {branch} policies {len(policies)}')\n"
            "table1(policies)\n"
        ),
    )
    second = _notebook(
        notebooks / "02_checks.ipynb",
        "检查",
        (
            f"if branch == {branches[1]!r}:\n"
            "    raise ValueError('this branch breaks the notebook')\n"
            "print('checked', branch)\n"
        ),
    )
    counts = book["网点代码"].astype(str).value_counts().to_dict() | {"ALL": len(book)}
    return {"root": root, "branches": branches, "counts": counts, "notebooks": [first, second]}


def _run(fixture, out: Path, executor=None):
    return run_reports(
        DATASET,
        "2013",
        out_dir=out,
        jobs=2,
        executor=executor,
        force=True,
        notebooks=fixture["notebooks"],
        raw_dir=fixture["root"] / "raw",
        processed_dir=fixture["root"] / "processed",
        progress=False,
    )


def _files(out: Path) -> dict[str, str]:
    """Every report and the index, the time of day and the injected cell's random id masked;
    workbooks, executed notebooks and stamps by name."""
    found = {}
    for path in sorted(out.rglob("*")):
        if path.is_file() and path.name != "run.json":
            text = ""
            if path.suffix == ".html":
                text = TIMESTAMP.sub("<time>", path.read_text("utf-8"))
                text = INJECTED_ID.sub(r"\1<id>", text)
            found[path.relative_to(out).as_posix()] = text
    return found


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as local:
        yield local


@pytest.fixture(scope="module")
def both(fixture, cluster):
    """The same run on local workers and through the Dask scheduler."""
    local = _run(fixture, fixture["root"] / "local")
    executor = DaskExecutor(cluster.scheduler_address)
    try:
        dask = _run(fixture, fixture["root"] / "dask", executor)
    finally:
        executor.close()
    return local, dask


def test_same_reports_and_index(both):
    local, dask = both
    local_files, dask_files = _files(local.out_dir), _files(dask.out_dir)
    assert sorted(dask_files) == sorted(local_files)
    assert dask_files == local_files
    assert any(name.endswith("01_counts.html") for name in local_files)


def test_same_failures_and_exit_status(both, fixture):
    local, dask = both
    failing = f"{fixture['branches'][1]}/02_checks.html"

    def failures(result):
        return [(r.job.name, r.error.cell, r.error.error, r.error.message) for r in result.failed]

    assert failures(dask) == failures(local)
    assert [name for name, *_ in failures(dask)] == [failing]
    assert (dask.ok, len(dask.built)) == (local.ok, len(local.built))
    assert not dask.ok
    assert not (dask.out_dir / failing).exists()
    assert (dask.out_dir / failing).with_suffix(".failed.ipynb").exists()


def test_reports_show_their_own_branch_only(both, fixture):
    """A warm kernel that ran another branch's notebook leaves nothing behind."""
    _, dask = both
    for branch in [*fixture["branches"], "ALL"]:
        html = (dask.out_dir / branch / "01_counts.html").read_text("utf-8")
        assert "leaked state: False" in html
        assert f"branch {branch} policies {fixture['counts'][branch]}\n" in html


def test_no_worker_is_a_clear_error():
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=":0") as empty:
        with pytest.raises(ReportError, match="no worker"):
            DaskExecutor(empty.scheduler_address, timeout=1)


def _job(tmp_path: Path) -> Job:
    dataset = Dataset(name=DATASET, policies=tmp_path / "policies.parquet")
    return Job(
        kind=NOTEBOOK,
        branch="B1",
        branch_name="",
        output=tmp_path / "B1" / "01.html",
        key="k",
        dataset=dataset,
        notebook=tmp_path / "01.ipynb",
    )


@pytest.mark.parametrize("ok", [True, False])
def test_delivered_outputs_replace_stale_ones(tmp_path, ok):
    """What a worker returns replaces what an earlier run left: a success removes an old
    failed notebook, a failure removes the old report, executed notebook and stamp."""
    job = _job(tmp_path)
    job.output.parent.mkdir()
    for path in (job.output, job.executed, job.stamp, job.failed_notebook):
        path.write_text("old")
    error = None if ok else JobError(error="ValueError", message="broken")
    returned = (
        {"executed": b"nb", "output": b"html", "stamp": b"key"} if ok else {"failed": b"failed nb"}
    )
    deliver(job, JobResult(job=job, seconds=1.0, error=error), returned)
    left = {p.name: p.read_text() for p in job.output.parent.iterdir()}
    if ok:
        assert left == {"01.html": "html", "01.ipynb": "nb", ".01.html.key": "key"}
    else:
        assert left == {"01.failed.ipynb": "failed nb"}


@pytest.mark.parametrize("text", ["0", "-5", "soon"])
def test_job_timeout_must_be_positive_seconds(monkeypatch, text):
    monkeypatch.setenv(JOB_TIMEOUT_ENV, text)
    with pytest.raises(ReportError, match=f"{JOB_TIMEOUT_ENV}='{text}'"):
        job_timeout_setting()


def test_job_timeout_comes_from_the_setting(monkeypatch):
    monkeypatch.delenv(JOB_TIMEOUT_ENV, raising=False)
    assert job_timeout_setting() == JOB_TIMEOUT
    monkeypatch.setenv(JOB_TIMEOUT_ENV, "2.5")
    assert job_timeout_setting() == 2.5

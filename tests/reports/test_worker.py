"""The worker's workbook job: the same workbook as ``maturity-analysis tables``, 实际 included."""

import openpyxl
import pytest

from maturity_analysis.analysis.costs import paid_complaints
from maturity_analysis.ingest.dataset import prepare, read_dataset_tracking
from maturity_analysis.output.workbook import write_tables_workbook
from maturity_analysis.reports.jobs import WORKBOOK, Dataset, Job
from maturity_analysis.reports.worker import run_job
from maturity_analysis.sample.book import scaled_policies
from maturity_analysis.sample.tracking import write_tracking


@pytest.fixture(scope="module")
def tracked(tmp_path_factory):
    """A prepared 400-policy book over three branches with a year of tracking forms."""
    root = tmp_path_factory.mktemp("worker")
    raw = root / "raw" / "demo"
    raw.mkdir(parents=True)
    book = scaled_policies(400, branches=3)
    book.to_excel(raw / "policies.xlsx", index=False)
    write_tracking(raw, book)
    result = prepare(raw, out=root / "processed" / "demo")
    return {"root": root, "result": result}


def _cells(path):
    wb = openpyxl.load_workbook(path)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}


@pytest.mark.parametrize("branch", ["ALL", "first"])
def test_report_workbook_is_the_tables_workbook(tracked, tmp_path, branch):
    policies = tracked["result"].policies
    if branch == "first":
        branch = sorted(policies["branch_code"].unique())[0]
    dataset = Dataset("demo", tracked["result"].out_dir / "policies.parquet")
    job = Job(WORKBOOK, branch, "", tmp_path / "report" / "workbook.xlsx", "k", dataset)
    job.output.parent.mkdir()
    assert run_job(job).ok
    tracking = read_dataset_tracking("demo", tracked["root"] / "raw", tracked["root"] / "processed")
    expected = write_tables_workbook(
        policies,
        tmp_path / "tables.xlsx",
        branch,
        dataset="demo",
        complaints=paid_complaints(tracking),
        tracking=tracking,
    )
    got = _cells(job.output)
    assert got == _cells(expected)
    header = [c for row in got["赔付预估"][:3] for c in row if c is not None]
    assert "实际" in header  # the compensation actually paid, beside the estimate


def test_workbook_built_warm_is_the_one_built_cold(tracked, tmp_path):
    """The sheets every unit shares are kept by the worker after its first workbook: a unit's
    workbook built after another unit's (warm) has the same bytes as one built first (cold)."""
    from maturity_analysis.reports import worker

    policies = tracked["result"].policies
    first, second = sorted(policies["branch_code"].astype(str).unique())[:2]
    dataset = Dataset("demo", tracked["result"].out_dir / "policies.parquet")

    def build(branch, name):
        job = Job(
            WORKBOOK,
            branch,
            "",
            tmp_path / name / "workbook.xlsx",
            "k",
            dataset,
            parameters={"period": "2013"},
        )
        job.output.parent.mkdir()
        assert run_job(job).ok
        return job.output.read_bytes()

    worker._local.book = None
    cold = build(second, "cold")
    assert worker._local.book is not None
    build(first, "other")
    warm = build(second, "warm")
    assert warm == cold
    assert "评估" in _cells(tmp_path / "warm" / "workbook.xlsx")  # the period's evaluation too

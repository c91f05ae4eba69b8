"""The prepared tracking frames are read once per process while their files are unchanged:
each call gets its own copies, a rewritten file is read again."""

from __future__ import annotations

import os

import pandas as pd
import pytest

from maturity_analysis.ingest import dataset
from maturity_analysis.ingest.dataset import read_prepared_tracking
from maturity_analysis.ingest.forms import KINDS, empty, frame


def _write(folder, calls: pd.DataFrame, **parquet) -> None:
    for kind in KINDS:
        table = calls if kind == "calls" else empty(kind)
        table.to_parquet(folder / f"{kind}.parquet", **parquet)


def _calls(*policies: str) -> pd.DataFrame:
    calls = empty("calls")
    rows = pd.DataFrame(
        {"call_date": pd.to_datetime(["2013-05-02"] * len(policies)), "policy_no": policies}
    )
    return pd.concat([calls, rows.astype({"policy_no": calls["policy_no"].dtype})])[
        calls.columns
    ].reset_index(drop=True)


def test_read_once_copied_out_and_read_again_when_rewritten(tmp_path):
    _write(tmp_path, _calls("P1", "P2"))
    first = read_prepared_tracking(tmp_path)
    assert first.calls["policy_no"].tolist() == ["P1", "P2"]
    first.calls.loc[0, "policy_no"] = "changed by a caller"
    second = read_prepared_tracking(tmp_path)
    assert second.calls["policy_no"].tolist() == ["P1", "P2"]
    assert second.calls is not first.calls
    _write(tmp_path, _calls("P3"))
    stat = (tmp_path / "calls.parquet").stat()
    os.utime(tmp_path / "calls.parquet", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert read_prepared_tracking(tmp_path).calls["policy_no"].tolist() == ["P3"]


def test_missing_or_damaged_files_read_as_none(tmp_path):
    assert read_prepared_tracking(tmp_path) is None
    _write(tmp_path, _calls("P1"))
    (tmp_path / "outcomes.parquet").write_bytes(b"not parquet")
    assert read_prepared_tracking(tmp_path) is None


@pytest.mark.parametrize("budget", [None, 1])
def test_each_text_column_is_read_in_one_chunk(tmp_path, monkeypatch, budget):
    """A file of several row groups: pandas' own read gives a column a chunk for each, and a
    filter on it joins them every time; the prepared frames come in one chunk, the same
    values and dtypes, whether the columns are read together or each alone (a row group at a
    time, then joined)."""
    if budget is not None:
        monkeypatch.setattr(dataset, "READ_BATCH_BYTES", budget)
    policies = [f"P{i:05d}" for i in range(3000)]
    _write(tmp_path, _calls(*policies), row_group_size=1000)
    calls = read_prepared_tracking(tmp_path).calls
    by_pandas = frame("calls", pd.read_parquet(tmp_path / "calls.parquet"))
    assert by_pandas["policy_no"].array.__arrow_array__().num_chunks == 3
    pd.testing.assert_frame_equal(calls, by_pandas)
    text = [c for c in calls.columns if isinstance(calls[c].dtype, pd.StringDtype)]
    assert "policy_no" in text and len(text) > 5
    assert {c: calls[c].array.__arrow_array__().num_chunks for c in text} == dict.fromkeys(text, 1)

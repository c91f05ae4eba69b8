"""The prepared tracking frames are read once per process while their files are unchanged:
each call gets its own copies, a rewritten file is read again."""

from __future__ import annotations

import os

import pandas as pd

from maturity_analysis.ingest.dataset import read_prepared_tracking
from maturity_analysis.ingest.forms import KINDS, empty


def _write(folder, calls: pd.DataFrame) -> None:
    for kind in KINDS:
        (calls if kind == "calls" else empty(kind)).to_parquet(folder / f"{kind}.parquet")


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

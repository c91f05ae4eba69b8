"""A CSV read in chunks gives what one read gives: the parquet, the rejects, the manifest.

The chunk size is small here (a few rows) so that a small file spans several chunks, with
problems in each, duplicates across them and a summary row in the last.
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from test_policies import HEADERS, good, make_id, write_csv

from maturity_analysis.ingest.dataset import prepare
from maturity_analysis.ingest.policies import REASONS
from maturity_analysis.ingest.readers import read_chunks


def _rows() -> list[dict]:
    return [
        good(0),
        good(1, premium="x"),
        good(2, premium="5万"),
        good(3, holder_id="1.10101196003051E+17"),  # kept, the ID dropped (a warning)
        good(0, premium=7000),  # a duplicate of line 2's policy number, in the next chunk
        good(5, maturity_date=dt.datetime(2014, 3, 5)),  # outside the plan year
        good(6, holder_birth_date=dt.datetime(1890, 1, 1), holder_id=make_id("18900101")),
        good(7, product_type="寿险", issue_date="2013-04-01"),  # two problems
        good(8, policy_no="P2013000003"),  # a duplicate three chunks on
        good(9, payment_mode="期交", payment_years=5, term_years=10),
        good(10),
    ]


@pytest.fixture
def csv_file(tmp_path):
    return write_csv(tmp_path / "policies.csv", _rows(), below=[["合计", *[""] * 17]])


def test_a_small_file_spans_several_chunks(csv_file):
    _, chunks = read_chunks(csv_file, 3)
    parts = list(chunks)
    assert [len(p.rows) for p in parts] == [3, 3, 3, 2]
    assert parts[1].rows.tolist() == [5, 6, 7]  # line numbers run on across chunks
    assert parts[-1].n_footer == 1


@pytest.mark.parametrize("chunk_rows", [1, 3, 4])
def test_chunked_and_one_read_prepare_the_same(csv_file, tmp_path, chunk_rows):
    one = prepare(csv_file, tmp_path / "one", chunk_rows=None)
    chunked = prepare(csv_file, tmp_path / "chunked", chunk_rows=chunk_rows)
    for name in ("policies.parquet", "rejects.csv"):
        assert (one.out_dir / name).read_bytes() == (chunked.out_dir / name).read_bytes(), name
    manifests = [
        json.loads((p.out_dir / "manifest.json").read_text(encoding="utf-8"))
        for p in (one, chunked)
    ]
    for m in manifests:
        m.pop("created")
    assert manifests[0] == manifests[1]
    m = manifests[0]
    assert (m["rows_read"], m["rows_rejected"], m["rows_footer"], m["rows_warned"]) == (11, 6, 1, 1)
    rejects = pd.read_csv(chunked.out_dir / "rejects.csv", dtype=str, encoding="utf-8-sig")
    assert rejects["row"].tolist() == ["3", "6", "7", "8", "9", "10"]
    dup = rejects.set_index("row").loc["6"]
    assert dup["reason"].startswith("保单号重复") and "row 2" in dup["reason"]
    assert rejects.set_index("row").loc["10", "reason"].endswith("row 5")
    assert rejects.set_index("row").loc["7", "reason"] == REASONS["plan_year"].format(year=2013)
    assert rejects.set_index("row").loc["9", "other_problems"] == "maturity_date"
    assert len(pd.read_parquet(chunked.out_dir / "policies.parquet")) == 5


def test_a_file_whose_lines_pyarrow_cannot_number_is_read_whole(tmp_path):
    """A blank line: Python's csv reader numbers the lines, as one part."""
    f = write_csv(tmp_path / "policies.csv", [good(0), None, good(1), good(2, premium="x")])
    one = prepare(f, tmp_path / "one", chunk_rows=None)
    chunked = prepare(f, tmp_path / "chunked", chunk_rows=1)
    assert one.rejects.equals(chunked.rejects) and one.rejects["row"].tolist() == [5]
    assert chunked.manifest["rows_blank"] == 1 and chunked.manifest["rows_read"] == 3


def test_headers_are_those_of_the_file(csv_file):
    _, chunks = read_chunks(csv_file, 2)
    assert {tuple(p.columns.values()) for p in chunks} == {tuple(HEADERS.values())}


def test_policy_numbers_are_duplicates_only_when_their_text_is_the_same(tmp_path):
    """Numbers of digits are compared as the integers they spell (a faster path): the text
    decides all the same, across chunks, with a leading zero, full-width digits and numbers
    too long for an integer."""
    numbers = [
        "820054844760152",
        "0820054844760152",  # a leading zero: other text, not a duplicate
        "8200548447601520000",  # 19 digits: compared as text
        "A820054844760152",
        "820054844760152",  # duplicate of line 2, in another chunk
        "８２００５４８４４７６０１５２",  # full width: the same once folded, a duplicate of line 2
        "8200548447601520000",  # duplicate of line 4
        "0820054844760152",  # duplicate of line 3
        "999999999999999999",  # 18 digits, the largest integer path
        "999999999999999999",  # duplicate of line 10
    ]
    rows = [good(i, policy_no=n) for i, n in enumerate(numbers)]
    f = write_csv(tmp_path / "policies.csv", rows)
    for chunk_rows in (None, 2):
        got = prepare(f, tmp_path / f"out{chunk_rows}", chunk_rows=chunk_rows).rejects
        firsts = got.set_index("row")["reason"].str.extract(r"row (\d+)$")[0]
        assert firsts.to_dict() == {6: "2", 7: "2", 8: "4", 9: "3", 11: "10"}, chunk_rows

"""The per-policy figures ``prepare`` stores equal those computed afresh, and are reused only
for the rows and the plan they were computed for."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from test_policies import good, write_xlsx

from maturity_analysis.analysis.book import DERIVED_COLUMNS, branch_names, enrich, for_branch
from maturity_analysis.analysis.risk import rate_risk
from maturity_analysis.analysis.targets import allocate_branches
from maturity_analysis.analysis.yields import add_yields
from maturity_analysis.ingest import dataset
from maturity_analysis.ingest.dataset import (
    DERIVED,
    prepare,
    read_dataset,
    read_policies,
    stored_derived,
)
from maturity_analysis.ingest.schema import PERSONAL_COLUMNS, PII_COLUMNS
from maturity_analysis.plan.model import PLAN_FILE, load_plan
from maturity_analysis.reports.index import NAME, branch_figures


def _fresh(policies: pd.DataFrame, plan) -> pd.DataFrame:
    base = policies.drop(columns=list(DERIVED_COLUMNS))
    base.attrs = {}
    return rate_risk(add_yields(base), plan)


def _prepared(root, monkeypatch, name: str, rows: list) -> pd.DataFrame:
    """``rows`` written as dataset ``name``'s policies.xlsx under ``root``, prepared, read."""
    monkeypatch.setenv("MATURITY_ANALYSIS_ROOT", str(root))
    raw = root / "data" / "raw" / name
    raw.mkdir(parents=True)
    write_xlsx(raw / "policies.xlsx", rows)
    prepare(raw)
    return read_dataset(name)


@pytest.fixture
def book(tmp_path, monkeypatch):
    rows = [
        good(0),
        good(1, premium=80000, maturity_value=81000, branch_code="0102"),
        good(2, product_type="万能", holder_birth_date=dt.datetime(1940, 5, 1), premium=20000),
        good(3, payment_mode="期交", payment_years=5, term_years=10, premium=30000),
        good(4, issue_date=dt.datetime(2003, 6, 1), maturity_value=None, branch_code="0102"),
        good(5, maturity_value=40000),
    ]
    return _prepared(tmp_path, monkeypatch, "demo", rows)


def test_stored_figures_equal_fresh_ones(book):
    plan = load_plan()
    assert set(DERIVED_COLUMNS) <= set(book.columns) and book.attrs[DERIVED]
    fresh = _fresh(book, plan)
    pd.testing.assert_frame_equal(book[fresh.columns], fresh)
    assert book["risk_rating"].astype(str).tolist() == fresh["risk_rating"].astype(str).tolist()
    assert book["beats_deposit"].isna().tolist() == [False, False, False, False, True, False]
    assert stored_derived(book, plan)
    pd.testing.assert_frame_equal(enrich(book, plan), book)


def test_repeated_text_is_stored_as_categories(book):
    repeated = ("branch_code", "branch_name", "product_type", "product_name", "payment_mode")
    for column in (*repeated, "manager", "risk_rating"):
        assert isinstance(book[column].dtype, pd.CategoricalDtype), column
    assert list(book["branch_code"].cat.categories) == ["0101", "0102"]  # sorted, as text sorts


def test_read_as_pandas_reads_it(book, tmp_path):
    path = tmp_path / "data" / "processed" / "demo" / "policies.parquet"
    whole = pd.read_parquet(path)
    pd.testing.assert_frame_equal(read_policies(path, pii=PERSONAL_COLUMNS), whole)
    pd.testing.assert_frame_equal(read_policies(path), whole.drop(columns=list(PERSONAL_COLUMNS)))
    pd.testing.assert_frame_equal(book, whole.drop(columns=list(PERSONAL_COLUMNS)))
    assert book.attrs == whole.attrs and book.attrs[DERIVED]
    some = ["premium", "branch_code"]
    pd.testing.assert_frame_equal(read_policies(path, some), whole[some])
    pd.testing.assert_frame_equal(read_dataset("demo", columns=some), whole[some])


def test_a_dictionary_only_for_the_columns_whose_values_repeat(tmp_path, monkeypatch):
    """A column's parquet dictionary where the first row group's distinct values are at most
    half its rows (pyarrow drops a dictionary past its page), and for every category; the
    later row groups as the first. Booleans have no dictionary in parquet."""
    monkeypatch.setattr(dataset, "ROW_GROUP_ROWS", 4)
    rows = [good(i, premium=[20000, 30000][i % 2], maturity_value=20000 + i) for i in range(10)]
    _prepared(tmp_path, monkeypatch, "demo", rows)
    f = pq.ParquetFile(tmp_path / "data" / "processed" / "demo" / "policies.parquet")
    assert [f.metadata.row_group(g).num_rows for g in range(3)] == [4, 4, 2]
    first = f.read_row_group(0)
    coded = {}
    for i, field in enumerate(first.schema):
        if field.type == pa.bool_():
            continue
        repeats = pa.types.is_dictionary(field.type) or (
            pc.count_distinct(first.column(i)).as_py() <= 2
        )
        for g in range(3):
            assert f.metadata.row_group(g).column(i).has_dictionary_page == repeats, field.name
        coded[field.name] = repeats
    assert coded["premium"] and coded["branch_code"] and coded["holder_name"]
    assert not coded["policy_no"] and not coded["maturity_value"] and not coded["policy_yield"]


@pytest.mark.parametrize("budget", [1, 600, 10**9])
def test_read_in_batches_of_columns_reads_it(book, tmp_path, monkeypatch, budget):
    """Columns read a batch at a time (a column each, a few, all at once): the same frame."""
    path = tmp_path / "data" / "processed" / "demo" / "policies.parquet"
    monkeypatch.setattr(dataset, "READ_BATCH_BYTES", budget)
    file = pq.ParquetFile(path)
    names = file.schema_arrow.names
    batches = dataset._batches(file, names)
    assert [n for batch in batches for n in batch] == names
    if budget == 600:  # a few columns a batch
        assert 1 < len(batches) < len(names)
    else:  # a column each, or all of them at once
        assert len(batches) == (len(names) if budget == 1 else 1)
    pd.testing.assert_frame_equal(read_policies(path, pii=PERSONAL_COLUMNS), pd.read_parquet(path))


def test_a_batch_is_sized_by_its_columns_decoded_not_their_pages(tmp_path, monkeypatch):
    """A column of runs or of a few distinct values has tiny pages but decodes to its rows ×
    its width: batches are cut by that, so a read holds about one budget's worth at a time."""
    rows = 50_000
    path = tmp_path / "runs.parquet"
    kind = pa.dictionary(pa.int16(), pa.string())
    table = pa.table(
        {
            "years": pa.array(np.full(rows, 3), pa.int64()),
            "band": pa.array(["20-30岁"] * rows).dictionary_encode().cast(kind),
            "no": pa.array([f"P{i:09d}" for i in range(rows)]),
        }
    )
    pq.write_table(table, path, row_group_size=rows // 4)
    file = pq.ParquetFile(path)
    pages = file.metadata.row_group(0).column(0).total_uncompressed_size * 4
    size = dataset.decoded_bytes(file, ["years", "band", "no"])
    assert pages < rows  # under a byte a row stored …
    bits = rows // 8  # a validity bit a row comes with each column read
    assert size["years"] == rows * 8 == file.read(columns=["years"]).nbytes - bits  # … 8 decoded
    assert size["band"] == rows * 2 < file.read(columns=["band"]).nbytes
    assert size["no"] >= file.read(columns=["no"]).nbytes
    monkeypatch.setattr(dataset, "READ_BATCH_BYTES", rows * 8)  # the whole numbers' worth
    assert dataset._batches(file, ["years", "band", "no"]) == [["years"], ["band"], ["no"]]


@pytest.mark.parametrize("asked", [None, "system", "mimalloc"])
def test_arrow_allocates_from_jemalloc_unless_the_environment_names_a_pool(asked):
    """Importing the dataset module makes jemalloc Arrow's pool (where pyarrow has it); a pool
    named in ARROW_DEFAULT_MEMORY_POOL is left as it is."""
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        pytest.skip("this pyarrow has no jemalloc")
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if asked:
        env["ARROW_DEFAULT_MEMORY_POOL"] = asked
    code = (
        "import maturity_analysis.ingest.dataset, pyarrow as pa; "
        "print(pa.default_memory_pool().backend_name)"
    )
    ran = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == (asked or "jemalloc")


def test_the_default_read_leaves_out_names_ids_and_phones(book):
    assert not set(PERSONAL_COLUMNS) & set(book.columns)
    assert book["policy_no"].tolist() == [f"P2013{i:06d}" for i in range(6)]  # the key stays
    assert {"premium", "maturity_date", "risk_points", "beats_deposit"} <= set(book.columns)


def test_pii_is_read_when_asked_for_by_name(book, tmp_path):
    whole = pd.read_parquet(tmp_path / "data" / "processed" / "demo" / "policies.parquet")
    named = read_dataset("demo", pii=["holder_name"])
    assert [c for c in whole.columns if c in named.columns] == list(named.columns)  # file order
    assert set(whole.columns) - set(named.columns) == {"holder_id", "holder_mobile"}
    assert named["holder_name"].tolist() == ["张三"] * 6
    pii = read_dataset("demo", columns=PII_COLUMNS)
    assert list(pii.columns) == list(PII_COLUMNS)
    assert pii["holder_mobile"].tolist() == ["13800000000"] * 6
    pd.testing.assert_frame_equal(pii, whole[list(PII_COLUMNS)])


def test_a_pii_read_reads_only_the_columns_not_held(book, monkeypatch):
    asked = []
    real = dataset.read_policies
    monkeypatch.setattr(
        dataset, "read_policies", lambda path, columns: asked.append(columns) or real(path, columns)
    )
    read_dataset("demo")
    assert asked == []  # the default read is held from the fixture's read
    read_dataset("demo", pii=PERSONAL_COLUMNS)
    read_dataset("demo", columns=PII_COLUMNS)
    assert asked == [list(PERSONAL_COLUMNS)]


def test_each_reader_gets_its_own_frame(book):
    book["premium"] = 0.0
    book.loc[book.index[0], "branch_code"] = "0102"
    book.attrs[DERIVED] = None
    again = read_dataset("demo")
    assert (again["premium"] > 0).all() and again["branch_code"].iloc[0] == "0101"
    assert again.attrs[DERIVED] and stored_derived(again, load_plan())
    assert (read_dataset("demo", columns=["premium"])["premium"] > 0).all()


def test_a_branch_is_named_by_its_first_row_blank_or_not(tmp_path, monkeypatch):
    rows = [
        good(0),
        good(1, branch_code="0102", branch_name=None),
        good(2, branch_code="0102", branch_name="城西网点"),
        good(3, branch_code="0103", branch_name=None),
    ]
    policies = _prepared(tmp_path, monkeypatch, "named", rows)
    assert isinstance(policies["branch_name"].dtype, pd.CategoricalDtype)
    names = {"0101": "城关网点", "0102": "", "0103": ""}
    assert branch_names(policies).to_dict() == names
    assert branch_figures(policies)[0][NAME].loc[list(names)].to_dict() == names
    by_branch = allocate_branches(policies).index.drop("合计", level=0)
    assert dict(by_branch.to_list()) == names


def test_changed_rows_are_computed_afresh(book):
    plan = load_plan()
    changed = book.assign(maturity_value=book["maturity_value"] * 2)
    assert not stored_derived(changed, plan)
    got = enrich(changed, plan)
    known = book["gap_yuan"].notna()
    assert known.sum() == 5 and (got["gap_yuan"] > book["gap_yuan"])[known].all()
    pd.testing.assert_frame_equal(got, _fresh(changed, plan)[got.columns])
    part = for_branch(book, "0102")
    assert not stored_derived(part, plan)
    pd.testing.assert_frame_equal(enrich(part, plan), _fresh(part, plan)[part.columns])


def test_another_plan_is_computed_afresh(book, tmp_path):
    text = PLAN_FILE.read_text(encoding="utf-8")
    assert "min_premium = 50000" in text
    other = tmp_path / "plan.toml"
    other.write_text(text.replace("min_premium = 50000", "min_premium = 1000"), encoding="utf-8")
    plan = load_plan(other)
    assert stored_derived(book, load_plan()) and not stored_derived(book, plan)
    got = enrich(book, plan)
    assert got["risk_reasons"].astype(str).str.contains("保费").all()
    assert not book["risk_reasons"].astype(str).str.contains("保费").all()

"""The per-policy figures ``prepare`` stores equal those computed afresh, and are reused only
for the rows and the plan they were computed for."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from test_policies import good, write_xlsx

from maturity_analysis.analysis.book import DERIVED_COLUMNS, enrich, for_branch
from maturity_analysis.analysis.risk import rate_risk
from maturity_analysis.analysis.yields import add_yields
from maturity_analysis.ingest.dataset import DERIVED, prepare, read_dataset, stored_derived
from maturity_analysis.plan.model import PLAN_FILE, load_plan


def _fresh(policies: pd.DataFrame, plan) -> pd.DataFrame:
    base = policies.drop(columns=list(DERIVED_COLUMNS))
    base.attrs = {}
    return rate_risk(add_yields(base), plan)


@pytest.fixture
def book(tmp_path, monkeypatch):
    monkeypatch.setenv("MATURITY_ANALYSIS_ROOT", str(tmp_path))
    raw = tmp_path / "data" / "raw" / "demo"
    raw.mkdir(parents=True)
    rows = [
        good(0),
        good(1, premium=80000, maturity_value=81000, branch_code="0102"),
        good(2, product_type="万能", holder_birth_date=dt.datetime(1940, 5, 1), premium=20000),
        good(3, payment_mode="期交", payment_years=5, term_years=10, premium=30000),
        good(4, issue_date=dt.datetime(2003, 6, 1), maturity_value=None, branch_code="0102"),
        good(5, maturity_value=40000),
    ]
    write_xlsx(raw / "policies.xlsx", rows)
    prepare(raw)
    return read_dataset("demo")


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
    for column in ("product_type", "product_name", "payment_mode", "manager", "risk_rating"):
        assert isinstance(book[column].dtype, pd.CategoricalDtype), column


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

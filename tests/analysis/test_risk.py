"""Complaint-risk rating on hand-built books, by the shipped plan's ``[risk]`` rules.

Points (plan.toml [risk]): below deposit 2, aged 50+ at maturity 2, aged 60+ at purchase 2,
premium of 5万元 or more 2, a 万能 policy 1; A from 4 points, B from 2, else C.
"""

import copy
import tomllib

import pandas as pd
import pytest

from maturity_analysis.analysis.book import enrich
from maturity_analysis.analysis.risk import rate_risk, risk_table
from maturity_analysis.config import PLAN_FILE
from maturity_analysis.exceptions import PlanError
from maturity_analysis.plan.model import parse_plan

BELOW = "收益低于同期存款"
OVER_50 = "满期时50岁以上"
BOUGHT_60 = "投保时60岁以上"
LARGE = "保费5万元及以上"
UNIVERSAL = "万能险可能被当作满期兑现(退保仅得现金价值)"
WL = {"product_type": "万能", "term_years": None, "product_name": "金账户终身寿险(万能型)"}


@pytest.mark.parametrize(
    ("row", "beats", "rating", "reasons"),
    [
        pytest.param({"age": 40}, True, "C", "", id="40, beats deposit: 0 points"),
        pytest.param({"age": 40}, False, "B", BELOW, id="40, below deposit: 2"),
        pytest.param({"age": 49}, False, "B", BELOW, id="49 is not 50+"),
        pytest.param({"age": 50}, True, "B", OVER_50, id="50 at maturity, beats: 2"),
        pytest.param({"age": 55}, False, "A", f"{BELOW}；{OVER_50}", id="55, below deposit: 4"),
        pytest.param(
            {"age": 40, "premium": 50_000},
            False,
            "A",
            f"{BELOW}；{LARGE}",
            id="5万 premium, below deposit: 4",
        ),
        pytest.param({"age": 40, "premium": 49_999}, True, "C", "", id="49999 is not large"),
        # Bought at 61 (issued 2008-03-01, born 1947-03-01), 66 at maturity: 2 + 2 = 4.
        pytest.param(
            {"holder_birth_date": "1947-03-01"},
            True,
            "A",
            f"{OVER_50}；{BOUGHT_60}",
            id="bought at 61",
        ),
        # Born 1948-03-02: 59 on 2008-03-01 at purchase, 64 at maturity.
        pytest.param({"holder_birth_date": "1948-03-02"}, True, "B", OVER_50, id="bought at 59"),
        pytest.param({"age": 40, **WL}, True, "C", UNIVERSAL, id="万能 alone: 1"),
        pytest.param({"age": 40, **WL}, False, "B", f"{BELOW}；{UNIVERSAL}", id="万能 below: 3"),
        pytest.param(
            {"age": 60, "premium": 80_000, **WL},
            False,
            "A",
            f"{BELOW}；{OVER_50}；{LARGE}；{UNIVERSAL}",
            id="everything but age at purchase",
        ),
        pytest.param({"age": 40}, None, "C", "", id="no yield: not counted as below the deposit"),
    ],
)
def test_rules(make_policies, row, beats, rating, reasons):
    book = make_policies([row]).assign(beats_deposit=pd.array([beats], dtype="boolean"))
    rated = rate_risk(book)
    assert rated["risk_rating"].iloc[0] == rating
    assert rated["risk_reasons"].iloc[0] == reasons


def test_below_deposit_is_computed_when_yields_are_absent(make_policies):
    # 10000 元 for 5 years from 2008-03-01 returning 10000 元 (0%) is below any deposit;
    # 15000 元 (8.4% a year) beats the 5.85% deposit of 2008.
    book = make_policies(
        [{"age": 40, "maturity_value": 10_000.0}, {"age": 40, "maturity_value": 15_000.0}]
    )
    rated = rate_risk(book)
    assert rated["risk_reasons"].tolist() == [BELOW, ""]
    assert "beats_deposit" not in rated.columns


def test_rating_does_not_change_the_input(make_policies):
    book = make_policies([{"age": 55}])
    before = book.copy()
    rated = rate_risk(book)
    pd.testing.assert_frame_equal(book, before)
    assert {"risk_points", "risk_rating", "risk_reasons"} <= set(rated.columns) - set(book.columns)
    assert list(rated["risk_rating"].cat.categories) == ["A", "B", "C"]


@pytest.fixture
def raw_plan():
    return tomllib.loads(PLAN_FILE.read_text(encoding="utf-8"))


def test_rules_come_from_the_plan_file(make_policies, raw_plan):
    # A plan that only cares about large premiums: 1 point; A from 1.
    raw = copy.deepcopy(raw_plan)
    raw["risk"] = {
        "a_min_points": 1,
        "b_min_points": 1,
        "rules": {"large_premium": {"points": 1, "min_premium": 100_000, "reason": "大额"}},
    }
    plan = parse_plan(raw, source="test.toml")
    book = make_policies([{"age": 70, "premium": 99_000}, {"age": 30, "premium": 100_000}])
    rated = rate_risk(book, plan)
    assert rated["risk_rating"].tolist() == ["C", "A"]
    assert rated["risk_reasons"].tolist() == ["", "大额"]


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (
            lambda r: r["risk"]["rules"].update(moon_phase={"points": 1, "reason": "x"}),
            "risk.rules",
        ),
        (lambda r: r["risk"]["rules"]["large_premium"].pop("points"), "risk.rules.large_premium"),
        (lambda r: r["risk"].update(b_min_points=9), "risk.b_min_points"),
        (
            lambda r: r["risk"]["rules"]["large_premium"].update(reason="收益低于同期存款"),
            "risk.rules",
        ),
        (lambda r: r.pop("risk"), "risk"),
    ],
)
def test_malformed_risk_section_names_the_key(make_policies, raw_plan, change, key):
    raw = copy.deepcopy(raw_plan)
    change(raw)
    with pytest.raises(PlanError, match=key.replace(".", r"\.")):
        rate_risk(make_policies([{}]), parse_plan(raw, source="test.toml"))


def test_enrich_adds_yields_and_risk(make_policies):
    book = make_policies([{"age": 40}, {"age": 66, **WL}])
    enriched = enrich(book)
    for col in ("policy_yield", "deposit_yield", "beats_deposit", "risk_rating", "risk_reasons"):
        assert col in enriched.columns
    assert len(enriched) == 2


def test_risk_table_counts_by_age_band(make_policies):
    book = make_policies([{"age": 25}, {"age": 25}, {"age": 55}]).assign(
        beats_deposit=pd.array([True, False, False], dtype="boolean")
    )
    table = risk_table(rate_risk(book))
    assert table.loc["20-30"].tolist() == [0, 1, 1, 2]  # A, B, C, 合计
    assert table.loc["51-60", "A"] == 1
    assert table.loc["合计", "合计"] == 3


def test_backtest_gives_each_ratings_complaint_and_payout_rates():
    from maturity_analysis.analysis.risk import backtest

    # 4 A, 3 B, 3 C customers. Complaints: a1 (paid), a1 again (not paid: a customer counts
    # once), a2 (not paid), b1 (paid), c9 (not rated: ignored).
    # A: 2 of 4 complained = 50%, 1 paid = 50% of complaints, 25% of A;
    # B: 1 of 3 = 33.33%, 1 paid = 100%, 33.33%; C: 0 of 3, payout rate undefined (NaN).
    rated = pd.DataFrame(
        {
            "policy_no": ["a1", "a2", "a3", "a4", "b1", "b2", "b3", "c1", "c2", "c3"],
            "risk_rating": pd.Categorical(list("AAAABBBCCC"), categories=list("ABC")),
        }
    )
    complaints = pd.DataFrame(
        {
            "policy_no": ["a1", "a1", "a2", "b1", "c9"],
            "compensated": [True, False, False, True, True],
        }
    )
    t = backtest(rated, complaints)
    assert t.index.tolist() == ["A", "B", "C", "合计"]
    assert t["件数"].tolist() == [4, 3, 3, 10]
    assert t["投诉件数"].tolist() == [2, 1, 0, 3]
    assert t["赔付件数"].tolist() == [1, 1, 0, 2]
    assert t["投诉率"].tolist() == pytest.approx([0.5, 1 / 3, 0.0, 0.3])
    assert t.loc[["A", "B", "合计"], "赔付率"].tolist() == pytest.approx([0.5, 1.0, 2 / 3])
    assert pd.isna(t.loc["C", "赔付率"])
    assert t["综合赔付率"].tolist() == pytest.approx([0.25, 1 / 3, 0.0, 0.2])

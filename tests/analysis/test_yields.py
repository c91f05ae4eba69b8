"""Policy yield against the benchmark deposit, checked against examples worked by hand.

Rates from plan/deposit_rates.md; tax by accrual period: 20% from 1999-11-01, 5% from
2007-08-15, 0% from 2008-10-09. Day counts are calendar days between the dates.
"""

import pandas as pd
import pytest

from maturity_analysis.analysis.yields import (
    add_yields,
    deposit_value,
    load_rates,
    load_tax_periods,
    rollover_terms,
)
from maturity_analysis.exceptions import MaturityDataError


def value(issue: str, maturity: str, premium: float = 10_000) -> float:
    return deposit_value([premium], [issue], [maturity]).iloc[0]


@pytest.mark.parametrize(
    ("years", "terms"),
    [
        (0, ()),
        (1, (1,)),
        (2, (2,)),
        (3, (3,)),
        (4, (3, 1)),
        (5, (5,)),
        (6, (5, 1)),
        (7, (5, 2)),
        (8, (5, 3)),
        (9, (5, 3, 1)),
        (10, (5, 5)),
        (13, (5, 5, 3)),
    ],
)
def test_rollover_terms_use_five_year_deposits_then_the_longest_that_fits(years, terms):
    assert rollover_terms(years) == terms


def test_five_year_deposit_across_the_2008_10_09_tax_change():
    # Opened 2008-03-01: 5-year rate in force = 5.85% (2007-12-21). Interest = 10000 x 5.85% x 5
    # = 2925. Term 2008-03-01..2013-03-01 = 1826 days; 222 of them (2008-03-01..2008-10-08)
    # accrue at 5% tax, the rest at 0%. Tax = 2925 x 222/1826 x 5% = 17.78.
    # Value = 10000 + 2925 - 17.78 = 12907.22.
    assert value("2008-03-01", "2013-03-01") == pytest.approx(12907.22, abs=0.01)


def test_five_year_deposit_across_the_2007_08_15_and_2008_10_09_tax_changes():
    # Opened 2005-06-01: 5-year rate 3.60% (2004-10-29). Interest = 10000 x 3.6% x 5 = 1800.
    # Term 2005-06-01..2010-06-01 = 1826 days: 805 days to 2007-08-14 at 20%, 421 days
    # 2007-08-15..2008-10-08 at 5%, 600 days from 2008-10-09 at 0%.
    # Tax = 1800 x (805 x 0.20 + 421 x 0.05) / 1826 = 1800 x 182.05 / 1826 = 179.46.
    # Value = 11800 - 179.46 = 11620.54.
    assert value("2005-06-01", "2010-06-01") == pytest.approx(11620.54, abs=0.01)


def test_eight_years_are_five_then_three():
    # 5 years from 2005-06-01 as above -> 11620.5422; rolled over on 2010-06-01 into 3 years at
    # 3.33% (2008-12-23), untaxed: 11620.5422 x (1 + 3.33% x 3) = 11620.5422 x 1.0999 = 12781.43.
    assert value("2005-06-01", "2013-06-01") == pytest.approx(12781.43, abs=0.01)


def test_ten_years_are_five_then_five():
    # 2003-03-01: 5 years at 2.79% (2002-02-21), interest 1395 over 1827 days (two 29 Febs):
    # 199 days 2007-08-15..2008-02-29 at 5%, 1628 days before at 20%.
    # Tax = 1395 x (1628 x 0.20 + 199 x 0.05) / 1827 = 1395 x 335.55 / 1827 = 256.21 -> 11138.79.
    # Rolled over 2008-03-01 at 5.85% as in the 2008 example (factor 12907.2193 / 10000):
    # 11138.7919 x 1.29072193 = 14377.08.
    assert value("2003-03-01", "2013-03-01") == pytest.approx(14377.08, abs=0.01)


@pytest.mark.parametrize(
    ("issue", "maturity", "expected"),
    [
        # Rate changed on 2008-12-23 (1 year 2.52% -> 2.25%); a deposit opened that day gets the new
        # rate: 10000 x 1.0225 = 10225; one opened the day before the old one: 10252. No tax (2008-10-09+).
        ("2008-12-23", "2009-12-23", 10225.00),
        ("2008-12-22", "2009-12-22", 10252.00),
        # 2007-12-21 (5-year 5.76% -> 5.85%), 1 year: 4.14% from that day (3.87% the day before).
        # Interest 414 over 2007-12-21..2008-12-21 (366 days), 293 days to 2008-10-08 at 5% tax:
        # 414 - 414 x 293/366 x 5% = 414 - 16.57 = 397.43.
        ("2007-12-21", "2008-12-21", 10397.43),
    ],
)
def test_rate_in_force_on_the_effective_day_itself(issue, maturity, expected):
    assert value(issue, maturity) == pytest.approx(expected, abs=0.01)


def test_leftover_days_after_the_last_anniversary_earn_nothing():
    # 2008-03-01..2013-06-15: 5 whole years (as the 2008 example), 106 leftover days earn nothing.
    assert value("2008-03-01", "2013-06-15") == pytest.approx(12907.22, abs=0.01)
    # Less than a year (two days short of the anniversary): the premium comes back unchanged.
    assert value("2012-07-06", "2013-07-04") == pytest.approx(10000.00, abs=0.01)


def test_value_is_proportional_to_the_premium():
    # 25000 in the 2008 example: 2.5 x 12907.2193 = 32268.05.
    assert value("2008-03-01", "2013-03-01", 25_000) == pytest.approx(32268.05, abs=0.01)


def test_issue_on_29_february_reaches_its_anniversary_on_28_february():
    # 2008-02-29 + 1 year = 2009-02-28: 1 year at 4.14% (2007-12-21). 365 days, 223 of them
    # (2008-02-29..2008-10-08) at 5% tax: 414 - 414 x 223/365 x 5% = 414 - 12.65 = 401.35.
    assert value("2008-02-29", "2009-02-28") == pytest.approx(10401.35, abs=0.01)


def test_unusable_rows_give_nan():
    out = deposit_value(
        [10000, 10000, 10000],
        ["2008-03-01", None, "1998-01-01"],
        ["2007-03-01", "2013-01-01", "2003-01-01"],
    )
    # maturity before issue; missing issue date; issued before the rate table starts (1999-06-10)
    assert out.isna().all()


def test_blank_rates_fall_back_to_the_last_published_rate():
    # The 5-year benchmark is blank from 2014-11-22: the last published one (4.75%, 2012-07-06)
    # applies. 10000 x (1 + 4.75% x 5) = 12375, untaxed.
    assert value("2016-01-04", "2021-01-04") == pytest.approx(12375.00, abs=0.01)


def test_shipped_tables_carry_their_source():
    rates = load_rates()
    assert list(rates.columns) == ["effective", "y1", "y2", "y3", "y5", "source"]
    # deposit_rates.md: 1999-06-10 row is not confirmed; 2008-12-23 5-year = 3.60.
    assert "not confirmed here" in rates.loc[0, "source"]
    assert rates.set_index("effective").loc["2008-12-23", "y5"] == 3.60
    assert load_tax_periods()["tax_pct"].tolist() == [20, 5, 0]


def test_a_bad_rate_table_is_a_clear_error(tmp_path):
    bad = tmp_path / "rates.csv"
    bad.write_text("effective,y1,y2,y3\n2008-01-01,1,2,3\n", encoding="utf-8")
    with pytest.raises(MaturityDataError, match="y5"):
        load_rates(bad)


@pytest.fixture
def policies():
    return pd.DataFrame(
        {
            "policy_no": ["A", "B", "C"],
            "premium": [10_000.0, 10_000.0, 10_000.0],
            "issue_date": pd.to_datetime(["2008-03-01", "2008-03-01", None]),
            "maturity_date": pd.to_datetime(["2013-03-01", "2013-03-01", "2013-03-01"]),
            "maturity_value": [11_500.0, 13_000.0, 12_000.0],
        }
    )


def test_add_yields_against_the_2008_example(policies):
    out = add_yields(policies)
    # years = 1826 / 365.25 = 4.99932. Policy A: 1.15 ** (1 / 4.99932) - 1 = 2.835%.
    # Deposit: 1.2907219 ** (1 / 4.99932) - 1 = 5.237%. Gap = 11500 - 12907.22 = -1407.22 元,
    # -2.402 pp. Policy B: 1.3 ** (1 / 4.99932) - 1 = 5.388%, gap +92.78 元, +0.151 pp.
    a, b, c = out.iloc[0], out.iloc[1], out.iloc[2]
    assert a["policy_yield"] == pytest.approx(0.02835, abs=1e-5)
    assert a["deposit_value"] == pytest.approx(12907.22, abs=0.01)
    assert a["deposit_yield"] == pytest.approx(0.05237, abs=1e-5)
    assert a["gap_yuan"] == pytest.approx(-1407.22, abs=0.01)
    assert a["gap_pp"] == pytest.approx(-2.402, abs=1e-3)
    assert not a["beats_deposit"]
    assert b["policy_yield"] == pytest.approx(0.05388, abs=1e-5)
    assert b["gap_yuan"] == pytest.approx(92.78, abs=0.01)
    assert b["gap_pp"] == pytest.approx(0.151, abs=1e-3)
    assert b["beats_deposit"]
    # C has no issue date: nothing can be compared.
    assert pd.isna(c["deposit_value"]) and pd.isna(c["policy_yield"])
    assert c["beats_deposit"] is pd.NA


def test_add_yields_does_not_mutate_its_input(policies):
    before = policies.copy()
    out = add_yields(policies)
    pd.testing.assert_frame_equal(policies, before)
    assert list(out.columns) == [
        *before.columns,
        "policy_yield",
        "deposit_value",
        "deposit_yield",
        "gap_yuan",
        "gap_pp",
        "beats_deposit",
    ]


def test_add_yields_names_missing_columns(policies):
    with pytest.raises(MaturityDataError, match="maturity_value"):
        add_yields(policies.drop(columns="maturity_value"))


def test_a_maturity_one_day_before_the_anniversary_counts_the_whole_year():
    # 2008-03-10..2013-03-09 is a 5-year deposit (not 3 + 1 years): 5.85% (2007-12-21 row),
    # 2008-03-10..2013-03-10 = 1826 days. Interest 10000 x 5.85% x 5 = 2925; 213 of the days
    # (2008-03-10..2008-10-08: 22+30+31+30+31+31+30+8) pay 5% tax: 2925 x 213/1826 x 5% = 17.06.
    # 12925 - 17.06 = 12907.94. (As 3 + 1 years it would be 10000 x (1 + 5.40% x 3 x (1 - tax))
    # rolled into 1 year at 3.00%.)
    assert value("2008-03-10", "2013-03-09") == pytest.approx(12907.94, abs=0.01)
    # Two days short of the anniversary: 4 whole years, 3 + 1, a different figure.
    assert value("2008-03-10", "2013-03-08") != pytest.approx(12907.94, abs=1)


@pytest.fixture
def regular():
    """A 3-year 期交 policy: 30,000 paid as 10,000 on 2007-12-21, 2008-12-21 and 2009-12-21."""
    return pd.DataFrame(
        {
            "policy_no": ["R"],
            "premium": [30_000.0],
            "issue_date": pd.to_datetime(["2007-12-21"]),
            "maturity_date": pd.to_datetime(["2010-12-21"]),
            "maturity_value": [32_000.0],
            "payment_mode": ["期交"],
            "term_years": pd.array([3], dtype="Int64"),
        }
    )


def test_regular_premium_deposit_is_a_ladder_of_the_instalments(regular):
    # Each 10,000 goes into deposits on its own date for the time left, at that date's rate:
    # - 2007-12-21, 3 years at 5.40% (2007-12-21 row): interest 1620 over 1096 days, of which
    #   293 (2007-12-21..2008-10-08: 11+31+29+31+30+31+30+31+31+30+8) pay 5% tax:
    #   1620 x 293/1096 x 5% = 21.6542 -> 11598.3458;
    # - 2008-12-21, 2 years at 3.06% (2008-11-27 row), no tax: 10612;
    # - 2009-12-21, 1 year at 2.25% (2008-12-23 row): 10225.
    # Ladder 11598.3458 + 10612 + 10225 = 32435.35 (all 30,000 on the issue date would be
    # 30000 x (1 + 5.40% x 3) less tax = 34795.04).
    out = add_yields(regular)
    assert out.loc[0, "deposit_value"] == pytest.approx(32435.35, abs=0.01)
    assert out.loc[0, "gap_yuan"] == pytest.approx(32000 - 32435.35, abs=0.01)
    assert not out.loc[0, "beats_deposit"]


def test_regular_premium_yield_is_the_irr_on_the_payment_dates(regular):
    # Times to maturity 1096, 730 and 365 days = 3.000684, 1.998631, 0.999316 years.
    # Policy: 10000 x ((1+r)^3.000684 + (1+r)^1.998631 + (1+r)^0.999316) = 32000; at r = 3.2625%:
    # 1.101127 + 1.066268 + 1.032602 = 3.199997 (3.26% gives 3.199840), so r = 3.2625%.
    # Deposit: the same equation = 32435.35 gives r = 3.9545%. Gap -0.692 pp.
    # (Counted as 30,000 paid on the issue date, the policy would yield only (32000/30000)^(1/3.000684) - 1 = 2.17%.)
    out = add_yields(regular).iloc[0]
    assert out["policy_yield"] == pytest.approx(0.032625, abs=1e-6)
    assert out["deposit_yield"] == pytest.approx(0.039545, abs=1e-6)
    assert out["gap_pp"] == pytest.approx(-0.692, abs=1e-3)


def test_payment_years_column_overrides_the_term(regular):
    # Paid in 2 instalments of 15,000 (2007-12-21, 2008-12-21) when the frame says so:
    # 15000 x (1 + 5.40% x 3) - 2430 x 293/1096 x 5% = 17430 - 32.48 = 17397.52 and
    # 15000 x (1 + 3.06% x 2) = 15918; ladder 33315.52.
    out = add_yields(regular.assign(payment_years=[2])).iloc[0]
    assert out["deposit_value"] == pytest.approx(17397.52 + 15918.00, abs=0.01)

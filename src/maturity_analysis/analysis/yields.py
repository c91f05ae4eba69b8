"""Policy yield against the PBoC benchmark time deposit (整存整取) for the same money and term.

The alternative to a policy is the same premium put into 整存整取 deposits on the issue date:

* the holding period is counted in **whole years** from the money's deposit date to the last
  anniversary on or before the maturity date; a maturity date one day before an anniversary
  (a common export convention: 2008-03-10 to 2013-03-09) counts that whole year. The leftover
  days (if any) earn nothing, as money taken out of a time deposit early earns next to nothing;
* whole years are covered by 5-year deposits rolled over at maturity at the rate then in force,
  the remainder in the longest term that fits (see :func:`rollover_terms`);
* interest is simple within each deposit (rate x term, fixed on the day of deposit) and compounds
  at each rollover;
* the savings interest tax (利息税) applies by accrual period: a deposit's interest accrues evenly
  per day over its term, and each day's share pays the tax rate in force that day;
* no rounding to 分 until the end (the result is rounded to 0.01 元).

Regular-premium (期交) policies: ``已交保费`` was paid in equal yearly instalments on the issue
date and its anniversaries, over the payment years (``payment_years``, the export's 缴费年期, when given; else the term
``term_years`` stands in; a whole-life policy without either pays every year it was held). The deposit is a **ladder**: each instalment goes
into deposits on its own date, at the rates then in force, for the time left to maturity, with
the tax of its own accrual period. The yields are internal rates of return on the instalments'
dates (:func:`irr`); for a single premium (趸交) that is ``(value / premium) ** (1 / years) - 1``.

The rate and tax tables are package data (``data/deposit_rates.csv`` with a ``source`` column,
``data/interest_tax.csv``). A term whose benchmark was no longer published (blank in the table)
uses the last published rate for that term. Dates before the table's first row give NaN.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..config import PACKAGE_DATA
from ..exceptions import MaturityDataError

RATES_FILE = PACKAGE_DATA / "deposit_rates.csv"
TAX_FILE = PACKAGE_DATA / "interest_tax.csv"
TERMS = (1, 2, 3, 5)
RATE_COLUMNS = tuple(f"y{t}" for t in TERMS)
DAYS_PER_YEAR = 365.25
YIELD_COLUMNS = (
    "policy_yield",
    "deposit_value",
    "deposit_yield",
    "gap_yuan",
    "gap_pp",
    "beats_deposit",
)
# Remainder of whole years after the 5-year deposits -> the deposits that cover it.
_REMAINDER_TERMS = {0: (), 1: (1,), 2: (2,), 3: (3,), 4: (3, 1)}
_SHIFT = 2**21  # days; packs an (issue, maturity) pair of dates into one int64 key


def rollover_terms(years: int) -> tuple[int, ...]:
    """Deposit terms covering ``years`` whole years: 5-year deposits, then 3, 2 or 1.

    >>> rollover_terms(8), rollover_terms(10), rollover_terms(6), rollover_terms(4)
    ((5, 3), (5, 5), (5, 1), (3, 1))
    """
    if years < 0:
        raise ValueError(f"years must be >= 0, got {years}")
    return (5,) * (years // 5) + _REMAINDER_TERMS[years % 5]


def _read_table(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype={"source": str})
    except (OSError, pd.errors.ParserError) as exc:
        raise MaturityDataError(f"{path}: cannot read the table ({exc})") from exc
    missing = [c for c in ("effective", *columns) if c not in df.columns]
    if missing:
        raise MaturityDataError(f"{path}: missing column(s) {', '.join(missing)}")
    df["effective"] = pd.to_datetime(df["effective"], format="%Y-%m-%d", errors="coerce")
    if (
        df["effective"].isna().any()
        or not df["effective"].is_monotonic_increasing
        or df["effective"].duplicated().any()
    ):
        raise MaturityDataError(f"{path}: column 'effective' must hold increasing YYYY-MM-DD dates")
    for c in columns:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
        if (df[c] < 0).any() or (df[c] > 100).any():
            raise MaturityDataError(f"{path}: column '{c}' must be a percentage in 0..100")
    return df


@cache
def _cached(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    return _read_table(path, columns)


def load_rates(path: str | Path | None = None) -> pd.DataFrame:
    """The benchmark 整存整取 rate table: ``effective, y1, y2, y3, y5`` (percent), ``source``.

    >>> load_rates().set_index("effective").loc["2007-12-21", "y5"]
    np.float64(5.85)
    """
    return _cached(Path(path or RATES_FILE), RATE_COLUMNS).copy()


def load_tax_periods(path: str | Path | None = None) -> pd.DataFrame:
    """Savings interest tax by accrual period: ``effective, tax_pct`` (0 before the first row)."""
    return _cached(Path(path or TAX_FILE), ("tax_pct",)).copy()


def _days(values) -> np.ndarray:
    """Dates as float days since 1970-01-01 (NaN for missing)."""
    d = pd.to_datetime(pd.Series(values)).to_numpy("datetime64[D]")
    out = d.astype("int64").astype(float)
    out[np.isnat(d)] = np.nan
    return out


def add_years(days: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Same month and day ``years`` later (29 Feb -> 28 Feb in common years), in int days."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    dom = (d - month.astype("datetime64[D]")).astype("int64")
    target = month + (12 * years).astype("timedelta64[M]")
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype("int64")
    return (target.astype("datetime64[D]") + np.minimum(dom, length - 1)).astype("int64")


def whole_years(issue_days: np.ndarray, maturity_days: np.ndarray) -> np.ndarray:
    """Whole years from issue to the last anniversary on or before maturity (int days in)."""
    iss = issue_days.astype("datetime64[D]")
    mat = maturity_days.astype("datetime64[D]")
    y0 = mat.astype("datetime64[Y]").astype("int64") - iss.astype("datetime64[Y]").astype("int64")
    return y0 - (add_years(issue_days, y0) > maturity_days)


def _rate_matrix(rates: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    eff = rates["effective"].to_numpy("datetime64[D]").astype("int64")
    mat = rates[list(RATE_COLUMNS)].ffill().to_numpy(float)
    return eff, mat


def _deposit_factor(
    iss: np.ndarray, mat: np.ndarray, rates: pd.DataFrame, tax: pd.DataFrame
) -> np.ndarray:
    """After-tax growth factor of 1 元 deposited on ``iss`` until ``mat`` (int day arrays)."""
    eff, rate_mat = _rate_matrix(rates)
    tax_start = tax["effective"].to_numpy("datetime64[D]").astype("int64")
    tax_pct = tax["tax_pct"].to_numpy(float)
    tax_end = np.append(tax_start[1:], np.iinfo("int64").max // 2)
    n = whole_years(iss, mat)
    fives, rem = n // 5, n % 5
    first_rem = np.select([rem == 4, rem > 0], [3, rem], 0)
    second_rem = np.where(rem == 4, 1, 0)
    factor = np.ones(len(iss))
    done = np.zeros(len(iss), dtype="int64")  # whole years already covered
    for k in range(int(fives.max(initial=0)) + 2):
        term = np.select([k < fives, k == fives, k == fives + 1], [5, first_rem, second_rem], 0)
        live = term > 0
        if not live.any():
            break
        start = add_years(iss, done)
        end = add_years(iss, done + term)
        row = np.searchsorted(eff, start, side="right") - 1
        col = np.searchsorted(TERMS, np.maximum(term, 1))
        rate = np.where(row >= 0, rate_mat[np.maximum(row, 0), col], np.nan) / 100
        length = np.maximum(end - start, 1)
        taxed = np.zeros(len(iss))
        for a, b, pct in zip(tax_start, tax_end, tax_pct, strict=True):
            overlap = np.clip(np.minimum(end, b) - np.maximum(start, a), 0, None)
            taxed += overlap / length * pct / 100
        growth = 1 + rate * term * (1 - taxed)
        factor = np.where(live, factor * growth, factor)
        done = done + term
    return factor


def term_end(issue_days: np.ndarray, maturity_days: np.ndarray) -> np.ndarray:
    """The maturity date as a deposit counts it: the day after when that day is an anniversary.

    >>> d = _days(["2008-03-10", "2013-03-09"]).astype("int64")
    >>> str(term_end(d[:1], d[1:]).astype("datetime64[D]")[0])
    '2013-03-10'
    """
    after = maturity_days + 1
    return np.where(
        add_years(issue_days, whole_years(issue_days, after)) == after, after, maturity_days
    )


def _factors(start: np.ndarray, end: np.ndarray, rates, tax) -> np.ndarray:
    """:func:`_deposit_factor` for int day arrays, computed once per (start, end) pair."""
    # factorize hashes (O(n)); np.unique would sort ten million keys
    key = (start + _SHIFT) * 2 * _SHIFT + end + _SHIFT
    inverse, pairs = pd.factorize(key)
    pair_start, pair_end = pairs // (2 * _SHIFT) - _SHIFT, pairs % (2 * _SHIFT) - _SHIFT
    return _deposit_factor(
        pair_start,
        pair_end,
        load_rates() if rates is None else rates,
        load_tax_periods() if tax is None else tax,
    )[inverse]


_KEY_PAYMENTS = 2**14  # instalments are capped below this in a schedule's key
_BLOCK_ROWS = 1 << 20  # rows solved at a time by :func:`irr`: its working arrays stay small


class Ladders(NamedTuple):
    """The instalment dates of a book's rows, computed once per distinct (issue date, maturity
    date, instalments) and shared by the rows that have it.

    ``schedule``: per row, its schedule's index (-1 where a date is missing or the maturity
    precedes the issue); per schedule, ``end`` (:func:`term_end`), ``paid`` (instalments: on
    the issue date and the anniversaries before ``end``, at most the row's payments) and
    ``dates`` ((schedules, most instalments) int days, each row's first ``paid`` filled).
    """

    schedule: np.ndarray
    end: np.ndarray
    paid: np.ndarray
    dates: np.ndarray

    def groups(self, rows: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """``rows`` (positions of rows with a schedule) by their instalment count, fewest
        first: each group's matrices are exactly as wide as its instalments."""
        paid = self.paid[self.schedule[rows]]
        for k in np.unique(paid):
            yield int(k), rows[paid == k]


def ladders(issue_date, maturity_date, payments=None) -> Ladders:
    """The :class:`Ladders` of rows of issue and maturity dates and yearly ``payments``
    (default 1: all on the issue date)."""
    iss, mat = _days(issue_date), _days(maturity_date)
    if not len(iss) == len(mat):
        raise ValueError("issue_date and maturity_date must have equal length")
    n = np.ones(len(iss), dtype="int64") if payments is None else np.asarray(payments, "int64")
    ok = ~(np.isnan(iss) | np.isnan(mat)) & (mat >= iss)
    schedule = np.full(len(iss), -1, dtype="int64")
    start, stop = iss[ok].astype("int64"), mat[ok].astype("int64")
    # factorize hashes (O(n)); np.unique would sort ten million keys
    key = ((start + _SHIFT) * 2 * _SHIFT + stop + _SHIFT) * _KEY_PAYMENTS
    schedule[ok], pairs = pd.factorize(key + np.clip(n[ok], 1, _KEY_PAYMENTS - 1))
    pairs, count = np.divmod(pairs, _KEY_PAYMENTS)
    start, stop = pairs // (2 * _SHIFT) - _SHIFT, pairs % (2 * _SHIFT) - _SHIFT
    end = term_end(start, stop)
    due = np.minimum(count, whole_years(start, end) + 1)  # anniversaries up to ``end``
    j = np.arange(int(due.max(initial=1)))
    dates = np.stack([add_years(start, np.full(len(start), y)) for y in j], axis=1)
    paid = ((j[None, :] < due[:, None]) & (dates < end[:, None])).sum(axis=1)
    return Ladders(schedule, end, paid, np.where(j[None, :] < paid[:, None], dates, -1))


def payment_counts(policies: pd.DataFrame) -> np.ndarray:
    """Yearly instalments per policy: 1 for 趸交 (or no ``payment_mode``); for 期交 the
    ``payment_years`` column when the frame has one, else ``term_years``; a 期交 policy with
    neither (whole-life) paid every year it was held (see :func:`deposit_value`, which caps the
    count at the instalments due before maturity)."""
    n = len(policies)
    if "payment_mode" not in policies.columns:
        return np.ones(n, dtype="int64")
    regular = (policies["payment_mode"] == "期交").fillna(False).to_numpy(dtype=bool)
    years = pd.Series(np.nan, index=policies.index)
    for column in ("payment_years", "term_years"):
        if column in policies.columns:
            years = years.fillna(pd.to_numeric(policies[column], errors="coerce").astype(float))
    years = years.fillna(10_000).to_numpy(float)  # no term: every year up to maturity
    return np.where(regular, np.maximum(years, 1), 1).astype("int64")


def deposit_value(
    premium,
    issue_date,
    maturity_date,
    rates: pd.DataFrame | None = None,
    tax: pd.DataFrame | None = None,
    payments=None,
    ladder: Ladders | None = None,
) -> pd.Series:
    """After-tax value at maturity of ``premium`` put into 整存整取 deposits.

    Parameters
    ----------
    premium, issue_date, maturity_date
        Array-likes of equal length (元, dates); a Series' index is kept.
    rates, tax
        Rate and tax tables as :func:`load_rates` / :func:`load_tax_periods` return them
        (default: the shipped tables).
    payments
        Yearly instalments per row (default 1: all on ``issue_date``): ``premium / payments`` is
        deposited on the issue date and each anniversary before maturity (a ladder).
    ladder
        The rows' :func:`ladders`, when already computed (then the dates and payments are not
        read again).

    Returns
    -------
    pandas.Series
        ``deposit_value`` in 元, rounded to 0.01; NaN where a date is missing, maturity precedes
        issue, or the issue date predates the rate table.

    >>> deposit_value([10000], ["2008-12-23"], ["2009-12-23"]).tolist()  # 1 year at 2.25%, no tax
    [10225.0]
    """
    index = premium.index if isinstance(premium, pd.Series) else None
    p = pd.to_numeric(pd.Series(premium), errors="coerce").to_numpy(float)
    lad = ladder or ladders(issue_date, maturity_date, payments)
    if len(p) != len(lad.schedule):
        raise ValueError("premium, issue_date and maturity_date must have equal length")
    grown = np.zeros(len(lad.end))  # per schedule: what 1 元 per instalment grows to
    for k in np.unique(lad.paid):
        sel = np.flatnonzero(lad.paid == k)
        dates = lad.dates[sel, :k]
        ends = np.broadcast_to(lad.end[sel][:, None], dates.shape)
        grown[sel] = _factors(dates.ravel(), ends.ravel(), rates, tax).reshape(dates.shape).sum(1)
    value = np.full(len(p), np.nan)
    ok = lad.schedule >= 0
    s = lad.schedule[ok]
    value[ok] = p[ok] / lad.paid[s] * grown[s]
    return pd.Series(np.round(value, 2), index=index, name="deposit_value")


def irr(amounts: np.ndarray, years: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Annual rate ``r`` with ``sum(amounts * (1 + r) ** years) == value``, per row.

    ``amounts`` and ``years`` (time from each payment to maturity) are (rows, payments) arrays,
    0 amounts padding the short rows. Solved by Newton's method on ``log(1 + r)``, where the
    left side's logarithm is convex and increasing, so the iteration converges from any start;
    each row stops once its own step is below 1e-13 (so a row's rate never depends on the
    rows beside it). NaN where the value, the amounts or the times do not allow a rate.

    >>> irr(np.array([[5000.0, 5000.0]]), np.array([[2.0, 1.0]]), np.array([10762.5])).round(6)
    array([0.05])
    """
    total = amounts.sum(axis=1)
    mean_t = (amounts * years).sum(axis=1) / np.where(total > 0, total, np.nan)
    good = (total > 0) & (value > 0) & (mean_t > 0)
    with np.errstate(all="ignore"):
        x = np.where(good, np.log(value / total) / mean_t, 0.0)  # log(1 + r), first guess
        target = np.log(np.where(good, value, 1.0))
        todo = np.flatnonzero(good)
        for _ in range(60):
            if not todo.size:
                break
            a, t = amounts[todo], years[todo]
            w = a * np.exp(x[todo, None] * t)
            s = w.sum(axis=1)
            step = (np.log(s) - target[todo]) / ((w * t).sum(axis=1) / s)
            x[todo] -= step
            todo = todo[np.abs(step) >= 1e-13]  # a NaN step ends its row too (x is NaN)
        return np.where(good, np.expm1(x), np.nan)


def annualised(
    value, principal, issue_date, maturity_date, payments=None, ladder: Ladders | None = None
) -> pd.Series:
    """The yield of ``principal`` (in ``payments`` yearly instalments, default 1) growing to
    ``value`` by the maturity date (:func:`term_end`): :func:`irr` on the instalments' dates,
    years counted as days / 365.25. ``ladder``: the rows' :func:`ladders`, when computed."""
    v = pd.to_numeric(pd.Series(value), errors="coerce").to_numpy(float)
    p = pd.to_numeric(pd.Series(principal), errors="coerce").to_numpy(float)
    lad = ladder or ladders(issue_date, maturity_date, payments)
    out = np.full(len(p), np.nan)
    ok = (lad.schedule >= 0) & ~np.isnan(v) & ~np.isnan(p)
    for k, group in lad.groups(np.flatnonzero(ok)):
        for rows in np.array_split(group, -(-len(group) // _BLOCK_ROWS)):
            s = lad.schedule[rows]
            years = (lad.end[s][:, None] - lad.dates[s, :k]) / DAYS_PER_YEAR
            amounts = np.repeat((p[rows] / k)[:, None], k, axis=1)
            out[rows] = irr(amounts, years, v[rows])
    index = value.index if isinstance(value, pd.Series) else None
    return pd.Series(out, index=index)


def add_yields(policies: pd.DataFrame, rates: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return a copy of ``policies`` with the policy-versus-deposit columns added.

    Uses ``premium``, ``issue_date``, ``maturity_date`` and ``maturity_value`` (and, for 期交,
    ``payment_mode`` with ``payment_years`` or ``term_years``: :func:`payment_counts`) and adds
    ``policy_yield`` and ``deposit_yield`` (annual rates of return on the payment dates),
    ``deposit_value`` (元), ``gap_yuan`` (maturity_value - deposit_value), ``gap_pp`` (yield gap
    in percentage points) and ``beats_deposit`` (maturity_value >= deposit_value; <NA> where
    either is missing).
    """
    missing = [
        c
        for c in ("premium", "issue_date", "maturity_date", "maturity_value")
        if c not in policies.columns
    ]
    if missing:
        raise MaturityDataError(f"policies lack column(s) {', '.join(missing)} for the yields")
    out = policies.copy(deep=False)  # copy-on-write: new columns never touch the input
    prem, iss, mat = out["premium"], out["issue_date"], out["maturity_date"]
    lad = ladders(iss, mat, payment_counts(out))
    value = pd.to_numeric(out["maturity_value"], errors="coerce").astype(float)
    out["policy_yield"] = annualised(value, prem, iss, mat, ladder=lad).to_numpy()
    out["deposit_value"] = deposit_value(prem, iss, mat, rates=rates, ladder=lad).to_numpy()
    out["deposit_yield"] = annualised(out["deposit_value"], prem, iss, mat, ladder=lad).to_numpy()
    out["gap_yuan"] = (value - out["deposit_value"]).round(2)
    out["gap_pp"] = (out["policy_yield"] - out["deposit_yield"]) * 100
    beats = pd.array(value >= out["deposit_value"], dtype="boolean")
    beats[(value.isna() | out["deposit_value"].isna()).to_numpy()] = pd.NA
    out["beats_deposit"] = beats
    return out

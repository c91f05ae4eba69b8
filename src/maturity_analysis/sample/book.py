"""The deterministic sample maturity list: a core-system style export that reproduces the plan.

:func:`generate_policies` builds the plan year's 36,823 maturing policies so that, aged in whole
years at 保险止期 and banded by 已交保费, every cell of the plan's Table 1 comes out exactly, and
the premium figures of Table 4 (61以上 分红 3880万元, 61以上 万能 2219万元, 共计 30721万元) exactly
too. All counts and totals are read from the plan file, not written here. :func:`write_sample`
writes it as ``policies.xlsx``; :func:`scaled_policies` draws a book of any size with the same
shape (the benchmark's 100k-10M rows).

How the book is drawn (numpy ``default_rng(seed)`` plus a seeded Faker, nothing else random):

* 保险止期 in the plan year, more in the first quarter (开门红 sales of earlier years);
* 分红: 千里马 with terms of 5, 8 or 10 years (70/20/10), issued exactly ``term`` years before
  maturity; 万能: whole-life (终身), issued 5-8 years before its plan-year review date;
* ages uniform within their band (61以上 thinning out to 88), never under 18 at issue;
* premiums in the larger bands on round 1000 元 (20万+: 1万元) steps near the band's lower edge;
  the <5万 premiums (100 元 steps, 1000 元 minimum) are then solved per group so the totals hold;
* 满期金+分红: 分红 at an annualised return drawn per term (5 years about 3%, below the deposit
  of 2008; 8 and 10 years about 3.9% and 4.3%, above the deposits of 2003-2005); 万能 at the account's
  credited rate (2.5-3.5% a year) after a 2% initial charge. 期交 money was paid over the term
  (缴费年期 = the term for 分红; blank for 万能 and 趸交), so it earns over about half of it;
* fake but well-formed PII: Faker('zh_CN') names matching the ID's sex digit, 18-digit IDs of
  the area's counties with the birth date and a valid ISO 7064 MOD 11-2 check character,
  11-digit mobiles, unique 15-digit policy numbers (8 + issue year + 10 digits).

Faker's name lists may differ between Faker versions; everything else depends on numpy only.
"""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from faker import Faker
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from .. import config
from ..analysis.yields import add_years
from ..config import PLAN_FILE
from ..exceptions import PlanError
from ..files import write_atomic
from ..ingest.schema import SAMPLE_HEADERS, WHOLE_LIFE
from ..output.excel import data_row
from ..plan.model import DATASET_PLAN, Plan, load_plan, parse_plan
from ..plan.workdays import working_days
from .tracking import write_tracking

PARTICIPATING, UNIVERSAL = "分红", "万能"
PRODUCT_NAMES = {PARTICIPATING: "千里马两全保险(分红型)", UNIVERSAL: "金账户终身寿险(万能型)"}
TERMS = np.array([5, 8, 10])
TERM_WEIGHTS = np.array([0.70, 0.20, 0.10])
HELD_YEARS = np.array([5, 6, 7, 8])  # 万能: years from issue to the plan-year review date
HELD_WEIGHTS = np.array([0.35, 0.30, 0.20, 0.15])
REGULAR_SHARE = {PARTICIPATING: 0.08, UNIVERSAL: 0.05}  # share of 期交 policies
# 分红 annualised return (mean, sd) by term; 万能 credited rate range and initial charge.
RETURN_BY_TERM = {5: (0.030, 0.008), 8: (0.039, 0.006), 10: (0.043, 0.006)}
CREDITED_RATE = (0.025, 0.035)
INITIAL_CHARGE = 0.02
MONTH_WEIGHTS = np.array([14, 11, 12, 8, 7, 7, 7, 7, 7, 7, 6, 7], dtype=float)
OLDEST = 88
MIN_ISSUE_AGE = 18
SMALL_MIN, SMALL_MAX, SMALL_STEP = 1000, 49_900, 100
# (step in 元, geometric p of the number of steps above the band's lower edge, max steps),
# per product, for the 5-10万, 10-20万 and 20万+ bands.
LARGE_STEPS = {
    PARTICIPATING: ((1000, 0.12, 49), (1000, 0.07, 99), (10_000, 0.25, 180)),
    UNIVERSAL: ((1000, 0.22, 49), (1000, 0.12, 99), (10_000, 0.35, 180)),
}
SUB_BRANCHES = ("城关支局", "城东支局", "城西支局", "城南支局", "城北支局", "开发区支局")
BRANCH_PLACES = (
    "解放路营业所",
    "岑河镇邮政所",
    "人民路营业所",
    "观音垱镇邮政所",
    "建设路营业所",
    "锣场镇邮政所",
    "中山路营业所",
    "李埠镇邮政所",
    "胜利街营业所",
    "弥市镇邮政所",
    "长江路营业所",
    "川店镇邮政所",
    "红星路营业所",
    "马山镇邮政所",
    "北京路营业所",
    "纪南镇邮政所",
    "江汉路营业所",
    "郢城镇邮政所",
    "园林路营业所",
    "埠河镇邮政所",
    "新华路营业所",
    "杨家厂镇邮政所",
    "文化街营业所",
    "麻豪口镇邮政所",
    "青年路营业所",
    "夹竹园镇邮政所",
    "工农路营业所",
    "闸口镇邮政所",
    "和平路营业所",
    "南平镇邮政所",
    "光明路营业所",
    "孟家溪镇邮政所",
    "东风路营业所",
    "郑公镇邮政所",
    "复兴路营业所",
    "毛家港镇邮政所",
    "民主街营业所",
    "章庄铺镇邮政所",
    "幸福路营业所",
    "八岭山镇邮政所",
    "学院路营业所",
    "滩桥镇邮政所",
)
BRANCHES_PER_SUB = 8
# County codes (GB/T 2260) of the area, and a few from elsewhere, with weights.
REGIONS = {
    "421002": 20,
    "421003": 20,
    "421022": 12,
    "421023": 12,
    "421024": 8,
    "421081": 8,
    "421083": 8,
    "421087": 7,
    "420106": 2,
    "430602": 1.5,
    "440305": 1.5,
}
MOBILE_PREFIXES = (
    130,
    131,
    132,
    133,
    134,
    135,
    136,
    137,
    138,
    139,
    150,
    151,
    152,
    153,
    155,
    156,
    157,
    158,
    159,
    180,
    182,
    183,
    186,
    187,
    188,
    189,
)
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
FIXED_TIME = datetime(2013, 1, 1)
# Where the shipped plan file holds its year and its stated figures (see shifted_plan).
_PLAN_YEAR = re.compile(r"(?m)^(year = )\d{4}(\s)")
_FIGURES_START = "# --- Figures the plan states"
_FIGURES_END = "# --- Costs"
_STATED_COUNT = re.compile(r"(?m)^stated_count = \d+[^\n]*\n")  # a trailing comment too

SHEET = "满期保单清单"
NAME_POOL = 4000  # names per sex drawn once for scaled_policies


# --- the plan's cells ------------------------------------------------------------------------
def _table1_cells(plan: Plan) -> pd.DataFrame:
    """One row per (product, age band, principal band) with the plan's Table 1 count."""
    table1, rows = plan.figures["table1"], []
    for product in plan.products:
        for a, age in enumerate(plan.age_labels):
            counts = table1[product][age]
            if len(counts) != len(plan.principal_labels) + 1 or sum(counts[1:]) != counts[0]:
                raise PlanError(
                    f"{plan.source}: key 'figures.table1.{product}.{age}' must be "
                    "[total, one count per principal band] summing to the total"
                )
            rows += [(product, a, b, n) for b, n in enumerate(counts[1:])]
    return pd.DataFrame(rows, columns=["product", "age", "band", "count"])


def _premium_targets(plan: Plan) -> dict[str, float]:
    """元 totals of Table 4: 61以上 per product and the grand total."""
    t4 = plan.figures["table4"]
    return {
        PARTICIPATING: t4["over61_participating_wan"] * 1e4,
        UNIVERSAL: t4["over61_universal_wan"] * 1e4,
        "all": t4["grand_total_wan"] * 1e4,
    }


# --- drawing helpers -------------------------------------------------------------------------
def _dates_in_year(rng: np.random.Generator, year: int, n: int) -> np.ndarray:
    """Int days (since 1970) in ``year``, months weighted by MONTH_WEIGHTS."""
    month = rng.choice(12, size=n, p=MONTH_WEIGHTS / MONTH_WEIGHTS.sum())
    first = (np.datetime64(f"{year}-01", "M") + month).astype("datetime64[D]")
    length = (np.datetime64(f"{year}-01", "M") + month + 1).astype("datetime64[D]") - first
    return first.astype("int64") + (rng.random(n) * length.astype("int64")).astype("int64")


def _ages(rng: np.random.Generator, plan: Plan, band: np.ndarray, youngest: np.ndarray):
    """Whole-year ages within each age band, at least ``youngest``."""
    lower = np.asarray(plan.age_lower)
    upper = np.append(lower[1:] - 1, OLDEST)
    lo = np.maximum(lower[band], youngest)
    hi = upper[band]
    if (lo > hi).any():
        raise PlanError(f"{plan.source}: an age band is too young for the product terms")
    span = hi - lo + 1
    # Uniform within a band; the open last band thins out: age = lo + floor(span * u ** 1.8).
    shape = np.where(band == len(lower) - 1, 1.8, 1.0)
    return lo + np.minimum((span * rng.random(len(band)) ** shape).astype("int64"), span - 1)


def _births(rng: np.random.Generator, maturity: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Birth dates (int days) such that the 周岁 on ``maturity`` is exactly ``age``."""
    hi = add_years(maturity, -age)  # the birthday falls on the maturity date
    lo = add_years(maturity, -(age + 1))  # one day after this is the earliest birth
    return lo + 1 + (rng.random(len(age)) * (hi - lo)).astype("int64")


def _large_premiums(
    rng: np.random.Generator, plan: Plan, product: np.ndarray, band: np.ndarray
) -> np.ndarray:
    """元 premiums for rows in the bands from 5万 up (0 for the <5万 band)."""
    out = np.zeros(len(band))
    for prod, steps in LARGE_STEPS.items():
        for b, (step, p, most) in enumerate(steps, start=1):
            rows = np.flatnonzero((product == prod) & (band == b))
            k = np.minimum(rng.geometric(p, size=len(rows)) - 1, most)
            out[rows] = plan.principal_lower[b] + step * k
    return out


def _solve_small(
    rng: np.random.Generator, shape: np.ndarray, target: float, exact: bool
) -> np.ndarray:
    """<5万 premiums: SMALL_MIN + scale x shape, in SMALL_STEP steps, summing to ``target``."""
    n = len(shape)
    if n == 0:
        return np.zeros(0)
    lo, hi = 0.0, SMALL_MAX / shape.min()
    for _ in range(60):  # bisection on the scale: the clipped sum rises with it
        mid = (lo + hi) / 2
        total = np.clip(SMALL_MIN + mid * shape, SMALL_MIN, SMALL_MAX).sum()
        lo, hi = (mid, hi) if total < target else (lo, mid)
    x = np.clip(np.round((SMALL_MIN + lo * shape) / SMALL_STEP) * SMALL_STEP, SMALL_MIN, SMALL_MAX)
    while exact and (gap := round((target - x.sum()) / SMALL_STEP)) != 0:
        sign = np.sign(gap)
        room = np.flatnonzero(
            (x + sign * SMALL_STEP >= SMALL_MIN) & (x + sign * SMALL_STEP <= SMALL_MAX)
        )
        if len(room) == 0:
            raise PlanError(f"the <5万 premiums cannot reach {target:,.0f} 元 within the band")
        pick = rng.choice(room, size=min(abs(gap), len(room)), replace=False)
        x[pick] += sign * SMALL_STEP
    return x


def _premiums(
    rng: np.random.Generator,
    plan: Plan,
    product: np.ndarray,
    age: np.ndarray,
    band: np.ndarray,
    scale: float,
    exact: bool,
) -> np.ndarray:
    """Premiums per row; the 61以上 groups and the rest each hit their Table 4 total x scale."""
    targets = _premium_targets(plan)
    out = _large_premiums(rng, plan, product, band)
    # A lognormal shape for the small premiums; 分红 buyers put in somewhat more.
    shape = rng.lognormal(0.0, 0.9, size=len(band)) * np.where(product == PARTICIPATING, 1.3, 1.0)
    oldest = age == len(plan.age_labels) - 1
    groups = [(oldest & (product == p), targets[p] * scale) for p in (PARTICIPATING, UNIVERSAL)]
    rest_target = (targets["all"] - targets[PARTICIPATING] - targets[UNIVERSAL]) * scale
    groups.append((~oldest, rest_target))
    for mask, target in groups:
        small = mask & (band == 0)
        out[small] = _solve_small(rng, shape[small], target - out[mask & (band > 0)].sum(), exact)
    return out


def _maturity_values(
    rng: np.random.Generator,
    product: np.ndarray,
    years: np.ndarray,
    regular: np.ndarray,
    premium: np.ndarray,
) -> np.ndarray:
    """满期金+分红 (分红) or account value (万能), 元 to the 分."""
    n = len(premium)
    rate = rng.uniform(*CREDITED_RATE, size=n)
    for term, (mean, sd) in RETURN_BY_TERM.items():
        rows = (product == PARTICIPATING) & (years == term)
        rate[rows] = np.clip(rng.normal(mean, sd, size=rows.sum()), 0.005, 0.07)
    charge = np.where(product == UNIVERSAL, 1 - INITIAL_CHARGE, 1.0)
    earning_years = np.where(regular, years * 0.55, years)
    return np.round(premium * charge * (1 + rate) ** earning_years, 2)


def _digit_rows(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) ASCII digit bytes of non-negative integers, zero-padded."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype="int64")
    return ((values[:, None] // powers) % 10 + 48).astype(np.uint8)


def _text(ascii_rows: np.ndarray) -> np.ndarray:
    width = ascii_rows.shape[1]
    return np.ascontiguousarray(ascii_rows).view(f"S{width}").ravel().astype(f"U{width}")


def _ids(rng: np.random.Generator, birth: np.ndarray, male: np.ndarray) -> np.ndarray:
    """18-character resident IDs: county, birth date, sequence (odd = male), check character."""
    codes = np.array([int(c) for c in REGIONS])
    weights = np.array(list(REGIONS.values()), dtype=float)
    region = codes[rng.choice(len(codes), size=len(birth), p=weights / weights.sum())]
    d = birth.astype("datetime64[D]")
    ymd = (
        (d.astype("datetime64[Y]").astype("int64") + 1970) * 10_000
        + (d.astype("datetime64[M]").astype("int64") % 12 + 1) * 100
        + (d - d.astype("datetime64[M]").astype("datetime64[D]")).astype("int64")
        + 1
    )
    seq = rng.integers(0, 500, size=len(birth)) * 2 + male
    digits = np.hstack([_digit_rows(region, 6), _digit_rows(ymd, 8), _digit_rows(seq, 3)])
    check = ID_CHECK[((digits.astype("int64") - 48) @ ID_WEIGHTS) % 11]
    return _text(np.hstack([digits, check[:, None]]))


def _mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = np.array(MOBILE_PREFIXES)[rng.integers(0, len(MOBILE_PREFIXES), size=n)]
    return _text(_digit_rows(prefix * 10**8 + rng.integers(0, 10**8, size=n), 11))


def _policy_numbers(rng: np.random.Generator, issue_year: np.ndarray) -> np.ndarray:
    """Unique 15-digit numbers: 8, the issue year, 10 random digits."""
    base = 8 * 10**14 + issue_year.astype("int64") * 10**10
    numbers = base + rng.integers(0, 10**10, size=len(base))
    while len(dup := np.flatnonzero(pd.Series(numbers).duplicated().to_numpy())):
        numbers[dup] = base[dup] + rng.integers(0, 10**10, size=len(dup))
    return _text(_digit_rows(numbers, 15))


def _branches(rng: np.random.Generator, count: int) -> pd.DataFrame:
    """Branch code, name, 支局 and an uneven (Zipf-like) size weight."""
    rows = []
    for i in range(count):
        sub, j = divmod(i, BRANCHES_PER_SUB)
        sub_name = SUB_BRANCHES[sub] if sub < len(SUB_BRANCHES) else f"第{sub + 1}支局"
        if j == 0:  # each 支局's own counter
            name = f"{sub_name}营业所"
        else:  # places in order; past the list, numbered second outlets
            cycle, k = divmod(i - sub - 1, len(BRANCH_PLACES))
            place = BRANCH_PLACES[k]
            name = place if cycle == 0 else f"{place[:-3]}第{cycle + 1}{place[-3:]}"
        rows.append((f"42{sub + 1:02d}{j + 1:02d}", name, sub_name))
    df = pd.DataFrame(rows, columns=["code", "name", "sub"])
    rank = rng.permutation(count) + 1
    weight = rank**-0.6 * rng.lognormal(0.0, 0.25, size=count)
    return df.assign(weight=weight / weight.sum())


def _managers(
    fake: Faker, rng: np.random.Generator, branch: np.ndarray, count: int
) -> tuple[list[str], np.ndarray]:
    """客户经理 (names, code per row): each branch has 2-4, each policy one of its branch's."""
    per_branch = rng.integers(2, 5, size=count)
    names = [fake.name() for _ in range(per_branch.sum())]
    first = np.concatenate([[0], np.cumsum(per_branch)[:-1]])
    pick = (rng.random(len(branch)) * per_branch[branch]).astype("int64")
    return names, first[branch] + pick


# --- the book --------------------------------------------------------------------------------
def _book(
    rng: np.random.Generator,
    fake: Faker,
    plan: Plan,
    product: np.ndarray,
    age_band: np.ndarray,
    band: np.ndarray,
    scale: float,
    exact: bool,
    branch_count: int,
    name_pool: int | None,
) -> pd.DataFrame:
    """Draw every column for rows whose (product, age band, principal band) is given.

    With a ``name_pool`` (the scaled books), names come from that many per sex and the
    repetitive text columns are categorical, which keeps 10M rows fast and small.
    """
    n = len(product)
    participating = product == PARTICIPATING
    years = np.where(
        participating,
        rng.choice(TERMS, size=n, p=TERM_WEIGHTS),
        rng.choice(HELD_YEARS, size=n, p=HELD_WEIGHTS),
    )
    maturity = _dates_in_year(rng, plan.year, n)
    issue = add_years(maturity, -years)
    age = _ages(rng, plan, age_band, MIN_ISSUE_AGE + years)
    birth = _births(rng, maturity, age)
    regular = rng.random(n) < np.where(
        participating, REGULAR_SHARE[PARTICIPATING], REGULAR_SHARE[UNIVERSAL]
    )
    premium = _premiums(rng, plan, product, age_band, band, scale, exact)
    value = _maturity_values(rng, product, years, regular, premium)
    male = (rng.random(n) < 0.45).astype("int64")
    branches = _branches(rng, branch_count)
    branch = rng.choice(branch_count, size=n, p=branches["weight"].to_numpy())

    def text(categories, codes: np.ndarray):
        if name_pool is None:
            return np.asarray(categories, dtype=object)[codes]
        index, unique = pd.factorize(pd.Index(categories, dtype=object))
        return pd.Categorical.from_codes(index[codes], categories=unique)

    if name_pool is None:
        names = np.array([fake.name_male() if m else fake.name_female() for m in male])
    else:
        pool = [fake.name_female() for _ in range(name_pool)]
        pool += [fake.name_male() for _ in range(name_pool)]
        codes = male * name_pool + rng.integers(0, name_pool, size=n)
        names = text(pool, codes)
    days = lambda d: pd.to_datetime(d.astype("datetime64[D]")).astype("datetime64[ns]")  # noqa: E731
    issue_year = issue.astype("datetime64[D]").astype("datetime64[Y]").astype("int64") + 1970
    term_codes = np.where(participating, np.searchsorted(TERMS, years), len(TERMS))
    manager_names, manager = _managers(fake, rng, branch, branch_count)
    columns = [
        _policy_numbers(rng, issue_year),
        names,
        _ids(rng, birth, male),
        days(birth),
        _mobiles(rng, n),
        text(branches["code"], branch),
        text(branches["name"], branch),
        text(branches["sub"], branch),
        text([PARTICIPATING, UNIVERSAL], (~participating).astype("int64")),
        text(
            [PRODUCT_NAMES[PARTICIPATING], PRODUCT_NAMES[UNIVERSAL]],
            (~participating).astype("int64"),
        ),
        text([*TERMS.tolist(), WHOLE_LIFE[0]], term_codes),
        text(["趸交", "期交"], regular.astype("int64")),
        # 缴费年期: a 分红 期交 policy paid over its whole term; blank for 趸交 and for 万能
        # (whole-life: paid every year it was held)
        np.where(regular & participating, years.astype(object), None),
        premium.astype("int64"),
        days(issue),
        days(maturity),
        value,
        text(manager_names, manager),
    ]
    return pd.DataFrame(dict(zip(SAMPLE_HEADERS, columns, strict=True)))


def _seeded(seed: int) -> tuple[np.random.Generator, Faker]:
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    return np.random.default_rng(seed), fake


def generate_policies(seed: int = 2013, plan: Plan | None = None) -> pd.DataFrame:
    """The sample maturity list: every Table 1 cell and the Table 4 premiums reproduced exactly.

    Returns a frame with the Chinese headers of ``schema.SAMPLE_HEADERS``, sorted by 网点代码,
    保险止期 and 保单号. The same seed gives the same frame.
    """
    plan = plan or load_plan()
    rng, fake = _seeded(seed)
    cells = _table1_cells(plan)
    rows = cells.loc[cells.index.repeat(cells["count"])]
    book = _book(
        rng,
        fake,
        plan,
        rows["product"].to_numpy(),
        rows["age"].to_numpy(),
        rows["band"].to_numpy(),
        scale=1.0,
        exact=True,
        branch_count=len(SUB_BRANCHES) * BRANCHES_PER_SUB,
        name_pool=None,
    )
    return book.sort_values(["网点代码", "保险止期", "保单号"], ignore_index=True)


def scaled_policies(
    n: int, seed: int = 2013, branches: int | None = None, plan: Plan | None = None
) -> pd.DataFrame:
    """A book of ``n`` policies shaped like the sample (cells drawn by Table 1's shares).

    Premium totals scale with ``n`` (approximately, not exactly); names come from a pool.
    ``branches`` sets the number of branches (default 48, eight per 支局).
    """
    plan = plan or load_plan()
    rng, fake = _seeded(seed)
    cells = _table1_cells(plan)
    total = cells["count"].sum()
    pick = rng.choice(len(cells), size=n, p=cells["count"].to_numpy() / total)
    rows = cells.iloc[pick]
    return _book(
        rng,
        fake,
        plan,
        rows["product"].to_numpy(),
        rows["age"].to_numpy(),
        rows["band"].to_numpy(),
        scale=n / total,
        exact=False,
        branch_count=branches or len(SUB_BRANCHES) * BRANCHES_PER_SUB,
        name_pool=NAME_POOL,
    )


# --- writing ---------------------------------------------------------------------------------
_DATE_HEADERS = ("投保人出生日期", "承保日期", "保险止期")
_WIDTHS = {"保单号": 18, "投保人身份证号": 21, "投保人手机": 13, "网点名称": 18, "产品名称": 24}


def _write_xlsx(frame: pd.DataFrame, path: Path) -> None:
    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.properties.creator = "maturity_analysis.sample.book"
    ws = wb.create_sheet(SHEET)
    for i, header in enumerate(frame.columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(header, 12)
    ws.freeze_panes = "A2"
    header_cells = []
    for header in frame.columns:
        cell = WriteOnlyCell(ws, value=header)
        cell.font = Font(bold=True)
        header_cells.append(cell)
    ws.append(header_cells)
    columns = [
        frame[h].dt.date.tolist() if h in _DATE_HEADERS else frame[h].tolist()
        for h in frame.columns
    ]
    for row in zip(*columns, strict=True):
        ws.append(data_row(ws, row))
    wb.save(path)


def _normalise_zip(src: Path, dst: Path, shape: tuple[int, int]) -> None:
    """Copy an xlsx with fixed timestamps (same content, same bytes) and the sheet's dimension.

    openpyxl's write-only mode leaves out ``<dimension>``, which makes every reader that opens
    the file read-only (pandas does) parse the whole sheet once more to size it.
    """
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    ref = f'<dimension ref="A1:{get_column_letter(shape[1])}{shape[0]}"/>'.encode()
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in sorted(zin.namelist()):
            data = zin.read(name)
            if name == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data
                )
            elif name == "xl/worksheets/sheet1.xml" and b"<dimension" not in data[:2000]:
                data = data.replace(b"</sheetPr>", b"</sheetPr>" + ref, 1)
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(info, data)


def shifted_plan(year: int) -> tuple[Plan, str]:
    """The shipped plan moved to plan year ``year``: the plan the sample is drawn on (with the
    2013 figures it reproduces) and the text of the dataset's ``plan.toml`` — the shipped file
    with its ``plan.year`` changed and without the 2013 plan's stated figures, which belong to
    the 2013 plan only."""
    text = PLAN_FILE.read_text(encoding="utf-8")
    text, n = _PLAN_YEAR.subn(rf"\g<1>{year}\g<2>", text, count=1)
    head, figures, rest = text.partition(_FIGURES_START)
    tail = rest.partition(_FIGURES_END)[2]
    if n != 1 or not figures or not tail:
        raise PlanError(f"{PLAN_FILE}: cannot find plan.year and the figures block to shift")
    drawn = parse_plan(tomllib.loads(text), source=f"{PLAN_FILE} (year {year})")
    head = _STATED_COUNT.sub("", head)
    own = (
        f"# Plan year {year}: the sample's plan (maturity-analysis sample --year {year}), the\n"
        f"# shipped plan with its year changed.\n{head}"
        "# The 2013 plan's stated figures are left out: a plan's figures are its own.\n\n"
        f"{_FIGURES_END}{tail}"
    )
    return drawn, own


def write_sample(
    out: str | Path | None = None, seed: int = 2013, year: int | None = None
) -> list[Path]:
    """Write the sample maturity list to ``out/policies.xlsx`` (default ``data/raw/sample/``),
    and a year of filled tracking forms to ``out/tracking/`` (:mod:`sample_tracking`).

    ``year``: the plan year to shift the sample to (default the shipped plan's, 2013); for
    another year the same book is drawn in that year (same counts, same Tables 1-4) and the
    matching plan file is written as ``out/plan.toml`` (:func:`shifted_plan`), which the
    dataset then uses. Each file appears atomically (written beside it, then renamed) and is
    byte-identical for the same seed. Returns the paths written, policies.xlsx first.
    """
    out = Path(out) if out is not None else config.raw_dir() / "sample"
    plan, own = load_plan(), None
    if year is not None and year != plan.year:
        plan, own = shifted_plan(year)
        window = plan.tracking.window(year)
        working_days(*window, plan.holiday_notices)  # a year without a calendar fails here
    out.mkdir(parents=True, exist_ok=True)
    target = out / "policies.xlsx"
    frame = generate_policies(seed, plan)
    with tempfile.TemporaryDirectory(dir=out, prefix=".policies-") as tmp:
        raw, final = Path(tmp) / "raw.xlsx", Path(tmp) / "policies.xlsx"
        _write_xlsx(frame, raw)
        _normalise_zip(raw, final, (len(frame) + 1, frame.shape[1]))
        os.replace(final, target)

    written = [target]
    if own is not None:
        write_atomic(out / DATASET_PLAN, own)
        written.append(out / DATASET_PLAN)
    else:
        (out / DATASET_PLAN).unlink(missing_ok=True)  # the 2013 sample uses the shipped plan
    return [*written, *write_tracking(out, frame, seed, plan)]

"""Maturity lists → validated canonical policies, the rows rejected and why, and a manifest.

``load_policies`` reads one file or a dataset folder (the catalog that writes and reads the
prepared dataset is :mod:`maturity_analysis.ingest.dataset`); ``stream_policies`` reads the same,
keeping each part's typed values in a scratch folder and handing the accepted rows back a part
at a time, so that a book of millions is never in memory whole. Every data row read is either accepted or
in the rejects with file, sheet, row, column, value and reason: ``accepted + rejected == read``.
Blank rows and summary rows (合计/总计/小计/共计/总合计, spaced or not) are not data rows; the manifest counts them apart.
A row whose ID Excel stored as a number is kept when its birth date gives the age: the ID is
dropped and the manifest counts it under ``warnings``. Excel's error values (#N/A, ...) are
missing data; the branch code ``ALL`` is reserved for the whole book.
"""

from __future__ import annotations

import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import union_categoricals
from pyarrow import feather
from tqdm.auto import tqdm

from .. import __version__
from ..exceptions import MaturityDataError
from ..plan.bands import age_at, age_band, principal_band
from ..plan.model import Plan, load_plan, plan_sha256
from .ids import birth_from_id, check_digit_ok, upgrade_15
from .readers import (
    EXCEL_EPOCH,
    EXCEL_ERRORS,
    REJECT_COLUMNS,
    WS,
    FileInfo,
    InexactLines,
    Sheet,
    ascii_digits,
    csv_slow,
    has_any,
    read_chunks,
)
from .schema import (
    CATEGORY_COLUMNS,
    PAYMENT_MODES,
    POLICY_COLUMNS,
    PRODUCT_TYPES,
    RESERVED_CODES,
    WHOLE_LIFE,
)

INPUT_PATTERN = "policies*"
INPUT_SUFFIXES = (".xlsx", ".xls", ".csv", ".txt")  # .txt: Excel's Unicode text
MAX_AGE = 110
ACCOUNTING = (
    "rows_read counts the data rows of each sheet below its header: every row that is "
    "neither blank nor a summary row (合计/总计/小计/共计/总合计). rows_read = rows_accepted + "
    "rows_rejected; blank and summary rows are counted in rows_blank and rows_footer. "
    "rows_warned counts accepted rows kept with a value dropped (warnings: why)."
)

REASONS = {
    "missing": "缺少必填项 / missing required field",
    "number": (
        "被Excel存成了数字，末几位已丢失（Excel只保留15位有效数字） / stored as a number by "
        "Excel, last digits lost (Excel keeps 15 significant digits)"
    ),
    "id_number": (
        "身份证号被Excel存成了数字，末几位已丢失，且无出生日期可用 / ID stored as a number by "
        "Excel, last digits lost, and no birth date to fall back on"
    ),
    "reserved": (
        "网点代码ALL是全部网点的保留代码 / branch code ALL is reserved for the whole book "
        "(全部网点): give this branch another code"
    ),
    "date": "日期无法识别 / unreadable date",
    "amount": "金额无法识别 / unreadable amount",
    "term": "保障期限既不是年数也不是终身 / term is neither a number of years nor 终身",
    "product": "险种类型不是分红或万能 / unknown product type (expected 分红 or 万能)",
    "payment": "缴费方式不是趸交或期交 / unknown payment mode (expected 趸交 or 期交)",
    "payment_years": (
        "缴费年期不是年数 / payment years is not a number of years (expected e.g. 5 or 5年)"
    ),
    "payment_years_term": (
        "缴费年期须在1年与保障期限之间 / payment years must be from 1 to the term"
    ),
    "payment_years_single": "趸交的缴费年期只能是1或空 / a 趸交 policy pays once (1 or blank)",
    "premium": "已交保费不是正数 / premium not positive",
    "order": "保险止期不晚于承保日期 / maturity date not after issue date",
    "id_check": (
        "身份证号校验位错误，且无出生日期可用 / "
        "ID check digit wrong and no birth date to fall back on"
    ),
    "id_bad": (
        "身份证号不是有效的18位号码，且无出生日期可用 / "
        "ID is not a valid 18-character number and no birth date to fall back on"
    ),
    "no_birth": "既无出生日期也无身份证号，无法计算年龄 / no birth date and no ID: age unknown",
    "born_after": "出生日期晚于承保日期 / birth date after issue date",
    "age": "年龄不合理 / impossible age",
    "duplicate": "保单号重复 / duplicate policy number",
    "plan_year": "满期日不在方案年度({year}) / maturity date outside the plan year {year}",
    "extra": (
        "单元格比表头多，可能有未加引号的逗号导致错列 / "
        "more cells than the header: an unquoted comma may have shifted the row"
    ),
}
WARNINGS = {
    "id_dropped": (
        "身份证号被Excel存成了数字已不完整，已舍弃，年龄按出生日期计算 / ID stored as a number "
        "by Excel (digits lost): dropped, the age comes from the birth date"
    ),
}
"""Accepted rows kept with a value dropped: counted in the manifest's ``warnings``."""

_TEXT = ("holder_name", "branch_name", "sub_branch", "product_name", "manager")
_DATES = ("holder_birth_date", "issue_date", "maturity_date")
_AMOUNTS = ("premium", "maturity_value")
_ORDER = [c.name for c in POLICY_COLUMNS]
_REQUIRED = [c.name for c in POLICY_COLUMNS if c.required]
POLICY_FRAME = [*_ORDER[:11], "whole_life", *_ORDER[11:], "age", "age_band", "principal_band"]
"""The columns of the policies frame (policies.parquet), in order."""


class Loaded(NamedTuple):
    """What :func:`load_policies` returns."""

    policies: pd.DataFrame
    rejects: pd.DataFrame
    manifest: dict


# ------------------------------------------------------------------------------- inputs


def input_files(path: str | Path) -> list[Path]:
    """The policy files of a path: the file itself, or a folder's ``policies*.xlsx|xls|csv``."""
    path = Path(path)
    if path.is_dir():
        files = sorted(
            p
            for p in path.glob(INPUT_PATTERN)
            if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES
        )
        if not files:
            raise MaturityDataError(
                f"{path}: no policies*.xlsx, policies*.xls or policies*.csv file in this folder"
            )
        return files
    if not path.exists():
        raise MaturityDataError(f"{path}: file not found")
    return [path]


def dataset_name(path: str | Path) -> str:
    """A folder's name, or a single file's parent folder name."""
    path = Path(path).resolve()
    return path.name if path.is_dir() else path.parent.name


# -------------------------------------------------------------------------- normalising
# Patterns use [0-9] and spelt-out whitespace, never \d or \s, so that pandas runs them in
# pyarrow's engine: on 10 million rows the difference is minutes.

_LOST = "[0-9]+(?:[.][0-9]+)?[eE][-+]?[0-9]+"
_NUMBER = "[-+]?(?:[0-9]+[.]?[0-9]*|[.][0-9]+)(?:[eE][-+]?[0-9]+)?"


def _nfkc(s: pd.Series) -> pd.Series:
    """NFKC (full-width digits and letters to ASCII), applied only where there is non-ASCII."""
    wide = ~s.str.isascii().fillna(True).astype(bool)
    if not wide.any():
        return s
    out = s.copy()
    out[wide] = s[wide].str.normalize("NFKC").str.replace("[\u200b\ufeff]", "", regex=True)
    return out


def _clean(s: pd.Series) -> pd.Series:
    """Text with width folded and outer spaces stripped; empty strings become missing."""
    t = _nfkc(s).str.strip()
    t = t.where(t != "")
    error = has_any(t, "#")  # Excel's error values (#N/A, #VALUE!, ...) are missing data
    if error.any():
        t = t.where(~(error & t.isin(EXCEL_ERRORS).to_numpy(dtype=bool)))
    return t


class _Distinct(NamedTuple):
    """A column's cleaned distinct values and, per row, which one it holds (-1: none)."""

    values: pd.Series
    codes: np.ndarray

    def take(self, done: pd.Series | np.ndarray) -> pd.Series:
        """Per-row results from results computed on the distinct values."""
        if isinstance(done, np.ndarray):  # booleans: missing rows are False
            return pd.Series(np.append(done, False)[self.codes])
        return pd.Series(done.array.take(self.codes, allow_fill=True))

    def category(self, done: pd.Series) -> pd.Series:
        """Per-row results as a categorical: no text repeated per row."""
        codes, categories = pd.factorize(done)
        return pd.Series(
            pd.Categorical.from_codes(np.append(codes, -1)[self.codes], categories=categories)
        )

    @property
    def given(self) -> pd.Series:
        return self.take(self.values.notna().to_numpy())


def _distinct(s: pd.Series, clean: Callable[[pd.Series], pd.Series] = _clean) -> _Distinct:
    """Clean the distinct values only: fast on columns that repeat (dates, codes, amounts)."""
    codes, uniques = pd.factorize(s)
    return _Distinct(clean(pd.Series(uniques, dtype="str")).reset_index(drop=True), codes)


def _ids(t: pd.Series) -> pd.Series:
    """Identifier text without spaces; ``123.0`` (a float that was an integer) becomes ``123``.
    Text of ASCII digits alone or with a final X (an ID's check digit), as nearly every policy
    number, ID and phone is, is left as it is."""
    rest = ~ascii_digits(t.str.rstrip("Xx"))
    if not rest.any():
        return t
    out = t.copy()
    out[rest] = _id_text(t[rest])
    return out


def _id_text(t: pd.Series) -> pd.Series:
    """:func:`_ids` of any text."""
    t = _clean(t)
    for chars, pattern, repl in (
        ((" ", "\t", "\n"), f"{WS}+", ""),
        ((".0",), "^([0-9]+)[.]0+$", r"\1"),
    ):
        rows = has_any(t, *chars)
        if rows.any():
            t[rows] = t[rows].str.replace(pattern, repl, regex=True)
    return t


def _lost(t: pd.Series) -> pd.Series:
    """Identifiers Excel stored as floats: ``1.10101196003051E+17`` has lost its last digits."""
    lost = ~ascii_digits(t)
    lost[lost] = has_any(t[lost], "e", "E")
    lost[lost] = t[lost].str.fullmatch(_LOST).fillna(False).to_numpy(dtype=bool)
    return pd.Series(lost, index=t.index)


def _dates(t: pd.Series) -> pd.Series:
    """Dates from ISO, 2013/3/5, 2013年3月5日, 2013.3.5, 20130305 or Excel serial text."""
    t = t.str.replace("[ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}([.][0-9]*)?)?$", "", regex=True)
    out = pd.to_datetime(t, format="%Y-%m-%d", errors="coerce").astype("datetime64[ns]")
    todo = t.notna() & out.isna()
    if todo.any():
        u = t[todo]
        serial = u.str.fullmatch("[0-9]{1,5}([.][0-9]+)?").fillna(False).astype(bool)
        ymd = u.str.fullmatch("(19|20)[0-9]{6}").fillna(False).astype(bool)
        days = np.floor(u[serial].astype("float64"))
        out[serial[serial].index] = EXCEL_EPOCH + pd.to_timedelta(days, unit="D")
        out[ymd[ymd].index] = pd.to_datetime(u[ymd], format="%Y%m%d", errors="coerce")
        rest = u[~serial & ~ymd].str.replace("[年月/.]", "-", regex=True)
        out[rest.index] = pd.to_datetime(
            rest.str.replace("日", "", regex=False), format="%Y-%m-%d", errors="coerce"
        )
    return out.where((out.dt.year >= 1900) & (out.dt.year <= 2100))


def _amounts(t: pd.Series) -> pd.Series:
    """元 amounts from text with thousands separators, currency marks or a 万 suffix."""

    def cast(x: pd.Series) -> pd.Series:
        values = pc.cast(pa.array(x, type=pa.string()), pa.float64())
        return pd.Series(values.to_numpy(zero_copy_only=False), index=x.index)

    wan = np.zeros(len(t), dtype=bool)
    try:
        v = cast(t)
    except pa.ArrowInvalid:  # separators, marks or words: clean, then check each
        t = t.str.replace(f"[,元¥$]|RMB|CNY|{WS}", "", regex=True)
        wan = t.str.endswith("万").fillna(False).to_numpy(dtype=bool)
        t = t.str.removesuffix("万")
        v = cast(t.where(t.str.fullmatch(_NUMBER).fillna(False).astype(bool)))
    return v.where(np.isfinite(v)) * np.where(wan, 10000.0, 1.0)


def _terms(t: pd.Series) -> pd.Series:
    """Term in years from ``5``, ``5.0``, ``5年``, ``5年期``; missing for 终身 and non-numbers."""
    years = t.str.extract("^([0-9]{1,3})(?:[.]0+)?(?:年期?)?$", expand=False)
    years = pd.to_numeric(years, errors="coerce")
    return years.where((years >= 1) & (years <= 100)).astype("Int64")


def _payment_years(t: pd.Series) -> pd.Series:
    """缴费年期 in years from ``5``, ``5.0``, ``5年``, ``5年交``; missing for non-numbers."""
    years = t.str.extract("^([0-9]{1,3})(?:[.]0+)?(?:年[交缴]?)?$", expand=False)
    return pd.to_numeric(years, errors="coerce").astype("Int64")


def _lookup(spellings: dict[str, tuple[str, ...]]) -> Callable[[pd.Series], pd.Series]:
    table = {s: canonical for canonical, names in spellings.items() for s in names}
    return lambda t: t.map(table).astype("str")


# ----------------------------------------------------------------------------- combining


def _canonical(sheet: Sheet) -> tuple[pd.DataFrame, dict, pd.Series]:
    """A part's text under every canonical column, its amount scales, its extra cells."""
    cells = sheet.cells
    missing = pd.Series(pd.NA, index=cells.index, dtype="str")
    cells = cells.assign(**{n: missing for n in _ORDER if n not in cells})
    scale = {a: sheet.scale.get(a, 1.0) for a in _AMOUNTS}
    return cells[_ORDER], scale, missing if sheet.extra is None else sheet.extra


class _Check(NamedTuple):
    """Rows with one kind of problem; ``detail`` words the reason per row when it varies."""

    mask: np.ndarray
    column: str
    reason: str
    detail: Callable[[np.ndarray], pd.Series] | None = None
    values: pd.Series | None = None  # what to show as the value, when not the column's text


def _normalise(
    raw: pd.DataFrame, scale: dict[str, float]
) -> tuple[pd.DataFrame, list[_Check], dict[str, np.ndarray]]:
    """Typed canonical columns from the text, the problems found (in reporting order) and the
    rows kept with a value dropped (per :data:`WARNINGS` key)."""
    v: dict[str, pd.Series] = {}
    checks: list[_Check] = []

    def check(mask: pd.Series | np.ndarray, column: str, reason: str, detail=None) -> None:
        checks.append(_Check(np.asarray(mask, dtype=bool), column, reason, detail))

    ids = {n: _ids(raw[n]) for n in ("policy_no", "holder_id", "holder_mobile")}
    branch = _distinct(raw["branch_code"], _ids)
    ids["branch_code"] = branch.take(branch.values)
    reserved = branch.take(branch.values.str.upper().isin(RESERVED_CODES).to_numpy())
    lost = {n: _lost(t) for n, t in ids.items()}
    for name, t in ids.items():
        v[name] = t.where(~lost[name])
    v["holder_id"] = upgrade_15(v["holder_id"].str.upper())
    v["holder_mobile"] = v["holder_mobile"].str.replace("-", "", regex=False)
    present = {n: t.notna() for n, t in ids.items()}
    for name in _TEXT:
        d = _distinct(raw[name])
        v[name] = d.category(d.values) if name in CATEGORY_COLUMNS else d.take(d.values)
    for name, parse in (
        ("product_type", _lookup(PRODUCT_TYPES)),
        ("payment_mode", _lookup(PAYMENT_MODES)),
        ("term_years", _terms),
        ("payment_years", _payment_years),
        *((n, _dates) for n in _DATES),
    ):
        d = _distinct(raw[name])
        done = parse(d.values)
        v[name] = d.category(done) if name in CATEGORY_COLUMNS else d.take(done)
        present[name] = d.given
        if name == "term_years":
            v["whole_life"] = d.take(d.values.isin(WHOLE_LIFE).to_numpy())
    for name in _AMOUNTS:  # mostly distinct values: cleaned and cast directly
        t = _clean(raw[name])
        v[name], present[name] = _amounts(t) * scale[name], t.notna()

    for name in _REQUIRED:
        check(~present[name], name, REASONS["missing"])
    for name in ("policy_no", "branch_code"):
        check(lost[name], name, REASONS["number"])
    check(reserved, "branch_code", REASONS["reserved"])
    for name in ("issue_date", "maturity_date"):
        check(present[name] & v[name].isna(), name, REASONS["date"])
    for name in _AMOUNTS:
        check(present[name] & v[name].isna(), name, REASONS["amount"])
    check(
        present["term_years"] & ~v["whole_life"] & v["term_years"].isna(),
        "term_years",
        REASONS["term"],
    )
    check(present["product_type"] & v["product_type"].isna(), "product_type", REASONS["product"])
    check(present["payment_mode"] & v["payment_mode"].isna(), "payment_mode", REASONS["payment"])
    paid = v["payment_years"]
    check(present["payment_years"] & paid.isna(), "payment_years", REASONS["payment_years"])
    check(
        ((paid < 1) | (paid > v["term_years"])).fillna(False),
        "payment_years",
        REASONS["payment_years_term"],
    )
    check(
        ((v["payment_mode"] == "趸交") & (paid != 1)).fillna(False),
        "payment_years",
        REASONS["payment_years_single"],
    )
    check((v["premium"] <= 0).fillna(False), "premium", REASONS["premium"])
    check((v["maturity_date"] <= v["issue_date"]).fillna(False), "maturity_date", REASONS["order"])

    # Birth date: the explicit column when readable, else the one written in a valid ID.
    hid = v["holder_id"]
    birth_ok = v["holder_birth_date"].notna()
    need = hid[~birth_ok]  # the ID is read only where the birth date is not
    id_birth = birth_from_id(need).reindex(hid.index)
    digit_ok = check_digit_ok(need).reindex(hid.index, fill_value=False)
    id_ok = digit_ok & id_birth.notna()
    # An ID Excel turned into a number is dropped when the birth date gives the age.
    check(~birth_ok & lost["holder_id"], "holder_id", REASONS["id_number"])
    no_birth = ~birth_ok & ~id_ok & ~lost["holder_id"]
    check(no_birth & present["holder_birth_date"], "holder_birth_date", REASONS["date"])
    no_date = no_birth & ~present["holder_birth_date"]
    shaped = need.str.fullmatch("[0-9]{17}[0-9X]").fillna(False).astype(bool)
    wrong_digit = shaped.reindex(hid.index, fill_value=False) & ~digit_ok
    check(no_date & wrong_digit, "holder_id", REASONS["id_check"])
    check(no_date & hid.notna() & ~wrong_digit, "holder_id", REASONS["id_bad"])
    check(no_date & hid.isna(), "holder_birth_date", REASONS["no_birth"])
    v["holder_birth_date"] = v["holder_birth_date"].where(birth_ok, id_birth.where(id_ok))
    age = age_at(v["holder_birth_date"], v["maturity_date"])
    v["age"] = age
    born_after = (v["holder_birth_date"] > v["issue_date"]).fillna(False)
    bad_age = ((age < 0) | (age > MAX_AGE)).fillna(False).astype(bool)

    def age_detail(sel: np.ndarray) -> pd.Series:
        a = age[sel].astype("str")
        return "年龄不合理（" + a + "岁） / impossible age (" + a + ")"

    for source, mask in (("holder_birth_date", birth_ok), ("holder_id", ~birth_ok)):
        check(bad_age & mask, source, REASONS["age"], age_detail)
        check(born_after & ~bad_age & mask, source, REASONS["born_after"])
    warned = {"id_dropped": (lost["holder_id"] & birth_ok).to_numpy(dtype=bool)}
    return pd.DataFrame(v), checks, warned


def _firsts(codes: np.ndarray) -> np.ndarray:
    """Per value of ``codes`` (numbered in order of first appearance, as ``pd.factorize``
    gives them; none missing), the position where it first appears."""
    before = np.maximum.accumulate(np.concatenate([[-1], codes]))[:-1]  # highest seen so far
    return np.flatnonzero(codes > before)[codes]


def _first_of_integers(keys: np.ndarray) -> np.ndarray:
    """Per key, the position of the first equal key. The keys are hashed into buckets of
    about 20,000 (kept in order within each) and numbered bucket by bucket: a hash table of
    ten million keys misses the CPU's caches at every step, a bucket's stays in them (on ten
    million random keys, 1 s against 2.5 s for ``pd.factorize`` of them all)."""
    bits = min(16, max(1, len(keys).bit_length() - 15))
    bucket = keys.view(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    bucket >>= np.uint64(64 - bits)
    bucket = bucket.astype(np.uint16)
    order = np.argsort(bucket, kind="stable")  # a radix sort: the buckets are 16-bit
    bounds = np.concatenate([[0], np.cumsum(np.bincount(bucket, minlength=1 << bits))])
    ordered, first = keys[order], np.empty(len(keys), np.intp)
    for a, z in zip(bounds[:-1], bounds[1:], strict=True):
        first[a:z] = order[a:z][_firsts(pd.factorize(ordered[a:z])[0])]
    out = np.empty(len(keys), np.intp)
    out[order] = first
    return out


class _Numbers(NamedTuple):
    """Policy numbers as duplicates are found among them: per row the integer its text spells
    when that is up to 18 digits with no leading zero (nearly every policy number), which no
    other text spells, else 0; and the text of the other rows that have one, by position."""

    keys: np.ndarray
    text: pd.Series


def _numbers(pn: pd.Series) -> _Numbers:
    """:class:`_Numbers` of a part's cleaned policy numbers."""
    values = pa.array(pn, type=pa.large_string())
    digits = pc.fill_null(pc.match_substring_regex(values, "^[1-9][0-9]{0,17}$"), False)
    digits = np.asarray(digits, dtype=bool)
    keys = np.zeros(len(pn), np.int64)
    keys[digits] = np.asarray(pc.cast(pc.filter(values, pa.array(digits)), pa.int64()))
    other = np.flatnonzero(~digits & pn.notna().to_numpy(dtype=bool))
    return _Numbers(keys, pn.iloc[other].set_axis(other))


def _first_rows(numbers: _Numbers) -> np.ndarray:
    """Per row, the first row holding the same policy number (-1: missing)."""
    out = np.full(len(numbers.keys), -1, np.intp)
    at = np.flatnonzero(numbers.keys)
    out[at] = at[_first_of_integers(numbers.keys[at])]
    text = numbers.text.index.to_numpy()
    out[text] = text[_firsts(pd.factorize(numbers.text)[0])]
    return out


def _duplicates(
    numbers: _Numbers, labels: np.ndarray, sheet_id: np.ndarray, row: np.ndarray
) -> _Check:
    """Every occurrence of a policy number after its first, naming where the first is (the
    ``labels`` of the sheets, ``sheet_id`` and ``row`` per row)."""
    first = _first_rows(numbers)
    dup = (first >= 0) & (first != np.arange(len(first)))

    def detail(sel: np.ndarray) -> pd.Series:
        at = first[sel]
        loc, n = labels[sheet_id[at]], row[at].astype(str).astype(object)
        return pd.Series(
            "保单号重复，首次出现在 " + loc + " 第" + n + "行 / "
            "duplicate policy number, first in " + loc + " row " + n
        )

    return _Check(dup, "policy_no", REASONS["duplicate"], detail)


# ------------------------------------------------------------------------------- loading


def _sheet_label(s: Sheet) -> str:
    return f"{s.file.name} {s.sheet}" if s.sheet else s.file.name


class _Found(NamedTuple):
    """One check over every row read: its mask, and for the masked rows only the reason's
    wording (when it varies) and the value to show (when not the column's text)."""

    mask: np.ndarray
    column: str
    reason: str
    texts: np.ndarray | None = None
    shown: np.ndarray | None = None


def _found(c: _Check) -> _Found:
    """A part's check with its per-row wording and values resolved on its masked rows."""
    texts = None if c.detail is None else np.asarray(c.detail(c.mask), dtype=object)
    shown = None
    if c.values is not None:
        shown = c.values[c.mask].fillna("").to_numpy(dtype=object)
    return _Found(c.mask, c.column, c.reason, texts, shown)


def _join(parts: list[list[_Found]]) -> list[_Found]:
    """The parts' checks (the same in each, in order) as checks over every row."""

    def cat(arrays: list) -> np.ndarray | None:
        return None if arrays[0] is None else np.concatenate(arrays)

    return [
        _Found(
            np.concatenate([p[k].mask for p in parts]),
            parts[0][k].column,
            parts[0][k].reason,
            cat([p[k].texts for p in parts]),
            cat([p[k].shown for p in parts]),
        )
        for k in range(len(parts[0]))
    ]


def _rejects(
    shown: pd.DataFrame,
    checks: list[_Found],
    sheets: list[Sheet],
    sheet_id: np.ndarray,
    rows: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """One line per rejected row: its first problem, and the columns of any others.

    ``shown`` holds the text of the rows with a problem, indexed by their position."""
    n = len(sheet_id)
    first = np.full(n, -1)
    for k, c in enumerate(checks):
        first[(first < 0) & c.mask] = k
    rejected = first >= 0
    parts = []
    for k, c in enumerate(checks):
        sel = first == k
        if not sel.any():
            continue
        sid = sheet_id[sel]
        at = np.flatnonzero(sel)
        within = (np.cumsum(c.mask) - 1)[sel]  # the selected rows among the masked ones
        if c.shown is not None:
            value = c.shown[within]
        else:
            value = shown[c.column].reindex(at).fillna("").to_numpy(dtype=object)
        parts.append(
            pd.DataFrame(
                {
                    "_pos": at,
                    "file": [sheets[i].file.name for i in sid],
                    "sheet": [sheets[i].sheet for i in sid],
                    "row": rows[sel],
                    "column": c.column,
                    "header": [sheets[i].columns.get(c.column, "") for i in sid],
                    "value": value,
                    "reason": c.reason if c.texts is None else c.texts[within],
                    "_reason": c.reason,
                }
            )
        )
    if not parts:
        empty = pd.DataFrame({c: pd.Series(dtype="str") for c in [*REJECT_COLUMNS, "_reason"]})
        return empty.astype({"row": "int64"}), rejected
    out = pd.concat(parts, ignore_index=True).sort_values("_pos", kind="stable")
    pos = out["_pos"].to_numpy()
    others = pd.Series("", index=out.index, dtype="str")
    for k, c in enumerate(checks):
        more = c.mask[pos] & (first[pos] != k)
        others = others.where(~more, others + np.where(others == "", "", ", ") + c.column)
    out["other_problems"] = others
    out = out.reset_index(drop=True)
    return out.astype({c: "str" for c in out if c not in ("row", "_pos")}), rejected


def _plan_year(maturity: pd.Series, plan: Plan) -> _Check:
    """Rows maturing outside the plan year: the plan's tables, targets and phases are that
    year's, so they are counted apart, never phased by month alone."""
    year = maturity.dt.year
    outside = (year.notna() & (year != plan.year)).to_numpy()
    return _Check(outside, "maturity_date", REASONS["plan_year"].format(year=plan.year))


def _counts(ids: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(ids, minlength=k).astype(int)


def _manifest(
    path: Path,
    sheets: list[Sheet],
    infos: list[FileInfo],
    sheet_id: np.ndarray,
    rejected: np.ndarray,
    rejects: pd.DataFrame,
    warned: dict[str, np.ndarray],
    plan: Plan,
) -> dict:
    k = len(sheets)
    read, rej = _counts(sheet_id, k), _counts(sheet_id[rejected], k)
    kept = {key: mask & ~rejected for key, mask in warned.items()}
    any_warning = np.logical_or.reduce([*kept.values(), np.zeros(len(rejected), dtype=bool)])
    warn = _counts(sheet_id[any_warning], k)
    per_sheet = [
        {
            "sheet": s.sheet,
            "header_rows": [int(r) for r in s.header_rows],
            "columns": s.columns,
            "ignored_columns": s.ignored,
            "rows_read": int(read[i]),
            "rows_accepted": int(read[i] - rej[i]),
            "rows_rejected": int(rej[i]),
            "rows_warned": int(warn[i]),
            "rows_footer": s.n_footer,
            "rows_blank": s.n_blank,
        }
        for i, s in enumerate(sheets)
    ]
    counts = (
        "rows_read",
        "rows_accepted",
        "rows_rejected",
        "rows_warned",
        "rows_footer",
        "rows_blank",
    )
    inputs = []
    for info in infos:
        mine = [ps for ps, s in zip(per_sheet, sheets, strict=True) if s.file == info.path]
        inputs.append(
            {
                "file": info.path.name,
                "path": str(info.path),
                "format": info.format,
                "encoding": info.encoding,
                "bytes": info.size,
                "sha256": info.sha256,
                "sheets": mine,
                "skipped_sheets": info.skipped_sheets,
                "sheet_notes": info.sheet_notes,
                **{c: sum(m[c] for m in mine) for c in counts},
            }
        )
    reasons = rejects["_reason"]
    return {
        "dataset": dataset_name(path),
        "source": str(path),
        "package_version": __version__,
        "plan_file": plan.source,
        "plan_year": plan.year,
        "plan_sha256": plan_sha256(plan),
        "accounting": ACCOUNTING,
        **{c: sum(i[c] for i in inputs) for c in counts},
        "reject_reasons": {str(r): int(n) for r, n in reasons.value_counts().sort_index().items()},
        "warnings": {WARNINGS[key]: int(m.sum()) for key, m in kept.items() if m.any()},
        "inputs": inputs,
    }


CHUNK_ROWS = 200_000
"""Rows of a CSV file read and checked at a time (a workbook is read a sheet at a time)."""
CHECKERS = 2
"""Parts checked at once, in threads: most of the work is in pyarrow's and numpy's kernels,
which release Python's lock, so the cores share it."""


class _Part(NamedTuple):
    """The checked rows of one part (a sheet, or a chunk of a CSV file)."""

    values: pd.DataFrame | Path  # typed canonical columns, or the Arrow file they were spilled to
    numbers: _Numbers  # every row's cleaned policy number (duplicates span the parts)
    checks: list[_Found]  # the extra-cells check, then :func:`_normalise`'s
    plan_year: _Found
    warned: dict[str, np.ndarray]
    shown: pd.DataFrame  # the text of the rows with a problem, by position in the part
    policy_text: pd.Series  # the text of every row's policy number (for duplicates)


def _check_part(sheet: Sheet, plan: Plan, spill: Path | None = None) -> _Part:
    """Normalise and check one part: every check but duplicates, which span the parts.
    ``spill``: a folder to write the part's typed values to (:func:`_spill`), to keep them
    out of memory until the rows accepted are known."""
    raw, scale, extra = _canonical(sheet)
    values, checks, warned = _normalise(raw, scale)
    checks.insert(0, _Check(extra.notna().to_numpy(), "", REASONS["extra"], values=extra))
    found = [_found(c) for c in checks]
    year = _found(_plan_year(values["maturity_date"], plan))
    problem = np.logical_or.reduce([c.mask for c in [*found, year]])
    kept = values[POLICY_FRAME[:-2]] if spill is None else _spill(values[POLICY_FRAME[:-2]], spill)
    numbers = _numbers(values["policy_no"])
    return _Part(kept, numbers, found, year, warned, raw[problem], raw["policy_no"])


def _spill(values: pd.DataFrame, folder: Path) -> Path:
    """A part's typed values written to a new Arrow file in ``folder``."""
    fd, name = tempfile.mkstemp(suffix=".arrow", dir=folder)  # a name of its own: parts are
    os.close(fd)  # checked in threads
    feather.write_feather(values, name, compression="uncompressed")
    return Path(name)


def _values(values: pd.DataFrame | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """A part's typed values (``columns``: only these), read back when spilled."""
    if isinstance(values, pd.DataFrame):
        return values if columns is None else values[columns]
    return feather.read_table(values, columns=columns, memory_map=True).to_pandas()


def _merge(sheets: list[Sheet], part: Sheet) -> int:
    """Count a part in its sheet (a CSV's chunks are one sheet); the sheet's index."""
    last = sheets[-1] if sheets else None
    if last is not None and (last.file, last.sheet) == (part.file, part.sheet):
        last.n_blank += part.n_blank
        last.n_footer += part.n_footer
        return len(sheets) - 1
    empty = pd.DataFrame(columns=part.cells.columns)  # no slice: it would hold the text
    sheets.append(
        Sheet(
            part.file,
            part.sheet,
            part.header_rows,
            part.columns,
            part.ignored,
            part.scale,
            empty,
            np.empty(0, dtype=np.int64),
            part.n_blank,
            part.n_footer,
        )
    )
    return len(sheets) - 1


def in_threads(work: Callable, items: Iterable, ahead: int) -> Iterator:
    """``work`` of each of ``items``, in their order, ``ahead`` at a time in threads: the next
    item is taken (in the caller's thread) only when fewer than ``ahead`` are waiting."""
    with ThreadPoolExecutor(ahead) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(work, item))
            if len(pending) > ahead:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _read(
    f: Path, plan: Plan, chunk_rows: int | None, sheets: list[Sheet], bar, spill: Path | None
) -> tuple[FileInfo, list[tuple[int, np.ndarray, _Part]]]:
    """One file's parts, checked as they are read, :data:`CHECKERS` at a time: (sheet index,
    rows, part) each, in the file's order."""
    info, chunks = read_chunks(f, chunk_rows)
    kept = len(sheets)
    got = []

    def check(item: tuple[int, Sheet]) -> tuple[int, np.ndarray, _Part]:
        i, chunk = item
        return i, chunk.rows, _check_part(chunk, plan, spill)

    try:
        for done in in_threads(check, ((_merge(sheets, c), c) for c in chunks), CHECKERS):
            got.append(done)
            bar.set_postfix_str(f"{f.name}: {sum(len(g[1]) for g in got):,} rows")
    except InexactLines:  # the file again, through Python's csv reader, as one part
        del sheets[kept:]
        chunk = csv_slow(info)
        got = [(_merge(sheets, chunk), chunk.rows, _check_part(chunk, plan, spill))]
    return info, got


class Streamed(NamedTuple):
    """What :func:`stream_policies` returns: the accepted rows part by part (:meth:`part`),
    the rejects and the manifest."""

    values: list[pd.DataFrame | Path]  # per part, its typed values (:attr:`_Part.values`)
    accepted: list[np.ndarray]  # per part, which of its rows are accepted
    rejects: pd.DataFrame
    manifest: dict
    plan: Plan

    def part(self, k: int, columns: list[str] | None = None) -> pd.DataFrame:
        """Part ``k``'s accepted rows: the policy frame's columns (``columns``: only these)
        with their bands; categories as the part has them."""
        wanted = None if columns is None else [c for c in columns if c in POLICY_FRAME[:-2]]
        values, keep = _values(self.values[k], wanted), self.accepted[k]
        if not keep.all():  # a part with no rejects is not copied
            values = values[keep]
        return _banded(values.reset_index(drop=True), self.plan, columns)

    def frame(self) -> pd.DataFrame:
        """Every accepted row in one frame (as :func:`load_policies` gives it)."""
        values = _stack([_values(p).copy(deep=False) for p in self.values])
        return _banded(_accepted(values, np.concatenate(self.accepted)), self.plan)


def _banded(policies: pd.DataFrame, plan: Plan, columns: list[str] | None = None) -> pd.DataFrame:
    """The policy frame's columns with the age and principal bands added (``columns``: only
    these)."""
    out = policies.copy(deep=False)
    if columns is None or "age_band" in columns:
        out["age_band"] = age_band(policies["age"], plan)
    if columns is None or "principal_band" in columns:
        out["principal_band"] = principal_band(policies["premium"], plan)
    return out if columns is None else out[columns]


def _load(
    path: Path, plan: Plan, progress: bool, chunk_rows: int | None, spill: Path | None
) -> tuple[list[_Part], np.ndarray, pd.DataFrame, dict]:
    """Every file's parts read and checked, then judged together: the parts, which rows are
    rejected, the rejects and the manifest."""
    sheets: list[Sheet] = []
    infos, parts = [], []
    files = input_files(path)
    with tqdm(total=len(files), unit="file", desc="reading", disable=not progress) as bar:
        for f in files:
            info, got = _read(f, plan, chunk_rows, sheets, bar, spill)
            infos.append(info)
            parts += got
            bar.update()
    n = sum(len(rows) for _, rows, _ in parts)
    if not n:
        raise MaturityDataError(f"{path}: no policy rows below the header")
    with tqdm(total=n, unit="row", desc="validating", disable=not progress) as bar:
        rejected, rejects, manifest = _judge(path, parts, sheets, infos, plan)
        bar.set_postfix(rejected=manifest["rows_rejected"], refresh=False)
        bar.update(n)
    return [p for _, _, p in parts], rejected, rejects[REJECT_COLUMNS], manifest


def stream_policies(
    path: str | Path,
    spill: Path,
    *,
    plan: Plan | None = None,
    progress: bool = False,
    chunk_rows: int | None = CHUNK_ROWS,
) -> Streamed:
    """:func:`load_policies` with the typed values of each part spilled to an Arrow file in
    ``spill`` as it is read: only the policy numbers (for duplicates) and the problems stay in
    memory, and the accepted rows are read back a part at a time (:meth:`Streamed.part`)."""
    plan = plan or load_plan()
    checked, rejected, rejects, manifest = _load(Path(path), plan, progress, chunk_rows, spill)
    offsets = np.cumsum([0, *(len(p.numbers.keys) for p in checked)])
    accepted = [~rejected[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    return Streamed([p.values for p in checked], accepted, rejects, manifest, plan)


def load_policies(
    path: str | Path,
    *,
    plan: Plan | None = None,
    progress: bool = False,
    chunk_rows: int | None = CHUNK_ROWS,
) -> Loaded:
    """Read, normalise and validate a maturity list file or dataset folder.

    Parameters
    ----------
    path
        A ``.xlsx``/``.xls``/``.csv`` file, or a folder: every ``policies*`` file in it, sorted.
    plan
        The plan whose bands are used (default: the shipped plan).
    progress
        Show progress bars for reading (files, rows so far) and validating (rows).
    chunk_rows
        Rows of a CSV file read and checked at a time (``None``: all at once); the result is
        the same whatever it is.

    Returns
    -------
    Loaded
        ``policies`` (canonical columns plus age, age_band, principal_band), ``rejects``
        (file, sheet, row, column, header, value, reason, other_problems) and ``manifest``.
    """
    plan = plan or load_plan()
    checked, rejected, rejects, manifest = _load(Path(path), plan, progress, chunk_rows, None)
    values = _stack([p.values for p in checked])
    return Loaded(_banded(_accepted(values, ~rejected), plan), rejects, manifest)


def _stack(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """The parts' values, one column at a time; categoricals joined on their categories. Each
    part's columns are dropped as they are stacked."""
    out = {}
    for c in list(parts[0].columns):
        pieces = [p.pop(c) for p in parts]
        if isinstance(pieces[0].dtype, pd.CategoricalDtype):
            out[c] = pd.Series(union_categoricals(pieces))
        else:
            out[c] = pd.concat(pieces, ignore_index=True)
    return pd.DataFrame(out)


def _accepted(values: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """The accepted rows of the policy frame's columns, each dropped from ``values`` as it is
    taken (no second copy of the whole frame)."""
    out = {}
    for c in POLICY_FRAME[:-2]:
        column = values.pop(c)
        out[c] = column if keep.all() else column[keep].reset_index(drop=True)
    return pd.DataFrame(out)


def _judge(
    path: Path,
    parts: list[tuple[int, np.ndarray, _Part]],
    sheets: list[Sheet],
    infos: list[FileInfo],
    plan: Plan,
) -> tuple[np.ndarray, pd.DataFrame, dict]:
    """The parts joined: duplicates across them, which rows are rejected, the rejects and
    the manifest."""
    sheet_id = np.repeat([i for i, _, _ in parts], [len(rows) for _, rows, _ in parts])
    rows = np.concatenate([rows for _, rows, _ in parts])
    checked = [p for _, _, p in parts]
    offsets = np.cumsum([0, *(len(p.numbers.keys) for p in checked)])

    def joined(frames: list) -> pd.DataFrame | pd.Series:  # indexed by position in the part
        return pd.concat([f.set_axis(f.index + o) for f, o in zip(frames, offsets, strict=False)])

    shown = joined([p.shown for p in checked])
    text = pd.concat([p.policy_text for p in checked], ignore_index=True)
    warned = {k: np.concatenate([p.warned[k] for p in checked]) for k in checked[0].warned}
    labels = np.array([_sheet_label(s) for s in sheets], dtype=object)
    numbers = _Numbers(
        np.concatenate([p.numbers.keys for p in checked]), joined([p.numbers.text for p in checked])
    )
    duplicates = _duplicates(numbers, labels, sheet_id, rows)
    checks = [
        *_join([p.checks for p in checked]),
        _found(duplicates._replace(values=text)),
        *_join([[p.plan_year] for p in checked]),
    ]
    rejects, rejected = _rejects(shown, checks, sheets, sheet_id, rows)
    manifest = _manifest(path, sheets, infos, sheet_id, rejected, rejects, warned, plan)
    return rejected, rejects, manifest

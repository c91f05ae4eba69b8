"""The tracking files: filled 附件一/二/三 and the outcomes, as schemas and as validated frames.

Four files live in a dataset's ``tracking/`` folder (``calls*.xlsx``, ``complaints*.xlsx``,
``worklog*.xlsx``, ``outcomes*.xlsx``; ``.csv`` too; and the branches' returned template
workbooks ``forms*.xlsx``, whose form sheets are each read as their kind).
:func:`read_tracking` reads them the way the maturity list is read: it finds the header row
under any title lines, maps the Chinese headers (or canonical names) to canonical columns,
and accepts or rejects every row with its reason — a policy number not in the maturity list,
a date outside the plan year, an answer not in the drop-down, a missing required field, an
amount that contradicts the answer, a duplicate.
``accepted + rejected == rows read`` for every file; fully blank rows are not rows.

A sheet is checked column by column: each column's distinct cells (of each type) are
normalised and parsed once, by the rules :func:`_parse` states for one cell, and the results
spread over the rows; the row rules, duplicates and rejects are masks over all the rows.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import zip_longest
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd

from ..exceptions import MaturityDataError
from ..plan.model import Plan, TrackingSettings, load_plan
from .readers import EXCEL_EPOCH, HEADER_SCAN_ROWS, REJECT_COLUMNS, Grid, is_summary, read_grids

KINDS = ("calls", "complaints", "worklog", "outcomes")
TRACKING_DIR = "tracking"
FORMS_PREFIX = "forms"  # a returned templates workbook (calllist.py): every form's sheet is read


@dataclass(frozen=True)
class Field:
    """One column of a tracking form: canonical name, the form's header, kind, rules.

    ``kind`` is ``"date"``, ``"text"``, ``"id"``, ``"count"`` (whole number >= 0), ``"amount"``
    (元 >= 0), ``"choice"`` (one of the plan's answers named by ``choices``) or ``"yesno"``.
    """

    name: str
    header: str
    kind: str
    required: bool = False
    choices: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Form:
    """A tracking file's schema: its plan form, file pattern, columns and uniqueness key."""

    kind: str
    title: str
    sheet: str
    fields: tuple[Field, ...]
    unique: tuple[str, ...]

    @property
    def headers(self) -> list[str]:
        """The form's Chinese headers, in order."""
        return [f.header for f in self.fields]

    def field(self, name: str) -> Field:
        """The field called ``name``."""
        return next(f for f in self.fields if f.name == name)


_NAME = Field("holder_name", "客户姓名", "text", aliases=("姓名", "投保人姓名"))
_POLICY = Field("policy_no", "保单号", "id", True, aliases=("保单号码", "保险单号"))
_NOTE = Field("note", "备注", "text")

FORMS: dict[str, Form] = {
    "calls": Form(
        "calls",
        "附件一《有效回访统计表》",
        "附件一 有效回访统计表",
        (
            Field("call_date", "填写日期", "date", True, aliases=("回访日期", "日期")),
            Field("team", "团队", "text", aliases=("回访团队", "小组")),
            _NAME,
            _POLICY,
            Field("product", "所持险种", "text", aliases=("险种",)),
            Field("maturity_note", "满期说明", "text"),
            Field("conversion_note", "转保说明", "text"),
            Field("intent", "客户意向", "choice", True, "intent_answers", ("意向",)),
            # optional: 电话 or 上门 (tracking.visit_modes; blank = the first, 电话)
            Field("visit_mode", "回访方式", "choice", False, "visit_modes", ("服务方式",)),
            _NOTE,
        ),
        ("policy_no", "call_date"),
    ),
    "complaints": Form(
        "complaints",
        "附件二《客户投诉情况统计表》",
        "附件二 客户投诉情况统计表",
        (
            Field("complaint_date", "投诉日期", "date", True, aliases=("日期", "受理日期")),
            _NAME,
            _POLICY,
            Field("complaint_point", "投诉点", "text", True, aliases=("投诉内容", "投诉原因")),
            Field("resolution", "处理意见", "text", aliases=("处理结果",)),
            Field("answer_date", "答复日期", "date", aliases=("回复日期",)),
            Field("irregular_surrender", "是否非常规退保", "yesno", True, "yes_no"),
            Field("compensated", "是否赔偿", "yesno", True, "yes_no"),
            Field("compensation", "赔偿金额", "amount", aliases=("赔偿金额(元)", "赔付金额")),
            Field("handler", "处理人", "text"),
            _NOTE,
        ),
        ("policy_no", "complaint_date", "complaint_point"),
    ),
    "worklog": Form(
        "worklog",
        "附件三《工作日志》",
        "附件三 工作日志",
        (
            Field("work_date", "日期", "date", True, aliases=("工作日期", "填写日期")),
            Field("branch_code", "网点代码", "id", True, aliases=("网点编码", "网点号")),
            Field("team", "团队", "text", True, aliases=("回访团队", "小组")),
            Field("calls", "回访量", "count", True, aliases=("电话回访量", "回访数")),
            Field("effective_calls", "有效回访", "count", aliases=("有效回访量",)),
            Field("visits", "上门服务", "count", aliases=("上门服务量", "上门")),
            Field("conversions", "转保件数", "count", aliases=("转保",)),
            Field("deposits", "转存件数", "count", aliases=("转存",)),
            Field("complaints", "投诉件数", "count", aliases=("投诉",)),
            Field("note", "夕会总结", "text", aliases=("备注", "工作总结")),
        ),
        ("branch_code", "team", "work_date"),
    ),
    "outcomes": Form(
        "outcomes",
        "满期去向",
        "满期去向",
        (
            _POLICY,
            _NAME,
            Field("outcome", "满期去向", "choice", True, "outcome_kinds", ("去向", "处理结果")),
            Field("outcome_date", "办理日期", "date", True, aliases=("日期", "处理日期")),
            Field("new_product", "新产品", "text", aliases=("转保产品",)),
            Field("new_premium", "新保单保费", "amount", aliases=("转保保费", "新保费")),
            Field("deposit_amount", "转存金额", "amount", aliases=("存款金额",)),
            _NOTE,
        ),
        ("policy_no",),
    ),
}


def settings(plan: Plan | None = None) -> TrackingSettings:
    """The plan's ``[tracking]`` section (read and checked at load: ``plan.tracking``).

    >>> settings().yes_no
    ('是', '否')
    """
    return (plan or load_plan()).tracking


# --- Frames -------------------------------------------------------------------------------

_DTYPES = {
    "date": "datetime64[ns]",
    "text": "str",
    "id": "str",
    "choice": "str",
    "count": "Int64",
    "amount": "float64",
    "yesno": "boolean",
}
# Columns added from the maturity list on reading, so each frame stands on its own.
DERIVED = {
    "calls": ("branch_code",),
    "complaints": ("branch_code",),
    "worklog": (),
    "outcomes": ("branch_code",),
}


def columns(kind: str) -> list[str]:
    """Canonical columns of an accepted ``kind`` frame, in order."""
    return [f.name for f in FORMS[kind].fields] + list(DERIVED[kind])


def empty(kind: str) -> pd.DataFrame:
    """An accepted ``kind`` frame with no rows and the right dtypes."""
    dtypes = {f.name: _DTYPES[f.kind] for f in FORMS[kind].fields}
    dtypes |= {c: "str" for c in DERIVED[kind]}
    return pd.DataFrame({c: pd.Series(dtype=dtypes[c]) for c in columns(kind)})


def frame(kind: str, records: list[dict[str, Any]] | pd.DataFrame) -> pd.DataFrame:
    """A ``kind`` frame from records (canonical names), with the schema's columns and dtypes.

    Missing columns are added empty; this builds hand-made frames for tests and notebooks.
    """
    data = pd.DataFrame(records).reset_index(drop=True)
    result = {}
    for c, dtype in empty(kind).dtypes.items():
        col = data[c] if c in data.columns else pd.Series([None] * len(data), dtype=object)
        if dtype.kind == "M":
            col = pd.to_datetime(col)
        result[c] = col.astype(dtype)
    return pd.DataFrame(result, columns=columns(kind))


@dataclass(frozen=True)
class Tracking:
    """The four accepted tracking frames (see :func:`columns` for each one's columns)."""

    calls: pd.DataFrame = field(default_factory=lambda: empty("calls"))
    complaints: pd.DataFrame = field(default_factory=lambda: empty("complaints"))
    worklog: pd.DataFrame = field(default_factory=lambda: empty("worklog"))
    outcomes: pd.DataFrame = field(default_factory=lambda: empty("outcomes"))

    def __getitem__(self, kind: str) -> pd.DataFrame:
        return getattr(self, kind)


@dataclass(frozen=True)
class TrackingRead:
    """What :func:`read_tracking` found: accepted frames, rejected rows, per-kind counts."""

    tracking: Tracking
    rejects: pd.DataFrame
    counts: dict[str, dict[str, Any]]


# --- Cell parsing ----------------------------------------------------------------------------

_DATE_TEXT = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


class _Bad(ValueError):
    """A cell that cannot be read as its field's kind; the message is the reason."""


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        value = unicodedata.normalize("NFKC", value).strip()
        return value or None
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float) and value != value:
        return None
    return value


def _norm_header(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value)) if value is not None else ""
    return re.sub(r"[\s*:：]|\(必填\)", "", text)


def _parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 <= value <= 80000:  # an Excel serial day number
            return (EXCEL_EPOCH + timedelta(days=int(value))).date()
        if float(value).is_integer() and 19000101 <= value <= 21001231:
            value = str(int(value))
        else:
            raise _Bad("日期无法识别 / not a date")
    text = str(value)
    if re.fullmatch(r"\d{8}", text):
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    m = _DATE_TEXT.match(text.split(" ")[0] if " " in text and ":" in text else text)
    if not m:
        raise _Bad("日期无法识别 / not a date")
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise _Bad("不是有效日期 / not a calendar date") from None


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise _Bad("数字无法识别 / not a number")
    if isinstance(value, int | float):
        return float(value)
    text = re.sub(r"[,\s]|元$", "", str(value))
    try:
        return float(text)
    except ValueError:
        raise _Bad("数字无法识别 / not a number") from None


def _parse(f: Field, value: Any, s: TrackingSettings) -> Any:
    if f.kind == "date":
        return _parse_date(value)
    if f.kind == "count":
        n = _number(value)
        if n < 0 or not n.is_integer():
            raise _Bad("不是非负整数 / not a whole number >= 0")
        return int(n)
    if f.kind == "amount":
        n = _number(value)
        if n < 0:
            raise _Bad("金额为负 / negative amount")
        return round(n, 2)
    if f.kind == "id":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return re.sub(r"\s", "", str(value))
    text = str(value)
    if f.kind in ("choice", "yesno"):
        allowed = "/".join(s.choices(f.choices))
        if text not in s.choices(f.choices):
            raise _Bad(f"不在下拉选项中({allowed}) / not one of the drop-down's answers")
        return text == s.yes_no[0] if f.kind == "yesno" else text
    return text


# --- Reading files ---------------------------------------------------------------------------


def _header_map(form: Form, row: tuple[Any, ...]) -> dict[int, Field]:
    """Column position → field for a candidate header row (first match of a name wins)."""
    lookup: dict[str, Field] = {}
    for f in form.fields:
        for name in (f.header, f.name, *f.aliases):
            lookup.setdefault(_norm_header(name), f)
    found: dict[int, Field] = {}
    for j, cell in enumerate(row):
        f = lookup.get(_norm_header(cell))
        if f is not None and f not in found.values():
            found[j] = f
    return found


def _find_header(form: Form, rows: list[tuple[Any, ...]]) -> tuple[int, dict[int, Field]] | None:
    required = {f.name for f in form.fields if f.required}
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        found = _header_map(form, row)
        if required <= {f.name for f in found.values()}:
            return i, found
    return None


def _files(folder: Path, prefix: str) -> list[Path]:
    return sorted(
        p
        for p in folder.glob(f"{prefix}*")
        if p.suffix.lower() in (".xlsx", ".xlsm", ".csv") and not p.name.startswith("~$")
    )


def _distinct(values: np.ndarray) -> tuple[np.ndarray, list]:
    """The distinct cells of a column, and each cell's code: ``uniques[codes[i]]`` is a cell of
    the same type and value as ``values[i]`` (an empty one: ``None``).

    Cells are told apart by type as well as value (1, 1.0 and True are three cells, -0.0 and
    0.0 two), so a rule applied once per distinct cell gives what it gives cell by cell.
    """
    if pd.api.types.infer_dtype(values, skipna=True) == "string":  # text and empty cells only
        c, u = pd.factorize(values)
        return np.where(c < 0, len(u), c), [*u, None]
    kinds, types = pd.factorize(np.fromiter(map(type, values), dtype=object, count=len(values)))
    codes = np.empty(len(values), dtype=np.intp)
    uniques: list = []
    for k, t in enumerate(types):
        at = np.flatnonzero(kinds == k)
        if t is type(None):
            c, u = np.zeros(len(at), dtype=np.intp), [None]
        elif issubclass(t, float):  # by bits: -0.0 is not 0.0
            c, bits = pd.factorize(values[at].astype(np.float64).view(np.int64))
            u = [t(x) for x in bits.view(np.float64)]
        else:
            c, u = pd.factorize(values[at], use_na_sentinel=False)
            u = list(u)
        codes[at] = c + len(uniques)
        uniques += u
    return codes, uniques


def _typed(kind: str, values: list) -> Any:
    """Parsed cells (``None``: empty or unreadable) as one array: dates as ``datetime64``,
    amounts as floats, 是/否 as booleans, counts as Python ints (of any size), text as str."""
    if kind == "date":
        return np.array(values, dtype="datetime64[D]").astype("datetime64[s]")
    if kind == "amount":
        return np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    if kind == "yesno":
        return pd.array(values, dtype="boolean")
    if kind == "count":
        return np.fromiter(values, dtype=object, count=len(values))
    return pd.array(values, dtype="str")


class _Check(NamedTuple):
    """One rule over a block of rows: the rows it fails, and what a reject of each says."""

    column: str
    header: str
    fails: np.ndarray  # bool, one per row
    value: Any  # the value each failing row is rejected with (array-like, one per row)
    reason: str | np.ndarray  # one reason, or one per row


def _texts(values: Any, at: np.ndarray) -> list[str]:
    """The reject ``value`` text of the rows ``at``: a date as 2013-01-05, empty as ''."""
    if isinstance(values, pd.Series):
        values = values.array
    if np.asarray(values[:0]).dtype.kind == "M":
        return np.datetime_as_string(np.asarray(values)[at], unit="D").tolist()
    cells = values.take(at) if hasattr(values, "take") else np.asarray(values)[at]
    return ["" if v is None else str(v) for v in np.asarray(cells, dtype=object)]


def _rejects(where: pd.DataFrame, checks: list[_Check]) -> tuple[np.ndarray, dict[str, list]]:
    """The rows of ``where`` (``file``, ``sheet``, ``row``) failing any check, and their rejects.

    A reject names the first failing check (its column, header, value and reason) and the
    columns of the others, in order, in ``other_problems``.
    """
    fails = np.column_stack([c.fails for c in checks] or [np.zeros(len(where), dtype=bool)])
    bad = fails.any(axis=1)
    at = np.flatnonzero(bad)
    first = fails[at].argmax(axis=1)
    value = np.empty(len(at), dtype=object)
    reason = np.empty(len(at), dtype=object)
    for k, c in enumerate(checks):
        mine = np.flatnonzero(first == k)
        if len(mine):
            value[mine] = _texts(c.value, at[mine])
            reason[mine] = c.reason if isinstance(c.reason, str) else np.asarray(c.reason)[at[mine]]
    others = fails[at].copy()
    others[np.arange(len(at)), first] = False
    pattern = others @ (1 << np.arange(others.shape[1], dtype=np.int64))
    names = [c.column for c in checks]
    joined = {
        p: ", ".join(n for k, n in enumerate(names) if p >> k & 1) for p in np.unique(pattern)
    }
    return bad, {
        "file": where["file"].to_numpy()[at].tolist(),
        "sheet": where["sheet"].to_numpy()[at].tolist(),
        "row": where["row"].to_numpy()[at].tolist(),
        "column": [names[k] for k in first],
        "header": [checks[k].header for k in first],
        "value": value.tolist(),
        "reason": reason.tolist(),
        "other_problems": [joined[p] for p in pattern],
    }


def _columns(rows: list[list]) -> list[np.ndarray]:
    """A grid's rows as columns of cells (``None`` where a row is shorter than the longest)."""
    return [np.fromiter(c, dtype=object, count=len(rows)) for c in zip_longest(*rows)]


def _block(form: Form, where: pd.DataFrame, parsed: dict[str, Any]) -> pd.DataFrame:
    """Rows of a form: ``where`` (``file``, ``sheet``, ``row``), then every field parsed
    (:func:`_typed`; empty where the sheet has no such column), then ``raw:<field>``, each
    amount's normalised cell (an amount of 0 is not an empty one)."""
    n = len(where)
    blank = np.full(n, None, dtype=object)
    fields = {
        f.name: parsed.get(f.name, (blank, _typed(f.kind, [None]).take(np.zeros(n, int))))
        for f in form.fields
    }
    return pd.DataFrame(
        {
            **where,
            **{name: value for name, (_, value) in fields.items()},
            **{
                f"raw:{f.name}": pd.Series(fields[f.name][0], dtype=object)
                for f in form.fields
                if f.kind == "amount"
            },
        }
    )


def _read_sheet(
    form: Form, path: Path, grid: Grid, h: int, cols: dict[int, Field], s: TrackingSettings
) -> tuple[pd.DataFrame, dict[str, list], dict[str, int]]:
    """The rows under a sheet's header (row ``h``), checked cell by cell, column by column.

    Each column's cells are normalised and parsed once per distinct cell (:func:`_distinct`).
    Returns the good rows (:func:`_block`), the rejects and the row counts.
    """
    body, numbers = grid.rows[h + 1 :], np.asarray(grid.numbers[h + 1 :], dtype=np.int64)
    n = len(body)
    filled, summary, distinct = [], [], {}
    for j, column in enumerate(_columns(body)):
        codes, uniques = _distinct(column)
        normed = [_norm(u) for u in uniques]
        filled.append(np.array([v is not None for v in normed], dtype=bool)[codes])
        summary.append(
            np.array([isinstance(v, str) and "计" in v and is_summary(v) for v in normed])[codes]
        )
        distinct[j] = codes, normed
    none = [np.zeros(n, dtype=bool)]  # a sheet with a header and nothing under it
    filled_rows = np.column_stack(filled or none)
    blank = ~filled_rows.any(axis=1)
    # A footer's first filled cell is a summary word (合计, 共 计, ...).
    first = filled_rows.argmax(axis=1)
    footer = ~blank & np.column_stack(summary or none)[np.arange(n), first]
    keep = np.flatnonzero(~blank & ~footer)
    where = pd.DataFrame({"file": path.name, "sheet": grid.sheet, "row": numbers[keep]})
    parsed, checks = {}, []
    for j, f in cols.items():
        codes, normed = distinct.get(j, (np.zeros(n, dtype=np.intp), [None]))
        codes = codes[keep]
        results = [(None, None) if v is None else _parse_cell(f, v, s) for v in normed]
        cells = np.fromiter(normed, dtype=object, count=len(normed)).take(codes)
        parsed[f.name] = cells, _typed(f.kind, [r[0] for r in results]).take(codes)
        if f.required:
            empty = np.array([v is None for v in normed], dtype=bool)[codes]
            why = f"缺少必填项{f.header} / {f.header} is required but empty"
            checks.append(_Check(f.name, f.header, empty, cells, why))
        fails = np.array([r[1] is not None for r in results], dtype=bool)[codes]
        why = np.fromiter((r[1] for r in results), dtype=object, count=len(results)).take(codes)
        checks.append(_Check(f.name, f.header, fails, cells, why))
    bad, rejects = _rejects(where, checks)
    counts = {
        "rows_read": len(keep),
        "rows_blank": int(blank.sum()),
        "rows_footer": int(footer.sum()),
    }
    return _block(form, where, parsed)[~bad], rejects, counts


def _parse_cell(f: Field, value: Any, s: TrackingSettings) -> tuple[Any, str | None]:
    """A filled cell parsed as its field's kind, and ``None``; or ``None`` and the reason."""
    try:
        return _parse(f, value, s), None
    except _Bad as bad:
        return None, f"{f.header}: {bad}"


def _read_file(
    form: Form, path: Path, s: TrackingSettings, optional: bool = False
) -> tuple[list[pd.DataFrame], dict[str, list], dict[str, Any]]:
    """The good rows of every sheet of ``path`` that carries the form's headers, after cell
    checks; the rows rejected by them; the file's counts (rows_read, rows_blank, rows_footer,
    sheets).

    A file without such a sheet is an error unless ``optional`` (a ``forms*`` workbook).
    The file is read by :func:`~maturity_analysis.ingest.readers.read_grids`, as a maturity
    list is; a row whose first filled cell is a summary word (合计, 共计, 合 计, ...: the
    maturity list's :func:`~maturity_analysis.ingest.readers.is_summary`) is a footer.
    """
    grids, info = read_grids(path)
    counts = {
        "file": path.name,
        "sha256": info.sha256,
        "sheets": [],
        "rows_read": 0,
        "rows_blank": 0,
        "rows_footer": 0,
    }
    goods, rejects = [], {c: [] for c in REJECT_COLUMNS}
    for grid in grids:
        hit = _find_header(form, grid.rows)
        if hit is None:
            continue
        counts["sheets"].append(grid.sheet)
        good, rej, n = _read_sheet(form, path, grid, *hit, s)
        goods.append(good)
        rejects = {c: rejects[c] + rej[c] for c in REJECT_COLUMNS}
        counts = counts | {k: counts[k] + v for k, v in n.items()}
    if not counts["sheets"] and not optional:
        need = "、".join(f.header for f in form.fields if f.required)
        raise MaturityDataError(f"{path}: no sheet has the headers of {form.title} (needs {need})")
    return goods, rejects, counts


def _given(rows: pd.DataFrame, name: str) -> np.ndarray:
    """Rows whose amount ``name`` is filled and not zero (NaN, from the text nan, counts)."""
    return (rows[f"raw:{name}"].notna() & (rows[name] != 0)).to_numpy()


class _Book(NamedTuple):
    """The maturity list as the forms look it up: each policy number's product and branch."""

    numbers: pd.Index  # unique
    products: np.ndarray
    branches: np.ndarray

    def find(self, policy_no: pd.Series) -> np.ndarray:
        """Each row's position in the list, -1 for a number not in it."""
        return self.numbers.get_indexer(policy_no)


def _book(policies: pd.DataFrame) -> _Book:
    """The lookup of the accepted maturity list (a number given twice: its last row)."""
    pol = policies.drop_duplicates("policy_no")
    numbers = pol["policy_no"].astype(str)
    last = ~numbers.duplicated(keep="last").to_numpy()
    return _Book(
        pd.Index(numbers[last]),
        pol["product_type"].astype(str).to_numpy(dtype=object)[last],
        pol["branch_code"].astype(str).to_numpy(dtype=object)[last],
    )


def _row_checks(
    kind: str,
    rows: pd.DataFrame,
    s: TrackingSettings,
    window: tuple[date, date],
    book: _Book,
    where: np.ndarray,
) -> list[_Check]:
    """Row-level rules beyond each cell, in the order a reject names them (``where``: each
    row's position in the maturity list, -1 when not in it)."""
    form, out = FORMS[kind], []
    span = f"{window[0]}..{window[1]}"
    lo, hi = (pd.Timestamp(d) for d in window)
    for f in form.fields:
        if f.kind == "date":
            d = rows[f.name]
            why = (
                f"{f.header}不在方案年度表单期间({span}) / "
                f"{f.header} outside the plan year's forms ({span})"
            )
            out.append(_Check(f.name, f.header, ((d < lo) | (d > hi)).to_numpy(), d, why))
    if "policy_no" in rows:
        known = where >= 0
        why = "保单号不在满期清单中 / policy number not in the maturity list"
        out.append(_Check("policy_no", "保单号", ~known, rows["policy_no"], why))
    if kind == "worklog":
        code = rows["branch_code"]
        why = "网点代码不在满期清单中 / branch code not in the maturity list"
        out.append(
            _Check(
                "branch_code",
                "网点代码",
                ~code.isin(pd.unique(book.branches)).to_numpy(),
                code,
                why,
            )
        )
        more = (rows["effective_calls"].fillna(0) > rows["calls"]).to_numpy(dtype=bool)
        why = "有效回访多于回访量 / 有效回访 is more than 回访量"
        out.append(_Check("effective_calls", "有效回访", more, rows["effective_calls"], why))
    if kind == "complaints":
        early = (rows["answer_date"] < rows["complaint_date"]).to_numpy()
        why = "答复日期早于投诉日期 / 答复日期 is before 投诉日期"
        out.append(_Check("answer_date", "答复日期", early, rows["answer_date"], why))
        yes, given = rows["compensated"].to_numpy(dtype=bool), _given(rows, "compensation")
        why = "是否赔偿为是但未填赔偿金额 / 是否赔偿 is 是 but 赔偿金额 is empty"
        out.append(_Check("compensation", "赔偿金额", yes & ~given, rows["raw:compensation"], why))
        why = "是否赔偿为否却填了赔偿金额 / 是否赔偿 is 否 but 赔偿金额 is given"
        out.append(_Check("compensation", "赔偿金额", ~yes & given, rows["compensation"], why))
    if kind == "outcomes":
        o, product = rows["outcome"], np.full(len(rows), None, dtype=object)
        product[known] = book.products[where[known]]
        held, kept = "/".join(s.hold_products), s.hold_outcome
        hold = known & (o == kept).to_numpy() & ~np.isin(product, s.hold_products)
        why = np.empty(len(rows), dtype=object)
        why[hold] = [
            f"{kept}仅适用于{held}保单，此保单为{p} / "
            f"{kept} is only possible for {held} policies, this one is {p}"
            for p in product[hold]
        ]
        out.append(_Check("outcome", "满期去向", hold, o, why))
        needed = {
            s.policy_conversion_outcome: ("new_premium", "新保单保费"),
            s.deposit_conversion_outcome: ("deposit_amount", "转存金额"),
        }
        for answer, (name, header) in needed.items():
            lacks = known & (o == answer).to_numpy() & ~_given(rows, name)
            why = f"{answer}须填{header} / {answer} needs {header}"
            out.append(_Check(name, header, lacks, rows[f"raw:{name}"], why))
    return out


def _duplicates(kind: str, rows: pd.DataFrame, among: np.ndarray) -> _Check:
    """Rows of ``among`` repeating the key (:attr:`Form.unique`) of an earlier one of them."""
    form, n = FORMS[kind], len(rows)
    at = np.flatnonzero(among)
    group = rows.iloc[at].groupby(list(form.unique), sort=False).ngroup().to_numpy()
    first = at[np.unique(group, return_index=True)[1][group]]
    again = np.zeros(n, dtype=bool)
    again[at[first != at]] = True
    later = np.flatnonzero(again)
    cols = "、".join(form.field(k).header for k in form.unique)
    key = zip(*(_texts(rows[k], later) for k in form.unique), strict=True)
    seen = first[first != at]
    value, reason = np.empty(n, dtype=object), np.empty(n, dtype=object)
    value[later] = [" / ".join(parts) for parts in key]
    reason[later] = [
        f"重复({cols})，与{w}相同 / duplicate ({cols}) of {w}"
        for w in map(
            "{} row {}".format, rows["file"].to_numpy()[seen], rows["row"].to_numpy()[seen]
        )
    ]
    return _Check(",".join(form.unique), cols, again, value, reason)


def read_form(
    kind: str, paths: list[Path], policies: pd.DataFrame, plan: Plan | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Read one kind of tracking file(s): (accepted frame, rejects, counts).

    Parameters
    ----------
    kind
        ``"calls"``, ``"complaints"``, ``"worklog"`` or ``"outcomes"``.
    paths
        The files, read in order; a later duplicate of an earlier row is rejected.
    policies
        The accepted maturity list (canonical columns ``policy_no``, ``branch_code``,
        ``product_type``): the policy numbers and branches a row may name.

    Returns
    -------
    tuple
        The accepted frame (:func:`columns`), the rejects (``REJECT_COLUMNS``: the first
        problem of each rejected row, the columns of any others in ``other_problems``; a
        file's rows failing cell checks first, then those failing row checks) and the counts:
        ``rows_read`` (= accepted + rejected), ``rows_accepted``, ``rows_rejected``,
        ``rows_blank``, ``rows_footer`` (合计 rows) and per-file ``files``.
    """
    return _read_kind(kind, paths, _book(policies), plan or load_plan())


def _read_kind(
    kind: str, paths: list[Path], book: _Book, plan: Plan
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """:func:`read_form` against the maturity list's lookup."""
    s, form = settings(plan), FORMS[kind]
    files, blocks, cell_rejects = [], [], []
    for i, path in enumerate(paths):
        good, rej, counts = _read_file(form, path, s, path.name.startswith(FORMS_PREFIX))
        files.append(counts)
        blocks += [g.assign(source=i) for g in good]
        cell_rejects.append(rej)
    none = pd.DataFrame({"file": "", "sheet": "", "row": np.array([], dtype=np.int64)})
    rows = pd.concat(blocks or [_block(form, none, {}).assign(source=0)], ignore_index=True)
    where = book.find(rows["policy_no"]) if "policy_no" in rows else np.zeros(0, dtype=np.intp)
    checks = _row_checks(kind, rows, s, s.window(plan.year), book, where)
    fails = np.column_stack([c.fails for c in checks] or [np.zeros(len(rows), dtype=bool)])
    checks.append(_duplicates(kind, rows, ~fails.any(axis=1)))
    bad, row_rejects = _rejects(rows, checks)
    source = rows["source"].to_numpy()[bad]
    parts = [
        part
        for i, cells in enumerate(cell_rejects)
        for part in (
            cells,
            {
                c: [v for v, f in zip(vs, source, strict=True) if f == i]
                for c, vs in row_rejects.items()
            },
        )
    ]
    records = zip(*([v for part in parts for v in part[c]] for c in REJECT_COLUMNS), strict=True)
    rej = pd.DataFrame(list(records), columns=REJECT_COLUMNS).astype({"row": "int64"})
    out = rows.loc[~bad, [f.name for f in form.fields]]
    for f in form.fields:
        if f.kind == "count":  # Python ints, through float64 when a row has none (as records)
            out[f.name] = out[f.name].astype("float64" if out[f.name].isna().any() else "int64")
    if "branch_code" in DERIVED[kind]:
        out["branch_code"] = book.branches.take(where[~bad])
    out = out.astype(empty(kind).dtypes.to_dict()).reset_index(drop=True)
    read = sum(f["rows_read"] for f in files)
    if len(out) + len(rej) != read:  # pragma: no cover - a bug, never a data problem
        raise AssertionError(f"{kind}: {len(out)} accepted + {len(rej)} rejected != {read} read")
    counts = {
        "rows_read": read,
        "rows_accepted": len(out),
        "rows_rejected": len(rej),
        "rows_blank": sum(f["rows_blank"] for f in files),
        "rows_footer": sum(f["rows_footer"] for f in files),
        "files": files,
    }
    return out, rej, counts


def _paths(folder: Path, kind: str) -> list[Path]:
    return _files(folder, kind) + _files(folder, FORMS_PREFIX) if folder.is_dir() else []


def read_tracking(
    folder: str | Path, policies: pd.DataFrame, plan: Plan | None = None
) -> TrackingRead:
    """Read a dataset's ``tracking/`` folder against its accepted maturity list.

    A missing folder or a missing kind of file gives empty frames (a dataset without
    tracking yet). Rejects have the maturity list's columns (``REJECT_COLUMNS``);
    ``counts[kind]`` is what :func:`read_form` counts.
    """
    folder, book, plan = Path(folder), _book(policies), plan or load_plan()
    frames, rejects, counts = {}, [], {}
    for kind in KINDS:
        frames[kind], rej, counts[kind] = _read_kind(kind, _paths(folder, kind), book, plan)
        rejects.append(rej)
    all_rejects = pd.concat([r for r in rejects if len(r)] or [rejects[0]], ignore_index=True)
    return TrackingRead(Tracking(**frames), all_rejects, counts)


def tracking_folder(path: str | Path) -> Path:
    """The ``tracking/`` folder of a dataset folder, or of a policies file's folder."""
    path = Path(path)
    return (path if path.is_dir() else path.parent) / TRACKING_DIR


def tracking_inputs(path: str | Path) -> list[list[str]]:
    """``[file name, sha256]`` of every tracking file of a dataset, sorted: its fingerprint."""
    folder = tracking_folder(path)
    files = sorted({p for kind in KINDS for p in _paths(folder, kind)})
    return [[p.name, hashlib.sha256(p.read_bytes()).hexdigest()] for p in files]

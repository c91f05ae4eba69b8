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
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ..exceptions import MaturityDataError
from ..plan.model import Plan, TrackingSettings, load_plan
from .readers import EXCEL_EPOCH, HEADER_SCAN_ROWS, REJECT_COLUMNS, is_summary, read_grids

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


@dataclass
class _Row:
    file: str
    sheet: str
    row: int
    values: dict[str, Any]
    raw: dict[str, Any]


# A problem with a row: (canonical column(s), header(s), value, reason).
_Problem = tuple[str, str, Any, str]


def _reject(file: str, sheet: str, row: int, problems: list[_Problem]) -> dict:
    column, header, value, reason = problems[0]
    return {
        "file": file,
        "sheet": sheet,
        "row": row,
        "column": column,
        "header": header,
        "value": "" if value is None else str(value),
        "reason": reason,
        "other_problems": ", ".join(p[0] for p in problems[1:]),
    }


def _read_file(
    form: Form, path: Path, s: TrackingSettings, rejects: list[dict], optional: bool = False
) -> tuple[list[_Row], dict[str, Any]]:
    """Rows of every sheet of ``path`` that carries the form's headers, after cell checks.

    A file without such a sheet is an error unless ``optional`` (a ``forms*`` workbook).
    Returns the good rows and the file's counts (rows_read, rows_blank, rows_footer, sheets).
    The file is read by :func:`~maturity_analysis.ingest.readers.read_grids`, as a maturity
    list is; a row whose first filled cell is a summary word (合计, 共计, 合 计, ...: the
    maturity list's :func:`~maturity_analysis.ingest.readers.is_summary`) is a footer.
    """
    grids, info = read_grids(path)
    good: list[_Row] = []
    counts = {
        "file": path.name,
        "sha256": info.sha256,
        "sheets": [],
        "rows_read": 0,
        "rows_blank": 0,
        "rows_footer": 0,
    }
    for grid in grids:
        sheet, rows = grid.sheet, grid.rows
        hit = _find_header(form, rows)
        if hit is None:
            continue
        counts["sheets"].append(sheet)
        h, cols = hit
        for i, row in zip(grid.numbers[h + 1 :], rows[h + 1 :], strict=True):
            present = [v for v in map(_norm, row) if v is not None]
            if not present:
                counts["rows_blank"] += 1
                continue
            if isinstance(present[0], str) and is_summary(present[0]):
                counts["rows_footer"] += 1
                continue
            counts["rows_read"] += 1
            cells = {f.name: _norm(row[j]) if j < len(row) else None for j, f in cols.items()}
            values, problems = {}, []
            for f in cols.values():
                v = cells[f.name]
                if v is None:
                    if f.required:
                        why = f"缺少必填项{f.header} / {f.header} is required but empty"
                        problems.append((f.name, f.header, None, why))
                    continue
                try:
                    values[f.name] = _parse(f, v, s)
                except _Bad as bad:
                    problems.append((f.name, f.header, v, f"{f.header}: {bad}"))
            if problems:
                rejects.append(_reject(path.name, sheet, i, problems))
            else:
                good.append(_Row(path.name, sheet, i, values, cells))
    if not counts["sheets"] and not optional:
        need = "、".join(f.header for f in form.fields if f.required)
        raise MaturityDataError(f"{path}: no sheet has the headers of {form.title} (needs {need})")
    return good, counts


def _check_row(
    kind: str,
    r: _Row,
    s: TrackingSettings,
    window: tuple[date, date],
    products: dict[str, str],
    branches: set[str],
) -> list[_Problem]:
    """Row-level rules beyond each cell; the problems found (none: the row is good)."""
    form, v, out = FORMS[kind], r.values, []
    for f in form.fields:
        if f.kind == "date" and f.name in v and not window[0] <= v[f.name] <= window[1]:
            span = f"{window[0]}..{window[1]}"
            out.append(
                (
                    f.name,
                    f.header,
                    v[f.name],
                    f"{f.header}不在方案年度表单期间({span}) / "
                    f"{f.header} outside the plan year's forms ({span})",
                )
            )
    if "policy_no" in v and v["policy_no"] not in products:
        out.append(
            (
                "policy_no",
                "保单号",
                v["policy_no"],
                "保单号不在满期清单中 / policy number not in the maturity list",
            )
        )
    if kind == "worklog":
        if v["branch_code"] not in branches:
            out.append(
                (
                    "branch_code",
                    "网点代码",
                    v["branch_code"],
                    "网点代码不在满期清单中 / branch code not in the maturity list",
                )
            )
        if v.get("effective_calls", 0) > v["calls"]:
            out.append(
                (
                    "effective_calls",
                    "有效回访",
                    v["effective_calls"],
                    "有效回访多于回访量 / 有效回访 is more than 回访量",
                )
            )
    if kind == "complaints":
        if "answer_date" in v and v["answer_date"] < v["complaint_date"]:
            out.append(
                (
                    "answer_date",
                    "答复日期",
                    v["answer_date"],
                    "答复日期早于投诉日期 / 答复日期 is before 投诉日期",
                )
            )
        amount = v.get("compensation", 0.0)
        if v["compensated"] and not amount:
            out.append(
                (
                    "compensation",
                    "赔偿金额",
                    r.raw.get("compensation"),
                    "是否赔偿为是但未填赔偿金额 / 是否赔偿 is 是 but 赔偿金额 is empty",
                )
            )
        if not v["compensated"] and amount:
            out.append(
                (
                    "compensation",
                    "赔偿金额",
                    amount,
                    "是否赔偿为否却填了赔偿金额 / 是否赔偿 is 否 but 赔偿金额 is given",
                )
            )
    if kind == "outcomes" and v["policy_no"] in products:
        o, product = v["outcome"], products[v["policy_no"]]
        held = "/".join(s.hold_products)
        if o == s.hold_outcome and product not in s.hold_products:
            out.append(
                (
                    "outcome",
                    "满期去向",
                    o,
                    f"{o}仅适用于{held}保单，此保单为{product} / "
                    f"{o} is only possible for {held} policies, this one is {product}",
                )
            )
        needed = {
            s.policy_conversion_outcome: ("new_premium", "新保单保费"),
            s.deposit_conversion_outcome: ("deposit_amount", "转存金额"),
        }
        if o in needed and not v.get(needed[o][0]):
            field, header = needed[o]
            out.append((field, header, r.raw.get(field), f"{o}须填{header} / {o} needs {header}"))
    return out


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
        problem of each rejected row, the columns of any others in ``other_problems``) and
        the counts: ``rows_read`` (= accepted + rejected), ``rows_accepted``,
        ``rows_rejected``, ``rows_blank``, ``rows_footer`` (合计 rows) and per-file ``files``.
    """
    plan = plan or load_plan()
    s, form = settings(plan), FORMS[kind]
    window = s.window(plan.year)
    pol = policies.drop_duplicates("policy_no")
    numbers = pol["policy_no"].astype(str)
    products = dict(zip(numbers, pol["product_type"].astype(str), strict=True))
    branch_of = dict(zip(numbers, pol["branch_code"].astype(str), strict=True))
    branches = set(branch_of.values())
    rejects: list[dict] = []
    accepted: list[dict] = []
    seen: dict[tuple, str] = {}
    files = []
    for path in paths:
        rows, counts = _read_file(form, path, s, rejects, path.name.startswith(FORMS_PREFIX))
        files.append(counts)
        for r in rows:
            problems = _check_row(kind, r, s, window, products, branches)
            key = tuple(r.values.get(k) for k in form.unique)
            if not problems and key in seen:
                cols = "、".join(form.field(k).header for k in form.unique)
                why = f"重复({cols})，与{seen[key]}相同 / duplicate ({cols}) of {seen[key]}"
                problems = [(",".join(form.unique), cols, " / ".join(map(str, key)), why)]
            if problems:
                rejects.append(_reject(r.file, r.sheet, r.row, problems))
                continue
            seen[key] = f"{r.file} row {r.row}"
            row = dict(r.values)
            if "branch_code" in DERIVED[kind]:
                row["branch_code"] = branch_of[row["policy_no"]]
            accepted.append(row)
    out = frame(kind, accepted)
    rej = pd.DataFrame(rejects, columns=list(REJECT_COLUMNS)).astype({"row": "int64"})
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
    folder = Path(folder)
    frames, rejects, counts = {}, [], {}
    for kind in KINDS:
        frames[kind], rej, counts[kind] = read_form(kind, _paths(folder, kind), policies, plan)
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

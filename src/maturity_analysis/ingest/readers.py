"""Raw spreadsheet files → their cells, with header, sheet and row numbers.

Reads ``.xlsx`` (calamine; openpyxl for the columns calamine would read otherwise), ``.xls``
(xlrd when installed, or text saved as .xls) and CSV (UTF-8 or GB18030/GBK, or UTF-16 with its
BOM: Excel's tab-separated Unicode text), a CSV in chunks of rows when asked. A
password-protected workbook, a CSV cell longer than ``MAX_CELL`` and a header naming one
column twice are one-line errors; a summary or pivot sheet beside the list is skipped with a
note. :func:`read_grids` gives every sheet as rows of raw cell values with
their Excel row (CSV: line) numbers; it is how the tracking forms
(:mod:`maturity_analysis.ingest.forms`) read their files. :func:`read_chunks` goes on for a
maturity list: it finds the header row (a title row above it and two-row merged headers are
handled), maps header aliases to canonical names, and sets blank and summary (合计/小计/共计)
rows apart. Everything else is a data row, kept as text for
:mod:`maturity_analysis.ingest.policies`.

What both kinds of input share is defined here once: how far down a header may be
(``HEADER_SCAN_ROWS``), which rows are summary rows (``SUMMARY_RE``, :func:`is_summary`), the
day Excel's serial dates count from (``EXCEL_EPOCH``) and the columns of a reject
(``REJECT_COLUMNS``).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..exceptions import MaturityDataError
from .schema import POLICY_COLUMNS

# A header may sit this far down (under title and note lines): maturity lists and forms alike.
HEADER_SCAN_ROWS = 15
MIN_HEADER_MATCHES = 3
# Whitespace spelt out (not \s) so pandas keeps pyarrow's fast regex engine.
WS = "[ \t\r\n\f\v\u3000\xa0]"
# A summary (footer) row's text: 合计, 总计, 小计, 共计 or 总合计, spaces allowed (合 计).
SUMMARY_RE = rf"^{WS}*(?:总{WS}*合{WS}*计|合{WS}*计|总{WS}*计|小{WS}*计|共{WS}*计)"
_SUMMARY = re.compile(SUMMARY_RE)
# Day 0 of Excel's serial dates (the 1900 date system, counting its phantom 1900-02-29).
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# The columns of a rejected row, for maturity lists and tracking forms alike.
REJECT_COLUMNS = ["file", "sheet", "row", "column", "header", "value", "reason", "other_problems"]
# The values Excel shows in a cell whose formula failed: data that is missing, not text.
EXCEL_ERRORS = frozenset(
    "#N/A #VALUE! #REF! #DIV/0! #NUM! #NAME? #NULL! #SPILL! #CALC! #GETTING_DATA #FIELD! "
    "#BLOCKED! #UNKNOWN! #CONNECT! #BUSY!".split()
)
# Excel keeps 15 significant digits: a number cell of 16 or more digits has lost its last ones.
EXCEL_DIGITS = 15
# The longest CSV cell read (Python's csv default): longer is a runaway quote, not a cell.
MAX_CELL = 131_072
REQUIRED = tuple(c.name for c in POLICY_COLUMNS if c.required)
_HEADERS = {c.name: c.header for c in POLICY_COLUMNS}
_PREFIX_BYTES = 1 << 20
_WHOLE_DECODE_BYTES = 64 << 20
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
# The stream an encrypted (password-protected) Office file keeps its workbook in.
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")


@dataclass
class Sheet:
    """The data rows of one sheet (or CSV file), as text, under canonical column names."""

    file: Path
    sheet: str  # "" for CSV
    header_rows: list[int]  # 1-based rows (CSV: lines) holding the header
    columns: dict[str, str]  # canonical name -> header as written in the file
    ignored: list[str]  # headers in the file that map to no canonical column
    scale: dict[str, float]  # amount columns given in 万元 -> 10000
    cells: pd.DataFrame  # canonical columns, str dtype, one row per data row
    rows: np.ndarray  # the 1-based row (CSV: line) number of each data row
    n_blank: int = 0
    n_footer: int = 0
    extra: pd.Series | None = None  # CSV: text in cells beyond the header, per data row


@dataclass
class Grid:
    """One sheet (or a CSV file's one table) as rows of the raw values of its cells."""

    sheet: str  # "" for CSV
    rows: list[list]  # cell values as the file holds them (CSV: text, "" for an empty cell)
    numbers: list[int]  # the 1-based row (CSV: line) number of each row


@dataclass(frozen=True)
class Digest:
    """A file's SHA-256 and line count."""

    sha256: str
    newlines: int
    ends_with_newline: bool


def file_digest(path: Path) -> Digest:
    """SHA-256 and line count of a file, read once in chunks."""
    h, newlines, last = hashlib.sha256(), 0, b""
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
    return Digest(h.hexdigest(), newlines, last == b"\n")


# Digests are read in this thread while the file is parsed (hashing leaves the GIL).
_DIGESTS = ThreadPoolExecutor(1, thread_name_prefix="sha256")


@dataclass
class FileInfo:
    """What the manifest records about one input file; its :class:`Digest` is computed
    beside the reading and waited for where it is used."""

    path: Path
    size: int
    digest: Future[Digest]
    format: str = ""
    encoding: str | None = None
    skipped_sheets: list[str] = field(default_factory=list)
    sheet_notes: dict[str, str] = field(default_factory=dict)  # skipped sheet -> why

    @property
    def sha256(self) -> str:
        return self.digest.result().sha256

    @property
    def lines(self) -> int:
        """The file's lines (a last line without its newline counted)."""
        d = self.digest.result()
        return d.newlines + (not d.ends_with_newline)


# ---------------------------------------------------------------------------------- headers


def _header_key(text: object) -> tuple[str, float]:
    """Normalised header text (NFKC, no spaces or marks) and the unit scale it states."""
    t = unicodedata.normalize("NFKC", str(text))
    t = re.sub(r"[\s_\-*:：]", "", t).lower()
    scale = 1.0
    unit = re.search(r"[(\[]([^)\]]*)[)\]]$", t)
    if unit and t[: unit.start()]:
        scale = 10000.0 if "万" in unit.group(1) else 1.0
        t = t[: unit.start()]
    return t, scale


def _alias_table() -> dict[str, tuple[str, int]]:
    table: dict[str, tuple[str, int]] = {}
    for col in POLICY_COLUMNS:
        names = (col.header, col.name, *col.aliases)
        for rank, name in enumerate(names):
            key = _header_key(name)[0]
            if key not in table or table[key][1] > rank:
                table[key] = (col.name, rank)
    return table


ALIASES = _alias_table()


@dataclass
class Header:
    """Where the header is and which column of the grid holds which canonical column."""

    first: int  # 0-based index in the grid of the first header row
    depth: int  # 1 or 2 rows
    positions: dict[str, int]  # canonical -> column position
    width: int  # number of header cells
    texts: dict[str, str]  # canonical -> header as written
    scale: dict[str, float]
    ignored: list[str]
    duplicates: dict[str, list[int]] = field(default_factory=dict)  # canonical -> positions


def column_letter(pos: int) -> str:
    """The Excel letter of a 0-based column position (a CSV opened in Excel shows the same).

    >>> column_letter(0), column_letter(27)
    ('A', 'AB')
    """
    from openpyxl.utils import get_column_letter

    return get_column_letter(pos + 1)


def _match(candidates: list[list[str]]) -> Header:
    """Map each grid column (given candidate header texts, best first) to a canonical name."""
    best: dict[str, tuple[int, int, str, float]] = {}
    ties: dict[str, list[tuple[int, int]]] = {}  # canonical -> (rank, position) of each match
    seen: list[tuple[int, str]] = []
    for pos, texts in enumerate(candidates):
        for text in texts:
            key, scale = _header_key(text)
            if key in ALIASES:
                name, rank = ALIASES[key]
                ties.setdefault(name, []).append((rank, pos))
                if name not in best or (rank, pos) < best[name][:2]:
                    best[name] = (rank, pos, text, scale)
                break
        if texts:
            seen.append((pos, texts[0]))
    used = {v[1] for v in best.values()}
    return Header(
        first=0,
        depth=1,
        width=len(candidates),
        positions={n: v[1] for n, v in best.items()},
        texts={n: v[2] for n, v in best.items()},
        scale={n: v[3] for n, v in best.items() if v[3] != 1.0},
        ignored=[t for pos, t in seen if pos not in used],
        duplicates={
            n: same
            for n, matches in ties.items()
            if len(same := [p for r, p in matches if r == best[n][0]]) > 1
        },
    )


def _cell_str(v: object) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return None
    s = str(v).strip()
    return s or None


def _single(row: list) -> list[list[str]]:
    return [[s] if (s := _cell_str(v)) else [] for v in row]


def _pair(top: list, below: list) -> list[list[str]]:
    """Candidate headers of a two-row header whose top cells are merged across columns."""
    width = max(len(top), len(below))
    out, parent = [], None
    for j in range(width):
        own = _cell_str(top[j]) if j < len(top) else None
        child = _cell_str(below[j]) if j < len(below) else None
        parent = own or parent
        cands = ([parent + child] if parent and child else []) + [child, own]
        out.append([c for c in cands if c])
    return out


def find_header(grid: list[list]) -> Header | None:
    """The header within the first rows of a grid: the row (or merged pair) matching most names.

    A single row wins ties against a pair, an earlier row against a later one.
    """
    options = []
    for r in range(min(HEADER_SCAN_ROWS, len(grid))):
        options.append((_match(_single(grid[r])), r, 1))
        if r + 1 < len(grid):
            options.append((_match(_pair(grid[r], grid[r + 1])), r, 2))
    if not options:
        return None
    head, r, depth = max(options, key=lambda o: (len(o[0].positions), -o[2], -o[1]))
    if len(head.positions) < MIN_HEADER_MATCHES:
        return None
    head.first, head.depth = r, depth
    return head


def check_columns(head: Header | None, where: str) -> Header:
    """Raise a one-line error when the header is missing or lacks a required column."""
    if head is None:
        expected = "、".join(_HEADERS[n] for n in REQUIRED)
        raise MaturityDataError(
            f"{where}: no recognisable header in the first {HEADER_SCAN_ROWS} rows "
            f"(expected columns such as {expected})"
        )
    missing = [f"{_HEADERS[n]} ({n})" for n in REQUIRED if n not in head.positions]
    if missing:
        raise MaturityDataError(f"{where}: required column missing: {', '.join(missing)}")
    if head.duplicates:
        name, where_ = next(iter(head.duplicates.items()))
        letters = " and ".join(column_letter(p) for p in where_)
        raise MaturityDataError(
            f"{where}: the header {head.texts[name]} ({name}) is in more than one column "
            f"(columns {letters}); keep one of them or rename the others"
        )
    if "holder_birth_date" not in head.positions and "holder_id" not in head.positions:
        raise MaturityDataError(
            f"{where}: needs 投保人出生日期 (holder_birth_date) or 投保人身份证号 (holder_id) "
            "to compute ages; neither column found"
        )
    return head


# ----------------------------------------------------------------------------------- cells


def cell_text(v: object) -> str | None:
    """The text of a spreadsheet cell; numbers Excel cannot have held exactly (16 digits or
    more as a float, or as a whole number ending in the zeros Excel puts after its 15
    significant digits) keep a scientific form that says so.

    >>> cells = (12.0, 0.5, 110101196003051234, 1.10101196003051e17, 2013000000001230, None)
    >>> [cell_text(v) for v in cells]
    ['12', '0.5', '110101196003051234', '1.10101196003051e+17', '2.01300000000123e+15', None]
    """
    if v is None or v == "":
        return None
    if isinstance(v, float):
        if np.isnan(v):
            return None
        if abs(v) >= 10**EXCEL_DIGITS:
            return np.format_float_scientific(v, trim="-")
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) >= 10**EXCEL_DIGITS:
        if not str(abs(v))[EXCEL_DIGITS:].strip("0"):
            return np.format_float_scientific(float(v), trim="-")
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, dt.date):  # calamine's date cell: the text of openpyxl's datetime
        return dt.datetime(v.year, v.month, v.day).isoformat(sep=" ")
    if isinstance(v, dt.time):
        return v.isoformat()
    return str(v)


def is_summary(text: str) -> bool:
    """Whether a cell's text opens a summary row (the test :func:`read_chunks` applies too).

    >>> [is_summary(t) for t in ("合计", "合 计：", "共计12户", "总合计", "小计", "合同", "张三")]
    [True, True, True, True, True, False, False]
    """
    return _SUMMARY.match(text) is not None


def ascii_digits(s: pd.Series) -> np.ndarray:
    """Rows of ASCII digits alone (missing or empty: False), in one pass of Arrow's kernel:
    nearly every policy number, ID and phone, which no text check then needs to read."""
    digits = pc.ascii_is_decimal(pa.array(s.astype("str").array))
    return pc.fill_null(digits, False).to_numpy(zero_copy_only=False)


def has_any(s: pd.Series, *chars: str) -> np.ndarray:
    """Rows holding any of the literal ``chars``: a cheap filter to run before a regex."""
    found = np.zeros(len(s), dtype=bool)
    for c in chars:
        found |= s.str.contains(c, regex=False).fillna(False).to_numpy(dtype=bool)
    return found


def _classify(frame: pd.DataFrame, policy_pos: int) -> tuple[np.ndarray, np.ndarray]:
    """Blank rows (no cell with text) and summary rows (合计/总计/小计 with no policy number)."""
    n = len(frame)
    key = (
        frame.iloc[:, policy_pos]
        if policy_pos < frame.shape[1]
        else pd.Series([None] * n, index=frame.index, dtype="str")
    )
    cand = ~ascii_digits(key)
    rest = key[cand]
    cand[cand] = (rest.isna() | (rest.str.strip() == "")).to_numpy(dtype=bool) | has_any(rest, "计")
    blank = np.zeros(n, dtype=bool)
    footer = np.zeros(n, dtype=bool)
    if cand.any():
        sub = frame[cand]
        empty = sub.isna() | sub.apply(lambda c: c.str.fullmatch(f"{WS}*")).fillna(True)
        summary = sub.apply(lambda c: c.str.match(SUMMARY_RE)).fillna(False)
        blank[cand] = empty.all(axis=1).to_numpy()
        footer[cand] = summary.any(axis=1).to_numpy() & ~blank[cand]
    return blank, footer


def _beyond(frame: pd.DataFrame, width: int) -> pd.Series:
    """Text of the non-empty cells right of the header's last column (missing where none)."""
    out = pd.Series(pd.NA, index=frame.index, dtype="str")
    if frame.shape[1] > width:
        extra = frame.iloc[:, width:]
        extra = extra.where(extra.apply(lambda c: c.str.strip() != "").fillna(False))
        rows = extra.notna().any(axis=1)
        out[rows] = extra[rows].apply(lambda r: ",".join(r.dropna()), axis=1)
    return out


def _sheet_from_frame(
    frame: pd.DataFrame,
    rows: np.ndarray,
    head: Header,
    path: Path,
    sheet: str,
    check_width: bool = False,
) -> Sheet:
    """Split a text frame (positional columns, below the header) into data, blank and footer."""
    blank, footer = _classify(frame, head.positions["policy_no"])
    keep = ~blank & ~footer
    cells = pd.DataFrame(
        {
            name: (
                frame.iloc[keep, pos]
                if pos < frame.shape[1]
                else pd.Series([None] * int(keep.sum()), dtype="str")
            )
            for name, pos in head.positions.items()
        }
    ).reset_index(drop=True)
    extra = _beyond(frame[keep], head.width).reset_index(drop=True) if check_width else None
    return Sheet(
        file=path,
        sheet=sheet,
        header_rows=[],
        columns=head.texts,
        ignored=head.ignored,
        scale=head.scale,
        cells=cells.astype("str"),
        rows=rows[keep],
        n_blank=int(blank.sum()),
        n_footer=int(footer.sum()),
        extra=extra,
    )


def sheet_from_grid(
    grid: list[list],
    row_numbers: list[int],
    path: Path,
    sheet: str,
    where: str,
    check_width: bool = False,
) -> Sheet:
    """A sheet from a list of rows of cell values (openpyxl, xlrd or the Python CSV reader).

    ``check_width``: record text right of the header's last column (in a CSV, a sign that an
    unquoted comma shifted the row).
    """
    head = check_columns(find_header(grid), where)
    start = head.first + head.depth
    body = grid[start:]
    frame = (
        pd.DataFrame(body, dtype=object)
        if body
        else pd.DataFrame(index=range(0), columns=range(1), dtype=object)
    )
    frame = frame.apply(_texts)
    out = _sheet_from_frame(
        frame, np.asarray(row_numbers[start:], dtype=np.int64), head, path, sheet, check_width
    )
    out.header_rows = row_numbers[head.first : start]
    return out


# ------------------------------------------------------------------------------------ xlsx


def _texts(column: pd.Series) -> pd.Series:
    """A grid column's cells as text (:func:`cell_text`); a column of text alone is cast."""
    if pd.api.types.infer_dtype(column, skipna=True) == "string":
        text = column.astype("str")
        return text.where(text != "")
    return column.map(cell_text, na_action="ignore").astype("str")


def _xlsx_grids(info: FileInfo, tidy: bool = True) -> dict[str, list[list]]:
    """Every sheet's cells, read by calamine; the columns whose cells calamine cannot give as
    openpyxl does (:func:`_calamine_misses`) are read again with openpyxl.

    ``tidy``: each cell as openpyxl gives it (:func:`_calamine_cell`); else as calamine does,
    which :func:`cell_text` reads to the same text.
    """
    from python_calamine import CalamineWorkbook, SheetTypeEnum

    try:
        with CalamineWorkbook.from_path(info.path) as wb:
            grids = {
                m.name: wb.get_sheet_by_name(m.name).to_python(skip_empty_area=False)
                for m in wb.sheets_metadata
                if m.typ == SheetTypeEnum.WorkSheet
            }
    except Exception as exc:  # noqa: BLE001 - whatever calamine raises, the file is unreadable
        raise MaturityDataError(
            f"{info.path}: not a readable Excel workbook ({type(exc).__name__})"
        ) from None
    misses = _calamine_misses(info.path, grids)
    if tidy:
        grids = {n: [list(map(_calamine_cell, r)) for r in g] for n, g in grids.items()}
    if misses:
        _openpyxl_columns(info, grids, misses)
    return grids


def _calamine_cell(v: object) -> object:
    """A calamine cell as openpyxl gives it: empty is None, a date a datetime, a whole number
    under ``10**EXCEL_DIGITS`` an int."""
    kind = type(v)
    if kind is str:
        return v or None
    if kind is float:
        return int(v) if v.is_integer() and abs(v) < 10**EXCEL_DIGITS else v
    if kind is dt.date:
        return dt.datetime(v.year, v.month, v.day)
    return v


# A number cell written with 16 or more digits and no exponent (not something Excel writes, but
# exact: openpyxl keeps it as an int, calamine as a float), and an error cell (#N/A, ...: calamine
# gives it as empty). Each marks the columns openpyxl reads again.
_LONG_NUMBER = re.compile(rb"<(?:\w+:)?v>-?[0-9]{16,}</(?:\w+:)?v>")
_ERROR_CELL = re.compile(rb"""<(?:\w+:)?c\s[^>]*?\bt=["']e["'][^>]*>""")
_CELL_REF = re.compile(rb"""\br=["']([A-Z]+)[0-9]+["']""")


def _sheet_parts(z) -> dict[str, str]:
    """Sheet name -> its worksheet part in the xlsx zip."""
    import xml.etree.ElementTree as ET

    ns = {
        "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
        "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    }
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {
        r.get("Id"): r.get("Target") for r in rels if r.get("Type", "").endswith("/worksheet")
    }
    out = {}
    for sheet in ET.fromstring(z.read("xl/workbook.xml")).iterfind("m:sheets/m:sheet", ns):
        t = target.get(sheet.get(f"{{{ns['r']}}}id"), "")
        if t:
            out[sheet.get("name")] = t.lstrip("/") if t.startswith("/") else f"xl/{t}"
    return out


def _calamine_misses(path: Path, grids: dict[str, list[list]]) -> dict[str, set[int]]:
    """Per sheet, the 0-based columns calamine cannot read as openpyxl does: those holding an
    error cell, and, where the sheet has a number of 16 or more digits written out, those with
    a number of that size (calamine made it a float, losing its last digits)."""
    import zipfile

    misses: dict[str, set[int]] = {}
    with zipfile.ZipFile(path) as z:
        for name, part in _sheet_parts(z).items():
            if name not in grids:
                continue
            xml = z.read(part)
            cols = set()
            errors = b't="e"' in xml or b"t='e'" in xml  # the fast test before the regex
            for tag in _ERROR_CELL.finditer(xml) if errors else ():
                ref = _CELL_REF.search(tag.group())
                if ref:
                    cols.add(_column_index(ref.group(1).decode()))
            if _LONG_NUMBER.search(xml):
                for row in grids[name]:
                    cols.update(
                        j
                        for j, v in enumerate(row)
                        if type(v) is float and abs(v) >= 10**EXCEL_DIGITS
                    )
            if cols:
                misses[name] = cols
    return misses


def _column_index(letters: str) -> int:
    """The 0-based position of an Excel column letter (:func:`column_letter` reversed)."""
    from openpyxl.utils import column_index_from_string

    return column_index_from_string(letters) - 1


def _openpyxl_columns(info: FileInfo, grids: dict[str, list[list]], misses: dict) -> None:
    """Read the ``misses`` columns of each sheet with openpyxl into ``grids``."""
    for name, cols in openpyxl_grids(info, {n: sorted(c) for n, c in misses.items()}).items():
        grid, first = grids[name], min(misses[name])
        for i, row in enumerate(cols):
            if i >= len(grid):
                grid.append([None] * len(grid[0]) if grid else [])
            for j in misses[name]:
                v = row[j - first] if j - first < len(row) else None
                while len(grid[i]) <= j:
                    grid[i].append(None)
                grid[i][j] = v


def openpyxl_grids(info: FileInfo, columns: dict[str, list[int]] | None = None) -> dict:
    """Every sheet's rows as openpyxl reads them (``columns``: only these sheets, and of each
    only the span of these 0-based columns, each row starting at the first)."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(info.path, read_only=True, data_only=True)
        grids = {}
        for ws in wb.worksheets:
            if columns is not None and ws.title not in columns:
                continue
            ws.reset_dimensions()
            span = {}
            if columns is not None:
                span = {
                    "min_col": min(columns[ws.title]) + 1,
                    "max_col": max(columns[ws.title]) + 1,
                }
            grids[ws.title] = [list(r) for r in ws.iter_rows(values_only=True, **span)]
        wb.close()
    except Exception as exc:  # noqa: BLE001 - whatever openpyxl raises, the file is unreadable
        raise MaturityDataError(
            f"{info.path}: not a readable Excel workbook ({type(exc).__name__})"
        ) from None
    return grids


def _xls_grids(info: FileInfo) -> dict[str, list[list]]:
    try:
        import xlrd  # noqa: F401
    except ImportError:
        raise MaturityDataError(
            f"{info.path}: an old Excel 97-2003 .xls workbook; save it as .xlsx or .csv "
            "(reading .xls needs the xlrd package)"
        ) from None
    try:
        frames = pd.read_excel(info.path, sheet_name=None, header=None, dtype=object, engine="xlrd")
    except Exception as exc:  # noqa: BLE001 - whatever xlrd raises, the file is unreadable
        why = "password-protected" if "encrypt" in str(exc).lower() else type(exc).__name__
        raise MaturityDataError(
            f"{info.path}: not a readable Excel 97-2003 workbook ({why})"
        ) from None
    return {
        name: f.astype(object).where(f.notna(), None).values.tolist() for name, f in frames.items()
    }


def _sheets_from_grids(info: FileInfo, grids: dict[str, list[list]]) -> list[Sheet]:
    """Every sheet whose header is recognisable; errors name the file and sheet.

    A sheet with a header but no 保单号 column beside a full policy sheet is a summary or
    pivot sheet: skipped, with a note in ``info.sheet_notes``. Any other incomplete header
    is an error.
    """
    if not any(grids.values()):
        raise MaturityDataError(f"{info.path}: the workbook is empty")
    heads = {name: find_header(grid) for name, grid in grids.items()}
    info.skipped_sheets += [n for n, h in heads.items() if h is None]
    found = [n for n, h in heads.items() if h is not None]
    if not found:
        check_columns(None, f"{info.path} (sheets {', '.join(grids)})")
    problems = {}
    for name in found:
        try:
            check_columns(heads[name], f"{info.path} sheet {name}")
        except MaturityDataError as exc:
            problems[name] = exc
    complete = [n for n in found if n not in problems]
    for name, exc in problems.items():
        if not complete or "policy_no" in heads[name].positions:
            raise exc
        info.skipped_sheets.append(name)
        info.sheet_notes[name] = (
            "无保单号列，按汇总表或数据透视表跳过 / no 保单号 column: skipped as a summary or "
            "pivot sheet"
        )
    return [
        sheet_from_grid(
            grids[n], list(range(1, len(grids[n]) + 1)), info.path, n, f"{info.path} sheet {n}"
        )
        for n in complete
    ]


# ------------------------------------------------------------------------------------- csv


def _decode_probe(path: Path, data: bytes, whole: bool) -> tuple[str, str]:
    """The encoding (utf-16 by its BOM, as Excel's Unicode text; utf-8-sig, else gb18030) and
    decoded text of the first bytes of a file."""
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    for enc in ("utf-16",) if utf16 else ("utf-8-sig", "gb18030"):
        try:
            return enc, codecs.getincrementaldecoder(enc)().decode(data, final=whole)
        except UnicodeDecodeError:
            continue
    raise MaturityDataError(f"{path}: not UTF-8 or GB18030/GBK text")


def _delimiter(text: str) -> str:
    lines = text.splitlines()[:HEADER_SCAN_ROWS]
    counts = {d: max((ln.count(d) for ln in lines), default=0) for d in (",", "\t", ";", "|")}
    return max(counts, key=counts.get)


def _csv_probe(info: FileInfo) -> tuple[str, str, str]:
    """The encoding, delimiter and decoded first bytes of a CSV file (sets ``info.encoding``)."""
    path = info.path
    with open(path, "rb") as f:
        head = f.read(_WHOLE_DECODE_BYTES if info.size <= _WHOLE_DECODE_BYTES else _PREFIX_BYTES)
    if not head.strip():
        raise MaturityDataError(f"{path}: the file is empty")
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in head[:_PREFIX_BYTES] and not utf16:
        raise MaturityDataError(f"{path}: not a spreadsheet or CSV file (binary content)")
    enc, text = _decode_probe(path, head, whole=len(head) == info.size)
    info.encoding = "utf-8" if enc == "utf-8-sig" else enc
    return enc, _delimiter(text), text


class InexactLines(Exception):
    """pyarrow's CSV reader could not give exact line numbers (blank lines, quoted newlines,
    ragged rows): the file is read again by Python's csv reader (:func:`csv_slow`)."""


def _csv_chunks(info: FileInfo, chunk_rows: int | None) -> Iterator[Sheet]:
    """The data rows of a CSV file, ``chunk_rows`` at a time (``None``: all at once), each
    chunk a :class:`Sheet` with the file's line numbers.

    Streams through pyarrow's reader; raises :class:`InexactLines` (possibly after some
    chunks) when its line numbers would not be the file's.
    """
    path = info.path
    enc, delim, text = _csv_probe(info)
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    grid, ends = [], []
    try:
        for record in reader:
            grid.append(record)
            ends.append(reader.line_num)
            if len(grid) > HEADER_SCAN_ROWS:
                break
    except csv.Error as exc:
        raise _csv_error(info, enc, delim, (ends[-1] if ends else 0) + 1, exc) from None
    head = check_columns(find_header(grid), str(path))
    last = head.first + head.depth - 1
    if ends[: last + 1] != list(range(1, last + 2)) or enc == "utf-16":
        # utf-16's bytes hold 0x0A inside characters (上 is 0A 4E): pyarrow's lines not exact
        raise InexactLines
    yield from _csv_fast(info, head, grid, ends[last], enc, delim, chunk_rows)


def _batches(reader, chunk_rows: int | None) -> Iterator[pa.Table]:
    """The record batches of a streaming reader regrouped into tables of ``chunk_rows``."""
    held, n, given = [], 0, 0
    for batch in reader:
        while batch.num_rows:
            take = batch.num_rows if chunk_rows is None else min(batch.num_rows, chunk_rows - n)
            held.append(batch.slice(0, take))
            batch, n = batch.slice(take), n + take
            if chunk_rows is not None and n == chunk_rows:
                yield pa.Table.from_batches(held)
                held, n, given = [], 0, given + 1
    if held or not given:
        yield pa.Table.from_batches(held, schema=reader.schema)


def _csv_fast(
    info: FileInfo,
    head: Header,
    grid: list[list],
    skip: int,
    enc: str,
    delim: str,
    chunk_rows: int | None,
) -> Iterator[Sheet]:
    """pyarrow's multi-threaded streaming reader, a chunk at a time; :class:`InexactLines`
    when line numbers would not be exact."""
    width = max(len(r) for r in grid[head.first : head.first + head.depth])
    names = [f"c{j}" for j in range(width)]
    invalid = []

    def on_invalid(row: object) -> str:
        invalid.append(row)
        return "skip"

    try:
        reader = pacsv.open_csv(
            info.path,
            read_options=pacsv.ReadOptions(
                skip_rows=skip,
                column_names=names,
                encoding="utf8" if enc == "utf-8-sig" else enc,
                block_size=1 << 20,  # the reader parses blocks ahead: each one is held
            ),
            parse_options=pacsv.ParseOptions(delimiter=delim, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),  # pandas' str: no copy
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise InexactLines from None
    start = skip + 1
    try:
        for table in _batches(reader, chunk_rows):
            if invalid:
                raise InexactLines
            rows = np.arange(start, start + table.num_rows, dtype=np.int64)
            start += table.num_rows
            _check_cells(info, enc, delim, table, rows)
            frame = table.to_pandas()
            frame.columns = range(width)
            out = _sheet_from_frame(frame, rows, head, info.path, "")
            out.header_rows = list(range(head.first + 1, head.first + head.depth + 1))
            yield out
    except (pa.ArrowInvalid, UnicodeDecodeError):
        raise InexactLines from None
    if invalid or start - 1 != info.lines:
        raise InexactLines


def _check_cells(info: FileInfo, enc: str, delim: str, table: pa.Table, rows: np.ndarray) -> None:
    """The one-line error for a cell longer than ``MAX_CELL`` (as Python's csv reader stops)."""
    for column in table.columns:
        if (pc.max(pc.binary_length(column)).as_py() or 0) > MAX_CELL:
            long = pc.greater(pc.utf8_length(column), MAX_CELL)
            if pc.any(long).as_py():
                line = int(rows[pc.index(long, True).as_py()])
                raise _csv_error(info, enc, delim, line, csv.Error("field larger than field limit"))


def _csv_grid(info: FileInfo, enc: str, delim: str) -> Grid:
    """Python's csv reader: exact line numbers with blank lines, ragged rows, quoted newlines."""
    grid, starts, line = [], [], 0
    try:
        with open(info.path, encoding=enc, newline="") as f:
            reader = csv.reader(f, delimiter=delim)
            for record in reader:
                grid.append(record)
                starts.append(line + 1)
                line = reader.line_num
    except UnicodeDecodeError as exc:
        raise MaturityDataError(
            f"{info.path}: not valid {info.encoding} text after byte {exc.start}"
        ) from None
    except csv.Error as exc:
        raise _csv_error(info, enc, delim, line + 1, exc) from None
    return Grid("", grid, starts)


def _csv_error(
    info: FileInfo, enc: str, delim: str, line: int, exc: csv.Error
) -> MaturityDataError:
    """The one-line error for a CSV record the reader refused, starting at ``line``.

    A cell longer than ``MAX_CELL`` is named by line, column and its first characters: it is
    nearly always an unclosed quote running on through the lines below.
    """
    if "field larger" not in str(exc):
        return MaturityDataError(f"{info.path} line {line}: not a readable CSV record ({exc})")
    limit = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        with open(info.path, encoding=enc, newline="") as f:
            for _ in range(line - 1):
                f.readline()
            record = next(csv.reader(f, delimiter=delim), [])
    finally:
        csv.field_size_limit(limit)
    pos, value = next(((j, c) for j, c in enumerate(record) if len(c) > MAX_CELL), (0, ""))
    return MaturityDataError(
        f"{info.path} line {line} column {column_letter(pos)}: a cell of {len(value):,} "
        f'characters (at most {MAX_CELL:,}) starting {value[:20]!r}; usually a quote (") '
        "left open that runs on through the lines below"
    )


def csv_slow(info: FileInfo) -> Sheet:
    """A CSV file's data rows through Python's csv reader (exact lines in any file)."""
    enc, delim, _ = _csv_probe(info)
    grid = _csv_grid(info, enc, delim)
    return sheet_from_grid(grid.rows, grid.numbers, info.path, "", str(info.path), check_width=True)


# ----------------------------------------------------------------------------------- entry


def _open(path: Path) -> FileInfo:
    """The fingerprint of a file, its ``format`` told by its first bytes (not its name)."""
    path = Path(path)
    if not path.is_file():
        raise MaturityDataError(f"{path}: file not found")
    size = path.stat().st_size
    if size == 0:
        raise MaturityDataError(f"{path}: the file is empty")
    info = FileInfo(path, size, _DIGESTS.submit(file_digest, path))
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"PK"):
        info.format = "xlsx"
    elif magic.startswith(_OLE_MAGIC):
        if _encrypted(path):
            raise MaturityDataError(
                f"{path}: the workbook is password-protected (encrypted); open it in Excel, "
                "remove the password (文件 → 信息 → 保护工作簿 → 用密码进行加密) and save it "
                "as .xlsx"
            )
        info.format = "xls"
    elif magic.lstrip().startswith(b"<"):
        raise MaturityDataError(
            f"{path}: an HTML or XML page, not a spreadsheet; open it in Excel and save as .xlsx"
        )
    else:
        info.format = "csv"
    return info


def _encrypted(path: Path) -> bool:
    """Whether an Office (OLE) file holds an ``EncryptedPackage``: a password-protected xlsx."""
    tail = b""
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            if _ENCRYPTED in tail + chunk:
                return True
            tail = chunk[-len(_ENCRYPTED) :]
    return False


def read_grids(path: Path) -> tuple[list[Grid], FileInfo]:
    """Every sheet of a workbook (or the one table of a CSV) as raw rows, and the fingerprint.

    Nothing is dropped: title, header, blank and summary rows are all there, each with its
    Excel row (CSV: line) number. The errors are :func:`read_chunks`', one line naming the file.
    """
    info = _open(path)
    if info.format == "csv":
        enc, delim, _ = _csv_probe(info)
        return [_csv_grid(info, enc, delim)], info
    grids = _xlsx_grids(info) if info.format == "xlsx" else _xls_grids(info)
    return [Grid(name, g, list(range(1, len(g) + 1))) for name, g in grids.items()], info


def read_chunks(path: Path, chunk_rows: int | None) -> tuple[FileInfo, Iterator[Sheet]]:
    """The fingerprint of one file and its data rows as :class:`Sheet` parts: each sheet of a
    workbook whole, a CSV file ``chunk_rows`` rows at a time (``None``: at once). Iterating a
    CSV may raise :class:`InexactLines`: the parts so far are void, and :func:`csv_slow`
    reads the file instead."""
    info = _open(path)
    if info.format == "csv":
        return info, _csv_chunks(info, chunk_rows)
    grids = _xlsx_grids(info, tidy=False) if info.format == "xlsx" else _xls_grids(info)
    return info, iter(_sheets_from_grids(info, grids))

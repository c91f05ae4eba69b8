"""Workbooks for reading: Chinese headers, number and percent formats, frozen header, widths.

:func:`write_workbook` is the one writer every workbook of the project goes through; it knows
nothing about the plan. Form-specific writers (call lists, the 附件 forms) build their frames
and pass them here, with ``notes`` for lines above the table (e.g. "内部资料").
"""

from __future__ import annotations

import io
import itertools
import os
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from copy import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..files import atomic_path
from ..ingest.schema import COLUMNS_BY_NAME
from .display import column_kind, display_width, last_level

PERCENT = "0.00%"
INTEGER = "#,##0"
DECIMAL = "#,##0.00"
DATE = "yyyy-mm-dd"
TOTAL_LABEL = "合计"
#: The first line of every sheet that lists customers (action lists, daily check): internal.
INTERNAL_LISTS = "内部资料，含客户信息，不得外传"
MAX_WIDTH = 60

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_HEADER_ALIGN = Alignment(horizontal="center", vertical="center", wrap_text=True)
_HEADER_BORDER = Border(bottom=Side(style="thin"))
_BOLD = Font(bold=True)
_INVALID_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


# A workbook's times (docProps created/modified, the zip entries' dates) say nothing about its
# content; they are fixed so the same tables give the same bytes. SOURCE_DATE_EPOCH (the
# reproducible-builds convention, seconds since 1970) sets them when given.
FIXED_TIME = datetime(1980, 1, 1)
_CORE_TIME = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def workbook_time() -> datetime:
    """The time written into workbooks: ``SOURCE_DATE_EPOCH`` when set, else 1980-01-01."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.strip().isdigit():
        return max(datetime.fromtimestamp(int(epoch), UTC).replace(tzinfo=None), FIXED_TIME)
    return FIXED_TIME


def save_workbook(wb: Workbook, path: str | Path) -> Path:
    """Save ``wb`` to ``path`` with the fixed :func:`workbook_time` wherever openpyxl would
    write the current time, so the same workbook is the same bytes."""
    when = workbook_time()
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    wb.properties.created = when
    buffer = io.BytesIO()
    wb.save(buffer)  # sets docProps modified to now: replaced below
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(path, "w") as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = _CORE_TIME.sub(lambda m: m.group(1) + stamp + m.group(3), data)
            fixed = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            out.writestr(fixed, data)
    return Path(path)


_FORMATS = {"share": PERCENT, "count": INTEGER, "amount": DECIMAL, "date": DATE}
# Column widths (characters) that fit an A4 page across in portrait; wider sheets print landscape.
PORTRAIT_WIDTH = 95
PAGE_FOOTER = "第 &P 页，共 &N 页"


def as_text(cell: Any) -> Any:
    """Data is never a formula: a string openpyxl would store as one (a leading ``=``) is
    stored as text, so Excel shows it and never runs it (OWASP, formula injection)."""
    if cell.data_type == "f":
        cell.data_type = "s"
    return cell


def data_row(ws: Any, values: Sequence[Any]) -> list[WriteOnlyCell]:
    """A row of a write-only sheet, every string written as text (:func:`as_text`)."""
    return [as_text(WriteOnlyCell(ws, value=v)) for v in values]


def no_formulas(wb: Workbook) -> Workbook:
    """Every cell of an ordinary workbook as text where it would be a formula; the package
    writes no formulas of its own, so any formula there came from data."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                as_text(cell)
    return wb


def print_setup(ws: Any, title_rows: tuple[int, int], width: float, unit: str = "") -> None:
    """Set ``ws`` up to print: A4, landscape when wider than :data:`PORTRAIT_WIDTH`, fit to
    one page wide (as many pages down as needed), rows ``title_rows`` repeated on every page,
    the unit's name and the page number in the footer."""
    ws.page_setup.paperSize = Worksheet.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if width > PORTRAIT_WIDTH else "portrait"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{title_rows[0]}:{title_rows[1]}"
    ws.oddFooter.left.text = unit.replace("&", "&&")
    ws.oddFooter.right.text = PAGE_FOOTER


def _validate_names(names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if not name or len(name) > 31 or _INVALID_SHEET_CHARS.search(name):
            raise ValueError(f"sheet name {name!r}: 1-31 characters, none of []:*?/\\")
        if name.lower() in seen:
            raise ValueError(f"sheet name {name!r} is used twice")
        seen.add(name.lower())


def _rename(label: Any, headers: Mapping[str, str]) -> Any:
    if isinstance(label, tuple):
        return tuple(_rename(x, headers) for x in label)
    return headers.get(label, label) if isinstance(label, str) else label


def _renamed(frame: pd.DataFrame, headers: Mapping[str, str]) -> pd.DataFrame:
    """``frame`` with its column labels and index names translated (itself when none is)."""
    labels = list(frame.columns) + list(frame.index.names)
    if all(_rename(label, headers) == label for label in labels):
        return frame
    shown = frame.rename(columns=lambda c: _rename(c, headers))
    shown.index = shown.index.set_names([_rename(n, headers) for n in frame.index.names])
    return shown


def _cell_value(value: Any, kind: str) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, bool | np.bool_):
        return "是" if value else "否"
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if kind == "text" and not isinstance(value, str | int | float):
        return str(value)
    return value


def _shown(value: Any, fmt: str | None) -> str:
    if value is None:
        return ""
    if fmt == PERCENT:
        return f"{value:.2%}"
    if fmt == INTEGER and isinstance(value, int | float):
        return f"{value:,.0f}"
    if fmt == DECIMAL and isinstance(value, int | float):
        return f"{value:,.2f}"
    if fmt == DATE:
        return DATE
    return str(value)


def _header_rows(
    frame: pd.DataFrame, show_index: bool
) -> tuple[list[list[Any]], list[tuple[int, str]]]:
    """Header grid (one row per column level) and the merge ranges of repeated labels."""
    n_idx = frame.index.nlevels if show_index else 0
    levels = frame.columns.nlevels
    cols = [c if isinstance(c, tuple) else (c,) for c in frame.columns]
    rows: list[list[Any]] = []
    merges: list[tuple[int, str]] = []
    for lvl in range(levels):
        row: list[Any] = [None] * n_idx
        for j, col in enumerate(cols):
            same = j > 0 and cols[j - 1][: lvl + 1] == col[: lvl + 1]
            row.append(None if same and lvl < levels - 1 else col[lvl])
        rows.append(row)
        if lvl < levels - 1:
            start = 0
            for j in range(1, len(cols) + 1):
                if j == len(cols) or cols[j][: lvl + 1] != cols[start][: lvl + 1]:
                    if j - 1 > start:
                        a, b = get_column_letter(n_idx + start + 1), get_column_letter(n_idx + j)
                        merges.append((lvl, f"{a}{{r}}:{b}{{r}}"))
                    start = j
    names = [n if n is not None else "" for n in frame.index.names] if show_index else []
    for k, name in enumerate(names):
        rows[-1][k] = name
    return rows, merges


def _formats(frame: pd.DataFrame, show_index: bool, formats: Mapping[Any, str]) -> list:
    """The number format of each written column (index columns first)."""
    out: list[str | None] = []
    if show_index:
        for lvl, name in enumerate(frame.index.names):
            kind = column_kind(name, frame.index.get_level_values(lvl).dtype)
            out.append(formats.get(name) or _FORMATS.get(kind))
    for label, dtype in frame.dtypes.items():
        out.append(
            formats.get(label)
            or formats.get(last_level(label))
            or _FORMATS.get(column_kind(label, dtype))
        )
    return out


def _write_sheet(
    ws: Any,
    frame: pd.DataFrame,
    show_index: bool,
    formats: Mapping[Any, str],
    notes: Sequence[str],
    unit: str,
    styles: dict,
) -> None:
    """Write ``frame`` into ``ws`` (``styles``: the workbook's styles so far, :func:`_styled`)."""
    n_idx = frame.index.nlevels if show_index else 0
    first_header = len(notes) + (1 if notes else 0) + 1
    header, merges = _header_rows(frame, show_index)
    col_fmt = _formats(frame, show_index, formats)
    kinds = [column_kind(lbl, dt) for lbl, dt in frame.dtypes.items()]

    body = []
    index_rows = frame.index.tolist() if show_index else [()] * len(frame)
    columns = [column for _, column in frame.items()]  # what itertuples zips, without iloc
    rows = zip(*columns, strict=True) if columns else itertools.repeat((), len(frame))
    for key, values in zip(index_rows, rows, strict=True):
        keys = key if isinstance(key, tuple) else (key,)
        row = [_cell_value(k, "text") for k in keys[:n_idx]]
        row += [_cell_value(v, kind) for v, kind in zip(values, kinds, strict=True)]
        body.append((show_index and TOTAL_LABEL in keys, row))

    widths = [0] * (n_idx + frame.shape[1])
    for row in header:
        for j, value in enumerate(row):
            widths[j] = max(widths[j], display_width("" if value is None else str(value)))
    for _bold, row in body:
        for j, value in enumerate(row):
            widths[j] = max(widths[j], display_width(_shown(value, col_fmt[j])))
    widths = [min(MAX_WIDTH, max(6, w + 2)) for w in widths]
    for j, w in enumerate(widths):
        ws.column_dimensions[get_column_letter(j + 1)].width = w
    print_setup(ws, (first_header, first_header + len(header) - 1), sum(widths), unit)
    ws.freeze_panes = f"{get_column_letter(n_idx + 1)}{first_header + len(header)}"
    for lvl, ref in merges:
        ws.merged_cells.add(ref.format(r=first_header + lvl))
    if len(header) > 1:
        for j in range(n_idx):
            col = get_column_letter(j + 1)
            ws.merged_cells.add(f"{col}{first_header}:{col}{first_header + len(header) - 1}")
            header[0][j], header[-1][j] = header[-1][j], None

    for line in notes:
        ws.append(data_row(ws, [line]))
    if notes:
        ws.append([])
    for row in header:
        ws.append([_styled(as_text(WriteOnlyCell(ws, value=v)), styles, _header) for v in row])
    for bold, row in body:
        ws.append([_body_cell(ws, v, col_fmt[j], bold, styles) for j, v in enumerate(row)])


def _header(cell: Any) -> None:
    cell.font, cell.fill, cell.alignment = _HEADER_FONT, _HEADER_FILL, _HEADER_ALIGN
    cell.border = _HEADER_BORDER


def _styled(cell: Any, styles: dict, style: Callable[..., None], *key: Any) -> Any:
    """``cell`` styled by ``style(cell, *key)`` the first time for its style so far and
    ``key``; from then on the style that gave is copied (openpyxl's own idiom for copying a
    cell's style), not worked out again font by font."""
    at = (tuple(cell._style or ()), style, *key)
    if at in styles:
        cell._style = copy(styles[at])
    else:
        style(cell, *key)
        styles[at] = copy(cell._style)
    return cell


def _body_cell(ws: Any, value: Any, fmt: str | None, bold: bool, styles: dict) -> Any:
    """A body cell: the bare value where openpyxl writes it as it is (no style, not a string
    it would take for a formula), else a cell with its number format, bold and :func:`as_text`."""
    fmt = fmt if value is not None and not isinstance(value, str) else None
    if not (bold or fmt) and not (isinstance(value, str) and value.startswith("=")):
        return value
    return _styled(as_text(WriteOnlyCell(ws, value=value)), styles, _body, fmt, bold)


def _body(cell: Any, fmt: str | None, bold: bool) -> None:
    if fmt:
        cell.number_format = fmt
    if bold:
        cell.font = _BOLD


def write_workbook(
    sheets: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    headers: Mapping[str, str] | None = None,
    formats: Mapping[str, Mapping[Any, str]] | None = None,
    notes: Mapping[str, Sequence[str]] | None = None,
    index: bool | None = None,
    unit: str = "",
) -> Path:
    """Write frames as the sheets of one workbook, atomically, formatted for reading and printing.

    Parameters
    ----------
    sheets
        Sheet name (1-31 characters) → frame, in sheet order. MultiIndex columns become
        several header rows with repeated labels merged; the index is written as the first
        column(s) and rows labelled 合计 are bold.
    path
        The ``.xlsx`` file; written to a temporary file beside it and renamed, so a half
        written workbook never exists under ``path``.
    headers
        Extra header translations (label → Chinese); canonical policy column names are
        translated to the schema's Chinese headers by default.
    formats
        Per sheet, header label → Excel number format, overriding the default inferred by
        :func:`column_kind` (counts ``#,##0``, amounts ``#,##0.00``, shares ``0.00%``).
    notes
        Per sheet, lines written above the table (e.g. "内部资料，含客户联系方式").
    index
        Write the index; default: unless it is an unnamed RangeIndex.
    unit
        The unit (branch) the workbook is about, printed in every page's footer
        (:func:`print_setup`).

    Returns
    -------
    Path
        ``path``.
    """
    path = Path(path)
    _validate_names(list(sheets))
    names = {c.name: c.header for c in COLUMNS_BY_NAME.values()} | dict(headers or {})
    wb = Workbook(write_only=True)
    styles: dict = {}
    for name, frame in sheets.items():
        show = (
            index
            if index is not None
            else not (isinstance(frame.index, pd.RangeIndex) and frame.index.name is None)
        )
        shown = _renamed(frame, names)
        sheet_formats = {_rename(k, names): v for k, v in (formats or {}).get(name, {}).items()}
        _write_sheet(
            wb.create_sheet(name),
            shown,
            show,
            sheet_formats,
            (notes or {}).get(name, ()),
            unit,
            styles,
        )
    with atomic_path(path) as tmp:
        save_workbook(wb, tmp)
    return path

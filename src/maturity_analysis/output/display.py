"""How numbers read: the column kinds (share, count, amount, date), text widths, the notebook
view of a table and the reading copy of the reconciliation.

Tables and sheets format from the same rules: a float column whose header says 占比 / 比例 or
ends in 率 is a share (``0.0603`` shows as ``6.03%``), integers are counts with thousands
separators, other floats amounts with two decimals.
"""

from __future__ import annotations

import hashlib
import unicodedata
from html import escape
from pathlib import Path
from typing import Any

import numpy as np  # noqa: F401 (doctests)
import pandas as pd
from pandas.io.formats.style import Styler

from ..analysis.reconcile import HEADERS, STATUS_LABELS, summary
from ..analysis.tables import TOTAL

SHARE_WORDS = ("占比", "比例")
SHARE_SUFFIX = "率"


def last_level(label: Any) -> str:
    return str(label[-1] if isinstance(label, tuple) else label)


def column_kind(label: Any, dtype: Any) -> str:
    """How a column displays: ``"share"``, ``"count"``, ``"amount"``, ``"date"`` or ``"text"``.

    A float column whose (last-level) header contains 占比 or 比例, or ends in 率 (达成率,
    赔付率), holds fractions shown as percentages; integer columns are counts; other floats are
    amounts (比率×基数 is the unrounded product of a rate and a base, not a rate).

    >>> column_kind(("分红", "占比"), np.dtype(float)), column_kind("件数", np.dtype("int64"))
    ('share', 'count')
    >>> column_kind("达成率", np.dtype(float)), column_kind("比率×基数", np.dtype(float))
    ('share', 'amount')
    """
    if pd.api.types.is_bool_dtype(dtype):
        return "text"
    if pd.api.types.is_integer_dtype(dtype):
        return "count"
    if pd.api.types.is_float_dtype(dtype):
        last = last_level(label)
        share = any(w in last for w in SHARE_WORDS) or last.endswith(SHARE_SUFFIX)
        return "share" if share else "amount"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "date"
    return "text"


def display_width(text: str) -> int:
    """Width of ``text`` in a fixed-width font: East Asian wide characters count double.

    >>> display_width("合计"), display_width("ab")
    (4, 2)
    """
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table_uuid(frame: pd.DataFrame) -> str:
    """A Styler table id from the table's content: the same table has the same id on every
    run, and two different tables on one page do not share their cells' CSS ids.

    >>> table_uuid(pd.DataFrame({"a": [1]})) == table_uuid(pd.DataFrame({"a": [1]}))
    True
    """
    return "ma" + hashlib.sha256(frame.to_csv().encode("utf-8")).hexdigest()[:12]


def _escaped_names(names: Any) -> list[str | None]:
    return [None if n is None else escape(str(n)) for n in names]


class Table(Styler.from_custom_template(str(Path(__file__).parent / "templates"), "table.tpl")):
    """A :class:`~pandas.io.formats.style.Styler` whose HTML table is ``templates/table.tpl``
    (pandas' cells without the classes and indentation no style of the reports uses: a table
    of 300 branches in a third of the bytes) and whose plain-text form is its table's text (a
    Styler's own is ``<... at 0x…>``, a new address in every run's executed notebook)."""

    def __repr__(self) -> str:
        return self.data.to_string()


def format_table(frame: pd.DataFrame) -> Table:
    """A notebook / HTML view: shares as percentages with two decimals, counts with thousands
    separators, amounts with two decimals, the 合计 row bold.

    Every text from the table (cells, index and column labels, the axes' names) is
    HTML-escaped: a branch name ``<script>`` shows as text. The table's id is
    :func:`table_uuid`, so a rerun renders the same bytes.
    """
    uuid = table_uuid(frame)
    frame = frame.rename_axis(
        index=_escaped_names(frame.index.names), columns=_escaped_names(frame.columns.names)
    )
    formats = {}
    for label, dtype in frame.dtypes.items():
        kind = column_kind(label, dtype)
        if kind == "share":
            formats[label] = "{:.2%}"
        elif kind == "count":
            formats[label] = "{:,}"
        elif kind == "amount":
            formats[label] = "{:,.2f}"
        elif kind == "date":
            formats[label] = "{:%Y-%m-%d}"
    styler = (
        Table(frame, uuid=uuid, cell_ids=False)
        .format(formats, na_rep="—", escape="html")
        .format_index(escape="html", axis=0)
        .format_index(escape="html", axis=1)
    )
    if TOTAL in frame.index:
        styler = styler.set_properties(subset=pd.IndexSlice[[TOTAL], :], **{"font-weight": "bold"})
    return styler


def _number(value: float, unit: str) -> str:
    if pd.isna(value):
        return "—"
    if unit == "%":
        return f"{value:.2f}%"
    if unit == "件" and float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def format_reconciliation(frame: pd.DataFrame) -> pd.DataFrame:
    """A reading copy: Chinese headers and statuses, numbers as text in their unit."""
    out = pd.DataFrame(
        {
            "figure": frame["figure"],
            "source": frame["source"],
            "stated": [_number(v, u) for v, u in zip(frame["stated"], frame["unit"], strict=True)],
            "reproduced": [
                _number(v, u) for v, u in zip(frame["reproduced"], frame["unit"], strict=True)
            ],
            "unit": frame["unit"],
            "status": frame["status"].map(STATUS_LABELS),
            "explanation": frame["explanation"],
        }
    )
    return out.rename(columns=HEADERS)


def render_text(frame: pd.DataFrame) -> str:
    """The reconciliation as an aligned plain-text table (wide characters count double)."""
    shown = format_reconciliation(frame)
    right = {HEADERS["stated"], HEADERS["reproduced"]}
    cells = [list(shown.columns)] + [
        [str(v) for v in row] for row in shown.itertuples(index=False, name=None)
    ]
    widths = [max(display_width(row[j]) for row in cells) for j in range(len(shown.columns))]

    def pad(text: str, j: int) -> str:
        fill = " " * (widths[j] - display_width(text))
        return fill + text if shown.columns[j] in right else text + fill

    lines = ["  ".join(pad(v, j) for j, v in enumerate(row)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    counts = summary(frame)
    lines.append("")
    lines.append("，".join(f"{STATUS_LABELS[s]} {n}" for s, n in counts.items()))
    return "\n".join(lines)

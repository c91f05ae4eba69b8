"""League tables: every unit of a level (支局 or 网点) on every plan target, by name — its
actual, target, 达成率 and rank, with the verdict beside the value.

The figures and verdicts are the evaluation's (:func:`~maturity_analysis.analysis.evaluation.by_branch`,
:func:`~maturity_analysis.analysis.evaluation.by_sub_branch`): nothing is recomputed here but the
ranks. A unit is ranked on each target by its 达成率 (actual ÷ target, the higher the better):
equal values share a rank (1, 2, 2, 4), units without a 达成率 have none and come last, and
units of equal rank are in code order. Rows are in the order of the first target's rank.

:class:`League` shows as an HTML table whose columns sort on a click (a few lines of inline
script sent with the table; no network) and which, without script, reads in rank order.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..plan.model import Plan, load_plan
from .book import ALL, branch_label, branch_names, is_all
from .evaluation import MET, NOT_MET, PENDING, beside, shown
from .kpis import INCOMPLETE, NO_DATA

ACTUAL, TARGET, ATTAINMENT, RANK, VERDICT = "实际", "目标", "达成率", "排名", "结论"
FIELDS = (ACTUAL, TARGET, ATTAINMENT, VERDICT, RANK)  # the verdict beside the values
UNIT, MET_COUNT = "单位", "达标项数"
VERDICT_CLASSES = {MET: "met", NOT_MET: "miss", PENDING: "pending", NO_DATA: "nodata"}
VERDICT_CLASSES[INCOMPLETE] = "nodata"
_NUMBER = re.compile(r"(-?\d+(?:\.\d+)?)(%?)")  # as SORT_SCRIPT's key reads a cell's text


def ranks(values: pd.Series) -> pd.Series:
    """Competition ranks of ``values``, the highest first: equal values share the rank (1, 2,
    2, 4); a missing value has no rank (``<NA>``).

    >>> ranks(pd.Series([0.5, 0.9, 0.5, None, 0.1], index=list("abcde"))).tolist()
    [2, 1, 2, <NA>, 4]
    """
    return values.astype(float).rank(method="min", ascending=False).astype("Int64")


def league_table(
    table: pd.DataFrame, plan: Plan | None = None, names: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """One row per unit of ``table`` (a stacked summary: index (unit, key)), the units in the
    order of the first plan target's rank, then code.

    Columns: 单位 (``names[unit]``, else the unit), then for each target of the plan (its label)
    实际, 目标, 达成率, 结论, 排名 (a two-level column index), and 达标项数 (``met/judged``: 达标
    of those judged 达标, 未达标 or 待定).
    """
    plan = plan or load_plan()
    level = table.index.names[0]
    units = sorted(dict.fromkeys(table.index.get_level_values(0).astype(str)))
    flat = table.rename(index=str, level=0)
    cols: dict[tuple[str, str], pd.Series] = {
        (UNIT, ""): pd.Series([(names or {}).get(u, u) for u in units], index=units)
    }
    verdicts = []
    for key, target in plan.targets.items():
        rows = flat.xs(key, level="key").reindex(units)
        cols[(target.label, ACTUAL)] = rows["实际"]
        cols[(target.label, TARGET)] = rows["目标"]
        cols[(target.label, ATTAINMENT)] = rows["达成率"]
        cols[(target.label, VERDICT)] = rows["结论"]
        cols[(target.label, RANK)] = ranks(rows["达成率"])
        verdicts.append(rows["结论"])
    out = pd.DataFrame(cols)
    judged = sum(v.isin([MET, NOT_MET, PENDING]).astype(int) for v in verdicts)
    met = sum((v == MET).astype(int) for v in verdicts)
    out[(MET_COUNT, "")] = [f"{m}/{j}" for m, j in zip(met, judged, strict=True)]
    out.columns = pd.MultiIndex.from_tuples(out.columns)
    first = next(iter(plan.targets.values())).label
    order = np.lexsort(
        (np.array(units, dtype=object), out[(first, RANK)].astype(float).fillna(np.inf))
    )
    return out.iloc[order].rename_axis(level)


SORT_SCRIPT = """<script>
(function () {
  var t = document.currentScript.previousElementSibling;
  if (!t || !t.tHead) return;
  Array.prototype.forEach.call(t.tHead.querySelectorAll("th[data-col]"), function (th) {
    th.style.cursor = "pointer";
    th.title = "点击排序";
    th.addEventListener("click", function () {
      var c = +th.getAttribute("data-col"), up = th.getAttribute("data-dir") !== "asc";
      th.setAttribute("data-dir", up ? "asc" : "desc");
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      function key(r) {
        var d = r.cells[c];
        if (d.hasAttribute("data-v")) return d.getAttribute("data-v");
        var t = d.textContent.replace(/,/g, "").split("/")[0];
        var m = /^(-?\\d+(?:\\.\\d+)?)(%?)$/.exec(t);
        return t === "—" ? "" : m ? String(m[2] ? m[1] / 100 : +m[1]) : t;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (x === "" || y === "") return (x === "") - (y === "") || a.rowIndex - b.rowIndex;
        var d = isNaN(x) || isNaN(y) ? x.localeCompare(y, "zh") : x - y;
        return (up ? d : -d) || a.rowIndex - b.rowIndex;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
})();
</script>"""
STYLE = (
    "<style>table.league td.met{color:#1a7f37}table.league td.miss{color:#b22222}"
    "table.league td.pending{color:#9a6700}table.league td.nodata{color:#555}"
    "table.league th,table.league td{white-space:nowrap}table.league td:not([class]){text-align:right}"
    "table.league td:first-child{text-align:left}"
    "table.league caption,table.league th[colspan]{text-align:left;font-weight:bold}</style>"
)


def _number(value: object) -> float | None:
    """A figure's value as a float (None: text or missing)."""
    if isinstance(value, str) or value is None or pd.isna(value):
        return None
    return float(value)


def text_key(text: str) -> str:
    """The sort key :data:`SORT_SCRIPT` reads from a cell's ``text`` when it has no ``data-v``:
    "" for —, a number for 1,234, 50.0% (0.5) and 3/4 (3), else the text.

    >>> [text_key(t) for t in ("1,234", "50.0%", "3/4", "—", "达标")]
    ['1234.0', '0.5', '3.0', '', '达标']
    """
    t = text.replace(",", "").split("/")[0]
    if t == "—":
        return ""
    number = _NUMBER.fullmatch(t)
    if number is None:
        return t
    value = float(number[1])
    return repr(value / 100 if number[2] else value)


def _rounded(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}")


def sort_keys(values: Sequence[object], texts: Sequence[str]) -> list[str | None]:
    """A column's sort keys, per cell: None where :func:`text_key` of its text is its value,
    else its value to as few significant digits as keep the column's order (no two values
    merged, every value that is its text's as it is), or its text where it is not a number.

    >>> sort_keys([0.529411, 0.5, 0.61, 12, "达标"], ["52.9%", "50.0%", "61.0%", "12", "达标"])
    ['0.53', None, None, None, None]
    >>> sort_keys([0.529411, 0.5, 0.500012], ["52.9%", "50.0%", "50.0%"])
    ['0.52941', None, '0.50001']
    """
    numbers = [_number(v) for v in values]
    # each cell's exact key: a figure's value, a text as it is, "" where missing
    keys = [
        repr(x) if x is not None else v if isinstance(v, str) else ""
        for v, x in zip(values, numbers, strict=True)
    ]
    exact = [k == text_key(t) for k, t in zip(keys, texts, strict=True)]
    fixed = {x for x, e in zip(numbers, exact, strict=True) if e and x is not None}
    distinct = {x for x in numbers if x is not None}

    def keeps_order(digits: int) -> bool:
        merged = len({_rounded(x, digits) for x in distinct}) < len(distinct)
        return not merged and all(_rounded(x, digits) == x for x in fixed)

    digits = next(d for d in range(1, 18) if keeps_order(d))  # 17 give back every float
    return [
        None if e else (k if x is None else repr(_rounded(x, digits)))
        for k, e, x in zip(keys, exact, numbers, strict=True)
    ]


def _cell(text: str, key: str | None, cls: str = "") -> str:
    """A cell of ``text``, with its ``key`` to sort by (:func:`sort_keys`) where it has one."""
    attr = f' class="{cls}"' if cls else ""
    if key is not None:
        attr += f' data-v="{html.escape(key)}"'
    return f"<td{attr}>{html.escape(text)}</td>"


def _column(
    values: list[object], texts: list[str], classes: Mapping[str, str] | None = None
) -> list[str]:
    """A column's cells: its ``texts`` with their sort keys (:func:`sort_keys`), each with the
    class ``classes`` gives its text."""
    keys = sort_keys(values, texts)
    return [
        _cell(text, key, (classes or {}).get(text, ""))
        for text, key in zip(texts, keys, strict=True)
    ]


@dataclass(frozen=True)
class League:
    """A league table (:func:`league_table`) to show: ``units`` names the level (网点 or 支局),
    ``formats`` the unit of each target's figures by its label (件, % …)."""

    table: pd.DataFrame
    title: str
    units: str
    formats: Mapping[str, str]

    def to_html(self) -> str:
        """The table (every text escaped) and its sort script; rows in rank order."""
        t = self.table
        targets = list(dict.fromkeys(c for c, f in t.columns if f))
        head1 = f'<th rowspan="2" data-col="0">{html.escape(self.units)}</th>' + "".join(
            f'<th colspan="{len(FIELDS)}">{html.escape(label)}</th>' for label in targets
        )
        head1 += f'<th rowspan="2" data-col="{1 + len(FIELDS) * len(targets)}">{MET_COUNT}</th>'
        head2 = "".join(
            f'<th data-col="{1 + i * len(FIELDS) + j}">{f}</th>'
            for i in range(len(targets))
            for j, f in enumerate(FIELDS)
        )
        columns = [_column(t[(UNIT, "")].tolist(), [str(u) for u in t[(UNIT, "")]])]
        for label in targets:
            unit = self.formats.get(label, "件")
            verdicts, ranked = t[(label, VERDICT)].tolist(), t[(label, RANK)].tolist()
            columns += [
                *(
                    _column(t[(label, f)].tolist(), [shown(v, u) for v in t[(label, f)]])
                    for f, u in ((ACTUAL, unit), (TARGET, unit), (ATTAINMENT, "%"))
                ),
                _column(verdicts, [str(v) for v in verdicts], VERDICT_CLASSES),
                _column(ranked, ["—" if pd.isna(r) else str(int(r)) for r in ranked]),
            ]
        met = t[(MET_COUNT, "")].tolist()
        columns.append(_column([float(m.split("/")[0]) for m in met], met))
        body = ["<tr>" + "".join(cells) + "</tr>" for cells in zip(*columns, strict=True)]
        return (
            f'<table class="league"><caption>{html.escape(self.title)}</caption>'
            f"<thead><tr>{head1}</tr><tr>{head2}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>{SORT_SCRIPT}"
        )

    def _repr_html_(self) -> str:
        return STYLE + self.to_html()


def league(
    table: pd.DataFrame,
    plan: Plan | None = None,
    names: Mapping[str, str] | None = None,
    units: str = "网点",
    title: str = "",
) -> League:
    """:func:`league_table` of ``table`` as a :class:`League` to show (``units``: 网点 or 支局)."""
    plan = plan or load_plan()
    frame = league_table(table, plan, names)
    key_units = table["单位"].groupby(level="key").first()
    formats = {t.label: key_units.get(k, "件") for k, t in plan.targets.items()}
    return League(frame, title or f"各{units}目标完成情况", units, formats)


@dataclass(frozen=True)
class Leagues:
    """Several league tables shown one after the other (:func:`unit_leagues`)."""

    tables: tuple[League, ...]

    def _repr_html_(self) -> str:
        return STYLE + "".join(t.to_html() for t in self.tables)


def unit_leagues(
    branches: pd.DataFrame,
    sub_branches: pd.DataFrame,
    policies: pd.DataFrame,
    unit: str = ALL,
    plan: Plan | None = None,
) -> Leagues:
    """The league tables a unit's evaluation shows, from :func:`~.evaluation.by_branch`
    ``branches`` and :func:`~.evaluation.by_sub_branch` ``sub_branches`` of the book
    ``policies``: for ``ALL`` the 支局 and the 网点, for a 支局 its 网点, for a branch the
    网点 of its 支局 (:func:`~.evaluation.beside`)."""
    plan = plan or load_plan()
    labels = {c: branch_label(c, n) for c, n in branch_names(policies).items()}
    tables = [league(beside(branches, policies, unit), plan, labels, "网点")]
    if is_all(unit) and len(sub_branches):
        tables.insert(0, league(sub_branches, plan, units="支局"))
    return Leagues(tuple(tables))

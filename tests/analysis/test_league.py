"""League tables on the hand-built two-支局 book of test_levels (targets worked out there).

2013Q2, per target: actual / allocated target = 达成率 → rank (equal values share a rank):
  保单转换  A1 2/2 = 100%, A2 1/1 = 100%, B1 1/2 = 50%  → 1, 1, 3;   S1 3/3 = 100%, S2 1/2 = 50% → 1, 2
  存款转换  A1 0/3 = 0%,   A2 1/2 = 50%,  B1 3/3 = 100% → 3, 2, 1;   S1 1/5 = 20%,  S2 3/3 = 100% → 2, 1
  万能险保单持有率 and 投诉处理满意度: no 万能 policy, no complaint → no 达成率, no rank.
Rows in the order of the first target's (保单转换) rank, ties by code: A1, A2, B1; S1, S2.
"""

from __future__ import annotations

import json
import re
from html import unescape

import numpy as np
import pandas as pd
import pytest
from test_levels import S1, _book, _tracking

from maturity_analysis.analysis.book import ALL
from maturity_analysis.analysis.evaluation import by_branch, by_sub_branch
from maturity_analysis.analysis.league import (
    SORT_SCRIPT,
    STYLE,
    league,
    league_table,
    ranks,
    text_key,
    unit_leagues,
)
from maturity_analysis.sample.tracking import sample_tracking


@pytest.fixture(scope="module")
def tables():
    from conftest import build_policies

    book = _book(build_policies)
    tracking = _tracking(book)
    return book, by_branch(book, tracking, "2013Q2"), by_sub_branch(book, tracking, "2013Q2")


def test_ranks_share_ties_and_leave_missing_unranked():
    got = ranks(pd.Series([0.5, 1.0, 0.5, float("nan"), 0.2]))
    assert got.tolist() == [2, 1, 2, pd.NA, 4]


def test_league_table_actual_target_attainment_rank(tables):
    book, branches, _ = tables
    t = league_table(branches)
    assert list(t.index) == ["A1", "A2", "B1"]
    pc, dc = t["保单转换"], t["存款转换"]
    assert pc["实际"].tolist() == [2, 1, 1] and pc["目标"].tolist() == [2, 1, 2]
    assert pc["达成率"].tolist() == [1.0, 1.0, 0.5] and pc["排名"].tolist() == [1, 1, 3]
    assert dc["实际"].tolist() == [0, 1, 3] and dc["目标"].tolist() == [3, 2, 3]
    assert dc["达成率"].tolist() == [0.0, 0.5, 1.0] and dc["排名"].tolist() == [3, 2, 1]
    assert t[("万能险保单持有率", "排名")].isna().all()
    assert t[("投诉处理满意度", "结论")].tolist() == ["无数据"] * 3
    # the verdict is the evaluation's, beside the value
    assert pc["结论"].tolist() == [branches.loc[(c, "policy_conversion"), "结论"] for c in t.index]
    names = list(dict.fromkeys(c for c, _ in t.columns))
    assert names == [
        "单位",
        "保单转换",
        "存款转换",
        "万能险保单持有率",
        "投诉处理满意度",
        "达标项数",
    ]


def test_sub_branch_league_sums_its_branches(tables):
    _, _, subs = tables
    t = league_table(subs)
    assert list(t.index) == ["S1", "S2"]
    assert t[("保单转换", "实际")].tolist() == [3, 1] and t[("保单转换", "目标")].tolist() == [3, 2]
    assert t[("保单转换", "排名")].tolist() == [1, 2]
    assert t[("存款转换", "达成率")].tolist() == [0.2, 1.0]
    assert t[("存款转换", "排名")].tolist() == [2, 1]


def _rows(html: str) -> list[list[str]]:
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    return [re.findall(r"<td[^>]*>([^<]*)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", body)]


def test_sortable_table_reads_in_rank_order_without_script(tables):
    book, branches, subs = tables
    shown = unit_leagues(branches, subs, book, ALL)
    assert [t.units for t in shown.tables] == ["支局", "网点"]
    html = shown.tables[1].to_html()
    rows = _rows(html)
    assert [r[0] for r in rows] == ["A1网点（A1）", "A2网点（A2）", "B1网点（B1）"]
    # 保单转换: 实际, 目标, 达成率, 结论, 排名 — the verdict beside the value
    assert rows[2][1:6] == ["1", "2", "50.0%", rows[2][4], "3"] and rows[2][4] != ""
    assert html.endswith(SORT_SCRIPT) and html.count("<script>") == 1
    assert "<td>50.0%</td>" in html  # 0.5 exactly: the text is the sort key
    [only] = unit_leagues(branches, subs, book, S1).tables  # a 支局: its own branches
    assert [r[0] for r in _rows(only.to_html())] == ["A1网点（A1）", "A2网点（A2）"]
    # a branch: the branches of its 支局, ranked among them, as its 支局's report shows them
    [own] = unit_leagues(branches, subs, book, "A2").tables
    assert own.to_html() == only.to_html()


def test_league_escapes_the_units_names(tables):
    _, branches, _ = tables
    html = league(branches, names={"A1": "<b>x</b>"}).to_html()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


@pytest.fixture(scope="module")
def sample_league(sample_policies):
    """The sample's 48 branches in 2013Q2: rounded 达成率, ties and figures still 待定."""
    tracking = sample_tracking(sample_policies)
    return league(by_branch(sample_policies, tracking, "2013Q2"))


def _values(frame: pd.DataFrame) -> list[list[object]]:
    """Each row's exact values in the order of its cells (达标项数: the count met)."""
    return [
        [float(v.split("/")[0]) if c == ("达标项数", "") else v for c, v in row.items()]
        for _, row in frame.iterrows()
    ]


def _cells(html: str) -> list[list[tuple[str | None, str]]]:
    body = html[html.index("<tbody>") : html.index("</tbody>")]
    cell = r'<td(?: class="[^"]*")?( data-v="[^"]*")?>([^<]*)</td>'
    return [
        [(unescape(v[9:-1]) if v else None, unescape(t)) for v, t in re.findall(cell, r)]
        for r in re.findall(r"<tr>(.*?)</tr>", body)
    ]


def _exact(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return value if isinstance(value, str) else repr(float(value))


def _ordered(values: list[float]) -> list[int]:
    """Each value's competition rank among ``values`` (equal values share it)."""
    return pd.Series(values).rank(method="min").astype(int).tolist()


def test_a_cell_carries_a_sort_key_only_where_its_text_rounds_it(sample_league):
    """A cell's sort key is read from its text where the text is its exact value, else written
    as data-v: the value to as few digits as keep the column's order, ties exactly where the
    values tie; a name that reads as a number keeps its text."""
    rows, values = _cells(sample_league.to_html()), _values(sample_league.table)
    assert [len(r) for r in rows] == [len(v) for v in values] == [22] * 48
    written, exact_chars, key_chars = 0, 0, 0
    for j, column in enumerate(zip(*rows, strict=True)):
        numbers, keys = [], []
        for (attr, text), value in zip(column, [v[j] for v in values], strict=True):
            key = text_key(text) if attr is None else attr
            written += attr is not None
            if attr is None:
                assert text_key(text) == _exact(value), (text, value)
            else:
                assert text_key(text) != _exact(value), (attr, text, value)
            if isinstance(value, str) or pd.isna(value):
                assert key == _exact(value)
            else:
                if attr is not None:
                    assert any(float(attr) == float(f"{value:.{d}g}") for d in range(1, 18))
                    exact_chars, key_chars = exact_chars + len(_exact(value)), key_chars + len(attr)
                numbers.append(float(value))
                keys.append(float(key))
        assert _ordered(keys) == _ordered(numbers), sample_league.table.columns[j]
    assert 48 * 4 <= written < 48 * 22 / 2  # every 达成率 rounds; counts and ranks do not
    assert key_chars < exact_chars * 0.6  # the keys are short: 17 digits are seldom needed


def test_a_name_that_reads_as_a_number_sorts_by_its_text(tables):
    _, branches, _ = tables
    names = {"A1": "1,234", "A2": "50%/x", "B1": "达标"}
    rows = _cells(league(branches, names=names).to_html())
    assert [r[0] for r in rows] == [("1,234", "1,234"), ("50%/x", "50%/x"), (None, "达标")]


CLICK = """<pre id="sorted"></pre><script>
var t = document.querySelector("table.league"), body = t.tBodies[0];
var rows = Array.prototype.slice.call(body.rows), seen = {};
function order() {
  return Array.prototype.map.call(body.rows, function (r) { return r.cells[0].textContent; });
}
t.tHead.querySelectorAll("th[data-col]").forEach(function (th) {
  rows.forEach(function (r) { body.appendChild(r); });  // back to rank order
  th.click(); var up = order(); th.click();
  seen[th.getAttribute("data-col")] = [up, order()];
});
seen.align = Array.prototype.map.call(body.rows[0].cells, function (td) {
  return getComputedStyle(td).textAlign; });
seen.lines = Array.prototype.map.call(t.querySelectorAll("td"), function (td) {
  var r = document.createRange(), tops = {}; r.selectNodeContents(td);
  Array.prototype.forEach.call(r.getClientRects(), function (q) { tops[Math.round(q.top)] = 1; });
  return Object.keys(tops).length; });
document.getElementById("sorted").textContent = JSON.stringify(seen);
</script>"""


def _expected(values: list[object], names: list[str], descending: bool) -> list[str]:
    """The sort script's order: by value, missing values last, ties in the order shown."""
    missing = [v is None or pd.isna(v) for v in values]
    keys = [
        0.0 if m else float(v) * (-1 if descending else 1)
        for v, m in zip(values, missing, strict=True)
    ]
    return [names[i] for i in np.lexsort((np.arange(len(values)), keys, missing))]


def test_a_click_sorts_a_column_by_its_exact_values(sample_league, browser, tmp_path):
    """In a real browser, each figure's column (实际, 目标, 达成率, 排名, 达标项数) sorts by
    the exact values, rounded or not, up on the first click and down on the second; missing
    values stay last and ties keep the rank order. The figures align right without a class, and
    at a phone's width no cell breaks over lines."""
    page = tmp_path / "league.html"
    page.write_text(STYLE + sample_league.to_html() + CLICK, encoding="utf-8")
    from conftest import shown_in

    seen = json.loads(shown_in(browser, page, "sorted", window="390,800"))
    frame = sample_league.table
    names = frame[("单位", "")].tolist()
    values = list(zip(*_values(frame), strict=True))
    figures = [j for j, (_, field) in enumerate(frame.columns) if field not in ("", "结论")]
    figures.append(len(frame.columns) - 1)  # 达标项数
    assert set(seen.pop("lines")) == {1}  # on a phone no cell breaks, 未达标 included
    align = seen.pop("align")  # figures right, the name and the verdicts as the page has them
    assert [a for j, a in enumerate(align) if j in figures] == ["right"] * 17
    assert align[0] == "left" and "right" not in {align[j] for j in range(4, 21, 5)}
    assert len(seen) == len(frame.columns) and len(figures) == 17
    for j in figures:
        up, down = seen[str(j)]
        assert up == _expected(values[j], names, False), frame.columns[j]
        assert down == _expected(values[j], names, True), frame.columns[j]
    assert seen["3"][0] != names  # 保单转换's 达成率 up: not the rank order it starts in

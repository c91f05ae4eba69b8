"""League tables on the hand-built two-支局 book of test_levels (targets worked out there).

2013Q2, per target: actual / allocated target = 达成率 → rank (equal values share a rank):
  保单转换  A1 2/2 = 100%, A2 1/1 = 100%, B1 1/2 = 50%  → 1, 1, 3;   S1 3/3 = 100%, S2 1/2 = 50% → 1, 2
  存款转换  A1 0/3 = 0%,   A2 1/2 = 50%,  B1 3/3 = 100% → 3, 2, 1;   S1 1/5 = 20%,  S2 3/3 = 100% → 2, 1
  万能险保单持有率 and 投诉处理满意度: no 万能 policy, no complaint → no 达成率, no rank.
Rows in the order of the first target's (保单转换) rank, ties by code: A1, A2, B1; S1, S2.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from test_levels import S1, _book, _tracking

from maturity_analysis.analysis.book import ALL
from maturity_analysis.analysis.evaluation import by_branch, by_sub_branch
from maturity_analysis.analysis.league import (
    SORT_SCRIPT,
    league,
    league_table,
    ranks,
    unit_leagues,
)


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
    assert re.search(r'<td class="num" data-v="0.5">50.0%</td>', html)  # the sort key
    [only] = unit_leagues(branches, subs, book, S1).tables  # a 支局: its own branches
    assert [r[0] for r in _rows(only.to_html())] == ["A1网点（A1）", "A2网点（A2）"]
    # a branch: the branches of its 支局, ranked among them, as its 支局's report shows them
    [own] = unit_leagues(branches, subs, book, "A2").tables
    assert own.to_html() == only.to_html()


def test_league_escapes_the_units_names(tables):
    _, branches, _ = tables
    html = league(branches, names={"A1": "<b>x</b>"}).to_html()
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html

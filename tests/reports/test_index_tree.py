"""The index as a tree 全辖 → 支局 → 网点: every unit with reports has its row, in tree order,
and each row links down to the rows of the units below it (no notebook is run: the reports
are files put where the run's jobs say)."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from analysis.test_levels import _book

from maturity_analysis.analysis.book import ALL, ALL_LABEL
from maturity_analysis.reports.index import render_index
from maturity_analysis.reports.jobs import Dataset, RunResult, plan_jobs, unit_names

NOTEBOOK = {
    "cells": [{"cell_type": "markdown", "metadata": {}, "source": "# 组合结构"}],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture
def index(make_policies, tmp_path):
    book = _book(make_policies)
    nb = tmp_path / "01_portfolio.ipynb"
    nb.write_text(json.dumps(NOTEBOOK), encoding="utf-8")
    out = tmp_path / "out"
    units = {ALL: ALL_LABEL, **unit_names(book)}
    jobs = plan_jobs(Dataset("demo", tmp_path / "p.parquet"), "2013Q2", units, [nb], out)
    for job in jobs:
        job.output.parent.mkdir(parents=True, exist_ok=True)
        job.output.write_text("<p>report</p>", encoding="utf-8")
    result = RunResult(out, out / "index.html", jobs, [], list(jobs), 0.0)
    html, notes = render_index(result, book, "demo", "2013Q2")
    return html, notes


def _rows(html: str) -> list[dict]:
    table = html[html.index('<table class="units">') : html.index("</table>")]
    rows = []
    for body in re.findall(r"<tr[^>]*>(<td>.*?)</tr>", table, re.S):
        first = re.match(r'<td><span id="([^"]+)" class="depth(\d)"></span>([^<]*)</td>', body)
        down = re.findall(r'<a href="#([^"]+)">([^<]*)</a>', body)
        reports = re.findall(r'<a href="([^"#][^"]*)">', body)
        rows.append(
            {
                "id": first.group(1),
                "depth": int(first.group(2)),
                "unit": unescape(first.group(3)),
                "down": [(a, unescape(t)) for a, t in down],
                "reports": reports,
            }
        )
    return rows


def test_index_tree_lists_every_unit_and_links_down(index):
    html, notes = index
    assert notes == []
    rows = _rows(html)
    assert [(r["unit"], r["depth"]) for r in rows] == [
        (ALL, 0),
        ("S1", 1),
        ("A1", 2),
        ("A2", 2),
        ("S2", 1),
        ("B1", 2),
    ]
    ids = {r["unit"]: r["id"] for r in rows}
    down = {r["unit"]: r["down"] for r in rows}
    assert down[ALL] == [(ids["S1"], "S1"), (ids["S2"], "S2")]
    assert down["S1"] == [(ids["A1"], "A1网点"), (ids["A2"], "A2网点")]
    assert down["S2"] == [(ids["B1"], "B1网点")]
    assert down["A1"] == down["B1"] == []
    assert all(len(r["reports"]) == 2 for r in rows)  # the notebook and the workbook
    assert len(set(ids.values())) == len(ids)
    # a 支局's figures are its branches' sums: S1 has 16 policies, its 保单转换 target 3
    s1 = re.search(rf'<span id="{ids["S1"]}".*?</tr>', html, re.S).group(0)
    cells = re.findall(r'<td class="num">([^<]*)</td>', s1)
    assert cells[0] == "16" and "3" in cells

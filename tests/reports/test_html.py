"""The real report notebooks and the index on a book whose text is hostile: every value from
the data or the user shows as text, the index lists every unit on disk and marks stale
reports, and a real browser reads the pages at a phone's and a desktop's width.

One run (fixture ``hostile``) builds notebooks 01-04 for ``2013Q2`` for the whole book and
one branch, on 1,100 sample-shaped policies over two branches whose codes, names, products,
支局 and managers are hostile, from a dataset folder whose name is an HTML tag.
"""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from maturity_analysis.analysis.book import ALL
from maturity_analysis.analysis.league import SORT_SCRIPT
from maturity_analysis.config import NOTEBOOKS_DIR
from maturity_analysis.reports.executors import LocalExecutor
from maturity_analysis.reports.index import CURRENT, STALE
from maturity_analysis.reports.jobs import find_notebooks
from maturity_analysis.reports.run import run_reports
from maturity_analysis.sample.book import scaled_policies

DATASET = "<img src=x onerror=alert(1)>"
CODE = "<svg/onload=alert(1)>"  # the branch reported on
NAME = "<script>alert(1)</script>"
OTHER = "</td></tr></table><h1>x"  # the other branch, seen in the whole book's tables
OTHER_NAME = "*星*_号_ [x](javascript:alert(1))"
PRODUCT = "a | b [x](javascript:alert(1))"
PERIOD = "2013Q2"
NOTEBOOKS = find_notebooks(NOTEBOOKS_DIR)
STEMS = [p.stem for p in NOTEBOOKS]
# Where each value must show (as text): units' folders are found through the run's jobs.
SHOWN = {
    DATASET: [(u, s) for u in (ALL, CODE) for s in STEMS],
    NAME: [(CODE, s) for s in STEMS] + [(ALL, "03_targets")],
    CODE: [(CODE, s) for s in STEMS] + [(ALL, "03_targets"), (ALL, "04_quarterly_evaluation")],
    OTHER: [(ALL, "03_targets"), (ALL, "04_quarterly_evaluation")],
    OTHER_NAME: [(ALL, "03_targets")],
    PRODUCT: [(ALL, "02_segments_and_products")],
}


class Page(HTMLParser):
    """The start tags (with attributes) and the text of an HTML page."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.texts: list[str] = []
        self.ends: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        self.ends.append(tag)

    def handle_data(self, data):
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    frame = scaled_policies(1100, seed=11, branches=2)
    frame = frame.astype({c: object for c in frame.columns if frame[c].dtype == "category"})
    first = sorted(frame["网点代码"].unique())[0]
    mine = frame["网点代码"] == first
    frame["网点代码"] = frame["网点代码"].where(~mine, CODE).where(mine, OTHER)
    frame["网点名称"] = frame["网点名称"].where(~mine, NAME).where(mine, OTHER_NAME)
    frame["产品名称"] = frame["产品名称"].where(frame.index % 3 > 0, PRODUCT)
    frame["支局"] = "<b onmouseover=alert(1)>支局</b> | x"  # not shown today; must stay inert
    frame["客户经理"] = "_经理_ <iframe src=x>"
    raw = root / "raw" / DATASET
    raw.mkdir(parents=True)
    frame.to_excel(raw / "policies.xlsx", index=False)
    executor = LocalExecutor(1)
    kwargs = dict(
        raw_dir=root / "raw",
        processed_dir=root / "processed",
        executor=executor,
        progress=False,
    )
    try:
        result = run_reports(
            DATASET, PERIOD, [ALL, CODE], out_dir=root / "out", notebooks=NOTEBOOKS, **kwargs
        )
        yield {"root": root, "result": result, "frame": frame, "kwargs": kwargs}
    finally:
        executor.close()


def _report(hostile, unit: str, stem: str) -> Path:
    [job] = [j for j in hostile["result"].jobs if j.branch == unit and j.output.stem == stem]
    return job.output


def test_every_report_was_built(hostile):
    result = hostile["result"]
    assert result.ok, result.summary()
    assert {(j.branch, j.output.stem) for j in result.jobs if j.kind == "notebook"} == {
        (u, s) for u in (ALL, CODE) for s in STEMS
    }


def _pages(hostile) -> list[Path]:
    return [_report(hostile, u, s) for u in (ALL, CODE) for s in STEMS] + [hostile["result"].index]


@pytest.mark.parametrize("page", range(2 * len(STEMS) + 1))
def test_no_element_or_attribute_comes_from_data(hostile, page):
    path = _pages(hostile)[page]
    html = path.read_text(encoding="utf-8")
    parsed = Page(html)
    tags = [t for t, _ in parsed.tags]
    # the one script a page may hold is the league tables' own sort script, as sent
    scripts = re.findall(r"<script[^>]*>.*?</script>", html, re.S)
    assert scripts == [SORT_SCRIPT] * tags.count("script")
    assert "svg" not in tags and "iframe" not in tags
    events = [(t, k) for t, attrs in parsed.tags for k in attrs if k.startswith("on")]
    assert events == []
    images = [a.get("src", "") for t, a in parsed.tags if t == "img"]
    assert all(src.startswith("data:image/png;base64,") for src in images)
    links = [a.get("href", "") for t, a in parsed.tags if t == "a"]
    assert not [h for h in links if h.strip().lower().startswith(("javascript", "data"))]
    assert tags.count("h1") == 1  # the page's own title; the hostile <h1> is text
    assert tags.count("table") == parsed.ends.count("table")  # no table closed by data


@pytest.mark.parametrize("value", list(SHOWN))
def test_hostile_value_shows_as_its_text(hostile, value):
    for unit, stem in SHOWN[value]:
        text = Page(_report(hostile, unit, stem).read_text(encoding="utf-8")).text
        assert value in text, (unit, stem)


def test_index_shows_the_hostile_values_as_text(hostile):
    text = Page(hostile["result"].index.read_text(encoding="utf-8")).text
    for value in (DATASET, CODE, NAME):
        assert value in text


def test_charts_have_escaped_alt_text(hostile):
    html = _report(hostile, CODE, "01_portfolio_structure").read_text(encoding="utf-8")
    alts = [a["alt"] for t, a in Page(html).tags if t == "img"]
    assert len(alts) == 4 and all(alt.startswith("图表：") for alt in alts)
    assert "图表：年龄 × 满期本金 件数（全部险种）" in alts


# ------------------------------------------------------------------ the index remembers


def _rows(index: str) -> dict[str, dict]:
    """The index's unit rows: first cell → class, state cell, links (href → text after)."""
    rows = {}
    table = index[index.index('<table class="units">') : index.index("</table>")]
    for cls, body in re.findall(r'<tr(?: class="([^"]*)")?>(<td>.*?)</tr>', table):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", body)
        links = dict(  # the reports (not the links down the tree, in-page "#…")
            re.findall(r'<a href="([^"#][^"]*)">[^<]*</a>((?:<span[^>]*>[^<]*</span>)?)', body)
        )
        rows[Page(cells[0]).text] = {"class": cls, "state": Page(cells[-2]).text, "links": links}
    return rows


def test_narrower_run_index_lists_every_unit_on_disk_and_marks_stale(hostile, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(hostile["result"].out_dir, out)
    first = hostile["result"].jobs
    [changed] = [
        j for j in first if j.branch == CODE and j.output.stem == "02_segments_and_products"
    ]
    stamp = out / changed.stamp.relative_to(hostile["result"].out_dir)
    stamp.write_text(json.dumps({"key": "built from other inputs"}), encoding="utf-8")
    (out / "gone").mkdir()
    (out / "gone" / "01_portfolio_structure.html").write_text("<p>old</p>", encoding="utf-8")
    later = run_reports(
        DATASET,
        PERIOD,
        [OTHER],
        out_dir=out,
        notebooks=NOTEBOOKS[:1],
        **hostile["kwargs"],
    )
    assert later.ok and len(later.built) == 2  # 01 and the workbook of OTHER only
    rows = _rows(later.index.read_text(encoding="utf-8"))
    assert list(rows) == [ALL, OTHER, CODE, "gone"]
    assert rows[OTHER]["state"] == "本次新建" and rows[OTHER]["class"] == ""
    assert rows[ALL]["state"].startswith(CURRENT) and rows[ALL]["class"] == "all"
    assert len(rows[ALL]["links"]) == len(STEMS) + 1  # every report of the first run, kept
    mine = rows[CODE]
    assert mine["class"] == "stale" and STALE in mine["state"] and CURRENT in mine["state"]
    marks = {Path(h).stem: m for h, m in mine["links"].items()}
    assert "过期" in marks.pop("02_segments_and_products")
    assert set(marks) == {*STEMS, "workbook"} - {"02_segments_and_products"}
    assert not any(marks.values())
    assert rows["gone"]["class"] == "stale" and "当前数据中没有此单元" in rows["gone"]["state"]


# ------------------------------------------------------------------ in a real browser

MEASURE = """
(function () {
  var W = window.innerWidth;
  function box(el) {
    for (var p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      var o = getComputedStyle(p).overflowX;
      if (o === "auto" || o === "scroll") return p;
    }
    return null;
  }
  function lines(el) {
    var r = document.createRange(); r.selectNodeContents(el);
    var tops = {};
    Array.prototype.forEach.call(r.getClientRects(), function (q) { tops[Math.round(q.top)] = 1; });
    return Object.keys(tops).length;
  }
  var outside = [];
  document.querySelectorAll("body *").forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.width && r.right > W + 0.5 && !box(el)) outside.push(el.tagName + "." + el.className);
  });
  var tables = [];
  document.querySelectorAll("table").forEach(function (t) {
    var b = box(t);
    tables.push(b !== null && b.getBoundingClientRect().right <= W + 0.5);
  });
  var headers = [];
  document.querySelectorAll("th").forEach(function (th) {
    if (th.textContent.trim()) headers.push(lines(th));
  });
  var nums = [];
  document.querySelectorAll("td.num").forEach(function (td) {
    nums.push([td.textContent, getComputedStyle(td).textAlign]);
  });
  var images = [];
  document.querySelectorAll("img").forEach(function (im) {
    images.push(im.getBoundingClientRect().right <= W + 0.5);
  });
  var evaluations = [];
  document.querySelectorAll("table.evaluation").forEach(function (t) {
    var heads = Array.prototype.map.call(t.querySelectorAll("thead th"), function (th) {
      return th.textContent.trim(); });
    var at = heads.indexOf("结论"), cells = [], verdicts = [];
    t.querySelectorAll("tbody tr").forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (td, i) {
        cells.push(lines(td));
        if (i === at) verdicts.push(lines(td));
      });
    });
    var right = t.querySelectorAll("thead th")[at].getBoundingClientRect().right;
    var b = box(t), kpi = t.querySelector("tbody td"), before = kpi.getBoundingClientRect().left;
    var th = t.querySelectorAll("thead th")[at], edge = b.getBoundingClientRect().right;
    b.scrollLeft += th.getBoundingClientRect().right - edge;  // the verdict at the right edge
    var k = kpi.getBoundingClientRect(), v = th.getBoundingClientRect();
    var kept = Math.abs(k.left - before) < 0.5;  // the KPI stayed where it was
    var seen = v.left >= k.right - 0.5 && v.right <= edge + 0.5;  // and does not cover it
    b.scrollLeft = 0;
    evaluations.push({heads: heads, verdict_right: right, verdict_lines: verdicts,
      cell_lines: cells, kpi_kept: kept, verdict_seen_scrolled: seen});
  });
  parent.postMessage(JSON.stringify({width: W, page: document.documentElement.scrollWidth,
    outside: outside.slice(0, 10), tables: tables, headers: headers, nums: nums,
    images: images, evaluations: evaluations}), "*");
})();
"""
FRAME = """<!DOCTYPE html><html><body style="margin:0"><pre id="measured"></pre>
<iframe src="{src}" style="border:0;width:{width}px;height:900px"></iframe>
<script>addEventListener("message", function (e) {{
  document.getElementById("measured").textContent = e.data; }});</script></body></html>"""


def _measure(browser: str, page: Path, width: int, folder: Path) -> dict:
    """Load a copy of ``page`` (with the measuring script) in an iframe ``width`` px wide
    (a phone's or a desktop's viewport) and read what the script reports."""
    copy = folder / f"measured-{page.name}"
    html = page.read_text(encoding="utf-8")
    copy.write_text(html.replace("</body>", f"<script>{MEASURE}</script></body>"), "utf-8")
    frame = folder / f"frame-{width}-{page.stem}.html"
    frame.write_text(FRAME.format(src=copy.as_uri(), width=width), encoding="utf-8")
    from conftest import shown_in

    return json.loads(shown_in(browser, frame, "measured"))


@pytest.mark.parametrize("width", [390, 1280])
@pytest.mark.parametrize("which", ["index", "report"])
def test_page_reads_in_a_browser(hostile, browser, tmp_path, width, which):
    page = hostile["result"].index if which == "index" else _report(hostile, ALL, "03_targets")
    seen = _measure(browser, page, width, tmp_path)
    assert seen["width"] == width
    assert seen["page"] <= width and seen["outside"] == []  # only tables' boxes scroll
    assert seen["tables"] and all(seen["tables"])  # every table inside a box in the page
    assert seen["headers"] and max(seen["headers"]) == 1  # no header broken over lines
    assert all(seen["images"])  # charts scaled to the width
    if which == "index":
        numbers = dict(seen["nums"])
        assert numbers and set(numbers.values()) == {"right"}
        assert all(re.fullmatch(r"\d{1,3}(,\d{3})*|—", n) for n in numbers)
        assert f"{len(hostile['frame']):,}" in numbers  # ALL's policies: 1,100 (none rejected)


@pytest.mark.parametrize("width", [390, 1280])
def test_verdicts_read_on_a_phone(hostile, browser, tmp_path, width):
    """The evaluation's tables (the period's, then the year to date): on a phone the period's
    结论 is in view before the table scrolls, no verdict breaks over lines, the long 说明
    keeps a width of its own, so no row grows taller than a few lines, and scrolled sideways
    the KPI stays in view beside the verdicts."""
    seen = _measure(browser, _report(hostile, CODE, "04_quarterly_evaluation"), width, tmp_path)
    period, ytd = seen["evaluations"]
    assert "年度目标" not in period["heads"] and "年度目标" in ytd["heads"]
    assert period["verdict_right"] <= width
    for table in (period, ytd):
        assert table["verdict_lines"] and set(table["verdict_lines"]) == {1}
        assert max(table["cell_lines"]) <= 6, table["cell_lines"]
        # scrolled until 结论 is in view, the KPI stays in view beside it
        assert table["kpi_kept"] and table["verdict_seen_scrolled"]

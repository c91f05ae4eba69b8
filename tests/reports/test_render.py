"""The report page's head: the viewport tag, its own small stylesheet (only rules for what the
reports' pages contain, not JupyterLab's theme), no script and no code-highlighting CSS."""

from __future__ import annotations

import re

import nbformat
import pandas as pd

from maturity_analysis.reports.render import STYLE, ReportPage, to_html

PAGE = ReportPage("组合结构", "全部网点", "2013", "sample", "0", "branch='ALL'", "now")
# 1×1 white PNG
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="


def _notebook():
    """A report-like notebook: markdown, a table and an evaluation table (as
    ``Evaluation._repr_html_`` writes it), a chart, printed text, stderr."""
    nb = nbformat.v4.new_notebook()
    table = pd.DataFrame({"件数": [1, 2]}, index=["甲", "乙"]).to_html()
    verdicts = pd.DataFrame({"KPI": ["保单转换"], "结论": ["达标"], "说明": ["目标124件"]})
    table += verdicts.to_html(index=False, border=0, classes="evaluation")
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 标题\n\n说明 *强调*\n\n- 一\n- 二"),
        nbformat.v4.new_code_cell(
            "t",
            outputs=[
                nbformat.v4.new_output(
                    "execute_result", {"text/html": table, "text/plain": "t"}, execution_count=1
                ),
                nbformat.v4.new_output("display_data", {"image/png": PIXEL}, metadata={}),
                nbformat.v4.new_output("stream", name="stdout", text="完成\n"),
                nbformat.v4.new_output("stream", name="stderr", text="注意\n"),
            ],
        ),
    ]
    return nb


def _head(html: str) -> str:
    return html[: html.index("</head>")]


def test_the_head_keeps_the_viewport_and_has_only_the_reports_stylesheet():
    html = to_html(_notebook(), PAGE)
    head = _head(html)
    metas = [dict(re.findall(r'(\w+)="([^"]*)"', m)) for m in re.findall(r"<meta[^>]*>", head)]
    assert {"name": "viewport", "content": "width=device-width, initial-scale=1.0"} in metas
    assert "<title>组合结构 · 全部网点</title>" in head
    assert "<script" not in html
    styles = re.findall(r"<style[^>]*>(.*?)</style>", head, re.S)
    assert [s.strip() for s in styles] == [STYLE.strip()]  # one stylesheet, ours: no theme
    assert "--jp-" not in html and ".highlight" not in html


def test_every_class_the_stylesheet_names_is_on_a_report_page():
    """No rule for what a page never has (a class of its rules absent from the page)."""
    html = to_html(_notebook(), PAGE)
    body = html[html.index("<body") :]
    used = set(re.findall(r'class="([^"]*)"', body))
    used = {c for classes in used for c in classes.split()}
    selectors = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", STYLE)  # rules and attribute tests out
    named = set(re.findall(r"\.([A-Za-z][\w-]*)", selectors))
    assert named, STYLE
    assert named - used <= {"anchor-link"}, named - used  # the anchor links are turned off


def test_outputs_are_focusable_and_images_described_without_nbconverts_soup_pass():
    """The exporter skips nbconvert's BeautifulSoup pass; the template does its two jobs: each
    table, text and chart output can take the keyboard focus (a wide table scrolls with the
    arrow keys) and every image has an alt text."""
    from html.parser import HTMLParser

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags = []

        def handle_starttag(self, tag, attrs):
            self.tags.append((tag, dict(attrs)))

    nb = _notebook()
    nb.cells.insert(
        1,
        nbformat.v4.new_code_cell(
            "Markdown(x)",
            outputs=[
                nbformat.v4.new_output(
                    "execute_result", {"text/markdown": "**甲** <b>x</b>"}, execution_count=1
                )
            ],
        ),
    )
    parser = Tags()
    parser.feed(to_html(nb, PAGE))
    outputs = [
        a
        for t, a in parser.tags
        if t == "div" and "jp-OutputArea-output" in a.get("class", "").split()
    ]
    kinds = {"jp-RenderedHTML", "jp-RenderedMarkdown", "jp-RenderedImage"}
    shown = [a for a in outputs if kinds & set(a["class"].split())]
    assert len(shown) == 3 and all(a.get("tabindex") == "0" for a in shown)
    images = [a for t, a in parser.tags if t == "img"]
    assert images and all(a.get("alt") for a in images)


def test_a_line_break_inside_a_chinese_sentence_is_not_shown_as_a_space():
    """A browser shows a line break between two Chinese characters as a space: the Markdown of
    cells and of outputs is joined there; paragraphs, list items and other text keep theirs."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "目标为分配到\n本期的件数（与支局\n报告相同）。\n\n- 一\n- 二"
        ),
        nbformat.v4.new_code_cell(
            "m",
            outputs=[
                nbformat.v4.new_output(
                    "display_data", {"text/markdown": "满期去向为\n转保；\nTable\none"}
                )
            ],
        ),
    ]
    html = to_html(nb, PAGE)
    assert "<p>目标为分配到本期的件数（与支局报告相同）。</p>" in html
    assert re.search(r"<li>一</li>\s*<li>二</li>", html)
    assert "满期去向为转保；\nTable\none" in html

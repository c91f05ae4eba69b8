"""Executed notebook → self-contained HTML report: no code, a branch banner, a provenance footer.

The page has no code input and no prompts, embeds its charts (inline PNG), loads nothing from
the network (no require.js, MathJax or mermaid) and ends with a footer naming the dataset's
input files with their SHA-256, the package version, the parameters and the time it was made.
Every value in the banner, footer, title and charts' alt text is HTML-escaped. The page reads
on a phone: JupyterLab's viewport tag, each output a block of the page's width in which a wider
table scrolls, headers on one line, charts scaled to the width. Its CSS is only the rules the
reports' elements use (:data:`STYLE`), not JupyterLab's whole theme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbconvert import HTMLExporter
    from nbformat import NotebookNode

TEMPLATE_NAME = "maturity_report.html.j2"

# A line break between two Chinese characters (or Chinese punctuation) inside a paragraph:
# browsers show it as a space (CSS's rule to drop it is not implemented in Chrome), so the
# Markdown is joined there before it becomes HTML. Blank lines (paragraphs) stay.
_CJK = r"\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef\u2014\u2018-\u201d\u2026"
_CJK_BREAK = re.compile(rf"(?<=[{_CJK}])\n(?=[{_CJK}])")


def joined_lines(markdown: str) -> str:
    r"""``markdown`` without its line breaks between two Chinese characters.

    >>> joined_lines("保单转换的基数\n为满期客户。\n\n## 2 目标\nA\nB")
    '保单转换的基数为满期客户。\n\n## 2 目标\nA\nB'
    """
    return _CJK_BREAK.sub("", markdown)


# Extends JupyterLab's HTML template for its page structure (cells, outputs, markdown); the
# head is the report's own: no CDN scripts, no code-highlighting CSS, and instead of
# JupyterLab's theme (≈260 KB of CSS in every page) only the rules the reports' elements use,
# with the theme's values (light theme: fonts, sizes, colours, table stripes).
STYLE = """\
* { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { background: #fff; color: rgba(0, 0, 0, 0.87); font-size: 13px;
       font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
       "Microsoft YaHei", system-ui, sans-serif; overflow-wrap: anywhere; }
.jp-Notebook { padding: 0.5em; }
.jp-Cell { padding: 5px; }
.jp-Cell-inputWrapper, .jp-Cell-outputWrapper { display: flex; }
.jp-Collapser, a.anchor-link { display: none; }
.jp-InputArea, .jp-OutputArea, .jp-OutputArea-child { width: 100%; min-width: 0; }
/* Each output is a block of the page's width; a wider table scrolls inside it. */
.jp-OutputArea-output { display: block; max-width: 100%; overflow-x: auto; }
.jp-MarkdownOutput { padding-left: 5px; }
.jp-RenderedHTMLCommon { font-size: 14px; line-height: 1.6; padding-right: 20px; }
.jp-RenderedHTMLCommon h1, .jp-RenderedHTMLCommon h2, .jp-RenderedHTMLCommon h3,
.jp-RenderedHTMLCommon h4 { line-height: 1; font-weight: 500; margin: 1.2em 0 0.8em; }
.jp-RenderedHTMLCommon h1:first-child, .jp-RenderedHTMLCommon h2:first-child,
.jp-RenderedHTMLCommon h3:first-child, .jp-RenderedHTMLCommon h4:first-child
  { margin-top: 0.6em; }
.jp-RenderedHTMLCommon h1 { font-size: 2.0736em; }
.jp-RenderedHTMLCommon h2 { font-size: 1.728em; }
.jp-RenderedHTMLCommon h3 { font-size: 1.44em; }
.jp-RenderedHTMLCommon h4 { font-size: 1.2em; }
.jp-RenderedHTMLCommon p { margin: 0 0 0.5em; }
.jp-RenderedHTMLCommon ul, .jp-RenderedHTMLCommon ol { padding-left: 2em; margin: 0 0 1em; }
.jp-RenderedHTMLCommon li ul, .jp-RenderedHTMLCommon li ol { margin-bottom: 0; }
.jp-RenderedHTMLCommon a { color: #0d47a1; text-decoration: none; }
.jp-RenderedHTMLCommon a:hover { text-decoration: underline; }
.jp-RenderedHTMLCommon blockquote { margin: 1em 2em; padding: 0 1em;
                                    border-left: 5px solid #e0e0e0; }
.jp-RenderedHTMLCommon hr { border: 0; border-top: 1px solid #bdbdbd; margin: 1em 0; }
.jp-RenderedHTMLCommon code, pre { font-family: menlo, consolas, "DejaVu Sans Mono", monospace; }
.jp-RenderedHTMLCommon :not(pre) > code { background: #eee; padding: 1px 5px; }
.jp-RenderedText pre { font-size: 13px; line-height: 1.3077; margin: 0; padding-left: 1ch;
                       white-space: pre-wrap; }
.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"] { background: #fdd; }
.jp-RenderedHTMLCommon table { border-collapse: collapse; border-spacing: 0; border: none;
  color: rgba(0, 0, 0, 0.87); font-size: 13px; table-layout: auto; margin: 0 0 0.5em; }
.jp-RenderedHTMLCommon thead { border-bottom: 1px solid #bdbdbd; vertical-align: bottom; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon tr
  { vertical-align: middle; line-height: normal; border: none; text-align: right; }
.jp-RenderedMarkdown.jp-RenderedHTMLCommon td, .jp-RenderedMarkdown.jp-RenderedHTMLCommon th,
.jp-RenderedMarkdown.jp-RenderedHTMLCommon tr { text-align: left; }
.jp-RenderedHTMLCommon th { font-weight: bold; white-space: nowrap; }
.jp-RenderedHTMLCommon td { min-width: 5em; overflow-wrap: normal; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { padding: 0.3em 0.5em; }
.jp-RenderedHTMLCommon tbody tr:nth-child(even) { background: #f5f5f5; }
.jp-RenderedHTMLCommon tbody tr:hover { background: #e1f5fe; }
.jp-RenderedImage img, .jp-RenderedHTMLCommon img { max-width: 100%; height: auto; }
/* The evaluation: KPI and 说明 (first and last) are text; 说明 wide enough for a few lines. */
.jp-RenderedHTMLCommon table.evaluation :is(td, th):is(:first-child, :last-child)
  { text-align: left; }
.jp-RenderedHTMLCommon table.evaluation td:last-child { min-width: 16em; }
.jp-RenderedHTMLCommon table.evaluation td:not(:first-child, :last-child) { white-space: nowrap; }
.ma-banner { padding: 0.6em 1em; margin-bottom: 1em; border-bottom: 2px solid #b22222;
             font-size: 1.1em; }
.ma-banner .ma-branch { font-weight: bold; }
.ma-footer { margin-top: 2em; padding: 0.8em 1em; border-top: 1px solid #ccc;
             color: #555; font-size: 0.85em; }
.ma-footer dt { font-weight: bold; float: left; clear: left; width: 9em; }
.ma-footer dd { margin-left: 10em; font-family: monospace; word-break: break-all; }
@page { margin: 0.5in; }
@media (max-width: 600px) {
  .jp-Notebook, .jp-Cell { padding-left: 0; padding-right: 0; }
  .jp-RenderedHTMLCommon { padding-right: 0; }
  .ma-banner, .ma-footer { padding-left: 0.5em; padding-right: 0.5em; }
  .ma-footer dt { float: none; width: auto; }
  .ma-footer dd { margin-left: 0; margin-bottom: 0.4em; }
  /* on a phone the verdict (结论, the fifth column) is in view before the table scrolls */
  .jp-RenderedHTMLCommon table.evaluation td { min-width: 0; padding: 0.3em 0.3em; }
  .jp-RenderedHTMLCommon table.evaluation td:first-child { min-width: 6em; }
  .jp-RenderedHTMLCommon table.evaluation td:last-child { min-width: 14em; }
  /* scrolled sideways (the year to date's 结论 is its 7th column), the KPI stays in view */
  .jp-RenderedHTMLCommon table.evaluation :is(td, th):first-child
    { position: sticky; left: 0; background: #fff; }
  .jp-RenderedHTMLCommon table.evaluation tbody tr:nth-child(even) td:first-child
    { background: #f5f5f5; }
}
"""
TEMPLATE = (
    """\
{%- extends 'lab/index.html.j2' -%}
{%- block html_head -%}
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{{ nb.metadata.get('title', resources.metadata.name) | escape_html_keep_quotes }}</title>
<style type="text/css">
"""
    + STYLE
    + """</style>
{%- endblock html_head -%}
{%- block data_html scoped -%}
<div class="jp-RenderedHTMLCommon jp-RenderedHTML jp-OutputArea-output {{ extra_class }}" \
data-mime-type="text/html" tabindex="0">
{{ output.data['text/html'] }}
</div>
{%- endblock data_html -%}
{%- block data_markdown scoped -%}
<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-OutputArea-output {{ extra_class }}" \
data-mime-type="text/markdown" tabindex="0">
{{ output.data['text/markdown'] | markdown2html }}
</div>
{%- endblock data_markdown -%}
{%- block data_png scoped -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}" tabindex="0">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
 alt="{{ ((output | get_metadata('alt', 'image/png')) or '图表') | escape_html }}">
</div>
{%- endblock data_png -%}
{%- block body_header -%}
{{ super() }}
<header class="ma-banner"><span class="ma-title">{{ resources.report.title | e }}</span> ·
<span class="ma-branch">{{ resources.report.branch_label | e }}</span> ·
期间 {{ resources.report.period | e }}</header>
{%- endblock body_header -%}
{% block body_footer %}
<footer class="ma-footer"><dl>
<dt>数据集</dt><dd>{{ resources.report.dataset | e }}</dd>
{%- for name, sha in resources.report.inputs %}
<dt>输入 SHA-256</dt><dd>{{ name | e }}: {{ sha | e }}</dd>
{%- endfor %}
<dt>方案文件</dt><dd>{{ resources.report.plan | e }}</dd>
<dt>版本</dt><dd>maturity-analysis {{ resources.report.version | e }}</dd>
<dt>参数</dt><dd>{{ resources.report.parameters | e }}</dd>
<dt>生成时间</dt><dd>{{ resources.report.generated | e }}</dd>
</dl></footer>
{{ super() }}
{% endblock body_footer %}
"""
)


@dataclass(frozen=True)
class ReportPage:
    """What the banner and footer of one report say."""

    title: str
    branch_label: str
    period: str
    dataset: str
    version: str
    parameters: str
    generated: str
    inputs: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    plan: str = (
        ""  # the plan file in force, as :func:`~maturity_analysis.plan.model.plan_label` names it
    )


def _exporter_class() -> type:
    from jinja2 import pass_context
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class ReportExporter(HTMLExporter):
        """nbconvert's HTML exporter without its last step, a BeautifulSoup pass over the whole
        page (0.2-0.4 s a report) that gives images without one an alt text (every chart has
        its own) and output areas a tabindex (the template writes it)."""

        def from_notebook_node(self, nb, resources=None, **kw):
            resources = self._init_resources(resources)
            data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("filter_data_type", data_type)
            # the template names it (for code cells, which reports leave out)
            self.register_filter("highlight_code", Highlight2HTML(parent=self))
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

        @pass_context
        def markdown2html(self, context, source):
            """nbconvert's, on the Markdown with its lines joined between Chinese characters
            (:func:`joined_lines`): markdown cells and Markdown outputs alike."""
            return super().markdown2html(context, joined_lines(source))

    return ReportExporter


def make_exporter() -> HTMLExporter:
    """The HTML exporter for reports; build once per worker and reuse."""
    import jinja2
    from traitlets.config import Config

    return _exporter_class()(
        # the code-highlighting CSS it makes is not on the page (no code is)
        config=Config({"CSSHTMLHeaderPreprocessor": {"enabled": False}}),
        extra_loaders=[jinja2.DictLoader({TEMPLATE_NAME: TEMPLATE})],
        template_file=TEMPLATE_NAME,
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        exclude_anchor_links=True,
        optimistic_validation=True,  # check the notebook once, not after every preprocessor
        language_code="zh",
    )


def to_html(nb: NotebookNode, page: ReportPage, exporter: HTMLExporter | None = None) -> str:
    """Render the executed ``nb`` as the report page (the notebook itself is not changed)."""
    from nbformat import NotebookNode

    exporter = exporter or make_exporter()
    title = f"{page.title} · {page.branch_label}"
    titled = NotebookNode({**nb, "metadata": NotebookNode({**nb.metadata, "title": title})})
    html, _ = exporter.from_notebook_node(titled, resources={"report": page})
    return html

"""Executed notebook → self-contained HTML report: no code, a branch banner, a provenance footer.

The page has no code input and no prompts, embeds its charts (inline PNG), loads nothing from
the network (no require.js, MathJax or mermaid) and ends with a footer naming the dataset's
input files with their SHA-256, the package version, the parameters and the time it was made.
Every value in the banner, footer, title and charts' alt text is HTML-escaped. The page reads
on a phone: JupyterLab's viewport tag, each output a block of the page's width in which a wider
table scrolls, headers on one line, charts scaled to the width.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbconvert import HTMLExporter
    from nbformat import NotebookNode

TEMPLATE_NAME = "maturity_report.html.j2"

# Extends JupyterLab's HTML template: drops its CDN scripts, adds the banner and footer.
TEMPLATE = """\
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block notebook_css -%}
{{ super() }}
<style type="text/css">
/* After JupyterLab's CSS: the report's own look, and a page that reads at 390 px. */
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC",
       "Microsoft YaHei", sans-serif; overflow-wrap: anywhere; }
.jp-Notebook { padding: 0.5em; }
.ma-banner { padding: 0.6em 1em; margin-bottom: 1em; border-bottom: 2px solid #b22222;
             font-size: 1.1em; }
.ma-banner .ma-branch { font-weight: bold; }
.ma-footer { margin-top: 2em; padding: 0.8em 1em; border-top: 1px solid #ccc;
             color: #555; font-size: 0.85em; }
.ma-footer dt { font-weight: bold; float: left; clear: left; width: 9em; }
.ma-footer dd { margin-left: 10em; font-family: monospace; word-break: break-all; }
/* Each output is a block of the page's width; a wider table scrolls inside it. */
.jp-OutputArea-output { display: block; max-width: 100%; overflow-x: auto; }
.jp-RenderedHTMLCommon table { table-layout: auto; }
.jp-RenderedHTMLCommon th { white-space: nowrap; }
.jp-RenderedHTMLCommon td { min-width: 5em; overflow-wrap: normal; }
.jp-RenderedHTMLCommon td, .jp-RenderedHTMLCommon th { padding: 0.3em 0.5em; }
.jp-RenderedImage img, .jp-RenderedHTMLCommon img { max-width: 100%; height: auto; }
@media (max-width: 600px) {
  .jp-Notebook, .jp-Cell { padding-left: 0; padding-right: 0; }
  .ma-banner, .ma-footer { padding-left: 0.5em; padding-right: 0.5em; }
  .ma-footer dt { float: none; width: auto; }
  .ma-footer dd { margin-left: 0; margin-bottom: 0.4em; }
}
</style>
{%- endblock notebook_css -%}
{%- block data_png scoped -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
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


def make_exporter() -> HTMLExporter:
    """The HTML exporter for reports; build once per worker and reuse."""
    import jinja2
    from nbconvert import HTMLExporter

    return HTMLExporter(
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

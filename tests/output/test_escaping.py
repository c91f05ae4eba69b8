"""Text from the data reaches the reports' HTML as text: Markdown sentences, Styler tables and
chart alt text, rendered the way the reports render them and parsed back."""

from html.parser import HTMLParser

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from maturity_analysis.analysis.markup import md
from maturity_analysis.output import narrative, plots
from maturity_analysis.output.display import format_table, table_uuid

HOSTILE = [
    "<script>alert(1)</script>",
    "<svg/onload=alert(1)>",
    "</td></tr></table><h1>x",
    "<img src=x onerror=alert(1)>",
    "*星号* _下划线_ **粗**",
    "[x](javascript:alert(1))",
    "![i](x.png)",
    "a | b | c",
    "`code` ~~del~~ $x$",
    "&lt;b&gt; &amp;",
    "# 标题",
    "- 列表",
    "1. 编号",
    "> 引用",
    "http://evil.example/x",
    "a\\*b",
]


class Parsed(HTMLParser):
    """Every start tag with its attributes, and the text, of an HTML fragment."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.texts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("frame", ["a {} b", "- **{}**：说明", "{}", "表 | {} |\n--|--"])
def test_markdown_value_renders_as_its_text(value, frame):
    # The same elements as the sentence around a plain word: none comes from the value.
    html = markdown2html_mistune(frame.format(md(value)))
    plain = Parsed(markdown2html_mistune(frame.format("值")))
    parsed = Parsed(html)
    assert parsed.tags == plain.tags
    assert value in parsed.text


def test_markdown_value_keeps_ordinary_text_readable():
    assert md("41-50") == "41-50" and md("金账户(万能型)") == "金账户(万能型)"
    assert md("第一行\n第二行") == "第一行 第二行"


def test_scope_line_shows_a_hostile_branch_and_dataset_as_text():
    policies = pd.DataFrame({"branch_name": ["<script>alert(1)</script>"]})
    text = narrative.scope(
        policies, "<svg/onload=alert(1)>", "<img src=x onerror=alert(1)>", "2013"
    )
    parsed = Parsed(markdown2html_mistune(text))
    assert {t for t, _ in parsed.tags} == {"p", "strong"}
    for value in (
        "<script>alert(1)</script>",
        "<svg/onload=alert(1)>",
        "<img src=x onerror=alert(1)>",
    ):
        assert value in parsed.text


def _hostile_table() -> pd.DataFrame:
    index = pd.Index(HOSTILE[:4] + ["合计"], name="<b>网点</b>")
    columns = pd.Index(["<i>产品</i>", "件数", "[x](javascript:alert(1))"], name="<u>列</u>")
    values = [[v, i, HOSTILE[(i + 4) % len(HOSTILE)]] for i, v in enumerate(HOSTILE[4:9])]
    return pd.DataFrame(values, index=index, columns=columns)


def test_styled_table_escapes_cells_labels_and_axis_names():
    frame = _hostile_table()
    parsed = Parsed(format_table(frame).to_html())
    assert {t for t, _ in parsed.tags} <= {"style", "table", "thead", "tbody", "tr", "th", "td"}
    attributes = {(t, k) for t, attrs in parsed.tags for k in attrs}
    assert {k for t, k in attributes if t != "style"} <= {"id", "class"}
    for value in [*frame.index, *frame.columns, frame.index.name, frame.columns.name]:
        assert value in parsed.text
    for value in frame.to_numpy().ravel():
        assert str(value) in parsed.text


def test_styled_table_id_is_the_same_on_every_run_and_differs_between_tables():
    frame = _hostile_table()
    first, again = format_table(frame).to_html(), format_table(frame.copy()).to_html()
    assert first == again
    other = frame.assign(件数=frame["件数"] + 1)
    assert table_uuid(other) != table_uuid(frame)
    assert f'id="T_{table_uuid(frame)}"' in first


def test_chart_alt_text_is_its_titles():
    fig, (left, right) = plt.subplots(1, 2)
    left.set_title("<script>alert(1)</script>")
    right.set_title("件数")
    fig.suptitle("总览")
    try:
        assert plots.describe(fig) == "图表：总览；<script>alert(1)</script>；件数"
    finally:
        plt.close(fig)

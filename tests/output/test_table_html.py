"""The reports' tables (:func:`~maturity_analysis.output.display.format_table`) are pandas'
Styler tables written by ``output/templates/table.tpl``: the same cells, spans, styles and ids
as pandas' own template writes, without its per-cell classes and indentation."""

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from pandas.io.formats.style import Styler

from maturity_analysis.analysis.tables import TOTAL
from maturity_analysis.output.display import format_table


class Grid(HTMLParser):
    """The ``<style>`` text and, row by row, each cell's tag, id, spans and text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.style, self.rows, self.classes = "", [], set()
        self._cell = None
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.classes |= set((attrs.get("class") or "").split())
        if tag == "style":
            self._in_style = True
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("th", "td"):
            spans = (attrs.get("colspan", "1"), attrs.get("rowspan", "1"))
            self._cell = [tag, attrs.get("id"), spans, ""]
            self.rows[-1].append(self._cell)

    def handle_endtag(self, tag):
        self._in_style = self._in_style and tag != "style"
        if tag in ("th", "td"):
            self._cell = None

    def handle_data(self, data):
        if self._in_style:
            self.style += data
        elif self._cell is not None:
            self._cell[3] += data


def _pandas_html(table: Styler) -> str:
    """``table`` as pandas' own html_table.tpl writes it."""
    table.template_html_table = Styler.template_html_table
    return table.to_html()


def _frame(rows: int) -> pd.DataFrame:
    codes = [f"4201{i:02d}" for i in range(rows)] + [TOTAL]
    index = pd.MultiIndex.from_arrays(
        [codes, ["<b>网点</b>"] * rows + [""]], names=["网点代码", "网点名称"]
    )
    columns = pd.MultiIndex.from_product([["保单转换", "存款转换"], ["基数", "目标件数", "达成率"]])
    values = np.arange(len(codes) * 6, dtype=float).reshape(len(codes), 6) / 7
    frame = pd.DataFrame(values, index=index, columns=columns)
    frame[("保单转换", "基数")] = np.arange(len(codes), dtype="int64") * 1000
    frame.iloc[1, 2] = np.nan
    return frame


@pytest.mark.parametrize(
    "make",
    [
        lambda: format_table(_frame(5)),
        lambda: (
            format_table(_frame(5).reset_index())
            .hide(axis="index")
            .set_table_attributes('class="evaluation"')
        ),
        lambda: format_table(pd.DataFrame({"件数": [3, 4]}, index=pd.Index(["a", TOTAL]))),
    ],
)
def test_a_table_has_the_cells_styles_and_ids_of_pandas_template(make):
    ours, theirs = Grid(make().to_html()), Grid(_pandas_html(make()))
    assert ours.rows == theirs.rows
    assert ours.style == theirs.style
    assert ours.classes <= {"evaluation"}


def test_the_total_rows_cells_have_the_ids_its_bold_style_names():
    grid = Grid(format_table(_frame(3)).to_html())
    total = grid.rows[-1]
    assert total[0][3] == TOTAL
    ids = [c[1] for c in total if c[0] == "td"]
    assert len(ids) == 6 and all(ids)
    assert all(f"#{i}" in grid.style for i in ids)
    assert "font-weight: bold" in grid.style
    assert not any(c[1] for row in grid.rows[:-1] for c in row)


def test_a_table_of_300_branches_takes_under_half_of_pandas_bytes():
    ours, theirs = format_table(_frame(300)).to_html(), _pandas_html(format_table(_frame(300)))
    assert Grid(ours).rows == Grid(theirs).rows
    assert len(ours.encode()) < 0.5 * len(theirs.encode())

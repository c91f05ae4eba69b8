"""The leak check over every file kind, and names that are also the reports' own words."""

from __future__ import annotations

import json

import nbformat
import pandas as pd
import pytest

from maturity_analysis.output.excel import write_workbook
from maturity_analysis.output.privacy import (
    PiiIndex,
    PrivacyError,
    check_file,
    file_text,
    redact_notebook,
    report_vocabulary,
)

# 张秀英 is a customer and also the contact person written into a branch name.
PEOPLE = pd.DataFrame(
    {
        "policy_no": ["P2008000123", "P2008000456", "P2008000789", "P2008000999"],
        "holder_name": ["张秀英", "万元", "方案", "时间"],
        "holder_id": [
            "11010519491231002X",
            "421087196602188825",
            "420102197001011234",
            "420102198005055678",
        ],
        "holder_mobile": ["13812345678", "18341055508", "13907151234", "13600001111"],
    }
)
CONTACT = "城关网点（联系人：张秀英 13812345678）"


@pytest.fixture(scope="module")
def index():
    return PiiIndex(PEOPLE)


def _notebook(*texts: str) -> bytes:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(t) for t in texts]
    return nbformat.writes(nb).encode("utf-8")


def _workbook(tmp_path, cell: object) -> bytes:
    path = write_workbook(
        {"说明": pd.DataFrame({"项目": ["网点"], "内容": [cell]})}, tmp_path / "w.xlsx"
    )
    return path.read_bytes()


@pytest.mark.parametrize(
    "kind",
    ["html-text", "html-attribute", "html-entity", "notebook", "workbook", "workbook-number"],
)
def test_every_file_kind_is_checked(index, tmp_path, kind):
    name, data = {
        "html-text": ("index.html", f"<td>{CONTACT}</td>".encode()),
        "html-attribute": (
            "a.html",
            f'<img alt="{CONTACT}" src="data:image/png;base64,AA">'.encode(),
        ),
        "html-entity": ("a.html", b"<td>&#24352;&#31168;&#33521;</td>"),  # 张秀英
        "notebook": ("01.failed.ipynb", _notebook("网点", CONTACT)),
        "workbook": ("workbook.xlsx", _workbook(tmp_path, CONTACT)),
        "workbook-number": ("workbook.xlsx", _workbook(tmp_path, 13812345678)),
    }[kind]
    with pytest.raises(PrivacyError) as refused:
        check_file(tmp_path / name, index, data)
    message = str(refused.value)
    assert name in message
    assert "张秀英" not in message and "13812345678" not in message  # said masked only
    assert "张*英" in message or "138****5678" in message


def _openpyxl_workbook(tmp_path, fill) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "说明"
    wb.active["A1"] = "网点"
    fill(wb)
    wb.save(tmp_path / "w.xlsx")
    return (tmp_path / "w.xlsx").read_bytes()


def _rich(wb):
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    bold = InlineFont(b=True)
    wb.active["B2"] = CellRichText(["联系人：", TextBlock(bold, "张秀"), TextBlock(bold, "英")])


def _comment(wb):
    from openpyxl.comments import Comment

    wb.active["A1"].comment = Comment(CONTACT, "经办")


def _footer(wb):
    wb.active.oddFooter.center.text = CONTACT


def _sheet_name(wb):
    wb.create_sheet("张秀英")


def _float(wb):
    wb.active["C3"] = 13812345678.0


def _formula(wb):
    wb.active["D4"] = '=LEN("张秀英")'


def _title(wb):
    wb.properties.title = CONTACT


@pytest.mark.parametrize(
    "fill",
    [_rich, _comment, _footer, _sheet_name, _float, _formula, _title],
    ids=lambda f: f.__name__,
)
def test_a_workbook_is_read_whole(index, tmp_path, fill):
    """Every text a workbook's XML holds is checked: a name split in rich-text runs, comments,
    headers and footers, sheet names, numbers written as floats, formulas, properties."""
    with pytest.raises(PrivacyError, match="张\\*英|138\\*\\*\\*\\*5678"):
        check_file(tmp_path / "w.xlsx", index, _openpyxl_workbook(tmp_path, fill))


def test_a_workbook_reads_as_openpyxl_reads_its_cells(tmp_path):
    """The cells' text is what openpyxl reads back, numbers as a reader shows them."""
    import io

    from openpyxl import load_workbook

    frame = pd.DataFrame(
        {"网点": ["城关", "<b>&amp;", "=1+1"], "件数": [3, 12, 7], "占比": [0.1, 2 / 3, 1e-7]}
    )
    data = write_workbook({"表一": frame, "表二": frame.T}, tmp_path / "w.xlsx").read_bytes()
    text = file_text("w.xlsx", data)
    wb = load_workbook(io.BytesIO(data), read_only=True)
    for ws in wb.worksheets:
        assert ws.title in text.splitlines()
        for row in ws.iter_rows(values_only=True):
            shown = [
                str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
                for v in row
                if v is not None
            ]
            assert "\t".join(shown) in text


def test_a_file_kind_without_a_check_is_refused(index, tmp_path):
    with pytest.raises(PrivacyError, match="no PII check"):
        check_file(tmp_path / "report.docx", index, b"anything")


def test_clean_files_pass(index, tmp_path):
    masked = "城关网点（联系人：张*英 138****5678）"
    check_file(tmp_path / "a.html", index, f"<td>{masked}</td>".encode())
    check_file(tmp_path / "w.xlsx", index, _workbook(tmp_path, masked))
    check_file(tmp_path / "a.ipynb", index, _notebook(masked))


REPORT_TEXT = (
    "<h2>满期客户二次开发方案</h2><p>满期金额合计 1,234.5 万元；万能险持续率目标 90%。</p>"
    "<table><tr><th>时间</th><th>方案原文</th></tr><tr><td>2013-03</td><td>见原文</td></tr>"
    "</table><p>客户 *******0456 · 万* · 183****5508</p>"
)


def test_vocabulary_names_do_not_stop_reports(index):
    words = report_vocabulary()
    assert {"万元", "万能", "方案", "原文", "时间"} <= words
    assert "张秀英" not in words  # made-up people of the sample generator are not words
    assert index.find(REPORT_TEXT) == []


@pytest.mark.parametrize(
    "row",
    [
        "<tr><td>万元</td><td>18341055508</td></tr>",  # beside her phone
        "<tr><td>*******0456</td><td>万元</td><td>183****5508</td></tr>",  # her masked row
        "<p>证件 421087196602188825 方案</p>",
    ],
)
def test_vocabulary_name_beside_her_identifiers_is_found(index, row):
    found = index.find(REPORT_TEXT + row)
    assert [f.column for f in found if f.column == "holder_name"] == ["holder_name"]


def test_ordinary_name_is_found_anywhere(index):
    assert [f.masked for f in index.find(REPORT_TEXT + "<p>经办：张秀英</p>")] == ["张*英"]


def test_failed_notebook_is_kept_masked(index):
    nb = nbformat.reads(_notebook(CONTACT).decode(), as_version=4)
    nb.cells[0]["attachments"] = {"x.png": {"image/png": "iVBORw0KGgoAAAA"}}
    masked = redact_notebook(nb, index)
    text = json.dumps(masked, ensure_ascii=False)
    assert "张秀英" not in text and "13812345678" not in text
    assert "张*英" in text and "138****5678" in text
    assert "iVBORw0KGgo" not in text  # images cannot be checked: dropped
    assert (
        index.find(file_text("x.ipynb", nbformat.writes(nbformat.from_dict(masked)).encode())) == []
    )

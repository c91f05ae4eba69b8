"""calamine and openpyxl read the same cells: the sample's workbook and the messy ones.

xlsx files are read by calamine (fast); the columns it would read otherwise (Excel's error
values, whole numbers of 16 or more digits written out) are read again with openpyxl. Each test
builds a workbook and compares what the reader gives with what openpyxl alone reads.
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile

import openpyxl
import pytest
from test_policies import HEADERS, good, make_id, write_xlsx

from maturity_analysis.ingest import readers
from maturity_analysis.ingest.policies import load_policies
from maturity_analysis.sample.book import _write_xlsx, scaled_policies


def _trimmed(grid: list[list]) -> list[list]:
    """Rows without their trailing empty cells, and no trailing empty rows (openpyxl's rows
    end at each row's last cell, calamine's at the sheet's)."""
    rows = []
    for row in grid:
        row = list(row)
        while row and row[-1] is None:
            row.pop()
        rows.append(row)
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _same_cells(path):
    """Both engines' grids of every sheet, as values and as :func:`cell_text` reads them."""
    info = readers._open(path)
    fast = readers._xlsx_grids(info)
    raw = readers._xlsx_grids(info, tidy=False)
    slow = readers.openpyxl_grids(info)
    assert list(fast) == list(slow)
    for name in slow:
        assert _trimmed(fast[name]) == _trimmed(slow[name]), name
        text = [[readers.cell_text(v) for v in r] for r in raw[name]]
        assert _trimmed(text) == _trimmed([[readers.cell_text(v) for v in r] for r in slow[name]])
    return fast


def _patch(path, cells: dict[str, str]) -> None:
    """Rewrite cells of the first sheet as raw XML (``{"C2": '<c r="C2" ...>...</c>'}``)."""
    with zipfile.ZipFile(path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, xml in cells.items():
        sheet = re.sub(rf'<c r="{ref}"[^>]*?(?:/>|>.*?</c>)', xml, sheet)
    parts["xl/worksheets/sheet1.xml"] = sheet.encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, b in parts.items():
            z.writestr(n, b)


def test_the_samples_cells(tmp_path):
    f = tmp_path / "policies.xlsx"
    _write_xlsx(scaled_policies(120, seed=5), f)
    grid = _same_cells(f)["满期保单清单"]
    assert len(grid) == 121 and isinstance(grid[1][3], dt.datetime)


def test_messy_cells(tmp_path):
    """Title and note rows, blank and summary rows, text amounts, full-width digits, numbers as
    IDs, date cells and serial numbers, Excel's error values."""
    rows = [
        good(0, holder_id=1.10101196003051e17, premium="5,0000", payment_years=1),
        None,
        good(1, holder_mobile="#N/A", issue_date=39512, maturity_value="#DIV/0!"),
        good(2, policy_no="　P２０１３ ", term_years="5年", maturity_date="2013年3月5日"),
        good(3, premium=12.5, holder_birth_date=dt.date(1960, 3, 5), branch_code=101),
    ]
    f = write_xlsx(
        tmp_path / "policies.xlsx",
        rows,
        above=[["满期保单清单"], ["制表：", None, dt.datetime(2013, 1, 2, 9, 30)]],
        below=[["合计", None, None, 4]],
    )
    grid = _same_cells(f)["清单"]
    assert grid[5][4] == "#N/A" and grid[3][2] == 1.10101196003051e17


def test_merged_two_row_header_and_a_second_sheet(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    names = list(HEADERS.values())
    ws.append(["投保人信息" if n.startswith("投保人") else n for n in names])
    ws.append([n.removeprefix("投保人") if n.startswith("投保人") else None for n in names])
    ws.merge_cells("B1:E1")
    ws.append([good(0).get(n) for n in HEADERS])
    wb.create_sheet("汇总").append(["网点", "件数"])
    wb["汇总"].append(["城关", 1])
    wb.save(tmp_path / "policies.xlsx")
    assert set(_same_cells(tmp_path / "policies.xlsx")) == {"Sheet", "汇总"}


def test_exact_18_digit_id_stays_an_integer(tmp_path):
    """The precision case: an ID written out in full as a number cell (not by Excel, which
    keeps 15 digits) is an exact integer to openpyxl; calamine makes it a float, so that
    column is read with openpyxl and the ID is kept."""
    pid = make_id("19600305")
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0), good(1, holder_id="ID"), good(2)])
    _patch(f, {"C3": f'<c r="C3" t="n"><v>{pid}</v></c>'})
    grid = _same_cells(f)["清单"]
    assert grid[2][2] == int(pid) and type(grid[2][2]) is int
    loaded = load_policies(f)
    assert loaded.policies.loc[1, "holder_id"] == pid and loaded.rejects.empty


@pytest.mark.parametrize("error", ["#N/A", "#VALUE!"])
def test_an_error_cell_with_a_formula_is_its_error_text(tmp_path, error):
    f = write_xlsx(tmp_path / "policies.xlsx", [good(0), good(1)])
    _patch(f, {"Q3": f'<c r="Q3" s="0" t="e"><f>VLOOKUP(A3,X:Y,2,0)</f><v>{error}</v></c>'})
    grid = _same_cells(f)["清单"]
    assert grid[2][16] == error
    assert load_policies(f).policies["maturity_value"].isna().tolist() == [False, True]

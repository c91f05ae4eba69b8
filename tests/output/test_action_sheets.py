"""The branch workbook's action-list sheets: internal on every sheet, customers masked."""

from __future__ import annotations

import openpyxl

from maturity_analysis.analysis import actions
from maturity_analysis.ingest.forms import Tracking, frame
from maturity_analysis.output.excel import INTERNAL_LISTS
from maturity_analysis.output.workbook import write_tables_workbook


def test_action_sheets_are_internal_and_masked(make_policies, tmp_path):
    book = make_policies(
        [
            {"maturity_date": "2013-06-10", "holder_name": "欧阳明月"},  # June, never called
            {"maturity_date": "2013-06-11", "holder_name": "司马光明"},  # June, called
        ]
    )
    calls = frame(
        "calls",
        [{"policy_no": "P000001", "call_date": "2013-05-20", "intent": "考虑中"}],
    )
    path = write_tables_workbook(
        book, tmp_path / "w.xlsx", "B01", tracking=Tracking(calls=calls), period="2013-05"
    )
    wb = openpyxl.load_workbook(path)
    for name in actions.LISTS:
        rows = list(wb[name].iter_rows(values_only=True))
        assert rows[0][0] == INTERNAL_LISTS, name
        assert "截至2013-05-31" in rows[1][0]
    rows = [r for r in wb[actions.NOT_CALLED].iter_rows(values_only=True)]
    header = rows[3]
    listed = [dict(zip(header, r, strict=True)) for r in rows[4:]]
    assert [(r["客户姓名"], r["保单号"]) for r in listed] == [("欧阳*月", "***0000")]
    text = "".join(str(c) for ws in wb for r in ws.iter_rows(values_only=True) for c in r)
    assert "欧阳明月" not in text and "司马光明" not in text

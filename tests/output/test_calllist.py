"""Call lists: the 20-a-day cap, working days only, before maturity, risk order, the workbook."""

import dataclasses
import zipfile
from datetime import date

import pandas as pd
import pytest
from openpyxl import load_workbook

from maturity_analysis import load_plan
from maturity_analysis.exceptions import MaturityDataError
from maturity_analysis.ingest.forms import FORMS, read_tracking, settings
from maturity_analysis.ingest.schema import PERSONAL_COLUMNS
from maturity_analysis.output.calllist import (
    INTERNAL,
    STATUS_LATE,
    STATUS_ON_TIME,
    STATUS_UNSCHEDULED,
    call_days,
    calls_per_team_day,
    schedule_calls,
    teams_needed,
    write_templates,
)
from maturity_analysis.output.excel import PORTRAIT_WIDTH
from maturity_analysis.plan.workdays import is_workday, working_days

PLAN = load_plan()
CAP = PLAN.calls_per_day  # 20 (PLAN_FIGURES.md, "Operations": at least 20 calls per day)


def _customers(make_policies, n, maturity, branch="B01", rating="C", **extra):
    rows = [{"branch_code": branch, "maturity_date": maturity, **extra} for _ in range(n)]
    df = make_policies(rows)
    df["policy_no"] = [f"{branch}-{maturity}-{i:04d}" for i in range(n)]
    return df.assign(risk_rating=rating, risk_reasons="")


@pytest.fixture
def book(make_policies):
    """Two branches' February 2013 maturities, spread over the month, mixed risk."""
    parts = []
    for branch, n in (("B01", 700), ("B02", 45)):
        days = pd.date_range("2013-02-01", "2013-02-28")
        rows = [{"branch_code": branch, "maturity_date": days[i % len(days)]} for i in range(n)]
        df = make_policies(rows)
        df["policy_no"] = [f"{branch}{i:05d}" for i in range(n)]
        df["risk_rating"] = [("A", "B", "C")[i % 3] for i in range(n)]
        parts.append(df)
    # a March customer, who must not be on February's list
    parts.append(_customers(make_policies, 1, "2013-03-01", rating="A"))
    return pd.concat(parts, ignore_index=True).assign(risk_reasons="")


@pytest.fixture
def calls(book):
    return schedule_calls(book, "2013-02")


def test_every_customer_maturing_in_the_month_is_listed_once(book, calls):
    feb = book[book["maturity_date"].dt.month == 2]
    assert sorted(calls["policy_no"]) == sorted(feb["policy_no"])
    assert calls["scheduled"].all()


def test_no_team_over_the_daily_cap_on_any_day(calls):
    assert calls_per_team_day(calls).max() <= CAP


def test_calls_only_on_working_days_before_maturity(calls):
    days = calls["call_date"].dt.date
    assert days.map(is_workday).all()
    assert (calls["call_date"] < calls["maturity_date"]).all()


def test_calls_fall_in_the_month_before(calls):
    # 主动对次月的满期客户进行电话服务回访: February's customers are phoned in January.
    assert (calls["call_date"].dt.month == 1).all()
    assert set(calls["status"]) == {STATUS_ON_TIME}


def test_teams_by_the_rule_and_by_capacity():
    # Rule: one team per 300 customers a month ([tracking] policies_per_team), at least one.
    assert teams_needed(300, 20) == 1
    assert teams_needed(301, 20) == 2
    assert teams_needed(0, 20) == 1
    # Capacity: 1000 customers in 10 working days at 20 a day need ceil(1000 / 200) = 5 teams,
    # more than the rule's ceil(1000 / 300) = 4.
    assert teams_needed(1000, 10) == 5


def test_a_big_branch_gets_the_teams_it_needs(calls):
    # B01: 700 customers → ceil(700 / 300) = 3 teams; B02: 45 → 1 team.
    teams = calls.groupby("branch_code")["teams"].first().to_dict()
    assert teams == {"B01": 3, "B02": 1}
    assert set(calls.loc[calls["branch_code"] == "B01", "team"]) == {"第1组", "第2组", "第3组"}


def test_capacity_alone_adds_teams(make_policies):
    # With the rule switched off (one team per 100000 customers), 1000 customers in January
    # 2013's working days need ceil(1000 / (20 × working days)) teams and no more.
    tracking = dataclasses.replace(PLAN.tracking, policies_per_team=100000)
    plan = dataclasses.replace(PLAN, tracking=tracking, source="test")
    book = _customers(make_policies, 1000, "2013-02-20")
    calls = schedule_calls(book, "2013-02", plan=plan)
    n_days = len(working_days("2013-01-01", "2013-01-31"))
    assert calls["teams"].iloc[0] == -(-1000 // (CAP * n_days))
    assert calls_per_team_day(calls).max() <= CAP
    assert calls["scheduled"].all()


def test_a_make_up_saturday_is_a_calling_day(make_policies):
    # January 2013: 1-3 元旦 holiday, 4th a Friday, 5th a Saturday worked (调休), 6th a Sunday
    # worked, 7th Monday. One team, 45 customers: 20 on the 4th, 20 on the 5th, 5 on the 6th.
    calls = schedule_calls(_customers(make_policies, 45, "2013-02-20"), "2013-02", teams=1)
    per_day = calls.groupby(calls["call_date"].dt.date).size().to_dict()
    assert per_day == {date(2013, 1, 4): 20, date(2013, 1, 5): 20, date(2013, 1, 6): 5}


def test_januarys_customers_are_phoned_in_december():
    days = call_days(2013, 1)
    assert days[0] == date(2012, 12, 3)  # 12月1日 Saturday and 2日 Sunday are not worked
    assert days[-1] == date(2012, 12, 31)


def test_risk_first_then_maturity_date(make_policies):
    parts = [
        _customers(make_policies, 1, "2013-02-05", branch="B01", rating="C"),
        _customers(make_policies, 1, "2013-02-25", branch="B01", rating="A"),
        _customers(make_policies, 1, "2013-02-10", branch="B01", rating="B"),
        _customers(make_policies, 1, "2013-02-02", branch="B01", rating="A"),
    ]
    calls = schedule_calls(pd.concat(parts, ignore_index=True), "2013-02")
    ordered = calls.sort_values(["call_date", "seq"])
    assert list(ordered["risk_rating"]) == ["A", "A", "B", "C"]
    assert list(ordered["maturity_date"].dt.day) == [2, 25, 10, 5]
    assert list(ordered["seq"]) == [1, 2, 3, 4]


def test_fixed_teams_overflow_before_maturity_then_flag(make_policies):
    # One team, January 2013 holds 20 × n_days calls. Customers beyond that who mature on
    # 28 Feb are phoned on February working days before the 28th (当月补呼); customers beyond
    # it who mature on 1 Feb have no working day left before maturity: listed, unscheduled.
    capacity = CAP * len(call_days(2013, 2))
    late = _customers(make_policies, capacity + 5, "2013-02-28", rating="A")
    early = _customers(make_policies, 3, "2013-02-01", rating="C")
    calls = schedule_calls(pd.concat([late, early], ignore_index=True), "2013-02", teams=1)
    assert len(calls) == capacity + 8  # nobody dropped
    overflow = calls[calls["status"] == STATUS_LATE]
    assert len(overflow) == 5  # the A-rated 28 Feb customers past January's capacity
    assert (overflow["call_date"] < overflow["maturity_date"]).all()
    assert (overflow["call_date"].dt.month == 2).all()
    missing = calls[~calls["scheduled"]]
    assert list(missing["status"].unique()) == [STATUS_UNSCHEDULED]
    assert set(missing["policy_no"]) == set(early["policy_no"])
    assert missing["call_date"].isna().all() and missing["team"].isna().all()
    assert calls_per_team_day(calls).max() <= CAP


def test_templates_without_the_contact_details_say_how_to_read_them(book, tmp_path):
    with pytest.raises(MaturityDataError, match=r"holder_mobile; read the policies with .*pii="):
        write_templates(book.drop(columns="holder_mobile"), "2013-02", tmp_path / "t")
    assert not (tmp_path / "t").exists()


def test_templates_workbook(book, tmp_path):
    out = tmp_path / "t"
    paths = write_templates(book, "2013-02", out)
    assert [p.name for p in paths] == ["forms_B01_2013-02.xlsx", "forms_B02_2013-02.xlsx"]
    assert sorted(p.name for p in out.iterdir()) == [p.name for p in paths]  # no temp files left
    wb = load_workbook(paths[1])
    assert wb.sheetnames == [
        "回访名单",
        FORMS["calls"].sheet,
        FORMS["complaints"].sheet,
        FORMS["worklog"].sheet,
    ]
    for ws in wb.worksheets:
        assert ws["A1"].value == INTERNAL
    rows = list(wb["回访名单"].iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r[0] == "序号")
    assert "手机号码" in rows[head]
    assert len(rows) - head - 1 == 45  # B02's 45 customers


def test_templates_are_the_same_bytes_on_rerun(book, tmp_path, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    first = write_templates(book, "2013-02", tmp_path / "a")
    again = write_templates(book, "2013-02", tmp_path / "b")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    with zipfile.ZipFile(first[0]) as z:
        core = z.read("docProps/core.xml").decode()
        dates = {i.date_time for i in z.infolist()}
    # the fixed time, not the clock's: created and modified, and every zip entry
    assert core.count("1980-01-01T00:00:00Z") == 2 and dates == {(1980, 1, 1, 0, 0, 0)}
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1356998400")  # 2013-01-01 00:00 UTC
    with zipfile.ZipFile(write_templates(book, "2013-02", tmp_path / "c")[0]) as z:
        assert "2013-01-01T00:00:00Z" in z.read("docProps/core.xml").decode()


def _sheet_rows(ws):
    rows = list(ws.iter_rows(values_only=True))
    head = next(i for i, r in enumerate(rows) if r and r[0] in ("填写日期", "投诉日期", "日期"))
    return rows[head], rows[head + 1 :], head + 1


def _validations(ws):
    return {
        str(dv.sqref).split(":")[0].rstrip("0123456789"): dv
        for dv in ws.data_validations.dataValidation
    }


def test_form_one_is_prefilled_with_a_drop_down(book, tmp_path):
    path = write_templates(book, "2013-02", tmp_path)[1]
    ws = load_workbook(path)[FORMS["calls"].sheet]
    header, rows, _ = _sheet_rows(ws)
    assert list(header) == FORMS["calls"].headers
    listed = schedule_calls(book, "2013-02").query("branch_code == 'B02'")
    assert [r[3] for r in rows] == list(listed["policy_no"])  # 保单号, in call order
    assert [r[0].date() for r in rows] == list(listed["call_date"].dt.date)  # 填写日期
    assert all(r[5].startswith("满期日2013-02-") for r in rows)  # 满期说明
    assert all(r[6].startswith("建议") for r in rows)  # 转保说明 from the playbook
    assert all(r[7] is None for r in rows)  # 客户意向 left for the team
    intent = _validations(ws)["H"]
    assert intent.type == "list"
    assert intent.formula1 == '"' + ",".join(settings().intent_answers) + '"'


def test_forms_two_and_three_are_blank_with_drop_downs(book, tmp_path):
    wb = load_workbook(write_templates(book, "2013-02", tmp_path)[0])
    ws2, ws3 = wb[FORMS["complaints"].sheet], wb[FORMS["worklog"].sheet]
    header2, rows2, _ = _sheet_rows(ws2)
    assert list(header2) == FORMS["complaints"].headers
    assert {"投诉点", "处理意见", "是否非常规退保"} <= set(header2)  # the plan's 附件二 columns
    assert all(v is None for r in rows2 for v in r)
    col = chr(ord("A") + header2.index("是否非常规退保"))
    assert _validations(ws2)[col].formula1 == '"是,否"'
    header3, rows3, _ = _sheet_rows(ws3)
    assert list(header3) == FORMS["worklog"].headers
    assert all(v is None for r in rows3 for v in r)
    teams = _validations(ws3)[chr(ord("A") + header3.index("团队"))]
    assert teams.formula1 == '"第1组,第2组,第3组"'


def test_a_filled_workbook_reads_back(book, tmp_path):
    # The team fills 客户意向 on every row of 附件一 and returns the workbook as it is.
    path = write_templates(book, "2013-02", tmp_path / "out")[1]
    wb = load_workbook(path)
    ws = wb[FORMS["calls"].sheet]
    header, rows, first = _sheet_rows(ws)
    col = header.index("客户意向") + 1
    for i in range(len(rows)):
        ws.cell(first + 1 + i, col).value = "考虑中"
    (tmp_path / "tracking").mkdir()
    wb.save(tmp_path / "tracking" / path.name)
    read = read_tracking(tmp_path / "tracking", book)
    assert read.counts["calls"]["rows_accepted"] == 45
    assert read.counts["calls"]["rows_rejected"] == 0
    assert set(read.tracking.calls["branch_code"]) == {"B02"}


def test_a_month_without_maturities_is_an_empty_list(book):
    calls = schedule_calls(book, "2013-07")
    assert calls.empty
    assert {"call_date", "team", "teams", "scheduled", "status", "seq"} <= set(calls.columns)


def test_cli_templates(book, tmp_path, monkeypatch, capsys):
    import maturity_analysis.ingest.dataset as load
    from maturity_analysis.cli import main

    def read(name, plan=None, pii=()):  # as read_dataset: the PII only when asked for
        return book[[c for c in book.columns if c not in PERSONAL_COLUMNS or c in pii]]

    monkeypatch.setattr(load, "read_dataset", read)
    assert main(["templates", "--month", "2013-02", "--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "forms_B01_2013-02.xlsx",
        "forms_B02_2013-02.xlsx",
    ]
    assert "2 branch workbooks" in capsys.readouterr().out


def test_cli_templates_bad_month(capsys):
    from maturity_analysis.cli import main

    assert main(["templates", "--month", "Feb"]) == 2
    assert "should look like 2013-02" in capsys.readouterr().err


def test_every_sheet_of_the_branch_workbook_prints_one_page_wide(book, tmp_path):
    wb = load_workbook(write_templates(book, "2013-02", tmp_path)[1])
    firsts = {"序号", *(FORMS[k].headers[0] for k in ("calls", "complaints", "worklog"))}
    for ws in wb.worksheets:
        head = 1 + next(i for i, r in enumerate(ws.iter_rows(values_only=True)) if r[0] in firsts)
        setup = ws.page_setup
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert (setup.fitToWidth, setup.fitToHeight) == (1, 0), ws.title  # as many pages down
        assert setup.paperSize == 9  # A4 in OOXML's numbering
        assert ws.print_title_rows == f"${head}:${head}", ws.title  # the header row on every page
        assert "B02" in ws.oddFooter.left.text  # the unit
        assert "&P" in ws.oddFooter.right.text and "&N" in ws.oddFooter.right.text
    # The call list's 17 columns are wider than an A4 page across: it prints landscape.
    calls = wb["回访名单"]
    width = sum(d.width for d in calls.column_dimensions.values())
    assert width > PORTRAIT_WIDTH and calls.page_setup.orientation == "landscape"

"""Any plan year: the shifted sample (plan year 2025) through prepare, tables, templates and
reports; a plan year beyond chinesecalendar (2027) on the holiday notice of a test plan file;
maturity dates and periods outside the plan year; a dataset's own plan.toml.

Holiday dates for 2025 are the State Council's notice (国办发明电〔2024〕12号): 春节
2025-01-28..02-04 off, Sunday 01-26 and Saturday 02-08 worked (调休). The 2027 notice in
``tests/fixtures/plan_2027_notice.toml`` is TEST DATA, made up for these tests.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import replace
from datetime import date
from html import unescape
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from maturity_analysis import cli
from maturity_analysis.analysis.evaluation import team_days
from maturity_analysis.exceptions import PlanError
from maturity_analysis.ingest.dataset import prepare, read_dataset, read_dataset_tracking
from maturity_analysis.ingest.policies import load_policies
from maturity_analysis.output.calllist import call_days, schedule_calls, write_templates
from maturity_analysis.plan.model import load_plan, parse_plan, plan_file
from maturity_analysis.plan.period import report_period
from maturity_analysis.plan.programme import programme_sheets
from maturity_analysis.plan.workdays import calendar_notes, working_days
from maturity_analysis.reports.executors import LocalExecutor
from maturity_analysis.reports.run import run_reports
from maturity_analysis.sample.book import scaled_policies, shifted_plan, write_sample
from maturity_analysis.sample.tracking import write_tracking

FIXTURES = Path(__file__).parents[1] / "fixtures"
NOTEBOOKS = Path(__file__).parents[2] / "src" / "maturity_analysis" / "notebooks"
YEAR = 2025
SPRING_OFF = [date(2025, 1, 28) + pd.Timedelta(days=k) for k in range(8)]  # 01-28..02-04
SPRING_WORKED = [date(2025, 1, 26), date(2025, 2, 8)]  # Sunday, Saturday (调休)


def _dates(values) -> list[date]:
    return [pd.Timestamp(v).date() for v in values if pd.notna(v)]


def _shifted_dataset(root: Path, name: str, year: int, n: int = 160) -> Path:
    """A small sample-shaped book drawn for ``year`` with its tracking forms and the matching
    plan.toml, as ``maturity-analysis sample --year`` writes them (the full sample takes
    minutes)."""
    drawn, text = shifted_plan(year)
    raw = root / "data" / "raw" / name
    raw.mkdir(parents=True)
    frame = scaled_policies(n, seed=11, branches=2, plan=drawn)
    frame.to_excel(raw / "policies.xlsx", index=False)
    (raw / "plan.toml").write_text(text, encoding="utf-8")
    write_tracking(raw, frame, 11, drawn)
    return raw


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("planyear")
    raw = _shifted_dataset(root, "y2025", YEAR)
    return {
        "root": root,
        "raw": raw,
        "rawdir": raw.parent,
        "processed": root / "data" / "processed",
    }


@pytest.fixture(scope="module")
def env(book):
    mp = pytest.MonkeyPatch()
    mp.setenv("MATURITY_ANALYSIS_ROOT", str(book["root"]))
    yield book
    mp.undo()


# ---------------------------------------------------------------------- the shifted sample


def test_shifted_plan_moves_the_year_and_drops_2013_figures():
    drawn, text = shifted_plan(YEAR)
    own = parse_plan(tomllib.loads(text))
    assert drawn.year == own.year == YEAR
    assert own.figures == {} and drawn.figures == load_plan().figures
    assert all(t.stated_count is None for t in own.targets.values())
    # same counts: the drawn plan reproduces Table 1 of the 2013 plan
    assert drawn.figures["table1"] == load_plan().figures["table1"]


def test_prepare_uses_the_dataset_plan_and_records_it(env, capsys):
    assert cli.main(["prepare", str(env["raw"])]) == 0
    out = capsys.readouterr().out
    assert f"plan year {YEAR}" in out
    manifest = json.loads((env["processed"] / "y2025" / "manifest.json").read_text("utf-8"))
    assert manifest["plan_file"] == str((env["raw"] / "plan.toml").resolve())
    assert manifest["plan_year"] == YEAR and manifest["rows_rejected"] == 0
    policies = read_dataset("y2025")
    assert set(policies["maturity_date"].dt.year) == {YEAR}


def test_programme_is_dated_for_the_plan_year(env):
    plan = load_plan(plan_file(dataset="y2025"))
    sheets = programme_sheets(plan)
    for name in ("推动的阶段性安排", "12月份行事历"):
        days = _dates(sheets[name]["开始日期"]) + _dates(sheets[name]["结束日期"])
        assert days and all(d.year == YEAR or (d.year, d.month) == (YEAR - 1, 12) for d in days)
    december = _dates(sheets["12月份行事历"]["开始日期"])
    assert {(d.year, d.month) for d in december} == {(YEAR - 1, 12)}
    phases = sheets["推动的阶段性安排"]
    q1 = phases[phases["阶段"] == "Q1"].iloc[0]
    assert pd.Timestamp(q1["开始日期"]).date() == date(YEAR, 1, 1)
    assert pd.Timestamp(q1["首个工作日"]).date() == date(YEAR, 1, 2)  # 元旦 01-01 off


def test_tables_say_the_plan_year(env, tmp_path):
    out = tmp_path / "t.xlsx"
    assert cli.main(["tables", "--dataset", "y2025", "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out, read_only=True)
    text = " ".join(
        str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v
    )
    assert f"{YEAR}" in text
    assert not re.search(r"2013[-年/]\d|2012-12", text)


def test_no_reconciliation_without_the_plan_figures(env, capsys):
    assert cli.main(["reconcile", "--dataset", "y2025"]) == 0
    assert "states no figures" in capsys.readouterr().out


def test_spring_festival_gets_no_call_and_its_tiaoxiu_saturday_can(env):
    plan = load_plan(plan_file(dataset="y2025"))
    days = set(call_days(YEAR, 3, plan))  # March maturities are phoned in February
    assert date(2025, 2, 8) in days
    assert not days & set(SPRING_OFF)
    assert set(working_days("2025-01-25", "2025-02-09")) >= set(SPRING_WORKED)
    calls = schedule_calls(read_dataset("y2025"), (YEAR, 3), plan=plan)
    called = set(_dates(calls["call_date"]))
    assert called and called <= days


def test_templates_follow_the_plan_year(env, tmp_path):
    assert (
        cli.main(
            ["templates", "--dataset", "y2025", "--month", f"{YEAR}-03", "--out", str(tmp_path)]
        )
        == 0
    )
    books = sorted(tmp_path.glob("forms_*.xlsx"))
    assert books and all(f"{YEAR}-03" in p.name for p in books)
    wb = openpyxl.load_workbook(books[0])
    window = load_plan(plan_file(dataset="y2025")).tracking.window(YEAR)
    assert window == (date(YEAR - 1, 12, 1), date(YEAR + 1, 1, 31))
    dv = [d for ws in wb.worksheets for d in ws.data_validations.dataValidation if d.type == "date"]
    assert dv, "the date columns carry a date drop-down"
    serial = lambda d: (pd.Timestamp(d) - pd.Timestamp("1899-12-30")).days  # noqa: E731
    allowed = {str(serial(window[0])), str(serial(window[1]))}
    for d in dv:
        shown = {re.sub(r"\D", "", str(d.formula1 or "")), re.sub(r"\D", "", str(d.formula2 or ""))}
        assert shown & allowed or any(
            str(window[0].year) in str(f) for f in (d.formula1, d.formula2)
        )


def test_read_back_window_follows_the_plan_year(env):
    tracking = read_dataset_tracking("y2025")
    for frame, col in ((tracking.calls, "call_date"), (tracking.worklog, "work_date")):
        seen = _dates(frame[col])
        assert seen and all(date(YEAR - 1, 12, 1) <= d <= date(YEAR + 1, 1, 31) for d in seen)
    worked = set(_dates(tracking.worklog["work_date"]))
    assert not worked & set(SPRING_OFF)


@pytest.fixture(scope="module")
def reports(env):
    """The real notebooks for one branch: the year, a phase and a month of 2025."""
    branch = sorted(read_dataset("y2025")["branch_code"].astype(str).unique())[0]
    executor = LocalExecutor(1)
    try:
        runs = {
            period: run_reports(
                "y2025",
                period,
                [branch],
                out_dir=env["root"] / "reports" / (period or "default"),
                executor=executor,
                progress=False,
            )
            for period in (None, f"{YEAR}Q1", f"{YEAR}-02")
        }
    finally:
        executor.close()
    return branch, runs


def test_reports_for_the_year_a_phase_and_a_month(reports):
    branch, runs = reports
    assert runs[None].jobs[0].parameters["period"] == str(YEAR)  # default: the plan year
    for period, result in runs.items():
        assert result.ok, result.summary()
        pages = sorted((result.out_dir / branch).glob("*.html"))
        assert pages
        for page in pages:
            html = unescape(page.read_text("utf-8"))
            footer = html[html.index("ma-footer") :]
            assert "方案文件" in footer and "y2025/plan.toml" in footer
            assert f"期间 {period or YEAR}" in html
            assert not re.search(r"2013[-年/]\d", html), page.name
    assert any(p.name.startswith("04") for p in (runs[f"{YEAR}Q1"].out_dir / branch).glob("*.html"))


# ------------------------------------------------------------ beyond chinesecalendar's data


def _plan_2027(tmp_path: Path, with_notice: bool) -> Path:
    """A 2027 plan: the shifted shipped plan plus, when asked, the TEST-DATA notices of
    tests/fixtures/plan_2027_notice.toml."""
    _, text = shifted_plan(2027)
    if with_notice:
        text += "\n" + (FIXTURES / "plan_2027_notice.toml").read_text("utf-8")
    path = tmp_path / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_beyond_the_calendar_the_plan_notice_is_used(tmp_path):
    plan = load_plan(_plan_2027(tmp_path, with_notice=True))
    notice = {n.year: n for n in plan.holiday_notices}
    n27 = notice[2027]
    days = set(working_days("2027-01-01", "2027-12-31", plan.holiday_notices))
    assert not days & n27.holidays
    assert n27.workdays <= days  # 调休 weekend days are worked
    weekdays = {d for d in (date(2027, 1, 1) + pd.Timedelta(days=k) for k in range(365))}
    expected = {d for d in weekdays if d.weekday() < 5 and d not in n27.holidays} | n27.workdays
    assert days == expected
    notes = calendar_notes(plan.holiday_notices)
    assert any("2027" in n and "无该年数据" in n for n in notes)


def test_beyond_the_calendar_templates_and_evaluation(tmp_path):
    raw = tmp_path / "data" / "raw" / "y2027"
    raw.mkdir(parents=True)
    path = _plan_2027(raw, with_notice=True)
    plan = load_plan(path)
    drawn = replace(shifted_plan(2027)[0], holiday_notices=plan.holiday_notices)
    frame = scaled_policies(80, seed=3, branches=1, plan=drawn)
    frame.to_excel(raw / "policies.xlsx", index=False)
    write_tracking(raw, frame, 3, drawn)
    prepared = prepare(raw, tmp_path / "out")
    assert prepared.manifest["plan_year"] == 2027
    n27 = {n.year: n for n in plan.holiday_notices}[2027]
    written = write_templates(prepared.policies, (2027, 3), tmp_path / "t", plan=plan)
    assert written
    calls = schedule_calls(prepared.policies, (2027, 3), plan=plan)
    assert not set(_dates(calls["call_date"])) & n27.holidays
    tracking = read_dataset_tracking("y2027", raw.parent, tmp_path / "processed")
    log = team_days(tracking, "2027Q1", plan=plan)
    worked = set(_dates(log["work_date"]))
    assert worked and not worked & n27.holidays
    assert worked <= set(working_days("2027-01-01", "2027-03-31", plan.holiday_notices))


def test_beyond_the_calendar_without_a_notice_is_one_line(tmp_path, capsys):
    plan = load_plan(_plan_2027(tmp_path, with_notice=False))
    with pytest.raises(PlanError, match="2027") as err:
        call_days(2027, 3, plan)
    message = str(err.value)
    assert "\n" not in message
    assert "pip install -U chinesecalendar" in message and "holiday_notice" in message


# --------------------------------------------------------------- outside the plan year


def test_maturity_outside_the_plan_year_is_rejected(tmp_path):
    frame = scaled_policies(12, seed=5, branches=1)
    frame.loc[0, "保险止期"] = pd.Timestamp("2015-06-30")
    frame.loc[1, "保险止期"] = pd.Timestamp("2011-03-01")
    path = tmp_path / "policies.xlsx"
    frame.to_excel(path, index=False)
    loaded = load_policies(path)
    assert len(loaded.policies) == 10
    rej = loaded.rejects
    assert list(rej["column"]) == ["maturity_date", "maturity_date"]
    assert rej["reason"].str.startswith("满期日不在方案年度(2013)").all()
    assert {"2015-06-30", "2011-03-01"} <= {v[:10] for v in rej["value"]}


@pytest.mark.parametrize("period", ["2014", "2014Q2", "2012-12"])
def test_period_outside_the_plan_year_is_an_error(period, capsys):
    with pytest.raises(PlanError, match="outside the plan year 2013"):
        report_period(period)
    assert cli.main(["reports", "--period", period]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "outside the plan year 2013" in err


# ------------------------------------------------------------ a dataset's own plan.toml


def test_dataset_plan_is_used_and_a_change_rebuilds(tmp_path):
    raw = _shifted_dataset(tmp_path, "own", 2024, n=40)
    args = dict(
        raw_dir=tmp_path / "data" / "raw",
        processed_dir=tmp_path / "data" / "processed",
        notebooks=[FIXTURES / "02_probe.ipynb"],
        progress=False,
    )
    executor = LocalExecutor(1)
    try:
        first = run_reports("own", None, ["ALL"], out_dir=tmp_path / "r", executor=executor, **args)
        again = run_reports("own", None, ["ALL"], out_dir=tmp_path / "r", executor=executor, **args)
        plan = raw / "plan.toml"
        plan.write_text(plan.read_text("utf-8") + "# edited\n", "utf-8")
        edited = run_reports(
            "own", None, ["ALL"], out_dir=tmp_path / "r", executor=executor, **args
        )
    finally:
        executor.close()
    assert first.ok and len(first.results) == len(first.jobs) == 2
    assert first.jobs[0].parameters["period"] == "2024"  # the dataset plan's year
    assert not again.results and len(again.up_to_date) == 2
    assert len(edited.results) == 2 and edited.ok
    page = (tmp_path / "r" / "ALL" / "02_probe.html").read_text("utf-8")
    assert "own/plan.toml" in page
    manifest = json.loads((tmp_path / "data" / "processed" / "own" / "manifest.json").read_text())
    assert manifest["plan_file"] == str(plan.resolve()) and manifest["plan_year"] == 2024


def test_sample_for_a_year_without_a_calendar_stops_before_writing(tmp_path):
    with pytest.raises(PlanError, match="no holiday calendar for 2027"):
        write_sample(tmp_path / "s", year=2027)
    assert not (tmp_path / "s").exists()


def test_a_notice_overriding_the_package_says_so(tmp_path):
    _, text = shifted_plan(YEAR)
    notice = (
        '\n[[holiday_notice]]\nyear = 2025\ntitle = "测试数据（虚构）"\n'
        "holidays = [2025-03-03]\nworkdays = []\n"
    )
    path = tmp_path / "plan.toml"
    path.write_text(text + notice, encoding="utf-8")
    plan = load_plan(path)
    assert date(2025, 3, 3) not in working_days("2025-03-01", "2025-03-07", plan.holiday_notices)
    assert date(2025, 3, 3) in working_days("2025-03-01", "2025-03-07")  # the package's own
    assert any("覆盖" in n for n in calendar_notes(plan.holiday_notices))


def test_a_notice_date_of_another_year_is_a_plan_error(tmp_path):
    _, text = shifted_plan(YEAR)
    bad = '\n[[holiday_notice]]\nyear = 2025\ntitle = "x"\nholidays = [2024-10-01]\nworkdays = []\n'
    path = tmp_path / "plan.toml"
    path.write_text(text + bad, encoding="utf-8")
    with pytest.raises(PlanError, match=r"holiday_notice\[0\]\.holidays.*2025"):
        load_plan(path)

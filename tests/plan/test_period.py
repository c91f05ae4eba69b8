"""THE period: one parser for every command, on the plan's own phases."""

from datetime import date

import pandas as pd
import pytest

from maturity_analysis.config import PLAN_FILE
from maturity_analysis.exceptions import PlanError
from maturity_analysis.plan import programme
from maturity_analysis.plan.model import load_plan
from maturity_analysis.plan.period import parse_month, parse_period, report_period


@pytest.fixture(scope="module")
def uneven(tmp_path_factory):
    """The shipped plan with phases that are not calendar quarters: 1-4, 5-6, 7-9, 10-12."""
    text = PLAN_FILE.read_text(encoding="utf-8")
    for old, new in [
        ("months = [1, 3]", "months = [1, 4]"),
        ("months = [4, 6]", "months = [5, 6]"),
        ('time = "1-3月"', 'time = "1-4月"'),
        ('time = "4-6月"', 'time = "5-6月"'),
    ]:
        assert old in text
        text = text.replace(old, new)
    path = tmp_path_factory.mktemp("plan") / "plan.toml"
    path.write_text(text, encoding="utf-8")
    return load_plan(path)


@pytest.mark.parametrize(
    ("text", "label", "kind", "start", "end", "name"),
    [
        ("2013", "2013", "year", date(2013, 1, 1), date(2013, 12, 31), "全年"),
        ("2013Q2", "2013Q2", "quarter", date(2013, 4, 1), date(2013, 6, 30), "促进期"),
        ("2013-q4", "2013Q4", "quarter", date(2013, 10, 1), date(2013, 12, 31), "平稳期"),
        ("2013-5", "2013-05", "month", date(2013, 5, 1), date(2013, 5, 31), "促进期"),
        ("2013年2月", "2013-02", "month", date(2013, 2, 1), date(2013, 2, 28), "尝试期"),
        ("2012-12", "2012-12", "month", date(2012, 12, 1), date(2012, 12, 31), ""),
        ("2013-05-14", "2013-05-14", "day", date(2013, 5, 14), date(2013, 5, 14), "促进期"),
        (pd.Period("2013Q3"), "2013Q3", "quarter", date(2013, 7, 1), date(2013, 9, 30), "提升期"),
        (date(2013, 7, 1), "2013-07-01", "day", date(2013, 7, 1), date(2013, 7, 1), "提升期"),
    ],
)
def test_parse_period(text, label, kind, start, end, name):
    p = parse_period(text)
    assert (p.label, p.kind, p.start, p.end, p.name) == (label, kind, start, end, name)


@pytest.mark.parametrize("text", ["2013Q5", "2013-13", "2013-02-30", "Q2", "next quarter"])
def test_a_bad_period_names_itself(text):
    with pytest.raises(PlanError, match=f"period '{text}'"):
        parse_period(text)


def test_a_quarter_is_the_plans_phase(uneven):
    q2 = parse_period("2013Q2", uneven)
    assert (q2.start, q2.end, q2.name) == (date(2013, 5, 1), date(2013, 6, 30), "促进期")
    assert parse_period("2013-04", uneven).name == "尝试期"


def test_the_programme_follows_the_plans_phases(uneven):
    # April is in 尝试期 in this plan; a calendar quarter would have given 尝试期 and 促进期.
    assert programme.phase_plan("2013Q2", uneven)["项目"].tolist() == ["促进期"]
    assert programme.phase_plan("2013-04", uneven)["项目"].tolist() == ["尝试期"]
    assert programme.period_span("2013Q1", uneven) == (
        pd.Timestamp("2013-01-01"),
        pd.Timestamp("2013-04-30"),
    )


def test_reports_take_a_year_a_phase_or_a_month():
    assert report_period("2013q2").label == "2013Q2"
    with pytest.raises(PlanError, match="reports are made for"):
        report_period("2013-05-14")


@pytest.mark.parametrize(("text", "month"), [("2013-02", (2013, 2)), ((2013, 12), (2013, 12))])
def test_parse_month(text, month):
    assert parse_month(text) == month


def test_parse_month_refuses_a_year():
    with pytest.raises(PlanError, match="should look like 2013-02"):
        parse_month("2013")

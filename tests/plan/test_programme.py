"""The programme's own tables: the plan's rows, rendered with the plan year's real dates.

Rows cite the plan text (/work/shared/plan/000_*.txt, 推动的阶段性安排, 培训内容, 12月份行事历,
附件一..五) and PLAN_FIGURES.md ("Operations the plan sets"). Working days are hand-counted from
the State Council holiday notices for 2012-2013 (元旦 2013-01-01..03, 清明 2013-04-04..06 with
Sunday 2013-04-07 worked, 劳动节 2013-04-29..05-01 with 04-27/28 worked, 端午 2013-06-10..12 with
06-08/09 worked, 国庆 2013-10-01..07 with 09-29 and 10-12 worked).
"""

import copy
import tomllib
from datetime import date

import pandas as pd
import pytest

from maturity_analysis import programme
from maturity_analysis.config import PLAN_FILE
from maturity_analysis.exceptions import PlanError
from maturity_analysis.plan.model import load_plan, parse_plan, time_span

ts = pd.Timestamp


@pytest.fixture(scope="module")
def push():
    return programme.push_table()


@pytest.fixture
def raw():
    return tomllib.loads(PLAN_FILE.read_text(encoding="utf-8"))


def test_push_table_has_the_plans_rows_in_order(push):
    # 推动的阶段性安排: 12月中旬 启动会, 12月下旬 轮训, then the four phases (四个阶段).
    assert push["时间"].tolist() == ["12月中旬", "12月下旬", "1-3月", "4-6月", "7-9月", "10-12月"]
    assert push["项目"].tolist() == ["启动会", "轮训", "尝试期", "促进期", "提升期", "平稳期"]
    assert push["阶段"].tolist() == ["", "", "Q1", "Q2", "Q3", "Q4"]
    assert list(push.columns[:5]) == ["时间", "项目", "内容", "参与人员", "工具"]


@pytest.mark.parametrize(
    ("item", "start", "end", "first_workday", "last_workday", "workdays"),
    [
        # kick-off and training fall in the December before the plan year (2012).
        ("启动会", "2012-12-11", "2012-12-20", "2012-12-11", "2012-12-20", 8),
        # 12-21 Fri, 12-24..28, 12-31 Mon (12-29/30 weekend, not 调休 days).
        ("轮训", "2012-12-21", "2012-12-31", "2012-12-21", "2012-12-31", 7),
        # Q1 ends 2013-03-31 (a Sunday): last working day Friday 03-29; 元旦 off until 01-03.
        ("尝试期", "2013-01-01", "2013-03-31", "2013-01-04", "2013-03-29", 60),
        # 促进期 starts Monday 2013-04-01; April 21 + May 22 + June 19 working days.
        ("促进期", "2013-04-01", "2013-06-30", "2013-04-01", "2013-06-28", 62),
        ("提升期", "2013-07-01", "2013-09-30", "2013-07-01", "2013-09-30", 66),
        # 国庆 2013-10-01..07: first working day Tuesday 10-08.
        ("平稳期", "2013-10-01", "2013-12-31", "2013-10-08", "2013-12-31", 62),
    ],
)
def test_push_rows_get_the_plan_years_dates(
    push, item, start, end, first_workday, last_workday, workdays
):
    row = push.set_index("项目").loc[item]
    assert (row["开始日期"], row["结束日期"]) == (ts(start), ts(end))
    assert (row["首个工作日"], row["最后工作日"]) == (ts(first_workday), ts(last_workday))
    assert row["工作日数"] == workdays


def test_phase_boundaries_are_the_plans_phases(push):
    plan = load_plan()
    phases = push[push["阶段"] != ""]
    assert [d.date() for d in phases["开始日期"]] == [p.start(plan.year) for p in plan.phases]
    assert [d.date() for d in phases["结束日期"]] == [p.end(plan.year) for p in plan.phases]
    # consecutive: each phase starts the day after the previous one ends
    assert (
        phases["开始日期"].iloc[1:].to_numpy()
        == (phases["结束日期"].iloc[:-1] + pd.Timedelta(days=1)).to_numpy()
    ).all()


@pytest.mark.parametrize(
    ("period", "items"),
    [
        ("2013Q1", ["尝试期"]),
        ("2013-03", ["尝试期"]),
        ("2013-04", ["促进期"]),
        ("2013-04-07", ["促进期"]),
        (pd.Period("2013Q3"), ["提升期"]),
        ("2013Q4", ["平稳期"]),
        ("2012-12", ["启动会", "轮训"]),
        ("2012-12-15", ["启动会"]),
        ("2013", ["尝试期", "促进期", "提升期", "平稳期"]),
    ],
)
def test_phase_plan_gives_the_work_planned_for_the_period(period, items):
    assert programme.phase_plan(period)["项目"].tolist() == items


def test_phase_plan_takes_the_evaluations_period():
    from maturity_analysis.analysis.evaluation import parse_period

    assert programme.phase_plan(parse_period("2013Q3"))["项目"].tolist() == ["提升期"]


@pytest.mark.parametrize("period", ["2014", "2012-11", "not a period"])
def test_phase_plan_outside_the_programme_is_an_error(period):
    with pytest.raises(PlanError, match="period"):
        programme.phase_plan(period)


def test_december_calendar_is_dated_in_the_december_before_the_plan_year():
    cal = programme.december_calendar()
    # 12月份行事历: 上旬 rows first, 全员轮训 (XX督训 with 市保险理财局，银保培训部) last.
    assert cal["时间"].tolist() == ["12月上旬", "12月上旬", "12月中旬", "12月下旬", "12月下旬"]
    last = cal.iloc[-1]
    assert (last["项目"], last["执行人"], last["对象"]) == (
        "全员轮训",
        "XX督训",
        "销售人员、理财经理",
    )
    first = cal.iloc[0]
    # 2012-12-01/02 are a weekend: 上旬 has 6 working days from Monday 12-03.
    assert (first["开始日期"], first["结束日期"]) == (ts("2012-12-01"), ts("2012-12-10"))
    assert (first["首个工作日"], first["工作日数"]) == (ts("2012-12-03"), 6)
    assert list(cal.columns[:6]) == ["时间", "项目", "内容", "执行人", "协助人", "对象"]


def test_training_table_is_the_plans_curriculum():
    t = programme.training_table()
    assert t["培训项目"].tolist() == [
        "客户服务及回访要点",
        "如何处理投诉",
        "万能险再认识",
        "分红产品再学习",
        "满期客户的需求分析",
        "保单转换的销售技巧",
    ]
    assert t.loc[0, "受训对象"] == "理财经理、客户经理、柜员"
    # restored cells say so
    assert (t["备注"].iloc[1:] != "").all()


def test_forms_table_lists_the_five_attachments():
    f = programme.forms_table()
    assert f["附件"].tolist() == ["附件一", "附件二", "附件三", "附件四", "附件五"]
    assert f["名称"].tolist() == [
        "有效回访统计表",
        "客户投诉情况统计表",
        "工作日志",
        "培训课件",
        "辅助销售工具",
    ]
    # 附件一's columns, as PLAN_FIGURES.md "Operations the plan sets" lists them
    assert (
        f.loc[0, "栏目"]
        == "填写日期、客户姓名、保单号、所持险种、满期说明、转保说明、客户意向、备注"
    )
    assert f.loc[1, "跟踪数据"] == "complaints"


@pytest.mark.parametrize(
    ("text", "year", "span"),
    [
        ("12月上旬", 2012, (date(2012, 12, 1), date(2012, 12, 10))),
        ("2月下旬", 2013, (date(2013, 2, 21), date(2013, 2, 28))),
        ("2月下旬", 2012, (date(2012, 2, 21), date(2012, 2, 29))),
        ("10-12月", 2013, (date(2013, 10, 1), date(2013, 12, 31))),
        ("5月", 2013, (date(2013, 5, 1), date(2013, 5, 31))),
    ],
)
def test_time_span_reads_the_plans_wording(text, year, span):
    assert time_span(text, year) == span


@pytest.mark.parametrize("text", ["13月", "3-1月", "1-3月中旬", "年底", ""])
def test_time_span_rejects_other_wording(text):
    with pytest.raises(PlanError, match="plan time"):
        time_span(text, 2013)


def test_a_phase_row_that_disagrees_with_the_phases_is_an_error(raw):
    bad = copy.deepcopy(raw)
    bad["programme"]["push"][3]["time"] = "4-7月"
    with pytest.raises(PlanError, match=r"programme\.push\[3\]\.time.*Q2"):
        programme.push_table(parse_plan(bad))


def test_an_unreadable_time_names_the_key(raw):
    bad = copy.deepcopy(raw)
    bad["programme"]["december"][0]["time"] = "月初"
    with pytest.raises(PlanError, match=r"programme\.december\[0\]\.time"):
        programme.december_calendar(parse_plan(bad))


def test_next_years_plan_moves_the_dates(raw):
    nxt = copy.deepcopy(raw)
    nxt["plan"]["year"] = 2014
    push = programme.push_table(parse_plan(nxt))
    # 2014: the kick-off moves to 2013-12; 促进期 starts Tuesday 2014-04-01 (清明 is 04-05..07).
    assert push.loc[0, "开始日期"] == ts("2013-12-11")
    assert push.set_index("阶段").loc["Q2", "首个工作日"] == ts("2014-04-01")

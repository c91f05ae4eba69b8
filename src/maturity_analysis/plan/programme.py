"""The programme's own tables, from the plan file, with real dates for the plan year.

The plan lays out its work in tables: the phased push (推动的阶段性安排), the training
curriculum (培训内容), the December calendar (12月份行事历) and the tracking forms (附件一..五).
They live in the plan file as ``[[programme.*]]`` rows, typed and checked at load
(``plan.programme``); this module renders them as frames with Chinese headers. A row's 时间 is
the plan's own wording ("12月中旬", "1-3月", read by :func:`~maturity_analysis.plan.model.time_span`); the dated tables
add the calendar span it covers in the plan year (``year_offset = -1``: the December before),
its first and last working days and the number of working days (Chinese calendar, 调休 included,
see :mod:`maturity_analysis.plan.workdays`).

>>> push_table().loc[0, ["时间", "项目", "开始日期", "首个工作日"]].tolist()
['12月中旬', '启动会', Timestamp('2012-12-11 00:00:00'), Timestamp('2012-12-11 00:00:00')]
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..exceptions import PlanError
from .model import Plan, load_plan
from .period import parse_period
from .workdays import working_days

PUSH_HEADERS = {
    "time": "时间",
    "item": "项目",
    "content": "内容",
    "participants": "参与人员",
    "tools": "工具",
}
TRAINING_HEADERS = {"item": "培训项目", "content": "培训内容", "trainees": "受训对象"}
DECEMBER_HEADERS = {
    "time": "时间",
    "item": "项目",
    "content": "内容",
    "executor": "执行人",
    "assistant": "协助人",
    "audience": "对象",
}
FORM_HEADERS = {
    "key": "附件",
    "name": "名称",
    "purpose": "用途",
    "fields": "栏目",
    "dataset": "跟踪数据",
}
DATE_HEADERS = ("开始日期", "结束日期", "首个工作日", "最后工作日", "工作日数")
NOTE_HEADER = "备注"
PHASE_HEADER = "阶段"


def _rows(plan: Plan, key: str) -> tuple[Any, ...]:
    return getattr(plan.programme, key)


def _table(plan: Plan, key: str, headers: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        [{h: getattr(row, k) for k, h in headers.items()} for row in _rows(plan, key)]
    )


def _dates(plan: Plan, key: str) -> pd.DataFrame:
    out = []
    for row in _rows(plan, key):
        start, end = row.start, row.end  # read from 时间 once, at load_plan
        days = working_days(start, end, plan.holiday_notices)
        out.append(
            {
                "开始日期": start,
                "结束日期": end,
                "首个工作日": days[0] if days else None,
                "最后工作日": days[-1] if days else None,
                "工作日数": len(days),
            }
        )
    frame = pd.DataFrame(out, columns=list(DATE_HEADERS))
    for col in DATE_HEADERS[:4]:
        frame[col] = pd.to_datetime(frame[col])
    frame["工作日数"] = frame["工作日数"].astype("int64")
    return frame


def _notes(plan: Plan, key: str) -> pd.Series:
    return pd.Series([row.note for row in _rows(plan, key)], name=NOTE_HEADER)


def push_table(plan: Plan | None = None) -> pd.DataFrame:
    """推动的阶段性安排 with dates: kick-off and training in the December before, the four phases.

    Columns: 时间, 项目, 内容, 参与人员, 工具, 阶段 (the phase key, "" for the December rows),
    开始日期, 结束日期, 首个工作日, 最后工作日, 工作日数, 备注 (cells restored from the text).
    A phase row whose 时间 disagrees with the plan's ``[[phases]]`` months is a
    :class:`~maturity_analysis.exceptions.PlanError` at :func:`~maturity_analysis.plan.model.load_plan`.
    """
    plan = plan or load_plan()
    table = _table(plan, "push", PUSH_HEADERS)
    dates = _dates(plan, "push")
    keys = [row.phase for row in plan.programme.push]  # checked against [[phases]] at load
    table.insert(len(PUSH_HEADERS), PHASE_HEADER, keys)
    return pd.concat([table, dates, _notes(plan, "push")], axis=1)


def training_table(plan: Plan | None = None) -> pd.DataFrame:
    """培训内容: 培训项目, 培训内容, 受训对象, 备注."""
    plan = plan or load_plan()
    return pd.concat([_table(plan, "training", TRAINING_HEADERS), _notes(plan, "training")], axis=1)


def december_calendar(plan: Plan | None = None) -> pd.DataFrame:
    """12月份行事历 with real dates (the December before the plan year).

    Columns: 时间, 项目, 内容, 执行人, 协助人, 对象, 开始日期, 结束日期, 首个工作日,
    最后工作日, 工作日数, 备注.
    """
    plan = plan or load_plan()
    return pd.concat(
        [
            _table(plan, "december", DECEMBER_HEADERS),
            _dates(plan, "december"),
            _notes(plan, "december"),
        ],
        axis=1,
    )


def forms_table(plan: Plan | None = None) -> pd.DataFrame:
    """附件一..五: 附件, 名称, 用途, 栏目 (the form's columns, "、"-joined), 跟踪数据."""
    plan = plan or load_plan()
    table = _table(plan, "forms", FORM_HEADERS)
    table["栏目"] = table["栏目"].map("、".join)
    return table


def period_span(period: Any, plan: Plan | None = None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of a period, read by :func:`~maturity_analysis.plan.period.parse_period`
    on the plan's phases ("2013", "2013Q2", "2013-05", "2013-05-17", a :class:`pandas.Period`
    or a :class:`~maturity_analysis.plan.period.Period`).

    >>> period_span("2013Q2")
    (Timestamp('2013-04-01 00:00:00'), Timestamp('2013-06-30 00:00:00'))
    """
    return parse_period(period, plan).span


def phase_plan(period: Any, plan: Plan | None = None) -> pd.DataFrame:
    """The planned work (rows of :func:`push_table`) that falls in ``period``.

    ``period`` is anything :func:`period_span` reads (a string, a :class:`pandas.Period` or the
    evaluation's ``Period``): "2013Q2" or "2013-05" gives the one phase it lies in, "2013" all
    four, "2012-12" the kick-off and the training. A period with no planned work is a
    :class:`~maturity_analysis.exceptions.PlanError`.

    >>> phase_plan("2013-05")[["项目", "首个工作日"]].to_dict("records")
    [{'项目': '促进期', '首个工作日': Timestamp('2013-04-01 00:00:00')}]
    """
    table = push_table(plan)
    start, end = period_span(period, plan)
    hit = table[(table["开始日期"] <= end) & (table["结束日期"] >= start)]
    if hit.empty:
        first, last = table["开始日期"].min().date(), table["结束日期"].max().date()
        raise PlanError(
            f"period '{period}' has no planned work; the programme runs {first}..{last}"
        )
    return hit.reset_index(drop=True)


PROGRAMME_NOTES = {
    "推动的阶段性安排": [
        "时间换算为方案年度的实际日期(启动会、轮训在方案年度前一年12月)；工作日按国务院"
        "节假日安排(含调休)；备注列说明原文提取中略去而补全的单元格。"
    ],
    "12月份行事历": ["方案年度前一年12月；上旬1-10日，中旬11-20日，下旬21日至月底。"],
}


def programme_sheets(plan: Plan | None = None) -> dict[str, pd.DataFrame]:
    """The programme's tables as workbook sheets (notes for them: :data:`PROGRAMME_NOTES`)."""
    plan = plan or load_plan()
    return {
        "推动的阶段性安排": push_table(plan),
        "培训内容": training_table(plan),
        "12月份行事历": december_calendar(plan),
        "附件一至五": forms_table(plan),
    }

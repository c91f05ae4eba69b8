"""The supervisor's daily check as files: ``maturity-analysis daily --date 2013-05-14``.

For the day, one HTML page (``templates/daily.html.j2``, autoescaped) and one workbook of one
sheet per unit — 全辖 (ALL), each 支局 and each 网点 — under ``reports/daily/<date>/``
(``<unit>.html``, ``<unit>.xlsx``; the ALL page lists every unit with a link). The tables are
:func:`~maturity_analysis.analysis.daily.daily_check`'s, customers masked; the 夕会总结 text has
any customer value in it masked too. Every file is checked for customer PII
(:func:`~maturity_analysis.output.privacy.check_file`) before it takes its name: a file that
fails is not kept and the run stops with the error.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import jinja2
import pandas as pd

from .. import __version__, config
from ..analysis.actions import CUSTOMER_PII
from ..analysis.book import (
    ALL,
    ALL_LABEL,
    branch_label,
    branch_sub_branches,
    enrich,
    sub_branch_unit,
)
from ..analysis.daily import NO_LOG, SHORT, DailyCheck, daily_check
from ..files import atomic_path
from ..ingest.dataset import read_dataset, read_dataset_tracking
from ..ingest.schema import PII_COLUMNS
from ..output.excel import INTERNAL_LISTS, write_workbook
from ..output.privacy import PiiIndex, check_file
from ..plan.model import Plan, load_plan, plan_file, plan_label
from .jobs import unit_folder

DAILY_DIR = "daily"
SHEET = "每日检查"
WEEKDAYS = "一二三四五六日"
_BAD = ("不足", "未填", "已逾期", "今日到期")
_OK = ("达到", "已填")


@dataclasses.dataclass(frozen=True)
class DailyUnit:
    """A unit of the daily check: its file stem, label and branch codes."""

    stem: str
    label: str
    codes: tuple[str, ...]


def daily_units(book: pd.DataFrame) -> list[DailyUnit]:
    """ALL, then each 支局 (as the reports group branches: :func:`branch_sub_branches`), then
    each 网点, in code order; each in the folder name its reports use."""
    codes = book[["branch_code", "branch_name"]].astype(str).drop_duplicates("branch_code")
    codes = codes.sort_values("branch_code")
    units = [DailyUnit(ALL, ALL_LABEL, tuple(codes["branch_code"]))]
    owners = branch_sub_branches(book)
    for name, part in sorted(owners.groupby(owners)):
        unit = sub_branch_unit(name)
        units.append(DailyUnit(unit_folder(unit), branch_label(unit), tuple(sorted(part.index))))
    for code, name in zip(codes["branch_code"], codes["branch_name"], strict=True):
        units.append(DailyUnit(unit_folder(code), branch_label(code, name), (code,)))
    return units


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with missing values as None (shown blank)."""
    return frame.astype(object).where(frame.notna(), None)


def _number(value) -> str:
    """A count with thousands separators, an amount with two decimals."""
    if float(value).is_integer() and not isinstance(value, float):
        return f"{int(value):,}"
    return f"{float(value):,.2f}"


def _templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("maturity_analysis.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["number"] = _number
    return env


def render_daily(
    check: DailyCheck,
    unit_label: str,
    plan: Plan,
    dataset: str = "",
    units: list[dict] | None = None,
) -> str:
    """The HTML page of one unit's day (``units``: the ALL page's rows, with links)."""
    frames = ("teams", "no_log", "complaints", "soon", "notes")
    check = dataclasses.replace(check, **{f: _cells(getattr(check, f)) for f in frames})
    return (
        _templates()
        .get_template("daily.html.j2")
        .render(
            check=check,
            unit_label=unit_label,
            day=check.day.isoformat(),
            weekday=f"星期{WEEKDAYS[check.day.weekday()]}",
            dataset=dataset or "—",
            plan_label=plan_label(plan.source) if Path(plan.source).exists() else plan.source,
            calls_per_day=plan.calls_per_day,
            soon_days=plan.actions.soon_days,
            open_workdays=plan.actions.complaint_open_workdays,
            answer_days=plan.complaint_answer_days,
            units=units or [],
            marks_bad=_BAD,
            marks_ok=_OK,
            version=__version__,
        )
    )


def daily_sheet(check: DailyCheck, plan: Plan) -> pd.DataFrame:
    """One unit's day as one sheet: a row per team, complaint, customer and 夕会总结 (类别,
    网点代码, 团队, 客户姓名, 保单号, 数值, 说明)."""
    rows = []
    if check.day_off:
        rows.append({"类别": "日期", "说明": f"{check.day} 不是工作日（{check.day_off}）"})
    for r in check.teams.to_dict("records"):
        claim = "附件三未填" if r["附件三"] == NO_LOG else f"附件三申报{int(r['附件三申报'])}访"
        what = f"不足{plan.calls_per_day}访，差{r['差额']}访" if r["状态"] == SHORT else "达到"
        rows.append(
            {
                "类别": "团队回访",
                "网点代码": r["网点代码"],
                "团队": r["团队"],
                "数值": r["附件一回访"],
                "说明": f"{what}；{claim}",
            }
        )
    for r in check.complaints.to_dict("records"):
        rows.append(
            {
                "类别": "投诉到期或逾期",
                "网点代码": r["网点代码"],
                "客户姓名": r["客户姓名"],
                "保单号": r["保单号"],
                "数值": r["已过工作日"],
                "说明": f"{r['状态']}；投诉日期{r['投诉日期']}，答复期限{r['答复期限']}；"
                f"{r['投诉点']}（数值为已过工作日）",
            }
        )
    for r in check.soon.to_dict("records"):
        rows.append(
            {
                "类别": "临近满期未接通",
                "网点代码": r["网点代码"],
                "团队": r.get("团队"),
                "客户姓名": r["客户姓名"],
                "保单号": r["保单号"],
                "数值": r["距满期天数"],
                "说明": f"保险止期{r['保险止期']}；未接通{r['未接通次数']}次（数值为距满期天数）",
            }
        )
    for r in check.notes.to_dict("records"):
        rows.append(
            {
                "类别": "夕会总结",
                "网点代码": r["网点代码"],
                "团队": r["团队"],
                "说明": r["夕会总结"],
            }
        )
    cols = ["类别", "网点代码", "团队", "客户姓名", "保单号", "数值", "说明"]
    out = pd.DataFrame(rows, columns=cols).astype({"数值": "Int64"})
    return out.astype({c: object for c in cols if c != "数值"}).where(out.notna(), None)


def _summary_row(unit: DailyUnit, check: DailyCheck) -> dict:
    return {
        "href": f"{unit.stem}.html",
        "label": unit.label,
        "teams": len(check.teams),
        "short": check.short,
        "no_log": len(check.no_log),
        "complaints": len(check.complaints),
        "soon": len(check.soon),
    }


def _keep(path: Path, data: bytes, index: PiiIndex) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
        check_file(path, index, data)
    return path


def _keep_workbook(path: Path, sheet: pd.DataFrame, notes: list[str], unit: str, index) -> Path:
    with atomic_path(path) as tmp:
        write_workbook({SHEET: sheet}, tmp, notes={SHEET: notes}, index=False, unit=unit)
        check_file(path, index, tmp.read_bytes())
    return path


def write_daily(
    dataset: str,
    day: date,
    plan: Plan | None = None,
    out_dir: str | Path | None = None,
    processed_dir: str | Path | None = None,
) -> list[Path]:
    """Write the day's pages and workbooks for every unit of ``dataset``; the paths written.

    ``out_dir`` defaults to ``reports/daily/<date>/``. Each file is PII-checked first.
    """
    plan = plan or load_plan(plan_file(None, dataset))
    book = read_dataset(dataset, processed_dir=processed_dir, plan=plan.source, pii=CUSTOMER_PII)
    tracking = read_dataset_tracking(dataset, processed_dir=processed_dir, plan=plan.source)
    index = PiiIndex(
        read_dataset(dataset, processed_dir=processed_dir, plan=plan.source, columns=PII_COLUMNS)
    )
    book = enrich(book, plan)
    out = Path(out_dir or config.reports_dir() / DAILY_DIR / day.isoformat())
    checks = []
    for unit in daily_units(book):
        check = daily_check(book, tracking, day, plan, list(unit.codes), unit.label)
        notes = check.notes.assign(夕会总结=check.notes["夕会总结"].map(index.redact))
        checks.append((unit, dataclasses.replace(check, notes=notes)))
    rows = [_summary_row(u, c) for u, c in checks[1:]]
    written = []
    for unit, check in checks:
        html = render_daily(check, unit.label, plan, dataset, rows if unit.stem == ALL else None)
        written.append(_keep(out / f"{unit.stem}.html", html.encode("utf-8"), index))
        lines = [INTERNAL_LISTS, f"{unit.label} {day} 每日检查（客户信息已脱敏）"]
        written.append(
            _keep_workbook(
                out / f"{unit.stem}.xlsx", daily_sheet(check, plan), lines, unit.label, index
            )
        )
    return written

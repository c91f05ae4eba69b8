"""Monthly call lists for the 1+1 service teams, and the workbook of forms each branch fills.

The plan: "主动对次月的满期客户进行电话服务回访 ... 每日电话回访量最低20访". So the customers
maturing in month M are phoned on the working days of month M-1 (``operations.call_lead_months``
months ahead), highest complaint risk first (rating A, then B, then C; within a rating the
earliest maturity first), and no team gets more than ``operations.calls_per_day`` calls on a
working day. Calls go on the earliest free working day, so high-risk customers are reached
first and every call has the most lead time.

Capacity. By default a branch gets one team per ``tracking.policies_per_team`` customers
maturing in the month (at least ``tracking.min_teams``), and if the calls still would not fit
in month M-1, the fewest extra teams that make them fit (the plan: "对网点件数较多、较为重点
网点，可适当增加人员"). When the teams are fixed by the caller, calls that do not fit in
month M-1 go on month M's working days before the customer's maturity date (status says so),
and a customer who still has no slot is kept on the list as unscheduled (``scheduled`` False,
no date or team, status "未排期") — never dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from ..analysis.risk import rate_risk
from ..analysis.yields import add_yields
from ..exceptions import MaturityDataError, PlanError
from ..files import atomic_path
from ..ingest.forms import FORMS, settings
from ..ingest.schema import PERSONAL_COLUMNS
from ..plan.model import Plan, load_plan
from ..plan.period import in_plan_year, parse_month, parse_period
from ..plan.workdays import month_bounds, shift_month, working_days
from .display import display_width
from .excel import no_formulas, print_setup, save_workbook

INTERNAL = "内部资料，含客户联系方式，严禁外传"
RISK_ORDER = ("A", "B", "C")
STATUS_ON_TIME = "次月回访"
STATUS_LATE = "当月补呼(满期前)"
STATUS_UNSCHEDULED = "未排期：团队产能不足，需增派人员"

CALL_LIST_HEADERS = {
    "seq": "序号",
    "call_date": "回访日期",
    "team": "团队",
    "risk_rating": "风险等级",
    "risk_reasons": "风险提示",
    "holder_name": "客户姓名",
    "holder_mobile": "手机号码",
    "policy_no": "保单号",
    "product_type": "险种类型",
    "product_name": "产品名称",
    "premium": "已交保费",
    "maturity_date": "满期日期",
    "maturity_value": "满期金额",
    "age": "年龄",
    "age_band": "年龄段",
    "manager": "客户经理",
    "status": "状态",
}
CALL_LIST_PII = tuple(c for c in CALL_LIST_HEADERS if c in PERSONAL_COLUMNS)
"""The customers' contact details a call list carries: the policies given to
:func:`write_templates` need them (``read_dataset(pii=CALL_LIST_PII)``)."""


def call_days(year: int, month: int, plan: Plan | None = None) -> list[date]:
    """Working days on which customers maturing in ``(year, month)`` are phoned (month M-1)."""
    plan = plan or load_plan()
    first = month_bounds(*shift_month(year, month, -plan.call_lead_months))[0]
    last = month_bounds(*shift_month(year, month, -1))[1]
    return working_days(first, last, plan.holiday_notices)


def teams_needed(customers: int, days: int, plan: Plan | None = None) -> int:
    """1+1 teams for a branch's month: the plan's rule, raised until the calls fit in ``days``.

    >>> teams_needed(250, 20), teams_needed(301, 20), teams_needed(900, 20)
    (1, 2, 3)
    """
    plan = plan or load_plan()
    s = settings(plan)
    by_rule = max(s.min_teams, math.ceil(customers / s.policies_per_team))
    by_capacity = math.ceil(customers / (plan.calls_per_day * days)) if days else 0
    return max(by_rule, by_capacity, 1 if customers else 0)


def team_label(i: int) -> str:
    """The label of the i-th team (1-based) of a branch: ``第1组``."""
    return f"第{i}组"


def _ordered(customers: pd.DataFrame) -> pd.DataFrame:
    """Customers by branch, then risk (A, B, C, unrated), maturity date and policy number."""
    rating = customers["risk_rating"].astype("str")
    rank = rating.map({r: i for i, r in enumerate(RISK_ORDER)}).fillna(len(RISK_ORDER))
    return (
        customers.assign(branch_code=customers["branch_code"].astype(str), _rank=rank.to_numpy())
        .sort_values(["branch_code", "_rank", "maturity_date", "policy_no"], kind="stable")
        .drop(columns="_rank")
    )


def _schedule_branch(
    maturities: list[date], days: list[date], extra_days: list[date], teams: int, per_day: int
) -> list[tuple[date | None, int | None, str]]:
    """(day, team, status) for customers in priority order: the earliest free slot before
    their maturity date, teams taking turns within a day."""
    slots = (
        [(d, k % teams + 1) for d in days + extra_days for k in range(teams * per_day)]
        if teams
        else []
    )
    first_extra = len(days) * teams * per_day
    nxt, out = 0, []
    for mat in maturities:
        if nxt < len(slots) and slots[nxt][0] < mat:
            out.append((*slots[nxt], STATUS_LATE if nxt >= first_extra else STATUS_ON_TIME))
            nxt += 1
        else:
            out.append((None, None, STATUS_UNSCHEDULED))
    return out


def schedule_calls(
    policies: pd.DataFrame,
    month: Any,
    *,
    teams: int | Mapping[str, int] | None = None,
    plan: Plan | None = None,
) -> pd.DataFrame:
    """The call list of every branch for customers maturing in ``month``.

    Parameters
    ----------
    policies
        Canonical policies; ``risk_rating`` is added with :func:`risk.rate_risk` when absent.
    month
        The maturity month, ``"2013-02"``.
    teams
        ``None``: per branch, :func:`teams_needed` (everyone fits in month M-1). A number
        (every branch) or branch code → number: fixed teams; calls that do not fit overflow
        into month M before maturity, then are listed unscheduled.

    Returns
    -------
    DataFrame
        One row per customer: branch_code, branch_name, seq (call order within the team's
        day), call_date, team, teams (the branch's team count), scheduled, status, and the
        customer's details (see ``CALL_LIST_HEADERS``). Scheduled calls first, by branch,
        date, team and order; unscheduled customers last, in priority order.
    """
    plan = plan or load_plan()
    year, mon = parse_month(month)
    first, last = month_bounds(year, mon)
    mat = policies["maturity_date"]
    due = policies[(mat >= pd.Timestamp(first)) & (mat <= pd.Timestamp(last))]
    if "risk_rating" not in due.columns:
        due = rate_risk(due, plan)
    due = _ordered(due)
    days = call_days(year, mon, plan)
    extra = working_days(first, last, plan.holiday_notices) if teams is not None else []
    plan_rows, n_teams = [], []
    maturities = due["maturity_date"].dt.date.to_numpy()
    codes = due["branch_code"].to_numpy()
    starts = [0, *np.flatnonzero(codes[1:] != codes[:-1]) + 1, len(due)] if len(due) else [0]
    for a, b in zip(starts, starts[1:], strict=False):
        code = codes[a]
        if teams is None:
            k = teams_needed(b - a, len(days), plan)
        else:
            k = int(teams.get(code, 0) if isinstance(teams, Mapping) else teams)
        plan_rows += _schedule_branch(list(maturities[a:b]), days, extra, k, plan.calls_per_day)
        n_teams += [k] * (b - a)
    out = due.assign(
        call_date=pd.to_datetime(
            pd.Series([r[0] for r in plan_rows], index=due.index, dtype="object")
        ).astype("datetime64[ns]"),
        team=pd.Series(
            [team_label(r[1]) if r[1] else None for r in plan_rows], index=due.index, dtype="str"
        ),
        status=pd.Series([r[2] for r in plan_rows], index=due.index, dtype="str"),
        teams=pd.Series(n_teams, index=due.index, dtype="int64"),
    )
    out["scheduled"] = out["call_date"].notna()
    out = out.sort_values(
        ["scheduled", "branch_code", "call_date", "team"],
        ascending=[False, True, True, True],
        kind="stable",
    )
    out["seq"] = out.groupby(["branch_code", "call_date", "team"], dropna=False).cumcount() + 1
    out["seq"] = out["seq"].astype("Int64").where(out["scheduled"])
    return out.reset_index(drop=True)


def calls_per_team_day(calls: pd.DataFrame) -> pd.Series:
    """Scheduled calls per (branch_code, call_date, team) — what the 20-a-day cap bounds."""
    done = calls[calls["scheduled"]]
    return done.groupby(["branch_code", "call_date", "team"]).size().rename("calls")


# --- Pre-filled 附件一 texts ---------------------------------------------------------------


def maturity_note(row: Mapping[str, Any]) -> str:
    """满期说明: maturity date, amount, and the return against the benchmark deposit.

    >>> maturity_note({"maturity_date": pd.Timestamp("2013-02-15"), "maturity_value": 11500.0,
    ...     "premium": 10000.0, "policy_yield": 0.0283, "beats_deposit": False,
    ...     "gap_yuan": -820.0, "gap_pp": -1.52, "product_type": "分红"})
    '满期日2013-02-15，满期金额11,500元(已交保费10,000元)；年化收益2.83%，低于同期存款1.52个百分点(少820元)'
    """
    what = "账户价值" if row.get("product_type") == "万能" else "满期金额"
    text = f"满期日{row['maturity_date']:%Y-%m-%d}"
    if pd.notna(row.get("maturity_value")):
        text += f"，{what}{row['maturity_value']:,.0f}元(已交保费{row['premium']:,.0f}元)"
    beats = row.get("beats_deposit")
    if beats is not None and not pd.isna(beats) and pd.notna(row.get("policy_yield")):
        side, more = ("高于", "多") if beats else ("低于", "少")
        text += (
            f"；年化收益{row['policy_yield']:.2%}，{side}同期存款"
            f"{abs(row['gap_pp']):.2f}个百分点({more}{abs(row['gap_yuan']):,.0f}元)"
        )
    return text


def conversion_note(row: Mapping[str, Any], plan: Plan | None = None) -> str:
    """转保说明: the segment playbook's suggestion for the customer's age band.

    >>> conversion_note({"age_band": "51-60", "product_type": "分红"})
    '建议XXD或转存款，5万-10万，趸交；难点：会对已购产品进行与存款对比，不满情绪会较高'
    """
    plan = plan or load_plan()
    if row.get("product_type") in settings(plan).hold_products:
        return settings(plan).hold_advice
    book = plan.playbook_for(str(row.get("age_band")))
    if not book:
        return "—"
    parts = [book["product"]] + [book[k] for k in ("amount", "payment") if book[k] != "—"]
    return f"建议{'，'.join(parts)}；难点：{book['difficulty']}"


# --- The workbook --------------------------------------------------------------------------

_TITLE = Font(bold=True, size=14)
_WARN = Font(bold=True, color="C00000")
_HEAD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
_WRAP = Alignment(wrap_text=True, vertical="top")
_FORMATS = {"date": "yyyy-mm-dd", "amount": "#,##0.00", "count": "#,##0"}


def _sheet(
    wb: Workbook,
    title: str,
    lines: list[str],
    headers: list[str],
    rows: list[list[Any]],
    kinds: list[str],
    unit: str = "",
) -> tuple[Any, int]:
    """A sheet: internal notice, title lines, header row, data, set up to print
    (:func:`~maturity_analysis.output.excel.print_setup`); returns (sheet, header row)."""
    ws = wb.create_sheet(title)
    ws.append([INTERNAL])
    ws["A1"].font = _WARN
    for i, line in enumerate(lines):
        ws.append([line])
        if i == 0:
            ws.cell(ws.max_row, 1).font = _TITLE
    ws.append(headers)
    head = ws.max_row
    for j in range(1, len(headers) + 1):
        cell = ws.cell(head, j)
        cell.font, cell.fill = _HEAD, _HEAD_FILL
    widths = [display_width(h) for h in headers]
    for r, row in enumerate(rows, start=head + 1):
        ws.append(row)
        for j, value in enumerate(row):
            if value is not None:
                fmt = _FORMATS.get(kinds[j])
                if fmt:
                    ws.cell(r, j + 1).number_format = fmt
                shown = f"{value:%Y-%m-%d}" if kinds[j] == "date" else str(value)
                widths[j] = max(widths[j], display_width(shown))
    widths = [min(48, max(8, w + 2)) for w in widths]
    for j, w in enumerate(widths):
        ws.column_dimensions[get_column_letter(j + 1)].width = w
    ws.freeze_panes = ws.cell(head + 1, 1)
    ws.oddHeader.center.text = INTERNAL
    print_setup(ws, (head, head), sum(widths), unit)
    return ws, head


def _validate(ws: Any, col: int, first: int, last: int, dv: DataValidation) -> None:
    letter = get_column_letter(col)
    dv.add(f"{letter}{first}:{letter}{last}")
    ws.add_data_validation(dv)


def _choice(values: list[str] | tuple[str, ...], prompt: str) -> DataValidation:
    formula = '"' + ",".join(values) + '"'
    if len(formula) > 255:
        raise PlanError(f"drop-down {prompt}: the answers exceed Excel's 255 characters")
    return DataValidation(
        type="list",
        formula1=formula,
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="请从下拉列表选择",
        error=f"{prompt}只能填: {'/'.join(values)}",
    )


def _form_validations(
    ws: Any,
    kind: str,
    head: int,
    last: int,
    window: tuple[date, date],
    plan: Plan,
    extra: Mapping[str, DataValidation] | None = None,
) -> None:
    s = settings(plan)
    for j, f in enumerate(FORMS[kind].fields, start=1):
        dv = (extra or {}).get(f.name)
        if dv is None and f.kind in ("choice", "yesno"):
            dv = _choice(s.choices(f.choices), f.header)
        elif dv is None and f.kind == "date":
            lo, hi = (f"DATE({d.year},{d.month},{d.day})" for d in window)
            dv = DataValidation(
                type="date",
                operator="between",
                allow_blank=True,
                formula1=lo,
                formula2=hi,
                showErrorMessage=True,
                error=f"日期须在{window[0]}至{window[1]}之间",
            )
        elif dv is None and f.kind in ("count", "amount"):
            dv = DataValidation(
                type="whole" if f.kind == "count" else "decimal",
                operator="greaterThanOrEqual",
                formula1="0",
                allow_blank=True,
                showErrorMessage=True,
                error=f"{f.header}须为不小于0的数",
            )
        if dv is not None:
            _validate(ws, j, head + 1, last, dv)
        if f.kind == "date":
            for r in range(head + 1, last + 1):
                ws.cell(r, j).number_format = _FORMATS["date"]


def _call_rows(calls: pd.DataFrame) -> tuple[list[str], list[list[Any]], list[str]]:
    cols = list(CALL_LIST_HEADERS)
    kinds = [
        "count",
        "date",
        "text",
        "text",
        "text",
        "text",
        "text",
        "text",
        "text",
        "text",
        "amount",
        "date",
        "amount",
        "count",
        "text",
        "text",
        "text",
    ]
    rows = []
    for i, r in enumerate(calls.to_dict("records"), start=1):
        row = []
        for c, kind in zip(cols, kinds, strict=True):
            v = i if c == "seq" else r.get(c)
            if v is None or v is pd.NA or (not isinstance(v, str) and pd.isna(v)):
                v = None
            elif kind == "date":
                v = pd.Timestamp(v).to_pydatetime()
            elif kind in ("amount", "count"):
                v = float(v) if kind == "amount" else int(v)
            else:
                v = str(v)
            row.append(v)
        rows.append(row)
    return [CALL_LIST_HEADERS[c] for c in cols], rows, kinds


def _atomic_save(wb: Workbook, path: Path) -> Path:
    """Save atomically with fixed timestamps (:func:`excel.save_workbook`): same calls, same
    bytes."""
    with atomic_path(path) as tmp:
        save_workbook(no_formulas(wb), tmp)
    return path


def templates_workbook(
    calls: pd.DataFrame, year: int, month: int, path: str | Path, plan: Plan | None = None
) -> Path:
    """Write one branch's workbook: call list, 附件一 pre-filled, 附件二 and 附件三 blank.

    ``calls`` is one branch's rows of :func:`schedule_calls`, with the yield columns of
    :func:`yields.add_yields` for the 满期说明. Written atomically.
    """
    plan = plan or load_plan()
    s = settings(plan)
    window = s.window(plan.year)
    code = str(calls["branch_code"].iloc[0]) if len(calls) else ""
    name = str(calls["branch_name"].iloc[0]) if len(calls) and "branch_name" in calls else ""
    where = f"{code} {name}".strip()
    n_teams = int(calls["teams"].max()) if len(calls) else 0
    days = call_days(year, month, plan)
    late = int((calls["status"] == STATUS_LATE).sum()) if len(calls) else 0
    missing = int((~calls["scheduled"]).sum()) if len(calls) else 0
    wb = Workbook()
    wb.remove(wb.active)

    headers, rows, kinds = _call_rows(calls)
    summary = (
        f"满期客户{len(calls)}人；{n_teams}个1+1团队，每团队每个工作日不超过"
        f"{plan.calls_per_day}访；回访期{days[0]}至{days[-1]}"
        + (f"；当月补呼{late}人" if late else "")
        + (f"；未排期{missing}人(需增派人员)" if missing else "")
    )
    ws, head = _sheet(
        wb,
        "回访名单",
        [f"{where} {year}年{month}月满期客户回访名单", summary],
        headers,
        rows,
        kinds,
        unit=where,
    )
    policy_col = get_column_letter(headers.index("保单号") + 1)
    policy_range = f"'回访名单'!${policy_col}${head + 1}:${policy_col}${head + max(len(rows), 1)}"

    form = FORMS["calls"]
    rows1 = []
    for r in calls.to_dict("records"):
        product = "·".join(
            str(r[c]) for c in ("product_type", "product_name") if c in r and pd.notna(r[c])
        )
        date_ = r["call_date"].to_pydatetime() if pd.notna(r["call_date"]) else None
        rows1.append(
            [
                date_,
                r.get("team") if pd.notna(r.get("team")) else None,
                r.get("holder_name"),
                r["policy_no"],
                product,
                maturity_note(r),
                conversion_note(r, plan),
                None,
                None,
                None,
            ]
        )
    ws1, head1 = _sheet(
        wb,
        form.sheet,
        [
            f"附件一：有效回访统计表　{where}　{year}年{month}月满期",
            "填写日期已按回访名单预填；客户意向请从下拉列表选择",
        ],
        form.headers,
        rows1,
        [f.kind for f in form.fields],
        unit=where,
    )
    for j in (6, 7):
        for row in ws1.iter_rows(min_row=head1 + 1, min_col=j, max_col=j):
            row[0].alignment = _WRAP
    _form_validations(ws1, "calls", head1, head1 + max(len(rows1), 1), window, plan)

    blank = s.template_rows
    form2 = FORMS["complaints"]
    ws2, head2 = _sheet(
        wb,
        form2.sheet,
        [
            f"附件二：客户投诉情况统计表　{where}",
            f"处理结果须在{plan.complaint_answer_days}天内明确答复；是否赔偿为是时填写赔偿金额",
        ],
        form2.headers,
        [],
        [f.kind for f in form2.fields],
        unit=where,
    )
    policy_dv = DataValidation(
        type="list",
        formula1=policy_range,
        allow_blank=True,
        showErrorMessage=True,
        error="保单号须为本网点满期客户的保单号",
    )
    _form_validations(
        ws2,
        "complaints",
        head2,
        head2 + blank,
        window,
        plan,
        {"policy_no": policy_dv} if len(calls) else None,
    )

    form3 = FORMS["worklog"]
    ws3, head3 = _sheet(
        wb,
        form3.sheet,
        [
            f"附件三：工作日志　{where}",
            f"每个团队每个工作日一行；每日电话回访量最低{plan.calls_per_day}访",
        ],
        form3.headers,
        [],
        [f.kind for f in form3.fields],
        unit=where,
    )
    extra = {"branch_code": _choice([code], "网点代码")} if code else {}
    if n_teams:
        extra["team"] = _choice([team_label(i) for i in range(1, n_teams + 1)], "团队")
    _form_validations(ws3, "worklog", head3, head3 + blank, window, plan, extra)
    return _atomic_save(wb, Path(path))


def write_templates(
    policies: pd.DataFrame,
    month: Any,
    out: str | Path,
    *,
    teams: int | Mapping[str, int] | None = None,
    plan: Plan | None = None,
) -> list[Path]:
    """Write every branch's workbook for ``month`` into ``out``: ``forms_<branch>_<month>.xlsx``.

    ``policies`` are the canonical policies with the customers' contact details
    (:data:`CALL_LIST_PII`); yields and risk ratings are added when absent. Returns the paths
    written, in branch order.
    """
    lacking = [c for c in CALL_LIST_PII if c not in policies.columns]
    if lacking:
        raise MaturityDataError(
            f"the call lists need the customers' {', '.join(lacking)}; read the policies with "
            f"read_dataset(..., pii={CALL_LIST_PII!r})"
        )
    plan = plan or load_plan()
    year, mon = parse_month(month)
    in_plan_year(parse_period(f"{year}-{mon:02d}", plan), plan)  # forms of another year: error
    if "beats_deposit" not in policies.columns:
        policies = add_yields(policies)
    calls = schedule_calls(policies, (year, mon), teams=teams, plan=plan)
    out = Path(out)
    written = []
    for code, group in calls.groupby(calls["branch_code"].astype(str), sort=True):
        path = out / f"forms_{code}_{year}-{mon:02d}.xlsx"
        written.append(templates_workbook(group, year, mon, path, plan))
    return written

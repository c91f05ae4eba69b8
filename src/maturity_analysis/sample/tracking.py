"""A year of filled tracking forms and outcomes for the sample book, deterministic.

Built from the same call lists the service teams would get (:func:`calllist.schedule_calls`,
month by month), then played out with a seeded generator so every KPI of the evaluation has
something to show. Branches differ on purpose, by their position in branch-code order:

- conversion and deposit rates (some beat the allocated targets, some miss them), and a
  year that improves from 尝试期 to 提升期;
- 万能 persistency around the 60% line;
- how fast complaints are answered (some branches often late) and how often they end in
  非常规退保 or 赔偿 (some below the 80% satisfaction line);
- how many calls a team makes a day: most teams phone each customer until reached, short of
  20 calls a day, while the branches at positions :data:`FOLLOW_UP` phone every reached
  customer again every other working day until maturity (跟进回访), above 20 on most days;
- home visits (附件一 回访方式 上门) to some key customers (重点客户, :func:`analysis.actions.
  key_customers`), more in some branches than others (:data:`VISITED`), the rest not visited;
- the work log (附件三) claims the calls the call sheet (附件一) records for each team-day,
  except a few deliberate over-claims in the branches at positions :data:`OVER_CLAIMED`
  (so the 多报 flag has something real to find) and about 1% of team-days not logged;
- how many customers are reached before maturity.

Outcomes of the last December maturities are partly not yet recorded, as in a live year.
A handful of rows are wrong on purpose (a mistyped policy number, an answer not in the
drop-down, a duplicate, a compensation without an amount, an unknown branch, 续持 on a 分红
policy), so the read-back shows its rejects; each is listed in :data:`BAD_ROWS`.
"""

from __future__ import annotations

import bisect
import re
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from ..analysis.actions import key_customers
from ..analysis.risk import rate_risk
from ..analysis.yields import add_yields
from ..files import atomic_path, temp_path
from ..ingest.forms import FORMS, KINDS, TRACKING_DIR, Tracking, frame, settings
from ..ingest.schema import POLICY_COLUMNS
from ..output.calllist import conversion_note, maturity_note, schedule_calls, team_label
from ..output.excel import data_row
from ..plan.bands import age_at, age_band
from ..plan.model import Plan, load_plan
from ..plan.workdays import month_bounds, shift_month, working_days

FIXED_TIME = datetime(2013, 12, 31)
REACH_RATE = 0.85  # a call attempt reaches the customer
ATTEMPTS = 3  # attempts per customer before giving up
# Per-branch levers, picked by branch position (see the module docstring).
CONVERSION = (2.2, 1.2, 1.0, 0.7)
DEPOSIT = (1.2, 0.8, 1.05, 0.7)
HOLDING = (1.12, 0.95, 1.03, 0.86)
ANSWER_DAYS = ((1, 5), (1, 9), (3, 14))  # complaint answered after U{lo..hi} days
UNSATISFIED = (0.6, 1.0, 1.8)
# 附件三 claims what 附件一 records, except OVER_CLAIMS team-days of the branches at these
# positions (5 to 15 calls more than recorded) and a share of team-days never logged.
OVER_CLAIMED = (2, 7)
OVER_CLAIMS = 6
UNLOGGED_SHARE = 0.01
COVERAGE = (0.995, 0.97, 0.9)  # customers phoned before maturity
# Branches (positions) whose teams phone every reached customer again every FOLLOW_UP_EVERY
# working days until maturity (跟进回访).
FOLLOW_UP = (0,)
FOLLOW_UP_EVERY = 2
FOLLOW_UP_NOTE = "跟进回访"
VISITED = (0.8, 0.4, 0.1)  # share of reached key customers visited at home, by position % 3
PHASE = {"Q1": 0.85, "Q2": 1.0, "Q3": 1.1, "Q4": 1.05}
COMPLAINT_POINTS = (
    "收益低于同期存款",
    "销售时未说明分红不确定",
    "万能险退保现金价值低",
    "服务态度",
    "满期给付到账慢",
)
RESOLUTIONS = {
    "ok": "解释收益构成，客户接受",
    "surrender": "协商办理非常规退保",
    "compensate": "确属销售不妥，按差额赔偿",
}
WORKLOG_NOTES = (
    "完成当日回访",
    "重点客户已约上门",
    "客户多对收益不满，需主管跟进",
    "夕会总结：转换话术需加强",
    "",
)
BAD_ROWS = {
    "calls": (
        "a policy number with a mistyped digit",
        "客户意向 '再联系', not in the drop-down",
        "a call logged twice",
    ),
    "complaints": ("是否赔偿 是 without 赔偿金额",),
    "worklog": ("branch code 429999, not in the maturity list", "a team-day logged twice"),
    "outcomes": ("续持 on a 分红 policy", "a policy's outcome recorded twice"),
}


def canonical(policies: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """The policies with canonical column names, age and age band (Chinese headers accepted)."""
    plan = plan or load_plan()
    out = policies.rename(columns={c.header: c.name for c in POLICY_COLUMNS})
    for col in ("holder_birth_date", "issue_date", "maturity_date"):
        out[col] = pd.to_datetime(out[col])
    out["premium"] = pd.to_numeric(out["premium"]).astype(float)
    out["maturity_value"] = pd.to_numeric(out["maturity_value"]).astype(float)
    out["policy_no"] = out["policy_no"].astype(str)
    out["branch_code"] = out["branch_code"].astype(str)
    if "age" not in out:
        out["age"] = age_at(out["holder_birth_date"], out["maturity_date"])
    if "age_band" not in out:
        out["age_band"] = age_band(out["age"], plan)
    return out


def _profiles(codes: list[str]) -> pd.DataFrame:
    rows = []
    for i, code in enumerate(sorted(codes)):
        rows.append(
            {
                "branch_code": code,
                "conv": CONVERSION[i % 4],
                "dep": DEPOSIT[(i // 2) % 4],
                "hold": HOLDING[(i + 1) % 4],
                "answer": ANSWER_DAYS[i % 3],
                "unsat": UNSATISFIED[(i + 2) % 3],
                "coverage": COVERAGE[(i // 4) % 3],
                "follow_up": i in FOLLOW_UP,
                "visited": VISITED[i % 3],
            }
        )
    return pd.DataFrame(rows).set_index("branch_code")


def _next_workday(day: date, days: list[date]) -> date:
    """The first of ``days`` (sorted working days) after ``day``."""
    return days[bisect.bisect_right(days, day)]


def _schedule(pol: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    parts = [schedule_calls(pol, (plan.year, m), plan=plan) for m in range(1, 13)]
    return pd.concat(parts, ignore_index=True)


def _outcomes(
    cust: pd.DataFrame, prof: pd.DataFrame, rng: np.random.Generator, plan: Plan
) -> pd.Series:
    s = settings(plan)
    n = len(cust)
    p = prof.reindex(cust["branch_code"])
    phase = cust["maturity_date"].dt.month.map(lambda m: PHASE[plan.phase_of_month(m).key])
    phase = phase.to_numpy(float)
    low = ~cust["beats_deposit"].fillna(True).to_numpy(bool)
    age = cust["age"].astype(float).to_numpy()
    universal = (cust["product_type"] == "万能").to_numpy()
    conv = 0.20 * p["conv"].to_numpy() * phase * np.where(low, 0.8, 1.0)
    dep = 0.30 * p["dep"].to_numpy() * phase
    conv = np.where(age > 60, 0.03, conv)
    dep = np.where(age > 60, 0.45 * p["dep"].to_numpy(), dep)
    hold = np.clip(0.62 * p["hold"].to_numpy() * (0.9 + 0.1 * phase), 0, 0.95)
    u = rng.random(n)
    kinds = np.where(
        u < conv,
        s.policy_conversion_outcome,
        np.where(u < conv + dep, s.deposit_conversion_outcome, "领取"),
    )
    rest = (u - hold) / np.maximum(1 - hold, 1e-9)  # where u >= hold: uniform on [0, 1)
    ul = np.where(
        u < hold,
        s.hold_outcome,
        np.where(
            rest < 0.12,
            s.policy_conversion_outcome,
            np.where(
                rest < 0.35, s.deposit_conversion_outcome, np.where(rest < 0.7, "退保", "领取")
            ),
        ),
    )
    return pd.Series(np.where(universal, ul, kinds), index=cust.index)


_INTENTS = {  # outcome -> (answers, weights)
    "转保": (("意向转保", "考虑中"), (0.7, 0.3)),
    "转存": (("意向转存", "考虑中"), (0.7, 0.3)),
    "续持": (("继续持有", "考虑中"), (0.8, 0.2)),
    "领取": (("到期领取", "考虑中", "不满意"), (0.6, 0.2, 0.2)),
    "退保": (("不满意", "到期领取"), (0.5, 0.5)),
}


def _calls(
    cust: pd.DataFrame,
    outcome: pd.Series,
    prof: pd.DataFrame,
    rng: np.random.Generator,
    plan: Plan,
    seed: int = 2013,
) -> pd.DataFrame:
    """附件一: attempts until reached; in :data:`FOLLOW_UP` branches a call each working day
    after that until maturity; a share of key customers' reaching call made at home (上门),
    drawn from its own generator so the other draws do not move."""
    s = settings(plan)
    first, window_end = s.window(plan.year)
    workdays = working_days(first, window_end, plan.holiday_notices)
    p = prof.reindex(cust["branch_code"])
    cover = p["coverage"].to_numpy()
    visit = np.random.default_rng([seed, 6]).random(len(cust)) < p["visited"].to_numpy()
    visit &= key_customers(cust, plan).to_numpy(bool)
    follow = p["follow_up"].to_numpy(bool)
    rows = []
    cols = [
        "team",
        "holder_name",
        "policy_no",
        "product_type",
        "product_name",
        "maturity_note",
        "conversion_note",
        "branch_code",
        "maturity_date",
        "call_date",
    ]
    for r, covered, o, home, daily in zip(
        cust[cols].to_dict("records"),
        rng.random(len(cust)) < cover,
        outcome.to_numpy(),
        visit,
        follow,
        strict=True,
    ):
        answers, weights = _INTENTS[o]
        intent = answers[rng.choice(len(answers), p=weights)]
        base = {
            "team": r["team"],
            "holder_name": r["holder_name"],
            "policy_no": r["policy_no"],
            "product": f"{r['product_type']}·{r['product_name']}",
            "maturity_note": r["maturity_note"],
            "conversion_note": r["conversion_note"],
            "branch_code": r["branch_code"],
        }
        mat = r["maturity_date"].date()
        if covered and pd.notna(r["call_date"]):
            day = r["call_date"].date()
            for attempt in range(ATTEMPTS):
                reached = (
                    rng.random() < REACH_RATE or attempt == ATTEMPTS - 1 and rng.random() < 0.5
                )
                rows.append(
                    base
                    | {
                        "call_date": day,
                        "intent": intent if reached else s.not_reached,
                        "visit_mode": s.home_visit if reached and home else None,
                        "note": "对收益不满" if reached and intent == "不满意" else "",
                    }
                )
                if reached:
                    break
                day = _next_workday(day, workdays)
            while reached and daily:  # every FOLLOW_UP_EVERY-th working day until maturity
                for _ in range(FOLLOW_UP_EVERY):
                    day = _next_workday(day, workdays)
                if day >= mat:
                    break
                rows.append(base | {"call_date": day, "intent": intent, "note": FOLLOW_UP_NOTE})
        elif rng.random() < 0.5:  # phoned only after maturity
            day = min(mat + timedelta(int(rng.integers(1, 11))), window_end)
            rows.append(base | {"call_date": day, "intent": intent, "note": "满期后补访"})
    return frame("calls", rows)


def _outcome_rows(
    cust: pd.DataFrame, outcome: pd.Series, rng: np.random.Generator, plan: Plan
) -> pd.DataFrame:
    s = settings(plan)
    window_end = pd.Timestamp(s.window(plan.year)[1])
    late = cust["maturity_date"] >= pd.Timestamp(plan.year, 12, 15)
    unrecorded = (late & (rng.random(len(cust)) < 0.5)) | (
        (cust["product_type"] == "万能") & (rng.random(len(cust)) < 0.03)
    )
    delay = pd.to_timedelta(rng.integers(0, 16, len(cust)), unit="D")
    when = cust["maturity_date"] + delay.where(outcome != s.hold_outcome, pd.Timedelta(0))
    when = when.where(when <= window_end, window_end)
    steps = rng.random(len(cust))
    rows = []
    cols = ["policy_no", "holder_name", "branch_code", "age_band", "premium", "maturity_value"]
    for r, o, d, skip, step in zip(
        cust[cols].to_dict("records"), outcome, when, unrecorded, steps, strict=True
    ):
        if skip:
            continue
        row = {
            "policy_no": r["policy_no"],
            "holder_name": r["holder_name"],
            "outcome": o,
            "outcome_date": d,
            "branch_code": r["branch_code"],
        }
        if o == s.policy_conversion_outcome:
            book = plan.playbook_for(str(r["age_band"]))
            lo, hi = book.get("amount_min", 0), book.get("amount_max", 0)
            amount = lo + step * (hi - lo) if hi else r["premium"]
            row |= {
                "new_product": book.get("product") or "XX",
                "new_premium": max(1000.0, round(amount / 1000) * 1000),
            }
        elif o == s.deposit_conversion_outcome:
            row["deposit_amount"] = round(r["maturity_value"] / 100) * 100
        rows.append(row)
    return frame("outcomes", rows)


def _complaints(
    cust: pd.DataFrame,
    calls: pd.DataFrame,
    prof: pd.DataFrame,
    rng: np.random.Generator,
    plan: Plan,
) -> pd.DataFrame:
    s = settings(plan)
    window_end = s.window(plan.year)[1]
    p = prof.reindex(cust["branch_code"])
    low = ~cust["beats_deposit"].fillna(True).to_numpy(bool)
    age = cust["age"].astype(float).to_numpy()
    chance = 0.02 * np.where(low, 2.5, 1.0) * np.where(age >= 50, 1.5, 1.0)
    chance *= p["unsat"].to_numpy() ** 0.5
    hit = rng.random(len(cust)) < chance
    reached = calls[calls["intent"] != s.not_reached].groupby("policy_no")["call_date"].min()
    rows = []
    cols = [
        "policy_no",
        "holder_name",
        "branch_code",
        "maturity_date",
        "age",
        "beats_deposit",
        "gap_yuan",
        "team",
    ]
    for r, lo_hi, unsat in zip(
        cust.loc[hit, cols].to_dict("records"),
        p["answer"].to_numpy()[hit],
        p["unsat"].to_numpy()[hit],
        strict=True,
    ):
        first = reached.get(r["policy_no"])
        start = first.date() if first is not None and pd.notna(first) else r["maturity_date"].date()
        when = min(start + timedelta(int(rng.integers(0, 4))), window_end)
        wait = int(rng.integers(lo_hi[0], lo_hi[1] + 1))
        answered = when + timedelta(wait)
        older = r["age"] >= plan.compensation_min_age
        u = rng.random()
        surrender = u < 0.08 * unsat
        compensate = not surrender and u < 0.08 * unsat + (0.15 if older else 0.03) * unsat
        amount = (
            max(200.0, round(-r["gap_yuan"] / 10) * 10)
            if compensate and pd.notna(r["gap_yuan"]) and r["gap_yuan"] < 0
            else (500.0 if compensate else None)
        )
        point = (
            COMPLAINT_POINTS[0]
            if r["beats_deposit"] is False
            else COMPLAINT_POINTS[int(rng.integers(1, len(COMPLAINT_POINTS)))]
        )
        open_ = answered > window_end or rng.random() < 0.02 * unsat
        rows.append(
            {
                "complaint_date": when,
                "holder_name": r["holder_name"],
                "policy_no": r["policy_no"],
                "complaint_point": point,
                "resolution": None
                if open_
                else RESOLUTIONS[
                    "surrender" if surrender else "compensate" if compensate else "ok"
                ],
                "answer_date": None if open_ else answered,
                "irregular_surrender": bool(surrender and not open_),
                "compensated": bool(compensate and not open_),
                "compensation": amount if compensate and not open_ else None,
                "handler": r["team"] if pd.notna(r["team"]) else None,
                "branch_code": r["branch_code"],
            }
        )
    return frame("complaints", rows)


def _worklog(
    sched: pd.DataFrame,
    calls: pd.DataFrame,
    outcomes: pd.DataFrame,
    complaints: pd.DataFrame,
    prof: pd.DataFrame,
    rng: np.random.Generator,
    plan: Plan,
) -> pd.DataFrame:
    """附件三 as the teams would fill it: each team-day claims the calls 附件一 records for it
    (a call without a team counted for the branch's first team, as the evaluation does), except
    the deliberate over-claims (:data:`OVER_CLAIMED`) and the team-days left unlogged
    (:data:`UNLOGGED_SHARE`)."""
    s = settings(plan)
    team_of = sched.set_index("policy_no")["team"]
    keys = ["branch_code", "team", "call_date"]
    logged_calls = calls.assign(team=calls["team"].fillna(team_label(1)))
    attempts = logged_calls.groupby(keys).size().to_dict()
    effective = logged_calls[logged_calls["intent"] != s.not_reached].groupby(keys).size()
    effective = effective.to_dict()
    by_day = {}
    for name, df, col in (
        ("conversions", outcomes[outcomes["outcome"] == "转保"], "outcome_date"),
        ("deposits", outcomes[outcomes["outcome"] == "转存"], "outcome_date"),
        ("complaints", complaints, "complaint_date"),
    ):
        team = df["policy_no"].map(team_of)
        by_day[name] = df.assign(team=team).groupby(["branch_code", "team", col]).size().to_dict()
    teams = sched.groupby(["branch_code", sched["maturity_date"].dt.month])["teams"].max().to_dict()
    team_days = set()
    for code in sorted(prof.index):
        for m in range(0, 13):  # the month before the plan year to its last month
            year, month = shift_month(plan.year, 1, m - 1)
            key = min(m + 1, 12)  # calls in month m are for month m + 1's maturities
            k = int(teams.get((code, key), 1))
            for day in working_days(*month_bounds(year, month), plan.holiday_notices):
                team_days.update((code, team_label(t), pd.Timestamp(day)) for t in range(1, k + 1))
    workdays = {pd.Timestamp(d) for _, _, d in team_days}
    team_days.update(k for k in attempts if k[2] in workdays and k[0] in prof.index)
    team_days = sorted(team_days)
    over = {code for i, code in enumerate(sorted(prof.index)) if i in OVER_CLAIMED}
    busy = [k for k in team_days if k[0] in over and attempts.get(k, 0)]
    picks = rng.choice(len(busy), size=min(len(busy), OVER_CLAIMS * len(over)), replace=False)
    extra = {busy[i]: int(rng.integers(5, 16)) for i in sorted(picks)}
    skipped = rng.random(len(team_days)) < UNLOGGED_SHARE
    rows = []
    for idx, skip in zip(team_days, skipped, strict=True):
        if skip and idx not in extra:
            continue
        made = int(attempts.get(idx, 0))
        rows.append(
            {
                "work_date": idx[2],
                "branch_code": idx[0],
                "team": idx[1],
                "calls": made + extra.get(idx, 0),
                "effective_calls": int(effective.get(idx, 0)),
                "visits": int(rng.poisson(0.6)),
                "conversions": int(by_day["conversions"].get(idx, 0)),
                "deposits": int(by_day["deposits"].get(idx, 0)),
                "complaints": int(by_day["complaints"].get(idx, 0)),
                "note": WORKLOG_NOTES[int(rng.integers(len(WORKLOG_NOTES)))] or None,
            }
        )
    return frame("worklog", rows)


def sample_tracking(policies: pd.DataFrame, seed: int = 2013, plan: Plan | None = None) -> Tracking:
    """The sample's tracking frames (canonical columns), before any deliberate error."""

    plan = plan or load_plan()
    pol = canonical(policies, plan)
    pol = rate_risk(add_yields(pol), plan)
    rng = np.random.default_rng([seed, 5])
    prof = _profiles(sorted(pol["branch_code"].unique()))
    sched = _schedule(pol, plan)
    cust = sched.merge(
        pol[["policy_no", "beats_deposit", "gap_yuan", "gap_pp", "policy_yield"]].drop_duplicates(
            "policy_no"
        ),
        on="policy_no",
        how="left",
        suffixes=("", "_y"),
    )
    cust = cust.sort_values(["branch_code", "maturity_date", "policy_no"], ignore_index=True)
    cols = [
        "maturity_date",
        "maturity_value",
        "premium",
        "policy_yield",
        "beats_deposit",
        "gap_yuan",
        "gap_pp",
        "product_type",
    ]
    cust["maturity_note"] = [maturity_note(r) for r in cust[cols].to_dict("records")]
    notes = {
        (b, p): conversion_note({"age_band": b, "product_type": p}, plan)
        for b in cust["age_band"].astype(str).unique()
        for p in plan.products
    }
    cust["conversion_note"] = [
        notes[(str(b), p)] for b, p in zip(cust["age_band"], cust["product_type"], strict=True)
    ]
    outcome = _outcomes(cust, prof, rng, plan)
    calls = _calls(cust, outcome, prof, rng, plan, seed)
    complaints = _complaints(cust, calls, prof, rng, plan)
    gone = complaints.loc[complaints["irregular_surrender"].fillna(False), "policy_no"]
    outcome = outcome.where(~cust["policy_no"].isin(gone), "退保")
    outcomes = _outcome_rows(cust, outcome, rng, plan)
    worklog = _worklog(sched, calls, outcomes, complaints, prof, rng, plan)
    return Tracking(calls=calls, complaints=complaints, worklog=worklog, outcomes=outcomes)


def _with_bad_rows(kind: str, rows: list[list], pol: pd.DataFrame) -> list[list]:
    """Append this kind's deliberate errors (:data:`BAD_ROWS`) to its rows."""
    headers = FORMS[kind].headers
    at = {h: i for i, h in enumerate(headers)}
    first = list(rows[0])
    if kind == "calls":
        typo = list(first)
        typo[at["保单号"]] = str(typo[at["保单号"]])[:-1] + (
            "0" if str(typo[at["保单号"]])[-1] != "0" else "1"
        )
        off = list(rows[1])
        off[at["客户意向"]] = "再联系"
        return rows + [typo, off, list(rows[2])]
    if kind == "complaints":
        bad = list(first)
        bad[at["是否赔偿"]], bad[at["赔偿金额"]] = "是", None
        bad[at["投诉点"]] = "要求赔偿"
        return rows + [bad]
    if kind == "worklog":
        bad = list(first)
        bad[at["网点代码"]] = "429999"
        return rows + [bad, list(rows[1])]
    participating = set(pol.loc[pol["product_type"] == "分红", "policy_no"])
    other = next(
        r for r in rows if r[at["保单号"]] in participating and r[at["满期去向"]] == "领取"
    )
    held = list(other)
    held[at["满期去向"]] = "续持"
    return [*rows, held, list(rows[-1])]


def _cells(df: pd.DataFrame, kind: str) -> list[list]:
    s = settings()
    out = []
    for rec in df.to_dict("records"):
        row = []
        for f in FORMS[kind].fields:
            v = rec.get(f.name)
            if v is None or v is pd.NA or (not isinstance(v, str) and pd.isna(v)):
                v = None
            elif f.kind == "date":
                v = pd.Timestamp(v).date()
            elif f.kind == "yesno":
                v = s.yes_no[0] if v else s.yes_no[1]
            elif f.kind == "count":
                v = int(v)
            row.append(v)
        out.append(row)
    return out


def _write_form(kind: str, rows: list[list], path: Path) -> Path:
    """One filled form as a team returns it (title line, header, rows), same bytes every run."""
    form = FORMS[kind]
    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = FIXED_TIME
    ws = wb.create_sheet(form.sheet[:31])
    ws.append(data_row(ws, [form.title]))
    ws.append(data_row(ws, form.headers))
    for row in rows:
        ws.append(data_row(ws, row))
    raw = temp_path(path)
    try:
        wb.save(raw)
        stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
        with (
            atomic_path(path) as tmp,
            zipfile.ZipFile(raw) as zin,
            zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout,
        ):
            for name in sorted(zin.namelist()):
                data = zin.read(name)
                if name == "docProps/core.xml":
                    data = re.sub(
                        rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>" + stamp, data
                    )
                elif name.startswith("xl/worksheets/sheet") and b"<dimension" not in data:
                    # the sheet's size, so readers need not scan the whole sheet to learn it
                    ref = f"A1:{get_column_letter(len(form.headers))}{len(rows) + 2}".encode()
                    data = data.replace(
                        b"<sheetViews>", b'<dimension ref="' + ref + b'"/><sheetViews>', 1
                    )
                info = zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                zout.writestr(info, data)
    finally:
        raw.unlink(missing_ok=True)
    return path


def write_tracking(
    out: str | Path, policies: pd.DataFrame, seed: int = 2013, plan: Plan | None = None
) -> list[Path]:
    """Write ``out/tracking/{calls,complaints,worklog,outcomes}.xlsx`` for the sample.

    ``policies`` is the sample maturity list (Chinese headers or canonical names). Each file
    appears atomically and is byte-identical for the same seed. Returns the paths written.
    """
    plan = plan or load_plan()
    tracking = sample_tracking(policies, seed, plan)
    pol = canonical(policies, plan)
    folder = Path(out) / TRACKING_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in KINDS:
        rows = _with_bad_rows(kind, _cells(tracking[kind], kind), pol)
        written.append(_write_form(kind, rows, folder / f"{kind}.xlsx"))
    return written

"""Who to act on next (内部行动清单): four lists per 网点, as of a day.

- 次月满期未回访: customers maturing next month (the plan's 主动对次月的满期客户进行电话服务回访)
  with no 附件一 call at all for their policy up to the day;
- 临近满期未接通: customers maturing within ``actions.soon_days`` calendar days (from the day
  on) not yet reached (no call whose 客户意向 is not ``tracking.not_reached``);
- 投诉待答复: complaints received up to the day and not answered by it, open for
  ``actions.complaint_open_workdays`` working days or more (working days after the day of
  receipt, up to the day: State Council holidays and 调休 from :mod:`plan.workdays`); their
  answer is due ``operations.complaint_answer_days`` calendar days after receipt;
- 重点客户未上门: key customers (:func:`key_customers`) maturing from the day to the end of
  next month with no 附件一 row whose 回访方式 is ``tracking.home_visit`` (a blank 回访方式 is
  电话).

Every list is a display frame with Chinese headers, customers (and 客户经理) masked by default
(:mod:`ingest.ids`, the reports' rule); ``masked=False`` is for internal files outside
``reports/`` only.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from ..ingest.forms import Tracking
from ..ingest.ids import MASKERS
from ..ingest.schema import PERSONAL_COLUMNS
from ..plan.model import Plan, load_plan
from ..plan.period import Period
from ..plan.workdays import month_bounds, shift_month, working_days
from .book import ALL, for_branch, is_all, unit_tracking
from .lookup import member

NOT_CALLED, SOON, COMPLAINTS, NOT_VISITED = (
    "次月满期未回访",
    "临近满期未接通",
    "投诉待答复",
    "重点客户未上门",
)
LISTS = (NOT_CALLED, SOON, COMPLAINTS, NOT_VISITED)
OVERDUE, DUE_TODAY, OPEN = "已逾期", "今日到期", "待答复"
_CUSTOMER = {
    "branch_code": "网点代码",
    "team": "团队",
    "manager": "客户经理",
    "holder_name": "客户姓名",
    "policy_no": "保单号",
    "product_type": "险种类型",
    "maturity_date": "保险止期",
    "premium": "已交保费",
}
CUSTOMER_PII = tuple(c for c in _CUSTOMER if c in PERSONAL_COLUMNS)
"""The PII columns of the book the lists show (masked by default): a book read for them asks
for these (``read_dataset(pii=CUSTOMER_PII)``)."""


def as_of(period: Period) -> date:
    """The day a period's lists are drawn up on: its last day."""
    return period.end


def _numbered(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` indexed 序号 1..n."""
    return frame.set_axis(pd.RangeIndex(1, len(frame) + 1, name="序号"))


def _masked(frame: pd.DataFrame) -> pd.DataFrame:
    """Customers' names and policy numbers masked; 客户经理 too, masked as a name: staff share
    names with customers, and the reports' leak check cannot tell them apart."""
    out = frame.copy()
    for c, masker in (
        ("holder_name", "holder_name"),
        ("policy_no", "policy_no"),
        ("manager", "holder_name"),
    ):
        if c in out:
            out[c] = out[c].map(MASKERS[masker]).astype(object)
    return out


def _stamp(day: date) -> pd.Timestamp:
    return pd.Timestamp(day)


def _calls_to(tracking: Tracking, day: date) -> pd.DataFrame:
    calls = tracking.calls
    return calls[calls["call_date"] <= _stamp(day)]


def _last_team(calls: pd.DataFrame) -> pd.Series:
    named = calls[calls["team"].notna()].sort_values(["call_date", "team"])
    return named.groupby("policy_no")["team"].last()


def _customers(book: pd.DataFrame, calls: pd.DataFrame, extra: dict, masked: bool) -> pd.DataFrame:
    """The customer columns (and ``extra``: column → Chinese header) of ``book``, sorted by
    branch, maturity date and policy number."""
    out = book.assign(team=book["policy_no"].map(_last_team(calls)))
    out = out.sort_values(["branch_code", "maturity_date", "policy_no"])
    cols = {c: h for c, h in _CUSTOMER.items() if c in out.columns} | extra
    out = out[list(cols)].copy()
    if masked:
        out = _masked(out)
    out["maturity_date"] = out["maturity_date"].dt.date
    return _numbered(out.rename(columns=cols))


def next_month(day: date) -> tuple[date, date]:
    """First and last day of the month after ``day``'s."""
    return month_bounds(*shift_month(day.year, day.month, 1))


def not_called_next_month(
    book: pd.DataFrame, tracking: Tracking, day: date, masked: bool = True
) -> pd.DataFrame:
    """次月满期未回访: policies maturing next month with no 附件一 call up to ``day``."""
    first, last = next_month(day)
    due = book[book["maturity_date"].between(_stamp(first), _stamp(last))]
    calls = _calls_to(tracking, day)
    todo = due[~member(due["policy_no"], calls["policy_no"])]
    return _customers(todo, calls, {}, masked)


def maturing_not_reached(
    book: pd.DataFrame, tracking: Tracking, day: date, plan: Plan, masked: bool = True
) -> pd.DataFrame:
    """临近满期未接通: policies maturing from ``day`` to ``day + actions.soon_days`` not reached
    by ``day``; 回访次数 counts the calls that did not reach them."""
    soon = plan.actions.soon_days
    due = book[book["maturity_date"].between(_stamp(day), _stamp(day + timedelta(soon)))]
    calls = _calls_to(tracking, day)
    reached = calls.loc[calls["intent"] != plan.tracking.not_reached, "policy_no"]
    todo = due[~member(due["policy_no"], reached)]
    tries = calls.groupby("policy_no").size()
    todo = todo.assign(
        days_left=(todo["maturity_date"] - _stamp(day)).dt.days,
        tries=todo["policy_no"].map(tries).fillna(0).astype("int64"),
    )
    return _customers(todo, calls, {"days_left": "距满期天数", "tries": "未接通次数"}, masked)


def open_complaints(
    tracking: Tracking, day: date, plan: Plan, masked: bool = True, due_too: bool = False
) -> pd.DataFrame:
    """投诉待答复: complaints received by ``day``, unanswered on it, open for
    ``actions.complaint_open_workdays`` working days or more (``due_too``: or whose answer is
    due by ``day``, as a holiday can bring that before so many working days); 状态 is 已逾期
    past the answer's due date, 今日到期 on it, else 待答复. Sorted by due date, branch, policy."""
    comp = tracking.complaints
    comp = comp[comp["complaint_date"] <= _stamp(day)]
    comp = comp[comp["answer_date"].isna() | (comp["answer_date"] > _stamp(day))]
    waited = [
        len(working_days(c.date() + timedelta(1), day, plan.holiday_notices))
        for c in comp["complaint_date"]
    ]
    comp = comp.assign(waited=pd.Series(waited, index=comp.index, dtype="int64"))
    due = comp["complaint_date"] + pd.Timedelta(days=plan.complaint_answer_days)
    keep = (comp["waited"] >= plan.actions.complaint_open_workdays) | (
        due_too & (due <= _stamp(day))
    )
    comp, due = comp[keep], due[keep]
    status = [OVERDUE if d < _stamp(day) else DUE_TODAY if d == _stamp(day) else OPEN for d in due]
    out = comp.assign(due=due.dt.date, status=status, received=comp["complaint_date"].dt.date)
    out = out.sort_values(["due", "branch_code", "policy_no"])
    cols = {
        "branch_code": "网点代码",
        "holder_name": "客户姓名",
        "policy_no": "保单号",
        "complaint_point": "投诉点",
        "received": "投诉日期",
        "waited": "已过工作日",
        "due": "答复期限",
        "status": "状态",
        "handler": "处理人",
    }
    out = out[list(cols)].copy()
    if masked:
        out = _masked(out)
    return _numbered(out.rename(columns=cols))


def key_customers(book: pd.DataFrame, plan: Plan) -> pd.Series:
    """Whether each policy's customer is a 重点客户 (``[actions.key_customer]``): premium at
    least ``min_premium``, or a risk rating in ``risk_ratings`` and aged ``risk_min_age`` or
    more. ``book`` needs ``risk_rating`` (:func:`~maturity_analysis.analysis.book.enrich`)."""
    k = plan.actions.key_customer
    risky = book["risk_rating"].astype(str).isin(k.risk_ratings) & (book["age"] >= k.risk_min_age)
    return (book["premium"] >= k.min_premium) | risky


def key_not_visited(
    book: pd.DataFrame, tracking: Tracking, day: date, plan: Plan, masked: bool = True
) -> pd.DataFrame:
    """重点客户未上门: key customers maturing from ``day`` to the end of next month with no
    附件一 row up to ``day`` whose 回访方式 is ``tracking.home_visit``."""
    last = next_month(day)[1]
    due = book[book["maturity_date"].between(_stamp(day), _stamp(last)) & key_customers(book, plan)]
    calls = _calls_to(tracking, day)
    visited = calls.loc[calls["visit_mode"] == plan.tracking.home_visit, "policy_no"]
    todo = due[~member(due["policy_no"], visited)]
    todo = todo.assign(rating=todo["risk_rating"].astype(str), age=todo["age"].astype("Int64"))
    return _customers(todo, calls, {"rating": "风险评级", "age": "年龄"}, masked)


def action_lists(
    book: pd.DataFrame,
    tracking: Tracking,
    day: date,
    branch: str = ALL,
    plan: Plan | None = None,
    masked: bool = True,
) -> dict[str, pd.DataFrame]:
    """The four lists (:data:`LISTS` → frame) of ``branch`` (ALL: every branch) as of ``day``.
    ``book`` is the enriched book (risk ratings)."""
    plan = plan or load_plan()
    part = for_branch(book, branch)
    mine = tracking if is_all(branch) else unit_tracking(part, tracking)
    return {
        NOT_CALLED: not_called_next_month(part, mine, day, masked),
        SOON: maturing_not_reached(part, mine, day, plan, masked),
        COMPLAINTS: open_complaints(mine, day, plan, masked),
        NOT_VISITED: key_not_visited(part, mine, day, plan, masked),
    }


def list_counts(lists: dict[str, pd.DataFrame], branches: pd.Series) -> pd.DataFrame:
    """Rows per 网点 (``branches``: every branch code) of each list, with a 合计 row."""
    codes = sorted(branches.astype(str).unique())
    out = pd.DataFrame(
        {
            name: frame["网点代码"].astype(str).value_counts().reindex(codes, fill_value=0)
            for name, frame in lists.items()
        },
        index=pd.Index(codes, name="网点代码"),
    ).astype("int64")
    out.loc["合计"] = out.sum()
    return out


ALL_NOTE = "全辖不逐一列出客户：各网点的名单见该网点的报告与工作簿。"


def shown(lists: dict[str, pd.DataFrame], name: str, branch: str) -> pd.DataFrame:
    """What a report shows of list ``name``: the list for a 网点; for ALL a one-line note
    (the counts per 网点 are in :func:`list_counts`)."""
    if is_all(branch):
        return pd.DataFrame({"说明": [ALL_NOTE]})
    return lists[name]

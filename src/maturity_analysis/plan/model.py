"""The plan as typed data, loaded from a TOML file (default: the shipped ``plan.toml``).

Every section is read and checked here, at :func:`load_plan`: a missing key, a value of the
wrong type, an unknown key in a typed table or a value outside what the plan allows is a
:class:`~maturity_analysis.exceptions.PlanError` naming the file and the dotted key, so a bad
plan fails when it is loaded, never halfway through a report.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from calendar import monthrange
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from .. import config
from ..config import PLAN_FILE
from ..exceptions import PlanError
from .workdays import HolidayNotice, month_bounds, shift_month

#: The plan file a dataset folder may carry (``data/raw/<dataset>/plan.toml``), used for it
#: when no other plan file is given.
DATASET_PLAN = "plan.toml"
#: Plan years the package accepts (a plan file's ``plan.year``).
YEARS = (2000, 2099)

#: Risk rules the rating knows (``[risk.rules.*]``), in the order their reasons are joined,
#: and the setting each one takes besides ``points`` and ``reason``.
RISK_RULES: dict[str, tuple[str, ...]] = {
    "below_deposit": (),
    "age_at_maturity": ("min_age",),
    "age_at_purchase": ("min_age",),
    "large_premium": ("min_premium",),
    "universal_as_maturity": ("product",),
}
RISK_RATINGS = ("A", "B", "C")
TARGET_BASES = ("policies", "complaints")
TARGET_BINDS = ("rate", "stated")  # which count a target with both binds: its rate's or the plan's
REPLACEMENT_AMOUNTS = ("min", "mid", "max")
PAYOUT_BASES = ("shortfall", "fixed")

#: 旬 (ten-day part of a month) -> first and last day; None: to the month's end.
DEKADS: dict[str, tuple[int, int | None]] = {"上旬": (1, 10), "中旬": (11, 20), "下旬": (21, None)}
_TIME = re.compile(r"^(\d{1,2})(?:-(\d{1,2}))?月(上旬|中旬|下旬)?$")


def time_span(text: str, year: int) -> tuple[date, date]:
    """First and last calendar day a plan time ("12月中旬", "1-3月", "5月") covers in ``year``.

    >>> time_span("12月下旬", 2012)
    (datetime.date(2012, 12, 21), datetime.date(2012, 12, 31))
    >>> time_span("4-6月", 2013)
    (datetime.date(2013, 4, 1), datetime.date(2013, 6, 30))
    """
    m = _TIME.match(str(text).strip())
    if not m or not 1 <= int(m[1]) <= int(m[2] or m[1]) <= 12 or (m[2] and m[3]):
        raise PlanError(
            f"plan time '{text}' is not '<m>月', '<m>月上旬|中旬|下旬' or "
            "'<m1>-<m2>月' with months 1..12 in order"
        )
    first, last = int(m[1]), int(m[2] or m[1])
    if m[3]:
        lo, hi = DEKADS[m[3]]
        return date(year, first, lo), date(year, first, hi or monthrange(year, first)[1])
    return date(year, first, 1), date(year, last, monthrange(year, last)[1])


@dataclass(frozen=True)
class Target:
    """One target of the plan: a rate on a base of policies (or of complaints handled)."""

    key: str
    label: str
    rate: float
    product: str | None = None
    min_age: int | None = None
    max_age: int | None = None
    stated_count: int | None = None
    note: str = ""
    base: str = "policies"
    binds: str = "rate"


@dataclass(frozen=True)
class Phase:
    """One of the four phases of the plan year (months inclusive)."""

    key: str
    name: str
    first_month: int
    last_month: int
    focus: str

    def start(self, year: int) -> date:
        """First day of the phase in ``year``."""
        return date(year, self.first_month, 1)

    def end(self, year: int) -> date:
        """Last day of the phase in ``year``."""
        nxt = date(year + (self.last_month == 12), self.last_month % 12 + 1, 1)
        return date.fromordinal(nxt.toordinal() - 1)


@dataclass(frozen=True)
class TrackingSettings:
    """``[tracking]``: the forms' answers, team sizing, the date window, evaluation settings."""

    intent_answers: tuple[str, ...]
    not_reached: str
    outcome_kinds: tuple[str, ...]
    policy_conversion_outcome: str
    deposit_conversion_outcome: str
    hold_outcome: str
    hold_products: tuple[str, ...]
    hold_advice: str
    yes_no: tuple[str, str]
    policies_per_team: int
    min_teams: int
    months_before: int
    months_after: int
    answer_within_target: float
    phoned_before_target: float
    confidence: float
    wilson_below: int
    coverage_min: float
    template_rows: int
    visit_modes: tuple[str, ...] = ("电话", "上门")
    home_visit: str = "上门"

    def choices(self, key: str) -> tuple[str, ...]:
        """The allowed answers of a drop-down (``"intent_answers"``, ``"yes_no"``, ...)."""
        return tuple(getattr(self, key))

    def window(self, year: int) -> tuple[date, date]:
        """First and last date accepted on the forms for the plan ``year``."""
        first = month_bounds(*shift_month(year, 1, -self.months_before))[0]
        last = month_bounds(*shift_month(year, 12, self.months_after))[1]
        return first, last


@dataclass(frozen=True)
class SegmentTable:
    """``[tables.segment]``: the product of the segment table and its middle principal column."""

    product: str
    middle_label: str
    middle_bands: tuple[str, ...]


@dataclass(frozen=True)
class MaturityGroup:
    """One ``[[tables.maturity_groups]]`` row: product type, optional name text, term years."""

    label: str
    product: str
    product_name: str | None = None
    min_term: int | None = None
    max_term: int | None = None


@dataclass(frozen=True)
class Tables:
    """``[tables]``: how the tables group policies."""

    segment: SegmentTable
    maturity_groups: tuple[MaturityGroup, ...]


@dataclass(frozen=True)
class RiskRule:
    """One ``[risk.rules.<name>]``: its points, reason text and the setting the rule takes."""

    name: str
    points: int
    reason: str
    min_age: int | None = None
    min_premium: float | None = None
    product: str | None = None


@dataclass(frozen=True)
class Risk:
    """``[risk]``: the rating thresholds and the rules, in :data:`RISK_RULES` order."""

    a_min_points: int
    b_min_points: int
    rules: dict[str, RiskRule]


@dataclass(frozen=True)
class Costs:
    """``[costs]``: which playbook amount a replacement policy has, and the discount cap."""

    replacement_amount: str
    max_discount: float


@dataclass(frozen=True)
class CompensationScenario:
    """One ``[compensation.scenarios.<key>]``."""

    key: str
    label: str
    complaint_rate: float
    payout_rate: float


@dataclass(frozen=True)
class Compensation:
    """``[compensation]``: who is at risk, the amount per payout, the scenarios (file order)."""

    at_risk_ratings: tuple[str, ...]
    payout_basis: str
    payout_share: float
    payout_fixed_yuan: int | float | None
    scenarios: dict[str, CompensationScenario]


@dataclass(frozen=True)
class PushRow:
    """One ``[[programme.push]]`` row (推动的阶段性安排); ``phase`` "" for the December rows."""

    time: str
    item: str
    content: str
    participants: str
    tools: str
    start: date  # ``time`` read as dates of the plan year (or the December before)
    end: date
    year_offset: int = 0
    phase: str = ""
    note: str = ""


@dataclass(frozen=True)
class TrainingRow:
    """One ``[[programme.training]]`` row (培训内容)."""

    item: str
    content: str
    trainees: str
    note: str = ""


@dataclass(frozen=True)
class DecemberRow:
    """One ``[[programme.december]]`` row (12月份行事历)."""

    time: str
    item: str
    content: str
    executor: str
    assistant: str
    audience: str
    start: date
    end: date
    year_offset: int = 0
    note: str = ""


@dataclass(frozen=True)
class FormRow:
    """One ``[[programme.forms]]`` row (附件一..五); ``dataset`` "" when no tracking file."""

    key: str
    name: str
    purpose: str
    fields: tuple[str, ...]
    dataset: str


@dataclass(frozen=True)
class Programme:
    """``[programme]``: the programme's own tables, row by row."""

    push: tuple[PushRow, ...]
    training: tuple[TrainingRow, ...]
    december: tuple[DecemberRow, ...]
    forms: tuple[FormRow, ...]


#: Honour criteria the league tables can count (``[[honours.criteria]]`` keys).
HONOUR_CRITERIA = ("conversions", "reached", "resolved_in_time")
HONOUR_PERIODS = ("month", "quarter", "year")
HONOUR_LEVELS = ("team", "manager")


@dataclass(frozen=True)
class KeyCustomer:
    """``[actions.key_customer]``: 重点客户 are those with premium >= ``min_premium``, or a risk
    rating in ``risk_ratings`` and age >= ``risk_min_age``."""

    min_premium: float
    risk_ratings: tuple[str, ...]
    risk_min_age: int


@dataclass(frozen=True)
class Actions:
    """``[actions]``: the windows of the action lists and who is a key customer."""

    soon_days: int
    complaint_open_workdays: int
    key_customer: KeyCustomer


@dataclass(frozen=True)
class HonourCriterion:
    """One ``[[honours.criteria]]``: a counted criterion, its label and weight."""

    key: str
    label: str
    weight: float


@dataclass(frozen=True)
class Award:
    """One ``[[honours.awards]]``: an award category, its period kind, level and candidates."""

    key: str
    label: str
    period: str
    level: str
    winners: int


@dataclass(frozen=True)
class Honours:
    """``[honours]``: the league-table criteria (file order) and the award categories."""

    criteria: tuple[HonourCriterion, ...]
    awards: tuple[Award, ...]


@dataclass(frozen=True)
class Plan:
    """Everything the plan fixes, typed: bands, targets, phases, operations, playbook, tracking,
    tables, risk, costs, compensation, programme and the figures the plan states."""

    title: str
    year: int
    products: tuple[str, ...]
    age_labels: tuple[str, ...]
    age_lower: tuple[int, ...]
    below_age_label: str
    principal_labels: tuple[str, ...]
    principal_lower: tuple[float, ...]
    targets: dict[str, Target]
    phases: tuple[Phase, ...]
    calls_per_day: int
    complaint_answer_days: int
    call_lead_months: int
    compensation_min_age: int
    playbook: tuple[dict[str, Any], ...]
    tracking: TrackingSettings
    tables: Tables
    risk: Risk
    costs: Costs
    compensation: Compensation
    programme: Programme
    figures: dict[str, Any]
    source: str
    holiday_notices: tuple[HolidayNotice, ...] = ()
    actions: Actions | None = None
    honours: Honours | None = None

    def phase_of_month(self, month: int) -> Phase:
        """The phase a calendar month falls in."""
        for ph in self.phases:
            if ph.first_month <= month <= ph.last_month:
                return ph
        raise PlanError(f"{self.source}: no phase covers month {month} (key 'phases')")

    def playbook_for(self, age_band: str) -> dict[str, Any]:
        """The segment playbook row for an age band ({} when the plan has none)."""
        return next((p for p in self.playbook if p["age_band"] == age_band), {})


# --- Reading ---------------------------------------------------------------------------------


def _get(d: dict, dotted: str, source: str, kind: type | tuple | None = None, at: str = "") -> Any:
    """The value at ``dotted`` in ``d``, checked to be ``kind`` (a bool is never a number);
    ``at`` is where ``d`` sits in the file, so errors name the full dotted key."""
    key = f"{at}.{dotted}" if at else dotted
    cur: Any = d
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise PlanError(f"{source}: missing key '{key}'")
        cur = cur[part]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if kind is not None and (
        not isinstance(cur, kind) or (isinstance(cur, bool) and bool not in kinds)
    ):
        want = " or ".join(k.__name__ for k in kinds)
        raise PlanError(f"{source}: key '{key}' should be {want}, got {cur!r}")
    return cur


_REQUIRED: Any = object()


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


class _Table:
    """One table of the plan file, read key by key: each value is checked as it is read, an
    error names the file and the dotted key, and :meth:`done` rejects keys nobody read."""

    def __init__(self, data: dict, key: str, source: str):
        self.data, self.key, self.source = data, key, source
        self.read: set[str] = set()

    def name(self, k: str) -> str:
        return f"{self.key}.{k}" if self.key else k

    def error(self, k: str, message: str) -> PlanError:
        return PlanError(f"{self.source}: key '{self.name(k)}' {message}")

    def value(self, k: str, ok: Callable[[Any], bool], want: str, default: Any = _REQUIRED):
        self.read.add(k)
        if default is not _REQUIRED and k not in self.data:
            return default
        v = _get(self.data, k, self.source, at=self.key)
        if not ok(v):
            raise self.error(k, f"should be {want}, got {v!r}")
        return v

    def text(self, k: str, default: Any = _REQUIRED, nonempty: bool = False) -> str:
        want = "non-empty text" if nonempty else "text"
        return self.value(
            k, lambda v: isinstance(v, str) and bool(v or not nonempty), want, default
        )

    def texts(self, k: str, nonempty: bool = True) -> tuple[str, ...]:
        def ok(v: Any) -> bool:
            return (
                isinstance(v, list)
                and bool(v or not nonempty)
                and all(isinstance(x, str) for x in v)
            )

        return tuple(self.value(k, ok, "a list of text"))

    def whole(self, k: str, minimum: int | None = 0, default: Any = _REQUIRED) -> int:
        want = "a whole number" + ("" if minimum is None else f" >= {minimum}")
        return self.value(
            k, lambda v: _whole(v) and (minimum is None or v >= minimum), want, default
        )

    def amount(self, k: str, default: Any = _REQUIRED) -> int | float:
        return self.value(k, lambda v: _number(v) and v >= 0, "a number >= 0", default)

    def share(self, k: str, low_open: bool = False) -> float:
        if low_open:
            return float(self.value(k, lambda v: _number(v) and 0 < v <= 1, "a number in (0, 1]"))
        return float(
            self.value(k, lambda v: _number(v) and 0 <= v <= 1, "a number between 0 and 1")
        )

    def choice(
        self, k: str, options: tuple[str, ...], default: Any = _REQUIRED, what: str = ""
    ) -> str:
        want = f"one of {', '.join(options)}" + (f" ({what})" if what else "")
        return self.value(k, lambda v: v in options, want, default)

    def table(self, k: str) -> _Table:
        v = self.value(k, lambda v: isinstance(v, dict), "a table")
        return _Table(v, self.name(k), self.source)

    def rows(self, k: str, nonempty: bool = True) -> list[_Table]:
        want = "a list of rows" + (" (at least one)" if nonempty else "")
        v = self.value(k, lambda v: isinstance(v, list) and bool(v or not nonempty), want)
        out = []
        for i, row in enumerate(v):
            if not isinstance(row, dict):
                raise self.error(f"{k}[{i}]", f"should be a table, got {row!r}")
            out.append(_Table(row, f"{self.name(k)}[{i}]", self.source))
        return out

    def done(self) -> None:
        """Reject keys no field was read from (a misspelt optional key would be ignored)."""
        unknown = sorted(set(self.data) - self.read)
        if unknown:
            raise PlanError(
                f"{self.source}: key '{self.name(unknown[0])}' is not a known key of "
                f"'{self.key}'; known: {', '.join(sorted(self.read))}"
            )


def _increasing(values: list, key: str, source: str) -> None:
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise PlanError(f"{source}: key '{key}' must be strictly increasing, got {values}")


def _targets(top: _Table, products: tuple[str, ...]) -> dict[str, Target]:
    targets = {}
    section = top.table("targets")
    for key in section.data:
        t = section.table(key)
        targets[key] = Target(
            key=key,
            label=t.text("label"),
            rate=t.share("rate"),
            product=t.choice("product", products, None, "plan.products"),
            min_age=t.whole("min_age", default=None),
            max_age=t.whole("max_age", default=None),
            stated_count=t.whole("stated_count", default=None),
            note=t.text("note", ""),
            base=t.choice("base", TARGET_BASES, "policies"),
            binds=t.choice("binds", TARGET_BINDS, "rate"),
        )
        t.done()
    return targets


def _phases(top: _Table) -> tuple[Phase, ...]:
    phases = []
    for i, ph in enumerate(top.rows("phases", nonempty=False)):
        months = ph.value("months", lambda v: isinstance(v, list), "a list")
        if (
            len(months) != 2
            or not all(_whole(m) for m in months)
            or not 1 <= months[0] <= months[1] <= 12
        ):
            raise PlanError(
                f"{top.source}: key 'phases[{i}].months' must be [first, last] in 1..12"
            )
        phases.append(
            Phase(
                key=ph.text("key"),
                name=ph.text("name"),
                first_month=months[0],
                last_month=months[1],
                focus=ph.text("focus", ""),
            )
        )
    return tuple(phases)


def _playbook(top: _Table) -> tuple[dict[str, Any], ...]:
    playbook = tuple(_get(top.data, "playbook", top.source, list))
    for i, row in enumerate(playbook):
        for k in (
            "age_band",
            "traits",
            "product",
            "amount",
            "amount_min",
            "amount_max",
            "payment",
            "difficulty",
        ):
            _get(row, k, top.source, at=f"playbook[{i}]")
    return playbook


def _tracking(top: _Table, products: tuple[str, ...]) -> TrackingSettings:
    t = top.table("tracking")
    s = TrackingSettings(
        intent_answers=t.texts("intent_answers"),
        not_reached=t.text("not_reached"),
        outcome_kinds=t.texts("outcome_kinds"),
        policy_conversion_outcome=t.text("policy_conversion_outcome"),
        deposit_conversion_outcome=t.text("deposit_conversion_outcome"),
        hold_outcome=t.text("hold_outcome"),
        hold_products=t.texts("hold_products"),
        hold_advice=t.text("hold_advice"),
        yes_no=t.texts("yes_no"),  # [yes, no]: the length is checked below
        policies_per_team=t.whole("policies_per_team", minimum=1),
        min_teams=t.whole("min_teams"),
        months_before=t.whole("months_before"),
        months_after=t.whole("months_after"),
        answer_within_target=t.share("answer_within_target"),
        phoned_before_target=t.share("phoned_before_target"),
        confidence=t.share("confidence"),
        wilson_below=t.whole("wilson_below"),
        coverage_min=t.share("coverage_min"),
        template_rows=t.whole("template_rows"),
        visit_modes=t.texts("visit_modes"),
        home_visit=t.text("home_visit"),
    )
    t.done()
    if s.home_visit not in s.visit_modes:
        raise t.error("home_visit", f"is not in visit_modes, got {s.home_visit!r}")
    if len(s.yes_no) != 2:
        raise t.error("yes_no", f"should be [yes, no], got {list(s.yes_no)}")
    for key in ("policy_conversion_outcome", "deposit_conversion_outcome", "hold_outcome"):
        if getattr(s, key) not in s.outcome_kinds:
            raise t.error(key, f"is not in tracking.outcome_kinds, got {getattr(s, key)!r}")
    if s.not_reached not in s.intent_answers:
        raise t.error("not_reached", f"is not in intent_answers, got {s.not_reached!r}")
    if not set(s.hold_products) <= set(products):
        raise t.error("hold_products", f"should name plan.products, got {list(s.hold_products)}")
    return s


def _tables(top: _Table, products: tuple[str, ...], bands: tuple[str, ...]) -> Tables:
    tables = top.table("tables")
    seg = tables.table("segment")
    segment = SegmentTable(
        product=seg.choice("product", products, what="plan.products"),
        middle_label=seg.text("middle_label", nonempty=True),
        middle_bands=seg.texts("middle_bands"),
    )
    seg.done()
    if not set(segment.middle_bands) <= set(bands):
        raise seg.error(
            "middle_bands",
            f"should name bands of bands.principal.labels, got {list(segment.middle_bands)}",
        )
    groups = []
    for g in tables.rows("maturity_groups", nonempty=False):
        groups.append(
            MaturityGroup(
                label=g.text("label", nonempty=True),
                product=g.choice("product", products, what="plan.products"),
                product_name=g.text("product_name", None, nonempty=True),
                min_term=g.whole("min_term", default=None),
                max_term=g.whole("max_term", default=None),
            )
        )
        g.done()
    labels = [g.label for g in groups]
    if len(set(labels)) < len(labels):
        raise tables.error("maturity_groups", f"should have distinct labels, got {labels}")
    tables.done()
    return Tables(segment=segment, maturity_groups=tuple(groups))


def _risk(top: _Table, products: tuple[str, ...]) -> Risk:
    risk = top.table("risk")
    a, b = risk.whole("a_min_points", None), risk.whole("b_min_points", None)
    section = risk.table("rules")
    unknown = set(section.data) - set(RISK_RULES)
    if unknown:
        raise PlanError(
            f"{top.source}: key 'risk.rules' has unknown rules {sorted(unknown)}; "
            f"known: {list(RISK_RULES)}"
        )
    rules = {}
    for name, settings in RISK_RULES.items():
        if name not in section.data:
            continue
        r = section.table(name)
        extra: dict[str, Any] = {}
        if "min_age" in settings:
            extra["min_age"] = r.whole("min_age")
        if "min_premium" in settings:
            extra["min_premium"] = float(r.amount("min_premium"))
        if "product" in settings:
            extra["product"] = r.choice("product", products, what="plan.products")
        rules[name] = RiskRule(
            name=name, points=r.whole("points", None), reason=r.text("reason"), **extra
        )
        r.done()
    texts = [rule.reason for rule in rules.values()]
    if "" in texts or len(set(texts)) < len(texts):
        raise PlanError(
            f"{top.source}: key 'risk.rules': each rule needs its own non-empty reason, got {texts}"
        )
    if not b <= a:
        raise PlanError(
            f"{top.source}: key 'risk.b_min_points' ({b}) must not exceed 'risk.a_min_points' ({a})"
        )
    risk.done()
    return Risk(a_min_points=a, b_min_points=b, rules=rules)


def _costs(top: _Table) -> Costs:
    c = top.table("costs")
    costs = Costs(
        replacement_amount=c.choice("replacement_amount", REPLACEMENT_AMOUNTS),
        max_discount=c.share("max_discount", low_open=True),
    )
    c.done()
    return costs


def _compensation(top: _Table) -> Compensation:
    c = top.table("compensation")
    ratings = c.texts("at_risk_ratings")
    if not set(ratings) <= set(RISK_RATINGS):
        raise c.error(
            "at_risk_ratings",
            f"should be a list of risk ratings ({', '.join(RISK_RATINGS)}), got {list(ratings)}",
        )
    basis = c.choice("payout_basis", PAYOUT_BASES)
    share = c.share("payout_share", low_open=True)
    fixed = c.amount("payout_fixed_yuan", None)
    if basis == "fixed" and not fixed:
        raise c.error(
            "payout_fixed_yuan",
            f"should be a positive amount in 元 when payout_basis is 'fixed', got {fixed!r}",
        )
    section = c.table("scenarios")
    if not section.data:
        raise c.error("scenarios", "should hold at least one scenario table")
    scenarios = {}
    for key in section.data:
        sc = section.table(key)
        scenarios[key] = CompensationScenario(
            key=key,
            label=sc.text("label", key),
            complaint_rate=sc.share("complaint_rate"),
            payout_rate=sc.share("payout_rate"),
        )
        sc.done()
    c.done()
    return Compensation(
        at_risk_ratings=ratings,
        payout_basis=basis,
        payout_share=share,
        payout_fixed_yuan=fixed,
        scenarios=scenarios,
    )


def _dated(row: _Table, year: int) -> tuple[date, date]:
    """The calendar span of a dated programme row, its ``time`` checked to be plan wording."""
    time, offset = row.text("time"), row.whole("year_offset", None, 0)
    try:
        return time_span(time, year + offset)
    except PlanError as exc:
        raise PlanError(f"{row.source}: key '{row.name('time')}': {exc}") from None


def _programme(top: _Table, year: int, phases: tuple[Phase, ...]) -> Programme:
    p = top.table("programme")
    by_key = {ph.key: ph for ph in phases}
    push = []
    for r in p.rows("push"):
        start, end = _dated(r, year)
        row = PushRow(
            time=r.text("time"),
            item=r.text("item"),
            content=r.text("content"),
            participants=r.text("participants"),
            tools=r.text("tools"),
            start=start,
            end=end,
            year_offset=r.whole("year_offset", None, 0),
            phase=r.text("phase", ""),
            note=r.text("note", ""),
        )
        r.done()
        if row.phase:
            ph = by_key.get(row.phase)
            if ph is None:
                raise r.error("phase", f"names no phase of [[phases]], got {row.phase!r}")
            if (start, end) != (ph.start(year), ph.end(year)):
                raise r.error(
                    "time",
                    f"'{row.time}' differs from phase {ph.key} months "
                    f"{ph.first_month}-{ph.last_month}",
                )
        push.append(row)
    training = []
    for r in p.rows("training"):
        training.append(
            TrainingRow(
                item=r.text("item"),
                content=r.text("content"),
                trainees=r.text("trainees"),
                note=r.text("note", ""),
            )
        )
        r.done()
    december = []
    for r in p.rows("december"):
        start, end = _dated(r, year)
        december.append(
            DecemberRow(
                time=r.text("time"),
                item=r.text("item"),
                content=r.text("content"),
                executor=r.text("executor"),
                assistant=r.text("assistant"),
                audience=r.text("audience"),
                start=start,
                end=end,
                year_offset=r.whole("year_offset", None, 0),
                note=r.text("note", ""),
            )
        )
        r.done()
    forms = []
    for r in p.rows("forms"):
        forms.append(
            FormRow(
                key=r.text("key"),
                name=r.text("name"),
                purpose=r.text("purpose"),
                fields=r.texts("fields", nonempty=False),
                dataset=r.text("dataset"),
            )
        )
        r.done()
    p.done()
    return Programme(
        push=tuple(push), training=tuple(training), december=tuple(december), forms=tuple(forms)
    )


def _holiday_notices(top: _Table, year: int) -> tuple[HolidayNotice, ...]:
    """``[[holiday_notice]]``: a year's State Council notice, its days off and 调休 days, each
    a date of that year; at most one notice a year, within the plan's window."""
    if "holiday_notice" not in top.data:
        return ()
    out: dict[int, HolidayNotice] = {}
    for r in top.rows("holiday_notice"):
        y = r.whole("year")
        if not year - 1 <= y <= year + 1:
            raise r.error("year", f"should be {year - 1}..{year + 1} (the plan year {year} ± 1)")
        if y in out:
            raise r.error("year", f"repeats {y}: one notice a year")
        days = {}
        for k in ("holidays", "workdays"):
            v = r.value(k, lambda v: isinstance(v, list), "a list of dates (2027-01-01)")
            bad = [d for d in v if type(d) is not date or d.year != y]
            if bad:
                raise r.error(k, f"should hold dates of {y} (2027-01-01, unquoted), got {bad[0]!r}")
            days[k] = frozenset(v)
        both = sorted(days["holidays"] & days["workdays"])
        if both:
            raise r.error("workdays", f"{both[0]} is also listed as a holiday")
        out[y] = HolidayNotice(
            y, r.text("title", nonempty=True), days["holidays"], days["workdays"]
        )
        r.done()
    return tuple(out[y] for y in sorted(out))


def _actions(top: _Table) -> Actions:
    """``[actions]``: the action lists' windows and the key-customer rule."""
    a = top.table("actions")
    k = a.table("key_customer")
    key = KeyCustomer(
        min_premium=float(k.amount("min_premium")),
        risk_ratings=k.texts("risk_ratings", nonempty=False),
        risk_min_age=k.whole("risk_min_age"),
    )
    k.done()
    if not set(key.risk_ratings) <= set(RISK_RATINGS):
        raise k.error(
            "risk_ratings", f"should name risk ratings {RISK_RATINGS}, got {key.risk_ratings}"
        )
    out = Actions(
        soon_days=a.whole("soon_days", minimum=1),
        complaint_open_workdays=a.whole("complaint_open_workdays", minimum=1),
        key_customer=key,
    )
    a.done()
    return out


def _honours(top: _Table) -> Honours:
    """``[honours]``: criteria with weights adding up to 1, award categories."""
    h = top.table("honours")
    criteria = []
    for r in h.rows("criteria"):
        criteria.append(
            HonourCriterion(
                key=r.choice("key", HONOUR_CRITERIA),
                label=r.text("label", nonempty=True),
                weight=r.share("weight"),
            )
        )
        r.done()
    keys = [c.key for c in criteria]
    if len(set(keys)) < len(keys):
        raise h.error("criteria", f"should name each criterion once, got {keys}")
    if abs(sum(c.weight for c in criteria) - 1) > 1e-9:
        raise h.error("criteria", f"weights should add up to 1, got {[c.weight for c in criteria]}")
    awards = []
    for r in h.rows("awards"):
        awards.append(
            Award(
                key=r.text("key", nonempty=True),
                label=r.text("label", nonempty=True),
                period=r.choice("period", HONOUR_PERIODS),
                level=r.choice("level", HONOUR_LEVELS),
                winners=r.whole("winners", minimum=1),
            )
        )
        r.done()
    h.done()
    return Honours(criteria=tuple(criteria), awards=tuple(awards))


def parse_plan(raw: dict[str, Any], source: str = "<plan>") -> Plan:
    """Validate a parsed plan file and return the typed :class:`Plan`."""
    top = _Table(raw, "", source)
    g = lambda k, t=None: _get(raw, k, source, t)  # noqa: E731
    age_labels, age_lower = g("bands.age.labels", list), g("bands.age.lower", list)
    p_labels, p_lower = g("bands.principal.labels", list), g("bands.principal.lower", list)
    for key, labels, lower in (
        ("bands.age", age_labels, age_lower),
        ("bands.principal", p_labels, p_lower),
    ):
        if len(labels) != len(lower):
            raise PlanError(f"{source}: key '{key}': labels and lower differ in length")
        _increasing(lower, f"{key}.lower", source)
    products = tuple(g("plan.products", list))
    year = g("plan.year", int)
    if not YEARS[0] <= year <= YEARS[1]:
        raise PlanError(
            f"{source}: key 'plan.year' should be a year {YEARS[0]}-{YEARS[1]}, got {year}"
        )
    phases = _phases(top)
    return Plan(
        title=g("plan.title", str),
        year=year,
        products=products,
        age_labels=tuple(age_labels),
        age_lower=tuple(age_lower),
        below_age_label=g("bands.age.below_label", str),
        principal_labels=tuple(p_labels),
        principal_lower=tuple(float(x) for x in p_lower),
        targets=_targets(top, products),
        phases=phases,
        calls_per_day=g("operations.calls_per_day", int),
        complaint_answer_days=g("operations.complaint_answer_days", int),
        call_lead_months=g("operations.call_lead_months", int),
        compensation_min_age=g("operations.compensation_min_age", int),
        playbook=_playbook(top),
        tracking=_tracking(top, products),
        tables=_tables(top, products, tuple(p_labels)),
        risk=_risk(top, products),
        costs=_costs(top),
        compensation=_compensation(top),
        programme=_programme(top, year, phases),
        figures=g("figures", dict) if "figures" in raw else {},
        source=source,
        holiday_notices=_holiday_notices(top, year),
        actions=_actions(top),
        honours=_honours(top),
    )


@cache
def _load_cached(path: str) -> Plan:
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PlanError(f"{p}: plan file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise PlanError(f"{p}: not a valid TOML file ({exc})") from None
    return parse_plan(raw, source=str(p))


def load_plan(path: str | Path | None = None) -> Plan:
    """Load and validate a plan file; ``None`` loads the shipped plan.

    >>> load_plan().targets["persistency"].rate
    0.6
    """
    return _load_cached(str(Path(path or PLAN_FILE).resolve()))


def plan_file(
    plan: str | Path | None = None,
    dataset: str | None = None,
    raw_dir: str | Path | None = None,
    *,
    folder: str | Path | None = None,
) -> Path:
    """The plan file in force: ``plan`` when given, else the dataset's own ``plan.toml`` when
    present (in ``folder``, or in ``<raw_dir>/<dataset>/``, default ``data/raw``), else the
    shipped plan.

    >>> plan_file().name
    'plan.toml'
    """
    if plan:
        path = Path(plan)
        if not path.is_file():
            raise PlanError(f"{path}: plan file not found")
        return path.resolve()
    if folder is None and dataset is not None:
        folder = Path(raw_dir or config.raw_dir()) / dataset
    if folder is not None:
        own = Path(folder) / DATASET_PLAN
        if own.is_file():
            return own.resolve()
    return PLAN_FILE


def plan_sha256(plan: Plan) -> str | None:
    """SHA-256 of the file a plan was loaded from (``None`` for a plan not read from a file)."""
    path = Path(plan.source)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def plan_label(path: str | Path) -> str:
    """How reports name a plan file: relative to the project root when inside it, the shipped
    plan as such, else the full path."""
    path = Path(path).resolve()
    if path == PLAN_FILE:
        return f"{PLAN_FILE.name}（随软件提供）"
    try:
        return path.relative_to(config.root()).as_posix()
    except ValueError:
        return str(path)

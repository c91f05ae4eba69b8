"""The plan as typed data, loaded from a TOML file (default: the shipped ``plan.toml``)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from ..config import PLAN_FILE
from ..exceptions import PlanError


@dataclass(frozen=True)
class Target:
    """One target of the plan: a rate on a base of policies."""

    key: str
    label: str
    rate: float
    product: str | None = None
    min_age: int | None = None
    max_age: int | None = None
    stated_count: int | None = None
    note: str = ""


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
class Plan:
    """Everything the plan fixes: bands, targets, phases, operations, playbook, figures."""

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
    figures: dict[str, Any]
    raw: dict[str, Any]
    source: str

    def section(self, dotted: str) -> Any:
        """Return a raw section of the plan file, e.g. ``plan.section("risk")``."""
        return _get(self.raw, dotted, self.source)

    def phase_of_month(self, month: int) -> Phase:
        """The phase a calendar month falls in."""
        for ph in self.phases:
            if ph.first_month <= month <= ph.last_month:
                return ph
        raise PlanError(f"{self.source}: no phase covers month {month} (key 'phases')")

    def playbook_for(self, age_band: str) -> dict[str, Any]:
        """The segment playbook row for an age band ({} when the plan has none)."""
        return next((p for p in self.playbook if p["age_band"] == age_band), {})


def _get(d: dict, dotted: str, source: str, kind: type | tuple | None = None) -> Any:
    cur: Any = d
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            raise PlanError(f"{source}: missing key '{dotted}'")
        cur = cur[part]
    if kind is not None and not isinstance(cur, kind):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise PlanError(f"{source}: key '{dotted}' should be {want}, got {cur!r}")
    return cur


def _increasing(values: list, key: str, source: str) -> None:
    if any(b <= a for a, b in zip(values, values[1:], strict=False)):
        raise PlanError(f"{source}: key '{key}' must be strictly increasing, got {values}")


def parse_plan(raw: dict[str, Any], source: str = "<plan>") -> Plan:
    """Validate a parsed plan file and return the typed :class:`Plan`."""
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
    targets = {}
    for key, t in g("targets", dict).items():
        rate = _get(raw, f"targets.{key}.rate", source, (int, float))
        if not 0 <= rate <= 1:
            raise PlanError(
                f"{source}: key 'targets.{key}.rate' must be between 0 and 1, got {rate}"
            )
        targets[key] = Target(
            key=key,
            label=_get(raw, f"targets.{key}.label", source, str),
            rate=float(rate),
            product=t.get("product"),
            min_age=t.get("min_age"),
            max_age=t.get("max_age"),
            stated_count=t.get("stated_count"),
            note=t.get("note", ""),
        )
    phases = []
    for i, ph in enumerate(g("phases", list)):
        months = _get(ph, "months", f"{source} phases[{i}]", list)
        if len(months) != 2 or not 1 <= months[0] <= months[1] <= 12:
            raise PlanError(f"{source}: key 'phases[{i}].months' must be [first, last] in 1..12")
        phases.append(
            Phase(
                key=_get(ph, "key", f"{source} phases[{i}]", str),
                name=_get(ph, "name", f"{source} phases[{i}]", str),
                first_month=months[0],
                last_month=months[1],
                focus=ph.get("focus", ""),
            )
        )
    playbook = tuple(g("playbook", list))
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
            _get(row, k, f"{source} playbook[{i}]")
    return Plan(
        title=g("plan.title", str),
        year=g("plan.year", int),
        products=tuple(g("plan.products", list)),
        age_labels=tuple(age_labels),
        age_lower=tuple(age_lower),
        below_age_label=g("bands.age.below_label", str),
        principal_labels=tuple(p_labels),
        principal_lower=tuple(float(x) for x in p_lower),
        targets=targets,
        phases=tuple(phases),
        calls_per_day=g("operations.calls_per_day", int),
        complaint_answer_days=g("operations.complaint_answer_days", int),
        call_lead_months=g("operations.call_lead_months", int),
        compensation_min_age=g("operations.compensation_min_age", int),
        playbook=playbook,
        figures=g("figures", dict),
        raw=raw,
        source=source,
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

"""The plan file: loads as typed data; a malformed file is an error naming the key."""

import dataclasses
import re
import tomllib

import pytest

from maturity_analysis import load_plan
from maturity_analysis.config import PLAN_FILE
from maturity_analysis.exceptions import PlanError
from maturity_analysis.ingest.forms import settings
from maturity_analysis.plan.model import RISK_RULES, Costs, SegmentTable, parse_plan


@pytest.fixture
def raw():
    return tomllib.loads(PLAN_FILE.read_text(encoding="utf-8"))


def test_shipped_plan_has_the_plans_targets():
    plan = load_plan()
    # 三、目标: 20% 保单转换, 30% 存款转换, 万能 持有率 60%, 投诉满意度 80%.
    assert {k: t.rate for k, t in plan.targets.items()} == {
        "policy_conversion": 0.20,
        "deposit_conversion": 0.30,
        "persistency": 0.60,
        "complaint_satisfaction": 0.80,
    }
    assert plan.calls_per_day == 20
    assert plan.complaint_answer_days == 7


def test_phases_cover_the_year_in_order():
    plan = load_plan()
    assert [p.name for p in plan.phases] == ["尝试期", "促进期", "提升期", "平稳期"]
    assert [plan.phase_of_month(m).key for m in range(1, 13)] == ["Q1"] * 3 + ["Q2"] * 3 + [
        "Q3"
    ] * 3 + ["Q4"] * 3
    assert str(plan.phases[1].end(2013)) == "2013-06-30"


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda r: r["targets"]["persistency"].pop("rate"), "targets.persistency.rate"),
        (lambda r: r["targets"]["persistency"].update(rate=60), "targets.persistency.rate"),
        (lambda r: r["bands"]["age"].update(lower=[20, 31, 31, 51, 61]), "bands.age.lower"),
        (lambda r: r["operations"].pop("calls_per_day"), "operations.calls_per_day"),
        (lambda r: r["phases"][0].update(months=[3, 1]), "phases[0].months"),
        (lambda r: r["playbook"][2].pop("amount_min"), "amount_min"),
    ],
)
def test_malformed_plan_names_the_key(raw, mutate, key):
    mutate(raw)
    with pytest.raises(PlanError, match=key.replace("[", r"\[").replace("]", r"\]")):
        parse_plan(raw, source="next-year.toml")


def test_missing_plan_file_is_a_clear_error(tmp_path):
    with pytest.raises(PlanError, match="plan file not found"):
        load_plan(tmp_path / "nope.toml")


# --- Every section is typed at load: a bad value fails at load_plan, naming the key ---------


def _plan_file(tmp_path, old, new):
    """The shipped plan.toml with the first line starting ``old`` (comments skipped) changed to
    start ``new``, written to tmp_path."""
    text = PLAN_FILE.read_text(encoding="utf-8")
    changed, n = re.subn(f"^{re.escape(old)}", lambda _: new, text, count=1, flags=re.M)
    assert n == 1, f"no line of plan.toml starts {old!r}"
    path = tmp_path / "next-year.toml"
    path.write_text(changed, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        # risk: a rule's points as text, a misspelt setting, a misspelt rule, a threshold
        ("points = 2\n", 'points = "2"\n', "risk.rules.below_deposit.points"),
        ("min_age = 50\n", "min_agee = 50\n", "risk.rules.age_at_maturity.min_age"),
        ("min_premium = 50000", 'min_premium = "5万"', "risk.rules.large_premium.min_premium"),
        ("[risk.rules.large_premium]", "[risk.rules.large_premiums]", "risk.rules"),
        (
            'product = "万能"\nreason',
            'product = "万能险"\nreason',
            "risk.rules.universal_as_maturity.product",
        ),
        ("a_min_points = 4", "a_min_points = 4.5", "risk.a_min_points"),
        # costs
        ("max_discount = 1.0", 'max_discount = "100%"', "costs.max_discount"),
        ("max_discount = 1.0", "max_discount = 0", "costs.max_discount"),
        ('replacement_amount = "min"', 'replacement_amount = "avg"', "costs.replacement_amount"),
        # compensation
        (
            "complaint_rate = 0.25",
            'complaint_rate = "25%"',
            "compensation.scenarios.central.complaint_rate",
        ),
        ("payout_rate = 0.30", "payout_rate = 30", "compensation.scenarios.high.payout_rate"),
        ('label = "低"\n', "label = 1\n", "compensation.scenarios.low.label"),
        ("payout_share = 1.0\n", "", "compensation.payout_share"),
        ('at_risk_ratings = ["A"]', 'at_risk_ratings = ["a"]', "compensation.at_risk_ratings"),
        ('payout_basis = "shortfall"', 'payout_basis = "fixed"', "compensation.payout_fixed_yuan"),
        # tracking
        ("policies_per_team = 300", 'policies_per_team = "300"', "tracking.policies_per_team"),
        ("confidence = 0.95\n", "", "tracking.confidence"),
        ("confidence = 0.95", "confidence = 95", "tracking.confidence"),
        ('yes_no = ["是", "否"]', 'yes_no = "是"', "tracking.yes_no"),
        ('hold_products = ["万能"]', 'hold_products = ["万能险"]', "tracking.hold_products"),
        ("template_rows = 200", "template_rows = 200\ntemplate_cols = 8", "tracking.template_cols"),
        ('home_visit = "上门"', 'home_visit = "到访"', "tracking.home_visit"),
        ('visit_modes = ["电话", "上门"]', 'visit_modes = "电话"', "tracking.visit_modes"),
        # actions and honours
        ("soon_days = 7", "soon_days = 0", "actions.soon_days"),
        (
            "complaint_open_workdays = 5",
            'complaint_open_workdays = "5"',
            "actions.complaint_open_workdays",
        ),
        ('risk_ratings = ["A"]', 'risk_ratings = ["D"]', "actions.key_customer.risk_ratings"),
        ("weight = 0.2", "weight = 0.3", "honours.criteria"),
        ('key = "reached"', 'key = "calls"', "honours.criteria[1].key"),
        ('period = "quarter"', 'period = "week"', "honours.awards[1].period"),
        ("winners = 3", "winners = 0", "honours.awards[0].winners"),
        # programme: a row's date, a phase row off its phase, a field missing or mistyped
        ('time = "1-3月"', 'time = "一季度"', "programme.push[2].time"),
        ('time = "4-6月"', 'time = "4-7月"', "programme.push[3].time"),
        ('time = "12月上旬"', 'time = "12月初"', "programme.december[0].time"),
        ("year_offset = -1", 'year_offset = "-1"', "programme.push[0].year_offset"),
        ('tools = "会议宣导PPT"', 'tool = "会议宣导PPT"', "programme.push[0].tools"),
        ('phase = "Q1"', 'phase = "Q5"', "programme.push[2].phase"),
        ('trainees = "理财经理、客户经理、柜员"', "trainees = 3", "programme.training[0].trainees"),
        ("fields = []", 'fields = ""', "programme.forms[2].fields"),
        # tables
        (
            'middle_bands = ["5-10万", "10-20万"]',
            'middle_bands = ["5-10万", "10-30万"]',
            "tables.segment.middle_bands",
        ),
        ('middle_label = "5-20万"\n', "", "tables.segment.middle_label"),
        (
            'product = "分红"\nmiddle_label',
            'product = "分红险"\nmiddle_label',
            "tables.segment.product",
        ),
        ("min_term = 8", 'min_term = "8年"', "tables.maturity_groups[0].min_term"),
        ("max_term = 5", "max_trem = 5", "tables.maturity_groups[1].max_trem"),
        (
            'label = "万能"\nproduct = "万能"',
            'name = "万能"\nproduct = "万能"',
            "tables.maturity_groups[2].label",
        ),
        # targets
        ('base = "complaints"', 'base = "complaint"', "targets.complaint_satisfaction.base"),
        ("stated_count = 3806", 'stated_count = "3806"', "targets.policy_conversion.stated_count"),
        ("max_age = 60", "max_agee = 60", "targets.policy_conversion.max_agee"),
    ],
)
def test_a_bad_plan_fails_at_load_naming_the_key(tmp_path, old, new, key):
    path = _plan_file(tmp_path, old, new)
    with pytest.raises(PlanError, match=re.escape(f"'{key}'")) as err:
        load_plan(path)
    assert str(path) in str(err.value)


def test_shipped_plan_holds_the_files_sections_typed(raw):
    plan = load_plan()
    risk = raw["risk"]
    assert list(plan.risk.rules) == [name for name in RISK_RULES if name in risk["rules"]]
    assert (plan.risk.a_min_points, plan.risk.b_min_points) == (
        risk["a_min_points"],
        risk["b_min_points"],
    )
    for name, rule in plan.risk.rules.items():
        assert (rule.points, rule.reason) == (
            risk["rules"][name]["points"],
            risk["rules"][name]["reason"],
        )
    assert plan.risk.rules["age_at_maturity"].min_age == risk["rules"]["age_at_maturity"]["min_age"]
    assert (
        plan.risk.rules["large_premium"].min_premium
        == risk["rules"]["large_premium"]["min_premium"]
    )

    assert plan.costs == Costs(**raw["costs"])
    comp = raw["compensation"]
    assert plan.compensation.at_risk_ratings == tuple(comp["at_risk_ratings"])
    assert plan.compensation.payout_basis == comp["payout_basis"]
    assert {
        k: (s.label, s.complaint_rate, s.payout_rate)
        for k, s in plan.compensation.scenarios.items()
    } == {
        k: (s["label"], s["complaint_rate"], s["payout_rate"]) for k, s in comp["scenarios"].items()
    }

    tracking = raw["tracking"]
    assert set(tracking) == {f.name for f in dataclasses.fields(plan.tracking)}
    for name, value in tracking.items():
        assert getattr(plan.tracking, name) == (tuple(value) if isinstance(value, list) else value)
    assert dataclasses.asdict(settings(plan)) == dataclasses.asdict(plan.tracking)

    seg = raw["tables"]["segment"]
    assert plan.tables.segment == SegmentTable(
        seg["product"], seg["middle_label"], tuple(seg["middle_bands"])
    )
    assert [dataclasses.asdict(g) for g in plan.tables.maturity_groups] == [
        {"product_name": None, "min_term": None, "max_term": None, **g}
        for g in raw["tables"]["maturity_groups"]
    ]

    prog = raw["programme"]
    assert [len(getattr(plan.programme, k)) for k in ("push", "training", "december", "forms")] == [
        len(prog[k]) for k in ("push", "training", "december", "forms")
    ]
    first = plan.programme.push[0]
    assert (first.time, first.year_offset, first.phase) == (
        prog["push"][0]["time"],
        prog["push"][0]["year_offset"],
        "",
    )
    assert [r.phase for r in plan.programme.push if r.phase] == [p["key"] for p in raw["phases"]]
    assert [f.fields for f in plan.programme.forms] == [tuple(f["fields"]) for f in prog["forms"]]

    assert {k: t.base for k, t in plan.targets.items()} == {
        k: t.get("base", "policies") for k, t in raw["targets"].items()
    }

"""The plan file: loads as typed data; a malformed file is an error naming the key."""

import tomllib

import pytest

from maturity_analysis import load_plan
from maturity_analysis.config import PLAN_FILE
from maturity_analysis.exceptions import PlanError
from maturity_analysis.plan.model import parse_plan


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

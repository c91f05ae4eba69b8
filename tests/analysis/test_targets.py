"""Targets from data (PLAN_FIGURES.md, 三、目标) and their allocation to branches and phases."""

import dataclasses
import math
from fractions import Fraction

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maturity_analysis.analysis.targets import (
    allocate,
    allocate_branches,
    allocate_phases,
    branch_phase_allocation,
    branch_targets,
    targets,
)
from maturity_analysis.plan.model import load_plan


@pytest.fixture(scope="module")
def sample_targets(sample_policies):
    return targets(sample_policies)


@pytest.mark.parametrize(
    ("key", "base", "exact", "goal", "stated"),
    [
        # 分红 aged 20-60 = 1054 + 3175 + 5355 + 3105 = 12689; 20% = 2537.8 -> 2538; stated 3806.
        pytest.param(
            "policy_conversion",
            12689,
            2537.8,
            2538,
            3806,
            id="Targets · 保单转换 20% of 分红 20-60 (可实现3806件)",
        ),
        # 三、目标 "另30%的存款转换(可实现4871件)": the base is all 分红, every age (Table 1
        # 分红 合计 16236; 30% = 4870.8 -> 4871 = the stated count). Issue #11: the old
        # expectation (分红 20-60, 3807) was wrong.
        pytest.param(
            "deposit_conversion",
            16236,
            4870.8,
            4871,
            4871,
            id="三、目标 · 存款转换 30% of all 分红 (可实现4871件)",
        ),
        # All 万能: 20587 (Table 1 合计); keep at least 60% = 12352.2 -> 12353 policies.
        pytest.param("persistency", 20587, 12352.2, 12353, None, id="Targets · 万能 持有率 60%"),
    ],
)
def test_targets_from_the_sample(sample_targets, key, base, exact, goal, stated):
    row = sample_targets.loc[key]
    assert row["基数"] == base
    assert row["比率×基数"] == pytest.approx(exact)
    assert row["目标件数"] == row["按比率件数"] == goal  # the rate's count binds by default
    assert row["目标比率"] == pytest.approx(goal / base)
    if stated is None:
        assert pd.isna(row["方案所述件数"])
    else:
        assert row["方案所述件数"] == stated
        assert row["差额"] == stated - goal


def test_complaint_target_takes_the_complaints_handled(sample_policies, sample_targets):
    # Targets: 投诉处理满意度 80%; its base is complaints, not policies.
    assert pd.isna(sample_targets.loc["complaint_satisfaction", "基数"])
    row = targets(sample_policies, complaints=41).loc["complaint_satisfaction"]
    assert (row["基数"], row["目标件数"]) == (41, 33)  # 80% of 41 = 32.8 -> 33


def test_allocation_by_branch_sums_to_the_target(sample_policies, sample_targets):
    by_branch = allocate_branches(sample_policies)
    for key, label in [("policy_conversion", "保单转换"), ("persistency", "万能险保单持有率")]:
        branches = by_branch.drop(index="合计", level=0)
        assert branches[(label, "目标件数")].sum() == sample_targets.loc[key, "目标件数"]
        assert branches[(label, "基数")].sum() == sample_targets.loc[key, "基数"]
        assert (
            by_branch.loc["合计", (label, "目标件数")].item() == sample_targets.loc[key, "目标件数"]
        )


def test_stated_basis_allocates_the_plans_counts(sample_policies):
    by_branch = allocate_branches(sample_policies, basis="stated")
    assert by_branch.loc["合计", ("保单转换", "目标件数")].item() == 3806
    assert by_branch.loc["合计", ("存款转换", "目标件数")].item() == 4871


def test_allocation_by_phase_follows_maturity_months(make_policies):
    # 分红 aged 20-60: three maturing in Q1, one in Q3 -> 20% of 4 = 0.8 -> 1, to Q1 (quota 0.75).
    book = make_policies(
        [
            {"maturity_date": d, "issue_date": "2008-01-01"}
            for d in ["2013-01-05", "2013-02-01", "2013-03-31", "2013-08-01"]
        ]
    )
    phases = allocate_phases(book)
    assert phases[("保单转换", "基数")].tolist() == [3, 0, 1, 0, 4]
    assert phases[("保单转换", "目标件数")].tolist() == [1, 0, 0, 0, 1]
    assert phases.index.get_level_values(1).tolist() == ["尝试期", "促进期", "提升期", "平稳期", ""]


def test_branch_without_eligible_policies_gets_none(make_policies):
    book = make_policies(
        [{"branch_code": "B01", "age": 40}] * 5 + [{"branch_code": "B02", "age": 70}] * 5
    )
    by_branch = allocate_branches(book)
    assert by_branch.loc["B02", ("保单转换", "目标件数")].item() == 0
    assert by_branch.loc["B01", ("保单转换", "目标件数")].item() == 1


def test_branch_phase_allocation_adds_up_to_each_branch(sample_policies):
    long = branch_phase_allocation(sample_policies)
    by_branch = allocate_branches(sample_policies).drop(index="合计", level=0)
    per_branch = long[long["target"] == "deposit_conversion"].groupby("branch_code")["allocated"]
    expected = by_branch[("存款转换", "目标件数")].droplevel(1)
    pd.testing.assert_series_equal(per_branch.sum(), expected, check_names=False)
    assert set(long["phase"]) == {"Q1", "Q2", "Q3", "Q4"}


def test_branch_targets_give_the_branch_its_share(make_policies):
    # B01: 6 dividend policies aged 40 maturing in Q1 and 4 in Q3; B02: 10 aged 40 in Q2.
    rows = [{"branch_code": "B01", "age": 40, "maturity_date": "2013-02-10"}] * 6
    rows += [{"branch_code": "B01", "age": 40, "maturity_date": "2013-08-10"}] * 4
    rows += [{"branch_code": "B02", "age": 40, "maturity_date": "2013-05-10"}] * 10
    book = make_policies(rows)
    mine = branch_targets(book, "B01")
    whole = allocate_branches(book)
    pd.testing.assert_frame_equal(mine["网点分配"], whole.loc[["B01"]])
    share = whole.loc["B01", ("保单转换", "目标件数")].item()
    assert share == 2  # 20% of the 20 eligible = 4, split 10:10
    # The branch's target is its allocated count; its rate is that count over its base.
    assert mine["目标"].loc["保单转换", "目标件数"] == share
    assert mine["目标"].loc["保单转换", "目标比率"] == pytest.approx(share / 10)
    phases = mine["阶段分配"][("保单转换", "目标件数")].droplevel([1, 2])
    assert phases.to_dict() == {"Q1": 1, "Q2": 0, "Q3": 1, "Q4": 0, "合计": 2}  # 1.2 and 0.8
    everyone = branch_targets(book)
    pd.testing.assert_frame_equal(everyone["网点分配"], whole)
    assert (
        everyone["目标"].loc["保单转换", "目标件数"]
        == whole.loc["合计", ("保单转换", "目标件数")].item()
    )


def test_all_phase_targets_are_the_sum_of_the_branches(sample_policies):
    # Issue #11: ALL's phase targets were split from the book total on their own and differed
    # from the sum of the branches' (Q2 550 vs 549); now one allocation, book → branch → phase.
    whole = allocate_phases(sample_policies)
    codes = sorted(sample_policies["branch_code"].astype(str).unique())
    summed = sum(allocate_phases(sample_policies, branch=c) for c in codes[:3])
    rest = sum(allocate_phases(sample_policies, branch=c) for c in codes[3:])
    pd.testing.assert_frame_equal(whole, summed + rest, check_dtype=False)
    long = branch_phase_allocation(sample_policies)
    q2 = long[long["phase"] == "Q2"].groupby("target")["allocated"].sum()
    assert whole.loc["Q2", ("存款转换", "目标件数")].item() == q2["deposit_conversion"]


def test_the_binding_count_is_a_plan_setting(sample_policies):
    # 三、目标: 保单转换 "20%" gives 2538 on 分红 20-60, the plan states 3806; binds chooses.
    plan = load_plan()
    assert plan.targets["policy_conversion"].binds == "rate"
    stated = dataclasses.replace(
        plan,
        targets={
            **plan.targets,
            "policy_conversion": dataclasses.replace(
                plan.targets["policy_conversion"], binds="stated"
            ),
        },
    )
    assert (
        allocate_branches(sample_policies, plan).loc["合计", ("保单转换", "目标件数")].item()
        == 2538
    )
    by_stated = allocate_branches(sample_policies, stated)
    assert by_stated.loc["合计", ("保单转换", "目标件数")].item() == 3806
    assert branch_targets(sample_policies, plan=stated)["目标"].loc["保单转换", "目标件数"] == 3806


# --- allocate: the largest-remainder method ----------------------------------------------


def test_allocate_by_hand():
    # Quotas of 10 over 5:3:2 with 7: 7 x 5/10 = 3.5, 2.1, 1.4 -> floors 3, 2, 1 (6); the one
    # left goes to the largest remainder (0.5, label A).
    assert allocate(7, pd.Series({"A": 5, "B": 3, "C": 2})).to_dict() == {"A": 4, "B": 2, "C": 1}


def test_ties_go_to_the_first_label():
    # 2 over three equal weights: quotas 2/3 each, all floors 0: B03 loses the tie.
    assert allocate(2, {"B02": 1, "B03": 1, "B01": 1}).to_dict() == {"B02": 1, "B03": 0, "B01": 1}


@pytest.mark.parametrize(
    ("total", "weights", "message"),
    [
        (-1, {"A": 1}, "total"),
        (1.5, {"A": 1}, "total"),
        (3, {"A": -1, "B": 2}, "weights"),
        (3, {"A": float("nan")}, "weights"),
        (3, {"A": 0, "B": 0}, "every weight is zero"),
    ],
)
def test_allocate_rejects(total, weights, message):
    with pytest.raises(ValueError, match=message):
        allocate(total, weights)


def test_allocate_nothing_over_zero_weights():
    assert allocate(0, {"A": 0, "B": 0}).tolist() == [0, 0]


labels = st.lists(
    st.text(alphabet="ABCDEFGH0123456789", min_size=1, max_size=4),
    min_size=1,
    max_size=25,
    unique=True,
)
weights_for = st.one_of(st.integers(0, 10_000), st.floats(0, 1e6, allow_nan=False))


@st.composite
def problems(draw):
    names = draw(labels)
    ws = draw(st.lists(weights_for, min_size=len(names), max_size=len(names)))
    if sum(ws) == 0:
        ws[0] = 1
    return draw(st.integers(0, 100_000)), pd.Series(ws, index=names, dtype=float)


@settings(derandomize=True, max_examples=300)
@given(problems())
def test_allocate_properties(problem):
    total, weights = problem
    parts = allocate(total, weights)
    assert parts.sum() == total
    assert (parts >= 0).all()
    assert (parts[weights == 0] == 0).all()
    assert list(parts.index) == list(weights.index)
    whole = sum(Fraction(w) for w in weights)
    for label, w in weights.items():  # each part is its quota rounded down or up
        quota = total * Fraction(w) / whole
        assert math.floor(quota) <= parts[label] <= math.ceil(quota)


@settings(derandomize=True, max_examples=200)
@given(problems(), st.randoms(use_true_random=False))
def test_allocate_is_deterministic_whatever_the_order(problem, rnd):
    total, weights = problem
    order = list(weights.index)
    rnd.shuffle(order)
    again = allocate(total, weights.loc[order])
    pd.testing.assert_series_equal(allocate(total, weights), again.loc[weights.index])

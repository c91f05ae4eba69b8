"""Issue #11 on the sample book: the plan's targets (三、目标), one verdict per target for every
branch, and the reconciliation saying whether the deposit base changes ALL's year verdict."""

import pandas as pd
import pytest

from maturity_analysis.analysis.evaluation import MET, NOT_MET, PENDING, by_branch, evaluate
from maturity_analysis.analysis.reconcile import reconciliation
from maturity_analysis.analysis.targets import branch_targets, targets
from maturity_analysis.sample.tracking import sample_tracking


@pytest.fixture(scope="module")
def tracking(sample_policies):
    return sample_tracking(sample_policies)


def test_all_targets_are_the_plans(sample_policies):
    # 三、目标: "另30%的存款转换(可实现4871件)" = 30% of all 16,236 分红 rounded up; "20%的保单转换
    # (可实现3806件)": 20% of 分红 20-60 (12,689) = 2,538, the plan states 3,806.
    goals = branch_targets(sample_policies)["目标"]
    assert goals.loc["存款转换", ["基数", "目标件数", "方案所述件数"]].tolist() == [
        16236,
        4871,
        4871,
    ]
    assert goals.loc["保单转换", ["基数", "目标件数", "方案所述件数"]].tolist() == [
        12689,
        2538,
        3806,
    ]
    assert targets(sample_policies).loc["policy_conversion", "考核口径"] == "按比率计算"


def test_the_evaluation_shows_progress_against_both_counts(sample_policies, tracking):
    s = evaluate(sample_policies, tracking, "2013").summary
    assert s.loc["policy_conversion", "目标"] == 2538  # binds (the plan file's default)
    assert s.loc["policy_conversion_other", "目标"] == 3806  # progress only
    assert s.loc["policy_conversion_other", "结论"] == "—"
    assert s.loc["deposit_conversion", "目标"] == 4871
    assert "policy_conversion_other" in s.index and "deposit_conversion_other" not in s.index


def test_count_and_rate_verdicts_agree_for_every_branch(sample_policies, tracking):
    # One verdict per target: the count target is the allocated count and the rate target is
    # allocated ÷ base, so the count is met exactly when the rate is (outside 待定).
    table = by_branch(sample_policies, tracking, "2013Q2")
    for key in ("policy_conversion", "deposit_conversion"):
        rows = table.xs(key, level="key")
        rate = rows["分子"] / rows["分母"]
        target_rate = rows["目标"] / rows["分母"]
        decided = rows["结论"].isin([MET, NOT_MET])
        assert decided.any()
        assert ((rows["实际"] >= rows["目标"]) == (rate >= target_rate))[decided].all()
        assert (
            rows.loc[decided, "结论"]
            == (rows["实际"] >= rows["目标"])[decided].map({True: MET, False: NOT_MET})
        ).all()
        assert rows["结论"].isin([MET, NOT_MET, PENDING, "—"]).all()
    # The 03 targets of one branch: its count is its allocated count, its rate count ÷ base.
    code = table.index.get_level_values("branch_code")[0]
    goals = branch_targets(sample_policies, code)["目标"]
    allocated = branch_targets(sample_policies, code)["网点分配"]
    row = goals.loc["存款转换"]
    assert row["目标件数"] == allocated[("存款转换", "目标件数")].iloc[0]
    assert row["目标比率"] == pytest.approx(row["目标件数"] / row["基数"])


def test_the_reconciliation_says_the_base_flips_alls_year_verdict(sample_policies, tracking):
    # Computed: on all 分红 the year's 转存 against 4,871, and on the sentence's 20-60 base
    # against 3,807; the row says whether the verdict changes.
    first = tracking.outcomes.drop_duplicates("policy_no").set_index("policy_no")["outcome"]
    outcome = sample_policies["policy_no"].map(first)
    participating = sample_policies["product_type"] == "分红"
    in_20_60 = participating & sample_policies["age"].between(20, 60)
    done_all = int((participating & (outcome == "转存")).sum())
    done_20_60 = int((in_20_60 & (outcome == "转存")).sum())
    flips = (done_all >= 4871) != (done_20_60 >= 3807)
    row = reconciliation(sample_policies, tracking=tracking)
    row = row[row["figure"] == "存款转换目标件数"].iloc[0]
    assert f"存款转换{done_all:,}件，目标4,871件" in row["explanation"]
    assert f"{done_20_60:,}件，目标3,807件" in row["explanation"]
    assert ("口径改变了全年结论" in row["explanation"]) == flips
    assert pd.notna(row["status"])

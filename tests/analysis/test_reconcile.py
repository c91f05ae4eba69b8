"""The reconciliation of the plan's stated figures against the sample (PLAN_FIGURES.md)."""

import pytest

from maturity_analysis.analysis.reconcile import (
    COLUMNS,
    STATUSES,
    reconciliation,
    summary,
)
from maturity_analysis.output.display import display_width, format_reconciliation, render_text


@pytest.fixture(scope="module")
def rec(sample_policies):
    return reconciliation(sample_policies)


def one(rec, source):
    rows = rec[rec["source"] == source]
    assert len(rows) == 1, source
    return rows.iloc[0]


def test_shape(rec):
    assert list(rec.columns) == COLUMNS
    assert set(rec["status"]) <= set(STATUSES)
    assert rec["source"].is_unique
    # Anything that is not exact says why.
    assert (rec.loc[rec["status"] != "exact", "explanation"].str.len() > 0).all()


def test_table1_is_exact_everywhere(rec):
    # PLAN_FIGURES.md, Table 1: 2 products x 6 rows (5 bands + 合计) x 5 columns, every one exact.
    t1 = rec[rec["source"].str.startswith("方案表1 ")]
    assert len(t1) == 60
    assert (t1["status"] == "exact").all()
    # Cells absent from the text are marked as recovered from the totals.
    recovered = one(rec, "方案表1 · 31-40 · 万能 5-10万")
    assert (recovered["stated"], recovered["reproduced"]) == (28, 28)
    assert "恢复" in recovered["explanation"]


@pytest.mark.parametrize(
    ("source", "stated", "status"),
    [
        pytest.param(
            "方案表2 · 正文“万能险件数高于分红险4351件”",
            4351,
            "exact",
            id="Table 2 text · 4351 exact",
        ),
        pytest.param("方案表2 · 41-50 · 总件数", 12402, "exact", id="方案表2 · 41-50 · 总件数"),
        pytest.param("方案表2 · 合计 · 总件数", 36823, "exact", id="方案表2 · 合计 · 总件数"),
        pytest.param("方案表3 · 5万以下 · 件数", 35342, "exact", id="方案表3 · 5万以下"),
        pytest.param("方案表3 · 5-10万 · 件数", 1116, "exact", id="方案表3 · 5(含)-10万"),
        pytest.param("方案表3 · 10-20万 · 件数", 294, "exact", id="方案表3 · 10(含)-20万"),
        pytest.param("方案表3 · 20万及以上 · 件数", 71, "exact", id="方案表3 · 20万及以上"),
        pytest.param("客户细分表 · 20-30 · 5-20万", 31, "exact", id="Segment · 20-30 · 31件"),
        pytest.param("客户细分表 · 31-40 · 5-20万", 78, "exact", id="Segment · 31-40 · 78件"),
        pytest.param("客户细分表 · 41-50 · 5-20万", 146, "exact", id="Segment · 41-50 · 146件"),
        pytest.param("客户细分表 · 51-60 · 5-20万", 131, "exact", id="Segment · 51-60 · 131件"),
        pytest.param("客户细分表 · 61以上 · 5-20万", 99, "exact", id="Segment · 61以上 · 99件"),
        pytest.param(
            "方案表3 · 正文“[95.98]%”",
            95.98,
            "within rounding",
            id="Table 3 text · 95.98% within rounding",
        ),
    ],
)
def test_status(rec, source, stated, status):
    row = one(rec, source)
    assert row["stated"] == pytest.approx(stated)
    assert row["status"] == status


def test_policy_conversion_count_disagrees_with_its_rate(rec):
    # 三、目标: 20% of 分红 20-60 12,689 = 2,537.8 → 2,538, not 3,806; 3,806 = 30% of 12,689
    # (3,806.7, truncated). One verdict: 不一致, the reproduced figure the target count 2,538.
    row = one(rec, "三、目标 · 保单转换 · 可实现3806件")
    assert row["status"] == "discrepancy"
    assert (row["stated"], row["reproduced"]) == (3806, 2538)
    assert "30% ×" in row["explanation"] and "12,689" in row["explanation"]
    assert "截尾" in row["explanation"] and "相差+1,268件" in row["explanation"]


def test_deposit_conversion_is_30_percent_of_all_participating_rounded_up(rec):
    # 三、目标: 4,871 = 30% of all 16,236 分红 = 4,870.8, rounded up; the base is every age.
    # Issue #11: this was 舍入内一致 against a 20-60 base while §1 said the plan states 1,064
    # more; now the target is 4,871 and the figure is the same: 一致.
    row = one(rec, "三、目标 · 存款转换 · 可实现4871件")
    assert row["status"] == "exact"
    assert row["reproduced"] == 4871
    assert "16,236" in row["explanation"] and "向上取整" in row["explanation"]


def test_target_rows_say_the_same_as_the_targets_section(sample_policies, rec):
    # One verdict per figure: 一致 exactly when the targets section's count is the stated one.
    from maturity_analysis.analysis.targets import targets

    goals = targets(sample_policies)
    for key, label in [("policy_conversion", "保单转换"), ("deposit_conversion", "存款转换")]:
        row = rec[rec["figure"] == f"{label}目标件数"].iloc[0]
        same = goals.loc[key, "按比率件数"] == goals.loc[key, "方案所述件数"]
        assert (row["status"] == "exact") == same
        assert row["reproduced"] == goals.loc[key, "按比率件数"]


def test_table2_7074_is_a_typo_for_7047(rec):
    # Table 2: the text prints 7074 where the 41-50 万能 count 7047 belongs.
    row = one(rec, "方案表2 · 41-50 · 万能 件数")
    assert (row["stated"], row["reproduced"], row["status"]) == (7074, 7047, "discrepancy")
    assert "7047" in row["explanation"] and "笔误" in row["explanation"]


@pytest.mark.parametrize(
    ("source", "stated"),
    [
        pytest.param("方案表4 · 61以上 · 分红 保费", 3880, id="方案表4 · 61以上 · 分红 3880万元"),
        pytest.param("方案表4 · 61以上 · 万能 保费", 2219, id="方案表4 · 61以上 · 万能 2219万元"),
        pytest.param("方案表4 · 61以上 · 保费合计", 6099, id="方案表4 · 61以上 · 合计 6099万元"),
        pytest.param("方案表4 · 共计", 30721, id="方案表4 · 共计 30721万元"),
    ],
)
def test_table4_reproduces_the_first_reading_but_cannot_be_verified(rec, source, stated):
    row = one(rec, source)
    assert row["status"] == "not verifiable"
    assert round(row["reproduced"]) == stated
    assert "无法完全核实" in row["explanation"] and "第一种读法一致" in row["explanation"]


def test_stripped_percentages_are_not_verifiable(rec):
    # Table 2 text: "4351件,%": the digits of 11.82% were lost.
    row = one(rec, "方案表2 · 正文“4351件,%”")
    assert row["status"] == "not verifiable"
    assert round(row["reproduced"], 2) == 11.82


def test_mismatching_data_is_a_discrepancy(make_policies):
    rec = reconciliation(make_policies([{"age": 25}, {"age": 45}]))
    row = one(rec, "方案表1 · 20-30 · 分红 合计")
    assert (row["stated"], row["reproduced"], row["status"]) == (1054, 1, "discrepancy")
    assert "相差-1,053件" in row["explanation"]
    t4 = one(rec, "方案表4 · 共计")
    assert t4["status"] == "not verifiable" and "不符" in t4["explanation"]


def test_summary_and_reading_copy(rec):
    counts = summary(rec)
    assert list(counts.index) == list(STATUSES)
    assert counts.sum() == len(rec)
    shown = format_reconciliation(rec)
    assert list(shown.columns) == ["指标", "出处", "方案数字", "数据重现", "单位", "状态", "说明"]
    row = shown[shown["出处"] == "方案表3 · 正文“[95.98]%”"].iloc[0]
    assert (row["方案数字"], row["数据重现"], row["状态"]) == ("95.98%", "95.98%", "舍入内一致")


def test_render_text_aligns_columns(rec):
    lines = render_text(rec).splitlines()
    header, body = lines[0], lines[2 : 2 + len(rec)]
    assert header.startswith("指标")
    # The 单位 column starts at the same display column on every line.
    start = display_width(header[: header.index("单位")])
    shown = format_reconciliation(rec)
    for line, reproduced, unit in zip(body, shown["数据重现"], shown["单位"], strict=True):
        cut = line.index(f"{reproduced}  {unit}") + len(reproduced) + 2
        assert display_width(line[:cut]) == start
    assert lines[-1].startswith("一致 ")


def test_average_premium_is_an_approximation_not_within_rounding(rec):
    # Table 3's text: "件均1万元". The sample's average is about 0.83万元: 1 is the plan's round
    # figure (compared at 0.1万元: 0.8 ≠ 1.0), 17% off, inside the 20% an approximation allows.
    row = one(rec, "方案表3 · 正文“件均1万元”")
    assert row["stated"] == 1
    assert round(row["reproduced"], 1) == 0.8
    assert row["status"] == "approximate"
    assert format_reconciliation(rec.loc[[row.name]]).iloc[0]["状态"] == "近似"
    assert "约数" in row["explanation"] and "20%" in row["explanation"]


def test_far_average_is_a_discrepancy_and_near_one_within_rounding():
    from maturity_analysis.analysis.reconcile import _approximate

    assert _approximate(0.5, 1, 1)[0] == "discrepancy"  # 50% off
    assert _approximate(1.04, 1, 1)[0] == "within rounding"  # 1.0 at 0.1万元
    assert _approximate(0.86, 1, 1)[0] == "approximate"  # 0.9 ≠ 1.0, 14% off


def test_sources_and_explanations_read_as_chinese(rec):
    # The reader sees the plan's table names, not PLAN_FIGURES.md's English headings.
    assert not rec["source"].str.contains(r"[A-Za-z]").any()
    assert not rec["explanation"].str.contains("PLAN_FIGURES|\\.md", regex=True).any()

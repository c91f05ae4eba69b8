"""The 全辖 charts of an area of many branches draw a bar a 支局 (plots.charted): the sample's
48 branches against limits either side of 48, and each notebook saying the limit it uses."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import maturity_analysis  # noqa: E402
from maturity_analysis.analysis.evaluation import beside, by_branch, by_sub_branch  # noqa: E402
from maturity_analysis.analysis.targets import allocate_sub_branches, branch_targets  # noqa: E402
from maturity_analysis.output import plots  # noqa: E402
from maturity_analysis.sample.tracking import sample_tracking  # noqa: E402

NOTEBOOKS = Path(maturity_analysis.__file__).parent / "notebooks"


@pytest.fixture(scope="module")
def tables(sample_policies):
    tracking = sample_tracking(sample_policies)
    return by_branch(sample_policies, tracking, "2013"), by_sub_branch(
        sample_policies, tracking, "2013"
    )


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _units(frame):
    return list(dict.fromkeys(frame.index.get_level_values(0)))


def test_the_whole_area_charts_its_sub_branches_past_the_limit(sample_policies, tables):
    branches, subs = tables
    assert len(_units(branches)) == 48
    assert _units(plots.charted(branches, subs, "ALL", limit=47)) == _units(subs)
    assert len(_units(subs)) == 6
    assert plots.charted(branches, subs, "ALL", limit=48) is branches
    assert plots.charted(branches, subs, "ALL") is branches  # the sample's charts: 48 bars
    assert plots.MAX_BRANCH_BARS >= 48


def test_a_sub_branch_and_a_branch_keep_their_branches(sample_policies, tables):
    branches, subs = tables
    for unit in ["支局:城东支局", "420105"]:
        rows = beside(branches, sample_policies, unit)
        assert plots.charted(rows, subs, unit, limit=1) is rows
        assert len(_units(rows)) == 8


def test_branches_that_name_no_sub_branch_stay_branches(tables):
    branches, subs = tables
    assert plots.charted(branches, subs.iloc[:0], "ALL", limit=1) is branches


def test_a_chart_of_sub_branches_labels_each_sub_branch(tables):
    branches, subs = tables
    keys = ["policy_conversion", "persistency"]
    axes = plots.kpis_by_branch(plots.charted(branches, subs, "ALL", limit=1), keys, "ALL")
    assert [ax.get_title() for ax in axes] == ["保单转换：各支局", "万能险保单持有率：各支局"]
    assert [t.get_text() for t in axes[0].branch_labels] == _units(subs)
    # a bar a 支局: its 保单转换 达成率 (the 支局's conversions ÷ its allocated target)
    shares = subs.xs("policy_conversion", level="key")["达成率"].tolist()
    assert [p.get_width() for p in axes[0].patches] == pytest.approx(shares)
    assert [ax.get_title() for ax in plots.kpis_by_branch(branches, keys, "ALL")] == [
        "保单转换：各网点",
        "万能险保单持有率：各网点",
    ]


def test_the_allocation_chart_of_sub_branches_adds_up_to_the_area(sample_policies):
    by_branch_rows = branch_targets(sample_policies)["网点分配"]
    by_sub = allocate_sub_branches(sample_policies)
    ax = plots.allocation_bars(plots.charted(by_branch_rows, by_sub, "ALL", limit=1))
    heights = [p.get_height() for p in ax.patches]  # six rows: upright bars
    assert len(heights) == 6 * 3  # 6 支局 × 保单转换, 存款转换, 万能险保单持有率
    # 三、目标: 2,538 保单转换 (20% of 12,689), 4,871 存款转换 (30% of 16,236), the sample's
    # 12,353 万能险 to keep (60%): each 支局 its branches' sum, the 支局 together the area.
    assert [sum(heights[i * 6 : (i + 1) * 6]) for i in range(3)] == [2538, 4871, 12353]


@pytest.mark.parametrize("name", ["03_targets", "04_quarterly_evaluation"])
def test_each_notebook_states_the_limit_it_charts_by(name):
    cells = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
    text = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert f"网点多于{plots.MAX_BRANCH_BARS}个时" in text
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "ma.plots.charted(" in code

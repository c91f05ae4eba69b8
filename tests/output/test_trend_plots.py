"""The trend charts: a line per KPI and its target, for a unit and for each child unit."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from maturity_analysis import plots  # noqa: E402
from maturity_analysis.analysis.trends import COLUMNS  # noqa: E402

KPIS = [  # key, label, measure, actual per month, target per month
    ("policy_conversion", "保单转换", "件", [2, 4, 5], [1, 2, 2]),
    ("deposit_conversion", "存款转换", "件", [1, 2, 2], [1, 3, 4]),
    ("persistency", "万能险保单持有率", "%", [math.nan, 0.5, 0.5], [0.6] * 3),
    ("calls_per_team_day", "日均回访量(每团队)", "访", [3, 4, 5], [20] * 3),
]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def trend():
    rows = []
    for unit, scale in (("ALL", 1), ("B1", 0.5), ("B2", 2)):
        for key, label, measure, actual, target in KPIS:
            for month, (a, t) in enumerate(zip(actual, target, strict=True), start=1):
                a = a * scale
                rows.append((month, unit, unit, key, label, measure, a, t, a, 1, a / t))
    return pd.DataFrame(rows, columns=COLUMNS)


def test_trend_lines_draw_each_kpi_and_its_target(trend):
    axes = plots.trend_lines(trend)
    assert [ax.get_title() for ax in axes] == ["累计件数", "累计比率", "日均回访量(访)"]
    counts, rates, calls = axes
    labels = [line.get_label() for line in counts.get_lines()]
    assert labels == ["保单转换", "保单转换目标", "存款转换", "存款转换目标"]
    assert counts.get_lines()[1].get_linestyle() == "--"
    assert list(counts.get_lines()[0].get_ydata()) == [2, 4, 5]
    assert list(counts.get_lines()[3].get_ydata()) == [1, 3, 4]
    assert len(rates.get_lines()) == 2 and len(calls.get_lines()) == 2
    assert list(calls.get_lines()[1].get_ydata()) == [20, 20, 20]


def test_trend_lines_of_another_unit(trend):
    counts = plots.trend_lines(trend, unit="B2")[0]
    assert list(counts.get_lines()[0].get_ydata()) == [4, 8, 10]
    assert counts.figure.get_suptitle().startswith("B2：")


def test_trend_facets_one_panel_per_child_with_a_line_per_kpi_and_the_target(trend):
    axes = plots.trend_facets(trend, kpis=["policy_conversion", "persistency"])
    assert [ax.get_title() for ax in axes] == ["B1", "B2"]  # the parent left out
    assert axes[0].figure.axes == list(axes)  # no empty panel left in the grid
    for ax, scale in zip(axes, (0.5, 2), strict=True):
        lines = ax.get_lines()
        assert len(lines) == 3  # two KPIs and the 100% line
        assert np.allclose(lines[0].get_ydata(), np.array([2, 2, 2.5]) * scale)
        assert list(lines[-1].get_ydata()) == [1, 1] and lines[-1].get_linestyle() == "--"
    fig = axes[0].figure
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "保单转换",
        "万能险保单持有率",
        "目标(100%)",
    ]


def test_trend_facets_without_children_draw_nothing(trend):
    before = plt.get_fignums()
    assert plots.trend_facets(trend[trend["unit"] == "ALL"]) is None
    assert plt.get_fignums() == before


def test_trend_facets_without_data_still_draw_the_target(trend):
    empty = trend.assign(actual=math.nan, ratio=math.nan)
    axes = plots.trend_facets(empty)
    assert all(len(ax.get_lines()) == len(KPIS) + 1 for ax in axes)


def test_trend_facets_wrap_without_empty_panels(trend):
    """Three units in rows of two: the fourth cell is removed, and the panel above it (the
    lowest of its column) shows the months; only the first column is labelled 累计达成率."""
    axes = plots.trend_facets(trend, units=["ALL", "B1", "B2"], col_wrap=2)
    assert len(axes[0].figure.axes) == 3
    assert [ax.get_xlabel() for ax in axes] == ["", "月份", "月份"]
    assert [ax.get_ylabel() for ax in axes] == ["累计达成率", "", "累计达成率"]
    assert axes[1].xaxis.get_tick_params()["labelbottom"]


def test_trend_facets_show_every_point_on_their_shared_scale(trend):
    """The panels share one y scale from 0 that holds every unit's highest ratio: B2's are
    four times B1's, and B1's panel is drawn first."""
    axes = plots.trend_facets(trend)
    highest = max(np.nanmax(line.get_ydata()) for ax in axes for line in ax.get_lines())
    for ax in axes:
        bottom, top = ax.get_ylim()
        assert bottom == 0 and top >= highest

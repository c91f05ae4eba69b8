"""Charts of every branch drawn once per process, each report's branch marked over them
(output/marks.py): the same pixels as drawing the marked chart whole, cold or warm."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from maturity_analysis.output import marks, plots  # noqa: E402

KEYS = ["persistency", "policy_conversion", "complaint_satisfaction"]
BRANCHES = ["420101", "420102", "420103", "4201041"]  # one code longer: a wider margin


def _table(shift: float = 0.0) -> pd.DataFrame:
    rows = []
    for k, key in enumerate(KEYS):
        for b, code in enumerate(BRANCHES):
            count = key == "policy_conversion"
            value = 0.3 + 0.1 * b + 0.05 * k + shift
            rows.append(
                {
                    "branch_code": code,
                    "key": key,
                    "KPI": {"persistency": "万能险保单持有率", "policy_conversion": "保单转换"}.get(
                        key, "投诉处理满意度"
                    ),
                    "单位": "件" if count else "%",
                    "实际": 10 + b if count else value,
                    "目标": 8 if count else 0.6,
                    "达成率": (10 + b) / 8 if count else value / 0.6,
                    "达标": b % 2 == 0,
                    "区间下限": np.nan if count else value - 0.1,
                    "区间上限": np.nan if count else value + 0.1,
                }
            )
    return pd.DataFrame(rows).set_index(["branch_code", "key"])


def _whole(fig) -> np.ndarray:
    """The figure drawn whole, as if it had no mark."""
    mark = fig.branch_mark
    del fig.branch_mark
    try:
        fig.canvas.draw()
        return np.asarray(fig.canvas.get_renderer().buffer_rgba()).copy()
    finally:
        fig.branch_mark = mark


@pytest.fixture(autouse=True)
def _fresh():
    marks._plain.clear()
    yield
    marks._plain.clear()
    plt.close("all")


@pytest.mark.parametrize("panels", [False, True])
def test_a_marked_chart_has_the_pixels_of_drawing_it_whole_cold_and_warm(panels):
    table = _table()
    for code in ["420102", "420101", "420103", "420102"]:  # the first cold, then kept
        if panels:
            fig = plots.kpis_by_branch(table, KEYS, highlight=code)[0].figure
        else:
            fig = plots.kpi_by_branch(table, "persistency", highlight=code).figure
        assert [t.get_text() for t in fig.branch_mark.texts].count(f"▶ {code}") == (
            2 if panels else 1
        )  # one label a row of panels
        np.testing.assert_array_equal(marks.pixels(fig, fig.branch_mark), _whole(fig))
        plt.close(fig)
    assert len(marks._plain) == 1  # one plain chart for the four reports


def test_a_report_built_warm_shows_the_bytes_it_shows_built_cold():
    table = _table()
    cold = plots.figure_png(plots.kpis_by_branch(table, KEYS, highlight="420103")[0].figure)
    marks._plain.clear()
    plots.figure_png(plots.kpis_by_branch(table, KEYS, highlight="420101")[0].figure)
    warm = plots.figure_png(plots.kpis_by_branch(table, KEYS, highlight="420103")[0].figure)
    assert warm == cold


def test_the_key_is_the_content_and_the_layout():
    def key(table, code="420102"):
        return plots.kpis_by_branch(table, KEYS, highlight=code)[0].figure.branch_mark.key

    assert key(_table()) == key(_table()) == key(_table(), "420101")
    assert key(_table(shift=0.01)) != key(_table())  # another figure: drawn afresh
    assert key(_table(), "4201041") != key(_table())  # its longer label widens the margin
    plain = key(_table())
    with plt.rc_context({"font.size": 13}):
        assert key(_table()) != plain  # matplotlib's settings are part of the key
    unmarked = plots.kpis_by_branch(_table(), KEYS)[0].figure  # no branch marked (ALL)
    assert marks.marked(unmarked) is None


def test_at_most_kept_plain_charts_per_process():
    for i in range(marks.KEPT + 3):
        fig = plots.kpi_by_branch(_table(shift=i / 100), "persistency", highlight="420101").figure
        plots.figure_png(fig)
        plt.close(fig)
    assert len(marks._plain) == marks.KEPT

"""Every chart of every report notebook, as its cells draw it for the whole area, a 支局 and a
branch: each point and bar inside its axes, each text inside the figure, and no text over
another (a branch's name over its neighbour's, one panel's last tick over the next one's
first). The notebooks' code cells run in this process, as ``benchmarks/charts.py`` runs them,
on a dataset of two 支局 of eight branches each with its year of tracking forms."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.text import Text  # noqa: E402

import maturity_analysis  # noqa: E402
from maturity_analysis.analysis.book import sub_branch_unit  # noqa: E402
from maturity_analysis.ingest.dataset import prepare  # noqa: E402
from maturity_analysis.output import plots  # noqa: E402
from maturity_analysis.sample.book import scaled_policies  # noqa: E402
from maturity_analysis.sample.tracking import write_tracking  # noqa: E402

NOTEBOOKS = sorted((Path(maturity_analysis.__file__).parent / "notebooks").glob("0*.ipynb"))
DATASET = "layout"
SLACK = 2  # pixels two texts may share (antialiased edges), or a text may pass the edge by


@pytest.fixture(scope="module")
def charts(tmp_path_factory):
    """{(unit, notebook, cell): :func:`_measured` chart} of every chart the notebooks draw."""
    root = tmp_path_factory.mktemp("layout")
    raw = root / "raw" / DATASET
    raw.mkdir(parents=True)
    book = scaled_policies(2_400, seed=5, branches=16)
    write_tracking(raw, book)
    book.to_csv(raw / "policies.csv", index=False, date_format="%Y-%m-%d")
    processed = root / "processed"
    prepare(raw, processed / DATASET)
    sub_branch = sorted(book["支局"].unique())[0]
    branch = sorted(book.loc[book["支局"] == sub_branch, "网点代码"].astype(str))[0]
    measured = {}
    for unit in ("ALL", sub_branch_unit(sub_branch), branch):
        for notebook in NOTEBOOKS:
            cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
            code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
            namespace: dict = {}
            for i, source in enumerate(code):
                if i == 1:  # after the parameters cell, as papermill injects them
                    namespace.update(
                        dataset=DATASET, branch=unit, period="2013", processed_dir=str(processed)
                    )
                exec(compile(source, f"{notebook.stem}[{i}]", "exec"), namespace)  # noqa: S102
                for number in plt.get_fignums():
                    measured[(unit, notebook.stem[:2], i)] = _measured(plt.figure(number))
                plt.close("all")
    return measured


def _measured(fig) -> dict:
    """A chart drawn as the report draws it: its size in pixels, each drawn text's box, and
    each axes' data (line points, bar corners; not lines across the axes such as a target's)
    with its view limits."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    data = []
    for ax in fig.axes:
        in_data = [a for a in ax.lines + ax.patches if a.get_transform() == ax.transData]
        points = [a.get_xydata() for a in in_data if isinstance(a, Line2D)]
        points += [
            [(p.get_x(), p.get_y()), (p.get_x() + p.get_width(), p.get_y() + p.get_height())]
            for p in in_data
            if isinstance(p, Rectangle)
        ]
        for xy in points:
            data.append((ax.get_title(), np.asarray(xy, float), ax.get_xlim(), ax.get_ylim()))
    return {
        "size": fig.canvas.get_width_height(physical=True),
        "texts": [(t.get_text(), t.get_window_extent(renderer)) for t in _shown_texts(fig)],
        "data": data,
    }


def _shown_texts(fig) -> list[Text]:
    """The figure's texts that are drawn: visible, not empty, and no tick label of a tick
    outside its axis's view (matplotlib keeps those but does not draw them)."""
    hidden = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            ticks = axis.get_major_ticks() + axis.get_minor_ticks()
            every = {t for tick in ticks for t in (tick.label1, tick.label2)}
            drawn = {t for tick in axis._update_ticks() for t in (tick.label1, tick.label2)}
            hidden |= every - drawn
    return [
        t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and t not in hidden
    ]


def test_the_notebooks_draw_charts_for_every_unit(charts):
    units = {unit for unit, _, _ in charts}
    assert len(units) == 3
    for unit in units:
        assert {nb for u, nb, _ in charts if u == unit} == {"01", "02", "03", "04"}


def test_every_point_and_bar_lies_inside_its_axes(charts):
    outside = []
    for where, chart in charts.items():
        for title, xy, xlim, ylim in chart["data"]:
            (x0, x1), (y0, y1) = sorted(xlim), sorted(ylim)
            ex, ey = (x1 - x0) * 1e-6, (y1 - y0) * 1e-6
            x, y = xy[np.isfinite(xy).all(axis=1)].T
            if ((x < x0 - ex) | (x > x1 + ex) | (y < y0 - ey) | (y > y1 + ey)).any():
                outside.append((where, title, float(y.max()), (y0, y1)))
    assert outside == []


def test_every_text_lies_inside_its_figure(charts):
    outside = []
    for where, chart in charts.items():
        width, height = chart["size"]
        for text, box in chart["texts"]:
            if min(box.x0, box.y0) < -SLACK or box.x1 > width + SLACK or box.y1 > height + SLACK:
                outside.append((where, text))
    assert outside == []


def test_no_text_lies_over_another(charts):
    over = []
    for where, chart in charts.items():
        texts = chart["texts"]
        for i, (text, a) in enumerate(texts):
            for other, b in texts[i + 1 :]:
                wide = min(a.x1, b.x1) - max(a.x0, b.x0)
                tall = min(a.y1, b.y1) - max(a.y0, b.y0)
                if wide > SLACK and tall > SLACK:
                    over.append((where, text, other))
    assert over == []


def test_panels_side_by_side_leave_room_for_the_ticks_at_their_edges():
    """Two panels of branch bars whose x axes both run 0%-100%: the first panel's last tick
    label (100%) and the second's first (0%) meet in the gap between them, and must not touch."""
    rows = [
        {
            "branch_code": code,
            "key": key,
            "KPI": name,
            "单位": "%",
            "实际": 0.5 + 0.1 * b,
            "目标": 0.9,
            "达成率": (0.5 + 0.1 * b) / 0.9,
            "达标": b % 2 == 0,
            "区间下限": np.nan,
            "区间上限": np.nan,
        }
        for key, name in (
            ("complaint_satisfaction", "投诉处理满意度"),
            ("answered_in_time", "7天内答复率"),
        )
        for b, code in enumerate(("420101", "420102", "420103"))
    ]
    table = pd.DataFrame(rows).set_index(["branch_code", "key"])
    axes = plots.kpis_by_branch(table, ["complaint_satisfaction", "answered_in_time"])
    for ax in axes:
        ax.set_xlim(0, 1)
    texts = _measured(axes[0].figure)["texts"]
    plt.close("all")
    last = next(box for text, box in texts if text == "100%")  # the first panel's
    first = [box for text, box in texts if text == "0%"][1]  # the second panel's
    assert last.x1 + SLACK < first.x0

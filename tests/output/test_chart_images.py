"""Charts' embedded PNGs: a palette of at most 256 colours, the same pixels' size, the chart's
colours kept, and the same bytes for the same chart."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from maturity_analysis.output import plots  # noqa: E402


def _png(fig) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


def _chart() -> bytes:
    """A real chart: Chinese title and labels, antialiased text, bars in the risk colours."""
    plots.setup()
    fig, ax = plt.subplots(figsize=(4, 2.5), layout="constrained")
    ax.bar(["A级", "B级", "C级"], [3, 5, 2], color=list(plots.RISK_COLORS.values()))
    ax.set_title("风险等级 件数")
    return _png(fig)


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGBA"))


def test_a_chart_becomes_a_palette_png_of_the_same_size_and_smaller():
    original = _chart()
    compact = plots.compact_png(original)
    with Image.open(io.BytesIO(compact)) as image:
        assert image.mode == "P"
        assert len(image.getcolors(maxcolors=1 << 16)) <= plots.PNG_COLORS
    assert _pixels(compact).shape == _pixels(original).shape
    assert len(compact) < len(original)


def test_every_pixel_keeps_a_near_colour():
    """The palette is built from the chart's own colours: the bars' fills, the white
    background and the text stay within a few levels; antialiased edges move to a near colour."""
    original = _chart()
    before = _pixels(original).astype(int)
    after = _pixels(plots.compact_png(original)).astype(int)
    drift = np.abs(after - before).max(axis=-1)
    for colour in plots.RISK_COLORS.values():  # each bar's fill
        rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
        fill = (before[..., :3] == rgb).all(axis=-1)
        assert fill.any() and drift[fill].max() <= 8
    white = (before[..., :3] == 255).all(axis=-1)
    assert (drift[white] == 0).all()  # the background stays white
    assert drift.max() <= 32 and drift.mean() < 2


def test_a_heatmaps_white_cells_stay_white():
    """A continuous colour scale has many pale shades near white; none takes the white's place."""
    import seaborn as sns

    plots.setup()
    fig, ax = plt.subplots(figsize=(5, 3.5), layout="constrained")
    counts = np.array([[47, 1, 0, 0], [134, 2, 0, 0], [254, 11, 2, 3], [132, 5, 2, 0]])
    sns.heatmap(counts, annot=True, fmt="d", cmap="Blues", ax=ax)
    original = _png(fig)
    before = _pixels(original).astype(int)
    after = _pixels(plots.compact_png(original)).astype(int)
    white = (before[..., :3] == 255).all(axis=-1)
    assert white.any() and (after[white][:, :3] == 255).all()
    assert np.abs(after - before).max() <= 32


def test_transparency_is_kept():
    """A figure with a transparent background keeps it (its ink stays nearly opaque)."""
    fig = plt.figure(figsize=(1, 1))
    fig.patch.set_alpha(0)
    fig.text(0.2, 0.4, "件", color="#c0392b")
    original = _png(fig)
    alpha_before, alpha_after = (
        _pixels(d)[..., 3] for d in (original, plots.compact_png(original))
    )
    assert (alpha_before == 0).any() and (alpha_after[alpha_before == 0] == 0).all()
    assert (alpha_after[alpha_before == 255] >= 240).all()


def test_same_chart_same_bytes_and_a_palette_png_is_left_as_it_is():
    first, second = plots.compact_png(_chart()), plots.compact_png(_chart())
    assert first == second
    assert plots.compact_png(first) == first


def test_a_figure_drawn_straight_to_a_palette_png_is_the_compact_png_of_its_png():
    """figure_png draws the figure once to pixels: the same image as compacting its saved PNG,
    at the figure's own dpi."""
    plots.setup()
    fig, ax = plt.subplots(figsize=(4, 2.5), layout="constrained", dpi=72.5)
    ax.bar(["A级", "B级", "C级"], [3, 5, 2], color=list(plots.RISK_COLORS.values()))
    ax.set_title("风险等级 件数")
    direct = plots.figure_png(fig)
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=fig.dpi)
    plt.close(fig)
    assert direct == plots.compact_png(out.getvalue())
    with Image.open(io.BytesIO(direct)) as image:
        assert image.mode == "P" and image.size == (290, 181)


def test_a_figure_on_another_canvas_gives_the_same_png_as_on_agg():
    """figure_png draws an Agg canvas itself (once) and any other through print_figure."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    plots.setup()
    pngs = []
    for other in (False, True):
        fig, ax = plt.subplots(figsize=(4, 2.5), layout="constrained")
        ax.barh(["甲支局", "乙支局"], [3, 5])
        ax.set_title("件数")
        if other:
            FigureCanvasSVG(fig)
        pngs.append(plots.figure_png(fig))
        plt.close(fig)
    assert pngs[0] == pngs[1]


def test_in_ipython_a_figure_shows_as_its_figure_png_with_its_alt_text():
    """In a kernel whose inline backend saves figures as laid out, the PNG formatter draws each
    figure once with figure_png; any other formatter's PNG is compacted."""
    import base64

    from IPython.core.interactiveshell import InteractiveShell
    from IPython.core.pylabtools import select_figure_formats

    shell = InteractiveShell.instance()
    try:
        png = shell.display_formatter.formatters["image/png"]
        for kwargs, drawn_once in (({"bbox_inches": None}, True), ({}, False)):
            select_figure_formats(shell, {"png"}, **kwargs)
            plots._described_in_ipython()
            plots.setup()
            fig, ax = plt.subplots(figsize=(4, 2.5), layout="constrained")
            ax.bar(["A级", "B级"], [3, 5])
            ax.set_title("件数")
            data, metadata = png(fig)
            shown = base64.b64decode(data)
            assert metadata == {"alt": "图表：件数"}
            assert (shown == plots.figure_png(fig)) is drawn_once
            with Image.open(io.BytesIO(shown)) as image:
                assert image.mode == "P"
            plt.close(fig)
    finally:
        InteractiveShell.clear_instance()

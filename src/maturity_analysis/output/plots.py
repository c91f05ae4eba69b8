"""Charts of the plan's tables, with Chinese labels in Noto Sans CJK SC (``noto-cjk-sans-otc``, SIL OFL).

Every helper takes one of the library's tables and ``ax=None`` and returns the ``Axes``
it drew on. The font is registered on first use (:func:`setup`), so no system font is
needed (nor one of the same name used) and importing this module changes nothing. Titles are
placed at the axes' top (``y=1.0``): nothing is drawn above the axes, and matplotlib would
otherwise measure every y tick label at each draw to check.
"""

from __future__ import annotations

import base64
import io
import math
import sys
from functools import cache

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import font_manager, rcParams
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter, PercentFormatter

from ..analysis.book import is_all
from ..analysis.evaluation import shown
from ..analysis.tables import COUNT, PREMIUM_WAN, SHARE, TOTAL
from ..analysis.targets import BASE, GOAL
from . import marks
from .fonts import FONT_FAMILY, font_path

RISK_COLORS = {"A": "#c0392b", "B": "#f0a030", "C": "#4a9a5c"}
# Colours of a chart's embedded PNG: a 256-colour palette keeps the antialiased text and lines
# as they look at full colour, at about a third of the bytes (measured: benchmarks/RESULTS.md).
PNG_COLORS = 256
# zlib level of those PNGs: within 2% of level 9's bytes at a third of its time (a tall chart of
# every branch: 63 KB in 52 ms against 62 KB in 155 ms).
PNG_LEVEL = 8


@cache
def _register_font() -> str:
    """Add the shipped collection's faces to matplotlib's fonts, dropping every other file of
    the same names: a system copy of Noto Sans CJK (Debian's ``fonts-noto-cjk``) would
    otherwise win matplotlib's tie, and the charts would depend on the machine."""
    manager, path = font_manager.fontManager, font_path()
    manager.addfont(path)  # which also forgets matplotlib's earlier font lookups
    names = {f.name for f in manager.ttflist if f.fname == path}
    manager.ttflist = [f for f in manager.ttflist if f.fname == path or f.name not in names]
    return FONT_FAMILY


def setup() -> str:
    """Make the shipped CJK font matplotlib's sans-serif default; return its family name.

    Registers the font file once per process; sets ``font.sans-serif`` and
    ``axes.unicode_minus`` each call, so a later style change cannot break the labels.

    >>> setup()
    'Noto Sans CJK SC'
    """
    name = _register_font()
    rcParams["font.family"] = "sans-serif"
    rcParams["font.sans-serif"] = [name, *(f for f in rcParams["font.sans-serif"] if f != name)]
    rcParams["axes.unicode_minus"] = False
    _inline_as_laid_out()
    _described_in_ipython()
    return name


def describe(fig: Figure) -> str:
    """A chart's alt text: 图表 and its titles (the figure's, then each panel's).

    The titles may hold text from the data (a product, a KPI's label); the report template
    escapes the alt attribute.

    >>> fig, ax = plt.subplots(); _ = ax.set_title("件数"); describe(fig)
    '图表：件数'
    >>> plt.close(fig)
    """
    titles = [fig._suptitle.get_text()] if fig._suptitle is not None else []
    titles += [ax.get_title() for ax in fig.axes if ax.get_title()]
    return "：".join(["图表", "；".join(titles)]) if titles else "图表"


def compact_png(data: bytes) -> bytes:
    """``data`` (a chart's PNG) with its colours in a :data:`PNG_COLORS` palette.

    Same size in pixels, transparency kept (an opaque chart is quantised without its alpha,
    which keeps its colours closer), deterministic (same PNG in, same bytes out); a PNG that
    already has a palette is returned as it is.
    """
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        if image.mode == "P":
            return data
        return _palette_png(image.convert("RGBA"))


def figure_png(fig: Figure) -> bytes:
    """``fig`` as it is laid out, at its own dpi, as the PNG :func:`compact_png` makes of its
    PNG: drawn once to RGBA pixels, which are quantised and encoded once (no full-colour PNG
    encoded and decoded in between).

    An Agg canvas (the inline backend's, ``agg``'s) draws the figure once: ``print_figure``
    would draw it twice, laying it out in both (the same pixels, a fifth more time).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    mark = marks.marked(fig)
    if mark is not None:  # a chart of branches: drawn once, this report's branch marked
        pixels = marks.pixels(fig, mark)
    elif isinstance(fig.canvas, FigureCanvasAgg):
        fig.canvas.draw()
        pixels = np.asarray(fig.canvas.buffer_rgba())
    else:
        raw = io.BytesIO()
        fig.canvas.print_figure(
            raw,
            format="rgba",
            dpi=fig.dpi,
            facecolor=fig.get_facecolor(),
            edgecolor=fig.get_edgecolor(),
            bbox_inches=None,
        )
        width, _ = fig.canvas.get_width_height(physical=True)
        pixels = np.frombuffer(raw.getvalue(), np.uint8).reshape(-1, width, 4)
    height, width = pixels.shape[:2]
    return _palette_png(Image.frombuffer("RGBA", (width, height), pixels, "raw", "RGBA", 0, 1))


def _palette_png(rgba) -> bytes:
    """An RGBA image as a PNG of :data:`PNG_COLORS` colours, zlib level :data:`PNG_LEVEL`."""
    from PIL import Image

    # Maximum coverage keeps white white and every pixel within a few levels (fast octree
    # tints a heatmap's white); only fast octree quantises an image with an alpha channel.
    quantize = {True: Image.Quantize.MAXCOVERAGE, False: Image.Quantize.FASTOCTREE}
    opaque = rgba.getextrema()[3][0] == 255
    palette = (rgba.convert("RGB") if opaque else rgba).quantize(
        PNG_COLORS, method=quantize[opaque], dither=Image.Dither.NONE
    )
    out = io.BytesIO()
    palette.save(out, format="PNG", compress_level=PNG_LEVEL)
    return out.getvalue()


def _described_in_ipython() -> None:
    """In an IPython kernel, each figure's PNG output is :func:`compact_png`'s and carries
    :func:`describe` as its ``alt`` metadata (IPython formatters may return ``(data,
    metadata)``), which the report template writes as the image's alt text. Wraps the PNG
    formatter the inline backend set, once; when that formatter saves figures as laid out
    (:func:`_inline_as_laid_out`), draws them with :func:`figure_png` instead."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return
    png = shell.display_formatter.formatters["image/png"]
    try:
        current = png.lookup_by_type(Figure)
    except KeyError:
        return
    if getattr(current, "describes", False):
        return
    # IPython's formatter: print_figure(fig, fmt="png", base64=True, **print_figure_kwargs).
    as_laid_out = getattr(current, "keywords", None) == {
        "fmt": "png",
        "base64": True,
        "bbox_inches": None,
    }

    def with_alt(fig: Figure):
        if as_laid_out:
            if not fig.axes and not fig.lines:  # as print_figure: nothing for an empty figure
                return None
            data = base64.b64encode(figure_png(fig)).decode("ascii")
            return data, {"alt": describe(fig)}
        data = current(fig)  # base64 text (IPython's PNG formatter) or bytes
        if data is None:
            return data
        if isinstance(data, str):
            data = base64.b64encode(compact_png(base64.b64decode(data))).decode("ascii")
        else:
            data = compact_png(data)
        return data, {"alt": describe(fig)}

    with_alt.describes = True
    png.for_type(Figure, with_alt)


def _inline_as_laid_out() -> None:
    """In an IPython kernel with the inline backend, save figures as laid out.

    The inline backend's default ``bbox_inches="tight"`` lays out and draws every figure twice
    to crop it; the helpers' figures use constrained layout, which already fits their labels,
    legends and annotations, so they are saved as they are (about half the time per chart).
    """
    inline = sys.modules.get("matplotlib_inline.config")
    if inline is None or not inline.InlineBackend.initialized():
        return
    cfg = inline.InlineBackend.instance()
    if cfg.print_figure_kwargs.get("bbox_inches", "tight") is not None:
        cfg.print_figure_kwargs = {**cfg.print_figure_kwargs, "bbox_inches": None}


def _axes(ax: plt.Axes | None, figsize: tuple[float, float] = (8, 4.5)) -> plt.Axes:
    setup()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def shortfall_chart(table, ax: plt.Axes | None = None) -> plt.Axes:
    """Bars of the total shortfall against deposits (万元) per group of
    :func:`maturity_analysis.analysis.costs.shortfall_table`, labelled with the average discount needed."""
    ax = _axes(ax)
    rows = table[table.index.get_level_values(0) != "合计"]
    labels = [" ".join(map(str, k)) if isinstance(k, tuple) else str(k) for k in rows.index]
    bars = ax.bar(labels, rows["差额合计(元)"] / 10_000, color="#c0504d")
    for bar, rate in zip(bars, rows["平均所需优惠率"], strict=True):
        text = "无对接产品" if math.isnan(rate) else f"优惠{rate:.1%}"
        ax.annotate(
            text,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=9,
        )
    ax.set_ylabel("低于存款差额合计(万元)")
    ax.set_title("满期收益低于存款的差额及新产品所需保费优惠", y=1.0)
    ax.tick_params(axis="x", labelrotation=30 if len(labels) > 6 else 0)
    return ax


def compensation_chart(estimate, ax: plt.Axes | None = None) -> plt.Axes:
    """Expected compensation (万元) of each scenario in the 合计 row of
    :func:`maturity_analysis.analysis.costs.compensation_estimate`, and the amount paid when present."""
    ax = _axes(ax)
    total = estimate.iloc[-1]
    heads = [h for h, m in estimate.columns if m == "预计赔付金额(元)"]
    values = [total[(h, "预计赔付金额(元)")] / 10_000 for h in heads]
    colors = [plt.cm.YlOrRd(0.3 + 0.6 * i / max(len(heads) - 1, 1)) for i in range(len(heads))]
    if ("实际", "赔付金额(元)") in estimate.columns:
        heads, values = [*heads, "实际已赔付"], [*values, total[("实际", "赔付金额(元)")] / 10_000]
        colors.append("#4f81bd")
    ax.bar([h.replace("(", "\n(") for h in heads], values, color=colors)
    for x, v in enumerate(values):
        ax.annotate(f"{v:,.2f}", (x, v), ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("赔付金额(万元)")
    ax.set_title("赔付预估：各情景预计赔付金额", y=1.0)
    return ax


def _body(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a plan table without its 合计 row."""
    first = frame.index.get_level_values(0)
    return frame[first != TOTAL]


def _label(key: object, sep: str = "\n") -> str:
    """A row label for an axis: the parts of a MultiIndex key that are not empty."""
    parts = key if isinstance(key, tuple) else (key,)
    return sep.join(str(p) for p in parts if str(p))


def _stacked(
    ax: plt.Axes,
    body: pd.DataFrame,
    columns: dict[str, tuple | str],
    unit: str,
    colors: dict[str, str] | None = None,
) -> None:
    """Bars of ``body[column]`` stacked per row, one colour per legend label."""
    bottom = np.zeros(len(body))
    x = np.arange(len(body))
    for label, column in columns.items():
        values = body[column].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, label=label, width=0.65, color=(colors or {}).get(label))
        bottom += values
    ax.set_xticks(x, [_label(k) for k in body.index])
    ax.set_ylabel(unit)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.legend(title=body.columns.names[0], frameon=False)
    ax.spines[["top", "right"]].set_visible(False)


def age_principal_heatmap(
    t1: pd.DataFrame, product: str | None = None, ax: plt.Axes | None = None
) -> plt.Axes:
    """Table 1 as a heatmap: policy counts by age band (rows) × principal band (columns).

    ``product`` picks one product's block; ``None`` adds the products up. Colours follow the
    logarithm of the count (the 5万以下 column holds most policies); each cell shows its count.
    """
    ax = _axes(ax, (7, 4.5))
    body = _body(t1).drop(columns=TOTAL, level=1)
    grid = body[product] if product else body.T.groupby(level=1, sort=False).sum().T
    # seaborn writes each count in a colour that reads on its cell
    sns.heatmap(np.log10(grid + 1), annot=grid, fmt=",.0f", cmap="Blues", cbar=False, ax=ax)
    ax.tick_params(axis="y", labelrotation=0)  # seaborn stands the age bands upright
    ax.tick_params(length=0)  # the cells' edges mark the bands; no tick marks beside them
    ax.set_xlabel(t1.columns.names[1])
    ax.set_ylabel(t1.index.name)
    ax.set_title(f"年龄 × 满期本金 件数（{product or '全部险种'}）", y=1.0)
    return ax


def product_by_age(t2: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Table 2 as stacked bars: policies per age band, one segment per product, each bar
    labelled with the band's share of all policies."""
    return _stacked_by_product(t2, COUNT, "件数", "各年龄段件数（按险种）", ax)


def premium_by_age(t4: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Table 4 as stacked bars: premium (万元) per age band, one segment per product, each bar
    labelled with the band's share of the premium."""
    return _stacked_by_product(t4, PREMIUM_WAN, PREMIUM_WAN, "各年龄段保费（按险种）", ax)


def _stacked_by_product(
    table: pd.DataFrame, measure: str, ylabel: str, title: str, ax: plt.Axes | None
) -> plt.Axes:
    """Stacked bars of ``measure`` per row, one segment per product, each bar labelled with
    the row's 合计 share."""
    ax = _axes(ax)
    body = _body(table)
    products = [p for p in body.columns.get_level_values(0).unique() if p != TOTAL]
    _stacked(ax, body, {p: (p, measure) for p in products}, ylabel)
    for x, (v, share) in enumerate(zip(body[(TOTAL, measure)], body[(TOTAL, SHARE)], strict=True)):
        ax.annotate(
            f"{share:.2%}",
            (x, v),
            ha="center",
            va="bottom",
            xytext=(0, 2),
            textcoords="offset points",
        )
    ax.set_xlabel(body.index.name)
    ax.set_title(title, y=1.0)
    return ax


def principal_bands(t3: pd.DataFrame, ax: plt.Axes | None = None, log: bool = True) -> plt.Axes:
    """Table 3 as grouped horizontal bars: policies per principal band and product, each bar
    labelled with its count and its share within the product. ``log`` puts the counts on a
    logarithmic scale, so the small high-premium bands stay visible."""
    ax = _axes(ax)
    body = _body(t3)
    products = [p for p in body.columns.get_level_values(0).unique() if p != TOTAL]
    y = np.arange(len(body))
    height = 0.8 / len(products)
    for i, product in enumerate(products):
        counts = body[(product, COUNT)].to_numpy(dtype=float)
        bars = ax.barh(
            y + (i - (len(products) - 1) / 2) * height, counts, height=height, label=product
        )
        ax.bar_label(
            bars,
            [f"{n:,.0f}（{s:.2%}）" for n, s in zip(counts, body[(product, SHARE)], strict=True)],
            padding=2,
        )
    ax.set_yticks(y, list(body.index))
    ax.invert_yaxis()
    ax.set_ylabel(body.index.name)
    if log:
        ax.set_xscale("log")
        ax.set_xlim(right=ax.get_xlim()[1] * 20)
        # Plain numbers (1, 10, 1,000), not 10^n: no mathtext to lay out, clearer to readers.
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("件数" + ("（对数刻度）" if log else ""))
    ax.legend(title=body.columns.names[0], frameon=False, loc="lower right")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("满期本金分布（按险种）", y=1.0)
    return ax


def yield_vs_deposit(
    table: pd.DataFrame,
    ax: plt.Axes | None = None,
    policy: str = "平均年化收益率",
    deposit: str = "平均存款年化收益率",
    beats: str = "跑赢存款占比",
) -> plt.Axes:
    """The maturity-product table as paired bars: average annualised policy return against
    the benchmark deposit per product group, labelled with the share that beat the deposit."""
    ax = _axes(ax)
    body = _body(table)
    x = np.arange(len(body))
    ax.bar(x - 0.2, body[policy], width=0.4, label="保单年化收益率")
    ax.bar(x + 0.2, body[deposit], width=0.4, label="同期存款年化收益率（税后）")
    for i, (p, d, share) in enumerate(zip(body[policy], body[deposit], body[beats], strict=True)):
        ax.annotate(
            f"跑赢存款 {share:.2%}",
            (i, max(p, d)),
            ha="center",
            va="bottom",
            xytext=(0, 3),
            textcoords="offset points",
        )
    ax.set_xticks(x, [_label(k) for k in body.index])
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
    ax.set_ylabel("平均年化收益率")
    ax.legend(frameon=False, loc="upper right")
    ax.set_ylim(top=ax.get_ylim()[1] * 1.15)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("满期产品收益与同期存款", y=1.0)
    return ax


def yield_scatter(
    policies: pd.DataFrame,
    hue: str | pd.Series | None = None,
    ax: plt.Axes | None = None,
    x: str = "deposit_yield",
    y: str = "policy_yield",
) -> plt.Axes:
    """Each policy's annualised return (``y``) against its benchmark deposit's (``x``), one
    colour per value of ``hue`` (a column name or a Series), with the line where they are
    equal: points below it fell short of the deposit."""
    ax = _axes(ax, (6.5, 5.5))
    groups = policies[hue] if isinstance(hue, str) else hue
    keys = [None] if groups is None else list(pd.unique(groups.dropna()))
    if groups is not None and isinstance(groups.dtype, pd.CategoricalDtype):
        keys = [c for c in groups.cat.categories if (groups == c).any()]
    both = pd.concat([policies[x], policies[y]]).dropna()
    lo, hi = (float(both.min()), float(both.max())) if len(both) else (0.0, 0.1)
    cycle = rcParams["axes.prop_cycle"].by_key()["color"]
    for i, key in enumerate(keys):
        part = policies if key is None else policies[(groups == key).to_numpy(dtype=bool)]
        label = None if key is None else f"{key}（{len(part):,}件）"
        for alpha, px, py in _coincident(part[x], part[y], (hi - lo) / SCATTER_GRID):
            ax.scatter(
                px,
                py,
                s=6,
                alpha=alpha,
                linewidths=0,
                color=cycle[i % len(cycle)],
                rasterized=True,
                label=label,
            )
            label = None
    ax.plot(
        [lo, hi], [lo, hi], color="grey", linestyle="--", linewidth=1, label="保单收益 = 存款收益"
    )
    ax.xaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1, decimals=1))
    ax.set_xlabel("同期存款年化收益率（税后）")
    ax.set_ylabel("保单年化收益率")
    ax.legend(frameon=False, markerscale=3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("每件保单：收益与同期存款", y=1.0)
    return ax


# A scatter's points closer than 1/SCATTER_GRID of its range (about a quarter of a pixel) are
# drawn as one, as opaque as they were together.
SCATTER_GRID = 1000
SCATTER_ALPHA = 0.35


def _coincident(
    x: pd.Series, y: pd.Series, step: float
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """The points (``x``, ``y``) on a grid of ``step``, each drawn once: per number ``n`` of
    points in one cell, the opacity of ``n`` points of :data:`SCATTER_ALPHA` over each other
    and the cells' centres. Points without both values are left out (a scatter skips them)."""
    xy = np.column_stack([x.to_numpy(dtype=float), y.to_numpy(dtype=float)])
    xy = xy[~np.isnan(xy).any(axis=1)]
    if not len(xy) or not step > 0:
        return [(SCATTER_ALPHA, xy[:, 0], xy[:, 1])]
    cells, counts = np.unique(np.round(xy / step), axis=0, return_counts=True)
    return [
        (1 - (1 - SCATTER_ALPHA) ** n, cells[counts == n, 0] * step, cells[counts == n, 1] * step)
        for n in np.unique(counts)
    ]


def target_bars(
    table: pd.DataFrame,
    ax: plt.Axes | None = None,
    label: str = "目标",
    base: str = BASE,
    goal: str = GOAL,
    stated: str = "方案所述件数",
) -> plt.Axes:
    """The targets as horizontal bars: each target's base (light), the count that reaches its
    rate (dark, labelled) and, where the table has the plan's stated count, a marker at it.
    Targets are named by the ``label`` column (else the index); those with an unknown base
    (e.g. complaints before any are logged) are left out."""
    ax = _axes(ax, (8, 3.5))
    rows = table[table[base].notna()]
    y = np.arange(len(rows))
    bases = rows[base].to_numpy(dtype=float)
    goals = rows[goal].to_numpy(dtype=float)
    whole = ax.barh(y, bases, color="#dbe6f3", label="基数")
    ax.barh(y, goals, height=0.5, color="#2f6fad", label="目标件数")
    ax.bar_label(
        whole, [f"{g:,.0f} / {b:,.0f}" for g, b in zip(goals, bases, strict=True)], padding=4
    )
    has_stated = (
        rows[stated].notna().to_numpy()
        if stated in rows.columns
        else np.zeros(len(rows), dtype=bool)
    )
    if has_stated.any():
        ax.scatter(
            rows[stated].to_numpy(dtype=float, na_value=np.nan)[has_stated],
            y[has_stated],
            marker="D",
            color="#c0392b",
            zorder=3,
            label="方案所述件数",
        )
    ax.set_yticks(y, list(rows[label] if label in rows.columns else rows.index))
    ax.invert_yaxis()
    ax.set_xlim(right=max(bases.max(initial=0), 1) * 1.3)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    ax.set_xlabel("件数（标注：目标件数 / 基数）")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncols=3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("目标件数与基数", y=1.0)
    return ax


def allocation_bars(
    allocation: pd.DataFrame, ax: plt.Axes | None = None, value: str = GOAL
) -> plt.Axes:
    """An allocation (by branch or by phase, from :mod:`maturity_analysis.analysis.targets`) as grouped
    bars: the allocated count of each target per row; horizontal when there are many rows or
    their labels would not fit side by side under the bars."""
    body = _body(allocation)
    targets = list(body.columns.get_level_values(0).unique())
    own = ax is None
    ax = _axes(ax, (min(8, 3 + 1.3 * len(body)), 4.5))
    # Side by side, the labels' widest line times their number within 70% of the width (the
    # rest: the y axis and the gaps between them).
    lines = [line for k in body.index for line in _label(k).split("\n")] or [""]
    widest, _ = _text_size(ax.figure, lines, rcParams["xtick.labelsize"])
    many = len(body) > 8 or widest * len(body) > 0.7 * ax.figure.get_figwidth() * 72
    if many and own:
        ax.figure.set_size_inches(8, 1.5 + 0.12 * len(body) * len(targets))
    pos = np.arange(len(body))
    width = 0.8 / len(targets)
    cycle = rcParams["axes.prop_cycle"].by_key()["color"]
    for i, target in enumerate(targets):
        values = body[(target, value)].to_numpy(dtype=float)
        offset = pos + (i - (len(targets) - 1) / 2) * width
        if many:
            color = cycle[i % len(cycle)]
            _hbars(ax, offset, values, [color] * len(values), width, label=target)
        else:
            bars = ax.bar(offset, values, width, label=target)
            ax.bar_label(bars, [f"{v:,.0f}" for v in values], padding=2, fontsize=8)
    labels = [_label(k, " " if many else "\n") for k in body.index]
    (ax.set_yticks if many else ax.set_xticks)(pos, labels)
    if many:
        ax.set_ylim(len(body) - 0.5, -0.5)
        # The (empty) y label at a fixed place: matplotlib would otherwise measure every
        # branch label at each draw to place it.
        ax.yaxis.set_label_coords(0, 0.5)
    (ax.xaxis if many else ax.yaxis).set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
    (ax.set_xlabel if many else ax.set_ylabel)(value)
    ax.legend(title=allocation.columns.names[0], frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title(f"{value}分配", y=1.0)
    return ax


def risk_by_age(table: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """The risk summary (:func:`maturity_analysis.analysis.risk.risk_table`) as stacked bars: rated
    policies per age band, one segment per rating."""
    ax = _axes(ax)
    body = _body(table)
    ratings = [r for r in body.columns if r != TOTAL]
    _stacked(ax, body, {str(r): r for r in ratings}, "件数", RISK_COLORS)
    ax.set_xlabel(body.index.name)
    ax.set_title("投诉风险评级（按年龄段）", y=1.0)
    return ax


# --- the quarterly evaluation (evaluation.py) -------------------------------------------------
MET_COLORS = {True: "#4a9a5c", False: "#c0392b"}


def _met_colors(met: pd.Series) -> list[str]:
    return [MET_COLORS[bool(m)] if not pd.isna(m) else "#999999" for m in met]


def kpi_progress(summary: pd.DataFrame, ax: plt.Axes | None = None) -> plt.Axes:
    """Each KPI with a target (an :class:`~maturity_analysis.analysis.evaluation.Evaluation`'s
    ``summary``) as a bar of its 达成率 (actual ÷ target) against the 100% line; green met,
    red not met. KPIs whose target is zero or absent are left out."""
    rows = summary[summary["达成率"].notna()]
    ax = _axes(ax, (8, 1 + 0.4 * len(rows)))
    y = np.arange(len(rows))
    ratio = rows["达成率"].to_numpy(dtype=float)
    bars = ax.barh(y, ratio, color=_met_colors(rows["达标"]))
    # as the evaluation's table shows it: 99.8% 未达标 must not read 100%
    ax.bar_label(bars, [shown(r, "%") for r in ratio], padding=3, fontsize=9)
    ax.axvline(1, color="#333333", linewidth=1, linestyle="--")
    ax.set_yticks(y, list(rows["KPI"]))
    ax.invert_yaxis()
    ax.set_xlim(0, max(1.2, np.nanmax(ratio, initial=0) * 1.15))
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("达成率（实际 ÷ 目标；虚线为100%）")
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_title("各项指标达成情况", y=1.0)
    return ax


HIGHLIGHT_COLOR = "#1f4e9c"
_BRANCH_ROW_IN = 0.24  # inches of a branch's bar in a chart of every branch
MAX_BRANCH_BARS = 60  # the most branches a 全辖 chart gives a bar each; past it, their 支局
_EACH = {"sub_branch": "各支局"}  # a chart's rows by their index's name (default 各网点)


def charted(
    branches: pd.DataFrame, sub_branches: pd.DataFrame, unit: str, limit: int = MAX_BRANCH_BARS
) -> pd.DataFrame:
    """The rows a unit's chart of branches draws: ``branches`` (keyed by branch first), but in
    the 全辖 report of more than ``limit`` branches ``sub_branches`` (the same figures, a row
    a 支局) when the branches name any. A bar each for 300 branches is a chart 7,000 px
    tall: a long scroll on a phone, pages in print; each branch's figures stay in the
    report's tables, and each 支局's report charts its own branches."""
    many = _body(branches).index.get_level_values(0).nunique() > limit
    return sub_branches if is_all(unit) and many and len(_body(sub_branches)) else branches


def kpi_by_branch(
    table: pd.DataFrame,
    key: str,
    ax: plt.Axes | None = None,
    highlight: str | None = None,
    labels: bool = True,
) -> plt.Axes:
    """One KPI of :func:`~maturity_analysis.analysis.evaluation.by_branch` for every branch (or
    of :func:`~maturity_analysis.analysis.evaluation.by_sub_branch`, every 支局:
    :func:`charted`), against its target: a rate or average against the plan's line, a count
    against each branch's allocated target as 达成率 against 100%. Green met, red not met;
    Wilson intervals where computed; ``highlight`` (a branch code) is labelled in blue with a
    ▶. ``labels=False`` leaves the branch labels off (a panel beside one that has them,
    :func:`kpis_by_branch`)."""
    rows = table.xs(key, level="key")
    unit, label = rows["单位"].iloc[0], rows["KPI"].iloc[0]
    per_branch_target = unit == "件"
    values = (rows["达成率"] if per_branch_target else rows["实际"]).to_numpy(dtype=float)
    own = ax is None
    if own:
        setup()
        _, ax = plt.subplots(figsize=(8, _BRANCH_ROW_IN * len(rows) + 1.2))
    y = np.arange(len(rows))
    _hbars(ax, y, np.nan_to_num(values), _met_colors(rows["达标"]))
    lo, hi = rows["区间下限"].to_numpy(dtype=float), rows["区间上限"].to_numpy(dtype=float)
    has = np.zeros(len(lo), dtype=bool) if per_branch_target else ~np.isnan(lo)
    if has.any():
        ax.errorbar(
            values[has],
            y[has],
            xerr=np.clip([values[has] - lo[has], hi[has] - values[has]], 0, None),
            fmt="none",
            ecolor="#333333",
            elinewidth=0.8,
            capsize=2,
            label="95%区间",
        )
    known = rows["目标"].dropna()
    target = 1.0 if per_branch_target else float(known.iloc[0]) if len(known) else None
    if target is not None:
        ax.axvline(target, color="#333333", linewidth=1, linestyle="--")
    codes = list(rows.index)
    mine = codes.index(str(highlight)) if str(highlight) in codes else None
    ax.set_yticks([])
    if labels:
        ax.branch_labels = _branch_labels(
            ax, y, [f"▶ {c}" if i == mine else c for i, c in enumerate(codes)]
        )
        if mine is not None:
            text = ax.branch_labels[mine]
            ax.branch_label = (text, codes[mine], text.get_color())  # for marks.mark
            text.set_color(HIGHLIGHT_COLOR)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    if per_branch_target or unit == "%":
        ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    what = "达成率（实际 ÷ 分配目标）" if per_branch_target else f"{label}（{unit}）"
    ax.set_xlabel(what + ("；虚线为目标" if target is not None else ""))
    ax.spines[["top", "right"]].set_visible(False)
    # Title and (empty) y label at fixed places: matplotlib would otherwise measure every
    # branch label at each draw to place them, though nothing sits above or beside the bars.
    ax.set_title(f"{label}：{_EACH.get(rows.index.name, '各网点')}", y=1.0)
    ax.yaxis.set_label_coords(0, 0.5)
    if own:
        _branch_layout(ax.figure, 1, 1)
        _mark(ax.figure, table, [key])
    return ax


def _branch_labels(ax: plt.Axes, y: np.ndarray, texts: list[str]) -> list:
    """The branch labels left of the bars, where y tick labels sit (a text each; no tick
    marks): a tick is five artists, and a chart of every branch has hundreds of them."""
    r = rcParams
    transform, va, ha = ax.get_yaxis_text1_transform(r["ytick.major.pad"] + r["ytick.major.size"])
    color = r["ytick.color"] if r["ytick.labelcolor"] == "inherit" else r["ytick.labelcolor"]
    size = r["ytick.labelsize"]
    return [
        ax.text(0, yi, t, transform=transform, va=va, ha=ha, size=size, color=color, clip_on=False)
        for yi, t in zip(y, texts, strict=True)
    ]


def _mark(fig: Figure, table: pd.DataFrame, keys: list[str]) -> None:
    """Let the chart of branches be drawn once per process, its marked label over it
    (:mod:`.marks`)."""
    every = [t for ax in fig.axes for t in getattr(ax, "branch_labels", [])]
    marked = [ax.branch_label for ax in fig.axes if hasattr(ax, "branch_label")]
    marks.mark(fig, every, marked, table, keys)


def kpis_by_branch(
    table: pd.DataFrame, keys: list[str], highlight: str | None = None, ncols: int = 2
) -> np.ndarray:
    """Several KPIs of :func:`~maturity_analysis.analysis.evaluation.by_branch` as panels of one figure
    (:func:`kpi_by_branch` each), ``ncols`` a row; the branch labels only on each row's first
    panel, the rows of every panel the same branches. Returns the axes, one per key.

    One figure instead of one per KPI: a report for hundreds of branches lays out and saves
    the branches' labels once per row of panels.
    """
    ncols = max(1, min(ncols, len(keys)))
    nrows = -(-len(keys) // ncols)
    n = len(table.index.get_level_values(0).unique())
    setup()
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(4.6 * ncols if ncols > 1 else 8, nrows * (1.2 + _BRANCH_ROW_IN * n)),
        squeeze=False,
    )
    for i, key in enumerate(keys):
        kpi_by_branch(table, key, ax=axes.flat[i], highlight=highlight, labels=i % ncols == 0)
    for ax in axes.flat[len(keys) :]:
        ax.set_axis_off()
    _branch_layout(fig, nrows, ncols)
    _mark(fig, table, keys)
    return axes.flat[: len(keys)]


def _hbars(
    ax: plt.Axes,
    y: np.ndarray,
    widths: np.ndarray,
    colors: list,
    height: float = 0.8,
    label: str = "_nolegend_",
):
    """Horizontal bars from 0, as ``ax.barh(y, widths, height, color=colors, label=label)``
    draws them (a :class:`~matplotlib.container.BarContainer` of one
    :class:`~matplotlib.patches.Rectangle` each), with the data limits updated once for all of
    them instead of once per bar."""
    from matplotlib.container import BarContainer
    from matplotlib.patches import Rectangle

    bars = []
    for yi, wi, ci in zip(y, widths, colors, strict=True):
        bar = Rectangle((0, yi - height / 2), wi, height, facecolor=ci, label="_nolegend_")
        bar.sticky_edges.x.append(0)
        bars.append(ax.add_artist(bar))
    if len(bars):
        low, high = min(0.0, float(np.min(widths))), max(0.0, float(np.max(widths)))
        ax.update_datalim(
            [(low, float(np.min(y)) - height / 2), (high, float(np.max(y)) + height / 2)]
        )
        ax.autoscale_view()
    container = BarContainer(bars, datavalues=widths, orientation="horizontal", label=label)
    return ax.add_container(container)


def _text_size(fig: Figure, texts: list[str], size: str) -> tuple[float, float]:
    """The widest of ``texts`` and its height (ascent and descent), in points, at font ``size``."""
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()
    prop = FontProperties(size=size)
    extents = [renderer.get_text_width_height_descent(t, prop, ismath=False) for t in set(texts)]
    scale = 72 / fig.dpi
    return max(e[0] for e in extents) * scale, max(e[1] for e in extents) * scale


def _branch_layout(fig: Figure, nrows: int, ncols: int) -> None:
    """Place the panels of a figure of branch bars (:func:`kpi_by_branch`) from margins measured
    once: the widest branch label on the left, the title above, the x tick labels and the x
    label below, the widest x tick label's half at the right, and between panels constrained
    layout's spacing or, where wider, the widest x tick label. A layout engine would measure
    every branch label of every panel at each draw."""
    axes = [ax for ax in fig.axes if ax.axison]
    labels = [t.get_text() for ax in axes for t in getattr(ax, "branch_labels", [])] or [""]
    ticks = [t.get_text() for ax in axes for t in ax.xaxis.get_majorticklabels()] or ["0"]
    r = rcParams
    label_w, _ = _text_size(fig, labels, r["ytick.labelsize"])
    tick_w, tick_h = _text_size(fig, ticks, r["xtick.labelsize"])
    _, xlabel_h = _text_size(fig, [ax.get_xlabel() for ax in axes], r["axes.labelsize"])
    _, title_h = _text_size(fig, [ax.get_title() for ax in axes], r["axes.titlesize"])
    pad = 3  # points at the figure's edges and between panels, as constrained layout's
    left = pad + label_w + r["ytick.major.pad"] + r["ytick.major.size"]
    top = pad + title_h + r["axes.titlepad"]
    bottom = (
        pad + xlabel_h + r["axes.labelpad"] + tick_h + r["xtick.major.pad"] + r["xtick.major.size"]
    )
    right = pad + tick_w / 2
    width, height = fig.get_size_inches() * 72
    # Between panels, constrained layout's spacing: a pad each side and a share of each panel's
    # part of the figure (the panels on the right have no branch labels), or more where the
    # halves of two x tick labels meet in it (the last of one panel, the first of the next).
    gap_w = 2 * pad + max(r["figure.constrained_layout.wspace"] * width / ncols, tick_w)
    gap_h = bottom + top + 2 * pad + r["figure.constrained_layout.hspace"] * height / nrows
    panel_w = (width - left - right - (ncols - 1) * gap_w) / ncols
    panel_h = (height - top - bottom - (nrows - 1) * gap_h) / nrows
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        top=1 - top / height,
        bottom=bottom / height,
        wspace=gap_w / panel_w,
        hspace=gap_h / panel_h,
    )


def calls_per_day(days: pd.DataFrame, target: int = 20, ax: plt.Axes | None = None) -> plt.Axes:
    """Calls per team per working day (:func:`~maturity_analysis.analysis.evaluation.team_days`): the
    average over teams each day (line), every team-day short of ``target`` (red dots) and the
    target (dashed)."""
    ax = _axes(ax, (9, 4))
    ax.set_title("每个团队每个工作日的电话回访量", y=1.0)
    if days.empty:
        ax.text(0.5, 0.5, "本期附件三（工作日志）没有记录", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return ax
    daily = days.groupby("work_date")["calls"].mean()
    ax.plot(
        daily.index,
        daily.to_numpy(dtype=float),
        color="#2f6fad",
        linewidth=1.2,
        label="每团队日均回访量",
    )
    short = days[days["short"]]
    ax.scatter(
        short["work_date"],
        short["calls"].to_numpy(dtype=float),
        s=8,
        color=MET_COLORS[False],
        alpha=0.5,
        label=f"不足{target}访的团队日",
    )
    ax.axhline(target, color="#333333", linewidth=1, linestyle="--", label=f"方案要求{target}访")
    ax.set_ylabel("回访量(访)")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=3)
    ax.spines[["top", "right"]].set_visible(False)
    return ax


# --- progress and trends (trends.py) ----------------------------------------------------------
TREND_PANELS = {"件": "累计件数", "%": "累计比率", "访": "日均回访量(访)"}


def _trend_colors(labels: list[str]) -> dict[str, tuple]:
    return {label: plt.cm.tab10(i % 10) for i, label in enumerate(labels)}


def _month_axis(ax: plt.Axes, months: list[int]) -> None:
    ax.set_xticks(months, [f"{m}月" for m in months])
    ax.set_xlim(min(months) - 0.3, max(months) + 0.3)
    ax.spines[["top", "right"]].set_visible(False)


def trend_lines(frame: pd.DataFrame, unit: str | None = None) -> np.ndarray:
    """One unit's trend (:func:`~maturity_analysis.analysis.trends.progress`; default its first
    unit): a panel per kind of figure (件, %, 访), in each a solid line per KPI (January to each
    month's end) and its cumulative target dashed in the same colour. Returns the axes."""
    setup()
    unit = frame["unit"].iloc[0] if unit is None else unit
    mine = frame[frame["unit"] == unit]
    kinds = [k for k in TREND_PANELS if k in set(mine["measure"])]
    colors = _trend_colors(list(dict.fromkeys(mine["label"])))
    months = sorted(mine["month"].unique())
    fig, axes = plt.subplots(
        1, len(kinds), figsize=(4.2 * len(kinds), 4), layout="constrained", squeeze=False
    )
    for ax, kind in zip(axes.flat, kinds, strict=True):
        for label, rows in mine[mine["measure"] == kind].groupby("label", sort=False):
            x = rows["month"].to_numpy()
            ax.plot(
                x,
                rows["actual"].to_numpy(dtype=float),
                marker="o",
                markersize=3,
                color=colors[label],
                label=f"{label}",
            )
            ax.plot(
                x,
                rows["target"].to_numpy(dtype=float),
                linestyle="--",
                linewidth=1,
                color=colors[label],
                label=f"{label}目标",
            )
        _month_axis(ax, months)
        if kind == "%":
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        else:
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.set_ylim(bottom=0)
        ax.set_title(TREND_PANELS[kind], y=1.0)
        # No axis labels: their (empty) places fixed, not measured from the tick labels.
        ax.xaxis.set_label_coords(0.5, 0)
        ax.yaxis.set_label_coords(0, 0.5)
        ax.legend(
            frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=2
        )
    fig.suptitle(f"{mine['name'].iloc[0]}：年初至各月末累计（实线为实际，虚线为目标）")
    return axes.flat[: len(kinds)]


def trend_facets(
    frame: pd.DataFrame,
    units: list[str] | None = None,
    kpis: list[str] | None = None,
    col_wrap: int = 4,
) -> np.ndarray | None:
    """Small multiples of :func:`~maturity_analysis.analysis.trends.progress`: a panel per unit
    (default every unit after the first, the parent; titled by its name), in each a line per
    KPI of its cumulative 达成率 (actual ÷ cumulative target, January to each month's end) and
    the target (100%) dashed, on one y scale. Laid out once, by hand (no layout engine: it
    would measure every panel). Returns the panels' axes; None (and draws nothing) without
    units."""
    from matplotlib.lines import Line2D

    setup()
    units = list(dict.fromkeys(frame["unit"]))[1:] if units is None else units
    if not units:
        return None
    rows = frame[frame["unit"].isin(units)]
    if kpis is not None:
        rows = rows[rows["kpi"].isin(kpis)]
    labels = list(dict.fromkeys(rows["label"]))
    months = sorted(frame["month"].unique())
    colors = _trend_colors(labels)
    names = dict(zip(frame["unit"], frame["name"], strict=True))

    wide = min(col_wrap, len(units))
    tall = -(-len(units) // wide)
    fig, grid = plt.subplots(
        tall, wide, figsize=(2.47 * wide, 1.9 * tall), sharex=True, sharey=True, squeeze=False
    )
    axes = grid.flat[: len(units)]
    for ax in grid.flat[len(units) :]:
        fig.delaxes(ax)
    for i, (unit, ax) in enumerate(zip(units, axes, strict=True)):
        mine = rows[rows["unit"] == unit]
        for label in labels:
            line = mine[mine["label"] == label]
            ax.plot(
                line["month"].to_numpy(),
                line["ratio"].to_numpy(dtype=float),
                marker="o",
                markersize=3,
                linewidth=1.2,
                color=colors[label],
            )
        ax.axhline(1, color="#333333", linewidth=1, linestyle="--", label="目标(100%)")
        _month_axis(ax, months)
        ax.set_xticks(months, [f"{m}" for m in months], fontsize=7)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        ax.set_title(str(names.get(unit, unit)), fontsize=9, y=1.0)
        if i + wide >= len(units):  # the lowest panel of its column
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel("月份")
        if i % wide == 0:
            ax.set_ylabel("累计达成率")
    # Shared: fixed from 0 once every panel is drawn (fixed earlier, it would clip the later ones)
    axes[0].set_ylim(bottom=0)
    per_row = 3 if wide > 2 else 1
    handles = [Line2D([], [], color=colors[k], marker="o", markersize=3, label=k) for k in labels]
    handles.append(Line2D([], [], color="#333333", linestyle="--", label="目标(100%)"))
    fig.legend(
        handles=handles,
        loc="lower center",
        bbox_to_anchor=(0.5, 0),
        ncols=per_row,
        frameon=False,
        fontsize=9,
    )
    legend = 0.2 + 0.22 * -(-len(handles) // per_row)  # inches below the panels' labels
    height = fig.get_figheight() + legend + 0.5
    fig.set_figheight(height)
    width = fig.get_figwidth()
    fig.subplots_adjust(
        left=0.8 / width,
        right=1 - 0.15 / width,
        bottom=(0.55 + legend) / height,
        top=1 - 0.55 / height,
        hspace=0.45,
        wspace=0.12,
    )
    title = "各单位年初至各月末累计达成率" + ("（累计实际 ÷ 累计目标）" if wide > 2 else "")
    fig.suptitle(title, y=1 - 0.12 / height)
    return axes

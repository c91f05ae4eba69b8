"""Charts of the plan's tables, with Chinese labels from the font shipped in ``mplfonts``.

Every helper takes one of the library's tables and ``ax=None`` and returns the ``Axes``
it drew on. The font is registered on first use (:func:`setup`), so no system font is
needed and importing this module changes nothing.
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources

import matplotlib.pyplot as plt
from matplotlib import font_manager, rcParams

FONT_FILE = "NotoSansCJKsc-Regular.otf"


@cache
def _register_font() -> str:
    path = str(resources.files("mplfonts") / "fonts" / FONT_FILE)
    font_manager.fontManager.addfont(path)
    return font_manager.FontProperties(fname=path).get_name()


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
    return name


def _axes(ax: plt.Axes | None, figsize: tuple[float, float] = (8, 4.5)) -> plt.Axes:
    setup()
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def shortfall_chart(table, ax: plt.Axes | None = None) -> plt.Axes:
    """Bars of the total shortfall against deposits (万元) per group of
    :func:`maturity_analysis.costs.shortfall_table`, labelled with the average discount needed."""
    ax = _axes(ax)
    rows = table[table.index.get_level_values(0) != "合计"]
    labels = [" ".join(map(str, k)) if isinstance(k, tuple) else str(k) for k in rows.index]
    bars = ax.bar(labels, rows["差额合计(元)"] / 10_000, color="#c0504d")
    for bar, rate in zip(bars, rows["平均所需优惠率"], strict=True):
        text = "无对接产品" if math.isnan(rate) else f"优惠{rate:.1%}"
        ax.annotate(text, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=9)
    ax.set_ylabel("低于存款差额合计(万元)")
    ax.set_title("满期收益低于存款的差额及新产品所需保费优惠")
    ax.tick_params(axis="x", labelrotation=30 if len(labels) > 6 else 0)
    return ax


def compensation_chart(estimate, ax: plt.Axes | None = None) -> plt.Axes:
    """Expected compensation (万元) of each scenario in the 合计 row of
    :func:`maturity_analysis.costs.compensation_estimate`, and the amount paid when present."""
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
    ax.set_title("赔付预估：各情景预计赔付金额")
    return ax

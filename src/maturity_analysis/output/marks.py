"""Charts of every branch drawn once per process; each report marks its own branch on them.

The charts of every branch (:func:`~maturity_analysis.output.plots.kpi_by_branch`,
:func:`~maturity_analysis.output.plots.kpis_by_branch`) are the same in every branch's report
but for the branch label marked ▶ in blue. :func:`mark` records which labels a figure marks and
a key of everything else it shows; :func:`pixels` draws such a figure as the chart with those
labels plain (kept per key: :data:`KEPT` figures a process), whitens the plain labels' boxes
and draws the marked labels over them: the same pixels as drawing the marked figure whole
(tested), at the cost of a few labels instead of every bar and label.
"""

from __future__ import annotations

import hashlib
import pickle
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from matplotlib import rcParams
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

KEPT = 8  # plain charts kept per process (a tall chart of every branch is about 10 MB)
_PAD = 1  # pixels around a plain label's box that are whitened with it

_plain: OrderedDict[str, tuple[np.ndarray, dict]] = OrderedDict()


@dataclass(frozen=True)
class Mark:
    """The labels a figure marks (each: its axes, its y tick's index, its plain text and
    colour) and the key of everything else the figure shows."""

    key: str
    labels: tuple[tuple[Axes, int, str, object], ...]


def mark(fig: Figure, labels: list[tuple[Axes, int, str, object]], *content: object) -> None:
    """Record that ``fig`` marks ``labels`` (axes, y tick index, plain text, plain colour);
    ``content``: what else decides its pixels (its table, KPIs), beside its size, layout and
    matplotlib's settings, which are added here."""
    if not labels:
        return
    layout = [ax.get_position().bounds for ax in fig.axes]
    settings = sorted((k, repr(v)) for k, v in rcParams.items())
    parts = (content, tuple(fig.get_size_inches()), fig.dpi, layout, settings)
    key = hashlib.sha256(pickle.dumps(parts)).hexdigest()
    fig.branch_mark = Mark(key, tuple(labels))


def marked(fig: Figure) -> Mark | None:
    """The figure's :class:`Mark`, if it has one."""
    return getattr(fig, "branch_mark", None)


def _plain_at(formatter, index: int, text: str) -> FuncFormatter:
    """``formatter`` but for the tick at ``index``, labelled ``text``."""
    return FuncFormatter(lambda x, pos: text if pos == index else formatter(x, pos))


def _draw_plain(fig: Figure, m: Mark) -> tuple[np.ndarray, dict]:
    """``fig`` drawn with its marked labels plain, and every y tick label's box (pixels)."""
    shown = []
    for ax, i, text, color in m.labels:
        formatter = ax.yaxis.get_major_formatter()
        ax.yaxis.set_major_formatter(_plain_at(formatter, i, text))
        label = ax.get_yticklabels()[i]
        shown.append((formatter, label.get_color()))
        label.set_color(color)
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        image = np.asarray(renderer.buffer_rgba()).copy()
        boxes = {
            (n, t.get_text()): t.get_window_extent(renderer).bounds
            for n, ax in enumerate(fig.axes)
            for t in ax.get_yticklabels()
        }
    finally:
        for (ax, i, _, _), (formatter, color) in zip(m.labels, shown, strict=True):
            ax.yaxis.set_major_formatter(formatter)
            ax.get_yticklabels()[i].set_color(color)
    return image, boxes


def pixels(fig: Figure, m: Mark) -> np.ndarray:
    """The marked figure's RGBA pixels (rows top first), as :meth:`Figure.canvas.draw` makes them."""
    if m.key not in _plain:
        _plain[m.key] = _draw_plain(fig, m)
        while len(_plain) > KEPT:
            _plain.popitem(last=False)
    _plain.move_to_end(m.key)
    image, boxes = _plain[m.key]
    renderer = fig.canvas.get_renderer()
    buffer = np.asarray(renderer.buffer_rgba())
    buffer[...] = image
    height = buffer.shape[0]
    background = (np.array(fig.get_facecolor()) * 255).round().astype(np.uint8)
    for ax, _, text, _ in m.labels:
        x, y, w, h = boxes[(fig.axes.index(ax), text)]
        left, right = max(int(np.floor(x)) - _PAD, 0), int(np.ceil(x + w)) + _PAD
        top, bottom = max(height - int(np.ceil(y + h)) - _PAD, 0), height - int(np.floor(y)) + _PAD
        buffer[top:bottom, left:right] = background
    for ax, i, _, _ in m.labels:
        ax.get_yticklabels()[i].draw(renderer)  # placed and marked, as drawing the axis would
    return np.asarray(renderer.buffer_rgba()).copy()

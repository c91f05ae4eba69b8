"""Charts of branches drawn once per process; each report marks its own branch on them.

The charts of branches (:func:`~maturity_analysis.output.plots.kpi_by_branch`,
:func:`~maturity_analysis.output.plots.kpis_by_branch`: a 支局's branches) are the same in the
report of each of those branches but for the branch label marked ▶ in blue. :func:`mark`
records which labels a figure marks and a key of everything else it shows; :func:`pixels`
draws such a figure as the chart with those labels plain (kept per key: :data:`KEPT` figures
a process), whitens the plain labels' boxes and draws the marked labels over them: the same
pixels as drawing the marked figure whole (tested), at the cost of a few labels instead of
every bar and label.
"""

from __future__ import annotations

import hashlib
import pickle
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from matplotlib import rcParams
from matplotlib.figure import Figure
from matplotlib.text import Text

KEPT = 8  # plain charts kept per process (a 支局 of eight branches: about 1.5 MB of pixels each)
_PAD = 1  # pixels around a plain label's box that are whitened with it

_plain: OrderedDict[str, tuple[np.ndarray, list]] = OrderedDict()


@dataclass(frozen=True)
class Mark:
    """A figure's branch labels (``texts``: text artists, in order), the ones it marks (each:
    its text artist, its plain text and colour) and the key of everything else it shows."""

    key: str
    texts: tuple[Text, ...]
    labels: tuple[tuple[Text, str, object], ...]


def mark(
    fig: Figure, texts: list[Text], labels: list[tuple[Text, str, object]], *content: object
) -> None:
    """Record that ``fig`` marks ``labels`` (a text of ``texts``, its plain text and colour);
    ``content``: what else decides its pixels (its table, KPIs), beside its size, layout and
    matplotlib's settings, which are added here."""
    if not labels:
        return
    layout = [ax.get_position().bounds for ax in fig.axes]
    settings = sorted((k, repr(v)) for k, v in rcParams.items())
    parts = (content, tuple(fig.get_size_inches()), fig.dpi, layout, settings)
    key = hashlib.sha256(pickle.dumps(parts)).hexdigest()
    fig.branch_mark = Mark(key, tuple(texts), tuple(labels))


def marked(fig: Figure) -> Mark | None:
    """The figure's :class:`Mark`, if it has one."""
    return getattr(fig, "branch_mark", None)


def _draw_plain(fig: Figure, m: Mark) -> tuple[np.ndarray, list]:
    """``fig`` drawn with its marked labels plain, and every label's box (pixels)."""
    shown = [(text.get_text(), text.get_color()) for text, _, _ in m.labels]
    for text, plain, color in m.labels:
        text.set_text(plain)
        text.set_color(color)
    try:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        image = np.asarray(renderer.buffer_rgba()).copy()
        boxes = [t.get_window_extent(renderer).bounds for t in m.texts]
    finally:
        for (text, _, _), (was, color) in zip(m.labels, shown, strict=True):
            text.set_text(was)
            text.set_color(color)
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
    for text, _, _ in m.labels:
        x, y, w, h = boxes[m.texts.index(text)]
        left, right = max(int(np.floor(x)) - _PAD, 0), int(np.ceil(x + w)) + _PAD
        top, bottom = max(height - int(np.ceil(y + h)) - _PAD, 0), height - int(np.floor(y)) + _PAD
        buffer[top:bottom, left:right] = background
    for text, _, _ in m.labels:
        text.draw(renderer)  # placed and marked, as drawing the figure would
    return np.asarray(renderer.buffer_rgba()).copy()

"""Charts of the plan's tables, with Chinese labels from the font shipped in ``mplfonts``.

Every helper takes one of the library's tables and ``ax=None`` and returns the ``Axes``
it drew on. The font is registered on first use (:func:`setup`), so no system font is
needed and importing this module changes nothing.
"""

from __future__ import annotations

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

"""Charts: Chinese renders with the shipped font; each helper draws what its table holds."""

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from maturity_analysis import plots  # noqa: E402

CHINESE = "满期客户二次开发 年龄 41-50 万能 分红 −3.5%"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _glyph_warnings(fig) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


def test_font_comes_from_mplfonts_not_the_system():
    name = plots.setup()
    path = Path(font_manager.findfont(font_manager.FontProperties(family=["sans-serif"])))
    assert path.name == plots.FONT_FILE
    assert "mplfonts" in path.parts
    assert matplotlib.rcParams["font.sans-serif"][0] == name
    assert matplotlib.rcParams["axes.unicode_minus"] is False


def test_chinese_renders_without_missing_glyphs():
    plots.setup()
    fig, ax = plt.subplots()
    ax.set_title(CHINESE)
    ax.set_xlabel(CHINESE)
    assert _glyph_warnings(fig) == []


def test_the_glyph_check_detects_a_font_without_chinese():
    # Negative control: the same check must fail with a Latin-only font.
    with plt.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        fig, ax = plt.subplots()
        ax.set_title(CHINESE)
        assert _glyph_warnings(fig)

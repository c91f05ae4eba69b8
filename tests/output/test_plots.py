"""Charts: Chinese renders with the shipped font; each helper draws what its table holds."""

import shutil
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
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


def test_font_is_the_shipped_simplified_chinese_face_not_a_system_font():
    name = plots.setup()
    fig, ax = plt.subplots()
    title = ax.set_title(CHINESE)
    assert _glyph_warnings(fig) == []
    # The font matplotlib picks for a CJK label is the SC face of the packaged collection.
    found = font_manager.findfont(title.get_fontproperties(), fallback_to_default=False)
    assert Path(found) == Path(plots.font_path())
    assert "noto_cjk_sans_otc" in Path(found).parts
    assert font_manager.get_font(found).family_name == name == "Noto Sans CJK SC"
    assert matplotlib.rcParams["font.sans-serif"][0] == name
    assert matplotlib.rcParams["axes.unicode_minus"] is False


def test_a_system_copy_of_the_font_does_not_replace_the_shipped_one(tmp_path, monkeypatch):
    # A machine with Debian's fonts-noto-cjk has the same faces in another file, listed before
    # the shipped one: matplotlib would pick it on the tie, and the charts would differ by machine.
    copy = tmp_path / "NotoSansCJK-Regular.ttc"
    shutil.copyfile(plots.font_path(), copy)
    manager = font_manager.fontManager
    monkeypatch.setattr(manager, "ttflist", list(manager.ttflist))
    manager.addfont(str(copy))
    manager.ttflist.sort(key=lambda f: f.fname != str(copy))  # the system copy first

    def found() -> str:
        face = font_manager.FontProperties(family=plots.FONT_FAMILY)
        return font_manager.findfont(face, fallback_to_default=False)

    try:
        assert Path(found()) == copy  # the tie the shipped file would lose
        plots._register_font.__wrapped__()
        assert Path(found()) == Path(plots.font_path())
        assert not [f for f in manager.ttflist if f.fname == str(copy)]
    finally:
        manager._findfont_cached.cache_clear()


def test_the_font_licence_allows_redistribution_and_nothing_proprietary_is_installed():
    from importlib.metadata import distribution, distributions

    dist = distribution("noto-cjk-sans-otc")
    assert dist.metadata["License-Expression"] == "OFL-1.1"
    licence = next(f for f in dist.files if f.name == "LICENSE")
    assert "SIL OPEN FONT LICENSE" in licence.read_text().upper()
    names = {d.metadata["Name"].lower() for d in distributions()}
    assert "mplfonts" not in names  # it shipped SimHei.ttf, a proprietary font


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


# A small book: two branches, both products, every age band, three principal bands.
ROWS = [
    {"age": 25, "product_type": "分红", "premium": 10_000.0},
    {"age": 35, "product_type": "分红", "premium": 60_000.0, "branch_code": "B02"},
    {
        "age": 45,
        "product_type": "分红",
        "premium": 150_000.0,
        "term_years": 10,
        "issue_date": "2003-03-01",
        "maturity_value": 190_000.0,
    },
    {"age": 45, "product_type": "分红", "premium": 20_000.0, "branch_code": "B02"},
    {
        "age": 55,
        "product_type": "分红",
        "premium": 30_000.0,
        "maturity_date": "2013-08-01",
        "issue_date": "2008-08-01",
    },
    {
        "age": 65,
        "product_type": "分红",
        "premium": 5_000.0,
        "maturity_date": "2013-11-01",
        "issue_date": "2008-11-01",
    },
    {"age": 28, "product_type": "万能", "term_years": None, "product_name": "金账户(万能型)"},
    {
        "age": 45,
        "product_type": "万能",
        "term_years": None,
        "product_name": "金账户(万能型)",
        "premium": 80_000.0,
        "maturity_value": 85_000.0,
        "branch_code": "B02",
    },
    {
        "age": 58,
        "product_type": "万能",
        "term_years": None,
        "product_name": "金账户(万能型)",
        "maturity_date": "2013-05-01",
        "issue_date": "2008-05-01",
    },
    {
        "age": 70,
        "product_type": "万能",
        "term_years": None,
        "product_name": "金账户(万能型)",
        "maturity_date": "2013-12-01",
        "issue_date": "2008-12-01",
    },
]


@pytest.fixture
def book(make_policies):
    from maturity_analysis.analysis.book import enrich

    return enrich(make_policies(ROWS))


def _bars(ax) -> list[list[float]]:
    """Bar lengths per container (height for vertical bars, width for horizontal ones)."""
    return [
        [b.get_width() if c.orientation == "horizontal" else b.get_height() for b in c]
        for c in ax.containers
    ]


def _ticks(ax, axis: str = "x") -> list[str]:
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    return [t.get_text() for t in labels]


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


AGES = ["20-30", "31-40", "41-50", "51-60", "61以上"]
BANDS = ["5万以下", "5-10万", "10-20万", "20万及以上"]


@pytest.mark.parametrize(("product", "expected_total"), [(None, 10), ("分红", 6), ("万能", 4)])
def test_heatmap_shows_every_age_and_principal_cell(book, product, expected_total):
    from maturity_analysis.analysis.tables import table1

    ax = plots.age_principal_heatmap(table1(book), product=product)
    [mesh] = ax.collections  # seaborn's heatmap: one mesh of cells
    assert mesh.get_array().shape == (5, 4)
    cells = [int(t.get_text().replace(",", "")) for t in ax.texts]
    assert len(cells) == 20 and sum(cells) == expected_total
    assert _ticks(ax, "y") == AGES and _ticks(ax, "x") == BANDS


def test_product_by_age_stacks_the_products(book):
    from maturity_analysis.analysis.tables import table2

    ax = plots.product_by_age(table2(book))
    # 分红: one policy per band except two at 41-50; 万能: 20-30, 41-50, 51-60, 61以上.
    assert _bars(ax) == [[1, 1, 2, 1, 1], [1, 0, 1, 1, 1]]
    assert _legend(ax) == ["分红", "万能"] and _ticks(ax) == AGES
    assert [t.get_text() for t in ax.texts] == ["20.00%", "10.00%", "30.00%", "20.00%", "20.00%"]


def test_premium_by_age_stacks_premium_in_wan(book):
    from maturity_analysis.analysis.tables import table4

    ax = plots.premium_by_age(table4(book))
    # 41-50: 分红 15万 + 2万 = 17万元 → 17.0 万元; 万能 8万元.
    assert _bars(ax)[0][2] == pytest.approx(17.0)
    assert _bars(ax)[1][2] == pytest.approx(8.0)
    assert sum(map(sum, _bars(ax))) == pytest.approx(book["premium"].sum() / 10_000)


def test_principal_bands_draws_one_bar_per_band_and_product(book):
    from maturity_analysis.analysis.tables import table3

    ax = plots.principal_bands(table3(book))
    assert _bars(ax) == [[4, 1, 1, 0], [3, 1, 0, 0]]
    assert _ticks(ax, "y") == BANDS
    assert ax.get_xscale() == "log"
    assert plots.principal_bands(table3(book), log=False).get_xscale() == "linear"


def test_yield_vs_deposit_pairs_policy_and_deposit_returns(book):
    from maturity_analysis.analysis.tables import maturity_product_table

    table = maturity_product_table(book)
    ax = plots.yield_vs_deposit(table)
    groups = [g for g in table.index if g != "合计"]
    assert _ticks(ax) == groups
    assert _bars(ax) == [
        pytest.approx(list(table.loc[groups, "平均年化收益率"])),
        pytest.approx(list(table.loc[groups, "平均存款年化收益率"])),
    ]
    assert len(ax.texts) == len(groups)


def test_yield_scatter_plots_each_policy_once_per_group(book):
    """Points in one place are drawn once, as opaque as they were together: the points drawn,
    each counted as the number of policies its opacity stands for, are every policy with both
    yields; each group's colour and legend entry (with its count) once."""
    from maturity_analysis.analysis.tables import maturity_groups

    groups = maturity_groups(book)
    ax = plots.yield_scatter(book, hue=groups)
    stacked = [np.log(1 - c.get_alpha()) / np.log(1 - plots.SCATTER_ALPHA) for c in ax.collections]
    drawn = sum(n * len(c.get_offsets()) for n, c in zip(stacked, ax.collections, strict=True))
    assert drawn == pytest.approx(book[["deposit_yield", "policy_yield"]].notna().all(axis=1).sum())
    assert len({tuple(c.get_facecolor()[0][:3]) for c in ax.collections}) == groups.nunique()
    counts = groups.value_counts()
    assert _legend(ax)[:-1] == [
        f"{g}（{counts[g]:,}件）" for g in groups.cat.categories if counts[g]
    ]
    assert len(ax.lines) == 1  # the equal-return line
    assert {tuple(c.get_facecolor()[0][:3]) for c in plots.yield_scatter(book).collections} == {
        tuple(ax.collections[0].get_facecolor()[0][:3])
    }


def test_target_bars_leave_out_targets_without_a_base(book):
    from maturity_analysis.analysis.targets import targets

    table = targets(book)
    ax = plots.target_bars(table)
    with_base = table[table["基数"].notna()]
    assert _ticks(ax, "y") == list(with_base["目标"])
    assert _bars(ax) == [list(with_base["基数"]), list(with_base["目标件数"])]
    stated = [c for c in ax.collections if len(c.get_offsets())]
    assert len(stated[0].get_offsets()) == with_base["方案所述件数"].notna().sum()


def test_allocation_by_phase_draws_each_targets_count(book):
    from maturity_analysis.analysis.targets import allocate_phases

    alloc = allocate_phases(book)
    ax = plots.allocation_bars(alloc)
    assert _legend(ax) == ["保单转换", "存款转换", "万能险保单持有率"]
    assert [sum(b) for b in _bars(ax)] == list(
        alloc.loc["合计"].xs("目标件数", level=1, axis=1).iloc[0]
    )
    assert _ticks(ax)[0] == "Q1\n尝试期\n1-3月"


@pytest.mark.parametrize(("branches", "orientation"), [(2, "vertical"), (12, "horizontal")])
def test_allocation_by_branch_turns_horizontal_for_many_branches(
    make_policies, branches, orientation
):
    from maturity_analysis.analysis.targets import allocate_branches

    rows = [
        {"branch_code": f"B{i:02d}", "branch_name": f"网点{i}", "age": 30 + i}
        for i in range(branches)
    ]
    ax = plots.allocation_bars(allocate_branches(make_policies(rows)))
    assert {c.orientation for c in ax.containers} == {orientation}
    assert all(len(c) == branches for c in ax.containers)


def test_risk_by_age_colours_the_ratings(book):
    from maturity_analysis.analysis.risk import risk_table

    table = risk_table(book)
    ax = plots.risk_by_age(table)
    assert _legend(ax) == ["A", "B", "C"]
    assert [sum(b) for b in _bars(ax)] == [table.loc["合计", r] for r in "ABC"]
    assert matplotlib.colors.to_hex(ax.containers[0][0].get_facecolor()) == plots.RISK_COLORS["A"]


def _draw_all(book) -> dict:
    from maturity_analysis import tables, targets
    from maturity_analysis.analysis.risk import risk_table

    return {
        "heatmap": lambda ax: plots.age_principal_heatmap(tables.table1(book), ax=ax),
        "product_by_age": lambda ax: plots.product_by_age(tables.table2(book), ax=ax),
        "principal_bands": lambda ax: plots.principal_bands(tables.table3(book), ax=ax),
        "premium_by_age": lambda ax: plots.premium_by_age(tables.table4(book), ax=ax),
        "yield_vs_deposit": lambda ax: plots.yield_vs_deposit(
            tables.maturity_product_table(book), ax=ax
        ),
        "yield_scatter": lambda ax: plots.yield_scatter(book, "product_type", ax=ax),
        "target_bars": lambda ax: plots.target_bars(targets.targets(book), ax=ax),
        "allocation_bars": lambda ax: plots.allocation_bars(targets.allocate_phases(book), ax=ax),
        "risk_by_age": lambda ax: plots.risk_by_age(risk_table(book), ax=ax),
    }


@pytest.mark.parametrize("name", list(_draw_all(None)))
def test_every_chart_draws_on_the_given_axes_without_missing_glyphs(book, name):
    fig, ax = plt.subplots()
    assert _draw_all(book)[name](ax) is ax
    assert ax.get_title()  # every chart has a (Chinese) title
    assert _glyph_warnings(fig) == []

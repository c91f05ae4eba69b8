"""Per-chart cost of the report notebooks, warm, in one process.

``charts.py [--units ALL,420307] [--notebooks 01,02,03,04] [--rounds 2] [--png DIR]`` runs
each notebook's code cells for each unit (period 2013, the sample dataset) and, for every cell
that leaves a figure, times the cell itself (``build``: the table and the chart's artists) and
the figure's PNG as a report embeds it (``draw``: :func:`maturity_analysis.output.plots.figure_png`),
wall and CPU seconds, the best of ``--rounds``, and the PNG's size; and of the drawing, the
seconds in constrained layout and in the palette PNG (quantising and encoding), the rest being
Agg's drawing. ``--png`` writes the first round's PNGs to DIR (to look at, or to compare pixel
by pixel with another commit's).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.layout_engine import ConstrainedLayoutEngine  # noqa: E402

import maturity_analysis as ma  # noqa: E402
from maturity_analysis.output import plots  # noqa: E402

NOTEBOOKS = Path(ma.__file__).parent / "notebooks"
STAGES = {"layout": (ConstrainedLayoutEngine, "execute"), "png": (plots, "_palette_png")}
spent = dict.fromkeys(STAGES, 0.0)  # wall seconds in each stage since the last reset


def _time_stages() -> None:
    """Make each stage's function add its wall time to :data:`spent` (once a process)."""
    for stage, (owner, name) in STAGES.items():
        work = getattr(owner, name)
        if getattr(work, "timed", False):
            continue

        def timed(*args, _work=work, _stage=stage, **kwargs):
            start = time.perf_counter()
            try:
                return _work(*args, **kwargs)
            finally:
                spent[_stage] += time.perf_counter() - start

        timed.timed = True
        setattr(owner, name, timed)


def _timed(work):
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _png(fig) -> bytes:
    """As the report's kernel shows a figure: drawn once, as laid out, a palette PNG."""
    if hasattr(ma.plots, "figure_png"):
        return ma.plots.figure_png(fig)
    import io

    out = io.BytesIO()
    fig.canvas.print_figure(out, format="png", dpi=fig.dpi, bbox_inches=None)
    return ma.plots.compact_png(out.getvalue())


def cell_costs(notebook: Path, unit: str):
    """Yield (cell number, chart name, build, draw, png, stages) for each code cell, ``draw``,
    ``png`` and ``stages`` (the drawing's seconds in each of :data:`STAGES`) None for a cell
    that leaves no figure."""
    _time_stages()
    cells = [
        "".join(c["source"])
        for c in json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        if c["cell_type"] == "code"
    ]
    namespace: dict = {}
    for i, source in enumerate(cells):
        if i == 1:  # after the parameters cell, as papermill injects them
            namespace.update(branch=unit, period="2013")
        _, *build = _timed(lambda s=source, n=i: exec(compile(s, str(n), "exec"), namespace))  # noqa: S102
        if not plt.get_fignums():
            yield i, str(i), build, None, None, None
            continue
        spent.update(dict.fromkeys(STAGES, 0.0))
        png, *draw = _timed(lambda: _png(plt.figure(plt.get_fignums()[0])))
        plt.close("all")
        name = source.split("ma.plots.")[1].split("(")[0] if "ma.plots." in source else str(i)
        yield i, name, build, draw, png, dict(spent)


def chart_cells(notebook: Path, unit: str):
    """Yield :func:`cell_costs`' tuple for each cell that leaves a figure."""
    yield from (c for c in cell_costs(notebook, unit) if c[3] is not None)


def unit_costs(units: list[str], rounds: int = 2) -> dict[str, dict]:
    """Per unit, every notebook's cells run warm in this process (the best of ``rounds``):
    seconds in cells that draw a chart (building it, and drawing its PNG: of which constrained
    layout and the palette PNG) and in the others."""
    ma.plots.setup()
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    best: dict[str, dict] = {}
    for _ in range(rounds):
        for unit in units:
            costs = {"chart_build_s": 0.0, "chart_draw_s": 0.0, "other_s": 0.0, "charts": 0}
            costs.update({f"chart_{stage}_s": 0.0 for stage in STAGES})
            for notebook in notebooks:
                for _i, _name, build, draw, _png, stages in cell_costs(notebook, unit):
                    if draw is None:
                        costs["other_s"] += build[0]
                        continue
                    costs["chart_build_s"] += build[0]
                    costs["chart_draw_s"] += draw[0]
                    costs["charts"] += 1
                    for stage, seconds in stages.items():
                        costs[f"chart_{stage}_s"] += seconds
            costs["cells_s"] = costs["chart_build_s"] + costs["chart_draw_s"] + costs["other_s"]
            if unit not in best or costs["cells_s"] < best[unit]["cells_s"]:
                best[unit] = costs
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", default="ALL,420307")
    parser.add_argument("--notebooks", default="01,02,03,04")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--png", type=Path)
    args = parser.parse_args()
    ma.plots.setup()
    notebooks = [n for n in sorted(NOTEBOOKS.glob("*.ipynb")) if n.name[:2] in args.notebooks]
    best: dict[tuple, tuple] = {}
    for round_ in range(args.rounds):
        for unit in args.units.split(","):
            for notebook in notebooks:
                for i, name, build, draw, png, stages in chart_cells(notebook, unit):
                    key = (unit, notebook.name[:2], i, name)
                    if key not in best or build[0] + draw[0] < sum(best[key][:3:2]):
                        best[key] = (*build, *draw, stages["layout"], stages["png"], len(png))
                    if args.png and round_ == 0:
                        args.png.mkdir(parents=True, exist_ok=True)
                        (args.png / f"{unit}_{key[1]}_{i:02d}_{name}.png").write_bytes(png)
    print(f"{'unit':8} nb cell {'chart':22} build   cpu  draw   cpu layout   png    KB")
    for (unit, nb, i, name), (bw, bc, dw, dc, lay, pal, size) in best.items():
        print(
            f"{unit:8} {nb} {i:4} {name:22} {bw:5.2f} {bc:5.2f} {dw:5.2f} {dc:5.2f} "
            f"{lay:6.2f} {pal:5.2f} {size / 1024:5.0f}"
        )
    rows = best.values()
    print(
        f"all charts: wall {sum(r[0] + r[2] for r in rows):.2f} s, "
        f"CPU {sum(r[1] + r[3] for r in rows):.2f} s (layout {sum(r[4] for r in rows):.2f} s, "
        f"palette PNG {sum(r[5] for r in rows):.2f} s), PNG {sum(r[6] for r in rows) / 1024:.0f} KB"
    )


if __name__ == "__main__":
    main()

"""Per-chart cost of the report notebooks, warm, in one process.

``charts.py [--units ALL,420307] [--notebooks 01,02,03,04] [--rounds 2] [--png DIR]`` runs
each notebook's code cells for each unit (period 2013, the sample dataset) and, for every cell
that leaves a figure, times the cell itself (``build``: the table and the chart's artists) and
the figure's PNG as a report embeds it (``draw``: :func:`maturity_analysis.output.plots.figure_png`),
wall and CPU seconds, the best of ``--rounds``, and the PNG's size. ``--png`` writes the first
round's PNGs to DIR (to look at, or to compare pixel by pixel with another commit's).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402

import maturity_analysis as ma  # noqa: E402

NOTEBOOKS = Path(ma.__file__).parent / "notebooks"


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
    """Yield (cell number, chart name, build, draw, png) for each code cell, ``draw`` and
    ``png`` None for a cell that leaves no figure."""
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
            yield i, str(i), build, None, None
            continue
        png, *draw = _timed(lambda: _png(plt.figure(plt.get_fignums()[0])))
        plt.close("all")
        name = source.split("ma.plots.")[1].split("(")[0] if "ma.plots." in source else str(i)
        yield i, name, build, draw, png


def chart_cells(notebook: Path, unit: str):
    """Yield (cell number, chart name, build, draw, png) for each cell that leaves a figure."""
    yield from (c for c in cell_costs(notebook, unit) if c[3] is not None)


def unit_costs(units: list[str], rounds: int = 2) -> dict[str, dict]:
    """Per unit, every notebook's cells run warm in this process (the best of ``rounds``):
    seconds in cells that draw a chart (building it, and drawing its PNG) and in the others."""
    ma.plots.setup()
    notebooks = sorted(NOTEBOOKS.glob("*.ipynb"))
    best: dict[str, dict] = {}
    for _ in range(rounds):
        for unit in units:
            costs = {"chart_build_s": 0.0, "chart_draw_s": 0.0, "other_s": 0.0, "charts": 0}
            for notebook in notebooks:
                for _i, _name, build, draw, _png in cell_costs(notebook, unit):
                    if draw is None:
                        costs["other_s"] += build[0]
                    else:
                        costs["chart_build_s"] += build[0]
                        costs["chart_draw_s"] += draw[0]
                        costs["charts"] += 1
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
                for i, name, build, draw, png in chart_cells(notebook, unit):
                    key = (unit, notebook.name[:2], i, name)
                    if key not in best or build[0] + draw[0] < sum(best[key][:3:2]):
                        best[key] = (*build, *draw, len(png))
                    if args.png and round_ == 0:
                        args.png.mkdir(parents=True, exist_ok=True)
                        (args.png / f"{unit}_{key[1]}_{i:02d}_{name}.png").write_bytes(png)
    print(f"{'unit':8} nb cell {'chart':22} build   cpu  draw   cpu    KB")
    for (unit, nb, i, name), (bw, bc, dw, dc, size) in best.items():
        print(
            f"{unit:8} {nb} {i:4} {name:22} {bw:5.2f} {bc:5.2f} {dw:5.2f} {dc:5.2f} {size / 1024:5.0f}"
        )
    rows = best.values()
    print(
        f"all charts: wall {sum(r[0] + r[2] for r in rows):.2f} s, "
        f"CPU {sum(r[1] + r[3] for r in rows):.2f} s, PNG {sum(r[4] for r in rows) / 1024:.0f} KB"
    )


if __name__ == "__main__":
    main()

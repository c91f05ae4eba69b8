"""The RESULTS.md text from the figures of a run, the goals it is judged against, and the
JSON the figures are saved as (so that ``--render-only`` can rewrite the text)."""

from __future__ import annotations

import statistics
from dataclasses import asdict
from pathlib import Path

from measure import Run
from workloads import POLICIES_PER_BRANCH, PREPARE_RUNS, TABLE_COLUMNS, TABLE_RUNS, TABLES

from maturity_analysis.ingest.policies import CHUNK_ROWS
from maturity_analysis.output.plots import MAX_BRANCH_BARS

GOAL_SPEEDUP = 20.0  # runner vs the naive loop
GOAL_PEER_SPEEDUP = 5.0  # runner vs the process-pool peer
GOAL_FULL_S = 60.0  # the sample's full year run
GOAL_HTML_MEDIAN_KB = 200.0
GOAL_HTML_MAX_KB = 600.0
GOAL_TABLES_S = 3.0
GOAL_TABLES_MB = 1536.0
GOAL_PREPARE_S = 40.0
GOAL_PREPARE_MB = 4096.0
GOAL_SAMPLE_PREPARE_S = 8.0
GOAL_ROWS = 10_000_000


def goal_met(value: float, goal: float, higher_is_better: bool = False) -> bool:
    """Whether ``value`` meets ``goal``."""
    return value >= goal if higher_is_better else value <= goal


def verdict(value: float, goal: float, unit: str, higher_is_better: bool = False) -> str:
    """'met' or 'missed' with by how much, for a figure against its goal."""
    if goal_met(value, goal, higher_is_better):
        return "met"
    if higher_is_better:
        return f"**missed**: {goal / value:.2f}x short of {goal:g}{unit}"
    return f"**missed** by {value - goal:,.1f}{unit} ({value / goal:.2f}x the goal)"


def render_fanout(fan: dict, goals: list) -> list[str]:
    """Section 1 and its goals."""
    naive, runner = statistics.median(fan["naive"]), statistics.median(fan["runner"])
    peer = statistics.median(fan["peer"]) if fan.get("peer") else None
    speedup = naive / runner
    goals.append(
        (
            f"runner ≥ {GOAL_SPEEDUP:g}x faster than the naive loop",
            f"{speedup:.1f}x",
            verdict(speedup, GOAL_SPEEDUP, "x", higher_is_better=True),
        )
    )
    if peer is not None:
        goals.append(
            (
                f"runner ≥ {GOAL_PEER_SPEEDUP:g}x faster than the process-pool peer",
                f"{peer / runner:.1f}x",
                verdict(peer / runner, GOAL_PEER_SPEEDUP, "x", higher_is_better=True),
            )
        )
    lines = [
        "",
        "## 1. Fan-out: naive loop, process-pool peer and the runner",
        "",
        f"{fan['jobs']} jobs: notebooks {', '.join(fan['notebooks'])} × "
        f"{len(fan['branches'])} branches ({', '.join(fan['branches'])}). Naive: for each job "
        "`papermill NB OUT -r dataset sample -r branch B -r period 2013`, then `jupyter "
        "nbconvert --to html --no-input OUT`, one after another. Peer (`benchmarks/peer.py`): "
        "`papermill.execute_notebook` (a fresh kernel per notebook) then nbconvert's "
        "`HTMLExporter(exclude_input=True)`, in a `ProcessPoolExecutor` with one process per "
        "core. Runner: `maturity-analysis reports --dataset sample --period 2013 --branch ... "
        "--out TMP --force` (default `--jobs` = cores; it also writes each branch's workbook "
        "and the index, which the others do not). Run alternately (naive, peer, runner) after "
        "one untimed runner warm-up, each run without the every-branch evaluations an earlier "
        "run stored (`data/processed/.evaluations/`), as a run on a new export is.",
        "",
        "| round | naive loop (s) | peer (s) | runner (s) | naive / runner | peer / runner |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    peers = fan.get("peer") or [float("nan")] * len(fan["naive"])
    lines += [
        f"| {i + 1} | {n:.1f} | {p:.1f} | {r:.1f} | {n / r:.1f}x | {p / r:.1f}x |"
        for i, (n, p, r) in enumerate(zip(fan["naive"], peers, fan["runner"], strict=True))
    ]
    peer_cell = f"{peer:.1f}" if peer is not None else "–"
    peer_ratio = f"{peer / runner:.1f}x" if peer is not None else "–"
    lines += [
        f"| **median** | **{naive:.1f}** | **{peer_cell}** | **{runner:.1f}** | "
        f"**{speedup:.1f}x** | **{peer_ratio}** |",
        "",
        f"Naive: {naive / fan['jobs']:.2f} s per notebook. Runner: {runner / fan['jobs']:.2f} s "
        f"per notebook (wall / notebooks), peak memory of its largest process "
        f"{fan['runner_peak_mb']:,.0f} MB. Naive failures per round: {fan['naive_failed']}; "
        f"peer failures per round: {fan.get('peer_failed', '–')}; "
        f"runner exit codes: {fan['runner_rc']}."
        + (
            f" Reports the runner rendered per round: {fan['runner_reports']} (the same "
            f"{fan['jobs']} jobs each time, or the comparison is void)."
            if "runner_reports" in fan
            else ""
        ),
        "",
        f"Naive loop, median round: {fan['naive_papermill_s']:.1f} s in `papermill` "
        f"({fan['naive_papermill_s'] / fan['jobs']:.2f} s per notebook: a kernel start, the "
        f"imports and the notebook's own work) and {fan['naive_nbconvert_s']:.1f} s in "
        f"`nbconvert` ({fan['naive_nbconvert_s'] / fan['jobs']:.2f} s per notebook).",
        "",
        *render_breakdown(fan["breakdown"]),
        *render_full_year(fan, goals),
    ]
    return lines


def render_full_year(fan: dict, goals: list) -> list[str]:
    """The full year run and its goal."""
    if fan.get("full_wall") is None:
        return [
            "### The full year run",
            "",
            "Not run this time (`--no-full-year`); the report sizes below are the fan-out "
            "runner's reports.",
        ]
    goals.append(
        (
            f"the sample's full year run ≤ {GOAL_FULL_S:g} s",
            f"{fan['full_wall']:.1f} s",
            verdict(fan["full_wall"], GOAL_FULL_S, " s") if fan["full_rc"] == 0 else "failed",
        )
    )
    notebooks = ", ".join(fan.get("full_notebooks", [])) or "–"
    return [
        "### The full year run",
        "",
        f"`maturity-analysis reports --dataset sample --period 2013 --force` over every unit "
        f"of the sample as it is on this commit ({fan.get('full_units', '?')} units: ALL, "
        f"every 支局 and every branch; notebooks {notebooks}): {fan['full_reports']} reports, "
        f"{fan.get('full_workbooks', '?')} workbooks and the index in {fan['full_wall']:.1f} s "
        f"(exit {fan['full_rc']}; the every-branch evaluations computed in the run).",
        *render_full_jobs(fan.get("full_breakdown")),
        *render_unit_costs(fan.get("unit_costs") or {}),
    ]


def render_full_jobs(breakdown: dict | None) -> list[str]:
    """The full year run's job time per notebook (each job as its worker timed it)."""
    if not breakdown:
        return []
    per = breakdown["per_notebook"]
    total = sum(v["total"] for v in per.values())
    return [
        "",
        f"Its jobs took {total:.1f} s of worker time ({total / 2:.1f} s on each core); by "
        "notebook (the workbook is a job of its own):",
        "",
        "| notebook | jobs | all jobs (s) | share | median job (s) |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {name} | {v['count']} | {v['total']:.1f} | {v['total'] / max(total, 1e-9):.0%} "
            f"| {v['job']:.2f} |"
            for name, v in sorted(per.items())
        ),
    ]


def _drawing(c: dict) -> dict[str, float]:
    """A unit's chart drawing by stage (``benchmarks/charts.py``): constrained layout, the
    palette PNG, and Agg's drawing, the rest (figures saved before the stages were timed: all
    Agg)."""
    layout, png = c.get("chart_layout_s", 0.0), c.get("chart_png_s", 0.0)
    return {"layout": layout, "agg": c["chart_draw_s"] - layout - png, "png": png}


def render_unit_costs(costs: dict) -> list[str]:
    """Where a unit's cells spend their time (``benchmarks/charts.py``'s profile)."""
    if not costs:
        return []
    lines = [
        "",
        "Where the cells' time goes: every notebook's cells for one unit, run warm in one "
        "process (`benchmarks/charts.py`: no kernel, no messages, no HTML; the best of two "
        "rounds). A chart's cell builds its table and its artists; drawing is its PNG as the "
        "report embeds it (`plots.figure_png`): constrained layout (measuring every text to "
        "place the axes), Agg's drawing, then the palette PNG (256 colours by maximum coverage, "
        "zlib level 8):",
        "",
        "| unit | charts | building charts (s) | drawing charts (s) | of which layout (s) | "
        "of which Agg (s) | of which palette PNG (s) | other cells (s) | all cells (s) | "
        "charts' share |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for unit, c in costs.items():
        charts = c["chart_build_s"] + c["chart_draw_s"]
        d = _drawing(c)
        lines.append(
            f"| {unit} | {c['charts']} | {c['chart_build_s']:.2f} | {c['chart_draw_s']:.2f} | "
            f"{d['layout']:.2f} | {d['agg']:.2f} | {d['png']:.2f} | "
            f"{c['other_s']:.2f} | {c['cells_s']:.2f} | {charts / max(c['cells_s'], 1e-9):.0%} |"
        )
    return lines


def render_breakdown(breakdown: dict) -> list[str]:
    """Where the runner's time went in its last timed round."""
    if not breakdown.get("notebook_cells_s"):
        return [
            "Runner, last timed round, median job time per notebook (execute in a warm kernel, "
            "render HTML, privacy check, write); the executed notebooks record no cell times "
            "(same run, same bytes), so cells and overhead are not told apart here:",
            "",
            "| notebook | jobs | job (s) |",
            "|---|---:|---:|",
            *(
                f"| {name} | {v['count']} | {v['job']:.2f} |"
                for name, v in sorted(breakdown.get("per_notebook", {}).items())
            ),
            "",
        ]
    lines = [
        "Runner, last timed round, per notebook (medians over branches): the job (execute in a "
        "warm kernel, render HTML, privacy check, write) and, of that, the time its cells ran:",
        "",
        "| notebook | jobs | job (s) | cells (s) |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {name} | {v['count']} | {v['job']:.2f} | {v['cells']:.2f} |"
        for name, v in sorted(breakdown["per_notebook"].items())
    ]
    n = max(breakdown["notebooks"], 1)
    cells, jobs = breakdown["notebook_cells_s"] / n, breakdown["notebook_job_s"] / n
    lines += [
        "",
        f"On average a notebook's cells ran {cells:.2f} s and the runner's own work around them "
        f"(parameterise, render HTML, privacy check, write) took {jobs - cells:.2f} s; the "
        f"workers spent {breakdown['all_jobs_s']:.1f} s on all jobs (workbooks included), "
        f"{breakdown['notebook_cells_s'] / max(breakdown['all_jobs_s'], 1e-9):.0%} of it in "
        "notebook cells. The naive loop pays a fixed F s per notebook (kernel start, imports, "
        "nbconvert) plus the cells' time C; the runner pays (C + its overhead) / cores. The "
        "ratio is at most (F + C) × cores / (C + overhead), so the cells' own time, not the "
        "runner, bounds the speed-up.",
    ]
    lines += [
        "",
        "The cells that took longest, summed over the round's jobs:",
        "",
        "| cell (notebook: first line) | jobs | total (s) |",
        "|---|---:|---:|",
    ]
    lines += [f"| `{name}` | {n} | {total:.1f} |" for name, total, n in breakdown["slowest_cells"]]
    return [*lines, ""]


def render_sizes(fan: dict, goals: list) -> list[str]:
    """Section 3 and its goals."""
    sizes = [size for size, _ in fan["html_sizes"]]
    if not sizes:
        return ["", "## 3. Report size", "", "No report was rendered."]
    largest, name = fan["html_sizes"][-1]
    median = statistics.median(sizes)
    goals.append(
        (
            f"report HTML median ≤ {GOAL_HTML_MEDIAN_KB:g} KB",
            f"{median / 1024:,.0f} KB",
            verdict(median / 1024, GOAL_HTML_MEDIAN_KB, " KB"),
        )
    )
    goals.append(
        (
            f"every report ≤ {GOAL_HTML_MAX_KB:g} KB of HTML",
            f"largest {largest / 1024:,.0f} KB",
            verdict(largest / 1024, GOAL_HTML_MAX_KB, " KB"),
        )
    )
    by_notebook: dict[str, list[int]] = {}
    for size, path in fan["html_sizes"]:
        by_notebook.setdefault(Path(path).stem, []).append(size)
    lines = [
        "",
        "## 3. Report size",
        "",
        f"{len(sizes)} HTML reports of the "
        + ("full year run" if fan.get("full_wall") is not None else "fan-out's runner")
        + f": median {median / 1024:,.0f} KB, "
        f"largest {largest / 1024:,.0f} KB (`{name}`), smallest {sizes[0] / 1024:,.0f} KB. "
        "The page carries only the CSS its elements use and its charts as 256-colour palette "
        "PNGs (`output.plots.figure_png`), its tables without the per-cell ids, classes and "
        "indentation of pandas' Styler template (`output/templates/table.tpl`), its league "
        "tables with a cell's value to sort by only where the cell's text rounds it, to as few "
        "digits as keep its column's order (`analysis.league.sort_keys`).",
        "",
        "| notebook | reports | median (KB) | largest (KB) |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {nb} | {len(v)} | {statistics.median(v) / 1024:,.0f} | {max(v) / 1024:,.0f} |"
        for nb, v in sorted(by_notebook.items())
    ]
    return lines + render_province(fan.get("province"), goals)


LEVELS = ("全辖", "支局", "网点")


def render_province(province: dict | None, goals: list) -> list[str]:
    """Section 3's province: each level's reports, their time and size, and its goal row."""
    if not province:
        return []
    jobs = province["jobs"]
    lines = [
        "",
        f"### A province of {province['branches']} branches",
        "",
        f"The sample generator with {province['branches']} branches (about as many policies a "
        "branch as the sample, eight branches a 支局) and its year of tracking forms; "
        f"`reports --force` over {', '.join(f'`{u}`' for u in province['units'])}, the "
        "every-branch evaluations computed in the run: "
        f"{province['wall']:.1f} s (exit {province['rc']}), peak memory of its largest process "
        f"{province['peak_mb']:,.0f} MB. A branch's report compares it with the branches of its "
        "支局 (as its 支局's report does), so its charts and league do not grow with the "
        "province; the 全辖 reports list every branch, and chart every branch up to "
        f"{MAX_BRANCH_BARS} branches, past them a bar a 支局 (`output.plots.charted`).",
    ]
    if not jobs:
        return lines
    lines += [
        "",
        "| level | report | jobs | median job (s) | median (KB) | largest (KB) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    names = sorted({j["name"] for j in jobs})
    for level in LEVELS:
        for name in names:
            mine = [j for j in jobs if j["level"] == level and j["name"] == name]
            if mine:
                seconds = statistics.median(j["seconds"] for j in mine)
                sizes = [j["bytes"] / 1024 for j in mine]
                lines.append(
                    f"| {level} | {name} | {len(mine)} | {seconds:.2f} | "
                    f"{statistics.median(sizes):,.0f} | {max(sizes):,.0f} |"
                )
    pages = [j for j in jobs if j["name"].endswith(".html")]
    largest = max(pages, key=lambda j: j["bytes"])
    branch = [j["bytes"] / 1024 for j in pages if j["level"] == "网点"]
    goals.append(
        (
            f"every report ≤ {GOAL_HTML_MAX_KB:g} KB of HTML, a province of "
            f"{province['branches']} branches",
            f"largest {largest['bytes'] / 1024:,.0f} KB ({largest['level']} {largest['name']}); "
            f"a branch's largest {max(branch, default=0):,.0f} KB",
            verdict(largest["bytes"] / 1024, GOAL_HTML_MAX_KB, " KB"),
        )
    )
    return lines


def _tables_cells(entry: dict, columns: str) -> str:
    ran, info = entry["tables"].get(columns, (None, {}))
    if ran is None:
        return "– | – | –"
    if ran.rc != 0:
        return f"failed (exit {ran.rc}) | – | –"
    return f"{info['read_s'] + info['tables_s']:.2f} | {info['read_s']:.2f} | {ran.peak_mb:,.0f}"


def render_scale(scaled: list[dict], goals: list) -> list[str]:
    """Section 2 and its goals."""
    lines = [
        "",
        "## 2. Tables at scale",
        "",
        "The sample generator (`maturity_analysis.sample.book.scaled_policies`) scaled up: "
        f"same shape, more policies, about {POLICIES_PER_BRANCH:.0f} policies per branch as in "
        "the sample; written as UTF-8 CSV (not timed). `prepare`: a fresh process running "
        "`maturity_analysis.ingest.dataset.prepare(csv, out)`, timed as a whole process "
        f"(interpreter start and imports included), run {PREPARE_RUNS} times, the run with the "
        "median wall time shown and judged. Tables: a fresh process reading the prepared "
        "`policies.parquet` (what `maturity_analysis.ingest.dataset.read_dataset` gives by "
        "default: every column but the customers' name, ID and phone, which are read only "
        "where used, by the call lists, the masked customer lists and the privacy check; "
        f"or only the {len(TABLE_COLUMNS)} columns the tables use) and computing "
        + ", ".join(f"`{n}`" for n in TABLES)
        + "; read + tables is timed inside that process (imports excluded), peak memory is the "
        f"process's; each read is run {TABLE_RUNS} times and the run with the median read + "
        "tables is shown (every run's figure is under the table). "
        f"`prepare` reads a CSV {CHUNK_ROWS:,} rows at a time and stores the per-policy "
        "yields, deposit values and risk, and repeated text as categories (without parquet "
        "min/max statistics for the categories, which no read uses and pyarrow works out from "
        "their text); the tables read the stored yields.",
        "",
        "| policies | CSV (MB) | prepare (s, and CPU s) | prepare peak (MB) | parquet (MB) | "
        "default read: read + tables (s) | of which read (s) | peak (MB) | "
        "table columns: read + tables (s) | of which read (s) | peak (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in scaled:
        prep = e["prepare"]
        prep_cell = (
            f"{prep.wall:.1f} ({prep.user + prep.sys:.1f} CPU)"
            if prep.rc == 0
            else f"failed (exit {prep.rc})"
        )
        lines.append(
            f"| {e['rows']:,} | {e['csv_mb']:,.0f} | {prep_cell} | {prep.peak_mb:,.0f} | "
            f"{e.get('parquet_mb', 0):,.0f} | {_tables_cells(e, 'all')} | "
            f"{_tables_cells(e, 'plan')} |"
        )
    runs = [
        f"{e['rows']:,} policies: "
        + "; ".join(
            f"{label} " + ", ".join(f"{t:.2f}" for t in e["tables_s"][c]) + " s"
            for c, label in (("all", "default read"), ("plan", "table columns"))
            if e["tables_s"].get(c)
        )
        for e in scaled
        if e.get("tables_s")
    ]
    preps = [
        f"{e['rows']:,} policies: "
        + ", ".join(f"{r.wall:.1f} s ({r.user + r.sys:.1f} CPU)" for r in e["prepare_runs"])
        for e in scaled
        if e.get("prepare_runs")
    ]
    if preps:
        lines += ["", "`prepare` of every run, fastest first: " + "; ".join(preps) + "."]
    if runs:
        lines += ["", "Read + tables of every run, fastest first: " + "; ".join(runs) + "."]
    lines += [
        "",
        "Time per table, default read (s):",
        "",
        "| policies | " + " | ".join(TABLES) + " |",
        "|---:|" + "---:|" * len(TABLES),
    ]
    for e in scaled:
        steps = e["tables"].get("all", (None, {}))[1].get("steps", {})
        lines.append(
            f"| {e['rows']:,} | "
            + " | ".join(f"{steps[n]:.2f}" if n in steps else "–" for n in TABLES)
            + " |"
        )
    big = next((e for e in scaled if e["rows"] == GOAL_ROWS), None)
    if big is None:
        return lines
    prep = big["prepare"]
    goals.append(
        (
            f"`prepare` of the 10,000,000-row CSV ≤ {GOAL_PREPARE_S:g} s",
            f"{prep.wall:.1f} s",
            verdict(prep.wall, GOAL_PREPARE_S, " s") if prep.rc == 0 else "failed",
        )
    )
    goals.append(
        (
            f"… peak memory ≤ {GOAL_PREPARE_MB / 1024:g} GB",
            f"{prep.peak_mb:,.0f} MB",
            verdict(prep.peak_mb, GOAL_PREPARE_MB, " MB") if prep.rc == 0 else "failed",
        )
    )
    for columns, label in (
        ("all", "default read: every column but name, ID and phone"),
        ("plan", "only the table columns read"),
    ):
        ran, info = big["tables"].get(columns, (None, {}))
        if ran is None or ran.rc != 0:
            goals.append((f"all plan tables for 10,000,000 policies ({label})", "failed", "–"))
            continue
        secs = info["read_s"] + info["tables_s"]
        goals.append(
            (
                f"all plan tables for 10,000,000 prepared policies ≤ {GOAL_TABLES_S:g} s ({label})",
                f"{secs:.2f} s",
                verdict(secs, GOAL_TABLES_S, " s"),
            )
        )
        goals.append(
            (
                f"… peak memory ≤ {GOAL_TABLES_MB / 1024:g} GB ({label})",
                f"{ran.peak_mb:,.0f} MB",
                verdict(ran.peak_mb, GOAL_TABLES_MB, " MB"),
            )
        )
    return lines


def render_profiles(found: dict) -> list[str]:
    """Where the time goes, for what missed its goal."""
    lines = []
    titles = {"prepare": "`prepare`", "tables": "reading the parquet and the plan tables"}
    for kind, (rows, info) in found.items():
        lines += [
            "",
            f"### Where the time goes: {titles[kind]}, {rows:,} rows",
            "",
            f"cProfile, {info['total_s']:.1f} s profiled; the functions with the most time of "
            "their own:",
            "",
            "| function | calls | own (s) | cumulative (s) |",
            "|---|---:|---:|---:|",
        ]
        lines += [
            f"| `{name}` | {calls:,} | {own:.2f} | {cum:.2f} |"
            for name, calls, own, cum in info["top"]
        ]
    return lines


def render_sample_prepare(runs: list[Run], goals: list) -> list[str]:
    """``prepare`` of the sample (part of section 2) and its goal."""
    ok = [r.wall for r in runs if r.rc == 0]
    if not ok:
        return ["", "`prepare` of the sample failed."]
    median = statistics.median(ok)
    goals.append(
        (
            f"`prepare` of the sample (workbook and tracking forms) ≤ {GOAL_SAMPLE_PREPARE_S:g} s",
            f"{median:.1f} s (median of {len(ok)})",
            verdict(median, GOAL_SAMPLE_PREPARE_S, " s"),
        )
    )
    return [
        "",
        "`maturity-analysis prepare data/raw/sample --out TMP` (the sample's policies.xlsx, "
        "36,823 policies, and its four tracking workbooks), a fresh process each: "
        + ", ".join(f"{r.wall:.1f} s ({r.user + r.sys:.1f} s of CPU)" for r in runs)
        + f"; peak {max(r.peak_mb for r in runs):,.0f} MB. On a shared machine the CPU time "
        "(user + system, from `wait4`) is the steadier figure: wall time waits for the other "
        "processes.",
    ]


def render(
    info: dict,
    fan: dict | None,
    scaled: list[dict],
    found: dict,
    quick: bool,
    sample_prepare: list[Run] = (),
) -> str:
    """The RESULTS.md text."""
    lines = [
        "# Benchmark results",
        "",
        f"Written by `benchmarks/run.py{' --quick' if quick else ''}` (`make bench"
        f"{' QUICK=1' if quick else ''}`); do not edit by hand. Times are wall times of whole "
        "processes started by the benchmark unless a column says otherwise; peak memory is the "
        "largest resident set of one process (`wait4`).",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in info.items()]
    goals: list[tuple[str, str, str]] = []
    if fan:
        lines += render_fanout(fan, goals)
    if scaled:
        lines += render_scale(scaled, goals) + render_profiles(found)
    if sample_prepare:
        lines += render_sample_prepare(sample_prepare, goals)
    if fan:
        lines += render_sizes(fan, goals)
    lines += ["", "## Goals (2-core machine)", "", "| goal | measured | verdict |", "|---|---|---|"]
    lines += [f"| {g} | {m} | {v} |" for g, m, v in goals]
    lines += render_why(fan, scaled, goals, info)
    return "\n".join(lines) + "\n"


def render_why(fan: dict | None, scaled: list[dict], goals: list, info: dict) -> list[str]:
    """Why each missed goal was missed, from the figures above."""
    missed = " ".join(g for g, _, v in goals if v != "met")
    why = []
    if fan:
        why += _why_fanout(fan, missed)
    big = next((e for e in scaled if e["rows"] == GOAL_ROWS), None)
    if big and "peak memory" in missed and {"all", "plan"} <= set(big["tables"]):
        every, some = big["tables"]["all"][0], big["tables"]["plan"][0]
        why.append(
            f"- **Memory of the tables at 10M.** The default read (every column but the "
            "customers' name, ID and phone, which only the call lists, the masked customer lists "
            f"and the privacy check read, by name) peaks at {every.peak_mb:,.0f} MB, only the "
            f"{len(TABLE_COLUMNS)} columns the tables use at {some.peak_mb:,.0f} MB. Repeated "
            "text is stored as categories (branch, 支局, product, payment mode, manager, bands: "
            "about 15 bytes a policy together), and the parquet is read a few columns at a time "
            "(up to 256 MB decoded, in threads), each batch's Arrow buffers freed once "
            "converted. What is left is the frame itself, "
            "about 1.5 GB at 10M (`memory_usage(deep=True)`): the policy numbers, about 23 bytes "
            "a policy (unique text; read by default, as the tracking forms, KPIs, costs and "
            "reconciliation join on them), and the typed columns, about 118 bytes (three dates, "
            "three nullable integers, seven floats, the risk points and two flags); on top of it "
            "the process holds about 0.2 GB after the read (imports, allocator pages not handed "
            "back) and the read's batch in flight, up to 0.25 GB; the tables add nothing to the "
            "peak (their counts and sums are taken a million rows at a time). Batches of 64 MB "
            "instead of 256 MB lowered the peak by 0.05-0.15 GB (three runs each, alternately, "
            "on 8da9d3d), while the read's time swung more from run to run (2.9-6.0 s at 256 "
            "MB, 3.8-4.3 s at 64 MB) than any difference between them. 32-bit integers for age, "
            "the terms and the risk points would save about 16 bytes a policy (0.15 GB) but "
            "change the dtype of every figure computed from them; the way left is to keep the "
            "columns in a memory-mapped Arrow file that is paged in only where touched."
        )
    if big and "plan tables" in missed and f"≤ {GOAL_TABLES_S:g} s" in missed:
        parts = {c: big["tables"][c][1] for c in ("all", "plan") if c in big["tables"]}
        text = "- **Tables at 10M.** "
        if "all" in parts:
            a = parts["all"]
            text += (
                f"The default read takes {a['read_s']:.1f} s (ten million unique policy "
                f"numbers as text, the rest typed or categories) and the tables "
                f"{a['tables_s']:.1f} s. "
            )
        if "plan" in parts:
            p = parts["plan"]
            text += (
                f"Reading only the {len(TABLE_COLUMNS)} columns the tables use takes "
                f"{p['read_s']:.1f} s, the tables {p['tables_s']:.1f} s. "
            )
        text += (
            "The policy numbers are the largest part of the read: about 0.2 s since 6f96180, "
            "which decodes a column read alone a row group each, in threads (`pyarrow.dataset`), "
            "then joins it (read whole, on one thread: 0.36-0.47 s, and 0.9 s before jemalloc; "
            "read + tables 2.3-3.3 s against 3.0-5.4 s, four runs each, in turn). Much of the read is system time, "
            "the kernel handing the process fresh pages, and it swings from run to run: on "
            "this machine touching 1 GiB of fresh memory took 0.18-2.55 s in huge pages and a "
            "steady 0.35 s in 4 KB pages (transparent huge pages on `madvise`), but turning "
            "numpy's huge-page advice off did not steady the read, whose frame is mostly "
            "Arrow's memory. With pyarrow's default pool (mimalloc) the read took 2.5 s of user "
            "and 3.0-5.0 s of system CPU in a fresh process (`time`); `perf` put a quarter of "
            "its samples in the kernel zeroing fresh huge pages, 1,459 of them faulted in a "
            "read (`/proc/vmstat`). Since 738b249 Arrow allocates from jemalloc, which reuses "
            "its pages (402 huge pages a read): three runs each, in turn, read + tables "
            "3.24-3.37 s against 4.21-5.57 s, system CPU 1.55-1.61 s against 2.96-5.04 s. A "
            "memory-mapped read, every batch read a row group each (`pyarrow.dataset`: 1.85-1.92 "
            "s against 1.83-2.61 s), and storing the "
            "policy numbers uncompressed (1.10x the read's time) or in zstd (1.21x) did not "
            "make it faster. Reading the columns in batches decoded in threads instead of one a call "
            "cut the read's wall time by about a quarter for 0.13 GB more peak. The tables work "
            "on integer codes, a million rows at a time (`np.bincount` over 16-bit keys), a "
            "table's counts and sums in one pass (since 04c14c8 and f15b80a, with the "
            "maturity-product groups set by arithmetic rather than masked stores: the six "
            "tables 0.69 s against 1.01 s, the same frames). The profile above shows the rest."
        )
        why.append(text)
    if big and "`prepare`" in missed:
        why.append(
            "- **prepare at 10M.** Memory is within the goal: the CSV is read in 200,000-row "
            "parts, each part's typed values spilled to an Arrow file beside the outputs (only "
            "policy numbers and problems stay in memory for the duplicates), then "
            "policies.parquet written a part at a time. The time is CPU: reading and "
            "normalising the text (NFKC, ID and phone cleaning, amounts) is about half, then "
            "judging duplicates and rejects (on one core, after the last part: 3.8 s, of "
            "which the duplicates are 2.4 s, the policy numbers compared as the integers their "
            "digits spell, bucket by bucket; numbering them with `pd.factorize` took 4.5 s), "
            "one pass over the spilled parts for the book's categories and the stored "
            "figures' key, deriving yields and risk per part and the parquet write; the file's "
            "SHA-256 and line count are read in a thread beside the parse. The per-part "
            "checking, the book's pass and deriving run in threads, which Python's lock "
            "holds to about one core. Running them in worker processes was tried (same bytes) "
            "and was slower on 2 cores: handing each part over and its derived table back "
            "(pickled, to keep the Arrow chunks the parquet's bytes depend on) cost about 30% "
            "more CPU than the lock saved, and the reading process still reads the CSV, judges "
            "duplicates and writes the parquet on one core. What is left is less CPU per row, "
            "not more processes: on 0b6f633 the identifiers that are ASCII digits (nearly all) "
            "are found in one pass of Arrow's kernel and not read again for e/E or cleaned, and "
            "the columns a row group's dictionary page could not hold (maturity values, most "
            "yields) are written plain, not hashed first: 39.4 s against 44.5 s on 2c5e990 "
            "(medians of three runs each, in turn; 51.5 s against 55.3 s of user CPU). Timed by step in one process on 2026-12-06 (two runs): "
            "reading, checking and judging the parts 20.9-23.1 s (34.6-38.9 s of CPU), the "
            "pass for the book's categories 2.4 s (3.3 s of CPU), deriving and writing the "
            "parquet 13.0 s (21.5 s of CPU). The "
            "system time was 9-17 s from run to run, mostly the kernel zeroing fresh huge "
            "pages (`perf`). Arrow's jemalloc pool (the package's since 738b249, for the read "
            "above) against mimalloc, five runs each, in turn, on 2026-12-08: 29.7 s against "
            "29.0 s (medians; runs 27.6-33.4 s against 25.2-39.4 s), a peak of 1.85 GB against "
            "2.2 GB (on an earlier day 6% slower at 10,000,000, 10% faster at 1,000,000); its "
            "system pool (glibc's malloc) was 8% slower at 10,000,000 with a 3.7 GB peak; mimalloc's and glibc's options to keep "
            "freed memory, and numpy's huge-page advice off, moved the 10M time by less than "
            "the runs' own spread (the same code took 38.8-45.9 s on one day). See the profile "
            "above (on 1,000,000 rows)."
        )
    if "every report" in missed:
        why.append("- **Report size.** See the largest report named in section 3.")
    load = info.get("load average at start", "")
    notes = [
        "",
        "## Notes",
        "",
        f"- The machine is shared (load average at start: {load}); other work running at "
        "the same time slows every figure, so compare within a run rather than across runs.",
    ]
    return (["", "## Why goals were missed", "", *why] if why else []) + notes


def _why_fanout(fan: dict, missed: str) -> list[str]:
    """Why the fan-out, full-year or size goals were missed, from the run's figures."""
    why = []
    b = fan.get("breakdown") or {}
    n = max(b.get("notebooks", 0), 1)
    per_job = fan["runner"] and statistics.median(fan["runner"]) / max(fan["jobs"], 1)
    if "faster than the" in missed:
        cells = b.get("notebook_cells_s", 0.0) / n
        slowest = b.get("slowest_cells") or []
        jobs_s = b.get("all_jobs_s", 0.0)
        text = (
            f"- **Fan-out.** The runner spends {per_job:.2f} s of wall time per notebook on 2 "
            "cores; the warm kernels already remove the fixed cost the others pay per notebook "
            "(kernel start, imports, nbconvert's setup), the data, tracking frames and the one "
            "allocation are read or computed once per worker, and the every-branch and "
            "every-支局 evaluation once a run (the runner's index thread stores it beside the "
            "prepared data, `data/processed/.evaluations/`, and the kernels read it; a kernel "
            "that needs it while the index thread computes it waits on the store's lock file "
            "instead of computing it too). "
            f"Its jobs (the notebooks and {fan['jobs'] // max(len(fan.get('notebooks', [])), 1)} "
            f"workbooks the others do not write) took {jobs_s:.1f} s of worker time, "
            f"{jobs_s / 2:.1f} s on each core; the other "
            f"{max(statistics.median(fan['runner']) - jobs_s / 2, 0):.1f} s of its wall time are "
            "its start, the workers' and kernels' start, the first job of each kernel (its "
            "plain charts of the branches), writing the index (its KPI leagues are computed "
            "while the jobs run) and the shutdown. What is left in a job is its cells (charts "
            "most of them), nbclient's messages, rendering and the privacy check."
        )
        if cells:
            text += f" Cells: {cells:.2f} s a notebook on average"
            text += f"; slowest cell `{slowest[0][0]}`." if slowest else "."
        why.append(text)
    if "full year run" in missed:
        text = (
            f"- **Full year run.** {fan['full_reports']} reports and "
            f"{fan.get('full_workbooks', '?')} workbooks in {fan['full_wall']:.1f} s: "
            f"{fan['full_wall'] * 2 / max(fan['full_reports'], 1):.2f} core-seconds a report. "
            "Both cores are busy throughout, so only less work per report helps: the data, "
            "the tracking frames and the one allocation are already kept per worker, the "
            "every-branch evaluation is computed once a run, and what is left is each "
            "report's own cells, nbclient's messages, rendering and the privacy check."
        )
        full = fan.get("full_breakdown")
        if full:
            per = full["per_notebook"]
            total = sum(v["total"] for v in per.values())
            name, top = max(per.items(), key=lambda kv: kv[1]["total"])
            text += (
                f" The largest part is `{name}`: {top['total']:.1f} s of the jobs' {total:.1f} s."
            )
        costs = fan.get("unit_costs") or {}
        if costs:
            shares = [
                f"{unit} {(c['chart_build_s'] + c['chart_draw_s']) / max(c['cells_s'], 1e-9):.0%} "
                f"of {c['cells_s']:.1f} s"
                for unit, c in costs.items()
            ]
            drawing = sum(c["chart_draw_s"] for c in costs.values())
            stage = {
                k: sum(_drawing(c)[k] for c in costs.values()) for k in ("layout", "agg", "png")
            }
            text += (
                " In the cells, the charts take most of the time (" + ", ".join(shares) + "): "
                "matplotlib lays out and draws every tick label and bar of each chart for "
                "each unit, once (`print_figure` would lay it out and draw it twice). Of their "
                f"drawing ({', '.join(costs)} together), constrained layout is "
                f"{stage['layout'] / max(drawing, 1e-9):.0%} (tight layout was slower still), "
                f"Agg {stage['agg'] / max(drawing, 1e-9):.0%} and the palette PNG "
                f"{stage['png'] / max(drawing, 1e-9):.0%}. Only the charts of a 支局's "
                "branches, which each of their reports shows, are drawn once a process, each "
                "branch's report drawing just its own marked label over them "
                "(`output/marks.py`), their branch labels plain "
                "texts rather than y ticks of five artists each. 60 s for 330 jobs would leave "
                "0.36 core-seconds a job, less than drawing one report's charts."
            )
            text += (
                " Measured on 420105's 20 charts and not kept: SVG instead of PNG (matplotlib's "
                "SVG backend, text as text) builds and draws them in 1.69 s against 1.87 s, "
                "601 KB against 408 KB (text as paths: 1.93 s, 1,274 KB); fast octree "
                "quantising, white kept white, quantises and encodes them in 0.23 s against "
                "0.51 s with files a quarter smaller, but keeps a bar chart to about 20 "
                "colours and moves its fills by up to 15 levels (the chart tests allow 8); "
                "zlib level 6 encodes in 0.06 s against 0.15 s but 12% larger, which "
                "would take the largest report past 600 KB. With constrained layout's work "
                "skipped altogether (the axes left misplaced) the charts take 14% less: the most "
                "any cheaper layout could save. Outside the cells, nbclient's messages cost "
                "about 2.5 ms a cell, kernel and worker together (200 one-line cells in a warm "
                "kernel, the best of five runs; 3.5 ms before the kernel stopped sleeping 0.5 "
                "ms before each reply and waiting for its I/O thread to flush empty streams), "
                "99 cells a unit (94 code cells, a parameters cell a notebook): about 0.25 s "
                "of a branch's jobs."
            )
        why.append(text)
    province = fan.get("province") or {}
    pages = [j for j in province.get("jobs", []) if j["name"].endswith(".html")]
    if "a province of" in missed and pages:
        over = sorted(
            (j for j in pages if j["bytes"] / 1024 > GOAL_HTML_MAX_KB), key=lambda j: -j["bytes"]
        )
        below = max(
            (j for j in pages if j["level"] != "全辖"), key=lambda j: j["bytes"], default=None
        )
        n = province["branches"]
        top = over[0].get("parts") if over else None
        rest = (
            f"{(over[0]['bytes'] - top['largest_table']) / 1024:,.0f} KB, "
            f"{top['charts'] / 1024:,.0f} KB of it charts"
            if top
            else ""
        )

        def parts(j: dict) -> str:
            p = j.get("parts")
            if not p:
                return ""
            largest = f"「{p['largest_caption']}」 " if p["largest_caption"] else ""
            return (
                f" (charts {p['charts'] / 1024:,.0f} KB, tables {p['tables'] / 1024:,.0f} KB, "
                f"the largest of them {largest}{p['largest_table'] / 1024:,.0f} KB)"
            )

        why.append(
            f"- **Reports of a province of {n} branches.** Past {GOAL_HTML_MAX_KB:g} KB: "
            + ", ".join(
                f"{j['level']} {j['name']} {j['bytes'] / 1024:,.0f} KB{parts(j)}" for j in over
            )
            + f". Past {MAX_BRANCH_BARS} branches the 全辖 reports chart a bar a 支局, not a "
            "bar a branch (on 476a156, a bar each for this province's 300 branches made a KPI's "
            "chart 7,320 px tall and its 全辖 04_quarterly_evaluation.html 1,965 KB); they "
            "still list every branch in their tables, "
            f"{n} rows each: the allocation, and the league of every branch's verdicts, "
            "which the index shows too; a 支局's and a branch's show the branches of one 支局"
            + (
                f" (the largest of them {below['level']} {below['name']}, "
                f"{below['bytes'] / 1024:,.0f} KB)"
                if below
                else ""
            )
            + ". The 全辖 league of every branch stays: the verdicts each branch is judged by"
            + (f"; without it the page would still be {rest}" if rest else "")
            + ". It writes a cell's value to sort by only where the cell's text rounds it (on "
            "69ac414 every cell carried its value, and this province's league of every branch "
            "took 298 KB of a 946 KB page), to as few digits as keep its column's order (before "
            "1398bee all 17: this page was 789 KB, not 769 KB, and the index 186 KB, not "
            "166 KB)."
        )
    return why


def _encode(value: object) -> object:
    """JSON for the figures: a Run as a tagged dict, a path as text."""
    if isinstance(value, Run):
        return {"__run__": asdict(value)}
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value))


def _decode(d: dict) -> object:
    return Run(**d["__run__"]) if "__run__" in d else d

"""``make bench``: time the report fan-out, the tables at scale and the report sizes.

Writes ``benchmarks/RESULTS.md`` (``--quick``: ``benchmarks/work/RESULTS-quick.md``) with the
machine it ran on. Every figure is a whole child process, timed from here: its wall time and,
from ``wait4``, its peak resident memory (the largest single process among it and the
children it waited for). Scaled inputs and scratch output live in ``benchmarks/work/``
(gitignored); generating the inputs is not timed.

1. Fan-out: the same notebook x branch jobs run (a) naively, one ``papermill`` command then one
   ``jupyter nbconvert --to html --no-input`` per job, and (b) by ``maturity-analysis reports
   --force``, alternately: runner (warm-up, untimed), then naive, runner, naive, runner ...
2. Tables at scale: the sample generator scaled to 100,000 / 1,000,000 / 10,000,000 policies as
   CSV; ``prepare`` of each, then every plan table from the prepared parquet, each in a fresh
   process.
3. Report size: every HTML report of a full ``reports`` run over the sample (all branches + ALL).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "benchmarks" / "work"
BIN = Path(sys.executable).parent
DATASET = "sample"
PERIOD = "2013"
MB = 1024 * 1024

GOAL_SPEEDUP = 10.0
GOAL_TABLES_S = 10.0
GOAL_TABLES_MB = 4096.0
GOAL_PREPARE_S = 120.0
GOAL_HTML_MB = 1.5
GOAL_ROWS = 10_000_000
POLICIES_PER_BRANCH = 36_823 / 48  # the sample's
# the columns the plan tables read (the others are dropped to measure a projected read)
TABLE_COLUMNS = [
    "product_type",
    "product_name",
    "term_years",
    "premium",
    "issue_date",
    "maturity_date",
    "maturity_value",
    "age_band",
    "principal_band",
]
PROFILE_TOP = 12
PROFILE_ROWS = 1_000_000
TABLES = ("table1", "table2", "table3", "table4", "segment_table", "maturity_product_table")


@dataclass(frozen=True)
class Run:
    """One measured child process."""

    wall: float
    rc: int
    peak_mb: float
    user: float
    sys: float


def measure(cmd: list[str], log: Path, cwd: Path = ROOT) -> Run:
    """Run ``cmd`` to completion with output appended to ``log``; time it and read its peak RSS."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(map(str, cmd))}\n".encode())
        out.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(
            [str(c) for c in cmd], cwd=cwd, stdout=out, stderr=out, stdin=subprocess.DEVNULL
        )
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, proc.returncode, usage.ru_maxrss / 1024, usage.ru_utime, usage.ru_stime)


def run_checked(cmd: list[str], log: Path) -> Run:
    """``measure`` a step the benchmark cannot go on without; stop with the log's tail if it fails."""
    result = measure(cmd, log)
    if result.rc != 0:
        tail = log.read_text(errors="replace").splitlines()[-30:]
        sys.exit(f"failed (exit {result.rc}): {' '.join(map(str, cmd))}\n" + "\n".join(tail))
    return result


def say(message: str) -> None:
    """Progress on stderr, with the time of day."""
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# -- machine --------------------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    """Cores, memory, CPU, versions and the commit measured."""
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kb = int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal")))
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit or "?",
        "cores": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable), {cpu}",
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "OS": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    for package in (
        "maturity-analysis",
        "pandas",
        "numpy",
        "pyarrow",
        "papermill",
        "nbconvert",
        "nbclient",
        "ipykernel",
        "matplotlib",
        "dask",
        "distributed",
    ):
        try:
            info[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            info[package] = "not installed"
    return info


# -- 1. fan-out -----------------------------------------------------------------------------


def ensure_sample(log: Path) -> None:
    """Generate and prepare the sample dataset when it is missing (not timed)."""
    if not (ROOT / "data" / "raw" / DATASET).is_dir():
        say("generating the sample dataset")
        run_checked(
            [BIN / "maturity-analysis", "sample", "--out", ROOT / "data/raw" / DATASET], log
        )
    say("preparing the sample dataset")
    run_checked([BIN / "maturity-analysis", "prepare", ROOT / "data/raw" / DATASET], log)


def pick_branches(count: int) -> list[str]:
    """``ALL`` and the ``count - 1`` largest branches of the sample (ties by code)."""
    from maturity_analysis.ingest.dataset import read_dataset

    sizes = read_dataset(DATASET)["branch_code"].astype(str).value_counts()
    ranked = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))
    return ["ALL", *sorted(code for code, _ in ranked[: count - 1])]


def runner_cmd(out: Path, branches: list[str] | None) -> list:
    """The project's runner over ``branches`` (None: every branch) into ``out``."""
    cmd = [
        BIN / "maturity-analysis",
        "reports",
        "--dataset",
        DATASET,
        "--period",
        PERIOD,
        "--out",
        out,
        "--force",
    ]
    return cmd + (["--branch", *branches] if branches else [])


def reports_in(out: Path) -> list[Path]:
    """The rendered HTML reports of a runner output folder (not the index)."""
    return sorted(p for p in out.rglob("*.html") if p.name != "index.html")


def run_naive(jobs: list[tuple[Path, str]], out: Path, log: Path) -> dict:
    """Each job through the papermill CLI, then nbconvert to HTML: wall time, its parts,
    failures."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    failed, papermill_s, nbconvert_s = 0, 0.0, 0.0
    start = time.perf_counter()
    for notebook, branch in jobs:
        executed = out / f"{branch}-{notebook.name}"
        ran = measure(
            [
                BIN / "papermill",
                notebook,
                executed,
                "-r",
                "dataset",
                DATASET,
                "-r",
                "branch",
                branch,
                "-r",
                "period",
                PERIOD,
            ],
            log,
        )
        papermill_s += ran.wall
        if ran.rc == 0:
            ran = measure(
                [BIN / "jupyter", "nbconvert", "--to", "html", "--no-input", executed], log
            )
            nbconvert_s += ran.wall
        failed += ran.rc != 0
    return {
        "wall": time.perf_counter() - start,
        "failed": failed,
        "papermill_s": papermill_s,
        "nbconvert_s": nbconvert_s,
    }


def _cell_seconds(cell: dict) -> float:
    """How long a code cell ran, from the execution timestamps nbclient records."""
    times = cell.get("metadata", {}).get("execution", {})
    begin, end = times.get("iopub.execute_input"), times.get("shell.execute_reply")
    if not (begin and end):
        return 0.0
    parse = datetime.fromisoformat
    return (parse(end.replace("Z", "+00:00")) - parse(begin.replace("Z", "+00:00"))).total_seconds()


def runner_breakdown(out: Path) -> dict:
    """Where a runner's time went: per notebook, the median job time (execute, render, check,
    write) and the median time its cells ran in the kernel; the slowest cells overall."""
    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    per_notebook: dict[str, dict[str, list[float]]] = {}
    cells: dict[str, list[float]] = {}
    for job in record["built"]:
        name = Path(job["job"]).stem
        entry = per_notebook.setdefault(name, {"job": [], "cells": []})
        entry["job"].append(job["seconds"])
        executed = (out / job["job"]).with_suffix(".ipynb")
        if job.get("kind") != "notebook" or not executed.exists():
            continue
        nb = json.loads(executed.read_text(encoding="utf-8"))
        total = 0.0
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                secs = _cell_seconds(cell)
                total += secs
                first = next((ln for ln in "".join(cell["source"]).splitlines() if ln.strip()), "")
                cells.setdefault(f"{name}: {first.strip()[:60]}", []).append(secs)
        entry["cells"].append(total)
    slowest = sorted(((sum(v), k, len(v)) for k, v in cells.items()), reverse=True)[:8]
    notebooks = [v for v in per_notebook.values() if v["cells"]]
    return {
        "notebook_job_s": sum(sum(v["job"]) for v in notebooks),
        "notebook_cells_s": sum(sum(v["cells"]) for v in notebooks),
        "notebooks": sum(len(v["job"]) for v in notebooks),
        "all_jobs_s": sum(sum(v["job"]) for v in per_notebook.values()),
        "per_notebook": {
            k: {
                "job": statistics.median(v["job"]),
                "cells": statistics.median(v["cells"]) if v["cells"] else 0.0,
                "count": len(v["job"]),
            }
            for k, v in per_notebook.items()
        },
        "slowest_cells": [(k, total, n) for total, k, n in slowest],
        "seconds": record["seconds"],
    }


def fanout(branches_n: int, rounds: int, log: Path) -> dict:
    """Naive loop vs runner on the same jobs, alternately; then a full run for report sizes."""
    ensure_sample(log)
    branches = pick_branches(branches_n)
    scratch = Path(tempfile.mkdtemp(prefix="fanout-", dir=WORK))
    runner_out = scratch / "runner"
    say(f"runner warm-up over {len(branches)} branches (untimed)")
    warm = measure(runner_cmd(runner_out, branches), log)
    produced = reports_in(runner_out)
    notebooks = sorted({p.stem for p in produced})
    by_name = {p.stem: p for p in (ROOT / "notebooks").glob("*.ipynb")}
    jobs = [(by_name[nb], b) for nb in notebooks for b in branches]
    if warm.rc != 0 or len(produced) != len(jobs):
        say(f"warning: runner warm-up exit {warm.rc}, {len(produced)} reports for {len(jobs)} jobs")
    naive_runs, runner_runs, runner_reports = [], [], []
    for r in range(rounds):
        say(f"round {r + 1}/{rounds}: naive loop, {len(jobs)} jobs")
        naive_runs.append(run_naive(jobs, scratch / "naive", log))
        say(f"  naive {naive_runs[-1]['wall']:.1f} s ({naive_runs[-1]['failed']} failed); runner")
        ran = measure(runner_cmd(runner_out, branches), log)
        runner_runs.append(ran)
        runner_reports.append(len(reports_in(runner_out)))
        say(f"  runner {ran.wall:.1f} s (exit {ran.rc}, peak {ran.peak_mb:.0f} MB)")
    breakdown = runner_breakdown(runner_out)
    say("full runner run over every branch (report sizes)")
    full_out = scratch / "full"
    full = measure(runner_cmd(full_out, None), log)
    sizes = sorted(
        (p.stat().st_size, p.relative_to(full_out).as_posix()) for p in reports_in(full_out)
    )
    result = {
        "branches": branches,
        "notebooks": notebooks,
        "jobs": len(jobs),
        "naive": [n["wall"] for n in naive_runs],
        "naive_failed": [n["failed"] for n in naive_runs],
        "naive_papermill_s": statistics.median(n["papermill_s"] for n in naive_runs),
        "naive_nbconvert_s": statistics.median(n["nbconvert_s"] for n in naive_runs),
        "runner": [r.wall for r in runner_runs],
        "runner_reports": runner_reports,
        "breakdown": breakdown,
        "runner_rc": [r.rc for r in runner_runs],
        "runner_peak_mb": max(r.peak_mb for r in runner_runs),
        "full_wall": full.wall,
        "full_rc": full.rc,
        "full_reports": len(sizes),
        "html_sizes": sizes,
    }
    shutil.rmtree(scratch, ignore_errors=True)
    return result


# -- 2. tables at scale ---------------------------------------------------------------------


def child_generate(rows: str, csv: str) -> dict:
    """Child: write the scaled sample of ``rows`` policies as CSV (not timed).

    Branches grow with the book, about as many policies per branch as the sample has.
    """
    from maturity_analysis.sample.book import scaled_policies

    n = int(rows)
    book = scaled_policies(n, seed=2013, branches=max(48, round(n / POLICIES_PER_BRANCH)))
    tmp = Path(csv).with_suffix(".tmp")
    book.to_csv(tmp, index=False, date_format="%Y-%m-%d")
    tmp.replace(csv)
    return {"branches": int(book["网点代码"].nunique())}


def child_prepare(csv: str, out: str) -> dict:
    """Child: ``prepare`` the CSV into ``out``."""
    start = time.perf_counter()
    from maturity_analysis.ingest.dataset import prepare

    imported = time.perf_counter()
    result = prepare(Path(csv), out=Path(out))
    done = time.perf_counter()
    m = result.manifest
    return {
        "import_s": imported - start,
        "prepare_s": done - imported,
        "accepted": m["rows_accepted"],
        "rejected": m["rows_rejected"],
        "read": m["rows_read"],
    }


def plan_tables() -> dict:
    """Every plan table the library computes from a policies frame, by name."""
    from maturity_analysis import tables

    return {name: getattr(tables, name) for name in TABLES}


def child_tables(parquet: str, columns: str) -> dict:
    """Child: read the prepared parquet (``all`` columns, or only the ``plan`` tables' ones)
    and compute every plan table, timing each step."""
    start = time.perf_counter()
    import pandas as pd

    functions = plan_tables()
    imported = time.perf_counter()
    policies = pd.read_parquet(parquet, columns=None if columns == "all" else TABLE_COLUMNS)
    read = time.perf_counter()
    steps = {}
    for name, function in functions.items():
        t = time.perf_counter()
        function(policies)
        steps[name] = time.perf_counter() - t
    done = time.perf_counter()
    return {
        "import_s": imported - start,
        "read_s": read - imported,
        "tables_s": done - read,
        "steps": steps,
        "rows": len(policies),
    }


def child_profile(kind: str, path: str) -> dict:
    """Child: where the time of ``prepare`` (of a CSV) or of the plan tables (from a parquet,
    every column read) goes: the functions with the most time of their own."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    if kind == "prepare":
        from maturity_analysis.ingest.dataset import prepare

        out = Path(tempfile.mkdtemp(dir=WORK))
        profile.runcall(prepare, Path(path), out=out)
        shutil.rmtree(out, ignore_errors=True)
    else:
        import pandas as pd

        functions = plan_tables()
        profile.enable()
        policies = pd.read_parquet(path)
        for function in functions.values():
            function(policies)
        profile.disable()
    stats = pstats.Stats(profile).stats
    total = sum(tt for _, _, tt, _, _ in stats.values())
    top = sorted(stats.items(), key=lambda item: -item[1][2])[:PROFILE_TOP]
    rows = []
    for (file, line, function), (_, calls, tottime, cumtime, _) in top:
        where = file.split("site-packages/")[-1].split("/src/")[-1]
        rows.append([f"{where}:{line} {function}", calls, tottime, cumtime])
    return {"total_s": total, "top": rows}


CHILDREN = {
    "generate": child_generate,
    "prepare": child_prepare,
    "tables": child_tables,
    "profile": child_profile,
}


def run_child(kind: str, args: list[str], log: Path) -> tuple[Run, dict]:
    """Run one child of this script in a fresh process; its figures and its own report."""
    report = Path(tempfile.mktemp(suffix=".json", dir=WORK))
    ran = measure([sys.executable, __file__, "--child", kind, str(report), *args], log)
    payload = json.loads(report.read_text()) if ran.rc == 0 else {}
    report.unlink(missing_ok=True)
    return ran, payload


def scale(sizes: list[int], log: Path) -> list[dict]:
    """Generate (cached), prepare and tabulate each scaled sample."""
    results = []
    for rows in sizes:
        csv = WORK / f"scaled-{rows}.csv"
        if not csv.exists():
            say(f"generating {rows:,} policies (untimed)")
            ran, _ = run_child("generate", [str(rows), str(csv)], log)
            if ran.rc != 0:
                sys.exit(f"generating {rows} rows failed, see {log}")
        out = WORK / "processed" / f"scaled-{rows}"
        shutil.rmtree(out, ignore_errors=True)
        say(f"prepare {rows:,} rows ({csv.stat().st_size / MB:,.0f} MB of CSV)")
        prep, prep_info = run_child("prepare", [str(csv), str(out)], log)
        say(f"  {prep.wall:.1f} s, peak {prep.peak_mb:,.0f} MB, exit {prep.rc}")
        entry = {
            "rows": rows,
            "csv_mb": csv.stat().st_size / MB,
            "csv": csv,
            "prepare": prep,
            "prepare_info": prep_info,
            "tables": {},
        }
        parquet = out / "policies.parquet"
        if prep.rc == 0 and parquet.exists():
            entry["parquet"] = parquet
            entry["parquet_mb"] = parquet.stat().st_size / MB
            for columns in ("all", "plan"):
                say(f"tables from {rows:,} prepared rows, {columns} columns read")
                ran, info = run_child("tables", [str(parquet), columns], log)
                say(f"  {ran.wall:.1f} s, peak {ran.peak_mb:,.0f} MB, exit {ran.rc}")
                entry["tables"][columns] = (ran, info)
        results.append(entry)
    return results


def profiles(scaled: list[dict], log: Path) -> dict:
    """Profiles of what missed its goal at the largest size: ``prepare`` (of the 1M-row CSV,
    for speed) and the plan tables (at the largest size)."""
    found = {}
    big = max(scaled, key=lambda e: e["rows"], default=None)
    if big is None or big["rows"] < GOAL_ROWS:
        return found
    small = next((e for e in scaled if e["rows"] == PROFILE_ROWS), None)
    if small and not goal_met(big["prepare"].wall, GOAL_PREPARE_S) and big["prepare"].rc == 0:
        say(f"profiling prepare of {PROFILE_ROWS:,} rows")
        ran, info = run_child("profile", ["prepare", str(small["csv"])], log)
        if ran.rc == 0:
            found["prepare"] = (PROFILE_ROWS, info)
    ran_all = big["tables"].get("all")
    if ran_all and ran_all[0].rc == 0:
        secs = ran_all[1]["read_s"] + ran_all[1]["tables_s"]
        if not goal_met(secs, GOAL_TABLES_S):
            say(f"profiling the tables at {big['rows']:,} rows")
            ran, info = run_child("profile", ["tables", str(big["parquet"])], log)
            if ran.rc == 0:
                found["tables"] = (big["rows"], info)
    return found


# -- RESULTS.md ----------------------------------------------------------------------------


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
    """Section 1 and its goal."""
    naive, runner = statistics.median(fan["naive"]), statistics.median(fan["runner"])
    speedup = naive / runner
    goals.append(
        (
            "runner ≥ 10x faster than the naive loop",
            f"{speedup:.1f}x",
            verdict(speedup, GOAL_SPEEDUP, "x", higher_is_better=True),
        )
    )
    lines = [
        "",
        "## 1. Fan-out: naive loop vs the runner",
        "",
        f"{fan['jobs']} jobs: notebooks {', '.join(fan['notebooks'])} × "
        f"{len(fan['branches'])} branches ({', '.join(fan['branches'])}). Naive: for each job "
        "`papermill NB OUT -r dataset sample -r branch B -r period 2013`, then `jupyter "
        "nbconvert --to html --no-input OUT`, one after another. Runner: `maturity-analysis "
        "reports --dataset sample --period 2013 --branch ... --out TMP --force` (default "
        "`--jobs` = cores; it also writes each branch's workbook and the index, which the naive "
        "loop does not). Run alternately after one untimed runner warm-up.",
        "",
        "| round | naive loop (s) | runner (s) | naive / runner |",
        "|---|---:|---:|---:|",
    ]
    lines += [
        f"| {i + 1} | {n:.1f} | {r:.1f} | {n / r:.1f}x |"
        for i, (n, r) in enumerate(zip(fan["naive"], fan["runner"], strict=True))
    ]
    lines += [
        f"| **median** | **{naive:.1f}** | **{runner:.1f}** | **{speedup:.1f}x** |",
        "",
        f"Naive: {naive / fan['jobs']:.2f} s per notebook. Runner: {runner / fan['jobs']:.2f} s "
        f"per notebook (wall / notebooks), peak memory of its largest process "
        f"{fan['runner_peak_mb']:,.0f} MB. Naive failures per round: {fan['naive_failed']}; "
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
        f"A full run over every branch of the sample and ALL ({fan['full_reports']} reports, "
        f"plus workbooks and the index) took {fan['full_wall']:.1f} s (exit {fan['full_rc']}).",
    ]
    return lines


def render_breakdown(breakdown: dict) -> list[str]:
    """Where the runner's time went in its last timed round."""
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
    """Section 3 and its goal."""
    sizes = [size for size, _ in fan["html_sizes"]]
    if not sizes:
        return ["", "## 3. Report size", "", "No report was rendered."]
    largest, name = fan["html_sizes"][-1]
    goals.append(
        (
            "every report ≤ 1.5 MB of HTML",
            f"largest {largest / MB:.2f} MB",
            verdict(largest / MB, GOAL_HTML_MB, " MB"),
        )
    )
    return [
        "",
        "## 3. Report size",
        "",
        f"{len(sizes)} HTML reports of that full run: median "
        f"{statistics.median(sizes) / MB:.2f} MB, largest {largest / MB:.2f} MB (`{name}`), "
        f"smallest {sizes[0] / MB:.2f} MB.",
    ]


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
        "The sample generator (`sample.scaled_policies`) scaled up: same shape, more policies, "
        f"about {POLICIES_PER_BRANCH:.0f} policies per branch as in the sample; written as "
        "UTF-8 CSV (not timed). `prepare`: a fresh process running `load.prepare(csv, out)`, "
        "timed as a whole process (interpreter start and imports included). Tables: a fresh "
        "process reading the prepared `policies.parquet` (every column, as `read_dataset` does, "
        f"or only the {len(TABLE_COLUMNS)} columns the tables use) and computing "
        + ", ".join(f"`{n}`" for n in TABLES)
        + "; read + tables is timed inside that process (imports excluded), peak memory is the "
        "process's.",
        "",
        "| policies | CSV (MB) | prepare (s) | prepare peak (MB) | parquet (MB) | "
        "all columns: read + tables (s) | of which read (s) | peak (MB) | "
        "table columns: read + tables (s) | of which read (s) | peak (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in scaled:
        prep = e["prepare"]
        prep_cell = f"{prep.wall:.1f}" if prep.rc == 0 else f"failed (exit {prep.rc})"
        lines.append(
            f"| {e['rows']:,} | {e['csv_mb']:,.0f} | {prep_cell} | {prep.peak_mb:,.0f} | "
            f"{e.get('parquet_mb', 0):,.0f} | {_tables_cells(e, 'all')} | "
            f"{_tables_cells(e, 'plan')} |"
        )
    lines += [
        "",
        "Time per table, every column read (s):",
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
            "`prepare` of the 10,000,000-row CSV ≤ 120 s",
            f"{prep.wall:.1f} s",
            verdict(prep.wall, GOAL_PREPARE_S, " s") if prep.rc == 0 else "failed",
        )
    )
    for columns, label in (("all", "every column read"), ("plan", "only the table columns read")):
        ran, info = big["tables"].get(columns, (None, {}))
        if ran is None or ran.rc != 0:
            goals.append((f"all plan tables for 10,000,000 policies ({label})", "failed", "–"))
            continue
        secs = info["read_s"] + info["tables_s"]
        goals.append(
            (
                f"all plan tables for 10,000,000 prepared policies ≤ 10 s ({label})",
                f"{secs:.2f} s",
                verdict(secs, GOAL_TABLES_S, " s"),
            )
        )
        goals.append(
            (
                f"… peak memory ≤ 4 GB ({label})",
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


def render(info: dict, fan: dict | None, scaled: list[dict], found: dict, quick: bool) -> str:
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
    if fan and "faster than the naive" in missed and fan.get("breakdown"):
        b = fan["breakdown"]
        n = max(b["notebooks"], 1)
        slow = sorted(b["per_notebook"].items(), key=lambda kv: -kv[1]["cells"])[0]
        why.append(
            f"- **Fan-out.** The runner's warm kernels remove the fixed cost the naive loop pays "
            f"per notebook (kernel start, imports, nbconvert), but each notebook's own cells still "
            f"run {b['notebook_cells_s'] / n:.2f} s on average (slowest: `{slow[0]}`, median "
            f"{slow[1]['cells']:.2f} s; slowest cell `{b['slowest_cells'][0][0]}`), against "
            f"{(b['notebook_job_s'] - b['notebook_cells_s']) / n:.2f} s of runner overhead. "
            "With 2 cores the speed-up cannot exceed (F + C) × 2 / (C + overhead); cheaper "
            "notebook cells (fewer or lighter charts, data read once per kernel) are the lever."
        )
    big = next((e for e in scaled if e["rows"] == GOAL_ROWS), None)
    if big and "peak memory" in missed and {"all", "plan"} <= set(big["tables"]):
        every, some = big["tables"]["all"][0], big["tables"]["plan"][0]
        why.append(
            f"- **Memory of the tables at 10M.** Reading every column peaks at "
            f"{every.peak_mb:,.0f} MB, only the {len(TABLE_COLUMNS)} columns the tables use at "
            f"{some.peak_mb:,.0f} MB: the difference is the other columns held as "
            "strings (ten million unique names, IDs, phones and policy numbers, and branch, "
            "product and manager text repeated on every row). Reading only the columns needed "
            "(or storing the repeated text as categories) keeps the tables within the goal."
        )
    if big and "plan tables" in missed and "≤ 10 s" in missed:
        parts = {c: big["tables"][c][1] for c in ("all", "plan") if c in big["tables"]}
        text = "- **Tables at 10M.** "
        if "all" in parts:
            a = parts["all"]
            text += (
                f"Reading every column takes {a['read_s']:.1f} s (ten million unique "
                f"names, IDs, phones and policy numbers, and repeated text stored as plain "
                f"strings) and the tables {a['tables_s']:.1f} s. "
            )
        if "plan" in parts:
            p = parts["plan"]
            text += (
                f"Reading only the {len(TABLE_COLUMNS)} columns the tables use takes "
                f"{p['read_s']:.1f} s, the tables {p['tables_s']:.1f} s. "
            )
        text += "The profile above shows the rest."
        why.append(text)
    if big and "`prepare`" in missed:
        why.append("- **prepare at 10M.** See its profile above (on 1,000,000 rows).")
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


def _encode(value: object) -> object:
    """JSON for the figures: a Run as a tagged dict, a path as text."""
    if isinstance(value, Run):
        return {"__run__": asdict(value)}
    if isinstance(value, Path):
        return str(value)
    raise TypeError(type(value))


def _decode(d: dict) -> object:
    return Run(**d["__run__"]) if "__run__" in d else d


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the sections asked for, write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smaller set: 4 branches, 1 naive round, 100k and 1M rows",
    )
    parser.add_argument("--rounds", type=int, default=None, help="naive/runner rounds")
    parser.add_argument(
        "--branches",
        type=int,
        default=None,
        help="branches in the fan-out, ALL included (default 14)",
    )
    parser.add_argument(
        "--sizes",
        default=None,
        help="comma-separated policy counts (default 100000,1000000,10000000)",
    )
    parser.add_argument("--skip", choices=("fanout", "scale"), action="append", default=[])
    parser.add_argument("--out", type=Path, default=None, help="results file")
    parser.add_argument(
        "--render-only",
        action="store_true",
        help="rewrite the results file from the last run's saved figures",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, report, *rest = args.child
        Path(report).write_text(json.dumps(CHILDREN[kind](*rest)))
        return 0
    if args.quick:
        rounds, branches, sizes = 1, 4, [100_000, 1_000_000]
        out = WORK / "RESULTS-quick.md"
    else:
        rounds, branches, sizes = 2, 14, [100_000, 1_000_000, 10_000_000]
        out = ROOT / "benchmarks" / "RESULTS.md"
    rounds = args.rounds or rounds
    branches = args.branches or branches
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else sizes
    out = args.out or out
    WORK.mkdir(parents=True, exist_ok=True)
    log = WORK / "bench.log"
    if not args.render_only:
        log.write_text("")
        say(f"log: {log}")
    saved = out.with_name(f"{out.stem}.json") if args.out else WORK / f"{out.stem}.json"
    if args.render_only:
        figures = json.loads(saved.read_text(), object_hook=_decode)
    else:
        info = machine_info()
        fan = None if "fanout" in args.skip else fanout(branches, rounds, log)
        scaled = [] if "scale" in args.skip else scale(sizes, log)
        figures = {"info": info, "fan": fan, "scaled": scaled, "found": profiles(scaled, log)}
        saved.write_text(json.dumps(figures, default=_encode, ensure_ascii=False, indent=1))
    text = render(figures["info"], figures["fan"], figures["scaled"], figures["found"], args.quick)
    out.write_text(text)
    print(text)
    say(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``make bench``: time the report fan-out, the tables at scale and the report sizes.

Writes ``benchmarks/RESULTS.md`` (``--quick``: ``benchmarks/work/RESULTS-quick.md``) with the
machine it ran on. Every figure is a whole child process, timed from here: its wall time and,
from ``wait4``, its peak resident memory (the largest single process among it and the
children it waited for). Scaled inputs and scratch output live in ``benchmarks/work/``
(gitignored); generating the inputs is not timed.

1. Fan-out: the same notebook x branch jobs run (a) naively, one ``papermill`` command then one
   ``jupyter nbconvert --to html --no-input`` per job, (b) by ``peer.py``, papermill's
   ``execute_notebook`` and nbconvert's ``HTMLExporter`` in a process pool (a fresh kernel per
   notebook), and (c) by ``maturity-analysis reports --force``, alternately: runner (warm-up,
   untimed), then naive, peer, runner, naive, peer, runner ... Then the full year run:
   ``reports --force`` over every unit (every notebook, the workbooks and the index).
2. Tables at scale: the sample generator scaled to 100,000 / 1,000,000 / 10,000,000 policies as
   CSV; ``prepare`` of each (three times: the median run is judged), then every plan table from
   the prepared parquet (five times), each in a fresh process.
3. Report size: every HTML report of that full year run (median and largest); and a province
   of 300 branches (the sample generator's, with its tracking forms, generated once and not
   timed): ``reports --force`` over its ALL, one 支局 and four branches, each report's time and
   size by level.

The parts: ``measure`` (timing and peak memory of a process, the machine), ``workloads`` (the
contenders and the children that do the measured work), ``results`` (the goals, the RESULTS.md
text, the saved figures); this file parses the options, runs the rounds and writes the results.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from measure import BIN, MB, ROOT, WORK, Run, machine_info, measure, run_checked, say
from results import (
    GOAL_PREPARE_S,
    GOAL_ROWS,
    GOAL_TABLES_S,
    _decode,
    _encode,
    goal_met,
    render,
)
from workloads import (
    CHILDREN,
    IN_PROVINCE,
    PREPARE_RUNS,
    PROFILE_ROWS,
    PROVINCE,
    PROVINCE_BRANCHES,
    PROVINCE_RAW,
    PROVINCE_ROOT,
    TABLE_RUNS,
    ensure_sample,
    html_size_stats,
    pick_branches,
    province_jobs,
    province_units,
    reports_in,
    run_naive,
    run_peer,
    runner_breakdown,
    runner_cmd,
    sample_prepare_cmd,
    without_evaluations,
)

# -- 1. fan-out: the rounds -----------------------------------------------------------------


def fanout(branches_n: int, rounds: int, log: Path, full_year: bool = True) -> dict:
    """Naive loop, process-pool peer and runner on the same jobs, alternately; then the full
    year run (every unit) for its time and the report sizes (without it, the sizes are the
    fan-out runner's reports')."""
    ensure_sample(log)
    branches = pick_branches(branches_n)
    scratch = Path(tempfile.mkdtemp(prefix="fanout-", dir=WORK))
    runner_out = scratch / "runner"
    say(f"runner warm-up over {len(branches)} branches (untimed)")
    warm = measure(runner_cmd(runner_out, branches), log)
    produced = reports_in(runner_out)
    notebooks = sorted({p.stem for p in produced})
    by_name = {
        p.stem: p for p in (ROOT / "src" / "maturity_analysis" / "notebooks").glob("*.ipynb")
    }
    jobs = [(by_name[nb], b) for nb in notebooks for b in branches]
    if warm.rc != 0 or len(produced) != len(jobs):
        say(f"warning: runner warm-up exit {warm.rc}, {len(produced)} reports for {len(jobs)} jobs")
    naive_runs, peer_runs, runner_runs, runner_reports = [], [], [], []
    for r in range(rounds):
        say(f"round {r + 1}/{rounds}: naive loop, {len(jobs)} jobs")
        without_evaluations()  # each contender computes them, as on a new export
        naive_runs.append(run_naive(jobs, scratch / "naive", log))
        say(f"  naive {naive_runs[-1]['wall']:.1f} s ({naive_runs[-1]['failed']} failed); peer")
        without_evaluations()
        peer_runs.append(run_peer(jobs, scratch / "peer", log))
        say(f"  peer {peer_runs[-1]['wall']:.1f} s ({peer_runs[-1]['failed']} failed); runner")
        without_evaluations()
        ran = measure(runner_cmd(runner_out, branches), log)
        runner_runs.append(ran)
        runner_reports.append(len(reports_in(runner_out)))
        say(f"  runner {ran.wall:.1f} s (exit {ran.rc}, peak {ran.peak_mb:.0f} MB)")
    breakdown = runner_breakdown(runner_out)
    full_out = scratch / "full" if full_year else runner_out
    full = None
    if full_year:
        say("full year run over every unit (time, report sizes)")
        without_evaluations()
        full = measure(runner_cmd(full_out, None), log)
    full_reports = reports_in(full_out)
    province = province_run(scratch / "province", log) if full_year else None
    units = ["ALL", branches[1]]
    say(f"where the cells' time goes, warm, in one process: {', '.join(units)}")
    costs_run, costs = run_child("unit_costs", [",".join(units)], log)
    sizes = sorted((p.stat().st_size, p.relative_to(full_out).as_posix()) for p in full_reports)
    result = {
        "branches": branches,
        "notebooks": notebooks,
        "jobs": len(jobs),
        "naive": [n["wall"] for n in naive_runs],
        "naive_failed": [n["failed"] for n in naive_runs],
        "naive_papermill_s": statistics.median(n["papermill_s"] for n in naive_runs),
        "naive_nbconvert_s": statistics.median(n["nbconvert_s"] for n in naive_runs),
        "peer": [p["wall"] for p in peer_runs],
        "peer_failed": [p["failed"] for p in peer_runs],
        "peer_peak_mb": max(p["peak_mb"] for p in peer_runs),
        "runner": [r.wall for r in runner_runs],
        "runner_reports": runner_reports,
        "breakdown": breakdown,
        "runner_rc": [r.rc for r in runner_runs],
        "runner_peak_mb": max(r.peak_mb for r in runner_runs),
        "full_wall": full.wall if full else None,
        "full_breakdown": runner_breakdown(full_out) if full else None,
        "unit_costs": costs if costs_run.rc == 0 else {},
        "full_rc": full.rc if full else None,
        "full_reports": len(sizes),
        "full_units": len({p.parent for p in full_reports}),
        "full_workbooks": len(list(full_out.rglob("*.xlsx"))),
        "full_notebooks": sorted({p.stem for p in full_reports}),
        "html_sizes": sizes,
        "html_stats": html_size_stats(full_reports),
        "province": province,
    }
    shutil.rmtree(scratch, ignore_errors=True)
    return result


def province_run(out: Path, log: Path) -> dict:
    """The runner over a province's ALL, one 支局 and four branches (its dataset generated
    when missing, and prepared, neither timed): the run and each job's seconds and size."""
    if not (PROVINCE_RAW / "policies.csv").exists():
        say(f"generating a province of {PROVINCE_BRANCHES} branches (untimed)")
        ran, _ = run_child("province", [str(PROVINCE_BRANCHES), str(PROVINCE_RAW)], log)
        if ran.rc != 0:
            sys.exit(f"generating the province failed, see {log}")
    say("preparing the province (untimed)")
    run_checked([*IN_PROVINCE, BIN / "maturity-analysis", "prepare", PROVINCE_RAW], log)
    units = province_units()
    say(f"the province's reports: {', '.join(units)}")
    without_evaluations(PROVINCE_ROOT)
    ran = measure([*IN_PROVINCE, *runner_cmd(out, units, PROVINCE)], log)
    return {
        "units": units,
        "branches": PROVINCE_BRANCHES,
        "wall": ran.wall,
        "rc": ran.rc,
        "peak_mb": ran.peak_mb,
        "jobs": province_jobs(out) if ran.rc == 0 else [],
    }


# -- 2. tables at scale ---------------------------------------------------------------------


def run_child(kind: str, args: list[str], log: Path) -> tuple[Run, dict]:
    """Run one child of this script in a fresh process; its figures and its own report."""
    report = Path(tempfile.mktemp(suffix=".json", dir=WORK))
    ran = measure([sys.executable, __file__, "--child", kind, str(report), *args], log)
    payload = json.loads(report.read_text()) if ran.rc == 0 else {}
    report.unlink(missing_ok=True)
    return ran, payload


def _prepare_once(csv: Path, out: Path, log: Path, n: int) -> tuple[Run, dict]:
    """Run n of ``prepare`` of ``csv`` into ``out`` (emptied first)."""
    shutil.rmtree(out, ignore_errors=True)
    say(f"prepare {csv.name} ({csv.stat().st_size / MB:,.0f} MB of CSV), run {n + 1}")
    return run_child("prepare", [str(csv), str(out)], log)


def _tables_once(parquet: Path, columns: str, rows: int, log: Path, n: int) -> tuple[Run, dict]:
    """Run n of the plan tables from ``parquet`` (``columns``: ``all`` or ``plan``)."""
    say(f"tables from {rows:,} prepared rows, {columns} columns read, run {n + 1}")
    return run_child("tables", [str(parquet), columns], log)


def _read_and_tables(ran: tuple[Run, dict]) -> float:
    """A tables child's read + tables, in seconds."""
    return ran[1]["read_s"] + ran[1]["tables_s"]


def _median_run(times: int, once: Callable[[int], tuple], key: Callable) -> tuple[tuple, list]:
    """``once(n)`` (a child's run and figures) for each n below ``times``, stopping at the first
    that fails: the run with the median ``key``, or the one that failed; and the runs that
    succeeded, by ``key``."""
    done = []
    for n in range(times):
        done.append(once(n))
        ran = done[-1][0]
        say(f"  {ran.wall:.1f} s, peak {ran.peak_mb:,.0f} MB, exit {ran.rc}")
        if ran.rc != 0:
            return done[-1], sorted(done[:-1], key=key)
    ok = sorted(done, key=key)
    return ok[len(ok) // 2], ok


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
        once = partial(_prepare_once, csv, out, log)
        (prep, _), preps = _median_run(PREPARE_RUNS, once, lambda r: r[0].wall)
        entry = {
            "rows": rows,
            "csv_mb": csv.stat().st_size / MB,
            "csv": csv,
            "prepare": prep,
            "prepare_runs": [r for r, _ in preps],
            "tables": {},
        }
        parquet = out / "policies.parquet"
        if prep.rc == 0 and parquet.exists():
            entry["parquet"] = parquet
            entry["parquet_mb"] = parquet.stat().st_size / MB
            entry["tables_s"] = {}
            for columns in ("all", "plan"):
                once = partial(_tables_once, parquet, columns, rows, log)
                entry["tables"][columns], ok = _median_run(TABLE_RUNS, once, _read_and_tables)
                entry["tables_s"][columns] = [_read_and_tables(r) for r in ok]
        results.append(entry)
    return results


def sample_prepare(log: Path, rounds: int = 3) -> list[Run]:
    """``prepare`` of the sample (generated first when missing, untimed), ``rounds`` times."""
    ensure_sample(log)
    out = WORK / "processed" / "sample-prepare"
    runs = []
    for r in range(rounds):
        shutil.rmtree(out, ignore_errors=True)
        runs.append(measure(sample_prepare_cmd(out), log))
        say(f"prepare of the sample, round {r + 1}: {runs[-1].wall:.1f} s, exit {runs[-1].rc}")
    shutil.rmtree(out, ignore_errors=True)
    return runs


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


# -- the entry ------------------------------------------------------------------------------


def _sections(text: str) -> dict[str, str]:
    """A RESULTS.md text's ``## `` sections by heading (each with its heading)."""
    parts = ("\n" + text).split("\n## ")
    return {part.split("\n", 1)[0]: "## " + part for part in parts[1:]}


KEPT = {"scale": ("2. ",), "fanout": ("1. ", "3. ")}  # the numbered sections each part writes
SCALE_GOALS = ("prepare", "plan tables", "peak memory")  # words of the scale part's goal rows
SCALE_WHY = ("**Memory of the tables", "**Tables at", "**prepare at")  # and of its "why" lines


def _kept_lines(old: str, new: str, words: tuple[str, ...], scale: bool) -> str:
    """``new`` (a table or list section) with ``old``'s lines that ``new`` lacks, of the part
    not run: lines naming one of ``words`` when the scale part was skipped, the others if not."""
    lines = new.rstrip("\n").split("\n") + ([""] if "\n" not in new.strip() else [])
    named = {line.split(" | ")[0] for line in lines if line.startswith(("| ", "- "))}
    for line in old.rstrip("\n").split("\n"):
        if not line.startswith(("| ", "- ")) or line.split(" | ")[0] in named:
            continue
        if line.startswith("|---") or line.startswith("| goal |"):
            continue
        if any(word in line for word in words) == scale:
            lines.append(line)
    return "\n".join(lines)


def keep_skipped(old: str, new: str, skipped: list[str]) -> str:
    """``new`` with what a skipped part wrote in ``old`` kept: its numbered sections and its
    rows of the goals table (so one part can be rerun without erasing the other's figures)."""
    before, after = _sections(old), _sections(new)
    for heading, text in before.items():
        if any(heading.startswith(p) for part in skipped for p in KEPT[part]):
            after[heading] = text
    for prefix, words in (("Goals", SCALE_GOALS), ("Why", SCALE_WHY)):
        old_heading = next((h for h in before if h.startswith(prefix)), None)
        if old_heading is None:
            continue
        heading = next((h for h in after if h.startswith(prefix)), old_heading)
        empty = f"## {heading}\n"
        kept = _kept_lines(
            before[old_heading], after.get(heading, empty), words, "scale" in skipped
        )
        if kept.strip() != empty.strip():
            after[heading] = kept
        else:
            after.pop(heading, None)
    numbered = sorted((h for h in after if h[:1].isdigit()), key=lambda h: int(h.split(".")[0]))
    tail = sorted(
        (h for h in after if h != "Machine" and not h[:1].isdigit()),
        key=lambda h: [h.startswith(w) for w in ("Notes", "Why", "Goals")],
    )
    order = [*(h for h in after if h == "Machine"), *numbered, *tail]
    head = ("\n" + new).split("\n## ")[0].lstrip("\n")
    return head + "\n" + "\n\n".join(after[h].rstrip("\n") for h in order) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the sections asked for, write the results file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a smaller set: 4 branches, 1 naive round, 100k and 1M rows",
    )
    parser.add_argument("--rounds", type=int, default=None, help="naive/peer/runner rounds")
    parser.add_argument(
        "--branches",
        type=int,
        default=None,
        help="branches in the fan-out, ALL included (default 8: 40 jobs of five notebooks)",
    )
    parser.add_argument(
        "--sizes",
        default=None,
        help="comma-separated policy counts (default 100000,1000000,10000000)",
    )
    parser.add_argument("--skip", choices=("fanout", "scale"), action="append", default=[])
    parser.add_argument(
        "--no-full-year",
        action="store_true",
        help="leave out the full year run (report sizes from the fan-out's runner reports)",
    )
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
        rounds, branches, sizes = 2, 8, [100_000, 1_000_000, 10_000_000]
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
        fan = (
            None if "fanout" in args.skip else fanout(branches, rounds, log, not args.no_full_year)
        )
        sample = [] if "scale" in args.skip else sample_prepare(log)
        scaled = [] if "scale" in args.skip else scale(sizes, log)
        figures = {"info": info, "fan": fan, "scaled": scaled, "found": profiles(scaled, log)}
        figures["sample_prepare"] = sample
        saved.write_text(json.dumps(figures, default=_encode, ensure_ascii=False, indent=1))
    text = render(
        figures["info"],
        figures["fan"],
        figures["scaled"],
        figures["found"],
        args.quick,
        figures.get("sample_prepare", []),
    )
    if (
        args.skip and out.exists() and not args.render_only
    ):  # a part not run keeps what it last wrote
        text = keep_skipped(out.read_text(encoding="utf-8"), text, args.skip)
    out.write_text(text)
    print(text)
    say(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

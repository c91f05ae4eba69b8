"""What ``make bench`` measures: the report fan-out's two contenders, and the children that
generate a scaled sample, ``prepare`` it, compute the plan tables from it and profile either.

The children run in a fresh process each, as ``run.py --child KIND REPORT ARGS...``; they
write their own figures to ``REPORT`` as JSON (see ``CHILDREN``).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from measure import BIN, ROOT, WORK, measure, run_checked, say

DATASET = "sample"
PERIOD = "2013"
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
    # stored by prepare: the yields maturity_product_table averages
    "policy_yield",
    "deposit_yield",
    "gap_pp",
    "beats_deposit",
]
PROFILE_TOP = 12
PROFILE_ROWS = 1_000_000
# fresh processes reading each prepared file (the median one is shown): on this kind of machine
# the same read's system time varies run to run by up to 4x (the kernel finding fresh pages)
TABLE_RUNS = 5
# fresh processes preparing each CSV (the median one is shown and judged): the 10M prepare's
# wall time moved from 38.8 to 44.2 s between runs of the same commit on one day
PREPARE_RUNS = 3
TABLES = ("table1", "table2", "table3", "table4", "segment_table", "maturity_product_table")


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


def without_evaluations(root: Path = ROOT) -> None:
    """Remove the every-branch evaluations a run stores beside the prepared data of ``root``
    (``data/processed/.evaluations/``), so a timed run computes them as a run on a new export
    does (otherwise it reads what an earlier run, timed or not, stored)."""
    from maturity_analysis.analysis.evaluation import STORE

    shutil.rmtree(root / "data" / "processed" / STORE, ignore_errors=True)


def pick_branches(count: int) -> list[str]:
    """``ALL`` and the ``count - 1`` largest branches of the sample (ties by code)."""
    from maturity_analysis.ingest.dataset import read_dataset

    sizes = read_dataset(DATASET)["branch_code"].astype(str).value_counts()
    ranked = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))
    return ["ALL", *sorted(code for code, _ in ranked[: count - 1])]


def runner_cmd(out: Path, branches: list[str] | None, dataset: str = DATASET) -> list:
    """The project's runner over ``branches`` (None: every branch) of ``dataset`` into ``out``."""
    cmd = [
        BIN / "maturity-analysis",
        "reports",
        "--dataset",
        dataset,
        "--period",
        PERIOD,
        "--out",
        out,
        "--force",
    ]
    return cmd + (["--branch", *branches] if branches else [])


PROVINCE = "province"  # the dataset of a province: many branches, each about the sample's size
PROVINCE_BRANCHES = 300
PROVINCE_ROOT = WORK / "province"  # its MATURITY_ANALYSIS_ROOT: data/raw/province/ under it
PROVINCE_RAW = PROVINCE_ROOT / "data" / "raw" / PROVINCE
IN_PROVINCE = ["env", f"MATURITY_ANALYSIS_ROOT={PROVINCE_ROOT}"]  # a command's prefix


def province_units() -> list[str]:
    """The province's units reported on: ``ALL``, the 支局 of its largest branch, and that
    branch with the next three largest (ties by code)."""
    import pandas as pd

    book = pd.read_csv(PROVINCE_RAW / "policies.csv", usecols=["网点代码", "支局"], dtype=str)
    sizes = book["网点代码"].value_counts()
    ranked = sorted(sizes.items(), key=lambda item: (-item[1], item[0]))
    largest = ranked[0][0]
    sub = book.loc[book["网点代码"] == largest, "支局"].mode().iloc[0]
    return ["ALL", f"支局:{sub}", *sorted(code for code, _ in ranked[:4])]


def province_jobs(out: Path) -> list[dict]:
    """Each job of a province run (``run.json``): its unit's level (全辖, 支局, 网点), its
    output's name, seconds and bytes, and a page's parts (:func:`page_parts`)."""
    from maturity_analysis.reports.jobs import unit_folder

    record = json.loads((out / "run.json").read_text(encoding="utf-8"))
    jobs = []
    for job in record["built"]:
        unit, name = job["job"].split("/", 1)
        level = "全辖" if unit == "ALL" else "支局" if unit.startswith("支局:") else "网点"
        jobs.append(
            {"level": level, "name": name, "seconds": job["seconds"], "bytes": job["bytes"]}
        )
        if name.endswith(".html"):
            page = out / unit_folder(unit) / name
            jobs[-1]["parts"] = page_parts(page.read_text(encoding="utf-8"))
    return jobs


def page_parts(page: str) -> dict:
    """The bytes of a report's charts (its images) and of its tables, and its largest table's
    caption and bytes."""
    charts = [len(m.encode()) for m in re.findall(r"<img [^>]*>", page)]
    tables = re.findall(r"<table.*?</table>", page, flags=re.S)
    largest = max(tables, key=len, default="")
    caption = re.search(r"<caption>(.*?)</caption>", largest)
    return {
        "charts": sum(charts),
        "tables": sum(len(t.encode()) for t in tables),
        "largest_table": len(largest.encode()),
        "largest_caption": html.unescape(caption.group(1)) if caption else "",
    }


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


def run_peer(jobs: list[tuple[Path, str]], out: Path, log: Path) -> dict:
    """The same jobs through ``peer.py`` (papermill + nbconvert in a process pool, a fresh
    kernel per notebook): wall time of the whole process, failures."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    listed = out / "jobs.json"
    listed.write_text(json.dumps([[str(nb), b] for nb, b in jobs]), encoding="utf-8")
    ran = measure([BIN / "python", Path(__file__).with_name("peer.py"), out, listed], log)
    made = len(list(out.glob("*.html")))
    return {"wall": ran.wall, "rc": ran.rc, "failed": len(jobs) - made, "peak_mb": ran.peak_mb}


def html_size_stats(paths: list[Path]) -> dict:
    """Median and largest size (KB) of the HTML reports at ``paths``, the largest's name."""
    sizes = sorted((p.stat().st_size, p) for p in paths)
    if not sizes:
        return {"count": 0}
    return {
        "count": len(sizes),
        "median_kb": statistics.median(s for s, _ in sizes) / 1024,
        "max_kb": sizes[-1][0] / 1024,
        "largest": f"{sizes[-1][1].parent.name}/{sizes[-1][1].name}",
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
                "total": sum(v["job"]),
                "cells": statistics.median(v["cells"]) if v["cells"] else 0.0,
                "count": len(v["job"]),
            }
            for k, v in per_notebook.items()
        },
        "slowest_cells": [(k, total, n) for total, k, n in slowest],
        "seconds": record["seconds"],
    }


# -- 2. tables at scale ---------------------------------------------------------------------


def sample_prepare_cmd(out: Path) -> list:
    """``maturity-analysis prepare`` of the sample dataset (its workbook and its tracking
    forms) into ``out``."""
    return [BIN / "maturity-analysis", "prepare", ROOT / "data/raw" / DATASET, "--out", out]


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


def child_province(branches: str, folder: str) -> dict:
    """Child: write a dataset of ``branches`` branches shaped like the sample (about as many
    policies a branch, eight branches a 支局) and its year of tracking forms to ``folder``
    (not timed); ``policies.csv`` is written last, so a folder that has it is complete."""
    from maturity_analysis.sample.book import scaled_policies
    from maturity_analysis.sample.tracking import write_tracking

    n = int(branches)
    book = scaled_policies(round(POLICIES_PER_BRANCH * n), seed=2013, branches=n)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    write_tracking(out, book)
    tmp = out / "policies.csv.tmp"
    book.to_csv(tmp, index=False, date_format="%Y-%m-%d")
    tmp.replace(out / "policies.csv")
    return {"policies": len(book), "branches": int(book["网点代码"].nunique())}


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
    from maturity_analysis.analysis import tables

    return {name: getattr(tables, name) for name in TABLES}


def child_tables(parquet: str, columns: str) -> dict:
    """Child: read the prepared parquet as ``read_dataset`` does (``all``: its default read,
    every column a consumer gets without asking for PII; ``plan``: only the tables' columns)
    and compute every plan table, timing each step (wall, and the process's CPU time for the
    read and the tables)."""
    start = time.perf_counter()
    from maturity_analysis.ingest.dataset import read_policies

    functions = plan_tables()
    imported, cpu = time.perf_counter(), time.process_time()
    policies = read_policies(parquet, None if columns == "all" else TABLE_COLUMNS)
    read, read_cpu = time.perf_counter(), time.process_time()
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
        "read_cpu_s": read_cpu - cpu,
        "tables_cpu_s": time.process_time() - read_cpu,
        "steps": steps,
        "rows": len(policies),
    }


def child_profile(kind: str, path: str) -> dict:
    """Child: where the time of ``prepare`` (of a CSV) or of the plan tables (from a parquet,
    ``read_dataset``'s default read) goes: the functions with the most time of their own."""
    import cProfile
    import pstats

    profile = cProfile.Profile()
    if kind == "prepare":
        from maturity_analysis.ingest.dataset import prepare

        out = Path(tempfile.mkdtemp(dir=WORK))
        profile.runcall(prepare, Path(path), out=out)
        shutil.rmtree(out, ignore_errors=True)
    else:
        from maturity_analysis.ingest.dataset import read_policies

        functions = plan_tables()
        profile.enable()
        policies = read_policies(path)
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


def child_unit_costs(units: str) -> dict:
    """Child: where each unit's cells spend their time, warm, in one process
    (:func:`charts.unit_costs`: building and drawing its charts, and the other cells)."""
    import charts

    return charts.unit_costs(units.split(","))


CHILDREN = {
    "unit_costs": child_unit_costs,
    "generate": child_generate,
    "province": child_province,
    "prepare": child_prepare,
    "tables": child_tables,
    "profile": child_profile,
}

"""The ``maturity-analysis`` command: sample, prepare, tables, reconcile, templates, reports,
daily."""

from __future__ import annotations

import argparse
import re
import sys

from .exceptions import MaturityError

PLAN_HELP = "plan file (default: data/raw/<dataset>/plan.toml when present, else the shipped plan)"


def _plan(args: argparse.Namespace):
    """The plan in force for the command's dataset, and its notes on the holiday calendar."""
    from .plan.model import load_plan, plan_file
    from .plan.workdays import calendar_notes

    plan = load_plan(plan_file(args.plan, args.dataset))
    for note in calendar_notes(plan.holiday_notices):
        print(f"note: {note}", file=sys.stderr)
    return plan


def _cmd_sample(args: argparse.Namespace) -> int:
    from .sample.book import write_sample

    written = write_sample(args.out, seed=args.seed, year=args.year)
    for path in written:
        print(f"wrote {path}")
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .ingest.dataset import prepare
    from .ingest.forms import KINDS
    from .plan.model import load_plan, plan_file

    path = Path(args.path)
    folder = path if path.is_dir() else path.parent
    plan = load_plan(plan_file(args.plan, folder=folder))
    try:
        result = prepare(path, out=args.out, plan=plan, progress=sys.stderr.isatty())
    except KeyboardInterrupt:
        print("interrupted: nothing new was written; run prepare again", file=sys.stderr)
        return 130
    m = result.manifest
    print(
        f"{m['dataset']}: {m['rows_accepted']} accepted, {m['rows_rejected']} rejected "
        f"of {m['rows_read']} rows read → {result.out_dir}"
    )
    print(f"  plan {m['plan_file']} (plan year {m['plan_year']})")
    if m["rows_footer"] or m["rows_blank"]:
        print(f"  skipped {m['rows_footer']} summary (合计) and {m['rows_blank']} blank rows")
    for inp in m["inputs"]:
        for sheet, note in inp["sheet_notes"].items():
            print(f"  skipped sheet {sheet} of {inp['file']}: {note}")
    for warning, n in m["warnings"].items():
        print(f"  warning, {n} accepted rows: {warning}")
    tracked = [(k, m["tracking"][k]) for k in KINDS if k in m.get("tracking", {})]
    for kind, c in tracked:
        print(
            f"  tracking {kind}: {c['rows_accepted']} accepted, {c['rows_rejected']} "
            f"rejected of {c['rows_read']} rows read"
        )
    if m["rows_rejected"] or any(c["rows_rejected"] for _, c in tracked):
        print(f"  why each row was rejected: {result.out_dir / 'rejects.csv'}")
    return 0


def _cmd_templates(args: argparse.Namespace) -> int:
    from . import config
    from .ingest.dataset import read_dataset
    from .output.calllist import CALL_LIST_PII, parse_month, write_templates

    plan = _plan(args)
    year, month = parse_month(args.month, plan)
    out = args.out or config.processed_dir() / args.dataset / "templates" / f"{year}-{month:02d}"
    policies = read_dataset(args.dataset, plan=plan.source, pii=CALL_LIST_PII)
    written = write_templates(policies, (year, month), out, teams=args.teams, plan=plan)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} branch workbooks (call list: 内部资料，含客户联系方式，严禁外传)")
    return 0


def _cmd_tables(args: argparse.Namespace) -> int:
    from .analysis.costs import paid_complaints
    from .ingest.dataset import read_dataset, read_dataset_tracking
    from .output.workbook import write_tables_workbook

    plan = _plan(args)
    policies = read_dataset(args.dataset, plan=plan.source)
    tracking = read_dataset_tracking(args.dataset, plan=plan.source)
    path = write_tables_workbook(
        policies,
        args.out,
        branch=args.branch,
        plan=plan,
        dataset=args.dataset,
        complaints=paid_complaints(tracking),
        tracking=tracking,
    )
    print(f"wrote {path}")
    return 0


def _cmd_reconcile(args: argparse.Namespace) -> int:
    from .analysis.reconcile import reconciliation
    from .ingest.dataset import read_dataset
    from .output.display import render_text

    plan = _plan(args)
    if not plan.figures:
        print(f"{plan.source}: the plan file states no figures ([figures]); nothing to reconcile")
        return 0
    print(render_text(reconciliation(read_dataset(args.dataset, plan=plan.source), plan)))
    return 0


def _cmd_daily(args: argparse.Namespace) -> int:
    from .plan.period import parse_period
    from .reports.daily import write_daily

    plan = _plan(args)
    period = parse_period(args.date, plan)
    if period.kind != "day":
        print(f"error: --date {args.date!r}: give one day, e.g. 2013-05-14", file=sys.stderr)
        return 2
    written = write_daily(args.dataset, period.start, plan=plan, out_dir=args.out)
    print(f"wrote {len(written)} files (HTML and Excel per unit) to {written[0].parent}")
    return 0


def _interrupt(signum, frame) -> None:
    """SIGTERM ends a report run as Ctrl-C does: the index lists what finished."""
    raise KeyboardInterrupt


def _units(args: argparse.Namespace) -> list[str] | None:
    """The units ``reports`` is asked for: ``--branch`` codes (or ``支局:<name>``) and the
    ``--sub-branch`` names as 支局 units; None: every unit."""
    from .analysis.book import sub_branch_unit

    units = [*(args.branch or []), *(sub_branch_unit(n) for n in args.sub_branch or [])]
    return units or None


def _cmd_reports(args: argparse.Namespace) -> int:
    import signal
    import threading

    from .reports.executors import skip_slow_imports

    skip_slow_imports()
    from .reports.run import RunInterrupted, run_reports

    executor = None
    if args.scheduler:
        from .reports.executors import DaskExecutor

        executor = DaskExecutor(args.scheduler)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    try:
        result = run_reports(
            args.dataset,
            args.period,
            _units(args),
            out_dir=args.out,
            plan=args.plan,
            jobs=args.jobs,
            force=args.force,
            executor=executor,
            pdf=args.pdf,
            progress=sys.stderr.isatty(),  # a log (cron, CI) gets the summary, not every update
        )
    except KeyboardInterrupt as exc:
        if isinstance(exc, RunInterrupted) and exc.result is not None:
            print(exc.result.summary())
        print(
            "interrupted: finished reports are kept; the next run builds the rest", file=sys.stderr
        )
        return 130
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        if executor is not None:
            executor.close()
    print(result.summary())
    return 0 if result.ok else 1


_ADDRESS = re.compile(r"(?:(?:tcp|tls|ucx|ws|wss)://)?[\w.-]+:\d{1,5}")


def _positive_int(text: str) -> int:
    """``--jobs``: a whole number of worker processes, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a whole number of 1 or more")
    return value


def _scheduler(text: str) -> str:
    """``--scheduler``: a Dask scheduler address, ``[tcp|tls|ucx|ws|wss://]HOST:PORT``."""
    if not _ADDRESS.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a Dask scheduler address: give tcp://HOST:PORT "
            "(or tls://, ucx://, ws://, wss://), e.g. tcp://10.0.0.5:8786"
        )
    return text


def _xlsx(text: str) -> str:
    """``tables --out``: the workbook to write, an ``.xlsx`` file."""
    if not text.lower().endswith(".xlsx"):
        raise argparse.ArgumentTypeError(
            f"{text!r}: the tables are written as an Excel workbook; give a file ending in .xlsx"
        )
    return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per job."""
    from . import __version__
    from .analysis.book import ALL  # the one spelling of the whole book

    parser = argparse.ArgumentParser(
        prog="maturity-analysis",
        description="满期客户二次开发: plan tables, targets, call lists and quarterly reports.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "sample",
        help="write the deterministic sample dataset",
        description="Write the sample maturity list (and tracking forms).",
    )
    p.add_argument("--out", default=None, help="output folder (default data/raw/sample/)")
    p.add_argument("--seed", type=int, default=2013, help="random seed (default 2013)")
    p.add_argument(
        "--year",
        type=int,
        default=None,
        help="plan year to shift the sample to, with a matching plan.toml in the dataset "
        "folder (default 2013, the shipped plan's year)",
    )
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser(
        "prepare",
        help="validate raw files into data/processed/",
        description="Read a maturity-list file or dataset folder, validate every "
        "row, write policies.parquet, rejects.csv and manifest.json.",
    )
    p.add_argument("path", help="a policies file or a dataset folder (e.g. data/raw/sample)")
    p.add_argument("--out", default=None, help="output folder (default data/processed/<dataset>/)")
    p.add_argument("--plan", default=None, help=PLAN_HELP.replace("data/raw/<dataset>", "PATH"))
    p.set_defaults(func=_cmd_prepare)

    p = sub.add_parser(
        "templates",
        help="write each branch's call list and 附件 forms for a month",
        description="For customers maturing in MONTH, write one workbook per "
        "branch: the call list (phoned in the month before, highest complaint "
        "risk first, at most calls_per_day calls per team per working day), "
        "附件一 pre-filled, 附件二 and 附件三 blank with drop-downs.",
    )
    p.add_argument("--month", required=True, help="the maturity month, e.g. 2013-02")
    p.add_argument("--dataset", default="sample", help="dataset name (default sample)")
    p.add_argument(
        "--out",
        default=None,
        help="output folder (default data/processed/<dataset>/templates/<month>/)",
    )
    p.add_argument(
        "--teams",
        type=int,
        default=None,
        help="1+1 teams per branch (default: the plan's rule, enough to fit the calls)",
    )
    p.add_argument("--plan", default=None, help=PLAN_HELP)
    p.set_defaults(func=_cmd_templates)

    p = sub.add_parser(
        "tables",
        help="write the plan's tables, targets and checks to Excel",
        description="Write Tables 1-4, the segment and maturity-product tables, "
        "the targets, their allocation by branch and phase, the risk rating "
        "summary, the reconciliation, the shortfall against deposits, the "
        "compensation estimate (with the amount paid when the dataset has "
        "tracking data) and the programme's tables as the sheets of one workbook.",
    )
    p.add_argument("--dataset", default="sample", help="dataset name (default sample)")
    p.add_argument("--branch", default=ALL, help="a 网点代码, 支局:<支局名称>, or ALL (default)")
    p.add_argument("--plan", default=None, help=PLAN_HELP)
    p.add_argument("--out", required=True, type=_xlsx, help="the workbook to write (.xlsx)")
    p.set_defaults(func=_cmd_tables)

    p = sub.add_parser(
        "reconcile",
        help="print the plan's figures against the data",
        description="Print every figure the plan states beside the figure "
        "reproduced from the dataset, with its status and explanation.",
    )
    p.add_argument("--dataset", default="sample", help="dataset name (default sample)")
    p.add_argument("--plan", default=None, help=PLAN_HELP)
    p.set_defaults(func=_cmd_reconcile)

    p = sub.add_parser(
        "reports",
        help="build the HTML reports, workbooks and index of ALL, every 支局 and every branch",
        description="Run each notebook for ALL, every 支局 and every branch in warm "
        "kernels, export HTML without code, write each unit's workbook and "
        "index.html. Up-to-date outputs are kept; exit 1 if any job failed.",
    )
    p.add_argument("--dataset", default="sample", help="dataset name (default sample)")
    p.add_argument(
        "--period",
        default=None,
        help="the plan year (2013, default), a phase (2013Q2) or a month (2013-05) of it",
    )
    p.add_argument("--plan", default=None, help=PLAN_HELP)
    p.add_argument(
        "--branch",
        nargs="+",
        default=None,
        metavar="CODE",
        help="only these units: 网点代码, 支局:<支局名称> or ALL (the whole book); "
        "default ALL, every 支局 and every branch",
    )
    p.add_argument(
        "--sub-branch",
        nargs="+",
        default=None,
        metavar="NAME",
        help="only these 支局 (by name; with --branch: those units too)",
    )
    p.add_argument(
        "--jobs",
        type=_positive_int,
        default=None,
        help="worker processes, 1 or more (default: the number of cores)",
    )
    p.add_argument(
        "--out", default=None, help="output folder (default reports/<dataset>/<period>/)"
    )
    p.add_argument("--force", action="store_true", help="rebuild even what is up to date")
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also print each report to an A4 PDF beside its HTML (headless Chromium/Chrome/Edge)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        type=_scheduler,
        metavar="tcp://HOST:PORT",
        help="send the jobs to this Dask scheduler instead of local workers",
    )
    p.set_defaults(func=_cmd_reports)

    p = sub.add_parser(
        "daily",
        help="write the supervisor's daily check of a working day",
        description="For DATE, one HTML page and one Excel sheet per unit (ALL, each 支局, "
        "each 网点): each team's calls against the plan's daily minimum (附件一, with 附件三's "
        "claim), teams with no work log, complaints due or overdue, customers maturing soon "
        "not yet reached and the day's 夕会总结; customers masked, every file PII-checked.",
    )
    p.add_argument("--date", required=True, help="the day, e.g. 2013-05-14")
    p.add_argument("--dataset", default="sample", help="dataset name (default sample)")
    p.add_argument("--plan", default=None, help=PLAN_HELP)
    p.add_argument("--out", default=None, help="output folder (default reports/daily/<date>/)")
    p.set_defaults(func=_cmd_daily)

    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; domain errors end in one line on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MaturityError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file or folder the command cannot write (or read)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2

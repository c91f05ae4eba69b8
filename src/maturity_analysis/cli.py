"""The ``maturity-analysis`` command: sample, prepare, tables, reconcile, templates, reports."""

from __future__ import annotations

import argparse
import sys

from .exceptions import MaturityDataError, PlanError, ReportError


def _cmd_sample(args: argparse.Namespace) -> int:
    from .sample import write_sample

    written = write_sample(args.out, seed=args.seed)
    for path in written:
        print(f"wrote {path}")
    return 0


def _cmd_prepare(args: argparse.Namespace) -> int:
    from .load import prepare

    result = prepare(args.path, out=args.out)
    m = result.manifest
    print(f"{m['dataset']}: {m['rows_accepted']} accepted, {m['rows_rejected']} rejected "
          f"of {m['rows_read']} rows read → {result.out_dir}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, one sub-command per job."""
    parser = argparse.ArgumentParser(
        prog="maturity-analysis",
        description="满期客户二次开发: plan tables, targets, call lists and quarterly reports.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("sample", help="write the deterministic sample dataset",
                       description="Write the sample maturity list (and tracking forms).")
    p.add_argument("--out", default=None, help="output folder (default data/raw/sample/)")
    p.add_argument("--seed", type=int, default=2013, help="random seed (default 2013)")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("prepare", help="validate raw files into data/processed/",
                       description="Read a maturity-list file or dataset folder, validate every "
                       "row, write policies.parquet, rejects.csv and manifest.json.")
    p.add_argument("path", help="a policies file or a dataset folder (e.g. data/raw/sample)")
    p.add_argument("--out", default=None, help="output folder (default data/processed/<dataset>/)")
    p.set_defaults(func=_cmd_prepare)

    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; domain errors end in one line on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (MaturityDataError, PlanError, ReportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

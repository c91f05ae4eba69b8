"""Paths only: every location the package reads or writes.

The project root is where the user works: ``$MATURITY_ANALYSIS_ROOT`` when set, else the
current directory — never the package's own path, so an installed wheel works in any folder.
The report notebooks and the plan ship inside the package.
"""

import os
from pathlib import Path

ROOT_ENV = "MATURITY_ANALYSIS_ROOT"
PACKAGE_DIR = Path(__file__).resolve().parent
PACKAGE_DATA = PACKAGE_DIR / "data"
PLAN_FILE = PACKAGE_DATA / "plan.toml"
NOTEBOOKS_DIR = PACKAGE_DIR / "notebooks"


def root() -> Path:
    """The project root: ``$MATURITY_ANALYSIS_ROOT``, else the current directory."""
    return Path(os.environ.get(ROOT_ENV) or Path.cwd()).resolve()


def raw_dir() -> Path:
    """``<root>/data/raw``: one folder per dataset, as the user exported it."""
    return root() / "data" / "raw"


def processed_dir() -> Path:
    """``<root>/data/processed``: what ``prepare`` writes."""
    return root() / "data" / "processed"


def reports_dir() -> Path:
    """``<root>/reports``: what ``reports`` writes."""
    return root() / "reports"

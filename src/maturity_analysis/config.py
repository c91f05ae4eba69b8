"""Paths only: every location the package reads or writes, from one root."""

from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = PROJ_ROOT / "data"
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"
REPORTS_DIR = PROJ_ROOT / "reports"
NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
PACKAGE_DATA = Path(__file__).resolve().parent / "data"
PLAN_FILE = PACKAGE_DATA / "plan.toml"

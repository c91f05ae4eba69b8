"""The environment reproduces: uv.lock is current and is what the tests run in."""

import os
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import distributions
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "uv.lock"
NOTEBOOKS = sorted(p.name for p in (ROOT / "src/maturity_analysis/notebooks").glob("*.ipynb"))


def _uv() -> str:
    found = shutil.which("uv") or ROOT / ".uv-bootstrap" / "bin" / "uv"
    if not Path(found).exists():
        pytest.fail("uv not found: `make venv` installs it into .uv-bootstrap/")
    return str(found)


def test_lock_is_current():
    # --check: the lock satisfies pyproject.toml's requirements, or this fails.
    result = subprocess.run([_uv(), "lock", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_tests_run_in_the_locked_environment():
    # The interpreter running the tests is the environment uv built from the lock ...
    assert Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()
    # ... and it holds exactly what uv.lock says (uv would change nothing).
    result = subprocess.run(
        [_uv(), "sync", "--locked", "--extra", "test", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    locked = {}
    for p in tomllib.loads(LOCK.read_text(encoding="utf-8"))["package"]:
        locked.setdefault(canonicalize_name(p["name"]), set()).add(p.get("version"))
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in distributions()}
    assert installed["pandas"] in locked["pandas"] and installed["numpy"] in locked["numpy"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A wheel built from the repo's files, installed with the locked dependencies into a
    fresh venv (offline, from uv's cache: what `make venv` already downloaded)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    junk = shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints")
    shutil.copytree(ROOT / "src", src / "src", ignore=junk)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    uv = _uv()
    offline = {"cwd": tmp, "capture_output": True, "text": True, "check": True}
    subprocess.run([uv, "build", "--wheel", "--offline", "-q", "-o", tmp / "dist", src], **offline)
    (wheel,) = (tmp / "dist").glob("maturity_analysis-*.whl")
    # The lock as a pylock.toml names each wheel's URL, which uv's cache holds.
    pylock = tmp / "pylock.toml"
    export = [uv, "export", "--frozen", "--no-dev", "--no-emit-project", "-q"]
    subprocess.run([*export, "--format", "pylock.toml", "-o", pylock], **{**offline, "cwd": ROOT})
    venv = tmp / "venv"
    subprocess.run([uv, "venv", "-q", "--python", sys.executable, venv], **offline)
    python = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    install = [uv, "pip", "install", "-q", "--offline", "--python", python]
    subprocess.run([*install, "-r", pylock], **offline)
    subprocess.run([*install, "--no-deps", wheel], **offline)
    subprocess.run([uv, "pip", "check", "-q", "--python", python], **offline)  # deps all met
    return {"venv": venv, "command": python.with_name("maturity-analysis"), "wheel": wheel}


def _run(command, cwd, *args):
    env = {k: v for k, v in os.environ.items() if k != "MATURITY_ANALYSIS_ROOT"}
    done = subprocess.run(
        [str(command), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done.stdout


def test_the_wheel_ships_notebooks_plan_and_no_proprietary_font(installed):
    import zipfile

    names = zipfile.ZipFile(installed["wheel"]).namelist()
    assert {f"maturity_analysis/notebooks/{nb}" for nb in NOTEBOOKS} <= set(names)
    assert "maturity_analysis/data/plan.toml" in names
    site = next(installed["venv"].glob("lib/python*/site-packages"))
    assert not list(site.rglob("*SimHei*")) and not (site / "mplfonts").exists()


def test_installed_version_is_the_projects(installed, tmp_path):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert _run(installed["command"], tmp_path, "--version").split() == [
        "maturity-analysis",
        version["version"],
    ]


@pytest.mark.slow
def test_wheel_installed_in_a_fresh_venv_works_in_an_empty_folder(installed, tmp_path):
    work = tmp_path / "empty"
    work.mkdir()
    _run(installed["command"], work, "sample")
    assert (work / "data" / "raw" / "sample" / "policies.xlsx").is_file()
    out = _run(installed["command"], work, "prepare", "data/raw/sample")
    assert "accepted" in out and (work / "data" / "processed" / "sample").is_dir()
    import pandas as pd

    prepared = work / "data" / "processed" / "sample" / "policies.parquet"
    branch = sorted(pd.read_parquet(prepared, columns=["branch_code"])["branch_code"])[0]
    _run(installed["command"], work, "reports", "--branch", branch, "--jobs", "1")
    reports = work / "reports" / "sample" / "2013"
    made = {p.relative_to(reports).as_posix() for p in reports.rglob("*.html")}
    assert {f"{branch}/{Path(nb).stem}.html" for nb in NOTEBOOKS[:3]} | {"index.html"} <= made
    assert (reports / branch / "workbook.xlsx").is_file()

"""The environment reproduces: uv.lock is current and is what the tests run in."""

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

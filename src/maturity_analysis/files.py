"""Atomic file output: a file either appears complete under its name or not at all; and the
fingerprint of the package's own files."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from . import __version__

TEMP_MARK = ".tmp-"


def temp_path(path: Path) -> Path:
    """A hidden, unique temporary name beside ``path`` that keeps its suffix.

    >>> temp_path(Path("out/workbook.xlsx")).name.startswith(".workbook.tmp-")
    True
    """
    path = Path(path)
    return path.with_name(f".{path.stem}{TEMP_MARK}{uuid.uuid4().hex[:12]}{path.suffix}")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on error it is removed.

    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "a.txt"
    >>> with atomic_path(target) as tmp:
    ...     _ = tmp.write_text("done")
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: Path, data: str | bytes) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` atomically; returns ``path``."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


def remove_temp_files(folder: Path) -> list[Path]:
    """Delete temporary files left in ``folder`` (and below) by an interrupted run."""
    removed = [p for p in Path(folder).rglob(f".*{TEMP_MARK}*") if p.is_file()]
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


@cache
def package_fingerprint() -> str:
    """SHA-256 over the package's source and data files: any change to them changes every key."""
    root = Path(__file__).resolve().parent  # the whole package, every layer
    h = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in {".py", ".toml", ".csv", ".json"}:
            h.update(path.relative_to(root).as_posix().encode())
            h.update(hashlib.sha256(path.read_bytes()).hexdigest().encode())
    return h.hexdigest()

"""The dataset catalog: prepare a raw dataset into ``data/processed/<name>/``, decide whether
it is fresh, and read it back (policies and tracking frames), with its manifest and fingerprint.

``prepare`` writes policies.parquet, the tracking forms' parquet, rejects.csv and (last)
manifest.json; ``read_dataset`` returns a prepared dataset, preparing it again when the raw
files, the plan or the package changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from .. import __version__, config
from ..exceptions import MaturityDataError
from ..files import atomic_path, write_atomic
from ..plan.model import Plan, load_plan, plan_file
from .forms import (
    KINDS,
    TRACKING_DIR,
    Tracking,
    TrackingRead,
    frame,
    read_tracking,
    tracking_folder,
    tracking_inputs,
)
from .policies import REJECT_COLUMNS, input_files, load_policies
from .readers import file_digest


class Prepared(NamedTuple):
    """What :func:`prepare` returns: where it wrote, and what."""

    out_dir: Path
    manifest: dict
    policies: pd.DataFrame
    rejects: pd.DataFrame


def prepare_tracking(
    path: str | Path, policies: pd.DataFrame, out_dir: str | Path, plan: Plan | None = None
) -> TrackingRead:
    """Read the dataset's tracking files and write ``<kind>.parquet`` into ``out_dir``.

    Used by :func:`prepare`; each file appears atomically. Returns what was read, so the
    caller adds the rejects to ``rejects.csv`` and the counts to the manifest.
    """
    read = read_tracking(tracking_folder(path), policies, plan)
    for kind in KINDS:
        with atomic_path(Path(out_dir) / f"{kind}.parquet") as tmp:
            read.tracking[kind].to_parquet(tmp, index=False)
    counts = read.counts | {
        "inputs": tracking_inputs(path),
        "outputs": {kind: f"{kind}.parquet" for kind in KINDS},
    }
    return TrackingRead(read.tracking, read.rejects, counts)


def prepare(
    path: str | Path, out: str | Path | None = None, *, plan: Plan | None = None
) -> Prepared:
    """Load ``path`` and write policies.parquet, rejects.csv and (last) manifest.json.

    A dataset with a ``tracking/`` folder also gets calls/complaints/worklog/outcomes.parquet
    (:func:`prepare_tracking`): their rejects are added to rejects.csv and their
    counts are the manifest's ``tracking``.

    The default output folder is ``data/processed/<dataset name>/``. An old manifest is removed
    first, so an interrupted run never leaves a manifest that looks finished. ``plan`` default:
    the dataset folder's own ``plan.toml`` when present, else the shipped plan; the manifest
    records the plan in force (``plan_file``, ``plan_year``, ``plan_sha256``).
    """
    if plan is None:
        folder = Path(path) if Path(path).is_dir() else Path(path).parent
        plan = load_plan(plan_file(folder=folder))
    loaded = load_policies(path, plan=plan)
    out_dir = Path(out) if out is not None else config.processed_dir() / loaded.manifest["dataset"]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "manifest.json").unlink(missing_ok=True)
    with atomic_path(out_dir / "policies.parquet") as tmp:
        loaded.policies.to_parquet(tmp, index=False)
    rejects, extra = loaded.rejects, {}
    if tracking_folder(path).is_dir():  # the filled forms: <kind>.parquet, rejects, counts
        tracked = prepare_tracking(path, loaded.policies, out_dir, plan=plan)
        rejects = pd.concat([rejects, tracked.rejects[REJECT_COLUMNS]], ignore_index=True)
        extra = {"tracking": tracked.counts}
    with atomic_path(out_dir / "rejects.csv") as tmp:
        rejects.to_csv(tmp, index=False, encoding="utf-8-sig")
    manifest = {
        **loaded.manifest,
        **extra,
        "outputs": {"policies": "policies.parquet", "rejects": "rejects.csv"},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    write_atomic(out_dir / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    return Prepared(out_dir, manifest, loaded.policies, rejects)


def _is_fresh(manifest: dict, raw: Path, plan: Path) -> bool:
    """True when the manifest was made from these very raw files, plan and package version."""
    if (
        manifest.get("package_version") != __version__
        or manifest.get("plan_sha256") != hashlib.sha256(plan.read_bytes()).hexdigest()
        or manifest.get("plan_file") != str(plan)
    ):
        return False
    before = sorted((i["file"], i["sha256"]) for i in manifest.get("inputs", []))
    now = sorted((f.name, file_digest(f).sha256) for f in input_files(raw))
    tracked = manifest.get("tracking", {}).get("inputs", [])
    return before == now and tracked == tracking_inputs(raw)


# Within one process (a warm report kernel runs many notebooks), what was already checked or
# read is kept, keyed by the files' paths, sizes and modification times: a file rewritten since
# has another key, so it is checked or read anew. Frames are handed out as copies.
_checked: dict[tuple[str, str], tuple] = {}
_frames: dict[str, tuple[tuple, pd.DataFrame]] = {}


def _stats(*paths: Path) -> tuple:
    """(path, size, mtime) of each file under ``paths`` (a missing path: ``None``)."""
    out = []
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            st = f.stat() if f.exists() else None
            out.append((str(f), st and st.st_size, st and st.st_mtime_ns))
    return tuple(out)


def _ensure(
    name: str,
    raw_dir: str | Path | None,
    processed_dir: str | Path | None,
    plan: str | Path | None = None,
) -> Path:
    """The processed folder of a dataset, prepared anew when missing or stale.

    Freshness is decided on the files' SHA-256 (:func:`_is_fresh`); when neither the raw
    files, the processed folder, the plan file nor the package version changed since the last
    check in this process (same sizes and modification times), that check stands. The plan
    is ``plan`` when given, else the dataset's own ``plan.toml``, else the shipped plan.
    """
    raw = Path(raw_dir or config.raw_dir()) / name
    out = Path(processed_dir or config.processed_dir()) / name
    used = plan_file(plan, folder=raw)
    key = (str(raw.resolve()), str(out.resolve()), str(used))
    state = (__version__, _stats(raw, out, used))
    if _checked.get(key) == state:
        return out
    _ensure_fresh(name, raw, out, used)
    _checked[key] = (__version__, _stats(raw, out, used))
    return out


def _ensure_fresh(name: str, raw: Path, out: Path, plan: Path) -> None:
    manifest = out / "manifest.json"
    if not raw.is_dir():
        if manifest.is_file():
            return
        known = sorted(p.name for p in raw.parent.glob("*") if p.is_dir())
        raise MaturityDataError(
            f"{raw}: no dataset {name!r} (known: {', '.join(known) or 'none'}); "
            "run `maturity-analysis sample` or put an export in data/raw/<name>/"
        )
    if not manifest.is_file() or not _is_fresh(json.loads(manifest.read_text("utf-8")), raw, plan):
        prepare(raw, out, plan=load_plan(plan))


def read_dataset(
    name: str = "sample",
    raw_dir: str | Path | None = None,
    processed_dir: str | Path | None = None,
    plan: str | Path | None = None,
) -> pd.DataFrame:
    """The prepared policies of ``data/raw/<name>/``, preparing them when missing or stale
    (``plan``: the plan file in force, default the dataset's own plan.toml or the shipped one).

    Read once per process while ``policies.parquet`` is unchanged; each call gets its own copy.
    """
    path = _ensure(name, raw_dir, processed_dir, plan) / "policies.parquet"
    key = _stats(path)
    hit = _frames.get(str(path.resolve()))
    if hit is None or hit[0] != key:
        if len(_frames) >= 4:
            _frames.pop(next(iter(_frames)))
        hit = _frames[str(path.resolve())] = (key, pd.read_parquet(path))
    return hit[1].copy()


def dataset_fingerprint(
    name: str = "sample",
    raw_dir: str | Path | None = None,
    processed_dir: str | Path | None = None,
    plan: str | Path | None = None,
) -> str:
    """A key of a prepared dataset's current files (paths, sizes, modification times), after
    preparing it when missing or stale: it changes whenever the prepared files are rewritten.
    For keeping results computed from the dataset within one process."""
    out = _ensure(name, raw_dir, processed_dir, plan)
    return hashlib.sha256(repr(_stats(out.resolve())).encode()).hexdigest()


def dataset_manifest(
    name: str = "sample",
    raw_dir: str | Path | None = None,
    processed_dir: str | Path | None = None,
    plan: str | Path | None = None,
) -> dict:
    """The manifest of a prepared dataset (rows read, accepted, rejected, inputs' SHA-256,
    the plan in force)."""
    out = _ensure(name, raw_dir, processed_dir, plan)
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


def read_dataset_tracking(
    name: str = "sample",
    raw_dir: str | Path | None = None,
    processed_dir: str | Path | None = None,
    plan: str | Path | None = None,
) -> Tracking:
    """The tracking frames of a dataset, like :func:`read_dataset` for its policies.

    Prepares the dataset when it is missing or stale, then reads ``<kind>.parquet`` from
    ``data/processed/<name>/``; if those are absent, reads ``data/raw/<name>/tracking/``.
    """
    policies = read_dataset(name, raw_dir, processed_dir, plan)
    prepared = read_prepared_tracking(Path(processed_dir or config.processed_dir()) / name)
    if prepared is not None:
        return prepared
    raw = Path(raw_dir or config.raw_dir()) / name
    used = load_plan(plan_file(plan, folder=raw))
    return read_tracking(raw / TRACKING_DIR, policies, used).tracking


def read_prepared_tracking(folder: str | Path) -> Tracking | None:
    """The tracking frames ``prepare`` wrote into a processed folder (``<kind>.parquet``), or
    ``None`` when they are not all there."""
    paths = {k: Path(folder) / f"{k}.parquet" for k in KINDS}
    if not all(p.exists() for p in paths.values()):
        return None
    return Tracking(**{k: frame(k, pd.read_parquet(p)) for k, p in paths.items()})

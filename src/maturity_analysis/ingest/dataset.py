"""The dataset catalog: prepare a raw dataset into ``data/processed/<name>/``, decide whether
it is fresh, and read it back (policies and tracking frames), with its manifest and fingerprint.

``prepare`` writes policies.parquet (with the per-policy yields and risk computed once, and
repeated text as categories: :func:`_write_policies`, a part of the rows at a time), the
tracking forms' parquet, rejects.csv (PII values masked) and (last) manifest.json, all or
nothing; ``read_dataset`` returns a prepared
dataset, preparing it again when the raw files, the plan or the package changed, or when a
prepared file is missing or damaged. A read leaves out the customers' name, ID and phone unless
they are asked for by name (``pii=`` or ``columns=``): only the call lists, the masked customer
lists and the privacy check use them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from .. import __version__, config
from ..exceptions import MaturityDataError
from ..files import atomic_path
from ..memo import KEPT, kept
from ..plan.model import Plan, load_plan, plan_file, plan_sha256
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
from .ids import mask_value
from .policies import (
    CHECKERS,
    CHUNK_ROWS,
    REJECT_COLUMNS,
    Streamed,
    dataset_name,
    in_threads,
    input_files,
    stream_policies,
)
from .readers import file_digest
from .schema import CATEGORY_COLUMNS, PERSONAL_COLUMNS


def _arrow_pool() -> None:
    """Make jemalloc this process's Arrow memory pool, where this pyarrow has it and
    ARROW_DEFAULT_MEMORY_POOL names no pool: with pyarrow's default (mimalloc) reading a
    prepared file of 10,000,000 policies took 3-6 s of system time faulting in fresh huge
    pages against 1.5 s with jemalloc, which reuses its pages (read and tables 3.2-3.4 s
    against 4.2-5.6 s); ``prepare`` took as long in either, with a peak of 1.85 GB, not 2.2."""
    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc keeps its default
        pass


_arrow_pool()


DERIVED = "derived"
"""The key of ``attrs`` (kept in policies.parquet) saying what the stored per-policy figures
were computed from: :func:`derived_key`."""
# The shipped tables the yields are computed from (``analysis.yields``' RATES_FILE, TAX_FILE).
_RATE_TABLES = ("deposit_rates.csv", "interest_tax.csv")
ROW_GROUP_ROWS = 1 << 18
"""Rows per row group of policies.parquet: what is held in memory while writing it."""
# The columns the stored yields and risk are computed from: their fingerprint is in the key.
_INPUTS = (
    "premium",
    "maturity_value",
    "issue_date",
    "maturity_date",
    "holder_birth_date",
    "age",
    "term_years",
    "payment_years",
    "payment_mode",
    "product_type",
)


class Prepared(NamedTuple):
    """What :func:`prepare` returns: where it wrote, and what."""

    out_dir: Path
    manifest: dict
    rejects: pd.DataFrame

    @property
    def policies(self) -> pd.DataFrame:
        """The policies written (read back from policies.parquet)."""
        return pd.read_parquet(self.out_dir / "policies.parquet")


def prepare_tracking(
    path: str | Path,
    policies: pd.DataFrame,
    out_dir: str | Path,
    plan: Plan | None = None,
    stack: ExitStack | None = None,
) -> TrackingRead:
    """Read the dataset's tracking files and write ``<kind>.parquet`` into ``out_dir``.

    Used by :func:`prepare`; each file appears atomically (when ``stack`` is given, when it
    closes: with the other outputs). Returns what was read, so the caller adds the rejects to
    ``rejects.csv`` and the counts to the manifest.
    """
    read = read_tracking(tracking_folder(path), policies, plan)
    with ExitStack() as own:
        for kind in KINDS:
            tmp = (stack or own).enter_context(atomic_path(Path(out_dir) / f"{kind}.parquet"))
            read.tracking[kind].to_parquet(tmp, index=False)
    counts = read.counts | {
        "inputs": tracking_inputs(path),
        "outputs": {kind: f"{kind}.parquet" for kind in KINDS},
    }
    return TrackingRead(read.tracking, read.rejects, counts)


def mask_rejects(rejects: pd.DataFrame) -> pd.DataFrame:
    """Rejects with the values of PII columns (names, IDs, phones, policy numbers) masked:
    the file, sheet and row say where to look."""
    out = rejects.copy()
    out["value"] = [mask_value(c, v) for c, v in zip(out["column"], out["value"], strict=True)]
    return out


def rates_sha256() -> str:
    """SHA-256 of the shipped deposit-rate and interest-tax tables, together."""
    h = hashlib.sha256()
    for name in _RATE_TABLES:
        h.update((config.PACKAGE_DATA / name).read_bytes())
    return h.hexdigest()


def _fingerprint(values: pd.Series) -> object:
    """A column in a few numbers: its sum (dates as days), or its values' counts for text."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        counts = np.bincount(
            values.cat.codes.to_numpy() + 1, minlength=len(values.cat.categories) + 1
        )
        return {
            str(c): int(n) for c, n in zip(["", *values.cat.categories], counts, strict=True) if n
        }
    if pd.api.types.is_datetime64_any_dtype(values):
        days = values.to_numpy("datetime64[D]")
        return [int(days[~np.isnat(days)].astype("int64").sum()), int(np.isnat(days).sum())]
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        x = values.to_numpy(dtype=float, na_value=np.nan)
        return [float(np.nansum(x)), int(np.isnan(x).sum())]
    counts = values.fillna("").astype(str).value_counts()
    return {str(c): int(n) for c, n in sorted(counts.items())}


def derived_key(policies: pd.DataFrame, plan: Plan) -> str | None:
    """What per-policy figures computed from ``policies`` under ``plan`` depend on: the plan
    file's and the rate tables' SHA-256, the rows' count and a fingerprint of the columns read
    (:data:`_INPUTS`), as one JSON text (pandas deep-copies a frame's ``attrs`` on every
    operation: a string costs nothing to copy, a nested dict a third of an evaluation's time).
    ``None`` for a plan not read from a file: then nothing stored is reused."""
    present = [c for c in _INPUTS if c in policies.columns]
    return _key(plan, len(policies), present, policies.__getitem__)


def _key(
    plan: Plan, rows: int, columns: list[str], column: Callable[[str], pd.Series]
) -> str | None:
    """:func:`derived_key` of ``rows`` rows whose ``columns`` are given by ``column``."""
    sha = plan_sha256(plan)
    if sha is None:
        return None
    key = {
        "plan_sha256": sha,
        "rates_sha256": rates_sha256(),
        "rows": rows,
        "inputs": {c: _fingerprint(column(c)) for c in columns},
    }
    return json.dumps(key, ensure_ascii=False, sort_keys=True)


def stored_derived(policies: pd.DataFrame, plan: Plan) -> bool:
    """Whether ``policies`` carries per-policy figures ``prepare`` computed for these very rows
    under ``plan`` (:func:`derived_key`, kept in ``attrs``)."""
    key = policies.attrs.get(DERIVED)
    return key is not None and key == derived_key(policies, plan)


def _in_use(part: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per column of :data:`CATEGORY_COLUMNS`, the values a part's rows hold."""
    used = {}
    for c in CATEGORY_COLUMNS:
        values = part[c].astype("category")
        codes = values.cat.codes.to_numpy()
        seen = np.bincount(codes[codes >= 0], minlength=len(values.cat.categories)) > 0
        # as an object array: a set takes it whole (an Arrow Index hands over item by item)
        used[c] = values.cat.categories[seen].to_numpy(dtype=object)
    return used


def _book(streamed: Streamed) -> tuple[dict[str, list[str]], dict[str, list[pd.Series]]]:
    """One pass over the accepted rows, :data:`CHECKERS` parts at a time: the categories of
    :data:`CATEGORY_COLUMNS` in use, sorted, and each part's :data:`_INPUTS` columns (for
    :func:`_key`)."""
    used: dict[str, set] = {c: set() for c in CATEGORY_COLUMNS}
    inputs: dict[str, list[pd.Series]] = {c: [] for c in _INPUTS}
    columns = list(dict.fromkeys([*CATEGORY_COLUMNS, *_INPUTS]))

    def read(k: int) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        part = streamed.part(k, columns)
        return part, _in_use(part)

    for part, in_use in in_threads(read, range(len(streamed.values)), CHECKERS):
        for c in CATEGORY_COLUMNS:
            used[c].update(in_use[c])
        for c in _INPUTS:
            inputs[c].append(part[c])
    return {c: sorted(v) for c, v in used.items()}, inputs


def _categorised(part: pd.DataFrame, categories: dict[str, list[str]]) -> pd.DataFrame:
    """A part with its repeated text as categoricals of the book's ``categories``."""
    return part.assign(
        **{c: part[c].astype("category").cat.set_categories(categories[c]) for c in categories}
    )


def _column(
    inputs: dict[str, list[pd.Series]], categories: dict[str, list[str]], name: str
) -> pd.Series:
    """One column of every accepted row from its parts (taken out of ``inputs``)."""
    pieces = inputs.pop(name)
    if name in categories:
        pieces = [p.astype("category").cat.set_categories(categories[name]) for p in pieces]
    return pd.concat(pieces, ignore_index=True)


def _coded(group: pa.Table) -> list[str]:
    """The columns worth a parquet dictionary, judged on the file's first row group: the
    categories, and the others with at most one distinct value in two rows. A row group's
    dictionary page holds 1 MiB (pyarrow's limit: 131,072 eight-byte values, half a group);
    past it pyarrow writes plain values, having hashed them for nothing. So the policy numbers,
    IDs, phones, maturity values and most yields go plain: at 10M the write takes about 1 s
    less, the file is smaller and the reads are as fast."""
    half = group.num_rows / 2
    return [
        f.name
        for f, column in zip(group.schema, group.columns, strict=True)
        if pa.types.is_dictionary(f.type) or pc.count_distinct(column).as_py() <= half
    ]


def _summarised(schema: pa.Schema) -> list[str]:
    """The columns whose row groups carry min/max statistics: all but the categories, whose
    statistics pyarrow works out from their text (about a fifth of the file's writing at 10M)
    and no read of a prepared file uses."""
    return [f.name for f in schema if not pa.types.is_dictionary(f.type)]


def _write_policies(path: Path, streamed: Streamed, plan: Plan) -> None:
    """policies.parquet from the accepted rows, a part at a time: repeated text as categories
    (the book's, sorted), the per-policy figures every report uses computed once
    (``analysis.book.enrich``: yields, deposit values, risk) with their key
    (:func:`derived_key`, in ``attrs``). Row groups of :data:`ROW_GROUP_ROWS` rows whatever the
    parts: the file does not depend on how the rows were read. The analysis layer sits above
    this one; it is reached by name, at call time, for this one step."""
    enrich = importlib.import_module("maturity_analysis.analysis.book").enrich
    categories, inputs = _book(streamed)
    rows = sum(int(keep.sum()) for keep in streamed.accepted)
    attrs = {DERIVED: _key(plan, rows, list(_INPUTS), partial(_column, inputs, categories))}

    def derived(k: int) -> pa.Table:
        frame = enrich(_categorised(streamed.part(k), categories), plan)
        frame.attrs = attrs  # as ``to_parquet`` of the whole frame: in pandas' metadata too
        return pa.Table.from_pandas(frame, preserve_index=False)

    with ExitStack() as stack:
        writer, schema, held = None, None, []

        def write(group: pa.Table) -> None:
            nonlocal writer
            if writer is None:
                writer = stack.enter_context(
                    pq.ParquetWriter(
                        path,
                        group.schema,
                        compression="snappy",
                        use_dictionary=_coded(group),
                        write_statistics=_summarised(group.schema),
                    )
                )
            writer.write_table(group)

        parts = range(len(streamed.values))
        for table in in_threads(derived, parts, CHECKERS):  # pyarrow writes meanwhile
            if schema is None:
                meta = {**table.schema.metadata, b"PANDAS_ATTRS": json.dumps(attrs).encode()}
                schema = table.schema.with_metadata(meta)
            held.append(table.replace_schema_metadata(schema.metadata))
            while sum(t.num_rows for t in held) >= ROW_GROUP_ROWS:
                group = pa.concat_tables(held)
                write(group.slice(0, ROW_GROUP_ROWS))
                held = [group.slice(ROW_GROUP_ROWS)]
        rest = pa.concat_tables(held)
        if rest.num_rows or not rows:
            write(rest)


def prepare(
    path: str | Path,
    out: str | Path | None = None,
    *,
    plan: Plan | None = None,
    progress: bool = False,
    chunk_rows: int | None = CHUNK_ROWS,
) -> Prepared:
    """Load ``path`` and write policies.parquet, rejects.csv and (last) manifest.json.

    A dataset with a ``tracking/`` folder also gets calls/complaints/worklog/outcomes.parquet
    (:func:`prepare_tracking`): their rejects are added to rejects.csv and their
    counts are the manifest's ``tracking``. rejects.csv masks PII values (:func:`mask_rejects`).

    The default output folder is ``data/processed/<dataset name>/``. An old manifest is removed
    first and every file is written beside its name, all renamed into place at the end (the
    manifest last): an interrupted or failed run (Ctrl-C included) leaves the earlier files
    whole and no manifest that looks finished. ``progress``: show reading and validating bars.
    ``plan`` default: the dataset folder's own ``plan.toml`` when present, else the shipped
    plan; the manifest records the plan in force (``plan_file``, ``plan_year``, ``plan_sha256``).
    ``chunk_rows``: rows of a CSV read at a time (:func:`~.policies.stream_policies`); each
    part's typed values wait in a scratch folder beside the outputs until the rows accepted
    are known, so memory holds one part, not the book.
    """
    if plan is None:
        folder = Path(path) if Path(path).is_dir() else Path(path).parent
        plan = load_plan(plan_file(folder=folder))
    out_dir = Path(out) if out is not None else config.processed_dir() / dataset_name(path)
    out_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:  # closes in reverse: the manifest is renamed last
        spill = Path(stack.enter_context(tempfile.TemporaryDirectory(dir=out_dir, prefix=".")))
        loaded = stream_policies(path, spill, plan=plan, progress=progress, chunk_rows=chunk_rows)
        (out_dir / "manifest.json").unlink(missing_ok=True)
        manifest_tmp = stack.enter_context(atomic_path(out_dir / "manifest.json"))
        _write_policies(
            stack.enter_context(atomic_path(out_dir / "policies.parquet")), loaded, plan
        )
        rejects, extra = loaded.rejects, {}
        if tracking_folder(path).is_dir():  # the filled forms: <kind>.parquet, rejects, counts
            tracked = prepare_tracking(path, loaded.frame(), out_dir, plan=plan, stack=stack)
            rejects = pd.concat([rejects, tracked.rejects[REJECT_COLUMNS]], ignore_index=True)
            extra = {"tracking": tracked.counts}
        rejects = mask_rejects(rejects)
        rejects.to_csv(
            stack.enter_context(atomic_path(out_dir / "rejects.csv")),
            index=False,
            encoding="utf-8-sig",
        )
        manifest = {
            **loaded.manifest,
            "rates_sha256": rates_sha256(),
            **extra,
            "outputs": {"policies": "policies.parquet", "rejects": "rejects.csv"},
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        manifest_tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2), "utf-8")
    return Prepared(out_dir, manifest, rejects)


def _is_fresh(manifest: dict, raw: Path, plan: Path) -> bool:
    """True when the manifest was made from these very raw files, plan, rate tables and
    package version."""
    if (
        manifest.get("package_version") != __version__
        or manifest.get("rates_sha256") != rates_sha256()
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
# has another key, so it is checked or read anew. Frames are handed out as (copy-on-write) copies;
# of a policies file, the columns read so far are held together (:func:`_held`).
_checked: dict[tuple[str, str], tuple] = {}
_frames: dict[str, tuple[tuple, pd.DataFrame]] = {}


def _kept(memo: dict, at, stats: Callable[[], tuple], read: Callable[[], Any]) -> Any:
    """What ``read()`` gives, kept in ``memo`` under ``at`` (:func:`~maturity_analysis.memo.kept`)
    while ``stats()`` (its files' sizes and times, taken after the read) is unchanged."""
    hit = memo.get(at)
    if hit is not None and hit[0] != stats():
        del memo[at]

    def fresh() -> tuple[tuple, Any]:
        value = read()
        return stats(), value

    return kept(memo, at, fresh)[1]


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


def _load_manifest(path: Path) -> dict:
    """A manifest's content; an unreadable one (cut short, not JSON) is empty: never fresh."""
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}


def _say(message: str) -> None:
    """A line for the person waiting (a notebook's output, the terminal's stderr)."""
    print(message, file=sys.stderr, flush=True)


def _make_sample(raw: Path) -> None:
    """Write the sample dataset into ``raw``. The sample generator sits above this layer; it
    is reached by name, at call time, for this one case."""
    _say(f"the sample dataset is missing: writing it into {raw} (once; `make data` does too)")
    importlib.import_module("maturity_analysis.sample.book").write_sample(raw)


def _ensure_fresh(name: str, raw: Path, out: Path, plan: Path) -> None:
    manifest = out / "manifest.json"
    if not raw.is_dir() and not manifest.is_file() and name == "sample":
        _make_sample(raw)
    if not raw.is_dir():
        if manifest.is_file():
            return
        known = sorted(p.name for p in raw.parent.glob("*") if p.is_dir())
        raise MaturityDataError(
            f"{raw}: no dataset {name!r} (known: {', '.join(known) or 'none'}); make it with "
            f"`make data` (the sample) or `maturity-analysis prepare data/raw/{name}` after "
            f"putting the export there"
        )
    if not manifest.is_file() or not _is_fresh(_load_manifest(manifest), raw, plan):
        _say(
            f"preparing dataset {name!r} from {raw} (its raw files, the plan or the package changed)"
        )
        prepare(raw, out, plan=load_plan(plan))


def policy_columns(
    names: Sequence[str], columns: Sequence[str] | None = None, pii: Sequence[str] = ()
) -> list[str]:
    """The columns a read of a policies file with columns ``names`` gives: ``columns`` when
    given (PII included where named), else every one but the customers' name, ID and phone
    (:data:`~.schema.PERSONAL_COLUMNS`) other than those in ``pii``."""
    if columns is not None:
        return list(columns)
    return [n for n in names if n not in PERSONAL_COLUMNS or n in pii]


READ_BATCH_BYTES = 256 * 2**20  # Arrow bytes of the columns read together (threads decode them)


def decoded_bytes(file: pq.ParquetFile, names: Sequence[str]) -> dict[str, int]:
    """Each column's size once Arrow has decoded it, from the file's metadata: its rows × the
    width of its type (a category's: of its codes) for fixed-width types, else (text) its
    uncompressed pages and an 8-byte offset a row. The pages alone say little of a column
    stored as runs or a dictionary: a year of whole numbers takes 2 MB of pages and 80 MB
    decoded."""
    meta, schema = file.metadata, file.schema_arrow
    where = {meta.schema.column(i).path.split(".")[0]: i for i in range(meta.num_columns)}
    rows = meta.num_rows
    size = {}
    for n in names:
        if n not in where:
            continue
        kind = schema.field(n).type
        if pa.types.is_dictionary(kind):
            kind = kind.index_type
        try:
            size[n] = rows * max(kind.bit_width // 8, 1)
        except ValueError:  # variable width
            pages = meta.row_group
            size[n] = 8 * rows + sum(
                pages(g).column(where[n]).total_uncompressed_size
                for g in range(meta.num_row_groups)
            )
    return size


def _batches(file: pq.ParquetFile, names: list[str]) -> list[list[str]]:
    """``names`` in order, in runs of columns whose decoded size (:func:`decoded_bytes`) stays
    under :data:`READ_BATCH_BYTES`; a larger column is a run of its own."""
    size = decoded_bytes(file, names)
    batches: list[list[str]] = []
    total = 0
    for n in names:
        if not batches or total + size.get(n, 0) > READ_BATCH_BYTES:
            batches.append([])
            total = 0
        batches[-1].append(n)
        total += size.get(n, 0)
    return batches


def _read_batch(file: pq.ParquetFile, path: str | Path, batch: list[str]) -> pa.Table:
    """The columns ``batch`` of ``file`` (at ``path``), each in one chunk. Several columns are
    decoded in threads, a column each; a column read alone (a batch's worth by itself, such as
    the policy numbers) is decoded a row group each, in threads, then joined: at 10,000,000
    rows 0.2 s against 0.44 s read whole, with less system time (read and tables 2.3-3.3 s
    against 3.0-5.4 s, four runs each, in turn)."""
    if len(batch) > 1:
        return file.read(columns=batch, use_pandas_metadata=True)
    return pq.read_table(path, columns=batch, use_pandas_metadata=True).combine_chunks()


def read_frame(path: str | Path, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Columns ``names`` (default: every one) of a parquet file as :func:`pandas.read_parquet`
    returns them (same dtypes and ``attrs``), but each column in one chunk, not one for each
    batch of rows a scan reads: pandas keeps text as Arrow and takes rows of it (every filter)
    by joining its chunks first, each time (a branch's calls out of a province's 268k rows in
    three chunks took 20 ms, in one 0.6 ms). Read a few columns at a time (:func:`_batches`),
    decoded in threads: each batch's Arrow buffers are freed as soon as it is converted (text
    is handed over as it is, Arrow-backed), so the peak is about the frame itself and one
    batch, not the Arrow table and the frame together; the pages Arrow's allocator freed
    meanwhile are handed back at the end."""
    file = pq.ParquetFile(path, pre_buffer=True)
    names = file.schema_arrow.names if names is None else list(names)
    parts = [
        _read_batch(file, path, batch).to_pandas(self_destruct=True, split_blocks=True)
        for batch in _batches(file, names)
    ]
    pa.default_memory_pool().release_unused()
    out = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=pd.RangeIndex(0))
    attrs = (file.schema_arrow.metadata or {}).get(b"PANDAS_ATTRS")
    out.attrs = json.loads(attrs) if attrs else {}
    return out


def read_policies(
    path: str | Path, columns: Sequence[str] | None = None, pii: Sequence[str] = ()
) -> pd.DataFrame:
    """A prepared policies.parquet as :func:`read_frame` reads it: by default every column but
    the customers' name, ID and phone, which are read only where asked for (``pii``: those of
    them to read too; ``columns``: only these, in this order, PII included where named:
    :func:`policy_columns`)."""
    return read_frame(path, policy_columns(pq.read_schema(path).names, columns, pii))


def _read_parquet(
    name: str,
    path: Path,
    raw_dir: str | Path | None,
    plan: str | Path | None,
    read: Callable[[Path], pd.DataFrame],
) -> pd.DataFrame:
    """``read(path)`` of a prepared parquet file; missing or damaged, it is prepared again
    from the raw files when they are there (and read again), else a one-line error."""
    try:
        return read(path)
    except (OSError, pa.ArrowException) as exc:
        why = "missing" if not path.exists() else f"damaged ({type(exc).__name__})"
    raw = Path(raw_dir or config.raw_dir()) / name
    if not raw.is_dir():
        raise MaturityDataError(
            f"{path}: the prepared file is {why} and {raw} is not there to prepare it again; "
            f"restore the raw files and run `maturity-analysis prepare {raw}`"
        )
    _say(f"{path} is {why}: preparing dataset {name!r} again from {raw}")
    prepare(raw, path.parent, plan=load_plan(plan_file(plan, folder=raw)))
    return read(path)


def _held(path: Path, columns: Sequence[str] | None, pii: Sequence[str]) -> pd.DataFrame:
    """The columns of ``path`` asked for (:func:`policy_columns`), from what :data:`_frames`
    holds of it while the file is unchanged, as a frame of its own (copy-on-write); only the
    columns not held yet are read, and added to what is held
    (:data:`~maturity_analysis.memo.KEPT` files at most, the oldest dropped)."""
    where, stats = str(path.resolve()), _stats(path)
    names = policy_columns(pq.read_schema(path).names, columns, pii)
    held = _frames.get(where)
    have = held[1] if held is not None and held[0] == stats else None
    missing = [n for n in names if have is None or n not in have.columns]
    if missing:
        read = read_policies(path, missing)
        have = read if have is None else pd.concat([have, read], axis=1)
        if where not in _frames and len(_frames) >= KEPT:
            _frames.pop(next(iter(_frames)))
        _frames[where] = (stats, have)
    return have[names]


def read_dataset(
    name: str = "sample",
    raw_dir: str | Path | None = None,
    processed_dir: str | Path | None = None,
    plan: str | Path | None = None,
    columns: Sequence[str] | None = None,
    pii: Sequence[str] = (),
) -> pd.DataFrame:
    """The prepared policies of ``data/raw/<name>/``, preparing them when missing or stale
    (``plan``: the plan file in force, default the dataset's own plan.toml or the shipped one).

    By default every column but the customers' name, ID and phone (holder_name, holder_id,
    holder_mobile: :data:`~.schema.PERSONAL_COLUMNS`), which only the call lists, the masked
    customer lists and the privacy check use; policy_no, the key everything joins on, is read.
    ``pii``: those of the three to read too; ``columns``: only these, in this order (PII
    included where named).

    Each column is read once per process while ``policies.parquet`` is unchanged (a later call
    asking for more reads only those); each call gets its own frame (copy-on-write: what one
    caller changes, no other sees).
    """
    path = _ensure(name, raw_dir, processed_dir, plan) / "policies.parquet"
    read = partial(_held, columns=columns, pii=pii)
    return _read_parquet(name, path, raw_dir, plan, read)


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


_trackings: dict[str, tuple[tuple, Tracking]] = {}


def read_prepared_tracking(folder: str | Path) -> Tracking | None:
    """The tracking frames ``prepare`` wrote into a processed folder (``<kind>.parquet``), or
    ``None`` when they are not all there or one is damaged.

    Read once per process while the files are unchanged (every report of a unit reads them);
    each call gets its own copies."""
    paths = {k: Path(folder) / f"{k}.parquet" for k in KINDS}
    if not all(p.exists() for p in paths.values()):
        return None
    try:
        read = _kept(
            _trackings,
            str(Path(folder).resolve()),
            partial(_stats, *paths.values()),
            lambda: Tracking(**{k: frame(k, read_frame(p)) for k, p in paths.items()}),
        )
    except (OSError, pa.ArrowException):  # damaged: the caller reads the raw forms instead
        return None
    return Tracking(**{k: read[k].copy(deep=False) for k in KINDS})

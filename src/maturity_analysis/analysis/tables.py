"""Every table of the plan, computed from the canonical policies frame.

Each function takes the policies of the whole book or of one branch (see :func:`maturity_analysis.analysis.book.for_branch`)
and returns a new frame laid out as the plan lays it out: Chinese labels, a 合计 row, counts
as integers, shares as fractions (``0.0603``; :func:`maturity_analysis.output.display.format_table` shows them as ``6.03%``).
Counting works on category codes with :func:`numpy.bincount`, a million rows at a time
(:func:`_sums`), so ten million policies take well under a second per table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..plan.model import Plan, load_plan
from .yields import add_yields

TOTAL = "合计"
COUNT = "件数"
SHARE = "占比"
PREMIUM_WAN = "保费(万元)"
AVERAGE_PREMIUM = "件均保费(元)"
UNKNOWN_AGE = "年龄不详"
OTHER_GROUP = "其他"
AGE_NAME = "年龄"
PRINCIPAL_NAME = "满期本金"
PRODUCT_NAME = "险种"
_AVERAGED = ("policy_yield", "deposit_yield", "gap_pp", "beats_deposit")


def category_codes(values: pd.Series, categories: list[str]) -> np.ndarray:
    """Integer codes of ``values`` in ``categories`` (-1 for missing or unknown).

    Categoricals are recoded through their categories and Arrow-backed strings are looked up
    by :func:`pyarrow.compute.index_in`: both avoid hashing every row in Python objects.
    """
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        if list(values.cat.categories) == categories:
            return codes
        lookup = np.append(pd.Index(categories).get_indexer(values.cat.categories), -1)
        return lookup.astype(np.min_scalar_type(-len(categories) - 1))[codes]
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        arr = pa.array(values.array)
        found = pc.index_in(arr, value_set=pa.array(categories).cast(arr.type))
        return found.fill_null(-1).to_numpy(zero_copy_only=False)
    return pd.Categorical(values, categories=categories).codes


BLOCK = 1 << 20  # rows one bincount takes: its temporaries stay a few MB at any book size


def _sums(
    keys: np.ndarray, size: int, weights: Sequence[Any] = ()
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per key (0 ≤ key < ``size``): how many rows have it; and for each of ``weights`` (row
    by row, one array each) the sum over the rows that have a value and how many have one
    (shape ``(len(weights), size)``). :data:`BLOCK` rows at a time, each block's keys counted
    once for every weight: :func:`numpy.bincount` of ten million rows at once would take 80 MB
    of intp keys and as much of weights with NaN as 0. Up to one block the sums are
    bincount's own, to the bit."""
    rows = np.zeros(size, dtype=np.int64)
    sums = np.zeros((len(weights), size))
    counts = np.zeros((len(weights), size), dtype=np.int64)
    values = [pd.Series(w) for w in weights]
    for start in range(0, len(keys), BLOCK):
        k = keys[start : start + BLOCK].astype(np.intp)
        every = np.bincount(k, minlength=size)
        rows += every
        for i, v in enumerate(values):
            w = v.iloc[start : start + BLOCK].to_numpy(dtype=float, na_value=np.nan)
            missing = np.isnan(w)
            if missing.any():
                w = np.where(missing, 0.0, w)
                counts[i] -= np.bincount(k[missing], minlength=size)
            sums[i] += np.bincount(k, weights=w, minlength=size)
            counts[i] += every
    return rows, sums, counts


def _grid(
    codes: list[np.ndarray], sizes: list[int], weights: Sequence[Any] = ()
) -> tuple[np.ndarray, ...]:
    """Counts over every combination of codes, shape ``sizes``, then the sums of each of
    ``weights`` (NaN as 0) alike; rows with a code of -1 in any key are left out.

    Each key's codes are shifted by one into a flat index small enough for 16 bits where the
    grid allows (code -1 lands in a first row, column … that is cut off), so ten million rows
    are a few passes over 20 MB and one :func:`_sums` for the counts and sums together.
    """
    shape = [size + 1 for size in sizes]
    cells = int(np.prod(shape))
    flat = np.zeros(len(codes[0]), dtype=np.int16 if cells <= np.iinfo(np.int16).max else np.intp)
    for c, size in zip(codes, shape, strict=True):
        flat *= size
        flat += c
        flat += 1
    rows, sums, _ = _sums(flat, cells, weights)
    inner = (slice(1, None),) * len(shape)
    return tuple(np.ascontiguousarray(g.reshape(shape)[inner]) for g in [rows, *sums])


def _age_codes(policies: pd.DataFrame, plan: Plan) -> tuple[np.ndarray, list[str]]:
    """Codes over [below, *bands, 年龄不详]; missing ages go to the last row."""
    labels = [plan.below_age_label, *plan.age_labels]
    codes = category_codes(policies["age_band"], labels)
    return np.where(codes < 0, len(labels), codes), [*labels, UNKNOWN_AGE]


def _optional_rows(labels: list[str], counts: np.ndarray, plan: Plan) -> np.ndarray:
    """Which age rows to show: the plan's bands always, 20岁以下 / 年龄不详 only when present."""
    keep = np.array([lab in plan.age_labels for lab in labels])
    return keep | (counts > 0)


def _product_codes(policies: pd.DataFrame, plan: Plan) -> np.ndarray:
    return category_codes(policies["product_type"], list(plan.products))


def _principal_codes(policies: pd.DataFrame, plan: Plan) -> np.ndarray:
    return category_codes(policies["principal_band"], list(plan.principal_labels))


def _with_total(frame: pd.DataFrame, total: pd.Series) -> pd.DataFrame:
    """``frame`` with ``total`` appended as the 合计 row (dtypes and index name kept)."""
    out = pd.concat([frame, total.to_frame(TOTAL).T.astype(frame.dtypes)])
    out.index.name = frame.index.name
    return out


def _share(part: Any, whole: Any) -> np.ndarray:
    """``part / whole`` as floats, NaN where ``whole`` is 0."""
    part, whole = np.asarray(part, dtype=float), np.asarray(whole, dtype=float)
    return np.where(whole > 0, part / np.where(whole > 0, whole, 1.0), np.nan)


def table1(policies: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """Table 1: policy counts by age band (rows) × product × principal band (columns).

    Columns are (product, 合计) then (product, band) for each principal band, as in the plan;
    the last row is 合计. A 20岁以下 or 年龄不详 row appears only when there are such policies.
    """
    plan = plan or load_plan()
    age, age_labels = _age_codes(policies, plan)
    bands, products = list(plan.principal_labels), list(plan.products)
    (grid,) = _grid(
        [age, _product_codes(policies, plan), _principal_codes(policies, plan)],
        [len(age_labels), len(products), len(bands)],
    )
    blocks, columns = [], []
    for p, product in enumerate(products):
        blocks += [grid[:, p, :].sum(axis=1, keepdims=True), grid[:, p, :]]
        columns += [(product, TOTAL)] + [(product, b) for b in bands]
    data = np.hstack(blocks)
    keep = _optional_rows(age_labels, data.sum(axis=1), plan)
    frame = pd.DataFrame(
        data[keep],
        index=pd.Index(np.array(age_labels)[keep], name=AGE_NAME),
        columns=pd.MultiIndex.from_tuples(columns, names=[PRODUCT_NAME, PRINCIPAL_NAME]),
    )
    return _with_total(frame, frame.sum())


def _count_share_table(
    counts: np.ndarray, labels: list[str], products: list[str], index_name: str, keep: np.ndarray
) -> pd.DataFrame:
    """Counts (rows × products) with shares within each product and of the total."""
    counts = counts[keep]
    row_total = counts.sum(axis=1)
    grand = row_total.sum()
    cols: dict[tuple[str, str], np.ndarray] = {}
    for p, product in enumerate(products):
        cols[(product, COUNT)] = counts[:, p]
        cols[(product, SHARE)] = _share(counts[:, p], counts[:, p].sum())
    cols[(TOTAL, COUNT)] = row_total
    cols[(TOTAL, SHARE)] = _share(row_total, grand)
    frame = pd.DataFrame(cols, index=pd.Index(np.array(labels)[keep], name=index_name))
    frame.columns.names = [PRODUCT_NAME, None]
    total = pd.Series({c: (1.0 if c[1] == SHARE else frame[c].sum()) for c in frame.columns})
    for product in [*products, TOTAL]:
        if frame[(product, COUNT)].sum() == 0:
            total[(product, SHARE)] = np.nan
    return _with_total(frame, total)


def table2(policies: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """Table 2: counts by age band × product, shares within each product and of the total."""
    plan = plan or load_plan()
    age, age_labels = _age_codes(policies, plan)
    products = list(plan.products)
    (counts,) = _grid([age, _product_codes(policies, plan)], [len(age_labels), len(products)])
    keep = _optional_rows(age_labels, counts.sum(axis=1), plan)
    return _count_share_table(counts, age_labels, products, AGE_NAME, keep)


def product_difference(policies: pd.DataFrame, plan: Plan | None = None) -> tuple[int, float]:
    """How many more policies the second product has than the first, and that as a share.

    For the plan: 万能 − 分红 = 20587 − 16236 = 4351 policies, 11.82% of 36823.
    """
    plan = plan or load_plan()
    codes = _product_codes(policies, plan)
    counts = np.bincount(codes[codes >= 0], minlength=len(plan.products))
    diff = int(counts[1] - counts[0])
    total = int(counts.sum())
    return diff, (diff / total if total else float("nan"))


def table3(policies: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """Table 3: counts by principal band × product with shares, and the average premium.

    Each product and the 合计 block have 件数, 占比 and 件均保费(元) (premium per policy).
    """
    plan = plan or load_plan()
    bands, products = list(plan.principal_labels), list(plan.products)
    codes, sizes = (
        [_principal_codes(policies, plan), _product_codes(policies, plan)],
        [len(bands), len(products)],
    )
    counts, premium = _grid(codes, sizes, [policies["premium"]])
    frame = _count_share_table(
        counts, bands, products, PRINCIPAL_NAME, np.ones(len(bands), dtype=bool)
    )
    premium = np.vstack([premium, premium.sum(axis=0, keepdims=True)])
    for p, product in enumerate(products):
        frame[(product, AVERAGE_PREMIUM)] = _share(premium[:, p], frame[(product, COUNT)])
    frame[(TOTAL, AVERAGE_PREMIUM)] = _share(premium.sum(axis=1), frame[(TOTAL, COUNT)])
    order = [(p, c) for p in [*products, TOTAL] for c in (COUNT, SHARE, AVERAGE_PREMIUM)]
    return frame[order]


def table4(policies: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """Table 4: premium volume in 万元 by age band × product, shares within each product and
    of the total."""
    plan = plan or load_plan()
    age, age_labels = _age_codes(policies, plan)
    products = list(plan.products)
    codes = [age, _product_codes(policies, plan)]
    sizes = [len(age_labels), len(products)]
    counts, premium = _grid(codes, sizes, [policies["premium"]])
    keep = _optional_rows(age_labels, counts.sum(axis=1), plan)
    frame = _count_share_table(premium / 10_000, age_labels, products, AGE_NAME, keep)
    return frame.rename(columns={COUNT: PREMIUM_WAN}, level=1)


def segment_table(policies: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """The age-segment table: per age band the 分红 count, its 5-20万 count and share of the
    band's 分红 policies, its premium (万元), and the playbook's 特点 / 转换产品 / 额度 /
    缴费 / 难点 (the plan's ``[tables.segment]`` and ``[[playbook]]``)."""
    plan = plan or load_plan()
    seg = plan.tables.segment
    product, middle = seg.product, seg.middle_label
    bands = list(plan.principal_labels)
    mid = [bands.index(b) for b in seg.middle_bands]
    age, age_labels = _age_codes(policies, plan)
    is_product = category_codes(policies["product_type"], [product]) == 0
    band = np.where(is_product, _principal_codes(policies, plan), -1)
    codes, sizes = [age, band], [len(age_labels), len(bands)]
    counts, premium = _grid(codes, sizes, [policies["premium"]])
    wan = premium.sum(axis=1) / 10_000
    n = counts.sum(axis=1)
    m = counts[:, mid].sum(axis=1)
    keep = _optional_rows(age_labels, n, plan)
    labels = list(np.array(age_labels)[keep])
    frame = pd.DataFrame(
        {
            f"{product}{COUNT}": n[keep],
            f"{middle}{COUNT}": m[keep],
            f"{middle}{SHARE}": _share(m, n)[keep],
            f"{product}{PREMIUM_WAN}": wan[keep],
        },
        index=pd.Index(labels, name=AGE_NAME),
    )
    total = frame.sum()
    total[f"{middle}{SHARE}"] = _share(total[f"{middle}{COUNT}"], total[f"{product}{COUNT}"])
    frame = _with_total(frame, total)
    texts = {
        "特点": "traits",
        "转换产品": "product",
        "额度": "amount",
        "缴费": "payment",
        "难点": "difficulty",
    }
    for header, key in texts.items():
        frame[header] = [plan.playbook_for(lab).get(key, "") for lab in frame.index]
    return frame


def _contains(values: pd.Series, text: str) -> np.ndarray:
    """Whether each value contains ``text`` (missing: False), testing each distinct value once
    where the values are categorical, in Arrow's string kernels otherwise."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        hit = np.append([text in str(c) for c in values.cat.categories], False)
        return hit[values.cat.codes.to_numpy()]
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        found = pc.match_substring(pa.array(values.array), text)
        return found.fill_null(False).to_numpy(zero_copy_only=False)
    return values.astype(str).str.contains(text, regex=False).fillna(False).to_numpy(dtype=bool)


def maturity_groups(policies: pd.DataFrame, plan: Plan | None = None) -> pd.Series:
    """Each policy's maturity-product group (``[[tables.maturity_groups]]``; else 其他)."""
    plan = plan or load_plan()
    groups = plan.tables.maturity_groups
    # whole years are exact in 32 bits; a missing term is NaN, in no term range
    term = policies["term_years"].to_numpy(dtype=np.float32, na_value=np.nan)
    products = sorted({g.product for g in groups})
    product = category_codes(policies["product_type"], products)
    names = {
        text: _contains(policies["product_name"], text)
        for text in {g.product_name for g in groups if g.product_name is not None}
    }
    labels = [g.label for g in groups]
    codes = np.full(len(policies), len(groups), dtype=np.int8)
    for i, g in reversed(list(enumerate(groups))):  # the first group a policy matches wins
        cond = product == products.index(g.product)
        if g.product_name is not None:
            cond &= names[g.product_name]
        if g.min_term is not None:
            cond &= term >= g.min_term
        if g.max_term is not None:
            cond &= term <= g.max_term
        codes += (i - codes) * cond  # i where cond: arithmetic, a quarter of a masked store
    cat = pd.Categorical.from_codes(codes, categories=[*labels, OTHER_GROUP])
    return pd.Series(cat, index=policies.index, name="maturity_group")


def maturity_product_table(policies: pd.DataFrame, plan: Plan | None = None) -> pd.DataFrame:
    """The maturity-product analysis: per product and term group (千里马 ≥8 years, ≤5 years,
    万能), counts, average annualised policy yield, average benchmark-deposit yield, the
    average gap in percentage points, and how many policies beat the deposit.

    Uses the yield columns of :func:`maturity_analysis.analysis.yields.add_yields` when present and
    computes them otherwise. Averages are over policies with a yield; 其他 appears only when
    some policies fall in no group.
    """
    plan = plan or load_plan()
    if not set(_AVERAGED) <= set(policies.columns):
        policies = add_yields(policies)
    group = maturity_groups(policies, plan)
    codes, labels = group.cat.codes.to_numpy(), list(group.cat.categories)
    # policies without a value: in neither sum nor count
    counts, totals, having = _sums(codes, len(labels), [policies[c] for c in _AVERAGED])
    keep = np.array([lab != OTHER_GROUP for lab in labels]) | (counts > 0)
    sums, ns = {}, {}
    for column, total, n in zip(_AVERAGED, totals[:, keep], having[:, keep], strict=True):
        sums[column] = np.append(total, total.sum())
        ns[column] = np.append(n, n.sum())
    mean = {c: _share(sums[c], ns[c]) for c in _AVERAGED}
    frame = pd.DataFrame(
        {
            COUNT: np.append(counts[keep], counts.sum()),
            "平均年化收益率": mean["policy_yield"],
            "平均存款年化收益率": mean["deposit_yield"],
            "平均收益差(百分点)": mean["gap_pp"],
            "跑赢存款件数": sums["beats_deposit"].round().astype(np.int64),
            "跑赢存款占比": mean["beats_deposit"],
        },
        index=pd.Index([*np.array(labels)[keep], TOTAL], name="满期产品"),
    )
    return frame


def plan_tables(policies: pd.DataFrame, plan: Plan | None = None) -> dict[str, pd.DataFrame]:
    """Every table of the plan, keyed by its sheet name (表1 … 满期产品分析)."""
    plan = plan or load_plan()
    return {
        "表1 年龄险种本金": table1(policies, plan),
        "表2 年龄险种占比": table2(policies, plan),
        "表3 满期本金": table3(policies, plan),
        "表4 年龄保费": table4(policies, plan),
        "年龄段分析": segment_table(policies, plan),
        "满期产品分析": maturity_product_table(policies, plan),
    }

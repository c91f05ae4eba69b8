"""Membership of one text column in another, vectorised.

pandas' ``isin`` on arrow-backed text (the ``str`` dtype of pandas 3) turns every value of the
other side into a Python scalar first: 0.1 s for 50,000 policy numbers, paid by every report
that matches calls to policies. :func:`member` asks pyarrow directly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _text(values) -> pa.Array:
    return pa.array(pd.Series(values, dtype="str").array).cast(pa.large_string())


def member(values: pd.Series, among) -> np.ndarray:
    """``values.isin(among)`` as a boolean array (missing matches missing, as in pandas), in
    one pyarrow step when ``values`` is text (``among``: text too), on the categories when it
    is a categorical (a branch code of 230,000 policies: 1 ms, not the 8 ms of spelling every
    row out); other dtypes go to pandas."""
    among = list(among) if isinstance(among, set | frozenset) else among
    if isinstance(values.dtype, pd.CategoricalDtype):  # each category once, not each row
        categories = values.cat.categories
        missing = pd.Categorical([None], categories=categories).isin(among)  # code -1
        inside = np.append(member(pd.Series(categories), among), missing)
        return inside[values.cat.codes.to_numpy()]
    if not isinstance(values.dtype, pd.StringDtype):
        return values.isin(among).to_numpy(dtype=bool)
    found = pc.is_in(_text(values), value_set=_text(pd.unique(pd.Series(among, dtype="str"))))
    return found.to_numpy(zero_copy_only=False).astype(bool)


def as_text(values: pd.Series) -> pd.Series:
    """``values.astype(str)``; a categorical of text takes its categories by code (230,000
    branch codes: 3 ms, not pandas' 25 ms of a Python string a row)."""
    if not isinstance(values.dtype, pd.CategoricalDtype) or not isinstance(
        values.cat.categories.dtype, pd.StringDtype
    ):
        return values.astype(str)
    text = pd.Series(values.cat.categories, dtype="str").array
    taken = text.take(values.cat.codes.to_numpy(), allow_fill=True)  # code -1: missing
    return pd.Series(taken, index=values.index, name=values.name)

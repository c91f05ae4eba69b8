"""Age and principal banding by the plan's edges."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .model import Plan, load_plan


def _band(values: pd.Series, lower: tuple, labels: list[str]) -> pd.Categorical:
    idx = (
        np.searchsorted(np.asarray(lower, dtype=float), values.to_numpy(dtype=float), side="right")
        - 1
    )
    codes = np.where(values.isna().to_numpy(), -1, idx)
    return pd.Categorical.from_codes(codes, categories=labels)


def age_band(ages: pd.Series, plan: Plan | None = None) -> pd.Series:
    """Band whole-year ages; ages below the first band get the plan's ``below_label``.

    >>> age_band(pd.Series([19, 20, 30, 31, 61, 90])).tolist()
    ['20岁以下', '20-30', '20-30', '31-40', '61以上', '61以上']
    """
    plan = plan or load_plan()
    labels = [plan.below_age_label, *plan.age_labels]
    cat = _band(ages, (-np.inf, *plan.age_lower), labels)
    return pd.Series(cat, index=ages.index, name="age_band")


def principal_band(premium: pd.Series, plan: Plan | None = None) -> pd.Series:
    """Band premiums (元) into the plan's principal bands, lower edge included.

    >>> principal_band(pd.Series([49999.99, 50000, 199999, 200000])).tolist()
    ['5万以下', '5-10万', '10-20万', '20万及以上']
    """
    plan = plan or load_plan()
    cat = _band(premium, plan.principal_lower, list(plan.principal_labels))
    return pd.Series(cat, index=premium.index, name="principal_band")


def age_at(birth: pd.Series, on: pd.Series) -> pd.Series:
    """Whole years (周岁) between birth dates and a reference date, per row.

    >>> age_at(pd.Series(pd.to_datetime(["1960-03-05", "1960-03-06"])),
    ...        pd.Series(pd.to_datetime(["2013-03-05", "2013-03-05"]))).tolist()
    [53, 52]
    """
    b, o = pd.to_datetime(birth), pd.to_datetime(on)
    had_birthday = (o.dt.month > b.dt.month) | ((o.dt.month == b.dt.month) & (o.dt.day >= b.dt.day))
    age = o.dt.year - b.dt.year - (~had_birthday).astype(int)
    return age.where(b.notna() & o.notna()).astype("Int64").rename("age")

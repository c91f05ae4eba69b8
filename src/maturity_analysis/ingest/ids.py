"""PRC resident ID numbers (GB 11643): check digit (ISO 7064 MOD 11-2), birth date, 15→18.

All functions are vectorised over Series of cleaned text (upper-case ``X``, no spaces).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)


def check_char(first17: str) -> str:
    """The check character of an ID from its first 17 digits.

    >>> check_char("11010519491231002")
    'X'
    """
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return chr(_CHECK[total % 11])


def _digits(ids: pd.Series, width: int) -> np.ndarray:
    """An (n, width) uint8 array of the ASCII bytes of equal-width ASCII strings."""
    raw = np.asarray(ids.to_numpy(dtype=object), dtype=f"S{width}")
    return raw.view(np.uint8).reshape(len(ids), width)


def _expected_check(digits17: np.ndarray) -> np.ndarray:
    return _CHECK[((digits17.astype(np.int64) - 48) @ _WEIGHTS) % 11]


def check_digit_ok(ids: pd.Series) -> pd.Series:
    """True where an ID is 17 digits plus the check character they call for.

    >>> check_digit_ok(pd.Series(["11010519491231002X", "110105194912310021", "123", None])).tolist()
    [True, False, False, False]
    """
    shaped = ids.str.fullmatch("[0-9]{17}[0-9X]").fillna(False).astype(bool).to_numpy()
    ok = np.zeros(len(ids), dtype=bool)
    if shaped.any():
        digits = _digits(ids[shaped], 18)
        ok[shaped] = _expected_check(digits[:, :17]) == digits[:, 17]
    return pd.Series(ok, index=ids.index)


def id_valid(ids: pd.Series) -> pd.Series:
    """True where an ID has a right check character and a real birth date (1900 or later).

    >>> ids = pd.Series(["11010519491231002X", "110105189912310023", "110105194913310021"])
    >>> id_valid(ids).tolist()
    [True, False, False]
    """
    return check_digit_ok(ids) & birth_from_id(ids).notna()


def birth_from_id(ids: pd.Series) -> pd.Series:
    """The birth date written in 18-character IDs (characters 7–14), NaT where unreadable.

    >>> birth_from_id(pd.Series(["11010519491231002X"])).dt.strftime("%Y-%m-%d").tolist()
    ['1949-12-31']
    """
    ymd = ids.where(ids.str.len() == 18).str.slice(6, 14)
    born = pd.to_datetime(ymd, format="%Y%m%d", errors="coerce")
    return born.where(born.dt.year >= 1900).astype("datetime64[ns]")


def upgrade_15(ids: pd.Series) -> pd.Series:
    """Turn old 15-digit IDs into 18 characters (insert ``19``, append the check character).

    >>> upgrade_15(pd.Series(["110105491231002", "x"])).tolist()
    ['11010519491231002X', 'x']
    """
    old = ids.str.fullmatch("[0-9]{15}").fillna(False).astype(bool).to_numpy()
    if not old.any():
        return ids
    body = ids[old].str.slice(0, 6) + "19" + ids[old].str.slice(6, 15)
    check = _expected_check(_digits(body, 17)).view("S1").astype(str)
    out = ids.copy()
    out[old] = body + pd.Series(check, index=body.index)
    return out


# --------------------------------------------------------------------------------- masking
# The one masking rule of the project: output.privacy masks reports with it, ingest the values
# of rejects.csv. Names keep the surname and last character; IDs and phones their first three
# and last four characters; policy numbers their last four.
MASK = "*"

# Two-character surnames, so that 欧阳*锋 keeps the whole surname.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 令狐 长孙 宇文 司徒 夏侯 "
    "轩辕 端木 独孤 南宫 西门 百里 呼延 澹台 太史 申屠 公冶 赫连 钟离 万俟 "
    "闻人 濮阳 淳于 单于 闾丘 拓跋 第五 东郭 公羊 谷梁 左丘 梁丘 司空 司寇 "
    "仲孙 叔孙 子车 颛孙 巫马 亓官 乐正 壤驷".split()
)


def is_missing(value: object) -> bool:
    """True for None, NaN, NaT and pd.NA (a masker leaves them as they are)."""
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _mask_middle(text: str, head: int, tail: int) -> str:
    """Keep ``head`` leading and ``tail`` trailing characters, mask the rest one for one."""
    if len(text) <= head + tail:
        head = 0
        tail = min(tail, max(len(text) - 2, 0))
    return text[:head] + MASK * (len(text) - head - tail) + text[len(text) - tail :]


def mask_name(name: str | None) -> str | None:
    """Mask a personal name: keep the surname and the last character.

    >>> [mask_name(n) for n in ["张三明", "欧阳建锋", "李四", "欧阳锋", "王小二三"]]
    ['张*明', '欧阳*锋', '李*', '欧阳*', '王**三']
    """
    if is_missing(name):
        return name
    name = str(name).strip()
    surname_len = 2 if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES else 1
    surname, given = name[:surname_len], name[surname_len:]
    if len(given) <= 1:
        return surname + MASK * len(given)
    return surname + MASK * (len(given) - 1) + given[-1]


def mask_phone(phone: str | None) -> str | None:
    """Mask a phone number: keep the first three and last four digits.

    >>> mask_phone("13812345678")
    '138****5678'
    """
    if is_missing(phone):
        return phone
    return _mask_middle(str(phone).strip(), 3, 4)


def mask_id(id_number: str | None) -> str | None:
    """Mask an ID number: keep the first three and last four characters.

    >>> mask_id("11010519491231002X")
    '110***********002X'
    """
    if is_missing(id_number):
        return id_number
    return _mask_middle(str(id_number).strip(), 3, 4)


def mask_policy(policy_no: str | None) -> str | None:
    """Mask a policy number: keep its last four characters.

    >>> mask_policy("P2008000123")
    '*******0123'
    """
    if is_missing(policy_no):
        return policy_no
    return _mask_middle(str(policy_no).strip(), 0, 4)


MASKERS = {
    "policy_no": mask_policy,
    "holder_name": mask_name,
    "holder_id": mask_id,
    "holder_mobile": mask_phone,
}


def mask_value(column: str, value: str | None) -> str | None:
    """``value`` masked as a PII value of ``column`` (a key of :data:`MASKERS`); other
    columns' values unchanged.

    >>> [mask_value(c, v) for c, v in [("holder_id", "11010519491231002X"),
    ...     ("holder_mobile", "13812345678"), ("policy_no", "P2008000123"),
    ...     ("holder_name", "张三明"), ("holder_name", "李四"), ("premium", "5万")]]
    ['110***********002X', '138****5678', '*******0123', '张*明', '李*', '5万']
    """
    masker = MASKERS.get(column)
    return value if masker is None else masker(value)

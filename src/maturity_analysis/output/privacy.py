"""Masking of customer PII (names, phones, ID and policy numbers) and a leak check for reports.

Rendered reports never show a full name, phone number, ID number or policy number. Notebooks
that list customers mask them with :func:`mask_frame`; the report runner checks every HTML it
writes with :func:`find_pii` as a second line of defence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.util import hash_array

from ..ingest.schema import PII_COLUMNS

MASK = "*"

# Two-character surnames, so that 欧阳*锋 keeps the whole surname.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 令狐 长孙 宇文 司徒 夏侯 "
    "轩辕 端木 独孤 南宫 西门 百里 呼延 澹台 太史 申屠 公冶 赫连 钟离 万俟 "
    "闻人 濮阳 淳于 单于 闾丘 拓跋 第五 东郭 公羊 谷梁 左丘 梁丘 司空 司寇 "
    "仲孙 叔孙 子车 颛孙 巫马 亓官 乐正 壤驷".split()
)

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_TOKEN = re.compile(f"[{_CJK}]+|[0-9A-Za-z]+")
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")
_TAG = re.compile(r"<[^>]*>")


def _is_missing(value: object) -> bool:
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
    if _is_missing(name):
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
    if _is_missing(phone):
        return phone
    return _mask_middle(str(phone).strip(), 3, 4)


def mask_id(id_number: str | None) -> str | None:
    """Mask an ID number: keep the first three and last four characters.

    >>> mask_id("11010519491231002X")
    '110***********002X'
    """
    if _is_missing(id_number):
        return id_number
    return _mask_middle(str(id_number).strip(), 3, 4)


def mask_policy(policy_no: str | None) -> str | None:
    """Mask a policy number: keep its last four characters.

    >>> mask_policy("P2008000123")
    '*******0123'
    """
    if _is_missing(policy_no):
        return policy_no
    return _mask_middle(str(policy_no).strip(), 0, 4)


MASKERS = {
    "policy_no": mask_policy,
    "holder_name": mask_name,
    "holder_id": mask_id,
    "holder_mobile": mask_phone,
}


def mask_frame(df: pd.DataFrame, columns: Iterable[str] = PII_COLUMNS) -> pd.DataFrame:
    """A copy of ``df`` with each PII column present masked (other columns untouched).

    >>> df = pd.DataFrame({"holder_name": ["张三明"], "premium": [5.0e4]})
    >>> mask_frame(df).to_dict("records")
    [{'holder_name': '张*明', 'premium': 50000.0}]
    """
    out = df.copy()
    for column in columns:
        if column in out.columns:
            out[column] = out[column].map(MASKERS[column]).astype(object)
    return out


@dataclass(frozen=True)
class Finding:
    """One PII value found in a text; ``masked`` is safe to print, the raw value is not kept."""

    column: str
    masked: str


def _hashes(values) -> np.ndarray:
    """64-bit hashes of strings (stable across processes), for compact set membership."""
    return hash_array(np.asarray(values, dtype=object), categorize=False)


def _member(hashes: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    if not len(sorted_set):
        return np.zeros(len(hashes), dtype=bool)
    at = np.searchsorted(sorted_set, hashes).clip(max=len(sorted_set) - 1)
    return sorted_set[at] == hashes


class PiiIndex:
    """The PII values of a policies frame, ready to check many texts against.

    Names are found as a whole run of Chinese characters (a table cell, a word between
    punctuation) and, when three characters or longer, anywhere inside Chinese text; numbers
    (phones, ID and policy numbers) are found as whole runs of letters and digits, in any
    case. Embedded base64 images and HTML tags are skipped.

    The values are kept as sorted 64-bit hashes (8 bytes each), so ten million policies fit
    in a few hundred MB and the index builds in seconds; a chance collision would only flag
    a text for a human to look at.
    """

    def __init__(self, policies: pd.DataFrame, columns: Iterable[str] = PII_COLUMNS):
        self._sets: dict[str, np.ndarray] = {}
        self._name_lengths: list[int] = []
        for column in columns:
            if column not in policies.columns:
                continue
            values = policies[column].dropna().astype(str).str.strip().str.upper()
            lengths = values.str.len()
            self._sets[column] = np.unique(_hashes(values[lengths >= 2]))
            if column == "holder_name":
                self._name_lengths = sorted(int(n) for n in lengths.unique() if n >= 3)

    def _found(self, text: str) -> dict[str, str]:
        """Each PII value in ``text`` (as written there) → its column: whole tokens in order of
        appearance, then names found inside longer Chinese text."""
        text = _TAG.sub(" ", _DATA_URI.sub(" ", text))
        tokens = list(dict.fromkeys(m.group() for m in _TOKEN.finditer(text)))
        # Names of three or more characters inside longer runs of Chinese text.
        inner = list(
            dict.fromkeys(
                run[i : i + n]
                for run in _CJK_RUN.findall(text)
                for n in self._name_lengths
                if len(run) > n
                for i in range(len(run) - n + 1)
            )
        )
        found: dict[str, str] = {}
        for words, columns in ((tokens, list(self._sets)), (inner, ["holder_name"])):
            columns = [c for c in columns if c in self._sets]
            if not words or not columns:
                continue
            hashes = _hashes([w.upper() for w in words])
            hits = [_member(hashes, self._sets[c]) for c in columns]
            for i, word in enumerate(words):
                column = next((c for c, hit in zip(columns, hits, strict=True) if hit[i]), None)
                if column is not None:
                    found.setdefault(word, column)
        return found

    def find(self, text: str) -> list[Finding]:
        """Every distinct PII value in ``text``, masked."""
        return [
            Finding(column, MASKERS[column](value)) for value, column in self._found(text).items()
        ]

    def redact(self, text: str) -> str:
        """``text`` with every PII value masked (for error messages shown in summaries)."""
        for value, column in sorted(self._found(text).items(), key=lambda vc: -len(vc[0])):
            text = text.replace(value, MASKERS[column](value))
        return text


def find_pii(text: str, policies: pd.DataFrame | PiiIndex) -> list[Finding]:
    """The customer names, phones, IDs and policy numbers of ``policies`` that ``text`` contains.

    ``policies`` is a frame with (some of) the PII columns, or a prebuilt :class:`PiiIndex`
    when many texts are checked against the same data. Findings are masked.

    >>> people = pd.DataFrame({"holder_name": ["张三明"], "holder_mobile": ["13812345678"]})
    >>> [(f.column, f.masked) for f in find_pii("<td>张三明</td><td>13812345678</td>", people)]
    [('holder_name', '张*明'), ('holder_mobile', '138****5678')]
    >>> find_pii("<td>张*明</td><td>138****5678</td>", people)
    []
    """
    index = policies if isinstance(policies, PiiIndex) else PiiIndex(policies)
    return index.find(text)

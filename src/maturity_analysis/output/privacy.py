"""Masking of customer PII (names, phones, ID and policy numbers) and a leak check for reports.

Rendered reports never show a full name, phone number, ID number or policy number. Notebooks
that list customers mask them with :func:`mask_frame`; the report runner checks every file it
writes under ``reports/`` with :func:`check_file` before keeping it, as a second line of
defence: HTML (text *and* attribute values, entities decoded), workbooks (every text of their
XML: cells, sheet names, comments, headers, properties), notebooks (every string of the JSON),
PDF (its extracted text, through :data:`EXTRACTORS`) and plain text. A file kind without an
extractor is refused, never waved through.

What counts as a leak
---------------------
Numbers (phones, ID and policy numbers) count wherever they stand as a whole run of letters
and digits. A customer's name counts as a whole run of Chinese characters and, from three
characters, anywhere inside Chinese text — except when the name is also a word of the
report's own fixed text: the Chinese of the package's code, notebooks, templates and plan
(:func:`report_vocabulary`; e.g. 万元, 万能, 方案, 原文, 时间). Such a name cannot be told from
the word by looking at it, so it counts only where the text also shows another identifier of
*that* customer (her phone, ID or policy number) within ``CONTEXT`` characters, or
masked within ``MASKED_CONTEXT`` — as in a listing row, a call-list line or a contact note. A customer
called 时间 therefore does not stop every report that prints 时间, while a row naming her
beside her (masked) phone is still refused. The residual risk is a vocabulary-word name shown
alone, with nothing else identifying her; the masking in the notebooks is the first line
against that. The vocabulary comes from the package only, never from the data (a branch name
carrying a contact person must not make her name "vocabulary").

A refused file is not kept; findings and error texts show values masked only, and there is no
option to publish a refused file unmasked. Embedded images (base64) cannot be read and are
skipped; charts take their labels from masked or aggregated data.
"""

from __future__ import annotations

import ast
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.util import hash_array

from ..analysis.lookup import member
from ..exceptions import PrivacyError
from ..ingest.ids import (  # noqa: F401 (the mask_* names are re-exported)
    COMPOUND_SURNAMES,
    MASK,
    MASKERS,
    is_missing,
    mask_id,
    mask_name,
    mask_phone,
    mask_policy,
)
from ..ingest.schema import PII_COLUMNS
from .fonts import FONT_FAMILY, font_path

# The masking rule is defined once, in ingest.ids (ingest masks rejects.csv with it and
# cannot import output); its names are re-exported here as privacy's own.

# Characters either side of a vocabulary-word name searched for another identifier of hers:
# in full, and masked (a listing row of hers; closer, as masked rows of others are allowed).
CONTEXT = 120
MASKED_CONTEXT = 40
# File kinds whose text the package's own vocabulary is read from.
VOCABULARY_FILES = ("*.py", "*.toml", "*.ipynb", "*.j2", "*.html")
VOCABULARY_EXCLUDED = "sample"
_LONGEST_WORD = 8

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_TOKEN = re.compile(f"[{_CJK}]+|[0-9A-Za-z]+")
_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")
_TAG = re.compile(r"<[^>]*>")


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

    def __init__(
        self,
        policies: pd.DataFrame,
        columns: Iterable[str] = PII_COLUMNS,
        vocabulary: frozenset[str] | None = None,
    ):
        self._sets: dict[str, np.ndarray] = {}
        self._name_lengths: list[int] = []
        # vocabulary-word name → the customer's other identifiers: in full, masked
        self._word_names: dict[str, tuple[list[str], list[str]]] = {}
        columns = [c for c in columns if c in policies.columns]
        for column in columns:
            values = policies[column].dropna().astype(str).str.strip().str.upper()
            lengths = values.str.len()
            self._sets[column] = np.unique(_hashes(values[lengths >= 2]))
            if column == "holder_name":
                self._name_lengths = sorted(int(n) for n in lengths.unique() if n >= 3)
        if "holder_name" in columns:
            words = report_vocabulary() if vocabulary is None else vocabulary
            names = policies["holder_name"].dropna().astype(str).str.strip().str.upper()
            clash = names[member(names, words)]
            others = [c for c in columns if c != "holder_name"]
            for name, row in zip(
                clash, policies.loc[clash.index, others].itertuples(), strict=True
            ):
                full, masked = self._word_names.setdefault(name, ([], []))
                for column, value in zip(others, row[1:], strict=True):
                    if not is_missing(value) and len(str(value).strip()) >= 4:
                        full.append(str(value).strip().upper())
                        masked.append(MASKERS[column](full[-1]))

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
        return {w: c for w, c in found.items() if c != "holder_name" or self._named(text, w)}

    def _named(self, text: str, name: str) -> bool:
        """Whether ``name`` found in ``text`` is a customer's name there: always, unless it is a
        word of the report's vocabulary; then only beside another identifier of hers."""
        identifiers = self._word_names.get(name.upper())
        if identifiers is None:
            return True
        upper = text.upper()
        for match in re.finditer(re.escape(name.upper()), upper):
            for values, width in zip(identifiers, (CONTEXT, MASKED_CONTEXT), strict=True):
                near = upper[max(match.start() - width, 0) : match.end() + width]
                if any(v in near for v in values):
                    return True
        return False

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


# ------------------------------------------------------------------ the report's own words


def _literals(source: str) -> list[str]:
    """The string literals of Python ``source`` that are not docstrings (nor comments)."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


@cache
def report_vocabulary(root: Path | None = None) -> frozenset[str]:
    """The words the reports print by themselves, whatever the data: every piece (2 to
    ``_LONGEST_WORD`` characters) of the Chinese in the package's string literals (not its
    docstrings or comments), notebooks, templates and plan file (``root`` defaults to the
    package; the sample generator, whose name lists are made-up people, is left out)."""
    root = Path(root or Path(__file__).resolve().parents[1])
    words: set[str] = set()
    for pattern in VOCABULARY_FILES:
        for path in root.rglob(pattern):
            if VOCABULARY_EXCLUDED in path.relative_to(root).parts:
                continue
            text = path.read_text(encoding="utf-8", errors="ignore")
            texts = _literals(text) if path.suffix == ".py" else [text]
            for run in (r for t in texts for r in _CJK_RUN.findall(t)):
                for n in range(2, min(len(run), _LONGEST_WORD) + 1):
                    words.update(run[i : i + n] for i in range(len(run) - n + 1))
    return frozenset(words)


# ---------------------------------------------------------------- every file kind's text


class _HtmlText(HTMLParser):
    """The text and attribute values of an HTML page, entities decoded, scripts' and styles'
    text included, embedded images left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.parts += [v for _, v in attrs if v and not v.startswith("data:")]

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.parts.append(data)


def html_text(html: str) -> str:
    """What a reader (or a script) of ``html`` can see: its text and attribute values."""
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return "\n".join(parser.parts)


def _strings(node) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _strings(value)
    elif isinstance(node, list):
        yield from _strings_joined(node)


def _strings_joined(items: list) -> Iterator[str]:
    # nbformat splits multi-line text into a list of lines: check it as one text
    if items and all(isinstance(i, str) for i in items):
        yield "".join(items)
    else:
        for item in items:
            yield from _strings(item)


def notebook_text(data: bytes) -> str:
    """Every string of a notebook's JSON (sources, outputs, metadata), HTML outputs as read."""
    texts = []
    for text in _strings(json.loads(data.decode("utf-8"))):
        if text.startswith(("iVBOR", "/9j/", "R0lGOD")):  # base64 PNG, JPEG, GIF
            continue
        texts.append(text)
        if "<" in text:
            texts.append(html_text(text))
    return "\n".join(texts)


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _number_text(text: str) -> str:
    """A number cell's text as a reader shows it: an integer without decimals (a phone or ID
    stored as a float: ``13812345678.0``, ``1.3812345678E10``), else the float's shortest form."""
    try:
        value = float(text)
    except ValueError:
        return text
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def _cell_text(cell, shared: list[str]) -> str:
    kind, value = cell.get("t", "n"), cell.findtext(f"{_SHEET_NS}v")
    formula = cell.findtext(f"{_SHEET_NS}f")
    if kind == "inlineStr":
        inline = cell.find(f"{_SHEET_NS}is")
        text = "" if inline is None else "".join(inline.itertext())
    elif value is None:
        text = ""
    elif kind == "s":
        text = shared[int(value)]
    elif kind == "n":
        text = _number_text(value)
    else:  # str (a formula's result), b, e
        text = value
    return text if formula is None else f"={formula}\t{text}"


def _other_text(elements) -> list[str]:
    """Every text and attribute value under ``elements`` (headers, comments, properties)."""
    return [
        t for root in elements for el in root.iter() for t in (el.text, *el.attrib.values()) if t
    ]


def workbook_text(data: bytes) -> str:
    """Every sheet's name and every cell's text (numbers as written), a row per line; then
    every other text of the file's XML (headers and footers, comments, names, properties).

    Read from the XML parts themselves (a string's rich-text runs joined): a tenth of the
    time of reading the workbook with openpyxl, and what no reader shows is read too.
    """
    import io
    import zipfile
    from xml.etree import ElementTree

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        xml = {
            name: ElementTree.fromstring(archive.read(name))
            for name in archive.namelist()
            if name.endswith((".xml", ".rels"))
        }
    strings = xml.pop("xl/sharedStrings.xml", None)
    shared = (
        [] if strings is None else ["".join(si.itertext()) for si in strings.iter(f"{_SHEET_NS}si")]
    )
    rels = xml.get("xl/_rels/workbook.xml.rels")
    targets = (
        {}
        if rels is None
        else {r.get("Id"): r.get("Target") for r in rels.iter(f"{_PKG_REL_NS}Relationship")}
    )
    lines = []
    book = xml.get("xl/workbook.xml")
    for sheet in [] if book is None else book.iter(f"{_SHEET_NS}sheet"):
        lines.append(sheet.get("name", ""))
        target = targets.get(sheet.get(f"{_REL_NS}id"), "")
        root = xml.pop(target[1:] if target.startswith("/") else f"xl/{target}", None)
        if root is None:
            continue
        for child in root:
            if child.tag != f"{_SHEET_NS}sheetData":
                lines += _other_text([child])
                continue
            for row in child.iter(f"{_SHEET_NS}row"):
                lines.append("\t".join(_cell_text(c, shared) for c in row.iter(f"{_SHEET_NS}c")))
    lines += _other_text(xml.values())
    return "\n".join(lines)


_UNIFIED = (0x4E00, 0x9FFF)  # CJK Unified Ideographs


@cache
def _same_glyph() -> dict[int, str]:
    """Characters past U+2E80 that the packaged SC face draws with the glyph of a unified
    ideograph (the Kangxi radical ⼾ and 户, …) → that ideograph."""
    from fontTools.ttLib import TTCollection

    faces = TTCollection(font_path(), lazy=True).fonts
    cmap = next(f for f in faces if f["name"].getDebugName(1) == FONT_FAMILY).getBestCmap()
    unified = {}
    for code, glyph in sorted(cmap.items()):
        if _UNIFIED[0] <= code <= _UNIFIED[1]:
            unified.setdefault(glyph, chr(code))
    return {
        code: unified[glyph]
        for code, glyph in cmap.items()
        if code >= 0x2E80 and not _UNIFIED[0] <= code <= _UNIFIED[1] and glyph in unified
    }


def pdf_text(data: bytes) -> str:
    """A PDF's extracted text (pypdf), as the PII check must read it.

    The CJK font draws some ideographs and their radicals with one glyph (户 and ⼾), and the
    PDF's text may give the radical back; those are read as the ideograph, then the text is
    NFKC-normalised (full-width digits as ASCII), so neither hides a value from the check.
    """
    import io

    from pypdf import PdfReader

    text = "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)
    return unicodedata.normalize("NFKC", text.translate(_same_glyph()))


def plain_text(data: bytes) -> str:
    """A text file's content (UTF-8)."""
    return data.decode("utf-8", errors="replace")


EXTRACTORS: dict[str, Callable[[bytes], str]] = {
    ".html": lambda data: html_text(data.decode("utf-8")),
    ".ipynb": notebook_text,
    ".xlsx": workbook_text,
    ".pdf": pdf_text,
    ".csv": plain_text,
    ".json": plain_text,
    ".txt": plain_text,
}


def file_text(name: str | Path, data: bytes) -> str:
    """The text of a file of kind ``name`` (its suffix) holding ``data``, as the leak check
    reads it; a kind without an extractor in :data:`EXTRACTORS` is a :class:`PrivacyError`."""
    suffix = Path(name).suffix.lower()
    if suffix not in EXTRACTORS:
        raise PrivacyError(f"{Path(name).name}: no PII check for {suffix or 'this'} files")
    return EXTRACTORS[suffix](data)


def check_text(name: str | Path, text: str, index: PiiIndex) -> None:
    """Raise :class:`PrivacyError` naming the masked values when ``text`` shows any PII."""
    found = index.find(text)
    if found:
        shown = ", ".join(f"{f.column} {f.masked}" for f in found[:5])
        raise PrivacyError(
            f"{Path(name).name} would show {len(found)} customer value(s) unmasked: {shown}"
        )


def check_file(path: str | Path, index: PiiIndex, data: bytes | None = None) -> None:
    """Check the file at ``path`` (or ``data``, to be written there) before it is kept."""
    data = Path(path).read_bytes() if data is None else data
    check_text(path, file_text(path, data), index)


def redact_notebook(nb, index: PiiIndex):
    """A copy of notebook ``nb`` (a dict or node) with every PII value in its strings masked,
    images dropped (they cannot be checked): what a failed job keeps for diagnosis."""

    def clean(node):
        if isinstance(node, str):
            return index.redact(node)
        if isinstance(node, dict):
            return {
                k: ("[image removed]" if k.startswith("image/") else clean(v))
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [clean(v) for v in node]
        return node

    return clean(json.loads(json.dumps(nb)))

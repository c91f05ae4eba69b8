"""What a run leaves under reports/: no PII in any file, one folder per unit, the same bytes.

One book, hand-made to be awkward: branch codes that would share a folder (``4203/04`` and
``4203_04``, ``.`` and ``..``, a 300-character code); a 网点名称 carrying a contact person who
is also a customer (her full name and mobile); customers named 万元, 万能, 方案, 原文 and 时间,
words the reports print. The fixture notebook 01_portfolio is run for every unit twice, into
two folders, on one warm worker.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from maturity_analysis.analysis.book import ALL, sub_branch_unit
from maturity_analysis.output.privacy import EXTRACTORS, PiiIndex, file_text
from maturity_analysis.reports.executors import LocalExecutor
from maturity_analysis.reports.jobs import unit_folder
from maturity_analysis.reports.run import run_reports
from maturity_analysis.sample.book import scaled_policies

FIXTURES = Path(__file__).parents[1] / "fixtures"
DATASET = "awkward"
CODES = ("4203/04", "4203_04", ".", "..", "9" * 300)
CONTACT_BRANCH = "4203_04"
WORD_NAMES = ("万元", "万能", "方案", "原文", "时间")
PII = ("保单号", "投保人身份证号", "投保人手机")


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("outputs")
    frame = scaled_policies(60, seed=7, branches=len(CODES))
    frame = frame.astype({c: object for c in frame.select_dtypes("category").columns})
    codes = sorted(frame["网点代码"].unique())
    frame["网点代码"] = frame["网点代码"].map(dict(zip(codes, CODES, strict=True)))
    her = frame[frame["网点代码"] == "."].iloc[0]
    contact = f"城关网点（联系人：{her['投保人姓名']} {her['投保人手机']}）"
    frame.loc[frame["网点代码"] == CONTACT_BRANCH, "网点名称"] = contact
    words = frame.index[frame["网点代码"] == ".."][: len(WORD_NAMES)]
    frame.loc[words, "投保人姓名"] = list(WORD_NAMES)
    raw = root / "data" / "raw" / DATASET
    raw.mkdir(parents=True)
    frame.to_excel(raw / "policies.xlsx", index=False)
    return {"root": root, "frame": frame, "her": her}


@pytest.fixture(scope="module")
def runs(book):
    """The same run twice, into two folders, on one worker."""
    executor = LocalExecutor(1)
    try:
        return [
            run_reports(
                DATASET,
                "2013",
                out_dir=book["root"] / f"out{n}",
                raw_dir=book["root"] / "data" / "raw",
                processed_dir=book["root"] / "data" / "processed",
                notebooks=[FIXTURES / "01_portfolio.ipynb"],
                executor=executor,
                progress=False,
            )
            for n in (1, 2)
        ]
    finally:
        executor.close()


def _files(folder: Path) -> dict[str, Path]:
    return {p.relative_to(folder).as_posix(): p for p in sorted(folder.rglob("*")) if p.is_file()}


def _text(path: Path) -> str:
    data = path.read_bytes()
    if path.suffix in EXTRACTORS:
        return file_text(path, data)
    return data.decode("utf-8", errors="replace")


# ------------------------------------------------------------------------------ PII


def test_contact_persons_branch_is_refused_naming_the_values_masked(runs, book):
    failed = {r.job.name: r.error for r in runs[0].failed}
    name, phone = book["her"]["投保人姓名"], book["her"]["投保人手机"]
    for job in (f"{CONTACT_BRANCH}/01_portfolio.html", f"{CONTACT_BRANCH}/workbook.xlsx"):
        assert failed[job].error == "PrivacyError"
        message = failed[job].describe()
        assert name not in message and phone not in message
        assert f"{phone[:3]}****{phone[-4:]}" in message
    assert {e.error for e in failed.values()} == {"PrivacyError"}
    assert "unmasked" not in runs[0].summary().replace("unmasked:", "")  # no way to publish


def test_no_file_under_reports_shows_a_customer(runs, book):
    frame = book["frame"]
    values = {str(v) for column in PII for v in frame[column]} | {book["her"]["投保人姓名"]}
    index = PiiIndex(
        frame.rename(
            columns={
                "保单号": "policy_no",
                "投保人姓名": "holder_name",
                "投保人身份证号": "holder_id",
                "投保人手机": "holder_mobile",
            }
        )
    )
    files = _files(runs[0].out_dir)
    kinds = {Path(f).suffix for f in files}
    assert {".html", ".ipynb", ".xlsx", ".json"} <= kinds
    assert any(f.endswith(".failed.ipynb") for f in files)  # kept, masked
    for name, path in files.items():
        text = _text(path)
        assert [v for v in values if v in text] == [], name
        assert index.find(text) == [], name


def test_index_masks_the_contact_and_says_so(runs, book):
    index = runs[0].index.read_text(encoding="utf-8")
    name = book["her"]["投保人姓名"]
    assert name not in index and f"{name[0]}*" in index
    assert any("masked" in note for note in runs[0].notes)


def test_customers_named_like_the_reports_words_do_not_stop_them(runs):
    built = {r.job.name for r in runs[0].built}
    assert {"../01_portfolio.html", "../workbook.xlsx", "ALL/01_portfolio.html"} <= built
    html = (runs[0].out_dir / unit_folder("..") / "01_portfolio.html").read_text("utf-8")
    assert "万能" in html  # the report's own word, printed


# ---------------------------------------------------------------------------- folders


def test_every_unit_has_its_own_readable_folder(runs, book):
    out = runs[0].out_dir
    subs = [sub_branch_unit(s) for s in book["frame"]["支局"].unique()]  # every 支局 has one too
    folders = {unit_folder(code) for code in (ALL, *subs, *CODES)}
    assert len(folders) == 1 + len(subs) + len(CODES)
    assert {p.name for p in out.iterdir() if p.is_dir()} == folders
    assert all(len(f.encode()) <= 64 and f not in (".", "..") for f in folders)
    assert unit_folder("4203_04") == "4203_04" and unit_folder("4203/04").startswith("4203_04~")
    frame = book["frame"]
    for code in CODES:  # each folder holds its own branch's report
        if code == CONTACT_BRANCH:
            continue
        html = (out / unit_folder(code) / "01_portfolio.html").read_text("utf-8")
        assert f"合计 {(frame['网点代码'] == code).sum()} 件" in html


# --------------------------------------------------------------------- same bytes


GENERATED = (
    re.compile(r"<dt>生成时间</dt><dd>[^<]*</dd>"),  # a report's one generation-time field
    re.compile(r"生成时间 [0-9T:+-]+"),  # the index's
)


def _comparable(name: str, data: bytes) -> bytes:
    if name.endswith(".html"):
        text = data.decode("utf-8")
        for pattern in GENERATED:
            text, n = pattern.subn("生成时间", text)
            assert n <= 1, name
        return text.encode("utf-8")
    return data


def _differing(first: dict, second: dict) -> tuple[list[str], list[str]]:
    """Two output folders' files (:func:`_files`) but the build records (stamps): the names
    kept, which must be the same in both, and those whose comparable bytes differ."""
    kept = [n for n in first if not n.endswith((".key", "run.json"))]
    assert sorted(kept) == sorted(n for n in second if not n.endswith((".key", "run.json")))
    return kept, [
        n
        for n in kept
        if _comparable(n, first[n].read_bytes()) != _comparable(n, second[n].read_bytes())
    ]


def test_reruns_are_byte_identical(runs):
    kept, differ = _differing(*(_files(r.out_dir) for r in runs))
    assert any(n.endswith(".xlsx") for n in kept) and any(n.endswith(".ipynb") for n in kept)
    assert differ == []

"""PDF reports: printed by the headless browser on the machine, A4, Table 1's numbers in the
text, no customer PII, every font embedded; a clear line when there is no browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from pypdf import PdfReader

from maturity_analysis import cli, load_plan
from maturity_analysis.analysis.book import enrich, for_branch
from maturity_analysis.analysis.tables import table1
from maturity_analysis.ingest.dataset import read_dataset
from maturity_analysis.ingest.schema import COLUMNS_BY_NAME, PII_COLUMNS
from maturity_analysis.output.display import format_table
from maturity_analysis.output.privacy import PiiIndex, pdf_text
from maturity_analysis.reports import pdf
from maturity_analysis.reports.jobs import find_notebooks
from maturity_analysis.reports.run import run_reports
from maturity_analysis.sample.book import scaled_policies

BROWSER = pdf.find_browser()
needs_browser = pytest.mark.skipif(BROWSER is None, reason=pdf.NO_BROWSER)
DATASET = "fx"
BRANCH = "B01"
A4_POINTS = (595, 842)  # 210 × 297 mm


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    root = tmp_path_factory.mktemp("pdf")
    frame = scaled_policies(60, seed=7, branches=3)
    codes = sorted(frame["网点代码"].unique())
    frame["网点代码"] = frame["网点代码"].map(dict(zip(codes, ("B01", "B02", "B03"), strict=True)))
    raw = root / "raw" / DATASET
    raw.mkdir(parents=True)
    frame.to_excel(raw / "policies.xlsx", index=False)
    return {"root": root, "frame": frame, "raw": root / "raw", "processed": root / "processed"}


@pytest.fixture(scope="module")
def printed(book):
    """Notebook 01 (Tables 1-4) for one branch, with ``pdf=True``."""
    notebook = next(nb for nb in find_notebooks() if nb.stem.startswith("01_"))
    result = run_reports(
        DATASET,
        "2013",
        [BRANCH],
        out_dir=book["root"] / "out",
        raw_dir=book["raw"],
        processed_dir=book["processed"],
        notebooks=[notebook],
        jobs=1,
        progress=False,
        pdf=True,
    )
    html = result.out_dir / BRANCH / f"{notebook.stem}.html"
    return {"result": result, "html": html, "pdf": html.with_suffix(".pdf")}


@needs_browser
def test_pdf_is_written_beside_the_html_on_a4(printed):
    assert printed["result"].ok and printed["result"].notes == []
    assert printed["pdf"].is_file()
    assert printed["pdf"].read_bytes().startswith(b"%PDF")
    pages = PdfReader(printed["pdf"]).pages
    assert pages and all(tuple(round(float(v)) for v in p.mediabox[2:]) == A4_POINTS for p in pages)
    assert not list(printed["pdf"].parent.glob(".*.print.html"))  # the print copy is gone


@needs_browser
def test_pdf_text_holds_table_1_numbers(printed, book):
    policies = read_dataset(DATASET, raw_dir=book["raw"], processed_dir=book["processed"])
    table = format_table(table1(enrich(for_branch(policies, BRANCH)), load_plan())).to_html()
    numbers = [
        c
        for c in (unescape(x).strip() for x in re.findall(r"<td[^>]*>(.*?)</td>", table))
        if re.fullmatch(r"[\d,.%]+", c)
    ]
    words = pdf_text(printed["pdf"].read_bytes()).split()
    assert len(numbers) > 10
    assert [n for n in numbers if n not in words] == []
    assert "满期保单结构" in pdf_text(printed["pdf"].read_bytes())  # the report's Chinese title


@needs_browser
def test_pdf_text_holds_no_customer_pii(printed, book):
    text = pdf_text(printed["pdf"].read_bytes())
    headers = [COLUMNS_BY_NAME[c].header for c in PII_COLUMNS]
    values = {str(v) for h in headers if h in book["frame"] for v in book["frame"][h]}
    assert sorted(v for v in values if v in text) == []
    policies = read_dataset(
        DATASET, raw_dir=book["raw"], processed_dir=book["processed"], columns=PII_COLUMNS
    )
    assert PiiIndex(policies).find(text) == []


@needs_browser
def test_every_font_in_the_pdf_is_embedded(printed):
    for page in PdfReader(printed["pdf"]).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if font["/Subtype"] == "/Type3":  # glyphs drawn in the PDF itself
                assert font["/CharProcs"]
                continue
            descriptor = (font.get("/DescendantFonts") or [font])[0].get_object()
            descriptor = descriptor["/FontDescriptor"].get_object()
            assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor)


@pytest.mark.skipif(shutil.which("fc-match") is None, reason="fontconfig's fc-match not here")
def test_the_browser_is_shown_the_packaged_cjk_font(tmp_path):
    env = pdf._font_config(tmp_path)
    found = subprocess.run(
        ["fc-match", "-f", "%{file}", "Noto Sans CJK SC:lang=zh-cn"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert Path(found).name == "NotoSansCJK-Regular.ttc" and "noto_cjk_sans_otc" in found


def test_print_css_keeps_tables_and_charts_whole():
    page = pdf._with_print_css("<html><head><title>t</title></head><body></body></html>")
    css = page[page.index('<style media="print">') : page.index("</head>")]
    assert "size: A4" in css
    rule = re.search(r"([^{}]+)\{[^}]*break-inside: avoid", css).group(1)
    assert {"table", "img", "svg", "tr"} <= {s.strip() for s in rule.split(",")}


@needs_browser
def test_a_pdf_with_customer_pii_is_removed_and_reported(tmp_path, book):
    name = str(book["frame"]["投保人姓名"].iloc[0])
    html = tmp_path / "leak.html"
    html.write_text(f'<html><head><meta charset="utf-8"></head><body><p>客户 {name}</p>', "utf-8")
    policies = read_dataset(
        DATASET, raw_dir=book["raw"], processed_dir=book["processed"], columns=PII_COLUMNS
    )
    notes = pdf.write_pdfs([html], PiiIndex(policies), browser=BROWSER)
    assert len(notes) == 1 and "customer value" in notes[0] and name not in notes[0]
    assert not html.with_suffix(".pdf").exists()


def test_no_browser_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("MATURITY_ANALYSIS_BROWSER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert pdf.find_browser() is None
    assert pdf.write_pdfs([tmp_path / "x.html"], PiiIndex(pd.DataFrame())) == [pdf.NO_BROWSER]
    assert "\n" not in pdf.NO_BROWSER


def test_reports_command_takes_pdf():
    args = cli.build_parser().parse_args(["reports", "--branch", BRANCH, "--pdf"])
    assert args.pdf is True
    assert cli.build_parser().parse_args(["reports"]).pdf is False

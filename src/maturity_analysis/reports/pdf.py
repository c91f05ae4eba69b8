"""A4 PDFs of the HTML reports, printed by a headless Chromium, Chrome or Edge.

:func:`write_pdfs` prints each report beside its HTML (``report.html`` → ``report.pdf``) with
print CSS that keeps every table, chart and code cell's output whole on one page, the
packaged Noto Sans CJK SC font made visible to the browser (so the PDF embeds it on a
machine with no Chinese system font), and the PDF's extracted text checked for customer PII
exactly as the HTML is (:class:`maturity_analysis.output.privacy.PiiIndex`). A PDF whose text
holds PII is deleted and reported; a PDF newer than its HTML is kept.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

from ..exceptions import PrivacyError, ReportError
from ..files import atomic_path
from ..output.fonts import font_path
from ..output.privacy import PiiIndex, check_file

BROWSERS = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "microsoft-edge",
    "msedge",
)
# Where Chrome and Edge install when they are not on PATH (Windows, macOS).
KNOWN_PATHS = (
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
    r"C:\Program Files\Microsoft\Edge\Application\msedge.exe",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
)
NO_BROWSER = (
    "PDF: no Chromium, Chrome or Edge found (install one, e.g. `apt-get install chromium`, "
    "or set MATURITY_ANALYSIS_BROWSER to its path); HTML reports only"
)
PRINT_CSS = """<style media="print">
@page { size: A4; margin: 12mm 10mm; }
body { font-family: "Noto Sans CJK SC", sans-serif; }
table, figure, img, svg, pre, tr, .jp-OutputArea-child, .jp-RenderedImage
  { break-inside: avoid; page-break-inside: avoid; }
h1, h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
thead { display: table-header-group; }
img, svg { max-width: 100% !important; height: auto !important; }
.jp-OutputArea-output, .ma-scroll { overflow: visible !important; }
</style>
"""
TIMEOUT = 120


def find_browser() -> str | None:
    """The browser to print with: ``$MATURITY_ANALYSIS_BROWSER``, else the first of
    :data:`BROWSERS` on PATH, else a usual install location; None when there is none."""
    chosen = os.environ.get("MATURITY_ANALYSIS_BROWSER")
    if chosen:
        return chosen
    found = next((p for p in map(shutil.which, BROWSERS) if p), None)
    return found or next((p for p in KNOWN_PATHS if Path(p).exists()), None)


def _font_config(folder: Path) -> dict[str, str]:
    """Environment that adds the packaged CJK font to the system's fontconfig fonts."""
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
        f"<dir>{escape(str(Path(font_path()).parent))}</dir>\n"
        f"<cachedir>{escape(str(folder / 'cache'))}</cachedir>\n"
        '<include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n</fontconfig>\n',
        encoding="utf-8",
    )
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


def _with_print_css(html: str) -> str:
    head = html.find("</head>")
    return html[:head] + PRINT_CSS + html[head:] if head >= 0 else PRINT_CSS + html


def print_pdf(html: Path, pdf: Path, browser: str) -> Path:
    """Print ``html`` to the A4 PDF ``pdf`` (atomically) in the headless ``browser``."""
    with tempfile.TemporaryDirectory(prefix="ma-pdf-") as tmp:
        work = Path(tmp)
        page = html.with_name(f".{html.stem}.print.html")  # beside it: relative links resolve
        page.write_text(_with_print_css(html.read_text(encoding="utf-8")), encoding="utf-8")
        try:
            with atomic_path(pdf) as out:
                command = [
                    browser,
                    "--headless",
                    "--disable-gpu",
                    "--no-first-run",
                    "--no-pdf-header-footer",
                    f"--user-data-dir={work / 'profile'}",
                    f"--print-to-pdf={out}",
                    page.resolve().as_uri(),
                ]
                if sys.platform != "win32" and os.geteuid() == 0:
                    command.insert(1, "--no-sandbox")  # Chromium refuses root otherwise
                done = subprocess.run(
                    command,
                    env=_font_config(work),
                    capture_output=True,
                    text=True,
                    timeout=TIMEOUT,
                    check=False,
                )
                if done.returncode or not Path(out).is_file() or not Path(out).stat().st_size:
                    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
                    raise ReportError(f"{html}: {Path(browser).name} printed no PDF ({last})")
        finally:
            page.unlink(missing_ok=True)
    return pdf


def check_pdf(pdf: Path, pii: PiiIndex) -> None:
    """Raise :class:`PrivacyError` (and delete ``pdf``) when its text holds customer PII."""
    try:
        check_file(pdf, pii)  # the PDF's text, as privacy.pdf_text reads it
    except PrivacyError as exc:
        pdf.unlink()
        raise PrivacyError(f"{exc}; PDF removed") from exc


def write_pdfs(htmls: Iterable[Path], pii: PiiIndex, browser: str | None = None) -> list[str]:
    """Print each HTML report to a PDF beside it (skipping PDFs newer than their HTML).

    Returns notes for the run's summary: the one-line :data:`NO_BROWSER` when there is no
    browser, and one line per report that could not be printed or failed the PII check.
    """
    browser = browser or find_browser()
    if browser is None:
        return [NO_BROWSER]
    notes = []
    for html in htmls:
        pdf = html.with_suffix(".pdf")
        if pdf.exists() and pdf.stat().st_mtime >= html.stat().st_mtime:
            continue
        try:
            check_pdf(print_pdf(html, pdf, browser), pii)
        except (ReportError, PrivacyError, subprocess.TimeoutExpired, OSError) as exc:
            notes.append(f"PDF not written: {exc}")
    return notes

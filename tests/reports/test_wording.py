"""What a branch head reads: the rendered reports 01-03 on a small book with a tracking year.

One module-scoped run (one warm kernel) builds 01-03 for ALL and one branch; every test reads
the rendered HTML's visible text: scripts, styles, the provenance footer (file names and
hashes on purpose) and image alt text (the charts' own descriptions, output/plots.py) left out.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from maturity_analysis import config
from maturity_analysis.analysis.book import ALL
from maturity_analysis.reports.executors import LocalExecutor
from maturity_analysis.reports.run import run_reports
from maturity_analysis.sample.book import scaled_policies
from maturity_analysis.sample.tracking import write_tracking

DATASET = "wording"
STEMS = ("01_portfolio_structure", "02_segments_and_products", "03_targets")
FILE_NAME = re.compile(r"[\w-]+\.(?:toml|md|csv|xlsx|parquet|py|ipynb|json)\b", re.IGNORECASE)
KEY_NAME = re.compile(r"\[[a-z_.]+\]|\b[a-z]+(?:_[a-z]+)+\b|playbook|PLAN_FIGURES", re.IGNORECASE)
ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ ,;:'()-]+[A-Za-z]{2,}){3,}")  # four English words
# a count with decimals: "0.45 件" in a sentence, or "7.80" beside a 件 unit cell (not a
# figure followed by the next table's 件数 / 件均 header)
FRACTIONAL = re.compile(r"\d+\.\d+\s*件(?![数均])")


class _Text(HTMLParser):
    """The visible text of a page: no <script>, <style>, <head> or the provenance footer."""

    SKIP = {"script", "style", "head", "footer"}

    def __init__(self) -> None:
        super().__init__()
        self.depth, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "\n".join(p.strip() for p in parser.parts if p.strip())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("wording")
    raw = root / "raw"
    frame = scaled_policies(120, seed=5, branches=2)
    (raw / DATASET).mkdir(parents=True)
    frame.to_excel(raw / DATASET / "policies.xlsx", index=False)
    write_tracking(raw / DATASET, frame)
    branch = sorted(frame["网点代码"].astype(str).unique())[0]
    name = frame.loc[frame["网点代码"].astype(str) == branch, "网点名称"].iloc[0]
    executor = LocalExecutor(1)
    try:
        result = run_reports(
            DATASET,
            "2013",
            [ALL, branch],
            out_dir=root / "out",
            raw_dir=raw,
            processed_dir=root / "processed",
            notebooks=[config.NOTEBOOKS_DIR / f"{s}.ipynb" for s in STEMS],
            executor=executor,
            progress=False,
        )
    finally:
        executor.close()
    assert result.ok, result.summary()
    pages = {
        (b, s): (result.out_dir / b / f"{s}.html").read_text(encoding="utf-8")
        for b in (ALL, branch)
        for s in STEMS
    }
    return {"pages": pages, "branch": branch, "name": name}


PAGES = [(b, s) for b in ("ALL", "branch") for s in STEMS]
# The reconciliation table of 03 (analysis/reconcile.py, the targets work's scope) still shows
# "PLAN_FIGURES.md" in one explanation and target counts such as "7.80 件"; strict, so these
# marks fail (and must go) once that table is fixed.
RECONCILE = pytest.mark.xfail(
    strict=True, reason="03's reconciliation rows (reconcile.py) name PLAN_FIGURES.md, show 7.80 件"
)
PAGES_03 = [pytest.param(b, s, marks=RECONCILE) if s == "03_targets" else (b, s) for b, s in PAGES]


def _page(run, who, stem):
    return run["pages"][(ALL if who == "ALL" else run["branch"], stem)]


@pytest.mark.parametrize(("who", "stem"), PAGES_03)
def test_report_body_names_no_file_or_key(run, who, stem):
    text = visible(_page(run, who, stem))
    assert FILE_NAME.findall(text) == []
    assert KEY_NAME.findall(text) == []


@pytest.mark.parametrize(("who", "stem"), PAGES)
def test_report_body_has_no_english_sentence(run, who, stem):
    assert ENGLISH.findall(visible(_page(run, who, stem))) == []


@pytest.mark.parametrize(("who", "stem"), PAGES_03)
def test_report_body_has_no_fractional_count(run, who, stem):
    assert FRACTIONAL.findall(visible(_page(run, who, stem))) == []


def test_costs_section_names_no_file_or_key_and_no_fraction(run):
    # the parts of 03 that are this work's (sections 4 and 5) are checked without the mark
    for who in ("ALL", "branch"):
        text = visible(_page(run, who, "03_targets"))
        costs = text[text.index("4 产品研发") : text.index("6 推动安排")]
        assert FILE_NAME.findall(costs) == []
        assert KEY_NAME.findall(costs) == []
        assert FRACTIONAL.findall(costs) == []


def test_branch_report_says_where_it_stands_and_what_next(run):
    text = visible(_page(run, "branch", "02_segments_and_products"))
    assert "占全辖的" in text and "个网点中按件数排第" in text
    assert "下一步" in text and "先回访" in text


def test_universal_policies_are_not_counted_as_matured_below_the_deposit(run):
    text = visible(_page(run, "ALL", "02_segments_and_products"))
    assert "分红险共有" in text and "万能险为终身产品，不满期，不计入上述件数" in text


@pytest.mark.parametrize("stem", STEMS)
def test_branch_report_is_titled_by_the_branch_name(run, stem):
    html = _page(run, "branch", stem)
    title = re.search(r"<title>([^<]*)</title>", html).group(1)
    assert run["name"] in title

"""What a branch head reads: the rendered reports 01-04 and the index on a small book with a
tracking year.

One module-scoped fixture (one warm kernel) builds 01-03 for the year and 04 for a quarter, for
ALL and one branch; every test reads the rendered HTML's visible text: scripts, styles, the
provenance footer (file names and hashes on purpose) and image alt text left out. The alt text
is checked on its own: each chart's Chinese title (output/plots.py ``describe``).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from maturity_analysis import config
from maturity_analysis.analysis.book import ALL
from maturity_analysis.analysis.evaluation import VERDICTS
from maturity_analysis.reports.executors import LocalExecutor
from maturity_analysis.reports.run import run_reports
from maturity_analysis.sample.book import scaled_policies
from maturity_analysis.sample.tracking import write_tracking

DATASET = "wording"
STEMS = ("01_portfolio_structure", "02_segments_and_products", "03_targets")
QUARTER, EVALUATION = "2013Q2", "04_quarterly_evaluation"
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
    results = {}
    try:
        for period, stems in (("2013", STEMS), (QUARTER, (EVALUATION,))):
            results[period] = run_reports(
                DATASET,
                period,
                [ALL, branch],
                out_dir=root / f"out-{period}",
                raw_dir=raw,
                processed_dir=root / "processed",
                notebooks=[config.NOTEBOOKS_DIR / f"{s}.ipynb" for s in stems],
                executor=executor,
                progress=False,
            )
    finally:
        executor.close()
    for result in results.values():
        assert result.ok, result.summary()
    out = {period: result.out_dir for period, result in results.items()}
    pages = {
        (b, s): (out["2013"] / b / f"{s}.html").read_text(encoding="utf-8")
        for b in (ALL, branch)
        for s in STEMS
    }
    pages |= {
        (b, EVALUATION): (out[QUARTER] / b / f"{EVALUATION}.html").read_text(encoding="utf-8")
        for b in (ALL, branch)
    }
    pages |= {
        ("index", period): result.index.read_text(encoding="utf-8")
        for period, result in results.items()
    }
    return {"pages": pages, "branch": branch, "name": name}


PAGES = [(b, s) for b in ("ALL", "branch") for s in (*STEMS, EVALUATION)]
INDEXES = [("index", "2013"), ("index", QUARTER)]


def _page(run, who, stem):
    unit = {"ALL": ALL, "branch": run["branch"]}.get(who, who)
    return run["pages"][(unit, stem)]


@pytest.mark.parametrize(("who", "stem"), PAGES + INDEXES)
def test_report_body_names_no_file_or_key(run, who, stem):
    text = visible(_page(run, who, stem))
    assert FILE_NAME.findall(text) == []
    assert KEY_NAME.findall(text) == []


@pytest.mark.parametrize(("who", "stem"), PAGES + INDEXES)
def test_report_body_has_no_english_sentence(run, who, stem):
    assert ENGLISH.findall(visible(_page(run, who, stem))) == []


@pytest.mark.parametrize(("who", "stem"), PAGES + INDEXES)
def test_report_body_has_no_fractional_count(run, who, stem):
    assert FRACTIONAL.findall(visible(_page(run, who, stem))) == []


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


@pytest.mark.parametrize(("who", "stem"), PAGES)
def test_report_body_has_no_invented_term(run, who, stem):
    text = visible(_page(run, who, stem))
    assert [t for t in ("满期审视日", "到期复核", "复核日") if t in text] == []


@pytest.mark.parametrize(("who", "stem"), PAGES)
def test_every_chart_is_described_by_its_chinese_title(run, who, stem):
    html = _page(run, who, stem)
    images = re.findall(r"<img\b[^>]*>", html)
    alts = [re.search(r'alt="([^"]*)"', img) for img in images]
    assert all(alts), images
    texts = [a.group(1) for a in alts]
    assert [t for t in texts if not t.startswith("图表：") or ENGLISH.search(t)] == []
    assert "No description" not in html
    if stem in ("03_targets", EVALUATION):
        assert texts  # these reports have charts, and each says what it shows


def test_reconciliation_reads_as_chinese(run):
    text = visible(_page(run, "ALL", "03_targets"))
    assert "方案表1 · 20-30 · 分红 合计" in text and "Table 1" not in text
    assert "按方案表3件数重建" in text
    # 件均1万元 against the book's average: a round figure, 近似 (not 舍入内一致) or 不一致
    row = text[text.index("方案表3 · 正文“件均1万元”") :].split("\n")[:6]
    assert row[4] in ("近似", "不一致", "舍入内一致") and "约数" in row[5]


@pytest.mark.parametrize("period", ["2013", QUARTER])
def test_index_league_explains_every_verdict_it_shows(run, period):
    text = visible(_page(run, "index", period))
    legend = text[text.index("各支局、各网点目标完成情况") :].split("\n")[1]
    for verdict in VERDICTS:
        assert f"{verdict} = " in legend, verdict
    assert "置信区间包含目标" in legend
    # every verdict of the branches' league is an explained one, beside its 达成率
    html = _page(run, "index", period)
    block = html[html.index("<caption>各网点目标完成情况") :]
    block = block[: block.index("</table>")]
    rows = [
        re.findall(r"<td[^>]*>([^<]*)</td>", r) for r in re.findall(r"<tr>(<td.*?)</tr>", block)
    ]
    assert rows and all(len(r) == 1 + 5 * 4 + 1 for r in rows)  # unit, 4 targets × 5, 达标项数
    verdicts = [r[1 + 5 * i + 3] for r in rows for i in range(4)]
    assert set(verdicts) <= set(VERDICTS)
    shares = [r[1 + 5 * i + 2] for r in rows for i in range(4)]
    assert all(re.fullmatch(r"\d[\d,]*\.\d%|—", v) for v in shares)
    assert all(re.fullmatch(r"\d+/\d+", r[-1]) for r in rows)


def test_evaluation_period_work_has_no_english_line(run):
    text = visible(_page(run, "branch", EVALUATION))
    assert "本阶段的推动安排" in text and "网点代码" in text

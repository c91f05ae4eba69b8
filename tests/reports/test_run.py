"""The report runner, end to end on tiny fixture notebooks and a three-branch fixture dataset.

The fixture notebooks (tests/fixtures/) are stored without outputs:

- 01_portfolio lists the branch's customers masked, draws a chart, and breaks on a branch
  with no 万能 policy (B03 here);
- 02_probe prints the kernel state it starts from, then changes all of it;
- 03_leak shows one phone number unmasked, for branch B02 only;
- 04_crash kills its kernel for branch B01.

Every run of the module goes to one local worker (fixture ``worker``), so all jobs share one
warm kernel. The first run (fixture ``first``) builds 01-03 for every branch and ALL; the
other tests read it, or copy its output folder and run again.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from html import unescape
from pathlib import Path

import nbformat
import openpyxl
import pytest

from maturity_analysis import __version__, cli, config, load_plan
from maturity_analysis.analysis.book import ALL, enrich, for_branch
from maturity_analysis.analysis.tables import (
    maturity_product_table,
    segment_table,
    table1,
    table2,
    table3,
    table4,
)
from maturity_analysis.exceptions import MaturityError
from maturity_analysis.files import atomic_path, remove_temp_files
from maturity_analysis.ingest.dataset import read_dataset
from maturity_analysis.output.display import format_table
from maturity_analysis.reports import run as run_module
from maturity_analysis.reports.executors import LocalExecutor
from maturity_analysis.reports.jobs import Dataset, applies_to, find_notebooks, plan_jobs
from maturity_analysis.reports.run import run_reports
from maturity_analysis.sample.book import scaled_policies

FIXTURES = Path(__file__).parents[1] / "fixtures"
DATASET = "fx"
BRANCHES = (ALL, "B01", "B02", "B03")
NOTEBOOKS = ("01_portfolio", "02_probe", "03_leak")
FAILING = {("B03", "01_portfolio"): "KeyError", ("B02", "03_leak"): "PrivacyError"}
REPORTS = [(b, n) for b in BRANCHES for n in NOTEBOOKS if (b, n) not in FAILING]
CALLED = {"01_portfolio": "value_counts", "02_probe": "getpid", "03_leak": "read_parquet"}
PII = ("保单号", "投保人姓名", "投保人身份证号", "投保人手机")


def _notebooks(*stems: str) -> list[Path]:
    return [FIXTURES / f"{stem}.ipynb" for stem in stems]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """Raw fixture dataset: 60 sample-shaped policies over B01-B03, B03 without 万能."""
    root = tmp_path_factory.mktemp("reports")
    frame = scaled_policies(60, seed=7, branches=3)
    codes = sorted(frame["网点代码"].unique())
    frame["网点代码"] = frame["网点代码"].map(dict(zip(codes, BRANCHES[1:], strict=True)))
    frame = frame[~((frame["网点代码"] == "B03") & (frame["险种类型"] == "万能"))]
    raw = root / "data" / "raw" / DATASET
    raw.mkdir(parents=True)
    frame.to_excel(raw / "policies.xlsx", index=False)
    return {
        "root": root,
        "frame": frame,
        "raw": root / "data" / "raw",
        "processed": root / "data" / "processed",
    }


@pytest.fixture(scope="module")
def worker():
    """One local worker process (one warm kernel) for every run of this module."""
    executor = LocalExecutor(1)
    yield executor
    executor.close()


@pytest.fixture(scope="module")
def first(book, worker):
    """Notebooks 01-03 for every branch and ALL: every job runs in the same warm kernel."""
    return run_reports(
        DATASET,
        "2013",
        out_dir=book["root"] / "out",
        raw_dir=book["raw"],
        processed_dir=book["processed"],
        notebooks=_notebooks(*NOTEBOOKS),
        executor=worker,
        progress=False,
    )


def _html(result, branch: str, stem: str) -> str:
    return (result.out_dir / branch / f"{stem}.html").read_text(encoding="utf-8")


def _outputs(folder: Path) -> dict[str, float]:
    return {
        p.relative_to(folder).as_posix(): p.stat().st_mtime_ns
        for p in folder.rglob("*")
        if p.is_file() and p.name not in ("index.html", "run.json")
    }


def _failing_cell(stem: str, text: str) -> int:
    """The 1-based number of the fixture notebook's cell whose source contains ``text``."""
    nb = nbformat.read(FIXTURES / f"{stem}.ipynb", as_version=4)
    return next(i for i, cell in enumerate(nb.cells, start=1) if text in cell.source)


# ------------------------------------------------------------------------ the first run


def test_only_the_broken_jobs_fail(first):
    failed = {
        tuple(r.job.name.removesuffix(".html").split("/")): r.error.error for r in first.failed
    }
    assert failed == FAILING
    assert not first.ok
    assert len(first.built) == len(first.jobs) - len(FAILING)


def test_failure_names_the_cell_and_error(first):
    [broken] = [r for r in first.failed if r.job.name == "B03/01_portfolio.html"]
    assert broken.error.cell == _failing_cell("01_portfolio", "counts['万能']")
    assert "万能" in broken.error.message
    summary = first.summary()
    assert f"B03/01_portfolio.html: cell {broken.error.cell} " in summary
    assert "KeyError" in summary and "B02/03_leak.html" in summary


@pytest.mark.parametrize(("branch", "stem"), sorted(FAILING))
def test_failed_job_leaves_nothing_finished_looking(first, branch, stem):
    folder = first.out_dir / branch
    assert not (folder / f"{stem}.html").exists()
    assert not (folder / f"{stem}.ipynb").exists()
    assert not (folder / f".{stem}.html.key").exists()
    assert (folder / f"{stem}.failed.ipynb").exists()  # kept for diagnosis


@pytest.mark.parametrize(("branch", "stem"), REPORTS)
def test_report_has_no_code_and_names_its_branch(first, branch, stem):
    html = _html(first, branch, stem)
    body = html[html.index("<body") :]
    assert "jp-InputArea-editor" not in body and "jp-InputPrompt" not in body
    assert 'class="highlight' not in body
    assert CALLED[stem] not in body  # a name only the notebook's code uses
    label = "全部网点" if branch == ALL else f"（{branch}）"
    assert re.search(f"<title>[^<]*{label}[^<]*</title>", html)
    assert "<script src=" not in html  # loads nothing from the network


@pytest.mark.parametrize(("branch", "stem"), REPORTS)
def test_report_footer_gives_provenance(first, book, branch, stem):
    html = _html(first, branch, stem)
    sha = hashlib.sha256((book["raw"] / DATASET / "policies.xlsx").read_bytes()).hexdigest()
    footer = unescape(html[html.index('<footer class="ma-footer">') :])
    assert f"policies.xlsx: {sha}" in footer
    assert f"maturity-analysis {__version__}" in footer
    assert f"branch='{branch}'" in footer and "period='2013'" in footer
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", footer)


@pytest.mark.parametrize(("branch", "stem"), REPORTS)
def test_report_shows_no_customer_pii(first, book, branch, stem):
    html = _html(first, branch, stem)
    values = {str(v) for column in PII for v in book["frame"][column]}
    assert sorted(v for v in values if v in html) == []


def test_listing_is_there_masked(first, book):
    html = _html(first, "B01", "01_portfolio")
    mine = book["frame"][book["frame"]["网点代码"] == "B01"]
    assert f"合计 {len(mine)} 件" in html
    phone = str(mine["投保人手机"].iloc[0])
    assert f"{phone[:3]}****{phone[-4:]}" in html


def test_warm_kernel_is_reused_and_leaks_no_state(first):
    probes = {}
    for branch in BRANCHES:
        nb = nbformat.read(first.out_dir / branch / "02_probe.ipynb", as_version=4)
        [output] = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        probes[branch] = json.loads(output.text)
    assert {p.pop("branch") for p in probes.values()} == set(BRANCHES)  # its own parameters
    assert len({p.pop("pid") for p in probes.values()}) == 1  # one kernel ran every job
    fresh = {
        "leaked": False,
        "figsize": [6.4, 4.8],
        "max_rows": 60,
        "cwd": str(FIXTURES.resolve()),
        "env": None,
    }
    randoms = {(p.pop("np_random"), p.pop("random")) for p in probes.values()}
    assert len(randoms) == 1  # the random generators start from the same state every time
    assert all(p == fresh for p in probes.values())


def test_a_local_worker_skips_the_slow_iri_grammar(first, worker):
    """nbformat's jsonschema would build rfc3987_syntax's grammar (seconds) for a format no
    notebook uses: a worker blocks it before anything imports nbformat, and still works."""

    def in_worker(code: str):
        [done] = worker.as_completed([worker.submit(eval, code)])
        return done.result()

    assert in_worker("__import__('sys').modules.get('rfc3987_syntax') is not None") is False
    assert in_worker("'nbformat' in __import__('sys').modules") is True


def test_index_links_every_output_and_lists_failures(first):
    index = first.index.read_text(encoding="utf-8")
    links = set(re.findall(r'href="([^"#][^"]*)"', index))  # not the tree's in-page links
    outputs = {
        p.relative_to(first.out_dir).as_posix()
        for p in first.out_dir.glob("*/*")
        if p.suffix in (".html", ".xlsx") or p.name.endswith(".failed.ipynb")
    }
    assert links == outputs
    assert len([p for p in outputs if p.endswith(".html")]) == len(REPORTS)
    failures = index[index.index("失败 (") :]
    assert "B03/01_portfolio.html" in failures and "PrivacyError" in failures


def test_index_row_gives_branch_figures(first, book):
    index = first.index.read_text(encoding="utf-8")
    mine = book["frame"][book["frame"]["网点代码"] == "B02"]
    row = re.search(r"<tr><td><span[^>]*></span>B02</td>(.*?)</tr>", index).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    counts = mine["险种类型"].value_counts()
    assert cells[1:4] == [str(len(mine)), str(counts["分红"]), str(counts["万能"])]


def test_index_and_summary_show_no_pii(first, book):
    texts = first.index.read_text(encoding="utf-8") + first.summary()
    values = {str(v) for column in PII for v in book["frame"][column]}
    assert sorted(v for v in values if v in texts) == []


def test_branch_workbook_holds_its_tables(first, book):
    workbook = openpyxl.load_workbook(first.out_dir / "B02" / "workbook.xlsx", read_only=True)
    assert "表1 年龄险种本金" in workbook.sheetnames
    about = {row[0]: row[1] for row in workbook["说明"].iter_rows(values_only=True)}
    mine = book["frame"][book["frame"]["网点代码"] == "B02"]
    assert about["保单件数"] == f"{len(mine):,}"


# ------------------------------------------------------------------------ later runs


@pytest.fixture
def copy_of_first(first, tmp_path):
    """The first run's output folder, copied with its times (later runs must not touch it)."""
    out = tmp_path / "out"
    shutil.copytree(first.out_dir, out)
    return out


def test_second_run_rebuilds_nothing(book, copy_of_first, tmp_path, monkeypatch, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for path in _notebooks("01_portfolio", "02_probe"):
        shutil.copy2(path, notebooks)
    leftover = copy_of_first / "B01" / ".01_portfolio.tmp-0123456789ab.html"
    leftover.write_text("half written")  # as an interrupted run leaves it
    before = _outputs(copy_of_first)
    monkeypatch.setenv(config.ROOT_ENV, str(book["root"]))
    monkeypatch.setattr(config, "NOTEBOOKS_DIR", notebooks)
    args = ["reports", "--dataset", DATASET, "--branch", ALL, "B01", "--out", str(copy_of_first)]
    assert cli.main(args) == 0
    assert "0 built, 6 up to date, 0 failed" in capsys.readouterr().out
    del before[leftover.relative_to(copy_of_first).as_posix()]
    assert _outputs(copy_of_first) == before


def test_index_without_leagues_says_why(book, copy_of_first, monkeypatch):
    def broken(*args):
        raise ValueError("tracking unreadable")

    monkeypatch.setattr(run_module, "kpi_leagues", broken)
    (copy_of_first / "index.html").unlink()
    result = run_reports(
        DATASET,
        "2013",
        out_dir=copy_of_first,
        raw_dir=book["raw"],
        processed_dir=book["processed"],
        notebooks=_notebooks(*NOTEBOOKS),
        progress=False,
    )
    assert "index: KPIs not shown (ValueError: tracking unreadable)" in result.notes
    assert "B01/01_portfolio.html" in result.index.read_text(encoding="utf-8")


def test_changed_notebook_rebuilds_only_its_reports(book, copy_of_first, tmp_path, worker):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for path in _notebooks("01_portfolio", "02_probe"):
        shutil.copy2(path, notebooks)
    changed = nbformat.read(notebooks / "02_probe.ipynb", as_version=4)
    changed.cells.append(nbformat.v4.new_markdown_cell("新增说明"))
    nbformat.write(changed, notebooks / "02_probe.ipynb")
    result = run_reports(
        DATASET,
        "2013",
        [ALL, "B01"],
        out_dir=copy_of_first,
        raw_dir=book["raw"],
        processed_dir=book["processed"],
        notebooks=sorted(notebooks.glob("*.ipynb")),
        executor=worker,
        progress=False,
    )
    assert sorted(r.job.name for r in result.built) == ["ALL/02_probe.html", "B01/02_probe.html"]
    assert len(result.up_to_date) == 4 and result.ok
    assert "新增说明" in (copy_of_first / "B01" / "02_probe.html").read_text(encoding="utf-8")


def _dataset(inputs) -> Dataset:
    return Dataset(name=DATASET, policies=Path("policies.parquet"), inputs=inputs)


def test_keys_follow_dataset_and_notebook(tmp_path):
    branches = {ALL: "全部网点", "B01": "一"}
    notebooks = _notebooks("01_portfolio", "02_probe")
    keys = {
        name: {
            j.name: j.key
            for j in plan_jobs(_dataset(inputs), "2013", branches, notebooks, tmp_path)
        }
        for name, inputs in [("a", (("p.xlsx", "a" * 64),)), ("b", (("p.xlsx", "b" * 64),))]
    }
    again = plan_jobs(_dataset((("p.xlsx", "a" * 64),)), "2013", branches, notebooks, tmp_path)
    assert {j.name: j.key for j in again} == keys["a"]
    assert all(keys["a"][name] != keys["b"][name] for name in keys["a"])
    quarter = plan_jobs(_dataset((("p.xlsx", "a" * 64),)), "2013Q2", branches, notebooks, tmp_path)
    assert all(j.key != keys["a"][j.name] for j in quarter)


def test_notebook_metadata_limits_its_periods(tmp_path):
    nb = nbformat.read(FIXTURES / "02_probe.ipynb", as_version=4)
    nb.metadata["maturity_analysis"] = {"periods": ["quarter", "month"]}
    nbformat.write(nb, tmp_path / "04_quarterly.ipynb")
    notebooks = [*_notebooks("01_portfolio"), tmp_path / "04_quarterly.ipynb"]
    stems = {
        period: {
            j.output.stem for j in plan_jobs(_dataset(()), period, {ALL: ""}, notebooks, tmp_path)
        }
        for period in ("2013", "2013Q2", "2013-05")
    }
    assert stems == {
        "2013": {"01_portfolio", "workbook"},
        "2013Q2": {"01_portfolio", "04_quarterly", "workbook"},
        "2013-05": {"01_portfolio", "04_quarterly", "workbook"},
    }


@pytest.mark.parametrize("period", ["13", "2013Q5", "2013-13", "2013-05-14"])
def test_bad_period_is_an_error(period, tmp_path):
    with pytest.raises(MaturityError, match="period"):
        plan_jobs(_dataset(()), period, {ALL: ""}, _notebooks("02_probe"), tmp_path)


def test_unknown_branch_is_an_error(book, tmp_path):
    with pytest.raises(MaturityError, match="B99.*B01"):
        run_reports(
            DATASET,
            branches=["B99"],
            out_dir=tmp_path,
            raw_dir=book["raw"],
            processed_dir=book["processed"],
            notebooks=_notebooks("02_probe"),
        )


def test_dead_kernel_fails_its_job_and_the_run_goes_on(book, tmp_path, worker):
    result = run_reports(
        DATASET,
        "2013",
        ["B01", "B02"],
        out_dir=tmp_path,
        raw_dir=book["raw"],
        processed_dir=book["processed"],
        notebooks=_notebooks("04_crash"),
        executor=worker,
        progress=False,
    )
    assert [(r.job.name, r.error.error) for r in result.failed] == [
        ("B01/04_crash.html", "DeadKernelError")
    ]
    assert (tmp_path / "B02" / "04_crash.html").exists()  # ran after the crash, new kernel
    assert not (tmp_path / "B01" / "04_crash.html").exists()


# ------------------------------------------------------- the project's own notebooks

E2E_BRANCHES = ("B01", "B03", ALL)


@pytest.fixture(scope="module")
def real(book, tmp_path_factory):
    """``maturity-analysis reports`` with the project's notebooks, two branches and ALL, for a
    quarter (the quarterly evaluation is made for quarters and months only)."""
    out = tmp_path_factory.mktemp("real")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(config.ROOT_ENV, str(book["root"]))
        args = ["reports", "--dataset", DATASET, "--period", "2013Q2", "--branch", *E2E_BRANCHES]
        args += ["--jobs", "2"]
        code = cli.main([*args, "--out", str(out)])
    policies = read_dataset(DATASET, processed_dir=book["processed"])
    return {"out": out, "code": code, "policies": policies}


def _cells(html: str) -> list[str]:
    return [unescape(c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", html, flags=re.S)]


def _contains_run(haystack: list[str], needle: list[str]) -> bool:
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack)))


REAL_REPORTS = [(b, nb.stem) for b in E2E_BRANCHES for nb in find_notebooks()]
TABLES = {
    table1: "01_portfolio_structure",
    table2: "01_portfolio_structure",
    table3: "01_portfolio_structure",
    table4: "01_portfolio_structure",
    segment_table: "02_segments_and_products",
    maturity_product_table: "02_segments_and_products",
}


# Issue #11: the evaluation (04) is made for the year too, not only quarters and months.
@pytest.mark.parametrize(
    ("period", "evaluated"), [("2013", True), ("2013Q2", True), ("2013-05", True)]
)
def test_evaluation_is_made_for_the_year_quarters_and_months(period, evaluated):
    made = {
        nb.stem for nb in find_notebooks() if applies_to(nbformat.read(nb, as_version=4), period)
    }
    assert {"01_portfolio_structure", "02_segments_and_products", "03_targets"} <= made
    assert ("04_quarterly_evaluation" in made) is evaluated


def test_real_reports_all_build(real):
    assert real["code"] == 0
    for branch, stem in REAL_REPORTS:
        assert (real["out"] / branch / f"{stem}.html").is_file()


@pytest.mark.parametrize("branch", E2E_BRANCHES)
@pytest.mark.parametrize("table", list(TABLES), ids=lambda f: f.__name__)
def test_real_report_holds_the_branch_table(real, branch, table):
    plan = load_plan()
    policies = enrich(for_branch(real["policies"], branch), plan)
    expected = _cells(format_table(table(policies, plan)).to_html())
    html = (real["out"] / branch / f"{TABLES[table]}.html").read_text(encoding="utf-8")
    assert len(expected) > 5 and _contains_run(_cells(html), expected)


@pytest.mark.parametrize(("branch", "stem"), REAL_REPORTS)
def test_real_report_has_no_code_and_no_pii(real, book, branch, stem):
    html = (real["out"] / branch / f"{stem}.html").read_text(encoding="utf-8")
    body = html[html.index("<body") :]
    assert 'class="highlight' not in body and "jp-InputArea-editor" not in body
    assert "read_dataset" not in body
    values = {str(v) for column in PII for v in book["frame"][column]}
    assert sorted(v for v in values if v in html) == []


def test_real_index_links_every_report(real):
    index = (real["out"] / "index.html").read_text(encoding="utf-8")
    links = set(re.findall(r'href="([^"#][^"]*)"', index))  # not the tree's in-page links
    expected = {f"{b}/{stem}.html" for b, stem in REAL_REPORTS}
    assert links == expected | {f"{b}/workbook.xlsx" for b in E2E_BRANCHES}


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "report.html"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]
    assert remove_temp_files(tmp_path) == []


def test_period_is_written_as_its_label(tmp_path):
    jobs = plan_jobs(_dataset(()), "2013q2", {ALL: ""}, _notebooks("02_probe"), tmp_path)
    notebooks = [j for j in jobs if j.kind == "notebook"]
    assert notebooks and {j.parameters["period"] for j in notebooks} == {"2013Q2"}

"""The run's ``index.html``: one row per branch with its key figures and links, then failures."""

from __future__ import annotations

from datetime import datetime
from html import escape

import pandas as pd

from .. import __version__
from ..analysis.book import ALL, ALL_LABEL
from ..analysis.evaluation import MET, NOT_MET, by_branch, glance
from ..analysis.targets import GOAL, TOTAL, allocate_branches
from ..files import write_atomic
from .jobs import NOTEBOOK, Job, RunResult

NAME, POLICIES = "网点名称", "保单件数"
PRODUCTS = ("分红", "万能")

STYLE = """
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.all { font-weight: bold; }
.failed, td.miss { color: #b22222; }
td.met { color: #1a7f37; }
.meta { color: #555; font-size: 0.85em; }
"""


def branch_figures(policies: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Per branch code (and ``ALL``): name, policies, 分红, 万能 and each target's count.

    Returns the figures and notes on what could not be computed (the index is written anyway).
    """
    code = policies["branch_code"].astype(str)
    names = policies.get("branch_name", pd.Series("", index=policies.index)).fillna("")
    frame = pd.DataFrame(
        {NAME: names.groupby(code).first().astype(str), POLICIES: code.value_counts()}
    )
    products = pd.crosstab(code, policies["product_type"]).reindex(columns=PRODUCTS, fill_value=0)
    frame = frame.join(products)
    total = {
        NAME: ALL_LABEL,
        POLICIES: len(policies),
        **{p: int((policies["product_type"] == p).sum()) for p in PRODUCTS},
    }
    frame = pd.concat([pd.DataFrame(total, index=[ALL]), frame])
    notes = []
    try:
        allocated = allocate_branches(policies).xs(GOAL, axis=1, level=1)
        allocated.index = allocated.index.get_level_values(0).map(
            lambda c: ALL if c == TOTAL else str(c)
        )
        frame = frame.join(allocated.add_prefix("目标·"))
    except Exception as exc:  # noqa: BLE001 - the index is written without the targets
        notes.append(f"index: targets not shown ({type(exc).__name__}: {exc})")
    return frame, notes


def _cell(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and pd.notna(value):
        return f'<td class="num">{int(value):,}</td>'
    return f"<td>{escape(str(value))}</td>"


def _links(jobs: list[Job], failed: set[str], root) -> str:
    parts = []
    for job in jobs:
        label = escape(job.title if job.kind == NOTEBOOK else "工作簿 (Excel)")
        if job.name in failed:
            parts.append(f'<span class="failed">{label}（失败）</span>')
        elif job.output.exists():
            href = escape(job.output.relative_to(root).as_posix())
            parts.append(f'<a href="{href}">{label}</a>')
    return " · ".join(parts)


def _diagnosis(job: Job, root) -> str:
    if not job.failed_notebook.exists():
        return ""
    href = escape(job.failed_notebook.relative_to(root).as_posix())
    return f'<a href="{href}">执行记录 (ipynb)</a>'


def kpi_glance(policies: pd.DataFrame, tracking, period: str, plan=None) -> pd.DataFrame | None:
    """Each branch's KPIs against target for ``period`` (达标 / 未达标 / —), ``None`` when the
    dataset has no tracking data (nothing to evaluate)."""

    if all(tracking[k].empty for k in ("calls", "complaints", "worklog", "outcomes")):
        return None
    return glance(by_branch(policies, tracking, period, plan))


def _glance_block(table: pd.DataFrame | None, period: str) -> str:
    if table is None:
        return ""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in ["网点代码", *table.columns])
    css = {MET: ' class="met"', NOT_MET: ' class="miss"'}
    rows = "".join(
        f"<tr><td>{escape(str(code))}</td>"
        + "".join(f"<td{css.get(v, '')}>{escape(str(v))}</td>" for v in row)
        + "</tr>"
        for code, row in table.iterrows()
    )
    return (
        f"<h2>{escape(period)} 各网点KPI达标情况</h2>"
        f'<p class="meta">达标 = 实际达到方案目标；— = 本期无目标。</p>'
        f"<table><tr>{head}</tr>{rows}</table>"
    )


def render_index(
    result: RunResult,
    policies: pd.DataFrame,
    dataset: str,
    period: str,
    kpis: pd.DataFrame | None = None,
) -> tuple[str, list[str]]:
    """The index page's HTML (with ``kpis`` from :func:`kpi_glance` when given) and the notes
    on anything left out of it."""
    figures, notes = branch_figures(policies)
    failed = {r.job.name for r in result.failed}
    by_branch: dict[str, list[Job]] = {}
    for job in result.jobs:
        by_branch.setdefault(job.branch, []).append(job)
    columns = list(figures.columns)
    head = "".join(f"<th>{escape(c)}</th>" for c in ["网点代码", *columns, "报告"])
    rows = []
    for branch, jobs in by_branch.items():
        values = figures.loc[branch] if branch in figures.index else pd.Series(dtype=object)
        cells = "".join(_cell(values.get(c, "")) for c in columns)
        cls = ' class="all"' if branch == ALL else ""
        rows.append(
            f"<tr{cls}><td>{escape(branch)}</td>{cells}"
            f"<td>{_links(jobs, failed, result.out_dir)}</td></tr>"
        )
    failures = "".join(
        f"<tr><td>{escape(r.job.name)}</td><td>{'' if r.error.cell is None else r.error.cell}"
        f"</td><td>{escape(r.error.cell_source)}</td><td>{escape(r.error.error)}: "
        f"{escape(r.error.message)}</td><td>{_diagnosis(r.job, result.out_dir)}</td></tr>"
        for r in result.failed
    )
    failure_block = (
        f'<h2 class="failed">失败 ({len(result.failed)})</h2><table><tr><th>任务</th>'
        f"<th>单元格</th><th>代码</th><th>错误</th><th>诊断</th></tr>{failures}</table>"
        if result.failed
        else "<p>本次运行没有失败的任务。</p>"
    )
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    html = f"""<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>网点报告索引 · {escape(dataset)} · \
{escape(period)}</title><style>{STYLE}</style></head>
<body><h1>满期客户二次开发 · 网点报告索引</h1>
<p class="meta">数据集 {escape(dataset)} · 期间 {escape(period)} · maturity-analysis \
{escape(__version__)} · 生成时间 {now} · 本次新建 {len(result.built)}，未变 \
{len(result.up_to_date)}，失败 {len(result.failed)}</p>
<table><tr>{head}</tr>{"".join(rows)}</table>
{_glance_block(kpis, period)}
{failure_block}
</body></html>
"""
    return html, notes


def write_index(
    result: RunResult,
    policies: pd.DataFrame,
    dataset: str,
    period: str,
    kpis: pd.DataFrame | None = None,
) -> list[str]:
    """Write ``result.index`` atomically; returns notes on anything left out of it."""
    html, notes = render_index(result, policies, dataset, period, kpis)
    write_atomic(result.index, html)
    return notes

"""The package's shape: the public face is pinned, and every import keeps the layer order."""

import ast
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

import maturity_analysis

PACKAGE = Path(maturity_analysis.__file__).parent
# A module may import from its own layer and the layers below it; reports and sample stand side
# by side above output and import nothing of each other.
RANK = {
    "base": 0,
    "plan": 1,
    "ingest": 2,
    "analysis": 3,
    "output": 4,
    "reports": 5,
    "sample": 5,
    "cli": 6,
}
BASE = {"config", "files", "memo", "exceptions", "__init__"}
# Package modules imported inside a function: only the CLI's subcommands (so `--help` starts
# fast), the kernel's own preload, which imports the analysis layers into a report kernel, and
# a local worker's start, which imports the worker module once the slow grammar is skipped.
LAZY_OK = {
    "maturity_analysis.cli",
    "maturity_analysis.reports.kernelstate",
    "maturity_analysis.reports.executors",
}


def layer_of(module: str) -> str:
    """``maturity_analysis.analysis.tables`` → ``analysis``; ``maturity_analysis.config`` → base."""
    parts = module.split(".")[1:]
    if not parts or parts[0] in BASE:
        return "base"
    if parts[0] in ("cli", "__main__"):
        return "cli"
    return parts[0]


@cache
def modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).with_suffix("")
        parts = [p for p in rel.parts if p != "__init__"]
        out[".".join(["maturity_analysis", *parts])] = path
    return out


def resolve(module: str, path: Path, node: ast.ImportFrom) -> list[str]:
    """The package modules an ``from X import a, b`` names (a submodule or the module X)."""
    if node.level:
        base = module.split(".")
        if path.name != "__init__.py":
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("maturity_analysis"):
        return []
    known = modules()
    names = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
    return names or [target]


def imports(module: str, path: Path) -> list[tuple[str, bool, int]]:
    """(imported package module, inside a function, line) for each import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(n) for n in tree.body}
    for node in tree.body:  # `if TYPE_CHECKING:` blocks count as top level
        if isinstance(node, ast.If):
            top |= {id(n) for n in node.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            targets = resolve(module, path, node)
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.startswith("maturity_analysis")]
        else:
            continue
        out += [(target, id(node) not in top, node.lineno) for target in targets]
    return out


def test_public_api_is_pinned():
    assert sorted(maturity_analysis.__all__) == [
        "ALL",
        "MaturityDataError",
        "MaturityError",
        "Period",
        "Plan",
        "PlanError",
        "PrivacyError",
        "ReportError",
        "__version__",
        "enrich",
        "for_branch",
        "format_table",
        "load_plan",
        "load_policies",
        "parse_period",
        "plan_file",
        "prepare",
        "read_dataset",
        "read_dataset_tracking",
        "write_tables_workbook",
    ]
    assert all(hasattr(maturity_analysis, name) for name in maturity_analysis.__all__)


def test_errors_share_one_base():
    for name in ("MaturityDataError", "PlanError", "ReportError", "PrivacyError"):
        assert issubclass(getattr(maturity_analysis, name), maturity_analysis.MaturityError)


def test_layer_modules_are_attributes_loaded_on_first_use():
    code = (
        "import sys, maturity_analysis as ma\n"
        "assert 'pandas' not in sys.modules and 'matplotlib' not in sys.modules\n"
        "assert ma.tables.__name__ == 'maturity_analysis.analysis.tables'\n"
        "assert ma.trends.__name__ == 'maturity_analysis.analysis.trends'\n"
        "assert ma.amounts.__name__ == 'maturity_analysis.analysis.amounts'\n"
        "assert 'matplotlib' not in sys.modules\n"
        "assert ma.plots.__name__ == 'maturity_analysis.output.plots'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_keep_the_layer_order(module):
    mine = layer_of(module)
    bad = []
    for target, lazy, line in imports(module, modules()[module]):
        theirs = layer_of(target)
        if theirs != "base" and (
            RANK[theirs] > RANK[mine] or (theirs != mine and RANK[theirs] == RANK[mine])
        ):
            bad.append(f"line {line}: {module} ({mine}) imports {target} ({theirs})")
        if lazy and module not in LAZY_OK:
            bad.append(f"line {line}: {module} imports {target} inside a function")
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    graph = {
        m: {t for t, lazy, _ in imports(m, p) if t in modules() and t != m and not lazy}
        for m, p in modules().items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                cycle = stack[stack.index(t) :] + [t]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)

"""maturity-analysis: the 满期客户二次开发 programme's tables, targets, tracking and reports.

``import maturity_analysis as ma`` is the public face: the plan (``ma.load_plan``,
``ma.parse_period``), the dataset (``ma.prepare``, ``ma.read_dataset``), the book
(``ma.ALL``, ``ma.for_branch``, ``ma.enrich``), output (``ma.format_table``,
``ma.write_tables_workbook``) and one error base, :class:`MaturityError`. The modules of
each layer are attributes loaded on first use (``ma.tables.table1(...)``, ``ma.plots``), so
importing the package, as the command line does, loads neither pandas nor matplotlib.

The package is cut in layers; a module imports only from its own layer and those below::

    cli → reports, sample → output → analysis → ingest → plan → config, files, exceptions
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("maturity-analysis")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

from .exceptions import (  # noqa: E402
    MaturityDataError,
    MaturityError,
    PlanError,
    PrivacyError,
    ReportError,
)

# Public name → the module that defines it (imported on first use).
_FACE = {
    "Plan": "plan.model",
    "load_plan": "plan.model",
    "plan_file": "plan.model",
    "Period": "plan.period",
    "parse_period": "plan.period",
    "prepare": "ingest.dataset",
    "read_dataset": "ingest.dataset",
    "read_dataset_tracking": "ingest.dataset",
    "load_policies": "ingest.policies",
    "ALL": "analysis.book",
    "for_branch": "analysis.book",
    "enrich": "analysis.book",
    "format_table": "output.display",
    "write_tables_workbook": "output.workbook",
}
# Module attribute → its place in the layers (``ma.tables`` is ``maturity_analysis.analysis.tables``).
_MODULES = {
    **{m: f"plan.{m}" for m in ("bands", "period", "programme", "workdays")},
    **{m: f"ingest.{m}" for m in ("dataset", "forms", "ids", "policies", "readers", "schema")},
    **{
        m: f"analysis.{m}"
        for m in ("book", "costs", "evaluation", "kpis", "reconcile", "risk", "tables")
    },
    **{m: f"analysis.{m}" for m in ("actions", "amounts", "daily", "honours", "league")},
    **{m: f"analysis.{m}" for m in ("targets", "trends", "yields")},
    **{
        m: f"output.{m}"
        for m in ("calllist", "display", "excel", "narrative", "plots", "privacy", "workbook")
    },
}

__all__ = [
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


def __getattr__(name: str):
    """Load a public name or a layer's module on first use (PEP 562)."""
    if name in _FACE:
        value = getattr(import_module(f".{_FACE[name]}", __name__), name)
    elif name in _MODULES:
        value = import_module(f".{_MODULES[name]}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_FACE, *_MODULES})

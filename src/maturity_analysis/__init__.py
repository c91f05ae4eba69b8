"""maturity-analysis: the 满期客户二次开发 programme's tables, targets, tracking and reports."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("maturity-analysis")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

from .load import load_policies, prepare, read_dataset  # noqa: E402 (they use __version__)
from .plan import Plan, load_plan  # noqa: E402

__all__ = ["Plan", "__version__", "load_plan", "load_policies", "prepare", "read_dataset"]

"""Domain errors, with messages a branch analyst understands: one base, one subclass a kind."""


class MaturityError(Exception):
    """Base of every error the package raises on purpose; the CLI prints it in one line."""


class MaturityDataError(MaturityError, ValueError):
    """An input file cannot be read: names the file and what is wrong."""

    def _render_traceback_(self) -> list[str]:
        """What IPython (a notebook) shows instead of a traceback: the line the CLI prints."""
        return [f"{type(self).__name__}: {self}"]


class PlanError(MaturityError, ValueError):
    """The plan file (or a period on it) is malformed: names the key and what was expected."""


class ReportError(MaturityError, RuntimeError):
    """A report job failed: names the job and the notebook cell."""


class PrivacyError(ReportError):
    """A rendered output shows a customer's value unmasked: names the column, masked."""

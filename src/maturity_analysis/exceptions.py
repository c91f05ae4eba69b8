"""Domain errors, with messages a branch analyst understands."""


class MaturityDataError(ValueError):
    """An input file cannot be read: names the file and what is wrong."""


class PlanError(ValueError):
    """The plan file is malformed: names the key and what was expected."""


class ReportError(RuntimeError):
    """A report job failed: names the job and the notebook cell."""

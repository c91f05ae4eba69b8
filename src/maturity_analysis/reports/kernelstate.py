"""Runs inside a warm report kernel: preload the libraries once, then restore a clean state.

The report runner (:mod:`maturity_analysis.reports.kernels`) keeps one IPython kernel per worker and
runs many notebooks in it. :func:`warm_up` imports what the notebooks use and records the
baseline state; :func:`restore`, run before every notebook, puts the kernel back to it: an empty
namespace, execution count 1, no open figures, the baseline matplotlib rcParams, inline-backend
settings and pandas options, the random generators' state, environment, ``sys.path``, warning
filters and working directory. A notebook therefore sees only its own parameters and data,
as if it ran in a fresh kernel.
"""

from __future__ import annotations

import copy
import gc
import importlib
import os
import random
import sys
import warnings
from pathlib import Path

PRELOAD = (
    "numpy",
    "pandas",
    "matplotlib",
    "matplotlib.pyplot",
    "maturity_analysis",
)
# The layers whose modules the notebooks use: preloaded by name (an allowlist, so a module
# added to the runner or the command line is never imported into a report kernel).
PRELOADED_LAYERS = ("plan", "ingest", "analysis", "output")
_INLINE_TRAITS = ("figure_formats", "print_figure_kwargs", "close_figures", "rc")

_baseline: dict = {}


def _ipython():
    from IPython import get_ipython

    return get_ipython()


def _package_modules() -> list[str]:
    import pkgutil

    import maturity_analysis

    names = []
    for layer in PRELOADED_LAYERS:
        package = f"maturity_analysis.{layer}"
        path = [str(Path(maturity_analysis.__path__[0]) / layer)]
        names += [package, *(f"{package}.{m.name}" for m in pkgutil.iter_modules(path))]
    return names


def _pandas_options() -> dict:
    import pandas as pd
    from pandas._config.config import _registered_options

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {key: copy.deepcopy(pd.get_option(key)) for key in _registered_options}


def warm_up(modules: tuple[str, ...] = PRELOAD, figure_formats: tuple[str, ...] = ("png",)) -> None:
    """Import ``modules`` and the package's analysis modules, draw one chart, record the baseline.

    A module that fails to import is skipped: the notebook that needs it fails on it with the
    full traceback. Matplotlib's settings are its own defaults, not those of a
    ``matplotlibrc`` on the machine (the user's, ``$MATPLOTLIBRC``'s or the working folder's),
    which would change every chart. The chart (Chinese text, PNG) loads the fonts and the
    renderer once; its settings are undone, so the baseline is matplotlib's state in a fresh
    kernel. What is loaded then lives as long as the kernel: it is moved out of the garbage
    collector's view (``gc.freeze``), so the full collection IPython's reset runs before every
    notebook, and the ones during it, look only at what notebooks made (80 ms → 20 ms each
    after notebook 04).
    """
    for name in [*modules, *_package_modules()]:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - reported by the notebook that needs it
            continue
    import matplotlib

    matplotlib.rcdefaults()  # not the machine's matplotlibrc: the reports are the same everywhere
    ip = _ipython()
    if ip is not None:
        ip.run_line_magic("matplotlib", "inline")
        ip.run_line_magic("config", f"InlineBackend.figure_formats = {list(figure_formats)!r}")
        # The inline backend sends each new figure at the end of its cell; pyplot's own
        # end-of-cell redraw of every figure (meant for GUI windows) would render each once
        # more for nothing, a third of a chart's time.
        import matplotlib.pyplot as plt

        plt.uninstall_repl_displayhook()
        _flush_only_what_was_written()
    _draw_once()
    capture()
    gc.collect()
    gc.freeze()


def _flush_only_what_was_written() -> None:
    """Make the kernel's stdout and stderr flush at once when nothing was written since their
    last flush.

    ipykernel's ``OutStream.flush`` hands the flush to its I/O thread and waits for it, even
    with nothing to send: six times a cell (before a cell's result, before its reply, after
    each request), about 2% of a run of eight units. Text written is flushed as before. When
    the buffer is empty, whatever was written before is already with the I/O thread, which
    sends it ahead of anything the cell shows or sends next. A stream without ipykernel's
    buffer (another version) keeps its own flush.
    """
    from ipykernel.iostream import OutStream

    flush = OutStream.flush
    if getattr(flush, "skips_empty", False):
        return

    def flush_written(self) -> None:
        lock = getattr(self, "_buffer_lock", None)
        if lock is not None:
            with lock:
                if not getattr(self, "_buffers", True):
                    return
        flush(self)

    flush_written.skips_empty = True
    OutStream.flush = flush_written


def _draw_once() -> None:
    import io

    import matplotlib
    import matplotlib.pyplot as plt

    with matplotlib.rc_context():
        try:
            from maturity_analysis.output.plots import setup

            setup()
        except Exception:  # noqa: BLE001, S110 - warming up only
            pass
        fig = plt.figure(figsize=(2, 1))
        fig.text(0.1, 0.5, "满期客户 2013")
        fig.savefig(io.BytesIO(), format="png")
        plt.close(fig)


def capture() -> None:
    """Record the current state as the baseline that :func:`restore` returns to."""
    import matplotlib
    import numpy as np

    _baseline.clear()
    _baseline.update(
        rc=copy.deepcopy(dict(matplotlib.rcParams)),
        pandas=_pandas_options(),
        np_random=np.random.get_state(),
        random=random.getstate(),
        environ=dict(os.environ),
        path=list(sys.path),
        warnings=list(warnings.filters),
        cwd=os.getcwd(),
    )
    try:
        from matplotlib_inline.config import InlineBackend
    except ImportError:  # pragma: no cover - not inside an IPython kernel
        return
    cfg = InlineBackend.instance()
    _baseline["inline"] = {name: copy.deepcopy(getattr(cfg, name)) for name in _INLINE_TRAITS}


def restore(cwd: str | None = None) -> None:
    """Return the kernel to the baseline; ``cwd`` (default: the baseline's) becomes current."""
    import matplotlib
    import matplotlib.pyplot as plt
    import numpy as np
    import pandas as pd

    ip = _ipython()
    if ip is not None:
        ip.reset(new_session=False)
        ip.execution_count = 1
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        matplotlib.rcParams.update(copy.deepcopy(_baseline["rc"]))
        for key, value in _baseline["pandas"].items():
            if pd.get_option(key) != value:
                pd.set_option(key, copy.deepcopy(value))
    if "inline" in _baseline:
        from matplotlib_inline.config import InlineBackend

        cfg = InlineBackend.instance()
        for name, value in _baseline["inline"].items():
            if getattr(cfg, name) != value:
                setattr(cfg, name, copy.deepcopy(value))
    np.random.set_state(_baseline["np_random"])
    random.setstate(_baseline["random"])
    if dict(os.environ) != _baseline["environ"]:
        os.environ.clear()
        os.environ.update(_baseline["environ"])
    sys.path[:] = _baseline["path"]
    warnings.filters[:] = _baseline["warnings"]
    getattr(warnings, "_filters_mutated", lambda: None)()
    os.chdir(cwd or _baseline["cwd"])

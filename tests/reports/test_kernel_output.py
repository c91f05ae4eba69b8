"""What a warm report kernel sends of a cell: every print, in order with what the cell shows,
with its stdout and stderr flushing only what was written."""

from __future__ import annotations

import nbformat
import pytest

from maturity_analysis.reports.kernels import WarmKernel


@pytest.fixture(scope="module")
def kernel():
    warm = WarmKernel(cell_timeout=60)
    warm.start()
    yield warm
    warm.shutdown()


def _outputs(kernel: WarmKernel, *sources: str) -> list[list[tuple[str, str]]]:
    """Each cell's outputs as (kind, text): a stream's name, or the shown object's kind."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    kernel.execute(nb, cwd=".")
    shown = []
    for cell in nb.cells:
        shown.append(
            [
                (o.name, o.text)
                if o.output_type == "stream"
                else (o.output_type, o.data.get("text/markdown", o.data.get("text/plain")))
                for o in cell.outputs
            ]
        )
    return shown


def test_prints_come_in_order_with_what_a_cell_shows(kernel):
    [first, second] = _outputs(
        kernel,
        "from IPython.display import Markdown, display\n"
        "print('a'); display(Markdown('**b**')); print('c', end='')\n"
        "import sys; sys.stderr.write('w\\n')\n"
        "'d'",
        "print('e')",
    )
    # a printed before the Markdown is shown; c joins it (one output per stream and cell)
    assert first == [
        ("stdout", "a\nc"),
        ("display_data", "**b**"),
        ("stderr", "w\n"),
        ("execute_result", "'d'"),
    ]
    assert second == [("stdout", "e\n")]  # nothing of the first cell comes late, into this one


def test_every_line_of_a_long_print_is_in_its_cell(kernel):
    [lines, after] = _outputs(kernel, "for i in range(3000):\n    print(i)", "1")
    assert lines == [("stdout", "".join(f"{i}\n" for i in range(3000)))]
    assert after == [("execute_result", "1")]


def test_a_flush_waits_for_the_io_thread_only_when_something_was_written(kernel):
    """The probe counts what stdout hands its I/O thread: nothing for a flush with nothing
    written, the text and a wait for one with text."""
    probe = (
        "import sys\n"
        "_thread, _handed = sys.stdout.pub_thread, []\n"
        "_schedule = _thread.schedule\n"
        "_thread.schedule = lambda f: (_handed.append(f), _schedule(f))[1]\n"
        "sys.stdout.flush(); sys.stdout.flush()\n"
        "_empty = len(_handed)\n"
        "sys.stdout.write('x'); sys.stdout.flush()\n"
        "_written = len(_handed) - _empty\n"
        "del _thread.schedule\n"
        "print((_empty, _written > 0))"
    )
    [[(_, text)]] = _outputs(kernel, probe)
    assert text.endswith("(0, True)\n")

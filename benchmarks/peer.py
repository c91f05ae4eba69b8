"""The fan-out's process-pool contender: what papermill's maintainers suggest for many runs.

``peer.py OUT JOBS`` runs every job of ``JOBS`` (a JSON list of ``[notebook, branch]``) in a
``ProcessPoolExecutor`` with one worker per core: ``papermill.execute_notebook`` (a fresh
kernel per notebook) with the job's parameters, then nbconvert's ``HTMLExporter`` without
code inputs, the HTML written to ``OUT``. Prints the number of failed jobs; exit 1 if any.
"""

from __future__ import annotations

import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

DATASET = "sample"
PERIOD = "2013"


def run_one(notebook: str, branch: str, out: str) -> bool:
    """Execute ``notebook`` for ``branch`` in a fresh kernel and write its HTML; True if done."""
    import papermill
    from nbconvert import HTMLExporter

    executed = Path(out) / f"{branch}-{Path(notebook).name}"
    try:
        nb = papermill.execute_notebook(
            notebook,
            str(executed),
            parameters={"dataset": DATASET, "branch": branch, "period": PERIOD},
            progress_bar=False,  # the kernel starts in this process's folder, as the naive loop's
        )
        html, _ = HTMLExporter(exclude_input=True).from_notebook_node(nb)
    except Exception:  # noqa: BLE001 - counted as a failed job
        return False
    executed.with_suffix(".html").write_text(html, encoding="utf-8")
    return True


def main(argv: list[str]) -> int:
    """Run the jobs listed in ``argv[1]`` into the folder ``argv[0]``."""
    out, jobs = argv[0], json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    Path(out).mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        done = list(pool.map(run_one, *zip(*jobs, strict=True), [out] * len(jobs)))
    failed = done.count(False)
    print(f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Mistakes on the command line end in one clear line (what is accepted), never a traceback;
and what the reports command writes when its output is a log, not a terminal."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess

import pytest

from maturity_analysis import cli, config
from maturity_analysis.sample.book import scaled_policies

DATASET = "tiny"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["reports", "--jobs", "0"], "'0': give a whole number of 1 or more"),
        (["reports", "--jobs", "-1"], "'-1': give a whole number of 1 or more"),
        (["reports", "--jobs", "two"], "'two': give a whole number of 1 or more"),
        (["reports", "--scheduler", "garbage"], "give tcp://HOST:PORT"),
        (["tables", "--out", "x.csv"], "give a file ending in .xlsx"),
    ],
)
def test_bad_argument_is_one_line(args, said, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(args)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.startswith("maturity-analysis")]) == 1


@pytest.mark.parametrize("address", ["tcp://10.0.0.5:8786", "scheduler:8786", "tls://h.x:1"])
def test_scheduler_addresses_are_accepted(address):
    args = cli.build_parser().parse_args(["reports", "--scheduler", address])
    assert args.scheduler == address


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    raw = root / "data" / "raw" / DATASET
    raw.mkdir(parents=True)
    scaled_policies(10, seed=1, branches=1).to_excel(raw / "policies.xlsx", index=False)
    return root


def _unwritable(tmp_path, how: str):
    if how == "under a file":
        blocker = tmp_path / "a-file"
        blocker.write_text("")
        return blocker / "reports"
    folder = tmp_path / how
    folder.mkdir()
    if how == "immutable":
        chattr = shutil.which("chattr")
        if (
            not chattr
            or subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode
        ):
            pytest.skip("chattr +i is not available here")
        return folder
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if os.access(folder, os.W_OK):  # root writes anyway
        folder.chmod(stat.S_IRWXU)
        pytest.skip("this user can write into a read-only folder")
    return folder


@pytest.mark.parametrize("how", ["read-only", "immutable", "under a file"])
def test_unwritable_output_folder_is_one_line(root, tmp_path, monkeypatch, capsys, how):
    out = _unwritable(tmp_path, how)
    monkeypatch.setenv(config.ROOT_ENV, str(root))
    try:
        code = cli.main(["reports", "--dataset", DATASET, "--out", str(out)])
    finally:
        if how == "immutable":
            subprocess.run([shutil.which("chattr"), "-i", str(out)], check=True)
        if out.exists():
            out.chmod(stat.S_IRWXU)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    # one error line (a "preparing dataset" line may come first, on a first read)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: cannot write reports to {out}")
    assert "--out" in errors[0] and err.strip().splitlines()[-1] == errors[0]


class _Done:
    ok = True

    def summary(self) -> str:
        return "0 built"


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "log"])
def test_reports_shows_its_progress_bar_only_on_a_terminal(terminal, monkeypatch, capsys):
    # A monthly run from cron writes to a log: every bar update there is one more line of noise.
    asked = {}

    def run_reports(*args, **kwargs):
        asked.update(kwargs)
        return _Done()

    monkeypatch.setattr("maturity_analysis.reports.run.run_reports", run_reports)
    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: terminal)
    assert cli.main(["reports", "--branch", "ALL"]) == 0
    assert asked["progress"] is terminal
    assert capsys.readouterr().out.strip() == "0 built"

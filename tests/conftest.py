"""Shared fixtures: the sample book as the canonical policies frame, a small-frame builder, and a
headless browser to read pages with."""

from __future__ import annotations

import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pandas as pd
import pytest

from maturity_analysis.plan.bands import age_at, age_band, principal_band

_DEFAULTS = {
    "holder_name": "张三",
    "holder_id": "110101196001010019",
    "holder_mobile": "13800000000",
    "branch_code": "B01",
    "branch_name": "网点一",
    "sub_branch": "支局一",
    "product_type": "分红",
    "product_name": "千里马两全保险(分红型)",
    "term_years": 5,
    "payment_mode": "趸交",
    "premium": 10_000.0,
    "issue_date": "2008-03-01",
    "maturity_date": "2013-03-01",
    "maturity_value": 11_500.0,
    "manager": "李四",
}


def build_policies(rows: list[dict]) -> pd.DataFrame:
    """A canonical policies frame from a few overrides per row (``age`` = 周岁 at maturity)."""
    records = []
    for i, row in enumerate(rows):
        rec = {"policy_no": f"P{i:06d}", **_DEFAULTS, **row}
        maturity = pd.Timestamp(rec["maturity_date"])
        rec.setdefault("holder_birth_date", maturity - pd.DateOffset(years=rec.pop("age", 50)))
        rec.pop("age", None)
        records.append(rec)
    df = pd.DataFrame.from_records(records)
    for col in ("holder_birth_date", "issue_date", "maturity_date"):
        df[col] = pd.to_datetime(df[col])
    df["term_years"] = df["term_years"].astype("Int64")
    df["whole_life"] = df["term_years"].isna()
    df["premium"] = df["premium"].astype(float)
    df["maturity_value"] = df["maturity_value"].astype(float)
    df["age"] = age_at(df["holder_birth_date"], df["maturity_date"])
    df["age_band"] = age_band(df["age"])
    df["principal_band"] = principal_band(df["premium"])
    return df


@pytest.fixture
def make_policies():
    """Builder of small hand-made canonical frames: ``make_policies([{...}, ...])``."""
    return build_policies


@pytest.fixture(scope="session")
def sample_policies(tmp_path_factory):
    """The deterministic sample book, written with ``write_sample`` and read back with
    ``load_policies`` (the canonical frame every analysis function takes)."""
    from maturity_analysis.ingest.policies import load_policies
    from maturity_analysis.sample.book import write_sample

    out = tmp_path_factory.mktemp("sample")
    written = write_sample(out)
    policies_file = next(p for p in written if p.name.startswith("policies"))
    return load_policies(policies_file).policies


BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium or Chrome to read pages with (skips the test without one)."""
    found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if found is None:
        pytest.skip("no headless Chromium or Chrome on this machine (.ci/run installs chromium)")
    return found


def shown_in(browser: str, page: Path, pre: str, window: str = "1400,1000") -> str:
    """The text a script in ``page`` left in its ``<pre id=pre>``, read from the DOM headless
    ``browser`` dumps once the page has run, in a ``window`` (width,height) viewport."""
    done = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files",
         f"--window-size={window}", "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    found = re.search(rf'<pre id="{pre}">(.*?)</pre>', done.stdout, re.S)
    assert found and found.group(1), done.stderr[-2000:]
    return unescape(found.group(1))

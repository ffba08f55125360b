"""Checks against the real corpora in ../shared/data (run by `make korpus`; CI always has them)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

WURZEL = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def korpus() -> Path:
    pfad = Path(os.environ.get("SERVICECENTER_KORPUS", WURZEL.parent / "shared" / "data")).resolve()
    if not (pfad / "demo-katalog").is_dir():
        pytest.fail(f"Korpus fehlt unter {pfad}: make korpus braucht ../shared/data")
    return pfad


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh SQLite database with the demo catalogue, loaded through the real CLI."""
    url = f"sqlite:///{tmp_path_factory.mktemp('korpus') / 'demo.db'}"
    lauf = cli(url, "wissen", "import", "--demo", "--no-fortschritt")
    assert lauf.returncode == 0, lauf.stderr
    return url


def cli(url: str, *args: str, eingabe: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SERVICECENTER_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "servicecenter.cli", *args],
        input=eingabe, capture_output=True, text=True, env=env, cwd=WURZEL, timeout=600,
    )

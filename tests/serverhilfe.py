"""Starting real processes for the integration and browser tests: free ports, the servicecenter CLI, waiting until
a server answers, stopping. (The unit tests use the app in-process instead.)"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "servicecenter.cli"]


def freier_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def umgebung(datenbank: Path, **einstellungen: str) -> dict[str, str]:
    """Environment of a test server on its own SQLite file (never the PostgreSQL test database)."""
    env = {**os.environ, "SERVICECENTER_DATABASE_URL": f"sqlite:///{datenbank}", "SERVICECENTER_LOG_LEVEL": "WARNING",
           **einstellungen}
    env.pop("SERVICECENTER_TEST_DATABASE_URL", None)
    return env


def cli(env: dict[str, str], *argumente: str) -> str:
    """Runs `servicecenter <argumente>`; fails the test with its output if it fails; returns stdout."""
    lauf = subprocess.run([*CLI, *argumente], env=env, cwd=ROOT, capture_output=True, text=True)
    if lauf.returncode != 0:
        pytest.fail(f"servicecenter {' '.join(argumente)} ist fehlgeschlagen:\n{lauf.stdout}\n{lauf.stderr}")
    return lauf.stdout


def mit_demo(env: dict[str, str]) -> None:
    """Database upgraded and the demo catalogue loaded."""
    cli(env, "db", "upgrade")
    cli(env, "wissen", "import", "--demo", "--no-fortschritt")


def benutzer(env: dict[str, str], tmp: Path, name: str, rolle: str, passwort: str) -> str:
    """Creates a user and returns an API token for it."""
    pw = tmp / f"pw-{name}.txt"
    pw.write_text(passwort + "\n")
    cli(env, "benutzer", "anlegen", name, "--rolle", rolle, "--passwort-datei", str(pw))
    return cli(env, "benutzer", "token", name).strip()


def warten(url: str, prozess: subprocess.Popen, log: Path, sekunden: float, name: str) -> None:
    """Until `url` answers 200; fails with the end of the log if the process ends or time runs out."""
    frist = time.monotonic() + sekunden
    while time.monotonic() < frist:
        if prozess.poll() is not None:
            pytest.fail(f"{name} ist beim Start beendet worden:\n" + log.read_text(errors="replace")[-3000:])
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    pytest.fail(f"{name} antwortet nicht nach {sekunden:.0f} s:\n" + log.read_text(errors="replace")[-3000:])


def beenden(prozesse: list[subprocess.Popen]) -> None:
    for p in prozesse:
        p.terminate()
    for p in prozesse:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()


@contextmanager
def laufender_server(env: dict[str, str], tmp: Path, *, port: int | None = None) -> Iterator[str]:
    """`servicecenter serve` on a free port (or `port`); yields its base URL, stops it afterwards."""
    port = port or freier_port()
    log_pfad = tmp / "server.log"
    with open(log_pfad, "w") as log:
        proc = subprocess.Popen([*CLI, "serve", "--port", str(port)], env=env, cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            warten(url + "/healthz", proc, log_pfad, 30, "Der Server")
            yield url
        finally:
            beenden([proc])

"""Shared by the benchmarks: a free port, a running `servicecenter serve`, the median."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WURZEL = Path(__file__).resolve().parent.parent


def freier_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def laufender_server(env: dict[str, str], *, start_s: float = 60) -> Iterator[str]:
    """Starts `servicecenter serve` on a free loopback port, waits for /healthz, yields the base URL."""
    port = freier_port()
    server = subprocess.Popen([sys.executable, "-m", "servicecenter.cli", "serve", "--port", str(port)], env=env,
                              cwd=WURZEL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    basis = f"http://127.0.0.1:{port}"
    try:
        frist = time.monotonic() + start_s
        while True:
            try:
                urllib.request.urlopen(basis + "/healthz", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > frist or server.poll() is not None:
                    raise RuntimeError("Server startet nicht") from None
                time.sleep(0.1)
        yield basis
    finally:
        server.terminate()
        server.wait(timeout=30)


def median(werte: list[float]) -> float:
    s = sorted(werte)
    n = len(s)
    return s[n // 2] if n % 2 else round((s[n // 2 - 1] + s[n // 2]) / 2, 2)

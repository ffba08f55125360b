"""Integration: the worker against a real stub Fachverfahren in its own uvicorn process, which fails (503, then
down, then answers too late) and recovers. The case is created once although the request arrived several times."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from servicecenter.db import make_engine, make_sessionmaker
from servicecenter.migrate import upgrade
from servicecenter.outbox.models import OutboxEintrag, OutboxStatus
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import Kanal, Ticket
from servicecenter.uebergabe import service
from servicecenter.uebergabe.adapter import Registry
from servicecenter.uebergabe.models import Uebergabe, UebergabeStatus
from servicecenter.worker import Worker, WorkerEinstellungen

HIER = Path(__file__).parent
SECRET = "stub-geheimnis"


def freier_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stub:
    def __init__(self, tmp_path: Path) -> None:
        self.port = freier_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "STUB_DB": str(tmp_path / "stub.db"), "STUB_SECRET": SECRET, "STUB_SCHLAF": "2"}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(HIER), "stub_fachverfahren:app",
             "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        ende = time.monotonic() + 30
        while time.monotonic() < ende:
            try:
                httpx.get(f"{self.url}/statistik", timeout=0.5)
                return
            except httpx.HTTPError:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.proc.stderr.read().decode()) from None
                time.sleep(0.1)
        raise RuntimeError("Stub startet nicht")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def steuern(self, **werte) -> None:
        httpx.post(f"{self.url}/steuerung", json=werte, timeout=5).raise_for_status()

    def statistik(self) -> dict:
        return httpx.get(f"{self.url}/statistik", timeout=5).json()


@pytest.fixture
def stub(tmp_path):
    s = Stub(tmp_path)
    s.start()
    yield s
    s.stop()


def test_stub_faellt_aus_und_erholt_sich(tmp_path, stub):
    url = f"sqlite:///{tmp_path / 'sc.db'}"
    upgrade(url)
    sessions = make_sessionmaker(make_engine(url))
    registry = Registry({"fv": {"typ": "rest", "url": f"{stub.url}/vorgaenge", "secret": SECRET, "timeout": 0.5}},
                        {"*": "fv"})
    einst = tickets.TicketEinstellungen()
    uhr = [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    with sessions() as s:
        t = tickets.ticket_anlegen(s, anliegen="Schlagloch Magdeburger Straße", kanal=Kanal.telefon, benutzer=None,
                                   einstellungen=einst, jetzt=uhr[0])
        u = service.uebergeben(s, t, benutzer=None, registry=registry, einstellungen=einst, jetzt=uhr[0])
        s.commit()
        nummer, uebergabe_id, outbox_id = t.nummer, u.id, u.outbox_id

    with httpx.Client() as client:
        w = Worker(sessions=sessions, handler=[service.Zustellung(registry=registry, einstellungen=einst)],
                   einstellungen=WorkerEinstellungen(lease=timedelta(seconds=30), backoff_basis=5, backoff_max=60),
                   client=client, name="it", uhr=lambda: uhr[0])

        def runde_nach_pause() -> tuple[OutboxEintrag, Uebergabe]:
            with sessions() as s:
                uhr[0] = max(uhr[0], s.get(OutboxEintrag, outbox_id).naechster_versuch)
            assert w.runde() == 1
            with sessions() as s:
                return s.get(OutboxEintrag, outbox_id), s.get(Uebergabe, uebergabe_id)

        stub.steuern(immer_503=True)  # maintenance
        e, u = runde_nach_pause()
        assert e.status == OutboxStatus.offen and "503" in e.fehler and u.status == UebergabeStatus.ausstehend

        stub.stop()  # down completely
        e, u = runde_nach_pause()
        assert e.status == OutboxStatus.offen and "Verbindung" in e.fehler and e.versuche == 2

        stub.start()  # back, but answers too late: the case is created, the client times out
        stub.steuern(immer_503=False, timeout=1.0)
        e, u = runde_nach_pause()
        assert "Zeitüberschreitung" in e.fehler and u.status == UebergabeStatus.ausstehend
        assert stub.statistik()["faelle"] == 1

        stub.steuern(timeout=0.0)  # recovered
        e, u = runde_nach_pause()
        assert e.status == OutboxStatus.gesendet and e.versuche == 4
        assert u.status == UebergabeStatus.zugestellt

    stat = stub.statistik()
    assert stat["faelle"] == 1 and stat["doppelt"] == 0  # four requests, one effect
    assert stat["anfragen"] == {"503": 1, "spaet": 1, "201": 1}
    faelle = httpx.get(f"{stub.url}/faelle").json()
    with sessions() as s:
        t = s.query(Ticket).filter_by(nummer=nummer).one()
        assert t.externe_vorgangs_id == faelle[nummer] == u.externe_id

"""Fault benchmark of the hand-off (not a test): nothing may be lost, nothing may arrive twice.

2,000 tickets are handed off (ticket change + outbox row, one transaction each) in a scratch PostgreSQL database
created and dropped here. A stub Fachverfahren (tests/integration/stub_fachverfahren.py, own uvicorn process)
answers 500 for 30 % of requests at random (before the effect) and answers too late for 10 % (after the effect,
so the client times out although the case exists). Two `servicecenter worker` processes deliver. During the run
worker 1 is killed with SIGKILL (mid-delivery, its leases must run out) and restarted, and the stub is killed
for a window in the middle and restarted (its state survives in a SQLite file).

verloren: tickets neither at the receiver nor marked "Übergabe fehlgeschlagen" when the run ends.
doppelt_beim_empfaenger: tickets for which the receiver created more than one case.
Last line: one JSON object.
"""

from __future__ import annotations

# bench/ holds a script named like a standard module (bench/email.py): put this folder behind the standard
# library on sys.path before anything imports `email` (urllib, httpx).
import sys  # noqa: I001
_HIER = str(__import__("pathlib").Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p not in (_HIER, "")] + [_HIER]

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

WURZEL = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(WURZEL))

from servicecenter.db import make_engine, make_sessionmaker  # noqa: E402
from servicecenter.migrate import upgrade  # noqa: E402
from servicecenter.tickets import service as tickets  # noqa: E402
from servicecenter.tickets.models import Kanal, Ticket  # noqa: E402
from servicecenter.uebergabe import service  # noqa: E402
from servicecenter.uebergabe.adapter import Registry  # noqa: E402
from servicecenter.uebergabe.models import Uebergabe, UebergabeStatus  # noqa: E402

SECRET = "bench-geheimnis"


def freier_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(*teile) -> None:
    print(*teile, file=sys.stderr, flush=True)


class Stub:
    def __init__(self, arbeitsordner: Path, fehler_500: float, timeout: float, schlaf: float) -> None:
        self.port = freier_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "STUB_DB": str(arbeitsordner / "stub.db"), "STUB_SECRET": SECRET,
                    "STUB_FEHLER_500": str(fehler_500), "STUB_TIMEOUT": str(timeout), "STUB_SCHLAF": str(schlaf)}
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(WURZEL / "tests" / "integration"),
             "stub_fachverfahren:app", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=self.env, stdout=subprocess.DEVNULL,
        )
        ende = time.monotonic() + 30
        while time.monotonic() < ende:
            try:
                httpx.get(f"{self.url}/statistik", timeout=0.5)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("Stub startet nicht")

    def toeten(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def worker_starten(name: str, url: str, stub_url: str, arbeitsordner: Path, a: argparse.Namespace) -> subprocess.Popen:
    env = {
        **os.environ,
        "SERVICECENTER_DATABASE_URL": url,
        "SERVICECENTER_DB_AUTO_UPGRADE": "false",
        "SERVICECENTER_LOG_LEVEL": "WARNING",
        "SERVICECENTER_UEBERGABE_ADAPTER": json.dumps(
            {"fv": {"typ": "rest", "url": f"{stub_url}/vorgaenge", "secret": SECRET, "timeout": a.http_timeout}}),
        "SERVICECENTER_UEBERGABE_ZUORDNUNG": json.dumps({"*": "fv"}),
        "SERVICECENTER_UEBERGABE_BACKOFF_BASIS_SEKUNDEN": "0.2",
        "SERVICECENTER_UEBERGABE_BACKOFF_MAX_SEKUNDEN": "2",
        "SERVICECENTER_UEBERGABE_MAX_ALTER_STUNDEN": "1",
        "SERVICECENTER_WORKER_LEASE_SEKUNDEN": str(a.lease),
        "SERVICECENTER_WORKER_INTERVALL_SEKUNDEN": "0.1",
        "SERVICECENTER_WORKER_STAPEL": "10",
    }
    return subprocess.Popen([sys.executable, "-m", "servicecenter.cli", "worker", "--name", name], env=env,
                            cwd=arbeitsordner, stdout=subprocess.DEVNULL, stderr=open(arbeitsordner / f"{name}.log", "w"))


def tickets_anlegen(sessions, anzahl: int) -> None:
    registry = Registry({"fv": {"typ": "rest", "url": "http://unbenutzt", "secret": SECRET}}, {"*": "fv"})
    einst = tickets.TicketEinstellungen()
    for start in range(0, anzahl, 200):
        with sessions() as s:
            for i in range(start, min(anzahl, start + 200)):
                t = tickets.ticket_anlegen(s, anliegen=f"Mängelmeldung {i}: Straßenlaterne defekt",
                                           kanal=Kanal.telefon, benutzer=None, einstellungen=einst)
                service.uebergeben(s, t, benutzer=None, registry=registry, einstellungen=einst)
            s.commit()


def zaehlen(sessions) -> Counter:
    with sessions() as s:
        return Counter(dict(s.execute(select(Uebergabe.status, func.count()).group_by(Uebergabe.status)).all()))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--db", default=os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    p.add_argument("--tickets", type=int, default=2000)
    p.add_argument("--http-timeout", type=float, default=0.3)
    p.add_argument("--lease", type=float, default=10)
    p.add_argument("--ausfall-sekunden", type=float, default=8)
    p.add_argument("--frist", type=float, default=270, help="give up after this many seconds of delivery")
    a = p.parse_args()

    basis = make_url(a.db)
    name = f"bench_uebergabe_{uuid.uuid4().hex[:8]}"
    admin = create_engine(basis, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = basis.set(database=name).render_as_string(hide_password=False)
    prozesse: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="bench-uebergabe-") as tmp:
        arbeitsordner = Path(tmp)
        stub = Stub(arbeitsordner, fehler_500=0.3, timeout=0.1, schlaf=1.0)
        engine = make_engine(url)
        try:
            upgrade(url)
            sessions = make_sessionmaker(engine)
            t0 = time.monotonic()
            tickets_anlegen(sessions, a.tickets)
            log(f"{a.tickets} Tickets übergeben (Outbox) in {time.monotonic() - t0:.1f} s")
            stub.start()

            start = time.monotonic()
            w1 = worker_starten("w1", url, stub.url, arbeitsordner, a)
            w2 = worker_starten("w2", url, stub.url, arbeitsordner, a)
            prozesse += [w1, w2]
            w1_getoetet = w1_neu = ausfall_beginn = ausfall_ende = None
            while True:
                time.sleep(0.25)
                z = zaehlen(sessions)
                fertig = z[UebergabeStatus.zugestellt] + z[UebergabeStatus.fehlgeschlagen]
                jetzt_s = time.monotonic() - start
                if w1_getoetet is None and fertig >= a.tickets * 0.2:
                    w1.send_signal(signal.SIGKILL)  # mid-delivery: its claimed rows keep their lease
                    w1.wait()
                    w1_getoetet = jetzt_s
                    log(f"{jetzt_s:6.1f} s: Worker 1 mit SIGKILL beendet ({fertig} zugestellt)")
                if w1_getoetet is not None and w1_neu is None and jetzt_s >= w1_getoetet + 2:
                    prozesse.append(worker_starten("w1-neu", url, stub.url, arbeitsordner, a))
                    w1_neu = jetzt_s
                    log(f"{jetzt_s:6.1f} s: Worker 1 neu gestartet")
                if ausfall_beginn is None and fertig >= a.tickets * 0.5:
                    stub.toeten()
                    ausfall_beginn = jetzt_s
                    log(f"{jetzt_s:6.1f} s: Fachverfahren ausgefallen ({fertig} zugestellt)")
                if ausfall_beginn is not None and ausfall_ende is None and jetzt_s >= ausfall_beginn + a.ausfall_sekunden:
                    stub.start()
                    ausfall_ende = jetzt_s
                    log(f"{jetzt_s:6.1f} s: Fachverfahren wieder da ({fertig} zugestellt)")
                if fertig >= a.tickets and ausfall_ende is not None or jetzt_s > a.frist:
                    break
            dauer = time.monotonic() - start
            for proc in prozesse:
                if proc.poll() is None:
                    proc.terminate()
            for proc in prozesse:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()

            statistik = httpx.get(f"{stub.url}/statistik", timeout=10).json()
            faelle: dict[str, str] = httpx.get(f"{stub.url}/faelle", timeout=30).json()
            with sessions() as s:
                zeilen = s.execute(select(Ticket.nummer, Uebergabe.status, Uebergabe.externe_id)
                                   .join(Uebergabe, Uebergabe.ticket_id == Ticket.id)).all()
            zugestellt = sum(1 for _, st, _ in zeilen if st == UebergabeStatus.zugestellt)
            fehlgeschlagen = sum(1 for _, st, _ in zeilen if st == UebergabeStatus.fehlgeschlagen)
            verloren = sum(1 for n, st, _ in zeilen if n not in faelle and st != UebergabeStatus.fehlgeschlagen)
            abweichend = sum(1 for n, st, e in zeilen if st == UebergabeStatus.zugestellt and faelle.get(n) != e)
            log(f"Empfänger: {statistik}")
            log(f"zugestellt {zugestellt}, fehlgeschlagen {fehlgeschlagen}, Vorgangsnummer abweichend {abweichend}")
            ergebnis = {
                "tickets": a.tickets, "zugestellt": zugestellt, "verloren": verloren,
                "doppelt_beim_empfaenger": statistik["doppelt"], "dauer_s": round(dauer, 1),
                "rate_pro_s": round(zugestellt / dauer, 1) if dauer else 0.0,
            }
        finally:
            for proc in prozesse:
                if proc.poll() is None:
                    proc.kill()
            stub.toeten()
            engine.dispose()
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    print(json.dumps(ergebnis))


if __name__ == "__main__":
    main()

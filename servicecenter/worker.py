"""The outbox worker (`servicecenter worker`): claims due outbox rows and runs their handlers.

Each round claims a batch with a lease (PostgreSQL: FOR UPDATE SKIP LOCKED, so several workers can run side by
side; SQLite: run one worker) and commits the claim. Every row is then delivered in its own transaction; the
result is written only while the worker still holds the lease. A worker killed mid-delivery leaves its lease to
expire, then another round takes the row again with the same Idempotency-Key. Failures are retried with
exponential backoff and jitter until the row is older than the maximum age; permanent errors end at once.
Kinds without a handler here (e.g. mail sending while no SMTP server is configured) are left alone.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from sqlalchemy.orm import Session, sessionmaker

from servicecenter.outbox import service as outbox
from servicecenter.outbox.models import OutboxEintrag
from servicecenter.uebergabe.adapter import EndgueltigerFehler, Kontext, UebergabeFehler
from wissensdatenbank.basis import jetzt as _jetzt

log = logging.getLogger(__name__)


class Handler(Protocol):
    arten: tuple[str, ...]

    def ausfuehren(self, session: Session, eintrag: OutboxEintrag, ctx: Kontext) -> None: ...

    def fehlgeschlagen(self, session: Session, eintrag: OutboxEintrag, fehler: str, jetzt: datetime) -> None: ...


@dataclass
class WorkerEinstellungen:
    lease: timedelta = timedelta(seconds=120)
    stapel: int = 20
    intervall: float = 2.0
    backoff_basis: float = 10.0
    backoff_max: float = 1800.0
    max_alter: timedelta = timedelta(hours=72)

    @classmethod
    def aus(cls, settings) -> WorkerEinstellungen:
        return cls(lease=timedelta(seconds=settings.worker_lease_sekunden), stapel=settings.worker_stapel,
                   intervall=settings.worker_intervall_sekunden,
                   backoff_basis=settings.uebergabe_backoff_basis_sekunden,
                   backoff_max=settings.uebergabe_backoff_max_sekunden,
                   max_alter=timedelta(hours=settings.uebergabe_max_alter_stunden))


def wartezeit(versuche: int, basis: float, maximum: float, zufall: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: a random point in the upper half of min(max, basis·2^(n-1))."""
    grenze = min(maximum, basis * (2 ** max(0, min(versuche - 1, 30))))
    return grenze * (0.5 + 0.5 * zufall())


@dataclass
class Worker:
    sessions: sessionmaker[Session] | Callable[[], Session]
    handler: list[Handler]
    einstellungen: WorkerEinstellungen = field(default_factory=WorkerEinstellungen)
    client: httpx.Client = field(default_factory=httpx.Client)
    name: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    uhr: Callable[[], datetime] = _jetzt
    zufall: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        self._nach_art = {art: h for h in self.handler for art in h.arten}

    def runde(self) -> int:
        """Claim one batch and process it; returns the number of rows handled."""
        with self.sessions() as session:
            ids = outbox.beanspruchen(session, arten=list(self._nach_art), worker=self.name,
                                      lease=self.einstellungen.lease, limit=self.einstellungen.stapel,
                                      jetzt=self.uhr())
            session.commit()
        for eintrag_id in ids:
            self._eins(eintrag_id)
        return len(ids)

    def _eins(self, eintrag_id: int) -> None:
        with self.sessions() as session:
            eintrag = session.get(OutboxEintrag, eintrag_id)
            if eintrag is None or eintrag.beansprucht_von != self.name:
                return
            handler = self._nach_art[eintrag.art]
            jetzt = self.uhr()
            try:
                handler.ausfuehren(session, eintrag, Kontext(client=self.client, jetzt=jetzt, session=session))
                if not outbox.haelt_lease(session, eintrag, self.name):
                    session.rollback()  # taken over after our lease ran out; the other worker decides
                    return
                eintrag.versuche += 1
                outbox.als_gesendet(eintrag, jetzt=jetzt)
                session.commit()
                return
            except EndgueltigerFehler as exc:
                fehler, endgueltig = str(exc), True
            except UebergabeFehler as exc:
                fehler, endgueltig = str(exc), False
            except Exception as exc:  # a bug or a database conflict: retry, log without personal data
                log.exception("outbox_fehler", extra={"outbox_id": eintrag_id})
                fehler, endgueltig = f"Interner Fehler ({type(exc).__name__})", False
            session.rollback()
            self._fehler(session, eintrag_id, fehler, endgueltig)

    def _fehler(self, session: Session, eintrag_id: int, fehler: str, endgueltig: bool) -> None:
        eintrag = session.get(OutboxEintrag, eintrag_id)
        if eintrag is None or not outbox.haelt_lease(session, eintrag, self.name):
            session.rollback()
            return
        jetzt = self.uhr()
        eintrag.versuche += 1
        zu_alt = jetzt - eintrag.erstellt_am >= self.einstellungen.max_alter
        if endgueltig or zu_alt:
            if zu_alt and not endgueltig:
                fehler = f"Zustellung nach {eintrag.versuche} Versuchen aufgegeben (Höchstalter erreicht): {fehler}"
            outbox.als_fehlgeschlagen(eintrag, fehler=fehler, jetzt=jetzt)
            self._nach_art[eintrag.art].fehlgeschlagen(session, eintrag, fehler, jetzt)
            log.warning("outbox_aufgegeben", extra={"outbox_id": eintrag_id, "art": eintrag.art,
                                                     "versuche": eintrag.versuche})
        else:
            pause = wartezeit(eintrag.versuche, self.einstellungen.backoff_basis, self.einstellungen.backoff_max,
                              self.zufall)
            outbox.spaeter_erneut(eintrag, fehler=fehler, naechster_versuch=jetzt + timedelta(seconds=pause))
            log.info("outbox_spaeter", extra={"outbox_id": eintrag_id, "art": eintrag.art,
                                              "versuche": eintrag.versuche, "pause_s": round(pause, 1)})
        session.commit()

    def aufraeumen(self) -> None:
        """Housekeeping hooks of the handlers (e.g. forgetting old callback signatures)."""
        with self.sessions() as session:
            for h in self.handler:
                if hasattr(h, "aufraeumen"):
                    h.aufraeumen(session, self.uhr())
            session.commit()

    def laufen(self, stopp: threading.Event, *, aufraeumen_alle: float = 600) -> None:
        """Rounds until `stopp` is set; sleeps between empty rounds; housekeeping every `aufraeumen_alle` s."""
        log.info("worker_gestartet", extra={"worker": self.name})
        naechstes_aufraeumen = 0.0
        while not stopp.is_set():
            try:
                if time.monotonic() >= naechstes_aufraeumen:
                    self.aufraeumen()
                    naechstes_aufraeumen = time.monotonic() + aufraeumen_alle
                n = self.runde()
            except Exception:
                log.exception("worker_runde_fehlgeschlagen")
                n = 0
            if n == 0:
                stopp.wait(self.einstellungen.intervall)
        log.info("worker_beendet", extra={"worker": self.name})


def aus_settings(settings, *, name: str | None = None) -> Worker:
    from servicecenter.db import make_engine, make_sessionmaker
    from servicecenter.tickets.service import TicketEinstellungen
    from servicecenter.uebergabe.adapter import Registry
    from servicecenter.uebergabe.service import Zustellung

    sessions = make_sessionmaker(make_engine(settings.database_url))
    zustellung = Zustellung(registry=Registry.aus_settings(settings), einstellungen=TicketEinstellungen.aus(settings))
    handler: list[Handler] = [zustellung]
    if settings.smtp_host:  # e-mail sending (kanaele.email); without an SMTP server the mails stay queued
        from kanaele.email.versand import MailVersand

        handler.append(MailVersand(settings))
    # [email-aufbewahrung] housekeeping only (no outbox kinds): raw inbound mails are deleted after the retention period
    from kanaele.email.pipeline import MailAufbewahrung

    handler.append(MailAufbewahrung(settings.mail_roh_aufbewahren_tage))
    from kanaele.chat.service import ChatAufbewahrung

    handler.append(ChatAufbewahrung(settings.chat_aufbewahren_tage))
    w = Worker(sessions=sessions, handler=handler, einstellungen=WorkerEinstellungen.aus(settings),
               client=httpx.Client(headers={"User-Agent": "servicecenter115-worker"}))
    if name:
        w.name = name
    return w


def starten(settings, *, name: str | None = None, einmal: bool = False) -> None:
    """Run the worker in this process until SIGTERM/SIGINT (or one round with einmal)."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is noise
    w = aus_settings(settings, name=name)
    if einmal:
        w.runde()
        return
    stopp = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopp.set())
    w.laufen(stopp)

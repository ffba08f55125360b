"""SMTP/LMTP receiver (`servicecenter mail-empfang`): an MTA delivers the service address to it.

Every message is stored raw in its own committed transaction before the server answers 250 (so an accepted
mail is never lost); processing by the pipeline follows in a background thread after the answer. A mail over
`mail_max_bytes` is refused with a polite 552 (SIZE is announced in EHLO/LHLO, so most clients never even send
it); if storing fails the client gets a temporary 451 and tries again. LMTP answers once per recipient.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from kanaele.email import speicher
from kanaele.email.models import MailEingang
from wissensdatenbank.basis import jetzt as _jetzt

log = logging.getLogger(__name__)


class Verarbeitung(Protocol):
    def verarbeiten(self, eingang_id: int) -> Any: ...


def zu_gross_text(max_bytes: int) -> str:
    mb = max_bytes / (1024 * 1024)
    groesse = f"{mb:.0f} MB" if mb >= 1 else f"{max_bytes} Byte"
    # SMTP replies are US-ASCII (RFC 5321): German without umlauts. The MTA quotes it in its bounce to the sender.
    return (f"552 5.3.4 Ihre Nachricht ist leider zu gross (hoechstens {groesse}). Bitte senden Sie grosse "
            f"Anhaenge aufgeteilt auf mehrere Nachrichten. - Message too large (max {max_bytes} bytes).")


class _Hoeflich:
    """aiosmtpd answers oversize mail with a curt fixed text (and once only, also under LMTP): replace it."""

    hoeflich_552: str = "552 5.3.4 Message too large"
    pro_empfaenger: bool = False

    async def push(self, status: str) -> None:  # type: ignore[override]
        if status.startswith("552 Error:"):
            n = len(self.envelope.rcpt_tos) if self.pro_empfaenger and self.envelope is not None else 1
            status = "\r\n".join([self.hoeflich_552] * max(1, n))
        await super().push(status)  # type: ignore[misc]


class _Smtp(_Hoeflich, SMTP):
    pass


class _Lmtp(_Hoeflich, LMTP):
    pro_empfaenger = True


def adresse_erlaubt(adresse: str, erlaubt: Sequence[str]) -> bool:
    """`erlaubt` holds full addresses or `@domain`; empty means every recipient is accepted."""
    if not erlaubt:
        return True
    a = (speicher.adresse_normal(adresse) or "")
    domain = "@" + a.rpartition("@")[2]
    return any(e.strip().lower() in (a, domain) for e in erlaubt)


class EmpfangsHandler:
    """aiosmtpd handler: accepted recipients, raw storage, then processing in the background."""

    def __init__(self, sessions: Callable[[], Any], verarbeitung: Verarbeitung | None, *, lmtp: bool,
                 erlaubte_empfaenger: Sequence[str] = ()) -> None:
        self.sessions = sessions
        self.verarbeitung = verarbeitung
        self.lmtp = lmtp
        self.erlaubt = list(erlaubte_empfaenger)
        # One processing thread: ordered, and SQLite serialises writers anyway.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail-verarbeitung")

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if not adresse_erlaubt(address, self.erlaubt):
            return "550 5.1.1 Diese Adresse nehmen wir hier nicht an (mailbox unavailable)."
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        roh = bytes(envelope.original_content or b"")
        quelle = "lmtp" if self.lmtp else "smtp"
        loop = asyncio.get_running_loop()
        try:
            eingang_id = await loop.run_in_executor(None, self._speichern, roh, quelle, envelope.mail_from,
                                                    list(envelope.rcpt_tos))
        except Exception:
            log.exception("mail_speichern_fehlgeschlagen", extra={"quelle": quelle, "groesse": len(roh)})
            return self._antwort(envelope, "451 4.3.0 Voruebergehender Fehler, bitte spaeter erneut senden.")
        log.info("mail_angenommen", extra={"quelle": quelle, "eingang_id": eingang_id, "groesse": len(roh)})
        if self.verarbeitung is not None:
            self._pool.submit(self._verarbeiten, eingang_id)
        return self._antwort(envelope, f"250 2.0.0 OK: gespeichert als {eingang_id}")

    def _antwort(self, envelope: Envelope, zeile: str) -> str:
        # LMTP: one reply per accepted recipient (RFC 2033); the message is stored once for all of them.
        return "\r\n".join([zeile] * len(envelope.rcpt_tos)) if self.lmtp else zeile

    def _speichern(self, roh: bytes, quelle: str, von: str | None, an: list[str]) -> int:
        with self.sessions() as s:
            eingang = speicher.roh_speichern(s, roh, quelle=quelle, umschlag_von=von or None, umschlag_an=an)
            s.commit()
            return eingang.id

    def _verarbeiten(self, eingang_id: int) -> None:
        try:
            self.verarbeitung.verarbeiten(eingang_id)  # type: ignore[union-attr]
        except Exception:  # the raw mail is stored: it can be reprocessed
            log.exception("mail_verarbeitung_fehlgeschlagen", extra={"eingang_id": eingang_id})

    def liegengebliebene_nachholen(self, *, aelter_als: timedelta = timedelta(minutes=10),
                                   jetzt: datetime | None = None) -> int:
        """Queue stored mails that were never processed (the process died after the 250). Only older ones, so a
        mail another process (IMAP poller, second receiver) is processing right now is left to it."""
        if self.verarbeitung is None:
            return 0
        grenze = (jetzt or _jetzt()) - aelter_als
        with self.sessions() as s:
            ids = list(s.scalars(select(MailEingang.id).where(MailEingang.status == "neu",
                                                             MailEingang.empfangen_am < grenze)
                                 .order_by(MailEingang.id).limit(10_000)))
        for eingang_id in ids:
            self._pool.submit(self._verarbeiten, eingang_id)
        if ids:
            log.info("mail_nachgeholt", extra={"anzahl": len(ids)})
        return len(ids)

    def warten(self) -> None:
        """Block until every processing job submitted so far has finished (tests, shutdown)."""
        self._pool.submit(lambda: None).result()

    def schliessen(self) -> None:
        self._pool.shutdown(wait=True)


class _Controller(Controller):
    def __init__(self, handler: EmpfangsHandler, *, lmtp: bool, max_bytes: int, **kwargs: Any) -> None:
        self._lmtp, self._max_bytes = lmtp, max_bytes
        super().__init__(handler, data_size_limit=max_bytes, **kwargs)

    def factory(self) -> SMTP:
        klasse = _Lmtp if self._lmtp else _Smtp
        server = klasse(self.handler, **self.SMTP_kwargs)
        server.hoeflich_552 = zu_gross_text(self._max_bytes)
        return server


class MailEmpfaenger:
    """The receiver as a start/stop object (aiosmtpd runs its own event loop in a thread)."""

    def __init__(self, sessions: Callable[[], Any], verarbeitung: Verarbeitung | None, *, host: str, port: int,
                 lmtp: bool = False, max_bytes: int = 10 * 1024 * 1024,
                 erlaubte_empfaenger: Sequence[str] = (), hostname: str | None = None) -> None:
        self.handler = EmpfangsHandler(sessions, verarbeitung, lmtp=lmtp, erlaubte_empfaenger=erlaubte_empfaenger)
        self.host, self.port, self.lmtp = host, port, lmtp
        kwargs: dict[str, Any] = {"hostname": host, "port": port}
        if hostname:
            kwargs["server_hostname"] = hostname
        self._controller = _Controller(self.handler, lmtp=lmtp, max_bytes=max_bytes, **kwargs)

    def start(self) -> None:
        # aiosmtpd logs envelope addresses and peers at INFO ("mail.log"): no personal data in our logs.
        logging.getLogger("mail.log").setLevel(logging.WARNING)
        self._controller.start()
        self.handler.liegengebliebene_nachholen()
        log.info("mail_empfang_gestartet", extra={"host": self.host, "port": self.port,
                                                 "protokoll": "lmtp" if self.lmtp else "smtp"})

    def stop(self) -> None:
        self._controller.stop()
        self.handler.schliessen()
        log.info("mail_empfang_beendet")

    def warten(self) -> None:
        self.handler.warten()


def aus_settings(settings, *, host: str | None = None, port: int | None = None, lmtp: bool | None = None,
                 sessions=None, verarbeitung: Verarbeitung | None = None) -> MailEmpfaenger:
    """Build the receiver with the pipeline (and its knowledge base, indexed once at start)."""
    if sessions is None:
        from servicecenter.db import make_engine, make_sessionmaker

        sessions = make_sessionmaker(make_engine(settings.database_url))
    if verarbeitung is None:
        verarbeitung = pipeline_bauen(settings, sessions)
    return MailEmpfaenger(sessions, verarbeitung, host=host or settings.mail_empfang_host,
                          port=port or settings.mail_empfang_port,
                          lmtp=settings.mail_empfang_lmtp if lmtp is None else lmtp,
                          max_bytes=settings.mail_max_bytes, erlaubte_empfaenger=settings.mail_empfang_adressen)


def pipeline_bauen(settings, sessions):
    """A1's pipeline with a knowledge base built the way the web app builds it."""
    from kanaele.email.pipeline import MailVerarbeitung
    from wissensdatenbank.service import Wissensdatenbank

    wdb = Wissensdatenbank(sessions)
    n = wdb.aufbauen()
    log.info("mail_wissensdatenbank_bereit", extra={"leistungen_im_index": n})
    return MailVerarbeitung(sessions, wdb, settings)


def starten(settings, *, host: str | None = None, port: int | None = None, lmtp: bool | None = None) -> None:
    """Run the receiver in this process until SIGTERM/SIGINT."""
    empfaenger = aus_settings(settings, host=host, port=port, lmtp=lmtp)
    stopp = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopp.set())
    empfaenger.start()
    try:
        while not stopp.wait(1):
            pass
    finally:
        empfaenger.stop()


__all__ = ["EmpfangsHandler", "MailEmpfaenger", "adresse_erlaubt", "aus_settings", "pipeline_bauen", "starten",
           "zu_gross_text"]

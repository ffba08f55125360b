"""IMAP polling of the service mailbox (`servicecenter mail-imap`), with IDLE where the server supports it.

Per message: the raw mail is stored first (own committed transaction), then processed by the pipeline, then
moved to the processed folder (MOVE, or COPY + \\Deleted + EXPUNGE without MOVE). A mail that cannot be stored
or whose processing failed goes to the error folder; the raw copy stays in the database for reprocessing. A
mail over `mail_max_bytes` is not downloaded: it goes to the rejection folder and the sender gets one polite
notice (never an automatic sender). A crash between storing and moving only means the mail is seen again; the
stored copy is found by its checksum and not stored twice.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Any

from imapclient import IMAPClient
from sqlalchemy import select

from kanaele.email import speicher
from kanaele.email.models import MailEingang

log = logging.getLogger(__name__)

HINWEIS_BETREFF = "Ihre Nachricht konnte nicht angenommen werden"
IDLE_HOECHSTENS_SEKUNDEN = 25 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
_SYSTEM_ABSENDER = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounce[s]?)([+-].*)?@", re.I)


@dataclass
class AbrufErgebnis:
    verarbeitet: int = 0
    fehler: int = 0
    abgelehnt: int = 0


def ist_automatisch(kopf: email.message.Message) -> bool:
    """Headers that mark an automatic mail (auto-reply, bounce, list): such a sender gets no notice from us."""
    auto = str(kopf.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return True
    if str(kopf.get("Precedence", "") or kopf.get("X-Precedence", "")).strip().lower() in ("bulk", "junk", "list",
                                                                                        "auto_reply"):
        return True
    if any(kopf.get(k) for k in ("List-Id", "List-Unsubscribe", "X-Autoreply", "X-Autorespond", "X-Loop")):
        return True
    if str(kopf.get("X-Auto-Response-Suppress", "")).strip():
        return True
    if str(kopf.get("Return-Path", "")).strip() == "<>":
        return True
    absender = getaddresses([str(kopf.get("From", ""))])
    return not absender or not absender[0][1] or bool(_SYSTEM_ABSENDER.match(absender[0][1]))


class ImapAbruf:
    """One mailbox. `verbinden()` returns a logged-in client with the inbox selected."""

    def __init__(self, settings, sessions: Callable[[], Any], verarbeitung, *, passwort: str | None = None,
                 ssl_kontext=None) -> None:
        self.s = settings
        self.sessions = sessions
        self.verarbeitung = verarbeitung
        self.passwort = settings.imap_passwort.get_secret_value() if passwort is None else passwort
        self.ssl_kontext = ssl_kontext
        self.idle_runden = 0  # how often we waited with IDLE (observable in tests and logs)

    # --- connection --------------------------------------------------------------------------------------
    def verbinden(self) -> IMAPClient:
        client = IMAPClient(self.s.imap_host, port=self.s.imap_port, ssl=self.s.imap_ssl,
                            ssl_context=self.ssl_kontext, timeout=60)
        client.login(self.s.imap_benutzer, self.passwort)
        for ordner in (self.s.imap_ordner_verarbeitet, self.s.imap_ordner_fehler, self.s.imap_ordner_abgelehnt):
            if not client.folder_exists(ordner):
                client.create_folder(ordner)
        client.select_folder(self.s.imap_ordner)
        return client

    # --- one pass ----------------------------------------------------------------------------------------
    def einmal(self, client: IMAPClient) -> AbrufErgebnis:
        """Handle every message currently in the folder."""
        ergebnis = AbrufErgebnis()
        uids = client.search(["NOT", "DELETED"])
        if not uids:
            return ergebnis
        groessen = client.fetch(uids, ["RFC822.SIZE"])
        for uid in uids:
            groesse = groessen.get(uid, {}).get(b"RFC822.SIZE", 0)
            if groesse > self.s.mail_max_bytes:
                self._zu_gross(client, uid, groesse)
                ergebnis.abgelehnt += 1
                continue
            ziel = self.s.imap_ordner_verarbeitet
            try:
                roh = client.fetch([uid], ["BODY.PEEK[]"])[uid][b"BODY[]"]
                eingang_id = self._speichern(roh)
            except Exception:
                log.exception("imap_speichern_fehlgeschlagen", extra={"uid": uid})
                self._verschieben(client, uid, self.s.imap_ordner_fehler)
                ergebnis.fehler += 1
                continue
            if not self._verarbeiten(eingang_id):
                ziel = self.s.imap_ordner_fehler
                ergebnis.fehler += 1
            else:
                ergebnis.verarbeitet += 1
            self._verschieben(client, uid, ziel)
        if ergebnis.verarbeitet or ergebnis.fehler or ergebnis.abgelehnt:
            log.info("imap_abruf", extra={"verarbeitet": ergebnis.verarbeitet, "fehler": ergebnis.fehler,
                                          "abgelehnt": ergebnis.abgelehnt})
        return ergebnis

    def _speichern(self, roh: bytes) -> int:
        pruefsumme = hashlib.sha256(roh).hexdigest()
        with self.sessions() as s:
            # Seen before (crash between storing and moving): do not store it twice.
            vorhanden = s.scalar(select(MailEingang.id).where(MailEingang.sha256 == pruefsumme,
                                                              MailEingang.quelle == "imap"))
            if vorhanden is not None:
                return vorhanden
            eingang = speicher.roh_speichern(s, roh, quelle="imap",
                                             umschlag_an=[self.s.imap_benutzer] if self.s.imap_benutzer else [])
            s.commit()
            return eingang.id

    def _verarbeiten(self, eingang_id: int) -> bool:
        if self.verarbeitung is None:
            return True
        try:
            self.verarbeitung.verarbeiten(eingang_id)
        except Exception:
            log.exception("imap_verarbeitung_fehlgeschlagen", extra={"eingang_id": eingang_id})
            return False
        with self.sessions() as s:
            status = s.scalar(select(MailEingang.status).where(MailEingang.id == eingang_id))
        return status != "fehler"

    def _verschieben(self, client: IMAPClient, uid: int, ordner: str) -> None:
        if client.has_capability("MOVE"):
            client.move([uid], ordner)
            return
        client.copy([uid], ordner)
        client.delete_messages([uid])
        if client.has_capability("UIDPLUS"):
            client.uid_expunge([uid])
        else:
            client.expunge()

    def _zu_gross(self, client: IMAPClient, uid: int, groesse: int) -> None:
        kopf_roh = client.fetch([uid], ["BODY.PEEK[HEADER]"])[uid][b"BODY[HEADER]"]
        kopf = email.message_from_bytes(kopf_roh, policy=email.policy.compat32)
        self._verschieben(client, uid, self.s.imap_ordner_abgelehnt)
        absender = getaddresses([str(kopf.get("Reply-To") or kopf.get("From") or "")])
        adresse = absender[0][1] if absender else ""
        if ist_automatisch(kopf) or "@" not in adresse or adresse.lower() == self.s.mail_absender.lower():
            log.info("imap_zu_gross_ohne_hinweis", extra={"groesse": groesse})
            return
        from kanaele.email.versand import mail_vormerken

        if self._hinweis_kuerzlich(adresse):  # one notice per sender and day (RFC 3834 spirit: no storms)
            log.info("imap_zu_gross_hinweis_schon_gesendet", extra={"groesse": groesse})
            return

        betreff = str(email.header.make_header(email.header.decode_header(str(kopf.get("Subject") or ""))))
        mb = self.s.mail_max_bytes / (1024 * 1024)
        text = (
            "Guten Tag,\n\n"
            f"Ihre Nachricht{f' „{betreff[:150]}“' if betreff else ''} ist leider zu groß "
            f"({groesse / (1024 * 1024):.1f} MB); wir können Nachrichten bis {mb:.0f} MB annehmen. "
            "Sie wurde deshalb nicht bearbeitet.\n\n"
            "Bitte senden Sie Ihr Anliegen erneut und teilen Sie große Anhänge auf mehrere Nachrichten auf, "
            "oder rufen Sie uns unter der Behördennummer 115 an (Mo–Fr 8–18 Uhr).\n\n"
            "Mit freundlichen Grüßen\nIhr Servicecenter 115"
        )
        with self.sessions() as s:
            mail_vormerken(s, an=adresse, betreff=HINWEIS_BETREFF, text=text,
                           in_reply_to=str(kopf.get("Message-ID") or "").strip() or None,
                           automatisch="auto-replied", settings=self.s)
            s.commit()
        log.info("imap_zu_gross_hinweis_vorgemerkt", extra={"groesse": groesse})

    def _hinweis_kuerzlich(self, adresse: str) -> bool:
        from datetime import timedelta

        from kanaele.email.versand import ART
        from servicecenter.outbox.models import OutboxEintrag
        from wissensdatenbank.basis import jetzt

        grenze = jetzt() - timedelta(hours=24)
        with self.sessions() as s:
            zeilen = s.scalars(select(OutboxEintrag.payload).where(OutboxEintrag.art == ART,
                                                                  OutboxEintrag.erstellt_am >= grenze))
            return any(p.get("betreff") == HINWEIS_BETREFF and str(p.get("an", "")).lower() == adresse.lower()
                       for p in zeilen)

    # --- loop --------------------------------------------------------------------------------------------
    def warten(self, client: IMAPClient, stopp: threading.Event) -> None:
        """Until something may have changed: IDLE if the server announces it (and it is switched on), else sleep."""
        if self.s.imap_idle and client.has_capability("IDLE"):
            self.idle_runden += 1
            client.idle()
            try:
                # Short slices so a stop request is honoured quickly; any untagged response means: look again.
                rest = min(self.s.imap_intervall_sekunden, IDLE_HOECHSTENS_SEKUNDEN)
                while rest > 0 and not stopp.is_set():
                    scheibe = min(rest, 1.0)
                    if client.idle_check(timeout=scheibe):
                        break
                    rest -= scheibe
            finally:
                client.idle_done()
        else:
            stopp.wait(self.s.imap_intervall_sekunden)

    def laufen(self, stopp: threading.Event) -> None:
        """Poll until `stopp` is set; reconnects with a growing pause after errors."""
        pause = 1.0
        while not stopp.is_set():
            client = None
            try:
                client = self.verbinden()
                log.info("imap_verbunden", extra={"idle": client.has_capability("IDLE") and self.s.imap_idle})
                pause = 1.0
                while not stopp.is_set():
                    self.einmal(client)
                    self.warten(client, stopp)
            except Exception as exc:
                log.warning("imap_verbindung_fehler", extra={"fehler": type(exc).__name__, "pause_s": pause})
                stopp.wait(pause)
                pause = min(pause * 2, 300)
            finally:
                if client is not None:
                    try:
                        client.logout()
                    except Exception:
                        pass


def aus_settings(settings, *, sessions=None, verarbeitung=None) -> ImapAbruf:
    if sessions is None:
        from servicecenter.db import make_engine, make_sessionmaker

        sessions = make_sessionmaker(make_engine(settings.database_url))
    if verarbeitung is None:
        from kanaele.email.empfang import pipeline_bauen

        verarbeitung = pipeline_bauen(settings, sessions)
    return ImapAbruf(settings, sessions, verarbeitung)


def starten(settings, *, einmal: bool = False) -> None:
    """`servicecenter mail-imap`: one pass with einmal, else a loop until SIGTERM/SIGINT."""
    abruf = aus_settings(settings)
    if einmal:
        client = abruf.verbinden()
        try:
            abruf.einmal(client)
        finally:
            client.logout()
        return
    stopp = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopp.set())
    abruf.laufen(stopp)


__all__ = ["AbrufErgebnis", "ImapAbruf", "aus_settings", "ist_automatisch", "starten"]

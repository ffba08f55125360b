"""Sending e-mail: queue a mail in the outbox (`mail_vormerken`), deliver it from the worker (`MailVersand`).

Every outgoing mail goes through the outbox, so a failed SMTP conversation is retried with backoff and a crash
never loses a mail. The Message-ID is fixed when the row is written (ART) or derived from the row's idempotency
key (the older kinds), so a resend after a crash carries the same Message-ID and the citizen's mail client
de-duplicates it. Temporary SMTP errors (4xx, refused connection, timeout) are retried; a recipient rejected
with 5xx and an address flagged undeliverable by a hard bounce end the row at once with an internal note on the
ticket.
"""

from __future__ import annotations

import asyncio
import hashlib
import html as html_lib
import logging
import re
import secrets
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.orm import Session

from kanaele.email import speicher
from kanaele.email.models import MailEingang, MailNachricht
from servicecenter.outbox.models import OutboxEintrag
from servicecenter.outbox.service import in_outbox
from servicecenter.uebergabe.adapter import EndgueltigerFehler, Kontext, UebergabeFehler

log = logging.getLogger(__name__)

ART = "email_senden"
# Outbox kinds written by other features before the mail channel existed; delivered here as well.
ART_TICKET_NACHRICHT = "ticket_nachricht"
ART_DESK_ANTWORT = "desk_antwort_email"
ART_STATUS = "status_email"
ART_UEBERGABE = "uebergabe_email"
ARTEN = (ART, ART_TICKET_NACHRICHT, ART_DESK_ANTWORT, ART_STATUS, ART_UEBERGABE)

AUTOMATISCH = ("auto-replied", "auto-generated")
MAX_REFERENCES = 20
_ANTWORT_PRAEFIX = re.compile(r"^\s*((re|aw|wg|fw|fwd|antw)(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_ADRESSE = re.compile(r"<?[^\s<>@]+@[^\s<>@]+>?")
_EINE_ADRESSE = re.compile(r"^[^\s<>@,;\"]+@[^\s<>@,;\"]+$")  # exactly one bare address, nothing to inject


# --- queueing ---------------------------------------------------------------------------------------------


def _settings(settings):
    if settings is None:
        from servicecenter.settings import get_settings

        settings = get_settings()
    return settings


def neue_message_id(settings) -> str:
    """A fresh Message-ID on our domain, in angle brackets (as in the header)."""
    return f"<{secrets.token_hex(12)}.sc115@{settings.mail_domain}>"


def message_id_aus_schluessel(schluessel: str, domain: str) -> str:
    """The stable Message-ID of an outbox row without its own (the older kinds): same row, same id."""
    return f"<{hashlib.sha256(schluessel.encode()).hexdigest()[:24]}.sc115@{domain}>"


def mail_vormerken(session: Session, *, an: str, betreff: str, text: str, html: str | None = None,
                   ticket_id: int | None = None, in_reply_to: str | None = None, references: Sequence[str] = (),
                   automatisch: str | None = None, queue_id: int | None = None, jetzt: datetime | None = None,
                   settings=None) -> str:
    """Queue one mail in the outbox (caller's transaction); returns its Message-ID ("<…@mail_domain>").

    With `ticket_id` the Message-ID is registered for threading (richtung "aus"), so the citizen's reply finds
    the ticket. `automatisch` ("auto-replied" | "auto-generated") adds the headers that stop other
    auto-responders from answering. The Message-ID is the row's idempotency key: a resend reuses it.
    """
    if automatisch is not None and automatisch not in AUTOMATISCH:
        raise ValueError(f"automatisch muss None oder eines von {AUTOMATISCH} sein")
    settings = _settings(settings)
    mid = neue_message_id(settings)
    in_outbox(session, art=ART, jetzt=jetzt, idempotenz_schluessel=f"mail:{speicher.message_id_normal(mid)}"[:100],
              payload={
                  "message_id": mid, "an": an.strip(), "betreff": betreff, "text": text, "html": html,
                  "ticket_id": ticket_id, "in_reply_to": in_reply_to, "references": list(references),
                  "automatisch": automatisch, "queue_id": queue_id,
              })
    if ticket_id is not None:
        speicher.nachricht_registrieren(session, message_id=mid, ticket_id=ticket_id, richtung="aus", adresse=an)
    return mid


# --- building a message ---------------------------------------------------------------------------------------


@dataclass
class Anlage:
    dateiname: str
    mimetyp: str
    inhalt: bytes


@dataclass
class Mail:
    """Everything needed to build one message; the handlers fill it from the outbox row."""

    an: str
    betreff: str
    text: str
    message_id: str
    html: str | None = None
    absender: str | None = None  # overrides the configured From address (hand-off adapter parameter)
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    automatisch: str | None = None
    queue_id: int | None = None
    ticket_id: int | None = None
    signatur: bool = True
    anlagen: list[Anlage] = field(default_factory=list)


def _klammern(mid: str) -> str:
    mid = "".join(str(mid).split())  # no whitespace, above all no CR/LF (header injection)
    return mid if mid.startswith("<") else f"<{mid}>"


def signatur_fuer(settings, queue_id: int | None) -> str:
    texte = settings.mail_signatur or {}
    if queue_id is not None and str(queue_id) in texte:
        return texte[str(queue_id)]
    return texte.get("*", "")


def nachricht_bauen(mail: Mail, settings, *, jetzt: datetime) -> EmailMessage:
    """A standards-conforming MIME message: UTF-8 text (and HTML alternative), RFC 2047 headers."""
    msg = EmailMessage()
    absender = mail.absender or settings.mail_absender
    msg["From"] = Address(display_name=settings.mail_absender_name, addr_spec=absender)
    msg["To"] = mail.an
    msg["Subject"] = " ".join(mail.betreff.split())[:900]
    msg["Date"] = format_datetime(jetzt)
    msg["Message-ID"] = _klammern(mail.message_id)
    if mail.in_reply_to:
        msg["In-Reply-To"] = _klammern(mail.in_reply_to)
    refs = [_klammern(r) for r in mail.references if r][-MAX_REFERENCES:]
    if mail.in_reply_to and _klammern(mail.in_reply_to) not in refs:
        refs.append(_klammern(mail.in_reply_to))
    if refs:
        msg["References"] = " ".join(refs)
    if mail.automatisch:
        msg["Auto-Submitted"] = mail.automatisch
        msg["Precedence"] = "bulk"
        msg["X-Auto-Response-Suppress"] = "All"
    msg["MIME-Version"] = "1.0"
    text, html = mail.text, mail.html
    signatur = signatur_fuer(settings, mail.queue_id) if mail.signatur else ""
    if signatur:
        text = f"{text.rstrip()}\n\n-- \n{signatur}\n"
        if html is not None:
            sig_html = "<br>\n".join(html_lib.escape(z) for z in signatur.splitlines())
            block = f'<p class="signatur">-- <br>\n{sig_html}</p>\n'
            ende = html.lower().rfind("</body>")
            # Inside the body of a full HTML document, else appended.
            html = f"{html[:ende]}{block}{html[ende:]}" if ende >= 0 else f"{html}\n{block}"
    msg.set_content(text, charset="utf-8", cte="quoted-printable")
    if html is not None:
        msg.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    for a in mail.anlagen:
        haupt, _, unter = (a.mimetyp or "application/octet-stream").partition("/")
        msg.add_attachment(a.inhalt, maintype=haupt or "application", subtype=unter or "octet-stream",
                           filename=a.dateiname)
    return msg


# --- transport ------------------------------------------------------------------------------------------------


def _ohne_adressen(text: str) -> str:
    """Server replies often quote the address; errors go to logs and agents without it."""
    return _ADRESSE.sub("<…>", " ".join(str(text).split()))[:300]


@dataclass
class SmtpTransport:
    host: str
    port: int = 25
    sicherheit: str = "starttls"  # none | starttls | tls
    benutzer: str = ""
    passwort: str = ""
    timeout: float = 30
    tls_kontext: ssl.SSLContext | None = None  # tests: trust a self-signed certificate

    @classmethod
    def aus_settings(cls, settings) -> SmtpTransport:
        return cls(host=settings.smtp_host, port=settings.smtp_port, sicherheit=settings.smtp_sicherheit,
                   benutzer=settings.smtp_benutzer, passwort=settings.smtp_passwort.get_secret_value(),
                   timeout=settings.smtp_timeout_sekunden)

    def senden(self, nachricht: EmailMessage, *, von: str, an: str) -> None:
        """Deliver one message; raises UebergabeFehler (retry) or EndgueltigerFehler (give up)."""
        try:
            asyncio.run(self._senden(nachricht, von=von, an=an))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            text = _ohne_adressen("; ".join(f"{r.code} {r.message}" for r in exc.recipients))
            if codes and all(500 <= c < 600 for c in codes):
                raise EndgueltigerFehler(f"Empfänger vom Mailserver abgelehnt: {text}") from None
            raise UebergabeFehler(f"Empfänger vorübergehend abgelehnt: {text}") from None
        except aiosmtplib.SMTPAuthenticationError as exc:
            # A configuration problem: retrying after it is fixed delivers the mail.
            raise UebergabeFehler(f"SMTP-Anmeldung fehlgeschlagen ({exc.code})") from None
        except aiosmtplib.SMTPDataError as exc:
            text = _ohne_adressen(f"{exc.code} {exc.message}")
            if 500 <= exc.code < 600:
                raise EndgueltigerFehler(f"Mail vom Mailserver abgelehnt: {text}") from None
            raise UebergabeFehler(f"Mail vorübergehend abgelehnt: {text}") from None
        except aiosmtplib.SMTPResponseException as exc:  # sender refused, HELO/other: config or temporary
            raise UebergabeFehler(f"SMTP-Fehler: {_ohne_adressen(f'{exc.code} {exc.message}')}") from None
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise UebergabeFehler(f"SMTP-Server nicht erreichbar ({type(exc).__name__})") from None

    async def _senden(self, nachricht: EmailMessage, *, von: str, an: str) -> None:
        kwargs: dict[str, Any] = {}
        if self.tls_kontext is not None:
            kwargs["tls_context"] = self.tls_kontext
        fehler = await aiosmtplib.send(
            nachricht, sender=von, recipients=[an], hostname=self.host, port=self.port,
            use_tls=self.sicherheit == "tls", start_tls=self.sicherheit == "starttls",
            username=self.benutzer or None, password=self.passwort or None, timeout=self.timeout, **kwargs,
        )
        abgelehnt = fehler[0] if isinstance(fehler, tuple) else {}
        if abgelehnt:
            raise aiosmtplib.SMTPRecipientsRefused(
                [aiosmtplib.SMTPRecipientRefused(r.code, r.message, k) for k, r in abgelehnt.items()])


# --- the worker handler ---------------------------------------------------------------------------------------


class MailVersand:
    """Worker handler for every outbox kind that ends in an e-mail."""

    arten = ARTEN

    def __init__(self, settings, *, transport: SmtpTransport | None = None) -> None:
        self.settings = settings
        self.transport = transport or SmtpTransport.aus_settings(settings)

    # Handler protocol
    def ausfuehren(self, session: Session, eintrag: OutboxEintrag, ctx: Kontext) -> None:
        mail = self.mail_fuer(session, eintrag)
        if mail is None:
            log.info("mail_nichts_zu_senden", extra={"outbox_id": eintrag.id, "art": eintrag.art})
            return
        if not _EINE_ADRESSE.match(mail.an or ""):
            raise EndgueltigerFehler("Nicht gesendet: ungültige Empfängeradresse.")
        if speicher.adresse_normal(mail.an) == speicher.adresse_normal(self.settings.mail_absender):
            raise EndgueltigerFehler("Nicht gesendet: Empfänger ist unsere eigene Adresse (Schleifenschutz).")
        if speicher.ist_unzustellbar(session, mail.an):
            raise EndgueltigerFehler("Nicht gesendet: die Adresse ist nach einem harten Bounce als unzustellbar "
                                     "markiert.")
        if mail.ticket_id is not None:
            speicher.nachricht_registrieren(session, message_id=mail.message_id, ticket_id=mail.ticket_id,
                                            richtung="aus", adresse=mail.an)
        nachricht = nachricht_bauen(mail, self.settings, jetzt=ctx.jetzt)
        # Envelope sender: our address, so bounces come back to our mailbox (the pipeline reads them).
        self.transport.senden(nachricht, von=self.settings.mail_absender, an=mail.an)
        log.info("mail_gesendet", extra={"outbox_id": eintrag.id, "art": eintrag.art,
                                         "automatisch": mail.automatisch or "", "ticket_id": mail.ticket_id})

    def fehlgeschlagen(self, session: Session, eintrag: OutboxEintrag, fehler: str, jetzt: datetime) -> None:
        ticket = self._ticket_von(session, eintrag)
        if ticket is None:
            return
        from servicecenter.tickets.models import ArtikelArt
        from servicecenter.tickets.service import TicketEinstellungen, TicketFehler, artikel_anlegen

        text = f"E-Mail konnte nicht zugestellt werden ({_ART_TEXT.get(eintrag.art, 'E-Mail')}): {fehler}"
        try:
            artikel_anlegen(session, ticket, art=ArtikelArt.notiz, text=text, benutzer=None,
                            einstellungen=TicketEinstellungen.aus(self.settings), jetzt=jetzt)
        except TicketFehler:  # e.g. a closed ticket: the outbox row keeps the error
            log.info("mail_fehler_ohne_notiz", extra={"outbox_id": eintrag.id})

    # building the mail per kind
    def mail_fuer(self, session: Session, eintrag: OutboxEintrag) -> Mail | None:
        p = eintrag.payload or {}
        standard_mid = message_id_aus_schluessel(eintrag.idempotenz_schluessel or f"outbox-{eintrag.id}",
                                                 self.settings.mail_domain)
        if eintrag.art == ART:
            return Mail(an=p["an"], betreff=p.get("betreff") or "", text=p.get("text") or "", html=p.get("html"),
                        message_id=p.get("message_id") or standard_mid, in_reply_to=p.get("in_reply_to"),
                        references=list(p.get("references") or []), automatisch=p.get("automatisch"),
                        queue_id=p.get("queue_id") or self._queue_von(session, p.get("ticket_id")),
                        ticket_id=p.get("ticket_id"))
        if eintrag.art == ART_DESK_ANTWORT:
            return Mail(an=p["an"], betreff=p.get("betreff") or "Ihre Anfrage bei der 115",
                        text=p.get("text") or "", message_id=standard_mid)
        if eintrag.art == ART_TICKET_NACHRICHT:
            return self._ticket_nachricht(session, p, standard_mid)
        if eintrag.art == ART_STATUS:
            return self._status(session, p, standard_mid)
        if eintrag.art == ART_UEBERGABE:
            return self._uebergabe(session, p, standard_mid)
        raise EndgueltigerFehler(f"Unbekannte Art {eintrag.art}")

    def _ticket_nachricht(self, session: Session, p: dict, mid: str) -> Mail | None:
        from servicecenter.tickets.models import Ticket, TicketArtikel

        ticket = session.scalar(select(Ticket).where(Ticket.nummer == p.get("ticket_nummer")))
        artikel = session.get(TicketArtikel, p.get("artikel_id"))
        if ticket is None or artikel is None:
            return None  # deleted meanwhile: nothing to deliver
        if not ticket.kontakt_email:
            raise EndgueltigerFehler("Das Ticket hat keine E-Mail-Adresse; die Nachricht wurde nicht per E-Mail "
                                     "zugestellt.")
        in_reply_to, refs = faden(session, ticket.id)
        betreff = f"{_betreff_basis(session, ticket.id)} [{ticket.nummer}]"
        text = (f"{artikel.text.rstrip()}\n\n"
                f"Ihre Vorgangsnummer: {ticket.nummer}. Wenn Sie antworten, behalten Sie bitte den Betreff bei.\n")
        anlagen = [Anlage(a.dateiname, a.mimetyp, a.inhalt) for a in artikel.anhaenge]
        return Mail(an=ticket.kontakt_email, betreff=betreff, text=text, message_id=mid, in_reply_to=in_reply_to,
                    references=refs, queue_id=ticket.queue_id, ticket_id=ticket.id, anlagen=anlagen)

    def _status(self, session: Session, p: dict, mid: str) -> Mail | None:
        from servicecenter.status.service import status_email_inhalt

        inhalt = status_email_inhalt(session, p, basis_url=self.settings.oeffentliche_url)
        if inhalt is None:
            return None  # consent withdrawn or address removed
        ticket_id = p.get("ticket_id")
        in_reply_to, refs = faden(session, ticket_id)
        nummer = _nummer(session, ticket_id)
        betreff = inhalt.betreff
        if nummer is not None and f"[{nummer}]" not in betreff:
            # "Ihr Anliegen 115-…: Titel" → "Ihr Anliegen: Titel [115-…]": the tag form threads a reply.
            betreff = f"{betreff.replace(f' {nummer}', '', 1)} [{nummer}]"
        return Mail(an=inhalt.empfaenger, betreff=betreff, text=inhalt.text, message_id=mid,
                    in_reply_to=in_reply_to, references=refs, automatisch="auto-generated",
                    queue_id=self._queue_von(session, ticket_id), ticket_id=ticket_id)

    def _uebergabe(self, session: Session, p: dict, mid: str) -> Mail | None:
        from servicecenter.tickets.models import TicketAnhang

        anlagen = []
        for anhang_id in p.get("anhang_ids") or []:
            a = session.get(TicketAnhang, anhang_id)
            if a is not None:
                anlagen.append(Anlage(a.dateiname, a.mimetyp, a.inhalt))
        # A mail to the department's mailbox: no citizen signature, marked automatic so that an
        # out-of-office reply of the department does not come back as a citizen mail.
        return Mail(an=p["an"], betreff=p.get("betreff") or "Übergabe", text=p.get("text") or "",
                    message_id=mid, absender=p.get("absender") or None, automatisch="auto-generated",
                    signatur=False, anlagen=anlagen)

    def _queue_von(self, session: Session, ticket_id: int | None) -> int | None:
        from servicecenter.tickets.models import Ticket

        if ticket_id is None:
            return None
        ticket = session.get(Ticket, ticket_id)
        return ticket.queue_id if ticket is not None else None

    def _ticket_von(self, session: Session, eintrag: OutboxEintrag):
        from servicecenter.tickets.models import Ticket

        p = eintrag.payload or {}
        if p.get("ticket_id") is not None:
            return session.get(Ticket, p["ticket_id"])
        if p.get("ticket_nummer"):
            return session.scalar(select(Ticket).where(Ticket.nummer == p["ticket_nummer"]))
        return None


_ART_TEXT = {
    ART: "E-Mail an den Bürger", ART_TICKET_NACHRICHT: "Nachricht an den Bürger",
    ART_STATUS: "Statusbenachrichtigung", ART_UEBERGABE: "Übergabe per E-Mail", ART_DESK_ANTWORT: "Antwort per E-Mail",
}


def faden(session: Session, ticket_id: int | None) -> tuple[str | None, list[str]]:
    """Threading headers for a mail on a ticket: In-Reply-To = the last inbound Message-ID, References = the
    ticket's chain (oldest first, capped)."""
    if ticket_id is None:
        return None, []
    zeilen = list(session.scalars(select(MailNachricht).where(MailNachricht.ticket_id == ticket_id)
                                  .order_by(MailNachricht.erstellt_am, MailNachricht.id)))
    refs = [_klammern(z.message_id) for z in zeilen][-MAX_REFERENCES:]
    eingehend = [z for z in zeilen if z.richtung == "ein"]
    return (_klammern(eingehend[-1].message_id) if eingehend else None), refs


def _betreff_basis(session: Session, ticket_id: int) -> str:
    """"AW: <subject of the citizen's last mail>", or a neutral subject for tickets from other channels."""
    betreff = session.scalar(select(MailEingang.betreff).where(MailEingang.ticket_id == ticket_id,
                                                                MailEingang.betreff.is_not(None))
                             .order_by(MailEingang.empfangen_am.desc(), MailEingang.id.desc()).limit(1))
    if betreff:
        ohne = _ANTWORT_PRAEFIX.sub("", re.sub(r"\[115-\d{4}-\d{6}\]", "", betreff)).strip()
        if ohne:
            return f"AW: {ohne}"[:200]
    return "Ihr Anliegen bei der 115"


def _nummer(session: Session, ticket_id: int | None) -> str | None:
    from servicecenter.tickets.models import Ticket

    if ticket_id is None:
        return None
    ticket = session.get(Ticket, ticket_id)
    return ticket.nummer if ticket is not None else None


__all__ = ["ART", "ARTEN", "Anlage", "Mail", "MailVersand", "SmtpTransport", "faden", "mail_vormerken",
           "message_id_aus_schluessel", "nachricht_bauen", "neue_message_id", "signatur_fuer"]

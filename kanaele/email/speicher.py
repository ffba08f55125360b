"""Storage of raw messages, Message-IDs and address flags (functions over a session; flush, never commit)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from kanaele.email.models import MailAdresse, MailEingang, MailNachricht
from wissensdatenbank.basis import UTCDateTime
from wissensdatenbank.basis import jetzt as _jetzt


def message_id_normal(wert: str | None) -> str | None:
    """`<abc@x>` → `abc@x`; the form stored in mail_eingang.message_id and mail_nachricht.message_id."""
    if not wert:
        return None
    wert = "".join(str(wert).split()).strip("<>").strip()
    return wert[:998] or None


def adresse_normal(adresse: str | None) -> str | None:
    if not adresse:
        return None
    adresse = adresse.strip().strip("<>").strip().lower()
    return adresse[:320] or None


def roh_speichern(
    session: Session,
    roh: bytes,
    *,
    quelle: str,
    umschlag_von: str | None = None,
    umschlag_an: Sequence[str] = (),
    jetzt: datetime | None = None,
) -> MailEingang:
    """Store the raw message first (status "neu"); parsing happens later and may fail without loss."""
    eingang = MailEingang(
        empfangen_am=jetzt or _jetzt(),
        quelle=quelle,
        umschlag_von=(umschlag_von or None) and umschlag_von[:320],
        umschlag_an=[str(a)[:320] for a in umschlag_an],
        groesse=len(roh),
        sha256=hashlib.sha256(roh).hexdigest(),
        roh=bytes(roh),
        status="neu",
    )
    session.add(eingang)
    session.flush()
    return eingang


# INSERT … ON CONFLICT DO NOTHING, the same text on SQLite and PostgreSQL (other databases: look-up, then insert).
# Plain SQL text: SQLAlchemy's dialect constructs for it cannot be cached and would be compiled for every mail.
_INSERT_ODER_NICHTS = text(
    "INSERT INTO mail_nachricht (message_id, ticket_id, richtung, adresse, erstellt_am) "
    "VALUES (:message_id, :ticket_id, :richtung, :adresse, :erstellt_am) ON CONFLICT (message_id) DO NOTHING"
).bindparams(bindparam("erstellt_am", type_=UTCDateTime))


def nachricht_registrieren(
    session: Session, *, message_id: str, ticket_id: int, richtung: str, adresse: str | None
) -> None:
    """Remember a Message-ID for threading; a known one is left alone (first ticket wins)."""
    mid = message_id_normal(message_id)
    if mid is None:
        return
    if richtung not in ("ein", "aus"):
        raise ValueError(f"richtung muss 'ein' oder 'aus' sein, nicht {richtung!r}")
    werte = {"message_id": mid, "ticket_id": ticket_id, "richtung": richtung, "adresse": adresse_normal(adresse),
             "erstellt_am": _jetzt()}
    if session.get_bind().dialect.name in ("sqlite", "postgresql"):
        # One statement instead of look-up + insert, and safe against a parallel receiver registering the same
        # Message-ID between the two (the unique constraint decides; the existing row is kept).
        session.execute(_INSERT_ODER_NICHTS, werte)
        return
    if session.scalar(select(MailNachricht.id).where(MailNachricht.message_id == mid)) is not None:
        return
    session.add(MailNachricht(**werte))
    session.flush()


def nachricht_finden(session: Session, message_id: str | None) -> MailNachricht | None:
    mid = message_id_normal(message_id)
    if mid is None:
        return None
    return session.scalar(select(MailNachricht).where(MailNachricht.message_id == mid))


def ist_unzustellbar(session: Session, adresse: str) -> bool:
    """True after a hard bounce: we stop writing to the address."""
    a = adresse_normal(adresse)
    if a is None:
        return False
    eintrag = session.get(MailAdresse, a)
    return eintrag is not None and eintrag.unzustellbar_seit is not None


def bounce_vermerken(session: Session, adresse: str, *, hart: bool, notiz: str | None = None,
                     jetzt: datetime | None = None) -> MailAdresse:
    """Count a bounce for the address; a hard one flags it unzustellbar."""
    zeit = jetzt or _jetzt()
    a = adresse_normal(adresse) or ""
    eintrag = session.get(MailAdresse, a)
    if eintrag is None:
        eintrag = MailAdresse(adresse=a, bounce_anzahl=0)
        session.add(eintrag)
    eintrag.bounce_anzahl = (eintrag.bounce_anzahl or 0) + 1
    eintrag.bounce_art = "hart" if hart else "weich"
    eintrag.aktualisiert_am = zeit
    if hart and eintrag.unzustellbar_seit is None:
        eintrag.unzustellbar_seit = zeit
    if notiz:
        eintrag.notiz = notiz[:2000]
    session.flush()
    return eintrag


def unzustellbar_aufheben(session: Session, adresse: str) -> None:
    eintrag = session.get(MailAdresse, adresse_normal(adresse) or "")
    if eintrag is not None:
        eintrag.unzustellbar_seit = None
        eintrag.bounce_art = None
        session.flush()


__all__ = [
    "adresse_normal", "bounce_vermerken", "ist_unzustellbar", "message_id_normal", "nachricht_finden",
    "nachricht_registrieren", "roh_speichern", "unzustellbar_aufheben",
]

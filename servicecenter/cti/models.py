"""Anruf: one phone call as reported by the PBX (newCall, answer, hangup)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

import servicecenter.tickets.models  # noqa: F401  (the ticket table the foreign key points to)
from servicecenter.tickets.models import enum_typ
from wissensdatenbank.basis import Base, UTCDateTime, jetzt


class Richtung(enum.StrEnum):
    eingehend = "in"
    ausgehend = "out"


class AnrufZustand(enum.StrEnum):
    klingelt = "klingelt"
    angenommen = "angenommen"
    verpasst = "verpasst"
    beendet = "beendet"


ZUSTAND_TEXT: dict[AnrufZustand, str] = {
    AnrufZustand.klingelt: "klingelt",
    AnrufZustand.angenommen: "angenommen",
    AnrufZustand.verpasst: "verpasst",
    AnrufZustand.beendet: "beendet",
}


class Anruf(Base):
    """Idempotency per (callId, event): each event sets its own timestamp once; a repeat is a no-op."""

    __tablename__ = "anruf"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(200), unique=True)
    richtung: Mapped[Richtung] = mapped_column(enum_typ(Richtung, "anruf_richtung"))
    zustand: Mapped[AnrufZustand] = mapped_column(
        enum_typ(AnrufZustand, "anruf_zustand"), default=AnrufZustand.klingelt, index=True
    )
    # Numbers as sent by the PBX, and normalised to E.164 when that was possible (else NULL + flag).
    von_roh: Mapped[str] = mapped_column(String(100), default="")
    von_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    an_roh: Mapped[str] = mapped_column(String(100), default="")
    an_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    # The citizen's number (from for inbound, to for outbound) could not be normalised / was withheld.
    nummer_ungeprueft: Mapped[bool] = mapped_column(Boolean, default=False)
    anonym: Mapped[bool] = mapped_column(Boolean, default=False)
    queue: Mapped[str] = mapped_column(String(200), default="")
    agenten: Mapped[str] = mapped_column(String(1000), default="")  # user[] names, newline-separated
    ursache: Mapped[str] = mapped_column(String(50), default="")  # hangup cause

    beginn: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt, index=True)  # newCall
    angenommen_am: Mapped[datetime | None] = mapped_column(UTCDateTime)
    beendet_am: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # First event seen for this call was not newCall (PBX restart, lost event): waiting time is unknown.
    beginn_unbekannt: Mapped[bool] = mapped_column(Boolean, default=False)

    rueckruf_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"))
    rueckruf_von_id: Mapped[int | None] = mapped_column(ForeignKey("benutzer.id", ondelete="SET NULL"))
    erstellt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)

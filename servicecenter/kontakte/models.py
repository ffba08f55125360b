"""Kontakt: one logged citizen contact with its outcome (the basis of the first-contact resolution rate)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from servicecenter.tickets.models import Kanal, enum_typ
from wissensdatenbank.basis import Base, UTCDateTime, jetzt


class Ergebnis(enum.StrEnum):
    beim_erstkontakt_beantwortet = "beim_erstkontakt_beantwortet"
    weitergeleitet = "weitergeleitet"  # creates a ticket
    rueckruf_vereinbart = "rueckruf_vereinbart"  # creates a ticket with a call-back time


class Kontakt(Base):
    __tablename__ = "kontakt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kanal: Mapped[Kanal] = mapped_column(enum_typ(Kanal, "kontakt_kanal"), index=True)
    leistung_id: Mapped[int | None] = mapped_column(ForeignKey("leistung.id", ondelete="SET NULL"), index=True)
    ergebnis: Mapped[Ergebnis] = mapped_column(enum_typ(Ergebnis, "kontakt_ergebnis"), index=True)
    anliegen: Mapped[str] = mapped_column(Text, default="")
    dauer_sekunden: Mapped[int | None] = mapped_column(Integer)
    rueckruf_am: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"), index=True)
    anruf_id: Mapped[str | None] = mapped_column(String(200), index=True)  # CTI call id, when known

    # Personal data: only together with consent.
    kontakt_name: Mapped[str | None] = mapped_column(String(200))
    kontakt_telefon: Mapped[str | None] = mapped_column(String(50))
    kontakt_email: Mapped[str | None] = mapped_column(String(254))
    einwilligung: Mapped[bool] = mapped_column(Boolean, default=False)
    einwilligung_am: Mapped[datetime | None] = mapped_column(UTCDateTime)

    benutzer_id: Mapped[int | None] = mapped_column(ForeignKey("benutzer.id", ondelete="SET NULL"), index=True)
    erstellt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt, index=True)

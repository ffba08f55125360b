"""Open311 models: API keys of client apps and the geo data of reports that arrived via Open311."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import servicecenter.tickets.models  # noqa: F401  (the ticket table the foreign key points to)
from wissensdatenbank.basis import Base, UTCDateTime, jetzt


class Open311Schluessel(Base):
    """An api_key of one client app; only its SHA-256 is stored (the key is random, 256 bits)."""

    __tablename__ = "open311_schluessel"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    schluessel_hash: Mapped[str] = mapped_column(String(64), unique=True)
    aktiv: Mapped[bool] = mapped_column(Boolean, default=True)
    erstellt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)
    zuletzt_benutzt_am: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Open311Meldung(Base):
    """What a client sent beside the ticket: service code, location, media links, attribute answers.

    The public description is kept here (the ticket's Anliegen also carries location lines for the agents)."""

    __tablename__ = "open311_meldung"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), unique=True)
    schluessel_id: Mapped[int | None] = mapped_column(ForeignKey("open311_schluessel.id", ondelete="SET NULL"))
    service_code: Mapped[str] = mapped_column(String(200), index=True)
    beschreibung: Mapped[str] = mapped_column(Text, default="")
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    adresse: Mapped[str | None] = mapped_column(String(500))
    adress_id: Mapped[str | None] = mapped_column(String(200))
    media_urls: Mapped[list[str]] = mapped_column(JSON, default=list)
    attribute: Mapped[dict] = mapped_column(JSON, default=dict)
    erstellt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt, index=True)

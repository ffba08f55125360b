"""Ticket models: ticket, per-year number counter, articles, attachments, history, queue membership,
Textbausteine."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

import servicecenter.auth.models  # noqa: F401  (the benutzer table the foreign keys point to)
from servicecenter.tickets.zustaende import Buergerstatus, Zustand
from wissensdatenbank.basis import Base, UTCDateTime, jetzt


def enum_typ(cls: type[enum.Enum], name: str) -> Enum:
    # Plain strings (no native enum type): portable across SQLite and PostgreSQL.
    return Enum(cls, name=name, native_enum=False, length=40, values_callable=lambda e: [m.value for m in e])


class Kanal(enum.StrEnum):
    telefon = "telefon"
    email = "email"
    chat = "chat"
    vor_ort = "vor_ort"


class Prioritaet(enum.StrEnum):
    niedrig = "niedrig"
    normal = "normal"
    hoch = "hoch"
    dringend = "dringend"


class ArtikelArt(enum.StrEnum):
    notiz = "notiz"  # internal note, never shown to the citizen
    nachricht = "nachricht"  # message to the citizen
    eingang = "eingang"  # message from the citizen (inbound e-mail); never sent anywhere


class TicketZaehler(Base):
    """One row per year; incremented atomically to hand out ticket numbers."""

    __tablename__ = "ticket_zaehler"

    jahr: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    wert: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_queue_zustand", "queue_id", "zustand"),
        Index("ix_ticket_assignee_zustand", "assignee_id", "zustand"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nummer: Mapped[str] = mapped_column(String(20), unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    leistung_id: Mapped[int | None] = mapped_column(ForeignKey("leistung.id", ondelete="SET NULL"), index=True)
    anliegen: Mapped[str] = mapped_column(Text)
    kanal: Mapped[Kanal] = mapped_column(enum_typ(Kanal, "ticket_kanal"))
    prioritaet: Mapped[Prioritaet] = mapped_column(enum_typ(Prioritaet, "ticket_prioritaet"), default=Prioritaet.normal)
    zustand: Mapped[Zustand] = mapped_column(enum_typ(Zustand, "ticket_zustand"), default=Zustand.neu, index=True)
    buergerstatus: Mapped[Buergerstatus] = mapped_column(
        enum_typ(Buergerstatus, "ticket_buergerstatus"), default=Buergerstatus.RECEIVED
    )
    queue_id: Mapped[int | None] = mapped_column(ForeignKey("organisationseinheit.id", ondelete="SET NULL"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("benutzer.id", ondelete="SET NULL"))

    # Citizen contact: only stored together with consent.
    kontakt_name: Mapped[str | None] = mapped_column(String(200))
    kontakt_telefon: Mapped[str | None] = mapped_column(String(50))
    kontakt_email: Mapped[str | None] = mapped_column(String(254))
    einwilligung: Mapped[bool] = mapped_column(Boolean, default=False)
    einwilligung_am: Mapped[datetime | None] = mapped_column(UTCDateTime)

    faellig_am: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    sla_pausiert_seit: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rueckruf_am: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erledigt_am: Mapped[datetime | None] = mapped_column(UTCDateTime)
    externe_vorgangs_id: Mapped[str | None] = mapped_column(String(200), index=True)
    zugangscode_hash: Mapped[str | None] = mapped_column(String(200))  # citizen access code (later issue)
    zusammengefuehrt_in_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"))

    erstellt_von_id: Mapped[int | None] = mapped_column(ForeignKey("benutzer.id", ondelete="SET NULL"))
    erstellt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)
    aktualisiert_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)

    artikel: Mapped[list[TicketArtikel]] = relationship(
        back_populates="ticket", order_by="TicketArtikel.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}


class TicketArtikel(Base):
    __tablename__ = "ticket_artikel"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    art: Mapped[ArtikelArt] = mapped_column(enum_typ(ArtikelArt, "artikel_art"))
    text: Mapped[str] = mapped_column(Text)
    benutzer_id: Mapped[int | None] = mapped_column(ForeignKey("benutzer.id", ondelete="SET NULL"))
    erstellt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)

    ticket: Mapped[Ticket] = relationship(back_populates="artikel")
    anhaenge: Mapped[list[TicketAnhang]] = relationship(
        back_populates="artikel", order_by="TicketAnhang.id", cascade="all, delete-orphan"
    )


class TicketAnhang(Base):
    """Attachment bytes live in the database: transactional with the article, backed up with it."""

    __tablename__ = "ticket_anhang"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    artikel_id: Mapped[int] = mapped_column(ForeignKey("ticket_artikel.id", ondelete="CASCADE"), index=True)
    dateiname: Mapped[str] = mapped_column(String(255))
    mimetyp: Mapped[str] = mapped_column(String(100))
    groesse: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    inhalt: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    artikel: Mapped[TicketArtikel] = relationship(back_populates="anhaenge")


class TicketHistorie(Base):
    """One row per changed field (who, when, field, old, new)."""

    __tablename__ = "ticket_historie"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    benutzer_id: Mapped[int | None] = mapped_column(ForeignKey("benutzer.id", ondelete="SET NULL"))
    zeitpunkt: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)
    feld: Mapped[str] = mapped_column(String(50))
    alt: Mapped[str | None] = mapped_column(Text)
    neu: Mapped[str | None] = mapped_column(Text)


class BenutzerQueue(Base):
    """Which queues (Organisationseinheiten) an agent works in."""

    __tablename__ = "benutzer_queue"

    benutzer_id: Mapped[int] = mapped_column(ForeignKey("benutzer.id", ondelete="CASCADE"), primary_key=True)
    organisationseinheit_id: Mapped[int] = mapped_column(
        ForeignKey("organisationseinheit.id", ondelete="CASCADE"), primary_key=True
    )


class Textbaustein(Base):
    __tablename__ = "textbaustein"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    text: Mapped[str] = mapped_column(Text)
    aktiv: Mapped[bool] = mapped_column(Boolean, default=True)
    erstellt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)

"""E-mail tables: raw inbound messages, known Message-IDs (threading) and per-address flags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

import servicecenter.tickets.models  # noqa: F401  (the ticket table the foreign keys point to)
from wissensdatenbank.basis import Base, UTCDateTime, jetzt

STATUS = ("neu", "verarbeitet", "fehler", "zurueckgehalten", "ignoriert")


class MailEingang(Base):
    """One received message, stored raw before anything else so nothing is lost and it can be reprocessed."""

    __tablename__ = "mail_eingang"
    __table_args__ = (Index("ix_mail_eingang_absender_empfangen", "absender", "empfangen_am"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    empfangen_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt, index=True)
    quelle: Mapped[str] = mapped_column(String(20))  # smtp | lmtp | imap | cli | test
    umschlag_von: Mapped[str | None] = mapped_column(String(320))
    umschlag_an: Mapped[list] = mapped_column(JSON, default=list)
    groesse: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # None once the retention period has passed (data protection): the row stays as a record.
    roh: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    absender: Mapped[str | None] = mapped_column(String(320))  # From address, lower-case (rate limit)
    betreff: Mapped[str | None] = mapped_column(String(998))
    status: Mapped[str] = mapped_column(String(20), default="neu", index=True)
    aktion: Mapped[str | None] = mapped_column(String(40))
    klasse: Mapped[str | None] = mapped_column(String(40))  # buerger | autoreply | abwesenheit | bounce | liste …
    fehler: Mapped[str | None] = mapped_column(Text)
    vorschlaege: Mapped[list | None] = mapped_column(JSON)  # triage: [{leistung_id, name, score, konfidenz}]
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("ticket.id", ondelete="SET NULL"), index=True)
    verarbeitet_am: Mapped[datetime | None] = mapped_column(UTCDateTime)
    roh_geloescht_am: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MailNachricht(Base):
    """Every Message-ID we received or sent that belongs to a ticket: the threading memory."""

    __tablename__ = "mail_nachricht"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    richtung: Mapped[str] = mapped_column(String(3))  # ein | aus
    adresse: Mapped[str | None] = mapped_column(String(320))  # the peer, lower-case
    erstellt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)


class MailAdresse(Base):
    """Per-address flags, e.g. a hard bounce that stops us writing to the address."""

    __tablename__ = "mail_adresse"

    adresse: Mapped[str] = mapped_column(String(320), primary_key=True)
    unzustellbar_seit: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bounce_art: Mapped[str | None] = mapped_column(String(10))  # hart | weich
    bounce_anzahl: Mapped[int] = mapped_column(Integer, default=0)
    notiz: Mapped[str | None] = mapped_column(Text)
    aktualisiert_am: Mapped[datetime | None] = mapped_column(UTCDateTime)

"""Hand-off records and seen callbacks (replay protection)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import servicecenter.outbox.models  # noqa: F401  (the outbox table the foreign key points to)
import servicecenter.tickets.models  # noqa: F401
from wissensdatenbank.basis import Base, UTCDateTime, jetzt


class UebergabeStatus(enum.StrEnum):
    ausstehend = "ausstehend"  # in the outbox, not yet accepted by the back end
    zugestellt = "zugestellt"
    fehlgeschlagen = "fehlgeschlagen"  # permanent error or maximum age reached: an agent must act


class Uebergabe(Base):
    """One hand-off of a ticket to one back end; the outbox row carries the delivery."""

    __tablename__ = "uebergabe"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("ticket.id", ondelete="CASCADE"), index=True)
    adapter: Mapped[str] = mapped_column(String(100))  # name of the configured adapter instance
    status: Mapped[UebergabeStatus] = mapped_column(
        Enum(UebergabeStatus, name="uebergabe_status", native_enum=False, length=20,
             values_callable=lambda e: [m.value for m in e]),
        default=UebergabeStatus.ausstehend,
    )
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="SET NULL"))
    externe_id: Mapped[str | None] = mapped_column(String(200), index=True)
    fehler: Mapped[str | None] = mapped_column(Text)
    versuche: Mapped[int] = mapped_column(Integer, default=0)
    erstellt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)
    zugestellt_am: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UebergabeCallback(Base):
    """Every accepted callback: its signature (and event id) can be used once only."""

    __tablename__ = "uebergabe_callback"
    __table_args__ = (UniqueConstraint("adapter", "signatur", name="uq_uebergabe_callback_adapter_signatur"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    adapter: Mapped[str] = mapped_column(String(100))
    signatur: Mapped[str] = mapped_column(String(200))
    ereignis_id: Mapped[str | None] = mapped_column(String(200))
    empfangen_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt, index=True)

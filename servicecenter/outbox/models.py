"""Outbox rows: one side effect each, written in the business transaction."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from wissensdatenbank.basis import Base, UTCDateTime, jetzt


class OutboxStatus(enum.StrEnum):
    offen = "offen"
    gesendet = "gesendet"
    fehlgeschlagen = "fehlgeschlagen"


class OutboxEintrag(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_naechster_versuch", "status", "naechster_versuch"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    art: Mapped[str] = mapped_column(String(50))
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, name="outbox_status", native_enum=False, length=20,
             values_callable=lambda e: [m.value for m in e]),
        default=OutboxStatus.offen,
    )
    versuche: Mapped[int] = mapped_column(Integer, default=0)
    naechster_versuch: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)
    erstellt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)
    # Delivery bookkeeping of the worker (servicecenter.worker).
    fehler: Mapped[str | None] = mapped_column(Text)  # last error, no personal data
    idempotenz_schluessel: Mapped[str | None] = mapped_column(String(100), unique=True)
    beansprucht_von: Mapped[str | None] = mapped_column(String(100))  # worker id holding the lease
    beansprucht_bis: Mapped[datetime | None] = mapped_column(UTCDateTime)  # lease end; after it, others may retry
    erledigt_am: Mapped[datetime | None] = mapped_column(UTCDateTime)

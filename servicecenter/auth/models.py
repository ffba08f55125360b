"""Benutzer, web sessions (Sitzung) and personal API tokens (ApiToken)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Enum, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wissensdatenbank.basis import Base, UTCDateTime, jetzt


class Rolle(enum.StrEnum):
    agent = "agent"
    teamleitung = "teamleitung"
    redaktion = "redaktion"
    admin = "admin"

    @property
    def bezeichnung(self) -> str:
        return ROLLEN_BEZEICHNUNG[self]


ROLLEN_BEZEICHNUNG = {
    Rolle.agent: "Agent",
    Rolle.teamleitung: "Teamleitung",
    Rolle.redaktion: "Redaktion",
    Rolle.admin: "Admin",
}


class Benutzer(Base):
    __tablename__ = "benutzer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    anzeigename: Mapped[str] = mapped_column(String(200), default="")
    passwort_hash: Mapped[str] = mapped_column(String(255))
    rolle: Mapped[Rolle] = mapped_column(
        Enum(Rolle, name="benutzer_rolle", native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    aktiv: Mapped[bool] = mapped_column(Boolean, default=True)
    fehlversuche: Mapped[int] = mapped_column(Integer, default=0)
    gesperrt_bis: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    letzte_anmeldung: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    angelegt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="benutzer", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:  # no personal data beyond the id
        return f"<Benutzer id={self.id} rolle={self.rolle}>"


class Sitzung(Base):
    """A server-side web session; the cookie carries a random id, the table only its SHA-256."""

    __tablename__ = "sitzung"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    benutzer_id: Mapped[int] = mapped_column(ForeignKey("benutzer.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    angelegt_am: Mapped[datetime] = mapped_column(UTCDateTime)
    zuletzt_aktiv_am: Mapped[datetime] = mapped_column(UTCDateTime)

    benutzer: Mapped[Benutzer] = relationship(lazy="joined")


class ApiToken(Base):
    """Personal API token; only its SHA-256 and a short display prefix are stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    benutzer_id: Mapped[int] = mapped_column(ForeignKey("benutzer.id", ondelete="CASCADE"), index=True)
    bezeichnung: Mapped[str] = mapped_column(String(200), default="")
    praefix: Mapped[str] = mapped_column(String(32), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    angelegt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)
    zuletzt_benutzt_am: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    widerrufen_am: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    benutzer: Mapped[Benutzer] = relationship(back_populates="tokens", lazy="joined")

"""Versions of edited Leistungen and the Wissenslücken (searches without a good hit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import servicecenter.auth.models  # noqa: F401  (the benutzer table the foreign key points to)
import wissensdatenbank.models  # noqa: F401  (the leistung table)
from wissensdatenbank.basis import Base, UTCDateTime, jetzt


class LeistungVersion(Base):
    """One saved change of a Leistung: who, when, and the changed fields as {feld: {"alt": …, "neu": …}}."""

    __tablename__ = "leistung_version"
    __table_args__ = (UniqueConstraint("leistung_id", "nummer", name="uq_leistung_version_nummer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    leistung_id: Mapped[int] = mapped_column(ForeignKey("leistung.id", ondelete="CASCADE"), index=True)
    nummer: Mapped[int] = mapped_column(Integer)  # 1, 2, … per Leistung
    benutzer_id: Mapped[int | None] = mapped_column(ForeignKey("benutzer.id", ondelete="SET NULL"))
    benutzer_name: Mapped[str] = mapped_column(String(200), default="")  # kept when the account is deleted
    zeitpunkt: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)
    aenderungen: Mapped[dict] = mapped_column(JSON, default=dict)


class Wissensluecke(Base):
    """A normalised search text whose best hit was "kein Treffer" or none, with a count. No personal data."""

    __tablename__ = "wissensluecke"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    anfrage: Mapped[str] = mapped_column(String(200), unique=True)
    anzahl: Mapped[int] = mapped_column(Integer, default=0)
    erstmals_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt)
    zuletzt_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt, index=True)

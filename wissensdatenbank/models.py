"""Knowledge base models, aligned with XZuFi 2.2 / FIM (Leistung, Organisationseinheit, Zuständigkeit)."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wissensdatenbank.basis import Base, UTCDateTime, jetzt


class LeistungArt(enum.StrEnum):
    leistung = "leistung"
    maengelmeldung = "maengelmeldung"


class LeistungStatus(enum.StrEnum):
    entwurf = "entwurf"
    veroeffentlicht = "veroeffentlicht"


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: portable and readable in SQL.
    return Enum(cls, name=name, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class Leistung(Base):
    __tablename__ = "leistung"
    __table_args__ = (UniqueConstraint("quelle_format", "quelle_id", name="uq_leistung_quelle"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    leika: Mapped[str | None] = mapped_column(String(14), index=True)
    leistungsname: Mapped[str] = mapped_column(String(300))
    leistungsbezeichnung: Mapped[str] = mapped_column(String(500), default="")
    teaser: Mapped[str] = mapped_column(Text, default="")
    kurztext: Mapped[str] = mapped_column(Text, default="")
    volltext: Mapped[str] = mapped_column(Text, default="")
    voraussetzungen: Mapped[str] = mapped_column(Text, default="")
    unterlagen: Mapped[list[str]] = mapped_column(JSON, default=list)
    verfahrensablauf: Mapped[str] = mapped_column(Text, default="")
    formulare: Mapped[list[dict]] = mapped_column(JSON, default=list)
    rechtsgrundlagen: Mapped[list[dict]] = mapped_column(JSON, default=list)
    weiterfuehrende_informationen: Mapped[str] = mapped_column(Text, default="")
    hinweise: Mapped[str] = mapped_column(Text, default="")
    rechtsbehelf: Mapped[str] = mapped_column(Text, default="")
    kosten_betrag: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    kosten_betrag_bis: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    kosten_text: Mapped[str] = mapped_column(Text, default="")
    fristen: Mapped[str] = mapped_column(Text, default="")
    bearbeitungsdauer: Mapped[str] = mapped_column(Text, default="")
    onlinedienste: Mapped[list[dict]] = mapped_column(JSON, default=list)
    termin_moeglich: Mapped[bool] = mapped_column(Boolean, default=False)
    termin_url: Mapped[str] = mapped_column(String(1000), default="")
    suchbegriffe: Mapped[list[str]] = mapped_column(JSON, default=list)
    lebenslagen: Mapped[list[str]] = mapped_column(JSON, default=list)
    sprache: Mapped[str] = mapped_column(String(8), default="de")
    art: Mapped[LeistungArt] = mapped_column(_enum(LeistungArt, "leistung_art"), default=LeistungArt.leistung)
    status: Mapped[LeistungStatus] = mapped_column(
        _enum(LeistungStatus, "leistung_status"), default=LeistungStatus.entwurf, index=True
    )
    quelle_format: Mapped[str] = mapped_column(String(20), default="manuell")
    quelle_id: Mapped[str | None] = mapped_column(String(200))
    quelle_url: Mapped[str] = mapped_column(String(1000), default="")
    aktualisiert_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt, onupdate=jetzt)
    quelle_stand: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # in the order they were entered (the first is the office a card names first), however they are loaded
    zustaendigkeiten: Mapped[list[Zustaendigkeit]] = relationship(
        back_populates="leistung", cascade="all, delete-orphan", order_by="Zustaendigkeit.id"
    )


class Organisationseinheit(Base):
    __tablename__ = "organisationseinheit"
    __table_args__ = (UniqueConstraint("quelle_format", "quelle_id", name="uq_organisationseinheit_quelle"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kurzname: Mapped[str] = mapped_column(String(200), default="")
    strasse: Mapped[str] = mapped_column(String(200), default="")
    hausnummer: Mapped[str] = mapped_column(String(20), default="")
    plz: Mapped[str] = mapped_column(String(10), default="")
    ort: Mapped[str] = mapped_column(String(200), default="")
    telefon: Mapped[str] = mapped_column(String(100), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    web: Mapped[str] = mapped_column(String(1000), default="")
    hinweis: Mapped[str] = mapped_column(Text, default="")
    aktiv: Mapped[bool] = mapped_column(Boolean, default=True)
    quelle_format: Mapped[str] = mapped_column(String(20), default="manuell")
    quelle_id: Mapped[str | None] = mapped_column(String(200))
    aktualisiert_am: Mapped[datetime] = mapped_column(UTCDateTime, default=jetzt, onupdate=jetzt)

    oeffnungszeiten: Mapped[list[Oeffnungszeit]] = relationship(
        back_populates="organisationseinheit",
        cascade="all, delete-orphan",
        order_by="(Oeffnungszeit.wochentag, Oeffnungszeit.von)",
    )
    ausnahmen: Mapped[list[OeffnungsAusnahme]] = relationship(
        back_populates="organisationseinheit", cascade="all, delete-orphan", order_by="OeffnungsAusnahme.datum"
    )
    zustaendigkeiten: Mapped[list[Zustaendigkeit]] = relationship(
        back_populates="organisationseinheit", cascade="all, delete-orphan"
    )

    @property
    def anschrift(self) -> str:
        strasse = " ".join(p for p in (self.strasse, self.hausnummer) if p)
        ort = " ".join(p for p in (self.plz, self.ort) if p)
        return ", ".join(p for p in (strasse, ort) if p)


class Oeffnungszeit(Base):
    """One weekly slot; several per day are allowed (e.g. 08–12 and 13–18)."""

    __tablename__ = "oeffnungszeit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisationseinheit_id: Mapped[int] = mapped_column(
        ForeignKey("organisationseinheit.id", ondelete="CASCADE"), index=True
    )
    wochentag: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday … 6 = Sunday
    von: Mapped[time] = mapped_column(Time)
    bis: Mapped[time] = mapped_column(Time)

    organisationseinheit: Mapped[Organisationseinheit] = relationship(back_populates="oeffnungszeiten")


class OeffnungsAusnahme(Base):
    """A dated exception: closed all day, or open only von–bis on that date."""

    __tablename__ = "oeffnungs_ausnahme"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organisationseinheit_id: Mapped[int] = mapped_column(
        ForeignKey("organisationseinheit.id", ondelete="CASCADE"), index=True
    )
    datum: Mapped[date] = mapped_column(Date)
    geschlossen: Mapped[bool] = mapped_column(Boolean, default=True)
    von: Mapped[time | None] = mapped_column(Time)
    bis: Mapped[time | None] = mapped_column(Time)
    grund: Mapped[str] = mapped_column(String(200), default="")

    organisationseinheit: Mapped[Organisationseinheit] = relationship(back_populates="ausnahmen")


class Zustaendigkeit(Base):
    """Leistung ↔ Organisationseinheit for a region (ARS, 12 digits or a prefix of it)."""

    __tablename__ = "zustaendigkeit"
    __table_args__ = (
        UniqueConstraint("leistung_id", "organisationseinheit_id", "region", name="uq_zustaendigkeit"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    leistung_id: Mapped[int] = mapped_column(ForeignKey("leistung.id", ondelete="CASCADE"), index=True)
    organisationseinheit_id: Mapped[int] = mapped_column(
        ForeignKey("organisationseinheit.id", ondelete="CASCADE"), index=True
    )
    region: Mapped[str] = mapped_column(String(12), default="")

    leistung: Mapped[Leistung] = relationship(back_populates="zustaendigkeiten")
    organisationseinheit: Mapped[Organisationseinheit] = relationship(back_populates="zustaendigkeiten")

"""Read models of the knowledge base API."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class Link(BaseModel):
    name: str
    url: str = ""


class Kosten(BaseModel):
    betrag: Decimal | None = Field(None, description="Betrag in Euro; bei einer Spanne der Mindestbetrag")
    betrag_bis: Decimal | None = Field(None, description="Höchstbetrag in Euro bei einer Spanne")
    text: str = ""


class Quelle(BaseModel):
    format: str
    id: str | None
    url: str = ""
    stand: datetime | None = None


class SuchtrefferRead(BaseModel):
    id: int
    name: str
    leika: str | None
    art: str
    score: float
    konfidenz: str = Field(description="sicher | unsicher | kein Treffer")
    snippet: str = Field(description="HTML-escaped Ausschnitt, Treffer in <mark>")
    url: str = Field(description="Pfad der vollständigen Leistung in dieser API")


class SuchantwortRead(BaseModel):
    frage: str
    treffer: list[SuchtrefferRead]


class OeffnungszeitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    wochentag: int = Field(description="0 = Montag … 6 = Sonntag")
    von: time
    bis: time


class AusnahmeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    datum: date
    geschlossen: bool
    von: time | None
    bis: time | None
    grund: str


class OeffnungsStatusRead(BaseModel):
    geoeffnet: bool
    schliesst_um: datetime | None
    naechste_oeffnung: datetime | None
    text: str


class OrganisationseinheitKurz(BaseModel):
    id: int
    name: str
    anschrift: str
    telefon: str
    email: str
    web: str
    oeffnungszeiten: list[OeffnungszeitRead]
    jetzt: OeffnungsStatusRead


class LeistungKurz(BaseModel):
    id: int
    leistungsname: str
    leika: str | None


class OrganisationseinheitRead(OrganisationseinheitKurz):
    kurzname: str
    strasse: str
    hausnummer: str
    plz: str
    ort: str
    hinweis: str
    ausnahmen: list[AusnahmeRead]
    leistungen: list[LeistungKurz]


class ZustaendigkeitRead(BaseModel):
    region: str
    organisationseinheit: OrganisationseinheitKurz


class LeistungRead(BaseModel):
    id: int
    leika: str | None
    leistungsname: str
    leistungsbezeichnung: str
    art: str
    status: str
    sprache: str
    teaser: str
    kurztext: str
    volltext: str
    voraussetzungen: str
    unterlagen: list[str]
    verfahrensablauf: str
    kosten: Kosten
    fristen: str
    bearbeitungsdauer: str
    formulare: list[Link]
    rechtsgrundlagen: list[Link]
    weiterfuehrende_informationen: str
    hinweise: str
    rechtsbehelf: str
    onlinedienste: list[Link]
    termin_moeglich: bool
    termin_url: str
    suchbegriffe: list[str]
    lebenslagen: list[str]
    quelle: Quelle
    aktualisiert_am: datetime
    zustaendige_stellen: list[ZustaendigkeitRead]

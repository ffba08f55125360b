"""Pydantic schemas of the ticket API (Create / Update / Read)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from servicecenter.tickets.models import ArtikelArt, Kanal, Prioritaet
from servicecenter.tickets.zustaende import Buergerstatus, Zustand

MAX_ANLIEGEN = 10_000
MAX_ARTIKEL = 20_000

Anliegen = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ANLIEGEN)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Telefon = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=3, max_length=50, pattern=r"^[0-9+()/.\- ]+$")
]
Email = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
]
ExterneId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class _Streng(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BuergerKontakt(_Streng):
    """Citizen contact data; stored only with `einwilligung: true`."""

    name: Name | None = None
    telefon: Telefon | None = None
    email: Email | None = None
    einwilligung: bool = False


class TicketCreate(_Streng):
    anliegen: Anliegen
    kanal: Kanal
    leistung_id: int | None = Field(default=None, ge=1)
    prioritaet: Prioritaet = Prioritaet.normal
    queue_id: int | None = Field(default=None, ge=1, description="Zuständige Organisationseinheit")
    assignee_id: int | None = Field(default=None, ge=1)
    kontakt: BuergerKontakt | None = None
    rueckruf_am: datetime | None = None
    externe_vorgangs_id: ExterneId | None = None


class TicketUpdate(_Streng):
    """Only the fields sent are changed; `null` clears assignee or queue."""

    version: int = Field(ge=1, description="Version, auf der die Änderung beruht")
    status: Zustand | None = None
    assignee_id: int | None = Field(default=None, ge=1)
    queue_id: int | None = Field(default=None, ge=1)
    prioritaet: Prioritaet | None = None
    leistung_id: int | None = Field(default=None, ge=1)
    externe_vorgangs_id: ExterneId | None = None


class AnhangCreate(_Streng):
    dateiname: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
    mimetyp: Annotated[str, StringConstraints(max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")] = (
        "application/octet-stream"
    )
    inhalt_base64: str


class ArtikelCreate(_Streng):
    art: ArtikelArt = ArtikelArt.notiz
    text: Annotated[str, StringConstraints(max_length=MAX_ARTIKEL)] = ""
    textbaustein_id: int | None = Field(default=None, ge=1, description="Text aus einem Textbaustein erzeugen")
    anhaenge: list[AnhangCreate] = Field(default_factory=list, max_length=10)

    @field_validator("art")
    @classmethod
    def _nicht_eingang(cls, art: ArtikelArt) -> ArtikelArt:
        # "eingang" articles are the citizen's own e-mails; only the e-mail channel writes them.
        if art == ArtikelArt.eingang:
            raise ValueError("Artikel der Art „eingang“ entstehen nur aus eingehenden E-Mails.")
        return art


class ZusammenfuehrenCreate(_Streng):
    ziel: Annotated[str, StringConstraints(pattern=r"^115-\d{4}-\d{6}$")]
    version: int | None = Field(default=None, ge=1, description="Version dieses Tickets (optional)")


class TextbausteinCreate(_Streng):
    name: Name
    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ARTIKEL)]


class TextbausteinRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    text: str


class AnhangRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    dateiname: str
    mimetyp: str
    groesse: int
    sha256: str


class ArtikelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    ticket_nummer: str
    art: ArtikelArt
    text: str
    benutzer_id: int | None
    erstellt_am: datetime
    anhaenge: list[AnhangRead]


class ZeitleisteEintrag(BaseModel):
    zeitpunkt: datetime
    typ: Literal["aenderung", "artikel"]
    ticket_nummer: str
    benutzer_id: int | None = None
    benutzer_name: str | None = None
    feld: str | None = None
    alt: str | None = None
    neu: str | None = None
    artikel: ArtikelRead | None = None


class KontaktRead(BaseModel):
    name: str | None
    telefon: str | None
    email: str | None
    einwilligung: bool
    einwilligung_am: datetime | None


class TicketRead(BaseModel):
    nummer: str
    status: Zustand
    status_text: str
    buergerstatus: Buergerstatus
    version: int
    faellig_am: datetime | None
    ueberfaellig: bool
    bald_faellig: bool
    sla_pausiert: bool
    anliegen: str
    kanal: Kanal
    prioritaet: Prioritaet
    leistung_id: int | None
    queue_id: int | None
    assignee_id: int | None
    kontakt: KontaktRead | None
    rueckruf_am: datetime | None
    erledigt_am: datetime | None
    externe_vorgangs_id: str | None
    zusammengefuehrt_in: str | None
    erstellt_von_id: int | None
    erstellt_am: datetime
    aktualisiert_am: datetime


class TicketAngelegt(TicketRead):
    """Creation response only: the citizen's access code is shown this once (only its hash is stored)."""

    zugangscode: str | None = None
    status_link: str | None = None


class TicketDetail(TicketRead):
    artikel: list[ArtikelRead]
    zeitleiste: list[ZeitleisteEintrag]


class TicketListe(BaseModel):
    anzahl: int
    tickets: list[TicketRead]

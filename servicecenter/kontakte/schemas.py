"""Schemas of POST /api/v1/kontakte."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from servicecenter.kontakte.models import Ergebnis
from servicecenter.tickets.models import Kanal, Prioritaet
from servicecenter.tickets.schemas import MAX_ANLIEGEN, BuergerKontakt, TicketRead


class KontaktCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kanal: Kanal
    ergebnis: Ergebnis
    leistung_id: int | None = Field(default=None, ge=1)
    anliegen: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_ANLIEGEN)] = ""
    dauer_sekunden: int | None = Field(default=None, ge=0, le=86_400)
    rueckruf_am: datetime | None = Field(default=None, description="Pflicht bei „Rückruf vereinbart“")
    queue_id: int | None = Field(default=None, ge=1, description="Zuständige Queue für das Ticket")
    prioritaet: Prioritaet = Prioritaet.normal
    anruf_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None
    kontakt: BuergerKontakt | None = None


class KontaktRead(BaseModel):
    id: int
    kanal: Kanal
    ergebnis: Ergebnis
    leistung_id: int | None
    anliegen: str
    dauer_sekunden: int | None
    rueckruf_am: datetime | None
    erstellt_am: datetime
    ticket: TicketRead | None = None

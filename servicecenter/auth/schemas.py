"""Pydantic models of the account API (read models never carry hashes)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from servicecenter.auth.models import Rolle


class BenutzerCreate(BaseModel):
    name: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    anzeigename: str = Field(default="", max_length=200)
    rolle: Rolle
    passwort: str = Field(min_length=12, max_length=1024)


class BenutzerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    anzeigename: str
    rolle: Rolle
    aktiv: bool
    gesperrt_bis: datetime | None
    letzte_anmeldung: datetime | None


class TokenRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    benutzer_id: int
    bezeichnung: str
    praefix: str
    angelegt_am: datetime
    zuletzt_benutzt_am: datetime | None
    widerrufen_am: datetime | None

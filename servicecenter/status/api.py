"""GET /api/v1/status/{nummer}?code=… for other portals, and `einrichten` that wires page and API."""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from servicecenter.status import service
from servicecenter.status.views import begrenzer, client_schluessel
from servicecenter.status.views import make_router as views_router
from servicecenter.tickets.zustaende import Buergerstatus


class VerlaufRead(BaseModel):
    zeitpunkt: datetime
    status: Buergerstatus
    status_text: str


class StatusRead(BaseModel):
    nummer: str
    status: Buergerstatus = Field(description="Status nach dem Vokabular des Bundes-Bürgerpostfachs")
    status_text: str
    erklaerung: str
    naechster_schritt: str
    thema: str | None = Field(description="Name der Leistung, falls bekannt")
    eingegangen_am: datetime
    aktualisiert_am: datetime
    verlauf: list[VerlaufRead]


class Meldung(BaseModel):
    detail: str


def status_read(a: service.StatusAuskunft) -> StatusRead:
    return StatusRead(
        nummer=a.nummer, status=a.status, status_text=a.text.titel, erklaerung=a.text.erklaerung,
        naechster_schritt=a.text.naechster_schritt, thema=a.thema, eingegangen_am=a.eingegangen_am,
        aktualisiert_am=a.aktualisiert_am,
        verlauf=[VerlaufRead(zeitpunkt=e.zeitpunkt, status=e.status, status_text=e.titel) for e in a.verlauf],
    )


def make_router(*, get_session: Callable[..., Session]) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["Status"])
    Sitzung = Annotated[Session, Depends(get_session, scope="function")]

    @router.get(
        "/status/{nummer}", response_model=StatusRead, summary="Bearbeitungsstand für Bürgerinnen und Bürger",
        responses={404: {"model": Meldung}, 429: {"model": Meldung}},
    )
    def status(nummer: str, request: Request, session: Sitzung,
               code: Annotated[str, Query(max_length=200, description="Zugangscode des Vorgangs")] = ""):
        """Ohne Anmeldung; eine falsche Kombination erhält dieselbe Antwort wie eine unbekannte Nummer."""
        kopf = {"Cache-Control": "no-store"}
        warten = begrenzer(request).versuch(client_schluessel(request))
        if warten is not None:
            return JSONResponse({"detail": service.ZU_VIELE_TEXT}, status_code=429,
                                headers={**kopf, "Retry-After": str(int(warten) + 1)})
        auskunft = service.status_abfragen(session, nummer=nummer, code=code)
        if auskunft is None:
            return JSONResponse({"detail": service.NICHT_GEFUNDEN_TEXT}, status_code=404, headers=kopf)
        return JSONResponse(status_read(auskunft).model_dump(mode="json"), headers=kopf)

    return router


def einrichten(app: FastAPI, *, get_session: Callable[..., Session]) -> None:
    s = app.state.settings
    app.state.status_begrenzer = service.Begrenzer(s.status_max_versuche, s.status_fenster_sekunden)
    app.include_router(views_router(get_session=get_session))
    app.include_router(make_router(get_session=get_session))

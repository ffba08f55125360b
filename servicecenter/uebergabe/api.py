"""Routes of the hand-off: inbound callbacks of back ends (HMAC, no login), the agents' hand-off and retry
actions (API and desk form), and the Jinja helper the desk ticket page uses to show a failed hand-off."""


from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session, object_session

from servicecenter.auth.deps import Rolle, benutzer_mit_rolle, uhr
from servicecenter.auth.models import Benutzer
from servicecenter.tickets import service as tickets
from servicecenter.tickets.api import ApiFehler
from servicecenter.tickets.models import Ticket
from servicecenter.uebergabe import service
from servicecenter.uebergabe.adapter import Registry, UngueltigerCallback
from servicecenter.uebergabe.models import Uebergabe

Agent = Annotated[Benutzer, Depends(benutzer_mit_rolle(Rolle.agent))]
MAX_CALLBACK_BYTES = 256 * 1024


class UebergabeCreate(BaseModel):
    version: int | None = Field(default=None, ge=0, lt=2**31,
                                description="Ticket-Version, auf der die Übergabe beruht (Schutz vor Überschreiben)")


class UebergabeRead(BaseModel):
    id: int
    ticket_nummer: str
    adapter: str
    status: str
    externe_id: str | None
    fehler: str | None
    versuche: int
    erstellt_am: datetime
    zugestellt_am: datetime | None


def _read(u: Uebergabe, nummer: str) -> UebergabeRead:
    return UebergabeRead(id=u.id, ticket_nummer=nummer, adapter=u.adapter, status=u.status.value,
                         externe_id=u.externe_id, fehler=u.fehler, versuche=u.versuche, erstellt_am=u.erstellt_am,
                         zugestellt_am=u.zugestellt_am)


def _registry(request: Request) -> Registry:
    return request.app.state.uebergabe_registry


def _einst(request: Request) -> tickets.TicketEinstellungen:
    return tickets.TicketEinstellungen.aus(request.app.state.settings)


def make_router(*, get_session: Callable[..., Session]) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["Übergabe"])
    Sitzung = Annotated[Session, Depends(get_session, scope="function")]

    @router.post("/uebergabe/{adapter}/callback", summary="Rückmeldung eines Fachverfahrens (HMAC-signiert)",
                 responses={401: {"description": "Unbekannt, gefälscht, zu alt oder schon verarbeitet"}})
    async def callback(adapter: str, request: Request, session: Sitzung) -> dict[str, str]:
        laenge = request.headers.get("content-length") or "0"
        if not laenge.isdigit() or int(laenge) > MAX_CALLBACK_BYTES:
            raise HTTPException(413, "Rückmeldung zu groß.")
        body = await request.body()
        if len(body) > MAX_CALLBACK_BYTES:
            raise HTTPException(413, "Rückmeldung zu groß.")
        try:
            service.callback_verarbeiten(session, adapter_name=adapter[:100], headers=request.headers, body=body,
                                         registry=_registry(request), einstellungen=_einst(request),
                                         jetzt=uhr(request))
        except UngueltigerCallback as exc:
            session.rollback()
            raise HTTPException(401, "Rückmeldung abgelehnt.") from exc
        return {"status": "angenommen"}

    def _ticket(session: Session, nummer: str, benutzer: Benutzer, request: Request) -> Ticket:
        try:
            return tickets.ticket_fuer_benutzer(session, nummer[:40], benutzer)
        except tickets.TicketFehler as exc:
            raise ApiFehler(exc.status, exc.meldung) from exc

    @router.post("/tickets/{nummer}/uebergabe", status_code=202, response_model=UebergabeRead,
                 summary="Ticket an das zuständige Fachverfahren übergeben")
    def uebergeben(nummer: str, benutzer: Agent, session: Sitzung, request: Request,
                   daten: Annotated[UebergabeCreate, Body()] = UebergabeCreate()) -> UebergabeRead:
        t = _ticket(session, nummer, benutzer, request)
        try:
            u = service.uebergeben(session, t, benutzer=benutzer, registry=_registry(request),
                                   einstellungen=_einst(request), version=daten.version, jetzt=uhr(request))
        except tickets.TicketFehler as exc:
            raise ApiFehler(exc.status, exc.meldung) from exc
        return _read(u, t.nummer)

    @router.post("/tickets/{nummer}/uebergabe/wiederholen", status_code=202, response_model=UebergabeRead,
                 summary="Fehlgeschlagene Übergabe erneut versuchen")
    def wiederholen(nummer: str, benutzer: Agent, session: Sitzung, request: Request) -> UebergabeRead:
        t = _ticket(session, nummer, benutzer, request)
        try:
            u = service.erneut_versuchen(session, t, benutzer=benutzer, registry=_registry(request),
                                         einstellungen=_einst(request), jetzt=uhr(request))
        except tickets.TicketFehler as exc:
            raise ApiFehler(exc.status, exc.meldung) from exc
        return _read(u, t.nummer)

    @router.get("/tickets/{nummer}/uebergaben", response_model=list[UebergabeRead],
                summary="Übergaben eines Tickets")
    def liste(nummer: str, benutzer: Agent, session: Sitzung, request: Request) -> list[UebergabeRead]:
        from sqlalchemy import select

        t = _ticket(session, nummer, benutzer, request)
        zeilen = session.scalars(select(Uebergabe).where(Uebergabe.ticket_id == t.id).order_by(Uebergabe.id))
        return [_read(u, t.nummer) for u in zeilen]

    return router


def desk_router(*, get_session: Callable[..., Session]) -> APIRouter:
    """The desk forms (session cookie + CSRF, checked by benutzer_mit_rolle)."""
    router = APIRouter(include_in_schema=False)
    Sitzung = Annotated[Session, Depends(get_session, scope="function")]

    def _aktion(request: Request, session: Session, benutzer: Benutzer, nummer: str, aufruf) -> RedirectResponse:
        try:
            t = tickets.ticket_fuer_benutzer(session, nummer[:40], benutzer)
            aufruf(t)
        except tickets.TicketFehler as exc:
            session.rollback()
            raise HTTPException(exc.status, exc.meldung) from exc
        return RedirectResponse(f"/desk/tickets/{t.nummer}?meldung=status", status_code=303)

    @router.post("/desk/tickets/{nummer}/uebergabe")
    def uebergeben(request: Request, session: Sitzung, benutzer: Agent, nummer: str,
                   version: Annotated[int, Form(ge=0, lt=2**31)]):
        return _aktion(request, session, benutzer, nummer, lambda t: service.uebergeben(
            session, t, benutzer=benutzer, registry=_registry(request), einstellungen=_einst(request),
            version=version, jetzt=uhr(request)))

    @router.post("/desk/tickets/{nummer}/uebergabe/wiederholen")
    def wiederholen(request: Request, session: Sitzung, benutzer: Agent, nummer: str):
        return _aktion(request, session, benutzer, nummer, lambda t: service.erneut_versuchen(
            session, t, benutzer=benutzer, registry=_registry(request), einstellungen=_einst(request),
            jetzt=uhr(request)))

    return router


def uebergabe_von(ticket: Ticket) -> Uebergabe | None:
    """Jinja helper for the desk ticket page: the ticket's latest hand-off."""
    session = object_session(ticket)
    return service.letzte_uebergabe(session, ticket) if session is not None else None


def einrichten(app: FastAPI, *, get_session: Callable[..., Session]) -> None:
    """Wire the hand-off routes and the registry (called once from the composition root)."""
    from servicecenter.desk.vorlagen import templates

    app.state.uebergabe_registry = Registry.aus_settings(app.state.settings)
    app.include_router(make_router(get_session=get_session))
    app.include_router(desk_router(get_session=get_session))
    templates.env.globals["uebergabe_von"] = uebergabe_von

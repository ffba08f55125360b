"""REST API of tickets and Textbausteine (/api/v1/tickets, /api/v1/textbausteine). Thin: the rules live in
service.py. `einrichten(app, …)` wires this router, the Kontakte router and the error handler."""


from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from servicecenter.auth.deps import Rolle, benutzer_mit_rolle
from servicecenter.auth.models import Benutzer
from servicecenter.status.service import status_link
from servicecenter.tickets import service
from servicecenter.tickets.models import Ticket, TicketArtikel
from servicecenter.tickets.schemas import (
    AnhangRead,
    ArtikelCreate,
    ArtikelRead,
    KontaktRead,
    TextbausteinCreate,
    TextbausteinRead,
    TicketAngelegt,
    TicketCreate,
    TicketDetail,
    TicketListe,
    TicketRead,
    TicketUpdate,
    ZeitleisteEintrag,
    ZusammenfuehrenCreate,
)
from servicecenter.tickets.zustaende import ZUSTAND_TEXT, Zustand
from wissensdatenbank.basis import jetzt as _jetzt

Agent = Annotated[Benutzer, Depends(benutzer_mit_rolle(Rolle.agent))]
Leitung = Annotated[Benutzer, Depends(benutzer_mit_rolle(Rolle.teamleitung))]


class ApiFehler(Exception):
    """A TicketFehler turned into a response body while the session was still open."""

    def __init__(self, status: int, detail: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.extra = status, detail, extra or {}


def uhr(request: Request) -> datetime:
    return (getattr(request.app.state, "uhr", None) or _jetzt)()


def einstellungen(request: Request) -> service.TicketEinstellungen:
    return service.TicketEinstellungen.aus(request.app.state.settings)


Einst = Annotated[service.TicketEinstellungen, Depends(einstellungen)]


def ticket_read(t: Ticket, einst: service.TicketEinstellungen, jetzt: datetime, session: Session) -> TicketRead:
    ueber, bald = service.sla_flags(t, einst, jetzt)
    ziel = session.get(Ticket, t.zusammengefuehrt_in_id) if t.zusammengefuehrt_in_id else None
    return TicketRead(
        nummer=t.nummer, status=t.zustand, status_text=ZUSTAND_TEXT[t.zustand], buergerstatus=t.buergerstatus,
        version=t.version, faellig_am=t.faellig_am, ueberfaellig=ueber, bald_faellig=bald,
        sla_pausiert=t.sla_pausiert_seit is not None, anliegen=t.anliegen, kanal=t.kanal, prioritaet=t.prioritaet,
        leistung_id=t.leistung_id, queue_id=t.queue_id, assignee_id=t.assignee_id,
        kontakt=KontaktRead(
            name=t.kontakt_name, telefon=t.kontakt_telefon, email=t.kontakt_email, einwilligung=t.einwilligung,
            einwilligung_am=t.einwilligung_am,
        ) if t.einwilligung else None,
        rueckruf_am=t.rueckruf_am, erledigt_am=t.erledigt_am, externe_vorgangs_id=t.externe_vorgangs_id,
        zusammengefuehrt_in=ziel.nummer if ziel else None, erstellt_von_id=t.erstellt_von_id,
        erstellt_am=t.erstellt_am, aktualisiert_am=t.aktualisiert_am,
    )


def artikel_read(a: TicketArtikel, nummer: str) -> ArtikelRead:
    return ArtikelRead(
        id=a.id, ticket_nummer=nummer, art=a.art, text=a.text, benutzer_id=a.benutzer_id, erstellt_am=a.erstellt_am,
        anhaenge=[AnhangRead.model_validate(x) for x in a.anhaenge],
    )


def fehler(exc: service.TicketFehler, einst: service.TicketEinstellungen, jetzt: datetime,
           session: Session) -> ApiFehler:
    extra: dict[str, Any] = {}
    if isinstance(exc, service.VersionKonflikt):
        extra["aktuell"] = ticket_read(exc.ticket, einst, jetzt, session).model_dump(mode="json")
    return ApiFehler(exc.status, exc.meldung, extra)


def make_router(*, get_session: Callable[..., Session]) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["Tickets"])
    Sitzung = Annotated[Session, Depends(get_session, scope="function")]

    @router.post("/tickets", status_code=201, response_model=TicketAngelegt, summary="Ticket anlegen")
    def anlegen(daten: TicketCreate, benutzer: Agent, session: Sitzung, einst: Einst,
                request: Request) -> TicketAngelegt:
        now = uhr(request)
        k = daten.kontakt
        try:
            t = service.ticket_anlegen(
                session, anliegen=daten.anliegen, kanal=daten.kanal, benutzer=benutzer, einstellungen=einst,
                leistung_id=daten.leistung_id, prioritaet=daten.prioritaet, queue_id=daten.queue_id,
                assignee_id=daten.assignee_id,
                buerger=service.BuergerDaten(k.name, k.telefon, k.email, k.einwilligung) if k else None,
                rueckruf_am=daten.rueckruf_am, externe_vorgangs_id=daten.externe_vorgangs_id, jetzt=now,
            )
        except service.TicketFehler as exc:
            raise fehler(exc, einst, now, session) from exc
        return TicketAngelegt(  # the access code for the citizen, shown once
            **ticket_read(t, einst, now, session).model_dump(), zugangscode=getattr(t, "zugangscode", None),
            status_link=status_link(request.app.state.settings.oeffentliche_url, t.nummer),
        )

    @router.get("/tickets", response_model=TicketListe, summary="Tickets einer Queue-Ansicht")
    def liste(
        benutzer: Agent, session: Sitzung, einst: Einst, request: Request,
        filter: Annotated[list[str], Query(
            description="mein, team, ueberfaellig, bald_faellig, unzugewiesen (mehrfach oder kommagetrennt; "
                        "alle müssen zutreffen)")] = [],  # noqa: B006
        status: Annotated[list[Zustand], Query(description="Standard: alle offenen Status")] = [],  # noqa: B006
        queue_id: Annotated[int | None, Query(ge=1)] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> TicketListe:
        now = uhr(request)
        filter_set = {f.strip() for teil in filter for f in teil.split(",") if f.strip()}
        try:
            anzahl, tickets = service.tickets_suchen(
                session, benutzer=benutzer, einstellungen=einst, filter=filter_set, zustaende=set(status) or None,
                queue_id=queue_id, limit=limit, offset=offset, jetzt=now,
            )
        except service.TicketFehler as exc:
            raise fehler(exc, einst, now, session) from exc
        return TicketListe(anzahl=anzahl, tickets=[ticket_read(t, einst, now, session) for t in tickets])

    @router.get("/tickets/{nummer}", response_model=TicketDetail, summary="Ticket mit Artikeln und Verlauf")
    def lesen(nummer: str, benutzer: Agent, session: Sitzung, einst: Einst, request: Request) -> TicketDetail:
        now = uhr(request)
        try:
            t = service.ticket_fuer_benutzer(session, nummer, benutzer)
        except service.TicketFehler as exc:
            raise fehler(exc, einst, now, session) from exc
        nummern = {}
        artikel = []
        for a in service.artikel_von(session, t):
            nummern.setdefault(a.ticket_id, session.get(Ticket, a.ticket_id).nummer)
            artikel.append(artikel_read(a, nummern[a.ticket_id]))
        zeitleiste = [
            ZeitleisteEintrag(
                zeitpunkt=e.zeitpunkt, typ=e.typ, ticket_nummer=e.ticket_nummer, benutzer_id=e.benutzer_id,
                benutzer_name=e.benutzer_name, feld=e.feld, alt=e.alt, neu=e.neu,
                artikel=artikel_read(e.artikel, e.ticket_nummer) if e.artikel is not None else None,
            )
            for e in service.zeitleiste(session, t)
        ]
        return TicketDetail(**ticket_read(t, einst, now, session).model_dump(), artikel=artikel, zeitleiste=zeitleiste)

    @router.patch("/tickets/{nummer}", response_model=TicketRead, summary="Ticket ändern (mit Version)",
                  responses={409: {"description": "Veraltete Version; `aktuell` enthält den aktuellen Stand"}})
    def aendern(nummer: str, daten: TicketUpdate, benutzer: Agent, session: Sitzung, einst: Einst,
                request: Request) -> TicketRead:
        now = uhr(request)
        gesetzt = daten.model_fields_set
        felder = {f: getattr(daten, f) for f in ("assignee_id", "queue_id", "leistung_id", "externe_vorgangs_id")
                  if f in gesetzt}
        try:
            t = service.ticket_fuer_benutzer(session, nummer, benutzer)
            service.ticket_aendern(
                session, t, version=daten.version, benutzer=benutzer, einstellungen=einst, status=daten.status,
                prioritaet=daten.prioritaet, jetzt=now, **felder,
            )
        except service.TicketFehler as exc:
            raise fehler(exc, einst, now, session) from exc
        return ticket_read(t, einst, now, session)

    @router.post("/tickets/{nummer}/artikel", status_code=201, response_model=ArtikelRead,
                 summary="Notiz oder Nachricht an die Bürgerin / den Bürger")
    def artikel(nummer: str, daten: ArtikelCreate, benutzer: Agent, session: Sitzung, einst: Einst,
                request: Request) -> ArtikelRead:
        now = uhr(request)
        try:
            t = service.ticket_fuer_benutzer(session, nummer, benutzer)
            text = daten.text
            if daten.textbaustein_id is not None:
                text = service.textbaustein_rendern(
                    session, t, textbaustein_id=daten.textbaustein_id,
                    zeitzone=einst.servicezeiten.zeitzone,
                ) + (("\n\n" + text) if text.strip() else "")
                if len(text) > 20_000:
                    raise service.UngueltigeEingabe("Der Text ist zu lang (höchstens 20 000 Zeichen).")
            anhaenge = [
                service.anhang_aus_base64(a.dateiname, a.mimetyp, a.inhalt_base64, einst.anhang_max_bytes)
                for a in daten.anhaenge
            ]
            a = service.artikel_anlegen(
                session, t, art=daten.art, text=text, benutzer=benutzer, einstellungen=einst, anhaenge=anhaenge,
                jetzt=now,
            )
        except service.TicketFehler as exc:
            raise fehler(exc, einst, now, session) from exc
        return artikel_read(a, t.nummer)

    @router.get("/tickets/{nummer}/anhaenge/{anhang_id}", summary="Anhang herunterladen",
                response_class=Response)
    def anhang(nummer: str, anhang_id: int, benutzer: Agent, session: Sitzung, einst: Einst,
               request: Request) -> Response:
        now = uhr(request)
        try:
            t = service.ticket_fuer_benutzer(session, nummer, benutzer)
            a = service.anhang_laden(session, t, anhang_id)
        except service.TicketFehler as exc:
            raise fehler(exc, einst, now, session) from exc
        name = "".join(c if c.isalnum() or c in "._-" else "_" for c in a.dateiname)[:100] or "anhang"
        return Response(
            content=a.inhalt, media_type="application/octet-stream",
            headers={"Content-Disposition": f'attachment; filename="{name}"', "X-Content-Type-Options": "nosniff"},
        )

    @router.post("/tickets/{nummer}/zusammenfuehren", response_model=TicketRead,
                 summary="Dieses Ticket in ein anderes zusammenführen (dieses wird geschlossen)")
    def zusammenfuehren(nummer: str, daten: ZusammenfuehrenCreate, benutzer: Agent, session: Sitzung,
                        einst: Einst, request: Request) -> TicketRead:
        now = uhr(request)
        try:
            quelle = service.ticket_fuer_benutzer(session, nummer, benutzer)
            ziel = service.ticket_fuer_benutzer(session, daten.ziel, benutzer)
            service.zusammenfuehren(session, quelle=quelle, ziel=ziel, benutzer=benutzer, einstellungen=einst,
                                    version=daten.version, jetzt=now)
        except service.TicketFehler as exc:
            raise fehler(exc, einst, now, session) from exc
        return ticket_read(ziel, einst, now, session)

    @router.get("/textbausteine", response_model=list[TextbausteinRead], tags=["Textbausteine"],
                summary="Textbausteine")
    def textbausteine(benutzer: Agent, session: Sitzung) -> list[TextbausteinRead]:
        return [TextbausteinRead.model_validate(t) for t in service.textbausteine_liste(session)]

    @router.post("/textbausteine", status_code=201, response_model=TextbausteinRead, tags=["Textbausteine"],
                 summary="Textbaustein anlegen (Teamleitung)")
    def textbaustein_anlegen(daten: Annotated[TextbausteinCreate, Body()], benutzer: Leitung, session: Sitzung,
                             einst: Einst, request: Request) -> TextbausteinRead:
        try:
            tb = service.textbaustein_anlegen(session, name=daten.name, text=daten.text)
        except service.TicketFehler as exc:
            raise fehler(exc, einst, uhr(request), session) from exc
        return TextbausteinRead.model_validate(tb)

    return router


def einrichten(app: FastAPI, *, get_session: Callable[..., Session]) -> None:
    """Wire the ticket and Kontakte routers and the handler that renders their errors as German JSON."""
    from servicecenter.kontakte.api import make_router as kontakte_router

    @app.exception_handler(ApiFehler)
    async def api_fehler(_request: Request, exc: ApiFehler) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content={"detail": exc.detail, **exc.extra})

    app.include_router(make_router(get_session=get_session))
    app.include_router(kontakte_router(get_session=get_session))

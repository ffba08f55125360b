"""Desk pages (Agent, Teamleitung, Admin): search-as-you-type, answer card, contact logging, e-mail via outbox,
ticket queue and ticket detail. htmx requests get partials; the same URLs work without JavaScript."""


import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from servicecenter.auth.deps import Rolle, benutzer_mit_rolle, uhr
from servicecenter.auth.models import Benutzer
from servicecenter.desk import service
from servicecenter.desk.service import KontaktEingabe
from servicecenter.desk.vorlagen import templates
from servicecenter.kontakte.models import Ergebnis
from servicecenter.redaktion import service as redaktion
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import ArtikelArt, Kanal, Ticket
from servicecenter.tickets.zustaende import UEBERGAENGE, ZUSTAND_TEXT, Zustand
from wissensdatenbank.models import Leistung, Organisationseinheit
from wissensdatenbank.service import Wissensdatenbank

log = logging.getLogger(__name__)

Agent = Annotated[Benutzer, Depends(benutzer_mit_rolle(Rolle.agent))]
TREFFER_LIMIT = 8
FILTER_TEXT = {
    "mein": "mir zugewiesen",
    "team": "meine Queues",
    "ueberfaellig": "überfällig",
    "bald_faellig": "bald fällig",
    "unzugewiesen": "nicht zugewiesen",
}


def _ist_htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


def _settings(request: Request):
    return request.app.state.settings


def _einstellungen(request: Request) -> tickets.TicketEinstellungen:
    return tickets.TicketEinstellungen.aus(_settings(request))


def make_router(
    *, get_session: Callable[..., Session], get_wissensdatenbank: Callable[..., Wissensdatenbank]
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    SessionDep = Annotated[Session, Depends(get_session, scope="function")]
    WdbDep = Annotated[Wissensdatenbank, Depends(get_wissensdatenbank)]

    def _karte(request: Request, session: Session, leistung_id: int) -> service.Karte | None:
        s = _settings(request)
        return service.karte_laden(session, leistung_id, jetzt=uhr(request), zeitzone=s.zeitzone,
                                   land=s.feiertage_land)

    def _karten_kontext(request: Request, session: Session, karte: service.Karte | None,
                        eingabe: KontaktEingabe | None = None) -> dict:
        if karte is None:
            return {"karte": None}
        if eingabe is None:
            eingabe = KontaktEingabe(leistung_id=str(karte.leistung.id), beginn=str(int(uhr(request).timestamp())))
        return {
            "karte": karte,
            "antworttext": service.antwort_text(karte),
            "eingabe": eingabe,
            "queues": service.queues_fuer(session, karte),
            "kanaele": list(Kanal),
            "ergebnisse": list(Ergebnis),
        }

    def _treffer(wdb: Wissensdatenbank, q: str) -> list:
        return wdb.suche(q, limit=TREFFER_LIMIT) if q.strip() else []

    def _seite(request: Request, session: Session, benutzer: Benutzer, wdb: Wissensdatenbank, *, q: str = "",
               karte: service.Karte | None = None, status_code: int = 200, **extra) -> HTMLResponse:
        kontext = {"benutzer": benutzer, "q": q, "treffer": _treffer(wdb, q), "anzahl": len(wdb),
                   **_karten_kontext(request, session, karte, extra.pop("eingabe", None)), **extra}
        return templates.TemplateResponse(request, "desk/seite.html", kontext, status_code=status_code)

    # --- search and card ---------------------------------------------------------------------------------------

    @router.get("/desk", response_class=HTMLResponse)
    def desk(
        request: Request, session: SessionDep, benutzer: Agent, wdb: WdbDep,
        q: Annotated[str, Query(max_length=500)] = "",
        leistung: Annotated[int | None, Query(ge=1, lt=2**31)] = None,
    ):
        karte = _karte(request, session, leistung) if leistung else None
        if leistung and karte is None:
            return _seite(request, session, benutzer, wdb, q=q, status_code=404,
                          fehler="Diese Leistung gibt es nicht oder sie ist nicht veröffentlicht.")
        return _seite(request, session, benutzer, wdb, q=q, karte=karte)

    @router.get("/desk/suche", response_class=HTMLResponse)
    def suche(request: Request, benutzer: Agent, wdb: WdbDep, q: Annotated[str, Query(max_length=500)] = ""):
        # Per keystroke: the in-memory index only, no database query.
        if not _ist_htmx(request):
            return RedirectResponse(f"/desk?{request.url.query}", status_code=303)
        return templates.TemplateResponse(request, "desk/_treffer.html", {"q": q, "treffer": _treffer(wdb, q)})

    @router.post("/desk/suche/luecke", status_code=204)
    def luecke(
        request: Request, session: SessionDep, _benutzer: Agent, wdb: WdbDep,
        q: Annotated[str, Form(max_length=500)] = "",
    ):
        """Called once per finished search (Enter, a pause, leaving the field): counts it when nothing fits."""
        treffer = _treffer(wdb, q)
        if q.strip() and redaktion.ist_luecke([t.konfidenz for t in treffer]):
            redaktion.luecke_erfassen(session, anfrage=q, jetzt=uhr(request))
        return Response(status_code=204)

    @router.get("/desk/karte/{leistung_id}", response_class=HTMLResponse)
    def karte(request: Request, session: SessionDep, benutzer: Agent, wdb: WdbDep, leistung_id: int):
        k = _karte(request, session, leistung_id)
        if not _ist_htmx(request):
            return RedirectResponse(f"/desk?leistung={leistung_id}", status_code=303)
        if k is None:
            raise HTTPException(404, "Diese Leistung gibt es nicht oder sie ist nicht veröffentlicht.")
        return templates.TemplateResponse(request, "desk/_karte.html",
                                          {"benutzer": benutzer, **_karten_kontext(request, session, k)})

    @router.post("/desk/karte/{leistung_id}/email", response_class=HTMLResponse)
    def karte_email(
        request: Request, session: SessionDep, benutzer: Agent, wdb: WdbDep, leistung_id: int,
        email: Annotated[str, Form(max_length=254)] = "",
        einwilligung: Annotated[bool, Form()] = False,
    ):
        k = _karte(request, session, leistung_id)
        if k is None:
            raise HTTPException(404, "Diese Leistung gibt es nicht oder sie ist nicht veröffentlicht.")
        kontext = {"karte": k, "email_wert": email}
        status = 200
        try:
            service.antwort_per_email(session, k, email=email, einwilligung=einwilligung, benutzer=benutzer,
                                      jetzt=uhr(request))
            kontext.update(email_wert="", email_meldung="Die Antwort wurde zum Versand per E-Mail vorgemerkt.")
            log.info("desk_antwort_email", extra={"leistung_id": leistung_id, "benutzer_id": benutzer.id})
        except service.DeskFehler as exc:
            session.rollback()
            kontext["email_fehler"], status = exc.meldung, exc.status
        if _ist_htmx(request):
            return templates.TemplateResponse(request, "desk/_email.html", kontext, status_code=status)
        kontext.pop("karte")
        return _seite(request, session, benutzer, wdb, karte=k, status_code=status, **kontext)

    # --- contact logging ---------------------------------------------------------------------------------------

    @router.post("/desk/kontakt", response_class=HTMLResponse)
    def kontakt(
        request: Request, session: SessionDep, benutzer: Agent, wdb: WdbDep,
        kanal: Annotated[str, Form(max_length=20)] = "telefon",
        ergebnis: Annotated[str, Form(max_length=40)] = "",
        leistung_id: Annotated[str, Form(max_length=12)] = "",
        anliegen: Annotated[str, Form(max_length=10_000)] = "",
        beginn: Annotated[str, Form(max_length=20)] = "",
        anruf_id: Annotated[str, Form(max_length=200)] = "",
        rueckruf_am: Annotated[str, Form(max_length=40)] = "",
        queue_id: Annotated[str, Form(max_length=12)] = "",
        name: Annotated[str, Form(max_length=200)] = "",
        telefon: Annotated[str, Form(max_length=50)] = "",
        email: Annotated[str, Form(max_length=254)] = "",
        einwilligung: Annotated[bool, Form()] = False,
    ):
        eingabe = KontaktEingabe(kanal=kanal, ergebnis=ergebnis, leistung_id=leistung_id, anliegen=anliegen,
                                 beginn=beginn, anruf_id=anruf_id, rueckruf_am=rueckruf_am, queue_id=queue_id,
                                 name=name, telefon=telefon, email=email, einwilligung=einwilligung)
        s = _settings(request)
        k = None
        if leistung_id.isdigit():
            k = _karte(request, session, int(leistung_id))
        try:
            erg = service.kontakt_erfassen(session, eingabe, benutzer=benutzer, einstellungen=_einstellungen(request),
                                           jetzt=uhr(request), zeitzone=s.zeitzone)
        except service.DeskFehler as exc:
            session.rollback()
            kontext = {**_karten_kontext(request, session, k, eingabe), "fehler": exc.meldung,
                       "leistung_id": leistung_id}
            if _ist_htmx(request):
                return templates.TemplateResponse(request, "desk/_kontakt.html", kontext, status_code=422)
            return _seite(request, session, benutzer, wdb, karte=k, eingabe=eingabe, status_code=422,
                          fehler=exc.meldung)
        log.info("desk_kontakt", extra={"kontakt_id": erg.kontakt.id, "ergebnis": erg.kontakt.ergebnis.value,
                                        "ticket_id": erg.ticket.id if erg.ticket else None})
        kontext = {"erfasst": erg, "zeitzone": s.zeitzone, "ortszeit": service.ortszeit}
        if _ist_htmx(request):
            return templates.TemplateResponse(request, "desk/_kontakt_erfasst.html", kontext)
        return _seite(request, session, benutzer, wdb, **kontext)

    # --- tickets -----------------------------------------------------------------------------------------------

    @router.get("/desk/tickets", response_class=HTMLResponse)
    def ticket_liste(
        request: Request, session: SessionDep, benutzer: Agent,
        filter: Annotated[list[str] | None, Query(max_length=20)] = None,
    ):
        gewaehlt = {f for f in (filter or []) if f in FILTER_TEXT}
        einst, jetzt = _einstellungen(request), uhr(request)
        anzahl, liste = tickets.tickets_suchen(session, benutzer=benutzer, einstellungen=einst, filter=gewaehlt,
                                               jetzt=jetzt)
        queue_ids = {t.queue_id for t in liste if t.queue_id}
        queue_namen = dict(session.execute(
            select(Organisationseinheit.id, Organisationseinheit.name).where(Organisationseinheit.id.in_(queue_ids))
        ).tuples().all()) if queue_ids else {}
        benutzer_ids = {t.assignee_id for t in liste if t.assignee_id}
        namen = {i: (a or n) for i, a, n in session.execute(
            select(Benutzer.id, Benutzer.anzeigename, Benutzer.name).where(Benutzer.id.in_(benutzer_ids))
        ).tuples()} if benutzer_ids else {}
        zeilen = []
        for t in liste:
            ueber, bald = tickets.sla_flags(t, einst, jetzt)
            zeilen.append({"t": t, "ueberfaellig": ueber, "bald_faellig": bald,
                           "queue": queue_namen.get(t.queue_id, ""), "assignee": namen.get(t.assignee_id, ""),
                           "faellig": service.ortszeit(t.faellig_am, _settings(request).zeitzone),
                           "rest": service.bis_faellig(t.faellig_am, jetzt)})
        return templates.TemplateResponse(request, "desk/tickets.html", {
            "benutzer": benutzer, "zeilen": zeilen, "anzahl": anzahl, "gewaehlt": gewaehlt,
            "filter_text": FILTER_TEXT,
        })

    def _detail(request: Request, session: Session, benutzer: Benutzer, ticket: Ticket, *, status_code: int = 200,
                **extra) -> HTMLResponse:
        einst, jetzt, s = _einstellungen(request), uhr(request), _settings(request)
        ueber, bald = tickets.sla_flags(ticket, einst, jetzt)
        leistung = session.get(Leistung, ticket.leistung_id) if ticket.leistung_id else None
        queue = session.get(Organisationseinheit, ticket.queue_id) if ticket.queue_id else None
        assignee = session.get(Benutzer, ticket.assignee_id) if ticket.assignee_id else None
        kontext = {
            "benutzer": benutzer, "t": ticket, "ueberfaellig": ueber, "bald_faellig": bald,
            "leistung": leistung, "queue": queue, "assignee": assignee,
            "faellig": service.ortszeit(ticket.faellig_am, s.zeitzone),
            "rest": service.bis_faellig(ticket.faellig_am, jetzt),
            "zeitleiste": (zeitleiste := tickets.zeitleiste(session, ticket)),
            "aenderungen": service.aenderungen_beschriften(session, zeitleiste, s.zeitzone),
            # The hand-off has its own button (it queues the delivery); it is not a plain status change.
            "uebergaenge": sorted((z for z in UEBERGAENGE[ticket.zustand] if z != Zustand.an_fachverfahren_uebergeben),
                                  key=list(Zustand).index),
            "zeitzone": s.zeitzone, "ortszeit": service.ortszeit, "artikel_arten": list(ArtikelArt),
            "eingabe": {}, **extra,
        }
        return templates.TemplateResponse(request, "desk/ticket.html", kontext, status_code=status_code)

    def _laden(session: Session, nummer: str, benutzer: Benutzer) -> Ticket:
        try:
            return tickets.ticket_fuer_benutzer(session, nummer[:40], benutzer)
        except tickets.TicketFehler as exc:
            raise HTTPException(exc.status, exc.meldung) from exc

    MELDUNGEN = {"status": "Der Status wurde geändert.", "notiz": "Der Eintrag wurde gespeichert.",
                 "zugewiesen": "Das Ticket ist Ihnen jetzt zugewiesen."}

    @router.get("/desk/tickets/{nummer}", response_class=HTMLResponse)
    def ticket_detail(request: Request, session: SessionDep, benutzer: Agent, nummer: str,
                      meldung: Annotated[str, Query(max_length=20)] = ""):
        return _detail(request, session, benutzer, _laden(session, nummer, benutzer),
                       meldung=MELDUNGEN.get(meldung))

    def _aendern(request: Request, session: Session, benutzer: Benutzer, nummer: str, version: int,
                 eingabe: dict, aktion: Callable[[Ticket], object], meldung: str):
        ticket = _laden(session, nummer, benutzer)
        try:
            if version != ticket.version:
                raise tickets.VersionKonflikt(tickets.KONFLIKT_TEXT.format(v=ticket.version), ticket)
            aktion(ticket)
        except tickets.VersionKonflikt as exc:
            session.rollback()
            aktuell = _laden(session, nummer, benutzer)
            return _detail(request, session, benutzer, aktuell, status_code=409, fehler=exc.meldung,
                           eingabe=eingabe, konflikt=True)
        except tickets.TicketFehler as exc:
            session.rollback()
            return _detail(request, session, benutzer, _laden(session, nummer, benutzer), status_code=exc.status,
                           fehler=exc.meldung, eingabe=eingabe)
        return RedirectResponse(f"/desk/tickets/{ticket.nummer}?meldung={meldung}", status_code=303)

    @router.post("/desk/tickets/{nummer}/status", response_class=HTMLResponse)
    def ticket_status(
        request: Request, session: SessionDep, benutzer: Agent, nummer: str,
        version: Annotated[int, Form(ge=0, lt=2**31)],
        status: Annotated[str, Form(max_length=40)] = "",
    ):
        def aktion(t: Ticket) -> None:
            try:
                neu = Zustand(status)
            except ValueError:
                raise tickets.UngueltigeEingabe("Bitte wählen Sie einen neuen Status.") from None
            tickets.ticket_aendern(session, t, version=version, benutzer=benutzer, status=neu,
                                   einstellungen=_einstellungen(request), jetzt=uhr(request))

        return _aendern(request, session, benutzer, nummer, version, {"status": status}, aktion, "status")

    @router.post("/desk/tickets/{nummer}/zuweisen", response_class=HTMLResponse)
    def ticket_zuweisen(request: Request, session: SessionDep, benutzer: Agent, nummer: str,
                        version: Annotated[int, Form(ge=0, lt=2**31)]):
        def aktion(t: Ticket) -> None:
            tickets.ticket_aendern(session, t, version=version, benutzer=benutzer, assignee_id=benutzer.id,
                                   einstellungen=_einstellungen(request), jetzt=uhr(request))

        return _aendern(request, session, benutzer, nummer, version, {}, aktion, "zugewiesen")

    @router.post("/desk/tickets/{nummer}/artikel", response_class=HTMLResponse)
    def ticket_artikel(
        request: Request, session: SessionDep, benutzer: Agent, nummer: str,
        version: Annotated[int, Form(ge=0, lt=2**31)],
        text: Annotated[str, Form(max_length=20_000)] = "",
        art: Annotated[str, Form(max_length=20)] = ArtikelArt.notiz.value,
    ):
        def aktion(t: Ticket) -> None:
            try:
                a = ArtikelArt(art)
                if a == ArtikelArt.eingang:  # the citizen's own e-mails; only the e-mail channel writes them
                    raise ValueError(art)
            except ValueError:
                raise tickets.UngueltigeEingabe("Bitte wählen Sie: interne Notiz oder Nachricht.") from None
            tickets.artikel_anlegen(session, t, art=a, text=text, benutzer=benutzer,
                                    einstellungen=_einstellungen(request), jetzt=uhr(request))

        return _aendern(request, session, benutzer, nummer, version, {"text": text, "art": art}, aktion, "notiz")

    return router


__all__ = ["FILTER_TEXT", "ZUSTAND_TEXT", "make_router"]


def einrichten(
    app: FastAPI, *, get_session: Callable[..., Session], get_wissensdatenbank: Callable[..., Wissensdatenbank]
) -> None:
    """Wire the desk and the Redaktion pages (called once from the composition root)."""
    from servicecenter.redaktion.views import make_router as redaktion_router

    app.include_router(make_router(get_session=get_session, get_wissensdatenbank=get_wissensdatenbank))
    app.include_router(redaktion_router(get_session=get_session, get_wissensdatenbank=get_wissensdatenbank))

"""Redaktion pages (Redaktion, Admin): list and edit Leistungen, publish/unpublish, versions, Wissenslücken."""


import logging
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from servicecenter.auth.deps import Rolle, benutzer_mit_rolle, uhr
from servicecenter.auth.models import Benutzer
from servicecenter.desk.vorlagen import templates
from servicecenter.redaktion import service
from wissensdatenbank.models import Leistung, LeistungStatus
from wissensdatenbank.service import Wissensdatenbank

log = logging.getLogger(__name__)

Redaktion = Annotated[Benutzer, Depends(benutzer_mit_rolle(Rolle.redaktion))]
MELDUNGEN = {
    "gespeichert": "Die Änderungen wurden gespeichert und sind sofort in der Suche.",
    "unveraendert": "Es gab keine Änderungen zu speichern.",
    "veroeffentlicht": "Die Leistung ist veröffentlicht und sofort in der Suche.",
    "zurueckgezogen": "Die Leistung ist zurückgezogen (Entwurf) und nicht mehr in der Suche.",
    "erledigt": "Die Wissenslücke wurde aus der Liste entfernt.",
}


def make_router(
    *, get_session: Callable[..., Session], get_wissensdatenbank: Callable[..., Wissensdatenbank]
) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    SessionDep = Annotated[Session, Depends(get_session, scope="function")]
    WdbDep = Annotated[Wissensdatenbank, Depends(get_wissensdatenbank)]

    def _leistung(session: Session, leistung_id: int) -> Leistung:
        l = session.get(Leistung, leistung_id) if 0 < leistung_id < 2**31 else None
        if l is None:
            raise HTTPException(404, "Diese Leistung gibt es nicht.")
        return l

    def _bearbeiten(request: Request, session: Session, benutzer: Benutzer, l: Leistung, *,
                    werte: dict[str, str] | None = None, stand: int | None = None, status_code: int = 200,
                    **extra) -> HTMLResponse:
        return templates.TemplateResponse(request, "redaktion/bearbeiten.html", {
            "benutzer": benutzer, "l": l, "felder": service.FELDER,
            "werte": werte if werte is not None else service.formular_werte(l),
            "stand": service.stand(session, l.id) if stand is None else stand,
            "versionen": service.versionen(session, l.id), "feld_bezeichnung": service.FELD_BEZEICHNUNG,
            "status_text": service.STATUS_TEXT, **extra,
        }, status_code=status_code)

    def _uebernehmen(session: Session, wdb: Wissensdatenbank) -> None:
        # Commit first so the search facade's own session sees the change, then index it at once.
        session.commit()
        wdb.synchronisieren(sofort=True)

    @router.get("/redaktion", response_class=HTMLResponse)
    def liste(request: Request, session: SessionDep, benutzer: Redaktion,
              q: Annotated[str, Query(max_length=200)] = ""):
        return templates.TemplateResponse(request, "redaktion/liste.html", {
            "benutzer": benutzer, "q": q, "leistungen": service.leistungen_liste(session, suche=q),
            "status_text": service.STATUS_TEXT,
        })

    @router.get("/redaktion/leistungen/{leistung_id}", response_class=HTMLResponse)
    def bearbeiten(request: Request, session: SessionDep, benutzer: Redaktion, leistung_id: int,
                   meldung: Annotated[str, Query(max_length=20)] = ""):
        return _bearbeiten(request, session, benutzer, _leistung(session, leistung_id),
                           meldung=MELDUNGEN.get(meldung))

    @router.post("/redaktion/leistungen/{leistung_id}", response_class=HTMLResponse)
    async def speichern(request: Request, session: SessionDep, benutzer: Redaktion, wdb: WdbDep, leistung_id: int):
        form = await request.form()
        eingabe = {f.name: str(form.get(f.name, "")) for f in service.FELDER if f.name in form}
        try:
            erwartet = int(str(form.get("stand", "")))
        except ValueError:
            erwartet = None
        return await _im_thread(speichern_sync, request, session, benutzer, wdb, leistung_id, eingabe, erwartet)

    def speichern_sync(request: Request, session: Session, benutzer: Benutzer, wdb: Wissensdatenbank,
                       leistung_id: int, eingabe: dict[str, str], erwartet: int | None):
        l = _leistung(session, leistung_id)
        try:
            werte = service.eingabe_pruefen(eingabe)
            version = service.leistung_aendern(session, l, werte=werte, benutzer=benutzer,
                                               erwarteter_stand=erwartet, jetzt=uhr(request))
        except service.RedaktionFehler as exc:
            session.rollback()
            l = _leistung(session, leistung_id)
            return _bearbeiten(request, session, benutzer, l, werte={**service.formular_werte(l), **eingabe},
                               stand=erwartet, status_code=exc.status, fehler=exc.meldung,
                               konflikt=isinstance(exc, service.StandKonflikt))
        if version is None:
            return RedirectResponse(f"/redaktion/leistungen/{leistung_id}?meldung=unveraendert", status_code=303)
        log.info("leistung_geaendert", extra={"leistung_id": leistung_id, "version": version.nummer,
                                              "benutzer_id": benutzer.id})
        _uebernehmen(session, wdb)
        return RedirectResponse(f"/redaktion/leistungen/{leistung_id}?meldung=gespeichert", status_code=303)

    @router.post("/redaktion/leistungen/{leistung_id}/status", response_class=HTMLResponse)
    def status(
        request: Request, session: SessionDep, benutzer: Redaktion, wdb: WdbDep, leistung_id: int,
        status: Annotated[str, Form(max_length=20)] = "",
        stand: Annotated[int | None, Form(ge=0, lt=2**31)] = None,
    ):
        l = _leistung(session, leistung_id)
        try:
            neu = LeistungStatus(status)
        except ValueError:
            raise HTTPException(422, "Unbekannter Status.") from None
        try:
            service.status_setzen(session, l, status=neu, benutzer=benutzer, erwarteter_stand=stand,
                                  jetzt=uhr(request))
        except service.RedaktionFehler as exc:
            session.rollback()
            return _bearbeiten(request, session, benutzer, _leistung(session, leistung_id),
                               status_code=exc.status, fehler=exc.meldung)
        log.info("leistung_status", extra={"leistung_id": leistung_id, "status": neu.value,
                                           "benutzer_id": benutzer.id})
        _uebernehmen(session, wdb)
        meldung = "veroeffentlicht" if neu == LeistungStatus.veroeffentlicht else "zurueckgezogen"
        return RedirectResponse(f"/redaktion/leistungen/{leistung_id}?meldung={meldung}", status_code=303)

    @router.get("/redaktion/luecken", response_class=HTMLResponse)
    def luecken(request: Request, session: SessionDep, benutzer: Redaktion,
                meldung: Annotated[str, Query(max_length=20)] = ""):
        return templates.TemplateResponse(request, "redaktion/luecken.html", {
            "benutzer": benutzer, "luecken": service.luecken_liste(session), "meldung": MELDUNGEN.get(meldung),
        })

    @router.post("/redaktion/luecken/{luecke_id}/erledigt")
    def luecke_erledigt(session: SessionDep, _benutzer: Redaktion, luecke_id: int):
        if not (0 < luecke_id < 2**31 and service.luecke_loeschen(session, luecke_id)):
            raise HTTPException(404, "Diesen Eintrag gibt es nicht.")
        return RedirectResponse("/redaktion/luecken?meldung=erledigt", status_code=303)

    return router


async def _im_thread(fn, *args):
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


__all__ = ["make_router"]

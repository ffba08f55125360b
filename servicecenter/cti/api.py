"""CTI endpoints: the PBX's event URL (generic CTI, Zammad-compatible), the screen-pop event stream and a
small read API. `einrichten(app, …)` wires these, the call log pages and the supervisor dashboard."""


import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from servicecenter.auth.deps import Rolle, benutzer_mit_rolle
from servicecenter.auth.models import Benutzer
from servicecenter.cti import service
from servicecenter.cti.hub import AnrufHub, sse
from servicecenter.cti.models import Anruf
from wissensdatenbank.basis import jetzt as _jetzt

log = logging.getLogger(__name__)
Agent = Annotated[Benutzer, Depends(benutzer_mit_rolle(Rolle.agent))]


def uhr(app: FastAPI) -> datetime:
    return (getattr(app.state, "uhr", None) or _jetzt)()


def token_gueltig(erwartet: str, gegeben: str) -> bool:
    """Constant-time comparison (of digests, so the length leaks nothing either); an empty setting never matches."""
    if not erwartet:
        return False
    a = hashlib.sha256(erwartet.encode("utf-8")).digest()
    b = hashlib.sha256(gegeben.encode("utf-8", "surrogatepass")).digest()
    return hmac.compare_digest(a, b)


def _feld(form, name: str) -> str:
    wert = form.get(name)
    return wert.strip() if isinstance(wert, str) else ""


def _speichern(app: FastAPI, ereignis: service.CtiEreignis) -> dict | None:
    """Store the event in its own transaction and return the screen-pop message (None for a repeat)."""
    s = app.state.settings
    session: Session = app.state.sessions()
    try:
        zeit = uhr(app)
        v = service.ereignis_verarbeiten(session, ereignis=ereignis, jetzt=zeit, region=s.cti_region)
        nachricht = None
        if v.geaendert:
            nachricht = service.pop_daten(
                session, v.anruf, ereignis=ereignis.event, jetzt=zeit,
                schwelle_sekunden=s.servicelevel_sekunden, region=s.cti_region,
            )
        session.commit()
        log.info("cti_ereignis", extra={"ereignis": ereignis.event, "neu": v.geaendert, "anruf_id": v.anruf.id})
        return nachricht
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def make_router() -> APIRouter:
    router = APIRouter()

    @router.post(
        "/api/v1/cti/{token}", tags=["Telefonie"], summary="Anrufereignis der Telefonanlage (generisches CTI)",
        responses={401: {"description": "Token falsch"}, 422: {"description": "Ereignis unbrauchbar"}},
    )
    async def cti_ereignis(request: Request, token: str) -> JSONResponse:
        """Form-encoded like Zammad's generic CTI: event (newCall | answer | hangup), from, to, direction
        (in | out), callId, user[], queue, cause. Answers `{}` at once; repeats of (callId, event) are ignored."""
        if not token_gueltig(request.app.state.settings.cti_token, token):
            return JSONResponse(status_code=401, content={"detail": "Der CTI-Token ist ungültig."})
        form = await request.form()
        agenten = [a.strip() for a in form.getlist("user[]") + form.getlist("user") if isinstance(a, str) and a.strip()]
        ereignis = service.CtiEreignis(
            event=_feld(form, "event"), call_id=_feld(form, "callId"), von=_feld(form, "from"),
            an=_feld(form, "to"), richtung=_feld(form, "direction"), agenten=agenten[:20],
            queue=_feld(form, "queue"), ursache=_feld(form, "cause"),
        )
        try:
            ereignis.pruefen()
        except service.CtiFehler as e:
            return JSONResponse(status_code=422, content={"detail": str(e)})
        nachricht = await run_in_threadpool(_speichern, request.app, ereignis)
        if nachricht is not None:
            request.app.state.anruf_hub.veroeffentlichen(nachricht)
        return JSONResponse(content={})

    @router.get("/desk/anrufe/stream", include_in_schema=False)
    async def anrufe_stream(request: Request, benutzer: Agent) -> StreamingResponse:
        """Server-Sent Events for the screen pop (one `anruf` event per newCall/answer/hangup)."""
        hub: AnrufHub = request.app.state.anruf_hub
        takt = request.app.state.settings.sse_keepalive_sekunden
        namen = (benutzer.name, benutzer.anzeigename or "")

        async def ereignisse():
            async with hub.abonnieren(*namen) as abo:
                yield b"retry: 3000\n: verbunden\n\n"
                while True:
                    try:
                        nachricht = await asyncio.wait_for(abo.queue.get(), timeout=takt)
                    except TimeoutError:
                        yield b": ping\n\n"
                        continue
                    yield sse(nachricht)

        return StreamingResponse(
            ereignisse(), media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @router.get("/api/v1/anrufe/{call_id}", tags=["Telefonie"], summary="Ein Anruf mit Wartezeit und Dauer")
    def anruf_lesen(request: Request, call_id: str, benutzer: Agent) -> dict:
        s = request.app.state.settings
        session: Session = request.app.state.sessions()
        try:
            anruf = session.scalars(select(Anruf).where(Anruf.call_id == call_id[:200])).first()
            if anruf is None:
                raise HTTPException(404, "Diesen Anruf gibt es nicht.")
            return service.anruf_daten(anruf, jetzt=uhr(request.app), schwelle_sekunden=s.servicelevel_sekunden,
                                       region=s.cti_region)
        finally:
            session.close()

    return router


def einrichten(app: FastAPI, *, get_session: Callable[..., Session]) -> None:
    """Wire CTI, the call log and the supervisor dashboard; the hub lives on app.state.anruf_hub."""
    from servicecenter.cti.views import make_router as anrufe_views
    from servicecenter.reporting.views import make_router as reporting_views

    app.state.anruf_hub = AnrufHub()
    app.include_router(make_router())
    app.include_router(anrufe_views(get_session=get_session))
    app.include_router(reporting_views(get_session=get_session))

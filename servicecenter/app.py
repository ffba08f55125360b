"""Composition root: builds the FastAPI app, wires routers, sessions and the search facade."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicecenter import migrate
from servicecenter.db import make_engine, make_sessionmaker
from servicecenter.middleware import SicherheitsMiddleware
from servicecenter.settings import Settings, get_settings
from servicecenter.web import make_router as web_router
from wissensdatenbank.api import make_router as wissen_router
from wissensdatenbank.oeffnung import feiertage_laden
from wissensdatenbank.service import Wissensdatenbank

log = logging.getLogger(__name__)
HIER = Path(__file__).parent


def jetzt() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    session_factory: sessionmaker[Session] | None = None,
    gc_einfrieren: bool = False,
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    sessions = session_factory or make_sessionmaker(engine)
    wdb = Wissensdatenbank(sessions)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.db_auto_upgrade:
            migrate.upgrade(settings.database_url)
        if settings.suche_index_beim_start:
            n = wdb.aufbauen()
            log.info("ready", extra={"leistungen_im_index": n})
        # The holiday calendar loads its data on first use (55 ms here): at start, not in the first citizen's request
        feiertage_laden(settings.feiertage_land, jetzt().astimezone(ZoneInfo(settings.zeitzone)).year)
        if gc_einfrieren:
            # Everything alive now (search index, ORM metadata, modules) lives as long as the server: keep it out
            # of the cyclic garbage collector, whose full runs otherwise walk it all (61 ms with the demo
            # catalogue, a pause for every request in flight; longer with a big catalogue).
            import gc

            gc.collect()
            gc.freeze()
        yield
        if session_factory is None:
            engine.dispose()

    app = FastAPI(
        title="Servicecenter 115",
        description="Offenes Omnichannel-Servicecenter für Kommunen: Wissensdatenbank, Servicecenter, Kanäle.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.sessions = sessions
    app.state.wissensdatenbank = wdb

    def get_session() -> Iterator[Session]:
        """One session per request, committed at the request boundary.

        Routers must declare it with `Depends(get_session, scope="function")`: FastAPI's default scope would
        commit only after the response was sent, so a client following a redirect could miss the write (and a
        failed commit would follow a success response).
        """
        session = sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    async def get_wissensdatenbank() -> Wissensdatenbank:
        # async: FastAPI runs a plain `def` dependency in the thread pool, one more thread hand-off per search
        return wdb

    app.state.get_session = get_session

    @app.exception_handler(RequestValidationError)
    async def validierungsfehler(_request: Request, exc: RequestValidationError) -> JSONResponse:
        fehler = [
            {"feld": ".".join(str(p) for p in e.get("loc", ()) if p not in ("query", "path", "body")),
             "meldung": e.get("msg", "")}
            for e in exc.errors()
        ]
        text = "; ".join(f"{f['feld']}: {f['meldung']}" for f in fehler)
        return JSONResponse(status_code=422, content={"detail": f"Ungültige Eingabe – {text}", "fehler": fehler})

    @app.get("/healthz", tags=["Betrieb"], summary="Lebenszeichen")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(
        wissen_router(
            get_session=get_session,
            sessions=sessions,
            get_wissensdatenbank=get_wissensdatenbank,
            jetzt=jetzt,
            zeitzone=settings.zeitzone,
            land=settings.feiertage_land,
        )
    )
    # --- routers of the servicecenter domain (auth, tickets, kontakte, …) are wired below ---
    # [auth-router] accounts and access: /anmelden, /abmelden, /desk, /admin/benutzer; app.state.uhr is the clock
    from servicecenter.auth.csrf import jinja_einrichten as _csrf_jinja
    from servicecenter.auth.views import einrichten as _auth_einrichten
    from servicecenter.web import templates as _web_templates

    _auth_einrichten(app, get_session=get_session, uhr=jetzt)
    _csrf_jinja(_web_templates.env)
    # [tickets-router]
    from servicecenter.tickets.api import einrichten as tickets_einrichten

    tickets_einrichten(app, get_session=get_session)
    # [desk-router] agent desk (/desk, /desk/tickets) and Redaktion (/redaktion, /redaktion/luecken)
    from servicecenter.desk.views import einrichten as desk_einrichten

    desk_einrichten(app, get_session=get_session, get_wissensdatenbank=get_wissensdatenbank)
    # [cti-router] telephony (/api/v1/cti/{token}, /desk/anrufe, screen-pop stream) and /teamleitung dashboard
    from servicecenter.cti.api import einrichten as cti_einrichten

    cti_einrichten(app, get_session=get_session)
    # [uebergabe-router] hand-off to Fachverfahren: callbacks, hand-off/retry (API and desk), adapter registry
    from servicecenter.uebergabe.api import einrichten as uebergabe_einrichten

    uebergabe_einrichten(app, get_session=get_session)
    # [status-open311-router]
    from servicecenter.open311.api import einrichten as open311_einrichten
    from servicecenter.status.api import einrichten as status_einrichten

    status_einrichten(app, get_session=get_session)
    open311_einrichten(app, get_session=get_session)
    # [chat-router] chat channel: /api/v1/chat/…, citizen page /chat, desk chat queue /desk/chats
    from kanaele.chat.api import einrichten as chat_einrichten

    chat_einrichten(app, get_session=get_session)
    # [email-router] e-mail channel in the desk: suggested Leistungen and the one-click answer on e-mail tickets
    from kanaele.email.views import einrichten as email_einrichten

    email_einrichten(app, get_session=get_session)
    app.include_router(web_router(get_session=get_session, get_wissensdatenbank=get_wissensdatenbank, jetzt=jetzt,
                                  settings=settings))
    app.mount("/static", StaticFiles(directory=HIER / "static"), name="static")
    app.add_middleware(SicherheitsMiddleware)
    return app

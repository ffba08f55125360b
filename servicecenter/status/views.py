"""The public status page /status (German, no login). The form is POSTed, so the access code never appears
in a URL; a double-submit cookie protects the form."""

import secrets
from collections.abc import Callable
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from servicecenter.auth import csrf
from servicecenter.status import service
from servicecenter.web import templates

FORM_COOKIE = "sc_status_csrf"


def client_schluessel(request: Request) -> str:
    return request.client.host if request.client else "unbekannt"


def begrenzer(request: Request) -> service.Begrenzer:
    return request.app.state.status_begrenzer


def zeit_formatierer(zeitzone: str) -> Callable[[datetime], str]:
    tz = ZoneInfo(zeitzone)

    def zeit(t: datetime) -> str:
        return t.astimezone(tz).strftime("%d.%m.%Y, %H:%M Uhr")

    return zeit


def make_router(*, get_session: Callable[..., Session]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    SessionDep = Annotated[Session, Depends(get_session, scope="function")]

    def seite(request: Request, *, nummer: str = "", fehler: str | None = None,
              auskunft: service.StatusAuskunft | None = None, status_code: int = 200,
              headers: dict[str, str] | None = None) -> HTMLResponse:
        settings = request.app.state.settings
        token = request.cookies.get(FORM_COOKIE) or ""
        if not 20 <= len(token) <= 100:
            token = secrets.token_urlsafe(32)
        request.scope.setdefault("state", {})[csrf.STATE_VORAB_TOKEN] = token
        antwort = templates.TemplateResponse(
            request, "status/abfrage.html",
            {"nummer": nummer, "fehler": fehler, "auskunft": auskunft, "zeit": zeit_formatierer(settings.zeitzone)},
            status_code=status_code, headers=headers,
        )
        antwort.set_cookie(FORM_COOKIE, token, max_age=2 * 3600, path="/status", secure=settings.cookie_secure,
                           httponly=True, samesite="strict")
        antwort.headers["Cache-Control"] = "no-store"
        return antwort

    @router.get("/status", response_class=HTMLResponse)
    def formular(request: Request, nummer: str = ""):
        return seite(request, nummer=nummer[:40])

    @router.post("/status", response_class=HTMLResponse)
    def abfragen(
        request: Request,
        session: SessionDep,
        nummer: Annotated[str, Form(max_length=200)] = "",
        code: Annotated[str, Form(max_length=200)] = "",
        csrf_token: Annotated[str, Form(max_length=200)] = "",
    ):
        nummer = nummer.strip()[:40]
        if not csrf.gleich(request.cookies.get(FORM_COOKIE), csrf_token):
            return seite(request, nummer=nummer, status_code=403,
                         fehler="Das Formular war abgelaufen. Bitte geben Sie Ihre Angaben noch einmal ein.")
        warten = begrenzer(request).versuch(client_schluessel(request))
        if warten is not None:
            return seite(request, nummer=nummer, fehler=service.ZU_VIELE_TEXT, status_code=429,
                         headers={"Retry-After": str(int(warten) + 1)})
        auskunft = service.status_abfragen(session, nummer=nummer, code=code)
        if auskunft is None:
            return seite(request, nummer=nummer, fehler=service.NICHT_GEFUNDEN_TEXT, status_code=404)
        return seite(request, auskunft=auskunft)

    return router

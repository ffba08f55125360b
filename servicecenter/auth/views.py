"""Login, logout and the user administration (German, server-rendered)."""


import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from servicecenter.auth import csrf, service
from servicecenter.auth.deps import (
    COOKIE_NAME,
    STATE_NO_STORE,
    KeineBerechtigung,
    KeinSpeichernMiddleware,
    _will_html,
    aktuelle_anmeldung,
    benutzer_mit_rolle,
    csrf_geschuetzt,
    regeln,
    sicheres_ziel,
    uhr,
)
from servicecenter.auth.models import ROLLEN_BEZEICHNUNG, Benutzer, Rolle

log = logging.getLogger(__name__)

templates = Jinja2Templates(directory=Path(__file__).resolve().parents[1] / "templates")
csrf.jinja_einrichten(templates.env)
templates.env.globals["rollen_bezeichnung"] = ROLLEN_BEZEICHNUNG

# Double-submit cookie for the login form, before any session exists (against login CSRF).
VORAB_COOKIE = "sc_anmeldung_csrf"


def _cookie_secure(request: Request) -> bool:
    s = getattr(request.app.state, "settings", None)
    return True if s is None else bool(s.cookie_secure)


def _startseite(benutzer: Benutzer) -> str:
    return "/" if benutzer.rolle == Rolle.redaktion else "/desk"


def _zeit(wert: datetime | None) -> str:
    return wert.strftime("%d.%m.%Y %H:%M UTC") if wert else "–"


templates.env.filters["zeit"] = _zeit


def make_router(*, get_session: Callable[..., Session]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    SessionDep = Annotated[Session, Depends(get_session, scope="function")]

    def anmeldeseite(
        request: Request, *, weiter: str | None, name: str = "", fehler: str | None = None, status_code: int = 200,
        hinweis: str | None = None,
    ) -> HTMLResponse:
        token = secrets.token_urlsafe(32)
        request.scope.setdefault("state", {})[csrf.STATE_VORAB_TOKEN] = token
        antwort = templates.TemplateResponse(
            request,
            "auth/anmelden.html",
            {"weiter": sicheres_ziel(weiter) or "", "name": name, "fehler": fehler, "hinweis": hinweis},
            status_code=status_code,
        )
        antwort.set_cookie(
            VORAB_COOKIE, token, max_age=2 * 3600, path="/anmelden", secure=_cookie_secure(request),
            httponly=True, samesite="strict",
        )
        antwort.headers["Cache-Control"] = "no-store"
        return antwort

    @router.get("/anmelden", response_class=HTMLResponse)
    async def anmelden_form(request: Request, weiter: str | None = None, abgemeldet: bool = False):
        anmeldung = await aktuelle_anmeldung(request)
        if anmeldung is not None:
            return RedirectResponse(sicheres_ziel(weiter) or _startseite(anmeldung.benutzer), status_code=303)
        hinweis = "Sie haben sich abgemeldet." if abgemeldet else None
        return anmeldeseite(request, weiter=weiter, hinweis=hinweis)

    @router.post("/anmelden", response_class=HTMLResponse)
    def anmelden(
        request: Request,
        session: SessionDep,
        name: Annotated[str, Form(max_length=200)] = "",
        passwort: Annotated[str, Form(max_length=2000)] = "",
        csrf_token: Annotated[str, Form(max_length=200)] = "",
        weiter: Annotated[str, Form(max_length=2000)] = "",
    ):
        if not csrf.gleich(request.cookies.get(VORAB_COOKIE), csrf_token):
            return anmeldeseite(
                request, weiter=weiter, name=name, status_code=403,
                fehler="Das Anmeldeformular war abgelaufen. Bitte geben Sie Ihre Daten noch einmal ein.",
            )
        jetzt = uhr(request)
        benutzer = service.anmelden(session, name=name, passwort=passwort, jetzt=jetzt, regeln=regeln(request))
        if benutzer is None:
            log.info("anmeldung_fehlgeschlagen")
            return anmeldeseite(
                request, weiter=weiter, name=name, fehler=service.ANMELDUNG_FEHLGESCHLAGEN, status_code=400
            )
        sitzung_id, _ = service.sitzung_anlegen(
            session, benutzer=benutzer, jetzt=jetzt, alte_id=request.cookies.get(COOKIE_NAME)
        )
        log.info("anmeldung", extra={"benutzer_id": benutzer.id})
        antwort = RedirectResponse(sicheres_ziel(weiter) or _startseite(benutzer), status_code=303)
        # A browser-session cookie (no Max-Age): closing the browser on a shared desk ends the login too.
        antwort.set_cookie(
            COOKIE_NAME, sitzung_id, path="/", secure=_cookie_secure(request), httponly=True, samesite="lax"
        )
        antwort.delete_cookie(VORAB_COOKIE, path="/anmelden", secure=_cookie_secure(request), httponly=True,
                              samesite="strict")
        antwort.headers["Cache-Control"] = "no-store"
        return antwort

    @router.post("/abmelden", dependencies=[Depends(csrf_geschuetzt)])
    def abmelden(request: Request, session: SessionDep):
        sitzung_id = request.cookies.get(COOKIE_NAME)
        if sitzung_id:
            service.sitzung_beenden(session, sitzung_id=sitzung_id)
        antwort = RedirectResponse("/anmelden?abgemeldet=1", status_code=303)
        antwort.delete_cookie(COOKIE_NAME, path="/", secure=_cookie_secure(request), httponly=True, samesite="lax")
        return antwort

    # --- user administration (Admin) ---------------------------------------------------------------------------

    Admin = Annotated[Benutzer, Depends(benutzer_mit_rolle(Rolle.admin))]

    def verwaltung(
        request: Request, session: Session, *, meldung: str | None = None, fehler: str | None = None,
        eingabe: dict | None = None, status_code: int = 200,
    ) -> HTMLResponse:
        return templates.TemplateResponse(
            request,
            "auth/admin_benutzer.html",
            {
                "benutzer_liste": service.benutzer_liste(session),
                "tokens": service.tokens_liste(session),
                "rollen": list(Rolle),
                "meldung": meldung,
                "fehler": fehler,
                "eingabe": eingabe or {"rolle": Rolle.agent.value},
                "jetzt": uhr(request),
            },
            status_code=status_code,
        )

    MELDUNGEN = {
        "angelegt": "Der Benutzer wurde angelegt.",
        "widerrufen": "Der Token wurde widerrufen.",
        "entsperrt": "Das Konto wurde entsperrt.",
    }

    @router.get("/admin/benutzer", response_class=HTMLResponse)
    def admin_benutzer(request: Request, session: SessionDep, _admin: Admin, meldung: str | None = None):
        return verwaltung(request, session, meldung=MELDUNGEN.get(meldung or ""))

    @router.post("/admin/benutzer", response_class=HTMLResponse)
    def admin_benutzer_anlegen(
        request: Request,
        session: SessionDep,
        admin: Admin,
        name: Annotated[str, Form(max_length=200)] = "",
        anzeigename: Annotated[str, Form(max_length=500)] = "",
        rolle: Annotated[str, Form(max_length=50)] = "",
        passwort: Annotated[str, Form(max_length=2000)] = "",
    ):
        try:
            neu = service.benutzer_anlegen(
                session, name=name, rolle=rolle, passwort=passwort, anzeigename=anzeigename, jetzt=uhr(request)
            )
        except service.AuthFehler as e:
            eingabe = {"name": name, "anzeigename": anzeigename, "rolle": rolle}
            return verwaltung(request, session, fehler=str(e), eingabe=eingabe, status_code=422)
        log.info("benutzer_angelegt", extra={"benutzer_id": neu.id, "von": admin.id})
        return RedirectResponse("/admin/benutzer?meldung=angelegt", status_code=303)

    @router.post("/admin/tokens/{token_id}/widerrufen")
    def admin_token_widerrufen(request: Request, session: SessionDep, admin: Admin, token_id: int):
        t = service.token_nach_id(session, token_id) if 0 < token_id < 2**31 else None
        if t is None:
            raise HTTPException(404, "Diesen Token gibt es nicht.")
        service.token_widerrufen(session, token=t, jetzt=uhr(request))
        log.info("token_widerrufen", extra={"token_id": t.id, "von": admin.id})
        return RedirectResponse("/admin/benutzer?meldung=widerrufen", status_code=303)

    @router.post("/admin/benutzer/{benutzer_id}/entsperren")
    def admin_entsperren(request: Request, session: SessionDep, admin: Admin, benutzer_id: int):
        b = session.get(Benutzer, benutzer_id) if 0 < benutzer_id < 2**31 else None
        if b is None:
            raise HTTPException(404, "Diesen Benutzer gibt es nicht.")
        service.entsperren(session, b)
        return RedirectResponse("/admin/benutzer?meldung=entsperrt", status_code=303)

    return router


async def _keine_berechtigung(request: Request, exc: KeineBerechtigung) -> Response:
    if _will_html(request) and not request.headers.get("hx-request"):
        antwort = templates.TemplateResponse(
            request, "auth/verboten.html", {"meldung": exc.detail}, status_code=exc.status_code
        )
    else:
        antwort = JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    antwort.headers["Cache-Control"] = "no-store"
    return antwort


def einrichten(app: FastAPI, *, get_session: Callable[..., Session], uhr: Callable[[], datetime]) -> None:
    """Wires accounts and access into the app (called once from the composition root)."""
    app.state.uhr = uhr
    app.include_router(make_router(get_session=get_session))
    app.add_exception_handler(KeineBerechtigung, _keine_berechtigung)
    app.add_middleware(KeinSpeichernMiddleware)


__all__ = ["STATE_NO_STORE", "einrichten", "make_router", "templates"]

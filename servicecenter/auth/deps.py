"""The one dependency API for access control.

    from servicecenter.auth.deps import Rolle, benutzer_mit_rolle, csrf_geschuetzt

    @router.post("/tickets/{nummer}/artikel")
    def artikel(..., benutzer: Annotated[Benutzer, Depends(benutzer_mit_rolle(Rolle.agent))]): ...

`benutzer_mit_rolle` accepts a Bearer token (API clients) or the session cookie `sc_sitzung` (browser).
Unsafe methods authenticated by the cookie must carry the CSRF token (form field `csrf_token` or header
`X-CSRF-Token`); that check is built into `benutzer_mit_rolle`, and `csrf_geschuetzt` offers it alone.
The database is reached through `request.app.state.sessions` (a sessionmaker), the clock through
`request.app.state.uhr` (tests replace it), the settings through `request.app.state.settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Literal, cast
from urllib.parse import quote

from fastapi import HTTPException
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from servicecenter.auth import csrf, service
from servicecenter.auth.models import ROLLEN_BEZEICHNUNG, Benutzer, Rolle
from wissensdatenbank.basis import jetzt as _jetzt

__all__ = [
    "COOKIE_NAME",
    "Anmeldung",
    "Benutzer",
    "CsrfFehler",
    "KeineBerechtigung",
    "NichtAngemeldet",
    "Rolle",
    "benutzer_mit_rolle",
    "csrf_geschuetzt",
    "erlaubte_rollen",
    "KeinSpeichernMiddleware",
]

COOKIE_NAME = "sc_sitzung"
STATE_NO_STORE = "sc_no_store"


class NichtAngemeldet(HTTPException):
    """401; for HTML page requests a 303 to the login page instead (works without any handler)."""

    def __init__(self, request: Request, detail: str = "Bitte melden Sie sich an.", fehler: str | None = None) -> None:
        self.weiter = anmelde_url(request)
        if _will_html(request) and not request.headers.get("hx-request"):
            super().__init__(status_code=303, detail=detail, headers={"Location": self.weiter})
            return
        wert = "Bearer" if fehler is None else f'Bearer error="{fehler}"'
        kopf = {"WWW-Authenticate": wert}
        if request.headers.get("hx-request"):
            kopf["HX-Redirect"] = self.weiter
        super().__init__(status_code=401, detail=detail, headers=kopf)


class KeineBerechtigung(HTTPException):
    def __init__(self, detail: str) -> None:
        super().__init__(status_code=403, detail=detail)


class CsrfFehler(KeineBerechtigung):
    def __init__(self) -> None:
        super().__init__(
            "Die Anfrage wurde abgelehnt, weil das Sicherheitsmerkmal (CSRF-Token) fehlt oder nicht passt. "
            "Bitte laden Sie die Seite neu und versuchen Sie es noch einmal."
        )


@dataclass
class Anmeldung:
    """How this request is authenticated."""

    benutzer: Benutzer
    art: Literal["sitzung", "token"]
    csrf_token: str | None = None


# --- wiring through app.state ----------------------------------------------------------------------------------


def uhr(request: Request) -> datetime:
    return (getattr(request.app.state, "uhr", None) or _jetzt)()


def regeln(request: Request) -> service.Regeln:
    s = getattr(request.app.state, "settings", None)
    return service.Regeln.aus_settings(s) if s is not None else service.Regeln()


def _sessions(request: Request) -> Callable[[], Session]:
    return request.app.state.sessions


def _will_html(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def sicheres_ziel(weiter: str | None) -> str | None:
    """Only local paths: no scheme, no host, no protocol-relative `//` (open-redirect guard)."""
    if not weiter or not weiter.startswith("/") or weiter.startswith(("//", "/\\")):
        return None
    if any(c in weiter for c in "\r\n\\") or len(weiter) > 2000:
        return None
    return weiter


def anmelde_url(request: Request) -> str:
    if request.method in ("GET", "HEAD"):
        ziel = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if sicheres_ziel(ziel):
            return "/anmelden?weiter=" + quote(ziel, safe="")
    return "/anmelden"


# --- authentication --------------------------------------------------------------------------------------------


def _bearer(request: Request) -> str | None:
    """The token of an Authorization header ('' for a malformed one), None without the header."""
    kopf = request.headers.get("authorization")
    if kopf is None:
        return None
    art, _, wert = kopf.strip().partition(" ")
    if art.lower() != "bearer":
        return ""
    return wert.strip()


def _authentifizieren(request: Request) -> Anmeldung | None:
    """Bearer token first (no ambient credential), else the session cookie. Cached per request."""
    state = request.scope.setdefault("state", {})
    if csrf.STATE_ANMELDUNG in state:
        return state[csrf.STATE_ANMELDUNG]
    token = _bearer(request)
    sitzung_id = request.cookies.get(COOKIE_NAME)
    if token is None and not sitzung_id:
        state[csrf.STATE_ANMELDUNG] = None
        return None
    now = uhr(request)
    session = _sessions(request)()
    try:
        if token is not None:
            t = service.token_pruefen(session, token=token, jetzt=now) if token else None
            if t is None:
                session.rollback()
                raise NichtAngemeldet(
                    request, "Der API-Token ist ungültig oder widerrufen.", fehler="invalid_token"
                )
            benutzer = t.benutzer
            anmeldung = Anmeldung(benutzer=benutzer, art="token")
        else:
            s = service.sitzung_laden(session, sitzung_id=sitzung_id or "", jetzt=now, regeln=regeln(request))
            if s is None:
                session.commit()  # expired rows were deleted
                state[csrf.STATE_ANMELDUNG] = None
                return None
            benutzer = s.benutzer
            anmeldung = Anmeldung(benutzer=benutzer, art="sitzung", csrf_token=s.csrf_token)
        session.flush()
        # Detach before commit so the object stays readable whatever the factory's expire_on_commit.
        session.expunge(benutzer)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    state[csrf.STATE_ANMELDUNG] = anmeldung
    state[STATE_NO_STORE] = True
    return anmeldung


async def aktuelle_anmeldung(request: Request) -> Anmeldung | None:
    """The authentication of this request or None (never raises for a missing login; a bad token does)."""
    return await run_in_threadpool(_authentifizieren, request)


async def _csrf_pruefen(request: Request, anmeldung: Anmeldung | None) -> None:
    if request.method in csrf.SICHERE_METHODEN or anmeldung is None or anmeldung.art != "sitzung":
        return
    if not csrf.gleich(anmeldung.csrf_token, await csrf.token_aus_anfrage(request)):
        raise CsrfFehler()


# --- roles -----------------------------------------------------------------------------------------------------


def erlaubte_rollen(rollen: tuple[Rolle, ...] | list[Rolle]) -> frozenset[Rolle]:
    """Admin is allowed everywhere; Teamleitung wherever Agent is. Empty: every role."""
    if not rollen:
        return frozenset(Rolle)
    erlaubt = {Rolle(r) for r in rollen} | {Rolle.admin}
    if Rolle.agent in erlaubt:
        erlaubt.add(Rolle.teamleitung)
    return frozenset(erlaubt)


def _rollen_text(erlaubt: frozenset[Rolle]) -> str:
    namen = [ROLLEN_BEZEICHNUNG[r] for r in Rolle if r in erlaubt]
    return namen[0] if len(namen) == 1 else ", ".join(namen[:-1]) + " oder " + namen[-1]


@cache
def benutzer_mit_rolle(*rollen: Rolle) -> Callable[..., Benutzer]:
    """A FastAPI dependency: the logged-in Benutzer when their role is allowed.

    No roles: any logged-in user. 401 (or a redirect to /anmelden for HTML pages) without a valid login,
    403 for a role that is not allowed or a missing/wrong CSRF token on an unsafe cookie request.
    The returned user is detached from any session: use its id to link rows.
    """
    erlaubt = erlaubte_rollen(rollen)

    async def abhaengigkeit(request: Request) -> Benutzer:
        anmeldung = await aktuelle_anmeldung(request)
        if anmeldung is None:
            raise NichtAngemeldet(request)
        await _csrf_pruefen(request, anmeldung)
        if anmeldung.benutzer.rolle not in erlaubt:
            raise KeineBerechtigung(
                f"Dafür fehlt Ihnen die Berechtigung. Erlaubt ist das für die Rolle {_rollen_text(erlaubt)}; "
                f"Sie sind als {ROLLEN_BEZEICHNUNG[anmeldung.benutzer.rolle]} angemeldet."
            )
        return anmeldung.benutzer

    abhaengigkeit.__name__ = "benutzer_mit_rolle_" + "_".join(sorted(r.value for r in erlaubt))
    return cast(Callable[..., Benutzer], abhaengigkeit)


async def csrf_geschuetzt(request: Request) -> None:
    """A FastAPI dependency: 403 for an unsafe method authenticated by the session cookie without a valid
    CSRF token. Bearer requests are exempt; requests without any login pass (the role check answers 401)."""
    await _csrf_pruefen(request, await aktuelle_anmeldung(request))


# --- caching of authenticated responses ------------------------------------------------------------------------


class KeinSpeichernMiddleware:
    """Pure ASGI: `Cache-Control: no-store` on every response to an authenticated request."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def senden(message):
            if message["type"] == "http.response.start" and scope.get("state", {}).get(STATE_NO_STORE):
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, senden)

"""CSRF tokens: bound to the web session, read from a form field or header, rendered by Jinja2 helpers.

Templates call `{{ csrf_feld() }}` inside every POST form and `{{ csrf_meta() }}` in the head (htmx reads it;
`{{ csrf_hx_headers() }}` gives a ready `hx-headers` value). Register the helpers with `jinja_einrichten(env)`.
"""

from __future__ import annotations

import hmac
import json

from jinja2 import Environment, pass_context
from markupsafe import Markup
from starlette.requests import Request

FELD = "csrf_token"
HEADER = "X-CSRF-Token"
SICHERE_METHODEN = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# Where the authentication result of this request is kept (set by servicecenter.auth.deps).
STATE_ANMELDUNG = "sc_anmeldung"
# The token of the login form (before a session exists), set by the login view.
STATE_VORAB_TOKEN = "sc_vorab_csrf"


def gleich(erwartet: str | None, gegeben: str | None) -> bool:
    if not erwartet or not gegeben:
        return False
    return hmac.compare_digest(erwartet.encode("utf-8"), gegeben.encode("utf-8"))


async def token_aus_anfrage(request: Request) -> str | None:
    """The CSRF token the client sent: header first, else the form field (forms are parsed once and cached)."""
    kopf = request.headers.get(HEADER)
    if kopf:
        return kopf
    art = request.headers.get("content-type", "")
    if art.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        wert = form.get(FELD)
        if isinstance(wert, str):
            return wert
    return None


def csrf_token_fuer(request: Request) -> str:
    """The token to render into this page ('' when the page has no session and no login-form token)."""
    anmeldung = request.scope.get("state", {}).get(STATE_ANMELDUNG)
    if anmeldung is not None and anmeldung.csrf_token:
        return anmeldung.csrf_token
    return request.scope.get("state", {}).get(STATE_VORAB_TOKEN) or ""


@pass_context
def csrf_feld(ctx) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(FELD, csrf_token_fuer(ctx["request"]))


@pass_context
def csrf_meta(ctx) -> Markup:
    return Markup('<meta name="csrf-token" content="{}">').format(csrf_token_fuer(ctx["request"]))


@pass_context
def csrf_hx_headers(ctx) -> str:
    """JSON for an `hx-headers` attribute; Jinja's autoescape makes it attribute-safe."""
    return json.dumps({HEADER: csrf_token_fuer(ctx["request"])})


@pass_context
def csrf_wert(ctx) -> str:
    return csrf_token_fuer(ctx["request"])


def jinja_einrichten(env: Environment) -> None:
    env.globals.update(csrf_feld=csrf_feld, csrf_meta=csrf_meta, csrf_hx_headers=csrf_hx_headers, csrf_token=csrf_wert)


__all__ = ["FELD", "HEADER", "csrf_feld", "csrf_meta", "csrf_token_fuer", "gleich", "jinja_einrichten",
           "token_aus_anfrage"]

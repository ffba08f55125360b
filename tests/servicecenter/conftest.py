"""Fixtures for logged-in browsers and API tokens, for every servicecenter test.

    def test_x(anmelden, api_token):
        agent = anmelden(Rolle.agent)             # logged-in TestClient (https://testserver, cookie sc_sitzung)
        agent.client.get("/desk")
        agent.post("/irgendwo", data={...})       # adds the CSRF token to the form
        agent.client.post("/x", json={...}, headers=agent.headers)   # CSRF token as X-CSRF-Token header
        zugang = api_token(Rolle.teamleitung)     # Bearer token
        web_client.get("/api/v1/...", headers=zugang.headers)

Cookies are Secure, so use `web_client` (base_url https://testserver), not the plain `client`.
The app's clock is `app.state.uhr`; the `uhr` fixture replaces it with a settable one.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from servicecenter.auth import service
from servicecenter.auth.deps import COOKIE_NAME
from servicecenter.auth.models import Benutzer, Rolle

TEST_PASSWORT = "Richtiges-Passwort-42"
BASE_URL = "https://testserver"


@lru_cache(maxsize=1)
def passwort_hash_fuer_tests() -> str:
    """One argon2 hash for every fixture user: hashing costs ~0.1 s."""
    return service.passwort_hashen(TEST_PASSWORT)


class Uhr:
    """A settable clock: `uhr.vor(minutes=16)` moves it on."""

    def __init__(self, start: datetime) -> None:
        self.jetzt = start

    def __call__(self) -> datetime:
        return self.jetzt

    def vor(self, **delta: float) -> datetime:
        self.jetzt += timedelta(**delta)
        return self.jetzt


@dataclass
class Angemeldet:
    client: TestClient
    benutzer: Benutzer
    csrf: str
    sitzung_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}

    def post(self, url: str, data: dict | None = None, **kwargs):
        """Form POST with the CSRF token added."""
        return self.client.post(url, data={**(data or {}), "csrf_token": self.csrf}, **kwargs)


@dataclass
class TokenZugang:
    token: str
    benutzer: Benutzer
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def test_passwort() -> str:
    """The password of every user made by `neuer_benutzer` without an explicit password."""
    return TEST_PASSWORT


@pytest.fixture
def uhr(app) -> Uhr:
    u = Uhr(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    app.state.uhr = u
    return u


@pytest.fixture
def web_client(app) -> Iterator[TestClient]:
    with TestClient(app, base_url=BASE_URL) as c:
        yield c


@pytest.fixture
def neuer_benutzer(db_session: Session, app) -> Callable[..., Benutzer]:
    """neuer_benutzer(rolle="agent", name=None, *, passwort=None, anzeigename="", aktiv=True) -> Benutzer"""
    zaehler = itertools.count(1)

    def anlegen(
        rolle: Rolle | str = Rolle.agent, name: str | None = None, *, passwort: str | None = None,
        anzeigename: str = "", aktiv: bool = True,
    ) -> Benutzer:
        rolle = Rolle(rolle)
        b = service.benutzer_anlegen(
            db_session,
            name=name or f"{rolle.value}{next(zaehler)}",
            rolle=rolle,
            passwort=passwort,
            passwort_hash=None if passwort else passwort_hash_fuer_tests(),
            anzeigename=anzeigename,
            jetzt=app.state.uhr(),
        )
        b.aktiv = aktiv
        db_session.commit()
        return b

    return anlegen


@pytest.fixture
def anmelden(app, web_client: TestClient, neuer_benutzer, db_session: Session) -> Iterator[Callable[..., Angemeldet]]:
    """anmelden(rolle="agent", *, benutzer=None, eigener_client=False) -> Angemeldet

    Creates the user (unless given) and a session row, and puts the cookie into `web_client`
    (or into a fresh client with eigener_client=True, for several users in one test).
    """
    extra: list[TestClient] = []

    def _anmelden(
        rolle: Rolle | str = Rolle.agent, *, benutzer: Benutzer | None = None, eigener_client: bool = False
    ) -> Angemeldet:
        b = benutzer or neuer_benutzer(rolle)
        sitzung_id, s = service.sitzung_anlegen(db_session, benutzer=b, jetzt=app.state.uhr())
        csrf = s.csrf_token
        db_session.commit()
        client = web_client
        if eigener_client:
            client = TestClient(app, base_url=BASE_URL)
            extra.append(client)
        client.cookies.set(COOKIE_NAME, sitzung_id, domain="testserver.local", path="/")
        return Angemeldet(client=client, benutzer=b, csrf=csrf, sitzung_id=sitzung_id)

    yield _anmelden
    for c in extra:
        c.close()


@pytest.fixture
def api_token(app, neuer_benutzer, db_session: Session) -> Callable[..., TokenZugang]:
    """api_token(rolle="agent", *, benutzer=None) -> TokenZugang(token, benutzer, headers)"""

    def _token(rolle: Rolle | str = Rolle.agent, *, benutzer: Benutzer | None = None) -> TokenZugang:
        b = benutzer or neuer_benutzer(rolle)
        token, _ = service.token_anlegen(db_session, benutzer=b, bezeichnung="Test", jetzt=app.state.uhr())
        db_session.commit()
        return TokenZugang(token=token, benutzer=b, headers={"Authorization": f"Bearer {token}"})

    return _token

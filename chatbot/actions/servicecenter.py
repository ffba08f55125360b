"""Small async client for the servicecenter HTTP API the bot is allowed to use.

Every call has a timeout. Any failure of the servicecenter (timeout, connection refused, 5xx, broken JSON,
401 because of a wrong token) becomes `ApiFehler`, so the actions can apologise instead of crashing.
Only the data the API needs is sent; nothing personal is logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from actions.transport import AiohttpTransport

log = logging.getLogger(__name__)
# httpx logs every request URL at INFO: that would put citizens' questions (q=…) and status access codes
# (code=…) into the action server's log.
logging.getLogger("httpx").setLevel(logging.WARNING)


class ApiFehler(Exception):
    """The servicecenter could not answer (down, slow, misconfigured)."""


class NichtGefunden(Exception):
    """404: unknown Leistung, or unknown ticket number / wrong access code."""


class ZuVieleVersuche(Exception):
    """429: rate limit of the status API."""


@dataclass(frozen=True)
class Einstellungen:
    url: str
    oeffentliche_url: str
    token: str
    timeout: float
    cache_sekunden: float = 60.0

    @classmethod
    def aus_umgebung(cls) -> Einstellungen:
        url = os.environ.get("SERVICECENTER_URL", "http://127.0.0.1:8115").rstrip("/")
        return cls(
            url=url,
            # Links shown to citizens may need the public host name instead of the internal one.
            oeffentliche_url=os.environ.get("SERVICECENTER_PUBLIC_URL", url).rstrip("/"),
            token=os.environ.get("SERVICECENTER_CHAT_BOT_TOKEN", ""),
            timeout=float(os.environ.get("SERVICECENTER_BOT_TIMEOUT", "3")),
            cache_sekunden=float(os.environ.get("SERVICECENTER_BOT_CACHE_SEKUNDEN", "60")),
        )


_CLIENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = weakref.WeakKeyDictionary()


# The wire under the httpx client: transport.AiohttpTransport (0.35 ms less client CPU per call than httpx's own).
# The action tests put httpx's own transport here, the one respx mocks.
TRANSPORT: Callable[[], httpx.AsyncBaseTransport] = AiohttpTransport


def http_client() -> httpx.AsyncClient:
    """One pooled keep-alive client per event loop (a pool cannot cross loops). A new client per call cost about
    35 ms CPU (httpx builds an SSL context each time) plus a TCP handshake: with two calls per answer that was
    most of the action server's time per turn (measured with py-spy). No base URL, headers or timeout on the
    client: they come from the settings at call time."""
    loop = asyncio.get_running_loop()
    client = _CLIENTS.get(loop)
    if client is None:
        client = httpx.AsyncClient(transport=TRANSPORT())
        _CLIENTS[loop] = client
    return client


# Leistung records the bot answered with recently: (base URL, id) -> (valid until, record). Every answer and every
# follow-up ("Was kostet das?") loads the full record; reading it with its zuständige Stellen and their opening
# hours costs the servicecenter three queries (3 ms CPU per request, more than a cached search and a chat turn's
# own database work together). Edits in the Redaktion reach the bot within
# cache_sekunden (SERVICECENTER_BOT_CACHE_SEKUNDEN, 0 = no cache). Only published, public catalogue data is held.
_LEISTUNGEN: OrderedDict[tuple[str, int], tuple[float, dict[str, Any]]] = OrderedDict()
_LEISTUNGEN_MAX = 512


def cache_leeren() -> None:
    _LEISTUNGEN.clear()


class Servicecenter:
    def __init__(self, einstellungen: Einstellungen | None = None) -> None:
        self.e = einstellungen or Einstellungen.aus_umgebung()

    def leistung_link(self, leistung_id: int | str) -> str:
        return f"{self.e.oeffentliche_url}/leistungen/{leistung_id}"

    async def _anfrage(self, methode: str, pfad: str, **kwargs: Any) -> httpx.Response:
        kopf = {"Authorization": f"Bearer {self.e.token}"} if self.e.token else {}
        try:
            antwort = await http_client().request(methode, self.e.url + pfad, headers=kopf, timeout=self.e.timeout,
                                                  **kwargs)
        except httpx.TimeoutException as exc:
            log.warning("servicecenter timeout", extra={"pfad": pfad.split("?")[0]})
            raise ApiFehler("timeout") from exc
        except httpx.HTTPError as exc:
            log.warning("servicecenter unreachable: %s", type(exc).__name__)
            raise ApiFehler(type(exc).__name__) from exc
        if antwort.status_code == 404:
            raise NichtGefunden()
        if antwort.status_code == 429:
            raise ZuVieleVersuche()
        if antwort.status_code >= 400:
            log.warning("servicecenter answered %s", antwort.status_code)
            raise ApiFehler(f"HTTP {antwort.status_code}")
        return antwort

    @staticmethod
    def _json(antwort: httpx.Response) -> Any:
        try:
            return antwort.json()
        except ValueError as exc:
            raise ApiFehler("invalid JSON") from exc

    async def suchen(self, frage: str, limit: int = 3) -> list[dict[str, Any]]:
        frage = frage.strip()[:500]
        if not frage:
            return []
        # the bot shows no hit list: without the text excerpts the search is cheaper, hits and order stay the same
        antwort = await self._anfrage("GET", "/api/v1/leistungen",
                                      params={"q": frage, "limit": limit, "snippets": "false"})
        daten = self._json(antwort)
        treffer = daten.get("treffer") if isinstance(daten, dict) else None
        if not isinstance(treffer, list):
            raise ApiFehler("unexpected search answer")
        return treffer

    async def leistung(self, leistung_id: int | str) -> dict[str, Any]:
        schluessel = (self.e.url, int(leistung_id))
        jetzt = time.monotonic()
        gemerkt = _LEISTUNGEN.get(schluessel)
        if gemerkt is not None and gemerkt[0] > jetzt:
            _LEISTUNGEN.move_to_end(schluessel)
            return gemerkt[1]
        daten = self._json(await self._anfrage("GET", f"/api/v1/leistungen/{int(leistung_id)}"))
        if not isinstance(daten, dict):
            raise ApiFehler("unexpected Leistung answer")
        if self.e.cache_sekunden > 0:
            _LEISTUNGEN[schluessel] = (jetzt + self.e.cache_sekunden, daten)
            _LEISTUNGEN.move_to_end(schluessel)
            while len(_LEISTUNGEN) > _LEISTUNGEN_MAX:
                _LEISTUNGEN.popitem(last=False)
        return daten

    async def status(self, nummer: str, code: str) -> dict[str, Any]:
        return self._json(await self._anfrage("GET", f"/api/v1/status/{quote(nummer, safe='')}", params={"code": code}))

    async def uebergabe(self, conversation_id: str, *, grund: str, leistung_id: int | None) -> dict[str, Any]:
        return self._json(await self._anfrage(
            "POST", f"/api/v1/chat/bot/{quote(conversation_id, safe='')}/uebergabe",
            json={"grund": grund, "leistung_id": leistung_id},
        ))

    async def maengel(
        self, conversation_id: str, *, was: str, wo: str, email: str | None, einwilligung: bool
    ) -> dict[str, Any]:
        return self._json(await self._anfrage(
            "POST", f"/api/v1/chat/bot/{quote(conversation_id, safe='')}/maengel",
            json={"was": was, "wo": wo, "email": email, "einwilligung": einwilligung},
        ))

"""The action server's httpx transport on aiohttp (actions/transport.py) against a real HTTP server on loopback:
what goes over the wire, what comes back, keep-alive, and how each failure reaches the caller."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
from typing import Any

import httpx
import pytest
from actions.transport import AiohttpTransport
from aiohttp import web


def _freier_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """aiohttp test server; remembers every request and the peer port (one port = one connection)."""

    def __init__(self) -> None:
        self.anfragen: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_route("*", "/echo", self.echo)
        self.app.router.add_get("/gzip", self.gezippt)
        self.app.router.add_get("/weiter", self.weiter)
        self.app.router.add_get("/langsam", self.langsam)
        self.app.router.add_get("/status/{code}", self.status)

    async def echo(self, r: web.Request) -> web.Response:
        koerper = await r.read()
        self.anfragen.append({"methode": r.method, "pfad": r.path_qs, "kopf": dict(r.headers),
                              "koerper": koerper, "peer": r.transport.get_extra_info("peername")[1]})
        return web.json_response({"ok": True, "q": r.query.get("q")}, headers={"X-Antwort": "ja"})

    async def gezippt(self, _r: web.Request) -> web.Response:
        return web.Response(body=gzip.compress(b'{"gepackt": true}'),
                            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})

    async def weiter(self, _r: web.Request) -> web.Response:
        raise web.HTTPFound("/echo")

    async def langsam(self, _r: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.Response(text="spät")

    async def status(self, r: web.Request) -> web.Response:
        return web.Response(status=int(r.match_info["code"]), text="nein")

    async def __aenter__(self) -> str:
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        port = _freier_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *_: object) -> None:
        await self.runner.cleanup()


def laufen(koroutine):
    return asyncio.run(koroutine)


def test_anfrage_geht_unveraendert_hin_und_antwort_zurueck():
    async def ablauf():
        server = Server()
        async with server as basis, httpx.AsyncClient(transport=AiohttpTransport()) as c:
            r = await c.get(f"{basis}/echo", params={"q": "Wo beantrage ich einen Reisepass? ä&ß"},
                            headers={"Authorization": "Bearer geheim"}, timeout=3)
            p = await c.post(f"{basis}/echo", json={"grund": "Übergabe", "leistung_id": 3}, timeout=3)
            return server.anfragen, r, p

    anfragen, r, p = laufen(ablauf())
    assert r.status_code == 200 and r.json() == {"ok": True, "q": "Wo beantrage ich einen Reisepass? ä&ß"}
    assert r.headers["x-antwort"] == "ja" and r.reason_phrase == "OK" and r.http_version == "HTTP/1.1"
    get, post = anfragen
    assert get["methode"] == "GET" and get["kopf"]["Authorization"] == "Bearer geheim"
    assert get["koerper"] == b""
    assert post["methode"] == "POST" and post["kopf"]["Content-Type"] == "application/json"
    assert json.loads(post["koerper"]) == {"grund": "Übergabe", "leistung_id": 3}
    assert p.json()["ok"] is True


def test_verbindung_wird_wiederverwendet():
    async def ablauf():
        server = Server()
        async with server as basis, httpx.AsyncClient(transport=AiohttpTransport()) as c:
            for _ in range(5):
                assert (await c.get(f"{basis}/echo", timeout=3)).status_code == 200
            return {a["peer"] for a in server.anfragen}

    assert len(laufen(ablauf())) == 1


def test_gzip_entpackt_httpx_und_weiterleitungen_entscheidet_der_client():
    async def ablauf():
        server = Server()
        async with server as basis, httpx.AsyncClient(transport=AiohttpTransport()) as c:
            z = await c.get(f"{basis}/gzip", timeout=3)
            w = await c.get(f"{basis}/weiter", timeout=3)  # httpx follows no redirects by default
            w2 = await c.get(f"{basis}/weiter", timeout=3, follow_redirects=True)
            return z, w, w2

    z, w, w2 = laufen(ablauf())
    assert z.json() == {"gepackt": True}
    assert w.status_code == 302 and w.headers["location"] == "/echo"
    assert w2.status_code == 200 and w2.json()["ok"] is True


def test_fehlerstatus_kommt_als_antwort():
    async def ablauf():
        async with Server() as basis, httpx.AsyncClient(transport=AiohttpTransport()) as c:
            return await c.get(f"{basis}/status/503", timeout=3)

    r = laufen(ablauf())
    assert r.status_code == 503 and r.text == "nein"
    with pytest.raises(httpx.HTTPStatusError):
        r.raise_for_status()


def test_nicht_erreichbar_ist_connect_error():
    async def ablauf():
        async with httpx.AsyncClient(transport=AiohttpTransport()) as c:
            await c.get(f"http://127.0.0.1:{_freier_port()}/echo", timeout=3)

    with pytest.raises(httpx.ConnectError):
        laufen(ablauf())


def test_zu_langsam_ist_timeout():
    async def ablauf():
        async with Server() as basis, httpx.AsyncClient(transport=AiohttpTransport()) as c:
            await c.get(f"{basis}/langsam", timeout=0.2)

    with pytest.raises(httpx.TimeoutException):
        laufen(ablauf())


class _SchliessendeVerbindung(asyncio.Protocol):
    """Reads a request and closes the connection without a byte of answer (a server going away)."""

    zaehler = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, _daten: bytes) -> None:
        type(self).zaehler += 1
        self.transport.close()


@pytest.mark.parametrize("methode, versuche", [("GET", 2), ("POST", 1)])
def test_geschlossene_verbindung_get_einmal_wiederholt_post_nicht(methode, versuche):
    async def ablauf():
        _SchliessendeVerbindung.zaehler = 0
        server = await asyncio.get_running_loop().create_server(_SchliessendeVerbindung, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            async with httpx.AsyncClient(transport=AiohttpTransport()) as c:
                with pytest.raises(httpx.RemoteProtocolError):
                    await c.request(methode, f"http://127.0.0.1:{port}/x", timeout=3)
        finally:
            server.close()
        return _SchliessendeVerbindung.zaehler

    # a GET is sent once more (the server may have closed an idle connection); a POST could create a second
    # hand-off or report, so it is not
    assert laufen(ablauf()) == versuche


def test_servicecenter_client_nimmt_den_transport(monkeypatch):
    """The actions' client goes through this transport (unless a test swaps it for respx)."""
    from actions import servicecenter

    async def suche(r: web.Request) -> web.Response:
        gesehen.append((dict(r.query), r.headers.get("Authorization")))
        return web.json_response({"frage": r.query["q"], "treffer": [
            {"id": 3, "name": "Reisepass beantragen", "konfidenz": "sicher"}]})

    gesehen: list = []

    async def ablauf():
        server = Server()
        server.app.router.add_get("/api/v1/leistungen", suche)
        async with server as basis:
            monkeypatch.setenv("SERVICECENTER_URL", basis)
            treffer = await servicecenter.Servicecenter().suchen("Reisepass")
            transport = servicecenter.http_client()._transport
            await servicecenter.http_client().aclose()
            return treffer, transport

    treffer, transport = laufen(ablauf())
    assert isinstance(transport, AiohttpTransport)
    assert treffer == [{"id": 3, "name": "Reisepass beantragen", "konfidenz": "sicher"}]
    assert gesehen == [({"q": "Reisepass", "limit": "3", "snippets": "false"}, "Bearer bot-geheim")]

"""The HTTP/1.1 transport of the calls to Rasa (kanaele/chat/http11.py) against real asyncio servers on loopback:
answers by length, chunked and up to the connection's end; keep-alive reuse; a connection the server closed while
idle; the errors callers catch (httpx's), for a refused connection, a server that does not answer, a broken
status line, a connection cut inside the body."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from kanaele.chat.http11 import Http11Transport


class Server:
    """A loopback server; `antwort(kopf, koerper)` returns the raw bytes to send (None: close without answer)."""

    def __init__(self, antwort) -> None:
        self.antwort = antwort
        self.verbindungen = 0
        self.anfragen: list[tuple[bytes, bytes]] = []
        self.schreiber: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> Server:
        self.server = await asyncio.start_server(self._bedienen, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *_) -> None:
        for w in self.schreiber:
            w.close()
        self.server.close()
        await self.server.wait_closed()

    async def _bedienen(self, leser: asyncio.StreamReader, schreiber: asyncio.StreamWriter) -> None:
        self.verbindungen += 1
        self.schreiber.append(schreiber)
        try:
            while True:
                kopf = await leser.readuntil(b"\r\n\r\n")
                laenge = 0
                for zeile in kopf.split(b"\r\n"):
                    if zeile.lower().startswith(b"content-length:"):
                        laenge = int(zeile.split(b":")[1])
                koerper = await leser.readexactly(laenge)
                self.anfragen.append((kopf, koerper))
                daten = await self.antwort(kopf, koerper) if asyncio.iscoroutinefunction(self.antwort) \
                    else self.antwort(kopf, koerper)
                if daten is None:
                    schreiber.close()
                    return
                schreiber.write(daten)
                await schreiber.drain()
                if b"Connection: close" in daten:
                    schreiber.close()
                    return
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            schreiber.close()  # the client went, or the test server stops


def json_antwort(daten, *kopf: bytes) -> bytes:
    body = json.dumps(daten).encode()
    extra = b"".join(k + b"\r\n" for k in kopf)
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n" % (len(body), extra) \
        + body


def lauf(coro):
    return asyncio.run(coro)


def test_post_json_und_verbindung_wird_wiederverwendet() -> None:
    async def main():
        async with Server(lambda kopf, koerper: json_antwort([{"text": json.loads(koerper)["message"]}])) as s:
            async with httpx.AsyncClient(transport=Http11Transport()) as c:
                for i in range(5):
                    r = await c.post(f"{s.url}/webhooks/rest/webhook?token=x", json={"sender": "a", "message": f"m{i}"},
                                     timeout=2)
                    r.raise_for_status()
                    assert r.json() == [{"text": f"m{i}"}]
                    assert r.http_version == "HTTP/1.1"
            kopf, koerper = s.anfragen[0]
            assert kopf.startswith(b"POST /webhooks/rest/webhook?token=x HTTP/1.1\r\n")
            assert b"\r\nhost: 127.0.0.1:" in kopf.lower() and b"content-type: application/json" in kopf.lower()
            assert json.loads(koerper) == {"sender": "a", "message": "m0"}
            return s.verbindungen

    assert lauf(main()) == 1  # keep-alive: five requests, one connection


def test_fehlerstatus_chunked_und_zwischenantwort() -> None:
    antworten = iter([
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nweg!",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;x=y\r\n[{\"t\r\n8\r\next\":1}]\r\n0\r\nX-Trailer: 1\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
        json_antwort({"ok": 1}),
    ])

    async def main():
        async with Server(lambda kopf, koerper: next(antworten)) as s:
            async with httpx.AsyncClient(transport=Http11Transport()) as c:
                r = await c.post(s.url + "/x", json={}, timeout=2)
                assert r.status_code == 500 and r.text == "weg!"
                with pytest.raises(httpx.HTTPStatusError):
                    r.raise_for_status()
                r = await c.post(s.url + "/x", json={}, timeout=2)
                assert r.json() == [{"text": 1}]
                r = await c.get(s.url + "/x", timeout=2)
                assert r.status_code == 204 and r.content == b""
                assert (await c.get(s.url + "/x", timeout=2)).json() == {"ok": 1}  # the stream is still in step
            return s.verbindungen

    assert lauf(main()) == 1


def test_antwort_bis_zum_verbindungsende() -> None:
    async def main():
        async with Server(lambda kopf, koerper: b"HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n{\"ende\": true}") as s:
            async with httpx.AsyncClient(transport=Http11Transport()) as c:
                for _ in range(2):
                    r = await c.get(s.url + "/x", timeout=2)
                    assert r.json() == {"ende": True}
            return s.verbindungen

    assert lauf(main()) == 2  # not reused after an answer that ended the connection


def test_vom_server_geschlossene_leerlaufverbindung_wird_ersetzt() -> None:
    async def main():
        async with Server(lambda kopf, koerper: json_antwort({"ok": 1})) as s:
            t = Http11Transport()
            async with httpx.AsyncClient(transport=t) as c:
                assert (await c.get(s.url + "/a", timeout=2)).json() == {"ok": 1}
                for w in s.schreiber:  # the server's keep-alive timeout
                    w.close()
                await asyncio.sleep(0.05)
                assert (await c.get(s.url + "/b", timeout=2)).json() == {"ok": 1}
                # closed at the same moment the request goes out (the client has not seen the end yet): no byte
                # comes back, the request is sent once more on a new connection
                for w in s.schreiber:
                    w.close()
                assert (await c.post(s.url + "/c", json={}, timeout=2)).json() == {"ok": 1}
            return s.verbindungen, [k.split(b" ")[1] for k, _ in s.anfragen]

    verbindungen, pfade = lauf(main())
    assert verbindungen == 3 and pfade == [b"/a", b"/b", b"/c"]


def test_fehler_sind_httpx_fehler() -> None:
    async def main():
        async with Server(lambda kopf, koerper: None) as s:  # closes without answering
            frei = s.url
        async with httpx.AsyncClient(transport=Http11Transport()) as c:
            with pytest.raises(httpx.ConnectError):  # nobody listens any more
                await c.post(frei + "/x", json={}, timeout=2)

        async with Server(lambda kopf, koerper: None) as s:
            async with httpx.AsyncClient(transport=Http11Transport()) as c:
                with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
                    await c.post(s.url + "/x", json={}, timeout=2)

        async def nie(kopf, koerper):
            await asyncio.sleep(5)

        async with Server(nie) as s:
            async with httpx.AsyncClient(transport=Http11Transport()) as c:
                with pytest.raises(httpx.ReadTimeout):
                    await c.post(s.url + "/x", json={}, timeout=0.2)

        async with Server(lambda kopf, koerper: b"SMTP 220 hallo\r\n\r\n") as s:
            async with httpx.AsyncClient(transport=Http11Transport()) as c:
                with pytest.raises(httpx.RemoteProtocolError, match="Invalid status line"):
                    await c.get(s.url + "/x", timeout=2)

        async with Server(lambda kopf, koerper: b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nzu kurz") as s:
            async with httpx.AsyncClient(transport=Http11Transport()) as c:
                with pytest.raises(httpx.RemoteProtocolError, match="inside the response body"):
                    await c.get(s.url + "/x", timeout=2)

    lauf(main())
    assert issubclass(httpx.RemoteProtocolError, httpx.HTTPError)  # what kanaele/chat/api.py catches

"""httpx transport on aiohttp's HTTP client, for the action server's calls to the servicecenter.

The actions keep httpx's API (timeouts, status handling, `raise_for_status`, respx in the tests); only the wire
work goes through aiohttp, which the Rasa environment has anyway (Rasa's own HTTP client). Measured here against the
servicecenter's search (a cached answer, same keep-alive connection), client CPU per request, three alternating
rounds: httpx with its own transport (httpcore) 1.04-1.23 ms, with this one 0.68-0.86 ms (aiohttp alone 0.33-0.40:
the rest is httpx's client). httpx's transport was half of the action server's CPU in a chat turn (py-spy).

What the transport keeps from httpx's own: the request as httpx built it (method, encoded URL, every header, the
body), no redirects followed here (httpx's client decides), the body's content encoding undone by httpx, the
timeouts per phase (connect, read; `pool` and `write` have no counterpart and are not applied) and failures as
httpx's exception classes (`ConnectError`, `TimeoutException`, `RemoteProtocolError`, `ReadError`), so callers
catch what they caught before.

Idle connections are closed after `leerlauf_sekunden` (2 s), before the servicecenter's server closes them (uvicorn:
5 s): a request then never goes out on a connection the server is closing in the same instant. A GET or HEAD whose
connection the server closed before answering is sent once more; other methods are not repeated (a hand-off or a
Mängelmeldung must not be created twice), they fail as before.
"""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
import yarl

_WIEDERHOLBAR = frozenset({"GET", "HEAD"})


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, *, max_verbindungen: int = 50, leerlauf_sekunden: float = 2.0) -> None:
        self._max = max_verbindungen
        self._leerlauf = leerlauf_sekunden
        self._sitzung: aiohttp.ClientSession | None = None

    def _sitzung_holen(self) -> aiohttp.ClientSession:
        # created on first use: an aiohttp session belongs to the running event loop
        if self._sitzung is None or self._sitzung.closed:
            self._sitzung = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max, keepalive_timeout=self._leerlauf),
                auto_decompress=False,  # httpx decodes the body by its Content-Encoding
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx's client keeps the cookies, if any
            )
        return self._sitzung

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        frist = request.extensions.get("timeout") or {}
        zeiten = aiohttp.ClientTimeout(total=None, sock_connect=frist.get("connect"), sock_read=frist.get("read"))
        kopf = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw]
        koerper = await request.aread()
        url = yarl.URL(str(request.url), encoded=True)  # httpx has encoded it already
        versuche = 2 if request.method in _WIEDERHOLBAR else 1
        for versuch in range(versuche):
            try:
                async with self._sitzung_holen().request(
                    request.method, url, headers=kopf, data=koerper or None, timeout=zeiten, allow_redirects=False,
                    skip_auto_headers=("Content-Type",),
                ) as antwort:
                    inhalt = await antwort.read()
                    return httpx.Response(
                        antwort.status,
                        headers=list(antwort.raw_headers),
                        stream=httpx.ByteStream(inhalt),
                        request=request,
                        extensions={"http_version": b"HTTP/1.1",
                                    "reason_phrase": (antwort.reason or "").encode("latin-1", "replace")},
                    )
            except aiohttp.ServerDisconnectedError as e:
                if versuch + 1 < versuche:
                    continue
                raise httpx.RemoteProtocolError(f"server closed the connection: {e}", request=request) from e
            except aiohttp.ClientConnectorError as e:
                raise httpx.ConnectError(str(e), request=request) from e
            except asyncio.TimeoutError as e:  # on Python 3.10 not the builtin TimeoutError; aiohttp's ServerTimeoutError is one
                raise httpx.TimeoutException(str(e) or "timed out", request=request) from e
            except aiohttp.ClientPayloadError as e:
                raise httpx.RemoteProtocolError(str(e), request=request) from e
            except aiohttp.ClientError as e:
                raise httpx.ReadError(f"{type(e).__name__}: {e}", request=request) from e
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        if self._sitzung is not None:
            await self._sitzung.close()
            self._sitzung = None

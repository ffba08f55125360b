"""A small HTTP/1.1 transport for httpx, used for the servicecenter's calls to Rasa.

Every chat turn posts the citizen's message to Rasa's REST webhook. Through httpx's default transport (httpcore and
h11, with their locks, events and cancellation shields) such a call cost 0.9 ms of CPU in the servicecenter's event
loop; written directly on asyncio streams it costs about 0.15 ms (measured here with the same client code, against
a local server answering like Rasa). The event loop serves all chat turns, so this is CPU every turn waits for.

What it does: plain `http://` only (anything else goes to httpx's own transport), keep-alive connections per host
and port (at most `max_frei` idle ones kept), a request body sent with Content-Length, a response body read by
Content-Length, chunked transfer encoding, or up to the connection's end. httpx's timeouts apply per phase
(connect, write, read; the pool timeout has no meaning here, there is no waiting for a connection). A connection
the server closed while it lay idle is noticed before it is used; if a request on a reused connection gets no
byte of an answer back (the server closed it at the same moment), it is sent once more on a new connection.
Errors are httpx's exceptions (ConnectError, ConnectTimeout, ReadTimeout, WriteTimeout, ReadError, WriteError,
RemoteProtocolError), so callers handle them as before.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

MAX_KOPF = 64 * 1024  # bytes of status line and headers
MAX_KOERPER = 16 * 1024 * 1024


class _Verbindung:
    __slots__ = ("leser", "schreiber", "benutzt")

    def __init__(self, leser: asyncio.StreamReader, schreiber: asyncio.StreamWriter) -> None:
        self.leser = leser
        self.schreiber = schreiber
        self.benutzt = False

    def tot(self) -> bool:
        return self.schreiber.is_closing() or self.leser.at_eof()

    def schliessen(self) -> None:
        with contextlib.suppress(Exception):
            self.schreiber.close()


class _KeineAntwort(Exception):
    """The connection ended before the first byte of the answer."""


def _frist(timeouts: dict, phase: str) -> float | None:
    wert = timeouts.get(phase)
    return float(wert) if wert is not None else None


class Http11Transport(httpx.AsyncBaseTransport):
    def __init__(self, max_frei: int = 20) -> None:
        self._frei: dict[tuple[str, int], list[_Verbindung]] = {}
        self._max_frei = max_frei
        self._andere: httpx.AsyncHTTPTransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme != "http":
            if self._andere is None:
                self._andere = httpx.AsyncHTTPTransport()
            return await self._andere.handle_async_request(request)
        timeouts = request.extensions.get("timeout") or {}
        ziel = (request.url.host, request.url.port or 80)
        koerper = await request.aread()
        kopf = self._anfrage_kopf(request, koerper)
        verbindung = self._nehmen(ziel)
        if verbindung is not None:
            try:
                return await self._senden(request, ziel, verbindung, kopf + koerper, timeouts)
            except _KeineAntwort:
                pass  # closed by the server as we sent: once more on a new connection
        verbindung = await self._verbinden(request, ziel, timeouts)
        try:
            return await self._senden(request, ziel, verbindung, kopf + koerper, timeouts)
        except _KeineAntwort as e:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                            request=request) from e

    @staticmethod
    def _anfrage_kopf(request: httpx.Request, koerper: bytes) -> bytes:
        ziel = request.url.raw_path
        zeilen = [request.method.encode("ascii") + b" " + ziel + b" HTTP/1.1"]
        hat_laenge = False
        for name, wert in request.headers.raw:
            klein = name.lower()
            if klein == b"transfer-encoding":
                continue  # the body is sent whole, with its length
            if klein == b"content-length":
                hat_laenge = True
                wert = str(len(koerper)).encode("ascii")
            zeilen.append(name + b": " + wert)
        if not hat_laenge and (koerper or request.method in ("POST", "PUT", "PATCH")):
            zeilen.append(b"Content-Length: " + str(len(koerper)).encode("ascii"))
        return b"\r\n".join(zeilen) + b"\r\n\r\n"

    def _nehmen(self, ziel: tuple[str, int]) -> _Verbindung | None:
        frei = self._frei.get(ziel)
        while frei:
            v = frei.pop()
            if not v.tot():
                return v
            v.schliessen()
        return None

    def _zurueck(self, ziel: tuple[str, int], v: _Verbindung) -> None:
        frei = self._frei.setdefault(ziel, [])
        if len(frei) < self._max_frei and not v.tot():
            frei.append(v)
        else:
            v.schliessen()

    async def _verbinden(self, request: httpx.Request, ziel: tuple[str, int], timeouts: dict) -> _Verbindung:
        try:
            async with asyncio.timeout(_frist(timeouts, "connect")):
                leser, schreiber = await asyncio.open_connection(ziel[0], ziel[1], limit=MAX_KOPF)
        except TimeoutError as e:
            raise httpx.ConnectTimeout(f"Connecting to {ziel[0]}:{ziel[1]} timed out.", request=request) from e
        except OSError as e:
            raise httpx.ConnectError(str(e) or type(e).__name__, request=request) from e
        return _Verbindung(leser, schreiber)

    async def _senden(self, request: httpx.Request, ziel: tuple[str, int], v: _Verbindung, daten: bytes,
                      timeouts: dict) -> httpx.Response:
        wiederverwendet, v.benutzt = v.benutzt, True
        try:
            v.schreiber.write(daten)
            try:
                async with asyncio.timeout(_frist(timeouts, "write")):
                    await v.schreiber.drain()
            except TimeoutError as e:
                raise httpx.WriteTimeout("Sending the request timed out.", request=request) from e
            except OSError as e:
                if wiederverwendet:
                    raise _KeineAntwort from e
                raise httpx.WriteError(str(e) or type(e).__name__, request=request) from e
            try:
                async with asyncio.timeout(_frist(timeouts, "read")):
                    status, kopfzeilen, version = await self._kopf_lesen(v, request, wiederverwendet)
                    koerper, bis_zum_ende = await self._koerper_lesen(v, request, kopfzeilen)
            except TimeoutError as e:
                raise httpx.ReadTimeout("Waiting for the response timed out.", request=request) from e
        except BaseException:
            v.schliessen()
            raise
        verbindung_bleibt = (not bis_zum_ende and version == b"HTTP/1.1"
                             and not any(k.lower() == b"connection" and b"close" in w.lower()
                                         for k, w in kopfzeilen))
        if verbindung_bleibt:
            self._zurueck(ziel, v)
        else:
            v.schliessen()
        return httpx.Response(status, headers=kopfzeilen, stream=httpx.ByteStream(koerper),
                              extensions={"http_version": version})

    @staticmethod
    async def _kopf_lesen(v: _Verbindung, request: httpx.Request,
                          wiederverwendet: bool) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        while True:
            try:
                roh = await v.leser.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as e:
                if not e.partial and wiederverwendet:
                    raise _KeineAntwort from e
                if not e.partial:
                    raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                                    request=request) from e
                raise httpx.RemoteProtocolError("Connection closed inside the response headers.",
                                                request=request) from e
            except asyncio.LimitOverrunError as e:
                raise httpx.RemoteProtocolError("Response headers too long.", request=request) from e
            except OSError as e:
                if wiederverwendet:
                    raise _KeineAntwort from e
                raise httpx.ReadError(str(e) or type(e).__name__, request=request) from e
            zeilen = roh[:-4].split(b"\r\n")
            teile = zeilen[0].split(b" ", 2)
            if len(teile) < 2 or teile[0] not in (b"HTTP/1.1", b"HTTP/1.0") or not teile[1].isdigit() \
                    or len(teile[1]) != 3:
                raise httpx.RemoteProtocolError(f"Invalid status line: {zeilen[0][:80]!r}", request=request)
            kopfzeilen = []
            for zeile in zeilen[1:]:
                name, doppelpunkt, wert = zeile.partition(b":")
                if not doppelpunkt or not name or name != name.strip():
                    raise httpx.RemoteProtocolError(f"Invalid header line: {zeile[:80]!r}", request=request)
                kopfzeilen.append((name, wert.strip()))
            status = int(teile[1])
            if 100 <= status < 200 and status != 101:
                continue  # 100 Continue and the like: the answer follows
            return status, kopfzeilen, teile[0]

    @staticmethod
    async def _koerper_lesen(v: _Verbindung, request: httpx.Request,
                             kopfzeilen: list[tuple[bytes, bytes]]) -> tuple[bytes, bool]:
        """The body, and whether it ran to the connection's end (then the connection cannot be reused)."""
        werte: dict[bytes, list[bytes]] = {}
        for k, w in kopfzeilen:
            werte.setdefault(k.lower(), []).append(w)
        try:
            if request.method == "HEAD":
                return b"", False
            if any(b"chunked" in w.lower() for w in werte.get(b"transfer-encoding", [])):
                return await Http11Transport._stuecke_lesen(v, request), False
            laengen = set(werte.get(b"content-length", []))
            if laengen:
                if len(laengen) != 1 or not next(iter(laengen)).isdigit():
                    raise httpx.RemoteProtocolError("Invalid Content-Length.", request=request)
                n = int(next(iter(laengen)))
                if n > MAX_KOERPER:
                    raise httpx.RemoteProtocolError("Response body too large.", request=request)
                return await v.leser.readexactly(n), False
            teile: list[bytes] = []
            gesamt = 0
            while daten := await v.leser.read(64 * 1024):
                gesamt += len(daten)
                if gesamt > MAX_KOERPER:
                    raise httpx.RemoteProtocolError("Response body too large.", request=request)
                teile.append(daten)
            return b"".join(teile), True
        except asyncio.IncompleteReadError as e:
            raise httpx.RemoteProtocolError("Connection closed inside the response body.", request=request) from e
        except asyncio.LimitOverrunError as e:
            raise httpx.RemoteProtocolError("Chunk header line too long.", request=request) from e
        except OSError as e:
            raise httpx.ReadError(str(e) or type(e).__name__, request=request) from e

    @staticmethod
    async def _stuecke_lesen(v: _Verbindung, request: httpx.Request) -> bytes:
        teile: list[bytes] = []
        gesamt = 0
        while True:
            zeile = await v.leser.readuntil(b"\r\n")
            groesse = zeile[:-2].split(b";", 1)[0].strip()
            try:
                n = int(groesse, 16)
            except ValueError as e:
                raise httpx.RemoteProtocolError("Invalid chunk size.", request=request) from e
            if n == 0:
                while (await v.leser.readuntil(b"\r\n")) != b"\r\n":
                    pass  # trailers
                return b"".join(teile)
            gesamt += n
            if gesamt > MAX_KOERPER:
                raise httpx.RemoteProtocolError("Response body too large.", request=request)
            teile.append(await v.leser.readexactly(n))
            if await v.leser.readexactly(2) != b"\r\n":
                raise httpx.RemoteProtocolError("Invalid chunk end.", request=request)

    async def aclose(self) -> None:
        for frei in self._frei.values():
            for v in frei:
                v.schliessen()
        self._frei.clear()
        if self._andere is not None:
            await self._andere.aclose()

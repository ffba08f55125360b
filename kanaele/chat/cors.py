"""CORS for the citizen chat API, so the widget can be embedded in the city's own web site.

Only `/api/v1/chat/{id}…` (messages, transcript, stream, hand-off, ticket form) and only for the origins configured in
`SERVICECENTER_CHAT_CORS_ORIGINS` (exact scheme://host[:port]; empty: same origin only, no CORS headers at all).
No credentials: the widget sends no cookies, the conversation id is its only key. The bot call-backs
(`/api/v1/chat/bot/…`), the desk and every other path never get CORS headers.
"""

from __future__ import annotations

import re

_PFAD = re.compile(r"^/api/v1/chat/(?!bot/)[^/]+(/(nachrichten|stream|uebergabe|ticket))?$")
METHODEN = b"GET, POST"
KOPFZEILEN = b"Content-Type, Last-Event-ID"


class ChatCorsMiddleware:
    def __init__(self, app, *, origins: list[str]) -> None:
        self.app = app
        self.origins = {o.rstrip("/").encode() for o in origins if o.strip()}

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.origins or not _PFAD.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        kopf = dict(scope.get("headers", []))
        origin = kopf.get(b"origin")
        erlaubt = origin is not None and (origin in self.origins or b"*" in self.origins)
        if scope.get("method") == "OPTIONS" and b"access-control-request-method" in kopf:
            if not erlaubt:
                await _antwort(send, 403, [(b"vary", b"Origin")], "Diese Herkunft darf den Chat nicht einbetten.")
                return
            await _antwort(send, 204, [
                (b"access-control-allow-origin", origin), (b"access-control-allow-methods", METHODEN),
                (b"access-control-allow-headers", KOPFZEILEN), (b"access-control-max-age", b"600"),
                (b"vary", b"Origin"),
            ])
            return
        if not erlaubt:
            await self.app(scope, receive, send)
            return

        async def senden(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"vary"]
                headers += [(b"access-control-allow-origin", origin), (b"vary", b"Origin"),
                            (b"access-control-expose-headers", b"Retry-After")]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, senden)


async def _antwort(send, status: int, headers: list[tuple[bytes, bytes]], text: str = "") -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

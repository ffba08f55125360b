"""Pure ASGI middleware: security headers and a request log without personal data."""

from __future__ import annotations

import logging
import re
import time

log = logging.getLogger("servicecenter.http")
# Secrets that travel in paths (the CTI token, chat conversation ids) never reach the log.
_GEHEIME_PFADE = re.compile(r"^(/api/v1/cti/|/api/v1/chat/(?:bot/)?|/desk/chats/(?!liste$))[^/]+")

SICHERHEITS_HEADER = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# The Swagger UI at /docs loads its own inline script; everything else is strict.
CSP_STRENG = (
    b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    b"object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)
CSP_DOCS = (
    b"default-src 'self'; img-src 'self' data: https://fastapi.tiangolo.com; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; object-src 'none'; frame-ancestors 'none'"
)


class SicherheitsMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope.get("path", "")
        status_box = [0]

        async def senden(message):
            if message["type"] == "http.response.start":
                status_box[0] = message["status"]
                headers = list(message.get("headers", []))
                vorhanden = {k.lower() for k, _ in headers}
                for k, v in SICHERHEITS_HEADER:
                    if k not in vorhanden:
                        headers.append((k, v))
                if b"content-security-policy" not in vorhanden:
                    docs = path.startswith(("/docs", "/redoc"))
                    headers.append((b"content-security-policy", CSP_DOCS if docs else CSP_STRENG))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, senden)
        finally:
            # Path only: query strings may carry citizens' questions or personal data.
            log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": _GEHEIME_PFADE.sub(r"\1***", path),
                    "status": status_box[0],
                    "ms": round((time.perf_counter() - start) * 1000, 2),
                },
            )

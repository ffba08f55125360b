"""Wakes the widgets' event streams when something was written to their conversation.

The streams also re-read the database every few seconds, so a missed wake-up (another server process, a
notification sent before the writer committed) only delays a message, it never loses it. `wecken` is safe to call
from any thread (sync routes run in the thread pool).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class ChatHub:
    def __init__(self) -> None:
        self._warten: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def anzahl(self, gespraech_id: str) -> int:
        return len(self._warten.get(gespraech_id, ()))

    @asynccontextmanager
    async def abonnieren(self, gespraech_id: str) -> AsyncIterator[asyncio.Event]:
        eintrag = (asyncio.get_running_loop(), asyncio.Event())
        self._warten.setdefault(gespraech_id, set()).add(eintrag)
        try:
            yield eintrag[1]
        finally:
            menge = self._warten.get(gespraech_id)
            if menge is not None:
                menge.discard(eintrag)
                if not menge:
                    self._warten.pop(gespraech_id, None)

    def wecken(self, gespraech_id: str) -> None:
        for loop, ereignis in list(self._warten.get(gespraech_id, ())):
            try:
                loop.call_soon_threadsafe(ereignis.set)
            except RuntimeError:  # loop already closed
                pass

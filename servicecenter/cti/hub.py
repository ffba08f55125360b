"""In-process broadcast of call events to the agents' browsers (Server-Sent Events).

One hub per app and per server process. With several server processes (uvicorn --workers > 1, several hosts)
an event reaches only the agents connected to the process that received the PBX request: put a shared
channel (e.g. Redis pub/sub) behind `veroeffentlichen` then.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass(eq=False)
class Abonnent:
    namen: frozenset[str]  # login name and display name, matched against the PBX's user[] list
    queue: asyncio.Queue[dict] = field(default_factory=lambda: asyncio.Queue(maxsize=100))
    verworfen: int = 0


class AnrufHub:
    def __init__(self) -> None:
        self._abonnenten: set[Abonnent] = set()

    def __len__(self) -> int:
        return len(self._abonnenten)

    @asynccontextmanager
    async def abonnieren(self, *namen: str) -> AsyncIterator[Abonnent]:
        a = Abonnent(namen=frozenset(n.casefold() for n in namen if n))
        self._abonnenten.add(a)
        try:
            yield a
        finally:
            self._abonnenten.discard(a)

    def veroeffentlichen(self, nachricht: dict) -> int:
        """Deliver to every subscriber (or only the agents named in `agenten`, when the PBX named any).
        Must run on the event loop thread. Never blocks: a subscriber whose queue is full loses the message."""
        ziel = {n.casefold() for n in nachricht.get("agenten") or [] if n}
        zugestellt = 0
        for a in list(self._abonnenten):
            if ziel and not (ziel & a.namen):
                continue
            try:
                a.queue.put_nowait(nachricht)
                zugestellt += 1
            except asyncio.QueueFull:
                a.verworfen += 1
        return zugestellt


def sse(nachricht: dict, ereignis: str = "anruf") -> bytes:
    """One Server-Sent Event; JSON has no raw newlines, so one data line suffices."""
    return f"event: {ereignis}\ndata: {json.dumps(nachricht, ensure_ascii=False)}\n\n".encode()

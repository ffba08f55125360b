"""The REST channel the servicecenter talks to (same URL as Rasa's own: /webhooks/rest/webhook).

Loaded by `rasa run --credentials credentials.yml` (cwd chatbot/). Importing it also applies the CPU savings of
beschleunigung.py (action result validator built once, event classes by table, direct call of the compiled DIET
and TED graphs); training and `rasa test` do not load it.

Messages are handled at most CHATBOT_GLEICHZEITIGE_NACHRICHTEN at a time (default 2; 0 = no limit), the others
wait in arrival order. The Rasa server runs its CPU work (NLU, policies) on one thread: ten messages admitted at
once share it and all finish at about the time the last one does; admitted a few at a time they finish one after
another, the first ones early, none later. Two, not one: while a message waits for the action server, the next
one computes.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

import beschleunigung
from rasa.core.channels.rest import RestInput

beschleunigung.einsetzen()


def gleichzeitig() -> int:
    wert = os.environ.get("CHATBOT_GLEICHZEITIGE_NACHRICHTEN", "2").strip()
    try:
        n = int(wert)
    except ValueError:
        raise ValueError(f"CHATBOT_GLEICHZEITIGE_NACHRICHTEN must be a whole number, not {wert!r}") from None
    if n < 0:
        raise ValueError("CHATBOT_GLEICHZEITIGE_NACHRICHTEN must be 0 (no limit) or more")
    return n


def begrenzt(on_new_message: Callable[[Any], Awaitable[Any]], n: int) -> Callable[[Any], Awaitable[Any]]:
    """on_new_message, at most n calls at a time (0: unchanged); waiting calls go on in arrival order."""
    if n == 0:
        return on_new_message
    sperre = asyncio.Semaphore(n)  # FIFO: a released slot goes to the longest waiting call

    async def behandeln(nachricht: Any) -> Any:
        async with sperre:
            return await on_new_message(nachricht)

    return behandeln


class RestKanal(RestInput):
    """Rasa's REST channel under its usual name "rest"."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[Any], Awaitable[Any]]) -> Any:
        return super().blueprint(begrenzt(on_new_message, gleichzeitig()))

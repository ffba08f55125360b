"""Tracker store of the Rasa server: conversations kept in memory as tracker objects, bounded in time.

Configured in endpoints.yml (`tracker_store: type: tracker_speicher.ObjektTrackerSpeicher`, cwd chatbot/).
Rasa's own InMemoryTrackerStore keeps every conversation as JSON text: each turn serialises the whole tracker to
JSON on save and replays every event from JSON on retrieve, 12 % of the server's CPU in a 15-turn conversation
(py-spy during bench/chat.py). This store keeps the objects and hands out copies instead: a copy shares the
(immutable) event objects and copies what a turn mutates (the event list, the slots, the active loop, the latest
action), so a turn that fails half-way leaves the stored conversation as it was, as with the JSON store.

What else differs from InMemoryTrackerStore:
- A conversation nobody wrote to for `aufbewahren_minuten` (default 1440 = one day, endpoints.yml) is deleted.
  The bot's state only matters within a session (60 minutes, domain.yml; slots are not carried over), and the
  transcript lives in the servicecenter's database under its own retention; Rasa's store kept everything until
  the server stopped.
- An event broker, if one is configured, still gets every new event (same diff as Rasa's stores).
"""

from __future__ import annotations

import copy
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted
from rasa.shared.core.trackers import DialogueStateTracker, get_trackers_for_conversation_sessions

AUFRAEUMEN_ALLE_SEKUNDEN = 60.0


def kopieren(tracker: DialogueStateTracker) -> DialogueStateTracker:
    """A tracker that can be updated without changing `tracker`. Events are never changed once created (Rasa
    replays them into new trackers all the time), so the copy shares them; slots, the active loop and the latest
    action are changed in place by events and are copied."""
    neu = copy.copy(tracker)
    neu.events = deque(tracker.events, maxlen=tracker.events.maxlen)
    slots = type(tracker.slots)()
    for name, slot in tracker.slots.items():
        slots[name] = copy.copy(slot)
    neu.slots = slots
    if tracker.active_loop is not None:
        neu.active_loop = copy.copy(tracker.active_loop)
    if tracker.latest_action is not None:
        neu.latest_action = dict(tracker.latest_action)
    return neu


def _sitzungen(tracker: DialogueStateTracker) -> int:
    return sum(1 for e in tracker.events
               if type(e) is ActionExecuted and e.action_name == ACTION_SESSION_START_NAME)


class ObjektTrackerSpeicher(TrackerStore):
    """In-memory tracker store that keeps tracker objects (no JSON round trip per turn) and forgets idle
    conversations."""

    def __init__(self, domain: Domain | None = None, event_broker: Any = None, aufbewahren_minuten: float = 1440,
                 uhr: Any = time.monotonic, **kwargs: Any) -> None:
        super().__init__(domain, event_broker, **kwargs)
        self._trackers: dict[str, DialogueStateTracker] = {}
        self._zuletzt: dict[str, float] = {}
        self._aufbewahren_s = float(aufbewahren_minuten) * 60.0
        self._uhr = uhr
        self._aufgeraeumt = uhr()

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        jetzt = self._uhr()
        self._trackers[tracker.sender_id] = kopieren(tracker)
        self._zuletzt[tracker.sender_id] = jetzt
        if jetzt - self._aufgeraeumt >= AUFRAEUMEN_ALLE_SEKUNDEN:
            self.aufraeumen(jetzt)

    def aufraeumen(self, jetzt: float | None = None) -> int:
        """Deletes the conversations idle for longer than the retention; returns how many."""
        jetzt = self._uhr() if jetzt is None else jetzt
        self._aufgeraeumt = jetzt
        alt = [s for s, t in self._zuletzt.items() if jetzt - t > self._aufbewahren_s]
        for s in alt:
            self._trackers.pop(s, None)
            self._zuletzt.pop(s, None)
        return len(alt)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation's last session (as Rasa's stores return it)."""
        t = self._trackers.get(sender_id)
        if t is None:
            return None
        if _sitzungen(t) > 1:
            return get_trackers_for_conversation_sessions(t)[-1]
        return kopieren(t)

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        t = self._trackers.get(sender_id)
        return None if t is None else kopieren(t)

    async def keys(self) -> Iterable[str]:
        return list(self._trackers)

    async def delete(self, sender_id: str) -> None:
        self._trackers.pop(sender_id, None)
        self._zuletzt.pop(sender_id, None)

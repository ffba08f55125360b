"""Helpers for the action tests: a fake conversation state and a respx-mocked servicecenter."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import respx
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

SC = "http://servicecenter.test"
DOMAIN: dict[str, Any] = {
    "forms": {
        "maengel_form": {"required_slots": ["maengel_was", "maengel_wo", "maengel_email", "maengel_einwilligung"]},
        "status_form": {"required_slots": ["ticketnummer", "zugangscode"]},
    },
    "slots": {},
}


@pytest.fixture(autouse=True)
def umgebung(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICECENTER_URL", SC)
    monkeypatch.setenv("SERVICECENTER_PUBLIC_URL", "https://service.halle.test")
    monkeypatch.setenv("SERVICECENTER_CHAT_BOT_TOKEN", "bot-geheim")
    monkeypatch.setenv("SERVICECENTER_BOT_TIMEOUT", "0.5")
    # every test starts without Leistungen remembered by an earlier one
    from actions import servicecenter

    servicecenter.cache_leeren()


@pytest.fixture
def sc(monkeypatch: pytest.MonkeyPatch):
    # respx mocks httpx's own transport; the action server's aiohttp transport has its own tests
    # (test_transport.py). Clients are per event loop and each test runs its own loop.
    from actions import servicecenter

    monkeypatch.setattr(servicecenter, "TRANSPORT", httpx.AsyncHTTPTransport)
    # assert_all_called=False: some tests check that a route is NOT called.
    with respx.mock(base_url=SC, assert_all_called=False, assert_all_mocked=True) as mock:
        yield mock


def tracker(
    text: str = "",
    intent: str = "frage_leistung",
    *,
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    slot_events: dict[str, Any] | None = None,
    sender: str = "konv-4711",
) -> Tracker:
    events = [{"event": "user", "text": text}] + [
        {"event": "slot", "name": k, "value": v} for k, v in (slot_events or {}).items()
    ]
    return Tracker(
        sender_id=sender,
        slots={**(slots or {}), **(slot_events or {})},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []},
        events=events,
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def ausfuehren(action: Any, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Run an action like the action server does; returns (messages, events)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, DOMAIN))
    return dispatcher.messages, events


def texte(nachrichten: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in nachrichten if m.get("text"))


def custom(nachrichten: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["custom"] for m in nachrichten if m.get("custom")]


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def leistung(id_: int = 3, name: str = "Reisepass beantragen", **extra: Any) -> dict[str, Any]:
    daten = {
        "id": id_, "leistungsname": name, "art": "leistung", "teaser": "Ein Pass für Reisen.",
        "kurztext": "Den Reisepass beantragen Sie persönlich im Bürgerservice.",
        "unterlagen": ["Personalausweis", "ein biometrisches Passfoto"],
        "kosten": {"betrag": "70.00", "betrag_bis": None, "text": "70,00 Euro ab 24 Jahren."},
        "bearbeitungsdauer": "etwa 3 bis 4 Wochen", "formulare": [], "onlinedienste": [],
        "termin_moeglich": True, "termin_url": "https://termine.halle.test",
        "zustaendige_stellen": [{"region": "150020000000", "organisationseinheit": {
            "id": 1, "name": "Bürgerservice Stadt Halle (Saale)", "anschrift": "Marktplatz 1, 06108 Halle (Saale)",
            "telefon": "0345 221-0", "email": "buergerservice@halle.test", "web": "https://www.halle.test",
            "oeffnungszeiten": [{"wochentag": 0, "von": "08:00:00", "bis": "12:00:00"},
                                {"wochentag": 1, "von": "13:00:00", "bis": "18:00:00"}],
            "jetzt": {"geoeffnet": False, "schliesst_um": None, "naechste_oeffnung": None,
                      "text": "Geschlossen. Öffnet wieder am Montag um 08:00 Uhr."},
        }}],
    }
    daten.update(extra)
    return daten


def treffer(*eintraege: tuple[int, str, str], art: str = "leistung") -> dict[str, Any]:
    return {"frage": "…", "treffer": [
        {"id": i, "name": n, "leika": None, "art": art, "score": 1.0, "konfidenz": k, "snippet": "", "url": ""}
        for i, n, k in eintraege
    ]}


def antworten_mit(route: Any, antwort: Any) -> Any:
    """The mocked route answers with a response, or raises the given transport error."""
    if isinstance(antwort, Exception):
        return route.mock(side_effect=antwort)
    return route.mock(return_value=antwort)

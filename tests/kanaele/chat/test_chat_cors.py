"""CORS for the embeddable widget: only the citizen chat API, only configured origins, no credentials."""

from __future__ import annotations

import secrets

import httpx
import pytest
import respx

from tests.kanaele.chat.conftest import BOT, RASA

STADT = "https://www.halle.example"


@pytest.fixture
def settings(settings):
    settings.chat_cors_origins = [STADT + "/"]
    return settings


def _preflight(client, pfad: str, origin: str):
    return client.options(pfad, headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                                         "Access-Control-Request-Headers": "content-type"})


def test_preflight_fuer_erlaubte_herkunft(web_client):
    g = secrets.token_urlsafe(24)
    r = _preflight(web_client, f"/api/v1/chat/{g}/nachrichten", STADT)
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == STADT
    assert "POST" in r.headers["access-control-allow-methods"]
    assert "content-type" in r.headers["access-control-allow-headers"].lower()
    assert "access-control-allow-credentials" not in r.headers
    assert r.headers["vary"] == "Origin"


def test_fremde_herkunft_bekommt_keine_cors_freigabe(web_client):
    g = secrets.token_urlsafe(24)
    r = _preflight(web_client, f"/api/v1/chat/{g}/nachrichten", "https://boese.example")
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    assert "access-control-allow-origin" not in web_client.get(
        f"/api/v1/chat/{g}", headers={"Origin": "https://boese.example"}).headers


def test_nachricht_von_der_stadtseite_traegt_die_freigabe(web_client, uhr):
    g = secrets.token_urlsafe(24)
    with respx.mock:
        respx.post(f"{RASA[0]}/webhooks/rest/webhook").mock(return_value=httpx.Response(200, json=[{"text": "Hallo"}]))
        respx.post(f"{RASA[1]}/webhooks/rest/webhook").mock(return_value=httpx.Response(200, json=[{"text": "Hallo"}]))
        r = web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "Hallo"}, headers={"Origin": STADT})
    assert r.status_code == 200 and r.json()["antworten"][0]["text"] == "Hallo"
    assert r.headers["access-control-allow-origin"] == STADT and r.headers["vary"] == "Origin"
    # the security headers stay
    assert r.headers["x-content-type-options"] == "nosniff"


def test_bot_rueckrufe_und_andere_pfade_nie(web_client):
    g = secrets.token_urlsafe(24)
    for pfad in (f"/api/v1/chat/bot/{g}/uebergabe", "/api/v1/leistungen", "/desk/chats"):
        r = _preflight(web_client, pfad, STADT)
        assert "access-control-allow-origin" not in r.headers, pfad
    r = web_client.post(f"/api/v1/chat/bot/{g}/uebergabe", json={"grund": "x"}, headers={"Origin": STADT, **BOT})
    assert "access-control-allow-origin" not in r.headers

"""Chat test fixtures: the servicecenter's login fixtures, chat settings with two Rasa instances and a bot
token, the demo catalogue, and a clock inside the service hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import SecretStr

from tests.servicecenter.conftest import (  # noqa: F401  (fixtures)
    anmelden,
    api_token,
    neuer_benutzer,
    test_passwort,
    uhr,
    web_client,
)

RASA = ["http://rasa-a.test:5005", "http://rasa-b.test:5005"]
BOT_TOKEN = "bot-token-0123456789abcdef"
RASA_TOKEN = "rasa-token-geheim"
BOT = {"Authorization": f"Bearer {BOT_TOKEN}"}
# Monday 2 March 2026, 10:00 in Halle: inside the service hours
IN_SERVICEZEIT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Saturday
AUSSERHALB = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def httpx_transport_fuer_respx(monkeypatch):
    """The calls to Rasa through httpx's own transport, which respx mocks (the servicecenter's own transport,
    kanaele/chat/http11.py, is tested against a real server in test_http11.py and by the integration tests)."""
    import httpx

    from kanaele.chat import api

    monkeypatch.setattr(api, "RASA_TRANSPORT", httpx.AsyncHTTPTransport)
    api._CLIENTS.clear()
    yield
    api._CLIENTS.clear()


@pytest.fixture
def settings(settings):
    settings.chat_rasa_urls = list(RASA)
    settings.chat_bot_token = SecretStr(BOT_TOKEN)
    settings.chat_rasa_token = SecretStr(RASA_TOKEN)
    settings.chat_rasa_timeout_sekunden = 2
    settings.chat_max_zeichen = 200
    settings.chat_max_nachrichten_gespraech = 5
    settings.chat_max_nachrichten_client = 8
    settings.chat_sse_abfrage_sekunden = 0.1
    return settings


@pytest.fixture
def katalog(db_session):
    """Two Leistungen with a responsible Organisationseinheit: a service and a Mängelmeldung category."""
    from wissensdatenbank.models import (
        Leistung,
        LeistungArt,
        LeistungStatus,
        Organisationseinheit,
        Zustaendigkeit,
    )

    buergeramt = Organisationseinheit(name="Bürgerservice")
    tiefbau = Organisationseinheit(name="Tiefbauamt")
    db_session.add_all([buergeramt, tiefbau])
    db_session.flush()
    ausweis = Leistung(leistungsname="Personalausweis beantragen", art=LeistungArt.leistung,
                       status=LeistungStatus.veroeffentlicht, teaser="Den Personalausweis beantragen Sie persönlich.",
                       suchbegriffe=["Ausweis", "Perso"])
    schaden = Leistung(leistungsname="Straßenschaden melden", art=LeistungArt.maengelmeldung,
                       status=LeistungStatus.veroeffentlicht, quelle_id="strassenschaden-melden",
                       teaser="Schlaglöcher und kaputte Gehwege melden.", suchbegriffe=["Schlagloch", "Straße kaputt"])
    db_session.add_all([ausweis, schaden])
    db_session.flush()
    db_session.add_all([
        Zustaendigkeit(leistung_id=ausweis.id, organisationseinheit_id=buergeramt.id, region="150020000000"),
        Zustaendigkeit(leistung_id=schaden.id, organisationseinheit_id=tiefbau.id, region="150020000000"),
    ])
    db_session.commit()
    return {"ausweis": ausweis, "schaden": schaden, "buergeramt": buergeramt, "tiefbau": tiefbau}

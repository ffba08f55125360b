"""Chat API against respx mocks of Rasa: routing by hash, the reply shape with custom payloads, Rasa down,
limits, bot token, hand-off, offline ticket and Mängelmeldung."""

from __future__ import annotations

import logging
import secrets

import httpx
import pytest
import respx
from sqlalchemy import select

from kanaele.chat import service
from kanaele.chat.models import ChatGespraech, ChatNachricht, Eigentuemer, Von
from servicecenter.tickets.models import Kanal, Ticket, TicketArtikel
from tests.kanaele.chat.conftest import AUSSERHALB, BOT, RASA


def neue_id() -> str:
    return secrets.token_urlsafe(24)


def id_fuer(index: int) -> str:
    """A conversation id that the hash routes to RASA[index]."""
    while True:
        g = neue_id()
        if service.rasa_url_waehlen(RASA, g) == RASA[index].rstrip("/"):
            return g


def webhook(url: str) -> str:
    return f"{url}/webhooks/rest/webhook"


@pytest.fixture
def rasa():
    with respx.mock(assert_all_called=False) as m:
        yield m


def test_routing_ist_stabil_und_verteilt():
    ids = [neue_id() for _ in range(200)]
    erste = [service.rasa_url_waehlen(RASA, g) for g in ids]
    assert erste == [service.rasa_url_waehlen(RASA, g) for g in ids]
    assert set(erste) == {u.rstrip("/") for u in RASA}
    assert service.rasa_url_waehlen(RASA[:1], ids[0]) == RASA[0]


def test_neue_gespraeche_gehen_an_die_weniger_belegte_instanz_und_bleiben_dort(web_client, uhr, rasa):
    routen = [rasa.post(webhook(u)).mock(return_value=httpx.Response(200, json=[{"recipient_id": "x", "text": str(i)}]))
              for i, u in enumerate(RASA)]
    ids = [id_fuer(0) for _ in range(4)]  # the hash alone would put all four on the first instance
    antworten = {}
    for g in ids:
        antworten[g] = web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "Hallo"}).json()["antworten"]
    assert sorted(r.call_count for r in routen) == [2, 2]
    for g in ids:  # later messages stay on the instance the first one went to
        assert web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "noch was"}).json()["antworten"] == \
            antworten[g]
    assert sorted(r.call_count for r in routen) == [4, 4]


def test_nachricht_geht_immer_an_dieselbe_instanz(web_client, uhr, rasa):
    a = rasa.post(webhook(RASA[0])).mock(return_value=httpx.Response(200, json=[{"recipient_id": "x", "text": "A"}]))
    b = rasa.post(webhook(RASA[1])).mock(return_value=httpx.Response(200, json=[{"recipient_id": "x", "text": "B"}]))
    g0, g1 = id_fuer(0), id_fuer(1)
    for _ in range(3):
        assert web_client.post(f"/api/v1/chat/{g0}/nachrichten", json={"text": "Hallo"}).json()["antworten"][0][
            "text"] == "A"
        assert web_client.post(f"/api/v1/chat/{g1}/nachrichten", json={"text": "Hallo"}).json()["antworten"][0][
            "text"] == "B"
    assert a.call_count == 3 and b.call_count == 3


def test_antwort_form_custom_payload_und_verlauf(web_client, uhr, rasa, katalog):
    g = id_fuer(0)
    ausweis = katalog["ausweis"]
    route = rasa.post(webhook(RASA[0])).mock(return_value=httpx.Response(200, json=[
        {"recipient_id": g, "text": "Für den Personalausweis brauchen Sie ein Foto. Quelle: https://halle.de/x"},
        {"recipient_id": g, "custom": {"leistung": {"id": ausweis.id, "name": "Personalausweis beantragen"}}},
        {"recipient_id": g, "text": "Möchten Sie mehr wissen?",
         "buttons": [{"title": "Kosten", "payload": "/kosten"}, {"title": "kaputt"}]},
    ]))
    r = web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "  Was brauche ich für den Perso?  "})
    assert r.status_code == 200
    assert r.json() == {
        "antworten": [
            {"text": "Für den Personalausweis brauchen Sie ein Foto. Quelle: https://halle.de/x", "buttons": []},
            {"text": "Möchten Sie mehr wissen?", "buttons": [{"title": "Kosten", "payload": "/kosten"}]},
        ],
        "leistung": {"id": ausweis.id, "name": "Personalausweis beantragen"},
        "eigentuemer": "bot",
    }
    # Only the id and the text go to Rasa.
    import json
    assert json.loads(route.calls[0].request.content) == {"sender": g, "message": "Was brauche ich für den Perso?"}

    verlauf = web_client.get(f"/api/v1/chat/{g}").json()
    assert [(n["von"], n["text"][:10]) for n in verlauf["nachrichten"]] == [
        ("buerger", "Was brauch"), ("bot", "Für den Pe"), ("bot", "Möchten Si")]
    assert verlauf["eigentuemer"] == "bot" and verlauf["leistung"]["id"] == ausweis.id
    assert web_client.get(f"/api/v1/chat/{neue_id()}").status_code == 404


def test_unbekannte_leistung_im_payload_wird_ignoriert(web_client, uhr, rasa):
    g = id_fuer(0)
    rasa.post(webhook(RASA[0])).mock(return_value=httpx.Response(200, json=[
        {"text": "Hm."}, {"custom": {"leistung": {"id": "12", "name": "x"}}}]))
    assert web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "x"}).json()["leistung"] is None


@pytest.mark.parametrize("fehler", [httpx.ConnectError("weg"), httpx.ReadTimeout("langsam"),
                                    httpx.Response(500, text="kaputt"), httpx.Response(200, text="kein json")])
def test_rasa_nicht_erreichbar(web_client, uhr, rasa, fehler, db_session):
    g = id_fuer(1)
    route = rasa.post(webhook(RASA[1]))
    if isinstance(fehler, Exception):
        route.mock(side_effect=fehler)
    else:
        route.mock(return_value=fehler)
    r = web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "Wo beantrage ich Wohngeld?"})
    assert r.status_code == 200
    d = r.json()
    assert d["eigentuemer"] == "bot" and d["leistung"] is None
    assert "115" in d["antworten"][0]["text"] and "Ticket" in d["antworten"][0]["text"]
    assert d["antworten"][0]["buttons"] == [service.BUTTON_TICKET]
    verlauf = web_client.get(f"/api/v1/chat/{g}").json()
    assert verlauf["nachrichten"][0] == {**verlauf["nachrichten"][0], "von": "buerger",
                                         "text": "Wo beantrage ich Wohngeld?"}
    assert verlauf["ticketformular"] is True


def test_eingaben_werden_geprueft(web_client, uhr, rasa):
    rasa.post(url__regex=r".*/webhooks/rest/webhook").mock(return_value=httpx.Response(200, json=[]))
    g = neue_id()
    assert web_client.post("/api/v1/chat/kurz/nachrichten", json={"text": "x"}).status_code == 422
    assert web_client.post(f"/api/v1/chat/{'a' * 65}/nachrichten", json={"text": "x"}).status_code == 422
    assert web_client.post(f"/api/v1/chat/{g[:15]}%21{g[:10]}/nachrichten", json={"text": "x"}).status_code == 422
    r = web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "   "})
    assert r.status_code == 422 and "Nachricht" in r.json()["detail"]
    r = web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "x" * 201})
    assert r.status_code == 422 and "200 Zeichen" in r.json()["detail"]
    assert web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "x" * 200}).status_code == 200
    assert web_client.post(f"/api/v1/chat/{g}/nachrichten", json={}).status_code == 422


def test_grenze_pro_gespraech_und_pro_client(web_client, uhr, rasa):
    rasa.post(url__regex=r".*/webhooks/rest/webhook").mock(return_value=httpx.Response(200, json=[{"text": "ok"}]))
    g = neue_id()
    for _ in range(5):
        assert web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "Hallo"}).status_code == 200
    r = web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "Hallo"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    # The same client with new conversations: the per-client limit (8 in the window) strikes next.
    codes = [web_client.post(f"/api/v1/chat/{neue_id()}/nachrichten", json={"text": "Hallo"}).status_code
             for _ in range(4)]
    assert codes == [200, 200, 429, 429]


def test_logs_ohne_nachrichtentext(web_client, uhr, rasa, caplog):
    rasa.post(url__regex=r".*/webhooks/rest/webhook").mock(side_effect=httpx.ConnectError("weg"))
    g = neue_id()
    with caplog.at_level(logging.DEBUG):
        web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "Mein Name ist Erika Geheimname"})
    alles = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records
                      if r.name.startswith(("kanaele", "servicecenter")))
    assert "chat_nachricht" in alles and "rasa_fehler" in alles
    assert "Geheimname" not in alles and g not in alles
    assert "/api/v1/chat/***/nachrichten" in alles


# --- bot endpoints ---------------------------------------------------------------------------------------------


def test_bot_token(web_client, uhr, app):
    g = neue_id()
    url = f"/api/v1/chat/bot/{g}/uebergabe"
    assert web_client.post(url, json={"grund": "x"}).status_code == 401
    assert web_client.post(url, json={"grund": "x"}, headers={"Authorization": "Bearer falsch"}).status_code == 401
    assert web_client.post(url, json={"grund": "x"}, headers={"Authorization": BOT["Authorization"][7:]}
                           ).status_code == 401
    assert web_client.post(url, json={"grund": "x"}, headers=BOT).status_code == 200
    app.state.settings.chat_bot_token = type(app.state.settings.chat_bot_token)("")
    assert web_client.post(url, json={"grund": "x"}, headers=BOT).status_code == 503
    assert web_client.post(f"/api/v1/chat/bot/{g}/maengel", json={"was": "a", "wo": "b"},
                           headers=BOT).status_code == 503


def test_uebergabe_in_servicezeit_mit_agent_online(web_client, uhr, anmelden, katalog, db_session):
    g = neue_id()
    agent = anmelden("agent")
    assert agent.client.get("/desk/chats").status_code == 200  # the open queue page marks the agent online
    r = agent.client.post(f"/api/v1/chat/bot/{g}/uebergabe", json={
        "grund": "Bürger möchte einen Menschen", "leistung_id": katalog["ausweis"].id}, headers=BOT)
    assert r.status_code == 200
    assert r.json() == {"ergebnis": "warteschlange", "text": service.TEXT_WARTESCHLANGE}
    gespraech = db_session.get(ChatGespraech, g)
    db_session.refresh(gespraech)
    assert gespraech.eigentuemer == Eigentuemer.warteschlange and gespraech.leistung_id == katalog["ausweis"].id
    seite = agent.client.get("/desk/chats/liste").text
    assert "Personalausweis beantragen" in seite and "Bürger möchte einen Menschen" in seite


def test_uebergabe_ohne_agent_oder_ausserhalb_bietet_ticket(web_client, uhr, anmelden, app, db_session):
    g = neue_id()
    r = web_client.post(f"/api/v1/chat/bot/{g}/uebergabe", json={"grund": "x"}, headers=BOT)
    assert r.json()["ergebnis"] == "ausserhalb" and "24 Stunden" in r.json()["text"]
    agent = anmelden("agent")
    agent.client.get("/desk/chats")
    uhr.vor(seconds=app.state.settings.chat_agent_online_sekunden + 1)  # the page was closed: no longer online
    assert web_client.post(f"/api/v1/chat/bot/{g}/uebergabe", json={}, headers=BOT).json()["ergebnis"] == "ausserhalb"
    agent.client.get("/desk/chats")
    assert web_client.post(f"/api/v1/chat/bot/{neue_id()}/uebergabe", json={}, headers=BOT).json()[
        "ergebnis"] == "warteschlange"
    uhr.jetzt = AUSSERHALB  # Saturday: agent online, but outside the service hours
    agent = anmelden("agent", benutzer=agent.benutzer)  # the old web session has expired meanwhile
    assert agent.client.get("/desk/chats").status_code == 200
    assert web_client.post(f"/api/v1/chat/bot/{neue_id()}/uebergabe", json={}, headers=BOT).json()[
        "ergebnis"] == "ausserhalb"
    app.state.settings.chat_servicezeiten_pruefen = False
    assert web_client.post(f"/api/v1/chat/bot/{neue_id()}/uebergabe", json={}, headers=BOT).json()[
        "ergebnis"] == "warteschlange"
    gespraech = db_session.get(ChatGespraech, g)
    db_session.refresh(gespraech)
    assert gespraech.eigentuemer == Eigentuemer.bot and gespraech.ticket_angeboten


def test_buerger_will_mensch_und_bot_schweigt_danach(web_client, uhr, anmelden, rasa):
    route = rasa.post(url__regex=r".*/webhooks/rest/webhook").mock(return_value=httpx.Response(200, json=[
        {"text": "Hallo"}]))
    agent = anmelden("agent")
    agent.client.get("/desk/chats")
    g = neue_id()
    web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "Hallo"})
    r = web_client.post(f"/api/v1/chat/{g}/uebergabe")
    assert r.json()["ergebnis"] == "warteschlange"
    r = web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "Ich warte"})
    assert r.json() == {"antworten": [], "leistung": None, "eigentuemer": "mensch"}
    assert route.call_count == 1  # the waiting conversation is not sent to the bot
    assert "Ich warte" in agent.client.get("/desk/chats/liste").text


def test_uebergabe_waehrend_des_bot_zugs(web_client, uhr, anmelden, rasa, session_factory):
    """The bot's hand-off action calls back during the turn: the answer reports the new owner."""
    agent = anmelden("agent")
    agent.client.get("/desk/chats")
    g = neue_id()

    def bot_uebergibt(request):
        s = session_factory()  # what the call-back does, in its own transaction while the turn waits
        try:
            gespraech = service.gespraech_laden(s, g)
            assert gespraech is not None  # the citizen's message was committed before Rasa was asked
            service.uebergeben(s, gespraech, grund="Bot", leistung_id=None, servicezeiten=None, online_sekunden=60,
                               jetzt=uhr())
            s.commit()
        finally:
            s.close()
        return httpx.Response(200, json=[{"text": service.TEXT_WARTESCHLANGE}])

    rasa.post(url__regex=r".*/webhooks/rest/webhook").mock(side_effect=bot_uebergibt)
    r = web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "Ich will einen Menschen"})
    assert r.json()["eigentuemer"] == "mensch"
    assert r.json()["antworten"][0]["text"] == service.TEXT_WARTESCHLANGE


# --- tickets -------------------------------------------------------------------------------------------------------


def test_offline_ticket_mit_24_stunden_und_statuslink(web_client, uhr, rasa, db_session, app):
    rasa.post(url__regex=r".*/webhooks/rest/webhook").mock(return_value=httpx.Response(200, json=[{"text": "?"}]))
    uhr.jetzt = AUSSERHALB
    app.state.chat_begrenzer_gespraech.max_versuche = 50  # failed attempts count too; not the subject here
    g = neue_id()
    web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "Mein Müll wurde nicht abgeholt"})
    assert web_client.post(f"/api/v1/chat/{g}/uebergabe").json()["ergebnis"] == "ausserhalb"
    ohne = web_client.post(f"/api/v1/chat/{g}/ticket", json={"text": "Müll", "email": "erika@example.org"})
    assert ohne.status_code == 422 and "Einwilligung" in ohne.json()["detail"]
    falsch = web_client.post(f"/api/v1/chat/{g}/ticket", json={"text": "Müll", "email": "kein-at",
                                                                "einwilligung": True})
    assert falsch.status_code == 422
    r = web_client.post(f"/api/v1/chat/{g}/ticket", json={
        "text": "Die Tonne wurde nicht geleert.", "email": "erika@example.org", "einwilligung": True})
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["status_url"].endswith(f"/status?nummer={d['nummer']}") and "24 Stunden" in d["text"]
    ticket = db_session.scalar(select(Ticket).where(Ticket.nummer == d["nummer"]))
    assert ticket.kanal == Kanal.chat and ticket.kontakt_email == "erika@example.org" and ticket.einwilligung
    # Saturday 10:00 → the 24 service hours run Mon 8–18, Tue 8–18, Wed 8–12.
    assert ticket.faellig_am.astimezone(service.sla.Servicezeiten().tz).strftime("%a %H:%M") == "Wed 12:00"
    artikel = db_session.scalars(select(TicketArtikel).where(TicketArtikel.ticket_id == ticket.id)).all()
    assert any("Mein Müll wurde nicht abgeholt" in a.text for a in artikel)
    status = web_client.get(f"/api/v1/status/{d['nummer']}", params={"code": d["zugangscode"]})
    assert status.status_code == 200
    zweimal = web_client.post(f"/api/v1/chat/{g}/ticket", json={"text": "nochmal"})
    assert zweimal.status_code == 409


def test_maengel_vom_bot(web_client, uhr, db_session, katalog, app):
    app.state.wissensdatenbank.synchronisieren(sofort=True)
    g = neue_id()
    r = web_client.post(f"/api/v1/chat/bot/{g}/maengel", json={
        "was": "Schlagloch auf der Straße", "wo": "Marktplatz 1", "email": None, "einwilligung": False}, headers=BOT)
    assert r.status_code == 201, r.text
    d = r.json()
    ticket = db_session.scalar(select(Ticket).where(Ticket.nummer == d["nummer"]))
    assert ticket.kanal == Kanal.chat and ticket.leistung_id == katalog["schaden"].id
    assert ticket.queue_id == katalog["tiefbau"].id and "Marktplatz 1" in ticket.anliegen
    assert d["status_url"].endswith(d["nummer"]) and d["zugangscode"]
    assert web_client.post(f"/api/v1/chat/bot/{g}/maengel", json={"was": "", "wo": "x"}, headers=BOT
                           ).status_code == 422
    assert web_client.post(f"/api/v1/chat/bot/{g}/maengel", json={"was": "a", "wo": "x", "email": "a@b.de"},
                           headers=BOT).status_code == 422  # e-mail without consent
    assert web_client.post(f"/api/v1/chat/bot/{g}/maengel", json={"was": "a", "wo": "x"}).status_code == 401


def test_nachrichten_im_verlauf_sind_geordnet(db_session, uhr):
    g = service.gespraech_holen_oder_anlegen(db_session, neue_id(), rasa_urls=RASA, jetzt=uhr())
    for i in range(3):
        service.nachricht_speichern(db_session, g, von=Von.buerger, text=str(i), jetzt=uhr())
    db_session.flush()
    assert [n.text for n in service.verlauf(db_session, g.id)] == ["0", "1", "2"]
    assert db_session.scalar(select(ChatNachricht.id).where(ChatNachricht.gespraech_id == g.id).limit(1))
    # the same id again: the existing conversation, not a second one
    assert service.gespraech_holen_oder_anlegen(db_session, g.id, rasa_urls=RASA, jetzt=uhr()) is g


def test_ohne_cors_einstellung_keine_cors_header(web_client):
    """Default: the widget runs on the servicecenter's own origin; other sites get no CORS permission."""
    r = web_client.options(f"/api/v1/chat/{neue_id()}/nachrichten",
                           headers={"Origin": "https://www.halle.example", "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in r.headers

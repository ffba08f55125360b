"""CTI over HTTP: token check, form events, screen-pop stream (hub and end to end), call log, roles."""

import asyncio
import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from servicecenter.auth.deps import COOKIE_NAME
from servicecenter.auth.models import Rolle
from servicecenter.cti.hub import AnrufHub, sse
from servicecenter.cti.models import Anruf, AnrufZustand
from servicecenter.settings import Settings
from servicecenter.tickets import service as ts
from servicecenter.tickets.models import Kanal, Ticket

TOKEN = "cti-geheimnis-0815"
URL = f"/api/v1/cti/{TOKEN}"



@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, db_auto_upgrade=False, cti_token=TOKEN, _env_file=None)


def anrufe(db_session, call_id=None):
    q = select(func.count()).select_from(Anruf)
    if call_id:
        q = q.where(Anruf.call_id == call_id)
    return db_session.scalar(q)


def new_call(call_id="a1", von="0345/221-0", **kw):
    return {"event": "newCall", "from": von, "to": "115", "direction": "in", "callId": call_id,
            "user[]": ["agent1"], "queue": "115", **kw}


# --- token and events -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["falsch", TOKEN + "x", TOKEN[:-1], " "])
def test_falscher_token_401_und_nichts_gespeichert(web_client, db_session, token):
    vorher = anrufe(db_session)
    r = web_client.post(f"/api/v1/cti/{token}", data=new_call("t401"))
    assert r.status_code == 401 and "ungültig" in r.json()["detail"]
    assert anrufe(db_session) == vorher and anrufe(db_session, "t401") == 0


def test_ohne_eingestellten_token_ist_cti_aus(app, web_client, db_session):
    app.state.settings.cti_token = ""
    assert web_client.post("/api/v1/cti/", data=new_call("leer")).status_code in (401, 404, 405)
    assert web_client.post("/api/v1/cti/x", data=new_call("leer")).status_code == 401
    assert anrufe(db_session, "leer") == 0


def test_ereignisfolge_ueber_http(web_client, db_session, uhr):
    r = web_client.post(URL, data=new_call("h1"))
    assert r.status_code == 200 and r.json() == {}
    assert web_client.post(URL, data=new_call("h1")).json() == {}  # repeated newCall: ignored
    uhr.vor(seconds=12)
    assert web_client.post(URL, data={"event": "answer", "callId": "h1", "user[]": "agent1",
                                      "from": "0345/221-0", "to": "115", "direction": "in"}).status_code == 200
    uhr.vor(minutes=2)
    assert web_client.post(URL, data={"event": "hangup", "callId": "h1", "cause": "normalClearing",
                                      "from": "0345/221-0", "to": "115", "direction": "in"}).status_code == 200
    a = db_session.scalars(select(Anruf).where(Anruf.call_id == "h1")).one()
    db_session.refresh(a)
    assert anrufe(db_session, "h1") == 1
    assert a.zustand == AnrufZustand.beendet and a.von_e164 == "+493452210" and a.ursache == "normalClearing"
    assert a.angenommen_am - a.beginn == timedelta(seconds=12)


@pytest.mark.parametrize("daten, text", [
    ({"event": "klingeln", "callId": "u1", "direction": "in"}, "Unbekanntes Ereignis"),
    ({"event": "newCall", "direction": "in"}, "callId"),
    ({"event": "newCall", "callId": "u2"}, "direction"),
])
def test_unbrauchbare_ereignisse_422(web_client, db_session, daten, text):
    r = web_client.post(URL, data=daten)
    assert r.status_code == 422 and text in r.json()["detail"]
    assert anrufe(db_session, daten.get("callId", "-")) == 0


def test_anruf_lesen_api(web_client, api_token, uhr):
    web_client.post(URL, data=new_call("api1"))
    uhr.vor(seconds=7)
    web_client.post(URL, data={"event": "answer", "callId": "api1"})
    uhr.vor(seconds=60)
    zugang = api_token(Rolle.agent)
    r = web_client.get("/api/v1/anrufe/api1", headers=zugang.headers)
    assert r.status_code == 200
    d = r.json()
    assert d["zustand"] == "angenommen" and d["wartezeit_sekunden"] == 7 and d["dauer_sekunden"] == 60
    assert d["im_servicelevel"] is True and d["nummer_e164"] == "+493452210"
    assert web_client.get("/api/v1/anrufe/nein", headers=zugang.headers).status_code == 404
    assert web_client.get("/api/v1/anrufe/api1").status_code == 401


# --- hub --------------------------------------------------------------------------------------------------------


def test_hub_liefert_an_abonnenten_und_nach_agentennamen():
    async def ablauf():
        hub = AnrufHub()
        async with hub.abonnieren("agent1", "Anna Agentin") as a1, hub.abonnieren("agent2") as a2:
            assert len(hub) == 2
            assert hub.veroeffentlichen({"typ": "anruf", "call_id": "x", "agenten": []}) == 2
            assert (await asyncio.wait_for(a1.queue.get(), 1))["call_id"] == "x"
            assert (await asyncio.wait_for(a2.queue.get(), 1))["call_id"] == "x"
            # The PBX named one agent: only that one gets it (case-insensitive; display name works too).
            assert hub.veroeffentlichen({"typ": "anruf", "call_id": "y", "agenten": ["ANNA AGENTIN"]}) == 1
            assert (await asyncio.wait_for(a1.queue.get(), 1))["call_id"] == "y"
            assert a2.queue.empty()
        assert len(hub) == 0
        assert hub.veroeffentlichen({"typ": "anruf", "call_id": "z"}) == 0

    asyncio.run(ablauf())


def test_hub_blockiert_nie_bei_vollem_puffer():
    async def ablauf():
        hub = AnrufHub()
        async with hub.abonnieren("a") as a:
            for i in range(150):
                hub.veroeffentlichen({"call_id": str(i)})
            assert a.queue.qsize() == 100 and a.verworfen == 50

    asyncio.run(ablauf())


def test_sse_format():
    text = sse({"call_id": "a\nb", "nummer": "+49 345 2210"}).decode()
    assert text.startswith("event: anruf\ndata: ") and text.endswith("\n\n") and text.count("\n") == 3
    assert json.loads(text.split("data: ", 1)[1])["call_id"] == "a\nb"


# --- end to end: the stream delivers a newCall to a logged-in agent ----------------------------------------------


def _scope(pfad: str, sitzung: str) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": "GET", "scheme": "https", "path": pfad, "raw_path": pfad.encode(), "root_path": "",
        "query_string": b"", "client": ("127.0.0.1", 40000), "server": ("testserver", 443), "state": {},
        "headers": [(b"host", b"testserver"), (b"accept", b"text/event-stream"),
                    (b"cookie", f"{COOKIE_NAME}={sitzung}".encode())],
    }


def test_stream_liefert_newcall_mit_treffern(app, anmelden, db_session):
    """Reads the real ASGI response of GET /desk/anrufe/stream (TestClient would wait for the endless body)
    while the PBX posts a newCall through an httpx ASGI client on the same event loop."""
    agent = anmelden(Rolle.agent)
    ticket = ts.ticket_anlegen(db_session, anliegen="Ausweis verloren", kanal=Kanal.telefon, benutzer=None,
                               einstellungen=ts.TicketEinstellungen(),
                               buerger=ts.BuergerDaten(telefon="+49 345 2210", einwilligung=True))
    db_session.commit()

    async def ablauf() -> tuple[dict, bytes]:
        nachrichten: asyncio.Queue = asyncio.Queue()
        trennen = asyncio.Event()

        async def receive():
            await trennen.wait()
            return {"type": "http.disconnect"}

        async def send(m):
            await nachrichten.put(m)

        lauf = asyncio.create_task(app(_scope("/desk/anrufe/stream", agent.sitzung_id), receive, send))
        start = await asyncio.wait_for(nachrichten.get(), 5)
        async with asyncio.timeout(5):
            while len(app.state.anruf_hub) == 0:
                await asyncio.sleep(0.01)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as c:
            r = await c.post(URL, data=new_call("sse1", von="0345 2210", **{"user[]": [agent.benutzer.name]}))
            assert r.status_code == 200
        body = b""
        async with asyncio.timeout(5):
            while b"event: anruf" not in body or not body.endswith(b"\n\n"):
                m = await nachrichten.get()
                body += m.get("body", b"")
        trennen.set()
        await asyncio.wait_for(lauf, 5)
        return start, body

    start, body = asyncio.run(ablauf())
    assert start["status"] == 200
    assert (b"content-type", b"text/event-stream; charset=utf-8") in start["headers"]
    daten = json.loads(body.split(b"data: ", 1)[1].split(b"\n", 1)[0])
    assert daten["ereignis"] == "newCall" and daten["call_id"] == "sse1" and daten["zustand"] == "klingelt"
    assert daten["nummer"] == "+49 345 2210"
    assert [t["ticket_nummer"] for t in daten["offene_tickets"]] == [ticket.nummer]
    assert len(app.state.anruf_hub) == 0  # unsubscribed on disconnect


def test_stream_nur_fuer_angemeldete(web_client, anmelden):
    assert web_client.get("/desk/anrufe/stream", headers={"accept": "text/event-stream"}).status_code == 401
    anmelden(Rolle.redaktion)
    assert web_client.get("/desk/anrufe/stream", headers={"accept": "text/event-stream"}).status_code == 403


# --- call log page and call-back --------------------------------------------------------------------------------


def test_anrufliste_und_zurueckrufen(web_client, anmelden, db_session, uhr):
    agent = anmelden(Rolle.agent)
    web_client.post(URL, data=new_call("m1", von="0345/221-0"))
    uhr.vor(seconds=40)
    web_client.post(URL, data={"event": "hangup", "callId": "m1", "cause": "cancel"})
    seite = web_client.get("/desk/anrufe?nur=verpasst")
    assert seite.status_code == 200
    assert "+49 345 2210" in seite.text and "verpasst" in seite.text and "Zurückrufen" in seite.text
    anruf = db_session.scalars(select(Anruf).where(Anruf.call_id == "m1")).one()

    # Without the CSRF token: 403 and no ticket.
    tickets_vorher = db_session.scalar(select(func.count()).select_from(Ticket))
    r = web_client.post(f"/desk/anrufe/{anruf.id}/zurueckrufen", data={"notiz": "x"}, follow_redirects=False)
    assert r.status_code == 403
    assert db_session.scalar(select(func.count()).select_from(Ticket)) == tickets_vorher

    r = agent.post(f"/desk/anrufe/{anruf.id}/zurueckrufen", {"notiz": "Bitte nachmittags"}, follow_redirects=False)
    assert r.status_code == 303
    db_session.refresh(anruf)
    t = db_session.get(Ticket, anruf.rueckruf_ticket_id)
    assert t is not None and "Bitte nachmittags" in t.anliegen and t.nummer in r.headers["location"]
    folge = web_client.get(r.headers["location"])
    assert f"Rückruf-Ticket {t.nummer}" in folge.text


def test_anrufliste_rollen(web_client, anmelden):
    anmelden(Rolle.redaktion)
    assert web_client.get("/desk/anrufe").status_code == 403
    anmelden(Rolle.teamleitung)
    assert web_client.get("/desk/anrufe").status_code == 200


def test_daten_in_der_anrufliste_sind_inert(web_client, anmelden):
    anmelden(Rolle.agent)
    web_client.post(URL, data=new_call("x1", von="<script>alert(1)</script>", queue="<b>q</b>"))
    seite = web_client.get("/desk/anrufe")
    assert "<script>alert(1)</script>" not in seite.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in seite.text

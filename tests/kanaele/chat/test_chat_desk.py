"""Desk chat queue: take over (single owner, also under concurrency), reply, hand back to the bot (Rasa tracker
events), convert to a ticket; login, CSRF and escaping."""

from __future__ import annotations

import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import httpx
import pytest
import respx
from sqlalchemy import delete, select

from kanaele.chat import service
from kanaele.chat.models import ChatGespraech, ChatNachricht, Eigentuemer, Von
from servicecenter.db import make_sessionmaker, session_scope
from servicecenter.tickets.models import ArtikelArt, Kanal, Ticket, TicketArtikel
from tests.kanaele.chat.conftest import BOT, RASA, RASA_TOKEN


def neue_id() -> str:
    return secrets.token_urlsafe(24)


@pytest.fixture
def wartend(web_client, uhr, anmelden, katalog):
    """A conversation in the chat queue (citizen message with HTML in it, Leistung found) and an online agent."""
    agent = anmelden("agent")
    agent.client.get("/desk/chats")
    g = neue_id()
    with respx.mock:
        respx.post(url__regex=r".*/webhooks/rest/webhook").mock(return_value=httpx.Response(200, json=[
            {"text": "Dazu weiß ich etwas."}, {"custom": {"leistung": {"id": katalog["ausweis"].id, "name": "x"}}}]))
        web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "<script>alert(1)</script> Perso?"})
    assert web_client.post(f"/api/v1/chat/bot/{g}/uebergabe", json={"grund": "Rückfrage"}, headers=BOT).json()[
        "ergebnis"] == "warteschlange"
    return g, agent


def test_desk_braucht_anmeldung_und_rolle(web_client, anmelden, uhr):
    r = web_client.get("/desk/chats", follow_redirects=False, headers={"Accept": "text/html"})
    assert r.status_code == 303 and r.headers["location"].startswith("/anmelden")
    redaktion = anmelden("redaktion")
    assert redaktion.client.get("/desk/chats").status_code == 403


def test_warteschlange_zeigt_verlauf_escaped_und_leistung(wartend):
    g, agent = wartend
    seite = agent.client.get("/desk/chats").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Perso?" in seite and "<script>alert(1)" not in seite
    assert "Personalausweis beantragen" in seite and 'href="/desk/chats"' in seite  # nav link
    assert f'action="/desk/chats/{g}/uebernehmen"' in seite


def test_uebernehmen_ohne_csrf_wird_abgelehnt(wartend):
    g, agent = wartend
    assert agent.client.post(f"/desk/chats/{g}/uebernehmen").status_code == 403


def test_uebernehmen_antworten_zweiter_agent_bekommt_klare_meldung(wartend, anmelden, web_client, db_session):
    g, agent = wartend
    r = agent.post(f"/desk/chats/{g}/uebernehmen", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/desk/chats/{g}"
    zweite = anmelden("agent", eigener_client=True)
    r = zweite.post(f"/desk/chats/{g}/uebernehmen")
    assert r.status_code == 409 and "bereits eine Kollegin oder ein Kollege übernommen" in r.text
    # the second agent can neither read nor answer it
    r = zweite.post(f"/desk/chats/{g}/antworten", {"text": "Ich auch"})
    assert "gehört nicht Ihnen" in r.text and "Ich auch" not in web_client.get(f"/api/v1/chat/{g}").text
    seite = agent.client.get(f"/desk/chats/{g}").text
    assert "Ihre Antwort an die Bürgerin oder den Bürger" in seite
    r = agent.post(f"/desk/chats/{g}/antworten", {"text": "Guten Tag, ich helfe Ihnen gern."}, follow_redirects=False)
    assert r.status_code == 303
    verlauf = web_client.get(f"/api/v1/chat/{g}").json()
    assert verlauf["eigentuemer"] == "mensch"
    assert [n["von"] for n in verlauf["nachrichten"]][-2:] == ["system", "agent"]
    assert verlauf["nachrichten"][-1]["text"] == "Guten Tag, ich helfe Ihnen gern."
    assert agent.post(f"/desk/chats/{g}/antworten", {"text": "  "}).status_code == 422


def test_stream_liefert_agenten_und_systemnachrichten(app, wartend, db_session):
    from kanaele.chat.api import _stream_lesen

    g, agent = wartend
    agent.post(f"/desk/chats/{g}/uebernehmen")
    agent.post(f"/desk/chats/{g}/antworten", {"text": "Hallo von Mensch"})
    neu, zustand = _stream_lesen(app, g, 0)
    assert [n["von"] for n in neu] == ["system", "agent"] and neu[-1]["text"] == "Hallo von Mensch"
    assert zustand == {"eigentuemer": "mensch", "ticketformular": False, "ticket": False}
    assert _stream_lesen(app, g, neu[-1]["id"])[0] == []


def test_an_bot_zurueckgeben(wartend, web_client):
    g, agent = wartend
    agent.post(f"/desk/chats/{g}/uebernehmen")
    url = service.rasa_url_waehlen(RASA, g)
    with respx.mock:
        events = respx.post(f"{url}/conversations/{g}/tracker/events").mock(return_value=httpx.Response(200, json={}))
        hook = respx.post(f"{url}/webhooks/rest/webhook").mock(return_value=httpx.Response(200, json=[{"text": "Bot"}]))
        r = agent.post(f"/desk/chats/{g}/zurueckgeben", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/desk/chats"
        assert events.call_count == 1
        anfrage = events.calls[0].request
        assert anfrage.url.params["token"] == RASA_TOKEN
        assert json.loads(anfrage.content) == [{"event": "resume"}, {"event": "action", "name": "action_listen"}]
        antwort = web_client.post(f"/api/v1/chat/{g}/nachrichten", json={"text": "Noch eine Frage"}).json()
        assert antwort["eigentuemer"] == "bot" and antwort["antworten"][0]["text"] == "Bot" and hook.call_count == 1
    assert service.TEXT_ZURUECK_AN_BOT in [n["text"] for n in web_client.get(f"/api/v1/chat/{g}").json()[
        "nachrichten"]]


def test_zurueckgeben_bei_rasa_fehler_bleibt_der_chat_beim_agenten(wartend, web_client):
    g, agent = wartend
    agent.post(f"/desk/chats/{g}/uebernehmen")
    with respx.mock:
        respx.post(url__regex=r".*/tracker/events").mock(side_effect=httpx.ConnectError("weg"))
        r = agent.post(f"/desk/chats/{g}/zurueckgeben")
    assert r.status_code == 200 and "nicht erreichbar" in r.text
    assert web_client.get(f"/api/v1/chat/{g}").json()["eigentuemer"] == "mensch"


def _uebernehmen_antworten_und_ticket(agent, g: str):
    """The agent takes the chat, answers once and converts it to a ticket (Rasa's tracker call mocked)."""
    agent.post(f"/desk/chats/{g}/uebernehmen")
    agent.post(f"/desk/chats/{g}/antworten", {"text": "Bitte bringen Sie ein Foto mit."})
    with respx.mock:
        respx.post(url__regex=r".*/tracker/events").mock(return_value=httpx.Response(200, json={}))
        return agent.post(f"/desk/chats/{g}/ticket", {"anliegen": "Frage zum Personalausweis"}, follow_redirects=False)


def test_in_ticket_umwandeln(wartend, web_client, db_session, katalog):
    g, agent = wartend
    r = _uebernehmen_antworten_und_ticket(agent, g)
    assert r.status_code == 303 and r.headers["location"].startswith("/desk/tickets/115-")
    nummer = r.headers["location"].rsplit("/", 1)[1]
    ticket = db_session.scalar(select(Ticket).where(Ticket.nummer == nummer))
    assert ticket.kanal == Kanal.chat and ticket.anliegen == "Frage zum Personalausweis"
    assert ticket.leistung_id == katalog["ausweis"].id and ticket.assignee_id == agent.benutzer.id
    artikel = db_session.scalars(select(TicketArtikel).where(TicketArtikel.ticket_id == ticket.id)).all()
    assert len(artikel) == 1 and artikel[0].art == ArtikelArt.notiz
    assert "Bitte bringen Sie ein Foto mit." in artikel[0].text and "<script>alert(1)</script>" in artikel[0].text
    assert agent.client.get(r.headers["location"]).status_code == 200
    verlauf = web_client.get(f"/api/v1/chat/{g}").json()
    assert verlauf["eigentuemer"] == "bot" and verlauf["ticket"] is True
    assert any(nummer in n["text"] and "Zugangscode" in n["text"] for n in verlauf["nachrichten"]
               if n["von"] == "system")


def test_aufbewahrung_loescht_alte_gespraeche_wirklich_das_ticket_bleibt(wartend, web_client, db_session, katalog,
                                                                          settings):
    from datetime import timedelta

    from servicecenter.worker import aus_settings

    g, agent = wartend
    r = _uebernehmen_antworten_und_ticket(agent, g)
    nummer = r.headers["location"].rsplit("/", 1)[1]
    db_session.expire_all()
    alt = db_session.get(ChatGespraech, g)
    zuletzt = alt.letzte_aktivitaet_am
    frisch = secrets.token_urlsafe(24)
    db_session.add(ChatGespraech(id=frisch, eigentuemer=Eigentuemer.bot, rasa_url=RASA[0], ticket_angeboten=False,
                                 erstellt_am=zuletzt + timedelta(days=80), letzte_aktivitaet_am=zuletzt + timedelta(days=80)))
    db_session.add(ChatNachricht(gespraech_id=frisch, von=Von.buerger, text="Hallo", erstellt_am=zuletzt))
    db_session.commit()
    assert any(isinstance(h, service.ChatAufbewahrung) for h in aus_settings(settings).handler)

    service.ChatAufbewahrung(tage=90).aufraeumen(db_session, zuletzt + timedelta(days=89))
    db_session.commit()
    assert db_session.get(ChatGespraech, g) is not None  # 89 days: kept

    service.ChatAufbewahrung(tage=90).aufraeumen(db_session, zuletzt + timedelta(days=91))
    db_session.commit()
    db_session.expire_all()
    assert db_session.get(ChatGespraech, g) is None
    assert db_session.scalars(select(ChatNachricht).where(ChatNachricht.gespraech_id == g)).all() == []
    assert web_client.get(f"/api/v1/chat/{g}").status_code == 404
    assert db_session.get(ChatGespraech, frisch) is not None  # 11 days since its last message
    assert len(db_session.scalars(select(ChatNachricht).where(ChatNachricht.gespraech_id == frisch)).all()) == 1
    ticket = db_session.scalar(select(Ticket).where(Ticket.nummer == nummer))
    artikel = db_session.scalars(select(TicketArtikel).where(TicketArtikel.ticket_id == ticket.id)).all()
    assert "Bitte bringen Sie ein Foto mit." in artikel[0].text  # the ticket keeps its copy


# --- single owner with real, concurrent transactions -----------------------------------------------------------


@pytest.fixture
def sitzungen(engine):
    factory = make_sessionmaker(engine)
    ids: list[str] = []
    yield factory, ids
    with session_scope(factory) as s:
        s.execute(delete(ChatNachricht).where(ChatNachricht.gespraech_id.in_(ids)))
        s.execute(delete(ChatGespraech).where(ChatGespraech.id.in_(ids)))


def test_nur_einer_gewinnt_bei_gleichzeitigem_uebernehmen(engine, sitzungen):
    from servicecenter.auth.models import Benutzer, Rolle

    factory, ids = sitzungen
    from wissensdatenbank.basis import jetzt

    with session_scope(factory) as s:
        agenten = []
        for i in range(6):
            b = Benutzer(name=f"chat-nebenlaeufig-{secrets.token_hex(4)}-{i}", rolle=Rolle.agent, aktiv=True,
                         passwort_hash="x")
            s.add(b)
            s.flush()
            agenten.append(b.id)
        for _ in range(5):
            g = service.gespraech_holen_oder_anlegen(s, neue_id(), rasa_urls=RASA, jetzt=jetzt())
            g.eigentuemer = Eigentuemer.warteschlange
            ids.append(g.id)
    sperre = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
    try:
        for gid in ids:
            start = threading.Barrier(len(agenten))

            def versuch(agent_id: int, gid: str = gid, start: threading.Barrier = start) -> int | None:
                start.wait()
                try:
                    with sperre, session_scope(factory) as s:
                        service.uebernehmen(s, gid, benutzer_id=agent_id, jetzt=jetzt())
                    return agent_id
                except service.ChatFehler as e:
                    assert e.status == 409
                    return None

            with ThreadPoolExecutor(max_workers=len(agenten)) as pool:
                gewinner = [a for a in pool.map(versuch, agenten) if a is not None]
            assert len(gewinner) == 1
            with session_scope(factory) as s:
                g = s.get(ChatGespraech, gid)
                assert g.eigentuemer == Eigentuemer.mensch and g.agent_id == gewinner[0]
                assert len([n for n in service.verlauf(s, gid) if n.von == Von.system]) == 1
    finally:
        with session_scope(factory) as s:
            s.execute(delete(ChatNachricht).where(ChatNachricht.gespraech_id.in_(ids)))
            s.execute(delete(ChatGespraech).where(ChatGespraech.id.in_(ids)))
            s.execute(delete(Benutzer).where(Benutzer.id.in_(agenten)))

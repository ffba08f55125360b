"""The chat channel against two real stub Rasa servers (HTTP, own threads) and the real servicecenter process:
routing by conversation id, the stub's "action" calling back into the servicecenter during a turn (search and
hand-off; on SQLite this deadlocks if a turn held its transaction), the agent's reply on the widget's event stream,
the hand-back events, and Rasa going away."""

from __future__ import annotations

import json
import queue
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.serverhilfe import benutzer, laufender_server, mit_demo, umgebung

BOT_TOKEN = "stub-bot-token-0123456789"
RASA_TOKEN = "stub-rasa-token"


class StubRasa:
    """Answers like Rasa's REST channel; its 'actions' call the servicecenter's HTTP API like the real ones."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.servicecenter = ""
        self.nachrichten: list[tuple[str, str]] = []
        self.ereignisse: list[tuple[str, list, str]] = []
        self.pausiert: set[str] = set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _json(self, status: int, daten) -> None:
                body = json.dumps(daten).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):  # noqa: N802
                teile = urlsplit(self.path)
                daten = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"null")
                if teile.path == "/webhooks/rest/webhook":
                    self._json(200, stub.antworten(daten["sender"], daten["message"]))
                elif teile.path.startswith("/conversations/") and teile.path.endswith("/tracker/events"):
                    sender = teile.path.split("/")[2]
                    stub.ereignisse.append((sender, daten, parse_qs(teile.query).get("token", [""])[0]))
                    stub.pausiert.discard(sender)
                    self._json(200, {"sender_id": sender})
                else:
                    self._json(404, {})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def antworten(self, sender: str, text: str) -> list[dict]:
        self.nachrichten.append((sender, text))
        if sender in self.pausiert:
            return []
        kopf = {"Authorization": f"Bearer {BOT_TOKEN}"}
        if "Mensch" in text:
            r = httpx.post(f"{self.servicecenter}/api/v1/chat/bot/{sender}/uebergabe", json={"grund": "Wunsch"},
                           headers=kopf, timeout=5)
            d = r.json()
            if d["ergebnis"] == "warteschlange":
                self.pausiert.add(sender)
            return [{"recipient_id": sender, "text": d["text"]}]
        treffer = httpx.get(f"{self.servicecenter}/api/v1/leistungen", params={"q": text, "limit": 3},
                            headers=kopf, timeout=5).json()["treffer"]
        if not treffer:
            return [{"recipient_id": sender, "text": f"{self.name}: Dazu weiß ich nichts."}]
        t = treffer[0]
        return [{"recipient_id": sender, "text": f"{self.name}: {t['name']}"},
                {"recipient_id": sender, "custom": {"leistung": {"id": t["id"], "name": t["name"]}}}]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def stubs():
    a, b = StubRasa("A"), StubRasa("B")
    yield a, b
    for s in (a, b):
        try:
            s.stop()
        except OSError:
            pass


@pytest.fixture(scope="module")
def servicecenter(tmp_path_factory, stubs):
    tmp = tmp_path_factory.mktemp("chat-stub")
    env = umgebung(tmp / "sc.db", SERVICECENTER_COOKIE_SECURE="false",
                   SERVICECENTER_CHAT_RASA_URLS=json.dumps([s.url for s in stubs]),
                   SERVICECENTER_CHAT_BOT_TOKEN=BOT_TOKEN, SERVICECENTER_CHAT_RASA_TOKEN=RASA_TOKEN,
                   SERVICECENTER_CHAT_RASA_TIMEOUT_SEKUNDEN="3", SERVICECENTER_CHAT_SERVICEZEITEN_PRUEFEN="false",
                   SERVICECENTER_CHAT_SSE_ABFRAGE_SEKUNDEN="5")
    mit_demo(env)
    token = benutzer(env, tmp, "chat-agent", "agent", "Stub-Passwort-4711")
    with laufender_server(env, tmp) as url:
        for s in stubs:
            s.servicecenter = url
        yield url, {"Authorization": f"Bearer {token}"}


def neue_id() -> str:
    return secrets.token_urlsafe(24)


def senden(url: str, gid: str, text: str) -> dict:
    r = httpx.post(f"{url}/api/v1/chat/{gid}/nachrichten", json={"text": text}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_frage_routing_und_leistung(servicecenter, stubs):
    url, _ = servicecenter
    ids = [neue_id() for _ in range(8)]
    for gid in ids:
        d = senden(url, gid, "Ich brauche einen neuen Personalausweis")
        assert d["eigentuemer"] == "bot" and d["leistung"] is not None
        assert "Personalausweis" in d["leistung"]["name"] and d["antworten"][0]["text"].endswith(d["leistung"]["name"])
        senden(url, gid, "Und was kostet der Personalausweis?")
    for s in stubs:
        gesehen = {sender for sender, _ in s.nachrichten}
        andere = {sender for o in stubs if o is not s for sender, _ in o.nachrichten}
        assert not gesehen & andere  # one conversation, one Rasa instance
    assert all(s.nachrichten for s in stubs)  # eight ids spread over both (chance of one-sided: 2/256)


def test_uebergabe_im_zug_agent_antwortet_live_und_gibt_zurueck(servicecenter, stubs):
    url, agent = servicecenter
    assert httpx.get(f"{url}/desk/chats", headers=agent, timeout=5).status_code == 200  # agent online
    gid = neue_id()
    senden(url, gid, "Hallo")
    d = senden(url, gid, "Ich möchte mit einem Mensch sprechen")  # the stub calls back during the turn
    assert d["eigentuemer"] == "mensch" and "verbinde" in d["antworten"][0]["text"]
    assert senden(url, gid, "Es geht um meinen Ausweis") == {"antworten": [], "leistung": None,
                                                             "eigentuemer": "mensch"}
    assert "Es geht um meinen Ausweis" in httpx.get(f"{url}/desk/chats/liste", headers=agent, timeout=5).text

    ereignisse: queue.Queue = queue.Queue()

    def lauschen():
        with httpx.stream("GET", f"{url}/api/v1/chat/{gid}/stream", timeout=30) as r:
            art = None
            for zeile in r.iter_lines():
                if zeile.startswith("event: "):
                    art = zeile[7:]
                elif zeile.startswith("data: "):
                    ereignisse.put((art, json.loads(zeile[6:])))
                    if art == "nachricht" and json.loads(zeile[6:])["von"] == "agent":
                        return

    t = threading.Thread(target=lauschen, daemon=True)
    t.start()
    assert ereignisse.get(timeout=10) == ("zustand", {"eigentuemer": "warteschlange", "ticketformular": False,
                                                      "ticket": False})
    r = httpx.post(f"{url}/desk/chats/{gid}/uebernehmen", headers=agent, timeout=5)
    assert r.status_code == 303
    r = httpx.post(f"{url}/desk/chats/{gid}/antworten", data={"text": "Guten Tag, hier ist das Servicecenter."},
                   headers=agent, timeout=5)
    assert r.status_code == 303
    erhalten = []
    while not any(a == "nachricht" and n["von"] == "agent" for a, n in erhalten):
        erhalten.append(ereignisse.get(timeout=10))
    assert ("nachricht", "Guten Tag, hier ist das Servicecenter.") in [(a, n.get("text")) for a, n in erhalten]
    t.join(timeout=5)

    r = httpx.post(f"{url}/desk/chats/{gid}/zurueckgeben", headers=agent, timeout=5)
    assert r.status_code == 303 and r.headers["location"] == "/desk/chats"
    instanz = next(s for s in stubs if any(sender == gid for sender, _ in s.nachrichten))
    assert instanz.ereignisse[-1] == (gid, [{"event": "resume"}, {"event": "action", "name": "action_listen"}], RASA_TOKEN)
    d = senden(url, gid, "Personalausweis beantragen")
    assert d["eigentuemer"] == "bot" and d["antworten"][0]["text"].startswith(instanz.name)


def test_rasa_weg(servicecenter, stubs):
    url, _ = servicecenter
    for s in stubs:
        s.stop()
    gid = neue_id()
    d = senden(url, gid, "Hallo, ist da jemand?")
    assert d["eigentuemer"] == "bot" and "115" in d["antworten"][0]["text"]
    verlauf = httpx.get(f"{url}/api/v1/chat/{gid}", timeout=5).json()
    assert verlauf["nachrichten"][0]["text"] == "Hallo, ist da jemand?" and verlauf["ticketformular"] is True

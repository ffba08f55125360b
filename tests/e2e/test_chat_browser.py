"""The chat end to end: the REAL Rasa server and action server (from .venv-rasa, with the model trained by
`make rasa-modell`), the servicecenter process, Chromium. Offline ticket flow, a question about a catalogue
Leistung, a status query with number and code, a hand-off to the desk with the agent's reply reaching the widget
and the hand-back; axe-core on the chat page and the desk chat pages.

Rasa needs ~30 s and ~1.3 GB to start: it is started once for this module. The tests run in file order (the
offline flow first, while no agent has the chat queue open)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.test_desk_browser import axe_pruefen
from tests.serverhilfe import CLI, ROOT, beenden, benutzer, freier_port, mit_demo, umgebung, warten

RASA = ROOT / ".venv-rasa" / "bin" / "rasa"
MODELL = ROOT / "chatbot" / "models" / "servicecenter.tar.gz"
AGENT, PASSWORT = "chat-e2e-agent", "Chat-E2e-Passwort-4711"
BOT_TOKEN = "e2e-chat-bot-token-0123456789"
# Starts with "-" as one in 64 generated tokens do (secrets.token_urlsafe): Rasa must take it as the value of
# --auth-token, not as an option (`--auth-token=<token>`, as in the Makefile).
RASA_TOKEN = "-e2e-rasa-token-0123456789"


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[dict]:
    """servicecenter + Rasa server + action server on free loopback ports."""
    if not RASA.exists():
        pytest.fail(f"{RASA} fehlt: bitte `make rasa-venv` ausführen.")
    if not MODELL.exists():
        pytest.fail(f"{MODELL} fehlt: bitte `make rasa-modell` ausführen.")
    tmp = tmp_path_factory.mktemp("chat-e2e")
    sc_port, rasa_port, aktion_port = freier_port(), freier_port(), freier_port()
    sc_url, rasa_url = f"http://127.0.0.1:{sc_port}", f"http://127.0.0.1:{rasa_port}"
    env = umgebung(tmp / "e2e.db", SERVICECENTER_COOKIE_SECURE="false", SERVICECENTER_OEFFENTLICHE_URL=sc_url,
                   SERVICECENTER_CHAT_RASA_URLS=json.dumps([rasa_url]), SERVICECENTER_CHAT_RASA_TOKEN=RASA_TOKEN,
                   SERVICECENTER_CHAT_BOT_TOKEN=BOT_TOKEN,
                   # The test may run at any hour: hand-offs depend on agents online only.
                   SERVICECENTER_CHAT_SERVICEZEITEN_PRUEFEN="false", SERVICECENTER_CHAT_AGENT_ONLINE_SEKUNDEN="20")
    rasa_env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "SERVICECENTER_URL": sc_url,
                "SERVICECENTER_CHAT_BOT_TOKEN": BOT_TOKEN}
    rasa_env.pop("VIRTUAL_ENV", None)
    # the project's endpoints.yml (tracker store, selective domain) with this run's action server port
    (tmp / "endpoints.yml").write_text((ROOT / "chatbot" / "endpoints.yml").read_text(encoding="utf-8").replace(
        "127.0.0.1:5055/", f"127.0.0.1:{aktion_port}/"), encoding="utf-8")
    prozesse: list[subprocess.Popen] = []
    logs: list = []

    def starten(befehl: list[str], name: str, cwd: Path, umgebung: dict) -> subprocess.Popen:
        log = open(tmp / f"{name}.log", "w")  # noqa: SIM115
        logs.append(log)
        p = subprocess.Popen(befehl, cwd=cwd, env=umgebung, stdout=log, stderr=subprocess.STDOUT)
        prozesse.append(p)
        return p

    try:
        # Rasa first: it takes the longest; the servicecenter is prepared meanwhile.
        rasa = starten([str(RASA), "run", "--enable-api", f"--auth-token={RASA_TOKEN}", "-m", str(MODELL),
                        "--endpoints", str(tmp / "endpoints.yml"), "--credentials", "credentials.yml",
                        "--port", str(rasa_port), "-i", "127.0.0.1"], "rasa", ROOT / "chatbot", rasa_env)
        aktionen = starten([str(RASA), "run", "actions", "--actions", "actions", "--port", str(aktion_port)],
                           "aktionen", ROOT / "chatbot", rasa_env)
        mit_demo(env)
        token = benutzer(env, tmp, AGENT, "agent", PASSWORT)
        sc = starten([*CLI, "serve", "--port", str(sc_port)], "servicecenter", ROOT, env)
        warten(sc_url + "/healthz", sc, tmp / "servicecenter.log", 60, "Der Servicecenter-Server")
        warten(f"http://127.0.0.1:{aktion_port}/health", aktionen, tmp / "aktionen.log", 120, "Der Action-Server")
        warten(f"{rasa_url}/status?token={RASA_TOKEN}", rasa, tmp / "rasa.log", 240, "Der Rasa-Server")
        yield {"url": sc_url, "token": token, "rasa": rasa_url, "tmp": tmp}
    finally:
        beenden(prozesse)
        for log in logs:
            log.close()


@pytest.fixture
def neue_seite(browser, stack):
    kontexte = []

    def oeffnen() -> Page:
        ctx = browser.new_context(base_url=stack["url"], locale="de-DE", timezone_id="Europe/Berlin",
                                  viewport={"width": 1300, "height": 1000})
        kontexte.append(ctx)
        page = ctx.new_page()
        fehler: list[str] = []
        page.on("console", lambda m: fehler.append(f"{m.text} {m.location.get('url', '')}")
                if m.type == "error" and not m.location.get("url", "").endswith("/favicon.ico") else None)
        page.konsolenfehler = fehler  # type: ignore[attr-defined]
        return page

    yield oeffnen
    for ctx in kontexte:
        ctx.close()


def fragen(page: Page, text: str, *, antwort: bool = True) -> None:
    """Send like a citizen (Enter); wait until the bot's answer is shown (the greeting is a bot message too)."""
    vorher = page.locator(".von-bot").count()
    feld = page.get_by_label("Ihre Nachricht")
    feld.fill(text)
    feld.press("Enter")
    expect(page.locator(".von-buerger").last).to_have_text(re.compile(re.escape(text)))
    if antwort:
        expect(page.locator(".von-bot").nth(vorher)).to_be_visible(timeout=30_000)


def verlauf(page: Page):
    return page.get_by_role("log", name="Gesprächsverlauf")


def test_offline_ticket(neue_seite, stack, axe_pfad, screenshots):
    page = neue_seite()
    page.goto("/chat")
    expect(verlauf(page)).to_contain_text("digitale Assistent")
    axe_pruefen(page, axe_pfad, "Chatseite")
    page.get_by_role("button", name="Mit einem Menschen sprechen").click()
    expect(verlauf(page)).to_contain_text("24 Stunden")
    expect(page.get_by_role("textbox", name=re.compile("E-Mail-Adresse"))).to_be_focused()
    page.get_by_role("textbox", name=re.compile("E-Mail-Adresse")).fill("erika@example.org")
    page.get_by_label(re.compile("Ihr Anliegen")).fill("Meine Mülltonne wurde nicht geleert.")
    page.get_by_role("button", name="Anliegen senden").click()
    expect(page.get_by_role("alert").filter(has_text="Einwilligung")).to_be_visible()
    expect(page.get_by_label(re.compile("einverstanden"))).to_be_focused()
    page.get_by_label(re.compile("einverstanden")).check()
    axe_pruefen(page, axe_pfad, "Chatseite mit Ticketformular")
    page.get_by_role("button", name="Anliegen senden").click()
    ergebnis = page.locator(".sc-chat-ergebnis")
    expect(ergebnis).to_contain_text(re.compile(r"115-\d{4}-\d{6}"))
    nummer = page.locator(".sc-chat-nummer").inner_text()
    code = page.locator(".sc-chat-code").inner_text()
    expect(ergebnis.get_by_role("link", name="Bearbeitungsstand abfragen")).to_have_attribute(
        "href", re.compile(rf"/status\?nummer={nummer}$"))
    page.screenshot(path=str(screenshots / "chat-offline-ticket.png"), full_page=True)
    r = httpx.get(f"{stack['url']}/api/v1/status/{nummer}", params={"code": code}, timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "RECEIVED"
    assert not page.konsolenfehler  # type: ignore[attr-defined]


def test_frage_zu_einer_leistung(neue_seite, stack):
    page = neue_seite()
    page.goto("/chat")
    fragen(page, "Was brauche ich für einen neuen Personalausweis?")
    expect(verlauf(page).locator(".von-bot").nth(1)).to_contain_text("Personalausweis")
    # the reply names its source: the city's knowledge base
    expect(verlauf(page)).to_contain_text(re.compile("Wissensdatenbank|/leistungen/"))
    # the conversation survives a reload (sessionStorage, no cookie)
    page.reload()
    expect(verlauf(page)).to_contain_text("Was brauche ich für einen neuen Personalausweis?")
    assert page.context.cookies() == []


def test_statusabfrage(neue_seite, stack):
    antwort = httpx.post(f"{stack['url']}/api/v1/tickets", json={"anliegen": "Laterne defekt", "kanal": "telefon"},
                         headers={"Authorization": f"Bearer {stack['token']}"}, timeout=10)
    assert antwort.status_code == 201, antwort.text
    ticket = antwort.json()
    page = neue_seite()
    page.goto("/chat")
    fragen(page, f"Wie ist der Stand meines Vorgangs {ticket['nummer']}?")
    bot = verlauf(page).locator(".von-bot")
    expect(bot.last).to_contain_text("Zugangscode", timeout=30_000)
    fragen(page, ticket["zugangscode"])
    expect(verlauf(page)).to_contain_text(f"Stand Ihres Vorgangs {ticket['nummer']}", timeout=30_000)
    expect(verlauf(page)).to_contain_text("Eingegangen")


def _agent_anmelden(page: Page) -> None:
    page.goto("/anmelden")
    page.get_by_label("Benutzername").fill(AGENT)
    page.get_by_label("Passwort").fill(PASSWORT)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(re.compile(r"/desk$"))


def test_uebergabe_an_den_desk_und_zurueck(neue_seite, stack, axe_pfad, screenshots):
    agent = neue_seite()
    _agent_anmelden(agent)
    agent.get_by_role("link", name="Chats").click()
    expect(agent.get_by_role("heading", name="Chats", level=1)).to_be_visible()
    axe_pruefen(agent, axe_pfad, "Chat-Warteschlange")

    buerger = neue_seite()
    buerger.goto("/chat")
    fragen(buerger, "Was kostet ein Personalausweis?")
    expect(buerger.locator(".von-bot").nth(1)).to_contain_text("Personalausweis")
    fragen(buerger, "Ich möchte bitte mit einem Menschen sprechen")
    expect(buerger.get_by_role("status").filter(has_text="Sie warten")).to_be_visible(timeout=30_000)

    karte = agent.locator(".sc-chat-karte").filter(has_text="mit einem Menschen sprechen")
    expect(karte).to_be_visible(timeout=15_000)
    expect(karte).to_contain_text("Personalausweis")  # the Leistung found by the bot
    karte.get_by_role("button", name=re.compile("Übernehmen")).click()
    expect(agent.get_by_label("Ihre Antwort an die Bürgerin oder den Bürger")).to_be_focused()
    axe_pruefen(agent, axe_pfad, "Chat beim Agenten")
    agent.get_by_label("Ihre Antwort an die Bürgerin oder den Bürger").fill("Guten Tag, hier ist das Servicecenter.")
    agent.get_by_role("button", name="Senden").click()

    expect(buerger.locator(".von-agent")).to_contain_text("Guten Tag, hier ist das Servicecenter.", timeout=15_000)
    expect(buerger.get_by_role("status").filter(has_text="Mitarbeiterin oder einem Mitarbeiter")).to_be_visible()
    fragen(buerger, "Danke! Muss ich ein Foto mitbringen?", antwort=False)
    expect(agent.locator("#verlauf")).to_contain_text("Muss ich ein Foto mitbringen?", timeout=15_000)
    buerger.screenshot(path=str(screenshots / "chat-buerger.png"), full_page=True)
    agent.screenshot(path=str(screenshots / "chat-agent.png"), full_page=True)

    agent.get_by_role("button", name="An den Bot zurückgeben").click()
    expect(agent).to_have_url(re.compile(r"/desk/chats$"))
    expect(buerger.locator(".von-system").last).to_contain_text("digitalen Assistenten", timeout=15_000)
    fragen(buerger, "Wo kann ich mein Auto ummelden?")  # the bot answers again
    expect(buerger.get_by_role("status").filter(has_text="digitalen Assistenten")).to_be_visible()
    assert not buerger.konsolenfehler  # type: ignore[attr-defined]

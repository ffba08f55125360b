"""Browser tests: the real server (`python -m servicecenter.cli serve`) on a temporary SQLite with the demo
catalogue and a test agent, driven by Playwright in Debian's Chromium. Missing Chromium or axe-core fail the
tests (run `make e2e-deps`); nothing is downloaded here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serverhilfe import benutzer, laufender_server, mit_demo, umgebung

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "var" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "var" / "screenshots"
BENUTZER = "e2e-agent"
PASSWORT = "E2e-Passwort-4711"


CTI_TOKEN = "e2e-cti-token-0123456789"
LEITUNG = "e2e-leitung"
API_TOKEN: list[str] = []  # Bearer token of the e2e agent, made by the server fixture


@pytest.fixture(scope="session")
def axe_pfad() -> Path:
    if not AXE.is_file():
        pytest.fail(f"axe-core fehlt ({AXE}): bitte `make e2e-deps` ausführen.")
    return AXE


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("e2e")
    env = umgebung(tmp / "e2e.db", SERVICECENTER_COOKIE_SECURE="false",
                   SERVICECENTER_DEMO_ZUGAENGE_DATEI=str(tmp / "zugaenge.txt"), SERVICECENTER_CTI_TOKEN=CTI_TOKEN)
    mit_demo(env)
    token = benutzer(env, tmp, BENUTZER, "agent", PASSWORT)
    benutzer(env, tmp, LEITUNG, "teamleitung", PASSWORT)
    API_TOKEN.clear()
    API_TOKEN.append(token)
    with laufender_server(env, tmp) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    # Module scope: Playwright's sync API keeps an event loop running in this thread while it is open,
    # which would break later tests that call asyncio.run().
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} fehlt: bitte `make e2e-deps` ausführen (installiert Debians chromium).")
    from playwright.sync_api import expect, sync_playwright

    # The CI machine is small and shared: give the UI more time than Playwright's default 5 s.
    expect.set_options(timeout=15_000)

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run"],
        )
        yield b
        b.close()


@pytest.fixture
def seite(browser, server):
    ctx = browser.new_context(base_url=server, locale="de-DE", timezone_id="Europe/Berlin",
                              viewport={"width": 1400, "height": 1000})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = ctx.new_page()
    fehler: list[str] = []
    page.on("console", lambda m: fehler.append(m.text) if m.type == "error" else None)
    page.konsolenfehler = fehler  # type: ignore[attr-defined]
    yield page
    ctx.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS



@pytest.fixture
def api_token_e2e(server) -> dict:
    return {"server": server, "token": API_TOKEN[0]}

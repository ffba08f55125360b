"""A simulated PBX call (Zammad-compatible CTI event) pops up on the agent's desk, with the caller's open ticket."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import CTI_TOKEN
from tests.e2e.test_desk_browser import anmelden, axe_pruefen


def test_anruf_erscheint_auf_dem_desk(seite: Page, server, axe_pfad, screenshots):
    page = seite
    anmelden(page)
    popup = page.locator("#anruf-popup")
    expect(popup).to_be_empty()
    # The PBX sends the call once the desk's event stream is connected.
    expect(popup).to_have_attribute("data-verbunden", "ja", timeout=5000)

    antwort = httpx.post(
        f"{server}/api/v1/cti/{CTI_TOKEN}",
        data={"event": "newCall", "from": "0345/221-4711", "to": "115", "direction": "in",
              "callId": "e2e-anruf-1", "user[]": []},
        timeout=5,
    )
    assert antwort.status_code == 200
    expect(popup).to_contain_text(re.compile(r"\+49 ?345|0345|4711"), timeout=5000)
    page.screenshot(path=str(screenshots / "desk-anruf.png"), full_page=True)
    axe_pruefen(page, axe_pfad, "Arbeitsplatz mit Anruf")

    # A wrong token is refused and pops up nothing.
    falsch = httpx.post(f"{server}/api/v1/cti/falsch", data={"event": "newCall", "from": "0345 1", "to": "115",
                                                             "direction": "in", "callId": "e2e-anruf-2"}, timeout=5)
    assert falsch.status_code == 401
    page.wait_for_timeout(500)
    expect(popup).not_to_contain_text("e2e-anruf-2")

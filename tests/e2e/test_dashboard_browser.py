"""The supervisor dashboard and the call log in a real browser, checked with axe-core; agents get 403."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import CTI_TOKEN, LEITUNG, PASSWORT
from tests.e2e.test_desk_browser import anmelden, axe_pruefen


def test_dashboard_und_anrufliste(seite: Page, server, axe_pfad, screenshots):
    page = seite
    # A missed call, so the call log and the service level have something to show.
    for ereignis in ({"event": "newCall"}, {"event": "hangup", "cause": "cancel"}):
        r = httpx.post(f"{server}/api/v1/cti/{CTI_TOKEN}", timeout=5,
                       data={**ereignis, "from": "+49 345 1234567", "to": "115", "direction": "in",
                             "callId": "e2e-verpasst"})
        assert r.status_code == 200

    page.goto("/anmelden")
    page.get_by_label("Benutzername").fill(LEITUNG)
    page.get_by_label("Passwort").fill(PASSWORT)
    page.get_by_role("button", name="Anmelden").click()
    page.goto("/teamleitung/dashboard")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("body")).to_contain_text("Erstlösungsquote")
    expect(page.locator("body")).to_contain_text(re.compile(r"65(,0)?\s?%"))
    expect(page.locator("svg[role=img]").first).to_be_visible()
    axe_pruefen(page, axe_pfad, "Dashboard")
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)

    page.goto("/desk/anrufe")
    expect(page.locator("body")).to_contain_text("verpasst")
    axe_pruefen(page, axe_pfad, "Anrufliste")


def test_agent_sieht_kein_dashboard(seite: Page, server):
    anmelden(seite)
    antwort = seite.goto("/teamleitung/dashboard")
    assert antwort is not None and antwort.status == 403

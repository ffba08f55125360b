"""The citizen status page in a real browser: a ticket's status with its access code, axe-core clean;
a wrong code gets the same answer as an unknown number."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_desk_browser import axe_pruefen


def test_statusseite(seite: Page, axe_pfad, api_token_e2e, screenshots):
    import httpx

    server = api_token_e2e["server"]
    antwort = httpx.post(f"{server}/api/v1/tickets", json={"anliegen": "Laterne defekt", "kanal": "telefon"},
                         headers={"Authorization": f"Bearer {api_token_e2e['token']}"}, timeout=10)
    assert antwort.status_code == 201, antwort.text
    ticket = antwort.json()
    page = seite
    page.goto("/status")
    axe_pruefen(page, axe_pfad, "Statusseite")
    page.get_by_label("Vorgangsnummer").fill(ticket["nummer"])
    page.get_by_label("Zugangscode").fill(ticket["zugangscode"])
    page.get_by_role("button", name=re.compile("Status")).click()
    expect(page.locator("main")).to_contain_text(ticket["nummer"])
    expect(page.locator("main")).not_to_contain_text("Laterne defekt")  # no Anliegen text, no personal data
    axe_pruefen(page, axe_pfad, "Status eines Vorgangs")
    page.screenshot(path=str(screenshots / "status.png"), full_page=True)

    page.goto("/status")
    page.get_by_label("Vorgangsnummer").fill(ticket["nummer"])
    page.get_by_label("Zugangscode").fill("FALSCH-123")
    page.get_by_role("button", name=re.compile("Status")).click()
    falsch = page.locator("main").inner_text()
    page.goto("/status")
    page.get_by_label("Vorgangsnummer").fill("115-2026-999999")
    page.get_by_label("Zugangscode").fill("FALSCH-123")
    page.get_by_role("button", name=re.compile("Status")).click()
    assert page.locator("main").inner_text() == falsch

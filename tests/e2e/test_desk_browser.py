"""The desk in a real browser: log in, search "perso verloren", open the card by keyboard, copy the answer, log a
contact as answered, forward one as a ticket, find it in the queue with its due time; axe-core on every page."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import BENUTZER, PASSWORT


def axe_pruefen(page: Page, axe_pfad, name: str) -> None:
    """Zero violations of impact serious or critical on the current page."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # page.add_script_tag would insert an inline <script>, which our CSP (script-src 'self') rightly blocks;
        # evaluating the file through the DevTools protocol is not subject to the page's CSP.
        page.evaluate(axe_pfad.read_text(encoding="utf-8") + "\n;undefined")
    ergebnis = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    schlimm = [
        {"id": v["id"], "impact": v["impact"], "hilfe": v["help"],
         "ziele": [n["target"] for n in v["nodes"]][:5]}
        for v in ergebnis["violations"] if v["impact"] in ("serious", "critical")
    ]
    assert not schlimm, f"axe-core auf {name}:\n" + json.dumps(schlimm, indent=1, ensure_ascii=False)


def anmelden(page: Page) -> None:
    page.goto("/anmelden")
    page.get_by_label("Benutzername").fill(BENUTZER)
    page.get_by_label("Passwort").fill(PASSWORT)
    page.get_by_role("button", name="Anmelden").click()
    expect(page).to_have_url(re.compile(r"/desk$"))


def test_anmelden_suchen_karte_kontakt_ticket_queue(seite: Page, axe_pfad, screenshots):
    page = seite
    page.goto("/anmelden")
    axe_pruefen(page, axe_pfad, "Anmeldung")
    anmelden(page)
    axe_pruefen(page, axe_pfad, "Arbeitsplatz (leer)")

    # "/" focuses the search; typing searches as you type (htmx).
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("/")
    expect(page.locator("#desk-q")).to_be_focused()
    page.keyboard.type("perso verloren", delay=30)
    erster = page.locator("#treffer a.treffer-link").first
    expect(erster).to_contain_text("Personalausweis")
    expect(page.locator("#treffer .konfidenz-marke").first).to_have_text(re.compile("sicher|unsicher|kein Treffer"))
    expect(page.locator("#treffer-anzahl")).to_contain_text("Treffer")
    axe_pruefen(page, axe_pfad, "Suche mit Treffern")
    page.screenshot(path=str(screenshots / "desk-suche.png"), full_page=True)

    # Arrow down to the first hit, Enter opens the card; focus lands on its heading.
    page.keyboard.press("ArrowDown")
    expect(erster).to_be_focused()
    page.keyboard.press("Enter")
    titel = page.locator("#karte-titel")
    expect(titel).to_contain_text("Personalausweis")  # "perso verloren": the report of a lost ID card
    expect(titel).to_be_focused()
    karte = page.locator("#karte")
    expect(karte.locator(".kurztext")).to_be_visible()
    expect(karte.locator(".stelle .jetzt").first).to_be_visible()
    # Only the answered outcome is chosen: the ticket fields are hidden.
    expect(page.locator("#kontakt-anliegen")).to_be_hidden()

    # "c" copies the plain-text answer; the live region confirms it.
    page.keyboard.press("c")
    expect(page.locator("#meldung")).to_have_text("Antworttext kopiert.")
    kopiert = page.evaluate("() => navigator.clipboard.readText()")
    assert kopiert.startswith(titel.inner_text().strip()) and "Erforderliche Unterlagen:" in kopiert
    axe_pruefen(page, axe_pfad, "Antwortkarte")
    page.screenshot(path=str(screenshots / "desk-karte.png"), full_page=True)

    # Log the contact as answered at first contact.
    page.get_by_role("button", name="Kontakt speichern").click()
    bestaetigung = page.locator("#kontakt-erfasst")
    expect(bestaetigung).to_contain_text("beim Erstkontakt beantwortet")
    expect(bestaetigung).to_be_focused()
    expect(bestaetigung.locator(".ticketnummer")).to_have_count(0)

    # Next caller: same Leistung, forwarded as a ticket with an e-mail address and consent.
    page.keyboard.press("/")
    page.keyboard.press("Enter")  # opens the first hit of the current query
    expect(page.locator("#karte-titel")).to_be_focused()
    page.get_by_label("weitergeleitet (Ticket)").check()
    expect(page.locator("#kontakt-anliegen")).to_be_visible()
    page.get_by_label("Anliegen (für das Ticket)").fill("Personalausweis im Urlaub verloren, Frage nach Ersatz")
    page.get_by_role("textbox", name="E-Mail", exact=True).fill("erika@example.de")
    page.get_by_label("Die Person ist einverstanden, dass wir diese Daten zur Bearbeitung speichern.").check()
    axe_pruefen(page, axe_pfad, "Antwortkarte mit Weiterleitung")
    page.get_by_role("button", name="Kontakt speichern").click()
    nummer_link = page.locator("#kontakt-erfasst .ticketnummer")
    expect(nummer_link).to_have_text(re.compile(r"115-\d{4}-\d{6}"))
    nummer = nummer_link.inner_text()
    faellig = page.locator("#kontakt-erfasst .faellig").inner_text()
    assert re.match(r"\d\d\.\d\d\.\d{4}, \d\d:\d\d Uhr", faellig)
    page.screenshot(path=str(screenshots / "desk-ticket-erstellt.png"), full_page=True)

    # The queue lists it with its due time.
    page.get_by_role("link", name="Tickets", exact=True).click()
    zeile = page.locator("table.ticketliste tr", has_text=nummer)
    expect(zeile).to_have_count(1)
    expect(zeile.locator(".zeit")).to_have_text(faellig)
    axe_pruefen(page, axe_pfad, "Ticket-Queue")
    page.screenshot(path=str(screenshots / "desk-queue.png"), full_page=True)

    # Ticket page: timeline, a note.
    zeile.get_by_role("link", name=nummer).click()
    expect(page.get_by_role("heading", name=f"Ticket {nummer}")).to_be_visible()
    page.get_by_label("Text").fill("Rückfrage beim Bürgerservice gestellt.")
    page.get_by_role("button", name="Speichern").click()
    expect(page.locator("p.hinweis[role=status], p.hinweis[role=alert]")).to_contain_text("gespeichert")
    expect(page.locator(".zeitleiste")).to_contain_text("Rückfrage beim Bürgerservice gestellt.")
    axe_pruefen(page, axe_pfad, "Ticket")
    page.screenshot(path=str(screenshots / "desk-ticketseite.png"), full_page=True)

    # Our own scripts run under the strict CSP (axe-core itself sets inline styles while checking, hence script-src).
    assert not [f for f in page.konsolenfehler if "script-src" in f], page.konsolenfehler


def test_suche_ohne_treffer_wird_wissensluecke(seite: Page, axe_pfad):
    page = seite
    anmelden(page)
    page.locator("#desk-q").fill("")
    page.locator("#desk-q").type("qwxzv zeppelinlandeplatz", delay=20)
    expect(page.locator("#treffer-anzahl")).to_contain_text("Treffer")
    with page.expect_response(lambda r: r.url.endswith("/desk/suche/luecke")) as antwort:
        page.locator("#desk-q").press("Tab")  # leaving the field finishes the search
    assert antwort.value.status == 204

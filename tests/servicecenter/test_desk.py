"""The agent desk: search partial, answer card, copy text, e-mail via outbox, contact logging, queue and detail,
optimistic locking in the ticket forms, roles, hostile input."""

import re
from datetime import UTC, datetime
from functools import lru_cache

import pytest
from sqlalchemy import func, select

from servicecenter.auth.models import Rolle
from servicecenter.kontakte.models import Ergebnis, Kontakt
from servicecenter.outbox.models import OutboxEintrag
from servicecenter.tickets import service as ts
from servicecenter.tickets.models import Kanal, Ticket, TicketArtikel, TicketHistorie
from wissensdatenbank.importe import demo
from wissensdatenbank.importe.basis import importiere
from wissensdatenbank.models import Leistung

MONTAG = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # Monday 10:00 in Halle; the Bürgerservice is open
HX = {"HX-Request": "true", "Accept": "text/html"}


@lru_cache(maxsize=1)
def _demo_eintraege():
    return list(demo.lesen())


@pytest.fixture
def katalog(db_session, app):
    bericht = importiere(db_session, format="demo", eintraege=_demo_eintraege(), region="150020000000")
    assert bericht.ok
    db_session.commit()
    app.state.wissensdatenbank.synchronisieren(sofort=True)
    return db_session


@pytest.fixture
def agent(anmelden, uhr, katalog):
    uhr.jetzt = MONTAG
    return anmelden(Rolle.agent)


def perso(db_session) -> Leistung:
    return db_session.scalar(select(Leistung).where(Leistung.leistungsname == "Personalausweis beantragen"))


def _anzahl(db_session, modell) -> int:
    return db_session.scalar(select(func.count()).select_from(modell))


# --- search and card ---------------------------------------------------------------------------------------------


def test_desk_seite_hat_suche_und_skripte(agent):
    r = agent.client.get("/desk", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert 'hx-get="/desk/suche"' in r.text and 'hx-trigger="keyup changed delay:150ms, search"' in r.text
    assert '<script src="/static/htmx.min.js" defer></script>' in r.text
    assert "<script>" not in r.text and "style=" not in r.text  # nothing inline: CSP script-src 'self'
    assert "Abmelden" in r.text and "Angemeldet als" in r.text
    assert agent.client.get("/static/desk.js").status_code == 200
    js = agent.client.get("/static/htmx.min.js")
    assert js.status_code == 200 and "Zero-Clause BSD" in js.text[:400]


def test_suche_liefert_treffer_mit_konfidenz(agent):
    r = agent.client.get("/desk/suche", params={"q": "perso verloren"}, headers=HX)
    assert r.status_code == 200
    assert "Personalausweis" in r.text
    assert re.search(r'class="konfidenz-marke konfidenz-(sicher|unsicher|kein-Treffer)"', r.text)
    assert 'hx-get="/desk/karte/' in r.text and 'id="treffer-1"' in r.text
    assert 'hx-swap-oob="true"' in r.text  # the live region with the count


def test_suche_ohne_htmx_leitet_auf_die_seite(agent):
    r = agent.client.get("/desk/suche", params={"q": "hund"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/desk?q=hund"
    seite = agent.client.get("/desk", params={"q": "hund"})
    assert "Hund" in seite.text


def test_suche_braucht_keine_datenbankabfrage_je_treffer(agent, engine):
    from sqlalchemy import event

    zaehler = []

    def mitzaehlen(*_a, **_k):
        zaehler.append(1)

    # The auth lookup runs once; the search itself must not add queries.
    agent.client.get("/desk/suche", params={"q": "x"}, headers=HX)
    event.listen(engine, "before_cursor_execute", mitzaehlen)
    try:
        agent.client.get("/desk/suche", params={"q": "ausweis"}, headers=HX)
        mit_auth = len(zaehler)
        zaehler.clear()
        agent.client.get("/desk/suche", params={"q": "ausweis reisepass hund müll"}, headers=HX)
    finally:
        event.remove(engine, "before_cursor_execute", mitzaehlen)
    assert len(zaehler) == mit_auth  # same count whatever the number of hits
    assert mit_auth <= 4  # session lookup and touch only


def test_karte_in_sprechreihenfolge(agent, katalog):
    l = perso(katalog)
    r = agent.client.get(f"/desk/karte/{l.id}", headers=HX)
    assert r.status_code == 200
    text = r.text
    positionen = [text.index(x) for x in ('class="kurztext"', "<dt>Unterlagen</dt>", "<dt>Kosten</dt>",
                                          "<dt>Bearbeitungsdauer</dt>", 'class="stelle"')]
    assert positionen == sorted(positionen)
    assert "Jetzt geöffnet" in text or "Öffnet wieder" in text or "öffnet" in text.lower()
    assert 'id="antworttext"' in text and 'data-kopieren="antworttext"' in text
    assert f'name="beginn" value="{int(MONTAG.timestamp())}"' in text
    assert 'name="anruf_id"' in text
    assert "37,00" in text or "€" in text


def test_karte_oeffnungsstatus_geschlossen_am_sonntag(agent, katalog, uhr):
    uhr.jetzt = datetime(2026, 11, 15, 12, 0, tzinfo=UTC)  # Sunday
    r = agent.client.get(f"/desk/karte/{perso(katalog).id}", headers=HX)
    assert "Öffnet wieder" in r.text
    assert "Jetzt geöffnet" not in r.text


def test_karte_einer_unveroeffentlichten_leistung_gibt_404(agent, katalog):
    l = perso(katalog)
    l.status = "entwurf"
    katalog.commit()
    assert agent.client.get(f"/desk/karte/{l.id}", headers=HX).status_code == 404
    assert agent.client.get(f"/desk?leistung={l.id}").status_code == 404


def test_antworttext_ist_klartext(katalog):
    from servicecenter.desk import service

    k = service.karte_laden(katalog, perso(katalog).id, jetzt=MONTAG, zeitzone="Europe/Berlin", land="ST")
    text = service.antwort_text(k)
    assert text.startswith("Personalausweis beantragen\n")
    assert "Erforderliche Unterlagen:" in text and "Kosten:" in text and "Zuständige Stelle:" in text
    assert "<" not in text


# --- e-mail via outbox -------------------------------------------------------------------------------------------


def test_antwort_per_email_schreibt_outbox(agent, katalog):
    l = perso(katalog)
    vorher = _anzahl(katalog, OutboxEintrag)
    r = agent.post(f"/desk/karte/{l.id}/email", {"email": "buerger@example.de", "einwilligung": "true"}, headers=HX)
    assert r.status_code == 200 and "vorgemerkt" in r.text
    zeile = katalog.scalars(select(OutboxEintrag).order_by(OutboxEintrag.id.desc())).first()
    assert _anzahl(katalog, OutboxEintrag) == vorher + 1
    assert zeile.art == "desk_antwort_email" and zeile.payload["an"] == "buerger@example.de"
    assert zeile.payload["leistung_id"] == l.id and "Personalausweis" in zeile.payload["text"]


@pytest.mark.parametrize(("daten", "meldung"), [
    ({"email": "buerger@example.de"}, "Einwilligung"),
    ({"email": "kein-at-zeichen", "einwilligung": "true"}, "gültige E-Mail"),
])
def test_antwort_per_email_braucht_adresse_und_einwilligung(agent, katalog, daten, meldung):
    vorher = _anzahl(katalog, OutboxEintrag)
    r = agent.post(f"/desk/karte/{perso(katalog).id}/email", daten, headers=HX)
    assert r.status_code == 422 and meldung in r.text
    assert _anzahl(katalog, OutboxEintrag) == vorher


def test_email_ohne_csrf_wird_abgelehnt(agent, katalog):
    r = agent.client.post(f"/desk/karte/{perso(katalog).id}/email",
                          data={"email": "a@example.de", "einwilligung": "true"})
    assert r.status_code == 403
    assert _anzahl(katalog, OutboxEintrag) == 0


# --- contact logging ---------------------------------------------------------------------------------------------


def kontakt(agent, l, **felder):
    daten = {"kanal": "telefon", "ergebnis": "beim_erstkontakt_beantwortet", "leistung_id": str(l.id),
             "beginn": str(int(MONTAG.timestamp()) - 95), **felder}
    return agent.post("/desk/kontakt", daten, headers=HX)


def test_kontakt_beantwortet_ohne_ticket_mit_dauer(agent, katalog):
    l = perso(katalog)
    r = kontakt(agent, l, name="Soll nicht gespeichert werden", einwilligung="true")
    assert r.status_code == 200, r.text
    assert "Kontakt gespeichert" in r.text and "beim Erstkontakt beantwortet" in r.text
    k = katalog.scalars(select(Kontakt)).one()
    assert k.ergebnis == Ergebnis.beim_erstkontakt_beantwortet and k.ticket_id is None
    assert k.dauer_sekunden == 95 and k.leistung_id == l.id and k.kanal == Kanal.telefon
    assert k.kontakt_name is None and not k.einwilligung  # personal data only when the outcome needs it
    assert k.benutzer_id == agent.benutzer.id


def test_kontakt_weitergeleitet_legt_ticket_an_und_zeigt_faelligkeit(agent, katalog):
    l = perso(katalog)
    r = kontakt(agent, l, ergebnis="weitergeleitet", kanal="email", anliegen="Ausweis im Urlaub verloren",
                email="b@example.de", einwilligung="true")
    assert r.status_code == 200, r.text
    t = katalog.scalars(select(Ticket)).one()
    assert t.nummer in r.text and f'href="/desk/tickets/{t.nummer}"' in r.text
    assert t.anliegen == "Ausweis im Urlaub verloren" and t.kontakt_email == "b@example.de" and t.einwilligung
    assert "18.11.2026, 14:00 Uhr" in r.text  # 24 service hours from Monday 10:00 in Halle
    assert katalog.scalars(select(Kontakt)).one().ticket_id == t.id


def test_kontakt_weitergeleitet_ohne_anliegen_nimmt_die_leistung(agent, katalog):
    r = kontakt(agent, perso(katalog), ergebnis="weitergeleitet")
    assert r.status_code == 200, r.text
    assert katalog.scalars(select(Ticket)).one().anliegen == "Anfrage zu: Personalausweis beantragen"


def test_kontakt_rueckruf_braucht_zeit_und_telefon(agent, katalog):
    l = perso(katalog)
    r = kontakt(agent, l, ergebnis="rueckruf_vereinbart", anliegen="Rückfrage Gebühren")
    assert r.status_code == 422 and "zurückgerufen" in r.text
    assert 'value="Rückfrage Gebühren"' not in r.text  # textarea keeps the input as content
    assert "Rückfrage Gebühren</textarea>" in r.text
    r = kontakt(agent, l, ergebnis="rueckruf_vereinbart", anliegen="Rückfrage Gebühren",
                rueckruf_am="2026-11-17T10:30")
    assert r.status_code == 422 and "Telefonnummer" in r.text
    assert _anzahl(katalog, Ticket) == 0 and _anzahl(katalog, Kontakt) == 0
    r = kontakt(agent, l, ergebnis="rueckruf_vereinbart", anliegen="Rückfrage Gebühren",
                rueckruf_am="2026-11-17T10:30", telefon="0345 123456", einwilligung="true")
    assert r.status_code == 200, r.text
    t = katalog.scalars(select(Ticket)).one()
    assert t.rueckruf_am == datetime(2026, 11, 17, 9, 30, tzinfo=UTC)  # 10:30 local (CET)
    assert "Rückruf am 17.11.2026, 10:30 Uhr" in r.text


def test_kontakt_personendaten_ohne_einwilligung_abgelehnt(agent, katalog):
    r = kontakt(agent, perso(katalog), ergebnis="weitergeleitet", anliegen="x", name="Erika Muster")
    assert r.status_code == 422 and "Einwilligung" in r.text
    assert _anzahl(katalog, Ticket) == 0 and _anzahl(katalog, Kontakt) == 0
    assert 'value="Erika Muster"' in r.text  # input kept


def test_kontakt_ohne_htmx_rendert_ganze_seite(agent, katalog):
    r = agent.post("/desk/kontakt", {"kanal": "vor_ort", "ergebnis": "beim_erstkontakt_beantwortet",
                                     "leistung_id": str(perso(katalog).id)})
    assert r.status_code == 200 and "<html" in r.text and "Kontakt gespeichert" in r.text


@pytest.mark.parametrize("feld", ["kanal", "ergebnis"])
def test_kontakt_unbekannte_werte_422(agent, katalog, feld):
    r = kontakt(agent, perso(katalog), **{feld: "fax"})
    assert r.status_code == 422
    assert _anzahl(katalog, Kontakt) == 0


def test_kontakt_unplausibler_beginn_gibt_keine_dauer(agent, katalog):
    kontakt(agent, perso(katalog), beginn=str(int(MONTAG.timestamp()) + 500))
    kontakt(agent, perso(katalog), beginn="abc")
    assert [k.dauer_sekunden for k in katalog.scalars(select(Kontakt))] == [None, None]


# --- queue and detail --------------------------------------------------------------------------------------------


def ticket(katalog, agent_benutzer, **extra):
    t = ts.ticket_anlegen(katalog, anliegen=extra.pop("anliegen", "Frage zur Meldebescheinigung"),
                          kanal=Kanal.telefon, benutzer=agent_benutzer, einstellungen=ts.TicketEinstellungen(),
                          jetzt=extra.pop("jetzt", MONTAG), **extra)
    katalog.commit()
    return t


def test_queue_zeigt_faelligkeit_und_marken(agent, katalog, uhr, anmelden):
    alt = ticket(katalog, agent.benutzer, anliegen="Altes Anliegen", jetzt=datetime(2026, 11, 2, 9, tzinfo=UTC))
    neu = ticket(katalog, agent.benutzer, anliegen="Neues Anliegen")
    r = agent.client.get("/desk/tickets")
    assert r.status_code == 200
    assert alt.nummer in r.text and neu.nummer in r.text
    assert r.text.index(alt.nummer) < r.text.index(neu.nummer)  # most urgent first
    assert "überfällig" in r.text and "18.11.2026, 14:00 Uhr" in r.text
    nur = agent.client.get("/desk/tickets", params={"filter": "ueberfaellig"})
    assert alt.nummer in nur.text and neu.nummer not in nur.text
    uhr.jetzt = datetime(2026, 11, 18, 11, 0, tzinfo=UTC)  # 12:00 local: 2 service hours left
    agent = anmelden(benutzer=agent.benutzer)  # the old session timed out meanwhile
    bald = agent.client.get("/desk/tickets", params={"filter": "bald_faellig"})
    assert neu.nummer in bald.text and "bald fällig" in bald.text and alt.nummer not in bald.text


def test_queue_filter_mein_und_unzugewiesen(agent, katalog):
    mir = ticket(katalog, agent.benutzer, assignee_id=agent.benutzer.id, anliegen="Meins")
    frei = ticket(katalog, agent.benutzer, anliegen="Frei")
    mein = agent.client.get("/desk/tickets", params={"filter": "mein"}).text
    assert mir.nummer in mein and frei.nummer not in mein
    offen = agent.client.get("/desk/tickets", params={"filter": "unzugewiesen"}).text
    assert frei.nummer in offen and mir.nummer not in offen
    assert agent.client.get("/desk/tickets", params={"filter": "quatsch"}).status_code == 200


def test_detail_mit_zeitleiste_und_statuswechsel(agent, katalog):
    t = ticket(katalog, agent.benutzer)
    r = agent.client.get(f"/desk/tickets/{t.nummer}")
    assert r.status_code == 200 and "Verlauf" in r.text and 'name="version" value="1"' in r.text
    r = agent.post(f"/desk/tickets/{t.nummer}/status", {"status": "in_bearbeitung", "version": "1"},
                   follow_redirects=False)
    assert r.status_code == 303
    katalog.refresh(t)
    assert t.zustand.value == "in_bearbeitung" and t.version == 2
    hist = katalog.scalars(select(TicketHistorie).where(TicketHistorie.ticket_id == t.id,
                                                        TicketHistorie.feld == "status")).all()
    assert [(h.alt, h.neu) for h in hist] == [(None, "neu"), ("neu", "in_bearbeitung")]
    seite = agent.client.get(r.headers["location"])
    assert "Der Status wurde geändert." in seite.text and "Status: „neu“ → „in Bearbeitung“" in seite.text


def test_notiz_und_veraltete_version_gibt_409_und_behaelt_eingabe(agent, katalog):
    t = ticket(katalog, agent.benutzer)
    r = agent.post(f"/desk/tickets/{t.nummer}/artikel", {"text": "Erste Notiz", "art": "notiz", "version": "1"},
                   follow_redirects=False)
    assert r.status_code == 303
    # Someone else changes the ticket meanwhile.
    ts.ticket_aendern(katalog, t, version=1, benutzer=None, status="in_bearbeitung",
                      einstellungen=ts.TicketEinstellungen())
    katalog.commit()
    r = agent.post(f"/desk/tickets/{t.nummer}/artikel",
                   {"text": "Meine <b>wichtige</b> Notiz", "art": "nachricht", "version": "1"})
    assert r.status_code == 409
    assert "inzwischen von jemand anderem geändert" in r.text
    assert "Meine &lt;b&gt;wichtige&lt;/b&gt; Notiz</textarea>" in r.text  # kept, and inert
    assert 'id="art-nachricht" name="art" value="nachricht" checked' in r.text
    assert 'name="version" value="2"' in r.text  # resubmitting works on top of the current version
    assert [a.text for a in katalog.scalars(select(TicketArtikel))] == ["Erste Notiz"]
    r = agent.post(f"/desk/tickets/{t.nummer}/status", {"status": "erledigt", "version": "1"})
    assert r.status_code == 409 and '<option value="erledigt" selected>' in r.text
    katalog.refresh(t)
    assert t.zustand.value == "in_bearbeitung"


def test_unerlaubter_statuswechsel_422(agent, katalog):
    t = ticket(katalog, agent.benutzer)
    r = agent.post(f"/desk/tickets/{t.nummer}/status", {"status": "gibtsnicht", "version": "1"})
    assert r.status_code == 422


def test_ticket_einer_fremden_queue_gibt_403(agent, katalog, neuer_benutzer):
    from wissensdatenbank.models import Organisationseinheit

    oe = katalog.scalars(select(Organisationseinheit)).first()
    kollege = neuer_benutzer(Rolle.agent)
    ts.queue_mitglied_hinzufuegen(katalog, benutzer_id=kollege.id, organisationseinheit_id=oe.id)
    ts.queue_mitglied_hinzufuegen(katalog, benutzer_id=agent.benutzer.id,
                                  organisationseinheit_id=katalog.scalars(select(Organisationseinheit)).all()[1].id)
    t = ticket(katalog, kollege, queue_id=oe.id)
    assert agent.client.get(f"/desk/tickets/{t.nummer}").status_code == 403
    r = agent.post(f"/desk/tickets/{t.nummer}/status", {"status": "erledigt", "version": "1"})
    assert r.status_code == 403
    katalog.refresh(t)
    assert t.zustand.value == "neu"
    assert agent.client.get("/desk/tickets/115-2026-999999").status_code == 404


# --- roles -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("rolle", "erwartet"), [
    (Rolle.agent, 200), (Rolle.teamleitung, 200), (Rolle.admin, 200), (Rolle.redaktion, 403)])
def test_desk_rollen(anmelden, katalog, rolle, erwartet):
    a = anmelden(rolle)
    for url in ("/desk", "/desk/tickets"):
        assert a.client.get(url).status_code == erwartet


def test_redaktion_darf_keinen_kontakt_erfassen(anmelden, katalog):
    a = anmelden(Rolle.redaktion)
    r = a.post("/desk/kontakt", {"kanal": "telefon", "ergebnis": "weitergeleitet", "anliegen": "x"})
    assert r.status_code == 403
    assert _anzahl(katalog, Kontakt) == 0 and _anzahl(katalog, Ticket) == 0
    r = a.post(f"/desk/karte/{perso(katalog).id}/email", {"email": "a@example.de", "einwilligung": "true"})
    assert r.status_code == 403 and _anzahl(katalog, OutboxEintrag) == 0


def test_ohne_anmeldung_umleitung_zur_anmeldung(web_client):
    r = web_client.get("/desk/tickets", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/anmelden?weiter=")


# --- hostile input -----------------------------------------------------------------------------------------------


def test_skript_in_suche_und_anliegen_bleibt_text(agent, katalog):
    boese = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    r = agent.client.get("/desk/suche", params={"q": boese}, headers=HX)
    assert "<script>alert(1)" not in r.text and "<img src=x" not in r.text
    seite = agent.client.get("/desk", params={"q": boese})
    assert "<script>alert(1)" not in seite.text
    kontakt(agent, perso(katalog), ergebnis="weitergeleitet", anliegen=boese + " '; DROP TABLE ticket; --")
    t = katalog.scalars(select(Ticket)).one()
    detail = agent.client.get(f"/desk/tickets/{t.nummer}").text
    assert "<script>alert(1)" not in detail and "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert "DROP TABLE ticket" in detail
    assert "<script>alert(1)" not in agent.client.get("/desk/tickets").text


def test_zu_lange_felder_422(agent, katalog):
    assert agent.client.get("/desk/suche", params={"q": "x" * 501}, headers=HX).status_code == 422
    r = kontakt(agent, perso(katalog), ergebnis="weitergeleitet", anliegen="x" * 10_001)
    assert r.status_code == 422
    assert _anzahl(katalog, Ticket) == 0


def test_zeitleiste_zeigt_namen_statt_ids(agent, katalog):
    l = perso(katalog)
    kontakt(agent, l, ergebnis="weitergeleitet", anliegen="Frage zum Ausweis")
    t = katalog.scalars(select(Ticket)).one()
    seite = agent.client.get(f"/desk/tickets/{t.nummer}").text
    assert "Leistung: „Personalausweis beantragen“" in seite
    assert f"leistung_id: „{l.id}“" not in seite and "Status: „neu“" in seite

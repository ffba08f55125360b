"""Kontakte: service rules and POST /api/v1/kontakte."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from servicecenter.auth.models import Rolle
from servicecenter.kontakte import service as ks
from servicecenter.kontakte.models import Ergebnis, Kontakt
from servicecenter.tickets import service as ts
from servicecenter.tickets.models import Kanal, Ticket
from wissensdatenbank.models import Leistung, Organisationseinheit

EINST = ts.TicketEinstellungen()
JETZT = datetime(2026, 11, 16, 9, tzinfo=UTC)
RUECKRUF = datetime(2026, 11, 17, 14, tzinfo=UTC)


def anzahl(db_session, modell):
    return db_session.scalar(select(func.count()).select_from(modell))


# --- service ----------------------------------------------------------------------------------------------


def test_beim_erstkontakt_beantwortet_ohne_ticket(db_session):
    leistung = Leistung(leistungsname="Wohnsitz anmelden")
    db_session.add(leistung)
    db_session.flush()
    tickets_vorher = anzahl(db_session, Ticket)
    k = ks.kontakt_anlegen(db_session, kanal=Kanal.telefon, ergebnis=Ergebnis.beim_erstkontakt_beantwortet,
                           benutzer=None, einstellungen=EINST, leistung_id=leistung.id, dauer_sekunden=95,
                           jetzt=JETZT)
    assert k.id and k.ticket_id is None and k.dauer_sekunden == 95 and k.leistung_id == leistung.id
    assert k.kontakt_name is None and not k.einwilligung
    assert anzahl(db_session, Ticket) == tickets_vorher


def test_weitergeleitet_legt_ticket_an(db_session):
    k = ks.kontakt_anlegen(db_session, kanal=Kanal.email, ergebnis=Ergebnis.weitergeleitet, benutzer=None,
                           einstellungen=EINST, anliegen="Frage zur Hundesteuer", jetzt=JETZT,
                           buerger=ts.BuergerDaten(email="a@example.org", einwilligung=True))
    t = db_session.get(Ticket, k.ticket_id)
    assert t.anliegen == "Frage zur Hundesteuer" and t.kanal == Kanal.email and t.rueckruf_am is None
    assert t.kontakt_email == "a@example.org" and t.einwilligung
    assert k.kontakt_email == "a@example.org" and k.einwilligung_am == JETZT
    assert t.faellig_am == datetime(2026, 11, 18, 13, tzinfo=UTC)


def test_rueckruf_vereinbart(db_session):
    k = ks.kontakt_anlegen(db_session, kanal=Kanal.telefon, ergebnis=Ergebnis.rueckruf_vereinbart, benutzer=None,
                           einstellungen=EINST, anliegen="Rückruf wegen Elterngeld", rueckruf_am=RUECKRUF,
                           buerger=ts.BuergerDaten(telefon="0345 221-0", einwilligung=True), jetzt=JETZT)
    t = db_session.get(Ticket, k.ticket_id)
    assert t.rueckruf_am == RUECKRUF and k.rueckruf_am == RUECKRUF and t.kontakt_telefon == "0345 221-0"
    assert ("rueckruf_am", RUECKRUF.isoformat()) in {(e.feld, e.neu) for e in ts.zeitleiste(db_session, t)}


@pytest.mark.parametrize("kw, text", [
    ({"ergebnis": Ergebnis.weitergeleitet}, "Anliegen"),
    ({"ergebnis": Ergebnis.rueckruf_vereinbart, "anliegen": "x",
      "buerger": ts.BuergerDaten(telefon="0345 1", einwilligung=True)}, "zurückgerufen"),
    ({"ergebnis": Ergebnis.rueckruf_vereinbart, "anliegen": "x", "rueckruf_am": RUECKRUF}, "Telefonnummer"),
    ({"ergebnis": Ergebnis.beim_erstkontakt_beantwortet, "rueckruf_am": RUECKRUF}, "Rückruf"),
    ({"ergebnis": Ergebnis.beim_erstkontakt_beantwortet, "buerger": ts.BuergerDaten(name="Erika")},
     "Einwilligung"),
    ({"ergebnis": Ergebnis.beim_erstkontakt_beantwortet, "leistung_id": 999_999}, "Leistung"),
    ({"ergebnis": Ergebnis.beim_erstkontakt_beantwortet, "queue_id": 1}, "Queue"),
    ({"ergebnis": Ergebnis.weitergeleitet, "anliegen": "x", "queue_id": 999_999}, "Queue"),
])
def test_ungueltige_kontakte(db_session, kw, text):
    vorher = (anzahl(db_session, Kontakt), anzahl(db_session, Ticket))
    with pytest.raises(ts.UngueltigeEingabe, match=text):
        ks.kontakt_anlegen(db_session, kanal=Kanal.telefon, benutzer=None, einstellungen=EINST, jetzt=JETZT, **kw)
    assert (anzahl(db_session, Kontakt), anzahl(db_session, Ticket)) == vorher


# --- API --------------------------------------------------------------------------------------------------


@pytest.fixture
def api(web_client, uhr):
    uhr.jetzt = JETZT
    return web_client


def test_api_kontakt_beantwortet(api, api_token, db_session):
    agent = api_token(Rolle.agent)
    r = api.post("/api/v1/kontakte", headers=agent.headers,
                 json={"kanal": "telefon", "ergebnis": "beim_erstkontakt_beantwortet", "dauer_sekunden": 120,
                       "anliegen": "<i>Öffnungszeiten</i>"})
    assert r.status_code == 201, r.text
    d = r.json()
    assert d["ticket"] is None and d["dauer_sekunden"] == 120 and d["anliegen"] == "<i>Öffnungszeiten</i>"
    k = db_session.get(Kontakt, d["id"])
    assert k.benutzer_id == agent.benutzer.id and k.erstellt_am == JETZT


def test_api_kontakt_weitergeleitet_und_rueckruf(api, api_token, db_session):
    agent = api_token(Rolle.agent)
    queue = Organisationseinheit(name="Ordnungsamt")
    db_session.add(queue)
    db_session.commit()
    r = api.post("/api/v1/kontakte", headers=agent.headers, json={
        "kanal": "telefon", "ergebnis": "weitergeleitet", "anliegen": "Lärm in der Nachbarschaft",
        "queue_id": queue.id, "dauer_sekunden": 240})
    assert r.status_code == 201, r.text
    t = r.json()["ticket"]
    assert t["nummer"].startswith("115-2026-") and t["status"] == "neu" and t["queue_id"] == queue.id
    assert t["faellig_am"] == "2026-11-18T13:00:00Z"
    r = api.post("/api/v1/kontakte", headers=agent.headers, json={
        "kanal": "telefon", "ergebnis": "rueckruf_vereinbart", "anliegen": "Rückruf zum Wohngeld",
        "rueckruf_am": "2026-11-17T15:00:00+01:00",
        "kontakt": {"name": "Max Muster", "telefon": "+49 345 2210", "einwilligung": True}})
    assert r.status_code == 201, r.text
    t = r.json()["ticket"]
    assert t["rueckruf_am"] == "2026-11-17T14:00:00Z" and t["kontakt"]["telefon"] == "+49 345 2210"


@pytest.mark.parametrize("daten, text", [
    ({"kanal": "brieftaube", "ergebnis": "weitergeleitet", "anliegen": "x"}, "kanal"),
    ({"kanal": "telefon", "ergebnis": "vergessen"}, "ergebnis"),
    ({"kanal": "telefon", "ergebnis": "weitergeleitet", "anliegen": "x" * 10_001}, "anliegen"),
    ({"kanal": "telefon", "ergebnis": "beim_erstkontakt_beantwortet", "dauer_sekunden": -1}, "dauer_sekunden"),
    ({"kanal": "telefon", "ergebnis": "weitergeleitet"}, "Anliegen"),
    ({"kanal": "telefon", "ergebnis": "weitergeleitet", "anliegen": "x",
      "kontakt": {"telefon": "0345 2210", "einwilligung": False}}, "Einwilligung"),
    ({"kanal": "telefon", "ergebnis": "rueckruf_vereinbart", "anliegen": "x"}, "zurückgerufen"),
])
def test_api_kontakt_422(api, api_token, db_session, daten, text):
    agent = api_token(Rolle.agent)
    vorher = (anzahl(db_session, Kontakt), anzahl(db_session, Ticket))
    r = api.post("/api/v1/kontakte", headers=agent.headers, json=daten)
    assert r.status_code == 422 and text in r.json()["detail"], r.text
    assert (anzahl(db_session, Kontakt), anzahl(db_session, Ticket)) == vorher


def test_api_kontakt_auth(api, api_token):
    daten = {"kanal": "telefon", "ergebnis": "beim_erstkontakt_beantwortet"}
    assert api.post("/api/v1/kontakte", json=daten).status_code == 401
    assert api.post("/api/v1/kontakte", json=daten, headers=api_token(Rolle.redaktion).headers).status_code == 403
    assert api.post("/api/v1/kontakte", json=daten, headers=api_token(Rolle.teamleitung).headers).status_code == 201

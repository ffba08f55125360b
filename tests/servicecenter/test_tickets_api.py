"""REST API of tickets: auth, create, read, PATCH with version (409), transitions (422), articles, filters,
merge, 403 for other queues, hostile input."""

import base64
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from servicecenter.auth.models import Rolle
from servicecenter.tickets import service as ts
from servicecenter.tickets.models import Ticket, TicketHistorie
from wissensdatenbank.models import Leistung, Organisationseinheit

MONTAG = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # 10:00 in Halle → due Wed 18.11. 14:00 (13:00 UTC)


@pytest.fixture
def api(web_client, uhr, api_token):
    uhr.jetzt = MONTAG
    return web_client


@pytest.fixture
def agent(api_token):
    return api_token(Rolle.agent)


def anlegen(api, zugang, **extra):
    r = api.post("/api/v1/tickets", json={"anliegen": "Ausweis verloren", "kanal": "telefon", **extra},
                 headers=zugang.headers)
    assert r.status_code == 201, r.text
    return r.json()


def oe(db_session, name="Standesamt"):
    o = Organisationseinheit(name=name)
    db_session.add(o)
    db_session.commit()
    return o


def test_ohne_token_401_und_falsche_rolle_403(api, api_token):
    r = api.post("/api/v1/tickets", json={"anliegen": "x", "kanal": "telefon"})
    assert r.status_code == 401 and "melden Sie sich an" in r.json()["detail"]
    r = api.get("/api/v1/tickets", headers={"Authorization": "Bearer falsch"})
    assert r.status_code == 401
    redaktion = api_token(Rolle.redaktion)
    r = api.post("/api/v1/tickets", json={"anliegen": "x", "kanal": "telefon"}, headers=redaktion.headers)
    assert r.status_code == 403 and "Berechtigung" in r.json()["detail"]


def test_anlegen_minimal(api, agent, db_session):
    t = anlegen(api, agent)
    assert t["nummer"].startswith("115-2026-") and len(t["nummer"]) == 15
    assert t["status"] == "neu" and t["buergerstatus"] == "RECEIVED" and t["version"] == 1
    assert t["faellig_am"] == "2026-11-18T13:00:00Z"
    assert t["ueberfaellig"] is False and t["kontakt"] is None and t["erstellt_von_id"] == agent.benutzer.id
    gespeichert = db_session.scalar(select(Ticket).where(Ticket.nummer == t["nummer"]))
    assert gespeichert is not None and gespeichert.anliegen == "Ausweis verloren"


def test_anlegen_voll(api, agent, db_session):
    leistung = Leistung(leistungsname="Personalausweis")
    db_session.add(leistung)
    queue = oe(db_session, "Bürgerbüro")
    db_session.commit()
    t = anlegen(api, agent, leistung_id=leistung.id, queue_id=queue.id, prioritaet="hoch",
                assignee_id=agent.benutzer.id, externe_vorgangs_id="FV-1",
                kontakt={"name": "Erika Mustermann", "telefon": "0345 221-0", "einwilligung": True})
    assert (t["leistung_id"], t["queue_id"], t["prioritaet"], t["assignee_id"]) == (
        leistung.id, queue.id, "hoch", agent.benutzer.id)
    assert t["kontakt"]["telefon"] == "0345 221-0" and t["kontakt"]["einwilligung_am"] == "2026-11-16T09:00:00Z"


@pytest.mark.parametrize("daten, text", [
    ({"anliegen": "x", "kanal": "fax"}, "kanal"),
    ({"kanal": "telefon"}, "anliegen"),
    ({"anliegen": "   ", "kanal": "telefon"}, "anliegen"),
    ({"anliegen": "x" * 10_001, "kanal": "telefon"}, "anliegen"),
    ({"anliegen": "x", "kanal": "telefon", "prioritaet": "sofort"}, "prioritaet"),
    ({"anliegen": "x", "kanal": "telefon", "unbekannt": 1}, "unbekannt"),
    ({"anliegen": "x", "kanal": "telefon", "kontakt": {"email": "keine-adresse"}}, "email"),
    ({"anliegen": "x", "kanal": "telefon", "kontakt": {"name": "n" * 201, "einwilligung": True}}, "name"),
])
def test_anlegen_ungueltig_422(api, agent, daten, text, db_session):
    vorher = db_session.scalar(select(func.count()).select_from(Ticket))
    r = api.post("/api/v1/tickets", json=daten, headers=agent.headers)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("Ungültige Eingabe") and text in r.json()["detail"]
    assert db_session.scalar(select(func.count()).select_from(Ticket)) == vorher


def test_anlegen_fachliche_422(api, agent):
    r = api.post("/api/v1/tickets", headers=agent.headers, json={
        "anliegen": "x", "kanal": "telefon", "kontakt": {"name": "Erika", "einwilligung": False}})
    assert r.status_code == 422 and "Einwilligung" in r.json()["detail"]
    r = api.post("/api/v1/tickets", headers=agent.headers, json={"anliegen": "x", "kanal": "telefon",
                                                                 "queue_id": 999999})
    assert r.status_code == 422 and "Queue" in r.json()["detail"]


def test_html_bleibt_text(api, agent):
    boese = "<script>alert('x')</script><img src=x onerror=alert(1)> '; DROP TABLE ticket; --"
    t = anlegen(api, agent, anliegen=boese)
    r = api.get(f"/api/v1/tickets/{t['nummer']}", headers=agent.headers)
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["anliegen"] == boese
    assert api.get("/api/v1/tickets", headers=agent.headers).json()["anzahl"] >= 1  # the table still exists


def test_lesen_mit_zeitleiste_und_404(api, agent):
    t = anlegen(api, agent)
    r = api.get(f"/api/v1/tickets/{t['nummer']}", headers=agent.headers)
    assert r.status_code == 200
    d = r.json()
    assert d["nummer"] == t["nummer"] and d["artikel"] == []
    assert [(e["typ"], e["feld"], e["neu"]) for e in d["zeitleiste"]] == [("aenderung", "status", "neu")]
    assert d["zeitleiste"][0]["benutzer_id"] == agent.benutzer.id
    for falsch in ("115-2026-999999", "gibtsnicht", "115-2026-1"):
        r = api.get(f"/api/v1/tickets/{falsch}", headers=agent.headers)
        assert r.status_code == 404 and "gibt es nicht" in r.json()["detail"]


def test_patch_status_und_historie(api, agent, uhr, db_session):
    t = anlegen(api, agent)
    uhr.jetzt = datetime(2026, 11, 16, 10, tzinfo=UTC)
    r = api.patch(f"/api/v1/tickets/{t['nummer']}", headers=agent.headers,
                  json={"version": 1, "status": "wartet_auf_rueckmeldung", "prioritaet": "hoch"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["status"] == "wartet_auf_rueckmeldung" and d["buergerstatus"] == "ACTION_REQUIRED"
    assert d["version"] == 2 and d["sla_pausiert"] is True
    uhr.jetzt = datetime(2026, 11, 16, 12, tzinfo=UTC)  # 2 service hours paused
    r = api.patch(f"/api/v1/tickets/{t['nummer']}", headers=agent.headers,
                  json={"version": 2, "status": "in_bearbeitung", "assignee_id": agent.benutzer.id})
    d = r.json()
    assert r.status_code == 200 and d["faellig_am"] == "2026-11-18T15:00:00Z" and d["sla_pausiert"] is False
    felder = [e["feld"] for e in api.get(f"/api/v1/tickets/{t['nummer']}", headers=agent.headers)
              .json()["zeitleiste"]]
    assert felder.count("status") == 3 and "prioritaet" in felder and "faellig_am" in felder
    assert "assignee_id" in felder
    # null clears the assignee
    r = api.patch(f"/api/v1/tickets/{t['nummer']}", headers=agent.headers, json={"version": 3, "assignee_id": None})
    assert r.status_code == 200 and r.json()["assignee_id"] is None


def test_patch_veraltete_version_409_mit_aktuellem_stand(api, agent, db_session):
    t = anlegen(api, agent)
    url = f"/api/v1/tickets/{t['nummer']}"
    assert api.patch(url, headers=agent.headers, json={"version": 1, "prioritaet": "hoch"}).status_code == 200
    r = api.patch(url, headers=agent.headers, json={"version": 1, "status": "erledigt", "prioritaet": "niedrig"})
    assert r.status_code == 409
    body = r.json()
    assert "inzwischen von jemand anderem geändert" in body["detail"] and "bleiben erhalten" in body["detail"]
    assert body["aktuell"]["version"] == 2 and body["aktuell"]["prioritaet"] == "hoch"
    assert body["aktuell"]["status"] == "neu"
    t2 = api.get(url, headers=agent.headers).json()
    assert (t2["status"], t2["prioritaet"], t2["version"]) == ("neu", "hoch", 2)


def test_patch_ungueltiger_uebergang_und_felder_422(api, agent, db_session):
    t = anlegen(api, agent)
    url = f"/api/v1/tickets/{t['nummer']}"
    assert api.patch(url, headers=agent.headers, json={"version": 1, "status": "erledigt"}).status_code == 200
    r = api.patch(url, headers=agent.headers, json={"version": 2, "status": "wartet_auf_rueckmeldung"})
    assert r.status_code == 422 and "nicht erlaubt" in r.json()["detail"]
    assert api.patch(url, headers=agent.headers, json={"version": 2, "status": "geschlossen"}).status_code == 200
    r = api.patch(url, headers=agent.headers, json={"version": 3, "status": "in_bearbeitung"})
    assert r.status_code == 422 and "geschlossen" in r.json()["detail"]
    t = anlegen(api, agent)
    url = f"/api/v1/tickets/{t['nummer']}"
    api.patch(url, headers=agent.headers, json={"version": 1, "status": "wartet_auf_rueckmeldung"})
    r = api.patch(url, headers=agent.headers, json={"version": 2, "status": "an_fachverfahren_uebergeben"})
    assert r.status_code == 422 and "„wartet auf Rückmeldung“" in r.json()["detail"]
    for falsch in ({"version": 2, "status": "unbekannt"}, {"status": "erledigt"}, {"version": 2, "farbe": "rot"},
                   {"version": 2, "assignee_id": 999999}, {"version": 2, "queue_id": "abc"}):
        r = api.patch(url, headers=agent.headers, json=falsch)
        assert r.status_code == 422, falsch
    anzahl = db_session.scalar(select(func.count()).select_from(TicketHistorie)
                               .join(Ticket).where(Ticket.nummer == t["nummer"]))
    assert anzahl == 2 and api.get(url, headers=agent.headers).json()["version"] == 2


def test_fremde_queue_403_und_nichts_aendert_sich(api, api_token, db_session):
    standesamt, buergerbuero = oe(db_session, "Standesamt"), oe(db_session, "Bürgerbüro")
    a_std, a_bb = api_token(Rolle.agent), api_token(Rolle.agent)
    ts.queue_mitglied_hinzufuegen(db_session, benutzer_id=a_std.benutzer.id, organisationseinheit_id=standesamt.id)
    ts.queue_mitglied_hinzufuegen(db_session, benutzer_id=a_bb.benutzer.id, organisationseinheit_id=buergerbuero.id)
    db_session.commit()
    t = anlegen(api, a_bb, queue_id=buergerbuero.id)
    url = f"/api/v1/tickets/{t['nummer']}"
    r = api.get(url, headers=a_std.headers)
    assert r.status_code == 403 and "keinen Zugriff" in r.json()["detail"]
    r = api.patch(url, headers=a_std.headers, json={"version": 1, "status": "erledigt", "queue_id": standesamt.id})
    assert r.status_code == 403
    r = api.post(f"{url}/artikel", headers=a_std.headers, json={"text": "fremd"})
    assert r.status_code == 403
    aktuell = api.get(url, headers=a_bb.headers).json()
    assert (aktuell["status"], aktuell["version"], aktuell["queue_id"], aktuell["artikel"]) == (
        "neu", 1, buergerbuero.id, [])
    assert t["nummer"] not in {x["nummer"] for x in api.get("/api/v1/tickets", headers=a_std.headers)
                               .json()["tickets"]}
    leitung = api_token(Rolle.teamleitung)
    assert api.get(url, headers=leitung.headers).status_code == 200
    # Forwarding into another queue is allowed; afterwards the sender has no access any more.
    r = api.patch(url, headers=a_bb.headers, json={"version": 1, "queue_id": standesamt.id})
    assert r.status_code == 200
    assert api.get(url, headers=a_bb.headers).status_code == 403
    assert api.get(url, headers=a_std.headers).status_code == 200


def test_artikel_notiz_nachricht_anhang(api, agent, app):
    app.state.settings = app.state.settings.model_copy(update={"anhang_max_bytes": 100})
    t = anlegen(api, agent)
    url = f"/api/v1/tickets/{t['nummer']}/artikel"
    r = api.post(url, headers=agent.headers, json={"art": "notiz", "text": "<b>intern</b>"})
    assert r.status_code == 201 and r.json()["art"] == "notiz" and r.json()["text"] == "<b>intern</b>"
    inhalt = b"Hallo Anhang"
    r = api.post(url, headers=agent.headers, json={
        "art": "nachricht", "text": "Ihr Ausweis liegt bereit.",
        "anhaenge": [{"dateiname": "info.txt", "mimetyp": "text/plain",
                      "inhalt_base64": base64.b64encode(inhalt).decode()}]})
    assert r.status_code == 201, r.text
    anhang = r.json()["anhaenge"][0]
    assert anhang["groesse"] == len(inhalt) and anhang["dateiname"] == "info.txt"
    r = api.get(f"/api/v1/tickets/{t['nummer']}/anhaenge/{anhang['id']}", headers=agent.headers)
    assert r.status_code == 200 and r.content == inhalt and "attachment" in r.headers["content-disposition"]
    r = api.post(url, headers=agent.headers, json={
        "text": "zu groß", "anhaenge": [{"dateiname": "gross.bin", "inhalt_base64": base64.b64encode(b"x" * 101)
                                         .decode()}]})
    assert r.status_code == 422 and "zu groß" in r.json()["detail"]
    for falsch in ({"art": "brief", "text": "x"}, {"text": "x" * 20_001}, {"text": "  "}):
        assert api.post(url, headers=agent.headers, json=falsch).status_code == 422
    d = api.get(f"/api/v1/tickets/{t['nummer']}", headers=agent.headers).json()
    assert [a["art"] for a in d["artikel"]] == ["notiz", "nachricht"]
    assert [e["typ"] for e in d["zeitleiste"]] == ["aenderung", "artikel", "artikel"]
    assert d["version"] == 1
    assert api.get(f"/api/v1/tickets/{t['nummer']}/anhaenge/999999", headers=agent.headers).status_code == 404


def test_artikel_aus_textbaustein(api, agent, api_token, db_session):
    leitung = api_token(Rolle.teamleitung)
    r = api.post("/api/v1/textbausteine", headers=agent.headers, json={"name": "x", "text": "y"})
    assert r.status_code == 403
    r = api.post("/api/v1/textbausteine", headers=leitung.headers,
                 json={"name": "Eingang", "text": "Ihre Anfrage {{ ticket.nummer }} ist eingegangen."})
    assert r.status_code == 201
    tb = r.json()
    r = api.post("/api/v1/textbausteine", headers=leitung.headers,
                 json={"name": "Böse", "text": "{{ ticket.__class__ }}"})
    assert r.status_code == 422 and "Platzhalter" in r.json()["detail"]
    assert [x["name"] for x in api.get("/api/v1/textbausteine", headers=agent.headers).json()] == ["Eingang"]
    t = anlegen(api, agent)
    r = api.post(f"/api/v1/tickets/{t['nummer']}/artikel", headers=agent.headers,
                 json={"art": "nachricht", "textbaustein_id": tb["id"], "text": "Viele Grüße"})
    assert r.status_code == 201
    assert r.json()["text"] == f"Ihre Anfrage {t['nummer']} ist eingegangen.\n\nViele Grüße"


def test_liste_mit_filtern(api, agent, api_token, uhr, db_session):
    andere = api_token(Rolle.agent)
    mein = anlegen(api, agent, assignee_id=agent.benutzer.id)
    frei = anlegen(api, agent)
    uhr.jetzt = datetime(2026, 11, 13, 9, tzinfo=UTC)  # Friday before: due Tue 17.11. 13:00 UTC
    alt = anlegen(api, agent, assignee_id=andere.benutzer.id)
    uhr.jetzt = datetime(2026, 11, 17, 10, tzinfo=UTC)  # Tue 11:00 local: alt has 2 h left

    def liste(query=""):
        r = api.get(f"/api/v1/tickets{query}", headers=agent.headers)
        assert r.status_code == 200, r.text
        return [x["nummer"] for x in r.json()["tickets"]]

    assert liste() == [alt["nummer"], mein["nummer"], frei["nummer"]]
    assert liste("?filter=mein") == [mein["nummer"]]
    assert liste("?filter=unzugewiesen") == [frei["nummer"]]
    assert liste("?filter=bald_faellig") == [alt["nummer"]]
    assert liste("?filter=ueberfaellig") == []
    uhr.jetzt = datetime(2026, 11, 17, 13, tzinfo=UTC)
    assert liste("?filter=ueberfaellig") == [alt["nummer"]]
    r = api.get("/api/v1/tickets?filter=ueberfaellig", headers=agent.headers).json()
    assert r["tickets"][0]["ueberfaellig"] is True and r["anzahl"] == 1
    assert liste("?filter=mein,unzugewiesen") == []
    assert liste("?filter=mein&filter=unzugewiesen") == []
    assert liste("?filter=team") == []  # no queue membership
    assert liste("?status=erledigt") == []
    r = api.get("/api/v1/tickets?filter=alles", headers=agent.headers)
    assert r.status_code == 422 and "Unbekannter Filter" in r.json()["detail"]
    assert api.get("/api/v1/tickets?limit=0", headers=agent.headers).status_code == 422


def test_zusammenfuehren(api, agent):
    ziel, quelle = anlegen(api, agent), anlegen(api, agent, anliegen="Doppelt angerufen")
    api.post(f"/api/v1/tickets/{quelle['nummer']}/artikel", headers=agent.headers, json={"text": "Notiz Quelle"})
    r = api.post(f"/api/v1/tickets/{quelle['nummer']}/zusammenfuehren", headers=agent.headers,
                 json={"ziel": ziel["nummer"], "version": 1})
    assert r.status_code == 200 and r.json()["nummer"] == ziel["nummer"]
    q = api.get(f"/api/v1/tickets/{quelle['nummer']}", headers=agent.headers).json()
    assert q["status"] == "geschlossen" and q["zusammengefuehrt_in"] == ziel["nummer"]
    z = api.get(f"/api/v1/tickets/{ziel['nummer']}", headers=agent.headers).json()
    assert [a["text"] for a in z["artikel"]] == ["Notiz Quelle"]
    assert {e["ticket_nummer"] for e in z["zeitleiste"]} == {ziel["nummer"], quelle["nummer"]}
    r = api.post(f"/api/v1/tickets/{quelle['nummer']}/zusammenfuehren", headers=agent.headers,
                 json={"ziel": ziel["nummer"]})
    assert r.status_code == 422
    r = api.post(f"/api/v1/tickets/{ziel['nummer']}/zusammenfuehren", headers=agent.headers,
                 json={"ziel": "115-2026-999999"})
    assert r.status_code == 404


def test_uebergeben_nur_ueber_die_uebergabe(api, agent, db_session):
    # Set directly, the ticket would look handed off while nothing is ever delivered.
    t = anlegen(api, agent)
    url = f"/api/v1/tickets/{t['nummer']}"
    assert api.patch(url, headers=agent.headers, json={"version": 1, "status": "in_bearbeitung"}).status_code == 200
    r = api.patch(url, headers=agent.headers, json={"version": 2, "status": "an_fachverfahren_uebergeben"})
    assert r.status_code == 422 and "Übergabe" in r.json()["detail"]
    assert api.get(url, headers=agent.headers).json()["status"] == "in_bearbeitung"

"""Citizen status: access codes, the citizen view (nothing personal, nothing internal), status e-mails via the
outbox, the page /status, the API /api/v1/status/{nummer} and the look-up limit."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from servicecenter.auth.models import Rolle
from servicecenter.outbox.models import OutboxEintrag
from servicecenter.status import service as st
from servicecenter.tickets import service as ts
from servicecenter.tickets.models import ArtikelArt, Kanal, Ticket, TicketHistorie
from servicecenter.tickets.zustaende import Buergerstatus, Zustand
from wissensdatenbank.models import Leistung

EINST = ts.TicketEinstellungen()
MONTAG = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
PERSOENLICH = ("Erika Mustermann", "erika@example.org", "0345 123456", "Geheime interne Notiz", "Sachbearbeiterin")


def neu(db_session, *, buerger=None, jetzt=MONTAG, **kw):
    kw.setdefault("anliegen", "Ausweis verloren, Erika Mustermann, Tel. 0345 123456")
    kw.setdefault("kanal", Kanal.telefon)
    return ts.ticket_anlegen(db_session, benutzer=None, einstellungen=EINST, buerger=buerger, jetzt=jetzt, **kw)


def mit_kontakt(einwilligung=True):
    return ts.BuergerDaten(name="Erika Mustermann", telefon="0345 123456", email="erika@example.org",
                           einwilligung=einwilligung)


def status_mails(db_session):
    return list(db_session.scalars(
        select(OutboxEintrag).where(OutboxEintrag.art == st.OUTBOX_ART).order_by(OutboxEintrag.id)))


# --- access codes ---------------------------------------------------------------------------------------------


def test_zugangscode_zufaellig_und_nur_als_hash_gespeichert(db_session):
    a, b = neu(db_session), neu(db_session)
    for t in (a, b):
        assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", t.zugangscode)
        assert t.zugangscode_hash.startswith("pbkdf2_sha256$") and t.zugangscode not in t.zugangscode_hash
        assert not set(t.zugangscode) & set("01IOL")
    assert a.zugangscode != b.zugangscode and a.zugangscode_hash != b.zugangscode_hash
    gespeichert = db_session.scalar(select(Ticket.zugangscode_hash).where(Ticket.id == a.id))
    assert gespeichert == a.zugangscode_hash and st.zugangscode_pruefen(gespeichert, a.zugangscode)


def test_zugangscode_pruefen_tolerant_bei_schreibweise_streng_beim_inhalt():
    h = st.zugangscode_hashen("ABCD-EFGH-JKMN")
    assert st.zugangscode_pruefen(h, "abcd efgh jkmn")
    assert st.zugangscode_pruefen(h, "ABCDEFGHJKMN")
    assert not st.zugangscode_pruefen(h, "ABCD-EFGH-JKMP")
    assert not st.zugangscode_pruefen(h, "")
    assert not st.zugangscode_pruefen(None, "ABCD-EFGH-JKMN")
    assert not st.zugangscode_pruefen("kaputt", "ABCD-EFGH-JKMN")


def test_code_nicht_aus_nummer_ableitbar(db_session):
    codes = {neu(db_session).zugangscode for _ in range(20)}
    assert len(codes) == 20


# --- citizen view -------------------------------------------------------------------------------------------------


def test_auskunft_nur_mit_richtigem_code_und_gleiche_antwort_sonst(db_session):
    t = neu(db_session)
    assert st.status_abfragen(db_session, nummer=t.nummer, code=t.zugangscode).status == Buergerstatus.RECEIVED
    anderer = neu(db_session)
    assert st.status_abfragen(db_session, nummer=t.nummer, code=anderer.zugangscode) is None
    assert st.status_abfragen(db_session, nummer="115-2026-999999", code=t.zugangscode) is None
    assert st.status_abfragen(db_session, nummer="Unsinn", code="") is None


def test_verlauf_nur_buergerstatus_mit_datum(db_session):
    t = neu(db_session, leistung_id=None)
    ts.ticket_aendern(db_session, t, version=None, benutzer=None, einstellungen=EINST, status=Zustand.in_bearbeitung,
                      jetzt=MONTAG + timedelta(hours=1))
    ts.ticket_aendern(db_session, t, version=None, benutzer=None, einstellungen=EINST,
                      status=Zustand.an_fachverfahren_uebergeben, jetzt=MONTAG + timedelta(hours=2), uebergabe=True)  # still PROCESSING
    ts.ticket_aendern(db_session, t, version=None, benutzer=None, einstellungen=EINST, status=Zustand.in_bearbeitung,
                      jetzt=MONTAG + timedelta(hours=2, minutes=30))
    ts.artikel_anlegen(db_session, t, art=ArtikelArt.notiz, text="Geheime interne Notiz", benutzer=None,
                       einstellungen=EINST)
    ts.ticket_aendern(db_session, t, version=None, benutzer=None, einstellungen=EINST,
                      status=Zustand.wartet_auf_rueckmeldung, jetzt=MONTAG + timedelta(hours=3))
    ts.ticket_aendern(db_session, t, version=None, benutzer=None, einstellungen=EINST, status=Zustand.erledigt,
                      jetzt=MONTAG + timedelta(days=1))
    a = st.status_abfragen(db_session, nummer=t.nummer, code=t.zugangscode)
    assert [e.status for e in a.verlauf] == [
        Buergerstatus.RECEIVED, Buergerstatus.PROCESSING, Buergerstatus.ACTION_REQUIRED, Buergerstatus.COMPLETED,
    ]
    assert a.verlauf[1].zeitpunkt == MONTAG + timedelta(hours=1)
    assert a.status == Buergerstatus.COMPLETED and a.text.titel == "Abgeschlossen"


def test_verlauf_liest_buergerstatus_zeilen_von_rueckmeldungen(db_session):
    t = neu(db_session)
    db_session.add(TicketHistorie(ticket_id=t.id, feld="buergerstatus", alt="RECEIVED", neu="ACTION_REQUIRED",
                                  zeitpunkt=MONTAG + timedelta(hours=5)))
    t.buergerstatus = Buergerstatus.ACTION_REQUIRED
    db_session.flush()
    a = st.status_abfragen(db_session, nummer=t.nummer, code=t.zugangscode)
    assert [e.status for e in a.verlauf] == [Buergerstatus.RECEIVED, Buergerstatus.ACTION_REQUIRED]


def test_alle_status_haben_deutsche_texte():
    for s in Buergerstatus:
        text = st.STATUS_TEXTE[s]
        assert text.titel and text.erklaerung and text.naechster_schritt


# --- status e-mails ----------------------------------------------------------------------------------------------


def test_status_mail_nur_mit_einwilligung_und_nur_ids_im_payload(db_session):
    mit = neu(db_session, buerger=mit_kontakt())
    ohne = neu(db_session)
    for t in (mit, ohne):
        ts.ticket_aendern(db_session, t, version=None, benutzer=None, einstellungen=EINST,
                          status=Zustand.in_bearbeitung)
    mails = status_mails(db_session)
    assert len(mails) == 1
    assert mails[0].payload == {"ticket_id": mit.id, "buergerstatus": "PROCESSING"}
    # same citizen status again (in_bearbeitung → an_fachverfahren_uebergeben): no second mail
    ts.ticket_aendern(db_session, mit, version=None, benutzer=None, einstellungen=EINST,
                      status=Zustand.an_fachverfahren_uebergeben, uebergabe=True)
    assert len(status_mails(db_session)) == 1
    ts.ticket_aendern(db_session, mit, version=None, benutzer=None, einstellungen=EINST, status=Zustand.erledigt)
    assert [m.payload["buergerstatus"] for m in status_mails(db_session)] == ["PROCESSING", "COMPLETED"]


def test_status_mail_in_derselben_transaktion(session_factory):
    s = session_factory()
    t = neu(s, buerger=mit_kontakt())
    s.commit()
    ts.ticket_aendern(s, t, version=None, benutzer=None, einstellungen=EINST, status=Zustand.in_bearbeitung)
    s.rollback()
    assert status_mails(s) == []
    s.close()


def test_status_mail_inhalt_liest_adresse_beim_senden(db_session):
    t = neu(db_session, buerger=mit_kontakt())
    ts.ticket_aendern(db_session, t, version=None, benutzer=None, einstellungen=EINST,
                      status=Zustand.wartet_auf_rueckmeldung)
    payload = status_mails(db_session)[0].payload
    mail = st.status_email_inhalt(db_session, payload, basis_url="https://service.halle.de/")
    assert mail.empfaenger == "erika@example.org"
    assert t.nummer in mail.betreff and "Ihre Mithilfe ist nötig" in mail.text
    assert f"https://service.halle.de/status?nummer={t.nummer}" in mail.text
    assert t.zugangscode not in mail.text  # the code is never sent by mail
    t.einwilligung, t.kontakt_email = False, None  # consent withdrawn before sending
    assert st.status_email_inhalt(db_session, payload, basis_url="https://x") is None


# --- limiter -------------------------------------------------------------------------------------------------------


def test_begrenzer_gleitendes_fenster():
    jetzt = [0.0]
    b = st.Begrenzer(3, 60, uhr=lambda: jetzt[0])
    assert [b.versuch("a") for _ in range(3)] == [None, None, None]
    assert b.versuch("a") == pytest.approx(60)
    assert b.versuch("b") is None  # per client
    jetzt[0] = 30
    assert b.versuch("a") == pytest.approx(30)
    jetzt[0] = 60.5
    assert b.versuch("a") is None


# --- web page and API ------------------------------------------------------------------------------------------------


@pytest.fixture
def ticket(db_session, uhr):
    uhr.jetzt = MONTAG
    leistung = Leistung(leistungsname="Personalausweis beantragen")
    db_session.add(leistung)
    db_session.flush()
    t = neu(db_session, buerger=mit_kontakt(), leistung_id=leistung.id)
    ts.artikel_anlegen(db_session, t, art=ArtikelArt.notiz, text="Geheime interne Notiz", benutzer=None,
                       einstellungen=EINST)
    ts.ticket_aendern(db_session, t, version=None, benutzer=None, einstellungen=EINST, status=Zustand.in_bearbeitung,
                      jetzt=MONTAG + timedelta(hours=2))
    db_session.commit()
    return t


def formular(web_client, nummer=""):
    r = web_client.get("/status" + (f"?nummer={nummer}" if nummer else ""))
    assert r.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1), r


def test_seite_formular_barrierearm(web_client):
    _, r = formular(web_client, "115-2026-000001")
    assert '<html lang="de">' in r.text and "<h1>Bearbeitungsstand abfragen</h1>" in r.text
    assert '<label for="nummer">' in r.text and '<label for="code">' in r.text
    assert 'value="115-2026-000001"' in r.text
    assert "<script" not in r.text and "style=" not in r.text
    assert r.headers["cache-control"] == "no-store"


def test_seite_zeigt_status_und_verlauf_ohne_persoenliches(web_client, ticket):
    token, _ = formular(web_client)
    r = web_client.post("/status", data={"nummer": ticket.nummer, "code": ticket.zugangscode.lower(),
                                         "csrf_token": token})
    assert r.status_code == 200, r.text
    assert "Aktueller Status: In Bearbeitung" in r.text and "Wie geht es weiter?" in r.text
    assert "Eingegangen" in r.text and "16.11.2026, 10:00 Uhr" in r.text and "16.11.2026, 12:00 Uhr" in r.text
    assert "Personalausweis beantragen" in r.text
    for geheim in PERSOENLICH + ("Ausweis verloren",):
        assert geheim not in r.text
    assert ticket.zugangscode not in r.text


def test_seite_falscher_code_wie_unbekannte_nummer(web_client, ticket):
    token, _ = formular(web_client)
    falsch = web_client.post("/status", data={"nummer": ticket.nummer, "code": "AAAA-AAAA-AAAA", "csrf_token": token})
    unbekannt = web_client.post("/status", data={"nummer": "115-2026-999999", "code": "AAAA-AAAA-AAAA",
                                                 "csrf_token": token})
    assert falsch.status_code == unbekannt.status_code == 404
    entferne = re.compile(r'value="[^"]*"')
    assert entferne.sub("", falsch.text) == entferne.sub("", unbekannt.text)
    assert st.NICHT_GEFUNDEN_TEXT in falsch.text


def test_seite_ohne_formular_token_403(web_client, ticket):
    r = web_client.post("/status", data={"nummer": ticket.nummer, "code": ticket.zugangscode, "csrf_token": "x"})
    assert r.status_code == 403 and "abgelaufen" in r.text and "In Bearbeitung" not in r.text


def test_api_status(web_client, ticket):
    r = web_client.get(f"/api/v1/status/{ticket.nummer}", params={"code": ticket.zugangscode})
    assert r.status_code == 200
    d = r.json()
    assert d["status"] == "PROCESSING" and d["status_text"] == "In Bearbeitung"
    assert [v["status"] for v in d["verlauf"]] == ["RECEIVED", "PROCESSING"]
    assert d["thema"] == "Personalausweis beantragen" and d["naechster_schritt"]
    for geheim in PERSOENLICH + ("Ausweis verloren",):
        assert geheim not in r.text
    assert r.headers["cache-control"] == "no-store"


def test_api_falsch_und_unbekannt_gleich_und_nie_422(web_client, ticket):
    falsch = web_client.get(f"/api/v1/status/{ticket.nummer}", params={"code": "AAAA-AAAA-AAAA"})
    unbekannt = web_client.get("/api/v1/status/115-2026-999999", params={"code": "AAAA-AAAA-AAAA"})
    ohne_code = web_client.get(f"/api/v1/status/{ticket.nummer}")
    assert falsch.status_code == unbekannt.status_code == ohne_code.status_code == 404
    assert falsch.json() == unbekannt.json() == ohne_code.json() == {"detail": st.NICHT_GEFUNDEN_TEXT}


def test_api_nach_statuswechsel_aktuell(web_client, ticket, db_session):
    ts.ticket_aendern(db_session, ticket, version=None, benutzer=None, einstellungen=EINST, status=Zustand.erledigt)
    db_session.commit()
    d = web_client.get(f"/api/v1/status/{ticket.nummer}", params={"code": ticket.zugangscode}).json()
    assert d["status"] == "COMPLETED"


def test_begrenzung_429_fuer_seite_und_api(app, web_client, ticket):
    app.state.status_begrenzer = st.Begrenzer(3, 600)
    for _ in range(3):
        assert web_client.get(f"/api/v1/status/{ticket.nummer}", params={"code": "falsch"}).status_code == 404
    r = web_client.get(f"/api/v1/status/{ticket.nummer}", params={"code": ticket.zugangscode})
    assert r.status_code == 429 and r.json()["detail"] == st.ZU_VIELE_TEXT and int(r.headers["retry-after"]) >= 1
    token, _ = formular(web_client)
    r = web_client.post("/status", data={"nummer": ticket.nummer, "code": ticket.zugangscode, "csrf_token": token})
    assert r.status_code == 429 and "zu viele Abfragen" in r.text


def test_ticket_api_gibt_zugangscode_einmal_aus(web_client, uhr, api_token, db_session):
    uhr.jetzt = MONTAG
    agent = api_token(Rolle.agent)
    r = web_client.post("/api/v1/tickets", json={"anliegen": "Ausweis verloren", "kanal": "telefon"},
                        headers=agent.headers)
    assert r.status_code == 201
    d = r.json()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", d["zugangscode"])
    assert d["status_link"].endswith(f"/status?nummer={d['nummer']}")
    gelesen = web_client.get(f"/api/v1/tickets/{d['nummer']}", headers=agent.headers).json()
    assert "zugangscode" not in gelesen and d["zugangscode"] not in str(gelesen)
    assert web_client.get(f"/api/v1/status/{d['nummer']}", params={"code": d["zugangscode"]}).status_code == 200

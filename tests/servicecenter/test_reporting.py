"""Supervisor dashboard: periods, the 115 figures on a constructed data set, charts, CSV export, roles."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from servicecenter.auth.models import Rolle
from servicecenter.cti import service as cs
from servicecenter.kontakte import service as ks
from servicecenter.kontakte.models import Ergebnis
from servicecenter.reporting import service as rs
from servicecenter.reporting import svg
from servicecenter.tickets import service as ts
from servicecenter.tickets.models import ArtikelArt, Kanal
from servicecenter.tickets.zustaende import Zustand
from wissensdatenbank.models import Leistung, Organisationseinheit

BERLIN = ZoneInfo("Europe/Berlin")
EINST = ts.TicketEinstellungen()
JETZT = datetime(2031, 6, 11, 16, 0, tzinfo=BERLIN)  # a Wednesday, 16:00 local


def lokal(h, m=0, s=0, tag=11):
    return datetime(2031, 6, tag, h, m, s, tzinfo=BERLIN)



# --- periods ----------------------------------------------------------------------------------------------------


def test_zeitraeume():
    z = rs.zeitraum("heute", jetzt=JETZT)
    assert (z.von, z.bis, z.ein_tag) == (lokal(0), lokal(0, tag=12), True)
    w = rs.zeitraum("woche", jetzt=JETZT)
    assert (w.von.date(), w.bis.date(), len(w.tage)) == (date(2031, 6, 9), date(2031, 6, 16), 7)
    assert rs.zeitraum("7tage", jetzt=JETZT).von.date() == date(2031, 6, 5)
    assert len(rs.zeitraum("30tage", jetzt=JETZT).tage) == 30
    f = rs.zeitraum("frei", jetzt=JETZT, von=date(2031, 1, 1), bis=date(2031, 1, 31))
    assert (f.von, f.bis.date(), len(f.tage)) == (datetime(2031, 1, 1, tzinfo=BERLIN), date(2031, 2, 1), 31)
    # Local midnight, not UTC midnight (summer time: 22:00 UTC the day before).
    assert z.von.astimezone(UTC) == datetime(2031, 6, 10, 22, tzinfo=UTC)


@pytest.mark.parametrize("kw, text", [
    ({"von": None, "bis": date(2031, 1, 1)}, "Anfangs- und Enddatum"),
    ({"von": date(2031, 2, 1), "bis": date(2031, 1, 1)}, "vor dem Anfangsdatum"),
    ({"von": date(2029, 1, 1), "bis": date(2031, 1, 1)}, "höchstens"),
])
def test_freier_zeitraum_fehler(kw, text):
    with pytest.raises(rs.ZeitraumFehler, match=text):
        rs.zeitraum("frei", jetzt=JETZT, **kw)
    with pytest.raises(rs.ZeitraumFehler):
        rs.zeitraum("gestern", jetzt=JETZT)


# --- constructed data set ---------------------------------------------------------------------------------------


@pytest.fixture
def daten(db_session):
    """Known figures: Erstlösung 3/4, service level 2/4, forwarded in time 1/3, backlog Q1 2 (2 overdue),
    Q2 1 (0 overdue), channels Telefon 3 / E-Mail 1, Leistung A 3x, B 1x."""
    la = Leistung(leistungsname="=HYPERLINK(\"http://böse.example\")")  # formula injection attempt
    lb = Leistung(leistungsname="Hund anmelden")
    q1 = Organisationseinheit(name="Reporting-Queue Eins")
    q2 = Organisationseinheit(name="Reporting-Queue Zwei")
    db_session.add_all([la, lb, q1, q2])
    db_session.flush()

    def kontakt(zeit, ergebnis=Ergebnis.beim_erstkontakt_beantwortet, kanal=Kanal.telefon, leistung=la, **kw):
        return ks.kontakt_anlegen(db_session, kanal=kanal, ergebnis=ergebnis, benutzer=None, einstellungen=EINST,
                                  leistung_id=leistung.id, jetzt=zeit, **kw)

    kontakt(lokal(8, 30))
    kontakt(lokal(9, 10))
    kontakt(lokal(9, 20), kanal=Kanal.email, leistung=lb)
    k4 = kontakt(lokal(10, 5), Ergebnis.weitergeleitet, anliegen="Weiter an das Ordnungsamt")
    kontakt(lokal(12, tag=10))  # yesterday: outside the period

    def anruf(cid, beginn, antwort=None, ende=None, richtung="in"):
        cs.ereignis_verarbeiten(db_session, ereignis=cs.CtiEreignis("newCall", cid, "0345 2210", "115", richtung),
                                jetzt=beginn)
        if antwort is not None:
            cs.ereignis_verarbeiten(db_session, ereignis=cs.CtiEreignis("answer", cid),
                                    jetzt=beginn + timedelta(seconds=antwort))
        if ende is not None:
            cs.ereignis_verarbeiten(db_session, ereignis=cs.CtiEreignis("hangup", cid),
                                    jetzt=beginn + timedelta(seconds=ende))

    anruf("rep-c1", lokal(8, 0), 10, 300)
    anruf("rep-c2", lokal(8, 5), 30, 200)
    anruf("rep-c3", lokal(9, 0), 45, 200)
    anruf("rep-c4", lokal(9, 30), None, 20)  # missed
    anruf("rep-c5", lokal(10, 0))  # still ringing: not counted
    anruf("rep-c6", lokal(11, 0), 5, 60, richtung="out")  # outbound: not counted
    anruf("rep-c7", lokal(8, 0, tag=10), 100, 200)  # yesterday

    def ticket(zeit, faellig, queue):
        t = ts.ticket_anlegen(db_session, anliegen="Anliegen", kanal=Kanal.telefon, benutzer=None,
                              einstellungen=EINST, queue_id=queue.id, jetzt=zeit)
        t.faellig_am = faellig
        db_session.flush()
        return t

    ta = ticket(lokal(8), lokal(12), q1)
    ts.artikel_anlegen(db_session, ta, art=ArtikelArt.nachricht, text="Antwort", benutzer=None, einstellungen=EINST,
                       jetzt=lokal(11))
    tb = ticket(lokal(8, 10), lokal(12), q1)
    ts.ticket_aendern(db_session, tb, version=tb.version, benutzer=None, einstellungen=EINST,
                      status=Zustand.erledigt, jetzt=lokal(13))
    tc = ticket(lokal(8, 20), lokal(12), q1)
    td = ticket(lokal(8, 30), lokal(12, tag=12), q2)
    db_session.flush()
    return {"la": la, "lb": lb, "q1": q1, "q2": q2, "ta": ta, "tb": tb, "tc": tc, "td": td, "k4": k4}


def test_kennzahlen_auf_bekannten_daten(db_session, daten):
    z = rs.zeitraum("heute", jetzt=JETZT)
    d = rs.dashboard(db_session, z, jetzt=JETZT)
    erst, sl, weiter = d.kennzahlen
    assert (erst.zaehler, erst.nenner, erst.wert, erst.erreicht) == (3, 4, 0.75, True)
    assert (sl.zaehler, sl.nenner, sl.wert, sl.erreicht) == (2, 4, 0.5, False)
    assert "1 verpasst" in sl.zusatz
    assert (weiter.zaehler, weiter.nenner, weiter.erreicht) == (1, 3, False)
    assert "2 noch nicht fällig" in weiter.zusatz  # td and the ticket of the forwarded contact
    bewertung = {r[0]: r[-1] for r in d.tabellen["weiterleitung"].zeilen}
    assert bewertung[daten["ta"].nummer] == "rechtzeitig"
    assert bewertung[daten["tb"].nummer] == "verspätet"
    assert bewertung[daten["tc"].nummer] == "überfällig, noch keine Antwort"
    assert bewertung[daten["td"].nummer] == "offen, noch nicht fällig"

    backlog = {r[0]: r[1:] for r in d.tabellen["backlog"].zeilen}
    assert backlog["Reporting-Queue Eins"] == [2, 2] and backlog["Reporting-Queue Zwei"] == [1, 0]
    ueber = {r[0] for r in d.tabellen["ueberfaellig"].zeilen}
    assert {daten["ta"].nummer, daten["tc"].nummer} <= ueber
    assert not {daten["tb"].nummer, daten["td"].nummer} & ueber

    kanal = {r[0]: r[1:] for r in d.tabellen["kanalmix"].zeilen}
    assert kanal["Telefon"][:2] == [3, "75,0\u00a0%"] and kanal["E-Mail"][:2] == [1, "25,0\u00a0%"] and kanal["Chat"][0] == 0
    assert d.tabellen["leistungen"].zeilen == [[1, daten["la"].leistungsname, 3], [2, "Hund anmelden", 1]]


def test_verlaeufe(db_session, daten):
    z = rs.zeitraum("heute", jetzt=JETZT)
    stunde = rs.volumen_pro_stunde(db_session, z)
    assert stunde.reihen["Eingehende Anrufe"][8:11] == [2, 2, 1]
    assert stunde.reihen["Kontakte"][8:11] == [1, 2, 1]
    sl = rs.servicelevel_verlauf(db_session, z)
    assert sl.reihen["Servicelevel"][8] == 1.0 and sl.reihen["Servicelevel"][9] == 0.0
    assert sl.reihen["Servicelevel"][10] is None
    woche = rs.zeitraum("woche", jetzt=JETZT)
    tag = rs.volumen_pro_tag(db_session, woche)
    assert tag.beschriftungen[1:3] == ["10.06.", "11.06."]
    assert tag.reihen["Eingehende Anrufe"][1:3] == [1, 5] and tag.reihen["Kontakte"][1:3] == [1, 4]
    slw = rs.servicelevel_verlauf(db_session, woche)
    assert slw.reihen["Servicelevel"][1:3] == [0.0, 0.5] and slw.reihen["Servicelevel"][0] is None


def test_leerer_zeitraum(db_session):
    z = rs.zeitraum("frei", jetzt=JETZT, von=date(2040, 1, 1), bis=date(2040, 1, 2))
    d = rs.dashboard(db_session, z, jetzt=JETZT)
    assert all(k.wert is None and k.erreicht is None for k in d.kennzahlen)
    assert rs.prozent(None) == "–"


def test_wissensluecken_wenn_tabelle_vorhanden(db_session):
    db_session.execute(text("INSERT INTO wissensluecke (anfrage, anzahl, erstmals_am, zuletzt_am) "
                            "VALUES (:a, :n, :t, :t)"), {"a": "@SUMME(A1) Sperrmüll Termin", "n": 987654, "t": JETZT})
    t = rs.wissensluecken(db_session)
    assert t is not None and t.zeilen[0] == ["@SUMME(A1) Sperrmüll Termin", 987654]
    assert "'@SUMME(A1)" in rs.als_csv(t)


# --- CSV --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wert, erwartet", [
    ("=1+1", "'=1+1"), ("+49 345", "'+49 345"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\r=x", "'\r=x"), ("Hund", "Hund"), ("a=b", "a=b"), (-3, "-3"), (2.5, "2.5"), (None, ""), (True, "ja"), ("", ""),
])
def test_csv_zelle(wert, erwartet):
    assert rs.csv_zelle(wert) == erwartet


def test_als_csv():
    t = rs.Tabelle(["Name", "Anzahl"], [["=cmd|' /C calc'!A0", 3], ['Semi;kolon "quote"', -1]])
    aus = rs.als_csv(t)
    assert aus.startswith("\ufeffName;Anzahl\r\n")
    assert "'=cmd|' /C calc'!A0;3\r\n" in aus and '"Semi;kolon ""quote""";-1\r\n' in aus


# --- SVG --------------------------------------------------------------------------------------------------------


def test_svg_zugaenglich_und_escaped():
    b = str(svg.balken("Aufkommen <je> Stunde", "Beschreibung & mehr", ["<08>", "09"], {"A": [1, 2], "B": [0, 3]}))
    assert b.startswith("<svg") and 'role="img"' in b and "aria-labelledby=" in b
    assert "<title" in b and "<desc" in b and "&lt;je&gt;" in b and "&amp; mehr" in b and "<08>" not in b
    assert "style=" not in b
    line = str(svg.linie("SL", "Text", ["a", "b", "c"], [0.5, None, 1.0], ziel=0.75))
    assert 'role="img"' in line and "Ziel 75 %" in line and line.count("<circle") == 2


# --- pages and roles --------------------------------------------------------------------------------------------


def test_dashboard_seite(web_client, anmelden, uhr, daten):
    uhr.jetzt = JETZT.astimezone(UTC)
    anmelden(Rolle.teamleitung)
    r = web_client.get("/teamleitung/dashboard?zeitraum=heute")
    assert r.status_code == 200
    h = r.text
    assert all(f"{w}\u00a0%" in h for w in ("75,0", "50,0", "33,3", "65,0", "100,0"))
    assert h.count('role="img"') == 3 and h.count("<desc") == 3 and "<caption>" in h
    assert "Reporting-Queue Eins" in h and "Ziel verfehlt" in h and "Ziel erreicht" in h
    assert '&#34;http://böse.example&#34;' in h or "&quot;http://böse.example&quot;" in h
    assert "/teamleitung/export/erstloesung.csv?zeitraum=heute" in h


def test_dashboard_freier_zeitraum_und_fehler(web_client, anmelden, uhr, daten):
    uhr.jetzt = JETZT.astimezone(UTC)
    anmelden(Rolle.admin)
    assert web_client.get("/teamleitung/dashboard?zeitraum=frei&von=2031-06-10&bis=2031-06-11").status_code == 200
    r = web_client.get("/teamleitung/dashboard?zeitraum=frei&von=2031-06-12&bis=2031-06-11")
    assert r.status_code == 422 and "vor dem Anfangsdatum" in r.text
    assert web_client.get("/teamleitung/dashboard?zeitraum=frei&von=kaputt&bis=2031-06-11").status_code == 422


def test_csv_export(web_client, anmelden, uhr, daten):
    uhr.jetzt = JETZT.astimezone(UTC)
    anmelden(Rolle.teamleitung)
    r = web_client.get("/teamleitung/export/leistungen.csv?zeitraum=heute")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="leistungen_2031-06-11_2031-06-11.csv"' in r.headers["content-disposition"]
    zeilen = r.text.lstrip("\ufeff").splitlines()
    assert zeilen[0] == "Rang;Leistung;Kontakte"
    assert zeilen[1] == '1;"\'=HYPERLINK(""http://böse.example"")";3'
    erst = web_client.get("/teamleitung/export/erstloesung.csv?zeitraum=heute").text.lstrip("\ufeff").splitlines()
    assert len(erst) == 5
    sl = web_client.get("/teamleitung/export/servicelevel.csv?zeitraum=heute").text
    assert "rep-c1" in sl and "rep-c7" not in sl and "0345" not in sl  # no phone numbers in the export
    for figur in rs.FIGUREN:
        assert web_client.get(f"/teamleitung/export/{figur}.csv?zeitraum=woche").status_code == 200, figur
    assert web_client.get("/teamleitung/export/gibtsnicht.csv").status_code == 404
    assert web_client.get("/teamleitung/export/backlog.csv?zeitraum=frei&von=x").status_code == 422


@pytest.mark.parametrize("rolle", [Rolle.agent, Rolle.redaktion])
def test_nur_teamleitung_und_admin(web_client, anmelden, rolle):
    anmelden(rolle)
    assert web_client.get("/teamleitung/dashboard").status_code == 403
    assert web_client.get("/teamleitung/export/erstloesung.csv").status_code == 403


def test_ohne_anmeldung(web_client, api_token):
    assert web_client.get("/teamleitung/export/erstloesung.csv").status_code == 401
    r = web_client.get("/teamleitung/dashboard", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/anmelden")
    assert web_client.get("/teamleitung/export/erstloesung.csv",
                          headers=api_token(Rolle.teamleitung).headers).status_code == 200

"""CTI: number normalisation, caller-ID lookup, idempotent events, service level, call-back (service level)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from servicecenter.cti import service as cs
from servicecenter.cti.models import Anruf, AnrufZustand, Richtung
from servicecenter.kontakte import service as ks
from servicecenter.kontakte.models import Ergebnis
from servicecenter.tickets import service as ts
from servicecenter.tickets.models import Kanal, Ticket
from servicecenter.tickets.zustaende import Zustand

EINST = ts.TicketEinstellungen()

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def ereignis(event, call_id="c1", **kw):
    kw.setdefault("von", "0345 2210")
    kw.setdefault("an", "115")
    kw.setdefault("richtung", "in" if event == "newCall" else "")
    return cs.CtiEreignis(event=event, call_id=call_id, **kw)


# --- numbers ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("roh", ["0345/221-0", "+49 345 2210", "0049 345 221 0", "0345 2210", "(0345) 22 10"])
def test_schreibweisen_ergeben_eine_nummer(roh):
    n = cs.normalisieren(roh)
    assert n.e164 == "+493452210" and not n.ungeprueft and not n.anonym and n.roh == roh


@pytest.mark.parametrize("roh, e164", [
    ("01701234567", "+491701234567"),
    ("+1 202 555 0100", "+12025550100"),
    ("00 43 1 5344 0", "+43153440"),
    ("4930609854180", "+4930609854180"),  # PBX style: country code without "+"
])
def test_andere_nummern(roh, e164):
    assert cs.normalisieren(roh).e164 == e164


@pytest.mark.parametrize("roh", ["2210", "+49 12", "0000000", "12345678901234567890"])
def test_unbrauchbare_nummer_roh_gespeichert_und_markiert(roh):
    n = cs.normalisieren(roh)
    assert n.e164 is None and n.ungeprueft and not n.anonym and n.roh == roh and n.anzeige == roh


@pytest.mark.parametrize("roh", ["", "anonymous", "Unknown", "  ", "restricted"])
def test_anonym(roh):
    n = cs.normalisieren(roh)
    assert n.anonym and n.e164 is None and n.anzeige == "Rufnummer unterdrückt"


def test_andere_region():
    assert cs.normalisieren("030 1234567", "DE").e164 == "+49301234567"
    assert cs.normalisieren("01 5344 0", "AT").e164 == "+43153440"


# --- matching ---------------------------------------------------------------------------------------------------

HALLE = cs.normalisieren("0345 2210")


@pytest.mark.parametrize("gespeichert, erwartet", [
    ("0345/221-0", (True, "gleiche Rufnummer")),
    ("+49 (345) 2210", (True, "gleiche Rufnummer")),
    ("+43 345 2210", (False, "gleiche Rufnummer, aber andere oder fehlende Ländervorwahl")),
    ("2210", (False, "nur ein Teil der Rufnummer stimmt überein")),
    ("22 10", (False, "nur ein Teil der Rufnummer stimmt überein")),
    ("210", None),
    ("0345 2211", None),
    ("0340 2210", None),
    ("", None),
])
def test_vergleichen_sicher_und_moeglich(gespeichert, erwartet):
    assert cs.vergleichen(gespeichert, HALLE) == erwartet


def test_vergleichen_ohne_gueltige_anrufernummer():
    assert cs.vergleichen("2210", cs.normalisieren("2210")) is None
    assert cs.vergleichen("2210", cs.normalisieren("anonymous")) is None


def _ticket(db_session, telefon, anliegen="Frage", jetzt=T0, **kw):
    return ts.ticket_anlegen(db_session, anliegen=anliegen, kanal=Kanal.telefon, benutzer=None, einstellungen=EINST,
                             buerger=ts.BuergerDaten(telefon=telefon, einwilligung=True), jetzt=jetzt, **kw)


def test_anrufer_erkennen_sicher_moeglich_und_offene_tickets(db_session):
    offen = _ticket(db_session, "0345/221-0", "Personalausweis verloren")
    erledigt = _ticket(db_session, "+49 345 2210", "Hundesteuer")
    ts.ticket_aendern(db_session, erledigt, version=erledigt.version, benutzer=None, einstellungen=EINST,
                      status=Zustand.erledigt, jetzt=T0 + timedelta(hours=1))
    ausland = _ticket(db_session, "+43 345 2210", "Anfrage aus Österreich")
    teil = _ticket(db_session, "221-0", "nur Durchwahl notiert")
    fremd = _ticket(db_session, "0345 9999", "andere Person")
    kontakt = ks.kontakt_anlegen(db_session, kanal=Kanal.telefon, ergebnis=Ergebnis.beim_erstkontakt_beantwortet,
                                 benutzer=None, einstellungen=EINST, anliegen="Öffnungszeiten",
                                 buerger=ts.BuergerDaten(telefon="0049 345 221 0", einwilligung=True), jetzt=T0)

    erk = cs.anrufer_erkennen(db_session, nummer=cs.normalisieren("+493452210"))
    sicher = {(t.art, t.id) for t in erk.sicher}
    moeglich = {(t.art, t.id) for t in erk.moeglich}
    assert sicher == {("ticket", offen.id), ("ticket", erledigt.id), ("kontakt", kontakt.id)}
    assert moeglich == {("ticket", ausland.id), ("ticket", teil.id)}
    assert ("ticket", fremd.id) not in sicher | moeglich
    assert [t.ticket_nummer for t in erk.offene_tickets] == [offen.nummer]
    assert all(not t.sicher and t.grund for t in erk.moeglich)
    assert erk.sicher[0].offen  # open tickets first


def test_anrufer_erkennen_ueber_fruehere_anrufe(db_session):
    cs.ereignis_verarbeiten(db_session, ereignis=ereignis("newCall", "alt", von="+49 345 2210"), jetzt=T0)
    k = ks.kontakt_anlegen(db_session, kanal=Kanal.telefon, ergebnis=Ergebnis.weitergeleitet, benutzer=None,
                           einstellungen=EINST, anliegen="Wohngeld", anruf_id="alt", jetzt=T0)
    cs.ereignis_verarbeiten(db_session, ereignis=ereignis("newCall", "neu", von="0345/221-0"),
                            jetzt=T0 + timedelta(days=1))
    erk = cs.anrufer_erkennen(db_session, nummer=cs.normalisieren("0345/221-0"), ausser_call_id="neu")
    assert ("kontakt", k.id) in {(t.art, t.id) for t in erk.sicher}
    assert [t.ticket_nummer for t in erk.offene_tickets] == [db_session.get(Ticket, k.ticket_id).nummer]


def test_keine_suche_fuer_unbrauchbare_nummern(db_session):
    _ticket(db_session, "2210")
    assert cs.anrufer_erkennen(db_session, nummer=cs.normalisieren("2210")).sicher == []
    assert cs.anrufer_erkennen(db_session, nummer=cs.normalisieren("anonymous")).moeglich == []


# --- events -----------------------------------------------------------------------------------------------------


def anzahl(db_session):
    return db_session.scalar(select(func.count()).select_from(Anruf))


def test_ereignisse_sind_idempotent(db_session):
    v1 = cs.ereignis_verarbeiten(db_session, ereignis=ereignis("newCall"), jetzt=T0)
    v2 = cs.ereignis_verarbeiten(db_session, ereignis=ereignis("newCall"), jetzt=T0 + timedelta(seconds=5))
    assert v1.geaendert and not v2.geaendert and anzahl(db_session) == 1
    a = v1.anruf
    assert a.beginn == T0 and a.zustand == AnrufZustand.klingelt and a.von_e164 == "+493452210"

    assert cs.ereignis_verarbeiten(db_session, ereignis=ereignis("answer", agenten=["agent1"]),
                                   jetzt=T0 + timedelta(seconds=12)).geaendert
    assert not cs.ereignis_verarbeiten(db_session, ereignis=ereignis("answer"),
                                       jetzt=T0 + timedelta(seconds=40)).geaendert
    assert a.angenommen_am == T0 + timedelta(seconds=12) and a.agenten == "agent1"

    assert cs.ereignis_verarbeiten(db_session, ereignis=ereignis("hangup", ursache="normalClearing"),
                                   jetzt=T0 + timedelta(minutes=3)).geaendert
    assert not cs.ereignis_verarbeiten(db_session, ereignis=ereignis("hangup", ursache="cancel"),
                                       jetzt=T0 + timedelta(minutes=9)).geaendert
    assert not cs.ereignis_verarbeiten(db_session, ereignis=ereignis("newCall"),
                                       jetzt=T0 + timedelta(minutes=10)).geaendert
    assert a.zustand == AnrufZustand.beendet and a.ursache == "normalClearing"
    assert a.beendet_am == T0 + timedelta(minutes=3) and anzahl(db_session) == 1
    assert cs.anrufdauer(db_session, "c1") == 168
    assert cs.wartezeit(a) == timedelta(seconds=12)


def test_verpasster_anruf(db_session):
    cs.ereignis_verarbeiten(db_session, ereignis=ereignis("newCall", "v"), jetzt=T0)
    a = cs.ereignis_verarbeiten(db_session, ereignis=ereignis("hangup", "v", ursache="cancel"),
                                jetzt=T0 + timedelta(seconds=50)).anruf
    assert a.zustand == AnrufZustand.verpasst and a.ursache == "cancel"
    assert cs.anrufdauer(db_session, "v") is None and cs.im_servicelevel(a) is False
    # An answer after the hangup changes nothing.
    assert not cs.ereignis_verarbeiten(db_session, ereignis=ereignis("answer", "v"), jetzt=T0 + timedelta(minutes=1)).geaendert
    assert a.zustand == AnrufZustand.verpasst


def test_ausgehender_anruf_und_fehlender_beginn(db_session):
    aus = cs.ereignis_verarbeiten(db_session, ereignis=ereignis("newCall", "o", richtung="out", von="115",
                                                                an="0345/221-0"), jetzt=T0).anruf
    assert aus.richtung == Richtung.ausgehend and aus.an_e164 == "+493452210"
    assert cs.kundennummer(aus).e164 == "+493452210" and not aus.nummer_ungeprueft
    cs.ereignis_verarbeiten(db_session, ereignis=ereignis("hangup", "o", ursache="noAnswer"), jetzt=T0)
    assert aus.zustand == AnrufZustand.beendet and cs.im_servicelevel(aus) is None

    spaet = cs.ereignis_verarbeiten(db_session, ereignis=ereignis("hangup", "x"), jetzt=T0).anruf
    assert spaet.beginn_unbekannt and spaet.zustand == AnrufZustand.verpasst and cs.im_servicelevel(spaet) is None


def test_anonymer_anruf_wird_markiert(db_session):
    a = cs.ereignis_verarbeiten(db_session, ereignis=ereignis("newCall", "an", von="anonymous"), jetzt=T0).anruf
    assert a.anonym and a.von_e164 is None and a.von_roh == "anonymous"
    d = cs.pop_daten(db_session, a, ereignis="newCall", jetzt=T0)
    assert d["anonym"] and d["nummer"] == "Rufnummer unterdrückt" and d["treffer"] == [] and d["moeglich"] == []


@pytest.mark.parametrize("kw, text", [
    ({"event": "ring"}, "Unbekanntes Ereignis"),
    ({"event": "newCall", "call_id": ""}, "callId"),
    ({"event": "newCall", "richtung": ""}, "direction"),
    ({"event": "answer", "richtung": "sideways"}, "direction"),
])
def test_ungueltige_ereignisse(db_session, kw, text):
    e = ereignis(kw.pop("event"), **{"call_id": "c", **kw})
    with pytest.raises(cs.CtiFehler, match=text):
        cs.ereignis_verarbeiten(db_session, ereignis=e, jetzt=T0)
    assert anzahl(db_session) == 0


# --- service level ----------------------------------------------------------------------------------------------


def _anruf(db_session, call_id, antwort_s=None, auflegen_s=None, richtung="in"):
    cs.ereignis_verarbeiten(db_session, ereignis=ereignis("newCall", call_id, richtung=richtung), jetzt=T0)
    if antwort_s is not None:
        cs.ereignis_verarbeiten(db_session, ereignis=ereignis("answer", call_id), jetzt=T0 + timedelta(seconds=antwort_s))
    if auflegen_s is not None:
        cs.ereignis_verarbeiten(db_session, ereignis=ereignis("hangup", call_id),
                                jetzt=T0 + timedelta(seconds=auflegen_s))
    return db_session.scalars(select(Anruf).where(Anruf.call_id == call_id)).one()


def test_servicelevel_je_anruf_und_quote(db_session):
    a = [
        _anruf(db_session, "s1", 5, 100),  # in time
        _anruf(db_session, "s2", 30, 100),  # exactly 30 s: in time
        _anruf(db_session, "s3", 31, 100),  # too late
        _anruf(db_session, "s4", None, 20),  # missed: counts against
        _anruf(db_session, "s5"),  # still ringing: not counted
        _anruf(db_session, "s6", 50, 60, richtung="out"),  # outbound: not counted
    ]
    assert [cs.im_servicelevel(x) for x in a] == [True, True, False, False, None, None]
    sl = cs.servicelevel(a)
    assert (sl.in_zeit, sl.gezaehlt, sl.quote) == (2, 4, 0.5)
    assert cs.servicelevel(a, schwelle_sekunden=60).quote == 0.75
    assert cs.servicelevel([]).quote is None


def test_anrufdauer_laufend_und_unbekannt(db_session):
    _anruf(db_session, "l", 10)
    assert cs.anrufdauer(db_session, "l", jetzt=T0 + timedelta(seconds=70)) == 60
    assert cs.anrufdauer(db_session, "gibt-es-nicht") is None
    assert cs.anrufdauer(db_session, "") is None


# --- call-back --------------------------------------------------------------------------------------------------


def test_zurueckrufen_legt_ein_ticket_an(db_session, neuer_benutzer):
    agent = neuer_benutzer("agent")
    a = _anruf(db_session, "r", None, 25)
    t = cs.zurueckrufen(db_session, anruf_id=a.id, benutzer=agent, einstellungen=EINST, notiz="Bitte vormittags",
                        jetzt=T0 + timedelta(minutes=5))
    assert t.kanal == Kanal.telefon and t.rueckruf_am == T0 + timedelta(minutes=5) and t.zustand == Zustand.neu
    assert "verpasster Anruf vom 02.03.2026 um 10:00" in t.anliegen and "Bitte vormittags" in t.anliegen
    assert t.kontakt_telefon is None  # no personal data without consent; the number stays on the call
    assert a.rueckruf_ticket_id == t.id and a.rueckruf_von_id == agent.id
    # A second click does not create a second ticket.
    assert cs.zurueckrufen(db_session, anruf_id=a.id, benutzer=agent, einstellungen=EINST).id == t.id


def test_zurueckrufen_nur_fuer_verpasste(db_session, neuer_benutzer):
    agent = neuer_benutzer("agent")
    a = _anruf(db_session, "ok", 5, 60)
    with pytest.raises(ts.UngueltigeEingabe):
        cs.zurueckrufen(db_session, anruf_id=a.id, benutzer=agent, einstellungen=EINST)
    anonym = cs.ereignis_verarbeiten(db_session, ereignis=ereignis("newCall", "anon", von=""), jetzt=T0).anruf
    cs.ereignis_verarbeiten(db_session, ereignis=ereignis("hangup", "anon"), jetzt=T0)
    with pytest.raises(ts.UngueltigeEingabe, match="unterdrückter"):
        cs.zurueckrufen(db_session, anruf_id=anonym.id, benutzer=agent, einstellungen=EINST)
    with pytest.raises(ts.NichtGefunden):
        cs.zurueckrufen(db_session, anruf_id=999999, benutzer=agent, einstellungen=EINST)

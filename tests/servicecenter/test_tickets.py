"""Ticket services: numbers, states, history, SLA clock, locking, articles, merge, Textbausteine, queues, access."""

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from servicecenter.auth import service as auth
from servicecenter.auth.models import Rolle
from servicecenter.outbox.models import OutboxEintrag
from servicecenter.tickets import nummern
from servicecenter.tickets import service as ts
from servicecenter.tickets.models import ArtikelArt, Kanal, Prioritaet, TicketHistorie
from servicecenter.tickets.zustaende import BUERGERSTATUS, UEBERGAENGE, Buergerstatus, Zustand, erlaubt
from wissensdatenbank.models import Leistung, Organisationseinheit

BERLIN = ZoneInfo("Europe/Berlin")
EINST = ts.TicketEinstellungen()
FREITAG = datetime(2026, 11, 20, 10, tzinfo=BERLIN)  # due Tue 24.11. 14:00


def lokal(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def benutzer(db_session):
    zaehler = iter(range(1, 1000))

    def anlegen(rolle=Rolle.agent):
        b = auth.benutzer_anlegen(db_session, name=f"t{rolle.value}{next(zaehler)}", rolle=rolle, passwort_hash="x",
                                  jetzt=FREITAG)
        db_session.flush()
        return b

    return anlegen


@pytest.fixture
def oe(db_session):
    def anlegen(name="Bürgerservice"):
        o = Organisationseinheit(name=name)
        db_session.add(o)
        db_session.flush()
        return o

    return anlegen


def neu(db_session, wer=None, jetzt=FREITAG, **kw):
    kw.setdefault("anliegen", "Personalausweis verloren, was tun?")
    kw.setdefault("kanal", Kanal.telefon)
    return ts.ticket_anlegen(db_session, benutzer=wer, einstellungen=EINST, jetzt=jetzt, **kw)


def historie(db_session, ticket):
    return list(db_session.scalars(
        select(TicketHistorie).where(TicketHistorie.ticket_id == ticket.id).order_by(TicketHistorie.id)))


# --- numbers ----------------------------------------------------------------------------------------------


def test_nummern_format_und_fortlaufend(db_session):
    a, b = neu(db_session, jetzt=lokal(2071, 3, 1, 9)), neu(db_session, jetzt=lokal(2071, 3, 1, 9))
    assert a.nummer == "115-2071-000001" and b.nummer == "115-2071-000002"
    assert nummern.gueltig(a.nummer) and not nummern.gueltig("115-2071-1")
    # The year is the local (Berlin) year: 31.12. 23:30 UTC is already 1 January in Halle.
    c = neu(db_session, jetzt=datetime(2071, 12, 31, 23, 30, tzinfo=UTC))
    assert c.nummer == "115-2072-000001"
    with pytest.raises(ValueError):
        nummern.formatieren(2071, 1_000_000)


# --- creation, consent, state machine ---------------------------------------------------------------------


def test_anlegen_minimal(db_session, benutzer):
    wer = benutzer()
    t = neu(db_session, wer)
    assert t.zustand == Zustand.neu and t.buergerstatus == Buergerstatus.RECEIVED
    assert t.version == 1 and t.prioritaet == Prioritaet.normal
    assert t.faellig_am == lokal(2026, 11, 24, 14)
    assert t.erstellt_von_id == wer.id
    # The citizen's access code is random, shown once and stored only as a hash.
    assert t.zugangscode and t.zugangscode_hash and t.zugangscode not in t.zugangscode_hash
    h = historie(db_session, t)
    assert [(x.feld, x.alt, x.neu, x.benutzer_id) for x in h] == [("status", None, "neu", wer.id)]


def test_anlegen_prueft_verweise_und_anliegen(db_session):
    with pytest.raises(ts.UngueltigeEingabe, match="Leistung"):
        neu(db_session, leistung_id=999_999)
    with pytest.raises(ts.UngueltigeEingabe, match="Queue"):
        neu(db_session, queue_id=999_999)
    with pytest.raises(ts.UngueltigeEingabe, match="Benutzer"):
        neu(db_session, assignee_id=999_999)
    with pytest.raises(ts.UngueltigeEingabe, match="Anliegen"):
        neu(db_session, anliegen="   ")


def test_buergerdaten_nur_mit_einwilligung(db_session):
    with pytest.raises(ts.UngueltigeEingabe, match="Einwilligung"):
        neu(db_session, buerger=ts.BuergerDaten(name="Erika Mustermann", telefon="0345 221-0"))
    t = neu(db_session, buerger=ts.BuergerDaten(name="Erika Mustermann", email="erika@example.org", einwilligung=True))
    assert t.kontakt_name == "Erika Mustermann" and t.kontakt_email == "erika@example.org"
    assert t.einwilligung and t.einwilligung_am == FREITAG
    leer = neu(db_session, buerger=ts.BuergerDaten(einwilligung=True))
    assert not leer.einwilligung and leer.einwilligung_am is None


def test_uebergangstabelle_und_buergerstatus():
    assert set(BUERGERSTATUS) == set(Zustand) and set(UEBERGAENGE) == set(Zustand)
    assert BUERGERSTATUS[Zustand.wartet_auf_rueckmeldung] == Buergerstatus.ACTION_REQUIRED
    assert BUERGERSTATUS[Zustand.erledigt] == Buergerstatus.COMPLETED
    assert not UEBERGAENGE[Zustand.geschlossen]
    assert erlaubt(Zustand.neu, Zustand.in_bearbeitung)
    assert not erlaubt(Zustand.wartet_auf_rueckmeldung, Zustand.an_fachverfahren_uebergeben)
    assert not erlaubt(Zustand.geschlossen, Zustand.in_bearbeitung)


@pytest.mark.parametrize("von", list(Zustand))
@pytest.mark.parametrize("nach", list(Zustand))
def test_jeder_uebergang_folgt_der_tabelle(db_session, von, nach):
    if von == nach:
        return
    t = neu(db_session)
    # Reach `von` along allowed steps.
    weg = {
        Zustand.neu: [],
        Zustand.in_bearbeitung: [Zustand.in_bearbeitung],
        Zustand.wartet_auf_rueckmeldung: [Zustand.wartet_auf_rueckmeldung],
        Zustand.an_fachverfahren_uebergeben: [Zustand.an_fachverfahren_uebergeben],
        Zustand.erledigt: [Zustand.erledigt],
        Zustand.geschlossen: [Zustand.geschlossen],
    }[von]
    # uebergabe=True: this checks the transition table itself (the hand-off path is tested in test_uebergabe*).
    for z in weg:
        ts.ticket_aendern(db_session, t, version=t.version, benutzer=None, einstellungen=EINST, status=z,
                          uebergabe=True)
    version, anzahl = t.version, len(historie(db_session, t))
    if erlaubt(von, nach):
        ts.ticket_aendern(db_session, t, version=t.version, benutzer=None, einstellungen=EINST, status=nach,
                          uebergabe=True)
        assert t.zustand == nach and t.buergerstatus == BUERGERSTATUS[nach]
        assert t.version == version + 1
    else:
        with pytest.raises(ts.UngueltigeEingabe):
            ts.ticket_aendern(db_session, t, version=t.version, benutzer=None, einstellungen=EINST, status=nach,
                              uebergabe=True)
        assert t.zustand == von and t.version == version
        assert len(historie(db_session, t)) == anzahl


def test_jede_aenderung_schreibt_historie(db_session, benutzer, oe):
    wer, kollegin = benutzer(), benutzer()
    queue = oe()
    t = neu(db_session, wer)
    ts.ticket_aendern(db_session, t, version=1, benutzer=wer, einstellungen=EINST, jetzt=lokal(2026, 11, 20, 11),
                      status=Zustand.in_bearbeitung, assignee_id=kollegin.id, queue_id=queue.id,
                      prioritaet=Prioritaet.hoch, externe_vorgangs_id="FV-4711")
    felder = {(h.feld, h.alt, h.neu) for h in historie(db_session, t)[1:]}
    assert felder == {
        ("status", "neu", "in_bearbeitung"), ("assignee_id", None, str(kollegin.id)),
        ("queue_id", None, str(queue.id)), ("prioritaet", "normal", "hoch"),
        ("externe_vorgangs_id", None, "FV-4711"),
    }
    assert all(h.benutzer_id == wer.id for h in historie(db_session, t)[1:])
    assert t.version == 2
    # Clearing the assignee is a change too; an unchanged value writes nothing.
    ts.ticket_aendern(db_session, t, version=2, benutzer=wer, einstellungen=EINST, assignee_id=None,
                      prioritaet=Prioritaet.hoch)
    letzte = historie(db_session, t)[-1]
    assert (letzte.feld, letzte.alt, letzte.neu) == ("assignee_id", str(kollegin.id), None)
    assert t.version == 3
    eintraege = ts.zeitleiste(db_session, t)
    assert eintraege[0].feld == "status" and eintraege[0].benutzer_name == wer.anzeigename


def test_erledigt_setzt_zeit_und_wiedereroeffnen_loescht_sie(db_session):
    t = neu(db_session)
    ts.ticket_aendern(db_session, t, version=1, benutzer=None, einstellungen=EINST, status=Zustand.erledigt,
                      jetzt=lokal(2026, 11, 23, 9))
    assert t.erledigt_am == lokal(2026, 11, 23, 9) and t.buergerstatus == Buergerstatus.COMPLETED
    ts.ticket_aendern(db_session, t, version=2, benutzer=None, einstellungen=EINST, status=Zustand.in_bearbeitung)
    assert t.erledigt_am is None and t.buergerstatus == Buergerstatus.PROCESSING
    ts.ticket_aendern(db_session, t, version=3, benutzer=None, einstellungen=EINST, status=Zustand.geschlossen)
    with pytest.raises(ts.UngueltigeEingabe, match="geschlossen"):
        ts.ticket_aendern(db_session, t, version=4, benutzer=None, einstellungen=EINST, prioritaet=Prioritaet.hoch)
    with pytest.raises(ts.UngueltigeEingabe, match="geschlossen"):
        ts.artikel_anlegen(db_session, t, art=ArtikelArt.notiz, text="x", benutzer=None, einstellungen=EINST)


# --- SLA clock --------------------------------------------------------------------------------------------


def test_sla_pausiert_waehrend_wartet_auf_rueckmeldung(db_session):
    t = neu(db_session)  # Fri 10:00 → due Tue 14:00
    ts.ticket_aendern(db_session, t, version=1, benutzer=None, einstellungen=EINST,
                      status=Zustand.wartet_auf_rueckmeldung, jetzt=lokal(2026, 11, 23, 10))
    assert t.sla_pausiert_seit == lokal(2026, 11, 23, 10)
    # While paused, the ticket is neither overdue nor due soon, even after the old due time.
    assert ts.sla_flags(t, EINST, lokal(2026, 11, 24, 15)) == (False, False)
    ts.ticket_aendern(db_session, t, version=2, benutzer=None, einstellungen=EINST,
                      status=Zustand.in_bearbeitung, jetzt=lokal(2026, 11, 23, 15))
    # 5 paused service hours: Tue 14:00 → Wed 09:00.
    assert t.faellig_am == lokal(2026, 11, 25, 9) and t.sla_pausiert_seit is None
    assert ("faellig_am", lokal(2026, 11, 24, 14).astimezone(UTC).isoformat(),
            lokal(2026, 11, 25, 9).astimezone(UTC).isoformat()) in {
        (h.feld, h.alt, h.neu) for h in historie(db_session, t)}
    assert ts.sla_flags(t, EINST, lokal(2026, 11, 25, 9)) == (True, False)
    assert ts.sla_flags(t, EINST, lokal(2026, 11, 24, 16)) == (False, True)  # 2 h left


# --- optimistic locking -----------------------------------------------------------------------------------


def test_veraltete_version_gibt_konflikt_und_aendert_nichts(db_session, benutzer):
    t = neu(db_session)
    ts.ticket_aendern(db_session, t, version=1, benutzer=None, einstellungen=EINST, prioritaet=Prioritaet.hoch)
    anzahl = len(historie(db_session, t))
    with pytest.raises(ts.VersionKonflikt) as fehler:
        ts.ticket_aendern(db_session, t, version=1, benutzer=None, einstellungen=EINST,
                          status=Zustand.in_bearbeitung)
    assert fehler.value.status == 409 and fehler.value.ticket is t
    assert "inzwischen" in fehler.value.meldung and "Version 2" in fehler.value.meldung
    assert t.zustand == Zustand.neu and t.version == 2 and len(historie(db_session, t)) == anzahl


# --- articles ---------------------------------------------------------------------------------------------


def test_notiz_und_nachricht(db_session, benutzer):
    wer = benutzer()
    t = neu(db_session, wer)
    vorher = db_session.scalar(select(func.count()).select_from(OutboxEintrag))
    notiz = ts.artikel_anlegen(db_session, t, art=ArtikelArt.notiz, text="<script>alert(1)</script> intern",
                               benutzer=wer, einstellungen=EINST)
    assert notiz.text == "<script>alert(1)</script> intern"  # stored as text, rendered escaped
    assert db_session.scalar(select(func.count()).select_from(OutboxEintrag)) == vorher
    nachricht = ts.artikel_anlegen(db_session, t, art=ArtikelArt.nachricht, text="Ihr Ausweis ist da.",
                                   benutzer=wer, einstellungen=EINST)
    eintrag = db_session.scalars(select(OutboxEintrag).order_by(OutboxEintrag.id.desc())).first()
    assert eintrag.art == "ticket_nachricht" and eintrag.status == "offen"
    assert eintrag.payload == {"ticket_nummer": t.nummer, "artikel_id": nachricht.id}
    assert [a.art for a in ts.artikel_von(db_session, t)] == [ArtikelArt.notiz, ArtikelArt.nachricht]
    assert t.version == 1  # articles do not bump the ticket version
    with pytest.raises(ts.UngueltigeEingabe):
        ts.artikel_anlegen(db_session, t, art=ArtikelArt.notiz, text="  ", benutzer=wer, einstellungen=EINST)


def test_anhaenge_mit_groessengrenze(db_session):
    klein = ts.TicketEinstellungen(anhang_max_bytes=1000)
    t = neu(db_session)
    a = ts.artikel_anlegen(db_session, t, art=ArtikelArt.notiz, text="Scan", benutzer=None, einstellungen=klein,
                           anhaenge=[ts.NeuerAnhang("scan.pdf", "application/pdf", b"%PDF" + b"x" * 996)])
    assert a.anhaenge[0].groesse == 1000 and len(a.anhaenge[0].sha256) == 64
    assert ts.anhang_laden(db_session, t, a.anhaenge[0].id).inhalt.startswith(b"%PDF")
    with pytest.raises(ts.UngueltigeEingabe, match="zu groß"):
        ts.artikel_anlegen(db_session, t, art=ArtikelArt.notiz, text="zu viel", benutzer=None, einstellungen=klein,
                           anhaenge=[ts.NeuerAnhang("gross.bin", "application/octet-stream", b"x" * 1001)])
    assert len(ts.artikel_von(db_session, t)) == 1
    with pytest.raises(ts.UngueltigeEingabe, match="zu groß"):
        ts.anhang_aus_base64("gross.bin", "application/octet-stream", "A" * 2000, 1000)
    with pytest.raises(ts.UngueltigeEingabe, match="Base64"):
        ts.anhang_aus_base64("kaputt.bin", "application/octet-stream", "@@@", 1000)
    assert ts.anhang_aus_base64("ok.txt", "text/plain", base64.b64encode(b"hallo").decode(), 1000).inhalt == b"hallo"
    assert EINST.anhang_max_bytes == 10 * 1024 * 1024


# --- merge ------------------------------------------------------------------------------------------------


def test_zusammenfuehren_erhaelt_verlauf_und_artikel(db_session, benutzer):
    wer = benutzer()
    ziel = neu(db_session, wer, anliegen="Ausweis verloren")
    quelle = neu(db_session, wer, anliegen="Nochmal wegen Ausweis",
                 buerger=ts.BuergerDaten(telefon="0345 221-0", einwilligung=True))
    ts.artikel_anlegen(db_session, ziel, art=ArtikelArt.notiz, text="Notiz am Ziel", benutzer=wer,
                       einstellungen=EINST)
    ts.artikel_anlegen(db_session, quelle, art=ArtikelArt.notiz, text="Notiz an der Quelle", benutzer=wer,
                       einstellungen=EINST)
    ts.ticket_aendern(db_session, quelle, version=1, benutzer=wer, einstellungen=EINST, prioritaet=Prioritaet.hoch)
    ts.zusammenfuehren(db_session, quelle=quelle, ziel=ziel, benutzer=wer, einstellungen=EINST)
    assert quelle.zustand == Zustand.geschlossen and quelle.zusammengefuehrt_in_id == ziel.id
    assert ziel.zustand == Zustand.neu and ziel.kontakt_telefon == "0345 221-0" and ziel.einwilligung
    assert {a.text for a in ts.artikel_von(db_session, ziel)} == {"Notiz am Ziel", "Notiz an der Quelle"}
    eintraege = ts.zeitleiste(db_session, ziel)
    assert {e.ticket_nummer for e in eintraege} == {ziel.nummer, quelle.nummer}
    assert ("prioritaet", quelle.nummer) in {(e.feld, e.ticket_nummer) for e in eintraege}
    assert ("zusammengefuehrt_aus", quelle.nummer) in {(e.feld, e.neu) for e in eintraege}
    assert ("zusammengefuehrt_in", ziel.nummer) in {(h.feld, h.neu) for h in historie(db_session, quelle)}
    # The merged ticket keeps its own rows too.
    assert [a.text for a in ts.artikel_von(db_session, quelle)] == ["Notiz an der Quelle"]
    with pytest.raises(ts.UngueltigeEingabe):
        ts.zusammenfuehren(db_session, quelle=quelle, ziel=ziel, benutzer=wer, einstellungen=EINST)
    with pytest.raises(ts.UngueltigeEingabe):
        ts.zusammenfuehren(db_session, quelle=ziel, ziel=ziel, benutzer=wer, einstellungen=EINST)


# --- Textbausteine ----------------------------------------------------------------------------------------


def test_textbausteine_mit_platzhaltern(db_session):
    leistung = Leistung(leistungsname="Personalausweis beantragen")
    db_session.add(leistung)
    db_session.flush()
    t = neu(db_session, leistung_id=leistung.id)
    tb = ts.textbaustein_anlegen(db_session, name="Eingang",
                                 text="Ihr Anliegen zu {{ leistung.name }} hat die Nummer {{ ticket.nummer }}. "
                                      "Antwort bis {{ ticket.faellig_am }}.")
    text = ts.textbaustein_rendern(db_session, t, textbaustein_id=tb.id)
    assert text == (f"Ihr Anliegen zu Personalausweis beantragen hat die Nummer {t.nummer}. "
                    "Antwort bis 24.11.2026, 14:00 Uhr.")
    assert [x.name for x in ts.textbausteine_liste(db_session)] == ["Eingang"]
    for boese in ("{{ ticket.__class__.__mro__ }}", "{{ ticket.nummer.__class__ }}", "{{ cycler }}",
                  "{{ unbekannt.feld }}", "{% for i in range(9) %}x{% endfor %}", "{{ 'x' * 100 }}",
                  "{{ ticket.nummer"):
        with pytest.raises(ts.UngueltigeEingabe):
            ts.textbaustein_rendern(db_session, t, vorlage=boese)
        with pytest.raises(ts.UngueltigeEingabe):
            ts.textbaustein_anlegen(db_session, name=f"böse {boese}", text=boese)
    with pytest.raises(ts.UngueltigeEingabe, match="gibt es schon"):
        ts.textbaustein_anlegen(db_session, name="Eingang", text="x")
    # Values are inserted as text, not interpreted again.
    t.anliegen = "{{ ticket.nummer }} <b>"
    assert ts.textbaustein_rendern(db_session, t, vorlage="{{ ticket.anliegen }}") == "{{ ticket.nummer }} <b>"


# --- access and queues ------------------------------------------------------------------------------------


def test_zugriffsregeln(db_session, benutzer, oe):
    standesamt, buergerbuero = oe("Standesamt"), oe("Bürgerbüro")
    a_std, ohne_queue, leitung = benutzer(), benutzer(), benutzer(Rolle.teamleitung)
    ts.queue_mitglied_hinzufuegen(db_session, benutzer_id=a_std.id, organisationseinheit_id=standesamt.id)
    ts.queue_mitglied_hinzufuegen(db_session, benutzer_id=a_std.id, organisationseinheit_id=standesamt.id)  # idempotent
    t_std = neu(db_session, queue_id=standesamt.id)
    t_bb = neu(db_session, queue_id=buergerbuero.id)
    t_ohne = neu(db_session)
    t_bb_mir = neu(db_session, queue_id=buergerbuero.id, assignee_id=ohne_queue.id)
    assert ts.queues_von(db_session, a_std.id) == [standesamt.id]
    sieht = {
        b.id: {t.nummer for t in (t_std, t_bb, t_ohne, t_bb_mir) if ts.darf_sehen(db_session, t, b)}
        for b in (a_std, ohne_queue, leitung)
    }
    assert sieht[a_std.id] == {t_std.nummer}
    assert sieht[ohne_queue.id] == {t_ohne.nummer, t_bb_mir.nummer}
    assert sieht[leitung.id] == {t_std.nummer, t_bb.nummer, t_ohne.nummer, t_bb_mir.nummer}
    with pytest.raises(ts.KeinZugriff):
        ts.ticket_fuer_benutzer(db_session, t_bb.nummer, a_std)
    with pytest.raises(ts.NichtGefunden):
        ts.ticket_fuer_benutzer(db_session, "115-1999-000001", a_std)
    with pytest.raises(ts.NichtGefunden):
        ts.ticket_laden(db_session, "' OR 1=1 --")
    # The list query applies the same rule.
    for b in (a_std, ohne_queue, leitung):
        _, liste = ts.tickets_suchen(db_session, benutzer=b, einstellungen=EINST, queue_id=None,
                                     jetzt=FREITAG)
        assert {t.nummer for t in liste} & {t_std.nummer, t_bb.nummer, t_ohne.nummer, t_bb_mir.nummer} == sieht[b.id]
    ts.queue_mitglied_entfernen(db_session, benutzer_id=a_std.id, organisationseinheit_id=standesamt.id)
    assert ts.darf_sehen(db_session, t_ohne, a_std) and not ts.darf_sehen(db_session, t_std, a_std)


def test_queue_filter(db_session, benutzer, oe):
    team = oe("Bürgerbüro")
    ich, andere = benutzer(), benutzer()
    leitung = benutzer(Rolle.teamleitung)
    ts.queue_mitglied_hinzufuegen(db_session, benutzer_id=ich.id, organisationseinheit_id=team.id)
    mein = neu(db_session, queue_id=team.id, assignee_id=ich.id, jetzt=lokal(2026, 11, 16, 10))  # due Wed 18. 14:00
    team_frei = neu(db_session, queue_id=team.id, jetzt=lokal(2026, 11, 17, 9))  # due Thu 19. 13:00
    ueber = neu(db_session, queue_id=team.id, assignee_id=andere.id, jetzt=lokal(2026, 11, 10, 9))  # overdue
    wartet = neu(db_session, queue_id=team.id, jetzt=lokal(2026, 11, 10, 9))
    ts.ticket_aendern(db_session, wartet, version=1, benutzer=None, einstellungen=EINST,
                      status=Zustand.wartet_auf_rueckmeldung, jetzt=lokal(2026, 11, 11, 9))
    fertig = neu(db_session, queue_id=team.id, jetzt=lokal(2026, 11, 10, 9))
    ts.ticket_aendern(db_session, fertig, version=1, benutzer=None, einstellungen=EINST, status=Zustand.erledigt)
    jetzt = lokal(2026, 11, 18, 10, 30)  # Wed: "mein" has 3.5 service hours left

    def nummern_fuer(*filter, wer=ich, **kw):
        _, liste = ts.tickets_suchen(db_session, benutzer=wer, einstellungen=EINST, filter=set(filter),
                                     jetzt=jetzt, **kw)
        return [t.nummer for t in liste]

    # Most urgent first (by due time; the paused one keeps its due time until it resumes).
    assert nummern_fuer() == [ueber.nummer, wartet.nummer, mein.nummer, team_frei.nummer]
    assert nummern_fuer("mein") == [mein.nummer]
    assert set(nummern_fuer("team")) == {mein.nummer, team_frei.nummer, ueber.nummer, wartet.nummer}
    assert nummern_fuer("ueberfaellig") == [ueber.nummer]  # the paused one is not overdue
    assert nummern_fuer("bald_faellig") == [mein.nummer]
    assert nummern_fuer("unzugewiesen") == [wartet.nummer, team_frei.nummer]
    assert nummern_fuer("team", "unzugewiesen") == [wartet.nummer, team_frei.nummer]
    assert nummern_fuer(zustaende={Zustand.erledigt}) == [fertig.nummer]
    assert nummern_fuer("team", wer=leitung) == []  # no queue membership
    assert nummern_fuer("mein", wer=andere) == [ueber.nummer]
    assert nummern_fuer(limit=1, offset=2) == [mein.nummer]
    anzahl, _ = ts.tickets_suchen(db_session, benutzer=ich, einstellungen=EINST, limit=1, jetzt=jetzt)
    assert anzahl == 4
    with pytest.raises(ts.UngueltigeEingabe, match="Unbekannter Filter"):
        nummern_fuer("alles")


def test_zeitleiste_sortiert_aenderungen_und_artikel(db_session):
    t = neu(db_session, jetzt=lokal(2026, 11, 20, 10))
    ts.artikel_anlegen(db_session, t, art=ArtikelArt.notiz, text="erst", benutzer=None, einstellungen=EINST,
                       jetzt=lokal(2026, 11, 20, 11))
    ts.ticket_aendern(db_session, t, version=1, benutzer=None, einstellungen=EINST, status=Zustand.in_bearbeitung,
                      jetzt=lokal(2026, 11, 20, 12))
    eintraege = ts.zeitleiste(db_session, t)
    assert [(e.typ, e.feld) for e in eintraege] == [("aenderung", "status"), ("artikel", None),
                                                    ("aenderung", "status")]
    assert eintraege[1].artikel.text == "erst"
    assert eintraege[0].zeitpunkt < eintraege[1].zeitpunkt < eintraege[2].zeitpunkt
    assert timedelta(0) < eintraege[2].zeitpunkt - eintraege[0].zeitpunkt

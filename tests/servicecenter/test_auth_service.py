"""Account services: argon2 hashes, lock-out with an injected clock, sessions, hashed API tokens."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, text

from servicecenter.auth import service
from servicecenter.auth.models import ApiToken, Benutzer, Rolle, Sitzung

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PW = "Ein-gutes-Passwort-1"
REGELN = service.Regeln()


@pytest.fixture
def anna(db_session) -> Benutzer:
    b = service.benutzer_anlegen(db_session, name="Anna.Schmidt", rolle="agent", passwort=PW, anzeigename="Anna", jetzt=T0)
    db_session.flush()
    return b


def _login(db_session, name, passwort, jetzt=T0):
    return service.anmelden(db_session, name=name, passwort=passwort, jetzt=jetzt, regeln=REGELN)


def test_passwort_wird_als_argon2id_gespeichert(db_session, anna):
    assert anna.name == "anna.schmidt"
    assert anna.passwort_hash.startswith("$argon2id$v=19$m=")
    assert PW not in anna.passwort_hash
    assert PasswordHasher().verify(anna.passwort_hash, PW)
    gespeichert = db_session.execute(text("SELECT passwort_hash FROM benutzer WHERE id = :i"), {"i": anna.id}).scalar()
    assert gespeichert == anna.passwort_hash


@pytest.mark.parametrize(
    ("name", "passwort", "meldung"),
    [
        ("kurz", "elf-Zeichen", "mindestens 12 Zeichen"),
        ("x", PW, "2 bis 64 Zeichen"),
        ("mit leerzeichen", PW, "nur Kleinbuchstaben"),
        ("<script>", PW, "nur Kleinbuchstaben"),
    ],
)
def test_ungueltige_benutzer_werden_abgelehnt(db_session, name, passwort, meldung):
    with pytest.raises(service.AuthFehler, match=meldung):
        service.benutzer_anlegen(db_session, name=name, rolle="agent", passwort=passwort, jetzt=T0)
    assert db_session.scalar(select(Benutzer).where(Benutzer.name == name)) is None


def test_doppelter_name_und_unbekannte_rolle(db_session, anna):
    with pytest.raises(service.AuthFehler, match="gibt es schon"):
        service.benutzer_anlegen(db_session, name="ANNA.SCHMIDT", rolle="agent", passwort=PW, jetzt=T0)
    with pytest.raises(service.AuthFehler, match="Unbekannte Rolle"):
        service.benutzer_anlegen(db_session, name="bernd", rolle="chef", passwort=PW, jetzt=T0)


def test_anmelden_richtig_falsch_unbekannt(db_session, anna):
    assert _login(db_session, "Anna.Schmidt", PW) is anna
    assert anna.letzte_anmeldung == T0
    assert _login(db_session, "anna.schmidt", PW + "x") is None
    assert _login(db_session, "niemand", PW) is None
    assert _login(db_session, "", "") is None


def test_sperre_nach_fuenf_fehlversuchen_und_freigabe_nach_ablauf(db_session, anna):
    for i in range(4):
        assert _login(db_session, "anna.schmidt", "falsch", T0 + timedelta(seconds=i)) is None
    assert anna.fehlversuche == 4 and anna.gesperrt_bis is None
    assert _login(db_session, "anna.schmidt", "falsch", T0 + timedelta(seconds=5)) is None
    assert anna.gesperrt_bis == T0 + timedelta(seconds=5, minutes=15)
    # While locked even the right password fails, and attempts do not extend the lock.
    assert _login(db_session, "anna.schmidt", PW, T0 + timedelta(minutes=10)) is None
    assert _login(db_session, "anna.schmidt", "falsch", T0 + timedelta(minutes=11)) is None
    assert anna.gesperrt_bis == T0 + timedelta(seconds=5, minutes=15)
    assert _login(db_session, "anna.schmidt", PW, T0 + timedelta(minutes=15, seconds=4)) is None
    assert _login(db_session, "anna.schmidt", PW, T0 + timedelta(minutes=15, seconds=5)) is anna
    assert anna.fehlversuche == 0 and anna.gesperrt_bis is None


def test_erfolgreiche_anmeldung_setzt_zaehler_zurueck(db_session, anna):
    for _ in range(4):
        _login(db_session, "anna.schmidt", "falsch")
    assert _login(db_session, "anna.schmidt", PW) is anna
    for _ in range(4):
        _login(db_session, "anna.schmidt", "falsch")
    assert anna.gesperrt_bis is None


def test_inaktiver_benutzer_kann_sich_nicht_anmelden(db_session, anna):
    anna.aktiv = False
    assert _login(db_session, "anna.schmidt", PW) is None


def test_sitzung_speichert_nur_den_hash_und_wechselt_die_id(db_session, anna):
    sid, s = service.sitzung_anlegen(db_session, benutzer=anna, jetzt=T0)
    assert s.id_hash == hashlib.sha256(sid.encode()).hexdigest()
    zeilen = db_session.execute(text("SELECT * FROM sitzung")).all()
    assert zeilen and all(sid not in str(z) for z in zeilen)
    sid2, _ = service.sitzung_anlegen(db_session, benutzer=anna, jetzt=T0, alte_id=sid)
    assert sid2 != sid
    assert service.sitzung_laden(db_session, sitzung_id=sid, jetzt=T0, regeln=REGELN) is None
    assert service.sitzung_laden(db_session, sitzung_id=sid2, jetzt=T0, regeln=REGELN) is not None


def test_sitzung_leerlauf_und_hoechstdauer(db_session, anna):
    sid, _ = service.sitzung_anlegen(db_session, benutzer=anna, jetzt=T0)
    t = T0
    # Active every 50 minutes: survives the idle timeout (60) but not the absolute limit (12 h).
    while t + timedelta(minutes=50) < T0 + REGELN.max_dauer:
        t += timedelta(minutes=50)
        assert service.sitzung_laden(db_session, sitzung_id=sid, jetzt=t, regeln=REGELN) is not None
    assert service.sitzung_laden(db_session, sitzung_id=sid, jetzt=T0 + REGELN.max_dauer, regeln=REGELN) is None
    assert db_session.scalar(select(Sitzung)) is None  # expired rows are deleted

    sid, _ = service.sitzung_anlegen(db_session, benutzer=anna, jetzt=T0)
    assert service.sitzung_laden(db_session, sitzung_id=sid, jetzt=T0 + timedelta(minutes=59), regeln=REGELN)
    spaeter = T0 + timedelta(minutes=59) + REGELN.leerlauf
    assert service.sitzung_laden(db_session, sitzung_id=sid, jetzt=spaeter, regeln=REGELN) is None


def test_neues_passwort_beendet_sitzungen(db_session, anna):
    sid, _ = service.sitzung_anlegen(db_session, benutzer=anna, jetzt=T0)
    service.passwort_setzen(db_session, anna, "Ein-neues-Passwort-2")
    assert service.sitzung_laden(db_session, sitzung_id=sid, jetzt=T0, regeln=REGELN) is None
    assert _login(db_session, "anna.schmidt", "Ein-neues-Passwort-2") is anna


def test_token_wird_nur_gehasht_gespeichert(db_session, anna):
    token, t = service.token_anlegen(db_session, benutzer=anna, bezeichnung="CTI-Anlage", jetzt=T0)
    assert token.startswith("sc115_") and len(token) >= 40
    assert t.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert t.praefix == token[:14] and len(t.praefix) < len(token) / 2
    for zeile in db_session.execute(text("SELECT * FROM api_token")).all():
        assert all(token not in str(wert) for wert in zeile)
    assert t.zuletzt_benutzt_am is None
    assert service.token_pruefen(db_session, token=token, jetzt=T0 + timedelta(hours=1)) is t
    assert t.zuletzt_benutzt_am == T0 + timedelta(hours=1)


def test_token_widerrufen_und_unbekannt(db_session, anna):
    token, t = service.token_anlegen(db_session, benutzer=anna, jetzt=T0)
    assert service.token_pruefen(db_session, token=token + "x", jetzt=T0) is None
    assert service.token_pruefen(db_session, token="sc115_unbekannt", jetzt=T0) is None
    assert service.token_pruefen(db_session, token="", jetzt=T0) is None
    assert service.tokens_mit_praefix(db_session, t.praefix) == [t]
    assert service.tokens_mit_praefix(db_session, token) == [t]
    assert service.token_widerrufen(db_session, token=t, jetzt=T0) is True
    assert service.token_widerrufen(db_session, token=t, jetzt=T0) is False
    assert service.token_pruefen(db_session, token=token, jetzt=T0) is None
    assert db_session.get(ApiToken, t.id).widerrufen_am == T0


def test_token_eines_inaktiven_benutzers_gilt_nicht(db_session, anna):
    token, _ = service.token_anlegen(db_session, benutzer=anna, jetzt=T0)
    anna.aktiv = False
    db_session.flush()
    assert service.token_pruefen(db_session, token=token, jetzt=T0) is None


def test_rollen_hierarchie():
    from servicecenter.auth.deps import erlaubte_rollen

    assert erlaubte_rollen((Rolle.agent,)) == {Rolle.agent, Rolle.teamleitung, Rolle.admin}
    assert erlaubte_rollen((Rolle.teamleitung,)) == {Rolle.teamleitung, Rolle.admin}
    assert erlaubte_rollen((Rolle.redaktion,)) == {Rolle.redaktion, Rolle.admin}
    assert erlaubte_rollen((Rolle.admin,)) == {Rolle.admin}
    assert erlaubte_rollen(()) == set(Rolle)

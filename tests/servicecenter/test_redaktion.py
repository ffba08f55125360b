"""Edit mode of the Redaktion: versioned edits with diff, publishing, search sees changes at once, optimistic
lock, roles (403 and nothing changes), Wissenslücken (normalised, counted, no personal data)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from servicecenter.auth.models import Rolle
from servicecenter.redaktion import service
from servicecenter.redaktion.models import LeistungVersion, Wissensluecke
from wissensdatenbank.models import Leistung, LeistungStatus

HX = {"HX-Request": "true", "Accept": "text/html"}


@pytest.fixture
def leistung(db_session, app):
    l = Leistung(leistungsname="Hundesteuer anmelden", kurztext="Wer einen Hund hält, meldet ihn an.",
                 unterlagen=["Personalausweis"], suchbegriffe=["hund"], status=LeistungStatus.veroeffentlicht,
                 kosten_betrag=Decimal("0"))
    db_session.add(l)
    db_session.commit()
    app.state.wissensdatenbank.synchronisieren(sofort=True)
    return l


@pytest.fixture
def redakteur(anmelden, uhr):
    uhr.jetzt = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    return anmelden(Rolle.redaktion)


def formular(db_session, l, **aenderung):
    werte = service.formular_werte(l)
    werte.update(aenderung)
    werte["stand"] = str(service.stand(db_session, l.id))
    return werte


def test_bearbeiten_schreibt_version_mit_diff_und_suche_sieht_es_sofort(redakteur, leistung, db_session, app):
    wdb = app.state.wissensdatenbank
    assert not [t for t in wdb.suche("Zwergkaninchen") if t.id == leistung.id]
    seite = redakteur.client.get(f"/redaktion/leistungen/{leistung.id}")
    assert seite.status_code == 200 and 'name="kurztext"' in seite.text
    r = redakteur.post(f"/redaktion/leistungen/{leistung.id}",
                       formular(db_session, leistung, kurztext="Auch für Zwergkaninchen gilt das.",
                                unterlagen="Personalausweis\nNachweis der Haftpflicht", kosten_betrag="12,50"),
                       follow_redirects=False)
    assert r.status_code == 303, r.text
    v = db_session.scalars(select(LeistungVersion)).one()
    assert v.nummer == 1 and v.benutzer_id == redakteur.benutzer.id
    assert set(v.aenderungen) == {"kurztext", "unterlagen", "kosten_betrag"}
    assert v.aenderungen["kosten_betrag"] == {"alt": "0.00", "neu": "12.50"}
    assert v.aenderungen["unterlagen"]["neu"] == ["Personalausweis", "Nachweis der Haftpflicht"]
    db_session.refresh(leistung)
    assert leistung.kosten_betrag == Decimal("12.50")
    assert [t.id for t in wdb.suche("Zwergkaninchen")][:1] == [leistung.id]  # no waiting for the sync interval
    seite = redakteur.client.get(r.headers["location"])
    assert "Version 1" in seite.text and "Nachweis der Haftpflicht" in seite.text and "gespeichert" in seite.text


def test_ohne_aenderung_keine_version(redakteur, leistung, db_session):
    r = redakteur.post(f"/redaktion/leistungen/{leistung.id}", formular(db_session, leistung),
                       follow_redirects=False)
    assert r.status_code == 303 and "unveraendert" in r.headers["location"]
    assert db_session.scalar(select(func.count()).select_from(LeistungVersion)) == 0


def test_veroeffentlichen_und_zurueckziehen(redakteur, leistung, db_session, app):
    wdb = app.state.wissensdatenbank
    assert leistung.id in [t.id for t in wdb.suche("Hundesteuer")]
    r = redakteur.post(f"/redaktion/leistungen/{leistung.id}/status", {"status": "entwurf", "stand": "0"},
                       follow_redirects=False)
    assert r.status_code == 303
    assert leistung.id not in [t.id for t in wdb.suche("Hundesteuer")]
    r = redakteur.post(f"/redaktion/leistungen/{leistung.id}/status", {"status": "veroeffentlicht", "stand": "1"},
                       follow_redirects=False)
    assert r.status_code == 303
    assert leistung.id in [t.id for t in wdb.suche("Hundesteuer")]
    versionen = service.versionen(db_session, leistung.id)
    assert [v.aenderungen["status"]["neu"] for v in versionen] == ["veroeffentlicht", "entwurf"]


def test_veralteter_stand_gibt_409_und_behaelt_eingabe(redakteur, leistung, db_session, anmelden):
    alt = formular(db_session, leistung, kurztext="Meine Fassung <script>x</script>")
    andere = anmelden(Rolle.admin, eigener_client=True)
    r = andere.post(f"/redaktion/leistungen/{leistung.id}", formular(db_session, leistung, teaser="Fremd"),
                    follow_redirects=False)
    assert r.status_code == 303
    r = redakteur.post(f"/redaktion/leistungen/{leistung.id}", alt)
    assert r.status_code == 409 and "inzwischen von jemand anderem geändert" in r.text
    assert "Meine Fassung &lt;script&gt;x&lt;/script&gt;</textarea>" in r.text
    db_session.expire_all()
    assert db_session.get(Leistung, leistung.id).kurztext == "Wer einen Hund hält, meldet ihn an."
    assert db_session.scalar(select(func.count()).select_from(LeistungVersion)) == 1


@pytest.mark.parametrize(("feld", "wert", "meldung"), [
    ("leistungsname", "", "Bitte füllen Sie"),
    ("kosten_betrag", "zwölf", "kein Betrag"),
    ("termin_url", "javascript:alert(1)", "http"),
    ("teaser", "x" * 2001, "zu lang"),
])
def test_ungueltige_eingaben_422(redakteur, leistung, db_session, feld, wert, meldung):
    r = redakteur.post(f"/redaktion/leistungen/{leistung.id}", formular(db_session, leistung, **{feld: wert}))
    assert r.status_code == 422 and meldung in r.text
    assert db_session.scalar(select(func.count()).select_from(LeistungVersion)) == 0


@pytest.mark.parametrize("rolle", [Rolle.agent, Rolle.teamleitung])
def test_niedrigere_rolle_403_und_nichts_aendert_sich(anmelden, leistung, db_session, rolle):
    a = anmelden(rolle)
    assert a.client.get("/redaktion").status_code == 403
    assert a.client.get(f"/redaktion/leistungen/{leistung.id}").status_code == 403
    assert a.client.get("/redaktion/luecken").status_code == 403
    r = a.post(f"/redaktion/leistungen/{leistung.id}", formular(db_session, leistung, kurztext="Gehackt"))
    assert r.status_code == 403
    r = a.post(f"/redaktion/leistungen/{leistung.id}/status", {"status": "entwurf"})
    assert r.status_code == 403
    db_session.expire_all()
    l = db_session.get(Leistung, leistung.id)
    assert l.kurztext == "Wer einen Hund hält, meldet ihn an." and l.status == LeistungStatus.veroeffentlicht
    assert db_session.scalar(select(func.count()).select_from(LeistungVersion)) == 0


def test_admin_darf_redaktion(anmelden, leistung):
    a = anmelden(Rolle.admin)
    assert a.client.get("/redaktion").status_code == 200
    assert "Hundesteuer anmelden" in a.client.get("/redaktion?q=hunde").text


def test_csrf_fehlt_403(redakteur, leistung, db_session):
    r = redakteur.client.post(f"/redaktion/leistungen/{leistung.id}", data=formular(db_session, leistung,
                                                                                    kurztext="Ohne Token"))
    assert r.status_code == 403
    assert db_session.scalar(select(func.count()).select_from(LeistungVersion)) == 0


# --- Wissenslücken ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("roh", "norm"), [
    ("  Wo   ist das FUNDBÜRO? ", "wo ist das fundbüro?"),
    ("Rückruf an 0345 123 4567 bitte", "rückruf an [zahl] bitte"),
    ("mail an erika.muster@example.de", "mail an [e-mail]"),
    ("x" * 500, "x" * 200),
])
def test_anfrage_normalisieren(roh, norm):
    assert service.anfrage_normalisieren(roh) == norm


def test_luecken_werden_gezaehlt_und_gelistet(anmelden, leistung, db_session, uhr):
    agent = anmelden(Rolle.agent)
    for q in ("Zeppelin Landeerlaubnis", "zeppelin   LANDEERLAUBNIS", "Hundesteuer", "ab"):
        r = agent.post("/desk/suche/luecke", {"q": q}, headers=HX)
        assert r.status_code == 204
    luecken = db_session.scalars(select(Wissensluecke)).all()
    assert [(x.anfrage, x.anzahl) for x in luecken] == [("zeppelin landeerlaubnis", 2)]  # a good hit is no gap
    red = anmelden(Rolle.redaktion, eigener_client=True)
    seite = red.client.get("/redaktion/luecken")
    assert seite.status_code == 200 and "zeppelin landeerlaubnis" in seite.text
    assert '<td class="anzahl">2</td>' in seite.text
    r = red.post(f"/redaktion/luecken/{luecken[0].id}/erledigt", follow_redirects=False)
    assert r.status_code == 303
    assert db_session.scalar(select(func.count()).select_from(Wissensluecke)) == 0


def test_luecke_meldet_nur_agent(anmelden, leistung, db_session):
    red = anmelden(Rolle.redaktion)
    assert red.post("/desk/suche/luecke", {"q": "Zeppelin"}).status_code == 403
    assert db_session.scalar(select(func.count()).select_from(Wissensluecke)) == 0


def test_luecke_service_zaehlt_ohne_personendaten(db_session):
    service.luecke_erfassen(db_session, anfrage="Termin für 01.02.1980 geboren")
    service.luecke_erfassen(db_session, anfrage="termin für 12.12.1990 geboren")
    (x,) = db_session.scalars(select(Wissensluecke)).all()
    assert x.anfrage == "termin für [zahl] geboren" and x.anzahl == 2

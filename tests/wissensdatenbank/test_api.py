"""REST API of the knowledge base, including index updates after changes."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from wissensdatenbank.importe import json_import
from wissensdatenbank.importe.basis import importiere
from wissensdatenbank.models import Leistung, LeistungStatus


@pytest.fixture
def katalog(db_session, fixtures_dir):
    bericht = importiere(db_session, format="json", eintraege=json_import.lesen(fixtures_dir / "kanonisch/katalog.json"),
                         region="150020000000")
    db_session.commit()
    assert bericht.ok
    return {l.quelle_id: l.id for l in db_session.scalars(select(Leistung))}


def test_healthz_und_docs(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/openapi.json").status_code == 200
    r = client.get("/docs")
    assert r.status_code == 200
    assert r.headers["x-content-type-options"] == "nosniff"


def test_suche_liefert_treffer_mit_konfidenz(katalog, client):
    r = client.get("/api/v1/leistungen", params={"q": "perso beantragen", "limit": 5})
    assert r.status_code == 200
    daten = r.json()
    assert daten["frage"] == "perso beantragen"
    erster = daten["treffer"][0]
    assert erster["id"] == katalog["ausweis"] and erster["leika"] == "99008001012000"
    assert erster["konfidenz"] in {"sicher", "unsicher", "kein Treffer"}
    assert erster["url"] == f"/api/v1/leistungen/{katalog['ausweis']}"
    assert isinstance(erster["score"], float)


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "x" * 501}, {"q": "hund", "limit": 0},
                                    {"q": "hund", "limit": 51}, {"q": "hund", "region": "abc"}])
def test_suche_validierung(client, params):
    r = client.get("/api/v1/leistungen", params=params)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("Ungültige Eingabe")


def test_leistung_vollstaendig_mit_stelle_und_jetzt_geoeffnet(katalog, client):
    r = client.get(f"/api/v1/leistungen/{katalog['ausweis']}")
    assert r.status_code == 200
    l = r.json()
    assert l["leistungsname"] == "Personalausweis beantragen"
    assert l["kosten"] == {"betrag": "22.80", "betrag_bis": "37.00", "text": "je nach Alter"}
    assert l["unterlagen"] == ["altes Ausweisdokument", "biometrisches Passfoto"]
    [stelle] = l["zustaendige_stellen"]
    assert stelle["region"] == "150020000000"
    oe = stelle["organisationseinheit"]
    assert oe["anschrift"] == "Rathausplatz 1, 06108 Halle (Saale)"
    assert oe["jetzt"]["text"].startswith(("Jetzt geöffnet", "Geschlossen", "Heute geschlossen"))
    assert {s["wochentag"] for s in oe["oeffnungszeiten"]} == {0, 1}

    r = client.get(f"/api/v1/organisationseinheiten/{oe['id']}")
    assert r.status_code == 200
    assert {x["leistungsname"] for x in r.json()["leistungen"]} == {"Personalausweis beantragen", "Hund anmelden"}
    assert r.json()["ausnahmen"][0]["grund"] == "Heiligabend"


@pytest.mark.parametrize("pfad", ["/api/v1/leistungen/999999", "/api/v1/organisationseinheiten/999999"])
def test_unbekannte_ids_404(client, pfad):
    assert client.get(pfad).status_code == 404


@pytest.mark.parametrize("pfad", ["/api/v1/leistungen/abc", "/api/v1/leistungen/0", "/api/v1/leistungen/99999999999"])
def test_ungueltige_ids_422(client, pfad):
    assert client.get(pfad).status_code == 422


def test_index_folgt_aenderungen_ohne_neuaufbau(katalog, client, app, db_session):
    wdb = app.state.wissensdatenbank
    assert client.get("/api/v1/leistungen", params={"q": "hund"}).json()["treffer"][0]["id"] == katalog["hund"]

    # Unpublish: the entry disappears from search and from the API.
    hund = db_session.get(Leistung, katalog["hund"])
    hund.status = LeistungStatus.entwurf
    db_session.commit()
    wdb.synchronisieren(sofort=True)
    ids = [t["id"] for t in client.get("/api/v1/leistungen", params={"q": "hund"}).json()["treffer"]]
    assert katalog["hund"] not in ids
    assert client.get(f"/api/v1/leistungen/{katalog['hund']}").status_code == 404

    # A new published entry becomes findable.
    neu = Leistung(leistungsname="Fischereischein beantragen", kurztext="Angeln braucht einen Schein.",
                   suchbegriffe=["Angelschein"], status=LeistungStatus.veroeffentlicht, quelle_format="manuell",
                   quelle_id="fisch", aktualisiert_am=datetime.now(UTC))
    db_session.add(neu)
    db_session.commit()
    assert wdb.synchronisieren(sofort=True) >= 1
    assert client.get("/api/v1/leistungen", params={"q": "angelschein"}).json()["treffer"][0]["id"] == neu.id


def test_html_seiten_escapen(katalog, client, db_session):
    l = db_session.get(Leistung, katalog["hund"])
    l.kurztext = '<script>alert("x")</script> Hunde anmelden'
    db_session.commit()
    client.app.state.wissensdatenbank.synchronisieren(sofort=True)
    seite = client.get(f"/leistungen/{katalog['hund']}")
    assert seite.status_code == 200
    assert "<script>alert" not in seite.text and "&lt;script&gt;" in seite.text
    assert "content-security-policy" in seite.headers
    suche = client.get("/", params={"q": "<b>hund</b>"})
    assert suche.status_code == 200 and "<b>hund</b>" not in suche.text


def test_ergebnis_cache_wird_bei_aenderung_geleert(katalog, app, db_session):
    wdb = app.state.wissensdatenbank
    wdb.aufbauen()
    erste = wdb.suche("hund  anmelden")
    assert wdb.suche("hund anmelden") == erste  # same question modulo whitespace: served from the cache
    hund = db_session.get(Leistung, katalog["hund"])
    hund.leistungsname = "Hundesteuer anmelden"
    db_session.commit()
    wdb.synchronisieren(sofort=True)
    assert wdb.suche("hund anmelden")[0].name == "Hundesteuer anmelden"


def test_gecacht_nur_was_im_cache_ist_und_nicht_wenn_ein_abgleich_faellig_ist(katalog, app, db_session, monkeypatch):
    """`gecacht` (the async search endpoint answers repeated questions with it, without a thread) gives what
    `suche` gave, touches no database, and steps aside when the index is due to be synchronised."""
    wdb = app.state.wissensdatenbank
    wdb.aufbauen()
    assert wdb.gecacht("hund anmelden", limit=3) is None  # never asked: the endpoint searches in a thread
    erste = wdb.suche("hund anmelden", limit=3)
    assert wdb.gecacht("hund   anmelden", limit=3) == erste
    assert wdb.gecacht("hund anmelden", limit=5) is None  # another limit is another question
    hund = db_session.get(Leistung, katalog["hund"])
    hund.leistungsname = "Hundesteuer anmelden"
    db_session.commit()
    monkeypatch.setattr(wdb, "_letzter_sync", 0.0)  # sync interval over: the change must be picked up first
    assert wdb.gecacht("hund anmelden", limit=3) is None
    assert wdb.suche("hund anmelden", limit=3)[0].name == "Hundesteuer anmelden"
    assert wdb.gecacht("hund anmelden", limit=3)[0].name == "Hundesteuer anmelden"


def test_suche_per_http_zweimal_gleich(katalog, client):
    """The endpoint's two paths (thread for a new question, cache for a repeated one) answer alike."""
    erste = client.get("/api/v1/leistungen", params={"q": "hund anmelden", "limit": 3})
    zweite = client.get("/api/v1/leistungen", params={"q": "hund anmelden", "limit": 3})
    assert erste.status_code == zweite.status_code == 200
    assert erste.json() == zweite.json() and erste.json()["treffer"]

def test_log_enthaelt_weder_fragen_noch_cti_token(client, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="servicecenter.http"):
        client.get("/api/v1/leistungen", params={"q": "Max Mustermann Hauptstraße 5"})
        client.post("/api/v1/cti/geheimes-token", data={"event": "newCall"})
    text = " ".join(str(r.__dict__) for r in caplog.records)
    assert "Mustermann" not in text and "geheimes-token" not in text
    assert "/api/v1/cti/***" in text


def test_suche_ohne_snippets_gleiche_treffer(katalog, client):
    """`snippets=false` (the chatbot's search): the same hits, order and confidence, only without the excerpt."""
    for frage in ("perso beantragen", "hund anmelden", "was kostet ein ausweis"):
        mit = client.get("/api/v1/leistungen", params={"q": frage, "limit": 5}).json()["treffer"]
        ohne = client.get("/api/v1/leistungen", params={"q": frage, "limit": 5, "snippets": "false"}).json()["treffer"]
        assert mit and any(t["snippet"] for t in mit)
        assert [(t["id"], t["score"], t["konfidenz"]) for t in ohne] == [(t["id"], t["score"], t["konfidenz"]) for t in mit]
        assert all(t["snippet"] == "" for t in ohne)
    assert client.get("/api/v1/leistungen", params={"q": "hund", "snippets": "vielleicht"}).status_code == 422


def test_leistung_mit_mehreren_stellen_je_einmal_mit_ihren_zeiten(katalog, client, db_session):
    """Several responsible offices, each with its own opening hours and exceptions: every office once, in the
    order entered, with exactly its own hours (the offices are loaded joined to the Leistung, their hours not)."""
    from datetime import date, time

    from wissensdatenbank.models import OeffnungsAusnahme, Oeffnungszeit, Organisationseinheit, Zustaendigkeit

    ausweis = db_session.get(Leistung, katalog["ausweis"])
    erste = ausweis.zustaendigkeiten[0].organisationseinheit
    zweite = Organisationseinheit(name="Bürgerservice Neustadt", strasse="Neustädter Passage", hausnummer="18",
                                  plz="06122", ort="Halle (Saale)")
    zweite.oeffnungszeiten = [Oeffnungszeit(wochentag=t, von=time(9), bis=time(15)) for t in (2, 3, 4)]
    zweite.ausnahmen = [OeffnungsAusnahme(datum=date(2026, 12, 31), geschlossen=True, grund="Silvester")]
    db_session.add(zweite)
    db_session.flush()
    db_session.add(Zustaendigkeit(leistung_id=ausweis.id, organisationseinheit_id=zweite.id, region="150020000000"))
    db_session.commit()

    r = client.get(f"/api/v1/leistungen/{katalog['ausweis']}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    stellen = [s["organisationseinheit"] for s in r.json()["zustaendige_stellen"]]
    assert [s["id"] for s in stellen] == [erste.id, zweite.id]
    assert {z["wochentag"] for z in stellen[0]["oeffnungszeiten"]} == {0, 1}
    assert [(z["wochentag"], z["von"], z["bis"]) for z in stellen[1]["oeffnungszeiten"]] == [
        (2, "09:00:00", "15:00:00"), (3, "09:00:00", "15:00:00"), (4, "09:00:00", "15:00:00")]
    assert stellen[1]["anschrift"] == "Neustädter Passage 18, 06122 Halle (Saale)"

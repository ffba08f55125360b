"""DLDB JSON importer: full records, the stripped public export shape, broken input."""

import json
import shutil
from decimal import Decimal

from sqlalchemy import func, select

from wissensdatenbank.importe import dldb
from wissensdatenbank.importe.basis import importiere
from wissensdatenbank.models import Leistung, LeistungStatus, Organisationseinheit


def _leistung(session, quell_id):
    return session.scalar(select(Leistung).where(Leistung.quelle_format == "dldb", Leistung.quelle_id == quell_id))


def _import(session, pfad, **kw):
    return importiere(session, format=dldb.FORMAT, eintraege=dldb.lesen(pfad), **kw)


def test_voller_datensatz_wird_abgebildet(db_session, fixtures_dir):
    bericht = _import(db_session, fixtures_dir / "dldb/export")
    assert (bericht.neu, bericht.oe_neu) == (2, 2)
    a = _leistung(db_session, "900001")
    assert a.leistungsname == "Musterausweis beantragen" and a.leika == "99008001012000"
    assert "<script>" not in a.volltext and "alert" not in a.volltext
    assert a.volltext.startswith("Der Musterausweis ist ein erfundenes Dokument") and "zehn Jahre" in a.volltext
    assert a.kurztext.startswith("Der Musterausweis ist ein erfundenes Dokument für Tests.")
    assert a.kosten_text.startswith("22,80 Euro")
    assert (a.kosten_betrag, a.kosten_betrag_bis) == (Decimal("22.80"), Decimal("37.00"))
    assert a.unterlagen == ["biometrisches Passfoto", "altes Ausweisdokument: falls vorhanden"]
    assert a.voraussetzungen == "- Wohnsitz in der Stadt"
    assert a.formulare == [{"name": "Antragsformular", "url": "https://example.org/antrag.pdf"}]
    assert a.rechtsgrundlagen == [{"name": "Musterausweisgesetz", "url": "https://example.org/gesetz"}]
    assert a.onlinedienste == [{"name": "Online beantragen", "url": "https://example.org/online"}]
    assert "Infoseite: https://example.org/info" in a.weiterfuehrende_informationen
    assert a.bearbeitungsdauer == "etwa drei Wochen"
    assert a.suchbegriffe == ["Ausweis", "Dokument", "Muster"]
    assert a.lebenslagen == ["Ausweise und Dokumente", "Haustiere"]
    assert a.termin_moeglich and a.termin_url == "https://service.example.org/terminvereinbarung/900001/"
    assert a.quelle_url == "https://service.example.org/dienstleistung/900001/"
    assert a.quelle_stand.year == 2023 and a.status == LeistungStatus.veroeffentlicht
    assert sorted(z.organisationseinheit.quelle_id for z in a.zustaendigkeiten) == ["600001", "600002"]

    nord = db_session.scalar(select(Organisationseinheit).where(Organisationseinheit.quelle_id == "600001"))
    assert nord.name == "Bezirksamt Muster – Bürgeramt Nord" and nord.kurzname == "Bürgeramt Nord"
    assert nord.anschrift == "Hauptstraße 5, 12345 Musterstadt"
    assert (nord.telefon, nord.email, nord.web) == ("030 000-111", "nord@example.org", "https://example.org/nord")
    assert [(s.wochentag, s.von.hour, s.bis.hour) for s in nord.oeffnungszeiten] == [(0, 8, 12), (1, 8, 12), (1, 13, 18)]
    assert "Donnerstag: nach Vereinbarung" in nord.hinweis and "24.12." in nord.hinweis


def test_kaputte_datensaetze_werden_mit_position_gemeldet(db_session, fixtures_dir):
    bericht = _import(db_session, fixtures_dir / "dldb/export")
    fehler = dict(bericht.fehler)
    assert fehler["services_de.json, Datensatz 3 (id 900003)"] == "Der Leistungsname fehlt."
    assert "LeiKa" in fehler["services_de.json, Datensatz 4 (id 900004)"]
    assert "javascript" in fehler["services_de.json, Datensatz 5 (id 900005)"]
    assert len(bericht.fehler) == 3
    assert _leistung(db_session, "900002").lebenslagen == ["Haustiere"]
    assert _leistung(db_session, "900003") is None and _leistung(db_session, "900005") is None


def test_oeffentlicher_export_ohne_texte(db_session, tmp_path):
    # The shape of the public export: ids, names and relations, no texts; no locations file.
    dok = {"data": [{"id": "1", "name": "Abfall - Genehmigung", "relation": {"root_topic": "9"},
                     "meta": {"url": None, "locale": "de", "lastupdate": "2015-02-05T08:10:13+01:00"},
                     "authorities": [{"id": "5"}],
                     "locations": [{"location": "77", "appointment": {"slots": "0", "external": False,
                                                                       "allowed": False}}]}]}
    datei = tmp_path / "services.json"
    datei.write_text(json.dumps(dok), encoding="utf-8")
    bericht = _import(db_session, datei)
    assert bericht.ok and bericht.neu == 1
    assert bericht.hinweise and "77" in bericht.hinweise[0][1]  # unknown location is a note, not an error
    a = _leistung(db_session, "1")
    assert a.volltext == "" and a.kosten_betrag is None and not a.termin_moeglich


def test_reimport_aktualisiert_und_depubliziert(db_session, fixtures_dir, tmp_path):
    quelle = fixtures_dir / "dldb/export"
    _import(db_session, quelle)
    zweiter = _import(db_session, quelle)
    assert (zweiter.neu, zweiter.aktualisiert, zweiter.unveraendert) == (0, 0, 2)
    assert db_session.scalar(select(func.count(Leistung.id))) == 2

    kopie = tmp_path / "export"
    shutil.copytree(quelle, kopie)
    dok = json.loads((kopie / "services_de.json").read_text(encoding="utf-8"))
    dok["data"] = [d for d in dok["data"] if d["id"] == "900001"]
    dok["data"][0]["name"] = "Musterausweis neu beantragen"
    (kopie / "services_de.json").write_text(json.dumps(dok), encoding="utf-8")
    dritter = _import(db_session, kopie)
    assert (dritter.neu, dritter.aktualisiert, dritter.depubliziert) == (0, 1, 1)
    assert _leistung(db_session, "900001").leistungsname == "Musterausweis neu beantragen"
    hund = _leistung(db_session, "900002")
    assert hund is not None and hund.status == LeistungStatus.entwurf
    assert db_session.scalar(select(func.count(Leistung.id))) == 2


def test_kaputtes_json_ist_fatal_und_schreibt_nichts(db_session, fixtures_dir, tmp_path):
    _import(db_session, fixtures_dir / "dldb/export")
    kopie = tmp_path / "export"
    shutil.copytree(fixtures_dir / "dldb/export", kopie)
    (kopie / "locations_de.json").write_text('{"data": [ {"id": "1", ', encoding="utf-8")
    bericht = _import(db_session, kopie)
    [(position, grund)] = bericht.fehler
    assert position.startswith("locations_de.json, Zeile 1") and "Ungültiges JSON" in grund
    assert (bericht.neu, bericht.aktualisiert, bericht.unveraendert, bericht.depubliziert) == (0, 0, 0, 0)
    a = _leistung(db_session, "900001")
    assert a.status == LeistungStatus.veroeffentlicht and len(a.zustaendigkeiten) == 2


def test_services_fehlt(db_session, tmp_path):
    bericht = _import(db_session, tmp_path)
    assert bericht.fehler and "services_de.json" in bericht.fehler[0][1]


def test_nachsichtiges_json_wie_im_schema_beispiel(db_session, tmp_path):
    datei = tmp_path / "services.json"
    datei.write_text('{"id": "42", "name": "Mit Komma", // Kommentar\n "links": [{"name": "A", "link": "https://a.example"},],}',
                     encoding="utf-8")
    bericht = _import(db_session, datei)
    assert bericht.ok and _leistung(db_session, "42").weiterfuehrende_informationen == "A: https://a.example"


def test_falsche_kodierung_wird_je_datensatz_gemeldet(db_session, tmp_path):
    daten = [{"id": "1", "name": "Müllabfuhr"}, {"id": "2", "name": "Hund anmelden"}]
    roh = json.dumps({"data": daten}, ensure_ascii=False).encode("utf-8").replace("Müll".encode(), "Müll".encode("latin-1"))
    datei = tmp_path / "services.json"
    datei.write_bytes(roh)
    bericht = _import(db_session, datei)
    gruende = " ".join(g for _, g in bericht.fehler)
    assert "UTF-8" in gruende and "Zeichenkodierung" in gruende
    assert any("id 1" in p for p, _ in bericht.fehler)
    assert _leistung(db_session, "1") is None and _leistung(db_session, "2") is not None


def test_betraege_aus_text():
    assert dldb.betraege_aus_text("gebührenfrei") == (Decimal("0.00"), None)
    assert dldb.betraege_aus_text("Gebühr: 1.200 EUR oder 15,50 €") == (Decimal("15.50"), Decimal("1200"))
    assert dldb.betraege_aus_text("nach Aufwand") == (None, None)

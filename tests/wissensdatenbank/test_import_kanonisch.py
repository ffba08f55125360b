"""Canonical JSON, CSV and the demo YAML importer: good and broken input."""

import json
from decimal import Decimal

from sqlalchemy import func, select

from wissensdatenbank.importe import csv_import, demo, json_import
from wissensdatenbank.importe.basis import importiere
from wissensdatenbank.models import Leistung, LeistungStatus, Organisationseinheit, Zustaendigkeit


def _leistung(session, quell_id, fmt="json"):
    return session.scalar(select(Leistung).where(Leistung.quelle_format == fmt, Leistung.quelle_id == quell_id))


def test_json_import_schreibt_alles(db_session, fixtures_dir):
    bericht = importiere(db_session, format="json", eintraege=json_import.lesen(fixtures_dir / "kanonisch/katalog.json"),
                         region="150020000000")
    assert bericht.ok, bericht.fehler
    assert (bericht.neu, bericht.oe_neu) == (2, 1)
    a = _leistung(db_session, "ausweis")
    assert a.leika == "99008001012000" and a.status == LeistungStatus.veroeffentlicht
    assert a.kosten_betrag == Decimal("22.80") and a.kosten_betrag_bis == Decimal("37.00")
    assert a.termin_moeglich and a.termin_url == "https://example.org/termin"
    assert a.unterlagen == ["altes Ausweisdokument", "biometrisches Passfoto"]
    [z] = a.zustaendigkeiten
    assert z.region == "150020000000"
    oe = z.organisationseinheit
    assert [(s.wochentag, s.von.hour, s.bis.hour) for s in oe.oeffnungszeiten] == [(0, 8, 12), (1, 8, 12), (1, 13, 18)]
    assert oe.ausnahmen[0].grund == "Heiligabend"


def test_reimport_ist_idempotent_und_depubliziert_verschwundene(db_session, fixtures_dir, tmp_path):
    pfad = fixtures_dir / "kanonisch/katalog.json"
    importiere(db_session, format="json", eintraege=json_import.lesen(pfad))
    zweiter = importiere(db_session, format="json", eintraege=json_import.lesen(pfad))
    assert (zweiter.neu, zweiter.aktualisiert, zweiter.unveraendert) == (0, 0, 2)
    assert db_session.scalar(select(func.count(Leistung.id))) == 2
    assert db_session.scalar(select(func.count(Organisationseinheit.id))) == 1

    dok = json.loads(pfad.read_text())
    dok["leistungen"] = dok["leistungen"][:1]
    dok["leistungen"][0]["kurztext"] = "Geänderter Text."
    neu = tmp_path / "k.json"
    neu.write_text(json.dumps(dok))
    dritter = importiere(db_session, format="json", eintraege=json_import.lesen(neu))
    assert (dritter.aktualisiert, dritter.depubliziert) == (1, 1)
    assert _leistung(db_session, "ausweis").kurztext == "Geänderter Text."
    hund = _leistung(db_session, "hund")
    assert hund is not None and hund.status == LeistungStatus.entwurf  # unpublished, not deleted
    # It comes back when the source has it again.
    vierter = importiere(db_session, format="json", eintraege=json_import.lesen(pfad))
    assert _leistung(db_session, "hund").status == LeistungStatus.veroeffentlicht
    assert vierter.aktualisiert == 2
    assert db_session.scalar(select(func.count(Zustaendigkeit.id))) == 2


def test_kaputtes_json_schreibt_nichts_und_depubliziert_nichts(db_session, fixtures_dir, tmp_path):
    importiere(db_session, format="json", eintraege=json_import.lesen(fixtures_dir / "kanonisch/katalog.json"))
    kaputt = tmp_path / "kaputt.json"
    kaputt.write_text('{"leistungen": [ {"quell_id": "x", ')
    bericht = importiere(db_session, format="json", eintraege=json_import.lesen(kaputt))
    assert not bericht.ok and bericht.fehler[0][0].startswith("Zeile 1")
    assert "Ungültiges JSON" in bericht.fehler[0][1]
    assert bericht.depubliziert == 0
    assert _leistung(db_session, "ausweis").status == LeistungStatus.veroeffentlicht


def test_json_falsche_kodierung(db_session, tmp_path):
    datei = tmp_path / "latin1.json"
    datei.write_bytes('{"leistungen": [{"quell_id": "a", "leistungsname": "Müll"}]}'.encode("latin-1"))
    bericht = importiere(db_session, format="json", eintraege=json_import.lesen(datei))
    assert "UTF-8" in bericht.fehler[0][1]
    assert db_session.scalar(select(func.count(Leistung.id))) == 0


def test_feindliche_felder(db_session, tmp_path):
    dok = {"leistungen": [
        {"quell_id": "js", "leistungsname": "X", "onlinedienste": [{"name": "klick", "url": "javascript:alert(1)"}]},
        {"quell_id": "zu-lang", "leistungsname": "A" * 301},
        {"quell_id": "ok", "leistungsname": "  Müll\x00abfuhr  ", "kurztext": "<script>alert(1)</script>"},
        {"quell_id": "kosten", "leistungsname": "K", "kosten": {"betrag": -5}},
        "kein Objekt",
    ]}
    datei = tmp_path / "f.json"
    datei.write_text(json.dumps(dok))
    bericht = importiere(db_session, format="json", eintraege=json_import.lesen(datei))
    fehler = dict(bericht.fehler)
    assert len(fehler) == 4
    assert any("Web-Adresse" in g for g in fehler.values())
    assert any("zu lang" in g for g in fehler.values())
    assert any("Betrag" in g for g in fehler.values())
    assert any("kein Objekt" in g for g in fehler.values())
    assert bericht.neu == 1
    ok = _leistung(db_session, "ok")
    assert ok.leistungsname == "Müllabfuhr"  # control characters removed
    # Stored as text; escaping happens at output (templates, snippets).
    assert ok.kurztext == "<script>alert(1)</script>"
    assert _leistung(db_session, "js") is None


def test_csv_meldet_fehler_je_zeile_und_importiert_den_rest(db_session, fixtures_dir):
    bericht = importiere(db_session, format="csv", eintraege=csv_import.lesen(fixtures_dir / "kanonisch/leistungen.csv"))
    gruende = {pos.split(" (")[0]: grund for pos, grund in bericht.fehler}
    assert set(gruende) == {"Zeile 3", "Zeile 4", "Zeile 5"}
    assert "Leistungsname fehlt" in gruende["Zeile 3"]
    assert "LeiKa" in gruende["Zeile 4"]
    assert "UTF-8" in gruende["Zeile 5"]
    assert bericht.neu == 2
    w1 = _leistung(db_session, "w1", "csv")
    assert w1.unterlagen == ["Mietvertrag", "Einkommensnachweise"] and w1.kosten_betrag == Decimal("0.00")
    assert _leistung(db_session, "w5", "csv").suchbegriffe == ["Sperrmuell"]


def test_csv_ohne_kopfzeile_ist_fatal(db_session, tmp_path):
    datei = tmp_path / "x.csv"
    datei.write_text("a,b\n1,2\n")
    bericht = importiere(db_session, format="csv", eintraege=csv_import.lesen(datei))
    assert bericht.fehler and "Kopfzeile" in bericht.fehler[0][1]


def test_demo_yaml_ordner(db_session, tmp_path):
    (tmp_path / "organisationseinheiten.yaml").write_text(
        "organisationseinheiten:\n  - quell_id: amt\n    name: Amt\n    oeffnungszeiten:\n"
        "      - {tag: mo, von: 08:00, bis: '12:00'}\n"
    )
    (tmp_path / "leistungen_1.yaml").write_text(
        "leistungen:\n  - quell_id: a\n    leistungsname: Alpha\n    zustaendig: [amt]\n"
        "  - quell_id: b\n    leistungsname: Beta\n    leika: '123'\n"
    )
    (tmp_path / "leistungen_2.yaml").write_text("leistungen: [unclosed\n")
    bericht = importiere(db_session, format="demo", eintraege=demo.lesen(tmp_path))
    assert bericht.neu == 1 and bericht.oe_neu == 1
    assert len(bericht.fehler) == 2  # the bad LeiKa and the broken YAML file
    oe = db_session.scalar(select(Organisationseinheit))
    # YAML 1.1 reads an unquoted 08:00 as sexagesimal minutes; the importer understands both.
    assert oe.oeffnungszeiten[0].von.hour == 8


def test_ids_werden_normalisiert_region_geprueft_und_stellen_deaktiviert(db_session):
    from wissensdatenbank.importe.basis import LeistungEintrag, OEEintrag, betrag

    eintraege = [
        ("1", OEEintrag(quell_id=" amt ", name="Amt")),
        ("2", OEEintrag(quell_id="alt", name="Altes Amt")),
        ("3", LeistungEintrag(quell_id=" x ", felder={"leistungsname": "X"}, zustaendig=["amt"])),
        ("4", LeistungEintrag(quell_id="y", felder={"leistungsname": "Y"}, region="1234567890123")),
    ]
    bericht = importiere(db_session, format="json", eintraege=eintraege)
    assert bericht.depubliziert == 0 and bericht.neu == 1
    assert "Regionalschlüssel" in bericht.fehler[0][1]
    x = _leistung(db_session, "x")
    assert x.status == LeistungStatus.veroeffentlicht and x.zustaendigkeiten[0].organisationseinheit.quelle_id == "amt"
    importiere(db_session, format="json", eintraege=[eintraege[0], eintraege[2]])
    alt = db_session.scalar(select(Organisationseinheit).where(Organisationseinheit.quelle_id == "alt"))
    assert alt.aktiv is False  # vanished from the source: deactivated, not deleted
    assert betrag("1.234", "k") == Decimal("1234.00") and betrag("12.50", "k") == Decimal("12.50")
    assert betrag("1.234,50 €", "k") == Decimal("1234.50")

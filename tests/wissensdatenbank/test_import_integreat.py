"""Integreat page export importer."""

import json

from sqlalchemy import func, select

from wissensdatenbank.importe import integreat
from wissensdatenbank.importe.basis import importiere
from wissensdatenbank.models import Leistung, LeistungStatus


def _leistung(session, quell_id):
    return session.scalar(
        select(Leistung).where(Leistung.quelle_format == "integreat", Leistung.quelle_id == quell_id)
    )


def _import(session, pfad):
    return importiere(session, format=integreat.FORMAT, eintraege=integreat.lesen(pfad))


def test_seiten_werden_leistungen(db_session, fixtures_dir):
    bericht = _import(db_session, fixtures_dir / "integreat/pages_musterstadt_de.json")
    assert bericht.neu == 2  # 101 has no content: skipped, not an error
    a = _leistung(db_session, "102")
    assert a.leistungsname == "Wohnung anmelden"
    assert a.volltext == (
        "Anmeldung\n\nNach dem Umzug melden Sie Ihre Wohnung innerhalb von zwei Wochen an. Das geht im Bürgeramt."
        "\n\nSie brauchen:\n\n- Ausweis\n- Wohnungsgeberbestätigung"
    )
    assert "cookie" not in a.volltext
    assert a.kurztext == "Nach dem Umzug melden Sie Ihre Wohnung innerhalb von zwei Wochen an. Das geht im Bürgeramt."
    assert a.lebenslagen == ["Ankommen"]
    assert a.quelle_url == "https://integreat.example.org/musterstadt/de/ankommen/anmeldung/"
    assert a.quelle_stand.isoformat().startswith("2023-10-02T09:00")
    assert _leistung(db_session, "101") is None


def test_fehlerhafte_seiten_werden_gemeldet(db_session, fixtures_dir):
    bericht = _import(db_session, fixtures_dir / "integreat/pages_musterstadt_de.json")
    fehler = dict(bericht.fehler)
    assert fehler["pages_musterstadt_de.json, Seite 4 (id 104)"] == "Der Leistungsname fehlt."
    assert "javascript" in fehler["pages_musterstadt_de.json, Seite 5 (id 105)"]
    assert len(bericht.fehler) == 2


def test_verzeichnis_mit_mehreren_dateien(db_session, fixtures_dir, tmp_path):
    (tmp_path / "pages_a_de.json").write_bytes((fixtures_dir / "integreat/pages_musterstadt_de.json").read_bytes())
    (tmp_path / "pages_b_de.json").write_text(json.dumps([
        {"id": 201, "url": "https://b.example/x/", "path": "/b/x/", "title": "Andere Stadt", "content": "<p>Text.</p>",
         "parent": {"id": 0, "url": None, "path": None}}]), encoding="utf-8")
    (tmp_path / "notizen.json").write_text("kein JSON", encoding="utf-8")  # not a pages file: ignored
    bericht = _import(db_session, tmp_path)
    assert bericht.neu == 3 and _leistung(db_session, "201") is not None


def test_reimport_und_verschwundene_seite(db_session, fixtures_dir, tmp_path):
    quelle = fixtures_dir / "integreat/pages_musterstadt_de.json"
    _import(db_session, quelle)
    zweiter = _import(db_session, quelle)
    assert (zweiter.neu, zweiter.unveraendert) == (0, 2)
    seiten = json.loads(quelle.read_text(encoding="utf-8"))
    seiten = [s for s in seiten if s["id"] != 103]
    seiten[1]["content"] = "<p>Neuer Text.</p>"
    neu = tmp_path / "pages.json"
    neu.write_text(json.dumps(seiten), encoding="utf-8")
    dritter = _import(db_session, neu)
    assert (dritter.aktualisiert, dritter.depubliziert) == (1, 1)
    assert _leistung(db_session, "102").volltext == "Neuer Text."
    assert _leistung(db_session, "103").status == LeistungStatus.entwurf
    assert db_session.scalar(select(func.count(Leistung.id))) == 2


def test_kaputtes_json_ist_fatal(db_session, fixtures_dir, tmp_path):
    _import(db_session, fixtures_dir / "integreat/pages_musterstadt_de.json")
    kaputt = tmp_path / "pages.json"
    kaputt.write_text('[{"id": 1, "title": "x",\n "content": ', encoding="utf-8")
    bericht = _import(db_session, kaputt)
    [(position, grund)] = bericht.fehler
    assert position.startswith("pages.json, Zeile 2") and "Ungültiges JSON" in grund
    assert bericht.depubliziert == 0
    assert _leistung(db_session, "102").status == LeistungStatus.veroeffentlicht


def test_kein_seitenexport(db_session, tmp_path):
    datei = tmp_path / "pages.json"
    datei.write_text('{"seiten": 3}', encoding="utf-8")
    bericht = _import(db_session, datei)
    assert bericht.fehler and "Liste von Seiten" in bericht.fehler[0][1]


def test_falsche_kodierung(db_session, tmp_path):
    seiten = [{"id": 1, "url": "https://x.example/1", "title": "Müll", "content": "<p>Müll trennen.</p>"},
              {"id": 2, "url": "https://x.example/2", "title": "Arzt", "content": "<p>Arzt finden.</p>"}]
    datei = tmp_path / "pages.json"
    datei.write_bytes(json.dumps(seiten, ensure_ascii=False).encode("latin-1"))
    bericht = _import(db_session, datei)
    assert any("UTF-8" in g for _, g in bericht.fehler)
    assert any(p.endswith("(id 1)") and "Zeichenkodierung" in g for p, g in bericht.fehler)
    assert _leistung(db_session, "1") is None and _leistung(db_session, "2").volltext == "Arzt finden."

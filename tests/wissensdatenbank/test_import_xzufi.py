"""XZuFi 2.2 importer: good documents, broken XML, hostile XML, encodings."""

from decimal import Decimal

from sqlalchemy import func, select

from wissensdatenbank.importe import xzufi
from wissensdatenbank.importe.basis import importiere
from wissensdatenbank.importe.html_text import html_zu_text
from wissensdatenbank.models import Leistung, LeistungStatus, Organisationseinheit, Zustaendigkeit


def _leistung(session, quell_id):
    return session.scalar(select(Leistung).where(Leistung.quelle_format == "xzufi", Leistung.quelle_id == quell_id))


def _import(session, pfad, **kw):
    return importiere(session, format=xzufi.FORMAT, eintraege=xzufi.lesen(pfad), **kw)


def _anzahl(session, modell):
    return session.scalar(select(func.count(modell.id)))


def test_katalog_wird_vollstaendig_abgebildet(db_session, fixtures_dir):
    bericht = _import(db_session, fixtures_dir / "xzufi/katalog.xml")
    assert bericht.ok, bericht.fehler
    assert (bericht.neu, bericht.oe_neu) == (3, 2)
    a = _leistung(db_session, "L-100")
    assert a.leistungsname == "Musterausweis beantragen"  # the German text, not the English one
    assert a.leistungsbezeichnung == "Musterausweis Ausstellung" and a.leika == "99008001012000"
    assert a.kurztext == "Sie erhalten einen Musterausweis im Bürgeramt."
    assert a.volltext == "Der Musterausweis dient als Beispiel.\n\n- gilt zehn Jahre\n- kostet Geld"
    assert a.unterlagen == ["altes Ausweisdokument", "biometrisches Passfoto"]
    assert a.voraussetzungen == "Sie wohnen in Halle (Saale)."
    assert a.rechtsgrundlagen == [{"name": "§ 1 Musterausweisgesetz", "url": "https://example.org/gesetz"}]
    assert a.formulare == [{"name": "Antragsformular", "url": "https://example.org/antrag.pdf"}]
    assert a.weiterfuehrende_informationen == "Mehr dazu im Netz.\nInfoseite: https://example.org/info"
    assert (a.kosten_betrag, a.kosten_betrag_bis) == (Decimal("22.80"), Decimal("37.00"))
    assert a.kosten_text.startswith("22,80 Euro unter 24")
    assert a.fristen.startswith("Beantragen Sie") and a.bearbeitungsdauer == "3 Wochen"
    assert a.onlinedienste == [{"name": "Musterausweis online beantragen", "url": "https://example.org/online/ausweis"}]
    [z] = a.zustaendigkeiten
    assert z.region == "150020000000" and z.organisationseinheit.quelle_id == "OE-BA-1"

    b = _leistung(db_session, "L-200")  # default namespace, code "3", CDATA HTML
    assert b.leistungsname == "Parkausweis für Anwohnende"
    assert b.volltext == "Mit dem Parkausweis parken Sie in Ihrer Zone."
    assert b.kosten_betrag == Decimal("30.50") and b.kosten_betrag_bis is None and b.kosten_text == "30,50 Euro"

    oe = z.organisationseinheit
    assert oe.name == "Bürgeramt Mitte" and oe.anschrift == "Musterplatz 1a, 06108 Halle (Saale)"
    assert (oe.telefon, oe.email, oe.web) == ("0345 000-1234", "buergeramt@example.org", "https://example.org/buergeramt")
    assert [(s.wochentag, s.von.hour, s.bis.hour) for s in oe.oeffnungszeiten] == [(0, 8, 12), (1, 9, 12), (1, 13, 18),
                                                                                   (2, 8, 12)]
    assert "Fax: 0345 000-9999" in oe.hinweis and "Fr nach Vereinbarung" in oe.hinweis
    sva = db_session.scalar(select(Organisationseinheit).where(Organisationseinheit.quelle_id == "OE-SA-2"))
    assert [(s.wochentag, s.von.hour, s.von.minute) for s in sva.oeffnungszeiten] == [(3, 7, 30)]


def test_script_im_text_wird_entfernt(db_session, fixtures_dir):
    _import(db_session, fixtures_dir / "xzufi/katalog.xml")
    assert "alert" not in _leistung(db_session, "L-100").volltext


def test_fehlerhafte_datensaetze_werden_gemeldet_der_rest_importiert(db_session, fixtures_dir):
    bericht = _import(db_session, fixtures_dir / "xzufi/fehlerhaft.xml")
    fehler = dict(bericht.fehler)
    assert fehler["Zeile 8, Element leistung[2] (id L-OHNE-NAME)"] == "Der Leistungsname fehlt."
    assert "LeiKa" in fehler["Zeile 12, Element leistung[3] (id L-LEIKA)"]
    assert "javascript" in fehler["Zeile 17, Element leistung[4] (id L-JS)"]
    assert bericht.neu == 1 and _leistung(db_session, "L-OK") is not None
    assert _anzahl(db_session, Leistung) == 1


def test_nicht_wohlgeformt_ist_fatal_und_schreibt_nichts(db_session, fixtures_dir):
    _import(db_session, fixtures_dir / "xzufi/katalog.xml")
    bericht = _import(db_session, fixtures_dir / "xzufi/kaputt.xml")
    [(position, grund)] = bericht.fehler
    assert position == "kaputt.xml, Zeile 8, Spalte 5" and "nicht wohlgeformt" in grund
    assert (bericht.neu, bericht.depubliziert) == (0, 0)
    assert _leistung(db_session, "L-900") is None
    assert _leistung(db_session, "L-100").status == LeistungStatus.veroeffentlicht


def test_xxe_wird_abgewiesen(db_session, fixtures_dir):
    bericht = _import(db_session, fixtures_dir / "xzufi/xxe.xml")
    [(position, grund)] = bericht.fehler
    assert "Sicherheitsgründen" in grund and position.startswith("xxe.xml, Zeile 2")
    assert _anzahl(db_session, Leistung) == 0


def test_billion_laughs_wird_abgewiesen(db_session, tmp_path):
    lol = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10)]
    datei = tmp_path / "lol.xml"
    datei.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE l [{"".join(lol)}]>\n<l>&lol9;</l>', encoding="utf-8")
    bericht = _import(db_session, datei)
    assert len(bericht.fehler) == 1 and "Sicherheitsgründen" in bericht.fehler[0][1]


def test_iso_8859_1_mit_umlauten(db_session, fixtures_dir):
    bericht = _import(db_session, fixtures_dir / "xzufi/latin1.xml")
    assert bericht.ok, bericht.fehler
    assert _leistung(db_session, "L-LATIN").leistungsname == "Müllabfuhr für Großbehälter"


def test_falsche_kodierung_in_utf8_datei(db_session, fixtures_dir, tmp_path):
    roh = (fixtures_dir / "xzufi/latin1.xml").read_bytes().replace(b'encoding="ISO-8859-1"', b'encoding="UTF-8"')
    datei = tmp_path / "falsch.xml"
    datei.write_bytes(roh)
    bericht = _import(db_session, datei)
    [(position, grund)] = bericht.fehler
    assert "UTF-8" in grund and position == "falsch.xml, Zeile 6"
    assert _anzahl(db_session, Leistung) == 0


def test_reimport_aktualisiert_und_depubliziert(db_session, fixtures_dir, tmp_path):
    quelle = fixtures_dir / "xzufi/katalog.xml"
    _import(db_session, quelle)
    zweiter = _import(db_session, quelle)
    assert (zweiter.neu, zweiter.aktualisiert, zweiter.unveraendert) == (0, 0, 3)
    assert _anzahl(db_session, Leistung) == 3 and _anzahl(db_session, Zustaendigkeit) == 2

    text = quelle.read_text(encoding="utf-8")
    anfang, ende = text.index("<xzufi:leistung>\n    <xzufi:id>L-300"), text.index("<xzufi:zustaendigkeit>")
    text = text[:anfang] + text[ende:]
    text = text.replace("Musterausweis beantragen</xzufi:inhalt>", "Musterausweis neu beantragen</xzufi:inhalt>")
    text = text.replace("<xzufi:organisationseinheitID>OE-BA-1</xzufi:organisationseinheitID>",
                        "<xzufi:organisationseinheitID>OE-SA-2</xzufi:organisationseinheitID>")
    neu = tmp_path / "neu.xml"
    neu.write_text(text, encoding="utf-8")
    dritter = _import(db_session, neu)
    assert (dritter.neu, dritter.aktualisiert, dritter.unveraendert, dritter.depubliziert) == (0, 1, 1, 1)
    a = _leistung(db_session, "L-100")
    assert a.leistungsname == "Musterausweis neu beantragen"
    assert [z.organisationseinheit.quelle_id for z in a.zustaendigkeiten] == ["OE-SA-2"]
    assert _leistung(db_session, "L-300").status == LeistungStatus.entwurf
    assert _anzahl(db_session, Leistung) == 3


def test_mehrere_gebiete_und_ungueltiges_gebiet(db_session, tmp_path):
    datei = tmp_path / "gebiete.xml"
    datei.write_text("""<?xml version="1.0" encoding="UTF-8"?>
<x:transfer xmlns:x="http://xoev.de/schemata/xzufi/2_2_0">
  <x:organisationseinheit><x:id>A</x:id><x:name>Amt A</x:name></x:organisationseinheit>
  <x:organisationseinheit><x:id>B</x:id><x:name>Amt B</x:name>
    <x:zustaendigkeit><x:leistungID>L1</x:leistungID><x:gebietID>150020000000</x:gebietID></x:zustaendigkeit>
  </x:organisationseinheit>
  <x:leistung><x:id>L1</x:id>
    <x:modulText><x:leistungsmodulTyp><code>03</code></x:leistungsmodulTyp><x:inhalt>Eine Leistung</x:inhalt></x:modulText>
    <x:zustaendigkeit><x:organisationseinheitID>A</x:organisationseinheitID><x:gebietID>150010000000</x:gebietID>
      <x:gebietID>Halle</x:gebietID></x:zustaendigkeit>
  </x:leistung>
</x:transfer>""", encoding="utf-8")
    bericht = _import(db_session, datei)
    assert len(bericht.fehler) == 1 and "'Halle'" in bericht.fehler[0][1]
    a = _leistung(db_session, "L1")
    assert sorted((z.region, z.organisationseinheit.quelle_id) for z in a.zustaendigkeiten) == [
        ("150010000000", "A"), ("150020000000", "B")]


def test_html_zu_text():
    html = '<p>Eins<br>zwei</p><ul><li>a</li><li>b</li></ul><style>p{}</style><script>x()</script><ol><li>c</li></ol>'
    assert html_zu_text(html) == "Eins\nzwei\n\n- a\n- b\n\n1. c"
    assert html_zu_text("Zeile 1\r\nZeile 2") == "Zeile 1\nZeile 2"
    assert html_zu_text("a &amp; b&#160;c") == "a & b c"

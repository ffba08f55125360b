"""The shipped demo catalogue: every entry has real content (checked without ../shared)."""

from collections import Counter

import pytest
import yaml

from wissensdatenbank.importe import demo
from wissensdatenbank.importe.basis import Fehler, LeistungEintrag, OEEintrag, importiere
from wissensdatenbank.models import Leistung

EINTRAEGE = list(demo.lesen())
LEISTUNGEN = [e for _, e in EINTRAEGE if isinstance(e, LeistungEintrag)]
OES = {e.quell_id: e for _, e in EINTRAEGE if isinstance(e, OEEintrag)}


def test_demo_dateien_sind_lesbar():
    assert not [e for _, e in EINTRAEGE if isinstance(e, Fehler)]
    for datei in demo.dateien():
        assert yaml.safe_load(datei.read_text(encoding="utf-8"))
    assert len(LEISTUNGEN) >= 63
    assert not [n for n, c in Counter(e.felder["leistungsname"] for e in LEISTUNGEN).items() if c > 1]
    assert not [n for n, c in Counter(e.quell_id for e in LEISTUNGEN).items() if c > 1]


@pytest.mark.parametrize("eintrag", LEISTUNGEN, ids=lambda e: e.quell_id)
def test_jeder_eintrag_hat_echten_inhalt(eintrag):
    f = eintrag.felder
    assert len(f.get("kurztext") or "") >= 120, "Kurztext zu kurz"
    assert len(f.get("unterlagen") or []) >= 1, "Unterlagen fehlen"
    assert f.get("kosten_text") and len(f["kosten_text"]) >= 8, "Kosten fehlen"
    assert f.get("kosten_betrag") is not None, "Kosten ohne Betrag"
    assert len(f.get("verfahrensablauf") or "") >= 80
    assert f.get("bearbeitungsdauer")
    assert len(f.get("suchbegriffe") or []) >= 10
    assert eintrag.zustaendig and all(z in OES for z in eintrag.zustaendig)
    for z in eintrag.zustaendig:
        oe = OES[z]
        assert oe.oeffnungszeiten, f"{z} ohne Öffnungszeiten"
        assert oe.strasse and oe.plz and oe.ort and oe.telefon


def test_demo_import_ohne_fehler(db_session):
    bericht = importiere(db_session, format="demo", eintraege=demo.lesen(), region="150020000000")
    assert bericht.ok, bericht.fehler
    assert not bericht.hinweise, bericht.hinweise
    assert bericht.neu == len(LEISTUNGEN)
    assert db_session.query(Leistung).filter(Leistung.art == "maengelmeldung").count() >= 5


def test_alltagswoerter_verhindern_keine_sichere_antwort(db_session, session_factory):
    """Citizens add words the catalogue never uses. When the calibrated model is sure anyway, the unknown words
    do not turn the answer into "kein Treffer"; without a sure model they still do."""
    from wissensdatenbank.service import Wissensdatenbank

    importiere(db_session, format="demo", eintraege=demo.lesen(), region="150020000000")
    db_session.commit()
    wdb = Wissensdatenbank(session_factory, sync_intervall=1e9)
    wdb.aufbauen()
    t = wdb.suche("Kinderreisepass für meine Tochter", limit=3)
    assert t[0].name == "Kinderreisepass beantragen" and t[0].konfidenz == "sicher"
    for frage in ("Hundesteuer für mein Pferd", "Wo kann ich in Halle gut Pizza essen", "Wie wird das Wetter morgen?"):
        assert all(x.konfidenz == "kein Treffer" for x in wdb.suche(frage, limit=3)), frage

"""German analyzer phenomena, each checked through the search with small in-test documents."""

from __future__ import annotations

import pytest

from wissensdatenbank.suche import SuchDokument, SuchIndex
from wissensdatenbank.suche import analyse as A

DOKS = [
    SuchDokument(1, "Personalausweis beantragen", (), "Personalausweis Ausstellung",
                 "Den Antrag stellen Sie persönlich im Bürgerservice. Bringen Sie ein biometrisches Foto mit."),
    SuchDokument(2, "Führerschein umtauschen", (), "Fahrerlaubnis Umtausch",
                 "Alte Papierführerscheine müssen in den Kartenführerschein umgetauscht werden."),
    SuchDokument(3, "Hund zur Steuer anmelden", (), "Hundesteuer Anmeldung",
                 "Wer einen Hund hält, meldet ihn innerhalb von zwei Wochen an der Straße des Amtes an."),
    SuchDokument(4, "Gewerbe anmelden", (), "Gewerbeanzeige",
                 "Wer ein Gewerbe beginnt, zeigt das beim Gewerbeamt an. Die Gewerbeanmeldung kostet Gebühren."),
    SuchDokument(5, "Wohnberechtigungsschein beantragen", (), "Wohnberechtigungsschein Erteilung",
                 "Mit dem Schein können Sie eine geförderte Sozialwohnung mieten."),
    SuchDokument(6, "Befreiung vom Rundfunkbeitrag", (), "Rundfunkbeitrag Befreiung",
                 "Wer Sozialleistungen bezieht, kann sich vom Beitrag befreien lassen."),
    SuchDokument(7, "Versammlung anzeigen", (), "Versammlungsanzeige",
                 "Eine öffentliche Versammlung unter freiem Himmel zeigen Sie 48 Stunden vorher an."),
    SuchDokument(8, "Bewohnerparkausweis beantragen", (), "Parkausweis für Bewohner",
                 "Im Bewohnerparkgebiet parken Sie mit dem Ausweis ohne Parkschein."),
    SuchDokument(9, "Verwarnungsgeld bezahlen", (), "Verwarnungsgeld Zahlung",
                 "Wer falsch parkt, erhält eine Verwarnung mit Verwarnungsgeld."),
    SuchDokument(10, "Kraftfahrzeug zulassen", (), "Fahrzeugzulassung",
                 "Ein neues Fahrzeug lassen Sie bei der Zulassungsbehörde zu."),
]


@pytest.fixture(scope="module")
def index() -> SuchIndex:
    i = SuchIndex()
    i.aufbauen(DOKS)
    return i


def erster(index: SuchIndex, frage: str) -> int | None:
    t = index.suchen(frage, limit=3)
    return t[0].id if t else None


def test_normalisierung_nfkc() -> None:
    assert A.normalisieren("ﬁnden") == "finden"
    assert A.normalisieren("Ｐａｓｓ") == "pass"


def test_nfkc_in_der_suche(index: SuchIndex) -> None:
    assert erster(index, "Ｐｅｒｓｏｎａｌａｕｓｗｅｉｓ") == 1


def test_gross_kleinschreibung(index: SuchIndex) -> None:
    assert erster(index, "PERSONALAUSWEIS BEANTRAGEN") == 1
    assert erster(index, "personalausweis") == 1


def test_umlaute_und_eszett(index: SuchIndex) -> None:
    assert A.normalisieren("Führerschein Straße") == A.normalisieren("Fuehrerschein Strasse")
    assert erster(index, "Fuehrerschein umtauschen") == 2
    assert erster(index, "Hundesteuer Strasse") == 3


def test_stemming(index: SuchIndex) -> None:
    assert A.stamm("anmeldungen") == A.stamm("anmeldung")
    assert erster(index, "Hunde anmelden Steuern") == 3


def test_zerlegung_von_komposita() -> None:
    teile = A.zerleger().zerlegen("personalausweisantrag")
    assert "antrag" in teile and "ausweis" in teile


def test_kompositum_in_der_suche(index: SuchIndex) -> None:
    # neither document contains the compound itself
    assert erster(index, "Personalausweisantrag") == 1
    assert erster(index, "Gewerbeamtsgebühren") == 4


@pytest.mark.parametrize(
    ("frage", "erwartet"),
    [
        ("Perso", 1),
        ("WBS", 5),
        ("GEZ befreien", 6),
        ("Demo anmelden", 7),
        ("Anwohnerparkausweis", 8),
        ("Knöllchen", 9),
        ("Kfz zulassen", 10),
    ],
)
def test_synonyme(index: SuchIndex, frage: str, erwartet: int) -> None:
    assert erster(index, frage) == erwartet


def test_synonym_lexikon_ist_symmetrisch() -> None:
    syn = A.synonyme()
    assert ("personalausweis",) in syn[("perso",)]
    assert ("perso",) in syn[("personalausweis",)]


@pytest.mark.parametrize(("frage", "erwartet"), [("personalauswies", 1), ("gewerbeanmeldnug", 4), ("Wohnberechtigunsschein", 5)])
def test_tippfehler(index: SuchIndex, frage: str, erwartet: int) -> None:
    assert erster(index, frage) == erwartet


def test_stoppwoerter() -> None:
    assert A.feld_terme("Wie kann ich das denn machen?") == []
    assert "personalausweis" in A.feld_terme("Wie bekomme ich einen Personalausweis?")


def test_nur_stoppwoerter_findet_nichts(index: SuchIndex) -> None:
    assert index.suchen("Was ist das und wie geht es?") == []


def test_feldgewichtung_name_vor_text() -> None:
    i = SuchIndex()
    i.aufbauen(
        [
            SuchDokument(1, "Sperrmüll anmelden", (), "", "Große Gegenstände werden abgeholt."),
            SuchDokument(2, "Abfallkalender", (), "", "Hinweise zu Restmüll, Biomüll und Sperrmüll im Jahreslauf."),
        ]
    )
    assert erster(i, "Sperrmüll") == 1


def test_trennbare_verben_am_satzende():
    assert A.trennbare_verben("Ich melde mich um") == {"melde": ["ummelde"]}
    tv = A.trennbare_verben("Ich wandere nach Kanada aus und muss mich abmelden")
    assert tv["wandere"] == ["auswandere"] and "abmelden" not in tv  # the clause ends at "und"
    assert A.trennbare_verben("Kann ich das online machen?") == {}
    assert A.trennbare_verben("Ich gehe zu Fuß zum Amt") == {}  # particle not at the clause end

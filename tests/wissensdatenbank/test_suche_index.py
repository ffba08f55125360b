"""SuchIndex contract: incremental updates, regions, confidence, snippets, thread safety, mapping."""

from __future__ import annotations

import threading

import pytest

from wissensdatenbank.suche import KEIN_TREFFER, SICHER, SuchDokument, SuchIndex, dokument_aus_dict
from wissensdatenbank.suche import index as index_modul


def _doks() -> list[SuchDokument]:
    return [
        SuchDokument(1, "Personalausweis beantragen", ("Perso", "Ausweis"), "Personalausweis Ausstellung",
                     "Den Personalausweis beantragen Sie im Bürgerservice. Er kostet 37 Euro."),
        SuchDokument(2, "Reisepass beantragen", ("Pass",), "Reisepass Ausstellung",
                     "Für Reisen außerhalb der EU brauchen Sie einen Reisepass."),
        SuchDokument(3, "Sperrmüll anmelden", ("Sperrgut",), "Sperrmüllabfuhr",
                     "Möbel und große Gegenstände holen wir nach Anmeldung ab."),
        SuchDokument(4, "Hund anmelden", ("Hundesteuer",), "Hundesteuer Anmeldung",
                     "Wer einen Hund hält, zahlt Hundesteuer."),
    ]


@pytest.fixture()
def index() -> SuchIndex:
    i = SuchIndex()
    i.aufbauen(_doks())
    return i


def test_aufbauen_und_len(index: SuchIndex) -> None:
    assert len(index) == 4
    assert index.suchen("Reisepass")[0].id == 2


def test_setzen_fuegt_hinzu(index: SuchIndex) -> None:
    index.setzen(SuchDokument(5, "Wohngeld beantragen", ("Mietzuschuss",), "Wohngeld", "Zuschuss zur Miete."))
    assert len(index) == 5
    assert index.suchen("Wohngeld")[0].id == 5


def test_setzen_ersetzt(index: SuchIndex) -> None:
    index.setzen(SuchDokument(2, "Kinderreisepass beantragen", (), "", "Für Kinder unter 12 Jahren."))
    assert len(index) == 5 - 1
    t = index.suchen("Kinderreisepass")
    assert t[0].id == 2
    # the old text is gone
    assert all(x.id != 2 for x in index.suchen("außerhalb EU"))


def test_entfernen(index: SuchIndex) -> None:
    index.entfernen(3)
    assert len(index) == 3
    assert all(t.id != 3 for t in index.suchen("Sperrmüll"))
    index.entfernen(3)  # idempotent
    assert len(index) == 3


def test_entfernen_aus_delta(index: SuchIndex) -> None:
    index.setzen(SuchDokument(9, "Fischereischein beantragen", (), "", "Angeln nur mit Fischereischein."))
    assert index.suchen("Fischereischein")[0].id == 9
    index.entfernen(9)
    assert index.suchen("Fischereischein") == [] or index.suchen("Fischereischein")[0].id != 9


def test_delta_wird_zusammengefuehrt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_modul, "DELTA_MAX", 3)
    i = SuchIndex()
    i.aufbauen(_doks())
    for n in range(10, 20):
        i.setzen(SuchDokument(n, f"Leistung Nummer{n}", (), "", f"Text zu Nummer{n}."))
    assert len(i) == 14
    assert i._n_main > 4  # a merge happened
    assert i.suchen("Nummer17")[0].id == 17
    assert i.suchen("Hundesteuer")[0].id == 4


def test_leerer_index() -> None:
    i = SuchIndex()
    i.aufbauen([])
    assert len(i) == 0
    assert i.suchen("Personalausweis") == []
    i.setzen(SuchDokument(1, "Personalausweis beantragen"))
    assert i.suchen("Personalausweis")[0].id == 1


def test_setzen_ohne_aufbauen() -> None:
    i = SuchIndex()
    assert len(i) == 0 and i.suchen("Hund") == []
    i.setzen(SuchDokument(3, "Hund anmelden", (), "", "Hundesteuer zahlen."))
    assert [t.id for t in i.suchen("Hundesteuer")] == [3]


def test_regionenfilter() -> None:
    i = SuchIndex()
    i.aufbauen(
        [
            SuchDokument(1, "Sperrmüll anmelden Halle", regionen=frozenset({"15002"})),
            SuchDokument(2, "Sperrmüll anmelden Magdeburg", regionen=frozenset({"15003"})),
            SuchDokument(3, "Sperrmüll bundesweit", regionen=frozenset()),
        ]
    )
    ids = {t.id for t in i.suchen("Sperrmüll", region="150020000000")}
    assert ids == {1, 3}
    assert {t.id for t in i.suchen("Sperrmüll")} == {1, 2, 3}
    assert {t.id for t in i.suchen("Sperrmüll", region="09")} == {3}


def test_konfidenz_unsinn(index: SuchIndex) -> None:
    for frage in ("asdf qwertz", "Wie wird das Wetter morgen?", "xkcd blorf"):
        t = index.suchen(frage)
        assert all(x.konfidenz == KEIN_TREFFER for x in t), (frage, t)


def test_konfidenz_klare_frage() -> None:
    i = SuchIndex()
    i.aufbauen(_doks())
    t = i.suchen("Hundesteuer anmelden")
    assert t[0].id == 4
    assert t[0].konfidenz == SICHER


def test_snippet_escaping() -> None:
    i = SuchIndex()
    i.aufbauen([SuchDokument(1, "Testleistung", (), "", 'Vorsicht <script>alert("x")</script> Hundesteuer & mehr.')])
    s = i.suchen("Hundesteuer")[0].snippet
    assert "<script>" not in s
    assert "&lt;script&gt;" in s
    assert "<mark>Hundesteuer</mark>" in s
    assert "&amp;" in s


def test_nebenlaeufigkeit(index: SuchIndex) -> None:
    fehler: list[BaseException] = []

    def schreiben() -> None:
        try:
            for n in range(100, 160):
                index.setzen(SuchDokument(n, f"Dienst{n}", (), "", "Personalausweis Hilfe"))
                if n % 3 == 0:
                    index.entfernen(n - 1)
        except BaseException as e:  # pragma: no cover - reported below
            fehler.append(e)

    def lesen() -> None:
        try:
            for _ in range(60):
                index.suchen("Personalausweis beantragen")
        except BaseException as e:  # pragma: no cover
            fehler.append(e)

    th = [threading.Thread(target=schreiben), threading.Thread(target=lesen), threading.Thread(target=lesen)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    assert not fehler
    assert index.suchen("Dienst159")[0].id == 159


def test_dokument_aus_dict() -> None:
    d = {
        "leistungsname": "Personalausweis beantragen",
        "leistungsbezeichnung": "Personalausweis Ausstellung",
        "suchbegriffe": ["Perso", "Ausweis"],
        "teaser": "Kurz.",
        "kurztext": "Mittel.",
        "volltext": "Lang.",
        "voraussetzungen": "Wohnsitz.",
        "unterlagen": ["Foto", "Alter Ausweis"],
        "verfahrensablauf": "Termin.",
        "hinweise": "Hinweis.",
        "lebenslagen": ["Ausweise und Dokumente"],
        "kosten": {"betrag": 37.0},
    }
    s = dokument_aus_dict(d, 7)
    assert s.id == 7 and s.name == "Personalausweis beantragen"
    assert s.suchbegriffe == ("Perso", "Ausweis")
    assert s.bezeichnung == "Personalausweis Ausstellung"
    for teil in ("Kurz.", "Mittel.", "Lang.", "Wohnsitz.", "Foto", "Alter Ausweis", "Termin.", "Hinweis.", "Ausweise und Dokumente"):
        assert teil in s.text
    assert "37" not in s.text
    assert s.regionen == frozenset()


def test_konfidenz_haengt_nicht_vom_limit_ab() -> None:
    """The class compares the top hit with the runner-up: asking for one hit must give the same class."""
    i = SuchIndex()
    i.aufbauen(_doks())
    for frage in ("Hundesteuer anmelden", "Sperrmüll", "asdf qwertz", "Wohnung ummelden"):
        zehn, eins = i.suchen(frage, limit=10), i.suchen(frage, limit=1)
        assert [t.id for t in eins] == [t.id for t in zehn[:1]]
        assert [t.konfidenz for t in eins] == [t.konfidenz for t in zehn[:1]], frage


def test_trennbares_verb_findet_das_zusammengesetzte_wort() -> None:
    i = SuchIndex()
    i.aufbauen(_doks() + [
        SuchDokument(5, "Wohnsitz ummelden", ("Ummeldung", "umziehen"), "Ummeldung", "Nach einem Umzug in Halle."),
        SuchDokument(6, "Wohnsitz abmelden", ("Abmeldung", "auswandern"), "Abmeldung", "Wer ins Ausland zieht."),
        SuchDokument(7, "Wohnsitz anmelden", ("Anmeldung",), "Anmeldung", "Wer nach Halle zieht, meldet sich an."),
    ])
    assert i.suchen("ich melde mich um")[0].id == 5
    assert i.suchen("wir wandern nach Kanada aus")[0].id == 6
    assert i.suchen("wo melde ich mich an")[0].id == 7


def test_spalten_lesen_wie_scipys_spaltenauswahl() -> None:
    """The query terms' columns read straight from the CSC arrays are scipy's `m[:, tids].tocsr()`: same shape,
    dtype, index arrays and values, for repeated and unordered terms, empty columns and explicit duplicates."""
    import numpy as np
    import scipy.sparse as sp

    from wissensdatenbank.suche.index import _spalten, _spalten_csr

    zufall = np.random.default_rng(115)
    for _ in range(300):
        zeilen, spalten = int(zufall.integers(1, 60)), int(zufall.integers(1, 300))
        m = sp.random(zeilen, spalten, density=float(zufall.uniform(0.0, 0.3)), format="csc", dtype=np.float32,
                      random_state=zufall)
        tids = zufall.integers(0, spalten, size=int(zufall.integers(1, 12)))
        erwartet, neu = m[:, tids].tocsr(), _spalten_csr(m, tids)
        assert erwartet.shape == neu.shape and erwartet.dtype == neu.dtype
        for a in ("indptr", "indices", "data"):
            assert np.array_equal(getattr(erwartet, a), getattr(neu, a)), a
    # duplicate entries stored in one column stay as they are
    m = sp.csc_matrix((np.array([1.0, 2.0, 3.0], dtype=np.float32), np.array([2, 2, 0]), np.array([0, 0, 3])),
                      shape=(3, 2))
    t = np.array([1, 0, 1])
    assert np.array_equal(_spalten_csr(m, t).toarray(), m[:, t].tocsr().toarray())
    # a term newer than the matrix: an empty column (scipy's path)
    assert _spalten(m, np.array([1, 5])).toarray().tolist() == [[3.0, 0.0], [0.0, 0.0], [3.0, 0.0]]

import pytest

from wissensdatenbank.leika import LeikaFehler, leika_teile, normalisiere_leika


def test_gueltiger_schluessel_und_teile():
    assert normalisiere_leika("99008001012000") == "99008001012000"
    assert normalisiere_leika(" 99 008 001 012 000 ") == "99008001012000"
    assert normalisiere_leika("urn:de:fim:leika:leistung:99115005104000") == "99115005104000"
    assert leika_teile("99115005104000") == {
        "land": "99", "gruppierung": "115", "leistungsobjekt": "005", "verrichtung": "104", "detail": "000",
    }


@pytest.mark.parametrize("wert", [None, "", "   "])
def test_leer_ist_kein_schluessel(wert):
    assert normalisiere_leika(wert) is None


@pytest.mark.parametrize("wert", ["9900800101200", "990080010120001", "9900800101200A", "00008001012000", "17008001012000"])
def test_ungueltige_schluessel(wert):
    with pytest.raises(LeikaFehler):
        normalisiere_leika(wert)

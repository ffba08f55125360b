from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from wissensdatenbank.oeffnung import Ausnahme, Slot, feiertag, oeffnungsstatus, wochenplan_text

TZ = ZoneInfo("Europe/Berlin")
PLAN = [
    Slot(0, time(8), time(12)),
    Slot(1, time(8), time(12)),
    Slot(1, time(13), time(18)),
    Slot(3, time(8), time(12)),
    Slot(4, time(8), time(12)),
]


def um(*args) -> datetime:
    return datetime(*args, tzinfo=TZ)


def test_geoeffnet_im_slot():
    st = oeffnungsstatus(PLAN, jetzt=um(2026, 11, 23, 9, 30))  # Monday
    assert st.geoeffnet and st.schliesst_um == um(2026, 11, 23, 12, 0)
    assert st.text == "Jetzt geöffnet bis 12:00 Uhr."


def test_mittagspause_oeffnet_heute_wieder():
    st = oeffnungsstatus(PLAN, jetzt=um(2026, 11, 24, 12, 30))  # Tuesday
    assert not st.geoeffnet
    assert st.naechste_oeffnung == um(2026, 11, 24, 13, 0)
    assert "heute um 13:00 Uhr" in st.text


def test_ende_ist_exklusiv_und_wochenende_wird_uebersprungen():
    st = oeffnungsstatus(PLAN, jetzt=um(2026, 11, 27, 12, 0))  # Friday 12:00 sharp
    assert not st.geoeffnet
    assert st.naechste_oeffnung == um(2026, 11, 30, 8, 0)
    assert "am Montag, 30.11., um 08:00 Uhr" in st.text


def test_feiertage_sachsen_anhalt():
    # Heilige Drei Könige is a holiday in Sachsen-Anhalt, not in Berlin.
    assert feiertag(date(2026, 1, 6), "ST")
    assert feiertag(date(2026, 1, 6), "BE") is None
    st = oeffnungsstatus(PLAN, jetzt=um(2026, 1, 6, 9, 0))  # Tuesday, holiday
    assert not st.geoeffnet
    assert "Heilige Drei Könige" in st.hinweis
    assert st.naechste_oeffnung == um(2026, 1, 8, 8, 0)
    # Reformationstag (31.10.) is a holiday in ST too.
    assert feiertag(date(2025, 10, 31), "ST")


def test_ausnahmen_schliessen_oder_verkuerzen():
    heiligabend = Ausnahme(date(2026, 12, 24), True, grund="Heiligabend")
    kurz = Ausnahme(date(2026, 11, 24), False, time(8), time(10), "Personalversammlung")
    st = oeffnungsstatus(PLAN, [heiligabend], jetzt=um(2026, 12, 24, 9))
    assert not st.geoeffnet and "Heiligabend" in st.text
    st = oeffnungsstatus(PLAN, [kurz], jetzt=um(2026, 11, 24, 14))
    assert not st.geoeffnet  # normally open Tuesday afternoon
    st = oeffnungsstatus(PLAN, [kurz], jetzt=um(2026, 11, 24, 9))
    assert st.geoeffnet and st.schliesst_um == um(2026, 11, 24, 10)


def test_sommerzeit_wird_beachtet():
    # 07:30 UTC in summer is 09:30 in Halle.
    st = oeffnungsstatus(PLAN, jetzt=datetime(2026, 6, 1, 7, 30, tzinfo=ZoneInfo("UTC")))
    assert st.geoeffnet


def test_ohne_plan_und_naive_zeit():
    assert oeffnungsstatus([], jetzt=um(2026, 11, 23, 9)).text == "Keine Öffnungszeiten hinterlegt."
    with pytest.raises(ValueError):
        oeffnungsstatus(PLAN, jetzt=datetime(2026, 11, 23, 9))


def test_wochenplan_text():
    assert wochenplan_text(PLAN)[1] == ("Dienstag", "08:00–12:00, 13:00–18:00")


def test_feiertage_laden_fuellt_das_jahr_und_das_naechste():
    """The server loads the calendar at start (servicecenter/app.py), so no citizen's request pays for it; the next
    year too, because in December the look-ahead for the next opening crosses the turn of the year."""
    from wissensdatenbank import oeffnung

    oeffnung._feiertage.cache_clear()
    oeffnung.feiertage_laden("ST", 2031)
    vorher = oeffnung._feiertage.cache_info()
    assert oeffnung.feiertag(date(2031, 12, 25), "ST") == "Erster Weihnachtstag"
    assert oeffnung.feiertag(date(2032, 1, 1), "ST") == "Neujahr"
    assert oeffnung.feiertag(date(2032, 1, 6), "ST") == "Heilige Drei Könige"  # Sachsen-Anhalt
    nachher = oeffnung._feiertage.cache_info()
    assert nachher.misses == vorher.misses and nachher.hits == vorher.hits + 3


def test_unbekanntes_land_faellt_beim_start_auf():
    from pydantic import ValidationError

    from servicecenter.settings import Settings

    with pytest.raises(ValidationError, match="unknown Land 'XY'"):
        Settings(feiertage_land="XY")
    assert Settings(feiertage_land="BY").feiertage_land == "BY"

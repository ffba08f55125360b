"""Service-hours arithmetic: weekends, Sachsen-Anhalt holidays, outside hours, DST, pauses, flags."""

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from servicecenter import sla

BERLIN = ZoneInfo("Europe/Berlin")
SZ = sla.Servicezeiten()
H = timedelta(hours=1)


def lokal(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def faellig(start: datetime) -> datetime:
    return sla.faellig_ab(start, SZ, 24).astimezone(BERLIN)


def test_innerhalb_einer_woche():
    # Mon 10:00: 8 h Monday, 10 h Tuesday, 6 h Wednesday.
    assert faellig(lokal(2026, 11, 16, 10)) == lokal(2026, 11, 18, 14)


def test_ueber_das_wochenende():
    # Fri 10:00: 8 h Friday, 10 h Monday, 6 h Tuesday.
    assert faellig(lokal(2026, 11, 20, 10)) == lokal(2026, 11, 24, 14)


def test_reformationstag_sachsen_anhalt():
    # Thu 30.10.2025 10:00; Fri 31.10. is a holiday in Sachsen-Anhalt → Tuesday instead of Monday.
    assert faellig(lokal(2025, 10, 30, 10)) == lokal(2025, 11, 4, 14)
    # The same weekday pattern a week earlier, without a holiday, ends on Monday.
    assert faellig(lokal(2025, 10, 23, 10)) == lokal(2025, 10, 27, 14)


def test_reformationstag_gilt_nur_mit_land_st():
    # Bavaria does not observe Reformationstag.
    by = sla.Servicezeiten(land="BY")
    assert sla.faellig_ab(lokal(2025, 10, 30, 10), by).astimezone(BERLIN) == lokal(2025, 11, 3, 14)


def test_heilige_drei_koenige():
    # Mon 5.1.2026 12:00: 6 h Monday, Tuesday 6.1. is a holiday in ST, 10 h Wednesday, 8 h Thursday.
    assert faellig(lokal(2026, 1, 5, 12)) == lokal(2026, 1, 8, 16)


def test_anlage_ausserhalb_der_servicezeit():
    assert faellig(lokal(2026, 11, 23, 20)) == lokal(2026, 11, 26, 12)  # Mon evening → starts Tue 08:00
    assert faellig(lokal(2026, 11, 24, 6, 30)) == lokal(2026, 11, 26, 12)  # before opening
    assert faellig(lokal(2026, 11, 21, 11)) == lokal(2026, 11, 25, 12)  # Saturday → starts Mon 08:00
    assert faellig(lokal(2026, 11, 20, 18)) == lokal(2026, 11, 25, 12)  # Fri 18:00 sharp: window closed


def test_sommerzeit_ende_oktober():
    # Fri 23.10.2026 14:00 CEST (12:00 UTC); clocks go back on Sun 25.10.
    start = lokal(2026, 10, 23, 14)
    assert start.utcoffset() == 2 * H
    ergebnis = sla.faellig_ab(start, SZ)
    assert ergebnis == datetime(2026, 10, 27, 17, 0, tzinfo=UTC)  # Tue 18:00 CET
    assert ergebnis.astimezone(BERLIN) == lokal(2026, 10, 27, 18)


def test_sommerzeit_beginn_maerz():
    # Fri 27.3.2026 16:00 CET; clocks go forward on Sun 29.3.
    ergebnis = sla.faellig_ab(lokal(2026, 3, 27, 16), SZ)
    assert ergebnis == datetime(2026, 4, 1, 8, 0, tzinfo=UTC)  # Wed 10:00 CEST
    assert ergebnis.astimezone(BERLIN).hour == 10


def test_ergebnis_ist_utc_und_naive_zeiten_werden_abgelehnt():
    assert sla.faellig_ab(lokal(2026, 11, 16, 10), SZ).tzinfo == UTC
    with pytest.raises(ValueError):
        sla.faellig_ab(datetime(2026, 11, 16, 10), SZ)


def test_servicezeit_zwischen():
    assert sla.servicezeit_zwischen(lokal(2026, 11, 20, 17), lokal(2026, 11, 23, 9), SZ) == 2 * H
    assert sla.servicezeit_zwischen(lokal(2026, 11, 21, 9), lokal(2026, 11, 22, 20), SZ) == timedelta(0)
    assert sla.servicezeit_zwischen(lokal(2026, 11, 23, 9), lokal(2026, 11, 20, 17), SZ) == -2 * H
    # 30.10.–3.11.2025: Thursday 10 h, Friday holiday, Monday 10 h.
    assert sla.servicezeit_zwischen(lokal(2025, 10, 30, 0), lokal(2025, 11, 4, 0), SZ) == 20 * H


def test_pause_verschiebt_faelligkeit_um_pausierte_servicezeit():
    due = lokal(2026, 11, 24, 14)
    # Paused Mon 10:00 – 15:00: 5 service hours → Tue 14:00 + 5 h = Wed 09:00.
    neu = sla.nach_pause(due, lokal(2026, 11, 23, 10), lokal(2026, 11, 23, 15), SZ)
    assert neu.astimezone(BERLIN) == lokal(2026, 11, 25, 9)
    # Paused over a weekend (Fri 17:00 – Mon 09:00): only 2 service hours count.
    neu = sla.nach_pause(due, lokal(2026, 11, 20, 17), lokal(2026, 11, 23, 9), SZ)
    assert neu.astimezone(BERLIN) == lokal(2026, 11, 24, 16)


def test_flags_bald_faellig_und_ueberfaellig():
    due = lokal(2026, 11, 24, 14)
    assert sla.ist_bald_faellig(due, lokal(2026, 11, 24, 10), SZ, 4)  # exactly 4 service hours left
    assert not sla.ist_bald_faellig(due, lokal(2026, 11, 24, 9, 59), SZ, 4)
    assert not sla.ist_ueberfaellig(due, lokal(2026, 11, 24, 13, 59))
    assert sla.ist_ueberfaellig(due, lokal(2026, 11, 24, 14))
    assert not sla.ist_bald_faellig(due, lokal(2026, 11, 24, 14), SZ, 4)  # overdue is not "soon"
    # Due Monday 10:00, seen Friday 17:00: 1 h Friday + 2 h Monday = 3 service hours → soon.
    assert sla.ist_bald_faellig(lokal(2026, 11, 23, 10), lokal(2026, 11, 20, 17), SZ, 4)
    assert not sla.ist_bald_faellig(None, lokal(2026, 11, 20, 17), SZ, 4)


def test_servicezeiten_konfigurierbar():
    sz = sla.Servicezeiten(wochentage=sla.parse_wochentage("Mo-Sa"), beginn=time(7), ende=time(19))
    # Fri 10:00: 9 h Friday, 12 h Saturday, 3 h Monday → Mon 10:00.
    assert sla.faellig_ab(lokal(2026, 11, 20, 10), sz).astimezone(BERLIN) == lokal(2026, 11, 23, 10)
    settings = SimpleNamespace(sla_wochentage="Mo-Do", sla_beginn=time(9), sla_ende=time(12),
                               zeitzone="Europe/Berlin", feiertage_land="ST")
    sz = sla.servicezeiten_aus(settings)
    assert sz.wochentage == frozenset({0, 1, 2, 3})
    assert sla.faellig_ab(lokal(2026, 11, 19, 11), sz, 2).astimezone(BERLIN) == lokal(2026, 11, 23, 10)


def test_wochentage_parsen():
    assert sla.parse_wochentage("Mo-Fr") == frozenset(range(5))
    assert sla.parse_wochentage("mo, mi ,Fr") == frozenset({0, 2, 4})
    assert sla.parse_wochentage("Mo-Mi,Sa") == frozenset({0, 1, 2, 5})
    for falsch in ("", "Fr-Mo", "Xy"):
        with pytest.raises((ValueError, KeyError)):
            sla.parse_wochentage(falsch)
    with pytest.raises(ValueError):
        sla.Servicezeiten(beginn=time(18), ende=time(8))


def test_null_dauer_und_fehlkonfiguration():
    start = lokal(2026, 11, 21, 11)
    assert sla.addiere_servicezeit(start, timedelta(0), SZ) == start.astimezone(UTC)

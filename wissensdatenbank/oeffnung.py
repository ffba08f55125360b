"""“Is it open now / when does it open next?” for an Organisationseinheit.

Honours weekly slots, dated exceptions and the public holidays of the Land (Sachsen-Anhalt: "ST").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

WOCHENTAG_NAMEN = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
_SUCHTAGE = 60


@dataclass(frozen=True)
class Slot:
    wochentag: int  # 0 = Monday
    von: time
    bis: time


@dataclass(frozen=True)
class Ausnahme:
    datum: date
    geschlossen: bool
    von: time | None = None
    bis: time | None = None
    grund: str = ""


@dataclass(frozen=True)
class OeffnungsStatus:
    geoeffnet: bool
    schliesst_um: datetime | None
    naechste_oeffnung: datetime | None
    hinweis: str  # e.g. the holiday's name when closed for it
    text: str  # plain German for the agent and the citizen


@lru_cache(maxsize=64)
def _feiertage(land: str, jahr: int) -> dict[date, str]:
    return dict(holidays.country_holidays("DE", subdiv=land, years=jahr, language="de"))


def feiertage_laden(land: str, jahr: int) -> None:
    """Computes the holidays of `jahr` and the next year ahead (the look-ahead for the next opening crosses the turn
    of the year in December)."""
    for j in (jahr, jahr + 1):
        _feiertage(land, j)


def feiertag(tag: date, land: str = "ST") -> str | None:
    return _feiertage(land, tag.year).get(tag)


def zeiten_am(
    tag: date, slots: Iterable[Slot], ausnahmen: dict[date, Ausnahme], land: str = "ST"
) -> tuple[list[tuple[time, time]], str]:
    """Opening intervals on one date and a reason when it deviates from the week plan."""
    a = ausnahmen.get(tag)
    if a is not None:
        if a.geschlossen or a.von is None or a.bis is None:
            return [], a.grund or "geschlossen"
        return [(a.von, a.bis)], a.grund
    name = feiertag(tag, land)
    if name:
        return [], name
    return sorted((s.von, s.bis) for s in slots if s.wochentag == tag.weekday()), ""


def oeffnungsstatus(
    slots: Iterable[Slot],
    ausnahmen: Iterable[Ausnahme] = (),
    *,
    jetzt: datetime,
    zeitzone: str = "Europe/Berlin",
    land: str = "ST",
) -> OeffnungsStatus:
    tz = ZoneInfo(zeitzone)
    if jetzt.tzinfo is None:
        raise ValueError("jetzt must be timezone-aware")
    lokal = jetzt.astimezone(tz)
    slots = list(slots)
    ausn = {a.datum: a for a in ausnahmen}
    if not slots and not any(not a.geschlossen for a in ausn.values()):
        return OeffnungsStatus(False, None, None, "", "Keine Öffnungszeiten hinterlegt.")

    heute = lokal.date()
    intervalle, grund = zeiten_am(heute, slots, ausn, land)
    for von, bis in intervalle:
        if von <= lokal.time() < bis:
            schluss = datetime.combine(heute, bis, tz)
            return OeffnungsStatus(True, schluss, None, grund, f"Jetzt geöffnet bis {_uhr(bis)}.")

    hinweis = grund if not intervalle else ""
    for offset in range(_SUCHTAGE):
        tag = heute + timedelta(days=offset)
        intervalle, _ = zeiten_am(tag, slots, ausn, land)
        for von, _bis in intervalle:
            beginn = datetime.combine(tag, von, tz)
            if beginn > lokal:
                wann = _wann(tag, heute)
                text = f"Geschlossen. Öffnet wieder {wann} um {_uhr(von)}."
                if hinweis:
                    text = f"Heute geschlossen ({hinweis}). Öffnet wieder {wann} um {_uhr(von)}."
                return OeffnungsStatus(False, None, beginn, hinweis, text)
    return OeffnungsStatus(False, None, None, hinweis, "Geschlossen; in den nächsten Wochen keine Öffnungszeit.")


def _uhr(t: time) -> str:
    return f"{t:%H:%M} Uhr"


def _wann(tag: date, heute: date) -> str:
    if tag == heute:
        return "heute"
    if tag == heute + timedelta(days=1):
        return "morgen"
    return f"am {WOCHENTAG_NAMEN[tag.weekday()]}, {tag:%d.%m.},"


def wochenplan_text(slots: Iterable[Slot]) -> list[tuple[str, str]]:
    """[(“Montag”, “08:00–12:00, 13:00–18:00”), …] for display; days without slots are omitted."""
    tage: dict[int, list[str]] = {}
    for s in sorted(slots, key=lambda s: (s.wochentag, s.von)):
        tage.setdefault(s.wochentag, []).append(f"{s.von:%H:%M}–{s.bis:%H:%M}")
    return [(WOCHENTAG_NAMEN[t], ", ".join(z)) for t, z in sorted(tage.items())]

"""Service-hours arithmetic for the 24-hour promise of 115.

A forwarded inquiry is due 24 *service* hours after it was created: only time inside the service window
(default Mon–Fri 08:00–18:00, Europe/Berlin) counts, public holidays of the Land (Sachsen-Anhalt: "ST")
do not. All arithmetic runs on UTC instants; the local calendar only decides where the windows lie, so
DST changes are handled by zoneinfo.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from wissensdatenbank.oeffnung import feiertag

WOCHENTAGE = {"mo": 0, "di": 1, "mi": 2, "do": 3, "fr": 4, "sa": 5, "so": 6}
_MAX_TAGE = 3660  # safety net: no service window within ten years means a misconfiguration


@dataclass(frozen=True)
class Servicezeiten:
    """The service window: weekdays (0 = Monday), daily start and end, time zone and holiday subdivision."""

    wochentage: frozenset[int] = field(default_factory=lambda: frozenset(range(5)))
    beginn: time = time(8)
    ende: time = time(18)
    zeitzone: str = "Europe/Berlin"
    land: str = "ST"

    def __post_init__(self) -> None:
        if not self.wochentage:
            raise ValueError("at least one service weekday is required")
        if self.ende <= self.beginn:
            raise ValueError("service window must end after it starts")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zeitzone)

    def ist_servicetag(self, tag: date) -> bool:
        return tag.weekday() in self.wochentage and feiertag(tag, self.land) is None

    def fenster(self, tag: date) -> tuple[datetime, datetime] | None:
        """The service window of one local date as UTC instants, or None on a non-service day."""
        if not self.ist_servicetag(tag):
            return None
        tz = self.tz
        return (
            datetime.combine(tag, self.beginn, tz).astimezone(UTC),
            datetime.combine(tag, self.ende, tz).astimezone(UTC),
        )


def parse_wochentage(text: str) -> frozenset[int]:
    """'Mo-Fr' or 'Mo,Di,Do' or 'Mo-Mi,Fr' → weekday numbers."""
    tage: set[int] = set()
    for teil in text.lower().replace(" ", "").split(","):
        if not teil:
            continue
        if "-" in teil:
            a, b = teil.split("-", 1)
            von, bis = WOCHENTAGE[a[:2]], WOCHENTAGE[b[:2]]
            if bis < von:
                raise ValueError(f"invalid weekday range: {teil}")
            tage.update(range(von, bis + 1))
        else:
            tage.add(WOCHENTAGE[teil[:2]])
    if not tage:
        raise ValueError("no weekdays given")
    return frozenset(tage)


def _utc(t: datetime) -> datetime:
    if t.tzinfo is None:
        raise ValueError("timezone-aware datetime required")
    return t.astimezone(UTC)


def _fenster_ab(start: datetime, sz: Servicezeiten) -> Iterator[tuple[datetime, datetime]]:
    """Service windows (UTC) that end after `start`, clipped to begin no earlier than `start`."""
    tag = start.astimezone(sz.tz).date() - timedelta(days=1)
    for _ in range(_MAX_TAGE):
        f = sz.fenster(tag)
        tag += timedelta(days=1)
        if f is None or f[1] <= start:
            continue
        yield max(f[0], start), f[1]
    raise ValueError("no service window found; check the service-hours settings")


def addiere_servicezeit(start: datetime, dauer: timedelta, sz: Servicezeiten) -> datetime:
    """The instant at which `dauer` of service time has passed since `start` (UTC, aware)."""
    start = _utc(start)
    if dauer <= timedelta(0):
        return start
    rest = dauer
    for beginn, ende in _fenster_ab(start, sz):
        verfuegbar = ende - beginn
        if rest <= verfuegbar:
            return beginn + rest
        rest -= verfuegbar
    raise AssertionError("unreachable")  # pragma: no cover


def servicezeit_zwischen(von: datetime, bis: datetime, sz: Servicezeiten) -> timedelta:
    """Service time inside [von, bis); negative when bis lies before von."""
    von, bis = _utc(von), _utc(bis)
    if bis < von:
        return -servicezeit_zwischen(bis, von, sz)
    summe = timedelta(0)
    for beginn, ende in _fenster_ab(von, sz):
        if beginn >= bis:
            break
        summe += min(ende, bis) - beginn
    return summe


def faellig_ab(start: datetime, sz: Servicezeiten, stunden: float = 24) -> datetime:
    return addiere_servicezeit(start, timedelta(hours=stunden), sz)


def nach_pause(faellig_am: datetime, pausiert_seit: datetime, jetzt: datetime, sz: Servicezeiten) -> datetime:
    """Due time after a pause: moved on by the service time that passed while paused."""
    return addiere_servicezeit(faellig_am, servicezeit_zwischen(pausiert_seit, jetzt, sz), sz)


def bald_faellig_grenze(jetzt: datetime, sz: Servicezeiten, stunden: float) -> datetime:
    """Tickets due before this instant (and not yet overdue) count as due soon."""
    return addiere_servicezeit(jetzt, timedelta(hours=stunden), sz)


def ist_ueberfaellig(faellig_am: datetime | None, jetzt: datetime) -> bool:
    return faellig_am is not None and _utc(faellig_am) <= _utc(jetzt)


def ist_bald_faellig(faellig_am: datetime | None, jetzt: datetime, sz: Servicezeiten, stunden: float) -> bool:
    if faellig_am is None or ist_ueberfaellig(faellig_am, jetzt):
        return False
    return _utc(faellig_am) <= bald_faellig_grenze(jetzt, sz, stunden)


def servicezeiten_aus(settings) -> Servicezeiten:
    """Build the window from the application settings."""
    return Servicezeiten(
        wochentage=parse_wochentage(settings.sla_wochentage),
        beginn=settings.sla_beginn,
        ende=settings.sla_ende,
        zeitzone=settings.zeitzone,
        land=settings.feiertage_land,
    )

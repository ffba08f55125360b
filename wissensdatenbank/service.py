"""Knowledge base services: loading entries, the search facade used in-process by every channel."""

from __future__ import annotations

import logging
import threading
import time as _time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from wissensdatenbank.models import Leistung, LeistungStatus, Organisationseinheit, Zustaendigkeit
from wissensdatenbank.oeffnung import Ausnahme, OeffnungsStatus, Slot, oeffnungsstatus
from wissensdatenbank.suche import SuchDokument, SuchIndex
from wissensdatenbank.suche.dokument import dokument_aus_dict

log = logging.getLogger(__name__)

SessionFactory = Callable[[], Session]


def leistung_als_dict(l: Leistung) -> dict:
    return {
        "leistungsname": l.leistungsname,
        "suchbegriffe": list(l.suchbegriffe or []),
        "leistungsbezeichnung": l.leistungsbezeichnung,
        "teaser": l.teaser,
        "kurztext": l.kurztext,
        "volltext": l.volltext,
        "voraussetzungen": l.voraussetzungen,
        "unterlagen": list(l.unterlagen or []),
        "verfahrensablauf": l.verfahrensablauf,
        "hinweise": l.hinweise,
        "lebenslagen": list(l.lebenslagen or []),
    }


def dokument_aus_leistung(l: Leistung) -> SuchDokument:
    dok = dokument_aus_dict(leistung_als_dict(l), l.id)
    regionen = frozenset(z.region for z in l.zustaendigkeiten if z.region)
    if regionen != dok.regionen:
        dok = SuchDokument(
            id=dok.id, name=dok.name, suchbegriffe=dok.suchbegriffe, bezeichnung=dok.bezeichnung,
            text=dok.text, regionen=regionen,
        )
    return dok


def leistung_laden(session: Session, leistung_id: int) -> Leistung | None:
    """The Leistung with its responsible offices, their opening hours and exceptions. The Zuständigkeiten and
    their offices come joined to the Leistung's row (one row per Zuständigkeit), the two collections of the
    offices by `IN` queries: three queries instead of five (2.7 -> 1.9 ms per Leistung on SQLite, measured here).
    Joining the collections too would multiply opening hours by exceptions by offices."""
    return session.scalars(
        select(Leistung)
        .where(Leistung.id == leistung_id)
        .options(
            joinedload(Leistung.zustaendigkeiten)
            .joinedload(Zustaendigkeit.organisationseinheit)
            .options(selectinload(Organisationseinheit.oeffnungszeiten), selectinload(Organisationseinheit.ausnahmen))
        )
    ).unique().first()


def oe_laden(session: Session, oe_id: int) -> Organisationseinheit | None:
    return session.scalar(
        select(Organisationseinheit)
        .where(Organisationseinheit.id == oe_id)
        .options(
            selectinload(Organisationseinheit.oeffnungszeiten),
            selectinload(Organisationseinheit.ausnahmen),
            selectinload(Organisationseinheit.zustaendigkeiten).selectinload(Zustaendigkeit.leistung),
        )
    )


def oe_status(oe: Organisationseinheit, *, jetzt: datetime, zeitzone: str = "Europe/Berlin",
              land: str = "ST") -> OeffnungsStatus:
    return oeffnungsstatus(
        [Slot(s.wochentag, s.von, s.bis) for s in oe.oeffnungszeiten],
        [Ausnahme(a.datum, a.geschlossen, a.von, a.bis, a.grund) for a in oe.ausnahmen],
        jetzt=jetzt,
        zeitzone=zeitzone,
        land=land,
    )


@dataclass(frozen=True)
class Kopf:
    """What a hit list shows without loading the whole record."""

    name: str
    leika: str | None
    art: str


@dataclass(frozen=True)
class Suchergebnis:
    id: int
    name: str
    leika: str | None
    art: str
    score: float
    konfidenz: str
    snippet: str


class Wissensdatenbank:
    """In-process search over the published Leistungen, kept in step with the database.

    The index is built once from the database; afterwards `synchronisieren` picks up entries whose
    `aktualisiert_am` moved (edits, imports from another process, publishing) without a rebuild.
    Searches call it at most every `sync_intervall` seconds, so a change is visible within that time.
    """

    # Rows committed slightly out of timestamp order are caught by re-reading this window.
    UEBERLAPPUNG = timedelta(seconds=10)

    def __init__(self, sessions: SessionFactory, *, sync_intervall: float = 1.0, cache_groesse: int = 4096) -> None:
        self._sessions = sessions
        # Results of repeated questions (search-as-you-type prefixes, popular topics) are served from an
        # LRU cache; any change to the index empties it, so a cached answer is never older than the index.
        self._cache: OrderedDict[tuple, list[Suchergebnis]] = OrderedDict()
        self._cache_groesse = cache_groesse
        self._cache_lock = threading.Lock()
        self._index = SuchIndex()
        self._koepfe: dict[int, Kopf] = {}
        self._stand: datetime | None = None
        self._anzahl = -1
        self._lock = threading.Lock()
        self._sync_intervall = sync_intervall
        self._letzter_sync = 0.0

    def __len__(self) -> int:
        return len(self._index)

    def aufbauen(self) -> int:
        with self._lock, self._sessions() as session:
            leistungen = session.scalars(
                select(Leistung)
                .where(Leistung.status == LeistungStatus.veroeffentlicht)
                .options(selectinload(Leistung.zustaendigkeiten))
            ).all()
            self._index = SuchIndex()
            self._index.aufbauen(dokument_aus_leistung(l) for l in leistungen)
            self._koepfe = {l.id: Kopf(l.leistungsname, l.leika, l.art.value) for l in leistungen}
            self._stand, self._anzahl = self._marke(session)
            self._letzter_sync = _time.monotonic()
            self._cache_leeren()
        log.info("search index built", extra={"eintraege": len(self._koepfe)})
        return len(self._koepfe)

    @staticmethod
    def _marke(session: Session) -> tuple[datetime | None, int]:
        stand, anzahl = session.execute(select(func.max(Leistung.aktualisiert_am), func.count(Leistung.id))).one()
        if stand is not None and stand.tzinfo is None:
            from datetime import UTC

            stand = stand.replace(tzinfo=UTC)
        return stand, int(anzahl)

    def synchronisieren(self, *, sofort: bool = False) -> int:
        """Apply changed entries to the index; returns how many were (re)indexed or removed."""
        if not sofort and _time.monotonic() - self._letzter_sync < self._sync_intervall:
            return 0
        with self._lock, self._sessions() as session:
            self._letzter_sync = _time.monotonic()
            stand, anzahl = self._marke(session)
            if stand == self._stand and anzahl == self._anzahl:
                return 0
            q = select(Leistung).options(selectinload(Leistung.zustaendigkeiten))
            if self._stand is not None and anzahl >= self._anzahl:
                q = q.where(Leistung.aktualisiert_am > self._stand - self.UEBERLAPPUNG)
            geaendert = session.scalars(q).all()
            n = 0
            for l in geaendert:
                if l.status == LeistungStatus.veroeffentlicht:
                    self._index.setzen(dokument_aus_leistung(l))
                    self._koepfe[l.id] = Kopf(l.leistungsname, l.leika, l.art.value)
                    n += 1
                elif l.id in self._koepfe:
                    self._index.entfernen(l.id)
                    del self._koepfe[l.id]
                    n += 1
            if anzahl < self._anzahl or self._stand is None:
                # Rows were deleted: drop what no longer exists.
                vorhanden = set(session.scalars(select(Leistung.id)))
                for weg in set(self._koepfe) - vorhanden:
                    self._index.entfernen(weg)
                    del self._koepfe[weg]
                    n += 1
            self._stand, self._anzahl = stand, anzahl
            if n:
                self._cache_leeren()
            return n

    def _cache_leeren(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def suche(self, frage: str, *, region: str | None = None, limit: int = 10,
              snippets: bool = True) -> list[Suchergebnis]:
        """Hits best first. `snippets=False`: same hits and order, `snippet` left empty (cheaper; for callers
        such as the mail triage that show no hit list)."""
        self.synchronisieren()
        schluessel = self._cache_schluessel(frage, region, limit, snippets)
        gemerkt = self._aus_dem_cache(schluessel)
        if gemerkt is not None:
            return gemerkt
        treffer = self._suche_ungecacht(frage, region=region, limit=limit, snippets=snippets)
        with self._cache_lock:
            self._cache[schluessel] = treffer
            if len(self._cache) > self._cache_groesse:
                self._cache.popitem(last=False)
        return list(treffer)

    def gecacht(self, frage: str, *, region: str | None = None, limit: int = 10,
                snippets: bool = True) -> list[Suchergebnis] | None:
        """What `suche` would return, if it is in the cache and the index is not due to be synchronised; else
        None. Touches neither the database nor the index: an async caller can answer a repeated question without a
        thread hand-off, and calls `suche` in a thread otherwise."""
        if _time.monotonic() - self._letzter_sync >= self._sync_intervall:
            return None
        return self._aus_dem_cache(self._cache_schluessel(frage, region, limit, snippets))

    @staticmethod
    def _cache_schluessel(frage: str, region: str | None, limit: int, snippets: bool) -> tuple:
        return " ".join(frage.split()), region, limit, snippets

    def _aus_dem_cache(self, schluessel: tuple) -> list[Suchergebnis] | None:
        with self._cache_lock:
            treffer = self._cache.get(schluessel)
            if treffer is None:
                return None
            self._cache.move_to_end(schluessel)
            return list(treffer)

    def _suche_ungecacht(self, frage: str, *, region: str | None, limit: int,
                         snippets: bool = True) -> list[Suchergebnis]:
        aus = []
        for t in self._index.suchen(frage, limit=limit, region=region, snippets=snippets):
            kopf = self._koepfe.get(t.id)
            if kopf is None:
                continue
            aus.append(Suchergebnis(t.id, kopf.name, kopf.leika, kopf.art, t.score, t.konfidenz, t.snippet))
        return aus

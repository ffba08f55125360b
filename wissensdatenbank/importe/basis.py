"""Shared core of all importers: validated, idempotent upsert by source id.

A parser (one module per source format) turns its input into a stream of
`(position, item)` pairs, where item is an `OEEintrag`, a `LeistungEintrag` or a
`Fehler`. `importiere` writes each item inside its own SAVEPOINT, so a bad record
leaves no partial rows and the rest of the import proceeds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from wissensdatenbank.basis import jetzt
from wissensdatenbank.leika import LeikaFehler, normalisiere_leika
from wissensdatenbank.models import (
    Leistung,
    LeistungArt,
    LeistungStatus,
    OeffnungsAusnahme,
    Oeffnungszeit,
    Organisationseinheit,
    Zustaendigkeit,
)

WOCHENTAGE = {"mo": 0, "di": 1, "mi": 2, "do": 3, "fr": 4, "sa": 5, "so": 6}
MAX_TEXT = 100_000
_ERLAUBTE_SCHEMES = ("http://", "https://", "mailto:")
_STEUERZEICHEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

TEXTFELDER = (
    "leistungsbezeichnung",
    "teaser",
    "kurztext",
    "volltext",
    "voraussetzungen",
    "verfahrensablauf",
    "weiterfuehrende_informationen",
    "hinweise",
    "rechtsbehelf",
    "kosten_text",
    "fristen",
    "bearbeitungsdauer",
)
LINKFELDER = ("formulare", "rechtsgrundlagen", "onlinedienste")


class DatensatzFehler(ValueError):
    """A record cannot be imported; the message is shown to the user (German)."""


@dataclass
class Fehler:
    grund: str
    quell_id: str | None = None
    fatal: bool = False  # the source could not be read completely


@dataclass
class OEEintrag:
    quell_id: str
    name: str
    kurzname: str = ""
    strasse: str = ""
    hausnummer: str = ""
    plz: str = ""
    ort: str = ""
    telefon: str = ""
    email: str = ""
    web: str = ""
    hinweis: str = ""
    oeffnungszeiten: list[dict[str, Any]] = field(default_factory=list)  # {tag, von, bis}
    ausnahmen: list[dict[str, Any]] = field(default_factory=list)  # {datum, geschlossen, von, bis, grund}


@dataclass
class LeistungEintrag:
    quell_id: str
    felder: dict[str, Any]
    zustaendig: list[str] = field(default_factory=list)  # quell_ids of Organisationseinheiten
    region: str | None = None  # overrides the import's region for its Zuständigkeiten


Eintrag = OEEintrag | LeistungEintrag | Fehler


@dataclass
class ImportBericht:
    format: str
    neu: int = 0
    aktualisiert: int = 0
    unveraendert: int = 0
    depubliziert: int = 0
    oe_neu: int = 0
    oe_aktualisiert: int = 0
    fehler: list[tuple[str, str]] = field(default_factory=list)
    hinweise: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.fehler

    def zusammenfassung(self) -> str:
        return (
            f"Import ({self.format}): {self.neu} neu, {self.aktualisiert} aktualisiert, "
            f"{self.unveraendert} unverändert, {self.depubliziert} depubliziert; "
            f"Organisationseinheiten: {self.oe_neu} neu, {self.oe_aktualisiert} aktualisiert; "
            f"{len(self.fehler)} Fehler"
        )


# --- field cleaning -------------------------------------------------------------------------


def text(wert: Any, feld: str, *, max_len: int = MAX_TEXT) -> str:
    if wert is None:
        return ""
    if isinstance(wert, list | tuple):
        wert = "\n".join(text(w, feld) for w in wert if w is not None)
    if not isinstance(wert, str):
        wert = str(wert)
    if "\ufffd" in wert or any(0xD800 <= ord(c) <= 0xDFFF for c in wert):
        raise DatensatzFehler(f"Feld {feld!r} hat eine ungültige Zeichenkodierung (kein UTF-8).")
    wert = unicodedata.normalize("NFC", _STEUERZEICHEN.sub("", wert)).strip()
    if len(wert) > max_len:
        raise DatensatzFehler(f"Feld {feld!r} ist zu lang ({len(wert)} Zeichen, erlaubt {max_len}).")
    return wert


def url(wert: Any, feld: str) -> str:
    s = text(wert, feld, max_len=1000)
    if s and not s.lower().startswith(_ERLAUBTE_SCHEMES):
        raise DatensatzFehler(f"Feld {feld!r} enthält keine gültige Web-Adresse (nur http, https, mailto): {s[:80]!r}")
    return s


def links(wert: Any, feld: str) -> list[dict[str, str]]:
    if not wert:
        return []
    if not isinstance(wert, list):
        raise DatensatzFehler(f"Feld {feld!r} muss eine Liste sein.")
    aus = []
    for i, eintrag in enumerate(wert, 1):
        if isinstance(eintrag, str):
            eintrag = {"name": eintrag, "url": ""}
        if not isinstance(eintrag, dict):
            raise DatensatzFehler(f"Feld {feld!r}, Eintrag {i}: erwartet Name und URL.")
        name = text(eintrag.get("name"), feld, max_len=500)
        link = url(eintrag.get("url"), feld)
        if not name and not link:
            continue
        aus.append({"name": name or link, "url": link})
    return aus


def liste(wert: Any, feld: str) -> list[str]:
    if wert is None or wert == "":
        return []
    if isinstance(wert, str):
        wert = [t for t in re.split(r"[\n;]", wert)]
    if not isinstance(wert, list | tuple):
        raise DatensatzFehler(f"Feld {feld!r} muss eine Liste sein.")
    aus: list[str] = []
    for w in wert:
        s = text(w, feld, max_len=2000)
        if s and s not in aus:
            aus.append(s)
    return aus


def betrag(wert: Any, feld: str) -> Decimal | None:
    if wert is None or wert == "":
        return None
    try:
        if isinstance(wert, str):
            wert = wert.replace("€", "").replace("EUR", "").replace("Euro", "").strip()
            if "," in wert or re.fullmatch(r"\d{1,3}(\.\d{3})+", wert):  # German notation: 1.234,50 / 1.234
                wert = wert.replace(".", "").replace(",", ".")
        d = Decimal(str(wert)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise DatensatzFehler(f"Feld {feld!r}: {wert!r} ist kein Geldbetrag.") from exc
    if d < 0 or d > Decimal("100000000"):
        raise DatensatzFehler(f"Feld {feld!r}: Betrag {d} liegt außerhalb des erlaubten Bereichs.")
    return d


def uhrzeit(wert: Any, feld: str) -> time:
    if isinstance(wert, time):
        return wert
    if isinstance(wert, int):  # YAML 1.1 reads 08:00 as sexagesimal minutes
        return time(wert // 60, wert % 60)
    m = re.fullmatch(r"\s*(\d{1,2})[:.](\d{2})\s*(?:Uhr)?\s*", str(wert or ""))
    if not m or int(m.group(1)) > 24 or int(m.group(2)) > 59:
        raise DatensatzFehler(f"Feld {feld!r}: {wert!r} ist keine Uhrzeit (HH:MM).")
    h, mi = int(m.group(1)), int(m.group(2))
    return time(23, 59) if h == 24 else time(h, mi)


def datum(wert: Any, feld: str) -> date:
    if isinstance(wert, datetime):
        return wert.date()
    if isinstance(wert, date):
        return wert
    try:
        return date.fromisoformat(str(wert).strip())
    except ValueError as exc:
        raise DatensatzFehler(f"Feld {feld!r}: {wert!r} ist kein Datum (JJJJ-MM-TT).") from exc


def bereinige_leistung(felder: dict[str, Any]) -> dict[str, Any]:
    """Validate and normalise the fields of one Leistung; raises DatensatzFehler."""
    aus: dict[str, Any] = {}
    name = text(felder.get("leistungsname"), "leistungsname", max_len=300)
    if not name:
        raise DatensatzFehler("Der Leistungsname fehlt.")
    aus["leistungsname"] = name
    try:
        aus["leika"] = normalisiere_leika(felder.get("leika"))
    except LeikaFehler as exc:
        raise DatensatzFehler(str(exc)) from exc
    for f in TEXTFELDER:
        aus[f] = text(felder.get(f), f, max_len=500 if f == "leistungsbezeichnung" else MAX_TEXT)
    for f in LINKFELDER:
        aus[f] = links(felder.get(f), f)
    aus["unterlagen"] = liste(felder.get("unterlagen"), "unterlagen")
    aus["suchbegriffe"] = liste(felder.get("suchbegriffe"), "suchbegriffe")
    aus["lebenslagen"] = liste(felder.get("lebenslagen"), "lebenslagen")
    aus["kosten_betrag"] = betrag(felder.get("kosten_betrag"), "kosten.betrag")
    aus["kosten_betrag_bis"] = betrag(felder.get("kosten_betrag_bis"), "kosten.betrag_bis")
    if aus["kosten_betrag_bis"] is not None:
        if aus["kosten_betrag"] is None:
            aus["kosten_betrag"], aus["kosten_betrag_bis"] = aus["kosten_betrag_bis"], None
        elif aus["kosten_betrag_bis"] < aus["kosten_betrag"]:
            raise DatensatzFehler("Kosten: der Höchstbetrag ist kleiner als der Mindestbetrag.")
        elif aus["kosten_betrag_bis"] == aus["kosten_betrag"]:
            aus["kosten_betrag_bis"] = None
    aus["termin_moeglich"] = bool(felder.get("termin_moeglich", False))
    aus["termin_url"] = url(felder.get("termin_url"), "termin_url")
    aus["quelle_url"] = url(felder.get("quelle_url"), "quelle_url")
    sprache = text(felder.get("sprache") or "de", "sprache", max_len=8).lower()
    if not re.fullmatch(r"[a-z]{2,3}(-[a-z0-9]{2,8})?", sprache):
        raise DatensatzFehler(f"Sprache {sprache!r} ist kein Sprachcode.")
    aus["sprache"] = sprache
    art = str(felder.get("art") or "leistung").strip().lower()
    try:
        aus["art"] = LeistungArt(art)
    except ValueError as exc:
        raise DatensatzFehler(f"Art {art!r} ist unbekannt (leistung oder maengelmeldung).") from exc
    stand = felder.get("quelle_stand")
    aus["quelle_stand"] = stand if isinstance(stand, datetime) else None
    return aus


def bereinige_oe(e: OEEintrag) -> dict[str, Any]:
    name = text(e.name, "name", max_len=300)
    if not name:
        raise DatensatzFehler("Der Name der Organisationseinheit fehlt.")
    aus: dict[str, Any] = {"name": name}
    for f, n in (("kurzname", 200), ("strasse", 200), ("hausnummer", 20), ("plz", 10), ("ort", 200),
                 ("telefon", 100), ("email", 200), ("hinweis", MAX_TEXT)):
        aus[f] = text(getattr(e, f), f, max_len=n)
    aus["web"] = url(e.web, "web")
    slots = []
    for i, s in enumerate(e.oeffnungszeiten, 1):
        tag = str(s.get("tag", "")).strip().lower()[:2]
        if tag not in WOCHENTAGE:
            raise DatensatzFehler(f"Öffnungszeit {i}: unbekannter Wochentag {s.get('tag')!r}.")
        von, bis = uhrzeit(s.get("von"), "von"), uhrzeit(s.get("bis"), "bis")
        if bis <= von:
            raise DatensatzFehler(f"Öffnungszeit {i}: Ende liegt nicht nach dem Beginn.")
        slots.append((WOCHENTAGE[tag], von, bis))
    aus["oeffnungszeiten"] = sorted(set(slots))
    ausn = []
    for a in e.ausnahmen:
        geschlossen = bool(a.get("geschlossen", a.get("von") is None))
        von = None if geschlossen else uhrzeit(a.get("von"), "von")
        bis = None if geschlossen else uhrzeit(a.get("bis"), "bis")
        ausn.append((datum(a.get("datum"), "datum"), geschlossen, von, bis, text(a.get("grund"), "grund", max_len=200)))
    aus["ausnahmen"] = sorted(set(ausn), key=lambda x: x[0])
    return aus


# --- writing --------------------------------------------------------------------------------


def _id_norm(wert: Any) -> str:
    return unicodedata.normalize("NFC", _STEUERZEICHEN.sub("", str(wert))).strip()


def _oe_schreiben(session: Session, fmt: str, e: OEEintrag, bericht: ImportBericht) -> None:
    daten = bereinige_oe(e)
    quell_id = _id_norm(e.quell_id)
    oe = session.scalar(
        select(Organisationseinheit).where(
            Organisationseinheit.quelle_format == fmt, Organisationseinheit.quelle_id == quell_id
        )
    )
    slots = daten.pop("oeffnungszeiten")
    ausnahmen = daten.pop("ausnahmen")
    if oe is None:
        oe = Organisationseinheit(quelle_format=fmt, quelle_id=quell_id, **daten)
        session.add(oe)
        bericht.oe_neu += 1
        geaendert = True
    else:
        geaendert = any(getattr(oe, k) != v for k, v in daten.items())
        for k, v in daten.items():
            setattr(oe, k, v)
        oe.aktiv = True
    alt_slots = sorted((s.wochentag, s.von, s.bis) for s in oe.oeffnungszeiten)
    if alt_slots != slots:
        oe.oeffnungszeiten = [Oeffnungszeit(wochentag=t, von=v, bis=b) for t, v, b in slots]
        geaendert = True
    alt_ausn = sorted(((a.datum, a.geschlossen, a.von, a.bis, a.grund) for a in oe.ausnahmen), key=lambda x: x[0])
    if alt_ausn != ausnahmen:
        oe.ausnahmen = [
            OeffnungsAusnahme(datum=d, geschlossen=g, von=v, bis=b, grund=gr) for d, g, v, b, gr in ausnahmen
        ]
        geaendert = True
    if geaendert and oe.id is not None:
        bericht.oe_aktualisiert += 1
    session.flush()


def _leistung_schreiben(
    session: Session, fmt: str, e: LeistungEintrag, region: str, bericht: ImportBericht, position: str
) -> str:
    """Upsert one Leistung; returns "neu", "aktualisiert" or "unveraendert"."""
    daten = bereinige_leistung(e.felder)
    quell_id = text(e.quell_id, "quell_id", max_len=200)
    if not quell_id:
        raise DatensatzFehler("Die Quell-ID fehlt.")
    region = e.region if e.region is not None else region
    if not re.fullmatch(r"\d{0,12}", region or ""):
        raise DatensatzFehler(f"Region {region!r} ist kein Amtlicher Regionalschlüssel (bis zu 12 Ziffern).")
    leistung = session.scalar(
        select(Leistung).where(Leistung.quelle_format == fmt, Leistung.quelle_id == quell_id)
    )
    if leistung is None:
        leistung = Leistung(quelle_format=fmt, quelle_id=quell_id, status=LeistungStatus.veroeffentlicht, **daten)
        session.add(leistung)
        session.flush()
        ergebnis = "neu"
        geaendert = False
    else:
        ergebnis = "unveraendert"
        geaendert = any(getattr(leistung, k) != v for k, v in daten.items() if k != "quelle_stand")
        if geaendert:
            for k, v in daten.items():
                setattr(leistung, k, v)
        if leistung.status != LeistungStatus.veroeffentlicht:
            leistung.status = LeistungStatus.veroeffentlicht
            geaendert = True

    # Zuständigkeiten of this source and region are replaced by what the source says now.
    ziel: set[int] = set()
    for oe_id in e.zustaendig:
        oe = session.scalar(
            select(Organisationseinheit).where(
                Organisationseinheit.quelle_format == fmt, Organisationseinheit.quelle_id == _id_norm(oe_id)
            )
        )
        if oe is None:
            bericht.hinweise.append((position, f"Organisationseinheit {oe_id!r} ist unbekannt; Zuständigkeit fehlt."))
            continue
        ziel.add(oe.id)
    vorhanden = {z.organisationseinheit_id: z for z in leistung.zustaendigkeiten if z.region == region}
    for oe_id, z in vorhanden.items():
        if oe_id not in ziel:
            leistung.zustaendigkeiten.remove(z)
            geaendert = True
    for oe_id in sorted(ziel - vorhanden.keys()):
        leistung.zustaendigkeiten.append(Zustaendigkeit(organisationseinheit_id=oe_id, region=region))
        geaendert = True
    if geaendert and ergebnis == "unveraendert":
        # Touch the row so the search index and caches see the change.
        leistung.aktualisiert_am = jetzt()
        ergebnis = "aktualisiert"
    session.flush()
    return ergebnis


def importiere(
    session: Session,
    *,
    format: str,
    eintraege: Iterable[tuple[str, Eintrag]],
    region: str = "",
    vollstaendig: bool = True,
    fortschritt: Callable[[int], None] | None = None,
) -> ImportBericht:
    """Write all entries of one source. Never commits; the caller owns the transaction.

    vollstaendig: the source is a full export, so published entries of this format that it no
    longer contains are set to Entwurf (unpublished, not deleted). Skipped when the source could
    not be read to the end.
    """
    bericht = ImportBericht(format=format)
    gesehen: set[str] = set()
    oes_gesehen: set[str] = set()
    quelle_lesbar = True
    for position, eintrag in eintraege:
        if fortschritt:
            fortschritt(1)
        if isinstance(eintrag, Fehler):
            bericht.fehler.append((position, eintrag.grund))
            if eintrag.quell_id:
                gesehen.add(_id_norm(eintrag.quell_id))
            quelle_lesbar = quelle_lesbar and not eintrag.fatal
            continue
        if isinstance(eintrag, LeistungEintrag) and eintrag.quell_id:
            gesehen.add(_id_norm(eintrag.quell_id))
        elif isinstance(eintrag, OEEintrag) and eintrag.quell_id:
            oes_gesehen.add(_id_norm(eintrag.quell_id))
        try:
            with session.begin_nested():
                if isinstance(eintrag, OEEintrag):
                    _oe_schreiben(session, format, eintrag, bericht)
                else:
                    ergebnis = _leistung_schreiben(session, format, eintrag, region, bericht, position)
                    setattr(bericht, ergebnis, getattr(bericht, ergebnis) + 1)
        except DatensatzFehler as exc:
            bericht.fehler.append((position, str(exc)))
    if vollstaendig and quelle_lesbar:
        for leistung in session.scalars(
            select(Leistung).where(
                Leistung.quelle_format == format, Leistung.status == LeistungStatus.veroeffentlicht
            )
        ):
            if leistung.quelle_id not in gesehen:
                leistung.status = LeistungStatus.entwurf
                bericht.depubliziert += 1
        if oes_gesehen:
            # Offices that vanished from the source are deactivated (kept for history and tickets).
            for oe in session.scalars(
                select(Organisationseinheit).where(
                    Organisationseinheit.quelle_format == format, Organisationseinheit.aktiv.is_(True)
                )
            ):
                if oe.quelle_id not in oes_gesehen:
                    oe.aktiv = False
        session.flush()
    return bericht

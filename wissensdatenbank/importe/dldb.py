"""Berlin/Munich Dienstleistungsdatenbank (DLDB) JSON export.

Input: a directory with services_de.json and optionally locations_de.json, authority_de.json and
topic_de.json, or a single services file. Every file is `{"data": [...], ...}` (a bare list or a
single service object is accepted too). Locations become Organisationseinheiten, services become
Leistungen; a service is zuständig at its locations, and its topics become Lebenslagen.

The public export carries IDs, names and relations only; the full service model (description,
fees, requirements, forms, …; see dldb_service.schema.json in the eappointment repository) is
mapped field by field when present.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from wissensdatenbank.importe.basis import DatensatzFehler, Eintrag, Fehler, LeistungEintrag, OEEintrag, url
from wissensdatenbank.importe.html_text import einfacher_text, html_zu_text, kurzfassung, zeitspannen

FORMAT = "dldb"

DATEIEN = {
    "services": "services_de.json",
    "locations": "locations_de.json",
    "authorities": "authority_de.json",
    "topics": "topic_de.json",
}
_BERLIN = ZoneInfo("Europe/Berlin")
_TAGE = {
    "monday": "mo", "tuesday": "di", "wednesday": "mi", "thursday": "do", "friday": "fr", "saturday": "sa",
    "sunday": "so", "montag": "mo", "dienstag": "di", "mittwoch": "mi", "donnerstag": "do", "freitag": "fr",
    "samstag": "sa", "sonntag": "so", "mo": "mo", "di": "di", "mi": "mi", "do": "do", "fr": "fr", "sa": "sa",
    "so": "so",
}
_TAG_NAME = {"mo": "Montag", "di": "Dienstag", "mi": "Mittwoch", "do": "Donnerstag", "fr": "Freitag",
             "sa": "Samstag", "so": "Sonntag"}


# --- reading files ----------------------------------------------------------------------------


class _Unlesbar(Exception):
    def __init__(self, position: str, grund: str) -> None:
        super().__init__(grund)
        self.position, self.grund = position, grund


def _ohne_json_extras(text: str) -> str:
    """Drop // and /* */ comments and trailing commas outside strings (the schema's example has both)."""
    aus: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            aus.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            ende = text.find("*/", i + 2)
            i = n if ende < 0 else ende + 2
        elif c == ",":
            j = i + 1
            while j < n and text[j] in " \t\r\n":
                j += 1
            if j < n and text[j] in "}]":
                i += 1
            else:
                aus.append(c)
                i += 1
        else:
            aus.append(c)
            i += 1
    return "".join(aus)


def _lade(pfad: Path) -> tuple[Any, list[tuple[str, Fehler]]]:
    """Parsed JSON and non-fatal notes; raises _Unlesbar when the file cannot be used."""
    hinweise: list[tuple[str, Fehler]] = []
    try:
        roh = pfad.read_bytes()
    except OSError as exc:
        raise _Unlesbar(pfad.name, f"Die Datei kann nicht gelesen werden: {exc.strerror}") from exc
    try:
        inhalt = roh.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        # Keep going: bad bytes become lone surrogates, which the core rejects per record.
        zeile = roh[: exc.start].count(b"\n") + 1
        hinweise.append((
            f"{pfad.name}, Zeile {zeile}",
            Fehler("Die Datei ist nicht durchgehend UTF-8-kodiert (ungültiges Byte); "
                   "betroffene Datensätze werden einzeln gemeldet."),
        ))
        inhalt = roh.decode("utf-8-sig", errors="surrogateescape")
    try:
        return json.loads(inhalt), hinweise
    except json.JSONDecodeError as exc:
        try:
            return json.loads(_ohne_json_extras(inhalt)), hinweise
        except json.JSONDecodeError:
            raise _Unlesbar(
                f"{pfad.name}, Zeile {exc.lineno}, Spalte {exc.colno}", f"Ungültiges JSON: {exc.msg}"
            ) from exc


def _datensaetze(dok: Any, pfad: Path) -> list[Any]:
    if isinstance(dok, list):
        return dok
    if isinstance(dok, dict):
        if isinstance(dok.get("data"), list):
            return dok["data"]
        if dok.get("error") not in (None, False):
            raise _Unlesbar(pfad.name, f"Der Export meldet einen Fehler: {str(dok.get('error'))[:200]}")
        if "id" in dok:  # one service object on its own
            return [dok]
    raise _Unlesbar(pfad.name, "Erwartet wird ein DLDB-Export mit einer Liste 'data'.")


def _dateien(pfad: Path) -> dict[str, Path]:
    if not pfad.is_dir():
        return {"services": pfad}
    gefunden = {art: pfad / name for art, name in DATEIEN.items() if (pfad / name).is_file()}
    if "services" not in gefunden:
        kandidaten = sorted(pfad.glob("services*.json"))
        if not kandidaten:
            raise _Unlesbar(str(pfad), "Im Verzeichnis fehlt die Datei services_de.json.")
        gefunden["services"] = kandidaten[0]
    return gefunden


# --- small value helpers ----------------------------------------------------------------------


def _s(wert: Any) -> str:
    """A scalar as string; None, False, dicts and lists become ''."""
    if isinstance(wert, bool) or wert is None or isinstance(wert, dict | list):
        return ""
    return str(wert).strip()


def _id(wert: Any) -> str:
    if isinstance(wert, dict):
        wert = wert.get("id", wert.get("location", wert.get("service")))
    return _s(wert)


def _objekte(wert: Any) -> list[dict[str, Any]]:
    return [w for w in wert if isinstance(w, dict)] if isinstance(wert, list) else []


def _zeitpunkt(wert: Any) -> datetime | None:
    s = _s(wert)
    if not s:
        return None
    try:
        d = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return d if d.tzinfo else d.replace(tzinfo=_BERLIN)


_BETRAG = re.compile(
    r"(?:(?:€|EUR|Euro)\s*(\d[\d.]*(?:,\d{1,2})?))|(?:(\d[\d.]*(?:,\d{1,2}|,-|,–)?)\s*(?:€|EUR\b|Euro\b))",
    re.IGNORECASE,
)
_GEBUEHRENFREI = re.compile(r"gebührenfrei|kostenfrei|kostenlos|keine (?:Gebühren|Kosten)|entgeltfrei", re.IGNORECASE)


def _zahl(s: str) -> Decimal | None:
    s = s.rstrip(",-–")
    if "," in s:
        s = s.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"\d{1,3}(?:\.\d{3})+", s):
        s = s.replace(".", "")
    try:
        return Decimal(s)
    except InvalidOperation:
        return None


def betraege_aus_text(text: str) -> tuple[Decimal | None, Decimal | None]:
    """(lowest, highest) euro amount named in a fee text; (0, None) for 'gebührenfrei'."""
    werte = [z for m in _BETRAG.finditer(text or "") if (z := _zahl(m.group(1) or m.group(2))) is not None]
    if not werte:
        return (Decimal("0.00"), None) if _GEBUEHRENFREI.search(text or "") else (None, None)
    lo, hi = min(werte), max(werte)
    return lo, (hi if hi != lo else None)


def _eintrag_text(o: dict[str, Any]) -> str:
    name = einfacher_text(_s(o.get("name")))
    beschreibung = html_zu_text(_s(o.get("description")))
    if name and beschreibung:
        return f"{name}: {beschreibung}" if "\n" not in beschreibung else f"{name}\n{beschreibung}"
    return name or beschreibung


def _linkliste(wert: Any) -> list[dict[str, str]]:
    aus = []
    for o in _objekte(wert):
        name, link = einfacher_text(_s(o.get("name"))), _s(o.get("link") or o.get("url"))
        if name or link:
            aus.append({"name": name, "url": link})
    return aus


# --- locations --------------------------------------------------------------------------------


def _oeffnungszeiten(wert: Any) -> tuple[list[dict[str, str]], list[str]]:
    """Weekly slots and the lines that could not be read as times (kept as a note)."""
    slots: list[dict[str, str]] = []
    notizen: list[str] = []
    if isinstance(wert, list):  # [{day|tag, start|von, end|bis}]
        for o in _objekte(wert):
            tag = _TAGE.get(_s(o.get("day") or o.get("tag") or o.get("weekday")).lower())
            von, bis = _s(o.get("start") or o.get("von")), _s(o.get("end") or o.get("bis"))
            if tag and von and bis:
                slots.append({"tag": tag, "von": von, "bis": bis})
        return slots, notizen
    if not isinstance(wert, dict):
        return slots, notizen
    for schluessel, inhalt in wert.items():
        tag = _TAGE.get(str(schluessel).strip().lower())
        if isinstance(inhalt, list):  # [{"start": "08:00", "end": "12:00"}] or ["08:00-12:00"]
            teile = [i for i in inhalt if isinstance(i, dict)]
            text = " ".join(_s(i) for i in inhalt if isinstance(i, str))
            for i in teile:
                von, bis = _s(i.get("start") or i.get("von")), _s(i.get("end") or i.get("bis"))
                if tag and von and bis:
                    slots.append({"tag": tag, "von": von, "bis": bis})
        else:
            text = html_zu_text(_s(inhalt))
        if not text:
            continue
        spannen = zeitspannen(text) if tag else []
        for von, bis in spannen:
            slots.append({"tag": tag, "von": von, "bis": bis})
        rest = re.sub(r"[\d:.,\s–-]|Uhr|bis|und", "", text, flags=re.IGNORECASE)
        if not spannen or rest:
            notizen.append(f"{_TAG_NAME.get(tag or '', str(schluessel))}: {text}" if tag else text)
    return slots, notizen


def _oe(d: dict[str, Any], behoerden: dict[str, dict[str, Any]]) -> OEEintrag | Fehler:
    quell_id = _id(d)
    if not quell_id:
        return Fehler("Der Standort hat keine ID.")
    adresse = d.get("address") if isinstance(d.get("address"), dict) else {}
    kontakt = d.get("contact") if isinstance(d.get("contact"), dict) else {}
    behoerde_ref = d.get("authority") if isinstance(d.get("authority"), dict) else {}
    behoerde_id = _id(behoerde_ref)
    behoerde_name = einfacher_text(_s(behoerde_ref.get("name")) or _s(behoerden.get(behoerde_id, {}).get("name")))
    name = einfacher_text(_s(d.get("name")))
    # Location names repeat across districts ("Amt für Soziales"): prefix the authority.
    voller_name = f"{behoerde_name} – {name}" if name and behoerde_name and behoerde_name not in name else name
    slots, notizen = _oeffnungszeiten(d.get("opening_times") or d.get("opening_hours"))
    hinweise = []
    if behoerde_name:
        hinweise.append(f"Behörde: {behoerde_name}")
    if notizen:
        hinweise.append("Öffnungszeiten:\n" + "\n".join(notizen))
    for feld, titel in (("note", "Hinweis"), ("accessibility", "Barrierefreiheit"), ("transit", "Verkehrsanbindung")):
        wert = d.get(feld)
        if isinstance(wert, dict):
            wert = "; ".join(f"{k}: {_s(v)}" for k, v in wert.items() if _s(v))
        text = html_zu_text(_s(wert))
        if text:
            hinweise.append(f"{titel}: {text}")
    meta = d.get("meta") if isinstance(d.get("meta"), dict) else {}
    return OEEintrag(
        quell_id=quell_id,
        name=voller_name,
        kurzname=name if voller_name != name and len(name) <= 200 else "",
        strasse=_s(adresse.get("street")),
        hausnummer=_s(adresse.get("house_number")),
        plz=_s(adresse.get("postal_code")),
        ort=_s(adresse.get("city")),
        telefon=_s(kontakt.get("phone") or kontakt.get("telephone")),
        email=_s(kontakt.get("email")).removeprefix("mailto:"),
        web=_s(kontakt.get("webinfo") or kontakt.get("url") or meta.get("url")),
        hinweis="\n\n".join(hinweise),
        oeffnungszeiten=slots,
    )


# --- services ---------------------------------------------------------------------------------


def _leistung(
    d: dict[str, Any], themen: dict[str, list[str]], themen_namen: dict[str, str]
) -> LeistungEintrag | Fehler:
    quell_id = _id(d)
    if not quell_id:
        return Fehler("Die Dienstleistung hat keine ID.")
    meta = d.get("meta") if isinstance(d.get("meta"), dict) else {}
    beschreibung = html_zu_text(_s(d.get("description")))
    felder: dict[str, Any] = {
        "leistungsname": einfacher_text(_s(d.get("name"))),
        "leika": _s(d.get("leika")) or None,
        "volltext": beschreibung,
        "kurztext": kurzfassung(beschreibung),
        "bearbeitungsdauer": html_zu_text(_s(d.get("process_time"))),
        "sprache": (_s(meta.get("locale")) or "de")[:8].replace("_", "-").lower(),
        "quelle_url": _s(meta.get("url")),
        "quelle_stand": _zeitpunkt(meta.get("lastupdate")),
    }
    # Fees: the text as given, the amounts where the text names them.
    gebuehren = html_zu_text(_s(d.get("fees")))
    felder["kosten_text"] = gebuehren
    felder["kosten_betrag"], felder["kosten_betrag_bis"] = betraege_aus_text(gebuehren)

    voraussetzungen = [t for o in _objekte(d.get("prerequisites")) if (t := _eintrag_text(o))]
    felder["voraussetzungen"] = "\n".join(f"- {t}" for t in voraussetzungen)
    felder["unterlagen"] = [t for o in _objekte(d.get("requirements")) if (t := _eintrag_text(o))]
    felder["formulare"] = _linkliste(d.get("forms"))
    felder["rechtsgrundlagen"] = _linkliste(d.get("legal"))

    online = d.get("onlineprocessing") if isinstance(d.get("onlineprocessing"), dict) else {}
    if _s(online.get("link")):
        name = einfacher_text(_s(online.get("description"))) or "Online-Verfahren"
        felder["onlinedienste"] = [{"name": name[:500], "url": _s(online.get("link"))}]

    # Further links and publications go into the text field; their URLs are checked here.
    weitere = []
    try:
        for feld in ("links", "publications"):
            for link in _linkliste(d.get(feld)):
                adresse = url(link["url"], feld)
                weitere.append(f"{link['name']}: {adresse}" if link["name"] and adresse else link["name"] or adresse)
    except DatensatzFehler as exc:
        return Fehler(str(exc), quell_id)
    felder["weiterfuehrende_informationen"] = "\n".join(weitere)
    zustaendigkeit = html_zu_text(_s(d.get("responsibility")))
    felder["hinweise"] = f"Zuständigkeit: {zustaendigkeit}" if zustaendigkeit else ""

    keywords = meta.get("keywords")
    if isinstance(keywords, str):
        keywords = keywords.split(",")
    felder["suchbegriffe"] = [k.strip() for k in keywords if isinstance(k, str) and k.strip()] if isinstance(
        keywords, list) else []

    lebenslagen = []
    relation = d.get("relation") if isinstance(d.get("relation"), dict) else {}
    wurzel = themen_namen.get(_s(relation.get("root_topic")))
    for name in ([wurzel] if wurzel else []) + themen.get(quell_id, []):
        if name not in lebenslagen:
            lebenslagen.append(name)
    felder["lebenslagen"] = lebenslagen

    # Appointments: a Berlin-wide booking link, or booking allowed at one of the locations.
    standorte = _objekte(d.get("locations"))
    termin = d.get("appointment") if isinstance(d.get("appointment"), dict) else {}
    termin_link = _s(termin.get("link"))
    if termin_link and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", termin_link):
        basis = felder["quelle_url"]
        termin_link = urljoin(basis, termin_link) if basis.startswith(("http://", "https://")) else ""
    felder["termin_url"] = termin_link
    felder["termin_moeglich"] = bool(termin_link) or any(
        isinstance(s.get("appointment"), dict) and s["appointment"].get("allowed") is True for s in standorte
    )
    zustaendig = []
    for s in standorte:
        sid = _s(s.get("location") or s.get("id"))
        if sid and sid not in zustaendig:
            zustaendig.append(sid)
    return LeistungEintrag(quell_id=quell_id, felder=felder, zustaendig=zustaendig)


# --- entry point ------------------------------------------------------------------------------


def _position(datei: str, nr: int, d: Any) -> str:
    ident = _id(d) if isinstance(d, dict) else ""
    return f"{datei}, Datensatz {nr}" + (f" (id {ident})" if ident else "")


def lesen(pfad: Path) -> Iterator[tuple[str, Eintrag]]:
    """Yield Organisationseinheiten (locations) first, then Leistungen (services)."""
    try:
        dateien = _dateien(pfad)
        daten: dict[str, list[Any]] = {}
        notizen: list[tuple[str, Fehler]] = []
        # Everything is read before the first item is yielded: a broken locations file must not
        # lead to services whose Zuständigkeiten are then replaced by nothing.
        for art, p in dateien.items():
            dok, hinweise = _lade(p)
            notizen += hinweise
            daten[art] = _datensaetze(dok, p)
    except _Unlesbar as exc:
        yield exc.position, Fehler(exc.grund, fatal=True)
        return
    yield from notizen

    behoerden = {_id(b): b for b in _objekte(daten.get("authorities"))}
    themen_namen: dict[str, str] = {}
    themen: dict[str, list[str]] = {}
    for t in _objekte(daten.get("topics")):
        name = einfacher_text(_s(t.get("name")))
        if not name:
            continue
        themen_namen[_id(t)] = name
        relation = t.get("relation") if isinstance(t.get("relation"), dict) else {}
        for s in _objekte(relation.get("services")):
            liste = themen.setdefault(_id(s), [])
            if name not in liste:
                liste.append(name)

    if "locations" in dateien:
        datei = dateien["locations"].name
        for nr, d in enumerate(daten["locations"], 1):
            pos = _position(datei, nr, d)
            yield pos, _oe(d, behoerden) if isinstance(d, dict) else Fehler("Der Standort ist kein Objekt.")

    datei = dateien["services"].name
    for nr, d in enumerate(daten["services"], 1):
        pos = _position(datei, nr, d)
        yield pos, _leistung(d, themen, themen_namen) if isinstance(d, dict) else Fehler(
            "Die Dienstleistung ist kein Objekt.")

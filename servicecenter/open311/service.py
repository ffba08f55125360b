"""Open311 GeoReport v2 rules: services from the Wissensdatenbank, request records from tickets, the POST
rules (api_key, location, attributes, media), filters of the request list.

Plain functions over a session (never commit). Results are canonical dicts/lists that api.py renders as XML or
Spark JSON. Request records never carry personal data (e-mail, names, phone) and never internal notes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from servicecenter.open311.models import Open311Meldung, Open311Schluessel
from servicecenter.status.service import STATUS_TEXTE
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import Kanal, Ticket
from servicecenter.tickets.zustaende import OFFEN, Buergerstatus
from wissensdatenbank.basis import jetzt as _jetzt
from wissensdatenbank.models import (
    Leistung,
    LeistungArt,
    LeistungStatus,
    Organisationseinheit,
    Zustaendigkeit,
)

SPEZIFIKATION = "http://wiki.open311.org/GeoReport_v2"
MAX_BESCHREIBUNG = 4000
MAX_ANFRAGEN = 1000
MAX_TAGE = 90
# Our ticket channels have no "open311" value yet; reports arrive in writing like e-mail. A Kanal.open311,
# once added to tickets, is picked up here without further change.
KANAL = getattr(Kanal, "open311", Kanal.email)
# Words that switch FixMyStreet behaviour when they appear in keywords (pitfall P21).
FMS_MAGISCH = {"private", "inactive", "staff", "waste_only"}
SERVICE_NOTICE = "Ihre Meldung wird in der Regel innerhalb von 3 Werktagen geprüft."


class Open311Fehler(Exception):
    """One or more Open311 errors; HTTP status 400, 403 or 404 (never 422)."""

    def __init__(self, status: int, *beschreibungen: str, code: int | None = None) -> None:
        super().__init__("; ".join(beschreibungen))
        self.status = status
        self.fehler = [(code or status, b) for b in beschreibungen]


# --- api keys ------------------------------------------------------------------------------------------------


def _schluessel_hash(schluessel: str) -> str:
    # The key has 256 random bits: a plain SHA-256 is enough and allows the indexed look-up.
    return hashlib.sha256(schluessel.encode("utf-8")).hexdigest()


def schluessel_anlegen(session: Session, *, name: str, jetzt: datetime | None = None) -> str:
    """Create an api_key for a client app; returns the key (shown once, only its hash is stored)."""
    name = name.strip()
    if not name:
        raise ValueError("Bitte geben Sie einen Namen für den Schlüssel an.")
    schluessel = secrets.token_urlsafe(32)
    session.add(Open311Schluessel(name=name[:200], schluessel_hash=_schluessel_hash(schluessel), aktiv=True,
                                  erstellt_am=jetzt or _jetzt()))
    session.flush()
    return schluessel


def schluessel_pruefen(session: Session, schluessel: str | None) -> Open311Schluessel:
    if not schluessel:
        raise Open311Fehler(403, "api_key fehlt: Zum Einreichen einer Meldung ist ein api_key nötig.")
    eintrag = session.scalar(
        select(Open311Schluessel).where(Open311Schluessel.schluessel_hash == _schluessel_hash(schluessel))
    )
    if eintrag is None or not eintrag.aktiv:
        raise Open311Fehler(403, "Ungültiger api_key: Die Meldung kann nicht angelegt werden.")
    return eintrag


# --- services ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Merkmal:
    """One attribute of a service definition."""

    code: str
    datatype: str  # string | number | datetime | text | singlevaluelist | multivaluelist
    description: str
    required: bool = False
    variable: bool = True
    datatype_description: str = ""
    werte: tuple[tuple[str, str], ...] = ()


# Categories that need more than location, description and photo. Keyed by service_code (the Leistung's
# quelle_id of the demo catalogue); a category not listed here has metadata=false.
MERKMALE: dict[str, tuple[Merkmal, ...]] = {
    "strassenschaden-melden": (
        Merkmal("betroffen", "singlevaluelist", "Wo ist der Schaden?", werte=(
            ("fahrbahn", "Fahrbahn"), ("gehweg", "Gehweg"), ("radweg", "Radweg"),
            ("bordstein", "Bordstein oder Treppe"),
        )),
        Merkmal("groesse", "string", "Wie groß ist der Schaden ungefähr?",
                datatype_description="zum Beispiel: etwa 30 cm breit und 10 cm tief"),
    ),
    "defekte-strassenbeleuchtung-melden": (
        Merkmal("mastnummer", "string", "Nummer der Laterne (Schild am Mast), falls erkennbar"),
        Merkmal("stoerung", "singlevaluelist", "Was ist mit der Laterne?", werte=(
            ("aus", "Lampe ist aus"), ("flackert", "Lampe flackert"), ("brennt_tagsueber", "Lampe brennt am Tag"),
            ("mast_beschaedigt", "Mast beschädigt oder schief"),
        )),
        Merkmal("anzahl", "number", "Wie viele Laternen sind betroffen?", datatype_description="eine ganze Zahl"),
    ),
    "defekte-ampel-melden": (
        Merkmal("hinweis_gefahr", "text",
                "Ist eine große Kreuzung komplett ausgefallen oder zeigen beide Richtungen Grün, rufen Sie bitte "
                "sofort die Polizei unter 110 an.", variable=False),
        Merkmal("stoerung", "singlevaluelist", "Was funktioniert nicht?", required=True, werte=(
            ("komplett_aus", "Ampel ist ganz aus"), ("lampe_defekt", "Eine Lampe ist dunkel"),
            ("gelbes_blinklicht", "Dauerhaft gelbes Blinklicht"), ("taster_defekt", "Taster reagiert nicht"),
            ("mast_beschaedigt", "Mast beschädigt oder verdreht"),
        )),
        Merkmal("beobachtet_am", "datetime", "Wann haben Sie die Störung bemerkt?",
                datatype_description="Datum und Uhrzeit, zum Beispiel 2026-11-21T08:15:00+01:00"),
    ),
    "illegale-muellablagerung-melden": (
        Merkmal("gefaehrliche_stoffe", "singlevaluelist",
                "Liegen dort gefährliche Stoffe (Kanister, Farben, Asbest, Spritzen)?", required=True, werte=(
                    ("ja", "Ja"), ("nein", "Nein"), ("unbekannt", "Weiß ich nicht"),
                )),
        Merkmal("abfallart", "multivaluelist", "Was liegt dort?", werte=(
            ("sperrmuell", "Sperrmüll oder Möbel"), ("bauschutt", "Bauschutt"), ("saecke", "Müllsäcke"),
            ("reifen", "Reifen"), ("elektro", "Elektrogeräte"), ("sonstiges", "Sonstiges"),
        )),
    ),
}


def service_code(leistung: Leistung) -> str:
    """Stable code: the source id of the entry (e.g. `strassenschaden-melden`), else the database id."""
    return leistung.quelle_id or str(leistung.id)


def _kategorien(session: Session) -> list[Leistung]:
    return list(session.scalars(
        select(Leistung)
        .where(Leistung.art == LeistungArt.maengelmeldung, Leistung.status == LeistungStatus.veroeffentlicht)
        .order_by(Leistung.leistungsname, Leistung.id)
    ))


def service_finden(session: Session, code: str) -> Leistung | None:
    for leistung in _kategorien(session):
        if service_code(leistung) == code:
            return leistung
    return None


def changeset(session: Session) -> datetime:
    """Latest change of any category (a cache-busting hint for clients)."""
    wert = session.scalar(
        select(func.max(Leistung.aktualisiert_am)).where(Leistung.art == LeistungArt.maengelmeldung)
    )
    return wert or datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))


def _keywords(leistung: Leistung) -> str:
    woerter = [w.replace(",", " ").strip() for w in (leistung.suchbegriffe or [])]
    return ", ".join(w for w in woerter if w and w.lower() not in FMS_MAGISCH)


def service_eintrag(leistung: Leistung) -> dict[str, Any]:
    code = service_code(leistung)
    return {
        "service_code": code,
        "service_name": leistung.leistungsname,
        "description": (leistung.teaser or leistung.kurztext or "")[:MAX_BESCHREIBUNG],
        "metadata": bool(MERKMALE.get(code)),
        "type": "realtime",
        "keywords": _keywords(leistung),
        "group": (leistung.lebenslagen or ["Mängelmeldung"])[0],
    }


def services(session: Session) -> list[dict[str, Any]]:
    return [service_eintrag(leistung) for leistung in _kategorien(session)]


def service_definition(session: Session, code: str) -> dict[str, Any]:
    if service_finden(session, code) is None:
        raise Open311Fehler(404, f"Den service_code {code[:100]} gibt es nicht.")
    attribute = []
    for order, m in enumerate(MERKMALE.get(code, ()), start=1):
        eintrag: dict[str, Any] = {
            "variable": m.variable, "code": m.code, "datatype": m.datatype, "required": m.required,
            "datatype_description": m.datatype_description, "order": order, "description": m.description,
        }
        if m.werte:
            eintrag["values"] = [{"key": k, "name": n} for k, n in m.werte]
        attribute.append(eintrag)
    return {"service_code": code, "attributes": attribute}


# --- datetimes -----------------------------------------------------------------------------------------------------

_LEERZEICHEN_OFFSET = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?) (\d{2}(?::?\d{2})?)$")


def datum_lesen(wert: str, tz: ZoneInfo, *, feld: str) -> datetime:
    """Liberal W3C datetime: fractions, Z, offsets, date only; a `+` that arrived as a blank (P3)."""
    text = wert.strip()
    text = _LEERZEICHEN_OFFSET.sub(r"\1+\2", text)
    text = text.replace(",", ".")
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        if len(text) == 10:
            d = datetime.fromisoformat(text)
            return datetime.combine(d.date(), time(0, 0), tzinfo=tz)
        d = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Fehler(
            400, f"{feld}: „{wert[:40]}“ ist kein gültiges Datum (W3C-Format, z. B. 2026-11-21T08:00:00+01:00)."
        ) from None
    return d if d.tzinfo is not None else d.replace(tzinfo=tz)


def datum_schreiben(wert: datetime | None, tz: ZoneInfo) -> str | None:
    """Seconds precision with the local offset (P2)."""
    return None if wert is None else wert.astimezone(tz).isoformat(timespec="seconds")


# --- text hygiene ---------------------------------------------------------------------------------------------------


class _NurText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.teile: list[str] = []

    def handle_data(self, data: str) -> None:
        self.teile.append(data)


_XML_UNGUELTIG = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def text_bereinigen(wert: str) -> str:
    """Remove HTML tags (the spec allows none) and characters XML cannot carry; keep line breaks."""
    if "<" in wert or "&" in wert:
        p = _NurText()
        p.feed(wert)
        p.close()
        wert = "".join(p.teile)
    return _XML_UNGUELTIG.sub("", wert).strip()


# --- POST requests ---------------------------------------------------------------------------------------------------

_ATTRIBUT = re.compile(r"^attribute\[([^\]]+)\](\[\])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PLZ = re.compile(r"\b(0[1-9]\d{3}|[1-9]\d{4})\b")


@dataclass
class Eingabe:
    """A POST body, read from the raw form items (repeated keys kept)."""

    werte: dict[str, list[str]] = field(default_factory=dict)
    attribute: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def aus(cls, items: Iterable[tuple[str, Any]]) -> Eingabe:
        e = cls()
        for schluessel, wert in items:
            if not isinstance(wert, str):  # uploaded files (media, photoN) are not accepted yet
                continue
            m = _ATTRIBUT.match(schluessel)
            if m:
                e.attribute.setdefault(m.group(1), []).append(wert)
            else:
                e.werte.setdefault(schluessel, []).append(wert)
        return e

    def eins(self, *namen: str) -> str:
        """First non-empty value of the first given name that has one; empty equals absent."""
        for n in namen:
            for w in self.werte.get(n, []):
                if w.strip():
                    return w.strip()
        return ""

    def alle(self, name: str) -> list[str]:
        return [w.strip() for w in self.werte.get(name, []) if w.strip()]


@dataclass(frozen=True)
class Gebiet:
    min_lng: float
    min_lat: float
    max_lng: float
    max_lat: float

    @classmethod
    def aus_text(cls, text: str) -> Gebiet:
        a, b, c, d = (float(x) for x in text.split(","))
        return cls(a, b, c, d)

    def enthaelt(self, lat: float, lng: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lng <= lng <= self.max_lng


def _zahl(text: str) -> float | None:
    try:
        wert = float(text.replace(",", "."))
    except ValueError:
        return None
    return wert if wert == wert and abs(wert) != float("inf") else None


def _merkmale_pruefen(code: str, antworten: Mapping[str, list[str]], tz: ZoneInfo,
                      fehler: list[str]) -> dict[str, list[str]]:
    """Validate attribute answers against the definition; unknown attribute codes are ignored (clients such
    as FixMyStreet send their own, e.g. fixmystreet_id)."""
    ergebnis: dict[str, list[str]] = {}
    for m in MERKMALE.get(code, ()):
        if not m.variable:
            continue
        werte = [w.strip() for w in antworten.get(m.code, []) if w.strip()]
        if not werte:
            if m.required:
                fehler.append(f"attribute[{m.code}] fehlt: „{m.description}“ ist eine Pflichtangabe.")
            continue
        if m.datatype != "multivaluelist" and len(werte) > 1:
            fehler.append(f"attribute[{m.code}] darf nur einen Wert haben.")
            continue
        if m.datatype in ("singlevaluelist", "multivaluelist"):
            erlaubt = {k for k, _ in m.werte}
            falsch = [w for w in werte if w not in erlaubt]
            if falsch:
                fehler.append(f"attribute[{m.code}]: „{falsch[0][:40]}“ ist nicht erlaubt; möglich: "
                              f"{', '.join(k for k, _ in m.werte)}.")
                continue
        elif m.datatype == "number":
            if _zahl(werte[0]) is None:
                fehler.append(f"attribute[{m.code}] muss eine Zahl sein.")
                continue
        elif m.datatype == "datetime":
            try:
                werte = [datum_schreiben(datum_lesen(werte[0], tz, feld=f"attribute[{m.code}]"), tz) or ""]
            except Open311Fehler as exc:
                fehler.extend(b for _, b in exc.fehler)
                continue
        else:
            werte = [text_bereinigen(werte[0])[:MAX_BESCHREIBUNG]]
        ergebnis[m.code] = werte
    return ergebnis


def _zustaendige_stelle(session: Session, leistung: Leistung, region: str) -> int | None:
    zeilen = session.execute(
        select(Zustaendigkeit.organisationseinheit_id, Zustaendigkeit.region)
        .join(Organisationseinheit, Organisationseinheit.id == Zustaendigkeit.organisationseinheit_id)
        .where(Zustaendigkeit.leistung_id == leistung.id, Organisationseinheit.aktiv)
        .order_by(Zustaendigkeit.id)
    ).tuples().all()
    for oe_id, r in zeilen:
        if r == region:
            return oe_id
    return zeilen[0][0] if zeilen else None


def _anliegen_text(leistung: Leistung, beschreibung: str, adresse: str | None, lat: float | None,
                   lng: float | None, media: list[str], merkmale: dict[str, list[str]], code: str) -> str:
    """The ticket text for agents: the citizen's words plus location, photos and answers."""
    zeilen = [beschreibung or f"Mängelmeldung: {leistung.leistungsname}", "", "— Open311-Meldung —"]
    if adresse:
        zeilen.append(f"Ort: {adresse}")
    if lat is not None and lng is not None:
        zeilen.append(f"Koordinaten: {lat:.6f}, {lng:.6f}")
    namen = {m.code: m for m in MERKMALE.get(code, ())}
    for k, werte in merkmale.items():
        m = namen[k]
        beschriftung = dict(m.werte)
        zeilen.append(f"{m.description} {', '.join(beschriftung.get(w, w) for w in werte)}")
    zeilen.extend(f"Foto: {u}" for u in media)
    return "\n".join(zeilen)


def meldung_anlegen(
    session: Session,
    eingabe: Eingabe,
    *,
    schluessel: Open311Schluessel,
    einstellungen: tickets.TicketEinstellungen,
    region: str,
    gebiet: Gebiet,
    tz: ZoneInfo,
    jetzt: datetime | None = None,
) -> tuple[Ticket, Open311Meldung]:
    """POST Service Request: validate everything first (all problems in one 400), then create the ticket,
    routed to the Organisationseinheit responsible for the category."""
    zeit = jetzt or _jetzt()
    code = eingabe.eins("service_code")
    if not code:
        raise Open311Fehler(400, "service_code fehlt.")
    leistung = service_finden(session, code)
    if leistung is None:
        raise Open311Fehler(404, f"Den service_code {code[:100]} gibt es nicht.")
    fehler: list[str] = []

    lat_text, lng_text = eingabe.eins("lat"), eingabe.eins("long")
    lat = lng = None
    if lat_text or lng_text:
        lat, lng = _zahl(lat_text), _zahl(lng_text)
        if lat is None or lng is None:
            fehler.append("lat und long müssen zusammen und als Zahlen (WGS84) angegeben werden.")
            lat = lng = None
        elif not (-90 <= lat <= 90 and -180 <= lng <= 180):
            fehler.append("lat oder long liegt außerhalb des gültigen Bereichs.")
            lat = lng = None
        elif not gebiet.enthaelt(lat, lng):
            fehler.append("Der Ort liegt außerhalb des Stadtgebiets; bitte wenden Sie sich an die zuständige Kommune.")
            lat = lng = None
    adresse = text_bereinigen(eingabe.eins("address_string", "address"))[:500] or None
    adress_id = eingabe.eins("address_id")[:200] or None
    if not (lat_text or lng_text) and adresse is None and adress_id is None:
        fehler.append("Ort fehlt: Bitte lat und long, address_string oder address_id angeben.")

    beschreibung = text_bereinigen(eingabe.eins("description"))
    media: list[str] = []
    for roh in eingabe.alle("media_url"):
        for url in (u.strip() for u in roh.split(",")):  # comma-joined lists as Mark-a-Spot sends them
            if not url:
                continue
            teile = urlsplit(url)
            if teile.scheme not in ("http", "https") or not teile.netloc or len(url) > 2000:
                fehler.append("media_url muss eine http- oder https-Adresse sein.")
            elif url not in media:
                media.append(url)  # stored as a link, never fetched by us

    email = eingabe.eins("email")
    if email and not _EMAIL.match(email):
        fehler.append("email ist keine gültige E-Mail-Adresse.")
    merkmale = _merkmale_pruefen(code, eingabe.attribute, tz, fehler)
    if fehler:
        raise Open311Fehler(400, *fehler)

    name = " ".join(p for p in (eingabe.eins("first_name"), eingabe.eins("last_name")) if p)[:200] or None
    telefon = eingabe.eins("phone")[:50] or None
    # Contact data is voluntary in Open311; a client sending it does so for feedback on this report.
    buerger = tickets.BuergerDaten(name=name, telefon=telefon, email=email[:254] or None, einwilligung=True)
    try:
        ticket = tickets.ticket_anlegen(
            session, anliegen=_anliegen_text(leistung, beschreibung, adresse, lat, lng, media, merkmale, code),
            kanal=KANAL, benutzer=None, einstellungen=einstellungen, leistung_id=leistung.id,
            queue_id=_zustaendige_stelle(session, leistung, region),
            buerger=buerger if buerger.hat_daten else None, jetzt=zeit,
        )
    except tickets.TicketFehler as exc:
        raise Open311Fehler(400, exc.meldung) from exc
    meldung = Open311Meldung(
        ticket_id=ticket.id, schluessel_id=schluessel.id, service_code=code, beschreibung=beschreibung,
        lat=lat, long=lng, adresse=adresse, adress_id=adress_id, media_urls=media, attribute=merkmale,
        erstellt_am=zeit,
    )
    session.add(meldung)
    schluessel.zuletzt_benutzt_am = zeit
    session.flush()
    return ticket, meldung


def post_antwort(ticket: Ticket, status_url: str) -> list[dict[str, Any]]:
    code = getattr(ticket, "zugangscode", None)
    notiz = SERVICE_NOTICE
    if code:
        notiz += (f" Vorgangsnummer {ticket.nummer}, Zugangscode {code}: Den Bearbeitungsstand sehen Sie unter "
                  f"{status_url}.")
    return [{"service_request_id": ticket.nummer, "service_notice": notiz}]


# --- GET requests --------------------------------------------------------------------------------------------------

# Citizen status → CitySDK detailed_status (extension, P7).
DETAILED_STATUS = {
    Buergerstatus.INITIATED: "PENDING", Buergerstatus.SUBMITTED: "PENDING", Buergerstatus.RECEIVED: "RECEIVED",
    Buergerstatus.PROCESSING: "IN_PROCESS", Buergerstatus.ACTION_REQUIRED: "IN_PROCESS",
    Buergerstatus.COMPLETED: "PROCESSED",
}


def _liste(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _ganzzahl(e: Mapping[str, str], name: str, standard: int, minimum: int, maximum: int) -> int:
    text = (e.get(name) or "").strip()
    if not text:
        return standard
    if not text.isdigit() or not minimum <= int(text) <= maximum:
        raise Open311Fehler(400, f"{name} muss eine ganze Zahl von {minimum} bis {maximum} sein.")
    return int(text)


def request_record(ticket: Ticket, meldung: Open311Meldung, service_name: str, stelle: str | None, tz: ZoneInfo,
                   *, erweitert: bool = False) -> dict[str, Any]:
    offen = ticket.zustand in OFFEN
    text = STATUS_TEXTE[ticket.buergerstatus]
    plz = _PLZ.search(meldung.adresse or "")
    aktualisiert = ticket.aktualisiert_am if offen else (ticket.erledigt_am or ticket.aktualisiert_am)
    record: dict[str, Any] = {
        "service_request_id": ticket.nummer,
        "status": "open" if offen else "closed",
        "status_notes": f"{text.titel}: {text.erklaerung}",
        "service_name": service_name,
        "service_code": meldung.service_code,
        "description": (meldung.beschreibung or "")[:MAX_BESCHREIBUNG],
        "agency_responsible": stelle,
        "service_notice": SERVICE_NOTICE if offen else None,
        "requested_datetime": datum_schreiben(ticket.erstellt_am, tz),
        "updated_datetime": datum_schreiben(aktualisiert, tz),
        "expected_datetime": datum_schreiben(ticket.faellig_am, tz) if offen else None,
        "address": meldung.adresse,
        "address_string": meldung.adresse,
        "address_id": meldung.adress_id,
        "zipcode": plz.group(1) if plz else None,
        "lat": meldung.lat,
        "long": meldung.long,
        "media_url": meldung.media_urls[0] if meldung.media_urls else None,
    }
    if erweitert:
        record["extended_attributes"] = {
            "detailed_status": DETAILED_STATUS[ticket.buergerstatus],
            "media_urls": list(meldung.media_urls),
        }
    return record


def _records(session: Session, zeilen: Sequence[tuple[Ticket, Open311Meldung]], tz: ZoneInfo,
             erweitert: bool) -> list[dict[str, Any]]:
    leistung_ids = {t.leistung_id for t, _ in zeilen if t.leistung_id}
    oe_ids = {t.queue_id for t, _ in zeilen if t.queue_id}
    namen = dict(session.execute(
        select(Leistung.id, Leistung.leistungsname).where(Leistung.id.in_(leistung_ids))
    ).tuples().all()) if leistung_ids else {}
    stellen = dict(session.execute(
        select(Organisationseinheit.id, Organisationseinheit.name).where(Organisationseinheit.id.in_(oe_ids))
    ).tuples().all()) if oe_ids else {}
    return [
        request_record(t, m, namen.get(t.leistung_id, m.service_code), stellen.get(t.queue_id), tz,
                       erweitert=erweitert)
        for t, m in zeilen
    ]


def requests_suchen(session: Session, e: Mapping[str, str], *, tz: ZoneInfo,
                    jetzt: datetime | None = None) -> list[dict[str, Any]]:
    """GET Service Requests with the spec's filters; `service_request_id` overrides the others.
    Extensions: page/page_size (also limit/offset), updated_after/updated_before, extensions=true."""
    zeit = jetzt or _jetzt()
    erweitert = (e.get("extensions") or "").strip().lower() == "true"
    abfrage = select(Ticket, Open311Meldung).join(Open311Meldung, Open311Meldung.ticket_id == Ticket.id)
    ids = _liste(e.get("service_request_id") or "")
    if ids:
        zeilen = session.execute(
            abfrage.where(Ticket.nummer.in_(ids[:MAX_ANFRAGEN])).order_by(Ticket.erstellt_am.desc(), Ticket.id.desc())
        ).tuples().all()
        return _records(session, zeilen, tz, erweitert)

    bed = []
    codes = _liste(e.get("service_code") or "")
    if codes:
        bekannt = {s["service_code"] for s in services(session)} | set(session.scalars(
            select(Open311Meldung.service_code).where(Open311Meldung.service_code.in_(codes)).distinct()
        ))
        unbekannt = [c for c in codes if c not in bekannt]
        if unbekannt:
            raise Open311Fehler(400, *(f"Den service_code {c[:100]} gibt es nicht." for c in unbekannt))
        bed.append(Open311Meldung.service_code.in_(codes))

    start_text, ende_text = (e.get("start_date") or "").strip(), (e.get("end_date") or "").strip()
    start = datum_lesen(start_text, tz, feld="start_date") if start_text else None
    ende = datum_lesen(ende_text, tz, feld="end_date") if ende_text else None
    if start is None and ende is None:
        ende, start = zeit, zeit - timedelta(days=MAX_TAGE)
    elif start is None:
        start = ende - timedelta(days=MAX_TAGE)
    elif ende is None:
        ende = start + timedelta(days=MAX_TAGE)
    if ende < start:
        raise Open311Fehler(400, "end_date liegt vor start_date.")
    if ende - start > timedelta(days=MAX_TAGE):
        raise Open311Fehler(400, f"Der Zeitraum von start_date bis end_date darf höchstens {MAX_TAGE} Tage umfassen.")
    bed += [Ticket.erstellt_am >= start, Ticket.erstellt_am <= ende]

    status = {s.lower() for s in _liste(e.get("status") or "")}
    if status - {"open", "closed"}:
        raise Open311Fehler(400, "status darf nur open und/oder closed sein.")
    if status == {"open"}:
        bed.append(Ticket.zustand.in_(list(OFFEN)))
    elif status == {"closed"}:
        bed.append(Ticket.zustand.not_in(list(OFFEN)))

    for name, op in (("updated_after", "gt"), ("updated_before", "lt")):
        text = (e.get(name) or "").strip()
        if text:
            d = datum_lesen(text, tz, feld=name)
            bed.append(Ticket.aktualisiert_am > d if op == "gt" else Ticket.aktualisiert_am < d)

    groesse = _ganzzahl(e, "page_size", _ganzzahl(e, "limit", MAX_ANFRAGEN, 1, MAX_ANFRAGEN), 1, MAX_ANFRAGEN)
    seite = _ganzzahl(e, "page", 1, 1, 10_000_000)
    versatz = (seite - 1) * groesse if e.get("page") else _ganzzahl(e, "offset", 0, 0, 10_000_000)
    zeilen = session.execute(
        abfrage.where(and_(*bed)).order_by(Ticket.erstellt_am.desc(), Ticket.id.desc()).limit(groesse).offset(versatz)
    ).tuples().all()
    return _records(session, zeilen, tz, erweitert)


def request_laden(session: Session, request_id: str, *, tz: ZoneInfo, erweitert: bool = False) -> list[dict]:
    zeile = session.execute(
        select(Ticket, Open311Meldung).join(Open311Meldung, Open311Meldung.ticket_id == Ticket.id)
        .where(Ticket.nummer == request_id[:40])
    ).tuples().first()
    if zeile is None:
        raise Open311Fehler(404, f"Die Meldung {request_id[:40]} gibt es nicht.")
    return _records(session, [zeile], tz, erweitert)


def token_laden(token: str) -> list[dict]:
    """Every service is realtime: the POST answer carries the service_request_id, no token is ever issued."""
    raise Open311Fehler(404, f"Das Token {token[:40]} gibt es nicht; dieser Server vergibt sofort eine "
                             "service_request_id.")


__all__ = [
    "KANAL", "MERKMALE", "Eingabe", "Gebiet", "Merkmal", "Open311Fehler", "changeset", "datum_lesen",
    "datum_schreiben", "meldung_anlegen", "post_antwort", "request_laden", "request_record", "requests_suchen",
    "schluessel_anlegen", "schluessel_pruefen", "service_code", "service_definition", "service_finden", "services",
    "text_bereinigen", "token_laden",
]

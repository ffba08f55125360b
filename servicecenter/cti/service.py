"""CTI rules: number normalisation, call events (idempotent), caller-ID lookup, service level, call-back.

Plain functions with the session as keyword argument; they flush, never commit.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicecenter.auth.models import Benutzer
from servicecenter.cti.models import ZUSTAND_TEXT, Anruf, AnrufZustand, Richtung
from servicecenter.kontakte.models import Kontakt
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import Kanal, Prioritaet, Ticket
from servicecenter.tickets.zustaende import OFFEN
from servicecenter.tickets.zustaende import ZUSTAND_TEXT as TICKET_ZUSTAND_TEXT
from wissensdatenbank.basis import jetzt as _jetzt

EREIGNISSE = ("newCall", "answer", "hangup")
ANONYM = frozenset({"", "anonymous", "anonym", "unknown", "unbekannt", "restricted", "private", "withheld"})
MAX_TREFFER = 10
# Shortest stored fragment that may be offered as a partial ("möglich") match.
MIN_TEILNUMMER = 4


class CtiFehler(ValueError):
    """An event the PBX sent that we cannot use (German message, answered with 422)."""


# --- numbers ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Nummer:
    roh: str
    e164: str | None  # only for numbers phonenumbers accepts as valid
    anonym: bool = False

    @property
    def ungeprueft(self) -> bool:
        return self.e164 is None

    @property
    def anzeige(self) -> str:
        """International format for display; the raw text (or 'unterdrückt') when not normalised."""
        if self.anonym:
            return "Rufnummer unterdrückt"
        if self.e164:
            return phonenumbers.format_number(phonenumbers.parse(self.e164), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        return self.roh


def ziffern(text: str) -> str:
    return re.sub(r"\D", "", text or "")


def _gueltig(roh: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        p = phonenumbers.parse(roh, region)
    except phonenumbers.NumberParseException:
        return None
    return p if phonenumbers.is_valid_number(p) else None


def normalisieren(roh: str | None, region: str = "DE") -> Nummer:
    """E.164 for a valid number in any common notation (`0345/221-0`, `+49 345 2210`, `0049 345 221 0`).

    PBXs often send international numbers without `+` (`493452210`): tried as a fallback only when the
    national reading is not a valid number. Anything else is kept raw with e164=None (flagged).
    """
    roh = (roh or "").strip()[:100]
    if roh.lower() in ANONYM or not ziffern(roh):
        return Nummer(roh=roh, e164=None, anonym=True)
    p = _gueltig(roh, region)
    if p is None and re.fullmatch(r"[1-9]\d{7,14}", roh):
        p = _gueltig("+" + roh, region)
    if p is None:
        return Nummer(roh=roh, e164=None)
    return Nummer(roh=roh, e164=phonenumbers.format_number(p, phonenumbers.PhoneNumberFormat.E164))


# --- events -----------------------------------------------------------------------------------------------------


@dataclass
class CtiEreignis:
    """One generic-CTI event (the form fields Zammad's interface defines)."""

    event: str
    call_id: str
    von: str = ""
    an: str = ""
    richtung: str = ""
    agenten: list[str] = field(default_factory=list)
    queue: str = ""
    ursache: str = ""

    def pruefen(self) -> None:
        if self.event not in EREIGNISSE:
            raise CtiFehler(f"Unbekanntes Ereignis „{self.event[:40]}“; erlaubt sind newCall, answer und hangup.")
        if not self.call_id.strip() or len(self.call_id) > 200:
            raise CtiFehler("Das Feld callId fehlt oder ist länger als 200 Zeichen.")
        if self.richtung and self.richtung not in ("in", "out"):
            raise CtiFehler("Das Feld direction muss „in“ oder „out“ sein.")
        if self.event == "newCall" and not self.richtung:
            raise CtiFehler("Ein newCall braucht das Feld direction (in oder out).")


@dataclass
class Verarbeitet:
    anruf: Anruf
    geaendert: bool  # False for a repeated (callId, event): nothing stored, nothing pushed


def kundennummer(anruf: Anruf, region: str = "DE") -> Nummer:
    """The citizen's side of the call: the caller for inbound calls, the callee for outbound ones."""
    roh = anruf.von_roh if anruf.richtung == Richtung.eingehend else anruf.an_roh
    n = normalisieren(roh, region)
    return n


def _neu(e: CtiEreignis, zeit: datetime, region: str) -> Anruf:
    von, an = normalisieren(e.von, region), normalisieren(e.an, region)
    richtung = Richtung(e.richtung or "in")
    kunde = von if richtung == Richtung.eingehend else an
    return Anruf(
        call_id=e.call_id, richtung=richtung, zustand=AnrufZustand.klingelt,
        von_roh=von.roh, von_e164=von.e164, an_roh=an.roh, an_e164=an.e164,
        nummer_ungeprueft=kunde.ungeprueft, anonym=kunde.anonym,
        queue=(e.queue or "")[:200], agenten="\n".join(a[:100] for a in e.agenten)[:1000], ursache="",
        beginn=zeit, beginn_unbekannt=e.event != "newCall", erstellt_am=zeit,
    )


def _laden(session: Session, call_id: str, sperren: bool) -> Anruf | None:
    q = select(Anruf).where(Anruf.call_id == call_id)
    if sperren:
        q = q.with_for_update()
    return session.scalars(q).first()


def ereignis_verarbeiten(
    session: Session, *, ereignis: CtiEreignis, jetzt: datetime | None = None, region: str = "DE"
) -> Verarbeitet:
    """Apply one event. Idempotent per (callId, event); events may arrive out of order (a hangup without a
    newCall still creates the row, flagged beginn_unbekannt). Concurrent duplicates meet the unique callId."""
    ereignis.pruefen()
    zeit = jetzt or _jetzt()
    anruf = _laden(session, ereignis.call_id, sperren=True)
    neu = False
    if anruf is None:
        kandidat = _neu(ereignis, zeit, region)
        try:
            with session.begin_nested():
                session.add(kandidat)
                session.flush()
            anruf, neu = kandidat, True
        except IntegrityError:
            anruf = _laden(session, ereignis.call_id, sperren=True)
            if anruf is None:  # pragma: no cover - the conflicting row must exist
                raise
    geaendert = neu and ereignis.event == "newCall"
    if ereignis.event == "answer" and anruf.angenommen_am is None and anruf.beendet_am is None:
        anruf.angenommen_am = zeit
        anruf.zustand = AnrufZustand.angenommen
        if ereignis.agenten:
            anruf.agenten = "\n".join(a[:100] for a in ereignis.agenten)[:1000]
        geaendert = True
    elif ereignis.event == "hangup" and anruf.beendet_am is None:
        anruf.beendet_am = zeit
        anruf.ursache = (ereignis.ursache or "")[:50]
        if anruf.angenommen_am is not None or anruf.richtung == Richtung.ausgehend:
            anruf.zustand = AnrufZustand.beendet
        else:
            anruf.zustand = AnrufZustand.verpasst
        geaendert = True
    session.flush()
    return Verarbeitet(anruf=anruf, geaendert=geaendert)


# --- times and service level ------------------------------------------------------------------------------------


def wartezeit(anruf: Anruf, jetzt: datetime | None = None) -> timedelta | None:
    """newCall to answer; for a missed call newCall to hangup; None when the start is unknown."""
    if anruf.beginn_unbekannt:
        return None
    ende = anruf.angenommen_am or anruf.beendet_am or (jetzt or _jetzt())
    return max(ende - anruf.beginn, timedelta(0))


def gespraechsdauer(anruf: Anruf, jetzt: datetime | None = None) -> timedelta | None:
    """answer to hangup (running while the call lasts); None for calls never answered."""
    if anruf.angenommen_am is None:
        return None
    ende = anruf.beendet_am or (jetzt or _jetzt())
    return max(ende - anruf.angenommen_am, timedelta(0))


def im_servicelevel(anruf: Anruf, schwelle_sekunden: int = 30) -> bool | None:
    """True: answered within the threshold. False: answered later or missed. None: not (yet) countable
    (still ringing within the threshold, outbound, or start unknown)."""
    if anruf.richtung != Richtung.eingehend or anruf.beginn_unbekannt:
        return None
    if anruf.angenommen_am is not None:
        return (anruf.angenommen_am - anruf.beginn) <= timedelta(seconds=schwelle_sekunden)
    if anruf.beendet_am is not None:
        return False
    return None


@dataclass
class Servicelevel:
    in_zeit: int
    gezaehlt: int

    @property
    def quote(self) -> float | None:
        return self.in_zeit / self.gezaehlt if self.gezaehlt else None


def servicelevel(anrufe: list[Anruf], schwelle_sekunden: int = 30) -> Servicelevel:
    werte = [im_servicelevel(a, schwelle_sekunden) for a in anrufe]
    gezaehlt = [w for w in werte if w is not None]
    return Servicelevel(in_zeit=sum(1 for w in gezaehlt if w), gezaehlt=len(gezaehlt))


def anrufdauer(session: Session, call_id: str, jetzt: datetime | None = None) -> int | None:
    """Talk time of a call in whole seconds for contact logging (None: unknown call or never answered)."""
    if not call_id:
        return None
    anruf = _laden(session, call_id, sperren=False)
    if anruf is None:
        return None
    d = gespraechsdauer(anruf, jetzt)
    return None if d is None else int(d.total_seconds())


# --- caller-ID lookup -------------------------------------------------------------------------------------------


@dataclass
class Treffer:
    art: str  # "kontakt" | "ticket"
    id: int
    sicher: bool
    grund: str
    datum: str
    text: str
    ticket_nummer: str | None = None
    ticket_zustand: str | None = None
    offen: bool = False
    name: str | None = None

    def als_dict(self) -> dict:
        return asdict(self)


@dataclass
class Anruferkennung:
    sicher: list[Treffer] = field(default_factory=list)
    moeglich: list[Treffer] = field(default_factory=list)

    @property
    def offene_tickets(self) -> list[Treffer]:
        return [t for t in self.sicher if t.art == "ticket" and t.offen]


def _ziffern_sql(spalte) -> ColumnElement[str]:
    """Digits of a stored phone text, portable (nested replace on SQLite and PostgreSQL)."""
    ausdruck = spalte
    for zeichen in (" ", "-", "/", "(", ")", ".", "+"):
        ausdruck = func.replace(ausdruck, zeichen, "")
    return ausdruck


def vergleichen(gespeichert: str, anrufer: Nummer, region: str = "DE") -> tuple[bool, str] | None:
    """(sicher, grund) or None. Only an equal E.164 number is sure; the rest is offered, never linked."""
    if anrufer.e164 is None:
        return None
    g = normalisieren(gespeichert, region)
    if g.e164 == anrufer.e164:
        return True, "gleiche Rufnummer"
    d = ziffern(gespeichert).lstrip("0")
    nsn = phonenumbers.national_significant_number(phonenumbers.parse(anrufer.e164))
    if not d:
        return None
    if d.endswith(nsn):
        return False, "gleiche Rufnummer, aber andere oder fehlende Ländervorwahl"
    if len(d) >= MIN_TEILNUMMER and nsn.endswith(d):
        return False, "nur ein Teil der Rufnummer stimmt überein"
    return None


def _kurz(text: str | None, n: int = 160) -> str:
    t = " ".join((text or "").split())
    return t if len(t) <= n else t[: n - 1] + "…"


def _ticket_treffer(t: Ticket, sicher: bool, grund: str) -> Treffer:
    return Treffer(
        art="ticket", id=t.id, sicher=sicher, grund=grund, datum=t.erstellt_am.isoformat(), text=_kurz(t.anliegen),
        ticket_nummer=t.nummer, ticket_zustand=TICKET_ZUSTAND_TEXT[t.zustand], offen=t.zustand in OFFEN,
        name=t.kontakt_name,
    )


def _kontakt_treffer(k: Kontakt, sicher: bool, grund: str, ticket: Ticket | None) -> Treffer:
    return Treffer(
        art="kontakt", id=k.id, sicher=sicher, grund=grund, datum=k.erstellt_am.isoformat(), text=_kurz(k.anliegen),
        ticket_nummer=ticket.nummer if ticket else None,
        ticket_zustand=TICKET_ZUSTAND_TEXT[ticket.zustand] if ticket else None,
        offen=bool(ticket and ticket.zustand in OFFEN), name=k.kontakt_name,
    )


def anrufer_erkennen(
    session: Session, *, nummer: Nummer, ausser_call_id: str | None = None, region: str = "DE",
    kandidaten_max: int = 500,
) -> Anruferkennung:
    """Earlier Kontakte and Tickets of this number: equal E.164 → sicher; same digits with another or no
    country code, or a stored fragment of the number → moeglich (offered only)."""
    erg = Anruferkennung()
    if nummer.e164 is None:
        return erg
    letzte = ziffern(nummer.e164)[-MIN_TEILNUMMER:]
    gesehen_t: set[int] = set()
    gesehen_k: set[int] = set()

    tickets_q = (
        select(Ticket)
        .where(Ticket.kontakt_telefon.is_not(None), _ziffern_sql(Ticket.kontakt_telefon).like(f"%{letzte}"))
        .order_by(Ticket.erstellt_am.desc())
        .limit(kandidaten_max)
    )
    for t in session.scalars(tickets_q):
        v = vergleichen(t.kontakt_telefon or "", nummer, region)
        if v is None or t.zusammengefuehrt_in_id is not None:
            continue
        gesehen_t.add(t.id)
        (erg.sicher if v[0] else erg.moeglich).append(_ticket_treffer(t, *v))

    kontakte_q = (
        select(Kontakt)
        .where(Kontakt.kontakt_telefon.is_not(None), _ziffern_sql(Kontakt.kontakt_telefon).like(f"%{letzte}"))
        .order_by(Kontakt.erstellt_am.desc())
        .limit(kandidaten_max)
    )
    for k in session.scalars(kontakte_q):
        v = vergleichen(k.kontakt_telefon or "", nummer, region)
        if v is None:
            continue
        gesehen_k.add(k.id)
        ticket = session.get(Ticket, k.ticket_id) if k.ticket_id else None
        (erg.sicher if v[0] else erg.moeglich).append(_kontakt_treffer(k, *v, ticket))

    # Contacts logged during earlier calls from the same normalised number (no phone field needed).
    fruehere = select(Anruf.call_id).where(
        (Anruf.von_e164 == nummer.e164) | (Anruf.an_e164 == nummer.e164)
    )
    if ausser_call_id:
        fruehere = fruehere.where(Anruf.call_id != ausser_call_id)
    for k in session.scalars(
        select(Kontakt).where(Kontakt.anruf_id.in_(fruehere)).order_by(Kontakt.erstellt_am.desc()).limit(50)
    ):
        if k.id in gesehen_k:
            continue
        gesehen_k.add(k.id)
        ticket = session.get(Ticket, k.ticket_id) if k.ticket_id else None
        erg.sicher.append(_kontakt_treffer(k, True, "Kontakt aus einem früheren Anruf dieser Nummer", ticket))
        if ticket is not None and ticket.id not in gesehen_t:
            gesehen_t.add(ticket.id)
            erg.sicher.append(_ticket_treffer(ticket, True, "Ticket aus einem früheren Anruf dieser Nummer"))
    # Tickets referenced by sure contacts count as sure tickets too.
    for tr in list(erg.sicher):
        if tr.art == "kontakt" and tr.ticket_nummer:
            t = session.scalars(select(Ticket).where(Ticket.nummer == tr.ticket_nummer)).first()
            if t is not None and t.id not in gesehen_t:
                gesehen_t.add(t.id)
                erg.sicher.append(_ticket_treffer(t, True, "Ticket zu einem Kontakt dieser Nummer"))
    # A possible match never stands beside a sure one for the same row.
    sichere_ids = {(t.art, t.id) for t in erg.sicher}
    erg.moeglich = [t for t in erg.moeglich if (t.art, t.id) not in sichere_ids]
    erg.sicher.sort(key=lambda t: t.datum, reverse=True)
    erg.sicher.sort(key=lambda t: not t.offen)  # stable: open tickets first, newest first within
    erg.moeglich.sort(key=lambda t: t.datum, reverse=True)
    erg.sicher, erg.moeglich = erg.sicher[:MAX_TREFFER], erg.moeglich[:MAX_TREFFER]
    return erg


# --- screen pop payload -----------------------------------------------------------------------------------------


def anruf_daten(anruf: Anruf, *, jetzt: datetime | None = None, schwelle_sekunden: int = 30,
                region: str = "DE") -> dict:
    kunde = kundennummer(anruf, region)
    w = wartezeit(anruf, jetzt)
    d = gespraechsdauer(anruf, jetzt)
    return {
        "call_id": anruf.call_id,
        "richtung": anruf.richtung.value,
        "zustand": anruf.zustand.value,
        "zustand_text": ZUSTAND_TEXT[anruf.zustand],
        "nummer": kunde.anzeige,
        "nummer_e164": kunde.e164,
        "nummer_ungeprueft": kunde.ungeprueft and not kunde.anonym,
        "anonym": kunde.anonym,
        "queue": anruf.queue,
        "agenten": [a for a in anruf.agenten.split("\n") if a],
        "beginn": anruf.beginn.isoformat(),
        "wartezeit_sekunden": None if w is None else int(w.total_seconds()),
        "dauer_sekunden": None if d is None else int(d.total_seconds()),
        "im_servicelevel": im_servicelevel(anruf, schwelle_sekunden),
    }


def pop_daten(session: Session, anruf: Anruf, *, ereignis: str, jetzt: datetime | None = None,
              schwelle_sekunden: int = 30, region: str = "DE") -> dict:
    """The screen-pop message: the call plus (for newCall) earlier contacts and open tickets."""
    daten = {"typ": "anruf", "ereignis": ereignis, **anruf_daten(
        anruf, jetzt=jetzt, schwelle_sekunden=schwelle_sekunden, region=region)}
    if ereignis == "newCall":
        erk = anrufer_erkennen(session, nummer=kundennummer(anruf, region), ausser_call_id=anruf.call_id,
                               region=region)
        daten["treffer"] = [t.als_dict() for t in erk.sicher]
        daten["offene_tickets"] = [t.als_dict() for t in erk.offene_tickets]
        daten["moeglich"] = [t.als_dict() for t in erk.moeglich]
    return daten


# --- call log and call-back -------------------------------------------------------------------------------------


def anrufe_liste(
    session: Session, *, von: datetime | None = None, bis: datetime | None = None, nur_verpasst: bool = False,
    limit: int = 200,
) -> list[Anruf]:
    q = select(Anruf)
    if von is not None:
        q = q.where(Anruf.beginn >= von)
    if bis is not None:
        q = q.where(Anruf.beginn < bis)
    if nur_verpasst:
        q = q.where(Anruf.zustand == AnrufZustand.verpasst)
    return list(session.scalars(q.order_by(Anruf.beginn.desc(), Anruf.id.desc()).limit(limit)))


def zurueckrufen(
    session: Session, *, anruf_id: int, benutzer: Benutzer, einstellungen: tickets.TicketEinstellungen,
    notiz: str = "", jetzt: datetime | None = None,
) -> Ticket:
    """Turn a missed call into a call-back ticket (due now; the number stays on the call record and is
    linked from the ticket through the call, so no personal data lands in the ticket without consent)."""
    zeit = jetzt or _jetzt()
    anruf = session.get(Anruf, anruf_id, with_for_update=True)
    if anruf is None:
        raise tickets.NichtGefunden("Diesen Anruf gibt es nicht.")
    if anruf.zustand != AnrufZustand.verpasst:
        raise tickets.UngueltigeEingabe("Zurückrufen ist nur für verpasste Anrufe vorgesehen.")
    if anruf.rueckruf_ticket_id is not None:
        vorhanden = session.get(Ticket, anruf.rueckruf_ticket_id)
        if vorhanden is not None:
            return vorhanden
    if anruf.anonym:
        raise tickets.UngueltigeEingabe("Ein Anruf mit unterdrückter Rufnummer kann nicht zurückgerufen werden.")
    beginn = anruf.beginn.astimezone(einstellungen.servicezeiten.tz)
    text = f"Rückruf: verpasster Anruf vom {beginn:%d.%m.%Y um %H:%M} Uhr (Anruf-ID {anruf.call_id[:60]})."
    if notiz.strip():
        text += "\n" + notiz.strip()
    ticket = tickets.ticket_anlegen(
        session, anliegen=text, kanal=Kanal.telefon, benutzer=benutzer, einstellungen=einstellungen,
        prioritaet=Prioritaet.normal, rueckruf_am=zeit, jetzt=zeit,
    )
    anruf.rueckruf_ticket_id = ticket.id
    anruf.rueckruf_von_id = benutzer.id
    session.flush()
    return ticket

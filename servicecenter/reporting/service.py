"""The 115 figures for a period, chart series and CSV rows. Read-only; plain functions taking the session.

Definitions (documented on the dashboard too):
- Erstlösungsquote: Kontakte of the period with outcome beim_erstkontakt_beantwortet / all Kontakte (target 65 %).
- Service level: inbound calls of the period answered within the threshold (30 s) / inbound calls that were
  answered or ended (missed calls count against it; ringing calls and calls with unknown start are left out).
- Weiterleitungen in 24 Servicestunden: tickets created in the period (merged-away ones left out) whose first
  answer (first message to the citizen, or the first change to erledigt/geschlossen) came no later than
  faellig_am / tickets answered plus tickets still unanswered after their due time (target 100 %).
  Tickets not yet due and not yet answered are counted as pending, in neither part.
- Backlog per queue and overdue tickets are a snapshot at the time of the request, not bound to the period.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from servicecenter.cti.models import Anruf, AnrufZustand, Richtung
from servicecenter.cti.service import im_servicelevel
from servicecenter.kontakte.models import Ergebnis, Kontakt
from servicecenter.tickets.models import ArtikelArt, Kanal, Ticket, TicketArtikel, TicketHistorie
from servicecenter.tickets.zustaende import OFFEN, SLA_LAEUFT, ZUSTAND_TEXT, Zustand
from wissensdatenbank.models import Leistung, Organisationseinheit

ZIEL_ERSTLOESUNG = 0.65
ZIEL_SERVICELEVEL = 0.75
ZIEL_WEITERLEITUNG = 1.0
MAX_TAGE = 366

KANAL_TEXT = {Kanal.telefon: "Telefon", Kanal.email: "E-Mail", Kanal.chat: "Chat", Kanal.vor_ort: "Vor Ort"}
ERGEBNIS_TEXT = {
    Ergebnis.beim_erstkontakt_beantwortet: "beim Erstkontakt beantwortet",
    Ergebnis.weitergeleitet: "weitergeleitet",
    Ergebnis.rueckruf_vereinbart: "Rückruf vereinbart",
}
ZEITRAEUME = {"heute": "Heute", "woche": "Diese Woche", "7tage": "Letzte 7 Tage", "30tage": "Letzte 30 Tage",
              "frei": "Freier Zeitraum"}


class ZeitraumFehler(ValueError):
    pass


@dataclass(frozen=True)
class Zeitraum:
    name: str
    von: datetime  # inclusive, local time zone
    bis: datetime  # exclusive
    titel: str

    @property
    def tage(self) -> list[date]:
        d, ende, tage = self.von.date(), (self.bis - timedelta(microseconds=1)).date(), []
        while d <= ende:
            tage.append(d)
            d += timedelta(days=1)
        return tage

    @property
    def ein_tag(self) -> bool:
        return len(self.tage) == 1


def _mitternacht(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, time(0), tz)


def zeitraum(name: str, *, jetzt: datetime, zeitzone: str = "Europe/Berlin", von: date | None = None,
             bis: date | None = None) -> Zeitraum:
    """A named period in local time: heute, woche (Mon–Sun), 7tage, 30tage (ending today) or frei (von–bis,
    both days included)."""
    tz = ZoneInfo(zeitzone)
    heute = jetzt.astimezone(tz).date()
    morgen = heute + timedelta(days=1)
    if name == "heute":
        a, b = heute, morgen
    elif name == "woche":
        a = heute - timedelta(days=heute.weekday())
        b = a + timedelta(days=7)
    elif name == "7tage":
        a, b = heute - timedelta(days=6), morgen
    elif name == "30tage":
        a, b = heute - timedelta(days=29), morgen
    elif name == "frei":
        if von is None or bis is None:
            raise ZeitraumFehler("Bitte geben Sie für einen freien Zeitraum Anfangs- und Enddatum an.")
        if bis < von:
            raise ZeitraumFehler("Das Enddatum liegt vor dem Anfangsdatum.")
        if (bis - von).days >= MAX_TAGE:
            raise ZeitraumFehler(f"Der Zeitraum darf höchstens {MAX_TAGE} Tage umfassen.")
        a, b = von, bis + timedelta(days=1)
    else:
        raise ZeitraumFehler("Unbekannter Zeitraum.")
    titel = ZEITRAEUME[name]
    letzter = b - timedelta(days=1)
    titel += f" ({a:%d.%m.%Y})" if a == letzter else f" ({a:%d.%m.%Y} bis {letzter:%d.%m.%Y})"
    return Zeitraum(name=name, von=_mitternacht(a, tz), bis=_mitternacht(b, tz), titel=titel)


# --- figures ------------------------------------------------------------------------------------------------------


@dataclass
class Kennzahl:
    schluessel: str
    titel: str
    zaehler: int
    nenner: int
    ziel: float
    erklaerung: str
    zusatz: str = ""

    @property
    def wert(self) -> float | None:
        return self.zaehler / self.nenner if self.nenner else None

    @property
    def erreicht(self) -> bool | None:
        return None if self.wert is None else self.wert >= self.ziel - 1e-9


@dataclass
class Tabelle:
    """Rows behind a figure or chart; also the CSV export."""

    spalten: list[str]
    zeilen: list[list] = field(default_factory=list)


def prozent(wert: float | None) -> str:
    if wert is None:
        return "–"
    return f"{wert * 100:.1f}\u00a0%".replace(".", ",")  # no-break space: value and unit stay on one line


def _lokal(t: datetime, tz) -> datetime:
    return t.astimezone(tz)


def _zeit(t: datetime | None, tz) -> str:
    return "" if t is None else t.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def _leistungsnamen(session: Session, ids: Iterable[int | None]) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(Leistung.id, Leistung.leistungsname).where(Leistung.id.in_(ids))).all())


def erstloesung(session: Session, z: Zeitraum) -> tuple[Kennzahl, Tabelle]:
    zeilen = session.execute(
        select(Kontakt.id, Kontakt.erstellt_am, Kontakt.kanal, Kontakt.ergebnis, Kontakt.leistung_id,
               Kontakt.ticket_id, Kontakt.dauer_sekunden)
        .where(Kontakt.erstellt_am >= z.von, Kontakt.erstellt_am < z.bis)
        .order_by(Kontakt.erstellt_am, Kontakt.id)
    ).all()
    namen = _leistungsnamen(session, (r.leistung_id for r in zeilen))
    nummern = dict(session.execute(
        select(Ticket.id, Ticket.nummer).where(Ticket.id.in_({r.ticket_id for r in zeilen if r.ticket_id}))
    ).all()) if any(r.ticket_id for r in zeilen) else {}
    tz = z.von.tzinfo
    t = Tabelle(["Kontakt-ID", "Zeitpunkt", "Kanal", "Ergebnis", "Leistung", "Ticket", "Dauer (s)"])
    for r in zeilen:
        t.zeilen.append([r.id, _zeit(r.erstellt_am, tz), KANAL_TEXT[Kanal(r.kanal)], ERGEBNIS_TEXT[Ergebnis(r.ergebnis)],
                         namen.get(r.leistung_id, ""), nummern.get(r.ticket_id, ""),
                         "" if r.dauer_sekunden is None else r.dauer_sekunden])
    beantwortet = sum(1 for r in zeilen if r.ergebnis == Ergebnis.beim_erstkontakt_beantwortet)
    k = Kennzahl("erstloesung", "Erstlösungsquote", beantwortet, len(zeilen), ZIEL_ERSTLOESUNG,
                 "Anteil der Kontakte, die beim Erstkontakt beantwortet wurden.")
    return k, t


def _anrufe(session: Session, z: Zeitraum) -> list[Anruf]:
    return list(session.scalars(
        select(Anruf).where(Anruf.beginn >= z.von, Anruf.beginn < z.bis).order_by(Anruf.beginn, Anruf.id)
    ))


def servicelevel(session: Session, z: Zeitraum, schwelle: int = 30,
                 anrufe: list[Anruf] | None = None) -> tuple[Kennzahl, Tabelle]:
    anrufe = _anrufe(session, z) if anrufe is None else anrufe
    tz = z.von.tzinfo
    t = Tabelle(["Anruf-ID", "Beginn", "Zustand", "Wartezeit (s)", "Gesprächsdauer (s)", f"in {schwelle} s angenommen"])
    in_zeit = gezaehlt = 0
    for a in anrufe:
        if a.richtung != Richtung.eingehend:
            continue
        sl = im_servicelevel(a, schwelle)
        warte = None if a.beginn_unbekannt else ((a.angenommen_am or a.beendet_am or a.beginn) - a.beginn)
        dauer = (a.beendet_am - a.angenommen_am) if a.angenommen_am and a.beendet_am else None
        t.zeilen.append([a.call_id, _zeit(a.beginn, tz), a.zustand.value,
                         "" if warte is None else int(warte.total_seconds()),
                         "" if dauer is None else int(dauer.total_seconds()),
                         {True: "ja", False: "nein", None: "nicht gezählt"}[sl]])
        if sl is not None:
            gezaehlt += 1
            in_zeit += int(sl)
    verpasst = sum(1 for a in anrufe if a.richtung == Richtung.eingehend and a.zustand == AnrufZustand.verpasst)
    k = Kennzahl("servicelevel", "Servicelevel", in_zeit, gezaehlt, ZIEL_SERVICELEVEL,
                 f"Anteil der eingehenden Anrufe, die innerhalb von {schwelle} Sekunden angenommen wurden "
                 "(verpasste Anrufe zählen dagegen).", zusatz=f"{verpasst} verpasst")
    return k, t


def _erste_antworten(session: Session, ticket_ids: Sequence[int]) -> dict[int, datetime]:
    """Per ticket: the earliest of its first message to the citizen and its first change to erledigt/geschlossen."""
    if not ticket_ids:
        return {}
    erste: dict[int, datetime] = {}

    def nimm(tid: int, t: datetime | None) -> None:
        if t is not None and (tid not in erste or t < erste[tid]):
            erste[tid] = t

    for tid, t in session.execute(
        select(TicketArtikel.ticket_id, func.min(TicketArtikel.erstellt_am))
        .where(TicketArtikel.ticket_id.in_(ticket_ids), TicketArtikel.art == ArtikelArt.nachricht)
        .group_by(TicketArtikel.ticket_id)
    ).all():
        nimm(tid, _aware(t))
    for tid, t in session.execute(
        select(TicketHistorie.ticket_id, func.min(TicketHistorie.zeitpunkt))
        .where(TicketHistorie.ticket_id.in_(ticket_ids), TicketHistorie.feld == "status",
               TicketHistorie.neu.in_([Zustand.erledigt.value, Zustand.geschlossen.value]))
        .group_by(TicketHistorie.ticket_id)
    ).all():
        nimm(tid, _aware(t))
    return erste


def _aware(t: datetime | None) -> datetime | None:
    """func.min() bypasses our UTC type decorator on SQLite: restore UTC awareness."""
    from datetime import UTC

    if t is None:
        return None
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def weiterleitung(session: Session, z: Zeitraum, jetzt: datetime) -> tuple[Kennzahl, Tabelle]:
    zeilen = session.execute(
        select(Ticket.id, Ticket.nummer, Ticket.erstellt_am, Ticket.faellig_am, Ticket.zustand, Ticket.kanal)
        .where(Ticket.erstellt_am >= z.von, Ticket.erstellt_am < z.bis, Ticket.zusammengefuehrt_in_id.is_(None))
        .order_by(Ticket.erstellt_am, Ticket.id)
    ).all()
    antworten = _erste_antworten(session, [r.id for r in zeilen])
    tz = z.von.tzinfo
    t = Tabelle(["Ticket", "Angelegt", "Kanal", "Fällig am", "Erste Antwort", "Status", "Bewertung"])
    rechtzeitig = gezaehlt = offen = 0
    for r in zeilen:
        antwort = antworten.get(r.id)
        if antwort is not None:
            ok = r.faellig_am is None or antwort <= r.faellig_am
            bewertung = "rechtzeitig" if ok else "verspätet"
            gezaehlt += 1
            rechtzeitig += int(ok)
        elif r.faellig_am is not None and r.faellig_am < jetzt:
            bewertung = "überfällig, noch keine Antwort"
            gezaehlt += 1
        else:
            bewertung = "offen, noch nicht fällig"
            offen += 1
        t.zeilen.append([r.nummer, _zeit(r.erstellt_am, tz), KANAL_TEXT[Kanal(r.kanal)], _zeit(r.faellig_am, tz),
                         _zeit(antwort, tz), ZUSTAND_TEXT[Zustand(r.zustand)], bewertung])
    k = Kennzahl("weiterleitung", "Weiterleitungen binnen 24 Servicestunden beantwortet", rechtzeitig, gezaehlt,
                 ZIEL_WEITERLEITUNG,
                 "Anteil der Tickets des Zeitraums, deren erste Antwort oder Erledigung vor der Fälligkeit lag.",
                 zusatz=f"{offen} noch nicht fällig")
    return k, t


def backlog(session: Session, jetzt: datetime) -> Tabelle:
    """Open tickets per queue (snapshot), with how many of them are overdue."""
    laeuft = {z.value for z in SLA_LAEUFT}
    zeilen = session.execute(
        select(Ticket.queue_id, Ticket.zustand, Ticket.faellig_am)
        .where(Ticket.zustand.in_(list(OFFEN)), Ticket.zusammengefuehrt_in_id.is_(None))
    ).all()
    namen = dict(session.execute(select(Organisationseinheit.id, Organisationseinheit.name).where(
        Organisationseinheit.id.in_({r.queue_id for r in zeilen if r.queue_id is not None}))).all())
    anzahl: Counter = Counter()
    ueber: Counter = Counter()
    for r in zeilen:
        anzahl[r.queue_id] += 1
        zustand = r.zustand.value if hasattr(r.zustand, "value") else r.zustand
        if zustand in laeuft and r.faellig_am is not None and r.faellig_am < jetzt:
            ueber[r.queue_id] += 1
    t = Tabelle(["Queue", "Offene Tickets", "davon überfällig"])
    for qid, n in sorted(anzahl.items(), key=lambda kv: (-kv[1], namen.get(kv[0], ""))):
        t.zeilen.append([namen.get(qid, "ohne Queue") if qid is not None else "ohne Queue", n, ueber[qid]])
    return t


def ueberfaellige(session: Session, jetzt: datetime, tz, limit: int = 500) -> Tabelle:
    zeilen = session.execute(
        select(Ticket.nummer, Ticket.faellig_am, Ticket.zustand, Ticket.queue_id, Ticket.prioritaet)
        .where(Ticket.zustand.in_(list(SLA_LAEUFT)), Ticket.faellig_am < jetzt,
               Ticket.zusammengefuehrt_in_id.is_(None))
        .order_by(Ticket.faellig_am).limit(limit)
    ).all()
    namen = dict(session.execute(select(Organisationseinheit.id, Organisationseinheit.name).where(
        Organisationseinheit.id.in_({r.queue_id for r in zeilen if r.queue_id is not None}))).all())
    t = Tabelle(["Ticket", "Fällig seit", "Status", "Queue", "Priorität"])
    for r in zeilen:
        t.zeilen.append([r.nummer, _zeit(r.faellig_am, tz), ZUSTAND_TEXT[Zustand(r.zustand)],
                         namen.get(r.queue_id, "ohne Queue"), str(r.prioritaet.value if hasattr(r.prioritaet, "value")
                                                                  else r.prioritaet)])
    return t


def kanalmix(session: Session, z: Zeitraum) -> Tabelle:
    kontakte = dict(session.execute(
        select(Kontakt.kanal, func.count()).where(Kontakt.erstellt_am >= z.von, Kontakt.erstellt_am < z.bis)
        .group_by(Kontakt.kanal)
    ).all())
    tickets = dict(session.execute(
        select(Ticket.kanal, func.count()).where(Ticket.erstellt_am >= z.von, Ticket.erstellt_am < z.bis)
        .group_by(Ticket.kanal)
    ).all())
    summe = sum(kontakte.values())
    t = Tabelle(["Kanal", "Kontakte", "Anteil Kontakte", "Tickets"])
    for k in Kanal:
        n = kontakte.get(k, 0)
        t.zeilen.append([KANAL_TEXT[k], n, prozent(n / summe if summe else None), tickets.get(k, 0)])
    return t


# History field written when the system answered a ticket by itself (e-mail channel, kanaele.email.aktionen).
AUTOMATISCH_BEANTWORTET = "automatisch_beantwortet"


def email_antworten(session: Session, z: Zeitraum) -> Tabelle:
    """E-mail tickets of the period: answered by the system at once vs. left to the staff."""
    gesamt = session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.kanal == Kanal.email, Ticket.erstellt_am >= z.von, Ticket.erstellt_am < z.bis)) or 0
    automatisch = session.scalar(
        select(func.count(func.distinct(TicketHistorie.ticket_id)))
        .join(Ticket, Ticket.id == TicketHistorie.ticket_id)
        .where(TicketHistorie.feld == AUTOMATISCH_BEANTWORTET, Ticket.kanal == Kanal.email,
               Ticket.erstellt_am >= z.von, Ticket.erstellt_am < z.bis)
    ) or 0
    t = Tabelle(["E-Mail-Tickets", "Anzahl", "Anteil"])
    t.zeilen.append(["automatisch beantwortet (System)", automatisch, prozent(automatisch / gesamt if gesamt else None)])
    t.zeilen.append(["von Mitarbeitenden bearbeitet", gesamt - automatisch,
                     prozent((gesamt - automatisch) / gesamt if gesamt else None)])
    t.zeilen.append(["gesamt", gesamt, prozent(1.0 if gesamt else None)])
    return t


def top_leistungen(session: Session, z: Zeitraum, limit: int = 10) -> Tabelle:
    zeilen = session.execute(
        select(Kontakt.leistung_id, func.count().label("n"))
        .where(Kontakt.erstellt_am >= z.von, Kontakt.erstellt_am < z.bis, Kontakt.leistung_id.is_not(None))
        .group_by(Kontakt.leistung_id).order_by(func.count().desc(), Kontakt.leistung_id).limit(limit)
    ).all()
    namen = _leistungsnamen(session, (r.leistung_id for r in zeilen))
    t = Tabelle(["Rang", "Leistung", "Kontakte"])
    for i, r in enumerate(zeilen, 1):
        t.zeilen.append([i, namen.get(r.leistung_id, f"Leistung {r.leistung_id}"), r.n])
    return t


# Tables the Wissenslücken feature (desk/Redaktion) may create; read only when present.
LUECKEN_TABELLEN = ("wissensluecke", "wissensluecken", "suchluecke")


def wissensluecken(session: Session, limit: int = 20) -> Tabelle | None:
    """Top searches without a good hit, when the table exists (None: feature not installed)."""
    insp = inspect(session.connection())
    name = next((n for n in LUECKEN_TABELLEN if insp.has_table(n)), None)
    if name is None:
        return None
    spalten = {c["name"] for c in insp.get_columns(name)}
    text_spalte = next((c for c in ("anfrage", "suchbegriff", "begriff", "text", "q", "frage") if c in spalten), None)
    if text_spalte is None:
        return None
    from sqlalchemy import column, table

    tab = table(name, column(text_spalte))
    if "anzahl" in spalten:
        tab.append_column(column("anzahl"))
        q = select(tab.c[text_spalte], tab.c.anzahl).order_by(tab.c.anzahl.desc()).limit(limit)
    else:
        q = (select(tab.c[text_spalte], func.count().label("anzahl")).group_by(tab.c[text_spalte])
             .order_by(func.count().desc()).limit(limit))
    t = Tabelle(["Suchanfrage", "Anzahl"])
    for text, n in session.execute(q).all():
        t.zeilen.append([text, n])
    return t


# --- chart series ---------------------------------------------------------------------------------------------


@dataclass
class Verlauf:
    beschriftungen: list[str]
    reihen: dict[str, list[float | None]]
    tabelle: Tabelle


def _zeitpunkte(session: Session, z: Zeitraum) -> tuple[list[datetime], list[datetime]]:
    kontakte = [r[0] for r in session.execute(
        select(Kontakt.erstellt_am).where(Kontakt.erstellt_am >= z.von, Kontakt.erstellt_am < z.bis)).all()]
    anrufe = [r[0] for r in session.execute(
        select(Anruf.beginn).where(Anruf.beginn >= z.von, Anruf.beginn < z.bis,
                                   Anruf.richtung == Richtung.eingehend)).all()]
    return kontakte, anrufe


def volumen_pro_stunde(session: Session, z: Zeitraum) -> Verlauf:
    tz = z.von.tzinfo
    kontakte, anrufe = _zeitpunkte(session, z)
    k = Counter(t.astimezone(tz).hour for t in kontakte)
    a = Counter(t.astimezone(tz).hour for t in anrufe)
    stunden = list(range(24))
    t = Tabelle(["Stunde", "Eingehende Anrufe", "Kontakte"],
                [[f"{h:02d}–{h + 1:02d} Uhr", a[h], k[h]] for h in stunden])
    return Verlauf([f"{h:02d}" for h in stunden],
                   {"Eingehende Anrufe": [a[h] for h in stunden], "Kontakte": [k[h] for h in stunden]}, t)


def volumen_pro_tag(session: Session, z: Zeitraum) -> Verlauf:
    tz = z.von.tzinfo
    kontakte, anrufe = _zeitpunkte(session, z)
    k = Counter(t.astimezone(tz).date() for t in kontakte)
    a = Counter(t.astimezone(tz).date() for t in anrufe)
    tage = z.tage
    t = Tabelle(["Tag", "Eingehende Anrufe", "Kontakte"], [[f"{d:%d.%m.%Y}", a[d], k[d]] for d in tage])
    return Verlauf([f"{d:%d.%m.}" for d in tage],
                   {"Eingehende Anrufe": [a[d] for d in tage], "Kontakte": [k[d] for d in tage]}, t)


def servicelevel_verlauf(session: Session, z: Zeitraum, schwelle: int = 30,
                         anrufe: list[Anruf] | None = None) -> Verlauf:
    """Per hour for a single day, else per day: share answered within the threshold (None without calls)."""
    anrufe = _anrufe(session, z) if anrufe is None else anrufe
    tz = z.von.tzinfo
    stuendlich = z.ein_tag
    schluessel = list(range(24)) if stuendlich else z.tage
    gez: dict = defaultdict(int)
    ok: dict = defaultdict(int)
    for a in anrufe:
        sl = im_servicelevel(a, schwelle)
        if sl is None:
            continue
        lokal = a.beginn.astimezone(tz)
        s = lokal.hour if stuendlich else lokal.date()
        gez[s] += 1
        ok[s] += int(sl)
    werte = [ok[s] / gez[s] if gez[s] else None for s in schluessel]
    beschr = [f"{s:02d}" for s in schluessel] if stuendlich else [f"{s:%d.%m.}" for s in schluessel]
    lang = [f"{s:02d}–{s + 1:02d} Uhr" for s in schluessel] if stuendlich else [f"{s:%d.%m.%Y}" for s in schluessel]
    t = Tabelle(["Stunde" if stuendlich else "Tag", "Gezählte Anrufe", f"in {schwelle} s angenommen", "Servicelevel"],
                [[lang[i], gez[s], ok[s], prozent(werte[i])] for i, s in enumerate(schluessel)])
    return Verlauf(beschr, {"Servicelevel": werte}, t)


# --- CSV --------------------------------------------------------------------------------------------------------

GEFAEHRLICH = ("=", "+", "-", "@", "\t", "\r")


def csv_zelle(wert) -> str:
    """Text cells that a spreadsheet would read as a formula get a leading apostrophe (CSV injection)."""
    if wert is None:
        return ""
    if isinstance(wert, bool):
        return "ja" if wert else "nein"
    if isinstance(wert, int | float):
        return str(wert)
    text = str(wert)
    return "'" + text if text.startswith(GEFAEHRLICH) else text


def als_csv(tabelle: Tabelle) -> str:
    """Semicolon-separated with a BOM: what German spreadsheet programs open without an import dialog."""
    puffer = io.StringIO()
    w = csv.writer(puffer, delimiter=";", lineterminator="\r\n")
    w.writerow([csv_zelle(s) for s in tabelle.spalten])
    for zeile in tabelle.zeilen:
        w.writerow([csv_zelle(x) for x in zeile])
    return "\ufeff" + puffer.getvalue()


@dataclass
class Dashboard:
    zeitraum: Zeitraum
    kennzahlen: list[Kennzahl]
    tabellen: dict[str, Tabelle]
    verlaeufe: dict[str, Verlauf]
    wissensluecken: Tabelle | None


FIGUREN = ("erstloesung", "servicelevel", "weiterleitung", "backlog", "ueberfaellig", "kanalmix", "email", "leistungen",
           "wissensluecken", "volumen_stunde", "volumen_tag", "servicelevel_verlauf")


def dashboard(session: Session, z: Zeitraum, *, jetzt: datetime, schwelle: int = 30) -> Dashboard:
    anrufe = _anrufe(session, z)
    k1, t1 = erstloesung(session, z)
    k2, t2 = servicelevel(session, z, schwelle, anrufe)
    k3, t3 = weiterleitung(session, z, jetzt)
    tz = z.von.tzinfo
    return Dashboard(
        zeitraum=z,
        kennzahlen=[k1, k2, k3],
        tabellen={"erstloesung": t1, "servicelevel": t2, "weiterleitung": t3, "backlog": backlog(session, jetzt),
                  "ueberfaellig": ueberfaellige(session, jetzt, tz), "kanalmix": kanalmix(session, z),
                  "leistungen": top_leistungen(session, z), "email": email_antworten(session, z)},
        verlaeufe={"volumen_stunde": volumen_pro_stunde(session, z), "volumen_tag": volumen_pro_tag(session, z),
                   "servicelevel_verlauf": servicelevel_verlauf(session, z, schwelle, anrufe)},
        wissensluecken=wissensluecken(session),
    )


def figur_tabelle(session: Session, figur: str, z: Zeitraum, *, jetzt: datetime, schwelle: int = 30) -> Tabelle | None:
    """The rows of one figure for the CSV export (None: unknown figure or feature not installed)."""
    tz = z.von.tzinfo
    erzeuger = {
        "erstloesung": lambda: erstloesung(session, z)[1],
        "servicelevel": lambda: servicelevel(session, z, schwelle)[1],
        "weiterleitung": lambda: weiterleitung(session, z, jetzt)[1],
        "backlog": lambda: backlog(session, jetzt),
        "ueberfaellig": lambda: ueberfaellige(session, jetzt, tz),
        "kanalmix": lambda: kanalmix(session, z),
        "leistungen": lambda: top_leistungen(session, z),
        "email": lambda: email_antworten(session, z),
        "wissensluecken": lambda: wissensluecken(session),
        "volumen_stunde": lambda: volumen_pro_stunde(session, z).tabelle,
        "volumen_tag": lambda: volumen_pro_tag(session, z).tabelle,
        "servicelevel_verlauf": lambda: servicelevel_verlauf(session, z, schwelle).tabelle,
    }
    f = erzeuger.get(figur)
    return f() if f else None

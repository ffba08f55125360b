"""Desk services: the answer card (data and plain-text version), e-mailing it via the outbox, contact logging
from form input. Plain functions over a session (never commit; may flush)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicecenter.auth.models import Benutzer
from servicecenter.cti.service import anrufdauer
from servicecenter.kontakte import service as kontakte
from servicecenter.kontakte.models import Ergebnis, Kontakt
from servicecenter.outbox.service import in_outbox
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import Kanal, Ticket
from wissensdatenbank.models import Leistung, LeistungStatus, Organisationseinheit
from wissensdatenbank.oeffnung import OeffnungsStatus, Slot, wochenplan_text
from wissensdatenbank.service import leistung_laden, oe_status

KANAL_TEXT = {Kanal.telefon: "Telefon", Kanal.email: "E-Mail", Kanal.chat: "Chat", Kanal.vor_ort: "Vor Ort"}
ERGEBNIS_TEXT = {
    Ergebnis.beim_erstkontakt_beantwortet: "beim Erstkontakt beantwortet",
    Ergebnis.weitergeleitet: "weitergeleitet (Ticket)",
    Ergebnis.rueckruf_vereinbart: "Rückruf vereinbart (Ticket mit Rückrufzeit)",
}
EMAIL_MUSTER = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
TELEFON_MUSTER = re.compile(r"^[0-9+()/.\- ]{3,50}$")


class DeskFehler(Exception):
    status = 422

    def __init__(self, meldung: str) -> None:
        super().__init__(meldung)
        self.meldung = meldung


def euro(betrag) -> str:
    if betrag is None:
        return ""
    return f"{betrag:,.2f} €".replace(",", "X").replace(".", ",").replace("X", ".")


# --- the answer card -------------------------------------------------------------------------------------------


@dataclass
class Stelle:
    oe: Organisationseinheit
    status: OeffnungsStatus
    plan: list[tuple[str, str]]


@dataclass
class Karte:
    leistung: Leistung
    stellen: list[Stelle] = field(default_factory=list)

    @property
    def kosten(self) -> str:
        l = self.leistung
        teile = []
        if l.kosten_betrag is not None:
            betrag = euro(l.kosten_betrag)
            if l.kosten_betrag_bis is not None and l.kosten_betrag_bis != l.kosten_betrag:
                betrag += f" bis {euro(l.kosten_betrag_bis)}"
            teile.append(betrag)
        if l.kosten_text:
            teile.append(l.kosten_text.strip())
        return " – ".join(teile)


def karte_laden(session: Session, leistung_id: int, *, jetzt: datetime, zeitzone: str, land: str) -> Karte | None:
    """A published Leistung with its responsible offices and their opening state (three queries in all)."""
    if not 0 < leistung_id < 2**31:
        return None
    l = leistung_laden(session, leistung_id)
    if l is None or l.status != LeistungStatus.veroeffentlicht:
        return None
    stellen = []
    for z in l.zustaendigkeiten:
        oe = z.organisationseinheit
        if not oe.aktiv:
            continue
        stellen.append(Stelle(
            oe=oe,
            status=oe_status(oe, jetzt=jetzt, zeitzone=zeitzone, land=land),
            plan=wochenplan_text([Slot(s.wochentag, s.von, s.bis) for s in oe.oeffnungszeiten]),
        ))
    return Karte(leistung=l, stellen=stellen)


def antwort_text(karte: Karte) -> str:
    """The plain-text version of the card, in the order it is spoken; also the body of the e-mail."""
    l = karte.leistung
    zeilen = [l.leistungsname, ""]
    if l.kurztext:
        zeilen += [l.kurztext.strip(), ""]
    if l.unterlagen:
        zeilen.append("Erforderliche Unterlagen:")
        zeilen += [f"- {u}" for u in l.unterlagen]
        zeilen.append("")
    if karte.kosten:
        zeilen += [f"Kosten: {karte.kosten}", ""]
    if l.bearbeitungsdauer:
        zeilen += [f"Bearbeitungsdauer: {l.bearbeitungsdauer.strip()}", ""]
    for s in karte.stellen:
        zeilen.append(f"Zuständige Stelle: {s.oe.name}")
        if s.oe.anschrift:
            zeilen.append(f"Anschrift: {s.oe.anschrift}")
        if s.oe.telefon:
            zeilen.append(f"Telefon: {s.oe.telefon}")
        if s.oe.email:
            zeilen.append(f"E-Mail: {s.oe.email}")
        if s.plan:
            zeilen.append("Öffnungszeiten: " + "; ".join(f"{tag} {zeiten}" for tag, zeiten in s.plan))
        zeilen += [s.status.text, ""]
    links = [(o.get("name") or "Online-Dienst", o.get("url")) for o in (l.onlinedienste or []) if o.get("url")]
    if l.termin_url:
        links.append(("Termin vereinbaren", l.termin_url))
    if links:
        zeilen.append("Online:")
        zeilen += [f"- {name}: {url}" for name, url in links]
        zeilen.append("")
    return "\n".join(zeilen).strip() + "\n"


def antwort_per_email(session: Session, karte: Karte, *, email: str, einwilligung: bool,
                      benutzer: Benutzer | None, jetzt: datetime) -> int:
    """Queue the answer text for the caller in the outbox (the e-mail channel delivers it). Returns the row id."""
    email = (email or "").strip()
    if not EMAIL_MUSTER.match(email) or len(email) > 254:
        raise DeskFehler("Bitte geben Sie eine gültige E-Mail-Adresse ein (Beispiel: name@example.de).")
    if not einwilligung:
        raise DeskFehler("Die E-Mail wird nur mit Einwilligung der anrufenden Person verschickt. "
                         "Bitte bestätigen Sie die Einwilligung.")
    eintrag = in_outbox(session, art="desk_antwort_email", jetzt=jetzt, payload={
        # The address is needed for delivery; nothing else personal is stored.
        "an": email,
        "betreff": f"Ihre Anfrage bei der 115: {karte.leistung.leistungsname}",
        "text": antwort_text(karte),
        "leistung_id": karte.leistung.id,
        "benutzer_id": benutzer.id if benutzer else None,
        "einwilligung_am": jetzt.isoformat(),
    })
    return eintrag.id


# --- contact logging from the card -----------------------------------------------------------------------------


@dataclass
class KontaktEingabe:
    """The raw form of the card's contact form (kept to re-render it on an error)."""

    kanal: str = Kanal.telefon.value
    ergebnis: str = Ergebnis.beim_erstkontakt_beantwortet.value
    leistung_id: str = ""
    anliegen: str = ""
    beginn: str = ""  # epoch seconds, set by the server when the card was rendered
    anruf_id: str = ""
    rueckruf_am: str = ""  # datetime-local, in the service's time zone
    queue_id: str = ""
    name: str = ""
    telefon: str = ""
    email: str = ""
    einwilligung: bool = False


@dataclass
class KontaktErgebnis:
    kontakt: Kontakt
    ticket: Ticket | None


def _int_oder_none(text: str, was: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise DeskFehler(f"{was} ist ungültig.")
    return int(text)


def dauer_aus_beginn(beginn: str, jetzt: datetime) -> int | None:
    """Seconds since the card was opened; None when the stamp is missing or implausible (future, > 1 day)."""
    try:
        start = float(beginn)
    except (TypeError, ValueError):
        return None
    dauer = int(jetzt.timestamp() - start)
    return dauer if 0 <= dauer <= 86_400 else None


def rueckruf_aus_eingabe(text: str, zeitzone: str) -> datetime | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        lokal = datetime.fromisoformat(text)
    except ValueError:
        raise DeskFehler("Der Rückrufzeitpunkt ist ungültig (Beispiel: 23.11.2026, 10:00).") from None
    if lokal.tzinfo is None:
        lokal = lokal.replace(tzinfo=ZoneInfo(zeitzone))
    return lokal


def kontakt_erfassen(
    session: Session,
    eingabe: KontaktEingabe,
    *,
    benutzer: Benutzer,
    einstellungen: tickets.TicketEinstellungen,
    jetzt: datetime,
    zeitzone: str,
) -> KontaktErgebnis:
    """Validate the form and log the contact via the Kontakte service (which creates the ticket if needed)."""
    try:
        kanal = Kanal(eingabe.kanal)
    except ValueError:
        raise DeskFehler("Bitte wählen Sie den Kanal (Telefon, E-Mail, Chat oder Vor Ort).") from None
    try:
        ergebnis = Ergebnis(eingabe.ergebnis)
    except ValueError:
        raise DeskFehler("Bitte wählen Sie das Ergebnis des Kontakts.") from None
    leistung_id = _int_oder_none(eingabe.leistung_id, "Die Leistung")
    queue_id = _int_oder_none(eingabe.queue_id, "Die Queue")
    braucht_ticket = ergebnis != Ergebnis.beim_erstkontakt_beantwortet
    rueckruf = rueckruf_aus_eingabe(eingabe.rueckruf_am, zeitzone) if ergebnis == Ergebnis.rueckruf_vereinbart \
        else None

    buerger = None
    if braucht_ticket:
        # Personal data only when the outcome needs it; fields of an "answered" contact are ignored.
        name, telefon, email = eingabe.name.strip(), eingabe.telefon.strip(), eingabe.email.strip()
        if len(name) > 200:
            raise DeskFehler("Der Name ist zu lang (höchstens 200 Zeichen).")
        if telefon and not TELEFON_MUSTER.match(telefon):
            raise DeskFehler("Die Telefonnummer darf nur Ziffern, Leerzeichen und + ( ) / . - enthalten.")
        if email and (not EMAIL_MUSTER.match(email) or len(email) > 254):
            raise DeskFehler("Bitte geben Sie eine gültige E-Mail-Adresse ein (Beispiel: name@example.de).")
        buerger = tickets.BuergerDaten(name or None, telefon or None, email or None, eingabe.einwilligung)
    else:
        queue_id = None
    if len(eingabe.anliegen) > 10_000:
        raise DeskFehler("Das Anliegen ist zu lang (höchstens 10.000 Zeichen).")
    if len(eingabe.anruf_id) > 200:
        raise DeskFehler("Die Anruf-ID ist zu lang.")
    anliegen = eingabe.anliegen.strip()
    if braucht_ticket and not anliegen and leistung_id is not None:
        l = session.get(Leistung, leistung_id)
        anliegen = f"Anfrage zu: {l.leistungsname}" if l is not None else ""
    # The call's talk time from the CTI events when there is one, else from opening the card.
    anruf_id = eingabe.anruf_id.strip()
    dauer = anrufdauer(session, anruf_id, jetzt) if anruf_id else None
    if dauer is None:
        dauer = dauer_aus_beginn(eingabe.beginn, jetzt)
    try:
        kontakt = kontakte.kontakt_anlegen(
            session, kanal=kanal, ergebnis=ergebnis, benutzer=benutzer, einstellungen=einstellungen,
            leistung_id=leistung_id, anliegen=anliegen, dauer_sekunden=dauer,
            rueckruf_am=rueckruf, queue_id=queue_id, anruf_id=eingabe.anruf_id.strip() or None,
            buerger=buerger, jetzt=jetzt,
        )
    except tickets.TicketFehler as exc:
        raise DeskFehler(exc.meldung) from exc
    ticket = session.get(Ticket, kontakt.ticket_id) if kontakt.ticket_id else None
    return KontaktErgebnis(kontakt=kontakt, ticket=ticket)


def queues_fuer(session: Session, karte: Karte | None) -> list[Organisationseinheit]:
    """Queues offered when forwarding: the responsible offices of the Leistung first, then every active one."""
    alle = list(session.scalars(
        select(Organisationseinheit).where(Organisationseinheit.aktiv).order_by(Organisationseinheit.name).limit(300)
    ))
    zustaendig = [s.oe for s in karte.stellen] if karte else []
    ids = {o.id for o in zustaendig}
    return zustaendig + [o for o in alle if o.id not in ids]


def ortszeit(wert: datetime | None, zeitzone: str) -> str:
    if wert is None:
        return "–"
    return wert.astimezone(ZoneInfo(zeitzone)).strftime("%d.%m.%Y, %H:%M Uhr")


def bis_faellig(faellig: datetime | None, jetzt: datetime) -> str:
    """'in 3 Std. 20 Min.' / 'seit 45 Min. überfällig' (wall-clock, for orientation beside the due time)."""
    if faellig is None:
        return ""
    delta = faellig - jetzt
    vorbei = delta < timedelta(0)
    minuten = int(abs(delta).total_seconds() // 60)
    tage, rest = divmod(minuten, 24 * 60)
    std, mins = divmod(rest, 60)
    teile = ([f"{tage} T."] if tage else []) + ([f"{std} Std."] if std else []) + [f"{mins} Min."]
    text = " ".join(teile[:2])
    return f"seit {text} überfällig" if vorbei else f"in {text}"


# --- the ticket timeline in plain German ---------------------------------------------------------------------

FELD_TEXT = {
    "status": "Status",
    "prioritaet": "Priorität",
    "assignee_id": "Zuständig",
    "queue_id": "Queue",
    "leistung_id": "Leistung",
    "externe_vorgangs_id": "Vorgangsnummer im Fachverfahren",
    "faellig_am": "Fällig am",
    "erledigt_am": "Erledigt am",
    "buergerstatus": "Status für die Bürgerin oder den Bürger",
    "uebergabe": "Übergabe an das Fachverfahren",
    "zusammengefuehrt_in": "Zusammengeführt in",
    "zusammengefuehrt_aus": "Zusammengeführt aus",
    "kontakt": "Kontaktdaten",
    "rueckruf_am": "Rückruf vereinbart für",
}


@dataclass
class Aenderungstext:
    feld: str
    alt: str | None
    neu: str | None


def aenderungen_beschriften(session: Session, eintraege: list, zeitzone: str) -> dict[int, Aenderungstext]:
    """German labels and readable values (names instead of ids, local times) for the timeline's changes,
    keyed by the entry's position in the list."""
    from servicecenter.status.service import STATUS_TEXTE
    from servicecenter.tickets.zustaende import ZUSTAND_TEXT, Buergerstatus, Zustand

    ids: dict[str, set[int]] = {"assignee_id": set(), "queue_id": set(), "leistung_id": set()}
    for e in eintraege:
        if e.typ == "aenderung" and e.feld in ids:
            for w in (e.alt, e.neu):
                if w is not None and str(w).isdigit():
                    ids[e.feld].add(int(w))
    namen: dict[str, dict[int, str]] = {k: {} for k in ids}
    if ids["assignee_id"]:
        for i, a, n in session.execute(select(Benutzer.id, Benutzer.anzeigename, Benutzer.name)
                                       .where(Benutzer.id.in_(ids["assignee_id"]))).tuples():
            namen["assignee_id"][i] = a or n
    if ids["queue_id"]:
        for i, n in session.execute(select(Organisationseinheit.id, Organisationseinheit.name)
                                    .where(Organisationseinheit.id.in_(ids["queue_id"]))).tuples():
            namen["queue_id"][i] = n
    if ids["leistung_id"]:
        for i, n in session.execute(select(Leistung.id, Leistung.leistungsname)
                                    .where(Leistung.id.in_(ids["leistung_id"]))).tuples():
            namen["leistung_id"][i] = n

    def wert(feld: str, w) -> str | None:
        if w is None:
            return None
        s = str(w)
        if feld == "status" and s in Zustand.__members__:
            return ZUSTAND_TEXT[Zustand(s)]
        if feld == "buergerstatus" and s in Buergerstatus.__members__:
            return STATUS_TEXTE[Buergerstatus(s)].titel
        if feld in namen and s.isdigit():
            return namen[feld].get(int(s), f"Nr. {s}")
        if feld in ("faellig_am", "erledigt_am", "rueckruf_am"):
            try:
                return ortszeit(datetime.fromisoformat(s), zeitzone)
            except ValueError:
                return s
        return s

    return {
        i: Aenderungstext(FELD_TEXT.get(e.feld, e.feld), wert(e.feld, e.alt), wert(e.feld, e.neu))
        for i, e in enumerate(eintraege)
        if e.typ == "aenderung"
    }

"""Ticket services: plain functions over a session (never commit; may flush).

Other parts (desk UI, e-mail channel, hand-off) call these, not the API:
- `ticket_anlegen`, `ticket_laden`, `ticket_fuer_benutzer`, `ticket_aendern`, `artikel_anlegen`,
  `zusammenfuehren`, `zeitleiste`, `tickets_suchen`, `sla_flags`, `textbaustein_*`, `queue_mitglied_*`.
Errors are `TicketFehler` subclasses carrying a German message and an HTTP status.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, false, func, insert, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from servicecenter import sla
from servicecenter.auth.models import Benutzer, Rolle
from servicecenter.outbox.service import in_outbox
from servicecenter.status.service import buergerstatus_geaendert, zugangscode_vergeben
from servicecenter.tickets import nummern, textbausteine
from servicecenter.tickets.models import (
    ArtikelArt,
    BenutzerQueue,
    Kanal,
    Prioritaet,
    Textbaustein,
    Ticket,
    TicketAnhang,
    TicketArtikel,
    TicketHistorie,
)
from servicecenter.tickets.zustaende import (
    BUERGERSTATUS,
    OFFEN,
    SLA_LAEUFT,
    UEBERGAENGE,
    ZUSTAND_TEXT,
    Zustand,
    erlaubt,
)
from wissensdatenbank.basis import jetzt as _jetzt
from wissensdatenbank.models import Leistung, Organisationseinheit

FILTER = ("mein", "team", "ueberfaellig", "bald_faellig", "unzugewiesen")


# --- errors ---------------------------------------------------------------------------------------------


class TicketFehler(Exception):
    status = 400

    def __init__(self, meldung: str) -> None:
        super().__init__(meldung)
        self.meldung = meldung


class NichtGefunden(TicketFehler):
    status = 404


class KeinZugriff(TicketFehler):
    status = 403


class UngueltigeEingabe(TicketFehler):
    status = 422


class VersionKonflikt(TicketFehler):
    """The caller edited an outdated version; `ticket` is the current state."""

    status = 409

    def __init__(self, meldung: str, ticket: Ticket) -> None:
        super().__init__(meldung)
        self.ticket = ticket


KONFLIKT_TEXT = (
    "Das Ticket wurde inzwischen von jemand anderem geändert (aktuelle Version {v}). Ihre Eingaben wurden nicht "
    "gespeichert und bleiben erhalten: Bitte prüfen Sie den aktuellen Stand und senden Sie Ihre Änderung erneut."
)


# --- configuration ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketEinstellungen:
    servicezeiten: sla.Servicezeiten = field(default_factory=sla.Servicezeiten)
    sla_stunden: float = 24
    bald_faellig_stunden: float = 4
    anhang_max_bytes: int = 10 * 1024 * 1024

    @classmethod
    def aus(cls, settings) -> TicketEinstellungen:
        return cls(
            servicezeiten=sla.servicezeiten_aus(settings),
            sla_stunden=settings.sla_stunden,
            bald_faellig_stunden=settings.sla_bald_faellig_stunden,
            anhang_max_bytes=settings.anhang_max_bytes,
        )


@dataclass
class NeuerAnhang:
    dateiname: str
    mimetyp: str
    inhalt: bytes


@dataclass
class BuergerDaten:
    name: str | None = None
    telefon: str | None = None
    email: str | None = None
    einwilligung: bool = False

    @property
    def hat_daten(self) -> bool:
        return bool(self.name or self.telefon or self.email)


EINWILLIGUNG_TEXT = (
    "Persönliche Daten (Name, Telefon, E-Mail) dürfen nur mit Einwilligung gespeichert werden. "
    "Bitte bestätigen Sie die Einwilligung oder lassen Sie die Angaben weg."
)


def pruefe_einwilligung(daten: BuergerDaten | None) -> None:
    if daten is not None and daten.hat_daten and not daten.einwilligung:
        raise UngueltigeEingabe(EINWILLIGUNG_TEXT)


# --- access -----------------------------------------------------------------------------------------------


def ist_leitung(benutzer: Benutzer) -> bool:
    return benutzer.rolle in (Rolle.teamleitung, Rolle.admin)


def queues_von(session: Session, benutzer_id: int) -> list[int]:
    return list(
        session.scalars(
            select(BenutzerQueue.organisationseinheit_id).where(BenutzerQueue.benutzer_id == benutzer_id)
        )
    )


def sichtbar_fuer(session: Session, benutzer: Benutzer) -> ColumnElement[bool] | None:
    """SQL condition for the tickets an agent may see; None means all (Teamleitung, Admin).

    Agents see tickets assigned to them and those of their queues; agents without any queue membership see
    the tickets without a queue instead.
    """
    if ist_leitung(benutzer):
        return None
    queues = queues_von(session, benutzer.id)
    bereich = Ticket.queue_id.in_(queues) if queues else Ticket.queue_id.is_(None)
    return or_(Ticket.assignee_id == benutzer.id, bereich)


def darf_sehen(session: Session, ticket: Ticket, benutzer: Benutzer) -> bool:
    if ist_leitung(benutzer) or ticket.assignee_id == benutzer.id:
        return True
    queues = queues_von(session, benutzer.id)
    return ticket.queue_id in queues if queues else ticket.queue_id is None


def queue_mitglied_hinzufuegen(session: Session, *, benutzer_id: int, organisationseinheit_id: int) -> None:
    if session.get(BenutzerQueue, (benutzer_id, organisationseinheit_id)) is None:
        session.add(BenutzerQueue(benutzer_id=benutzer_id, organisationseinheit_id=organisationseinheit_id))
        session.flush()


def queue_mitglied_entfernen(session: Session, *, benutzer_id: int, organisationseinheit_id: int) -> None:
    eintrag = session.get(BenutzerQueue, (benutzer_id, organisationseinheit_id))
    if eintrag is not None:
        session.delete(eintrag)
        session.flush()


# --- loading ----------------------------------------------------------------------------------------------


def ticket_laden(session: Session, nummer: str) -> Ticket:
    ticket = session.scalar(select(Ticket).where(Ticket.nummer == nummer)) if nummern.gueltig(nummer) else None
    if ticket is None:
        raise NichtGefunden(f"Ein Ticket mit der Nummer {nummer[:40]} gibt es nicht.")
    return ticket


def ticket_fuer_benutzer(session: Session, nummer: str, benutzer: Benutzer) -> Ticket:
    ticket = ticket_laden(session, nummer)
    if not darf_sehen(session, ticket, benutzer):
        raise KeinZugriff(
            "Sie haben keinen Zugriff auf dieses Ticket: Es gehört zu einer Queue, der Sie nicht angehören, "
            "und ist Ihnen nicht zugewiesen."
        )
    return ticket


# --- history ----------------------------------------------------------------------------------------------


def _text(wert) -> str | None:
    if wert is None:
        return None
    if isinstance(wert, datetime):
        return wert.isoformat()
    return str(getattr(wert, "value", wert))


def _historie(session: Session, ticket: Ticket, feld: str, alt, neu, benutzer: Benutzer | None,
              zeit: datetime) -> None:
    session.add(TicketHistorie(
        ticket_id=ticket.id, benutzer_id=benutzer.id if benutzer else None, zeitpunkt=zeit, feld=feld,
        alt=_text(alt), neu=_text(neu),
    ))


def _setzen(session: Session, ticket: Ticket, feld: str, neu, benutzer: Benutzer | None, zeit: datetime) -> bool:
    alt = getattr(ticket, feld)
    if alt == neu:
        return False
    setattr(ticket, feld, neu)
    _historie(session, ticket, feld, alt, neu, benutzer, zeit)
    return True


# --- validation of references -------------------------------------------------------------------------------


def _pruefe_leistung(session: Session, leistung_id: int | None) -> None:
    if leistung_id is not None and session.get(Leistung, leistung_id) is None:
        raise UngueltigeEingabe(f"Die Leistung {leistung_id} gibt es nicht.")


def _pruefe_queue(session: Session, queue_id: int | None) -> None:
    if queue_id is not None and session.get(Organisationseinheit, queue_id) is None:
        raise UngueltigeEingabe(f"Die Queue (Organisationseinheit) {queue_id} gibt es nicht.")


def _pruefe_assignee(session: Session, assignee_id: int | None) -> None:
    if assignee_id is None:
        return
    b = session.get(Benutzer, assignee_id)
    if b is None or not b.aktiv:
        raise UngueltigeEingabe(f"Einen aktiven Benutzer {assignee_id} gibt es nicht.")


# --- creation ---------------------------------------------------------------------------------------------


def ticket_anlegen(
    session: Session,
    *,
    anliegen: str,
    kanal: Kanal,
    benutzer: Benutzer | None,
    einstellungen: TicketEinstellungen,
    leistung_id: int | None = None,
    prioritaet: Prioritaet = Prioritaet.normal,
    queue_id: int | None = None,
    assignee_id: int | None = None,
    buerger: BuergerDaten | None = None,
    rueckruf_am: datetime | None = None,
    externe_vorgangs_id: str | None = None,
    jetzt: datetime | None = None,
) -> Ticket:
    """Create a ticket, due `sla_stunden` service hours from now. `benutzer` is None for system channels."""
    zeit = jetzt or _jetzt()
    anliegen = anliegen.strip()
    if not anliegen:
        raise UngueltigeEingabe("Bitte beschreiben Sie das Anliegen.")
    pruefe_einwilligung(buerger)
    _pruefe_leistung(session, leistung_id)
    _pruefe_queue(session, queue_id)
    _pruefe_assignee(session, assignee_id)
    if rueckruf_am is not None and rueckruf_am.tzinfo is None:
        raise UngueltigeEingabe("Der Rückrufzeitpunkt braucht eine Zeitzone (z. B. 2026-11-23T10:00:00+01:00).")

    jahr = zeit.astimezone(einstellungen.servicezeiten.tz).year
    einw = buerger is not None and buerger.einwilligung and buerger.hat_daten
    ticket = Ticket(
        nummer=nummern.naechste_nummer(session, jahr),
        anliegen=anliegen,
        kanal=Kanal(kanal),
        prioritaet=Prioritaet(prioritaet),
        zustand=Zustand.neu,
        buergerstatus=BUERGERSTATUS[Zustand.neu],
        leistung_id=leistung_id,
        queue_id=queue_id,
        assignee_id=assignee_id,
        kontakt_name=buerger.name if einw else None,
        kontakt_telefon=buerger.telefon if einw else None,
        kontakt_email=buerger.email if einw else None,
        einwilligung=einw,
        einwilligung_am=zeit if einw else None,
        faellig_am=sla.faellig_ab(zeit, einstellungen.servicezeiten, einstellungen.sla_stunden),
        rueckruf_am=rueckruf_am,
        externe_vorgangs_id=externe_vorgangs_id,
        erstellt_von_id=benutzer.id if benutzer else None,
        erstellt_am=zeit,
        aktualisiert_am=zeit,
    )
    zugangscode_vergeben(ticket)  # citizen access code: hash stored, code kept as transient ticket.zugangscode
    session.add(ticket)
    session.flush()
    # The initial history rows in one multi-row INSERT (nobody needs them as objects in this session).
    zeilen = [("status", Zustand.neu)] + [
        (feld, getattr(ticket, feld)) for feld in ("queue_id", "assignee_id", "leistung_id", "rueckruf_am")
        if getattr(ticket, feld) is not None
    ]
    session.execute(insert(TicketHistorie), [
        {"ticket_id": ticket.id, "benutzer_id": benutzer.id if benutzer else None, "zeitpunkt": zeit, "feld": feld,
         "alt": None, "neu": _text(neu)}
        for feld, neu in zeilen
    ])
    return ticket


# --- changes ----------------------------------------------------------------------------------------------

_NICHT_GESETZT = object()


def _pruefe_version(session: Session, ticket: Ticket, version: int | None) -> None:
    """Compare with the committed version and lock the row (PostgreSQL: FOR UPDATE) until the transaction
    ends, so no other writer slips in between this check and our UPDATE."""
    if version is None:
        return
    gespeichert = session.execute(
        select(Ticket.version).where(Ticket.id == ticket.id).with_for_update()
    ).scalar_one()
    if gespeichert != ticket.version:  # someone committed after this session loaded the ticket
        session.refresh(ticket)
    if version != ticket.version:
        raise VersionKonflikt(KONFLIKT_TEXT.format(v=ticket.version), ticket)


def _pruefe_uebergang(alt: Zustand, neu: Zustand) -> None:
    if not erlaubt(alt, neu):
        moeglich = ", ".join(ZUSTAND_TEXT[z] for z in sorted(UEBERGAENGE[alt])) or "keiner (Endzustand)"
        raise UngueltigeEingabe(
            f"Der Statuswechsel von „{ZUSTAND_TEXT[alt]}“ nach „{ZUSTAND_TEXT[neu]}“ ist nicht erlaubt. "
            f"Möglich ist: {moeglich}."
        )


def _zustand_wechseln(session: Session, ticket: Ticket, neu: Zustand, benutzer: Benutzer | None,
                      einstellungen: TicketEinstellungen, zeit: datetime) -> None:
    alt = ticket.zustand
    if neu == alt:
        return
    _pruefe_uebergang(alt, neu)
    # Status e-mail via the outbox, queued before the ticket is touched: its insert flushes the session, and with
    # the ticket still clean all changes below go out in one versioned UPDATE (one version step per change).
    buergerstatus_geaendert(session, ticket, BUERGERSTATUS[neu], jetzt=zeit)
    # SLA clock: pause on entering "wartet auf Rückmeldung", move the due time on by the paused service time.
    if alt == Zustand.wartet_auf_rueckmeldung and ticket.sla_pausiert_seit is not None:
        if ticket.faellig_am is not None:
            neu_faellig = sla.nach_pause(ticket.faellig_am, ticket.sla_pausiert_seit, zeit, einstellungen.servicezeiten)
            _setzen(session, ticket, "faellig_am", neu_faellig, benutzer, zeit)
        ticket.sla_pausiert_seit = None
    if neu == Zustand.wartet_auf_rueckmeldung:
        ticket.sla_pausiert_seit = zeit
    if neu in (Zustand.erledigt, Zustand.geschlossen) and ticket.erledigt_am is None:
        _setzen(session, ticket, "erledigt_am", zeit, benutzer, zeit)
    if neu in OFFEN and ticket.erledigt_am is not None:  # reopened
        _setzen(session, ticket, "erledigt_am", None, benutzer, zeit)
    ticket.zustand = neu
    ticket.buergerstatus = BUERGERSTATUS[neu]
    _historie(session, ticket, "status", alt, neu, benutzer, zeit)  # named like the API field


def ticket_aendern(
    session: Session,
    ticket: Ticket,
    *,
    version: int | None,
    benutzer: Benutzer | None,
    einstellungen: TicketEinstellungen,
    status: Zustand | None = None,
    assignee_id: int | None | object = _NICHT_GESETZT,
    queue_id: int | None | object = _NICHT_GESETZT,
    prioritaet: Prioritaet | None = None,
    leistung_id: int | None | object = _NICHT_GESETZT,
    externe_vorgangs_id: str | None | object = _NICHT_GESETZT,
    jetzt: datetime | None = None,
    uebergabe: bool = False,
) -> Ticket:
    """Change a ticket on top of `version` (None skips the check, for system jobs). Raises VersionKonflikt
    when stale, UngueltigeEingabe for a forbidden transition or unknown references; nothing is changed then.

    "an Fachverfahren übergeben" is reached only through the hand-off (`uebergabe=True`, set by
    servicecenter.uebergabe.service), which queues the delivery in the same transaction: set directly,
    the ticket would look handed off while nothing is ever delivered."""
    zeit = jetzt or _jetzt()
    _pruefe_version(session, ticket, version)
    if assignee_id is not _NICHT_GESETZT:
        _pruefe_assignee(session, assignee_id)  # type: ignore[arg-type]
    if queue_id is not _NICHT_GESETZT:
        _pruefe_queue(session, queue_id)  # type: ignore[arg-type]
    if leistung_id is not _NICHT_GESETZT:
        _pruefe_leistung(session, leistung_id)  # type: ignore[arg-type]
    if ticket.zustand == Zustand.geschlossen:
        raise UngueltigeEingabe("Das Ticket ist geschlossen und kann nicht mehr geändert werden.")
    if status is not None and status != ticket.zustand:
        _pruefe_uebergang(ticket.zustand, Zustand(status))  # before anything is touched
        if Zustand(status) == Zustand.an_fachverfahren_uebergeben and not uebergabe:
            raise UngueltigeEingabe(
                "Ein Ticket kommt nur über die Übergabe („An Fachverfahren übergeben“) in diesen Zustand, "
                "damit es dem Fachverfahren sicher zugestellt wird."
            )

    geaendert = False
    if status is not None and status != ticket.zustand:
        _zustand_wechseln(session, ticket, Zustand(status), benutzer, einstellungen, zeit)
        geaendert = True
    for feld, wert in (
        ("assignee_id", assignee_id), ("queue_id", queue_id), ("leistung_id", leistung_id),
        ("externe_vorgangs_id", externe_vorgangs_id),
    ):
        if wert is not _NICHT_GESETZT:
            geaendert |= _setzen(session, ticket, feld, wert, benutzer, zeit)
    if prioritaet is not None:
        geaendert |= _setzen(session, ticket, "prioritaet", Prioritaet(prioritaet), benutzer, zeit)
    if geaendert:
        ticket.aktualisiert_am = zeit
        try:
            session.flush()  # the versioned UPDATE (version_id_col) is the last line of defence
        except StaleDataError as exc:
            session.rollback()
            aktuell = ticket_laden(session, ticket.nummer)
            raise VersionKonflikt(KONFLIKT_TEXT.format(v=aktuell.version), aktuell) from exc
    return ticket


# --- articles ---------------------------------------------------------------------------------------------


def anhang_aus_base64(dateiname: str, mimetyp: str, inhalt_base64: str, max_bytes: int) -> NeuerAnhang:
    if len(inhalt_base64) > (max_bytes // 3 + 2) * 4 + 16:
        raise UngueltigeEingabe(_zu_gross(dateiname, max_bytes))
    try:
        inhalt = base64.b64decode(inhalt_base64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise UngueltigeEingabe(f"Der Inhalt des Anhangs „{dateiname}“ ist kein gültiges Base64.") from exc
    return NeuerAnhang(dateiname=dateiname, mimetyp=mimetyp, inhalt=inhalt)


def _zu_gross(dateiname: str, max_bytes: int) -> str:
    return f"Der Anhang „{dateiname}“ ist zu groß. Erlaubt sind höchstens {max_bytes / 1024 / 1024:.1f} MB je Datei."


def artikel_anlegen(
    session: Session,
    ticket: Ticket,
    *,
    art: ArtikelArt,
    text: str,
    benutzer: Benutzer | None,
    einstellungen: TicketEinstellungen,
    anhaenge: list[NeuerAnhang] | None = None,
    jetzt: datetime | None = None,
) -> TicketArtikel:
    """Add an internal note or a message to the citizen. A message is queued in the outbox for delivery."""
    zeit = jetzt or _jetzt()
    anhaenge = anhaenge or []
    if not text.strip() and not anhaenge:
        raise UngueltigeEingabe("Bitte geben Sie einen Text ein oder hängen Sie eine Datei an.")
    if ticket.zustand == Zustand.geschlossen:
        raise UngueltigeEingabe("Das Ticket ist geschlossen; es kann nichts mehr hinzugefügt werden.")
    for a in anhaenge:
        if len(a.inhalt) > einstellungen.anhang_max_bytes:
            raise UngueltigeEingabe(_zu_gross(a.dateiname, einstellungen.anhang_max_bytes))
    artikel = TicketArtikel(
        ticket_id=ticket.id, art=ArtikelArt(art), text=text, benutzer_id=benutzer.id if benutzer else None,
        erstellt_am=zeit,
    )
    for a in anhaenge:
        artikel.anhaenge.append(TicketAnhang(
            dateiname=a.dateiname, mimetyp=a.mimetyp, groesse=len(a.inhalt),
            sha256=hashlib.sha256(a.inhalt).hexdigest(), inhalt=a.inhalt,
        ))
    session.add(artikel)
    session.flush()
    _historie(session, ticket, "artikel", None, f"{artikel.art.value}:{artikel.id}", benutzer, zeit)
    if artikel.art == ArtikelArt.nachricht:
        # Delivery (e-mail to the citizen) happens in the worker; the payload carries ids, no personal data.
        in_outbox(session, art="ticket_nachricht",
                  payload={"ticket_nummer": ticket.nummer, "artikel_id": artikel.id}, jetzt=zeit)
    session.flush()
    return artikel


def anhang_laden(session: Session, ticket: Ticket, anhang_id: int) -> TicketAnhang:
    anhang = session.get(TicketAnhang, anhang_id)
    if anhang is None or anhang.artikel.ticket_id not in _zusammengefuehrte_ids(session, ticket):
        raise NichtGefunden("Diesen Anhang gibt es an diesem Ticket nicht.")
    return anhang


# --- merge and timeline ------------------------------------------------------------------------------------


def _zusammengefuehrte_ids(session: Session, ticket: Ticket) -> list[int]:
    """The ticket and every ticket merged into it (transitively)."""
    ids = [ticket.id]
    offen = [ticket.id]
    while offen:
        neue = list(session.scalars(select(Ticket.id).where(Ticket.zusammengefuehrt_in_id.in_(offen))))
        neue = [i for i in neue if i not in ids]
        ids.extend(neue)
        offen = neue
    return ids


def zusammenfuehren(
    session: Session,
    *,
    quelle: Ticket,
    ziel: Ticket,
    benutzer: Benutzer | None,
    einstellungen: TicketEinstellungen,
    version: int | None = None,
    jetzt: datetime | None = None,
) -> Ticket:
    """Merge `quelle` into `ziel`: `quelle` is closed with a reference; nothing is deleted or moved, the
    timeline and articles of `ziel` include those of every ticket merged into it."""
    zeit = jetzt or _jetzt()
    _pruefe_version(session, quelle, version)
    if quelle.id == ziel.id:
        raise UngueltigeEingabe("Ein Ticket kann nicht mit sich selbst zusammengeführt werden.")
    if quelle.zustand == Zustand.geschlossen:
        raise UngueltigeEingabe(f"Das Ticket {quelle.nummer} ist bereits geschlossen.")
    if ziel.zustand == Zustand.geschlossen:
        raise UngueltigeEingabe(f"Das Zielticket {ziel.nummer} ist geschlossen.")
    _zustand_wechseln(session, quelle, Zustand.geschlossen, benutzer, einstellungen, zeit)
    quelle.zusammengefuehrt_in_id = ziel.id
    _historie(session, quelle, "zusammengefuehrt_in", None, ziel.nummer, benutzer, zeit)
    _historie(session, ziel, "zusammengefuehrt_aus", None, quelle.nummer, benutzer, zeit)
    # The surviving ticket keeps the citizen contact if only the merged one had it (consent travels along).
    if not ziel.einwilligung and quelle.einwilligung:
        for feld in ("kontakt_name", "kontakt_telefon", "kontakt_email", "einwilligung_am"):
            setattr(ziel, feld, getattr(quelle, feld))
        ziel.einwilligung = True
        _historie(session, ziel, "kontakt", None, f"übernommen aus {quelle.nummer}", benutzer, zeit)
    quelle.aktualisiert_am = ziel.aktualisiert_am = zeit
    session.flush()
    return ziel


def artikel_von(session: Session, ticket: Ticket) -> list[TicketArtikel]:
    ids = _zusammengefuehrte_ids(session, ticket)
    return list(session.scalars(
        select(TicketArtikel).where(TicketArtikel.ticket_id.in_(ids))
        .order_by(TicketArtikel.erstellt_am, TicketArtikel.id)
    ))


@dataclass
class Zeitpunkt:
    """One timeline entry: a field change or an article."""

    zeitpunkt: datetime
    typ: str  # "aenderung" | "artikel"
    ticket_nummer: str
    benutzer_id: int | None
    benutzer_name: str | None
    feld: str | None = None
    alt: str | None = None
    neu: str | None = None
    artikel: TicketArtikel | None = None


def zeitleiste(session: Session, ticket: Ticket) -> list[Zeitpunkt]:
    """Changes and articles of the ticket and of every ticket merged into it, oldest first."""
    ids = _zusammengefuehrte_ids(session, ticket)
    nummer = dict(session.execute(select(Ticket.id, Ticket.nummer).where(Ticket.id.in_(ids))).tuples().all())
    eintraege: list[Zeitpunkt] = []
    for h in session.scalars(
        select(TicketHistorie).where(TicketHistorie.ticket_id.in_(ids)).order_by(TicketHistorie.id)
    ):
        if h.feld == "artikel":
            continue  # shown as the article itself
        eintraege.append(Zeitpunkt(h.zeitpunkt, "aenderung", nummer[h.ticket_id], h.benutzer_id, None,
                                   h.feld, h.alt, h.neu))
    for a in artikel_von(session, ticket):
        eintraege.append(Zeitpunkt(a.erstellt_am, "artikel", nummer[a.ticket_id], a.benutzer_id, None, artikel=a))
    namen_ids = {e.benutzer_id for e in eintraege if e.benutzer_id is not None}
    if namen_ids:
        zeilen = session.execute(
            select(Benutzer.id, Benutzer.anzeigename, Benutzer.name).where(Benutzer.id.in_(namen_ids))
        ).tuples()
        namen = {i: (a or n) for i, a, n in zeilen}
        for e in eintraege:
            e.benutzer_name = namen.get(e.benutzer_id) if e.benutzer_id is not None else None
    # Stable sort: equal times keep the order of writing (history ids, then articles).
    eintraege.sort(key=lambda e: (e.zeitpunkt, 0 if e.typ == "aenderung" else 1))
    return eintraege


# --- queues and SLA flags ---------------------------------------------------------------------------------


def sla_flags(ticket: Ticket, einstellungen: TicketEinstellungen, jetzt: datetime | None = None) -> tuple[bool, bool]:
    """(ueberfaellig, bald_faellig); both False while the clock is paused or the ticket is done."""
    zeit = jetzt or _jetzt()
    if ticket.zustand not in SLA_LAEUFT:
        return False, False
    return (
        sla.ist_ueberfaellig(ticket.faellig_am, zeit),
        sla.ist_bald_faellig(ticket.faellig_am, zeit, einstellungen.servicezeiten, einstellungen.bald_faellig_stunden),
    )


def tickets_suchen(
    session: Session,
    *,
    benutzer: Benutzer,
    einstellungen: TicketEinstellungen,
    filter: set[str] | frozenset[str] = frozenset(),
    zustaende: set[Zustand] | None = None,
    queue_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
    jetzt: datetime | None = None,
) -> tuple[int, list[Ticket]]:
    """Tickets visible to `benutzer`, filtered (all filters must hold), most urgent first.

    Filters: mein (assigned to me), team (in my queues), ueberfaellig, bald_faellig (within the due-soon
    threshold of service hours), unzugewiesen. Without `zustaende` only open tickets are listed.
    """
    zeit = jetzt or _jetzt()
    unbekannt = set(filter) - set(FILTER)
    if unbekannt:
        raise UngueltigeEingabe(f"Unbekannter Filter: {', '.join(sorted(unbekannt))}. Möglich: {', '.join(FILTER)}.")
    bed: list[ColumnElement[bool]] = []
    sicht = sichtbar_fuer(session, benutzer)
    if sicht is not None:
        bed.append(sicht)
    bed.append(Ticket.zustand.in_(list(zustaende or OFFEN)))
    if "mein" in filter:
        bed.append(Ticket.assignee_id == benutzer.id)
    if "team" in filter:
        queues = queues_von(session, benutzer.id)
        bed.append(Ticket.queue_id.in_(queues) if queues else false())
    if "unzugewiesen" in filter:
        bed.append(Ticket.assignee_id.is_(None))
    if "ueberfaellig" in filter:
        bed.append(and_(Ticket.zustand.in_(list(SLA_LAEUFT)), Ticket.faellig_am <= zeit))
    if "bald_faellig" in filter:
        grenze = sla.bald_faellig_grenze(zeit, einstellungen.servicezeiten, einstellungen.bald_faellig_stunden)
        bed.append(and_(Ticket.zustand.in_(list(SLA_LAEUFT)), Ticket.faellig_am > zeit, Ticket.faellig_am <= grenze))
    if queue_id is not None:
        bed.append(Ticket.queue_id == queue_id)
    anzahl = session.scalar(select(func.count()).select_from(Ticket).where(*bed)) or 0
    tickets = list(session.scalars(
        select(Ticket).where(*bed)
        .order_by(Ticket.faellig_am.is_(None), Ticket.faellig_am, Ticket.id)
        .limit(limit).offset(offset)
    ))
    return anzahl, tickets


# --- Textbausteine ----------------------------------------------------------------------------------------


def textbaustein_anlegen(session: Session, *, name: str, text: str) -> Textbaustein:
    try:
        textbausteine.rendern(text, _beispielwerte())  # refuse templates that cannot render
    except textbausteine.TextbausteinFehler as exc:
        raise UngueltigeEingabe(exc.args[0]) from exc
    if session.scalar(select(Textbaustein).where(Textbaustein.name == name)) is not None:
        raise UngueltigeEingabe(f"Einen Textbaustein „{name}“ gibt es schon.")
    tb = Textbaustein(name=name, text=text, aktiv=True)
    session.add(tb)
    session.flush()
    return tb


def textbausteine_liste(session: Session) -> list[Textbaustein]:
    return list(session.scalars(select(Textbaustein).where(Textbaustein.aktiv).order_by(Textbaustein.name)))


def textbaustein_rendern(session: Session, ticket: Ticket, *, textbaustein_id: int | None = None,
                         vorlage: str | None = None, zeitzone: str = "Europe/Berlin") -> str:
    if textbaustein_id is not None:
        tb = session.get(Textbaustein, textbaustein_id)
        if tb is None or not tb.aktiv:
            raise UngueltigeEingabe(f"Den Textbaustein {textbaustein_id} gibt es nicht.")
        vorlage = tb.text
    leistung = session.get(Leistung, ticket.leistung_id) if ticket.leistung_id else None
    try:
        return textbausteine.rendern(vorlage or "", textbausteine.platzhalter_fuer(ticket, leistung,
                                                                                    zeitzone=zeitzone))
    except textbausteine.TextbausteinFehler as exc:
        raise UngueltigeEingabe(exc.args[0]) from exc


def _beispielwerte() -> dict[str, dict[str, str]]:
    return {
        "ticket": {"nummer": "115-2026-000001", "status": "neu", "faellig_am": "", "anliegen": ""},
        "leistung": {"name": "", "leika": ""},
    }


__all__ = [
    "FILTER", "BuergerDaten", "KeinZugriff", "NeuerAnhang", "NichtGefunden", "TicketEinstellungen", "TicketFehler",
    "UngueltigeEingabe", "VersionKonflikt", "anhang_aus_base64", "anhang_laden", "artikel_anlegen", "artikel_von",
    "darf_sehen", "ist_leitung", "queue_mitglied_entfernen", "queue_mitglied_hinzufuegen", "queues_von",
    "sichtbar_fuer", "sla_flags", "textbaustein_anlegen", "textbaustein_rendern", "textbausteine_liste",
    "ticket_aendern", "ticket_anlegen", "ticket_fuer_benutzer", "ticket_laden", "tickets_suchen", "zeitleiste",
    "zusammenfuehren",
]

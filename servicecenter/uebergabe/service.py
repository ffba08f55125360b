"""Übergabe services: hand a ticket off (ticket change + outbox row in one transaction), deliver it from the
worker, mark failures, retry, and apply verified callbacks. Plain functions; they never commit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from servicecenter.auth.models import Benutzer
from servicecenter.outbox import service as outbox
from servicecenter.outbox.models import OutboxEintrag, OutboxStatus
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import ArtikelArt, Ticket, TicketAnhang, TicketArtikel, TicketHistorie
from servicecenter.tickets.zustaende import Buergerstatus, Zustand, erlaubt
from servicecenter.uebergabe.adapter import (
    Anhang,
    Auftrag,
    EndgueltigerFehler,
    Kontext,
    Registry,
    UngueltigerCallback,
)
from servicecenter.uebergabe.models import Uebergabe, UebergabeCallback, UebergabeStatus
from wissensdatenbank.basis import jetzt as _jetzt
from wissensdatenbank.models import Leistung, Organisationseinheit

log = logging.getLogger(__name__)

ART_ZUSTELLEN = "uebergabe"
ART_ABRUF = "uebergabe_abruf"
# Callbacks are accepted within ±300 s of their timestamp; their signatures are kept well beyond that window.
CALLBACK_MERKEN = timedelta(hours=1)


class UebergabeNichtMoeglich(tickets.UngueltigeEingabe):
    pass


def _historie(session: Session, ticket: Ticket, feld: str, alt: str | None, neu: str | None,
              benutzer: Benutzer | None, zeit: datetime) -> None:
    session.add(TicketHistorie(ticket_id=ticket.id, benutzer_id=benutzer.id if benutzer else None, zeitpunkt=zeit,
                               feld=feld, alt=alt, neu=neu))


def letzte_uebergabe(session: Session, ticket: Ticket) -> Uebergabe | None:
    return session.scalars(
        select(Uebergabe).where(Uebergabe.ticket_id == ticket.id).order_by(Uebergabe.id.desc()).limit(1)
    ).first()


# --- hand-off -----------------------------------------------------------------------------------------------


def uebergeben(session: Session, ticket: Ticket, *, benutzer: Benutzer | None, registry: Registry,
               einstellungen: tickets.TicketEinstellungen, version: int | None = None,
               jetzt: datetime | None = None) -> Uebergabe:
    """Move the ticket to "an Fachverfahren übergeben" and queue its delivery, in the caller's transaction.
    The adapter follows from the ticket's queue (configuration)."""
    zeit = jetzt or _jetzt()
    laufend = letzte_uebergabe(session, ticket)
    if laufend is not None and laufend.status == UebergabeStatus.ausstehend:
        raise UebergabeNichtMoeglich("Dieses Ticket wird gerade übergeben; bitte warten Sie das Ergebnis ab.")
    try:
        adapter = registry.fuer_queue(ticket.queue_id)
    except EndgueltigerFehler as exc:
        raise UebergabeNichtMoeglich(str(exc)) from exc
    tickets.ticket_aendern(session, ticket, version=version, benutzer=benutzer, einstellungen=einstellungen,
                           status=Zustand.an_fachverfahren_uebergeben, jetzt=zeit, uebergabe=True)
    uebergabe = Uebergabe(ticket_id=ticket.id, adapter=adapter.name, status=UebergabeStatus.ausstehend,
                          versuche=0, erstellt_am=zeit)
    session.add(uebergabe)
    session.flush()
    eintrag = outbox.in_outbox(session, art=ART_ZUSTELLEN, payload={"uebergabe_id": uebergabe.id}, jetzt=zeit)
    uebergabe.outbox_id = eintrag.id
    _historie(session, ticket, "uebergabe", None, f"an {adapter.name} eingereiht", benutzer, zeit)
    session.flush()
    return uebergabe


def erneut_versuchen(session: Session, ticket: Ticket, *, benutzer: Benutzer, registry: Registry,
                     einstellungen: tickets.TicketEinstellungen, jetzt: datetime | None = None) -> Uebergabe:
    """An agent's retry of a failed hand-off: same outbox row, same Idempotency-Key, fresh attempts."""
    zeit = jetzt or _jetzt()
    uebergabe = letzte_uebergabe(session, ticket)
    if uebergabe is None or uebergabe.status != UebergabeStatus.fehlgeschlagen:
        raise UebergabeNichtMoeglich("Es gibt keine fehlgeschlagene Übergabe, die wiederholt werden könnte.")
    eintrag = session.get(OutboxEintrag, uebergabe.outbox_id) if uebergabe.outbox_id else None
    if eintrag is None:
        raise UebergabeNichtMoeglich("Der Auftrag dieser Übergabe ist nicht mehr vorhanden.")
    if ticket.zustand != Zustand.an_fachverfahren_uebergeben:
        tickets.ticket_aendern(session, ticket, version=None, benutzer=benutzer, einstellungen=einstellungen,
                               status=Zustand.an_fachverfahren_uebergeben, jetzt=zeit, uebergabe=True)
    outbox.erneut_einreihen(eintrag, jetzt=zeit)
    uebergabe.status = UebergabeStatus.ausstehend
    uebergabe.fehler = None
    _historie(session, ticket, "uebergabe", "fehlgeschlagen", "erneut eingereiht", benutzer, zeit)
    session.flush()
    return uebergabe


# --- delivery (worker) ------------------------------------------------------------------------------------


def auftrag_bauen(session: Session, uebergabe: Uebergabe, schluessel: str) -> Auftrag:
    ticket = session.get(Ticket, uebergabe.ticket_id)
    if ticket is None:
        raise EndgueltigerFehler("Ticket nicht mehr vorhanden")
    leistung = session.get(Leistung, ticket.leistung_id) if ticket.leistung_id else None
    oe = session.get(Organisationseinheit, ticket.queue_id) if ticket.queue_id else None
    anhaenge = session.scalars(
        select(TicketAnhang).join(TicketArtikel).where(TicketArtikel.ticket_id == ticket.id)
        .order_by(TicketAnhang.id)
    )
    return Auftrag(
        uebergabe_id=uebergabe.id, idempotenz_schluessel=schluessel, ticket_nummer=ticket.nummer,
        anliegen=ticket.anliegen, erstellt_am=ticket.erstellt_am, prioritaet=ticket.prioritaet.value,
        leistung={"id": leistung.id, "name": leistung.leistungsname, "leika": leistung.leika} if leistung else None,
        organisationseinheit={"id": oe.id, "name": oe.name, "email": oe.email} if oe else None,
        kontakt={"name": ticket.kontakt_name, "telefon": ticket.kontakt_telefon, "email": ticket.kontakt_email,
                 "einwilligung_am": ticket.einwilligung_am.isoformat() if ticket.einwilligung_am else None}
        if ticket.einwilligung else None,
        anhaenge=[Anhang(id=a.id, dateiname=a.dateiname, mimetyp=a.mimetyp, inhalt=a.inhalt, sha256=a.sha256)
                  for a in anhaenge],
    )


@dataclass
class Zustellung:
    """The worker's handler for the outbox kinds of this package."""

    registry: Registry
    einstellungen: tickets.TicketEinstellungen

    arten = (ART_ZUSTELLEN, ART_ABRUF)

    def ausfuehren(self, session: Session, eintrag: OutboxEintrag, ctx: Kontext) -> None:
        if eintrag.art == ART_ABRUF:
            return self._abrufen(session, eintrag, ctx)
        uebergabe = session.get(Uebergabe, eintrag.payload.get("uebergabe_id"))
        if uebergabe is None or uebergabe.status != UebergabeStatus.ausstehend:
            return  # nothing left to do (already delivered or given up)
        adapter = self.registry.adapter(uebergabe.adapter)
        if adapter is None:
            raise EndgueltigerFehler(f"Adapter {uebergabe.adapter} ist nicht mehr konfiguriert")
        uebergabe.versuche = eintrag.versuche + 1
        ergebnis = adapter.einreichen(auftrag_bauen(session, uebergabe, eintrag.idempotenz_schluessel or ""), ctx)
        uebergabe.status = UebergabeStatus.zugestellt
        uebergabe.externe_id = ergebnis.externe_id
        uebergabe.zugestellt_am = ctx.jetzt
        uebergabe.fehler = None
        ticket = session.get(Ticket, uebergabe.ticket_id)
        if ticket is not None and ticket.zustand != Zustand.geschlossen:
            tickets.ticket_aendern(session, ticket, version=None, benutzer=None, einstellungen=self.einstellungen,
                                   externe_vorgangs_id=ergebnis.externe_id, jetzt=ctx.jetzt)
            _historie(session, ticket, "uebergabe", "ausstehend", f"zugestellt an {uebergabe.adapter}", None,
                      ctx.jetzt)
        log.info("uebergabe_zugestellt", extra={"uebergabe_id": uebergabe.id, "adapter": uebergabe.adapter,
                                                "versuche": uebergabe.versuche})

    def _abrufen(self, session: Session, eintrag: OutboxEintrag, ctx: Kontext) -> None:
        uebergabe = session.get(Uebergabe, eintrag.payload.get("uebergabe_id"))
        adapter = self.registry.adapter(uebergabe.adapter) if uebergabe else None
        if uebergabe is None or adapter is None or not uebergabe.externe_id:
            return
        status = adapter.zustand_abrufen(uebergabe.externe_id, ctx)
        ticket = session.get(Ticket, uebergabe.ticket_id)
        if status is not None and ticket is not None:
            status_setzen(session, ticket, status, einstellungen=self.einstellungen, jetzt=ctx.jetzt)

    def aufraeumen(self, session: Session, jetzt: datetime) -> None:
        """Periodic housekeeping from the worker: forget callback signatures that are too old to be replayed."""
        callbacks_aufraeumen(session, vor=jetzt - CALLBACK_MERKEN)

    def fehlgeschlagen(self, session: Session, eintrag: OutboxEintrag, fehler: str, jetzt: datetime) -> None:
        """Permanent error or maximum age: the ticket goes back to the agents with the error shown."""
        if eintrag.art != ART_ZUSTELLEN:
            return
        uebergabe = session.get(Uebergabe, eintrag.payload.get("uebergabe_id"))
        if uebergabe is None or uebergabe.status != UebergabeStatus.ausstehend:
            return
        uebergabe.status = UebergabeStatus.fehlgeschlagen
        uebergabe.fehler = fehler[:2000]
        uebergabe.versuche = eintrag.versuche
        ticket = session.get(Ticket, uebergabe.ticket_id)
        if ticket is None:
            return
        _historie(session, ticket, "uebergabe", "ausstehend", f"fehlgeschlagen: {fehler[:300]}", None, jetzt)
        if ticket.zustand == Zustand.an_fachverfahren_uebergeben:
            tickets.ticket_aendern(session, ticket, version=None, benutzer=None, einstellungen=self.einstellungen,
                                   status=Zustand.in_bearbeitung, jetzt=jetzt)
        log.warning("uebergabe_fehlgeschlagen", extra={"uebergabe_id": uebergabe.id, "adapter": uebergabe.adapter})


# --- callbacks and citizen status -------------------------------------------------------------------------


def status_setzen(session: Session, ticket: Ticket, status: Buergerstatus, *,
                  einstellungen: tickets.TicketEinstellungen, text: str | None = None,
                  jetzt: datetime | None = None) -> bool:
    """Advance the ticket by a back end's status. COMPLETED closes the case as "erledigt"; other statuses set
    the citizen status directly (history field `buergerstatus`). Returns whether anything changed."""
    from servicecenter.status.service import buergerstatus_geaendert  # citizen e-mail (status package)

    zeit = jetzt or _jetzt()
    if ticket.zustand == Zustand.geschlossen:
        return False
    geaendert = False
    if status == Buergerstatus.COMPLETED and erlaubt(ticket.zustand, Zustand.erledigt):
        # ticket_aendern queues the citizen's status e-mail itself
        tickets.ticket_aendern(session, ticket, version=None, benutzer=None, einstellungen=einstellungen,
                               status=Zustand.erledigt, jetzt=zeit)
        geaendert = True
    elif status != ticket.buergerstatus:
        buergerstatus_geaendert(session, ticket, status, jetzt=zeit)
        _historie(session, ticket, "buergerstatus", ticket.buergerstatus.value, status.value, None, zeit)
        ticket.buergerstatus = status
        ticket.aktualisiert_am = zeit
        geaendert = True
    if text:
        tickets.artikel_anlegen(session, ticket, art=ArtikelArt.notiz, text=f"Rückmeldung des Fachverfahrens: {text}",
                                benutzer=None, einstellungen=einstellungen, jetzt=zeit)
    session.flush()
    return geaendert


def callback_verarbeiten(session: Session, *, adapter_name: str, headers: Any, body: bytes, registry: Registry,
                         einstellungen: tickets.TicketEinstellungen, jetzt: datetime | None = None) -> Ticket:
    """Verify and apply one callback. Raises UngueltigerCallback (→ 401) for unknown adapters, bad or old
    signatures, replays and unknown cases; nothing is changed then."""
    zeit = jetzt or _jetzt()
    adapter = registry.adapter(adapter_name)
    if adapter is None:
        raise UngueltigerCallback("unbekannter Adapter")
    meldung = adapter.callback_lesen(headers, body, jetzt=zeit)
    bed = [Uebergabe.adapter == adapter.name]
    if meldung.externe_id:
        bed.append(Uebergabe.externe_id == meldung.externe_id)
    else:
        bed.append(Uebergabe.ticket_id == select(Ticket.id).where(Ticket.nummer == meldung.ticket_nummer)
                   .scalar_subquery())
    uebergabe = session.scalars(select(Uebergabe).where(*bed).order_by(Uebergabe.id.desc()).limit(1)).first()
    if uebergabe is None:
        raise UngueltigerCallback("unbekannter Vorgang")
    if meldung.ereignis_id and session.scalar(select(UebergabeCallback.id).where(
            UebergabeCallback.adapter == adapter.name, UebergabeCallback.ereignis_id == meldung.ereignis_id)):
        raise UngueltigerCallback("Ereignis schon verarbeitet")
    try:
        with session.begin_nested():
            session.add(UebergabeCallback(adapter=adapter.name, signatur=meldung.signatur[:200],
                                          ereignis_id=meldung.ereignis_id, empfangen_am=zeit))
    except IntegrityError as exc:
        raise UngueltigerCallback("Callback schon verarbeitet") from exc
    ticket = session.get(Ticket, uebergabe.ticket_id)
    if ticket is None:
        raise UngueltigerCallback("unbekannter Vorgang")
    if meldung.status is None:
        # The callback only says "something happened": the worker reads the case's state from the back end.
        outbox.in_outbox(session, art=ART_ABRUF, payload={"uebergabe_id": uebergabe.id}, jetzt=zeit)
    else:
        status_setzen(session, ticket, meldung.status, einstellungen=einstellungen, text=meldung.text, jetzt=zeit)
    log.info("uebergabe_callback", extra={"uebergabe_id": uebergabe.id, "adapter": adapter.name})
    return ticket


def callbacks_aufraeumen(session: Session, *, vor: datetime) -> int:
    """Seen signatures older than the acceptance window can no longer be replayed: drop them."""
    from sqlalchemy import delete

    return session.execute(delete(UebergabeCallback).where(UebergabeCallback.empfangen_am < vor)).rowcount or 0


__all__ = ["ART_ABRUF", "ART_ZUSTELLEN", "OutboxStatus", "UebergabeNichtMoeglich", "Zustellung",
           "auftrag_bauen", "callback_verarbeiten", "callbacks_aufraeumen", "erneut_versuchen", "letzte_uebergabe",
           "status_setzen", "uebergeben"]

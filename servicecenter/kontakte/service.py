"""Log a citizen contact; a forwarded contact or an agreed call-back creates a ticket in the same transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from servicecenter.auth.models import Benutzer
from servicecenter.kontakte.models import Ergebnis, Kontakt
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import Kanal, Prioritaet
from wissensdatenbank.basis import jetzt as _jetzt
from wissensdatenbank.models import Leistung


def kontakt_anlegen(
    session: Session,
    *,
    kanal: Kanal,
    ergebnis: Ergebnis,
    benutzer: Benutzer | None,
    einstellungen: tickets.TicketEinstellungen,
    leistung_id: int | None = None,
    anliegen: str = "",
    dauer_sekunden: int | None = None,
    rueckruf_am: datetime | None = None,
    queue_id: int | None = None,
    prioritaet: Prioritaet = Prioritaet.normal,
    anruf_id: str | None = None,
    buerger: tickets.BuergerDaten | None = None,
    jetzt: datetime | None = None,
) -> Kontakt:
    """Log one contact. Raises tickets.UngueltigeEingabe (German message) when the outcome lacks what it needs."""
    zeit = jetzt or _jetzt()
    ergebnis = Ergebnis(ergebnis)
    anliegen = (anliegen or "").strip()
    tickets.pruefe_einwilligung(buerger)
    if leistung_id is not None and session.get(Leistung, leistung_id) is None:
        raise tickets.UngueltigeEingabe(f"Die Leistung {leistung_id} gibt es nicht.")
    braucht_ticket = ergebnis in (Ergebnis.weitergeleitet, Ergebnis.rueckruf_vereinbart)
    if braucht_ticket and not anliegen:
        raise tickets.UngueltigeEingabe(
            "Für eine Weiterleitung oder einen Rückruf beschreiben Sie bitte das Anliegen."
        )
    if ergebnis == Ergebnis.rueckruf_vereinbart:
        if rueckruf_am is None:
            raise tickets.UngueltigeEingabe("Bitte geben Sie an, wann zurückgerufen werden soll (rueckruf_am).")
        if buerger is None or not buerger.telefon:
            raise tickets.UngueltigeEingabe(
                "Für einen Rückruf braucht es eine Telefonnummer (mit Einwilligung der anrufenden Person)."
            )
    elif rueckruf_am is not None:
        raise tickets.UngueltigeEingabe("Ein Rückrufzeitpunkt passt nur zum Ergebnis „Rückruf vereinbart“.")
    if rueckruf_am is not None and rueckruf_am.tzinfo is None:
        raise tickets.UngueltigeEingabe("Der Rückrufzeitpunkt braucht eine Zeitzone (z. B. 2026-11-23T10:00:00+01:00).")
    if queue_id is not None and not braucht_ticket:
        raise tickets.UngueltigeEingabe("Eine Queue passt nur, wenn das Anliegen weitergeleitet wird.")

    ticket = None
    if braucht_ticket:
        ticket = tickets.ticket_anlegen(
            session, anliegen=anliegen, kanal=kanal, benutzer=benutzer, einstellungen=einstellungen,
            leistung_id=leistung_id, prioritaet=prioritaet, queue_id=queue_id, buerger=buerger,
            rueckruf_am=rueckruf_am, jetzt=zeit,
        )
    einw = buerger is not None and buerger.einwilligung and buerger.hat_daten
    kontakt = Kontakt(
        kanal=Kanal(kanal), ergebnis=ergebnis, leistung_id=leistung_id, anliegen=anliegen,
        dauer_sekunden=dauer_sekunden, rueckruf_am=rueckruf_am, ticket_id=ticket.id if ticket else None,
        anruf_id=anruf_id or None,
        kontakt_name=buerger.name if einw else None,
        kontakt_telefon=buerger.telefon if einw else None,
        kontakt_email=buerger.email if einw else None,
        einwilligung=einw, einwilligung_am=zeit if einw else None,
        benutzer_id=benutzer.id if benutzer else None, erstellt_am=zeit,
    )
    session.add(kontakt)
    session.flush()
    return kontakt

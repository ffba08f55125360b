"""POST /api/v1/kontakte: log a contact; forwarding or a call-back creates a ticket."""


from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from servicecenter.kontakte import service
from servicecenter.kontakte.schemas import KontaktCreate, KontaktRead
from servicecenter.tickets import service as tickets
from servicecenter.tickets.api import Agent, Einst, fehler, ticket_read, uhr
from servicecenter.tickets.models import Ticket


def make_router(*, get_session: Callable[..., Session]) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["Kontakte"])
    Sitzung = Annotated[Session, Depends(get_session, scope="function")]

    @router.post("/kontakte", status_code=201, response_model=KontaktRead, summary="Kontakt erfassen")
    def anlegen(daten: KontaktCreate, benutzer: Agent, session: Sitzung, einst: Einst,
                request: Request) -> KontaktRead:
        now = uhr(request)
        k = daten.kontakt
        try:
            kontakt = service.kontakt_anlegen(
                session, kanal=daten.kanal, ergebnis=daten.ergebnis, benutzer=benutzer, einstellungen=einst,
                leistung_id=daten.leistung_id, anliegen=daten.anliegen, dauer_sekunden=daten.dauer_sekunden,
                rueckruf_am=daten.rueckruf_am, queue_id=daten.queue_id, prioritaet=daten.prioritaet,
                anruf_id=daten.anruf_id,
                buerger=tickets.BuergerDaten(k.name, k.telefon, k.email, k.einwilligung) if k else None,
                jetzt=now,
            )
        except tickets.TicketFehler as exc:
            raise fehler(exc, einst, now, session) from exc
        ticket = session.get(Ticket, kontakt.ticket_id) if kontakt.ticket_id else None
        return KontaktRead(
            id=kontakt.id, kanal=kontakt.kanal, ergebnis=kontakt.ergebnis, leistung_id=kontakt.leistung_id,
            anliegen=kontakt.anliegen, dauer_sekunden=kontakt.dauer_sekunden, rueckruf_am=kontakt.rueckruf_am,
            erstellt_am=kontakt.erstellt_am,
            ticket=ticket_read(ticket, einst, now, session) if ticket else None,
        )

    return router

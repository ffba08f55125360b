"""Desk integration of the e-mail channel: the suggested Leistungen of an e-mail ticket and the one-click answer.

The ticket page (servicecenter/templates/desk/ticket.html) asks the template global `email_vorschlaege(t)` for
the suggestions; one click on a suggestion posts here and adds a message article with the answer text, which
the outbox kind "ticket_nachricht" delivers to the citizen (threaded, with the ticket tag)."""


from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from kanaele.email.aktionen import VORLAGEN
from kanaele.email.models import MailEingang
from servicecenter.auth.deps import Rolle, benutzer_mit_rolle, uhr
from servicecenter.auth.models import Benutzer
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import ArtikelArt, Ticket
from wissensdatenbank.models import Leistung, Organisationseinheit, Zustaendigkeit

Agent = Annotated[Benutzer, Depends(benutzer_mit_rolle(Rolle.agent))]


def vorschlaege_fuer(session: Session, ticket: Ticket) -> list[dict]:
    """The stored triage suggestions of the ticket's latest inbound mail that has some (existing Leistungen)."""
    # JSON null and SQL NULL both mean "none": filter in Python, newest mail first.
    vorschlaege: list = next((v for v in session.scalars(
        select(MailEingang.vorschlaege).where(MailEingang.ticket_id == ticket.id)
        .order_by(MailEingang.id.desc()).limit(20)
    ) if v), [])
    ids = [v.get("leistung_id") for v in vorschlaege if isinstance(v, dict)]
    namen = dict(session.execute(select(Leistung.id, Leistung.leistungsname).where(Leistung.id.in_(ids))).all())
    return [{**v, "name": namen[v["leistung_id"]]} for v in vorschlaege
            if isinstance(v, dict) and v.get("leistung_id") in namen]


def email_vorschlaege(ticket: Ticket) -> list[dict]:
    """Jinja helper for the desk ticket page."""
    session = object_session(ticket)
    return vorschlaege_fuer(session, ticket) if session is not None else []


def antwort_text(session: Session, ticket: Ticket, leistung: Leistung, *, agent: str, basis_url: str) -> str:
    from jinja2 import Environment, FileSystemLoader

    stellen = list(session.scalars(
        select(Organisationseinheit).join(Zustaendigkeit, Zustaendigkeit.organisationseinheit_id
                                          == Organisationseinheit.id)
        .where(Zustaendigkeit.leistung_id == leistung.id, Organisationseinheit.aktiv).limit(2)
    ))
    name = (ticket.kontakt_name or "").strip()
    env = Environment(loader=FileSystemLoader(VORLAGEN), autoescape=False, keep_trailing_newline=True)
    return env.get_template("antwort_agent.txt.j2").render(
        anrede="Guten Tag" + (f" {name}" if name and len(name) <= 80 else ""), l=leistung,
        kurz=(leistung.kurztext or leistung.teaser or "").strip(), stellen=stellen, agent=agent,
        link=f"{basis_url.rstrip('/')}/leistungen/{leistung.id}",
    ).strip()


def make_router(*, get_session: Callable[..., Session]) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    SessionDep = Annotated[Session, Depends(get_session, scope="function")]

    @router.post("/desk/tickets/{nummer}/email-antwort", response_class=HTMLResponse)
    def email_antwort(request: Request, session: SessionDep, benutzer: Agent, nummer: str,
                      version: Annotated[int, Form(ge=0, lt=2**31)],
                      leistung_id: Annotated[int, Form(ge=1, lt=2**31)]):
        """One click on a suggestion: the answer goes to the citizen as a message article."""
        try:
            ticket = tickets.ticket_fuer_benutzer(session, nummer[:40], benutzer)
        except tickets.TicketFehler as exc:
            raise HTTPException(exc.status, exc.meldung) from exc
        if leistung_id not in {v["leistung_id"] for v in vorschlaege_fuer(session, ticket)}:
            raise HTTPException(422, "Diese Leistung ist kein Vorschlag für dieses Ticket.")
        if not ticket.kontakt_email:
            raise HTTPException(422, "Zu diesem Ticket ist keine E-Mail-Adresse gespeichert.")
        settings = request.app.state.settings
        einst = tickets.TicketEinstellungen.aus(settings)
        leistung = session.get(Leistung, leistung_id)
        text = antwort_text(session, ticket, leistung, agent=benutzer.anzeigename or benutzer.name,
                            basis_url=settings.oeffentliche_url)
        try:
            if ticket.leistung_id is None:
                tickets.ticket_aendern(session, ticket, version=version, benutzer=benutzer, leistung_id=leistung_id,
                                       einstellungen=einst, jetzt=uhr(request))
            elif version != ticket.version:
                raise tickets.VersionKonflikt(tickets.KONFLIKT_TEXT.format(v=ticket.version), ticket)
            tickets.artikel_anlegen(session, ticket, art=ArtikelArt.nachricht, text=text, benutzer=benutzer,
                                    einstellungen=einst, jetzt=uhr(request))
        except tickets.TicketFehler as exc:
            session.rollback()
            raise HTTPException(exc.status, exc.meldung) from exc
        return RedirectResponse(f"/desk/tickets/{ticket.nummer}?meldung=notiz", status_code=303)

    return router


def einrichten(app: FastAPI, *, get_session: Callable[..., Session]) -> None:
    """Wire the e-mail desk route and the template helper (called once from the composition root)."""
    from servicecenter.desk.vorlagen import templates

    app.include_router(make_router(get_session=get_session))
    templates.env.globals["email_vorschlaege"] = email_vorschlaege

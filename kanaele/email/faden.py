"""Threading: find the ticket an inbound mail belongs to.

In this order: Message-IDs in In-Reply-To/References that we know (sent or received), the subject tag
[115-YYYY-NNNNNN], and a reply prefix (Re:, AW:, WG:, Fwd:, Re[2]: …) on the subject of an earlier mail.
Always scoped to the sender: a citizen's mail joins a ticket only if that ticket is theirs (its contact
address, or an address we exchanged mail with on it), so a stranger who quotes a subject or guesses a number
is never merged into someone else's ticket. Bounces are the exception: they come from a mail server and are
matched only by the Message-ID of our own mail they return.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kanaele.email.kontext import Kontext
from kanaele.email.models import MailEingang, MailNachricht
from servicecenter.tickets.models import Ticket

TAG = re.compile(r"\[\s*(115-\d{4}-\d{6})\s*\]")
PRAEFIX = re.compile(
    r"^\s*(?:(?:re|aw|wg|fw|fwd|antw|antwort|wtr|sv|vs|tr|rif|r)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)


def hat_antwort_praefix(betreff: str) -> bool:
    return bool(PRAEFIX.match(betreff or ""))


def betreff_normal(betreff: str) -> str:
    """Subject without reply/forward prefixes, ticket tag and extra spaces, lower-case."""
    b = TAG.sub(" ", betreff or "")
    b = PRAEFIX.sub("", b)
    b = PRAEFIX.sub("", b.strip())  # "AW: [tag] Re: x"
    return " ".join(b.split()).lower()


def ticket_nummer_aus(betreff: str) -> str | None:
    m = TAG.search(betreff or "")
    return m.group(1) if m else None


def _endticket(session: Session, ticket: Ticket | None) -> Ticket | None:
    """Follow merges to the surviving ticket."""
    gesehen = set()
    while ticket is not None and ticket.zusammengefuehrt_in_id and ticket.id not in gesehen:
        gesehen.add(ticket.id)
        ticket = session.get(Ticket, ticket.zusammengefuehrt_in_id)
    return ticket


def gehoert_absender(session: Session, ticket: Ticket, absender: str | None) -> bool:
    """True if `absender` is the ticket's contact or took part in its mail exchange."""
    if not absender:
        return False
    if ticket.kontakt_email and ticket.kontakt_email.lower() == absender:
        return True
    return session.scalar(
        select(MailNachricht.id).where(MailNachricht.ticket_id == ticket.id, MailNachricht.adresse == absender)
        .limit(1)
    ) is not None or session.scalar(
        select(MailEingang.id).where(MailEingang.ticket_id == ticket.id, MailEingang.absender == absender).limit(1)
    ) is not None


def _ueber_message_ids(ctx: Kontext, ids: list[str], *, nur_eigene: bool) -> Ticket | None:
    if not ids:
        return None
    session = ctx.session
    treffer = {n.message_id: n for n in session.scalars(select(MailNachricht).where(MailNachricht.message_id.in_(ids)))}
    for mid in reversed(ids):  # the newest reference first
        n = treffer.get(mid)
        if n is None:
            continue
        if nur_eigene and n.richtung != "aus":
            continue
        ticket = _endticket(session, session.get(Ticket, n.ticket_id))
        if ticket is None:
            continue
        if nur_eigene or gehoert_absender(session, ticket, ctx.mail.von_adresse):
            return ticket
    return None


def faden_finden(ctx: Kontext) -> None:
    """Filter: set ctx.ticket (and ctx.faden_grund) when the mail continues an existing ticket."""
    mail = ctx.mail
    session = ctx.session
    if ctx.klasse == "bounce":
        ids = list(ctx.bounce.original_message_ids if ctx.bounce else []) + mail.references + mail.in_reply_to
        ticket = _ueber_message_ids(ctx, ids, nur_eigene=True)
        if ticket is not None:
            ctx.ticket, ctx.faden_grund = ticket, "bounce message-id"
        return

    ids = mail.references + [i for i in mail.in_reply_to if i not in mail.references]
    ticket = _ueber_message_ids(ctx, ids, nur_eigene=False)
    if ticket is not None:
        ctx.ticket, ctx.faden_grund = ticket, "message-id"
        return

    nummer = ticket_nummer_aus(mail.betreff)
    if nummer:
        ticket = _endticket(session, session.scalar(select(Ticket).where(Ticket.nummer == nummer)))
        if ticket is not None and gehoert_absender(session, ticket, mail.von_adresse):
            ctx.ticket, ctx.faden_grund = ticket, "betreff-tag"
            return

    if hat_antwort_praefix(mail.betreff) and mail.von_adresse:
        normal = betreff_normal(mail.betreff)
        if not normal:
            return
        seit = ctx.jetzt - timedelta(days=ctx.einstellungen.faden_tage)
        kandidaten = session.execute(
            select(MailEingang.betreff, MailEingang.ticket_id)
            .where(
                MailEingang.absender == mail.von_adresse,
                MailEingang.ticket_id.is_not(None),
                MailEingang.empfangen_am >= seit,
                MailEingang.id != ctx.eingang.id,
                or_(MailEingang.status == "verarbeitet", MailEingang.status == "zurueckgehalten"),
            )
            .order_by(MailEingang.empfangen_am.desc(), MailEingang.id.desc())
            .limit(200)
        ).all()
        for betreff, ticket_id in kandidaten:
            if betreff_normal(betreff or "") == normal:
                ticket = _endticket(session, session.get(Ticket, ticket_id))
                if ticket is not None:
                    ctx.ticket, ctx.faden_grund = ticket, "betreff"
                    return

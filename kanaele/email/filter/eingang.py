"""The first filters: parse the stored raw message, drop duplicates, hold senders over the daily limit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from kanaele.email.kontext import Kontext
from kanaele.email.models import MailEingang
from kanaele.email.parsen import parsen


def parsen_filter(ctx: Kontext) -> None:
    """Filter: parse the raw bytes (never raises) and note sender, subject and Message-ID on the record."""
    ctx.mail = parsen(ctx.roh, ctx.einstellungen.grenzen)
    e = ctx.eingang
    e.message_id = ctx.mail.message_id
    e.absender = ctx.mail.von_adresse
    e.betreff = (ctx.mail.betreff or "")[:998] or None


def duplikat_pruefen(ctx: Kontext) -> None:
    """Filter: the same message (Message-ID, else the same bytes) was already handled → ignore this copy.
    Earlier copies that failed or were never processed do not count: this copy gets its chance."""
    e = ctx.eingang
    fertig = ("verarbeitet", "zurueckgehalten", "ignoriert")
    if e.message_id:
        bed = MailEingang.message_id == e.message_id
    else:
        bed = MailEingang.sha256 == e.sha256
    frueher = ctx.session.scalar(
        select(MailEingang.id).where(bed, MailEingang.id != e.id, MailEingang.status.in_(fertig)).limit(1)
    )
    if frueher is not None:
        ctx.gruende.append(f"duplikat von {frueher}")
        ctx.beenden(status="ignoriert", aktion="duplikat")


def rate_limit_pruefen(ctx: Kontext) -> None:
    """Filter: more than `max_pro_absender_tag` mails from one address within 24 hours are held for review
    (a mail storm, a misconfigured auto-responder). Bounces are exempt: they are about our own mails."""
    absender = ctx.mail.von_adresse
    if not absender or ctx.klasse in ("bounce", "eigene"):
        return
    seit = ctx.jetzt - timedelta(hours=24)
    anzahl = ctx.session.scalar(
        select(func.count(MailEingang.id)).where(
            MailEingang.absender == absender,
            MailEingang.empfangen_am >= seit,
            MailEingang.id != ctx.eingang.id,
            MailEingang.status.in_(("verarbeitet", "zurueckgehalten")),
        )
    ) or 0
    if anzahl >= ctx.einstellungen.max_pro_absender_tag:
        ctx.gruende.append(f"rate-limit: {anzahl} mails in 24 h")
        ctx.beenden(status="zurueckgehalten", aktion="rate_limit")

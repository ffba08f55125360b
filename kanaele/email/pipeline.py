"""The receiving pipeline: raw mail in, ticket/article/answer out.

The raw message is committed first (`annehmen`), then processed by an ordered list of small filters over one
context (`PIPELINE`, the order is this list). A filter may end the run (`ctx.beenden`). Any exception rolls the
processing back and leaves the record with status "fehler", the reason and the raw bytes: `verarbeiten(id)` can
run again at any time (`erneut_verarbeiten()` for all failed ones).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, undefer

from kanaele.email import speicher
from kanaele.email.aktionen import aktion_ausfuehren
from kanaele.email.faden import faden_finden
from kanaele.email.filter.automatik import automatik_erkennen
from kanaele.email.filter.eingang import duplikat_pruefen, parsen_filter, rate_limit_pruefen
from kanaele.email.filter.zitate import zitate_entfernen
from kanaele.email.kontext import Kontext, MailEinstellungen
from kanaele.email.models import MailEingang
from kanaele.email.triage import triage_filter
from servicecenter.tickets.service import TicketEinstellungen
from wissensdatenbank.basis import jetzt as _jetzt

log = logging.getLogger(__name__)

Filter = Callable[[Kontext], None]

# The order of the pipeline, in one place.
PIPELINE: list[tuple[str, Filter]] = [
    ("parsen", parsen_filter),
    ("duplikat", duplikat_pruefen),
    ("automatik", automatik_erkennen),
    ("rate_limit", rate_limit_pruefen),
    ("faden", faden_finden),
    ("zitate", zitate_entfernen),
    ("triage", triage_filter),
    ("aktion", aktion_ausfuehren),
]


@dataclass
class Ergebnis:
    eingang_id: int
    status: str
    aktion: str | None = None
    klasse: str | None = None
    ticket_nummer: str | None = None
    fehler: str | None = None


class MailVerarbeitung:
    def __init__(self, sessions: Callable[[], Session], wdb, settings, *, uhr: Callable[[], datetime] = _jetzt,
                 pipeline: Sequence[tuple[str, Filter]] | None = None) -> None:
        self.sessions = sessions
        self.wdb = wdb
        self.settings = settings
        self.uhr = uhr
        self.einstellungen = MailEinstellungen.aus(settings)
        self.ticket_einstellungen = TicketEinstellungen.aus(settings)
        self.pipeline = list(pipeline or PIPELINE)

    # --- entry points ---------------------------------------------------------------------------------------

    def annehmen(self, roh: bytes, *, quelle: str, umschlag_von: str | None = None,
                 umschlag_an: Sequence[str] = ()) -> int:
        """Store raw (own committed transaction), then verarbeiten(); returns eingang id. Never raises on bad
        mail: a failure in processing leaves status "fehler" with the raw message kept."""
        with self.sessions() as session:
            eingang = speicher.roh_speichern(session, roh, quelle=quelle, umschlag_von=umschlag_von,
                                             umschlag_an=umschlag_an, jetzt=self.uhr())
            session.commit()
            eingang_id = eingang.id
        self.verarbeiten(eingang_id)
        return eingang_id

    def verarbeiten(self, eingang_id: int, *, ohne_rate_limit: bool = False) -> Ergebnis:
        """Run the pipeline over one stored mail (again). Failures → status "fehler", raw kept."""
        with self.sessions() as session:
            eingang = session.get(MailEingang, eingang_id, options=[undefer(MailEingang.roh)])
            if eingang is None:
                return Ergebnis(eingang_id, "fehler", fehler="unbekannte Eingangs-ID")
            roh = eingang.roh
            if roh is None:
                return Ergebnis(eingang_id, eingang.status, eingang.aktion, eingang.klasse,
                                fehler="Rohmail wurde nach Ablauf der Aufbewahrungsfrist gelöscht")
            jetzt = self.uhr()
            ctx = Kontext(session=session, eingang=eingang, roh=roh, einstellungen=self.einstellungen,
                          ticket_einstellungen=self.ticket_einstellungen, wdb=self.wdb, jetzt=jetzt)
            schritt = ""
            try:
                for schritt, f in self.pipeline:
                    if ohne_rate_limit and schritt == "rate_limit":
                        continue
                    f(ctx)
                    if ctx.fertig:
                        break
                eingang.status = ctx.status
                eingang.aktion = ctx.aktion
                eingang.klasse = ctx.klasse
                eingang.fehler = None
                eingang.verarbeitet_am = jetzt
                nummer = ctx.ticket.nummer if ctx.ticket is not None and eingang.ticket_id else None
                session.commit()
            except Exception as exc:  # noqa: BLE001 - any failure must leave a reprocessable record
                session.rollback()
                grund = f"{schritt}: {type(exc).__name__}: {str(exc)[:500]}"
                session.execute(update(MailEingang).where(MailEingang.id == eingang_id).values(
                    status="fehler", fehler=grund, verarbeitet_am=jetzt))
                session.commit()
                log.warning("mail_fehler", extra={"eingang_id": eingang_id, "schritt": schritt,
                                                  "fehlertyp": type(exc).__name__})
                return Ergebnis(eingang_id, "fehler", fehler=grund)
            log.info("mail_verarbeitet", extra={"eingang_id": eingang_id, "status": ctx.status,
                                                "aktion": ctx.aktion, "klasse": ctx.klasse})
            return Ergebnis(eingang_id, ctx.status, ctx.aktion, ctx.klasse, nummer)

    def erneut_verarbeiten(self, *, status: Sequence[str] = ("fehler", "neu"), limit: int = 1000) -> list[Ergebnis]:
        """Process every stored mail in the given states again (after a fix, or after a crash)."""
        with self.sessions() as session:
            ids = list(session.scalars(select(MailEingang.id).where(MailEingang.status.in_(list(status)))
                                       .order_by(MailEingang.id).limit(limit)))
        return [self.verarbeiten(i) for i in ids]

    def freigeben(self, eingang_id: int) -> Ergebnis:
        """Process a mail held by the rate limit after a person reviewed it."""
        return self.verarbeiten(eingang_id, ohne_rate_limit=True)


# --- data protection: raw mails are kept only for a while ------------------------------------------------------


def roh_loeschen(session: Session, *, jetzt: datetime, tage: int) -> int:
    """Delete the raw bytes of mails received more than `tage` days ago (the record and the ticket stay).
    Returns how many were deleted. The caller commits."""
    grenze = jetzt - timedelta(days=tage)
    ergebnis = session.execute(
        update(MailEingang)
        .where(MailEingang.empfangen_am < grenze, MailEingang.roh.is_not(None))
        .values(roh=None, roh_geloescht_am=jetzt)
        .execution_options(synchronize_session=False)
    )
    return int(ergebnis.rowcount or 0)


class MailAufbewahrung:
    """Worker housekeeping hook (servicecenter.worker.Worker.aufraeumen): applies the retention period."""

    arten: tuple[str, ...] = ()

    def __init__(self, tage: int) -> None:
        self.tage = tage

    def aufraeumen(self, session: Session, jetzt: datetime) -> None:
        n = roh_loeschen(session, jetzt=jetzt, tage=self.tage)
        if n:
            log.info("mail_roh_geloescht", extra={"anzahl": n, "tage": self.tage})

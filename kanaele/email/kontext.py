"""The one context every filter of the receiving pipeline reads and writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from kanaele.email.models import MailEingang
from kanaele.email.parsen import GeparsteMail, Grenzen

if TYPE_CHECKING:
    from servicecenter.tickets.models import Ticket
    from servicecenter.tickets.service import TicketEinstellungen


@dataclass(frozen=True)
class MailEinstellungen:
    """The settings the pipeline reads (built once from servicecenter Settings)."""

    absender: str = "115@halle.example"
    domain: str = "halle.example"
    oeffentliche_url: str = "http://127.0.0.1:8115"
    auto_antwort: bool = True
    auto_antwort_arten: tuple[str, ...] = ("leistung",)
    auto_antwort_pause_minuten: int = 60
    max_pro_absender_tag: int = 40
    wiedereroeffnen: bool = True
    faden_tage: int = 30
    vorschlaege: int = 3
    roh_aufbewahren_tage: int = 90
    region: str | None = None
    zeitzone: str = "Europe/Berlin"
    grenzen: Grenzen = field(default_factory=Grenzen)
    settings: Any = field(default=None, compare=False, repr=False)  # for A2's mail_vormerken (Message-ID domain)

    @classmethod
    def aus(cls, settings) -> MailEinstellungen:
        return cls(
            absender=settings.mail_absender.lower(),
            domain=settings.mail_domain.lower(),
            oeffentliche_url=settings.oeffentliche_url.rstrip("/"),
            auto_antwort=settings.mail_auto_antwort,
            auto_antwort_arten=tuple(settings.mail_auto_antwort_arten),
            auto_antwort_pause_minuten=settings.mail_auto_antwort_pause_minuten,
            max_pro_absender_tag=settings.mail_max_pro_absender_tag,
            wiedereroeffnen=settings.mail_wiedereroeffnen,
            faden_tage=settings.mail_faden_tage,
            vorschlaege=settings.mail_vorschlaege,
            roh_aufbewahren_tage=settings.mail_roh_aufbewahren_tage,
            zeitzone=settings.zeitzone,
            grenzen=Grenzen(anhang_max_bytes=settings.anhang_max_bytes,
                            anhang_max_anzahl=settings.mail_anhang_max_anzahl),
            region=settings.region,
            settings=settings,
        )


@dataclass
class BounceInfo:
    hart: bool
    empfaenger: list[str] = field(default_factory=list)
    status: str | None = None  # enhanced status code, e.g. 5.1.1
    grund: str = ""  # our short reason: unbekannt, postfach_voll, abgelehnt, zeitueberschreitung, …
    original_message_ids: list[str] = field(default_factory=list)


@dataclass
class Kontext:
    session: Session
    eingang: MailEingang
    roh: bytes
    einstellungen: MailEinstellungen
    ticket_einstellungen: TicketEinstellungen
    wdb: Any  # wissensdatenbank.service.Wissensdatenbank (duck-typed: .suche(frage, limit=…, snippets=False))
    jetzt: datetime
    mail: GeparsteMail = field(default_factory=GeparsteMail)
    # Classification: buerger (a person wrote) or an automatic kind; automatic mail is never answered.
    klasse: str = "buerger"
    gruende: list[str] = field(default_factory=list)
    keine_auto_antwort: bool = False  # e.g. X-Auto-Response-Suppress: the sender asks for no automatic answer
    bounce: BounceInfo | None = None
    ticket: Ticket | None = None
    faden_grund: str | None = None  # how the ticket was found: message-id, tag, betreff
    neuer_text: str = ""  # body without quotes and signature (what the citizen wrote this time)
    triage: Any = None  # kanaele.email.triage.TriageErgebnis
    # Outcome
    status: str = "verarbeitet"
    aktion: str | None = None
    fertig: bool = False

    @property
    def automatisch(self) -> bool:
        return self.klasse != "buerger"

    def beenden(self, *, status: str, aktion: str) -> None:
        """Stop the pipeline after this filter."""
        self.status, self.aktion, self.fertig = status, aktion, True

"""Citizen status: access codes, the citizen-facing view of a ticket, status e-mails via the outbox, and a
sliding-window limit for look-ups.

Plain functions over a session (never commit). Nothing here returns personal data, internal notes or agent
names: the citizen view is built from the status history only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicecenter.outbox.service import in_outbox
from servicecenter.tickets import nummern
from servicecenter.tickets.models import Ticket, TicketHistorie
from servicecenter.tickets.zustaende import BUERGERSTATUS, Buergerstatus, Zustand
from wissensdatenbank.basis import jetzt as _jetzt
from wissensdatenbank.models import Leistung

# --- access codes -----------------------------------------------------------------------------------------

# No 0/O, 1/I/L: codes are read out on the phone and typed from paper.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LAENGE = 12  # 31^12 ≈ 2^59
# PBKDF2 slows down guessing from a stolen hash. The code is random (secrets) with ~59 bits, not a password a
# person chose: no dictionary helps, a brute force needs ~2^58 tries on average, so 1 000 iterations (~2^68 hash
# operations) put it out of reach as surely as 10 000 did, at a tenth of the cost per ticket (every ticket gets a
# code, the e-mail channel creates them in bulk). Stored hashes carry their own count (`pbkdf2_sha256$N$…`), so
# codes hashed earlier with 10 000 keep working.
_ITERATIONEN = 1_000
OUTBOX_ART = "status_email"


def zugangscode_erzeugen() -> str:
    """A random code (secrets), shown as XXXX-XXXX-XXXX; unrelated to the ticket number."""
    roh = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LAENGE))
    return "-".join(roh[i:i + 4] for i in range(0, CODE_LAENGE, 4))


def zugangscode_normalisieren(code: str) -> str:
    """Case, blanks and hyphens do not matter when the citizen types the code."""
    return "".join(ch for ch in code.upper() if ch.isalnum())[:64]


def zugangscode_hashen(code: str, *, salz: bytes | None = None, iterationen: int = _ITERATIONEN) -> str:
    salz = salz if salz is not None else secrets.token_bytes(16)
    wert = hashlib.pbkdf2_hmac("sha256", zugangscode_normalisieren(code).encode(), salz, iterationen)
    return f"pbkdf2_sha256${iterationen}${salz.hex()}${wert.hex()}"


# Compared against when the number is unknown, so that answer takes as long as a wrong code.
_ATTRAPPE = zugangscode_hashen("ATTRAPPE-ATTRAPPE", salz=b"\x00" * 16)


def zugangscode_pruefen(gespeichert: str | None, code: str) -> bool:
    """Constant-time check; always does the full hash work, also for a missing hash."""
    ziel = gespeichert or _ATTRAPPE
    try:
        _verfahren, iterationen, salz_hex, wert_hex = ziel.split("$")
        salz, erwartet = bytes.fromhex(salz_hex), bytes.fromhex(wert_hex)
        n = int(iterationen)
    except ValueError:
        _verfahren, n, salz, erwartet = "", _ITERATIONEN, b"\x00" * 16, b""
    wert = hashlib.pbkdf2_hmac("sha256", zugangscode_normalisieren(code).encode(), salz, n)
    return hmac.compare_digest(wert, erwartet) and gespeichert is not None


def zugangscode_vergeben(ticket: Ticket) -> str:
    """Give the ticket a new access code: the hash is stored, the code itself is only returned (and kept on the
    object as the transient attribute `ticket.zugangscode` for the creating caller's response)."""
    code = zugangscode_erzeugen()
    ticket.zugangscode_hash = zugangscode_hashen(code)
    ticket.zugangscode = code  # type: ignore[attr-defined]  # not a column: shown once, never stored
    return code


def status_link(basis_url: str, nummer: str) -> str:
    """Link to the status page with the number filled in; the code is never part of a URL."""
    return f"{basis_url.rstrip('/')}/status?nummer={quote(nummer)}"


# --- citizen-facing texts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusText:
    titel: str
    erklaerung: str
    naechster_schritt: str


STATUS_TEXTE: dict[Buergerstatus, StatusText] = {
    Buergerstatus.INITIATED: StatusText(
        "Begonnen",
        "Sie haben Ihr Anliegen begonnen, aber noch nicht abgeschickt.",
        "Bitte schicken Sie Ihr Anliegen ab, damit wir es bearbeiten können.",
    ),
    Buergerstatus.SUBMITTED: StatusText(
        "Abgeschickt",
        "Ihr Anliegen wurde abgeschickt und ist auf dem Weg zu uns.",
        "Sobald Ihr Anliegen bei uns eingegangen ist, ändert sich der Status auf „Eingegangen“.",
    ),
    Buergerstatus.RECEIVED: StatusText(
        "Eingegangen",
        "Ihr Anliegen ist bei uns eingegangen.",
        "Eine Mitarbeiterin oder ein Mitarbeiter sieht sich Ihr Anliegen an und beginnt mit der Bearbeitung. "
        "Weitergeleitete Anliegen beantworten wir in der Regel innerhalb von 24 Stunden (Servicezeiten).",
    ),
    Buergerstatus.PROCESSING: StatusText(
        "In Bearbeitung",
        "Ihr Anliegen wird bearbeitet, bei uns oder bei der zuständigen Stelle.",
        "Sie müssen nichts tun. Wenn wir etwas von Ihnen brauchen, melden wir uns.",
    ),
    Buergerstatus.ACTION_REQUIRED: StatusText(
        "Ihre Mithilfe ist nötig",
        "Um weiterzumachen, brauchen wir eine Rückmeldung oder Unterlagen von Ihnen.",
        "Bitte antworten Sie auf unsere Nachricht oder rufen Sie die Behördennummer 115 an "
        "(Montag bis Freitag 8 bis 18 Uhr). Halten Sie dafür Ihre Vorgangsnummer bereit.",
    ),
    Buergerstatus.COMPLETED: StatusText(
        "Abgeschlossen",
        "Die Bearbeitung Ihres Anliegens ist abgeschlossen.",
        "Sie müssen nichts mehr tun. Haben Sie noch Fragen, rufen Sie die Behördennummer 115 an.",
    ),
}


# --- the citizen view ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerlaufEintrag:
    zeitpunkt: datetime
    status: Buergerstatus

    @property
    def titel(self) -> str:
        return STATUS_TEXTE[self.status].titel


@dataclass(frozen=True)
class StatusAuskunft:
    """Everything the citizen may see. Deliberately no contact data, no Anliegen text, no notes, no names."""

    nummer: str
    status: Buergerstatus
    thema: str | None
    eingegangen_am: datetime
    aktualisiert_am: datetime
    verlauf: list[VerlaufEintrag] = field(default_factory=list)
    zusammengefuehrt: bool = False

    @property
    def text(self) -> StatusText:
        return STATUS_TEXTE[self.status]


def _buergerstatus_aus_historie(h: TicketHistorie) -> Buergerstatus | None:
    """A history row as citizen status: ticket states map to it; rows of the field `buergerstatus` (written
    by back-end callbacks) carry it directly. Every other row is internal."""
    if not h.neu:
        return None
    try:
        if h.feld == "status":
            return BUERGERSTATUS[Zustand(h.neu)]
        if h.feld == "buergerstatus":
            return Buergerstatus(h.neu)
    except ValueError:
        return None
    return None


def verlauf(session: Session, ticket: Ticket) -> list[VerlaufEintrag]:
    """Status changes as the citizen sees them, oldest first; repeats of the same status are folded."""
    eintraege: list[VerlaufEintrag] = []
    zeilen = session.scalars(
        select(TicketHistorie)
        .where(TicketHistorie.ticket_id == ticket.id, TicketHistorie.feld.in_(("status", "buergerstatus")))
        .order_by(TicketHistorie.zeitpunkt, TicketHistorie.id)
    )
    for h in zeilen:
        s = _buergerstatus_aus_historie(h)
        if s is not None and (not eintraege or eintraege[-1].status != s):
            eintraege.append(VerlaufEintrag(h.zeitpunkt, s))
    if not eintraege or eintraege[-1].status != ticket.buergerstatus:
        eintraege.append(VerlaufEintrag(ticket.aktualisiert_am, ticket.buergerstatus))
    return eintraege


def auskunft(session: Session, ticket: Ticket) -> StatusAuskunft:
    thema = None
    if ticket.leistung_id is not None:
        thema = session.scalar(select(Leistung.leistungsname).where(Leistung.id == ticket.leistung_id))
    return StatusAuskunft(
        nummer=ticket.nummer, status=ticket.buergerstatus, thema=thema, eingegangen_am=ticket.erstellt_am,
        aktualisiert_am=ticket.aktualisiert_am, verlauf=verlauf(session, ticket),
        zusammengefuehrt=ticket.zusammengefuehrt_in_id is not None,
    )


def status_abfragen(session: Session, *, nummer: str, code: str) -> StatusAuskunft | None:
    """The citizen view, or None. Unknown number, malformed input and wrong code are indistinguishable,
    in the answer and (up to the database look-up) in time."""
    nummer = (nummer or "").strip()[:40]
    ticket = None
    if nummern.gueltig(nummer):
        ticket = session.scalar(select(Ticket).where(Ticket.nummer == nummer))
    ok = zugangscode_pruefen(ticket.zugangscode_hash if ticket is not None else None, code or "")
    if ticket is None or not ok:
        return None
    return auskunft(session, ticket)


# --- e-mail on status change -----------------------------------------------------------------------------------


def buergerstatus_geaendert(session: Session, ticket: Ticket, neu: Buergerstatus,
                            *, jetzt: datetime | None = None) -> bool:
    """Call before the new citizen status is set, in the same transaction: if it differs and the citizen
    consented and left an e-mail address, queue a `status_email` outbox row. The payload holds ids only;
    the worker reads the address when it sends (so a withdrawn consent or changed address is honoured)."""
    if neu == ticket.buergerstatus or not ticket.einwilligung or not ticket.kontakt_email:
        return False
    in_outbox(session, art=OUTBOX_ART, payload={"ticket_id": ticket.id, "buergerstatus": Buergerstatus(neu).value},
              jetzt=jetzt or _jetzt())
    return True


@dataclass(frozen=True)
class StatusEmail:
    empfaenger: str
    betreff: str
    text: str


def status_email_inhalt(session: Session, payload: dict, *, basis_url: str) -> StatusEmail | None:
    """For the worker: render a queued `status_email`. None means: nothing to send (ticket gone, consent
    withdrawn, address removed)."""
    ticket = session.get(Ticket, payload.get("ticket_id"))
    if ticket is None or not ticket.einwilligung or not ticket.kontakt_email:
        return None
    try:
        status = Buergerstatus(payload.get("buergerstatus"))
    except ValueError:
        status = ticket.buergerstatus
    t = STATUS_TEXTE[status]
    text = (
        "Guten Tag,\n\n"
        f"der Bearbeitungsstand Ihres Anliegens {ticket.nummer} hat sich geändert.\n\n"
        f"Neuer Status: {t.titel}\n{t.erklaerung}\n\nWie geht es weiter? {t.naechster_schritt}\n\n"
        f"Den aktuellen Stand sehen Sie jederzeit hier (mit Ihrem Zugangscode):\n"
        f"{status_link(basis_url, ticket.nummer)}\n\n"
        "Mit freundlichen Grüßen\nIhr Servicecenter 115 der Stadt Halle (Saale)\n\n"
        "Sie erhalten diese Nachricht, weil Sie der Benachrichtigung zugestimmt haben."
    )
    return StatusEmail(empfaenger=ticket.kontakt_email, betreff=f"Ihr Anliegen {ticket.nummer}: {t.titel}", text=text)


# --- look-up limit -----------------------------------------------------------------------------------------------


class Begrenzer:
    """In-process sliding window per key (client IP). One process only: behind several workers each counts
    for itself, which still bounds guessing to workers × limit."""

    def __init__(self, max_versuche: int, fenster_sekunden: float, uhr=time.monotonic) -> None:
        self.max_versuche = max_versuche
        self.fenster = fenster_sekunden
        self.uhr = uhr
        self._versuche: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def versuch(self, schluessel: str) -> float | None:
        """Count one attempt. None if allowed, else seconds until the next attempt is allowed."""
        jetzt = self.uhr()
        with self._lock:
            if len(self._versuche) > 10_000:  # forget idle clients
                for k in [k for k, d in self._versuche.items() if not d or d[-1] <= jetzt - self.fenster]:
                    del self._versuche[k]
            d = self._versuche.setdefault(schluessel, deque())
            while d and d[0] <= jetzt - self.fenster:
                d.popleft()
            if len(d) >= self.max_versuche:
                return max(1.0, d[0] + self.fenster - jetzt)
            d.append(jetzt)
            return None


ZU_VIELE_TEXT = (
    "Sie haben in kurzer Zeit zu viele Abfragen gestellt. Bitte warten Sie einige Minuten und versuchen Sie es "
    "dann erneut. Sie erreichen uns auch unter der Behördennummer 115."
)
NICHT_GEFUNDEN_TEXT = (
    "Zu dieser Kombination aus Vorgangsnummer und Zugangscode haben wir keinen Vorgang gefunden. Bitte prüfen Sie "
    "beide Angaben. Den Zugangscode haben Sie bei der Meldung Ihres Anliegens erhalten."
)

__all__ = [
    "NICHT_GEFUNDEN_TEXT", "OUTBOX_ART", "STATUS_TEXTE", "ZU_VIELE_TEXT", "Begrenzer", "StatusAuskunft",
    "StatusEmail", "auskunft", "buergerstatus_geaendert", "status_abfragen", "status_email_inhalt", "status_link",
    "verlauf", "zugangscode_erzeugen", "zugangscode_hashen", "zugangscode_normalisieren", "zugangscode_pruefen",
    "zugangscode_vergeben",
]

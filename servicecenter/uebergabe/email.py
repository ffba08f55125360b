"""E-mail adapter (fallback): the ticket as a structured mail to the department's mailbox.

Nothing is sent here: the mail is queued as an outbox row of kind "uebergabe_email" in the worker's
transaction; the mail sender (a later issue) delivers it. Mailbox: the Organisationseinheit's e-mail
address, else the adapter's `postfach`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from servicecenter.outbox.service import in_outbox
from servicecenter.tickets.zustaende import Buergerstatus
from servicecenter.uebergabe.adapter import (
    Auftrag,
    CallbackMeldung,
    EndgueltigerFehler,
    Ergebnis,
    Kontext,
    UngueltigerCallback,
)

ART = "uebergabe_email"


def mailtext(auftrag: Auftrag, zeitzone: str = "Europe/Berlin") -> str:
    """Plain-text body with one labelled field per line: readable by people and by simple parsers."""
    erstellt = auftrag.erstellt_am.astimezone(ZoneInfo(zeitzone)).strftime("%d.%m.%Y %H:%M")
    zeilen = [
        "Übergabe aus dem Servicecenter 115",
        "",
        f"Ticket: {auftrag.ticket_nummer}",
        f"Übergabe-ID: {auftrag.uebergabe_id}",
        f"Eingegangen: {erstellt}",
        f"Priorität: {auftrag.prioritaet}",
        f"Leistung: {auftrag.leistung['name'] if auftrag.leistung else '–'}",
        f"LeiKa-Schlüssel: {(auftrag.leistung or {}).get('leika') or '–'}",
        f"Zuständig: {auftrag.organisationseinheit['name'] if auftrag.organisationseinheit else '–'}",
        "",
        "Anliegen:",
        auftrag.anliegen,
        "",
    ]
    if auftrag.kontakt:
        zeilen += ["Kontakt (mit Einwilligung):",
                   f"Name: {auftrag.kontakt.get('name') or '–'}",
                   f"Telefon: {auftrag.kontakt.get('telefon') or '–'}",
                   f"E-Mail: {auftrag.kontakt.get('email') or '–'}", ""]
    else:
        zeilen += ["Kontakt: keine Einwilligung zur Weitergabe von Kontaktdaten.", ""]
    if auftrag.anhaenge:
        zeilen.append("Anhänge:")
        zeilen += [f"- {a.dateiname} ({len(a.inhalt)} Byte, SHA-256 {a.sha256})" for a in auftrag.anhaenge]
    return "\n".join(zeilen)


class EmailAdapter:
    typ = "email"

    def __init__(self, name: str, *, postfach: str = "", absender: str = "") -> None:
        self.name, self.postfach, self.absender = name, postfach, absender

    @classmethod
    def aus_konfiguration(cls, name: str, konf: dict[str, Any]) -> EmailAdapter:
        return cls(name, postfach=konf.get("postfach", ""), absender=konf.get("absender", ""))

    def einreichen(self, auftrag: Auftrag, ctx: Kontext) -> Ergebnis:
        if ctx.session is None:
            raise EndgueltigerFehler("E-Mail-Übergabe braucht eine Datenbanksitzung")
        an = (auftrag.organisationseinheit or {}).get("email") or self.postfach
        if not an:
            raise EndgueltigerFehler("E-Mail-Übergabe: kein Postfach für diese Organisationseinheit konfiguriert")
        leistung = (auftrag.leistung or {}).get("name") or "Anliegen"
        eintrag = in_outbox(ctx.session, art=ART, jetzt=ctx.jetzt, payload={
            "an": an, "absender": self.absender,
            "betreff": f"[{auftrag.ticket_nummer}] Übergabe: {leistung}"[:200],
            "text": mailtext(auftrag),
            "ticket_nummer": auftrag.ticket_nummer, "uebergabe_id": auftrag.uebergabe_id,
            "anhang_ids": [a.id for a in auftrag.anhaenge],
        }, idempotenz_schluessel=f"{auftrag.idempotenz_schluessel}-email")
        return Ergebnis(externe_id=f"email-{eintrag.id}")

    def zustand_abrufen(self, externe_id: str, ctx: Kontext) -> Buergerstatus | None:
        return None  # a mailbox has no state to fetch

    def callback_lesen(self, headers: Mapping[str, str], body: bytes, *, jetzt: datetime) -> CallbackMeldung:
        raise UngueltigerCallback("Der E-Mail-Adapter nimmt keine Callbacks an")

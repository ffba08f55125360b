"""REST/JSON adapter: POST the documented payload, signed in the Standard Webhooks manner.

Headers: `webhook-id` (= the Idempotency-Key, stable across retries), `webhook-timestamp` (Unix seconds),
`webhook-signature` = "v1," + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")) and `Idempotency-Key`.
A secret "whsec_<base64>" is used base64-decoded as in the Standard Webhooks spec, any other secret as UTF-8.
2xx with a JSON object carrying the external case id (`vorgang_id`, `id` or `externe_id`) means delivered.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from servicecenter.tickets.zustaende import Buergerstatus
from servicecenter.uebergabe.adapter import (
    Auftrag,
    CallbackMeldung,
    EndgueltigerFehler,
    Ergebnis,
    Kontext,
    UngueltigerCallback,
    VoruebergehenderFehler,
    fitconnect_signatur_pruefen,
    http_fehler,
    json_antwort,
)

ID_FELDER = ("vorgang_id", "id", "externe_id")


def schluessel_aus(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret.removeprefix("whsec_"))
    return secret.encode("utf-8")


def webhook_signatur(secret: str, nachricht_id: str, zeitstempel: int, body: bytes) -> str:
    inhalt = f"{nachricht_id}.{zeitstempel}.".encode() + body
    mac = hmac.new(schluessel_aus(secret), inhalt, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def webhook_pruefen(secret: str, headers: Mapping[str, str], body: bytes) -> bool:
    """Receiver side (the stub back end, tests): any of the space-separated v1 signatures may match."""
    erwartet = webhook_signatur(secret, headers.get("webhook-id", ""), int(headers.get("webhook-timestamp", "0")),
                                body)
    return any(hmac.compare_digest(erwartet, s) for s in headers.get("webhook-signature", "").split())


def status_aus(wert: Any) -> Buergerstatus | None:
    if wert is None:
        return None
    try:
        return Buergerstatus(str(wert).upper())
    except ValueError as exc:
        raise UngueltigerCallback("unbekannter Status") from exc


class RestAdapter:
    typ = "rest"

    def __init__(self, name: str, *, url: str, secret: str, callback_secret: str = "", status_url: str = "",
                 timeout: float = 10.0) -> None:
        self.name, self.url, self.secret = name, url, secret
        self.callback_secret = callback_secret or secret
        self.status_url = status_url  # e.g. "https://fv.example/vorgaenge/{id}"
        self.timeout = timeout

    @classmethod
    def aus_konfiguration(cls, name: str, konf: dict[str, Any]) -> RestAdapter:
        if not konf.get("url") or not konf.get("secret"):
            raise ValueError(f"Übergabe-Adapter {name!r} (rest) braucht url und secret")
        return cls(name, url=konf["url"], secret=konf["secret"], callback_secret=konf.get("callback_secret", ""),
                   status_url=konf.get("status_url", ""), timeout=float(konf.get("timeout", 10.0)))

    def einreichen(self, auftrag: Auftrag, ctx: Kontext) -> Ergebnis:
        body = json.dumps(auftrag.payload(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        zeit = int(ctx.jetzt.timestamp())
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": auftrag.idempotenz_schluessel,
            "webhook-id": auftrag.idempotenz_schluessel,
            "webhook-timestamp": str(zeit),
            "webhook-signature": webhook_signatur(self.secret, auftrag.idempotenz_schluessel, zeit, body),
        }
        try:
            antwort = ctx.client.post(self.url, content=body, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise VoruebergehenderFehler("Übergabe: Zeitüberschreitung") from exc
        except httpx.TransportError as exc:
            raise VoruebergehenderFehler(f"Übergabe: Verbindung fehlgeschlagen ({type(exc).__name__})") from exc
        if not antwort.is_success:
            raise http_fehler(antwort, "Übergabe")
        daten = json_antwort(antwort, "Übergabe")
        externe_id = next((daten[f] for f in ID_FELDER if isinstance(daten.get(f), str | int) and daten.get(f)), None)
        if externe_id is None:
            raise EndgueltigerFehler("Übergabe: Antwort ohne Vorgangsnummer")
        return Ergebnis(externe_id=str(externe_id)[:200])

    def zustand_abrufen(self, externe_id: str, ctx: Kontext) -> Buergerstatus | None:
        if not self.status_url:
            return None
        try:
            antwort = ctx.client.get(self.status_url.format(id=externe_id), timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise VoruebergehenderFehler("Statusabruf fehlgeschlagen") from exc
        if not antwort.is_success:
            raise http_fehler(antwort, "Statusabruf")
        try:
            return status_aus(json_antwort(antwort, "Statusabruf").get("status"))
        except UngueltigerCallback as exc:
            raise EndgueltigerFehler("Statusabruf: unbekannter Status") from exc

    def callback_lesen(self, headers: Mapping[str, str], body: bytes, *, jetzt: datetime) -> CallbackMeldung:
        """Body: {"id": event id, "vorgang_id" | "ticket": …, "status": RECEIVED|PROCESSING|…, "text": …}."""
        signatur = fitconnect_signatur_pruefen(headers, body, self.callback_secret, jetzt=jetzt)
        try:
            daten = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UngueltigerCallback("kein JSON") from exc
        if not isinstance(daten, dict):
            raise UngueltigerCallback("kein JSON-Objekt")
        vorgang, ticket = daten.get("vorgang_id"), daten.get("ticket")
        if not vorgang and not ticket:
            raise UngueltigerCallback("Vorgang fehlt")
        text = daten.get("text")
        return CallbackMeldung(
            signatur=signatur, ereignis_id=str(daten["id"])[:200] if daten.get("id") else None,
            externe_id=str(vorgang)[:200] if vorgang else None, ticket_nummer=str(ticket)[:40] if ticket else None,
            status=status_aus(daten.get("status")), text=str(text)[:2000] if text else None,
        )

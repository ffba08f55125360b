"""The adapter interface to Fachverfahren and the registry that picks an adapter per queue.

An adapter submits one hand-off (`einreichen`), can fetch the back end's state of a case (`zustand_abrufen`)
and verifies and reads an inbound callback (`callback_lesen`). Which adapter serves which queue
(Organisationseinheit) is configuration: `SERVICECENTER_UEBERGABE_ADAPTER` names the adapter instances with their
parameters, `SERVICECENTER_UEBERGABE_ZUORDNUNG` maps queue ids (or "*") to an instance name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import httpx
from sqlalchemy.orm import Session

from servicecenter.tickets.zustaende import Buergerstatus

CALLBACK_MAX_ALTER_SEKUNDEN = 300


# --- errors ---------------------------------------------------------------------------------------------


class UebergabeFehler(Exception):
    """Base of delivery errors; the message goes to agents and logs, so it carries no personal data."""


class VoruebergehenderFehler(UebergabeFehler):
    """Try again later (5xx, 408, 429, timeouts, connection errors)."""


class EndgueltigerFehler(UebergabeFehler):
    """Retrying cannot help (4xx other than 408/429, a malformed answer, a misconfiguration)."""


class UngueltigerCallback(Exception):
    """Unknown, forged, too old or replayed callback: answered with 401, nothing changes."""


# --- data passed to and from adapters ---------------------------------------------------------------------


@dataclass
class Anhang:
    id: int
    dateiname: str
    mimetyp: str
    inhalt: bytes
    sha256: str


@dataclass
class Auftrag:
    """What is handed off: built from the ticket at delivery time (consented contact data only)."""

    uebergabe_id: int
    idempotenz_schluessel: str
    ticket_nummer: str
    anliegen: str
    erstellt_am: datetime
    prioritaet: str
    leistung: dict[str, Any] | None  # {"id", "name", "leika"}
    organisationseinheit: dict[str, Any] | None  # {"id", "name", "email"}
    kontakt: dict[str, Any] | None  # only with consent: {"name", "telefon", "email", "einwilligung_am"}
    anhaenge: list[Anhang] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        """The documented JSON payload of the REST adapter (see README, section Übergabe)."""
        return {
            "version": 1,
            "uebergabe_id": self.uebergabe_id,
            "ticket": {"nummer": self.ticket_nummer, "erstellt_am": self.erstellt_am.isoformat(),
                       "prioritaet": self.prioritaet},
            "leistung": self.leistung,
            "organisationseinheit": self.organisationseinheit,
            "anliegen": self.anliegen,
            "kontakt": self.kontakt,
            "anhaenge": [
                {"dateiname": a.dateiname, "mimetyp": a.mimetyp, "groesse": len(a.inhalt), "sha256": a.sha256,
                 "inhalt_base64": base64.b64encode(a.inhalt).decode("ascii")}
                for a in self.anhaenge
            ],
        }


@dataclass
class Ergebnis:
    externe_id: str


@dataclass
class CallbackMeldung:
    """A verified callback: which case, the new citizen status if the callback says it."""

    signatur: str
    ereignis_id: str | None
    externe_id: str | None = None
    ticket_nummer: str | None = None
    status: Buergerstatus | None = None
    text: str | None = None


@dataclass
class Kontext:
    """What an adapter may use while delivering: an HTTP client, the clock, the session (e-mail adapter)."""

    client: httpx.Client
    jetzt: datetime
    session: Session | None = None


class Adapter(Protocol):
    name: str
    typ: str

    def einreichen(self, auftrag: Auftrag, ctx: Kontext) -> Ergebnis: ...

    def zustand_abrufen(self, externe_id: str, ctx: Kontext) -> Buergerstatus | None: ...

    def callback_lesen(self, headers: Mapping[str, str], body: bytes, *, jetzt: datetime) -> CallbackMeldung: ...


# --- shared helpers ---------------------------------------------------------------------------------------


def http_fehler(antwort: httpx.Response, was: str) -> UebergabeFehler:
    """Classify a non-2xx answer: 408, 429 and 5xx are temporary, other 4xx permanent."""
    code = antwort.status_code
    meldung = f"{was}: HTTP {code}"
    if code in (408, 429) or code >= 500:
        return VoruebergehenderFehler(meldung)
    return EndgueltigerFehler(meldung)


def json_antwort(antwort: httpx.Response, was: str) -> dict[str, Any]:
    try:
        daten = antwort.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise EndgueltigerFehler(f"{was}: Antwort ist kein JSON") from exc
    if not isinstance(daten, dict):
        raise EndgueltigerFehler(f"{was}: Antwort ist kein JSON-Objekt")
    return daten


def fitconnect_signatur_pruefen(headers: Mapping[str, str], body: bytes, secret: str, *,
                                jetzt: datetime) -> str:
    """FIT-Connect callback authentication: hex HMAC-SHA512(secret, timestamp + body) in
    X-Callback-Authentication, Unix seconds in X-Callback-Timestamp; older than 300 s is refused.
    Returns the signature (the caller stores it against replays)."""
    if not secret:
        raise UngueltigerCallback("kein Callback-Secret konfiguriert")
    signatur = headers.get("x-callback-authentication") or ""
    zeitstempel = headers.get("x-callback-timestamp") or ""
    if not signatur or not zeitstempel.isdigit() or len(zeitstempel) > 12:
        raise UngueltigerCallback("Signatur oder Zeitstempel fehlt")
    erwartet = hmac.new(secret.encode(), zeitstempel.encode() + body, hashlib.sha512).hexdigest()
    if not hmac.compare_digest(erwartet, signatur.lower()):
        raise UngueltigerCallback("Signatur passt nicht")
    if abs(jetzt.timestamp() - int(zeitstempel)) > CALLBACK_MAX_ALTER_SEKUNDEN:
        raise UngueltigerCallback("Callback zu alt")
    return erwartet


def callback_signieren(secret: str, zeitstempel: int, body: bytes) -> dict[str, str]:
    """Headers of a FIT-Connect style callback (used by tests, the stub back end and the benchmark)."""
    sig = hmac.new(secret.encode(), str(zeitstempel).encode() + body, hashlib.sha512).hexdigest()
    return {"X-Callback-Authentication": sig, "X-Callback-Timestamp": str(zeitstempel),
            "Content-Type": "application/json"}


# --- registry ---------------------------------------------------------------------------------------------

Fabrik = Callable[[str, dict[str, Any]], Adapter]
_TYPEN: dict[str, Fabrik] = {}


def typ_registrieren(typ: str, fabrik: Fabrik) -> None:
    _TYPEN[typ] = fabrik


def _eingebaute_typen() -> None:
    if _TYPEN:
        return
    from servicecenter.uebergabe import email, fitconnect, rest

    typ_registrieren("rest", rest.RestAdapter.aus_konfiguration)
    typ_registrieren("fitconnect", fitconnect.FitConnectAdapter.aus_konfiguration)
    typ_registrieren("email", email.EmailAdapter.aus_konfiguration)


class Registry:
    """The configured adapter instances and the queue → adapter mapping."""

    def __init__(self, adapter: Mapping[str, Mapping[str, Any]], zuordnung: Mapping[str, str]) -> None:
        _eingebaute_typen()
        self._adapter: dict[str, Adapter] = {}
        for name, konf in adapter.items():
            typ = str(konf.get("typ", ""))
            if typ not in _TYPEN:
                raise ValueError(f"Übergabe-Adapter {name!r}: unbekannter Typ {typ!r} (möglich: {', '.join(_TYPEN)})")
            self._adapter[name] = _TYPEN[typ](name, dict(konf))
        self._zuordnung = dict(zuordnung)
        for schluessel, name in self._zuordnung.items():
            if name not in self._adapter:
                raise ValueError(f"Zuordnung {schluessel!r} nennt den unbekannten Adapter {name!r}")

    @classmethod
    def aus_settings(cls, settings) -> Registry:
        return cls(settings.uebergabe_adapter, settings.uebergabe_zuordnung)

    def adapter(self, name: str) -> Adapter | None:
        return self._adapter.get(name)

    def fuer_queue(self, queue_id: int | None) -> Adapter:
        """The adapter of a queue: its own entry, else "*", else the first e-mail adapter."""
        name = self._zuordnung.get(str(queue_id)) if queue_id is not None else None
        name = name or self._zuordnung.get("*")
        if name is None:
            name = next((n for n, a in self._adapter.items() if a.typ == "email"), None)
        if name is None or name not in self._adapter:
            raise EndgueltigerFehler("Für diese Queue ist kein Übergabe-Adapter konfiguriert.")
        return self._adapter[name]

    @property
    def namen(self) -> list[str]:
        return list(self._adapter)

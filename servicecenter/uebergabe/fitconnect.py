"""FIT-Connect adapter (Submission API v2): the federal route for submissions to Fachverfahren.

Steps of one submission:
1. OAuth2 client-credentials token from `token_url` (cached until shortly before it expires).
2. `GET /v2/destinations/{id}` and the destination's encryption key (`GET …/keys/{encryptionKid}`, a JWK).
3. `POST /v2/submissions` announcing the attachments (UUIDv4 each) with the publicService (LeiKa URN).
4. Each attachment JWE-encrypted to `PUT /v2/submissions/{id}/attachments/{attachmentId}`.
5. Metadata (validated against the metadata JSON schema) and data, each a JWE (RSA-OAEP-256 + A256GCM,
   joserfc), in `PUT /v2/submissions/{id}`.
State: the case's event log `GET /v2/cases/{caseId}/events` (security event tokens); the latest
accept/reject event gives the citizen status. Callbacks are authenticated with HMAC-SHA512 over timestamp and
body (X-Callback-Authentication, X-Callback-Timestamp) and name the case; the worker then reads its event log.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from joserfc import jwe
from joserfc.jwk import RSAKey

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

METADATA_SCHEMA_URI = "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json"
LEIKA_URN = "urn:de:fim:leika:leistung:"
EVENT = "https://schema.fitko.de/fit-connect/events/"
# Latest matching event wins; events without a citizen meaning are skipped.
EVENT_STATUS = {
    EVENT + "submit-submission": Buergerstatus.SUBMITTED,
    EVENT + "notify-submission": Buergerstatus.SUBMITTED,
    EVENT + "accept-submission": Buergerstatus.RECEIVED,
    EVENT + "reject-submission": Buergerstatus.ACTION_REQUIRED,
}
JWE_KOPF = {"alg": "RSA-OAEP-256", "enc": "A256GCM"}
EINGEBAUTES_SCHEMA = Path(__file__).with_name("fitconnect_metadata_minimal.schema.json")


@cache
def _validator(pfad: str):
    from jsonschema import Draft202012Validator

    schema = json.loads(Path(pfad).read_text(encoding="utf-8"))
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def metadaten_pruefen(metadaten: dict[str, Any], schema_pfad: str) -> None:
    fehler = sorted(_validator(schema_pfad).iter_errors(metadaten), key=lambda e: list(e.absolute_path))
    if fehler:
        ort = "/".join(str(p) for p in fehler[0].absolute_path) or "(Wurzel)"
        raise EndgueltigerFehler(f"FIT-Connect: Metadaten ungültig bei {ort}: {fehler[0].message[:200]}")


def sha512(daten: bytes) -> str:
    return hashlib.sha512(daten).hexdigest()


def verschluesseln(klartext: bytes, jwk: dict[str, Any]) -> str:
    schluessel = RSAKey.import_key(jwk)
    kopf = {**JWE_KOPF, "kid": jwk.get("kid", ""), "cty": "application/json"}
    return jwe.encrypt_compact(kopf, klartext, schluessel, algorithms=["RSA-OAEP-256", "A256GCM"])


def _set_inhalt(token: str) -> dict[str, Any]:
    """Payload of a security event token (its signature is not checked here, see README)."""
    teile = token.split(".")
    if len(teile) != 3:
        raise EndgueltigerFehler("FIT-Connect: Eintrag im Ereignisprotokoll ist kein JWT")
    try:
        inhalt = json.loads(base64.urlsafe_b64decode(teile[1] + "=" * (-len(teile[1]) % 4)))
    except (ValueError, json.JSONDecodeError) as exc:
        raise EndgueltigerFehler("FIT-Connect: Ereignis nicht lesbar") from exc
    if not isinstance(inhalt, dict):
        raise EndgueltigerFehler("FIT-Connect: Ereignis nicht lesbar")
    return inhalt


class FitConnectAdapter:
    typ = "fitconnect"

    def __init__(self, name: str, *, token_url: str, submission_api: str, client_id: str, client_secret: str,
                 destination_id: str, callback_secret: str = "", metadata_schema: str = "",
                 data_schema_uri: str = "", timeout: float = 10.0) -> None:
        self.name = name
        self.token_url, self.api = token_url, submission_api.rstrip("/")
        self.client_id, self.client_secret = client_id, client_secret
        self.destination_id, self.callback_secret = destination_id, callback_secret
        self.metadata_schema = metadata_schema or str(EINGEBAUTES_SCHEMA)
        self.data_schema_uri = data_schema_uri or "https://schema.servicecenter115.de/uebergabe/v1.json"
        self.timeout = timeout
        self._token: tuple[str, datetime] | None = None
        self._sperre = threading.Lock()

    @classmethod
    def aus_konfiguration(cls, name: str, konf: dict[str, Any]) -> FitConnectAdapter:
        fehlt = [k for k in ("token_url", "submission_api", "client_id", "client_secret", "destination_id")
                 if not konf.get(k)]
        if fehlt:
            raise ValueError(f"Übergabe-Adapter {name!r} (fitconnect) braucht {', '.join(fehlt)}")
        return cls(name, token_url=konf["token_url"], submission_api=konf["submission_api"],
                   client_id=konf["client_id"], client_secret=konf["client_secret"],
                   destination_id=konf["destination_id"], callback_secret=konf.get("callback_secret", ""),
                   metadata_schema=konf.get("metadata_schema", ""), data_schema_uri=konf.get("data_schema_uri", ""),
                   timeout=float(konf.get("timeout", 10.0)))

    # --- HTTP ---------------------------------------------------------------------------------------------

    def _senden(self, ctx: Kontext, methode: str, url: str, was: str, **kwargs) -> httpx.Response:
        try:
            antwort = ctx.client.request(methode, url, timeout=self.timeout, **kwargs)
        except httpx.TimeoutException as exc:
            raise VoruebergehenderFehler(f"FIT-Connect {was}: Zeitüberschreitung") from exc
        except httpx.TransportError as exc:
            raise VoruebergehenderFehler(f"FIT-Connect {was}: Verbindung fehlgeschlagen") from exc
        if antwort.status_code == 401 and was != "Token":
            self._token = None  # expired early: fetch a new one on the next attempt
            raise VoruebergehenderFehler(f"FIT-Connect {was}: HTTP 401")
        if not antwort.is_success:
            raise http_fehler(antwort, f"FIT-Connect {was}")
        return antwort

    def _zugangstoken(self, ctx: Kontext) -> str:
        with self._sperre:
            if self._token and self._token[1] > ctx.jetzt:
                return self._token[0]
            antwort = self._senden(ctx, "POST", self.token_url, "Token", data={
                "grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret,
            })
            daten = json_antwort(antwort, "FIT-Connect Token")
            token = daten.get("access_token")
            if not isinstance(token, str) or not token:
                raise EndgueltigerFehler("FIT-Connect Token: Antwort ohne access_token")
            dauer = daten.get("expires_in") if isinstance(daten.get("expires_in"), int | float) else 300
            self._token = (token, ctx.jetzt + timedelta(seconds=max(0, dauer - 30)))
            return token

    def _auth(self, ctx: Kontext) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._zugangstoken(ctx)}"}

    def _schluessel(self, ctx: Kontext) -> dict[str, Any]:
        ziel = json_antwort(self._senden(ctx, "GET", f"{self.api}/v2/destinations/{self.destination_id}",
                                         "Zustellpunkt", headers=self._auth(ctx)), "FIT-Connect Zustellpunkt")
        kid = ziel.get("encryptionKid")
        if not isinstance(kid, str) or not kid:
            raise EndgueltigerFehler("FIT-Connect Zustellpunkt: encryptionKid fehlt")
        jwk = json_antwort(self._senden(ctx, "GET", f"{self.api}/v2/destinations/{self.destination_id}/keys/{kid}",
                                        "Schlüssel", headers=self._auth(ctx)), "FIT-Connect Schlüssel")
        if jwk.get("kty") != "RSA" or jwk.get("alg", "RSA-OAEP-256") != "RSA-OAEP-256" or "n" not in jwk:
            raise EndgueltigerFehler("FIT-Connect Schlüssel: kein RSA-OAEP-256-Schlüssel")
        return jwk

    # --- submission ---------------------------------------------------------------------------------------

    def metadaten(self, auftrag: Auftrag, daten: bytes, anlagen: list[tuple[str, Any]]) -> dict[str, Any]:
        m: dict[str, Any] = {
            "$schema": METADATA_SCHEMA_URI,
            "contentStructure": {
                "data": {
                    "hash": {"type": "sha512", "content": sha512(daten)},
                    "submissionSchema": {"schemaUri": self.data_schema_uri, "mimeType": "application/json"},
                },
                "attachments": [
                    {"hash": {"type": "sha512", "content": sha512(a.inhalt)}, "purpose": "attachment",
                     "filename": a.dateiname, "mimeType": a.mimetyp, "attachmentId": aid}
                    for aid, a in anlagen
                ],
            },
            "additionalReferenceInfo": {"senderReference": auftrag.ticket_nummer,
                                        "applicationDate": auftrag.erstellt_am.date().isoformat()},
        }
        if auftrag.leistung and auftrag.leistung.get("leika"):
            m["publicServiceType"] = {"name": auftrag.leistung.get("name") or "",
                                      "identifier": LEIKA_URN + auftrag.leistung["leika"]}
        if auftrag.kontakt and auftrag.kontakt.get("email"):
            m["replyChannel"] = {"eMail": {"address": auftrag.kontakt["email"]}}
        return m

    def einreichen(self, auftrag: Auftrag, ctx: Kontext) -> Ergebnis:
        if not auftrag.leistung or not auftrag.leistung.get("leika"):
            raise EndgueltigerFehler("FIT-Connect braucht eine Leistung mit LeiKa-Schlüssel")
        jwk = self._schluessel(ctx)
        # Attachment ids derive from the idempotency key: a retry announces the same ids.
        anlagen = [(str(uuid.uuid5(uuid.NAMESPACE_URL, f"{auftrag.idempotenz_schluessel}/{a.id}")), a)
                   for a in auftrag.anhaenge]
        payload = auftrag.payload()
        payload["anhaenge"] = [{k: v for k, v in x.items() if k != "inhalt_base64"} for x in payload["anhaenge"]]
        daten = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        metadaten = self.metadaten(auftrag, daten, anlagen)
        metadaten_pruefen(metadaten, self.metadata_schema)

        antwort = json_antwort(self._senden(ctx, "POST", f"{self.api}/v2/submissions", "Einreichung", json={
            "destinationId": self.destination_id,
            "announcedAttachments": [aid for aid, _ in anlagen],
            "publicService": {"name": auftrag.leistung.get("name") or "",
                              "identifier": LEIKA_URN + auftrag.leistung["leika"]},
        }, headers=self._auth(ctx)), "FIT-Connect Einreichung")
        submission_id, case_id = antwort.get("submissionId"), antwort.get("caseId")
        if not isinstance(submission_id, str) or not isinstance(case_id, str) or not submission_id or not case_id:
            raise EndgueltigerFehler("FIT-Connect Einreichung: Antwort ohne submissionId/caseId")
        for aid, a in anlagen:
            self._senden(ctx, "PUT", f"{self.api}/v2/submissions/{submission_id}/attachments/{aid}", "Anlage",
                         content=verschluesseln(a.inhalt, jwk).encode("ascii"),
                         headers={**self._auth(ctx), "Content-Type": "application/jose"})
        self._senden(ctx, "PUT", f"{self.api}/v2/submissions/{submission_id}", "Absenden", json={
            "encryptedMetadata": verschluesseln(json.dumps(metadaten, ensure_ascii=False).encode("utf-8"), jwk),
            "encryptedData": verschluesseln(daten, jwk),
        }, headers=self._auth(ctx))
        return Ergebnis(externe_id=case_id[:200])

    # --- state and callbacks ------------------------------------------------------------------------------

    def zustand_abrufen(self, externe_id: str, ctx: Kontext) -> Buergerstatus | None:
        antwort = json_antwort(self._senden(ctx, "GET", f"{self.api}/v2/cases/{externe_id}/events",
                                            "Ereignisprotokoll", headers=self._auth(ctx)),
                               "FIT-Connect Ereignisprotokoll")
        protokoll = antwort.get("eventLog")
        if not isinstance(protokoll, list):
            raise EndgueltigerFehler("FIT-Connect Ereignisprotokoll: eventLog fehlt")
        status = None
        for eintrag in sorted((_set_inhalt(t) for t in protokoll if isinstance(t, str)),
                              key=lambda e: e.get("iat", 0)):
            for ereignis in (eintrag.get("events") or {}):
                status = EVENT_STATUS.get(ereignis, status)
        return status

    def callback_lesen(self, headers: Mapping[str, str], body: bytes, *, jetzt: datetime) -> CallbackMeldung:
        signatur = fitconnect_signatur_pruefen(headers, body, self.callback_secret, jetzt=jetzt)
        try:
            daten = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise UngueltigerCallback("kein JSON") from exc
        if not isinstance(daten, dict):
            raise UngueltigerCallback("kein JSON-Objekt")
        case_id = daten.get("caseId") or next(iter(daten.get("caseIds") or []), None)
        if not isinstance(case_id, str) or not case_id:
            raise UngueltigerCallback("caseId fehlt")
        return CallbackMeldung(signatur=signatur, ereignis_id=None, externe_id=case_id[:200], status=None)


__all__ = ["FitConnectAdapter", "metadaten_pruefen", "verschluesseln"]

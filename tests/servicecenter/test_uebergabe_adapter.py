"""Adapters against respx mocks: success, retry, permanent failure, malformed answers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import httpx
import pytest
import respx
from joserfc import jwe
from joserfc.jwk import RSAKey
from sqlalchemy import select

from servicecenter.outbox.models import OutboxEintrag
from servicecenter.tickets.zustaende import Buergerstatus
from servicecenter.uebergabe import fitconnect, rest
from servicecenter.uebergabe.adapter import (
    Anhang,
    Auftrag,
    EndgueltigerFehler,
    Kontext,
    Registry,
    VoruebergehenderFehler,
)
from servicecenter.uebergabe.email import EmailAdapter

JETZT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
URL = "https://fv.example/api/vorgaenge"
SECRET = "whsec_" + base64.b64encode(b"geheimer-schluessel-fuer-tests").decode()


def auftrag(**extra) -> Auftrag:
    werte = dict(
        uebergabe_id=7, idempotenz_schluessel="3f0c2c4e-1111-4a2b-9c3d-000000000007", ticket_nummer="115-2026-000042",
        anliegen="Straßenlaterne defekt", erstellt_am=JETZT, prioritaet="normal",
        leistung={"id": 1, "name": "Straßenbeleuchtung melden", "leika": "99107004000000"},
        organisationseinheit={"id": 3, "name": "Tiefbauamt", "email": "tiefbau@halle.example"},
        kontakt={"name": "Erika Muster", "telefon": "0345 1234", "email": "erika@example.org",
                 "einwilligung_am": JETZT.isoformat()},
        anhaenge=[Anhang(id=5, dateiname="foto.jpg", mimetyp="image/jpeg", inhalt=b"\xff\xd8bild",
                         sha256=hashlib.sha256(b"\xff\xd8bild").hexdigest())],
    )
    werte.update(extra)
    return Auftrag(**werte)


@pytest.fixture
def client():
    with httpx.Client() as c:
        yield c


def ctx(client, session=None) -> Kontext:
    return Kontext(client=client, jetzt=JETZT, session=session)


# --- REST -------------------------------------------------------------------------------------------------


def rest_adapter() -> rest.RestAdapter:
    return rest.RestAdapter("fv", url=URL, secret=SECRET, timeout=2)


@respx.mock
def test_rest_erfolg_signiert_mit_idempotency_key(client):
    route = respx.post(URL).mock(return_value=httpx.Response(201, json={"vorgang_id": "FV-1"}))
    ergebnis = rest_adapter().einreichen(auftrag(), ctx(client))
    assert ergebnis.externe_id == "FV-1"
    anfrage = route.calls.last.request
    h = anfrage.headers
    assert h["Idempotency-Key"] == h["webhook-id"] == "3f0c2c4e-1111-4a2b-9c3d-000000000007"
    assert h["webhook-timestamp"] == str(int(JETZT.timestamp()))
    # Standard Webhooks: v1,base64(HMAC-SHA256(base64-decoded secret, id.timestamp.body))
    mac = hmac.new(b"geheimer-schluessel-fuer-tests",
                   f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + anfrage.content, hashlib.sha256)
    erwartet = "v1," + base64.b64encode(mac.digest()).decode()
    assert h["webhook-signature"] == erwartet
    assert rest.webhook_pruefen(SECRET, h, anfrage.content)
    assert not rest.webhook_pruefen(SECRET, h, anfrage.content + b" ")
    body = json.loads(anfrage.content)
    assert body["ticket"]["nummer"] == "115-2026-000042"
    assert body["leistung"]["leika"] == "99107004000000"
    assert body["kontakt"]["email"] == "erika@example.org"
    assert base64.b64decode(body["anhaenge"][0]["inhalt_base64"]) == b"\xff\xd8bild"


@respx.mock
def test_rest_ohne_einwilligung_keine_kontaktdaten(client):
    route = respx.post(URL).mock(return_value=httpx.Response(200, json={"id": 99}))
    assert rest_adapter().einreichen(auftrag(kontakt=None), ctx(client)).externe_id == "99"
    body = json.loads(route.calls.last.request.content)
    assert body["kontakt"] is None and "Erika" not in route.calls.last.request.content.decode()


@pytest.mark.parametrize("code", [500, 502, 503, 408, 429])
@respx.mock
def test_rest_voruebergehend(client, code):
    respx.post(URL).mock(return_value=httpx.Response(code))
    with pytest.raises(VoruebergehenderFehler, match=str(code)):
        rest_adapter().einreichen(auftrag(), ctx(client))


@respx.mock
def test_rest_timeout_und_verbindungsfehler_voruebergehend(client):
    respx.post(URL).mock(side_effect=httpx.ReadTimeout("zu langsam"))
    with pytest.raises(VoruebergehenderFehler, match="Zeitüberschreitung"):
        rest_adapter().einreichen(auftrag(), ctx(client))
    respx.post(URL).mock(side_effect=httpx.ConnectError("weg"))
    with pytest.raises(VoruebergehenderFehler, match="Verbindung"):
        rest_adapter().einreichen(auftrag(), ctx(client))


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 422])
@respx.mock
def test_rest_endgueltig(client, code):
    respx.post(URL).mock(return_value=httpx.Response(code, json={"fehler": "nein"}))
    with pytest.raises(EndgueltigerFehler, match=str(code)):
        rest_adapter().einreichen(auftrag(), ctx(client))


@pytest.mark.parametrize("antwort", [
    httpx.Response(200, text="<html>ok</html>"),
    httpx.Response(200, json=["FV-1"]),
    httpx.Response(201, json={"status": "angenommen"}),
    httpx.Response(200, json={"vorgang_id": ""}),
])
@respx.mock
def test_rest_kaputte_antwort_endgueltig(client, antwort):
    respx.post(URL).mock(return_value=antwort)
    with pytest.raises(EndgueltigerFehler):
        rest_adapter().einreichen(auftrag(), ctx(client))


# --- FIT-Connect -----------------------------------------------------------------------------------------

API = "https://zustelldienst.example/submission-api"
TOKEN_URL = "https://auth.example/token"
DEST = "d2d43892-9d9c-4630-980a-5af341179b95"
KID = "schluessel-1"
# A minimal schema of our own for the unit test; the real schema is checked in korpus/test_fitconnect.py.
MINI_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["contentStructure", "publicServiceType"],
    "properties": {
        "contentStructure": {"type": "object", "required": ["attachments", "data"]},
        "publicServiceType": {"type": "object", "required": ["identifier"],
                              "properties": {"identifier": {"type": "string", "pattern": "^urn:de:fim:leika:"}}},
    },
}


@pytest.fixture(scope="module")
def privat() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": KID, "alg": "RSA-OAEP-256", "use": "enc"})


@pytest.fixture
def schema_pfad(tmp_path):
    p = tmp_path / "mini.schema.json"
    p.write_text(json.dumps(MINI_SCHEMA))
    return str(p)


def fc_adapter(schema_pfad: str = "") -> fitconnect.FitConnectAdapter:
    return fitconnect.FitConnectAdapter.aus_konfiguration("fc", {
        "token_url": TOKEN_URL, "submission_api": API, "client_id": "cid", "client_secret": "csecret",
        "destination_id": DEST, "callback_secret": "cb", "metadata_schema": schema_pfad,
    })


def entschluesseln(token: str, privat: RSAKey) -> bytes:
    ergebnis = jwe.decrypt_compact(token, privat, algorithms=["RSA-OAEP-256", "A256GCM"])
    assert ergebnis.protected["alg"] == "RSA-OAEP-256" and ergebnis.protected["enc"] == "A256GCM"
    return ergebnis.plaintext


class Zustelldienst:
    """respx mock of token endpoint and Submission API v2 that decrypts what arrives."""

    def __init__(self, privat: RSAKey) -> None:
        self.privat = privat
        self.angekuendigt: list[str] = []
        self.anlagen: dict[str, bytes] = {}
        self.metadaten: dict | None = None
        self.daten: dict | None = None
        self.einreichung: dict | None = None

    def einrichten(self, mock: respx.MockRouter) -> None:
        oeffentlich = self.privat.as_dict(private=False)
        mock.post(TOKEN_URL).mock(side_effect=self.token)
        mock.get(f"{API}/v2/destinations/{DEST}").mock(
            return_value=httpx.Response(200, json={"destinationId": DEST, "encryptionKid": KID, "status": "active"}))
        mock.get(f"{API}/v2/destinations/{DEST}/keys/{KID}").mock(return_value=httpx.Response(200, json=oeffentlich))
        self.route_anlegen = mock.post(f"{API}/v2/submissions").mock(side_effect=self.anlegen)
        mock.put(url__regex=rf"{API}/v2/submissions/sub-1/attachments/.+").mock(side_effect=self.anlage)
        mock.put(f"{API}/v2/submissions/sub-1").mock(side_effect=self.absenden)

    def token(self, request: httpx.Request) -> httpx.Response:
        form = dict(x.split("=", 1) for x in request.content.decode().split("&"))
        assert form == {"grant_type": "client_credentials", "client_id": "cid", "client_secret": "csecret"}
        return httpx.Response(200, json={"access_token": "tok", "token_type": "Bearer", "expires_in": 1800})

    def anlegen(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer tok"
        self.einreichung = json.loads(request.content)
        self.angekuendigt = self.einreichung["announcedAttachments"]
        return httpx.Response(201, json={"destinationId": DEST, "submissionId": "sub-1", "caseId": "case-1"})

    def anlage(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Content-Type"] == "application/jose"
        aid = request.url.path.rsplit("/", 1)[-1]
        assert aid in self.angekuendigt
        self.anlagen[aid] = entschluesseln(request.content.decode(), self.privat)
        return httpx.Response(204)

    def absenden(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.metadaten = json.loads(entschluesseln(body["encryptedMetadata"], self.privat))
        roh = entschluesseln(body["encryptedData"], self.privat)
        self.daten = json.loads(roh)
        assert self.metadaten["contentStructure"]["data"]["hash"]["content"] == hashlib.sha512(roh).hexdigest()
        return httpx.Response(202, json={"submissionId": "sub-1"})


def test_fitconnect_erfolg_entschluesselt_beim_empfaenger(client, privat, schema_pfad):
    zd = Zustelldienst(privat)
    with respx.mock as mock:
        zd.einrichten(mock)
        ergebnis = fc_adapter(schema_pfad).einreichen(auftrag(), ctx(client))
    assert ergebnis.externe_id == "case-1"
    assert zd.einreichung["publicService"]["identifier"] == "urn:de:fim:leika:leistung:99107004000000"
    assert zd.einreichung["destinationId"] == DEST
    assert len(zd.angekuendigt) == 1 and list(zd.anlagen.values()) == [b"\xff\xd8bild"]
    m = zd.metadaten
    assert m["publicServiceType"]["identifier"] == "urn:de:fim:leika:leistung:99107004000000"
    anlage = m["contentStructure"]["attachments"][0]
    assert anlage["attachmentId"] == zd.angekuendigt[0]
    assert anlage["hash"]["content"] == hashlib.sha512(b"\xff\xd8bild").hexdigest()
    assert m["replyChannel"] == {"eMail": {"address": "erika@example.org"}}
    assert zd.daten["ticket"]["nummer"] == "115-2026-000042" and zd.daten["anliegen"] == "Straßenlaterne defekt"


def test_fitconnect_eingebautes_schema_und_gleiche_anlagen_ids_beim_wiederholen(client, privat):
    ids = []
    for _ in range(2):
        zd = Zustelldienst(privat)
        with respx.mock as mock:
            zd.einrichten(mock)
            fc_adapter().einreichen(auftrag(), ctx(client))
        ids.append(zd.angekuendigt)
    assert ids[0] == ids[1]


def test_fitconnect_ungueltige_metadaten_endgueltig_ohne_einreichung(client, privat, tmp_path):
    strenger = {**MINI_SCHEMA, "required": ["contentStructure", "paymentInformation"]}
    p = tmp_path / "streng.json"
    p.write_text(json.dumps(strenger))
    zd = Zustelldienst(privat)
    with respx.mock as mock:
        zd.einrichten(mock)
        with pytest.raises(EndgueltigerFehler, match="Metadaten ungültig"):
            fc_adapter(str(p)).einreichen(auftrag(), ctx(client))
        assert not zd.route_anlegen.called  # POST /v2/submissions never happened


def test_fitconnect_ohne_leika_endgueltig(client):
    with pytest.raises(EndgueltigerFehler, match="LeiKa"):
        fc_adapter().einreichen(auftrag(leistung=None), ctx(client))


@pytest.mark.parametrize(("code", "fehler"), [(503, VoruebergehenderFehler), (429, VoruebergehenderFehler),
                                              (400, EndgueltigerFehler), (404, EndgueltigerFehler)])
def test_fitconnect_fehler_bei_der_einreichung(client, privat, code, fehler):
    zd = Zustelldienst(privat)
    with respx.mock as mock:
        zd.einrichten(mock)
        mock.post(f"{API}/v2/submissions").mock(return_value=httpx.Response(code))
        with pytest.raises(fehler, match=str(code)):
            fc_adapter().einreichen(auftrag(), ctx(client))


def test_fitconnect_token_timeout_voruebergehend_und_kaputte_antworten(client, privat):
    with respx.mock as mock:
        mock.post(TOKEN_URL).mock(side_effect=httpx.ConnectTimeout("weg"))
        with pytest.raises(VoruebergehenderFehler):
            fc_adapter().einreichen(auftrag(), ctx(client))
    zd = Zustelldienst(privat)
    with respx.mock as mock:
        zd.einrichten(mock)
        mock.post(f"{API}/v2/submissions").mock(return_value=httpx.Response(201, json={"submissionId": "sub-1"}))
        with pytest.raises(EndgueltigerFehler, match="caseId"):
            fc_adapter().einreichen(auftrag(), ctx(client))
    with respx.mock as mock:
        zd.einrichten(mock)
        mock.get(f"{API}/v2/destinations/{DEST}/keys/{KID}").mock(return_value=httpx.Response(200, text="kaputt"))
        with pytest.raises(EndgueltigerFehler, match="kein JSON"):
            fc_adapter().einreichen(auftrag(), ctx(client))


def _set(ereignis: str, iat: int) -> str:
    def b64(d) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'PS512', 'typ': 'secevent+jwt'})}.{b64({'iat': iat, 'events': {fitconnect.EVENT + ereignis: {}}, 'txn': 'case:case-1'})}.c2ln"


def test_fitconnect_ereignisprotokoll(client):
    with respx.mock as mock:
        mock.post(TOKEN_URL).mock(return_value=httpx.Response(200, json={"access_token": "tok", "expires_in": 60}))
        mock.get(f"{API}/v2/cases/case-1/events").mock(return_value=httpx.Response(200, json={"eventLog": [
            _set("accept-submission", 20), _set("submit-submission", 10)]}))
        assert fc_adapter().zustand_abrufen("case-1", ctx(client)) == Buergerstatus.RECEIVED
        mock.get(f"{API}/v2/cases/case-1/events").mock(return_value=httpx.Response(200, json={"eventLog": "x"}))
        with pytest.raises(EndgueltigerFehler):
            fc_adapter().zustand_abrufen("case-1", ctx(client))


# --- e-mail and registry ---------------------------------------------------------------------------------


def test_email_adapter_schreibt_outbox(db_session, client):
    ergebnis = EmailAdapter("email", postfach="zentrale@halle.example").einreichen(auftrag(), ctx(client, db_session))
    zeile = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == "uebergabe_email")).one()
    assert ergebnis.externe_id == f"email-{zeile.id}"
    assert zeile.payload["an"] == "tiefbau@halle.example"  # the Organisationseinheit's own mailbox first
    assert "115-2026-000042" in zeile.payload["betreff"]
    assert "LeiKa-Schlüssel: 99107004000000" in zeile.payload["text"]
    assert "Straßenlaterne defekt" in zeile.payload["text"]


def test_email_adapter_ohne_postfach_endgueltig(db_session, client):
    with pytest.raises(EndgueltigerFehler, match="Postfach"):
        EmailAdapter("email").einreichen(auftrag(organisationseinheit=None), ctx(client, db_session))


def test_registry_zuordnung():
    r = Registry({"email": {"typ": "email", "postfach": "a@b.example"}, "fv": {"typ": "rest", "url": URL,
                                                                          "secret": "s"}},
                 {"12": "fv", "*": "email"})
    assert r.fuer_queue(12).name == "fv"
    assert r.fuer_queue(13).name == "email" and r.fuer_queue(None).name == "email"
    assert Registry({"m": {"typ": "email"}}, {}).fuer_queue(5).name == "m"
    with pytest.raises(ValueError, match="unbekannten Adapter"):
        Registry({"email": {"typ": "email"}}, {"*": "fehlt"})
    with pytest.raises(ValueError, match="unbekannter Typ"):
        Registry({"x": {"typ": "ftp"}}, {})
    with pytest.raises(ValueError, match="url und secret"):
        Registry({"x": {"typ": "rest"}}, {})

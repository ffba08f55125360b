"""Inbound callbacks: HMAC-SHA512 over timestamp + body; good, wrong, old, replayed, unknown."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
import respx
from sqlalchemy import func, select

from servicecenter.outbox.models import OutboxEintrag
from servicecenter.settings import Settings
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import Kanal, TicketArtikel, TicketHistorie
from servicecenter.tickets.zustaende import Buergerstatus, Zustand
from servicecenter.uebergabe import service
from servicecenter.uebergabe.adapter import Registry, callback_signieren
from servicecenter.uebergabe.models import UebergabeCallback, UebergabeStatus
from servicecenter.worker import Worker, WorkerEinstellungen

CB = "callback-geheimnis"
FC_API = "https://zd.example/submission-api"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, db_auto_upgrade=False, _env_file=None, uebergabe_adapter={
        "fv": {"typ": "rest", "url": "https://fv.example/v", "secret": "s", "callback_secret": CB},
        "fc": {"typ": "fitconnect", "token_url": "https://auth.example/token", "submission_api": FC_API,
               "client_id": "c", "client_secret": "s", "destination_id": "d", "callback_secret": CB},
        "email": {"typ": "email", "postfach": "a@halle.example"},
    }, uebergabe_zuordnung={"*": "fv"})


@pytest.fixture
def zugestellt(db_session, app, uhr):
    """A ticket handed off to "fv" and delivered as case FV-1 (citizen consented)."""
    registry: Registry = app.state.uebergabe_registry
    einst = tickets.TicketEinstellungen()
    t = tickets.ticket_anlegen(db_session, anliegen="Laterne aus", kanal=Kanal.telefon, benutzer=None,
                               einstellungen=einst, jetzt=uhr(),
                               buerger=tickets.BuergerDaten(email="b@example.org", einwilligung=True))
    u = service.uebergeben(db_session, t, benutzer=None, registry=registry, einstellungen=einst, jetzt=uhr())
    u.status, u.externe_id = UebergabeStatus.zugestellt, "FV-1"
    db_session.commit()
    return t


def senden(client, uhr, daten, *, adapter="fv", secret=CB, alter=0, body: bytes | None = None):
    roh = body if body is not None else json.dumps(daten).encode()
    kopf = callback_signieren(secret, int(uhr().timestamp()) - alter, roh)
    return client.post(f"/api/v1/uebergabe/{adapter}/callback", content=roh, headers=kopf)


def historie(db_session, t, feld):
    return [(h.alt, h.neu) for h in db_session.scalars(
        select(TicketHistorie).where(TicketHistorie.ticket_id == t.id, TicketHistorie.feld == feld)
        .order_by(TicketHistorie.id))]


def test_gueltiger_callback_setzt_buergerstatus_mit_historie(web_client, db_session, zugestellt, uhr):
    r = senden(web_client, uhr, {"id": "ev-1", "vorgang_id": "FV-1", "status": "ACTION_REQUIRED",
                                 "text": "Bitte Foto nachreichen"})
    assert r.status_code == 200, r.text
    db_session.expire_all()
    t = zugestellt
    assert t.buergerstatus == Buergerstatus.ACTION_REQUIRED and t.zustand == Zustand.an_fachverfahren_uebergeben
    assert historie(db_session, t, "buergerstatus") == [("PROCESSING", "ACTION_REQUIRED")]
    notiz = db_session.scalars(select(TicketArtikel).where(TicketArtikel.ticket_id == t.id)).one()
    assert notiz.art.value == "notiz" and "Foto nachreichen" in notiz.text
    # the citizen consented with an e-mail address: a status mail is queued (status package)
    mails = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == "status_email")
                               .order_by(OutboxEintrag.id)).all()
    assert [m.payload["buergerstatus"] for m in mails] == ["PROCESSING", "ACTION_REQUIRED"]

    uhr.vor(minutes=1)
    r = senden(web_client, uhr, {"id": "ev-2", "ticket": t.nummer, "status": "COMPLETED"})
    assert r.status_code == 200
    db_session.expire_all()
    assert t.zustand == Zustand.erledigt and t.buergerstatus == Buergerstatus.COMPLETED
    assert historie(db_session, t, "status")[-1] == ("an_fachverfahren_uebergeben", "erledigt")
    mails = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == "status_email")).all()
    assert [m.payload["buergerstatus"] for m in mails][-1] == "COMPLETED" and len(mails) == 3


def _unveraendert(db_session, t, version):
    db_session.expire_all()
    assert t.version == version and t.buergerstatus == Buergerstatus.PROCESSING
    assert historie(db_session, t, "buergerstatus") == []


def test_falsche_signatur_401(web_client, db_session, zugestellt, uhr):
    v = zugestellt.version
    r = senden(web_client, uhr, {"id": "ev-1", "vorgang_id": "FV-1", "status": "COMPLETED"}, secret="falsch")
    assert r.status_code == 401
    roh = json.dumps({"vorgang_id": "FV-1", "status": "COMPLETED"}).encode()
    kopf = callback_signieren(CB, int(uhr().timestamp()), roh)
    manipuliert = web_client.post("/api/v1/uebergabe/fv/callback", headers=kopf,
                                  content=roh.replace(b"FV-1", b"FV-2"))
    assert manipuliert.status_code == 401
    ohne = web_client.post("/api/v1/uebergabe/fv/callback", content=roh, headers={"Content-Type": "application/json"})
    assert ohne.status_code == 401
    _unveraendert(db_session, zugestellt, v)


def test_zu_alt_401_knapp_gueltig_200(web_client, db_session, zugestellt, uhr):
    v = zugestellt.version
    r = senden(web_client, uhr, {"id": "ev-1", "vorgang_id": "FV-1", "status": "COMPLETED"}, alter=301)
    assert r.status_code == 401
    _unveraendert(db_session, zugestellt, v)
    r = senden(web_client, uhr, {"id": "ev-1", "vorgang_id": "FV-1", "status": "RECEIVED"}, alter=299)
    assert r.status_code == 200


def test_wiederholung_401(web_client, db_session, zugestellt, uhr):
    daten = {"id": "ev-1", "vorgang_id": "FV-1", "status": "RECEIVED"}
    roh = json.dumps(daten).encode()
    kopf = callback_signieren(CB, int(uhr().timestamp()), roh)
    assert web_client.post("/api/v1/uebergabe/fv/callback", content=roh, headers=kopf).status_code == 200
    assert web_client.post("/api/v1/uebergabe/fv/callback", content=roh, headers=kopf).status_code == 401
    # same event id, freshly signed a second later: still a replay
    uhr.vor(seconds=1)
    assert senden(web_client, uhr, {**daten, "status": "COMPLETED"}).status_code == 401
    db_session.expire_all()
    assert zugestellt.buergerstatus == Buergerstatus.RECEIVED and zugestellt.zustand != Zustand.erledigt
    assert db_session.scalar(select(func.count()).select_from(UebergabeCallback)) == 1


@pytest.mark.parametrize(("adapter", "daten"), [
    ("unbekannt", {"vorgang_id": "FV-1", "status": "COMPLETED"}),
    ("email", {"vorgang_id": "FV-1", "status": "COMPLETED"}),
    ("fv", {"vorgang_id": "FV-999", "status": "COMPLETED"}),
    ("fv", {"ticket": "115-2026-999999", "status": "COMPLETED"}),
    ("fv", {"vorgang_id": "FV-1", "status": "VIELLEICHT"}),
    ("fv", {"status": "COMPLETED"}),
])
def test_unbekannt_401_ohne_aenderung(web_client, db_session, zugestellt, uhr, adapter, daten):
    v = zugestellt.version
    assert senden(web_client, uhr, daten, adapter=adapter).status_code == 401
    _unveraendert(db_session, zugestellt, v)
    assert db_session.scalar(select(func.count()).select_from(UebergabeCallback)) == 0


def test_kein_json_401(web_client, db_session, zugestellt, uhr):
    assert senden(web_client, uhr, None, body=b"\xff\xfe kein json").status_code == 401


def test_fitconnect_callback_liest_ereignisprotokoll_im_worker(web_client, db_session, app, uhr, session_factory):
    import base64

    registry: Registry = app.state.uebergabe_registry
    einst = tickets.TicketEinstellungen()
    t = tickets.ticket_anlegen(db_session, anliegen="Antrag", kanal=Kanal.email, benutzer=None,
                               einstellungen=einst, jetzt=uhr())
    u = service.uebergeben(db_session, t, benutzer=None, registry=Registry(
        {"fc": {"typ": "email"}}, {"*": "fc"}), einstellungen=einst, jetzt=uhr())  # no FIT-Connect submission here
    u.status, u.externe_id = UebergabeStatus.zugestellt, "case-7"
    db_session.commit()

    r = senden(web_client, uhr, {"type": "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-events",
                                 "caseId": "case-7"}, adapter="fc")
    assert r.status_code == 200, r.text
    abruf = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == "uebergabe_abruf")).one()

    def set_token(ereignis):
        def b64(d):
            return base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
        return f"{b64({'alg': 'PS512'})}.{b64({'iat': 1, 'events': {ereignis: {}}})}.c2ln"

    with respx.mock, httpx.Client() as client:
        respx.post("https://auth.example/token").mock(return_value=httpx.Response(200, json={"access_token": "t"}))
        respx.get(f"{FC_API}/v2/cases/case-7/events").mock(return_value=httpx.Response(200, json={
            "eventLog": [set_token("https://schema.fitko.de/fit-connect/events/accept-submission")]}))
        w = Worker(sessions=session_factory, handler=[service.Zustellung(registry=registry, einstellungen=einst)],
                   einstellungen=WorkerEinstellungen(lease=timedelta(seconds=30)), client=client, uhr=uhr)
        assert w.runde() == 2  # the (already delivered) hand-off row and the event-log fetch
    db_session.expire_all()
    assert abruf.status.value == "gesendet"
    assert t.buergerstatus == Buergerstatus.RECEIVED
    assert historie(db_session, t, "buergerstatus") == [("PROCESSING", "RECEIVED")]


def test_zu_grosser_callback_413(web_client, zugestellt, uhr):
    assert senden(web_client, uhr, None, body=b"x" * (300 * 1024)).status_code == 413


def test_alte_signaturen_werden_vergessen(web_client, db_session, zugestellt, uhr, app, session_factory):
    assert senden(web_client, uhr, {"id": "ev-9", "vorgang_id": "FV-1", "status": "RECEIVED"}).status_code == 200
    uhr.vor(hours=2)
    w = Worker(sessions=session_factory, handler=[service.Zustellung(registry=app.state.uebergabe_registry,
                                                                     einstellungen=tickets.TicketEinstellungen())],
               client=httpx.Client(), uhr=uhr)
    w.aufraeumen()
    assert db_session.scalar(select(func.count()).select_from(UebergabeCallback)) == 0

"""Outbox worker with the hand-off handler: delivery, backoff, maximum age, leases, retry by agents."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import respx
from sqlalchemy import func, select, text

from servicecenter.auth.models import Rolle
from servicecenter.outbox import service as outbox
from servicecenter.outbox.models import OutboxEintrag, OutboxStatus
from servicecenter.settings import Settings
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import Kanal, TicketHistorie
from servicecenter.tickets.zustaende import Zustand
from servicecenter.uebergabe import service
from servicecenter.uebergabe.adapter import Registry
from servicecenter.uebergabe.models import UebergabeStatus
from servicecenter.worker import Worker, WorkerEinstellungen, wartezeit
from wissensdatenbank.models import Leistung, Organisationseinheit

URL = "https://fv.example/vorgaenge"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EINST = WorkerEinstellungen(lease=timedelta(seconds=60), stapel=10, intervall=0.01, backoff_basis=10,
                            backoff_max=600, max_alter=timedelta(hours=2))


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, db_auto_upgrade=False, _env_file=None,
                    uebergabe_adapter={"fv": {"typ": "rest", "url": URL, "secret": "s3cr3t", "callback_secret": "cb"},
                                       "email": {"typ": "email", "postfach": "zentrale@halle.example"}},
                    uebergabe_zuordnung={"*": "fv"})


class Uhr:
    def __init__(self) -> None:
        self.jetzt = START

    def __call__(self) -> datetime:
        return self.jetzt


@pytest.fixture
def zeit() -> Uhr:
    return Uhr()


@pytest.fixture
def registry(settings) -> Registry:
    return Registry.aus_settings(settings)


@pytest.fixture
def einst(settings) -> tickets.TicketEinstellungen:
    return tickets.TicketEinstellungen.aus(settings)


def neuer_worker(session_factory, registry, einst, zeit, client, name="w1", **kw) -> Worker:
    return Worker(sessions=session_factory, handler=[service.Zustellung(registry=registry, einstellungen=einst)],
                  einstellungen=kw.pop("einstellungen", EINST), client=client, name=name, uhr=zeit,
                  zufall=lambda: 1.0, **kw)


@pytest.fixture
def client():
    with httpx.Client() as c:
        yield c


def ticket_uebergeben(db_session, registry, einst, zeit, *, queue_id=None, einwilligung=True):
    leistung = Leistung(leistungsname="Sperrmüll anmelden", leika="99108001000000")
    db_session.add(leistung)
    db_session.flush()
    t = tickets.ticket_anlegen(
        db_session, anliegen="Sperrmüll vor dem Haus", kanal=Kanal.telefon, benutzer=None, einstellungen=einst,
        leistung_id=leistung.id, queue_id=queue_id, jetzt=zeit(),
        buerger=tickets.BuergerDaten(name="Max Muster", email="max@example.org", einwilligung=True)
        if einwilligung else None,
    )
    u = service.uebergeben(db_session, t, benutzer=None, registry=registry, einstellungen=einst, jetzt=zeit())
    db_session.commit()
    return t, u


def test_wartezeit_exponentiell_mit_jitter_und_obergrenze():
    assert wartezeit(1, 10, 600, lambda: 1.0) == 10
    assert wartezeit(1, 10, 600, lambda: 0.0) == 5
    assert wartezeit(3, 10, 600, lambda: 1.0) == 40
    assert wartezeit(30, 10, 600, lambda: 1.0) == 600
    assert 300 <= wartezeit(200, 10, 600) <= 600


def test_uebergeben_schreibt_ticket_und_outbox_in_einer_transaktion(db_session, registry, einst, zeit):
    t, u = ticket_uebergeben(db_session, registry, einst, zeit)
    assert t.zustand == Zustand.an_fachverfahren_uebergeben
    e = db_session.get(OutboxEintrag, u.outbox_id)
    assert e.art == "uebergabe" and e.payload == {"uebergabe_id": u.id} and e.idempotenz_schluessel
    assert "Max" not in str(e.payload)
    with pytest.raises(tickets.UngueltigeEingabe, match="gerade übergeben"):
        service.uebergeben(db_session, t, benutzer=None, registry=registry, einstellungen=einst, jetzt=zeit())


def test_uebergeben_scheitert_ganz_bei_geschlossenem_ticket(db_session, registry, einst, zeit):
    t = tickets.ticket_anlegen(db_session, anliegen="Frage", kanal=Kanal.telefon, benutzer=None,
                               einstellungen=einst, jetzt=zeit())
    tickets.ticket_aendern(db_session, t, version=None, benutzer=None, einstellungen=einst,
                           status=Zustand.geschlossen, jetzt=zeit())
    db_session.commit()
    vorher = db_session.scalar(select(func.count()).select_from(OutboxEintrag))
    with pytest.raises(tickets.UngueltigeEingabe, match="geschlossen"):
        service.uebergeben(db_session, t, benutzer=None, registry=registry, einstellungen=einst, jetzt=zeit())
    db_session.rollback()
    assert db_session.scalar(select(func.count()).select_from(OutboxEintrag)) == vorher
    assert service.letzte_uebergabe(db_session, t) is None


@respx.mock
def test_zustellung_erfolg(db_session, session_factory, registry, einst, zeit, client):
    route = respx.post(URL).mock(return_value=httpx.Response(201, json={"vorgang_id": "FV-77"}))
    t, u = ticket_uebergeben(db_session, registry, einst, zeit)
    assert neuer_worker(session_factory, registry, einst, zeit, client).runde() == 1
    db_session.expire_all()
    assert u.status == UebergabeStatus.zugestellt and u.externe_id == "FV-77" and u.versuche == 1
    assert t.externe_vorgangs_id == "FV-77" and t.zustand == Zustand.an_fachverfahren_uebergeben
    e = db_session.get(OutboxEintrag, u.outbox_id)
    assert e.status == OutboxStatus.gesendet and e.beansprucht_von is None
    assert route.calls.last.request.headers["Idempotency-Key"] == e.idempotenz_schluessel
    felder = [h.neu for h in db_session.scalars(select(TicketHistorie).where(
        TicketHistorie.ticket_id == t.id, TicketHistorie.feld == "uebergabe"))]
    assert felder == ["an fv eingereiht", "zugestellt an fv"]
    assert neuer_worker(session_factory, registry, einst, zeit, client).runde() == 0  # nothing due any more


@respx.mock
def test_voruebergehender_fehler_backoff_dann_erfolg_mit_gleichem_schluessel(db_session, session_factory, registry,
                                                                             einst, zeit, client):
    route = respx.post(URL).mock(side_effect=[httpx.Response(503), httpx.ReadTimeout("langsam"),
                                              httpx.Response(200, json={"id": "FV-9"})])
    t, u = ticket_uebergeben(db_session, registry, einst, zeit)
    w = neuer_worker(session_factory, registry, einst, zeit, client)
    assert w.runde() == 1
    db_session.expire_all()
    e = db_session.get(OutboxEintrag, u.outbox_id)
    assert e.status == OutboxStatus.offen and e.versuche == 1 and "503" in e.fehler
    assert e.naechster_versuch == START + timedelta(seconds=10)
    assert u.status == UebergabeStatus.ausstehend
    assert w.runde() == 0  # not due yet
    zeit.jetzt += timedelta(seconds=10)
    assert w.runde() == 1
    db_session.expire_all()
    assert e.versuche == 2 and e.naechster_versuch == zeit.jetzt + timedelta(seconds=20)
    zeit.jetzt += timedelta(seconds=20)
    w.runde()
    db_session.expire_all()
    assert u.status == UebergabeStatus.zugestellt and e.status == OutboxStatus.gesendet and e.versuche == 3
    schluessel = {c.request.headers["Idempotency-Key"] for c in route.calls}
    assert len(route.calls) == 3 and schluessel == {e.idempotenz_schluessel}


@respx.mock
def test_endgueltiger_fehler_und_wiederholen_am_desk(db_session, session_factory, registry, einst, zeit, client,
                                                    anmelden, app):
    respx.post(URL).mock(return_value=httpx.Response(422, json={"fehler": "Pflichtfeld"}))
    t, u = ticket_uebergeben(db_session, registry, einst, zeit)
    neuer_worker(session_factory, registry, einst, zeit, client).runde()
    db_session.expire_all()
    assert u.status == UebergabeStatus.fehlgeschlagen and "422" in u.fehler
    assert t.zustand == Zustand.in_bearbeitung  # back with the agents
    assert db_session.get(OutboxEintrag, u.outbox_id).status == OutboxStatus.fehlgeschlagen

    agent = anmelden(Rolle.teamleitung)
    seite = agent.client.get(f"/desk/tickets/{t.nummer}")
    assert seite.status_code == 200
    assert "Übergabe fehlgeschlagen" in seite.text and "HTTP 422" in seite.text
    assert f'action="/desk/tickets/{t.nummer}/uebergabe/wiederholen"' in seite.text
    ohne_csrf = agent.client.post(f"/desk/tickets/{t.nummer}/uebergabe/wiederholen", data={})
    assert ohne_csrf.status_code == 403
    r = agent.post(f"/desk/tickets/{t.nummer}/uebergabe/wiederholen", follow_redirects=False)
    assert r.status_code == 303, r.text
    db_session.expire_all()
    e = db_session.get(OutboxEintrag, u.outbox_id)
    assert u.status == UebergabeStatus.ausstehend and e.status == OutboxStatus.offen and e.versuche == 0
    assert t.zustand == Zustand.an_fachverfahren_uebergeben
    zeit.jetzt = e.naechster_versuch  # the app's clock set the retry time
    respx.post(URL).mock(return_value=httpx.Response(201, json={"vorgang_id": "FV-2"}))
    neuer_worker(session_factory, registry, einst, zeit, client).runde()
    db_session.expire_all()
    assert u.status == UebergabeStatus.zugestellt
    assert "Übergabe fehlgeschlagen" not in agent.client.get(f"/desk/tickets/{t.nummer}").text


@respx.mock
def test_hoechstalter_gibt_auf(db_session, session_factory, registry, einst, zeit, client):
    respx.post(URL).mock(return_value=httpx.Response(500))
    t, u = ticket_uebergeben(db_session, registry, einst, zeit)
    w = neuer_worker(session_factory, registry, einst, zeit, client)
    for _ in range(50):
        w.runde()
        db_session.expire_all()
        if u.status != UebergabeStatus.ausstehend:
            break
        zeit.jetzt = db_session.get(OutboxEintrag, u.outbox_id).naechster_versuch
    assert u.status == UebergabeStatus.fehlgeschlagen and "Höchstalter" in u.fehler
    assert zeit.jetzt - START >= EINST.max_alter
    assert t.zustand == Zustand.in_bearbeitung


@respx.mock
def test_abgestuerzter_worker_lease_laeuft_ab(db_session, session_factory, registry, einst, zeit, client):
    route = respx.post(URL).mock(return_value=httpx.Response(201, json={"vorgang_id": "FV-5"}))
    t, u = ticket_uebergeben(db_session, registry, einst, zeit)
    with session_factory() as s:  # worker A claims and dies before delivering
        assert outbox.beanspruchen(s, arten=["uebergabe"], worker="A", lease=EINST.lease, jetzt=zeit()) == [u.outbox_id]
        s.commit()
    b = neuer_worker(session_factory, registry, einst, zeit, client, name="B")
    assert b.runde() == 0
    zeit.jetzt += EINST.lease + timedelta(seconds=1)
    assert b.runde() == 1
    db_session.expire_all()
    assert u.status == UebergabeStatus.zugestellt and route.call_count == 1


@respx.mock
def test_spaetes_ergebnis_nach_uebernahme_wird_verworfen(db_session, session_factory, registry, einst, zeit, client):
    """A slow worker whose lease ran out must not overwrite the new holder's state."""
    respx.post(URL).mock(return_value=httpx.Response(201, json={"vorgang_id": "FV-6"}))
    t, u = ticket_uebergeben(db_session, registry, einst, zeit)
    a = neuer_worker(session_factory, registry, einst, zeit, client, name="A")
    with session_factory() as s:
        outbox.beanspruchen(s, arten=["uebergabe"], worker="A", lease=EINST.lease, jetzt=zeit())
        s.commit()
    with session_factory() as s:  # lease expired, B took the row over
        outbox.beanspruchen(s, arten=["uebergabe"], worker="B", lease=EINST.lease,
                            jetzt=zeit() + EINST.lease + timedelta(seconds=1))
        s.commit()
    a._eins(u.outbox_id)
    db_session.expire_all()
    e = db_session.get(OutboxEintrag, u.outbox_id)
    assert e.beansprucht_von == "B" and e.status == OutboxStatus.offen and u.status == UebergabeStatus.ausstehend


def test_fremde_arten_bleiben_liegen(db_session, session_factory, registry, einst, zeit, client):
    fremd = outbox.in_outbox(db_session, art="ticket_nachricht", payload={"x": 1}, jetzt=zeit())
    db_session.commit()
    assert neuer_worker(session_factory, registry, einst, zeit, client).runde() == 0
    db_session.expire_all()
    assert fremd.status == OutboxStatus.offen and fremd.beansprucht_von is None


def test_email_adapter_ueber_queue_zuordnung(db_session, session_factory, settings, einst, zeit, client):
    oe = Organisationseinheit(name="Ordnungsamt", email="ordnungsamt@halle.example")
    db_session.add(oe)
    db_session.flush()
    registry = Registry(settings.uebergabe_adapter, {str(oe.id): "email", "*": "fv"})
    t, u = ticket_uebergeben(db_session, registry, einst, zeit, queue_id=oe.id)
    assert u.adapter == "email"
    neuer_worker(session_factory, registry, einst, zeit, client).runde()
    db_session.expire_all()
    mail = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == "uebergabe_email")).one()
    assert u.status == UebergabeStatus.zugestellt and u.externe_id == f"email-{mail.id}"
    assert mail.payload["an"] == "ordnungsamt@halle.example" and mail.status == OutboxStatus.offen


def test_laufen_endet_mit_stopp(session_factory, registry, einst, zeit, client):
    stopp = threading.Event()
    stopp.set()
    neuer_worker(session_factory, registry, einst, zeit, client).laufen(stopp)  # returns at once


def test_api_uebergabe_und_liste(db_session, web_client, api_token, uhr):
    zugang = api_token(Rolle.teamleitung)
    t = tickets.ticket_anlegen(db_session, anliegen="Ampel defekt", kanal=Kanal.email, benutzer=None,
                               einstellungen=tickets.TicketEinstellungen(), jetzt=uhr())
    db_session.commit()
    r = web_client.post(f"/api/v1/tickets/{t.nummer}/uebergabe", json={"version": t.version},
                        headers=zugang.headers)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "ausstehend" and r.json()["adapter"] == "fv"
    r2 = web_client.post(f"/api/v1/tickets/{t.nummer}/uebergabe", json={}, headers=zugang.headers)
    assert r2.status_code == 422 and "gerade übergeben" in r2.json()["detail"]
    liste = web_client.get(f"/api/v1/tickets/{t.nummer}/uebergaben", headers=zugang.headers).json()
    assert [x["status"] for x in liste] == ["ausstehend"]
    assert web_client.post(f"/api/v1/tickets/{t.nummer}/uebergabe/wiederholen",
                           headers=zugang.headers).status_code == 422
    assert web_client.post(f"/api/v1/tickets/{t.nummer}/uebergabe", json={}).status_code == 401


def test_postgres_mehrere_worker_beanspruchen_nie_dieselbe_zeile(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED: PostgreSQL only (SQLite runs one worker)")
    from sqlalchemy.orm import Session

    art = "test_parallel_claim"
    with Session(engine) as s:
        for i in range(40):
            outbox.in_outbox(s, art=art, payload={"i": i}, jetzt=START)
        s.commit()
    try:
        s1, s2 = Session(engine), Session(engine)
        # s1 claims and keeps its transaction open (rows locked); s2 must skip those rows, not wait.
        a = outbox.beanspruchen(s1, arten=[art], worker="A", lease=timedelta(seconds=60), limit=15, jetzt=START)
        b = outbox.beanspruchen(s2, arten=[art], worker="B", lease=timedelta(seconds=60), limit=15, jetzt=START)
        s1.commit()
        s2.commit()
        c = outbox.beanspruchen(s1, arten=[art], worker="C", lease=timedelta(seconds=60), limit=100, jetzt=START)
        s1.commit()
        assert len(a) == len(b) == 15 and len(c) == 10
        assert not set(a) & set(b) and not (set(a) | set(b)) & set(c)
        s1.close()
        s2.close()
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM outbox WHERE art = :a"), {"a": art})

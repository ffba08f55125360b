"""The whole mail round trip over real sockets: our SMTP receiver (aiosmtpd) with the pipeline, the outbox worker
sending with aiosmtplib to aiosmtpd peers. A citizen's question is answered and the conversation stays threaded;
a hostile auto-responder that answers every mail without any auto headers gets at most one mail from us."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from email.message import EmailMessage

import aiosmtplib
import pytest
from sqlalchemy import select

from kanaele.email.empfang import MailEmpfaenger
from kanaele.email.models import MailEingang
from kanaele.email.pipeline import MailVerarbeitung
from kanaele.email.versand import MailVersand
from servicecenter.outbox.models import OutboxEintrag, OutboxStatus
from servicecenter.settings import Settings
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import ArtikelArt, Ticket, TicketArtikel
from servicecenter.worker import Worker, WorkerEinstellungen
from tests.integration.mailpeers import Empfangen, SmtpSenke, freier_port, smtp_server
from tests.kanaele.email.pipeline_hilfe import katalog, mail, wdb  # noqa: F401  (fixtures)

ARTEN = ("email_senden", "ticket_nachricht", "status_email")


@pytest.fixture
def aussen():
    """The outside world: every mail we send lands here (citizen and hostile robot share one MX)."""
    with smtp_server(SmtpSenke()) as s:
        yield s


@pytest.fixture
def settings(db_url, aussen) -> Settings:
    return Settings(database_url=db_url, db_auto_upgrade=False, _env_file=None, smtp_host="127.0.0.1",
                    smtp_port=aussen.port, smtp_sicherheit="none", mail_absender="115@halle.example",
                    mail_domain="halle.example", smtp_timeout_sekunden=10)


@pytest.fixture
def empfaenger(session_factory, wdb, settings):  # noqa: F811
    e = MailEmpfaenger(session_factory, MailVerarbeitung(session_factory, wdb, settings), host="127.0.0.1",
                       port=freier_port(), max_bytes=settings.mail_max_bytes)
    e.start()
    yield e
    e.stop()


@pytest.fixture
def worker(session_factory, settings) -> Worker:
    return Worker(sessions=session_factory, handler=[MailVersand(settings)],
                  einstellungen=WorkerEinstellungen(lease=timedelta(seconds=60), intervall=0.01), name="w",
                  zufall=lambda: 1.0)


def einliefern(empfaenger: MailEmpfaenger, roh: bytes, von: str) -> None:
    """Deliver like an MTA would (SMTP to our receiver), then wait until the pipeline has processed it."""
    fehler, _ = asyncio.run(aiosmtplib.send(roh, sender=von, recipients=["115@halle.example"],
                                            hostname="127.0.0.1", port=empfaenger.port, start_tls=False))
    assert fehler == {}
    empfaenger.warten()


def feindliche_antwort(auf: Empfangen, *, mit_bezug: bool) -> bytes:
    """What a badly built auto-responder sends back: no Auto-Submitted, no Precedence, no X-Auto-*,
    a normal sender address, the subject with "Re:" and our text quoted."""
    original = auf.nachricht
    m = EmailMessage()
    m["From"] = "Kundenservice <service@robot.example>"
    m["To"] = original["From"]
    m["Subject"] = f"Re: {original['Subject']}"
    m["Message-ID"] = f"<antwort-{len(auf.roh)}-{abs(hash(auf.roh))}@robot.example>"
    if mit_bezug:
        m["In-Reply-To"] = original["Message-ID"]
    text = original.get_body(("plain",)).get_content()
    m.set_content("Vielen Dank für Ihre Nachricht! Wir melden uns so schnell wie möglich.\n\n"
                  + "\n".join("> " + z for z in text.splitlines()))
    return m.as_bytes()


def pingpong(empfaenger, worker, aussen, *, mit_bezug: bool, runden: int = 8) -> int:
    """Let the two sides answer each other until nothing moves (or `runden` is reached)."""
    beantwortet = 0
    for _ in range(runden):
        worker.runde()
        neu = [e for e in aussen.mails[beantwortet:] if "robot.example" in " ".join(e.an)]
        beantwortet = len(aussen.mails)
        if not neu:
            break
        for e in neu:
            einliefern(empfaenger, feindliche_antwort(e, mit_bezug=mit_bezug), "service@robot.example")
    return sum("robot.example" in " ".join(e.an) for e in aussen.mails)


def sturm(db_session, empfaenger, worker, aussen, mit_bezug: bool) -> tuple[int, list[MailEingang]]:
    # The robot's first mail looks like a citizen's question we can answer at once.
    erste = mail("buerger_ausweis.eml", MID="start@robot.example").replace(b"Renate Vogel <renate.vogel@example.org>",
                                                                         b"Kundenservice <service@robot.example>")
    einliefern(empfaenger, erste, "service@robot.example")
    an_den_robot = pingpong(empfaenger, worker, aussen, mit_bezug=mit_bezug)
    db_session.expire_all()
    return an_den_robot, list(db_session.scalars(select(MailEingang).order_by(MailEingang.id)))


@pytest.mark.parametrize("mit_bezug", [True, False], ids=["mit-in-reply-to", "nur-betreff"])
def test_schleifensturm_endet_und_verliert_nichts(db_session, empfaenger, worker, aussen, mit_bezug):
    an_den_robot, eingaenge = sturm(db_session, empfaenger, worker, aussen, mit_bezug)
    assert aussen.mails[0].nachricht["Auto-Submitted"] == "auto-replied"  # our auto-responder did answer the first mail
    assert an_den_robot == 1  # bounded: the ping-pong stops after our one answer
    assert len(eingaenge) == 1 + an_den_robot  # every robot mail was stored and processed, none lost
    assert all(e.status != "fehler" for e in eingaenge)
    assert all(e.aktion != "auto_antwort" for e in eingaenge[1:])  # no second automatic answer
    offen = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art.in_(ARTEN),
                                                           OutboxEintrag.status == OutboxStatus.offen)).all()
    assert offen == []  # nothing more waiting to go out: the storm is over


@pytest.mark.parametrize("mit_bezug", [True, False], ids=["mit-in-reply-to", "nur-betreff"])
def test_schleifensturm_hoechstens_eine_mail_an_den_feindlichen_autoresponder(
        db_session, empfaenger, worker, aussen, mit_bezug):
    an_den_robot, _ = sturm(db_session, empfaenger, worker, aussen, mit_bezug)
    assert an_den_robot == 1


def test_buergerin_frage_antwort_rueckfrage_im_selben_faden(db_session, empfaenger, worker, aussen, settings):
    buergerin = "renate.vogel@example.org"
    einliefern(empfaenger, mail("buerger_ausweis.eml", MID="frage-1@example.org"), buergerin)
    worker.runde()
    [antwort] = aussen.mails
    a = antwort.nachricht
    assert antwort.an == [buergerin] and antwort.von == "115@halle.example"
    assert a["Auto-Submitted"] == "auto-replied" and a["Precedence"] == "bulk"
    assert a["X-Auto-Response-Suppress"] == "All"
    assert a["In-Reply-To"] == "<frage-1@example.org>" and a["Message-ID"].endswith("@halle.example>")
    nummer = a["Subject"].rsplit("[", 1)[1].rstrip("]")
    ticket = db_session.scalar(select(Ticket).where(Ticket.nummer == nummer))
    assert ticket is not None and ticket.kontakt_email == buergerin

    # The citizen answers the auto-answer (her client sets In-Reply-To/References, the subject gets "AW:").
    rueck = EmailMessage()
    rueck["From"] = f"Renate Vogel <{buergerin}>"
    rueck["To"] = "115@halle.example"
    rueck["Subject"] = f"AW: {a['Subject']}"
    rueck["Message-ID"] = "<rueckfrage-2@example.org>"
    rueck["In-Reply-To"] = a["Message-ID"]
    rueck["References"] = f"<frage-1@example.org> {a['Message-ID']}"
    rueck.set_content("Danke! Brauche ich auch ein neues Foto?\n\nAm 02.03.2026 schrieb 115:\n> Guten Tag")
    einliefern(empfaenger, rueck.as_bytes(), buergerin)
    db_session.expire_all()
    eingaenge = list(db_session.scalars(select(MailEingang).order_by(MailEingang.id)))
    assert [e.ticket_id for e in eingaenge] == [ticket.id, ticket.id]  # the follow-up is on the same ticket

    # The agent answers from the desk: the mail continues the thread.
    tickets.artikel_anlegen(db_session, db_session.get(Ticket, ticket.id), art=ArtikelArt.nachricht,
                            text="Ja, bitte bringen Sie ein aktuelles biometrisches Foto mit.", benutzer=None,
                            einstellungen=tickets.TicketEinstellungen.aus(settings))
    db_session.commit()
    worker.runde()
    # (the follow-up reopened the ticket, so a status mail "In Bearbeitung" may have gone out before)
    von_menschen = [e for e in aussen.mails if e.nachricht["Auto-Submitted"] is None]
    assert len(von_menschen) == 1 and von_menschen[0].an == [buergerin]
    agent = von_menschen[0].nachricht
    assert agent["In-Reply-To"] == "<rueckfrage-2@example.org>"
    refs = agent["References"].split()
    assert "<frage-1@example.org>" in refs and a["Message-ID"] in refs and "<rueckfrage-2@example.org>" in refs
    assert f"[{nummer}]" in agent["Subject"] and agent["Auto-Submitted"] is None
    assert "biometrisches Foto" in agent.get_body(("plain",)).get_content()
    artikel = db_session.scalars(select(TicketArtikel).where(TicketArtikel.ticket_id == ticket.id)).all()
    assert len(artikel) >= 3

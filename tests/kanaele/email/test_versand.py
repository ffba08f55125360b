"""Sending through the outbox worker against a real aiosmtpd server: MIME, threading and auto headers,
signature, retries on 4xx, permanent 5xx, hard-bounced addresses, STARTTLS/TLS with AUTH."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from kanaele.email import speicher
from kanaele.email.models import MailNachricht
from kanaele.email.versand import ART, MailVersand, SmtpTransport, mail_vormerken, neue_message_id
from servicecenter.outbox import service as outbox
from servicecenter.outbox.models import OutboxEintrag, OutboxStatus
from servicecenter.settings import Settings
from servicecenter.tickets import service as tickets
from servicecenter.tickets.models import ArtikelArt, Kanal, TicketArtikel
from servicecenter.worker import Worker, WorkerEinstellungen, aus_settings
from tests.integration.mailpeers import SmtpSenke, freier_port, smtp_server, tls_kontexte
from wissensdatenbank.models import Organisationseinheit

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EINST = WorkerEinstellungen(lease=timedelta(seconds=60), stapel=10, intervall=0.01, backoff_basis=10,
                            backoff_max=600, max_alter=timedelta(hours=2))


class Uhr:
    def __init__(self) -> None:
        self.jetzt = START

    def __call__(self) -> datetime:
        return self.jetzt


@pytest.fixture
def zeit() -> Uhr:
    return Uhr()


@pytest.fixture
def senke():
    with smtp_server(SmtpSenke()) as s:
        yield s


def mail_settings(db_url: str, port: int, **kw) -> Settings:
    werte = dict(database_url=db_url, db_auto_upgrade=False, _env_file=None, smtp_host="127.0.0.1",
                 smtp_port=port, smtp_sicherheit="none", mail_domain="halle.example",
                 mail_absender="115@halle.example", mail_absender_name="Servicecenter 115 Halle (Saale)",
                 mail_signatur={"*": "Standard-Signatur"}, smtp_timeout_sekunden=5)
    werte.update(kw)
    return Settings(**werte)


@pytest.fixture
def settings(db_url, senke) -> Settings:
    return mail_settings(db_url, senke.port)


def worker(session_factory, settings, zeit, transport=None) -> Worker:
    return Worker(sessions=session_factory, handler=[MailVersand(settings, transport=transport)],
                  einstellungen=EINST, name="w1", uhr=zeit, zufall=lambda: 1.0)


def ticket(db_session, settings, zeit, *, email="buergerin@example.org", queue_id=None):
    t = tickets.ticket_anlegen(db_session, anliegen="Frage zum Personalausweis", kanal=Kanal.email, benutzer=None,
                               einstellungen=tickets.TicketEinstellungen.aus(settings), jetzt=zeit(),
                               queue_id=queue_id,
                               buerger=tickets.BuergerDaten(email=email, einwilligung=True) if email else None)
    db_session.flush()
    return t


def notizen(db_session, t) -> list[str]:
    db_session.expire_all()
    return [a.text for a in db_session.scalars(select(TicketArtikel).where(
        TicketArtikel.ticket_id == t.id, TicketArtikel.art == ArtikelArt.notiz))]


def test_neue_message_id_auf_unserer_domain(settings):
    a, b = neue_message_id(settings), neue_message_id(settings)
    assert a != b and a.startswith("<") and a.endswith("@halle.example>")


def test_vormerken_und_senden_mit_allen_kopfzeilen(db_session, session_factory, settings, senke, zeit):
    oe = Organisationseinheit(name="Bürgerservice")
    db_session.add(oe)
    db_session.flush()
    settings.mail_signatur = {"*": "Standard-Signatur", str(oe.id): "Bürgerservice Halle\nMarktplatz 1"}
    t = ticket(db_session, settings, zeit, queue_id=oe.id)
    mid = mail_vormerken(db_session, an="buergerin@example.org", betreff=f"Ihr Führerschein – Antwort [{t.nummer}]",
                         text="Guten Tag,\nhier die Antwort: Grüße aus Halle.", html="<p>Grüße <b>aus</b> Halle</p>",
                         ticket_id=t.id, in_reply_to="<frage-1@example.org>",
                         references=["<alt-0@example.org>", "<frage-1@example.org>"],
                         automatisch="auto-replied", jetzt=zeit(), settings=settings)
    db_session.commit()
    zeile = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == ART)).one()
    assert zeile.payload["message_id"] == mid
    assert speicher.nachricht_finden(db_session, mid).richtung == "aus"

    assert worker(session_factory, settings, zeit).runde() == 1
    db_session.expire_all()
    assert zeile.status == OutboxStatus.gesendet
    [e] = senke.mails
    assert e.von == "115@halle.example" and e.an == ["buergerin@example.org"]
    m = e.nachricht
    assert m["Message-ID"] == mid
    assert m["Subject"] == f"Ihr Führerschein – Antwort [{t.nummer}]"
    assert b"=?utf-8?" in e.roh.split(b"\r\n\r\n", 1)[0]  # RFC 2047 on the wire
    assert m["From"].addresses[0].display_name == "Servicecenter 115 Halle (Saale)"
    assert m["From"].addresses[0].addr_spec == "115@halle.example"
    assert m["Date"].datetime == START
    assert m["In-Reply-To"] == "<frage-1@example.org>"
    assert m["References"].split() == ["<alt-0@example.org>", "<frage-1@example.org>"]
    assert m["Auto-Submitted"] == "auto-replied" and m["Precedence"] == "bulk"
    assert m["X-Auto-Response-Suppress"] == "All"
    assert m.get_content_type() == "multipart/alternative"
    text = m.get_body(("plain",)).get_content()
    html = m.get_body(("html",)).get_content()
    assert "Grüße aus Halle." in text and text.rstrip().endswith("-- \nBürgerservice Halle\nMarktplatz 1")
    assert "Standard-Signatur" not in text
    assert "<p>Grüße <b>aus</b> Halle</p>" in html and "Bürgerservice Halle<br>" in html


def test_ohne_automatisch_keine_auto_kopfzeilen_und_standard_signatur(db_session, session_factory, settings,
                                                                        senke, zeit):
    mail_vormerken(db_session, an="x@example.org", betreff="Hallo", text="Nur Text", jetzt=zeit(), settings=settings)
    db_session.commit()
    worker(session_factory, settings, zeit).runde()
    m = senke.mails[0].nachricht
    assert m["Auto-Submitted"] is None and m["Precedence"] is None and m["In-Reply-To"] is None
    assert m.get_content_type() == "text/plain"
    assert m.get_content().rstrip().endswith("-- \nStandard-Signatur")


def test_signatur_im_body_eines_html_dokuments(settings):
    from kanaele.email.versand import Mail, nachricht_bauen

    m = nachricht_bauen(Mail(an="x@example.org", betreff="b", text="t", message_id="<a@halle.example>",
                             html="<!DOCTYPE html><html><body><p>Antwort</p></body></html>"), settings, jetzt=START)
    m = email.message_from_bytes(m.as_bytes(), policy=email.policy.default)
    html = m.get_body(("html",)).get_content()
    assert html.index("Standard-Signatur") < html.index("</body>") and html.rstrip().endswith("</html>")


def test_automatisch_nur_gueltige_werte(db_session, settings):
    with pytest.raises(ValueError):
        mail_vormerken(db_session, an="x@example.org", betreff="b", text="t", automatisch="yes", settings=settings)


def test_451_wird_wiederholt_mit_derselben_message_id(db_session, session_factory, settings, senke, zeit):
    senke.rcpt_antworten = ["451 4.3.0 Bitte später erneut versuchen", "451 4.3.0 Immer noch nicht"]
    mid = mail_vormerken(db_session, an="x@example.org", betreff="b", text="t", jetzt=zeit(), settings=settings)
    db_session.commit()
    w = worker(session_factory, settings, zeit)
    assert w.runde() == 1
    db_session.expire_all()
    zeile = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == ART)).one()
    assert zeile.status == OutboxStatus.offen and zeile.versuche == 1 and "451" in zeile.fehler
    assert "x@example.org" not in zeile.fehler and not senke.mails
    assert w.runde() == 0  # not due before the backoff
    zeit.jetzt += timedelta(seconds=11)
    w.runde()
    zeit.jetzt += timedelta(seconds=21)
    w.runde()
    db_session.expire_all()
    assert zeile.status == OutboxStatus.gesendet and zeile.versuche == 3 and senke.rcpt_versuche == 3
    assert [e.nachricht["Message-ID"] for e in senke.mails] == [mid]


def test_neuer_versand_nach_absturz_traegt_dieselbe_message_id(db_session, session_factory, settings, senke,
                                                                zeit):
    """The worker died after the SMTP server accepted the mail but before the commit: the retry sends again
    (at-least-once), with the same Message-ID, so the citizen's client shows it once."""
    t = ticket(db_session, settings, zeit)
    tickets.artikel_anlegen(db_session, t, art=ArtikelArt.nachricht, text="Ihre Unterlagen sind da.",
                            benutzer=None, einstellungen=tickets.TicketEinstellungen.aus(settings), jetzt=zeit())
    db_session.commit()
    zeile = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == "ticket_nachricht")).one()
    handler = MailVersand(settings)
    from servicecenter.uebergabe.adapter import Kontext

    for _ in range(2):
        with session_factory() as s:
            handler.ausfuehren(s, s.get(OutboxEintrag, zeile.id), Kontext(client=None, jetzt=zeit(), session=s))
            s.rollback()  # the crash: nothing of the delivery was committed
    a, b = senke.mails
    assert a.nachricht["Message-ID"] == b.nachricht["Message-ID"]
    assert a.nachricht["Message-ID"].endswith("@halle.example>")


def test_550_endgueltig_mit_interner_notiz(db_session, session_factory, settings, senke, zeit):
    senke.rcpt_antworten = ["550 5.1.1 <weg@example.org>: Recipient address rejected: User unknown"]
    t = ticket(db_session, settings, zeit, email="weg@example.org")
    mail_vormerken(db_session, an="weg@example.org", betreff="b", text="t", ticket_id=t.id, jetzt=zeit(),
                   settings=settings)
    db_session.commit()
    worker(session_factory, settings, zeit).runde()
    db_session.expire_all()
    zeile = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == ART)).one()
    assert zeile.status == OutboxStatus.fehlgeschlagen and zeile.versuche == 1
    assert "550" in zeile.fehler and "weg@example.org" not in zeile.fehler
    [notiz] = notizen(db_session, t)
    assert "nicht zugestellt" in notiz and "550" in notiz
    assert not senke.mails


def test_unzustellbare_adresse_wird_nie_angeschrieben(db_session, session_factory, settings, senke, zeit):
    t = ticket(db_session, settings, zeit, email="Bounce@Example.org")
    speicher.bounce_vermerken(db_session, "bounce@example.org", hart=True, jetzt=zeit())
    mail_vormerken(db_session, an="Bounce@Example.org", betreff="b", text="t", ticket_id=t.id, jetzt=zeit(),
                   settings=settings)
    db_session.commit()
    worker(session_factory, settings, zeit).runde()
    db_session.expire_all()
    zeile = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == ART)).one()
    assert zeile.status == OutboxStatus.fehlgeschlagen and "unzustellbar" in zeile.fehler
    assert senke.rcpt_versuche == 0 and not senke.mails
    assert any("unzustellbar" in n for n in notizen(db_session, t))


def test_nie_an_die_eigene_adresse(db_session, session_factory, settings, senke, zeit):
    mail_vormerken(db_session, an="115@Halle.example", betreff="b", text="t", jetzt=zeit(), settings=settings)
    db_session.commit()
    worker(session_factory, settings, zeit).runde()
    db_session.expire_all()
    zeile = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == ART)).one()
    assert zeile.status == OutboxStatus.fehlgeschlagen and "Schleifenschutz" in zeile.fehler and not senke.mails


def test_kopfzeilen_injektion_wird_abgewiesen(db_session, session_factory, settings, senke, zeit):
    mail_vormerken(db_session, an="x@example.org\r\nBcc: opfer@example.com", betreff="b", text="t", jetzt=zeit(),
                   settings=settings)
    mail_vormerken(db_session, an="y@example.org", betreff="Hallo\r\nBcc: opfer@example.com", text="t",
                   in_reply_to="<a@b>\r\nBcc: opfer@example.com", jetzt=zeit(), settings=settings)
    db_session.commit()
    worker(session_factory, settings, zeit).runde()
    db_session.expire_all()
    zeilen = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == ART).order_by(OutboxEintrag.id)).all()
    assert zeilen[0].status == OutboxStatus.fehlgeschlagen and "ungültige" in zeilen[0].fehler
    [e] = senke.mails
    kopf = e.roh.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert e.an == ["y@example.org"] and not any(z.lower().startswith(b"bcc") for z in kopf)
    assert e.nachricht["Subject"] == "Hallo Bcc: opfer@example.com"


def test_server_nicht_erreichbar_ist_voruebergehend(db_session, session_factory, db_url, zeit):
    settings = mail_settings(db_url, freier_port())  # nobody listens there
    mail_vormerken(db_session, an="x@example.org", betreff="b", text="t", jetzt=zeit(), settings=settings)
    db_session.commit()
    worker(session_factory, settings, zeit).runde()
    db_session.expire_all()
    zeile = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == ART)).one()
    assert zeile.status == OutboxStatus.offen and "nicht erreichbar" in zeile.fehler


def test_ticket_nachricht_im_faden_mit_betreff_tag_und_anhang(db_session, session_factory, settings, senke, zeit):
    t = ticket(db_session, settings, zeit)
    speicher.nachricht_registrieren(db_session, message_id="<erste@example.org>", ticket_id=t.id, richtung="ein",
                                    adresse="buergerin@example.org")
    zeit.jetzt += timedelta(minutes=1)
    speicher.nachricht_registrieren(db_session, message_id="<zweite@example.org>", ticket_id=t.id,
                                    richtung="ein", adresse="buergerin@example.org")
    artikel = tickets.artikel_anlegen(
        db_session, t, art=ArtikelArt.nachricht, text="Bitte bringen Sie Ihr Foto mit.", benutzer=None,
        einstellungen=tickets.TicketEinstellungen.aus(settings), jetzt=zeit(),
        anhaenge=[tickets.NeuerAnhang(dateiname="Merkblatt.pdf", mimetyp="application/pdf", inhalt=b"%PDF-1.4 x")])
    db_session.commit()
    worker(session_factory, settings, zeit).runde()
    [e] = senke.mails
    m = e.nachricht
    assert e.an == ["buergerin@example.org"]
    assert f"[{t.nummer}]" in m["Subject"]
    assert m["In-Reply-To"] == "<zweite@example.org>"
    assert m["References"].split() == ["<erste@example.org>", "<zweite@example.org>"]
    assert m["Auto-Submitted"] is None  # an agent wrote it
    assert "Bitte bringen Sie Ihr Foto mit." in m.get_body(("plain",)).get_content()
    [anhang] = list(m.iter_attachments())
    assert anhang.get_filename() == "Merkblatt.pdf" and anhang.get_content() == b"%PDF-1.4 x"
    # our Message-ID is remembered, so the citizen's answer to it lands on the ticket
    db_session.expire_all()
    aus = db_session.scalars(select(MailNachricht).where(MailNachricht.ticket_id == t.id,
                                                         MailNachricht.richtung == "aus")).one()
    assert f"<{aus.message_id}>" == m["Message-ID"]
    assert artikel.id


def test_ticket_nachricht_ohne_email_adresse_notiz(db_session, session_factory, settings, senke, zeit):
    t = ticket(db_session, settings, zeit, email=None)
    tickets.artikel_anlegen(db_session, t, art=ArtikelArt.nachricht, text="Hallo", benutzer=None,
                            einstellungen=tickets.TicketEinstellungen.aus(settings), jetzt=zeit())
    db_session.commit()
    worker(session_factory, settings, zeit).runde()
    assert not senke.mails
    assert any("keine E-Mail-Adresse" in n for n in notizen(db_session, t))


def test_status_email_automatisch_markiert(db_session, session_factory, settings, senke, zeit):
    from servicecenter.status.service import buergerstatus_geaendert
    from servicecenter.tickets.zustaende import Buergerstatus

    t = ticket(db_session, settings, zeit)
    assert buergerstatus_geaendert(db_session, t, Buergerstatus.PROCESSING, jetzt=zeit())
    db_session.commit()
    worker(session_factory, settings, zeit).runde()
    [e] = senke.mails
    m = e.nachricht
    assert m["Auto-Submitted"] == "auto-generated" and m["Precedence"] == "bulk"
    assert m["Subject"] == f"Ihr Anliegen: In Bearbeitung [{t.nummer}]" and "Standard-Signatur" in m.get_content()


def test_desk_antwort_und_uebergabe_email(db_session, session_factory, settings, senke, zeit):
    outbox.in_outbox(db_session, art="desk_antwort_email", jetzt=zeit(), payload={
        "an": "anrufer@example.org", "betreff": "Ihre Anfrage bei der 115: Wohngeld", "text": "Die Antwort."})
    t = ticket(db_session, settings, zeit)
    outbox.in_outbox(db_session, art="uebergabe_email", jetzt=zeit(), payload={
        "an": "amt@halle.example", "absender": "uebergabe@halle.example", "betreff": f"[{t.nummer}] Übergabe",
        "text": "Ticket: …", "ticket_nummer": t.nummer, "uebergabe_id": 1, "anhang_ids": []})
    db_session.commit()
    assert worker(session_factory, settings, zeit).runde() == 2
    nach = {e.an[0]: e.nachricht for e in senke.mails}
    desk = nach["anrufer@example.org"]
    assert desk["Subject"] == "Ihre Anfrage bei der 115: Wohngeld" and "Standard-Signatur" in desk.get_content()
    amt = nach["amt@halle.example"]
    assert amt["From"].addresses[0].addr_spec == "uebergabe@halle.example"
    assert amt["Auto-Submitted"] == "auto-generated" and "Standard-Signatur" not in amt.get_content()


def test_starttls_mit_anmeldung(db_session, session_factory, db_url, zeit, tmp_path):
    server_ctx, client_ctx = tls_kontexte(tmp_path)
    with smtp_server(SmtpSenke(), tls_kontext=server_ctx, anmeldung=("postfach", "geheim")) as s:
        settings = mail_settings(db_url, s.port, smtp_sicherheit="starttls", smtp_benutzer="postfach",
                                 smtp_passwort="geheim")
        transport = SmtpTransport.aus_settings(settings)
        transport.tls_kontext = client_ctx
        mail_vormerken(db_session, an="x@example.org", betreff="b", text="t", jetzt=zeit(), settings=settings)
        db_session.commit()
        worker(session_factory, settings, zeit, transport).runde()
        assert len(s.mails) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implizites_tls(db_session, session_factory, db_url, zeit, tmp_path):
    server_ctx, client_ctx = tls_kontexte(tmp_path)
    with smtp_server(SmtpSenke(), tls_kontext=server_ctx, implizit_tls=True, anmeldung=("postfach", "geheim")) as s:
        settings = mail_settings(db_url, s.port, smtp_sicherheit="tls", smtp_benutzer="postfach",
                                 smtp_passwort="geheim")
        transport = SmtpTransport.aus_settings(settings)
        transport.tls_kontext = client_ctx
        mail_vormerken(db_session, an="x@example.org", betreff="b", text="t", jetzt=zeit(), settings=settings)
        db_session.commit()
        worker(session_factory, settings, zeit, transport).runde()
        assert len(s.mails) == 1


def test_falsches_passwort_wird_wiederholt(db_session, session_factory, db_url, zeit, tmp_path):
    server_ctx, client_ctx = tls_kontexte(tmp_path)
    with smtp_server(SmtpSenke(), tls_kontext=server_ctx, anmeldung=("postfach", "geheim")) as s:
        settings = mail_settings(db_url, s.port, smtp_sicherheit="starttls", smtp_benutzer="postfach",
                                 smtp_passwort="falsch")
        transport = SmtpTransport.aus_settings(settings)
        transport.tls_kontext = client_ctx
        mail_vormerken(db_session, an="x@example.org", betreff="b", text="t", jetzt=zeit(), settings=settings)
        db_session.commit()
        w = worker(session_factory, settings, zeit, transport)
        w.runde()
        db_session.expire_all()
        zeile = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == ART)).one()
        assert zeile.status == OutboxStatus.offen and "Anmeldung" in zeile.fehler and not s.mails
        transport.passwort = "geheim"  # the administrator fixes the configuration
        zeit.jetzt += timedelta(seconds=11)
        w.runde()
        assert len(s.mails) == 1


def test_aus_settings_registriert_versand_nur_mit_smtp_host(db_url):
    ohne = aus_settings(Settings(database_url=db_url, _env_file=None))
    mit = aus_settings(mail_settings(db_url, 2525))
    assert ART not in ohne._nach_art and "ticket_nachricht" not in ohne._nach_art
    assert isinstance(mit._nach_art[ART], MailVersand)
    assert isinstance(mit._nach_art["status_email"], MailVersand)

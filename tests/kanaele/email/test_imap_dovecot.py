"""IMAP polling against a real Dovecot started with a temporary configuration: raw stored first, moved to the
processed / error / rejection folders, IDLE really used when announced, polling and COPY+EXPUNGE without it."""

from __future__ import annotations

import threading
from email.message import EmailMessage

import pytest
from imapclient import IMAPClient
from sqlalchemy import select

from kanaele.email.imap import ImapAbruf, ist_automatisch
from kanaele.email.models import MailEingang
from kanaele.email.versand import ART
from servicecenter.outbox.models import OutboxEintrag
from servicecenter.settings import Settings
from tests.integration.mailpeers import dovecot_server


@pytest.fixture(scope="module")
def dovecot():
    with dovecot_server() as d:
        yield d


@pytest.fixture(scope="module")
def dovecot_schlicht():
    """A server that announces neither IDLE nor MOVE."""
    with dovecot_server(faehigkeiten="IMAP4rev1 LITERAL+ UIDPLUS") as d:
        yield d


def imap_settings(db_url, d, **kw) -> Settings:
    werte = dict(database_url=db_url, db_auto_upgrade=False, _env_file=None, imap_host="127.0.0.1",
                 imap_port=d.port, imap_ssl=False, imap_benutzer=d.benutzer, imap_passwort=d.passwort,
                 imap_intervall_sekunden=3600, mail_max_bytes=50_000, mail_absender="115@halle.example")
    werte.update(kw)
    return Settings(**werte)


class Protokoll:
    def __init__(self, sessions, *, fehler_bei: str | None = None) -> None:
        self.sessions = sessions
        self.fehler_bei = fehler_bei
        self.ids: list[int] = []
        self.eingetroffen = threading.Event()

    def verarbeiten(self, eingang_id: int) -> None:
        with self.sessions() as s:
            e = s.get(MailEingang, eingang_id)
            assert e.status == "neu" and e.roh  # stored before processing
            if self.fehler_bei and self.fehler_bei.encode() in e.roh:
                e.status = "fehler"
                s.commit()
        self.ids.append(eingang_id)
        self.eingetroffen.set()


def mail(betreff: str, *, von="erika@example.org", groesse=0, **kopf) -> bytes:
    m = EmailMessage()
    m["From"] = von
    m["To"] = "115@halle.example"
    m["Subject"] = betreff
    m["Message-ID"] = f"<{abs(hash(betreff))}@example.org>"
    for k, v in kopf.items():
        m[k.replace("_", "-")] = v
    m.set_content("Guten Tag,\nmeine Frage.\n" + ("x" * 76 + "\n") * (groesse // 77))
    return m.as_bytes()


@pytest.fixture
def postfach(dovecot):
    """A client on the test mailbox; every folder is emptied after the test."""
    c = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False)
    c.login(dovecot.benutzer, dovecot.passwort)
    yield c
    for _, _, ordner in c.list_folders():
        c.select_folder(ordner)
        uids = c.search("ALL")
        if uids:
            c.delete_messages(uids)
            c.expunge()
    c.logout()


def inhalt(c: IMAPClient, ordner: str) -> list[bytes]:
    if not c.folder_exists(ordner):
        return []
    c.select_folder(ordner, readonly=True)
    uids = c.search("ALL")
    return [d[b"RFC822"] for d in c.fetch(uids, ["RFC822"]).values()] if uids else []


def eingaenge(db_session) -> list[MailEingang]:
    db_session.expire_all()
    return list(db_session.scalars(select(MailEingang).order_by(MailEingang.id)))


def test_abruf_speichert_verarbeitet_und_verschiebt(db_session, session_factory, db_url, dovecot, postfach):
    for b in ("Frage eins", "Frage zwei"):
        postfach.append("INBOX", mail(b))
    settings = imap_settings(db_url, dovecot)
    protokoll = Protokoll(session_factory)
    abruf = ImapAbruf(settings, session_factory, protokoll)
    client = abruf.verbinden()
    ergebnis = abruf.einmal(client)
    client.logout()
    assert (ergebnis.verarbeitet, ergebnis.fehler, ergebnis.abgelehnt) == (2, 0, 0)
    gespeichert = eingaenge(db_session)
    assert [e.quelle for e in gespeichert] == ["imap", "imap"] and protokoll.ids == [e.id for e in gespeichert]
    assert any(b"Subject: Frage eins" in e.roh for e in gespeichert)
    assert inhalt(postfach, "INBOX") == []
    assert len(inhalt(postfach, "Verarbeitet")) == 2


def test_fehler_in_den_fehlerordner_roh_bleibt(db_session, session_factory, db_url, dovecot, postfach):
    postfach.append("INBOX", mail("Kaputte Mail"))
    postfach.append("INBOX", mail("Gute Mail"))
    abruf = ImapAbruf(imap_settings(db_url, dovecot), session_factory,
                      Protokoll(session_factory, fehler_bei="Kaputte"))
    client = abruf.verbinden()
    ergebnis = abruf.einmal(client)
    client.logout()
    assert (ergebnis.verarbeitet, ergebnis.fehler) == (1, 1)
    [fehler] = inhalt(postfach, "Fehler")
    assert b"Kaputte Mail" in fehler
    assert [b"Gute Mail" in m for m in inhalt(postfach, "Verarbeitet")] == [True]
    assert {e.status for e in eingaenge(db_session)} == {"fehler", "neu"}  # both raw copies kept


def test_zu_gross_abgelehnt_mit_hoeflichem_hinweis(db_session, session_factory, db_url, dovecot, postfach):
    postfach.append("INBOX", mail("Riesige Anlage", groesse=80_000))
    postfach.append("INBOX", mail("Abwesend", groesse=80_000, Auto_Submitted="auto-replied"))
    abruf = ImapAbruf(imap_settings(db_url, dovecot), session_factory, Protokoll(session_factory))
    client = abruf.verbinden()
    ergebnis = abruf.einmal(client)
    client.logout()
    assert ergebnis.abgelehnt == 2 and eingaenge(db_session) == []
    assert len(inhalt(postfach, "Abgelehnt")) == 2 and inhalt(postfach, "INBOX") == []
    db_session.expire_all()
    [hinweis] = db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == ART)).all()
    p = hinweis.payload
    assert p["an"] == "erika@example.org" and p["automatisch"] == "auto-replied"
    assert "zu groß" in p["text"] and "Riesige Anlage" in p["text"]
    # a second oversize mail of the same sender the same day: moved, but no second notice
    postfach.append("INBOX", mail("Noch eine riesige Anlage", groesse=80_000))
    client = abruf.verbinden()
    assert abruf.einmal(client).abgelehnt == 1
    client.logout()
    assert len(inhalt(postfach, "Abgelehnt")) == 3
    db_session.expire_all()
    assert len(db_session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == ART)).all()) == 1


def test_idle_wird_genutzt(db_session, session_factory, db_url, dovecot, postfach):
    """Poll interval one hour: the new mail is only picked up in time because IDLE reports it."""
    settings = imap_settings(db_url, dovecot)
    protokoll = Protokoll(session_factory)
    abruf = ImapAbruf(settings, session_factory, protokoll)
    stopp = threading.Event()
    faden = threading.Thread(target=abruf.laufen, args=(stopp,), daemon=True)
    faden.start()
    try:
        # Wait until the loop sits in IDLE on the empty inbox, then deliver.
        for _ in range(600):
            if abruf.idle_runden:
                break
            stopp.wait(0.05)
        assert abruf.idle_runden >= 1
        postfach.append("INBOX", mail("Während IDLE"))
        assert protokoll.eingetroffen.wait(30), dovecot.log()[-2000:]
    finally:
        stopp.set()
        faden.join(15)
    assert not faden.is_alive()
    [e] = eingaenge(db_session)
    assert b"IDLE" in e.roh and abruf.idle_runden >= 1
    assert len(inhalt(postfach, "Verarbeitet")) == 1


def test_ohne_idle_und_move_polling_und_copy_expunge(db_session, session_factory, db_url, dovecot_schlicht):
    c = IMAPClient("127.0.0.1", port=dovecot_schlicht.port, ssl=False)
    c.login(dovecot_schlicht.benutzer, dovecot_schlicht.passwort)
    assert not c.has_capability("IDLE") and not c.has_capability("MOVE")
    c.append("INBOX", mail("Ohne IDLE"))
    settings = imap_settings(db_url, dovecot_schlicht, imap_intervall_sekunden=0.2)
    protokoll = Protokoll(session_factory)
    abruf = ImapAbruf(settings, session_factory, protokoll)
    stopp = threading.Event()
    faden = threading.Thread(target=abruf.laufen, args=(stopp,), daemon=True)
    faden.start()
    try:
        assert protokoll.eingetroffen.wait(30)
    finally:
        stopp.set()
        faden.join(15)
    assert abruf.idle_runden == 0
    assert len(eingaenge(db_session)) == 1
    assert inhalt(c, "INBOX") == [] and len(inhalt(c, "Verarbeitet")) == 1
    c.logout()


def test_doppelt_gesehene_mail_wird_nicht_doppelt_gespeichert(db_session, session_factory, db_url, dovecot,
                                                              postfach):
    """Crash after storing, before moving: the next pass finds the stored copy by its checksum."""
    roh = mail("Zweimal gesehen")
    postfach.append("INBOX", roh)
    abruf = ImapAbruf(imap_settings(db_url, dovecot), session_factory, None)
    erste = abruf._speichern(postfach.fetch(postfach.select_folder("INBOX") and postfach.search("ALL"),
                                            ["BODY.PEEK[]"]).popitem()[1][b"BODY[]"])
    client = abruf.verbinden()
    abruf.einmal(client)
    client.logout()
    assert [e.id for e in eingaenge(db_session)] == [erste]


def test_ist_automatisch():
    from email import message_from_bytes

    assert ist_automatisch(message_from_bytes(mail("a", Auto_Submitted="auto-replied")))
    assert ist_automatisch(message_from_bytes(mail("a", Precedence="bulk")))
    assert ist_automatisch(message_from_bytes(mail("a", List_Id="<liste.example.org>")))
    assert ist_automatisch(message_from_bytes(mail("a", von="MAILER-DAEMON@mx.example.org")))
    assert not ist_automatisch(message_from_bytes(mail("a", Auto_Submitted="no")))
    assert not ist_automatisch(message_from_bytes(mail("a")))

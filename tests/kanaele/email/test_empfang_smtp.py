"""The SMTP/LMTP receiver fed by aiosmtplib over real sockets: stored before 250, processed after, oversize
refused politely with 552 (and nothing stored or lost), LMTP answers per recipient, recipient filter."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

import aiosmtplib
import pytest
from sqlalchemy import select

from kanaele.email.empfang import MailEmpfaenger, adresse_erlaubt, zu_gross_text
from kanaele.email.models import MailEingang
from tests.integration.mailpeers import freier_port


class Protokoll:
    """Records which stored mails were handed on for processing (the pipeline has its own tests)."""

    def __init__(self, sessions) -> None:
        self.sessions = sessions
        self.ids: list[int] = []
        self.status_beim_aufruf: list[str] = []

    def verarbeiten(self, eingang_id: int) -> None:
        with self.sessions() as s:
            self.status_beim_aufruf.append(s.get(MailEingang, eingang_id).status)
        self.ids.append(eingang_id)


def mail(betreff="Frage zum Wohngeld", text="Guten Tag, wie beantrage ich Wohngeld?", groesse=0) -> EmailMessage:
    m = EmailMessage()
    m["From"] = "Erika Muster <erika@example.org>"
    m["To"] = "115@halle.example"
    m["Subject"] = betreff
    m["Message-ID"] = "<frage-1@example.org>"
    m.set_content(text + ("x" * 76 + "\n") * (groesse // 77))
    return m


@pytest.fixture
def empfaenger_bauen(session_factory):
    laufend: list[MailEmpfaenger] = []

    def bauen(*, lmtp=False, max_bytes=10 * 1024 * 1024, erlaubt=(), verarbeitung="protokoll"):
        v = Protokoll(session_factory) if verarbeitung == "protokoll" else verarbeitung
        e = MailEmpfaenger(session_factory, v, host="127.0.0.1", port=freier_port(), lmtp=lmtp,
                           max_bytes=max_bytes, erlaubte_empfaenger=erlaubt)
        e.start()
        laufend.append(e)
        return e, v

    yield bauen
    for e in laufend:
        e.stop()


def senden(port: int, nachricht, *, an=("115@halle.example",)):
    async def los():
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=10)
        await client.connect()
        try:
            return await client.send_message(nachricht, sender="absender@example.org", recipients=list(an))
        finally:
            client.close()

    return asyncio.run(los())


def lmtp(port: int, nachricht: EmailMessage, an: tuple[str, ...]) -> list[tuple[int, str]]:
    """A plain LMTP client over a socket (RFC 2033): after DATA one reply per accepted recipient."""

    async def los():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def antwort() -> tuple[int, str]:
            zeilen = []
            while True:
                zeile = (await asyncio.wait_for(reader.readline(), 10)).decode("ascii").rstrip("\r\n")
                zeilen.append(zeile[4:])
                if zeile[3:4] != "-":
                    return int(zeile[:3]), "\n".join(zeilen)

        async def befehl(text: str) -> tuple[int, str]:
            writer.write(text.encode() + b"\r\n")
            await writer.drain()
            return await antwort()

        assert (await antwort())[0] == 220
        assert (await befehl("LHLO mta.example"))[0] == 250
        assert (await befehl("MAIL FROM:<absender@example.org>"))[0] == 250
        angenommen = [a for a in an if (await befehl(f"RCPT TO:<{a}>"))[0] == 250]
        assert (await befehl("DATA"))[0] == 354
        roh = nachricht.as_bytes().replace(b"\r\n", b"\n").split(b"\n")
        roh = b"\r\n".join(b"." + z if z.startswith(b".") else z for z in roh)
        writer.write(roh.rstrip(b"\r\n") + b"\r\n.\r\n")
        await writer.drain()
        antworten = [await antwort() for _ in angenommen]
        await befehl("QUIT")
        writer.close()
        return antworten

    return asyncio.run(los())


def eingaenge(db_session) -> list[MailEingang]:
    db_session.expire_all()
    return list(db_session.scalars(select(MailEingang).order_by(MailEingang.id)))


def test_smtp_speichert_vor_250_und_verarbeitet_danach(db_session, empfaenger_bauen):
    e, protokoll = empfaenger_bauen()
    fehler, antwort = senden(e.port, mail())
    assert fehler == {} and antwort.startswith("2.0.0 OK: gespeichert als")
    e.warten()
    [eingang] = eingaenge(db_session)
    assert antwort.endswith(str(eingang.id))
    assert eingang.quelle == "smtp" and eingang.umschlag_von == "absender@example.org"
    assert eingang.umschlag_an == ["115@halle.example"]
    assert b"Subject: Frage zum Wohngeld" in eingang.roh and eingang.groesse == len(eingang.roh)
    assert protokoll.ids == [eingang.id] and protokoll.status_beim_aufruf == ["neu"]


def test_ehlo_kuendigt_size_an(empfaenger_bauen):
    e, _ = empfaenger_bauen(max_bytes=50_000)

    async def ehlo():
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=e.port, start_tls=False, timeout=10)
        await client.connect()
        await client.ehlo()
        ext = dict(client.esmtp_extensions)
        await client.quit()
        return ext

    assert asyncio.run(ehlo())["size"] == "50000"


def test_zu_gross_wird_hoeflich_mit_552_abgelehnt_und_nichts_gespeichert(db_session, empfaenger_bauen):
    e, protokoll = empfaenger_bauen(max_bytes=20_000)
    # The client announces the size (SIZE=) and is refused at MAIL FROM …
    with pytest.raises(aiosmtplib.SMTPResponseException) as info:
        senden(e.port, mail(groesse=30_000))
    assert info.value.code == 552 and "zu gross" in info.value.message and "20000" in info.value.message

    # … and a client that does not announce it is refused after DATA with the same polite text.
    async def ohne_size():
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=e.port, start_tls=False, timeout=10)
        await client.connect()
        await client.helo()  # HELO: no ESMTP, so no SIZE parameter
        await client.mail("absender@example.org")
        await client.rcpt("115@halle.example")
        try:
            await client.data(mail(groesse=30_000).as_bytes())
        finally:
            client.close()

    with pytest.raises(aiosmtplib.SMTPDataError) as info2:
        asyncio.run(ohne_size())
    assert info2.value.code == 552 and info2.value.message == zu_gross_text(20_000)[4:]
    e.warten()
    assert eingaenge(db_session) == [] and protokoll.ids == []
    # a mail within the limit still goes through on the same server
    senden(e.port, mail(groesse=5_000))
    e.warten()  # the processing thread shares the test's connection: let it finish first
    assert len(eingaenge(db_session)) == 1


def test_lmtp_antwortet_je_empfaenger(db_session, empfaenger_bauen):
    e, protokoll = empfaenger_bauen(lmtp=True)
    antworten = lmtp(e.port, mail(), ("115@halle.example", "buergerservice@halle.example"))
    assert [code for code, _ in antworten] == [250, 250]
    e.warten()
    [eingang] = eingaenge(db_session)
    assert eingang.quelle == "lmtp"
    assert eingang.umschlag_an == ["115@halle.example", "buergerservice@halle.example"]
    assert protokoll.ids == [eingang.id]


def test_lmtp_zu_gross_je_empfaenger_552(db_session, empfaenger_bauen):
    e, _ = empfaenger_bauen(lmtp=True, max_bytes=20_000)
    antworten = lmtp(e.port, mail(groesse=30_000), ("115@halle.example", "info@halle.example"))
    assert [c for c, _ in antworten] == [552, 552] and all("zu gross" in t for _, t in antworten)
    e.warten()
    assert eingaenge(db_session) == []


def test_nur_konfigurierte_empfaenger(db_session, empfaenger_bauen):
    e, _ = empfaenger_bauen(erlaubt=["115@halle.example", "@service.halle.example"])
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as info:
        senden(e.port, mail(), an=("fremd@example.com",))
    assert info.value.recipients[0].code == 550
    fehler, _ = senden(e.port, mail(), an=("115@halle.example", "Post@Service.Halle.example", "x@example.com"))
    assert list(fehler) == ["x@example.com"]
    e.warten()
    [eingang] = eingaenge(db_session)
    assert eingang.umschlag_an == ["115@halle.example", "Post@Service.Halle.example"]


def test_adresse_erlaubt():
    assert adresse_erlaubt("irgendwer@example.org", [])
    assert adresse_erlaubt("<115@Halle.Example>", ["115@halle.example"])
    assert adresse_erlaubt("a@halle.example", ["@halle.example"])
    assert not adresse_erlaubt("a@nothalle.example", ["@halle.example"])


class Kaputt:
    def verarbeiten(self, eingang_id: int) -> None:
        raise RuntimeError("Fehler in der Verarbeitung")


def test_fehler_in_der_verarbeitung_verliert_nichts(db_session, empfaenger_bauen):
    e, _ = empfaenger_bauen(verarbeitung=Kaputt())
    fehler, antwort = senden(e.port, mail())
    e.warten()
    assert fehler == {} and "gespeichert" in antwort
    [eingang] = eingaenge(db_session)
    assert eingang.status == "neu" and eingang.roh  # kept for reprocessing


def test_logs_ohne_adressen(empfaenger_bauen, caplog):
    e, _ = empfaenger_bauen()
    with caplog.at_level("DEBUG"):
        senden(e.port, mail())
        e.warten()
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "mail_angenommen" in text
    assert "absender@example.org" not in text and "115@halle.example" not in text and "erika" not in text


def test_beim_start_liegengebliebene_mails_nachholen(db_session, session_factory, empfaenger_bauen):
    """A mail stored before a crash (status "neu", never processed) is processed when the receiver starts;
    a fresh one may belong to another running process and is left alone."""
    from datetime import timedelta

    from kanaele.email import speicher
    from wissensdatenbank.basis import jetzt

    alt = speicher.roh_speichern(db_session, mail().as_bytes(), quelle="smtp", jetzt=jetzt() - timedelta(hours=1))
    frisch = speicher.roh_speichern(db_session, mail().as_bytes(), quelle="imap")
    db_session.commit()
    e, protokoll = empfaenger_bauen()
    e.warten()
    assert protokoll.ids == [alt.id] and frisch.id not in protokoll.ids

"""The whole receiving pipeline on our own German fixture mails, against the real database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from kanaele.email import speicher
from kanaele.email.models import MailAdresse, MailEingang, MailNachricht
from kanaele.email.pipeline import PIPELINE, MailAufbewahrung, MailVerarbeitung, roh_loeschen
from servicecenter.tickets.models import ArtikelArt, Kanal, Prioritaet, Ticket, TicketArtikel, TicketHistorie
from servicecenter.tickets.zustaende import Zustand
from tests.kanaele.email.pipeline_hilfe import BUERGERIN, START, ausgang, einfache_mail, eingang, mail
from wissensdatenbank.models import Leistung, Organisationseinheit


def _ticket(session, eingang_id: int) -> Ticket:
    e = eingang(session, eingang_id)
    assert e.ticket_id is not None, (e.status, e.aktion, e.fehler)
    return session.get(Ticket, e.ticket_id)


def _artikel(session, ticket: Ticket, art: ArtikelArt | None = None) -> list[TicketArtikel]:
    q = select(TicketArtikel).where(TicketArtikel.ticket_id == ticket.id).order_by(TicketArtikel.id)
    if art is not None:
        q = q.where(TicketArtikel.art == art)
    return list(session.scalars(q))


def _erste_anfrage(verarbeitung, db_session):
    """A sure citizen question: ticket + automatic answer. Returns (ticket, our outgoing Message-ID)."""
    eid = verarbeitung.annehmen(mail("buerger_ausweis.eml"), quelle="test")
    ticket = _ticket(db_session, eid)
    (antwort,) = ausgang(db_session)
    return ticket, speicher.message_id_normal(antwort.payload["message_id"])


# --- new mail ----------------------------------------------------------------------------------------------


def test_sichere_frage_wird_sofort_beantwortet(verarbeitung, db_session):
    eid = verarbeitung.annehmen(mail("buerger_ausweis.eml", MID="frage-1@example.org"), quelle="test")
    e = eingang(db_session, eid)
    assert (e.status, e.aktion, e.klasse) == ("verarbeitet", "auto_antwort", "buerger")
    ticket = _ticket(db_session, eid)
    assert ticket.kanal == Kanal.email
    assert ticket.zustand == Zustand.erledigt  # answered by the system
    assert ticket.kontakt_email == BUERGERIN and ticket.kontakt_name == "Renate Vogel"
    leistung = db_session.get(Leistung, ticket.leistung_id)
    assert leistung.leistungsname == "Personalausweis beantragen"
    assert ticket.queue_id is not None  # the responsible Organisationseinheit
    (antwort,) = ausgang(db_session)
    p = antwort.payload
    assert p["an"] == BUERGERIN and p["automatisch"] == "auto-replied" and p["ticket_id"] == ticket.id
    assert p["betreff"] == f"AW: Neuer Personalausweis [{ticket.nummer}]"
    assert p["in_reply_to"] == "<frage-1@example.org>"
    assert "antworten Sie einfach auf diese E-Mail" in p["text"] and ticket.nummer in p["text"]
    assert "46,00 Euro" in p["text"]  # a key fact of the Leistung
    assert f"/leistungen/{leistung.id}" in p["text"] and "<li>" in p["html"]
    # counted separately: history row of the system, the answer visible as a message article
    hist = db_session.scalars(select(TicketHistorie).where(TicketHistorie.ticket_id == ticket.id,
                                                           TicketHistorie.feld == "automatisch_beantwortet")).all()
    assert len(hist) == 1 and hist[0].benutzer_id is None
    arten = [a.art for a in _artikel(db_session, ticket)]
    assert arten == [ArtikelArt.eingang, ArtikelArt.nachricht]
    assert ausgang(db_session, "ticket_nachricht") == []  # the answer is sent once, not twice
    assert ausgang(db_session, "status_email") == []
    richtungen = {n.richtung for n in db_session.scalars(select(MailNachricht).where(
        MailNachricht.ticket_id == ticket.id))}
    assert richtungen == {"ein", "aus"}


def test_unsichere_frage_wird_ticket_mit_vorschlaegen(verarbeitung, db_session):
    roh = einfache_mail(betreff="Frage", text="Ich habe eine Frage zu meinem Schreiben vom Amt, das ich nicht "
                                               "verstehe. Was soll ich jetzt tun?")
    eid = verarbeitung.annehmen(roh, quelle="test")
    e = eingang(db_session, eid)
    assert e.aktion == "ticket", e.fehler
    ticket = _ticket(db_session, eid)
    assert ticket.zustand == Zustand.neu and ticket.leistung_id is None
    assert ausgang(db_session) == []
    assert isinstance(e.vorschlaege, list)


def test_maengelmeldung_geht_in_die_queue_statt_auto_antwort(verarbeitung, db_session):
    roh = einfache_mail(betreff="Schlagloch", text="In der Merseburger Straße vor Nummer 40 ist ein tiefes "
                                                   "Schlagloch auf der Fahrbahn.")
    eid = verarbeitung.annehmen(roh, quelle="test")
    e = eingang(db_session, eid)
    assert e.aktion == "ticket"
    ticket = _ticket(db_session, eid)
    assert ticket.queue_id is not None
    assert db_session.get(Organisationseinheit, ticket.queue_id).name
    assert e.vorschlaege[0]["name"] == "Straßenschaden melden"
    assert ausgang(db_session) == []


def test_dringend_und_rechtsbegriffe_heben_die_prioritaet(verarbeitung, db_session):
    roh = einfache_mail(betreff="Widerspruch gegen Bescheid – dringend",
                        text="Ich lege Widerspruch gegen den Grundsteuerbescheid ein, die Frist läuft morgen ab.")
    ticket = _ticket(db_session, verarbeitung.annehmen(roh, quelle="test"))
    assert ticket.prioritaet == Prioritaet.dringend
    assert ausgang(db_session) == [] or ticket.prioritaet == Prioritaet.dringend


def test_html_latin1_windows1252_und_kaputtes_mime_werden_tickets(verarbeitung, db_session):
    for name, erwartet in (("html_only.eml", "Reisepass"), ("latin1.eml", "Hundesteuer"),
                           ("windows1252.eml", "„Meldebescheinigung“"), ("kaputt_mime.eml", "Spanien")):
        eid = verarbeitung.annehmen(mail(name), quelle="test")
        e = eingang(db_session, eid)
        assert e.status == "verarbeitet", (name, e.fehler)
        ticket = _ticket(db_session, eid)
        text = _artikel(db_session, ticket, ArtikelArt.eingang)[0].text
        assert erwartet in text, (name, text)
        assert "alert" not in text and "<script" not in text


def test_anhang_wird_am_artikel_gespeichert(verarbeitung, db_session):
    ticket = _ticket(db_session, verarbeitung.annehmen(mail("anhang.eml"), quelle="test"))
    (artikel,) = _artikel(db_session, ticket, ArtikelArt.eingang)
    (anhang,) = artikel.anhaenge
    assert anhang.dateiname == "Bestätigung.pdf" and anhang.mimetyp == "application/pdf"
    assert anhang.inhalt.startswith(b"%PDF")


def test_x_auto_response_suppress_verhindert_die_auto_antwort(verarbeitung, db_session):
    roh = mail("buerger_ausweis.eml").replace(b"MIME-Version", b"X-Auto-Response-Suppress: All\nMIME-Version")
    eid = verarbeitung.annehmen(roh, quelle="test")
    assert eingang(db_session, eid).aktion == "ticket"
    assert ausgang(db_session) == []


def test_auto_antwort_abschaltbar(session_factory, wdb, settings, uhr, db_session):
    settings.mail_auto_antwort = False
    v = MailVerarbeitung(session_factory, wdb, settings, uhr=uhr)
    eid = v.annehmen(mail("buerger_ausweis.eml"), quelle="test")
    assert eingang(db_session, eid).aktion == "ticket"
    assert ausgang(db_session) == []


# --- threading ---------------------------------------------------------------------------------------------


def test_antwort_mit_aw_und_in_reply_to_landet_am_ticket_und_oeffnet_es(verarbeitung, db_session):
    ticket, unsere_id = _erste_anfrage(verarbeitung, db_session)
    eid = verarbeitung.annehmen(mail("antwort_aw.eml", BEZUG=unsere_id), quelle="test")
    e = eingang(db_session, eid)
    assert e.ticket_id == ticket.id and e.aktion == "artikel_wiedereroeffnet"
    db_session.refresh(ticket)
    assert ticket.zustand == Zustand.in_bearbeitung
    neu = _artikel(db_session, ticket, ArtikelArt.eingang)[-1]
    assert neu.text.startswith("Danke! Kann ich das Foto")
    assert "schrieb" not in neu.text and "> " not in neu.text  # quote stripped for display
    assert len(ausgang(db_session)) == 1  # a follow-up is never answered automatically
    assert ausgang(db_session, "status_email") == []  # no status mail about the reopening the reply caused


def test_antwort_nur_mit_references(verarbeitung, db_session):
    ticket, unsere_id = _erste_anfrage(verarbeitung, db_session)
    eid = verarbeitung.annehmen(mail("antwort_references.eml", BEZUG=unsere_id), quelle="test")
    assert eingang(db_session, eid).ticket_id == ticket.id
    text = _artikel(db_session, ticket, ArtikelArt.eingang)[-1].text
    assert text == "Und wie lange dauert es, bis der Ausweis fertig ist?"


def test_antwort_nur_mit_ticketnummer_im_betreff(verarbeitung, db_session):
    ticket, _ = _erste_anfrage(verarbeitung, db_session)
    eid = verarbeitung.annehmen(mail("antwort_tag.eml", NUMMER=ticket.nummer), quelle="test")
    e = eingang(db_session, eid)
    assert e.ticket_id == ticket.id and e.aktion.startswith("artikel")


def test_antwort_nur_ueber_betreff_mit_wg_praefix(verarbeitung, db_session):
    ticket, _ = _erste_anfrage(verarbeitung, db_session)
    roh = einfache_mail(betreff="WG: AW: Neuer Personalausweis", text="Hier noch das Foto als Nachtrag.")
    assert eingang(db_session, verarbeitung.annehmen(roh, quelle="test")).ticket_id == ticket.id
    roh = einfache_mail(betreff="Re[2]: Neuer Personalausweis", text="Und noch eine Sache.")
    assert eingang(db_session, verarbeitung.annehmen(roh, quelle="test")).ticket_id == ticket.id


def test_anderer_absender_mit_gleichem_betreff_und_nummer_wird_nicht_zugeordnet(verarbeitung, db_session):
    ticket, unsere_id = _erste_anfrage(verarbeitung, db_session)
    fremd = "mallory@example.net"
    for roh in (
        einfache_mail(von=fremd, betreff="AW: Neuer Personalausweis", text="Ich habe auch eine Frage zum Ausweis."),
        einfache_mail(von=fremd, betreff=f"Nachtrag [{ticket.nummer}]", text="Bitte schicken Sie mir alles."),
        mail("antwort_aw.eml", ABSENDER=fremd, BEZUG=unsere_id),  # even quoting our Message-ID
    ):
        e = eingang(db_session, verarbeitung.annehmen(roh, quelle="test"))
        assert e.ticket_id is not None and e.ticket_id != ticket.id, e.aktion
    assert len(_artikel(db_session, ticket, ArtikelArt.eingang)) == 1


def test_antwort_auf_geschlossenes_ticket_gibt_neues_ticket(verarbeitung, db_session, settings):
    from servicecenter.tickets import service as tickets

    ticket, unsere_id = _erste_anfrage(verarbeitung, db_session)
    tickets.ticket_aendern(db_session, ticket, version=None, benutzer=None,
                           einstellungen=tickets.TicketEinstellungen.aus(settings), status=Zustand.geschlossen)
    db_session.commit()
    e = eingang(db_session, verarbeitung.annehmen(mail("antwort_aw.eml", BEZUG=unsere_id), quelle="test"))
    assert e.ticket_id != ticket.id
    notizen = _artikel(db_session, db_session.get(Ticket, e.ticket_id), ArtikelArt.notiz)
    assert any(ticket.nummer in n.text for n in notizen)


# --- machine mail and loops --------------------------------------------------------------------------------


def test_abwesenheitsnotiz_wird_notiz_ohne_antwort_und_ohne_wiedereroeffnen(verarbeitung, db_session):
    ticket, unsere_id = _erste_anfrage(verarbeitung, db_session)
    roh = mail("abwesenheitsnotiz.eml", BEZUG=unsere_id, NUMMER=ticket.nummer)
    e = eingang(db_session, verarbeitung.annehmen(roh, quelle="test"))
    assert (e.klasse, e.aktion, e.ticket_id) == ("abwesenheit", "automatisch_notiz", ticket.id)
    db_session.refresh(ticket)
    assert ticket.zustand == Zustand.erledigt
    assert any("Abwesenheitsnotiz" in n.text for n in _artikel(db_session, ticket, ArtikelArt.notiz))
    assert len(ausgang(db_session)) == 1


def test_automatische_antworten_ohne_ticket_werden_nie_beantwortet(verarbeitung, db_session):
    for name, klasse in (("automatische_antwort.eml", "abwesenheit"), ("autoreply_x_autoreply.eml", "autoreply"),
                         ("newsletter.eml", "liste")):
        e = eingang(db_session, verarbeitung.annehmen(mail(name, ABSENDER="jemand@example.org"), quelle="test"))
        assert (e.status, e.klasse, e.aktion) == ("ignoriert", klasse, "automatisch"), name
        assert e.ticket_id is None
    assert ausgang(db_session) == []
    assert db_session.scalar(select(Ticket.id).limit(1)) is None


def test_eigene_mail_kommt_zurueck_schleife(verarbeitung, db_session):
    roh = einfache_mail(von="Servicecenter 115 <115@halle.example>", betreff="AW: Personalausweis",
                        text="Wie beantrage ich einen Personalausweis?")
    e = eingang(db_session, verarbeitung.annehmen(roh, quelle="test"))
    assert (e.status, e.klasse, e.aktion) == ("ignoriert", "eigene", "schleife")
    assert ausgang(db_session) == []


def test_fremder_autoresponder_auf_unsere_antwort_bekommt_keine_antwort(verarbeitung, db_session):
    """Loop guard: an auto-responder without any auto header, writing from another address, answering our
    automatic answer with a text that would be sure: ticket for the staff, no second mail."""
    _, unsere_id = _erste_anfrage(verarbeitung, db_session)
    roh = einfache_mail(von="robot@example.net", betreff="Re: AW: Neuer Personalausweis",
                        text="Ihr Personalausweis: Was muss ich mitbringen, wenn ich einen neuen Personalausweis "
                             "beantragen will, und was kostet der Personalausweis?",
                        kopf=f"In-Reply-To: <{unsere_id}>\n")
    e = eingang(db_session, verarbeitung.annehmen(roh, quelle="test"))
    assert e.aktion == "ticket"
    assert len(ausgang(db_session)) == 1


def test_hoechstens_eine_auto_antwort_je_adresse_und_stunde(verarbeitung, db_session, uhr):
    _erste_anfrage(verarbeitung, db_session)
    zweite = eingang(db_session, verarbeitung.annehmen(mail("latin1.eml", ABSENDER=BUERGERIN).replace(
        b"juergen.mueller@example.org", BUERGERIN.encode()), quelle="test"))
    assert zweite.aktion == "ticket" and len(ausgang(db_session)) == 1
    uhr.jetzt += timedelta(minutes=61)
    dritte = eingang(db_session, verarbeitung.annehmen(mail("latin1.eml").replace(
        b"juergen.mueller@example.org", BUERGERIN.encode()), quelle="test"))
    assert dritte.aktion == "auto_antwort" and len(ausgang(db_session)) == 2


def test_harter_bounce_notiz_und_adresse_gesperrt(verarbeitung, db_session, uhr):
    ticket, unsere_id = _erste_anfrage(verarbeitung, db_session)
    roh = mail("bounce_hart.eml", BEZUG=unsere_id, NUMMER=ticket.nummer)
    e = eingang(db_session, verarbeitung.annehmen(roh, quelle="test"))
    assert (e.klasse, e.aktion, e.ticket_id) == ("bounce", "bounce_notiz", ticket.id)
    notiz = _artikel(db_session, ticket, ArtikelArt.notiz)[-1].text
    assert "nicht zugestellt" in notiz and "5.1.1" in notiz and "dauerhaft" in notiz
    flag = db_session.get(MailAdresse, BUERGERIN)
    assert flag.bounce_art == "hart" and flag.unzustellbar_seit is not None
    assert speicher.ist_unzustellbar(db_session, BUERGERIN.upper())
    # we stop writing: a new sure question from that address gets a ticket, but no automatic answer
    uhr.jetzt += timedelta(hours=3)  # past the pause between two automatic answers
    e2 = eingang(db_session, verarbeitung.annehmen(mail("buerger_ausweis.eml"), quelle="test"))
    assert e2.aktion == "ticket"
    assert len(ausgang(db_session)) == 1


def test_weicher_bounce_sperrt_nicht(verarbeitung, db_session):
    ticket, unsere_id = _erste_anfrage(verarbeitung, db_session)
    e = eingang(db_session, verarbeitung.annehmen(mail("bounce_weich.eml", BEZUG=unsere_id), quelle="test"))
    assert e.aktion == "bounce_notiz"
    flag = db_session.get(MailAdresse, BUERGERIN)
    assert flag.bounce_art == "weich" and flag.unzustellbar_seit is None
    assert not speicher.ist_unzustellbar(db_session, BUERGERIN)


def test_bounce_ohne_bezug_auf_unsere_mail_sperrt_niemanden(verarbeitung, db_session):
    roh = mail("bounce_hart.eml", BEZUG="fremd-123@example.net", NUMMER="115-2026-999999")
    e = eingang(db_session, verarbeitung.annehmen(roh, quelle="test"))
    assert (e.klasse, e.status, e.aktion) == ("bounce", "ignoriert", "bounce_unzugeordnet")
    assert db_session.get(MailAdresse, BUERGERIN) is None


# --- dedupe, rate limit, failures, retention ----------------------------------------------------------------


def test_doppelte_message_id_wird_nur_einmal_verarbeitet(verarbeitung, db_session):
    roh = mail("buerger_ausweis.eml", MID="doppelt@example.org")
    erste = eingang(db_session, verarbeitung.annehmen(roh, quelle="imap"))
    zweite = eingang(db_session, verarbeitung.annehmen(roh, quelle="smtp"))
    assert erste.status == "verarbeitet"
    assert (zweite.status, zweite.aktion, zweite.ticket_id) == ("ignoriert", "duplikat", None)
    assert db_session.query(Ticket).count() == 1 and len(ausgang(db_session)) == 1


def test_rate_limit_haelt_zurueck_und_freigabe_verarbeitet(session_factory, wdb, settings, uhr, db_session):
    settings.mail_max_pro_absender_tag = 3
    v = MailVerarbeitung(session_factory, wdb, settings, uhr=uhr)
    ids = [v.annehmen(einfache_mail(betreff=f"Frage {i}", text=f"Wie melde ich Sperrmüll an? ({i})"),
                      quelle="test") for i in range(5)]
    status = [eingang(db_session, i).status for i in ids]
    assert status == ["verarbeitet"] * 3 + ["zurueckgehalten"] * 2
    assert eingang(db_session, ids[3]).aktion == "rate_limit" and eingang(db_session, ids[3]).ticket_id is None
    # another sender is not affected
    anderer = v.annehmen(einfache_mail(von="x@example.org", betreff="Sperrmüll", text="Sperrmüll anmelden?"),
                         quelle="test")
    assert eingang(db_session, anderer).status == "verarbeitet"
    ergebnis = v.freigeben(ids[3])
    assert ergebnis.status == "verarbeitet" and eingang(db_session, ids[3]).ticket_id is not None


def test_fehler_laesst_rohmail_und_status_fehler_zurueck_und_ist_wiederholbar(session_factory, wdb, settings, uhr,
                                                                               db_session):
    def kaputt(ctx):
        raise RuntimeError("Datenbank weg")

    mit_fehler = [(n, f) if n != "triage" else ("triage", kaputt) for n, f in PIPELINE]
    v = MailVerarbeitung(session_factory, wdb, settings, uhr=uhr, pipeline=mit_fehler)
    roh = mail("buerger_ausweis.eml")
    eid = v.annehmen(roh, quelle="test")  # does not raise
    e = eingang(db_session, eid)
    assert e.status == "fehler" and "triage" in e.fehler and "RuntimeError" in e.fehler
    assert e.roh == roh and e.ticket_id is None
    assert db_session.query(Ticket).count() == 0  # nothing half-done
    ergebnisse = MailVerarbeitung(session_factory, wdb, settings, uhr=uhr).erneut_verarbeiten()
    assert [(r.eingang_id, r.status) for r in ergebnisse] == [(eid, "verarbeitet")]
    assert eingang(db_session, eid).ticket_id is not None and eingang(db_session, eid).fehler is None


def test_beliebiger_muell_stuerzt_nicht_ab(verarbeitung, db_session):
    for roh in (b"", b"\x00\xff\xfe" * 100, b"Subject: =?utf-8?B?////?=\n\n\xff", b"From: <>\n\n",
                b"Content-Type: multipart/mixed\n\n--x\n",
                b"From: a@example.org\nSubject: NUL\x00im Betreff\nMessage-ID: <x\x00y@example.org>\n\nText\x00mit NUL"):
        e = eingang(db_session, verarbeitung.annehmen(roh, quelle="test"))
        assert e.status in ("verarbeitet", "ignoriert"), (roh[:20], e.fehler)


def test_aufbewahrung_loescht_rohmails_wirklich(verarbeitung, db_session, uhr):
    alt = verarbeitung.annehmen(mail("buerger_ausweis.eml"), quelle="test")
    uhr.jetzt = START.replace(day=20)
    neu = verarbeitung.annehmen(mail("latin1.eml"), quelle="test")
    db_session.commit()
    jetzt = START.replace(month=4, day=10)  # alt: 39 days, neu: 21 days
    n = roh_loeschen(db_session, jetzt=jetzt, tage=30)
    db_session.commit()
    assert n == 1
    db_session.expire_all()
    roh_alt = db_session.execute(select(MailEingang.roh, MailEingang.roh_geloescht_am)
                                 .where(MailEingang.id == alt)).one()
    assert roh_alt.roh is None and roh_alt.roh_geloescht_am is not None
    assert db_session.scalar(select(MailEingang.roh).where(MailEingang.id == neu)) is not None
    assert eingang(db_session, alt).ticket_id is not None  # the record and the ticket stay
    # the worker hook does the same
    MailAufbewahrung(tage=1).aufraeumen(db_session, jetzt)
    db_session.commit()
    assert db_session.scalar(select(MailEingang.roh).where(MailEingang.id == neu)) is None
    assert verarbeitung.verarbeiten(alt).fehler.startswith("Rohmail wurde")


def test_worker_aufraeumen_loescht_alte_rohmails(verarbeitung, db_session, session_factory, settings):
    from servicecenter.worker import Worker, aus_settings

    eid = verarbeitung.annehmen(mail("buerger_ausweis.eml"), quelle="test")
    assert any(isinstance(h, MailAufbewahrung) for h in aus_settings(settings).handler)
    w = Worker(sessions=session_factory, handler=[MailAufbewahrung(settings.mail_roh_aufbewahren_tage)],
               uhr=lambda: START.replace(month=4))  # 30 days later: still kept (default 90)
    w.aufraeumen()
    db_session.expire_all()
    assert db_session.scalar(select(MailEingang.roh).where(MailEingang.id == eid)) is not None
    w.uhr = lambda: START.replace(month=7)  # 121 days later
    w.aufraeumen()
    db_session.expire_all()
    assert db_session.scalar(select(MailEingang.roh).where(MailEingang.id == eid)) is None


def test_cli_verarbeitet_fehlgeschlagene_mails_erneut(tmp_path, monkeypatch):
    """`servicecenter mail-verarbeiten` on a database of its own (the CLI opens its own connections)."""
    from typer.testing import CliRunner

    from kanaele.email import speicher
    from servicecenter.cli import app
    from servicecenter.db import make_engine, make_sessionmaker
    from servicecenter.migrate import upgrade
    from servicecenter.settings import get_settings

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        eid = speicher.roh_speichern(s, mail("latin1.eml"), quelle="cli").id  # stored, never processed
        s.commit()
    monkeypatch.setenv("SERVICECENTER_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        lauf = CliRunner().invoke(app, ["mail-verarbeiten"])
    finally:
        get_settings.cache_clear()
    assert lauf.exit_code == 0, lauf.output
    assert f"{eid}: verarbeitet (ticket)" in lauf.output and "1 Mail(s) verarbeitet, 0 mit Fehler" in lauf.output
    with make_sessionmaker(engine)() as s:
        assert s.get(MailEingang, eid).ticket_id is not None
    engine.dispose()


def test_englische_mail_bekommt_notiz_statt_deutscher_auto_antwort(verarbeitung, db_session):
    roh = einfache_mail(betreff="Passport", text="Hello, I need a new passport for my holiday. How do I apply for "
                                                 "a passport and what does it cost? Thank you and kind regards")
    e = eingang(db_session, verarbeitung.annehmen(roh, quelle="test"))
    assert e.aktion == "ticket" and ausgang(db_session) == []
    notizen = _artikel(db_session, db_session.get(Ticket, e.ticket_id), ArtikelArt.notiz)
    assert any("Englisch" in n.text for n in notizen)

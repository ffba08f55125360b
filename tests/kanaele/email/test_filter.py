"""Each filter alone: auto-reply/bounce/list detection, quote stripping, subject normalisation, triage helpers.
Filters that need no database get a context without a session."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kanaele.email.faden import betreff_normal, hat_antwort_praefix, ticket_nummer_aus
from kanaele.email.filter.automatik import automatik_erkennen
from kanaele.email.filter.zitate import neuer_teil, ohne_gruss, zitate_entfernen
from kanaele.email.kontext import Kontext, MailEinstellungen
from kanaele.email.models import MailEingang
from kanaele.email.parsen import parsen
from kanaele.email.triage import prioritaet_erkennen, sprache_erkennen, suchtexte
from tests.kanaele.email.pipeline_hilfe import einfache_mail, mail


def ctx_fuer(roh: bytes, *, umschlag_von: str | None = None) -> Kontext:
    ctx = Kontext(session=None, eingang=MailEingang(umschlag_von=umschlag_von), roh=roh,  # type: ignore[arg-type]
                  einstellungen=MailEinstellungen(), ticket_einstellungen=None,  # type: ignore[arg-type]
                  wdb=None, jetzt=datetime(2026, 3, 2, tzinfo=UTC))
    ctx.mail = parsen(roh)
    automatik_erkennen(ctx)
    return ctx


# --- automatik -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("datei", "klasse"), [
    ("buerger_ausweis.eml", "buerger"), ("latin1.eml", "buerger"), ("html_only.eml", "buerger"),
    ("abwesenheitsnotiz.eml", "abwesenheit"), ("automatische_antwort.eml", "abwesenheit"),
    ("autoreply_x_autoreply.eml", "autoreply"), ("newsletter.eml", "liste"), ("bounce_hart.eml", "bounce"),
])
def test_fixtures_klassen(datei, klasse):
    assert ctx_fuer(mail(datei, BEZUG="x@halle.example", NUMMER="115-2026-000001")).klasse == klasse


@pytest.mark.parametrize(("kopf", "klasse"), [
    ("Auto-Submitted: auto-generated\n", "autoreply"),
    ("Auto-Submitted: auto-replied (zimbra; vacation)\n", "abwesenheit"),
    ("Auto-submitted: auto-replied; owner-email=x@example.org\n", "autoreply"),
    ("Auto-Submitted: no\n", "buerger"),
    ("Precedence: junk\n", "autoreply"),
    ("X-Precedence: bulk\n", "autoreply"),
    ("Precedence: list\n", "liste"),
    ("X-Autorespond: yes\n", "autoreply"),
    ("X-Autoreply: yes\n", "autoreply"),
    ("X-Loop: irgendwer@example.org\n", "autoreply"),
    ("X-Loop: 115@halle.example\n", "eigene"),
    ("X-MS-Exchange-Inbox-Rules-Loop: b@example.org\n", "autoreply"),
    ("List-Id: <liste.example.org>\n", "liste"),
    ("List-Unsubscribe: <mailto:x@example.org>\n", "liste"),
    ("Return-Path: <>\n", "autoreply"),
])
def test_kopfzeilen(kopf, klasse):
    roh = einfache_mail(betreff="Frage zum Ausweis", text="Wie beantrage ich einen Ausweis?", kopf=kopf)
    assert ctx_fuer(roh).klasse == klasse


@pytest.mark.parametrize(("von", "klasse"), [
    ("MAILER-DAEMON@mx.example.org", "autoreply"), ("postmaster@example.org", "autoreply"),
    ("noreply@example.org", "autoreply"), ("no-reply@shop.example.org", "autoreply"),
    ("donotreply@example.org", "autoreply"), ("115@halle.example", "eigene"), ("maria@example.org", "buerger"),
])
def test_systemabsender(von, klasse):
    assert ctx_fuer(einfache_mail(von=von, betreff="Hallo", text="Ein Text.")).klasse == klasse


def test_leerer_umschlagabsender_ist_automatisch():
    roh = einfache_mail(betreff="Frage", text="Text")
    assert ctx_fuer(roh, umschlag_von="").klasse == "autoreply"
    assert ctx_fuer(roh, umschlag_von="a@example.org").klasse == "buerger"


@pytest.mark.parametrize("betreff", ["Abwesenheitsnotiz: Ihre Anfrage", "Automatische Antwort: Termin",
                                     "Out of Office: Meeting", "AUTO: Smith is out of the office",
                                     "Automatic reply: Frage", "Urlaub bis 20.3."])
def test_abwesenheit_am_betreff(betreff):
    assert ctx_fuer(einfache_mail(betreff=betreff, text="Ich bin nicht da.")).klasse == "abwesenheit"


def test_x_auto_response_suppress_verbietet_nur_die_auto_antwort():
    ctx = ctx_fuer(einfache_mail(betreff="Frage", text="Text", kopf="X-Auto-Response-Suppress: All\n"))
    assert ctx.klasse == "buerger" and ctx.keine_auto_antwort


def test_bounces_hart_und_weich():
    hart = ctx_fuer(mail("bounce_hart.eml", BEZUG="abc.sc115@halle.example", NUMMER="115-2026-000001"))
    assert hart.bounce.hart and hart.bounce.status == "5.1.1" and hart.bounce.grund == "unbekannt"
    assert hart.bounce.empfaenger == ["renate.vogel@example.org"]
    assert "abc.sc115@halle.example" in hart.bounce.original_message_ids
    weich = ctx_fuer(mail("bounce_weich.eml", BEZUG="abc.sc115@halle.example", NUMMER="115-2026-000001"))
    assert weich.klasse == "bounce" and not weich.bounce.hart and weich.bounce.grund == "postfach_voll"


def test_freitext_bounce_und_verzoegerung():
    roh = einfache_mail(von="MAILER-DAEMON@mx.example.org", betreff="Mail delivery failed: returning message",
                        text="This message was created automatically by mail delivery software.\n\n"
                             "A message that you sent could not be delivered to one or more of its recipients.\n"
                             "  x@example.org\n    550 5.1.1 <x@example.org>: User unknown")
    ctx = ctx_fuer(roh)
    assert ctx.klasse == "bounce" and ctx.bounce.hart and ctx.bounce.empfaenger == ["x@example.org"]
    roh = einfache_mail(von="postmaster@example.org", betreff="Delayed Mail (still being retried)",
                        text="Your message has not yet been delivered. The system will continue to retry.")
    assert ctx_fuer(roh).klasse == "verzoegerung"


def test_challenge_response_ist_kein_bounce():
    roh = einfache_mail(von="support@example.org", betreff="Please confirm your message",
                        text="To deliver your mail, click the link to add your address to the allowed list.")
    assert ctx_fuer(roh).klasse == "challenge"


# --- quotes ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Neue Frage.\n\nAm 02.03.2026 um 10:15 schrieb Servicecenter 115 <115@halle.example>:\n> alt\n",
    "Neue Frage.\n\nAm Mo., 2. März 2026 um 10:15 Uhr schrieb Max Muster\n<max@example.org>:\n> alt",
    "Neue Frage.\n\n-----Ursprüngliche Nachricht-----\nVon: A\nGesendet: heute\nalt",
    "Neue Frage.\n\nOn Mon, Mar 2, 2026 at 10:15 AM Someone <a@example.org> wrote:\n> old",
    "Neue Frage.\n> alt\n> noch älter",
    "Neue Frage.\n\n________________________________\nVon: Servicecenter\nGesendet: Montag\nalt",
    "Neue Frage.\n-- \nMax Muster\nMusterstraße 1",
])
def test_zitate_und_signatur_weg(text):
    assert neuer_teil(text) == "Neue Frage."


def test_zitate_filter_setzt_neuen_text():
    ctx = ctx_fuer(mail("antwort_aw.eml", BEZUG="x@y"))
    zitate_entfernen(ctx)
    assert ctx.neuer_text.startswith("Danke! Kann ich das Foto") and "schrieb" not in ctx.neuer_text


def test_gruss_und_anrede_weg():
    t = "Sehr geehrte Damen und Herren,\nich brauche einen Reisepass für die USA.\nMit freundlichen Grüßen\nA. B."
    assert ohne_gruss(t) == "ich brauche einen Reisepass für die USA."
    assert ohne_gruss("Hallo, ich brauche einen Pass.") == "ich brauche einen Pass."


# --- subject --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("betreff", ["AW: Reisepass", "Re: Reisepass", "WG: Reisepass", "Fwd: Reisepass",
                                     "Re[2]: Reisepass", "AW: WG: RE: Reisepass", "Antw: Reisepass",
                                     "AW: Reisepass [115-2026-000123]", "  re : Reisepass"])
def test_betreff_normal(betreff):
    assert betreff_normal(betreff) == "reisepass"
    assert hat_antwort_praefix(betreff) or "[" in betreff


def test_ticketnummer_aus_betreff():
    assert ticket_nummer_aus("AW: Frage [115-2026-000123]") == "115-2026-000123"
    assert ticket_nummer_aus("Frage 115-2026-000123") is None  # only the tag in brackets counts


# --- triage helpers -------------------------------------------------------------------------------------------


def test_prioritaet_und_sprache():
    assert prioritaet_erkennen("Frage", "Wie beantrage ich einen Pass?") == "normal"
    assert prioritaet_erkennen("Dringend", "Bitte um Rückruf") == "hoch"
    assert prioritaet_erkennen("Widerspruch", "Die Frist endet morgen, ich reiche Klage ein.") == "dringend"
    assert sprache_erkennen("Guten Tag, ich brauche einen neuen Ausweis für meine Reise.") == "de"
    assert sprache_erkennen("Hello, I need a new passport for my trip. How can I do that?") == "en"


def test_suchtexte_ohne_leeren_betreff_und_gruss():
    b, t = suchtexte("AW: Frage", "Hallo,\nwie melde ich Sperrmüll an?\n\nMit freundlichen Grüßen\nA.\n\n"
                                  "Am 1.3.2026 schrieb X <x@y.de>:\n> alt")
    assert b == "" and t == "wie melde ich Sperrmüll an?"

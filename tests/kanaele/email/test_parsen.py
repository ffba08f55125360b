"""The parser alone: charsets, encoded-words, HTML-only, attachments with limits, broken MIME."""

from __future__ import annotations

from kanaele.email.parsen import (
    Grenzen,
    bytes_dekodieren,
    html_bereinigen,
    html_zu_text,
    kopf_dekodieren,
    parsen,
)
from tests.kanaele.email.pipeline_hilfe import mail


def test_latin1_body_und_rfc2047_kopf():
    m = parsen(mail("latin1.eml", MID="a@b"))
    assert m.von_name == "Jürgen Müller" and m.von_adresse == "juergen.mueller@example.org"
    assert m.betreff == "Hund zur Hundesteuer anmelden – Gebühr"  # 0x96 is Windows-1252's en dash
    assert "Gebühr?" in m.text and "Grüße" in m.text
    assert m.message_id == "a@b"


def test_windows1252_unter_latin1_etikett_und_8bit_kopf():
    m = parsen(mail("windows1252.eml"))
    assert "„Meldebescheinigung“" in m.text and "10 €" in m.text
    assert m.von_name == "Anja Weiß"


def test_html_only_gibt_text_und_bereinigtes_html():
    m = parsen(mail("html_only.eml"))
    assert "Wie lange dauert die Ausstellung eines Reisepasses?" in m.text
    assert "Viele Grüße" in m.text and "alert" not in m.text and "color:red" not in m.text
    assert "> Alte Nachricht" in m.text  # blockquote becomes a quoted line
    h = m.html
    for boese in ("<script", "onload", "onerror", "javascript:", "<img", "tracker.example.org", "<style"):
        assert boese not in h
    assert '<a href="https://www.example.org/"' in h and "<b>Reisepasses</b>" in h


def test_anhang_mit_rfc2231_namen_und_grenzen():
    m = parsen(mail("anhang.eml"))
    (a,) = m.anhaenge
    assert (a.dateiname, a.mimetyp) == ("Bestätigung.pdf", "application/pdf")
    assert a.inhalt.startswith(b"%PDF") and a.groesse == len(a.inhalt)
    klein = parsen(mail("anhang.eml"), Grenzen(anhang_max_bytes=10))
    assert klein.anhaenge[0].inhalt is None and klein.anhaenge[0].abgelehnt == "zu groß"
    keine = parsen(mail("anhang.eml"), Grenzen(anhang_max_anzahl=0))
    assert keine.anhaenge[0].abgelehnt == "zu viele Anhänge"


def test_kaputtes_mime_wird_als_text_gelesen():
    m = parsen(mail("kaputt_mime.eml"))
    assert "Spanien" in m.text and m.probleme


def test_muell_gibt_ein_ergebnis():
    for roh in (b"", b"\xff\xfe\x00" * 50, b"no headers at all\n\njust text", b"From: <>\nSubject: =?x?Q?=ZZ?=\n\n"):
        m = parsen(roh)
        assert isinstance(m.text, str) and isinstance(m.betreff, str)


def test_mbox_zeile_und_gebrochene_faltung():
    roh = (b"From someone@example.org Mon Mar  2 09:00:00 2026\nReturn-Path: <a@example.org>\n"
           b"X-Tracker: abc\ndef-ohne-einrueckung\nFrom: A <a@example.org>\nSubject: Test\n\nText\n")
    m = parsen(roh)
    assert (m.von_adresse, m.betreff, m.text.strip()) == ("a@example.org", "Test", "Text")


def test_absender_ersatz_und_kommentar():
    assert parsen(b"From: =?GB2312?B?ztI=?= <>\nReply-To: <x@example.org>\n\n").von_adresse == "x@example.org"
    m = parsen(b"From: MAILER-DAEMON (Mail Delivery System) <postmaster@example.org>\n\n")
    assert (m.von_name, m.von_adresse) == ("MAILER-DAEMON", "postmaster@example.org")


def test_dekodierhilfen():
    assert bytes_dekodieren(b"Gr\xfc\xdfe", "iso-8859-1") == "Grüße"
    assert bytes_dekodieren("Grüße".encode(), "us-ascii") == "Grüße"
    assert bytes_dekodieren(b"\x81\x8d", "gibt-es-nicht") == "\x81\x8d"  # Latin-1 as last resort
    assert kopf_dekodieren("=?utf-8?Q?Gr=C3=BC=C3=9Fe?= =?utf-8?Q?_aus?= Halle ") == "Grüße aus Halle"
    assert html_zu_text("<p>a&amp;b</p><ul><li>x</li></ul>") == "a&b\n\n- x"
    assert html_bereinigen('<p onclick="x()">t</p>') == "<p>t</p>"

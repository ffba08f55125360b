"""The real-world mail corpus (../shared/data/mail-corpus, 194 messages from Zammad, OTOBO, Sisimai, CPython,
a Perl bounce parser and Discourse) through the receiving pipeline: no crash, expected values matched.
How each expected value is compared is documented in korpus/mailkorpus.py."""

from __future__ import annotations

import pytest

from korpus.mailkorpus import ABWEICHUNGEN, nachrichten, pipeline_lauf
from servicecenter.settings import Settings

# Known disagreements with the bounce expectations, each checked by hand (see the report in the issue):
BOUNCE_ABWEICHUNGEN = {
    ("sisimai/maildir/bsd/rfc3464-01.eml", "hardbounce"):
        "diagnostic says '550 5.1.1 User unknown'; Sisimai's expectation is mailboxfull/soft",
    ("sisimai/maildir/not/rb-issue-368-bug.eml", "kind"):
        "a real 'Mailbox full' bounce from postmaster with Return-Path <>; Sisimai lists it as not-a-bounce",
}


@pytest.fixture(scope="module")
def lauf(korpus, demo_db):
    settings = Settings(database_url=demo_db, db_auto_upgrade=False, _env_file=None)
    return pipeline_lauf(korpus / "mail-corpus", demo_db, settings)


def test_alle_nachrichten_ohne_absturz(lauf):
    assert lauf.n == 194
    assert lauf.abstuerze == 0, lauf.fehler_status


def test_zammad_absender_name_betreff_exakt(lauf):
    falsch = [(v.datei, v.feld, v.erwartet, v.ist) for v in lauf.vergleiche
              if v.quelle == "zammad" and v.feld != "body~" and not v.ok
              and (v.datei, v.feld) not in ABWEICHUNGEN]
    assert not falsch
    gezaehlt = [v for v in lauf.vergleiche if v.quelle == "zammad" and v.feld != "body~"]
    assert len(gezaehlt) >= 200


def test_zammad_text_ungefaehr(lauf):
    body = [v for v in lauf.vergleiche if v.feld == "body~"]
    falsch = [(v.datei, v.ist) for v in body if not v.ok]
    assert len(falsch) <= len(body) * 0.1, falsch


def test_bounce_autoreply_weder_noch_und_hart_weich(lauf):
    falsch = [(v.datei, v.feld, v.erwartet, v.ist) for v in lauf.vergleiche
              if v.quelle in ("sisimai", "bounceparser") and not v.ok
              and (v.datei, v.feld) not in BOUNCE_ABWEICHUNGEN]
    assert not falsch


def test_automatische_mails_werden_als_maschinell_erkannt(lauf, korpus):
    """Every out-of-office, auto-reply and bounce of the corpus gets a machine class, so it is never answered."""
    kategorie = {z["path"]: z["category"] for z in nachrichten(korpus / "mail-corpus")}
    maschinell = {"auto-reply", "out-of-office", "bounce-dsn"}
    falsch = [p for p, k in lauf.klassen.items() if k == "buerger" and kategorie[p] in maschinell]
    assert not falsch
    assert sum(kategorie[p] in maschinell for p in lauf.klassen) == 68


def test_bericht(lauf, capsys):
    with capsys.disabled():
        print(f"\nMail-Korpus: {lauf.n} Nachrichten, {lauf.abstuerze} Abstürze, "
              f"{lauf.erwartet_ok}/{lauf.erwartet_n} erwartete Werte gleich; je Quelle: {lauf.nach_quelle()}")

"""Triage over our own set of German citizen mails about the demo catalogue (tests/fixtures/mails/triage_set.yaml):
the right Leistung at top-1 in at least 90 % of them, and "sicher" only when right."""

from __future__ import annotations

import yaml

from kanaele.email.triage import triage, zustaendige_queue
from tests.kanaele.email.pipeline_hilfe import MAILS
from wissensdatenbank.models import Leistung

SET = yaml.safe_load((MAILS / "triage_set.yaml").read_text(encoding="utf-8"))["mails"]


def test_set_ist_gross_genug_und_deckt_den_katalog_ab(db_session, katalog):
    namen = {n for (n,) in db_session.query(Leistung.leistungsname)}
    assert len(SET) >= 60
    assert {m["leistung"] for m in SET} <= namen  # every expectation names a real Leistung
    assert len({m["leistung"] for m in SET}) >= 50


def test_top1_mindestens_90_prozent(wdb):
    falsch = []
    for m in SET:
        e = triage(wdb, m["betreff"], m["text"])
        if e.leistung is None or e.leistung.name != m["leistung"]:
            falsch.append((m["betreff"], m["leistung"], e.leistung.name if e.leistung else None))
    quote = 1 - len(falsch) / len(SET)
    assert quote >= 0.90, falsch


def test_sicher_nur_wenn_richtig(wdb):
    sicher = [(m, triage(wdb, m["betreff"], m["text"])) for m in SET]
    sicher = [(m, e) for m, e in sicher if e.konfidenz == "sicher"]
    assert len(sicher) >= len(SET) // 2  # the auto-answer path is actually used
    assert all(e.leistung.name == m["leistung"] for m, e in sicher)


def test_queue_aus_zustaendigkeit(db_session, wdb):
    e = triage(wdb, "Schlagloch", "In unserer Straße ist ein tiefes Schlagloch.")
    assert e.leistung.name == "Straßenschaden melden"
    assert zustaendige_queue(db_session, e.leistung.leistung_id, "150020000000") is not None


def test_ohne_inhalt_kein_treffer(wdb):
    e = triage(wdb, "Hallo", "Mit freundlichen Grüßen")
    assert e.konfidenz in ("kein Treffer", "unsicher")

"""Fixtures and helpers for the receiving pipeline tests (imported by test_pipeline*.py, test_triage.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kanaele.email.models import MailEingang
from kanaele.email.pipeline import MailVerarbeitung
from servicecenter.outbox.models import OutboxEintrag
from wissensdatenbank.importe import demo
from wissensdatenbank.importe.basis import importiere
from wissensdatenbank.service import Wissensdatenbank

MAILS = Path(__file__).resolve().parents[2] / "fixtures" / "mails"
START = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # Monday, inside the service hours in Halle
BUERGERIN = "renate.vogel@example.org"


class Uhr:
    def __init__(self) -> None:
        self.jetzt = START

    def __call__(self) -> datetime:
        self.jetzt += timedelta(seconds=1)  # every mail a little later: stable ordering
        return self.jetzt


def mail(name: str, **werte: str) -> bytes:
    """A fixture mail with its placeholders filled; MID defaults to a fresh unique Message-ID."""
    roh = (MAILS / name).read_bytes()
    werte.setdefault("MID", f"{uuid.uuid4().hex}@example.org")
    werte.setdefault("ABSENDER", BUERGERIN)
    for k, v in werte.items():
        roh = roh.replace(("{{" + k + "}}").encode(), v.encode())
    return roh


def einfache_mail(*, von: str = BUERGERIN, betreff: str, text: str, kopf: str = "", mid: str | None = None) -> bytes:
    mid = mid or f"{uuid.uuid4().hex}@example.org"
    return (f"From: {von}\nTo: 115@halle.example\nSubject: {betreff}\nMessage-ID: <{mid}>\n{kopf}"
            f"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
            f"{text}\n").encode()


@pytest.fixture
def katalog(db_session):
    bericht = importiere(db_session, format="demo", eintraege=demo.lesen(), region="150020000000")
    assert bericht.ok
    db_session.commit()
    return bericht


@pytest.fixture
def wdb(session_factory, katalog):
    w = Wissensdatenbank(session_factory, sync_intervall=3600)
    w.aufbauen()
    return w


@pytest.fixture
def uhr() -> Uhr:
    return Uhr()


@pytest.fixture
def verarbeitung(session_factory, wdb, settings, uhr) -> MailVerarbeitung:
    return MailVerarbeitung(session_factory, wdb, settings, uhr=uhr)


def eingang(session, eingang_id: int) -> MailEingang:
    session.expire_all()
    return session.get(MailEingang, eingang_id)


def ausgang(session, art: str = "email_senden") -> list[OutboxEintrag]:
    session.expire_all()
    return list(session.scalars(select(OutboxEintrag).where(OutboxEintrag.art == art).order_by(OutboxEintrag.id)))

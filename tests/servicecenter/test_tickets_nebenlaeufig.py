"""Concurrency with real commits (not the rolled-back test transaction): unique numbers under parallel
creation, and optimistic locking between two sessions. Rows of the far-future test years are removed after."""

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete

from servicecenter.db import make_sessionmaker, session_scope
from servicecenter.tickets import service as ts
from servicecenter.tickets.models import Kanal, Prioritaet, Ticket, TicketZaehler

EINST = ts.TicketEinstellungen()
JAHR = 2093


@pytest.fixture
def sitzungen(engine):
    factory = make_sessionmaker(engine)
    yield factory
    with session_scope(factory) as s:
        s.execute(delete(Ticket).where(Ticket.nummer.like(f"115-{JAHR}-%")))
        s.execute(delete(TicketZaehler).where(TicketZaehler.jahr == JAHR))


def test_nummern_eindeutig_bei_gleichzeitiger_anlage(engine, sitzungen):
    zeit = datetime(JAHR, 6, 1, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    # PostgreSQL: truly parallel transactions. SQLite has one writer at a time: serialise the transactions.
    sperre = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()
    start = threading.Barrier(8)

    def arbeiter(_: int) -> list[str]:
        start.wait()
        ergebnis = []
        for _ in range(5):
            with sperre, session_scope(sitzungen) as s:
                t = ts.ticket_anlegen(s, anliegen="Gleichzeitig", kanal=Kanal.telefon, benutzer=None,
                                      einstellungen=EINST, jetzt=zeit)
                ergebnis.append(t.nummer)
        return ergebnis

    with ThreadPoolExecutor(max_workers=8) as pool:
        nummern = [n for teil in pool.map(arbeiter, range(8)) for n in teil]
    assert len(nummern) == 40 and len(set(nummern)) == 40
    assert sorted(nummern) == [f"115-{JAHR}-{i:06d}" for i in range(1, 41)]  # no gaps either
    with session_scope(sitzungen) as s:
        assert s.get(TicketZaehler, JAHR).wert == 40


def test_zweite_sitzung_mit_veralteter_version_bekommt_konflikt(sitzungen):
    zeit = datetime(JAHR, 6, 1, 10, tzinfo=ZoneInfo("Europe/Berlin"))
    with session_scope(sitzungen) as s:
        nummer = ts.ticket_anlegen(s, anliegen="Zwei Bearbeiter", kanal=Kanal.email, benutzer=None,
                                   einstellungen=EINST, jetzt=zeit).nummer
    s1, s2 = sitzungen(), sitzungen()
    try:
        a, b = ts.ticket_laden(s1, nummer), ts.ticket_laden(s2, nummer)
        assert a.version == b.version == 1
        # Like two web requests: the second agent's form was loaded in an earlier, finished transaction.
        s2.commit()
        ts.ticket_aendern(s1, a, version=1, benutzer=None, einstellungen=EINST, prioritaet=Prioritaet.hoch,
                          jetzt=zeit)
        s1.commit()
        # b still says version 1, so the explicit check passes; the versioned UPDATE finds no row → 409.
        with pytest.raises(ts.VersionKonflikt) as fehler:
            ts.ticket_aendern(s2, b, version=1, benutzer=None, einstellungen=EINST, prioritaet=Prioritaet.niedrig)
        assert fehler.value.ticket.version == 2 and fehler.value.ticket.prioritaet == Prioritaet.hoch
        s2.commit()  # the session is still usable; nothing of the stale change was written
    finally:
        s1.close()
        s2.close()
    with session_scope(sitzungen) as s:
        t = ts.ticket_laden(s, nummer)
        assert t.prioritaet == Prioritaet.hoch and t.version == 2
        assert [h.feld for h in ts.zeitleiste(s, t)] == ["status", "prioritaet"]

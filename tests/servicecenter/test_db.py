"""servicecenter.db: SQLite units of work that write take the write lock at their start."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import text

from servicecenter.db import make_engine, make_sessionmaker, schreibend, session_scope


@pytest.fixture
def sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as c:
        c.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    yield make_sessionmaker(engine), tmp_path / "x.db"
    engine.dispose()


def _anderer_schreiber_blockiert(pfad) -> bool:
    fremd = sqlite3.connect(pfad, timeout=0, isolation_level=None)
    try:
        fremd.execute("BEGIN IMMEDIATE")
        fremd.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as e:
        assert "locked" in str(e)
        return True
    finally:
        fremd.close()


def test_schreibend_haelt_die_schreibsperre_ab_dem_ersten_lesen(sessions):
    factory, pfad = sessions
    with session_scope(factory) as session:
        schreibend(session)
        session.execute(text("SELECT count(*) FROM t")).scalar()
        assert _anderer_schreiber_blockiert(pfad)
        session.execute(text("INSERT INTO t VALUES (1)"))
    assert not _anderer_schreiber_blockiert(pfad)  # committed and released
    with session_scope(factory) as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 1


def test_ohne_schreibend_bleibt_lesen_ohne_sperre(sessions):
    factory, pfad = sessions
    with session_scope(factory) as session:
        session.execute(text("SELECT count(*) FROM t")).scalar()
        assert not _anderer_schreiber_blockiert(pfad)
    # the option does not stick to the pooled connection
    with session_scope(factory) as session:
        schreibend(session)
        session.execute(text("SELECT 1"))
    with session_scope(factory) as session:
        session.execute(text("SELECT count(*) FROM t")).scalar()
        assert not _anderer_schreiber_blockiert(pfad)


def test_schreibend_laesst_fremde_transaktionen_in_ruhe(db_session):
    schreibend(db_session)  # a session inside the test's outer transaction (or PostgreSQL): nothing happens
    db_session.execute(text("SELECT 1"))


def _sperre_frei(factory) -> bool:
    """The in-process write lock of the engine is free (taken and given back at once)."""
    for ziel in factory.kw["bind"].dispatch.begin:
        sperre = getattr(ziel, "__self__", None)
        if sperre is not None and hasattr(sperre, "_lock"):
            if sperre._lock.acquire(blocking=False):  # noqa: SLF001
                sperre._lock.release()  # noqa: SLF001
                return True
            return False
    raise AssertionError("no write lock on the engine")


def test_prozessinterne_schreibsperre_wird_nach_commit_und_rollback_frei(sessions):
    factory, _ = sessions
    with session_scope(factory) as session:
        schreibend(session)
        session.execute(text("INSERT INTO t VALUES (1)"))
        assert not _sperre_frei(factory)  # held for the whole unit of work
    assert _sperre_frei(factory)
    with pytest.raises(RuntimeError), session_scope(factory) as session:
        schreibend(session)
        session.execute(text("INSERT INTO t VALUES (2)"))
        raise RuntimeError("Fehler mitten in der Arbeit")
    assert _sperre_frei(factory)
    with session_scope(factory) as session:  # reading units of work do not take it
        session.execute(text("SELECT count(*) FROM t")).scalar()
        assert _sperre_frei(factory)
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 1


def test_viele_gleichzeitige_schreiber_kommen_alle_durch(sessions):
    """A burst of writers from many threads (as ten chat turns arriving together): each waits its turn in the
    process, none fails with "database is locked", nothing is lost."""
    import threading

    factory, _ = sessions
    fehler: list[BaseException] = []
    start = threading.Barrier(12)

    def schreiber(nr: int) -> None:
        try:
            start.wait()
            for k in range(10):
                with session_scope(factory) as session:
                    schreibend(session)
                    session.execute(text("SELECT count(*) FROM t")).scalar()  # read, then write
                    session.execute(text("INSERT INTO t VALUES (:x)"), {"x": nr * 100 + k})
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            fehler.append(e)

    threads = [threading.Thread(target=schreiber, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert fehler == []
    with session_scope(factory) as session:
        assert session.execute(text("SELECT count(*) FROM t")).scalar() == 120
    assert _sperre_frei(factory)

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

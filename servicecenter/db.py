"""Engine, session factory and declarative base."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from wissensdatenbank.basis import Base

__all__ = ["Base", "make_engine", "make_sessionmaker", "schreibend", "session_scope"]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINTs (a RELEASE would commit); take it over:
    # no implicit BEGIN from the driver, SQLAlchemy emits BEGIN itself (see _Schreibsperre.begin).
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    # The usual setting with WAL: a commit is a write to the WAL file without fsync (the WAL is synced at
    # checkpoints). Committed transactions survive a crash of the application (or of every process using the
    # database); on a power loss or OS crash the last commits before it may roll back, the database stays
    # consistent. FULL (SQLite's default) would fsync on every commit (~5 ms each). For guarantees against power
    # loss run PostgreSQL (the production database).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


SOFORT_SCHREIBEN = "sqlite_sofort_schreiben"


SPERRE_SEKUNDEN = 5.0  # as long as SQLite's busy timeout


class _Schreibsperre:
    """One writer at a time inside this process, before SQLite's own write lock. SQLite lets a waiting writer
    sleep in growing steps (busy handler: 1, 2, 5, 10 … 100 ms) and poll, so under a burst of writes (ten chat
    turns arriving together) the later ones slept long after the lock was free; a thread waiting here is woken
    as the previous transaction ends (SQLAlchemy's commit event comes just before the COMMIT itself, so the
    next writer may still meet SQLite's lock for that instant, with the busy handler's shortest sleep). Other
    processes (worker, mail receiver) still meet at SQLite's lock.
    A plain Lock, because FastAPI may end a session in another thread than the one that began it; a writer that
    waits longer than the busy timeout goes on without it (SQLite then decides, as before: no deadlock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def begin(self, conn) -> None:
        sofort = conn.get_execution_options().get(SOFORT_SCHREIBEN)
        if sofort and self._lock.acquire(timeout=SPERRE_SEKUNDEN):
            conn.info[SOFORT_SCHREIBEN] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if sofort else "BEGIN")
        except BaseException:
            self.ende(conn)
            raise

    def ende(self, conn) -> None:
        if conn.info.pop(SOFORT_SCHREIBEN, False):
            self._lock.release()


def schreibend(session: Session) -> None:
    """Call first in a unit of work that reads and then writes. SQLite: the transaction takes the write lock at
    its start (BEGIN IMMEDIATE). A deferred transaction that reads first and writes later fails at once with
    "database is locked" when another writer committed meanwhile (the busy timeout does not apply to that
    upgrade); an immediate one waits for the lock instead. PostgreSQL: nothing to do. Only for sessions on the
    engine itself: a session inside someone else's transaction (tests) is left alone."""
    if isinstance(session.bind, Engine) and session.bind.dialect.name == "sqlite" and not session.in_transaction():
        session.connection(execution_options={SOFORT_SCHREIBEN: True})


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        sperre = _Schreibsperre()
        event.listen(engine, "begin", sperre.begin)
        event.listen(engine, "commit", sperre.ende)
        event.listen(engine, "rollback", sperre.ende)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit at the boundary, roll back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()

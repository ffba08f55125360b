"""Engine, session factory and declarative base."""

from __future__ import annotations

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
    # no implicit BEGIN from the driver, SQLAlchemy emits BEGIN itself (see _sqlite_begin).
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


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(SOFORT_SCHREIBEN) else "BEGIN")


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
        event.listen(engine, "begin", _sqlite_begin)
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

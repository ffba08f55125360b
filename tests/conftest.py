"""Shared fixtures: one migrated database per test run, one rolled-back transaction per test.

The suite runs on SQLite by default and on PostgreSQL when SERVICECENTER_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from servicecenter.db import make_engine
from servicecenter.migrate import upgrade
from servicecenter.settings import Settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("SERVICECENTER_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    if eng.dialect.name == "postgresql":
        # A dedicated test database: start from an empty schema every run.
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def db_connection(engine: Engine) -> Iterator[Connection]:
    """One connection with an outer transaction that is rolled back after the test."""
    connection = engine.connect()
    outer = connection.begin()
    try:
        yield connection
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture
def session_factory(db_connection: Connection) -> Callable[[], Session]:
    """Sessions whose commits end in savepoints of the test's outer transaction."""

    def factory() -> Session:
        return Session(bind=db_connection, join_transaction_mode="create_savepoint", expire_on_commit=False)

    return factory


@pytest.fixture
def db_session(session_factory: Callable[[], Session]) -> Iterator[Session]:
    session = session_factory()
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, db_auto_upgrade=False, _env_file=None)


@pytest.fixture
def app(settings: Settings, engine: Engine, session_factory: Callable[[], Session]):
    from servicecenter.app import create_app

    return create_app(settings, engine=engine, session_factory=session_factory)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES

"""Shared fixtures: real databases (a SQLite file and a PostgreSQL database), fixed clocks.

Tests that take ``db_url`` or ``engine`` run once on SQLite and once on PostgreSQL. Each test gets
a fresh database copied from one migrated template, so migrations run once per session, not once
per test. PostgreSQL is not optional: if it is unreachable the PostgreSQL half fails, loudly.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

from collector.storage.db import make_engine, upgrade

PG_URL = os.environ.get(
    "COLLECTOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SAMPLES = Path(__file__).resolve().parents[1].parent / "shared" / "platform-samples"


class FakeClock:
    """A clock tests move by hand; every component takes it instead of reading the time."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 2, 12, 0, tzinfo=UTC))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


class _PostgresDatabases:
    """Creates throwaway databases from a migrated template on the test server."""

    def __init__(self, url: str) -> None:
        self.admin = make_engine(url, isolation_level="AUTOCOMMIT")
        self.url = make_url(url)
        self.template = f"collector_tmpl_{uuid.uuid4().hex[:8]}"
        self.counter = itertools.count()
        self.created: list[str] = []
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.template}"'))
        engine = make_engine(self.url_for(self.template))
        upgrade(engine)
        engine.dispose()

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self) -> str:
        name = f"{self.template}_{next(self.counter)}"
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return name

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        self.drop(self.template)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[_PostgresDatabases]:
    try:
        databases = _PostgresDatabases(PG_URL)
    except Exception as exc:  # the message must say how to fix it, not just "connection refused"
        pytest.fail(
            f"PostgreSQL at {PG_URL} is unreachable ({exc.__class__.__name__}); start it with "
            "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start' or set "
            "COLLECTOR_TEST_PG_URL"
        )
    yield databases
    databases.close()


@pytest.fixture
def pg_scratch(postgres_databases: _PostgresDatabases) -> Iterator[str]:
    """The URL of a freshly migrated PostgreSQL database of this test's own, dropped after."""
    name = postgres_databases.create()
    try:
        yield postgres_databases.url_for(name)
    finally:
        postgres_databases.drop(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A freshly migrated, empty database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "collector.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    databases: _PostgresDatabases = request.getfixturevalue("postgres_databases")
    name = databases.create()
    try:
        yield databases.url_for(name)
    finally:
        databases.drop(name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()

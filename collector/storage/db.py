"""Database URLs, engines and migrations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.engine.url import URL
from sqlalchemy.exc import ArgumentError
from sqlmodel import create_engine

__all__ = [
    "DEFAULT_DB_URL",
    "DatabaseURLError",
    "SchemaNotReady",
    "current_revision",
    "ensure_schema",
    "head_revision",
    "make_engine",
    "normalise_url",
    "resolve_db_url",
    "upgrade",
]

DEFAULT_DB_URL = "sqlite:///collector.db"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


class DatabaseURLError(ValueError):
    """The database URL cannot be used."""


def resolve_db_url(cli_value: str | None, config_value: str | None = None) -> str:
    """``--db`` wins over ``COLLECTOR_DB_URL``, which wins over the config, then the default."""
    return cli_value or os.environ.get("COLLECTOR_DB_URL") or config_value or DEFAULT_DB_URL


def normalise_url(url: str) -> URL:
    """Parse a SQLAlchemy URL; plain ``postgresql://`` uses psycopg 3, the driver we ship."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseURLError(
            f"{url!r} is not a database URL: use sqlite:///path.db or "
            "postgresql+psycopg://user@host/dbname"
        ) from exc
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseURLError(
            f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL"
        )
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets dashboards and notebooks read while the daemon writes; NORMAL sync is safe in WAL
    # (a power cut may lose the last commit, never corrupt the file).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A reader holding a long transaction must delay a write, not fail it.
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine with the settings each backend needs (WAL and foreign keys on SQLite)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Collector's sessions speak UTC whatever the server's zone: psycopg then hands back
    # timestamptz values with timezone.utc rather than a ZoneInfo, a third less CPU to decode
    # (the latest state of 10,000 accounts is 40,000 of them), and nothing Collector asks
    # depends on the session's zone (its views convert with AT TIME ZONE 'UTC'). Options the
    # URL already gives (a search_path, say) are kept.
    connect_args = dict(kwargs.pop("connect_args", {}))
    given = connect_args.get("options", parsed.query.get("options", ""))
    if isinstance(given, tuple):
        given = " ".join(given)
    connect_args["options"] = f"{given} -c TimeZone=UTC".strip()
    # pre_ping: after a PostgreSQL restart the pool's dead connections are replaced silently.
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def _alembic_config(engine: Engine | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the only way tables and views are created)."""
    command.upgrade(_alembic_config(engine), revision)


def head_revision() -> str | None:
    """The newest migration shipped with this version."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


class SchemaNotReady(RuntimeError):
    """The database's schema is not the one this version of Collector writes."""


def ensure_schema(engine: Engine, *, allow_upgrade: bool) -> str:
    """Make sure the schema is at head before the daemon writes.

    An empty database is created at once (nothing to lose). An older schema is upgraded only
    when ``allow_upgrade`` says so, because ops may want to back up first; a newer one (written
    by a later version) is refused rather than written with the wrong shape.
    Returns what was done: ``"current"``, ``"created"`` or ``"upgraded"``.
    """
    head = head_revision()
    current = current_revision(engine)
    if current == head:
        return "current"
    if current is None:
        upgrade(engine)
        return "created"
    script = ScriptDirectory.from_config(_alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise SchemaNotReady(
            f"the database schema ({current}) is newer than this version of Collector "
            f"knows (head {head}); upgrade Collector"
        )
    if not allow_upgrade:
        raise SchemaNotReady(
            f"the database schema is at {current}, this version needs {head}: run "
            "'collector db upgrade --db URL' (back up first) or start with --upgrade-db"
        )
    upgrade(engine)
    return "upgraded"

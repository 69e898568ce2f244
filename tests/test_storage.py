"""The schema and the idempotent writes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from collector.storage import repo
from collector.storage.db import (
    SchemaNotReady,
    current_revision,
    ensure_schema,
    head_revision,
    make_engine,
)
from connectors.records import PostRecord, ProfileRecord

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def _store(engine: Engine, collected_at: datetime, likes: int = 10) -> None:
    with engine.begin() as conn:
        ids = repo.ensure_accounts(conn, "demo", ["salma"], now=T0, status="active")
        account_id = ids["salma"]
        profile = ProfileRecord("salma", "p1", collected_at, followers=1000, following=10)
        repo.upsert_profile_snapshots(conn, [repo.profile_row(account_id, profile)])
        post = PostRecord("x1", T0, collected_at, likes=likes, comments=2, views=None)
        post_ids = repo.upsert_posts(conn, account_id, [post], now=collected_at)
        repo.upsert_post_snapshots(conn, [repo.post_snapshot_row(post_ids["x1"], post)])


def test_migrations_bring_an_empty_database_to_head(engine: Engine) -> None:
    assert current_revision(engine) == head_revision()


def test_storing_the_same_observation_twice_adds_no_rows(engine: Engine) -> None:
    _store(engine, T0)
    _store(engine, T0)
    assert [
        _count(engine, t) for t in ("account", "profile_snapshot", "post", "post_snapshot")
    ] == [
        1,
        1,
        1,
        1,
    ]


def test_a_later_observation_adds_a_snapshot_but_not_a_post(engine: Engine) -> None:
    _store(engine, T0)
    _store(engine, T0 + timedelta(hours=6), likes=20)
    assert (_count(engine, "post"), _count(engine, "post_snapshot")) == (1, 2)


def test_unpublished_counts_are_stored_as_null(engine: Engine) -> None:
    _store(engine, T0)
    with engine.connect() as conn:
        views = conn.execute(text("SELECT views FROM post_snapshot")).scalar_one()
    assert views is None


def test_post_latest_view_computes_engagement_rate_by_followers(engine: Engine) -> None:
    _store(engine, T0)
    _store(engine, T0 + timedelta(hours=6), likes=48)
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT likes, interactions, engagement_rate_by_followers FROM post_latest")
        ).one()
    assert (row.likes, row.interactions, round(row.engagement_rate_by_followers, 4)) == (
        48,
        50,
        0.05,
    )


def test_timestamps_come_back_as_utc(engine: Engine) -> None:
    _store(engine, T0)
    with engine.connect() as conn:
        from collector.storage.models import ProfileSnapshot

        table = ProfileSnapshot.__table__  # type: ignore[attr-defined]
        value = conn.execute(select(func.max(table.c.collected_at))).scalar_one()
    assert value == T0


def test_sqlite_runs_in_wal_mode_with_foreign_keys_on(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        modes = (
            conn.exec_driver_sql("PRAGMA journal_mode").scalar_one(),
            conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one(),
        )
    engine.dispose()
    assert modes == ("wal", 1)


def test_a_schema_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)")
        conn.exec_driver_sql("INSERT INTO alembic_version VALUES ('0000')")
    with pytest.raises(SchemaNotReady, match="newer than this version"):
        ensure_schema(engine, allow_upgrade=True)
    engine.dispose()


def test_an_empty_database_is_created_at_head(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    assert ensure_schema(engine, allow_upgrade=False) == "created"
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_collectors_postgresql_sessions_speak_utc(pg_scratch: str) -> None:
    engine = make_engine(pg_scratch)
    try:
        with engine.connect() as conn:
            zone = conn.execute(text("SHOW TimeZone")).scalar()
            now = conn.execute(text("SELECT now()")).scalar()
    finally:
        engine.dispose()
    assert (zone, now.tzinfo if now else None) == ("UTC", UTC)


def test_options_in_a_postgresql_url_are_kept_beside_utc(pg_scratch: str) -> None:
    engine = make_engine(pg_scratch + "?options=-c%20search_path%3Dpg_catalog,public")
    try:
        with engine.connect() as conn:
            settings = conn.execute(
                text("SELECT current_setting('search_path'), current_setting('TimeZone')")
            ).one()
    finally:
        engine.dispose()
    assert tuple(settings) == ("pg_catalog,public", "UTC")

"""``profile_latest`` and the ``account_latest`` view over it (migration 0007), on both backends."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from collector.cli import app
from collector.importer import import_file
from collector.storage import repo
from collector.storage.db import _alembic_config, head_revision, upgrade
from collector.storage.state import AccountOutcome, DueAccount, Store
from connectors.records import History, ProfileRecord

T0 = datetime(2026, 3, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=30)
SNAPSHOT_COLUMNS = (
    "collected_at",
    "followers",
    "following",
    "posts_count",
    "followers_rounded",
    "followers_hidden",
)
# Each account's newest snapshot straight from profile_snapshot: what account_latest answered
# before profile_latest existed.
NEWEST_SNAPSHOTS = f"""
SELECT a.id, {", ".join("ps." + c for c in SNAPSHOT_COLUMNS)}
FROM account a
LEFT JOIN profile_snapshot ps ON ps.account_id = a.id
 AND ps.collected_at = (SELECT max(p2.collected_at) FROM profile_snapshot p2
                        WHERE p2.account_id = a.id)
ORDER BY a.id
"""
VIEW_SNAPSHOTS = (
    f"SELECT account_id, {', '.join(SNAPSHOT_COLUMNS)} FROM account_latest ORDER BY account_id"
)


def _rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


def _accounts(engine: Engine, *handles: str) -> dict[str, int]:
    with engine.begin() as conn:
        return repo.ensure_accounts(conn, "demo", handles, now=T0, status="active")


def _row(account_id: int, at: datetime, followers: int | None) -> dict[str, Any]:
    return {
        "account_id": account_id,
        "collected_at": at,
        "followers": followers,
        "following": 7,
        "posts_count": 3,
        "followers_rounded": False,
        "followers_hidden": False,
    }


def _write(engine: Engine, rows: Sequence[Mapping[str, Any]]) -> None:
    with engine.begin() as conn:
        repo.upsert_profile_snapshots(conn, rows)


def _latest_followers(engine: Engine) -> dict[int, int | None]:
    table = repo.PROFILE_LATEST
    with engine.connect() as conn:
        return dict(conn.execute(select(table.c.account_id, table.c.followers)).all())


def _outcome(account_id: int, handle: str, **records: Any) -> AccountOutcome:
    due = DueAccount(account_id, handle, None, None, None, 0)
    return AccountOutcome(account=due, next_due_at=NOW, **records)


def _profile(handle: str, at: datetime, followers: int) -> ProfileRecord:
    return ProfileRecord(handle, f"id-{handle}", at, followers=followers, following=7)


# -- kept current by the writers ---------------------------------------------------------------


def test_the_view_answers_each_accounts_newest_snapshot_after_batch_writes(
    engine: Engine,
) -> None:
    ids = _accounts(engine, "fresh", "steady", "silent")
    store = Store(engine)
    # First sight of "fresh": a history given newest first, whose newest point is also the
    # moment of the profile that follows it in the same batch (the later row wins).
    history = History(
        profiles=tuple(_profile("fresh", T0 - timedelta(days=d), 900 - d) for d in range(5))
    )
    store.store_batch(
        [
            _outcome(ids["fresh"], "fresh", history=history, profile=_profile("fresh", T0, 901)),
            _outcome(ids["steady"], "steady", profile=_profile("steady", T0, 50)),
        ],
        NOW,
    )
    store.store_batch(
        [
            _outcome(
                ids["steady"], "steady", profile=_profile("steady", T0 + timedelta(hours=6), 51)
            )
        ],
        NOW,
    )
    assert _rows(engine, VIEW_SNAPSHOTS) == _rows(engine, NEWEST_SNAPSHOTS)
    assert _latest_followers(engine) == {ids["fresh"]: 901, ids["steady"]: 51}


def test_an_older_snapshot_does_not_replace_a_newer_latest(engine: Engine) -> None:
    account_id = _accounts(engine, "a")["a"]
    _write(engine, [_row(account_id, T0 + timedelta(days=1), 200)])
    _write(engine, [_row(account_id, T0, 100)])
    assert _latest_followers(engine) == {account_id: 200}


def test_the_same_snapshot_written_again_replaces_the_latest(engine: Engine) -> None:
    # profile_snapshot keeps the last write of a (account, collected_at): so must the latest.
    account_id = _accounts(engine, "a")["a"]
    _write(engine, [_row(account_id, T0, 100)])
    _write(engine, [_row(account_id, T0, 101)])
    assert _latest_followers(engine) == {account_id: 101}


def test_of_two_rows_at_the_same_stored_second_the_later_is_the_latest(engine: Engine) -> None:
    # Both land on one profile_snapshot row (stored to the second); the later write wins there.
    account_id = _accounts(engine, "a")["a"]
    _write(
        engine,
        [
            _row(account_id, T0.replace(microsecond=700_000), 1),
            _row(account_id, T0.replace(microsecond=300_000), 2),
        ],
    )
    assert _rows(engine, VIEW_SNAPSHOTS) == _rows(engine, NEWEST_SNAPSHOTS)


def test_an_older_import_does_not_replace_a_newer_latest(engine: Engine, tmp_path: Path) -> None:
    account_id = _accounts(engine, "salma")["salma"]
    _write(engine, [_row(account_id, T0 + timedelta(days=1), 200)])
    path = tmp_path / "old.csv"
    path.write_text(
        "platform,handle,collected_at,followers,following,posts_count\n"
        f"demo,salma,{T0.isoformat()},100,7,3\n"
    )
    import_file(engine, path, now=NOW)
    assert _latest_followers(engine) == {account_id: 200}


def test_an_import_updates_the_latest_of_the_accounts_it_creates(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "new.csv"
    path.write_text(
        "platform,handle,collected_at,followers,following,posts_count\n"
        f"csv,brand,{(T0 + timedelta(days=2)).isoformat()},300,,\n"
        f"csv,brand,{T0.isoformat()},100,,\n"
    )
    import_file(engine, path, now=NOW)
    assert [(r[2], r[12]) for r in _rows(engine, "SELECT * FROM account_latest")] == [
        ("brand", 300)
    ]


def _fail_after_writing(engine: Engine, rows: Sequence[Mapping[str, Any]]) -> None:
    with engine.begin() as conn:
        repo.upsert_profile_snapshots(conn, rows)
        raise RuntimeError("the batch fails after its snapshots")


def test_a_rolled_back_batch_leaves_no_latest(engine: Engine) -> None:
    account_id = _accounts(engine, "a")["a"]
    with pytest.raises(RuntimeError, match="fails after"):
        _fail_after_writing(engine, [_row(account_id, T0, 100)])
    assert _latest_followers(engine) == {}


def test_deleting_an_account_deletes_its_latest(engine: Engine) -> None:
    ids = _accounts(engine, "gone", "kept")
    _write(engine, [_row(ids["gone"], T0, 1), _row(ids["kept"], T0, 2)])
    with engine.begin() as conn:
        conn.execute(repo.ACCOUNT.delete().where(repo.ACCOUNT.c.id == ids["gone"]))
    assert _latest_followers(engine) == {ids["kept"]: 2}


def test_rebuild_recomputes_the_latest_of_snapshots_written_around_collector(
    engine: Engine,
) -> None:
    ids = _accounts(engine, "a", "b")
    with engine.begin() as conn:
        conn.execute(
            repo.PROFILE_SNAPSHOT.insert(),
            [_row(ids["a"], T0 + timedelta(hours=h), 10 + h) for h in (0, 12, 6)]
            + [_row(ids["b"], T0, 5)],
        )
        assert repo.rebuild_profile_latest(conn) == 2
    assert _latest_followers(engine) == {ids["a"]: 22, ids["b"]: 5}


def test_db_refresh_latest_shows_bulk_loaded_snapshots_in_account_latest(
    engine: Engine, db_url: str
) -> None:
    ids = _accounts(engine, "a")
    with engine.begin() as conn:
        conn.execute(repo.PROFILE_SNAPSHOT.insert(), [_row(ids["a"], T0, 41)])
    result = CliRunner().invoke(app, ["db", "refresh-latest", "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "1 accounts" in result.output
    assert _latest_followers(engine) == {ids["a"]: 41}


# -- migration 0007 ----------------------------------------------------------------------------


def _seed_at_0006(engine: Engine) -> dict[str, int]:
    """Accounts with snapshots (one with none) written while the schema is at 0006."""
    command.downgrade(_alembic_config(engine), "0006")
    ids = _accounts(engine, "a", "b", "empty")
    with engine.begin() as conn:
        conn.execute(
            repo.PROFILE_SNAPSHOT.insert(),
            [_row(ids["a"], T0 + timedelta(hours=6 * n), 100 + n) for n in (2, 0, 3, 1)]
            + [_row(ids["b"], T0, None)],
        )
    return ids


def _view_columns(engine: Engine) -> list[tuple[str, str]]:
    columns = inspect(engine).get_columns("account_latest")
    return [(c["name"], str(c["type"])) for c in columns]


def test_upgrade_fills_profile_latest_from_the_stored_snapshots(engine: Engine) -> None:
    ids = _seed_at_0006(engine)
    upgrade(engine)
    assert _latest_followers(engine) == {ids["a"]: 103, ids["b"]: None}


def test_upgrade_keeps_the_rows_of_account_latest(engine: Engine) -> None:
    _seed_at_0006(engine)
    before = _rows(engine, "SELECT * FROM account_latest ORDER BY account_id")
    upgrade(engine)
    assert _rows(engine, "SELECT * FROM account_latest ORDER BY account_id") == before


def test_upgrade_keeps_the_columns_and_types_of_account_latest(engine: Engine) -> None:
    _seed_at_0006(engine)
    before = _view_columns(engine)
    upgrade(engine)
    assert _view_columns(engine) == before


def test_upgrade_keeps_a_view_built_on_account_latest(engine: Engine) -> None:
    ids = _seed_at_0006(engine)
    with engine.begin() as conn:
        conn.execute(
            text("CREATE VIEW reader_followers AS SELECT account_id, followers FROM account_latest")
        )
    upgrade(engine)
    assert _rows(engine, "SELECT * FROM reader_followers ORDER BY account_id") == [
        (ids["a"], 103),
        (ids["b"], None),
        (ids["empty"], None),
    ]


def test_downgrade_drops_profile_latest(engine: Engine) -> None:
    command.downgrade(_alembic_config(engine), "0006")
    assert not inspect(engine).has_table("profile_latest")


def test_downgrade_answers_account_latest_from_the_snapshots_again(engine: Engine) -> None:
    ids = _accounts(engine, "a", "b")
    _write(engine, [_row(ids["a"], T0 + timedelta(hours=h), h) for h in (6, 0)])
    at_head = _rows(engine, "SELECT * FROM account_latest ORDER BY account_id")
    command.downgrade(_alembic_config(engine), "0006")
    assert _rows(engine, "SELECT * FROM account_latest ORDER BY account_id") == at_head


def test_upgrade_after_downgrade_returns_to_head(engine: Engine) -> None:
    command.downgrade(_alembic_config(engine), "0006")
    upgrade(engine)
    with engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    assert (revision, inspect(engine).has_table("profile_latest")) == (head_revision(), True)

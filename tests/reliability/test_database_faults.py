"""Database faults while the daemon runs: connections killed, locks held, the disk full.

The daemon runs in-process on the demo platform (no network: the database is what fails here)
with a first-sight backfill, so every batch is a real multi-statement write. Each fault is
armed to strike inside that write; the test then waits for the daemon's next successful pass
and checks that the batch was stored whole, once, by the same process.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url
from structlog.testing import capture_logs

from collector.daemon import Daemon, build_collection
from collector.pipeline import PassResult
from collector.settings import load_settings
from collector.storage.db import make_engine
from tests.conftest import PG_URL, FakeClock
from tests.reliability.support import rows, run_daemon, scalar

ACCOUNTS = 12
#: One day of history every 6 hours on first sight, plus the current observation.
SNAPSHOTS_PER_ACCOUNT = 4 + 1
PROFILE_INSERT = "INSERT INTO profile_snapshot"


def _demo_config(directory: Path) -> Path:
    lines = ["creators:"]
    for i in range(ACCOUNTS):
        lines += [f"  - name: Creator {i}", "    accounts:", f"      demo: creator{i:03d}"]
    (directory / "watchlist.yaml").write_text("\n".join(lines) + "\n")
    (directory / "collector.toml").write_text(
        'watchlist = "watchlist.yaml"\n[platforms.demo]\ninterval = "1h"\nbackfill_days = 1\n'
    )
    return directory / "collector.toml"


def _run_until_stored(directory: Path, engine: Engine) -> list[MutableMapping[str, Any]]:
    """Run the daemon until a pass stores the batch; returns the log entries."""
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    collection = build_collection(load_settings(_demo_config(directory)), engine, clock=clock)

    def stored(result: PassResult) -> bool:
        return result.status == "ok" and result.totals.profile_rows > 0

    with capture_logs() as logs:
        run_daemon(Daemon(collection, clock=clock), stored)
    return logs


def _assert_stored_whole_and_once(engine: Engine) -> None:
    per_account = rows(
        engine,
        "SELECT a.id, count(s.collected_at) FROM account a"
        " LEFT JOIN profile_snapshot s ON s.account_id = a.id GROUP BY a.id",
    )
    assert sorted({n for _id, n in per_account}) == [SNAPSHOTS_PER_ACCOUNT]
    assert len(per_account) == ACCOUNTS
    assert scalar(engine, "SELECT count(*) FROM account WHERE last_success_at IS NULL") == 0
    assert scalar(engine, "SELECT count(*) FROM collection_run WHERE status = 'running'") == 0


def _crashes(logs: list[MutableMapping[str, Any]]) -> list[str]:
    return [str(e.get("error")) for e in logs if e.get("event") == "pass crashed"]


# -- PostgreSQL: the server drops every connection ------------------------------------------


class TerminateBackends:
    """Kills every connection to ``database`` when the armed statement starts, once.

    ``pg_terminate_backend`` on all of a database's backends is what the daemon sees when the
    server restarts: its pooled connections die, and the one inside a transaction fails.
    """

    def __init__(self, database: str, statement: str) -> None:
        self.admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
        self.database = database
        self.statement = statement
        self.fired = 0

    def __call__(self, *args: Any) -> None:
        statement = args[2]
        if self.fired or not str(statement).startswith(self.statement):
            return
        with self.admin.connect() as conn:
            self.fired = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE datname = :d AND pid <> pg_backend_pid()"
                ),
                {"d": self.database},
            ).scalar_one()


@pytest.fixture
def pg_engine(pg_scratch: str) -> Iterator[Engine]:
    engine = make_engine(pg_scratch)
    yield engine
    engine.dispose()


def test_postgres_connections_killed_mid_write_are_replaced_and_the_batch_retried(
    fast_ticks: None, pg_scratch: str, pg_engine: Engine, tmp_path: Path
) -> None:
    kill = TerminateBackends(str(make_url(pg_scratch).database), PROFILE_INSERT)
    event.listen(pg_engine, "before_cursor_execute", kill)
    logs = _run_until_stored(tmp_path, pg_engine)
    kill.admin.dispose()
    assert kill.fired >= 1
    assert len(_crashes(logs)) == 1
    _assert_stored_whole_and_once(pg_engine)
    assert [s for (s,) in rows(pg_engine, "SELECT status FROM collection_run ORDER BY id")] == [
        "failed",
        "ok",
    ]


def test_postgres_connections_killed_between_passes_are_replaced_silently(
    fast_ticks: None, pg_scratch: str, pg_engine: Engine, tmp_path: Path
) -> None:
    # Killed while idle in the pool: pre-ping swaps them before use, so no pass even fails.
    kill = TerminateBackends(str(make_url(pg_scratch).database), "")
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    collection = build_collection(load_settings(_demo_config(tmp_path)), pg_engine, clock=clock)
    passes: list[PassResult] = []

    def on_pass(result: PassResult) -> bool:
        if result.status == "idle":
            return False
        passes.append(result)
        if len(passes) == 1:
            kill(None, None, "")
            clock.advance(timedelta(hours=2))  # every account due again
        return len(passes) == 2

    with capture_logs() as logs:
        run_daemon(Daemon(collection, clock=clock), on_pass)
    kill.admin.dispose()
    assert kill.fired >= 1
    assert (_crashes(logs), [p.status for p in passes]) == ([], ["ok", "ok"])
    assert scalar(pg_engine, "SELECT count(*) FROM profile_snapshot") == ACCOUNTS * (
        SNAPSHOTS_PER_ACCOUNT + 1
    )


# -- SQLite: readers, writers and a full disk -------------------------------------------------


def test_a_reader_holding_a_long_transaction_does_not_block_the_daemon(
    fast_ticks: None, sqlite_file: Path, tmp_path: Path
) -> None:
    # A notebook or dashboard mid-query: WAL lets the daemon commit while it reads.
    reader = sqlite3.connect(sqlite_file, isolation_level=None)
    reader.execute("BEGIN")
    before = reader.execute("SELECT count(*) FROM profile_snapshot").fetchone()
    engine = make_engine(f"sqlite:///{sqlite_file}")
    try:
        logs = _run_until_stored(tmp_path, engine)
        still = reader.execute("SELECT count(*) FROM profile_snapshot").fetchone()
        reader.execute("COMMIT")
        _assert_stored_whole_and_once(engine)
        assert _crashes(logs) == []
        # The reader saw one consistent state throughout its transaction.
        assert before == still == (0,)
    finally:
        reader.close()
        engine.dispose()


def test_postgres_a_reader_holding_a_long_transaction_does_not_block_the_daemon(
    fast_ticks: None, pg_engine: Engine, tmp_path: Path
) -> None:
    with pg_engine.connect() as reader:
        reader.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        before = reader.execute(text("SELECT count(*) FROM profile_snapshot")).scalar_one()
        logs = _run_until_stored(tmp_path, pg_engine)
        still = reader.execute(text("SELECT count(*) FROM profile_snapshot")).scalar_one()
    _assert_stored_whole_and_once(pg_engine)
    assert (_crashes(logs), before, still) == ([], 0, 0)


class HoldWriteLock:
    """Another process takes SQLite's write lock just before the daemon's batch write starts.

    The lock is held past the daemon's busy timeout and through the end of that pass (so the
    run's closing write fails too), then let go: the batch must fail cleanly and be stored by
    a later pass, and the run's row must not stay "running".
    """

    def __init__(self, path: Path) -> None:
        # The daemon's database thread takes the lock; the test thread closes the connection.
        self.other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.held = False
        self.taken = False
        self.refused: list[str] = []

    def before_execute(self, *args: Any) -> None:
        # The batch's first write is its posts; the daemon holds no lock before it.
        if not self.taken and str(args[2]).startswith("INSERT INTO post"):
            self.other.execute("BEGIN IMMEDIATE")
            self.held = self.taken = True

    def on_error(self, context: Any) -> None:
        if self.held:
            self.refused.append(str(context.statement).split(" ", 3)[0])
            if len(self.refused) == 2:  # the batch, then the run's end
                self.other.execute("ROLLBACK")
                self.held = False


def _short_busy_timeout(dbapi_connection: Any, _record: Any) -> None:
    # The daemon's 30 s busy timeout, shortened so the test does not wait for it.
    dbapi_connection.execute("PRAGMA busy_timeout=200")


def test_a_write_lock_held_past_the_busy_timeout_fails_the_batch_cleanly_and_it_is_retried(
    fast_ticks: None, sqlite_file: Path, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{sqlite_file}")
    event.listen(engine, "connect", _short_busy_timeout)
    lock = HoldWriteLock(sqlite_file)
    event.listen(engine, "before_cursor_execute", lock.before_execute)
    event.listen(engine, "handle_error", lock.on_error)
    try:
        logs = _run_until_stored(tmp_path, engine)
        _assert_stored_whole_and_once(engine)
    finally:
        lock.other.close()
        engine.dispose()
    crashes = _crashes(logs)
    assert lock.refused == ["INSERT", "UPDATE"]
    assert len(crashes) == 1
    assert "database is locked" in crashes[0]


class DiskCap:
    """Caps the database file's size (``PRAGMA max_page_count``) while ``pages`` is set.

    SQLite then answers SQLITE_FULL, "database or disk is full", exactly as on a full disk.
    """

    def __init__(self) -> None:
        self.pages: int | None = None
        self.full_errors = 0

    def on_checkout(self, dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        cap = self.pages if self.pages is not None else 1_073_741_823
        dbapi_connection.execute(f"PRAGMA max_page_count={cap}")

    def on_error(self, context: Any) -> None:
        if "database or disk is full" in str(context.original_exception):
            self.full_errors += 1
            self.pages = None  # the operator frees space


def test_a_full_disk_fails_the_batch_with_a_clear_error_without_corruption_and_it_is_retried(
    fast_ticks: None, sqlite_file: Path, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite:///{sqlite_file}")
    cap = DiskCap()
    with engine.connect() as conn:
        # Room for the watchlist and the run rows, not for a batch of snapshots.
        cap.pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one()) + 2
    event.listen(engine, "checkout", cap.on_checkout)
    event.listen(engine, "handle_error", cap.on_error)
    try:
        logs = _run_until_stored(tmp_path, engine)
        with engine.connect() as conn:
            integrity = conn.exec_driver_sql("PRAGMA integrity_check").scalar_one()
        _assert_stored_whole_and_once(engine)
    finally:
        engine.dispose()
    crashes = _crashes(logs)
    assert (integrity, cap.full_errors >= 1, len(crashes)) == ("ok", True, 1)
    assert "database or disk is full" in crashes[0]

"""The watchlist edited while the daemon runs: picked up, or refused whole with file and line."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

import collector.daemon
from collector.daemon import Daemon, build_collection
from collector.pipeline import PassResult
from collector.settings import load_settings
from collector.storage.db import make_engine
from tests.conftest import FakeClock
from tests.reliability.support import rows, run_daemon

GOOD = """\
creators:
  - name: Salma Beauty
    accounts:
      demo: salma.beauty
"""
ADDED = GOOD + "  - name: Casa Kitchen\n    accounts:\n      demo: casakitchen\n"
#: An edit cut off in the middle of a write: two valid new creators, then half a quoted handle.
HALF_WRITTEN = (
    GOOD
    + "  - name: Atlas Runner\n    accounts:\n      demo: atlas.runner\n"
    + "  - name: Zellige Home\n    accounts:\n      demo: zellige.home\n"
    + '  - name: Rabat Street\n    accounts:\n      demo: "rab'
)
BROKEN = GOOD + "  - name: Casa Kitchen\n    acounts: {}\n"


def _config(directory: Path, watchlist: str = GOOD) -> Path:
    (directory / "watchlist.yaml").write_text(watchlist)
    (directory / "collector.toml").write_text(
        'watchlist = "watchlist.yaml"\n[platforms.demo]\ninterval = "1h"\nbackfill_days = 0\n'
    )
    return directory / "collector.toml"


def _edit(path: Path, content: str) -> None:
    path.write_text(content)
    # Make the edit visible even on file systems with coarse modification times.
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))


def _handles(engine: Engine) -> list[str]:
    return [h for (h,) in rows(engine, "SELECT handle FROM account ORDER BY handle")]


def _daemon(directory: Path, engine: Engine) -> Daemon:
    collection = build_collection(load_settings(_config(directory)), engine)
    return Daemon(collection)


async def _started(daemon: Daemon) -> None:
    collection = daemon.collection
    await collection.db(collection.sync_watchlist, daemon.clock)
    await daemon.check_watchlist()


def test_an_edit_is_collected_by_the_running_daemon_without_a_restart(
    fast_ticks: None, monkeypatch: pytest.MonkeyPatch, engine: Engine, tmp_path: Path
) -> None:
    monkeypatch.setattr(collector.daemon, "WATCHLIST_CHECK_SECONDS", 0.05)
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    collection = build_collection(load_settings(_config(tmp_path)), engine, clock=clock)
    daemon = Daemon(collection, clock=clock)
    collected: list[int] = []

    def on_pass(result: PassResult) -> bool:
        if result.status != "ok":
            return False
        collected.append(result.totals.accounts)
        if len(collected) == 1:
            _edit(tmp_path / "watchlist.yaml", ADDED)
        return len(collected) == 2

    run_daemon(daemon, on_pass)
    # The first pass took the one account; the second, only the account the edit added.
    assert (collected, daemon.watchlist_reloads, _handles(engine)) == (
        [1, 1],
        1,
        ["casakitchen", "salma.beauty"],
    )


def test_a_broken_edit_keeps_the_last_good_watchlist_and_reports_file_and_line(
    engine: Engine, tmp_path: Path
) -> None:
    daemon = _daemon(tmp_path, engine)

    async def edit() -> list[Any]:
        await _started(daemon)
        _edit(tmp_path / "watchlist.yaml", BROKEN)
        with capture_logs() as logs:
            await daemon.check_watchlist()
            await daemon.check_watchlist()  # the same broken file is reported once, not per check
        await daemon.collection.aclose()
        return logs

    logs = asyncio.run(edit())
    problems = [e["problem"] for e in logs if e.get("log_level") == "error"]
    location = f"{tmp_path / 'watchlist.yaml'}:6"
    assert [c.name for c in daemon.collection.settings.watchlist.creators] == ["Salma Beauty"]
    assert (daemon.watchlist_errors, daemon.watchlist_reloads) == (1, 0)
    assert daemon.watchlist_last_error is not None
    assert daemon.watchlist_last_error.startswith(location)
    assert len(problems) == 1
    assert problems[0].startswith(location)


def test_nothing_is_collected_for_a_half_written_file(engine: Engine, tmp_path: Path) -> None:
    daemon = _daemon(tmp_path, engine)

    async def edits() -> tuple[list[str], list[str]]:
        await _started(daemon)
        _edit(tmp_path / "watchlist.yaml", HALF_WRITTEN)
        await daemon.check_watchlist()
        during = _handles(engine)
        _edit(tmp_path / "watchlist.yaml", HALF_WRITTEN + 'at"\n')
        await daemon.check_watchlist()
        await daemon.collection.aclose()
        return during, _handles(engine)

    during, after = asyncio.run(edits())
    assert during == ["salma.beauty"]
    assert after == ["atlas.runner", "rabat", "salma.beauty", "zellige.home"]
    assert (daemon.watchlist_errors, daemon.watchlist_reloads, daemon.watchlist_last_error) == (
        1,
        1,
        None,
    )


def test_an_edit_the_database_refused_is_applied_at_the_next_check(
    tmp_path: Path, sqlite_file: Path
) -> None:
    engine = make_engine(f"sqlite:///{sqlite_file}")
    event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute("PRAGMA busy_timeout=100"))
    daemon = _daemon(tmp_path, engine)
    other = sqlite3.connect(sqlite_file, isolation_level=None)

    async def edits() -> tuple[str, list[str]]:
        await _started(daemon)
        _edit(tmp_path / "watchlist.yaml", ADDED)
        other.execute("BEGIN IMMEDIATE")  # another writer holds the database meanwhile
        try:
            await daemon.check_watchlist()
            refused = "no error"
        except Exception as exc:
            refused = str(exc)
        other.execute("ROLLBACK")
        await daemon.check_watchlist()
        await daemon.collection.aclose()
        return refused, _handles(engine)

    try:
        refused, handles = asyncio.run(edits())
    finally:
        other.close()
        engine.dispose()
    assert "database is locked" in refused
    assert handles == ["casakitchen", "salma.beauty"]
    assert daemon.watchlist_reloads == 1

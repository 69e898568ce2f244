"""The daemon in-process: scheduling, restart bookkeeping and watchlist edits."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from collector import daemon as daemon_module
from collector.daemon import Daemon, build_collection, tick_for
from collector.pipeline import PassResult
from collector.settings import Settings, load_settings, load_watchlist

WATCHLIST = """\
creators:
  - name: Salma Beauty
    accounts:
      demo: salma.beauty
"""


def _settings(tmp_path: Path, watchlist: str = WATCHLIST) -> Settings:
    (tmp_path / "watchlist.yaml").write_text(watchlist)
    (tmp_path / "collector.toml").write_text(
        'watchlist = "watchlist.yaml"\n[scheduler]\ntick = "1s"\n'
        '[platforms.demo]\ninterval = "1h"\nbackfill_days = 2\n'
    )
    return load_settings(tmp_path / "collector.toml")


def _rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def _run_until_first_pass(daemon: Daemon) -> list[PassResult]:
    seen: list[PassResult] = []

    def on_pass(result: PassResult) -> None:
        if result.status != "idle":
            seen.append(result)
            daemon.request_stop()

    daemon.on_pass = on_pass

    async def main() -> int:
        # The bound is a safety net for a broken daemon, not a wait the test relies on.
        return await asyncio.wait_for(daemon.run(install_signal_handlers=False), timeout=30)

    assert asyncio.run(main()) == 0
    return seen


def test_the_daemon_collects_as_soon_as_it_starts(tmp_path: Path, engine: Engine) -> None:
    daemon = Daemon(build_collection(_settings(tmp_path), engine))
    results = _run_until_first_pass(daemon)
    assert [r.status for r in results] == ["ok"]
    assert _rows(engine, "SELECT count(*) FROM profile_snapshot")[0][0] == 2 * 4 + 1


def test_runs_left_running_by_a_killed_process_are_marked_interrupted(
    tmp_path: Path, engine: Engine
) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO collection_run (platform, started_at, status, accounts, succeeded,"
                " failed, calls, quota_units, profile_rows, post_rows, outcomes)"
                " VALUES ('demo', '2026-11-01 10:00:00', 'running', 0, 0, 0, 0, 0, 0, 0, '{}')"
            )
        )
    _run_until_first_pass(Daemon(build_collection(_settings(tmp_path), engine)))
    assert _rows(engine, "SELECT status FROM collection_run ORDER BY id") == [
        ("interrupted",),
        ("ok",),
    ]


def _touch_later(path: Path) -> None:
    # Make the edit visible even on file systems with coarse modification times.
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))


def test_an_edited_watchlist_is_picked_up_without_a_restart(tmp_path: Path, engine: Engine) -> None:
    collection = build_collection(_settings(tmp_path), engine)
    daemon = Daemon(collection)

    async def edit() -> None:
        await collection.db(collection.sync_watchlist, daemon.clock)
        await daemon.check_watchlist()
        path = tmp_path / "watchlist.yaml"
        path.write_text(
            WATCHLIST + "  - name: Casa Kitchen\n    accounts:\n      demo: casakitchen\n"
        )
        _touch_later(path)
        await daemon.check_watchlist()
        await collection.aclose()

    asyncio.run(edit())
    assert _rows(engine, "SELECT handle FROM account ORDER BY handle") == [
        ("casakitchen",),
        ("salma.beauty",),
    ]


def test_a_broken_edit_keeps_the_last_good_watchlist_and_says_where(
    tmp_path: Path, engine: Engine
) -> None:
    collection = build_collection(_settings(tmp_path), engine)
    daemon = Daemon(collection)

    async def edit() -> list[MutableMapping[str, Any]]:
        await collection.db(collection.sync_watchlist, daemon.clock)
        await daemon.check_watchlist()
        path = tmp_path / "watchlist.yaml"
        path.write_text(WATCHLIST + "  - name: Casa Kitchen\n    acounts: {}\n")
        _touch_later(path)
        with capture_logs() as logs:
            await daemon.check_watchlist()
        await collection.aclose()
        return logs

    logs = asyncio.run(edit())
    assert [c.name for c in collection.settings.watchlist.creators] == ["Salma Beauty"]
    assert any("watchlist.yaml:6" in str(entry.get("problem")) for entry in logs)


def test_the_event_loop_runs_while_an_edited_watchlist_is_validated(
    tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    collection = build_collection(_settings(tmp_path), engine)
    daemon = Daemon(collection)
    loop_ran = threading.Event()

    def validate_once_the_loop_ran(path: Path, **kwargs: Any) -> Any:
        # A validation that blocked the event loop would wait here for the bound and fail.
        if not loop_ran.wait(timeout=10):
            raise AssertionError("the event loop did not run during the validation")
        return load_watchlist(path, **kwargs)

    monkeypatch.setattr(daemon_module, "load_watchlist", validate_once_the_loop_ran)

    async def edit() -> None:
        await collection.db(collection.sync_watchlist, daemon.clock)
        await daemon.check_watchlist()
        path = tmp_path / "watchlist.yaml"
        path.write_text(
            WATCHLIST + "  - name: Casa Kitchen\n    accounts:\n      demo: casakitchen\n"
        )
        _touch_later(path)
        asyncio.get_running_loop().call_soon(loop_ran.set)
        await daemon.check_watchlist()
        await collection.aclose()

    asyncio.run(edit())
    assert daemon.watchlist_reloads == 1
    assert [c.name for c in collection.settings.watchlist.creators] == [
        "Salma Beauty",
        "Casa Kitchen",
    ]


@pytest.mark.parametrize(("interval_seconds", "tick"), [(10, 2.5), (3600, 60.0), (2, 1.0)])
def test_the_tick_follows_the_interval_within_bounds(interval_seconds: int, tick: float) -> None:
    from datetime import timedelta

    assert tick_for(timedelta(seconds=interval_seconds), None) == tick

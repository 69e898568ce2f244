"""Fixtures of the fault tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import collector.daemon


@pytest.fixture
def fast_ticks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scheduler looks for due work every 50 ms instead of every few seconds.

    The tick is the one real-time wait of an in-process daemon; everything else reads the
    injected clock.
    """
    monkeypatch.setattr(collector.daemon, "tick_for", lambda _interval, _configured: 0.05)


@pytest.fixture
def pg_scratch(postgres_databases: Any) -> Iterator[str]:
    """The URL of a freshly migrated PostgreSQL database of this test's own, dropped after."""
    name = postgres_databases.create()
    try:
        yield postgres_databases.url_for(name)
    finally:
        postgres_databases.drop(name)


@pytest.fixture
def sqlite_file(tmp_path: Path, sqlite_template: Path) -> Path:
    """A freshly migrated SQLite file of this test's own."""
    path = tmp_path / "collector.db"
    shutil.copyfile(sqlite_template, path)
    return path

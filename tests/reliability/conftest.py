"""Fixtures of the fault tests."""

from __future__ import annotations

import shutil
from pathlib import Path

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
def sqlite_file(tmp_path: Path, sqlite_template: Path) -> Path:
    """A freshly migrated SQLite file of this test's own."""
    path = tmp_path / "collector.db"
    shutil.copyfile(sqlite_template, path)
    return path

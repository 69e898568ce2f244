"""Progress of ``collector collect``: what a pass reports, and how the bars add passes up."""

from __future__ import annotations

import asyncio
import io
import logging
import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
import structlog
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.engine import Engine

from collector.cli import _PassBars, _setup_logging, progress_bar
from collector.logs import get_logger, reset_logging
from collector.pipeline import DbRunner, Dispatcher
from collector.storage.state import Store
from connectors.base import PlatformConfig
from connectors.errors import QuotaExhausted
from tests.conftest import FakeClock
from tests.fakes import ScriptedConnector


class WithHistory(ScriptedConnector):
    """A platform that can reconstruct history, so first sight means a backfill."""

    supports_history = True


@pytest.fixture
def db() -> Iterator[DbRunner]:
    runner = DbRunner()
    yield runner
    runner.close()


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Leave structlog and the root logger as the test found them."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    reset_logging()
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = handlers
    root.setLevel(level)


def _backfill_pass(
    engine: Engine, db: DbRunner, clock: FakeClock, accounts: int
) -> tuple[Dispatcher, WithHistory]:
    handles = [f"h{i:03d}" for i in range(accounts)]
    Store(engine).sync_watchlist(
        [("scripted", h, f"creator {h}", []) for h in handles],
        platforms=["scripted"],
        now=clock(),
    )
    connector = WithHistory(
        PlatformConfig(interval=timedelta(hours=6), backfill_days=10), clock=clock
    )
    connector.followers = dict.fromkeys(handles, 10)
    dispatcher = Dispatcher(
        connector, Store(engine), db, clock=clock, jitter=0.0, rng=random.Random(1)
    )
    return dispatcher, connector


def test_a_backfill_pass_reports_its_accounts_after_each_batch(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    dispatcher, _ = _backfill_pass(engine, db, clock, 120)
    seen: list[tuple[int, int]] = []
    asyncio.run(dispatcher.run_pass(progress=lambda done, total: seen.append((done, total))))
    # Batches of 50: the bar moves three times and ends full.
    assert seen == [(0, 120), (50, 120), (100, 120), (120, 120)]


def test_a_pass_stopped_by_the_platform_reports_what_it_handled(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    dispatcher, connector = _backfill_pass(engine, db, clock, 120)
    connector.profile_error = QuotaExhausted("daily quota", reset_at=clock() + timedelta(hours=3))
    seen: list[tuple[int, int]] = []
    asyncio.run(dispatcher.run_pass(progress=lambda done, total: seen.append((done, total))))
    assert seen == [(0, 120), (50, 120)]


def test_an_idle_pass_reports_nothing(engine: Engine, db: DbRunner, clock: FakeClock) -> None:
    dispatcher, _ = _backfill_pass(engine, db, clock, 0)
    seen: list[tuple[int, int]] = []
    asyncio.run(dispatcher.run_pass(progress=lambda done, total: seen.append((done, total))))
    assert seen == []


def _bar_totals(progress: Progress) -> dict[str, tuple[float, float | None]]:
    return {task.description: (task.completed, task.total) for task in progress.tasks}


def test_the_bar_adds_up_the_passes_of_a_drain() -> None:
    progress = Progress(disable=True)
    bars = _PassBars(progress)
    report = bars.reporter("demo")
    report(0, 120)
    report(120, 120)
    bars.passes_ended()
    report(0, 5)  # accounts that fell due during the first pass
    report(5, 5)
    assert _bar_totals(progress) == {"collecting demo": (125, 125)}


def test_accounts_a_stopped_pass_left_are_counted_once() -> None:
    progress = Progress(disable=True)
    bars = _PassBars(progress)
    report = bars.reporter("demo")
    report(0, 120)
    report(50, 120)
    bars.passes_ended()
    report(0, 70)  # the 70 left are due again in the next pass
    report(70, 70)
    assert _bar_totals(progress) == {"collecting demo": (120, 120)}


def test_a_platform_with_nothing_due_draws_no_bar() -> None:
    progress = Progress(disable=True)
    bars = _PassBars(progress)
    bars.reporter("idle")
    bars.reporter("busy")(0, 3)
    bars.passes_ended()
    assert list(_bar_totals(progress)) == ["collecting busy"]


@pytest.mark.parametrize(
    ("terminal", "quiet", "drawn"),
    [(True, False, True), (False, False, False), (True, True, False)],
    ids=["terminal", "pipe", "quiet"],
)
def test_the_bar_is_drawn_only_on_a_terminal_and_not_when_quiet(
    terminal: bool, quiet: bool, drawn: bool
) -> None:
    console = Console(file=io.StringIO(), force_terminal=terminal)
    assert progress_bar(quiet=quiet, console=console).disable is not drawn


def test_a_log_line_during_a_live_bar_is_printed_above_it(
    restore_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    _setup_logging(None, "info", "console")
    screen = io.StringIO()
    with progress_bar(console=Console(file=screen, force_terminal=True, width=100)) as bar:
        bar.add_task("collecting demo", total=10)
        get_logger("collector.pipeline").warning("platform paused", platform="demo")
    # Through the bar's console, which clears the bar, prints the line and redraws the bar;
    # written straight to the terminal, the line would land inside the bar.
    assert "platform paused" in screen.getvalue()
    assert capsys.readouterr().err == ""

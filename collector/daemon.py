"""The long-lived daemon: one scheduler, a few jobs, the database deciding what is due.

APScheduler holds one dispatcher tick per platform plus a maintenance job, never one job per
creator: the ``account.next_due_at`` column is the schedule, so 100,000 creators cost the
scheduler nothing and a restart catches up from the database. A tick only starts a pass when the
previous one of that platform has finished, so a slow platform never piles up work, and one
platform's trouble never delays another's.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from collector.pipeline import DbRunner, Dispatcher, PassResult
from collector.settings import ConfigInvalid, Settings, load_watchlist
from collector.storage.state import Store
from connectors import registry
from connectors.base import Connector
from connectors.http import Clock, utcnow

__all__ = ["Collection", "Daemon", "build_collection", "tick_for"]

log = structlog.get_logger("collector.daemon")

#: SIGTERM must end the process within 10 s; the batch in flight gets this long to finish.
SHUTDOWN_GRACE_SECONDS = 8.0
#: How often the watchlist file is checked for edits.
WATCHLIST_CHECK_SECONDS = 5.0


def tick_for(interval: timedelta, configured: timedelta | None) -> float:
    """How often a platform's dispatcher looks for due accounts, in seconds."""
    if configured is not None:
        return max(configured.total_seconds(), 0.5)
    # A quarter of the interval keeps lateness small; a minute bounds idle queries.
    return min(max(interval.total_seconds() / 4, 1.0), 60.0)


@dataclass
class Collection:
    """The connectors, dispatchers and store built from one settings object."""

    settings: Settings
    engine: Engine
    store: Store
    db: DbRunner
    dispatchers: dict[str, Dispatcher] = field(default_factory=dict)
    broken: dict[str, str] = field(default_factory=dict)

    def sync_watchlist(self, now_clock: Clock) -> None:
        """Write the current watchlist's creators and accounts to the database."""
        entries = [
            (platform, handle, creator.name, creator.tags)
            for creator in self.settings.watchlist.creators
            for platform, handles in creator.accounts.items()
            for handle in handles
        ]
        from collector.campaigns import sync_campaigns

        now = now_clock()
        summary = self.store.sync_watchlist(entries, platforms=self.settings.platforms, now=now)
        # Campaigns live in the same file; their definitions follow each edit too.
        sync_campaigns(self.engine, self.settings.watchlist, now)
        log.info(
            "watchlist synced",
            added=summary.added,
            reactivated=summary.reactivated,
            unwatched=summary.unwatched,
            creators=summary.creators,
        )

    async def aclose(self) -> None:
        """Close every connector's HTTP client and the database thread."""
        for dispatcher in self.dispatchers.values():
            with contextlib.suppress(Exception):
                await dispatcher.connector.aclose()
        self.db.close()


def build_collection(
    settings: Settings,
    engine: Engine,
    *,
    clock: Clock = utcnow,
    platforms: list[str] | None = None,
    connector_factory: Callable[[str, type[Connector], Settings], Connector] | None = None,
) -> Collection:
    """Create a dispatcher for every enabled platform (or the ones named).

    A connector that fails to load is reported and skipped: the other platforms still run.
    """
    store = Store(engine)
    collection = Collection(settings, engine, store, DbRunner())
    for name, config in settings.platforms.items():
        if platforms is not None and name not in platforms:
            continue
        if not config.enabled:
            continue
        try:
            cls = registry.load(name)
            connector = (
                connector_factory(name, cls, settings)
                if connector_factory
                else cls(config, clock=clock)
            )
        except Exception as exc:
            collection.broken[name] = f"{exc.__class__.__name__}: {exc}"
            log.error("connector unavailable", platform=name, error=str(exc))
            continue
        period = connector.budget.period_start()
        if period is not None:
            # A restart must not hand a daily quota back: count what today's runs spent.
            connector.budget.seed(store.quota_units_since(name, period), period)
        collection.dispatchers[name] = Dispatcher(
            connector, store, collection.db, clock=clock, jitter=settings.scheduler.jitter
        )
    return collection


class Daemon:
    """``collector run``: schedules the passes until SIGTERM or SIGINT."""

    def __init__(
        self,
        collection: Collection,
        *,
        clock: Clock = utcnow,
        on_pass: Callable[[PassResult], None] | None = None,
        after_pass: Sequence[Callable[[PassResult], Awaitable[None]]] = (),
    ) -> None:
        self.collection = collection
        self.clock = clock
        self.on_pass = on_pass
        # Work that follows a pass that stored something (detection, webhooks). It runs in its
        # own task, so it never delays the next collection; its failures are logged, not fatal.
        self.after_pass = list(after_pass)
        self._hook_tasks: set[asyncio.Task[None]] = set()
        self.stop_event = asyncio.Event()
        self._in_flight: dict[str, asyncio.Task[PassResult]] = {}
        self._watchlist_mtime: float | None = None
        self.passes_completed = 0
        #: Watchlist reloads applied, and edits refused (the last good watchlist kept running),
        #: with the first problem of the last refusal: what /metrics and health checks report.
        self.watchlist_reloads = 0
        self.watchlist_errors = 0
        self.watchlist_last_error: str | None = None

    def request_stop(self) -> None:
        """Stop taking work (safe to call from a signal handler)."""
        if not self.stop_event.is_set():
            log.info("stopping", in_flight=sorted(self._in_flight))
            self.stop_event.set()
            for dispatcher in self.collection.dispatchers.values():
                dispatcher.stop()

    async def _tick(self, platform: str) -> None:
        # A coroutine, so APScheduler runs it on the event loop rather than in a thread.
        if self.stop_event.is_set() or platform in self._in_flight:
            return
        dispatcher = self.collection.dispatchers[platform]
        task = asyncio.get_running_loop().create_task(dispatcher.run_pass())
        self._in_flight[platform] = task
        task.add_done_callback(lambda t: self._pass_done(platform, t))

    def _pass_done(self, platform: str, task: asyncio.Task[PassResult]) -> None:
        self._in_flight.pop(platform, None)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            # A bug in one platform's pass must not end the daemon or the other platforms.
            log.error(
                "pass crashed",
                platform=platform,
                error=f"{exc.__class__.__name__}: {exc}",
                exc_info=exc,
            )
            return
        self.passes_completed += 1
        result = task.result()
        if self.on_pass is not None:
            self.on_pass(result)
        if self.after_pass and result.status not in ("idle", "paused"):
            hook_task = asyncio.get_running_loop().create_task(self._run_hooks(result))
            self._hook_tasks.add(hook_task)
            hook_task.add_done_callback(self._hook_tasks.discard)

    async def _run_hooks(self, result: PassResult) -> None:
        for hook in self.after_pass:
            try:
                await hook(result)
            except Exception as exc:
                log.error(
                    "after-pass hook failed",
                    platform=result.platform,
                    hook=getattr(hook, "__name__", repr(hook)),
                    error=f"{exc.__class__.__name__}: {exc}",
                    exc_info=exc,
                )

    async def check_watchlist(self) -> None:
        """Reload the watchlist if its file changed since the last look."""
        path = self.collection.settings.watchlist_path
        try:
            mtime = path.stat().st_mtime
        except OSError as exc:
            log.error(
                "watchlist unreadable; keeping the last good one", path=str(path), error=str(exc)
            )
            return
        if self._watchlist_mtime is None:
            self._watchlist_mtime = mtime
            return
        if mtime == self._watchlist_mtime:
            return
        previous, self._watchlist_mtime = self._watchlist_mtime, mtime
        try:
            await self._reload_watchlist(path)
        except Exception:
            # The database refused the sync: the edit is applied at the next check, not lost.
            self._watchlist_mtime = previous
            raise

    async def _reload_watchlist(self, path: Path) -> None:
        settings = self.collection.settings
        try:
            # In a thread: validating 100,000 creators takes seconds, and the event loop keeps
            # the passes in flight (and the ticks) going meanwhile.
            watchlist, warnings = await asyncio.to_thread(
                load_watchlist, path, platforms=settings.platforms
            )
        except ConfigInvalid as exc:
            # Nothing is collected for a half-parsed file: the last good watchlist stays.
            self.watchlist_errors += 1
            self.watchlist_last_error = str(exc.problems[0]) if exc.problems else str(path)
            for problem in exc.problems:
                log.error("watchlist invalid; keeping the last good one", problem=str(problem))
            return
        for warning in warnings:
            log.warning("watchlist warning", problem=str(warning))
        self.collection.settings = dataclasses.replace(settings, watchlist=watchlist)
        await self.collection.db(self.collection.sync_watchlist, self.clock)
        self.watchlist_reloads += 1
        self.watchlist_last_error = None

    async def run(self, *, install_signal_handlers: bool = True) -> int:
        """Run until stopped; returns the process exit code."""
        loop = asyncio.get_running_loop()
        if install_signal_handlers:
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, self.request_stop)
        collection = self.collection
        interrupted = await collection.db(collection.store.mark_interrupted_runs, self.clock())
        if interrupted:
            log.warning("marked runs interrupted by an earlier stop", runs=interrupted)
        await collection.db(collection.sync_watchlist, self.clock)
        with contextlib.suppress(OSError):
            self._watchlist_mtime = collection.settings.watchlist_path.stat().st_mtime

        scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={
                # A late tick runs once, however late: never silently skipped, never piled up.
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": None,
            },
        )
        for name, dispatcher in collection.dispatchers.items():
            seconds = tick_for(dispatcher.interval, collection.settings.scheduler.tick)
            scheduler.add_job(
                self._tick,
                IntervalTrigger(seconds=seconds),
                args=[name],
                id=f"dispatch:{name}",
                next_run_time=self.clock(),
            )
        scheduler.add_job(
            self.check_watchlist,
            IntervalTrigger(seconds=WATCHLIST_CHECK_SECONDS),
            id="maintenance",
        )
        scheduler.start()
        log.info(
            "daemon started",
            platforms=sorted(collection.dispatchers),
            broken=sorted(collection.broken),
        )
        try:
            await self.stop_event.wait()
        finally:
            scheduler.shutdown(wait=False)
            await self._drain()
            await collection.aclose()
            if install_signal_handlers:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(signum)
        log.info("daemon stopped", passes=self.passes_completed)
        return 0

    async def _drain(self) -> None:
        tasks: list[asyncio.Task[Any]] = [*self._in_flight.values(), *self._hook_tasks]
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_SECONDS)
        for task in pending:
            # Cancelling drops the batch in flight before it is written: a gap, not half a batch.
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
            log.warning("cancelled passes at shutdown", platforms=len(pending))

"""One platform's collection pass: due accounts → connector → one transaction per batch.

The dispatcher is the only place that knows both a connector and the database. It asks the
database what is due, hands batches sized to the connector's batch endpoint to the connector,
and stores each batch's snapshots together with the accounts' new state, so a crash can lose a
batch in flight but never leave half of one. It branches on the error tree of
:mod:`connectors.errors`, never on messages.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

import structlog

from collector.storage.state import AccountOutcome, DueAccount, RunTotals, Store
from connectors.base import Connector, gather_until_failure
from connectors.errors import (
    AccountError,
    AuthError,
    ConfigError,
    ConnectorError,
    PayloadChanged,
    PlatformError,
    QuotaExhausted,
    RateLimited,
)
from connectors.http import Clock, utcnow
from connectors.records import AccountRef, History, PostPage, PostRecord, PostRef, ProfileRecord

__all__ = ["DbRunner", "Dispatcher", "PassResult", "next_post_poll"]

T = TypeVar("T")
log = structlog.get_logger("collector.pipeline")

#: How long a platform pauses after refusing our credentials: long enough not to hammer it,
#: short enough that a fixed token is picked up soon.
AUTH_PAUSE = timedelta(minutes=15)
#: A failed account is retried sooner than its interval, with backoff, but never later.
FAILURE_BACKOFF_BASE = timedelta(seconds=30)
#: After this many batches in a row fail on the platform side, the pass stops early.
MAX_FAILED_BATCHES_IN_A_ROW = 3


#: Posts younger than this are re-polled on every pass; older ones once a day.
YOUNG_POST_AGE = timedelta(days=2)


def next_post_poll(
    published_at: datetime, now: datetime, *, interval: timedelta, horizon: timedelta
) -> datetime | None:
    """When a post's counts are next due, or None once it is past the horizon.

    Engagement moves fast in a post's first days and saturates within a week or two, so the
    schedule is: every pass while young, then daily, then never. Half an interval is taken off
    each gap so that a pass that runs a little early still finds the post due.
    """
    age = now - published_at
    if age >= horizon:
        return None
    gap = interval if age < YOUNG_POST_AGE else max(interval, timedelta(days=1))
    return now + gap - interval / 2


class DbRunner:
    """Runs blocking database calls on one dedicated thread.

    One thread means SQLite sees a single writer, and the event loop keeps serving fetches
    while a batch is written.
    """

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collector-db")

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        """Wait for the write in progress, then stop the thread."""
        self._executor.shutdown(wait=True)


@dataclass(slots=True)
class PassResult:
    """What one pass did, for the caller's exit code and the canonical log line."""

    platform: str
    run_id: int | None
    status: str  # ok | partial | failed | paused | idle
    totals: RunTotals
    duration_seconds: float
    paused_until: datetime | None = None
    error: str | None = None


class Dispatcher:
    """Collects the due accounts of one platform; one instance per platform, long-lived."""

    def __init__(
        self,
        connector: Connector,
        store: Store,
        db: DbRunner,
        *,
        clock: Clock = utcnow,
        jitter: float = 0.1,
        max_accounts_per_pass: int = 5000,
        concurrency: int | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.connector = connector
        self.platform = connector.name
        self.store = store
        self.db = db
        self.clock = clock
        self.jitter = jitter
        self.max_accounts_per_pass = max_accounts_per_pass
        self.concurrency = concurrency or connector.config.max_connections
        self.rng = rng or random.Random()
        self.paused_until: datetime | None = None
        self.pause_reason: str | None = None
        self._stopping = asyncio.Event()
        self._failing_since: datetime | None = None
        #: Ends of runs the database refused to record (locked, full, unreachable).
        self._unrecorded_runs: list[Callable[[], None]] = []

    def stop(self) -> None:
        """Take no new batch; the batch in flight finishes and is stored."""
        self._stopping.set()

    @property
    def interval(self) -> timedelta:
        """The platform's profile refresh interval."""
        return self.connector.config.interval

    def _next_due(self, now: datetime, last_success: datetime | None = None) -> datetime:
        # Jitter spreads accounts added together, so they stop arriving in one burst.
        if self.jitter > 0 and (last_success is None or now - last_success > self.interval * 1.5):
            # New accounts, and accounts late after downtime or an outage, arrive all at once;
            # a 10 % jitter alone would keep them one burst for weeks, so their next collection
            # is spread over a whole interval centred on the usual one.
            return now + self.interval * self.rng.uniform(0.5, 1.5)
        return now + self.interval * (1 + self.rng.uniform(0, self.jitter))

    def _retry_due(self, now: datetime, failures: int) -> datetime:
        backoff = FAILURE_BACKOFF_BASE * (1 << min(failures, 10))
        return now + min(backoff, self.interval)

    async def run_pass(
        self,
        *,
        include_not_due: bool = False,
        progress: Callable[[int, int], None] | None = None,
    ) -> PassResult:
        """Collect every due account once (or every active one with ``include_not_due``).

        ``progress(done, total)`` hears, after each batch, how many of the pass's accounts are
        handled: a first-sight backfill of many accounts is long, and a terminal shows a bar.
        """
        started = self.clock()
        totals = RunTotals()
        if self.paused_until is not None:
            if started < self.paused_until:
                return PassResult(
                    self.platform, None, "paused", totals, 0.0, self.paused_until, self.pause_reason
                )
            log.info("platform resumed", platform=self.platform, after=self.pause_reason)
            self.paused_until = self.pause_reason = None

        while self._unrecorded_runs:
            await self.db(self._unrecorded_runs[0])
            self._unrecorded_runs.pop(0)
        due = await self.db(
            self.store.due_accounts,
            self.platform,
            started,
            limit=self.max_accounts_per_pass,
            include_not_due=include_not_due,
        )
        if not due:
            return PassResult(self.platform, None, "idle", totals, 0.0)
        if progress is not None:
            progress(0, len(due))

        run_id = await self.db(self.store.start_run, self.platform, started)
        calls_before = self.connector.stats.snapshot()
        structlog.contextvars.bind_contextvars(platform=self.platform, run_id=run_id)
        status, error = "failed", None
        try:
            status, error = await self._collect(run_id, due, totals, progress)
        except asyncio.CancelledError:
            status, error = "interrupted", "cancelled at shutdown"
            raise
        except Exception as exc:
            status, error = "failed", f"{exc.__class__.__name__}: {exc}"
            raise
        finally:
            structlog.contextvars.unbind_contextvars("platform", "run_id")
            totals.calls = self.connector.stats.calls - calls_before.calls
            totals.quota_units = self.connector.stats.quota_units - calls_before.quota_units
            finished = self.clock()
            finish = functools.partial(
                self.store.finish_run,
                run_id,
                totals,
                status=status,
                now=finished,
                started_at=started,
                error=error,
            )
            try:
                await self.db(finish)
            except Exception as exc:
                # The database that just failed the batch may refuse this write too; the run's
                # row is completed before the next pass rather than left "running" for good.
                self._unrecorded_runs.append(finish)
                log.error(
                    "run end not recorded; retried before the next pass",
                    platform=self.platform,
                    run_id=run_id,
                    error=f"{exc.__class__.__name__}: {exc}",
                )
        duration = (finished - started).total_seconds()
        self._log_pass(run_id, status, totals, duration, error)
        return PassResult(self.platform, run_id, status, totals, duration, self.paused_until, error)

    async def _collect(
        self,
        run_id: int,
        due: Sequence[DueAccount],
        totals: RunTotals,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[str, str | None]:
        size = self.connector.batch_size
        failed_batches = 0
        error: str | None = None
        for start in range(0, len(due), size):
            if self._stopping.is_set():
                return ("partial" if totals.accounts else "failed"), "stopped before the end"
            batch = due[start : start + size]
            outcomes, platform_error = await self._collect_batch(batch)
            if outcomes:
                now = self.clock()
                for item in outcomes:
                    _storable(item)
                profile_rows, post_rows = await self.db(self.store.store_batch, outcomes, now)
                totals.profile_rows += profile_rows
                totals.post_rows += post_rows
                totals.accounts += len(outcomes)
                for item in outcomes:
                    totals.add(item.outcome)
            if progress is not None:
                progress(start + len(batch), len(due))
            if platform_error is None:
                failed_batches = 0
                continue
            error = platform_error.message
            if isinstance(platform_error, PayloadChanged):
                await self.db(
                    self.store.record_payload_error,
                    self.platform,
                    run_id,
                    platform_error.message,
                    platform_error.raw_body,
                    self.clock(),
                )
            if self.paused_until is not None:
                return ("partial" if totals.succeeded else "failed"), error
            failed_batches += 1
            if failed_batches >= MAX_FAILED_BATCHES_IN_A_ROW:
                return ("partial" if totals.succeeded else "failed"), error
        if totals.failed:
            return ("partial" if totals.succeeded else "failed"), error
        return "ok", None

    async def _collect_batch(
        self, batch: Sequence[DueAccount]
    ) -> tuple[list[AccountOutcome], PlatformError | None]:
        """Fetch one batch; return what to store and the platform-level error, if any."""
        refs = [AccountRef(a.handle, a.platform_id, a.posts_cursor) for a in batch]
        now = self.clock()
        try:
            answer = await self.connector.fetch_profiles(refs)
        except PlatformError as exc:
            self._on_platform_error(exc)
            if self.paused_until is not None:
                # Nothing was collected; the accounts wait for the platform, not for backoff.
                await self.db(self.store.reschedule, [a.id for a in batch], self.paused_until)
                return [], exc
            return [
                AccountOutcome(a, self._retry_due(now, a.consecutive_failures), error=exc)
                for a in batch
            ], exc
        self._on_platform_ok()

        semaphore = asyncio.Semaphore(self.concurrency)
        platform_errors: list[PlatformError] = []

        async def one(account: DueAccount) -> AccountOutcome:
            failure = answer.failures.get(account.handle)
            if failure is not None:
                return AccountOutcome(account, None, error=failure)
            profile = answer.profiles.get(account.handle)
            if profile is None:
                missing = PayloadChanged(
                    f"{self.platform} answered without account {account.handle!r}", raw_body=b""
                )
                return AccountOutcome(
                    account, self._retry_due(now, account.consecutive_failures), error=missing
                )
            async with semaphore:
                history, posts, error = await self._details(account, profile)
            if isinstance(error, PlatformError):
                platform_errors.append(error)
            return AccountOutcome(
                account,
                self._next_due(self.clock(), account.last_success_at),
                profile=profile,
                history=history,
                posts=posts,
                error=error,
            )

        outcomes = list(await asyncio.gather(*(one(a) for a in batch)))
        if not platform_errors:
            stats_error = await self._poll_posts(outcomes, now)
            if stats_error is not None:
                platform_errors.append(stats_error)
        return outcomes, (platform_errors[0] if platform_errors else None)

    async def _poll_posts(
        self, outcomes: Sequence[AccountOutcome], now: datetime
    ) -> PlatformError | None:
        """Keep the feed's posts that are new or due, and refresh due ones in batches.

        Re-polls decay with age (:func:`next_post_poll`), so a post's counts are stored often
        while engagement moves and not at all past the horizon. Where the platform has a batch
        endpoint for counts, due posts (and posts the feed listed without counts) are fetched
        together across the whole batch of accounts: 50 YouTube videos cost one call.
        """
        config = self.connector.config
        horizon, interval = config.posts_horizon, config.interval
        with_posts = [o for o in outcomes if o.posts is not None]
        if not with_posts:
            return None
        known = await self.db(
            self.store.known_posts,
            [o.account.id for o in with_posts],
            published_since=now - horizon,
        )
        wanted: list[PostRef] = []
        owners: dict[str, tuple[AccountOutcome, dict[str, PostRecord]]] = {}
        kept_by_account: dict[int, dict[str, PostRecord]] = {}
        batch_size = self.connector.post_batch_size
        for outcome in with_posts:
            assert outcome.posts is not None
            account_known = known[outcome.account.id]
            kept: dict[str, PostRecord] = kept_by_account.setdefault(outcome.account.id, {})
            platform_id = outcome.profile.platform_id if outcome.profile else None
            for record in outcome.posts.posts:
                post_id = record.platform_post_id
                if now - record.published_at >= horizon:
                    continue
                schedule = account_known.get(post_id)
                if schedule is not None and schedule[0] is not None and schedule[0] > now:
                    continue  # known and not due: no row, no call
                kept[post_id] = record
                if record.has_counts:
                    outcome.post_next_poll[post_id] = next_post_poll(
                        record.published_at, now, interval=interval, horizon=horizon
                    )
                else:
                    # Due at once until its counts arrive, so a failed stats call is retried.
                    outcome.post_next_poll[post_id] = now
                    if batch_size:
                        wanted.append(
                            PostRef(
                                post_id, outcome.account.handle, platform_id, record.published_at
                            )
                        )
                owners[post_id] = (outcome, kept)
            if batch_size:
                for post_id, (next_poll_at, published_at) in account_known.items():
                    if post_id in kept or (next_poll_at is not None and next_poll_at > now):
                        continue
                    wanted.append(
                        PostRef(post_id, outcome.account.handle, platform_id, published_at)
                    )
                    owners[post_id] = (outcome, kept)
        step = batch_size or 1
        chunks = [wanted[start : start + step] for start in range(0, len(wanted), step)]
        answers = await self._post_stats_together(chunks)
        error: PlatformError | None = None
        for chunk, answer in zip(chunks, answers, strict=True):
            if isinstance(answer, PlatformError):
                self._on_platform_error(answer)
                for ref in chunk:
                    owners[ref.platform_post_id][0].error = answer
                error = error or answer
                continue
            for record in answer or ():
                owner = owners.get(record.platform_post_id)
                if owner is None:
                    continue
                outcome, kept = owner
                kept[record.platform_post_id] = record
                outcome.post_next_poll[record.platform_post_id] = next_post_poll(
                    record.published_at, now, interval=interval, horizon=horizon
                )
        for outcome in with_posts:
            assert outcome.posts is not None
            kept = kept_by_account[outcome.account.id]
            outcome.posts = PostPage(tuple(kept.values()), outcome.posts.cursor)
        return error

    async def _post_stats_together(
        self, chunks: Sequence[Sequence[PostRef]]
    ) -> list[list[PostRecord] | PlatformError | None]:
        """Each chunk's counts, or the platform error it met, or None if it was never sent.

        The chunks go out together, at most ``concurrency`` at a time: one after another, a
        first YouTube pass waited twelve videos.list round trips per batch of 50 channels. As
        in the loop it replaces, a platform error sends no further chunk; chunks already in
        flight finish, and what they bring is kept. Any other exception is a bug and is
        re-raised once every chunk in flight has finished, so no request outlives the pass.
        """
        answers = await gather_until_failure(
            chunks, self.connector.fetch_post_stats, self.concurrency
        )
        results: list[list[PostRecord] | PlatformError | None] = []
        for answer in answers:
            # Platform errors come back as values; what is raised here is anything else.
            if isinstance(answer, BaseException) and not isinstance(answer, PlatformError):
                raise answer
            results.append(answer)
        return results

    async def _details(
        self, account: DueAccount, profile: ProfileRecord
    ) -> tuple[History | None, PostPage | None, ConnectorError | None]:
        """History on first sight, then recent posts; the profile is kept whatever happens."""
        history: History | None = None
        config = self.connector.config
        ref = AccountRef(account.handle, profile.platform_id, account.posts_cursor)
        now = self.clock()
        try:
            if (
                account.last_success_at is None
                and self.connector.supports_history
                and config.backfill_days > 0
            ):
                history = await self.connector.fetch_history(
                    ref, start=now - timedelta(days=config.backfill_days), end=profile.collected_at
                )
            posts = await self.connector.fetch_posts(ref, since=now - config.posts_horizon)
        except AccountError as exc:
            return history, None, exc
        except PlatformError as exc:
            self._on_platform_error(exc)
            return history, None, exc
        return history, posts, None

    def _on_platform_error(self, exc: PlatformError) -> None:
        now = self.clock()
        if isinstance(exc, QuotaExhausted):
            self._pause(exc.reset_at, f"quota exhausted until {exc.reset_at.isoformat()}")
        elif isinstance(exc, RateLimited):
            self._pause(exc.retry_at, f"rate limited until {exc.retry_at.isoformat()}")
        elif isinstance(exc, AuthError | ConfigError):
            self._pause(
                now + AUTH_PAUSE,
                f"{exc.message}; fix [platforms.{self.platform}] in collector.toml or its "
                "environment variables (other platforms go on)",
            )
        if self._failing_since is None:
            # Logged once when the trouble starts and once on recovery, not every tick.
            self._failing_since = now
            log.error(
                "platform failing", platform=self.platform, error=exc.message, outcome=exc.outcome
            )

    def _on_platform_ok(self) -> None:
        if self._failing_since is not None:
            log.info(
                "platform recovered",
                platform=self.platform,
                failing_seconds=(self.clock() - self._failing_since).total_seconds(),
            )
            self._failing_since = None

    def _pause(self, until: datetime, reason: str) -> None:
        if self.paused_until is None or until > self.paused_until:
            self.paused_until = until
            self.pause_reason = reason
            log.warning(
                "platform paused", platform=self.platform, until=until.isoformat(), reason=reason
            )

    def _log_pass(
        self, run_id: int, status: str, totals: RunTotals, duration: float, error: str | None
    ) -> None:
        # The one canonical line per dispatch.
        log.info(
            "dispatch",
            platform=self.platform,
            run_id=run_id,
            outcome=status,
            accounts=totals.accounts,
            succeeded=totals.succeeded,
            failed=totals.failed,
            calls=totals.calls,
            quota_units=totals.quota_units,
            profile_rows=totals.profile_rows,
            post_rows=totals.post_rows,
            outcomes=totals.outcomes,
            duration_seconds=round(duration, 3),
            error=error,
        )


def _no_nul(text: str | None) -> str | None:
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text


def _storable(item: AccountOutcome) -> None:
    """Replace NUL characters in a platform's text: PostgreSQL refuses them in text columns.

    JSON allows ``\u0000`` in a caption; stored as is, it would fail its whole batch on every
    pass, for good. U+FFFD marks where it was.
    """
    profile = item.profile
    if profile is not None and "\x00" in f"{profile.platform_id}{profile.display_name}":
        item.profile = replace(
            profile,
            platform_id=_no_nul(profile.platform_id) or "",
            display_name=_no_nul(profile.display_name),
        )
    for page in ("posts", "history"):
        current = getattr(item, page)
        posts = current.posts if current is not None else ()
        if any("\x00" in f"{p.platform_post_id}{p.caption}{p.url}{p.kind}" for p in posts):
            cleaned = tuple(
                replace(
                    p,
                    platform_post_id=_no_nul(p.platform_post_id) or "",
                    caption=_no_nul(p.caption),
                    url=_no_nul(p.url),
                    kind=_no_nul(p.kind),
                )
                for p in posts
            )
            setattr(item, page, replace(current, posts=cleaned))


async def gather_passes(
    passes: Sequence[Awaitable[PassResult]],
) -> list[PassResult | BaseException]:
    """Run passes of several platforms together; one platform's crash never stops another."""
    return list(await asyncio.gather(*passes, return_exceptions=True))

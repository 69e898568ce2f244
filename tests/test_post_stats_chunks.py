"""Post counts fetched in chunks: the chunks of a batch go out together, and a failure mid-batch.

The dispatcher asks a batch endpoint (YouTube's videos.list, X's tweets lookup) for the counts of
every due post of a batch of accounts, ``post_batch_size`` posts a call. The calls go out
together, within the dispatcher's concurrency; once one fails on the platform side no further
call leaves, the calls already in flight finish and what they bring is stored.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine

from collector.pipeline import DbRunner, Dispatcher, PassResult
from collector.storage.state import Store
from connectors.errors import QuotaExhausted, TransientError
from connectors.http import RetryPolicy
from connectors.records import PostRecord, PostRef
from connectors.testing import Recorder
from connectors.youtube import CHANNELS, RESOLVE, UPLOADS, VIDEOS, YouTubeConfig, YouTubeConnector
from tests.conftest import FakeClock
from tests.fakeplatform.core import World
from tests.fakeplatform.server import FakePlatformServer
from tests.fakeplatform.youtube import quota_exceeded, video_id_of
from tests.fakes import ScriptedConnector

T = TypeVar("T")

#: The next midnight in Pacific time after the clock fixture's start (PST, UTC-8).
NEXT_PACIFIC_MIDNIGHT = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def db() -> Iterator[DbRunner]:
    runner = DbRunner()
    yield runner
    runner.close()


def _watch(engine: Engine, clock: FakeClock, platform: str, handles: Sequence[str]) -> None:
    Store(engine).sync_watchlist(
        [(platform, h, f"creator {h}", ["t"]) for h in handles], platforms=[platform], now=clock()
    )


def _rows(engine: Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql), params)]


# -- the dispatcher's side, on a scripted platform -----------------------------------------------


class ChunkedConnector(ScriptedConnector):
    """Counts one post a call; every call yields to the loop while in flight, like a request."""

    post_batch_size = 1

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock)
        self.in_flight = 0
        self.peak = 0
        #: Post id → what its stats call raises instead of answering.
        self.stats_errors: dict[str, Exception] = {}
        #: Post id → an event its stats call waits for before answering.
        self.holds: dict[str, asyncio.Event] = {}
        #: Set once a stats call has raised.
        self.raised = asyncio.Event()
        self.feed_has_counts = False  # as on YouTube: the feed lists posts, counts come after

    async def fetch_post_stats(self, posts: Sequence[PostRef]) -> list[PostRecord]:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            records = await super().fetch_post_stats(posts)
            post_id = posts[0].platform_post_id
            await asyncio.sleep(0)  # a loop turn, not a wait: other calls may start now
            if post_id in self.holds:
                await self.holds[post_id].wait()
            error = self.stats_errors.get(post_id)
            if error is not None:
                self.raised.set()
                raise error
            return records
        finally:
            self.in_flight -= 1


def _scripted(
    engine: Engine, db: DbRunner, clock: FakeClock, *, concurrency: int
) -> tuple[Dispatcher, ChunkedConnector]:
    """Accounts ``a`` and ``b`` with two posts each: four stats calls of one post."""
    _watch(engine, clock, "scripted", ["a", "b"])
    connector = ChunkedConnector(clock)
    connector.followers = {"a": 1, "b": 2}
    dispatcher = Dispatcher(
        connector,
        Store(engine),
        db,
        clock=clock,
        jitter=0.0,
        concurrency=concurrency,
        rng=random.Random(1),
    )
    return dispatcher, connector


def _pass(dispatcher: Dispatcher) -> PassResult:
    return asyncio.run(dispatcher.run_pass())


def _counted_posts(engine: Engine) -> list[str]:
    return sorted(
        str(r[0])
        for r in _rows(
            engine,
            "SELECT p.platform_post_id FROM post p JOIN post_snapshot s ON s.post_id = p.id",
        )
    )


def test_the_chunks_of_a_batch_are_in_flight_together(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    dispatcher, connector = _scripted(engine, db, clock, concurrency=8)
    _pass(dispatcher)
    assert connector.peak == 4


def test_no_more_chunks_are_in_flight_than_the_concurrency(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    dispatcher, connector = _scripted(engine, db, clock, concurrency=2)
    _pass(dispatcher)
    assert connector.peak == 2


def test_concurrent_chunks_store_the_same_counts_as_one_chunk_at_a_time(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    dispatcher, connector = _scripted(engine, db, clock, concurrency=8)
    _pass(dispatcher)
    assert sorted(c[0] for c in connector.stats_calls) == ["a-1", "a-2", "b-1", "b-2"]
    assert _counted_posts(engine) == ["a-1", "a-2", "b-1", "b-2"]


def test_after_a_chunk_fails_no_further_chunk_is_sent(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    dispatcher, connector = _scripted(engine, db, clock, concurrency=2)
    connector.stats_errors["a-1"] = QuotaExhausted("quotaExceeded", reset_at=NEXT_PACIFIC_MIDNIGHT)
    _pass(dispatcher)
    # a-1 and a-2 were in flight together; b-1 and b-2 waited for a slot and were never sent.
    assert connector.stats_calls == [["a-1"], ["a-2"]]


def test_a_chunk_in_flight_when_another_fails_is_stored(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    dispatcher, connector = _scripted(engine, db, clock, concurrency=2)
    connector.stats_errors["a-1"] = QuotaExhausted("quotaExceeded", reset_at=NEXT_PACIFIC_MIDNIGHT)
    _pass(dispatcher)
    assert _counted_posts(engine) == ["a-2"]


def test_posts_whose_counts_did_not_arrive_stay_due_after_a_failed_chunk(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    dispatcher, connector = _scripted(engine, db, clock, concurrency=2)
    connector.stats_errors["a-1"] = QuotaExhausted("quotaExceeded", reset_at=NEXT_PACIFIC_MIDNIGHT)
    _pass(dispatcher)
    due = _rows(
        engine,
        "SELECT platform_post_id FROM post WHERE next_poll_at IS NOT NULL"
        " AND id NOT IN (SELECT post_id FROM post_snapshot) ORDER BY platform_post_id",
    )
    assert [r[0] for r in due] == ["a-1", "b-1", "b-2"]


def test_a_quota_error_in_a_chunk_pauses_the_platform_until_the_reset(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    dispatcher, connector = _scripted(engine, db, clock, concurrency=2)
    connector.stats_errors["a-2"] = QuotaExhausted("quotaExceeded", reset_at=NEXT_PACIFIC_MIDNIGHT)
    result = _pass(dispatcher)
    assert (result.status, result.paused_until) == ("partial", NEXT_PACIFIC_MIDNIGHT)


def test_a_transient_error_in_a_chunk_does_not_pause_the_platform(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    dispatcher, connector = _scripted(engine, db, clock, concurrency=2)
    connector.stats_errors["a-1"] = TransientError("HTTP 503: service unavailable")
    result = _pass(dispatcher)
    # The account whose counts failed is partial (profile stored, posts not); nothing pauses.
    assert (result.totals.outcomes, dispatcher.paused_until) == ({"partial": 1, "ok": 1}, None)


class _InlineDb(DbRunner):
    """Database calls run inline on the loop: a pass then ends within a few loop turns."""

    async def __call__(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(*args, **kwargs)


def test_an_unexpected_exception_in_a_chunk_waits_for_the_chunks_in_flight(
    engine: Engine, clock: FakeClock
) -> None:
    inline = _InlineDb()
    dispatcher, connector = _scripted(engine, inline, clock, concurrency=2)
    connector.stats_errors["a-1"] = RuntimeError("a bug")

    async def main() -> bool:
        connector.holds["a-2"] = release = asyncio.Event()
        run = asyncio.create_task(dispatcher.run_pass())
        await connector.raised.wait()
        for _ in range(1000):  # far more loop turns than an inline pass needs to end
            await asyncio.sleep(0)
        ended_with_a_call_in_flight = run.done()
        release.set()
        with pytest.raises(RuntimeError, match="a bug"):
            await run
        return ended_with_a_call_in_flight

    try:
        assert asyncio.run(main()) is False
    finally:
        inline.close()


# -- a whole YouTube pass against the loopback fake platform ---------------------------------------


def _youtube(
    engine: Engine, db: DbRunner, clock: FakeClock, server: FakePlatformServer, concurrency: int
) -> tuple[Dispatcher, YouTubeConnector]:
    config = YouTubeConfig(
        base_url=server.url_for("youtube"),
        api_key=SecretStr("yt-key-chunks-123"),
        max_connections=concurrency,
    )
    connector = YouTubeConnector(
        config, clock=clock, retry=RetryPolicy(max_attempts=2, sleep=Recorder(), clock=clock)
    )
    return Dispatcher(
        connector, Store(engine), db, clock=clock, jitter=0.0, rng=random.Random(1)
    ), connector


def _youtube_pass(dispatcher: Dispatcher, connector: YouTubeConnector) -> PassResult:
    async def main() -> PassResult:
        try:
            return await dispatcher.run_pass()
        finally:
            await connector.aclose()

    return asyncio.run(main())


def _stored_counts(engine: Engine) -> list[tuple[object, ...]]:
    return sorted(
        _rows(
            engine,
            "SELECT p.platform_post_id, s.views, s.likes, s.comments"
            " FROM post p JOIN post_snapshot s ON s.post_id = p.id",
        ),
        key=str,
    )


@pytest.mark.parametrize("concurrency", [1, 8])
def test_a_first_youtube_pass_stores_every_video_count_whatever_the_concurrency(
    engine: Engine, db: DbRunner, clock: FakeClock, concurrency: int
) -> None:
    # 60 channels of 12 videos: a batch of 50 channels (12 videos.list calls), then one of 10 (3).
    world = World(clock=clock, posts_per_account=12)
    accounts = [world.add("youtube", f"creator{i:03d}") for i in range(60)]
    _watch(engine, clock, "youtube", [a.handle for a in accounts])
    expected = sorted(
        ((video_id_of(a, p), p.views, p.likes, p.comments) for a in accounts for p in a.posts),
        key=str,
    )
    with FakePlatformServer(world) as server:
        dispatcher, connector = _youtube(engine, db, clock, server, concurrency)
        _youtube_pass(dispatcher, connector)
    assert (_stored_counts(engine), world.calls[("youtube", VIDEOS)]) == (expected, 12 + 3)


def _quota_mid_batch(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> tuple[World, Dispatcher, PassResult]:
    """25 channels of 6 videos (3 videos.list calls, in flight together); one meets the quota."""
    world = World(clock=clock, posts_per_account=6)
    accounts = [world.add("youtube", f"creator{i:03d}") for i in range(25)]
    _watch(engine, clock, "youtube", [a.handle for a in accounts])
    world.fail(quota_exceeded(VIDEOS))
    with FakePlatformServer(world) as server:
        dispatcher, connector = _youtube(engine, db, clock, server, concurrency=8)
        result = _youtube_pass(dispatcher, connector)
    return world, dispatcher, result


def test_a_youtube_quota_error_in_one_chunk_keeps_the_other_chunks_counts(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _quota_mid_batch(engine, db, clock)
    assert len(_stored_counts(engine)) == 150 - 50


def test_a_youtube_quota_error_in_one_chunk_pauses_youtube_until_midnight_pacific(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _, dispatcher, result = _quota_mid_batch(engine, db, clock)
    assert (result.status, dispatcher.paused_until) == ("partial", NEXT_PACIFIC_MIDNIGHT)
    assert "quotaExceeded" in (result.error or "")


def test_a_youtube_quota_error_mid_batch_counts_each_request_sent_once(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    world, _, result = _quota_mid_batch(engine, db, clock)
    sent = {e: world.calls[("youtube", e)] for e in (RESOLVE, CHANNELS, UPLOADS, VIDEOS)}
    assert sent == {RESOLVE: 25, CHANNELS: 1, UPLOADS: 25, VIDEOS: 3}
    recorded = _rows(
        engine, "SELECT calls, quota_units FROM collection_run WHERE id = :id", id=result.run_id
    )
    assert recorded == [(54, 54)]

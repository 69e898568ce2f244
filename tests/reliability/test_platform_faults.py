"""Platform faults through the loopback fake platforms: real connectors, real HTTP, a real store.

Every test counts the requests the fake platform received, so "bounded retries" is a number, and
checks what reached the database, so "nothing half-stored" is a query. Waits the retry policy
asks for are recorded, not slept.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from collector.pipeline import PassResult, gather_passes
from connectors.youtube import next_quota_reset
from tests.conftest import FakeClock
from tests.fakeplatform.core import Fault, World
from tests.fakeplatform.server import FakePlatformServer
from tests.fakeplatform.youtube import QUOTA_EXCEEDED_BODY
from tests.reliability.support import (
    FaultServer,
    Sleeps,
    calls,
    dispatcher_for,
    make_connector,
    next_due,
    rows,
    scalar,
    snapshots,
    watch,
)

POSTS = 3


@pytest.fixture
def server(clock: FakeClock) -> Iterator[FakePlatformServer]:
    world = World(clock=clock, auto_create=True, posts_per_account=POSTS)
    with FaultServer(world) as running:
        yield running


def _pass(server: FakePlatformServer, engine: Engine, platform: str, **kw: object) -> PassResult:
    """One pass of ``platform`` over its due accounts, on the world's clock."""
    clock = server.world.clock
    connector = make_connector(platform, server, clock=clock, **kw)  # type: ignore[arg-type]
    dispatcher = dispatcher_for(connector, engine, clock=clock)

    async def run() -> PassResult:
        try:
            return await dispatcher.run_pass()
        finally:
            await connector.aclose()
            dispatcher.db.close()

    return asyncio.run(run())


def test_a_429_with_a_short_retry_after_is_waited_out_then_retried_once(
    server: FakePlatformServer, engine: Engine, clock: FakeClock
) -> None:
    watch(engine, "bluesky", 10, clock())
    server.world.fail(
        Fault("bluesky", "getProfiles", status=429, headers={"Retry-After": "3"}, body=b"{}")
    )
    sleeps = Sleeps()
    result = _pass(server, engine, "bluesky", sleeps=sleeps)
    assert (result.status, calls(server, "bluesky", ["getProfiles"]), sleeps.waits) == (
        "ok",
        2,
        [3.0],
    )


def test_a_429_with_a_far_retry_after_pauses_the_platform_without_retrying(
    server: FakePlatformServer, engine: Engine, clock: FakeClock
) -> None:
    watch(engine, "bluesky", 10, clock())
    server.world.fail(
        Fault("bluesky", "getProfiles", status=429, headers={"Retry-After": "3600"}, times=5)
    )
    result = _pass(server, engine, "bluesky")
    assert result.paused_until is not None
    wait = (result.paused_until - clock()).total_seconds()
    assert calls(server, "bluesky") == 1
    assert wait == 3600
    # The accounts wait for the platform, not for a failure backoff: nothing is counted failed.
    assert set(next_due(engine)) == {result.paused_until}


def test_a_429_without_retry_after_is_retried_at_most_four_times(
    server: FakePlatformServer, engine: Engine, clock: FakeClock
) -> None:
    watch(engine, "bluesky", 10, clock())
    server.world.fail(Fault("bluesky", "getProfiles", status=429, times=100))
    sleeps = Sleeps()
    result = _pass(server, engine, "bluesky", sleeps=sleeps)
    assert (result.status, calls(server, "bluesky"), sleeps.waits) == (
        "failed",
        4,
        [60.0, 60.0, 60.0],
    )
    assert result.paused_until is not None


def test_an_exhausted_quota_is_never_retried_and_pauses_until_the_reset(
    server: FakePlatformServer, engine: Engine, clock: FakeClock
) -> None:
    watch(engine, "youtube", 5, clock())
    server.world.fail(Fault("youtube", status=403, body=QUOTA_EXCEEDED_BODY, times=50))
    connector = make_connector("youtube", server, clock=clock)
    dispatcher = dispatcher_for(connector, engine, clock=clock)

    async def two_passes() -> tuple[PassResult, PassResult]:
        first = await dispatcher.run_pass()
        second = await dispatcher.run_pass()
        await connector.aclose()
        dispatcher.db.close()
        return first, second

    first, second = asyncio.run(two_passes())
    # The five first-time handle resolutions go out together (within the connection limit);
    # none is retried, and nothing more is sent until the reset.
    assert calls(server, "youtube") == 5
    assert first.paused_until == next_quota_reset(clock())
    assert second.status == "paused"


def test_a_5xx_burst_shorter_than_the_retries_is_absorbed(
    server: FakePlatformServer, engine: Engine, clock: FakeClock
) -> None:
    watch(engine, "bluesky", 10, clock())
    server.world.fail(Fault("bluesky", "getProfiles", status=503, times=3))
    result = _pass(server, engine, "bluesky")
    assert (
        result.status,
        calls(server, "bluesky", ["getProfiles"]),
        snapshots(engine, "bluesky"),
    ) == (
        "ok",
        4,
        (10, 10 * POSTS),
    )


def test_a_long_5xx_outage_stops_the_pass_after_three_failed_batches(
    server: FakePlatformServer, engine: Engine, clock: FakeClock
) -> None:
    now = clock()
    watch(engine, "bluesky", 100, now)
    server.world.fail(Fault("bluesky", "getProfiles", status=503, times=1000))
    result = _pass(server, engine, "bluesky")
    failed = scalar(engine, "SELECT count(*) FROM account WHERE consecutive_failures = 1")
    assert (result.status, calls(server, "bluesky"), failed) == ("failed", 3 * 4, 75)
    # Failed accounts come back after a short backoff; the 25 never tried are still due now.
    assert set(next_due(engine)) == {now, now + timedelta(seconds=30)}


def test_a_hung_connection_times_out_and_is_retried(
    server: FakePlatformServer, engine: Engine, clock: FakeClock
) -> None:
    watch(engine, "bluesky", 10, clock())
    server.world.fail(Fault("bluesky", "getProfiles", kind="hang"))
    result = _pass(server, engine, "bluesky", timeout_seconds=0.3)
    assert (result.status, calls(server, "bluesky", ["getProfiles"])) == ("ok", 2)


def test_a_response_slower_than_the_timeout_counts_as_a_timeout(
    server: FakePlatformServer, engine: Engine, clock: FakeClock
) -> None:
    watch(engine, "bluesky", 10, clock())
    server.world.fail(Fault("bluesky", "getProfiles", kind="slow", delay_seconds=1.0))
    result = _pass(server, engine, "bluesky", timeout_seconds=0.2)
    assert (result.status, calls(server, "bluesky", ["getProfiles"])) == ("ok", 2)


def test_a_very_slow_response_within_the_timeout_is_waited_for(
    server: FakePlatformServer, engine: Engine, clock: FakeClock
) -> None:
    watch(engine, "bluesky", 10, clock())
    server.world.fail(Fault("bluesky", "getProfiles", kind="slow", delay_seconds=0.4))
    result = _pass(server, engine, "bluesky", timeout_seconds=2.0)
    assert (result.status, calls(server, "bluesky", ["getProfiles"])) == ("ok", 1)


def test_a_connection_reset_mid_body_is_retried(
    server: FakePlatformServer, engine: Engine, clock: FakeClock
) -> None:
    watch(engine, "mastodon", 3, clock())
    server.world.fail(Fault("mastodon", "accounts/statuses", kind="reset"))
    result = _pass(server, engine, "mastodon")
    assert (result.status, calls(server, "mastodon"), snapshots(engine, "mastodon")) == (
        "ok",
        3 * 2 + 1,
        (3, 3 * POSTS),
    )


@pytest.mark.parametrize(
    ("kind", "body"),
    [("malformed", b'{"data": [1, 2,,}'), ("truncated", b'{"data": [{"id": "1"')],
)
def test_broken_json_is_kept_raw_not_retried_and_nothing_of_it_is_stored(
    server: FakePlatformServer, engine: Engine, clock: FakeClock, kind: str, body: bytes
) -> None:
    watch(engine, "bluesky", 10, clock())
    server.world.fail(Fault("bluesky", "getProfiles", kind=kind))  # type: ignore[arg-type]
    result = _pass(server, engine, "bluesky")
    kept = rows(engine, "SELECT platform, raw_body FROM payload_error")
    assert (result.status, calls(server, "bluesky"), snapshots(engine, "bluesky")) == (
        "failed",
        1,
        (0, 0),
    )
    assert [(p, bytes(b)) for p, b in kept] == [("bluesky", body)]


def test_a_changed_payload_shape_is_kept_raw_reported_and_nothing_is_stored(
    server: FakePlatformServer, engine: Engine, clock: FakeClock
) -> None:
    watch(engine, "bluesky", 10, clock())
    changed = json.dumps({"actors": [{"did": "did:plc:x", "followers": "many"}]}).encode()
    server.world.fail(Fault("bluesky", "getProfiles", status=200, body=changed))
    with capture_logs() as logs:
        result = _pass(server, engine, "bluesky")
    kept = rows(engine, "SELECT raw_body, message FROM payload_error")
    reported = [e for e in logs if e.get("outcome") == "payload_changed"]
    assert (result.status, snapshots(engine, "bluesky")) == ("failed", (0, 0))
    assert [bytes(b) for b, _m in kept] == [changed]
    assert reported, logs


def test_a_failing_platform_leaves_the_others_unaffected(
    server: FakePlatformServer, engine: Engine, clock: FakeClock
) -> None:
    now = clock()
    watch(engine, "bluesky", 30, now)
    watch(engine, "mastodon", 5, now)
    server.world.fail(Fault("bluesky", status=503, times=10_000))
    bluesky = make_connector("bluesky", server, clock=clock)
    mastodon = make_connector("mastodon", server, clock=clock)
    dispatchers = [dispatcher_for(d, engine, clock=clock) for d in (bluesky, mastodon)]

    async def both() -> list[PassResult | BaseException]:
        results = await gather_passes([d.run_pass() for d in dispatchers])
        for d in dispatchers:
            await d.connector.aclose()
            d.db.close()
        return results

    results = asyncio.run(both())
    statuses = [r.status if isinstance(r, PassResult) else repr(r) for r in results]
    assert statuses == ["failed", "ok"]
    assert snapshots(engine, "mastodon") == (5, 5 * POSTS)
    # The minimum for Mastodon: one lookup and one statuses call per account, no more.
    assert calls(server, "mastodon") == 5 * 2

"""The dispatcher: what a pass stores, and what it does with each kind of failure."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from collector.pipeline import DbRunner, Dispatcher, PassResult
from collector.storage.state import Store
from connectors.base import PlatformConfig
from connectors.errors import (
    AccountNotFound,
    AuthError,
    PayloadChanged,
    QuotaExhausted,
    TransientError,
)
from tests.conftest import FakeClock
from tests.fakes import ScriptedConnector


@pytest.fixture
def db() -> Iterator[DbRunner]:
    runner = DbRunner()
    yield runner
    runner.close()


def _watch(
    engine: Engine, clock: FakeClock, handles: list[str], platform: str = "scripted"
) -> None:
    Store(engine).sync_watchlist(
        [(platform, h, f"creator {h}", ["t"]) for h in handles],
        platforms=[platform],
        now=clock(),
    )


def _dispatcher(
    engine: Engine, db: DbRunner, clock: FakeClock, connector: ScriptedConnector | None = None
) -> tuple[Dispatcher, ScriptedConnector]:
    connector = connector or ScriptedConnector(clock=clock)
    return Dispatcher(
        connector, Store(engine), db, clock=clock, jitter=0.0, rng=random.Random(1)
    ), connector


def _scalar(engine: Engine, sql: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def _run(dispatcher: Dispatcher, *, include_not_due: bool = False) -> PassResult:
    return asyncio.run(dispatcher.run_pass(include_not_due=include_not_due))


def test_a_pass_stores_profiles_posts_and_a_run_row(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a", "b"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"a": 1000, "b": 2000}
    result = _run(dispatcher)
    assert (result.status, result.totals.profile_rows, result.totals.post_rows) == ("ok", 2, 4)
    assert _scalar(engine, "SELECT count(*) FROM post") == 4
    assert _scalar(engine, "SELECT status FROM collection_run") == "ok"


def test_a_second_pass_in_the_same_interval_collects_nothing(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"a": 1000}
    _run(dispatcher)
    clock.advance(timedelta(hours=5))
    assert _run(dispatcher).status == "idle"
    assert _scalar(engine, "SELECT count(*) FROM profile_snapshot") == 1


def test_an_account_is_due_again_after_its_interval(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"a": 1000}
    _run(dispatcher)
    clock.advance(timedelta(hours=6, seconds=1))
    assert _run(dispatcher).totals.profile_rows == 1
    assert _scalar(engine, "SELECT count(*) FROM profile_snapshot") == 2


def test_accounts_are_fetched_in_batches_of_the_connector_batch_size(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    handles = [f"h{i:03d}" for i in range(120)]
    _watch(engine, clock, handles)
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = dict.fromkeys(handles, 10)
    _run(dispatcher)
    assert [len(c) for c in connector.profile_calls] == [50, 50, 20]


def test_a_not_found_account_changes_status_and_the_others_are_stored(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["gone", "ok"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"gone": 1, "ok": 2}
    connector.account_errors = {"gone": AccountNotFound("HTTP 404: not found")}
    result = _run(dispatcher)
    assert _scalar(engine, "SELECT status FROM account WHERE handle = 'gone'") == "not_found"
    assert (result.status, result.totals.outcomes) == ("partial", {"not_found": 1, "ok": 1})


def test_a_not_found_account_is_not_collected_again(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["gone"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"gone": 1}
    connector.account_errors = {"gone": AccountNotFound("HTTP 404: not found")}
    _run(dispatcher)
    clock.advance(timedelta(days=2))
    assert _run(dispatcher).status == "idle"


def test_a_transient_batch_failure_stores_nothing_and_retries_before_the_interval(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"a": 1}
    connector.profile_error = TransientError("HTTP 503: service unavailable")
    assert _run(dispatcher).status == "failed"
    assert _scalar(engine, "SELECT count(*) FROM profile_snapshot") == 0
    clock.advance(timedelta(minutes=2))
    connector.profile_error = None
    assert _run(dispatcher).status == "ok"


def test_quota_exhaustion_pauses_the_platform_until_the_reset(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"a": 1}
    reset = clock() + timedelta(hours=3)
    connector.profile_error = QuotaExhausted("quotaExceeded", reset_at=reset)
    _run(dispatcher)
    clock.advance(timedelta(hours=1))
    calls = len(connector.profile_calls)
    assert (_run(dispatcher).status, len(connector.profile_calls)) == ("paused", calls)


def test_quota_exhaustion_resumes_after_the_reset(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"a": 1}
    connector.profile_error = QuotaExhausted("quotaExceeded", reset_at=clock() + timedelta(hours=3))
    _run(dispatcher)
    connector.profile_error = None
    clock.advance(timedelta(hours=3, seconds=1))
    assert _run(dispatcher).status == "ok"


def test_an_auth_error_pauses_one_platform_and_not_another(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    class Other(ScriptedConnector):
        name = "other"

    _watch(engine, clock, ["a"])
    _watch(engine, clock, ["b"], platform="other")
    broken, broken_connector = _dispatcher(engine, db, clock)
    broken_connector.followers = {"a": 1}
    broken_connector.profile_error = AuthError("HTTP 401: the credentials were refused")
    healthy, healthy_connector = _dispatcher(engine, db, clock, Other(clock=clock))
    healthy_connector.followers = {"b": 1}

    async def both() -> list[PassResult]:
        return list(await asyncio.gather(broken.run_pass(), healthy.run_pass()))

    results = asyncio.run(both())
    assert [r.status for r in results] == ["failed", "ok"]
    assert broken.paused_until is not None


def test_a_changed_payload_keeps_the_raw_body(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"a": 1}
    connector.profile_error = PayloadChanged("unexpected shape", raw_body=b'{"weird": true}')
    _run(dispatcher)
    assert _scalar(engine, "SELECT raw_body FROM payload_error") == b'{"weird": true}'


def test_a_posts_failure_keeps_the_profile_and_the_old_cursor(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"a": 1}
    connector.posts_errors = {"a": TransientError("HTTP 502: bad gateway")}
    result = _run(dispatcher)
    assert result.totals.outcomes == {"partial": 1}
    assert _scalar(engine, "SELECT count(*) FROM profile_snapshot") == 1
    assert _scalar(engine, "SELECT posts_cursor FROM account") is None


def test_a_crash_inside_a_batch_stores_nothing_of_that_batch(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a", "b"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"a": 1, "b": 2}
    connector.posts_errors = {"b": RuntimeError("a bug in a connector")}
    with pytest.raises(RuntimeError):
        _run(dispatcher)
    assert _scalar(engine, "SELECT count(*) FROM profile_snapshot") == 0
    assert _scalar(engine, "SELECT status FROM collection_run") == "failed"


def test_history_is_fetched_on_first_sight_only(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    class WithHistory(ScriptedConnector):
        supports_history = True

    _watch(engine, clock, ["a"])
    connector = WithHistory(
        PlatformConfig(interval=timedelta(hours=6), backfill_days=10), clock=clock
    )
    dispatcher, _ = _dispatcher(engine, db, clock, connector)
    connector.followers = {"a": 1}
    _run(dispatcher)
    clock.advance(timedelta(hours=7))
    _run(dispatcher)
    assert (connector.history_calls, _scalar(engine, "SELECT count(*) FROM profile_snapshot")) == (
        ["a"],
        12,
    )


def test_a_stop_request_takes_no_new_batch(engine: Engine, db: DbRunner, clock: FakeClock) -> None:
    handles = [f"h{i:03d}" for i in range(100)]
    _watch(engine, clock, handles)
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = dict.fromkeys(handles, 10)
    dispatcher.stop()
    result = _run(dispatcher)
    assert (result.status, connector.profile_calls) == ("failed", [])


def test_young_posts_are_polled_every_pass_and_older_ones_daily(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"a": 1}
    connector.post_ages = [timedelta(hours=12), timedelta(days=5)]
    _run(dispatcher)
    clock.advance(timedelta(hours=6, seconds=1))
    result = _run(dispatcher)
    assert result.totals.post_rows == 1  # only the young post was due again


def test_posts_past_the_horizon_are_not_polled(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"a": 1}
    connector.post_ages = [timedelta(days=31)]
    assert _run(dispatcher).totals.post_rows == 0


def test_an_older_post_is_polled_again_after_a_day(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a"])
    dispatcher, connector = _dispatcher(engine, db, clock)
    connector.followers = {"a": 1}
    connector.post_ages = [timedelta(days=5)]
    _run(dispatcher)
    clock.advance(timedelta(days=1))
    assert _run(dispatcher).totals.post_rows == 1


class _Batched(ScriptedConnector):
    post_batch_size = 3


def test_posts_listed_without_counts_are_fetched_in_batches_across_accounts(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a", "b"])
    connector = _Batched(clock=clock)
    dispatcher, _ = _dispatcher(engine, db, clock, connector)
    connector.followers = {"a": 1, "b": 2}
    connector.feed_has_counts = False
    result = _run(dispatcher)
    assert [len(c) for c in connector.stats_calls] == [3, 1]
    assert result.totals.post_rows == 4


def test_due_known_posts_missing_from_the_feed_are_refreshed_by_batch(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a"])
    connector = _Batched(clock=clock)
    dispatcher, _ = _dispatcher(engine, db, clock, connector)
    connector.followers = {"a": 1}
    connector.post_ages = [timedelta(hours=3), timedelta(hours=20)]
    _run(dispatcher)
    connector.post_ages = [timedelta(hours=3)]  # the older post fell off the feed's first page
    clock.advance(timedelta(hours=6, seconds=1))
    _run(dispatcher)
    assert connector.stats_calls == [["a-2"]]


def test_a_post_whose_counts_did_not_arrive_stays_due(
    engine: Engine, db: DbRunner, clock: FakeClock
) -> None:
    _watch(engine, clock, ["a"])
    dispatcher, connector = _dispatcher(engine, db, clock)  # no batch endpoint
    connector.followers = {"a": 1}
    connector.feed_has_counts = False
    _run(dispatcher)
    assert _scalar(engine, "SELECT count(*) FROM post WHERE next_poll_at IS NOT NULL") == 2
    assert _scalar(engine, "SELECT count(*) FROM post_snapshot") == 0


@pytest.mark.parametrize(
    ("age", "due_in"),
    [
        (timedelta(hours=1), timedelta(hours=3)),
        (timedelta(days=3), timedelta(hours=21)),
        (timedelta(days=30), None),
    ],
)
def test_the_post_poll_schedule_decays_with_age(age: timedelta, due_in: timedelta | None) -> None:
    from datetime import UTC, datetime

    from collector.pipeline import next_post_poll

    now = datetime(2026, 11, 2, tzinfo=UTC)
    due = next_post_poll(now - age, now, interval=timedelta(hours=6), horizon=timedelta(days=30))
    assert due == (None if due_in is None else now + due_in)

"""Twenty-four simulated hours, hundreds of accounts per platform: no budget is ever exceeded.

Each platform's connector is the real one (its name, batch size and, above all, its real budget
object) with the network replaced by a simulated platform that enforces the published limits
and answers with the platform's own rate-limit headers: YouTube's 10,000 units a day (reset at
midnight Pacific), X's 15-minute windows per endpoint, Bluesky's 3,000 calls per 5 minutes and
Mastodon's 300 per 5 minutes per instance. A call past a limit is counted as a violation and
answered like the platform would (a 429 or ``quotaExceeded``).

The dispatchers run on a fake clock, ticking every five minutes as the daemon does; a budget's
pacing wait advances that clock instead of sleeping. Demand is set above two of the limits on
purpose (YouTube's day, Mastodon's window), so the budgets have to hold, not just idle.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from collector.pipeline import DbRunner, Dispatcher
from collector.storage.db import make_engine
from collector.storage.state import Store
from connectors.base import Connector
from connectors.bluesky import BlueskyConnector
from connectors.errors import QuotaExhausted, RateLimited
from connectors.http import RetryPolicy
from connectors.mastodon import MastodonConnector
from connectors.records import AccountRef, PostPage, ProfileBatch, ProfileRecord
from connectors.x import XConnector
from connectors.youtube import YouTubeConnector
from tests.conftest import FakeClock

HOURS = 24
SPREAD_HOURS = 2
PACIFIC = ZoneInfo("America/Los_Angeles")


@dataclass
class Limit:
    """A published limit: ``calls`` per ``seconds`` (windows aligned like the platform's)."""

    calls: int
    seconds: int


@dataclass
class SimulatedPlatform:
    """The platform side: counts every call against its limits and records when it came."""

    name: str
    clock: FakeClock
    limits: dict[str, Limit]
    remaining_header: str = ""
    reset_header: str = ""
    iso_reset: bool = False
    daily_units: int | None = None
    spent: Counter[tuple[str, int]] = field(default_factory=Counter)
    calls_at: list[datetime] = field(default_factory=list)
    violations: int = 0

    def serve(self, key: str, limit_name: str) -> dict[str, str]:
        now = self.clock()
        self.calls_at.append(now)
        if self.daily_units is not None:
            day = now.astimezone(PACIFIC).date().toordinal()
            self.spent[("day", day)] += 1
            if self.spent[("day", day)] > self.daily_units:
                self.violations += 1
                raise QuotaExhausted("quotaExceeded", reset_at=now + timedelta(days=1))
            return {}
        limit = self.limits[limit_name]
        epoch = int(now.timestamp())
        window = epoch - epoch % limit.seconds
        self.spent[(key, window)] += 1
        used = self.spent[(key, window)]
        reset = window + limit.seconds
        reset_text = (
            datetime.fromtimestamp(reset, UTC).isoformat() if self.iso_reset else str(reset)
        )
        if used > limit.calls:
            self.violations += 1
            raise RateLimited("HTTP 429", retry_at=datetime.fromtimestamp(reset, UTC))
        return {self.remaining_header: str(limit.calls - used), self.reset_header: reset_text}


class Simulated(Connector):
    """The real connector's budget and batch size; calls go to a :class:`SimulatedPlatform`."""

    platform: SimulatedPlatform
    profile_endpoint: ClassVar[str]
    posts_endpoint: ClassVar[str]

    def _key(self, endpoint: str, handle: str) -> str:
        return endpoint

    async def _call(self, endpoint: str, handle: str) -> None:
        key = self._key(endpoint, handle)
        await self.budget.acquire(key, 1)
        self.stats.count(endpoint)
        self.budget.observe(key, self.platform.serve(key, endpoint))

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        await self._call(self.profile_endpoint, accounts[0].handle)
        now = self.clock()
        return ProfileBatch(
            {a.handle: ProfileRecord(a.handle, f"id-{a.handle}", now, 1000) for a in accounts}, {}
        )

    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        await self._call(self.posts_endpoint, account.handle)
        return PostPage((), None)


class SimYouTube(Simulated, YouTubeConnector):
    profile_endpoint = "channels.list"
    posts_endpoint = "playlistItems.list"
    post_batch_size = 0


class SimX(Simulated, XConnector):
    profile_endpoint = "users_by"
    posts_endpoint = "user_tweets"
    post_batch_size = 0


class SimBluesky(Simulated, BlueskyConnector):
    profile_endpoint = "getProfiles"
    posts_endpoint = "getAuthorFeed"


class SimMastodon(Simulated, MastodonConnector):
    profile_endpoint = "accounts/lookup"
    posts_endpoint = "accounts/statuses"

    def _key(self, endpoint: str, handle: str) -> str:
        # The real connector keys its budget by instance: the limit is per instance.
        return handle.rsplit("@", 1)[-1]


@dataclass
class Setup:
    cls: type[Simulated]
    accounts: int
    interval: str
    platform: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)


SETUPS = {
    # 500 channels hourly want ~12,200 units a day: more than the quota, so the budget must stop.
    "youtube": Setup(
        SimYouTube, 700, "1h", {"limits": {}, "daily_units": 10_000}, {"api_key": "k" * 20}
    ),
    "x": Setup(
        SimX,
        300,
        "1h",
        {
            "limits": {
                "users_by": Limit(300, 900),
                "user_tweets": Limit(10_000, 900),
            },
            "remaining_header": "x-rate-limit-remaining",
            "reset_header": "x-rate-limit-reset",
        },
        {"bearer_token": "t" * 20},
    ),
    "bluesky": Setup(
        SimBluesky,
        300,
        "1h",
        {
            "limits": {"getProfiles": Limit(3000, 300), "getAuthorFeed": Limit(3000, 300)},
            "remaining_header": "ratelimit-remaining",
            "reset_header": "ratelimit-reset",
        },
    ),
    # 150 accounts on one instance: 300 calls a pass against 300 per 5 minutes, 5 kept spare.
    "mastodon": Setup(
        SimMastodon,
        150,
        "12h",
        {
            "limits": {"accounts/lookup": Limit(300, 300), "accounts/statuses": Limit(300, 300)},
            "remaining_header": "x-ratelimit-remaining",
            "reset_header": "x-ratelimit-reset",
            "iso_reset": True,
        },
    ),
}


def _handle(platform: str, i: int, prefix: str) -> str:
    handle = f"{prefix}{i:04d}"
    return f"{handle}@mastodon.example" if platform == "mastodon" else handle


@dataclass
class Outcome:
    start: datetime
    platforms: dict[str, SimulatedPlatform]
    units_per_pacific_day: dict[int, int]


def _simulate(
    engine: Engine,
    start: datetime,
    platforms: Sequence[str],
    hours: int,
    tick: timedelta,
    *,
    prefix: str = "acct",
    downtime: tuple[timedelta, timedelta] | None = None,
    interval: str | None = None,
) -> Outcome:
    clock = FakeClock(start)

    async def advance(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    store, db = Store(engine), DbRunner()
    dispatchers: list[Dispatcher] = []
    simulated: dict[str, SimulatedPlatform] = {}
    for name in platforms:
        setup = SETUPS[name]
        config = setup.cls.config_model.model_validate(
            {"interval": interval or setup.interval, **setup.config}
        )
        connector = setup.cls(config, clock=clock, retry=RetryPolicy(clock=clock, sleep=advance))
        connector.platform = simulated[name] = SimulatedPlatform(name, clock, **setup.platform)
        store.sync_watchlist(
            [(name, _handle(name, i, prefix), f"{name} {i}", []) for i in range(setup.accounts)],
            platforms=[name],
            now=start,
        )
        dispatchers.append(Dispatcher(connector, store, db, clock=clock))

    pending_downtime = downtime

    async def run() -> None:
        nonlocal pending_downtime
        end = start + timedelta(hours=hours)
        while clock() < end:
            tick_started = clock()
            for dispatcher in dispatchers:
                await dispatcher.run_pass()
            # The next tick on the daemon's grid; a pacing wait may have moved the clock past it.
            clock.now = tick_started + tick * max(1, math.ceil((clock() - tick_started) / tick))
            if pending_downtime is not None and clock() >= start + pending_downtime[0]:
                clock.advance(pending_downtime[1])  # the daemon was down: everything is overdue
                pending_downtime = None

    asyncio.run(run())
    db.close()
    days = simulated["youtube"].spent if "youtube" in simulated else Counter()
    return Outcome(start, simulated, {day: n for (kind, day), n in days.items() if kind == "day"})


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_engine(request: pytest.FixtureRequest, sqlite_template: Path) -> Iterator[Engine]:
    """A migrated database for this module's simulations, on each backend."""
    if request.param == "sqlite":
        directory = Path(tempfile.mkdtemp(prefix="quota-"))
        shutil.copyfile(sqlite_template, directory / "quota.db")
        engine = make_engine(f"sqlite:///{directory / 'quota.db'}")
        yield engine
        engine.dispose()
        shutil.rmtree(directory, ignore_errors=True)
        return
    databases = request.getfixturevalue("postgres_databases")
    name = databases.create()
    engine = make_engine(databases.url_for(name))
    yield engine
    engine.dispose()
    databases.drop(name)


@pytest.fixture(scope="module")
def day(module_engine: Engine) -> Outcome:
    """24 hours of all four platforms, ticking every 30 minutes.

    A tick thirty times coarser than the daemon's minute bunches calls harder, which is the
    harder case for the rate-limit windows. It starts an hour before midnight Pacific, so
    YouTube's quota resets inside the run.
    """
    local_midnight = datetime.combine(datetime(2026, 11, 3).date(), time(0), PACIFIC)
    start = (local_midnight - timedelta(hours=1)).astimezone(UTC)
    return _simulate(module_engine, start, list(SETUPS), HOURS, timedelta(minutes=30))


@pytest.fixture(scope="module", params=["first sight", "after downtime"])
def spread(request: pytest.FixtureRequest, module_engine: Engine) -> Outcome:
    """Bluesky (300 accounts every 20 minutes) at the daemon's own one-minute tick: from first
    sight, or back from an hour of downtime after the first 40 minutes. The last hour is
    measured either way."""
    start = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)
    hours, downtime = SPREAD_HOURS, None
    if request.param == "after downtime":
        hours, downtime = SPREAD_HOURS + 1, (timedelta(minutes=40), timedelta(hours=1))
    return _simulate(
        module_engine,
        start,
        ["bluesky"],
        hours,
        timedelta(minutes=1),
        prefix="new" if downtime is None else "back",
        downtime=downtime,
        interval="20m",
    )


def _buckets(calls: list[datetime], start: datetime, skip: timedelta, hours: int) -> list[int]:
    counts = Counter(int((t - start) / timedelta(minutes=5)) for t in calls if t - start >= skip)
    first, last = int(skip / timedelta(minutes=5)), hours * 12
    return [counts.get(b, 0) for b in range(first, last)]


def test_no_platform_ever_exceeds_its_limits(day: Outcome) -> None:
    assert {name: p.violations for name, p in day.platforms.items()} == dict.fromkeys(SETUPS, 0)


def test_youtube_stays_inside_its_daily_quota_and_uses_it(day: Outcome) -> None:
    # At most 10,000 units a Pacific day (the budget keeps 500 in reserve), and the demand above
    # the quota means the budget, not the demand, is what stopped it.
    assert max(day.units_per_pacific_day.values()) <= 9_500
    assert max(day.units_per_pacific_day.values()) >= 9_000


def test_mastodon_is_paced_to_its_window_instead_of_answered_429(day: Outcome) -> None:
    # 400 calls a pass against 300 per 5 minutes: the busiest window is full, never over.
    mastodon = day.platforms["mastodon"]
    busiest = max(n for (_key, _window), n in mastodon.spent.items())
    assert busiest <= 300


def test_every_platform_kept_collecting_and_youtube_resumed_after_its_reset(
    day: Outcome,
) -> None:
    end = day.start + timedelta(hours=HOURS)
    windowed = {
        name: max(p.calls_at) >= end - timedelta(hours=1)
        for name, p in day.platforms.items()
        if name != "youtube"
    }
    assert windowed == dict.fromkeys(["x", "bluesky", "mastodon"], True)
    # The run spans two Pacific days: YouTube spent (nearly) its quota in each.
    assert len(day.units_per_pacific_day) == 2


def test_accounts_due_together_do_not_stay_one_burst(spread: Outcome) -> None:
    calls = spread.platforms["bluesky"].calls_at
    # Past the burst of the first pass after first sight or downtime, the busiest 5-minute
    # bucket carries at most twice the average.
    end = max(calls)
    buckets = _buckets(calls, end - timedelta(hours=1), timedelta(0), 1)
    mean = sum(buckets) / len(buckets)
    assert max(buckets) <= 2 * mean, (max(buckets), round(mean, 1))

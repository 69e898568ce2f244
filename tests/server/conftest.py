"""A small watched world in a real database, and the dashboard over it.

``world`` fills a freshly migrated database (SQLite, then PostgreSQL) with three creators: one
whose followers jumped by a bought 5,000 (an open high flag), one whose name and handle are
markup and right-to-left text (what a hostile or Arabic-speaking creator may write), and an
imported account no creator owns; plus a campaign and a few collection runs.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, insert
from sqlalchemy.engine import Engine

from collector.server.app import create_app
from collector.storage import repo
from collector.storage.db import make_engine
from collector.storage.models import (
    Account,
    Campaign,
    CampaignCreator,
    CollectionRun,
    Creator,
    Flag,
    Post,
    PostSnapshot,
)
from tests.conftest import FakeClock

with warnings.catch_warnings():
    # Starlette now prefers another HTTP client for its test client; httpx works the same.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient as TestClient

HOSTILE = "<script>alert(1)</script>"
ARABIC_NAME = "سلمى <b>بيوتي</b>"
HOSTILE_CAPTION = "عرض خاص <img src=x onerror=alert(2)> #ad"
FORMULA_CAPTION = '=HYPERLINK("http://evil.example","click")'
TOKEN = "s3cret-token-for-tests-0123456789"


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


@dataclass(frozen=True)
class World:
    """The ids and times the tests refer to."""

    now: datetime
    bought: int  # account id of the creator who bought followers
    bought_creator: int
    hostile: int  # account id whose handle is markup
    hostile_creator: int
    orphan: int  # imported account, no creator
    high_flag: int
    low_flag: int
    dismissed_flag: int
    campaign: int
    first_snapshot: datetime
    snapshots: int


def populate(engine: Engine, now: datetime) -> World:
    """Write the world into a migrated database."""
    start = now - timedelta(days=19)
    with engine.begin() as conn:
        creators = _table(Creator)
        bought_creator = _new_id(
            conn.execute(
                insert(creators).values(name="Salma Beauty", tags=["cosmetics"], created_at=start)
            )
        )
        hostile_creator = _new_id(
            conn.execute(
                insert(creators).values(name=ARABIC_NAME, tags=[HOSTILE], created_at=start)
            )
        )
        accounts = _table(Account)

        def account(creator: int | None, platform: str, handle: str) -> int:
            return _new_id(
                conn.execute(
                    insert(accounts).values(
                        creator_id=creator,
                        platform=platform,
                        handle=handle,
                        display_name=None,
                        status="active",
                        added_at=start,
                        last_success_at=now - timedelta(minutes=10),
                        next_due_at=now,
                        consecutive_failures=0,
                    )
                )
            )

        bought = account(bought_creator, "demo", "salma.beauty")
        hostile = account(hostile_creator, "demo", HOSTILE)
        orphan = account(None, "csv", "imported.handle")
        snapshots = []
        for day in range(20):
            when = start + timedelta(days=day)
            # A bought 5,000 arrives between day 14 and day 15.
            snapshots.append(
                {
                    "account_id": bought,
                    "collected_at": when,
                    "followers": 20_000 + 50 * day + (5_000 if day >= 15 else 0),
                    "following": 300,
                    "posts_count": 100 + day // 3,
                    "followers_rounded": False,
                    "followers_hidden": False,
                }
            )
            snapshots.append(
                {
                    "account_id": hostile,
                    "collected_at": when,
                    "followers": 4_000 + 10 * day,
                    "following": None,
                    "posts_count": None,
                    "followers_rounded": False,
                    "followers_hidden": False,
                }
            )
        snapshots.append(
            {
                "account_id": orphan,
                "collected_at": start,
                "followers": 1_234_567,
                "following": 10,
                "posts_count": 5,
                "followers_rounded": False,
                "followers_hidden": False,
            }
        )
        # Through Collector's writer, which also keeps profile_latest (account_latest) current.
        repo.upsert_profile_snapshots(conn, snapshots)
        posts = _table(Post)
        post_snapshots = []
        for k, day in enumerate(range(1, 19, 3)):
            published = start + timedelta(days=day, hours=12)
            for owner, caption in (
                (bought, f"post {k} #ad"),
                (hostile, HOSTILE_CAPTION if k else FORMULA_CAPTION),
            ):
                post_id = _new_id(
                    conn.execute(
                        insert(posts).values(
                            account_id=owner,
                            platform_post_id=f"p{owner}-{k}",
                            published_at=published,
                            kind="reel",
                            url=f"https://demo.invalid/{k}",
                            caption=caption,
                            first_seen_at=published,
                        )
                    )
                )
                post_snapshots.append(
                    {
                        "post_id": post_id,
                        "collected_at": published + timedelta(days=1),
                        "views": 8_000 + 100 * k,
                        "likes": 400 + 10 * k,
                        "comments": 20,
                        "shares": 5,
                        "quotes": None,
                        "saves": 5,
                    }
                )
        conn.execute(insert(_table(PostSnapshot)), post_snapshots)
        flags = _table(Flag)

        def flag(account_id: int, kind: str, severity: str, status: str, day: int) -> int:
            return _new_id(
                conn.execute(
                    insert(flags).values(
                        account_id=account_id,
                        post_id=None,
                        kind=kind,
                        severity=severity,
                        window_start=start + timedelta(days=day - 1),
                        window_end=start + timedelta(days=day),
                        score=7.5,
                        evidence={"followers_gained": 5050, "baseline_per_day": 50.0},
                        status=status,
                        dedupe_key=f"{account_id}:{kind}:{day}",
                        created_at=now,
                        updated_at=now,
                    )
                )
            )

        high_flag = flag(bought, "follower_jump", "high", "open", 15)
        dismissed_flag = flag(bought, "round_number_jump", "medium", "dismissed", 15)
        low_flag = flag(hostile, "organic_growth", "low", "open", 10)
        campaign = int(
            _new_id(
                conn.execute(
                    insert(_table(Campaign)).values(
                        name="Ramadan 2026",
                        brand="@souk.moderne",
                        starts_on=(start + timedelta(days=1)).date(),
                        ends_on=now.date(),
                        markers={"hashtags": ["#ad"], "promo_codes": ["SOUK26"]},
                    )
                )
            )
        )
        conn.execute(
            insert(_table(CampaignCreator)).values(
                campaign_id=campaign,
                creator_id=bought_creator,
                cost=Decimal("1500.00"),
                currency="MAD",
            )
        )
        runs = _table(CollectionRun)
        for status, succeeded, failed in (("ok", 2, 0), ("ok", 2, 0), ("failed", 0, 2)):
            conn.execute(
                insert(runs).values(
                    platform="demo",
                    started_at=now - timedelta(minutes=30),
                    finished_at=now - timedelta(minutes=29),
                    status=status,
                    accounts=2,
                    succeeded=succeeded,
                    failed=failed,
                    calls=3,
                    quota_units=3,
                    profile_rows=succeeded,
                    post_rows=4 * succeeded,
                    outcomes={},
                    duration_seconds=1.5,
                    owner="test",
                )
            )
    return World(
        now=now,
        bought=bought,
        bought_creator=int(bought_creator),
        hostile=hostile,
        hostile_creator=int(hostile_creator),
        orphan=orphan,
        high_flag=high_flag,
        low_flag=low_flag,
        dismissed_flag=dismissed_flag,
        campaign=campaign,
        first_snapshot=start,
        snapshots=20,
    )


@pytest.fixture
def world(engine: Engine, clock: FakeClock) -> World:
    return populate(engine, clock.now)


@pytest.fixture
def client(engine: Engine, world: World, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(create_app(engine, token=None, clock=clock)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def sqlite_world(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[Engine, World]]:
    """One populated SQLite database shared by a module's read-only tests (browser, OpenAPI)."""
    path = tmp_path_factory.mktemp("world") / "world.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    world = populate(engine, FakeClock(datetime(2026, 11, 2, 12, 0, tzinfo=UTC)).now)
    yield engine, world
    engine.dispose()


@pytest.fixture
def guarded(sqlite_world: tuple[Engine, World]) -> Iterator[TestClient]:
    """The app with a bearer token configured, over the shared SQLite world (read only)."""
    engine, world = sqlite_world
    with TestClient(create_app(engine, token=TOKEN, clock=FakeClock(world.now))) as test_client:
        yield test_client


@pytest.fixture
def reader(sqlite_world: tuple[Engine, World]) -> Iterator[TestClient]:
    """The open app over the shared SQLite world, for tests that only read and render."""
    engine, world = sqlite_world
    with TestClient(create_app(engine, token=None, clock=FakeClock(world.now))) as test_client:
        yield test_client

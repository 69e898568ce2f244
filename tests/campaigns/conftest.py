"""A small campaign on a real database (SQLite and PostgreSQL), with numbers chosen by hand.

"Ramadan 2026" runs 2026-11-01..2026-11-30 and pays Salma 5000 MAD and Karim 3000 MAD. Nadia is
not paid but uses the hashtag. Every figure the tests assert can be worked out from here:

============  ==========  ======  =====  ========  ======  =====  =================
post          published   views   likes  comments  shares  saves  followers at pub.
============  ==========  ======  =====  ========  ======  =====  =================
S1 salma      11-05 12:00  4000    300      50       30     20     20000
S2 salma      11-15 12:00  6000    500      60       25     15     20500
S3 salma      10-20 12:00   900    100      10        5      5     (before the campaign)
S4 salma      11-06 12:00  2000    150      10        5      5     (no marker)
K1 karim      11-08 12:00  None    200      20     None   None     10000
N1 nadia      11-09 12:00  1000     50       5        0      0      5000
============  ==========  ======  =====  ========  ======  =====  =================

Followers: salma 20000 (10-31) → 20500 (11-10) → 21000 (11-20); karim 10000 → 10100; nadia
5000 → 5050.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from collector.campaigns.attribution import attribute
from collector.campaigns.sync import sync_campaigns
from collector.settings import Watchlist
from collector.storage import repo
from collector.storage.db import make_engine
from collector.storage.state import Store
from connectors.records import PostRecord, ProfileRecord

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CAMPAIGN = "Ramadan 2026"

WATCHLIST: dict[str, Any] = {
    "creators": [
        {"name": "Salma", "accounts": {"demo": "salma"}},
        {"name": "Karim", "accounts": {"demo": "karim"}},
        {"name": "Nadia", "accounts": {"demo": "nadia"}},
    ],
    "campaigns": [
        {
            "name": CAMPAIGN,
            "brand": "@marque",
            "start": "2026-11-01",
            "end": "2026-11-30",
            "hashtags": ["#ramadan2026"],
            "mentions": ["@marque"],
            "promo_codes": ["SALMA10", "KARIM10"],
            "links": ["https://shop.example/?utm_campaign=ramadan26"],
            "creators": [
                {"name": "Salma", "cost": 5000, "currency": "MAD"},
                {"name": "Karim", "cost": 3000, "currency": "MAD"},
            ],
        }
    ],
}

FOLLOWERS = {
    "salma": [
        (datetime(2026, 10, 31), 20000),
        (datetime(2026, 11, 10), 20500),
        (datetime(2026, 11, 20), 21000),
    ],
    "karim": [(datetime(2026, 10, 31), 10000), (datetime(2026, 11, 20), 10100)],
    "nadia": [(datetime(2026, 10, 31), 5000), (datetime(2026, 11, 20), 5050)],
}


@dataclass(frozen=True)
class P:
    """A post of the fixture."""

    handle: str
    post_id: str
    published: datetime
    caption: str
    views: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None


POSTS = [
    P(
        "salma",
        "S1",
        datetime(2026, 11, 5, 12),
        "Ma routine #Ramadan2026 code SALMA10 #sponsorisé",
        4000,
        300,
        50,
        30,
        20,
    ),
    P("salma", "S2", datetime(2026, 11, 15, 12), "Iftar avec @marque 🌙", 6000, 500, 60, 25, 15),
    P("salma", "S3", datetime(2026, 10, 20, 12), "#ramadan2026 teaser", 900, 100, 10, 5, 5),
    P("salma", "S4", datetime(2026, 11, 6, 12), "just a normal day", 2000, 150, 10, 5, 5),
    P(
        "karim",
        "K1",
        datetime(2026, 11, 8, 12),
        "إعلان رمضان مع @Marque كود KARIM10",
        None,
        200,
        20,
        None,
        None,
    ),
    P("nadia", "N1", datetime(2026, 11, 9, 12), "Love this #ramadan2026", 1000, 50, 5, 0, 0),
]


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def build(
    engine: Engine,
    *,
    watchlist: Mapping[str, Any] = WATCHLIST,
    posts: list[P] | None = None,
) -> dict[str, int]:
    """Write the fixture; returns Collector's post ids by the fixture's post names."""
    checked = Watchlist.model_validate(watchlist)
    entries = [
        (p, h, c.name, c.tags) for c in checked.creators for p, hs in c.accounts.items() for h in hs
    ]
    Store(engine).sync_watchlist(entries, platforms=["demo"], now=utc(datetime(2026, 10, 1)))
    ids: dict[str, int] = {}
    with engine.begin() as conn:
        accounts = repo.ensure_accounts(conn, "demo", FOLLOWERS, now=NOW, status="active")
        for handle, points in FOLLOWERS.items():
            rows = [
                repo.profile_row(
                    accounts[handle], ProfileRecord(handle, handle, utc(at), followers)
                )
                for at, followers in points
            ]
            repo.upsert_profile_snapshots(conn, rows)
        for post in POSTS if posts is None else posts:
            record = PostRecord(
                post.post_id,
                utc(post.published),
                NOW,
                caption=post.caption,
                url=f"https://demo.invalid/{post.handle}/{post.post_id}",
                views=post.views,
                likes=post.likes,
                comments=post.comments,
                shares=post.shares,
                saves=post.saves,
            )
            stored = repo.upsert_posts(conn, accounts[post.handle], [record], now=NOW)
            repo.upsert_post_snapshots(conn, [repo.post_snapshot_row(stored[post.post_id], record)])
            ids[post.post_id] = stored[post.post_id]
    sync_campaigns(engine, checked, NOW)
    return ids


@pytest.fixture
def fixture_db(engine: Engine) -> dict[str, int]:
    """The fixture written to a fresh database; post ids by name."""
    return build(engine)


def _fresh_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, template: Path
) -> tuple[Engine, Any]:
    """A migrated database of the requested backend, and what drops it (or None)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("campaigns") / "campaigns.db"
        shutil.copyfile(template, path)
        return make_engine(f"sqlite:///{path}"), None
    databases = request.getfixturevalue("postgres_databases")
    name = databases.create()
    return make_engine(databases.url_for(name)), lambda: databases.drop(name)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def campaigns_database(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> Iterator[Engine]:
    """One migrated database per backend for these tests, emptied before each test using it."""
    engine, drop = _fresh_database(request, tmp_path_factory, sqlite_template)
    yield engine
    engine.dispose()
    if drop is not None:
        drop()


@pytest.fixture
def engine(campaigns_database: Engine) -> Engine:
    """An empty migrated database (SQLite, then PostgreSQL).

    Shadows the project's ``engine`` for these tests: emptying one database takes milliseconds,
    creating a PostgreSQL database per test about half a second.
    """
    tables = [table.name for table in reversed(SQLModel.metadata.sorted_tables)]
    with campaigns_database.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))
    return campaigns_database


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_engine(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> Iterator[Engine]:
    """The fixture, attributed, on one database per module and backend, for tests that only read."""
    engine, drop = _fresh_database(request, tmp_path_factory, sqlite_template)
    build(engine)
    attribute(engine, now=NOW)
    yield engine
    engine.dispose()
    if drop is not None:
        drop()

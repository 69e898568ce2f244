"""Idempotent writes shared by the pipeline and the CSV import.

Every write is an upsert keyed as the public schema says, so replaying a batch (after a crash,
or a re-imported file) changes nothing. Functions take a ``Connection`` inside a transaction the
caller owns: the caller decides what commits together (a batch's snapshots with its state).
They use SQLAlchemy Core, not ORM sessions: bulk upserts are several times faster.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from collector.storage.models import Account, Post, PostSnapshot, ProfileSnapshot
from collector.storage.types import to_utc
from connectors.records import PostRecord, ProfileRecord

__all__ = [
    "ensure_accounts",
    "post_snapshot_row",
    "profile_row",
    "upsert_post_snapshots",
    "upsert_posts",
    "upsert_profile_snapshots",
]

ACCOUNT: Table = Account.__table__  # type: ignore[attr-defined]
PROFILE_SNAPSHOT: Table = ProfileSnapshot.__table__  # type: ignore[attr-defined]
POST: Table = Post.__table__  # type: ignore[attr-defined]
POST_SNAPSHOT: Table = PostSnapshot.__table__  # type: ignore[attr-defined]

# Stay far below SQLite's bound-parameter limit whatever the row width.
_CHUNK = 500


def _insert(conn: Connection, table: Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def ensure_accounts(
    conn: Connection,
    platform: str,
    handles: Iterable[str],
    *,
    now: datetime,
    status: str = "unwatched",
) -> dict[str, int]:
    """Ids of these handles on ``platform``, creating the missing accounts with ``status``."""
    wanted = sorted(set(handles))
    if not wanted:
        return {}
    rows = [
        {
            "platform": platform,
            "handle": h,
            "status": status,
            "added_at": now,
            "consecutive_failures": 0,
        }
        for h in wanted
    ]
    for chunk in _chunks(rows):
        stmt = _insert(conn, ACCOUNT).on_conflict_do_nothing(index_elements=["platform", "handle"])
        conn.execute(stmt, list(chunk))
    ids: dict[str, int] = {}
    for chunk in _chunks(wanted):
        result = conn.execute(
            select(ACCOUNT.c.handle, ACCOUNT.c.id).where(
                ACCOUNT.c.platform == platform, ACCOUNT.c.handle.in_(chunk)
            )
        )
        ids.update({handle: account_id for handle, account_id in result})
    return ids


def profile_row(account_id: int, record: ProfileRecord) -> dict[str, Any]:
    """The ``profile_snapshot`` row of one record."""
    return {
        "account_id": account_id,
        "collected_at": to_utc(record.collected_at),
        "followers": None if record.followers_hidden else record.followers,
        "following": record.following,
        "posts_count": record.posts_count,
        "followers_rounded": record.followers_rounded,
        "followers_hidden": record.followers_hidden,
    }


def upsert_profile_snapshots(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert or replace profile snapshots keyed by (account_id, collected_at)."""
    if not rows:
        return 0
    for chunk in _chunks(rows):
        stmt = _insert(conn, PROFILE_SNAPSHOT)
        stmt = stmt.on_conflict_do_update(
            index_elements=["account_id", "collected_at"],
            set_={
                name: stmt.excluded[name]
                for name in (
                    "followers",
                    "following",
                    "posts_count",
                    "followers_rounded",
                    "followers_hidden",
                )
            },
        )
        conn.execute(stmt, [dict(r) for r in chunk])
    return len(rows)


def upsert_posts(
    conn: Connection,
    account_id: int,
    posts: Sequence[PostRecord],
    *,
    now: datetime,
    next_poll_at: Mapping[str, datetime | None] | None = None,
) -> dict[str, int]:
    """Insert or refresh the posts of one account; returns their ids by platform post id.

    ``next_poll_at`` gives, by platform post id, when each post's counts are next due; posts
    it does not name keep their schedule.
    """
    if not posts:
        return {}
    latest: dict[str, PostRecord] = {}
    for post in posts:
        known = latest.get(post.platform_post_id)
        if known is None or post.collected_at >= known.collected_at:
            latest[post.platform_post_id] = post
    rows = [
        {
            "account_id": account_id,
            "platform_post_id": p.platform_post_id,
            "published_at": to_utc(p.published_at),
            "kind": p.kind,
            "url": p.url,
            "caption": p.caption,
            "first_seen_at": now,
            "last_polled_at": to_utc(p.collected_at),
            "next_poll_at": (next_poll_at or {}).get(p.platform_post_id),
        }
        for p in latest.values()
    ]
    for chunk in _chunks(rows):
        stmt = _insert(conn, POST)
        excluded = stmt.excluded
        stmt = stmt.on_conflict_do_update(
            index_elements=["account_id", "platform_post_id"],
            set_={
                # A field the platform stops sending keeps what we knew.
                "kind": func.coalesce(excluded.kind, POST.c.kind),
                "url": func.coalesce(excluded.url, POST.c.url),
                "caption": func.coalesce(excluded.caption, POST.c.caption),
                "published_at": excluded.published_at,
                "last_polled_at": excluded.last_polled_at,
                "next_poll_at": func.coalesce(excluded.next_poll_at, POST.c.next_poll_at),
            },
        )
        conn.execute(stmt, list(chunk))
    ids: dict[str, int] = {}
    keys = list(latest)
    for chunk in _chunks(keys):
        result = conn.execute(
            select(POST.c.platform_post_id, POST.c.id).where(
                POST.c.account_id == account_id, POST.c.platform_post_id.in_(chunk)
            )
        )
        ids.update({pid: post_id for pid, post_id in result})
    return ids


def post_snapshot_row(post_id: int, record: PostRecord) -> dict[str, Any]:
    """The ``post_snapshot`` row of one record."""
    return {
        "post_id": post_id,
        "collected_at": to_utc(record.collected_at),
        "views": record.views,
        "likes": record.likes,
        "comments": record.comments,
        "shares": record.shares,
        "quotes": record.quotes,
        "saves": record.saves,
    }


def upsert_post_snapshots(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert or replace post snapshots keyed by (post_id, collected_at)."""
    if not rows:
        return 0
    for chunk in _chunks(rows):
        stmt = _insert(conn, POST_SNAPSHOT)
        stmt = stmt.on_conflict_do_update(
            index_elements=["post_id", "collected_at"],
            set_={
                name: stmt.excluded[name]
                for name in ("views", "likes", "comments", "shares", "quotes", "saves")
            },
        )
        conn.execute(stmt, [dict(r) for r in chunk])
    return len(rows)


def existing_handles(conn: Connection, platform: str, handles: Iterable[str]) -> set[str]:
    """Which of these handles already have an account on ``platform``."""
    wanted = sorted(set(handles))
    found: set[str] = set()
    for chunk in _chunks(wanted):
        result = conn.execute(
            select(ACCOUNT.c.handle).where(
                ACCOUNT.c.platform == platform, ACCOUNT.c.handle.in_(chunk)
            )
        )
        found.update(result.scalars())
    return found


def upsert_posts_of_accounts(
    conn: Connection, rows: Sequence[Mapping[str, Any]]
) -> dict[tuple[int, str], int]:
    """Insert or refresh ``post`` rows of many accounts at once; ids by (account_id, post id).

    The bulk form of :func:`upsert_posts` for imports: a few statements per thousand posts
    instead of two round trips per account. Rows must be unique by (account_id,
    platform_post_id) and carry every column of :func:`upsert_posts`'s rows.
    """
    # Imported here so that the module's header stays as the pipeline's authors wrote it.
    from sqlalchemy import DateTime, Integer, String, bindparam, column
    from sqlalchemy.dialects.postgresql import ARRAY
    from sqlalchemy.types import TypeEngine

    columns: dict[str, TypeEngine[Any]] = {
        "account_id": Integer(),
        "platform_post_id": String(),
        "published_at": DateTime(timezone=True),
        "kind": String(),
        "url": String(),
        "caption": String(),
        "first_seen_at": DateTime(timezone=True),
        "last_polled_at": DateTime(timezone=True),
    }
    timestamps = ("published_at", "first_seen_at", "last_polled_at")
    postgres = conn.dialect.name == "postgresql"
    insert: Any
    if postgres:
        # One array per column through unnest(): a single short statement per chunk, where a
        # multi-row VALUES list costs psycopg seconds of parsing thousands of placeholders.
        source = (
            func.unnest(*(bindparam(name, type_=ARRAY(type_)) for name, type_ in columns.items()))
            .table_valued(*(column(name, type_) for name, type_ in columns.items()))
            .render_derived("k")
        )
        insert = postgresql.insert(POST).from_select(list(columns), select(source))
    else:
        insert = sqlite.insert(POST)
    excluded = insert.excluded
    # An upsert returns its row whether it inserted or updated it: no second query for ids.
    stmt = insert.on_conflict_do_update(
        index_elements=["account_id", "platform_post_id"],
        set_={
            # A field the platform stops sending keeps what we knew.
            "kind": func.coalesce(excluded.kind, POST.c.kind),
            "url": func.coalesce(excluded.url, POST.c.url),
            "caption": func.coalesce(excluded.caption, POST.c.caption),
            "published_at": excluded.published_at,
            "last_polled_at": excluded.last_polled_at,
        },
    ).returning(POST.c.account_id, POST.c.platform_post_id, POST.c.id)
    ids: dict[tuple[int, str], int] = {}
    for chunk in _chunks(rows, 5000 if postgres else _CHUNK):
        if postgres:
            params: Any = {
                name: [
                    to_utc(r[name]) if name in timestamps and r[name] is not None else r[name]
                    for r in chunk
                ]
                for name in columns
            }
        else:
            params = [dict(r) for r in chunk]
        result = conn.execute(stmt, params)
        ids.update({(account_id, pid): post_id for account_id, pid, post_id in result})
    return ids

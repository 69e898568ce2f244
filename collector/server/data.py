"""What the dashboard and the read API show, read from the public schema and its views.

Every function opens its own short read transaction: the daemon may be writing at the same time
(SQLite in WAL mode lets readers and one writer work together). Unknown stays ``None``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, column, func, select, table, text, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.sql.elements import ColumnElement

from collector.server import campaigns as campaign_source
from collector.server.campaigns import tier_of
from collector.server.schemas import (
    AccountSummary,
    CampaignSummary,
    CreatorSummary,
    FlagOut,
    FlagStatus,
    PostOut,
    SeriesOut,
    SeriesPoint,
    Tier,
)
from collector.storage.models import Account, Creator, Flag, Post, ProfileSnapshot
from collector.storage.types import UTCDateTime, to_utc

__all__ = [
    "ATTENTION_SEVERITIES",
    "ENGAGEMENT_WINDOW",
    "FlagView",
    "account",
    "accounts",
    "campaigns",
    "creator",
    "creators",
    "flag_objects",
    "flags",
    "posts",
    "series",
    "set_flag_status",
]

ACCOUNT: Table = Account.__table__  # type: ignore[attr-defined]
CREATOR: Table = Creator.__table__  # type: ignore[attr-defined]
FLAG: Table = Flag.__table__  # type: ignore[attr-defined]
POST: Table = Post.__table__  # type: ignore[attr-defined]
PROFILE_SNAPSHOT: Table = ProfileSnapshot.__table__  # type: ignore[attr-defined]

#: Flags a person should look at; ``low`` is informational (organic viral growth, for example).
ATTENTION_SEVERITIES = ("medium", "high")
#: An account's engagement rate is the median over the posts published in this window (the
#: campaigns feature's definition, used for its tier bands too).
ENGAGEMENT_WINDOW = timedelta(days=90)

# The views' columns, typed so timestamps come back as UTC datetimes on every backend.
ACCOUNT_LATEST = table(
    "account_latest",
    column("account_id"),
    column("platform"),
    column("handle"),
    column("display_name"),
    column("status"),
    column("creator_id"),
    column("last_success_at", UTCDateTime()),
    column("collected_at", UTCDateTime()),
    column("followers"),
    column("following"),
    column("posts_count"),
    column("followers_rounded"),
    column("followers_hidden"),
)
POST_LATEST = table(
    "post_latest",
    column("post_id"),
    column("account_id"),
    column("platform"),
    column("handle"),
    column("platform_post_id"),
    column("published_at", UTCDateTime()),
    column("kind"),
    column("url"),
    column("caption"),
    column("collected_at", UTCDateTime()),
    column("views"),
    column("likes"),
    column("comments"),
    column("shares"),
    column("quotes"),
    column("saves"),
    column("interactions"),
    column("followers_at_publication"),
    column("engagement_rate_by_followers"),
    column("engagement_rate_by_views"),
)


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


# -- accounts and creators ---------------------------------------------------------------------


def _open_flag_counts(conn: Connection, account_ids: Sequence[int] | None) -> dict[int, int]:
    query = (
        select(FLAG.c.account_id, func.count())
        .where(FLAG.c.status == "open", FLAG.c.severity.in_(ATTENTION_SEVERITIES))
        .group_by(FLAG.c.account_id)
    )
    if account_ids is not None:
        query = query.where(FLAG.c.account_id.in_(account_ids))
    return {int(row[0]): int(row[1]) for row in conn.execute(query)}


def _engagement(
    conn: Connection, account_ids: Sequence[int] | None, now: datetime
) -> dict[int, tuple[float | None, int]]:
    """(median engagement rate by followers, posts) per account over the recent window."""
    feature = campaign_source.account_engagement(conn.engine, now, account_ids)
    if feature is not None:
        return feature
    query = select(POST_LATEST.c.account_id, POST_LATEST.c.engagement_rate_by_followers).where(
        POST_LATEST.c.published_at >= to_utc(now - ENGAGEMENT_WINDOW),
        POST_LATEST.c.published_at <= to_utc(now),
    )
    if account_ids is not None:
        query = query.where(POST_LATEST.c.account_id.in_(account_ids))
    rates: dict[int, list[float]] = defaultdict(list)
    posts: dict[int, int] = defaultdict(int)
    for account_id, rate in conn.execute(query):
        posts[int(account_id)] += 1
        if rate is not None:
            rates[int(account_id)].append(float(rate))
    return {
        account_id: (statistics.median(rates[account_id]) if rates[account_id] else None, n)
        for account_id, n in posts.items()
    }


def _account_summaries(
    conn: Connection, where: ColumnElement[bool] | None, now: datetime
) -> list[AccountSummary]:
    query = select(ACCOUNT_LATEST).order_by(ACCOUNT_LATEST.c.platform, ACCOUNT_LATEST.c.handle)
    if where is not None:
        query = query.where(where)
    rows = conn.execute(query).fetchall()
    if not rows:
        return []
    ids = [int(row.account_id) for row in rows] if where is not None else None
    flags = _open_flag_counts(conn, ids)
    engagement = _engagement(conn, ids, now)
    return [_account_summary(row, flags.get(int(row.account_id), 0), engagement) for row in rows]


def _account_summary(
    row: Row[Any], open_flags: int, engagement: dict[int, tuple[float | None, int]]
) -> AccountSummary:
    rate, posts = engagement.get(int(row.account_id), (None, 0))
    followers = _int(row.followers)
    return AccountSummary(
        id=int(row.account_id),
        platform=row.platform,
        handle=row.handle,
        display_name=row.display_name,
        status=row.status,
        tier=tier_of(followers),
        followers=followers,
        following=_int(row.following),
        posts_count=_int(row.posts_count),
        followers_rounded=_bool(row.followers_rounded),
        followers_hidden=_bool(row.followers_hidden),
        collected_at=row.collected_at,
        last_success_at=row.last_success_at,
        engagement_rate_by_followers=rate,
        recent_posts=posts,
        open_flags=open_flags,
    )


def accounts(engine: Engine, now: datetime) -> list[AccountSummary]:
    """Every account with its latest counts, whether or not a creator owns it."""
    with engine.connect() as conn:
        return _account_summaries(conn, None, now)


def account(engine: Engine, account_id: int, now: datetime) -> AccountSummary | None:
    """One account with its latest counts, or None."""
    with engine.connect() as conn:
        found = _account_summaries(conn, ACCOUNT_LATEST.c.account_id == account_id, now)
    return found[0] if found else None


def _creator_summary(row: Row[Any, Any, Any], owned: list[AccountSummary]) -> CreatorSummary:
    known = [a for a in owned if a.followers is not None]
    largest = max(known, key=lambda a: a.followers or 0) if known else None
    tier: Tier | None = largest.tier if largest else None
    return CreatorSummary(
        id=int(row.id),
        name=row.name,
        tags=list(row.tags or []),
        tier=tier,
        followers=largest.followers if largest else None,
        open_flags=sum(a.open_flags for a in owned),
        accounts=owned,
    )


def directory(engine: Engine, now: datetime) -> tuple[list[CreatorSummary], list[AccountSummary]]:
    """Every creator with its accounts, and the accounts no creator owns, in one read."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(CREATOR.c.id, CREATOR.c.name, CREATOR.c.tags).order_by(CREATOR.c.name)
        ).fetchall()
        summaries = _account_summaries(conn, None, now)
        owners = {
            int(row.account_id): _int(row.creator_id)
            for row in conn.execute(
                select(ACCOUNT_LATEST.c.account_id, ACCOUNT_LATEST.c.creator_id)
            )
        }
    by_creator: dict[int, list[AccountSummary]] = defaultdict(list)
    unowned = []
    for summary in summaries:
        owner = owners.get(summary.id)
        if owner is None:
            unowned.append(summary)
        else:
            by_creator[owner].append(summary)
    return [_creator_summary(row, by_creator.get(int(row.id), [])) for row in rows], unowned


def creators(engine: Engine, now: datetime) -> list[CreatorSummary]:
    """Every creator with its accounts, tier, latest counts and open flags."""
    return directory(engine, now)[0]


def creator(engine: Engine, creator_id: int, now: datetime) -> CreatorSummary | None:
    """One creator with its accounts, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            select(CREATOR.c.id, CREATOR.c.name, CREATOR.c.tags).where(CREATOR.c.id == creator_id)
        ).first()
        if row is None:
            return None
        owned = _account_summaries(conn, ACCOUNT_LATEST.c.creator_id == creator_id, now)
    return _creator_summary(row, owned)


# -- series and posts --------------------------------------------------------------------------


def series(
    engine: Engine,
    account_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 10_000,
) -> SeriesOut | None:
    """Profile snapshots of one account in [start, end], oldest first, at most ``limit``."""
    with engine.connect() as conn:
        owner = conn.execute(
            select(ACCOUNT.c.platform, ACCOUNT.c.handle).where(ACCOUNT.c.id == account_id)
        ).first()
        if owner is None:
            return None
        p = PROFILE_SNAPSHOT
        query = select(
            p.c.collected_at,
            p.c.followers,
            p.c.following,
            p.c.posts_count,
            p.c.followers_rounded,
            p.c.followers_hidden,
        ).where(p.c.account_id == account_id)
        if start is not None:
            query = query.where(p.c.collected_at >= to_utc(start))
        if end is not None:
            query = query.where(p.c.collected_at <= to_utc(end))
        # One more than asked tells whether the caller must come back for the rest.
        rows = conn.execute(query.order_by(p.c.collected_at).limit(limit + 1)).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return SeriesOut(
        account_id=account_id,
        platform=owner.platform,
        handle=owner.handle,
        points=[
            SeriesPoint(
                collected_at=row.collected_at,
                followers=_int(row.followers),
                following=_int(row.following),
                posts_count=_int(row.posts_count),
                followers_rounded=bool(row.followers_rounded),
                followers_hidden=bool(row.followers_hidden),
            )
            for row in rows
        ],
        next_from=(rows[-1].collected_at + timedelta(seconds=1)) if more and rows else None,
    )


#: Below this many snapshots a chart reads them all; above, the database picks one per slot.
CURVE_FULL_READ = 5000


def _epoch_slot(dialect: str) -> str:
    if dialect == "postgresql":
        return "CAST(floor(extract(epoch FROM collected_at) / :width) AS BIGINT)"
    return "CAST(strftime('%s', collected_at) AS INTEGER) / :width"


def curve(
    engine: Engine, account_id: int, start: datetime, end: datetime, slots: int = 600
) -> list[tuple[datetime, int | None]]:
    """Followers in [start, end] for a chart: every snapshot, or the last one of each slot.

    A daemon collecting every 10 seconds stores 8,640 snapshots a day; a chart has a few
    hundred pixels. The slot's last snapshot is chosen in the database (on the primary key), so
    the page reads ``slots`` rows instead of hundreds of thousands.
    """
    p = PROFILE_SNAPSHOT
    in_range = and_(
        p.c.account_id == account_id,
        p.c.collected_at >= to_utc(start),
        p.c.collected_at <= to_utc(end),
    )
    with engine.connect() as conn:
        count = int(conn.execute(select(func.count()).where(in_range)).scalar_one())
        if count <= CURVE_FULL_READ:
            rows = conn.execute(
                select(p.c.collected_at, p.c.followers).where(in_range).order_by(p.c.collected_at)
            ).fetchall()
            return [(row.collected_at, _int(row.followers)) for row in rows]
        width = max(int((end - start).total_seconds() // slots), 1)
        slot = _epoch_slot(engine.dialect.name)
        last_per_slot = (
            select(func.max(p.c.collected_at).label("collected_at"))
            .where(in_range)
            .group_by(text(slot))
            .subquery()
        )
        rows = conn.execute(
            select(p.c.collected_at, p.c.followers)
            .join(last_per_slot, last_per_slot.c.collected_at == p.c.collected_at)
            .where(p.c.account_id == account_id)
            .order_by(p.c.collected_at),
            {"width": width},
        ).fetchall()
    return [(row.collected_at, _int(row.followers)) for row in rows]


def account_exists(engine: Engine, account_id: int) -> bool:
    """Whether an account with this id exists."""
    with engine.connect() as conn:
        return (
            conn.execute(select(ACCOUNT.c.id).where(ACCOUNT.c.id == account_id)).first() is not None
        )


def posts(
    engine: Engine,
    account_id: int,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 1000,
) -> list[PostOut]:
    """One account's posts published in [start, end] with their latest counts, newest first."""
    q = POST_LATEST
    query = select(q).where(q.c.account_id == account_id)
    if start is not None:
        query = query.where(q.c.published_at >= to_utc(start))
    if end is not None:
        query = query.where(q.c.published_at <= to_utc(end))
    query = query.order_by(q.c.published_at.desc(), q.c.post_id.desc()).limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(query).fetchall()
    return [
        PostOut(
            id=int(row.post_id),
            platform_post_id=row.platform_post_id,
            published_at=row.published_at,
            kind=row.kind,
            url=row.url,
            caption=row.caption,
            collected_at=row.collected_at,
            views=_int(row.views),
            likes=_int(row.likes),
            comments=_int(row.comments),
            shares=_int(row.shares),
            quotes=_int(row.quotes),
            saves=_int(row.saves),
            interactions=_int(row.interactions),
            followers_at_publication=_int(row.followers_at_publication),
            engagement_rate_by_followers=_float(row.engagement_rate_by_followers),
            engagement_rate_by_views=_float(row.engagement_rate_by_views),
        )
        for row in rows
    ]


# -- flags -------------------------------------------------------------------------------------


class FlagView(FlagOut):
    """A flag with what a page needs to link it to its creator."""

    creator_id: int | None
    creator_name: str | None


_SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2}


def _flag_objects_here(
    conn: Connection, status: FlagStatus | None, account_ids: Sequence[int] | None
) -> list[dict[str, Any]]:
    """The flags' JSON objects read here, for builds without the detection feature."""
    query = (
        select(FLAG, ACCOUNT.c.platform, ACCOUNT.c.handle, POST.c.platform_post_id, POST.c.url)
        .join(ACCOUNT, ACCOUNT.c.id == FLAG.c.account_id)
        .outerjoin(POST, POST.c.id == FLAG.c.post_id)
        .order_by(FLAG.c.window_start.desc(), FLAG.c.id.desc())
    )
    if status is not None:
        query = query.where(FLAG.c.status == status)
    if account_ids is not None:
        query = query.where(FLAG.c.account_id.in_(list(account_ids)))
    return [
        {
            "id": row.id,
            "platform": row.platform,
            "handle": row.handle,
            "account_id": row.account_id,
            "kind": row.kind,
            "severity": row.severity,
            "status": row.status,
            "window_start": row.window_start,
            "window_end": row.window_end,
            "score": row.score,
            "post_id": row.platform_post_id,
            "post_url": row.url,
            "summary": None,
            "evidence": row.evidence,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
        }
        for row in conn.execute(query)
    ]


def flag_objects(
    engine: Engine,
    *,
    status: FlagStatus | None = None,
    account_ids: Sequence[int] | None = None,
) -> list[FlagOut]:
    """Flags exactly as ``collector flags --format json`` prints them, newest window first."""
    with engine.connect() as conn:
        try:
            from collector.detection.flags import flag_objects as detection_objects
        except ModuleNotFoundError as exc:
            if exc.name is None or not "collector.detection.flags".startswith(exc.name):
                raise
            objects = _flag_objects_here(conn, status, account_ids)
        else:
            # The detection feature owns the JSON shape (and the summary sentence).
            objects = detection_objects(conn, status=status, account_ids=account_ids)
    return [FlagOut.model_validate(o) for o in objects]


def flags(
    engine: Engine,
    *,
    status: FlagStatus | None = None,
    account_ids: Sequence[int] | None = None,
) -> list[FlagView]:
    """Flags for pages: most severe first, then newest window, with their creator."""
    found = flag_objects(engine, status=status, account_ids=account_ids)
    with engine.connect() as conn:
        owners = {
            int(row.id): (_int(row.creator_id), row.name)
            for row in conn.execute(
                select(ACCOUNT.c.id, ACCOUNT.c.creator_id, CREATOR.c.name).outerjoin(
                    CREATOR, CREATOR.c.id == ACCOUNT.c.creator_id
                )
            )
        }
    views = [
        FlagView(
            **f.model_dump(),
            creator_id=owners.get(f.account_id, (None, None))[0],
            creator_name=owners.get(f.account_id, (None, None))[1],
        )
        for f in found
    ]
    # Stable sort: severity first, newest window first within each severity.
    return sorted(views, key=lambda f: _SEVERITY_RANK.get(f.severity, 3))


def set_flag_status(engine: Engine, flag_id: int, status: FlagStatus, now: datetime) -> bool:
    """Acknowledge, dismiss or reopen a flag; False if there is no such flag."""
    with engine.begin() as conn:
        result = conn.execute(
            update(FLAG)
            .where(and_(FLAG.c.id == flag_id))
            .values(status=status, updated_at=to_utc(now))
        )
    return bool(result.rowcount)


# -- campaigns ---------------------------------------------------------------------------------


def campaigns(engine: Engine, now: datetime) -> list[CampaignSummary]:
    """Every campaign with its creators and figures (computed by the campaigns feature)."""
    return campaign_source.summaries(engine, now)

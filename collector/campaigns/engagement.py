"""Each account's recent engagement rate, as the README defines it once.

A post's engagement rate by followers is its interactions (likes + comments + shares + saves,
each where the platform publishes it) divided by the account's followers at publication; the
``post_latest`` view computes it. An account's engagement rate is the **median** over its posts
published in a recent window (90 days by default), so one viral post does not make a creator
look like another tier; its rate by views is total interactions over total views of the posts
that publish both.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from collector.storage.types import UTCDateTime, to_utc

__all__ = ["DEFAULT_WINDOW_DAYS", "AccountEngagement", "account_engagement"]

DEFAULT_WINDOW_DAYS = 90


@dataclass(frozen=True)
class AccountEngagement:
    """One account's latest audience and its recent engagement."""

    account_id: int
    platform: str
    handle: str
    creator_id: int | None
    creator_name: str | None
    status: str
    followers: int | None
    followers_at: datetime | None
    posts: int
    posts_with_rate: int
    engagement_rate: float | None
    engagement_rate_by_views: float | None


def account_engagement(
    engine: Engine,
    *,
    now: datetime,
    days: int = DEFAULT_WINDOW_DAYS,
    platform: str | None = None,
    account_ids: Iterable[int] | None = None,
) -> list[AccountEngagement]:
    """Every account's followers and median engagement rate over posts of the last ``days``."""
    since = now - timedelta(days=days)
    wanted = None if account_ids is None else set(account_ids)
    rates: dict[int, list[float]] = defaultdict(list)
    counts: dict[int, int] = defaultdict(int)
    interactions: dict[int, int] = defaultdict(int)
    views: dict[int, int] = defaultdict(int)
    with engine.connect() as conn:
        accounts = conn.execute(
            text(
                "SELECT account_id, platform, handle, creator_id, creator_name, status, "
                "followers, collected_at FROM account_latest ORDER BY account_id"
            )
        ).all()
        posts = conn.execute(
            text(
                "SELECT account_id, interactions, views, engagement_rate_by_followers "
                "FROM post_latest WHERE published_at >= :since AND published_at <= :now"
            ).bindparams(
                bindparam("since", since, type_=UTCDateTime),
                bindparam("now", now, type_=UTCDateTime),
            )
        )
        for account_id, post_interactions, post_views, rate in posts:
            counts[account_id] += 1
            if rate is not None:
                rates[account_id].append(float(rate))
            if post_interactions is not None and post_views:
                interactions[account_id] += int(post_interactions)
                views[account_id] += int(post_views)
    result = []
    for row in accounts:
        if platform is not None and row.platform != platform:
            continue
        if wanted is not None and row.account_id not in wanted:
            continue
        own = rates.get(row.account_id, [])
        result.append(
            AccountEngagement(
                account_id=row.account_id,
                platform=row.platform,
                handle=row.handle,
                creator_id=row.creator_id,
                creator_name=row.creator_name,
                status=row.status,
                followers=row.followers,
                followers_at=_as_datetime(row.collected_at),
                posts=counts.get(row.account_id, 0),
                posts_with_rate=len(own),
                engagement_rate=statistics.median(own) if own else None,
                engagement_rate_by_views=(
                    interactions[row.account_id] / views[row.account_id]
                    if views.get(row.account_id)
                    else None
                ),
            )
        )
    return result


def _as_datetime(value: object) -> datetime | None:
    # Views carry no column types: SQLite hands back the stored text.
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_utc(value)
    return to_utc(datetime.fromisoformat(str(value)))

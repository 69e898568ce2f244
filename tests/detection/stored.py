"""Write synthetic creators into a real database, as the pipeline or an import would."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine

from collector.storage.models import Account, Post, PostSnapshot, ProfileSnapshot
from tests.detection.synth import Creator

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ACCOUNT = Account.__table__  # type: ignore[attr-defined]
PROFILE = ProfileSnapshot.__table__  # type: ignore[attr-defined]
POST = Post.__table__  # type: ignore[attr-defined]
POST_SNAPSHOT = PostSnapshot.__table__  # type: ignore[attr-defined]


def _ts(epoch: int) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


def add_account(engine: Engine, handle: str, platform: str = "x") -> int:
    """A new account row; returns its id."""
    with engine.begin() as conn:
        conn.execute(
            insert(ACCOUNT).values(
                platform=platform,
                handle=handle,
                status="active",
                added_at=NOW,
                consecutive_failures=0,
            )
        )
        return int(
            conn.execute(
                select(ACCOUNT.c.id).where(
                    ACCOUNT.c.platform == platform, ACCOUNT.c.handle == handle
                )
            ).scalar_one()
        )


def store(engine: Engine, account_id: int, creator: Creator, *, until: int | None = None) -> None:
    """Store the creator's snapshots and posts (only those collected before ``until``)."""
    series = creator.series()
    posts = creator.posts()
    keep = series.t < until if until is not None else np.ones(len(series), dtype=bool)
    profiles: list[dict[str, Any]] = [
        {
            "account_id": account_id,
            "collected_at": _ts(t),
            "followers": int(f),
            "following": int(g),
            "posts_count": 10,
            "followers_rounded": False,
            "followers_hidden": False,
        }
        for t, f, g in zip(
            series.t[keep], series.followers[keep], series.following[keep], strict=True
        )
    ]
    with engine.begin() as conn:
        existing = {
            r[0]
            for r in conn.execute(
                select(PROFILE.c.collected_at).where(PROFILE.c.account_id == account_id)
            )
        }
        rows = [p for p in profiles if p["collected_at"] not in existing]
        if rows:
            conn.execute(insert(PROFILE), rows)
        for i in range(len(posts)):
            published = int(posts.published[i])
            collected = int(posts.collected[i])
            if until is not None and published >= until:
                continue
            pid = f"p{account_id}-{i}"
            # Until the final snapshot, the post is seen at a day old with most of its counts.
            at, share = (collected, 1.0)
            if until is not None and collected >= until:
                at, share = published + 86400, 0.8
                if at >= until:
                    continue
            post_id = conn.execute(
                select(POST.c.id).where(
                    POST.c.account_id == account_id, POST.c.platform_post_id == pid
                )
            ).scalar()
            if post_id is None:
                conn.execute(
                    insert(POST).values(
                        account_id=account_id,
                        platform_post_id=pid,
                        published_at=_ts(published),
                        first_seen_at=_ts(published),
                        last_polled_at=_ts(at),
                    )
                )
                post_id = conn.execute(
                    select(POST.c.id).where(
                        POST.c.account_id == account_id, POST.c.platform_post_id == pid
                    )
                ).scalar_one()
            known = conn.execute(
                select(POST_SNAPSHOT.c.collected_at).where(
                    POST_SNAPSHOT.c.post_id == post_id, POST_SNAPSHOT.c.collected_at == _ts(at)
                )
            ).first()
            if known is None:
                conn.execute(
                    POST.update().where(POST.c.id == post_id).values(last_polled_at=_ts(at))
                )
                conn.execute(
                    insert(POST_SNAPSHOT).values(
                        post_id=post_id,
                        collected_at=_ts(at),
                        views=None if np.isnan(posts.views[i]) else int(posts.views[i] * share),
                        likes=int(posts.likes[i] * share),
                        comments=int(posts.comments[i] * share),
                        shares=int(posts.shares[i] * share),
                    )
                )

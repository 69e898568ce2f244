"""A scripted in-process connector: the platform side of pipeline tests.

Platforms are the one thing tests fake. This one answers from a table of followers per handle
and can be told to fail in each of the ways the error tree describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import ClassVar

from connectors.base import Connector, PlatformConfig
from connectors.errors import AccountError, ConnectorError
from connectors.records import (
    AccountRef,
    History,
    PostPage,
    PostRecord,
    PostRef,
    ProfileBatch,
    ProfileRecord,
)


class ScriptedConnector(Connector):
    """Answers profiles and posts from dictionaries; raises what it is told to raise."""

    name: ClassVar[str] = "scripted"
    batch_size: ClassVar[int] = 50
    supports_history: ClassVar[bool] = False

    def __init__(self, config: PlatformConfig | None = None, **kwargs: object) -> None:
        super().__init__(config or PlatformConfig(interval=timedelta(hours=6)), **kwargs)  # type: ignore[arg-type]
        self.followers: dict[str, int] = {}
        self._published: dict[str, datetime] = {}
        self.account_errors: dict[str, AccountError] = {}
        self.profile_error: ConnectorError | None = None
        self.posts_errors: dict[str, BaseException] = {}
        self.profile_calls: list[list[str]] = []
        self.post_calls: list[str] = []
        self.history_calls: list[str] = []
        self.stats_calls: list[list[str]] = []
        #: Ages of the posts each feed holds.
        self.post_ages = [timedelta(days=1), timedelta(days=2)]
        self.feed_has_counts = True

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        assert len(accounts) <= self.batch_size
        self.stats.count("profiles")
        self.profile_calls.append([a.handle for a in accounts])
        if self.profile_error is not None:
            raise self.profile_error
        now = self.clock()
        profiles = {
            a.handle: ProfileRecord(
                a.handle,
                f"id-{a.handle}",
                now,
                self.followers[a.handle],
                following=5,
                posts_count=2,
            )
            for a in accounts
            if a.handle in self.followers and a.handle not in self.account_errors
        }
        failures = {
            h: e for h, e in self.account_errors.items() if h in {a.handle for a in accounts}
        }
        return ProfileBatch(profiles, failures)

    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        self.stats.count("posts")
        self.post_calls.append(account.handle)
        error = self.posts_errors.get(account.handle)
        if error is not None:
            raise error
        now = self.clock()
        posts = tuple(
            self._post(account.handle, k, age, now) for k, age in enumerate(self.post_ages, start=1)
        )
        return PostPage(posts, cursor=f"{account.handle}-1")

    def _post(self, handle: str, k: int, age: timedelta, now: datetime) -> PostRecord:
        key = f"{handle}-{k}"
        # A post's publication time is fixed when first listed, so later passes see the same post.
        published = self._published.setdefault(key, now - age)
        if not self.feed_has_counts:
            return PostRecord(key, published, now, has_counts=False)
        return PostRecord(key, published, now, likes=10 * k, comments=k, views=None)

    async def fetch_post_stats(self, posts: Sequence[PostRef]) -> list[PostRecord]:
        assert len(posts) <= self.post_batch_size
        self.stats.count("post_stats")
        self.stats_calls.append([p.platform_post_id for p in posts])
        now = self.clock()
        return [
            PostRecord(p.platform_post_id, p.published_at, now, likes=7, comments=1) for p in posts
        ]

    async def fetch_history(
        self, account: AccountRef, *, start: datetime, end: datetime
    ) -> History:
        self.history_calls.append(account.handle)
        followers = self.followers[account.handle]
        points = []
        t = start
        while t < end:
            points.append(ProfileRecord(account.handle, f"id-{account.handle}", t, followers))
            t += timedelta(days=1)
        return History(tuple(points))

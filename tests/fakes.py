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
        self.account_errors: dict[str, AccountError] = {}
        self.profile_error: ConnectorError | None = None
        self.posts_errors: dict[str, BaseException] = {}
        self.profile_calls: list[list[str]] = []
        self.post_calls: list[str] = []
        self.history_calls: list[str] = []

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
            PostRecord(
                f"{account.handle}-{k}",
                now - timedelta(days=k),
                now,
                likes=10 * k,
                comments=k,
                views=None,
            )
            for k in (1, 2)
        )
        return PostPage(posts, cursor=f"{account.handle}-1")

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

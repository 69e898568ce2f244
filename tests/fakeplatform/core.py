"""The fake platforms' shared state: seeded accounts, call counts and injected faults.

Each platform module (``tests/fakeplatform/<platform>.py``) serves that platform's real API
shapes from a :class:`World`; the server mounts every module under ``/<platform>/``. Numbers
are deterministic from the handle, so tests can assert exact values and benchmarks can ask for
10,000 accounts without seeding them one by one (``auto_create``).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from aiohttp import web

from connectors.http import Clock, utcnow

__all__ = ["FakeAccount", "FakePost", "Fault", "World", "gate"]

Status = Literal["active", "not_found", "private", "suspended"]
FaultKind = Literal["status", "hang", "reset", "malformed", "slow", "truncated"]


def _seed(*parts: str) -> int:
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


@dataclass
class FakePost:
    """One post as the fake platform stores it; None counts are not published."""

    id: str
    published_at: datetime
    caption: str = ""
    kind: str = "photo"
    views: int | None = None
    likes: int | None = 0
    comments: int | None = 0
    shares: int | None = 0
    quotes: int | None = None
    saves: int | None = None
    #: A repost/boost of someone else's post (it must not count as the creator's post).
    repost_of: str | None = None
    #: The id of the post this one replies to, if it is a reply.
    reply_to: str | None = None


@dataclass
class FakeAccount:
    """One account on one fake platform."""

    platform: str
    handle: str
    platform_id: str
    display_name: str
    followers: int | None
    following: int
    posts_count: int
    posts: list[FakePost] = field(default_factory=list)
    status: Status = "active"
    hidden_followers: bool = False


@dataclass
class Fault:
    """A failure to serve instead of the normal answer, ``times`` times.

    Attributes:
        platform: Which platform it applies to.
        endpoint: The endpoint name the platform module passes to :func:`gate`, or ``*``.
        kind: ``status`` answers ``status`` with ``body`` and ``headers``; ``hang`` never
            answers; ``reset`` drops the connection; ``malformed`` answers 200 with broken
            JSON; ``truncated`` answers 200 with the start of a JSON body; ``slow`` waits
            ``delay_seconds`` then answers normally.
    """

    platform: str
    endpoint: str = "*"
    kind: FaultKind = "status"
    status: int = 503
    body: bytes = b'{"error": "unavailable"}'
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    delay_seconds: float = 0.0


class World:
    """Everything the fake platforms know, shared by their handlers."""

    def __init__(
        self,
        *,
        clock: Clock = utcnow,
        auto_create: bool = False,
        posts_per_account: int = 12,
        latency_seconds: float = 0.0,
    ) -> None:
        self.clock = clock
        self.auto_create = auto_create
        self.posts_per_account = posts_per_account
        self.latency_seconds = latency_seconds
        self.accounts: dict[tuple[str, str], FakeAccount] = {}
        self._by_id: dict[tuple[str, str], FakeAccount] = {}
        self.calls: Counter[tuple[str, str]] = Counter()
        self.faults: list[Fault] = []
        #: Every request's query string, for tests that check what was asked.
        self.requests: list[tuple[str, str, str]] = []

    # -- accounts --------------------------------------------------------------------------

    def add(self, platform: str, handle: str, **overrides: object) -> FakeAccount:
        """Create (or replace) an account with deterministic numbers, then apply overrides."""
        account = self._generate(platform, handle)
        for key, value in overrides.items():
            setattr(account, key, value)
        self._index(account)
        return account

    def _index(self, account: FakeAccount) -> None:
        self.accounts[(account.platform, account.handle.lower())] = account
        self._by_id[(account.platform, account.platform_id)] = account

    def _generate(self, platform: str, handle: str) -> FakeAccount:
        seed = _seed(platform, handle.lower())
        followers = 1_000 + seed % 99_000
        now = self.clock().replace(microsecond=0)
        posts = []
        for k in range(self.posts_per_account):
            post_seed = _seed(platform, handle.lower(), str(k))
            likes = max(1, followers // 50 + post_seed % 200)
            posts.append(
                FakePost(
                    id=f"{seed % 10**12:012d}{k:04d}",
                    published_at=now - timedelta(days=2 * k + 1, hours=post_seed % 12),
                    caption=f"post {k} by {handle} #collab",
                    kind=("photo", "video", "reel")[post_seed % 3],
                    views=likes * (20 + post_seed % 30),
                    likes=likes,
                    comments=likes // 20 + post_seed % 7,
                    shares=likes // 40 + post_seed % 5,
                    quotes=post_seed % 3,
                    saves=likes // 30,
                )
            )
        return FakeAccount(
            platform=platform,
            handle=handle,
            platform_id=f"{seed % 10**15:015d}",
            display_name=handle.replace(".", " ").title(),
            followers=followers,
            following=50 + seed % 900,
            posts_count=200 + self.posts_per_account,
            posts=posts,
        )

    def get(self, platform: str, handle: str) -> FakeAccount | None:
        """The account with this handle (case-insensitive), created on demand if auto_create."""
        account = self.accounts.get((platform, handle.lower()))
        if account is None and self.auto_create:
            account = self.add(platform, handle)
        return account

    def by_id(self, platform: str, platform_id: str) -> FakeAccount | None:
        """The account with this platform id."""
        return self._by_id.get((platform, platform_id))

    # -- calls and faults ------------------------------------------------------------------

    def fail(self, fault: Fault) -> None:
        """Serve ``fault`` on the next matching calls."""
        self.faults.append(fault)

    def _take_fault(self, platform: str, endpoint: str) -> Fault | None:
        for fault in self.faults:
            if fault.platform == platform and fault.endpoint in ("*", endpoint):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None


async def gate(
    request: web.Request, world: World, platform: str, endpoint: str
) -> web.StreamResponse | None:
    """Count the call, apply latency and faults; a response to return instead, or None."""
    world.calls[(platform, endpoint)] += 1
    world.requests.append((platform, endpoint, request.query_string))
    if world.latency_seconds:
        await asyncio.sleep(world.latency_seconds)
    fault = world._take_fault(platform, endpoint)
    if fault is None:
        return None
    if fault.kind == "slow":
        await asyncio.sleep(fault.delay_seconds)
        return None
    if fault.kind == "hang":
        await asyncio.sleep(3600)
    if fault.kind == "reset":
        if request.transport is not None:
            request.transport.abort()
        raise ConnectionResetError("fault: connection reset")
    if fault.kind == "malformed":
        return web.Response(status=200, body=b'{"data": [1, 2,,}', content_type="application/json")
    if fault.kind == "truncated":
        return web.Response(
            status=200, body=b'{"data": [{"id": "1"', content_type="application/json"
        )
    return web.Response(
        status=fault.status, body=fault.body, headers=fault.headers, content_type="application/json"
    )


def iso(value: datetime) -> str:
    """ISO 8601 in UTC with a Z, as most platforms write it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

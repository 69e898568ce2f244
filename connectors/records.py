"""Frozen typed records that connectors return; the pipeline stores them, connectors never do."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from connectors.errors import AccountError

__all__ = [
    "AccountRef",
    "History",
    "PostPage",
    "PostRecord",
    "PostRef",
    "ProfileBatch",
    "ProfileRecord",
]


@dataclass(frozen=True, slots=True)
class AccountRef:
    """What a connector is told about one watched account (never a database row).

    Attributes:
        handle: The handle as the watchlist gives it, without a leading ``@``.
        platform_id: The stable id resolved on an earlier run, or None if not resolved yet.
        posts_cursor: The opaque cursor the connector returned with the last stored posts.
    """

    handle: str
    platform_id: str | None = None
    posts_cursor: str | None = None


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    """One observation of an account's public counts.

    A count the platform does not publish is None, never 0. ``followers_rounded`` marks counts
    the platform floors (YouTube keeps 3 significant figures), so detectors do not read a rounding
    step as a jump.
    """

    handle: str
    platform_id: str
    collected_at: datetime
    followers: int | None
    following: int | None = None
    posts_count: int | None = None
    followers_rounded: bool = False
    followers_hidden: bool = False
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class PostRecord:
    """One observation of one of the creator's own posts (never a repost of someone else's)."""

    platform_post_id: str
    published_at: datetime
    collected_at: datetime
    kind: str | None = None
    url: str | None = None
    caption: str | None = None
    views: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    quotes: int | None = None
    saves: int | None = None
    #: False when the feed lists the post without its counts (YouTube's uploads playlist);
    #: the pipeline then asks :meth:`Connector.fetch_post_stats` for them, in batches.
    has_counts: bool = True


@dataclass(frozen=True, slots=True)
class PostRef:
    """A known post whose counts the pipeline wants refreshed through a batch endpoint."""

    platform_post_id: str
    handle: str
    account_platform_id: str | None
    published_at: datetime


@dataclass(frozen=True, slots=True)
class ProfileBatch:
    """The answer to one batched profile call.

    Attributes:
        profiles: Records keyed by the handle they were asked for.
        failures: Account-level errors (not found, private, suspended) keyed by handle; the
            other accounts of the batch are unaffected.
    """

    profiles: Mapping[str, ProfileRecord] = field(default_factory=dict)
    failures: Mapping[str, AccountError] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PostPage:
    """Recent posts of one account and the cursor to store with them."""

    posts: tuple[PostRecord, ...] = ()
    cursor: str | None = None


@dataclass(frozen=True, slots=True)
class History:
    """Past observations a connector can reconstruct on first sight of an account."""

    profiles: tuple[ProfileRecord, ...] = ()
    posts: tuple[PostRecord, ...] = ()

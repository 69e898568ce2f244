"""The public schema: downstream tools read these tables, so they change only by migration.

Fixed by the design (users' scripts rely on them): the tables ``account``, ``profile_snapshot``,
``post``, ``post_snapshot`` and ``flag``; ``account.id`` and ``post.id`` as integer keys; the
columns ``platform``, ``handle``, ``collected_at``, ``followers``, ``following``, ``posts_count``,
``platform_post_id``, ``views``, ``likes``, ``comments``, ``shares``, ``quotes``, ``saves``.
A count the platform does not publish is NULL, never 0.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from collector.storage.types import UTCDateTime

__all__ = [
    "ACCOUNT_STATUSES",
    "Account",
    "Campaign",
    "CampaignCreator",
    "CampaignPost",
    "CollectionRun",
    "Conversion",
    "Creator",
    "DetectionState",
    "Flag",
    "PayloadError",
    "Post",
    "PostSnapshot",
    "ProfileLatest",
    "ProfileSnapshot",
]

#: ``active`` is collected; ``unwatched`` is kept but no longer on the watchlist (or only
#: imported); the others are what the platform said about the account.
ACCOUNT_STATUSES = ("active", "unwatched", "not_found", "private", "suspended")


class Creator(SQLModel, table=True):
    """A person or brand, who may have accounts on several platforms."""

    __tablename__ = "creator"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)


class Account(SQLModel, table=True):
    """One handle on one platform, and the collector's state for it."""

    __tablename__ = "account"
    __table_args__ = (
        UniqueConstraint("platform", "handle", name="uq_account_platform_handle"),
        # The dispatcher's one query: what is due on this platform, oldest first.
        Index("ix_account_due", "platform", "status", "next_due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    creator_id: int | None = Field(
        default=None,
        sa_column_args=[ForeignKey("creator.id", ondelete="SET NULL")],
        index=True,
    )
    platform: str
    handle: str
    platform_id: str | None = None
    display_name: str | None = None
    status: str = Field(default="active")
    status_detail: str | None = None
    added_at: datetime = Field(sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    consecutive_failures: int = Field(default=0)
    posts_cursor: str | None = None


class ProfileSnapshot(SQLModel, table=True):
    """An account's public counts at one moment."""

    __tablename__ = "profile_snapshot"
    # Clustered on (account_id, collected_at): half the bytes, one account's series contiguous.
    __table_args__ = {"sqlite_with_rowid": False}

    account_id: int = Field(
        sa_column_args=[ForeignKey("account.id", ondelete="CASCADE")], primary_key=True
    )
    collected_at: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    followers: int | None = Field(default=None, sa_type=BigInteger)
    following: int | None = Field(default=None, sa_type=BigInteger)
    posts_count: int | None = Field(default=None, sa_type=BigInteger)
    # YouTube floors subscriber counts to 3 significant figures; a rounding step is no jump.
    followers_rounded: bool = Field(default=False)
    followers_hidden: bool = Field(default=False)


class ProfileLatest(SQLModel, table=True):
    """Each account's newest profile snapshot, the same columns as its ``profile_snapshot`` row.

    Kept by the writers of ``profile_snapshot`` in the same transaction, so that the latest
    state of every account is a scan of one row per account instead of a seek into each
    account's series (``account_latest`` reads it).
    """

    __tablename__ = "profile_latest"

    account_id: int = Field(
        sa_column_args=[ForeignKey("account.id", ondelete="CASCADE")],
        primary_key=True,
        # A copy of an account's key, never generated (no SERIAL on PostgreSQL).
        sa_column_kwargs={"autoincrement": False},
    )
    collected_at: datetime = Field(sa_type=UTCDateTime)
    followers: int | None = Field(default=None, sa_type=BigInteger)
    following: int | None = Field(default=None, sa_type=BigInteger)
    posts_count: int | None = Field(default=None, sa_type=BigInteger)
    followers_rounded: bool = Field(default=False)
    followers_hidden: bool = Field(default=False)


class Post(SQLModel, table=True):
    """One of the creator's own posts (never a repost or boost of someone else's)."""

    __tablename__ = "post"
    __table_args__ = (
        UniqueConstraint("account_id", "platform_post_id", name="uq_post_account_platform_id"),
        Index("ix_post_account_published", "account_id", "published_at"),
        Index("ix_post_account_next_poll", "account_id", "next_poll_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column_args=[ForeignKey("account.id", ondelete="CASCADE")])
    platform_post_id: str
    published_at: datetime = Field(sa_type=UTCDateTime)
    kind: str | None = None
    url: str | None = None
    caption: str | None = None
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    last_polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the counts are next due; re-polls decay with age and stop past the horizon.
    next_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class PostSnapshot(SQLModel, table=True):
    """A post's public counts at one moment; NULL where the platform publishes no count."""

    __tablename__ = "post_snapshot"
    __table_args__ = {"sqlite_with_rowid": False}

    post_id: int = Field(
        sa_column_args=[ForeignKey("post.id", ondelete="CASCADE")], primary_key=True
    )
    collected_at: datetime = Field(sa_type=UTCDateTime, primary_key=True)
    views: int | None = Field(default=None, sa_type=BigInteger)
    likes: int | None = Field(default=None, sa_type=BigInteger)
    comments: int | None = Field(default=None, sa_type=BigInteger)
    shares: int | None = Field(default=None, sa_type=BigInteger)
    quotes: int | None = Field(default=None, sa_type=BigInteger)
    saves: int | None = Field(default=None, sa_type=BigInteger)


class Flag(SQLModel, table=True):
    """An explainable suspicion about an account (or one of its posts) over a time window."""

    __tablename__ = "flag"
    __table_args__ = (Index("ix_flag_account_status", "account_id", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(sa_column_args=[ForeignKey("account.id", ondelete="CASCADE")])
    post_id: int | None = Field(
        default=None, sa_column_args=[ForeignKey("post.id", ondelete="CASCADE")]
    )
    kind: str
    severity: str  # low | medium | high
    window_start: datetime = Field(sa_type=UTCDateTime)
    window_end: datetime = Field(sa_type=UTCDateTime)
    score: float
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="open")  # open | acknowledged | dismissed
    # One flag per (account, post, kind, window): a re-run updates it instead of adding another.
    dedupe_key: str = Field(unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # When the webhook announced it; NULL for a medium/high flag nobody has been told of yet.
    notified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DetectionState(SQLModel, table=True):
    """How far detection has scored an account: the watermark of incremental runs."""

    __tablename__ = "detection_state"

    account_id: int = Field(
        sa_column_args=[ForeignKey("account.id", ondelete="CASCADE")], primary_key=True
    )
    # The newest profile snapshot and post poll that the last scoring saw.
    profiles_through: datetime | None = Field(default=None, sa_type=UTCDateTime)
    posts_through: datetime | None = Field(default=None, sa_type=UTCDateTime)
    scored_at: datetime = Field(sa_type=UTCDateTime)


class Campaign(SQLModel, table=True):
    """A brand's campaign: dates, markers that attribute posts to it, and its creators."""

    __tablename__ = "campaign"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    brand: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    # Hashtags, mentions, promo codes and links, as the watchlist gives them.
    markers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Set when the campaign leaves the watchlist: its posts and conversions are kept.
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CampaignCreator(SQLModel, table=True):
    """A creator's part in a campaign and what it cost."""

    __tablename__ = "campaign_creator"

    campaign_id: int = Field(
        sa_column_args=[ForeignKey("campaign.id", ondelete="CASCADE")], primary_key=True
    )
    creator_id: int = Field(
        sa_column_args=[ForeignKey("creator.id", ondelete="CASCADE")], primary_key=True
    )
    cost: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    currency: str | None = None


class CampaignPost(SQLModel, table=True):
    """A post's membership of a campaign: found by its markers (auto) or set by hand (manual).

    A manual row with ``included`` false keeps a post out that its markers would bring in.
    """

    __tablename__ = "campaign_post"
    __table_args__ = (Index("ix_campaign_post_post", "post_id"),)

    campaign_id: int = Field(
        sa_column_args=[ForeignKey("campaign.id", ondelete="CASCADE")], primary_key=True
    )
    post_id: int = Field(
        sa_column_args=[ForeignKey("post.id", ondelete="CASCADE")], primary_key=True
    )
    source: str  # auto | manual
    included: bool = Field(default=True)
    # The markers the caption carried: [{"kind": "hashtag", "marker": "#soukmoderne"}, ...].
    matched: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Conversion(SQLModel, table=True):
    """Orders and revenue imported for a campaign, keyed by promo code or UTM campaign."""

    __tablename__ = "conversion"
    __table_args__ = (
        UniqueConstraint("campaign_id", "occurred_on", "code", name="uq_conversion_day_code"),
    )

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(sa_column_args=[ForeignKey("campaign.id", ondelete="CASCADE")])
    occurred_on: date
    code: str
    orders: int | None = None
    revenue: Decimal | None = Field(default=None, sa_type=Numeric(14, 2))
    currency: str | None = None


class CollectionRun(SQLModel, table=True):
    """What one dispatch did: a row is written when it starts and completed when it ends."""

    __tablename__ = "collection_run"
    __table_args__ = (Index("ix_collection_run_platform_started", "platform", "started_at"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # running | ok | partial | failed | interrupted
    status: str = Field(default="running")
    accounts: int = 0
    succeeded: int = 0
    failed: int = 0
    calls: int = 0
    quota_units: int = 0
    profile_rows: int = 0
    post_rows: int = 0
    outcomes: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    duration_seconds: float | None = None
    error: str | None = None
    # Which process ran it, so a restart marks only its own dead runs as interrupted.
    owner: str | None = None


class PayloadError(SQLModel, table=True):
    """A response whose shape had changed, kept raw so a maintainer can see what moved."""

    __tablename__ = "payload_error"

    id: int | None = Field(default=None, primary_key=True)
    platform: str
    run_id: int | None = Field(
        default=None, sa_column_args=[ForeignKey("collection_run.id", ondelete="SET NULL")]
    )
    received_at: datetime = Field(sa_type=UTCDateTime)
    message: str
    raw_body: bytes = Field(sa_type=LargeBinary)

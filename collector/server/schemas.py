"""The read API's response shapes: each is a public contract, described in ``/openapi.json``.

A count or figure that is not known is ``null``, never 0, exactly as in the database.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AccountSummary",
    "CampaignCreatorSummary",
    "CampaignPost",
    "CampaignSummary",
    "CreatorSummary",
    "FlagOut",
    "FlagStatus",
    "Health",
    "PostOut",
    "Readiness",
    "SeriesOut",
    "SeriesPoint",
    "Severity",
    "Tier",
]

Tier = Literal["nano", "micro", "mid", "macro", "mega"]
Severity = Literal["low", "medium", "high"]
FlagStatus = Literal["open", "acknowledged", "dismissed"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class AccountSummary(_Out):
    """One account with its latest public counts."""

    id: int
    platform: str
    handle: str
    display_name: str | None
    status: str
    tier: Tier | None = Field(description="from the latest follower count; null if unknown")
    followers: int | None
    following: int | None
    posts_count: int | None
    followers_rounded: bool | None = Field(description="the platform floors the count")
    followers_hidden: bool | None
    collected_at: datetime | None = Field(description="when the latest counts were collected")
    last_success_at: datetime | None
    engagement_rate_by_followers: float | None = Field(
        description="median engagement rate by followers of the posts published in the 90 days "
        "before the request (interactions / followers at publication)"
    )
    recent_posts: int = Field(description="posts published in the 90 days before the request")
    open_flags: int


class CreatorSummary(_Out):
    """A creator with every account and how many flags are open on them."""

    id: int
    name: str
    tags: list[str]
    tier: Tier | None = Field(description="the tier of the creator's largest account")
    followers: int | None = Field(description="followers of the largest account")
    open_flags: int
    accounts: list[AccountSummary]


class SeriesPoint(_Out):
    """One profile snapshot."""

    collected_at: datetime
    followers: int | None
    following: int | None
    posts_count: int | None
    followers_rounded: bool
    followers_hidden: bool


class SeriesOut(_Out):
    """An account's profile snapshots in a time range, oldest first."""

    account_id: int
    platform: str
    handle: str
    points: list[SeriesPoint]
    next_from: datetime | None = Field(
        description="more points exist: ask again with from set to this value"
    )


class PostOut(_Out):
    """A post with its latest counts and engagement rates."""

    id: int
    platform_post_id: str
    published_at: datetime
    kind: str | None
    url: str | None
    caption: str | None
    collected_at: datetime | None
    views: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    quotes: int | None
    saves: int | None
    interactions: int | None = Field(description="likes + comments + shares + saves, as published")
    followers_at_publication: int | None
    engagement_rate_by_followers: float | None
    engagement_rate_by_views: float | None


class FlagOut(_Out):
    """A flag, exactly as ``collector flags --format json`` prints it."""

    id: int
    platform: str
    handle: str
    account_id: int
    kind: str
    severity: Severity
    status: FlagStatus
    window_start: datetime
    window_end: datetime
    score: float
    post_id: str | None = Field(description="the platform's id of the post it concerns, if any")
    post_url: str | None
    summary: str | None = Field(description="one sentence saying why, from the evidence")
    evidence: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class CampaignCreatorSummary(_Out):
    """One creator's part of a campaign: its cost and what it returned."""

    creator_id: int | None = Field(description="null for a creator who is not watched")
    name: str
    paid: bool | None = Field(description="whether the campaign pays this creator")
    cost: Decimal | None
    currency: str | None
    posts: int | None
    views: int | None
    interactions: int | None
    engagement_rate: float | None
    followers_gained: int | None
    cost_per_engagement: float | None
    cost_per_view: float | None
    cost_per_follower_gained: float | None
    orders: int | None
    revenue: Decimal | None
    roi: float | None
    cost_per_order: float | None
    undisclosed_posts: int | None


class CampaignSummary(_Out):
    """A campaign, its creators and its totals (null where an input is missing)."""

    id: int
    name: str
    brand: str | None
    starts_on: date | None
    ends_on: date | None
    status: Literal["upcoming", "running", "ended"] | None
    currency: str | None
    markers: dict[str, Any]
    posts: int | None
    views: int | None
    interactions: int | None
    engagement_rate: float | None
    followers_gained: int | None
    cost: Decimal | None
    cost_per_engagement: float | None
    cost_per_view: float | None
    cost_per_follower_gained: float | None
    orders: int | None
    revenue: Decimal | None
    roi: float | None
    cost_per_order: float | None
    undisclosed_posts: int | None
    metrics_source: str = Field(
        description="what computed the figures; 'none' when campaign metrics are not available"
    )
    creators: list[CampaignCreatorSummary]


class CampaignPost(_Out):
    """A post the campaign counts, with its latest counts and its sponsorship disclosure."""

    post_id: int
    account_id: int
    platform: str
    handle: str
    creator_name: str | None
    published_at: datetime
    url: str | None
    caption: str | None
    views: int | None
    interactions: int | None
    engagement_rate_by_followers: float | None
    disclosure: str | None = Field(description="the disclosure found in the caption, or null")


class Health(_Out):
    """The process answers."""

    status: Literal["ok"]


class Readiness(_Out):
    """Whether the database answers and its schema is the one this version reads."""

    status: Literal["ready", "not_ready"]
    database: Literal["reachable", "unreachable"]
    schema_revision: str | None
    head_revision: str | None
    problem: str | None

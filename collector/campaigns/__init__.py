"""Campaigns: which posts belong to them, what they returned, whether they were disclosed.

A campaign is defined in ``watchlist.yaml`` (name, brand, start, end, hashtags, mentions,
promo codes, links, creators with their cost and currency) and written to the database by
:func:`sync_campaigns`. From there:

- :mod:`~collector.campaigns.markers` matches captions against a campaign's markers (case-,
  accent- and width-insensitive; French, Arabic, Darija in Latin letters with Arabizi digits);
- :mod:`~collector.campaigns.attribution` puts a post in a campaign when it falls in the
  campaign's dates and carries a marker, with manual overrides per post (``campaign_post``);
- :mod:`~collector.campaigns.metrics` computes per creator and per campaign: posts, views,
  interactions, engagement rates, followers gained, costs per engagement / view / follower and,
  with imported conversions, revenue, ROI and cost per order — each a :class:`Figure` that says
  what it is computed from and is None (never 0) when an input is missing;
- :mod:`~collector.campaigns.disclosure` raises a ``disclosure`` flag (medium) on a paid
  campaign post whose caption carries no sponsorship disclosure;
- :mod:`~collector.campaigns.tiers` gives each account its tier and each tier an engagement
  band calibrated on the watchlist;
- :mod:`~collector.campaigns.conversions` imports orders and revenue from CSV;
- :mod:`~collector.campaigns.report` renders ``collector report`` (one self-contained HTML file);
- :mod:`~collector.campaigns.commands` adds ``collector report`` and ``collector campaigns ...``.

When attribution runs: after every daemon pass that stored posts (:func:`after_pass_hook`),
before every report, and on demand with ``collector campaigns attribute``. Readers such as the
dashboard only read ``campaign_post``; they may call :func:`refresh` at start-up.

The read API, for the dashboard and ``/api/campaigns`` (all read-only; ``clock`` returns the
current UTC time and defaults to the wall clock)::

    campaign_summaries(engine, *, clock, include_removed=False) -> list[CampaignSummary]
    campaign_summary(engine, campaign_id, *, clock) -> CampaignSummary
    creator_metrics(engine, creator_id, *, clock) -> list[CreatorMetrics]   # one per campaign
    account_engagement(engine, *, now, days=90, platform=None) -> list[AccountEngagement]
    tier_of(followers) -> "nano" | "micro" | "mid" | "macro" | "mega" | None
    tier_bands(engine, *, now, platform=None) -> dict[tier, TierBand]      # .low .median .high
    band_position(rate, band) -> "below" | "within" | "above" | None

``CampaignSummary`` has ``id, name, brand, starts_on, ends_on, status`` (upcoming / running /
ended), ``removed``, ``markers``, ``as_of``, ``totals: Figures``, ``creators:
tuple[CreatorMetrics]`` (each with ``creator_id, name, paid, accounts, figures: Figures``) and
``post_rows: tuple[CampaignPostRow]``; every object has ``as_json()`` (Decimal as exact
strings). For flat readers, a summary and a creator also expose each figure's bare value as an
attribute (``summary.roi``, ``creator.views``, ``creator.currency``: the cost's currency).
``Figures`` holds ``posts`` and ``undisclosed_posts`` (counts) and the :class:`Figure` fields
``views, interactions, engagement_rate_by_followers, engagement_rate_by_views,
followers_gained, cost, cost_per_engagement, cost_per_view, cost_per_follower_gained, orders,
revenue, roi, cost_per_order``; a ``Figure`` has ``value``, ``formula``, ``inputs``, ``missing``
(a key of :data:`MISSING_REASONS`), ``complete`` and ``unit`` (the currency of money).

Writers::

    sync_campaigns(engine, watchlist, now) -> SyncedCampaigns   # in the daemon's watchlist sync
    refresh(engine, *, now, watchlist=None) -> Refreshed   # sync, attribute, check disclosures
    after_pass_hook(engine, db=None, *, clock) -> async hook     # Daemon(after_pass=[...])
    seed_demo_conversions(engine, *, now) -> int                 # `collector demo` only
"""

from __future__ import annotations

from collector.campaigns.attribution import (
    AttributionResult,
    CampaignNotFound,
    PostNotFound,
    assign,
    attribute,
    unassign,
)
from collector.campaigns.demo import seed_demo_conversions
from collector.campaigns.disclosure import DisclosureResult, check_disclosures, find_disclosure
from collector.campaigns.engagement import AccountEngagement, account_engagement
from collector.campaigns.jobs import Refreshed, after_pass_hook, refresh
from collector.campaigns.markers import CampaignMarkers, MarkerMatch, normalise
from collector.campaigns.metrics import (
    MISSING_REASONS,
    CampaignPostRow,
    CampaignSummary,
    CreatorMetrics,
    Figure,
    Figures,
    campaign_summaries,
    campaign_summary,
    creator_metrics,
)
from collector.campaigns.sync import SyncedCampaigns, sync_campaigns
from collector.campaigns.tiers import TIERS, Tier, TierBand, band_position, tier_bands, tier_of

__all__ = [
    "MISSING_REASONS",
    "TIERS",
    "AccountEngagement",
    "AttributionResult",
    "CampaignMarkers",
    "CampaignNotFound",
    "CampaignPostRow",
    "CampaignSummary",
    "CreatorMetrics",
    "DisclosureResult",
    "Figure",
    "Figures",
    "MarkerMatch",
    "PostNotFound",
    "Refreshed",
    "SyncedCampaigns",
    "Tier",
    "TierBand",
    "account_engagement",
    "after_pass_hook",
    "assign",
    "attribute",
    "band_position",
    "campaign_summaries",
    "campaign_summary",
    "check_disclosures",
    "creator_metrics",
    "find_disclosure",
    "normalise",
    "refresh",
    "seed_demo_conversions",
    "sync_campaigns",
    "tier_bands",
    "tier_of",
    "unassign",
]

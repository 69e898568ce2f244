"""The campaigns feature, as the dashboard sees it: tiers, tier bands and campaign figures.

``collector.campaigns`` owns the definitions (tier thresholds, band calibration, attribution,
ROI). This module calls it when it is installed; without it the dashboard still serves the
``campaign`` table, with every figure ``None`` (unknown, never 0) and ``metrics_source`` saying
so, and the README's tier thresholds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import ModuleType
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.engine import Engine

from collector.server.schemas import CampaignCreatorSummary, CampaignPost, CampaignSummary, Tier
from collector.storage.models import Campaign, CampaignCreator, Creator

__all__ = ["Band", "account_engagement", "bands", "detail", "summaries", "tier_of"]

CAMPAIGN: Table = Campaign.__table__  # type: ignore[attr-defined]
CAMPAIGN_CREATOR: Table = CampaignCreator.__table__  # type: ignore[attr-defined]
CREATOR: Table = Creator.__table__  # type: ignore[attr-defined]

# The README's tiers, used only when the campaigns feature is not installed.
_FALLBACK_FLOORS: tuple[tuple[Tier, int], ...] = (
    ("mega", 1_000_000),
    ("macro", 500_000),
    ("mid", 100_000),
    ("micro", 10_000),
    ("nano", 0),
)

_CREATOR_FIGURES = (
    "posts",
    "views",
    "interactions",
    "engagement_rate",
    "followers_gained",
    "cost_per_engagement",
    "cost_per_view",
    "cost_per_follower_gained",
    "orders",
    "revenue",
    "roi",
    "cost_per_order",
    "undisclosed_posts",
)
_CAMPAIGN_FIGURES = (*_CREATOR_FIGURES, "cost")


def _feature(name: str) -> ModuleType | None:
    """``collector.campaigns.<name>`` if this build has it."""
    module = f"collector.campaigns.{name}"
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise


def tier_of(followers: int | None) -> Tier | None:
    """The tier of an audience size (the campaigns feature's thresholds); None if unknown."""
    tiers = _feature("tiers")
    if tiers is not None:
        return cast(Tier | None, tiers.tier_of(followers))
    if followers is None:
        return None
    return next(tier for tier, floor in _FALLBACK_FLOORS if followers >= floor)


def account_engagement(
    engine: Engine, now: datetime, account_ids: Sequence[int] | None
) -> dict[int, tuple[float | None, int]] | None:
    """(median engagement rate, recent posts) per account from the feature; None without it."""
    engagement = _feature("engagement")
    if engagement is None:
        return None
    rows = engagement.account_engagement(engine, now=now, account_ids=account_ids)
    return {
        int(row.account_id): (
            None if row.engagement_rate is None else float(row.engagement_rate),
            int(row.posts),
        )
        for row in rows
    }


@dataclass(frozen=True)
class Band:
    """Where a tier's engagement rates by followers are expected to fall (fractions)."""

    tier: Tier
    low: float
    median: float
    high: float
    accounts: int


def bands(engine: Engine, now: datetime) -> dict[Tier, Band]:
    """Each tier's engagement band, calibrated on the watchlist; empty without the feature."""
    tiers = _feature("tiers")
    if tiers is None:
        return {}
    found: Mapping[Tier, Any] = tiers.tier_bands(engine, now=now)
    return {
        tier: Band(tier, float(b.low), float(b.median), float(b.high), int(b.accounts))
        for tier, b in found.items()
    }


def _figure(source: Any, name: str) -> Any:
    value = getattr(source, name, None)
    if isinstance(value, Decimal | int | float | str) or value is None:
        return value
    return None


def _from_feature(item: Any) -> CampaignSummary:
    creators = [
        CampaignCreatorSummary(
            creator_id=None if c.creator_id is None else int(c.creator_id),
            name=str(c.name),
            paid=getattr(c, "paid", None),
            cost=_figure(c, "cost"),
            currency=getattr(c, "currency", None),
            **{name: _figure(c, name) for name in _CREATOR_FIGURES},
        )
        for c in getattr(item, "creators", ())
    ]
    return CampaignSummary(
        id=int(item.id),
        name=str(item.name),
        brand=getattr(item, "brand", None),
        starts_on=getattr(item, "starts_on", None),
        ends_on=getattr(item, "ends_on", None),
        status=getattr(item, "status", None),
        currency=getattr(item, "currency", None),
        markers=dict(getattr(item, "markers", None) or {}),
        metrics_source="collector.campaigns",
        creators=creators,
        **{name: _figure(item, name) for name in _CAMPAIGN_FIGURES},
    )


def _from_tables(engine: Engine) -> list[CampaignSummary]:
    with engine.connect() as conn:
        campaigns = conn.execute(select(CAMPAIGN).order_by(CAMPAIGN.c.starts_on, CAMPAIGN.c.name))
        campaign_rows = campaigns.fetchall()
        members = conn.execute(
            select(
                CAMPAIGN_CREATOR.c.campaign_id,
                CAMPAIGN_CREATOR.c.creator_id,
                CAMPAIGN_CREATOR.c.cost,
                CAMPAIGN_CREATOR.c.currency,
                CREATOR.c.name,
            )
            .join(CREATOR, CREATOR.c.id == CAMPAIGN_CREATOR.c.creator_id)
            .order_by(CREATOR.c.name)
        ).fetchall()
    unknown = dict.fromkeys(_CREATOR_FIGURES)
    result = []
    for row in campaign_rows:
        own = [m for m in members if m.campaign_id == row.id]
        currencies = {m.currency for m in own if m.currency}
        costs = [m.cost for m in own]
        # A total is known only when every creator's cost is, in one currency.
        total = (
            sum(costs, Decimal(0))
            if own and all(c is not None for c in costs) and len(currencies) == 1
            else None
        )
        result.append(
            CampaignSummary(
                id=int(row.id),
                name=row.name,
                brand=row.brand,
                starts_on=row.starts_on,
                ends_on=row.ends_on,
                status=None,
                currency=next(iter(currencies)) if len(currencies) == 1 else None,
                markers=dict(row.markers or {}),
                cost=total,
                metrics_source="none",
                creators=[
                    CampaignCreatorSummary(
                        creator_id=int(m.creator_id),
                        name=m.name,
                        paid=None,
                        cost=m.cost,
                        currency=m.currency,
                        **unknown,
                    )
                    for m in own
                ],
                **{k: None for k in _CAMPAIGN_FIGURES if k != "cost"},
            )
        )
    return result


def _feature_summaries(now: datetime | None) -> Callable[[Engine], list[Any]] | None:
    metrics = _feature("metrics")
    compute: Callable[..., list[Any]] | None = getattr(metrics, "campaign_summaries", None)
    if compute is None:
        return None
    if now is None:
        return compute
    # The server's clock, so a campaign's "now" is the dashboard's (tests fix it).
    return lambda engine: compute(engine, clock=lambda: now)


def summaries(engine: Engine, now: datetime | None = None) -> list[CampaignSummary]:
    """Every campaign with its figures: from the campaigns feature, else from the tables."""
    compute = _feature_summaries(now)
    if compute is None:
        return _from_tables(engine)
    return [_from_feature(item) for item in compute(engine)]


def detail(
    engine: Engine, campaign_id: int, now: datetime
) -> tuple[CampaignSummary, list[CampaignPost]] | None:
    """One campaign and the posts it counts (none listed without the campaigns feature)."""
    compute = _feature_summaries(now)
    if compute is None:
        found = [c for c in _from_tables(engine) if c.id == campaign_id]
        return (found[0], []) if found else None
    for item in compute(engine):
        if int(item.id) == campaign_id:
            posts = [
                CampaignPost(
                    post_id=int(p.post_id),
                    account_id=int(p.account_id),
                    platform=p.platform,
                    handle=p.handle,
                    creator_name=p.creator_name,
                    published_at=p.published_at,
                    url=p.url,
                    caption=p.caption,
                    views=p.views,
                    interactions=p.interactions,
                    engagement_rate_by_followers=p.engagement_rate_by_followers,
                    disclosure=p.disclosure,
                )
                for p in getattr(item, "post_rows", ())
            ]
            return _from_feature(item), posts
    return None

"""Audience tiers and the engagement-rate band expected of each, calibrated on the watchlist.

Tiers by followers (the README's definitions; each range includes its lower bound):

======  =================
nano    below 10,000 (the industry's 1K-10K, and smaller accounts)
micro   10,000 - 100,000
mid     100,000 - 500,000
macro   500,000 - 1,000,000
mega    1,000,000 and more
======  =================

The band of a tier is where the middle 80 % of its accounts' engagement rates fall (10th to 90th
percentile) and its median. Published averages drift fast and disagree (platforms.md), so they
are only a prior: the prior median of a tier is the geometric mean of the published figures
for it, and its prior spread puts the 10th and 90th percentiles at 2.5 times below and above
the median (engagement rates spread roughly log-normally across accounts). The watched accounts
then pull the band toward what they show: in log space the observed median weighs
``n / (n + 5)`` against the prior (5 pseudo-accounts), and the observed spread (1.4826 × MAD)
``(n - 1) / (n - 1 + 5)``; a tier with no watched account keeps its prior. An account's rate is
the median over its recent posts (:mod:`collector.campaigns.engagement`), counted only with at
least :data:`MIN_POSTS` posts.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.engine import Engine

from collector.campaigns.engagement import (
    DEFAULT_WINDOW_DAYS,
    AccountEngagement,
    account_engagement,
)

__all__ = [
    "MIN_POSTS",
    "PRIOR_MEDIANS",
    "PUBLISHED_RATES",
    "TIERS",
    "TIER_FLOORS",
    "Position",
    "Tier",
    "TierBand",
    "band_position",
    "calibrate",
    "prior_band",
    "tier_bands",
    "tier_of",
]

Tier = Literal["nano", "micro", "mid", "macro", "mega"]
TIERS: tuple[Tier, ...] = ("nano", "micro", "mid", "macro", "mega")
#: The smallest follower count of each tier.
TIER_FLOORS: Mapping[Tier, int] = {
    "nano": 0,
    "micro": 10_000,
    "mid": 100_000,
    "macro": 500_000,
    "mega": 1_000_000,
}
#: Published average engagement rates by followers (Instagram), from platforms.md.
PUBLISHED_RATES: Mapping[Tier, tuple[float, ...]] = {
    "nano": (0.0271, 0.0178, 0.0219),
    "micro": (0.0181, 0.0054),
    "mid": (0.0124,),
    "macro": (0.0061, 0.0087),
    "mega": (0.0068, 0.0094, 0.0033),
}
PRIOR_MEDIANS: Mapping[Tier, float] = {
    tier: math.exp(statistics.fmean(math.log(rate) for rate in rates))
    for tier, rates in PUBLISHED_RATES.items()
}
#: Posts an account needs in the window before its rate calibrates its tier.
MIN_POSTS = 3
# z of the 90th percentile of a normal distribution: the band is the middle 80 %.
_Z90 = 1.2815515655446004
_PRIOR_SIGMA = math.log(2.5) / _Z90
_PRIOR_WEIGHT = 5.0
# MAD of a normal sample, scaled to its standard deviation.
_MAD_TO_SIGMA = 1.4826

Position = Literal["below", "within", "above"]


def tier_of(followers: int | None) -> Tier | None:
    """The tier of an audience size; None when the count is unknown."""
    if followers is None:
        return None
    found: Tier = "nano"
    for tier in TIERS:
        if followers >= TIER_FLOORS[tier]:
            found = tier
    return found


@dataclass(frozen=True)
class TierBand:
    """Where a tier's engagement rates by followers fall (fractions: 0.012 is 1.2 %)."""

    tier: Tier
    low: float
    median: float
    high: float
    #: Watched accounts the band was calibrated on.
    accounts: int
    #: Share of the median that still comes from the published prior (1.0: prior only).
    prior_weight: float

    def as_tuple(self) -> tuple[float, float, float]:
        """(low, median, high)."""
        return (self.low, self.median, self.high)


def prior_band(tier: Tier) -> TierBand:
    """The band from published figures alone."""
    return _band(tier, math.log(PRIOR_MEDIANS[tier]), _PRIOR_SIGMA, 0, 1.0)


def _band(tier: Tier, log_median: float, sigma: float, accounts: int, weight: float) -> TierBand:
    return TierBand(
        tier=tier,
        low=math.exp(log_median - _Z90 * sigma),
        median=math.exp(log_median),
        high=math.exp(log_median + _Z90 * sigma),
        accounts=accounts,
        prior_weight=weight,
    )


def calibrate(tier: Tier, rates: Iterable[float]) -> TierBand:
    """The band of a tier given its watched accounts' engagement rates."""
    logs = [math.log(rate) for rate in rates if rate > 0]
    n = len(logs)
    prior_median = math.log(PRIOR_MEDIANS[tier])
    if n == 0:
        return prior_band(tier)
    weight = _PRIOR_WEIGHT / (n + _PRIOR_WEIGHT)
    log_median = (1.0 - weight) * statistics.median(logs) + weight * prior_median
    variance = _PRIOR_SIGMA**2
    if n >= 2:
        centre = statistics.median(logs)
        sigma = _MAD_TO_SIGMA * statistics.median(abs(x - centre) for x in logs)
        spread_weight = (n - 1) / (n - 1 + _PRIOR_WEIGHT)
        variance = spread_weight * sigma**2 + (1.0 - spread_weight) * _PRIOR_SIGMA**2
    return _band(tier, log_median, math.sqrt(variance), n, weight)


def tier_bands(
    engine: Engine,
    *,
    now: datetime,
    platform: str | None = None,
    days: int = DEFAULT_WINDOW_DAYS,
    accounts: Iterable[AccountEngagement] | None = None,
) -> dict[Tier, TierBand]:
    """Every tier's band, calibrated on the watched accounts (of one platform, if given).

    ``accounts`` reuses rates already computed by
    :func:`~collector.campaigns.engagement.account_engagement`.
    """
    rows = (
        list(accounts)
        if accounts is not None
        else account_engagement(engine, now=now, days=days, platform=platform)
    )
    by_tier: dict[Tier, list[float]] = {tier: [] for tier in TIERS}
    for row in rows:
        if platform is not None and row.platform != platform:
            continue
        if row.status != "active":
            continue
        tier = tier_of(row.followers)
        if tier is None or row.engagement_rate is None or row.posts_with_rate < MIN_POSTS:
            continue
        by_tier[tier].append(row.engagement_rate)
    return {tier: calibrate(tier, by_tier[tier]) for tier in TIERS}


def band_position(rate: float | None, band: TierBand) -> Position | None:
    """Whether a rate falls below, within or above a band; None when the rate is unknown."""
    if rate is None:
        return None
    if rate < band.low:
        return "below"
    if rate > band.high:
        return "above"
    return "within"

"""Synthetic creators for detector tests: seeded, 6-hourly, with posts that follow the audience."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from collector.detection.series import PostTable, ProfileSeries

START = int(datetime(2026, 1, 5, tzinfo=UTC).timestamp())  # a Monday
STEP = 6 * 3600
DAY = 86400


@dataclass
class Creator:
    """One account's organic series, with knobs for the scenarios the tests need."""

    followers: float = 50_000.0
    growth_per_day: float = 0.002
    days: int = 90
    seed: int = 1
    following: float = 800.0
    like_rate: float = 0.02
    views: bool = True
    account_id: int = 1
    # Index of each snapshot → followers added there (purchases, purges).
    steps: dict[int, float] = field(default_factory=dict)
    # Snapshot indexes that are missing (a collection gap).
    missing: set[int] = field(default_factory=set)
    # Post index → multiplier of every count (a viral post) or of likes only (pods).
    viral_posts: dict[int, float] = field(default_factory=dict)
    pod_posts: dict[int, float] = field(default_factory=dict)
    # Snapshot index → (followers added per interval, for how many intervals) of a viral rise.
    rises: dict[int, tuple[float, int]] = field(default_factory=dict)
    following_steps: dict[int, float] = field(default_factory=dict)
    # Snapshot index → growth multiplier from there on (an account that starts growing faster).
    speedup: dict[int, float] = field(default_factory=dict)
    # Spread of the multiplicative noise on each interval's gains.
    volatility: float = 0.3

    def n(self) -> int:
        return self.days * 4

    def times(self) -> NDArray[np.int64]:
        return START + np.arange(self.n(), dtype=np.int64) * STEP

    def organic(self) -> NDArray[np.float64]:
        """Organic followers: Poisson gains with a weekly and daily rhythm."""
        rng = np.random.default_rng(self.seed)
        t = self.times()
        weekday = ((t - START) // DAY) % 7
        rhythm = (1 + 0.3 * np.cos(2 * np.pi * weekday / 7)) * np.tile(
            [0.6, 0.9, 1.3, 1.2], self.n() // 4
        )
        mean = self.followers * self.growth_per_day / 4 * rhythm
        for at, factor in self.speedup.items():
            mean[at:] *= factor
        # New followers come in bursts after each post, as its audience discovers the account.
        quality = np.random.default_rng(self.seed + 1000).lognormal(-0.1, 0.45, self.days)
        published = (np.arange(0, self.days, 2.5) * 4 + 14 / 6).astype(np.int64)
        burst = np.zeros(self.n())
        for q, at in zip(quality, published, strict=False):
            age = np.arange(self.n() - at)
            burst[at:] += q * np.exp(-age / 3.0)
        mean = mean * (0.5 + 0.5 * burst / max(float(burst.mean()), 1e-9))
        noise = rng.lognormal(-(self.volatility**2) / 2, self.volatility, self.n())
        gains = rng.poisson(mean * noise)
        gains[0] = 0
        for at, (per_interval, count) in self.rises.items():
            gains[at : at + count] += int(per_interval)
        return self.followers + np.cumsum(gains).astype(np.float64)

    def series(self) -> ProfileSeries:
        """The observed profile series (with steps applied and gaps removed)."""
        f = self.organic()
        for at, amount in self.steps.items():
            f[at:] += amount
        g = np.full(self.n(), self.following)
        for at, amount in self.following_steps.items():
            g[at:] += amount
        keep = np.array([i not in self.missing for i in range(self.n())])
        return ProfileSeries.single(
            self.times()[keep], f[keep], g[keep], account_id=self.account_id
        )

    def posts(self) -> PostTable:
        """A post every 2.5 days; counts follow the organic audience (and the multipliers)."""
        rng = np.random.default_rng(self.seed + 1000)
        audience = self.organic()
        published = START + (np.arange(0, self.days, 2.5) * DAY + 14 * 3600).astype(np.int64)
        index = (published - START) // STEP
        quality = rng.lognormal(-0.1, 0.45, published.size)
        viral = np.array([self.viral_posts.get(i, 1.0) for i in range(published.size)])
        pods = np.array([self.pod_posts.get(i, 1.0) for i in range(published.size)])
        organic_likes = audience[index] * self.like_rate * quality * viral
        views = organic_likes * 15 * rng.lognormal(0, 0.1, published.size)
        comments = organic_likes * 0.04 * rng.lognormal(0, 0.2, published.size)
        shares = organic_likes * 0.05 * rng.lognormal(0, 0.2, published.size)
        likes = organic_likes * pods
        return PostTable.single(
            published,
            likes=np.round(likes),
            views=np.round(views) if self.views else None,
            comments=np.round(comments),
            shares=np.round(shares),
            collected=published + 7 * DAY,
            account_id=self.account_id,
        )


def at_day(day: float) -> int:
    """The snapshot index at ``day`` days after the start."""
    return int(day * 4)


def post_near(day: float) -> int:
    """The index of the post published on the day nearest ``day``."""
    return round(day / 2.5)

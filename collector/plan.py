"""``collector plan``: what one pass costs per platform, and how often the quota allows it.

API quotas, not CPU, bound how many creators a deployment can watch. The plan multiplies each
connector's minimum calls per pass (its ``pass_cost``, from its batch sizes) by the configured
interval and sets that against the platform's published daily capacity.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from collector.settings import Settings
from connectors import registry
from connectors.base import Connector

__all__ = ["PlatformPlan", "make_plan"]

DAY = timedelta(days=1)


@dataclass(frozen=True)
class PlatformPlan:
    """The cost of one platform's collection at its configured interval."""

    platform: str
    accounts: int
    interval: timedelta
    calls_per_pass: dict[str, int]
    units_per_pass: int
    units_per_day: float
    capacity_per_day: float | None
    shortest_interval: timedelta | None
    problem: str | None = None

    @property
    def fits(self) -> bool | None:
        """Whether the configured interval stays inside the daily capacity (None: unknown)."""
        if self.capacity_per_day is None:
            return None
        return self.units_per_day <= self.capacity_per_day


def _stats_posts(connector: Connector, accounts: int, posts_per_week: float) -> int:
    """Posts a pass must refresh through a batch endpoint, on average."""
    if not connector.post_batch_size:
        return 0
    config = connector.config
    per_day = posts_per_week / 7
    horizon_days = config.posts_horizon / DAY
    young = per_day * min(2.0, horizon_days)  # polled every pass
    older = per_day * max(horizon_days - 2.0, 0.0)  # polled once a day
    passes_per_day = DAY / config.interval
    per_pass = young + older / max(passes_per_day, 1.0)
    return round(accounts * per_pass)


def make_plan(settings: Settings, *, posts_per_week: float = 3.5) -> list[PlatformPlan]:
    """One plan per configured platform, from the watchlist's account counts."""
    counts: dict[str, int] = {}
    for platform, _handle, _creator in settings.watchlist.accounts():
        counts[platform] = counts.get(platform, 0) + 1
    plans = []
    for name, config in sorted(settings.platforms.items()):
        accounts = counts.get(name, 0)
        try:
            connector = registry.load(name)(config)
        except Exception as exc:
            plans.append(
                PlatformPlan(
                    name,
                    accounts,
                    config.interval,
                    {},
                    0,
                    0.0,
                    None,
                    None,
                    problem=f"connector unavailable: {exc}",
                )
            )
            continue
        calls = connector.pass_cost(
            accounts, stats_posts=_stats_posts(connector, accounts, posts_per_week)
        )
        units = sum(n * connector.units_per_call.get(endpoint, 1) for endpoint, n in calls.items())
        passes_per_day = DAY / config.interval
        capacity = connector.budget.capacity_per_day()
        shortest = timedelta(seconds=86400 * units / capacity) if capacity and units else None
        plans.append(
            PlatformPlan(
                platform=name,
                accounts=accounts,
                interval=config.interval,
                calls_per_pass=calls,
                units_per_pass=units,
                units_per_day=units * passes_per_day,
                capacity_per_day=capacity,
                shortest_interval=shortest,
                problem=None if config.enabled else "disabled (enabled = false)",
            )
        )
    return plans

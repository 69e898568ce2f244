"""Call budgets: each platform's quota, fed by that platform's own signals.

A connector asks its budget before every call (:meth:`Budget.acquire`) and shows it every
response's headers (:meth:`Budget.observe`). The budget paces calls to stay inside the quota
rather than running into 429s, and when the quota cannot be respected it raises the same typed
errors a platform would (``QuotaExhausted`` with the reset time, ``RateLimited`` with the time to
retry), so the pipeline reschedules instead of retrying in a loop.

- :class:`Unlimited`: no known quota (the demo platform).
- :class:`DailyUnits`: a unit ledger that resets at a wall-clock time in a given zone (YouTube:
  10,000 units a day, midnight Pacific; TikTok Research: 1,000 requests a day, midnight UTC).
- :class:`HeaderWindow`: remaining/reset pairs read from response headers, per endpoint
  (X ``x-rate-limit-*``, Bluesky ``RateLimit-*``, Mastodon ``X-RateLimit-*``).
- :class:`MetaUsage`: Meta's percentage headers (``X-Business-Use-Case-Usage``, ``X-App-Usage``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx

from connectors.errors import QuotaExhausted, RateLimited
from connectors.http import RESET_HEADERS, Clock, retry_at_from_headers, utcnow

__all__ = ["Budget", "DailyUnits", "HeaderWindow", "MetaUsage", "Unlimited"]

Sleep = Callable[[float], Awaitable[None]]


class Budget:
    """Base class: the budget a connector consults before each call.

    Args:
        clock: Returns the current UTC time.
        sleep: Awaited to pace calls; tests inject one that records instead of sleeping.
        max_wait_seconds: The longest a call is held back for pacing; a longer wait raises
            instead, so a pass never stalls behind a quota.
    """

    def __init__(
        self, *, clock: Clock = utcnow, sleep: Sleep = asyncio.sleep, max_wait_seconds: float = 60
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.max_wait_seconds = max_wait_seconds

    async def acquire(self, endpoint: str, units: int = 1) -> None:
        """Wait until a call to ``endpoint`` costing ``units`` fits, or raise why it cannot."""

    def observe(self, endpoint: str, headers: Mapping[str, str]) -> None:
        """Learn from a response's headers."""

    def seed(self, used_units: int, since: datetime) -> None:
        """Account for units spent before a restart (read back from ``collection_run``)."""

    def period_start(self) -> datetime | None:
        """Start of the current quota period, if the budget has one (for :meth:`seed`)."""
        return None

    def capacity_per_day(self) -> float | None:
        """Units available per day, if known; ``collector plan`` divides a pass's cost by it."""
        return None

    async def _hold(self, until: datetime, why: str) -> None:
        wait = (until - self.clock()).total_seconds()
        if wait <= 0:
            return
        if wait > self.max_wait_seconds:
            raise RateLimited(f"{why}; calls resume at {until.isoformat()}", retry_at=until)
        await self.sleep(wait)


class Unlimited(Budget):
    """No quota is published: nothing to pace."""


class DailyUnits(Budget):
    """A daily ledger of quota units that resets at midnight in ``zone``.

    Calls stop ``reserve`` units short of ``limit`` so that a pass in flight, another tool on the
    same key, or a miscount never pushes the project over; a platform's own quota error is the
    last line of defence, not the plan.
    """

    def __init__(
        self, limit: int, *, zone: str = "UTC", reserve: int = 0, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.limit = limit
        self.zone = ZoneInfo(zone)
        self.reserve = reserve
        self.used = 0
        self._period = self.period_start()

    def period_start(self) -> datetime:
        local = self.clock().astimezone(self.zone)
        return datetime.combine(local.date(), time(0), self.zone).astimezone(UTC)

    def reset_at(self) -> datetime:
        """When the current period ends."""
        local_start = self.period_start().astimezone(self.zone)
        # Add a calendar day in local time, so DST days of 23 or 25 hours stay right.
        next_day = datetime.combine(local_start.date() + timedelta(days=1), time(0), self.zone)
        return next_day.astimezone(UTC)

    def _roll(self) -> None:
        period = self.period_start()
        if period != self._period:
            self._period = period
            self.used = 0

    def seed(self, used_units: int, since: datetime) -> None:
        self._roll()
        if since >= self._period:
            self.used = max(self.used, used_units)

    def capacity_per_day(self) -> float:
        return float(self.limit - self.reserve)

    @property
    def remaining(self) -> int:
        """Units left in the current period, reserve excluded."""
        self._roll()
        return max(self.limit - self.reserve - self.used, 0)

    async def acquire(self, endpoint: str, units: int = 1) -> None:
        self._roll()
        if self.used + units > self.limit - self.reserve:
            reset = self.reset_at()
            raise QuotaExhausted(
                f"daily quota spent ({self.used} of {self.limit} units, {self.reserve} kept in "
                f"reserve); it resets at {reset.isoformat()}",
                reset_at=reset,
            )
        self.used += units

    def exhausted(self) -> None:
        """The platform said the quota is spent: believe it until the reset."""
        self._roll()
        self.used = self.limit


@dataclass
class _Window:
    remaining: int
    reset_at: datetime


class HeaderWindow(Budget):
    """Per-endpoint windows read from ``remaining``/``reset`` headers.

    When an endpoint's remaining calls drop to ``reserve``, the next call waits for the reset
    (or raises ``RateLimited`` if that is further away than ``max_wait_seconds``), so the
    platform never has to answer 429. Before the first response nothing is known, and calls go.
    """

    def __init__(
        self,
        *,
        remaining_header: str,
        reserve: int = 1,
        per_endpoint: bool = True,
        published_calls_per_day: float | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.published_calls_per_day = published_calls_per_day
        self.remaining_header = remaining_header.lower()
        self.reserve = reserve
        self.per_endpoint = per_endpoint
        self.windows: dict[str, _Window] = {}

    def capacity_per_day(self) -> float | None:
        return self.published_calls_per_day

    def _key(self, endpoint: str) -> str:
        return endpoint if self.per_endpoint else "*"

    def observe(self, endpoint: str, headers: Mapping[str, str]) -> None:
        wanted = (self.remaining_header, *RESET_HEADERS)
        read: dict[str, str] = {}
        if isinstance(headers, httpx.Headers):
            # Its names come lowercased; one pass over them costs a quarter of looking up the
            # four read (each lookup scans them all). A repeated one reads as Headers.get reads
            # it: its values joined.
            for name, value in headers.multi_items():
                if name in wanted:
                    read[name] = f"{read[name]}, {value}" if name in read else value
        else:
            read = {name: v for k, v in headers.items() if (name := k.lower()) in wanted}
        found = read.pop(self.remaining_header, None)
        resets = read
        raw = (found or "").strip()
        if not raw.lstrip("-").isdigit():
            return
        now = self.clock()
        reset = retry_at_from_headers(resets, now)
        self.windows[self._key(endpoint)] = _Window(int(raw), reset or now + timedelta(minutes=1))

    async def acquire(self, endpoint: str, units: int = 1) -> None:
        window = self.windows.get(self._key(endpoint))
        if window is None:
            return
        now = self.clock()
        if now >= window.reset_at:
            del self.windows[self._key(endpoint)]
            return
        if window.remaining - units < self.reserve:
            await self._hold(window.reset_at, f"{endpoint}: rate-limit window nearly spent")
            self.windows.pop(self._key(endpoint), None)
            return
        window.remaining -= units


class MetaUsage(Budget):
    """Meta's usage headers: percentages of the app's and the business's budgets.

    Above ``pace_from`` percent, calls are spaced out; at ``stop_at`` percent, the platform is
    paused for ``estimated_time_to_regain_access`` minutes (or an hour if Meta does not say).
    """

    def __init__(self, *, pace_from: float = 75.0, stop_at: float = 95.0, **kwargs: object):
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.pace_from = pace_from
        self.stop_at = stop_at
        self.usage_percent = 0.0
        self.regain_at: datetime | None = None

    def observe(self, endpoint: str, headers: Mapping[str, str]) -> None:
        lowered = {k.lower(): v for k, v in headers.items()}
        highest = 0.0
        regain_minutes = 0.0
        for name in ("x-business-use-case-usage", "x-app-usage", "x-ad-account-usage"):
            raw = lowered.get(name)
            if not raw:
                continue
            try:
                data = json.loads(raw)
            except ValueError:
                continue
            entries: list[Mapping[str, object]] = []
            if isinstance(data, Mapping):
                values = list(data.values())
                if all(isinstance(v, list) for v in values):
                    entries = [e for v in values for e in v if isinstance(e, Mapping)]
                else:
                    entries = [data]
            for entry in entries:
                for key in ("call_count", "total_time", "total_cputime", "acc_id_util_pct"):
                    value = entry.get(key)
                    if isinstance(value, int | float):
                        highest = max(highest, float(value))
                regain = entry.get("estimated_time_to_regain_access")
                if isinstance(regain, int | float):
                    regain_minutes = max(regain_minutes, float(regain))
        self.usage_percent = highest
        now = self.clock()
        if regain_minutes > 0:
            self.regain_at = now + timedelta(minutes=regain_minutes)
        elif highest >= self.stop_at:
            self.regain_at = now + timedelta(hours=1)

    async def acquire(self, endpoint: str, units: int = 1) -> None:
        now = self.clock()
        if self.regain_at is not None:
            if now < self.regain_at:
                raise RateLimited(
                    f"Meta usage at {self.usage_percent:.0f}%; calls resume at "
                    f"{self.regain_at.isoformat()}",
                    retry_at=self.regain_at,
                )
            self.regain_at = None
            self.usage_percent = 0.0
        if self.usage_percent >= self.pace_from:
            # The closer to the cap, the longer the gap: usage decays over Meta's rolling hour.
            share = (self.usage_percent - self.pace_from) / max(self.stop_at - self.pace_from, 1)
            await self.sleep(min(self.max_wait_seconds, 1.0 + 30.0 * share))

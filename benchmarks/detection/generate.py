"""Labelled synthetic creators for the detection benchmark, written as ``collector import`` CSV.

Each creator is one account on one platform with 6-hourly profile snapshots and a post every 1–4
days, each post observed at a few ages (first pass after publication, then 1, 2, 7 and 30 days)
with the counts its platform publishes (YouTube subscribers floored to 3 significant figures;
views only where published). Every creator plays exactly one scenario:

- clean: ``organic`` (weekly and daily rhythm, over-dispersed count noise, follower gains that
  follow post engagement), ``viral`` (one post 10–30x, followers rise over days with it), ``gaps``
  (1–5 days without snapshots, so the next delta is a catch-up), ``nano`` (1K–6K followers),
  ``youtube_rounded`` (some just below a digit boundary, where the rounding step grows tenfold);
- labelled events: ``bought_step`` (+1K…+20K within one interval, engagement flat), ``drip``
  (near-constant +N per interval for 1–3 weeks), ``purge`` (−3…−15 % within a day), ``pods``
  (some posts' likes 3–10x what views and comments predict; one event per post), ``seesaw``
  (follow/unfollow cycles on the following count), ``round_jump`` (+1,000, +5,000… exactly),
  ``shared_farm`` (3–6 creators jumping by similar amounts in the same interval).

Bought followers never engage: posts scale with the organic audience only. Every labelled
event is sized to be visible to a person reading the series (at least 10x the account's typical
interval delta and 5 rounding units), so a miss is the detector's, not the data's.

The ground truth (``labels.json``) lists every creator with its scenario and whether it is clean,
every event (account, kind, window, post id for per-post events) and every trap window. An
event's window runs from the last snapshot before it to the last snapshot it changes. Output is a
pure function of ``--seed`` and ``--creators``.

Run: ``python benchmarks/detection/generate.py --creators 300 --seed 1 --out DIR``.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import json
import math
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = [
    "CLEAN_SCENARIOS",
    "DEFAULT_CREATORS",
    "DEFAULT_DAYS",
    "DEFAULT_START",
    "EVENT_SCENARIOS",
    "INTERVAL",
    "PER_POST_KINDS",
    "ZERO_FLAG_TRAPS",
    "CreatorLabel",
    "Dataset",
    "Event",
    "Labels",
    "PostRow",
    "ProfileRow",
    "floor_3_significant",
    "generate",
    "main",
    "write_dataset",
]

INTERVAL = timedelta(hours=6)
PER_DAY = 4
DEFAULT_START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, so weekday rhythm is easy to read
DEFAULT_DAYS = 120
DEFAULT_CREATORS = 300

CLEAN_SCENARIOS = ("organic", "viral", "gaps", "nano", "youtube_rounded")
EVENT_SCENARIOS = (
    "bought_step",
    "drip",
    "purge",
    "pods",
    "seesaw",
    "round_jump",
    "shared_farm",
)
#: Clean scenarios where even one medium/high flag is a failure (the issue's targets).
ZERO_FLAG_TRAPS = ("youtube_rounded", "gaps", "viral")
#: Event kinds that concern one post: matched by post id, one event per post.
PER_POST_KINDS = frozenset({"pods"})

# Share of creators per scenario; clean ones are the majority, as in a real watchlist.
SCENARIO_WEIGHTS: dict[str, float] = {
    "organic": 0.24,
    "viral": 0.08,
    "gaps": 0.08,
    "nano": 0.08,
    "youtube_rounded": 0.08,
    "bought_step": 0.08,
    "drip": 0.07,
    "purge": 0.07,
    "pods": 0.07,
    "seesaw": 0.05,
    "round_jump": 0.05,
    "shared_farm": 0.05,
}


@dataclass(frozen=True)
class _Traits:
    views: bool
    shares: bool
    following: bool
    rounded: bool = False


# What each platform publishes (README "Platforms"): YouTube has no following count and floors
# subscribers; Instagram business discovery publishes neither views nor shares.
PLATFORMS: dict[str, _Traits] = {
    "youtube": _Traits(views=True, shares=False, following=False, rounded=True),
    "instagram": _Traits(views=False, shares=False, following=True),
    "tiktok": _Traits(views=True, shares=True, following=True),
    "x": _Traits(views=True, shares=True, following=True),
    "bluesky": _Traits(views=False, shares=True, following=True),
    "mastodon": _Traits(views=False, shares=True, following=True),
}
PLATFORM_WEIGHTS = {
    "instagram": 0.30,
    "youtube": 0.15,
    "tiktok": 0.15,
    "x": 0.10,
    "bluesky": 0.20,
    "mastodon": 0.10,
}
TIER_FOLLOWERS = {"nano": (1_000, 10_000), "micro": (10_000, 100_000), "mid": (100_000, 300_000)}
# Published average engagement rates by tier (platforms.md) as the creators' centres.
TIER_ENGAGEMENT = {"nano": 0.027, "micro": 0.018, "mid": 0.012}
# Posts are observed on the first pass after publication, then at these ages.
OBSERVATION_AGES = (timedelta(0), timedelta(days=1), timedelta(days=2), timedelta(days=7),
                    timedelta(days=30))  # fmt: skip
# A post's final views per follower, where views are published.
VIEWS_PER_FOLLOWER = {"youtube": (0.1, 0.5), "tiktok": (0.4, 2.5), "x": (0.08, 0.4)}
ROUND_AMOUNTS = (1_000, 2_000, 5_000, 10_000, 20_000, 50_000)


# --- labels ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """A labelled window on one account (a suspicious event, or a trap window)."""

    platform: str
    handle: str
    kind: str
    window_start: datetime
    window_end: datetime
    post_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON object (ISO 8601 timestamps)."""
        data = asdict(self)
        data["window_start"] = _iso(self.window_start)
        data["window_end"] = _iso(self.window_end)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        """An event from :meth:`to_json`'s object."""
        return cls(
            platform=data["platform"],
            handle=data["handle"],
            kind=data["kind"],
            window_start=_parse(data["window_start"]),
            window_end=_parse(data["window_end"]),
            post_id=data.get("post_id"),
        )


@dataclass(frozen=True)
class CreatorLabel:
    """One generated account, its scenario and how many months of series it has."""

    platform: str
    handle: str
    scenario: str
    tier: str
    clean: bool
    months: float


@dataclass(frozen=True)
class Labels:
    """The ground truth of one generated set."""

    seed: int
    start: datetime
    end: datetime
    interval: timedelta
    creators: tuple[CreatorLabel, ...]
    events: tuple[Event, ...]
    traps: tuple[Event, ...]

    def to_json(self) -> dict[str, Any]:
        """The labels as one JSON object."""
        return {
            "seed": self.seed,
            "start": _iso(self.start),
            "end": _iso(self.end),
            "interval_seconds": int(self.interval.total_seconds()),
            "creators": [asdict(c) for c in self.creators],
            "events": [e.to_json() for e in self.events],
            "traps": [e.to_json() for e in self.traps],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Labels:
        """Labels from :meth:`to_json`'s object."""
        return cls(
            seed=int(data["seed"]),
            start=_parse(data["start"]),
            end=_parse(data["end"]),
            interval=timedelta(seconds=int(data["interval_seconds"])),
            creators=tuple(CreatorLabel(**c) for c in data["creators"]),
            events=tuple(Event.from_json(e) for e in data["events"]),
            traps=tuple(Event.from_json(e) for e in data["traps"]),
        )


@dataclass(frozen=True, slots=True)
class ProfileRow:
    """One row of the profile CSV."""

    platform: str
    handle: str
    collected_at: datetime
    followers: int
    following: int | None
    posts_count: int
    followers_rounded: bool


@dataclass(frozen=True, slots=True)
class PostRow:
    """One row of the post CSV (None: the platform does not publish that count)."""

    platform: str
    handle: str
    post_id: str
    published_at: datetime
    collected_at: datetime
    views: int | None
    likes: int
    comments: int
    shares: int | None


@dataclass(frozen=True)
class Dataset:
    """A generated set: the rows to import and their ground truth."""

    labels: Labels
    profiles: list[ProfileRow]
    posts: list[PostRow]


# --- numbers ---------------------------------------------------------------------------------


def floor_3_significant(value: int) -> int:
    """YouTube's published subscriber count: floored to 3 significant figures above 1,000."""
    if value < 1_000:
        return value
    unit = int(10 ** (len(str(value)) - 3))
    return value // unit * unit


def _rounding_unit(value: int) -> int:
    return 1 if value < 1_000 else int(10 ** (len(str(value)) - 3))


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:
        # Knuth's product of uniforms: exact, and cheap at these means.
        limit = math.exp(-lam)
        k, product = 0, rng.random()
        while product > limit:
            k += 1
            product *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def _loguniform(rng: random.Random, low: float, high: float) -> float:
    return math.exp(rng.uniform(math.log(low), math.log(high)))


def _lognormal_mean_one(rng: random.Random, sigma: float) -> float:
    return rng.lognormvariate(-sigma * sigma / 2, sigma)


def _accrued(age_hours: float, tau_hours: float) -> float:
    """Share of a post's final count reached at an age: fast at first, saturating in days."""
    return 0.0 if age_hours <= 0 else 1.0 - math.exp(-age_hours / tau_hours)


def _allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Largest-remainder split of ``total`` by weight, at least one each when total allows."""
    scale = sum(weights.values())
    exact = {name: total * w / scale for name, w in weights.items()}
    counts = {name: int(value) for name, value in exact.items()}
    if total >= len(weights):
        for name in counts:
            counts[name] = max(counts[name], 1)
    order = sorted(exact, key=lambda n: exact[n] - int(exact[n]), reverse=True)
    i = 0
    while sum(counts.values()) < total:
        counts[order[i % len(order)]] += 1
        i += 1
    while sum(counts.values()) > total:
        largest = max(counts, key=lambda n: counts[n])
        counts[largest] -= 1
    return counts


# --- one creator -----------------------------------------------------------------------------


@dataclass
class _Post:
    post_id: str
    published_at: datetime
    quality: float
    tau_hours: float
    viral: float = 1.0
    pod_multiplier: float = 1.0


@dataclass
class _Creator:
    """One account's simulation: organic series first, then its scenario's changes on top."""

    rng: random.Random
    platform: str
    handle: str
    scenario: str
    tier: str
    n: int
    start: datetime
    initial_followers: int = 0
    real_delta: list[int] = field(default_factory=list)  # the engaging audience, per interval
    bought: list[int] = field(default_factory=list)  # purchases minus purges, cumulative
    following: list[int] | None = None
    present: list[bool] = field(default_factory=list)
    posts: list[_Post] = field(default_factory=list)
    typical_delta: float = 1.0
    events: list[Event] = field(default_factory=list)
    traps: list[Event] = field(default_factory=list)
    force_zero_organic: set[int] = field(default_factory=set)
    # Per-creator engagement character.
    engagement_rate: float = 0.0
    view_rate: float = 0.0
    likes_per_view: float = 0.0
    comment_ratio: float = 0.0
    share_ratio: float = 0.0
    initial_posts_count: int = 0

    @property
    def traits(self) -> _Traits:
        return PLATFORMS[self.platform]

    def time(self, k: int) -> datetime:
        return self.start + k * INTERVAL

    def real(self) -> list[int]:
        out, value = [], self.initial_followers
        for k, delta in enumerate(self.real_delta):
            value += 0 if k in self.force_zero_organic else delta
            out.append(max(value, 0))
        return out

    def observed(self) -> list[int]:
        return [max(r + b, 0) for r, b in zip(self.real(), self.bought, strict=True)]

    def add_bought(self, k: int, amount: int) -> None:
        for j in range(k, self.n):
            self.bought[j] += amount

    def event(self, kind: str, first: int, last: int, post_id: str | None = None) -> None:
        self.events.append(
            Event(self.platform, self.handle, kind, self.time(first - 1), self.time(last), post_id)
        )

    def minimum_jump(self, k: int, relative: float, multiple: float) -> int:
        """The smallest change at interval k that a person would see in this series."""
        before = self.observed()[k - 1]
        floor = max(relative * before, multiple * self.typical_delta)
        if self.traits.rounded:
            floor = max(floor, 5 * _rounding_unit(before + int(floor)))
        return math.ceil(floor)


def _build_organic(c: _Creator, *, day_range: tuple[int, int] | None = None) -> None:
    """Posts, organic follower deltas and following count of one creator."""
    rng, n = c.rng, c.n
    low, high = day_range or TIER_FOLLOWERS[c.tier]
    c.initial_followers = round(_loguniform(rng, low, high))
    c.bought = [0] * n
    c.present = [True] * n
    c.initial_posts_count = rng.randint(30, 900)
    c.engagement_rate = TIER_ENGAGEMENT[c.tier] * _lognormal_mean_one(rng, 0.3)
    low_views, high_views = VIEWS_PER_FOLLOWER.get(c.platform, (0.0, 0.0))
    c.view_rate = rng.uniform(low_views, high_views)
    c.likes_per_view = {"youtube": 0.035, "tiktok": 0.07, "x": 0.012}.get(c.platform, 0.0)
    c.likes_per_view *= _lognormal_mean_one(rng, 0.3)
    c.comment_ratio = rng.uniform(0.015, 0.06)
    c.share_ratio = rng.uniform(0.03, 0.2)

    # Posts every 1–4 days; engagement accrues over hours (YouTube: over days).
    mean_gap_days = 2.5
    end = c.time(n - 1)
    t = c.start + timedelta(hours=rng.uniform(0, 48))
    while t < end:
        weekend = t.weekday() >= 5
        c.posts.append(
            _Post(
                post_id=f"{rng.getrandbits(48):012x}",
                published_at=t.replace(microsecond=0),
                quality=_lognormal_mean_one(rng, 0.45) * (1.15 if weekend else 1.0),
                tau_hours=rng.uniform(24, 48) if c.platform == "youtube" else rng.uniform(8, 20),
            )
        )
        t += timedelta(days=rng.uniform(1, 4))

    # Follower gains follow post engagement: boost[k] is the engagement accrued in interval k,
    # normalised so that its mean is about 1.
    boost = [0.0] * n
    for post in c.posts:
        first = _first_index_after(c, post.published_at)
        for k in range(first, min(n, first + PER_DAY * 10)):
            age_end = (c.time(k) - post.published_at).total_seconds() / 3600
            age_start = age_end - INTERVAL.total_seconds() / 3600
            share = _accrued(age_end, post.tau_hours) - _accrued(age_start, post.tau_hours)
            boost[k] += post.quality * share * mean_gap_days * PER_DAY

    growth0 = _loguniform(rng, 0.0004, 0.004)  # net share of followers gained per day
    churn = rng.uniform(0.0002, 0.0008)
    weekly_amplitude = rng.uniform(0.1, 0.35)
    weekly_peak = rng.uniform(0, 7)
    diurnal = [0.6, 0.9, 1.3, 1.2]
    shift = rng.randrange(4)
    diurnal = diurnal[shift:] + diurnal[:shift]
    log_growth = math.log(growth0)
    value = c.initial_followers
    c.real_delta = [0]
    for k in range(1, n):
        if k % PER_DAY == 0:  # the growth rate wanders day to day, pulled back to its centre
            log_growth = math.log(growth0) + 0.9 * (log_growth - math.log(growth0))
            log_growth += rng.gauss(0, 0.08)
        when = c.time(k)
        day = when.weekday() + when.hour / 24
        weekly = 1 + weekly_amplitude * math.cos(2 * math.pi * (day - weekly_peak) / 7)
        gains = (
            value
            * (math.exp(log_growth) + churn)
            / PER_DAY
            * weekly
            * diurnal[k % PER_DAY]
            * (0.5 + 0.5 * boost[k])
            * _lognormal_mean_one(rng, 0.3)
        )
        delta = _poisson(rng, gains) - _poisson(rng, value * churn / PER_DAY)
        c.real_delta.append(delta)
        value = max(value + delta, 0)
    deltas = sorted(abs(d) for d in c.real_delta[1:])
    c.typical_delta = max(float(deltas[len(deltas) // 2]), 1.0)

    if c.traits.following:
        follows = round(_loguniform(rng, 80, 2_500))
        c.following = [follows]
        for _ in range(1, n):
            follows += _poisson(rng, follows * 0.0004) - _poisson(rng, follows * 0.0003)
            c.following.append(max(follows, 0))


def _first_index_after(c: _Creator, when: datetime) -> int:
    """Index of the first snapshot strictly after ``when``."""
    return int((when - c.start) // INTERVAL) + 1


def _event_index(c: _Creator, first_day: int, last_margin_days: int, length: int = 1) -> int:
    return c.rng.randrange(first_day * PER_DAY, c.n - last_margin_days * PER_DAY - length)


# --- scenarios -------------------------------------------------------------------------------


def _viral(c: _Creator) -> None:
    rng = c.rng
    candidates = [p for p in c.posts if 30 <= (p.published_at - c.start).days <= c.n // 4 - 20]
    post = rng.choice(candidates)
    post.viral = rng.uniform(10, 30)
    # 10-30x the usual post: a viral post drawn from the low end of the quality spread would
    # bring the followers without the engagement, which is the bought pattern, not this one.
    post.quality = max(post.quality, 1.0)
    first = _first_index_after(c, post.published_at)
    # New followers arrive with the views, over a few days; far more than a bought step, but
    # with the engagement to match.
    real = c.real()
    extra_total = real[first - 1] * post.viral * rng.uniform(0.004, 0.012)
    spread = rng.uniform(18, 48)
    last = first
    for k in range(first, min(c.n, first + PER_DAY * 8)):
        age_end = (c.time(k) - post.published_at).total_seconds() / 3600
        share = _accrued(age_end, spread) - _accrued(age_end - 6, spread)
        c.real_delta[k] += _poisson(rng, extra_total * share)
        last = k
    c.traps.append(Event(c.platform, c.handle, "viral", c.time(first - 1), c.time(last)))


def _gaps(c: _Creator) -> None:
    rng = c.rng
    count = rng.randint(1, 3)
    segment = (c.n - 8 * PER_DAY) // count
    for i in range(count):
        length = rng.randint(1, 5) * PER_DAY
        first = 5 * PER_DAY + i * segment + rng.randrange(max(segment - length - PER_DAY, 1))
        for k in range(first, first + length):
            c.present[k] = False
        catch_up = first + length
        c.traps.append(Event(c.platform, c.handle, "gap", c.time(first - 1), c.time(catch_up)))


def _bought_step(c: _Creator) -> None:
    rng = c.rng
    used: list[int] = []
    for _ in range(1 if rng.random() < 0.7 else 2):
        k = _event_index(c, 10, 4)
        if any(abs(k - u) < 15 * PER_DAY for u in used):
            continue
        used.append(k)
        floor = c.minimum_jump(k, 0.025, 10)
        amount = max(floor, round(_loguniform(rng, 1_000, 20_000)))
        amount += rng.randint(1, 97)  # packages are sold round; what arrives rarely is
        c.add_bought(k, amount)
        c.event("bought_step", k, k)


def _drip(c: _Creator) -> None:
    rng = c.rng
    length = rng.randint(7, 21) * PER_DAY
    k0 = _event_index(c, 10, 3, length)
    total = c.observed()[k0 - 1] * rng.uniform(0.08, 0.35)
    per_interval = max(total / length, 5 * c.typical_delta)
    for k in range(k0, k0 + length):
        c.add_bought(k, round(per_interval * rng.uniform(0.97, 1.03)))
    c.event("drip", k0, k0 + length - 1)


def _purge(c: _Creator) -> None:
    rng = c.rng
    spread = rng.randint(1, PER_DAY)
    k0 = _event_index(c, 10, 4, spread)
    before = c.observed()[k0 - 1]
    total = max(before * rng.uniform(0.03, 0.15), 10 * c.typical_delta)
    if c.traits.rounded:
        total = max(total, 5 * _rounding_unit(before))
    cuts = [rng.random() + 0.2 for _ in range(spread)]
    for i, cut in enumerate(cuts):
        c.add_bought(k0 + i, -round(total * cut / sum(cuts)))
    c.event("purge", k0, k0 + spread - 1)


def _pods(c: _Creator) -> None:
    rng = c.rng
    eligible = [p for p in c.posts if (p.published_at - c.start).days >= 7]
    chosen = rng.sample(eligible, max(3, round(len(eligible) * rng.uniform(0.15, 0.3))))
    for post in chosen:
        post.pod_multiplier = rng.uniform(3, 10)


def _seesaw(c: _Creator) -> None:
    rng = c.rng
    assert c.following is not None
    cycles = rng.randint(2, 4)
    plan = []
    for _ in range(cycles):
        plan.append(
            (
                round(_loguniform(rng, 300, 2_000)),
                rng.randint(4, 12),
                rng.randint(0, 4),
                rng.randint(2, 6),
                rng.randint(0, 4),
            )
        )
    length = sum(up + hold + down + pause for _, up, hold, down, pause in plan)
    k = k0 = _event_index(c, 10, 3, length)
    added = [0] * c.n
    for amount, up, hold, down, pause in plan:
        parts = [rng.uniform(0.9, 1.1) for _ in range(up)]
        follows_back = amount * rng.uniform(0.03, 0.12)
        running = 0
        for i, part in enumerate(parts):
            step = round(amount * part / sum(parts))
            running += step
            added[k + i] += step
            c.real_delta[k + i] += _poisson(rng, follows_back / up)
        k += up + hold
        for i in range(down):
            # Unfollowed back to where it started: the last step takes the remainder.
            added[k + i] -= running // down + (running % down if i == down - 1 else 0)
        k += down + pause
    last = max(j for j in range(c.n) if added[j] != 0)
    cumulative = 0
    for j in range(c.n):
        cumulative += added[j]
        c.following[j] = max(c.following[j] + cumulative, 0)
    c.event("seesaw", k0, last)


def _round_jump(c: _Creator) -> None:
    rng = c.rng
    k = _event_index(c, 10, 4)
    floor = c.minimum_jump(k, 0.025, 10)
    eligible = [a for a in ROUND_AMOUNTS if a >= floor] or [ROUND_AMOUNTS[-1]]
    amount = eligible[1] if len(eligible) > 1 and rng.random() < 0.3 else eligible[0]
    c.add_bought(k, amount)
    c.force_zero_organic.add(k)  # the delta that interval is the purchase, exactly
    c.event("round_jump", k, k)


def _shared_farm(group: Sequence[_Creator], rng: random.Random) -> None:
    k = rng.randrange(10 * PER_DAY, group[0].n - 4 * PER_DAY)
    amount = _loguniform(rng, 800, 3_000)
    for c in group:
        # Alone, each jump is modest (1.5 % and 6x typical); together they are one farm.
        amount = max(amount, c.minimum_jump(k, 0.015, 6))
    for c in group:
        c.add_bought(k, round(amount * rng.uniform(0.97, 1.03)))
        c.event("shared_farm", k, k)


_SCENARIO_STEPS = {
    "viral": _viral,
    "gaps": _gaps,
    "bought_step": _bought_step,
    "drip": _drip,
    "purge": _purge,
    "pods": _pods,
    "seesaw": _seesaw,
    "round_jump": _round_jump,
}


def _choose(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _platform_and_tier(rng: random.Random, scenario: str) -> tuple[str, str]:
    platforms = dict(PLATFORM_WEIGHTS)
    if scenario == "youtube_rounded":
        return "youtube", rng.choice(["micro", "micro", "mid"])
    if scenario in ("organic", "nano", "seesaw", "round_jump"):
        # Clean YouTube creators are the youtube_rounded scenario; the others need a
        # following count or exact follower counts.
        del platforms["youtube"]
    tier = "nano" if scenario == "nano" else _choose(rng, {"nano": 0.25, "micro": 0.6, "mid": 0.15})
    if scenario == "shared_farm" and tier == "mid":
        tier = "micro"
    return _choose(rng, platforms), tier


def _handle(platform: str, number: int) -> str:
    if platform == "mastodon":
        return f"u{number}@bench.example"
    if platform == "bluesky":
        return f"u{number}.bsky.social"
    return f"creator{number}"


def generate(
    creators: int = DEFAULT_CREATORS,
    seed: int = 1,
    *,
    days: int = DEFAULT_DAYS,
    start: datetime = DEFAULT_START,
) -> Dataset:
    """A labelled set of ``creators`` accounts over ``days`` days; the same seed, the same set."""
    if creators < 1 or days < 30:
        raise ValueError("need at least 1 creator and 30 days")
    rng = random.Random(f"detection-benchmark:{seed}")
    n = days * PER_DAY
    scenarios = [
        s for s, count in _allocate(creators, SCENARIO_WEIGHTS).items() for _ in range(count)
    ]
    rng.shuffle(scenarios)
    # Handles say nothing about scenarios: random numbers, in random order.
    numbers = rng.sample(range(10_000, 100_000), creators)
    sims: list[_Creator] = []
    for i, scenario in enumerate(scenarios):
        own = random.Random(f"detection-benchmark:{seed}:{i}")
        platform, tier = _platform_and_tier(own, scenario)
        c = _Creator(own, platform, _handle(platform, numbers[i]), scenario, tier, n, start)
        if scenario == "nano":
            _build_organic(c, day_range=(1_000, 6_000))
        elif scenario == "youtube_rounded" and own.random() < 0.35:
            # Just below a digit boundary: the rounding step grows from 100 to 1,000.
            _build_organic(c, day_range=(93_000, 99_000))
        else:
            _build_organic(c)
        step = _SCENARIO_STEPS.get(scenario)
        if step is not None:
            step(c)
        sims.append(c)
    farm = [c for c in sims if c.scenario == "shared_farm"]
    groups: list[list[_Creator]] = []
    while farm:
        size = rng.randint(3, 6)
        if len(farm) - size < 3:
            size = len(farm)
        groups.append(farm[:size])
        farm = farm[size:]
    for group in groups:
        _shared_farm(group, rng)
    return _emit(sims, seed, start, n)


def _emit(sims: Sequence[_Creator], seed: int, start: datetime, n: int) -> Dataset:
    profiles: list[ProfileRow] = []
    posts: list[PostRow] = []
    labels: list[CreatorLabel] = []
    events: list[Event] = []
    traps: list[Event] = []
    months = (n - 1) * INTERVAL / timedelta(days=30)
    for c in sims:
        traits = c.traits
        observed = c.observed()
        real = c.real()
        published = sorted(p.published_at for p in c.posts)
        for k in range(n):
            if not c.present[k]:
                continue
            when = c.time(k)
            followers = observed[k]
            profiles.append(
                ProfileRow(
                    platform=c.platform,
                    handle=c.handle,
                    collected_at=when,
                    followers=floor_3_significant(followers) if traits.rounded else followers,
                    following=None if c.following is None else c.following[k],
                    posts_count=c.initial_posts_count + bisect.bisect_right(published, when),
                    followers_rounded=traits.rounded,
                )
            )
        for post in c.posts:
            posts.extend(_post_rows(c, post, real))
        labels.append(
            CreatorLabel(
                platform=c.platform,
                handle=c.handle,
                scenario=c.scenario,
                tier=c.tier,
                clean=c.scenario in CLEAN_SCENARIOS,
                months=round(months, 4),
            )
        )
        events.extend(c.events)
        traps.extend(c.traps)
    return Dataset(
        labels=Labels(
            seed=seed,
            start=start,
            end=start + (n - 1) * INTERVAL,
            interval=INTERVAL,
            creators=tuple(labels),
            events=tuple(events),
            traps=tuple(traps),
        ),
        profiles=profiles,
        posts=posts,
    )


def _post_rows(c: _Creator, post: _Post, real: Sequence[int]) -> list[PostRow]:
    rng, traits = c.rng, c.traits
    first = _first_index_after(c, post.published_at)
    if first >= c.n:
        return []
    audience = real[first - 1]
    quality = post.quality * post.viral
    views = audience * c.view_rate * quality if traits.views else None
    if views is not None:
        likes = views * c.likes_per_view * _lognormal_mean_one(rng, 0.12)
    else:
        likes = audience * c.engagement_rate * quality * _lognormal_mean_one(rng, 0.12)
    comments = likes * c.comment_ratio * _lognormal_mean_one(rng, 0.25)
    shares = likes * c.share_ratio * _lognormal_mean_one(rng, 0.3) if traits.shares else None
    final_views = None if views is None else _poisson(rng, views)
    final_likes = _poisson(rng, likes)
    final_comments = _poisson(rng, comments)
    final_shares = None if shares is None else _poisson(rng, shares)
    # Pods and bought likes arrive within hours and bring no views or comments with them.
    pod_likes = round(final_likes * (post.pod_multiplier - 1))

    indexes: list[int] = []
    for age in OBSERVATION_AGES:
        k = _first_index_after(c, post.published_at + age)
        while k < c.n and not c.present[k]:
            k += 1  # the first pass after a gap polls it
        if k < c.n and k not in indexes:
            indexes.append(k)
    rows = []
    for k in indexes:
        age_hours = (c.time(k) - post.published_at).total_seconds() / 3600
        share = _accrued(age_hours, post.tau_hours)
        rows.append(
            PostRow(
                platform=c.platform,
                handle=c.handle,
                post_id=post.post_id,
                published_at=post.published_at,
                collected_at=c.time(k),
                views=None if final_views is None else math.floor(final_views * share),
                likes=math.floor(final_likes * share + pod_likes * _accrued(age_hours, 2.0)),
                comments=math.floor(final_comments * share),
                shares=None if final_shares is None else math.floor(final_shares * share),
            )
        )
    if post.pod_multiplier > 1 and indexes:
        c.events.append(
            Event(
                c.platform,
                c.handle,
                "pods",
                c.time(first - 1),
                c.time(indexes[-1]),
                post.post_id,
            )
        )
    return rows


# --- files -----------------------------------------------------------------------------------


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _cell(value: int | None) -> str:
    return "" if value is None else str(value)


def write_dataset(dataset: Dataset, directory: Path) -> tuple[Path, Path, Path]:
    """Write profiles.csv, posts.csv (the import formats) and labels.json into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    profiles_path = directory / "profiles.csv"
    posts_path = directory / "posts.csv"
    labels_path = directory / "labels.json"
    with profiles_path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            [
                "platform",
                "handle",
                "collected_at",
                "followers",
                "following",
                "posts_count",
                "followers_rounded",
            ]
        )
        for p in dataset.profiles:
            writer.writerow(
                [
                    p.platform,
                    p.handle,
                    _iso(p.collected_at),
                    p.followers,
                    _cell(p.following),
                    p.posts_count,
                    "true" if p.followers_rounded else "",
                ]
            )
    with posts_path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(
            [
                "platform",
                "handle",
                "post_id",
                "published_at",
                "collected_at",
                "views",
                "likes",
                "comments",
                "shares",
            ]
        )
        for r in dataset.posts:
            writer.writerow(
                [
                    r.platform,
                    r.handle,
                    r.post_id,
                    _iso(r.published_at),
                    _iso(r.collected_at),
                    _cell(r.views),
                    r.likes,
                    r.comments,
                    _cell(r.shares),
                ]
            )
    labels_path.write_text(json.dumps(dataset.labels.to_json(), indent=1), encoding="utf-8")
    return profiles_path, posts_path, labels_path


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: generate one labelled set into a directory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--creators", type=int, default=DEFAULT_CREATORS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    dataset = generate(args.creators, args.seed, days=args.days)
    paths = write_dataset(dataset, args.out)
    labels = dataset.labels
    print(
        f"{len(labels.creators)} creators, {len(labels.events)} events, "
        f"{len(dataset.profiles):,} profile rows, {len(dataset.posts):,} post rows -> "
        + ", ".join(str(p) for p in paths)
    )


if __name__ == "__main__":
    main()

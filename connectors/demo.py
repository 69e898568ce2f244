"""The built-in ``demo`` platform: a deterministic simulation that needs no network and no keys.

It goes through the same pipeline, scheduler and error paths as a real connector (it subclasses
:class:`~connectors.base.Connector`, returns the same frozen records, raises the same typed errors
and counts its calls), so ``collector demo`` runs end to end and shows realistic series.

The model
---------
Every number is a pure function of (handle, scenario, absolute UTC time), seeded by
``hashlib.blake2b`` (never ``hash()``, which is salted per process). The same handle at the same
instant gives the same numbers in any process on any day, a restarted daemon continues the same
curves, and history reconstructed on first sight joins the live observations exactly. Time is
evaluated at whole seconds, the resolution of ``collected_at``.

*Organic audience.* A creator's audience follows a multi-year S-curve in log space,
``base · exp(span · tanh((progress − centre) / 730 d))``: the peak growth rate is 0.05–0.13 %/day,
the centre falls within nine months of January 2027, and ``span`` is chosen with ``base`` so the
organic count never leaves its tier, whatever the date (micro 10K–100K; nano 1K–10K; drawn
log-uniformly). Bounded curves are the price of "any day": far from 2027 (before 2025, after
2028) accounts plateau and viral gains shrink. Growth runs up to 30 % faster at weekends and
40 % faster in the evening (UTC), slower the rest of the time: the clock that drives the curve is
warped by bounded sinusoids, so the rhythm never makes growth reverse. On top sits bounded value
noise (knots every 1 and 5 days, about ±0.04 % of the audience plus 3 followers), so the path
wanders plausibly instead of jumping like white noise. Each evaluation is O(1) apart from a
short loop over the events of the last year.

*Scenarios* mirror the practitioner rules of ``platforms.md`` (paid ads rarely add more than
about 5,000 followers a day; a one-day jump of a round number with no engagement change
suggests a purchase), so detectors have true positives and the traps they must not flag:

- ``steady`` (default): the organic curve only.
- ``bought_followers``: every 30–45 days (so any 90-day window holds at least two), a purchase
  of a round number (+4,000 or +5,000 below 30K followers; +5,000 or +10,000 above) delivered
  linearly within 2–6 hours, at any hour (the +10,000 ones break the 5,000-a-day rule).
  8–15 % of it drops off within about a week and the rest fades linearly over a year (platforms
  keep removing fakes): the count stays bounded and slides by about size / period a day between
  purchases, the buyer's sawtooth. Fakes come on top of the organic tier range. Post engagement
  is computed from the organic audience only: likes, comments and views do not rise after a
  purchase.
- ``organic_viral``: every 30–45 days one post gets 15–30× the usual views, likes, shares and
  saves, and the audience rises smoothly by a few percent over the 2–4 days after it. 85 % of
  the organic growth is concentrated there (a "staircase" of the S-curve's clock), so the gain
  is real audience: later posts earn more engagement. A trap: it must not raise medium/high.
- ``drip_fed``: every 60–76 days, a 14-day window of exactly +100, +150 or +200 followers per
  6 hours (linear, no variance beyond the organic noise), then the same slow fade as purchases.
- ``purge``: every 45–90 days, the platform removes 3–8 % of the followers within 4–20 hours;
  the removed fakes had accumulated invisibly and linearly since the previous purge.
- ``nano``: the 1K–10K range and a 3–5 % like rate; the absolute noise floor matters there
  (another trap: small-number noise must not be read as fraud).
- ``not_found`` / ``private`` / ``suspended``: the account-level errors, reported per handle in
  :attr:`ProfileBatch.failures` (and raised by the single-account calls).
- ``flaky``: ``fetch_posts`` raises :class:`TransientError` on a deterministic third of the
  seconds, so retries usually recover and sometimes run out.

*Posts.* Each account posts every 2–4 days at a daytime hour (08:00–21:00 UTC); post ``k``'s time
and content are pure functions of (handle, k), counted from 2020-01-01 on top of 20–400 older
posts, which makes ``posts_count`` consistent with the posts returned. A post's final counts
come from the organic audience at publication: views 20–60 % of it, likes 1–3 % (micro) or
3–5 % (nano), comments 2–5 %, shares 1–5 % and saves 2–8 % of likes, each with per-post jitter
(±12 % on likes, so a 3-post mean is a fair baseline);
quotes are None (the demo platform does not publish them). Counts at age ``a`` are
``final · (1 − exp(−a / τ))`` with τ of 10–24 hours: integers, never before publication,
non-decreasing, saturated within a week. ``sponsored`` appends a text (a campaign's hashtags,
mention and promo code, with or without a disclosure) to the caption of one post in ``every``
of a handle's posts published between two dates, so campaigns have posts to measure.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import ClassVar, Literal, TypeVar, get_args

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from connectors.base import Connector, Duration, PlatformConfig
from connectors.errors import (
    AccountError,
    AccountNotFound,
    AccountPrivate,
    AccountSuspended,
    TransientError,
)
from connectors.http import Clock, RetryPolicy, utcnow
from connectors.records import (
    AccountRef,
    History,
    PostPage,
    PostRecord,
    ProfileBatch,
    ProfileRecord,
)

__all__ = [
    "SCENARIOS",
    "DemoConfig",
    "DemoConnector",
    "Scenario",
    "SponsoredPosts",
    "normalise_handle",
]

Scenario = Literal[
    "steady",
    "bought_followers",
    "organic_viral",
    "nano",
    "drip_fed",
    "purge",
    "not_found",
    "private",
    "suspended",
    "flaky",
]
SCENARIOS: tuple[Scenario, ...] = get_args(Scenario)

T = TypeVar("T")

# Posts are counted from here; any fixed instant works as long as it never changes.
EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
_SECONDS_PER_DAY = 86400.0

# The S-curve is wide (two years each side) so growth still shows for years around its centre.
_CURVE_WIDTH_DAYS = 730.0
_CURVE_CENTRE_DAYS = (datetime(2027, 1, 1, tzinfo=UTC) - EPOCH).days
_CURVE_CENTRE_SPREAD_DAYS = 270.0
# Weekly and daily rhythm of the growth rate; amplitudes sum below 1 so the warped clock never
# runs backwards. 2020-01-01 was a Wednesday: the weekly peak lands on Sunday 00:00 UTC and the
# daily one at 20:00 UTC (21:00 in Casablanca).
_WEEKLY_AMPLITUDE = 0.3
_WEEKLY_PEAK_PHASE = 4.0 - 7.0 / 4.0
_DAILY_AMPLITUDE = 0.4
_DAILY_PEAK_PHASE = 20.0 / 24.0 - 1.0 / 4.0
# Share of organic growth that a viral account gains at its viral moments instead of steadily.
_VIRAL_CONCENTRATION = 0.85
# Bought and drip-fed followers leave within a year, so the total stays bounded forever.
_FAKE_FADE_DAYS = 365.0
_QUICK_DROP_DAYS = 3.0
_DRIP_WINDOW_DAYS = 14.0

_MICRO_LIKE_RATE = (0.01, 0.03)
_NANO_LIKE_RATE = (0.03, 0.05)
_MICRO_RANGE = (10_000.0, 100_000.0)
_NANO_RANGE = (1_000.0, 10_000.0)

_KINDS = ("photo", "photo", "carousel", "video", "reel", "reel")
_OPENERS = (
    "Salam drari!",
    "Bonjour la famille",
    "New drop",
    "Sbah lkhir",
    "Nouvelle collection",
    "Behind the scenes",
    "Mabrouk l'3id",
    "Petit rappel",
    "Yallah",
    "Weekend vibes",
)
_TOPICS = (
    "ma routine du matin",
    "my favourite caftan",
    "l'ftour b zwin bzaf",
    "un tour à la médina",
    "skincare that actually works",
    "des idées pour Ramadan",
    "hamdullah 3la kolchi",
    "the best msemen in town",
    "mon look du jour",
    "a day in Casablanca",
)
_CLOSERS = (
    "Chokran bzaf ❤️",
    "Link in bio",
    "Dites-moi en commentaire",
    "Bghit n3ref rayykom",
    "Tag a friend",
    "À très vite",
)
_TAGS = ("#maroc", "#casablanca", "#beauty", "#fashion", "#food", "#rabat", "#lifestyle")


# -- deterministic randomness ---------------------------------------------------------------


def _unit(*parts: object) -> float:
    """A uniform number in [0, 1) that depends only on ``parts``, in every process."""
    text = "\x1f".join(str(part) for part in parts)
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def _between(low: float, high: float, *parts: object) -> float:
    return low + (high - low) * _unit(*parts)


def _log_between(low: float, high: float, *parts: object) -> float:
    return math.exp(_between(math.log(low), math.log(high), *parts))


def _pick(options: Sequence[T], *parts: object) -> T:
    return options[int(_unit(*parts) * len(options))]


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def _value_noise(x: float, key: str, channel: str) -> float:
    """Noise in [-1, 1] with a random value at each integer x, smoothly joined between them."""
    knot = math.floor(x)
    left, right = _knot(key, channel, knot), _knot(key, channel, knot + 1)
    return left + (right - left) * _smoothstep(x - knot)


@lru_cache(maxsize=65536)
def _knot(key: str, channel: str, knot: int) -> float:
    # Consecutive evaluations share knots (four profile points a day), so they are cached.
    return 2.0 * _unit(key, channel, knot) - 1.0


def _days(at: datetime) -> float:
    return (at - EPOCH).total_seconds() / _SECONDS_PER_DAY


def _at(days: float) -> datetime:
    return EPOCH + timedelta(seconds=round(days * _SECONDS_PER_DAY))


def _utc(at: datetime) -> datetime:
    """``at`` in UTC; a naive time is taken as UTC (the only kind the project handles)."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _utc_second(at: datetime) -> datetime:
    """``at`` in UTC truncated to the second, the resolution of ``collected_at``."""
    return _utc(at).replace(microsecond=0)


def normalise_handle(handle: str) -> str:
    """The demo platform's identity of a handle: case-insensitive, without a leading ``@``."""
    return handle.strip().lstrip("@").lower()


# -- the simulated account ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Account:
    """Everything the hash decides about one handle under one scenario.

    ``eq=False`` keeps identity hashing, which is cheap for the caches keyed by account; two
    equal accounts compute equal numbers anyway.
    """

    key: str
    scenario: Scenario
    platform_id: str
    display_name: str
    base: float
    span: float
    centre: float
    like_rate: float
    view_rate: float
    comment_ratio: float
    share_ratio: float
    save_ratio: float
    post_period: float
    post_phase: float
    initial_posts: int
    following_base: float
    event_period: float
    event_phase: float


@lru_cache(maxsize=4096)
def _account(key: str, scenario: Scenario) -> _Account:
    nano = scenario == "nano"
    low, high = _NANO_RANGE if nano else _MICRO_RANGE
    if scenario == "organic_viral":
        # Viral gains come out of the organic growth, so such accounts need a real slope.
        peak_rate = _between(0.0010, 0.0013, key, "rate")
    else:
        peak_rate = _log_between(0.0005, 0.0013, key, "rate")
    span = peak_rate * _CURVE_WIDTH_DAYS
    # The S-curve moves at most ``span`` either way in log space: keep both ends in the tier
    # with a 10 % margin for noise.
    base = _log_between(low * 1.1 * math.exp(span), high / 1.1 * math.exp(-span), key, "base")
    periods = {
        "bought_followers": (30.0, 45.0),
        "organic_viral": (30.0, 45.0),
        "drip_fed": (60.0, 76.0),
        "purge": (45.0, 90.0),
    }
    event_low, event_high = periods.get(scenario, (30.0, 45.0))
    event_period = _between(event_low, event_high, key, "event-period")
    return _Account(
        key=key,
        scenario=scenario,
        platform_id="demo-" + hashlib.blake2b(key.encode(), digest_size=6).hexdigest(),
        display_name=_display_name(key),
        base=base,
        span=span,
        centre=_CURVE_CENTRE_DAYS
        + _between(-_CURVE_CENTRE_SPREAD_DAYS, _CURVE_CENTRE_SPREAD_DAYS, key, "centre"),
        like_rate=_log_between(*(_NANO_LIKE_RATE if nano else _MICRO_LIKE_RATE), key, "likes"),
        view_rate=_between(0.2, 0.6, key, "views"),
        comment_ratio=_between(0.02, 0.05, key, "comments"),
        share_ratio=_between(0.01, 0.05, key, "shares"),
        save_ratio=_between(0.02, 0.08, key, "saves"),
        post_period=_between(2.0, 4.0, key, "post-period"),
        post_phase=_between(0.0, 4.0, key, "post-phase"),
        initial_posts=int(_between(20, 400, key, "initial-posts")),
        following_base=_log_between(150, 900 if nano else 1500, key, "following"),
        event_period=event_period,
        event_phase=_between(0.0, event_period, key, "event-phase"),
    )


def _display_name(key: str) -> str:
    words = [word for word in re.split(r"[^0-9a-z]+", key) if word]
    return " ".join(word.capitalize() for word in words) or key


def _rhythm(days: float) -> float:
    """Bounded clock warp whose derivative is the weekly and daily growth rhythm."""
    weekly = _WEEKLY_AMPLITUDE * 7.0 / (2.0 * math.pi)
    daily = _DAILY_AMPLITUDE / (2.0 * math.pi)
    return -weekly * math.cos(2.0 * math.pi * (days - _WEEKLY_PEAK_PHASE) / 7.0) - (
        daily * math.cos(2.0 * math.pi * (days - _DAILY_PEAK_PHASE))
    )


def _organic(a: _Account, days: float) -> float:
    """The organic audience (no fakes, no noise): what engagement is proportional to."""
    progress = days + _rhythm(days)
    if a.scenario == "organic_viral":
        progress = (1.0 - _VIRAL_CONCENTRATION) * progress + _VIRAL_CONCENTRATION * _staircase(
            a, days
        )
    return a.base * math.exp(a.span * math.tanh((progress - a.centre) / _CURVE_WIDTH_DAYS))


def _noise(a: _Account, days: float, organic: float) -> float:
    amplitude = 0.0004 * organic + 3.0
    return amplitude * (
        0.6 * _value_noise(days, a.key, "noise-1d")
        + 0.4 * _value_noise(days / 5.0, a.key, "noise-5d")
    )


def _followers(a: _Account, days: float) -> int:
    organic = _organic(a, days)
    total = organic + _noise(a, days, organic) + _fake_followers(a, days)
    return max(0, round(total))


def _following(a: _Account, days: float) -> int:
    drift = 0.04 * _value_noise(days / 30.0, a.key, "following-30d") + 0.004 * _value_noise(
        days, a.key, "following-1d"
    )
    return max(0, round(a.following_base * (1.0 + drift)))


# -- posts ----------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _post_time(a: _Account, index: int) -> datetime:
    # Whole days apart by at least two, so posts keep their order whatever the hour drawn.
    day = math.floor(a.post_phase + index * a.post_period)
    minute = int(_between(8 * 60, 21 * 60, a.key, "post-minute", index))
    return EPOCH + timedelta(days=day, minutes=minute)


def _last_post_index(a: _Account, at: datetime) -> int:
    """Index of the newest post published at or before ``at`` (-1 if none)."""
    index = max(math.floor((_days(at) - a.post_phase) / a.post_period) + 1, -1)
    while index >= 0 and _post_time(a, index) > at:
        index -= 1
    return index


def _first_post_index(a: _Account, at: datetime) -> int:
    """Index of the oldest post published at or after ``at``."""
    return _last_post_index(a, at - timedelta(seconds=1)) + 1


def _posts_count(a: _Account, at: datetime) -> int:
    return a.initial_posts + _last_post_index(a, at) + 1


@dataclass(frozen=True, slots=True)
class _PostPlan:
    index: int
    post_id: str
    published_at: datetime
    kind: str
    caption: str
    tau_hours: float
    views: float
    likes: float
    comments: float
    shares: float
    saves: float


def _jitter(spread: float, *parts: object) -> float:
    return math.exp(_between(-spread, spread, *parts))


@lru_cache(maxsize=65536)
def _post_plan(a: _Account, index: int) -> _PostPlan:
    published = _post_time(a, index)
    audience = _organic(a, _days(published))
    viral = _viral_multiplier(a, index)
    # A viral post skips the like jitter so that "15×" means at least 15× the typical post.
    likes = (
        audience * a.like_rate * viral * (1.0 if viral > 1.0 else _jitter(0.12, a.key, "l", index))
    )
    post_id = f"{a.platform_id}-{index}"
    return _PostPlan(
        index=index,
        post_id=post_id,
        published_at=published,
        kind=_pick(_KINDS, a.key, "kind", index),
        caption=_caption(a, index),
        tau_hours=_between(10.0, 24.0, a.key, "tau", index),
        views=audience * a.view_rate * viral * _jitter(0.25, a.key, "v", index),
        likes=likes,
        comments=likes * a.comment_ratio * _jitter(0.3, a.key, "c", index),
        shares=likes * a.share_ratio * _jitter(0.3, a.key, "s", index),
        saves=likes * a.save_ratio * _jitter(0.3, a.key, "k", index),
    )


def _caption(a: _Account, index: int) -> str:
    parts = [
        _pick(_OPENERS, a.key, "opener", index),
        _pick(_TOPICS, a.key, "topic", index),
        _pick(_CLOSERS, a.key, "closer", index),
    ]
    roll = _unit(a.key, "tags", index)
    if roll < 0.6:
        parts.append(_pick(_TAGS, a.key, "tag", index))
    if roll < 0.15:
        parts.append("#ad")
    elif roll < 0.25:
        code = re.sub(r"[^A-Z]", "", a.key.upper())[:8] or "DEMO"
        parts.append(f"Code {code}{_pick((10, 15, 20), a.key, 'code', index)} -15%")
    return " ".join(parts)


def _post_record(a: _Account, index: int, at: datetime) -> PostRecord:
    plan = _post_plan(a, index)
    age_hours = max((at - plan.published_at).total_seconds(), 0.0) / 3600.0
    reached = 1.0 - math.exp(-age_hours / plan.tau_hours)
    return PostRecord(
        platform_post_id=plan.post_id,
        published_at=plan.published_at,
        collected_at=at,
        kind=plan.kind,
        url=f"https://demo.invalid/{a.key}/{plan.post_id}",
        caption=plan.caption,
        views=int(plan.views * reached),
        likes=int(plan.likes * reached),
        comments=int(plan.comments * reached),
        shares=int(plan.shares * reached),
        quotes=None,
        saves=int(plan.saves * reached),
    )


# -- scenario events ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Purchase:
    start: float
    ramp: float
    size: float
    quick_drop: float


@lru_cache(maxsize=65536)
def _purchase(a: _Account, k: int) -> _Purchase:
    sizes = (4000.0, 5000.0) if a.base < 30_000 else (5000.0, 5000.0, 10_000.0)
    return _Purchase(
        start=a.event_phase + k * a.event_period + _unit(a.key, "buy-hour", k),
        ramp=_between(2.0, 6.0, a.key, "buy-ramp", k) / 24.0,
        size=_pick(sizes, a.key, "buy-size", k),
        quick_drop=_between(0.08, 0.15, a.key, "buy-drop", k),
    )


def _fade(age: float) -> float:
    return max(0.0, 1.0 - age / _FAKE_FADE_DAYS)


def _bought(a: _Account, days: float) -> float:
    total = 0.0
    k = math.floor((days - a.event_phase) / a.event_period)
    while True:
        event = _purchase(a, k)
        age = days - event.start
        if age > event.ramp + _FAKE_FADE_DAYS:
            return total
        if age > 0:
            delivered = event.size * min(1.0, age / event.ramp)
            settled = max(0.0, age - event.ramp)
            kept = 1.0 - event.quick_drop * (1.0 - math.exp(-settled / _QUICK_DROP_DAYS))
            total += delivered * kept * _fade(settled)
        k -= 1


def _drip_fed(a: _Account, days: float) -> float:
    # One rate per account: the same exact increment window after window is the tell.
    per_day = 4.0 * _pick((100, 150, 200), a.key, "drip-rate")
    total = 0.0
    k = math.floor((days - a.event_phase) / a.event_period)
    while True:
        start = a.event_phase + k * a.event_period
        age = days - start
        if age > _DRIP_WINDOW_DAYS + _FAKE_FADE_DAYS:
            return total
        if age > _DRIP_WINDOW_DAYS:
            total += per_day * _DRIP_WINDOW_DAYS * _fade(age - _DRIP_WINDOW_DAYS)
        elif age > 0:
            total += per_day * age
        k -= 1


@dataclass(frozen=True, slots=True)
class _Purge:
    time: float
    duration: float
    removed: float


@lru_cache(maxsize=65536)
def _purge_event(a: _Account, k: int) -> _Purge:
    time = a.event_phase + k * a.event_period + _unit(a.key, "purge-hour", k)
    # Sized on the audience including the fakes about to go, so the visible drop is 3–8 %.
    share = _between(0.035, 0.078, a.key, "purge-share", k)
    return _Purge(
        time=time,
        duration=_between(4.0, 20.0, a.key, "purge-duration", k) / 24.0,
        removed=_organic(a, time) * share / (1.0 - share),
    )


def _purged_fakes(a: _Account, days: float) -> float:
    """Fakes present at ``days``: they build up linearly, then a purge removes them."""
    k = math.floor((days - a.event_phase) / a.event_period)
    if _purge_event(a, k).time > days:
        k -= 1
    current, following = _purge_event(a, k), _purge_event(a, k + 1)
    elapsed = days - current.time
    if elapsed < current.duration:
        return current.removed * (1.0 - elapsed / current.duration)
    build_up = following.time - current.time - current.duration
    return following.removed * (elapsed - current.duration) / build_up


def _fake_followers(a: _Account, days: float) -> float:
    if a.scenario == "bought_followers":
        return _bought(a, days)
    if a.scenario == "drip_fed":
        return _drip_fed(a, days)
    if a.scenario == "purge":
        return _purged_fakes(a, days)
    return 0.0


@lru_cache(maxsize=65536)
def _viral_post(a: _Account, k: int) -> int:
    """Index of the k-th viral post: the first post on or after the k-th viral date."""
    return _first_post_index(a, _at(a.event_phase + k * a.event_period))


def _viral_ramp_days(a: _Account, k: int) -> float:
    return _between(2.0, 4.0, a.key, "viral-ramp", k)


def _staircase(a: _Account, days: float) -> float:
    """A clock that stands nearly still between viral posts and catches up after each one.

    It stays within one viral period of real time, so the S-curve keeps its bounds; the jump
    happens over the 2–4 days after each viral post, as an audience discovers a creator.
    """
    k = math.floor((days - a.event_phase) / a.event_period)
    start = _days(_post_time(a, _viral_post(a, k)))
    if start > days:
        k -= 1
        start = _days(_post_time(a, _viral_post(a, k)))
    end = _days(_post_time(a, _viral_post(a, k + 1)))
    return start + (end - start) * _smoothstep((days - start) / _viral_ramp_days(a, k))


def _viral_multiplier(a: _Account, index: int) -> float:
    if a.scenario != "organic_viral":
        return 1.0
    k = math.floor((_days(_post_time(a, index)) - a.event_phase) / a.event_period)
    # Neighbours too: float rounding can put a post published on the viral date in period k-1.
    for candidate in (k, k - 1, k + 1):
        if _viral_post(a, candidate) == index:
            return _between(15.0, 30.0, a.key, "viral-size", candidate)
    return 1.0


def _flaky_now(a: _Account, at: datetime) -> bool:
    # Decided per second: the retry policy's waits usually reach another second and recover.
    return _unit(a.key, "flaky", int(at.timestamp())) < 1.0 / 3.0


_ACCOUNT_ERRORS: dict[str, tuple[type[AccountError], str, int]] = {
    "not_found": (AccountNotFound, "does not exist", 404),
    "private": (AccountPrivate, "is private", 403),
    "suspended": (AccountSuspended, "is suspended", 403),
}


# -- the connector --------------------------------------------------------------------------


class SponsoredPosts(BaseModel):
    """A ``[platforms.demo.sponsored."handle"]`` table: text a handle's posts carry for a while."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: date
    end: date
    text: str = Field(min_length=1)
    every: int = Field(default=2, ge=1, description="one post in this many carries the text")

    @model_validator(mode="after")
    def _end_after_start(self) -> SponsoredPosts:
        if self.end < self.start:
            raise ValueError("end is before start")
        return self

    def covers(self, published_at: datetime, index: int) -> bool:
        """Whether post ``index``, published at ``published_at``, carries the text."""
        return self.start <= _utc(published_at).date() <= self.end and index % self.every == 0


class DemoConfig(PlatformConfig):
    """The ``[platforms.demo]`` table: which simulated handles behave how."""

    backfill_days: int = Field(
        default=90,
        ge=0,
        le=3650,
        description="history to reconstruct on first sight, where the platform can",
    )
    history_step: Duration = Field(
        default=timedelta(hours=6), description="spacing of reconstructed profile snapshots"
    )
    scenarios: dict[str, Scenario] = Field(
        default_factory=dict,
        description='handle → scenario; handles not listed are "steady"',
    )
    sponsored: dict[str, SponsoredPosts] = Field(
        default_factory=dict,
        description="handle → campaign text its posts carry between two dates",
    )

    @field_validator("history_step")
    @classmethod
    def _history_step_at_least_a_minute(cls, value: timedelta) -> timedelta:
        # Finer steps would only multiply identical-looking points in the database.
        if value < timedelta(minutes=1):
            raise ValueError("history_step must be at least 1m")
        return value

    @field_validator("sponsored")
    @classmethod
    def _normalise_sponsored_handles(
        cls, value: dict[str, SponsoredPosts]
    ) -> dict[str, SponsoredPosts]:
        return {normalise_handle(handle): posts for handle, posts in value.items()}

    @field_validator("scenarios")
    @classmethod
    def _normalise_scenario_handles(cls, value: dict[str, Scenario]) -> dict[str, Scenario]:
        normalised: dict[str, Scenario] = {}
        for handle, scenario in value.items():
            key = normalise_handle(handle)
            if not key:
                raise ValueError(f"scenario handle {handle!r} is empty")
            if key in normalised and normalised[key] != scenario:
                raise ValueError(f"handle {handle!r} is given two scenarios")
            normalised[key] = scenario
        return normalised


class DemoConnector(Connector):
    """A simulated platform with realistic, deterministic series; no network, no credentials."""

    name: ClassVar[str] = "demo"
    config_model: ClassVar[type[PlatformConfig]] = DemoConfig
    batch_size: ClassVar[int] = 50
    supports_history: ClassVar[bool] = True

    config: DemoConfig

    def __init__(
        self,
        config: PlatformConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utcnow,
        retry: RetryPolicy | None = None,
    ) -> None:
        """Create the connector; a plain PlatformConfig is upgraded to a DemoConfig."""
        if not isinstance(config, DemoConfig):
            config = DemoConfig.model_validate(config.model_dump(exclude_unset=True))
        super().__init__(config, transport=transport, clock=clock, retry=retry)

    def scenario_of(self, handle: str) -> Scenario:
        """The scenario a handle follows (case-insensitive, leading ``@`` ignored)."""
        return self.config.scenarios.get(normalise_handle(handle), "steady")

    def _account(self, handle: str) -> _Account:
        return _account(normalise_handle(handle), self.scenario_of(handle))

    def _now(self) -> datetime:
        return _utc_second(self.clock())

    def _post(self, handle: str, a: _Account, index: int, at: datetime) -> PostRecord:
        record = _post_record(a, index, at)
        sponsored = self.config.sponsored.get(normalise_handle(handle))
        if sponsored is None or not sponsored.covers(record.published_at, index):
            return record
        return replace(record, caption=f"{record.caption} {sponsored.text}")

    def _account_error(self, account: AccountRef) -> AccountError | None:
        entry = _ACCOUNT_ERRORS.get(self.scenario_of(account.handle))
        if entry is None:
            return None
        error, what, status = entry
        return error(f"demo: @{account.handle} {what}", handle=account.handle, status_code=status)

    def _profile(self, account: AccountRef, a: _Account, at: datetime) -> ProfileRecord:
        days = _days(at)
        return ProfileRecord(
            handle=account.handle,
            platform_id=a.platform_id,
            collected_at=at,
            followers=_followers(a, days),
            following=_following(a, days),
            posts_count=_posts_count(a, at),
            display_name=a.display_name,
        )

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        """Current counts of up to 50 accounts; failing scenarios land in ``failures``."""
        if len(accounts) > self.batch_size:
            raise ValueError(
                f"demo takes at most {self.batch_size} accounts per call, got {len(accounts)}"
            )
        self.stats.count("profiles")
        now = self._now()
        profiles: dict[str, ProfileRecord] = {}
        failures: dict[str, AccountError] = {}
        for account in accounts:
            error = self._account_error(account)
            if error is not None:
                failures[account.handle] = error
            else:
                profiles[account.handle] = self._profile(
                    account, self._account(account.handle), now
                )
        return ProfileBatch(profiles=profiles, failures=failures)

    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        """Posts published in [since, now] (default: the last 30 days), newest first."""
        self.stats.count("posts")
        now = self._now()
        error = self._account_error(account)
        if error is not None:
            raise error
        a = self._account(account.handle)
        if a.scenario == "flaky" and _flaky_now(a, now):
            raise TransientError("demo: simulated server error (HTTP 503)", status_code=503)
        start = now - timedelta(days=30) if since is None else _utc(since)
        posts: list[PostRecord] = []
        index = _last_post_index(a, now)
        while index >= 0 and _post_time(a, index) >= start:
            posts.append(self._post(account.handle, a, index, now))
            index -= 1
        return PostPage(posts=tuple(posts), cursor=posts[0].platform_post_id if posts else None)

    async def fetch_history(
        self, account: AccountRef, *, start: datetime, end: datetime
    ) -> History:
        """Profiles every ``history_step`` in [start, end) and each new post's first 7 days."""
        self.stats.count("history")
        now = self._now()
        error = self._account_error(account)
        if error is not None:
            raise error
        a = self._account(account.handle)
        # Nothing after now: reconstructed history must not invent observations of the future.
        start, end = _utc(start), min(_utc(end), now + timedelta(seconds=1))
        step = self.config.history_step
        profiles: list[ProfileRecord] = []
        at = start
        while at < end:
            profiles.append(self._profile(account, a, _utc_second(at)))
            at += step
        posts: list[PostRecord] = []
        index = max(_first_post_index(a, start), 0)
        while (published := _post_time(a, index)) < end:
            for age_days in range(1, 8):
                collected = published + timedelta(days=age_days)
                if collected >= end:
                    break
                posts.append(self._post(account.handle, a, index, collected))
            index += 1
        return History(profiles=tuple(profiles), posts=tuple(posts))

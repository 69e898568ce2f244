"""Detectors: pure, deterministic functions from stored series to explained findings.

Every detector works on flat numpy arrays holding many accounts at once (see
:mod:`collector.detection.series`), so scoring 10,000 accounts costs a few dozen array operations
per signal rather than a Python loop per snapshot. Only the rare candidate events are looked at
one by one, to gather the numbers a person needs (the ``evidence``).

The account's own baseline
--------------------------
A follower delta is judged against the account's own recent behaviour: per calendar week (UTC,
Monday to Monday) the median growth rate per hour and the spread of deltas around it, and for
each interval the median of the four whole weeks *before* its own week. So the baseline is

- robust (medians: one earlier spike does not move it),
- causal (an event never hides inside its own baseline; a full run and an incremental run score
  an interval identically),
- weekly-aware (always whole weeks, so the weekly rhythm is inside the spread, not an anomaly),
- gap-aware (deltas are compared with ``rate × elapsed hours``, and the spread grows with the
  square root of the elapsed time: the catch-up delta after a collection gap is spread, not a
  spike),
- noise-aware (a floor on the spread from counting noise, ``sqrt(followers)``, so small counts on
  nano accounts are not read as events, and from the platform's rounding unit).

See docs/detection.md for each signal, its evidence and why its thresholds are where they are.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from collector.detection.series import PostTable, ProfileSeries, segment_index

__all__ = [
    "KINDS",
    "Finding",
    "JumpCandidate",
    "Thresholds",
    "detect_all",
    "engagement_rate_findings",
    "follower_findings",
    "following_findings",
    "post_findings",
    "round_number",
    "shared_farm_findings",
]

Int = NDArray[np.int64]
Float = NDArray[np.float64]
Bool = NDArray[np.bool_]
Severity = Literal["low", "medium", "high"]

HOUR = 3600
DAY = 86400
WEEK = 7 * DAY
# 1970-01-05 was a Monday: weeks are counted from Monday 00:00 UTC.
_MONDAY = 4 * DAY

#: What each kind of finding means, in one sentence (shown by ``collector flags``).
KINDS: Mapping[str, str] = {
    "bought_followers": "follower jump far above the account's baseline, engagement unchanged",
    "organic_spike": "follower jump that engagement explains (viral growth): informational",
    "follower_jump": "follower jump too small to matter on its own: informational",
    "drip_followers": "a long run of near-constant follower increments above the baseline",
    "organic_growth": "a sustained rise in followers that engagement explains: informational",
    "follower_purge": "followers dropped at once, as when a platform removes fake accounts",
    "following_spike": "the account followed many accounts at once (follow-for-follow)",
    "follow_unfollow": "following count rising and falling again: follow/unfollow farming",
    "engagement_rate_low": "engagement per follower far below the tier's band",
    "engagement_rate_high": "engagement per follower far above the tier's band",
    "likes_anomaly": "a post's likes far above what its views or comments predict (pods, bought)",
    "likes_comments_ratio": "a post's likes/comments ratio far from the creator's own history",
    "shared_farm": "several watched accounts jumped by similar amounts in the same interval",
}


@dataclass(frozen=True)
class Thresholds:
    """Every number the detectors decide with, in one place (docs/detection.md explains each)."""

    # Baseline
    baseline_weeks: int = 4
    min_baseline_intervals: int = 12
    noise_floor_followers: float = 3.0
    noise_floor_sqrt: float = 0.25
    # Follower jumps and drops
    jump_seed_z: float = 6.0
    jump_extend_z: float = 2.0
    jump_min_share: float = 0.02
    jump_min_followers: float = 50.0
    jump_high_share: float = 0.05
    jump_high_z: float = 25.0
    daily_paid_ads_ceiling: float = 5000.0
    purge_min_share: float = 0.01
    purge_high_share: float = 0.05
    # Engagement around a jump
    viral_post_ratio: float = 5.0
    engagement_before_days: float = 35.0
    engagement_around_days: float = 4.0
    engagement_after_days: float = 14.0
    min_before_posts: int = 3
    # Drip-fed growth
    drip_min_intervals: int = 6
    drip_min_hours: float = 30.0
    drip_z: float = 1.0
    drip_level_z: float = 2.5
    drip_min_share_per_day: float = 0.001
    drip_max_cv: float = 0.25
    drip_min_share: float = 0.01
    drip_low_length_factor: int = 4
    drip_low_z: float = 12.0
    drip_sustained_ratio: float = 2.0
    drip_burst_hours: float = 192.0
    drip_partial_ratio: float = 3.0
    # Following
    following_min_share: float = 0.10
    following_min_accounts: float = 50.0
    seesaw_min_share: float = 0.05
    seesaw_max_gap_days: float = 10.0
    # Round numbers
    round_tolerance_share: float = 0.01
    # Posts
    post_min_likes: float = 20.0
    post_z: float = 3.5
    post_level_cap: float = 2.5
    post_joint_z: float = 4.5
    post_min_ratio: float = 2.0
    post_min_ratio_others: float = 3.0
    post_high_ratio: float = 4.0
    post_ratio_z: float = 5.0
    post_ratio_factor: float = 3.0
    post_block_days: int = 30
    post_baseline_blocks: int = 4
    post_min_baseline: int = 5
    post_min_block: int = 3
    # Engagement rate bands
    er_prior_weight: float = 20.0
    er_prior_spread: float = 0.5
    er_min_spread: float = 0.35
    er_low_z: float = 3.0
    er_medium_z: float = 5.0
    er_min_posts: int = 3
    er_min_population: float = 8.0
    # Shared farm
    farm_min_accounts: int = 3
    farm_z: float = 5.0
    farm_min_share: float = 0.01
    farm_similarity: float = 0.10
    farm_window_seconds: int = 3 * HOUR
    farm_max_hours: float = 24.0


DEFAULT = Thresholds()


@dataclass(frozen=True, slots=True)
class Finding:
    """One explained suspicion, ready to become a ``flag`` row."""

    account_id: int
    kind: str
    severity: Severity
    window_start: int  # epoch seconds
    window_end: int
    score: float
    evidence: dict[str, Any]
    post_id: int | None = None
    # Findings of one family over one window share a flag: a re-run may change the kind (for
    # example bought → organic once engagement data arrives) without adding a second flag.
    family: str = ""

    @property
    def dedupe_key(self) -> str:
        """The flag's identity: family, account, post and window start."""
        family = self.family or self.kind
        return f"{family}:{self.account_id}:{self.post_id or 0}:{self.window_start}"


@dataclass(frozen=True, slots=True)
class JumpCandidate:
    """A follower jump, kept for the cross-account shared-farm check."""

    account_id: int
    window_start: int
    window_end: int
    excess: float
    z: float
    followers_before: float
    organic: bool
    # The rounding unit of a floored count (YouTube): its excess is known to within one unit.
    unit: float = 0.0


# -- small numeric helpers ----------------------------------------------------------------------


def _count(value: float | None) -> int | None:
    return None if value is None or not np.isfinite(value) else int(value)


def _iso(epoch: int | float) -> str:
    return datetime.fromtimestamp(int(epoch), UTC).isoformat().replace("+00:00", "Z")


def _r(value: float, digits: int = 3) -> float | None:
    """A JSON-friendly float: rounded to ``digits`` significant figures, None for NaN."""
    if value is None or not math.isfinite(value):
        return None
    if value == 0:
        return 0.0
    return float(round(value, max(digits - 1 - math.floor(math.log10(abs(value))), 0)))


def _score(z: float, bonus: float = 0.0) -> float:
    """Strength of evidence in [0, 1): grows with z, raised by supporting evidence."""
    base = 1.0 - math.exp(-max(z, 0.0) / 20.0)
    return float(round(1.0 - (1.0 - base) * (1.0 - bonus), 4))


def _grouped_median(values: Float, keys: Int) -> tuple[Int, Float, Int]:
    """Median of ``values`` per run of equal ``keys`` (keys must be grouped, e.g. sorted).

    Returns (key of each group, its median, its size).
    """
    if values.size == 0:
        return np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    lengths = np.diff(np.concatenate((starts, [keys.size])))
    groups = starts.size
    longest = int(lengths.max())
    if longest <= 512:
        # Usual case: short groups (a week of 6-hourly deltas); sort a padded matrix row-wise.
        group_of = np.repeat(np.arange(groups), lengths)
        position = np.arange(keys.size) - np.repeat(starts, lengths)
        matrix = np.full((groups, longest), np.inf)
        matrix[group_of, position] = values
        matrix.sort(axis=1)
        rows = np.arange(groups)
        median = 0.5 * (matrix[rows, (lengths - 1) // 2] + matrix[rows, lengths // 2])
    else:
        ordered = values[np.lexsort((values, keys))]
        median = 0.5 * (ordered[starts + (lengths - 1) // 2] + ordered[starts + lengths // 2])
    return keys[starts], median, lengths


def _nanmedian_rows(stack: Float) -> Float:
    """Median along axis 0 ignoring NaN (NaN where all are NaN), without warnings."""
    ordered = np.sort(stack, axis=0)  # NaN sorts last
    valid = np.sum(~np.isnan(stack), axis=0)
    lo = np.take_along_axis(ordered, np.maximum((valid - 1) // 2, 0)[None], axis=0)[0]
    hi = np.take_along_axis(ordered, np.maximum(valid // 2, 0)[None], axis=0)[0]
    out: Float = 0.5 * (lo + hi)
    out[valid == 0] = np.nan
    return out


def _trailing_baseline(
    seg: Int,
    block: Int,
    values: Float,
    accounts: int,
    blocks_back: int,
    include_own: bool,
    *,
    mad: bool = True,
    min_block_count: int = 1,
) -> tuple[Float, Float, Float]:
    """Per element: median and MAD of ``values`` over the preceding blocks of its account.

    ``block`` is an integer time block (week, 30-day block) per element, non-decreasing within
    an account. Per (account, block) the median and MAD are computed, then combined (median of
    medians, median of MADs) over the ``blocks_back`` blocks before the element's own block
    (and the own block too if ``include_own``). Returns (median, MAD, count) per element.
    Blocks with fewer than ``min_block_count`` values are left out: a median of medians gives
    a block of one post as much weight as a block of twelve.
    """
    finite = np.isfinite(values)
    if not finite.any():
        nan = np.full(values.size, np.nan)
        return nan, nan, np.zeros(values.size)
    low_block = int(block[finite].min())
    span = int(block[finite].max()) - low_block + 1
    key = seg[finite] * span + (block[finite] - low_block)
    v = values[finite]
    keys, med, counts = _grouped_median(v, key)
    grid_med = np.full((accounts, span), np.nan)
    grid_mad = np.full((accounts, span), np.nan)
    grid_n = np.zeros((accounts, span))
    rows, cols = keys // span, keys % span
    grid_med[rows, cols], grid_n[rows, cols] = med, counts
    if mad:
        _, spread, _ = _grouped_median(np.abs(v - np.repeat(med, counts)), key)
        grid_mad[rows, cols] = spread
    if min_block_count > 1:
        thin = grid_n < min_block_count
        grid_med[thin], grid_mad[thin], grid_n[thin] = np.nan, np.nan, 0.0
    shifts = range(0 if include_own else 1, blocks_back + (0 if include_own else 1))
    stack_med = np.full((len(shifts), accounts, span), np.nan)
    stack_mad = np.full((len(shifts), accounts, span), np.nan)
    stack_n = np.zeros((len(shifts), accounts, span))
    for i, shift in enumerate(shifts):
        stack_med[i, :, shift:] = grid_med[:, : span - shift]
        stack_mad[i, :, shift:] = grid_mad[:, : span - shift]
        stack_n[i, :, shift:] = grid_n[:, : span - shift]
    base_med = _nanmedian_rows(stack_med)
    base_mad = _nanmedian_rows(stack_mad) if mad else base_med
    base_n = stack_n.sum(axis=0)
    col = np.clip(block - low_block, 0, span - 1)
    inside = (block >= low_block) & (block < low_block + span)
    out_med = np.where(inside, base_med[seg, col], np.nan)
    out_mad = np.where(inside, base_mad[seg, col], np.nan)
    out_n = np.where(inside, base_n[seg, col], 0.0)
    return out_med, out_mad, out_n


PER_DAY_INTERVALS = 4  # at the default 6-hourly collection


def _trailing_mean(values: Float, seg: Int, window: int) -> Float:
    """Mean of each value and the ``window - 1`` before it within its segment.

    NaN where the window reaches into another segment or holds a NaN.
    """
    out = np.full(values.size, np.nan)
    if values.size < window:
        return out
    finite = np.isfinite(values)
    total = np.cumsum(np.concatenate(([0.0], np.where(finite, values, 0.0))))
    holes = np.cumsum(np.concatenate(([0], ~finite)))
    sums = total[window:] - total[:-window]
    clean = (holes[window:] - holes[:-window]) == 0
    same = seg[window - 1 :] == seg[: values.size - window + 1]
    out[window - 1 :] = np.where(same & clean, sums / window, np.nan)
    return out


def _runs(mark: Bool, seg: Int) -> tuple[Int, Int]:
    """Start and end (inclusive) indices of runs of True that do not cross accounts."""
    if mark.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    new_seg = np.concatenate(([True], seg[1:] != seg[:-1]))
    last_seg = np.concatenate((seg[1:] != seg[:-1], [True]))
    prev = np.concatenate(([False], mark[:-1]))
    nxt = np.concatenate((mark[1:], [False]))
    starts = np.flatnonzero(mark & (new_seg | ~prev))
    ends = np.flatnonzero(mark & (last_seg | ~nxt))
    return starts, ends


def _rounding_unit(followers: Float) -> Float:
    """YouTube's rounding unit: one unit in the third significant figure (1 below 1,000)."""
    safe = np.maximum(np.nan_to_num(followers, nan=1.0), 1.0)
    unit = 10.0 ** (np.floor(np.log10(safe)) - 2)
    return np.where(safe >= 1000, unit, 1.0)


def _infer_rounded(seg: Int, followers: Float, rounded: Bool, accounts: int) -> Bool:
    """Rounded points: those marked so, and every point of a series that is plainly floored.

    A CSV import may not say that a YouTube series is rounded; a series of which nearly every
    count (at least 20, all 1,000 or more) has at most three significant figures is.
    """
    finite = np.isfinite(followers) & (followers >= 1000)
    exact = finite & (np.mod(followers, _rounding_unit(followers)) == 0)
    n = np.bincount(seg[finite], minlength=accounts)
    k = np.bincount(seg[exact], minlength=accounts)
    floored = (n >= 20) & (k >= 0.95 * np.maximum(n, 1))
    return rounded | floored[seg]


def round_number(
    excess: float, tolerance_share: float = DEFAULT.round_tolerance_share
) -> int | None:
    """The round number (+1,000, +5,000, +10,000…) that ``excess`` matches, if any."""
    size = abs(excess)
    for unit in (10_000, 5_000, 1_000):
        nearest = round(size / unit) * unit
        if nearest >= 1000 and abs(size - nearest) <= max(tolerance_share * nearest, 10.0):
            return int(math.copysign(nearest, excess))
    return None


# -- per-interval deltas ------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Deltas:
    """Consecutive known counts of each account, as intervals with their own baseline."""

    seg: Int
    t0: Int
    t1: Int
    c0: Float
    c1: Float
    hours: Float
    delta: Float
    unit: Float  # rounding unit (0 where exact)
    rate: Float  # baseline median per hour
    spread: Float  # robust spread per sqrt(hour)
    baseline_n: Float
    expected: Float
    excess: Float  # delta - expected, less the rounding unit
    sd: Float  # noise of the delta, floored
    sd_drip: Float  # noise of the delta without the sqrt(count) floor
    z: Float


def _deltas(series: ProfileSeries, counts: Float, rounded: Bool | None, th: Thresholds) -> _Deltas:
    seg_all = segment_index(series.offsets)
    keep = np.isfinite(counts)
    seg, t, c = seg_all[keep], series.t[keep], counts[keep]
    unit_points = np.zeros(c.size)
    if rounded is not None:
        unit_points = np.where(rounded[keep], _rounding_unit(c), 0.0)
    pair = np.flatnonzero(seg[1:] == seg[:-1])
    i0, i1 = pair, pair + 1
    seg_d = seg[i1]
    hours = np.maximum((t[i1] - t[i0]) / HOUR, 1.0 / 60.0)
    delta = c[i1] - c[i0]
    unit = np.maximum(unit_points[i0], unit_points[i1])
    week = (t[i1] - _MONDAY) // WEEK
    rate = delta / hours
    rate_med_blockwise, _, _ = _trailing_baseline(
        seg_d, week, rate, series.accounts, 1, include_own=True, mad=False
    )
    # Residual per sqrt(hour) around the own week's median: a random-walk scale, so deltas over
    # long gaps are allowed proportionally more wander.
    resid = (delta - rate_med_blockwise * hours) / np.sqrt(hours)
    base_rate, _, n = _trailing_baseline(
        seg_d, week, rate, series.accounts, th.baseline_weeks, include_own=False, mad=False
    )
    resid_abs = np.abs(resid)
    spread_med, _, _ = _trailing_baseline(
        seg_d, week, resid_abs, series.accounts, th.baseline_weeks, include_own=False, mad=False
    )
    spread = 1.4826 * spread_med
    expected = base_rate * hours
    raw = delta - expected
    excess = np.sign(raw) * np.maximum(np.abs(raw) - unit, 0.0)
    level = np.maximum(np.minimum(c[i0], c[i1]), 0.0)
    floor = np.maximum(th.noise_floor_sqrt * np.sqrt(level), th.noise_floor_followers)
    # The rounding unit is already taken off the excess; the spread of a floored series is
    # mostly quantisation (two uniform errors: variance u²/6), which is not noise of the count.
    wander = np.maximum(spread**2 * hours - unit**2 / 6.0, 0.0)
    sd = np.sqrt(wander + floor**2)
    # Without the sqrt(count) floor, which would hide every small drip: a drip is judged on a
    # run's level and constancy, not on one interval. Counting noise of the expected change.
    sd_drip = np.sqrt(wander + np.abs(expected) + 1.0)
    valid = n >= th.min_baseline_intervals
    z = np.where(valid, excess / sd, np.nan)
    return _Deltas(
        seg=seg_d,
        t0=t[i0],
        t1=t[i1],
        c0=c[i0],
        c1=c[i1],
        hours=hours,
        delta=delta,
        unit=unit,
        rate=base_rate,
        spread=spread,
        baseline_n=n,
        expected=expected,
        excess=excess,
        sd=sd,
        sd_drip=sd_drip,
        z=z,
    )


# -- engagement around an event ---------------------------------------------------------------


def _interactions(posts: PostTable) -> Float:
    parts = np.vstack([posts.likes, posts.comments, posts.shares, posts.saves])
    known = np.isfinite(parts).any(axis=0)
    return np.where(known, np.nansum(parts, axis=0), np.nan)


@dataclass(frozen=True, slots=True)
class _Engagement:
    known: bool
    elevated: bool
    evidence: dict[str, Any]
    # Median engagement of the posts around the event over the posts before: a sustained rise,
    # where the peak ratio may be one lucky post.
    typical_ratio: float = 1.0
    peak_ratio: float = 1.0


def _engagement_around(
    posts: PostTable,
    interactions: Float,
    k: int,
    start: int,
    end: int,
    share: float,
    th: Thresholds,
) -> _Engagement:
    """Did engagement rise with the audience around [start, end]? (the viral-growth test)."""
    lo, hi = int(posts.offsets[k]), int(posts.offsets[k + 1])
    pub = posts.published[lo:hi]
    eng = interactions[lo:hi]
    views = posts.views[lo:hi]
    around_from = start - th.engagement_around_days * DAY
    before = (pub >= start - th.engagement_before_days * DAY) & (pub < around_from)
    before &= np.isfinite(eng)
    around = (pub >= around_from) & (pub <= end + 3 * DAY) & np.isfinite(eng)
    after = (pub > end) & (pub <= end + th.engagement_after_days * DAY) & np.isfinite(eng)
    evidence: dict[str, Any] = {
        "posts_before": int(before.sum()),
        "posts_around": int(around.sum()),
        "posts_after": int(after.sum()),
    }
    if before.sum() < th.min_before_posts:
        evidence["engagement"] = "unknown: too few earlier posts to compare with"
        return _Engagement(False, False, evidence)
    base = float(np.median(eng[before]))
    evidence["engagement_per_post_before"] = _r(base)
    elevated = False
    typical = peak = 1.0
    if base > 0 and around.any():
        peak = float(np.max(eng[around])) / base
        typical = float(np.median(eng[around])) / base
        evidence["engagement_peak_ratio"] = _r(peak)
        evidence["engagement_typical_ratio"] = _r(typical)
        elevated |= peak >= th.viral_post_ratio
        base_views = views[before & np.isfinite(views)]
        around_views = views[around & np.isfinite(views)]
        if base_views.size >= th.min_before_posts and around_views.size:
            vbase = float(np.median(base_views))
            if vbase > 0:
                vpeak = float(np.max(around_views)) / vbase
                evidence["views_peak_ratio"] = _r(vpeak)
                elevated |= vpeak >= th.viral_post_ratio
    if base > 0 and after.sum() >= 2:
        after_ratio = float(np.median(eng[after])) / base
        evidence["engagement_per_post_after"] = _r(float(np.median(eng[after])))
        evidence["engagement_after_ratio"] = _r(after_ratio)
    evidence["engagement"] = "rose with the audience" if elevated else "flat"
    return _Engagement(True, elevated, evidence, typical, peak)


# -- followers: jumps, drops, drips -------------------------------------------------------------


def follower_findings(
    series: ProfileSeries,
    posts: PostTable | None = None,
    thresholds: Thresholds = DEFAULT,
    *,
    jumps: list[JumpCandidate] | None = None,
) -> list[Finding]:
    """Bought-follower jumps (vs organic spikes), purges and drip-fed runs of one batch."""
    th = thresholds
    posts = posts if posts is not None else PostTable.empty(series.account_ids)
    rounded = _infer_rounded(
        segment_index(series.offsets), series.followers, series.rounded, series.accounts
    )
    d = _deltas(series, series.followers, rounded, th)
    interactions = _interactions(posts)
    out: list[Finding] = []
    z = np.nan_to_num(d.z, nan=0.0)
    for sign in (1, -1):
        mark = sign * z >= th.jump_extend_z
        starts, ends = _runs(mark, d.seg)
        if starts.size == 0:
            continue
        # An event is a run of unusual intervals whose combined evidence is strong: a purchase
        # delivered over two intervals counts whole, and so does a purge spread over a day.
        cum_x = np.concatenate(([0.0], np.cumsum(np.where(mark, d.excess, 0.0))))
        cum_v = np.concatenate(([0.0], np.cumsum(np.where(mark, d.sd**2, 0.0))))
        total = (
            sign
            * (cum_x[ends + 1] - cum_x[starts])
            / np.sqrt(np.maximum(cum_v[ends + 1] - cum_v[starts], 1e-9))
        )
        for s, e, top in zip(starts, ends, total, strict=True):
            if top < th.jump_seed_z:
                continue
            if sign > 0:
                out.extend(_jump(d, posts, interactions, int(s), int(e), series, th, jumps))
            else:
                out.extend(_drop(d, int(s), int(e), series, th))
    drips = _drips(d, posts, interactions, series, th)
    out.extend(drips)
    out.extend(_floored_drips(d, posts, interactions, series, th, drips))
    return out


def _event_numbers(d: _Deltas, s: int, e: int) -> dict[str, float]:
    sl = slice(s, e + 1)
    excess = float(d.excess[sl].sum())
    sd = float(np.sqrt(np.sum(d.sd[sl] ** 2)))
    return {
        # The central estimate; z uses the conservative one (less the rounding unit).
        "excess": float(np.sum(d.delta[sl] - d.expected[sl])),
        "z": excess / sd if sd > 0 else 0.0,
        "observed": float(d.delta[sl].sum()),
        "expected": float(d.expected[sl].sum()),
        "before": float(d.c0[s]),
        "after": float(d.c1[e]),
        "hours": float((d.t1[e] - d.t0[s]) / HOUR),
        "rate": float(d.rate[s]),
        "sd": sd,
        "unit": float(d.unit[sl].max()),
    }


def _first_evidence(d: _Deltas, s: int, e: int, seed: float, sign: int) -> int:
    # The first snapshot at which the run so far was already strong enough.
    cum_x = np.cumsum(d.excess[s : e + 1])
    cum_v = np.cumsum(d.sd[s : e + 1] ** 2)
    hits = np.flatnonzero(sign * cum_x / np.sqrt(np.maximum(cum_v, 1e-9)) >= seed)
    return int(d.t1[s + int(hits[0])]) if hits.size else int(d.t1[e])


def _jump(
    d: _Deltas,
    posts: PostTable,
    interactions: Float,
    s: int,
    e: int,
    series: ProfileSeries,
    th: Thresholds,
    jumps: list[JumpCandidate] | None,
) -> list[Finding]:
    k = int(d.seg[s])
    account_id = int(series.account_ids[k])
    n = _event_numbers(d, s, e)
    start, end = int(d.t0[s]), int(d.t1[e])
    share = n["excess"] / max(n["before"], 1.0)
    engagement = _engagement_around(posts, interactions, k, start, end, share, th)
    # A package arrives on top of organic growth (the excess) or instead of it (the change).
    matched = round_number(n["excess"], th.round_tolerance_share) or round_number(
        n["observed"], th.round_tolerance_share
    )
    per_day = n["excess"] / max(n["hours"] / 24.0, 1.0)
    evidence: dict[str, Any] = {
        "followers_before": int(n["before"]),
        "followers_after": int(n["after"]),
        "observed_change": round(n["observed"]),
        "expected_change": _r(n["expected"]),
        "excess": round(n["excess"]),
        "excess_share": _r(share),
        "hours": _r(n["hours"]),
        "baseline_rate_per_day": _r(n["rate"] * 24),
        "noise_sd": _r(n["sd"]),
        "z": _r(n["z"]),
        "round_number": matched,
        "first_evidence_at": _iso(_first_evidence(d, s, e, th.jump_seed_z, 1)),
        **engagement.evidence,
    }
    if n["unit"] > 0:
        evidence["rounding_unit"] = int(n["unit"])
    if per_day > th.daily_paid_ads_ceiling:
        evidence["above_paid_ads_ceiling_per_day"] = int(th.daily_paid_ads_ceiling)
    if jumps is not None:
        jumps.append(
            JumpCandidate(
                account_id,
                start,
                end,
                n["excess"],
                n["z"],
                n["before"],
                engagement.elevated,
                n["unit"],
            )
        )
    # A purchase lands within hours; a gain spread over a long gap or days of unusual intervals
    # needs to be proportionally larger before it says more than "unusual".
    needed = th.jump_min_share * max(1.0, n["hours"] / 12.0)
    big = share >= needed and n["excess"] >= th.jump_min_followers
    bonus = 0.4 if matched is not None else 0.0
    if engagement.elevated:
        kind, severity = "organic_spike", "low"
        score = round(_score(n["z"]) * 0.3, 3)
    elif not big:
        kind, severity, score = "follower_jump", "low", round(_score(n["z"]) * 0.5, 3)
    else:
        kind = "bought_followers"
        strong = (
            share >= th.jump_high_share
            or matched is not None
            or per_day > th.daily_paid_ads_ceiling
            or n["z"] >= th.jump_high_z
        )
        severity = "high" if strong and engagement.known else "medium"
        score = _score(n["z"], bonus)
    return [
        Finding(
            account_id,
            kind,
            severity,  # type: ignore[arg-type]
            start,
            end,
            score,
            evidence,
            family="follower_jump",
        )
    ]


def _drop(d: _Deltas, s: int, e: int, series: ProfileSeries, th: Thresholds) -> list[Finding]:
    k = int(d.seg[s])
    n = _event_numbers(d, s, e)
    # Followers must really have gone: growth that merely fell below a baseline raised by an
    # earlier drip or purchase is not a purge.
    lost = min(-n["excess"], -n["observed"])
    share = lost / max(n["before"], 1.0)
    if share < th.purge_min_share or lost < th.jump_min_followers:
        return []
    evidence = {
        "followers_before": int(n["before"]),
        "followers_after": int(n["after"]),
        "observed_change": round(n["observed"]),
        "expected_change": _r(n["expected"]),
        "lost": round(lost),
        "lost_share": _r(share),
        "hours": _r(n["hours"]),
        "baseline_rate_per_day": _r(n["rate"] * 24),
        "noise_sd": _r(n["sd"]),
        "z": _r(n["z"]),
        "first_evidence_at": _iso(_first_evidence(d, s, e, th.jump_seed_z, -1)),
    }
    if n["unit"] > 0:
        evidence["rounding_unit"] = int(n["unit"])
    severity: Severity = "high" if share >= th.purge_high_share else "medium"
    return [
        Finding(
            int(series.account_ids[k]),
            "follower_purge",
            severity,
            int(d.t0[s]),
            int(d.t1[e]),
            _score(-n["z"]),
            evidence,
            family="follower_drop",
        )
    ]


def _drips(
    d: _Deltas, posts: PostTable, interactions: Float, series: ProfileSeries, th: Thresholds
) -> list[Finding]:
    per_hour = (d.delta - d.expected) / d.hours
    level = np.maximum(d.c0, 1.0)
    # A floored series moves in whole units (100, 200, 100…): judge it on pairs of intervals,
    # and ask for more than one unit per interval, which steady organic growth also shows.
    gain = d.delta - d.expected
    previous = np.concatenate(([np.nan], gain[:-1]))
    previous[np.concatenate(([True], d.seg[1:] != d.seg[:-1]))] = np.nan
    paired = np.where(np.isfinite(previous), (gain + previous) / 2, gain)
    # A floored series whose baseline moved a quarter of a unit per interval or less and that now
    # steps a whole unit every interval for a day: that is a real rise (rounding moves a
    # count by one unit at most, however long the window), not quantisation.
    # The baseline of a floored series is taken on daily means: a median of 6-hourly steps of
    # 0 or 1 unit says 0 whenever growth is under half a unit per interval.
    day = _trailing_mean(d.delta, d.seg, PER_DAY_INTERVALS)
    week = (d.t1 - _MONDAY) // WEEK
    day_base, _, _ = _trailing_baseline(
        d.seg, week, day, series.accounts, th.baseline_weeks, include_own=False, mad=False
    )
    steady_units = (day - day_base >= 0.75 * d.unit) & (day_base <= 0.25 * d.unit)
    elevated = (
        (d.baseline_n >= th.min_baseline_intervals)
        & (d.delta - d.expected >= th.drip_z * d.sd_drip)
        & (per_hour * 24 >= th.drip_min_share_per_day * level)
        & (d.delta > 0)
        # On a floored series steady growth shows as steps of exactly one unit: no drip.
        & ((d.unit == 0) | (paired >= 1.2 * d.unit) | steady_units)
    )
    starts, ends = _runs(elevated, d.seg)
    out: list[Finding] = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        count = e - s + 1
        hours = float((d.t1[e] - d.t0[s]) / HOUR)
        if count < th.drip_min_intervals or hours < th.drip_min_hours:
            continue
        # Increments per standard interval: the rate of each interval times the typical length.
        typical = float(np.median(d.hours[s : e + 1]))
        increments = d.delta[s : e + 1] / d.hours[s : e + 1] * typical
        centre = float(np.median(increments))
        dispersion = 1.4826 * float(np.median(np.abs(increments - centre)))
        cv = dispersion / max(centre, 1e-9)
        unit = float(np.max(d.unit[s : e + 1]))
        # Rounding errs by at most one unit over the whole run, so a long run's level is known
        # to within a unit divided by its length, not half a unit per interval.
        noise = max(float(np.median(d.sd_drip[s : e + 1])), unit / max(count, 2))
        lift = float(np.median(d.delta[s : e + 1] - d.expected[s : e + 1]))
        # Near-constant: no more spread than the account's own noise allows (or a small share
        # of the increment), at a level well above it. Organic bursts scale their noise up.
        if unit > 0:
            # Quantised increments: their spread is the unit, their level the run's mean.
            dispersion = max(dispersion - unit, 0.0)
            lift = float(np.mean(d.delta[s : e + 1] - d.expected[s : e + 1]))
        if dispersion > max(th.drip_max_cv * centre, noise):
            continue
        # A low drip (a few followers per interval on a nano account) is no higher than the
        # noise of one interval, so its constancy says little over six; over a long run the
        # sum says it: a lift sustained for days, in increments less dispersed than counting
        # noise (organic gains are over-dispersed), is a purchase. It is judged later, at the
        # run's long minimum length.
        min_count = th.drip_min_intervals
        if lift < th.drip_level_z * noise:
            cumulative = np.cumsum(d.delta[s : e + 1] - d.expected[s : e + 1]) / np.sqrt(
                np.cumsum(d.sd_drip[s : e + 1] ** 2)
            )
            strong = np.flatnonzero(
                (np.arange(count) >= th.drip_min_intervals * th.drip_low_length_factor - 1)
                & (cumulative >= th.drip_low_z)
            )
            if strong.size == 0 or lift <= 0 or dispersion > np.sqrt(max(centre, 1.0)):
                continue
            min_count = int(strong[0]) + 1
        k = int(d.seg[s])
        start, end = int(d.t0[s]), int(d.t1[e])
        excess = float(np.sum(d.delta[s : e + 1] - d.expected[s : e + 1]))
        share = excess / max(float(d.c0[s]), 1.0)
        engagement = _engagement_around(posts, interactions, k, start, end, share, th)
        # A post well above the usual (if not 5x) explains part of a rise: ask for twice the
        # share before calling it bought.
        needed = th.drip_min_share * (
            2.0 if engagement.peak_ratio >= th.drip_partial_ratio else 1.0
        )
        before = max(float(d.c0[s]), 1.0)
        gained = np.cumsum(d.delta[s : e + 1] - d.expected[s : e + 1])
        enough = np.flatnonzero(
            (np.arange(count) >= min_count - 1)
            # As for a jump: a share of the audience, and enough followers to be more than noise.
            & (gained >= max(needed * before, th.jump_min_followers))
        )
        if enough.size == 0:
            continue
        evidence: dict[str, Any] = {
            "intervals": count,
            "hours": _r(hours),
            "increment_per_interval": _r(centre),
            "interval_hours": _r(typical),
            "increment_cv": _r(cv),
            "baseline_rate_per_day": _r(float(d.rate[s]) * 24),
            "excess": round(excess),
            "excess_share": _r(share),
            "followers_before": int(d.c0[s]),
            "followers_after": int(d.c1[e]),
            "first_evidence_at": _iso(int(d.t1[s + int(enough[0])])),
            **engagement.evidence,
        }
        z = excess / max(float(np.sqrt(np.sum(d.sd_drip[s : e + 1] ** 2))), 1.0)
        # One post far above the usual explains the gains of the week after it (its audience
        # keeps arriving for days); weeks of steady gains need the posts' engagement to have
        # risen as a whole, not one lucky post among many.
        if engagement.elevated and (
            hours <= th.drip_burst_hours or engagement.typical_ratio >= th.drip_sustained_ratio
        ):
            kind, severity, score = "organic_growth", "low", round(_score(z) * 0.3, 3)
        else:
            kind, severity = "drip_followers", "medium"
            if cv <= th.drip_max_cv / 2 and share >= th.jump_min_share * 3:
                severity = "high"
            score = _score(z, 0.3 if cv <= th.drip_max_cv / 2 else 0.0)
        out.append(
            Finding(
                int(series.account_ids[k]),
                kind,
                severity,  # type: ignore[arg-type]
                start,
                end,
                score,
                evidence,
                family="drip",
            )
        )
    return out


def _floored_drips(
    d: _Deltas,
    posts: PostTable,
    interactions: Float,
    series: ProfileSeries,
    th: Thresholds,
    found: Sequence[Finding],
) -> list[Finding]:
    """Drips on floored counts that add less than a rounding unit per interval.

    Floored to a unit of 1,000, a purchase of 500 a quarter-day shows as 0, 1,000, 0, 1,000: no
    interval is a run. Per UTC day the same purchase is two units, day after day, where the
    account used to gain a unit a week. So floored accounts are also read day by day: a run of
    three days or more, each gaining a unit or more and at least twice the account's usual day
    (the mean of the 28 days before the week before: a mean, because a median of days that are
    mostly 0 says 0), in daily increments that vary by no more than a unit or a quarter of their
    size, whose units far outnumber what the usual days would have brought (see
    :func:`_floored_run`).
    """
    out: list[Finding] = []
    floored = np.flatnonzero(d.unit > 0)
    if floored.size == 0:
        return out
    for k in np.unique(d.seg[floored]).tolist():
        idx = floored[d.seg[floored] == k]
        day_of = d.t1[idx] // DAY
        days, first = np.unique(day_of, return_index=True)
        last = np.append(first[1:], idx.size) - 1
        gain = np.add.reduceat(d.delta[idx], first)
        hours = np.add.reduceat(d.hours[idx], first)
        unit = np.maximum.reduceat(d.unit[idx], first)
        whole = (hours >= 20.0) & (hours <= 28.0)
        base = np.full(days.size, np.nan)
        for i in range(days.size):
            window = whole & (days >= days[i] - 35) & (days < days[i] - 7)
            if window.sum() >= 14:
                base[i] = max(float(np.mean(gain[window])), 0.0)
        elevated = whole & np.isfinite(base) & (gain >= unit) & (gain >= 2.0 * base)
        i = 0
        while i < days.size:
            if not elevated[i]:
                i += 1
                continue
            j = i
            while j + 1 < days.size and elevated[j + 1] and days[j + 1] == days[j] + 1:
                j += 1
            out.extend(
                _floored_run(
                    d,
                    idx,
                    first,
                    last,
                    gain,
                    base,
                    unit,
                    i,
                    j,
                    k,
                    posts,
                    interactions,
                    series,
                    th,
                    found,
                )
            )
            i = j + 1
    return out


def _poisson_tail(n: int, lam: float) -> float:
    """P(X >= n) for X ~ Poisson(lam)."""
    if n <= 0:
        return 1.0
    if lam <= 0:
        return 0.0
    term = total = math.exp(-lam)
    for m in range(1, n):
        term *= lam / m
        total += term
    return max(1.0 - total, 0.0)


def _floored_run(
    d: _Deltas,
    idx: Int,
    first: Int,
    last: Int,
    gain: Float,
    base: Float,
    unit: Float,
    i: int,
    j: int,
    k: int,
    posts: PostTable,
    interactions: Float,
    series: ProfileSeries,
    th: Thresholds,
    found: Sequence[Finding],
) -> list[Finding]:
    count = j - i + 1
    if count < 3:
        return []
    lifts = gain[i : j + 1] - base[i : j + 1]
    centre = float(np.median(gain[i : j + 1]))
    dispersion = 1.4826 * float(np.median(np.abs(gain[i : j + 1] - centre)))
    u = float(np.max(unit[i : j + 1]))
    if dispersion > max(th.drip_max_cv * centre, u):
        return []
    start, end = int(d.t0[idx[first[i]]]), int(d.t1[idx[last[j]]])
    account_id = int(series.account_ids[k])
    if any(
        f.account_id == account_id
        and f.family == "drip"
        and f.window_start <= end
        and f.window_end >= start
        for f in found
    ):
        return []  # the interval-level reading already holds this run
    before = max(float(d.c0[idx[first[i]]]), 1.0)
    gained = np.cumsum(lifts)
    # Units seen against units the usual days bring: a count far in the tail (p < 1e-4) and
    # three times the usual plus three, since organic days are burstier than chance.
    seen = np.cumsum(gain[i : j + 1]) / u
    usual = np.cumsum(base[i : j + 1]) / u
    rare = np.array(
        [
            n >= 3.0 * lam + 3.0 and _poisson_tail(round(n), float(lam)) < 1e-4
            for n, lam in zip(seen, usual, strict=True)
        ]
    )
    enough = np.flatnonzero(
        (np.arange(count) >= 2)
        & rare
        & (gained >= max(th.drip_min_share * before, th.jump_min_followers))
    )
    if enough.size == 0:
        return []
    excess = float(np.sum(lifts))
    share = excess / before
    engagement = _engagement_around(posts, interactions, k, start, end, share, th)
    hours = (end - start) / HOUR
    if engagement.elevated and (
        hours <= th.drip_burst_hours or engagement.typical_ratio >= th.drip_sustained_ratio
    ):
        return []  # organic: a post the audience came for
    evidence: dict[str, Any] = {
        "intervals": int(last[j] - first[i] + 1),
        "days": count,
        "hours": _r(hours),
        "increment_per_day": _r(centre),
        "baseline_per_day": _r(float(np.median(base[i : j + 1]))),
        "rounding_unit": int(u),
        "excess": round(excess),
        "excess_share": _r(share),
        "followers_before": int(before),
        "followers_after": int(d.c1[idx[last[j]]]),
        "first_evidence_at": _iso(int(d.t1[idx[last[i + int(enough[0])]]])),
        **engagement.evidence,
    }
    severity: Severity = "high" if share >= th.jump_min_share * 3 else "medium"
    z = excess / max(u * np.sqrt(count), 1.0)
    return [
        Finding(
            account_id,
            "drip_followers",
            severity,
            start,
            end,
            _score(z),
            evidence,
            family="drip",
        )
    ]


# -- following ----------------------------------------------------------------------------------


def following_findings(series: ProfileSeries, thresholds: Thresholds = DEFAULT) -> list[Finding]:
    """Following-count spikes and follow/unfollow seesaws."""
    th = thresholds
    d = _deltas(series, series.following, None, th)
    z = np.nan_to_num(d.z, nan=0.0)
    out: list[Finding] = []
    # Moves: runs of unusual intervals of one sign (a follow spree often lasts a day or two).
    moves: list[tuple[int, int, int, dict[str, float]]] = []
    for sign in (1, -1):
        mark = sign * z >= th.jump_extend_z
        starts, ends = _runs(mark, d.seg)
        for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
            n = _event_numbers(d, s, e)
            share = n["excess"] / max(n["before"], 1.0)
            if sign * share >= th.seesaw_min_share and sign * n["excess"] >= (
                th.following_min_accounts / 2
            ):
                moves.append((s, e, sign, n))
    moves.sort(key=lambda m: (int(d.seg[m[0]]), m[0]))
    for s, e, sign, n in moves:
        share = n["excess"] / max(n["before"], 1.0)
        if sign < 0 or n["z"] < th.jump_seed_z or share < th.following_min_share:
            continue
        if n["excess"] < th.following_min_accounts:
            continue
        gained = np.cumsum(d.excess[s : e + 1])
        enough = np.flatnonzero(gained >= max(th.following_min_share * n["before"], 1.0))
        first = int(d.t1[s + int(enough[0])]) if enough.size else int(d.t1[e])
        out.append(
            Finding(
                int(series.account_ids[int(d.seg[s])]),
                "following_spike",
                "high" if share >= 0.5 else "medium",
                int(d.t0[s]),
                int(d.t1[e]),
                _score(n["z"]),
                {
                    "following_before": int(n["before"]),
                    "following_after": int(n["after"]),
                    "followed": round(n["observed"]),
                    "expected_change": _r(n["expected"]),
                    "share": _r(share),
                    "hours": _r(n["hours"]),
                    "z": _r(n["z"]),
                    "first_evidence_at": _iso(first),
                },
                family="following_spike",
            )
        )
    # Seesaw: moves alternating up and down, each within a few days of the previous one.
    chain: list[tuple[int, int, int, dict[str, float]]] = []
    for move in [*moves, None]:
        if (
            move is not None
            and chain
            and d.seg[move[0]] == d.seg[chain[-1][0]]
            and move[2] != chain[-1][2]
            and d.t0[move[0]] - d.t1[chain[-1][1]] <= th.seesaw_max_gap_days * DAY
        ):
            chain.append(move)
            continue
        if len(chain) >= 2:
            out.append(_seesaw(d, chain, int(series.account_ids[int(d.seg[chain[0][0]])])))
        chain = [move] if move is not None else []
    return out


def _seesaw(
    d: _Deltas, chain: list[tuple[int, int, int, dict[str, float]]], account_id: int
) -> Finding:
    ups = [round(m[3]["observed"]) for m in chain if m[2] > 0]
    downs = [round(m[3]["observed"]) for m in chain if m[2] < 0]
    severity: Severity = "high" if len(chain) >= 4 else "medium"
    weakest = min(abs(m[3]["z"]) for m in chain)
    return Finding(
        account_id,
        "follow_unfollow",
        severity,
        int(d.t0[chain[0][0]]),
        int(d.t1[chain[-1][1]]),
        _score(weakest * len(chain) / 2),
        {
            "swings": len(chain),
            "followed": ups,
            "unfollowed": downs,
            "following_before": int(d.c0[chain[0][0]]),
            "following_after": int(d.c1[chain[-1][1]]),
            "at": [_iso(int(d.t1[m[1]])) for m in chain],
            "first_evidence_at": _iso(int(d.t1[chain[1][1]])),
        },
        family="follow_unfollow",
    )


# -- posts --------------------------------------------------------------------------------------


def post_findings(posts: PostTable, thresholds: Thresholds = DEFAULT) -> list[Finding]:
    """Posts whose likes are far above what their views or comments predict."""
    th = thresholds
    if len(posts) == 0:
        return []
    seg = segment_index(posts.offsets)
    block = posts.published // (th.post_block_days * DAY)
    likes, views, comments = posts.likes, posts.views, posts.comments
    # Comments and shares both follow the audience that really engages; pods and bought likes
    # bring neither. Their sum is a steadier yardstick than comments alone on small accounts.
    others = comments + np.nan_to_num(posts.shares, nan=0.0)
    usable = np.isfinite(likes)
    lv = np.where(
        usable & np.isfinite(views) & (views > 0), np.log((likes + 1) / (views + 1)), np.nan
    )
    lc = np.where(usable & np.isfinite(others), np.log((likes + 1) / (others + 1)), np.nan)
    accounts = posts.account_ids.size
    mv, madv, nv = _trailing_baseline(
        seg, block, lv, accounts, th.post_baseline_blocks, True, min_block_count=th.post_min_block
    )
    mc, madc, nc = _trailing_baseline(
        seg, block, lc, accounts, th.post_baseline_blocks, True, min_block_count=th.post_min_block
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        # A post's ratio wanders by the account's own (intrinsic) spread plus the counting noise
        # of this post's counts: a post with 7 comments says far less about its ratio than the
        # account's usual post with 40. The account's spread of the ratio holds the counting
        # noise of its usual posts; that part is taken out and this post's own put back.
        cv = np.where(np.isfinite(lv), 1 / (likes + 1) + 1 / (views + 1), np.nan)
        cc = np.where(np.isfinite(lc), 1 / (likes + 1) + 1 / (others + 1), np.nan)
        usual_cv, _, _ = _trailing_baseline(
            seg,
            block,
            cv,
            accounts,
            th.post_baseline_blocks,
            True,
            mad=False,
            min_block_count=th.post_min_block,
        )
        usual_cc, _, _ = _trailing_baseline(
            seg,
            block,
            cc,
            accounts,
            th.post_baseline_blocks,
            True,
            mad=False,
            min_block_count=th.post_min_block,
        )
        intrinsic_v = np.maximum((1.4826 * madv) ** 2 - usual_cv, 0.0)
        intrinsic_c = np.maximum((1.4826 * madc) ** 2 - usual_cc, 0.0)
        sv = np.maximum(np.sqrt(intrinsic_v + cv), 0.1)
        sc = np.maximum(np.sqrt(intrinsic_c + cc), 0.15)
        zv = (lv - mv) / sv
        zc = (lc - mc) / sc
    zv = np.where(nv >= th.post_min_baseline, zv, np.nan)
    zc = np.where(nc >= th.post_min_baseline, zc, np.nan)
    # How far the likes themselves are above the account's usual post: pods multiply them,
    # while the yardstick above stays put. Capped: a viral post is far above usual too.
    level = np.log(likes + 1)
    ml, madl, nl = _trailing_baseline(
        seg,
        block,
        level,
        accounts,
        th.post_baseline_blocks,
        True,
        min_block_count=th.post_min_block,
    )
    with np.errstate(invalid="ignore"):
        zl = np.where(nl >= th.post_min_baseline, (level - ml) / np.maximum(1.4826 * madl, 0.2), 0)
    ratio_v, ratio_c = np.exp(lv - mv), np.exp(lc - mc)
    big = likes >= th.post_min_likes
    by_views, by_comments = _pods_tests(th, likes, zv, zc, zl, ratio_v, ratio_c)
    first = _first_snapshot_reading(
        posts,
        th,
        mv,
        intrinsic_v,
        mc,
        intrinsic_c,
        zl,
        nv >= th.post_min_baseline,
        nc >= th.post_min_baseline,
    )
    early = first.by_views | first.by_comments
    pods = by_views | by_comments | early
    odd_ratio = big & ~pods & (np.abs(zc) >= th.post_ratio_z)
    odd_ratio &= (ratio_c >= th.post_ratio_factor) | (ratio_c <= 1 / th.post_ratio_factor)
    out: list[Finding] = []
    for i in np.flatnonzero(pods | odd_ratio).tolist():
        k = int(seg[i])
        evidence: dict[str, Any] = {
            "likes": int(likes[i]),
            "views": None if not np.isfinite(views[i]) else int(views[i]),
            "comments": None if not np.isfinite(comments[i]) else int(comments[i]),
            "shares": None if not np.isfinite(posts.shares[i]) else int(posts.shares[i]),
            "collected_at": _iso(int(posts.collected[i])),
            "first_evidence_at": _iso(
                int(posts.first_collected[i])
                if early[i] and posts.first_collected is not None
                else int(posts.collected[i])
            ),
            "likes_vs_usual_post": _r(float(np.exp(level[i] - ml[i]))),
        }
        if np.isfinite(zv[i]):
            evidence |= {
                "likes_per_view": _r(float((likes[i] + 1) / (views[i] + 1))),
                "likes_per_view_usual": _r(float(np.exp(mv[i]))),
                "likes_expected_from_views": round(float(likes[i] / ratio_v[i])),
                "ratio_to_views": _r(float(ratio_v[i])),
                "z_views": _r(float(zv[i])),
            }
        if np.isfinite(zc[i]):
            evidence |= {
                "likes_per_comment_or_share": _r(float((likes[i] + 1) / (others[i] + 1))),
                "likes_per_comment_or_share_usual": _r(float(np.exp(mc[i]))),
                "ratio_to_comments": _r(float(ratio_c[i])),
                "z_comments": _r(float(zc[i])),
            }
        if early[i] and posts.first_collected is not None and posts.first_likes is not None:
            evidence["first_snapshot"] = {
                "collected_at": _iso(int(posts.first_collected[i])),
                "likes": _count(posts.first_likes[i]),
                "views": _count(posts.first_views[i] if posts.first_views is not None else None),
                "comments": _count(
                    posts.first_comments[i] if posts.first_comments is not None else None
                ),
                "shares": _count(posts.first_shares[i] if posts.first_shares is not None else None),
                "ratio_to_usual": _r(float(first.ratio[i])),
                "z": _r(float(first.z[i])),
            }
        if pods[i]:
            latest = by_views[i] or by_comments[i]
            ratio = float(ratio_v[i] if by_views[i] else ratio_c[i]) if latest else 0.0
            zz = float(zv[i] if by_views[i] else zc[i]) if latest else 0.0
            if early[i]:
                ratio, zz = max(ratio, float(first.ratio[i])), max(zz, float(first.z[i]))
            severity: Severity = "high" if ratio >= th.post_high_ratio else "medium"
            kind, score = "likes_anomaly", _score(zz)
        else:
            severity, kind, score = (
                "low",
                "likes_comments_ratio",
                round(_score(abs(zc[i])) * 0.5, 3),
            )
        out.append(
            Finding(
                int(posts.account_ids[k]),
                kind,
                severity,
                int(posts.published[i]),
                int(posts.collected[i]),
                score,
                evidence,
                post_id=int(posts.post_ids[i]),
                family="post",
            )
        )
    return out


def _pods_tests(
    th: Thresholds, likes: Float, zv: Float, zc: Float, zl: Float, ratio_v: Float, ratio_c: Float
) -> tuple[Bool, Bool]:
    """Likes far above what the views predict; else, without views, what comments + shares do
    (or a little less far, with the likes themselves far above the account's usual post)."""
    big = likes >= th.post_min_likes
    by_views = big & (zv >= th.post_z) & (ratio_v >= th.post_min_ratio)
    by_comments = (
        big
        & ~np.isfinite(zv)
        & (ratio_c >= th.post_min_ratio_others)
        & (
            (zc >= th.post_z)
            | (
                (zc >= th.post_z - 1.5)
                & (zc + np.minimum(zl, th.post_level_cap) >= th.post_joint_z)
            )
        )
    )
    return by_views, by_comments


@dataclass(frozen=True, slots=True)
class _FirstReading:
    """The pods tests on each post's first snapshot (NaN where there is none)."""

    by_views: Bool
    by_comments: Bool
    ratio: Float
    z: Float


def _first_snapshot_reading(
    posts: PostTable,
    th: Thresholds,
    mv: Float,
    intrinsic_v: Float,
    mc: Float,
    intrinsic_c: Float,
    zl: Float,
    judged_v: Bool,
    judged_c: Bool,
) -> _FirstReading:
    """The same tests on each post's first snapshot.

    Pods and bought likes arrive within the first hours, without the views and comments an
    audience brings; organic likes, comments and views accrue together. So the first reading
    shows the gap widest. Judged with the same baselines and noise model as the latest counts
    (the account's intrinsic spread plus the counting noise of these smaller counts).
    """
    n = len(posts)
    nothing = np.zeros(n, dtype=bool)
    if posts.first_likes is None or n == 0:
        return _FirstReading(nothing, nothing, np.full(n, np.nan), np.full(n, np.nan))
    likes = posts.first_likes
    views = posts.first_views if posts.first_views is not None else np.full(n, np.nan)
    comments = posts.first_comments if posts.first_comments is not None else likes * np.nan
    shares = posts.first_shares if posts.first_shares is not None else likes * 0
    others = comments + np.nan_to_num(shares, nan=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        lv = np.where(views > 0, np.log((likes + 1) / (views + 1)), np.nan)
        lc = np.log((likes + 1) / (others + 1))
        sv = np.maximum(np.sqrt(intrinsic_v + 1 / (likes + 1) + 1 / (views + 1)), 0.1)
        sc = np.maximum(np.sqrt(intrinsic_c + 1 / (likes + 1) + 1 / (others + 1)), 0.15)
        zv = np.where(judged_v, (lv - mv) / sv, np.nan)
        zc = np.where(judged_c, (lc - mc) / sc, np.nan)
        ratio_v, ratio_c = np.exp(lv - mv), np.exp(lc - mc)
    by_v, by_c = _pods_tests(th, likes, zv, zc, zl, ratio_v, ratio_c)
    return _FirstReading(by_v, by_c, np.where(by_v, ratio_v, ratio_c), np.where(by_v, zv, zc))


# -- engagement rate against the tier's band ----------------------------------------------------

#: Tiers by followers and the published average engagement rates used as priors (platforms.md:
#: nano 1.78–2.71 %, micro 0.54–1.81 %, mid 1.24 %, macro 0.61–0.87 %, mega 0.33–0.94 %).
TIERS: tuple[tuple[str, float, float], ...] = (
    ("nano", 0.0, 0.022),
    ("micro", 10_000.0, 0.011),
    ("mid", 100_000.0, 0.0124),
    ("macro", 500_000.0, 0.0074),
    ("mega", 1_000_000.0, 0.005),
)


#: Platforms whose engagement the published benchmarks describe; "csv" imports and the demo are
#: taken to be alike.
PRIOR_PLATFORMS = frozenset({"instagram", "csv", "demo", ""})


def _tier(followers: float) -> int:
    tier = 0
    for i, (_, low, _) in enumerate(TIERS):
        if followers >= low:
            tier = i
    return tier


def engagement_rate_findings(
    series: ProfileSeries,
    posts: PostTable,
    platforms: Mapping[int, str],
    thresholds: Thresholds = DEFAULT,
) -> list[Finding]:
    """Months whose engagement rate is far outside the band of the account's tier.

    The band per (platform, tier) is the watched population's own median and spread of monthly
    engagement rates, pulled towards the published benchmark by ``er_prior_weight`` pseudo
    account-months, so a small watchlist leans on the benchmark and a large one on itself.
    """
    th = thresholds
    if len(posts) == 0 or len(series) == 0:
        return []
    pseg = segment_index(posts.offsets)
    sseg = segment_index(series.offsets)
    known = np.isfinite(series.followers)
    key_profile = sseg[known] * (1 << 34) + series.t[known]
    followers_known = series.followers[known]
    key_post = pseg * (1 << 34) + posts.published
    at = np.searchsorted(key_profile, key_post, side="right") - 1
    # The last snapshot at or before publication, or the first after it for older posts.
    at = np.where(at < 0, 0, at)
    if key_profile.size == 0:
        return []
    same = (key_profile[at] >> 34) == pseg
    nxt = np.minimum(at + 1, key_profile.size - 1)
    use_next = ~same & ((key_profile[nxt] >> 34) == pseg)
    idx = np.where(use_next, nxt, at)
    ok = same | use_next
    followers_at = np.where(ok, followers_known[idx], np.nan)
    interactions = _interactions(posts)
    mature = (posts.collected - posts.published) >= DAY
    with np.errstate(invalid="ignore", divide="ignore"):
        er = interactions / followers_at
    good = mature & np.isfinite(er) & (er > 0) & (followers_at >= 100)
    if not good.any():
        return []
    months = _month_index(posts.published)
    # One value per (account, month): the median rate of its mature posts.
    key = pseg[good] * 100_000 + months[good]
    order = np.argsort(key, kind="stable")
    keys, med_er, counts = _grouped_median(np.log(er[good][order]), key[order])
    _, med_followers, _ = _grouped_median(followers_at[good][order], key[order])
    enough = counts >= th.er_min_posts
    keys, med_er, med_followers, counts = (
        keys[enough],
        med_er[enough],
        med_followers[enough],
        counts[enough],
    )
    accounts = (keys // 100_000).astype(np.int64)
    month = keys % 100_000
    tiers = np.array([_tier(f) for f in med_followers.tolist()], dtype=np.int64)
    plats = [platforms.get(int(posts.account_ids[a]), "") for a in accounts.tolist()]
    bands: dict[tuple[str, int], tuple[float, float, int]] = {}
    for plat, tier in set(zip(plats, tiers.tolist(), strict=True)):
        members = np.array(
            [p == plat and t == tier for p, t in zip(plats, tiers.tolist(), strict=True)]
        )
        values = med_er[members]
        n = values.size
        # The published rates are Instagram's (by followers); other platforms count engagement
        # differently (views-driven likes on YouTube, TikTok, X), so only their own population
        # can say what is normal there, and a band needs enough of it.
        weight = th.er_prior_weight if plat in PRIOR_PLATFORMS else 0.0
        if n + weight < th.er_min_population:
            continue
        prior = math.log(TIERS[tier][2])
        centre = (n * float(np.median(values)) + weight * prior) / (n + weight)
        spread_pop = 1.4826 * float(np.median(np.abs(values - np.median(values))))
        spread = math.sqrt((n * spread_pop**2 + weight * th.er_prior_spread**2) / (n + weight))
        bands[(plat, tier)] = (centre, max(spread, th.er_min_spread), n)
    out: list[Finding] = []
    for j in range(keys.size):
        if (plats[j], int(tiers[j])) not in bands:
            continue
        centre, spread, n = bands[(plats[j], int(tiers[j]))]
        z = (float(med_er[j]) - centre) / spread
        if abs(z) < th.er_low_z:
            continue
        start, end = _month_bounds(int(month[j]))
        severity: Severity = "medium" if abs(z) >= th.er_medium_z else "low"
        kind = "engagement_rate_low" if z < 0 else "engagement_rate_high"
        out.append(
            Finding(
                int(posts.account_ids[int(accounts[j])]),
                kind,
                severity,
                start,
                end,
                round(_score(abs(z) * 2) * (1.0 if severity == "medium" else 0.5), 3),
                {
                    "engagement_rate": _r(math.exp(float(med_er[j]))),
                    "tier": TIERS[int(tiers[j])][0],
                    "followers": int(med_followers[j]),
                    "band_centre": _r(math.exp(centre)),
                    "band_low": _r(math.exp(centre - th.er_low_z * spread)),
                    "band_high": _r(math.exp(centre + th.er_low_z * spread)),
                    "ratio_to_band_centre": _r(math.exp(float(med_er[j]) - centre)),
                    "benchmark": TIERS[int(tiers[j])][2],
                    "population_account_months": n,
                    "posts": int(counts[j]),
                    "z": _r(z),
                },
                family="engagement_rate",
            )
        )
    return out


def _month_index(epoch: Int) -> Int:
    months: Int = epoch.astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
    return months


def _month_bounds(month: int) -> tuple[int, int]:
    start = np.datetime64(month, "M").astype("datetime64[s]").astype(np.int64)
    end = np.datetime64(month + 1, "M").astype("datetime64[s]").astype(np.int64)
    return int(start), int(end)


# -- across accounts ----------------------------------------------------------------------------


def shared_farm_findings(
    jumps: Sequence[JumpCandidate],
    platforms: Mapping[int, str],
    names: Mapping[int, str] | None = None,
    thresholds: Thresholds = DEFAULT,
) -> list[Finding]:
    """Several watched accounts jumping by similar amounts in overlapping windows."""
    th = thresholds
    names = names or {}
    eligible = [
        j
        for j in jumps
        if not j.organic
        and j.z >= th.farm_z
        and j.excess >= max(th.jump_min_followers, th.farm_min_share * j.followers_before)
        and j.window_end - j.window_start <= th.farm_max_hours * HOUR
    ]
    # Across platforms too: one operator often sells the same package on several.
    out: list[Finding] = []
    # Same interval: windows ending within half an interval-ish of the group's first one.
    eligible.sort(key=lambda j: (j.window_end, j.account_id))
    group: list[JumpCandidate] = []
    for j in [*eligible, None]:
        if j is not None and group and j.window_end - group[0].window_end <= th.farm_window_seconds:
            group.append(j)
            continue
        out.extend(_farm_groups(group, names, th))
        group = [j] if j is not None else []
    return out


def _farm_groups(
    group: list[JumpCandidate], names: Mapping[int, str], th: Thresholds
) -> list[Finding]:
    if len({j.account_id for j in group}) < th.farm_min_accounts:
        return []
    ordered = sorted(group, key=lambda j: j.excess)
    best: list[JumpCandidate] = []
    lo = 0
    for hi in range(len(ordered)):
        # Similar: within the share, or within the rounding units of floored counts.
        while ordered[hi].excess > ordered[lo].excess * (1 + th.farm_similarity) + (
            ordered[hi].unit + ordered[lo].unit
        ):
            lo += 1
        window = ordered[lo : hi + 1]
        if len({j.account_id for j in window}) > len({j.account_id for j in best}):
            best = window
    members = {j.account_id for j in best}
    if len(members) < th.farm_min_accounts:
        return []
    amounts = [round(j.excess) for j in best]
    spread = (max(amounts) - min(amounts)) / max(max(amounts), 1)
    severity: Severity = "high" if len(members) >= 5 or spread <= 0.02 else "medium"
    out = []
    for j in best:
        others = [o for o in best if o.account_id != j.account_id]
        out.append(
            Finding(
                j.account_id,
                "shared_farm",
                severity,
                j.window_start,
                j.window_end,
                _score(j.z, min(0.2 * len(members), 0.8)),
                {
                    "accounts": len(members),
                    "excess": round(j.excess),
                    "others": [
                        {
                            "account": names.get(o.account_id, str(o.account_id)),
                            "excess": round(o.excess),
                            "window_end": _iso(o.window_end),
                        }
                        for o in others
                    ],
                    "amount_spread": _r(spread),
                },
                family="shared_farm",
            )
        )
    return out


# -- everything ---------------------------------------------------------------------------------


def detect_all(
    series: ProfileSeries,
    posts: PostTable,
    platforms: Mapping[int, str] | None = None,
    thresholds: Thresholds = DEFAULT,
) -> tuple[list[Finding], list[JumpCandidate]]:
    """Every per-account detector over one batch; returns findings and jump candidates."""
    platforms = platforms or {}
    jumps: list[JumpCandidate] = []
    findings = follower_findings(series, posts, thresholds, jumps=jumps)
    findings += following_findings(series, thresholds)
    findings += post_findings(posts, thresholds)
    findings += engagement_rate_findings(series, posts, platforms, thresholds)
    return findings, jumps

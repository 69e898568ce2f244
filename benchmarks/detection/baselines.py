"""The two baselines Collector is compared with, run on exactly the rows it imports.

1. **Robust z-score** (Iglewicz and Hoaglin's modified z-score, the textbook method): each
   follower (and following) delta against the median and MAD of the 28 days of deltas before
   it; per post, the log ratio of likes to what should bring likes (views where published, else
   comments + shares) against the account's other posts. Customary cut-off: ``|z| ≥ 3.5``.
2. **ADTK** (the Anomaly Detection Toolkit, a maintained library of rule-based time-series
   detectors): ``LevelShiftAD`` (window 4, a shift between the medians of two adjacent windows)
   or ``PersistAD`` (window 28, a value far from the median of the window before it) on the
   follower and following counts, ``InterQuartileRangeAD`` on the same per-post ratio.
   Customary cut-off: ADTK's default ``c = 6`` (``c = 3`` for the posts' range detector). The
   detectors' transforms are ADTK's own (``DoubleRollingAggregate``); the inter-quartile rule
   is applied as a score, ``(x − Q3) / IQR``, so that one pass gives every cut-off. Its
   quartiles are fitted on the whole series, future included, which favours ADTK.

Each baseline is scored twice: at its customary cut-off, and at the lowest cut-off whose false
alarms on the clean creators stay within the target (0.05 per creator-month), chosen with the
labels, which again favours the baseline. Runs of consecutive anomalous snapshots become one
alarm whose evidence time is the first of them. Posts are tested on their first and their
latest snapshot; the first that is anomalous is the alarm's time.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from benchmarks.detection.generate import Labels, PostRow, ProfileRow
from benchmarks.detection.score import Alarm, score

__all__ = ["BASELINES", "Scored", "adtk_scores", "calibrate", "robust_z_scores"]

Floats = npt.NDArray[np.float64]

WINDOW = timedelta(days=28)
MIN_HISTORY = 12
MAD_SCALE = 1.4826  # MAD of a normal distribution, as a standard deviation
FALSE_ALARM_TARGET = 0.05  # per clean creator-month, the target


@dataclass(frozen=True)
class _Series:
    """Signed anomaly scores of one account's count series, one per snapshot (0 for the first).

    Each component is one detector's scores and its lag: how many later snapshots it needs
    before it can score a snapshot (a centred window sees the future), so that an alarm's
    evidence time is when the detector could really have raised it.
    """

    account: tuple[str, str]
    kind: str
    times: Sequence[datetime]
    components: tuple[tuple[Floats, int], ...]


@dataclass(frozen=True)
class _PostScore:
    account: tuple[str, str]
    post_id: str
    published_at: datetime
    # (score, snapshot time) of the first and the latest snapshot.
    readings: tuple[tuple[float, datetime], ...]


@dataclass(frozen=True)
class Scored:
    """Every score a baseline gave one set; :meth:`alarms` cuts them at a threshold."""

    series: list[_Series]
    posts: list[_PostScore]
    # The posts' cut-off as a share of the series' one (ADTK's range detector uses c = 3 where
    # its shift detectors use 6).
    post_scale: float = 1.0

    def alarms(self, threshold: float) -> list[Alarm]:
        out: list[Alarm] = []
        for s in self.series:
            n = len(s.times)
            for sign, name in ((1.0, "up"), (-1.0, "down")):
                evidence = np.full(n, n, dtype=np.int64)
                for scores, lag in s.components:
                    hit = sign * scores >= threshold
                    evidence = np.where(hit, np.minimum(evidence, np.arange(n) + lag), evidence)
                hits = np.flatnonzero(
                    np.logical_or.reduce([sign * sc >= threshold for sc, _ in s.components])
                )
                out += _runs(s.account, f"{s.kind}_{name}", s.times, hits.tolist(), evidence)
        post_threshold = threshold * self.post_scale
        for p in self.posts:
            for value, when in p.readings:
                if value >= post_threshold:
                    out.append(Alarm(*p.account, "likes", p.published_at, when, when, p.post_id))
                    break
        return out


def calibrate(scored: Scored, labels: Labels, customary: float) -> float:
    """The lowest threshold (from ``customary`` up) meeting the false-alarm target."""
    threshold = customary
    while threshold < 1e6:
        result = score(labels, scored.alarms(threshold))
        rate = result.false_alarms_per_clean_month
        if rate is None or rate <= FALSE_ALARM_TARGET:
            return threshold
        threshold *= 1.1
    return threshold


def _accounts(profiles: Sequence[ProfileRow]) -> dict[tuple[str, str], list[ProfileRow]]:
    out: dict[tuple[str, str], list[ProfileRow]] = defaultdict(list)
    for row in profiles:
        out[(row.platform, row.handle)].append(row)
    for rows in out.values():
        rows.sort(key=lambda r: r.collected_at)
    return out


def _runs(
    account: tuple[str, str],
    kind: str,
    times: Sequence[datetime],
    flagged: Sequence[int],
    evidence: npt.NDArray[np.int64],
) -> list[Alarm]:
    """Consecutive flagged snapshot indexes (each ≥ 1) as alarms over the change they cover.

    ``evidence[k]`` is the snapshot at which snapshot k's anomaly could first be seen.
    """
    alarms: list[Alarm] = []
    last = len(times) - 1
    start = previous = -1
    for k in [*flagged, -2]:
        if k == previous + 1 and start >= 0:
            previous = k
            continue
        if start >= 1:
            seen = min(int(evidence[start : previous + 1].min()), last)
            alarms.append(Alarm(*account, kind, times[start - 1], times[previous], times[seen]))
        start = previous = k
    return alarms


def _post_feature(row: PostRow) -> float:
    """Log of likes over what should bring them: views where published, else the other counts."""
    if row.views is not None:
        return math.log((row.likes + 1) / (row.views + 1))
    return math.log((row.likes + 1) / (row.comments + (row.shares or 0) + 1))


def _post_scores(posts: Sequence[PostRow], scorer: Callable[[Floats], Floats]) -> list[_PostScore]:
    """Per account, each post's score among its posts, on its first and its latest snapshot."""
    grouped: dict[tuple[str, str], dict[str, list[PostRow]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in posts:
        grouped[(row.platform, row.handle)][row.post_id].append(row)
    out: list[_PostScore] = []
    for account, by_post in grouped.items():
        ordered = sorted(
            (sorted(rows, key=lambda r: r.collected_at) for rows in by_post.values()),
            key=lambda rows: rows[0].published_at,
        )
        picks = [[rows[pick] for rows in ordered] for pick in (0, -1)]
        scores = [scorer(np.array([_post_feature(r) for r in rows])) for rows in picks]
        for i, rows in enumerate(ordered):
            readings = tuple(
                (float(scores[j][i]), picks[j][i].collected_at) for j in range(len(picks))
            )
            out.append(_PostScore(account, rows[0].post_id, rows[0].published_at, readings))
    return out


# --- robust z-score --------------------------------------------------------------------------


def _robust_z(times: Sequence[datetime], values: Sequence[int]) -> Floats:
    """Each delta's modified z-score against the deltas of the 28 days before it."""
    deltas = np.diff(np.asarray(values, dtype=float))
    stamps = np.asarray([t.timestamp() for t in times[1:]])
    scores = np.zeros(len(values))
    lo = 0
    for i in range(len(deltas)):
        while stamps[lo] < stamps[i] - WINDOW.total_seconds():
            lo += 1
        history = deltas[lo:i]
        if len(history) < MIN_HISTORY:
            continue
        median = float(np.median(history))
        spread = MAD_SCALE * float(np.median(np.abs(history - median)))
        scores[i + 1] = (deltas[i] - median) / max(spread, 1.0)
    return scores


def _robust_z_posts(values: Floats) -> Floats:
    scores = np.zeros(len(values))
    for i in range(len(values)):
        others = np.delete(values, i)
        if len(others) < MIN_HISTORY:
            continue
        median = float(np.median(others))
        spread = MAD_SCALE * float(np.median(np.abs(others - median)))
        if spread > 0:
            scores[i] = (values[i] - median) / spread
    return scores


def robust_z_scores(profiles: Sequence[ProfileRow], posts: Sequence[PostRow]) -> Scored:
    """The robust z-score baseline's scores."""
    series: list[_Series] = []
    for account, rows in _accounts(profiles).items():
        times = [r.collected_at for r in rows]
        followers = _robust_z(times, [r.followers for r in rows])
        series.append(_Series(account, "followers", times, ((followers, 0),)))
        if rows[0].following is not None:
            following = _robust_z(times, [r.following or 0 for r in rows])
            series.append(_Series(account, "following", times, ((following, 0),)))
    return Scored(series, _post_scores(posts, _robust_z_posts))


# --- ADTK ------------------------------------------------------------------------------------


def _iqr_score(values: Floats, floor: float = 1e-9) -> Floats:
    """How many inter-quartile ranges above the third quartile (ADTK's range rule as a score)."""
    finite = values[np.isfinite(values)]
    if len(finite) < MIN_HISTORY:
        return np.zeros(len(values))
    q1, q3 = np.percentile(finite, [25, 75])
    iqr = max(float(q3 - q1), floor)
    out = (values - q3) / iqr
    return np.where(np.isfinite(out), out, 0.0)


def _adtk(times: Sequence[datetime], values: Sequence[int]) -> tuple[tuple[Floats, int], ...]:
    """Signed scores per snapshot of LevelShiftAD (window 4) and PersistAD (window 28)."""
    import pandas as pd
    from adtk.transformer import DoubleRollingAggregate

    series = pd.Series(np.asarray(values, dtype=float), index=pd.DatetimeIndex(times))
    # ADTK wants a regular index: the 6-hourly grid, with the gaps left missing.
    grid = series[~series.index.duplicated()].asfreq("6h")
    position = {t: i for i, t in enumerate(grid.index.to_pydatetime())}
    rows = np.array([position[t] for t in times])
    components = []
    # LevelShiftAD compares the 4 snapshots before with the snapshot and the 3 after it (so it
    # sees a shift only 3 snapshots later); PersistAD compares the snapshot with the 28 before.
    for window, lag in ((4, 3), ((28, 1), 0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            diff = DoubleRollingAggregate(
                agg="median", window=window, center=True, diff="diff"
            ).transform(grid)
        d = diff.to_numpy(dtype=float)
        # Counts are whole numbers: a spread under one follower is no spread to divide by.
        signed = np.sign(np.nan_to_num(d)) * _iqr_score(np.abs(d), floor=1.0)
        scores = signed[rows]
        scores[0] = 0.0
        components.append((scores, lag))
    return tuple(components)


def adtk_scores(profiles: Sequence[ProfileRow], posts: Sequence[PostRow]) -> Scored:
    """The ADTK baseline's scores."""
    series: list[_Series] = []
    for account, rows in _accounts(profiles).items():
        times = [r.collected_at for r in rows]
        series.append(
            _Series(account, "followers", times, _adtk(times, [r.followers for r in rows]))
        )
        if rows[0].following is not None:
            following = [r.following or 0 for r in rows]
            series.append(_Series(account, "following", times, _adtk(times, following)))
    return Scored(series, _post_scores(posts, _iqr_score), post_scale=0.5)


#: name → (scorer, customary cut-off on the account series, customary cut-off on posts).
BASELINES: dict[str, Callable[[Sequence[ProfileRow], Sequence[PostRow]], Scored]] = {
    "robust z-score": robust_z_scores,
    "ADTK": adtk_scores,
}
CUSTOMARY: dict[str, float] = {"robust z-score": 3.5, "ADTK": 6.0}

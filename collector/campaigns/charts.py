"""Chart geometry for the report: coordinates computed here, drawn as inline SVG by templates.

Nothing is drawn by a script in the page, so the report opens anywhere, offline, and prints.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "Band",
    "BandChart",
    "BandRow",
    "Bar",
    "BarChart",
    "LineChart",
    "Marker",
    "band_chart",
    "bar_chart",
    "line_chart",
    "nice_ticks",
]

WIDTH = 640.0
HEIGHT = 200.0
# Room for the axis labels.
LEFT, RIGHT, TOP, BOTTOM = 64.0, 12.0, 10.0, 26.0
#: Line charts keep at most this many points: more would not show on 640 pixels.
MAX_POINTS = 480


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """About ``count`` round values covering [low, high] (1, 2, 2.5 or 5 times a power of ten)."""
    if not math.isfinite(low) or not math.isfinite(high):
        return []
    if high <= low:
        return [low]
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def _scale(d0: float, d1: float, r0: float, r1: float) -> Callable[[float], float]:
    span = d1 - d0 or 1.0

    def scale(value: float) -> float:
        return r0 + (value - d0) / span * (r1 - r0)

    return scale


@dataclass(frozen=True)
class Marker:
    """A point of interest on a line chart (a flag), with its tooltip."""

    x: float
    y: float
    title: str
    severity: str


@dataclass(frozen=True)
class LineChart:
    """A time series as an SVG polyline with axes, a shaded period and markers."""

    width: float
    height: float
    points: str
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    shade: tuple[float, float] | None
    markers: list[Marker] = field(default_factory=list)
    empty: bool = False
    plot: tuple[float, float, float, float] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)


def _thin(series: Sequence[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    if len(series) <= MAX_POINTS:
        return list(series)
    # Keep the last point of each slice, so the newest value is always drawn.
    step = len(series) / MAX_POINTS
    kept = [series[min(len(series) - 1, int((i + 1) * step) - 1)] for i in range(MAX_POINTS)]
    return [series[0], *kept]


def line_chart(
    series: Sequence[tuple[datetime, float]],
    *,
    x_label: Callable[[datetime], str],
    y_label: Callable[[float], str],
    shade: tuple[datetime, datetime] | None = None,
    markers: Sequence[tuple[datetime, str, str]] = (),
) -> LineChart:
    """A line chart of (time, value); markers are (time, tooltip, severity)."""
    plot = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    if not series:
        return LineChart(WIDTH, HEIGHT, "", [], [], None, [], empty=True, plot=plot)
    points = _thin(sorted(series))
    t0, t1 = points[0][0].timestamp(), points[-1][0].timestamp()
    if t1 == t0:
        t0, t1 = t0 - 43200, t1 + 43200
    values = [v for _, v in points]
    low, high = min(values), max(values)
    pad = (high - low) * 0.08 or max(abs(high) * 0.01, 1.0)
    low, high = low - pad, high + pad
    x = _scale(t0, t1, plot[0], plot[2])
    y = _scale(low, high, plot[3], plot[1])
    polyline = " ".join(f"{x(t.timestamp()):.1f},{y(v):.1f}" for t, v in points)
    x_ticks = [
        (
            x(t0 + (t1 - t0) * i / 4),
            x_label(datetime.fromtimestamp(t0 + (t1 - t0) * i / 4, tz=points[0][0].tzinfo)),
        )
        for i in range(5)
    ]
    y_ticks = [(y(v), y_label(v)) for v in nice_ticks(low, high) if low <= v <= high]
    shaded = None
    if shade is not None:
        s0 = min(max(shade[0].timestamp(), t0), t1)
        s1 = min(max(shade[1].timestamp(), t0), t1)
        if s1 > s0:
            shaded = (x(s0), x(s1))
    placed = []
    for when, title, severity in markers:
        stamp = when.timestamp()
        if not t0 <= stamp <= t1:
            continue
        # On the curve: the value at the last point at or before the marker.
        before = [v for t, v in points if t.timestamp() <= stamp]
        value = before[-1] if before else points[0][1]
        placed.append(Marker(x(stamp), y(value), title, severity))
    return LineChart(WIDTH, HEIGHT, polyline, x_ticks, y_ticks, shaded, placed, plot=plot)


@dataclass(frozen=True)
class Bar:
    """One bar: a post's engagement rate."""

    x: float
    y: float
    width: float
    height: float
    kind: str
    title: str


@dataclass(frozen=True)
class BarChart:
    """Posts' engagement rates as bars."""

    width: float
    height: float
    bars: list[Bar]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    empty: bool = False
    plot: tuple[float, float, float, float] = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)


def bar_chart(
    items: Sequence[tuple[datetime, float, str, str]],
    *,
    x_label: Callable[[datetime], str],
    y_label: Callable[[float], str],
) -> BarChart:
    """Bars in time order; items are (time, value, kind, tooltip)."""
    plot = (LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM)
    if not items:
        return BarChart(WIDTH, HEIGHT, [], [], [], empty=True, plot=plot)
    ordered = sorted(items, key=lambda item: item[0])
    high = max(value for _, value, _, _ in ordered) or 1.0
    y = _scale(0.0, high * 1.08, plot[3], plot[1])
    slot = (plot[2] - plot[0]) / len(ordered)
    width = max(min(slot * 0.7, 24.0), 1.0)
    bars = [
        Bar(
            x=plot[0] + slot * i + (slot - width) / 2,
            y=y(value),
            width=width,
            height=plot[3] - y(value),
            kind=kind,
            title=title,
        )
        for i, (_, value, kind, title) in enumerate(ordered)
    ]
    y_ticks = [(y(v), y_label(v)) for v in nice_ticks(0.0, high * 1.08)]
    every = max(1, math.ceil(len(ordered) / 5))
    x_ticks = [
        (plot[0] + slot * i + slot / 2, x_label(ordered[i][0]))
        for i in range(0, len(ordered), every)
    ]
    return BarChart(WIDTH, HEIGHT, bars, y_ticks, x_ticks, plot=plot)


@dataclass(frozen=True)
class Band:
    """A tier band in chart coordinates."""

    x_low: float
    x_median: float
    x_high: float


@dataclass(frozen=True)
class BandRow:
    """One account against its tier band."""

    y: float
    label: str
    band: Band
    x_rate: float | None
    position: str | None
    title: str


@dataclass(frozen=True)
class BandChart:
    """Accounts' engagement rates against their tier bands, one row each."""

    width: float
    height: float
    rows: list[BandRow]
    x_ticks: list[tuple[float, str]]
    row_height: float
    label_width: float


def band_chart(
    rows: Sequence[tuple[str, tuple[float, float, float], float | None, str | None, str]],
    *,
    x_label: Callable[[float], str],
) -> BandChart:
    """Rows are (label, (low, median, high), rate, position, tooltip); rates are fractions."""
    label_width, row_height = 200.0, 26.0
    height = TOP + row_height * len(rows) + BOTTOM
    top = max([high for _, (_, _, high), _, _, _ in rows] + [r or 0.0 for _, _, r, _, _ in rows])
    top = (top or 0.01) * 1.1
    x = _scale(0.0, top, label_width, WIDTH - RIGHT)
    placed = [
        BandRow(
            y=TOP + row_height * i + row_height / 2,
            label=label,
            band=Band(x(low), x(median), x(high)),
            x_rate=None if rate is None else x(rate),
            position=position,
            title=title,
        )
        for i, (label, (low, median, high), rate, position, title) in enumerate(rows)
    ]
    ticks = [(x(v), x_label(v)) for v in nice_ticks(0.0, top)]
    return BandChart(WIDTH, height, placed, ticks, row_height, label_width)

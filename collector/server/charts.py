"""Charts drawn on the server as inline SVG: no JavaScript, nothing fetched, printable.

Every text that reaches the SVG goes through :func:`markupsafe.escape`, so a handle or a flag
kind cannot inject markup. Shapes carry classes (``series``, ``point``, ``flag``, ``bar``,
``band``, ``rate``) that the stylesheet colours and the browser tests count.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup, escape

from collector.server.i18n import Translator

__all__ = [
    "BarPoint",
    "FlagSpan",
    "band_gauge",
    "engagement_bars",
    "follower_curve",
]

WIDTH = 760
HEIGHT = 260
_LEFT, _RIGHT, _TOP, _BOTTOM = 72, 16, 14, 30
#: More points than pixels only slows the browser: the curve keeps the last point per slot.
MAX_CURVE_POINTS = 600
#: Dots (with a tooltip each) are drawn only on short series, where they can be told apart.
MAX_DOTS = 150
#: A pause this long between two snapshots is a gap in collection: the line breaks there.
GAP = timedelta(days=2)
_SEVERITY_COLOURS = {"high": "#c62828", "medium": "#ef6c00", "low": "#9e9e9e"}


@dataclass(frozen=True)
class FlagSpan:
    """A flag's window, to shade on a follower curve."""

    start: datetime
    end: datetime
    severity: str
    label: str


@dataclass(frozen=True)
class BarPoint:
    """One post's engagement rate."""

    when: datetime
    rate: float | None
    label: str


def _svg(parts: list[str]) -> Markup:
    # Safe: every text interpolated into ``parts`` went through escape(); the rest is numbers.
    return Markup("".join(parts))  # noqa: S704


def _f(value: float) -> str:
    return f"{value:.1f}"


def _downsample(points: Sequence[tuple[datetime, int]], limit: int) -> list[tuple[datetime, int]]:
    if len(points) <= limit:
        return list(points)
    first, last = points[0][0], points[-1][0]
    span = (last - first).total_seconds() or 1.0
    slots: dict[int, tuple[datetime, int]] = {}
    for when, value in points:
        slots[min(int((when - first).total_seconds() / span * limit), limit - 1)] = (when, value)
    return [slots[k] for k in sorted(slots)]


def _nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1.0
    step = next((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw), 10 * magnitude)
    start = (low // step + 1) * step
    ticks = []
    value = start
    while value < high:
        ticks.append(value)
        value += step
    return ticks or [low]


def _svg_open(kind: str, label: str, height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart chart-{kind}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{escape(label)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(label)}</title>"
    )


def follower_curve(
    points: Sequence[tuple[datetime, int | None]],
    flags: Sequence[FlagSpan],
    t: Translator,
    *,
    label: str,
) -> Markup:
    """Followers over time, with each flag's window shaded and marked."""
    known = sorted((when, value) for when, value in points if value is not None)
    if len(known) < 2:
        return Markup('<p class="empty">{}</p>').format(t("Not enough data for a chart yet."))
    shown = _downsample(known, MAX_CURVE_POINTS)
    t0, t1 = shown[0][0], shown[-1][0]
    span = (t1 - t0).total_seconds() or 1.0
    values = [v for _w, v in shown]
    low, high = min(values), max(values)
    pad = max((high - low) * 0.08, 1.0)
    y_low, y_high = max(low - pad, 0.0), high + pad
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM

    def x(when: datetime) -> float:
        return _LEFT + (when - t0).total_seconds() / span * plot_w

    def y(value: float) -> float:
        return _TOP + (1 - (value - y_low) / (y_high - y_low)) * plot_h

    parts = [_svg_open("followers", label)]
    for tick in _nice_ticks(y_low, y_high):
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{_f(y(tick))}" '
            f'y2="{_f(y(tick))}" stroke="#e0e0e0" stroke-width="1"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{_f(y(tick) + 4)}" text-anchor="end" '
            f'font-size="11" fill="#555">{escape(t.number(tick))}</text>'
        )
    for i in range(4):
        when = t0 + timedelta(seconds=span * i / 3)
        anchor = ("start", "middle", "middle", "end")[i]
        parts.append(
            f'<text class="tick" x="{_f(x(when))}" y="{HEIGHT - 8}" text-anchor="{anchor}" '
            f'font-size="11" fill="#555">{escape(t.date(when))}</text>'
        )
    for flag in flags:
        if flag.end < t0 or flag.start > t1:
            continue
        x0 = x(max(flag.start, t0))
        x1 = max(x(min(flag.end, t1)), x0 + 3)
        colour = _SEVERITY_COLOURS.get(flag.severity, "#9e9e9e")
        parts.append(
            f'<g class="flag flag-{escape(flag.severity)}">'
            f"<title>{escape(flag.label)}</title>"
            f'<rect x="{_f(x0)}" y="{_TOP}" width="{_f(x1 - x0)}" height="{plot_h}" '
            f'fill="{colour}" fill-opacity="0.18"/>'
            f'<path d="M{_f((x0 + x1) / 2)},{_TOP} l6,-10 h-12 z" fill="{colour}"/></g>'
        )
    # One polyline per stretch without a collection gap: a gap is never drawn as data.
    runs: list[list[tuple[datetime, int]]] = [[shown[0]]]
    for previous, current in itertools.pairwise(shown):
        if current[0] - previous[0] > GAP:
            runs.append([])
        runs[-1].append(current)
    for run in runs:
        coords = " ".join(f"{_f(x(w))},{_f(y(v))}" for w, v in run)
        parts.append(
            f'<polyline class="series" points="{coords}" fill="none" stroke="#1565c0" '
            f'stroke-width="2" stroke-linejoin="round"/>'
        )
    if len(shown) <= MAX_DOTS:
        for when, value in shown:
            parts.append(
                f'<circle class="point" cx="{_f(x(when))}" cy="{_f(y(value))}" r="2.5" '
                f'fill="#1565c0"><title>{escape(t.datetime(when))}: '
                f"{escape(t.number(value))}</title></circle>"
            )
    parts.append("</svg>")
    return _svg(parts)


def engagement_bars(
    bars: Sequence[BarPoint],
    band: tuple[float, float, float] | None,
    t: Translator,
    *,
    label: str,
) -> Markup:
    """Each post's engagement rate by followers as a bar, over the tier's band."""
    known = [b for b in bars if b.rate is not None]
    if not known:
        return Markup('<p class="empty">{}</p>').format(t("Not enough data for a chart yet."))
    top = max([b.rate or 0.0 for b in known] + ([band[2]] if band else [])) * 1.15 or 0.01
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = HEIGHT - _TOP - _BOTTOM

    def y(value: float) -> float:
        return _TOP + (1 - value / top) * plot_h

    parts = [_svg_open("engagement", label)]
    for tick in _nice_ticks(0.0, top * 100):
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{_f(y(tick / 100))}" '
            f'y2="{_f(y(tick / 100))}" stroke="#e0e0e0" stroke-width="1"/>'
            f'<text class="tick" x="{_LEFT - 6}" y="{_f(y(tick / 100) + 4)}" text-anchor="end" '
            f'font-size="11" fill="#555">{escape(t.percent(tick / 100, 1))}</text>'
        )
    if band is not None:
        low, median, high = band
        parts.append(
            f'<g class="band"><title>{escape(t("tier band"))}: {escape(t.percent(low))} – '
            f"{escape(t.percent(high))}</title>"
            f'<rect x="{_LEFT}" y="{_f(y(high))}" width="{plot_w}" '
            f'height="{_f(y(low) - y(high))}" fill="#2e7d32" fill-opacity="0.12"/>'
            f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{_f(y(median))}" y2="{_f(y(median))}" '
            f'stroke="#2e7d32" stroke-dasharray="4 3" stroke-width="1"/></g>'
        )
    slot = plot_w / len(bars)
    width = max(min(slot * 0.7, 24.0), 1.0)
    for i, bar in enumerate(bars):
        if bar.rate is None:
            continue
        x0 = _LEFT + i * slot + (slot - width) / 2
        colour = "#1565c0"
        if band is not None and not band[0] <= bar.rate <= band[2]:
            colour = "#ef6c00"
        parts.append(
            f'<rect class="bar" x="{_f(x0)}" y="{_f(y(bar.rate))}" width="{_f(width)}" '
            f'height="{_f(y(0) - y(bar.rate))}" fill="{colour}">'
            f"<title>{escape(t.date(bar.when))} — {escape(bar.label)}: "
            f"{escape(t.percent(bar.rate))}</title></rect>"
        )
    parts.append(
        f'<text class="tick" x="{_LEFT}" y="{HEIGHT - 8}" font-size="11" fill="#555">'
        f"{escape(t.date(bars[0].when))}</text>"
        f'<text class="tick" x="{WIDTH - _RIGHT}" y="{HEIGHT - 8}" text-anchor="end" '
        f'font-size="11" fill="#555">{escape(t.date(bars[-1].when))}</text></svg>'
    )
    return _svg(parts)


def band_gauge(
    rate: float | None,
    band: tuple[float, float, float] | None,
    t: Translator,
    *,
    label: str,
) -> Markup:
    """The account's engagement rate as a marker on a scale, with its tier's band shaded."""
    if rate is None and band is None:
        return Markup('<p class="empty">{}</p>').format(t("Not enough data for a chart yet."))
    height = 70
    top = max([v for v in (rate, band[2] if band else None) if v is not None]) * 1.3 or 0.01
    plot_w = WIDTH - _LEFT - _RIGHT

    def x(value: float) -> float:
        return _LEFT + min(value / top, 1.0) * plot_w

    parts = [_svg_open("band", label, height)]
    parts.append(
        f'<line x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="34" y2="34" stroke="#bbb" stroke-width="1"/>'
    )
    for tick in _nice_ticks(0.0, top * 100):
        parts.append(
            f'<text class="tick" x="{_f(x(tick / 100))}" y="62" text-anchor="middle" '
            f'font-size="11" fill="#555">{escape(t.percent(tick / 100, 1))}</text>'
        )
    if band is not None:
        low, median, high = band
        parts.append(
            f'<g class="band"><title>{escape(t("tier band"))}: {escape(t.percent(low))} – '
            f"{escape(t.percent(high))}</title>"
            f'<rect x="{_f(x(low))}" y="22" width="{_f(x(high) - x(low))}" height="24" '
            f'fill="#2e7d32" fill-opacity="0.2"/>'
            f'<line x1="{_f(x(median))}" x2="{_f(x(median))}" y1="20" y2="48" stroke="#2e7d32" '
            f'stroke-dasharray="3 2"/></g>'
        )
    if rate is not None:
        parts.append(
            f'<g class="rate"><title>{escape(t("Engagement rate"))}: {escape(t.percent(rate))}'
            f'</title><circle cx="{_f(x(rate))}" cy="34" r="7" fill="#1565c0"/></g>'
        )
    parts.append("</svg>")
    return _svg(parts)

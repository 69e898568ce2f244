"""Server-drawn SVG charts, the follower curve read from the database, and the page languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from collector.server import charts, data
from collector.server.i18n import Translator, negotiate
from collector.storage.models import Account, ProfileSnapshot

T0 = datetime(2026, 10, 1, tzinfo=UTC)
EN = Translator("en")


def _polylines(svg: str) -> list[str]:
    return re.findall(r'<polyline class="series" points="([^"]*)"', svg)


def test_a_gap_in_collection_breaks_the_line_instead_of_drawing_through_it() -> None:
    points = [(T0 + timedelta(days=d), 1000 + d) for d in (0, 1, 2, 6, 7)]
    lines = _polylines(charts.follower_curve(points, [], EN, label="x"))
    assert [len(line.split()) for line in lines] == [3, 2]


def test_unknown_counts_are_left_out_of_the_curve_not_drawn_as_zero() -> None:
    points = [(T0, 1000), (T0 + timedelta(hours=6), None), (T0 + timedelta(hours=12), 1010)]
    svg = charts.follower_curve(points, [], EN, label="x")
    (line,) = _polylines(svg)
    assert len(line.split()) == 2
    assert svg.count('class="point"') == 2


def test_a_long_series_is_thinned_to_the_chart_width_keeping_the_latest_point() -> None:
    points = [(T0 + timedelta(minutes=m), m) for m in range(10_000)]
    svg = charts.follower_curve(points, [], EN, label="x")
    (line,) = _polylines(svg)
    coords = line.split()
    assert len(coords) <= charts.MAX_CURVE_POINTS
    # The highest (latest) value sits at the top-right corner of the plot.
    assert (
        coords[-1] == f"{charts.WIDTH - 16:.1f},{min(float(c.split(',')[1]) for c in coords):.1f}"
    )
    assert 'class="point"' not in svg  # too many to dot


def test_flag_labels_are_escaped_inside_the_svg() -> None:
    flag = charts.FlagSpan(T0, T0 + timedelta(days=1), "high", '<script>alert("x")</script>')
    svg = charts.follower_curve([(T0, 1), (T0 + timedelta(days=2), 2)], [flag], EN, label="<b>")
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert 'aria-label="&lt;b&gt;"' in svg


def test_engagement_bars_outside_the_band_are_coloured_apart() -> None:
    bars = [
        charts.BarPoint(T0, 0.01, "in"),
        charts.BarPoint(T0 + timedelta(days=1), 0.09, "above"),
        charts.BarPoint(T0 + timedelta(days=2), None, "unknown"),
    ]
    svg = charts.engagement_bars(bars, (0.005, 0.012, 0.03), EN, label="x")
    fills = re.findall(r'<rect class="bar"[^>]* fill="([^"]+)"', svg)
    assert fills == ["#1565c0", "#ef6c00"]


def _account_with_snapshots(engine: Engine, count: int, step: timedelta) -> int:
    with engine.begin() as conn:
        key = conn.execute(
            insert(Account.__table__).values(  # type: ignore[attr-defined]
                platform="demo",
                handle="fast",
                status="active",
                added_at=T0,
                consecutive_failures=0,
            )
        ).inserted_primary_key
        assert key is not None
        account_id = int(key[0])
        conn.execute(
            insert(ProfileSnapshot.__table__),  # type: ignore[attr-defined]
            [
                {
                    "account_id": account_id,
                    "collected_at": T0 + i * step,
                    "followers": 10_000 + i,
                    "followers_rounded": False,
                    "followers_hidden": False,
                }
                for i in range(count)
            ],
        )
    return account_id


def test_curve_reads_every_snapshot_of_a_short_series(engine: Engine) -> None:
    account_id = _account_with_snapshots(engine, 50, timedelta(hours=6))
    points = data.curve(engine, account_id, T0, T0 + timedelta(days=30))
    assert [f for _t, f in points] == [10_000 + i for i in range(50)]


def test_curve_keeps_the_last_snapshot_of_each_slot_of_a_dense_series(engine: Engine) -> None:
    # 10-second collection for about 17 hours: 6,000 snapshots for a 600-slot chart.
    account_id = _account_with_snapshots(engine, 6_000, timedelta(seconds=10))
    end = T0 + timedelta(seconds=10 * 6_000)
    points = data.curve(engine, account_id, T0, end, slots=600)
    assert 590 <= len(points) <= 601
    width = int((end - T0).total_seconds() // 600)
    # Each point is the last snapshot of its slot (epoch seconds // width).
    slots = [int(t.timestamp()) // width for t, _f in points]
    assert slots == sorted(set(slots))
    for when, followers in points:
        following = when + timedelta(seconds=10)
        assert followers == 10_000 + int((when - T0).total_seconds()) // 10
        assert int(following.timestamp()) // width != int(when.timestamp()) // width or (
            following >= end
        )
    assert points[-1][1] == 10_000 + 5_999


def test_lang_parameter_wins_over_accept_language() -> None:
    assert negotiate("fr", "en-US,en;q=0.9") == "fr"
    assert negotiate("de", "fr-FR") == "fr"
    assert negotiate(None, "de-DE,en;q=0.3,fr;q=0.8") == "fr"
    assert negotiate(None, "de-DE") == "en"
    assert negotiate(None, "fr;q=0, en") == "en"


def test_numbers_follow_the_locale() -> None:
    fr = Translator("fr")
    assert fr.number(1234567) == "1\u202f234\u202f567"
    assert EN.number(1234567) == "1,234,567"
    assert fr.percent(0.01234) == "1,23\xa0%"
    assert EN.percent(0.01234) == "1.23%"
    assert fr.money(1500, "MAD") == "1\u202f500,00\xa0MAD"
    assert EN.number(None) == fr.percent(None) == "—"

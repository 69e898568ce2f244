"""Tiers by followers, and engagement bands from published priors pulled toward the watchlist."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from collector.campaigns.engagement import account_engagement
from collector.campaigns.tiers import (
    PRIOR_MEDIANS,
    band_position,
    calibrate,
    prior_band,
    tier_bands,
    tier_of,
)
from collector.storage import repo
from connectors.records import PostRecord, ProfileRecord
from tests.campaigns.conftest import NOW


@pytest.mark.parametrize(
    ("followers", "tier"),
    [
        (None, None),
        (0, "nano"),
        (9_999, "nano"),
        (10_000, "micro"),
        (99_999, "micro"),
        (100_000, "mid"),
        (499_999, "mid"),
        (500_000, "macro"),
        (999_999, "macro"),
        (1_000_000, "mega"),
    ],
)
def test_tier_of_follows_the_documented_floors(followers: int | None, tier: str | None) -> None:
    assert tier_of(followers) == tier


def test_prior_median_is_the_geometric_mean_of_published_rates() -> None:
    assert PRIOR_MEDIANS["micro"] == pytest.approx(math.sqrt(0.0181 * 0.0054))


def test_prior_band_spans_two_and_a_half_times_each_side_of_the_median() -> None:
    band = prior_band("nano")
    assert band.low == pytest.approx(band.median / 2.5)
    assert band.high == pytest.approx(band.median * 2.5)
    assert (band.accounts, band.prior_weight) == (0, 1.0)


def test_a_tier_without_watched_accounts_keeps_its_prior() -> None:
    assert calibrate("mega", []) == prior_band("mega")


def test_many_watched_accounts_pull_the_median_toward_theirs() -> None:
    band = calibrate("micro", [0.04] * 45)
    # 45 accounts against 5 pseudo-accounts: 90 % of the way in log space.
    expected = math.exp(0.9 * math.log(0.04) + 0.1 * math.log(PRIOR_MEDIANS["micro"]))
    assert band.median == pytest.approx(expected)
    assert band.prior_weight == pytest.approx(0.1)


def test_a_tight_watched_population_narrows_the_band() -> None:
    wide = prior_band("micro")
    tight = calibrate("micro", [0.010, 0.011, 0.012, 0.0105, 0.0115] * 10)
    assert tight.high / tight.low < wide.high / wide.low


def test_band_position_places_a_rate_below_within_or_above() -> None:
    band = prior_band("micro")
    assert band_position(band.low / 2, band) == "below"
    assert band_position(band.median, band) == "within"
    assert band_position(band.high * 2, band) == "above"
    assert band_position(None, band) is None


def _account_with_posts(engine: Engine, handle: str, followers: int, rates: list[float]) -> None:
    with engine.begin() as conn:
        account_id = repo.ensure_accounts(conn, "demo", [handle], now=NOW, status="active")[handle]
        start = NOW - timedelta(days=30)
        repo.upsert_profile_snapshots(
            conn, [repo.profile_row(account_id, ProfileRecord(handle, handle, start, followers))]
        )
        records = [
            PostRecord(
                f"{handle}-{i}",
                start + timedelta(days=i + 1),
                NOW,
                likes=round(rate * followers),
                comments=0,
            )
            for i, rate in enumerate(rates)
        ]
        ids = repo.upsert_posts(conn, account_id, records, now=NOW)
        repo.upsert_post_snapshots(
            conn, [repo.post_snapshot_row(ids[r.platform_post_id], r) for r in records]
        )


def test_an_account_rate_is_the_median_of_its_recent_posts(engine: Engine) -> None:
    _account_with_posts(engine, "viral", 20_000, [0.01, 0.02, 0.50])
    (row,) = account_engagement(engine, now=NOW)
    assert row.posts == 3
    assert row.engagement_rate == pytest.approx(0.02)


def test_tier_bands_calibrate_on_accounts_with_enough_posts(engine: Engine) -> None:
    _account_with_posts(engine, "a", 20_000, [0.03, 0.03, 0.03])
    _account_with_posts(engine, "b", 30_000, [0.05, 0.05])  # two posts: not enough
    bands = tier_bands(engine, now=NOW)
    assert bands["micro"].accounts == 1
    assert bands["micro"].median == pytest.approx(
        math.exp((math.log(0.03) + 5 * math.log(PRIOR_MEDIANS["micro"])) / 6)
    )
    assert bands["nano"] == prior_band("nano")

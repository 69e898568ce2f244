"""The pure detectors on synthetic series: one behaviour per test."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import numpy as np

from collector.detection.detectors import (
    Finding,
    JumpCandidate,
    detect_all,
    engagement_rate_findings,
    follower_findings,
    following_findings,
    post_findings,
    round_number,
    shared_farm_findings,
)
from collector.detection.series import PostTable, ProfileSeries
from tests.detection.synth import START, STEP, Creator, at_day, post_near


def _iso_at(index: int) -> str:
    return datetime.fromtimestamp(START + index * STEP, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _iso_at_epoch(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def serious(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity in ("medium", "high")]


def run(creator: Creator) -> list[Finding]:
    findings, _ = detect_all(creator.series(), creator.posts(), {creator.account_id: "x"})
    return findings


def test_organic_creator_raises_nothing() -> None:
    assert serious(run(Creator())) == []


def test_bought_step_with_flat_engagement_is_flagged_high() -> None:
    at = at_day(50)
    findings = serious(run(Creator(steps={at: 4_321})))
    assert [(f.kind, f.severity) for f in findings] == [("bought_followers", "high")]
    finding = findings[0]
    assert finding.window_end == START + at * STEP
    assert finding.window_start == START + (at - 1) * STEP
    assert finding.evidence["engagement"] == "flat"
    assert 4_200 < finding.evidence["excess"] < 4_400


def test_bought_step_evidence_holds_the_numbers_a_person_needs() -> None:
    finding = serious(run(Creator(steps={at_day(50): 4_321})))[0]
    for key in (
        "followers_before",
        "followers_after",
        "observed_change",
        "expected_change",
        "baseline_rate_per_day",
        "noise_sd",
        "z",
        "engagement_per_post_before",
        "engagement_peak_ratio",
        "first_evidence_at",
    ):
        assert finding.evidence[key] is not None, key


def test_viral_spike_with_engagement_up_is_only_low() -> None:
    post = post_near(50)
    rise_at = at_day(post * 2.5) + 2
    creator = Creator(viral_posts={post: 20.0}, rises={rise_at: (1_500.0, 6)})
    findings = run(creator)
    assert serious(findings) == []
    assert [f.kind for f in findings if f.family == "follower_jump"] == ["organic_spike"]


def test_youtube_rounding_steps_raise_nothing() -> None:
    # Growth doubles to about one rounding unit (100) per interval: floored, the series then
    # climbs in steps of exactly 100, as steady as a drip, up to 100,000 where the unit becomes
    # 1,000 and a single step is a whole thousand.
    creator = Creator(
        followers=88_000, growth_per_day=0.002, speedup={at_day(40): 2.0}, volatility=0.1
    )
    series = creator.series()
    unit = np.where(series.followers >= 100_000, 1000.0, 100.0)
    floored = np.floor(series.followers / unit) * unit
    rounded = ProfileSeries.single(
        series.t, floored, series.following, rounded=np.ones(len(series), dtype=bool)
    )
    findings, _ = detect_all(rounded, creator.posts())
    assert serious(findings) == []


def test_rounding_is_recognised_even_when_the_import_does_not_say_so() -> None:
    creator = Creator(followers=99_000, growth_per_day=0.004)
    series = creator.series()
    floored = np.where(series.followers >= 100_000, 1000, 100)
    values = np.floor(series.followers / floored) * floored
    findings, _ = detect_all(
        ProfileSeries.single(series.t, values, series.following), creator.posts()
    )
    assert serious(findings) == []


def test_catch_up_delta_after_a_collection_gap_raises_nothing() -> None:
    gap = set(range(at_day(40), at_day(44)))
    assert serious(run(Creator(missing=gap, growth_per_day=0.01))) == []


def test_small_count_noise_on_a_nano_account_raises_nothing() -> None:
    for seed in range(1, 6):
        creator = Creator(
            followers=1_800, growth_per_day=0.004, seed=seed, like_rate=0.04, volatility=1.0
        )
        assert serious(run(creator)) == [], seed


def test_weekly_rhythm_raises_nothing() -> None:
    creator = Creator(growth_per_day=0.006, days=120, seed=3)
    assert serious(run(creator)) == []


def test_drip_fed_followers_are_flagged() -> None:
    start = at_day(45)
    steps = {start + i: 120.0 for i in range(4 * 14)}
    findings = serious(follower_findings(Creator(steps=steps).series(), Creator().posts()))
    assert "drip_followers" in {f.kind for f in findings}
    drip = next(f for f in findings if f.kind == "drip_followers")
    assert drip.window_start <= START + (start + 1) * STEP
    # The drip plus the organic growth of 25 or so per interval.
    assert 120 <= drip.evidence["increment_per_interval"] <= 170


def test_a_low_drip_on_a_nano_account_is_flagged_once_the_run_is_long() -> None:
    # +5 a day-quarter on 1,500 followers growing by 1 or so: no higher than one interval's
    # noise, but steady for two weeks.
    start = at_day(45)
    creator = Creator(
        followers=1_500, growth_per_day=0.003, steps={start + i: 5.0 for i in range(56)}
    )
    drips = [f for f in serious(run(creator)) if f.kind == "drip_followers"]
    assert len(drips) == 1
    # Judged at the long run's minimum (24 intervals), not at the usual six.
    assert drips[0].evidence["first_evidence_at"] >= _iso_at(start + 23)


def test_a_floored_drip_of_one_unit_per_interval_on_a_flat_count_is_flagged() -> None:
    flat = np.full(4 * 60, 110_000.0)
    flat[200:] += 1_000.0 * np.arange(1, 41)
    steps = np.zeros(flat.size, dtype=bool)
    series = ProfileSeries.single(
        Creator().times()[: flat.size], flat, flat * np.nan, rounded=~steps
    )
    findings = serious(follower_findings(series))
    assert [f.kind for f in findings] == ["drip_followers"]


def _floored(followers: np.ndarray) -> ProfileSeries:
    times = START + np.arange(followers.size, dtype=np.int64) * STEP
    return ProfileSeries.single(
        times, followers, followers * np.nan, rounded=np.ones(followers.size, dtype=bool)
    )


def test_a_floored_drip_under_one_unit_per_interval_is_found_day_by_day() -> None:
    # Floored to 1,000: a step a week, then 500 bought per interval shows as 0, 1,000, 0, 1,000.
    steps = np.zeros(4 * 70)
    steps[np.arange(10, 200, 28)] = 1_000.0
    steps[200:248:2] = 1_000.0
    findings = serious(follower_findings(_floored(211_000.0 + np.cumsum(steps))))
    assert [(f.kind, f.evidence.get("days")) for f in findings] == [("drip_followers", 12)]


def test_floored_organic_growth_of_a_unit_a_day_is_no_drip() -> None:
    steps = np.zeros(4 * 70)
    steps[np.arange(2, steps.size, 4)] = 1_000.0  # one unit every day, all along
    steps[200:212:4] += 1_000.0  # and a better three days: twice the usual
    assert serious(follower_findings(_floored(211_000.0 + np.cumsum(steps)))) == []


def test_pod_likes_seen_at_the_first_snapshot_are_flagged_from_it() -> None:
    # Latest counts 2.5x the usual likes per view (under the 3.5 z bar on their own), but the
    # first reading, two hours in, has the bought likes and almost none of the views.
    creator = Creator()
    posts = creator.posts()
    posts.likes[20] *= 2.5
    first_likes = posts.likes * 0.1
    first_likes[20] = posts.likes[20] * 0.8
    first = dataclasses.replace(
        posts,
        first_collected=posts.published + 2 * 3600,
        first_views=posts.views * 0.1,
        first_likes=first_likes,
        first_comments=posts.comments * 0.1,
        first_shares=posts.shares * 0.1,
    )
    findings = serious(post_findings(first))
    assert [f.post_id for f in findings] == [21]
    assert findings[0].evidence["first_snapshot"]["ratio_to_usual"] > 3
    assert findings[0].evidence["first_evidence_at"] == _iso_at_epoch(
        int(posts.published[20]) + 7200
    )


def test_a_long_drip_is_not_explained_by_one_lucky_post_among_many() -> None:
    start = at_day(45)
    steps = {start + i: 120.0 for i in range(4 * 14)}
    creator = Creator(steps=steps, viral_posts={post_near(50): 6.0})
    kinds = {f.kind for f in run(creator) if f.family == "drip"}
    assert kinds == {"drip_followers"}


def test_purge_is_flagged() -> None:
    findings = serious(run(Creator(steps={at_day(60): -3_000, at_day(60) + 1: -1_000})))
    assert [f.kind for f in findings] == ["follower_purge"]
    assert findings[0].evidence["lost"] > 3_500


def test_following_spike_is_flagged() -> None:
    findings = serious(following_findings(Creator(following_steps={at_day(50): 600}).series()))
    assert [f.kind for f in findings] == ["following_spike"]


def test_follow_unfollow_seesaw_is_flagged() -> None:
    swings = {at_day(50): 700.0, at_day(53): -700.0, at_day(57): 650.0, at_day(60): -650.0}
    findings = serious(following_findings(Creator(following_steps=swings).series()))
    seesaw = [f for f in findings if f.kind == "follow_unfollow"]
    assert len(seesaw) == 1
    assert seesaw[0].evidence["swings"] == 4


def test_round_number_jump_raises_the_score() -> None:
    round_jump = serious(run(Creator(steps={at_day(50): 2_000})))[0]
    other_jump = serious(run(Creator(steps={at_day(50): 2_170})))[0]
    assert round_jump.evidence["round_number"] == 2_000
    assert other_jump.evidence["round_number"] is None
    assert round_jump.score > other_jump.score


def test_round_number_matches_packages_not_any_amount() -> None:
    assert round_number(5_012.0) == 5_000
    assert round_number(996.0) == 1_000
    assert round_number(5_430.0) is None
    assert round_number(640.0) is None


def test_pod_likes_far_above_what_views_predict_are_flagged_on_the_post() -> None:
    creator = Creator(pod_posts={20: 5.0})
    findings = serious(post_findings(creator.posts()))
    assert [(f.kind, f.post_id) for f in findings] == [("likes_anomaly", 21)]
    assert findings[0].evidence["ratio_to_views"] > 3


def test_pod_likes_are_found_from_comments_where_views_are_not_published() -> None:
    creator = Creator(pod_posts={20: 6.0}, views=False)
    findings = serious(post_findings(creator.posts()))
    assert [f.post_id for f in findings] == [21]


def test_a_viral_post_is_not_a_likes_anomaly() -> None:
    creator = Creator(viral_posts={20: 25.0})
    assert serious(post_findings(creator.posts())) == []


def test_several_accounts_jumping_alike_in_one_interval_are_a_shared_farm() -> None:
    end = START + 200 * STEP
    jumps = [
        JumpCandidate(account, end - STEP, end, excess, 12.0, 60_000.0, False)
        for account, excess in ((1, 1_500.0), (2, 1_520.0), (3, 1_490.0), (4, 9_000.0))
    ]
    findings = shared_farm_findings(jumps, {}, {1: "x:a", 2: "x:b", 3: "x:c"})
    assert sorted(f.account_id for f in findings) == [1, 2, 3]
    assert {f.kind for f in findings} == {"shared_farm"}
    assert findings[0].evidence["accounts"] == 3


def test_floored_accounts_join_a_farm_within_their_rounding_unit() -> None:
    end = START + 200 * STEP
    jumps = [
        JumpCandidate(1, end - STEP, end, 1_444.0, 40.0, 90_000.0, False),
        JumpCandidate(2, end - STEP, end, 1_450.0, 18.0, 96_000.0, False),
        # YouTube floors 120,000 to the thousand... here to the hundred: 1,600 is 1,500 ± 100.
        JumpCandidate(3, end - STEP, end, 1_600.0, 24.0, 60_000.0, False, unit=100.0),
    ]
    assert sorted(f.account_id for f in shared_farm_findings(jumps, {})) == [1, 2, 3]


def test_jumps_in_different_intervals_are_no_farm() -> None:
    jumps = [
        JumpCandidate(account, START + k * STEP, START + (k + 1) * STEP, 1_500.0, 12.0, 6e4, False)
        for account, k in ((1, 100), (2, 140), (3, 180))
    ]
    assert shared_farm_findings(jumps, {}) == []


def test_engagement_rate_far_below_the_tier_band_is_flagged() -> None:
    normal = [Creator(account_id=i, seed=i) for i in range(1, 9)]
    dead = Creator(account_id=9, seed=9, like_rate=0.0004)
    creators = [*normal, dead]
    series = ProfileSeries.concat(
        (c.account_id, s.t, s.followers, s.following, s.rounded)
        for c in creators
        for s in [c.series()]
    )
    posts = _concat_posts([c.posts() for c in creators])
    findings = engagement_rate_findings(series, posts, dict.fromkeys(range(1, 10), "x"))
    flagged = {f.account_id for f in findings if f.kind == "engagement_rate_low"}
    assert flagged == {9}


def test_detectors_are_deterministic() -> None:
    creator = Creator(steps={at_day(50): 4_000}, pod_posts={20: 5.0})
    assert run(creator) == run(creator)


def _concat_posts(tables: list[PostTable]) -> PostTable:
    lengths = [len(t) for t in tables]
    cat = np.concatenate
    return PostTable(
        account_ids=cat([t.account_ids for t in tables]),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        post_ids=cat([t.post_ids + 1000 * i for i, t in enumerate(tables)]),
        published=cat([t.published for t in tables]),
        collected=cat([t.collected for t in tables]),
        views=cat([t.views for t in tables]),
        likes=cat([t.likes for t in tables]),
        comments=cat([t.comments for t in tables]),
        shares=cat([t.shares for t in tables]),
        saves=cat([t.saves for t in tables]),
    )

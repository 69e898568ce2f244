"""The demo platform: deterministic, realistic series through the real connector contract."""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from pydantic import ValidationError

from connectors import registry
from connectors.base import PlatformConfig
from connectors.demo import DemoConfig, DemoConnector, Scenario
from connectors.errors import (
    AccountNotFound,
    AccountPrivate,
    AccountSuspended,
    TransientError,
)
from connectors.records import AccountRef, History, PostRecord, ProfileRecord

T = TypeVar("T")

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def demo(
    at: datetime = NOW,
    scenarios: dict[str, Scenario] | None = None,
    history_step: timedelta = timedelta(hours=6),
) -> DemoConnector:
    config = DemoConfig(scenarios=scenarios or {}, history_step=history_step)
    return DemoConnector(config, clock=lambda: at)


def profile(handle: str, at: datetime, scenario: Scenario = "steady") -> ProfileRecord:
    batch = run(demo(at, {handle: scenario}).fetch_profiles([AccountRef(handle)]))
    return batch.profiles[handle]


def posts(
    handle: str, at: datetime, since: datetime | None, scenario: Scenario = "steady"
) -> tuple[PostRecord, ...]:
    return run(demo(at, {handle: scenario}).fetch_posts(AccountRef(handle), since=since)).posts


def history(
    handle: str,
    end: datetime,
    days: int = 90,
    scenario: Scenario = "steady",
    step: timedelta = timedelta(hours=6),
) -> History:
    connector = demo(end, {handle: scenario}, history_step=step)
    return run(
        connector.fetch_history(AccountRef(handle), start=end - timedelta(days=days), end=end)
    )


def followers(records: Sequence[ProfileRecord]) -> list[int]:
    values = [record.followers for record in records]
    assert all(value is not None for value in values)
    return [value for value in values if value is not None]


def likes(post: PostRecord) -> int:
    assert post.likes is not None
    return post.likes


# -- determinism -----------------------------------------------------------------------------


def test_two_instances_give_identical_records_for_the_same_handle_and_instant() -> None:
    handles = [AccountRef("salma.beauty"), AccountRef("yassine.cooks")]
    first, second = demo(), demo()

    assert run(first.fetch_profiles(handles)) == run(second.fetch_profiles(handles))
    assert run(first.fetch_posts(handles[0], since=None)) == run(
        second.fetch_posts(handles[0], since=None)
    )


def test_numbers_do_not_depend_on_the_process_hash_seed() -> None:
    script = (
        "import asyncio, datetime as d\n"
        "from connectors.demo import DemoConfig, DemoConnector\n"
        "from connectors.records import AccountRef\n"
        "at = d.datetime(2026, 11, 2, 12, 0, tzinfo=d.UTC)\n"
        "c = DemoConnector(DemoConfig(), clock=lambda: at)\n"
        "b = asyncio.run(c.fetch_profiles([AccountRef('salma.beauty')]))\n"
        "print(b.profiles['salma.beauty'].followers)\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4242"}
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    ).stdout

    assert int(output) == profile("salma.beauty", NOW).followers


def test_platform_id_is_stable_and_prefixed_with_demo() -> None:
    record = profile("Salma.Beauty", NOW)

    assert record.platform_id == profile("salma.beauty", NOW + timedelta(days=3)).platform_id
    assert record.platform_id.startswith("demo-")
    assert len(record.platform_id) == len("demo-") + 12


def test_display_name_is_derived_from_the_handle() -> None:
    assert profile("salma.beauty", NOW).display_name == "Salma Beauty"


def test_collected_at_is_now_truncated_to_the_second() -> None:
    at = datetime(2026, 11, 2, 12, 0, 5, 987654, tzinfo=UTC)

    assert profile("salma.beauty", at).collected_at == at.replace(microsecond=0)


def test_followers_follow_a_smooth_path_minute_by_minute() -> None:
    values = followers(history("salma.beauty", NOW, days=1, step=timedelta(minutes=1)).profiles)
    steps = [abs(b - a) for a, b in itertools.pairwise(values)]

    assert len(values) == 1440
    assert max(steps) <= 5
    assert values[0] != values[-1]


def test_organic_growth_is_faster_at_weekends_than_midweek() -> None:
    # NOW is a Monday noon: daily snapshots at noon, gains credited to the day they end on.
    result = history("salma.beauty", NOW, days=84, step=timedelta(days=1))
    counts = followers(result.profiles)
    gains: dict[int, list[int]] = {}
    for record, (a, b) in zip(result.profiles[1:], itertools.pairwise(counts), strict=True):
        gains.setdefault(record.collected_at.weekday(), []).append(b - a)
    weekend = statistics.mean(gains[5] + gains[6])
    midweek = statistics.mean(gains[2] + gains[3])

    assert weekend > 1.2 * midweek


# -- history ---------------------------------------------------------------------------------


def test_history_profiles_equal_live_profiles_at_the_same_instants() -> None:
    reconstructed = history("salma.beauty", NOW, scenario="bought_followers").profiles

    for record in reconstructed[::37]:
        live = profile("salma.beauty", record.collected_at, "bought_followers")
        assert live == record


def test_history_post_snapshots_equal_live_post_counts_at_the_same_instants() -> None:
    reconstructed = history("salma.beauty", NOW).posts

    assert reconstructed
    for snapshot in reconstructed[::11]:
        live = posts("salma.beauty", snapshot.collected_at, since=snapshot.published_at)
        assert snapshot in live


def test_history_of_90_days_has_360_profiles_and_stays_fast() -> None:
    started = time.perf_counter()
    result = history("salma.beauty", NOW, days=90, scenario="bought_followers")
    elapsed = time.perf_counter() - started

    assert len(result.profiles) == 360
    assert result.profiles[0].collected_at == NOW - timedelta(days=90)
    assert result.profiles[-1].collected_at == NOW - timedelta(hours=6)
    assert elapsed < 2.0


def test_history_post_snapshots_cover_the_first_week_of_each_post_once_a_day() -> None:
    result = history("salma.beauty", NOW, days=30)
    ages = {
        (snapshot.platform_post_id, snapshot.collected_at - snapshot.published_at)
        for snapshot in result.posts
    }
    old_posts = {s.platform_post_id for s in result.posts if s.published_at < NOW - timedelta(8)}

    assert old_posts
    for post_id in old_posts:
        assert {age for pid, age in ages if pid == post_id} == {
            timedelta(days=d) for d in range(1, 8)
        }


def test_history_never_reaches_past_now() -> None:
    connector = demo(NOW)
    result = run(
        connector.fetch_history(
            AccountRef("salma.beauty"), start=NOW - timedelta(days=10), end=NOW + timedelta(9)
        )
    )

    assert max(record.collected_at for record in result.profiles) <= NOW
    assert max(snapshot.collected_at for snapshot in result.posts) <= NOW


# -- scenarios -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handle", "end"),
    [
        ("buyer.one", NOW),
        ("buyer.two", NOW + timedelta(days=47)),
        ("buyer.three", NOW - timedelta(days=200)),
        ("buyer.four", NOW + timedelta(days=400)),
    ],
)
def test_bought_followers_jump_3000_within_12h_without_likes_rising(
    handle: str, end: datetime
) -> None:
    profiles = history(handle, end, scenario="bought_followers").profiles
    counts = followers(profiles)
    jump, i = max((counts[i + 2] - counts[i], i) for i in range(len(counts) - 2))
    jump_start, jump_end = profiles[i].collected_at, profiles[i + 2].collected_at
    # Seen 60 days later, every post compared has long saturated.
    settled = sorted(
        posts(handle, end + timedelta(days=60), end - timedelta(days=120), "bought_followers"),
        key=lambda post: post.published_at,
    )
    before = [likes(p) for p in settled if p.published_at < jump_start][-3:]
    after = [likes(p) for p in settled if p.published_at >= jump_end][:3]

    assert jump >= 3000
    assert statistics.mean(after) <= 1.2 * statistics.mean(before)


@pytest.mark.parametrize("scenario", ["bought_followers", "drip_fed", "purge"])
def test_fake_followers_earn_no_engagement(scenario: Scenario) -> None:
    # The same creator without fakes: identical posts, far fewer followers.
    handle = "salma.beauty"
    faked = posts(handle, NOW, NOW - timedelta(days=90), scenario)
    organic = posts(handle, NOW, NOW - timedelta(days=90), "steady")
    faked_counts = followers(history(handle, NOW, scenario=scenario).profiles)
    organic_counts = followers(history(handle, NOW).profiles)
    fakes = [f - o for f, o in zip(faked_counts, organic_counts, strict=True)]

    assert faked == organic
    assert max(fakes) >= 1000


def test_viral_post_gets_tenfold_median_likes_and_followers_rise_after_it() -> None:
    handle = "viral.cook"
    window = [
        post
        for post in posts(handle, NOW, NOW - timedelta(days=90), "organic_viral")
        if post.published_at <= NOW - timedelta(days=7)
    ]
    top = max(window, key=likes)
    published = top.published_at
    grown = profile(handle, published + timedelta(days=4), "organic_viral").followers
    at_post = profile(handle, published, "organic_viral").followers

    assert likes(top) >= 10 * statistics.median(likes(post) for post in window)
    assert grown is not None
    assert at_post is not None
    assert grown >= 1.01 * at_post


def test_steady_engagement_has_no_tenfold_outlier() -> None:
    window = posts("salma.beauty", NOW, NOW - timedelta(days=90))
    settled = [likes(p) for p in window if p.published_at <= NOW - timedelta(days=7)]

    assert max(settled) < 2 * statistics.median(settled)


@pytest.mark.parametrize("handle", [f"nano.{n}" for n in range(8)])
def test_nano_followers_stay_between_1k_and_10k(handle: str) -> None:
    for years in (-2, -1, 0, 1, 2, 3):
        count = profile(handle, NOW + timedelta(days=365 * years), "nano").followers
        assert count is not None
        assert 1_000 <= count <= 10_000


@pytest.mark.parametrize("handle", [f"micro.{n}" for n in range(8)])
def test_steady_followers_stay_between_10k_and_100k(handle: str) -> None:
    for years in (-2, -1, 0, 1, 2, 3):
        count = profile(handle, NOW + timedelta(days=365 * years)).followers
        assert count is not None
        assert 10_000 <= count <= 100_000


def test_nano_like_rate_is_higher_than_micro() -> None:
    def like_rate(handle: str, scenario: Scenario) -> float:
        window = posts(handle, NOW, NOW - timedelta(days=60), scenario)
        count = profile(handle, NOW, scenario).followers
        assert count is not None
        settled = [likes(p) for p in window if p.published_at <= NOW - timedelta(days=7)]
        return statistics.mean(settled) / count

    assert 0.025 <= like_rate("nano.0", "nano") <= 0.055
    assert 0.008 <= like_rate("micro.0", "steady") <= 0.033


def test_purge_drops_followers_3_to_8_percent_within_a_day() -> None:
    counts = followers(history("purged", NOW, scenario="purge", step=timedelta(hours=1)).profiles)
    worst_day = min((counts[i + 24] - counts[i]) / counts[i] for i in range(len(counts) - 24))

    assert -0.08 <= worst_day <= -0.03


def test_drip_fed_adds_the_same_increment_every_6_hours() -> None:
    counts = followers(history("dripper", NOW, scenario="drip_fed").profiles)
    steps = [b - a for a, b in itertools.pairwise(counts)]
    # The 10 days with the largest gain lie inside one 14-day drip window.
    start = max(range(len(steps) - 40), key=lambda i: sum(steps[i : i + 40]))
    window = steps[start : start + 40]
    typical = statistics.median(window)

    assert typical >= 80
    assert max(window) - min(window) <= 0.15 * typical


def test_post_counts_never_decrease_with_time() -> None:
    first = posts("salma.beauty", NOW, NOW - timedelta(days=30))
    seen: dict[str, PostRecord] = {post.platform_post_id: post for post in first}
    for hours in (1, 2, 5, 12, 30, 80, 200):
        later = posts("salma.beauty", NOW + timedelta(hours=hours), NOW - timedelta(days=30))
        for post in later:
            if post.platform_post_id in seen:
                earlier = seen[post.platform_post_id]
                for field in ("views", "likes", "comments", "shares", "saves"):
                    assert getattr(post, field) >= getattr(earlier, field)
            seen[post.platform_post_id] = post


def test_posts_are_never_returned_before_publication() -> None:
    newest = posts("salma.beauty", NOW, since=None)[0]
    just_before = newest.published_at - timedelta(seconds=1)

    ids = {p.platform_post_id for p in posts("salma.beauty", just_before, since=None)}

    assert newest.platform_post_id not in ids
    assert all(p.published_at <= NOW for p in posts("salma.beauty", NOW, since=None))


def test_post_counts_at_7_days_reach_95_percent_of_their_30_day_value() -> None:
    post = posts("salma.beauty", NOW, NOW - timedelta(days=10))[-1]
    week = posts("salma.beauty", post.published_at + timedelta(days=7), post.published_at)[-1]
    month = posts("salma.beauty", post.published_at + timedelta(days=30), post.published_at)[-1]

    assert week.platform_post_id == month.platform_post_id == post.platform_post_id
    for field in ("views", "likes", "comments", "shares", "saves"):
        assert getattr(week, field) >= 0.95 * getattr(month, field)


def test_posts_are_newest_first_with_the_newest_id_as_cursor() -> None:
    page = run(demo().fetch_posts(AccountRef("salma.beauty"), since=NOW - timedelta(days=30)))
    published = [post.published_at for post in page.posts]

    assert published == sorted(published, reverse=True)
    assert page.cursor == page.posts[0].platform_post_id


def test_posts_without_since_cover_the_last_30_days() -> None:
    window = posts("salma.beauty", NOW, since=None)
    published = [post.published_at for post in window]

    assert 7 <= len(window) <= 16
    assert min(published) >= NOW - timedelta(days=30)
    assert min(published) - (NOW - timedelta(days=30)) <= timedelta(days=5)


def test_no_posts_in_the_window_gives_no_cursor() -> None:
    page = run(demo().fetch_posts(AccountRef("salma.beauty"), since=NOW + timedelta(days=1)))

    assert page.posts == ()
    assert page.cursor is None


def test_posts_count_grows_by_the_posts_published_meanwhile() -> None:
    later = NOW + timedelta(days=20)
    published = posts("salma.beauty", later, since=NOW + timedelta(seconds=1))
    before, after = profile("salma.beauty", NOW), profile("salma.beauty", later)

    assert before.posts_count is not None
    assert after.posts_count is not None
    assert after.posts_count - before.posts_count == len(published)


def test_quotes_are_none_because_the_demo_platform_does_not_publish_them() -> None:
    window = posts("salma.beauty", NOW, since=None)

    assert window
    assert all(post.quotes is None for post in window)
    assert all(post.likes is not None and post.views is not None for post in window)


def test_posts_carry_kind_url_and_caption() -> None:
    post = posts("salma.beauty", NOW, since=None)[0]

    assert post.kind in {"photo", "carousel", "video", "reel"}
    assert post.url == f"https://demo.invalid/salma.beauty/{post.platform_post_id}"
    assert post.caption


def test_following_stays_within_a_few_percent() -> None:
    values = [profile("salma.beauty", NOW + timedelta(days=d)).following for d in range(0, 90, 3)]
    counts = [value for value in values if value is not None]

    assert len(counts) == len(values)
    assert max(counts) <= 1.1 * min(counts)


# -- errors ----------------------------------------------------------------------------------


def test_account_states_are_reported_per_handle_while_others_succeed() -> None:
    connector = demo(scenarios={"gone": "not_found", "hidden": "private", "banned": "suspended"})
    handles = ["salma.beauty", "gone", "hidden", "banned", "yassine.cooks"]

    batch = run(connector.fetch_profiles([AccountRef(h) for h in handles]))

    assert set(batch.profiles) == {"salma.beauty", "yassine.cooks"}
    assert isinstance(batch.failures["gone"], AccountNotFound)
    assert isinstance(batch.failures["hidden"], AccountPrivate)
    assert isinstance(batch.failures["banned"], AccountSuspended)
    assert batch.failures["gone"].handle == "gone"


def test_account_states_are_raised_by_fetch_posts_and_fetch_history() -> None:
    connector = demo(scenarios={"gone": "not_found"})

    with pytest.raises(AccountNotFound):
        run(connector.fetch_posts(AccountRef("gone"), since=None))
    with pytest.raises(AccountNotFound):
        run(connector.fetch_history(AccountRef("gone"), start=NOW - timedelta(1), end=NOW))


def test_flaky_raises_transient_error_sometimes_but_not_always() -> None:
    failures = 0
    for second in range(120):
        connector = demo(NOW + timedelta(seconds=second), {"shaky": "flaky"})
        try:
            run(connector.fetch_posts(AccountRef("shaky"), since=None))
        except TransientError:
            failures += 1

    assert 20 <= failures <= 60


def test_flaky_is_decided_by_the_clock_not_by_chance() -> None:
    def outcomes() -> list[bool]:
        now = [NOW]
        connector = DemoConnector(DemoConfig(scenarios={"shaky": "flaky"}), clock=lambda: now[0])
        succeeded = []
        for second in range(30):
            now[0] = NOW + timedelta(seconds=second)
            try:
                run(connector.fetch_posts(AccountRef("shaky"), since=None))
                succeeded.append(True)
            except TransientError:
                succeeded.append(False)
        return succeeded

    assert outcomes() == outcomes()


def test_batch_larger_than_50_raises_value_error() -> None:
    accounts = [AccountRef(f"creator.{n}") for n in range(51)]

    with pytest.raises(ValueError, match="at most 50"):
        run(demo().fetch_profiles(accounts))


def test_batch_of_50_is_accepted() -> None:
    accounts = [AccountRef(f"creator.{n}") for n in range(50)]

    assert len(run(demo().fetch_profiles(accounts)).profiles) == 50


def test_each_call_is_counted_in_stats() -> None:
    connector = demo()
    account = AccountRef("salma.beauty")

    run(connector.fetch_profiles([account, AccountRef("yassine.cooks")]))
    run(connector.fetch_posts(account, since=None))
    run(connector.fetch_posts(account, since=None))
    run(connector.fetch_history(account, start=NOW - timedelta(days=1), end=NOW))

    assert connector.stats.by_endpoint == {"profiles": 1, "posts": 2, "history": 1}
    assert connector.stats.calls == 4


# -- configuration ---------------------------------------------------------------------------


def test_scenario_lookup_ignores_case_and_leading_at() -> None:
    connector = demo(scenarios={"@Gone.Account": "not_found"})

    batch = run(connector.fetch_profiles([AccountRef("gone.account"), AccountRef("GONE.account")]))

    assert set(batch.failures) == {"gone.account", "GONE.account"}
    assert connector.scenario_of("@gone.ACCOUNT") == "not_found"
    assert connector.scenario_of("someone.else") == "steady"


def test_one_handle_with_two_scenarios_is_rejected() -> None:
    with pytest.raises(ValidationError, match="two scenarios"):
        DemoConfig.model_validate({"scenarios": {"@salma": "nano", "Salma": "purge"}})


def test_unknown_scenario_is_rejected() -> None:
    with pytest.raises(ValidationError):
        DemoConfig.model_validate({"scenarios": {"salma": "hacked"}})


def test_config_defaults_to_90_days_of_6_hourly_history() -> None:
    config = DemoConfig.model_validate({"interval": "10s"})

    assert config.backfill_days == 90
    assert config.history_step == timedelta(hours=6)
    assert config.interval == timedelta(seconds=10)
    assert config.scenarios == {}


def test_history_step_below_a_minute_is_rejected() -> None:
    with pytest.raises(ValidationError, match="at least 1m"):
        DemoConfig.model_validate({"history_step": "30s"})


def test_plain_platform_config_is_upgraded_to_demo_config() -> None:
    connector = DemoConnector(PlatformConfig(), clock=lambda: NOW)

    assert isinstance(connector.config, DemoConfig)
    assert connector.config.backfill_days == 90


def test_demo_is_registered_under_the_connector_entry_point_group() -> None:
    loaded = registry.load("demo")

    assert loaded is DemoConnector
    assert loaded.batch_size == 50
    assert loaded.supports_history
    assert loaded.config_model is DemoConfig

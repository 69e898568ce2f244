"""The YouTube connector: the conformance suite on recorded answers, then one test per quirk."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from connectors.base import PlatformConfig
from connectors.budget import DailyUnits
from connectors.errors import (
    AccountNotFound,
    AuthError,
    ConfigError,
    ConnectorError,
    PayloadChanged,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from connectors.http import RetryPolicy
from connectors.records import AccountRef, PostRef, ProfileBatch
from connectors.testing import NOW, ConnectorConformance, Recorder
from connectors.youtube import (
    CHANNELS,
    RESOLVE,
    UPLOADS,
    VIDEOS,
    YouTubeConfig,
    YouTubeConnector,
    error_reasons,
    next_quota_reset,
)
from tests.conftest import FakeClock
from tests.fakeplatform.core import FakeAccount, World
from tests.fakeplatform.server import FakePlatformServer
from tests.fakeplatform.youtube import channel_id_of, video_id_of

T = TypeVar("T")

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "platform-samples" / "youtube"
KEY = "AIza-test-key-not-a-real-one-0000000000"
GOOGLE_DEVELOPERS = "UC_x5XG1OV2P6uZZ5FSM9Ttw"
#: The next midnight in Pacific time after NOW (2026-11-02 12:00 UTC, PST after 1 November).
NEXT_PACIFIC_MIDNIGHT = datetime(2026, 11, 3, 8, 0, tzinfo=UTC)


def _sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


CHANNELS_SAMPLE = _sample("channels_list_statistics_contentDetails_multi.json")
VIDEOS_SAMPLE = _sample("videos_list_snippet_contentDetails_status_statistics.json")
PLAYLIST_SAMPLE = _sample("playlistItems_list_last_page_prevPageToken.json")
QUOTA_BODY = (SAMPLES / "error_403_quotaExceeded.json").read_bytes()


def _content_details_page(page: dict[str, Any]) -> dict[str, Any]:
    """The recorded playlist page as the connector asks for it (``part=contentDetails``).

    The sample was recorded with ``part=snippet``; the documented ``contentDetails`` part carries
    the same video id and publication time, so they are moved there and the snippet dropped.
    """
    converted = copy.deepcopy(page)
    for item in converted["items"]:
        snippet = item.pop("snippet")
        item["contentDetails"] = {
            "videoId": snippet["resourceId"]["videoId"],
            "videoPublishedAt": snippet["publishedAt"],
        }
    return converted


LAST_PAGE = _content_details_page(PLAYLIST_SAMPLE)


def _first_page() -> dict[str, Any]:
    """A page before the recorded last one: newer uploads and a nextPageToken, no prevPageToken."""
    page = copy.deepcopy(LAST_PAGE)
    del page["prevPageToken"]
    page["nextPageToken"] = "CAMQAA"
    for n, item in enumerate(page["items"]):
        item["contentDetails"] = {
            "videoId": f"newerUpld0{n}",
            "videoPublishedAt": f"2019-12-0{n + 1}T10:00:00.000Z",
        }
    return page


def _synthetic_channel_id(handle: str) -> str:
    return "UC" + hashlib.blake2b(handle.encode(), digest_size=16).hexdigest()[:22]


def _channel_item(channel_id: str) -> dict[str, Any]:
    """A recorded channel item, or one of the same shape under another id."""
    recorded: dict[str, dict[str, Any]] = {i["id"]: i for i in CHANNELS_SAMPLE["items"]}
    if channel_id in recorded:
        return copy.deepcopy(recorded[channel_id])
    item: dict[str, Any] = copy.deepcopy(CHANNELS_SAMPLE["items"][1])
    item["id"] = channel_id
    item["contentDetails"]["relatedPlaylists"]["uploads"] = "UU" + channel_id[2:]
    return item


def _channel_list(items: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "youtube#channelListResponse",
        "etag": CHANNELS_SAMPLE["etag"],
        "pageInfo": {"totalResults": len(items), "resultsPerPage": 5},
    }
    if items:
        body["items"] = items
    return body


class TestYouTubeConformance(ConnectorConformance):
    connector_cls = YouTubeConnector
    handle = "googledevelopers"
    expected_profile: ClassVar[dict[str, Any]] = {
        "handle": "googledevelopers",
        "platform_id": GOOGLE_DEVELOPERS,
        "followers": 2_260_000,
        "following": None,
        "posts_count": 5652,
        "followers_rounded": True,
        "followers_hidden": False,
        "display_name": "Google Developers",
    }
    expected_first_post: ClassVar[dict[str, Any]] = {
        "platform_post_id": "Fu2bldybpkA",
        "published_at": datetime(2019, 11, 23, 0, 49, 59, tzinfo=UTC),
        "kind": "video",
        "url": "https://www.youtube.com/watch?v=Fu2bldybpkA",
        "views": None,
        "likes": None,
        "comments": None,
        "has_counts": False,
    }
    expected_post_count = 3
    page_count = 2
    expected_paginated_posts = 6

    def config(self, base_url: str) -> PlatformConfig:
        return YouTubeConfig(base_url=base_url, api_key=SecretStr(self.secret))

    def platform_id_of(self, handle: str) -> str | None:
        if handle == self.handle:
            return GOOGLE_DEVELOPERS
        return _synthetic_channel_id(handle)

    def respond(self, request: httpx.Request, case: str) -> httpx.Response:
        resource = request.url.path.rsplit("/", 1)[-1]
        params = request.url.params
        if case == "quota":
            return httpx.Response(403, content=QUOTA_BODY)
        if resource == "channels":
            if case == "not_found":
                return httpx.Response(200, json=_channel_list([]))
            if "forHandle" in params:
                found = self.platform_id_of(params["forHandle"].removeprefix("@"))
                return httpx.Response(200, json=_channel_list([{"id": found}]))
            ids = params["id"].split(",")
            return httpx.Response(200, json=_channel_list([_channel_item(i) for i in ids]))
        if resource == "playlistItems":
            if case == "paginated" and "pageToken" not in params:
                return httpx.Response(200, json=_first_page())
            return httpx.Response(200, json=LAST_PAGE)
        if resource == "videos":
            return httpx.Response(200, json=VIDEOS_SAMPLE)
        return httpx.Response(404)


# -- harnesses -----------------------------------------------------------------------------------


def _config(base_url: str = "https://youtube.test") -> YouTubeConfig:
    return YouTubeConfig(base_url=base_url, api_key=SecretStr(KEY))


def _mocked(
    handler: Callable[[httpx.Request], httpx.Response],
    clock: Callable[[], datetime] = lambda: NOW,
) -> tuple[YouTubeConnector, list[httpx.Request], Recorder]:
    """A connector whose platform is ``handler``; requests and waits are recorded, never slept."""
    seen: list[httpx.Request] = []
    sleeps = Recorder()

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    connector = YouTubeConnector(
        _config(),
        transport=httpx.MockTransport(record),
        clock=clock,
        retry=RetryPolicy(max_attempts=3, sleep=sleeps, clock=clock),
    )
    connector.budget.sleep = sleeps
    return connector, seen, sleeps


def _run(connector: YouTubeConnector, work: Callable[[YouTubeConnector], Awaitable[T]]) -> T:
    async def main() -> T:
        try:
            return await work(connector)
        finally:
            await connector.aclose()

    return asyncio.run(main())


def _raised(connector: YouTubeConnector, work: Callable[[YouTubeConnector], Awaitable[Any]]) -> Any:
    with pytest.raises(ConnectorError) as caught:
        _run(connector, work)
    return caught.value


@contextmanager
def _served(world: World, clock: FakeClock) -> Iterator[YouTubeConnector]:
    """A connector talking real HTTP on loopback to the fake YouTube of ``world``."""
    with FakePlatformServer(world) as server:
        yield YouTubeConnector(
            _config(server.url_for("youtube")),
            clock=clock,
            retry=RetryPolicy(max_attempts=2, sleep=Recorder(), clock=clock),
        )


def _ref(account: FakeAccount) -> AccountRef:
    return AccountRef(account.handle, channel_id_of(account))


def _post_refs(account: FakeAccount) -> list[PostRef]:
    return [
        PostRef(video_id_of(account, p), account.handle, channel_id_of(account), p.published_at)
        for p in account.posts
    ]


def _channels_ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=CHANNELS_SAMPLE)


def _google_developers() -> AccountRef:
    return AccountRef("googledevelopers", GOOGLE_DEVELOPERS)


# -- counts --------------------------------------------------------------------------------------


def test_video_counts_arrive_as_strings_and_are_parsed_as_integers() -> None:
    connector, _, _ = _mocked(lambda request: httpx.Response(200, json=VIDEOS_SAMPLE))
    ref = PostRef("D-lhorsDlUQ", "googledevelopers", GOOGLE_DEVELOPERS, NOW)
    [video] = _run(connector, lambda c: c.fetch_post_stats([ref]))
    assert (video.views, video.likes, video.comments) == (7920, 190, 32)


def test_counts_youtube_does_not_publish_are_none_not_zero() -> None:
    connector, _, _ = _mocked(lambda request: httpx.Response(200, json=VIDEOS_SAMPLE))
    ref = PostRef("D-lhorsDlUQ", "googledevelopers", GOOGLE_DEVELOPERS, NOW)
    [video] = _run(connector, lambda c: c.fetch_post_stats([ref]))
    assert (video.shares, video.quotes, video.saves) == (None, None, None)


def test_subscriber_counts_are_floored_to_3_figures_and_flagged_as_rounded(
    clock: FakeClock,
) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma", followers=164_583)
    with _served(world, clock) as connector:
        batch = _run(connector, lambda c: c.fetch_profiles([_ref(account)]))
    profile = batch.profiles["salma"]
    assert (profile.followers, profile.followers_rounded) == (164_000, True)


def test_a_hidden_subscriber_count_is_unknown_and_flagged_not_zero(clock: FakeClock) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma", hidden_followers=True)
    with _served(world, clock) as connector:
        batch = _run(connector, lambda c: c.fetch_profiles([_ref(account)]))
    profile = batch.profiles["salma"]
    assert (profile.followers, profile.followers_hidden) == (None, True)


def test_a_hidden_subscriber_count_published_as_zero_is_still_unknown() -> None:
    body = copy.deepcopy(CHANNELS_SAMPLE)
    body["items"][1]["statistics"].update(subscriberCount="0", hiddenSubscriberCount=True)
    connector, _, _ = _mocked(lambda request: httpx.Response(200, json=body))
    batch = _run(connector, lambda c: c.fetch_profiles([_google_developers()]))
    profile = batch.profiles["googledevelopers"]
    assert (profile.followers, profile.followers_hidden) == (None, True)


def test_a_channel_has_no_following_count(clock: FakeClock) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma")
    with _served(world, clock) as connector:
        batch = _run(connector, lambda c: c.fetch_profiles([_ref(account)]))
    assert batch.profiles["salma"].following is None


@pytest.mark.parametrize("hidden", ["likes", "comments"])
def test_a_like_or_comment_count_left_out_is_unknown_not_zero(
    clock: FakeClock, hidden: str
) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma")
    setattr(account.posts[0], hidden, None)
    with _served(world, clock) as connector:
        [video] = _run(connector, lambda c: c.fetch_post_stats(_post_refs(account)[:1]))
    assert getattr(video, hidden) is None
    assert video.views == account.posts[0].views


def test_video_stats_carry_title_and_publication_time(clock: FakeClock) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma")
    post = account.posts[0]
    with _served(world, clock) as connector:
        [video] = _run(connector, lambda c: c.fetch_post_stats(_post_refs(account)[:1]))
    assert video.caption == "post 0 by salma\n#collab"
    assert video.published_at == post.published_at
    assert video.has_counts


def test_a_channel_answer_without_statistics_is_a_payload_change() -> None:
    body = copy.deepcopy(CHANNELS_SAMPLE)
    for item in body["items"]:
        del item["statistics"]
    connector, _, _ = _mocked(lambda request: httpx.Response(200, json=body))
    error = _raised(connector, lambda c: c.fetch_profiles([_google_developers()]))
    assert isinstance(error, PayloadChanged)


def test_a_count_that_is_not_a_number_is_a_payload_change() -> None:
    body = copy.deepcopy(VIDEOS_SAMPLE)
    body["items"][0]["statistics"]["viewCount"] = "lots"
    connector, _, _ = _mocked(lambda request: httpx.Response(200, json=body))
    ref = PostRef("D-lhorsDlUQ", "googledevelopers", GOOGLE_DEVELOPERS, NOW)
    error = _raised(connector, lambda c: c.fetch_post_stats([ref]))
    assert isinstance(error, PayloadChanged)


# -- quota and errors ----------------------------------------------------------------------------


def _quota(request: httpx.Request) -> httpx.Response:
    return httpx.Response(403, content=QUOTA_BODY)


def test_quota_exceeded_waits_for_the_next_pacific_midnight() -> None:
    connector, _, _ = _mocked(_quota)
    error = _raised(connector, lambda c: c.fetch_profiles([_google_developers()]))
    assert isinstance(error, QuotaExhausted)
    assert error.reset_at == NEXT_PACIFIC_MIDNIGHT


def test_quota_exceeded_is_not_retried() -> None:
    connector, seen, _ = _mocked(_quota)
    _raised(connector, lambda c: c.fetch_profiles([_google_developers()]))
    assert len(seen) == 1


def test_after_quota_exceeded_the_budget_refuses_the_next_call_without_sending_it() -> None:
    connector, seen, _ = _mocked(_quota)

    async def twice(c: YouTubeConnector) -> ConnectorError:
        with pytest.raises(QuotaExhausted):
            await c.fetch_profiles([_google_developers()])
        with pytest.raises(QuotaExhausted) as second:
            await c.fetch_posts(_google_developers(), since=None)
        return second.value

    error = _run(connector, twice)
    assert len(seen) == 1
    assert isinstance(error, QuotaExhausted)
    assert error.reset_at == NEXT_PACIFIC_MIDNIGHT


@pytest.mark.parametrize(
    ("now", "reset"),
    [
        # Pacific daylight time (UTC-7) until Sunday 1 November 2026.
        (datetime(2026, 10, 31, 12, 0, tzinfo=UTC), datetime(2026, 11, 1, 7, 0, tzinfo=UTC)),
        # Pacific standard time (UTC-8) after it.
        (datetime(2026, 11, 2, 12, 0, tzinfo=UTC), datetime(2026, 11, 3, 8, 0, tzinfo=UTC)),
        # Late evening in Los Angeles is already the next day in UTC.
        (datetime(2026, 11, 3, 7, 30, tzinfo=UTC), datetime(2026, 11, 3, 8, 0, tzinfo=UTC)),
        # The night clocks go forward (Sunday 8 March 2026) still resets at local midnight.
        (datetime(2026, 3, 7, 20, 0, tzinfo=UTC), datetime(2026, 3, 8, 8, 0, tzinfo=UTC)),
    ],
)
def test_the_quota_resets_at_midnight_pacific_time_across_daylight_saving(
    now: datetime, reset: datetime
) -> None:
    assert next_quota_reset(now) == reset


def test_the_budget_stops_before_the_daily_limit() -> None:
    connector, seen, _ = _mocked(_channels_ok)
    budget = connector.budget
    assert isinstance(budget, DailyUnits)
    # 9,499 units spent earlier today (read back from collection_run): 1 left above the reserve.
    budget.seed(9_499, since=budget.period_start())

    async def two_calls(c: YouTubeConnector) -> ConnectorError:
        await c.fetch_profiles([_google_developers()])
        with pytest.raises(QuotaExhausted) as refused:
            await c.fetch_posts(_google_developers(), since=None)
        return refused.value

    error = _run(connector, two_calls)
    assert len(seen) == 1
    assert isinstance(error, QuotaExhausted)
    assert error.reset_at == NEXT_PACIFIC_MIDNIGHT


def test_the_daily_capacity_is_the_quota_minus_the_reserve() -> None:
    config = YouTubeConfig(api_key=SecretStr(KEY), daily_quota_units=50_000, quota_reserve_units=0)
    assert YouTubeConnector(config).budget.capacity_per_day() == 50_000


def _error_body(reason: str, domain: str, status: int, message: str = "Error") -> dict[str, Any]:
    entry = {"message": message, "domain": domain, "reason": reason}
    return {"error": {"code": status, "message": message, "errors": [entry]}}


API_KEY_INVALID = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "errors": [
            {
                "message": "API key not valid. Please pass a valid API key.",
                "domain": "global",
                "reason": "badRequest",
            }
        ],
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "youtube.googleapis.com"},
            }
        ],
    }
}
TOP_LEVEL_QUOTA = {
    "code": 403,
    "message": "Daily Limit Exceeded",
    "errors": [{"domain": "usageLimits", "reason": "dailyLimitExceeded"}],
}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (403, json.loads(QUOTA_BODY), QuotaExhausted),
        (403, _error_body("dailyLimitExceeded", "usageLimits", 403), QuotaExhausted),
        (403, TOP_LEVEL_QUOTA, QuotaExhausted),
        (403, _error_body("rateLimitExceeded", "usageLimits", 403), RateLimited),
        (403, _error_body("userRateLimitExceeded", "usageLimits", 403), RateLimited),
        (400, _error_body("keyInvalid", "usageLimits", 400, "Bad Request"), AuthError),
        (400, API_KEY_INVALID, AuthError),
        (403, _error_body("accessNotConfigured", "usageLimits", 403), ConfigError),
        (404, _error_body("playlistNotFound", "youtube.playlistItem", 404), AccountNotFound),
        (404, _error_body("channelNotFound", "youtube.channel", 404), AccountNotFound),
    ],
    ids=[
        "quotaExceeded",
        "dailyLimitExceeded",
        "top-level-errors",
        "rateLimitExceeded",
        "userRateLimitExceeded",
        "keyInvalid",
        "API_KEY_INVALID",
        "accessNotConfigured",
        "playlistNotFound",
        "channelNotFound",
    ],
)
def test_each_error_reason_maps_to_its_typed_error(
    status: int, body: dict[str, Any], expected: type[ConnectorError]
) -> None:
    connector, _, _ = _mocked(_channels_ok)
    error = connector.classify(httpx.Response(status, json=body))
    assert type(error) is expected


def test_the_reasons_of_every_error_format_are_read() -> None:
    assert error_reasons(API_KEY_INVALID) == {"badRequest", "INVALID_ARGUMENT", "API_KEY_INVALID"}


def test_a_refused_key_is_an_auth_error_that_does_not_repeat_the_key() -> None:
    connector, _, _ = _mocked(lambda request: httpx.Response(400, json=API_KEY_INVALID))
    error = _raised(connector, lambda c: c.fetch_profiles([_google_developers()]))
    assert isinstance(error, AuthError)
    assert KEY not in str(error)


def test_a_rate_limit_403_is_retried_after_a_minute() -> None:
    answers = [httpx.Response(403, json=_error_body("rateLimitExceeded", "usageLimits", 403))]

    def handler(request: httpx.Request) -> httpx.Response:
        return answers.pop(0) if answers else _channels_ok(request)

    connector, seen, sleeps = _mocked(handler)
    batch = _run(connector, lambda c: c.fetch_profiles([_google_developers()]))
    assert "googledevelopers" in batch.profiles
    assert (len(seen), sleeps.waits) == (2, [60.0])


def test_the_api_key_travels_in_a_header_never_in_the_url() -> None:
    connector, seen, _ = _mocked(_channels_ok)
    _run(connector, lambda c: c.fetch_profiles([_google_developers()]))
    [request] = seen
    assert request.headers["X-Goog-Api-Key"] == KEY
    assert KEY not in str(request.url)


def test_the_fake_platform_refuses_a_request_without_a_key(clock: FakeClock) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma")
    with FakePlatformServer(world) as server:
        url = f"{server.url_for('youtube')}/channels"
        response = httpx.get(url, params={"part": "id", "id": channel_id_of(account)})
    assert response.status_code == 400
    assert error_reasons(response.json()) == {"keyInvalid"}


# -- resolution ----------------------------------------------------------------------------------


def test_a_handle_is_resolved_once_then_its_cached_id_is_used(clock: FakeClock) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma")

    async def two_passes(c: YouTubeConnector) -> ProfileBatch:
        first = await c.fetch_profiles([AccountRef("salma")])
        cached = first.profiles["salma"].platform_id
        return await c.fetch_profiles([AccountRef("salma", cached)])

    with _served(world, clock) as connector:
        second = _run(connector, two_passes)
    assert second.profiles["salma"].platform_id == channel_id_of(account)
    assert world.calls[("youtube", RESOLVE)] == 1
    assert world.calls[("youtube", CHANNELS)] == 2


def test_a_channel_id_in_the_watchlist_needs_no_resolution(clock: FakeClock) -> None:
    world = World(clock=clock)
    channel_id = channel_id_of(world.add("youtube", "salma"))
    with _served(world, clock) as connector:
        batch = _run(connector, lambda c: c.fetch_profiles([AccountRef(channel_id)]))
    assert batch.profiles[channel_id].platform_id == channel_id
    assert world.calls[("youtube", RESOLVE)] == 0


def test_the_profile_is_keyed_by_the_handle_asked_for(clock: FakeClock) -> None:
    world = World(clock=clock)
    world.add("youtube", "SalmaBeauty")
    with _served(world, clock) as connector:
        batch = _run(connector, lambda c: c.fetch_profiles([AccountRef("salmabeauty")]))
    assert list(batch.profiles) == ["salmabeauty"]
    assert batch.profiles["salmabeauty"].handle == "salmabeauty"


def test_a_vanished_channel_id_re_resolves_its_handle(clock: FakeClock) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma")
    stale = AccountRef("salma", "UC" + "x" * 22)
    with _served(world, clock) as connector:
        batch = _run(connector, lambda c: c.fetch_profiles([stale]))
    assert batch.profiles["salma"].platform_id == channel_id_of(account)
    assert world.calls[("youtube", RESOLVE)] == 1


def test_a_vanished_channel_watched_by_id_is_not_found_without_resolution(
    clock: FakeClock,
) -> None:
    world = World(clock=clock)
    gone = "UC" + "x" * 22
    with _served(world, clock) as connector:
        batch = _run(connector, lambda c: c.fetch_profiles([AccountRef(gone)]))
    assert isinstance(batch.failures[gone], AccountNotFound)
    assert world.calls[("youtube", RESOLVE)] == 0


def test_an_unknown_handle_fails_alone_and_the_batch_goes_on(clock: FakeClock) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma")
    with _served(world, clock) as connector:
        batch = _run(connector, lambda c: c.fetch_profiles([_ref(account), AccountRef("ghost")]))
    assert list(batch.profiles) == ["salma"]
    assert isinstance(batch.failures["ghost"], AccountNotFound)


def test_a_handle_answered_with_a_404_fails_alone() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("forHandle") == "@ghost":
            return httpx.Response(404, json=_error_body("channelNotFound", "youtube.channel", 404))
        return _channels_ok(request)

    connector, _, _ = _mocked(handler)
    batch = _run(connector, lambda c: c.fetch_profiles([_google_developers(), AccountRef("ghost")]))
    assert list(batch.profiles) == ["googledevelopers"]
    assert isinstance(batch.failures["ghost"], AccountNotFound)


def test_a_terminated_channel_is_not_found(clock: FakeClock) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma", status="suspended")
    with _served(world, clock) as connector:
        batch = _run(connector, lambda c: c.fetch_profiles([_ref(account)]))
    assert isinstance(batch.failures["salma"], AccountNotFound)


# -- batching ------------------------------------------------------------------------------------


def test_500_channels_take_exactly_10_channels_list_calls(clock: FakeClock) -> None:
    world = World(clock=clock, posts_per_account=0)
    refs = [_ref(world.add("youtube", f"creator{n}")) for n in range(500)]

    async def one_pass(c: YouTubeConnector) -> int:
        profiles = 0
        for start in range(0, len(refs), c.batch_size):
            batch = await c.fetch_profiles(refs[start : start + c.batch_size])
            profiles += len(batch.profiles)
        return profiles

    with _served(world, clock) as connector:
        profiles = _run(connector, one_pass)
    assert profiles == 500
    assert world.calls[("youtube", CHANNELS)] == 10
    assert world.calls[("youtube", RESOLVE)] == 0


def test_video_counts_are_fetched_50_videos_per_call(clock: FakeClock) -> None:
    world = World(clock=clock, posts_per_account=120)
    account = world.add("youtube", "salma")
    with _served(world, clock) as connector:
        videos = _run(connector, lambda c: c.fetch_post_stats(_post_refs(account)))
    assert len(videos) == 120
    assert world.calls[("youtube", VIDEOS)] == 3


def test_videos_no_longer_served_are_left_out(clock: FakeClock) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma")
    served = _post_refs(account)[:2]
    deleted = PostRef("deletedVid0", "salma", channel_id_of(account), NOW)
    with _served(world, clock) as connector:
        videos = _run(connector, lambda c: c.fetch_post_stats([deleted, *served]))
    assert [v.platform_post_id for v in videos] == [p.platform_post_id for p in served]


def test_more_than_50_videos_give_the_same_records_together_as_one_call_at_a_time(
    clock: FakeClock,
) -> None:
    world = World(clock=clock, posts_per_account=120)
    refs = _post_refs(world.add("youtube", "salma"))
    records = []
    with FakePlatformServer(world) as server:
        for connections in (1, 8):
            config = YouTubeConfig(
                base_url=server.url_for("youtube"),
                api_key=SecretStr(KEY),
                max_connections=connections,
            )
            connector = YouTubeConnector(config, clock=clock)
            records.append(_run(connector, lambda c: c.fetch_post_stats(refs)))
    one_at_a_time, together = records
    assert (together, world.calls[("youtube", VIDEOS)]) == (one_at_a_time, 3 + 3)


def _video_ids(count: int) -> list[PostRef]:
    return [PostRef(f"video{n:06d}", "salma", GOOGLE_DEVELOPERS, NOW) for n in range(count)]


def _quota_403() -> httpx.Response:
    return httpx.Response(403, content=QUOTA_BODY)


class _VideosInFlight:
    """A videos.list platform whose answers take a loop turn; records how many overlap."""

    def __init__(
        self, failing_id: str = "", failure: Callable[[], httpx.Response] = lambda: _quota_403()
    ) -> None:
        self.failing_id = failing_id
        self.failure = failure
        self.in_flight = 0
        self.peak = 0
        self.sent: list[list[str]] = []

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        ids = request.url.params["id"].split(",")
        self.sent.append(ids)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0)  # a loop turn, not a wait: other calls may go out meanwhile
        self.in_flight -= 1
        if self.failing_id in ids:
            return self.failure()
        template = VIDEOS_SAMPLE["items"][0]
        items = [{**template, "id": video_id} for video_id in ids]
        return httpx.Response(200, json={**VIDEOS_SAMPLE, "items": items})


def _in_flight_connector(
    platform: _VideosInFlight, connections: int, attempts: int = 3
) -> YouTubeConnector:
    config = YouTubeConfig(
        base_url="https://youtube.test", api_key=SecretStr(KEY), max_connections=connections
    )
    return YouTubeConnector(
        config,
        transport=httpx.MockTransport(platform),
        clock=lambda: NOW,
        retry=RetryPolicy(max_attempts=attempts, sleep=Recorder(), clock=lambda: NOW),
    )


def test_the_calls_for_more_than_50_videos_are_in_flight_together() -> None:
    platform = _VideosInFlight()
    connector = _in_flight_connector(platform, connections=8)
    videos = _run(connector, lambda c: c.fetch_post_stats(_video_ids(120)))
    assert (len(videos), platform.peak) == (120, 3)


def test_a_quota_error_on_one_of_the_video_calls_is_raised_and_no_further_call_leaves() -> None:
    # Two connections: the first two calls go out together, the third waits for a free one.
    platform = _VideosInFlight(failing_id="video000000")
    connector = _in_flight_connector(platform, connections=2)
    error = _raised(connector, lambda c: c.fetch_post_stats(_video_ids(150)))
    assert isinstance(error, QuotaExhausted)
    assert [ids[0] for ids in platform.sent] == ["video000000", "video000050"]
    assert connector.stats.by_endpoint == {VIDEOS: 2}


def test_a_server_error_on_one_of_the_video_calls_is_raised_and_no_further_call_leaves() -> None:
    # Unlike a quota error, a server error leaves the budget open: only the failure stops calls.
    platform = _VideosInFlight(failing_id="video000000", failure=lambda: httpx.Response(503))
    connector = _in_flight_connector(platform, connections=2, attempts=1)
    error = _raised(connector, lambda c: c.fetch_post_stats(_video_ids(150)))
    assert isinstance(error, TransientError)
    assert [ids[0] for ids in platform.sent] == ["video000000", "video000050"]


def test_a_pass_costs_one_channels_call_per_50_accounts_and_one_feed_call_each() -> None:
    connector = YouTubeConnector(_config())
    assert connector.pass_cost(120, stats_posts=101) == {CHANNELS: 3, UPLOADS: 120, VIDEOS: 3}


# -- feeds ---------------------------------------------------------------------------------------


def test_the_feed_reads_the_uploads_playlist_without_a_channels_call(clock: FakeClock) -> None:
    world = World(clock=clock)
    channel_id = channel_id_of(world.add("youtube", "salma"))
    with _served(world, clock) as connector:
        page = _run(connector, lambda c: c.fetch_posts(AccountRef(channel_id), since=None))
    assert len(page.posts) == 12
    assert world.calls[("youtube", UPLOADS)] == 1
    assert world.calls[("youtube", CHANNELS)] + world.calls[("youtube", RESOLVE)] == 0


def test_the_feed_lists_uploads_newest_first_without_counts(clock: FakeClock) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma")
    with _served(world, clock) as connector:
        page = _run(connector, lambda c: c.fetch_posts(_ref(account), since=None))
    newest = max(account.posts, key=lambda p: p.published_at)
    assert page.posts[0].platform_post_id == video_id_of(account, newest)
    assert not any(post.has_counts for post in page.posts)


def test_without_since_the_feed_reads_one_page(clock: FakeClock) -> None:
    world = World(clock=clock, posts_per_account=120)
    account = world.add("youtube", "salma")
    with _served(world, clock) as connector:
        page = _run(connector, lambda c: c.fetch_posts(_ref(account), since=None))
    assert len(page.posts) == 50
    assert world.calls[("youtube", UPLOADS)] == 1


def test_the_feed_stops_paginating_once_older_than_since(clock: FakeClock) -> None:
    world = World(clock=clock, posts_per_account=120)
    account = world.add("youtube", "salma")
    since = clock() - timedelta(days=150)
    with _served(world, clock) as connector:
        page = _run(connector, lambda c: c.fetch_posts(_ref(account), since=since))
    assert len(page.posts) == sum(p.published_at >= since for p in account.posts) > 50
    assert world.calls[("youtube", UPLOADS)] == 2


def test_the_feed_stops_at_the_newest_upload_stored_last_time(clock: FakeClock) -> None:
    world = World(clock=clock, posts_per_account=120)
    account = world.add("youtube", "salma")
    stored = video_id_of(account, account.posts[10])
    ref = AccountRef("salma", channel_id_of(account), posts_cursor=stored)
    with _served(world, clock) as connector:
        page = _run(connector, lambda c: c.fetch_posts(ref, since=clock() - timedelta(days=365)))
    assert world.calls[("youtube", UPLOADS)] == 1
    assert page.cursor == video_id_of(account, account.posts[0])


def test_a_channel_without_uploads_has_an_empty_feed(clock: FakeClock) -> None:
    world = World(clock=clock)
    account = world.add("youtube", "salma", posts=[])
    with _served(world, clock) as connector:
        page = _run(connector, lambda c: c.fetch_posts(_ref(account), since=None))
    assert page.posts == ()


def test_private_uploads_without_a_publication_time_are_skipped() -> None:
    page = copy.deepcopy(LAST_PAGE)
    del page["items"][0]["contentDetails"]["videoPublishedAt"]
    connector, _, _ = _mocked(lambda request: httpx.Response(200, json=page))
    feed = _run(connector, lambda c: c.fetch_posts(_google_developers(), since=None))
    assert [p.platform_post_id for p in feed.posts] == ["Fu2bldybpkA", "ECGpZCFUL8s"]


def test_an_upload_dated_in_the_future_waits_until_then() -> None:
    page = copy.deepcopy(LAST_PAGE)
    page["items"][0]["contentDetails"]["videoPublishedAt"] = "2026-11-05T18:00:00Z"
    connector, _, _ = _mocked(lambda request: httpx.Response(200, json=page))
    feed = _run(connector, lambda c: c.fetch_posts(_google_developers(), since=None))
    assert "6aSG8SdvkoU" not in {p.platform_post_id for p in feed.posts}


# -- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize("settings", [{}, {"api_key": ""}, {"api_key": "   "}])
def test_the_config_requires_an_api_key(settings: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        YouTubeConfig(**settings)


def test_the_quota_reserve_must_stay_below_the_daily_quota() -> None:
    with pytest.raises(ValidationError, match="quota_reserve_units"):
        YouTubeConfig(api_key=SecretStr(KEY), daily_quota_units=500, quota_reserve_units=500)


def test_unknown_keys_in_the_platform_table_are_refused() -> None:
    with pytest.raises(ValidationError):
        YouTubeConfig(api_key=SecretStr(KEY), quota=10_000)  # type: ignore[call-arg]

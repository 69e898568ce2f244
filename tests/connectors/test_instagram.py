"""The Instagram business discovery connector: the contract, then each Graph API quirk."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from connectors.base import PlatformConfig
from connectors.budget import MetaUsage
from connectors.errors import (
    AccountNotFound,
    AuthError,
    ConfigError,
    RateLimited,
    TransientError,
)
from connectors.http import RetryPolicy
from connectors.instagram import CACHE_MAX_AGE, InstagramConfig, InstagramConnector
from connectors.records import AccountRef
from connectors.testing import NOW, ConnectorConformance, Recorder
from tests.fakeplatform.core import World
from tests.fakeplatform.instagram import expired_token_fault, throttle_fault
from tests.fakeplatform.server import FakePlatformServer

T = TypeVar("T")

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "platform-samples" / "instagram"
PROFILE_SAMPLE = json.loads((SAMPLES / "business_discovery_user_fields.json").read_text())
THROTTLE_SAMPLE = json.loads(
    (SAMPLES / "error_graph_api_4_application_request_limit.json").read_text()
)
#: The caller's own professional account id, as in the recorded sample.
OWN_ID = PROFILE_SAMPLE["id"]
TOKEN = "EAAGtest-token-9c1d"

# Media items in the shape of sns-sdks/python-facebook's recorded business discovery pages
# (testdata/instagram/apidata/discovery/medias_p1.json, medias_p2.json), media_url dropped and
# media_product_type added as the IG Media reference documents it.
MEDIA = [
    {
        "id": "17885103395504675",
        "caption": "To attract new players, the team behind state_of_survival partnered...",
        "comments_count": 11,
        "like_count": 87,
        "media_type": "IMAGE",
        "media_product_type": "FEED",
        "permalink": "https://www.instagram.com/p/CSr71Gzlqo4/",
        "timestamp": "2021-08-17T19:00:42+0000",
    },
    {
        "id": "17886271043461692",
        "caption": "Today, we are excited to announce that developers can now build...",
        "comments_count": 16,
        "like_count": 186,
        "media_type": "IMAGE",
        "media_product_type": "FEED",
        "permalink": "https://www.instagram.com/p/CSpNPqgFxE0/",
        "timestamp": "2021-08-16T17:35:10+0000",
    },
    {
        "id": "17939347456563225",
        "caption": "BathandBodyWorksArabia experienced a sharp 64% increase in messages...",
        "comments_count": 3,
        "like_count": 50,
        "media_type": "IMAGE",
        "media_product_type": "FEED",
        "permalink": "https://www.instagram.com/p/CScld93rm4W/",
        "timestamp": "2021-08-11T19:56:42+0000",
    },
    {
        "id": "18165241603086291",
        "caption": "Hosted by Facebook Reality Labs VP Andrew Bosworth, Boz to the Future...",
        "comments_count": 5,
        "like_count": 86,
        "media_type": "VIDEO",
        "media_product_type": "REELS",
        "permalink": "https://www.instagram.com/p/CSZsJf-iJLj/",
        "timestamp": "2021-08-10T16:57:42+0000",
    },
    {
        "id": "17904466498123977",
        "caption": "Three ways to grow with Reels.",
        "comments_count": 2,
        "media_type": "CAROUSEL_ALBUM",
        "media_product_type": "FEED",
        "permalink": "https://www.instagram.com/p/CSFq1mbl5Xo/",
        "timestamp": "2021-08-03T15:02:11+0000",
    },
]
# The "paginated" feed: three pages, chained by base64 cursors; the last page has none.
PAGES: dict[str | None, tuple[list[dict[str, Any]], str | None]] = {
    None: (MEDIA[0:2], "QVFIUnBhZ2Uy"),
    "QVFIUnBhZ2Uy": (MEDIA[2:4], "QVFIUnBhZ2Uz"),
    "QVFIUnBhZ2Uz": (MEDIA[4:5], None),
}

NOT_FOUND_BODY = {
    "error": {
        "message": "Invalid user id",
        "type": "OAuthException",
        "code": 110,
        "error_subcode": 2207013,
        "is_transient": False,
        "error_user_title": "Cannot find User",
        "error_user_msg": "The user with username: facebook cannot be found.",
        "fbtrace_id": "AsW0Ilq2oVd",
    }
}


def graph_error(
    status: int, code: int, headers: dict[str, str] | None = None, **extra: Any
) -> httpx.Response:
    """A Graph API error response with ``code`` and any extra ``error`` fields."""
    error = {"message": f"(#{code}) error", "type": "OAuthException", "code": code, **extra}
    error["fbtrace_id"] = "Atrace"
    return httpx.Response(status, json={"error": error}, headers=headers)


def buc_usage(call_count: int, regain_minutes: int = 0) -> dict[str, str]:
    """The documented ``X-Business-Use-Case-Usage`` header, keyed by the caller's id."""
    entry = {
        "type": "instagram",
        "call_count": call_count,
        "total_cputime": 25,
        "total_time": 25,
        "estimated_time_to_regain_access": regain_minutes,
    }
    return {"X-Business-Use-Case-Usage": json.dumps({OWN_ID: [entry]})}


def media_page(items: list[dict[str, Any]], after: str | None = None) -> dict[str, Any]:
    """``business_discovery.media`` in Graph's shape."""
    cursors = {"before": "QVFIUmJlZm9yZQ=="}
    if after is not None:
        cursors["after"] = after
    return {"data": items, "paging": {"cursors": cursors}}


def discovery(found: dict[str, Any], headers: dict[str, str] | None = None) -> httpx.Response:
    """A successful business discovery answer around ``found``."""
    return httpx.Response(200, json={"business_discovery": found, "id": OWN_ID}, headers=headers)


def profile(media: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """The recorded profile sample, with a media page and field overrides."""
    found = dict(PROFILE_SAMPLE["business_discovery"])
    found["media"] = media_page(MEDIA if media is None else media)
    found.update(fields)
    return found


def requested_fields(request: httpx.Request) -> str:
    return str(request.url.params.get("fields", ""))


def after_cursor(request: httpx.Request) -> str | None:
    match = re.search(r"media\.after\(([^)]*)\)", requested_fields(request))
    return match.group(1) if match else None


class TestInstagramConformance(ConnectorConformance):
    connector_cls = InstagramConnector
    handle = "facebook"
    expected_profile: ClassVar[dict[str, Any]] = {
        "handle": "facebook",
        "platform_id": "17841400455970028",
        "collected_at": NOW,
        "followers": 3502538,
        "following": 9,
        "posts_count": None,  # the recorded answer carries no media_count
        "display_name": "Facebook",
    }
    expected_first_post: ClassVar[dict[str, Any]] = {
        "platform_post_id": "17885103395504675",
        "published_at": datetime(2021, 8, 17, 19, 0, 42, tzinfo=UTC),
        "collected_at": NOW,
        "kind": "photo",
        "url": "https://www.instagram.com/p/CSr71Gzlqo4/",
        "likes": 87,
        "comments": 11,
        "views": None,
        "shares": None,
        "quotes": None,
        "saves": None,
        "has_counts": True,
    }
    expected_post_count = len(MEDIA)
    page_count = 3
    expected_paginated_posts = len(MEDIA)

    def config(self, base_url: str) -> PlatformConfig:
        return InstagramConfig(
            base_url=base_url, access_token=SecretStr(self.secret), ig_user_id=OWN_ID
        )

    def respond(self, request: httpx.Request, case: str) -> httpx.Response:
        if case == "not_found":
            return httpx.Response(400, json=NOT_FOUND_BODY)
        if case == "quota":
            usage = {
                "X-App-Usage": json.dumps(
                    {"call_count": 100, "total_cputime": 12, "total_time": 38}
                )
            }
            return httpx.Response(403, json=THROTTLE_SAMPLE, headers=usage)
        if case == "paginated":
            items, after = PAGES[after_cursor(request)]
            media = media_page(items, after)
        else:
            media = media_page(MEDIA)
        if "followers_count" in requested_fields(request):
            found = dict(PROFILE_SAMPLE["business_discovery"], media=media)
        else:
            found = {"id": PROFILE_SAMPLE["business_discovery"]["id"], "media": media}
        return discovery(found, buc_usage(3))

    # Overridden: the contract says since=None is one normal page, so business discovery pages
    # only as far back as `since` asks; the equivalent check gives a since older than the feed.
    def test_pagination_follows_every_page_and_ends(self) -> None:
        connector, _, seen = self.make("paginated")
        since = datetime(2020, 1, 1, tzinfo=UTC)
        page = self.run(connector.fetch_posts(self.ref(), since=since))
        assert len(page.posts) == self.expected_paginated_posts
        assert len(seen) == self.page_count


# -- the quirks, against a scripted transport ------------------------------------------------


class Graph:
    """A scripted Graph API: answers in order, and keeps every request it saw."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answers.pop(0)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def make_connector(
    graph: Graph | None = None, clock: Clock | None = None, **config: Any
) -> tuple[InstagramConnector, Recorder]:
    """A connector wired to ``graph`` whose waits are recorded, not slept."""
    clock = clock or Clock()
    waits = Recorder()
    settings = InstagramConfig(
        base_url=config.pop("base_url", "https://graph.test"),
        access_token=SecretStr(TOKEN),
        ig_user_id=OWN_ID,
        **config,
    )
    connector = InstagramConnector(
        settings,
        transport=httpx.MockTransport(graph) if graph is not None else None,
        clock=clock,
        retry=RetryPolicy(max_attempts=3, sleep=waits, clock=clock),
    )
    connector.budget.sleep = waits
    return connector, waits


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


def error_of(call: Awaitable[Any]) -> Exception:
    try:
        run(call)
    except Exception as exc:
        return exc
    raise AssertionError("no error was raised")


def test_timestamps_ending_in_plus_0000_are_parsed_as_utc() -> None:
    item = dict(MEDIA[0], timestamp="2026-10-30T08:15:00+0000")
    connector, _ = make_connector(Graph(discovery(profile([item]))))
    run(connector.fetch_profiles([AccountRef("facebook")]))
    page = run(connector.fetch_posts(AccountRef("facebook"), since=None))
    assert page.posts[0].published_at == datetime(2026, 10, 30, 8, 15, tzinfo=UTC)


def test_a_missing_like_count_is_none_not_zero() -> None:
    item = {k: v for k, v in MEDIA[0].items() if k != "like_count"}
    connector, _ = make_connector(Graph(discovery({"id": "1", "media": media_page([item])})))
    page = run(connector.fetch_posts(AccountRef("facebook"), since=None))
    assert page.posts[0].likes is None
    assert page.posts[0].comments == 11


def test_hidden_likes_reported_as_zero_beside_comments_become_none() -> None:
    item = dict(MEDIA[0], like_count=0, comments_count=4)
    connector, _ = make_connector(Graph(discovery({"id": "1", "media": media_page([item])})))
    page = run(connector.fetch_posts(AccountRef("facebook"), since=None))
    assert page.posts[0].likes is None


def test_zero_likes_and_zero_comments_stay_zero() -> None:
    item = dict(MEDIA[0], like_count=0, comments_count=0)
    connector, _ = make_connector(Graph(discovery({"id": "1", "media": media_page([item])})))
    page = run(connector.fetch_posts(AccountRef("facebook"), since=None))
    assert (page.posts[0].likes, page.posts[0].comments) == (0, 0)


def test_counts_business_discovery_does_not_publish_are_none() -> None:
    connector, _ = make_connector(Graph(discovery({"id": "1", "media": media_page(MEDIA)})))
    page = run(connector.fetch_posts(AccountRef("facebook"), since=None))
    assert {(p.views, p.shares, p.quotes, p.saves) for p in page.posts} == {(None,) * 4}


def test_missing_media_and_follows_counts_are_none() -> None:
    found = profile()
    del found["follows_count"]
    connector, _ = make_connector(Graph(discovery(found)))
    record = run(connector.fetch_profiles([AccountRef("facebook")])).profiles["facebook"]
    assert (record.following, record.posts_count) == (None, None)


@pytest.mark.parametrize(
    ("media_type", "product_type", "kind"),
    [
        ("IMAGE", "FEED", "photo"),
        ("VIDEO", "FEED", "video"),
        ("VIDEO", "REELS", "reel"),
        ("CAROUSEL_ALBUM", "FEED", "carousel"),
        ("IMAGE", "STORY", "story"),
    ],
)
def test_media_and_product_types_become_a_kind(
    media_type: str, product_type: str, kind: str
) -> None:
    item = dict(MEDIA[0], media_type=media_type, media_product_type=product_type)
    connector, _ = make_connector(Graph(discovery({"id": "1", "media": media_page([item])})))
    page = run(connector.fetch_posts(AccountRef("facebook"), since=None))
    assert page.posts[0].kind == kind


def test_the_profile_call_asks_for_profile_and_media_in_one_fields_expression() -> None:
    graph = Graph(discovery(profile()))
    connector, _ = make_connector(graph, media_page_size=12)
    run(connector.fetch_profiles([AccountRef("facebook")]))
    request = graph.requests[0]
    assert request.url.path == f"/v25.0/{OWN_ID}"
    assert requested_fields(request) == (
        "business_discovery.username(facebook){id,username,name,followers_count,follows_count,"
        "media_count,media.limit(12){id,timestamp,like_count,comments_count,media_type,"
        "media_product_type,permalink,caption}}"
    )


def test_posts_after_a_profile_cost_no_extra_call() -> None:
    graph = Graph(discovery(profile()))
    connector, _ = make_connector(graph)
    run(connector.fetch_profiles([AccountRef("facebook")]))
    page = run(connector.fetch_posts(AccountRef("facebook"), since=NOW - timedelta(days=30)))
    assert len(graph.requests) == 1
    assert page.posts == ()  # the recorded media are years old; nothing is within 30 days


def test_a_cached_page_is_served_once() -> None:
    media_only = discovery({"id": "1", "media": media_page(MEDIA)})
    graph = Graph(discovery(profile()), media_only)
    connector, _ = make_connector(graph)
    run(connector.fetch_profiles([AccountRef("facebook")]))
    run(connector.fetch_posts(AccountRef("facebook"), since=None))
    run(connector.fetch_posts(AccountRef("facebook"), since=None))
    assert len(graph.requests) == 2


def test_a_stale_cached_page_is_not_served() -> None:
    clock = Clock()
    graph = Graph(discovery(profile()), discovery({"id": "1", "media": media_page(MEDIA[:1])}))
    connector, _ = make_connector(graph, clock)
    run(connector.fetch_profiles([AccountRef("facebook")]))
    clock.now += CACHE_MAX_AGE + timedelta(seconds=1)
    page = run(connector.fetch_posts(AccountRef("facebook"), since=None))
    assert len(graph.requests) == 2
    assert page.posts[0].collected_at == clock.now


def test_an_older_page_is_asked_with_the_after_cursor() -> None:
    first = discovery(profile(MEDIA[:2]) | {"media": media_page(MEDIA[:2], "QVFIUnBhZ2Uy")})
    graph = Graph(first, discovery({"id": "1", "media": media_page(MEDIA[2:])}))
    connector, _ = make_connector(graph, media_page_size=2)
    run(connector.fetch_profiles([AccountRef("facebook")]))
    since = datetime(2021, 8, 1, tzinfo=UTC)
    page = run(connector.fetch_posts(AccountRef("facebook"), since=since))
    assert "media.after(QVFIUnBhZ2Uy).limit(2){" in requested_fields(graph.requests[1])
    assert [p.platform_post_id for p in page.posts] == [m["id"] for m in MEDIA]


def test_a_pinned_old_post_on_top_does_not_end_paging() -> None:
    pinned = dict(MEDIA[4], id="1", timestamp="2019-01-01T00:00:00+0000")
    first = media_page([pinned, MEDIA[0]], "QVFIUnBhZ2Uy")
    graph = Graph(
        discovery({"id": "1", "media": first}),
        discovery({"id": "1", "media": media_page([MEDIA[1], MEDIA[2]])}),
    )
    connector, _ = make_connector(graph)
    page = run(
        connector.fetch_posts(AccountRef("facebook"), since=datetime(2021, 8, 12, tzinfo=UTC))
    )
    assert [p.platform_post_id for p in page.posts] == [MEDIA[0]["id"], MEDIA[1]["id"]]
    assert len(graph.requests) == 2


def test_a_repeated_cursor_ends_paging() -> None:
    same = discovery({"id": "1", "media": media_page(MEDIA[:1], "QVFIUnBhZ2Uy")})
    graph = Graph(same, same, same)
    connector, _ = make_connector(graph)
    run(connector.fetch_posts(AccountRef("facebook"), since=datetime(2020, 1, 1, tzinfo=UTC)))
    assert len(graph.requests) == 2


def test_the_token_travels_in_a_bearer_header_not_the_url() -> None:
    graph = Graph(discovery(profile()))
    connector, _ = make_connector(graph)
    run(connector.fetch_profiles([AccountRef("facebook")]))
    assert graph.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(graph.requests[0].url)


def test_the_record_keeps_the_handle_the_pipeline_asked_for() -> None:
    connector, _ = make_connector(Graph(discovery(profile())))
    batch = run(connector.fetch_profiles([AccountRef("FaceBook")]))
    assert list(batch.profiles) == ["FaceBook"]


def test_a_handle_that_is_not_an_instagram_username_is_not_found_without_a_call() -> None:
    graph = Graph()
    connector, _ = make_connector(graph)
    batch = run(connector.fetch_profiles([AccountRef("evil){followers_count}")]))
    assert isinstance(batch.failures["evil){followers_count}"], AccountNotFound)
    assert graph.requests == []


def test_throttling_by_error_code_in_a_400_body_is_rate_limited_until_meta_says() -> None:
    graph = Graph(graph_error(400, 80002, buc_usage(100, regain_minutes=17), is_transient=True))
    connector, _ = make_connector(graph)
    error = error_of(connector.fetch_profiles([AccountRef("facebook")]))
    assert isinstance(error, RateLimited)
    assert error.retry_at == NOW + timedelta(minutes=17)


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80002])
def test_every_throttling_code_in_a_403_body_is_rate_limited(code: int) -> None:
    connector, _ = make_connector(Graph(graph_error(403, code)))
    error = error_of(connector.fetch_profiles([AccountRef("facebook")]))
    assert isinstance(error, RateLimited)


def test_throttling_without_a_regain_time_waits_an_hour() -> None:
    usage = {"X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 12, "total_time": 38})}
    connector, _ = make_connector(Graph(httpx.Response(400, json=THROTTLE_SAMPLE, headers=usage)))
    error = error_of(connector.fetch_profiles([AccountRef("facebook")]))
    assert isinstance(error, RateLimited)
    assert error.retry_at == NOW + timedelta(hours=1)


def test_an_expired_token_is_an_auth_error_saying_to_renew_it() -> None:
    connector, _ = make_connector(Graph(graph_error(400, 190, error_subcode=463)))
    error = error_of(connector.fetch_profiles([AccountRef("facebook")]))
    assert isinstance(error, AuthError)
    assert "renew" in str(error)


def test_a_missing_permission_is_a_config_error_naming_the_permissions() -> None:
    connector, _ = make_connector(Graph(graph_error(403, 10)))
    error = error_of(connector.fetch_profiles([AccountRef("facebook")]))
    assert isinstance(error, ConfigError)
    assert "instagram_basic" in str(error)
    assert "pages_read_engagement" in str(error)


def test_a_personal_or_unknown_account_is_not_found_and_says_why() -> None:
    connector, _ = make_connector(Graph(httpx.Response(400, json=NOT_FOUND_BODY)))
    batch = run(connector.fetch_profiles([AccountRef("facebook")]))
    failure = batch.failures["facebook"]
    assert isinstance(failure, AccountNotFound)
    assert "Business and Creator" in str(failure)


def test_code_110_without_the_not_found_subcode_blames_the_config_not_the_account() -> None:
    connector, _ = make_connector(Graph(graph_error(400, 110)))
    error = error_of(connector.fetch_profiles([AccountRef("facebook")]))
    assert isinstance(error, ConfigError)
    assert "ig_user_id" in str(error)


def test_a_temporary_graph_error_is_retried() -> None:
    graph = Graph(graph_error(500, 2, is_transient=True), discovery(profile()))
    connector, _ = make_connector(graph)
    batch = run(connector.fetch_profiles([AccountRef("facebook")]))
    assert "facebook" in batch.profiles
    assert len(graph.requests) == 2


def test_persistent_temporary_errors_end_as_transient() -> None:
    connector, _ = make_connector(Graph(*[graph_error(400, 1)] * 3))
    assert isinstance(error_of(connector.fetch_profiles([AccountRef("facebook")])), TransientError)


def test_the_token_is_never_in_an_error_even_when_meta_echoes_it() -> None:
    body = {
        "error": {
            "message": f"Malformed access token {TOKEN}",
            "type": "OAuthException",
            "code": 190,
        }
    }
    connector, _ = make_connector(Graph(httpx.Response(400, json=body)))
    error = error_of(connector.fetch_profiles([AccountRef("facebook")]))
    assert isinstance(error, AuthError)
    assert TOKEN not in str(error)


def test_high_usage_paces_the_next_call() -> None:
    graph = Graph(discovery(profile(), buc_usage(90)), discovery(profile(), buc_usage(40)))
    connector, waits = make_connector(graph)
    run(connector.fetch_profiles([AccountRef("facebook")]))
    assert waits.waits == []
    run(connector.fetch_profiles([AccountRef("facebook")]))
    assert len(waits.waits) == 1
    assert waits.waits[0] > 1.0


def test_usage_at_the_cap_stops_calls_before_they_are_made() -> None:
    graph = Graph(discovery(profile(), buc_usage(100, regain_minutes=9)))
    connector, _ = make_connector(graph)
    run(connector.fetch_profiles([AccountRef("facebook")]))
    error = error_of(connector.fetch_profiles([AccountRef("other")]))
    assert isinstance(error, RateLimited)
    assert error.retry_at == NOW + timedelta(minutes=9)
    assert len(graph.requests) == 1


def test_the_budget_reads_meta_usage_headers() -> None:
    connector, _ = make_connector(Graph())
    assert isinstance(connector.budget, MetaUsage)


def test_a_pass_costs_one_call_per_creator() -> None:
    connector, _ = make_connector(Graph())
    assert connector.pass_cost(120) == {"business_discovery": 120}


@pytest.mark.parametrize("value", ["salma.beauty", "1784 1400", "", "١٧٨٤"])
def test_ig_user_id_must_be_the_numeric_account_id(value: str) -> None:
    with pytest.raises(ValidationError, match="numeric id"):
        InstagramConfig(access_token=SecretStr("t"), ig_user_id=value)


def test_api_version_must_look_like_a_graph_version() -> None:
    with pytest.raises(ValidationError, match=r"like v25\.0"):
        InstagramConfig(access_token=SecretStr("t"), ig_user_id="1", api_version="25")


def test_an_empty_access_token_is_refused() -> None:
    with pytest.raises(ValidationError, match="access_token is empty"):
        InstagramConfig(access_token=SecretStr(" "), ig_user_id="1")


# -- against the fake platform over real HTTP ------------------------------------------------


@pytest.fixture
def world() -> World:
    return World(clock=lambda: NOW)


@pytest.fixture
def server(world: World) -> Iterator[FakePlatformServer]:
    with FakePlatformServer(world) as running:
        yield running


def against(
    server: FakePlatformServer, work: Callable[[InstagramConnector], Awaitable[T]], **config: Any
) -> T:
    """Run ``work`` with a connector pointed at the fake platform, then close it."""
    connector, _ = make_connector(base_url=server.url_for("instagram"), **config)

    async def main() -> T:
        try:
            return await work(connector)
        finally:
            await connector.aclose()

    return asyncio.run(main())


def test_fake_profile_and_recent_posts_cost_one_call(
    world: World, server: FakePlatformServer
) -> None:
    account = world.add("instagram", "salma.beauty")

    async def work(connector: InstagramConnector) -> int:
        batch = await connector.fetch_profiles([AccountRef("salma.beauty")])
        assert batch.profiles["salma.beauty"].followers == account.followers
        page = await connector.fetch_posts(
            AccountRef("salma.beauty"), since=NOW - timedelta(days=30)
        )
        return len(page.posts)

    assert against(server, work) == len(account.posts)
    assert world.calls[("instagram", "business_discovery")] == 1
    assert world.calls[("instagram", "business_discovery_media")] == 0


def test_fake_paging_reaches_back_to_since_and_ends(
    world: World, server: FakePlatformServer
) -> None:
    world.add("instagram", "salma.beauty")  # 12 posts over 23 days; 5 per page: 3 pages

    async def work(connector: InstagramConnector) -> int:
        await connector.fetch_profiles([AccountRef("salma.beauty")])
        page = await connector.fetch_posts(
            AccountRef("salma.beauty"), since=NOW - timedelta(days=30)
        )
        return len(page.posts)

    assert against(server, work, media_page_size=5) == 12
    assert world.calls[("instagram", "business_discovery_media")] == 2


def test_fake_paging_stops_once_a_page_is_older_than_since(
    world: World, server: FakePlatformServer
) -> None:
    world.add("instagram", "salma.beauty")  # posts 1, 3, 5 ... days old (plus < 12 hours)

    async def work(connector: InstagramConnector) -> int:
        page = await connector.fetch_posts(
            AccountRef("salma.beauty"), since=NOW - timedelta(days=12)
        )
        return len(page.posts)

    assert against(server, work, media_page_size=5) == 6
    assert world.calls[("instagram", "business_discovery_media")] == 2


def test_fake_unknown_account_is_reported_in_the_batch(
    world: World, server: FakePlatformServer
) -> None:
    async def work(connector: InstagramConnector) -> Exception | None:
        batch = await connector.fetch_profiles([AccountRef("nobody.here")])
        return batch.failures.get("nobody.here")

    assert isinstance(against(server, work), AccountNotFound)


def test_fake_throttling_fault_is_rate_limited(world: World, server: FakePlatformServer) -> None:
    world.add("instagram", "salma.beauty")
    world.fail(throttle_fault(OWN_ID, code=4, status=403, regain_minutes=30))

    async def work(connector: InstagramConnector) -> Exception:
        try:
            await connector.fetch_profiles([AccountRef("salma.beauty")])
        except RateLimited as exc:
            return exc
        raise AssertionError("not rate limited")

    error = against(server, work)
    assert isinstance(error, RateLimited)
    assert error.retry_at == NOW + timedelta(minutes=30)


def test_fake_expired_token_fault_is_an_auth_error(
    world: World, server: FakePlatformServer
) -> None:
    world.add("instagram", "salma.beauty")
    world.fail(expired_token_fault())

    async def work(connector: InstagramConnector) -> Exception:
        try:
            await connector.fetch_profiles([AccountRef("salma.beauty")])
        except AuthError as exc:
            return exc
        raise AssertionError("no auth error")

    assert isinstance(against(server, work), AuthError)

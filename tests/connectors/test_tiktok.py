"""The TikTok Research API connector: conformance, client token, daily quota, video queries.

No recorded TikTok responses exist in ``shared/platform-samples``: the bodies below are built
from the documented shapes on TikTok for Developers, cited where each is defined. The messages for
unknown and private users are assumptions (see the connector's docstring).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar
from urllib.parse import parse_qs

import httpx
import pytest

from connectors.base import PlatformConfig
from connectors.budget import DailyUnits
from connectors.errors import (
    AccountNotFound,
    AccountPrivate,
    AuthError,
    ConfigError,
    PayloadChanged,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from connectors.http import RetryPolicy
from connectors.records import AccountRef
from connectors.testing import NOW, ConnectorConformance, Recorder
from connectors.tiktok import TikTokConfig, TikTokConnector
from tests.conftest import FakeClock
from tests.fakeplatform import tiktok as fake_tiktok
from tests.fakeplatform.core import FakePost, Fault, World
from tests.fakeplatform.server import FakePlatformServer

HANDLE = "joe123456"
KEY = "client-key-4d1e"
SECRET = "client-secret-99ab"


def _epoch(year: int, month: int, day: int, hour: int, minute: int) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


# https://developers.tiktok.com/doc/client-access-token-management ("Response struct").
TOKEN = "clt.example12345Example12345Example"
TOKEN_ANSWER = {"access_token": TOKEN, "expires_in": 7200, "token_type": "Bearer"}

# https://developers.tiktok.com/doc/research-api-specs-query-user-info (response "Example").
USER_INFO_ANSWER = {
    "data": {
        "bio_description": "my_bio",
        "is_verified": False,
        "likes_count": 27155089,
        "video_count": 44,
        "avatar_url": "https://some_cdn.com/my_avatar",
        "follower_count": 232,
        "following_count": 45,
        "display_name": "my nick name",
    },
    "error": {"code": "ok", "message": "", "log_id": "202207280326050102231031430C7E754E"},
}

# https://developers.tiktok.com/doc/research-api-specs-query-videos (Video Object fields; the
# example's values, dated inside the conformance window and with every requested field).
VIDEO_1 = {
    "id": 7432011204553117995,
    "create_time": _epoch(2026, 11, 1, 18, 30),
    "username": HANDLE,
    "region_code": "CA",
    "video_description": "lol #pov #avengers",
    "like_count": 120,
    "comment_count": 2,
    "share_count": 3,
    "view_count": 1050,
    "favorites_count": 7,
}
VIDEO_2 = {
    "id": 7430522873419007238,
    "create_time": _epoch(2026, 10, 28, 9, 0),
    "username": HANDLE,
    "region_code": "CA",
    "video_description": "behind the scenes",
    "like_count": 80,
    "comment_count": 4,
    "share_count": 1,
    "view_count": 900,
    "favorites_count": 2,
}
# "username EQ" matches approximately: another creator's video can come back.
VIDEO_OF_A_LOOKALIKE = {**VIDEO_2, "id": 7429900000000000001, "username": "joe1234567"}
# A video without favorites_count: TikTok did not send the count, so it is unknown.
VIDEO_3 = {
    "id": 7427420149883457798,
    "create_time": _epoch(2026, 10, 20, 21, 15),
    "username": HANDLE,
    "region_code": "CA",
    "video_description": "first one",
    "like_count": 50,
    "comment_count": 0,
    "share_count": 0,
    "view_count": 610,
}
SEARCH_ID = "7201388525814961198"


def _ok(data: Any) -> dict[str, Any]:
    return {"data": data, "error": {"code": "ok", "message": "", "log_id": "20261102120000OK"}}


def _error_body(code: str, message: str) -> dict[str, Any]:
    # https://developers.tiktok.com/doc/tiktok-api-v2-error-handling (codes and statuses).
    return {"data": {}, "error": {"code": code, "message": message, "log_id": "20261102ERR"}}


RATE_LIMITED = _error_body(
    "rate_limit_exceeded", "The API rate limit was exceeded. Please try again later."
)
TOKEN_INVALID = _error_body(
    "access_token_invalid", "The access token is invalid or not found in the request."
)


def _videos_page(videos: list[dict[str, Any]], *, cursor: int, has_more: bool) -> dict[str, Any]:
    return _ok({"videos": videos, "cursor": cursor, "has_more": has_more, "search_id": SEARCH_ID})


def _path(request: httpx.Request) -> str:
    return request.url.path


class TestTikTokConformance(ConnectorConformance):
    connector_cls = TikTokConnector
    handle = HANDLE
    expected_profile: ClassVar[dict[str, Any]] = {
        "handle": HANDLE,
        "platform_id": HANDLE,
        "collected_at": NOW,
        "followers": 232,
        "following": 45,
        "posts_count": 44,
        "followers_rounded": False,
        "followers_hidden": False,
        "display_name": "my nick name",
    }
    expected_first_post: ClassVar[dict[str, Any]] = {
        "platform_post_id": "7432011204553117995",
        "published_at": datetime(2026, 11, 1, 18, 30, tzinfo=UTC),
        "collected_at": NOW,
        "kind": "video",
        "url": "https://www.tiktok.com/@joe123456/video/7432011204553117995",
        "caption": "lol #pov #avengers",
        "views": 1050,
        "likes": 120,
        "comments": 2,
        "shares": 3,
        "quotes": None,
        "saves": 7,
        "has_counts": True,
    }
    expected_post_count = 3
    page_count = 2
    expected_paginated_posts = 3

    def config(self, base_url: str) -> PlatformConfig:
        return TikTokConfig(
            base_url=base_url,
            enabled=True,
            client_key=self.secret,
            client_secret=self.secret,
        )

    def respond(self, request: httpx.Request, case: str) -> httpx.Response:
        path = _path(request)
        if path.endswith("/v2/oauth/token/"):
            return httpx.Response(200, json=TOKEN_ANSWER)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json=TOKEN_INVALID)
        if case == "quota":
            return httpx.Response(429, json=RATE_LIMITED)
        body = json.loads(request.content)
        if path.endswith("/v2/research/user/info/"):
            if case == "not_found":
                message = f"User {body['username']} does not exist"
                return httpx.Response(400, json=_error_body("invalid_params", message))
            return httpx.Response(200, json=USER_INFO_ANSWER)
        if path.endswith("/v2/research/video/query/"):
            if case == "not_found":
                return httpx.Response(200, json=_videos_page([], cursor=0, has_more=False))
            if case == "paginated":
                if body.get("search_id") == SEARCH_ID and body.get("cursor") == 2:
                    return httpx.Response(
                        200, json=_videos_page([VIDEO_3], cursor=3, has_more=False)
                    )
                return httpx.Response(
                    200, json=_videos_page([VIDEO_1, VIDEO_2], cursor=2, has_more=True)
                )
            videos = [VIDEO_1, VIDEO_OF_A_LOOKALIKE, VIDEO_2, VIDEO_3]
            return httpx.Response(200, json=_videos_page(videos, cursor=4, has_more=False))
        return httpx.Response(404, json=_error_body("invalid_params", "unknown endpoint"))

    def _profile_calls_for_one_batch(self) -> int:
        """The client-token request precedes the first research call."""
        return 2

    def test_quota_exhaustion_is_not_retried(self) -> None:
        # Overridden because TikTok needs a client token before any research call, so a first
        # pass always makes two requests; what matters is that the research call that met the
        # spent quota is sent once and the quota error is not retried.
        connector, _, seen = self.make("quota")
        with pytest.raises(QuotaExhausted):
            self.run(connector.fetch_profiles([self.ref()]))
        research = [r for r in seen if "/research/" in _path(r)]
        assert len(research) == 1
        assert len(seen) == 2


# -- a scripted TikTok behind MockTransport, for the behaviours the suite does not cover ----------


class ScriptedTikTok:
    """Issues tokens, answers research calls in the documented shapes, records every request.

    ``replies`` holds responses served instead of the normal answer, per endpoint suffix
    (``"oauth/token/"``, ``"user/info/"``, ``"video/query/"``); research replies are served only
    to requests that pass the token check.
    """

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.tokens: list[str] = []
        self.revoked: set[str] = set()
        self.replies: dict[str, list[httpx.Response]] = {}
        self.videos: list[dict[str, Any]] = [VIDEO_1, VIDEO_2, VIDEO_3]
        self.page_size = 100

    def reply(self, endpoint: str, *responses: httpx.Response) -> None:
        """Serve ``responses`` to the next calls of ``endpoint``."""
        self.replies.setdefault(endpoint, []).extend(responses)

    def calls(self, endpoint: str) -> int:
        """How many requests reached ``endpoint``."""
        return sum(1 for r in self.requests if _path(r).endswith(endpoint))

    def bodies(self, endpoint: str) -> list[dict[str, Any]]:
        """The JSON bodies sent to ``endpoint``."""
        return [json.loads(r.content) for r in self.requests if _path(r).endswith(endpoint)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = _path(request)
        if path.endswith("/v2/oauth/token/"):
            if self.replies.get("oauth/token/"):
                return self.replies["oauth/token/"].pop(0)
            token = f"clt.issued{len(self.tokens) + 1}"
            self.tokens.append(token)
            return httpx.Response(200, json={**TOKEN_ANSWER, "access_token": token})
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self.tokens or token in self.revoked:
            return httpx.Response(401, json=TOKEN_INVALID)
        for endpoint, queued in self.replies.items():
            if path.endswith(endpoint) and queued:
                return queued.pop(0)
        if path.endswith("/v2/research/user/info/"):
            return httpx.Response(200, json=USER_INFO_ANSWER)
        body = json.loads(request.content)
        cursor = body.get("cursor", 0)
        page = self.videos[cursor : cursor + self.page_size]
        more = cursor + len(page) < len(self.videos)
        return httpx.Response(
            200, json=_videos_page(page, cursor=cursor + len(page), has_more=more)
        )


@pytest.fixture
def platform() -> ScriptedTikTok:
    return ScriptedTikTok()


Make = Callable[..., TikTokConnector]


@pytest.fixture
def make(platform: ScriptedTikTok, clock: FakeClock) -> Make:
    """Build a connector wired to the scripted platform; keyword arguments go to the config."""

    def build(**settings: Any) -> TikTokConnector:
        config = TikTokConfig(
            enabled=True,
            client_key=KEY,
            client_secret=SECRET,
            base_url="https://open.tiktokapis.test",
            **settings,
        )
        sleeps = Recorder()
        connector = TikTokConnector(
            config,
            transport=httpx.MockTransport(platform),
            clock=clock,
            retry=RetryPolicy(max_attempts=3, sleep=sleeps, clock=clock),
        )
        connector.budget.sleep = sleeps
        return connector

    return build


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def profile_of(connector: TikTokConnector, handle: str = HANDLE) -> Any:
    return run(connector.fetch_profiles([AccountRef(handle)]))


def posts_of(connector: TikTokConnector, since: datetime | None = None) -> Any:
    return run(connector.fetch_posts(AccountRef(HANDLE, HANDLE), since=since))


def raised_by(call: Callable[[], Any]) -> Exception:
    """The exception ``call`` raises; each test then checks its class."""
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("nothing was raised")


# -- configuration ------------------------------------------------------------------------------


def test_tiktok_is_disabled_by_default() -> None:
    assert TikTokConfig().enabled is False


def test_enabling_without_credentials_is_refused() -> None:
    with pytest.raises(ValueError, match="client_key and client_secret must be set"):
        TikTokConfig(enabled=True)


def test_max_count_above_the_api_limit_of_100_is_refused() -> None:
    with pytest.raises(ValueError, match="max_count"):
        TikTokConfig(max_count=101)


def test_a_video_window_above_30_days_is_refused() -> None:
    with pytest.raises(ValueError, match="video_window_days"):
        TikTokConfig(video_window_days=31)


def test_a_reserve_that_leaves_no_call_is_refused() -> None:
    with pytest.raises(ValueError, match="request_reserve"):
        TikTokConfig(daily_request_limit=20, request_reserve=20)


def test_pass_cost_is_a_user_info_and_a_video_query_per_account_plus_one_token() -> None:
    connector = TikTokConnector(TikTokConfig())
    assert connector.pass_cost(40) == {"oauth/token": 1, "user/info": 40, "video/query": 40}


def test_the_token_costs_no_quota_units_in_the_plan() -> None:
    assert TikTokConnector.units_per_call == {"oauth/token": 0}


def test_the_plan_capacity_is_the_daily_limit_minus_the_reserve() -> None:
    connector = TikTokConnector(TikTokConfig(daily_request_limit=1000, request_reserve=20))
    assert connector.budget.capacity_per_day() == 980


# -- the client token ---------------------------------------------------------------------------


def test_the_token_request_is_form_encoded_with_the_client_credentials(
    make: Make, platform: ScriptedTikTok
) -> None:
    profile_of(make())
    request = platform.requests[0]
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(request.content.decode()) == {
        "client_key": [KEY],
        "client_secret": [SECRET],
        "grant_type": ["client_credentials"],
    }


def test_the_secret_is_never_sent_in_a_url(make: Make, platform: ScriptedTikTok) -> None:
    profile_of(make())
    posts_of(make())
    assert all(SECRET not in str(r.url) and KEY not in str(r.url) for r in platform.requests)


def test_research_calls_send_the_token_as_a_bearer_header(
    make: Make, platform: ScriptedTikTok
) -> None:
    profile_of(make())
    research = platform.requests[1]
    assert research.headers["Authorization"] == "Bearer clt.issued1"
    assert "clt.issued1" not in str(research.url)


def test_the_token_is_fetched_once_and_reused_across_calls(
    make: Make, platform: ScriptedTikTok
) -> None:
    connector = make()
    for _ in range(3):
        profile_of(connector)
        posts_of(connector)
    assert platform.calls("oauth/token/") == 1


def test_the_token_is_refreshed_a_few_minutes_before_it_expires(
    make: Make, platform: ScriptedTikTok, clock: FakeClock
) -> None:
    connector = make()
    profile_of(connector)
    clock.advance(timedelta(seconds=7200) - timedelta(minutes=4))
    profile_of(connector)
    assert platform.calls("oauth/token/") == 2
    assert platform.requests[-1].headers["Authorization"] == "Bearer clt.issued2"


def test_the_token_is_kept_while_it_is_far_from_expiry(
    make: Make, platform: ScriptedTikTok, clock: FakeClock
) -> None:
    connector = make()
    profile_of(connector)
    clock.advance(timedelta(hours=1, minutes=50))
    profile_of(connector)
    assert platform.calls("oauth/token/") == 1


def test_a_401_access_token_invalid_fetches_a_new_token_once_and_retries(
    make: Make, platform: ScriptedTikTok
) -> None:
    connector = make()
    profile_of(connector)
    platform.revoked.add("clt.issued1")
    batch = profile_of(connector)
    assert batch.profiles[HANDLE].followers == 232
    assert platform.calls("oauth/token/") == 2
    assert platform.calls("user/info/") == 3


def test_a_fresh_token_refused_again_pauses_the_platform(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.reply("user/info/", *[httpx.Response(401, json=TOKEN_INVALID)] * 2)
    error = raised_by(lambda: profile_of(make()))
    assert isinstance(error, AuthError)
    assert platform.calls("oauth/token/") == 2


def test_refused_client_credentials_pause_the_platform(
    make: Make, platform: ScriptedTikTok
) -> None:
    # https://developers.tiktok.com/doc/oauth-error-handling (OAuth error struct).
    refusal = {
        "error": "invalid_client",
        "error_description": "Client key or secret is incorrect.",
        "log_id": "202611021200001",
    }
    platform.reply("oauth/token/", httpx.Response(401, json=refusal))
    error = raised_by(lambda: profile_of(make()))
    assert isinstance(error, AuthError)
    assert "invalid_client" in str(error)


def test_an_oauth_error_in_a_200_token_answer_is_refused_not_used(
    make: Make, platform: ScriptedTikTok
) -> None:
    refusal = {"error": "invalid_client", "error_description": "bad", "log_id": "1"}
    platform.reply("oauth/token/", httpx.Response(200, json=refusal))
    assert isinstance(raised_by(lambda: profile_of(make())), AuthError)


def test_the_token_request_is_counted_as_a_call_but_spends_no_quota(make: Make) -> None:
    connector = make()
    profile_of(connector)
    assert connector.stats.by_endpoint == {"oauth/token": 1, "user/info": 1}
    assert connector.stats.quota_units == 1
    assert isinstance(connector.budget, DailyUnits)
    assert connector.budget.used == 1


def test_missing_credentials_are_an_auth_error_before_any_request(
    platform: ScriptedTikTok, clock: FakeClock
) -> None:
    connector = TikTokConnector(
        TikTokConfig(), transport=httpx.MockTransport(platform), clock=clock
    )
    assert isinstance(raised_by(lambda: profile_of(connector)), AuthError)
    assert platform.requests == []


# -- secrets ------------------------------------------------------------------------------------


def test_credentials_echoed_by_the_token_endpoint_never_reach_the_error(
    make: Make, platform: ScriptedTikTok
) -> None:
    echo = {
        "error": "invalid_client",
        "error_description": f"unknown client {KEY} with secret {SECRET}",
        "log_id": "1",
    }
    platform.reply("oauth/token/", httpx.Response(400, json=echo))
    message = str(raised_by(lambda: profile_of(make())))
    assert KEY not in message
    assert SECRET not in message


def test_a_token_answer_of_an_unknown_shape_keeps_no_token_in_its_raw_body(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.reply("oauth/token/", httpx.Response(200, json={"data": TOKEN_ANSWER}))
    error = raised_by(lambda: profile_of(make()))
    assert isinstance(error, PayloadChanged)
    assert TOKEN.encode() not in error.raw_body


def test_the_token_never_appears_in_research_errors(make: Make, platform: ScriptedTikTok) -> None:
    connector = make()
    profile_of(connector)
    echo = _error_body("invalid_params", "bad request with token clt.issued1")
    platform.reply("video/query/", httpx.Response(400, json=echo))
    message = str(raised_by(lambda: posts_of(connector)))
    assert "clt.issued1" not in message


# -- quota --------------------------------------------------------------------------------------


def test_the_daily_limit_is_enforced_by_the_budget_without_a_request(
    make: Make, platform: ScriptedTikTok
) -> None:
    connector = make()
    profile_of(connector)
    assert isinstance(connector.budget, DailyUnits)
    connector.budget.seed(980, connector.budget.period_start())
    sent = len(platform.requests)
    error = raised_by(lambda: posts_of(connector))
    assert isinstance(error, QuotaExhausted)
    assert error.reset_at == datetime(2026, 11, 3, tzinfo=UTC)
    assert len(platform.requests) == sent


def test_a_spent_quota_does_not_even_fetch_a_token(make: Make, platform: ScriptedTikTok) -> None:
    connector = make()
    assert isinstance(connector.budget, DailyUnits)
    connector.budget.exhausted()
    assert isinstance(raised_by(lambda: profile_of(connector)), QuotaExhausted)
    assert platform.requests == []


def test_the_budget_keeps_the_reserve_unspent(make: Make) -> None:
    connector = make(daily_request_limit=5, request_reserve=2)
    profile_of(connector)
    profile_of(connector)
    profile_of(connector)
    assert isinstance(raised_by(lambda: profile_of(connector)), QuotaExhausted)


def test_a_429_rate_limit_exceeded_is_quota_exhausted_until_the_next_utc_midnight(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.reply("user/info/", httpx.Response(429, json=RATE_LIMITED))
    error = raised_by(lambda: profile_of(make()))
    assert isinstance(error, QuotaExhausted)
    assert error.reset_at == datetime(2026, 11, 3, tzinfo=UTC)


def test_after_a_429_quota_error_the_budget_refuses_every_call_until_the_reset(
    make: Make, platform: ScriptedTikTok, clock: FakeClock
) -> None:
    connector = make()
    platform.reply("user/info/", httpx.Response(429, json=RATE_LIMITED))
    raised_by(lambda: profile_of(connector))
    sent = len(platform.requests)
    assert isinstance(raised_by(lambda: posts_of(connector)), QuotaExhausted)
    assert len(platform.requests) == sent
    clock.advance(timedelta(hours=12))
    assert posts_of(connector).posts


def test_a_429_with_retry_after_is_a_short_wait_not_the_daily_cap(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.reply(
        "user/info/", httpx.Response(429, json=RATE_LIMITED, headers={"Retry-After": "5"})
    )
    batch = profile_of(make())
    assert batch.profiles[HANDLE].followers == 232


# -- profiles -----------------------------------------------------------------------------------


def test_the_user_info_request_asks_for_the_documented_fields_and_username(
    make: Make, platform: ScriptedTikTok
) -> None:
    profile_of(make(), handle="@Joe123456")
    request = platform.requests[1]
    assert request.url.params["fields"] == (
        "display_name,bio_description,avatar_url,is_verified,"
        "follower_count,following_count,likes_count,video_count"
    )
    assert json.loads(request.content) == {"username": HANDLE}


def test_the_record_keeps_the_handle_asked_and_the_lowercase_username_as_id(make: Make) -> None:
    batch = profile_of(make(), handle="Joe123456")
    record = batch.profiles["Joe123456"]
    assert (record.handle, record.platform_id) == ("Joe123456", HANDLE)


def test_a_private_account_is_reported_as_private(make: Make, platform: ScriptedTikTok) -> None:
    body = _error_body("invalid_params", f"User {HANDLE} is private")
    platform.reply("user/info/", httpx.Response(400, json=body))
    batch = profile_of(make())
    assert isinstance(batch.failures[HANDLE], AccountPrivate)
    assert batch.failures[HANDLE].handle == HANDLE


def test_empty_user_data_is_an_unknown_account(make: Make, platform: ScriptedTikTok) -> None:
    platform.reply("user/info/", httpx.Response(200, json=_ok({})))
    batch = profile_of(make())
    assert isinstance(batch.failures[HANDLE], AccountNotFound)


def test_an_invalid_fields_error_is_our_request_not_an_unknown_account(
    make: Make, platform: ScriptedTikTok
) -> None:
    body = _error_body("invalid_params", "Invalid fields: follower_count")
    platform.reply("user/info/", httpx.Response(400, json=body))
    assert isinstance(raised_by(lambda: profile_of(make())), ConfigError)


def test_a_404_is_a_wrong_base_url_not_an_unknown_account(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.reply("user/info/", httpx.Response(404, text="Not Found"))
    assert isinstance(raised_by(lambda: profile_of(make())), ConfigError)


def test_an_unapproved_client_pauses_the_platform(make: Make, platform: ScriptedTikTok) -> None:
    body = _error_body("scope_not_authorized", "The user did not authorize the scope required.")
    platform.reply("user/info/", httpx.Response(401, json=body))
    assert isinstance(raised_by(lambda: profile_of(make())), AuthError)


def test_an_error_envelope_on_a_200_is_not_taken_for_data(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.reply("user/info/", httpx.Response(200, json=RATE_LIMITED))
    assert isinstance(raised_by(lambda: profile_of(make())), QuotaExhausted)


def test_user_info_without_its_envelope_raises_payload_changed(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.reply("user/info/", httpx.Response(200, json={"follower_count": 5}))
    assert isinstance(raised_by(lambda: profile_of(make())), PayloadChanged)


def test_user_info_without_follower_count_raises_payload_changed(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.reply("user/info/", httpx.Response(200, json=_ok({"display_name": "x"})))
    assert isinstance(raised_by(lambda: profile_of(make())), PayloadChanged)


@pytest.mark.parametrize("status", [500, 200])
def test_an_internal_error_is_retried_whatever_the_status(
    make: Make, platform: ScriptedTikTok, status: int
) -> None:
    body = _error_body("internal_error", "Something went wrong.")
    platform.reply("user/info/", httpx.Response(status, json=body))
    assert profile_of(make()).profiles[HANDLE].followers == 232
    assert platform.calls("user/info/") == 2


# -- videos -------------------------------------------------------------------------------------


def test_the_video_query_asks_for_the_creators_username_and_documented_fields(
    make: Make, platform: ScriptedTikTok
) -> None:
    posts_of(make(max_count=50), since=NOW - timedelta(days=3))
    request = platform.requests[-1]
    assert request.url.params["fields"] == (
        "id,create_time,username,region_code,video_description,"
        "like_count,comment_count,share_count,view_count,favorites_count"
    )
    assert json.loads(request.content) == {
        "query": {"and": [{"operation": "EQ", "field_name": "username", "field_values": [HANDLE]}]},
        "start_date": "20261030",
        "end_date": "20261102",
        "max_count": 50,
    }


def test_the_date_window_never_exceeds_the_maximum(make: Make, platform: ScriptedTikTok) -> None:
    posts_of(make(), since=NOW - timedelta(days=400))
    body = platform.bodies("video/query/")[0]
    start = datetime.strptime(body["start_date"], "%Y%m%d")
    end = datetime.strptime(body["end_date"], "%Y%m%d")
    assert end - start == timedelta(days=29)  # 30 calendar days, both ends inclusive


def test_the_window_without_since_covers_the_configured_days(make: Make) -> None:
    start, end = make(video_window_days=7).query_window(None)
    assert (start.isoformat(), end.isoformat()) == ("2026-10-27", "2026-11-02")


def test_the_window_uses_utc_dates(make: Make) -> None:
    # 00:30 on 1 November in UTC+1 is still 31 October in UTC, the API's calendar.
    since = datetime(2026, 11, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    start, _ = make().query_window(since)
    assert start.isoformat() == "2026-10-31"


def test_create_time_epoch_seconds_is_parsed_as_utc(make: Make) -> None:
    newest = posts_of(make()).posts[0]
    assert newest.published_at == datetime(2026, 11, 1, 18, 30, tzinfo=UTC)
    assert newest.published_at.tzinfo is UTC


def test_a_video_id_beyond_float_precision_is_kept_exactly(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.videos = [{**VIDEO_1, "id": 7432011204553117997}]
    assert posts_of(make()).posts[0].platform_post_id == "7432011204553117997"


def test_the_documented_video_id_key_is_read_too(make: Make, platform: ScriptedTikTok) -> None:
    # The Query Videos response example names the id "video_id".
    video = {k: v for k, v in VIDEO_1.items() if k != "id"} | {"video_id": VIDEO_1["id"]}
    platform.videos = [video]
    assert posts_of(make()).posts[0].platform_post_id == str(VIDEO_1["id"])


def test_videos_of_a_lookalike_username_are_not_the_creators_posts(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.videos = [VIDEO_1, VIDEO_OF_A_LOOKALIKE]
    ids = [p.platform_post_id for p in posts_of(make()).posts]
    assert ids == [str(VIDEO_1["id"])]


def test_counts_a_video_lacks_are_unknown_not_zero(make: Make, platform: ScriptedTikTok) -> None:
    platform.videos = [{k: v for k, v in VIDEO_3.items() if k != "view_count"}]
    post = posts_of(make()).posts[0]
    assert (post.views, post.saves, post.quotes) == (None, None, None)
    assert post.comments == 0


def test_video_query_pagination_sends_cursor_and_search_id_and_ends(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.page_size = 2
    page = posts_of(make(), since=NOW - timedelta(days=30))
    bodies = platform.bodies("video/query/")
    assert len(page.posts) == 3
    assert [(b.get("cursor"), b.get("search_id")) for b in bodies] == [
        (None, None),
        (2, SEARCH_ID),
    ]


def test_without_since_one_page_is_fetched(make: Make, platform: ScriptedTikTok) -> None:
    platform.page_size = 2
    assert len(posts_of(make()).posts) == 2
    assert platform.calls("video/query/") == 1


def test_pagination_stops_once_the_videos_are_older_than_since(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.page_size = 1
    page = posts_of(make(), since=datetime(2026, 10, 30, tzinfo=UTC))
    assert [p.platform_post_id for p in page.posts] == [str(VIDEO_1["id"])]
    assert platform.calls("video/query/") == 2


def test_a_cursor_that_does_not_advance_raises_payload_changed(
    make: Make, platform: ScriptedTikTok
) -> None:
    stuck = _videos_page([VIDEO_1], cursor=0, has_more=True)
    platform.reply("video/query/", httpx.Response(200, json=stuck))
    error = raised_by(lambda: posts_of(make(), since=NOW - timedelta(days=30)))
    assert isinstance(error, PayloadChanged)


def test_an_expired_search_id_is_retried_as_transient(make: Make, platform: ScriptedTikTok) -> None:
    # The message quoted by researchers for a stale search_id.
    stale = _error_body("invalid_params", f"Search Id {SEARCH_ID} is invalid or expired")
    platform.reply("video/query/", *[httpx.Response(400, json=stale)] * 3)
    assert isinstance(raised_by(lambda: posts_of(make())), TransientError)


def test_a_video_without_create_time_raises_payload_changed(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.videos = [{k: v for k, v in VIDEO_1.items() if k != "create_time"}]
    assert isinstance(raised_by(lambda: posts_of(make())), PayloadChanged)


# -- over real loopback HTTP, against the fake TikTok -------------------------------------------


@pytest.fixture
def world(clock: FakeClock) -> World:
    world = World(clock=clock, posts_per_account=6)
    for handle in ("salma.beauty", "casakitchen", "atlas.trails"):
        world.add("tiktok", handle)
    return world


@pytest.fixture
def server(world: World) -> Iterator[FakePlatformServer]:
    with FakePlatformServer(world) as server:
        yield server


def loopback(server: FakePlatformServer, clock: FakeClock, **settings: Any) -> TikTokConnector:
    config = TikTokConfig(
        enabled=True,
        client_key=KEY,
        client_secret=SECRET,
        base_url=server.url_for("tiktok"),
        **settings,
    )
    sleeps = Recorder()
    return TikTokConnector(
        config, clock=clock, retry=RetryPolicy(max_attempts=3, sleep=sleeps, clock=clock)
    )


async def one_pass(connector: TikTokConnector, handles: list[str], since: datetime) -> list[Any]:
    results: list[Any] = []
    try:
        for handle in handles:
            results.append(await connector.fetch_profiles([AccountRef(handle)]))
            results.append(await connector.fetch_posts(AccountRef(handle, handle), since=since))
    finally:
        await connector.aclose()
    return results


def test_three_accounts_cost_one_token_three_user_infos_and_three_video_queries(
    server: FakePlatformServer, world: World, clock: FakeClock
) -> None:
    connector = loopback(server, clock)
    handles = ["salma.beauty", "casakitchen", "atlas.trails"]
    run(one_pass(connector, handles, clock() - timedelta(days=30)))
    assert world.calls == {
        ("tiktok", "oauth/token"): 1,
        ("tiktok", "user/info"): 3,
        ("tiktok", "video/query"): 3,
    }
    assert connector.stats.by_endpoint == {"oauth/token": 1, "user/info": 3, "video/query": 3}


def test_a_loopback_pass_returns_the_worlds_counts_and_videos(
    server: FakePlatformServer, world: World, clock: FakeClock
) -> None:
    account = world.get("tiktok", "casakitchen")
    assert account is not None
    profile, page = run(
        one_pass(loopback(server, clock), ["casakitchen"], clock() - timedelta(days=30))
    )
    assert profile.profiles["casakitchen"].followers == account.followers
    assert [p.platform_post_id for p in page.posts] == [p.id for p in account.posts]


def test_reposts_served_under_a_lookalike_username_are_left_out(
    server: FakePlatformServer, world: World, clock: FakeClock
) -> None:
    account = world.get("tiktok", "casakitchen")
    assert account is not None
    account.posts.insert(
        0,
        FakePost(
            id="7432000000000000001",
            published_at=clock() - timedelta(hours=3),
            repost_of="7000000000000000000",
        ),
    )
    _, page = run(one_pass(loopback(server, clock), ["casakitchen"], clock() - timedelta(days=30)))
    assert "7432000000000000001" not in [p.platform_post_id for p in page.posts]


def test_concurrent_calls_share_one_token_request(
    server: FakePlatformServer, world: World, clock: FakeClock
) -> None:
    # The pipeline fetches several accounts' posts at once; they must not each fetch a token.
    connector = loopback(server, clock)

    async def three_at_once() -> None:
        try:
            await asyncio.gather(
                *(connector.fetch_profiles([AccountRef(h)]) for h in ("casakitchen",) * 3)
            )
        finally:
            await connector.aclose()

    run(three_at_once())
    assert world.calls[("tiktok", "oauth/token")] == 1


def test_a_revoked_token_is_replaced_over_loopback(
    server: FakePlatformServer, world: World, clock: FakeClock
) -> None:
    connector = loopback(server, clock)

    async def revoke_between_calls() -> Any:
        await connector.fetch_profiles([AccountRef("casakitchen")])
        fake_tiktok.state(world).revoke_tokens()
        try:
            return await connector.fetch_profiles([AccountRef("casakitchen")])
        finally:
            await connector.aclose()

    batch = run(revoke_between_calls())
    assert "casakitchen" in batch.profiles
    assert world.calls[("tiktok", "oauth/token")] == 2


def test_a_spent_quota_fault_over_loopback_is_quota_exhausted(
    server: FakePlatformServer, world: World, clock: FakeClock
) -> None:
    world.fail(
        Fault(platform="tiktok", endpoint="user/info", status=429, body=fake_tiktok.RATE_LIMIT_BODY)
    )
    error = raised_by(lambda: run(one_pass(loopback(server, clock), ["casakitchen"], clock())))
    assert isinstance(error, QuotaExhausted)
    assert world.calls[("tiktok", "user/info")] == 1


def test_the_fake_refuses_a_window_over_30_days_as_the_api_does(
    server: FakePlatformServer, world: World, clock: FakeClock
) -> None:
    # Guards the fake itself: a connector bug widening the window must fail loudly here.
    async def too_wide() -> httpx.Response:
        async with httpx.AsyncClient(base_url=server.url_for("tiktok")) as client:
            token = (
                await client.post(
                    "/v2/oauth/token/",
                    data={
                        "client_key": KEY,
                        "client_secret": SECRET,
                        "grant_type": "client_credentials",
                    },
                )
            ).json()["access_token"]
            return await client.post(
                "/v2/research/video/query/",
                params={"fields": "id"},
                headers={"Authorization": f"Bearer {token}"},
                json={
                    "query": {
                        "and": [
                            {
                                "operation": "EQ",
                                "field_name": "username",
                                "field_values": ["casakitchen"],
                            }
                        ]
                    },
                    "start_date": "20261001",
                    "end_date": "20261102",
                },
            )

    response = run(too_wide())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_params"


def test_the_fake_spends_its_daily_quota_then_answers_429(
    server: FakePlatformServer, world: World, clock: FakeClock
) -> None:
    fake_tiktok.state(world).daily_limit = 2
    connector = loopback(server, clock)
    error = raised_by(
        lambda: run(
            one_pass(connector, ["casakitchen", "salma.beauty"], clock() - timedelta(days=1))
        )
    )
    assert isinstance(error, QuotaExhausted)
    assert world.calls[("tiktok", "user/info")] == 2


def test_a_rate_limit_on_the_token_endpoint_is_not_taken_for_the_daily_cap(
    make: Make, platform: ScriptedTikTok
) -> None:
    platform.reply("oauth/token/", *[httpx.Response(429, headers={"Retry-After": "3600"})] * 3)
    assert isinstance(raised_by(lambda: profile_of(make())), RateLimited)

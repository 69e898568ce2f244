"""The X API v2 connector: the shared conformance suite, then one test per X quirk."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs

import httpx
import pydantic
import pytest

from connectors.base import PlatformConfig
from connectors.errors import (
    AccountError,
    AccountNotFound,
    AccountPrivate,
    AccountSuspended,
    AuthError,
    ConfigError,
    PayloadChanged,
    QuotaExhausted,
    RateLimited,
)
from connectors.http import RetryPolicy
from connectors.records import AccountRef, PostPage, PostRef, ProfileBatch, ProfileRecord
from connectors.testing import NOW, ConnectorConformance, Recorder
from connectors.x import XConfig, XConnector
from tests.fakeplatform.core import Fault, World
from tests.fakeplatform.server import FakePlatformServer

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "platform-samples" / "x"
#: ``GET /2/users/by/username/TwitterDev`` with public_metrics (python-twitter's test data).
USER_SAMPLE: dict[str, Any] = json.loads(
    (SAMPLES / "users_by_username_public_metrics_TwitterDev.json").read_text()
)
#: A real 429 body: X's rate-limit error, shaped unlike its other errors.
RATE_LIMIT_BODY = (SAMPLES / "error_429_too_many_requests.json").read_bytes()
TWITTERDEV = USER_SAMPLE["data"]
SECRET = "x-bearer-secret-AAAAAAAAAAAAAAAAAAAAA"
PROBLEMS = "https://api.twitter.com/2/problems/"
NOW_EPOCH = int(NOW.timestamp())


def _tweet(
    tweet_id: str,
    created_at: str,
    text: str,
    metrics: dict[str, int],
    references: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """A post as ``/2/users/:id/tweets`` returns it with the connector's tweet.fields."""
    tweet: dict[str, Any] = {
        "id": tweet_id,
        "text": text,
        "created_at": created_at,
        "edit_history_tweet_ids": [tweet_id],
        "conversation_id": tweet_id,
        "public_metrics": metrics,
    }
    if references:
        tweet["referenced_tweets"] = [{"type": kind, "id": ref} for kind, ref in references]
        if any(kind == "replied_to" for kind, _ in references):
            tweet["in_reply_to_user_id"] = "783214"
    return tweet


NEWEST = _tweet(
    "1851703371843567616",
    "2026-10-30T16:05:12.000Z",
    "Three new endpoints in the X API today",
    {
        "retweet_count": 41,
        "reply_count": 12,
        "like_count": 233,
        "quote_count": 7,
        "bookmark_count": 19,
        "impression_count": 48210,
    },
)
RETWEET = _tweet(
    "1850988190462001525",
    "2026-10-28T09:12:00.000Z",
    "RT @XDevelopers: Office hours are back",
    {"retweet_count": 88, "reply_count": 0, "like_count": 0, "quote_count": 0},
    [("retweeted", "1850966014493331712")],
)
REPLY = _tweet(
    "1848091650148573498",
    "2026-10-20T14:30:45.000Z",
    "@XDevelopers see the migration guide",
    {
        "retweet_count": 2,
        "reply_count": 3,
        "like_count": 15,
        "quote_count": 0,
        "bookmark_count": 1,
        "impression_count": 2044,
    },
    [("replied_to", "1848090011111111111")],
)
QUOTE = _tweet(
    "1844829011725512705",
    "2026-10-11T18:00:00.000Z",
    "Worth a read",
    {
        "retweet_count": 9,
        "reply_count": 1,
        "like_count": 57,
        "quote_count": 2,
        "bookmark_count": 4,
        "impression_count": 9931,
    },
    [("quoted", "1844700000000000000")],
)
#: Older data: X published neither impressions nor bookmarks then.
OLD = _tweet(
    "1498739381232865281",
    "2022-03-01T19:41:02.000Z",
    "Tweet annotations are now available",
    {"retweet_count": 30, "reply_count": 8, "like_count": 181, "quote_count": 5},
)
TIMELINE = [NEWEST, RETWEET, REPLY, QUOTE, OLD]


def _not_found(name: str) -> dict[str, str]:
    return {
        "value": name,
        "detail": f"Could not find user with usernames: [{name}].",
        "title": "Not Found Error",
        "resource_type": "user",
        "parameter": "usernames",
        "resource_id": name,
        "type": PROBLEMS + "resource-not-found",
    }


def _suspended(name: str) -> dict[str, str]:
    return {
        "parameter": "usernames",
        "resource_id": name,
        "value": name,
        "detail": f"User has been suspended: [{name}].",
        "title": "Forbidden",
        "resource_type": "user",
        "type": PROBLEMS + "resource-not-found",
    }


def _protected_timeline(user_id: str) -> dict[str, Any]:
    return {
        "errors": [
            {
                "value": user_id,
                "parameter": "id",
                "resource_id": user_id,
                "resource_type": "user",
                "section": "data",
                "title": "Authorization Error",
                "detail": f"Sorry, you are not authorized to see the user with id: [{user_id}].",
                "type": PROBLEMS + "not-authorized-for-resource",
            }
        ]
    }


def _users_answer(usernames: str) -> dict[str, Any]:
    """``/2/users/by`` for the sample user; every other name is not found."""
    data, errors = [], []
    for name in usernames.split(","):
        if name.lower() == "twitterdev":
            data.append(TWITTERDEV)
        else:
            errors.append(_not_found(name))
    body: dict[str, Any] = {}
    if data:
        body["data"] = data
    if errors:
        body["errors"] = errors
    return body


def _timeline_page(items: list[dict[str, Any]], next_token: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"result_count": len(items)}
    if items:
        meta["newest_id"] = items[0]["id"]
        meta["oldest_id"] = items[-1]["id"]
    if next_token:
        meta["next_token"] = next_token
    return {"data": items, "meta": meta} if items else {"meta": meta}


def _is_retweet(tweet: dict[str, Any]) -> bool:
    return any(ref["type"] == "retweeted" for ref in tweet.get("referenced_tweets", []))


def _rate_limit_headers(remaining: int, reset_epoch: int, limit: int = 300) -> dict[str, str]:
    return {
        "x-rate-limit-limit": str(limit),
        "x-rate-limit-remaining": str(remaining),
        "x-rate-limit-reset": str(reset_epoch),
    }


def _query(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}


# -- the shared conformance suite ----------------------------------------------------------------


class TestXConformance(ConnectorConformance):
    connector_cls = XConnector
    handle = "TwitterDev"
    expected_profile: ClassVar[dict[str, Any]] = {
        "handle": "TwitterDev",
        "platform_id": "2244994945",
        "collected_at": NOW,
        "followers": 514020,
        "following": 2038,
        "posts_count": 3639,
        "followers_rounded": False,
        "followers_hidden": False,
        "display_name": "Twitter Dev",
    }
    expected_first_post: ClassVar[dict[str, Any]] = {
        "platform_post_id": "1851703371843567616",
        "published_at": datetime(2026, 10, 30, 16, 5, 12, tzinfo=UTC),
        "collected_at": NOW,
        "kind": "post",
        "url": "https://x.com/TwitterDev/status/1851703371843567616",
        "caption": "Three new endpoints in the X API today",
        "views": 48210,
        "likes": 233,
        "comments": 12,
        "shares": 41,
        "quotes": 7,
        "saves": 19,
        "has_counts": True,
    }
    expected_post_count = 4  # the retweet is someone else's post
    page_count = 2
    expected_paginated_posts = 4

    def config(self, base_url: str) -> PlatformConfig:
        return XConfig(bearer_token=self.secret, base_url=base_url)

    def platform_id_of(self, handle: str) -> str | None:
        return TWITTERDEV["id"] if handle.lower() == "twitterdev" else None

    def respond(self, request: httpx.Request, case: str) -> httpx.Response:
        query = _query(request)
        path = request.url.path
        if case == "quota":
            headers = _rate_limit_headers(0, NOW_EPOCH + 900)
            return httpx.Response(429, content=RATE_LIMIT_BODY, headers=headers)
        if path.endswith("/users/by"):
            if case == "not_found":
                names = query["usernames"].split(",")
                return httpx.Response(200, json={"errors": [_not_found(n) for n in names]})
            return httpx.Response(200, json=_users_answer(query["usernames"]))
        if path.endswith(f"/users/{TWITTERDEV['id']}/tweets"):
            excluded = query.get("exclude", "").split(",")
            items = [t for t in TIMELINE if not ("retweets" in excluded and _is_retweet(t))]
            if "start_time" in query:
                start = datetime.fromisoformat(query["start_time"].replace("Z", "+00:00"))
                items = [t for t in items if datetime.fromisoformat(t["created_at"]) >= start]
            if case == "paginated":
                if query.get("pagination_token") == "page2":
                    return httpx.Response(200, json=_timeline_page(items[2:]))
                return httpx.Response(200, json=_timeline_page(items[:2], "page2"))
            return httpx.Response(200, json=_timeline_page(items))
        return httpx.Response(404)


# -- helpers for the quirk tests -----------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def _connector(
    handler: Handler, **settings: Any
) -> tuple[XConnector, Recorder, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    sleeps = Recorder()
    settings.setdefault("base_url", "https://api.x.test/2")
    connector = XConnector(
        XConfig(bearer_token=SECRET, **settings),
        transport=httpx.MockTransport(record),
        clock=lambda: NOW,
        retry=RetryPolicy(max_attempts=3, sleep=sleeps, clock=lambda: NOW),
    )
    connector.budget.sleep = sleeps
    return connector, sleeps, seen


def _profiles(connector: XConnector, *handles: str) -> ProfileBatch:
    return asyncio.run(connector.fetch_profiles([AccountRef(h) for h in handles]))


def _posts(
    connector: XConnector, since: datetime | None = None, user_id: str = "2244994945"
) -> PostPage:
    ref = AccountRef("TwitterDev", user_id, posts_cursor="1700000000000000000")
    return asyncio.run(connector.fetch_posts(ref, since=since))


def _error(call: Callable[[], Any]) -> Exception:
    with pytest.raises(Exception) as caught:  # noqa: PT011 - each test checks the class
        call()
    return caught.value


def _answer(
    body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Handler:
    return lambda request: httpx.Response(status, json=body, headers=headers)


# -- profiles --------------------------------------------------------------------------------------


def test_the_users_lookup_asks_for_public_metrics() -> None:
    connector, _, seen = _connector(_answer({"data": [TWITTERDEV]}))
    _profiles(connector, "TwitterDev")
    assert seen[0].url.path == "/2/users/by"
    assert "public_metrics" in _query(seen[0])["user.fields"].split(",")


def test_a_user_without_public_metrics_is_a_changed_payload() -> None:
    bare = {key: value for key, value in TWITTERDEV.items() if key != "public_metrics"}
    connector, _, _ = _connector(_answer({"data": [bare]}))
    assert isinstance(_error(lambda: _profiles(connector, "TwitterDev")), PayloadChanged)


def test_user_ids_are_kept_as_exact_strings() -> None:
    user = dict(TWITTERDEV, id="1460323737035677698", username="XDevelopers")
    connector, _, _ = _connector(_answer({"data": [user]}))
    profile = _profiles(connector, "XDevelopers").profiles["XDevelopers"]
    assert profile.platform_id == "1460323737035677698"


def test_a_numeric_user_id_is_a_changed_payload() -> None:
    user = dict(TWITTERDEV, id=2244994945)
    connector, _, _ = _connector(_answer({"data": [user]}))
    assert isinstance(_error(lambda: _profiles(connector, "TwitterDev")), PayloadChanged)


def test_usernames_match_case_insensitively_and_keep_the_asked_handle() -> None:
    connector, _, _ = _connector(_answer({"data": [TWITTERDEV]}))
    batch = _profiles(connector, "twitterdev")
    assert batch.profiles["twitterdev"].handle == "twitterdev"
    assert batch.profiles["twitterdev"].platform_id == "2244994945"


def test_partial_not_found_errors_fail_those_accounts_while_others_succeed() -> None:
    connector, _, _ = _connector(_answer({"data": [TWITTERDEV], "errors": [_not_found("gh0st")]}))
    batch = _profiles(connector, "TwitterDev", "gh0st")
    assert batch.profiles["TwitterDev"].followers == 514020
    assert isinstance(batch.failures["gh0st"], AccountNotFound)


def test_a_suspended_account_is_reported_as_suspended() -> None:
    connector, _, _ = _connector(_answer({"data": [TWITTERDEV], "errors": [_suspended("spam_r")]}))
    batch = _profiles(connector, "TwitterDev", "spam_r")
    assert isinstance(batch.failures["spam_r"], AccountSuspended)


def test_a_handle_x_cannot_have_is_not_found_and_not_sent() -> None:
    connector, _, seen = _connector(_answer({"data": [TWITTERDEV]}))
    batch = _profiles(connector, "TwitterDev", "salma.beauty")
    assert isinstance(batch.failures["salma.beauty"], AccountNotFound)
    assert _query(seen[0])["usernames"] == "twitterdev"


def test_a_protected_account_keeps_its_profile() -> None:
    connector, _, _ = _connector(_answer({"data": [dict(TWITTERDEV, protected=True)]}))
    assert _profiles(connector, "TwitterDev").profiles["TwitterDev"].followers == 514020


# -- posts -----------------------------------------------------------------------------------------


def test_the_timeline_asks_for_public_metrics_and_excludes_retweets() -> None:
    connector, _, seen = _connector(_answer(_timeline_page([NEWEST])))
    _posts(connector)
    query = _query(seen[0])
    assert seen[0].url.path == "/2/users/2244994945/tweets"
    assert "public_metrics" in query["tweet.fields"].split(",")
    assert query["exclude"] == "retweets"


def test_replies_are_excluded_at_the_source_when_not_wanted() -> None:
    connector, _, seen = _connector(_answer(_timeline_page([NEWEST])), include_replies=False)
    _posts(connector)
    assert _query(seen[0])["exclude"] == "retweets,replies"


def test_a_retweet_served_despite_exclude_is_dropped() -> None:
    connector, _, _ = _connector(_answer(_timeline_page([NEWEST, RETWEET, REPLY])))
    ids = [p.platform_post_id for p in _posts(connector).posts]
    assert ids == [NEWEST["id"], REPLY["id"]]


def test_replies_and_quotes_are_the_creators_own_posts_with_their_kind() -> None:
    connector, _, _ = _connector(_answer(_timeline_page([NEWEST, REPLY, QUOTE])))
    assert [p.kind for p in _posts(connector).posts] == ["post", "reply", "quote"]


def test_post_ids_are_kept_as_exact_strings() -> None:
    connector, _, _ = _connector(_answer(_timeline_page([NEWEST])))
    assert _posts(connector).posts[0].platform_post_id == "1851703371843567616"


def test_a_missing_impression_count_is_no_views_and_a_missing_bookmark_count_no_saves() -> None:
    connector, _, _ = _connector(_answer(_timeline_page([OLD])))
    post = _posts(connector).posts[0]
    assert (post.views, post.saves, post.likes) == (None, None, 181)


def test_a_post_without_public_metrics_is_a_changed_payload() -> None:
    bare = {key: value for key, value in NEWEST.items() if key != "public_metrics"}
    connector, _, _ = _connector(_answer(_timeline_page([bare])))
    assert isinstance(_error(lambda: _posts(connector)), PayloadChanged)


def test_pagination_token_is_followed_until_posts_are_older_than_since() -> None:
    pages = {
        None: _timeline_page([NEWEST, REPLY], "tok-2"),
        "tok-2": _timeline_page([QUOTE, OLD], "tok-3"),
        "tok-3": _timeline_page([], None),
    }
    connector, _, seen = _connector(
        lambda request: httpx.Response(200, json=pages[_query(request).get("pagination_token")])
    )
    since = datetime(2026, 10, 1, tzinfo=UTC)
    posts = _posts(connector, since=since).posts
    assert [p.platform_post_id for p in posts] == [NEWEST["id"], REPLY["id"], QUOTE["id"]]
    assert [_query(r).get("pagination_token") for r in seen] == [None, "tok-2"]
    assert _query(seen[0])["start_time"] == "2026-10-01T00:00:00Z"


def test_without_since_only_one_page_is_read() -> None:
    connector, _, seen = _connector(_answer(_timeline_page([NEWEST, REPLY], "tok-2")))
    _posts(connector)
    assert len(seen) == 1


def test_an_empty_timeline_has_no_posts_and_keeps_the_cursor() -> None:
    connector, _, _ = _connector(_answer({"meta": {"result_count": 0}}))
    page = _posts(connector)
    assert (page.posts, page.cursor) == ((), "1700000000000000000")


def test_the_cursor_is_the_newest_post_id() -> None:
    connector, _, _ = _connector(_answer(_timeline_page([NEWEST, REPLY])))
    assert _posts(connector).cursor == NEWEST["id"]


def test_a_protected_timeline_is_private() -> None:
    connector, _, _ = _connector(_answer(_protected_timeline("2244994945")))
    assert isinstance(_error(lambda: _posts(connector)), AccountPrivate)


def test_a_suspended_timeline_is_suspended() -> None:
    error = dict(_suspended("2244994945"), parameter="id", section="data")
    connector, _, _ = _connector(_answer({"errors": [error]}))
    assert isinstance(_error(lambda: _posts(connector)), AccountSuspended)


def test_a_404_naming_the_timelines_user_is_not_found() -> None:
    missing = {
        "title": "Not Found Error",
        "detail": "Could not find user with id: [2244994945].",
        "type": PROBLEMS + "resource-not-found",
    }
    connector, _, _ = _connector(_answer(missing, 404))
    assert isinstance(_error(lambda: _posts(connector)), AccountNotFound)


def test_an_unreadable_user_error_leaves_that_account_out_of_the_batch() -> None:
    odd = {"value": "odd_one", "title": "Something New", "detail": "Unheard of: [odd_one]."}
    connector, _, _ = _connector(_answer({"data": [TWITTERDEV], "errors": [odd]}))
    batch = _profiles(connector, "TwitterDev", "odd_one")
    assert "odd_one" not in batch.profiles
    assert "odd_one" not in batch.failures


def test_an_unresolved_account_is_resolved_through_the_users_lookup_first() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/users/by"):
            return httpx.Response(200, json={"data": [TWITTERDEV]})
        return httpx.Response(200, json=_timeline_page([NEWEST]))

    connector, _, seen = _connector(answer)
    asyncio.run(connector.fetch_posts(AccountRef("TwitterDev"), since=None))
    assert [r.url.path for r in seen] == ["/2/users/by", "/2/users/2244994945/tweets"]


def test_post_stats_take_100_ids_per_lookup_and_leave_out_deleted_posts() -> None:
    def lookup(request: httpx.Request) -> httpx.Response:
        ids = _query(request)["ids"].split(",")
        data = [dict(NEWEST, id=i) for i in ids if i != "1000000000000000000"]
        errors = [
            {
                "value": "1000000000000000000",
                "detail": "Could not find tweet with ids: [1000000000000000000].",
                "title": "Not Found Error",
                "resource_type": "tweet",
                "parameter": "ids",
                "resource_id": "1000000000000000000",
                "type": PROBLEMS + "resource-not-found",
            }
        ]
        return httpx.Response(200, json={"data": data, "errors": errors})

    refs = [
        PostRef(str(10**18 + k), "TwitterDev", "2244994945", NOW - timedelta(days=9))
        for k in range(150)
    ]
    connector, _, seen = _connector(lookup)
    records = asyncio.run(connector.fetch_post_stats(refs))
    assert [r.url.path for r in seen] == ["/2/tweets", "/2/tweets"]
    assert len(records) == 149
    assert records[0].url == f"https://x.com/TwitterDev/status/{10**18 + 1}"


def test_pass_cost_is_users_lookups_by_hundred_one_timeline_each_and_lookups_by_hundred() -> None:
    connector, _, _ = _connector(_answer({}))
    assert connector.pass_cost(250, stats_posts=150) == {
        "users_by": 3,
        "user_tweets": 250,
        "tweets_lookup": 2,
    }


# -- rate limits, caps and access levels -----------------------------------------------------------


def test_a_429_with_x_rate_limit_reset_is_rate_limited_until_that_epoch() -> None:
    reset = NOW_EPOCH + 900
    connector, _, seen = _connector(
        lambda request: httpx.Response(
            429, content=RATE_LIMIT_BODY, headers=_rate_limit_headers(0, reset)
        )
    )
    error = _error(lambda: _profiles(connector, "TwitterDev"))
    assert isinstance(error, RateLimited)
    assert error.retry_at == datetime.fromtimestamp(reset, UTC)
    assert len(seen) == 1


def test_the_budget_holds_the_next_call_when_the_window_is_spent_until_it_resets() -> None:
    spent = _rate_limit_headers(0, NOW_EPOCH + 30)
    connector, sleeps, seen = _connector(_answer({"data": [TWITTERDEV]}, headers=spent))
    _profiles(connector, "TwitterDev")
    _profiles(connector, "TwitterDev")
    assert sleeps.waits == [30.0]
    assert len(seen) == 2


def test_the_budget_refuses_a_call_whose_window_resets_too_late_to_wait() -> None:
    spent = _rate_limit_headers(0, NOW_EPOCH + 600)
    connector, _, seen = _connector(_answer({"data": [TWITTERDEV]}, headers=spent))
    _profiles(connector, "TwitterDev")
    error = _error(lambda: _profiles(connector, "TwitterDev"))
    assert isinstance(error, RateLimited)
    assert error.retry_at == NOW + timedelta(seconds=600)
    assert len(seen) == 1


def test_the_budget_keeps_one_window_per_endpoint() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/users/by"):
            spent = _rate_limit_headers(0, NOW_EPOCH + 600)
            return httpx.Response(200, json={"data": [TWITTERDEV]}, headers=spent)
        return httpx.Response(200, json=_timeline_page([NEWEST]))

    connector, _, seen = _connector(answer)
    _profiles(connector, "TwitterDev")
    _posts(connector)
    assert len(seen) == 2


def test_the_monthly_usage_cap_is_quota_exhausted_until_next_month() -> None:
    cap = {
        "account_id": "1440000000000000000",
        "product_name": "standard-basic",
        "title": "UsageCapExceeded",
        "period": "Monthly",
        "scope": "Product",
        "detail": "Usage cap exceeded: Monthly product cap",
        "type": PROBLEMS + "usage-capped",
    }
    connector, _, seen = _connector(_answer(cap, 429, _rate_limit_headers(39999, NOW_EPOCH)))
    error = _error(lambda: _posts(connector))
    assert isinstance(error, QuotaExhausted)
    assert error.reset_at == datetime(2026, 12, 1, tzinfo=UTC)
    assert len(seen) == 1


def test_depleted_credits_are_a_config_error() -> None:
    credits = {
        "account_id": 1440000000000000000,
        "title": "CreditsDepleted",
        "detail": "Your enrolled account [1440000000000000000] does not have any credits to "
        "fulfill this request.",
        "type": PROBLEMS + "credits",
    }
    connector, _, _ = _connector(_answer(credits, 402))
    error = _error(lambda: _posts(connector))
    assert isinstance(error, ConfigError)
    assert "credits" in str(error)


def test_an_app_not_enrolled_is_a_config_error_naming_the_access_level() -> None:
    forbidden = {
        "client_id": "27512824",
        "detail": "When authenticating requests to the Twitter API v2 endpoints, you must use "
        "keys and tokens from a Twitter developer App that is attached to a Project. You can "
        "create a project via the developer portal.",
        "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
        "title": "Client Forbidden",
        "required_enrollment": "Appropriate Level of API Access",
        "reason": "client-not-enrolled",
        "type": PROBLEMS + "client-forbidden",
    }
    connector, _, _ = _connector(_answer(forbidden, 403))
    error = _error(lambda: _profiles(connector, "TwitterDev"))
    assert isinstance(error, ConfigError)
    assert "client-not-enrolled" in str(error)
    assert "Appropriate Level of API Access" in str(error)


def test_a_bare_404_is_a_config_error_about_the_base_url() -> None:
    connector, _, _ = _connector(lambda request: httpx.Response(404, content=b""))
    error = _error(lambda: _profiles(connector, "TwitterDev", "XDevelopers"))
    assert isinstance(error, ConfigError)
    assert "base_url" in str(error)


# -- credentials ----------------------------------------------------------------------------------


def test_the_token_travels_only_in_the_authorization_header() -> None:
    connector, _, seen = _connector(_answer({"data": [TWITTERDEV]}))
    _profiles(connector, "TwitterDev")
    assert seen[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in str(seen[0].url)


def test_the_default_base_url_is_api_x_com() -> None:
    connector, _, seen = _connector(_answer({"data": [TWITTERDEV]}), base_url=None)
    _profiles(connector, "TwitterDev")
    assert str(seen[0].url).startswith("https://api.x.com/2/users/by?")


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(401, json={"title": "Unauthorized", "type": "about:blank", "status": 401}),
        httpx.Response(402, json={"title": "CreditsDepleted", "type": PROBLEMS + "credits"}),
        httpx.Response(403, json={"title": "Client Forbidden", "reason": "client-not-enrolled"}),
        httpx.Response(429, content=RATE_LIMIT_BODY, headers={"x-rate-limit-reset": "9"}),
        httpx.Response(500, content=b"upstream error"),
        httpx.Response(200, content=b'{"data": [1,,'),
    ],
    ids=["401", "402", "403", "429", "500", "malformed"],
)
def test_the_token_never_appears_in_errors(response: httpx.Response) -> None:
    connector, _, _ = _connector(lambda request: response)
    error = _error(lambda: _profiles(connector, "TwitterDev"))
    assert SECRET not in str(error)
    assert SECRET not in repr(error.args)


def test_a_401_is_an_auth_error() -> None:
    unauthorized = {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    connector, _, _ = _connector(_answer(unauthorized, 401))
    assert isinstance(_error(lambda: _profiles(connector, "TwitterDev")), AuthError)


# -- configuration ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [4, 101])
def test_a_timeline_page_size_outside_5_to_100_is_refused(size: int) -> None:
    with pytest.raises(pydantic.ValidationError, match="timeline_page_size"):
        XConfig(bearer_token=SECRET, timeline_page_size=size)


def test_an_empty_bearer_token_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="bearer_token is empty"):
        XConfig(bearer_token=" ")


# -- over real HTTP, against the fake X ------------------------------------------------------------


def _live(server: FakePlatformServer, **settings: Any) -> tuple[XConnector, Recorder]:
    sleeps = Recorder()
    connector = XConnector(
        XConfig(bearer_token=SECRET, base_url=server.url_for("x"), **settings),
        clock=lambda: NOW,
        retry=RetryPolicy(max_attempts=3, sleep=sleeps, clock=lambda: NOW),
    )
    connector.budget.sleep = sleeps
    return connector, sleeps


async def _profiles_in_batches(connector: XConnector, handles: list[str]) -> ProfileBatch:
    profiles: dict[str, ProfileRecord] = {}
    failures: dict[str, AccountError] = {}
    try:
        for start in range(0, len(handles), connector.batch_size):
            chunk = handles[start : start + connector.batch_size]
            batch = await connector.fetch_profiles([AccountRef(h) for h in chunk])
            profiles.update(batch.profiles)
            failures.update(batch.failures)
    finally:
        await connector.aclose()
    return ProfileBatch(profiles, failures)


async def _profile_then_posts(
    connector: XConnector, handle: str, since: datetime | None
) -> PostPage:
    try:
        batch = await connector.fetch_profiles([AccountRef(handle)])
        ref = AccountRef(handle, batch.profiles[handle].platform_id)
        return await connector.fetch_posts(ref, since=since)
    finally:
        await connector.aclose()


def test_250_accounts_take_3_users_lookups_over_real_http() -> None:
    world = World(clock=lambda: NOW, auto_create=True)
    handles = [f"creator_{i}" for i in range(250)]
    with FakePlatformServer(world) as server:
        connector, _ = _live(server)
        batch = asyncio.run(_profiles_in_batches(connector, handles))
    assert world.calls[("x", "users_by")] == 3
    assert sorted(batch.profiles) == sorted(handles)


def test_the_fake_timeline_shows_one_retweet_that_exclude_retweets_removes() -> None:
    world = World(clock=lambda: NOW, posts_per_account=12)
    account = world.add("x", "salma_beauty")
    url = f"/users/{account.platform_id}/tweets?max_results=100&tweet.fields=referenced_tweets"
    with FakePlatformServer(world) as server:
        auth = {"Authorization": f"Bearer {SECRET}"}
        everything = httpx.get(server.url_for("x") + url, headers=auth).json()["data"]
        own = httpx.get(server.url_for("x") + url + "&exclude=retweets", headers=auth).json()
    assert sum(_is_retweet(t) for t in everything) == 1
    assert len(everything) == 13
    assert len(own["data"]) == 12
    assert not any(_is_retweet(t) for t in own["data"])


def test_the_connector_pages_through_the_fake_timeline_by_next_token() -> None:
    world = World(clock=lambda: NOW, posts_per_account=12)
    world.add("x", "salma_beauty")
    with FakePlatformServer(world) as server:
        connector, _ = _live(server, timeline_page_size=5)
        page = asyncio.run(_profile_then_posts(connector, "salma_beauty", NOW - timedelta(days=60)))
    assert len(page.posts) == 12
    assert world.calls[("x", "user_tweets")] == 3


def test_a_protected_account_has_a_profile_but_a_private_timeline_over_real_http() -> None:
    world = World(clock=lambda: NOW)
    world.add("x", "locked_in", status="private")
    with FakePlatformServer(world) as server:
        connector, _ = _live(server)
        error = _error(lambda: asyncio.run(_profile_then_posts(connector, "locked_in", None)))
    assert isinstance(error, AccountPrivate)


def test_a_429_fault_from_the_fake_is_rate_limited_until_its_window_resets() -> None:
    world = World(clock=lambda: NOW, auto_create=True)
    world.fail(Fault("x", "users_by", status=429, body=RATE_LIMIT_BODY, times=3))
    with FakePlatformServer(world) as server:
        connector, _ = _live(server)
        error = _error(lambda: asyncio.run(_profiles_in_batches(connector, ["TwitterDev"])))
    assert isinstance(error, RateLimited)
    assert error.retry_at == NOW + timedelta(minutes=15)


def test_the_fake_answers_a_request_without_bearer_token_with_xs_401() -> None:
    world = World(clock=lambda: NOW, auto_create=True)
    with FakePlatformServer(world) as server:
        response = httpx.get(f"{server.url_for('x')}/users/by?usernames=TwitterDev")
    assert response.status_code == 401
    assert response.json() == {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }


def test_every_fake_response_carries_rate_limit_headers() -> None:
    world = World(clock=lambda: NOW, auto_create=True)
    with FakePlatformServer(world) as server:
        response = httpx.get(
            f"{server.url_for('x')}/users/by?usernames=TwitterDev",
            headers={"Authorization": f"Bearer {SECRET}"},
        )
    assert response.headers["x-rate-limit-limit"] == "300"
    assert response.headers["x-rate-limit-remaining"] == "299"
    assert response.headers["x-rate-limit-reset"] == str(NOW_EPOCH + 900)

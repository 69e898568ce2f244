"""The Mastodon connector: the conformance suite, then one test per Mastodon quirk."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from connectors.base import PlatformConfig
from connectors.errors import (
    AccountNotFound,
    AccountPrivate,
    AccountSuspended,
    AuthError,
    PayloadChanged,
    RateLimited,
)
from connectors.http import RetryPolicy
from connectors.mastodon import (
    LOOKUP,
    STATUSES,
    MastodonConfig,
    MastodonConnector,
    caption_from_html,
)
from connectors.records import AccountRef
from connectors.testing import NOW, ConnectorConformance, Recorder
from tests.fakeplatform.core import World
from tests.fakeplatform.server import FakePlatformServer

T = TypeVar("T")

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "platform-samples" / "mastodon"
KNOWN_ID = "109440137734600341"
KNOWN_HANDLE = "mastodonpy_test@localhost:3000"
STATUSES_PATH = f"/api/v1/accounts/{KNOWN_ID}/statuses"
RATE_HEADERS = {
    "X-RateLimit-Limit": "300",
    "X-RateLimit-Remaining": "299",
    "X-RateLimit-Reset": "2026-11-02T12:05:00.000Z",
}


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def recorded_status() -> dict[str, Any]:
    return sample("status_entity_post_statuses_reblog_null.json")  # type: ignore[no-any-return]


def own_status(k: int) -> dict[str, Any]:
    """The recorded status (k = 0), or an older one of the same account derived from it."""
    status = recorded_status()
    if k == 0:
        return status
    published = datetime(2022, 12, 1, 19, 48, 14, tzinfo=UTC) - timedelta(days=k)
    status.update(
        id=str(int(status["id"]) - 1000 * k),
        created_at=published.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        content=f"<p>Toot number {k}!</p>",
        favourites_count=10 * k,
        replies_count=k,
        reblogs_count=2 * k,
    )
    status["url"] = f"http://localhost:3000/@mastodonpy_test/{status['id']}"
    return status


def boost_of_another_account(boost_id: str, boosted_at: str) -> dict[str, Any]:
    """A boost as Mastodon serves it: zero counts of its own, the real ones inside ``reblog``."""
    original = recorded_status()
    original.update(
        id="109440000000000001",
        content="<p>Someone else's post</p>",
        favourites_count=5000,
        replies_count=300,
        reblogs_count=800,
        url="https://elsewhere.example/@someone/109440000000000001",
    )
    original["account"] = {**original["account"], "id": "42", "acct": "someone@elsewhere.example"}
    boost = recorded_status()
    boost.update(
        id=boost_id,
        created_at=boosted_at,
        content="",
        url=None,
        favourites_count=0,
        replies_count=0,
        reblogs_count=0,
        reblog=original,
    )
    return boost


def timeline() -> list[dict[str, Any]]:
    """The known account's feed: five own statuses, with a boost after the newest."""
    statuses = [own_status(k) for k in range(5)]
    boost = boost_of_another_account("109440145478329000", "2022-12-01T10:00:00.000Z")
    return [statuses[0], boost, *statuses[1:]]


def json_response(
    status: int, body: object, headers: dict[str, str] | None = None
) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers or RATE_HEADERS)


class TestMastodonConformance(ConnectorConformance):
    connector_cls = MastodonConnector
    handle = KNOWN_HANDLE
    expected_profile: ClassVar[dict[str, Any]] = {
        "handle": KNOWN_HANDLE,
        "platform_id": KNOWN_ID,
        "collected_at": NOW,
        "followers": 0,
        "following": 0,
        "posts_count": 0,
        "followers_hidden": False,
        "display_name": "John Lennon",
    }
    expected_first_post: ClassVar[dict[str, Any]] = {
        "platform_post_id": "109440145478329198",
        "published_at": datetime(2022, 12, 1, 19, 48, 14, 825000, tzinfo=UTC),
        "collected_at": NOW,
        "kind": "text",
        "url": "http://localhost:3000/@mastodonpy_test/109440145478329198",
        "caption": "Toot number 0!",
        "views": None,
        "likes": 0,
        "comments": 0,
        "shares": 0,
        "quotes": None,
        "saves": None,
        "has_counts": True,
    }
    expected_post_count = 5
    page_count = 3
    expected_paginated_posts = 5

    def config(self, base_url: str) -> PlatformConfig:
        return MastodonConfig(
            base_url=base_url,
            access_token=SecretStr(self.secret),
            token_instance=httpx.URL(base_url).host,
        )

    def platform_id_of(self, handle: str) -> str | None:
        return KNOWN_ID if handle == KNOWN_HANDLE else None

    def respond(self, request: httpx.Request, case: str) -> httpx.Response:
        if case == "quota":
            spent = {**RATE_HEADERS, "X-RateLimit-Remaining": "0"}
            return json_response(429, {"error": "Too many requests"}, spent)
        if request.url.path == "/api/v1/accounts/lookup":
            if case == "not_found":
                return json_response(404, sample("error_404_record_not_found_lookup.json"))
            return json_response(200, sample("accounts_lookup_mastodonpy_test.json"))
        if request.url.path != STATUSES_PATH:
            return json_response(404, sample("error_404_record_not_found_lookup.json"))
        statuses = timeline()
        if case != "paginated":
            return json_response(200, statuses)
        # Three pages of two, linked the way Mastodon links them (max_id = last id on page).
        ids = [s["id"] for s in statuses]
        max_id = request.url.params.get("max_id")
        start = ids.index(max_id) + 1 if max_id else 0
        page = statuses[start : start + 2]
        headers = dict(RATE_HEADERS)
        if start + 2 < len(statuses):
            url = request.url.copy_set_param("max_id", page[-1]["id"])
            headers["Link"] = f'<{url}>; rel="next"'
        return json_response(200, page, headers)

    def test_pagination_follows_every_page_and_ends(self) -> None:
        # Overridden: the contract reads since=None as "one normal page", so the inherited
        # test (which passes no since) would stop after page one. A since older than every
        # post asks for the whole feed, which must take exactly the served pages.
        connector, _, seen = self.make("paginated")
        page = self.run(connector.fetch_posts(self.ref(), since=NOW - timedelta(days=3650)))
        assert len(page.posts) == self.expected_paginated_posts
        assert len(seen) == self.page_count


# -- a small multi-instance platform behind MockTransport ---------------------------------------


Answer = Callable[[httpx.Request], httpx.Response]


class Instances:
    """Plays several Mastodon instances at once and records every request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.routes: dict[tuple[str, str], Answer] = {}

    def account(self, host: str, body: dict[str, Any], statuses: list[Any] | None = None) -> None:
        """Serve ``body`` at ``host``'s lookup and ``statuses`` as its timeline (one page)."""
        self.routes[(host, "/api/v1/accounts/lookup")] = lambda _: json_response(200, body)
        path = f"/api/v1/accounts/{body['id']}/statuses"
        self.routes[(host, path)] = lambda _: json_response(200, statuses or [])

    def route(
        self, host: str, path: str, answer: Callable[[httpx.Request], httpx.Response]
    ) -> None:
        self.routes[(host, path)] = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.routes.get((request.url.host, request.url.path))
        if answer is None:
            return json_response(404, {"error": "Record not found"})
        return answer(request)


def account_body(**overrides: Any) -> dict[str, Any]:
    """The documented "Get account" example (Gargron), which has distinct counts."""
    body = sample("accounts_lookup_mastodonpy_test.json")
    body.update(
        id="1",
        username="Gargron",
        acct="Gargron",
        display_name="Eugen",
        followers_count=318699,
        following_count=453,
        statuses_count=61013,
        locked=False,
    )
    body.update(overrides)
    return body  # type: ignore[no-any-return]


def make_connector(
    instances: Instances, sleeps: Recorder | None = None, **config: Any
) -> MastodonConnector:
    sleeps = sleeps or Recorder()
    return MastodonConnector(
        MastodonConfig(**config),
        transport=httpx.MockTransport(instances),
        clock=lambda: NOW,
        retry=RetryPolicy(max_attempts=3, sleep=sleeps, clock=lambda: NOW),
    )


def profiles(connector: MastodonConnector, *handles: str) -> Any:
    return run(connector.fetch_profiles([AccountRef(h) for h in handles]))


def posts(connector: MastodonConnector, handle: str, since: datetime | None = None) -> Any:
    return run(connector.fetch_posts(AccountRef(handle, KNOWN_ID), since=since))


def timeline_at(host: str, statuses: list[Any]) -> Instances:
    instances = Instances()
    instances.route(host, STATUSES_PATH, lambda _: json_response(200, statuses))
    return instances


# -- routing, clients and credentials -------------------------------------------------------


def test_a_handle_is_looked_up_over_https_on_its_own_instance_without_base_url() -> None:
    instances = Instances()
    instances.account("fosstodon.org", account_body())
    profiles(make_connector(instances), "Gargron@Fosstodon.org")
    request = instances.requests[0]
    assert (request.url.scheme, request.url.host, request.url.path) == (
        "https",
        "fosstodon.org",
        "/api/v1/accounts/lookup",
    )
    assert request.url.params["acct"] == "Gargron"


def test_a_handle_with_a_leading_at_is_accepted_and_keyed_as_asked() -> None:
    instances = Instances()
    instances.account("mastodon.social", account_body())
    batch = profiles(make_connector(instances), "@Gargron@mastodon.social")
    assert batch.profiles["@Gargron@mastodon.social"].followers == 318699


def test_a_base_url_serves_every_instance_with_the_full_acct() -> None:
    instances = Instances()
    instances.account("proxy.test", account_body())
    connector = make_connector(instances, base_url="http://proxy.test/mastodon")
    profiles(connector, "a@one.example")
    profiles(connector, "b@two.example")
    assert [(r.url.host, r.url.path, r.url.params["acct"]) for r in instances.requests] == [
        ("proxy.test", "/mastodon/api/v1/accounts/lookup", "a@one.example"),
        ("proxy.test", "/mastodon/api/v1/accounts/lookup", "b@two.example"),
    ]


def test_a_handle_without_an_instance_is_an_account_error_and_costs_no_call() -> None:
    instances = Instances()
    batch = profiles(make_connector(instances), "just_a_name")
    assert isinstance(batch.failures["just_a_name"], AccountNotFound)
    assert "user@instance" in batch.failures["just_a_name"].message
    assert instances.requests == []


def test_each_instance_gets_one_client_reused_and_aclose_closes_them_all() -> None:
    instances = Instances()
    instances.account("one.example", account_body())
    instances.account("two.example", account_body(id="2"))
    connector = make_connector(instances)

    async def scenario() -> list[bool]:
        await connector.fetch_profiles([AccountRef("a@one.example")])
        await connector.fetch_profiles([AccountRef("a@one.example")])
        await connector.fetch_profiles([AccountRef("b@two.example")])
        clients = list(connector._clients.values())
        assert len(clients) == 2
        await connector.aclose()
        return [client.is_closed for client in clients]

    assert run(scenario()) == [True, True]


def test_the_token_is_sent_only_to_token_instance() -> None:
    instances = Instances()
    instances.account("home.example", account_body())
    instances.account("other.example", account_body(id="2"))
    connector = make_connector(
        instances, access_token=SecretStr("s3cret"), token_instance="home.example"
    )
    profiles(connector, "me@home.example")
    profiles(connector, "them@other.example")
    sent = {r.url.host: r.headers.get("authorization") for r in instances.requests}
    assert sent == {"home.example": "Bearer s3cret", "other.example": None}


def test_a_token_without_token_instance_is_refused_by_the_config() -> None:
    with pytest.raises(ValidationError, match="token_instance"):
        MastodonConfig(access_token=SecretStr("s3cret"))


def test_token_instance_written_as_a_url_is_reduced_to_its_host() -> None:
    config = MastodonConfig(access_token=SecretStr("t"), token_instance="https://Home.Example/")
    assert config.token_instance == "home.example"


def test_a_statuses_page_size_above_the_documented_40_is_refused() -> None:
    with pytest.raises(ValidationError, match="statuses_page_size"):
        MastodonConfig(statuses_page_size=41)


# -- profiles ----------------------------------------------------------------------------------


def test_profile_counts_come_from_the_account_entity() -> None:
    instances = Instances()
    instances.account("mastodon.social", account_body())
    record = profiles(make_connector(instances), "Gargron@mastodon.social").profiles[
        "Gargron@mastodon.social"
    ]
    assert (record.platform_id, record.followers, record.following, record.posts_count) == (
        "1",
        318699,
        453,
        61013,
    )
    assert record.display_name == "Eugen"


def test_a_locked_account_is_collected_because_its_counts_stay_public() -> None:
    instances = Instances()
    instances.account("mastodon.social", account_body(locked=True))
    batch = profiles(make_connector(instances), "Gargron@mastodon.social")
    assert batch.profiles["Gargron@mastodon.social"].followers == 318699


def test_a_suspended_account_is_reported_suspended() -> None:
    instances = Instances()
    body = account_body(suspended=True, display_name="", followers_count=0, statuses_count=0)
    instances.account("mastodon.social", body)
    batch = profiles(make_connector(instances), "Gargron@mastodon.social")
    assert isinstance(batch.failures["Gargron@mastodon.social"], AccountSuspended)


def test_a_410_from_an_older_server_is_reported_suspended() -> None:
    instances = Instances()
    instances.route(
        "old.example", "/api/v1/accounts/lookup", lambda _: json_response(410, {"error": "Gone"})
    )
    batch = profiles(make_connector(instances), "someone@old.example")
    assert isinstance(batch.failures["someone@old.example"], AccountSuspended)


def test_a_moved_account_is_not_found_and_names_the_account_to_watch_instead() -> None:
    instances = Instances()
    instances.account("old.example", account_body(moved=account_body(id="9", acct="eugen")))
    batch = profiles(make_connector(instances), "Gargron@old.example")
    failure = batch.failures["Gargron@old.example"]
    assert isinstance(failure, AccountNotFound)
    assert "eugen@old.example" in failure.message


def test_a_hidden_follower_count_of_minus_one_is_stored_as_hidden_not_as_a_number() -> None:
    instances = Instances()
    instances.account("glitch.example", account_body(followers_count=-1))
    record = profiles(make_connector(instances), "Gargron@glitch.example").profiles[
        "Gargron@glitch.example"
    ]
    assert (record.followers, record.followers_hidden) == (None, True)


def test_a_locked_down_instance_is_an_account_level_error_and_other_instances_still_collect() -> (
    None
):
    instances = Instances()
    refusal = {"error": "This API requires an authenticated user"}
    instances.route(
        "closed.example", "/api/v1/accounts/lookup", lambda _: json_response(401, refusal)
    )
    instances.account("open.example", account_body())
    connector = make_connector(instances)
    closed = profiles(connector, "a@closed.example")
    still_open = profiles(connector, "b@open.example")
    failure = closed.failures["a@closed.example"]
    assert isinstance(failure, AccountPrivate)
    assert "closed.example" in failure.message
    assert "access_token" in failure.message
    assert still_open.profiles["b@open.example"].followers == 318699


def test_a_locked_down_instance_refusing_the_statuses_call_is_account_level_too() -> None:
    instances = Instances()
    refusal = {"error": "This API requires an authenticated user"}
    instances.route("closed.example", STATUSES_PATH, lambda _: json_response(401, refusal))
    with pytest.raises(AccountPrivate) as caught:
        posts(make_connector(instances), "a@closed.example")
    assert caught.value.handle == "a@closed.example"


def test_a_refused_token_pauses_the_platform_without_revealing_the_token() -> None:
    instances = Instances()
    invalid = {"error": "The access token is invalid"}
    instances.route(
        "home.example", "/api/v1/accounts/lookup", lambda _: json_response(401, invalid)
    )
    connector = make_connector(
        instances, access_token=SecretStr("s3cret-token"), token_instance="home.example"
    )
    with pytest.raises(AuthError) as caught:
        profiles(connector, "me@home.example")
    assert "access_token" in caught.value.message
    assert "s3cret-token" not in caught.value.message


def test_a_refusal_from_a_shared_base_url_pauses_the_platform() -> None:
    instances = Instances()
    refusal = {"error": "This API requires an authenticated user"}
    instances.route("proxy.test", "/api/v1/accounts/lookup", lambda _: json_response(401, refusal))
    with pytest.raises(AuthError):
        profiles(make_connector(instances, base_url="https://proxy.test"), "a@one.example")


# -- posts ---------------------------------------------------------------------------------------


def test_boosts_are_excluded_even_when_the_instance_ignores_exclude_reblogs() -> None:
    connector = make_connector(timeline_at("localhost", timeline()))
    ids = [p.platform_post_id for p in posts(connector, "mastodonpy_test@localhost").posts]
    assert "109440145478329000" not in ids
    assert len(ids) == 5


def test_the_statuses_request_asks_for_a_full_page_without_boosts() -> None:
    instances = timeline_at("localhost", timeline())
    posts(make_connector(instances), "mastodonpy_test@localhost")
    params = instances.requests[0].url.params
    assert (params["limit"], params["exclude_reblogs"]) == ("40", "true")


def test_link_pagination_is_followed_by_max_id_until_there_is_no_next_link() -> None:
    statuses = timeline()
    last_page_key = statuses[3]["id"]
    pages = {None: statuses[:2], statuses[1]["id"]: statuses[2:4], last_page_key: statuses[4:]}

    def answer(request: httpx.Request) -> httpx.Response:
        max_id = request.url.params.get("max_id")
        page = pages[max_id]
        headers = dict(RATE_HEADERS)
        if max_id != last_page_key:
            headers["Link"] = (
                f"<https://localhost{STATUSES_PATH}?limit=40&max_id={page[-1]['id']}>; "
                f'rel="next", <https://localhost{STATUSES_PATH}?min_id={page[0]["id"]}>; rel="prev"'
            )
        return json_response(200, page, headers)

    instances = Instances()
    instances.route("localhost", STATUSES_PATH, answer)
    found = posts(make_connector(instances), "m@localhost", since=NOW - timedelta(days=3650))
    assert [r.url.params.get("max_id") for r in instances.requests] == [
        None,
        statuses[1]["id"],
        statuses[3]["id"],
    ]
    assert len(found.posts) == 5


def test_pagination_stops_once_statuses_are_older_than_since() -> None:
    statuses = timeline()
    next_link = f'<https://localhost{STATUSES_PATH}?max_id={statuses[-1]["id"]}>; rel="next"'
    instances = Instances()
    instances.route(
        "localhost",
        STATUSES_PATH,
        lambda _: json_response(200, statuses, {**RATE_HEADERS, "Link": next_link}),
    )
    since = datetime(2022, 11, 29, tzinfo=UTC)
    found = posts(make_connector(instances), "m@localhost", since=since)
    assert len(instances.requests) == 1
    assert all(p.published_at >= since for p in found.posts)
    assert len(found.posts) == 3


def test_a_next_link_to_another_host_is_followed_on_the_accounts_own_instance() -> None:
    statuses = timeline()
    evil = f'<https://evil.example{STATUSES_PATH}?max_id={statuses[1]["id"]}>; rel="next"'

    def answer(request: httpx.Request) -> httpx.Response:
        first = "max_id" not in request.url.params
        headers = {**RATE_HEADERS, "Link": evil} if first else RATE_HEADERS
        return json_response(200, statuses[:2] if first else statuses[2:], headers)

    instances = Instances()
    instances.route("home.example", STATUSES_PATH, answer)
    connector = make_connector(
        instances, access_token=SecretStr("t"), token_instance="home.example"
    )
    posts(connector, "m@home.example", since=NOW - timedelta(days=3650))
    assert [r.url.host for r in instances.requests] == ["home.example", "home.example"]


def test_fetch_posts_without_a_platform_id_looks_the_account_up_first() -> None:
    instances = Instances()
    instances.account("localhost", account_body(id=KNOWN_ID), timeline())
    connector = make_connector(instances)
    page = run(connector.fetch_posts(AccountRef("m@localhost"), since=None))
    assert len(page.posts) == 5
    assert connector.stats.by_endpoint == {LOOKUP: 1, STATUSES: 1}


def test_quotes_count_is_read_where_the_instance_publishes_it() -> None:
    status = {**recorded_status(), "quotes_count": 7}
    connector = make_connector(timeline_at("localhost", [status]))
    assert posts(connector, "m@localhost").posts[0].quotes == 7


def test_quotes_are_none_on_instances_older_than_quote_posts() -> None:
    connector = make_connector(timeline_at("localhost", [recorded_status()]))
    assert posts(connector, "m@localhost").posts[0].quotes is None


@pytest.mark.parametrize(
    ("media", "poll", "kind"),
    [
        ([{"type": "image"}], None, "image"),
        ([{"type": "gifv"}], None, "video"),
        ([], {"id": "1"}, "poll"),
        ([], None, "text"),
    ],
)
def test_the_kind_follows_the_first_attachment(
    media: list[dict[str, str]], poll: dict[str, str] | None, kind: str
) -> None:
    status = {**recorded_status(), "media_attachments": media, "poll": poll}
    connector = make_connector(timeline_at("localhost", [status]))
    assert posts(connector, "m@localhost").posts[0].kind == kind


def test_a_status_without_created_at_raises_payload_changed_and_stores_nothing() -> None:
    broken = recorded_status()
    del broken["created_at"]
    connector = make_connector(timeline_at("localhost", [own_status(1), broken]))
    with pytest.raises(PayloadChanged):
        posts(connector, "m@localhost")


# -- captions ------------------------------------------------------------------------------------


def test_html_is_stripped_from_captions_keeping_paragraphs_links_and_tags() -> None:
    content = (
        '<p>Hello <span class="h-card"><a href="https://x.example/@ana" class="u-url mention">'
        "@<span>ana</span></a></span> &amp; friends!<br />Second line</p>"
        '<p>Read <a href="https://example.com/page/that/is/very/long">'
        '<span class="invisible">https://</span><span class="ellipsis">example.com/page</span>'
        '<span class="invisible">/that/is/very/long</span></a> '
        '<a href="https://x.example/tags/news" class="mention hashtag" rel="tag">'
        "#<span>news</span></a></p>"
    )
    assert caption_from_html(content) == (
        "Hello @ana & friends!\nSecond line\n\n"
        "Read https://example.com/page/that/is/very/long #news"
    )


def test_the_quote_inline_fallback_is_dropped_from_captions() -> None:
    content = (
        '<p class="quote-inline">RE: <a href="https://x.example/@b/1">'
        "<span>x.example/@b/1</span></a></p><p>My take</p>"
    )
    assert caption_from_html(content) == "My take"


def test_an_empty_content_has_no_caption() -> None:
    assert caption_from_html("") is None


# -- rate limits ---------------------------------------------------------------------------------


def test_an_iso_8601_x_ratelimit_reset_sets_the_retry_time_of_a_429() -> None:
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2026-11-02T12:04:30.500Z"}
    instances = Instances()
    instances.route(
        "busy.example",
        "/api/v1/accounts/lookup",
        lambda _: json_response(429, {"error": "Too many requests"}, headers),
    )
    with pytest.raises(RateLimited) as caught:
        profiles(make_connector(instances), "a@busy.example")
    assert caught.value.retry_at == datetime(2026, 11, 2, 12, 4, 30, 500000, tzinfo=UTC)


def test_a_nearly_spent_window_holds_calls_to_that_instance_only_until_its_reset() -> None:
    nearly_spent = {"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": "2026-11-02T12:00:30.000Z"}
    instances = Instances()
    instances.route(
        "busy.example",
        "/api/v1/accounts/lookup",
        lambda _: json_response(200, account_body(), nearly_spent),
    )
    instances.account("quiet.example", account_body())
    sleeps = Recorder()
    connector = make_connector(instances, sleeps)
    profiles(connector, "a@busy.example")
    profiles(connector, "b@quiet.example")
    assert sleeps.waits == []
    profiles(connector, "a@busy.example")
    assert sleeps.waits == [30.0]


def test_pass_cost_is_one_lookup_and_one_statuses_page_per_account() -> None:
    connector = make_connector(Instances())
    assert connector.pass_cost(7) == {LOOKUP: 7, STATUSES: 7}


def test_plan_capacity_is_one_instances_default_window_a_day() -> None:
    connector = make_connector(Instances())
    assert connector.budget.capacity_per_day() == (300 - 5) * 288


# -- over real loopback HTTP, against the fake platform -------------------------------------


@pytest.fixture
def world() -> World:
    return World(clock=lambda: NOW, posts_per_account=12)


def loopback_pass(world: World, handles: list[str]) -> tuple[MastodonConnector, dict[str, Any]]:
    with FakePlatformServer(world) as server:
        connector = MastodonConnector(
            MastodonConfig(base_url=server.url_for("mastodon")), clock=lambda: NOW
        )

        async def collect() -> dict[str, Any]:
            pages: dict[str, Any] = {}
            try:
                batch = None
                for handle in handles:
                    batch = await connector.fetch_profiles([AccountRef(handle)])
                    ref = AccountRef(handle, batch.profiles[handle].platform_id)
                    pages[handle] = await connector.fetch_posts(ref, since=NOW - timedelta(days=30))
            finally:
                await connector.aclose()
            return pages

        return connector, run(collect())


def test_a_pass_costs_two_calls_per_account_over_loopback(world: World) -> None:
    handles = ["ana@one.example", "bo@two.example", "cy@three.example"]
    for handle in handles:
        world.add("mastodon", handle)
    connector, _ = loopback_pass(world, handles)
    assert world.calls[("mastodon", LOOKUP)] == 3
    assert world.calls[("mastodon", STATUSES)] == 3
    assert connector.stats.calls == 6 == sum(connector.pass_cost(3).values())


def test_the_fake_timelines_boost_is_excluded_and_captions_match_over_loopback(
    world: World,
) -> None:
    account = world.add("mastodon", "ana@one.example")
    _, pages = loopback_pass(world, ["ana@one.example"])
    got = {p.platform_post_id: p.caption for p in pages["ana@one.example"].posts}
    expected = {
        p.id: p.caption for p in account.posts if p.published_at >= NOW - timedelta(days=30)
    }
    assert got == expected

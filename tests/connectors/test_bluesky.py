"""The Bluesky AppView connector: the conformance suite on recorded samples, then each quirk."""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import ValidationError

from connectors.base import PlatformConfig
from connectors.bluesky import BlueskyConfig, BlueskyConnector
from connectors.errors import (
    AccountNotFound,
    AccountSuspended,
    PayloadChanged,
    RateLimited,
)
from connectors.http import RetryPolicy
from connectors.records import AccountRef, PostPage, PostRecord, ProfileBatch
from connectors.testing import NOW, ConnectorConformance, Recorder
from tests.fakeplatform.bluesky import OTHER_DID, did_of
from tests.fakeplatform.core import World
from tests.fakeplatform.server import FakePlatformServer

T = TypeVar("T")

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "platform-samples" / "bluesky"


def _sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


PROFILES = _sample("getProfiles_chriskenny_2023.json")
CHRIS = PROFILES["profiles"][0]
CHRIS_DID: str = CHRIS["did"]
#: A real post by another author (Soubhik Barari), as getPosts served it in 2023.
OTHERS_POST: dict[str, Any] = _sample("getPosts_single_post_2023.json")["posts"][0]
NOT_FOUND_BODY = (SAMPLES / "error_400_profile_not_found.json").read_bytes()
RATE_LIMITED_BODY = (SAMPLES / "error_429_RateLimitExceeded.json").read_bytes()
JSON = {"content-type": "application/json; charset=utf-8"}


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def uri_of(rkey: str, did: str = CHRIS_DID) -> str:
    return f"at://{did}/app.bsky.feed.post/{rkey}"


def own_post(rkey: str, created: str | datetime, **fields: Any) -> dict[str, Any]:
    """The recorded post's shape, written by Chris Kenny (the profile sample's account)."""
    post = copy.deepcopy(OTHERS_POST)
    post["uri"] = uri_of(rkey)
    post["author"] = {k: CHRIS[k] for k in ("did", "handle", "displayName", "avatar", "viewer")}
    stamp = created if isinstance(created, str) else iso(created)
    post["record"]["createdAt"] = stamp
    post["indexedAt"] = stamp
    for key, value in fields.items():
        if value is None:
            post.pop(key, None)
        else:
            post[key] = value
    return post


def item(post: dict[str, Any]) -> dict[str, Any]:
    return {"post": post}


def repost_item(post: dict[str, Any], at: str | datetime) -> dict[str, Any]:
    stamp = at if isinstance(at, str) else iso(at)
    by = {k: CHRIS[k] for k in ("did", "handle", "displayName")}
    reason = {"$type": "app.bsky.feed.defs#reasonRepost", "by": by, "indexedAt": stamp}
    return {"post": post, "reason": reason}


def reply_item(post: dict[str, Any], parent: dict[str, Any]) -> dict[str, Any]:
    ref = {"uri": parent["uri"], "cid": parent["cid"]}
    post["record"]["reply"] = {"root": ref, "parent": ref}
    view = {"$type": "app.bsky.feed.defs#postView", **parent}
    return {"post": post, "reply": {"root": view, "parent": view}}


def pinned_item(post: dict[str, Any]) -> dict[str, Any]:
    return {"post": post, "reason": {"$type": "app.bsky.feed.defs#reasonPin"}}


# The sample feed, newest first: a repost of someone else's post, then four of Chris's own posts
# (the first is the recorded post itself, from 2023, without quoteCount).
SAMPLE_FEED: list[dict[str, Any]] = [
    repost_item(OTHERS_POST, "2023-09-20T08:00:00.000Z"),
    item(own_post("3k7qmjev5lr2s", OTHERS_POST["record"]["createdAt"])),
    reply_item(own_post("3k7pxreply0002", "2023-09-18T20:00:00.000Z"), OTHERS_POST),
    item(own_post("3k7nquote00003", "2023-09-17T10:00:00.000Z", quoteCount=2, likeCount=12)),
    item(own_post("3k7kold0000004", "2023-09-15T09:00:00.000Z", quoteCount=0)),
]


def query(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.url.query.decode())


def endpoint(request: httpx.Request) -> str:
    return request.url.path.rsplit("/", 1)[-1]


class TestBlueskyConformance(ConnectorConformance):
    connector_cls = BlueskyConnector
    handle = "chriskenny.bsky.social"
    expected_profile: ClassVar[dict[str, Any]] = {
        "handle": "chriskenny.bsky.social",
        "platform_id": "did:plc:wpe35pganb6d4pg4ekmfy6u5",
        "collected_at": NOW,
        "followers": 10,
        "following": 23,
        "posts_count": 0,
        "followers_rounded": False,
        "followers_hidden": False,
        "display_name": "Chris Kenny",
    }
    expected_first_post: ClassVar[dict[str, Any]] = {
        "platform_post_id": "at://did:plc:wpe35pganb6d4pg4ekmfy6u5/app.bsky.feed.post/3k7qmjev5lr2s",
        "published_at": datetime(2023, 9, 19, 11, 32, 54, 574000, tzinfo=UTC),
        "collected_at": NOW,
        "kind": "post",
        "url": "https://bsky.app/profile/did:plc:wpe35pganb6d4pg4ekmfy6u5/post/3k7qmjev5lr2s",
        "caption": OTHERS_POST["record"]["text"],
        "views": None,
        "likes": 4,
        "comments": 0,
        "shares": 0,
        "quotes": None,
        "saves": None,
        "has_counts": True,
    }
    expected_post_count = 4
    page_count = 2
    expected_paginated_posts = 4

    def config(self, base_url: str) -> PlatformConfig:
        return BlueskyConfig(base_url=base_url)

    def platform_id_of(self, handle: str) -> str | None:
        return CHRIS_DID if handle == self.handle else None

    def respond(self, request: httpx.Request, case: str) -> httpx.Response:
        if case == "quota":
            reset = int((NOW + timedelta(minutes=5)).timestamp())
            headers = {**JSON, "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
            return httpx.Response(429, content=RATE_LIMITED_BODY, headers=headers)
        if case == "not_found" and endpoint(request) != "app.bsky.actor.getProfiles":
            return httpx.Response(400, content=NOT_FOUND_BODY, headers=JSON)
        if endpoint(request) == "app.bsky.actor.getProfiles":
            known = case != "not_found" and CHRIS_DID in query(request).get("actors", [])
            return httpx.Response(200, json={"profiles": [CHRIS] if known else []})
        if endpoint(request) == "app.bsky.actor.getProfile":
            return httpx.Response(200, json=CHRIS)
        if case == "paginated":
            if "cursor" not in query(request):
                return httpx.Response(200, json={"feed": SAMPLE_FEED[:3], "cursor": "p2"})
            return httpx.Response(200, json={"feed": SAMPLE_FEED[3:]})
        return httpx.Response(200, json={"feed": SAMPLE_FEED})

    # Overridden: since=None asks for one normal page (the PostPage contract), so pagination on
    # Bluesky is driven by ``since``; this version asks for every post after a date older than
    # all of them, and checks that every page is followed and that the walk ends.
    def test_pagination_follows_every_page_and_ends(self) -> None:
        connector, _, seen = self.make("paginated")
        page = self.run(connector.fetch_posts(self.ref(), since=datetime(2000, 1, 1, tzinfo=UTC)))
        assert len(page.posts) == self.expected_paginated_posts
        assert len(seen) == self.page_count


# -- helpers for the quirk tests ---------------------------------------------------------------

Handler = Callable[[httpx.Request], httpx.Response]


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def make_connector(
    handler: Handler, *, page_size: int = 50
) -> tuple[BlueskyConnector, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    sleeps = Recorder()
    connector = BlueskyConnector(
        BlueskyConfig(base_url="https://appview.test/xrpc", feed_page_size=page_size),
        transport=httpx.MockTransport(record),
        clock=lambda: NOW,
        retry=RetryPolicy(max_attempts=3, sleep=sleeps, clock=lambda: NOW),
    )
    connector.budget.sleep = sleeps
    return connector, seen


def feed_of(*pages: Sequence[dict[str, Any]]) -> Handler:
    """Serve ``pages`` in order, linked by cursors "1", "2", …; the last page links onwards too."""

    def handler(request: httpx.Request) -> httpx.Response:
        index = int(query(request).get("cursor", ["0"])[0])
        if index >= len(pages):
            return httpx.Response(200, json={"feed": []})
        return httpx.Response(200, json={"feed": list(pages[index]), "cursor": str(index + 1)})

    return handler


def profiles_of(*views: dict[str, Any]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"profiles": list(views)})

    return handler


def chris(since: datetime | None = None, handler: Handler | None = None) -> PostPage:
    connector, _ = make_connector(handler or feed_of(SAMPLE_FEED))
    return run(connector.fetch_posts(AccountRef("chriskenny.bsky.social", CHRIS_DID), since=since))


def posts_from(*items: dict[str, Any]) -> list[PostRecord]:
    return list(chris(handler=feed_of(items)).posts)


def published(created: str, indexed: str) -> datetime:
    post = own_post("3ktime", created)
    post["indexedAt"] = indexed
    return posts_from(item(post))[0].published_at


# -- the feed: only the creator's own posts ------------------------------------------------------


def test_reposts_of_other_authors_posts_are_left_out() -> None:
    posts = posts_from(repost_item(OTHERS_POST, NOW), item(own_post("3kown", NOW - timedelta(1))))
    assert [p.platform_post_id for p in posts] == [uri_of("3kown")]


def test_a_reply_is_the_creators_post_but_its_parent_and_root_are_not() -> None:
    posts = posts_from(reply_item(own_post("3kreply", NOW - timedelta(hours=1)), OTHERS_POST))
    assert [(p.platform_post_id, p.kind) for p in posts] == [(uri_of("3kreply"), "reply")]


def test_an_item_written_by_someone_else_without_a_reason_is_left_out() -> None:
    assert posts_from(item(copy.deepcopy(OTHERS_POST))) == []


# -- counts --------------------------------------------------------------------------------------


def test_a_post_from_before_quote_counts_has_quotes_none_not_zero() -> None:
    assert "quoteCount" not in OTHERS_POST
    assert chris().posts[0].quotes is None


def test_quote_count_is_read_when_published() -> None:
    assert [p.quotes for p in chris().posts] == [None, None, 2, 0]


def test_bookmark_count_is_saves_when_published_and_none_otherwise() -> None:
    posts = posts_from(
        item(own_post("3kbook", NOW - timedelta(hours=1), bookmarkCount=7)),
        item(own_post("3knobook", NOW - timedelta(hours=2))),
    )
    assert [p.saves for p in posts] == [7, None]


def test_reposts_are_shares_replies_are_comments_and_views_are_never_published() -> None:
    post = own_post("3kcounts", NOW - timedelta(hours=1), likeCount=30, replyCount=4)
    post["repostCount"] = 6
    (record,) = posts_from(item(post))
    assert (record.likes, record.comments, record.shares, record.views) == (30, 4, 6, None)


def test_a_count_that_is_not_a_number_raises_payload_changed() -> None:
    post = own_post("3kbad", NOW - timedelta(hours=1), likeCount="many")
    with pytest.raises(PayloadChanged):
        posts_from(item(post))


def test_a_feed_item_without_a_post_raises_payload_changed() -> None:
    with pytest.raises(PayloadChanged):
        posts_from({"reason": {"$type": "app.bsky.feed.defs#reasonRepost"}, "postt": {}})


# -- publication times ---------------------------------------------------------------------------


def test_published_at_is_created_at_when_it_precedes_indexing() -> None:
    assert published("2026-10-30T10:00:00.000Z", "2026-10-30T10:00:02.000Z") == datetime(
        2026, 10, 30, 10, 0, tzinfo=UTC
    )


def test_a_created_at_later_than_indexing_falls_back_to_indexed_at() -> None:
    assert published("2027-06-01T00:00:00.000Z", "2026-10-30T10:00:00.000Z") == datetime(
        2026, 10, 30, 10, 0, tzinfo=UTC
    )


def test_a_created_at_out_of_range_falls_back_to_indexed_at() -> None:
    assert published("9999-12-31T23:59:59-12:00", "2026-10-30T10:00:00.000Z") == datetime(
        2026, 10, 30, 10, 0, tzinfo=UTC
    )


def test_a_backdated_created_at_is_kept() -> None:
    assert published("2015-03-01T12:00:00.000Z", "2026-10-30T10:00:00.000Z") == datetime(
        2015, 3, 1, 12, 0, tzinfo=UTC
    )


def test_no_post_is_dated_after_our_clock_even_if_the_appview_runs_ahead() -> None:
    ahead = iso(NOW + timedelta(minutes=3))
    assert published(ahead, ahead) == NOW


# -- pagination and the pinned post --------------------------------------------------------------


def test_a_pinned_old_post_does_not_end_pagination_early() -> None:
    first = [
        pinned_item(own_post("3kpinned", NOW - timedelta(days=400))),
        item(own_post("3knew1", NOW - timedelta(days=1))),
        item(own_post("3knew2", NOW - timedelta(days=2))),
    ]
    second = [
        item(own_post("3knew3", NOW - timedelta(days=3))),
        item(own_post("3kold4", NOW - timedelta(days=40))),
    ]
    connector, seen = make_connector(feed_of(first, second, [item(own_post("3kx", NOW))]))
    page = run(
        connector.fetch_posts(AccountRef("c.bsky.social", CHRIS_DID), since=NOW - timedelta(30))
    )
    assert [p.platform_post_id for p in page.posts] == [
        uri_of(k) for k in ("3knew1", "3knew2", "3knew3")
    ]
    assert len(seen) == 2


def test_a_recent_pinned_post_is_returned_once_in_its_place() -> None:
    newer = own_post("3knewer", NOW - timedelta(hours=1))
    pinned = own_post("3kpinned", NOW - timedelta(hours=5))
    posts = posts_from(pinned_item(pinned), item(newer), item(copy.deepcopy(pinned)))
    assert [p.platform_post_id for p in posts] == [uri_of("3knewer"), uri_of("3kpinned")]


def test_pagination_stops_at_the_first_page_reaching_before_since() -> None:
    pages = [
        [
            item(own_post("3ka", NOW - timedelta(days=1))),
            item(own_post("3kb", NOW - timedelta(days=9))),
        ],
        [item(own_post("3kc", NOW - timedelta(days=20)))],
    ]
    connector, seen = make_connector(feed_of(*pages))
    page = run(
        connector.fetch_posts(AccountRef("c.bsky.social", CHRIS_DID), since=NOW - timedelta(5))
    )
    assert [p.platform_post_id for p in page.posts] == [uri_of("3ka")]
    assert len(seen) == 1


def test_reposts_older_than_since_end_pagination_too() -> None:
    pages = [[repost_item(OTHERS_POST, NOW - timedelta(days=10))], [item(own_post("3ka", NOW))]]
    connector, seen = make_connector(feed_of(*pages))
    run(connector.fetch_posts(AccountRef("c.bsky.social", CHRIS_DID), since=NOW - timedelta(5)))
    assert len(seen) == 1


def test_without_since_one_page_is_fetched() -> None:
    pages = [[item(own_post("3ka", NOW - timedelta(days=1)))], [item(own_post("3kb", NOW))]]
    connector, seen = make_connector(feed_of(*pages))
    run(connector.fetch_posts(AccountRef("c.bsky.social", CHRIS_DID), since=None))
    assert len(seen) == 1


def test_an_empty_page_ends_pagination_even_with_a_cursor() -> None:
    pages = [[item(own_post("3ka", NOW - timedelta(days=1)))]]
    connector, seen = make_connector(feed_of(*pages))
    run(connector.fetch_posts(AccountRef("c.bsky.social", CHRIS_DID), since=NOW - timedelta(30)))
    assert len(seen) == 2  # the page, then the empty page its cursor points to


def test_a_repeated_cursor_ends_pagination() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        post = own_post("3kloop", NOW - timedelta(hours=1))
        return httpx.Response(200, json={"feed": [item(post)], "cursor": "same"})

    connector, seen = make_connector(handler)
    run(connector.fetch_posts(AccountRef("c.bsky.social", CHRIS_DID), since=NOW - timedelta(30)))
    assert len(seen) == 2


def test_the_feed_is_asked_by_did_with_the_page_size_and_every_reply() -> None:
    connector, seen = make_connector(feed_of(SAMPLE_FEED), page_size=100)
    run(connector.fetch_posts(AccountRef("chriskenny.bsky.social", CHRIS_DID), since=None))
    assert query(seen[0]) == {
        "actor": [CHRIS_DID],
        "limit": ["100"],
        "filter": ["posts_with_replies"],
    }


def test_the_cursor_stored_with_the_posts_is_the_newest_posts_uri() -> None:
    assert chris().cursor == uri_of("3k7qmjev5lr2s")


def test_the_feed_page_size_cannot_exceed_the_appview_maximum() -> None:
    with pytest.raises(ValidationError):
        BlueskyConfig(feed_page_size=101)


# -- profiles --------------------------------------------------------------------------------------


def test_asking_by_did_maps_the_answer_back_to_the_watchlist_handle() -> None:
    renamed = {**CHRIS, "handle": "kenny-renamed.bsky.social"}
    connector, seen = make_connector(profiles_of(renamed))
    batch = run(connector.fetch_profiles([AccountRef("ChrisKenny.bsky.social", CHRIS_DID)]))
    assert query(seen[0])["actors"] == [CHRIS_DID]
    assert batch.profiles["ChrisKenny.bsky.social"].handle == "ChrisKenny.bsky.social"
    assert batch.profiles["ChrisKenny.bsky.social"].platform_id == CHRIS_DID


def test_handles_are_sent_lowercased_and_matched_case_insensitively() -> None:
    connector, seen = make_connector(profiles_of(CHRIS))
    batch = run(connector.fetch_profiles([AccountRef("ChrisKenny.bsky.social")]))
    assert query(seen[0])["actors"] == ["chriskenny.bsky.social"]
    assert batch.profiles["ChrisKenny.bsky.social"].followers == 10


def test_a_full_batch_of_25_goes_in_one_call_with_the_actors_parameter_repeated() -> None:
    handles = [f"creator{i}.bsky.social" for i in range(25)]
    views = [{**CHRIS, "did": f"did:plc:creator{i}", "handle": h} for i, h in enumerate(handles)]
    connector, seen = make_connector(profiles_of(*views))
    batch = run(connector.fetch_profiles([AccountRef(h) for h in handles]))
    assert len(seen) == 1
    assert query(seen[0])["actors"] == handles
    assert sorted(batch.profiles) == sorted(handles)


def test_a_malformed_handle_is_reported_not_found_without_being_sent() -> None:
    connector, seen = make_connector(profiles_of(CHRIS))
    batch = run(connector.fetch_profiles([AccountRef("not a handle"), AccountRef(CHRIS["handle"])]))
    assert query(seen[0])["actors"] == [CHRIS["handle"]]
    assert isinstance(batch.failures["not a handle"], AccountNotFound)


def _missing_actor(error: bytes) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if endpoint(request) == "app.bsky.actor.getProfiles":
            return httpx.Response(200, json={"profiles": [CHRIS]})
        return httpx.Response(400, content=error, headers=JSON)

    return handler


def _fetch_with_gone(error: bytes) -> tuple[ProfileBatch, list[httpx.Request]]:
    connector, seen = make_connector(_missing_actor(error))
    refs = [AccountRef(CHRIS["handle"]), AccountRef("gone.bsky.social")]
    return run(connector.fetch_profiles(refs)), seen


def test_an_actor_missing_from_get_profiles_and_unknown_is_not_found() -> None:
    batch, seen = _fetch_with_gone(NOT_FOUND_BODY)
    assert isinstance(batch.failures["gone.bsky.social"], AccountNotFound)
    assert batch.failures["gone.bsky.social"].handle == "gone.bsky.social"
    assert list(batch.profiles) == [CHRIS["handle"]]
    assert [endpoint(r) for r in seen] == [
        "app.bsky.actor.getProfiles",
        "app.bsky.actor.getProfile",
    ]


def test_a_taken_down_account_is_suspended() -> None:
    body = b'{"error":"AccountTakedown","message":"Account has been suspended"}'
    batch, _ = _fetch_with_gone(body)
    assert isinstance(batch.failures["gone.bsky.social"], AccountSuspended)


def test_a_deactivated_account_is_suspended() -> None:
    body = b'{"error":"AccountDeactivated","message":"Account is deactivated"}'
    batch, _ = _fetch_with_gone(body)
    assert isinstance(batch.failures["gone.bsky.social"], AccountSuspended)


def test_a_profile_without_counts_has_none_not_zero() -> None:
    bare = {k: CHRIS[k] for k in ("did", "handle")}
    connector, _ = make_connector(profiles_of(bare))
    record = run(connector.fetch_profiles([AccountRef(CHRIS["handle"])])).profiles[CHRIS["handle"]]
    assert (record.followers, record.following, record.posts_count) == (None, None, None)


# -- errors and the rate limit -----------------------------------------------------------------


def test_a_400_profile_not_found_on_the_feed_is_account_not_found() -> None:
    connector, _ = make_connector(lambda r: httpx.Response(400, content=NOT_FOUND_BODY))
    with pytest.raises(AccountNotFound) as caught:
        run(connector.fetch_posts(AccountRef("gone.bsky.social"), since=None))
    assert caught.value.handle == "gone.bsky.social"


def test_another_400_is_a_config_error_naming_the_xrpc_error() -> None:
    body = b'{"error":"InvalidRequest","message":"Error: limit can not be greater than 100"}'
    connector, _ = make_connector(lambda r: httpx.Response(400, content=body))
    with pytest.raises(Exception, match="InvalidRequest") as caught:
        run(connector.fetch_posts(AccountRef("c.bsky.social"), since=None))
    assert type(caught.value).__name__ == "ConfigError"


def test_a_429_rate_limit_exceeded_is_rate_limited_until_the_ratelimit_reset_epoch() -> None:
    reset = int((NOW + timedelta(minutes=4)).timestamp())
    headers = {**JSON, "RateLimit-Remaining": "0", "RateLimit-Reset": str(reset)}
    connector, seen = make_connector(
        lambda r: httpx.Response(429, content=RATE_LIMITED_BODY, headers=headers)
    )
    with pytest.raises(RateLimited) as caught:
        run(connector.fetch_profiles([AccountRef(CHRIS["handle"])]))
    assert caught.value.retry_at == datetime.fromtimestamp(reset, UTC)
    assert len(seen) == 1


def test_the_rate_limit_window_is_shared_by_every_endpoint() -> None:
    reset = int((NOW + timedelta(minutes=4)).timestamp())
    headers = {"RateLimit-Remaining": "1", "RateLimit-Reset": str(reset)}
    connector, seen = make_connector(
        lambda r: httpx.Response(200, json={"profiles": [CHRIS]}, headers=headers)
    )
    run(connector.fetch_profiles([AccountRef(CHRIS["handle"])]))
    with pytest.raises(RateLimited):
        run(connector.fetch_posts(AccountRef(CHRIS["handle"], CHRIS_DID), since=None))
    assert len(seen) == 1


def test_pass_cost_is_one_profile_call_per_25_accounts_and_one_feed_call_each() -> None:
    connector, _ = make_connector(feed_of())
    assert connector.pass_cost(60) == {"getProfiles": 3, "getAuthorFeed": 60}


# -- over real loopback HTTP, against the fake AppView --------------------------------------------


def _against_fake_appview(
    world: World, work: Callable[[BlueskyConnector], Coroutine[Any, Any, T]]
) -> tuple[T, BlueskyConnector]:
    sleeps = Recorder()
    with FakePlatformServer(world) as server:
        connector = BlueskyConnector(
            BlueskyConfig(base_url=server.url_for("bluesky")),
            clock=lambda: NOW,
            retry=RetryPolicy(max_attempts=3, sleep=sleeps, clock=lambda: NOW),
        )

        async def go() -> T:
            try:
                return await work(connector)
            finally:
                await connector.aclose()

        return run(go()), connector


def test_sixty_accounts_cost_three_profile_calls_and_sixty_feed_calls() -> None:
    world = World(clock=lambda: NOW, auto_create=True)
    handles = [f"creator{i}.bsky.social" for i in range(60)]

    async def one_pass(connector: BlueskyConnector) -> list[PostPage]:
        batches = [
            await connector.fetch_profiles([AccountRef(h) for h in handles[i : i + 25]])
            for i in range(0, 60, 25)
        ]
        ids = {h: r.platform_id for b in batches for h, r in b.profiles.items()}
        since = NOW - timedelta(days=30)
        return [await connector.fetch_posts(AccountRef(h, ids[h]), since=since) for h in handles]

    pages, connector = _against_fake_appview(world, one_pass)
    assert world.calls[("bluesky", "getProfiles")] == 3
    assert world.calls[("bluesky", "getAuthorFeed")] == 60
    assert connector.stats.by_endpoint == {"getProfiles": 3, "getAuthorFeed": 60}
    assert all(len(page.posts) == world.posts_per_account for page in pages)


def test_over_http_the_feed_yields_exactly_the_accounts_own_posts() -> None:
    world = World(clock=lambda: NOW)
    account = world.add("bluesky", "alice.bsky.social")
    did = did_of(account)

    async def posts(connector: BlueskyConnector) -> PostPage:
        return await connector.fetch_posts(
            AccountRef("alice.bsky.social", did), since=NOW - timedelta(days=60)
        )

    page, _ = _against_fake_appview(world, posts)
    expected = [uri_of(p.id, did) for p in account.posts]
    assert [p.platform_post_id for p in page.posts] == expected
    assert [p.kind for p in page.posts].count("reply") == 1
    assert not any(OTHER_DID in p.platform_post_id for p in page.posts)


def test_over_http_small_pages_are_followed_until_since() -> None:
    world = World(clock=lambda: NOW)
    account = world.add("bluesky", "alice.bsky.social")
    sleeps = Recorder()
    with FakePlatformServer(world) as server:
        connector = BlueskyConnector(
            BlueskyConfig(base_url=server.url_for("bluesky"), feed_page_size=5),
            clock=lambda: NOW,
            retry=RetryPolicy(max_attempts=3, sleep=sleeps, clock=lambda: NOW),
        )

        async def go() -> PostPage:
            try:
                ref = AccountRef("alice.bsky.social", did_of(account))
                return await connector.fetch_posts(ref, since=NOW - timedelta(days=60))
            finally:
                await connector.aclose()

        page = run(go())
    assert len(page.posts) == len(account.posts)
    assert world.calls[("bluesky", "getAuthorFeed")] == 3  # 13 feed items, 5 a page


def test_over_http_gone_accounts_are_told_apart() -> None:
    world = World(clock=lambda: NOW)
    world.add("bluesky", "here.bsky.social")
    world.add("bluesky", "banned.bsky.social", status="suspended")
    refs = [AccountRef(h) for h in ("here.bsky.social", "banned.bsky.social", "nobody.bsky.social")]

    async def profiles(connector: BlueskyConnector) -> ProfileBatch:
        return await connector.fetch_profiles(refs)

    batch, _ = _against_fake_appview(world, profiles)
    assert list(batch.profiles) == ["here.bsky.social"]
    assert isinstance(batch.failures["banned.bsky.social"], AccountSuspended)
    assert type(batch.failures["nobody.bsky.social"]) is AccountNotFound

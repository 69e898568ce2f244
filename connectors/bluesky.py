"""Bluesky through the public AppView (``https://public.api.bsky.app/xrpc``): no credentials.

Endpoints
---------
Names in brackets are the ones counted in ``stats`` and shown by ``collector plan``.

- ``GET app.bsky.actor.getProfiles?actors=a&actors=b…`` [``getProfiles``]: up to 25 actors
  (handles or DIDs, the parameter repeated) per call; answers
  ``{"profiles": [profileViewDetailed]}`` with ``did``, ``handle``, ``displayName``,
  ``followersCount``, ``followsCount``, ``postsCount``.
- ``GET app.bsky.actor.getProfile?actor=`` [``getProfile``]: only for an actor that getProfiles
  left out of its answer, to tell "not found" from "suspended" or "deactivated" (getProfiles drops
  all three silently; getProfile says which). Costs nothing while every account exists.
- ``GET app.bsky.feed.getAuthorFeed?actor=&limit=&filter=posts_with_replies&cursor=``
  [``getAuthorFeed``]: the creator's feed, newest first, ``{"feed": [feedViewPost], "cursor"}``.
  ``posts_with_replies`` (the documented default, sent explicitly so a change of default cannot
  change what is collected) is the only filter that keeps the creator's replies in other
  people's threads, which are the creator's own posts.

Calls per pass for N accounts: ``ceil(N / 25)`` getProfiles + ``N`` getAuthorFeed (one page each
when ``feed_page_size`` covers the posts since the re-poll horizon; one more page per further
``feed_page_size`` posts), + one getProfile per account the AppView no longer lists.

Quota: Bluesky publishes no number for the AppView ("generous rate-limits"; the PDS documents
3,000 requests per 5 minutes per IP). Responses carry ``RateLimit-Limit``, ``RateLimit-Remaining``,
``RateLimit-Reset`` (epoch seconds) and ``RateLimit-Policy`` (``3000;w=300``). The budget is a
:class:`~connectors.budget.HeaderWindow` on ``ratelimit-remaining`` shared by every endpoint
(the limit is per IP, not per endpoint): when one call is left it waits for the reset, or raises
``RateLimited`` if the reset is more than a minute away. A 429 ``{"error":"RateLimitExceeded"}``
becomes ``RateLimited`` at the ``RateLimit-Reset`` epoch.

Quirks handled
--------------
- getAuthorFeed mixes in the creator's reposts of other people's posts (``reason.$type`` ends in
  ``#reasonRepost``, the ``post`` inside is someone else's): skipped, and only posts whose
  ``author.did`` is the creator's are kept.
- A reply carries ``reply.parent`` and ``reply.root``, full posts of other authors: never read.
  The reply itself is the creator's post (``kind="reply"``).
- A pinned post (``reason.$type`` ``#reasonPin``, served first only with ``includePins``, which is
  not sent) is out of chronological order: it is kept once, but ignored when deciding whether
  the feed has gone past ``since``, so it neither stops pagination early nor breaks the order
  (records are sorted newest first before they are returned). Any unknown ``reason`` is treated
  the same way.
- An unknown actor is a **400** ``{"error":"InvalidRequest","message":"Profile not found"}``, not a
  404: ``AccountNotFound``. ``{"error":"AccountTakedown"}`` and ``{"error":"AccountDeactivated"}``
  (400, from getProfile) are ``AccountSuspended``. Other 400s stay ``ConfigError``.
- A malformed handle (not a hostname of two labels or more) would make the AppView refuse the whole
  batch of 25 with a 400, so it is reported as ``AccountNotFound`` locally and never sent.
- The cached DID is sent in preference to the handle (handles change); an answer is mapped back
  to the handle the pipeline asked for by DID, or by handle case-insensitively.
- ``quoteCount`` is missing in older data and ``bookmarkCount`` (saves) exists only in newer
  AppViews: both become None, never 0. Bluesky publishes no view counts (``views`` is None).
- ``record.createdAt`` is written by the client: it can be in the future or far in the past (posts
  imported from other networks). ``published_at`` is ``createdAt``, or ``indexedAt`` when
  ``createdAt`` is later than ``indexedAt``, unparseable or out of range (``9999-12-31…-12:00``
  overflows); an old ``createdAt`` is kept as is, and no post is dated after ``self.clock()``
  (the AppView's clock may run ahead of ours).
- The cursor is opaque; pagination ends on a missing or repeated cursor, an empty page, the first
  page whose chronological items reach before ``since``, or ``MAX_FEED_PAGES``.
- ``public.api.bsky.app`` is a cache: counts can lag the live AppView by a little.

Verified (search, July 2026 corpus): getProfiles ``actors`` maxLength 25 (lexicon); getAuthorFeed
``limit`` 1–100 default 50, ``filter`` values and default ``posts_with_replies``, ``includePins``
default false (lexicon); the AppView's getAuthorFeed throws ``InvalidRequest`` "Profile not found"
for unknown and taken-down actors and inserts the pin only on the first page with
``includePins`` (atproto ``packages/bsky`` source); ``reasonPin`` and ``bookmarkCount`` in
current ``app.bsky.feed.defs``; ``quoteCount`` absent from 2023 responses (recorded sample);
getProfile's ``AccountTakedown`` "Account has been suspended" (issues quoting live responses) and
``AccountDeactivated`` "Account is deactivated" (a Go client's error table); the rate-limit
headers and the 429 body (issue quoting a live response); the AppView rate-limit policy text
(bsky-docs "Rate Limits").
Unverified: whether ``public.api.bsky.app`` itself sends ``RateLimit-*`` headers (seen on PDS
responses; without them the budget simply never paces); the exact AppView limit; that the
current AppView's getProfiles still drops taken-down and deactivated actors rather than erroring
(read in older source); the feed's sort key being the earlier of ``createdAt``/``indexedAt``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx
from pydantic import Field

from connectors.base import Connector, PlatformConfig
from connectors.budget import Budget, HeaderWindow
from connectors.errors import (
    AccountError,
    AccountNotFound,
    AccountSuspended,
    ConfigError,
    ConnectorError,
)
from connectors.records import AccountRef, PostPage, PostRecord, ProfileBatch, ProfileRecord

__all__ = ["BlueskyConfig", "BlueskyConnector"]

PROFILES_PATH = "app.bsky.actor.getProfiles"
PROFILE_PATH = "app.bsky.actor.getProfile"
FEED_PATH = "app.bsky.feed.getAuthorFeed"
FEED_FILTER = "posts_with_replies"
REASON_REPOST = "app.bsky.feed.defs#reasonRepost"
#: A runaway cursor must not turn one pass into thousands of calls.
MAX_FEED_PAGES = 100

# The atproto handle and DID syntax (atproto.com/specs/handle, /specs/did).
_HANDLE = re.compile(
    r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"
)
_DID = re.compile(r"^did:[a-z]+:[a-zA-Z0-9._:%-]*[a-zA-Z0-9._-]$")
_POST_URI = re.compile(r"^at://(did:[^/]+)/app\.bsky\.feed\.post/([^/?#]+)$")
_MAX_ERROR_TEXT = 200


class BlueskyConfig(PlatformConfig):
    """``[platforms.bluesky]``: the public AppView needs no credentials."""

    feed_page_size: int = Field(
        default=50,
        ge=1,
        le=100,
        description="getAuthorFeed limit: feed items per page (reposts included), at most 100",
    )


class _Unexpected(Exception):
    """A response lacks what the connector needs; turned into PayloadChanged with the body."""


@dataclass
class _FeedPage:
    """The creator's own posts on one feed page, and how far back the page reached."""

    posts: list[PostRecord] = field(default_factory=list)
    #: The oldest chronological position on the page (pins excluded), None if it had none.
    oldest: datetime | None = None


class BlueskyConnector(Connector):
    """Profiles through getProfiles (25 a call) and posts through getAuthorFeed."""

    name: ClassVar[str] = "bluesky"
    config_model: ClassVar[type[PlatformConfig]] = BlueskyConfig
    batch_size: ClassVar[int] = 25
    default_base_url: ClassVar[str] = "https://public.api.bsky.app/xrpc"
    post_batch_size: ClassVar[int] = 0

    # -- quota -------------------------------------------------------------------------------

    def make_budget(self) -> Budget:
        """One window for every endpoint: the AppView limits per IP."""
        return HeaderWindow(
            remaining_header="ratelimit-remaining",
            per_endpoint=False,
            clock=self.clock,
            sleep=self.retry.sleep,
        )

    def pass_cost(self, accounts: int, *, stats_posts: int = 0) -> dict[str, int]:
        """ceil(N / 25) getProfiles + N getAuthorFeed; the feed carries every post's counts."""
        return {"getProfiles": -(-accounts // self.batch_size), "getAuthorFeed": accounts}

    def classify(self, response: httpx.Response) -> ConnectorError | None:
        """Read the XRPC error name behind a 400 before the generic table."""
        if response.status_code != 400:
            return super().classify(response)
        name, message = _xrpc_error(response)
        summary = f"HTTP 400 {name or 'error'}: {message[:_MAX_ERROR_TEXT]}".rstrip(": ")
        if name in ("AccountTakedown", "AccountDeactivated"):
            return AccountSuspended(summary, status_code=400)
        if "profile not found" in message.lower():
            return AccountNotFound(summary, status_code=400)
        if name is not None:
            return ConfigError(summary, status_code=400)
        return super().classify(response)

    # -- profiles ------------------------------------------------------------------------------

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        """Counts of up to 25 accounts in one getProfiles call."""
        profiles: dict[str, ProfileRecord] = {}
        failures: dict[str, AccountError] = {}
        asked: list[tuple[AccountRef, str]] = []
        for ref in accounts:
            actor = _actor(ref)
            if actor is None:
                failures[ref.handle] = _invalid_actor(ref)
            else:
                asked.append((ref, actor))
        if not asked:
            return ProfileBatch(profiles, failures)

        actors = list(dict.fromkeys(actor for _, actor in asked))
        body = await self.get_json(PROFILES_PATH, params={"actors": actors}, endpoint="getProfiles")
        try:
            found = _index_profiles(body)
        except _Unexpected as exc:
            raise self.payload_changed(str(exc), body) from None

        now = self.clock()
        missing: list[tuple[AccountRef, str]] = []
        for ref, actor in asked:
            view = found.get(actor)
            if view is None:
                missing.append((ref, actor))
                continue
            try:
                profiles[ref.handle] = _profile_record(ref.handle, view, now)
            except _Unexpected as exc:
                raise self.payload_changed(str(exc), body) from None

        # getProfiles drops unknown, suspended and deactivated actors alike; only getProfile
        # says which, and this costs a call only for accounts that are gone.
        for ref, actor in missing:
            try:
                single = await self.get_json(
                    PROFILE_PATH, params={"actor": actor}, endpoint="getProfile"
                )
            except AccountError as exc:
                exc.handle = ref.handle
                failures[ref.handle] = exc
                continue
            try:
                view = _as_dict(single, "getProfile answer")
                profiles[ref.handle] = _profile_record(ref.handle, view, self.clock())
            except _Unexpected as exc:
                raise self.payload_changed(str(exc), single) from None
        return ProfileBatch(profiles, failures)

    # -- posts ---------------------------------------------------------------------------------

    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        """The creator's own posts since ``since`` (one page if None), newest first."""
        actor = _actor(account)
        if actor is None:
            raise _invalid_actor(account)
        creator = _Creator.of(account, actor)
        collected: dict[str, PostRecord] = {}
        cursor: str | None = None
        seen_cursors: set[str] = set()
        for _ in range(MAX_FEED_PAGES):
            params: dict[str, Any] = {
                "actor": actor,
                "limit": self._feed_page_size(),
                "filter": FEED_FILTER,
            }
            if cursor is not None:
                params["cursor"] = cursor
            try:
                body = await self.get_json(FEED_PATH, params=params, endpoint="getAuthorFeed")
            except AccountError as exc:
                exc.handle = account.handle
                raise
            try:
                items, cursor = _feed_items(body)
                page = self._parse_feed_page(items, creator)
            except _Unexpected as exc:
                raise self.payload_changed(str(exc), body) from None
            for record in page.posts:
                if since is None or record.published_at >= since:
                    collected.setdefault(record.platform_post_id, record)
            if (
                since is None
                or not items
                or cursor is None
                or cursor in seen_cursors
                or (page.oldest is not None and page.oldest < since)
            ):
                break
            seen_cursors.add(cursor)

        posts = sorted(collected.values(), key=lambda p: p.published_at, reverse=True)
        newest = posts[0].platform_post_id if posts else account.posts_cursor
        return PostPage(tuple(posts), newest)

    def _feed_page_size(self) -> int:
        config = self.config
        if isinstance(config, BlueskyConfig):
            return config.feed_page_size
        return int(BlueskyConfig.model_fields["feed_page_size"].default)

    def _parse_feed_page(self, items: list[Any], creator: _Creator) -> _FeedPage:
        now = self.clock()
        page = _FeedPage()
        # A page repeats its times (a post's createdAt is usually its indexedAt): each
        # distinct one is parsed once.
        times: dict[str, datetime | None] = {}
        for raw in items:
            item = _as_dict(raw, "feed item")
            post = _as_dict(item.get("post"), "feed item without a post")
            reason = item.get("reason")
            if reason is not None:
                if not isinstance(reason, dict):
                    raise _Unexpected("feed item reason is not an object")
                if reason.get("$type") == REASON_REPOST:
                    # A repost sits at the time of the repost: still a chronological position.
                    page.oldest = _earliest(page.oldest, _parse_time(reason.get("indexedAt")))
                    continue
            author = _as_dict(post.get("author"), "post without an author")
            if not creator.wrote(author):
                continue
            record = _post_record(post, now, times)
            if reason is None:
                page.oldest = _earliest(page.oldest, record.published_at)
            page.posts.append(record)
        return page


# -- parsing helpers (pure) --------------------------------------------------------------------


@dataclass(frozen=True)
class _Creator:
    """Who the feed belongs to: by DID when known, else by the handle asked for."""

    did: str | None
    handle: str

    @classmethod
    def of(cls, account: AccountRef, actor: str) -> _Creator:
        did = actor if actor.startswith("did:") else None
        return cls(did, account.handle.removeprefix("@").lower())

    def wrote(self, author: Mapping[str, Any]) -> bool:
        if self.did is not None:
            return author.get("did") == self.did
        handle = author.get("handle")
        return isinstance(handle, str) and handle.lower() == self.handle


def _actor(ref: AccountRef) -> str | None:
    """What to send as ``actor``: the cached DID, else the handle (lowercased), if well formed."""
    if ref.platform_id and _DID.match(ref.platform_id):
        return ref.platform_id
    handle = ref.handle.strip().removeprefix("@")
    if _DID.match(handle):
        return handle
    if len(handle) <= 253 and _HANDLE.match(handle):
        return handle.lower()
    return None


def _invalid_actor(ref: AccountRef) -> AccountNotFound:
    return AccountNotFound(
        f"{ref.handle!r} is not a valid Bluesky handle (name.domain) or DID", handle=ref.handle
    )


def _xrpc_error(response: httpx.Response) -> tuple[str | None, str]:
    """The XRPC ``error`` name and ``message`` of an error body, if it has them."""
    try:
        body = response.json()
    except ValueError:
        return None, ""
    if not isinstance(body, dict):
        return None, ""
    name = body.get("error")
    message = body.get("message")
    return (
        name if isinstance(name, str) and name else None,
        message if isinstance(message, str) else "",
    )


def _as_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Unexpected(what)
    return value


def _index_profiles(body: Any) -> dict[str, dict[str, Any]]:
    """getProfiles' answer keyed by DID and by lowercased handle."""
    views = _as_dict(body, "getProfiles answer is not an object").get("profiles")
    if not isinstance(views, list):
        raise _Unexpected("getProfiles answer has no profiles list")
    index: dict[str, dict[str, Any]] = {}
    for raw in views:
        view = _as_dict(raw, "profile is not an object")
        did, handle = view.get("did"), view.get("handle")
        if not isinstance(did, str) or not isinstance(handle, str):
            raise _Unexpected("profile without did or handle")
        index[did] = view
        index[handle.lower()] = view
    return index


def _profile_record(handle: str, view: Mapping[str, Any], now: datetime) -> ProfileRecord:
    did = view.get("did")
    if not isinstance(did, str) or not did.startswith("did:"):
        raise _Unexpected("profile without a did")
    display_name = view.get("displayName")
    return ProfileRecord(
        handle=handle,
        platform_id=did,
        collected_at=now,
        followers=_count(view, "followersCount"),
        following=_count(view, "followsCount"),
        posts_count=_count(view, "postsCount"),
        display_name=display_name if isinstance(display_name, str) and display_name else None,
    )


def _feed_items(body: Any) -> tuple[list[Any], str | None]:
    data = _as_dict(body, "getAuthorFeed answer is not an object")
    items = data.get("feed")
    if not isinstance(items, list):
        raise _Unexpected("getAuthorFeed answer has no feed list")
    cursor = data.get("cursor")
    return items, cursor if isinstance(cursor, str) and cursor else None


def _post_record(
    post: Mapping[str, Any], now: datetime, times: dict[str, datetime | None]
) -> PostRecord:
    """The record of one post view; ``times`` remembers the times parsed on its page."""
    uri = post.get("uri")
    match = _POST_URI.match(uri) if isinstance(uri, str) else None
    if match is None:
        raise _Unexpected("post without an app.bsky.feed.post uri")
    record = _as_dict(post.get("record"), "post without a record")
    published = _published_at(
        _time_on_page(record.get("createdAt"), times), _time_on_page(post.get("indexedAt"), times)
    )
    if published is None:
        raise _Unexpected("post with neither a usable createdAt nor indexedAt")
    text = record.get("text")
    did, rkey = match.groups()
    return PostRecord(
        platform_post_id=match.group(0),
        published_at=min(published, now),
        collected_at=now,
        kind="reply" if record.get("reply") else "post",
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        caption=text if isinstance(text, str) else None,
        likes=_count(post, "likeCount"),
        comments=_count(post, "replyCount"),
        shares=_count(post, "repostCount"),
        quotes=_count(post, "quoteCount"),
        saves=_count(post, "bookmarkCount"),
    )


def _time_on_page(raw: Any, times: dict[str, datetime | None]) -> datetime | None:
    if raw.__class__ is not str:
        return _parse_time(raw)
    if raw in times:
        return times[raw]
    parsed = times[raw] = _parse_time(raw)
    return parsed


def _published_at(created: datetime | None, indexed: datetime | None) -> datetime | None:
    """The post's time: when it says it was written, unless that is after it was indexed."""
    if created is None:
        return indexed
    if indexed is not None and created > indexed:
        return indexed
    return created


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is UTC:
            return parsed  # "Z", as the AppView writes every time
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _earliest(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    return candidate if current is None else min(current, candidate)


def _count(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value.__class__ is int and value >= 0:
        return value  # the usual case, checked first: five counts a post
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Unexpected(f"{key} is not a count")
    return value

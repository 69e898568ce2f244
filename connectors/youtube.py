"""YouTube Data API v3: channel counts in batches of 50, uploads, and the uploads' counts.

Endpoints (GET under ``https://www.googleapis.com/youtube/v3``; each call costs 1 quota unit
whatever its ``part``, and even an invalid request costs 1):

- ``channels?forHandle=@name&part=id`` (endpoint ``channels.list:forHandle``): resolves one
  handle to its channel id (``UC`` + 22 characters), once per account; the pipeline caches it.
- ``channels?id=<up to 50 ids>&part=snippet,statistics,contentDetails`` (``channels.list``):
  the profiles of a whole batch.
- ``playlistItems?playlistId=UU…&part=contentDetails&maxResults=50`` (``playlistItems.list``):
  the channel's uploads, newest first, listed without counts (``has_counts=False``).
- ``videos?id=<up to 50 ids>&part=snippet,statistics`` (``videos.list``): the counts of known
  videos, for :meth:`YouTubeConnector.fetch_post_stats`.

``search.list`` (100 units a call) is never used.

Calls per pass over N accounts with cached ids and S videos to refresh:
``ceil(N/50)`` channels.list + ``N`` playlistItems.list + ``ceil(S/50)`` videos.list. A channel
that uploaded more than 50 videos inside the horizon costs one more playlistItems page per 50.
Every handle seen for the first time (or whose id vanished) costs one channels.list:forHandle
call, once; ``collector plan`` cannot know how many there will be, so it does not count them.

Quota: 10,000 units a day per Google Cloud project, reset at midnight Pacific time. The budget is
a :class:`~connectors.budget.DailyUnits` ledger in America/Los_Angeles that stops
``quota_reserve_units`` short of ``daily_quota_units`` (after a restart, ``Budget.seed`` takes
the units already spent that day). A 403 ``quotaExceeded`` anyway (another tool on the same
project) raises :class:`QuotaExhausted` with the next Pacific midnight and empties the ledger, so
no further call leaves until the reset; it is never retried.

Quirks handled:

- Counts are strings. ``subscriberCount`` is floored to 3 significant figures (since September
  2019): ``followers_rounded`` is set whenever a count is published (below 1,000 the floor is
  exact) so a step in the third digit is not read as a spike.
  ``hiddenSubscriberCount: true`` gives ``followers=None`` and ``followers_hidden=True`` (never
  0). YouTube has no following count. ``likeCount``/``commentCount`` are absent on videos whose
  likes or comments are hidden or disabled: None, never 0. Removed fields (``dislikeCount``,
  ``favoriteCount``, channel ``commentCount``) are ignored.
- An id or handle nobody owns is not an error: the answer is a 200 without an ``items`` key.
- A ``UC…`` watchlist entry is a channel id and needs no resolution; its uploads playlist is
  ``UU…`` (the channel answer's ``relatedPlaylists.uploads`` is used when known), so
  :meth:`~YouTubeConnector.fetch_posts` needs no channels call. A cached id missing from the
  answer is re-resolved once through its handle (renamed or moved channel), else not found.
- The uploads playlist of a channel without public videos answers 404 ``playlistNotFound``: an
  empty feed, not a vanished account. Private or deleted uploads come without
  ``videoPublishedAt`` and are skipped; uploads dated in the future (premieres) wait until then.
  Paging stops at ``since`` and at the newest upload stored last time (the posts cursor).
- Several error bodies exist (``error.errors[].reason``, a top-level ``errors[].reason``, the
  newer ``error.status`` with ``error.details[].reason``); the connector branches on the reasons:
  ``quotaExceeded``/``dailyLimitExceeded`` → QuotaExhausted; ``rateLimitExceeded``/
  ``userRateLimitExceeded`` → RateLimited; ``keyInvalid``/``API_KEY_INVALID`` → AuthError;
  ``accessNotConfigured``/``forbidden``/blocked keys → ConfigError; ``channelNotFound``/
  ``playlistNotFound``/``videoNotFound`` → AccountNotFound. Messages carry reasons, never bodies.
- The API key travels in the ``X-Goog-Api-Key`` header, not in ``key=``, so it stays out of URLs
  and access logs.

Verified in the documentation and recorded answers (search, 2026): 1 unit per list call and 10,000
units a day reset at midnight PT (determine_quota_cost); ``forHandle`` takes one handle with or
without ``@`` (channels.list); ``X-Goog-Api-Key`` is the header form of ``key`` on every Google
REST API (Google Cloud "System parameters" and "Use API keys"); ``videoId``/``videoPublishedAt`` in
playlistItem ``contentDetails``; ``quotaExceeded`` 403 ``youtube.quota`` (errors page and the
recorded sample); the ``playlistNotFound`` 404 body and the empty-uploads 404 (issue threads
quoting the API); the ``keyInvalid`` body (threads quoting YouTube) and the newer
``INVALID_ARGUMENT``/``API_KEY_INVALID`` ErrorInfo body (quoted from other Google APIs; YouTube
logs show its ``badRequest`` "API key not valid" entry); the items-less empty answer (a recorded
answer quoted on Stack Exchange); private playlist items lacking ``videoPublishedAt`` (issue
threads); the 3-figure rounding (revision history of 10 September 2019, quoted in threads).

Unverified: YouTube's own pages show only ``key=``; the header rests on Google's platform-wide
rule, not on a YouTube-specific statement (a refused header would surface on the first call as an
AuthError or ConfigError that pauses the platform, never as silent data loss). Whether
``subscriberCount`` is omitted or "0" when hidden (both are handled); whether ``channels.list``
ever pages an ``id=`` answer (``nextPageToken`` is followed if it does); the exact order of the
uploads playlist for videos made public long after their upload (such a video may sit deeper than
the horizon and be missed); any per-minute limit (none is published; a ``rateLimitExceeded`` is
retried after a minute).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, ClassVar, Final
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

from connectors.base import Connector, PlatformConfig, gather_until_failure
from connectors.budget import Budget, DailyUnits
from connectors.errors import (
    AccountError,
    AccountNotFound,
    AuthError,
    ConfigError,
    ConnectorError,
    QuotaExhausted,
    RateLimited,
)
from connectors.http import (
    DEFAULT_RATE_LIMIT_WAIT,
    Clock,
    RetryPolicy,
    retry_at_from_headers,
    utcnow,
)
from connectors.records import (
    AccountRef,
    PostPage,
    PostRecord,
    PostRef,
    ProfileBatch,
    ProfileRecord,
)

__all__ = [
    "CHANNELS",
    "RESOLVE",
    "UPLOADS",
    "VIDEOS",
    "YouTubeConfig",
    "YouTubeConnector",
    "error_reasons",
    "is_channel_id",
    "next_quota_reset",
    "uploads_playlist_id",
]

#: Endpoint names, as counted in ``CallStats``, the budget and ``collection_run``.
CHANNELS: Final = "channels.list"
RESOLVE: Final = "channels.list:forHandle"
UPLOADS: Final = "playlistItems.list"
VIDEOS: Final = "videos.list"

PACIFIC: Final = ZoneInfo("America/Los_Angeles")
#: ``id=`` takes at most 50 ids on channels.list and videos.list; playlistItems pages hold 50.
MAX_IDS: Final = 50
#: A loop guard against a platform that keeps answering with tokens, not a limit anyone meets.
MAX_PAGES: Final = 200

_CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
_DIGITS = re.compile(r"[0-9]+")
_WATCH_URL = "https://www.youtube.com/watch?v="

_QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "RATE_LIMIT_EXCEEDED"})
_KEY_REASONS = frozenset(
    {"keyInvalid", "keyExpired", "API_KEY_INVALID", "API_KEY_EXPIRED", "dailyLimitExceededUnreg"}
)
_PROJECT_REASONS = frozenset(
    {
        "accessNotConfigured",
        "forbidden",
        "ipRefererBlocked",
        "SERVICE_DISABLED",
        "API_KEY_SERVICE_BLOCKED",
        "API_KEY_HTTP_REFERRER_BLOCKED",
        "API_KEY_IP_ADDRESS_BLOCKED",
        "API_KEY_ANDROID_APP_BLOCKED",
        "API_KEY_IOS_APP_BLOCKED",
    }
)
_NOT_FOUND_REASONS = frozenset({"channelNotFound", "playlistNotFound", "videoNotFound"})


def is_channel_id(value: str) -> bool:
    """Whether a watchlist entry is a channel id (``UC`` + 22 characters) rather than a handle."""
    return _CHANNEL_ID.fullmatch(value) is not None


def uploads_playlist_id(channel_id: str) -> str:
    """The id of a channel's uploads playlist: ``UC…`` becomes ``UU…``."""
    return "UU" + channel_id[2:]


def next_quota_reset(now: datetime) -> datetime:
    """The next midnight in Pacific time (DST-aware), in UTC: when the daily quota resets."""
    local = now.astimezone(PACIFIC)
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), PACIFIC)
    return midnight.astimezone(UTC)


def error_reasons(body: object) -> frozenset[str]:
    """Every reason code of a Google error body, whichever of its formats it uses."""
    if not isinstance(body, Mapping):
        return frozenset()
    reasons: set[str] = set()
    containers: list[Mapping[str, Any]] = [body]
    error = body.get("error")
    if isinstance(error, Mapping):
        containers.append(error)
        status = error.get("status")
        if isinstance(status, str):
            reasons.add(status)
        details = error.get("details")
        if isinstance(details, list):
            reasons.update(_reasons_of(details))
    for container in containers:
        errors = container.get("errors")
        if isinstance(errors, list):
            reasons.update(_reasons_of(errors))
    return frozenset(reasons)


def _reasons_of(entries: list[Any]) -> list[str]:
    return [
        e["reason"] for e in entries if isinstance(e, Mapping) and isinstance(e.get("reason"), str)
    ]


class _BadShape(ValueError):
    """A response lacks a field the connector needs; turned into PayloadChanged with its body."""


class YouTubeConfig(PlatformConfig):
    """``[platforms.youtube]``: the project's API key and its daily quota."""

    api_key: SecretStr = Field(description="YouTube Data API v3 key of the Google Cloud project")
    daily_quota_units: int = Field(
        default=10_000, gt=0, description="the project's daily quota (10,000 unless raised)"
    )
    quota_reserve_units: int = Field(
        default=500,
        ge=0,
        description="units left unspent each day for other tools and miscounts",
    )

    @field_validator("api_key")
    @classmethod
    def _key_not_empty(cls, value: SecretStr) -> SecretStr:
        # A field error (not a model error), so a missing ${VAR} is reported once, at its key.
        if not value.get_secret_value().strip():
            raise ValueError("api_key is empty: set it to the project's YouTube Data API v3 key")
        return value

    @model_validator(mode="after")
    def _check(self) -> YouTubeConfig:
        if self.quota_reserve_units >= self.daily_quota_units:
            raise ValueError(
                f"quota_reserve_units ({self.quota_reserve_units}) must be smaller than "
                f"daily_quota_units ({self.daily_quota_units})"
            )
        return self


class YouTubeConnector(Connector):
    """Channels by batches of 50 ids, their uploads playlist, and video counts by 50."""

    name = "youtube"
    config_model = YouTubeConfig
    batch_size = MAX_IDS
    default_base_url = "https://www.googleapis.com/youtube/v3"
    post_batch_size = MAX_IDS
    units_per_call: ClassVar[Mapping[str, int]] = {CHANNELS: 1, RESOLVE: 1, UPLOADS: 1, VIDEOS: 1}

    def __init__(
        self,
        config: PlatformConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utcnow,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
    ) -> None:
        """Create the connector; see :class:`~connectors.base.Connector` for the arguments."""
        if not isinstance(config, YouTubeConfig):
            raise TypeError(f"{type(self).__name__} needs a YouTubeConfig")
        # Set before the base class builds the budget, which reads the quota from it.
        self.settings: YouTubeConfig = config
        # Uploads playlist ids read from channel answers, so feeds follow what YouTube says.
        self._uploads: dict[str, str] = {}
        super().__init__(config, transport=transport, clock=clock, retry=retry, budget=budget)

    # -- budget, credentials, errors ------------------------------------------------------------

    def make_budget(self) -> Budget:
        """A daily unit ledger that resets at midnight Pacific time."""
        return DailyUnits(
            self.settings.daily_quota_units,
            zone="America/Los_Angeles",
            reserve=self.settings.quota_reserve_units,
            clock=self.clock,
            sleep=self.retry.sleep,
        )

    def pass_cost(self, accounts: int, *, stats_posts: int = 0) -> dict[str, int]:
        """Calls of one pass with cached ids; first-time handle resolutions come on top."""
        return {
            CHANNELS: -(-accounts // MAX_IDS),
            UPLOADS: accounts,
            VIDEOS: -(-stats_posts // MAX_IDS),
        }

    def client_headers(self) -> Mapping[str, str]:
        """The API key as a header, so it never appears in a URL."""
        return {"X-Goog-Api-Key": self.settings.api_key.get_secret_value()}

    def classify(self, response: httpx.Response) -> ConnectorError | None:
        """Branch on the reasons of YouTube's error bodies, then on the status."""
        status = response.status_code
        if status < 400:
            return None
        try:
            body: object = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            body = None
        reasons = error_reasons(body)
        said = f"youtube: HTTP {status} {', '.join(sorted(reasons)) or '(no reason given)'}"
        now = self.clock()
        if reasons & _QUOTA_REASONS:
            if isinstance(self.budget, DailyUnits):
                self.budget.exhausted()
            reset = next_quota_reset(now)
            return QuotaExhausted(
                f"{said}: the project's daily quota is spent; it resets at {reset.isoformat()} "
                "(midnight Pacific time)",
                reset_at=reset,
                status_code=status,
            )
        if reasons & _RATE_REASONS:
            retry_at = retry_at_from_headers(response.headers, now) or now + DEFAULT_RATE_LIMIT_WAIT
            return RateLimited(f"{said}: slow down", retry_at=retry_at, status_code=status)
        if reasons & _KEY_REASONS:
            return AuthError(
                f"{said}: the API key was refused; check api_key in [platforms.youtube]",
                status_code=status,
            )
        if reasons & _PROJECT_REASONS:
            return ConfigError(
                f"{said}: the key's project may not call the YouTube Data API v3; enable the API "
                "for the project and check the key's restrictions",
                status_code=status,
            )
        if reasons & _NOT_FOUND_REASONS:
            return AccountNotFound(said, status_code=status)
        return super().classify(response)

    # -- profiles -------------------------------------------------------------------------------

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        """Counts of up to 50 channels in one channels.list call (plus first-time resolutions)."""
        failures: dict[str, AccountError] = {}
        wanted: dict[str, str] = {}
        from_cache: set[str] = set()
        unresolved: list[str] = []
        for ref in accounts:
            if ref.platform_id:
                wanted[ref.handle] = ref.platform_id
                if not is_channel_id(ref.handle):
                    from_cache.add(ref.handle)
            elif is_channel_id(ref.handle):
                wanted[ref.handle] = ref.handle
            else:
                unresolved.append(ref.handle)

        for handle, channel_id in (await self._resolve_all(unresolved)).items():
            if channel_id is None:
                failures[handle] = _no_such_handle(handle)
            else:
                wanted[handle] = channel_id

        channels = await self._channels(wanted.values())
        profiles: dict[str, ProfileRecord] = {}
        vanished: list[str] = []
        for handle, channel_id in wanted.items():
            item = channels.get(channel_id)
            if item is not None:
                profiles[handle] = self._profile(handle, item)
            elif handle in from_cache:
                vanished.append(handle)
            else:
                failures[handle] = AccountNotFound(
                    f"youtube: channel {channel_id} does not exist (any more)", handle=handle
                )

        if vanished:
            # A cached id that no longer answers: the handle may have moved to another channel.
            moved = {
                handle: channel_id
                for handle, channel_id in (await self._resolve_all(vanished)).items()
                if channel_id is not None and channel_id != wanted[handle]
            }
            found = await self._channels(moved.values())
            for handle in vanished:
                item = found.get(moved.get(handle, ""))
                if item is None:
                    failures[handle] = _no_such_handle(handle)
                else:
                    profiles[handle] = self._profile(handle, item)
        return ProfileBatch(profiles=profiles, failures=failures)

    async def _resolve(self, handle: str) -> str | None:
        body = await self.get_json(
            "channels",
            params={"part": "id", "forHandle": "@" + handle.lstrip("@")},
            endpoint=RESOLVE,
        )
        try:
            items = _items(body, "youtube#channelListResponse")
            if not items:
                return None
            return _text(items[0].get("id"), "id")
        except _BadShape as exc:
            raise self.payload_changed(f"{RESOLVE}: {exc}", body) from None

    async def _resolve_all(self, handles: Sequence[str]) -> dict[str, str | None]:
        """Resolve handles concurrently (forHandle takes one), within the connection limit."""
        if not handles:
            return {}
        limit = asyncio.Semaphore(self.config.max_connections)

        async def one(handle: str) -> str | None:
            async with limit:
                return await self._resolve(handle)

        results = await asyncio.gather(*(one(h) for h in handles), return_exceptions=True)
        resolved: dict[str, str | None] = {}
        for handle, result in zip(handles, results, strict=True):
            if isinstance(result, AccountError):
                resolved[handle] = None
            elif isinstance(result, BaseException):
                raise result
            else:
                resolved[handle] = result
        return resolved

    async def _channels(self, ids: Iterable[str]) -> dict[str, Mapping[str, Any]]:
        return await self._by_ids(
            "channels",
            CHANNELS,
            "youtube#channelListResponse",
            "snippet,statistics,contentDetails",
            ids,
        )

    async def _by_ids(
        self, path: str, endpoint: str, kind: str, part: str, ids: Iterable[str]
    ) -> dict[str, Mapping[str, Any]]:
        """Items by id, 50 ids a call; ids the platform does not know are simply absent.

        More than 50 ids go out as concurrent calls within the connection limit. Once one call
        fails no further call is sent (the calls in flight finish), and the first failure in id
        order is raised: the error a loop over the chunks would have raised.
        """
        unique = list(dict.fromkeys(ids))
        chunks = [unique[start : start + MAX_IDS] for start in range(0, len(unique), MAX_IDS)]
        if len(chunks) <= 1:
            return await self._one_chunk(path, endpoint, kind, part, chunks[0]) if chunks else {}
        answers = await gather_until_failure(
            chunks,
            lambda chunk: self._one_chunk(path, endpoint, kind, part, chunk),
            self.config.max_connections,
        )
        found: dict[str, Mapping[str, Any]] = {}
        for result in answers:
            if isinstance(result, BaseException):
                raise result
            found.update(result or {})
        return found

    async def _one_chunk(
        self, path: str, endpoint: str, kind: str, part: str, ids: list[str]
    ) -> dict[str, Mapping[str, Any]]:
        """The items of at most 50 ids: one call (more only if YouTube ever pages the answer)."""
        found: dict[str, Mapping[str, Any]] = {}
        params: dict[str, str] = {"part": part, "id": ",".join(ids)}
        for _ in range(MAX_PAGES):
            body = await self.get_json(path, params=params, endpoint=endpoint)
            try:
                for item in _items(body, kind):
                    found[_text(item.get("id"), "id")] = item
                token = _optional_text(body.get("nextPageToken"), "nextPageToken")
            except _BadShape as exc:
                raise self.payload_changed(f"{endpoint}: {exc}", body) from None
            if token is None:
                break
            params = {**params, "pageToken": token}
        return found

    def _profile(self, handle: str, item: Mapping[str, Any]) -> ProfileRecord:
        try:
            channel_id = _text(item.get("id"), "id")
            stats = _mapping(item.get("statistics"), "statistics")
            snippet = _mapping(item.get("snippet", {}), "snippet")
            hidden = stats.get("hiddenSubscriberCount") is True
            followers = None if hidden else _count(stats.get("subscriberCount"), "subscriberCount")
            details = _mapping(item.get("contentDetails", {}), "contentDetails")
            playlists = _mapping(details.get("relatedPlaylists", {}), "relatedPlaylists")
            uploads = _optional_text(playlists.get("uploads"), "uploads")
            record = ProfileRecord(
                handle=handle,
                platform_id=channel_id,
                collected_at=self.clock(),
                followers=followers,
                following=None,
                posts_count=_count(stats.get("videoCount"), "videoCount"),
                followers_rounded=followers is not None,
                followers_hidden=hidden,
                display_name=_optional_text(snippet.get("title"), "title"),
            )
        except _BadShape as exc:
            raise self.payload_changed(f"{CHANNELS}: {exc}", item) from None
        if uploads:
            self._uploads[channel_id] = uploads
        return record

    # -- posts ----------------------------------------------------------------------------------

    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        """Uploads newest first, without counts, down to ``since`` (one page if None)."""
        channel_id = await self._feed_channel_id(account)
        playlist = self._uploads.get(channel_id) or uploads_playlist_id(channel_id)
        known = account.posts_cursor
        now = self.clock()
        found: dict[str, PostRecord] = {}
        params: dict[str, str | int] = {
            "part": "contentDetails",
            "playlistId": playlist,
            "maxResults": MAX_IDS,
        }
        for page_number in range(MAX_PAGES):
            try:
                body = await self.get_json("playlistItems", params=params, endpoint=UPLOADS)
            except AccountNotFound:
                if page_number == 0:
                    # An uploads playlist with no public video answers 404 playlistNotFound.
                    return PostPage((), cursor=known)
                raise
            try:
                page = [
                    post
                    for item in _items(body, "youtube#playlistItemListResponse")
                    if (post := self._upload(item, now)) is not None
                ]
                token = _optional_text(body.get("nextPageToken"), "nextPageToken")
            except _BadShape as exc:
                raise self.payload_changed(f"{UPLOADS}: {exc}", body) from None
            for post in page:
                if since is None or post.published_at >= since:
                    found.setdefault(post.platform_post_id, post)
            done = (
                since is None
                or any(post.published_at < since for post in page)
                # Everything below the newest upload stored last time is stored already.
                or any(post.platform_post_id == known for post in page)
            )
            if done or token is None:
                break
            params = {**params, "pageToken": token}
        posts = sorted(found.values(), key=lambda p: p.published_at, reverse=True)
        return PostPage(tuple(posts), cursor=posts[0].platform_post_id if posts else known)

    async def _feed_channel_id(self, account: AccountRef) -> str:
        if account.platform_id:
            return account.platform_id
        if is_channel_id(account.handle):
            return account.handle
        channel_id = (await self._resolve_all([account.handle]))[account.handle]
        if channel_id is None:
            raise _no_such_handle(account.handle)
        return channel_id

    def _upload(self, item: Mapping[str, Any], now: datetime) -> PostRecord | None:
        details = _mapping(item.get("contentDetails"), "contentDetails")
        video_id = _text(details.get("videoId"), "videoId")
        if details.get("videoPublishedAt") is None:
            return None  # private or deleted: not public, nothing to watch
        published = _timestamp(details.get("videoPublishedAt"), "videoPublishedAt")
        if published > now:
            return None
        return PostRecord(
            platform_post_id=video_id,
            published_at=published,
            collected_at=now,
            kind="video",
            url=_WATCH_URL + video_id,
            has_counts=False,
        )

    async def fetch_post_stats(self, posts: Sequence[PostRef]) -> list[PostRecord]:
        """Counts of known videos, 50 per videos.list call; videos no longer served are left out."""
        ids = list(dict.fromkeys(p.platform_post_id for p in posts))
        items = await self._by_ids(
            "videos", VIDEOS, "youtube#videoListResponse", "snippet,statistics", ids
        )
        now = self.clock()
        records: list[PostRecord] = []
        for video_id in ids:
            item = items.get(video_id)
            if item is None:
                continue
            try:
                records.append(_video(video_id, item, now))
            except _BadShape as exc:
                raise self.payload_changed(f"{VIDEOS}: {exc}", item) from None
        return records


# -- parsing helpers ------------------------------------------------------------------------------


def _no_such_handle(handle: str) -> AccountNotFound:
    return AccountNotFound(f"youtube: no channel has the handle @{handle}", handle=handle)


def _items(body: object, kind: str) -> list[Mapping[str, Any]]:
    if not isinstance(body, Mapping):
        raise _BadShape("the answer is not a JSON object")
    if "items" not in body:
        # An answer that matched nothing has no items key at all, only kind and pageInfo.
        if body.get("kind") == kind:
            return []
        raise _BadShape(f"neither items nor kind {kind!r}")
    items = body["items"]
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise _BadShape("items is not a list of objects")
    return items


def _video(video_id: str, item: Mapping[str, Any], now: datetime) -> PostRecord:
    snippet = _mapping(item.get("snippet"), "snippet")
    stats = _mapping(item.get("statistics", {}), "statistics")
    return PostRecord(
        platform_post_id=video_id,
        published_at=_timestamp(snippet.get("publishedAt"), "publishedAt"),
        collected_at=now,
        kind="video",
        url=_WATCH_URL + video_id,
        caption=_caption(snippet),
        views=_count(stats.get("viewCount"), "viewCount"),
        likes=_count(stats.get("likeCount"), "likeCount"),
        comments=_count(stats.get("commentCount"), "commentCount"),
        shares=None,
        quotes=None,
        saves=None,
        has_counts=True,
    )


def _caption(snippet: Mapping[str, Any]) -> str | None:
    """The title, then the description's first line (where sponsorship is usually disclosed)."""
    title = _optional_text(snippet.get("title"), "title")
    description = _optional_text(snippet.get("description"), "description") or ""
    first_line = description.strip().split("\n", 1)[0].strip()
    parts = [part for part in (title, first_line) if part]
    return "\n".join(parts) or None


def _mapping(value: object, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _BadShape(f"{name} is missing or not an object")
    return value


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise _BadShape(f"{name} is missing or not a string")
    return value


def _optional_text(value: object, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _BadShape(f"{name} is not a string")
    return value


def _count(value: object, name: str) -> int | None:
    """A count as YouTube writes it (a string of digits); absent means not published."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise _BadShape(f"{name} is not a count: {value!r}")


def _timestamp(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise _BadShape(f"{name} is missing or not a string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _BadShape(f"{name} is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)

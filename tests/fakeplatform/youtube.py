"""The fake YouTube Data API v3: channels, playlistItems and videos in their real JSON shapes.

Served under ``/youtube/`` by :class:`~tests.fakeplatform.server.FakePlatformServer`. What it
copies from the real API, because the connector depends on it:

- every request needs the API key (``X-Goog-Api-Key`` header or ``key`` parameter), else a 400
  ``keyInvalid`` body in the older error format;
- counts are strings; ``subscriberCount`` is floored to 3 significant figures and left out when
  ``hiddenSubscriberCount`` is true; ``likeCount``/``commentCount`` are left out when a post's
  count is None;
- ``channels`` answers ``forHandle`` (one handle, ``@`` optional) or ``id`` (at most 50, comma
  separated), with only the requested parts; nothing found is a 200 without an ``items`` key;
  accounts whose status is not ``active`` are not found (YouTube does not distinguish them);
- the uploads playlist is ``UU`` + the channel id's tail; it pages with ``nextPageToken``, the
  last page carries only ``prevPageToken``; a channel without posts answers 404
  ``playlistNotFound``, as YouTube does for empty uploads playlists;
- more than 50 ids is a 400, as on YouTube.

Endpoint names passed to :func:`gate` (and so counted in ``world.calls``): ``channels.list``,
``channels.list:forHandle``, ``playlistItems.list`` and ``videos.list``. A quota fault is
``Fault("youtube", status=403, body=QUOTA_EXCEEDED_BODY)`` (see :func:`quota_exceeded`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from tests.fakeplatform.core import FakeAccount, FakePost, Fault, World, gate, iso

__all__ = [
    "QUOTA_EXCEEDED_BODY",
    "channel_id_of",
    "floor_3_significant",
    "quota_exceeded",
    "register",
    "video_id_of",
]

PLATFORM = "youtube"
MAX_IDS = 50

#: The body YouTube sends when the project's daily quota is spent (a recorded sample's shape).
QUOTA_EXCEEDED_BODY = json.dumps(
    {
        "error": {
            "code": 403,
            "message": "The request cannot be completed because you have exceeded your "
            '<a href="/youtube/v3/getting-started#quota">quota</a>.',
            "errors": [
                {
                    "message": "The request cannot be completed because you have exceeded your "
                    '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                    "domain": "youtube.quota",
                    "reason": "quotaExceeded",
                }
            ],
        }
    }
).encode()


def quota_exceeded(endpoint: str = "*", times: int = 1) -> Fault:
    """The fault that answers like YouTube once the daily quota is spent."""
    return Fault(PLATFORM, endpoint=endpoint, status=403, body=QUOTA_EXCEEDED_BODY, times=times)


def _token(*parts: str, size: int) -> str:
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=24).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:size]


def channel_id_of(account: FakeAccount) -> str:
    """The channel id the fake gives an account: ``UC`` + 22 characters from its platform id."""
    return "UC" + _token("channel", account.platform_id, size=22)


def video_id_of(account: FakeAccount, post: FakePost) -> str:
    """The 11-character video id the fake gives a post."""
    return _token("video", account.platform_id, post.id, size=11)


def floor_3_significant(count: int) -> int:
    """Floor to 3 significant figures as YouTube publishes subscribers: 164,583 → 164,000."""
    if count < 1000:
        return count
    step: int = 10 ** (len(str(count)) - 3)
    return count // step * step


def _etag(*parts: str) -> str:
    return _token("etag", *parts, size=27)


def _error(status: int, reason: str, message: str, domain: str, **extra: str) -> web.Response:
    entry = {"message": message, "domain": domain, "reason": reason, **extra}
    body = {"error": {"code": status, "message": message, "errors": [entry]}}
    return web.json_response(body, status=status)


def _bad_request(message: str) -> web.Response:
    return _error(400, "badRequest", message, "global")


class _Index:
    """Channel and video ids to accounts; rebuilt when an id is missing (accounts come and go)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.channels: dict[str, FakeAccount] = {}
        self.videos: dict[str, tuple[FakeAccount, FakePost]] = {}

    def _rebuild(self) -> None:
        self.channels.clear()
        self.videos.clear()
        for (platform, _handle), account in self.world.accounts.items():
            if platform != PLATFORM:
                continue
            self.channels[channel_id_of(account)] = account
            for post in account.posts:
                self.videos[video_id_of(account, post)] = (account, post)

    def channel(self, channel_id: str) -> FakeAccount | None:
        if channel_id not in self.channels:
            self._rebuild()
        return self.channels.get(channel_id)

    def video(self, video_id: str) -> tuple[FakeAccount, FakePost] | None:
        if video_id not in self.videos:
            self._rebuild()
        return self.videos.get(video_id)


def _parts(request: web.Request) -> set[str]:
    return {p.strip() for p in request.query.get("part", "").split(",") if p.strip()}


def _has_key(request: web.Request) -> bool:
    return bool(request.headers.get("X-Goog-Api-Key") or request.query.get("key"))


def _key_refused() -> web.Response:
    # The older error format: no error.status, the reason in error.errors[].
    return _error(400, "keyInvalid", "Bad Request", "usageLimits")


def _list(kind: str, items: list[dict[str, Any]], per_page: int, **tokens: str) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": kind, "etag": _etag(kind, str(len(items)))}
    body.update(tokens)
    body["pageInfo"] = {"totalResults": len(items), "resultsPerPage": per_page}
    if items:
        # YouTube leaves the key out entirely when nothing matched.
        body["items"] = items
    return body


def _channel(account: FakeAccount, parts: set[str]) -> dict[str, Any]:
    channel_id = channel_id_of(account)
    item: dict[str, Any] = {
        "kind": "youtube#channel",
        "etag": _etag(channel_id, str(account.followers)),
        "id": channel_id,
    }
    if "snippet" in parts:
        item["snippet"] = {
            "title": account.display_name,
            "description": f"The channel of {account.display_name}.",
            "customUrl": "@" + account.handle.lower(),
            "publishedAt": "2016-04-12T09:30:00Z",
            "localized": {"title": account.display_name, "description": ""},
        }
    if "contentDetails" in parts:
        item["contentDetails"] = {
            "relatedPlaylists": {"likes": "", "uploads": "UU" + channel_id[2:]}
        }
    if "statistics" in parts:
        hidden = account.hidden_followers or account.followers is None
        stats: dict[str, Any] = {"viewCount": str(sum(p.views or 0 for p in account.posts))}
        if not hidden and account.followers is not None:
            stats["subscriberCount"] = str(floor_3_significant(account.followers))
        stats["hiddenSubscriberCount"] = hidden
        stats["videoCount"] = str(account.posts_count)
        item["statistics"] = stats
    return item


def _own_posts(account: FakeAccount) -> list[FakePost]:
    # YouTube has no reposts: only what the channel uploaded, newest first.
    posts = [p for p in account.posts if p.repost_of is None]
    return sorted(posts, key=lambda p: p.published_at, reverse=True)


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    name, _, number = text.partition(":")
    return int(number) if name == "offset" and number.isdigit() else None


def _playlist_item(account: FakeAccount, post: FakePost, position: int, parts: set[str]) -> Any:
    video_id = video_id_of(account, post)
    item: dict[str, Any] = {
        "kind": "youtube#playlistItem",
        "etag": _etag(video_id, "item"),
        "id": _token("item", video_id, size=48),
    }
    if "snippet" in parts:
        item["snippet"] = {
            "publishedAt": iso(post.published_at),
            "channelId": channel_id_of(account),
            "title": post.caption,
            "description": post.caption,
            "channelTitle": account.display_name,
            "playlistId": "UU" + channel_id_of(account)[2:],
            "position": position,
            "resourceId": {"kind": "youtube#video", "videoId": video_id},
        }
    if "contentDetails" in parts:
        item["contentDetails"] = {"videoId": video_id, "videoPublishedAt": iso(post.published_at)}
    return item


def _video(account: FakeAccount, post: FakePost, parts: set[str]) -> dict[str, Any]:
    video_id = video_id_of(account, post)
    item: dict[str, Any] = {
        "kind": "youtube#video",
        "etag": _etag(video_id, str(post.likes)),
        "id": video_id,
    }
    if "snippet" in parts:
        title, _, rest = post.caption.partition(" #")
        item["snippet"] = {
            "publishedAt": iso(post.published_at),
            "channelId": channel_id_of(account),
            "title": title,
            "description": ("#" + rest) if rest else "",
            "channelTitle": account.display_name,
            "categoryId": "22",
            "liveBroadcastContent": "none",
        }
    if "statistics" in parts:
        stats: dict[str, str] = {}
        if post.views is not None:
            stats["viewCount"] = str(post.views)
        if post.likes is not None:
            stats["likeCount"] = str(post.likes)
        stats["favoriteCount"] = "0"
        if post.comments is not None:
            stats["commentCount"] = str(post.comments)
        item["statistics"] = stats
    return item


def register(app: web.Application, world: World) -> None:
    """Add the fake YouTube routes to ``app`` (mounted under ``/youtube/``)."""
    index = _Index(world)

    def active(account: FakeAccount | None) -> FakeAccount | None:
        return account if account is not None and account.status == "active" else None

    async def channels(request: web.Request) -> web.StreamResponse:
        query: Mapping[str, str] = request.query
        endpoint = "channels.list:forHandle" if "forHandle" in query else "channels.list"
        early = await gate(request, world, PLATFORM, endpoint)
        if early is not None:
            return early
        if not _has_key(request):
            return _key_refused()
        parts = _parts(request) or {"id"}
        kind = "youtube#channelListResponse"
        if "forHandle" in query:
            handle = query["forHandle"].removeprefix("@")
            account = active(world.get(PLATFORM, handle)) if handle else None
            items = [_channel(account, parts)] if account else []
            return web.json_response(_list(kind, items, 5))
        if "id" not in query:
            return _error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: forHandle, forUsername, id, mine",
                "youtube.parameter",
            )
        ids = [i for i in query["id"].split(",") if i]
        if len(ids) > MAX_IDS:
            return _bad_request("The request specifies more than 50 ids.")
        items = []
        for channel_id in dict.fromkeys(ids):
            account = active(index.channel(channel_id))
            if account is not None:
                items.append(_channel(account, parts))
        return web.json_response(_list(kind, items, 5))

    async def playlist_items(request: web.Request) -> web.StreamResponse:
        early = await gate(request, world, PLATFORM, "playlistItems.list")
        if early is not None:
            return early
        if not _has_key(request):
            return _key_refused()
        playlist = request.query.get("playlistId", "")
        account = active(index.channel("UC" + playlist[2:])) if playlist.startswith("UU") else None
        posts = _own_posts(account) if account else []
        if account is None or not posts:
            return _error(
                404,
                "playlistNotFound",
                "The playlist identified with the request's <code>playlistId</code> parameter "
                "cannot be found.",
                "youtube.playlistItem",
                location="playlistId",
                locationType="parameter",
            )
        raw_size = request.query.get("maxResults", "5")
        if not raw_size.isdigit() or int(raw_size) > MAX_IDS:
            return _bad_request("Invalid value for maxResults.")
        size = int(raw_size)
        offset = 0
        if "pageToken" in request.query:
            found = _offset(request.query["pageToken"])
            if found is None:
                return _error(400, "invalidPageToken", "Invalid page token.", "youtube.parameter")
            offset = found
        window = posts[offset : offset + size]
        parts = _parts(request) or {"id"}
        items = [_playlist_item(account, p, offset + n, parts) for n, p in enumerate(window)]
        tokens: dict[str, str] = {}
        if offset + size < len(posts):
            tokens["nextPageToken"] = _page_token(offset + size)
        if offset > 0:
            tokens["prevPageToken"] = _page_token(max(offset - size, 0))
        body = _list("youtube#playlistItemListResponse", items, size, **tokens)
        body["pageInfo"]["totalResults"] = len(posts)
        return web.json_response(body)

    async def videos(request: web.Request) -> web.StreamResponse:
        early = await gate(request, world, PLATFORM, "videos.list")
        if early is not None:
            return early
        if not _has_key(request):
            return _key_refused()
        ids = [i for i in request.query.get("id", "").split(",") if i]
        if len(ids) > MAX_IDS:
            return _bad_request("The request specifies more than 50 ids.")
        parts = _parts(request) or {"id"}
        items = []
        for video_id in dict.fromkeys(ids):
            found = index.video(video_id)
            if found is not None and found[0].status == "active":
                items.append(_video(found[0], found[1], parts))
        return web.json_response(_list("youtube#videoListResponse", items, len(items)))

    app.router.add_get("/channels", channels)
    app.router.add_get("/playlistItems", playlist_items)
    app.router.add_get("/videos", videos)

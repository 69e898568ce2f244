"""Fake Mastodon: one server answering for every instance, as a caching proxy would.

Mounted under ``/mastodon/``; the connector's ``base_url`` is ``server.url_for("mastodon")``, and
handles are ``user@instance`` (the account key in the :class:`World`).

- ``GET api/v1/accounts/lookup?acct=user@instance``: the Account entity; 404
  ``{"error": "Record not found"}`` for an unknown or ``not_found`` account; ``suspended: true``
  with emptied fields for a suspended one; ``followers_count`` -1 for ``hidden_followers`` (the
  glitch-soc convention). Mastodon's "private" account is a ``locked`` one: its counts stay
  public, and its followers-only statuses are not served to anonymous callers, so a
  ``private`` account is served with ``locked: true`` and an empty timeline.
- ``GET api/v1/accounts/{id}/statuses?limit=&max_id=``: Status entities newest first with
  ``Link`` pagination (a ``rel="next"`` link whenever a page is full, as Mastodon does). Every
  timeline holds one boost of another account's post, right after the newest post, and any
  :class:`FakePost` with ``repost_of`` is served as a boost. ``exclude_reblogs`` is ignored on
  purpose, as servers older than 2.7.0 do, so only the connector's own filter keeps boosts out.
- Every answer carries ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (ISO 8601), counted per
  instance over 5-minute windows of the world's clock; a spent window answers 429
  ``{"error": "Too many requests"}``. :data:`RATE_LIMIT` may be raised by benchmarks.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakeplatform.core import FakeAccount, FakePost, World, gate, iso

__all__ = ["PLATFORM", "RATE_LIMIT", "register"]

PLATFORM = "mastodon"
#: Requests per instance per window, Mastodon's default.
RATE_LIMIT = 300
WINDOW = timedelta(minutes=5)
_BOOSTED = {
    "id": "109000000000000001",
    "username": "someone",
    "acct": "someone@elsewhere.example",
    "display_name": "Someone Else",
}


def _instance(account: FakeAccount) -> str:
    return account.handle.partition("@")[2] or "fake.example"


def _account_json(account: FakeAccount) -> dict[str, Any]:
    username, _, instance = account.handle.partition("@")
    suspended = account.status == "suspended"
    body: dict[str, Any] = {
        "id": account.platform_id,
        "username": username,
        "acct": account.handle,
        "display_name": "" if suspended else account.display_name,
        "locked": account.status == "private",
        "bot": False,
        "discoverable": True,
        "group": False,
        "created_at": "2022-12-01T00:00:00.000Z",
        "note": "" if suspended else f"<p>Hello from {html.escape(username)}</p>",
        "url": f"https://{instance}/@{username}",
        "avatar": f"https://{instance}/avatars/original/missing.png",
        "avatar_static": f"https://{instance}/avatars/original/missing.png",
        "header": f"https://{instance}/headers/original/missing.png",
        "header_static": f"https://{instance}/headers/original/missing.png",
        "followers_count": 0 if suspended else account.followers,
        "following_count": 0 if suspended else account.following,
        "statuses_count": 0 if suspended else account.posts_count,
        "last_status_at": None if suspended or not account.posts else "2026-11-01",
        "emojis": [],
        "fields": [],
    }
    if suspended:
        body["suspended"] = True
    elif account.hidden_followers:
        body["followers_count"] = -1
    return body


def _content(caption: str, instance: str) -> str:
    """The caption as Mastodon renders it: a paragraph, hashtags as links."""
    words = []
    for word in caption.split(" "):
        if word.startswith("#") and len(word) > 1:
            tag = html.escape(word[1:])
            words.append(
                f'<a href="https://{instance}/tags/{tag}" class="mention hashtag" '
                f'rel="tag">#<span>{tag}</span></a>'
            )
        else:
            words.append(html.escape(word))
    return f"<p>{' '.join(words)}</p>"


def _media(kind: str) -> list[dict[str, Any]]:
    media_type = {"photo": "image", "carousel": "image", "video": "video", "reel": "video"}
    if kind not in media_type:
        return []
    return [{"id": "1", "type": media_type[kind], "url": "https://files.example/1", "meta": {}}]


def _status_json(account: FakeAccount, post: FakePost) -> dict[str, Any]:
    username, _, instance = account.handle.partition("@")
    return {
        "id": post.id,
        "created_at": iso(post.published_at),
        "in_reply_to_id": post.reply_to,
        "in_reply_to_account_id": account.platform_id if post.reply_to else None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://{instance}/users/{username}/statuses/{post.id}",
        "url": f"https://{instance}/@{username}/{post.id}",
        "replies_count": post.comments or 0,
        "reblogs_count": post.shares or 0,
        "favourites_count": post.likes or 0,
        "quotes_count": post.quotes or 0,
        "edited_at": None,
        "content": _content(post.caption, instance),
        "reblog": None,
        "application": None,
        "account": _account_json(account),
        "media_attachments": _media(post.kind),
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }


def _boost_json(account: FakeAccount, boost_id: str, at: datetime, of: str) -> dict[str, Any]:
    """A boost: its own counts are 0, the boosted post's counts sit inside ``reblog``."""
    username, _, instance = account.handle.partition("@")
    original: dict[str, Any] = {
        "id": of,
        "created_at": iso(at - timedelta(hours=3)),
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"https://elsewhere.example/users/someone/statuses/{of}",
        "url": f"https://elsewhere.example/@someone/{of}",
        "replies_count": 321,
        "reblogs_count": 654,
        "favourites_count": 9876,
        "quotes_count": 12,
        "edited_at": None,
        "content": "<p>Someone else's very popular post</p>",
        "reblog": None,
        "account": {**_BOOSTED, "followers_count": 50_000, "following_count": 10},
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }
    return {
        **original,
        "id": boost_id,
        "created_at": iso(at),
        "uri": f"https://{instance}/users/{username}/statuses/{boost_id}/activity",
        "url": None,
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "quotes_count": 0,
        "content": "",
        "reblog": original,
        "account": _account_json(account),
    }


def _timeline(account: FakeAccount) -> list[dict[str, Any]]:
    """The account's statuses newest first, with one boost after the newest post."""
    posts = sorted(account.posts, key=lambda p: p.published_at, reverse=True)
    items: list[dict[str, Any]] = []
    for index, post in enumerate(posts):
        if post.repost_of is not None:
            items.append(_boost_json(account, post.id, post.published_at, post.repost_of))
        else:
            items.append(_status_json(account, post))
        if index == 0:
            at = post.published_at - timedelta(minutes=30)
            boost_id = f"{account.platform_id}9999"
            items.append(_boost_json(account, boost_id, at, "109000000000000002"))
    return items


def _json(status: int, body: object, headers: dict[str, str]) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(body), content_type="application/json", headers=headers
    )


def register(app: web.Application, world: World) -> None:
    """Add the fake Mastodon routes to ``app``."""
    used: Counter[tuple[str, datetime]] = Counter()

    def rate_headers(instance: str) -> tuple[dict[str, str], bool]:
        now = world.clock().astimezone(UTC)
        start = datetime.fromtimestamp(
            now.timestamp() // WINDOW.total_seconds() * WINDOW.total_seconds(), UTC
        )
        used[(instance, start)] += 1
        spent = used[(instance, start)]
        headers = {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": str(max(RATE_LIMIT - spent, 0)),
            "X-RateLimit-Reset": iso(start + WINDOW),
        }
        return headers, spent > RATE_LIMIT

    async def lookup(request: web.Request) -> web.StreamResponse:
        answer = await gate(request, world, PLATFORM, "accounts/lookup")
        if answer is not None:
            return answer
        acct = request.query.get("acct", "")
        headers, limited = rate_headers(acct.partition("@")[2] or "fake.example")
        if limited:
            return _json(429, {"error": "Too many requests"}, headers)
        account = world.get(PLATFORM, acct) if "@" in acct else None
        if account is None or account.status == "not_found":
            return _json(404, {"error": "Record not found"}, headers)
        return _json(200, _account_json(account), headers)

    async def statuses(request: web.Request) -> web.StreamResponse:
        answer = await gate(request, world, PLATFORM, "accounts/statuses")
        if answer is not None:
            return answer
        account = world.by_id(PLATFORM, request.match_info["id"])
        headers, limited = rate_headers(_instance(account) if account else "fake.example")
        if limited:
            return _json(429, {"error": "Too many requests"}, headers)
        if account is None or account.status in ("not_found", "suspended"):
            return _json(404, {"error": "Record not found"}, headers)
        if account.status == "private":
            return _json(200, [], headers)  # every status is followers-only
        try:
            limit = min(max(int(request.query.get("limit", "20")), 1), 40)
        except ValueError:
            limit = 20
        timeline = _timeline(account)
        start = 0
        max_id = request.query.get("max_id")
        if max_id is not None:
            ids = [item["id"] for item in timeline]
            start = ids.index(max_id) + 1 if max_id in ids else len(timeline)
        page = timeline[start : start + limit]
        if len(page) == limit:
            query = {k: v for k, v in request.query.items() if k not in ("max_id", "min_id")}
            older = request.url.with_query({**query, "max_id": page[-1]["id"]})
            newer = request.url.with_query({**query, "min_id": page[0]["id"]})
            headers["Link"] = f'<{older}>; rel="next", <{newer}>; rel="prev"'
        return _json(200, page, headers)

    app.router.add_get("/api/v1/accounts/lookup", lookup)
    app.router.add_get("/api/v1/accounts/{id}/statuses", statuses)

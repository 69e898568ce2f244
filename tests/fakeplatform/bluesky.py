"""The fake Bluesky AppView: getProfiles, getProfile and getAuthorFeed in the real shapes.

Shapes follow the ``app.bsky.actor.defs#profileViewDetailed`` and ``app.bsky.feed.defs``
lexicons and the recorded samples in ``shared/platform-samples/bluesky/``. Every feed holds what
trips naive connectors: one repost of another author's post (``reason`` of type
``#reasonRepost``) and one reply whose ``reply.parent``/``reply.root`` embed another author's post.
A :class:`FakePost` with ``repost_of`` or ``reply_to`` is served as such; an account that has none
gets a synthetic repost (just after its newest post) and its second-newest post served as a reply,
so ``account.posts`` minus its reposts is exactly what a connector must return.

Accounts' DIDs are ``did:plc:<platform_id>`` unless ``platform_id`` already is a DID. Every
answer carries ``RateLimit-*`` headers for a window of 3,000 calls per 5 minutes (as the PDS
documents); past it, the AppView's 429 ``RateLimitExceeded``. Errors are the AppView's: 400
``InvalidRequest`` "Profile not found" for an unknown actor, ``AccountTakedown`` on getProfile for
a suspended one (getProfiles just leaves them out).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakeplatform.core import FakeAccount, FakePost, World, gate, iso

__all__ = ["OTHER_DID", "OTHER_HANDLE", "RATE_LIMIT", "RATE_WINDOW_SECONDS", "did_of", "register"]

PLATFORM = "bluesky"
RATE_LIMIT = 3000
RATE_WINDOW_SECONDS = 300
MAX_ACTORS = 25
#: The author of the posts a fake creator reposts or replies to.
OTHER_DID = "did:plc:otherauthor0000000000000"
OTHER_HANDLE = "someone-else.bsky.social"

_window_calls: web.AppKey[Counter[int]] = web.AppKey("bluesky_window_calls", Counter)
_world_key: web.AppKey[World] = web.AppKey("bluesky_world", World)


def did_of(account: FakeAccount) -> str:
    """The account's DID as the fake AppView shows it."""
    pid = account.platform_id
    return pid if pid.startswith("did:") else f"did:plc:{pid}"


def _lookup(world: World, actor: str) -> FakeAccount | None:
    if actor.startswith("did:"):
        return world.by_id(PLATFORM, actor) or world.by_id(PLATFORM, actor.removeprefix("did:plc:"))
    return world.get(PLATFORM, actor)


def _cid(seed: str) -> str:
    return "bafyrei" + seed.encode().hex()[:52].ljust(52, "a")


def _error(status: int, error: str, message: str, headers: dict[str, str]) -> web.Response:
    body = json.dumps({"error": error, "message": message}, separators=(",", ":"))
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def _json(body: Any, headers: dict[str, str]) -> web.Response:
    return web.Response(text=json.dumps(body), content_type="application/json", headers=headers)


def _rate_headers(request: web.Request) -> tuple[dict[str, str], bool]:
    """The RateLimit-* headers after counting this call, and whether it is over the limit."""
    world = request.app[_world_key]
    now = int(world.clock().timestamp())
    window = now - now % RATE_WINDOW_SECONDS
    counts = request.app[_window_calls]
    counts[window] += 1
    remaining = RATE_LIMIT - counts[window]
    headers = {
        "RateLimit-Limit": str(RATE_LIMIT),
        "RateLimit-Remaining": str(max(remaining, 0)),
        "RateLimit-Reset": str(window + RATE_WINDOW_SECONDS),
        "RateLimit-Policy": f"{RATE_LIMIT};w={RATE_WINDOW_SECONDS}",
    }
    return headers, remaining < 0


def _author_view(account: FakeAccount) -> dict[str, Any]:
    did = did_of(account)
    return {
        "did": did,
        "handle": account.handle.lower(),
        "displayName": account.display_name,
        "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/{_cid(did)}@jpeg",
        "viewer": {"muted": False, "blockedBy": False},
        "labels": [],
        "createdAt": "2023-04-01T00:00:00.000Z",
    }


def _other_author_view() -> dict[str, Any]:
    return {
        "did": OTHER_DID,
        "handle": OTHER_HANDLE,
        "displayName": "Someone Else",
        "viewer": {"muted": False, "blockedBy": False},
        "labels": [],
    }


def _profile_view(account: FakeAccount) -> dict[str, Any]:
    view = _author_view(account)
    view.update(
        {
            "description": f"{account.display_name} on Bluesky",
            "followsCount": account.following,
            "postsCount": account.posts_count,
            "indexedAt": "2024-01-01T00:00:00.000Z",
            "associated": {"lists": 0, "feedgens": 0, "starterPacks": 0, "labeler": False},
        }
    )
    if account.followers is not None:
        view["followersCount"] = account.followers
    return view


def _counts(post: FakePost) -> dict[str, int]:
    named = {
        "replyCount": post.comments,
        "repostCount": post.shares,
        "likeCount": post.likes,
        "quoteCount": post.quotes,
        "bookmarkCount": post.saves,
    }
    return {key: value for key, value in named.items() if value is not None}


def _other_post_view(post_id: str, created: datetime) -> dict[str, Any]:
    uri = f"at://{OTHER_DID}/app.bsky.feed.post/{post_id}"
    return {
        "$type": "app.bsky.feed.defs#postView",
        "uri": uri,
        "cid": _cid(uri),
        "author": _other_author_view(),
        "record": {
            "$type": "app.bsky.feed.post",
            "text": f"someone else's post {post_id}",
            "createdAt": iso(created),
            "langs": ["en"],
        },
        "replyCount": 3,
        "repostCount": 5,
        "likeCount": 40,
        "quoteCount": 1,
        "indexedAt": iso(created),
        "labels": [],
    }


def _own_post_view(account: FakeAccount, post: FakePost) -> dict[str, Any]:
    did = did_of(account)
    uri = f"at://{did}/app.bsky.feed.post/{post.id}"
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": post.caption,
        "createdAt": iso(post.published_at),
        "langs": ["en"],
    }
    if post.reply_to is not None:
        parent = f"at://{OTHER_DID}/app.bsky.feed.post/{post.reply_to}"
        ref = {"uri": parent, "cid": _cid(parent)}
        record["reply"] = {"root": ref, "parent": ref}
    return {
        "uri": uri,
        "cid": _cid(uri),
        "author": _author_view(account),
        "record": record,
        **_counts(post),
        "indexedAt": iso(post.published_at),
        "viewer": {},
        "labels": [],
    }


def feed_entries(account: FakeAccount) -> list[FakePost]:
    """The account's feed entries newest first, with the repost and the reply every feed holds."""
    entries = sorted(account.posts, key=lambda p: p.published_at, reverse=True)
    if entries and not any(p.reply_to for p in entries) and len(entries) > 1:
        entries[1] = dataclasses.replace(entries[1], reply_to=f"parent-of-{entries[1].id}")
    if entries and not any(p.repost_of for p in entries):
        reposted_at = entries[0].published_at - timedelta(hours=1)
        entries.append(
            FakePost(
                id=f"repost-{entries[0].id}",
                published_at=reposted_at,
                repost_of=f"original-{entries[0].id}",
            )
        )
        entries.sort(key=lambda p: p.published_at, reverse=True)
    return entries


def _feed_item(account: FakeAccount, post: FakePost) -> dict[str, Any]:
    if post.repost_of is not None:
        return {
            "post": _other_post_view(post.repost_of, post.published_at - timedelta(days=1)),
            "reason": {
                "$type": "app.bsky.feed.defs#reasonRepost",
                "by": _author_view(account),
                "indexedAt": iso(post.published_at),
            },
        }
    item: dict[str, Any] = {"post": _own_post_view(account, post)}
    if post.reply_to is not None:
        parent = _other_post_view(post.reply_to, post.published_at - timedelta(hours=2))
        item["reply"] = {"root": parent, "parent": parent}
    return item


async def get_profiles(request: web.Request) -> web.StreamResponse:
    """``app.bsky.actor.getProfiles``: unknown and suspended actors are left out."""
    world = request.app[_world_key]
    if (early := await gate(request, world, PLATFORM, "getProfiles")) is not None:
        return early
    headers, over = _rate_headers(request)
    if over:
        return _error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
    actors = request.query.getall("actors", [])
    if not actors:
        return _error(400, "InvalidRequest", 'Error: Params must have the property "actors"', {})
    if len(actors) > MAX_ACTORS:
        message = f"Error: actors must not have more than {MAX_ACTORS} elements"
        return _error(400, "InvalidRequest", message, headers)
    profiles = []
    for actor in actors:
        account = _lookup(world, actor)
        if account is not None and account.status == "active":
            profiles.append(_profile_view(account))
    return _json({"profiles": profiles}, headers)


async def get_profile(request: web.Request) -> web.StreamResponse:
    """``app.bsky.actor.getProfile``: says why an actor is missing."""
    world = request.app[_world_key]
    if (early := await gate(request, world, PLATFORM, "getProfile")) is not None:
        return early
    headers, over = _rate_headers(request)
    if over:
        return _error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
    account = _lookup(world, request.query.get("actor", ""))
    if account is None or account.status == "not_found":
        return _error(400, "InvalidRequest", "Profile not found", headers)
    if account.status == "suspended":
        return _error(400, "AccountTakedown", "Account has been suspended", headers)
    if account.status == "private":
        # Bluesky has no private accounts; the closest state is a deactivated one.
        return _error(400, "AccountDeactivated", "Account is deactivated", headers)
    return _json(_profile_view(account), headers)


async def get_author_feed(request: web.Request) -> web.StreamResponse:
    """``app.bsky.feed.getAuthorFeed``: cursor pagination over the account's feed entries."""
    world = request.app[_world_key]
    if (early := await gate(request, world, PLATFORM, "getAuthorFeed")) is not None:
        return early
    headers, over = _rate_headers(request)
    if over:
        return _error(429, "RateLimitExceeded", "Rate Limit Exceeded", headers)
    raw_limit = request.query.get("limit", "50")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        return _error(400, "InvalidRequest", "Error: limit can not be greater than 100", headers)
    account = _lookup(world, request.query.get("actor", ""))
    if account is None or account.status != "active":
        return _error(400, "InvalidRequest", "Profile not found", headers)
    limit = int(raw_limit)
    cursor = request.query.get("cursor", "")
    start = int(cursor.rsplit("::", 1)[-1]) if cursor else 0
    entries = feed_entries(account)
    chunk = entries[start : start + limit]
    body: dict[str, Any] = {"feed": [_feed_item(account, post) for post in chunk]}
    # Like the real AppView, a full page carries a cursor even when nothing follows it.
    if len(chunk) == limit:
        body["cursor"] = f"{iso(chunk[-1].published_at)}::{start + limit}"
    return _json(body, headers)


def register(app: web.Application, world: World) -> None:
    """Mount the fake AppView's routes (the server serves them under ``/bluesky/``)."""
    app[_world_key] = world
    app[_window_calls] = Counter()
    app.router.add_get("/app.bsky.actor.getProfiles", get_profiles)
    app.router.add_get("/app.bsky.actor.getProfile", get_profile)
    app.router.add_get("/app.bsky.feed.getAuthorFeed", get_author_feed)

"""The fake X API v2: users lookup, user timelines and post lookup, in X's real shapes.

Mounted under ``/x/`` (so the connector's ``base_url`` is ``server.url_for("x")``). It plays
the quirks the connector must survive: ``public_metrics`` only when asked for, ids as strings,
missing and suspended users as ``errors[]`` in a 200, protected timelines as an "Authorization
Error", one retweet in every timeline (removed by ``exclude=retweets``), ``impression_count``
only on posts that have views, a 400 for a username X cannot have, a 401 in X's shape without a
bearer token, and ``x-rate-limit-*`` headers on every response from 15-minute windows per
endpoint (a 429 in X's rate-limit shape once a window is spent). A :class:`Fault` with status
429 is stamped with ``x-rate-limit-remaining: 0`` and the window's ``x-rate-limit-reset``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakeplatform.core import FakeAccount, FakePost, World, gate, iso

__all__ = ["LIMITS", "register"]

PLATFORM = "x"
WINDOW = timedelta(minutes=15)
#: Per-app limits per 15 minutes (docs.x.com, "X API Rate Limits").
LIMITS = {"users_by": 300, "user_tweets": 10_000, "tweets_lookup": 3_500}
PROBLEMS = "https://api.twitter.com/2/problems/"
USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")
ID = re.compile(r"[0-9]{1,19}")
UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}
TOO_MANY = {
    "title": "Too Many Requests",
    "type": "about:blank",
    "status": 429,
    "detail": "Too Many Requests",
}


@dataclass
class _Window:
    used: int
    reset_epoch: int


@dataclass
class _RateLimits:
    """15-minute windows per endpoint, timed by the world's clock."""

    world: World
    windows: dict[str, _Window] = field(default_factory=dict)

    def window(self, endpoint: str) -> _Window:
        now = int(self.world.clock().timestamp())
        window = self.windows.get(endpoint)
        if window is None or now >= window.reset_epoch:
            window = _Window(0, now + int(WINDOW.total_seconds()))
            self.windows[endpoint] = window
        return window

    def spend(self, endpoint: str) -> bool:
        """Count one call; False if the window was already spent."""
        window = self.window(endpoint)
        if window.used >= LIMITS[endpoint]:
            return False
        window.used += 1
        return True

    def stamp(self, response: web.StreamResponse, endpoint: str) -> web.StreamResponse:
        """Add the ``x-rate-limit-*`` headers X sends on every response."""
        window = self.window(endpoint)
        remaining = 0 if response.status == 429 else max(LIMITS[endpoint] - window.used, 0)
        response.headers.setdefault("x-rate-limit-limit", str(LIMITS[endpoint]))
        response.headers.setdefault("x-rate-limit-remaining", str(remaining))
        response.headers.setdefault("x-rate-limit-reset", str(window.reset_epoch))
        return response


def _json(body: object, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def _invalid(parameter: str, values: list[str], message: str) -> web.Response:
    return _json(
        {
            "errors": [{"parameters": {parameter: values}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": PROBLEMS + "invalid-request",
        },
        400,
    )


def _fields(request: web.Request, name: str) -> set[str]:
    return {f for f in request.query.get(name, "").split(",") if f}


def _user_error(kind: str, value: str, parameter: str) -> dict[str, str]:
    """An ``errors[]`` entry about one user, worded as X words it."""
    if kind == "suspended":
        # X files suspension under resource-not-found; only title and detail tell.
        title, problem = "Forbidden", "resource-not-found"
        detail = f"User has been suspended: [{value}]."
    elif kind == "private":
        title, problem = "Authorization Error", "not-authorized-for-resource"
        detail = f"Sorry, you are not authorized to see the user with id: [{value}]."
    else:
        title, problem = "Not Found Error", "resource-not-found"
        detail = f"Could not find user with {parameter}: [{value}]."
    error = {
        "value": value,
        "detail": detail,
        "title": title,
        "resource_type": "user",
        "parameter": parameter,
        "resource_id": value,
        "type": PROBLEMS + problem,
    }
    if parameter == "id":
        error["section"] = "data"
    return error


def _user(account: FakeAccount, fields: set[str]) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": account.platform_id,
        "name": account.display_name,
        "username": account.handle,
    }
    if "created_at" in fields:
        user["created_at"] = "2013-12-14T04:35:55.000Z"
    if "protected" in fields:
        user["protected"] = account.status == "private"
    if "verified" in fields:
        user["verified"] = False
    if "public_metrics" in fields:
        user["public_metrics"] = {
            "followers_count": account.followers or 0,
            "following_count": account.following,
            "tweet_count": account.posts_count,
            "listed_count": int(account.platform_id) % 97,
            "like_count": int(account.platform_id) % 5000,
        }
    return user


@dataclass(frozen=True)
class _Item:
    """One timeline entry: the account's own post, or a retweet of someone else's."""

    post: FakePost
    retweet_of: str | None = None


def _timeline(account: FakeAccount) -> list[_Item]:
    items = [_Item(post, post.repost_of) for post in account.posts]
    if account.posts:
        newest = max(account.posts, key=lambda p: p.published_at)
        # Every timeline shows one retweet: exclude=retweets must remove it.
        retweet = FakePost(
            id=f"9{account.platform_id}",
            published_at=newest.published_at - timedelta(hours=1),
            caption="RT @someone_else: their post, not this creator's",
            likes=0,
            comments=0,
            shares=0,
            quotes=0,
        )
        items.append(_Item(retweet, retweet_of="1000000000000000001"))
    return sorted(items, key=lambda i: i.post.published_at, reverse=True)


def _tweet(item: _Item, account: FakeAccount, fields: set[str]) -> dict[str, Any]:
    post = item.post
    tweet: dict[str, Any] = {
        "id": post.id,
        "text": post.caption,
        "edit_history_tweet_ids": [post.id],
    }
    references = []
    if item.retweet_of is not None:
        references.append({"type": "retweeted", "id": item.retweet_of})
    if post.reply_to is not None:
        references.append({"type": "replied_to", "id": post.reply_to})
    if "created_at" in fields:
        tweet["created_at"] = iso(post.published_at)
    if "author_id" in fields:
        tweet["author_id"] = account.platform_id
    if "conversation_id" in fields:
        tweet["conversation_id"] = post.reply_to or post.id
    if "in_reply_to_user_id" in fields and post.reply_to is not None:
        tweet["in_reply_to_user_id"] = "1000000000000000002"
    if "referenced_tweets" in fields and references:
        tweet["referenced_tweets"] = references
    if "public_metrics" in fields:
        metrics = {
            "retweet_count": post.shares or 0,
            "reply_count": post.comments or 0,
            "like_count": post.likes or 0,
            "quote_count": post.quotes or 0,
        }
        if post.saves is not None:
            metrics["bookmark_count"] = post.saves
        # Older data has no impressions: a post without views is served without the field.
        if post.views is not None:
            metrics["impression_count"] = post.views
        tweet["public_metrics"] = metrics
    return tweet


def _parse_time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _authorized(request: web.Request) -> bool:
    header = request.headers.get("Authorization", "")
    return header.startswith("Bearer ") and bool(header.removeprefix("Bearer ").strip())


def register(app: web.Application, world: World) -> None:
    """Add the fake X routes to ``app``."""
    limits = _RateLimits(world)

    async def admit(request: web.Request, endpoint: str) -> web.StreamResponse | None:
        """What every handler does first: faults, the bearer token, the rate limit."""
        early = await gate(request, world, PLATFORM, endpoint)
        if early is not None:
            return early
        if not _authorized(request):
            return _json(UNAUTHORIZED, 401)
        if not limits.spend(endpoint):
            return _json(TOO_MANY, 429)
        return None

    async def users_by(request: web.Request) -> web.StreamResponse:
        early = await admit(request, "users_by")
        if early is not None:
            return limits.stamp(early, "users_by")
        names = [n for n in request.query.get("usernames", "").split(",") if n]
        bad = [n for n in names if USERNAME.fullmatch(n) is None]
        if not names or len(names) > 100 or bad:
            message = (
                f"The `usernames` query parameter value [{bad[0]}] does not match "
                "^[A-Za-z0-9_]{1,15}$"
                if bad
                else "The number of values in the `usernames` query parameter list [0] is not "
                "between 1 and 100"
            )
            return limits.stamp(_invalid("usernames", bad or names, message), "users_by")
        fields = _fields(request, "user.fields")
        data, errors = [], []
        for name in names:
            account = world.get(PLATFORM, name)
            if account is None or account.status == "not_found":
                errors.append(_user_error("not_found", name, "usernames"))
            elif account.status == "suspended":
                errors.append(_user_error("suspended", name, "usernames"))
            else:
                data.append(_user(account, fields))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return limits.stamp(_json(body), "users_by")

    async def user_tweets(request: web.Request) -> web.StreamResponse:
        early = await admit(request, "user_tweets")
        if early is not None:
            return limits.stamp(early, "user_tweets")
        user_id = request.match_info["user_id"]
        query = request.query
        max_results = query.get("max_results", "10")
        if not max_results.isdigit() or not 5 <= int(max_results) <= 100:
            message = (
                f"The `max_results` query parameter value [{max_results}] is not between 5 and 100"
            )
            return limits.stamp(_invalid("max_results", [max_results], message), "user_tweets")
        account = world.by_id(PLATFORM, user_id) if ID.fullmatch(user_id) else None
        if account is None or account.status != "active":
            kind = "not_found" if account is None else account.status
            error = _user_error(kind, user_id, "id")
            return limits.stamp(_json({"errors": [error]}), "user_tweets")
        excluded = {e for e in query.get("exclude", "").split(",") if e}
        start = _parse_time(query["start_time"]) if "start_time" in query else None
        items = [
            item
            for item in _timeline(account)
            if not ("retweets" in excluded and item.retweet_of is not None)
            and not ("replies" in excluded and item.post.reply_to is not None)
            and (start is None or item.post.published_at >= start)
        ]
        token = query.get("pagination_token", "7140d00000000")
        offset = int(token.removeprefix("7140d"), 16) if token.startswith("7140d") else 0
        page = items[offset : offset + int(max_results)]
        fields = _fields(request, "tweet.fields")
        meta: dict[str, Any] = {"result_count": len(page)}
        if page:
            meta["newest_id"] = page[0].post.id
            meta["oldest_id"] = page[-1].post.id
        if offset + len(page) < len(items):
            meta["next_token"] = f"7140d{offset + len(page):08x}"
        body: dict[str, Any] = {"meta": meta}
        if page:
            body = {"data": [_tweet(item, account, fields) for item in page], "meta": meta}
        return limits.stamp(_json(body), "user_tweets")

    async def tweets(request: web.Request) -> web.StreamResponse:
        early = await admit(request, "tweets_lookup")
        if early is not None:
            return limits.stamp(early, "tweets_lookup")
        ids = [i for i in request.query.get("ids", "").split(",") if i]
        if not ids or len(ids) > 100:
            message = (
                f"The number of values in the `ids` query parameter list [{len(ids)}] is not "
                "between 1 and 100"
            )
            return limits.stamp(_invalid("ids", ids, message), "tweets_lookup")
        index = {
            post.id: (account, post)
            for account in world.accounts.values()
            if account.platform == PLATFORM
            for post in account.posts
        }
        fields = _fields(request, "tweet.fields")
        data, errors = [], []
        for tweet_id in ids:
            found = index.get(tweet_id)
            if found is not None and found[0].status == "active":
                data.append(_tweet(_Item(found[1], found[1].repost_of), found[0], fields))
                continue
            if found is None or found[0].status == "not_found":
                title, problem = "Not Found Error", "resource-not-found"
                detail = f"Could not find tweet with ids: [{tweet_id}]."
            else:
                title, problem = "Authorization Error", "not-authorized-for-resource"
                detail = f"Sorry, you are not authorized to see the Tweet with ids: [{tweet_id}]."
            errors.append(
                {
                    "value": tweet_id,
                    "detail": detail,
                    "title": title,
                    "resource_type": "tweet",
                    "parameter": "ids",
                    "resource_id": tweet_id,
                    "type": PROBLEMS + problem,
                }
            )
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return limits.stamp(_json(body), "tweets_lookup")

    app.router.add_get("/users/by", users_by)
    app.router.add_get("/users/{user_id}/tweets", user_tweets)
    app.router.add_get("/tweets", tweets)

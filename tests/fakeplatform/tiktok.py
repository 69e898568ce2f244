"""The fake TikTok Research API: client tokens, user info and video query, in the real shapes.

Shapes follow TikTok for Developers' "Client Access Token Management", "Query User Info",
"Query Videos" and "Error Handling" pages: every research answer carries the
``{"error": {"code", "message", "log_id"}}`` envelope (``code = "ok"`` on success), the token
endpoint answers OAuth-style (``{"error": "invalid_client", "error_description": …}``). The
messages for unknown and private users are assumptions (no recorded answer exists), matching what
the connector expects.

Beyond the shapes it keeps the rules a connector must respect: a token lives 7200 s and a research
call without a valid one is a 401 ``access_token_invalid``; the date range may span at most
30 days and ``max_count`` at most 100 (else 400 ``invalid_params``); pages follow ``cursor`` and
``search_id`` until ``has_more`` is false; and the project's daily request quota answers 429
``rate_limit_exceeded`` once spent, until 00:00 UTC. ``username EQ`` matches approximately on the
real API: reposts in the world are served as videos of a near-identical username, which a
connector must not take for the creator's own.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from aiohttp import web

from tests.fakeplatform.core import FakeAccount, FakePost, World, gate

__all__ = ["RATE_LIMIT_BODY", "TikTokState", "register", "state"]

PLATFORM = "tiktok"
TOKEN_SECONDS = 7200
USER_FIELDS = frozenset(
    [
        "display_name",
        "bio_description",
        "avatar_url",
        "is_verified",
        "follower_count",
        "following_count",
        "likes_count",
        "video_count",
        "bio_url",
    ]
)
VIDEO_FIELDS = frozenset(
    [
        "id",
        "video_description",
        "create_time",
        "region_code",
        "share_count",
        "view_count",
        "like_count",
        "comment_count",
        "music_id",
        "hashtag_names",
        "username",
        "effect_ids",
        "playlist_id",
        "voice_to_text",
        "is_stem_verified",
        "favorites_count",
        "video_duration",
    ]
)

#: The 429 a spent daily quota answers with; tests also inject it through a ``Fault``.
RATE_LIMIT_BODY = json.dumps(
    {
        "data": {},
        "error": {
            "code": "rate_limit_exceeded",
            "message": "The API rate limit was exceeded. Please try again later.",
            "log_id": "20261102120000FAKE0429",
        },
    }
).encode()


@dataclass
class TikTokState:
    """What the fake TikTok knows beyond the world: credentials, tokens, quota, searches.

    Attributes:
        client_key: The accepted client key; None accepts any non-empty key.
        client_secret: The accepted client secret; None accepts any non-empty secret.
        daily_limit: Research requests allowed per UTC day.
        tokens: Issued tokens and when each expires.
        used: Research requests counted per UTC day.
        bodies: Every research request body, with its endpoint, for tests that check them.
    """

    client_key: str | None = None
    client_secret: str | None = None
    daily_limit: int = 1000
    tokens: dict[str, datetime] = field(default_factory=dict)
    used: Counter[date] = field(default_factory=Counter)
    bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    searches: set[str] = field(default_factory=set)

    def revoke_tokens(self) -> None:
        """Invalidate every issued token, as an early expiry would."""
        self.tokens.clear()


_STATES: weakref.WeakKeyDictionary[World, TikTokState] = weakref.WeakKeyDictionary()


def state(world: World) -> TikTokState:
    """The fake TikTok's state in ``world`` (created on first use)."""
    if world not in _STATES:
        _STATES[world] = TikTokState()
    return _STATES[world]


def _log_id(world: World) -> str:
    return world.clock().strftime("%Y%m%d%H%M%S") + "FAKE" + f"{sum(world.calls.values()):06d}"


def _envelope(world: World, data: Any, code: str = "ok", message: str = "") -> dict[str, Any]:
    return {"data": data, "error": {"code": code, "message": message, "log_id": _log_id(world)}}


def _error(world: World, status: int, code: str, message: str) -> web.Response:
    return web.json_response(_envelope(world, {}, code, message), status=status)


def _authorised(request: web.Request, world: World, st: TikTokState) -> web.Response | None:
    """A 401 unless the request carries a live token; a 429 once the day's quota is spent."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expires = st.tokens.get(token) if scheme.lower() == "bearer" else None
    now = world.clock()
    if expires is None or now >= expires:
        return _error(
            world,
            401,
            "access_token_invalid",
            "The access token is invalid or not found in the request.",
        )
    today = now.astimezone(UTC).date()
    if st.used[today] >= st.daily_limit:
        return web.Response(status=429, body=RATE_LIMIT_BODY, content_type="application/json")
    st.used[today] += 1
    return None


def _fields(request: web.Request, allowed: frozenset[str]) -> list[str] | str:
    """The requested field names, or the invalid_params message if they are wrong."""
    raw = request.query.get("fields", "")
    names = [name.strip() for name in raw.split(",") if name.strip()]
    if not names:
        return "fields is required"
    unknown = [name for name in names if name not in allowed]
    if unknown:
        return f"Invalid fields: {','.join(unknown)}"
    return names


async def _json_body(request: web.Request) -> dict[str, Any] | None:
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def register(app: web.Application, world: World) -> None:
    """Mount the token, user info and video query endpoints."""
    st = state(world)

    async def token(request: web.Request) -> web.StreamResponse:
        fault = await gate(request, world, PLATFORM, "oauth/token")
        if fault is not None:
            return fault
        form = await request.post()
        key, secret = str(form.get("client_key", "")), str(form.get("client_secret", ""))
        if form.get("grant_type") != "client_credentials":
            return web.json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The grant type is not supported.",
                    "log_id": _log_id(world),
                },
                status=400,
            )
        accepted = (
            bool(key)
            and bool(secret)
            and st.client_key in (None, key)
            and st.client_secret in (None, secret)
        )
        if not accepted:
            return web.json_response(
                {
                    "error": "invalid_client",
                    "error_description": "Client key or secret is incorrect.",
                    "log_id": _log_id(world),
                },
                status=401,
            )
        value = (
            "clt."
            + hashlib.blake2b(
                f"{key}{len(st.tokens)}{world.clock().isoformat()}".encode(), digest_size=16
            ).hexdigest()
        )
        st.tokens[value] = world.clock() + timedelta(seconds=TOKEN_SECONDS)
        return web.json_response(
            {"access_token": value, "expires_in": TOKEN_SECONDS, "token_type": "Bearer"}
        )

    async def user_info(request: web.Request) -> web.StreamResponse:
        fault = await gate(request, world, PLATFORM, "user/info")
        if fault is not None:
            return fault
        refused = _authorised(request, world, st)
        if refused is not None:
            return refused
        fields = _fields(request, USER_FIELDS)
        body = await _json_body(request)
        if isinstance(fields, str):
            return _error(world, 400, "invalid_params", fields)
        if body is None or not isinstance(body.get("username"), str):
            return _error(world, 400, "invalid_params", "username is required")
        st.bodies.append(("user/info", body))
        username = body["username"]
        account = world.get(PLATFORM, username)
        if account is None or account.status in ("not_found", "suspended"):
            return _error(world, 400, "invalid_params", f"User {username} does not exist")
        if account.status == "private":
            return _error(world, 400, "invalid_params", f"User {username} is private")
        return web.json_response(_envelope(world, _user_data(account, fields)))

    async def video_query(request: web.Request) -> web.StreamResponse:
        fault = await gate(request, world, PLATFORM, "video/query")
        if fault is not None:
            return fault
        refused = _authorised(request, world, st)
        if refused is not None:
            return refused
        fields = _fields(request, VIDEO_FIELDS)
        body = await _json_body(request)
        if isinstance(fields, str):
            return _error(world, 400, "invalid_params", fields)
        if body is None:
            return _error(world, 400, "invalid_params", "the body must be a JSON object")
        st.bodies.append(("video/query", body))
        problem, query = _video_query(body, st)
        if problem is not None:
            return _error(world, 400, "invalid_params", problem)
        assert query is not None
        username, start, end, max_count, cursor = query
        account = world.get(PLATFORM, username)
        videos = _videos(account, start, end) if account and account.status == "active" else []
        search_id = _search_id(username, start, end)
        st.searches.add(search_id)
        page = videos[cursor : cursor + max_count]
        data = {
            "videos": [_video(account, post, fields) for post in page if account is not None],
            "cursor": cursor + len(page),
            "has_more": cursor + len(page) < len(videos),
            "search_id": search_id,
        }
        return web.json_response(_envelope(world, data))

    app.router.add_post("/v2/oauth/token/", token)
    app.router.add_post("/v2/research/user/info/", user_info)
    app.router.add_post("/v2/research/video/query/", video_query)


def _user_data(account: FakeAccount, fields: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        "display_name": account.display_name,
        "bio_description": "",
        "avatar_url": f"https://p16.tiktokcdn.example/{account.platform_id}.jpeg",
        "is_verified": False,
        "follower_count": account.followers,
        "following_count": account.following,
        "likes_count": sum(p.likes or 0 for p in account.posts),
        "video_count": account.posts_count,
        "bio_url": "",
    }
    return {name: values[name] for name in fields}


def _parse_day(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) != 8 or not value.isdigit():
        return None
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None


def _video_query(
    body: dict[str, Any], st: TikTokState
) -> tuple[str | None, tuple[str, date, date, int, int] | None]:
    """The query's (username, start, end, max_count, cursor), or the invalid_params message."""
    conditions = body.get("query", {}).get("and") if isinstance(body.get("query"), dict) else None
    usernames = [
        c["field_values"][0]
        for c in conditions or []
        if isinstance(c, dict)
        and c.get("field_name") == "username"
        and c.get("operation") in ("EQ", "IN")
        and isinstance(c.get("field_values"), list)
        and c["field_values"]
    ]
    if not usernames:
        return "the fake serves username queries only", None
    start, end = _parse_day(body.get("start_date")), _parse_day(body.get("end_date"))
    if start is None or end is None:
        return "start_date and end_date must be dates in the format YYYYMMDD", None
    if end < start or end - start > timedelta(days=30):
        return "end_date must be no more than 30 days after the start_date", None
    max_count = body.get("max_count", 20)
    if not isinstance(max_count, int) or not 1 <= max_count <= 100:
        return "max_count must be between 1 and 100", None
    cursor = body.get("cursor", 0)
    if not isinstance(cursor, int) or cursor < 0:
        return "cursor must be a non-negative integer", None
    search_id = body.get("search_id")
    if search_id not in (None, "") and search_id not in st.searches:
        return f"Search Id {search_id} is invalid or expired", None
    return None, (str(usernames[0]).lower(), start, end, max_count, cursor)


def _videos(account: FakeAccount, start: date, end: date) -> list[FakePost]:
    # Real results come in decreasing video id, which grows with time: newest first.
    inside = [p for p in account.posts if start <= p.published_at.astimezone(UTC).date() <= end]
    return sorted(inside, key=lambda p: p.published_at, reverse=True)


def _search_id(username: str, start: date, end: date) -> str:
    digest = hashlib.blake2b(f"{username}{start}{end}".encode(), digest_size=8).digest()
    return str(7_000_000_000_000_000_000 + int.from_bytes(digest, "big") % 10**18)


def _video(account: FakeAccount, post: FakePost, fields: list[str]) -> dict[str, Any]:
    # A repost is someone else's video: fuzzy matching serves it under a look-alike username.
    author = account.handle.lower() + ("2" if post.repost_of else "")
    values: dict[str, Any] = {
        "id": int(post.id),
        "create_time": int(post.published_at.timestamp()),
        "username": author,
        "region_code": "MA",
        "video_description": post.caption,
        "like_count": post.likes,
        "comment_count": post.comments,
        "share_count": post.shares,
        "view_count": post.views,
        "favorites_count": post.saves,
    }
    # Counts the platform does not have are left out, not sent as 0.
    return {name: values[name] for name in fields if values.get(name) is not None}

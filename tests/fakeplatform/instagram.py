"""The Instagram Graph API's business discovery, as the fake platform serves it.

``GET /instagram/{version}/{ig_user_id}?fields=business_discovery.username(H){...}`` answers in
Graph's nested shape: the target under ``business_discovery``, its media under
``business_discovery.media.data`` with ``paging.cursors`` (``after`` only while older media
remain), timestamps ending in ``+0000``, and only the fields the expression asked for. Every
answer carries an ``X-Business-Use-Case-Usage`` header keyed by the caller's id. Unknown,
private and suspended accounts get Graph's code 110 / subcode 2207013 error (business discovery
cannot see personal accounts either). Throttling and token expiry are injected as faults built by
:func:`throttle_fault` and :func:`expired_token_fault`.

Endpoint names passed to :func:`~tests.fakeplatform.core.gate`: ``business_discovery`` for a
request that asks for profile fields, ``business_discovery_media`` for a media-only request.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC
from typing import Any

from aiohttp import web

from tests.fakeplatform.core import FakeAccount, FakePost, Fault, World, gate

__all__ = [
    "PLATFORM",
    "expired_token_fault",
    "register",
    "throttle_fault",
    "usage_header",
]

PLATFORM = "instagram"
#: Calls that make 100 % of the fake Business Use Case budget; large, so benchmarks never pace.
FAKE_CALLS_PER_WINDOW = 100_000

_DISCOVERY = re.compile(r"business_discovery\.username\(([^)]*)\)\{(.*)\}", re.DOTALL)
_MEDIA = re.compile(r"media((?:\.[a-z_]+\([^)]*\))*)\{([^}]*)\}")
_MODIFIER = re.compile(r"\.([a-z_]+)\(([^)]*)\)")
_TYPES = {
    "photo": ("IMAGE", "FEED"),
    "video": ("VIDEO", "FEED"),
    "reel": ("VIDEO", "REELS"),
    "carousel": ("CAROUSEL_ALBUM", "FEED"),
}


def usage_header(ig_user_id: str, call_count: int, regain_minutes: int = 0) -> str:
    """An ``X-Business-Use-Case-Usage`` value in Meta's documented shape."""
    entry = {
        "type": "instagram",
        "call_count": call_count,
        "total_cputime": max(call_count // 3, 1),
        "total_time": max(call_count // 2, 1),
        "estimated_time_to_regain_access": regain_minutes,
    }
    return json.dumps({ig_user_id: [entry]})


def throttle_fault(
    ig_user_id: str,
    *,
    code: int = 80002,
    status: int = 400,
    regain_minutes: int = 17,
    times: int = 1,
) -> Fault:
    """Meta's throttling answer: an error code in a 400/403 body, never a 429."""
    message = {
        4: "(#4) Application request limit reached",
        17: "(#17) User request limit reached",
        32: "(#32) Page request limit reached",
        613: "(#613) Calls to this api have exceeded the rate limit.",
    }.get(code, "Calls to this api have exceeded the rate limit.")
    body = {
        "error": {
            "message": message,
            "type": "OAuthException",
            "is_transient": True,
            "code": code,
            "fbtrace_id": "AbCdEfGhIjK",
        }
    }
    return Fault(
        platform=PLATFORM,
        status=status,
        body=json.dumps(body).encode(),
        headers={"X-Business-Use-Case-Usage": usage_header(ig_user_id, 100, regain_minutes)},
        times=times,
    )


def expired_token_fault(times: int = 1) -> Fault:
    """Graph's answer to an expired user token (code 190, subcode 463)."""
    body = {
        "error": {
            "message": "Error validating access token: Session has expired on Sunday, "
            "01-Nov-26 09:00:00 PST. The current time is Monday, 02-Nov-26 04:00:00 PST.",
            "type": "OAuthException",
            "code": 190,
            "error_subcode": 463,
            "fbtrace_id": "AxYzExPiReD",
        }
    }
    return Fault(platform=PLATFORM, status=400, body=json.dumps(body).encode(), times=times)


def register(app: web.Application, world: World) -> None:
    """Add business discovery's route to ``app``."""

    async def discovery(request: web.Request) -> web.StreamResponse:
        ig_user_id = request.match_info["ig_user_id"]
        fields = request.query.get("fields", "")
        match = _DISCOVERY.fullmatch(fields)
        subfields = _split(match.group(2)) if match else []
        endpoint = (
            "business_discovery"
            if any(not _is_media_edge(f) and f != "id" for f in subfields)
            else "business_discovery_media"
        )
        answer = await gate(request, world, PLATFORM, endpoint)
        if answer is not None:
            return answer
        usage = {
            "X-Business-Use-Case-Usage": usage_header(
                ig_user_id, min(100, sum(_instagram_calls(world)) * 100 // FAKE_CALLS_PER_WINDOW)
            )
        }
        if not _has_token(request):
            return _error(400, 190, "Invalid OAuth access token - Cannot parse access token", usage)
        if match is None:
            return _error(400, 100, "(#100) Tried accessing nonexisting field", usage)
        account = world.get(PLATFORM, match.group(1))
        if account is None or account.status != "active":
            return _error(
                400,
                110,
                "Invalid user id",
                usage,
                subcode=2207013,
                title="Cannot find User",
                user_msg=f"The user with username: {match.group(1)} cannot be found.",
            )
        found: dict[str, Any] = {"id": account.platform_id}
        for field in subfields:
            if _is_media_edge(field):
                media = _media_page(account, field)
                if media is None:
                    return _error(400, 100, "(#100) Invalid media paging", usage)
                found["media"] = media
            elif field != "id":
                value = _profile_field(account, field)
                if value is not None:
                    found[field] = value
        return web.json_response({"business_discovery": found, "id": ig_user_id}, headers=usage)

    app.router.add_get("/{version}/{ig_user_id}", discovery)


def _is_media_edge(field: str) -> bool:
    return field.startswith(("media.", "media{"))


def _instagram_calls(world: World) -> list[int]:
    return [n for (platform, _), n in world.calls.items() if platform == PLATFORM]


def _has_token(request: web.Request) -> bool:
    header = request.headers.get("Authorization", "")
    return (header.startswith("Bearer ") and len(header) > 7) or "access_token" in request.query


def _split(expression: str) -> list[str]:
    """Top-level comma-separated fields, keeping nested ``{...}`` in one piece."""
    parts, depth, current = [], 0, ""
    for char in expression:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += {"{": 1, "}": -1}.get(char, 0)
        current += char
    if current:
        parts.append(current)
    return parts


def _profile_field(account: FakeAccount, field: str) -> object:
    values: dict[str, object] = {
        "username": account.handle,
        "name": account.display_name,
        "followers_count": account.followers,
        "follows_count": account.following,
        "media_count": account.posts_count,
    }
    return values.get(field)


def _media_page(account: FakeAccount, field: str) -> dict[str, Any] | None:
    match = _MEDIA.fullmatch(field)
    if match is None:
        return None
    modifiers = dict(_MODIFIER.findall(match.group(1)))
    wanted = set(match.group(2).split(","))
    limit = int(modifiers.get("limit") or 25)
    start = _decode_cursor(modifiers["after"]) if "after" in modifiers else 0
    if start is None:
        return None
    own = sorted(
        (p for p in account.posts if p.repost_of is None),
        key=lambda p: p.published_at,
        reverse=True,
    )
    page = own[start : start + limit]
    cursors = {"before": _encode_cursor(start)}
    if start + limit < len(own):
        cursors["after"] = _encode_cursor(start + limit)
    data = [{k: v for k, v in _media_item(p).items() if k in wanted} for p in page]
    return {"data": data, "paging": {"cursors": cursors}}


def _media_item(post: FakePost) -> dict[str, object]:
    media_type, product_type = _TYPES.get(post.kind, ("IMAGE", "FEED"))
    item: dict[str, object] = {
        "id": post.id,
        "timestamp": post.published_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "media_type": media_type,
        "media_product_type": product_type,
        "permalink": f"https://www.instagram.com/p/{post.id}/",
        "caption": post.caption,
        "comments_count": post.comments if post.comments is not None else 0,
    }
    if post.likes is not None:
        item["like_count"] = post.likes  # hidden likes: the field is left out
    return item


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
    except ValueError:
        return None
    prefix, _, number = text.partition(":")
    return int(number) if prefix == "offset" and number.isdigit() else None


def _error(
    status: int,
    code: int,
    message: str,
    headers: dict[str, str],
    *,
    subcode: int | None = None,
    title: str | None = None,
    user_msg: str | None = None,
) -> web.Response:
    error: dict[str, object] = {"message": message, "type": "OAuthException", "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
        error["is_transient"] = False
    if title is not None:
        error["error_user_title"] = title
    if user_msg is not None:
        error["error_user_msg"] = user_msg
    error["fbtrace_id"] = "AFakeTraceId"
    return web.json_response({"error": error}, status=status, headers=headers)

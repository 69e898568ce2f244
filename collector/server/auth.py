"""The bearer token and the dashboard's session cookie derived from it."""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import Request

__all__ = ["SESSION_COOKIE", "authorised", "session_value"]

SESSION_COOKIE = "collector_session"


def session_value(token: str) -> str:
    """The session cookie's value for a token: proves the token was given, without holding it."""
    return hmac.new(token.encode(), b"collector-dashboard-session", hashlib.sha256).hexdigest()


def authorised(request: Request, token: str) -> bool:
    """Whether the request carries the token (bearer header) or the session cookie."""
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return bool(cookie) and hmac.compare_digest(cookie.encode(), session_value(token).encode())

"""HTTP plumbing shared by every connector: the client factory, the outcome table, the retry policy.

One table (:data:`STATUS_ACTIONS`) maps an HTTP outcome to an error class, so that no connector
sprinkles its own ``try/except``; a connector only overrides :meth:`Connector.classify` for the
platform quirks that hide behind an ordinary status (YouTube's 403 ``quotaExceeded``, Bluesky's
400 "Profile not found", Meta's throttling codes in a 400 body).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import tenacity

from connectors.errors import (
    AccountNotFound,
    AuthError,
    ConfigError,
    ConnectorError,
    PayloadChanged,
    RateLimited,
    TransientError,
)

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_TIMEOUT",
    "STATUS_ACTIONS",
    "Clock",
    "RetryPolicy",
    "classify_response",
    "decode_json",
    "make_client",
    "retry_at_from_headers",
    "utcnow",
]

T = TypeVar("T")
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of time the project handles)."""
    return datetime.now(UTC)


# A fetch without a timeout is how daemons stall forever; every phase gets one.
DEFAULT_TIMEOUT = httpx.Timeout(20.0, connect=5.0, pool=30.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=8, max_keepalive_connections=8, keepalive_expiry=30)
USER_AGENT = "collector/0.1 (+https://github.com/collector-project/collector)"


def make_client(
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    timeout: httpx.Timeout = DEFAULT_TIMEOUT,
    limits: httpx.Limits = DEFAULT_LIMITS,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Build the one long-lived client a connector uses for its platform.

    Args:
        base_url: The platform's API root (configurable, so tests, proxies and mirrors work).
        headers: Extra headers, for example an ``Authorization`` bearer token.
        params: Query parameters sent with every request (for example an API key).
        timeout: Per-phase timeouts; never None.
        limits: Connection pool limits.
        transport: A custom transport (tests use ``httpx.MockTransport`` or respx).
    """
    all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    all_headers.update(headers or {})
    return httpx.AsyncClient(
        base_url=base_url,
        headers=all_headers,
        params=dict(params or {}),
        timeout=timeout,
        limits=limits,
        transport=transport,
        follow_redirects=True,
    )


#: Without a hint from the server, a rate-limited platform is asked again after this long.
DEFAULT_RATE_LIMIT_WAIT = timedelta(seconds=60)


def retry_at_from_headers(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """When the server says we may call again, from whichever header it uses.

    Understands ``Retry-After`` (seconds or HTTP date), epoch-second resets
    (``x-rate-limit-reset`` on X, ``RateLimit-Reset`` on Bluesky) and ISO 8601 resets
    (``X-RateLimit-Reset`` on Mastodon). Returns None when no header says.
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = lowered.get("retry-after")
    if retry_after:
        value = retry_after.strip()
        if value.isdigit():
            return now + timedelta(seconds=int(value))
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    for name in ("x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset"):
        value = lowered.get(name, "").strip()
        if not value:
            continue
        if value.isdigit():
            number = int(value)
            # Small numbers are "seconds from now" (IETF draft); large ones are epoch seconds.
            if number < 10**9:
                return now + timedelta(seconds=number)
            return datetime.fromtimestamp(number, UTC)
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


@dataclass(frozen=True, slots=True)
class _Action:
    error: type[ConnectorError]
    summary: str


#: The one table from HTTP status to what happens next. Statuses absent from it: 2xx are fine,
#: other 4xx are configuration errors, other 5xx are transient.
STATUS_ACTIONS: Mapping[int, _Action] = {
    400: _Action(ConfigError, "the platform rejected the request as malformed"),
    401: _Action(AuthError, "the credentials were refused; check the platform's token or key"),
    403: _Action(AuthError, "access forbidden; check the credentials' permissions"),
    404: _Action(AccountNotFound, "not found"),
    408: _Action(TransientError, "the server timed out"),
    410: _Action(AccountNotFound, "gone"),
    425: _Action(TransientError, "too early"),
    429: _Action(RateLimited, "rate limited"),
    500: _Action(TransientError, "server error"),
    502: _Action(TransientError, "bad gateway"),
    503: _Action(TransientError, "service unavailable"),
    504: _Action(TransientError, "gateway timeout"),
}


def classify_response(response: httpx.Response, now: datetime) -> ConnectorError | None:
    """Map a response to the error the table prescribes, or None if it succeeded."""
    status = response.status_code
    if status < 400:
        return None
    action = STATUS_ACTIONS.get(status)
    if action is None:
        action = (
            _Action(TransientError, "server error")
            if status >= 500
            else _Action(ConfigError, "request refused")
        )
    message = f"HTTP {status}: {action.summary}"
    if action.error is RateLimited:
        retry_at = retry_at_from_headers(response.headers, now) or now + DEFAULT_RATE_LIMIT_WAIT
        return RateLimited(message, retry_at=retry_at, status_code=status)
    return action.error(message, status_code=status)


def decode_json(response: httpx.Response) -> Any:
    """The JSON body, or :class:`PayloadChanged` with the raw body kept if it is not JSON."""
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadChanged(
            f"HTTP {response.status_code}: response is not valid JSON ({exc.__class__.__name__})",
            raw_body=response.content,
            status_code=response.status_code,
        ) from None


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry policy: what is retried, how long to wait, and when to stop.

    Transient errors are retried with exponential backoff and full jitter; rate limits are
    retried after the time the server gave, if that is within ``max_wait_seconds``, and
    otherwise re-raised so the pipeline reschedules the work. Nothing else is retried, and the
    original exception is re-raised (never a ``RetryError`` that hides it).
    """

    max_attempts: int = 4
    base_wait_seconds: float = 1.0
    max_wait_seconds: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)
    clock: Clock = field(default=utcnow)
    rng: random.Random = field(default_factory=random.Random)

    def _wait_seconds(self, exc: BaseException | None, attempt: int) -> float:
        if isinstance(exc, RateLimited):
            wanted = (exc.retry_at - self.clock()).total_seconds()
            return min(max(wanted, 0.0), self.max_wait_seconds)
        backoff = min(self.base_wait_seconds * 2 ** (attempt - 1), self.max_wait_seconds)
        return self.rng.uniform(0, backoff)

    def _should_retry(self, exc: BaseException | None) -> bool:
        if isinstance(exc, TransientError):
            return True
        if isinstance(exc, RateLimited):
            return (exc.retry_at - self.clock()).total_seconds() <= self.max_wait_seconds
        return False

    async def call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` under the policy and return its result."""
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            retry=tenacity.retry_if_exception(self._should_retry),
            wait=lambda state: self._wait_seconds(
                state.outcome.exception() if state.outcome else None, state.attempt_number
            ),
            sleep=self.sleep,
            reraise=True,
        )
        result: T = await retrying(operation)
        return result

"""TikTok Research API: public profile counts and the creator's own recent videos.

Access is granted only to approved non-profit academic research projects, so the platform is
**disabled unless the operator turns it on** (``enabled = true`` with the project's client key and
secret). Documentation read for this module (TikTok for Developers): "Client Access Token
Management", "Research API - Getting Started", "Query User Info", "Query Videos", "Research API
FAQ", "Codebook", "Error Handling" (API v2), "OAuth Error Handling".

Endpoints
---------
- ``POST /v2/oauth/token/`` (form: ``client_key``, ``client_secret``,
  ``grant_type=client_credentials``) → ``access_token``, ``expires_in`` (7200 s), ``token_type``.
  Endpoint name ``oauth/token``; 0 quota units.
- ``POST /v2/research/user/info/?fields=…`` with ``{"username": …}`` → ``data`` (display_name,
  follower_count, following_count, likes_count, video_count, …). Endpoint name ``user/info``.
- ``POST /v2/research/video/query/?fields=…`` with a ``username EQ`` query, ``start_date`` and
  ``end_date`` (``YYYYMMDD``, UTC, both inclusive), ``max_count`` (≤ 100), then ``cursor`` and
  ``search_id`` from the previous page while ``has_more``. Endpoint name ``video/query``.

Every research response carries the ``{"error": {"code", "message", "log_id"}}`` envelope, with
``code = "ok"`` on success; errors are read from ``code``, never from the HTTP status alone.

Cost and quota
--------------
One pass over N accounts costs at least N ``user/info`` + N ``video/query`` calls (one more per
extra page of 100 videos, rare for one creator's last 30 days) + 1 client-token call every two
hours. With ``since=None`` one page of the last ``video_window_days`` days is fetched; with
``since``, pages are followed until ``has_more`` ends or videos get older than ``since`` (at most
20). The FAQ sets the quota at 1,000 requests a day per project, reset at 00:00 UTC, with at most
100 records per request (hence "100,000 records a day": with ``max_count`` ≤ 100 the record cap
cannot bind before the request cap). The budget is ``DailyUnits(daily_request_limit, zone="UTC",
reserve=request_reserve)``: one unit per research call, retries and failed calls included
(researchers report that even 500 answers are charged), none for the token request. A ``429`` whose
body says ``rate_limit_exceeded`` without a ``Retry-After`` is the daily cap:
:class:`QuotaExhausted` until the next 00:00 UTC, and the budget is marked spent so no further call
(not even a token request) goes out before the reset.

Quirks handled
--------------
- No stable user id is published (user/info returns none; videos carry only ``username``): the
  ``platform_id`` is the lower-cased username, so a rename shows up as "not found".
- ``username EQ`` uses approximate matching (Getting Started: "fuzzy string searching"), so a
  query can return other creators' videos: only videos whose ``username`` is the creator's are
  kept (reposts of others never appear under the reposter's name).
- Video ``id`` is an int64 above 2**53: parsed as an integer, never a float, kept as a string.
  The Query Videos example names it ``video_id``; both names are read.
- ``create_time`` is epoch seconds in UTC.
- The date range may span at most 30 days (Query Videos: "end_date must be no more than 30 days
  after the start_date"); the window ends today (UTC) and starts at ``since``, clamped to
  ``video_window_days`` calendar days (both ends inclusive, as the official wrapper pages them).
- ``favorites_count`` (the bookmark count, "favorites" in the Codebook) is stored as ``saves``;
  TikTok publishes no quote count, so ``quotes`` is None, as is any count a video lacks.
- Video counts come from an archive (FAQ): new videos take up to 48 h to appear and view/like
  counts can lag up to 10 days, whereas user/info reads live data.
- The client token lives two hours; it is cached, refreshed five minutes before it expires, and
  fetched again once when a research call answers 401 ``access_token_invalid``.
- The token endpoint speaks OAuth: its errors are ``{"error": "invalid_client",
  "error_description": …}``, possibly with HTTP 200 (the official wrapper checks both).
- An error envelope can come with HTTP 200: its ``code`` decides, the body is never read as data.
- A ``search_id`` whose cached search expired or is not ready ("Search Id … is invalid or
  expired", ``invalid_params``) is retried with backoff like a server error; the official wrapper
  polls through the same condition. ``internal_error`` is retried whatever its status.
- The username travels in the body, so a 404 means a wrong ``base_url``: a config error, never
  "every account not found".
- Neither secret nor token ever reaches an error message, a log or a kept raw body: messages are
  built from error codes, scrubbed of the credentials, and raw token bodies are redacted.

Verified vs. unverified
-----------------------
Verified in the official docs: the three endpoints, their bodies and field names, the envelope,
the token lifetime and form, the 30-day range, ``max_count`` ≤ 100, ``create_time`` in epoch
seconds, 1,000 requests and 100,000 records a day reset at 00:00 UTC, the error codes
(``access_token_invalid`` 401, ``invalid_params`` 400, ``rate_limit_exceeded`` 429,
``scope_not_authorized`` 401, ``internal_error`` 500), results in decreasing video id, and the
archive lag of video counts. Seen in client libraries and researchers' reports, not in the docs:
inclusive date bounds (the official Python wrapper), OAuth errors in a 200 token answer, the
"Search Id … is invalid or expired" message, and 500 answers being charged to the quota.
Unverified (no recorded response found): the exact body for an unknown or private user. It is
assumed to be ``invalid_params`` (HTTP 400) whose message names the user ("private" → private,
anything else → not found, unless it is about ``fields``, which is our request's fault: a config
error, so a changed field list never marks every account as gone); an empty ``data`` is also
read as not found. Also unverified: that the token request is free of the research quota (the
FAQ counts requests "across our APIs", meaning the research endpoints), and that
``rate_limit_exceeded`` on the research API always means the daily cap (no per-minute research
limit is published; a ``Retry-After`` header, if ever sent, is honoured as a short wait).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr, model_validator

from connectors.base import Connector, PlatformConfig
from connectors.budget import Budget, DailyUnits
from connectors.errors import (
    AccountError,
    AccountNotFound,
    AccountPrivate,
    AuthError,
    ConfigError,
    ConnectorError,
    QuotaExhausted,
    TransientError,
)
from connectors.http import Clock, RetryPolicy, utcnow
from connectors.records import AccountRef, PostPage, PostRecord, ProfileBatch, ProfileRecord

__all__ = ["TikTokConfig", "TikTokConnector"]

TOKEN_PATH = "v2/oauth/token/"  # noqa: S105 - a path, not a password
USER_INFO_PATH = "v2/research/user/info/"
VIDEO_QUERY_PATH = "v2/research/video/query/"

TOKEN_ENDPOINT = "oauth/token"  # noqa: S105 - an endpoint name
USER_INFO_ENDPOINT = "user/info"
VIDEO_QUERY_ENDPOINT = "video/query"

USER_FIELDS = (
    "display_name,bio_description,avatar_url,is_verified,"
    "follower_count,following_count,likes_count,video_count"
)
VIDEO_FIELDS = (
    "id,create_time,username,region_code,video_description,"
    "like_count,comment_count,share_count,view_count,favorites_count"
)

#: The Query Videos limits: 100 videos per page, a date range of at most 30 days.
MAX_COUNT_LIMIT = 100
MAX_WINDOW_DAYS = 30
#: Documented lifetime of a client token, used if a token answer omits ``expires_in``.
DEFAULT_TOKEN_SECONDS = 7200
#: Refresh this long before the token expires, so a call never races the expiry.
TOKEN_REFRESH_MARGIN = timedelta(minutes=5)
#: A creator posting 2,000 videos in 30 days is not a creator the quota can follow: stop there.
MAX_PAGES = 20


class TikTokConfig(PlatformConfig):
    """The ``[platforms.tiktok]`` table: research-project credentials and quota settings."""

    enabled: bool = Field(
        default=False,
        description="Research API access is for approved academic projects only; off by default",
    )
    client_key: SecretStr | None = Field(default=None, description="the research client key")
    client_secret: SecretStr | None = Field(default=None, description="the research client secret")
    daily_request_limit: int = Field(
        default=1000, ge=1, description="research requests per day granted to the project"
    )
    request_reserve: int = Field(
        default=20, ge=0, description="requests kept unspent each day, for safety"
    )
    video_window_days: int = Field(
        default=MAX_WINDOW_DAYS,
        ge=1,
        le=MAX_WINDOW_DAYS,
        description="calendar days one video query covers (the API allows at most 30)",
    )
    max_count: int = Field(
        default=MAX_COUNT_LIMIT,
        ge=1,
        le=MAX_COUNT_LIMIT,
        description="videos per query page (the API allows at most 100)",
    )

    @model_validator(mode="after")
    def _check_credentials_and_reserve(self) -> TikTokConfig:
        if self.request_reserve >= self.daily_request_limit:
            raise ValueError(
                f"request_reserve ({self.request_reserve}) must be below daily_request_limit "
                f"({self.daily_request_limit}), or no call could ever be made"
            )
        if self.enabled:
            missing = [
                name for name in ("client_key", "client_secret") if not _reveal(getattr(self, name))
            ]
            if missing:
                raise ValueError(
                    f"{' and '.join(missing)} must be set when the platform is enabled "
                    "(the research project's credentials, from the environment)"
                )
        return self


def _reveal(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret is not None else ""


@dataclass(frozen=True)
class _Token:
    """A client access token; its value is kept out of ``repr`` so it never lands in a log."""

    value: str = field(repr=False)
    refresh_at: datetime


class _TokenRejected(AuthError):
    """The research API refused the client token (expired or revoked early)."""


@dataclass(frozen=True, slots=True)
class _ApiError:
    """The fields of an error envelope: v2 ``error`` objects and OAuth ``error`` strings."""

    code: str
    message: str
    log_id: str


def _api_error(body: Any) -> _ApiError | None:
    if not isinstance(body, Mapping):
        return None
    error = body.get("error")
    if isinstance(error, Mapping) and isinstance(error.get("code"), str):
        return _ApiError(
            error["code"], str(error.get("message") or ""), str(error.get("log_id") or "")
        )
    if isinstance(error, str):  # OAuth shape of the token endpoint
        return _ApiError(
            error, str(body.get("error_description") or ""), str(body.get("log_id") or "")
        )
    return None


def _body_of(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _next_utc_midnight(now: datetime) -> datetime:
    today = now.astimezone(UTC).date()
    return datetime.combine(today + timedelta(days=1), time(0), UTC)


def _as_int(value: Any) -> int | None:
    """An integer from JSON, or None; booleans and floats are not counts."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None  # a negative count is no count
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _redacted(body: Any) -> Any:
    if isinstance(body, Mapping):
        return {k: "***" if k == "access_token" else _redacted(v) for k, v in body.items()}
    return body


class TikTokConnector(Connector):
    """TikTok Research API: ``user/info`` for profiles, ``video/query`` for the feed."""

    name: ClassVar[str] = "tiktok"
    config_model: ClassVar[type[PlatformConfig]] = TikTokConfig
    batch_size: ClassVar[int] = 1
    default_base_url: ClassVar[str] = "https://open.tiktokapis.com"
    post_batch_size: ClassVar[int] = 0
    units_per_call: ClassVar[Mapping[str, int]] = {TOKEN_ENDPOINT: 0}

    config: TikTokConfig

    def __init__(
        self,
        config: PlatformConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utcnow,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
    ) -> None:
        """Create the connector; a plain PlatformConfig is upgraded to a TikTokConfig."""
        if not isinstance(config, TikTokConfig):
            config = TikTokConfig.model_validate(config.model_dump(exclude_unset=True))
        super().__init__(config, transport=transport, clock=clock, retry=retry, budget=budget)
        self._token: _Token | None = None
        self._token_lock = asyncio.Lock()

    # -- quota -----------------------------------------------------------------------------

    def make_budget(self) -> Budget:
        """The project's daily request ledger, reset at 00:00 UTC."""
        return DailyUnits(
            self.config.daily_request_limit,
            zone="UTC",
            reserve=self.config.request_reserve,
            clock=self.clock,
            sleep=self.retry.sleep,
        )

    def pass_cost(self, accounts: int, *, stats_posts: int = 0) -> dict[str, int]:
        """One user/info and one video/query per account, plus a client token per pass."""
        return {
            TOKEN_ENDPOINT: 1 if accounts else 0,
            USER_INFO_ENDPOINT: accounts,
            VIDEO_QUERY_ENDPOINT: accounts,
        }

    # -- errors ----------------------------------------------------------------------------

    def classify(self, response: httpx.Response) -> ConnectorError | None:
        """Read TikTok's error code from the body before falling back to the status table."""
        status = response.status_code
        if status < 400:
            return None
        api_error = _api_error(_body_of(response))
        path = response.request.url.path
        if path.endswith(TOKEN_PATH):
            return self._token_error(response, api_error)
        if status == 404:
            # The username travels in the body, so a 404 means the URL is wrong (base_url), not
            # that an account is gone: never mark every watched account "not found" for it.
            return ConfigError(
                "tiktok: HTTP 404 for a research endpoint; check base_url", status_code=status
            )
        if api_error is None:
            return super().classify(response)
        if status == 429 and "retry-after" in response.headers:
            return super().classify(response)  # a short, explicit wait: honour it
        return self._research_error(path, api_error, status) or super().classify(response)

    def _research_error(
        self, path: str, api_error: _ApiError, status: int | None
    ) -> ConnectorError | None:
        """The error an envelope's code means on a research endpoint (None: use the table)."""
        code, text = api_error.code, self._describe(api_error)
        if code == "access_token_invalid":
            return _TokenRejected(f"tiktok: client token refused ({text})", status_code=status)
        if code == "rate_limit_exceeded":
            reset = _next_utc_midnight(self.clock())
            return QuotaExhausted(
                f"tiktok: daily research quota spent ({text}); it resets at {reset.isoformat()}",
                reset_at=reset,
                status_code=status,
            )
        if code in ("scope_not_authorized", "scope_permission_missed"):
            return AuthError(
                f"tiktok: the client is not approved for the Research API ({text})",
                status_code=status,
            )
        if code == "invalid_params":
            message = api_error.message.lower()
            if "search id" in message or "search_id" in message:
                # The cached search behind a cursor expired, or is not ready yet (the official
                # wrapper polls through it): retried with backoff like a server error.
                return TransientError(f"tiktok: search cache unavailable ({text})")
            if path.endswith(USER_INFO_PATH) and "field" not in message:
                if "private" in message:
                    return AccountPrivate(
                        f"tiktok: account is private ({text})", status_code=status
                    )
                return AccountNotFound(
                    f"tiktok: no such public account ({text})", status_code=status
                )
            return ConfigError(f"tiktok: request refused ({text})", status_code=status)
        if code == "internal_error":
            return TransientError(f"tiktok: internal error ({text})", status_code=status)
        if status is None:  # an unknown code on a 200: never take its body for data
            return ConfigError(f"tiktok: request refused ({text})")
        return None

    def _token_error(self, response: httpx.Response, api_error: _ApiError | None) -> ConnectorError:
        status = response.status_code
        if status == 429 or status >= 500:
            return super().classify(response) or TransientError(f"HTTP {status}")
        described = self._describe(api_error) if api_error else f"HTTP {status}"
        return AuthError(
            f"tiktok: client token request refused ({described}); check client_key and "
            "client_secret",
            status_code=status,
        )

    def _describe(self, api_error: _ApiError) -> str:
        text = api_error.code
        if api_error.message:
            text += f": {api_error.message[:200]}"
        if api_error.log_id:
            text += f", log_id {api_error.log_id}"
        return self._scrub(text)

    def _scrub(self, text: str) -> str:
        """Remove any credential the platform might echo back, before it reaches a message."""
        for secret in (*self.configured_secrets(), self._token.value if self._token else ""):
            if secret:
                text = text.replace(secret, "***")
        return text

    def parse_body(self, response: httpx.Response) -> Any:
        """Decode a 2xx body; a research envelope whose code is not ``ok`` is an error."""
        body = super().parse_body(response)
        path = response.request.url.path
        if not path.endswith(TOKEN_PATH):
            api_error = _api_error(body)
            if api_error is not None and api_error.code != "ok":
                error = self._research_error(path, api_error, None)
                if error is not None:
                    raise error
        return body

    # -- the client token ------------------------------------------------------------------

    async def _access_token(self) -> str:
        async with self._token_lock:
            token = self._token
            if token is None or self.clock() >= token.refresh_at:
                token = self._token = await self._fetch_token()
            return token.value

    async def _fetch_token(self) -> _Token:
        key, secret = _reveal(self.config.client_key), _reveal(self.config.client_secret)
        if not key or not secret:
            raise AuthError(
                "tiktok: client_key and client_secret are not set in [platforms.tiktok]"
            )
        form = {"client_key": key, "client_secret": secret, "grant_type": "client_credentials"}

        async def attempt() -> Any:
            # 0 units: an exhausted budget still refuses, so no token is fetched for nothing.
            await self.budget.acquire(TOKEN_ENDPOINT, 0)
            self.stats.count(TOKEN_ENDPOINT, 0)
            try:
                response = await self.client.post(
                    TOKEN_PATH, data=form, headers={"Cache-Control": "no-cache"}
                )
            except httpx.TimeoutException as exc:
                raise TransientError(f"timed out ({exc.__class__.__name__})") from None
            except httpx.TransportError as exc:
                raise TransientError(f"connection failed ({exc.__class__.__name__})") from None
            self.budget.observe(TOKEN_ENDPOINT, response.headers)
            error = self.classify(response)
            if error is not None:
                raise error
            return self.parse_body(response)

        body = await self.retry.call(attempt)
        api_error = _api_error(body)
        if api_error is not None and api_error.code != "ok":
            raise AuthError(
                f"tiktok: client token request refused ({self._describe(api_error)}); check "
                "client_key and client_secret"
            )
        value = body.get("access_token") if isinstance(body, Mapping) else None
        # It goes into a header: anything but printable ASCII is no token.
        if not isinstance(value, str) or not value or not (value.isascii() and value.isprintable()):
            raise self.payload_changed("token answer without access_token", _redacted(body))
        lifetime = _as_int(body.get("expires_in"))
        if lifetime is None or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_SECONDS
        margin = min(TOKEN_REFRESH_MARGIN, timedelta(seconds=lifetime / 2))
        return _Token(value, self.clock() + timedelta(seconds=lifetime) - margin)

    async def _research(
        self, path: str, fields: str, body: Mapping[str, Any], endpoint: str
    ) -> Mapping[str, Any]:
        """POST to a research endpoint with the client token; return the envelope's ``data``."""
        token = await self._access_token()
        try:
            payload = await self._send(path, fields, body, endpoint, token)
        except _TokenRejected:
            # Revoked or expired early: one fresh token, once; a second refusal is real.
            async with self._token_lock:
                if self._token is not None and self._token.value == token:
                    self._token = None
            token = await self._access_token()
            try:
                payload = await self._send(path, fields, body, endpoint, token)
            except _TokenRejected:
                raise AuthError(
                    "tiktok: a freshly issued client token was refused too; check that the "
                    "research project is still approved"
                ) from None
        return self._data(payload, endpoint)

    async def _send(
        self, path: str, fields: str, body: Mapping[str, Any], endpoint: str, token: str
    ) -> Any:
        try:
            return await self.request_json(
                "POST",
                path,
                params={"fields": fields},
                json_body=body,
                headers={"Authorization": f"Bearer {token}"},
                endpoint=endpoint,
            )
        except QuotaExhausted:
            if isinstance(self.budget, DailyUnits):
                self.budget.exhausted()
            raise

    def _data(self, payload: Any, endpoint: str) -> Mapping[str, Any]:
        api_error = _api_error(payload)
        if api_error is None:
            raise self.payload_changed(f"{endpoint} answer without its error envelope", payload)
        data = payload.get("data")
        if not isinstance(data, Mapping):
            raise self.payload_changed(f"{endpoint} answer without a data object", payload)
        return data

    # -- profiles --------------------------------------------------------------------------

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        """Public counts of one account (the API looks up one username per request)."""
        if len(accounts) > self.batch_size:
            raise ValueError(
                f"tiktok takes {self.batch_size} account per call, got {len(accounts)}"
            )
        profiles: dict[str, ProfileRecord] = {}
        failures: dict[str, AccountError] = {}
        for account in accounts:
            username = self._username(account.handle)
            try:
                data = await self._research(
                    USER_INFO_PATH, USER_FIELDS, {"username": username}, USER_INFO_ENDPOINT
                )
            except AccountError as exc:
                exc.handle = account.handle
                failures[account.handle] = exc
                continue
            if not data:
                failures[account.handle] = AccountNotFound(
                    "tiktok: user/info returned no data for this username", handle=account.handle
                )
                continue
            profiles[account.handle] = self._profile(account.handle, username, data)
        return ProfileBatch(profiles=profiles, failures=failures)

    def _profile(self, handle: str, username: str, data: Mapping[str, Any]) -> ProfileRecord:
        followers = _as_int(data.get("follower_count"))
        if followers is None:
            raise self.payload_changed("user/info data without follower_count", dict(data))
        display_name = data.get("display_name")
        return ProfileRecord(
            handle=handle,
            platform_id=username,
            collected_at=self.clock(),
            followers=followers,
            following=_as_int(data.get("following_count")),
            posts_count=_as_int(data.get("video_count")),
            display_name=display_name if isinstance(display_name, str) else None,
        )

    @staticmethod
    def _username(handle: str) -> str:
        # TikTok usernames are lower-case; the watchlist may not be.
        return handle.strip().lstrip("@").lower()

    # -- videos ----------------------------------------------------------------------------

    def query_window(self, since: datetime | None) -> tuple[date, date]:
        """The inclusive UTC date range of one video query: to today, never over the maximum."""
        end = self.clock().astimezone(UTC).date()
        earliest = end - timedelta(days=self.config.video_window_days - 1)
        if since is None:
            return earliest, end
        wanted = since.astimezone(UTC).date()
        return min(max(wanted, earliest), end), end

    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        """The creator's own videos since ``since`` (one page if None), newest first."""
        username = self._username(account.handle)
        start, end = self.query_window(since)
        body: dict[str, Any] = {
            "query": {
                "and": [{"operation": "EQ", "field_name": "username", "field_values": [username]}]
            },
            "start_date": start.strftime("%Y%m%d"),
            "end_date": end.strftime("%Y%m%d"),
            "max_count": self.config.max_count,
        }
        posts: dict[str, PostRecord] = {}
        for _ in range(MAX_PAGES):
            data = await self._research(VIDEO_QUERY_PATH, VIDEO_FIELDS, body, VIDEO_QUERY_ENDPOINT)
            videos = data.get("videos", [])
            has_more = data.get("has_more", False)
            if not isinstance(videos, list) or not isinstance(has_more, bool):
                raise self.payload_changed(
                    "video/query data without videos or has_more", dict(data)
                )
            page = [self._post(video, username, data) for video in videos]
            for record in page:
                if record is not None:
                    posts.setdefault(record.platform_post_id, record)
            # Results come in decreasing video id, i.e. newest first: older than since, stop.
            reached_since = since is not None and any(
                r is not None and r.published_at < since for r in page
            )
            # Without since, one normal page is asked for (the contract), which also spares quota.
            if since is None or not has_more or reached_since:
                break
            body = {**body, **self._next_page(data, body)}
        kept = [p for p in posts.values() if since is None or p.published_at >= since]
        kept.sort(key=lambda p: p.published_at, reverse=True)
        return PostPage(posts=tuple(kept))

    def _next_page(self, data: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        cursor = _as_int(data.get("cursor"))
        search_id = data.get("search_id")
        if cursor is None or not isinstance(search_id, str | int) or search_id == "":
            raise self.payload_changed(
                "video/query has_more without cursor or search_id", dict(data)
            )
        previous = _as_int(body.get("cursor")) or 0
        if cursor <= previous:
            raise self.payload_changed("video/query cursor did not advance", dict(data))
        return {"cursor": cursor, "search_id": str(search_id)}

    def _post(self, video: Any, username: str, data: Mapping[str, Any]) -> PostRecord | None:
        """One video as a record, or None if it is another creator's (fuzzy username match)."""
        if not isinstance(video, Mapping):
            raise self.payload_changed("video/query video is not an object", dict(data))
        video_id = _as_int(video.get("id", video.get("video_id")))
        created = _as_int(video.get("create_time"))
        author = video.get("username")
        if video_id is None or created is None or not isinstance(author, str):
            raise self.payload_changed(
                "video/query video without id, create_time or username", dict(data)
            )
        if author.lower() != username:
            return None
        caption = video.get("video_description")
        return PostRecord(
            platform_post_id=str(video_id),
            published_at=datetime.fromtimestamp(created, UTC),
            collected_at=self.clock(),
            kind="video",
            url=f"https://www.tiktok.com/@{author}/video/{video_id}",
            caption=caption if isinstance(caption, str) else None,
            views=_as_int(video.get("view_count")),
            likes=_as_int(video.get("like_count")),
            comments=_as_int(video.get("comment_count")),
            shares=_as_int(video.get("share_count")),
            quotes=None,
            saves=_as_int(video.get("favorites_count")),
        )

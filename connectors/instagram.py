"""Instagram through the Graph API's business discovery: other creators' public counts.

Business discovery reads another professional account's public profile and media *through the
operator's own* Instagram professional account: every request goes to
``GET /{api_version}/{ig_user_id}`` (the operator's id) with a ``fields`` expression naming the
target, and every lookup is charged to the operator's own rate limit.

Endpoints (both are that one Graph request; the names are what ``collection_run`` counts):

- ``business_discovery``: ``fields=business_discovery.username(H){id,username,name,
  followers_count,follows_count,media_count,media.limit(N){id,timestamp,like_count,
  comments_count,media_type,media_product_type,permalink,caption}}``: the profile AND the
  newest ``media_page_size`` media in one call.
- ``business_discovery_media``: ``fields=business_discovery.username(H){id,media.after(C)
  .limit(N){...}}``: an older page of media, only when the first page does not reach back to
  ``since`` (or one call when posts are asked for an account whose profile was not fetched
  first).

Minimum calls per pass: N for N creators (one per creator for profile and recent posts); a
creator who published more than ``media_page_size`` media within ``posts_horizon`` costs one
more call per extra page.

Quota: Instagram Platform requests fall under Meta's Business Use Case (BUC) rate limit, about
4,800 calls × the impressions of the *calling* account per rolling 24 hours. Meta publishes no
absolute number, only percentages in the ``X-Business-Use-Case-Usage`` header (and
``X-App-Usage`` for the app's platform limit). :class:`~connectors.budget.MetaUsage` reads both
after every response: above 75 % it spaces calls out, at 95 % (or whenever Meta sends a non-zero
``estimated_time_to_regain_access``) it pauses the platform until access returns. A throttled
request is answered with HTTP 400 or 403 (not 429) and a Graph error code.

Quirks handled:

- Target fields are nested under ``business_discovery``; media under
  ``business_discovery.media.data`` with ``paging.cursors.after``. Timestamps end in ``+0000``.
- ``fetch_profiles`` keeps the media page of its answer in a per-connector cache (keyed by
  handle, used once, dropped after ``CACHE_MAX_AGE``), so the pipeline's following
  ``fetch_posts`` costs no call.
- Paging stops when the last media of a page is older than ``since`` (the last, not the oldest:
  if Meta lists a creator's pinned old posts first, they must not end paging early; media older
  than ``since`` are dropped either way), when there is no ``after`` cursor, on an empty page,
  on a repeated cursor, or after ``MAX_MEDIA_PAGES`` pages. A short page is *not* taken as the
  end: Graph pages may hold fewer than ``limit`` items.
- ``like_count`` is absent when hidden, and since Meta's May 2021 change a hidden like count
  read through another account can come back as ``0``: absent, or ``0`` next to a positive
  ``comments_count``, becomes None (a real 0 with comments is rare; a false 0 would read as a
  collapse in engagement). ``media_count`` and ``follows_count`` may be absent: None.
- Business discovery publishes no views, shares, saves or quotes: those are None, never 0.
- ``media_product_type`` REELS/STORY wins over ``media_type`` IMAGE/VIDEO/CAROUSEL_ALBUM for the
  kind: "reel", "story", "photo", "video", "carousel".
- Errors arrive as ``{"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}``:
  codes 4, 17, 32, 613 and 80000-80014 (80002 = Instagram BUC) → RateLimited at the usage
  headers' ``estimated_time_to_regain_access`` (minutes) or in an hour; 190 and 102 →
  AuthError (renew the token); 10 and 200-299 → ConfigError naming the permissions; subcode
  2207013 (code 110, "Invalid user id") → AccountNotFound: the handle does not exist or is a
  personal account (Meta does not tell them apart; only Business and Creator accounts can be
  looked up); code 110 *without* that subcode → ConfigError (it may be the operator's own
  ``ig_user_id`` that is wrong, and marking every creator "not found" would stop collecting
  them); 1, 2, ``is_transient`` and 5xx → TransientError; any other 4xx → ConfigError.
- Handles are checked against Instagram's username alphabet before they go into the ``fields``
  expression, so a stray ``)`` or ``{`` in a watchlist never alters the query.
- The token travels in an ``Authorization: Bearer`` header, never in the URL; Meta's messages
  are quoted in errors with the token scrubbed (Graph's "Malformed access token" echoes it).
- No posts cursor is stored: Meta says Graph cursors expire and must not be kept.

Verified against Meta's documentation (developers.facebook.com, as stored): the request and
field-expansion syntax (``media.after(C).limit(N){...}``; IG User Business Discovery reference
and guide, latest version v25.0), the IG User/IG Media field names, that business discovery
needs ``instagram_basic``, ``instagram_manage_insights`` and ``pages_read_engagement`` (plus
``ads_read``/``ads_management`` for Business Manager roles), the error body (Graph "Handling
Errors"), codes 4/17/32/613 and the BUC/App usage headers and their fields (Graph "Rate
Limits"), that media insights (``views``) are owner-only, and the May 2021 change of hidden
``like_count`` to 0. Seen in public client code and tests rather than in Meta's pages: the
response shape of media pages with ``paging.cursors`` (sns-sdks/python-facebook test data),
80002 as Instagram's BUC throttle code, and 110/2207013 for unknown and personal accounts.
Unverified: whether the last media page carries an ``after`` cursor and whether pinned posts
come first (both handled either way), and
that ``Authorization: Bearer`` is accepted (Meta's pages only show the ``access_token``
parameter; restfb and huandu/facebook send the header in production).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
from pydantic import Field, SecretStr, field_validator

from connectors.base import Connector, PlatformConfig
from connectors.budget import Budget, MetaUsage
from connectors.errors import (
    AccountError,
    AccountNotFound,
    AuthError,
    ConfigError,
    ConnectorError,
    RateLimited,
    TransientError,
)
from connectors.records import AccountRef, PostPage, PostRecord, ProfileBatch, ProfileRecord

__all__ = ["CACHE_MAX_AGE", "MAX_MEDIA_PAGES", "InstagramConfig", "InstagramConnector"]

#: A cached first media page older than this is not served: it belongs to an earlier pass.
CACHE_MAX_AGE = timedelta(minutes=10)
#: Safety stop for one ``fetch_posts``: a cursor that never ends must not drain the budget.
MAX_MEDIA_PAGES = 40

PROFILE_ENDPOINT = "business_discovery"
MEDIA_ENDPOINT = "business_discovery_media"

_PROFILE_FIELDS = "id,username,name,followers_count,follows_count,media_count"
_MEDIA_FIELDS = (
    "id,timestamp,like_count,comments_count,media_type,media_product_type,permalink,caption"
)
# Instagram usernames: letters, digits, periods and underscores, at most 30 characters.
_USERNAME = re.compile(r"[A-Za-z0-9._]{1,30}")
# Graph cursors are base64; anything else would change the meaning of the fields expression.
_CURSOR = re.compile(r"[A-Za-z0-9_=+/-]{1,512}")

_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
_BUC_RATE_LIMIT_CODES = range(80000, 80015)
_AUTH_CODES = frozenset({102, 190})
_TRANSIENT_CODES = frozenset({1, 2})
_NOT_FOUND_SUBCODE = 2207013
_USAGE_HEADERS = ("x-business-use-case-usage", "x-app-usage")
#: Without ``estimated_time_to_regain_access``, a throttled platform is asked again after this.
DEFAULT_THROTTLE_WAIT = timedelta(hours=1)
_PERMISSIONS = "instagram_basic, instagram_manage_insights and pages_read_engagement"

_KIND_BY_PRODUCT = {"REELS": "reel", "STORY": "story"}
_KIND_BY_TYPE = {"IMAGE": "photo", "VIDEO": "video", "CAROUSEL_ALBUM": "carousel"}


class InstagramConfig(PlatformConfig):
    """``[platforms.instagram]``: the operator's token and own professional account."""

    access_token: SecretStr = Field(
        description="Facebook user access token with " + _PERMISSIONS,
    )
    ig_user_id: str = Field(
        description="the operator's own Instagram professional account id (digits)",
    )
    api_version: str = Field(default="v25.0", description="Graph API version, like v25.0")
    media_page_size: int = Field(
        default=25, ge=1, le=100, description="media per business discovery page"
    )

    @field_validator("access_token")
    @classmethod
    def _token_present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("access_token is empty: set it from an environment variable")
        return value

    @field_validator("ig_user_id")
    @classmethod
    def _digits_only(cls, value: str) -> str:
        value = value.strip()
        if not value.isdigit() or not value.isascii():
            raise ValueError(
                "ig_user_id is the numeric id of your own Instagram professional account "
                "(for example 17841400000000000), not a username"
            )
        return value

    @field_validator("api_version")
    @classmethod
    def _version_shape(cls, value: str) -> str:
        value = value.strip()
        if not re.fullmatch(r"v\d+\.\d+", value):
            raise ValueError(f"{value!r} is not a Graph API version: write it like v25.0")
        return value


@dataclass(frozen=True, slots=True)
class _CachedMedia:
    media: Any
    fetched_at: datetime


class InstagramConnector(Connector):
    """Profiles and recent media of Business and Creator accounts via business discovery."""

    name: ClassVar[str] = "instagram"
    config_model: ClassVar[type[PlatformConfig]] = InstagramConfig
    batch_size: ClassVar[int] = 1
    default_base_url: ClassVar[str] = "https://graph.facebook.com"
    post_batch_size: ClassVar[int] = 0

    def __init__(self, config: PlatformConfig, **kwargs: Any) -> None:
        """Create the connector; no network traffic happens here."""
        if not isinstance(config, InstagramConfig):
            raise TypeError(f"InstagramConnector needs an InstagramConfig, not {type(config)}")
        super().__init__(config, **kwargs)
        self.settings = config
        self._media_cache: dict[str, _CachedMedia] = {}

    # -- the contract ----------------------------------------------------------------------

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        """One business discovery call per account: its counts, and its newest media cached."""
        profiles: dict[str, ProfileRecord] = {}
        failures: dict[str, AccountError] = {}
        for account in accounts:
            try:
                profiles[account.handle] = await self._fetch_profile(account.handle)
            except AccountError as exc:
                exc.handle = account.handle
                failures[account.handle] = exc
        return ProfileBatch(profiles=profiles, failures=failures)

    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        """The account's media published since ``since``, newest first, paging only if needed."""
        username = self._username(account.handle)
        cached = self._take_cached(username)
        if cached is None:
            body = await self._call(MEDIA_ENDPOINT, username, self._media_field(None))
            media, fetched_at = self._discovery(body).get("media"), self.clock()
        else:
            media, fetched_at = cached.media, cached.fetched_at
        posts: dict[str, PostRecord] = {}
        seen_cursors: set[str] = set()
        for page_number in range(1, MAX_MEDIA_PAGES + 1):
            page, after = self._parse_media(media, fetched_at)
            for post in page:
                if since is None or post.published_at >= since:
                    posts.setdefault(post.platform_post_id, post)
            if since is None or not page or after is None or after in seen_cursors:
                break
            # The page's last item, not its oldest: pinned posts may sit old at the top.
            if page[-1].published_at < since:
                break
            if page_number == MAX_MEDIA_PAGES:
                break
            seen_cursors.add(after)
            body = await self._call(MEDIA_ENDPOINT, username, self._media_field(after))
            media, fetched_at = self._discovery(body).get("media"), self.clock()
        ordered = sorted(posts.values(), key=lambda p: p.published_at, reverse=True)
        # Meta: cursors expire and must not be stored, so there is nothing to keep.
        return PostPage(posts=tuple(ordered), cursor=None)

    def make_budget(self) -> Budget:
        """Meta's usage percentages, read from every response's headers."""
        return MetaUsage(clock=self.clock, sleep=self.retry.sleep)

    def pass_cost(self, accounts: int, *, stats_posts: int = 0) -> dict[str, int]:
        """One business discovery call per creator covers both profile and recent media."""
        return {PROFILE_ENDPOINT: accounts}

    def client_headers(self) -> Mapping[str, str]:
        """The token as a bearer header, so it never appears in a URL or an access log."""
        return {"Authorization": f"Bearer {self.settings.access_token.get_secret_value()}"}

    def classify(self, response: httpx.Response) -> ConnectorError | None:
        """Read Graph's error code: throttling, auth and unknown accounts hide behind 400/403."""
        status = response.status_code
        if status < 400:
            return None
        error = _graph_error(response)
        if error is None:
            return super().classify(response)
        code = error.get("code")
        subcode = error.get("error_subcode")
        label = f"HTTP {status}, Graph error {code}"
        if isinstance(subcode, int):
            label += f" subcode {subcode}"
        message = self._scrub(error.get("message"))
        if message:
            label += f" ({message})"
        if code in _RATE_LIMIT_CODES or code in _BUC_RATE_LIMIT_CODES:
            retry_at = self.clock() + _regain_wait(response.headers)
            return RateLimited(
                f"{label}: Meta throttled the operator's account; calls resume at "
                f"{retry_at.isoformat()}",
                retry_at=retry_at,
                status_code=status,
            )
        if code in _AUTH_CODES:
            return AuthError(
                f"{label}: the access token is invalid or expired; renew it (a long-lived "
                "token lasts about 60 days) and update access_token in [platforms.instagram]",
                status_code=status,
            )
        if code == 10 or (isinstance(code, int) and 200 <= code <= 299):
            return ConfigError(
                f"{label}: the token lacks a permission; business discovery needs {_PERMISSIONS}"
                " (and ads_read or ads_management if the Page role comes from Business Manager)",
                status_code=status,
            )
        if subcode == _NOT_FOUND_SUBCODE:
            return AccountNotFound(
                f"{label}: no such account, or a personal one; only Business and Creator "
                "accounts can be looked up through business discovery",
                status_code=status,
            )
        if code == 110:
            return ConfigError(
                f"{label}: check ig_user_id in [platforms.instagram]; it must be the id of the "
                "operator's own professional account linked to the token",
                status_code=status,
            )
        if code in _TRANSIENT_CODES or error.get("is_transient") is True or status >= 500:
            return TransientError(f"{label}: temporary Graph API failure", status_code=status)
        return ConfigError(f"{label}: the Graph API refused the request", status_code=status)

    # -- helpers -----------------------------------------------------------------------------

    async def _fetch_profile(self, handle: str) -> ProfileRecord:
        username = self._username(handle)
        fields = f"{_PROFILE_FIELDS},{self._media_field(None)}"
        body = await self._call(PROFILE_ENDPOINT, username, fields)
        now = self.clock()
        found = self._discovery(body)
        platform_id = found.get("id")
        followers = found.get("followers_count")
        if not isinstance(platform_id, str) or not platform_id or not _is_count(followers):
            raise self.payload_changed("business_discovery lacks id or followers_count", body)
        following = found.get("follows_count")
        posts_count = found.get("media_count")
        display_name = found.get("name")
        if not _is_optional_count(following) or not _is_optional_count(posts_count):
            raise self.payload_changed("business_discovery counts are not integers", body)
        self._remember(username, found.get("media"), now)
        return ProfileRecord(
            handle=handle,
            platform_id=platform_id,
            collected_at=now,
            followers=followers,
            following=following,
            posts_count=posts_count,
            display_name=display_name if isinstance(display_name, str) else None,
        )

    async def _call(self, endpoint: str, username: str, subfields: str) -> Any:
        fields = f"business_discovery.username({username}){{{subfields}}}"
        path = f"/{self.settings.api_version}/{self.settings.ig_user_id}"
        return await self.get_json(path, params={"fields": fields}, endpoint=endpoint)

    def _media_field(self, after: str | None) -> str:
        paging = f".after({after})" if after is not None else ""
        return f"media{paging}.limit({self.settings.media_page_size}){{{_MEDIA_FIELDS}}}"

    def _discovery(self, body: Any) -> Mapping[str, Any]:
        found = body.get("business_discovery") if isinstance(body, Mapping) else None
        if not isinstance(found, Mapping):
            raise self.payload_changed("no business_discovery object", body)
        return found

    @staticmethod
    def _username(handle: str) -> str:
        username = handle.strip().removeprefix("@")
        if not _USERNAME.fullmatch(username):
            raise AccountNotFound(
                f"{handle!r} is not a valid Instagram username (letters, digits, '.' and '_', "
                "at most 30)",
                handle=handle,
            )
        return username

    def _remember(self, username: str, media: Any, now: datetime) -> None:
        # Entries whose fetch_posts never came (an error, a stop) must not pile up.
        for key in [k for k, v in self._media_cache.items() if now - v.fetched_at > CACHE_MAX_AGE]:
            del self._media_cache[key]
        self._media_cache[username.lower()] = _CachedMedia(media, now)

    def _take_cached(self, username: str) -> _CachedMedia | None:
        cached = self._media_cache.pop(username.lower(), None)
        if cached is None or self.clock() - cached.fetched_at > CACHE_MAX_AGE:
            return None
        return cached

    def _parse_media(
        self, media: Any, collected_at: datetime
    ) -> tuple[list[PostRecord], str | None]:
        """One page of media as records, and the cursor of the next page if there is one."""
        if media is None:
            return [], None  # an account with no media has no media edge in the answer
        items = media.get("data") if isinstance(media, Mapping) else None
        if not isinstance(items, list):
            raise self.payload_changed("business_discovery.media has no data list", media)
        posts = [self._parse_item(item, media, collected_at) for item in items]
        paging = media.get("paging")
        cursors = paging.get("cursors") if isinstance(paging, Mapping) else None
        after = cursors.get("after") if isinstance(cursors, Mapping) else None
        if after is None:
            return posts, None
        if not isinstance(after, str) or not _CURSOR.fullmatch(after):
            raise self.payload_changed("business_discovery.media has an unusable cursor", media)
        return posts, after

    def _parse_item(self, item: Any, media: Any, collected_at: datetime) -> PostRecord:
        if not isinstance(item, Mapping):
            raise self.payload_changed("a media item is not an object", media)
        media_id = item.get("id")
        published_at = _parse_timestamp(item.get("timestamp"))
        likes = item.get("like_count")
        comments = item.get("comments_count")
        if not isinstance(media_id, str) or not media_id or published_at is None:
            raise self.payload_changed("a media item lacks id or timestamp", media)
        if not _is_optional_count(likes) or not _is_optional_count(comments):
            raise self.payload_changed("a media item's counts are not integers", media)
        if likes == 0 and comments:
            likes = None  # hidden likes read through business discovery come back as 0
        permalink = item.get("permalink")
        caption = item.get("caption")
        return PostRecord(
            platform_post_id=media_id,
            published_at=published_at,
            collected_at=collected_at,
            kind=_kind(item.get("media_type"), item.get("media_product_type")),
            url=permalink if isinstance(permalink, str) else None,
            caption=caption if isinstance(caption, str) else None,
            likes=likes,
            comments=comments,
        )

    def _scrub(self, message: object) -> str:
        if not isinstance(message, str):
            return ""
        token = self.settings.access_token.get_secret_value()
        if token:
            message = message.replace(token, "***")
        return message[:200]


def _graph_error(response: httpx.Response) -> Mapping[str, Any] | None:
    """The ``error`` object of a Graph error body, if the body is one."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    error = body.get("error") if isinstance(body, Mapping) else None
    if not isinstance(error, Mapping) or not isinstance(error.get("code"), int):
        return None
    return error


def _regain_wait(headers: Mapping[str, str]) -> timedelta:
    """The longest ``estimated_time_to_regain_access`` (minutes) in Meta's usage headers."""
    lowered = {k.lower(): v for k, v in headers.items()}
    minutes = 0.0
    for name in _USAGE_HEADERS:
        try:
            data = json.loads(lowered.get(name) or "null")
        except ValueError:
            continue
        if not isinstance(data, Mapping):
            continue
        # BUC: {"<object id>": [{...}, ...]}; App usage: one flat object.
        values = list(data.values())
        entries = [e for v in values if isinstance(v, list) for e in v] or [data]
        for entry in entries:
            regain = (
                entry.get("estimated_time_to_regain_access") if isinstance(entry, Mapping) else None
            )
            if isinstance(regain, int | float) and not isinstance(regain, bool):
                minutes = max(minutes, float(regain))
    return timedelta(minutes=minutes) if minutes > 0 else DEFAULT_THROTTLE_WAIT


def _parse_timestamp(value: object) -> datetime | None:
    """Graph's ``2021-08-17T19:00:42+0000`` (an offset without a colon) as UTC."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")
    except ValueError:
        return None
    return parsed.astimezone(UTC)


def _kind(media_type: object, product_type: object) -> str | None:
    if isinstance(product_type, str) and product_type in _KIND_BY_PRODUCT:
        return _KIND_BY_PRODUCT[product_type]
    if isinstance(media_type, str):
        return _KIND_BY_TYPE.get(media_type, media_type.lower())
    return None


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_optional_count(value: object) -> bool:
    return value is None or _is_count(value)

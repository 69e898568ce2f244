"""The X API v2 connector: follower counts and the creator's own posts, with an app-only token.

Endpoints (relative to ``https://api.x.com/2``, the host the current docs use; the older
``api.twitter.com`` answers too and still appears in error ``type`` URIs):

- ``GET /users/by?usernames=a,b,…&user.fields=public_metrics,created_at,protected,verified``
  (endpoint name ``users_by``): up to 100 usernames per call. ``public_metrics`` appears only
  when requested. Missing and suspended accounts come back as ``errors[]`` beside ``data`` in a
  **200**, so the rest of the batch succeeds.
- ``GET /users/:id/tweets?max_results=&tweet.fields=public_metrics,created_at,conversation_id,
  in_reply_to_user_id,referenced_tweets&exclude=retweets[,replies]&start_time=&pagination_token=``
  (``user_tweets``): the account's timeline, newest first, 5–100 per page, ``meta.next_token``
  until exhausted or older than ``since``. Only the 3,200 most recent posts are reachable (800
  with ``exclude=replies``).
- ``GET /tweets?ids=…&tweet.fields=public_metrics,created_at,referenced_tweets``
  (``tweets_lookup``): counts of up to 100 known posts (``post_batch_size``), for re-polls of
  posts beyond the first timeline page. ``referenced_tweets`` is asked for so the re-polled
  record keeps the same ``kind`` as the timeline gave it.

Minimum calls per pass for N accounts: ``ceil(N/100)`` users lookups + ``N`` timeline pages
(one each; more when an account posted more than ``timeline_page_size`` posts within
``posts_horizon``) + ``ceil(P/100)`` post lookups for P older posts re-polled by id.

Quota. Rate limits are per app and per endpoint over 15-minute windows (docs.x.com "X API Rate
Limits", checked): users lookup ``/2/users/by`` 300 per 15 min, user timeline
``/2/users/:id/tweets`` 10,000 per 15 min (the 1,500 figure belongs to
``/2/users/by/username/:username/tweets``), post lookup ``/2/tweets`` 3,500 per 15 min. Every
response carries ``x-rate-limit-limit``, ``x-rate-limit-remaining`` and ``x-rate-limit-reset``
(epoch seconds); there is no ``Retry-After``. The budget is a per-endpoint
:class:`~connectors.budget.HeaderWindow` on ``x-rate-limit-remaining``: when a window is spent,
the next call to that endpoint waits for its reset (or raises ``RateLimited`` if the reset is
more than a minute away) instead of earning a 429. Billing is separate: pay-per-use credits are
charged per post and user returned (deduplicated per UTC day), with a monthly cap on post reads;
the console tracks that, not this budget, so the connector maps the platform's own signals.

Quirks handled:

- ``public_metrics`` is absent unless ``user.fields``/``tweet.fields`` ask for it; a user or
  post without it is a changed payload, never a row of zeros.
- User and post ids are strings (64-bit integers that JSON floats would corrupt); an id that is
  not a string of digits is a changed payload.
- Usernames compare case-insensitively; each record is keyed by the handle the pipeline asked
  for, whatever case X returns. A handle that cannot be an X username (``^[A-Za-z0-9_]{1,15}$``)
  is reported as not found without being sent: X answers one such handle with a 400 for the
  whole batch of 100.
- Per-account errors in a 200: ``title`` "Not Found Error" → AccountNotFound; "Forbidden" with
  "User has been suspended: [x]." (its ``type`` still says resource-not-found, so the detail
  decides) → AccountSuspended; "Authorization Error" / ``not-authorized-for-resource`` (a
  protected account's timeline: counts are public, posts are not) → AccountPrivate from
  :meth:`XConnector.fetch_posts`. An entry we cannot read leaves its account out of the batch
  (the pipeline retries it) rather than inventing a status change.
- Retweets are not the creator's posts: ``exclude=retweets`` and, in case one slips through,
  any item whose ``referenced_tweets`` has type ``retweeted`` is dropped. Replies and quotes are
  the creator's own posts (kind ``reply`` / ``quote``); ``include_replies = false`` excludes
  replies at the source.
- ``impression_count`` exists only on newer posts and ``bookmark_count`` only on newer data:
  absent → ``views``/``saves`` None, never 0.
- 429 means two things: a rate limit (body ``{"title":"Too Many Requests","type":"about:blank",
  …}``, unlike other X error bodies) → RateLimited at ``x-rate-limit-reset``; or the usage cap
  (``"title":"UsageCapExceeded"``, ``type …/problems/usage-capped``, ``period`` "Monthly") →
  QuotaExhausted until the start of the next UTC month (the next UTC midnight for a "Daily"
  period). ``x-rate-limit-reset`` is not used for the cap: it describes the 15-minute window,
  which is typically nearly full when the cap hits.
- 402 ``CreditsDepleted`` (``type …/problems/credits``; pay-per-use balance empty) and 403
  ``client-not-enrolled`` (``…/problems/client-forbidden``; the app is not in a Project or its
  access level lacks the endpoint) → ConfigError: only the operator can fix them.
- A bare 404 means a wrong ``base_url`` (X reports missing resources in ``errors[]``), so it is
  a ConfigError rather than "account not found" for a whole batch; only a timeline's 404 with a
  ``resource-not-found`` problem is AccountNotFound.

Verified against docs.x.com (xdevplatform/docs): host ``api.x.com``; ``/2/users/by`` takes up to
100 usernames; the timeline's ``exclude``, ``start_time``, ``max_results`` (5–100),
``pagination_token``/``meta.next_token`` and 3,200/800 post limits; the public metric field
names including ``bookmark_count`` and ``impression_count``; the rate-limit numbers and headers;
problem types (``resource-not-found``, ``not-authorized-for-resource``, ``client-forbidden``,
``usage-capped``) and partial errors in a 200. Verified from bodies quoted in public issues and
client tests: the not-found, suspended and protected-timeline error entries, the 429 body,
``UsageCapExceeded`` (HTTP 429), ``client-not-enrolled`` (HTTP 403), ``CreditsDepleted`` (HTTP
402), the 400 for an invalid username. Unverified: whether the monthly cap follows the calendar
month or the account's billing cycle (we assume the calendar month, UTC); the body of a
spending-limit block (treated like the cap if it says ``usage-capped``, else as a ConfigError);
the exact ``start_time`` rounding (we send whole seconds, rounded down, and filter locally).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeGuard

import httpx
from pydantic import Field, SecretStr, field_validator

from connectors.base import Connector, PlatformConfig
from connectors.budget import Budget, HeaderWindow
from connectors.errors import (
    AccountError,
    AccountNotFound,
    AccountPrivate,
    AccountSuspended,
    ConfigError,
    ConnectorError,
    QuotaExhausted,
)
from connectors.records import (
    AccountRef,
    PostPage,
    PostRecord,
    PostRef,
    ProfileBatch,
    ProfileRecord,
)

__all__ = ["XConfig", "XConnector"]

#: What X accepts as a username; anything else makes ``/2/users/by`` refuse the whole batch.
USERNAME = re.compile(r"[A-Za-z0-9_]{1,15}")
_DIGITS = re.compile(r"[0-9]{1,20}")
_BRACKETED = re.compile(r"\[([^\]]+)\]")
_TIMELINE_PATH = re.compile(r"/users/[0-9]+/tweets$")

USER_FIELDS = "public_metrics,created_at,protected,verified"
TIMELINE_TWEET_FIELDS = (
    "public_metrics,created_at,conversation_id,in_reply_to_user_id,referenced_tweets"
)
LOOKUP_TWEET_FIELDS = "public_metrics,created_at,referenced_tweets"
#: The timeline serves only the 3,200 most recent posts; a loop past that is a server bug.
TIMELINE_REACH = 3200


class XConfig(PlatformConfig):
    """The ``[platforms.x]`` table."""

    bearer_token: SecretStr = Field(
        description="app-only bearer token (OAuth 2.0 App-Only) of an app attached to a Project"
    )
    timeline_page_size: int = Field(
        default=100, ge=5, le=100, description="posts per timeline page (X accepts 5 to 100)"
    )
    include_replies: bool = Field(
        default=True, description="collect the creator's replies as posts (false: exclude them)"
    )

    @field_validator("bearer_token")
    @classmethod
    def _bearer_token_is_not_empty(cls, value: SecretStr) -> SecretStr:
        # An unset ${X_BEARER_TOKEN} expands to "", which X would only answer with 401s.
        if not value.get_secret_value().strip():
            raise ValueError("bearer_token is empty; set it (for example to ${X_BEARER_TOKEN})")
        return value


class XConnector(Connector):
    """X API v2 with an app-only bearer token."""

    name: ClassVar[str] = "x"
    config_model: ClassVar[type[PlatformConfig]] = XConfig
    batch_size: ClassVar[int] = 100
    default_base_url: ClassVar[str] = "https://api.x.com/2"
    post_batch_size: ClassVar[int] = 100
    #: Every call spends one request of its endpoint's window; credits are billed per item
    #: returned, which no request-level count can track.
    units_per_call: ClassVar[Mapping[str, int]] = {}

    @property
    def x_config(self) -> XConfig:
        """The config, typed as this platform's model."""
        if not isinstance(self.config, XConfig):
            raise TypeError(f"XConnector needs an XConfig, not {type(self.config).__name__}")
        return self.config

    # -- credentials, budget, cost -------------------------------------------------------------

    def client_headers(self) -> Mapping[str, str]:
        """The bearer token, in the header only (never in a URL that could be logged)."""
        return {"Authorization": f"Bearer {self.x_config.bearer_token.get_secret_value()}"}

    def make_budget(self) -> Budget:
        """Per-endpoint 15-minute windows read from ``x-rate-limit-remaining``/``-reset``."""
        return HeaderWindow(
            remaining_header="x-rate-limit-remaining",
            per_endpoint=True,
            clock=self.clock,
            sleep=self.retry.sleep,
        )

    def pass_cost(self, accounts: int, *, stats_posts: int = 0) -> dict[str, int]:
        """Users lookups in hundreds, one timeline page per account, post lookups in hundreds."""
        return {
            "users_by": -(-accounts // self.batch_size),
            "user_tweets": accounts,
            "tweets_lookup": -(-stats_posts // self.post_batch_size),
        }

    # -- profiles ------------------------------------------------------------------------------

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        """Counts of up to 100 accounts in one ``/2/users/by`` call."""
        profiles: dict[str, ProfileRecord] = {}
        failures: dict[str, AccountError] = {}
        wanted: dict[str, list[str]] = {}
        for ref in accounts:
            username = ref.handle.removeprefix("@")
            if USERNAME.fullmatch(username) is None:
                failures[ref.handle] = AccountNotFound(
                    f"x: {ref.handle!r} cannot be an X username (1-15 letters, digits or _)",
                    handle=ref.handle,
                )
                continue
            wanted.setdefault(username.lower(), []).append(ref.handle)
        for chunk in _chunks(list(wanted), self.batch_size):
            await self._lookup_users({name: wanted[name] for name in chunk}, profiles, failures)
        return ProfileBatch(profiles=profiles, failures=failures)

    async def _lookup_users(
        self,
        wanted: Mapping[str, list[str]],
        profiles: dict[str, ProfileRecord],
        failures: dict[str, AccountError],
    ) -> None:
        body = await self.get_json(
            "users/by",
            params={"usernames": ",".join(wanted), "user.fields": USER_FIELDS},
            endpoint="users_by",
        )
        data, errors = self._data_and_errors(body, "users/by")
        if data is None and not errors:
            raise self.payload_changed("users/by: neither data nor errors", body)
        collected_at = self.clock()
        for user in data or []:
            record = self._profile(user, body, collected_at)
            for handle in wanted.get(record.handle.lower(), []):
                profiles[handle] = replace(record, handle=handle)
        for error in errors:
            key = _error_subject(error).lower()
            for handle in wanted.get(key, []):
                if handle in profiles:
                    continue
                account_error = _account_error(error, handle)
                # An error we cannot read leaves the handle out: the pipeline retries it later
                # rather than recording a status change it cannot justify.
                if account_error is not None:
                    failures[handle] = account_error

    def _profile(self, user: Any, body: Any, collected_at: datetime) -> ProfileRecord:
        """One ``data[]`` user; ``handle`` holds X's username until the caller re-keys it."""
        if not isinstance(user, Mapping):
            raise self.payload_changed("users/by: a user is not an object", body)
        user_id = user.get("id")
        username = user.get("username")
        metrics = user.get("public_metrics")
        if not _is_id(user_id) or not isinstance(username, str):
            raise self.payload_changed("users/by: a user without a string id or username", body)
        if not isinstance(metrics, Mapping):
            raise self.payload_changed("users/by: a user without public_metrics", body)
        followers = metrics.get("followers_count")
        following = metrics.get("following_count")
        posts_count = metrics.get("tweet_count")
        if not (_is_count(followers) and _is_count(following) and _is_count(posts_count)):
            raise self.payload_changed("users/by: public_metrics without integer counts", body)
        name = user.get("name")
        return ProfileRecord(
            handle=username,
            platform_id=user_id,
            collected_at=collected_at,
            followers=followers,
            following=following,
            posts_count=posts_count,
            display_name=name if isinstance(name, str) else None,
        )

    # -- posts ---------------------------------------------------------------------------------

    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        """The account's own posts since ``since`` (one page if None), newest first."""
        user_id = account.platform_id or await self._resolve(account)
        excluded = "retweets" if self.x_config.include_replies else "retweets,replies"
        params: dict[str, str] = {
            "max_results": str(self.x_config.timeline_page_size),
            "tweet.fields": TIMELINE_TWEET_FIELDS,
            "exclude": excluded,
        }
        if since is not None:
            # X takes whole seconds; rounding down may return a few older posts, dropped below.
            params["start_time"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        posts: dict[str, PostRecord] = {}
        max_pages = -(-TIMELINE_REACH // self.x_config.timeline_page_size) + 1
        token: str | None = None
        for _page in range(max_pages):
            if token is not None:
                params["pagination_token"] = token
            body = await self.get_json(
                f"users/{user_id}/tweets", params=dict(params), endpoint="user_tweets"
            )
            data, errors = self._data_and_errors(body, "users/:id/tweets")
            meta = body.get("meta")
            if data is None:
                if errors:
                    raise self._timeline_error(errors, account, body)
                if not isinstance(meta, Mapping):
                    raise self.payload_changed("users/:id/tweets: neither data nor meta", body)
            reached_since = False
            collected_at = self.clock()
            for tweet in data or []:
                record = self._post(tweet, account.handle, body, collected_at)
                if record is None:
                    continue
                if since is not None and record.published_at < since:
                    reached_since = True
                    continue
                posts[record.platform_post_id] = record
            next_token = meta.get("next_token") if isinstance(meta, Mapping) else None
            if since is None or reached_since or not isinstance(next_token, str):
                break
            token = next_token
        ordered = sorted(posts.values(), key=lambda p: p.published_at, reverse=True)
        cursor = ordered[0].platform_post_id if ordered else account.posts_cursor
        return PostPage(posts=tuple(ordered), cursor=cursor)

    async def _resolve(self, account: AccountRef) -> str:
        """The user id of an account seen for the first time (the pipeline normally has it)."""
        batch = await self.fetch_profiles([AccountRef(account.handle)])
        failure = batch.failures.get(account.handle)
        if failure is not None:
            raise failure
        profile = batch.profiles.get(account.handle)
        if profile is None:
            raise AccountNotFound(f"x: @{account.handle} was not returned", handle=account.handle)
        return profile.platform_id

    def _timeline_error(
        self, errors: list[Mapping[str, Any]], account: AccountRef, body: Any
    ) -> ConnectorError:
        for error in errors:
            account_error = _account_error(error, account.handle)
            if account_error is not None:
                return account_error
        return self.payload_changed("users/:id/tweets: errors without data", body)

    def _post(
        self, tweet: Any, handle: str, body: Any, collected_at: datetime
    ) -> PostRecord | None:
        """One post, or None for a retweet (someone else's post)."""
        if not isinstance(tweet, Mapping):
            raise self.payload_changed("a post is not an object", body)
        references = tweet.get("referenced_tweets") or []
        if not isinstance(references, list):
            raise self.payload_changed("referenced_tweets is not a list", body)
        kinds = {ref.get("type") for ref in references if isinstance(ref, Mapping)}
        if "retweeted" in kinds:
            return None
        post_id = tweet.get("id")
        if not _is_id(post_id):
            raise self.payload_changed("a post without a string id", body)
        published_at = _parse_time(tweet.get("created_at"))
        if published_at is None:
            raise self.payload_changed("a post without a readable created_at", body)
        metrics = tweet.get("public_metrics")
        if not isinstance(metrics, Mapping):
            raise self.payload_changed("a post without public_metrics", body)
        likes = metrics.get("like_count")
        comments = metrics.get("reply_count")
        shares = metrics.get("retweet_count")
        if not (_is_count(likes) and _is_count(comments) and _is_count(shares)):
            raise self.payload_changed("public_metrics without like/reply/retweet counts", body)
        optional = {}
        for field in ("quote_count", "bookmark_count", "impression_count"):
            value = metrics.get(field)
            if value is not None and not _is_count(value):
                raise self.payload_changed(f"public_metrics.{field} is not a count", body)
            optional[field] = value
        text = tweet.get("text")
        return PostRecord(
            platform_post_id=post_id,
            published_at=published_at,
            collected_at=collected_at,
            kind="reply" if "replied_to" in kinds else "quote" if "quoted" in kinds else "post",
            url=f"https://x.com/{handle}/status/{post_id}",
            caption=text if isinstance(text, str) else None,
            views=optional["impression_count"],
            likes=likes,
            comments=comments,
            shares=shares,
            quotes=optional["quote_count"],
            saves=optional["bookmark_count"],
        )

    async def fetch_post_stats(self, posts: Sequence[PostRef]) -> list[PostRecord]:
        """Current counts of known posts, 100 ids per ``/2/tweets`` call; gone posts left out."""
        by_id = {post.platform_post_id: post for post in posts}
        records: list[PostRecord] = []
        for chunk in _chunks(list(by_id), self.post_batch_size):
            body = await self.get_json(
                "tweets",
                params={"ids": ",".join(chunk), "tweet.fields": LOOKUP_TWEET_FIELDS},
                endpoint="tweets_lookup",
            )
            data, errors = self._data_and_errors(body, "tweets")
            if data is None and not errors:
                raise self.payload_changed("tweets: neither data nor errors", body)
            collected_at = self.clock()
            # Deleted, protected or suspended authors' posts come back as errors: left out.
            for tweet in data or []:
                if not isinstance(tweet, Mapping):
                    raise self.payload_changed("tweets: a post is not an object", body)
                tweet_id = tweet.get("id")
                ref = by_id.get(tweet_id) if isinstance(tweet_id, str) else None
                if ref is None:
                    continue  # not one we asked for
                record = self._post(tweet, ref.handle, body, collected_at)
                if record is not None:
                    records.append(record)
        return records

    # -- responses -----------------------------------------------------------------------------

    def _data_and_errors(
        self, body: Any, what: str
    ) -> tuple[list[Any] | None, list[Mapping[str, Any]]]:
        """``data`` (None if absent) and ``errors`` of a v2 envelope; other shapes raise."""
        if not isinstance(body, Mapping):
            raise self.payload_changed(f"{what}: the body is not an object", body)
        data = body.get("data")
        errors = body.get("errors", [])
        if data is not None and not isinstance(data, list):
            raise self.payload_changed(f"{what}: data is not a list", body)
        if not isinstance(errors, list) or not all(isinstance(e, Mapping) for e in errors):
            raise self.payload_changed(f"{what}: errors is not a list of objects", body)
        # Errors about expansions ("section": "includes") do not concern the requested items.
        return data, [e for e in errors if e.get("section", "data") == "data"]

    def classify(self, response: httpx.Response) -> ConnectorError | None:
        """X's quirks: the usage cap hides behind 429, credits behind 402, enrolment behind 403."""
        status = response.status_code
        if status < 400:
            return None
        problem = _problem(response)
        title = str(problem.get("title", ""))
        problem_type = str(problem.get("type", ""))
        now = self.clock()
        if title == "UsageCapExceeded" or problem_type.endswith("/usage-capped"):
            period = str(problem.get("period", "Monthly"))
            reset = _next_day(now) if period.lower() == "daily" else _next_month(now)
            return QuotaExhausted(
                f"HTTP {status}: X usage cap exceeded ({period} {problem.get('scope', 'Product')}"
                f" cap); collection resumes at {reset.isoformat()}",
                reset_at=reset,
                status_code=status,
            )
        if status == 402:
            why = (
                "the X developer account has no credits left"
                if title == "CreditsDepleted" or problem_type.endswith("/credits")
                else "X requires payment for this request"
            )
            return ConfigError(
                f"HTTP 402: {why}; add credits or raise the spending limit at console.x.com",
                status_code=status,
            )
        if status == 403:
            reason = problem.get("reason") or title or "Forbidden"
            enrolment = problem.get("required_enrollment")
            needed = f" (X requires: {enrolment})" if isinstance(enrolment, str) else ""
            return ConfigError(
                f"HTTP 403: {reason}{needed}; the app behind bearer_token must be attached to a "
                "Project whose access level includes users lookup, user timelines and post "
                "lookup",
                status_code=status,
            )
        if status == 404:
            # Only a timeline names one account; on a batch, "not found" must not fail them all.
            if problem_type.endswith("/resource-not-found") and _is_timeline(response):
                return AccountNotFound(f"HTTP 404: {title or 'not found'}", status_code=status)
            return ConfigError(
                "HTTP 404: no such X API path; check platforms.x.base_url "
                f"(default {self.default_base_url})",
                status_code=status,
            )
        return super().classify(response)


# -- helpers -----------------------------------------------------------------------------------


def _is_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and _DIGITS.fullmatch(value) is not None


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _is_timeline(response: httpx.Response) -> bool:
    try:
        path = response.request.url.path
    except RuntimeError:  # a response built without its request
        return False
    return _TIMELINE_PATH.search(path) is not None


def _problem(response: httpx.Response) -> Mapping[str, Any]:
    """The JSON problem body of an error response, or an empty mapping."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, Mapping) else {}


def _error_subject(error: Mapping[str, Any]) -> str:
    """Which requested value (username or id) an ``errors[]`` entry is about."""
    for key in ("value", "resource_id"):
        value = error.get(key)
        if isinstance(value, str) and value:
            return value
    found = _BRACKETED.search(str(error.get("detail", "")))
    return found.group(1) if found else ""


def _account_error(error: Mapping[str, Any], handle: str) -> AccountError | None:
    """The account-level error an ``errors[]`` entry describes, if it is one we know."""
    title = str(error.get("title", ""))
    detail = str(error.get("detail", ""))
    problem_type = str(error.get("type", ""))
    # Suspension arrives as title "Forbidden" with a resource-not-found type: test it first.
    if "suspended" in detail.lower():
        return AccountSuspended(f"x: @{handle} is suspended ({title})", handle=handle)
    if title == "Authorization Error" or problem_type.endswith("/not-authorized-for-resource"):
        return AccountPrivate(f"x: @{handle} is protected ({title})", handle=handle)
    if title == "Not Found Error" or problem_type.endswith("/resource-not-found"):
        return AccountNotFound(f"x: @{handle} does not exist ({title})", handle=handle)
    return None


def _next_day(now: datetime) -> datetime:
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


def _next_month(now: datetime) -> datetime:
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return (start + timedelta(days=32)).replace(day=1)


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

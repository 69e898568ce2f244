"""The Mastodon connector: public profiles and statuses, read from each handle's own instance.

Handles are ``user@instance`` (``@user@instance`` is accepted too). There is no central API:
each handle's data is read from ``https://<instance>``, through one long-lived client per
instance. When ``base_url`` is set, that one server answers for every instance (tests, a
caching proxy, or the operator's own instance looking federated accounts up): the lookup then
carries the full ``acct=user@instance`` so the server can tell instances apart.

Endpoints (names as counted in ``stats`` and shown by ``collector plan``):

- ``accounts/lookup``: ``GET /api/v1/accounts/lookup?acct=`` → the Account entity
  (``id``, ``followers_count``, ``following_count``, ``statuses_count``, ``display_name``,
  ``suspended``, ``moved``). Public, no token needed (Mastodon 3.4+).
- ``accounts/statuses``: ``GET /api/v1/accounts/:id/statuses?limit=40&exclude_reblogs=true``,
  paginated by the ``Link`` header (``rel="next"`` carries ``max_id``) → Status entities
  (``favourites_count``, ``replies_count``, ``reblogs_count``, ``quotes_count`` on 4.5+).

Minimum calls per pass: 2 per account (one lookup, one statuses page); a creator who posted
more than ``statuses_page_size`` statuses inside ``posts_horizon`` costs one more call per
extra page. ``batch_size`` is 1: Mastodon has no batch lookup.

Quota: 300 requests per 5 minutes per IP (and per account when a token is sent), per instance
(instances may change it). Every response carries ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (an ISO 8601 timestamp, not epoch seconds).
The budget is a :class:`~connectors.budget.HeaderWindow` keyed by *instance*, not by endpoint,
since each instance counts its own window (with a ``base_url`` too, so a fake or proxy that
reports per-instance windows is read right): when an instance's window is down to 5 calls,
calls to that instance wait for its reset while the others go on. A wait longer than a minute,
like a 429 (whose retry time is its ``X-RateLimit-Reset``), raises ``RateLimited``; the pipeline
then pauses the whole platform until then, at most one 5-minute window. That is the price of
one connector per platform; the budget keeps it rare by stopping short of the limit.

Quirks handled:

- A boost (``reblog`` not null) is someone else's post: its own counts are 0 and the real ones
  sit inside ``reblog``. Boosts are dropped even though ``exclude_reblogs=true`` is sent,
  because servers older than 2.7.0 (and some non-Mastodon servers) ignore that parameter.
- Status ``content`` is sanitised HTML (``<p>``, ``<br>``, ``<a>``, ``<span>``): the caption is
  its text, paragraphs kept as blank lines, full link URLs kept (the ``invisible`` spans hold
  their hidden parts), and the ``quote-inline`` "RE: <link>" fallback that 4.5 prepends to
  quote posts dropped.
- Some instances refuse unauthenticated API access (whitelist/"limited federation" mode:
  401 ``{"error": "This API requires an authenticated user"}``). A 401/403 to a request that
  carried no token is reported as :class:`AccountPrivate` for that one handle, naming the
  instance and the fix (``access_token`` + ``token_instance``): one locked-down instance must
  not pause every other instance, which an ``AuthError`` would. A 401/403 to a request that did
  carry the operator's token is an ``AuthError`` (the token is wrong), and so is a refusal by a
  ``base_url`` server, which answers for every instance.
- The token is sent only to ``token_instance`` (the operator's own instance), never to the
  instances of watched handles; pagination never follows a ``Link`` URL to another host (the
  next page is requested from the same instance with the link's ``max_id``).
- ``suspended: true`` (3.3+) and HTTP 410 (2.4–3.3) → :class:`AccountSuspended`; 404
  ``{"error": "Record not found"}`` → :class:`AccountNotFound`.
- ``moved`` set: the account migrated and its followers moved with it, so its counts would
  read as a mass unfollow. Reported as :class:`AccountNotFound` naming the new account, so the
  operator watches that one instead.
- ``followers_count`` of -1: glitch-soc and Fedibird forks publish -1 when the owner hides the
  count; stored as None with ``followers_hidden`` (never as -1 or 0). Any negative count is None.
- ``locked`` (follow requests approved by hand) and ``limited`` (silenced) accounts still
  publish their counts and public statuses: they are collected normally.
- Account and status ids are strings, unique per instance only; the handle carries the
  instance, so the id is stored as is. Mastodon needs no stored cursor: every pass re-reads
  the horizon newest first (``PostPage.cursor`` is None).

Verified against the official documentation (mastodon/documentation): the lookup and statuses
endpoints, their parameters (``limit`` default 20, max 40; ``exclude_reblogs`` since 2.7.0) and
their 401/404/410 bodies; the Account attributes (``suspended``, ``moved``, ``limited``) and the
Status attributes; pinned statuses get no special order in the normal list; the rate-limit
headers and the 300 / 5 min defaults; ``quotes_count`` and the ``quote-inline`` fallback
(quote posts, API version 7 / 4.5); the ``Link`` header format. Real responses:
``platform-samples/mastodon`` (Mastodon.py's recorded cassettes).

Unverified: the -1 hidden-followers convention comes from glitch-soc/Fedibird server code, not
from documentation; 403 (rather than 401) from locked-down instances is assumed from proxies
and forks; the 429 body ``{"error": "Too many requests"}`` is documented for other methods only.
Not handled: a handle whose WebFinger domain differs from the server's web domain
(``user@example.com`` served by ``social.example.com``) is looked up at ``example.com`` and
usually ends as not found; resolving it would cost a WebFinger call per account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import Field, SecretStr, field_validator, model_validator

from connectors.base import Connector, PlatformConfig
from connectors.budget import Budget, HeaderWindow
from connectors.errors import (
    AccountError,
    AccountNotFound,
    AccountPrivate,
    AccountSuspended,
    AuthError,
    ConnectorError,
    TransientError,
)
from connectors.http import Clock, RetryPolicy, make_client, utcnow
from connectors.records import AccountRef, PostPage, PostRecord, ProfileBatch, ProfileRecord

__all__ = [
    "LOOKUP",
    "STATUSES",
    "Handle",
    "InstanceWindows",
    "MastodonConfig",
    "MastodonConnector",
    "caption_from_html",
    "parse_handle",
]

LOOKUP = "accounts/lookup"
STATUSES = "accounts/statuses"

#: Mastodon's default API limit: 300 requests per 5 minutes, per IP and per instance.
WINDOW_CALLS = 300
WINDOW = timedelta(minutes=5)
#: The documented maximum of ``limit`` on the statuses endpoint.
MAX_PAGE_SIZE = 40
#: A guard against a server whose ``Link`` never ends: 50 pages of 40 is 2,000 statuses inside
#: the horizon, far beyond what a human creator posts in a month.
MAX_PAGES = 50

# A host name (letters, digits, dots, hyphens; IDNs arrive as punycode) with an optional port.
_HOST = re.compile(r"^(?=.{1,253}(?::\d{1,5})?$)[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::\d{1,5})?$")
_USERNAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _normalise_host(value: str) -> str | None:
    """``Mastodon.Social`` → ``mastodon.social``; None if it is not a host[:port]."""
    host = value.strip().rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return host if _HOST.match(host) else None


@dataclass(frozen=True, slots=True)
class Handle:
    """A parsed ``user@instance`` handle."""

    username: str
    instance: str

    @property
    def acct(self) -> str:
        """The full WebFinger address, as a server that is not the user's own needs it."""
        return f"{self.username}@{self.instance}"


def parse_handle(handle: str) -> Handle | None:
    """Split ``user@instance`` (or ``@user@instance``); None if it is not one."""
    username, at, instance = handle.strip().removeprefix("@").partition("@")
    host = _normalise_host(instance) if at else None
    if host is None or not _USERNAME.match(username):
        return None
    return Handle(username, host)


class MastodonConfig(PlatformConfig):
    """The ``[platforms.mastodon]`` table."""

    access_token: SecretStr | None = Field(
        default=None,
        description="a token of the operator's own instance, for instances that refuse "
        "anonymous API access; sent only to token_instance",
    )
    token_instance: str | None = Field(
        default=None, description="host of the instance the access_token belongs to"
    )
    statuses_page_size: int = Field(
        default=MAX_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="statuses per page (max 40)"
    )

    @field_validator("token_instance")
    @classmethod
    def _bare_host(cls, value: str | None) -> str | None:
        if value is None:
            return None
        # Operators paste URLs; the token's destination is compared as a bare host.
        text = value.strip().removeprefix("https://").removeprefix("http://").rstrip("/")
        host = _normalise_host(text)
        if host is None:
            raise ValueError(f"{value!r} is not an instance host such as 'mastodon.social'")
        return host

    @model_validator(mode="after")
    def _token_needs_its_instance(self) -> MastodonConfig:
        has_token = self.access_token is not None and self.access_token.get_secret_value()
        if has_token and self.token_instance is None:
            raise ValueError(
                "access_token is set but token_instance is not: the token is only ever sent to "
                "its own instance; set token_instance to that host (e.g. 'mastodon.social')"
            )
        return self


class InstanceWindows(HeaderWindow):
    """Mastodon's rate-limit windows, one per instance (the connector passes the host as key).

    ``capacity_per_day`` is the default window of *one* instance: a floor for ``collector
    plan``, exact when every watched handle lives on the same instance.
    """

    def capacity_per_day(self) -> float:
        """Calls one instance allows a day at the default 300 per 5 minutes, reserve kept."""
        return float((WINDOW_CALLS - self.reserve) * (timedelta(days=1) // WINDOW))


class _TextExtractor(HTMLParser):
    """Collects the text of Mastodon's sanitised status HTML."""

    _VOID = frozenset({"br", "img", "hr", "wbr", "input", "meta", "link", "source"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        void = tag in self._VOID
        if self._skipping:
            self._skipping += 0 if void else 1
            return
        classes = (dict(attrs).get("class") or "").split()
        if "quote-inline" in classes and not void:
            self._skipping = 1
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if self._skipping:
            self._skipping -= 0 if tag in self._VOID else 1
        elif tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def caption_from_html(html: str) -> str | None:
    """The text of a status's HTML content; None if it has none."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = [line.rstrip() for line in "".join(parser.parts).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text or None


def _count(body: Mapping[str, Any], key: str) -> int | None:
    """A non-negative count, None if absent or negative (hidden); raises on a wrong type."""
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(key)
    return value if value >= 0 else None


def _timestamp(value: object) -> datetime:
    if not isinstance(value, str):
        raise TypeError("created_at")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _kind(status: Mapping[str, Any]) -> str:
    media = status.get("media_attachments")
    if isinstance(media, list) and media and isinstance(media[0], Mapping):
        kind = str(media[0].get("type") or "unknown")
        return "video" if kind == "gifv" else kind
    if status.get("poll"):
        return "poll"
    return "text"


def _host_of(url: httpx.URL) -> str:
    return f"{url.host}:{url.port}" if url.port else url.host


class MastodonConnector(Connector):
    """Reads public Mastodon profiles and statuses from each handle's own instance."""

    name: ClassVar[str] = "mastodon"
    config_model: ClassVar[type[PlatformConfig]] = MastodonConfig
    batch_size: ClassVar[int] = 1
    # No default: every handle names its own instance.
    default_base_url: ClassVar[str] = ""
    post_batch_size: ClassVar[int] = 0

    def __init__(
        self,
        config: PlatformConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utcnow,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
    ) -> None:
        """Create the connector; each instance's client is opened on first use."""
        if not isinstance(config, MastodonConfig):
            config = MastodonConfig.model_validate(config.model_dump())
        super().__init__(config, transport=transport, clock=clock, retry=retry, budget=budget)
        self.config: MastodonConfig = config
        self._clients: dict[str, httpx.AsyncClient] = {}

    # -- the contract ------------------------------------------------------------------------

    def make_budget(self) -> Budget:
        """Per-instance windows read from ``X-RateLimit-Remaining``/``-Reset``."""
        # A few calls stay unspent so the operator's own apps behind the same IP keep working.
        return InstanceWindows(
            remaining_header="x-ratelimit-remaining",
            reserve=5,
            per_endpoint=True,
            clock=self.clock,
            sleep=self.retry.sleep,
        )

    def pass_cost(self, accounts: int, *, stats_posts: int = 0) -> dict[str, int]:
        """One lookup and one statuses page per account."""
        return {LOOKUP: accounts, STATUSES: accounts}

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        """Look each handle up on its own instance."""
        profiles: dict[str, ProfileRecord] = {}
        failures: dict[str, AccountError] = {}
        for account in accounts:
            try:
                profiles[account.handle] = await self._profile(account)
            except AccountError as exc:
                exc.handle = account.handle
                failures[account.handle] = exc
        return ProfileBatch(profiles=profiles, failures=failures)

    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        """The account's own statuses (boosts excluded), newest first, back to ``since``."""
        try:
            return await self._posts(account, since)
        except AccountError as exc:
            exc.handle = account.handle
            raise

    def classify(self, response: httpx.Response) -> ConnectorError | None:
        """Mastodon's statuses that mean something about one account or one instance."""
        status = response.status_code
        if status < 400:
            return None
        detail = self._error_text(response)
        host = self._request_host(response)
        if status in (401, 403):
            if self._sent_token(response):
                return AuthError(
                    f"{host} refused the access_token (HTTP {status}{detail}); check "
                    "access_token in [platforms.mastodon]",
                    status_code=status,
                )
            refusal = f"{host} refuses anonymous API access (HTTP {status}{detail})"
            fix = (
                f'set access_token to a token of that instance and token_instance = "{host}" '
                "in [platforms.mastodon]"
            )
            if self.config.base_url:
                # One server answers for every instance: its refusal is platform-wide.
                return AuthError(f"{refusal}; {fix}", status_code=status)
            # One locked-down instance must not pause the others, as an AuthError would.
            return AccountPrivate(f"{refusal}; to collect its accounts {fix}", status_code=status)
        if status == 404:
            return AccountNotFound(f"{host}: HTTP 404, no such account{detail}", status_code=status)
        if status == 410:
            # Mastodon 2.4 to 3.3 answered 410 for suspended accounts; later ones 200 + flag.
            return AccountSuspended(f"{host}: HTTP 410, account suspended", status_code=status)
        return super().classify(response)

    async def aclose(self) -> None:
        """Close every instance's client."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
        await super().aclose()

    # -- profiles and posts ------------------------------------------------------------------

    async def _profile(self, account: AccountRef) -> ProfileRecord:
        handle = self._parse(account.handle)
        body = await self._lookup(handle)
        if body.get("suspended") is True:
            raise AccountSuspended(f"{handle.acct} is suspended by its instance")
        moved = body.get("moved")
        if isinstance(moved, Mapping):
            target = moved.get("acct")
            if isinstance(target, str) and target:
                target = target if "@" in target else f"{target}@{handle.instance}"
                advice = f"moved to {target}; watch {target} instead"
            else:
                advice = "moved to another account"
            raise AccountNotFound(f"{handle.acct} {advice} (its followers moved with it)")
        try:
            platform_id = body["id"]
            followers_raw = body["followers_count"]
            if not isinstance(platform_id, str) or not platform_id:
                raise TypeError("id")
            if isinstance(followers_raw, bool) or not isinstance(followers_raw, int):
                raise TypeError("followers_count")
            following = _count(body, "following_count")
            posts_count = _count(body, "statuses_count")
            display_name = body.get("display_name")
            if display_name is not None and not isinstance(display_name, str):
                raise TypeError("display_name")
        except (KeyError, TypeError) as exc:
            raise self.payload_changed(f"account lookup lacks a valid {exc}", body) from None
        return ProfileRecord(
            handle=account.handle,
            platform_id=platform_id,
            collected_at=self.clock(),
            followers=followers_raw if followers_raw >= 0 else None,
            following=following,
            posts_count=posts_count,
            followers_hidden=followers_raw < 0,
            display_name=display_name or None,
        )

    async def _lookup(self, handle: Handle) -> Mapping[str, Any]:
        # The user's own instance knows them by username; a shared server needs the domain.
        acct = handle.acct if self.config.base_url else handle.username
        body, _ = await self._get(
            handle, "/api/v1/accounts/lookup", params={"acct": acct}, endpoint=LOOKUP
        )
        if not isinstance(body, Mapping):
            raise self.payload_changed("account lookup is not an object", body)
        return body

    async def _posts(self, account: AccountRef, since: datetime | None) -> PostPage:
        handle = self._parse(account.handle)
        platform_id = account.platform_id
        if platform_id is None:
            platform_id = (await self._profile(account)).platform_id
        path = f"/api/v1/accounts/{quote(platform_id, safe='')}/statuses"
        base_params = {"limit": str(self.config.statuses_page_size), "exclude_reblogs": "true"}
        params = dict(base_params)
        found: dict[str, PostRecord] = {}
        for _ in range(MAX_PAGES):
            body, response = await self._get(handle, path, params=params, endpoint=STATUSES)
            if not isinstance(body, list):
                raise self.payload_changed("account statuses is not a list", body)
            if not body:
                break
            oldest = self._read_page(body, found)
            if since is None or oldest < since:
                break
            max_id = self._next_max_id(response, body)
            if max_id is None or max_id == params.get("max_id"):
                break
            params = {**base_params, "max_id": max_id}
        posts = sorted(
            (p for p in found.values() if since is None or p.published_at >= since),
            key=lambda p: p.published_at,
            reverse=True,
        )
        return PostPage(posts=tuple(posts), cursor=None)

    def _read_page(self, body: list[Any], found: dict[str, PostRecord]) -> datetime:
        """Add the page's own statuses to ``found``; return the page's oldest timestamp."""
        now = self.clock()
        oldest: datetime | None = None
        for status in body:
            try:
                if not isinstance(status, Mapping):
                    raise TypeError("status")
                status_id = status["id"]
                if not isinstance(status_id, str) or not status_id:
                    raise TypeError("id")
                published = _timestamp(status["created_at"])
                oldest = published if oldest is None or published < oldest else oldest
                if status.get("reblog") is not None:
                    continue  # a boost: someone else's post, whatever its own counts say
                content = status.get("content")
                url = status.get("url") or status.get("uri")
                record = PostRecord(
                    platform_post_id=status_id,
                    published_at=published,
                    collected_at=now,
                    kind=_kind(status),
                    url=url if isinstance(url, str) else None,
                    caption=caption_from_html(content) if isinstance(content, str) else None,
                    views=None,
                    likes=_count(status, "favourites_count"),
                    comments=_count(status, "replies_count"),
                    shares=_count(status, "reblogs_count"),
                    quotes=_count(status, "quotes_count"),
                    saves=None,
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise self.payload_changed(f"status lacks a valid {exc}", body) from None
            found.setdefault(status_id, record)
        assert oldest is not None  # the page is not empty
        return oldest

    @staticmethod
    def _next_max_id(response: httpx.Response, body: list[Any]) -> str | None:
        """The next page's ``max_id``, or None on the last page."""
        link = response.links.get("next")
        if link is None:
            return None
        max_id: str | None = httpx.URL(link.get("url", "")).params.get("max_id")
        if max_id:
            return max_id
        # Mastodon's next link is max_id = the last status's id; rebuild it if a proxy dropped it.
        last = body[-1]
        return str(last["id"]) if isinstance(last, Mapping) and "id" in last else None

    # -- HTTP -----------------------------------------------------------------------------------

    def _parse(self, handle: str) -> Handle:
        parsed = parse_handle(handle)
        if parsed is None:
            raise AccountNotFound(
                f"{handle!r} is not a Mastodon handle: write it as user@instance "
                "(for example Gargron@mastodon.social)"
            )
        return parsed

    def _client_for(self, handle: Handle) -> httpx.AsyncClient:
        root = self.config.base_url or f"https://{handle.instance}"
        key = root.rstrip("/")
        client = self._clients.get(key)
        if client is None:
            headers: dict[str, str] = {}
            token = self.config.access_token.get_secret_value() if self.config.access_token else ""
            if token and _host_of(httpx.URL(root)) == self.config.token_instance:
                headers["Authorization"] = f"Bearer {token}"
            client = make_client(
                root,
                headers=headers,
                timeout=httpx.Timeout(self.config.timeout_seconds, connect=5.0),
                limits=httpx.Limits(
                    max_connections=self.config.max_connections,
                    max_keepalive_connections=self.config.max_connections,
                ),
                transport=self._transport,
            )
            self._clients[key] = client
        return client

    async def _get(
        self, handle: Handle, path: str, *, params: Mapping[str, str], endpoint: str
    ) -> tuple[Any, httpx.Response]:
        """GET under the budget (keyed by instance) and the retry policy; body and response.

        Mirrors :meth:`Connector.request_json`, which returns only the body: pagination needs
        the ``Link`` header, and the budget needs the instance rather than the endpoint.
        """
        client = self._client_for(handle)

        async def attempt() -> tuple[Any, httpx.Response]:
            await self.budget.acquire(handle.instance)
            self.stats.count(endpoint)
            try:
                response = await client.get(path, params=params)
            except httpx.TimeoutException as exc:
                raise TransientError(
                    f"{handle.instance}: timed out ({exc.__class__.__name__})"
                ) from None
            except httpx.TransportError as exc:
                raise TransientError(
                    f"{handle.instance}: connection failed ({exc.__class__.__name__})"
                ) from None
            self.budget.observe(handle.instance, response.headers)
            error = self.classify(response)
            if error is not None:
                raise error
            return self.parse_body(response), response

        return await self.retry.call(attempt)

    @staticmethod
    def _request_host(response: httpx.Response) -> str:
        try:
            return _host_of(response.request.url)
        except RuntimeError:  # a response built by hand has no request
            return "the instance"

    @staticmethod
    def _sent_token(response: httpx.Response) -> bool:
        try:
            return "authorization" in response.request.headers
        except RuntimeError:  # a response built by hand has no request: assume a token went
            return True

    @staticmethod
    def _error_text(response: httpx.Response) -> str:
        """``: <error>`` from Mastodon's ``{"error": ...}`` body, or nothing."""
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            return ""
        error = body.get("error") if isinstance(body, dict) else None
        return f": {error[:200]}" if isinstance(error, str) and error else ""

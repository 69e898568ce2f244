"""The base class every connector subclasses, and its configuration model.

A connector maps one platform's JSON to frozen records (:mod:`connectors.records`) and raises the
typed errors of :mod:`connectors.errors`. It never opens a database session: resolving, storing and
scheduling live in ``collector/``. A third party ships a connector by subclassing
:class:`Connector` and declaring it under the ``collector.connectors`` entry-point group.
"""

from __future__ import annotations

import asyncio
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, TypeVar

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from connectors.budget import Budget, Unlimited
from connectors.errors import ConnectorError, PayloadChanged, TransientError
from connectors.http import Clock, RetryPolicy, classify_response, decode_json, make_client, utcnow
from connectors.records import AccountRef, History, PostPage, PostRecord, PostRef, ProfileBatch

__all__ = [
    "CallStats",
    "Connector",
    "Duration",
    "PlatformConfig",
    "format_duration",
    "gather_until_failure",
    "parse_duration",
]

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


async def gather_until_failure(
    items: Sequence[_Item], call: Callable[[_Item], Awaitable[_Result]], limit: int
) -> list[_Result | BaseException | None]:
    """``call`` on every item together, at most ``limit`` at a time, in the items' order.

    Once one call raises, no further call starts (those in flight finish): a platform that has
    refused one request, or run out of quota, is not sent the rest. Each item's answer is its
    result, the exception it raised, or None if it was never sent; the caller decides which
    exception to raise and what to keep.
    """
    semaphore = asyncio.Semaphore(limit)
    failed = False

    async def one(item: _Item) -> _Result | None:
        nonlocal failed
        async with semaphore:
            if failed:
                return None
            try:
                return await call(item)
            except Exception:
                failed = True
                raise

    return await asyncio.gather(*(one(item) for item in items), return_exceptions=True)


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)", re.IGNORECASE)
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(value: object) -> timedelta:
    """Parse ``"6h"``, ``"30s"``, ``"1h30m"`` or ``"2d"`` into a timedelta.

    A bare number is refused on purpose: "6" could mean seconds or hours, and a watchlist that
    collects every 6 seconds instead of every 6 hours burns a day's quota in minutes.
    """
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        parts = _DURATION_PART.findall(text)
        if not text or "".join(n + u for n, u in parts).lower() != text.lower():
            raise ValueError(
                f"{value!r} is not a duration: write a number with a unit s, m, h or d "
                '(for example "30s", "15m", "6h", "1h30m", "1d")'
            )
        result = timedelta(seconds=sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in parts))
    else:
        raise ValueError(f'{value!r} is not a duration: write it as a quoted string such as "6h"')
    if result <= timedelta(0):
        raise ValueError(f"{value!r} is not a duration: it must be longer than zero")
    return result


def format_duration(value: timedelta) -> str:
    """The inverse of :func:`parse_duration`, for messages and sample configs."""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in _UNIT_SECONDS.items():
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(format_duration, return_type=str)
]


class PlatformConfig(BaseModel):
    """Settings every platform table in ``collector.toml`` accepts.

    Connectors subclass it to add their own keys (credentials as ``SecretStr``). Unknown keys are
    errors, so a typo never silently disables a setting.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    interval: Duration = Field(default=timedelta(hours=6), description="profile refresh interval")
    base_url: str | None = Field(default=None, description="API root; for tests and mirrors")
    posts_horizon: Duration = Field(
        default=timedelta(days=30),
        description="posts older than this are no longer re-polled",
    )
    backfill_days: int = Field(
        default=0,
        ge=0,
        le=3650,
        description="history to reconstruct on first sight, where the platform can",
    )
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)
    max_connections: int = Field(default=8, ge=1, le=256)


@dataclass
class CallStats:
    """Calls and quota units a connector spent; ``collection_run`` and ``plan`` read them."""

    calls: int = 0
    quota_units: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)

    def count(self, endpoint: str, units: int = 1) -> None:
        """Record one call to ``endpoint`` costing ``units`` quota units."""
        self.calls += 1
        self.quota_units += units
        self.by_endpoint[endpoint] = self.by_endpoint.get(endpoint, 0) + 1

    def snapshot(self) -> CallStats:
        """A copy, so a caller can diff before and after a dispatch."""
        return CallStats(self.calls, self.quota_units, dict(self.by_endpoint))


class Connector(ABC):
    """Base class of every platform connector.

    Subclasses set the class attributes and implement :meth:`fetch_profiles` and
    :meth:`fetch_posts`; HTTP connectors call :meth:`get_json`, which applies the shared retry
    policy and the outcome table, and counts the call.

    Attributes:
        name: The platform name used in ``collector.toml`` and in the database.
        config_model: The pydantic model of the platform's table in ``collector.toml``.
        batch_size: How many accounts one profile call can take (1 if the platform has no
            batch endpoint).
        default_base_url: The API root used when the config sets no ``base_url``.
        supports_history: True if :meth:`fetch_history` can reconstruct past observations.
        post_batch_size: How many posts :meth:`fetch_post_stats` takes per call; 0 if the
            platform has no batch endpoint for post counts (its feed carries them).
        units_per_call: Quota units per call by endpoint name, where a call costs more than 1.
    """

    name: ClassVar[str]
    config_model: ClassVar[type[PlatformConfig]] = PlatformConfig
    batch_size: ClassVar[int] = 1
    default_base_url: ClassVar[str] = ""
    supports_history: ClassVar[bool] = False
    post_batch_size: ClassVar[int] = 0
    units_per_call: ClassVar[Mapping[str, int]] = {}

    def __init__(
        self,
        config: PlatformConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = utcnow,
        retry: RetryPolicy | None = None,
        budget: Budget | None = None,
    ) -> None:
        """Create the connector; no network traffic happens here.

        Args:
            config: The validated platform table.
            transport: An httpx transport to use instead of the network (tests).
            clock: Returns the current UTC time; injected so tests control time.
            retry: The retry policy; tests inject one whose waits do not sleep.
            budget: The quota budget; defaults to :meth:`make_budget`.
        """
        self.config = config
        self.clock = clock
        self.retry = retry or RetryPolicy(clock=clock)
        self.stats = CallStats()
        self.budget = budget or self.make_budget()
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    # -- what subclasses implement ---------------------------------------------------------

    @abstractmethod
    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        """Fetch the current counts of up to ``batch_size`` accounts.

        Args:
            accounts: The accounts to fetch; never more than ``batch_size``.

        Returns:
            Records for the accounts that answered and account-level errors for the others.

        Raises:
            PlatformError: When the platform as a whole cannot answer (the whole batch fails).
        """

    @abstractmethod
    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        """Fetch the account's own recent posts with their current counts.

        Args:
            account: The account, with ``platform_id`` resolved.
            since: Posts published before this time are not needed (the re-poll horizon).

        Returns:
            The posts, newest first, and the cursor to store with them.
        """

    async def fetch_post_stats(self, posts: Sequence[PostRef]) -> list[PostRecord]:
        """Current counts of up to ``post_batch_size`` known posts, through a batch endpoint.

        Posts the platform no longer serves are left out of the result (the pipeline stops
        polling them); account-level errors are not raised here.
        """
        raise NotImplementedError(f"{self.name} has no batch endpoint for post counts")

    def make_budget(self) -> Budget:
        """The platform's quota budget; override to read the platform's own signals."""
        return Unlimited(clock=self.clock, sleep=self.retry.sleep)

    def pass_cost(self, accounts: int, *, stats_posts: int = 0) -> dict[str, int]:
        """Calls per endpoint of one pass over ``accounts`` accounts (the API minimum).

        Args:
            accounts: How many accounts the pass collects.
            stats_posts: How many posts need their counts from :meth:`fetch_post_stats`.
        """
        calls = {"profiles": -(-accounts // self.batch_size), "posts": accounts}
        if self.post_batch_size:
            calls["post_stats"] = -(-stats_posts // self.post_batch_size)
        return calls

    async def fetch_history(
        self, account: AccountRef, *, start: datetime, end: datetime
    ) -> History:
        """Reconstruct observations between ``start`` and ``end`` (only if supports_history)."""
        raise NotImplementedError(f"{self.name} cannot reconstruct history")

    def configured_secrets(self) -> list[str]:
        """Secret values in this connector's config, so logs can mask them."""
        secrets: list[str] = []
        for value in self.config.__dict__.values():
            reveal = getattr(value, "get_secret_value", None)
            if callable(reveal):
                secret = reveal()
                if isinstance(secret, str) and secret:
                    secrets.append(secret)
        return secrets

    # -- HTTP helpers ------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The configured API root, or the platform's default."""
        return self.config.base_url or self.default_base_url

    def client_headers(self) -> Mapping[str, str]:
        """Headers sent with every request (override to add an Authorization header)."""
        return {}

    def client_params(self) -> Mapping[str, str]:
        """Query parameters sent with every request (override to add an API key)."""
        return {}

    @property
    def client(self) -> httpx.AsyncClient:
        """The connector's one long-lived client, created on first use."""
        if self._client is None:
            self._client = make_client(
                self.base_url,
                headers=self.client_headers(),
                params=self.client_params(),
                timeout=httpx.Timeout(self.config.timeout_seconds, connect=5.0),
                limits=httpx.Limits(
                    max_connections=self.config.max_connections,
                    max_keepalive_connections=self.config.max_connections,
                ),
                transport=self._transport,
            )
        return self._client

    def classify(self, response: httpx.Response) -> ConnectorError | None:
        """Map a response to an error; override for platform quirks, then defer to the table."""
        return classify_response(response, self.clock())

    async def get_json(
        self,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        endpoint: str | None = None,
        units: int = 1,
    ) -> Any:
        """GET ``path`` under the budget and the retry policy and return its JSON body.

        Args:
            path: Path relative to the base URL, or an absolute URL (pagination links).
            params: Query parameters.
            endpoint: Name counted in :attr:`stats` and by the budget (defaults to the path).
            units: Quota units the call costs.
        """
        return await self.request_json("GET", path, params=params, endpoint=endpoint, units=units)

    async def request_json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        endpoint: str | None = None,
        units: int = 1,
    ) -> Any:
        """Send one request under the budget and the retry policy; return its JSON body."""
        name = endpoint or path

        async def attempt() -> Any:
            await self.budget.acquire(name, units)
            self.stats.count(name, units)
            try:
                response = await self.client.request(
                    method, path, params=params, json=json_body, headers=headers
                )
            except httpx.TimeoutException as exc:
                raise TransientError(f"timed out ({exc.__class__.__name__})") from None
            except httpx.TransportError as exc:
                raise TransientError(f"connection failed ({exc.__class__.__name__})") from None
            self.budget.observe(name, response.headers)
            error = self.classify(response)
            if error is not None:
                raise error
            return self.parse_body(response)

        return await self.retry.call(attempt)

    def parse_body(self, response: httpx.Response) -> Any:
        """Decode a successful response; a body that is not JSON raises PayloadChanged."""
        return decode_json(response)

    def payload_changed(self, what: str, body: Any) -> PayloadChanged:
        """Build the error for a response whose shape is not the expected one."""
        raw = json.dumps(body, default=str) if not isinstance(body, bytes | str) else body
        return PayloadChanged(f"{self.name}: unexpected response shape: {what}", raw_body=raw)

    async def aclose(self) -> None:
        """Close the HTTP client; the pipeline calls it once at shutdown."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

"""The conformance suite every connector passes, built-in or third-party.

Subclass :class:`ConnectorConformance` in a test module (the class name must start with
``Test``), set the class attributes and implement :meth:`~ConnectorConformance.respond`; pytest
collects the inherited tests. The platform is played by :meth:`respond`, a function from a
request to a response in the platform's real shapes (use recorded samples), behind
``httpx.MockTransport``, so the connector's real client, budget and retry policy are exercised.

Cases :meth:`respond` is asked to play:

- ``"ok"``: the known account exists; profile and feed answer normally (feed fits one page).
- ``"paginated"``: the feed of the known account needs several pages, ``page_count`` of them.
- ``"not_found"``: no account exists for any handle asked.
- ``"quota"``: the platform says its quota or rate limit is spent (in its own way: a 403 body
  on YouTube, error codes on Meta, a 429 elsewhere).

Generic faults (429 with ``Retry-After``, 401, 5xx, malformed JSON) are served by the suite
itself before :meth:`respond` is consulted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from connectors.base import Connector, PlatformConfig
from connectors.errors import (
    AccountNotFound,
    AuthError,
    PayloadChanged,
    QuotaExhausted,
    RateLimited,
    TransientError,
)
from connectors.http import RetryPolicy
from connectors.records import AccountRef, PostRecord, ProfileRecord

__all__ = ["ConnectorConformance", "Recorder"]

#: The fixed "now" of every conformance test.
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@dataclass
class Recorder:
    """Waits asked for by the retry policy or the budget, recorded instead of slept."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class ConnectorConformance:
    """Inherited tests that pin down the connector contract.

    Attributes:
        connector_cls: The connector under test.
        handle: A handle the ``"ok"`` case serves.
        expected_profile: Exact values of that handle's profile record (fields compared:
            those given).
        expected_first_post: Exact values of the newest post's record (fields given).
        expected_post_count: How many of the creator's own posts the ``"ok"`` feed holds.
        page_count: How many feed pages the ``"paginated"`` case serves.
        expected_paginated_posts: How many posts those pages hold together.
        secret: A credential value put in the config; it must never appear in an error.
    """

    connector_cls: ClassVar[type[Connector]]
    handle: ClassVar[str]
    expected_profile: ClassVar[dict[str, Any]]
    expected_first_post: ClassVar[dict[str, Any]]
    expected_post_count: ClassVar[int]
    page_count: ClassVar[int] = 2
    expected_paginated_posts: ClassVar[int]
    secret: ClassVar[str] = "conformance-secret-7f3a9b"  # noqa: S105 - a sentinel, not a secret

    # -- what a subclass provides ------------------------------------------------------------

    def config(self, base_url: str) -> PlatformConfig:
        """The platform's config, with credentials set to :attr:`secret` where it has any."""
        return self.connector_cls.config_model(base_url=base_url)

    def respond(self, request: httpx.Request, case: str) -> httpx.Response:
        """Answer ``request`` as the platform would in ``case``."""
        raise NotImplementedError

    def platform_id_of(self, handle: str) -> str | None:
        """The stable id the connector resolved earlier, if the platform needs one for feeds."""
        return None

    # -- machinery -----------------------------------------------------------------------------

    def make(
        self, case: str, faults: Sequence[httpx.Response] = ()
    ) -> tuple[Connector, Recorder, list[httpx.Request]]:
        """A connector wired to :meth:`respond`; ``faults`` are served first, in order."""
        pending = list(faults)
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            if pending:
                return pending.pop(0)
            return self.respond(request, case)

        sleeps = Recorder()
        connector = self.connector_cls(
            self.config("https://platform.test"),
            transport=httpx.MockTransport(handler),
            clock=lambda: NOW,
            retry=RetryPolicy(max_attempts=3, sleep=sleeps, clock=lambda: NOW),
        )
        connector.budget.sleep = sleeps
        return connector, sleeps, seen

    def ref(self, handle: str | None = None) -> AccountRef:
        """The reference the pipeline would pass for ``handle``."""
        handle = handle or self.handle
        return AccountRef(handle, self.platform_id_of(handle))

    @staticmethod
    def run(coro: Any) -> Any:
        """Run a coroutine to completion (tests are synchronous)."""
        return asyncio.run(coro)

    def profile(self, case: str = "ok", faults: Sequence[httpx.Response] = ()) -> ProfileRecord:
        """Fetch the known account's profile in ``case``."""
        connector, _, _ = self.make(case, faults)
        batch = self.run(connector.fetch_profiles([self.ref()]))
        return batch.profiles[self.handle]  # type: ignore[no-any-return]

    def posts(self, case: str = "ok", since: datetime | None = None) -> list[PostRecord]:
        """Fetch the known account's feed in ``case``."""
        connector, _, _ = self.make(case)
        page = self.run(connector.fetch_posts(self.ref(), since=since))
        return list(page.posts)

    @staticmethod
    def _compare(record: Any, expected: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
        return {
            name: (getattr(record, name), value)
            for name, value in expected.items()
            if getattr(record, name) != value
        }

    def _expect_error(
        self, call: Callable[[Connector], Any], case: str, faults: Sequence[httpx.Response]
    ) -> BaseException:
        connector, _, _ = self.make(case, faults)
        caught: BaseException | None = None
        try:
            self.run(call(connector))
        except Exception as exc:
            caught = exc
        assert caught is not None, "no error was raised"
        assert self.secret not in str(caught), "an error message contains the credential"
        return caught

    # -- the tests -----------------------------------------------------------------------------

    def test_profile_is_parsed_with_exact_values(self) -> None:
        differences = self._compare(self.profile(), self.expected_profile)
        assert differences == {}, f"field: (got, expected): {differences}"

    def test_profile_carries_a_stable_platform_id(self) -> None:
        assert self.profile().platform_id

    def test_posts_are_parsed_with_exact_values(self) -> None:
        posts = self.posts()
        differences = self._compare(posts[0], self.expected_first_post)
        assert differences == {}, f"field: (got, expected): {differences}"

    def test_the_feed_holds_only_the_creators_own_posts(self) -> None:
        assert len(self.posts()) == self.expected_post_count

    def test_posts_are_newest_first_and_not_in_the_future(self) -> None:
        times = [p.published_at for p in self.posts()]
        assert times == sorted(times, reverse=True)
        assert all(t <= NOW for t in times)

    def test_pagination_follows_every_page_and_ends(self) -> None:
        # ``since=None`` means one normal page; a since older than every post asks for all.
        everything = self.posts("paginated", since=NOW - timedelta(days=3650))
        assert len(everything) == self.expected_paginated_posts

    def test_since_is_respected(self) -> None:
        all_posts = self.posts()
        cutoff = all_posts[len(all_posts) // 2].published_at
        assert all(p.published_at >= cutoff for p in self.posts(since=cutoff))

    def test_a_429_with_retry_after_waits_as_told(self) -> None:
        connector, sleeps, _ = self.make("ok", [httpx.Response(429, headers={"Retry-After": "7"})])
        self.run(connector.fetch_profiles([self.ref()]))
        assert 7.0 in sleeps.waits

    def test_a_long_rate_limit_is_raised_not_waited_for(self) -> None:
        fault = httpx.Response(429, headers={"Retry-After": "3600"})
        error = self._expect_error(lambda c: c.fetch_profiles([self.ref()]), "ok", [fault] * 3)
        assert isinstance(error, RateLimited)

    def test_quota_exhaustion_raises_with_a_reset_time(self) -> None:
        error = self._expect_error(lambda c: c.fetch_profiles([self.ref()]), "quota", [])
        assert isinstance(error, QuotaExhausted | RateLimited)
        reset = error.reset_at if isinstance(error, QuotaExhausted) else error.retry_at
        assert reset > NOW

    def test_quota_exhaustion_is_not_retried(self) -> None:
        connector, _, seen = self.make("quota")
        with contextlib.suppress(QuotaExhausted, RateLimited):
            self.run(connector.fetch_profiles([self.ref()]))
        assert len(seen) == 1

    def test_a_401_pauses_the_platform(self) -> None:
        fault = httpx.Response(401, json={"error": "unauthorized"})
        error = self._expect_error(lambda c: c.fetch_profiles([self.ref()]), "ok", [fault])
        assert isinstance(error, AuthError)

    def test_server_errors_are_retried(self) -> None:
        connector, _, seen = self.make("ok", [httpx.Response(503), httpx.Response(502)])
        self.run(connector.fetch_profiles([self.ref()]))
        assert len(seen) >= 3

    def test_persistent_server_errors_end_as_transient(self) -> None:
        faults = [httpx.Response(500)] * 10
        error = self._expect_error(lambda c: c.fetch_profiles([self.ref()]), "ok", faults)
        assert isinstance(error, TransientError)

    def test_malformed_json_raises_payload_changed(self) -> None:
        fault = httpx.Response(
            200, content=b'{"data": [1,,', headers={"content-type": "application/json"}
        )
        error = self._expect_error(lambda c: c.fetch_profiles([self.ref()]), "ok", [fault])
        assert isinstance(error, PayloadChanged)

    def test_an_unexpected_shape_raises_payload_changed(self) -> None:
        fault = httpx.Response(200, json={"completely": ["different"]})
        error = self._expect_error(lambda c: c.fetch_profiles([self.ref()]), "ok", [fault])
        assert isinstance(error, PayloadChanged)

    def test_an_unknown_account_is_reported_not_raised_for_the_batch(self) -> None:
        connector, _, _ = self.make("not_found")
        try:
            batch = self.run(connector.fetch_profiles([self.ref()]))
        except AccountNotFound:
            return  # batch size 1: the one account's error may be raised directly
        assert isinstance(batch.failures.get(self.handle), AccountNotFound)

    def test_a_full_batch_takes_one_profile_call(self) -> None:
        connector, _, seen = self.make("ok")
        handles = [f"{self.handle}" if i == 0 else f"user{i}" for i in range(connector.batch_size)]
        refs = [AccountRef(h, self.platform_id_of(h)) for h in handles]
        self.run(connector.fetch_profiles(refs))
        assert connector.stats.calls == len(seen) == self._profile_calls_for_one_batch()

    def _profile_calls_for_one_batch(self) -> int:
        """Calls one full batch costs; 1 for batch endpoints (override if resolution adds)."""
        return 1

    def test_calls_are_counted(self) -> None:
        connector, _, seen = self.make("ok")
        self.run(connector.fetch_profiles([self.ref()]))
        self.run(connector.fetch_posts(self.ref(), since=NOW - timedelta(days=30)))
        assert connector.stats.calls == len(seen)

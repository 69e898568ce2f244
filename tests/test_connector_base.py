"""The shared connector plumbing: outcome table, retry policy, client, registry."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from importlib.metadata import EntryPoint

import httpx
import pytest

from connectors import registry
from connectors.base import Connector, format_duration, parse_duration
from connectors.errors import (
    AccountNotFound,
    AuthError,
    ConfigError,
    PayloadChanged,
    RateLimited,
    TransientError,
)
from connectors.http import RetryPolicy, classify_response, retry_at_from_headers
from connectors.records import AccountRef, PostPage, ProfileBatch

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


class Sleeps:
    """Records the waits the retry policy asks for instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _response(
    status: int, headers: dict[str, str] | None = None, body: bytes = b"{}"
) -> httpx.Response:
    return httpx.Response(status, headers=headers, content=body)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, ConfigError),
        (401, AuthError),
        (403, AuthError),
        (404, AccountNotFound),
        (410, AccountNotFound),
        (418, ConfigError),
        (429, RateLimited),
        (500, TransientError),
        (503, TransientError),
        (599, TransientError),
    ],
)
def test_each_status_maps_to_its_error(status: int, error: type[Exception]) -> None:
    assert type(classify_response(_response(status), NOW)) is error


def test_a_success_is_not_an_error() -> None:
    assert classify_response(_response(200), NOW) is None


def test_429_without_headers_retries_after_a_default_wait() -> None:
    error = classify_response(_response(429), NOW)
    assert isinstance(error, RateLimited)
    assert error.retry_at == NOW + timedelta(seconds=60)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, NOW + timedelta(seconds=30)),
        ({"Retry-After": "Mon, 02 Nov 2026 12:05:00 GMT"}, NOW + timedelta(minutes=5)),
        (
            {"x-rate-limit-reset": str(int((NOW + timedelta(minutes=15)).timestamp()))},
            NOW + timedelta(minutes=15),
        ),
        (
            {"RateLimit-Reset": str(int((NOW + timedelta(minutes=2)).timestamp()))},
            NOW + timedelta(minutes=2),
        ),
        ({"X-RateLimit-Reset": "2026-11-02T12:10:00.000Z"}, NOW + timedelta(minutes=10)),
        ({"RateLimit-Reset": "45"}, NOW + timedelta(seconds=45)),
    ],
)
def test_retry_time_is_read_from_each_platform_header(
    headers: dict[str, str], expected: datetime
) -> None:
    assert retry_at_from_headers(headers, NOW) == expected


def test_transient_errors_are_retried_then_the_original_error_is_raised() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=3, sleep=sleeps, clock=lambda: NOW)
    attempts = 0

    async def failing() -> None:
        nonlocal attempts
        attempts += 1
        raise TransientError("HTTP 503: service unavailable")

    with pytest.raises(TransientError):
        asyncio.run(policy.call(failing))
    assert (attempts, len(sleeps.waits)) == (3, 2)


def test_backoff_waits_are_capped() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(
        max_attempts=8, base_wait_seconds=10, max_wait_seconds=20, sleep=sleeps, clock=lambda: NOW
    )

    async def failing() -> None:
        raise TransientError("boom")

    with pytest.raises(TransientError):
        asyncio.run(policy.call(failing))
    assert max(sleeps.waits) <= 20


def test_a_rate_limit_waits_as_long_as_the_server_said() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(sleep=sleeps, clock=lambda: NOW)
    calls = 0

    async def limited_once() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RateLimited("429", retry_at=NOW + timedelta(seconds=7))
        return "ok"

    assert asyncio.run(policy.call(limited_once)) == "ok"
    assert sleeps.waits == [7.0]


def test_a_rate_limit_beyond_the_cap_is_not_waited_for() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_wait_seconds=60, sleep=sleeps, clock=lambda: NOW)

    async def limited() -> None:
        raise RateLimited("429", retry_at=NOW + timedelta(hours=1))

    with pytest.raises(RateLimited):
        asyncio.run(policy.call(limited))
    assert sleeps.waits == []


@pytest.mark.parametrize("error", [AuthError("401"), AccountNotFound("404"), ConfigError("400")])
def test_errors_that_retrying_cannot_fix_are_not_retried(error: Exception) -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(sleep=sleeps, clock=lambda: NOW)

    async def failing() -> None:
        raise error

    with pytest.raises(type(error)):
        asyncio.run(policy.call(failing))
    assert sleeps.waits == []


class _Http(Connector):
    name = "http-test"

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        raise NotImplementedError

    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        raise NotImplementedError


def _connector(handler: httpx.MockTransport) -> _Http:
    from connectors.base import PlatformConfig

    return _Http(
        PlatformConfig(base_url="https://api.test"),
        transport=handler,
        retry=RetryPolicy(sleep=Sleeps(), clock=lambda: NOW),
        clock=lambda: NOW,
    )


def test_get_json_retries_a_5xx_and_counts_every_call() -> None:
    answers = iter([_response(502), _response(200, body=b'{"ok": 1}')])
    connector = _connector(httpx.MockTransport(lambda request: next(answers)))
    assert asyncio.run(connector.get_json("/x", endpoint="x")) == {"ok": 1}
    assert connector.stats.by_endpoint == {"x": 2}


def test_get_json_turns_a_timeout_into_a_transient_error() -> None:
    def hang(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    connector = _connector(httpx.MockTransport(hang))
    with pytest.raises(TransientError):
        asyncio.run(connector.get_json("/x"))


def test_get_json_keeps_the_raw_body_of_invalid_json() -> None:
    connector = _connector(httpx.MockTransport(lambda r: _response(200, body=b"<html>oops")))
    with pytest.raises(PayloadChanged) as caught:
        asyncio.run(connector.get_json("/x"))
    assert caught.value.raw_body == b"<html>oops"


def test_the_client_has_explicit_timeouts() -> None:
    connector = _connector(httpx.MockTransport(lambda r: _response(200)))
    timeout = connector.client.timeout
    assert None not in (timeout.connect, timeout.read, timeout.write, timeout.pool)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("15m", 900), ("6h", 21600), ("1d", 86400), ("1h30m", 5400)],
)
def test_durations_parse(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["6", "six hours", "", "0s", "-5m", "6 hours"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_durations_format_back() -> None:
    assert format_duration(parse_duration("1h30m")) == "1h30m"


def test_the_demo_connector_is_found_by_entry_point() -> None:
    assert registry.load("demo").name == "demo"


def test_a_broken_plugin_is_a_warning_and_the_others_still_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = EntryPoint("broken", "no_such_module:Thing", registry.GROUP)
    demo = EntryPoint("demo", "connectors.demo:DemoConnector", registry.GROUP)
    monkeypatch.setattr(registry, "_entry_points", lambda: {"broken": broken, "demo": demo})
    registry.load.cache_clear()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loaded = registry.load_all()
    finally:
        registry.load.cache_clear()
    assert list(loaded) == ["demo"]
    assert "broken" in str(caught[0].message)


def test_an_unknown_platform_names_the_installed_ones() -> None:
    with pytest.raises(registry.PluginError, match=r"installed: .*demo"):
        registry.load("myspace")

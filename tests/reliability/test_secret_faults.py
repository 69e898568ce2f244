"""Tokens stay secret on the fault paths too: echoed in error bodies, quoted in exceptions.

Real connectors send sentinel tokens to the fake platforms, which fail in every way the error
tree knows while echoing the token back. At every log level, the token must appear in no log
line, no traceback, no ``collection_run`` row, no ``payload_error`` row and no ``config check``
output.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from collector.cli import app
from collector.daemon import Daemon, build_collection
from collector.logs import configure_logging, reset_logging
from collector.pipeline import PassResult
from collector.settings import Settings, load_settings
from connectors.base import Connector
from connectors.http import RetryPolicy
from connectors.records import AccountRef, ProfileBatch
from connectors.youtube import YouTubeConnector
from tests.conftest import FakeClock
from tests.fakeplatform.core import Fault, World
from tests.reliability.support import (
    FaultServer,
    Sleeps,
    dispatcher_for,
    rows,
    run_daemon,
    watch,
)

YT_TOKEN = "sentinel-yt-Key-4c3b2a19"
X_TOKEN = "sentinel-x-Bearer-8d7e6f50"
TOKENS = (YT_TOKEN, X_TOKEN)


def _echo(token: str) -> bytes:
    return f'{{"error": "bad request GET /v3/channels?key={token}", "token": "{token}"}}'.encode()


def _faults(platform: str, token: str) -> list[Fault]:
    """Every kind of failure, each answering with the token in its body."""
    garbled = f"<html>upstream error for key={token}</html>".encode()
    return [
        Fault(platform, status=500, body=_echo(token), times=4),
        Fault(platform, status=401, body=_echo(token)),
        Fault(platform, status=200, body=garbled),
        Fault(platform, status=429, body=_echo(token), headers={"Retry-After": "5"}, times=4),
        Fault(platform, status=400, body=_echo(token)),
    ]


def _logging(level: str) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level=level, fmt="json", stream=stream, secrets=TOKENS)
    yield stream
    reset_logging()


@pytest.fixture(params=["debug", "warning"])
def log_output(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """Debug, the most talkative level (every line of the others, and more), and warning."""
    yield from _logging(str(request.param))


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    yield from _logging("debug")


@pytest.fixture
def server(clock: FakeClock) -> Iterator[FaultServer]:
    with FaultServer(World(clock=clock, auto_create=True, posts_per_account=2)) as running:
        yield running


def _connector(platform: str, server: FaultServer, clock: FakeClock) -> Connector:
    from connectors import registry

    cls = registry.load(platform)
    secret = {"youtube": {"api_key": YT_TOKEN}, "x": {"bearer_token": X_TOKEN}}[platform]
    config = cls.config_model.model_validate(
        {"base_url": server.url_for(platform), "interval": "1h", **secret}
    )
    return cls(config, clock=clock, retry=RetryPolicy(clock=clock, sleep=Sleeps()))


def _leaks(text: str | bytes | None) -> list[str]:
    if text is None:
        return []
    value = text.decode(errors="replace") if isinstance(text, bytes) else text
    return [token for token in TOKENS if token in value]


def test_tokens_echoed_by_failing_platforms_reach_no_log_run_or_payload_row(
    log_output: io.StringIO, server: FaultServer, engine: Engine, clock: FakeClock
) -> None:
    for platform, token in (("youtube", YT_TOKEN), ("x", X_TOKEN)):
        watch(engine, platform, 3, clock())
        for fault in _faults(platform, token):
            server.world.fail(fault)
    dispatchers = [
        dispatcher_for(_connector(p, server, clock), engine, clock=clock) for p in ("youtube", "x")
    ]

    async def passes() -> None:
        for _ in range(20):  # until every fault has been served, with a bound
            if not server.world.faults:
                break
            for dispatcher in dispatchers:
                await dispatcher.run_pass()
            clock.advance(timedelta(hours=1))  # past every pause and backoff
        for dispatcher in dispatchers:
            await dispatcher.connector.aclose()
            dispatcher.db.close()

    asyncio.run(passes())
    runs = rows(engine, "SELECT error FROM collection_run")
    payloads = rows(engine, "SELECT message, raw_body FROM payload_error")
    assert len(runs) >= 10
    assert server.world.faults == []  # every fault was served
    assert [leak for (error,) in runs for leak in _leaks(error)] == []
    assert [leak for m, b in payloads for leak in _leaks(m) + _leaks(bytes(b))] == []
    assert _leaks(log_output.getvalue()) == []


def test_a_token_echoed_in_a_garbled_body_is_kept_masked_in_payload_error(
    debug_log: io.StringIO, server: FaultServer, engine: Engine, clock: FakeClock
) -> None:
    watch(engine, "youtube", 2, clock())
    server.world.fail(Fault("youtube", status=200, body=f"oops key={YT_TOKEN} end".encode()))
    dispatcher = dispatcher_for(_connector("youtube", server, clock), engine, clock=clock)

    async def one() -> None:
        await dispatcher.run_pass()
        await dispatcher.connector.aclose()
        dispatcher.db.close()

    asyncio.run(one())
    assert [bytes(b) for (b,) in rows(engine, "SELECT raw_body FROM payload_error")] == [
        b"oops key=*** end"
    ]


class LeakyYouTube(YouTubeConnector):
    """A connector with a bug: its exception quotes the request URL, key included."""

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        key = self.settings.api_key.get_secret_value()
        raise RuntimeError(f"GET {self.base_url}/channels?key={key}&id=UC1 exploded")


def test_a_crashing_pass_quoting_the_token_is_masked_in_its_traceback(
    fast_ticks: None, debug_log: io.StringIO, engine: Engine, tmp_path: Path
) -> None:
    log_output = debug_log
    (tmp_path / "w.yaml").write_text("creators:\n  - name: A\n    accounts:\n      youtube: a\n")
    (tmp_path / "c.toml").write_text(
        'watchlist = "w.yaml"\n[platforms.youtube]\napi_key = "${YT}"\ninterval = "1h"\n'
        'base_url = "http://127.0.0.1:9"\n'
        # A platform with nothing to collect: its idle passes let the test look at the log.
        '[platforms.bluesky]\nbase_url = "http://127.0.0.1:9"\n'
    )
    settings = load_settings(tmp_path / "c.toml", environ={"YT": YT_TOKEN})
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))

    def leaky(name: str, cls: type[Connector], s: Settings) -> Connector:
        leaky_cls = LeakyYouTube if name == "youtube" else cls
        return leaky_cls(s.platforms[name], clock=clock)

    collection = build_collection(settings, engine, clock=clock, connector_factory=leaky)

    def crashed(_result: PassResult) -> bool:
        return "pass crashed" in log_output.getvalue()

    run_daemon(Daemon(collection, clock=clock), crashed)
    output = log_output.getvalue()
    assert "exploded" in output
    assert "Traceback" in output or "RuntimeError" in output
    assert _leaks(output) == []


def test_config_check_prints_no_token_even_where_the_token_is_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YT", YT_TOKEN)
    monkeypatch.setenv("XT", X_TOKEN)
    (tmp_path / "w.yaml").write_text(f"creators:\n  - name: {X_TOKEN}\n    acounts: {{}}\n")
    (tmp_path / "c.toml").write_text(
        'watchlist = "w.yaml"\n[platforms.youtube]\napi_key = "${YT}"\ninterval = "${YT}"\n'
        'daily_quota_units = "${XT}"\n[platforms.x]\nbearer_token = "${XT}"\nbase_url = 3\n'
    )
    result = CliRunner().invoke(app, ["config", "check", str(tmp_path / "c.toml")])
    assert result.exit_code == 2
    assert "interval" in result.output
    assert _leaks(result.output) == []

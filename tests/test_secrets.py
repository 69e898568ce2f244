"""Tokens never leak: not in logs at any level, errors, run rows or config check output."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator, Sequence
from datetime import datetime
from importlib.metadata import EntryPoint
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import Engine

from collector.daemon import build_collection
from collector.logs import configure_logging, get_logger, reset_logging
from collector.settings import Settings, check_files, load_settings
from connectors import registry
from connectors.base import Connector, PlatformConfig
from connectors.http import RetryPolicy
from connectors.records import AccountRef, PostPage, ProfileBatch

SENTINEL = "sentinel-Tok3n-9f8e7d6c"


class TokenConfig(PlatformConfig):
    token: SecretStr


class TokenConnector(Connector):
    """An HTTP connector that sends its token in a header and in the query string."""

    name = "tokened"
    config_model = TokenConfig
    batch_size = 10
    config: TokenConfig

    def client_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.config.token.get_secret_value()}"}

    def client_params(self) -> dict[str, str]:
        return {"key": self.config.token.get_secret_value()}

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        await self.get_json("/profiles", params={"ids": ",".join(a.handle for a in accounts)})
        raise AssertionError("the fake platform never answers 200")

    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        raise NotImplementedError


@pytest.fixture
def tokened(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    entry = EntryPoint("tokened", f"{__name__}:TokenConnector", registry.GROUP)
    demo = EntryPoint("demo", "connectors.demo:DemoConnector", registry.GROUP)
    monkeypatch.setattr(registry, "_entry_points", lambda: {"tokened": entry, "demo": demo})
    registry.load.cache_clear()
    yield
    registry.load.cache_clear()


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level="debug", fmt="json", stream=stream)
    yield stream
    reset_logging()


def _settings(tmp_path: Path) -> Settings:
    (tmp_path / "w.yaml").write_text("creators:\n  - name: A\n    accounts:\n      tokened: a\n")
    (tmp_path / "c.toml").write_text(
        'watchlist = "w.yaml"\n[platforms.tokened]\ntoken = "${TOKENED_TOKEN}"\n'
        'base_url = "https://api.test"\n'
    )
    return load_settings(tmp_path / "c.toml", environ={"TOKENED_TOKEN": SENTINEL})


def _echoing_platform(request: httpx.Request) -> httpx.Response:
    # The worst case: a platform that repeats the request, token included, in its errors.
    if request.url.path == "/profiles":
        raise httpx.ConnectError(f"connection reset while sending {request.url}", request=request)
    return httpx.Response(401, json={"error": f"bad token {SENTINEL}"})


def _collect(
    settings: Settings, engine: Engine, handler: httpx.MockTransport, stream: io.StringIO
) -> None:
    def factory(name: str, cls: type[Connector], s: Settings) -> Connector:
        no_wait = RetryPolicy(max_attempts=2, sleep=_no_sleep)
        return cls(s.platforms[name], transport=handler, retry=no_wait)

    collection = build_collection(settings, engine, connector_factory=factory)
    configure_logging(level="debug", fmt="json", stream=stream, secrets=settings.secrets())

    async def one_pass() -> None:
        await collection.db(collection.sync_watchlist, lambda: datetime.now().astimezone())
        for dispatcher in collection.dispatchers.values():
            await dispatcher.run_pass()
        await collection.aclose()

    asyncio.run(one_pass())


async def _no_sleep(seconds: float) -> None:
    return None


def test_a_failing_platform_never_logs_or_stores_the_token(
    tokened: None, log_output: io.StringIO, tmp_path: Path, engine: Engine
) -> None:
    settings = _settings(tmp_path)
    _collect(settings, engine, httpx.MockTransport(_echoing_platform), log_output)
    get_logger("test").debug("request sent", url=f"https://api.test/x?key={SENTINEL}")
    with engine.connect() as conn:
        errors = [r[0] for r in conn.execute(text("SELECT error FROM collection_run"))]
    output = log_output.getvalue()
    assert "connection failed" in output
    assert "key=***" in output
    assert SENTINEL not in output
    assert SENTINEL not in repr(errors)


def test_the_settings_repr_does_not_show_the_token(tokened: None, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert SENTINEL not in repr(settings)
    assert SENTINEL not in str(settings.platforms)


def test_config_check_never_prints_the_token(
    tokened: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "w.yaml").write_text("creators: []\n")
    (tmp_path / "c.toml").write_text(
        'watchlist = "w.yaml"\n[platforms.tokened]\ntoken = "${TOKENED_TOKEN}"\n'
        'interval = "${TOKENED_TOKEN}"\n'
    )
    problems = check_files([tmp_path / "c.toml"], environ={"TOKENED_TOKEN": SENTINEL})
    assert problems
    assert SENTINEL not in "\n".join(str(p) for p in problems)

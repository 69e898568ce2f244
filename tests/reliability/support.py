"""Shared pieces of the fault tests: real connectors on the fake platforms, a real store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from collector.daemon import Daemon
from collector.pipeline import DbRunner, Dispatcher, PassResult
from collector.settings import Settings
from collector.storage.state import ACCOUNT, Store
from connectors import registry
from connectors.base import Connector
from connectors.http import Clock, RetryPolicy, utcnow
from tests.fakeplatform.server import FakePlatformServer, build_app


class FaultServer(FakePlatformServer):
    """The fake platforms, stopped at once even while a handler hangs on purpose.

    aiohttp gives handlers a minute to finish at shutdown; a ``hang`` fault never finishes.
    """

    async def _start(self) -> None:
        self._runner = web.AppRunner(build_app(self.world), access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        for address in self._runner.addresses:
            self.port = int(address[1])
            break

    def __enter__(self) -> FaultServer:
        self.start()
        return self

    async def _cancel_handlers(self) -> None:
        current = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        """Stop serving, cancelling handlers that still hang."""
        if self._runner is not None:
            runner = self._runner
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(timeout=10)
            self._runner = None
        asyncio.run_coroutine_threadsafe(self._cancel_handlers(), self._loop).result(timeout=10)
        super().stop()


class Sleeps:
    """An injected ``sleep`` that records each wait instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def handle_for(platform: str, i: int) -> str:
    """A handle the fake platform accepts for ``platform``."""
    name = f"creator{i:03d}"
    return {"bluesky": f"{name}.bsky.social", "mastodon": f"{name}@mastodon.example"}.get(
        platform, name
    )


CREDENTIALS: dict[str, dict[str, str]] = {
    "youtube": {"api_key": "yt-key-reliability-123"},
    "x": {"bearer_token": "x-token-reliability-456"},
    "instagram": {"access_token": "ig-token-reliability-789", "ig_user_id": "17841400000000000"},
}


def make_connector(
    platform: str,
    server: FakePlatformServer,
    *,
    clock: Clock = utcnow,
    sleeps: Sleeps | None = None,
    timeout_seconds: float = 2.0,
    **config: Any,
) -> Connector:
    """A real connector for ``platform`` talking to the fake server, with no real waits."""
    cls = registry.load(platform)
    values: dict[str, Any] = {
        "base_url": server.url_for(platform),
        "interval": "1h",
        "timeout_seconds": timeout_seconds,
        **CREDENTIALS.get(platform, {}),
        **config,
    }
    retry = RetryPolicy(clock=clock, sleep=sleeps or Sleeps())
    return cls(cls.config_model.model_validate(values), clock=clock, retry=retry)


def watch(engine: Engine, platform: str, count: int, now: datetime) -> list[str]:
    """Put ``count`` accounts of ``platform`` on the watchlist; returns their handles."""
    handles = [handle_for(platform, i) for i in range(count)]
    Store(engine).sync_watchlist(
        [(platform, h, f"{platform} creator {h}", []) for h in handles],
        platforms=[platform],
        now=now,
    )
    return handles


def dispatcher_for(
    connector: Connector, engine: Engine, *, clock: Clock = utcnow, db: DbRunner | None = None
) -> Dispatcher:
    """A dispatcher over the real store; one database thread per dispatcher unless shared."""
    return Dispatcher(connector, Store(engine), db or DbRunner(), clock=clock)


def next_due(engine: Engine) -> list[datetime | None]:
    """Every account's ``next_due_at`` (timezone-aware on both backends), by account id."""
    with engine.connect() as conn:
        query = select(ACCOUNT.c.next_due_at).order_by(ACCOUNT.c.id)
        return [row[0] for row in conn.execute(query)]


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    """The one value a query returns."""
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Every row a query returns, as tuples."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def snapshots(engine: Engine, platform: str) -> tuple[int, int]:
    """(profile snapshots, post snapshots) stored for ``platform``."""
    profiles = scalar(
        engine,
        "SELECT count(*) FROM profile_snapshot s JOIN account a ON a.id = s.account_id"
        " WHERE a.platform = :p",
        p=platform,
    )
    posts = scalar(
        engine,
        "SELECT count(*) FROM post_snapshot s JOIN post p ON p.id = s.post_id"
        " JOIN account a ON a.id = p.account_id WHERE a.platform = :p",
        p=platform,
    )
    return int(profiles), int(posts)


def calls(server: FakePlatformServer, platform: str, endpoints: Iterable[str] | None = None) -> int:
    """Requests the fake ``platform`` received (on ``endpoints``, or all of them)."""
    wanted = None if endpoints is None else set(endpoints)
    return sum(
        n
        for (p, endpoint), n in server.world.calls.items()
        if p == platform and (wanted is None or endpoint in wanted)
    )


def write_config(
    directory: Path,
    server: FakePlatformServer | None,
    counts: Mapping[str, int],
    *,
    extra: str = "",
    interval: str = "1h",
    timeout_seconds: float = 2.0,
) -> Path:
    """collector.toml and watchlist.yaml watching ``counts[platform]`` accounts of each."""
    lines = ["creators:"]
    for platform, count in counts.items():
        for i in range(count):
            lines += [
                f"  - name: {platform} creator {i}",
                "    accounts:",
                f'      {platform}: "{handle_for(platform, i)}"',
            ]
    (directory / "watchlist.yaml").write_text("\n".join(lines) + "\n")
    toml = ['watchlist = "watchlist.yaml"', extra]
    for platform in counts:
        toml.append(f"[platforms.{platform}]")
        toml.append(f'interval = "{interval}"')
        toml.append(f"timeout_seconds = {timeout_seconds}")
        if server is not None:
            toml.append(f'base_url = "{server.url_for(platform)}"')
        toml.extend(f'{key} = "{value}"' for key, value in CREDENTIALS.get(platform, {}).items())
    (directory / "collector.toml").write_text("\n".join(toml) + "\n")
    return directory / "collector.toml"


def no_wait_factory(clock: Clock) -> Callable[[str, type[Connector], Settings], Connector]:
    """Builds each connector with the injected clock and a retry policy that never sleeps."""

    def factory(name: str, cls: type[Connector], settings: Settings) -> Connector:
        retry = RetryPolicy(clock=clock, sleep=Sleeps())
        return cls(settings.platforms[name], clock=clock, retry=retry)

    return factory


def run_daemon(
    daemon: Daemon,
    on_pass: Callable[[PassResult], bool],
    *,
    safety_timeout_seconds: float = 60.0,
) -> None:
    """Run the daemon in-process until ``on_pass`` returns True for a finished pass.

    The timeout is a safety net for a stalled daemon (the test then fails), not a wait.
    """

    def hook(result: PassResult) -> None:
        if on_pass(result):
            daemon.request_stop()

    daemon.on_pass = hook

    async def main() -> int:
        return await asyncio.wait_for(
            daemon.run(install_signal_handlers=False), timeout=safety_timeout_seconds
        )

    assert asyncio.run(main()) == 0

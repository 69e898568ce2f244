"""A real HTTP server on loopback that speaks every fake platform's API.

Started in a background thread by tests (``with FakePlatformServer(world) as server``) or as a
process by benchmarks (``python -m tests.fakeplatform --port 8765``). Each platform is mounted
under ``/<platform>/``, so a connector's ``base_url`` is ``server.url_for("youtube")`` and so on.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from types import TracebackType

from aiohttp import web

from tests.fakeplatform.core import World

__all__ = ["PLATFORMS", "FakePlatformServer", "build_app"]

#: Platform modules mounted by the server; a module missing its file is skipped.
PLATFORMS = ("youtube", "bluesky", "mastodon", "instagram", "x", "tiktok")


def build_app(world: World) -> web.Application:
    """One aiohttp application with every available platform's routes."""
    app = web.Application()
    for platform in PLATFORMS:
        try:
            module = importlib.import_module(f"tests.fakeplatform.{platform}")
        except ModuleNotFoundError as exc:
            if exc.name == f"tests.fakeplatform.{platform}":
                continue
            raise
        sub = web.Application()
        module.register(sub, world)
        app.add_subapp(f"/{platform}/", sub)
    return app


class FakePlatformServer:
    """Runs :func:`build_app` on 127.0.0.1 in a thread with its own event loop."""

    def __init__(self, world: World, *, port: int = 0) -> None:
        self.world = world
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        """The server's root URL."""
        return f"http://127.0.0.1:{self.port}"

    def url_for(self, platform: str) -> str:
        """The base URL a connector for ``platform`` should use."""
        return f"{self.url}/{platform}"

    async def _start(self) -> None:
        self._runner = web.AppRunner(build_app(self.world), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()
        # Port 0 asks the OS for a free port; read back which one it gave.
        for address in self._runner.addresses:
            self.port = int(address[1])
            break

    def start(self) -> FakePlatformServer:
        """Start serving; returns self."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Stop serving and end the thread."""
        if self._runner is not None:
            runner = self._runner
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def __enter__(self) -> FakePlatformServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

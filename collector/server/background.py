"""Serving the dashboard from a thread, beside other work (``collector demo`` runs the daemon)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import datetime

import uvicorn
from sqlalchemy.engine import Engine

from collector.server.app import create_app
from connectors.http import utcnow

__all__ = ["BackgroundServer", "QuietExitServer", "ServerStartError", "serve_in_background"]

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
#: How long the caller waits for the socket to be listening.
STARTUP_TIMEOUT_SECONDS = 10.0
#: How long stop() waits for requests in flight.
SHUTDOWN_TIMEOUT_SECONDS = 5.0


class ServerStartError(RuntimeError):
    """The server could not start (the port is taken, the address is not local...)."""


class QuietExitServer(uvicorn.Server):
    """Stops on SIGTERM or Ctrl-C like the other commands: gracefully, with exit status 0.

    uvicorn re-raises the signal after its graceful shutdown, so the process would end "killed by
    SIGTERM"; a service manager would log a clean stop as a failure.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in _STOP_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class _Server(uvicorn.Server):
    """A uvicorn server that tells another thread when it listens or gives up."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.settled = threading.Event()

    async def startup(self, sockets: list[object] | None = None) -> None:  # type: ignore[override]
        try:
            await super().startup(sockets=sockets)  # type: ignore[arg-type]
        finally:
            self.settled.set()


class BackgroundServer:
    """A running server: its address, and stop()."""

    def __init__(self, server: _Server, thread: threading.Thread, host: str, port: int) -> None:
        self._server = server
        self._thread = thread
        self.host = host
        self.port = port

    @property
    def url(self) -> str:
        """The dashboard's address."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop serving and wait for the thread (requests in flight get a few seconds)."""
        self._server.should_exit = True
        self._thread.join(SHUTDOWN_TIMEOUT_SECONDS + 1.0)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(2.0)


def serve_in_background(
    engine: Engine,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    token: str | None = None,
    clock: Callable[[], datetime] = utcnow,
    access_log: bool = False,
    watchlist_errors: Callable[[], int] | None = None,
) -> BackgroundServer:
    """Serve the dashboard and API from a daemon thread; returns once it listens.

    ``port`` 0 picks a free port (read it back from ``.port``). ``watchlist_errors`` reads the
    refused watchlist edits of the daemon beside it (``lambda: daemon.watchlist_errors``). Raises
    :class:`ServerStartError` if the server cannot listen.
    """
    from collector.server.commands import loopback_hosts

    app = create_app(
        engine,
        token=token,
        clock=clock,
        allowed_hosts=loopback_hosts(host),
        watchlist_errors=watchlist_errors,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=access_log,
        lifespan="off",
        timeout_graceful_shutdown=int(SHUTDOWN_TIMEOUT_SECONDS),
        server_header=False,
    )
    server = _Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run()
        except BaseException as exc:  # uvicorn exits with SystemExit on bind errors
            failure.append(exc)
        finally:
            server.settled.set()

    thread = threading.Thread(target=run, name="collector-dashboard", daemon=True)
    thread.start()
    if not server.settled.wait(STARTUP_TIMEOUT_SECONDS) or not server.started:
        server.should_exit = True
        thread.join(SHUTDOWN_TIMEOUT_SECONDS)
        problem = f": {failure[0].__class__.__name__}" if failure else ""
        raise ServerStartError(f"the dashboard could not listen on {host}:{port}{problem}")
    bound = port
    for listener in server.servers:
        for sock in listener.sockets:
            bound = int(sock.getsockname()[1])
            break
    return BackgroundServer(server, thread, host, bound)

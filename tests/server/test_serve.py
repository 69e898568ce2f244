"""``collector serve`` as users run it, and the background server ``collector demo`` embeds."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from collector.server import ServerStartError, serve_in_background
from tests.server.conftest import TOKEN, World

#: The command is a real process: it must answer within this long of being started.
START_DEADLINE_SECONDS = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)  # noqa: S310 - loopback http
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_background_server_serves_on_a_free_port_and_stops(
    sqlite_world: tuple[Engine, World],
) -> None:
    engine, _world = sqlite_world
    server = serve_in_background(engine, "127.0.0.1", 0)
    try:
        assert server.port > 0
        status, body = _get(f"{server.url}/api/creators")
        assert status == 200
        assert {c["name"] for c in json.loads(body)} >= {"Salma Beauty"}
    finally:
        server.stop()
    with pytest.raises(urllib.error.URLError, match="refused"):
        _get(f"{server.url}/healthz")


def test_background_server_reports_a_taken_port(sqlite_world: tuple[Engine, World]) -> None:
    engine, _world = sqlite_world
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ServerStartError, match="could not listen"):
            serve_in_background(engine, "127.0.0.1", taken.getsockname()[1])


def _serve(db: Path, port: int, env: dict[str, str], *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "collector",
            "serve",
            "--db",
            f"sqlite:///{db}",
            "--port",
            str(port),
            "--log-level",
            "warning",
            *extra,
        ],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_until_listening(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    pause = threading.Event()
    # A separate process gives no readiness event: try to connect, bounded.
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        pause.wait(0.1)
    process.kill()
    _out, err = process.communicate()
    pytest.fail(f"collector serve did not listen: {err}")


def test_serve_command_requires_the_token_from_its_environment_variable(
    sqlite_world: tuple[Engine, World],
) -> None:
    engine, _world = sqlite_world
    db = Path(str(engine.url.database))
    port = _free_port()
    process = _serve(db, port, {"COLLECTOR_API_TOKEN": TOKEN})
    try:
        _wait_until_listening(process, port)
        assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        assert _get(f"http://127.0.0.1:{port}/api/flags")[0] == 401
        assert _get(f"http://127.0.0.1:{port}/api/flags", TOKEN)[0] == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "bearer token required" in err
    assert TOKEN not in err


def test_serve_command_refuses_a_named_token_variable_that_is_unset(
    sqlite_world: tuple[Engine, World],
) -> None:
    engine, _world = sqlite_world
    process = _serve(
        Path(str(engine.url.database)), _free_port(), {}, "--token-env", "NO_SUCH_TOKEN_VAR"
    )
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "NO_SUCH_TOKEN_VAR is not set" in err

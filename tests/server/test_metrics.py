"""``/metrics`` read back with prometheus-client's own parser, and scraped by a real Prometheus."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine

from collector.server import serve_in_background
from collector.server.app import create_app
from collector.storage.db import make_engine
from tests.conftest import FakeClock
from tests.server.conftest import HOSTILE, TOKEN, TestClient, World

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _scrape(client: TestClient) -> tuple[str, Samples]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text, _samples(response.text)


def test_metrics_parse_with_the_official_parser(client: TestClient) -> None:
    text, samples = _scrape(client)
    assert samples[("collector_database_up", ())] == 1.0
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {
        "collector_accounts",
        "collector_collection_runs",
        "collector_snapshots_stored",
        "collector_last_success_age_seconds",
        "collector_flags_open",
    } <= names


def test_accounts_are_counted_by_platform_and_status(client: TestClient) -> None:
    _text, samples = _scrape(client)
    assert samples[("collector_accounts", (("platform", "demo"), ("status", "active")))] == 2
    assert samples[("collector_accounts", (("platform", "csv"), ("status", "active")))] == 1


def test_collection_runs_and_snapshots_are_counters_by_platform_and_outcome(
    client: TestClient,
) -> None:
    _text, samples = _scrape(client)
    runs = "collector_collection_runs_total"
    assert samples[(runs, (("outcome", "ok"), ("platform", "demo")))] == 2
    assert samples[(runs, (("outcome", "failed"), ("platform", "demo")))] == 1
    collections = "collector_account_collections_total"
    assert samples[(collections, (("outcome", "failed"), ("platform", "demo")))] == 2
    stored = "collector_snapshots_stored_total"
    assert samples[(stored, (("kind", "post"), ("platform", "demo")))] == 16


def test_last_success_age_is_measured_on_the_server_clock(
    engine: Engine, world: World, clock: FakeClock
) -> None:
    with TestClient(create_app(engine, token=None, clock=clock)) as client:
        age = ("collector_last_success_age_seconds", (("platform", "demo"),))
        assert _scrape(client)[1][age] == 600.0
        clock.advance(timedelta(minutes=5))
        assert _scrape(client)[1][age] == 900.0


def test_open_flags_are_counted_by_platform_and_severity_zeros_included(
    client: TestClient,
) -> None:
    _text, samples = _scrape(client)
    flags = "collector_flags_open"
    assert samples[(flags, (("platform", "demo"), ("severity", "high")))] == 1
    assert samples[(flags, (("platform", "demo"), ("severity", "low")))] == 1
    # The dismissed medium flag is not open.
    assert samples[(flags, (("platform", "demo"), ("severity", "medium")))] == 0


def test_no_metric_is_labelled_by_creator_or_handle(client: TestClient) -> None:
    text, samples = _scrape(client)
    labels = {name for (_metric, pairs) in samples for name, _value in pairs}
    assert labels <= {"platform", "status", "outcome", "kind", "severity"}
    for handle in ("salma.beauty", "imported.handle", HOSTILE, "Salma Beauty"):
        assert handle not in text


def test_watchlist_reload_errors_are_read_from_the_daemon_in_this_process(
    engine: Engine, world: World, clock: FakeClock
) -> None:
    refused = [0]
    app = create_app(engine, token=None, clock=clock, watchlist_errors=lambda: refused[0])
    with TestClient(app) as client:
        assert _scrape(client)[1][("collector_watchlist_reload_errors_total", ())] == 0
        refused[0] = 3
        assert _scrape(client)[1][("collector_watchlist_reload_errors_total", ())] == 3


def test_without_a_daemon_in_the_process_watchlist_errors_are_absent_not_zero(
    client: TestClient,
) -> None:
    text, _samples = _scrape(client)
    assert "collector_watchlist_reload_errors" not in text


def test_a_scrape_answers_with_database_up_0_when_the_database_is_down(
    clock: FakeClock,
) -> None:
    engine = make_engine(
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    with TestClient(create_app(engine, token=None, clock=clock)) as client:
        _text, samples = _scrape(client)
    assert samples[("collector_database_up", ())] == 0.0
    assert not any(name == "collector_accounts" for name, _labels in samples)


# -- a real Prometheus -------------------------------------------------------------------------

PROMETHEUS = shutil.which("prometheus")
#: Prometheus takes about a second to start and scrapes every second: this bounds the wait.
PROMETHEUS_DEADLINE_SECONDS = 30.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _query(port: int, expression: str) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=5) as response:
        body = json.load(response)
    result: list[dict[str, object]] = body["data"]["result"]
    return result


def test_a_real_prometheus_scrapes_metrics_with_the_bearer_token(
    sqlite_world: tuple[Engine, World], tmp_path: Path
) -> None:
    if PROMETHEUS is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus is not installed: run scripts/install-browser")
        pytest.skip("prometheus is not installed (scripts/install-browser installs it)")
    engine, _world = sqlite_world
    server = serve_in_background(engine, "127.0.0.1", 0, token=TOKEN)
    prom_port = _free_port()
    (tmp_path / "token").write_text(TOKEN)
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        "scrape_configs:\n"
        "  - job_name: collector\n"
        "    authorization:\n"
        f"      credentials_file: {tmp_path / 'token'}\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{server.port}']\n"
    )
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "prometheus.log").open("wb"),
    )
    try:
        found: list[dict[str, object]] = []
        deadline = time.monotonic() + PROMETHEUS_DEADLINE_SECONDS
        done = threading.Event()
        # An outside process has no event to wait on: poll its query API, bounded.
        while not found and time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError):
                found = _query(prom_port, 'collector_accounts{platform="demo"}')
            if not found:
                done.wait(0.25)
        up = _query(prom_port, "up")
    finally:
        process.terminate()
        process.wait(10)
        server.stop()
    log = (tmp_path / "prometheus.log").read_text(errors="replace")
    assert found, f"Prometheus stored nothing from /metrics; its log:\n{log[-2000:]}"
    assert found[0]["value"][1] == "2"  # type: ignore[index]
    assert up[0]["value"][1] == "1"  # type: ignore[index]

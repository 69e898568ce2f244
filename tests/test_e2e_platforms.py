"""Every platform end to end: `collector collect` against the loopback fake platforms.

A real process, real HTTP on 127.0.0.1, a real database: the only fake part is the platforms,
which speak their APIs' shapes. The request counts asserted here are the API minimum that the
batch endpoints allow.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from collector.storage.db import make_engine
from tests.fakeplatform.core import World
from tests.fakeplatform.server import FakePlatformServer

POSTS = 12  # per account; all inside the 30-day horizon (one every two days)
COUNTS = {"youtube": 120, "bluesky": 60, "mastodon": 30, "instagram": 30, "x": 150, "tiktok": 10}
ENV = {
    "YOUTUBE_API_KEY": "yt-key-e2e-123",
    "X_BEARER_TOKEN": "x-token-e2e-456",
    "INSTAGRAM_ACCESS_TOKEN": "ig-token-e2e-789",
    "TIKTOK_CLIENT_KEY": "tt-key-e2e",
    "TIKTOK_CLIENT_SECRET": "tt-secret-e2e-000",
}


def _handle(platform: str, i: int) -> str:
    name = f"creator{i:03d}"
    return {"bluesky": f"{name}.bsky.social", "mastodon": f"{name}@mastodon.example"}.get(
        platform, name
    )


@pytest.fixture(scope="module")
def server() -> Iterator[FakePlatformServer]:
    with FakePlatformServer(World(auto_create=True, posts_per_account=POSTS)) as running:
        yield running


def _write_config(tmp_path: Path, server: FakePlatformServer) -> Path:
    lines = ["creators:"]
    for platform, count in COUNTS.items():
        for i in range(count):
            lines += [
                f"  - name: {platform} creator {i}",
                "    accounts:",
                f'      {platform}: "{_handle(platform, i)}"',
            ]
    (tmp_path / "watchlist.yaml").write_text("\n".join(lines) + "\n")
    toml = f"""
watchlist = "watchlist.yaml"
[platforms.youtube]
api_key = "${{YOUTUBE_API_KEY}}"
base_url = "{server.url_for("youtube")}"
[platforms.bluesky]
base_url = "{server.url_for("bluesky")}"
[platforms.mastodon]
base_url = "{server.url_for("mastodon")}"
[platforms.instagram]
access_token = "${{INSTAGRAM_ACCESS_TOKEN}}"
ig_user_id = "17841400000000000"
base_url = "{server.url_for("instagram")}"
[platforms.x]
bearer_token = "${{X_BEARER_TOKEN}}"
base_url = "{server.url_for("x")}"
[platforms.tiktok]
enabled = true
client_key = "${{TIKTOK_CLIENT_KEY}}"
client_secret = "${{TIKTOK_CLIENT_SECRET}}"
base_url = "{server.url_for("tiktok")}"
"""
    (tmp_path / "collector.toml").write_text(toml)
    return tmp_path / "collector.toml"


def _collect(config: Path, db_url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "collector",
            "collect",
            "--once",
            "--config",
            str(config),
            "--db",
            db_url,
            "--log-format",
            "json",
            *extra,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **ENV},
        timeout=300,
        check=False,
    )


def _calls(world: World, platform: str) -> dict[str, int]:
    return {ep: n for (p, ep), n in world.calls.items() if p == platform}


FirstPass = tuple[Path, str, "subprocess.CompletedProcess[str]", dict[str, dict[str, int]]]


def _minimum_first_pass() -> dict[str, dict[str, int]]:
    yt, bs, ma, ig, x, tt = (COUNTS[p] for p in COUNTS)
    return {
        # Handles resolve once (one forHandle each), then ids go 50 per channels.list call;
        # video counts 50 per videos.list call.
        "youtube": {
            "channels.list:forHandle": yt,
            "channels.list": math.ceil(yt / 50),
            "playlistItems.list": yt,
            "videos.list": math.ceil(yt * POSTS / 50),
        },
        "bluesky": {"getProfiles": math.ceil(bs / 25), "getAuthorFeed": bs},
        "mastodon": {"accounts/lookup": ma, "accounts/statuses": ma},
        "instagram": {"business_discovery": ig},
        "x": {"users_by": math.ceil(x / 100), "user_tweets": x},
        "tiktok": {"oauth/token": 1, "user/info": tt, "video/query": tt},
    }


@pytest.fixture(scope="module")
def first_pass(server: FakePlatformServer, tmp_path_factory: pytest.TempPathFactory) -> FirstPass:
    tmp_path = tmp_path_factory.mktemp("e2e")
    config = _write_config(tmp_path, server)
    db_url = f"sqlite:///{tmp_path / 'e2e.db'}"
    server.world.calls.clear()
    # Debug level: the most talkative the daemon gets, so a leaked token would show here.
    result = _collect(config, db_url, "--log-level", "debug")
    calls = {p: _calls(server.world, p) for p in COUNTS}
    return config, db_url, result, calls


def test_one_pass_over_every_platform_succeeds(first_pass: FirstPass) -> None:
    _config, _db, result, _calls_seen = first_pass
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


@pytest.mark.parametrize("platform", list(COUNTS))
def test_the_first_pass_makes_exactly_the_minimum_requests(
    first_pass: FirstPass,
    platform: str,
) -> None:
    _config, _db, _result, calls = first_pass
    assert calls[platform] == _minimum_first_pass()[platform]


@pytest.mark.parametrize("platform", list(COUNTS))
def test_every_account_and_post_is_stored(
    first_pass: FirstPass,
    platform: str,
) -> None:
    _config, db_url, _result, _calls = first_pass
    engine = make_engine(db_url)
    with engine.connect() as conn:
        accounts, with_profile, posts, with_counts = conn.execute(
            text(
                "SELECT count(*), count(l.collected_at),"
                " (SELECT count(*) FROM post p JOIN account a ON a.id = p.account_id"
                "   WHERE a.platform = :p),"
                " (SELECT count(DISTINCT s.post_id) FROM post_snapshot s JOIN post p"
                "   ON p.id = s.post_id JOIN account a ON a.id = p.account_id"
                "   WHERE a.platform = :p)"
                " FROM account_latest l WHERE l.platform = :p"
            ),
            {"p": platform},
        ).one()
    engine.dispose()
    n = COUNTS[platform]
    assert (accounts, with_profile, posts, with_counts) == (n, n, n * POSTS, n * POSTS)


def test_a_second_pass_does_not_resolve_handles_again(
    first_pass: FirstPass,
    server: FakePlatformServer,
) -> None:
    config, db_url, _result, _calls = first_pass
    before = server.world.calls[("youtube", "channels.list:forHandle")]
    result = _collect(config, db_url, "--all", "--platform", "youtube")
    assert result.returncode == 0, result.stderr[-2000:]
    assert server.world.calls[("youtube", "channels.list:forHandle")] == before


def test_no_token_appears_in_the_output(first_pass: FirstPass) -> None:
    _config, _db, result, _calls = first_pass
    output = result.stdout + result.stderr
    assert [secret for secret in ENV.values() if secret in output] == []


def test_the_daemon_collects_real_platforms_and_stops_on_sigterm(
    server: FakePlatformServer, tmp_path: Path
) -> None:
    (tmp_path / "watchlist.yaml").write_text(
        "creators:\n  - name: A\n    accounts:\n      bluesky: daemon.bsky.social\n"
        "      mastodon: daemon@mastodon.example\n"
    )
    (tmp_path / "collector.toml").write_text(
        'watchlist = "watchlist.yaml"\n'
        f'[platforms.bluesky]\nbase_url = "{server.url_for("bluesky")}"\n'
        f'[platforms.mastodon]\nbase_url = "{server.url_for("mastodon")}"\n'
    )
    db_url = f"sqlite:///{tmp_path / 'daemon.db'}"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "collector",
            "run",
            "--config",
            str(tmp_path / "collector.toml"),
            "--db",
            db_url,
            "--log-format",
            "json",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    dispatched: set[str] = set()
    try:
        # Read the log until both platforms have dispatched: no sleeping, no polling.
        for line in process.stderr:
            event = json.loads(line)
            if event.get("event") == "dispatch" and event.get("outcome") == "ok":
                dispatched.add(event["platform"])
            if dispatched == {"bluesky", "mastodon"}:
                break
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    finally:
        process.kill()
    assert (dispatched, code) == ({"bluesky", "mastodon"}, 0)

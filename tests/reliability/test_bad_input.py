"""Bad input never crashes Collector and never becomes a wrong row.

Property-based (hypothesis) over what comes from outside: platform payloads, CSV files and
configuration files. Each connector is fed mutations of the real responses the fake platforms
give (recorded once per module): it must answer with records that hold their invariants or with
an error of the typed tree, never another exception. A CSV file is either imported exactly or
rejected with line numbers; a configuration file is either valid or refused with located
problems. Hostile handles are stored verbatim and printed without terminal control sequences.
"""

from __future__ import annotations

import asyncio
import copy
import csv
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from collector.importer import ImportFailed, import_file
from collector.settings import ConfigInvalid, ConfigProblem, load_settings
from collector.storage.state import Store
from connectors import registry
from connectors.base import Connector
from connectors.errors import ConnectorError
from connectors.http import RetryPolicy
from connectors.records import AccountRef, PostPage, PostRecord, PostRef, ProfileBatch
from tests.conftest import FakeClock
from tests.fakeplatform.core import Fault, World
from tests.reliability.support import (
    CREDENTIALS,
    FaultServer,
    Sleeps,
    dispatcher_for,
    handle_for,
    rows,
)

NOW = datetime(2026, 11, 2, 12, tzinfo=UTC)
PLATFORMS = ("youtube", "bluesky", "mastodon", "instagram", "x", "tiktok")
EXAMPLES = settings(
    max_examples=int(os.environ.get("COLLECTOR_HYPOTHESIS_EXAMPLES", "40")),
    deadline=None,
    derandomize=True,
    database=None,  # fixed examples: nothing to remember between runs, nothing left in the tree
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# -- connector payloads ----------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One recorded request path and the response the fake platform gave."""

    path: str
    status: int
    headers: dict[str, str]
    body: Any  # the decoded JSON


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests to the real transport and keeps each JSON answer."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.exchanges: list[Exchange] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        self.exchanges.append(
            Exchange(request.url.path, response.status_code, headers, json.loads(body))
        )
        return httpx.Response(response.status_code, headers=headers, content=body)


class Replayer(httpx.AsyncBaseTransport):
    """Answers each request with the recorded response for its path, one of them mutated."""

    def __init__(self, exchanges: Sequence[Exchange], target: int, body: bytes) -> None:
        self.exchanges = exchanges
        self.target = target
        self.body = body

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for index, exchange in enumerate(self.exchanges):
            if exchange.path == request.url.path:
                content = self.body if index == self.target else json.dumps(exchange.body).encode()
                return httpx.Response(exchange.status, headers=exchange.headers, content=content)
        return httpx.Response(404, json={"error": "not recorded"})


def _connector(platform: str, base_url: str, transport: httpx.AsyncBaseTransport) -> Connector:
    cls = registry.load(platform)
    values: dict[str, Any] = {
        "base_url": base_url,
        "interval": "1h",
        **CREDENTIALS.get(platform, {}),
    }
    if platform == "tiktok":
        values.update(enabled=True, client_key="tt-key", client_secret="tt-secret-value")
    # One fixed time for recording and replays alike: the fake platforms date posts from it.
    clock = FakeClock(NOW)
    retry = RetryPolicy(max_attempts=1, clock=clock, sleep=Sleeps())
    return cls(
        cls.config_model.model_validate(values), transport=transport, clock=clock, retry=retry
    )


@dataclass
class Collected:
    profiles: ProfileBatch | None = None
    posts: PostPage | None = None
    stats: list[PostRecord] | None = None


async def _collect(connector: Connector, handle: str) -> Collected:
    """What a pass asks of a connector for one account: profile, posts, then post counts."""
    out = Collected()
    try:
        out.profiles = await connector.fetch_profiles([AccountRef(handle)])
        profile = out.profiles.profiles.get(handle)
        if profile is None:
            return out
        ref = AccountRef(handle, profile.platform_id)
        out.posts = await connector.fetch_posts(ref, since=None)
        pending = [p for p in out.posts.posts if not p.has_counts]
        if pending and connector.post_batch_size:
            refs = [
                PostRef(p.platform_post_id, handle, profile.platform_id, p.published_at)
                for p in pending
            ]
            out.stats = await connector.fetch_post_stats(refs[: connector.post_batch_size])
        return out
    finally:
        await connector.aclose()


@pytest.fixture(scope="module")
def recordings() -> dict[str, tuple[str, list[Exchange]]]:
    """Each platform's real exchanges for one account, from the fake platforms."""
    world = World(clock=FakeClock(NOW), auto_create=True, posts_per_account=3)
    recorded: dict[str, tuple[str, list[Exchange]]] = {}
    with FaultServer(world) as server:
        for platform in PLATFORMS:
            recorder = Recorder()
            connector = _connector(platform, server.url_for(platform), recorder)
            result = asyncio.run(_collect(connector, handle_for(platform, 1)))
            assert result.posts is not None, platform
            assert result.posts.posts, platform
            recorded[platform] = (server.url_for(platform), recorder.exchanges)
    return recorded


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, (*prefix, index))


def _mutate(document: Any, path: tuple[Any, ...], action: str, value: Any) -> Any:
    if not path:
        return value
    copied = copy.deepcopy(document)
    parent = copied
    for step in path[:-1]:
        parent = parent[step]
    last = path[-1]
    if action == "delete":
        del parent[last]
    else:
        parent[last] = value
    return copied


def _check_records(result: Collected, handle: str) -> None:
    """Whatever was returned is well-formed: the invariants the store relies on."""
    if result.profiles is not None:
        assert set(result.profiles.profiles) <= {handle}
        for profile in result.profiles.profiles.values():
            assert isinstance(profile.platform_id, str)
            assert profile.platform_id
            assert profile.collected_at.tzinfo is not None
            for count in (profile.followers, profile.following, profile.posts_count):
                assert count is None or (type(count) is int and 0 <= count < 2**63), count
    posts = [*(result.posts.posts if result.posts else ()), *(result.stats or ())]
    for post in posts:
        assert isinstance(post.platform_post_id, str)
        assert post.platform_post_id
        assert post.published_at.tzinfo is not None
        assert post.collected_at.tzinfo is not None
        counts = (post.views, post.likes, post.comments, post.shares, post.quotes, post.saves)
        for count in counts:
            assert count is None or (type(count) is int and 0 <= count < 2**63), count


@pytest.mark.parametrize("platform", PLATFORMS)
@EXAMPLES
@given(data=st.data())
def test_a_mutated_payload_gives_valid_records_or_a_typed_error(
    recordings: dict[str, tuple[str, list[Exchange]]], platform: str, data: st.DataObject
) -> None:
    base_url, exchanges = recordings[platform]
    target = data.draw(st.integers(0, len(exchanges) - 1), label="response")
    document = exchanges[target].body
    path = data.draw(st.sampled_from(list(_paths(document))), label="path")
    action = data.draw(st.sampled_from(["replace", "delete"] if path else ["replace"]))
    value = data.draw(JSON, label="value")
    body = json.dumps(_mutate(document, path, action, value)).encode()
    connector = _connector(platform, base_url, Replayer(exchanges, target, body))
    try:
        result = asyncio.run(_collect(connector, handle_for(platform, 1)))
    except ConnectorError:
        return
    _check_records(result, handle_for(platform, 1))


@pytest.mark.parametrize("platform", PLATFORMS)
@EXAMPLES
@given(data=st.data())
def test_a_body_that_is_not_json_is_a_typed_error(
    recordings: dict[str, tuple[str, list[Exchange]]], platform: str, data: st.DataObject
) -> None:
    base_url, exchanges = recordings[platform]
    target = data.draw(st.integers(0, len(exchanges) - 1), label="response")
    text = json.dumps(exchanges[target].body).encode()
    cut = data.draw(st.integers(0, max(len(text) - 1, 0)), label="cut at")
    body = data.draw(st.sampled_from([text[:cut], text[:cut] + b"\xff\xfe", b"<html>502</html>"]))
    connector = _connector(platform, base_url, Replayer(exchanges, target, body))
    try:
        result = asyncio.run(_collect(connector, handle_for(platform, 1)))
    except ConnectorError:
        return
    _check_records(result, handle_for(platform, 1))


# -- CSV import --------------------------------------------------------------------------------

PROFILE_HEADER = ["platform", "handle", "collected_at", "followers", "following", "posts_count"]
CELL = st.one_of(
    st.text(max_size=10),
    st.integers(-5, 10**12).map(str),
    st.sampled_from(["", "1e3", "12.5", "-1", "NaN", "2026-02-30T00:00:00", "٣٤٥", "0x10"]),
)
GOOD_ROW = st.tuples(
    st.integers(0, 10**9),
    st.integers(0, 10**6),
    st.integers(0, 10**5),
    st.datetimes(datetime(2020, 1, 1), datetime(2030, 1, 1)).map(
        lambda d: d.replace(microsecond=0)
    ),
)


@EXAMPLES
@given(
    good=st.lists(GOOD_ROW, min_size=1, max_size=4),
    bad=st.lists(st.tuples(st.integers(0, 5), CELL), max_size=2),
)
def test_a_csv_file_is_imported_exactly_or_rejected_with_line_numbers(
    engine: Engine,
    tmp_path: Path,
    good: list[tuple[int, int, int, datetime]],
    bad: list[tuple[int, str]],
) -> None:
    handle = f"csv{uuid.uuid4().hex[:10]}"
    lines = [
        ["demo", handle, at.isoformat(), str(f), str(fo), str(p)]
        for f, fo, p, at in dict((row[3], row) for row in good).values()
    ]
    for index, cell in bad:
        lines[index % len(lines)][index] = cell
    path = tmp_path / f"{handle}.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(PROFILE_HEADER)
        writer.writerows(lines)
    failure: ImportFailed | None = None
    try:
        import_file(engine, path, now=datetime(2030, 6, 1, tzinfo=UTC))
    except ImportFailed as exc:
        failure = exc
    if failure is not None:
        assert failure.problems
        assert all(p.line >= 1 for p in failure.problems), str(failure)
        stored = rows(engine, "SELECT count(*) FROM account WHERE handle = :h", h=handle)
        assert stored == [(0,)]  # nothing from a rejected file
        return
    if not bad:
        stored = rows(
            engine,
            "SELECT s.followers, s.following, s.posts_count FROM profile_snapshot s"
            " JOIN account a ON a.id = s.account_id WHERE a.handle = :h ORDER BY s.collected_at",
            h=handle,
        )
        expected = sorted(dict((row[3], row) for row in good).values(), key=lambda r: r[3])
        assert stored == [(f, fo, p) for f, fo, p, _at in expected]


# -- configuration files -----------------------------------------------------------------------

GOOD_TOML = (
    'watchlist = "watchlist.yaml"\n[scheduler]\njitter = 0.1\n[platforms.demo]\ninterval = "6h"\n'
)
GOOD_YAML = (
    "creators:\n  - name: Salma\n    tags: [a, b]\n    accounts:\n      demo: salma.beauty\n"
)


def _problems(path: Path) -> list[ConfigProblem] | None:
    """None if the files are valid, else the problems (any other exception propagates)."""
    try:
        load_settings(path, environ={})
    except ConfigInvalid as exc:
        return exc.problems
    return None


def _damage(text: str, data: st.DataObject) -> str:
    position = data.draw(st.integers(0, len(text)), label="at")
    removed = data.draw(st.integers(0, 6), label="removed")
    inserted = data.draw(
        st.text(
            alphabet=st.sampled_from(list("[]{}:=-\"'\n #@&*!|>%\t\\,.0a\x00\x1bé")), max_size=6
        ),
        label="inserted",
    )
    return text[:position] + inserted + text[position + removed :]


@EXAMPLES
@given(data=st.data(), which=st.sampled_from(["toml", "yaml"]))
def test_a_damaged_config_file_is_valid_or_refused_with_located_problems(
    tmp_path: Path, data: st.DataObject, which: str
) -> None:
    directory = tmp_path / uuid.uuid4().hex[:8]
    directory.mkdir()
    toml = _damage(GOOD_TOML, data) if which == "toml" else GOOD_TOML
    yaml_text = _damage(GOOD_YAML, data) if which == "yaml" else GOOD_YAML
    (directory / "collector.toml").write_text(toml, encoding="utf-8")
    (directory / "watchlist.yaml").write_text(yaml_text, encoding="utf-8")
    problems = _problems(directory / "collector.toml")
    assert problems is None or problems
    assert all(str(p).startswith(str(directory)) for p in problems or ()), problems


@EXAMPLES
@given(document=st.dictionaries(st.text(max_size=10), JSON, max_size=4))
def test_a_random_yaml_document_is_valid_or_refused_with_problems(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    import yaml

    directory = tmp_path / uuid.uuid4().hex[:8]
    directory.mkdir()
    (directory / "collector.toml").write_text('watchlist = "w.yaml"\n[platforms.demo]\n')
    (directory / "w.yaml").write_text(yaml.safe_dump(document, allow_unicode=True))
    problems = _problems(directory / "collector.toml")
    assert problems is None or problems


# -- hostile handles ---------------------------------------------------------------------------

HOSTILE = [
    "o'brien\"quote",
    "x'); DROP TABLE account; --",
    "<script>alert(1)</script>",
    "bell\x07esc\x1b[31mred",
    "مريم.بيوتي",
    "rtl\u202eevil",
    "tab\\back\\slash",
    "emoji🙂‍↔️",
]


def test_hostile_handles_and_names_are_stored_verbatim(engine: Engine) -> None:
    store = Store(engine)
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    store.sync_watchlist(
        [("demo", h, f"name of {h}", [h]) for h in HOSTILE], platforms=["demo"], now=now
    )
    handles = sorted(h for (h,) in rows(engine, "SELECT handle FROM account"))
    names = sorted(n for (n,) in rows(engine, "SELECT name FROM creator"))
    assert handles == sorted(HOSTILE)
    assert names == sorted(f"name of {h}" for h in HOSTILE)


def test_a_platform_error_with_terminal_escapes_is_printed_escaped(tmp_path: Path) -> None:
    hostile = "\x1b[2J\x1b[31mpwned\x07"
    world = World(auto_create=True, posts_per_account=1)
    body = json.dumps({"error": "InvalidRequest", "message": hostile}).encode()
    world.fail(Fault("bluesky", "getProfiles", status=400, body=body))
    with FaultServer(world) as server:
        (tmp_path / "w.yaml").write_text(
            "creators:\n  - name: A\n    accounts:\n      bluesky: a.bsky.social\n"
        )
        (tmp_path / "c.toml").write_text(
            f'watchlist = "w.yaml"\n[platforms.bluesky]\nbase_url = "{server.url_for("bluesky")}"\n'
        )
        # A real process, as an operator runs it: what reaches the terminal is all it prints.
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "collector",
                "collect",
                "--once",
                "--config",
                str(tmp_path / "c.toml"),
                "--db",
                f"sqlite:///{tmp_path / 'c.db'}",
                "--log-level",
                "error",
                "--log-format",
                "console",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "pwned" in output
    assert "\x1b" not in output
    assert "\x07" not in output


def test_a_nul_in_a_platform_caption_does_not_poison_its_batch(engine: Engine) -> None:
    # JSON allows \u0000; PostgreSQL refuses it in text, which would fail the batch forever.
    world = World(clock=FakeClock(NOW), auto_create=True, posts_per_account=2)
    for i in range(3):
        world.add("bluesky", handle_for("bluesky", i), display_name=f"Name\x00{i}")
    account = world.get("bluesky", handle_for("bluesky", 1))
    assert account is not None
    account.posts[0].caption = "nul\x00inside <b>'x'</b>"
    Store(engine).sync_watchlist(
        [("bluesky", handle_for("bluesky", i), f"c{i}", []) for i in range(3)],
        platforms=["bluesky"],
        now=NOW,
    )
    with FaultServer(world) as server:
        connector = _connector("bluesky", server.url_for("bluesky"), httpx.AsyncHTTPTransport())
        dispatcher = dispatcher_for(connector, engine, clock=FakeClock(NOW))

        async def one() -> str:
            result = await dispatcher.run_pass()
            await connector.aclose()
            dispatcher.db.close()
            return result.status

        status = asyncio.run(one())
    captions = [c for (c,) in rows(engine, "SELECT caption FROM post WHERE caption LIKE 'nul%'")]
    assert status == "ok"
    assert captions == ["nul\ufffdinside <b>'x'</b>"]

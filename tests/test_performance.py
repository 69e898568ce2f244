"""The performance work keeps behaviour: the default transport, the lean client, bulk upserts."""

from __future__ import annotations

import asyncio
import gzip
import importlib
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from aiohttp import web
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from collector.storage import repo
from collector.storage.db import _alembic_config, ensure_schema, make_engine
from collector.storage.state import ACCOUNT, POST, Store
from connectors import http
from connectors.base import Connector, PlatformConfig
from connectors.budget import HeaderWindow
from connectors.errors import TransientError
from connectors.http import AiohttpTransport, RetryPolicy, make_client
from connectors.records import AccountRef, PostPage, PostRecord, ProfileBatch

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: What ``AsyncClient.request`` hands ``build_request`` besides the URL, parameters and headers.
AS_REQUEST_PASSES: dict[str, Any] = {
    "content": None,
    "data": None,
    "files": None,
    "json": None,
    "cookies": None,
    "timeout": httpx.USE_CLIENT_DEFAULT,
    "extensions": None,
}


@asynccontextmanager
async def serve(routes: dict[str, Handler]) -> AsyncIterator[str]:
    """A loopback aiohttp server with ``routes`` for the duration of the block; its root URL."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_get(path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def ok(request: web.Request) -> web.Response:
    return web.json_response({"path": request.path, "query": dict(request.query)})


class _Http(Connector):
    name = "perf-test"

    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        raise NotImplementedError

    async def fetch_posts(self, account: AccountRef, *, since: datetime | None) -> PostPage:
        raise NotImplementedError


async def _no_sleep(_seconds: float) -> None:
    return None


def _connector(
    base_url: str, transport: httpx.AsyncBaseTransport | None = None, timeout: float = 20.0
) -> _Http:
    return _Http(
        PlatformConfig(base_url=base_url, timeout_seconds=timeout),
        transport=transport,
        retry=RetryPolicy(max_attempts=1, sleep=_no_sleep),
    )


# -- the default transport -------------------------------------------------------------------


def test_the_default_client_sends_through_the_aiohttp_transport() -> None:
    async def scenario() -> tuple[Any, bool]:
        async with serve({"/api/item": ok}) as url:
            client = make_client(url + "/api")
            transport = client._transport_for_url(httpx.URL(url))
            response = await client.get("item", params={"a": "1"})
            opened = isinstance(transport, AiohttpTransport) and transport._session is not None
            await client.aclose()
            return response.json(), opened

    body, opened = asyncio.run(scenario())
    assert body == {"path": "/api/item", "query": {"a": "1"}}
    assert opened


def test_a_connector_on_the_default_transport_decodes_the_answer() -> None:
    async def scenario() -> Any:
        async with serve({"/v1/users": ok}) as url:
            connector = _connector(url + "/v1")
            try:
                return await connector.get_json("users", params={"ids": "a,b"}, endpoint="u")
            finally:
                await connector.aclose()

    assert asyncio.run(scenario()) == {"path": "/v1/users", "query": {"ids": "a,b"}}


def test_an_injected_mock_transport_still_answers_instead_of_the_network() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"mocked": str(request.url)})

    connector = _connector("https://api.test/v2", httpx.MockTransport(answer))
    body = asyncio.run(connector.get_json("users", params={"q": "x"}))
    assert body == {"mocked": "https://api.test/v2/users?q=x"}


def test_a_respx_router_injected_as_transport_still_answers() -> None:
    router = respx.Router(assert_all_called=True)
    router.get("https://api.test/v2/users").respond(200, json={"from": "respx"})
    connector = _connector("https://api.test/v2", httpx.MockTransport(router.async_handler))
    assert asyncio.run(connector.get_json("users")) == {"from": "respx"}


def test_respx_global_mock_of_httpx_reaches_a_default_connector() -> None:
    connector = _connector("https://api.test/v2")
    with respx.mock(using="httpx", assert_all_called=True) as mock:
        mock.get("https://api.test/v2/users").respond(200, json={"patched": True})
        assert asyncio.run(connector.get_json("users")) == {"patched": True}


def test_the_default_client_follows_a_redirect() -> None:
    async def moved(_request: web.Request) -> web.Response:
        raise web.HTTPFound("/new")

    async def scenario() -> tuple[int, str]:
        async with serve({"/old": moved, "/new": ok}) as url:
            client = make_client(url)
            response = await client.get("old")
            await client.aclose()
            return response.status_code, str(response.url)

    status, final = asyncio.run(scenario())
    assert status == 200
    assert final.endswith("/new")


def test_a_read_timeout_on_the_default_transport_is_a_transient_error() -> None:
    async def hang(_request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.json_response({})

    async def scenario() -> None:
        async with serve({"/slow": hang}) as url:
            connector = _connector(url, timeout=0.2)
            try:
                await connector.get_json("slow")
            finally:
                await connector.aclose()

    with pytest.raises(TransientError, match="timed out"):
        asyncio.run(scenario())


def test_a_refused_connection_on_the_default_transport_is_a_transient_error() -> None:
    async def scenario() -> str:
        async with serve({}) as url:
            pass  # the port is free again: nothing listens there any more
        connector = _connector(url)
        try:
            await connector.get_json("anything")
        except TransientError as exc:
            return exc.message
        finally:
            await connector.aclose()
        return "no error"

    assert "connection failed" in asyncio.run(scenario())


def test_an_error_status_keeps_its_body_and_headers_on_the_default_transport() -> None:
    async def limited(_request: web.Request) -> web.Response:
        return web.json_response({"error": "slow down"}, status=429, headers={"Retry-After": "7"})

    async def scenario() -> httpx.Response:
        async with serve({"/x": limited}) as url:
            client = make_client(url)
            response = await client.get("x")
            await client.aclose()
            return response

    response = asyncio.run(scenario())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.json() == {"error": "slow down"}
    assert response.request.url.path == "/x"


#: (base URL, client parameters, path, parameters) every lean-path URL test starts from.
URL_CASES: list[tuple[str, dict[str, str], str, Any]] = [
    ("https://h.test/xrpc", {}, "app.bsky.feed.getAuthorFeed", {"actor": "did:plc:a", "n": 5}),
    ("https://h.test/v3/", {"key": "k v"}, "/channels", {"id": "UCa,UCb", "part": "x"}),
    ("https://h.test", {}, "api/v1/lookup", {"acct": "user@inst.social", "q": "ü &=?#"}),
    ("https://h.test/p", {"a": "1"}, "get", [("actors", "a"), ("actors", "b")]),
]


@pytest.mark.parametrize(
    ("base", "client_params", "path", "params"),
    [
        *URL_CASES,
        ("https://h.test/p", {}, "with space", {"b": None, "c": True}),
        ("https://h.test/p", {}, "../up", None),
        ("https://h.test/p", {}, "a/b:c", None),
        ("https://h.test/p", {}, "https://other.test/api/x", {"max_id": "5"}),
        ("https://h.test/p", {}, "//other.test/x", None),
        ("https://h.test/p", {}, "a:b/c", None),
    ],
)
@pytest.mark.parametrize("options", [{}, AS_REQUEST_PASSES], ids=["bare", "as-request-passes"])
def test_the_lean_client_builds_the_request_httpx_would(
    base: str, client_params: dict[str, str], path: str, params: Any, options: dict[str, Any]
) -> None:
    ours = make_client(base, params=client_params, headers={"X-A": "1"})
    reference = httpx.AsyncClient(
        base_url=base, params=client_params, headers=ours.headers, timeout=ours.timeout
    )
    built = ours.build_request("GET", path, params=params, headers={"X-B": "2"}, **options)
    expected = reference.build_request("GET", path, params=params, headers={"X-B": "2"})
    assert str(built.url) == str(expected.url)
    assert built.headers.multi_items() == expected.headers.multi_items()
    assert built.extensions == expected.extensions


def test_a_plain_request_through_the_client_is_built_by_the_lean_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built_by_httpx: list[str] = []
    httpx_build = httpx.AsyncClient.build_request

    def spy(client: httpx.AsyncClient, method: str, url: Any, **options: Any) -> httpx.Request:
        built_by_httpx.append(str(url))
        return httpx_build(client, method, url, **options)

    monkeypatch.setattr(httpx.AsyncClient, "build_request", spy)

    async def scenario() -> httpx.Response:
        async with serve({"/p/x": ok}) as root:
            client = make_client(root + "/p")
            response = await client.get("x", params={"a": "1"})
            await client.aclose()
            return response

    response = asyncio.run(scenario())
    assert (response.json(), built_by_httpx) == ({"path": "/p/x", "query": {"a": "1"}}, [])
    # Left as httpx leaves a response it has read.
    assert (response.is_stream_consumed, response.is_closed) == (True, True)


@pytest.mark.parametrize(
    ("base", "client_params", "path", "params"),
    [
        *URL_CASES,
        ("https://h.test/p", {"a": "1"}, "get", {"a": "2"}),
        ("https://h.test/p", {}, "x", {"b": None, "c": True, "d": 1.5}),
        ("https://h.test/p", {}, "a/b:c", None),
        ("https://h.test/p", {}, "a.b/c.d..e", None),
        ("https://h.test/p", {}, "x", [("q", "é +/&=?#%"), ("q", ""), ("", "v")]),
        ("https://h.test/p", {}, "x", (("a", "1"), ("b", "2"))),
        ("https://h.test/p", {}, "x", {"actors": ["a", "b"], "n": 3}),
        ("https://h.test/p", {}, "x", [("a", 1), ("b", None)]),
        ("https://h.test/p", {}, "x", "a=1&b=%20"),
        ("https://h.test/p", {}, "x", {}),
        ("https://h.test/p", {}, "x", [("a", "1"), ("b", "2"), ("a", "3")]),
        ("https://h.test/p", {"key": "k", "a": "0"}, "x", {"a": 1, "maxResults": 50}),
        ("https://h.test/p", {"key": "k"}, "x", [("b", "1"), ("key", "mine"), ("b", "2")]),
        ("https://h.test/p", {}, "x", {"n": -3, "big": 10**20, "flag": False}),
    ],
)
def test_the_lean_path_sends_the_url_httpx_would(
    base: str, client_params: dict[str, str], path: str, params: Any
) -> None:
    ours = make_client(base, params=client_params)
    reference = httpx.AsyncClient(base_url=base, params=client_params)
    expected = reference.build_request("GET", path, params=params)
    assert ours._plain_target(path, params) == str(expected.url)  # type: ignore[attr-defined]


def test_integers_and_the_clients_own_parameters_are_written_without_query_params() -> None:
    # Every Bluesky feed call sends an integer limit, every YouTube call the client's key.
    query = http._plain_query(httpx.QueryParams({"key": "k"}), {"maxResults": 50, "key": "x"})
    assert query == [("key", "x"), ("maxResults", "50")]


@pytest.mark.parametrize(
    "headers",
    [
        httpx.Headers(
            [("RateLimit-Remaining", "7"), ("X-RateLimit-Reset", "2026-03-01T12:05:00Z")]
        ),
        {"ratelimit-REMAINING": "7", "x-ratelimit-reset": "2026-03-01T12:05Z"},
    ],
    ids=["httpx-headers", "mapping"],
)
def test_a_header_window_reads_its_headers_whatever_their_case(headers: Any) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    budget = HeaderWindow(remaining_header="RateLimit-Remaining", clock=lambda: now)
    budget.observe("feed", headers)
    window = budget.windows["feed"]
    assert (window.remaining, window.reset_at) == (7, datetime(2026, 3, 1, 12, 5, tzinfo=UTC))


def test_a_repeated_reset_header_is_read_as_httpx_reads_it() -> None:
    # httpx joins a repeated header's values, which no reset parses: the default window holds.
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    budget = HeaderWindow(remaining_header="ratelimit-remaining", clock=lambda: now)
    repeated = [("ratelimit-reset", "30"), ("RateLimit-Reset", "40")]
    budget.observe("feed", httpx.Headers([("ratelimit-remaining", "3"), *repeated]))
    assert budget.windows["feed"].reset_at == now + timedelta(minutes=1)


@pytest.mark.parametrize(
    "path",
    ["with space", "../up", "./x", "a/./b", "https://other.test/x", "//other.test/x", "a:b/c"],
)
def test_a_path_httpx_would_rewrite_leaves_the_lean_path(path: str) -> None:
    ours = make_client("https://h.test/p")
    assert ours._plain_target(path, None) is None  # type: ignore[attr-defined]


async def echo_headers(request: web.Request) -> web.Response:
    return web.json_response({k.lower(): v for k, v in request.headers.items()})


def test_the_lean_path_sends_the_headers_httpx_would() -> None:
    async def scenario() -> tuple[dict[str, str], dict[str, str]]:
        async with serve({"/p/h": echo_headers}) as root:
            client = make_client(root + "/p", headers={"X-A": "1"})
            lean = (await client.get("h", headers={"X-B": "2"})).json()
            reference = httpx.AsyncClient(base_url=root + "/p", headers=client.headers)
            plain = (await reference.get("h", headers={"X-B": "2"})).json()
            await client.aclose()
            await reference.aclose()
            return lean, plain

    lean, plain = asyncio.run(scenario())
    assert lean == plain


def test_a_lean_response_builds_its_request_only_when_read(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []

    async def scenario() -> tuple[list[str], str, list[str]]:
        async with serve({"/p/x": ok}) as root:
            client = make_client(root + "/p")
            lean_build = client.build_request

            def spy(method: str, url: Any, **options: Any) -> httpx.Request:
                built.append(str(url))
                return lean_build(method, url, **options)

            monkeypatch.setattr(client, "build_request", spy)
            response = await client.get("x", params={"a": "1"})
            before = list(built)
            url = str(response.request.url)
            await client.aclose()
            return before, url, built

    before, url, after = asyncio.run(scenario())
    assert (before, url.endswith("/p/x?a=1"), after) == ([], True, ["x"])


def test_a_compressed_answer_is_decoded_on_the_lean_path() -> None:
    async def gzipped(_request: web.Request) -> web.Response:
        body = gzip.compress(json.dumps({"packed": True}).encode())
        return web.Response(
            body=body, headers={"Content-Encoding": "gzip"}, content_type="application/json"
        )

    async def scenario() -> Any:
        async with serve({"/z": gzipped}) as root:
            client = make_client(root)
            try:
                return (await client.get("z")).json()
            finally:
                await client.aclose()

    assert asyncio.run(scenario()) == {"packed": True}


def test_a_request_with_its_own_timeout_is_built_by_httpx() -> None:
    client = make_client("https://h.test/p", timeout=httpx.Timeout(5.0))
    built = client.build_request("GET", "x", timeout=None)
    assert built.extensions["timeout"] == httpx.Timeout(None).as_dict()


# -- bulk upserts ------------------------------------------------------------------------------


def _account(engine: Engine) -> int:
    with engine.begin() as conn:
        return repo.ensure_accounts(conn, "demo", ["perf"], now=datetime(2026, 1, 1, tzinfo=UTC))[
            "perf"
        ]


def test_bulk_post_upsert_stores_times_as_utc_seconds(engine: Engine) -> None:
    account_id = _account(engine)
    plus_two = timezone(timedelta(hours=2))
    record = PostRecord(
        platform_post_id="p1",
        published_at=datetime(2026, 3, 1, 14, 30, 15, 999_999, tzinfo=plus_two),
        collected_at=datetime(2026, 3, 2, 8, 0, 0),  # naive: taken as UTC
        likes=3,
    )
    now = datetime(2026, 3, 2, 8, 0, 1, 500, tzinfo=UTC)
    with engine.begin() as conn:
        ids = repo.upsert_post_rows(conn, [repo.post_row(account_id, record, now=now)])
    with engine.connect() as conn:
        row = conn.execute(
            select(POST.c.id, POST.c.published_at, POST.c.last_polled_at, POST.c.first_seen_at)
        ).one()
    assert ids == {(account_id, "p1"): row.id}
    assert row.published_at == datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)
    assert row.last_polled_at == datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)
    assert row.first_seen_at == datetime(2026, 3, 2, 8, 0, 1, tzinfo=UTC)


def test_one_batch_stores_each_time_by_its_instant_not_its_wall_clock(engine: Engine) -> None:
    account_id = _account(engine)
    plus_two = timezone(timedelta(hours=2))
    naive = datetime(2026, 3, 2, 8, 0, 0)  # taken as UTC
    records = [
        PostRecord(platform_post_id="a", published_at=naive, collected_at=naive),
        # The same wall clock two hours east: another instant, in the same batch.
        PostRecord(
            platform_post_id="b",
            published_at=naive.replace(tzinfo=plus_two),
            collected_at=naive.replace(tzinfo=plus_two),
        ),
        # The first instant written in another zone.
        PostRecord(
            platform_post_id="c",
            published_at=datetime(2026, 3, 2, 10, 0, 0, tzinfo=plus_two),
            collected_at=naive,
        ),
    ]
    now = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)
    with engine.begin() as conn:
        repo.upsert_post_rows(conn, [repo.post_row(account_id, r, now=now) for r in records])
    with engine.connect() as conn:
        stored = dict(conn.execute(select(POST.c.platform_post_id, POST.c.published_at)).all())
    assert stored == {
        "a": datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC),
        "b": datetime(2026, 3, 2, 6, 0, 0, tzinfo=UTC),
        "c": datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC),
    }


def test_known_posts_reads_the_stored_schedule_as_utc_times(engine: Engine) -> None:
    account_id = _account(engine)
    published = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
    rows = [
        repo.post_row(
            account_id,
            PostRecord(platform_post_id="due", published_at=published, collected_at=published),
            now=published,
            next_poll_at=datetime(2026, 3, 1, 18, 0, 0, tzinfo=timezone(timedelta(hours=-5))),
        ),
        repo.post_row(
            account_id,
            PostRecord(platform_post_id="done", published_at=published, collected_at=published),
            now=published,
        ),
        repo.post_row(
            account_id,
            PostRecord(
                platform_post_id="old",
                published_at=published - timedelta(days=40),
                collected_at=published,
            ),
            now=published,
        ),
    ]
    with engine.begin() as conn:
        repo.upsert_post_rows(conn, rows)
    known = Store(engine).known_posts(
        [account_id, account_id + 1], published_since=published - timedelta(days=30)
    )
    assert known == {
        account_id: {
            "due": (datetime(2026, 3, 1, 23, 0, 0, tzinfo=UTC), published),
            "done": (None, published),
        },
        account_id + 1: {},
    }
    due_at = known[account_id]["due"][0]
    assert (due_at.tzinfo if due_at else None) is UTC


def test_bulk_post_upsert_keeps_a_schedule_and_fields_the_later_row_leaves_out(
    engine: Engine,
) -> None:
    account_id = _account(engine)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    first = PostRecord("p1", at, at, caption="hello", url="https://x/p1")
    second = PostRecord("p1", at, at + timedelta(hours=6), caption=None, url=None)
    due = at + timedelta(hours=3)
    with engine.begin() as conn:
        repo.upsert_post_rows(conn, [repo.post_row(account_id, first, now=at, next_poll_at=due)])
        repo.upsert_post_rows(conn, [repo.post_row(account_id, second, now=at)])
    with engine.connect() as conn:
        row = conn.execute(
            select(POST.c.caption, POST.c.url, POST.c.next_poll_at, POST.c.last_polled_at)
        ).one()
    assert (row.caption, row.url, row.next_poll_at) == ("hello", "https://x/p1", due)
    assert row.last_polled_at == at + timedelta(hours=6)


def test_bulk_post_upsert_applies_two_rows_of_one_post_in_order(engine: Engine) -> None:
    account_id = _account(engine)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    first = PostRecord("p1", at, at, caption="hello", url="https://x/p1")
    second = PostRecord("p1", at, at + timedelta(hours=6), caption="edited", url=None)
    due = at + timedelta(hours=3)
    rows = [
        repo.post_row(account_id, first, now=at, next_poll_at=due),
        repo.post_row(account_id, second, now=at),
    ]
    with engine.begin() as conn:
        ids = repo.upsert_post_rows(conn, rows)
    with engine.connect() as conn:
        row = conn.execute(
            select(
                POST.c.id, POST.c.caption, POST.c.url, POST.c.next_poll_at, POST.c.last_polled_at
            )
        ).one()
    assert ids == {(account_id, "p1"): row.id}
    assert (row.caption, row.url, row.next_poll_at) == ("edited", "https://x/p1", due)
    assert row.last_polled_at == at + timedelta(hours=6)


def test_posts_are_upserted_under_an_older_sqlites_parameter_limit(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    ensure_schema(engine, allow_upgrade=True)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        driver = conn.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        # 999, as SQLite before 3.32: 500 rows of 9 columns would be refused.
        driver.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        account_id = repo.ensure_accounts(conn, "demo", ["a"], now=now)["a"]
        rows = [
            repo.post_row(account_id, PostRecord(f"p{n}", now, now), now=now) for n in range(300)
        ]
        ids = repo.upsert_post_rows(conn, rows)
    assert len(set(ids.values())) == 300
    engine.dispose()


def test_multi_row_statements_are_built_only_from_one_row_inserts() -> None:
    sql = "INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = excluded.b"
    assert repo._multi_row_sql(sql, 2, "a") == (
        "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) ON CONFLICT (a) DO UPDATE SET b = excluded.b"
        " RETURNING a"
    )
    # A parameter outside the VALUES would be bound to the wrong row's values.
    with pytest.raises(ValueError, match="positional values only"):
        repo._multi_row_sql(sql.replace("excluded.b", "?"), 2, "")


def test_profile_snapshots_past_one_statements_rows_are_all_stored(engine: Engine) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    handles = [f"h{n}" for n in range(700)]
    with engine.begin() as conn:
        ids = repo.ensure_accounts(conn, "demo", handles, now=now)
        rows = [
            {"account_id": ids[h], "collected_at": now, "followers": n, "following": None,
             "posts_count": 1, "followers_rounded": False, "followers_hidden": False}
            for n, h in enumerate(handles)
        ]  # fmt: skip
        repo.upsert_profile_snapshots(conn, rows)
    with engine.connect() as conn:
        for table in ("profile_snapshot", "profile_latest"):
            stored = conn.execute(text(f"SELECT account_id, followers FROM {table}")).all()
            assert dict(stored) == {ids[h]: n for n, h in enumerate(handles)}


def test_bulk_post_upsert_answers_ids_of_several_accounts_without_mixing_them(
    engine: Engine,
) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        ids = repo.ensure_accounts(conn, "demo", ["a", "b"], now=now)
        rows = [repo.post_row(ids[h], PostRecord("same-id", now, now), now=now) for h in ("a", "b")]
        post_ids = repo.upsert_post_rows(conn, rows)
    assert len(set(post_ids.values())) == 2
    with engine.connect() as conn:
        owners = dict(conn.execute(select(POST.c.id, POST.c.account_id)).all())
    assert {owners[post_ids[(ids[h], "same-id")]] for h in ("a", "b")} == {ids["a"], ids["b"]}


def test_bulk_post_upsert_answers_every_id_past_one_lookups_size(engine: Engine) -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    # 700 posts of one account and 5 of each of 60 others: lookups of at most 500 posts each,
    # one account's posts split over two of them.
    counts = {"big": 700, **{f"small{n}": 5 for n in range(60)}}
    with engine.begin() as conn:
        ids = repo.ensure_accounts(conn, "demo", list(counts), now=now)
        rows = [
            repo.post_row(ids[h], PostRecord(f"{h}-{n}", now, now), now=now)
            for h, count in counts.items()
            for n in range(count)
        ]
        post_ids = repo.upsert_post_rows(conn, rows)
    with engine.connect() as conn:
        stored = {
            (account_id, post_id): row_id
            for row_id, account_id, post_id in conn.execute(
                select(POST.c.id, POST.c.account_id, POST.c.platform_post_id)
            )
        }
    assert (len(post_ids), post_ids) == (1000, stored)


def test_account_state_is_unchanged_by_a_snapshot_upsert(engine: Engine) -> None:
    account_id = _account(engine)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    row = {
        "account_id": account_id,
        "collected_at": at,
        "followers": 10,
        "following": None,
        "posts_count": 1,
        "followers_rounded": True,
        "followers_hidden": False,
    }
    with engine.begin() as conn:
        repo.upsert_profile_snapshots(conn, [row])
        repo.upsert_profile_snapshots(conn, [{**row, "followers": 12}])
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT followers, followers_rounded FROM profile_snapshot"))
        assert [tuple(r) for r in stored] == [(12, True)]
        assert conn.execute(select(ACCOUNT.c.status)).scalar_one() == "unwatched"


# -- migration 0006 ------------------------------------------------------------------------------


def _seed_series(engine: Engine) -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with engine.begin() as conn:
        ids = repo.ensure_accounts(conn, "demo", ["a", "b", "empty"], now=now)
        for n in range(3):
            at = now + timedelta(hours=6 * n)
            repo.upsert_profile_snapshots(
                conn,
                [
                    {"account_id": ids[h], "collected_at": at, "followers": 100 * k + n,
                     "following": 5, "posts_count": n, "followers_rounded": False,
                     "followers_hidden": False}
                    for k, h in enumerate(("a", "b"))
                ],
            )  # fmt: skip
            post = PostRecord("p", now + timedelta(hours=1), at, likes=n, comments=1)
            post_ids = repo.upsert_post_rows(conn, [repo.post_row(ids["a"], post, now=now)])
            repo.upsert_post_snapshots(
                conn, [repo.post_snapshot_row(post_ids[(ids["a"], "p")], post)]
            )


def _views(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            name: [tuple(r) for r in conn.execute(text(f"SELECT * FROM {name} ORDER BY 1, 2"))]
            for name in ("account_latest", "post_latest", "account_daily_engagement")
        }


def test_the_latest_state_views_answer_the_same_rows_after_0006(engine: Engine) -> None:
    _seed_series(engine)
    after = _views(engine)
    command.downgrade(_alembic_config(engine), "0005")
    before = _views(engine)
    command.upgrade(_alembic_config(engine), "head")
    assert after == before
    assert _views(engine) == after
    latest = {row[2]: row[12] for row in after["account_latest"]}
    assert latest == {"a": 2, "b": 102, "empty": None}


def test_postgresql_reads_the_latest_state_without_scanning_the_snapshots(
    postgres_databases: Any,
) -> None:
    # PostgreSQL only: its planner hashed the whole snapshot table before 0006 (SQLite sought).
    name = postgres_databases.create()
    engine = make_engine(postgres_databases.url_for(name))
    try:
        _seed_series(engine)
        with engine.connect() as conn:
            plan = "\n".join(
                conn.execute(text("EXPLAIN SELECT * FROM account_latest")).scalars().all()
            )
    finally:
        engine.dispose()
        postgres_databases.drop(name)
    # Since 0007 the view reads profile_latest, one row per account, and no snapshot at all.
    assert ("profile_snapshot" in plan, "profile_latest" in plan) == (False, True)


def test_migration_0006_is_importable_as_the_chain_expects() -> None:
    module = importlib.import_module("collector.storage.migrations.versions.0006_performance")
    assert (module.revision, module.down_revision) == ("0006", "0005")

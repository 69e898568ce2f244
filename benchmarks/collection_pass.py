"""Collection pass: Collector beside the bare-fetch floors (aiohttp, httpx) and a dlt pipeline.

``python -m benchmarks.collection_pass [--accounts 10000] [--latency-ms 0 20] [--repeat 3]``

The fake-platform server runs as a process of its own (its CPU is not counted); each variant
runs in a fresh child process that measures its own wall time, CPU (every thread), peak RSS,
the requests the server counted during the pass, and the rows it stored. Variants:

- ``aiohttp``: the floor. The same requests as Collector's pass, same batching and connection
  limit, each answer decoded and its fields picked into tuples; nothing stored.
- ``aiohttp+sqlite``: the storing floor: the same, each batch's picked rows inserted into
  Collector's schema with plain ``sqlite3`` (:class:`RawSqlite`; Bluesky shape only).
- ``httpx``: the same with a bare ``httpx.AsyncClient`` (its own connection pool).
- ``collector``: Collector's dispatcher and connector as the daemon runs them, into SQLite.
- ``collector-httpcore``: the same with httpx's own transport instead of the default one.
- ``dlt``: a dlt pipeline that fetches the same answers (with aiohttp, at the floor's cost) and
  loads the same profile and post records into a SQLite file (Bluesky shape only).
- ``dlt-rest``: the same pipeline fetching as dlt pipelines usually do, with dlt's own
  ``RESTClient`` (a retrying ``requests`` session) from 16 threads (Bluesky shape only).

Shapes: ``bluesky`` (getProfiles 25 a call + one getAuthorFeed per account) and ``youtube``
(the first pass: forHandle per handle, channels.list 50 ids a call, playlistItems per channel,
videos.list 50 ids a call). ``collector`` also runs a warm pass (``*-warm``): seven hours later,
ids cached, only due posts re-polled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._common import (
    Column,
    FakeServer,
    calls_at,
    cpu_seconds,
    diff_calls,
    emit,
    median_of,
    peak_rss_mb,
    run_child,
    table,
)

CONNECTIONS = 16
BLUESKY_BATCH = 25
YOUTUBE_BATCH = 50
VARIANTS = (
    "aiohttp",
    "aiohttp+sqlite",
    "httpx",
    "collector",
    "collector-httpcore",
    "dlt",
    "dlt-rest",
)
#: Variants with the Bluesky shape only.
BLUESKY_ONLY = ("aiohttp+sqlite", "dlt", "dlt-rest")
#: A whole pass must end within this, whatever goes wrong (bounded loops).
PASS_TIMEOUT_SECONDS = 600


def handles(shape: str, count: int) -> list[str]:
    """The watched handles: the same for every variant, so the server serves the same bodies."""
    if shape == "bluesky":
        return [f"bench-{i:06d}.bsky.social" for i in range(count)]
    return [f"bench{i:06d}" for i in range(count)]


def api_minimum(shape: str, accounts: int, posts: int, *, warm: bool = False) -> int:
    """Requests one pass needs at the least, from the platform's batch sizes."""
    if shape == "bluesky":
        return -(-accounts // BLUESKY_BATCH) + accounts
    batches = -(-accounts // YOUTUBE_BATCH)
    if warm:
        # Ids cached: channels + uploads + the young videos (one per channel here) in 50s.
        return batches + accounts + batches
    per_batch_videos = -(-min(YOUTUBE_BATCH, accounts) * posts // YOUTUBE_BATCH)
    return accounts + batches + accounts + batches * per_batch_videos


# -- the floors: the same requests, decoded, nothing else ------------------------------------------


Fetch = Callable[[str, Sequence[tuple[str, str]]], Awaitable[Any]]


#: Where a storing floor puts a batch's picked rows: (profiles, posts by handle).
Sink = Callable[[list[tuple[Any, ...]], list[tuple[str, list[tuple[Any, ...]]]]], None]


def feed_rows(body: Any, handle: str) -> list[tuple[Any, ...]]:
    """What the floors keep of one getAuthorFeed answer: the creator's own posts' six values."""
    rows = []
    for item in body["feed"]:
        post = item["post"]
        if "reason" in item or post["author"]["handle"] != handle:
            continue
        rows.append(
            (
                post["uri"],
                post["record"]["createdAt"],
                post.get("likeCount"),
                post.get("replyCount"),
                post.get("repostCount"),
                post.get("quoteCount"),
            )
        )
    return rows


async def floor_bluesky(
    fetch: Fetch, names: Sequence[str], sink: Sink | None = None
) -> tuple[int, int]:
    """getProfiles per 25 handles and getAuthorFeed per handle; rows picked, stored by ``sink``."""
    profiles = posts = 0
    limit = asyncio.Semaphore(CONNECTIONS)

    async def feed(handle: str) -> tuple[str, list[tuple[Any, ...]]]:
        async with limit:
            body = await fetch(
                "app.bsky.feed.getAuthorFeed",
                [("actor", handle), ("limit", "50"), ("filter", "posts_with_replies")],
            )
        return handle, feed_rows(body, handle)

    for start in range(0, len(names), BLUESKY_BATCH):
        batch = names[start : start + BLUESKY_BATCH]
        body = await fetch("app.bsky.actor.getProfiles", [("actors", h) for h in batch])
        picked = [
            (
                p["handle"],
                p["did"],
                p.get("followersCount"),
                p.get("followsCount"),
                p.get("postsCount"),
            )
            for p in body["profiles"]
        ]
        profiles += len(picked)
        pages = await asyncio.gather(*(feed(h) for h in batch))
        posts += sum(len(rows) for _, rows in pages)
        if sink is not None:
            sink(picked, pages)
    return profiles, posts


class RawSqlite:
    """The storing floor's database: Collector's schema, written with plain sqlite3 INSERTs.

    The least a pass that keeps its rows must do: per batch, one transaction of
    ``executemany`` inserts (profile snapshots, posts with ids assigned here, post snapshots)
    into the same tables and indexes, with Collector's pragmas; values stored as they came.
    No upsert, no lookup, no account state.
    """

    def __init__(self, path: Path, names: Sequence[str]) -> None:
        import sqlite3

        from collector.storage.db import ensure_schema, make_engine
        from collector.storage.state import Store

        engine = make_engine(f"sqlite:///{path}")
        ensure_schema(engine, allow_upgrade=True)
        Store(engine).sync_watchlist(
            [("bluesky", h, f"creator {h}", ["bench"]) for h in names],
            platforms=["bluesky"],
            now=datetime.now(UTC),
        )
        engine.dispose()
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            self.db.execute(f"PRAGMA {pragma}")
        self.ids = dict(self.db.execute("SELECT handle, id FROM account").fetchall())
        self.next_post = 1

    def __call__(
        self,
        profiles: list[tuple[Any, ...]],
        pages: list[tuple[str, list[tuple[Any, ...]]]],
    ) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        posts, snapshots = [], []
        for handle, rows in pages:
            account = self.ids[handle]
            for uri, created, likes, replies, reposts, quotes in rows:
                posts.append((self.next_post, account, uri, created, now, now))
                snapshots.append((self.next_post, now, likes, replies, reposts, quotes))
                self.next_post += 1
        self.db.execute("BEGIN")
        self.db.executemany(
            "INSERT INTO profile_snapshot (account_id, collected_at, followers, following,"
            " posts_count, followers_rounded, followers_hidden) VALUES (?, ?, ?, ?, ?, 0, 0)",
            [(self.ids[h], now, f, g, n) for h, _did, f, g, n in profiles],
        )
        self.db.executemany(
            "INSERT INTO post (id, account_id, platform_post_id, published_at, first_seen_at,"
            " last_polled_at) VALUES (?, ?, ?, ?, ?, ?)",
            posts,
        )
        self.db.executemany(
            "INSERT INTO post_snapshot (post_id, collected_at, likes, comments, shares, quotes)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            snapshots,
        )
        self.db.execute("COMMIT")


async def floor_youtube(fetch: Fetch, names: Sequence[str]) -> tuple[int, int]:
    """The first YouTube pass: forHandle, channels.list, playlistItems, videos.list."""
    profiles = posts = 0
    limit = asyncio.Semaphore(CONNECTIONS)

    async def resolve(handle: str) -> str:
        async with limit:
            body = await fetch("channels", [("part", "id"), ("forHandle", "@" + handle)])
        return str(body["items"][0]["id"])

    async def uploads(channel_id: str) -> list[str]:
        async with limit:
            body = await fetch(
                "playlistItems",
                [
                    ("part", "contentDetails"),
                    ("playlistId", "UU" + channel_id[2:]),
                    ("maxResults", "50"),
                ],
            )
        return [item["contentDetails"]["videoId"] for item in body.get("items", [])]

    for start in range(0, len(names), YOUTUBE_BATCH):
        batch = names[start : start + YOUTUBE_BATCH]
        ids = await asyncio.gather(*(resolve(h) for h in batch))
        body = await fetch(
            "channels", [("part", "snippet,statistics,contentDetails"), ("id", ",".join(ids))]
        )
        picked = [
            (c["id"], c["statistics"].get("subscriberCount"), c["statistics"].get("videoCount"))
            for c in body.get("items", [])
        ]
        profiles += len(picked)
        videos = [v for vs in await asyncio.gather(*(uploads(c) for c in ids)) for v in vs]
        for vstart in range(0, len(videos), YOUTUBE_BATCH):
            chunk = ",".join(videos[vstart : vstart + YOUTUBE_BATCH])
            body = await fetch("videos", [("part", "snippet,statistics"), ("id", chunk)])
            rows = [
                (
                    v["id"],
                    v["snippet"]["publishedAt"],
                    v["statistics"].get("viewCount"),
                    v["statistics"].get("likeCount"),
                    v["statistics"].get("commentCount"),
                )
                for v in body.get("items", [])
            ]
            posts += len(rows)
    return profiles, posts


async def run_floor(
    client: str, shape: str, base: str, names: Sequence[str], sink: Sink | None = None
) -> tuple[int, int]:
    """One floor pass with ``aiohttp`` or a bare ``httpx.AsyncClient``."""
    headers = {"Accept": "application/json", "X-Goog-Api-Key": "bench"}

    async def walk(fetch: Fetch, names: Sequence[str]) -> tuple[int, int]:
        if shape == "bluesky":
            return await floor_bluesky(fetch, names, sink)
        return await floor_youtube(fetch, names)

    if client == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=CONNECTIONS)
        async with aiohttp.ClientSession(base + "/", connector=connector, headers=headers) as s:

            async def fetch_aiohttp(path: str, params: Sequence[tuple[str, str]]) -> Any:
                async with s.get(path, params=params) as response:
                    response.raise_for_status()
                    return json.loads(await response.read())

            return await walk(fetch_aiohttp, names)
    import httpx

    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with httpx.AsyncClient(base_url=base + "/", limits=limits, headers=headers) as c:

        async def fetch_httpx(path: str, params: Sequence[tuple[str, str]]) -> Any:
            response = await c.get(path, params=list(params))
            response.raise_for_status()
            return json.loads(response.content)

        return await walk(fetch_httpx, names)


# -- Collector -------------------------------------------------------------------------------------


class ShiftedClock:
    """Real time moved forward by ``offset``, for the warm pass hours after the first."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        now = datetime.now(UTC)
        # The first pass runs on the real clock, as the daemon's does: no addition per call.
        return now + self.offset if self.offset else now


def make_connector(shape: str, base: str, clock: ShiftedClock, transport: str) -> Any:
    """The platform's connector, configured as ops would for a large watchlist."""
    import httpx
    from pydantic import SecretStr

    from connectors.bluesky import BlueskyConfig, BlueskyConnector
    from connectors.youtube import YouTubeConfig, YouTubeConnector

    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    chosen = httpx.AsyncHTTPTransport(limits=limits) if transport == "httpcore" else None
    if shape == "bluesky":
        config = BlueskyConfig(base_url=base, max_connections=CONNECTIONS)
        return BlueskyConnector(config, clock=clock, transport=chosen)
    yt = YouTubeConfig(
        api_key=SecretStr("bench"),
        base_url=base,
        max_connections=CONNECTIONS,
        daily_quota_units=10**9,
        quota_reserve_units=0,
    )
    return YouTubeConnector(yt, clock=clock, transport=chosen)


async def collector_passes(
    shape: str, root: str, names: Sequence[str], db_url: str, transport: str
) -> list[dict[str, Any]]:
    """The first pass over every account, then a warm one seven hours later."""
    from sqlalchemy import update

    from collector.pipeline import DbRunner, Dispatcher
    from collector.storage.db import ensure_schema, make_engine
    from collector.storage.state import ACCOUNT, Store

    clock = ShiftedClock()
    engine = make_engine(db_url)
    ensure_schema(engine, allow_upgrade=True)
    store = Store(engine)
    store.sync_watchlist(
        [(shape, h, f"creator {h}", ["bench"]) for h in names], platforms=[shape], now=clock()
    )
    connector = make_connector(shape, f"{root}/{shape}", clock, transport)
    db = DbRunner()
    dispatcher = Dispatcher(connector, store, db, clock=clock)
    results = []
    for label in ("first", "warm"):
        if label == "warm":
            clock.offset = timedelta(hours=7)
            with engine.begin() as conn:  # every account due again, as after one interval
                conn.execute(update(ACCOUNT).values(next_due_at=clock()))
        before_calls = calls_at(root)
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        profile_rows = post_rows = passes = 0
        deadline = time.monotonic() + PASS_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            result = await dispatcher.run_pass()
            if result.status == "idle":
                break
            if result.status not in ("ok",):
                raise RuntimeError(f"pass {result.status}: {result.error}")
            passes += 1
            profile_rows += result.totals.profile_rows
            post_rows += result.totals.post_rows
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
        calls = diff_calls(before_calls, calls_at(root), shape)
        results.append(
            {
                "phase": label,
                "wall_s": wall,
                "cpu_s": cpu,
                "peak_rss_mb": peak_rss_mb(),
                "requests": sum(calls.values()),
                "calls": calls,
                "profile_rows": profile_rows,
                "post_rows": post_rows,
                "passes": passes,
            }
        )
    await connector.aclose()
    db.close()
    engine.dispose()
    return results


# -- dlt -------------------------------------------------------------------------------------------


def dlt_posts(body: Any, handle: str) -> list[dict[str, Any]]:
    """The post records a dlt pipeline loads from one getAuthorFeed answer."""
    now = datetime.now(UTC)
    return [
        {
            "uri": i["post"]["uri"],
            "handle": handle,
            "published_at": i["post"]["record"]["createdAt"],
            "collected_at": now,
            "likes": i["post"].get("likeCount"),
            "comments": i["post"].get("replyCount"),
            "shares": i["post"].get("repostCount"),
            "quotes": i["post"].get("quoteCount"),
            "saves": i["post"].get("bookmarkCount"),
        }
        for i in body["feed"]
        if "reason" not in i and i["post"]["author"]["handle"] == handle
    ]


def dlt_profiles(body: Any) -> list[dict[str, Any]]:
    """The profile records a dlt pipeline loads from one getProfiles answer."""
    now = datetime.now(UTC)
    return [
        {
            "did": p["did"],
            "handle": p["handle"],
            "collected_at": now,
            "followers": p.get("followersCount"),
            "following": p.get("followsCount"),
            "posts_count": p.get("postsCount"),
        }
        for p in body["profiles"]
    ]


def dlt_load(name: str, resource: Any, workdir: Path) -> tuple[int, int]:
    """Run ``resource`` through a dlt pipeline into a SQLite file; its profile and post rows."""
    import dlt

    pipeline = dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(workdir / "dlt"),
        destination=dlt.destinations.sqlalchemy(credentials=f"sqlite:///{workdir / 'dlt.db'}"),
        dataset_name="bench",
    )
    pipeline.run(resource)
    trace = pipeline.last_trace
    info = trace.last_normalize_info if trace is not None else None
    counts: dict[str, int] = dict(info.row_counts) if info is not None else {}
    return counts.get("profile_snapshot", 0), counts.get("post_snapshot", 0)


def dlt_pass(root: str, names: Sequence[str], workdir: Path) -> tuple[int, int]:
    """Fetch the Bluesky answers (aiohttp, as the floor) and load their records with dlt."""
    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
    import aiohttp
    import dlt

    base = f"{root}/bluesky/"

    @dlt.resource(name="bluesky", write_disposition="append")
    async def records() -> Any:
        limit = asyncio.Semaphore(CONNECTIONS)
        connector = aiohttp.TCPConnector(limit=CONNECTIONS)
        async with aiohttp.ClientSession(base, connector=connector) as session:

            async def get(path: str, params: Sequence[tuple[str, str]]) -> Any:
                async with limit, session.get(path, params=params) as response:
                    response.raise_for_status()
                    return json.loads(await response.read())

            async def feed(handle: str) -> list[dict[str, Any]]:
                body = await get(
                    "app.bsky.feed.getAuthorFeed",
                    [("actor", handle), ("limit", "50"), ("filter", "posts_with_replies")],
                )
                return dlt_posts(body, handle)

            for start in range(0, len(names), BLUESKY_BATCH):
                batch = names[start : start + BLUESKY_BATCH]
                body = await get("app.bsky.actor.getProfiles", [("actors", h) for h in batch])
                yield dlt.mark.with_table_name(dlt_profiles(body), "profile_snapshot")
                pages = await asyncio.gather(*(feed(h) for h in batch))
                yield dlt.mark.with_table_name([r for page in pages for r in page], "post_snapshot")

    return dlt_load("bench_bluesky", records(), workdir)


def dlt_rest_pass(root: str, names: Sequence[str], workdir: Path) -> tuple[int, int]:
    """The same load, fetched as a dlt pipeline usually fetches: dlt's own ``RESTClient``.

    Its retrying ``requests`` session, shared by ``CONNECTIONS`` threads over as many pooled
    connections (the other variants' limit).
    """
    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
    from concurrent.futures import ThreadPoolExecutor

    import dlt
    from dlt.sources.helpers.rest_client.client import RESTClient

    client = RESTClient(base_url=f"{root}/bluesky/")
    for prefix in ("http://", "https://"):
        client.session.get_adapter(prefix).init_poolmanager(CONNECTIONS, CONNECTIONS)  # type: ignore[attr-defined]

    def feed(handle: str) -> list[dict[str, Any]]:
        body = client.get(
            "app.bsky.feed.getAuthorFeed",
            params={"actor": handle, "limit": "50", "filter": "posts_with_replies"},
        ).json()
        return dlt_posts(body, handle)

    @dlt.resource(name="bluesky", write_disposition="append")
    def records() -> Any:
        with ThreadPoolExecutor(CONNECTIONS) as pool:
            for start in range(0, len(names), BLUESKY_BATCH):
                batch = list(names[start : start + BLUESKY_BATCH])
                body = client.get("app.bsky.actor.getProfiles", params={"actors": batch}).json()
                yield dlt.mark.with_table_name(dlt_profiles(body), "profile_snapshot")
                pages = list(pool.map(feed, batch))
                yield dlt.mark.with_table_name([r for page in pages for r in page], "post_snapshot")

    return dlt_load("bench_bluesky_rest", records(), workdir)


# -- child process ---------------------------------------------------------------------------------


def worker(args: argparse.Namespace) -> None:
    """Run one variant in this (fresh) process and print its figures as one JSON line."""
    names = handles(args.shape, args.accounts)
    root = args.server
    with tempfile.TemporaryDirectory(prefix="collector-bench-") as tmp:
        workdir = Path(tmp)
        if args.variant.startswith("collector"):
            transport = "httpcore" if args.variant == "collector-httpcore" else "default"
            phases = asyncio.run(
                collector_passes(
                    args.shape, root, names, f"sqlite:///{workdir / 'c.db'}", transport
                )
            )
            emit({"variant": args.variant, "phases": phases})
            return
        # The storing floor's schema and accounts are made before the pass, as Collector's are.
        sink = RawSqlite(workdir / "raw.db", names) if args.variant == "aiohttp+sqlite" else None
        before = calls_at(root)
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        if args.variant == "dlt":
            profile_rows, post_rows = dlt_pass(root, names, workdir)
        elif args.variant == "dlt-rest":
            profile_rows, post_rows = dlt_rest_pass(root, names, workdir)
        else:
            client = "aiohttp" if sink is not None else args.variant
            profile_rows, post_rows = asyncio.run(
                run_floor(client, args.shape, f"{root}/{args.shape}", names, sink)
            )
        wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
        calls = diff_calls(before, calls_at(root), args.shape)
        phase = {
            "phase": "first",
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_rss_mb": peak_rss_mb(),
            "requests": sum(calls.values()),
            "calls": calls,
            "profile_rows": profile_rows,
            "post_rows": post_rows,
        }
        emit({"variant": args.variant, "phases": [phase]})


# -- parent ----------------------------------------------------------------------------------------


def measure(
    shapes: Sequence[str],
    accounts: int,
    latencies: Sequence[float],
    repeat: int,
    variants: Sequence[str],
) -> list[dict[str, Any]]:
    """Every variant, ``repeat`` times each, on every shape and latency; medians per row."""
    rows: list[dict[str, Any]] = []
    for latency in latencies:
        with FakeServer(latency_ms=latency) as server:
            for shape in shapes:
                # One unmeasured pass makes the server create its accounts before any variant.
                run_child(
                    "benchmarks.collection_pass",
                    [
                        "worker",
                        "--variant",
                        "aiohttp",
                        "--shape",
                        shape,
                        "--accounts",
                        str(accounts),
                        "--server",
                        server.url,
                    ],
                )
                runs: dict[str, list[dict[str, Any]]] = {}
                for _ in range(repeat):
                    for variant in variants:
                        if variant in BLUESKY_ONLY and shape != "bluesky":
                            continue
                        out = run_child(
                            "benchmarks.collection_pass",
                            [
                                "worker",
                                "--variant",
                                variant,
                                "--shape",
                                shape,
                                "--accounts",
                                str(accounts),
                                "--server",
                                server.url,
                            ],
                        )
                        for phase in out["phases"]:
                            name = variant + ("" if phase["phase"] == "first" else "-warm")
                            runs.setdefault(name, []).append(phase)
                floor_cpu = median_of(runs["aiohttp"])["cpu_s"]
                for name, measured in runs.items():
                    row = median_of(measured)
                    warm = name.endswith("-warm")
                    minimum = api_minimum(shape, accounts, 12, warm=warm)
                    row.update(
                        variant=name,
                        shape=shape,
                        latency_ms=latency,
                        accounts=accounts,
                        api_minimum=minimum,
                        cpu_vs_floor=row["cpu_s"] / floor_cpu if not warm else None,
                        cpu_per_request_us=row["cpu_s"] / max(row["requests"], 1) * 1e6,
                    )
                    rows.append(row)
    return rows


COLUMNS = (
    Column("shape", "shape"),
    Column("latency ms", "latency_ms", "{:.0f}"),
    Column("variant", "variant"),
    Column("wall s", "wall_s"),
    Column("CPU s", "cpu_s"),
    Column("CPU × aiohttp floor", "cpu_vs_floor"),
    Column("CPU µs/request", "cpu_per_request_us", "{:.0f}"),
    Column("peak RSS MB", "peak_rss_mb", "{:.0f}"),
    Column("requests", "requests", "{:.0f}"),
    Column("API minimum", "api_minimum", "{:.0f}"),
    Column("profile rows", "profile_rows", "{:.0f}"),
    Column("post rows", "post_rows", "{:.0f}"),
)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line; ``worker`` is the child side."""
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("worker")
    child.add_argument("--variant", choices=VARIANTS, required=True)
    child.add_argument("--shape", choices=("bluesky", "youtube"), required=True)
    child.add_argument("--accounts", type=int, required=True)
    child.add_argument("--server", required=True)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--latency-ms", type=float, nargs="+", default=[0.0, 20.0])
    parser.add_argument("--shape", nargs="+", default=["bluesky", "youtube"])
    parser.add_argument("--variant", nargs="+", default=list(VARIANTS))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args(argv)
    if args.command == "worker":
        worker(args)
        return
    variants = list(dict.fromkeys(["aiohttp", *args.variant]))
    rows = measure(args.shape, args.accounts, args.latency_ms, args.repeat, variants)
    print(table(rows, COLUMNS))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, default=str))


if __name__ == "__main__":
    main()

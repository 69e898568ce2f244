"""Where a Bluesky feed request's CPU goes, layer by layer, beside the bare aiohttp floor.

``python -m benchmarks.feed_layers [--requests 10000] [--repeat 5] [--instructions]``

Each layer sends the same ``app.bsky.feed.getAuthorFeed`` requests (12 posts an answer, the
collection pass's shape) to the fake-platform server from 16 concurrent workers, in a fresh
child process, and adds one piece of Collector's path to the layer before it:

- ``aiohttp``: a bare ``aiohttp.ClientSession``, the answer decoded with orjson (the floor);
- ``aiohttp+rows``: the same, and the six values per post the storing floor of
  ``collection_pass`` picks into tuples (``collection_pass.feed_rows``);
- ``transport``: Collector's wire (:class:`connectors.http.AiohttpTransport`), URL written by
  the caller;
- ``client``: the httpx client Collector builds over it (``make_client``: query written, client
  headers merged, an ``httpx.Response`` per answer);
- ``get_json``: the connector's call (budget, statistics, retry policy, status classification,
  decoding);
- ``fetch_posts``: the connector's feed read (each post validated into a ``PostRecord``).

The collection pass adds to ``fetch_posts`` the dispatcher and the database thread. CPU per
request is medians of ``--repeat`` runs (every thread of the process counted).
``--instructions`` also counts user-space instructions per request under valgrind's callgrind
(each layer with ``--requests`` and with no request, the difference divided): repeatable
figures on a shared machine, where CPU times move by 10-15 % from one run to the next, though
they leave out the kernel's share of each request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks._common import (
    ROOT,
    Column,
    FakeServer,
    calls_at,
    cpu_seconds,
    diff_calls,
    emit,
    median_of,
    run_child,
    table,
)
from benchmarks.collection_pass import feed_rows

LAYERS = ("aiohttp", "aiohttp+rows", "transport", "client", "get_json", "fetch_posts")
FEED = "app.bsky.feed.getAuthorFeed"
CONNECTIONS = 16
#: Distinct actors asked for, as in the other benchmarks: the server keeps one account each.
ACTORS = 500


def actor(n: int) -> str:
    """The n-th request's actor."""
    return f"bench-{n % ACTORS:06d}.bsky.social"


def feed_params(n: int) -> dict[str, Any]:
    """The query the connector sends for one feed page."""
    return {"actor": actor(n), "limit": 50, "filter": "posts_with_replies"}


async def drive(get: Callable[[int], Awaitable[Any]], requests: int) -> None:
    """``requests`` calls from ``CONNECTIONS`` concurrent loops."""
    remaining = iter(range(requests))

    async def loop() -> None:
        for n in remaining:
            await get(n)

    await asyncio.gather(*(loop() for _ in range(CONNECTIONS)))


#: Requests sent before measuring: every pooled connection open, every code path warm.
WARM_UP = 4 * CONNECTIONS


async def measured(
    get: Callable[[int], Awaitable[Any]], root: str, requests: int
) -> dict[str, Any]:
    """Warm up, then ``requests`` calls: CPU, wall time and the requests the server saw."""
    await drive(get, WARM_UP)
    before = calls_at(root)
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    await drive(get, requests)
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    calls = diff_calls(before, calls_at(root), "bluesky")
    return {
        "requests": sum(calls.values()),
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_per_request_us": cpu / max(requests, 1) * 1e6,
    }


async def run_layer(layer: str, root: str, requests: int) -> dict[str, Any]:
    """One layer's figures."""
    import orjson

    base = f"{root}/bluesky"
    if layer.startswith("aiohttp"):
        import aiohttp

        pick = layer == "aiohttp+rows"
        connector = aiohttp.TCPConnector(limit=CONNECTIONS)
        headers = {"Accept": "application/json"}
        async with aiohttp.ClientSession(
            base + "/", connector=connector, headers=headers
        ) as session:

            async def get_aiohttp(n: int) -> Any:
                params = {**feed_params(n), "limit": "50"}
                async with session.get(FEED, params=params) as response:
                    response.raise_for_status()
                    body = orjson.loads(await response.read())
                return feed_rows(body, actor(n)) if pick else body

            return await measured(get_aiohttp, root, requests)

    from connectors import AccountRef
    from connectors.bluesky import BlueskyConfig, BlueskyConnector
    from connectors.http import _Client, _client_timeout

    connector_ = BlueskyConnector(BlueskyConfig(base_url=base, max_connections=CONNECTIONS))
    client = connector_.client
    assert isinstance(client, _Client), "the default client is Collector's lean one"
    get: Callable[[int], Awaitable[Any]]
    if layer == "transport":
        from urllib.parse import urlencode

        sent = client.headers.multi_items()
        phases = _client_timeout(tuple(client.timeout.as_dict().items()))

        async def get_transport(n: int) -> Any:
            url = f"{base}/{FEED}?{urlencode(feed_params(n))}"
            request = lambda: client.build_request("GET", url)  # noqa: E731 - for errors only
            _, _, _, body = await client._wire.exchange("GET", url, sent, None, phases, request)
            return orjson.loads(body)

        get = get_transport
    elif layer == "client":

        async def get_client(n: int) -> Any:
            response = await client.get(FEED, params=feed_params(n))
            # Not raise_for_status(): it reads response.request, which the lean path builds
            # only when something asks for it (a third of a request's instructions).
            if response.status_code != 200:
                raise RuntimeError(f"HTTP {response.status_code}")
            return orjson.loads(response.content)

        get = get_client
    elif layer == "get_json":

        async def get_json(n: int) -> Any:
            return await connector_.get_json(FEED, params=feed_params(n), endpoint="getAuthorFeed")

        get = get_json
    else:
        since = datetime.now(UTC) - connector_.config.posts_horizon

        async def fetch_posts(n: int) -> Any:
            return await connector_.fetch_posts(AccountRef(actor(n), None, None), since=since)

        get = fetch_posts
    figures = await measured(get, root, requests)
    await connector_.aclose()
    return figures


def worker(args: argparse.Namespace) -> None:
    """Measure one layer in this fresh process; print one JSON line."""
    emit({"layer": args.layer, **asyncio.run(run_layer(args.layer, args.server, args.requests))})


def instructions(layer: str, root: str, requests: int) -> int:
    """User-space instructions of one layer's child process under callgrind."""
    with_valgrind = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "benchmarks.feed_layers",
        "worker",
        "--layer",
        layer,
        "--server",
        root,
        "--requests",
        str(requests),
    ]
    done = subprocess.run(
        with_valgrind, cwd=ROOT, capture_output=True, text=True, timeout=3600, check=False
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        failure = f"callgrind on {layer} failed ({done.returncode})"
        raise RuntimeError(f"{failure}:\n{done.stderr[-3000:]}")
    return int(found.group(1))


def measure(requests: int, repeat: int, counted_requests: int | None) -> list[dict[str, Any]]:
    """Every layer ``repeat`` times (interleaved); medians; instructions if asked."""
    runs: dict[str, list[dict[str, Any]]] = {}
    with FakeServer() as server:
        # One unmeasured run makes the server create its accounts before any layer.
        run_child("benchmarks.feed_layers", _worker_args("aiohttp", server.url, ACTORS))
        for _ in range(repeat):
            for layer in LAYERS:
                out = run_child("benchmarks.feed_layers", _worker_args(layer, server.url, requests))
                runs.setdefault(layer, []).append(out)
        counted: dict[str, float] = {}
        if counted_requests:
            for layer in LAYERS:
                idle = instructions(layer, server.url, 0)
                busy = instructions(layer, server.url, counted_requests)
                counted[layer] = (busy - idle) / counted_requests
    medians = {layer: median_of(runs[layer]) for layer in LAYERS}
    floor = medians["aiohttp"]["cpu_per_request_us"]
    rows: list[dict[str, Any]] = []
    for layer, row in medians.items():
        row["vs_aiohttp"] = row["cpu_per_request_us"] / floor
        # Each layer adds to the one before, but the transport to bare aiohttp (not to the
        # storing floor's picking, which Collector's path does not include).
        under = "aiohttp" if layer == "transport" else LAYERS[max(LAYERS.index(layer) - 1, 0)]
        row["added_us"] = row["cpu_per_request_us"] - medians[under]["cpu_per_request_us"]
        if counted:
            row["kinstr_per_request"] = counted[layer] / 1000
            row["added_kinstr"] = (counted[layer] - counted[under]) / 1000
        rows.append(row)
    return rows


def _worker_args(layer: str, root: str, requests: int) -> list[str]:
    return ["worker", "--layer", layer, "--server", root, "--requests", str(requests)]


COLUMNS = (
    Column("layer", "layer"),
    Column("requests", "requests", "{:.0f}"),
    Column("CPU µs/request", "cpu_per_request_us", "{:.0f}"),
    Column("× aiohttp", "vs_aiohttp"),
    Column("+ µs over the layer before", "added_us", "{:+.0f}"),
)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line; ``worker`` is the child side."""
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("worker")
    child.add_argument("--layer", choices=LAYERS, required=True)
    child.add_argument("--server", required=True)
    child.add_argument("--requests", type=int, required=True)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--instructions",
        type=int,
        nargs="?",
        const=2000,
        default=None,
        metavar="REQUESTS",
        help="also count instructions per request under callgrind (default 2000 requests)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.command == "worker":
        worker(args)
        return
    counting = args.instructions if shutil.which("valgrind") else None
    rows = measure(args.requests, args.repeat, counting)
    columns: tuple[Column, ...] = COLUMNS
    if args.instructions and not counting:
        print("(instructions not counted: valgrind is not installed)")
    if counting:
        columns = (
            *COLUMNS,
            Column("k instructions/request", "kinstr_per_request", "{:.0f}"),
            Column("+ k instructions", "added_kinstr", "{:+.0f}"),
        )
    print(table(rows, columns))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

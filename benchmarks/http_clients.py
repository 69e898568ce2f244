"""HTTP client cost per request: how Collector's default transport was chosen.

``python -m benchmarks.http_clients [--requests 10000] [--connections 1 16 64] [--repeat 3]``

Each variant sends the same small-JSON GETs to the fake-platform server (its own process) from
``connections`` concurrent workers over as many pooled connections, in a fresh child process,
and reports the client process's CPU per request (every thread counted):

- ``aiohttp``: a bare ``aiohttp.ClientSession`` (the floor);
- ``httpx``: ``httpx.AsyncClient`` with its own transport (httpcore);
- ``httpx+collector``: a plain ``httpx.AsyncClient`` over
  :class:`connectors.http.AiohttpTransport`;
- ``collector client``: what ``connectors.http.make_client`` builds by default (that transport
  behind a client whose plain requests skip httpx's per-request bookkeeping);
- ``httpx+httpx_aiohttp``: ``httpx.AsyncClient`` over the ``httpx-aiohttp`` package's transport
  (only when that package is installed).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from benchmarks._common import (
    Column,
    FakeServer,
    cpu_seconds,
    emit,
    median_of,
    peak_rss_mb,
    run_child,
    table,
)

VARIANTS = ("aiohttp", "httpx", "httpx+collector", "collector client", "httpx+httpx_aiohttp")
PATH = "bluesky/app.bsky.actor.getProfile"


async def drive(get: Callable[[str], Awaitable[Any]], requests: int, workers: int) -> None:
    """``requests`` GETs from ``workers`` concurrent loops, each answer decoded."""
    remaining = iter(range(requests))

    async def loop() -> None:
        for n in remaining:
            await get(f"bench-{n % 500:06d}.bsky.social")

    await asyncio.gather(*(loop() for _ in range(workers)))


async def run_variant(variant: str, base: str, requests: int, connections: int) -> None:
    """One variant's whole run (the caller measures around it)."""
    if variant == "aiohttp":
        import aiohttp

        connector = aiohttp.TCPConnector(limit=connections)
        async with aiohttp.ClientSession(base + "/", connector=connector) as session:

            async def get_aiohttp(actor: str) -> Any:
                async with session.get(PATH, params={"actor": actor}) as response:
                    return json.loads(await response.read())

            await drive(get_aiohttp, requests, connections)
        return
    import httpx

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    if variant == "collector client":
        from connectors.http import make_client

        async with make_client(base, limits=limits) as client:

            async def get_collector(actor: str) -> Any:
                response = await client.get(PATH, params={"actor": actor})
                return json.loads(response.content)

            await drive(get_collector, requests, connections)
        return
    transport: httpx.AsyncBaseTransport | None = None
    if variant == "httpx+collector":
        from connectors.http import AiohttpTransport

        transport = AiohttpTransport(limits)
    elif variant == "httpx+httpx_aiohttp":
        from httpx_aiohttp import AiohttpTransport as PackageTransport

        transport = PackageTransport(limits=limits)
    async with httpx.AsyncClient(base_url=base + "/", limits=limits, transport=transport) as c:

        async def get_httpx(actor: str) -> Any:
            response = await c.get(PATH, params={"actor": actor})
            return json.loads(response.content)

        await drive(get_httpx, requests, connections)


def worker(args: argparse.Namespace) -> None:
    """Measure one variant in this fresh process; print one JSON line."""
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    asyncio.run(run_variant(args.variant, args.server, args.requests, args.connections))
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    emit(
        {
            "variant": args.variant,
            "connections": args.connections,
            "requests": args.requests,
            "wall_s": wall,
            "cpu_s": cpu,
            "cpu_per_request_us": cpu / args.requests * 1e6,
            "peak_rss_mb": peak_rss_mb(),
        }
    )


def measure(requests: int, connections: Sequence[int], repeat: int) -> list[dict[str, Any]]:
    """Every variant at every connection count, ``repeat`` times; medians."""
    variants = [
        v
        for v in VARIANTS
        if v != "httpx+httpx_aiohttp" or importlib.util.find_spec("httpx_aiohttp") is not None
    ]
    rows: list[dict[str, Any]] = []
    with FakeServer() as server:
        for count in connections:
            runs: dict[str, list[dict[str, Any]]] = {}
            for _ in range(repeat):
                for variant in variants:
                    out = run_child(
                        "benchmarks.http_clients",
                        [
                            "worker",
                            "--variant",
                            variant,
                            "--server",
                            server.url,
                            "--requests",
                            str(requests),
                            "--connections",
                            str(count),
                        ],
                    )
                    runs.setdefault(variant, []).append(out)
            floor = median_of(runs["aiohttp"])["cpu_per_request_us"]
            for variant in variants:
                row = median_of(runs[variant])
                row["vs_aiohttp"] = row["cpu_per_request_us"] / floor
                rows.append(row)
    return rows


COLUMNS = (
    Column("connections", "connections", "{:.0f}"),
    Column("client", "variant"),
    Column("CPU µs/request", "cpu_per_request_us", "{:.0f}"),
    Column("× aiohttp", "vs_aiohttp"),
    Column("wall s", "wall_s"),
    Column("peak RSS MB", "peak_rss_mb", "{:.0f}"),
)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line; ``worker`` is the child side."""
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("worker")
    child.add_argument("--variant", choices=VARIANTS, required=True)
    child.add_argument("--server", required=True)
    child.add_argument("--requests", type=int, required=True)
    child.add_argument("--connections", type=int, required=True)
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.command == "worker":
        worker(args)
        return
    rows = measure(args.requests, args.connections, args.repeat)
    print(table(rows, COLUMNS))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

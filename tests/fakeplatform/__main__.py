"""``python -m tests.fakeplatform --port 8765 [--latency-ms 20]``: serve until interrupted."""

from __future__ import annotations

import argparse
import json

from aiohttp import web

from tests.fakeplatform import bluesky, mastodon
from tests.fakeplatform.core import World
from tests.fakeplatform.server import build_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--posts", type=int, default=12)
    # Benchmarks make tens of thousands of calls in a few minutes: far past the real windows.
    parser.add_argument(
        "--rate-limit", type=int, default=None, help="calls per window on Bluesky and Mastodon"
    )
    args = parser.parse_args()
    if args.rate_limit is not None:
        bluesky.RATE_LIMIT = args.rate_limit
        mastodon.RATE_LIMIT = args.rate_limit
    world = World(
        auto_create=True, posts_per_account=args.posts, latency_seconds=args.latency_ms / 1000
    )
    app = build_app(world)

    async def calls(_request: web.Request) -> web.Response:
        # Requests served so far by platform and endpoint: benchmarks count a pass's calls here.
        counted: dict[str, int] = {}
        for (platform, endpoint), count in world.calls.items():
            counted[f"{platform}/{endpoint}"] = count
        world.requests.clear()  # kept for tests that inspect queries; unbounded in a benchmark
        return web.Response(text=json.dumps(counted), content_type="application/json")

    app.router.add_get("/_calls", calls)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()

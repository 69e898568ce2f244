"""``python -m tests.fakeplatform --port 8765 [--latency-ms 20]``: serve until interrupted."""

from __future__ import annotations

import argparse

from aiohttp import web

from tests.fakeplatform.core import World
from tests.fakeplatform.server import build_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--posts", type=int, default=12)
    args = parser.parse_args()
    world = World(
        auto_create=True, posts_per_account=args.posts, latency_seconds=args.latency_ms / 1000
    )
    web.run_app(build_app(world), host="127.0.0.1", port=args.port, access_log=None)


if __name__ == "__main__":
    main()

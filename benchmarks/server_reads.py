"""What the dashboard and read API cost on a realistic database, beside a naive baseline.

``python -m benchmarks.server_reads [--accounts 1000] [--dense-days 30] [--runs 100000]
[--repeat 15] [--sqlite-only]``

One database per backend (a SQLite file in the temporary directory; the PostgreSQL database
``collector_bench_server`` on ``COLLECTOR_TEST_PG_URL``'s server), rebuilt each run:

- ``accounts`` accounts, each with 90 days of 6-hourly snapshots and 12 posts in the last 30 days
  (one snapshot each), so ``/api/creators`` and the creators page have real work;
- one more account collected every 10 seconds for ``dense-days`` days (8,640 snapshots a day),
  the demo's live rate, so the follower curve has far more points than pixels;
- ``runs`` finished collection runs, what ``/metrics`` aggregates at every scrape.

Each figure is the median (and 95th percentile) of ``repeat`` requests through the ASGI app, and
beside it the same need met the naive way, measured in the same run:

- follower curve: the database picks the last snapshot per pixel slot (``data.curve``), against
  reading every snapshot in the range into Python and thinning there;
- ``GET /api/creators``: the whole response, against the bare ``SELECT * FROM account_latest``
  it starts from;
- ``GET /metrics``: the whole scrape, against one ``count(*)`` of ``collection_run``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, select, text
from sqlalchemy.engine import Engine

from benchmarks._common import PG_URL
from collector.server import charts, data
from collector.server.app import create_app
from collector.storage import repo
from collector.storage.db import make_engine, upgrade
from collector.storage.models import (
    Account,
    CollectionRun,
    Creator,
    Post,
    PostSnapshot,
    ProfileSnapshot,
)

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

NOW = datetime(2026, 7, 1, tzinfo=UTC)
CHUNK = 5_000


def _chunks(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def populate(engine: Engine, accounts: int, dense_days: int, runs: int) -> int:
    """Write the data set; returns the dense account's id."""
    t: dict[str, Table] = {
        str(m.__tablename__): m.__table__  # type: ignore[union-attr]
        for m in (Account, Creator, ProfileSnapshot, Post, PostSnapshot, CollectionRun)
    }
    start = NOW - timedelta(days=90)
    with engine.begin() as conn:
        conn.execute(
            insert(t["creator"]),
            [
                {"id": i, "name": f"creator {i}", "tags": [], "created_at": start}
                for i in range(1, accounts + 2)
            ],
        )
        conn.execute(
            insert(t["account"]),
            [
                {
                    "id": i,
                    "creator_id": i,
                    "platform": "demo",
                    "handle": f"handle{i}",
                    "status": "active",
                    "added_at": start,
                    "last_success_at": NOW,
                    "consecutive_failures": 0,
                }
                for i in range(1, accounts + 2)
            ],
        )

        def profiles() -> Iterator[dict[str, Any]]:
            for a in range(1, accounts + 1):
                for n in range(90 * 4):
                    yield {
                        "account_id": a,
                        "collected_at": start + timedelta(hours=6 * n),
                        "followers": 5_000 + a * 40 + n,
                        "following": 300,
                        "posts_count": 100,
                        "followers_rounded": False,
                        "followers_hidden": False,
                    }
            dense = accounts + 1
            first = NOW - timedelta(days=dense_days)
            for n in range(dense_days * 8_640):
                yield {
                    "account_id": dense,
                    "collected_at": first + timedelta(seconds=10 * n),
                    "followers": 30_000 + n // 100,
                    "following": 300,
                    "posts_count": 100,
                    "followers_rounded": False,
                    "followers_hidden": False,
                }

        for chunk in _chunks(profiles()):
            conn.execute(insert(t["profile_snapshot"]), chunk)
        # Written around Collector's writers, which keep profile_latest (account_latest).
        repo.rebuild_profile_latest(conn)
        post_id = 0
        posts, snaps = [], []
        for a in range(1, accounts + 1):
            for k in range(12):
                post_id += 1
                published = NOW - timedelta(days=30) + timedelta(days=2.5 * k, hours=a % 12)
                posts.append(
                    {
                        "id": post_id,
                        "account_id": a,
                        "platform_post_id": f"{a}-{k}",
                        "published_at": published,
                        "first_seen_at": published,
                    }
                )
                snaps.append(
                    {
                        "post_id": post_id,
                        "collected_at": published + timedelta(days=1),
                        "views": 4_000,
                        "likes": 150 + k,
                        "comments": 9,
                        "shares": 3,
                        "saves": 2,
                    }
                )
        for chunk in _chunks(iter(posts)):
            conn.execute(insert(t["post"]), chunk)
        for chunk in _chunks(iter(snaps)):
            conn.execute(insert(t["post_snapshot"]), chunk)
        for chunk in _chunks(
            {
                "platform": ("demo", "bluesky", "youtube")[n % 3],
                "started_at": start + timedelta(seconds=60 * n),
                "finished_at": start + timedelta(seconds=60 * n + 5),
                "status": "ok" if n % 17 else "failed",
                "accounts": 10,
                "succeeded": 10,
                "failed": 0,
                "calls": 2,
                "quota_units": 2,
                "profile_rows": 10,
                "post_rows": 30,
                "outcomes": {},
                "duration_seconds": 5.0,
            }
            for n in range(runs)
        ):
            conn.execute(insert(t["collection_run"]), chunk)
    return accounts + 1


def timed(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, p95) in milliseconds, after one warm-up call."""
    action()
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.95 * len(samples)))]


def measure(
    engine: Engine, dense: int, dense_days: int, repeat: int
) -> list[tuple[str, str, tuple[float, float], tuple[float, float]]]:
    client = TestClient(create_app(engine, token=None, clock=lambda: NOW))
    start = NOW - timedelta(days=90)
    ps = ProfileSnapshot.__table__  # type: ignore[attr-defined]

    def naive_curve() -> object:
        with engine.connect() as conn:
            rows = conn.execute(
                select(ps.c.collected_at, ps.c.followers)
                .where(ps.c.account_id == dense, ps.c.collected_at >= start)
                .order_by(ps.c.collected_at)
            ).fetchall()
        return charts._downsample([(r[0], r[1]) for r in rows], charts.MAX_CURVE_POINTS)

    def bare_latest() -> object:
        with engine.connect() as conn:
            return conn.execute(text("SELECT * FROM account_latest")).fetchall()

    def count_runs() -> object:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM collection_run")).scalar_one()

    def get(path: str) -> Callable[[], object]:
        def call() -> object:
            response = client.get(path)
            assert response.status_code == 200, response.text
            return response

        return call

    points = len(data.curve(engine, dense, start, NOW))
    return [
        (
            f"follower curve ({dense_days * 8_640:,} snapshots → {points} points)",
            "read all, thin in Python",
            timed(lambda: data.curve(engine, dense, start, NOW), repeat),
            timed(naive_curve, repeat),
        ),
        (
            "GET /api/creators",
            "SELECT * FROM account_latest",
            timed(get("/api/creators"), repeat),
            timed(bare_latest, repeat),
        ),
        (
            "GET / (creators page)",
            "SELECT * FROM account_latest",
            timed(get("/"), repeat),
            timed(bare_latest, repeat),
        ),
        (
            f"GET /creators/{dense} (dense account page)",
            "read all, thin in Python",
            timed(get(f"/creators/{dense}"), repeat),
            timed(naive_curve, repeat),
        ),
        (
            "GET /metrics",
            "SELECT count(*) FROM collection_run",
            timed(get("/metrics"), repeat),
            timed(count_runs, repeat),
        ),
    ]


def main() -> None:
    """Build the databases, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--dense-days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="collector-bench-server-"))
    backends: list[tuple[str, str]] = [("sqlite", f"sqlite:///{folder / 'bench.db'}")]
    if not args.sqlite_only:
        backends.append(("postgresql", PG_URL))
    print(
        f"{args.accounts:,} accounts × 90 days of 6-hourly snapshots and 12 posts; one account "
        f"every 10 s for {args.dense_days} days; {args.runs:,} collection runs; "
        f"median / p95 of {args.repeat} requests"
    )
    print(
        f"{'backend':<11} {'what':<52} {'collector ms':>16}   {'baseline':<36} {'baseline ms':>16}"
    )
    try:
        for kind, url in backends:
            engine = make_engine(url)
            if kind == "postgresql":
                admin = make_engine(url, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(
                        text("DROP DATABASE IF EXISTS collector_bench_server WITH (FORCE)")
                    )
                    conn.execute(text("CREATE DATABASE collector_bench_server"))
                admin.dispose()
                engine = make_engine(
                    engine.url.set(database="collector_bench_server").render_as_string(
                        hide_password=False
                    )
                )
            upgrade(engine)
            began = time.perf_counter()
            dense = populate(engine, args.accounts, args.dense_days, args.runs)
            if kind == "postgresql":
                with engine.connect() as conn:
                    conn.execute(text("ANALYZE"))
                    conn.commit()
            print(f"{kind}: data written in {time.perf_counter() - began:.1f} s")
            for what, baseline, ours, theirs in measure(
                engine, dense, args.dense_days, args.repeat
            ):
                print(
                    f"{kind:<11} {what:<52} {ours[0]:>7.1f} / {ours[1]:>6.1f}   "
                    f"{baseline:<36} {theirs[0]:>7.1f} / {theirs[1]:>6.1f}"
                )
            engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

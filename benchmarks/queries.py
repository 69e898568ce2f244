"""Downstream queries over a year of 6-hourly snapshots of 10,000 accounts.

``python -m benchmarks.queries [--accounts 10000] [--days 365] [--repeat 20] [--fresh]``

The data set (``accounts`` × ``days`` × 4 profile snapshots; 12 posts per account in the last
30 days with 10 snapshots each; one campaign of 20 creators) is written once into a SQLite file
under the temporary directory and into the PostgreSQL database ``collector_bench_queries``
(``COLLECTOR_TEST_PG_URL``'s server), both migrated to the current schema, and kept for the next
run (``--fresh`` rebuilds it). Then each query runs ``repeat`` times through SQLAlchemy, all rows
fetched into Python, and the median and 95th percentile are printed beside the target:

- ``latest state``: ``SELECT * FROM account_latest`` (every account's newest counts);
- ``90-day series``: one account's daily followers (the last snapshot of each UTC day), for a
  different account each time;
- ``campaign totals``: the latest counts of the campaign creators' posts in its window, summed
  (through the ``post_latest`` view).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._common import PG_URL, Column, table

END = datetime(2026, 7, 1, tzinfo=UTC)
POSTS = 12
POST_SNAPSHOTS = 10
CAMPAIGN_CREATORS = 20
TARGET_MS = {
    ("sqlite", "latest state"): 50.0,
    ("postgresql", "latest state"): 100.0,
    ("sqlite", "90-day series"): 5.0,
    ("postgresql", "90-day series"): 5.0,
}


def _ts(kind: str, value: datetime) -> Any:
    return value.replace(tzinfo=None).isoformat(" ") if kind == "sqlite" else value


def profile_rows(kind: str, accounts: int, days: int) -> Iterator[tuple[Any, ...]]:
    """(account_id, collected_at, followers, following, posts_count, rounded, hidden), PK order."""
    start = END - timedelta(days=days)
    stamps = [_ts(kind, start + timedelta(hours=6 * n)) for n in range(days * 4)]
    for a in range(1, accounts + 1):
        base = 1_000 + (a * 7919) % 99_000
        for n, at in enumerate(stamps):
            yield (a, at, base + n * (a % 5), 200 + a % 300, 100 + n // 8, False, False)


def post_rows(kind: str, accounts: int) -> Iterator[tuple[Any, ...]]:
    """(id, account_id, platform_post_id, published_at, first_seen_at)."""
    for a in range(1, accounts + 1):
        for k in range(POSTS):
            published = END - timedelta(days=2 * k + 1, hours=a % 12)
            yield (
                (a - 1) * POSTS + k + 1,
                a,
                f"p{a}-{k}",
                _ts(kind, published),
                _ts(kind, published),
            )


def post_snapshot_rows(kind: str, accounts: int) -> Iterator[tuple[Any, ...]]:
    """(post_id, collected_at, views, likes, comments, shares) for every post."""
    for a in range(1, accounts + 1):
        for k in range(POSTS):
            published = END - timedelta(days=2 * k + 1, hours=a % 12)
            post_id = (a - 1) * POSTS + k + 1
            for s in range(POST_SNAPSHOTS):
                at = published + timedelta(hours=6 * (s + 1))
                if at > END:
                    break
                yield (post_id, _ts(kind, at), 1000 + 50 * s, 40 + 3 * s, 2 + s // 3, 1 + s // 4)


def build(kind: str, url: str, accounts: int, days: int) -> None:
    """Write the data set with the driver's fastest path (executemany / COPY)."""
    from collector.storage import repo
    from collector.storage.db import make_engine, upgrade

    engine = make_engine(url)
    upgrade(engine)
    now = _ts(kind, END)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        creators = [(a, f"creator {a}", "[]", now) for a in range(1, accounts + 1)]
        accounts_ = [
            (a, a, "bench", f"handle{a}", "active", now, now, 0) for a in range(1, accounts + 1)
        ]
        tables: list[tuple[str, Sequence[str], Any]] = [
            ("creator", ("id", "name", "tags", "created_at"), creators),
            (
                "account",
                (
                    "id",
                    "creator_id",
                    "platform",
                    "handle",
                    "status",
                    "added_at",
                    "last_success_at",
                    "consecutive_failures",
                ),
                accounts_,
            ),
            (
                "profile_snapshot",
                (
                    "account_id",
                    "collected_at",
                    "followers",
                    "following",
                    "posts_count",
                    "followers_rounded",
                    "followers_hidden",
                ),
                profile_rows(kind, accounts, days),
            ),
            (
                "post",
                ("id", "account_id", "platform_post_id", "published_at", "first_seen_at"),
                post_rows(kind, accounts),
            ),
            (
                "post_snapshot",
                ("post_id", "collected_at", "views", "likes", "comments", "shares"),
                post_snapshot_rows(kind, accounts),
            ),
            (
                "campaign",
                ("id", "name", "markers", "starts_on", "ends_on"),
                [(1, "bench campaign", "{}", (END - timedelta(days=30)).date(), END.date())],
            ),
            (
                "campaign_creator",
                ("campaign_id", "creator_id"),
                [(1, c) for c in range(1, CAMPAIGN_CREATORS + 1)],
            ),
        ]
        for name, columns, rows in tables:
            if kind == "sqlite":
                marks = ", ".join("?" * len(columns))
                cursor.executemany(
                    f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})", rows
                )
            else:
                with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as pipe:
                    for row in rows:
                        pipe.write_row(row)
        connection.commit()
        # The snapshots went in around Collector's writers, which keep profile_latest.
        with engine.begin() as conn:
            repo.rebuild_profile_latest(conn)
        cursor.execute("CREATE TABLE bench_marker (accounts INTEGER, days INTEGER)")
        cursor.execute(
            "INSERT INTO bench_marker VALUES (?, ?)"
            if kind == "sqlite"
            else "INSERT INTO bench_marker VALUES (%s, %s)",
            (accounts, days),
        )
        connection.commit()
        cursor.execute("ANALYZE")
        connection.commit()
    finally:
        connection.close()
    engine.dispose()


def prepared(kind: str, accounts: int, days: int, fresh: bool) -> str:
    """The database URL holding the data set, built if missing or different."""
    from sqlalchemy import text

    from collector.storage.db import head_revision, make_engine

    if kind == "sqlite":
        path = Path(tempfile.gettempdir()) / f"collector-bench-queries-{accounts}-{days}.db"
        url = f"sqlite:///{path}"
    else:
        url = PG_URL.rsplit("/", 1)[0] + "/collector_bench_queries"
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            marker = conn.execute(text("SELECT accounts, days FROM bench_marker")).one()
            revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        engine.dispose()
        if not fresh and tuple(marker) == (accounts, days) and revision == head_revision():
            return url
    except Exception:  # noqa: S110  (missing or from another version: rebuilt below)
        pass
    if kind == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS collector_bench_queries WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE collector_bench_queries"))
        admin.dispose()
    started = time.perf_counter()
    build(kind, url, accounts, days)
    print(f"built the {kind} data set in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return url


def day_of(kind: str, column: str) -> str:
    """A timestamp's UTC day in each backend's spelling."""
    return f"date({column})" if kind == "sqlite" else f"(({column}) AT TIME ZONE 'UTC')::date"


def queries(kind: str) -> dict[str, str]:
    """The measured queries, as a downstream reader would write them."""
    day = day_of(kind, "collected_at")
    return {
        "latest state": "SELECT * FROM account_latest",
        "90-day series": f"""
SELECT day, followers FROM (
  SELECT {day} AS day, followers,
         row_number() OVER (PARTITION BY {day} ORDER BY collected_at DESC) AS rn
  FROM profile_snapshot WHERE account_id = :account AND collected_at >= :since
) d WHERE rn = 1 ORDER BY day""",
        "campaign totals": """
SELECT count(*) AS posts, sum(pl.views) AS views, sum(pl.likes) AS likes,
       sum(pl.comments) AS comments, sum(pl.shares) AS shares,
       sum(pl.interactions) AS interactions
FROM campaign c
JOIN campaign_creator cc ON cc.campaign_id = c.id
JOIN account a ON a.creator_id = cc.creator_id
JOIN post_latest pl ON pl.account_id = a.id
WHERE c.name = :campaign AND pl.published_at >= :starts AND pl.published_at < :ends""",
    }


def measure(kind: str, url: str, accounts: int, repeat: int) -> list[dict[str, Any]]:
    """Each query ``repeat`` times (after one warm-up); medians and p95 in milliseconds."""
    from sqlalchemy import text

    from collector.storage.db import make_engine

    engine = make_engine(url)
    rows: list[dict[str, Any]] = []
    since = END - timedelta(days=90)
    params: dict[str, Callable[[int], dict[str, Any]]] = {
        "latest state": lambda n: {},
        "90-day series": lambda n: {
            "account": 1 + (n * 7919) % accounts,
            "since": _ts(kind, since) if kind == "sqlite" else since,
        },
        "campaign totals": lambda n: {
            "campaign": "bench campaign",
            "starts": _ts(kind, END - timedelta(days=30)),
            "ends": _ts(kind, END),
        },
    }
    with engine.connect() as conn:
        for name, sql in queries(kind).items():
            statement = text(sql)
            found = len(conn.execute(statement, params[name](0)).fetchall())
            timings = []
            for n in range(repeat):
                started = time.perf_counter()
                found = len(conn.execute(statement, params[name](n + 1)).fetchall())
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            rows.append(
                {
                    "database": kind,
                    "query": name,
                    "rows": found,
                    "median_ms": statistics.median(timings),
                    "p95_ms": timings[min(len(timings) - 1, int(len(timings) * 0.95))],
                    "target_ms": TARGET_MS.get((kind, name)),
                }
            )
    engine.dispose()
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """Build (or reuse) the data sets and time the queries."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = []
    for kind in args.databases:
        url = prepared(kind, args.accounts, args.days, args.fresh)
        rows.extend(measure(kind, url, args.accounts, args.repeat))
    print(
        table(
            rows,
            (
                Column("database", "database"),
                Column("query", "query"),
                Column("rows", "rows", "{:.0f}"),
                Column("median ms", "median_ms"),
                Column("p95 ms", "p95_ms"),
                Column("target ms", "target_ms", "{:.0f}"),
            ),
        )
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

"""Storage: bytes per snapshot row, and upsert throughput beside raw ``executemany``.

``python -m benchmarks.storage [--accounts 2000] [--passes 50] [--repeat 3]``

On SQLite (a file) and on PostgreSQL (``COLLECTOR_TEST_PG_URL`` or the local test server; a
scratch database ``collector_bench_storage`` is created and dropped), each in a freshly migrated
schema:

- **bytes per row**: ``passes`` collections of ``accounts`` accounts (a profile snapshot each,
  and a snapshot of each of 12 posts) written in the order the daemon writes them (pass after
  pass, one transaction per batch of 25 accounts), then the space the snapshot tables and their
  indexes take (SQLite ``dbstat``; PostgreSQL ``pg_total_relation_size``) divided by their rows.
- **upserts**: the same rows written by Collector's upserts (``collector.storage.repo``) and, in
  the same run, by the driver's raw ``executemany`` of a plain ``INSERT`` with values already in
  their stored form (the floor), by the SQLAlchemy Core ``on_conflict_do_update`` statement that
  Collector used before (built per call), and by PostgreSQL ``COPY``. Collector's upsert also
  keeps ``profile_latest`` (one row per account): written all at once, the rows collapse to one
  latest upsert per account; written pass by pass, as the daemon does, every row is its
  account's newest and costs a second upsert (one transaction per pass). The snapshot upsert
  alone, pass by pass, is the path before ``profile_latest``; the difference is what keeping it
  costs.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._common import PG_URL, Column, median_of, table

POSTS_PER_ACCOUNT = 12
BATCH = 25


def make_rows(
    accounts: int, passes: int
) -> tuple[list[list[dict[str, Any]]], list[list[dict[str, Any]]]]:
    """Profile and post snapshot rows, one list per pass (in the order the daemon writes)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    profiles: list[list[dict[str, Any]]] = []
    posts: list[list[dict[str, Any]]] = []
    for n in range(passes):
        at = start + timedelta(hours=6 * n)
        profiles.append(
            [
                {
                    "account_id": a + 1,
                    "collected_at": at,
                    "followers": 10_000 + a * 7 + n * 3,
                    "following": 300 + a % 50,
                    "posts_count": 200 + n // 4,
                    "followers_rounded": False,
                    "followers_hidden": False,
                }
                for a in range(accounts)
            ]
        )
        posts.append(
            [
                {
                    "post_id": a * POSTS_PER_ACCOUNT + k + 1,
                    "collected_at": at,
                    "views": None,
                    "likes": 150 + a % 300 + n,
                    "comments": 8 + k,
                    "shares": 3 + n % 5,
                    "quotes": 1,
                    "saves": None,
                }
                for a in range(accounts)
                for k in range(POSTS_PER_ACCOUNT)
            ]
        )
    return profiles, posts


def fresh_engine(kind: str, workdir: Path) -> Any:
    """A migrated, empty database of ``kind`` with the accounts and posts the rows refer to."""
    from sqlalchemy import text

    from collector.storage.db import make_engine, upgrade

    if kind == "sqlite":
        engine = make_engine(f"sqlite:///{workdir / 'storage.db'}")
    else:
        admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS collector_bench_storage WITH (FORCE)"))
            conn.execute(text("CREATE DATABASE collector_bench_storage"))
        admin.dispose()
        engine = make_engine(PG_URL.rsplit("/", 1)[0] + "/collector_bench_storage")
    upgrade(engine)
    return engine


def seed_parents(engine: Any, accounts: int) -> None:
    """The accounts and posts the snapshot rows point at."""
    from collector.storage.state import ACCOUNT, POST

    now = datetime(2026, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            ACCOUNT.insert(),
            [
                {
                    "id": a + 1,
                    "platform": "bench",
                    "handle": f"h{a}",
                    "status": "active",
                    "added_at": now,
                    "consecutive_failures": 0,
                }
                for a in range(accounts)
            ],
        )
        conn.execute(
            POST.insert(),
            [
                {
                    "id": a * POSTS_PER_ACCOUNT + k + 1,
                    "account_id": a + 1,
                    "platform_post_id": f"p{a}-{k}",
                    "published_at": now,
                    "first_seen_at": now,
                }
                for a in range(accounts)
                for k in range(POSTS_PER_ACCOUNT)
            ],
        )


def stored_form(kind: str, rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[Any]:
    """Rows as the driver takes them (what the raw floor is given: no conversion timed)."""
    out = []
    for row in rows:
        values = []
        for c in columns:
            v = row[c]
            if isinstance(v, datetime) and kind == "sqlite":
                v = v.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
            values.append(v)
        out.append(tuple(values))
    return out


def space(engine: Any, kind: str, tables: Sequence[str]) -> int:
    """Bytes the tables and their indexes take on disk."""
    from sqlalchemy import text

    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if kind == "sqlite":
            # dbstat's name is the table for WITHOUT ROWID tables, or an index of the table.
            total = 0
            for name in tables:
                total += conn.execute(
                    text(
                        "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = :t OR name IN "
                        "(SELECT name FROM sqlite_master WHERE type='index' AND tbl_name = :t)"
                    ),
                    {"t": name},
                ).scalar_one()
            return int(total)
        conn.execute(text("VACUUM ANALYZE"))  # the visibility map, as autovacuum leaves it
        return int(
            sum(
                conn.execute(text(f"SELECT pg_total_relation_size('{name}')")).scalar_one()
                for name in tables
            )
        )


def bytes_per_row(kind: str, accounts: int, passes: int) -> dict[str, Any]:
    """Write ``passes`` collections in daemon order through the pipeline's store."""
    from collector.storage import repo

    profiles, posts = make_rows(accounts, passes)
    with tempfile.TemporaryDirectory(prefix="collector-bench-") as tmp:
        engine = fresh_engine(kind, Path(tmp))
        seed_parents(engine, accounts)
        for n in range(passes):
            for start in range(0, accounts, BATCH):
                with engine.begin() as conn:
                    repo.upsert_profile_snapshots(conn, profiles[n][start : start + BATCH])
                    lo, hi = start * POSTS_PER_ACCOUNT, (start + BATCH) * POSTS_PER_ACCOUNT
                    repo.upsert_post_snapshots(conn, posts[n][lo:hi])
        if kind == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        profile_bytes = space(engine, kind, ["profile_snapshot"])
        post_bytes = space(engine, kind, ["post_snapshot"])
        engine.dispose()
    profile_count = accounts * passes
    post_count = accounts * passes * POSTS_PER_ACCOUNT
    return {
        "database": kind,
        "profile_rows": profile_count,
        "profile_bytes_per_row": profile_bytes / profile_count,
        "post_rows": post_count,
        "post_bytes_per_row": post_bytes / post_count,
    }


PROFILE_COLUMNS = (
    "account_id",
    "collected_at",
    "followers",
    "following",
    "posts_count",
    "followers_rounded",
    "followers_hidden",
)


def throughput(kind: str, accounts: int, passes: int) -> list[dict[str, Any]]:
    """Rows per second of each way of writing the same profile snapshots, one transaction."""
    from sqlalchemy import text
    from sqlalchemy.dialects import postgresql, sqlite

    from collector.storage import repo

    profiles, _ = make_rows(accounts, passes)
    rows = [r for p in profiles for r in p]
    placeholders = ", ".join(["?" if kind == "sqlite" else "%s"] * len(PROFILE_COLUMNS))
    plain = f"INSERT INTO profile_snapshot ({', '.join(PROFILE_COLUMNS)}) VALUES ({placeholders})"

    def raw(engine: Any) -> None:
        values = stored_form(kind, rows, PROFILE_COLUMNS)
        started = time.perf_counter()
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.executemany(plain, values)
            connection.commit()
        finally:
            connection.close()
        timings["raw executemany"] = time.perf_counter() - started

    def raw_passes(engine: Any) -> None:
        # The floor of the pass-by-pass rows: the same plain INSERT, one transaction a pass.
        values = [stored_form(kind, pass_rows, PROFILE_COLUMNS) for pass_rows in profiles]
        started = time.perf_counter()
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            for pass_values in values:
                cursor.executemany(plain, pass_values)
                connection.commit()
        finally:
            connection.close()
        timings["raw executemany, pass by pass"] = time.perf_counter() - started

    def copy(engine: Any) -> None:
        values = stored_form(kind, rows, PROFILE_COLUMNS)
        started = time.perf_counter()
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            columns = ", ".join(PROFILE_COLUMNS)
            with cursor.copy(f"COPY profile_snapshot ({columns}) FROM STDIN") as pipe:
                for value in values:
                    pipe.write_row(value)
            connection.commit()
        finally:
            connection.close()
        timings["COPY (floor)"] = time.perf_counter() - started

    def collector(engine: Any) -> None:
        started = time.perf_counter()
        with engine.begin() as conn:
            repo.upsert_profile_snapshots(conn, rows)
        timings["Collector upsert"] = time.perf_counter() - started

    # One transaction per pass, as passes come hours apart: within a single transaction
    # PostgreSQL could not prune the row versions of the previous passes' latest upserts, and
    # every update would walk a chain as long as the passes before it.
    def collector_passes(engine: Any) -> None:
        started = time.perf_counter()
        for pass_rows in profiles:
            with engine.begin() as conn:
                repo.upsert_profile_snapshots(conn, pass_rows)
        timings["Collector upsert, pass by pass"] = time.perf_counter() - started

    def snapshots_alone(engine: Any) -> None:
        # The statement upsert_profile_snapshots runs before its profile_latest upsert.
        dialect = postgresql if kind == "postgresql" else sqlite
        started = time.perf_counter()
        for pass_rows in profiles:
            with engine.begin() as conn:
                repo._execute_many(
                    conn,
                    "profile_snapshot",
                    lambda: repo._profile_upsert(dialect),
                    repo._PROFILE_COLUMNS,
                    repo._picked(repo._PROFILE_COLUMNS, pass_rows),
                )
        timings["snapshot upsert alone, pass by pass"] = time.perf_counter() - started

    def core(engine: Any) -> None:
        from collector.storage.state import ACCOUNT  # noqa: F401  (tables registered)

        table_ = repo.PROFILE_SNAPSHOT
        dialect = postgresql if kind == "postgresql" else sqlite
        started = time.perf_counter()
        with engine.begin() as conn:
            for start in range(0, len(rows), 500):
                stmt = dialect.insert(table_)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["account_id", "collected_at"],
                    set_={n: stmt.excluded[n] for n in PROFILE_COLUMNS[2:]},
                )
                conn.execute(stmt, rows[start : start + 500])
        timings["SQLAlchemy Core upsert (before)"] = time.perf_counter() - started

    ways: list[Callable[[Any], None]] = [
        raw,
        collector,
        raw_passes,
        collector_passes,
        snapshots_alone,
        core,
    ]
    if kind == "postgresql":
        ways.append(copy)
    timings: dict[str, float] = {}
    for way in ways:
        with tempfile.TemporaryDirectory(prefix="collector-bench-") as tmp:
            engine = fresh_engine(kind, Path(tmp))
            seed_parents(engine, accounts)
            way(engine)
            with engine.connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM profile_snapshot")).scalar_one()
            assert count == len(rows), (way.__name__, count)
            engine.dispose()
    floor = timings["raw executemany"]
    floor_by_pass = timings["raw executemany, pass by pass"]
    return [
        {
            "database": kind,
            "writer": name,
            "rows": len(rows),
            "rows_per_s": len(rows) / seconds,
            "vs_raw": seconds / floor,
            # Like for like: pass-by-pass writers against the raw inserts in as many commits.
            "vs_raw_same": seconds / (floor_by_pass if "pass by pass" in name else floor),
        }
        for name, seconds in timings.items()
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """Run both measurements on both databases, ``repeat`` times; print medians."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--passes", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    os.environ.setdefault("COLLECTOR_LOG_LEVEL", "WARNING")
    sizes: list[dict[str, Any]] = []
    speeds: list[dict[str, Any]] = []
    for kind in args.databases:
        sizes.append(bytes_per_row(kind, args.accounts, min(args.passes, 20)))
        runs: dict[str, list[dict[str, Any]]] = {}
        for _ in range(args.repeat):
            for row in throughput(kind, args.accounts, args.passes):
                runs.setdefault(row["writer"], []).append(row)
        speeds.extend(median_of(r) for r in runs.values())
    print(
        table(
            sizes,
            (
                Column("database", "database"),
                Column("profile rows", "profile_rows", "{:.0f}"),
                Column("bytes / profile row", "profile_bytes_per_row", "{:.1f}"),
                Column("post rows", "post_rows", "{:.0f}"),
                Column("bytes / post row", "post_bytes_per_row", "{:.1f}"),
            ),
        )
    )
    print()
    print(
        table(
            speeds,
            (
                Column("database", "database"),
                Column("writer", "writer"),
                Column("rows", "rows", "{:.0f}"),
                Column("rows/s", "rows_per_s", "{:,.0f}"),
                Column("time × raw executemany", "vs_raw"),
                Column("× raw, as many commits", "vs_raw_same"),
            ),
        )
    )
    if args.json:
        args.json.write_text(json.dumps({"sizes": sizes, "upserts": speeds}, indent=1))


if __name__ == "__main__":
    main()

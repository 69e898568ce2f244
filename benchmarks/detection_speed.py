"""How fast ``collector detect`` scores a large watchlist, full and incremental.

Builds (once; ``--rebuild`` to redo it) a SQLite database of N accounts with a year of 6-hourly
profile snapshots (10,000 accounts: 14.6 M rows) and a post every ~3 days with two snapshots
each, then measures, side by side in the same run:

- reading every profile row with a plain query (the floor any full run pays);
- a full run (``run_detection`` over all accounts);
- an incremental run after one collection pass (one new snapshot for part of the accounts),
  as the daemon's after-pass hook does it.

Run: ``.venv/bin/python benchmarks/detection_speed.py [--accounts 10000] [--days 365]``.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.storage.db import make_engine, upgrade

STEP = timedelta(hours=6)
END = datetime(2026, 11, 1, tzinfo=UTC)
FORMAT = "%Y-%m-%d %H:%M:%S"


def _stamps(start: datetime, count: int, step: timedelta) -> list[str]:
    return [(start + i * step).strftime(FORMAT) for i in range(count)]


def _profile_rows(
    account_id: int, rng: np.random.Generator, stamps: list[str]
) -> Iterator[tuple[int, str, int, int, int]]:
    n = len(stamps)
    base = float(np.exp(rng.uniform(np.log(1_000), np.log(1_000_000))))
    growth = rng.uniform(0.0002, 0.0015) / 4.0  # per 6 hours
    steps = base * growth * (1.0 + 0.4 * np.sin(np.arange(n) * np.pi / 2)) + rng.normal(
        0.0, 3.0 + 0.0003 * base, n
    )
    if rng.random() < 0.05:  # a few buy followers: the detectors have work to do
        at = int(rng.integers(n // 4, n))
        steps[at] += rng.choice([1_000.0, 5_000.0, 10_000.0])
    followers = np.maximum(base + np.cumsum(steps), 0.0).astype(np.int64)
    following = (rng.uniform(100, 2_000) + rng.normal(0, 2, n).cumsum()).astype(np.int64)
    posts = int(rng.integers(20, 400))
    for i in range(n):
        yield (account_id, stamps[i], int(followers[i]), int(max(following[i], 0)), posts + i // 12)


def build(path: Path, accounts: int, days: int, seed: int = 7) -> None:
    """Create the benchmark database at ``path`` with raw executemany (minutes, not hours)."""
    if path.exists():
        path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    points = days * 4
    start = END - points * STEP
    stamps = _stamps(start, points, STEP)
    rng = np.random.default_rng(seed)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    now = END.strftime(FORMAT)
    conn.executemany(
        "INSERT INTO account (id, platform, handle, status, added_at, consecutive_failures) "
        "VALUES (?, 'csv', ?, 'active', ?, 0)",
        [(i, f"creator{i:05d}", now) for i in range(1, accounts + 1)],
    )
    post_id = 0
    for account_id in range(1, accounts + 1):
        conn.executemany(
            "INSERT INTO profile_snapshot (account_id, collected_at, followers, following, "
            "posts_count, followers_rounded, followers_hidden) VALUES (?, ?, ?, ?, ?, 0, 0)",
            _profile_rows(account_id, rng, stamps),
        )
        posts, snapshots = [], []
        audience = float(np.exp(rng.uniform(np.log(1_000), np.log(1_000_000))))
        for k in range(days // 3):
            post_id += 1
            published = start + timedelta(days=3 * k, hours=float(rng.uniform(8, 21)))
            posts.append((post_id, account_id, f"p{post_id}", published.strftime(FORMAT), now))
            likes = audience * 0.02 * float(rng.lognormal(0, 0.15))
            for age in (1, 7):
                at = published + timedelta(days=age)
                if at > END:
                    break
                share = 1.0 - np.exp(-age * 24 / 16)
                snapshots.append(
                    (
                        post_id,
                        at.strftime(FORMAT),
                        int(likes * 15 * share),
                        int(likes * share),
                        int(likes * 0.03 * share),
                        int(likes * 0.02 * share),
                    )
                )
        conn.executemany(
            "INSERT INTO post (id, account_id, platform_post_id, published_at, first_seen_at) "
            "VALUES (?, ?, ?, ?, ?)",
            posts,
        )
        conn.executemany(
            "INSERT INTO post_snapshot (post_id, collected_at, views, likes, comments, shares) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            snapshots,
        )
        if account_id % 1000 == 0:
            conn.commit()
            print(f"  built {account_id:,} accounts", flush=True)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


def _reset(path: Path) -> None:
    """Forget earlier measurements: flags, watermarks and the snapshots of appended passes."""
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM flag")
    conn.execute("DELETE FROM detection_state")
    conn.execute("DELETE FROM profile_snapshot WHERE collected_at > ?", (END.strftime(FORMAT),))
    conn.commit()
    conn.close()


def _append_pass(path: Path, accounts: int, at: datetime) -> None:
    """One collection pass: a new snapshot for the first ``accounts`` accounts."""
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT account_id, followers, following, posts_count FROM profile_snapshot "
        "WHERE collected_at = ? AND account_id <= ?",
        ((END - STEP).strftime(FORMAT), accounts),
    ).fetchall()
    conn.executemany(
        "INSERT INTO profile_snapshot (account_id, collected_at, followers, following, "
        "posts_count, followers_rounded, followers_hidden) VALUES (?, ?, ?, ?, ?, 0, 0)",
        [(a, at.strftime(FORMAT), f + 25, g, p) for a, f, g, p in rows],
    )
    conn.execute(
        "UPDATE account SET last_success_at = ? WHERE id <= ?", (at.strftime(FORMAT), accounts)
    )
    conn.commit()
    conn.close()


def _read_all_rows(path: Path) -> float:
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT account_id, collected_at, followers, following FROM profile_snapshot "
        "ORDER BY account_id, collected_at"
    ).fetchall()
    conn.close()
    del rows
    return time.perf_counter() - started


def main() -> None:
    """Build the database if needed and print the timings side by side."""
    from collector.detection.runner import changed_accounts, detect_accounts, run_detection

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--pass-accounts", type=int, default=1_000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    name = f"collector-detect-bench-{args.accounts}x{args.days}.db"
    path = args.db or Path(tempfile.gettempdir()) / name
    if args.rebuild or not path.exists():
        print(f"building {path} ({args.accounts:,} accounts, {args.days} days)...", flush=True)
        started = time.perf_counter()
        build(path, args.accounts, args.days)
        print(f"built in {time.perf_counter() - started:.1f}s", flush=True)
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    _reset(path)
    with engine.connect() as conn:
        profiles = conn.exec_driver_sql("SELECT count(*) FROM profile_snapshot").scalar_one()
        posts = conn.exec_driver_sql("SELECT count(*) FROM post_snapshot").scalar_one()
    print(f"{args.accounts:,} accounts, {profiles:,} profile rows, {posts:,} post snapshots")
    print(f"cores: {os.cpu_count()}")

    floor = _read_all_rows(path)
    full = run_detection(engine)
    rows = [
        ("plain SELECT of every profile row (no scoring)", floor, ""),
        (
            f"full run, {full.accounts:,} accounts",
            full.seconds,
            f"{sum(full.flags.new.values()):,} flags",
        ),
    ]
    for accounts in sorted({args.pass_accounts, args.accounts}):
        at = END + STEP * (1 + len(rows))
        _append_pass(path, accounts, at)
        started = time.perf_counter()
        with engine.connect() as conn:
            changed = changed_accounts(
                conn, succeeded_since=at.replace(tzinfo=UTC) - timedelta(seconds=1)
            )
        summary = detect_accounts(engine, changed)
        seconds = time.perf_counter() - started
        rows.append(
            (
                f"incremental after a pass of {accounts:,} accounts",
                seconds,
                f"{summary.accounts:,} re-scored",
            )
        )
    engine.dispose()
    width = max(len(label) for label, _, _ in rows)
    print(f"{'':{width}}  {'seconds':>8}  {'vs full':>8}")
    for label, seconds, note in rows:
        ratio = seconds / full.seconds if full.seconds else 0.0
        print(f"{label:{width}}  {seconds:8.2f}  {ratio:7.1%}  {note}")


if __name__ == "__main__":
    main()

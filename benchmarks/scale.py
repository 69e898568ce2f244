"""Scale: the daemon at 10,000 and 100,000 accounts, a 100,000-handle watchlist, one 100k pass.

``python -m benchmarks.scale [--accounts 10000 100000] [--idle-seconds 30]
[--pass-accounts 100000]``

- **daemon idle**: ``collector run`` (a process of its own) over a SQLite database and a watchlist
  of N Bluesky accounts, none of them due; its RSS once started and its CPU over
  ``idle-seconds`` of idling (dispatcher ticks, watchlist checks), read with psutil.
- **watchlist**: ``load_settings`` of a collector.toml whose watchlist has N creators, one
  handle each, in a fresh process: wall time and peak RSS, beside the same process's RSS after
  its imports alone (the baseline).
- **one pass**: ``benchmarks.collection_pass``'s Collector variant (Bluesky shape, first and warm
  pass) over ``pass-accounts`` accounts on the fake-platform server, beside the aiohttp floor in
  the same run: wall, CPU, peak RSS.

Only 127.0.0.1 is contacted; every process this starts is stopped by its own id.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._common import (
    ROOT,
    Column,
    FakeServer,
    cpu_seconds,
    emit,
    peak_rss_mb,
    run_child,
    table,
)

#: The longest the daemon gets to start (sync a 100,000-account watchlist) before it must idle.
START_TIMEOUT_SECONDS = 300


def write_config(workdir: Path, accounts: int, db_url: str) -> Path:
    """collector.toml and a watchlist of ``accounts`` Bluesky creators, one handle each."""
    lines = ["creators:"]
    for n in range(accounts):
        lines.append(f"  - name: Creator {n:06d}")
        lines.append("    accounts:")
        lines.append(f"      bluesky: bench-{n:06d}.bsky.social")
    (workdir / "watchlist.yaml").write_text("\n".join(lines) + "\n")
    config = workdir / "collector.toml"
    config.write_text(
        'watchlist = "watchlist.yaml"\n\n'
        f'[database]\nurl = "{db_url}"\n\n'
        # Nothing is contacted: no account is due, and this port has no server.
        '[platforms.bluesky]\ninterval = "6h"\nbase_url = "http://127.0.0.1:9/bluesky"\n'
    )
    return config


def seed_not_due(config: Path, db_url: str) -> None:
    """Create the schema and every watched account, next due tomorrow (so the daemon idles)."""
    from sqlalchemy import update

    from collector.settings import load_settings
    from collector.storage.db import ensure_schema, make_engine
    from collector.storage.state import ACCOUNT, Store

    settings = load_settings(config)
    engine = make_engine(db_url)
    ensure_schema(engine, allow_upgrade=True)
    now = datetime.now(UTC)
    entries = [
        (platform, handle, creator.name, creator.tags)
        for creator in settings.watchlist.creators
        for platform, handles in creator.accounts.items()
        for handle in handles
    ]
    Store(engine).sync_watchlist(entries, platforms=settings.platforms, now=now)
    with engine.begin() as conn:
        conn.execute(update(ACCOUNT).values(next_due_at=now + timedelta(days=1)))
    engine.dispose()


def daemon_idle(accounts: int, idle_seconds: float) -> dict[str, Any]:
    """Start ``collector run``, wait until it idles, and measure RSS and CPU while it does."""
    import psutil  # type: ignore[import-untyped]

    with tempfile.TemporaryDirectory(prefix="collector-bench-") as tmp:
        workdir = Path(tmp)
        db_url = f"sqlite:///{workdir / 'collector.db'}"
        config = write_config(workdir, accounts, db_url)
        seed_not_due(config, db_url)
        log = (workdir / "daemon.log").open("w")
        started = time.perf_counter()
        daemon = subprocess.Popen(
            [sys.executable, "-m", "collector", "run", "--config", str(config)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            process = psutil.Process(daemon.pid)
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            # Started once the log says so (the watchlist is synced before that line).
            while "daemon started" not in (workdir / "daemon.log").read_text():
                if daemon.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((workdir / "daemon.log").read_text()[-3000:])
                time.sleep(0.1)
            start_seconds = time.perf_counter() - started
            time.sleep(2)  # the first dispatcher ticks (nothing due) pass
            cpu0 = process.cpu_times()
            wall0 = time.perf_counter()
            time.sleep(idle_seconds)
            cpu1 = process.cpu_times()
            wall = time.perf_counter() - wall0
            rss_mb = process.memory_info().rss / 2**20
            idle_cpu = (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / wall
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=15)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
            log.close()
    return {
        "accounts": accounts,
        "start_s": start_seconds,
        "rss_mb": rss_mb,
        "idle_cpu_percent": max(idle_cpu, 0.0) * 100,  # psutil counts 10 ms ticks
    }


def watchlist_worker(args: argparse.Namespace) -> None:
    """In a fresh process: import, note RSS, then validate the config and its watchlist."""
    from collector.settings import load_settings

    baseline = peak_rss_mb()
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    settings = load_settings(args.config)
    wall, cpu = time.perf_counter() - wall0, cpu_seconds() - cpu0
    creators = len(settings.watchlist.creators)
    emit(
        {
            "creators": creators,
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_rss_mb": peak_rss_mb(),
            "baseline_rss_mb": baseline,
        }
    )


def watchlist(accounts: int) -> dict[str, Any]:
    """Validate a watchlist of ``accounts`` handles in a child process."""
    with tempfile.TemporaryDirectory(prefix="collector-bench-") as tmp:
        workdir = Path(tmp)
        config = write_config(workdir, accounts, f"sqlite:///{workdir / 'unused.db'}")
        out = run_child("benchmarks.scale", ["watchlist-worker", "--config", str(config)])
    out["accounts"] = accounts
    return out


def big_pass(accounts: int) -> list[dict[str, Any]]:
    """Collector's pass over ``accounts`` Bluesky accounts beside the aiohttp floor."""
    rows: list[dict[str, Any]] = []
    with FakeServer() as server:
        common = ["--shape", "bluesky", "--accounts", str(accounts), "--server", server.url]
        floor = run_child(
            "benchmarks.collection_pass", ["worker", "--variant", "aiohttp", *common], timeout=1800
        )["phases"][0]
        floor["variant"] = "aiohttp floor"
        rows.append(floor)
        out = run_child(
            "benchmarks.collection_pass",
            ["worker", "--variant", "collector", *common],
            timeout=3600,
        )
        for phase in out["phases"]:
            phase["variant"] = "collector" if phase["phase"] == "first" else "collector-warm"
            rows.append(phase)
    for row in rows:
        row["accounts"] = accounts
        row["cpu_vs_floor"] = row["cpu_s"] / floor["cpu_s"]
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """Run the three scale measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    child = sub.add_parser("watchlist-worker")
    child.add_argument("--config", type=Path, required=True)
    parser.add_argument("--accounts", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--idle-seconds", type=float, default=30.0)
    parser.add_argument("--pass-accounts", type=int, default=100_000)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    if args.command == "watchlist-worker":
        watchlist_worker(args)
        return
    idle = [daemon_idle(n, args.idle_seconds) for n in args.accounts]
    lists = [watchlist(n) for n in args.accounts]
    passes = big_pass(args.pass_accounts) if args.pass_accounts else []
    print(
        table(
            idle,
            (
                Column("accounts", "accounts", "{:.0f}"),
                Column("daemon start s", "start_s"),
                Column("daemon RSS MB", "rss_mb", "{:.0f}"),
                Column("idle CPU %", "idle_cpu_percent"),
            ),
        )
    )
    print()
    print(
        table(
            lists,
            (
                Column("watchlist handles", "accounts", "{:.0f}"),
                Column("validate wall s", "wall_s"),
                Column("validate CPU s", "cpu_s"),
                Column("peak RSS MB", "peak_rss_mb", "{:.0f}"),
                Column("RSS after imports MB", "baseline_rss_mb", "{:.0f}"),
            ),
        )
    )
    if passes:
        print()
        print(
            table(
                passes,
                (
                    Column("accounts", "accounts", "{:.0f}"),
                    Column("variant", "variant"),
                    Column("wall s", "wall_s"),
                    Column("CPU s", "cpu_s"),
                    Column("CPU × floor", "cpu_vs_floor"),
                    Column("peak RSS MB", "peak_rss_mb", "{:.0f}"),
                    Column("requests", "requests", "{:.0f}"),
                    Column("post rows", "post_rows", "{:.0f}"),
                ),
            )
        )
    if args.json:
        args.json.write_text(json.dumps({"idle": idle, "watchlist": lists, "pass": passes}))


if __name__ == "__main__":
    main()

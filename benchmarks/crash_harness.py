"""SIGKILL the daemon at random moments, restart it, and prove nothing was lost or half-stored.

``python -m benchmarks.crash_harness [--kills 50] [--backend sqlite|postgresql|both] [--seed 7]``

A real ``collector run`` process collects Bluesky and Mastodon accounts from the loopback fake
platforms (served from a thread of this process, with latency so fetches take time, and batches
of 25 accounts with their posts so writes take time). The harness kills it with SIGKILL at a
moment drawn from a seeded generator, of one of three kinds:

- ``fetch``: while a request is in flight on the fake platform;
- ``write``: while the daemon holds an open write transaction (SQLite: the write lock is taken;
  PostgreSQL: its backend has a transaction id);
- ``random``: after a random delay, whatever the daemon is doing.

Before each kill it records what is committed; after each restart it checks, in one consistent
read of the database:

- nothing committed was lost (every profile snapshot key, and at least as many post snapshots);
- no duplicate: no two profile snapshots of an account closer than half an interval (a batch
  stored twice, or re-collected because its state was lost);
- no partial batch: a snapshot is never newer than its account's ``last_success_at`` (data
  without its state), an account's state never moved without its snapshot, and no post first
  seen after its account's last success;
- the killed process's ``collection_run`` rows are ``interrupted``, none left ``running``;
- catch-up: every ``catch_up_every`` kills, the accounts due at the restart are all collected
  within one interval.

At the end, SIGTERM under load must stop the daemon within 10 s with exit code 0. The baseline
beside the figures is the same workload's first pass with no kill, measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine, make_url

from collector.storage.db import make_engine, upgrade
from collector.storage.state import ACCOUNT
from tests.fakeplatform import bluesky, mastodon
from tests.fakeplatform.core import World
from tests.fakeplatform.server import FakePlatformServer

__all__ = ["CrashReport", "Plan", "main", "run_crash_harness"]

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "COLLECTOR_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MOMENTS = ("fetch", "write", "random")
SIGTERM_LIMIT_SECONDS = 10.0
#: Alembic keeps its migration context in module state: one upgrade at a time per process.
_UPGRADE_LOCK = threading.Lock()


def _upgrade(url: str) -> None:
    engine = make_engine(url)
    try:
        with _UPGRADE_LOCK:
            upgrade(engine)
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Plan:
    """The workload and how hard to hit it."""

    kills: int = 50
    seed: int = 7
    bluesky_accounts: int = 300
    mastodon_accounts: int = 20
    interval_seconds: int = 20
    latency_ms: float = 20.0
    posts: int = 12
    catch_up_every: int = 10
    random_max_seconds: float = 2.0
    sigterm: bool = True
    baseline: bool = True


@dataclass
class CrashReport:
    """What one backend went through and what the checks found."""

    backend: str
    kills: int = 0
    moments: Counter[str] = field(default_factory=Counter)
    checks: int = 0
    rows_checked: int = 0
    final_rows: int = 0
    duplicates: int = 0
    partial: int = 0
    lost: int = 0
    interrupted_marked: int = 0
    running_left: int = 0
    pass_crashes: int = 0
    catch_up_seconds: list[float] = field(default_factory=list)
    baseline_pass_seconds: float | None = None
    sigterm_seconds: float | None = None
    sigterm_exit_code: int | None = None
    wall_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.problems


# -- the database, read the way a downstream tool reads it ---------------------------------


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class State:
    """One consistent read of everything the checks need."""

    accounts: dict[int, tuple[datetime | None, datetime | None]]  # id → (last_success, next_due)
    profile_keys: set[tuple[int, datetime]]
    post_snapshots: int
    posts: int
    late_post_snapshots: int
    late_posts: int
    runs: list[tuple[int, str, str | None]]


class Database:
    """The harness's own connection to the daemon's database."""

    def __init__(self, url: str) -> None:
        self.url = url
        parsed = make_url(url)
        self.backend = parsed.get_backend_name()
        self.path = parsed.database if self.backend == "sqlite" else None
        self.engine: Engine = make_engine(url)
        self._probe: sqlite3.Connection | None = None

    def close(self) -> None:
        """Release the harness's connections."""
        if self._probe is not None:
            self._probe.close()
        self.engine.dispose()

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Callable[[str], list[tuple[Any, ...]]]]:
        if self.path is not None:
            # Explicit BEGIN: every SELECT below sees the same WAL snapshot.
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=30)
            try:
                conn.execute("BEGIN")
                yield lambda sql: conn.execute(sql).fetchall()
                conn.execute("COMMIT")
            finally:
                conn.close()
            return
        with self.engine.connect() as pg:
            pg.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            yield lambda sql: [tuple(r) for r in pg.execute(text(sql))]

    def read(self) -> State:
        """Accounts, snapshot keys and counts, and runs, as of one moment."""
        with self._snapshot() as query:
            accounts = {
                int(i): (_utc(last), _utc(due))
                for i, last, due in query("SELECT id, last_success_at, next_due_at FROM account")
            }
            keys: set[tuple[int, datetime]] = set()
            for account_id, collected_at in query(
                "SELECT account_id, collected_at FROM profile_snapshot"
            ):
                at = _utc(collected_at)
                assert at is not None
                keys.add((int(account_id), at))
            (post_snapshots,) = query("SELECT count(*) FROM post_snapshot")[0]
            (posts,) = query("SELECT count(*) FROM post")[0]
            (late_snapshots,) = query(
                "SELECT count(*) FROM post_snapshot s JOIN post p ON p.id = s.post_id"
                " JOIN account a ON a.id = p.account_id"
                " WHERE a.last_success_at IS NULL OR s.collected_at > a.last_success_at"
            )[0]
            (late_posts,) = query(
                "SELECT count(*) FROM post p JOIN account a ON a.id = p.account_id"
                " WHERE a.last_success_at IS NULL OR p.first_seen_at > a.last_success_at"
            )[0]
            runs = [
                (int(i), str(s), o)
                for i, s, o in query("SELECT id, status, owner FROM collection_run")
            ]
        return State(
            accounts,
            keys,
            int(post_snapshots),
            int(posts),
            int(late_snapshots),
            int(late_posts),
            runs,
        )

    def _scalar(self, sql: str, **params: Any) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(sql), params).scalar_one())

    def running_runs(self, owner: str) -> int:
        """Runs of ``owner`` still marked running."""
        return self._scalar(
            "SELECT count(*) FROM collection_run WHERE owner = :o AND status = 'running'", o=owner
        )

    def collected_since(self, since: datetime | None) -> int:
        """Accounts collected at or after ``since`` (ever, if None)."""
        if since is None:
            return self._scalar("SELECT count(*) FROM account WHERE last_success_at IS NOT NULL")
        with self.engine.connect() as conn:
            query = select(func.count()).where(ACCOUNT.c.last_success_at >= since)
            return int(conn.execute(query).scalar_one())

    def due_and_not_collected(self, since: datetime) -> int:
        """Accounts due at ``since`` and not collected since."""
        with self.engine.connect() as conn:
            query = select(func.count()).where(
                ACCOUNT.c.status == "active",
                (ACCOUNT.c.last_success_at.is_(None)) | (ACCOUNT.c.last_success_at < since),
                (ACCOUNT.c.next_due_at.is_(None)) | (ACCOUNT.c.next_due_at <= since),
            )
            return int(conn.execute(query).scalar_one())

    def writing(self) -> bool:
        """True while the daemon holds an open write transaction."""
        if self.path is not None:
            if self._probe is None:
                self._probe = sqlite3.connect(self.path, isolation_level=None, timeout=0)
            try:
                self._probe.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return True  # another connection holds the write lock
            self._probe.execute("ROLLBACK")
            return False
        with self.engine.connect() as conn:
            return bool(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
                    )
                ).scalar_one()
            )


def check(
    state: State, interval: timedelta, *, duplicates_possible: bool = True
) -> tuple[int, int, list[str]]:
    """Duplicates, partial batches and their descriptions, in one state."""
    problems: list[str] = []
    by_account: dict[int, list[datetime]] = {}
    for account_id, at in state.profile_keys:
        by_account.setdefault(account_id, []).append(at)
    duplicates = 0
    for account_id, times in by_account.items():
        times.sort()
        for before, after in itertools.pairwise(times):
            if duplicates_possible and after - before < interval / 2:
                duplicates += 1
                problems.append(f"account {account_id} collected twice: {before} and {after}")
    partial = state.late_post_snapshots + state.late_posts
    if partial:
        problems.append(
            f"{state.late_post_snapshots} post snapshots and {state.late_posts} posts stored "
            "without their account's state"
        )
    for account_id, (last_success, _due) in state.accounts.items():
        times = by_account.get(account_id, [])
        if last_success is None:
            if times:
                partial += 1
                problems.append(f"account {account_id}: snapshots stored, state never moved")
            continue
        newest = max(times, default=None)
        if newest is None or newest > last_success or last_success - newest > interval / 2:
            partial += 1
            problems.append(
                f"account {account_id}: state moved at {last_success}, newest snapshot {newest}"
            )
    return duplicates, partial, problems


# -- the daemon process ------------------------------------------------------------------------


class Platforms:
    """The fake platforms in a thread of this process, with a flag raised on every request."""

    _lock = threading.Lock()
    _users = 0
    _saved = (bluesky.RATE_LIMIT, mastodon.RATE_LIMIT)

    def __init__(self, plan: Plan) -> None:
        self.world = World(
            auto_create=True, posts_per_account=plan.posts, latency_seconds=plan.latency_ms / 1000
        )
        self.requested = threading.Event()
        self.world.requests = _Signalling(self.requested)
        self.server = FakePlatformServer(self.world)

    def __enter__(self) -> Platforms:
        with Platforms._lock:
            if Platforms._users == 0:
                # Pacing is proven elsewhere; here the windows must never be what stops a pass.
                Platforms._saved = (bluesky.RATE_LIMIT, mastodon.RATE_LIMIT)
                bluesky.RATE_LIMIT = mastodon.RATE_LIMIT = 10**9
            Platforms._users += 1
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
        with Platforms._lock:
            Platforms._users -= 1
            if Platforms._users == 0:
                bluesky.RATE_LIMIT, mastodon.RATE_LIMIT = Platforms._saved


class _Signalling(list[tuple[str, str, str]]):
    """The world's request log, which raises an event as each request arrives."""

    def __init__(self, event: threading.Event) -> None:
        super().__init__()
        self.event = event

    def append(self, item: tuple[str, str, str]) -> None:
        if len(self) > 10_000:
            self.clear()
        super().append(item)
        self.event.set()


def write_config(directory: Path, plan: Plan, server: FakePlatformServer) -> Path:
    """collector.toml and watchlist.yaml for the workload."""
    lines = ["creators:"]
    for platform, count in (
        ("bluesky", plan.bluesky_accounts),
        ("mastodon", plan.mastodon_accounts),
    ):
        for i in range(count):
            handle = (
                f"crash{i:04d}.bsky.social" if platform == "bluesky" else f"crash{i:04d}@m.example"
            )
            lines += [f"  - name: {platform} {i}", "    accounts:", f'      {platform}: "{handle}"']
    (directory / "watchlist.yaml").write_text("\n".join(lines) + "\n")
    toml = ['watchlist = "watchlist.yaml"', "[scheduler]", 'tick = "1s"']
    for platform in ("bluesky", "mastodon"):
        toml += [
            f"[platforms.{platform}]",
            f'interval = "{plan.interval_seconds}s"',
            f'base_url = "{server.url_for(platform)}"',
            "timeout_seconds = 10",
        ]
    (directory / "collector.toml").write_text("\n".join(toml) + "\n")
    return directory / "collector.toml"


class Daemon:
    """One ``collector run`` process; its log goes to a file of its own."""

    def __init__(self, config: Path, url: str, log: Path) -> None:
        self.log = log
        self._log_file = log.open("w")
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "collector",
                "run",
                "--config",
                str(config),
                "--db",
                url,
                "--log-format",
                "json",
            ],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
            env=env,
        )
        self.owner = f"{socket.gethostname()}:{self.process.pid}"

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._log_file.close()

    def terminate(self) -> tuple[float, int]:
        """SIGTERM; returns how long the process took to exit and its exit code."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._log_file.close()
        return time.monotonic() - started, code

    def crashes(self) -> int:
        """Passes that crashed on a bug, as the log says."""
        return self.log.read_text(errors="replace").count('"pass crashed"')


def _wait(condition: Callable[[], bool], seconds: float, step: float = 0.002) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


# -- one backend --------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(backend: str, directory: Path) -> Iterator[str]:
    """A freshly migrated database of the harness's own, removed afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{directory / 'crash.db'}"
        _upgrade(url)
        yield url
        return
    admin = make_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"collector_crash_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        _upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_crash_harness(
    backend: str,
    plan: Plan,
    directory: Path,
    *,
    say: Callable[[str], None] = lambda _line: None,
) -> CrashReport:
    """Kill and restart the daemon ``plan.kills`` times on ``backend``; check after each."""
    report = CrashReport(backend)
    rng = random.Random(plan.seed)
    interval = timedelta(seconds=plan.interval_seconds)
    started = time.monotonic()
    with Platforms(plan) as platforms, scratch_database(backend, directory) as url:
        config = write_config(directory, plan, platforms.server)
        db = Database(url)
        try:
            if plan.baseline:
                report.baseline_pass_seconds = _baseline(db, config, url, directory, plan)
            inherited = db.read()
            restart_at = _now()
            daemon = Daemon(config, url, directory / "run-001.log")
            for kill in range(1, plan.kills + 1):
                if kill % plan.catch_up_every == 0:
                    _catch_up(db, inherited, restart_at, interval, report)
                moment = MOMENTS[(kill - 1) % len(MOMENTS)]
                struck = _strike(db, platforms, moment, rng, plan)
                report.moments[struck] += 1
                before = db.read()
                daemon.kill()
                report.kills += 1
                report.pass_crashes += daemon.crashes()
                # What the killed process left, before anything else touches it.
                inherited = db.read()
                _compare(before, inherited, interval, report)
                killed, restart_at = daemon.owner, _now()
                daemon = Daemon(config, url, directory / f"run-{kill + 1:03d}.log")
                _interrupted(db, killed, kill, report)
                say(
                    f"{backend}: kill {kill}/{plan.kills} ({struck}): "
                    f"{len(report.problems)} problems"
                )
            _final(db, daemon, plan, inherited, restart_at, interval, report)
        finally:
            db.close()
    report.wall_seconds = time.monotonic() - started
    return report


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _baseline(db: Database, config: Path, url: str, directory: Path, plan: Plan) -> float:
    """Seconds the first full pass takes with no kill: what catch-up is compared with."""
    started = time.monotonic()
    daemon = Daemon(config, url, directory / "baseline.log")
    total = plan.bluesky_accounts + plan.mastodon_accounts
    done = _wait(lambda: db.collected_since(None) >= total, plan.interval_seconds * 3, step=0.02)
    seconds = time.monotonic() - started
    daemon.kill()
    return seconds if done else float("nan")


def _strike(db: Database, platforms: Platforms, moment: str, rng: random.Random, plan: Plan) -> str:
    """Wait for the chosen kind of moment; returns the kind actually struck."""
    limit = plan.interval_seconds * 1.5
    if moment == "fetch":
        platforms.requested.clear()
        if platforms.requested.wait(limit):
            # Land inside the request, which the fake platform holds for its latency.
            time.sleep(rng.uniform(0, plan.latency_ms / 1000 / 2))
            return "fetch"
        return "idle"
    if moment == "write":
        return "write" if _wait(db.writing, limit) else "idle"
    time.sleep(rng.uniform(0.05, plan.random_max_seconds))
    if db.writing():
        return "random (write)"
    return "random (fetch or idle)"


def _interrupted(db: Database, owner: str, kill: int, report: CrashReport) -> None:
    """The restarted daemon must mark the killed one's runs interrupted."""
    marked = _wait(lambda: db.running_runs(owner) == 0, 30, 0.02)
    report.interrupted_marked += sum(
        1 for _i, status, o in db.read().runs if o == owner and status == "interrupted"
    )
    if not marked:
        report.running_left += 1
        report.problems.append(f"kill {kill}: runs of {owner} still running after the restart")


def _compare(
    before: State,
    after: State,
    interval: timedelta,
    report: CrashReport,
    *,
    duplicates_possible: bool = True,
) -> None:
    report.checks += 1
    report.rows_checked += len(after.profile_keys) + after.post_snapshots
    lost = len(before.profile_keys - after.profile_keys) + max(
        before.post_snapshots - after.post_snapshots, 0
    )
    if lost:
        report.lost += lost
        report.problems.append(f"{lost} committed rows lost")
    duplicates, partial, problems = check(after, interval, duplicates_possible=duplicates_possible)
    report.duplicates += duplicates
    report.partial += partial
    report.problems.extend(problems)


def _catch_up(
    db: Database, inherited: State, restart_at: datetime, interval: timedelta, report: CrashReport
) -> None:
    """Wait until every account due at the restart has been collected; record how long."""
    due = sum(
        1
        for _last, next_due in inherited.accounts.values()
        if next_due is None or next_due <= restart_at
    )
    done = _wait(
        lambda: db.due_and_not_collected(restart_at) == 0, interval.total_seconds() * 2, 0.02
    )
    seconds = (datetime.now(UTC) - restart_at).total_seconds()
    report.catch_up_seconds.append(seconds)
    if not done or seconds > interval.total_seconds():
        report.problems.append(
            f"catch-up of {due} due accounts took {seconds:.1f}s (interval {interval})"
        )


def _final(
    db: Database,
    daemon: Daemon,
    plan: Plan,
    inherited: State,
    restart_at: datetime,
    interval: timedelta,
    report: CrashReport,
) -> None:
    """Catch up once more, then SIGTERM under load; the last check is on the final state."""
    _catch_up(db, inherited, restart_at, interval, report)
    before = db.read()
    if plan.sigterm:
        # Under load: every account made due, so the signal lands inside a full pass.
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE account SET next_due_at = NULL"))
        if not _wait(db.writing, interval.total_seconds() * 1.5):
            report.problems.append("no write started before SIGTERM")
        report.sigterm_seconds, report.sigterm_exit_code = daemon.terminate()
        if report.sigterm_exit_code != 0 or report.sigterm_seconds > SIGTERM_LIMIT_SECONDS:
            report.problems.append(
                f"SIGTERM: exit {report.sigterm_exit_code} after {report.sigterm_seconds:.1f}s"
            )
        left = db.running_runs(daemon.owner)
        if left:
            report.running_left += left
            report.problems.append(f"SIGTERM left {left} runs running")
    else:
        daemon.kill()
    report.pass_crashes += daemon.crashes()
    final = db.read()
    # With SIGTERM, accounts were made due by hand: their re-collection is no duplicate.
    _compare(before, final, interval, report, duplicates_possible=not plan.sigterm)
    report.final_rows = len(final.profile_keys) + final.post_snapshots
    if report.pass_crashes:
        report.problems.append(f"{report.pass_crashes} passes crashed (see the run logs)")


# -- the command --------------------------------------------------------------------------------


def _table(reports: list[CrashReport]) -> str:
    rows: list[tuple[str, ...]] = [("figure", *(r.backend for r in reports))]

    def add(name: str, value: Callable[[CrashReport], object]) -> None:
        rows.append((name, *(str(value(r)) for r in reports)))

    add("SIGKILLs survived", lambda r: r.kills)
    add("  during a fetch", lambda r: r.moments["fetch"])
    add("  during a write", lambda r: r.moments["write"] + r.moments["random (write)"])
    add("  at a random moment", lambda r: r.moments["random (fetch or idle)"])
    add("  daemon idle", lambda r: r.moments["idle"])
    add("consistency checks", lambda r: r.checks)
    add("rows checked (all checks)", lambda r: f"{r.rows_checked:,}")
    add("rows at the end", lambda r: f"{r.final_rows:,}")
    add("committed rows lost", lambda r: r.lost)
    add("duplicate snapshots", lambda r: r.duplicates)
    add("partial batches", lambda r: r.partial)
    add("runs marked interrupted", lambda r: r.interrupted_marked)
    add("runs left running", lambda r: r.running_left)
    add("passes crashed", lambda r: r.pass_crashes)
    add("baseline: first pass, no kill (s)", lambda r: f"{r.baseline_pass_seconds or 0:.1f}")
    add(
        "catch-up after restart, max (s)",
        lambda r: f"{max(r.catch_up_seconds, default=0):.1f}",
    )
    add("SIGTERM under load: exit code", lambda r: r.sigterm_exit_code)
    add("SIGTERM under load: seconds", lambda r: f"{r.sigterm_seconds or 0:.2f}")
    add("wall time (s)", lambda r: f"{r.wall_seconds:.0f}")
    add("verdict", lambda r: "PASS" if r.ok else "FAIL")
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    )


def main(argv: list[str] | None = None) -> int:
    """Run the harness and print its figures; exit 1 if any check failed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=Plan.kills)
    parser.add_argument("--seed", type=int, default=Plan.seed)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--bluesky-accounts", type=int, default=Plan.bluesky_accounts)
    parser.add_argument("--interval-seconds", type=int, default=Plan.interval_seconds)
    args = parser.parse_args(argv)
    plan = Plan(
        kills=args.kills,
        seed=args.seed,
        bluesky_accounts=args.bluesky_accounts,
        interval_seconds=args.interval_seconds,
    )
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    reports = []
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix=f"crash-{backend}-") as directory:
            report = run_crash_harness(backend, plan, Path(directory), say=print)
            reports.append(report)
            for problem in report.problems[:20]:
                print(f"{backend}: PROBLEM: {problem}")
    print(
        f"\ncrash harness: seed {plan.seed}, {plan.bluesky_accounts} Bluesky + "
        f"{plan.mastodon_accounts} Mastodon accounts, interval {plan.interval_seconds}s, "
        f"latency {plan.latency_ms:.0f} ms\n"
    )
    print(_table(reports))
    return 0 if all(r.ok for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())

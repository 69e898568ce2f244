"""The collector's own bookkeeping: due accounts, batch results, runs, the watchlist sync.

Everything here is synchronous and runs on the pipeline's single database thread, so SQLite sees
one writer and the event loop never blocks on I/O.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.engine import Connection, Engine

from collector.logs import mask
from collector.storage import repo
from collector.storage.models import Account, CollectionRun, Creator, PayloadError, Post
from connectors.errors import AccountError, ConnectorError
from connectors.records import History, PostPage, PostRecord, ProfileRecord

__all__ = [
    "AccountOutcome",
    "DueAccount",
    "RunTotals",
    "Store",
    "SyncSummary",
    "default_owner",
]

ACCOUNT: Table = Account.__table__  # type: ignore[attr-defined]
POST: Table = Post.__table__  # type: ignore[attr-defined]
CREATOR: Table = Creator.__table__  # type: ignore[attr-defined]
RUN: Table = CollectionRun.__table__  # type: ignore[attr-defined]
PAYLOAD_ERROR: Table = PayloadError.__table__  # type: ignore[attr-defined]

# An account's state after a batch, as the driver's own SQL (``?`` marks, see
# :func:`repo.execute_positional`): as update() clauses, or even as text() statements with typed
# parameters, SQLAlchemy's per-call work cost more than the 25 rows they change.
_SUCCEEDED = (
    "UPDATE account SET platform_id = ?, display_name = ?, next_due_at = ?, posts_cursor = ?,"
    " last_success_at = ?, last_attempt_at = ?, consecutive_failures = 0 WHERE id = ?"
)
_FAILED = (
    "UPDATE account SET next_due_at = ?, consecutive_failures = ?, last_attempt_at = ? WHERE id = ?"
)
_CHANGED = (
    "UPDATE account SET status = ?, status_detail = ?, next_due_at = NULL, last_attempt_at = ?"
    " WHERE id = ?"
)


@functools.lru_cache(maxsize=64)
def _known_posts_sql(accounts: int) -> str:
    # The posts inside the re-poll horizon of some accounts, as the driver's SQL with one mark
    # per account; times come back raw (see Store.known_posts). As a text() with an expanding
    # parameter, SQLAlchemy's compiling and result processing cost more than the rows.
    marks = ", ".join(["?"] * accounts)
    return (
        "SELECT account_id, platform_post_id, next_poll_at, published_at FROM post"
        f" WHERE account_id IN ({marks}) AND published_at >= ?"
    )


def default_owner() -> str:
    """Identifies this process in ``collection_run.owner``."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class DueAccount:
    """An account the dispatcher is about to collect."""

    id: int
    handle: str
    platform_id: str | None
    posts_cursor: str | None
    last_success_at: datetime | None
    consecutive_failures: int


@dataclass(slots=True)
class AccountOutcome:
    """What one collection of one account produced; stored in the batch's single transaction."""

    account: DueAccount
    next_due_at: datetime | None
    profile: ProfileRecord | None = None
    history: History | None = None
    posts: PostPage | None = None
    error: ConnectorError | None = None
    #: When each stored post's counts are next due, by platform post id.
    post_next_poll: dict[str, datetime | None] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        """``ok``, ``partial`` (profile stored, posts failed) or the error's outcome."""
        if self.profile is None:
            return self.error.outcome if self.error else "missing"
        return "partial" if self.error is not None else "ok"


@dataclass(slots=True)
class RunTotals:
    """Counters of one dispatch, written to its ``collection_run`` row."""

    accounts: int = 0
    succeeded: int = 0
    failed: int = 0
    calls: int = 0
    quota_units: int = 0
    profile_rows: int = 0
    post_rows: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        """Count one account's outcome."""
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        if outcome in ("ok", "partial"):
            self.succeeded += 1
        else:
            self.failed += 1


@dataclass(frozen=True, slots=True)
class SyncSummary:
    """What a watchlist sync changed."""

    added: int
    reactivated: int
    unwatched: int
    creators: int


class Store:
    """Database operations of the pipeline and the daemon."""

    def __init__(self, engine: Engine, owner: str | None = None) -> None:
        self.engine = engine
        self.owner = owner or default_owner()

    # -- runs ------------------------------------------------------------------------------

    def start_run(self, platform: str, now: datetime) -> int:
        """Write the ``running`` row first, so a killed process leaves a visible trace."""
        with self.engine.begin() as conn:
            result = conn.execute(
                RUN.insert().values(
                    platform=platform,
                    started_at=now,
                    status="running",
                    accounts=0,
                    succeeded=0,
                    failed=0,
                    calls=0,
                    quota_units=0,
                    profile_rows=0,
                    post_rows=0,
                    outcomes={},
                    owner=self.owner,
                )
            )
            run_id = result.inserted_primary_key[0] if result.inserted_primary_key else None
        assert isinstance(run_id, int)
        return run_id

    def finish_run(
        self,
        run_id: int,
        totals: RunTotals,
        *,
        status: str,
        now: datetime,
        started_at: datetime,
        error: str | None = None,
    ) -> None:
        """Complete a run's row with what it did."""
        with self.engine.begin() as conn:
            conn.execute(
                update(RUN)
                .where(RUN.c.id == run_id)
                .values(
                    finished_at=now,
                    status=status,
                    accounts=totals.accounts,
                    succeeded=totals.succeeded,
                    failed=totals.failed,
                    calls=totals.calls,
                    quota_units=totals.quota_units,
                    profile_rows=totals.profile_rows,
                    post_rows=totals.post_rows,
                    outcomes=dict(totals.outcomes),
                    duration_seconds=(now - started_at).total_seconds(),
                    # Error text can quote a URL or a request; never let a token into the table.
                    error=mask(error) if error else None,
                )
            )

    def quota_units_since(self, platform: str, since: datetime) -> int:
        """Quota units this platform's runs spent since ``since`` (to seed its budget)."""
        query = select(func.coalesce(func.sum(RUN.c.quota_units), 0)).where(
            RUN.c.platform == platform, RUN.c.started_at >= since
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def mark_interrupted_runs(self, now: datetime) -> int:
        """Runs still ``running`` at start-up died with their process; say so."""
        with self.engine.begin() as conn:
            result = conn.execute(
                update(RUN)
                .where(RUN.c.status == "running")
                .values(
                    status="interrupted",
                    finished_at=now,
                    error="the process stopped before the run finished",
                )
            )
        return int(result.rowcount or 0)

    def record_payload_error(
        self, platform: str, run_id: int | None, message: str, raw_body: bytes, now: datetime
    ) -> None:
        """Keep a response whose shape changed, for whoever fixes the connector."""
        with self.engine.begin() as conn:
            conn.execute(
                PAYLOAD_ERROR.insert().values(
                    platform=platform,
                    run_id=run_id,
                    received_at=now,
                    message=mask(message),
                    # A platform may echo the request, token included, in the body it garbles.
                    raw_body=mask(raw_body.decode("utf-8", "surrogateescape")).encode(
                        "utf-8", "surrogateescape"
                    ),
                )
            )

    # -- due accounts ----------------------------------------------------------------------

    def due_accounts(
        self, platform: str, now: datetime, *, limit: int, include_not_due: bool = False
    ) -> list[DueAccount]:
        """Active accounts whose ``next_due_at`` has come, most overdue first."""
        query = select(
            ACCOUNT.c.id,
            ACCOUNT.c.handle,
            ACCOUNT.c.platform_id,
            ACCOUNT.c.posts_cursor,
            ACCOUNT.c.last_success_at,
            ACCOUNT.c.consecutive_failures,
        ).where(ACCOUNT.c.platform == platform, ACCOUNT.c.status == "active")
        if not include_not_due:
            query = query.where((ACCOUNT.c.next_due_at.is_(None)) | (ACCOUNT.c.next_due_at <= now))
        query = query.order_by(
            ACCOUNT.c.next_due_at.is_not(None), ACCOUNT.c.next_due_at, ACCOUNT.c.id
        ).limit(limit)
        with self.engine.connect() as conn:
            return [DueAccount(*row) for row in conn.execute(query)]

    # -- storing a batch -------------------------------------------------------------------

    def store_batch(self, outcomes: Sequence[AccountOutcome], now: datetime) -> tuple[int, int]:
        """Store a batch's snapshots and move its accounts' state, in ONE transaction.

        Returns the number of profile and post snapshot rows written.
        """
        profile_rows: list[dict[str, Any]] = []
        groups: list[tuple[int, Sequence[PostRecord], Mapping[str, datetime | None] | None]] = []
        for item in outcomes:
            account_id = item.account.id
            if item.history is not None:
                profile_rows.extend(repo.profile_row(account_id, p) for p in item.history.profiles)
                groups.append((account_id, item.history.posts, None))
            if item.profile is not None:
                profile_rows.append(repo.profile_row(account_id, item.profile))
            if item.posts is not None:
                groups.append((account_id, item.posts.posts, item.post_next_poll))
        with self.engine.begin() as conn:
            # The whole batch's posts in one statement, not one round of queries per account.
            post_rows = self._store_posts(conn, groups, now)
            repo.upsert_profile_snapshots(conn, profile_rows)
            self._move_state(conn, outcomes, now)
        return len(profile_rows), post_rows

    @staticmethod
    def _store_posts(
        conn: Connection,
        groups: Sequence[tuple[int, Sequence[PostRecord], Mapping[str, datetime | None] | None]],
        now: datetime,
    ) -> int:
        # Rows as plain values in column order: as dicts, building and picking them cost a
        # third of the batch's time on the database thread.
        rows: list[tuple[Any, ...]] = []
        for account_id, posts, next_poll_at in groups:
            latest: dict[str, PostRecord] = {}
            for post in posts:
                known = latest.get(post.platform_post_id)
                if known is None or post.collected_at >= known.collected_at:
                    latest[post.platform_post_id] = post
            schedule = next_poll_at or {}
            rows.extend(
                repo.post_values(account_id, p, now, schedule.get(key)) for key, p in latest.items()
            )
        if not rows:
            return 0
        ids = repo.upsert_post_values(conn, rows)
        # A post listed without its counts is known from now on, but is no observation.
        snapshots = [
            repo.post_snapshot_values(ids[(account_id, p.platform_post_id)], p)
            for account_id, posts, _ in groups
            for p in posts
            if p.has_counts
        ]
        return repo.upsert_post_snapshot_values(conn, snapshots)

    def known_posts(
        self, account_ids: Sequence[int], *, published_since: datetime
    ) -> dict[int, dict[str, tuple[datetime | None, datetime]]]:
        """Posts inside the re-poll horizon, by account: (next_poll_at, published_at)."""
        known: dict[int, dict[str, tuple[datetime | None, datetime]]] = {
            account_id: {} for account_id in account_ids
        }
        if not account_ids:
            return known
        with self.engine.connect() as conn:
            rows = repo.fetch_positional(
                conn, _known_posts_sql(len(account_ids)), [*account_ids, published_since]
            )
            parse = repo.stored_time(conn.dialect.name)
        # The times come raw and are parsed here, each distinct one once: SQLAlchemy's per-row
        # result processing cost more than the query, which every batch of a pass runs.
        times: dict[Any, datetime] = {}
        for account_id, post_id, next_poll_at, published_at in rows:
            next_poll = None
            if next_poll_at is not None:
                next_poll = times.get(next_poll_at)
                if next_poll is None:
                    next_poll = times[next_poll_at] = parse(next_poll_at)
            published = times.get(published_at)
            if published is None:
                published = times[published_at] = parse(published_at)
            known[account_id][post_id] = (next_poll, published)
        return known

    @staticmethod
    def _move_state(conn: Connection, outcomes: Sequence[AccountOutcome], now: datetime) -> None:
        succeeded: list[tuple[Any, ...]] = []
        failed: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        for item in outcomes:
            account = item.account
            if item.profile is not None:
                cursor = item.posts.cursor if item.posts is not None else account.posts_cursor
                succeeded.append(
                    (
                        item.profile.platform_id,
                        item.profile.display_name,
                        item.next_due_at,
                        cursor,
                        now,
                        now,
                        account.id,
                    )
                )
            elif isinstance(item.error, AccountError):
                changed.append((item.error.account_status, item.error.message, now, account.id))
            else:
                failed.append((item.next_due_at, account.consecutive_failures + 1, now, account.id))
        for sql, rows in ((_SUCCEEDED, succeeded), (_FAILED, failed), (_CHANGED, changed)):
            repo.execute_positional(conn, sql, rows)

    def reschedule(self, account_ids: Iterable[int], when: datetime) -> None:
        """Move accounts' next collection without storing anything (a paused platform)."""
        ids = list(account_ids)
        if not ids:
            return
        with self.engine.begin() as conn:
            conn.execute(update(ACCOUNT).where(ACCOUNT.c.id.in_(ids)).values(next_due_at=when))

    # -- the watchlist ---------------------------------------------------------------------

    def sync_watchlist(
        self,
        entries: Sequence[tuple[str, str, str, Sequence[str]]],
        *,
        platforms: Iterable[str],
        now: datetime,
    ) -> SyncSummary:
        """Make the database's accounts match the watchlist.

        Args:
            entries: (platform, handle, creator name, creator tags) for every watched account.
            platforms: The configured platforms; accounts elsewhere are left as they are.
            now: The time new accounts are added (and become due).

        New accounts are due at once; accounts removed from the watchlist become ``unwatched``
        (their history stays); an unwatched account that comes back is active again. Accounts
        the platform reported as not found, private or suspended keep that status.
        """
        platforms = set(platforms)
        added = reactivated = unwatched = 0
        with self.engine.begin() as conn:
            creators: dict[str, Sequence[str]] = {}
            for _platform, _handle, name, tags in entries:
                creators[name] = tags
            creator_ids = self._ensure_creators(conn, creators, now)
            wanted: dict[tuple[str, str], str] = {(p, h): n for p, h, n, _t in entries}
            existing = {
                (row.platform, row.handle): row
                for row in conn.execute(
                    select(
                        ACCOUNT.c.id,
                        ACCOUNT.c.platform,
                        ACCOUNT.c.handle,
                        ACCOUNT.c.status,
                        ACCOUNT.c.creator_id,
                    )
                )
            }
            new_rows = []
            for (platform, handle), name in wanted.items():
                row = existing.get((platform, handle))
                creator_id = creator_ids[name]
                if row is None:
                    new_rows.append(
                        {
                            "platform": platform,
                            "handle": handle,
                            "creator_id": creator_id,
                            "status": "active",
                            "added_at": now,
                            "next_due_at": now,
                            "consecutive_failures": 0,
                        }
                    )
                    added += 1
                    continue
                values: dict[str, Any] = {}
                if row.creator_id != creator_id:
                    values["creator_id"] = creator_id
                if row.status == "unwatched":
                    values.update(status="active", next_due_at=now)
                    reactivated += 1
                if values:
                    conn.execute(update(ACCOUNT).where(ACCOUNT.c.id == row.id).values(**values))
            if new_rows:
                conn.execute(ACCOUNT.insert(), new_rows)
            gone = [
                row.id
                for key, row in existing.items()
                if key not in wanted and key[0] in platforms and row.status == "active"
            ]
            if gone:
                conn.execute(
                    update(ACCOUNT).where(ACCOUNT.c.id.in_(gone)).values(status="unwatched")
                )
                unwatched = len(gone)
        return SyncSummary(added, reactivated, unwatched, len(creators))

    @staticmethod
    def _ensure_creators(
        conn: Connection, creators: dict[str, Sequence[str]], now: datetime
    ) -> dict[str, int]:
        existing = {
            row.name: (row.id, list(row.tags or []))
            for row in conn.execute(select(CREATOR.c.id, CREATOR.c.name, CREATOR.c.tags))
        }
        ids: dict[str, int] = {}
        for name, tags in creators.items():
            known = existing.get(name)
            if known is None:
                result = conn.execute(
                    CREATOR.insert().values(name=name, tags=list(tags), created_at=now)
                )
                ids[name] = int(result.inserted_primary_key[0])  # type: ignore[index]
            else:
                ids[name] = known[0]
                if known[1] != list(tags):
                    conn.execute(
                        update(CREATOR).where(CREATOR.c.id == known[0]).values(tags=list(tags))
                    )
        return ids

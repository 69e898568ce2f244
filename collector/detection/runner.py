"""Detection runs: full (``collector detect``) and incremental (after each collection pass).

A run loads accounts in chunks (one query per chunk for profiles, one for posts), scores each
chunk with the pure detectors, and writes its flags and the accounts' watermarks in one
transaction, so a crash never leaves a watermark ahead of the flags it stands for. A full run of
many accounts scores chunks in worker processes; the parent alone writes.

Incremental runs re-score only accounts whose data is newer than their watermark, and load only
the recent window plus the baseline before it: the detectors are causal (an interval is judged
against the weeks before it), so the recent findings are the same as a full run's.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from collector.detection.detectors import (
    DAY,
    DEFAULT,
    WEEK,
    Finding,
    JumpCandidate,
    Thresholds,
    detect_all,
    shared_farm_findings,
)
from collector.detection.flags import UpsertSummary, upsert_findings
from collector.detection.series import load_posts, load_profiles
from collector.storage.models import Account, DetectionState
from connectors.http import Clock, utcnow

if TYPE_CHECKING:
    from collector.detection.webhook import WebhookNotifier
    from collector.pipeline import PassResult
    from collector.settings import Settings

__all__ = [
    "DetectionSummary",
    "changed_accounts",
    "detect_accounts",
    "make_detection_hook",
    "run_detection",
]

log = structlog.get_logger("collector.detection")

#: Findings this recent are re-evaluated by an incremental run (an event still growing, posts
#: published after a jump that change its reading).
REEVALUATE_SECONDS = 7 * DAY
#: Accounts per query and per transaction.
CHUNK_SIZE = 1000
#: Below this many accounts a run stays in one process (starting workers costs about a second).
PARALLEL_FROM_ACCOUNTS = 3000

STATE = DetectionState.__table__  # type: ignore[attr-defined]
ACCOUNT = Account.__table__  # type: ignore[attr-defined]


@dataclass
class DetectionSummary:
    """What a run did: accounts scored, flags new and updated by severity, seconds."""

    accounts: int = 0
    findings: int = 0
    flags: UpsertSummary = field(default_factory=UpsertSummary)
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class _Chunk:
    findings: list[Finding]
    jumps: list[JumpCandidate]
    # account id → (latest profile collected_at, latest post snapshot collected_at), epoch s
    watermarks: dict[int, tuple[int | None, int | None]]


def _load_window(profiles_through: int | None, th: Thresholds) -> tuple[int | None, int | None]:
    """(load profiles from, emit findings ending from) for an account's watermark."""
    if profiles_through is None:
        return None, None
    emit_from = profiles_through - REEVALUATE_SECONDS
    # Whole weeks of baseline before the week of the first interval re-evaluated, and a week
    # more so that an event or run reaching back into that week is seen whole.
    week_start = (emit_from - 4 * DAY) // WEEK * WEEK + 4 * DAY
    return week_start - (th.baseline_weeks + 1) * WEEK, emit_from


def _score_chunk(
    conn: Connection,
    account_ids: Sequence[int],
    since: Mapping[int, int | None],
    platforms: Mapping[int, str],
    th: Thresholds,
) -> _Chunk:
    """Load and score one chunk; ``since`` holds each account's watermark (None: everything)."""
    buckets: dict[int | None, list[int]] = {}
    emit: dict[int, int | None] = {}
    for account_id in account_ids:
        load_from, emit_from = _load_window(since.get(account_id), th)
        buckets.setdefault(load_from, []).append(account_id)
        emit[account_id] = emit_from
    findings: list[Finding] = []
    jumps: list[JumpCandidate] = []
    watermarks: dict[int, tuple[int | None, int | None]] = {}
    for load_from, ids in buckets.items():
        series = load_profiles(conn, ids, since=load_from)
        posts_from = None if load_from is None else load_from - 130 * DAY
        posts = load_posts(conn, ids, since=posts_from)
        found, candidates = detect_all(series, posts, platforms, th)
        findings += [f for f in found if _recent(f.window_end, emit.get(f.account_id))]
        jumps += [j for j in candidates if _recent(j.window_end, emit.get(j.account_id))]
        for k, account_id in enumerate(series.account_ids.tolist()):
            lo, hi = int(series.offsets[k]), int(series.offsets[k + 1])
            plo, phi = int(posts.offsets[k]), int(posts.offsets[k + 1])
            watermarks[account_id] = (
                int(series.t[hi - 1]) if hi > lo else None,
                int(posts.collected[plo:phi].max()) if phi > plo else None,
            )
    return _Chunk(findings, jumps, watermarks)


def _recent(window_end: int, emit_from: int | None) -> bool:
    return emit_from is None or window_end >= emit_from


_WORKER_ENGINE: dict[str, Engine] = {}


def _score_chunk_in_worker(
    url: str,
    account_ids: Sequence[int],
    since: Mapping[int, int | None],
    platforms: Mapping[int, str],
    th: Thresholds,
) -> _Chunk:
    from collector.storage.db import make_engine

    engine = _WORKER_ENGINE.get(url)
    if engine is None:
        engine = _WORKER_ENGINE[url] = make_engine(url)
    with engine.connect() as conn:
        return _score_chunk(conn, account_ids, since, platforms, th)


def _ts(epoch: int | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


def _epoch(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def _write(
    conn: Connection, chunk: _Chunk, old: Mapping[int, int | None], now: datetime
) -> UpsertSummary:
    summary = upsert_findings(conn, chunk.findings, now)
    rows = []
    for account_id, (profiles, posts) in chunk.watermarks.items():
        rows.append(
            {
                "account_id": account_id,
                "profiles_through": _ts(profiles if profiles is not None else old.get(account_id)),
                "posts_through": _ts(posts),
                "scored_at": now,
            }
        )
    if rows:
        insert = (
            postgresql.insert(STATE) if conn.dialect.name == "postgresql" else sqlite.insert(STATE)
        )
        stmt = insert.on_conflict_do_update(
            index_elements=["account_id"],
            set_={
                "profiles_through": insert.excluded.profiles_through,
                "posts_through": insert.excluded.posts_through,
                "scored_at": insert.excluded.scored_at,
            },
        )
        conn.execute(stmt, rows)
    return summary


def _accounts(conn: Connection, account_ids: Iterable[int] | None) -> dict[int, tuple[str, str]]:
    stmt = select(ACCOUNT.c.id, ACCOUNT.c.platform, ACCOUNT.c.handle).order_by(ACCOUNT.c.id)
    wanted = None if account_ids is None else sorted({int(a) for a in account_ids})
    out: dict[int, tuple[str, str]] = {}
    if wanted is None:
        return {int(i): (p, h) for i, p, h in conn.execute(stmt)}
    for start in range(0, len(wanted), 5000):
        part = wanted[start : start + 5000]
        out.update({int(i): (p, h) for i, p, h in conn.execute(stmt.where(ACCOUNT.c.id.in_(part)))})
    return out


def _watermarks(conn: Connection, account_ids: Sequence[int]) -> dict[int, int | None]:
    out: dict[int, int | None] = {}
    for start in range(0, len(account_ids), 5000):
        part = list(account_ids[start : start + 5000])
        stmt = select(STATE.c.account_id, STATE.c.profiles_through).where(
            STATE.c.account_id.in_(part)
        )
        out.update({int(a): _epoch(p) for a, p in conn.execute(stmt)})
    return out


def _stored_jumps(
    conn: Connection, exclude: set[int], since: int, platforms: dict[int, str]
) -> list[JumpCandidate]:
    """Recent unexplained jumps of accounts outside this run, for the shared-farm check."""
    from collector.storage.models import Flag

    flag = Flag.__table__  # type: ignore[attr-defined]
    stmt = (
        select(
            flag.c.account_id,
            flag.c.window_start,
            flag.c.window_end,
            flag.c.evidence,
            ACCOUNT.c.platform,
        )
        .join(ACCOUNT, ACCOUNT.c.id == flag.c.account_id)
        .where(flag.c.dedupe_key.like("follower_jump:%"))
        .where(flag.c.kind != "organic_spike")
        .where(flag.c.window_end >= _ts(since))
    )
    out = []
    for account_id, start, end, evidence, platform in conn.execute(stmt):
        if account_id in exclude:
            continue
        platforms[int(account_id)] = platform
        out.append(
            JumpCandidate(
                int(account_id),
                int(start.timestamp()),
                int(end.timestamp()),
                float(evidence.get("excess") or 0),
                float(evidence.get("z") or 0),
                float(evidence.get("followers_before") or 0),
                False,
                float(evidence.get("rounding_unit") or 0),
            )
        )
    return out


def _run(
    engine: Engine,
    account_ids: Iterable[int] | None,
    *,
    incremental: bool,
    thresholds: Thresholds,
    clock: Clock,
    chunk_size: int,
    workers: int | None,
    progress: Callable[[int, int], None] | None,
) -> DetectionSummary:
    started = time.perf_counter()
    summary = DetectionSummary()
    with engine.connect() as conn:
        accounts = _accounts(conn, account_ids)
        ids = sorted(accounts)
        old = _watermarks(conn, ids) if incremental else {}
    platforms = {a: p for a, (p, _) in accounts.items()}
    names = {a: f"{p}:{h}" for a, (p, h) in accounts.items()}
    since: dict[int, int | None] = dict(old) if incremental else {}
    chunks = [ids[i : i + chunk_size] for i in range(0, len(ids), chunk_size)]
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if len(ids) >= PARALLEL_FROM_ACCOUNTS else 1
    jumps: list[JumpCandidate] = []
    done = 0
    if progress:
        progress(0, len(ids))

    def write(chunk: _Chunk) -> None:
        nonlocal done
        with engine.begin() as conn:
            summary.flags.add(_write(conn, chunk, old, clock()))
        summary.findings += len(chunk.findings)
        jumps.extend(chunk.jumps)
        done += len(chunk.watermarks)
        if progress:
            progress(done, len(ids))

    if workers > 1 and len(chunks) > 1:
        url = engine.url.render_as_string(hide_password=False)
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [
                pool.submit(
                    _score_chunk_in_worker,
                    url,
                    chunk,
                    {a: since.get(a) for a in chunk},
                    {a: platforms[a] for a in chunk},
                    thresholds,
                )
                for chunk in chunks
            ]
            for future in as_completed(futures):
                write(future.result())
    else:
        for chunk_ids in chunks:
            with engine.connect() as conn:
                result = _score_chunk(conn, chunk_ids, since, platforms, thresholds)
            write(result)
    if jumps:
        if incremental:
            with engine.connect() as conn:
                jumps += _stored_jumps(
                    conn, set(ids), min(j.window_start for j in jumps) - DAY, platforms
                )
        farm = shared_farm_findings(jumps, platforms, names, thresholds)
        if farm:
            with engine.begin() as conn:
                summary.flags.add(upsert_findings(conn, farm, clock()))
            summary.findings += len(farm)
    summary.accounts = len(ids)
    summary.seconds = time.perf_counter() - started
    return summary


def run_detection(
    engine: Engine,
    *,
    account_ids: Iterable[int] | None = None,
    thresholds: Thresholds = DEFAULT,
    clock: Clock = utcnow,
    chunk_size: int = CHUNK_SIZE,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> DetectionSummary:
    """Score every account (or those given) over all their stored history, and write flags."""
    return _run(
        engine,
        account_ids,
        incremental=False,
        thresholds=thresholds,
        clock=clock,
        chunk_size=chunk_size,
        workers=workers,
        progress=progress,
    )


def detect_accounts(
    engine: Engine,
    account_ids: Iterable[int],
    *,
    thresholds: Thresholds = DEFAULT,
    clock: Clock = utcnow,
    chunk_size: int = CHUNK_SIZE,
) -> DetectionSummary:
    """Re-score these accounts from their watermark: the recent window and its baseline only."""
    return _run(
        engine,
        list(account_ids),
        incremental=True,
        thresholds=thresholds,
        clock=clock,
        chunk_size=chunk_size,
        workers=1,
        progress=None,
    )


def changed_accounts(
    conn: Connection, *, platform: str | None = None, succeeded_since: datetime | None = None
) -> list[int]:
    """Accounts with profile or post data newer than what detection last scored."""
    where = []
    params: dict[str, Any] = {}
    if platform is not None:
        where.append("a.platform = :platform")
        params["platform"] = platform
    if succeeded_since is not None:
        where.append("a.last_success_at >= :since")
        params["since"] = succeeded_since
    newer = (
        "d.account_id IS NULL OR d.profiles_through IS NULL "
        "OR (SELECT max(p.collected_at) FROM profile_snapshot p WHERE p.account_id = a.id)"
        " > d.profiles_through "
        "OR (SELECT max(q.last_polled_at) FROM post q WHERE q.account_id = a.id)"
        " > COALESCE(d.posts_through, d.profiles_through)"
    )
    where.append(f"({newer})")
    sql = (
        "SELECT a.id FROM account a LEFT JOIN detection_state d ON d.account_id = a.id "
        f"WHERE {' AND '.join(where)} ORDER BY a.id"
    )
    stmt = text(sql)
    if succeeded_since is not None:
        from sqlalchemy import bindparam

        from collector.storage.types import UTCDateTime

        stmt = stmt.bindparams(bindparam("since", type_=UTCDateTime()))
    return [int(r[0]) for r in conn.execute(stmt, params)]


def _run_started(conn: Connection, run_id: int | None) -> datetime | None:
    if run_id is None:
        return None
    from collector.storage.models import CollectionRun

    run = CollectionRun.__table__  # type: ignore[attr-defined]
    value = conn.execute(select(run.c.started_at).where(run.c.id == run_id)).scalar()
    return value if isinstance(value, datetime) else None


def make_detection_hook(
    engine: Engine,
    settings: Settings | None = None,
    *,
    clock: Clock = utcnow,
    thresholds: Thresholds = DEFAULT,
    notifier: WebhookNotifier | bool | None = True,
) -> Callable[[PassResult], Awaitable[None]]:
    """An after-pass hook for the daemon: re-score what the pass changed, then announce.

    The database work runs in a thread (the event loop keeps collecting); runs never overlap.
    ``notifier`` True (the default) takes the webhook from ``COLLECTOR_WEBHOOK_URL``; pass a
    :class:`WebhookNotifier` to choose, or None to announce nothing.
    """
    from collector.detection.webhook import webhook_from_env

    chosen: WebhookNotifier | None
    if notifier is True:
        chosen = webhook_from_env(clock=clock)
    elif notifier is False:
        chosen = None
    else:
        chosen = notifier
    lock = asyncio.Lock()

    def score(result: PassResult) -> DetectionSummary:
        with engine.connect() as conn:
            started = _run_started(conn, result.run_id)
            ids = changed_accounts(conn, platform=result.platform, succeeded_since=started)
        if not ids:
            return DetectionSummary()
        return detect_accounts(engine, ids, thresholds=thresholds, clock=clock)

    async def detect_after_pass(result: PassResult) -> None:
        async with lock:
            summary = await asyncio.to_thread(score, result)
            if summary.accounts:
                log.info(
                    "detection",
                    platform=result.platform,
                    accounts=summary.accounts,
                    new=summary.flags.new,
                    updated=summary.flags.updated,
                    seconds=round(summary.seconds, 3),
                )
            if chosen is not None:
                await chosen.announce_pending(engine)

    return detect_after_pass

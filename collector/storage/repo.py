"""Idempotent writes shared by the pipeline and the CSV import.

Every write is an upsert keyed as the public schema says, so replaying a batch (after a crash,
or a re-imported file) changes nothing. Functions take a ``Connection`` inside a transaction the
caller owns: the caller decides what commits together (a batch's snapshots with its state).
They use SQLAlchemy Core, not ORM sessions: bulk upserts are several times faster. The hot
snapshot and post upserts go one step further: SQLAlchemy compiles each statement once per
dialect, and rows go to the driver as plain values, because building, caching and
type-processing a statement per call cost several times the insert itself
(``benchmarks/storage.py`` measures both against raw ``executemany``): to PostgreSQL's
``executemany``, and to SQLite as statements of up to 500 rows each, which cost half as much and
can return the rows' ids.

``profile_latest`` (each account's newest profile snapshot) is written by
:func:`upsert_profile_snapshots` itself, in the caller's transaction, so that no writer of
snapshots can leave it behind.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import DateTime, Integer, String, Table, bindparam, column, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeEngine

from collector.storage.models import (
    Account,
    Post,
    PostSnapshot,
    ProfileLatest,
    ProfileSnapshot,
)
from collector.storage.types import to_utc
from connectors.records import PostRecord, ProfileRecord

__all__ = [
    "ensure_accounts",
    "post_row",
    "post_snapshot_row",
    "post_snapshot_values",
    "post_values",
    "profile_row",
    "rebuild_profile_latest",
    "stored_time",
    "upsert_post_rows",
    "upsert_post_snapshot_values",
    "upsert_post_snapshots",
    "upsert_post_values",
    "upsert_posts",
    "upsert_profile_snapshots",
]

ACCOUNT: Table = Account.__table__  # type: ignore[attr-defined]
PROFILE_SNAPSHOT: Table = ProfileSnapshot.__table__  # type: ignore[attr-defined]
PROFILE_LATEST: Table = ProfileLatest.__table__  # type: ignore[attr-defined]
POST: Table = Post.__table__  # type: ignore[attr-defined]
POST_SNAPSHOT: Table = PostSnapshot.__table__  # type: ignore[attr-defined]

# Stay far below SQLite's bound-parameter limit whatever the row width.
_CHUNK = 500


def _insert(conn: Connection, table: Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- statements compiled once, rows sent as plain values ---------------------------------------

#: (dialect, statement name) → (SQL text, parameter names in order, positional?)
_COMPILED: dict[tuple[str, str], tuple[str, tuple[str, ...], bool]] = {}
_TIMESTAMPS = frozenset(
    {"collected_at", "published_at", "first_seen_at", "last_polled_at", "next_poll_at"}
)


def _sqlite_time(value: datetime) -> str:
    # Exactly what UTCDateTime stores on SQLite: naive UTC text to the second. Formatted by
    # hand: isoformat() and a replace() per value cost three times as much, and a pass
    # converts five times per post.
    if value.tzinfo is not None and value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return "%04d-%02d-%02d %02d:%02d:%02d" % (  # noqa: UP031 - the fastest form measured
        value.year,
        value.month,
        value.day,
        value.hour,
        value.minute,
        value.second,
    )


def _pg_time(value: datetime) -> datetime:
    return to_utc(value)


def stored_time(dialect: str) -> Callable[[Any], datetime]:
    """How a timestamp column read without type processing becomes an aware UTC datetime.

    SQLite gives the stored text, PostgreSQL a ``timestamptz`` in the session's zone. For hot
    reads that skip SQLAlchemy's result processing (a row's processors cost more than the row).
    """
    if dialect == "sqlite":
        return lambda text: datetime.fromisoformat(text).replace(tzinfo=UTC)
    return lambda value: value.astimezone(UTC)


def _compiled(
    conn: Connection, name: str, build: Callable[[], Any], columns: Sequence[str]
) -> tuple[str, tuple[str, ...], bool]:
    """``build()``'s statement compiled once per dialect: SQL, parameter order, positional?"""
    dialect = conn.dialect.name
    compiled = _COMPILED.get((dialect, name))
    if compiled is None:
        statement = build().compile(dialect=conn.dialect, column_keys=list(columns))
        positional = bool(statement.positional)
        order = tuple(statement.positiontup or ()) if positional else tuple(columns)
        compiled = _COMPILED[(dialect, name)] = (statement.string, order, positional)
    return compiled


def _execute_many(
    conn: Connection,
    name: str,
    build: Callable[[], Any],
    columns: Sequence[str],
    values: Sequence[Sequence[Any]],
    *,
    returning: str = "",
) -> list[Any]:
    """Run the statement ``build()`` gives for every row of values, in ``columns`` order.

    The statement is compiled once per dialect. ``returning`` (columns, on SQLite only) asks
    each upserted row back; the rows are returned.
    """
    sql, order, positional = _compiled(conn, name, build, columns)
    if not values:
        return []
    params = _driver_params(conn.dialect.name, columns, order, positional, values)
    return _send_rows(conn, sql, positional, params, returning)


def _picked(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> list[Sequence[Any]]:
    """The rows' values in ``columns`` order."""
    pick = itemgetter(*columns)
    return [pick(row) for row in rows]


def _send_rows(
    conn: Connection, sql: str, positional: bool, params: list[Any], returning: str = ""
) -> list[Any]:
    """Send one single-row statement's rows: on SQLite as multi-row VALUES, else executemany.

    SQLite runs a statement of 500 rows in half the CPU of ``executemany`` over them (one call
    from Python per chunk, not per row), and only that form can return rows: ``executemany``
    drops what a RETURNING clause gives.
    """
    if conn.dialect.name != "sqlite" or not positional:
        if returning:
            raise ValueError("RETURNING over many rows is only sent to SQLite")
        conn.exec_driver_sql(sql, params)
        return []
    returned: list[Any] = []
    for chunk in _chunks(params, _rows_per_statement(conn, len(params[0]) if params else 1)):
        values = tuple(chain.from_iterable(chunk))
        result = conn.exec_driver_sql(_multi_row_sql(sql, len(chunk), returning), values)
        if returning:
            returned.extend(result.fetchall())
    return returned


def _rows_per_statement(conn: Connection, width: int) -> int:
    """Rows of ``width`` values one SQLite statement may carry: 500, or fewer where the
    library's parameter limit is lower (999 before SQLite 3.32, or as a build sets it)."""
    driver = conn.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    limit = driver.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, min(_CHUNK, limit // width))


@functools.lru_cache(maxsize=256)
def _multi_row_sql(sql: str, rows: int, returning: str) -> str:
    """``sql``, a one-row ``INSERT … VALUES (?, …) …`` statement, for ``rows`` rows at once.

    The rows are applied in order, as ``executemany`` applies them: of two rows for one key the
    later wins.
    """
    head, marker, tail = sql.partition(" VALUES (")
    group, close, rest = tail.partition(")")
    if not marker or not close or set(group.split(", ")) != {"?"} or "?" in rest:
        raise ValueError(f"not a one-row INSERT with positional values only: {sql!r}")
    one_row = f"({group})"
    suffix = f" RETURNING {returning}" if returning else ""
    return f"{head} VALUES {', '.join([one_row] * rows)}{rest}{suffix}"


def _driver_params(
    dialect: str,
    columns: Sequence[str],
    order: Sequence[str],
    positional: bool,
    values: Iterable[Sequence[Any]],
) -> list[Any]:
    """Rows of values in ``columns`` order as the driver takes them (in the statement's
    ``order``), timestamps in their stored form."""
    to_time = _sqlite_time if dialect == "sqlite" else _pg_time
    times = [n for n, key in enumerate(columns) if key in _TIMESTAMPS]
    reorder = None
    if tuple(order) != tuple(columns):
        reorder = itemgetter(*[columns.index(key) for key in order])
    # A batch repeats few times (its collection time, the next polls of its young posts):
    # each distinct one is converted once.
    stored: dict[datetime, Any] = {}
    params: list[Any] = []
    for row in values:
        converted = list(row)
        for n in times:
            value = converted[n]
            if value is not None:
                known = stored.get(value)
                if known is None:
                    known = stored[value] = to_time(value)
                converted[n] = known
        ordered = converted if reorder is None else reorder(converted)
        params.append(tuple(ordered) if positional else dict(zip(order, ordered, strict=True)))
    return params


#: How each driver's paramstyle writes a positional parameter (the project's drivers: sqlite3,
#: psycopg; psycopg2 and pg8000 also write one of these).
_POSITIONAL = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def execute_positional(conn: Connection, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run ``sql``, written with ``?`` marks, once per row of values, straight on the driver.

    For small hot statements whose SQLAlchemy execution costs more than their rows; datetimes
    among the values are sent in their stored form (as UTCDateTime would send them).
    """
    if not rows:
        return
    params = [_stored_values(conn, row) for row in rows]
    conn.exec_driver_sql(_driver_sql(conn, sql), params)


def fetch_positional(conn: Connection, sql: str, values: Sequence[Any]) -> Sequence[Any]:
    """The rows ``sql``, written with ``?`` marks, answers for ``values``, straight from the driver.

    For small hot queries, as :func:`execute_positional`; the rows come as the driver gives them
    (timestamps raw: :func:`stored_time` reads them).
    """
    return conn.exec_driver_sql(_driver_sql(conn, sql), _stored_values(conn, values)).fetchall()


def _driver_sql(conn: Connection, sql: str) -> str:
    mark = _POSITIONAL[conn.dialect.paramstyle]
    return sql if mark == "?" else sql.replace("?", mark)


def _stored_values(conn: Connection, values: Iterable[Any]) -> tuple[Any, ...]:
    to_time = _sqlite_time if conn.dialect.name == "sqlite" else _pg_time
    return tuple(to_time(v) if isinstance(v, datetime) else v for v in values)


def ensure_accounts(
    conn: Connection,
    platform: str,
    handles: Iterable[str],
    *,
    now: datetime,
    status: str = "unwatched",
) -> dict[str, int]:
    """Ids of these handles on ``platform``, creating the missing accounts with ``status``."""
    wanted = sorted(set(handles))
    if not wanted:
        return {}
    rows = [
        {
            "platform": platform,
            "handle": h,
            "status": status,
            "added_at": now,
            "consecutive_failures": 0,
        }
        for h in wanted
    ]
    for chunk in _chunks(rows):
        stmt = _insert(conn, ACCOUNT).on_conflict_do_nothing(index_elements=["platform", "handle"])
        conn.execute(stmt, list(chunk))
    ids: dict[str, int] = {}
    for chunk in _chunks(wanted):
        result = conn.execute(
            select(ACCOUNT.c.handle, ACCOUNT.c.id).where(
                ACCOUNT.c.platform == platform, ACCOUNT.c.handle.in_(chunk)
            )
        )
        ids.update({handle: account_id for handle, account_id in result})
    return ids


def profile_row(account_id: int, record: ProfileRecord) -> dict[str, Any]:
    """The ``profile_snapshot`` row of one record."""
    return {
        "account_id": account_id,
        "collected_at": to_utc(record.collected_at),
        "followers": None if record.followers_hidden else record.followers,
        "following": record.following,
        "posts_count": record.posts_count,
        "followers_rounded": record.followers_rounded,
        "followers_hidden": record.followers_hidden,
    }


_PROFILE_COLUMNS = (
    "account_id",
    "collected_at",
    "followers",
    "following",
    "posts_count",
    "followers_rounded",
    "followers_hidden",
)


def _profile_upsert(dialect: Any) -> Any:
    stmt = dialect.insert(PROFILE_SNAPSHOT)
    return stmt.on_conflict_do_update(
        index_elements=["account_id", "collected_at"],
        set_={name: stmt.excluded[name] for name in _PROFILE_COLUMNS[2:]},
    )


def _profile_latest_upsert(dialect: Any) -> Any:
    stmt = dialect.insert(PROFILE_LATEST)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["account_id"],
        set_={name: excluded[name] for name in _PROFILE_COLUMNS[1:]},
        # An older snapshot (a history back-fill, an imported file) never replaces a newer
        # one; an equal one is the same snapshot written again and wins, as in profile_snapshot.
        where=excluded.collected_at >= PROFILE_LATEST.c.collected_at,
    )


def _newest_per_account(params: Sequence[Any], order: Sequence[str], positional: bool) -> list[Any]:
    """Each account's newest row of these driver parameters; of two at one time, the later.

    Times are compared in their stored form (UTC, to the second; text on SQLite, whose fixed
    format sorts as time does), so the row kept is the one the snapshot upsert left in
    ``profile_snapshot`` for that time.
    """
    account: int | str = order.index("account_id") if positional else "account_id"
    at: int | str = order.index("collected_at") if positional else "collected_at"
    newest: dict[int, Any] = {}
    for values in params:
        known = newest.get(values[account])
        if known is None or values[at] >= known[at]:
            newest[values[account]] = values
    # Account order: two transactions upserting the same accounts lock them in the same order
    # (PostgreSQL), so they queue instead of deadlocking.
    return [newest[account_id] for account_id in sorted(newest)]


def upsert_profile_snapshots(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert or replace profile snapshots keyed by (account_id, collected_at).

    Each account's newest row also goes to ``profile_latest`` (one upsert per account, not per
    row), unless that table already holds a newer snapshot of the account.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    sql, order, positional = _compiled(
        conn, "profile_snapshot", lambda: _profile_upsert(dialect), _PROFILE_COLUMNS
    )
    latest_sql, latest_order, latest_positional = _compiled(
        conn, "profile_latest", lambda: _profile_latest_upsert(dialect), _PROFILE_COLUMNS
    )
    if not rows:
        return 0
    values = _picked(_PROFILE_COLUMNS, rows)
    params = _driver_params(conn.dialect.name, _PROFILE_COLUMNS, order, positional, values)
    _send_rows(conn, sql, positional, params)
    # Both statements insert the same columns, so the latest upsert reuses the values just sent:
    # converting and comparing them afresh was half of what profile_latest added on SQLite.
    if (latest_order, latest_positional) != (order, positional):
        params = _driver_params(
            conn.dialect.name, _PROFILE_COLUMNS, latest_order, latest_positional, values
        )
    newest = _newest_per_account(params, latest_order, latest_positional)
    _send_rows(conn, latest_sql, latest_positional, newest)
    return len(rows)


_SNAPSHOT_COLUMNS_SQL = ", ".join(_PROFILE_COLUMNS)
_PS_COLUMNS_SQL = ", ".join("ps." + name for name in _PROFILE_COLUMNS)
# Each account's newest snapshot: one backward primary-key seek per account on both backends
# (PostgreSQL's planner would hash the whole snapshot table for the max() form).
_NEWEST_SNAPSHOTS_SQL = {
    "postgresql": f"""
SELECT {_PS_COLUMNS_SQL} FROM account a
CROSS JOIN LATERAL (
  SELECT * FROM profile_snapshot p WHERE p.account_id = a.id
  ORDER BY p.collected_at DESC LIMIT 1) ps""",
    "sqlite": f"""
SELECT {_PS_COLUMNS_SQL} FROM account a
JOIN profile_snapshot ps ON ps.account_id = a.id
 AND ps.collected_at = (SELECT max(p.collected_at) FROM profile_snapshot p
                        WHERE p.account_id = a.id)""",
}


def rebuild_profile_latest(conn: Connection) -> int:
    """Recompute ``profile_latest`` from ``profile_snapshot``; returns its rows.

    For snapshots written around :func:`upsert_profile_snapshots` (a bulk load with ``COPY``
    or plain ``INSERT``, a restored table): Collector's own writers keep it current.
    """
    conn.execute(PROFILE_LATEST.delete())
    source = _NEWEST_SNAPSHOTS_SQL[conn.dialect.name]
    result = conn.execute(text(f"INSERT INTO profile_latest ({_SNAPSHOT_COLUMNS_SQL}) {source}"))
    return int(result.rowcount)


_POST_COLUMNS = (
    "account_id",
    "platform_post_id",
    "published_at",
    "kind",
    "url",
    "caption",
    "first_seen_at",
    "last_polled_at",
    "next_poll_at",
)


def _post_upsert(dialect: Any) -> Any:
    stmt = dialect.insert(POST)
    excluded = stmt.excluded
    return stmt.on_conflict_do_update(
        index_elements=["account_id", "platform_post_id"],
        set_={
            # A field the platform stops sending keeps what we knew.
            "kind": func.coalesce(excluded.kind, POST.c.kind),
            "url": func.coalesce(excluded.url, POST.c.url),
            "caption": func.coalesce(excluded.caption, POST.c.caption),
            "published_at": excluded.published_at,
            "last_polled_at": excluded.last_polled_at,
            # A post whose next poll is not given keeps its schedule.
            "next_poll_at": func.coalesce(excluded.next_poll_at, POST.c.next_poll_at),
        },
    )


def post_row(
    account_id: int, record: PostRecord, *, now: datetime, next_poll_at: datetime | None = None
) -> dict[str, Any]:
    """The ``post`` row of one record, first seen at ``now``."""
    return dict(zip(_POST_COLUMNS, post_values(account_id, record, now, next_poll_at), strict=True))


def post_values(
    account_id: int, record: PostRecord, now: datetime, next_poll_at: datetime | None = None
) -> tuple[Any, ...]:
    """:func:`post_row`'s values in column order, for :func:`upsert_post_values`."""
    return (
        account_id,
        record.platform_post_id,
        record.published_at,
        record.kind,
        record.url,
        record.caption,
        now,
        record.collected_at,
        next_poll_at,
    )


@functools.lru_cache(maxsize=64)
def _post_ids_sql(shape: tuple[int, ...], mark: str) -> str:
    """The lookup of post ids for groups of (one account, ``n`` of its posts), ``shape`` = n's.

    Each group is its own ``account_id = ? AND platform_post_id IN (...)`` term, so the unique
    index (account_id, platform_post_id) is probed once per post: one IN list of accounts and
    one of posts made SQLite probe every pairing (25 accounts x 300 posts a batch), four times
    the CPU. Sent as the driver's own SQL: as a SQLAlchemy statement, keying its hundreds of
    parameters for the compiled cache cost as much as the query.
    """
    terms = []
    for size in shape:
        posts = ", ".join([mark] * size)
        terms.append(f"(account_id = {mark} AND platform_post_id IN ({posts}))")
    return "SELECT account_id, platform_post_id, id FROM post WHERE " + " OR ".join(terms)


def _post_id_lookups(
    wanted: Iterable[tuple[int, str]], mark: str
) -> Iterator[tuple[str, list[Any]]]:
    """The queries and parameters that look up these (account, post) pairs' ids."""
    by_account: dict[int, list[str]] = {}
    for account_id, post_id in sorted(wanted):
        by_account.setdefault(account_id, []).append(post_id)
    shape: list[int] = []
    params: list[Any] = []
    for account_id, post_ids in by_account.items():
        for chunk in _chunks(post_ids):
            if shape and sum(shape) + len(chunk) > _CHUNK:
                yield _post_ids_sql(tuple(shape), mark), params
                shape, params = [], []
            shape.append(len(chunk))
            params.append(account_id)
            params.extend(chunk)
    if shape:
        yield _post_ids_sql(tuple(shape), mark), params


def upsert_post_rows(
    conn: Connection, rows: Sequence[Mapping[str, Any]]
) -> dict[tuple[int, str], int]:
    """Insert or refresh ``post`` rows of any accounts; ids by (account_id, platform post id).

    Rows are applied in order, so of two rows for one post the later wins (its next poll only
    if it names one).
    """
    return upsert_post_values(conn, _picked(_POST_COLUMNS, rows))


def upsert_post_values(
    conn: Connection, values: Sequence[Sequence[Any]]
) -> dict[tuple[int, str], int]:
    """:func:`upsert_post_rows` for rows given as :func:`post_values` (the pipeline's form)."""
    if not values:
        return {}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    ids: dict[tuple[int, str], int] = {}
    if dialect is sqlite:
        # The upsert answers the ids itself: half the CPU of upserting, then looking them up.
        # (PostgreSQL refuses one statement that touches a post twice, which rows may do.)
        returned = _execute_many(
            conn,
            "post",
            lambda: _post_upsert(dialect),
            _POST_COLUMNS,
            values,
            returning="account_id, platform_post_id, id",
        )
        for account_id, platform_post_id, post_id in returned:
            ids[(account_id, platform_post_id)] = post_id
        return ids
    _execute_many(conn, "post", lambda: _post_upsert(dialect), _POST_COLUMNS, values)
    wanted = {(row[0], row[1]) for row in values}  # account_id, platform_post_id
    mark = _POSITIONAL[conn.dialect.paramstyle]
    for sql, params in _post_id_lookups(wanted, mark):
        for account_id, platform_post_id, post_id in conn.exec_driver_sql(
            sql, tuple(params)
        ).fetchall():
            ids[(account_id, platform_post_id)] = post_id
    return ids


def upsert_posts(
    conn: Connection,
    account_id: int,
    posts: Sequence[PostRecord],
    *,
    now: datetime,
    next_poll_at: Mapping[str, datetime | None] | None = None,
) -> dict[str, int]:
    """Insert or refresh the posts of one account; returns their ids by platform post id.

    ``next_poll_at`` gives, by platform post id, when each post's counts are next due; posts
    it does not name keep their schedule.
    """
    if not posts:
        return {}
    latest: dict[str, PostRecord] = {}
    for post in posts:
        known = latest.get(post.platform_post_id)
        if known is None or post.collected_at >= known.collected_at:
            latest[post.platform_post_id] = post
    schedule = next_poll_at or {}
    rows = [
        post_row(account_id, p, now=now, next_poll_at=schedule.get(p.platform_post_id))
        for p in latest.values()
    ]
    ids = upsert_post_rows(conn, rows)
    return {platform_post_id: post_id for (_, platform_post_id), post_id in ids.items()}


def post_snapshot_row(post_id: int, record: PostRecord) -> dict[str, Any]:
    """The ``post_snapshot`` row of one record."""
    row = dict(zip(_POST_SNAPSHOT_COLUMNS, post_snapshot_values(post_id, record), strict=True))
    row["collected_at"] = to_utc(record.collected_at)
    return row


def post_snapshot_values(post_id: int, record: PostRecord) -> tuple[Any, ...]:
    """:func:`post_snapshot_row`'s values in column order, for
    :func:`upsert_post_snapshot_values` (which stores the time as UTC, to the second)."""
    return (
        post_id,
        record.collected_at,
        record.views,
        record.likes,
        record.comments,
        record.shares,
        record.quotes,
        record.saves,
    )


_POST_SNAPSHOT_COLUMNS = (
    "post_id",
    "collected_at",
    "views",
    "likes",
    "comments",
    "shares",
    "quotes",
    "saves",
)


def _post_snapshot_upsert(dialect: Any) -> Any:
    stmt = dialect.insert(POST_SNAPSHOT)
    return stmt.on_conflict_do_update(
        index_elements=["post_id", "collected_at"],
        set_={name: stmt.excluded[name] for name in _POST_SNAPSHOT_COLUMNS[2:]},
    )


def upsert_post_snapshots(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert or replace post snapshots keyed by (post_id, collected_at)."""
    return upsert_post_snapshot_values(conn, _picked(_POST_SNAPSHOT_COLUMNS, rows))


def upsert_post_snapshot_values(conn: Connection, values: Sequence[Sequence[Any]]) -> int:
    """:func:`upsert_post_snapshots` for rows given as :func:`post_snapshot_values`."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    _execute_many(
        conn,
        "post_snapshot",
        lambda: _post_snapshot_upsert(dialect),
        _POST_SNAPSHOT_COLUMNS,
        values,
    )
    return len(values)


def existing_handles(conn: Connection, platform: str, handles: Iterable[str]) -> set[str]:
    """Which of these handles already have an account on ``platform``."""
    wanted = sorted(set(handles))
    found: set[str] = set()
    for chunk in _chunks(wanted):
        result = conn.execute(
            select(ACCOUNT.c.handle).where(
                ACCOUNT.c.platform == platform, ACCOUNT.c.handle.in_(chunk)
            )
        )
        found.update(result.scalars())
    return found


def upsert_posts_of_accounts(
    conn: Connection, rows: Sequence[Mapping[str, Any]]
) -> dict[tuple[int, str], int]:
    """Insert or refresh ``post`` rows of many accounts at once; ids by (account_id, post id).

    The bulk form of :func:`upsert_posts` for imports: a few statements per thousand posts
    instead of two round trips per account. Rows must be unique by (account_id,
    platform_post_id) and carry every column of :func:`upsert_posts`'s rows.
    """
    columns: dict[str, TypeEngine[Any]] = {
        "account_id": Integer(),
        "platform_post_id": String(),
        "published_at": DateTime(timezone=True),
        "kind": String(),
        "url": String(),
        "caption": String(),
        "first_seen_at": DateTime(timezone=True),
        "last_polled_at": DateTime(timezone=True),
    }
    timestamps = ("published_at", "first_seen_at", "last_polled_at")
    postgres = conn.dialect.name == "postgresql"
    insert: Any
    if postgres:
        # One array per column through unnest(): a single short statement per chunk, where a
        # multi-row VALUES list costs psycopg seconds of parsing thousands of placeholders.
        source = (
            func.unnest(*(bindparam(name, type_=ARRAY(type_)) for name, type_ in columns.items()))
            .table_valued(*(column(name, type_) for name, type_ in columns.items()))
            .render_derived("k")
        )
        insert = postgresql.insert(POST).from_select(list(columns), select(source))
    else:
        insert = sqlite.insert(POST)
    excluded = insert.excluded
    # An upsert returns its row whether it inserted or updated it: no second query for ids.
    stmt = insert.on_conflict_do_update(
        index_elements=["account_id", "platform_post_id"],
        set_={
            # A field the platform stops sending keeps what we knew.
            "kind": func.coalesce(excluded.kind, POST.c.kind),
            "url": func.coalesce(excluded.url, POST.c.url),
            "caption": func.coalesce(excluded.caption, POST.c.caption),
            "published_at": excluded.published_at,
            "last_polled_at": excluded.last_polled_at,
        },
    ).returning(POST.c.account_id, POST.c.platform_post_id, POST.c.id)
    ids: dict[tuple[int, str], int] = {}
    for chunk in _chunks(rows, 5000 if postgres else _CHUNK):
        if postgres:
            params: Any = {
                name: [
                    to_utc(r[name]) if name in timestamps and r[name] is not None else r[name]
                    for r in chunk
                ]
                for name in columns
            }
        else:
            params = [dict(r) for r in chunk]
        result = conn.execute(stmt, params)
        ids.update({(account_id, pid): post_id for account_id, pid, post_id in result})
    return ids

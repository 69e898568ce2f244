"""Stored series as numpy arrays: one query per chunk of accounts, never one per account.

Each query aggregates an account's rows into comma-separated text in the database
(``group_concat`` on SQLite, ``string_agg`` on PostgreSQL) and numpy parses the text in C: a year
of 6-hourly snapshots of 10,000 accounts is 14.6 M rows, and building a Python tuple per row
would cost more than everything the detectors do. Timestamps travel as epoch seconds; a count
the platform did not publish (NULL, or a hidden follower count) travels as -1 and becomes NaN.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.engine import Connection

__all__ = [
    "PostTable",
    "ProfileSeries",
    "load_posts",
    "load_profiles",
    "segment_index",
]

Int = NDArray[np.int64]
Float = NDArray[np.float64]
Bool = NDArray[np.bool_]


def segment_index(offsets: Int) -> Int:
    """For flat arrays cut by ``offsets``, the segment (account position) of every element."""
    counts = np.diff(offsets)
    return np.repeat(np.arange(counts.size, dtype=np.int64), counts)


@dataclass(frozen=True, eq=False)
class ProfileSeries:
    """Profile snapshots of several accounts, flat and ordered by (account, time).

    Account ``k``'s snapshots are ``[offsets[k], offsets[k + 1])`` of every array.
    """

    account_ids: Int
    offsets: Int
    t: Int  # epoch seconds, UTC
    followers: Float  # NaN where unknown or hidden
    following: Float
    rounded: Bool  # the platform floored the follower count (YouTube: 3 significant figures)

    @classmethod
    def single(
        cls,
        t: Sequence[int] | Int,
        followers: Sequence[float | None] | Float,
        following: Sequence[float | None] | Float | None = None,
        *,
        account_id: int = 1,
        rounded: Sequence[bool] | Bool | None = None,
    ) -> ProfileSeries:
        """One account's series (tests and notebooks build series this way)."""
        return cls.concat(
            [
                (
                    account_id,
                    np.asarray(t, dtype=np.int64),
                    _floats(followers),
                    _floats(following if following is not None else [None] * len(t)),
                    np.asarray(
                        rounded if rounded is not None else np.zeros(len(t), dtype=bool),
                        dtype=bool,
                    ),
                )
            ]
        )

    @classmethod
    def concat(cls, parts: Iterable[tuple[int, Int, Float, Float, Bool]]) -> ProfileSeries:
        """Several accounts' series, each as (account_id, t, followers, following, rounded)."""
        items = list(parts)
        lengths = np.array([len(p[1]) for p in items], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

        def join(i: int, dtype: type) -> NDArray[np.generic]:
            if not items:
                return np.zeros(0, dtype=dtype)
            return np.concatenate([np.asarray(p[i], dtype=dtype) for p in items])

        return cls(
            account_ids=np.array([p[0] for p in items], dtype=np.int64),
            offsets=offsets,
            t=join(1, np.int64).astype(np.int64),
            followers=join(2, np.float64).astype(np.float64),
            following=join(3, np.float64).astype(np.float64),
            rounded=join(4, np.bool_).astype(np.bool_),
        )

    @property
    def accounts(self) -> int:
        """How many accounts the series holds."""
        return int(self.account_ids.size)

    def __len__(self) -> int:
        return int(self.t.size)


@dataclass(frozen=True, eq=False)
class PostTable:
    """The latest counts of several accounts' posts, flat and ordered by (account, published).

    ``offsets`` cut the arrays per account like :class:`ProfileSeries`; the accounts are the
    same, in the same order, as the profile series they were loaded with.
    """

    account_ids: Int
    offsets: Int
    post_ids: Int  # post.id
    published: Int  # epoch seconds
    collected: Int  # epoch seconds of the latest snapshot
    views: Float  # NaN where the platform does not publish the count
    likes: Float
    comments: Float
    shares: Float
    saves: Float
    # The counts at the post's first snapshot, when loaded: when a finding was first visible.
    first_collected: Int | None = None
    first_views: Float | None = None
    first_likes: Float | None = None
    first_comments: Float | None = None
    first_shares: Float | None = None

    @classmethod
    def empty(cls, account_ids: Int) -> PostTable:
        """No posts for these accounts."""
        zeros_i = np.zeros(0, dtype=np.int64)
        zeros_f = np.zeros(0, dtype=np.float64)
        return cls(
            account_ids=account_ids,
            offsets=np.zeros(account_ids.size + 1, dtype=np.int64),
            post_ids=zeros_i,
            published=zeros_i,
            collected=zeros_i,
            views=zeros_f,
            likes=zeros_f,
            comments=zeros_f,
            shares=zeros_f,
            saves=zeros_f,
        )

    @classmethod
    def single(
        cls,
        published: Sequence[int] | Int,
        *,
        likes: Sequence[float | None] | Float,
        views: Sequence[float | None] | Float | None = None,
        comments: Sequence[float | None] | Float | None = None,
        shares: Sequence[float | None] | Float | None = None,
        saves: Sequence[float | None] | Float | None = None,
        collected: Sequence[int] | Int | None = None,
        post_ids: Sequence[int] | Int | None = None,
        account_id: int = 1,
    ) -> PostTable:
        """One account's posts (tests build tables this way); counts default to unknown."""
        n = len(published)
        pub = np.asarray(published, dtype=np.int64)
        none = [None] * n
        return cls(
            account_ids=np.array([account_id], dtype=np.int64),
            offsets=np.array([0, n], dtype=np.int64),
            post_ids=np.asarray(
                post_ids if post_ids is not None else np.arange(1, n + 1), dtype=np.int64
            ),
            published=pub,
            collected=np.asarray(collected if collected is not None else pub + 7 * 86400).astype(
                np.int64
            ),
            views=_floats(views if views is not None else none),
            likes=_floats(likes),
            comments=_floats(comments if comments is not None else none),
            shares=_floats(shares if shares is not None else none),
            saves=_floats(saves if saves is not None else none),
        )

    def __len__(self) -> int:
        return int(self.post_ids.size)


def _floats(values: Sequence[float | None] | Float) -> Float:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


# -- loading ----------------------------------------------------------------------------------


def _epoch(conn: Connection, column: str) -> str:
    if conn.dialect.name == "postgresql":
        return f"CAST(EXTRACT(EPOCH FROM {column}) AS BIGINT)"
    return f"unixepoch({column})"


def _agg(conn: Connection, expr: str, order: str) -> str:
    if conn.dialect.name == "postgresql":
        return f"string_agg(CAST({expr} AS TEXT), ',' ORDER BY {order})"
    # SQLite 3.40 has no ORDER BY inside group_concat; rows arrive in the clustered key's order
    # and the caller checks the order anyway (see _ordered).
    return f"group_concat({expr})"


def _ints(texts: Sequence[str | None]) -> Int:
    joined = ",".join(t for t in texts if t)
    if not joined:
        return np.zeros(0, dtype=np.int64)
    parsed: Int = np.fromstring(joined, dtype=np.int64, sep=",")
    return parsed


def _counts(values: Int) -> Float:
    out = values.astype(np.float64)
    out[values < 0] = np.nan
    return out


def _id_list(account_ids: Iterable[int]) -> str:
    # Integers from our own queries, rendered inline: one short statement, no parameter limit.
    return ",".join(str(int(a)) for a in account_ids)


def load_profiles(
    conn: Connection, account_ids: Sequence[int], *, since: int | None = None
) -> ProfileSeries:
    """Profile snapshots of these accounts (collected at or after ``since``, epoch seconds)."""
    wanted = sorted({int(a) for a in account_ids})
    if not wanted:
        return ProfileSeries.concat([])
    t = _epoch(conn, "collected_at")
    followers = "CASE WHEN followers_hidden THEN -1 ELSE COALESCE(followers, -1) END"
    rounded = "CASE WHEN followers_rounded THEN 1 ELSE 0 END"
    where = f"account_id IN ({_id_list(wanted)})"
    if since is not None:
        where += f" AND collected_at >= {_timestamp_literal(conn, since)}"
    sql = (
        f"SELECT account_id, count(*), {_agg(conn, t, 'collected_at')}, "
        f"{_agg(conn, followers, 'collected_at')}, "
        f"{_agg(conn, 'COALESCE(following, -1)', 'collected_at')}, "
        f"{_agg(conn, rounded, 'collected_at')} "
        f"FROM profile_snapshot WHERE {where} GROUP BY account_id ORDER BY account_id"
    )
    rows = conn.exec_driver_sql(sql).fetchall()
    found = {int(r[0]): int(r[1]) for r in rows}
    lengths = np.array([found.get(a, 0) for a in wanted], dtype=np.int64)
    series = ProfileSeries(
        account_ids=np.array(wanted, dtype=np.int64),
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        t=_ints([r[2] for r in rows]),
        followers=_counts(_ints([r[3] for r in rows])),
        following=_counts(_ints([r[4] for r in rows])),
        rounded=_ints([r[5] for r in rows]).astype(bool),
    )
    return _ordered_profiles(series)


def load_posts(
    conn: Connection, account_ids: Sequence[int], *, since: int | None = None
) -> PostTable:
    """Each post's latest counts, for posts of these accounts published at or after ``since``."""
    wanted = sorted({int(a) for a in account_ids})
    ids = np.array(wanted, dtype=np.int64)
    if not wanted:
        return PostTable.empty(ids)
    where = f"p.account_id IN ({_id_list(wanted)})"
    if since is not None:
        where += f" AND p.published_at >= {_timestamp_literal(conn, since)}"
    order = "p.published_at, p.id"
    columns = [
        "p.id",
        _epoch(conn, "p.published_at"),
        _epoch(conn, "s.collected_at"),
        *(f"COALESCE(s.{c}, -1)" for c in ("views", "likes", "comments", "shares", "saves")),
        _epoch(conn, "f.collected_at"),
        *(f"COALESCE(f.{c}, -1)" for c in ("views", "likes", "comments", "shares")),
    ]
    aggregates = ", ".join(_agg(conn, c, order) for c in columns)
    sql = (
        f"SELECT p.account_id, count(*), {aggregates} FROM post p "
        "JOIN post_snapshot s ON s.post_id = p.id AND s.collected_at = "
        "(SELECT max(s2.collected_at) FROM post_snapshot s2 WHERE s2.post_id = p.id) "
        "JOIN post_snapshot f ON f.post_id = p.id AND f.collected_at = "
        "(SELECT min(s3.collected_at) FROM post_snapshot s3 WHERE s3.post_id = p.id) "
        f"WHERE {where} GROUP BY p.account_id ORDER BY p.account_id"
    )
    rows = conn.exec_driver_sql(sql).fetchall()
    found = {int(r[0]): int(r[1]) for r in rows}
    lengths = np.array([found.get(a, 0) for a in wanted], dtype=np.int64)
    cols = [_ints([r[i] for r in rows]) for i in range(2, 2 + len(columns))]
    table = PostTable(
        account_ids=ids,
        offsets=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
        post_ids=cols[0],
        published=cols[1],
        collected=cols[2],
        views=_counts(cols[3]),
        likes=_counts(cols[4]),
        comments=_counts(cols[5]),
        shares=_counts(cols[6]),
        saves=_counts(cols[7]),
        first_collected=cols[8],
        first_views=_counts(cols[9]),
        first_likes=_counts(cols[10]),
        first_comments=_counts(cols[11]),
        first_shares=_counts(cols[12]),
    )
    return _ordered_posts(table)


def _timestamp_literal(conn: Connection, epoch: int) -> str:
    if conn.dialect.name == "postgresql":
        return f"to_timestamp({int(epoch)})"
    # The stored text form ('YYYY-MM-DD HH:MM:SS') compares in time order.
    return f"datetime({int(epoch)}, 'unixepoch')"


def _ordered_profiles(series: ProfileSeries) -> ProfileSeries:
    seg = segment_index(series.offsets)
    if _is_sorted(seg, series.t):
        return series
    order = np.lexsort((series.t, seg))
    return ProfileSeries(
        account_ids=series.account_ids,
        offsets=series.offsets,
        t=series.t[order],
        followers=series.followers[order],
        following=series.following[order],
        rounded=series.rounded[order],
    )


def _ordered_posts(table: PostTable) -> PostTable:
    seg = segment_index(table.offsets)
    if _is_sorted(seg, table.published):
        return table
    order = np.lexsort((table.post_ids, table.published, seg))

    def pick(values: NDArray[Any] | None) -> NDArray[Any] | None:
        return None if values is None else values[order]

    return PostTable(
        account_ids=table.account_ids,
        offsets=table.offsets,
        post_ids=table.post_ids[order],
        published=table.published[order],
        collected=table.collected[order],
        views=table.views[order],
        likes=table.likes[order],
        comments=table.comments[order],
        shares=table.shares[order],
        saves=table.saves[order],
        first_collected=pick(table.first_collected),
        first_views=pick(table.first_views),
        first_likes=pick(table.first_likes),
        first_comments=pick(table.first_comments),
        first_shares=pick(table.first_shares),
    )


def _is_sorted(seg: Int, t: Int) -> bool:
    if t.size < 2:
        return True
    same = seg[1:] == seg[:-1]
    return bool(np.all(t[1:][same] >= t[:-1][same]))

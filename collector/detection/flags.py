"""Flags: findings stored once per (family, account, post, window start), and read back.

A re-run updates a flag (kind, severity, window end, score, evidence) instead of adding another;
it never touches ``status``, so a dismissed flag stays dismissed for its window however often
the same thing is detected again. ``flag_objects`` gives the public JSON shape shared by
``collector flags --format json`` and the read API.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from collector.detection.detectors import KINDS, Finding
from collector.storage.models import Account, Flag, Post

__all__ = [
    "SEVERITIES",
    "STATUSES",
    "FlagNotFound",
    "UpsertSummary",
    "describe",
    "flag_objects",
    "mark_notified",
    "pending_announcements",
    "set_status",
    "upsert_findings",
]

SEVERITIES = ("low", "medium", "high")
STATUSES = ("open", "acknowledged", "dismissed")
_RANK = {name: i for i, name in enumerate(SEVERITIES)}
_CHUNK = 500

FLAG: Table = Flag.__table__  # type: ignore[attr-defined]
ACCOUNT: Table = Account.__table__  # type: ignore[attr-defined]
POST: Table = Post.__table__  # type: ignore[attr-defined]


class FlagNotFound(LookupError):
    """No flag has that id."""


@dataclass
class UpsertSummary:
    """What one write of findings changed, by severity."""

    new: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))

    def add(self, other: UpsertSummary) -> None:
        """Fold another summary into this one."""
        for severity in SEVERITIES:
            self.new[severity] += other.new[severity]
            self.updated[severity] += other.updated[severity]


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _ts(epoch: int) -> datetime:
    return datetime.fromtimestamp(int(epoch), UTC)


def upsert_findings(conn: Connection, findings: Iterable[Finding], now: datetime) -> UpsertSummary:
    """Insert new flags and refresh known ones, in batches; statuses are never changed."""
    summary = UpsertSummary()
    latest: dict[str, Finding] = {}
    for finding in findings:
        known = latest.get(finding.dedupe_key)
        # One flag per key even if two detectors of one family found it: keep the stronger.
        if known is None or (_RANK[finding.severity], finding.score) > (
            _RANK[known.severity],
            known.score,
        ):
            latest[finding.dedupe_key] = finding
    keys = list(latest)
    for chunk in _chunks(keys):
        existing = {
            key: (flag_id, severity)
            for flag_id, key, severity in conn.execute(
                select(FLAG.c.id, FLAG.c.dedupe_key, FLAG.c.severity).where(
                    FLAG.c.dedupe_key.in_(chunk)
                )
            )
        }
        rows, changes = [], []
        for key in chunk:
            f = latest[key]
            row = {
                "kind": f.kind,
                "severity": f.severity,
                "window_end": _ts(f.window_end),
                "score": float(f.score),
                "evidence": f.evidence,
                "updated_at": now,
            }
            if key in existing:
                summary.updated[f.severity] += 1
                changes.append({"flag_id": existing[key][0], **row})
            else:
                summary.new[f.severity] += 1
                rows.append(
                    {
                        **row,
                        "account_id": f.account_id,
                        "post_id": f.post_id,
                        "window_start": _ts(f.window_start),
                        "status": "open",
                        "dedupe_key": key,
                        "created_at": now,
                    }
                )
        if rows:
            insert = (
                postgresql.insert(FLAG)
                if conn.dialect.name == "postgresql"
                else sqlite.insert(FLAG)
            )
            # Another run (the daemon and a manual detect) may have inserted it meanwhile.
            stmt = insert.on_conflict_do_update(
                index_elements=["dedupe_key"],
                set_={
                    name: insert.excluded[name]
                    for name in ("kind", "severity", "window_end", "score", "evidence")
                }
                | {"updated_at": insert.excluded.updated_at},
            )
            conn.execute(stmt, rows)
        if changes:
            from sqlalchemy import bindparam

            conn.execute(
                update(FLAG)
                .where(FLAG.c.id == bindparam("flag_id"))
                .values(
                    kind=bindparam("kind"),
                    severity=bindparam("severity"),
                    window_end=bindparam("window_end"),
                    score=bindparam("score"),
                    evidence=bindparam("evidence"),
                    updated_at=bindparam("updated_at"),
                ),
                changes,
            )
    return summary


def set_status(conn: Connection, flag_id: int, status: str, now: datetime) -> None:
    """Acknowledge, dismiss or reopen one flag."""
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    result = conn.execute(
        update(FLAG).where(FLAG.c.id == flag_id).values(status=status, updated_at=now)
    )
    if result.rowcount == 0:
        raise FlagNotFound(f"no flag with id {flag_id}")


def _query(
    *,
    status: str | None = None,
    severities: Sequence[str] | None = None,
    account_ids: Sequence[int] | None = None,
    ids: Sequence[int] | None = None,
) -> Any:
    stmt = (
        select(
            FLAG,
            ACCOUNT.c.platform,
            ACCOUNT.c.handle,
            POST.c.platform_post_id,
            POST.c.url.label("post_url"),
        )
        .join(ACCOUNT, ACCOUNT.c.id == FLAG.c.account_id)
        .outerjoin(POST, POST.c.id == FLAG.c.post_id)
        .order_by(FLAG.c.window_start.desc(), FLAG.c.id.desc())
    )
    if status is not None:
        stmt = stmt.where(FLAG.c.status == status)
    if severities is not None:
        stmt = stmt.where(FLAG.c.severity.in_(list(severities)))
    if account_ids is not None:
        stmt = stmt.where(FLAG.c.account_id.in_(list(account_ids)))
    if ids is not None:
        stmt = stmt.where(FLAG.c.id.in_(list(ids)))
    return stmt


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _object(row: Any) -> dict[str, Any]:
    m = row._mapping
    return {
        "id": m["id"],
        "platform": m["platform"],
        "handle": m["handle"],
        "account_id": m["account_id"],
        "kind": m["kind"],
        "severity": m["severity"],
        "status": m["status"],
        "window_start": _iso(m["window_start"]),
        "window_end": _iso(m["window_end"]),
        "score": m["score"],
        "post_id": m["platform_post_id"],
        "post_url": m["post_url"],
        "summary": describe(m["kind"], m["evidence"]),
        "evidence": m["evidence"],
        "created_at": _iso(m["created_at"]),
        "updated_at": _iso(m["updated_at"]),
    }


def flag_objects(
    conn: Connection,
    *,
    status: str | None = None,
    severities: Sequence[str] | None = None,
    account_ids: Sequence[int] | None = None,
    ids: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Flags in the public JSON shape (DESIGN.md "Flags as JSON"), newest window first.

    ``post_id`` is the platform's id of the post a flag concerns, or None for account flags.
    """
    stmt = _query(status=status, severities=severities, account_ids=account_ids, ids=ids)
    return [_object(row) for row in conn.execute(stmt)]


def pending_announcements(conn: Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Open medium/high flags that nobody has been told about yet, oldest first."""
    stmt = _query(status="open", severities=("medium", "high")).where(FLAG.c.notified_at.is_(None))
    stmt = stmt.order_by(None).order_by(FLAG.c.created_at, FLAG.c.id).limit(limit)
    return [_object(row) for row in conn.execute(stmt)]


def mark_notified(conn: Connection, flag_ids: Sequence[int], now: datetime) -> None:
    """Record that these flags were announced, so they are never announced again."""
    for chunk in _chunks(list(flag_ids)):
        conn.execute(update(FLAG).where(FLAG.c.id.in_(list(chunk))).values(notified_at=now))


def _n(value: Any) -> str:
    if isinstance(value, int | float):
        return f"{value:+,.0f}" if isinstance(value, int) else f"{value:,.3g}"
    return str(value)


def describe(kind: str, evidence: dict[str, Any]) -> str:
    """One sentence a person can act on, from a flag's kind and evidence."""
    e = evidence or {}
    if kind in ("bought_followers", "organic_spike", "follower_jump"):
        text = (
            f"{e.get('excess', 0):+,} followers beyond the usual "
            f"{e.get('baseline_rate_per_day') or 0:,.0f}/day in {e.get('hours') or 0:g}h"
            f" ({(e.get('excess_share') or 0) * 100:.1f}% of {e.get('followers_before', 0):,})"
        )
        if e.get("round_number"):
            text += f", a round {e['round_number']:+,}"
        ratio = e.get("engagement_after_ratio") or e.get("engagement_peak_ratio")
        if e.get("engagement") == "rose with the audience":
            ratio = max(e.get("engagement_peak_ratio") or 0, e.get("views_peak_ratio") or 0)
        if e.get("engagement") == "flat":
            text += "; engagement per post flat"
            if ratio is not None:
                text += f" ({ratio:g}×)"
        elif e.get("engagement") == "rose with the audience":
            text += f"; engagement rose ({ratio:g}×)" if ratio else "; engagement rose"
        elif e.get("engagement"):
            text += "; engagement unknown"
        return text
    if kind in ("drip_followers", "organic_growth"):
        return (
            f"{e.get('intervals')} intervals of about {e.get('increment_per_interval') or 0:+,.0f} "
            f"followers each (spread {(e.get('increment_cv') or 0) * 100:.0f}%), "
            f"{e.get('excess', 0):+,} in total"
        )
    if kind == "follower_purge":
        return (
            f"{-(e.get('lost') or 0):+,} followers ({(e.get('lost_share') or 0) * 100:.1f}%) "
            f"in {e.get('hours') or 0:g}h"
        )
    if kind == "following_spike":
        return (
            f"followed {e.get('followed', 0):+,} accounts in {e.get('hours') or 0:g}h "
            f"({(e.get('share') or 0) * 100:.0f}% of {e.get('following_before', 0):,})"
        )
    if kind == "follow_unfollow":
        return (
            f"{e.get('swings')} swings of the following count: "
            f"followed {e.get('followed')}, unfollowed {e.get('unfollowed')}"
        )
    if kind in ("engagement_rate_low", "engagement_rate_high"):
        return (
            f"engagement rate {(e.get('engagement_rate') or 0) * 100:.2f}% vs the {e.get('tier')} "
            f"band {(e.get('band_low') or 0) * 100:.2f}–{(e.get('band_high') or 0) * 100:.2f}%"
        )
    if kind in ("likes_anomaly", "likes_comments_ratio"):
        parts = [f"{e.get('likes', 0):,} likes"]
        if e.get("ratio_to_views") is not None:
            parts.append(f"{e['ratio_to_views']:g}× what {e.get('views', 0):,} views predict")
        if e.get("ratio_to_comments") is not None:
            parts.append(
                f"{e['ratio_to_comments']:g}× the usual likes per comment "
                f"({e.get('comments', 0):,} comments)"
            )
        return ", ".join(parts)
    if kind == "shared_farm":
        return (
            f"{e.get('excess', 0):+,} followers in the same interval as "
            f"{len(e.get('others') or [])} other watched accounts with similar jumps"
        )
    return KINDS.get(kind, kind)

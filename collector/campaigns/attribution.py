"""Which posts belong to which campaign.

A post belongs to a campaign when it was published within the campaign's dates (UTC calendar
days, both ends included; an open end is no limit) and its caption carries one of the campaign's
markers (:mod:`collector.campaigns.markers`); any creator's post counts, paid or not. A person
overrides this per post: ``assign`` brings a post in whatever its caption and date, ``unassign``
keeps it out whatever its markers. Automatic rows are recomputed on every run; manual rows are
never touched by it. Everything lives in ``campaign_post``, where ``included`` says the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from collector.campaigns.markers import CampaignMarkers
from collector.campaigns.sync import CAMPAIGN, CAMPAIGN_POST
from collector.storage.models import Account, Post

__all__ = [
    "AttributionResult",
    "CampaignNotFound",
    "PostNotFound",
    "assign",
    "attribute",
    "campaign_window",
    "find_campaign",
    "find_post",
    "unassign",
]

POST: Table = Post.__table__  # type: ignore[attr-defined]
ACCOUNT: Table = Account.__table__  # type: ignore[attr-defined]

# Posts are read in slices so that a campaign over millions of posts never sits in memory.
_BATCH = 5000


class CampaignNotFound(LookupError):
    """No campaign has that name."""


class PostNotFound(LookupError):
    """No post, or more than one, answers to that reference."""


@dataclass(frozen=True)
class AttributionResult:
    """What one attribution run found and changed."""

    campaigns: int
    posts_scanned: int
    attributed: int
    added: int
    removed: int


def campaign_window(starts_on: date | None, ends_on: date | None) -> tuple[datetime, datetime]:
    """The [start, end) instants of a campaign's dates: whole UTC days, open ends unbounded."""
    start = (
        datetime.combine(starts_on, time(), UTC) if starts_on else datetime.min.replace(tzinfo=UTC)
    )
    end = (
        datetime.combine(ends_on + timedelta(days=1), time(), UTC)
        if ends_on
        else datetime(9999, 1, 1, tzinfo=UTC)
    )
    return start, end


def _insert(conn: Connection, table: Table) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


def attribute(
    engine: Engine,
    *,
    now: datetime,
    campaign_ids: Iterable[int] | None = None,
    touched_since: datetime | None = None,
) -> AttributionResult:
    """Recompute the automatic campaign posts of every live campaign (or the ones given).

    With ``touched_since``, only posts first seen or re-polled since then are looked at (what a
    collection pass changed); the others keep their rows. Without it, every post is.
    """
    wanted = None if campaign_ids is None else set(campaign_ids)
    scanned = attributed = added = removed = 0
    done = 0
    with engine.begin() as conn:
        campaigns = conn.execute(
            select(
                CAMPAIGN.c.id,
                CAMPAIGN.c.brand,
                CAMPAIGN.c.starts_on,
                CAMPAIGN.c.ends_on,
                CAMPAIGN.c.markers,
            ).where(CAMPAIGN.c.removed_at.is_(None))
        ).all()
        for campaign in campaigns:
            if wanted is not None and campaign.id not in wanted:
                continue
            done += 1
            markers = CampaignMarkers.from_json(campaign.markers or {}, brand=campaign.brand)
            matches: dict[int, list[dict[str, str]]] = {}
            # The posts looked at: only their automatic rows may be removed.
            scope: set[int] | None = None if touched_since is None else set()
            if not markers.is_empty():
                start, end = campaign_window(campaign.starts_on, campaign.ends_on)
                query = (
                    select(POST.c.id, POST.c.caption)
                    .where(
                        POST.c.published_at >= start,
                        POST.c.published_at < end,
                        POST.c.caption.is_not(None),
                    )
                    .order_by(POST.c.id)
                )
                if touched_since is not None:
                    query = query.where(
                        or_(
                            POST.c.first_seen_at >= touched_since,
                            POST.c.last_polled_at >= touched_since,
                        )
                    )
                stream = conn.execute(query.execution_options(yield_per=_BATCH))
                for rows in stream.partitions():
                    scanned += len(rows)
                    for post_id, caption in rows:
                        if scope is not None:
                            scope.add(post_id)
                        found = markers.match(caption)
                        if found:
                            matches[post_id] = [m.as_json() for m in found]
            changes = _store_matches(conn, campaign.id, matches, now, scope)
            attributed += changes[0]
            added += changes[1]
            removed += changes[2]
    return AttributionResult(done, scanned, attributed, added, removed)


def _store_matches(
    conn: Connection,
    campaign_id: int,
    matches: dict[int, list[dict[str, str]]],
    now: datetime,
    scope: set[int] | None,
) -> tuple[int, int, int]:
    existing = {
        row.post_id: row
        for row in conn.execute(
            select(CAMPAIGN_POST.c.post_id, CAMPAIGN_POST.c.source, CAMPAIGN_POST.c.matched).where(
                CAMPAIGN_POST.c.campaign_id == campaign_id
            )
        )
    }
    stale = [
        post_id
        for post_id, row in existing.items()
        if row.source == "auto" and post_id not in matches and (scope is None or post_id in scope)
    ]
    for chunk in _chunks(stale):
        conn.execute(
            delete(CAMPAIGN_POST).where(
                CAMPAIGN_POST.c.campaign_id == campaign_id, CAMPAIGN_POST.c.post_id.in_(chunk)
            )
        )
    new_rows = []
    for post_id, matched in matches.items():
        row = existing.get(post_id)
        if row is None:
            new_rows.append(
                {
                    "campaign_id": campaign_id,
                    "post_id": post_id,
                    "source": "auto",
                    "included": True,
                    "matched": matched,
                    "updated_at": now,
                }
            )
        elif row.matched != matched:
            # A manual row keeps its decision; it still learns which markers the caption carries.
            conn.execute(
                update(CAMPAIGN_POST)
                .where(
                    CAMPAIGN_POST.c.campaign_id == campaign_id,
                    CAMPAIGN_POST.c.post_id == post_id,
                )
                .values(matched=matched, updated_at=now)
            )
    for chunk in _chunks(new_rows):
        conn.execute(CAMPAIGN_POST.insert(), list(chunk))
    automatic = sum(
        1 for post_id in matches if post_id not in existing or existing[post_id].source == "auto"
    )
    return automatic, len(new_rows), len(stale)


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def find_campaign(conn: Connection, name: str) -> int:
    """The id of the campaign called ``name`` (exact, then case-insensitive)."""
    rows = conn.execute(select(CAMPAIGN.c.id, CAMPAIGN.c.name)).all()
    for campaign_id, campaign_name in rows:
        if campaign_name == name:
            return int(campaign_id)
    folded = [cid for cid, cname in rows if cname.casefold() == name.strip().casefold()]
    if len(folded) == 1:
        return int(folded[0])
    known = ", ".join(repr(cname) for _, cname in rows) or "none"
    raise CampaignNotFound(f"no campaign is called {name!r} (campaigns: {known})")


def find_post(conn: Connection, reference: str) -> int:
    """A post by its Collector id (``post.id``) or as ``platform:platform_post_id``."""
    text = reference.strip()
    if text.isdigit():
        found = conn.execute(select(POST.c.id).where(POST.c.id == int(text))).scalar()
        if found is None:
            raise PostNotFound(
                f"no post has id {text}; write platform:post_id for a platform's own post id"
            )
        return int(found)
    platform, sep, platform_post_id = text.partition(":")
    if not sep or not platform or not platform_post_id:
        raise PostNotFound(
            f"{reference!r} is not a post: give Collector's post id (a number) or "
            "platform:post_id (for example demo:demo-1a2b3c-42)"
        )
    ids = (
        conn.execute(
            select(POST.c.id)
            .join(ACCOUNT, ACCOUNT.c.id == POST.c.account_id)
            .where(ACCOUNT.c.platform == platform, POST.c.platform_post_id == platform_post_id)
        )
        .scalars()
        .all()
    )
    if len(ids) != 1:
        what = "no post" if not ids else f"{len(ids)} posts"
        raise PostNotFound(f"{what} on {platform} with id {platform_post_id!r}")
    return int(ids[0])


def _set_manual(
    engine: Engine, post: str, campaign: str, *, included: bool, now: datetime
) -> tuple[int, int]:
    with engine.begin() as conn:
        campaign_id = find_campaign(conn, campaign)
        post_id = find_post(conn, post)
        stmt = _insert(conn, CAMPAIGN_POST).values(
            campaign_id=campaign_id,
            post_id=post_id,
            source="manual",
            included=included,
            matched=[],
            updated_at=now,
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["campaign_id", "post_id"],
                set_={"source": "manual", "included": included, "updated_at": now},
            )
        )
    return campaign_id, post_id


def assign(engine: Engine, post: str, campaign: str, *, now: datetime) -> tuple[int, int]:
    """Put a post in a campaign by hand, whatever its caption; returns (campaign id, post id)."""
    return _set_manual(engine, post, campaign, included=True, now=now)


def unassign(engine: Engine, post: str, campaign: str, *, now: datetime) -> tuple[int, int]:
    """Keep a post out of a campaign by hand, whatever its markers; returns the ids."""
    return _set_manual(engine, post, campaign, included=False, now=now)

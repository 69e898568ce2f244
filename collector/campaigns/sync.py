"""The watchlist's campaigns written to the ``campaign`` and ``campaign_creator`` tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, delete, select, update
from sqlalchemy.engine import Connection, Engine

from collector.settings import CampaignEntry, Watchlist
from collector.storage.models import (
    Campaign,
    CampaignCreator,
    CampaignPost,
    Conversion,
    Creator,
)

__all__ = [
    "CAMPAIGN",
    "CAMPAIGN_CREATOR",
    "CAMPAIGN_POST",
    "CONVERSION",
    "CREATOR",
    "SyncedCampaigns",
    "markers_json",
    "sync_campaigns",
]

CAMPAIGN: Table = Campaign.__table__  # type: ignore[attr-defined]
CAMPAIGN_CREATOR: Table = CampaignCreator.__table__  # type: ignore[attr-defined]
CAMPAIGN_POST: Table = CampaignPost.__table__  # type: ignore[attr-defined]
CONVERSION: Table = Conversion.__table__  # type: ignore[attr-defined]
CREATOR: Table = Creator.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SyncedCampaigns:
    """What :func:`sync_campaigns` changed."""

    added: int
    updated: int
    removed: int
    creators_added: int


def markers_json(entry: CampaignEntry) -> dict[str, Any]:
    """The ``campaign.markers`` JSON of a watchlist campaign."""
    return {
        "hashtags": list(entry.hashtags),
        "mentions": list(entry.mentions),
        "promo_codes": list(entry.promo_codes),
        "links": list(entry.links),
    }


def sync_campaigns(engine: Engine, watchlist: Watchlist, now: datetime) -> SyncedCampaigns:
    """Make the campaign tables match the watchlist, in one transaction.

    A campaign is known by its name. One that left the watchlist gets ``removed_at`` (its
    attributed posts, manual assignments and conversions stay); one that comes back is live
    again. A campaign's creators and costs are replaced by the watchlist's. Creators named by a
    campaign but without accounts are created, so their costs have somewhere to live.
    """
    with engine.begin() as conn:
        return _sync(conn, watchlist, now)


def _sync(conn: Connection, watchlist: Watchlist, now: datetime) -> SyncedCampaigns:
    tags = {creator.name: list(creator.tags) for creator in watchlist.creators}
    creator_ids = {name: cid for cid, name in conn.execute(select(CREATOR.c.id, CREATOR.c.name))}
    creators_added = 0
    for entry in watchlist.campaigns:
        for member in entry.creators:
            if member.name not in creator_ids:
                result = conn.execute(
                    CREATOR.insert().values(
                        name=member.name, tags=tags.get(member.name, []), created_at=now
                    )
                )
                creator_ids[member.name] = int(result.inserted_primary_key[0])  # type: ignore[index]
                creators_added += 1

    existing = {
        row.name: row
        for row in conn.execute(
            select(
                CAMPAIGN.c.id,
                CAMPAIGN.c.name,
                CAMPAIGN.c.brand,
                CAMPAIGN.c.starts_on,
                CAMPAIGN.c.ends_on,
                CAMPAIGN.c.markers,
                CAMPAIGN.c.removed_at,
            )
        )
    }
    added = updated = 0
    for entry in watchlist.campaigns:
        values = {
            "brand": entry.brand,
            "starts_on": entry.start,
            "ends_on": entry.end,
            "markers": markers_json(entry),
        }
        row = existing.get(entry.name)
        if row is None:
            result = conn.execute(
                CAMPAIGN.insert().values(name=entry.name, removed_at=None, **values)
            )
            campaign_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            added += 1
        else:
            campaign_id = row.id
            current = {
                "brand": row.brand,
                "starts_on": row.starts_on,
                "ends_on": row.ends_on,
                "markers": row.markers,
            }
            if current != values or row.removed_at is not None:
                conn.execute(
                    update(CAMPAIGN)
                    .where(CAMPAIGN.c.id == campaign_id)
                    .values(removed_at=None, **values)
                )
                updated += 1
        _sync_members(conn, campaign_id, entry, creator_ids)

    listed = {entry.name for entry in watchlist.campaigns}
    gone = [row.id for name, row in existing.items() if name not in listed and not row.removed_at]
    if gone:
        conn.execute(update(CAMPAIGN).where(CAMPAIGN.c.id.in_(gone)).values(removed_at=now))
    return SyncedCampaigns(added, updated, len(gone), creators_added)


def _sync_members(
    conn: Connection, campaign_id: int, entry: CampaignEntry, creator_ids: dict[str, int]
) -> None:
    wanted = {creator_ids[member.name]: (member.cost, member.currency) for member in entry.creators}
    current = {
        row.creator_id: (row.cost, row.currency)
        for row in conn.execute(
            select(
                CAMPAIGN_CREATOR.c.creator_id, CAMPAIGN_CREATOR.c.cost, CAMPAIGN_CREATOR.c.currency
            ).where(CAMPAIGN_CREATOR.c.campaign_id == campaign_id)
        )
    }
    stale = [cid for cid in current if cid not in wanted]
    if stale:
        conn.execute(
            delete(CAMPAIGN_CREATOR).where(
                CAMPAIGN_CREATOR.c.campaign_id == campaign_id,
                CAMPAIGN_CREATOR.c.creator_id.in_(stale),
            )
        )
    for creator_id, (cost, currency) in wanted.items():
        if creator_id not in current:
            conn.execute(
                CAMPAIGN_CREATOR.insert().values(
                    campaign_id=campaign_id, creator_id=creator_id, cost=cost, currency=currency
                )
            )
        elif current[creator_id] != (cost, currency):
            conn.execute(
                update(CAMPAIGN_CREATOR)
                .where(
                    CAMPAIGN_CREATOR.c.campaign_id == campaign_id,
                    CAMPAIGN_CREATOR.c.creator_id == creator_id,
                )
                .values(cost=cost, currency=currency)
            )

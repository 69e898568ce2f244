"""Keeping campaigns current: after the daemon's passes, before a report, on demand."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select
from sqlalchemy.engine import Engine

from collector.campaigns.attribution import AttributionResult, attribute
from collector.campaigns.disclosure import DisclosureResult, check_disclosures
from collector.campaigns.sync import CAMPAIGN, SyncedCampaigns, sync_campaigns
from collector.settings import Watchlist
from connectors.http import Clock, utcnow

if TYPE_CHECKING:
    from collector.pipeline import PassResult

__all__ = ["Refreshed", "after_pass_hook", "refresh"]

log = structlog.get_logger("collector.campaigns")


@dataclass(frozen=True)
class Refreshed:
    """What :func:`refresh` did."""

    synced: SyncedCampaigns | None
    attribution: AttributionResult
    disclosure: DisclosureResult


def refresh(engine: Engine, *, now: datetime, watchlist: Watchlist | None = None) -> Refreshed:
    """Sync campaigns from ``watchlist`` (if given), attribute posts, then check disclosures."""
    synced = None if watchlist is None else sync_campaigns(engine, watchlist, now)
    attribution = attribute(engine, now=now)
    disclosure = check_disclosures(engine, now=now)
    return Refreshed(synced, attribution, disclosure)


#: Posts polled this long before the previous run are looked at again, for clock skew between
#: the pipeline's timestamps and the hook's.
RESCAN_MARGIN = timedelta(minutes=10)


def _campaigns_fingerprint(engine: Engine) -> str:
    """What the campaigns say; a change means every post must be looked at again."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                CAMPAIGN.c.id,
                CAMPAIGN.c.brand,
                CAMPAIGN.c.starts_on,
                CAMPAIGN.c.ends_on,
                CAMPAIGN.c.markers,
                CAMPAIGN.c.removed_at,
            ).order_by(CAMPAIGN.c.id)
        ).all()
    return json.dumps([list(row) for row in rows], default=str, sort_keys=True)


def after_pass_hook(
    engine: Engine,
    db: Callable[..., Awaitable[Any]] | None = None,
    *,
    clock: Clock = utcnow,
) -> Callable[[PassResult], Coroutine[Any, Any, None]]:
    """A ``Daemon(after_pass=[...])`` hook: new posts are attributed and checked after a pass.

    The first run, and any run after the campaigns changed (a watchlist edit), looks at every
    post; the others only at posts first seen or re-polled since the previous run, so the hook's
    cost follows what a pass collected, not the size of the database. ``db`` is the collection's
    ``DbRunner``, so that on SQLite the hook writes from the pipeline's single writer thread;
    without it the work runs in a worker thread.
    """
    last: dict[str, Any] = {"since": None, "fingerprint": None}

    def run(now: datetime) -> Refreshed:
        fingerprint = _campaigns_fingerprint(engine)
        since = last["since"] if fingerprint == last["fingerprint"] else None
        attribution = attribute(engine, now=now, touched_since=since)
        disclosure = check_disclosures(engine, now=now)
        last.update(since=now - RESCAN_MARGIN, fingerprint=fingerprint)
        return Refreshed(None, attribution, disclosure)

    async def campaigns_after_pass(result: PassResult) -> None:
        if result.totals.post_rows == 0:
            return  # no new or refreshed post: nothing to attribute
        now = clock()
        if db is not None:
            done: Refreshed = await db(run, now)
        else:
            done = await asyncio.to_thread(run, now)
        if done.attribution.added or done.attribution.removed or done.disclosure.flags_written:
            log.info(
                "campaigns refreshed",
                platform=result.platform,
                posts_scanned=done.attribution.posts_scanned,
                posts_added=done.attribution.added,
                posts_removed=done.attribution.removed,
                undisclosed=done.disclosure.undisclosed,
                flags_written=done.disclosure.flags_written,
                flags_withdrawn=done.disclosure.flags_withdrawn,
            )

    return campaigns_after_pass

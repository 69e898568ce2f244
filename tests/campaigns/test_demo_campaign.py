"""The demo has a campaign: sponsored captions, simulated orders, ROI, one undisclosed creator."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.engine import Engine

from collector.campaigns import campaign_summaries, refresh, seed_demo_conversions
from collector.daemon import build_collection
from collector.settings import load_settings
from collector.storage.models import Account, Flag
from connectors.demo import DemoConfig, DemoConnector
from connectors.records import AccountRef

ACCOUNT = Account.__table__  # type: ignore[attr-defined]
FLAG = Flag.__table__  # type: ignore[attr-defined]
ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "config" / "demo.toml"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TEXT = "avec @souk.moderne code SOUK26 #soukmoderne"


def connector(**sponsored: object) -> DemoConnector:
    config = DemoConfig.model_validate(
        {
            "sponsored": {
                "Salma": {"start": "2026-11-01", "end": "2026-11-30", "text": TEXT, **sponsored}
            }
        }
    )
    return DemoConnector(config, clock=lambda: NOW)


def test_sponsored_text_is_added_to_posts_in_its_dates_only() -> None:
    page = asyncio.run(connector(every=1).fetch_posts(AccountRef("salma"), since=None))
    inside = [p for p in page.posts if p.published_at.date() >= date(2026, 11, 1)]
    before = [p for p in page.posts if p.published_at.date() < date(2026, 11, 1)]
    assert inside
    assert before
    assert all((p.caption or "").endswith(TEXT) for p in inside)
    assert not any(TEXT in (p.caption or "") for p in before)


def test_sponsored_text_goes_on_one_post_in_every() -> None:
    page = asyncio.run(connector(every=3).fetch_posts(AccountRef("salma"), since=None))
    inside = [p for p in page.posts if p.published_at.date() >= date(2026, 11, 1)]
    carrying = [p for p in inside if TEXT in (p.caption or "")]
    assert 0 < len(carrying) < len(inside)
    assert all(int(p.platform_post_id.rsplit("-", 1)[1]) % 3 == 0 for p in carrying)


def test_sponsored_dates_must_be_in_order() -> None:
    with pytest.raises(ValidationError, match="end is before start"):
        connector(start="2026-12-01")


def test_the_demo_shows_roi_and_flags_the_undisclosed_creator(engine: Engine) -> None:
    settings = load_settings(DEMO)
    collection = build_collection(settings, engine, clock=lambda: NOW)

    async def collect() -> None:
        await collection.db(collection.sync_watchlist, lambda: NOW)
        for dispatcher in collection.dispatchers.values():
            await dispatcher.run_pass(include_not_due=True)
        await collection.aclose()

    asyncio.run(collect())
    done = refresh(engine, now=NOW, watchlist=settings.watchlist)
    seed_demo_conversions(engine, now=NOW)
    (campaign,) = campaign_summaries(engine, clock=lambda: NOW)
    assert campaign.totals.roi.value is not None
    assert campaign.totals.revenue.unit == "MAD"
    undisclosed = {c.name for c in campaign.creators if c.figures.undisclosed_posts}
    assert undisclosed == {"Rabat Street Style"}
    with engine.connect() as conn:
        flagged = set(
            conn.execute(
                select(ACCOUNT.c.handle).join(FLAG, FLAG.c.account_id == ACCOUNT.c.id)
            ).scalars()
        )
    assert flagged == {"rabat.street"}
    assert done.disclosure.undisclosed >= 1

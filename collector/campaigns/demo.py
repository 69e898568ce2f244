"""Simulated shop orders for the demo, so that ``collector demo`` shows a campaign's ROI.

Each day of a campaign up to yesterday, each of its promo codes and UTM campaigns brings a
deterministic number of orders (a pure function of the campaign, the code and the day, as the
demo platform's numbers are), at a basket of 180-420 in the currency its creators are paid in.
Writing them again changes nothing.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from collector.campaigns.markers import CampaignMarkers
from collector.campaigns.sync import CAMPAIGN, CAMPAIGN_CREATOR, CONVERSION

__all__ = ["seed_demo_conversions"]

_MAX_ORDERS_PER_DAY = 3
_BASKET = (180, 420)


def _unit(*parts: object) -> float:
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


def seed_demo_conversions(engine: Engine, *, now: datetime) -> int:
    """Write the demo's conversions for every live campaign up to yesterday; returns the rows."""
    rows = []
    with engine.connect() as conn:
        campaigns = conn.execute(
            select(
                CAMPAIGN.c.id,
                CAMPAIGN.c.name,
                CAMPAIGN.c.brand,
                CAMPAIGN.c.starts_on,
                CAMPAIGN.c.ends_on,
                CAMPAIGN.c.markers,
            ).where(CAMPAIGN.c.removed_at.is_(None), CAMPAIGN.c.starts_on.is_not(None))
        ).all()
        for campaign in campaigns:
            currencies = [
                c
                for c in conn.execute(
                    select(CAMPAIGN_CREATOR.c.currency).where(
                        CAMPAIGN_CREATOR.c.campaign_id == campaign.id
                    )
                ).scalars()
                if c
            ]
            currency = max(set(currencies), key=currencies.count) if currencies else "MAD"
            codes = CampaignMarkers.from_json(campaign.markers or {}, brand=campaign.brand).codes()
            last = min(campaign.ends_on or date.max, now.date() - timedelta(days=1))
            day = campaign.starts_on
            while day <= last:
                for code in sorted(set(codes.values())):
                    orders = int(
                        _unit(campaign.name, code, day, "orders") * (_MAX_ORDERS_PER_DAY + 1)
                    )
                    if orders == 0:
                        continue
                    basket = _BASKET[0] + (_BASKET[1] - _BASKET[0]) * _unit(
                        campaign.name, code, day
                    )
                    rows.append(
                        {
                            "campaign_id": campaign.id,
                            "occurred_on": day,
                            "code": code,
                            "orders": orders,
                            "revenue": Decimal(orders * basket).quantize(Decimal("0.01")),
                            "currency": currency,
                        }
                    )
                day += timedelta(days=1)
    if rows:
        with engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            for start in range(0, len(rows), 500):
                stmt = dialect.insert(CONVERSION).on_conflict_do_nothing(
                    index_elements=["campaign_id", "occurred_on", "code"]
                )
                conn.execute(stmt, rows[start : start + 500])
    return len(rows)

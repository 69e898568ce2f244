"""The watchlist's campaigns in the database, and the 0004 migration that holds them."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

from alembic import command
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from collector.campaigns.sync import CAMPAIGN, CAMPAIGN_CREATOR, CREATOR, sync_campaigns
from collector.settings import Watchlist
from collector.storage.db import _alembic_config, make_engine, upgrade
from tests.campaigns.conftest import NOW, WATCHLIST


def costs(engine: Engine) -> dict[str, tuple[Decimal | None, str | None]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(CREATOR.c.name, CAMPAIGN_CREATOR.c.cost, CAMPAIGN_CREATOR.c.currency).join(
                CREATOR, CREATOR.c.id == CAMPAIGN_CREATOR.c.creator_id
            )
        )
        return {name: (cost, currency) for name, cost, currency in rows}


def test_a_campaign_and_its_creators_costs_are_written(engine: Engine) -> None:
    done = sync_campaigns(engine, Watchlist.model_validate(WATCHLIST), NOW)
    assert (done.added, done.creators_added) == (1, 2)
    assert costs(engine) == {"Salma": (Decimal("5000"), "MAD"), "Karim": (Decimal("3000"), "MAD")}
    with engine.connect() as conn:
        markers = conn.execute(select(CAMPAIGN.c.markers)).scalar_one()
    assert markers["promo_codes"] == ["SALMA10", "KARIM10"]


def test_syncing_the_same_watchlist_again_changes_nothing(engine: Engine) -> None:
    watchlist = Watchlist.model_validate(WATCHLIST)
    sync_campaigns(engine, watchlist, NOW)
    again = sync_campaigns(engine, watchlist, NOW)
    assert (again.added, again.updated, again.removed, again.creators_added) == (0, 0, 0, 0)


def test_edited_costs_and_members_replace_the_old_ones(engine: Engine) -> None:
    sync_campaigns(engine, Watchlist.model_validate(WATCHLIST), NOW)
    edited = copy.deepcopy(WATCHLIST)
    edited["campaigns"][0]["creators"] = [{"name": "Salma", "cost": 6000, "currency": "EUR"}]
    done = sync_campaigns(engine, Watchlist.model_validate(edited), NOW)
    assert done.updated == 0  # the campaign itself did not change, only its members
    assert costs(engine) == {"Salma": (Decimal("6000"), "EUR")}


def test_a_campaign_that_leaves_the_watchlist_is_kept_as_removed(engine: Engine) -> None:
    sync_campaigns(engine, Watchlist.model_validate(WATCHLIST), NOW)
    done = sync_campaigns(engine, Watchlist.model_validate({**WATCHLIST, "campaigns": []}), NOW)
    with engine.connect() as conn:
        removed_at = conn.execute(select(CAMPAIGN.c.removed_at)).scalar_one()
    assert (done.removed, removed_at) == (1, NOW)
    back = sync_campaigns(engine, Watchlist.model_validate(WATCHLIST), NOW)
    with engine.connect() as conn:
        assert conn.execute(select(CAMPAIGN.c.removed_at)).scalar_one() is None
    assert back.updated == 1


def test_the_migration_adds_campaign_posts_and_keeps_campaign_data_both_ways(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO creator (id, name, tags, created_at) "
                "VALUES (1, 'A', '[]', '2026-11-01 00:00:00')"
            )
        )
        conn.execute(text("INSERT INTO campaign (id, name, markers) VALUES (1, 'C', '{}')"))
        conn.execute(
            text("INSERT INTO campaign_creator (campaign_id, creator_id, cost) VALUES (1, 1, 10)")
        )
    upgrade(engine, "0004")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT removed_at FROM campaign")).all() == [(None,)]
        assert conn.execute(text("SELECT count(*) FROM campaign_post")).scalar() == 0
    command.downgrade(_alembic_config(engine), "0003")
    with engine.connect() as conn:
        # Dropping the column must not rebuild the table and cascade away its creators' costs.
        assert conn.execute(text("SELECT count(*) FROM campaign_creator")).scalar() == 1
    engine.dispose()

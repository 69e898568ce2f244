"""Campaigns kept current after the daemon's passes."""

from __future__ import annotations

import asyncio
import copy
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.engine import Engine

from collector.campaigns.jobs import after_pass_hook
from collector.campaigns.sync import CAMPAIGN_POST, sync_campaigns
from collector.pipeline import DbRunner, PassResult
from collector.settings import Watchlist
from collector.storage.models import Flag, Post
from collector.storage.state import RunTotals
from tests.campaigns.conftest import NOW, WATCHLIST
from tests.conftest import FakeClock

FLAG = Flag.__table__  # type: ignore[attr-defined]
POST = Post.__table__  # type: ignore[attr-defined]


def counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        posts = conn.execute(select(func.count()).select_from(CAMPAIGN_POST)).scalar_one()
        flags = conn.execute(select(func.count()).select_from(FLAG)).scalar_one()
    return int(posts), int(flags)


def a_pass(post_rows: int) -> PassResult:
    return PassResult("demo", 1, "ok", RunTotals(accounts=3, post_rows=post_rows), 0.1)


def test_a_pass_that_stored_posts_attributes_them_and_checks_disclosures(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    runner = DbRunner()
    hook = after_pass_hook(engine, runner, clock=lambda: NOW)
    asyncio.run(hook(a_pass(post_rows=6)))
    runner.close()
    assert counts(engine) == (4, 1)


def test_a_pass_that_stored_no_post_leaves_campaigns_alone(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    hook = after_pass_hook(engine, clock=lambda: NOW)
    asyncio.run(hook(a_pass(post_rows=0)))
    assert counts(engine) == (0, 0)


def test_after_its_first_run_the_hook_looks_only_at_posts_polled_since(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    clock = FakeClock(NOW + timedelta(hours=1))
    hook = after_pass_hook(engine, clock=clock)
    asyncio.run(hook(a_pass(post_rows=6)))
    with engine.begin() as conn:
        conn.execute(update(POST).where(POST.c.id == fixture_db["N1"]).values(caption="Love"))
    clock.advance(timedelta(hours=1))
    asyncio.run(hook(a_pass(post_rows=1)))
    assert counts(engine)[0] == 4  # N1 was not re-polled: it was not looked at
    with engine.begin() as conn:
        conn.execute(
            update(POST).where(POST.c.id == fixture_db["N1"]).values(last_polled_at=clock())
        )
    asyncio.run(hook(a_pass(post_rows=1)))
    assert counts(engine)[0] == 3


def test_after_a_campaign_edit_the_hook_looks_at_every_post_again(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    clock = FakeClock(NOW + timedelta(hours=1))
    hook = after_pass_hook(engine, clock=clock)
    asyncio.run(hook(a_pass(post_rows=6)))
    edited = copy.deepcopy(WATCHLIST)
    edited["campaigns"][0]["hashtags"] = ["#iftar2026"]
    sync_campaigns(engine, Watchlist.model_validate(edited), NOW)
    clock.advance(timedelta(hours=1))
    asyncio.run(hook(a_pass(post_rows=1)))
    assert counts(engine)[0] == 3  # N1 carried only the old hashtag

"""Attribution by dates and markers, and the manual overrides that win over it."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from collector.campaigns.attribution import (
    CampaignNotFound,
    PostNotFound,
    assign,
    attribute,
    unassign,
)
from collector.campaigns.sync import CAMPAIGN, CAMPAIGN_POST
from collector.storage.models import Post
from tests.campaigns.conftest import CAMPAIGN as NAME
from tests.campaigns.conftest import NOW

POST = Post.__table__  # type: ignore[attr-defined]


def members(engine: Engine) -> dict[int, tuple[str, bool]]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(CAMPAIGN_POST.c.post_id, CAMPAIGN_POST.c.source, CAMPAIGN_POST.c.included)
        )
        return {post_id: (source, bool(included)) for post_id, source, included in rows}


def included(engine: Engine) -> set[int]:
    return {post_id for post_id, (_, yes) in members(engine).items() if yes}


def test_posts_in_the_dates_with_a_marker_are_attributed(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    result = attribute(engine, now=NOW)
    ids = fixture_db
    assert included(engine) == {ids["S1"], ids["S2"], ids["K1"], ids["N1"]}
    assert (result.campaigns, result.attributed, result.added, result.removed) == (1, 4, 4, 0)


def test_a_post_before_the_campaign_is_not_attributed(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    attribute(engine, now=NOW)
    assert fixture_db["S3"] not in members(engine)


def test_a_post_without_a_marker_is_not_attributed(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    attribute(engine, now=NOW)
    assert fixture_db["S4"] not in members(engine)


def test_the_last_day_of_the_campaign_counts_until_midnight_utc(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(POST)
            .where(POST.c.id == fixture_db["S1"])
            .values(published_at=datetime.fromisoformat("2026-11-30T23:59:59+00:00"))
        )
        conn.execute(
            update(POST)
            .where(POST.c.id == fixture_db["S2"])
            .values(published_at=datetime.fromisoformat("2026-12-01T00:00:00+00:00"))
        )
    attribute(engine, now=NOW)
    assert fixture_db["S1"] in included(engine)
    assert fixture_db["S2"] not in included(engine)


def test_which_markers_matched_is_stored(engine: Engine, fixture_db: dict[str, int]) -> None:
    attribute(engine, now=NOW)
    with engine.connect() as conn:
        matched = conn.execute(
            select(CAMPAIGN_POST.c.matched).where(CAMPAIGN_POST.c.post_id == fixture_db["K1"])
        ).scalar_one()
    assert matched == [
        {"kind": "mention", "marker": "@marque"},
        {"kind": "promo_code", "marker": "KARIM10"},
    ]


def test_running_attribution_again_changes_nothing(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    attribute(engine, now=NOW)
    before = members(engine)
    again = attribute(engine, now=NOW)
    assert (again.added, again.removed, members(engine)) == (0, 0, before)


def test_a_post_whose_marker_disappears_leaves_the_campaign(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    attribute(engine, now=NOW)
    with engine.begin() as conn:
        conn.execute(update(POST).where(POST.c.id == fixture_db["N1"]).values(caption="Love"))
    result = attribute(engine, now=NOW)
    assert fixture_db["N1"] not in members(engine)
    assert result.removed == 1


def test_manual_assignment_brings_in_a_post_without_marker_or_outside_the_dates(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    assign(engine, str(fixture_db["S3"]), NAME, now=NOW)
    attribute(engine, now=NOW)
    assert members(engine)[fixture_db["S3"]] == ("manual", True)


def test_manual_unassignment_keeps_a_matching_post_out(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    attribute(engine, now=NOW)
    unassign(engine, "demo:N1", NAME, now=NOW)
    attribute(engine, now=NOW)
    assert members(engine)[fixture_db["N1"]] == ("manual", False)
    assert fixture_db["N1"] not in included(engine)


def test_assigning_again_after_unassigning_brings_the_post_back(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    unassign(engine, str(fixture_db["S1"]), NAME, now=NOW)
    assign(engine, str(fixture_db["S1"]), NAME, now=NOW)
    attribute(engine, now=NOW)
    assert members(engine)[fixture_db["S1"]] == ("manual", True)


def test_an_unknown_campaign_is_refused_with_the_known_names(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    with pytest.raises(CampaignNotFound, match="Ramadan 2026"):
        assign(engine, str(fixture_db["S1"]), "Ramadan 2027", now=NOW)


def test_a_campaign_name_is_found_whatever_its_case(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    assign(engine, str(fixture_db["S4"]), "ramadan 2026", now=NOW)
    assert members(engine)[fixture_db["S4"]] == ("manual", True)


def test_an_unknown_post_is_refused(engine: Engine, fixture_db: dict[str, int]) -> None:
    for reference in ("999999", "demo:nope", "nope"):
        with pytest.raises(PostNotFound):
            assign(engine, reference, NAME, now=NOW)


def test_a_removed_campaign_is_not_attributed(engine: Engine, fixture_db: dict[str, int]) -> None:
    with engine.begin() as conn:
        conn.execute(update(CAMPAIGN).values(removed_at=NOW))
    result = attribute(engine, now=NOW)
    assert (result.campaigns, members(engine)) == (0, {})

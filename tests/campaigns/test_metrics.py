"""Campaign figures with exact numbers on the hand-made fixture (see conftest), NULL never 0."""

from __future__ import annotations

import copy
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from collector.campaigns.attribution import attribute
from collector.campaigns.conversions import import_conversions
from collector.campaigns.metrics import (
    CampaignSummary,
    CreatorMetrics,
    campaign_summaries,
    creator_metrics,
)
from tests.campaigns.conftest import NOW, POSTS, WATCHLIST, build

CONVERSIONS = (
    "date,code,orders,revenue,currency\n"
    "2026-11-06,SALMA10,3,450.00,MAD\n"
    "2026-11-07,salma10,2,300,MAD\n"
    "2026-11-09,KARIM10,1,150,MAD\n"
    "2026-11-10,ramadan26,4,800,MAD\n"
)


def summary(engine: Engine) -> CampaignSummary:
    attribute(engine, now=NOW)
    (only,) = campaign_summaries(engine, clock=lambda: NOW)
    return only


def creator(found: CampaignSummary, name: str) -> CreatorMetrics:
    return next(c for c in found.creators if c.name == name)


def with_conversions(engine: Engine, tmp_path: Path, text: str = CONVERSIONS) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    import_conversions(engine, path)


def test_campaign_totals_sum_every_campaign_post(shared_engine: Engine) -> None:
    t = summary(shared_engine).totals
    assert (t.posts, t.interactions.value, t.followers_gained.value) == (4, 1275, 1150)
    assert t.engagement_rate_by_followers.value == pytest.approx(
        (400 / 20000 + 600 / 20500 + 220 / 10000 + 55 / 5000) / 4
    )
    assert t.engagement_rate_by_views.value == pytest.approx(1055 / 11000)


def test_views_summed_over_some_posts_say_they_are_incomplete(shared_engine: Engine) -> None:
    views = summary(shared_engine).totals.views
    assert (views.value, views.complete) == (11000, False)
    assert dict(views.inputs) == {"posts": 4, "posts_with_count": 3}


def test_campaign_costs_per_result_are_exact(shared_engine: Engine) -> None:
    t = summary(shared_engine).totals
    assert (t.cost.value, t.cost.unit) == (Decimal("8000.00"), "MAD")
    assert t.cost_per_engagement.value == Decimal("6.2745")  # 8000 / 1275
    assert t.cost_per_follower_gained.value == Decimal("6.9565")  # 8000 / 1150


def test_cost_per_view_is_null_when_a_post_publishes_no_views(shared_engine: Engine) -> None:
    figure = summary(shared_engine).totals.cost_per_view
    assert (figure.value, figure.missing) == (None, "incomplete")


def test_a_creator_figures_come_from_their_own_posts(shared_engine: Engine) -> None:
    f = creator(summary(shared_engine), "Salma").figures
    assert (f.posts, f.views.value, f.interactions.value, f.followers_gained.value) == (
        2,
        10000,
        1000,
        1000,
    )
    assert f.engagement_rate_by_followers.value == pytest.approx((0.02 + 600 / 20500) / 2)
    assert f.engagement_rate_by_views.value == pytest.approx(0.1)
    assert (f.cost_per_engagement.value, f.cost_per_view.value) == (
        Decimal("5.0000"),
        Decimal("0.5000"),
    )
    assert f.cost_per_follower_gained.value == Decimal("5.0000")


def test_views_a_platform_does_not_publish_are_null_not_zero(shared_engine: Engine) -> None:
    f = creator(summary(shared_engine), "Karim").figures
    assert (f.views.value, f.views.missing) == (None, "not_published")
    assert (f.cost_per_view.value, f.cost_per_view.missing) == (None, "not_published")
    assert f.cost_per_engagement.value == Decimal("13.6364")  # 3000 / 220


def test_an_unpaid_creator_posts_count_but_have_no_cost(shared_engine: Engine) -> None:
    nadia = creator(summary(shared_engine), "Nadia")
    assert (nadia.paid, nadia.figures.posts) == (False, 1)
    assert (nadia.figures.cost.value, nadia.figures.cost.missing) == (None, "not_paid")
    assert nadia.figures.cost_per_engagement.value is None


def test_without_conversions_orders_revenue_and_roi_are_null(shared_engine: Engine) -> None:
    t = summary(shared_engine).totals
    assert [(f.value, f.missing) for f in (t.orders, t.revenue, t.roi, t.cost_per_order)] == [
        (None, "no_conversions")
    ] * 4


def test_roi_and_cost_per_order_come_from_imported_conversions(
    engine: Engine, fixture_db: dict[str, int], tmp_path: Path
) -> None:
    with_conversions(engine, tmp_path)
    t = summary(engine).totals
    assert (t.orders.value, t.revenue.value, t.revenue.unit) == (10, Decimal("1700.00"), "MAD")
    assert t.roi.value == Decimal("-0.7875")  # (1700 - 8000) / 8000
    assert t.cost_per_order.value == Decimal("800.0000")


def test_a_creator_gets_the_conversions_of_codes_only_their_posts_carry(
    engine: Engine, fixture_db: dict[str, int], tmp_path: Path
) -> None:
    with_conversions(engine, tmp_path)
    found = summary(engine)
    salma, karim = creator(found, "Salma").figures, creator(found, "Karim").figures
    assert (salma.orders.value, salma.revenue.value, salma.roi.value) == (
        5,
        Decimal("750.00"),
        Decimal("-0.8500"),
    )
    assert (karim.orders.value, karim.cost_per_order.value) == (1, Decimal("3000.0000"))
    nadia = creator(found, "Nadia").figures
    assert (nadia.orders.value, nadia.orders.missing) == (None, "conversions_not_attributable")


def test_a_code_two_creators_share_counts_for_the_campaign_only(
    engine: Engine, tmp_path: Path
) -> None:
    shared = [replace(p, caption="code SALMA10") if p.post_id == "K1" else p for p in POSTS]
    build(engine, posts=shared)
    with_conversions(engine, tmp_path)
    found = summary(engine)
    assert creator(found, "Salma").figures.orders.missing == "conversions_not_attributable"
    assert found.totals.orders.value == 10


def test_revenue_in_two_currencies_is_not_added(
    engine: Engine, fixture_db: dict[str, int], tmp_path: Path
) -> None:
    with_conversions(engine, tmp_path, CONVERSIONS + "2026-11-11,SALMA10,1,20,EUR\n")
    t = summary(engine).totals
    assert (t.revenue.value, t.revenue.missing) == (None, "mixed_currencies")
    assert dict(t.revenue.inputs)["by_currency"] == {
        "MAD": Decimal("1700.00"),
        "EUR": Decimal("20.00"),
    }
    assert (t.roi.value, t.orders.value) == (None, 11)


def test_costs_in_two_currencies_are_not_added(engine: Engine) -> None:
    watchlist = copy.deepcopy(WATCHLIST)
    watchlist["campaigns"][0]["creators"][1]["currency"] = "EUR"
    build(engine, watchlist=watchlist)
    t = summary(engine).totals
    assert (t.cost.value, t.cost.missing) == (None, "mixed_currencies")
    assert t.cost_per_engagement.value is None


def test_roi_needs_revenue_in_the_cost_currency(engine: Engine, tmp_path: Path) -> None:
    watchlist = copy.deepcopy(WATCHLIST)
    for member in watchlist["campaigns"][0]["creators"]:
        member["currency"] = "EUR"
    build(engine, watchlist=watchlist)
    with_conversions(engine, tmp_path)
    roi = summary(engine).totals.roi
    assert (roi.value, roi.missing) == (None, "currency_mismatch")


def test_a_missing_cost_leaves_the_total_cost_null(engine: Engine) -> None:
    watchlist = copy.deepcopy(WATCHLIST)
    del watchlist["campaigns"][0]["creators"][1]["cost"]
    build(engine, watchlist=watchlist)
    t = summary(engine).totals
    assert (t.cost.value, t.cost.missing) == (None, "cost_not_given")
    assert dict(t.cost.inputs) == {"creators_without_cost": ["Karim"]}


def test_undisclosed_posts_count_paid_posts_only(shared_engine: Engine) -> None:
    found = summary(shared_engine)
    assert found.totals.undisclosed_posts == 1  # S2; Nadia is not paid, K1 says إعلان
    assert creator(found, "Salma").figures.undisclosed_posts == 1


def test_creator_metrics_gives_a_creator_part_in_each_campaign(shared_engine: Engine) -> None:
    attribute(shared_engine, now=NOW)
    salma = next(c for c in summary(shared_engine).creators if c.name == "Salma")
    found = creator_metrics(shared_engine, salma.creator_id or 0, clock=lambda: NOW)
    assert [(c.campaign_name, c.figures.posts) for c in found] == [("Ramadan 2026", 2)]


def test_flat_attributes_give_bare_values(shared_engine: Engine) -> None:
    found = summary(shared_engine)
    assert (found.interactions, found.cost, found.currency, found.posts) == (
        1275,
        Decimal("8000.00"),
        "MAD",
        4,
    )


def test_figures_as_json_keep_money_exact(shared_engine: Engine) -> None:
    data = summary(shared_engine).as_json()
    assert data["totals"]["cost_per_engagement"]["value"] == "6.2745"
    assert data["totals"]["views"]["complete"] is False
    assert len(data["posts"]) == 4

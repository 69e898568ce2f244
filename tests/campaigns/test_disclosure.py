"""Sponsorship disclosure: found in French, Arabic, Darija and English; flagged when missing."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from collector.campaigns.attribution import attribute, unassign
from collector.campaigns.disclosure import check_disclosures, find_disclosure
from collector.storage.models import Flag, Post
from tests.campaigns.conftest import CAMPAIGN, NOW

FLAG = Flag.__table__  # type: ignore[attr-defined]
POST = Post.__table__  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("caption", "found"),
    [
        ("Nouvelle collection #Sponsorisé", "#sponsorisé"),
        ("Collaboration   commerciale avec @marque", "collaboration commerciale"),
        ("PUBLICITÉ — ma routine", "publicité"),
        ("En partenariat avec @marque", "en partenariat avec"),
        ("#partenariat #maroc", "#partenariat"),
        ("Love it #AD", "#ad"),
        ("Paid partnership with @brand", "paid partnership"),
        ("إعلان | زليج جديد", "إعلان"),
        ("الإعـلان مع @marque", "إعلان"),
        ("بشراكة مع @marque", "شراكة"),
        ("للإشهار فقط", "إشهار"),
        ("Salam drari #i3lan", "#i3lan"),
        ("#Ichhar m3a @marque", "#ichhar"),
    ],
)
def test_a_disclosure_is_found_in_french_arabic_darija_and_english(
    caption: str, found: str
) -> None:
    assert find_disclosure(caption) == found


@pytest.mark.parametrize(
    "caption",
    [
        "#adidas #admin new drop",
        "Add to cart, read the headline",
        "une publication sur la république",
        "salam #soukmoderne code SOUK26",
        "",
    ],
)
def test_words_that_only_contain_a_disclosure_are_not_one(caption: str) -> None:
    assert find_disclosure(caption) is None


def flags(engine: Engine) -> dict[int, tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(select(FLAG.c.post_id, FLAG.c.kind, FLAG.c.severity, FLAG.c.dedupe_key))
        return {post_id: (kind, severity, key) for post_id, kind, severity, key in rows}


def test_a_paid_post_without_disclosure_raises_one_medium_flag(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    attribute(engine, now=NOW)
    result = check_disclosures(engine, now=NOW)
    s2 = fixture_db["S2"]
    with engine.connect() as conn:
        account_id = conn.execute(select(POST.c.account_id).where(POST.c.id == s2)).scalar_one()
    assert flags(engine) == {s2: ("disclosure", "medium", f"disclosure:{account_id}:{s2}")}
    assert (result.checked, result.disclosed, result.undisclosed) == (3, 2, 1)


def test_the_flag_evidence_says_what_was_looked_for_and_where(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    attribute(engine, now=NOW)
    check_disclosures(engine, now=NOW)
    with engine.connect() as conn:
        evidence = conn.execute(select(FLAG.c.evidence)).scalar_one()
    assert evidence["campaigns"] == [CAMPAIGN]
    assert evidence["platform_post_id"] == "S2"
    assert evidence["campaign_markers"] == [{"kind": "mention", "marker": "@marque"}]
    assert "#sponsorisé" in evidence["looked_for"]


def test_checking_again_writes_nothing_new(engine: Engine, fixture_db: dict[str, int]) -> None:
    attribute(engine, now=NOW)
    check_disclosures(engine, now=NOW)
    again = check_disclosures(engine, now=NOW)
    assert (again.flags_written, again.flags_withdrawn, len(flags(engine))) == (0, 0, 1)


def test_a_dismissed_flag_stays_dismissed(engine: Engine, fixture_db: dict[str, int]) -> None:
    attribute(engine, now=NOW)
    check_disclosures(engine, now=NOW)
    with engine.begin() as conn:
        conn.execute(update(FLAG).values(status="dismissed"))
        conn.execute(
            update(POST).where(POST.c.id == fixture_db["S2"]).values(caption="Iftar @marque !")
        )
    attribute(engine, now=NOW)
    check_disclosures(engine, now=NOW)
    with engine.connect() as conn:
        assert conn.execute(select(FLAG.c.status)).scalars().all() == ["dismissed"]


def test_the_flag_is_withdrawn_when_the_caption_gains_a_disclosure(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    attribute(engine, now=NOW)
    check_disclosures(engine, now=NOW)
    with engine.begin() as conn:
        conn.execute(
            update(POST)
            .where(POST.c.id == fixture_db["S2"])
            .values(caption="Iftar avec @marque #publicité")
        )
    result = check_disclosures(engine, now=NOW)
    assert (flags(engine), result.flags_withdrawn) == ({}, 1)


def test_the_flag_is_withdrawn_when_the_post_leaves_the_campaign(
    engine: Engine, fixture_db: dict[str, int]
) -> None:
    attribute(engine, now=NOW)
    check_disclosures(engine, now=NOW)
    unassign(engine, str(fixture_db["S2"]), CAMPAIGN, now=NOW)
    check_disclosures(engine, now=NOW)
    assert flags(engine) == {}


def test_an_unpaid_creator_post_is_not_checked(engine: Engine, fixture_db: dict[str, int]) -> None:
    attribute(engine, now=NOW)
    check_disclosures(engine, now=NOW)
    assert fixture_db["N1"] not in flags(engine)

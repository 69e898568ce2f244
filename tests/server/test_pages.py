"""The dashboard's pages as HTML: escaping, languages, flag triage and its CSRF check."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.engine import Engine

from collector.storage.models import Flag
from tests.server.conftest import ARABIC_NAME, HOSTILE_CAPTION, TestClient, World

SAME_ORIGIN = {"origin": "http://testserver"}


def _flag_status(engine: Engine, flag_id: int) -> str:
    flags = Flag.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return str(conn.execute(select(flags.c.status).where(flags.c.id == flag_id)).scalar_one())


def test_a_handle_written_as_a_script_tag_renders_as_text_on_every_page(
    reader: TestClient, sqlite_world: tuple[Engine, World]
) -> None:
    world = sqlite_world[1]
    for page in (
        "/",
        f"/creators/{world.hostile_creator}",
        f"/accounts/{world.hostile}",
        "/flags",
    ):
        html = reader.get(page).text
        assert "<script" not in html.lower(), page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, page


def test_a_caption_with_markup_renders_as_text(
    reader: TestClient, sqlite_world: tuple[Engine, World]
) -> None:
    world = sqlite_world[1]
    html = reader.get(f"/creators/{world.hostile_creator}").text
    assert "<img" not in html
    assert "عرض خاص &lt;img src=x onerror=alert(2)&gt; #ad" in html
    assert HOSTILE_CAPTION not in html


def test_right_to_left_names_are_isolated_in_their_own_direction(reader: TestClient) -> None:
    html = reader.get("/").text
    escaped = ARABIC_NAME.replace("<", "&lt;").replace(">", "&gt;")
    assert re.search(r'<td rowspan="1" dir="auto"><a class="creator-name"[^>]*>' + escaped, html)


def test_pages_forbid_every_script_through_the_content_security_policy(
    reader: TestClient,
) -> None:
    policy = reader.get("/").headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy  # so default-src 'none' applies to scripts


def test_french_labels_and_numbers_with_lang_fr(reader: TestClient) -> None:
    html = reader.get("/", params={"lang": "fr"}).text
    assert '<html lang="fr">' in html
    assert "Abonnés" in html
    assert "Alertes ouvertes" in html
    # 25,950 followers in French: a narrow no-break space groups the thousands.
    assert "25\u202f950" in html


def test_accept_language_chooses_french_without_a_parameter(reader: TestClient) -> None:
    html = reader.get("/", headers={"accept-language": "fr-MA,fr;q=0.9,en;q=0.5"}).text
    assert "Créateurs" in html


def test_the_chosen_language_sticks_through_a_cookie(reader: TestClient) -> None:
    reader.get("/", params={"lang": "fr"})
    assert "Créateurs" in reader.get("/flags").text
    reader.get("/", params={"lang": "en"})
    assert "Creators" in reader.get("/flags").text


def test_creator_page_draws_the_follower_curve_with_the_flag_marked(
    client: TestClient, world: World
) -> None:
    html = client.get(f"/creators/{world.bought_creator}").text
    curve = re.search(r'<svg class="chart chart-followers".*?</svg>', html, re.S)
    assert curve is not None
    assert len(re.findall(r"<circle class=\"point\"", curve.group(0))) == world.snapshots
    assert 'class="flag flag-high"' in curve.group(0)
    # A dismissed flag is not drawn.
    assert "flag-medium" not in curve.group(0)
    assert len(re.findall(r'<rect class="bar"', html)) == 6


def test_flags_page_lists_open_flags_with_their_evidence(
    reader: TestClient, sqlite_world: tuple[Engine, World]
) -> None:
    world = sqlite_world[1]
    html = reader.get("/flags").text
    assert f'id="flag-{world.high_flag}"' in html
    assert f'id="flag-{world.dismissed_flag}"' not in html
    assert "followers_gained" in html
    assert "5,050" in html


def test_acknowledging_a_flag_from_the_page_changes_its_status(
    client: TestClient, engine: Engine, world: World
) -> None:
    response = client.post(
        f"/flags/{world.high_flag}/status",
        data={"status": "acknowledged", "next": "/flags?status=all"},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/flags?status=all"
    assert _flag_status(engine, world.high_flag) == "acknowledged"


def test_a_form_posted_from_another_site_is_refused(
    client: TestClient, engine: Engine, world: World
) -> None:
    for headers in ({"origin": "http://evil.example"}, {"referer": "http://evil.example/x"}, {}):
        response = client.post(
            f"/flags/{world.high_flag}/status", data={"status": "dismissed"}, headers=headers
        )
        assert response.status_code == 403, headers
    assert _flag_status(engine, world.high_flag) == "open"


def test_a_redirect_after_the_form_stays_on_this_site(client: TestClient, world: World) -> None:
    response = client.post(
        f"/flags/{world.high_flag}/status",
        data={"status": "dismissed", "next": "//evil.example/"},
        headers=SAME_ORIGIN,
        follow_redirects=False,
    )
    assert response.headers["location"] == "/flags"


def test_unknown_pages_answer_404_in_html(reader: TestClient) -> None:
    response = reader.get("/creators/424242")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert reader.get("/campaigns/424242").status_code == 404


def test_campaign_page_shows_each_creator_cost_in_its_currency(
    reader: TestClient, sqlite_world: tuple[Engine, World]
) -> None:
    world = sqlite_world[1]
    html = reader.get(f"/campaigns/{world.campaign}").text
    assert "Ramadan 2026" in html
    assert "MAD" in html
    assert "1,500.00" in html
    html_fr = reader.get(f"/campaigns/{world.campaign}", params={"lang": "fr"}).text
    assert "1\u202f500,00\xa0MAD" in html_fr


def test_campaign_page_lists_the_campaign_posts_with_their_disclosure(
    client: TestClient, engine: Engine, world: World
) -> None:
    from collector.campaigns.attribution import attribute

    attribute(engine, now=world.now)
    html = client.get(f"/campaigns/{world.campaign}").text
    posts = re.search(r'<table class="campaign-posts">.*?</table>', html, re.S)
    assert posts is not None
    body = posts.group(0).split("<tbody>")[1]
    # The campaign counts every post carrying #ad, its hashtag: six by the paid creator, five by
    # the other (whose formula caption has none). #ad is also a disclosure.
    assert body.count("<tr") == 11
    assert body.count('<td dir="auto">#ad</td>') == 11
    assert "post 1 #ad" in body
    assert "missing" not in body

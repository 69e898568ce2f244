"""``collector report``'s HTML: self-contained, escaped, in English and French."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.engine import Engine

from collector.campaigns.attribution import CampaignNotFound
from collector.campaigns.conversions import import_conversions
from collector.campaigns.report import build_report, write_report
from collector.campaigns.sync import CREATOR
from collector.storage.models import Post
from tests.campaigns.conftest import CAMPAIGN, NOW

POST = Post.__table__  # type: ignore[attr-defined]
NNBSP, NBSP = "\u202f", "\xa0"


class Fetches(HTMLParser):
    """Every tag and every URL-bearing attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "poster", "data", "action"):
                self.urls.append(value or "")


ORDERS = (
    "date,code,orders,revenue,currency\n"
    "2026-11-06,SALMA10,5,750,MAD\n"
    "2026-11-09,KARIM10,1,150,MAD\n"
    "2026-11-10,ramadan26,4,800,MAD\n"
)


@pytest.fixture(scope="module")
def report_db(shared_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The fixture with conversions; shared by the tests that only render."""
    path = tmp_path_factory.mktemp("orders") / "orders.csv"
    path.write_text(ORDERS, encoding="utf-8")
    import_conversions(shared_engine, path)
    return shared_engine


def test_english_report_shows_the_campaign_table_with_roi(report_db: Engine) -> None:
    html = build_report(report_db, now=NOW, campaign=CAMPAIGN, lang="en")
    assert "Campaign: Ramadan 2026" in html
    assert ">MAD8,000.00<" in html  # total cost
    assert ">-78.75%<" in html  # ROI: (1700 - 8000) / 8000
    assert ">1,275<" in html  # interactions
    assert 'lang="en"' in html


def test_french_report_has_french_labels_and_french_numbers(report_db: Engine) -> None:
    html = build_report(report_db, now=NOW, campaign=CAMPAIGN, lang="fr")
    assert "Campagne : Ramadan 2026" in html
    assert "Chiffre d&#39;affaires" in html
    assert f">8{NNBSP}000,00{NBSP}MAD<" in html
    assert f">-78,75{NBSP}%<" in html
    assert f">1{NNBSP}275<" in html
    assert 'lang="fr"' in html


def test_a_missing_figure_is_a_dash_that_says_why(report_db: Engine) -> None:
    html = build_report(report_db, now=NOW, campaign=CAMPAIGN, lang="en")
    # Karim's views are not published by his platform: no 0 anywhere for them.
    assert "the platform does not publish this count for these posts" in html


def test_the_report_fetches_nothing_from_anywhere(report_db: Engine) -> None:
    html = build_report(report_db, now=NOW, campaign=CAMPAIGN, lang="en")
    page = Fetches()
    page.feed(html)
    assert page.urls == []
    assert not page.tags & {"script", "link", "img", "iframe", "object", "embed"}
    assert "url(" not in html
    assert "@import" not in html
    assert page.tags >= {"svg", "polyline", "rect", "table"}


def test_everything_creators_wrote_is_escaped(engine: Engine, fixture_db: dict[str, int]) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(POST)
            .where(POST.c.id == fixture_db["S2"])
            .values(caption='Iftar @marque <script>alert("x")</script><img src=x onerror=y>')
        )
        conn.execute(update(CREATOR).where(CREATOR.c.name == "Karim").values(name="<b>Karim</b>"))
    html = build_report(engine, now=NOW, campaign=CAMPAIGN, lang="en")
    assert "<script>" not in html
    assert "<img" not in html
    assert "<b>Karim</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Karim&lt;/b&gt;" in html


def test_the_follower_curve_marks_the_flags(report_db: Engine) -> None:
    html = build_report(report_db, now=NOW, campaign=CAMPAIGN, lang="en")
    # S2 (Salma, 15 Nov) has no disclosure: its flag sits on Salma's curve.
    assert html.count('class="flag-mark medium"') == 1
    assert "sponsorship disclosure missing · medium · Nov 15, 2026" in html


def test_the_tier_band_chart_has_a_row_per_account(report_db: Engine) -> None:
    html = build_report(report_db, now=NOW, campaign=CAMPAIGN, lang="en")
    assert html.count('class="band"') == 3
    assert "@salma · micro" in html
    assert "@nadia · nano" in html


def test_an_unknown_campaign_is_refused(report_db: Engine) -> None:
    with pytest.raises(CampaignNotFound):
        build_report(report_db, now=NOW, campaign="Nope", lang="en")


def test_the_report_is_written_whole_to_its_file(report_db: Engine, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "report.html"
    written = write_report(report_db, out, now=NOW, lang="fr")
    assert out.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert (written.campaigns, written.accounts) == (1, 3)
    assert not list(out.parent.glob("*.partial"))

"""The report in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Each language's report is opened from a ``file://`` URL with the network left on: the page must
ask for nothing but itself. Screenshots go to ``COLLECTOR_SCREENSHOTS`` (default: a pytest
temporary directory, printed at the end of the module).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from collector.campaigns.conversions import import_conversions
from collector.campaigns.report import write_report
from collector.storage.db import make_engine, upgrade
from collector.storage.models import Post
from tests.campaigns.conftest import CAMPAIGN, NOW, build

CHROMIUM = os.environ.get("COLLECTOR_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
POST = Post.__table__  # type: ignore[attr-defined]
HOSTILE = 'Iftar avec @marque <img src=x onerror="alert(1)"><script>alert(2)</script>'

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser")
        pytest.skip(f"{CHROMIUM} is missing")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    configured = os.environ.get("COLLECTOR_SCREENSHOTS")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    print(f"\nscreenshots: {folder}")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reports")
    engine = make_engine(f"sqlite:///{folder / 'r.db'}")
    upgrade(engine)
    ids = build(engine)
    with engine.begin() as conn:
        conn.execute(update(POST).where(POST.c.id == ids["S2"]).values(caption=HOSTILE))
    orders = folder / "orders.csv"
    orders.write_text(
        "date,code,orders,revenue,currency\n2026-11-06,SALMA10,5,750,MAD\n", encoding="utf-8"
    )
    import_conversions(engine, orders)
    paths = {}
    for lang in ("en", "fr"):
        paths[lang] = folder / f"report-{lang}.html"
        write_report(engine, paths[lang], now=NOW, campaign=CAMPAIGN, lang=lang)
    engine.dispose()
    return paths


class Opened:
    """A report opened in Chromium, with everything the page asked for or complained about."""

    def __init__(self, browser: Any, path: Path, screenshot: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.problems: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on(
            "console",
            lambda m: self.problems.append(m.text) if m.type in ("error", "warning") else None,
        )
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.on("dialog", self._dialog)
        self.url = path.as_uri()
        self.page.goto(self.url)
        self.page.screenshot(path=str(screenshot), full_page=True)

    def _dialog(self, dialog: Any) -> None:
        # alert() would mean markup a creator wrote ran as script.
        self.problems.append(f"dialog {dialog.message}")
        dialog.dismiss()

    def count(self, selector: str) -> int:
        return int(self.page.locator(selector).count())


@pytest.fixture(params=["en", "fr"])
def opened(
    request: pytest.FixtureRequest, browser: Any, reports: dict[str, Path], screenshots: Path
) -> Iterator[Opened]:
    lang = request.param
    page = Opened(browser, reports[lang], screenshots / f"report-{lang}.png")
    yield page
    page.context.close()


def test_the_report_loads_with_no_error_and_asks_for_nothing_else(opened: Opened) -> None:
    assert opened.problems == []
    assert opened.requests == [opened.url]


def test_the_charts_render(opened: Opened) -> None:
    curve = opened.page.locator("svg polyline.curve").first.bounding_box()
    assert curve is not None
    assert curve["width"] > 300
    assert opened.count("svg polyline.curve") == 3
    assert opened.count("svg rect.bar") >= 4
    assert opened.count("svg rect.band") == 3


def test_the_flagged_creator_shows_its_flag(opened: Opened) -> None:
    mark = opened.page.locator("section#account-1 circle.flag-mark")
    assert mark.count() == 1
    assert mark.first.is_visible()
    assert opened.count("section.flags tbody tr") == 1


def test_french_labels_appear_in_the_french_report(
    browser: Any, reports: dict[str, Path], screenshots: Path
) -> None:
    page = Opened(browser, reports["fr"], screenshots / "report-fr-check.png").page
    assert page.locator("h2").first.inner_text() == "Campagne : Ramadan 2026"
    headers = page.locator("table.figures th").all_inner_texts()
    assert "Chiffre d'affaires" in headers
    assert "Coût par abonné gagné" in headers
    page.context.close()

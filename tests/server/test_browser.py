"""The dashboard in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The server runs for real (uvicorn on a loopback port, :func:`serve_in_background`) over a
populated SQLite database. Every page visited is screenshotted into ``COLLECTOR_SCREENSHOTS``
(default: a pytest temporary directory, printed at the end of the module).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from collector.server import BackgroundServer, serve_in_background
from collector.storage.db import make_engine
from collector.storage.models import Flag
from tests.conftest import FakeClock
from tests.server.conftest import HOSTILE, TOKEN, World, populate

CHROMIUM = os.environ.get("COLLECTOR_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)

playwright_api = pytest.importorskip("playwright.sync_api")


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser")
        pytest.skip(f"{CHROMIUM} is missing (scripts/install-browser installs it)")


@dataclass
class PageProblems:
    """What a page reported while it loaded: console errors, script errors, failed fetches."""

    messages: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    _need_chromium()
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
def server(sqlite_world: tuple[Engine, World]) -> Iterator[BackgroundServer]:
    engine, world = sqlite_world
    running = serve_in_background(engine, "127.0.0.1", 0, clock=FakeClock(world.now))
    yield running
    running.stop()


class Browse:
    """A page that records every problem and screenshots what it shows."""

    def __init__(self, browser: object, base: str, screenshots: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.base = base
        self.screenshots = screenshots
        self.problems = PageProblems()
        page = self.page
        page.on(
            "console",
            lambda m: (
                self.problems.messages.append(f"console {m.type}: {m.text}")
                if m.type in ("error", "warning")
                else None
            ),
        )
        page.on("pageerror", lambda e: self.problems.messages.append(f"page error: {e}"))
        page.on(
            "requestfailed", lambda r: self.problems.messages.append(f"request failed: {r.url}")
        )
        page.on(
            "response",
            lambda r: (
                self.problems.messages.append(f"HTTP {r.status}: {r.url}")
                if r.status >= 400
                else None
            ),
        )
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: Any) -> None:
        # alert() would mean markup a creator wrote ran as script.
        self.problems.dialogs.append(dialog.message)
        dialog.dismiss()

    def visit(self, path: str, shot: str) -> object:
        self.page.goto(self.base + path)
        self.page.screenshot(path=str(self.screenshots / f"{shot}.png"), full_page=True)
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def browse(browser: object, server: BackgroundServer, screenshots: Path) -> Iterator[Browse]:
    session = Browse(browser, server.url, screenshots)
    yield session
    session.close()


def test_every_page_loads_with_no_console_error(
    browse: Browse, sqlite_world: tuple[Engine, World]
) -> None:
    _engine, world = sqlite_world
    for path, shot in (
        ("/", "creators-en"),
        (f"/creators/{world.bought_creator}", "creator-flagged-en"),
        (f"/creators/{world.hostile_creator}", "creator-hostile-markup-en"),
        (f"/accounts/{world.orphan}", "account-imported-en"),
        ("/flags", "flags-open-en"),
        ("/flags?status=all", "flags-all-en"),
        ("/campaigns", "campaigns-en"),
        (f"/campaigns/{world.campaign}", "campaign-en"),
        ("/?lang=fr", "creators-fr"),
        (f"/creators/{world.bought_creator}", "creator-flagged-fr"),
        (f"/campaigns/{world.campaign}", "campaign-fr"),
    ):
        browse.visit(path, shot)
    assert browse.problems.messages == []


def test_the_follower_curve_renders_every_data_point(
    browse: Browse, sqlite_world: tuple[Engine, World]
) -> None:
    _engine, world = sqlite_world
    page = browse.visit(f"/creators/{world.bought_creator}?lang=en", "creator-curve")
    curve = page.locator("svg.chart-followers")  # type: ignore[attr-defined]
    points = curve.locator("polyline.series").first.get_attribute("points")
    assert len(points.split()) == world.snapshots
    assert curve.locator("circle.point").count() == world.snapshots
    box = curve.bounding_box()
    assert box["width"] > 600
    assert box["height"] > 150
    bars = page.locator("svg.chart-engagement rect.bar")  # type: ignore[attr-defined]
    assert bars.count() == 6
    assert bars.first.bounding_box()["height"] > 5
    assert page.locator("svg.chart-band g.rate circle").count() == 1  # type: ignore[attr-defined]


def test_a_flagged_creator_shows_its_flag(
    browse: Browse, sqlite_world: tuple[Engine, World]
) -> None:
    _engine, world = sqlite_world
    page = browse.visit("/?lang=en", "creators-flag-badge")
    row = page.locator("tr.creator-row", has_text="Salma Beauty")  # type: ignore[attr-defined]
    assert row.locator(".badge-alert").inner_text() == "1"
    page = browse.visit(f"/creators/{world.bought_creator}", "creator-flag")
    flag = page.locator(f"#flag-{world.high_flag}")  # type: ignore[attr-defined]
    assert flag.is_visible()
    assert "follower_jump" in flag.inner_text()
    assert "5,050" in flag.inner_text()
    marked = page.locator("svg.chart-followers g.flag-high rect")  # type: ignore[attr-defined]
    assert marked.bounding_box()["width"] >= 3


def test_french_labels_appear_with_lang_fr(
    browse: Browse, sqlite_world: tuple[Engine, World]
) -> None:
    _engine, world = sqlite_world
    page = browse.visit(f"/creators/{world.bought_creator}?lang=fr", "creator-fr-labels")
    text = page.inner_text("main")  # type: ignore[attr-defined]
    for label in ("Courbe des abonnés", "Engagement par publication", "Abonnés", "Alertes"):
        assert label in text
    assert page.locator("html").get_attribute("lang") == "fr"  # type: ignore[attr-defined]
    assert "25\u202f950" in text


def test_markup_written_by_a_creator_is_shown_as_text_and_never_runs(
    browse: Browse, sqlite_world: tuple[Engine, World]
) -> None:
    _engine, world = sqlite_world
    page = browse.visit(f"/creators/{world.hostile_creator}?lang=en", "creator-hostile")
    assert HOSTILE in page.inner_text("main")  # type: ignore[attr-defined]
    assert page.evaluate("document.querySelectorAll('script, img:not([src^=data])').length") == 0  # type: ignore[attr-defined]
    assert browse.problems.dialogs == []


@pytest.fixture
def own_world(tmp_path: Path, sqlite_template: Path) -> Iterator[tuple[Engine, World]]:
    """A database of its own, for a test that changes it."""
    path = tmp_path / "own.db"
    shutil.copyfile(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine, populate(engine, NOW)
    engine.dispose()


def _status(engine: Engine, flag_id: int) -> str:
    flags = Flag.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return str(conn.execute(select(flags.c.status).where(flags.c.id == flag_id)).scalar_one())


def test_acknowledging_a_flag_in_the_browser_stores_it_and_lists_it_no_more(
    browser: object, screenshots: Path, own_world: tuple[Engine, World]
) -> None:
    engine, world = own_world
    server = serve_in_background(engine, "127.0.0.1", 0, clock=FakeClock(NOW))
    session = Browse(browser, server.url, screenshots)
    try:
        page = session.visit("/flags?lang=en", "flags-before-acknowledge")
        page.locator(f"#flag-{world.high_flag} button.btn-acknowledged").click()  # type: ignore[attr-defined]
        page.wait_for_load_state()  # type: ignore[attr-defined]
        page.screenshot(path=str(screenshots / "flags-after-acknowledge.png"), full_page=True)  # type: ignore[attr-defined]
        assert page.locator(f"#flag-{world.high_flag}").count() == 0  # type: ignore[attr-defined]
        assert session.problems.messages == []
    finally:
        session.close()
        server.stop()
    assert _status(engine, world.high_flag) == "acknowledged"


def test_with_a_token_the_browser_signs_in_through_the_form(
    browser: object, screenshots: Path, sqlite_world: tuple[Engine, World]
) -> None:
    engine, world = sqlite_world
    server = serve_in_background(engine, "127.0.0.1", 0, token=TOKEN, clock=FakeClock(NOW))
    session = Browse(browser, server.url, screenshots)
    try:
        page = session.visit("/flags", "login")
        assert "/login" in page.url  # type: ignore[attr-defined]
        page.fill("input[name=token]", TOKEN)  # type: ignore[attr-defined]
        page.click("form.login button")  # type: ignore[attr-defined]
        page.wait_for_load_state()  # type: ignore[attr-defined]
        assert page.url == f"{server.url}/flags"  # type: ignore[attr-defined]
        assert page.locator(f"#flag-{world.high_flag}").is_visible()  # type: ignore[attr-defined]
        session.problems.messages = [m for m in session.problems.messages if "401" not in m]
        assert session.problems.messages == []
    finally:
        session.close()
        server.stop()

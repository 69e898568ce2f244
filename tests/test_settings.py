"""collector.toml and watchlist.yaml: typed, frozen, and every problem reported with file:line."""

from __future__ import annotations

import copy
import gc
import pickle
import textwrap
import tracemalloc
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pydantic
import pytest
from pydantic import SecretStr, field_validator

from collector.configfiles import toml_key_lines
from collector.settings import (
    ConfigInvalid,
    ConfigProblem,
    Settings,
    check_files,
    load_settings,
    load_watchlist,
)
from collector.storage.db import DEFAULT_DB_URL
from connectors import registry
from connectors.base import Connector, PlatformConfig
from connectors.records import AccountRef, PostPage, ProfileBatch

CONFIG_DIR = Path(__file__).resolve().parents[1] / "config"
SENTINEL = "SENTINEL-TOKEN-123"

# -- fake connectors ---------------------------------------------------------------------------


class YouTubeConfig(PlatformConfig):
    api_key: SecretStr


class XConfig(PlatformConfig):
    bearer_token: SecretStr

    @field_validator("bearer_token")
    @classmethod
    def _prefixed(cls, value: SecretStr) -> SecretStr:
        # A careless connector that echoes the secret in its error: settings must mask it.
        if not value.get_secret_value().startswith("tok_"):
            raise ValueError(f"{value.get_secret_value()!r} does not start with tok_")
        return value


class _FakeConnector(Connector):
    async def fetch_profiles(self, accounts: Sequence[AccountRef]) -> ProfileBatch:
        raise NotImplementedError

    async def fetch_posts(self, account: AccountRef, *, since: object) -> PostPage:
        raise NotImplementedError


class FakeYouTube(_FakeConnector):
    name = "youtube"
    config_model = YouTubeConfig


class FakeBluesky(_FakeConnector):
    name = "bluesky"


class FakeMastodon(_FakeConnector):
    name = "mastodon"


class FakeX(_FakeConnector):
    name = "x"
    config_model = XConfig


FAKES: dict[str, type[Connector]] = {
    cls.name: cls for cls in (FakeYouTube, FakeBluesky, FakeMastodon, FakeX)
}


def _load_fake(name: str) -> type[Connector]:
    if name not in FAKES:
        raise registry.PluginError(f"unknown platform {name!r}")
    return FAKES[name]


@pytest.fixture(autouse=True)
def fake_registry(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees the four fake platforms, except those that ask for ``real_registry``."""
    if "real_registry" in request.fixturenames:
        return
    monkeypatch.setattr(registry, "available", lambda: sorted(FAKES))
    monkeypatch.setattr(registry, "load", _load_fake)


@pytest.fixture
def real_registry() -> None:
    """Opt out of the fake registry: load the connectors actually installed."""


# -- helpers -----------------------------------------------------------------------------------

TOML = """\
watchlist = "watchlist.yaml"

[database]
url = "sqlite:///collector.db"

[scheduler]
tick = "30s"
jitter = 0.2

[logging]
level = "debug"
format = "json"

[platforms.youtube]
api_key = "${YOUTUBE_API_KEY}"
interval = "6h"

[platforms.bluesky]
interval = "1h30m"
"""

WATCHLIST = """\
creators:
  - name: Salma Beauty
    tags: [cosmetics, casablanca]
    accounts:
      youtube: "@SalmaBeauty"
      bluesky: [salma.bsky.social, salma2.bsky.social]
  - name: Casa Kitchen
    accounts:
      youtube: casakitchen
campaigns:
  - name: Ramadan 2026
    brand: "@marque"
    start: 2026-02-18
    end: 2026-03-20
    hashtags: ["#ramadan2026"]
    mentions: ["@marque"]
    promo_codes: [SALMA10]
    links: ["https://shop.example/?utm_campaign=ramadan26"]
    creators:
      - name: Salma Beauty
        cost: 5000
        currency: MAD
"""

ENV = {"YOUTUBE_API_KEY": "yt-key-1"}


def write(tmp_path: Path, toml: str = TOML, watchlist: str = WATCHLIST) -> Path:
    (tmp_path / "watchlist.yaml").write_text(textwrap.dedent(watchlist), encoding="utf-8")
    path = tmp_path / "collector.toml"
    path.write_text(textwrap.dedent(toml), encoding="utf-8")
    return path


def problems_of(path: Path, environ: dict[str, str] | None = None) -> list[ConfigProblem]:
    """The errors load_settings raises; fails the test if the files load."""
    with pytest.raises(ConfigInvalid) as excinfo:
        load_settings(path, environ=ENV if environ is None else environ)
    return excinfo.value.problems


def only(problems: Sequence[ConfigProblem], field: str) -> ConfigProblem:
    matching = [p for p in problems if p.field == field]
    assert len(matching) == 1, f"expected one problem at {field}, got {problems}"
    return matching[0]


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """The 1-based line of the n-th line of ``text`` that contains ``needle``."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


# -- valid files -------------------------------------------------------------------------------


def test_valid_files_load_into_typed_settings(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path), environ=ENV)

    assert settings.path == tmp_path / "collector.toml"
    assert settings.database.url == "sqlite:///collector.db"
    assert settings.scheduler.tick == timedelta(seconds=30)
    assert settings.scheduler.jitter == 0.2
    assert (settings.logging.level, settings.logging.format) == ("debug", "json")
    assert set(settings.platforms) == {"youtube", "bluesky"}
    youtube = settings.platforms["youtube"]
    assert isinstance(youtube, YouTubeConfig)
    assert youtube.api_key.get_secret_value() == "yt-key-1"
    assert youtube.interval == timedelta(hours=6)
    assert settings.platforms["bluesky"].interval == timedelta(hours=1, minutes=30)
    assert settings.warnings == ()
    campaign = settings.watchlist.campaigns[0]
    assert (campaign.start, campaign.end) == (date(2026, 2, 18), date(2026, 3, 20))
    assert campaign.promo_codes == ("SALMA10",)
    assert campaign.creators[0].cost == Decimal(5000)
    assert campaign.creators[0].currency == "MAD"


def test_watchlist_accounts_lists_platform_handle_and_creator(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path), environ=ENV)

    assert settings.watchlist.accounts() == [
        ("youtube", "SalmaBeauty", "Salma Beauty"),
        ("bluesky", "salma.bsky.social", "Salma Beauty"),
        ("bluesky", "salma2.bsky.social", "Salma Beauty"),
        ("youtube", "casakitchen", "Casa Kitchen"),
    ]


def test_leading_at_is_stripped_from_handles(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path), environ=ENV)

    assert settings.watchlist.creators[0].accounts["youtube"] == ("SalmaBeauty",)


def test_a_handle_may_be_a_string_or_a_list(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path), environ=ENV)

    accounts = settings.watchlist.creators[0].accounts
    assert accounts["youtube"] == ("SalmaBeauty",)
    assert accounts["bluesky"] == ("salma.bsky.social", "salma2.bsky.social")


def test_mastodon_handles_keep_their_instance(tmp_path: Path) -> None:
    toml = TOML + "[platforms.mastodon]\n"
    watchlist = """\
    creators:
      - name: Casa Kitchen
        accounts:
          mastodon: "@casakitchen@mastodon.social"
    """
    settings = load_settings(write(tmp_path, toml, watchlist), environ=ENV)

    assert settings.watchlist.accounts() == [
        ("mastodon", "casakitchen@mastodon.social", "Casa Kitchen")
    ]


def test_unquoted_yaml_scalars_are_read_as_written(tmp_path: Path) -> None:
    watchlist = """\
    creators:
      - name: Norway Naturals
        tags: [yes, 2026]
        accounts:
          bluesky: no
    campaigns:
      - name: Bond
        promo_codes: [007]
    """
    settings = load_settings(write(tmp_path, watchlist=watchlist), environ=ENV)

    creator = settings.watchlist.creators[0]
    assert creator.accounts["bluesky"] == ("no",)
    assert creator.tags == ("yes", "2026")
    assert settings.watchlist.campaigns[0].promo_codes == ("007",)


def test_database_url_defaults_when_the_table_is_absent(tmp_path: Path) -> None:
    toml = '[platforms.bluesky]\ninterval = "6h"\n'
    settings = load_settings(write(tmp_path, toml), environ={})

    assert settings.database.url == DEFAULT_DB_URL
    assert settings.scheduler.tick is None
    assert settings.scheduler.jitter == 0.1
    assert (settings.logging.level, settings.logging.format) == ("info", "auto")


def test_watchlist_path_is_relative_to_the_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etc = tmp_path / "etc"
    (etc / "lists").mkdir(parents=True)
    (etc / "lists" / "marketing.yaml").write_text(textwrap.dedent(WATCHLIST), encoding="utf-8")
    toml = etc / "collector.toml"
    toml.write_text(TOML.replace('"watchlist.yaml"', '"lists/marketing.yaml"'), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    settings = load_settings(toml, environ=ENV)

    assert settings.watchlist_path == etc / "lists" / "marketing.yaml"
    assert len(settings.watchlist.creators) == 2


def test_missing_watchlist_file_is_reported_at_its_key(tmp_path: Path) -> None:
    path = write(tmp_path)
    (tmp_path / "watchlist.yaml").unlink()

    problem = only(problems_of(path), "watchlist")

    assert problem.line == 1
    assert "not found" in problem.message


def test_a_platform_without_its_table_is_not_configured(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path), environ=ENV)

    assert "x" not in settings.platforms
    assert "mastodon" not in settings.platforms


def test_settings_models_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path), environ=ENV)

    with pytest.raises(pydantic.ValidationError):
        settings.watchlist.creators[0].name = "Someone Else"  # type: ignore[misc]


def test_a_creators_accounts_are_read_only(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path), environ=ENV)

    with pytest.raises(TypeError):
        settings.watchlist.creators[0].accounts["x"] = ("someone",)  # type: ignore[index]


def test_a_watchlist_survives_copy_and_pickle(tmp_path: Path) -> None:
    watchlist = load_settings(write(tmp_path), environ=ENV).watchlist

    assert copy.deepcopy(watchlist) == watchlist
    assert pickle.loads(pickle.dumps(watchlist)) == watchlist  # noqa: S301 (our own bytes)


# -- a large watchlist -------------------------------------------------------------------------

LARGE = 5_000


@pytest.fixture
def large_watchlist(tmp_path: Path) -> Path:
    """A watchlist of LARGE creators, each with two tags and one handle; a small one is loaded
    first so that what is built once (validators, regexes) is not counted."""
    small = tmp_path / "small.yaml"
    small.write_text("creators:\n  - name: A\n    tags: [t]\n    accounts:\n      bluesky: a\n")
    load_watchlist(small, platforms=["bluesky"])
    lines = ["creators:"]
    for n in range(LARGE):
        lines += [
            f"  - name: Creator {n:05d}",
            f"    tags: [tag{n % 10}, common]",
            "    accounts:",
            f"      bluesky: creator-{n:05d}.bsky.social",
        ]
    path = tmp_path / "watchlist.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _traced_load(path: Path) -> tuple[int, int]:
    """Bytes still allocated once the watchlist is loaded (it included), and the peak."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        watchlist, _ = load_watchlist(path, platforms=["bluesky"])
        gc.collect()
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(watchlist.creators) == LARGE
    return kept - before, peak - before


def test_a_validated_creator_is_held_in_a_few_hundred_bytes(large_watchlist: Path) -> None:
    # The daemon holds the watchlist for its whole life: ~400 bytes a creator here, where a
    # pydantic model per creator held ~1,100 (and a 100,000-creator daemon 555 MB).
    kept, _ = _traced_load(large_watchlist)

    assert kept / LARGE < 600


def test_validating_a_watchlist_builds_no_tree_of_the_whole_file(large_watchlist: Path) -> None:
    # Data built straight from the parser's events peaks at ~2,600 bytes a creator; PyYAML's
    # node tree of the file peaked at ~8,100 (640 MB for 100,000 creators).
    _, peak = _traced_load(large_watchlist)

    assert peak / LARGE < 4_000


# -- unknown keys ------------------------------------------------------------------------------


def test_unknown_top_level_key_reports_its_line_and_the_likely_spelling(tmp_path: Path) -> None:
    toml = TOML + '\n[schedular]\ntick = "1m"\n'
    problem = only(problems_of(write(tmp_path, toml)), "schedular")

    assert problem.line == line_of(toml, "[schedular]")
    assert problem.message == "unknown key 'schedular' (did you mean 'scheduler'?)"
    assert problem.file == tmp_path / "collector.toml"


def test_unknown_key_in_a_platform_table_reports_its_line(tmp_path: Path) -> None:
    toml = TOML.replace('interval = "6h"', 'intervall = "6h"')
    problem = only(problems_of(write(tmp_path, toml)), "platforms.youtube.intervall")

    assert problem.line == line_of(toml, "intervall")
    assert problem.message == "unknown key 'intervall' (did you mean 'interval'?)"


def test_unknown_key_in_a_creator_reports_its_line(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("    accounts:\n      youtube: casakitchen", "    acounts: {}")
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), "creators[1].acounts")

    assert problem.file == tmp_path / "watchlist.yaml"
    assert problem.line == line_of(watchlist, "acounts")
    assert "unknown key 'acounts'" in problem.message


def test_unknown_key_in_a_campaign_creator_reports_its_line(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("currency: MAD", "devise: MAD")
    field = "campaigns[0].creators[0].devise"
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), field)

    assert problem.line == line_of(watchlist, "devise")
    assert "expected one of: name, cost, currency" in problem.message


# -- values ------------------------------------------------------------------------------------


def test_bad_interval_reports_the_duration_parser_message(tmp_path: Path) -> None:
    toml = TOML.replace('interval = "6h"', 'interval = "6 hours"')
    problem = only(problems_of(write(tmp_path, toml)), "platforms.youtube.interval")

    assert problem.line == line_of(toml, "6 hours")
    assert problem.message.startswith("'6 hours' is not a duration: ")
    assert str(problem) == (
        f"{tmp_path / 'collector.toml'}:{problem.line}: platforms.youtube.interval: "
        f"{problem.message}"
    )


def test_jitter_above_half_the_interval_is_an_error(tmp_path: Path) -> None:
    toml = TOML.replace("jitter = 0.2", "jitter = 0.8")
    problem = only(problems_of(write(tmp_path, toml)), "scheduler.jitter")

    assert problem.line == line_of(toml, "jitter")


def test_unknown_logging_level_is_an_error(tmp_path: Path) -> None:
    toml = TOML.replace('level = "debug"', 'level = "verbose"')
    problem = only(problems_of(write(tmp_path, toml)), "logging.level")

    assert problem.line == line_of(toml, "verbose")


def test_unsupported_database_url_is_an_error(tmp_path: Path) -> None:
    toml = TOML.replace("sqlite:///collector.db", "mysql://db/collector")
    problem = only(problems_of(write(tmp_path, toml)), "database.url")

    assert problem.line == line_of(toml, "mysql")
    assert "unsupported database" in problem.message


def test_empty_handle_is_an_error(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("youtube: casakitchen", 'youtube: "@"')
    problem = only(
        problems_of(write(tmp_path, watchlist=watchlist)), "creators[1].accounts.youtube"
    )

    assert problem.line == line_of(watchlist, 'youtube: "@"')
    assert problem.message == "handle is empty"


def test_handle_with_whitespace_is_an_error(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("salma2.bsky.social", '"salma 2.bsky.social"')
    field = "creators[0].accounts.bluesky[1]"
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), field)

    assert problem.message == "handle 'salma 2.bsky.social' contains whitespace"


def test_handle_with_a_nul_character_is_an_error_at_its_line(tmp_path: Path) -> None:
    # The YAML reader refuses a raw NUL, but "\0" in a double-quoted string writes one.
    watchlist = WATCHLIST.replace("salma2.bsky.social", '"salma\\0two.bsky.social"')
    field = "creators[0].accounts.bluesky[1]"
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), field)

    assert problem.file == tmp_path / "watchlist.yaml"
    assert problem.line == line_of(watchlist, "salma\\0two")
    assert problem.message == (
        "handle 'salma\\x00two.bsky.social' contains a control character (U+0000)"
    )


def test_config_check_names_file_and_line_of_a_handle_with_a_control_character(
    tmp_path: Path,
) -> None:
    # "\e" is YAML's escape for ESC, which would reach terminals and logs raw.
    watchlist = WATCHLIST.replace("youtube: casakitchen", 'youtube: "casa\\ekitchen"')
    write(tmp_path, watchlist=watchlist)
    path = tmp_path / "watchlist.yaml"

    line = line_of(watchlist, '"casa\\ekitchen"')

    (problem,) = check_files([path])

    assert str(problem) == (
        f"{path}:{line}: creators[1].accounts.youtube: "
        "handle 'casa\\x1bkitchen' contains a control character (U+001B)"
    )


def test_currency_must_be_a_three_letter_code(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("currency: MAD", "currency: DIRHAM")
    field = "campaigns[0].creators[0].currency"
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), field)

    assert problem.line == line_of(watchlist, "DIRHAM")
    assert "3-letter currency code" in problem.message


def test_negative_cost_is_an_error(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("cost: 5000", "cost: -5")
    field = "campaigns[0].creators[0].cost"
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), field)

    assert problem.line == line_of(watchlist, "cost: -5")


def test_missing_creator_name_is_reported_at_the_creator(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("  - name: Casa Kitchen\n    accounts:", "  - accounts:")
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), "creators[1].name")

    assert problem.line == line_of(watchlist, "  - accounts:")
    assert problem.message == "required key 'name' is missing"


# -- cross-field checks ------------------------------------------------------------------------


def test_duplicate_handle_across_creators_is_reported_at_the_second(tmp_path: Path) -> None:
    # Case and a leading @ do not make a different account.
    watchlist = WATCHLIST.replace("youtube: casakitchen", 'youtube: "@salmabeauty"')
    problem = only(
        problems_of(write(tmp_path, watchlist=watchlist)), "creators[1].accounts.youtube"
    )

    first = line_of(watchlist, "@SalmaBeauty")
    assert problem.line == line_of(watchlist, "@salmabeauty")
    assert problem.message.startswith(
        f"handle 'salmabeauty' on youtube is already listed at line {first} "
        "(creator 'Salma Beauty')"
    )


def test_duplicate_handle_in_one_list_is_reported_at_the_item(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("salma2.bsky.social", "Salma.bsky.social")
    field = "creators[0].accounts.bluesky[1]"
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), field)

    assert "already listed" in problem.message


def test_the_same_handle_on_two_platforms_is_fine(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("youtube: casakitchen", "bluesky: salmabeauty")

    settings = load_settings(write(tmp_path, watchlist=watchlist), environ=ENV)

    assert ("bluesky", "salmabeauty", "Casa Kitchen") in settings.watchlist.accounts()


def test_creator_names_must_be_unique(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("name: Casa Kitchen", "name: salma beauty")
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), "creators[1].name")

    assert problem.message == (
        f"creator 'salma beauty' is already listed at line {line_of(watchlist, 'Salma Beauty')}"
    )


def test_campaign_ending_before_it_starts_is_an_error(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("end: 2026-03-20", "end: 2026-01-31")
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), "campaigns[0].end")

    assert problem.line == line_of(watchlist, "end: 2026-01-31")
    assert problem.message == "the campaign ends (2026-01-31) before it starts (2026-02-18)"


def test_campaign_naming_an_unknown_creator_is_an_error(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("      - name: Salma Beauty", "      - name: Salma Beaty")
    field = "campaigns[0].creators[0].name"
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), field)

    assert problem.line == line_of(watchlist, "Salma Beaty")
    assert problem.message == (
        "'Salma Beaty' is not a creator of this watchlist (did you mean 'Salma Beauty'?)"
    )


# -- platforms ---------------------------------------------------------------------------------


def test_unknown_platform_in_the_toml_names_the_installed_ones(tmp_path: Path) -> None:
    toml = TOML + "\n[platforms.myspace]\n"
    problem = only(problems_of(write(tmp_path, toml)), "platforms.myspace")

    assert problem.line == line_of(toml, "[platforms.myspace]")
    assert problem.message == (
        "unknown platform 'myspace' (installed: bluesky, mastodon, x, youtube)"
    )


def test_unknown_platform_in_the_watchlist_is_an_error(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("youtube: casakitchen", "youtub: casakitchen")
    field = "creators[1].accounts.youtub"
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), field)

    assert problem.line == line_of(watchlist, "youtub:")
    assert problem.message == (
        "unknown platform 'youtub' (did you mean 'youtube'? "
        "installed: bluesky, mastodon, x, youtube)"
    )


def test_account_on_a_platform_the_toml_does_not_configure_is_a_warning(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("youtube: casakitchen", "mastodon: casa@mastodon.social")

    settings = load_settings(write(tmp_path, watchlist=watchlist), environ=ENV)

    (warning,) = settings.warnings
    assert warning.severity == "warning"
    assert warning.field == "creators[1].accounts.mastodon"
    assert warning.line == line_of(watchlist, "mastodon:")
    assert "1 account on mastodon will not be collected" in warning.message
    assert ("mastodon", "casa@mastodon.social", "Casa Kitchen") in settings.watchlist.accounts()


def test_account_on_a_disabled_platform_is_a_warning(tmp_path: Path) -> None:
    toml = TOML.replace("[platforms.bluesky]\n", "[platforms.bluesky]\nenabled = false\n")

    settings = load_settings(write(tmp_path, toml), environ=ENV)

    assert settings.platforms["bluesky"].enabled is False
    (warning,) = settings.warnings
    assert warning.message == (
        "2 accounts on bluesky will not be collected: [platforms.bluesky] has enabled = false"
    )


# -- secrets -----------------------------------------------------------------------------------


def test_missing_secret_names_the_variable_at_its_line(tmp_path: Path) -> None:
    toml = TOML
    problem = only(problems_of(write(tmp_path, toml), environ={}), "platforms.youtube.api_key")

    assert problem.line == line_of(toml, "YOUTUBE_API_KEY")
    assert problem.message == (
        "environment variable YOUTUBE_API_KEY is not set (secrets are read from the environment "
        "only)"
    )


def test_empty_secret_is_an_error(tmp_path: Path) -> None:
    problem = only(
        problems_of(write(tmp_path), environ={"YOUTUBE_API_KEY": ""}), "platforms.youtube.api_key"
    )

    assert problem.message.startswith("environment variable YOUTUBE_API_KEY is empty")


def test_disabled_platform_with_a_missing_secret_is_fine(tmp_path: Path) -> None:
    toml = TOML + (
        '\n[platforms.x]\nenabled = false\ninterval = "2h"\nbearer_token = "${X_BEARER_TOKEN}"\n'
    )

    settings = load_settings(write(tmp_path, toml), environ=ENV)

    x = settings.platforms["x"]
    assert isinstance(x, XConfig)
    assert x.enabled is False
    assert x.interval == timedelta(hours=2)


def test_secrets_returns_the_expanded_token(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path), environ={"YOUTUBE_API_KEY": "yt-secret-42"})

    assert settings.secrets() == ["yt-secret-42"]


def test_secret_sentinel_never_appears_in_any_message(tmp_path: Path) -> None:
    # The same value reaches two fields that reject it, and both validators echo what they got.
    toml = TOML + '\n[platforms.x]\nbearer_token = "${X_TOKEN}"\ninterval = "${X_TOKEN}"\n'
    path = write(tmp_path, toml)
    environ = {**ENV, "X_TOKEN": SENTINEL}

    with pytest.raises(ConfigInvalid) as excinfo:
        load_settings(path, environ=environ)
    checked = check_files([path], environ=environ)

    problems = [*excinfo.value.problems, *checked]
    assert {p.field for p in problems} == {"platforms.x.bearer_token", "platforms.x.interval"}
    for text in [
        str(excinfo.value),
        repr(excinfo.value),
        *map(str, problems),
        *map(repr, problems),
    ]:
        assert SENTINEL not in text
    assert "'***' is not a duration" in only(excinfo.value.problems, "platforms.x.interval").message


def test_secret_written_in_the_file_is_a_warning(tmp_path: Path) -> None:
    toml = TOML.replace('"${YOUTUBE_API_KEY}"', '"literal-key"')

    settings = load_settings(write(tmp_path, toml), environ={})

    (warning,) = settings.warnings
    assert warning.field == "platforms.youtube.api_key"
    assert "literal-key" not in str(warning)
    assert settings.secrets() == ["literal-key"]


def test_double_dollar_escapes_a_literal_reference(tmp_path: Path) -> None:
    toml = TOML.replace("sqlite:///collector.db", "sqlite:///$${HOME}.db")

    settings = load_settings(write(tmp_path, toml), environ=ENV)

    assert settings.database.url == "sqlite:///${HOME}.db"


def test_any_string_value_may_read_the_environment(tmp_path: Path) -> None:
    toml = TOML.replace("sqlite:///collector.db", "postgresql+psycopg://c:${PGPASSWORD}@db/c")

    settings = load_settings(write(tmp_path, toml), environ={**ENV, "PGPASSWORD": "pw-9"})

    assert settings.database.url == "postgresql+psycopg://c:pw-9@db/c"
    assert "pw-9" in settings.secrets()


# -- syntax errors -----------------------------------------------------------------------------


def test_duplicate_yaml_key_is_an_error_at_the_second_occurrence(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace(
        "    tags: [cosmetics, casablanca]\n", "    tags: [a]\n    tags: [b]\n"
    )
    problem = only(problems_of(write(tmp_path, watchlist=watchlist)), "creators[0].tags")

    assert problem.line == line_of(watchlist, "tags: [b]")
    assert problem.message.startswith(
        f"duplicate key 'tags' (first written at line {line_of(watchlist, 'tags: [a]')})"
    )


def test_yaml_syntax_error_reports_its_line(tmp_path: Path) -> None:
    watchlist = "creators:\n  - name: A\n    tags: [a, b\n    accounts: {}\n"
    (problem,) = problems_of(write(tmp_path, watchlist=watchlist))

    assert problem.file == tmp_path / "watchlist.yaml"
    assert problem.field == ""
    assert problem.message.startswith("invalid YAML: ")
    assert problem.line in (line_of(watchlist, "tags: [a, b"), line_of(watchlist, "accounts"))


def test_toml_syntax_error_reports_its_line(tmp_path: Path) -> None:
    toml = TOML.replace('interval = "6h"', "interval = 6h")
    (problem,) = problems_of(write(tmp_path, toml))

    assert problem.line == line_of(toml, "interval = 6h")
    assert problem.message.startswith("invalid TOML: ")
    assert problem.field == ""


# -- all at once -------------------------------------------------------------------------------


def test_every_problem_of_both_files_is_reported_at_once(tmp_path: Path) -> None:
    toml = TOML.replace('interval = "6h"', 'interval = "often"').replace(
        "jitter = 0.2", "jitter = 2\ncolour = true"
    )
    watchlist = WATCHLIST.replace("youtube: casakitchen", 'youtube: "@SalmaBeauty"').replace(
        "end: 2026-03-20", "end: 2026-01-01"
    )

    problems = problems_of(write(tmp_path, toml, watchlist), environ={})

    assert [(p.file.name, p.field) for p in problems] == [
        ("collector.toml", "scheduler.jitter"),
        ("collector.toml", "scheduler.colour"),
        ("collector.toml", "platforms.youtube.api_key"),
        ("collector.toml", "platforms.youtube.interval"),
        ("watchlist.yaml", "creators[1].accounts.youtube"),
        ("watchlist.yaml", "campaigns[0].end"),
    ]
    assert [p.line for p in problems[:4]] == sorted(p.line or 0 for p in problems[:4])


# -- problems, load_watchlist and check_files --------------------------------------------------


def test_problem_str_omits_the_line_when_unknown() -> None:
    with_line = ConfigProblem(
        Path("config/collector.toml"), 12, "platforms.youtube.interval", "bad"
    )
    without = ConfigProblem(Path("config/collector.toml"), None, "", "file not found")

    assert str(with_line) == "config/collector.toml:12: platforms.youtube.interval: bad"
    assert str(without) == "config/collector.toml: file not found"


def test_config_invalid_lists_one_problem_per_line() -> None:
    first = ConfigProblem(Path("a.toml"), 1, "x", "bad x")
    second = ConfigProblem(Path("w.yaml"), 2, "y", "bad y")

    assert str(ConfigInvalid([first, second])) == "a.toml:1: x: bad x\nw.yaml:2: y: bad y"


def test_load_watchlist_alone_checks_platforms_against_the_registry_only(tmp_path: Path) -> None:
    # No collector.toml says which platforms are configured, so an installed one is enough.
    watchlist = WATCHLIST.replace("youtube: casakitchen", "mastodon: casa@mastodon.social")
    write(tmp_path, watchlist=watchlist)

    loaded, warnings = load_watchlist(tmp_path / "watchlist.yaml")

    assert warnings == []
    assert ("mastodon", "casa@mastodon.social", "Casa Kitchen") in loaded.accounts()


def test_load_watchlist_warns_about_platforms_disabled_in_the_settings(tmp_path: Path) -> None:
    write(tmp_path)
    platforms = {"youtube": PlatformConfig(), "bluesky": PlatformConfig(enabled=False)}

    _, warnings = load_watchlist(tmp_path / "watchlist.yaml", platforms=platforms)

    assert [w.field for w in warnings] == ["creators[0].accounts.bluesky"]


def test_load_watchlist_raises_with_every_error(tmp_path: Path) -> None:
    watchlist = WATCHLIST.replace("currency: MAD", "currency: M").replace("cost: 5000", "cost: -1")
    write(tmp_path, watchlist=watchlist)

    with pytest.raises(ConfigInvalid) as excinfo:
        load_watchlist(tmp_path / "watchlist.yaml")

    assert [p.field for p in excinfo.value.problems] == [
        "campaigns[0].creators[0].cost",
        "campaigns[0].creators[0].currency",
    ]


def test_check_files_reports_a_missing_file_without_raising(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"

    (problem,) = check_files([missing])

    assert problem == ConfigProblem(missing, None, "", "file not found")


def test_check_files_checks_toml_and_watchlist_files_together(tmp_path: Path) -> None:
    toml = TOML.replace('interval = "6h"', 'interval = "6 hours"')
    watchlist = WATCHLIST.replace("youtube: casakitchen", "orkut: casakitchen")
    path = write(tmp_path, toml, watchlist)

    problems = check_files([path, tmp_path / "watchlist.yaml"], environ=ENV)

    # The watchlist is checked through the TOML and alone; its problem is listed once.
    assert [p.field for p in problems] == [
        "platforms.youtube.interval",
        "creators[1].accounts.orkut",
    ]


# -- the TOML line scanner ---------------------------------------------------------------------


def test_toml_key_lines_maps_quoted_dotted_and_array_table_keys() -> None:
    text = textwrap.dedent(
        """\
        title = "x"           # comment with a fake = sign
        notes = \"\"\"
        fake = "not a key"
        \"\"\"
        list = [
          "a",
          "b = c",
        ]
        [platforms.demo]
        scenarios."salma.beauty" = "steady"
        'quoted key' = 1

        [[jobs]]
        name = "first"
        [jobs.options]
        retry = true
        [[jobs]]
        name = "second"
        """
    )

    lines = toml_key_lines(text)

    assert lines[("title",)] == 1
    assert lines[("notes",)] == 2
    assert ("fake",) not in lines
    assert lines[("list",)] == 5
    assert ("b = c",) not in lines
    assert lines[("platforms", "demo")] == 9
    assert lines[("platforms", "demo", "scenarios", "salma.beauty")] == 10
    assert lines[("platforms", "demo", "quoted key")] == 11
    assert lines[("jobs", 0, "name")] == 14
    assert lines[("jobs", 0, "options", "retry")] == 16
    assert lines[("jobs", 1, "name")] == 18


# -- the shipped example files -----------------------------------------------------------------


def test_example_config_and_watchlist_load_without_problems(real_registry: None) -> None:
    environ = {
        "YOUTUBE_API_KEY": "yt-example-key",
        "X_BEARER_TOKEN": "x-example-token",
        "INSTAGRAM_ACCESS_TOKEN": "ig-example-token",
    }
    settings = load_settings(CONFIG_DIR / "collector.example.toml", environ=environ)

    assert settings.warnings == ()
    assert settings.watchlist_path == CONFIG_DIR / "watchlist.example.yaml"
    assert settings.watchlist.campaigns[0].name == "Ramadan 2026"
    assert check_files([CONFIG_DIR / "watchlist.example.yaml"]) == []


def test_demo_config_loads_with_the_demo_connector(real_registry: None) -> None:
    settings: Settings = load_settings(CONFIG_DIR / "demo.toml", environ={})

    assert settings.warnings == ()
    assert settings.database.url == "sqlite:///collector-demo.db"
    assert settings.scheduler.tick == timedelta(seconds=2)
    assert settings.platforms["demo"].interval == timedelta(seconds=10)
    scenarios = getattr(settings.platforms["demo"], "scenarios")  # noqa: B009
    handles = {handle for _, handle, _ in settings.watchlist.accounts()}
    assert set(scenarios) == handles
    assert sorted(scenarios.values()) == [
        "bought_followers",
        "nano",
        "organic_viral",
        "steady",
        "steady",
    ]
    assert len(settings.watchlist.campaigns) == 1

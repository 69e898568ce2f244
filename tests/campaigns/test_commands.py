"""``collector report`` and ``collector campaigns ...`` as users run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from collector.campaigns.commands import register
from collector.cli import CliError
from collector.storage.db import make_engine, upgrade
from tests.campaigns.conftest import WATCHLIST, build

# The real command line, with this feature's commands whether or not cli.py lists them yet.
HARNESS = (
    "import collector.cli as cli\n"
    "from collector.campaigns.commands import register\n"
    "if 'collector.campaigns.commands' not in cli.COMMAND_MODULES:\n"
    "    register(cli.app)\n"
    "cli.main()\n"
)


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """The collector command line, reduced to this feature."""

    register(app)
    return app


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    engine = make_engine(url)
    upgrade(engine)
    build(engine)
    engine.dispose()
    return url


def run(app: typer.Typer, *args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output, result.exception


def test_report_writes_a_french_html_file(tmp_path: Path, db: str) -> None:
    out = tmp_path / "r.html"
    args = ["report", "--db", db, "--campaign", "Ramadan 2026", "--lang", "fr", "--out", str(out)]
    result = subprocess.run(
        [sys.executable, "-c", HARNESS, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    assert "Campagne : Ramadan 2026" in out.read_text(encoding="utf-8")
    assert "1 campaign(s), 3 account(s)" in result.stdout


def test_report_of_an_unknown_campaign_exits_2_naming_the_known_ones(
    app: typer.Typer, tmp_path: Path, db: str
) -> None:
    code, output, _ = run(app, "report", "--db", db, "--campaign", "Nope", "--out", "x.html")
    assert code == 2
    assert "'Ramadan 2026'" in output


def test_report_refuses_a_language_it_does_not_speak(app: typer.Typer, db: str) -> None:
    code, output, _ = run(app, "report", "--db", db, "--lang", "de", "--out", "x.html")
    assert (code, "--lang must be one of en, fr" in output) == (2, True)


def test_assign_then_list_shows_the_post_in_the_campaign(app: typer.Typer, db: str) -> None:
    run(app, "campaigns", "attribute", "--db", db)
    code, output, _ = run(
        app, "campaigns", "assign", "demo:S3", "--campaign", "Ramadan 2026", "--db", db
    )
    assert (code, "is now in 'Ramadan 2026'" in output) == (0, True)
    code, output, _ = run(app, "campaigns", "list", "--db", db, "--format", "json")
    (campaign,) = json.loads(output)
    assert campaign["totals"]["posts"] == 5


def test_unassign_keeps_a_post_out_and_withdraws_its_flag(app: typer.Typer, db: str) -> None:
    run(app, "campaigns", "attribute", "--db", db)
    code, _, _ = run(
        app, "campaigns", "unassign", "demo:S2", "--campaign", "Ramadan 2026", "--db", db
    )
    _, output, _ = run(app, "campaigns", "list", "--db", db, "--format", "json")
    (campaign,) = json.loads(output)
    assert (code, campaign["totals"]["posts"], campaign["totals"]["undisclosed_posts"]) == (0, 3, 0)


def test_assigning_an_unknown_post_exits_2(app: typer.Typer, db: str) -> None:
    code, output, _ = run(
        app, "campaigns", "assign", "demo:X9", "--campaign", "Ramadan 2026", "--db", db
    )
    assert (code, "no post on demo with id 'X9'" in output) == (2, True)


def test_a_rejected_conversions_file_exits_1_with_its_lines(
    app: typer.Typer, tmp_path: Path, db: str
) -> None:
    good = tmp_path / "good.csv"
    good.write_text("date,code,orders,revenue,currency\n2026-11-06,SALMA10,3,450,MAD\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("date,code,orders,revenue,currency\n2026-11-06,NOPE,3,450,MAD\n")
    code, output, _ = run(app, "campaigns", "import-conversions", str(good), str(bad), "--db", db)
    assert code == 1
    assert "good.csv: 1 conversion row(s) imported (Ramadan 2026: 1)" in output
    assert "line 2, column code: 'NOPE' is not a promo code" in output


def test_attribute_with_a_config_syncs_its_watchlist_campaigns_first(
    app: typer.Typer, tmp_path: Path
) -> None:
    (tmp_path / "w.yaml").write_text(yaml.safe_dump(WATCHLIST, allow_unicode=True))
    db_path = tmp_path / "fresh.db"
    (tmp_path / "c.toml").write_text(
        f'watchlist = "w.yaml"\n[database]\nurl = "sqlite:///{db_path}"\n[platforms.demo]\n'
    )
    code, output, exception = run(
        app, "campaigns", "attribute", "--config", str(tmp_path / "c.toml")
    )
    assert (code, exception) == (0, None), output
    assert output.startswith("1 campaign(s): 0 posts scanned")


def test_a_bad_database_url_is_the_cli_error_of_every_command(app: typer.Typer) -> None:
    _, _, exception = run(app, "campaigns", "attribute", "--db", "mysql://x/y")
    assert isinstance(exception, CliError)

"""``collector detect`` and ``collector flags`` as users run them, on real databases."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import insert
from typer.testing import CliRunner

from collector.cli import CliError, app
from collector.detection.detectors import KINDS
from collector.storage.db import make_engine
from collector.storage.models import Flag
from tests.detection.stored import NOW, add_account, store
from tests.detection.synth import Creator, at_day
from tests.test_cli import DEMO_CONFIG, collector


class Result:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = code, stdout, stderr


def cli(*args: str) -> Result:
    """The command line in this process (a real process costs a second of imports)."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    if isinstance(result.exception, CliError):
        return Result(result.exception.code, result.stdout, str(result.exception))
    return Result(result.exit_code, result.stdout, result.stderr)


def seeded(db_url: str) -> None:
    engine = make_engine(db_url)
    bought = add_account(engine, "rabat.street", platform="demo")
    store(
        engine, bought, Creator(steps={at_day(70): 5_000}, account_id=bought, pod_posts={20: 6.0})
    )
    engine.dispose()


def flags_json(db_url: str, *args: str) -> list[dict[str, object]]:
    result = cli("flags", "--db", db_url, "--format", "json", *args)
    assert result.returncode == 0, result.stderr
    loaded: list[dict[str, object]] = json.loads(result.stdout)
    return loaded


def test_detect_prints_a_summary_and_flags_prints_the_json_shape(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    assert cli("db", "upgrade", "--db", url).returncode == 0
    seeded(url)
    result = cli("detect", "--db", url)
    assert result.returncode == 0, result.stderr
    assert "scored 1 account in" in result.stdout
    assert "flags new: 2 high" in result.stdout
    flags = flags_json(url)
    by_kind = {f["kind"]: f for f in flags}
    jump, pod = by_kind["bought_followers"], by_kind["likes_anomaly"]
    for flag in (jump, pod):
        for key in (
            "id",
            "platform",
            "handle",
            "kind",
            "severity",
            "status",
            "window_start",
            "window_end",
            "score",
            "evidence",
            "post_id",
        ):
            assert key in flag, key
        assert isinstance(flag["evidence"], dict)
    assert (jump["platform"], jump["handle"], jump["post_id"]) == ("demo", "rabat.street", None)
    assert pod["post_id"] == "p1-20"
    assert str(jump["window_start"]).endswith("+00:00")


def test_flags_can_be_acknowledged_and_dismissed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    cli("db", "upgrade", "--db", url)
    seeded(url)
    cli("detect", "--db", url)
    first, second = (int(str(f["id"])) for f in flags_json(url))
    assert cli("flags", "ack", str(first), "--db", url).returncode == 0
    assert cli("flags", "--db", url, "dismiss", str(second)).returncode == 0
    assert {f["id"]: f["status"] for f in flags_json(url)} == {
        first: "acknowledged",
        second: "dismissed",
    }
    assert flags_json(url, "--status", "open") == []
    cli("detect", "--db", url)
    assert [f["status"] for f in flags_json(url, "--status", "dismissed")] == ["dismissed"]


def test_an_unknown_flag_id_is_an_error(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    cli("db", "upgrade", "--db", url)
    result = cli("flags", "dismiss", "999", "--db", url)
    assert result.returncode == 2
    assert "no flag with id 999" in result.stderr


def test_flags_table_lists_each_flag(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    cli("db", "upgrade", "--db", url)
    seeded(url)
    cli("detect", "--db", url)
    result = cli("flags", "--db", url, "--format", "table")
    assert result.returncode == 0
    assert "bought_followers" in result.stdout
    assert "likes_anomaly" in result.stdout


def _flag_from_a_hostile_platform(db_url: str, handle: str, tier: str) -> None:
    """A stored flag whose handle and evidence (so its summary) hold what a platform sent."""
    engine = make_engine(db_url)
    account = add_account(engine, handle, platform="demo")
    with engine.begin() as conn:
        conn.execute(
            insert(Flag.__table__),  # type: ignore[attr-defined]
            {
                "account_id": account,
                "kind": "engagement_rate_low",
                "severity": "high",
                "window_start": NOW,
                "window_end": NOW,
                "score": 1.0,
                "evidence": {"engagement_rate": 0.001, "tier": tier},
                "status": "open",
                "dedupe_key": "hostile",
                "created_at": NOW,
                "updated_at": NOW,
            },
        )
    engine.dispose()


def test_flags_table_escapes_control_characters_from_platforms(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    cli("db", "upgrade", "--db", url)
    _flag_from_a_hostile_platform(url, "shop\x1b[31m\rred", tier="nano\x1b[2J\r")
    result = cli("flags", "--db", url, "--format", "table")
    assert result.returncode == 0, result.stderr
    # Shown escaped, so a reader sees them; none reaches the terminal as a control character.
    assert "demo:shop\\x1b[31m\\rred" in result.stdout
    assert "nano\\x1b[2J\\r" in result.stdout
    assert [c for c in result.stdout if c in "\x1b\r"] == []


def test_flags_table_shows_markup_from_platforms_as_text(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    cli("db", "upgrade", "--db", url)
    _flag_from_a_hostile_platform(url, "[red]shop[/red]", tier="[bold]nano[/bold]")
    result = cli("flags", "--db", url, "--format", "table")
    assert result.returncode == 0, result.stderr
    assert "demo:[red]shop[/red]" in result.stdout
    assert "[bold]nano[/bold]" in result.stdout


def test_the_demo_flags_the_bought_creator_and_not_the_viral_one(db_url: str) -> None:
    assert (
        collector("collect", "--once", "--config", str(DEMO_CONFIG), "--db", db_url).returncode == 0
    )
    assert collector("detect", "--db", db_url).returncode == 0
    # Only the detectors' kinds: other features (campaign disclosure) flag accounts too.
    serious = [
        (f["handle"], f["kind"])
        for f in flags_json(db_url)
        if f["severity"] in ("medium", "high") and f["kind"] in KINDS
    ]
    assert ("rabat.street", "bought_followers") in serious
    assert [h for h, _ in serious if h != "rabat.street"] == []

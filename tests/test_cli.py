"""The command line end to end, as users run it: real processes, real databases."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from collector.storage.db import make_engine

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = ROOT / "config" / "demo.toml"
TABLES = ("account", "profile_snapshot", "post", "post_snapshot")


def collector(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "collector", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


def counts(db_url: str) -> list[int]:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        result = [int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES]
    engine.dispose()
    return result


def test_collect_once_stores_profile_and_post_snapshots(db_url: str) -> None:
    result = collector("collect", "--once", "--config", str(DEMO_CONFIG), "--db", db_url)
    assert result.returncode == 0, result.stderr
    accounts, profiles, posts, post_snapshots = counts(db_url)
    assert accounts == 5
    assert profiles > 5 * 300
    assert posts > 0
    assert post_snapshots >= posts


def test_collect_twice_in_the_same_interval_adds_no_rows(db_url: str, tmp_path: Path) -> None:
    # The demo's 10-second interval could elapse between two runs on a busy machine; an hour
    # cannot, so "the same interval" holds whatever the machine's speed.
    config = tmp_path / "demo.toml"
    config.write_text(
        DEMO_CONFIG.read_text(encoding="utf-8")
        .replace('interval = "10s"', 'interval = "1h"')
        .replace(
            'watchlist = "demo-watchlist.yaml"',
            f'watchlist = "{DEMO_CONFIG.parent}/demo-watchlist.yaml"',
        ),
        encoding="utf-8",
    )
    assert 'interval = "1h"' in config.read_text(encoding="utf-8")
    collector("collect", "--once", "--config", str(config), "--db", db_url)
    before = counts(db_url)
    result = collector("collect", "--once", "--config", str(config), "--db", db_url)
    assert (result.returncode, counts(db_url)) == (0, before)
    assert before[1] > 0


def test_collect_exits_1_when_an_account_fails(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(
        "creators:\n  - name: Ghost\n    accounts:\n      demo: ghost\n"
        "  - name: Real\n    accounts:\n      demo: real\n"
    )
    (tmp_path / "c.toml").write_text(
        'watchlist = "w.yaml"\n[platforms.demo]\ninterval = "1h"\nbackfill_days = 0\n'
        '[platforms.demo.scenarios]\nghost = "not_found"\n'
    )
    result = collector(
        "collect",
        "--once",
        "--config",
        str(tmp_path / "c.toml"),
        "--db",
        f"sqlite:///{tmp_path / 'x.db'}",
    )
    assert result.returncode == 1
    assert "demo: partial: 1/2 accounts" in result.stdout


def test_db_flag_wins_over_the_environment_variable(tmp_path: Path) -> None:
    flag_db, env_db = tmp_path / "flag.db", tmp_path / "env.db"
    collector(
        "db",
        "upgrade",
        "--db",
        f"sqlite:///{flag_db}",
        env={"COLLECTOR_DB_URL": f"sqlite:///{env_db}"},
    )
    assert (flag_db.exists(), env_db.exists()) == (True, False)


def test_db_upgrade_reports_when_the_schema_is_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    collector("db", "upgrade", "--db", url)
    assert "already at" in collector("db", "upgrade", "--db", url).stdout


def test_config_check_prints_each_problem_with_its_line_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text("creators:\n  - name: A\n    acounts: {}\n")
    result = collector("config", "check", str(tmp_path / "w.yaml"))
    assert result.returncode == 2
    assert f"{tmp_path / 'w.yaml'}:3:" in result.stderr


def test_config_check_accepts_the_shipped_examples() -> None:
    files = sorted(str(p) for p in (ROOT / "config").iterdir())
    env = {"YOUTUBE_API_KEY": "k1234", "X_BEARER_TOKEN": "x1234", "INSTAGRAM_ACCESS_TOKEN": "i1234"}
    result = collector("config", "check", *files, env=env)
    assert result.returncode == 0, result.stderr


def test_a_bad_config_is_refused_by_run_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('watchlist = "w.yaml"\n[platforms.demo]\ninterval = "soon"\n')
    (tmp_path / "w.yaml").write_text("creators: []\n")
    result = collector("run", "--config", str(tmp_path / "c.toml"))
    assert result.returncode == 2
    assert "c.toml:3: platforms.demo.interval" in result.stderr
    assert "Traceback" not in result.stderr


def test_run_collects_within_seconds_and_stops_cleanly_on_sigterm(db_url: str) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "collector",
            "run",
            "--config",
            str(DEMO_CONFIG),
            "--db",
            db_url,
            "--log-format",
            "json",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        # Read the log until the first dispatch line: no sleeping, no polling.
        for line in process.stderr:
            if json.loads(line).get("event") == "dispatch":
                break
        process.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = process.wait(timeout=15)
        elapsed = time.monotonic() - started
    finally:
        process.kill()
    assert (code, elapsed < 10) == (0, True)
    assert counts(db_url)[1] > 0
    engine = make_engine(db_url)
    with engine.connect() as conn:
        statuses = {r[0] for r in conn.execute(text("SELECT status FROM collection_run"))}
    engine.dispose()
    assert "running" not in statuses


@pytest.mark.parametrize("command", ["run", "collect"])
def test_commands_need_a_readable_config(command: str, tmp_path: Path) -> None:
    result = collector(command, "--config", str(tmp_path / "missing.toml"))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["run"], ["collect"], ["demo"], ["report"]])
def test_db_help_names_the_config_table(command: list[str]) -> None:
    # Help is rich markup, where an unescaped "[database]" is read as a style and vanishes.
    result = collector(*command, "--help", env={"COLUMNS": "200"})
    assert "config's [database] url" in result.stdout

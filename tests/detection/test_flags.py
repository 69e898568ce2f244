"""Flags in the real databases: deduplicated, statuses kept, announced once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from collector.detection.detectors import Finding
from collector.detection.flags import (
    FlagNotFound,
    flag_objects,
    mark_notified,
    pending_announcements,
    set_status,
    upsert_findings,
)
from collector.storage.models import Flag
from tests.detection.stored import add_account

NOW = datetime(2026, 6, 1, tzinfo=UTC)
FLAG = Flag.__table__  # type: ignore[attr-defined]
START = int(datetime(2026, 5, 1, tzinfo=UTC).timestamp())


def finding(
    account_id: int,
    *,
    kind: str = "bought_followers",
    severity: str = "high",
    start: int = START,
    end: int = START + 21600,
    score: float = 0.9,
) -> Finding:
    return Finding(
        account_id,
        kind,
        severity,  # type: ignore[arg-type]
        start,
        end,
        score,
        {"excess": 5000, "engagement": "flat"},
        family="follower_jump",
    )


def count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(FLAG)).scalar_one())


def test_a_rerun_updates_the_flag_instead_of_adding_one(engine: Engine) -> None:
    account = add_account(engine, "a")
    with engine.begin() as conn:
        first = upsert_findings(conn, [finding(account, score=0.8)], NOW)
    with engine.begin() as conn:
        second = upsert_findings(conn, [finding(account, end=START + 43200, score=0.95)], NOW)
    assert first.new["high"] == 1
    assert second.updated["high"] == 1
    assert second.new["high"] == 0
    assert count(engine) == 1
    with engine.connect() as conn:
        (flag,) = flag_objects(conn)
    assert flag["score"] == 0.95
    assert flag["window_end"] == datetime.fromtimestamp(START + 43200, UTC).isoformat()


def test_a_new_reading_of_the_same_window_changes_its_kind(engine: Engine) -> None:
    account = add_account(engine, "a")
    with engine.begin() as conn:
        upsert_findings(conn, [finding(account)], NOW)
        upsert_findings(conn, [finding(account, kind="organic_spike", severity="low")], NOW)
        (flag,) = flag_objects(conn)
    assert (flag["kind"], flag["severity"]) == ("organic_spike", "low")


def test_a_dismissed_flag_stays_dismissed_when_detected_again(engine: Engine) -> None:
    account = add_account(engine, "a")
    with engine.begin() as conn:
        upsert_findings(conn, [finding(account)], NOW)
        flag_id = flag_objects(conn)[0]["id"]
        set_status(conn, flag_id, "dismissed", NOW)
    with engine.begin() as conn:
        upsert_findings(conn, [finding(account, score=0.99)], NOW + timedelta(days=1))
    with engine.connect() as conn:
        (flag,) = flag_objects(conn)
        assert flag_objects(conn, status="open") == []
    assert flag["status"] == "dismissed"
    assert flag["score"] == 0.99


def test_another_window_is_another_flag(engine: Engine) -> None:
    account = add_account(engine, "a")
    with engine.begin() as conn:
        upsert_findings(conn, [finding(account), finding(account, start=START + 86400 * 9)], NOW)
    assert count(engine) == 2


def test_setting_the_status_of_an_unknown_flag_fails(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(FlagNotFound):
        set_status(conn, 4242, "acknowledged", NOW)


def test_pending_announcements_are_open_medium_high_flags_not_yet_announced(
    engine: Engine,
) -> None:
    account = add_account(engine, "a")
    with engine.begin() as conn:
        upsert_findings(
            conn,
            [
                finding(account),
                finding(account, start=START + 86400 * 5, kind="organic_spike", severity="low"),
                finding(account, start=START + 86400 * 10, severity="medium"),
            ],
            NOW,
        )
        pending = pending_announcements(conn)
        assert [f["severity"] for f in pending] == ["high", "medium"]
        mark_notified(conn, [pending[0]["id"]], NOW)
        assert [f["id"] for f in pending_announcements(conn)] == [pending[1]["id"]]


def test_flag_objects_have_the_public_json_shape(engine: Engine) -> None:
    account = add_account(engine, "salma.beauty", platform="instagram")
    with engine.begin() as conn:
        upsert_findings(conn, [finding(account)], NOW)
        (flag,) = flag_objects(conn)
    assert flag["platform"] == "instagram"
    assert flag["handle"] == "salma.beauty"
    for key in ("id", "kind", "severity", "status", "window_start", "window_end", "score"):
        assert flag[key] is not None
    assert isinstance(flag["evidence"], dict)
    assert flag["post_id"] is None
    assert datetime.fromisoformat(flag["window_start"]).tzinfo is not None

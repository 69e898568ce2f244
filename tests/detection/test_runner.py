"""Full and incremental runs over the real databases, and the daemon's after-pass hook."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from collector.detection.flags import flag_objects
from collector.detection.runner import (
    changed_accounts,
    detect_accounts,
    make_detection_hook,
    run_detection,
)
from collector.pipeline import PassResult
from collector.storage.models import DetectionState
from collector.storage.state import RunTotals
from tests.detection.stored import add_account, store
from tests.detection.synth import START, STEP, Creator, at_day

NOW = datetime(2026, 6, 1, tzinfo=UTC)
STATE = DetectionState.__table__  # type: ignore[attr-defined]
BOUGHT_AT = at_day(70)


def kinds(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return sorted(
            (f["handle"], f["kind"], f["severity"])
            for f in flag_objects(conn)
            if f["severity"] != "low"
        )


def test_a_full_run_flags_the_bought_account_and_records_watermarks(engine: Engine) -> None:
    bought = add_account(engine, "bought")
    clean = add_account(engine, "clean")
    store(engine, bought, Creator(steps={BOUGHT_AT: 4_000}, account_id=bought))
    store(engine, clean, Creator(seed=5, account_id=clean))
    summary = run_detection(engine, clock=lambda: NOW)
    assert summary.accounts == 2
    assert summary.flags.new["high"] == 1
    assert kinds(engine) == [("bought", "bought_followers", "high")]
    with engine.connect() as conn:
        marks: dict[int, datetime] = dict(
            conn.execute(select(STATE.c.account_id, STATE.c.profiles_through)).all()
        )
    assert marks[bought] == datetime.fromtimestamp(Creator().series().t[-1], UTC)


def test_a_second_full_run_adds_no_flag(engine: Engine) -> None:
    bought = add_account(engine, "bought")
    store(engine, bought, Creator(steps={BOUGHT_AT: 4_000}, account_id=bought))
    run_detection(engine, clock=lambda: NOW)
    again = run_detection(engine, clock=lambda: NOW)
    assert sum(again.flags.new.values()) == 0
    assert again.flags.updated["high"] == 1


def test_only_accounts_with_new_data_are_changed(engine: Engine) -> None:
    a = add_account(engine, "a")
    b = add_account(engine, "b")
    until = START + BOUGHT_AT * STEP
    store(engine, a, Creator(account_id=a), until=until)
    store(engine, b, Creator(seed=3, account_id=b), until=until)
    run_detection(engine, clock=lambda: NOW)
    with engine.connect() as conn:
        assert changed_accounts(conn) == []
    store(engine, a, Creator(account_id=a), until=until + 2 * STEP)
    with engine.connect() as conn:
        assert changed_accounts(conn) == [a]


def test_an_incremental_run_finds_what_a_full_run_finds(engine: Engine) -> None:
    creator = Creator(steps={BOUGHT_AT: 4_000})
    a = add_account(engine, "a")
    until = START + (BOUGHT_AT - 8) * STEP
    store(engine, a, creator, until=until)
    run_detection(engine, clock=lambda: NOW)
    assert kinds(engine) == []
    for step in range(1, 12):
        store(engine, a, creator, until=until + step * STEP)
        with engine.connect() as conn:
            changed = changed_accounts(conn)
        assert changed == [a]
        detect_accounts(engine, changed, clock=lambda: NOW)
    incremental = kinds(engine)
    with engine.connect() as conn:
        windows = [
            (f["window_start"], f["window_end"])
            for f in flag_objects(conn)
            if f["kind"] == "bought_followers"
        ]
    b = add_account(engine, "b")
    store(engine, b, creator, until=until + 11 * STEP)
    run_detection(engine, account_ids=[b], clock=lambda: NOW)
    with engine.connect() as conn:
        full = [
            (f["window_start"], f["window_end"])
            for f in flag_objects(conn, account_ids=[b])
            if f["kind"] == "bought_followers"
        ]
    assert incremental == [("a", "bought_followers", "high")]
    assert windows == full


def test_the_after_pass_hook_scores_what_the_pass_changed(engine: Engine) -> None:
    a = add_account(engine, "a")
    store(engine, a, Creator(steps={BOUGHT_AT: 4_000}, account_id=a))
    hook = make_detection_hook(engine, clock=lambda: NOW, notifier=None)
    result = PassResult("x", None, "ok", RunTotals(), 0.1)

    async def main() -> None:
        await hook(result)

    asyncio.run(main())
    assert kinds(engine) == [("a", "bought_followers", "high")]
    with engine.connect() as conn:
        assert changed_accounts(conn) == []

"""SIGKILL at random moments, then restart: the small variant of benchmarks/crash_harness.py.

The benchmark kills the daemon 50 times per backend; here five kills per backend (one each
during a fetch and during a write, at least) keep the same checks inside the suite's budget.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.crash_harness import CrashReport, Plan, State, check, run_crash_harness

PLAN_KILLS = 5
PLAN = Plan(
    kills=PLAN_KILLS,
    seed=11,
    bluesky_accounts=300,
    mastodon_accounts=5,
    interval_seconds=15,
    latency_ms=40,
    catch_up_every=PLAN_KILLS + 1,  # only after the last restart: catching up idles the daemon
    random_max_seconds=1.0,
    baseline=False,
)


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CrashReport]:
    # Both backends at once: the harness mostly waits for processes to start and die.
    with ThreadPoolExecutor(len(BACKENDS)) as pool:
        futures = {
            backend: pool.submit(
                run_crash_harness, backend, PLAN, tmp_path_factory.mktemp(f"crash-{backend}")
            )
            for backend in BACKENDS
        }
        return {backend: future.result() for backend, future in futures.items()}


@pytest.fixture(params=BACKENDS)
def report(request: pytest.FixtureRequest, reports: dict[str, CrashReport]) -> CrashReport:
    return reports[str(request.param)]


def test_every_kill_is_survived_with_a_fetch_and_a_write_among_them(report: CrashReport) -> None:
    assert report.kills == PLAN.kills
    assert report.moments["fetch"] >= 1
    assert report.moments["write"] >= 1


def test_no_committed_row_is_lost(report: CrashReport) -> None:
    assert (report.lost, report.rows_checked > 0) == (0, True)


def test_no_snapshot_is_duplicated_or_partial(report: CrashReport) -> None:
    assert (report.duplicates, report.partial) == (0, 0)


def test_the_killed_runs_are_marked_interrupted(report: CrashReport) -> None:
    assert report.running_left == 0
    assert report.interrupted_marked >= 1


def test_the_restarted_daemon_catches_up_within_one_interval(report: CrashReport) -> None:
    assert report.catch_up_seconds
    assert max(report.catch_up_seconds) <= PLAN.interval_seconds


def test_sigterm_under_load_stops_cleanly_within_ten_seconds(report: CrashReport) -> None:
    assert report.sigterm_exit_code == 0
    assert report.sigterm_seconds is not None
    assert report.sigterm_seconds < 10


def test_no_pass_crashed_and_no_other_problem_was_found(report: CrashReport) -> None:
    assert (report.pass_crashes, report.problems) == (0, [])


def test_the_partial_batch_check_sees_a_snapshot_without_its_state() -> None:
    # The checks themselves must be able to fail: a snapshot newer than its account's state.
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    state = State(
        accounts={1: (now, now + timedelta(hours=1)), 2: (now, None)},
        profile_keys={(1, now - timedelta(seconds=1)), (2, now + timedelta(seconds=5))},
        post_snapshots=0,
        posts=0,
        late_post_snapshots=0,
        late_posts=0,
        runs=[],
    )
    duplicates, partial, problems = check(state, timedelta(seconds=20))
    assert (duplicates, partial, len(problems)) == (0, 1, 1)


def test_the_duplicate_check_sees_an_account_collected_twice_in_one_interval() -> None:
    now = datetime(2026, 11, 2, 12, tzinfo=UTC)
    state = State(
        accounts={1: (now, None)},
        profile_keys={(1, now - timedelta(seconds=3)), (1, now)},
        post_snapshots=0,
        posts=0,
        late_post_snapshots=0,
        late_posts=0,
        runs=[],
    )
    duplicates, partial, _problems = check(state, timedelta(seconds=20))
    assert (duplicates, partial) == (1, 0)

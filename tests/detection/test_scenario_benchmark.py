"""The scenario benchmark's scorer, and the issue's targets on a small labelled set end to end.

The end-to-end test runs what a user runs (``collector import`` of the generator's CSV files,
``collector detect``, ``collector flags --format json``) on a set small enough for the suite;
the full benchmark (``python -m benchmarks.detection``) prints the figures on larger sets.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from benchmarks.detection.__main__ import flag_alarms
from benchmarks.detection.generate import (
    INTERVAL,
    CreatorLabel,
    Event,
    Labels,
    generate,
    write_dataset,
)
from benchmarks.detection.score import Alarm, score
from tests.detection.test_commands import cli

T0 = datetime(2026, 1, 5, tzinfo=UTC)


def _labels(*events: Event, clean: tuple[str, ...] = ("clean1",)) -> Labels:
    creators = [CreatorLabel("x", "bad", "bought_step", "micro", False, 2.0)]
    creators += [CreatorLabel("x", h, "organic", "micro", True, 2.0) for h in clean]
    return Labels(1, T0, T0 + timedelta(days=60), INTERVAL, tuple(creators), events, ())


def _at(intervals: int) -> datetime:
    return T0 + intervals * INTERVAL


STEP = Event("x", "bad", "bought_step", _at(40), _at(41))
POD = Event("x", "bad", "pods", _at(10), _at(30), post_id="p1")


def test_an_alarm_overlapping_the_event_within_one_interval_finds_it() -> None:
    alarm = Alarm("x", "bad", "jump", _at(42), _at(43), _at(42))
    assert score(_labels(STEP), [alarm]).scenarios["bought_step"].found == 1


def test_an_alarm_two_intervals_away_does_not_find_the_event() -> None:
    alarm = Alarm("x", "bad", "jump", _at(43), _at(44), _at(43))
    result = score(_labels(STEP), [alarm])
    assert (result.scenarios["bought_step"].found, result.true_alarms) == (0, 0)


def test_an_alarm_on_a_clean_creator_is_a_false_alarm_per_creator_month() -> None:
    alarm = Alarm("x", "clean1", "jump", _at(40), _at(41), _at(41))
    result = score(_labels(STEP), [alarm])
    assert result.clean_alarms == 1
    assert result.false_alarms_per_clean_month == pytest.approx(0.5)


def test_a_post_alarm_finds_only_the_event_of_its_own_post() -> None:
    other = Alarm("x", "bad", "likes", _at(10), _at(30), _at(11), post_id="p2")
    own = Alarm("x", "bad", "likes", _at(10), _at(30), _at(11), post_id="p1")
    assert score(_labels(POD), [other]).scenarios["pods"].found == 0
    assert score(_labels(POD), [own]).scenarios["pods"].found == 1


def test_delay_counts_intervals_from_the_first_snapshot_that_shows_the_event() -> None:
    alarm = Alarm("x", "bad", "jump", _at(40), _at(44), _at(44))
    assert score(_labels(STEP), [alarm]).scenarios["bought_step"].delays == [3.0]


def test_pods_f1_weighs_post_alarms_only() -> None:
    hit = Alarm("x", "bad", "likes", _at(10), _at(30), _at(11), post_id="p1")
    miss = Alarm("x", "bad", "likes", _at(10), _at(30), _at(11), post_id="p9")
    account = Alarm("x", "bad", "jump", _at(40), _at(41), _at(41))
    result = score(_labels(STEP, POD), [hit, miss, account])
    assert result.pods_f1() == pytest.approx(2 * 0.5 * 1.0 / 1.5)


def test_flags_on_an_unseen_labelled_set_meet_the_targets(tmp_path: Path) -> None:
    # A seed never used while the detectors were tuned; small enough for the suite.
    dataset = generate(90, seed=424242, days=75)
    profiles, posts, _ = write_dataset(dataset, tmp_path)
    db = f"sqlite:///{tmp_path / 'bench.db'}"
    assert cli("import", "--db", db, str(profiles), str(posts)).returncode == 0
    assert cli("detect", "--db", db).returncode == 0
    flags = json.loads(cli("flags", "--db", db, "--format", "json").stdout)

    result = score(dataset.labels, flag_alarms(flags))

    steps = [result.scenarios[k] for k in ("bought_step", "round_jump", "drip", "purge")]
    assert sum(s.found for s in steps) == sum(s.events for s in steps)
    assert result.precision is not None
    assert result.precision >= 0.9
    assert result.false_alarms_per_clean_month is not None
    assert result.false_alarms_per_clean_month <= 0.05
    assert sum(result.trap_alarms.values()) == 0
    assert result.median_delay is not None
    assert result.median_delay <= 1


def test_an_alarm_over_a_trap_window_counts_as_a_trap_alarm() -> None:
    gap = Event("x", "clean1", "gap", _at(20), _at(30))
    creators = (CreatorLabel("x", "clean1", "gaps", "micro", True, 2.0),)
    labels = Labels(1, T0, T0 + timedelta(days=60), INTERVAL, creators, (), (gap,))
    over = Alarm("x", "clean1", "jump", _at(29), _at(30), _at(30))
    elsewhere = Alarm("x", "clean1", "jump", _at(50), _at(51), _at(51))
    result = score(labels, [over, elsewhere])
    assert (result.trap_alarms["gaps"], result.trap_window_alarms) == (2, 1)

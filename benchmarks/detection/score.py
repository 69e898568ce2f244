"""Scores alarms against the ground truth of a generated set (``labels.json``).

An *alarm* is what a detector raised: Collector's `medium`/`high` flags, or a baseline's
anomalies. The same rules apply to every detector:

- An alarm about a post (it names a post id) matches the per-post event of that post; an alarm
  about the account matches an account event of the same account whose window it overlaps,
  give or take one collection interval (a flag may end one snapshot later than the labelled
  change, or start one earlier).
- **Recall** per scenario: labelled events matched by at least one alarm.
- **Precision**: alarms that match an event, over all alarms (on every creator, clean or not).
- **False alarms per clean creator-month**: alarms on creators with no labelled event, over the
  months of series those creators have.
- **Traps**: alarms on the creators whose series hold only a trap (YouTube rounding, gaps,
  organic viral growth), and among them the alarms on the trap itself (any alarm on a rounded
  series; an account alarm over a gap's catch-up or a viral rise); the target is zero.
- **Delay**: collection intervals from the first snapshot that carries the event (the one after
  ``window_start``) to the detector's evidence time (Collector: ``first_evidence_at``, the
  snapshot at which a daemon collecting on schedule would have raised the flag), for the
  earliest matching alarm; 0 means "flagged at the first snapshot that shows it".
- **Pods** (per post): precision counts only post alarms, so F1 weighs bought likes alone.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from benchmarks.detection.generate import (
    EVENT_SCENARIOS,
    PER_POST_KINDS,
    ZERO_FLAG_TRAPS,
    Event,
    Labels,
)

__all__ = ["Alarm", "ScenarioScore", "Scores", "score"]


@dataclass(frozen=True, slots=True)
class Alarm:
    """One thing a detector raised, reduced to what scoring needs."""

    platform: str
    handle: str
    kind: str
    window_start: datetime
    window_end: datetime
    detected_at: datetime
    post_id: str | None = None


@dataclass
class ScenarioScore:
    """Recall and delay of one labelled scenario."""

    events: int = 0
    found: int = 0
    delays: list[float] = field(default_factory=list)

    @property
    def recall(self) -> float | None:
        return self.found / self.events if self.events else None

    @property
    def median_delay(self) -> float | None:
        return statistics.median(self.delays) if self.delays else None


@dataclass
class Scores:
    """Every figure of one detector on one set."""

    scenarios: dict[str, ScenarioScore]
    alarms: int
    true_alarms: int
    clean_alarms: int
    clean_months: float
    trap_alarms: dict[str, int]
    trap_window_alarms: int
    post_alarms: int
    true_post_alarms: int

    @property
    def recall(self) -> float | None:
        events = sum(s.events for s in self.scenarios.values())
        found = sum(s.found for s in self.scenarios.values())
        return found / events if events else None

    @property
    def precision(self) -> float | None:
        return self.true_alarms / self.alarms if self.alarms else None

    @property
    def false_alarms_per_clean_month(self) -> float | None:
        return self.clean_alarms / self.clean_months if self.clean_months else None

    @property
    def median_delay(self) -> float | None:
        delays = [d for s in self.scenarios.values() for d in s.delays]
        return statistics.median(delays) if delays else None

    def pods_f1(self) -> float | None:
        pods = self.scenarios.get("pods")
        if pods is None or not pods.events:
            return None
        recall = pods.found / pods.events
        precision = self.true_post_alarms / self.post_alarms if self.post_alarms else 0.0
        if recall + precision == 0:
            return 0.0
        return 2 * precision * recall / (precision + recall)


def _overlaps(alarm: Alarm, event: Event, slack: timedelta) -> bool:
    return (
        alarm.window_start <= event.window_end + slack
        and alarm.window_end >= event.window_start - slack
    )


def score(labels: Labels, alarms: Iterable[Alarm]) -> Scores:
    """Match ``alarms`` to the labelled events of ``labels`` and compute every figure."""
    interval = labels.interval
    by_account: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for event in labels.events:
        by_account[(event.platform, event.handle)].append(event)
    creators = {(c.platform, c.handle): c for c in labels.creators}

    best_delay: dict[Event, float] = {}
    alarms_total = true_alarms = clean_alarms = post_alarms = true_post_alarms = 0
    trap_alarms = dict.fromkeys(ZERO_FLAG_TRAPS, 0)
    trap_window_alarms = 0
    traps: dict[tuple[str, str], list[Event]] = defaultdict(list)
    for trap in labels.traps:
        traps[(trap.platform, trap.handle)].append(trap)
    for alarm in alarms:
        account = (alarm.platform, alarm.handle)
        creator = creators.get(account)
        if creator is None:
            continue  # not part of the labelled set (e.g. a demo account)
        alarms_total += 1
        if alarm.post_id is not None:
            post_alarms += 1
        if creator.clean:
            clean_alarms += 1
            if creator.scenario in trap_alarms:
                trap_alarms[creator.scenario] += 1
            # The trap itself: a rounded series is a trap everywhere, a gap or a viral rise
            # over its window.
            if creator.scenario == "youtube_rounded" or any(
                alarm.post_id is None and _overlaps(alarm, t, interval) for t in traps[account]
            ):
                trap_window_alarms += 1
            continue
        matched = [
            e
            for e in by_account.get(account, ())
            if (
                e.post_id == alarm.post_id
                if e.kind in PER_POST_KINDS or alarm.post_id is not None
                else _overlaps(alarm, e, interval)
            )
        ]
        if not matched:
            continue
        true_alarms += 1
        if alarm.post_id is not None:
            true_post_alarms += 1
        for event in matched:
            first_change = event.window_start + interval
            delay = max(0.0, (alarm.detected_at - first_change) / interval)
            if event not in best_delay or delay < best_delay[event]:
                best_delay[event] = delay

    scenarios = {kind: ScenarioScore() for kind in EVENT_SCENARIOS}
    for event in labels.events:
        s = scenarios.setdefault(event.kind, ScenarioScore())
        s.events += 1
        if event in best_delay:
            s.found += 1
            s.delays.append(best_delay[event])
    clean_months = sum(c.months for c in labels.creators if c.clean)
    return Scores(
        scenarios=scenarios,
        alarms=alarms_total,
        true_alarms=true_alarms,
        clean_alarms=clean_alarms,
        clean_months=clean_months,
        trap_alarms=trap_alarms,
        trap_window_alarms=trap_window_alarms,
        post_alarms=post_alarms,
        true_post_alarms=true_post_alarms,
    )


def format_figure(value: float | None, digits: int = 3) -> str:
    """A figure for a table cell: ``—`` where it cannot be computed."""
    return "—" if value is None else f"{value:.{digits}f}"


def table(columns: Sequence[tuple[str, Scores]]) -> list[str]:
    """Markdown rows: one line per figure, one column per detector (side by side)."""
    header = "| figure | " + " | ".join(name for name, _ in columns) + " |"
    lines = [header, "|---|" + "---|" * len(columns)]

    def row(label: str, cells: Iterable[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    first = columns[0][1]
    for kind, s in first.scenarios.items():
        row(
            f"recall: {kind} ({s.events} events)",
            (
                f"{format_figure(sc.scenarios[kind].recall)} ({sc.scenarios[kind].found})"
                for _, sc in columns
            ),
        )
    row("recall: all events", (format_figure(sc.recall) for _, sc in columns))
    row("pods F1 (per post)", (format_figure(sc.pods_f1()) for _, sc in columns))
    row(
        "precision of alarms (medium/high for Collector)",
        (f"{format_figure(sc.precision)} ({sc.true_alarms}/{sc.alarms})" for _, sc in columns),
    )
    row(
        "false alarms per clean creator-month",
        (
            f"{format_figure(sc.false_alarms_per_clean_month)} ({sc.clean_alarms})"
            for _, sc in columns
        ),
    )
    for trap in ZERO_FLAG_TRAPS:
        row(f"alarms on `{trap}` creators", (str(sc.trap_alarms[trap]) for _, sc in columns))
    row(
        "alarms on the traps themselves (rounding, gap catch-up, viral rise)",
        (str(sc.trap_window_alarms) for _, sc in columns),
    )
    for kind in first.scenarios:
        row(
            f"median delay: {kind} (intervals)",
            (format_figure(sc.scenarios[kind].median_delay, 1) for _, sc in columns),
        )
    row(
        "median delay: all events (intervals)",
        (format_figure(sc.median_delay, 1) for _, sc in columns),
    )
    return lines

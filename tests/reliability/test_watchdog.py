"""The daemon never stalls: after each platform fault clears, a successful pass follows.

The daemon runs in-process with its real scheduler on two platforms of the fake server. A script
driven by the daemon's own ``on_pass`` hook injects one fault into Bluesky, waits for the pass
that meets it, clears it, and waits for the next successful pass; Mastodon is never faulted and
must keep collecting meanwhile. The clock the daemon and the platforms read is injected, so
"an hour later" costs nothing; only the scheduler's tick is real time, shortened for the test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from collector.daemon import Daemon, build_collection
from collector.pipeline import PassResult
from collector.settings import load_settings
from tests.conftest import FakeClock
from tests.fakeplatform.core import Fault, World
from tests.reliability.support import FaultServer, no_wait_factory, run_daemon, write_config

CHANGED_SHAPE = b'{"actors": [{"did": "did:plc:x"}]}'
FAULTS = {
    "5xx outage": Fault("bluesky", status=503, times=10_000),
    "hung connections": Fault("bluesky", "getProfiles", kind="hang", times=10_000),
    "connection resets": Fault("bluesky", "getProfiles", kind="reset", times=10_000),
    "malformed JSON": Fault("bluesky", "getProfiles", kind="malformed", times=10_000),
    "changed payload shape": Fault("bluesky", status=200, body=CHANGED_SHAPE, times=10_000),
    "429 for an hour": Fault(
        "bluesky", status=429, headers={"Retry-After": "3600"}, body=b"{}", times=10_000
    ),
}


@dataclass
class Script:
    """Injects each fault in turn and records what the daemon did about it."""

    world: World
    clock: FakeClock
    pending: list[str] = field(default_factory=lambda: list(FAULTS))
    current: str | None = None
    faulted: dict[str, str] = field(default_factory=dict)
    recovered: list[str] = field(default_factory=list)
    mastodon_ok: int = 0

    def on_pass(self, result: PassResult) -> bool:
        if result.platform == "mastodon":
            self.mastodon_ok += result.status == "ok"
            return False
        if result.status == "ok":
            if self.current is not None:
                self.recovered.append(self.current)
            if not self.pending:
                return True
            self.current = self.pending.pop(0)
            self.world.fail(FAULTS[self.current])
            self._later()
        elif (
            self.current is not None
            and self.current not in self.faulted
            and result.status in ("failed", "partial")
        ):
            self.faulted[self.current] = result.status
            self.world.faults.clear()
            self._later()
        return False

    def _later(self) -> None:
        # Past any backoff, pause and interval: every account is due again on both platforms.
        self.clock.advance(timedelta(hours=2))


@pytest.fixture
def server() -> Iterator[FaultServer]:
    # Starts at the real time: APScheduler's first tick is "now" by this clock.
    clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
    with FaultServer(World(clock=clock, auto_create=True, posts_per_account=2)) as running:
        yield running


def test_a_successful_pass_follows_each_cleared_fault_and_other_platforms_go_on(
    fast_ticks: None, server: FaultServer, engine: Engine, tmp_path: Path
) -> None:
    clock = server.world.clock
    assert isinstance(clock, FakeClock)
    config = write_config(tmp_path, server, {"bluesky": 10, "mastodon": 2}, timeout_seconds=0.2)
    collection = build_collection(
        load_settings(config), engine, clock=clock, connector_factory=no_wait_factory(clock)
    )
    script = Script(server.world, clock)
    run_daemon(Daemon(collection, clock=clock), script.on_pass)
    assert script.recovered == list(FAULTS)
    assert script.faulted == dict.fromkeys(FAULTS, "failed")
    # Mastodon collected after every clock jump, faults or not: its first pass and one per jump.
    assert script.mastodon_ok >= len(FAULTS)

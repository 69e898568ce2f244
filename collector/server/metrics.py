"""``/metrics``: the collector's state in the Prometheus text format.

Figures are read from the database at scrape time (a custom collector), so the dashboard process
reports what every daemon replica stored, not what it saw itself. Labels are platform, status,
outcome, kind and severity only: never a creator or a handle, whose number is unbounded (one time
series each would swamp Prometheus) and which are personal data.

The one process-local figure is ``collector_watchlist_reload_errors_total``: edits of the watchlist
that the daemon in *this* process refused (``Daemon.watchlist_errors``). It is exposed only when a
daemon runs in the same process as the server (``collector demo``); a standalone ``collector
serve`` cannot know it and leaves it out rather than report a false 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Table, func, select
from sqlalchemy.engine import Engine

from collector.storage.models import Account, CollectionRun, Flag

__all__ = ["DatabaseCollector", "WatchlistReloadErrors", "make_registry", "render"]

ACCOUNT: Table = Account.__table__  # type: ignore[attr-defined]
COLLECTION_RUN: Table = CollectionRun.__table__  # type: ignore[attr-defined]
FLAG: Table = Flag.__table__  # type: ignore[attr-defined]


class WatchlistReloadErrors(Collector):
    """Watchlist edits the daemon of this process refused, read from the daemon's counter."""

    def __init__(self, count: Callable[[], int]) -> None:
        self.count = count

    def collect(self) -> Iterator[Metric]:
        """The counter."""
        family = CounterMetricFamily(
            "collector_watchlist_reload_errors",
            "Watchlist edits refused as invalid by the daemon in this process.",
        )
        family.add_metric([], float(self.count()))
        yield family


class DatabaseCollector(Collector):
    """Reads the collector's state from the database at each scrape."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.clock = clock

    def describe(self) -> list[Metric]:
        # Describing would mean querying at registration; an empty description skips that.
        return []

    def collect(self) -> Iterator[Metric]:
        """One consistent read of every figure; ``collector_database_up`` 0 if it failed."""
        up = GaugeMetricFamily(
            "collector_database_up", "1 if the last scrape could read the database, else 0."
        )
        try:
            families = self._read()
        except Exception:
            # A scrape must answer even when the database does not: the alert is on this gauge.
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from families

    def _read(self) -> list[Metric]:
        now = self.clock()
        accounts = GaugeMetricFamily(
            "collector_accounts", "Accounts by platform and status.", labels=["platform", "status"]
        )
        age = GaugeMetricFamily(
            "collector_last_success_age_seconds",
            "Seconds since any account of the platform was last collected successfully.",
            labels=["platform"],
        )
        runs = CounterMetricFamily(
            "collector_collection_runs",
            "Collection passes by platform and outcome (ok, partial, failed, interrupted, "
            "running).",
            labels=["platform", "outcome"],
        )
        collections = CounterMetricFamily(
            "collector_account_collections",
            "Account collections within passes, by platform and outcome (succeeded, failed).",
            labels=["platform", "outcome"],
        )
        snapshots = CounterMetricFamily(
            "collector_snapshots_stored",
            "Snapshots stored by collection passes, by platform and kind (profile, post).",
            labels=["platform", "kind"],
        )
        calls = CounterMetricFamily(
            "collector_api_calls",
            "Platform API calls made by collection passes.",
            labels=["platform"],
        )
        units = CounterMetricFamily(
            "collector_quota_units",
            "Platform quota units spent by collection passes.",
            labels=["platform"],
        )
        duration = CounterMetricFamily(
            "collector_collection_run_duration_seconds",
            "Time spent in finished collection passes.",
            labels=["platform"],
        )
        flags = GaugeMetricFamily(
            "collector_flags_open",
            "Open flags by platform and severity.",
            labels=["platform", "severity"],
        )
        r = COLLECTION_RUN
        with self.engine.connect() as conn:
            for platform, status, count in conn.execute(
                select(ACCOUNT.c.platform, ACCOUNT.c.status, func.count()).group_by(
                    ACCOUNT.c.platform, ACCOUNT.c.status
                )
            ):
                accounts.add_metric([platform, status], float(count))
            for platform, last in conn.execute(
                select(ACCOUNT.c.platform, func.max(ACCOUNT.c.last_success_at)).group_by(
                    ACCOUNT.c.platform
                )
            ):
                if last is not None:
                    age.add_metric([platform], max((now - last).total_seconds(), 0.0))
            for platform, status, count in conn.execute(
                select(r.c.platform, r.c.status, func.count()).group_by(r.c.platform, r.c.status)
            ):
                runs.add_metric([platform, status], float(count))
            for row in conn.execute(
                select(
                    r.c.platform,
                    func.coalesce(func.sum(r.c.succeeded), 0).label("succeeded"),
                    func.coalesce(func.sum(r.c.failed), 0).label("failed"),
                    func.coalesce(func.sum(r.c.profile_rows), 0).label("profile"),
                    func.coalesce(func.sum(r.c.post_rows), 0).label("post"),
                    func.coalesce(func.sum(r.c.calls), 0).label("calls"),
                    func.coalesce(func.sum(r.c.quota_units), 0).label("units"),
                    func.coalesce(func.sum(r.c.duration_seconds), 0).label("seconds"),
                ).group_by(r.c.platform)
            ):
                collections.add_metric([row.platform, "succeeded"], float(row.succeeded))
                collections.add_metric([row.platform, "failed"], float(row.failed))
                snapshots.add_metric([row.platform, "profile"], float(row.profile))
                snapshots.add_metric([row.platform, "post"], float(row.post))
                calls.add_metric([row.platform], float(row.calls))
                units.add_metric([row.platform], float(row.units))
                duration.add_metric([row.platform], float(row.seconds))
            open_flags = {
                (platform, severity): int(count)
                for platform, severity, count in conn.execute(
                    select(ACCOUNT.c.platform, FLAG.c.severity, func.count())
                    .join(ACCOUNT, ACCOUNT.c.id == FLAG.c.account_id)
                    .where(FLAG.c.status == "open")
                    .group_by(ACCOUNT.c.platform, FLAG.c.severity)
                )
            }
            platforms = [p for (p,) in conn.execute(select(ACCOUNT.c.platform).distinct())]
        # Every severity of every platform, zeros included: an alert on "high > 0" then has a
        # series to watch before the first flag.
        for platform in sorted(platforms):
            for severity in ("low", "medium", "high"):
                flags.add_metric(
                    [platform, severity], float(open_flags.get((platform, severity), 0))
                )
        return [accounts, age, runs, collections, snapshots, calls, units, duration, flags]


def make_registry(
    engine: Engine,
    clock: Callable[[], datetime],
    watchlist_errors: Callable[[], int] | None = None,
) -> CollectorRegistry:
    """A registry of the collector's metrics for one database (and this process's daemon)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(engine, clock))
    if watchlist_errors is not None:
        registry.register(WatchlistReloadErrors(watchlist_errors))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text exposition format."""
    return generate_latest(registry)

"""The live terminal table of ``collector demo``: what the daemon stores, as it stores it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Engine

from collector.storage.types import UTCDateTime

__all__ = ["live_table", "render"]

_ACCOUNTS = text(
    """
SELECT l.account_id, l.creator_name, l.handle, l.status, l.followers, l.collected_at,
       (SELECT count(*) FROM profile_snapshot p WHERE p.account_id = l.account_id) AS snapshots,
       (SELECT count(*) FROM post p WHERE p.account_id = l.account_id) AS posts,
       (SELECT f.followers FROM profile_snapshot f
         WHERE f.account_id = l.account_id AND f.collected_at <= :day_ago
         ORDER BY f.collected_at DESC LIMIT 1) AS followers_day_ago,
       (SELECT avg(engagement_rate_by_followers) FROM post_latest pl
         WHERE pl.account_id = l.account_id) AS engagement,
       (SELECT count(*) FROM flag f WHERE f.account_id = l.account_id AND f.status = 'open'
           AND f.severity IN ('medium', 'high')) AS flags_to_review
FROM account_latest l
ORDER BY l.creator_name, l.handle
"""
).bindparams(bindparam("day_ago", type_=UTCDateTime()))
_TOTALS = text(
    """
SELECT (SELECT count(*) FROM profile_snapshot) AS profiles,
       (SELECT count(*) FROM post_snapshot) AS post_snapshots,
       (SELECT count(*) FROM collection_run) AS runs,
       (SELECT max(finished_at) FROM collection_run) AS last_run
"""
)


def _fmt_int(value: Any) -> str:
    return "—" if value is None else f"{int(value):,}"


def render(engine: Engine) -> Group:
    """Build the table from the database (it is the only source of truth)."""
    day_ago = datetime.now(UTC) - timedelta(days=1)
    with engine.connect() as conn:
        rows = conn.execute(_ACCOUNTS, {"day_ago": day_ago}).fetchall()
        totals = conn.execute(_TOTALS).one()
    table = Table(title="Watched creators (demo platform)", expand=False)
    for name, justify in (
        ("creator", "left"),
        ("handle", "left"),
        ("status", "left"),
        ("followers", "right"),
        ("24h change", "right"),
        ("eng. rate", "right"),
        ("snapshots", "right"),
        ("posts", "right"),
        ("flags to review", "right"),
        ("last collected (UTC)", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        change = (
            None
            if row.followers is None or row.followers_day_ago is None
            else row.followers - row.followers_day_ago
        )
        change_text = Text("—" if change is None else f"{change:+,}")
        if change is not None and row.followers_day_ago:
            share = change / row.followers_day_ago
            change_text.stylize("bold red" if share > 0.05 else "green" if share > 0 else "")
        table.add_row(
            row.creator_name or "—",
            row.handle,
            row.status,
            _fmt_int(row.followers),
            change_text,
            "—" if row.engagement is None else f"{float(row.engagement):.2%}",
            _fmt_int(row.snapshots),
            _fmt_int(row.posts),
            Text(str(row.flags_to_review), style="bold red" if row.flags_to_review else "dim"),
            str(row.collected_at or "—")[:19],
        )
    footer = Text(
        f"{totals.profiles:,} profile snapshots · {totals.post_snapshots:,} post snapshots · "
        f"{totals.runs:,} collection runs · last run {str(totals.last_run or '—')[:19]}",
        style="dim",
    )
    return Group(table, footer)


async def live_table(
    engine: Engine,
    console: Console,
    *,
    stop: asyncio.Event,
    deadline: float | None = None,
    refresh_seconds: float = 1.0,
) -> None:
    """Redraw the table until ``stop`` is set, Ctrl-C, or the monotonic ``deadline``."""
    with Live(render(engine), console=console, refresh_per_second=4, transient=False) as live:
        while not stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=refresh_seconds)
            live.update(render(engine))

"""``collector report``: one self-contained HTML file a marketer can open, print or send.

Everything is inside the file: CSS inline, charts as inline SVG, no script, no font, no image
from elsewhere, so it opens offline and nothing is fetched when it does. Everything creators
wrote (captions, handles, names) is escaped by Jinja2's autoescape. Numbers, money and dates are
written for the chosen language (:mod:`collector.campaigns.i18n`).

Before rendering, the report brings attribution and the disclosure flags up to date
(:func:`collector.campaigns.refresh`), so it never shows a stale campaign.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import Table, bindparam, select, text
from sqlalchemy.engine import Connection, Engine

from collector.campaigns.attribution import attribute, campaign_window, find_campaign
from collector.campaigns.charts import (
    BandChart,
    BarChart,
    LineChart,
    band_chart,
    bar_chart,
    line_chart,
)
from collector.campaigns.disclosure import check_disclosures
from collector.campaigns.engagement import AccountEngagement, account_engagement
from collector.campaigns.i18n import Formatter, Lang, labels
from collector.campaigns.metrics import CampaignSummary, campaign_summaries
from collector.campaigns.tiers import TierBand, band_position, tier_bands, tier_of
from collector.storage.models import Flag, ProfileSnapshot
from collector.storage.types import UTCDateTime, to_utc

__all__ = ["MAX_CHARTED_ACCOUNTS", "ReportWritten", "build_report", "write_report"]

TEMPLATES = Path(__file__).with_name("templates")
#: Accounts drawn with their own charts; more would make a file nobody scrolls through.
MAX_CHARTED_ACCOUNTS = 60
#: Days shown around a campaign: before it (the baseline) and after it (the tail).
DAYS_BEFORE = 30
DAYS_AFTER = 14
DEFAULT_DAYS = 90

PROFILE_SNAPSHOT: Table = ProfileSnapshot.__table__  # type: ignore[attr-defined]
FLAG: Table = Flag.__table__  # type: ignore[attr-defined]

_POSTS_SQL = (
    text(
        """
SELECT post_id, published_at, platform_post_id, interactions, views,
       engagement_rate_by_followers
FROM post_latest
WHERE account_id = :account_id AND published_at >= :since AND published_at <= :until
ORDER BY published_at
"""
    )
    .bindparams(bindparam("since", type_=UTCDateTime), bindparam("until", type_=UTCDateTime))
    .columns(published_at=UTCDateTime)
)


@dataclass(frozen=True)
class ReportWritten:
    """What :func:`write_report` wrote."""

    path: Path
    bytes: int
    campaigns: int
    accounts: int


@dataclass(frozen=True)
class _FlagView:
    account: str
    kind: str
    severity: str
    status: str
    window_start: datetime
    window_end: datetime
    score: float
    evidence: list[tuple[str, str]]


@dataclass(frozen=True)
class _AccountView:
    account_id: int
    label: str
    creator: str | None
    platform: str
    handle: str
    followers: int | None
    tier: str | None
    engagement_rate: float | None
    band: TierBand | None
    position: str | None
    followers_chart: LineChart
    posts_chart: BarChart
    flags: int


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def build_report(
    engine: Engine,
    *,
    now: datetime,
    campaign: str | None = None,
    lang: Lang = "en",
    refresh: bool = True,
) -> str:
    """The report as an HTML string (raises CampaignNotFound for an unknown ``campaign``)."""
    now = to_utc(now)
    if refresh:
        attribute(engine, now=now)
        check_disclosures(engine, now=now)
    return (
        _environment()
        .get_template("report.html.j2")
        .render(**_context(engine, now, campaign, lang))
    )


def write_report(
    engine: Engine,
    out: Path,
    *,
    now: datetime,
    campaign: str | None = None,
    lang: Lang = "en",
) -> ReportWritten:
    """Render the report and write it to ``out`` (through a temporary file: never half-written)."""
    html = build_report(engine, now=now, campaign=campaign, lang=lang)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    partial.write_text(html, encoding="utf-8")
    partial.replace(out)
    return ReportWritten(
        out,
        len(html.encode("utf-8")),
        html.count('class="campaign-section"'),
        html.count('class="account-section"'),
    )


def _context(engine: Engine, now: datetime, campaign: str | None, lang: Lang) -> dict[str, Any]:
    fmt = Formatter(lang)
    names = labels(lang)
    summaries = campaign_summaries(engine, clock=lambda: now)
    chosen: CampaignSummary | None = None
    if campaign is not None:
        with engine.connect() as conn:
            campaign_id = find_campaign(conn, campaign)
        chosen = next((s for s in summaries if s.id == campaign_id), None)
        if chosen is None:  # a campaign no longer in the watchlist is still reported by name
            chosen = next(
                s
                for s in campaign_summaries(engine, clock=lambda: now, include_removed=True)
                if s.id == campaign_id
            )
        summaries = [chosen]

    everyone = account_engagement(engine, now=now)
    if chosen is not None:
        creator_ids = {c.creator_id for c in chosen.creators if c.creator_id is not None}
        with_posts = {p.account_id for p in chosen.post_rows}
        scope = [a for a in everyone if a.creator_id in creator_ids or a.account_id in with_posts]
        start, end = campaign_window(chosen.starts_on, chosen.ends_on)
        since = max(start - timedelta(days=DAYS_BEFORE), now - timedelta(days=365))
        if chosen.starts_on is None:
            since = now - timedelta(days=DEFAULT_DAYS)
        until = min(end + timedelta(days=DAYS_AFTER), now)
        period: tuple[datetime, datetime] | None = (start, min(end, now))
    else:
        scope = [a for a in everyone if a.status == "active"]
        since, until, period = now - timedelta(days=DEFAULT_DAYS), now, None
    if until <= since:
        until = now

    bands = {
        platform: tier_bands(engine, now=now, platform=platform, accounts=everyone)
        for platform in sorted({a.platform for a in scope})
    }
    campaign_posts = {p.post_id: p for s in summaries for p in s.post_rows}
    paid_creators = {(s.id, c.creator_id) for s in summaries for c in s.creators if c.paid}
    undisclosed = {
        p.post_id
        for s in summaries
        for p in s.post_rows
        if p.disclosure is None and (s.id, p.creator_id) in paid_creators
    }
    with engine.connect() as conn:
        flags = _flags(conn, [a.account_id for a in scope])
        accounts = [
            _account_view(
                conn,
                account,
                bands,
                fmt,
                names,
                since=since,
                until=until,
                period=period,
                campaign_posts=set(campaign_posts),
                undisclosed=undisclosed,
                flags=[f for f in flags if f[0] == account.account_id],
            )
            for account in _charted(scope, flags)
        ]
    band_rows = [
        (
            f"{a.label} · {names['tier.' + a.tier]}" if a.tier else a.label,
            a.band.as_tuple(),
            a.engagement_rate,
            a.position,
            _band_title(a, fmt, names),
        )
        for a in accounts
        if a.band is not None
    ]
    chart: BandChart = band_chart(band_rows, x_label=fmt.percent)
    flag_views = [_flag_view(row, scope, fmt, names) for row in flags]
    return {
        "lang": lang,
        "t": names,
        "fmt": fmt,
        "now": now,
        "chosen": chosen,
        "summaries": summaries,
        "accounts": accounts,
        "band_chart": chart,
        "flags": [f for f in flag_views if f.status != "dismissed"],
        "uncharted": max(len(scope) - len(accounts), 0),
        "columns": _COLUMNS,
    }


# (figure attribute, how to format it)
_COLUMNS: Sequence[tuple[str, str]] = (
    ("views", "number"),
    ("interactions", "number"),
    ("engagement_rate_by_followers", "percent"),
    ("engagement_rate_by_views", "percent"),
    ("followers_gained", "number"),
    ("cost", "money"),
    ("cost_per_engagement", "money"),
    ("cost_per_view", "money"),
    ("cost_per_follower_gained", "money"),
    ("orders", "number"),
    ("revenue", "money"),
    ("roi", "ratio"),
    ("cost_per_order", "money"),
)


def _charted(
    scope: Sequence[AccountEngagement], flags: Sequence[tuple[Any, ...]]
) -> list[AccountEngagement]:
    flagged = {row[0] for row in flags if row[4] == "open"}
    ordered = sorted(
        scope,
        key=lambda a: (a.account_id not in flagged, (a.creator_name or "").casefold(), a.handle),
    )
    return ordered[:MAX_CHARTED_ACCOUNTS]


def _band_title(account: _AccountView, fmt: Formatter, names: dict[str, str]) -> str:
    if account.band is None:
        return account.label
    band = account.band
    parts = [
        f"{account.label}: {fmt.percent(account.engagement_rate)}",
        f"{names['median']} {fmt.percent(band.median)} "
        f"({fmt.percent(band.low)} – {fmt.percent(band.high)})",
    ]
    if account.position:
        parts.append(names["position." + account.position])
    return " · ".join(parts)


def _flags(conn: Connection, account_ids: Sequence[int]) -> list[tuple[Any, ...]]:
    if not account_ids:
        return []
    rows = conn.execute(
        select(
            FLAG.c.account_id,
            FLAG.c.kind,
            FLAG.c.severity,
            FLAG.c.window_start,
            FLAG.c.status,
            FLAG.c.window_end,
            FLAG.c.score,
            FLAG.c.evidence,
        )
        .where(FLAG.c.account_id.in_(list(account_ids)), FLAG.c.status != "dismissed")
        .order_by(FLAG.c.window_start.desc())
    ).all()
    # Reordered so that [0] is the account, [3] the time, [4] the status.
    return [
        (
            r.account_id,
            r.kind,
            r.severity,
            r.window_start,
            r.status,
            r.window_end,
            r.score,
            r.evidence,
        )
        for r in rows
    ]


def _flag_view(
    row: tuple[Any, ...],
    scope: Sequence[AccountEngagement],
    fmt: Formatter,
    names: dict[str, str],
) -> _FlagView:
    account_id, kind, severity, start, status, end, score, evidence = row
    account = next((a for a in scope if a.account_id == account_id), None)
    label = f"{account.platform}:@{account.handle}" if account else str(account_id)
    shown: list[tuple[str, str]] = []
    for key, value in (evidence or {}).items():
        if key == "looked_for":
            continue
        if key == "explanation" and f"explanation.{kind}" in names:
            text_value = names[f"explanation.{kind}"]  # ours, so it can be said in French
        elif isinstance(value, float):
            text_value = fmt.number(round(value, 4))
        elif isinstance(value, int):
            text_value = fmt.number(value)
        elif isinstance(value, str):
            text_value = _moment(value, fmt) if key.endswith("_at") else value
        elif isinstance(value, list) and all(isinstance(v, dict) and "marker" in v for v in value):
            text_value = ", ".join(str(v["marker"]) for v in value)
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            text_value = ", ".join(value)
        else:
            text_value = json.dumps(value, ensure_ascii=False, default=str)
        shown.append((names.get(f"evidence.{key}", key.replace("_", " ")), text_value[:400]))
    return _FlagView(label, kind, severity, status, start, end, float(score), shown)


def _moment(value: str, fmt: Formatter) -> str:
    try:
        return fmt.datetime(to_utc(datetime.fromisoformat(value)))
    except ValueError:
        return value


def _account_view(
    conn: Connection,
    account: AccountEngagement,
    bands: dict[str, Any],
    fmt: Formatter,
    names: dict[str, str],
    *,
    since: datetime,
    until: datetime,
    period: tuple[datetime, datetime] | None,
    campaign_posts: set[int],
    undisclosed: set[int],
    flags: Sequence[tuple[Any, ...]],
) -> _AccountView:
    tier = tier_of(account.followers)
    band = bands[account.platform][tier] if tier else None
    series = [
        (row.collected_at, float(row.followers))
        for row in conn.execute(
            select(PROFILE_SNAPSHOT.c.collected_at, PROFILE_SNAPSHOT.c.followers)
            .where(
                PROFILE_SNAPSHOT.c.account_id == account.account_id,
                PROFILE_SNAPSHOT.c.collected_at >= since,
                PROFILE_SNAPSHOT.c.collected_at <= until,
                PROFILE_SNAPSHOT.c.followers.is_not(None),
            )
            .order_by(PROFILE_SNAPSHOT.c.collected_at)
        )
    ]
    markers = [
        (
            start,
            f"{names.get('kind.' + kind, kind)} · "
            f"{names.get('severity.' + severity, severity)} · {fmt.date(start)}",
            severity,
        )
        for _, kind, severity, start, *_ in flags
    ]
    followers_chart = line_chart(
        series,
        x_label=fmt.date,
        y_label=lambda v: fmt.number(round(v)),
        shade=period,
        markers=markers,
    )
    bars = []
    for row in conn.execute(
        _POSTS_SQL, {"account_id": account.account_id, "since": since, "until": until}
    ):
        if row.engagement_rate_by_followers is None:
            continue
        rate = float(row.engagement_rate_by_followers)
        kind = "campaign" if row.post_id in campaign_posts else "other"
        if row.post_id in undisclosed:
            kind = "undisclosed"
        what = {
            "campaign": names["campaign_post"],
            "other": names["other_post"],
            "undisclosed": f"{names['campaign_post']}, {names['no_disclosure']}",
        }[kind]
        bars.append(
            (
                row.published_at,
                rate,
                kind,
                f"{fmt.date(row.published_at)} · {fmt.percent(rate)} · "
                f"{fmt.number(row.interactions)} {names['interactions'].lower()} · {what}",
            )
        )
    posts_chart = bar_chart(bars, x_label=fmt.date, y_label=fmt.percent)
    return _AccountView(
        account_id=account.account_id,
        label=f"@{account.handle}",
        creator=account.creator_name,
        platform=account.platform,
        handle=account.handle,
        followers=account.followers,
        tier=tier,
        engagement_rate=account.engagement_rate,
        band=band,
        position=None if band is None else band_position(account.engagement_rate, band),
        followers_chart=followers_chart,
        posts_chart=posts_chart,
        flags=len(flags),
    )

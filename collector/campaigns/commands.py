"""``collector report`` and ``collector campaigns ...``: the campaigns feature's commands.

``register(app)`` adds them to the ``collector`` command line. Exit codes follow the CLI's:
0 success, 1 the work ran but something failed (a rejected file), 2 unusable input.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["register"]

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        # Help is rich markup: a bare "[database]" would be taken for a style and vanish.
        help="SQLAlchemy URL; wins over COLLECTOR_DB_URL and the config's \\[database] url.",
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="collector.toml: sync the campaigns of its watchlist first (and read its database).",
    ),
]
CampaignOption = Annotated[str, typer.Option("--campaign", help="The campaign's name.")]

campaigns_app = typer.Typer(
    help="Campaigns: attribution, manual overrides, conversions.", no_args_is_help=True
)


def _open(db: str | None, config: Path | None) -> Engine:
    """The database engine, with the config's watchlist campaigns synced into it if given."""
    from collector.campaigns.sync import sync_campaigns
    from collector.cli import _engine, _load
    from collector.storage.db import resolve_db_url
    from connectors.http import utcnow

    settings = _load(config) if config is not None else None
    engine = _engine(resolve_db_url(db, settings.database.url if settings else None))
    if settings is not None:
        sync_campaigns(engine, settings.watchlist, utcnow())
    return engine


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"error: {message}", markup=False)
    return typer.Exit(code)


def report(
    out_file: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")],
    db: DbOption = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Only this campaign (default: all).")
    ] = None,
    lang: Annotated[str, typer.Option("--lang", help="en or fr.")] = "en",
    config: ConfigOption = None,
) -> None:
    """Write one self-contained HTML report: campaigns, ROI, follower curves, flags."""
    from collector.campaigns.attribution import CampaignNotFound
    from collector.campaigns.i18n import LANGS
    from collector.campaigns.report import write_report
    from connectors.http import utcnow

    if lang not in LANGS:
        raise _fail(f"--lang must be one of {', '.join(LANGS)}, not {lang!r}")
    engine = _open(db, config)
    try:
        written = write_report(engine, out_file, now=utcnow(), campaign=campaign, lang=lang)
    except CampaignNotFound as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"cannot write {out_file}: {exc.strerror or exc}", 1) from None
    finally:
        engine.dispose()
    out.print(
        f"{written.path}: {written.bytes:,} bytes, {written.campaigns} campaign(s), "
        f"{written.accounts} account(s)",
        markup=False,
    )


@campaigns_app.command("attribute")
def attribute_command(db: DbOption = None, config: ConfigOption = None) -> None:
    """Attribute posts to campaigns by their markers and dates, and check disclosures."""
    from collector.campaigns.jobs import refresh
    from connectors.http import utcnow

    engine = _open(db, config)
    try:
        done = refresh(engine, now=utcnow())
    finally:
        engine.dispose()
    a, d = done.attribution, done.disclosure
    out.print(
        f"{a.campaigns} campaign(s): {a.posts_scanned:,} posts scanned, {a.attributed:,} "
        f"attributed by markers (+{a.added}, -{a.removed}); {d.checked} paid post(s) checked, "
        f"{d.undisclosed} without disclosure ({d.flags_written} flag(s) written, "
        f"{d.flags_withdrawn} withdrawn)",
        markup=False,
    )


def _override(post: str, campaign: str, db: str | None, *, included: bool) -> None:
    from collector.campaigns.attribution import (
        CampaignNotFound,
        PostNotFound,
        assign,
        unassign,
    )
    from collector.campaigns.disclosure import check_disclosures
    from connectors.http import utcnow

    engine = _open(db, None)
    try:
        now = utcnow()
        try:
            (assign if included else unassign)(engine, post, campaign, now=now)
        except (CampaignNotFound, PostNotFound) as exc:
            raise _fail(str(exc)) from None
        # The disclosure check follows membership at once, so the flags agree with it.
        check_disclosures(engine, now=now)
    finally:
        engine.dispose()
    verb = "is now in" if included else "is now kept out of"
    out.print(f"post {post} {verb} {campaign!r} (manual)", markup=False)


@campaigns_app.command("assign")
def assign_command(
    post: Annotated[str, typer.Argument(help="Post id (a number) or platform:post_id.")],
    campaign: CampaignOption,
    db: DbOption = None,
) -> None:
    """Put a post in a campaign by hand, whatever its caption and date."""
    _override(post, campaign, db, included=True)


@campaigns_app.command("unassign")
def unassign_command(
    post: Annotated[str, typer.Argument(help="Post id (a number) or platform:post_id.")],
    campaign: CampaignOption,
    db: DbOption = None,
) -> None:
    """Keep a post out of a campaign by hand, whatever its markers."""
    _override(post, campaign, db, included=False)


@campaigns_app.command("import-conversions")
def import_conversions_command(
    files: Annotated[
        list[Path], typer.Argument(help="CSV files: date,code,orders,revenue,currency")
    ],
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Import orders and revenue per day and promo code (or UTM campaign); all of a file or none."""
    from collector.campaigns.conversions import import_conversions
    from collector.importer import ImportFailed

    engine = _open(db, config)
    failed = False
    try:
        for path in files:
            try:
                done = import_conversions(engine, path)
            except ImportFailed as exc:
                failed = True
                err.print(str(exc), markup=False)
                continue
            per = ", ".join(f"{name}: {rows}" for name, rows in sorted(done.campaigns.items()))
            out.print(f"{path}: {done.rows} conversion row(s) imported ({per})", markup=False)
    finally:
        engine.dispose()
    raise typer.Exit(1 if failed else 0)


@campaigns_app.command("list")
def list_command(
    db: DbOption = None,
    config: ConfigOption = None,
    output: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Every campaign with its figures (JSON: each figure with what it is computed from)."""
    from collector.campaigns.i18n import Formatter
    from collector.campaigns.metrics import campaign_summaries

    if output not in ("table", "json"):
        raise _fail(f"--format must be table or json, not {output!r}")
    engine = _open(db, config)
    try:
        summaries = campaign_summaries(engine)
    finally:
        engine.dispose()
    if output == "json":
        typer.echo(json.dumps([s.as_json() for s in summaries], ensure_ascii=False, indent=2))
        return
    fmt = Formatter("en")
    for s in summaries:
        t = s.totals
        out.print(
            f"{s.name} ({s.status}): {t.posts} posts, {fmt.figure(t.interactions)} interactions, "
            f"cost {fmt.figure(t.cost, 'money')}, revenue {fmt.figure(t.revenue, 'money')}, "
            f"ROI {fmt.figure(t.roi, 'ratio')}, {t.undisclosed_posts} undisclosed",
            markup=False,
        )


def register(app: typer.Typer) -> None:
    """Add ``collector report`` and ``collector campaigns ...`` to the command line."""
    app.command("report")(report)
    app.add_typer(campaigns_app, name="campaigns")

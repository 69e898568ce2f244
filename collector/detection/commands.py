"""``collector detect`` and ``collector flags`` (names fixed by DESIGN.md)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["register"]

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option("--db", help="SQLAlchemy URL; wins over COLLECTOR_DB_URL."),
]

flags_app = typer.Typer(
    help="List flags (no subcommand), or acknowledge or dismiss one.",
    invoke_without_command=True,
    add_completion=False,
)

_STYLE = {"high": "bold red", "medium": "yellow", "low": "dim"}


def _engine(db: str | None):  # type: ignore[no-untyped-def]
    # The CLI's own helper: same URL resolution, secret masking and schema checks.
    from collector.cli import _engine as cli_engine
    from collector.storage.db import resolve_db_url

    return cli_engine(resolve_db_url(db))


def detect(
    db: DbOption = None,
    account: Annotated[
        list[str] | None,
        typer.Option(
            "--account",
            "-a",
            help="Only this account: an id, a handle, or platform:handle (repeatable).",
        ),
    ] = None,
    notify: Annotated[
        bool,
        typer.Option(
            "--notify",
            help="Announce new medium/high flags to COLLECTOR_WEBHOOK_URL afterwards.",
        ),
    ] = False,
) -> None:
    """Run the detectors over the stored series and write flags."""
    import asyncio

    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from collector.cli import CliError, progress_bar
    from collector.detection.runner import run_detection
    from collector.detection.webhook import webhook_from_env

    engine = _engine(db)
    ids = _resolve_accounts(engine, account) if account else None
    if ids is not None and not ids:
        raise CliError("no account matches " + ", ".join(account or []))
    with progress_bar(
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("accounts"),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task("accounts", total=None)
        summary = run_detection(
            engine,
            account_ids=ids,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    new, updated = summary.flags.new, summary.flags.updated
    out.print(
        f"scored {summary.accounts:,} account{'' if summary.accounts == 1 else 's'} "
        f"in {summary.seconds:.2f}s\n"
        f"flags new: {new['high']} high, {new['medium']} medium, {new['low']} low\n"
        f"flags updated: {updated['high']} high, {updated['medium']} medium, "
        f"{updated['low']} low",
        markup=False,
    )
    if notify:
        notifier = webhook_from_env()
        if notifier is None:
            err.print("--notify: COLLECTOR_WEBHOOK_URL is not set; nothing sent", markup=False)
        else:
            sent = asyncio.run(notifier.announce_pending(engine))
            out.print(f"announced {sent} flag{'' if sent == 1 else 's'}", markup=False)
    engine.dispose()


def _resolve_accounts(engine, names: list[str]) -> list[int]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from collector.storage.models import Account

    table = Account.__table__  # type: ignore[attr-defined]
    ids: set[int] = set()
    with engine.connect() as conn:
        for name in names:
            stmt = select(table.c.id)
            if name.isdigit():
                stmt = stmt.where(table.c.id == int(name))
            elif ":" in name:
                platform, handle = name.split(":", 1)
                stmt = stmt.where(
                    table.c.platform == platform, table.c.handle == handle.lstrip("@")
                )
            else:
                stmt = stmt.where(table.c.handle == name.lstrip("@"))
            ids.update(int(i) for i in conn.execute(stmt).scalars())
    return sorted(ids)


FormatOption = Annotated[
    str, typer.Option("--format", "-f", help="table or json.", case_sensitive=False)
]
StatusOption = Annotated[
    str | None,
    typer.Option("--status", help="Only flags with this status: open, acknowledged, dismissed."),
]


@flags_app.callback()
def flags(
    ctx: typer.Context,
    db: DbOption = None,
    fmt: FormatOption = "table",
    status: StatusOption = None,
) -> None:
    """List flags, newest window first (``--format json`` for scripts)."""
    from collector.cli import CliError, _printable
    from collector.detection.flags import STATUSES, flag_objects

    ctx.obj = {"db": db}
    if ctx.invoked_subcommand is not None:
        return
    fmt = fmt.lower()
    if fmt not in ("table", "json"):
        raise CliError("--format must be table or json")
    if status is not None and status not in STATUSES:
        raise CliError(f"--status must be one of {', '.join(STATUSES)}")
    engine = _engine(db)
    with engine.connect() as conn:
        objects = flag_objects(conn, status=status)
    engine.dispose()
    if fmt == "json":
        sys.stdout.write(json.dumps(objects, indent=2, ensure_ascii=False) + "\n")
        return
    if not objects:
        out.print("no flags" + (f" with status {status}" if status else ""), markup=False)
        return
    table = Table(show_lines=False)
    for column in ("id", "severity", "kind", "account", "window (UTC)", "score", "status"):
        table.add_column(column, no_wrap=column != "account")
    table.add_column("why", overflow="fold", min_width=30)

    def cell(value: object, style: str = "") -> Text:
        # Handles, post ids and the evidence behind a summary come from platforms: as Text, a
        # "[red]" in them is shown, not obeyed; escaped, a "\x1b[2J" or "\r" is shown, not run.
        return Text(_printable(str(value)), style=style)

    for f in objects:
        account = f"{f['platform']}:{f['handle']}" + (
            f" post {f['post_id']}" if f["post_id"] else ""
        )
        window = (
            f"{f['window_start'][:16].replace('T', ' ')} → {f['window_end'][:16].replace('T', ' ')}"
        )
        table.add_row(
            cell(f["id"]),
            cell(f["severity"], _STYLE.get(f["severity"], "")),
            cell(f["kind"]),
            cell(account),
            cell(window),
            cell(f"{f['score']:.2f}"),
            cell(f["status"]),
            cell(f["summary"]),
        )
    out.print(table)


def _set_status(ctx: typer.Context, flag_id: int, db: str | None, status: str) -> None:
    from collector.cli import CliError
    from collector.detection.flags import FlagNotFound, set_status
    from connectors.http import utcnow

    engine = _engine(db or (ctx.obj or {}).get("db"))
    try:
        with engine.begin() as conn:
            set_status(conn, flag_id, status, utcnow())
    except FlagNotFound as exc:
        raise CliError(str(exc)) from None
    finally:
        engine.dispose()
    out.print(f"flag {flag_id}: {status}", markup=False)


@flags_app.command("ack")
def ack(
    ctx: typer.Context,
    flag_id: Annotated[int, typer.Argument(metavar="ID", help="The flag's id.")],
    db: DbOption = None,
) -> None:
    """Mark a flag acknowledged: someone is looking at it."""
    _set_status(ctx, flag_id, db, "acknowledged")


@flags_app.command("dismiss")
def dismiss(
    ctx: typer.Context,
    flag_id: Annotated[int, typer.Argument(metavar="ID", help="The flag's id.")],
    db: DbOption = None,
) -> None:
    """Dismiss a flag: it stays dismissed for its window even if detected again."""
    _set_status(ctx, flag_id, db, "dismissed")


@flags_app.command("reopen")
def reopen(
    ctx: typer.Context,
    flag_id: Annotated[int, typer.Argument(metavar="ID", help="The flag's id.")],
    db: DbOption = None,
) -> None:
    """Open a flag again."""
    _set_status(ctx, flag_id, db, "open")


def register(app: typer.Typer) -> None:
    """Add ``detect`` and ``flags`` to the ``collector`` command line."""
    app.command("detect")(detect)
    app.add_typer(flags_app, name="flags")

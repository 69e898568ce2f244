"""The ``collector`` command line (names are a public contract: see DESIGN.md).

Exit codes: 0 success; 1 the work ran but something failed (a platform, a file); 2 the input
was unusable (configuration, arguments, database URL). Errors are sentences, not tracebacks.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO, cast

import typer
from rich.console import Console
from sqlalchemy.engine import Engine, make_url

from collector.logs import add_secrets, configure_logging
from collector.settings import ConfigInvalid, Settings, check_files, load_settings
from collector.storage.db import (
    DatabaseURLError,
    SchemaNotReady,
    ensure_schema,
    make_engine,
    resolve_db_url,
    upgrade,
)
from connectors.http import utcnow

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn, TaskID

__all__ = ["app", "main", "progress_bar"]

app = typer.Typer(
    name="collector",
    help="Watch public creators, store how their audience moves, flag bought audiences.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration files.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="Path to collector.toml.", show_default=True)
]
# Help texts are rich markup: a bare "[database]" would be taken for a style and vanish.
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL; wins over COLLECTOR_DB_URL and the config's \\[database] url.",
    ),
]
# For commands that read no config file, so no [database] table can be the fallback.
DbOnlyOption = Annotated[
    str | None, typer.Option("--db", help="SQLAlchemy URL; wins over COLLECTOR_DB_URL.")
]
DEMO_CONFIG = Path(__file__).resolve().parent.parent / "config" / "demo.toml"


class CliError(Exception):
    """An error to print as one sentence and exit with ``code``."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _load(config: Path) -> Settings:
    try:
        settings = load_settings(config)
    except ConfigInvalid as exc:
        raise CliError("\n".join(str(p) for p in exc.problems)) from None
    add_secrets(settings.secrets())
    for warning in settings.warnings:
        err.print(f"warning: {warning}", markup=False)
    return settings


def _engine(url: str, *, allow_upgrade: bool = False, create: bool = True) -> Engine:
    try:
        password = make_url(url).password
    except Exception:
        password = None
    if password:
        # Compose and ops put the database password in the URL; it is a secret like a token.
        add_secrets([str(password)])
    try:
        engine = make_engine(url)
        if create:
            ensure_schema(engine, allow_upgrade=allow_upgrade)
    except (DatabaseURLError, SchemaNotReady) as exc:
        raise CliError(str(exc)) from None
    except Exception as exc:
        raise CliError(f"cannot open the database: {exc.__class__.__name__}: {exc}") from None
    return engine


class _CurrentStderr(io.TextIOBase):
    """``sys.stderr`` as it is at each write, not as it was when logging was configured.

    While a progress bar is live, rich swaps ``sys.stderr`` for a proxy that prints each line
    above the bar; a log handler holding the real stream would write across the bar and tear it.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def _log_format(settings: Settings | None, fmt: str | None) -> str:
    return fmt or (settings.logging.format if settings else "auto")


def _setup_logging(settings: Settings | None, level: str | None, fmt: str | None) -> None:
    configure_logging(
        level=level or (settings.logging.level if settings else "info"),
        fmt=_log_format(settings, fmt),  # type: ignore[arg-type]
        stream=cast(TextIO, _CurrentStderr()),
        secrets=settings.secrets() if settings else (),
    )


def progress_bar(
    *columns: ProgressColumn | str, quiet: bool = False, console: Console | None = None
) -> Progress:
    """A progress bar on stderr that erases itself when done, drawn only on a terminal.

    Piped, redirected, under cron or ``docker logs`` (or with ``quiet``) it draws nothing, so
    what is read or parsed there is the command's report and log lines alone.
    """
    from rich.progress import Progress

    console = console or err
    return Progress(
        *columns, console=console, transient=True, disable=quiet or not console.is_terminal
    )


class _PassBars:
    """One bar per platform over all the passes of one ``collect``.

    Each pass reports (done, total) over its own due accounts, and draining takes several
    passes; the bar adds them up so that it never runs backwards. A platform appears when its
    first pass with work starts: idle platforms draw no empty bar.
    """

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._tasks: dict[str, TaskID] = {}
        self._finished: dict[str, int] = {}  # accounts handled by the passes that ended
        self._current: dict[str, int] = {}

    def reporter(self, platform: str) -> Callable[[int, int], None]:
        """The ``progress`` callback for one platform's passes."""

        def report(done: int, total: int) -> None:
            before = self._finished.get(platform, 0)
            self._current[platform] = done
            task = self._tasks.get(platform)
            if task is None:
                # Created with its figures: the refresh thread must never draw a default 0/100.
                self._tasks[platform] = self.progress.add_task(
                    f"collecting {platform}", total=before + total, completed=before + done
                )
            else:
                self.progress.update(task, completed=before + done, total=before + total)

        return report

    def passes_ended(self) -> None:
        """Fold the passes that just ended into the bars' starting points."""
        for platform, done in self._current.items():
            # A pass stopped early (paused platform) counts what it handled; the accounts it
            # left are still due and come back in the next pass's total.
            self._finished[platform] = self._finished.get(platform, 0) + done
        self._current.clear()


def _after_pass_hooks(engine: Engine, settings: Settings, db: Any) -> list[Any]:
    """After each pass: attribute new posts to campaigns, then re-score what changed."""
    from collector.campaigns import after_pass_hook
    from collector.detection.runner import make_detection_hook

    return [after_pass_hook(engine, db), make_detection_hook(engine, settings)]


def _printable(text: str) -> str:
    """Text from platforms, with control characters escaped: nothing reaches the terminal raw."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


LogLevel = Annotated[str | None, typer.Option("--log-level", help="debug, info, warning or error.")]
LogFormat = Annotated[str | None, typer.Option("--log-format", help="auto, json or console.")]


@app.command()
def run(
    config: ConfigOption = Path("collector.toml"),
    db: DbOption = None,
    upgrade_db: Annotated[
        bool, typer.Option("--upgrade-db", help="Upgrade the schema first if it is older.")
    ] = False,
    log_level: LogLevel = None,
    log_format: LogFormat = None,
) -> None:
    """Run the daemon: collect every due account on schedule until SIGTERM or Ctrl-C."""
    from collector.daemon import Daemon, build_collection

    settings = _load(config)
    _setup_logging(settings, log_level, log_format)
    engine = _engine(resolve_db_url(db, settings.database.url), allow_upgrade=upgrade_db)
    collection = build_collection(settings, engine)
    if not collection.dispatchers:
        raise CliError("no platform can be collected: enable one in " + str(config))
    code = asyncio.run(
        Daemon(collection, after_pass=_after_pass_hooks(engine, settings, collection.db)).run()
    )
    engine.dispose()
    raise typer.Exit(code)


@app.command()
def collect(
    config: ConfigOption = Path("collector.toml"),
    db: DbOption = None,
    platform: Annotated[
        list[str] | None, typer.Option("--platform", "-p", help="Only this platform (repeatable).")
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="One pass, even if more accounts fall due meanwhile.")
    ] = False,
    all_accounts: Annotated[
        bool, typer.Option("--all", help="Collect every active account, due or not.")
    ] = False,
    log_level: LogLevel = None,
    log_format: LogFormat = None,
) -> None:
    """Collect the due accounts now and exit (1 if any account or platform failed)."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    from collector.daemon import build_collection
    from collector.pipeline import PassResult

    settings = _load(config)
    _setup_logging(settings, log_level, log_format)
    engine = _engine(resolve_db_url(db, settings.database.url))
    unknown = sorted(set(platform or ()) - set(settings.platforms))
    if unknown:
        raise CliError(f"not configured in {config}: {', '.join(unknown)}")
    collection = build_collection(settings, engine, platforms=platform)
    # JSON logs are for machines, even on a terminal: no bar among them.
    bar = progress_bar(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("accounts"),
        TimeElapsedColumn(),
        quiet=_log_format(settings, log_format) == "json",
    )
    bars = _PassBars(bar)

    async def passes() -> list[PassResult | BaseException]:
        try:
            await collection.db(collection.sync_watchlist, utcnow)
            results: list[PassResult | BaseException] = []
            # Without --once, drain: accounts that fell due during a long pass are taken too.
            for _ in range(1 if once or all_accounts else 10):
                round_results = await asyncio.gather(
                    *(
                        d.run_pass(include_not_due=all_accounts, progress=bars.reporter(name))
                        for name, d in collection.dispatchers.items()
                    ),
                    return_exceptions=True,
                )
                bars.passes_ended()
                results.extend(round_results)
                if all(
                    isinstance(r, PassResult) and r.status in ("idle", "paused")
                    for r in round_results
                ):
                    break
            return results
        finally:
            await collection.aclose()

    with bar:
        results = asyncio.run(passes())
    engine.dispose()
    failed = bool(collection.broken)
    for name, problem in collection.broken.items():
        err.print(f"{name}: connector unavailable: {_printable(problem)}", markup=False)
    for result in results:
        if isinstance(result, BaseException):
            failed = True
            err.print(f"a pass crashed: {result.__class__.__name__}: {result}", markup=False)
            continue
        if result.status in ("failed", "partial") or (result.status == "paused" and result.error):
            failed = True
        if result.status != "idle":
            t = result.totals
            out.print(
                f"{result.platform}: {result.status}: {t.succeeded}/{t.accounts} accounts, "
                f"{t.profile_rows} profile and {t.post_rows} post snapshots, {t.calls} calls "
                f"in {result.duration_seconds:.2f}s"
                + (f" ({_printable(result.error)})" if result.error else ""),
                markup=False,
            )
    if not any(isinstance(r, PassResult) and r.status != "idle" for r in results):
        out.print("nothing was due")
    raise typer.Exit(1 if failed else 0)


@app.command()
def plan(
    config: ConfigOption = Path("collector.toml"),
    posts_per_week: Annotated[
        float, typer.Option("--posts-per-week", help="Assumed posting rate per account.")
    ] = 3.5,
) -> None:
    """Show each platform's calls and quota units per pass, and the shortest interval allowed."""
    from collector.plan import make_plan
    from connectors.base import format_duration

    settings = _load(config)
    over = False
    for item in make_plan(settings, posts_per_week=posts_per_week):
        calls = ", ".join(f"{endpoint} {n:,}" for endpoint, n in item.calls_per_pass.items())
        if item.problem:
            verdict = item.problem
        elif item.fits is None:
            verdict = "no published daily cap: paced by the platform's rate-limit headers"
        elif item.fits:
            verdict = "fits the daily quota"
        else:
            over = True
            verdict = "EXCEEDS the daily quota: lengthen the interval or watch fewer accounts"
        capacity = (
            "none published"
            if item.capacity_per_day is None
            else f"{item.capacity_per_day:,.0f} units"
        )
        shortest = (
            ""
            if item.shortest_interval is None
            else f"; shortest interval the quota allows: {format_duration(item.shortest_interval)}"
        )
        out.print(
            f"{item.platform}: {item.accounts:,} account{'' if item.accounts == 1 else 's'} "
            f"every {format_duration(item.interval)}\n"
            f"  one pass: {calls or 'no calls'} ({item.units_per_pass:,} quota units)\n"
            f"  per day: {item.units_per_day:,.0f} units; daily capacity: {capacity}{shortest}\n"
            f"  {verdict}",
            markup=False,
        )
    raise typer.Exit(1 if over else 0)


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="CSV files of profile or post rows.")],
    db: DbOnlyOption = None,
) -> None:
    """Import profile or post snapshots from CSV (the header tells which)."""
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    from collector.importer import import_files

    engine = _engine(resolve_db_url(db))
    with progress_bar(
        TextColumn("importing"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
    ) as progress:
        task = progress.add_task("rows", total=None)
        results, failures = import_files(
            engine,
            files,
            now=utcnow(),
            progress=lambda rows: progress.update(task, completed=rows),
        )
    engine.dispose()
    for result in results:
        rate = result.rows / result.seconds if result.seconds > 0 else float(result.rows)
        out.print(
            f"{result.path}: {result.rows:,} {result.kind} rows imported "
            f"({result.accounts_created} new accounts) in {result.seconds:.2f}s, "
            f"{rate:,.0f} rows/s",
            markup=False,
        )
    for failure in failures:
        err.print(str(failure), markup=False)
    raise typer.Exit(1 if failures else 0)


@db_app.command("upgrade")
def db_upgrade(db: DbOnlyOption = None) -> None:
    """Create or upgrade the database schema to this version's head."""
    from collector.storage.db import current_revision, head_revision

    engine = _engine(resolve_db_url(db), create=False)
    before = current_revision(engine)
    try:
        upgrade(engine)
    except Exception as exc:
        raise CliError(f"upgrade failed: {exc.__class__.__name__}: {exc}") from None
    after = current_revision(engine)
    engine.dispose()
    if before == after:
        out.print(f"schema already at {after} (head {head_revision()})")
    else:
        out.print(f"schema upgraded from {before or 'empty'} to {after}")


@db_app.command("refresh-latest")
def db_refresh_latest(db: DbOnlyOption = None) -> None:
    """Recompute profile_latest (account_latest) after loading snapshots around Collector.

    Collector's own writers keep it current; a script that inserts profile_snapshot rows with
    COPY or plain INSERT runs this once afterwards.
    """
    from collector.storage.repo import rebuild_profile_latest

    engine = _engine(resolve_db_url(db), create=False)
    try:
        with engine.begin() as conn:
            rows = rebuild_profile_latest(conn)
    except Exception as exc:
        raise CliError(f"refresh failed: {exc.__class__.__name__}: {exc}") from None
    finally:
        engine.dispose()
    out.print(f"profile_latest holds the newest snapshot of {rows:,} accounts")


@config_app.command("check")
def config_check(
    files: Annotated[
        list[Path], typer.Argument(help="collector.toml and/or watchlist.yaml files.")
    ],
) -> None:
    """Validate configuration files; print every problem with file:line and exit 2 if any."""
    problems = check_files(files)
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        (err if problem.severity == "error" else out).print(
            f"{problem.severity}: {problem}", markup=False
        )
    if errors:
        err.print(f"{len(errors)} error(s) in {len(files)} file(s)", markup=False)
        raise typer.Exit(2)
    out.print(
        f"ok: {len(files)} file(s) valid" + (f", {len(problems)} warning(s)" if problems else "")
    )


@app.command()
def demo(
    config: ConfigOption = DEMO_CONFIG,
    db: DbOption = None,
    seconds: Annotated[
        float | None, typer.Option("--seconds", help="Stop after this long (default: Ctrl-C).")
    ] = None,
    port: Annotated[
        int, typer.Option("--port", help="Dashboard port on 127.0.0.1 (0: any free port).")
    ] = 8080,
) -> None:
    """Run the daemon on the demo platform into a local SQLite file, with a live table."""
    from collector.daemon import Daemon, build_collection
    from collector.demo_view import live_table

    if not config.exists():
        raise CliError(f"demo configuration not found at {config}: pass --config")
    settings = _load(config)
    url = resolve_db_url(db, settings.database.url)
    # The live table owns the terminal; log lines would tear it, so only problems are logged.
    configure_logging(level="warning", fmt="console", secrets=settings.secrets())
    engine = _engine(url, allow_upgrade=True)
    collection = build_collection(settings, engine)
    out.print(f"[bold]Collector demo[/] — storing into {url}; Ctrl-C to stop")

    async def main() -> int:
        from collector.campaigns.demo import seed_demo_conversions
        from collector.server import ServerStartError, serve_in_background

        # The demo campaign needs orders to show a return: simulated ones, up to yesterday.
        await collection.db(collection.sync_watchlist, utcnow)
        await collection.db(seed_demo_conversions, engine, now=utcnow())
        daemon = Daemon(collection, after_pass=_after_pass_hooks(engine, settings, collection.db))
        runner = asyncio.create_task(daemon.run())
        started = time.monotonic()
        web = None
        try:
            web = await asyncio.to_thread(
                serve_in_background,
                engine,
                "127.0.0.1",
                port,
                watchlist_errors=lambda: daemon.watchlist_errors,
            )
            out.print(f"dashboard: {web.url}/", markup=False)
        except ServerStartError as exc:
            # A busy port must not stop the demo: the table still shows the data flowing.
            err.print(f"warning: no dashboard ({exc}); try --port 0", markup=False)
        try:
            await live_table(
                engine,
                out,
                stop=daemon.stop_event,
                deadline=(None if seconds is None else started + seconds),
            )
        finally:
            daemon.request_stop()
            code = await runner
            if web is not None:
                await asyncio.to_thread(web.stop)
        return code

    code = asyncio.run(main())
    engine.dispose()
    raise typer.Exit(code)


#: Modules that add their own commands with ``register(app)``; each feature owns its module.
COMMAND_MODULES = (
    "collector.detection.commands",
    "collector.server.commands",
    "collector.campaigns.commands",
)


def _register_feature_commands() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that feature is not part of this build
            raise
        module.register(app)


_register_feature_commands()


def main() -> None:
    """Console entry point."""
    try:
        app()
    except CliError as exc:
        err.print(f"error: {exc}", markup=False)
        sys.exit(exc.code)

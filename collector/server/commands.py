"""``collector serve``: the dashboard, read API, metrics and probes over one database."""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated

import typer

__all__ = ["DEFAULT_TOKEN_ENV", "loopback_hosts", "register", "resolve_token"]

DEFAULT_TOKEN_ENV = "COLLECTOR_API_TOKEN"  # noqa: S105 - the variable's name, not a token
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def loopback_hosts(host: str) -> list[str] | None:
    """The Host headers to accept when bound to loopback (None: any, for exposed servers).

    A browser page from another site can reach a loopback server by DNS rebinding, under its own
    name; answering only to loopback names closes that door.
    """
    try:
        local = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        local = False
    return [*_LOOPBACK_NAMES, host] if local else None


def resolve_token(token_env: str, environ: dict[str, str] | None = None) -> str | None:
    """The token from the named environment variable; None if unset and the default name.

    Naming a variable with ``--token-env`` asks for protection: an unset or empty one is an error
    rather than a silently open server.
    """
    env = os.environ if environ is None else environ
    value = env.get(token_env, "")
    if value.strip():
        return value.strip()
    if token_env != DEFAULT_TOKEN_ENV:
        raise ValueError(f"the environment variable {token_env} is not set or empty")
    return None


def register(app: typer.Typer) -> None:
    """Add ``collector serve`` to the command line."""

    @app.command()
    def serve(
        db: Annotated[
            str | None,
            typer.Option(
                "--db",
                help="SQLAlchemy URL; wins over COLLECTOR_DB_URL (default sqlite:///collector.db).",
            ),
        ] = None,
        host: Annotated[
            str, typer.Option("--host", help="Address to listen on (loopback by default).")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option("--port", min=0, max=65535)] = 8080,
        token_env: Annotated[
            str,
            typer.Option(
                "--token-env",
                help="Environment variable holding the bearer token; when set, every route but "
                "/healthz needs it.",
            ),
        ] = DEFAULT_TOKEN_ENV,
        allowed_host: Annotated[
            list[str] | None,
            typer.Option(
                "--allowed-host",
                help="Another Host name to answer to when listening on loopback behind a proxy "
                "(repeatable).",
            ),
        ] = None,
        log_level: Annotated[
            str, typer.Option("--log-level", help="debug, info, warning or error.")
        ] = "info",
    ) -> None:
        """Serve the dashboard, the read API, /metrics, /healthz and /readyz."""
        import uvicorn
        from rich.console import Console

        from collector.cli import CliError, _engine
        from collector.logs import add_secrets, configure_logging
        from collector.server.app import create_app
        from collector.server.background import QuietExitServer
        from collector.storage.db import current_revision, head_revision, resolve_db_url

        err = Console(stderr=True, highlight=False, soft_wrap=True)
        try:
            token = resolve_token(token_env)
        except ValueError as exc:
            raise CliError(str(exc)) from None
        configure_logging(level=log_level, fmt="auto", secrets=[token] if token else ())
        if token:
            add_secrets([token])
        engine = _engine(resolve_db_url(db), create=False)
        try:
            current, head = current_revision(engine), head_revision()
        except Exception as exc:
            raise CliError(f"cannot read the database: {exc.__class__.__name__}: {exc}") from None
        if current != head:
            # Still serve: /readyz reports it, so an orchestrator holds traffic until upgraded.
            err.print(
                f"warning: the schema is at {current or 'nothing'}, this version reads {head}: "
                "run 'collector db upgrade'; /readyz answers 503 until then",
                markup=False,
            )
        allowed = loopback_hosts(host)
        if allowed is not None and allowed_host:
            allowed = [*allowed, *allowed_host]
        if allowed is None and token is None:
            err.print(
                f"warning: listening on {host} without a token: anyone who reaches this address "
                f"can read the data and triage flags; set {DEFAULT_TOKEN_ENV}",
                markup=False,
            )
        web = create_app(engine, token=token, allowed_hosts=allowed)
        shown = f"[{host}]" if ":" in host else host
        err.print(
            f"serving http://{shown}:{port}/ ("
            + ("bearer token required" if token else "no token")
            + "); Ctrl-C to stop",
            markup=False,
        )
        config = uvicorn.Config(
            web, host=host, port=port, log_config=None, lifespan="off", server_header=False
        )
        QuietExitServer(config).run()
        engine.dispose()

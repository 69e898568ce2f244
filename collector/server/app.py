"""The web application behind ``collector serve``: read API, dashboard, metrics and probes.

Security, in order of the checks a request meets:

1. *Host* (when ``allowed_hosts`` is given, as ``collector serve`` does on a loopback address): a
   page in a browser cannot reach the dashboard through DNS rebinding under another name.
2. *Token* (when one is configured): every route except ``/healthz``, ``/login`` and the
   stylesheet needs ``Authorization: Bearer <token>`` or the session cookie the login form sets
   (an HMAC of the token, HttpOnly, SameSite=Strict). API clients get 401; browsers go to the
   login form.
3. *Forms* (acknowledge, dismiss, login) are accepted only from the dashboard's own origin
   (``Origin``, else ``Referer``, must name this host): no cross-site request can change a flag.
4. *Output*: templates escape everything (autoescape on), charts are drawn by the server, and a
   Content-Security-Policy allows no script at all, so text a creator wrote stays text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine
from starlette.middleware.trustedhost import TrustedHostMiddleware

from collector.server import api, pages
from collector.server.auth import authorised
from collector.server.metrics import make_registry
from collector.server.state import ServerState
from connectors.http import utcnow

__all__ = ["create_app"]

STATIC_DIR = Path(__file__).with_name("static")
#: Reachable without the token: liveness, the way to log in, and the login page's stylesheet.
_OPEN_PATHS = ("/healthz", "/login", "/static/")
_MACHINE_PATHS = ("/api/", "/metrics", "/readyz", "/openapi.json")
_SECURITY_HEADERS = {
    # No script may run: the dashboard has none, so injected markup could do nothing.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def create_app(
    engine: Engine,
    *,
    token: str | None,
    clock: Callable[[], datetime] = utcnow,
    allowed_hosts: Sequence[str] | None = None,
    watchlist_errors: Callable[[], int] | None = None,
) -> FastAPI:
    """The dashboard and read API over one database; ``token`` None leaves it open.

    ``allowed_hosts`` restricts the Host header (loopback servers); ``watchlist_errors`` reads
    the refused-edit count of a daemon running in this process, for ``/metrics``.
    """
    if token is not None and not token.strip():
        raise ValueError("the API token is empty")
    app = FastAPI(
        title="Collector read API",
        version="1",
        summary="Creators, their audience series, posts, flags and campaigns, read-only.",
        # The interactive docs load scripts from a CDN; the description itself is served.
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.collector = ServerState(
        engine=engine,
        clock=clock,
        token=token,
        registry=make_registry(engine, clock, watchlist_errors),
    )

    @app.middleware("http")
    async def guard(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        if (
            token is not None
            and not path.startswith(_OPEN_PATHS)
            and not authorised(request, token)
        ):
            if path.startswith(_MACHINE_PATHS):
                response: Response = JSONResponse(
                    {"detail": "a bearer token is required"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            else:
                response = RedirectResponse(pages.login_url(request), status_code=303)
        else:
            response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if token is not None:
            # Behind a token the data is private: no shared cache may keep a copy.
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    pages.install_error_pages(app)
    if token is not None:
        _document_bearer(app)
    return app


def _document_bearer(app: FastAPI) -> None:
    """Say in ``/openapi.json`` that every operation but ``/healthz`` needs the bearer token."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http",
            "scheme": "bearer",
        }
        for path, operations in schema.get("paths", {}).items():
            if path.startswith(_OPEN_PATHS):
                continue
            for operation in operations.values():
                operation["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

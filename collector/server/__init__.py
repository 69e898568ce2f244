"""``collector serve``: the dashboard, the read API, Prometheus metrics and health probes.

:func:`create_app` builds the ASGI application over one database engine;
:func:`serve_in_background` runs it from a thread beside other work (the demo's daemon).
Imported lazily, so the command line does not load the web stack for other commands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["BackgroundServer", "ServerStartError", "create_app", "serve_in_background"]

if TYPE_CHECKING:
    from collector.server.app import create_app
    from collector.server.background import (
        BackgroundServer,
        ServerStartError,
        serve_in_background,
    )


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from collector.server.app import create_app

        return create_app
    if name in ("BackgroundServer", "ServerStartError", "serve_in_background"):
        from collector.server import background

        return getattr(background, name)
    raise AttributeError(f"module 'collector.server' has no attribute {name!r}")

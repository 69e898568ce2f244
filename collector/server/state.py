"""What every request of one server shares: the engine, the clock, the token, the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from prometheus_client import CollectorRegistry
from sqlalchemy.engine import Engine

__all__ = ["ServerState", "State", "get_state"]


@dataclass(frozen=True)
class ServerState:
    """The server's shared, read-only configuration."""

    engine: Engine
    clock: Callable[[], datetime]
    token: str | None
    registry: CollectorRegistry


def get_state(request: Request) -> ServerState:
    """The state of the app serving this request."""
    state: ServerState = request.app.state.collector
    return state


State = Annotated[ServerState, Depends(get_state)]

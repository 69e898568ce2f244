"""Finds connectors through the ``collector.connectors`` entry-point group.

Built-in connectors are declared in our own ``pyproject.toml`` exactly as a third party declares
its own, so ``pip install collector-tiktok-plus`` adds a platform with no fork. Entry points are
listed without importing them; a connector is imported only when a config names its platform, and
one that fails to import or is not a :class:`~connectors.base.Connector` is a warning, never a
crash of the daemon.
"""

from __future__ import annotations

import warnings
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from connectors.base import Connector

__all__ = ["GROUP", "PluginError", "available", "load", "load_all"]

GROUP = "collector.connectors"


class PluginError(Exception):
    """A connector entry point is unknown, fails to import, or is not a Connector."""


@cache
def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def available() -> list[str]:
    """Names of every installed platform, without importing any of them."""
    return sorted(_entry_points())


@cache
def load(name: str) -> type[Connector]:
    """Import and check the connector class registered as ``name``."""
    ep = _entry_points().get(name)
    if ep is None:
        known = ", ".join(available()) or "none"
        raise PluginError(f"unknown platform {name!r} (installed: {known})")
    try:
        obj = ep.load()
    except Exception as exc:
        raise PluginError(
            f"connector {name!r} ({ep.value}) failed to import: {exc.__class__.__name__}: {exc}"
        ) from exc
    if not (isinstance(obj, type) and issubclass(obj, Connector)):
        raise PluginError(f"connector {name!r} ({ep.value}) is not a Connector subclass")
    if getattr(obj, "name", None) != name:
        raise PluginError(
            f"connector {name!r} ({ep.value}) declares name {getattr(obj, 'name', None)!r}"
        )
    return obj


def load_all() -> dict[str, type[Connector]]:
    """Every connector that imports cleanly; the broken ones are reported as warnings."""
    loaded: dict[str, type[Connector]] = {}
    for name in available():
        try:
            loaded[name] = load(name)
        except PluginError as exc:
            warnings.warn(str(exc), RuntimeWarning, stacklevel=2)
    return loaded

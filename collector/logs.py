"""Logging: structlog configured once, the standard library routed through it, secrets masked.

Every line, whether it comes from our structlog loggers or from a library's ``logging`` logger
(httpx, apscheduler, alembic, sqlalchemy) or from ``warnings.warn``, goes through one
:class:`structlog.stdlib.ProcessorFormatter` on one root handler. Its last step before rendering
replaces every registered secret (and its URL-encoded forms) by ``***``, so a token is masked
wherever it turns up: the event, a nested field, an exception message, a traceback, a URL.

Masking is the second line of defence: connectors must not log secrets in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TextIO
from urllib.parse import quote, quote_plus

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

__all__ = [
    "MASK",
    "MIN_SECRET_LENGTH",
    "add_secrets",
    "configure_logging",
    "get_logger",
    "mask",
    "reset_logging",
]

MASK = "***"
# Shorter values would mask ordinary words and numbers all over the logs ("a", "on", "123").
MIN_SECRET_LENGTH = 4

# Library loggers quieted at INFO, and why:
# - httpx logs every request URL at INFO, and URLs carry API keys (YouTube ``key=``); httpcore's
#   DEBUG is wire-level noise. Both stay at WARNING even with --log-level debug: masking only
#   covers secrets we know about.
_ALWAYS_QUIET = ("httpx", "httpcore")
# - alembic narrates every migration step; apscheduler logs two lines per job run (i.e. per
#   dispatcher tick) and one per job added. Useful when debugging, spam otherwise; their
#   warnings and errors still come through.
_QUIET_UNLESS_DEBUG = ("alembic", "apscheduler")

# Containers nested deeper than this are rendered as their (masked) repr instead of walked, so a
# cyclic structure cannot recurse forever.
_MAX_DEPTH = 16


class _SecretRegistry:
    """The set of values to mask, compiled into one regex; safe to extend from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: frozenset[str] = frozenset()
        self._pattern: re.Pattern[str] | None = None

    def add(self, values: Iterable[str]) -> None:
        new = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
        if new <= self._values:
            return
        with self._lock:
            self._values = self._values | new
            variants: set[str] = set()
            for value in self._values:
                # Tokens also travel in query strings and form bodies, percent-encoded.
                variants.update((value, quote(value, safe=""), quote_plus(value, safe="")))
            # Longest first, so a secret that contains another is masked whole.
            ordered = sorted(variants, key=len, reverse=True)
            # Readers take the pattern without the lock: assigning it is atomic.
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    def clear(self) -> None:
        with self._lock:
            self._values = frozenset()
            self._pattern = None

    @property
    def pattern(self) -> re.Pattern[str] | None:
        return self._pattern


_secrets = _SecretRegistry()


def add_secrets(values: Iterable[str]) -> None:
    """Register more values to mask; empty and shorter-than-4-character values are ignored."""
    _secrets.add(values)


def mask(text: str) -> str:
    """Replace every registered secret, raw or URL-encoded, in ``text`` by ``***``."""
    pattern = _secrets.pattern
    return pattern.sub(MASK, text) if pattern is not None else text


def _mask_key(key: object) -> object:
    if isinstance(key, str):
        return mask(key)
    if key is None or isinstance(key, bool | int | float):
        return key
    # A tuple key would come back from _mask_value as an unhashable list, and JSON refuses it.
    return mask(repr(key))


def _mask_value(value: object, depth: int = 0) -> object:
    if isinstance(value, str):
        return mask(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if depth < _MAX_DEPTH:
        if isinstance(value, Mapping):
            return {_mask_key(k): _mask_value(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [_mask_value(item, depth + 1) for item in value]
        if hasattr(value, "__structlog__"):
            return _mask_value(value.__structlog__(), depth + 1)
    if isinstance(value, bytes | bytearray):
        return mask(bytes(value).decode("utf-8", errors="replace"))
    # Both renderers would print any other object through repr(); do it here instead, so a token
    # inside it (an httpx.URL, an exception passed as a field, a config object) is masked too.
    return mask(repr(value))


def _mask_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Processor: mask secrets in every key and value of the event, recursively."""
    return {mask(key): _mask_value(value) for key, value in event_dict.items()}


_LEADING_KEYS = ("timestamp", "level", "logger", "event")


def _canonical_order(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Processor: timestamp, level, logger and event first, so JSON lines read left to right."""
    leading = {key: event_dict[key] for key in _LEADING_KEYS if key in event_dict}
    leading.update(event_dict)
    return leading


def _strip_event(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Processor: drop the trailing newline warnings.formatwarning and some libraries leave."""
    event = event_dict.get("event")
    if isinstance(event, str):
        event_dict["event"] = event.rstrip()
    return event_dict


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root handler configure_logging installs; its class marks it as ours."""

    def handleError(self, record: logging.LogRecord) -> None:
        # The stdlib's default prints the record's raw message and arguments to stderr, unmasked;
        # say what went wrong without them.
        if not logging.raiseExceptions:
            return
        exc = sys.exc_info()[1]
        sys.stderr.write(
            mask(f"--- logging error in logger {record.name!r}: {exc.__class__.__name__}: {exc}\n")
        )


def _remove_our_handlers(root: logging.Logger) -> None:
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        old.flush()
        root.removeHandler(old)
        old.close()  # unregisters it from logging's shutdown list; the stream stays open


@dataclass
class _SavedState:
    """What configure_logging changed in the stdlib's global state, to put back on reset."""

    root_level: int
    logger_levels: dict[str, int]


_state_lock = threading.Lock()
_saved: _SavedState | None = None


def _level_number(level: str) -> int:
    names = logging.getLevelNamesMapping()
    number = names.get(level.upper())
    if number is None or level.upper() == "NOTSET":
        allowed = "debug, info, warning, error, critical"
        raise ValueError(f"unknown log level {level!r}: use one of {allowed}")
    return number


def _renderer(fmt: Literal["auto", "json", "console"], stream: TextIO) -> Processor:
    if fmt not in ("auto", "json", "console"):
        raise ValueError(f"unknown log format {fmt!r}: use auto, json or console")
    is_tty = bool(getattr(stream, "isatty", lambda: False)())
    if fmt == "json" or (fmt == "auto" and not is_tty):
        return structlog.processors.JSONRenderer()
    # Colours only on a terminal: `docker logs` or a file would show escape codes.
    return structlog.dev.ConsoleRenderer(colors=is_tty)


def _shared_processors() -> list[Processor]:
    """Steps both structlog events and foreign (stdlib) records go through."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
        # Tracebacks become text here, before masking, so a token in an exception message or a
        # traceback line is masked. (Rich's pretty tracebacks would also print frame locals.)
        structlog.processors.format_exc_info,
    ]


def configure_logging(
    *,
    level: str = "info",
    fmt: Literal["auto", "json", "console"] = "auto",
    stream: TextIO | None = None,
    secrets: Iterable[str] = (),
) -> None:
    """Configure structlog and stdlib logging to one stream; calling it again replaces, not adds."""
    global _saved
    number = _level_number(level)
    out = stream if stream is not None else sys.stderr
    renderer = _renderer(fmt, out)
    add_secrets(secrets)

    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_shared_processors(), _strip_event],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _canonical_order,
            _mask_secrets,  # last before rendering, for structlog and stdlib records alike
            renderer,
        ],
    )
    handler = _Handler(out)
    handler.setFormatter(formatter)

    with _state_lock:
        root = logging.getLogger()
        named = (*_ALWAYS_QUIET, *_QUIET_UNLESS_DEBUG)
        if _saved is None:
            _saved = _SavedState(
                root_level=root.level,
                logger_levels={name: logging.getLogger(name).level for name in named},
            )
        _remove_our_handlers(root)
        root.addHandler(handler)
        root.setLevel(number)
        for name in _ALWAYS_QUIET:
            logging.getLogger(name).setLevel(max(number, logging.WARNING))
        for name in _QUIET_UNLESS_DEBUG:
            quiet = number > logging.DEBUG
            logging.getLogger(name).setLevel(
                max(number, logging.WARNING) if quiet else logging.NOTSET
            )
        # warnings.warn (a connector plugin that fails to import, a deprecation) joins the log.
        logging.captureWarnings(True)

        structlog.configure(
            processors=[
                structlog.stdlib.filter_by_level,
                structlog.stdlib.PositionalArgumentsFormatter(),
                *_shared_processors(),
                structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
            ],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            # Not cached: module-level loggers created at import time must follow a later
            # reconfiguration (the CLI configures after parsing --log-level; tests reconfigure).
            # The log volume of a scheduler daemon makes the saving irrelevant.
            cache_logger_on_first_use=False,
        )


def reset_logging() -> None:
    """Undo configure_logging and forget every secret (for tests)."""
    global _saved
    with _state_lock:
        root = logging.getLogger()
        _remove_our_handlers(root)
        if _saved is not None:
            root.setLevel(_saved.root_level)
            for name, number in _saved.logger_levels.items():
                logging.getLogger(name).setLevel(number)
            _saved = None
        logging.captureWarnings(False)
        structlog.reset_defaults()
        _secrets.clear()


def get_logger(name: str | None = None, **initial: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger named ``name`` (default: the caller's module), with bound fields."""
    if name is None:
        # Name it now rather than letting the factory inspect the stack at first use.
        name = sys._getframe(1).f_globals.get("__name__", "collector")
    return structlog.stdlib.get_logger(name, **initial)

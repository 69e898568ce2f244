"""Logging: one format for structlog and stdlib records, and no registered secret ever printed."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import structlog

from collector.logs import add_secrets, configure_logging, get_logger, mask, reset_logging

# Characters that URL encoding changes, so the encoded form differs from the raw one.
SECRET = "AIzaSy-s3cr/t+key=42"
ENCODED_SECRET = quote(SECRET, safe="")


class TTYStream(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Leave structlog, the root logger and the secret registry as the test found them."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    reset_logging()
    structlog.contextvars.clear_contextvars()
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def assert_masked(output: str) -> None:
    assert SECRET not in output
    assert ENCODED_SECRET not in output
    assert "***" in output


def test_lines_are_json_when_the_stream_is_not_a_terminal(stream: io.StringIO) -> None:
    configure_logging(stream=stream)
    get_logger("collector.test").info("collected", accounts=3)
    logging.getLogger("collector.stdlib").warning("slow response")

    records = lines(stream)
    assert [r["event"] for r in records] == ["collected", "slow response"]
    for record in records:
        assert {"event", "level", "timestamp", "logger"} <= record.keys()
        assert record["timestamp"].endswith("Z")  # ISO 8601, UTC
    assert records[0]["accounts"] == 3
    assert records[1]["level"] == "warning"


def test_console_rendering_on_a_terminal(stream: io.StringIO) -> None:
    tty = TTYStream()
    configure_logging(stream=tty)
    get_logger("collector.test").info("collected")

    output = tty.getvalue()
    assert "collected" in output
    assert "\x1b[" in output  # colours
    with pytest.raises(json.JSONDecodeError):
        json.loads(output)


def test_json_format_is_forced_even_on_a_terminal() -> None:
    tty = TTYStream()
    configure_logging(stream=tty, fmt="json")
    get_logger("collector.test").info("collected")

    assert json.loads(tty.getvalue())["event"] == "collected"


def test_context_bound_per_task_appears_on_structlog_and_stdlib_lines(
    stream: io.StringIO,
) -> None:
    configure_logging(stream=stream)
    structlog.contextvars.bind_contextvars(platform="youtube", run_id=7)
    get_logger("collector.test").info("dispatch")
    logging.getLogger("apscheduler.scheduler").warning("job missed")

    for record in lines(stream):
        assert (record["platform"], record["run_id"]) == ("youtube", 7)


def test_secret_in_the_event_is_masked(stream: io.StringIO) -> None:
    configure_logging(stream=stream, secrets=[SECRET])
    get_logger("collector.test").info(f"using key {SECRET}")

    assert_masked(stream.getvalue())
    assert lines(stream)[0]["event"] == "using key ***"


def test_secret_in_a_nested_field_is_masked(stream: io.StringIO) -> None:
    configure_logging(stream=stream, secrets=[SECRET])
    request = {"headers": {"Authorization": f"Bearer {SECRET}"}, "params": [("key", SECRET)]}
    get_logger("collector.test").info("request", request=request)

    assert_masked(stream.getvalue())
    assert lines(stream)[0]["request"] == {
        "headers": {"Authorization": "Bearer ***"},
        "params": [["key", "***"]],
    }


def test_secret_in_an_exception_and_its_traceback_is_masked(stream: io.StringIO) -> None:
    configure_logging(stream=stream, secrets=[SECRET])
    try:
        raise PermissionError(f"401 for token {SECRET}")
    except PermissionError:
        get_logger("collector.test").exception("fetch failed")

    assert_masked(stream.getvalue())
    exception = lines(stream)[0]["exception"]
    assert exception.startswith("Traceback (most recent call last):")
    assert "PermissionError: 401 for token ***" in exception


def test_secret_in_a_stdlib_logger_message_is_masked(stream: io.StringIO) -> None:
    configure_logging(stream=stream, secrets=[SECRET])
    logging.getLogger("collector.plain").error("retrying with %s", SECRET)

    assert_masked(stream.getvalue())


def test_secret_in_an_httpx_warning_is_masked(stream: io.StringIO) -> None:
    configure_logging(stream=stream, secrets=[SECRET])
    logging.getLogger("httpx").warning("HTTP Request failed: %s", f"?key={SECRET}")

    assert_masked(stream.getvalue())
    assert lines(stream)[0]["logger"] == "httpx"


def test_url_encoded_secret_in_a_url_is_masked(stream: io.StringIO) -> None:
    configure_logging(stream=stream, secrets=[SECRET])
    url = f"https://www.googleapis.com/youtube/v3/channels?id=UC1&key={ENCODED_SECRET}"
    get_logger("collector.test").warning("quota exceeded", url=url)

    assert_masked(stream.getvalue())
    assert lines(stream)[0]["url"].endswith("&key=***")


def test_secret_in_an_exception_passed_as_a_field_is_masked(stream: io.StringIO) -> None:
    configure_logging(stream=stream, secrets=[SECRET])
    get_logger("collector.test").warning("auth failed", error=ValueError(SECRET))

    assert_masked(stream.getvalue())


def test_secrets_added_after_configuration_are_masked(stream: io.StringIO) -> None:
    configure_logging(stream=stream)
    add_secrets([SECRET])
    get_logger("collector.test").info(SECRET)

    assert_masked(stream.getvalue())


def test_short_and_empty_values_are_not_masked(stream: io.StringIO) -> None:
    configure_logging(stream=stream, secrets=["", "abc"])
    get_logger("collector.test").info("abc is not a secret")

    assert lines(stream)[0]["event"] == "abc is not a secret"
    assert mask("abc") == "abc"


def test_mask_replaces_every_occurrence() -> None:
    add_secrets([SECRET])

    assert mask(f"{SECRET}/{ENCODED_SECRET}") == "***/***"


def test_httpx_info_lines_are_suppressed(stream: io.StringIO) -> None:
    configure_logging(stream=stream, level="debug")
    logging.getLogger("httpx").info("HTTP Request: GET https://example.org/?key=unregistered")
    logging.getLogger("httpcore.connection").debug("connect_tcp.started")

    assert stream.getvalue() == ""


def test_alembic_info_lines_are_suppressed_unless_debug(stream: io.StringIO) -> None:
    configure_logging(stream=stream, level="info")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade -> 0001")
    assert stream.getvalue() == ""

    configure_logging(stream=stream, level="debug")
    logging.getLogger("alembic.runtime.migration").info("Running upgrade -> 0001")
    assert [r["event"] for r in lines(stream)] == ["Running upgrade -> 0001"]


def test_level_filters_structlog_and_stdlib_lines(stream: io.StringIO) -> None:
    configure_logging(stream=stream, level="warning")
    get_logger("collector.test").info("hidden")
    logging.getLogger("collector.plain").info("hidden too")
    get_logger("collector.test").warning("shown")

    assert [r["event"] for r in lines(stream)] == ["shown"]


def test_unknown_level_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        configure_logging(level="loud")


def test_configuring_twice_prints_each_line_once(stream: io.StringIO) -> None:
    configure_logging(stream=stream)
    configure_logging(stream=stream)
    get_logger("collector.test").info("once")
    logging.getLogger("collector.plain").warning("once too")

    assert [r["event"] for r in lines(stream)] == ["once", "once too"]


def test_reconfiguring_moves_output_to_the_new_stream(stream: io.StringIO) -> None:
    log = get_logger("collector.test")  # created before configuration, as modules do on import
    configure_logging(stream=io.StringIO())
    configure_logging(stream=stream)
    log.info("here")

    assert [r["event"] for r in lines(stream)] == ["here"]


def test_warnings_are_routed_to_the_log(stream: io.StringIO) -> None:
    configure_logging(stream=stream, secrets=[SECRET])
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn(
            f"connector 'tiktok' failed to import: {SECRET}", RuntimeWarning, stacklevel=1
        )

    (record,) = lines(stream)
    assert record["logger"] == "py.warnings"
    assert record["level"] == "warning"
    assert "RuntimeWarning: connector 'tiktok' failed to import: ***" in record["event"]


def test_get_logger_defaults_to_the_callers_module_and_binds_fields(
    stream: io.StringIO,
) -> None:
    configure_logging(stream=stream)
    get_logger(platform="bluesky").info("tick")

    record = lines(stream)[0]
    assert (record["logger"], record["platform"]) == (__name__, "bluesky")

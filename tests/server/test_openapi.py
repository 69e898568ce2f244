"""The API against its own OpenAPI description: schemathesis generates the requests.

For each operation in ``/openapi.json`` it sends valid and invalid inputs (ids, dates, limits,
statuses) to the ASGI app over a populated SQLite database, and checks every answer: no server
error, the status code and content type documented, the body matching its response model, and
a request without the bearer token refused. The examples per operation are bounded to keep the
suite fast; ``COLLECTOR_API_EXAMPLES`` raises them for a deeper run.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.openapi import from_asgi

from collector.server.app import create_app
from collector.storage.db import make_engine
from tests.conftest import FakeClock
from tests.server.conftest import TOKEN, World, populate

EXAMPLES = int(os.environ.get("COLLECTOR_API_EXAMPLES", "25"))
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
BEARER = {"Authorization": f"Bearer {TOKEN}"}
#: Requests sent per operation, printed at the end (run with -s to see them).
SENT: Counter[str] = Counter()

# schemathesis needs the schema when pytest collects the tests, and its fixture-based loader does
# not run on this pytest; the app is built here over an engine that connects lazily, and the
# module fixture below puts the populated database at its path before any request is made.
_DB_PATH = Path(tempfile.gettempdir()) / f"collector-openapi-{uuid.uuid4().hex}.db"
_ENGINE = make_engine(f"sqlite:///{_DB_PATH}")
# The token is given to schemathesis through the security scheme the description declares, so
# its negative cases can leave it out and check that the API then refuses the request.
_CONFIG = SchemathesisConfig.from_dict({"auth": {"openapi": {"bearer": {"bearer": TOKEN}}}})
schema = from_asgi(
    "/openapi.json",
    create_app(_ENGINE, token=TOKEN, clock=FakeClock(NOW)),
    config=_CONFIG,
    headers=BEARER,
)


@pytest.fixture(scope="module", autouse=True)
def _populated_database(sqlite_template: Path) -> Iterator[World]:
    shutil.copyfile(sqlite_template, _DB_PATH)
    try:
        yield populate(_ENGINE, NOW)
        gets = {k: v for k, v in SENT.items() if k.startswith("GET ")}
        others = sum(SENT.values()) - sum(gets.values())
        print(f"\nschemathesis: {sum(SENT.values())} requests; {gets}; other methods: {others}")
    finally:
        _ENGINE.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{_DB_PATH}{suffix}").unlink(missing_ok=True)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_its_openapi_description_says(
    case: schemathesis.Case[Any],
) -> None:
    SENT[f"{case.method} {case.path}"] += 1
    case.call_and_validate()

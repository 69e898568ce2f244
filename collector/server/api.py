"""The read API: JSON under ``/api/``, CSV exports, ``/healthz``, ``/readyz`` and ``/metrics``.

Every route declares its response model, so ``/openapi.json`` describes exactly what it returns
(the API's tests check the responses against that description). Ids are the database's integer
keys; timestamps are ISO 8601 in UTC.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response
from fastapi.responses import PlainTextResponse, StreamingResponse
from pydantic import BaseModel, BeforeValidator

from collector.server import data
from collector.server.metrics import render
from collector.server.schemas import (
    AccountSummary,
    CampaignSummary,
    CreatorSummary,
    FlagOut,
    FlagStatus,
    Health,
    PostOut,
    Readiness,
    SeriesOut,
)
from collector.server.state import State
from collector.storage.db import current_revision, head_revision

__all__ = ["POST_CSV_COLUMNS", "PROFILE_CSV_COLUMNS", "router"]

router = APIRouter()

#: The CSV exports use ``collector import``'s headers, so an export imports back as it was.
PROFILE_CSV_COLUMNS = (
    "platform",
    "handle",
    "collected_at",
    "followers",
    "following",
    "posts_count",
    "followers_rounded",
)
POST_CSV_COLUMNS = (
    "platform",
    "handle",
    "post_id",
    "published_at",
    "collected_at",
    "views",
    "likes",
    "comments",
    "shares",
    "quotes",
    "saves",
    "kind",
    "url",
    "caption",
)
# PostgreSQL's integer key: a larger id cannot exist, and asking for one must be a 404, not a 500.
_MAX_ID = 2**31 - 1
_CSV_PAGE = 10_000


class Problem(BaseModel):
    """An error, as FastAPI reports it."""

    detail: str


_UNAUTHORISED: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "a bearer token is configured and was not given"}
}
# For routes whose own body is not JSON: say explicitly that their errors are.
_PROBLEM_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_UNAUTHORISED_TEXT: dict[int | str, dict[str, Any]] = {
    401: {"content": _PROBLEM_JSON, "description": "a bearer token is configured and was not given"}
}
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    **_UNAUTHORISED,
    404: {"model": Problem, "description": "no such account"},
}
_CSV: dict[int | str, dict[str, Any]] = {
    **_UNAUTHORISED_TEXT,
    404: {"content": _PROBLEM_JSON, "description": "no such account"},
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV rows"},
}

_ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _iso_8601(value: object) -> object:
    # Pydantic would also read "1700000000" as a Unix time; the API documents ISO 8601 only.
    if isinstance(value, str) and not _ISO_8601.match(value):
        raise ValueError("expected an ISO 8601 date and time, such as 2026-11-02T12:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_8601)]
AccountId = Annotated[int, Path(ge=1, le=_MAX_ID, description="the account's id")]
From = Annotated[
    IsoDateTime | None,
    Query(alias="from", description="from this moment on (ISO 8601; UTC if no offset)"),
]
To = Annotated[
    IsoDateTime | None,
    Query(alias="to", description="up to this moment (ISO 8601; UTC if no offset)"),
]


def _utc(value: datetime | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise HTTPException(422, f"{name} is outside the range of dates") from None


def _not_found() -> HTTPException:
    return HTTPException(404, "no such account")


@router.get(
    "/healthz",
    response_model=Health,
    tags=["operations"],
    summary="The process is alive (never touches the database)",
)
def healthz() -> Health:
    """Liveness: answers as long as the process does."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    tags=["operations"],
    summary="The database answers and its schema is at this version's head",
    responses={**_UNAUTHORISED, 503: {"model": Readiness, "description": "not ready"}},
)
def readyz(state: State, response: Response) -> Readiness:
    """Readiness: 200 when the database is reachable and at head, 503 otherwise."""
    head = head_revision()
    try:
        current = current_revision(state.engine)
    except Exception as exc:
        response.status_code = 503
        return Readiness(
            status="not_ready",
            database="unreachable",
            schema_revision=None,
            head_revision=head,
            problem=f"database unreachable: {exc.__class__.__name__}",
        )
    if current != head:
        response.status_code = 503
        return Readiness(
            status="not_ready",
            database="reachable",
            schema_revision=current,
            head_revision=head,
            problem=f"schema at {current or 'nothing'}, this version reads {head}: "
            "run 'collector db upgrade'",
        )
    return Readiness(
        status="ready",
        database="reachable",
        schema_revision=current,
        head_revision=head,
        problem=None,
    )


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    tags=["operations"],
    summary="Prometheus metrics (text exposition format)",
    responses={
        **_UNAUTHORISED_TEXT,
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}, "description": "metrics"},
    },
)
def metrics(state: State) -> Response:
    """The collector's metrics for Prometheus to scrape."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(render(state.registry), media_type=CONTENT_TYPE_LATEST)


@router.get(
    "/api/creators",
    response_model=list[CreatorSummary],
    tags=["read API"],
    summary="Creators with their accounts, tier, latest counts and open flags",
    responses=_UNAUTHORISED,
)
def api_creators(state: State) -> list[CreatorSummary]:
    """Every creator, by name."""
    return data.creators(state.engine, state.clock())


@router.get(
    "/api/accounts",
    response_model=list[AccountSummary],
    tags=["read API"],
    summary="Every account with its latest counts, whether or not a creator owns it",
    responses=_UNAUTHORISED,
)
def api_accounts(state: State) -> list[AccountSummary]:
    """Every account, by platform and handle."""
    return data.accounts(state.engine, state.clock())


@router.get(
    "/api/accounts/{account_id}",
    response_model=AccountSummary,
    tags=["read API"],
    summary="One account with its latest counts",
    responses=_NOT_FOUND,
)
def api_account(account_id: AccountId, state: State) -> AccountSummary:
    """One account."""
    found = data.account(state.engine, account_id, state.clock())
    if found is None:
        raise _not_found()
    return found


@router.get(
    "/api/accounts/{account_id}/series",
    response_model=SeriesOut,
    tags=["read API"],
    summary="An account's profile snapshots, oldest first",
    responses=_NOT_FOUND,
)
def api_series(
    account_id: AccountId,
    state: State,
    start: From = None,
    end: To = None,
    limit: Annotated[int, Query(ge=1, le=100_000, description="at most this many points")] = 10_000,
) -> SeriesOut:
    """Profile snapshots in [from, to]; ``next_from`` says where the next page starts."""
    found = data.series(
        state.engine,
        account_id,
        start=_utc(start, "from"),
        end=_utc(end, "to"),
        limit=limit,
    )
    if found is None:
        raise _not_found()
    return found


@router.get(
    "/api/accounts/{account_id}/posts",
    response_model=list[PostOut],
    tags=["read API"],
    summary="An account's posts with their latest counts and engagement rates, newest first",
    responses=_NOT_FOUND,
)
def api_posts(
    account_id: AccountId,
    state: State,
    start: From = None,
    end: To = None,
    limit: Annotated[int, Query(ge=1, le=10_000, description="at most this many posts")] = 1000,
) -> list[PostOut]:
    """Posts published in [from, to]."""
    if not data.account_exists(state.engine, account_id):
        raise _not_found()
    return data.posts(
        state.engine, account_id, start=_utc(start, "from"), end=_utc(end, "to"), limit=limit
    )


@router.get(
    "/api/flags",
    response_model=list[FlagOut],
    tags=["read API"],
    summary="Flags, as 'collector flags --format json' prints them",
    responses=_UNAUTHORISED,
)
def api_flags(
    state: State,
    status: Annotated[FlagStatus | None, Query(description="only flags in this status")] = None,
) -> list[FlagOut]:
    """Flags, newest window first."""
    return data.flag_objects(state.engine, status=status)


@router.get(
    "/api/campaigns",
    response_model=list[CampaignSummary],
    tags=["read API"],
    summary="Campaigns with their creators, costs and returns",
    responses=_UNAUTHORISED,
)
def api_campaigns(state: State) -> list[CampaignSummary]:
    """Every campaign; a figure whose inputs are missing is null."""
    return data.campaigns(state.engine, state.clock())


# -- CSV ---------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    """One CSV cell: ISO timestamps, empty for unknown, no spreadsheet formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = str(value)
    # Captions are written by strangers: a cell starting like a formula would run in a
    # spreadsheet (CSV injection), so it is quoted as text, as OWASP advises.
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _csv_lines(rows: Iterator[list[object]], header: tuple[str, ...]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for i, row in enumerate(rows, 1):
        writer.writerow([_cell(v) for v in row])
        if i % 1000 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _filename(platform: str, handle: str, what: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{platform}-{handle}").strip("._") or "account"
    return f"{safe}-{what}.csv"


def _csv_response(lines: Iterator[str], filename: str) -> StreamingResponse:
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/api/accounts/{account_id}/series.csv",
    response_class=StreamingResponse,
    tags=["read API"],
    summary="An account's profile snapshots as CSV (the header of 'collector import')",
    responses=_CSV,
)
def api_series_csv(
    account_id: AccountId, state: State, start: From = None, end: To = None
) -> StreamingResponse:
    """Every profile snapshot in [from, to], oldest first, streamed."""
    first = data.series(
        state.engine, account_id, start=_utc(start, "from"), end=_utc(end, "to"), limit=_CSV_PAGE
    )
    if first is None:
        raise _not_found()
    until = _utc(end, "to")

    def rows() -> Iterator[list[object]]:
        page: SeriesOut | None = first
        while page is not None:
            for p in page.points:
                yield [
                    page.platform,
                    page.handle,
                    p.collected_at,
                    p.followers,
                    p.following,
                    p.posts_count,
                    p.followers_rounded,
                ]
            if page.next_from is None:
                return
            page = data.series(
                state.engine, account_id, start=page.next_from, end=until, limit=_CSV_PAGE
            )

    return _csv_response(
        _csv_lines(rows(), PROFILE_CSV_COLUMNS), _filename(first.platform, first.handle, "series")
    )


@router.get(
    "/api/accounts/{account_id}/posts.csv",
    response_class=StreamingResponse,
    tags=["read API"],
    summary="An account's posts with their latest counts as CSV (the header of 'collector import')",
    responses=_CSV,
)
def api_posts_csv(
    account_id: AccountId, state: State, start: From = None, end: To = None
) -> StreamingResponse:
    """Every post published in [from, to] that has counts, oldest first."""
    found = data.account(state.engine, account_id, state.clock())
    if found is None:
        raise _not_found()
    posts = data.posts(
        state.engine, account_id, start=_utc(start, "from"), end=_utc(end, "to"), limit=10**9
    )

    def rows() -> Iterator[list[object]]:
        for p in reversed(posts):
            if p.collected_at is None:
                continue  # a post never counted has no snapshot to export
            yield [
                found.platform,
                found.handle,
                p.platform_post_id,
                p.published_at,
                p.collected_at,
                p.views,
                p.likes,
                p.comments,
                p.shares,
                p.quotes,
                p.saves,
                p.kind,
                p.url,
                p.caption,
            ]

    return _csv_response(
        _csv_lines(rows(), POST_CSV_COLUMNS), _filename(found.platform, found.handle, "posts")
    )

"""``collector import``: profile or post snapshots from CSV files, all of a file or nothing.

The two formats are a public contract (users' scripts write them)::

    platform,handle,collected_at,followers,following,posts_count[,followers_rounded]
    platform,handle,post_id,published_at,collected_at,views,likes,comments,shares
        [,quotes,saves,kind,url,caption]

The header says which kind a file is; its columns may come in any order. A file is read and
checked whole before anything touches the database, so every bad row is reported at once, by the
physical line it starts on, and a file with any bad row imports nothing. The good files are then
written one transaction each with the idempotent upserts of :mod:`collector.storage.repo`, so
importing a file again changes nothing.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from collector.storage import repo
from collector.storage.types import to_utc
from connectors import registry

__all__ = [
    "GENERIC_PLATFORM",
    "POST_COLUMNS",
    "POST_OPTIONAL_COLUMNS",
    "PROFILE_COLUMNS",
    "PROFILE_OPTIONAL_COLUMNS",
    "ImportFailed",
    "ImportResult",
    "RowProblem",
    "import_file",
    "import_files",
]

Kind = Literal["profile", "post"]

PROFILE_COLUMNS = ("platform", "handle", "collected_at", "followers", "following", "posts_count")
PROFILE_OPTIONAL_COLUMNS = ("followers_rounded",)
POST_COLUMNS = (
    "platform",
    "handle",
    "post_id",
    "published_at",
    "collected_at",
    "views",
    "likes",
    "comments",
    "shares",
)
POST_OPTIONAL_COLUMNS = ("quotes", "saves", "kind", "url", "caption")

#: The platform of rows that came from elsewhere (a spreadsheet, another tool); any installed
#: platform's name is accepted too, so imported history joins the series the daemon collects.
GENERIC_PLATFORM = "csv"

# Enough for a person to see the pattern; the rest is a count.
MAX_SHOWN_PROBLEMS = 20
# A file where every one of millions of rows is bad must not hold millions of problems in memory.
MAX_KEPT_PROBLEMS = 1000
# Often enough for a smooth progress bar, rare enough to cost nothing.
PROGRESS_EVERY_ROWS = 5000
# The columns are BIGINT: a larger count would fail in the database, half-way through a file.
_MAX_COUNT = 2**63 - 1
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0", ""})

_SHAPES: dict[Kind, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "profile": (PROFILE_COLUMNS, PROFILE_OPTIONAL_COLUMNS),
    "post": (POST_COLUMNS, POST_OPTIONAL_COLUMNS),
}


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with a file: its physical line (1 is the header; 0 the whole file)."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line else []
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class ImportFailed(Exception):
    """A file was rejected; nothing from it was written.

    ``problems`` holds the first :data:`MAX_KEPT_PROBLEMS` problems in file order and ``total``
    counts all of them.
    """

    def __init__(
        self, path: Path, problems: Sequence[RowProblem], total: int | None = None
    ) -> None:
        self.path = path
        self.problems = list(problems)
        self.total = len(self.problems) if total is None else total
        super().__init__(str(self))

    def __str__(self) -> str:
        noun = "problem" if self.total == 1 else "problems"
        lines = [f"{self.path}: {self.total} {noun}; nothing was imported from this file."]
        lines.extend(f"  {problem}" for problem in self.problems[:MAX_SHOWN_PROBLEMS])
        hidden = self.total - min(len(self.problems), MAX_SHOWN_PROBLEMS)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more.")
        return "\n".join(lines)


@dataclass(frozen=True)
class ImportResult:
    """What one imported file added: ``rows`` counts its data rows, blank lines excluded."""

    path: Path
    kind: Kind
    rows: int
    accounts_created: int
    seconds: float


#: Called every few thousand rows with how many rows have been read and checked so far (by
#: :func:`import_files`, over all its files), and once more when a file is stored.
Progress = Callable[[int], None]


def import_file(
    engine: Engine, path: Path, *, now: datetime, progress: Progress | None = None
) -> ImportResult:
    """Import one CSV file in one transaction; on any bad row raise ImportFailed, write nothing."""
    started = time.perf_counter()
    parsed = _parse_file(path, progress)
    try:
        with engine.begin() as conn:
            if isinstance(parsed, _ProfileFile):
                created = _write_profiles(conn, parsed, now=now)
            else:
                created = _write_posts(conn, parsed, now=now)
    except SQLAlchemyError as exc:
        # The transaction rolled back, so the promise "nothing from this file" still holds.
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        message = f"storing the rows failed in the database ({type(exc).__name__}: {detail})."
        raise ImportFailed(path, [RowProblem(0, None, message)]) from exc
    if progress is not None:
        progress(parsed.rows)
    return ImportResult(
        path=path,
        kind=parsed.kind,
        rows=parsed.rows,
        accounts_created=created,
        seconds=time.perf_counter() - started,
    )


def import_files(
    engine: Engine,
    paths: Iterable[Path],
    *,
    now: datetime,
    progress: Progress | None = None,
) -> tuple[list[ImportResult], list[ImportFailed]]:
    """Import each file on its own: a rejected file leaves the others imported."""
    imported: list[ImportResult] = []
    failed: list[ImportFailed] = []
    tally = None if progress is None else _Tally(progress)
    for path in paths:
        try:
            imported.append(import_file(engine, path, now=now, progress=tally))
        except ImportFailed as exc:
            failed.append(exc)
        if tally is not None:
            tally.next_file()
    return imported, failed


class _Tally:
    """One rising count over all files, so a progress bar never goes back."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.done = 0
        self.current = 0

    def __call__(self, rows: int) -> None:
        self.current = rows
        self.progress(self.done + rows)

    def next_file(self) -> None:
        self.done += self.current
        self.current = 0


# --- reading and checking --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _ProfileRow:
    platform: str
    handle: str
    collected_at: datetime
    followers: int | None
    following: int | None
    posts_count: int | None
    followers_rounded: bool


@dataclass(frozen=True, slots=True)
class _PostRow:
    platform: str
    handle: str
    post_id: str
    published_at: datetime
    collected_at: datetime
    kind: str | None
    url: str | None
    caption: str | None
    views: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    quotes: int | None
    saves: int | None


@dataclass(frozen=True, slots=True)
class _ProfileFile:
    kind: Literal["profile"]
    rows: int
    snapshots: list[_ProfileRow]


@dataclass(frozen=True, slots=True)
class _PostFile:
    kind: Literal["post"]
    rows: int
    snapshots: list[_PostRow]


class _Problems:
    """Collects a file's problems, keeping a bounded number of them."""

    def __init__(self) -> None:
        self.kept: list[RowProblem] = []
        self.total = 0

    def add(self, line: int, column: str | None, message: str) -> None:
        self.total += 1
        if len(self.kept) < MAX_KEPT_PROBLEMS:
            self.kept.append(RowProblem(line, column, message))

    def fail(self, path: Path) -> ImportFailed:
        return ImportFailed(path, self.kept, self.total)


class _NotUTF8(Exception):
    def __init__(self, line: int, byte: int) -> None:
        super().__init__(line, byte)
        self.line = line
        self.byte = byte


def _decoded_lines(stream: BinaryIO) -> Iterator[str]:
    # Decoding line by line (a UTF-8 sequence never contains a newline byte) pins a bad byte to
    # its physical line, which a decoder reading 8 KB blocks cannot do.
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _NotUTF8(number, raw[exc.start]) from None


def _shown(cell: str) -> str:
    text = cell if len(cell) <= 40 else cell[:37] + "..."
    return repr(text)


def _parse_file(path: Path, progress: Progress | None) -> _ProfileFile | _PostFile:
    problems = _Problems()
    try:
        stream = path.open("rb")
    except OSError as exc:
        problems.add(0, None, f"the file cannot be read ({exc.strerror or exc}).")
        raise problems.fail(path) from None
    with stream:
        # strict: an unclosed quote must be an error, not a caption that swallows the file.
        reader = csv.reader(_decoded_lines(stream), strict=True)
        parsed: _ProfileFile | _PostFile | None = None
        try:
            parsed = _parse_rows(reader, problems, progress)
        except _NotUTF8 as exc:
            problems.add(
                exc.line,
                None,
                f"the file is not UTF-8 text (byte 0x{exc.byte:02x} is not valid UTF-8); save it "
                "as UTF-8 (in Excel: 'CSV UTF-8') and import it again.",
            )
        except csv.Error as exc:
            problems.add(1, None, _csv_error_message(exc, 1))
        except OSError as exc:
            problems.add(0, None, f"the file cannot be read ({exc.strerror or exc}).")
    if problems.total or parsed is None:
        raise problems.fail(path)
    return parsed


def _csv_error_message(exc: csv.Error, line: int) -> str:
    reason = str(exc)
    if reason.startswith("unexpected end of data"):
        return f"a quoted cell opened on line {line} is never closed."
    if reason.startswith("',' expected after"):
        return (
            "a quoted cell is followed by more text before the next comma; inside a quoted "
            'cell, write a quote as two quotes ("").'
        )
    if reason.startswith("new-line character seen"):
        return (
            "the lines end with a lone carriage return (an old Mac format); save the file "
            "with ordinary line endings."
        )
    return f"the CSV cannot be read ({reason})."


def _parse_rows(
    reader: Any, problems: _Problems, progress: Progress | None
) -> _ProfileFile | _PostFile | None:
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        what = "the file is empty" if header is None else "the first line is blank"
        problems.add(
            1,
            None,
            f"{what}; the first line must be a header, either "
            f"{','.join(PROFILE_COLUMNS)} or {','.join(POST_COLUMNS)}.",
        )
        return None
    shape = _read_header(header, problems)
    if shape is None:
        return None
    kind, columns = shape
    platforms = frozenset([*registry.available(), GENERIC_PLATFORM])
    cells = _Cells(problems, platforms)
    if kind == "profile":
        profiles = _read_profiles(reader, columns, cells, progress)
        return _ProfileFile("profile", cells.rows, profiles)
    posts = _read_posts(reader, columns, cells, progress)
    return _PostFile("post", cells.rows, posts)


def _read_header(header: list[str], problems: _Problems) -> tuple[Kind, dict[str, int]] | None:
    names = [cell.strip().lower() for cell in header]
    if len(names) == 1 and ";" in names[0]:
        problems.add(
            1,
            None,
            "the columns are separated by ';'; Collector reads comma-separated files (in Excel: "
            "save as 'CSV UTF-8 (comma delimited)').",
        )
        return None
    overlap = {
        kind: len(set(names) & (set(required) | set(optional)) - {"platform", "handle"})
        for kind, (required, optional) in _SHAPES.items()
    }
    if overlap["profile"] == overlap["post"]:
        problems.add(
            1,
            None,
            "the header is neither a profile header "
            f"({','.join(PROFILE_COLUMNS)}) nor a post header ({','.join(POST_COLUMNS)}).",
        )
        return None
    kind: Kind = "profile" if overlap["profile"] > overlap["post"] else "post"
    required, optional = _SHAPES[kind]
    columns: dict[str, int] = {}
    ok = True
    for index, name in enumerate(names):
        if not name:
            problems.add(1, None, f"column {index + 1} of the header has no name.")
            ok = False
        elif name in columns:
            problems.add(1, name, "appears twice in the header.")
            ok = False
        elif name not in required and name not in optional:
            allowed = ", ".join((*required, *optional))
            problems.add(1, name, f"is not a {kind} column (a {kind} file has: {allowed}).")
            ok = False
        else:
            columns[name] = index
    missing = [name for name in required if name not in columns]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        problems.add(
            1,
            None,
            f"this {kind} file's header lacks the required {noun} {', '.join(missing)} "
            f"(a {kind} header is {','.join(required)}).",
        )
        ok = False
    return (kind, columns) if ok else None


class _Cells:
    """Reads typed values out of cells, recording a problem for each bad one."""

    def __init__(self, problems: _Problems, platforms: frozenset[str]) -> None:
        self.problems = problems
        self.platforms = platforms
        self.rows = 0
        # Files repeat the same few collection times on every row; parse each once.
        self._timestamps: dict[str, datetime | None] = {}

    def platform(self, line: int, cell: str) -> str | None:
        name = cell.strip().lower()
        if name in self.platforms:
            return name
        allowed = ", ".join(sorted(self.platforms))
        if not name:
            self.problems.add(line, "platform", f"is empty (allowed: {allowed}).")
        else:
            self.problems.add(
                line,
                "platform",
                f"{_shown(cell.strip())} is not a known platform (allowed: {allowed}).",
            )
        return None

    def handle(self, line: int, cell: str) -> str | None:
        handle = cell.strip()
        handle = handle[1:].strip() if handle.startswith("@") else handle
        if not handle:
            self.problems.add(line, "handle", "is empty.")
            return None
        return self.optional_text(line, "handle", handle, strip=False)

    def text(self, line: int, column: str, cell: str) -> str | None:
        value = cell.strip()
        if not value:
            self.problems.add(line, column, "is empty.")
            return None
        return self.optional_text(line, column, value, strip=False)

    def optional_text(self, line: int, column: str, cell: str, *, strip: bool) -> str | None:
        value = cell.strip() if strip else cell
        # PostgreSQL cannot store a NUL character; rejecting it here keeps both backends alike.
        if "\x00" in value:
            self.problems.add(line, column, "contains a NUL character.")
            return None
        return value or None

    def timestamp(self, line: int, column: str, cell: str) -> datetime | None:
        value = cell.strip()
        if value in self._timestamps:
            parsed = self._timestamps[value]
        else:
            try:
                parsed = to_utc(datetime.fromisoformat(value)) if value else None
            except ValueError:
                parsed = None
            self._timestamps[value] = parsed
        if parsed is None:
            if not value:
                self.problems.add(line, column, "is empty; every row needs it.")
            else:
                self.problems.add(
                    line,
                    column,
                    f"{_shown(value)} is not an ISO 8601 timestamp (for example "
                    "2026-11-01T12:00:00Z, 2026-11-01T12:00:00+01:00 or 2026-11-01).",
                )
        return parsed

    def count(self, line: int, column: str, cell: str) -> int | None:
        value = cell.strip()
        if not value:
            return None
        if value.isascii() and value.isdigit():
            number = int(value)
            if number <= _MAX_COUNT:
                return number
            self.problems.add(line, column, f"{_shown(value)} is too large to be a count.")
            return None
        if value.startswith("-") and value[1:].isascii() and value[1:].isdigit():
            message = f"{_shown(value)} is negative; counts are zero or more."
        elif "," in value and value.replace(",", "").isascii() and value.replace(",", "").isdigit():
            message = (
                f"{_shown(value)} is not a whole number (write it without thousands separators: "
                f"{value.replace(',', '')})."
            )
        else:
            message = f"{_shown(value)} is not a whole number."
        self.problems.add(line, column, message)
        return None

    def flag(self, line: int, column: str, cell: str) -> bool:
        value = cell.strip().lower()
        if value in _TRUE:
            return True
        if value not in _FALSE:
            self.problems.add(
                line, column, f"{_shown(cell.strip())} is not true or false (or empty for false)."
            )
        return False


def _records(
    reader: Any, width: int, cells: _Cells, progress: Progress | None
) -> Iterator[tuple[int, list[str]]]:
    """Data rows with the physical line they start on; blank rows are skipped."""
    last_line = reader.line_num
    while True:
        line = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # Past a broken quote no cell boundary can be trusted, so checking stops here.
            cells.problems.add(line, None, _csv_error_message(exc, line))
            return
        last_line = reader.line_num
        # Spreadsheets pad the end of a sheet with rows of empty cells.
        if not any(cell.strip() for cell in row):
            continue
        cells.rows += 1
        if progress is not None and cells.rows % PROGRESS_EVERY_ROWS == 0:
            progress(cells.rows)
        if len(row) != width:
            message = f"has {len(row)} cells where the header has {width} columns."
            if last_line > line:
                message += f" A quoted cell opened on line {line} may not be closed."
            cells.problems.add(line, None, message)
            continue
        yield line, row


def _read_profiles(
    reader: Any, columns: dict[str, int], cells: _Cells, progress: Progress | None
) -> list[_ProfileRow]:
    i_platform, i_handle, i_collected, i_followers, i_following, i_posts = (
        columns[name] for name in PROFILE_COLUMNS
    )
    i_rounded = columns.get("followers_rounded")
    problems = cells.problems
    rows: list[_ProfileRow] = []
    seen: dict[tuple[str, str, datetime], tuple[int, _ProfileRow]] = {}
    for line, row in _records(reader, len(columns), cells, progress):
        before = problems.total
        platform = cells.platform(line, row[i_platform])
        handle = cells.handle(line, row[i_handle])
        collected_at = cells.timestamp(line, "collected_at", row[i_collected])
        followers = cells.count(line, "followers", row[i_followers])
        following = cells.count(line, "following", row[i_following])
        posts_count = cells.count(line, "posts_count", row[i_posts])
        rounded = (
            False if i_rounded is None else cells.flag(line, "followers_rounded", row[i_rounded])
        )
        if problems.total > before or platform is None or handle is None or collected_at is None:
            continue
        record = _ProfileRow(
            platform, handle, collected_at, followers, following, posts_count, rounded
        )
        key = (platform, handle, collected_at)
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = (line, record)
            rows.append(record)
        elif earlier[1] != record:
            # Either value could be the true one; storing whichever came last would hide that.
            problems.add(
                line,
                None,
                f"has the same platform, handle and collected_at as line {earlier[0]} but "
                "different counts; keep one of the two rows.",
            )
    return rows


def _read_posts(
    reader: Any, columns: dict[str, int], cells: _Cells, progress: Progress | None
) -> list[_PostRow]:
    index = [columns[name] for name in POST_COLUMNS]
    optional = [columns.get(name) for name in POST_OPTIONAL_COLUMNS]
    problems = cells.problems
    rows: list[_PostRow] = []
    seen: dict[tuple[str, str, str, datetime], tuple[int, _PostRow]] = {}
    for line, row in _records(reader, len(columns), cells, progress):
        before = problems.total
        platform = cells.platform(line, row[index[0]])
        handle = cells.handle(line, row[index[1]])
        post_id = cells.text(line, "post_id", row[index[2]])
        published_at = cells.timestamp(line, "published_at", row[index[3]])
        collected_at = cells.timestamp(line, "collected_at", row[index[4]])
        views, likes, comments, shares = (
            cells.count(line, name, row[i])
            for name, i in zip(POST_COLUMNS[5:], index[5:], strict=True)
        )
        i_quotes, i_saves, i_kind, i_url, i_caption = optional
        quotes = None if i_quotes is None else cells.count(line, "quotes", row[i_quotes])
        saves = None if i_saves is None else cells.count(line, "saves", row[i_saves])
        kind = (
            None if i_kind is None else cells.optional_text(line, "kind", row[i_kind], strip=True)
        )
        url = None if i_url is None else cells.optional_text(line, "url", row[i_url], strip=True)
        # A caption is the creator's text: its spaces and line breaks are kept as written.
        caption = (
            None
            if i_caption is None
            else cells.optional_text(line, "caption", row[i_caption], strip=False)
        )
        if published_at is not None and collected_at is not None and collected_at < published_at:
            problems.add(
                line,
                "collected_at",
                f"{_iso(collected_at)} is earlier than published_at {_iso(published_at)}; a "
                "post cannot be observed before it is published.",
            )
        if (
            problems.total > before
            or platform is None
            or handle is None
            or post_id is None
            or published_at is None
            or collected_at is None
        ):
            continue
        record = _PostRow(
            platform, handle, post_id, published_at, collected_at, kind, url, caption,
            views, likes, comments, shares, quotes, saves,
        )  # fmt: skip
        key = (platform, handle, post_id, collected_at)
        earlier = seen.get(key)
        if earlier is None:
            seen[key] = (line, record)
            rows.append(record)
        elif earlier[1] != record:
            problems.add(
                line,
                None,
                f"has the same platform, handle, post_id and collected_at as line {earlier[0]} "
                "but different values; keep one of the two rows.",
            )
    return rows


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


# --- writing ---------------------------------------------------------------------------------


def _ensure_accounts(
    conn: Connection, keys: Iterable[tuple[str, str]], *, now: datetime
) -> tuple[dict[tuple[str, str], int], int]:
    """Account ids by (platform, handle), creating unknown ones; and how many were created."""
    by_platform: dict[str, set[str]] = {}
    for platform, handle in keys:
        by_platform.setdefault(platform, set()).add(handle)
    ids: dict[tuple[str, str], int] = {}
    created = 0
    for platform, handles in sorted(by_platform.items()):
        known = repo.existing_handles(conn, platform, handles)
        created += len(handles) - len(known)
        found = repo.ensure_accounts(conn, platform, handles, now=now, status="unwatched")
        ids.update(((platform, handle), account_id) for handle, account_id in found.items())
    return ids, created


def _write_profiles(conn: Connection, parsed: _ProfileFile, *, now: datetime) -> int:
    ids, created = _ensure_accounts(
        conn, ((row.platform, row.handle) for row in parsed.snapshots), now=now
    )
    rows = [
        {
            "account_id": ids[(row.platform, row.handle)],
            "collected_at": row.collected_at,
            "followers": row.followers,
            "following": row.following,
            "posts_count": row.posts_count,
            "followers_rounded": row.followers_rounded,
            "followers_hidden": False,
        }
        for row in parsed.snapshots
    ]
    repo.upsert_profile_snapshots(conn, rows)
    return created


def _write_posts(conn: Connection, parsed: _PostFile, *, now: datetime) -> int:
    ids, created = _ensure_accounts(
        conn, ((row.platform, row.handle) for row in parsed.snapshots), now=now
    )
    # A post's details come from its latest observation in the file, as the collector does.
    latest: dict[tuple[int, str], _PostRow] = {}
    for row in parsed.snapshots:
        key = (ids[(row.platform, row.handle)], row.post_id)
        known = latest.get(key)
        if known is None or row.collected_at >= known.collected_at:
            latest[key] = row
    post_ids = repo.upsert_posts_of_accounts(
        conn,
        [
            {
                "account_id": account_id,
                "platform_post_id": post_id,
                "published_at": row.published_at,
                "kind": row.kind,
                "url": row.url,
                "caption": row.caption,
                "first_seen_at": now,
                "last_polled_at": row.collected_at,
            }
            for (account_id, post_id), row in latest.items()
        ],
    )
    rows = [
        {
            "post_id": post_ids[(ids[(row.platform, row.handle)], row.post_id)],
            "collected_at": row.collected_at,
            "views": row.views,
            "likes": row.likes,
            "comments": row.comments,
            "shares": row.shares,
            "quotes": row.quotes,
            "saves": row.saves,
        }
        for row in parsed.snapshots
    ]
    repo.upsert_post_snapshots(conn, rows)
    return created

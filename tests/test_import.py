"""``collector import``: CSV files of profile or post snapshots, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from collector.importer import ImportFailed, import_file, import_files
from collector.storage import repo

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
PROFILE_HEADER = "platform,handle,collected_at,followers,following,posts_count"
POST_HEADER = "platform,handle,post_id,published_at,collected_at,views,likes,comments,shares"
TABLES = ("account", "profile_snapshot", "post", "post_snapshot")


def _write(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return path


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES
        }


def _profiles(engine: Engine) -> list[tuple[Any, ...]]:
    a, p = repo.ACCOUNT, repo.PROFILE_SNAPSHOT
    query = (
        select(a.c.platform, a.c.handle, p.c.collected_at, p.c.followers, p.c.following,
               p.c.posts_count)
        .join(a, a.c.id == p.c.account_id)
        .order_by(a.c.handle, p.c.collected_at)
    )  # fmt: skip
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def _collected_at(engine: Engine) -> list[datetime]:
    with engine.connect() as conn:
        return list(conn.execute(select(repo.PROFILE_SNAPSHOT.c.collected_at)).scalars())


def _failure(engine: Engine, path: Path) -> ImportFailed:
    with pytest.raises(ImportFailed) as caught:
        import_file(engine, path, now=NOW)
    return caught.value


def _profile_file(tmp_path: Path, rows: int, name: str = "profiles.csv") -> Path:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    lines = [
        f"demo,creator{i % 100},{(start + timedelta(hours=i // 100)).isoformat()},{1000 + i},10,5"
        for i in range(rows)
    ]
    return _write(tmp_path, name, PROFILE_HEADER, *lines)


def test_a_profile_file_imports_its_rows_with_exact_values(engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.csv",
        PROFILE_HEADER,
        "demo,salma,2026-11-01T12:00:00Z,15230,310,88",
        "csv,brand,2026-11-01T13:00:00Z,,,",
    )
    result = import_file(engine, path, now=NOW)
    assert (result.kind, result.rows, result.accounts_created) == ("profile", 2, 2)
    assert _profiles(engine) == [
        ("csv", "brand", datetime(2026, 11, 1, 13, tzinfo=UTC), None, None, None),
        ("demo", "salma", datetime(2026, 11, 1, 12, tzinfo=UTC), 15230, 310, 88),
    ]


def test_unknown_accounts_are_created_unwatched_at_now(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, _profile_file(tmp_path, 1), now=NOW)
    with engine.connect() as conn:
        row = conn.execute(select(repo.ACCOUNT.c.status, repo.ACCOUNT.c.added_at)).one()
    assert tuple(row) == ("unwatched", NOW)


def test_a_post_file_creates_posts_and_snapshots_with_null_for_empty_cells(
    engine: Engine, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "posts.csv",
        f"{POST_HEADER},saves,caption",
        "demo,salma,x1,2026-11-01T10:00:00Z,2026-11-01T12:00:00Z,,48,2,0,,Promo code SALMA",
    )
    result = import_file(engine, path, now=NOW)
    p, s = repo.POST, repo.POST_SNAPSHOT
    with engine.connect() as conn:
        post = conn.execute(select(p.c.platform_post_id, p.c.published_at, p.c.caption)).one()
        snapshot = conn.execute(
            select(s.c.views, s.c.likes, s.c.comments, s.c.shares, s.c.quotes, s.c.saves)
        ).one()
    assert (result.kind, result.rows) == ("post", 1)
    assert tuple(post) == ("x1", datetime(2026, 11, 1, 10, tzinfo=UTC), "Promo code SALMA")
    assert tuple(snapshot) == (None, 48, 2, 0, None, None)


def test_the_header_decides_the_kind_whatever_the_column_order(
    engine: Engine, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "reordered.csv",
        "followers,posts_count,handle,following,collected_at,platform",
        "1200,9,salma,40,2026-11-01T12:00:00Z,demo",
    )
    result = import_file(engine, path, now=NOW)
    assert result.kind == "profile"
    assert _profiles(engine) == [
        ("demo", "salma", datetime(2026, 11, 1, 12, tzinfo=UTC), 1200, 40, 9)
    ]


def test_importing_the_same_file_twice_leaves_every_row_count_unchanged(
    engine: Engine, tmp_path: Path
) -> None:
    profiles = _profile_file(tmp_path, 50)
    posts = _write(
        tmp_path,
        "posts.csv",
        POST_HEADER,
        "demo,salma,x1,2026-11-01,2026-11-01T12:00:00Z,100,10,1,0",
        "demo,salma,x1,2026-11-01,2026-11-02T12:00:00Z,200,20,2,0",
        "demo,salma,x2,2026-11-01,2026-11-02T12:00:00Z,50,5,0,0",
    )
    import_files(engine, [profiles, posts], now=NOW)
    before = _counts(engine)
    again, failed = import_files(engine, [profiles, posts], now=NOW)
    assert failed == []
    assert [r.accounts_created for r in again] == [0, 0]
    assert _counts(engine) == before == {
        "account": 51, "profile_snapshot": 50, "post": 2, "post_snapshot": 3,
    }  # fmt: skip


def test_a_bad_number_on_line_5_rejects_the_file_naming_line_5_and_changes_nothing(
    engine: Engine, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "p.csv",
        PROFILE_HEADER,
        "demo,a,2026-11-01,1,1,1",
        "demo,b,2026-11-01,2,2,2",
        "demo,c,2026-11-01,3,3,3",
        "demo,d,2026-11-01,12.5,4,4",
    )
    failure = _failure(engine, path)
    assert [str(p) for p in failure.problems] == [
        "line 5, column followers: '12.5' is not a whole number."
    ]
    assert _counts(engine) == dict.fromkeys(TABLES, 0)


def test_every_bad_row_of_a_file_is_reported(engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.csv",
        PROFILE_HEADER,
        "demo,a,2026-11-01,x,1,1",
        "demo,b,2026-11-01,2,2,2",
        "demo,c,2026-11-01,3,-3,3",
        "demo,d,2026-11-01,4,4,1,200",
    )
    failure = _failure(engine, path)
    assert [(p.line, p.column) for p in failure.problems] == [
        (2, "followers"), (4, "following"), (5, None),
    ]  # fmt: skip
    assert str(failure).splitlines()[0] == (
        f"{path}: 3 problems; nothing was imported from this file."
    )


def test_more_than_twenty_problems_are_summarised(engine: Engine, tmp_path: Path) -> None:
    lines = [f"demo,a{i},2026-11-01,lots,1,1" for i in range(25)]
    failure = _failure(engine, _write(tmp_path, "p.csv", PROFILE_HEADER, *lines))
    shown = str(failure).splitlines()
    assert (failure.total, len(shown), shown[-1]) == (25, 22, "  ... and 5 more.")


def test_a_count_with_a_thousands_separator_is_rejected(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", PROFILE_HEADER, 'demo,a,2026-11-01,"1,200",1,1')
    failure = _failure(engine, path)
    assert str(failure.problems[0]) == (
        "line 2, column followers: '1,200' is not a whole number (write it without thousands "
        "separators: 1200)."
    )


def test_a_bad_timestamp_is_reported(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", PROFILE_HEADER, "demo,a,01/11/2026,1,1,1")
    failure = _failure(engine, path)
    assert (failure.problems[0].line, failure.problems[0].column) == (2, "collected_at")
    assert "'01/11/2026' is not an ISO 8601 timestamp" in failure.problems[0].message


def test_an_unknown_platform_is_reported_with_the_allowed_ones(
    engine: Engine, tmp_path: Path
) -> None:
    path = _write(tmp_path, "p.csv", PROFILE_HEADER, "myspace,a,2026-11-01,1,1,1")
    problem = _failure(engine, path).problems[0]
    assert (problem.line, problem.column) == (2, "platform")
    assert "'myspace' is not a known platform (allowed: " in problem.message
    assert "csv, demo" in problem.message


def test_an_empty_handle_is_reported(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", PROFILE_HEADER, "demo, @ ,2026-11-01,1,1,1")
    assert str(_failure(engine, path).problems[0]) == "line 2, column handle: is empty."


def test_a_header_missing_a_column_is_rejected_naming_it(engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path, "p.csv", "platform,handle,collected_at,followers", "demo,a,2026-11-01,1"
    )
    problem = _failure(engine, path).problems[0]
    assert problem.line == 1
    assert "lacks the required columns following, posts_count" in problem.message


def test_an_unknown_column_is_rejected(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", f"{PROFILE_HEADER},follower", "demo,a,2026-11-01,1,1,1,1")
    problem = _failure(engine, path).problems[0]
    assert (problem.line, problem.column) == (1, "follower")


def test_a_header_of_neither_kind_is_rejected(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", "name,age", "salma,30")
    assert "neither a profile header" in _failure(engine, path).problems[0].message


def test_a_semicolon_separated_file_is_rejected_with_a_hint(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", PROFILE_HEADER.replace(",", ";"), "demo;a;2026-11-01;1;1;1")
    assert "separated by ';'" in _failure(engine, path).problems[0].message


def test_a_row_with_too_few_cells_is_reported(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", PROFILE_HEADER, "demo,a,2026-11-01,1,1,1", "demo,b,2026-11-01")
    assert str(_failure(engine, path).problems[0]) == (
        "line 3: has 3 cells where the header has 6 columns."
    )


def test_timestamps_with_an_offset_are_stored_in_utc(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", PROFILE_HEADER, "demo,a,2026-11-01T12:00:00+01:00,1,1,1")
    import_file(engine, path, now=NOW)
    assert _collected_at(engine) == [datetime(2026, 11, 1, 11, tzinfo=UTC)]


def test_timestamps_without_an_offset_are_utc(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", PROFILE_HEADER, "demo,a,2026-11-01 12:30:00,1,1,1")
    import_file(engine, path, now=NOW)
    assert _collected_at(engine) == [datetime(2026, 11, 1, 12, 30, tzinfo=UTC)]


def test_a_date_alone_means_midnight_utc(engine: Engine, tmp_path: Path) -> None:
    path = _write(tmp_path, "p.csv", PROFILE_HEADER, "demo,a,2026-11-01,1,1,1")
    import_file(engine, path, now=NOW)
    assert _collected_at(engine) == [datetime(2026, 11, 1, tzinfo=UTC)]


def test_a_leading_at_sign_and_spaces_are_stripped_from_handles(
    engine: Engine, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "p.csv",
        PROFILE_HEADER,
        "demo, @salma ,2026-11-01,1,1,1",
        "demo,salma,2026-11-02,2,2,2",
    )
    result = import_file(engine, path, now=NOW)
    with engine.connect() as conn:
        handles = list(conn.execute(select(repo.ACCOUNT.c.handle)).scalars())
    assert (handles, result.accounts_created) == (["salma"], 1)


def test_a_utf8_bom_is_accepted(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(f"\ufeff{PROFILE_HEADER}\r\ndemo,a,2026-11-01,1,1,1\r\n".encode())
    assert import_file(engine, path, now=NOW).rows == 1


def test_a_file_that_is_not_utf8_is_rejected_naming_its_line(
    engine: Engine, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        f"{PROFILE_HEADER}\ndemo,a,2026-11-01,1,1,1\ndemo,café,2026-11-01,1,1,1\n".encode("latin-1")
    )
    problem = _failure(engine, path).problems[0]
    assert problem.line == 3
    assert "not UTF-8" in problem.message
    assert _counts(engine)["account"] == 0


def test_an_empty_file_is_rejected(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "the file is empty" in _failure(engine, path).problems[0].message


def test_a_nul_character_in_a_caption_is_rejected(engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "posts.csv",
        f"{POST_HEADER},caption",
        "demo,a,x1,2026-11-01,2026-11-02,1,1,1,1,a\x00b",
    )
    assert str(_failure(engine, path).problems[0]) == (
        "line 2, column caption: contains a NUL character."
    )


def test_a_header_only_file_imports_no_rows(engine: Engine, tmp_path: Path) -> None:
    result = import_file(engine, _write(tmp_path, "p.csv", POST_HEADER), now=NOW)
    assert (result.kind, result.rows, _counts(engine)) == ("post", 0, dict.fromkeys(TABLES, 0))


def test_a_missing_file_is_reported_as_a_problem(engine: Engine, tmp_path: Path) -> None:
    failure = _failure(engine, tmp_path / "nope.csv")
    assert "the file cannot be read" in str(failure)


def test_a_bad_second_file_leaves_the_first_imported(engine: Engine, tmp_path: Path) -> None:
    good = _write(tmp_path, "good.csv", PROFILE_HEADER, "demo,a,2026-11-01,1,1,1")
    bad = _write(tmp_path, "bad.csv", PROFILE_HEADER, "demo,b,2026-11-01,one,1,1")
    imported, failed = import_files(engine, [good, bad], now=NOW)
    assert ([r.path for r in imported], [f.path for f in failed]) == ([good], [bad])
    assert _counts(engine)["profile_snapshot"] == 1


def test_a_quoted_multiline_caption_keeps_later_line_numbers_right(
    engine: Engine, tmp_path: Path
) -> None:
    path = _write(
        tmp_path,
        "posts.csv",
        f"{POST_HEADER},caption",
        'demo,a,x1,2026-11-01,2026-11-02,1,1,1,1,"Ramadan offer,',
        "three lines,",
        'and ""quotes"""',
        "demo,a,x2,2026-11-01,2026-11-02,1,many,1,1,",
    )
    assert str(_failure(engine, path).problems[0]) == (
        "line 5, column likes: 'many' is not a whole number."
    )


def test_an_unclosed_quote_is_reported_where_it_opens(engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "posts.csv",
        f"{POST_HEADER},caption",
        "demo,a,x1,2026-11-01,2026-11-02,1,1,1,1,fine",
        'demo,a,x2,2026-11-01,2026-11-02,1,1,1,1,"never closed',
        "demo,a,x3,2026-11-01,2026-11-02,1,1,1,1,swallowed",
    )
    assert str(_failure(engine, path).problems[0]) == (
        "line 3: a quoted cell opened on line 3 is never closed."
    )


def test_a_multiline_caption_is_stored_as_written(engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "posts.csv",
        f"{POST_HEADER},caption",
        'demo,a,x1,2026-11-01,2026-11-02,1,1,1,1,"  Ramadan offer,',
        'code ""SALMA"""',
    )
    import_file(engine, path, now=NOW)
    with engine.connect() as conn:
        caption = conn.execute(select(repo.POST.c.caption)).scalar_one()
    assert caption == '  Ramadan offer,\ncode "SALMA"'


def test_a_post_collected_before_it_was_published_is_rejected(
    engine: Engine, tmp_path: Path
) -> None:
    path = _write(
        tmp_path, "posts.csv", POST_HEADER, "demo,a,x1,2026-11-02T10:00:00Z,2026-11-01,1,1,1,1"
    )
    problem = _failure(engine, path).problems[0]
    assert (problem.line, problem.column) == (2, "collected_at")
    assert "earlier than published_at 2026-11-02T10:00:00Z" in problem.message


def test_identical_duplicate_rows_are_stored_once(engine: Engine, tmp_path: Path) -> None:
    row = "demo,a,2026-11-01,1,1,1"
    result = import_file(engine, _write(tmp_path, "p.csv", PROFILE_HEADER, row, row), now=NOW)
    assert (result.rows, _counts(engine)["profile_snapshot"]) == (2, 1)


def test_conflicting_duplicate_rows_are_rejected(engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.csv",
        PROFILE_HEADER,
        "demo,a,2026-11-01T00:00:00Z,1,1,1",
        "demo,@a,2026-11-01,2,1,1",
    )
    assert "same platform, handle and collected_at as line 2" in str(_failure(engine, path))


def test_the_followers_rounded_column_is_stored(engine: Engine, tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "p.csv",
        f"{PROFILE_HEADER},followers_rounded",
        "demo,a,2026-11-01,15200,,,true",
        "demo,a,2026-11-02,15300,,,",
    )
    import_file(engine, path, now=NOW)
    with engine.connect() as conn:
        flags = list(
            conn.execute(
                select(repo.PROFILE_SNAPSHOT.c.followers_rounded).order_by(
                    repo.PROFILE_SNAPSHOT.c.collected_at
                )
            ).scalars()
        )
    assert flags == [True, False]


def test_progress_counts_the_rows_read_up_to_the_file_total(engine: Engine, tmp_path: Path) -> None:
    seen: list[int] = []
    import_file(engine, _profile_file(tmp_path, 12_000), now=NOW, progress=seen.append)
    assert seen == [5_000, 10_000, 12_000]


def test_progress_of_several_files_counts_over_all_of_them(engine: Engine, tmp_path: Path) -> None:
    first = _profile_file(tmp_path, 6_000, "first.csv")
    second = _profile_file(tmp_path, 5_000, "second.csv")
    seen: list[int] = []
    import_files(engine, [first, second], now=NOW, progress=seen.append)
    assert seen == [5_000, 6_000, 11_000, 11_000]


def test_a_10000_row_profile_file_imports(engine: Engine, tmp_path: Path) -> None:
    result = import_file(engine, _profile_file(tmp_path, 10_000), now=NOW)
    assert (result.rows, result.accounts_created) == (10_000, 100)
    assert _counts(engine)["profile_snapshot"] == 10_000

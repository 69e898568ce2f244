"""Conversions CSV: matched to campaigns by code, all of a file or nothing, errors by line."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from collector.campaigns.conversions import import_conversions
from collector.campaigns.sync import CONVERSION
from collector.importer import ImportFailed
from tests.campaigns.conftest import WATCHLIST, build


def rows(engine: Engine) -> list[tuple[str, str, int | None, Decimal | None, str | None]]:
    with engine.connect() as conn:
        return [
            (str(r.occurred_on), r.code, r.orders, r.revenue, r.currency)
            for r in conn.execute(
                select(CONVERSION).order_by(CONVERSION.c.occurred_on, CONVERSION.c.code)
            )
        ]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orders.csv"
    path.write_bytes(text.encode("utf-8"))
    return path


def test_rows_are_imported_under_the_code_as_the_watchlist_spells_it(
    engine: Engine, fixture_db: dict[str, int], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "\ufeffdate,code,orders,revenue,currency\n"
        "2026-11-06,salma10,3,450.5,mad\n"
        "2026-11-07,RAMADAN26,,800,MAD\n"
        "2026-11-08,KARIM10,2,,\n",
    )
    done = import_conversions(engine, path)
    assert (done.rows, done.campaigns) == (3, {"Ramadan 2026": 3})
    assert rows(engine) == [
        ("2026-11-06", "SALMA10", 3, Decimal("450.50"), "MAD"),
        ("2026-11-07", "ramadan26", None, Decimal("800.00"), "MAD"),
        ("2026-11-08", "KARIM10", 2, None, None),
    ]


def test_importing_the_same_file_again_changes_nothing(
    engine: Engine, fixture_db: dict[str, int], tmp_path: Path
) -> None:
    path = write(tmp_path, "date,code,orders,revenue,currency\n2026-11-06,SALMA10,3,450,MAD\n")
    import_conversions(engine, path)
    import_conversions(engine, path)
    assert rows(engine) == [("2026-11-06", "SALMA10", 3, Decimal("450.00"), "MAD")]


def test_a_corrected_file_replaces_the_rows_it_gives(
    engine: Engine, fixture_db: dict[str, int], tmp_path: Path
) -> None:
    import_conversions(
        engine, write(tmp_path, "date,code,orders,revenue,currency\n2026-11-06,SALMA10,3,450,MAD\n")
    )
    import_conversions(
        engine, write(tmp_path, "date,code,orders,revenue,currency\n2026-11-06,SALMA10,4,600,MAD\n")
    )
    assert rows(engine) == [("2026-11-06", "SALMA10", 4, Decimal("600.00"), "MAD")]


def test_every_bad_row_is_reported_by_line_and_nothing_is_imported(
    engine: Engine, fixture_db: dict[str, int], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "date,code,orders,revenue,currency\n"
        "2026-11-06,SALMA10,3,450,MAD\n"
        "06/11/2026,SALMA10,3,450,MAD\n"
        "2026-11-07,NOPE99,1,10,MAD\n"
        "2026-11-08,SALMA10,-1,10,MAD\n"
        "2026-11-09,SALMA10,1,12.345,MAD\n"
        "2026-11-10,SALMA10,1,10,\n"
        "2026-11-11,SALMA10,,,MAD\n"
        "2026-11-06,salma10,1,1,MAD\n",
    )
    with pytest.raises(ImportFailed) as failed:
        import_conversions(engine, path)
    assert [(p.line, p.column) for p in failed.value.problems] == [
        (3, "date"),
        (4, "code"),
        (5, "orders"),
        (6, "revenue"),
        (7, "currency"),
        (8, None),
        (9, None),
    ]
    assert "line 2" in str(failed.value.problems[-1])
    assert rows(engine) == []


def test_a_code_two_campaigns_share_is_told_apart_by_date_or_campaign_column(
    engine: Engine, tmp_path: Path
) -> None:
    watchlist = copy.deepcopy(WATCHLIST)
    watchlist["campaigns"].append(
        {**watchlist["campaigns"][0], "name": "Aid 2027", "start": "2027-03-01", "end": None}
    )
    build(engine, watchlist=watchlist)
    by_date = import_conversions(
        engine,
        write(tmp_path, "date,code,orders,revenue,currency\n2027-03-05,SALMA10,1,10,MAD\n"),
    )
    assert by_date.campaigns == {"Aid 2027": 1}
    with pytest.raises(ImportFailed, match="several campaigns"):
        import_conversions(
            engine,
            write(tmp_path, "date,code,orders,revenue,currency\n2026-12-15,SALMA10,1,10,MAD\n"),
        )
    named = import_conversions(
        engine,
        write(
            tmp_path,
            "date,code,orders,revenue,currency,campaign\n"
            "2026-12-15,SALMA10,1,10,MAD,ramadan 2026\n",
        ),
    )
    assert named.campaigns == {"Ramadan 2026": 1}


def test_a_semicolon_separated_file_is_refused_with_the_fix(
    engine: Engine, fixture_db: dict[str, int], tmp_path: Path
) -> None:
    path = write(tmp_path, "date;code;orders;revenue;currency\n2026-11-06;SALMA10;3;450;MAD\n")
    with pytest.raises(ImportFailed, match="comma delimited"):
        import_conversions(engine, path)


def test_revenue_with_a_decimal_comma_and_spaced_thousands_is_read(
    engine: Engine, fixture_db: dict[str, int], tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        'utm_campaign,date,orders,revenue,currency\nramadan26,2026-11-06,3,"1 234,5",MAD\n',
    )
    import_conversions(engine, path)
    assert rows(engine) == [("2026-11-06", "ramadan26", 3, Decimal("1234.50"), "MAD")]

"""``collector campaigns import-conversions``: orders and revenue from a shop's CSV export.

The format (a public contract, like the snapshot CSVs)::

    date,code,orders,revenue,currency[,campaign]

- ``date``: the day of the orders, ``YYYY-MM-DD``;
- ``code``: a campaign's promo code or the ``utm_campaign`` of one of its links, matched as
  markers are (case, accents and width do not matter); the header may call it ``promo_code`` or
  ``utm_campaign`` instead;
- ``orders``: a whole number, or empty if unknown; ``revenue``: an amount such as ``1234.50``
  (``1234,50`` and spaces between thousands are read too), or empty if unknown; at least one
  of the two; ``currency``: a 3-letter code, required with a revenue;
- ``campaign`` (optional): the campaign's name, needed only when campaigns share a code and
  the date does not tell them apart.

One row per campaign, day and code. A file is checked whole first: every bad row is reported by
its line, and a file with any bad row imports nothing. Importing a file again changes nothing;
importing a corrected one replaces the rows it gives.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from collector.campaigns.attribution import campaign_window
from collector.campaigns.markers import CampaignMarkers, normalise
from collector.campaigns.sync import CAMPAIGN, CONVERSION
from collector.importer import ImportFailed, RowProblem

__all__ = [
    "CONVERSION_COLUMNS",
    "ConversionImport",
    "import_conversions",
]

CONVERSION_COLUMNS = ("date", "code", "orders", "revenue", "currency")
_CODE_ALIASES = ("code", "promo_code", "utm_campaign")
_OPTIONAL = ("campaign",)
_MAX_KEPT = 1000
# The column is NUMERIC(14, 2).
_MAX_REVENUE = Decimal("999999999999.99")
_MAX_ORDERS = 2**31 - 1
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009]")


@dataclass(frozen=True)
class ConversionImport:
    """What one imported file added: rows per campaign name."""

    path: Path
    rows: int
    campaigns: dict[str, int]


@dataclass(frozen=True)
class _Campaign:
    id: int
    name: str
    starts_on: date | None
    ends_on: date | None
    codes: dict[str, str]


@dataclass(frozen=True)
class _Row:
    line: int
    campaign: _Campaign
    occurred_on: date
    code: str
    orders: int | None
    revenue: Decimal | None
    currency: str | None


class _Problems:
    def __init__(self) -> None:
        self.kept: list[RowProblem] = []
        self.total = 0

    def add(self, line: int, column: str | None, message: str) -> None:
        self.total += 1
        if len(self.kept) < _MAX_KEPT:
            self.kept.append(RowProblem(line, column, message))


def import_conversions(engine: Engine, path: Path) -> ConversionImport:
    """Import one conversions CSV in one transaction; on any bad row raise ImportFailed."""
    with engine.connect() as conn:
        campaigns = [
            _Campaign(
                row.id,
                row.name,
                row.starts_on,
                row.ends_on,
                CampaignMarkers.from_json(row.markers or {}, brand=row.brand).codes(),
            )
            for row in conn.execute(
                select(
                    CAMPAIGN.c.id,
                    CAMPAIGN.c.name,
                    CAMPAIGN.c.brand,
                    CAMPAIGN.c.starts_on,
                    CAMPAIGN.c.ends_on,
                    CAMPAIGN.c.markers,
                )
            )
        ]
    problems = _Problems()
    rows = _parse(path, campaigns, problems)
    if problems.total:
        raise ImportFailed(path, problems.kept, problems.total)
    try:
        with engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            for start in range(0, len(rows), 500):
                stmt = dialect.insert(CONVERSION)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["campaign_id", "occurred_on", "code"],
                    set_={
                        "orders": stmt.excluded.orders,
                        "revenue": stmt.excluded.revenue,
                        "currency": stmt.excluded.currency,
                    },
                )
                conn.execute(
                    stmt,
                    [
                        {
                            "campaign_id": row.campaign.id,
                            "occurred_on": row.occurred_on,
                            "code": row.code,
                            "orders": row.orders,
                            "revenue": row.revenue,
                            "currency": row.currency,
                        }
                        for row in rows[start : start + 500]
                    ],
                )
    except SQLAlchemyError as exc:
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        message = f"storing the rows failed in the database ({type(exc).__name__}: {detail})."
        raise ImportFailed(path, [RowProblem(0, None, message)]) from exc
    per_campaign: dict[str, int] = {}
    for row in rows:
        per_campaign[row.campaign.name] = per_campaign.get(row.campaign.name, 0) + 1
    return ConversionImport(path, len(rows), per_campaign)


def _lines(stream: BinaryIO, problems: _Problems) -> Iterator[str]:
    for number, raw in enumerate(stream, start=1):
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.add(
                number,
                None,
                "the file is not UTF-8 text; save it as UTF-8 (in Excel: 'CSV UTF-8') "
                "and import it again.",
            )
            return


def _parse(path: Path, campaigns: Sequence[_Campaign], problems: _Problems) -> list[_Row]:
    try:
        stream = path.open("rb")
    except OSError as exc:
        problems.add(0, None, f"the file cannot be read ({exc.strerror or exc}).")
        return []
    with stream:
        reader = csv.reader(_lines(stream, problems), strict=True)
        try:
            return _read(reader, campaigns, problems)
        except csv.Error as exc:
            problems.add(reader.line_num, None, f"the CSV cannot be read ({exc}).")
            return []


def _header(cells: list[str], problems: _Problems) -> dict[str, int] | None:
    names = [cell.strip().lower() for cell in cells]
    wanted = ",".join(CONVERSION_COLUMNS)
    if len(names) == 1 and ";" in names[0]:
        problems.add(
            1,
            None,
            "the columns are separated by ';'; Collector reads comma-separated files "
            "(in Excel: save as 'CSV UTF-8 (comma delimited)').",
        )
        return None
    columns: dict[str, int] = {}
    ok = True
    for index, name in enumerate(names):
        key = "code" if name in _CODE_ALIASES else name
        if key in columns:
            problems.add(1, name, "appears twice in the header (or with another code column).")
            ok = False
        elif key not in CONVERSION_COLUMNS and key not in _OPTIONAL:
            problems.add(
                1, name or None, f"is not a conversions column (the header is {wanted}[,campaign])."
            )
            ok = False
        else:
            columns[key] = index
    missing = [name for name in CONVERSION_COLUMNS if name not in columns]
    if missing:
        problems.add(1, None, f"the header lacks {', '.join(missing)} (it is {wanted}).")
        ok = False
    return columns if ok else None


def _read(reader: Any, campaigns: Sequence[_Campaign], problems: _Problems) -> list[_Row]:
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        problems.add(1, None, f"the first line must be the header {','.join(CONVERSION_COLUMNS)}.")
        return []
    columns = _header(header, problems)
    if columns is None:
        return []
    if not campaigns:
        problems.add(0, None, "the database has no campaign: sync the watchlist first.")
        return []
    rows: list[_Row] = []
    seen: dict[tuple[int, date, str], int] = {}
    last = reader.line_num
    for cells in reader:
        # The line a row starts on: a quoted cell may span several.
        line, last = last + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(columns):
            problems.add(line, None, f"has {len(cells)} cells where the header has {len(columns)}.")
            continue
        row = _row(line, cells, columns, campaigns, problems)
        if row is None:
            continue
        key = (row.campaign.id, row.occurred_on, row.code)
        if key in seen:
            problems.add(
                line,
                None,
                f"{row.campaign.name!r}, {row.occurred_on}, {row.code} is already given on line "
                f"{seen[key]}; give one row per campaign, day and code.",
            )
            continue
        seen[key] = line
        rows.append(row)
    if not rows and not problems.total:
        problems.add(0, None, "the file has a header but no rows.")
    return rows


def _row(
    line: int,
    cells: list[str],
    columns: dict[str, int],
    campaigns: Sequence[_Campaign],
    problems: _Problems,
) -> _Row | None:
    before = problems.total
    day = _date(line, cells[columns["date"]], problems)
    orders = _orders(line, cells[columns["orders"]], problems)
    revenue = _revenue(line, cells[columns["revenue"]], problems)
    currency = _currency(line, cells[columns["currency"]], revenue is not None, problems)
    raw_code = cells[columns["code"]].strip()
    named = cells[columns["campaign"]].strip() if "campaign" in columns else ""
    if not raw_code:
        problems.add(line, "code", "is empty: give the promo code or the UTM campaign.")
    if orders is None and revenue is None and problems.total == before:
        problems.add(line, None, "gives neither orders nor revenue.")
    if problems.total != before or day is None or not raw_code:
        return None
    found = _campaign_of(line, raw_code, named, day, campaigns, problems)
    if found is None:
        return None
    campaign, code = found
    return _Row(line, campaign, day, code, orders, revenue, currency)


def _campaign_of(
    line: int,
    raw_code: str,
    named: str,
    day: date,
    campaigns: Sequence[_Campaign],
    problems: _Problems,
) -> tuple[_Campaign, str] | None:
    code = normalise(raw_code)
    having = [c for c in campaigns if code in c.codes]
    if named:
        having = [c for c in having if c.name.casefold() == named.casefold()]
        if not having:
            problems.add(
                line, "code", f"{raw_code!r} is not a promo code or UTM campaign of {named!r}."
            )
            return None
    if not having:
        problems.add(
            line,
            "code",
            f"{raw_code!r} is not a promo code or UTM campaign of any campaign in the watchlist.",
        )
        return None
    if len(having) > 1:
        dated = [c for c in having if _within(day, c)]
        if len(dated) != 1:
            names = ", ".join(repr(c.name) for c in having)
            problems.add(
                line,
                "code",
                f"{raw_code!r} belongs to several campaigns ({names}); add a campaign column.",
            )
            return None
        having = dated
    campaign = having[0]
    return campaign, campaign.codes[code]


def _within(day: date, campaign: _Campaign) -> bool:
    start, end = campaign_window(campaign.starts_on, campaign.ends_on)
    return start.date() <= day < end.date()


def _date(line: int, cell: str, problems: _Problems) -> date | None:
    value = cell.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        shown = repr(value) if value else "empty"
        problems.add(line, "date", f"{shown} is not a date: write it as YYYY-MM-DD.")
        return None


def _orders(line: int, cell: str, problems: _Problems) -> int | None:
    value = cell.strip()
    if not value:
        return None
    if value.isascii() and value.isdigit() and int(value) <= _MAX_ORDERS:
        return int(value)
    problems.add(line, "orders", f"{value!r} is not a whole number of orders.")
    return None


def _revenue(line: int, cell: str, problems: _Problems) -> Decimal | None:
    value = _SPACES.sub("", cell)
    if not value:
        return None
    if "," in value and "." not in value and re.fullmatch(r"\d+,\d{1,2}", value):
        value = value.replace(",", ".")
    if not re.fullmatch(r"\d+(?:\.\d{1,2})?", value):
        problems.add(
            line,
            "revenue",
            f"{cell.strip()!r} is not an amount: write it like 1234.50, without a currency sign "
            "or thousands separators.",
        )
        return None
    amount = Decimal(value)
    if amount > _MAX_REVENUE:
        problems.add(line, "revenue", f"{cell.strip()!r} is too large.")
        return None
    return amount


def _currency(line: int, cell: str, required: bool, problems: _Problems) -> str | None:
    value = cell.strip().upper()
    if not value:
        if required:
            problems.add(line, "currency", "is empty: a revenue needs its currency (MAD, EUR...).")
        return None
    if len(value) == 3 and value.isascii() and value.isalpha():
        return value
    problems.add(line, "currency", f"{cell.strip()!r} is not a 3-letter currency code.")
    return None

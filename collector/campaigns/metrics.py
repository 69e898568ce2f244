"""What a campaign returned, per creator and in total, and what each figure is computed from.

Every figure is a :class:`Figure`: its value, the formula it comes from, the numbers that went
into it, and — when the value is None — why (:data:`MISSING_REASONS`). A figure whose input is
missing is None, never 0. Sums over posts (views, interactions) and accounts (followers gained)
add what is known and say how much that covers (``complete``); a cost ratio is computed only from
complete inputs, because the cost paid for every post. Money is exact (``Decimal``) and is never
added across different currencies: a total over MAD and EUR is None with the amount per currency
in its inputs, and ROI needs revenue and cost in the same currency.

Definitions (the README's engagement rate, used everywhere):

- **posts**: the campaign's posts (:mod:`collector.campaigns.attribution`) — a count, never None;
- **views**, **interactions**: sums of each post's latest counts; interactions are likes +
  comments + shares + saves, each where the platform publishes it;
- **engagement_rate_by_followers**: the mean over posts of interactions / followers at
  publication (``post_latest.engagement_rate_by_followers``);
- **engagement_rate_by_views**: total interactions / total views over posts publishing both;
- **followers_gained**: per account carrying a campaign post, followers at the campaign's end
  (or now, if sooner) minus followers at its start — the last snapshots at or before each;
- **cost**: from the watchlist; **cost_per_engagement** = cost / interactions,
  **cost_per_view** = cost / views, **cost_per_follower_gained** = cost / followers gained;
- with conversions: **orders**, **revenue**, **roi** = (revenue − cost) / cost,
  **cost_per_order** = cost / orders. A creator's conversions are those of the promo codes and
  UTM campaigns found in their own campaign posts and in no other creator's; a code several
  creators share counts for the campaign only.

Campaign totals cover every campaign post, paid or not (an unpaid creator's post with the brand's
hashtag is something the campaign earned), and the cost of every paid creator.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Literal

from sqlalchemy import JSON, bindparam, select, text
from sqlalchemy.engine import Connection, Engine

from collector.campaigns.attribution import campaign_window
from collector.campaigns.disclosure import find_disclosure
from collector.campaigns.markers import normalise, utm_campaign
from collector.campaigns.sync import CAMPAIGN, CAMPAIGN_CREATOR, CONVERSION, CREATOR
from collector.storage.types import UTCDateTime, to_utc
from connectors.http import utcnow

__all__ = [
    "MISSING_REASONS",
    "CampaignPostRow",
    "CampaignSummary",
    "CreatorMetrics",
    "Figure",
    "Figures",
    "campaign_summaries",
    "campaign_summary",
    "creator_metrics",
]

Clock = Callable[[], datetime]
Status = Literal["upcoming", "running", "ended"]

#: Why a figure is None.
MISSING_REASONS: Mapping[str, str] = {
    "no_posts": "no campaign post yet",
    "not_published": "the platform does not publish this count for these posts",
    "incomplete": "known for only some of the posts or accounts the cost covers",
    "zero": "the divisor is zero",
    "no_start": "the campaign has no start date",
    "not_started": "the campaign has not started",
    "no_snapshot_before_start": "no follower count before the campaign started",
    "no_snapshot_since_start": "no follower count since the campaign started",
    "no_followers_gained": "no followers were gained",
    "not_paid": "this creator is not paid by the campaign",
    "no_paid_creators": "the campaign lists no paid creator",
    "cost_not_given": "the watchlist gives no cost",
    "mixed_currencies": "amounts in different currencies are not added",
    "currency_mismatch": "revenue and cost are in different currencies",
    "no_conversions": "no conversions imported",
    "conversions_not_attributable": (
        "none of the imported codes appears only in this creator's posts"
    ),
}

_MONEY_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Figure:
    """A number and what it is computed from; ``missing`` says why ``value`` is None."""

    value: int | float | Decimal | None
    formula: str
    inputs: Mapping[str, Any] = field(default_factory=dict)
    missing: str | None = None
    #: False when the value covers only some of the posts or accounts it should.
    complete: bool = True
    #: The currency of a money figure.
    unit: str | None = None

    def as_json(self) -> dict[str, Any]:
        """JSON-ready: Decimal as a string (exact), dates as ISO 8601."""
        return {
            "value": _jsonable(self.value),
            "formula": self.formula,
            "inputs": _jsonable(self.inputs),
            "missing": self.missing,
            "complete": self.complete,
            "unit": self.unit,
        }


def _none(formula: str, missing: str, **inputs: Any) -> Figure:
    return Figure(None, formula, inputs, missing=missing)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Figures:
    """The figures of one creator in a campaign, or of the whole campaign."""

    posts: int
    undisclosed_posts: int
    views: Figure
    interactions: Figure
    engagement_rate_by_followers: Figure
    engagement_rate_by_views: Figure
    followers_gained: Figure
    cost: Figure
    cost_per_engagement: Figure
    cost_per_view: Figure
    cost_per_follower_gained: Figure
    orders: Figure
    revenue: Figure
    roi: Figure
    cost_per_order: Figure

    def as_json(self) -> dict[str, Any]:
        """Every figure as JSON."""
        result: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            result[item.name] = value.as_json() if isinstance(value, Figure) else value
        return result


@dataclass(frozen=True)
class CampaignPostRow:
    """One campaign post with its latest counts and how it came into the campaign."""

    post_id: int
    account_id: int
    platform: str
    handle: str
    creator_id: int | None
    creator_name: str | None
    platform_post_id: str
    published_at: datetime
    url: str | None
    caption: str | None
    source: str
    matched: tuple[dict[str, str], ...]
    views: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    saves: int | None
    interactions: int | None
    followers_at_publication: int | None
    engagement_rate_by_followers: float | None
    engagement_rate_by_views: float | None
    disclosure: str | None

    def as_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {item.name: _jsonable(getattr(self, item.name)) for item in fields(self)}


class _Value:
    """A read-only attribute giving one figure's bare value (for flat readers such as APIs)."""

    def __init__(self, figure: str) -> None:
        self.figure = figure

    def __get__(self, owner: Any, kind: type | None = None) -> Any:
        figures = owner._figures()
        value = getattr(figures, self.figure)
        return value.value if isinstance(value, Figure) else value


class _FlatValues:
    """``x.views`` for ``x.<figures>.views.value``, and so on for every figure."""

    posts = _Value("posts")
    undisclosed_posts = _Value("undisclosed_posts")
    views = _Value("views")
    interactions = _Value("interactions")
    engagement_rate = _Value("engagement_rate_by_followers")
    engagement_rate_by_followers = _Value("engagement_rate_by_followers")
    engagement_rate_by_views = _Value("engagement_rate_by_views")
    followers_gained = _Value("followers_gained")
    cost = _Value("cost")
    cost_per_engagement = _Value("cost_per_engagement")
    cost_per_view = _Value("cost_per_view")
    cost_per_follower_gained = _Value("cost_per_follower_gained")
    orders = _Value("orders")
    revenue = _Value("revenue")
    roi = _Value("roi")
    cost_per_order = _Value("cost_per_order")

    def _figures(self) -> Figures:
        raise NotImplementedError

    @property
    def currency(self) -> str | None:
        """The currency of the cost (None if mixed or not given)."""
        return self._figures().cost.unit


@dataclass(frozen=True)
class CreatorMetrics(_FlatValues):
    """One creator's part of one campaign."""

    campaign_id: int
    campaign_name: str
    creator_id: int | None
    name: str
    paid: bool
    accounts: tuple[tuple[str, str], ...]
    figures: Figures

    def _figures(self) -> Figures:
        return self.figures

    def as_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "campaign_id": self.campaign_id,
            "campaign_name": self.campaign_name,
            "creator_id": self.creator_id,
            "name": self.name,
            "paid": self.paid,
            "accounts": [{"platform": p, "handle": h} for p, h in self.accounts],
            "figures": self.figures.as_json(),
        }


@dataclass(frozen=True)
class CampaignSummary(_FlatValues):
    """A campaign, its creators' figures, its totals and its posts, as of ``as_of``."""

    id: int
    name: str
    brand: str | None
    starts_on: date | None
    ends_on: date | None
    status: Status
    removed: bool
    markers: Mapping[str, Any]
    as_of: datetime
    totals: Figures
    creators: tuple[CreatorMetrics, ...]
    post_rows: tuple[CampaignPostRow, ...]

    def _figures(self) -> Figures:
        return self.totals

    def as_json(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "id": self.id,
            "name": self.name,
            "brand": self.brand,
            "starts_on": _jsonable(self.starts_on),
            "ends_on": _jsonable(self.ends_on),
            "status": self.status,
            "removed": self.removed,
            "markers": dict(self.markers),
            "as_of": self.as_of.isoformat(),
            "totals": self.totals.as_json(),
            "creators": [creator.as_json() for creator in self.creators],
            "posts": [post.as_json() for post in self.post_rows],
        }


# -- public entry points -----------------------------------------------------------------------


def campaign_summaries(
    engine: Engine, *, clock: Clock = utcnow, include_removed: bool = False
) -> list[CampaignSummary]:
    """Every campaign (live ones unless ``include_removed``), newest start first."""
    now = to_utc(clock())
    with engine.connect() as conn:
        query = select(CAMPAIGN)
        if not include_removed:
            query = query.where(CAMPAIGN.c.removed_at.is_(None))
        rows = conn.execute(query).all()
        summaries = [_summary(conn, row, now) for row in rows]
    return sorted(
        summaries, key=lambda s: (s.starts_on or date.min, s.name.casefold()), reverse=True
    )


def campaign_summary(engine: Engine, campaign_id: int, *, clock: Clock = utcnow) -> CampaignSummary:
    """One campaign by id (see :func:`~collector.campaigns.attribution.find_campaign` for names)."""
    now = to_utc(clock())
    with engine.connect() as conn:
        row = conn.execute(select(CAMPAIGN).where(CAMPAIGN.c.id == campaign_id)).one_or_none()
        if row is None:
            raise LookupError(f"no campaign has id {campaign_id}")
        return _summary(conn, row, now)


def creator_metrics(
    engine: Engine, creator_id: int, *, clock: Clock = utcnow
) -> list[CreatorMetrics]:
    """A creator's figures in every live campaign that pays them or carries their posts."""
    return [
        creator
        for summary in campaign_summaries(engine, clock=clock)
        for creator in summary.creators
        if creator.creator_id == creator_id
    ]


# -- loading -----------------------------------------------------------------------------------

_POSTS_SQL = text(
    """
SELECT cp.post_id, cp.source, cp.matched, pl.account_id, pl.platform, pl.handle,
       pl.platform_post_id, pl.published_at, pl.url, pl.caption, pl.views, pl.likes,
       pl.comments, pl.shares, pl.saves, pl.interactions, pl.followers_at_publication,
       pl.engagement_rate_by_followers, pl.engagement_rate_by_views,
       a.creator_id, c.name AS creator_name
FROM campaign_post cp
JOIN post_latest pl ON pl.post_id = cp.post_id
JOIN account a ON a.id = pl.account_id
LEFT JOIN creator c ON c.id = a.creator_id
WHERE cp.campaign_id = :campaign_id AND cp.included
ORDER BY pl.published_at, cp.post_id
"""
).columns(published_at=UTCDateTime, matched=JSON)

_FOLLOWERS_SQL = (
    text(
        """
SELECT followers, collected_at, followers_rounded FROM profile_snapshot
WHERE account_id = :account_id AND collected_at <= :at
ORDER BY collected_at DESC LIMIT 1
"""
    )
    # Bound through the column type, so SQLite compares the text form it stores.
    .bindparams(bindparam("at", type_=UTCDateTime))
    .columns(collected_at=UTCDateTime)
)


def _campaign_posts(conn: Connection, campaign_id: int) -> list[CampaignPostRow]:
    rows = conn.execute(_POSTS_SQL, {"campaign_id": campaign_id})
    posts = []
    for row in rows:
        posts.append(
            CampaignPostRow(
                post_id=row.post_id,
                account_id=row.account_id,
                platform=row.platform,
                handle=row.handle,
                creator_id=row.creator_id,
                creator_name=row.creator_name,
                platform_post_id=row.platform_post_id,
                published_at=row.published_at,
                url=row.url,
                caption=row.caption,
                source=row.source,
                matched=tuple(row.matched or ()),
                views=_int(row.views),
                likes=_int(row.likes),
                comments=_int(row.comments),
                shares=_int(row.shares),
                saves=_int(row.saves),
                interactions=_int(row.interactions),
                followers_at_publication=_int(row.followers_at_publication),
                engagement_rate_by_followers=_float(row.engagement_rate_by_followers),
                engagement_rate_by_views=_float(row.engagement_rate_by_views),
                disclosure=find_disclosure(row.caption),
            )
        )
    return posts


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class _Member:
    creator_id: int
    name: str
    cost: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class _Conversion:
    occurred_on: date
    code: str
    orders: int | None
    revenue: Decimal | None
    currency: str | None


def _summary(conn: Connection, row: Any, now: datetime) -> CampaignSummary:
    members = {
        r.creator_id: _Member(r.creator_id, r.name, r.cost, r.currency)
        for r in conn.execute(
            select(
                CAMPAIGN_CREATOR.c.creator_id,
                CREATOR.c.name,
                CAMPAIGN_CREATOR.c.cost,
                CAMPAIGN_CREATOR.c.currency,
            )
            .join(CREATOR, CREATOR.c.id == CAMPAIGN_CREATOR.c.creator_id)
            .where(CAMPAIGN_CREATOR.c.campaign_id == row.id)
        )
    }
    posts = _campaign_posts(conn, row.id)
    conversions = [
        _Conversion(r.occurred_on, r.code, r.orders, r.revenue, r.currency)
        for r in conn.execute(
            select(
                CONVERSION.c.occurred_on,
                CONVERSION.c.code,
                CONVERSION.c.orders,
                CONVERSION.c.revenue,
                CONVERSION.c.currency,
            )
            .where(CONVERSION.c.campaign_id == row.id)
            .order_by(CONVERSION.c.occurred_on, CONVERSION.c.code)
        )
    ]
    start, end = campaign_window(row.starts_on, row.ends_on)
    status: Status = "upcoming" if now < start else "ended" if now >= end else "running"

    # Group posts by creator; accounts with no creator (imported) stand for themselves.
    groups: dict[tuple[str, int], list[CampaignPostRow]] = defaultdict(list)
    names: dict[tuple[str, int], str] = {}
    for post in posts:
        key = ("creator", post.creator_id) if post.creator_id else ("account", post.account_id)
        groups[key].append(post)
        names[key] = post.creator_name or f"{post.platform}:{post.handle}"
    for paid in members.values():
        key = ("creator", paid.creator_id)
        groups.setdefault(key, [])
        names[key] = paid.name

    # Paid posts must disclose (every post, when the campaign lists no paid creator).
    must_disclose = {p.post_id for p in posts if not members or p.creator_id in members}
    gains = {
        account_id: _account_gain(conn, account_id, row.starts_on, end, now)
        for account_id in sorted({post.account_id for post in posts})
    }
    owners = _code_owners(groups)
    creators = []
    for key, group_posts in groups.items():
        member = members.get(key[1]) if key[0] == "creator" else None
        exclusive = {code for code, who in owners.items() if who == {key}}
        creator_conversions = [c for c in conversions if normalise(c.code) in exclusive]
        accounts = sorted({(p.platform, p.handle) for p in group_posts})
        account_gains = [gains[a] for a in sorted({p.account_id for p in group_posts})]
        figures = _figures(
            group_posts,
            cost=_member_cost(member),
            gained=_sum_gains(account_gains, "followers at end − followers at start, per account"),
            conversions=(
                _conversion_set(creator_conversions)
                if exclusive
                else _no_conversions(conversions, "conversions_not_attributable")
            ),
            must_disclose=must_disclose,
        )
        creators.append(
            CreatorMetrics(
                campaign_id=row.id,
                campaign_name=row.name,
                creator_id=key[1] if key[0] == "creator" else None,
                name=names[key],
                paid=member is not None,
                accounts=tuple(accounts),
                figures=figures,
            )
        )
    creators.sort(key=lambda c: (not c.paid, c.name.casefold()))
    totals = _figures(
        posts,
        cost=_total_cost(list(members.values())),
        gained=_sum_gains(
            [c.figures.followers_gained for c in creators if c.figures.posts],
            "sum of the creators' followers gained",
        ),
        conversions=_conversion_set(conversions),
        must_disclose=must_disclose,
    )
    return CampaignSummary(
        id=row.id,
        name=row.name,
        brand=row.brand,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
        status=status,
        removed=row.removed_at is not None,
        markers=dict(row.markers or {}),
        as_of=now,
        totals=totals,
        creators=tuple(creators),
        post_rows=tuple(posts),
    )


def _code_owners(
    groups: Mapping[tuple[str, int], Sequence[CampaignPostRow]],
) -> dict[str, set[tuple[str, int]]]:
    """Normalised promo codes and UTM campaigns → the creators whose posts carry them."""
    owners: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for key, posts in groups.items():
        for post in posts:
            for match in post.matched:
                marker = match.get("marker", "")
                if match.get("kind") == "promo_code":
                    owners[normalise(marker.strip())].add(key)
                elif match.get("kind") == "link":
                    campaign = utm_campaign(marker)
                    if campaign:
                        owners[campaign].add(key)
    return owners


# -- followers gained --------------------------------------------------------------------------


def _account_gain(
    conn: Connection, account_id: int, starts_on: date | None, end: datetime, now: datetime
) -> Figure:
    formula = "followers at end − followers at start"
    if starts_on is None:
        return _none(formula, "no_start", account_id=account_id)
    start, _ = campaign_window(starts_on, None)
    if now < start:
        return _none(formula, "not_started", account_id=account_id)
    until = min(end, now)
    first = conn.execute(_FOLLOWERS_SQL, {"account_id": account_id, "at": start}).first()
    if first is None or first.followers is None:
        return _none(formula, "no_snapshot_before_start", account_id=account_id)
    last = conn.execute(_FOLLOWERS_SQL, {"account_id": account_id, "at": until}).first()
    if last is None or last.followers is None or last.collected_at <= first.collected_at:
        return _none(formula, "no_snapshot_since_start", account_id=account_id)
    gained = int(last.followers) - int(first.followers)
    return Figure(
        gained,
        formula,
        {
            "account_id": account_id,
            "followers_at_start": int(first.followers),
            "start_collected_at": first.collected_at,
            "followers_at_end": int(last.followers),
            "end_collected_at": last.collected_at,
            "rounded": bool(first.followers_rounded or last.followers_rounded),
        },
    )


def _sum_gains(parts: Sequence[Figure], formula: str) -> Figure:
    if not parts:
        return _none(formula, "no_posts")
    known = [p for p in parts if p.value is not None]
    if not known:
        return _none(formula, parts[0].missing or "incomplete", parts=[p.inputs for p in parts])
    total = sum(int(p.value) for p in known if p.value is not None)
    complete = len(known) == len(parts) and all(p.complete for p in known)
    return Figure(
        total,
        formula,
        {"parts": [p.inputs for p in parts], "known": len(known), "of": len(parts)},
        complete=complete,
    )


# -- money -------------------------------------------------------------------------------------


def _member_cost(member: _Member | None) -> Figure:
    formula = "cost in the watchlist"
    if member is None:
        return _none(formula, "not_paid")
    if member.cost is None:
        return _none(formula, "cost_not_given", creator=member.name)
    return Figure(Decimal(member.cost), formula, {"creator": member.name}, unit=member.currency)


def _total_cost(members: Sequence[_Member]) -> Figure:
    formula = "sum of the paid creators' costs"
    if not members:
        return _none(formula, "no_paid_creators")
    unknown = [m.name for m in members if m.cost is None]
    if unknown:
        return _none(formula, "cost_not_given", creators_without_cost=unknown)
    by_currency: dict[str | None, Decimal] = defaultdict(Decimal)
    for member in members:
        by_currency[member.currency] += Decimal(member.cost or 0)
    if len(by_currency) > 1:
        return _none(
            formula,
            "mixed_currencies",
            by_currency={str(k or "?"): v for k, v in by_currency.items()},
        )
    ((currency, total),) = by_currency.items()
    return Figure(total, formula, {"creators": len(members)}, unit=currency)


@dataclass(frozen=True)
class _ConversionFigures:
    orders: Figure
    revenue: Figure


def _no_conversions(conversions: Sequence[_Conversion], reason: str) -> _ConversionFigures:
    why = reason if conversions else "no_conversions"
    return _ConversionFigures(
        _none("sum of imported orders", why), _none("sum of imported revenue", why)
    )


def _conversion_set(conversions: Sequence[_Conversion]) -> _ConversionFigures:
    if not conversions:
        return _no_conversions(conversions, "no_conversions")
    codes = sorted({c.code for c in conversions})
    with_orders = [c.orders for c in conversions if c.orders is not None]
    orders = (
        Figure(
            sum(with_orders), "sum of imported orders", {"rows": len(conversions), "codes": codes}
        )
        if with_orders
        else _none("sum of imported orders", "no_conversions", rows=len(conversions))
    )
    by_currency: dict[str | None, Decimal] = defaultdict(Decimal)
    for conversion in conversions:
        if conversion.revenue is not None:
            by_currency[conversion.currency] += Decimal(conversion.revenue)
    formula = "sum of imported revenue"
    if not by_currency:
        revenue = _none(formula, "no_conversions", rows=len(conversions))
    elif len(by_currency) > 1:
        revenue = _none(
            formula,
            "mixed_currencies",
            by_currency={str(k or "?"): v for k, v in by_currency.items()},
        )
    else:
        ((currency, total),) = by_currency.items()
        revenue = Figure(total, formula, {"rows": len(conversions), "codes": codes}, unit=currency)
    return _ConversionFigures(orders, revenue)


def _money(value: Decimal) -> Decimal:
    return value.quantize(_MONEY_PLACES, rounding=ROUND_HALF_EVEN)


def _per(cost: Figure, divisor: Figure, formula: str, name: str) -> Figure:
    """cost / divisor, when both are known, complete and the divisor is positive."""
    if cost.value is None:
        return _none(formula, cost.missing or "cost_not_given")
    if divisor.value is None:
        return _none(formula, divisor.missing or "incomplete")
    if not divisor.complete:
        return _none(formula, "incomplete", **{name: divisor.value})
    if divisor.value <= 0:
        reason = "no_followers_gained" if name == "followers_gained" else "zero"
        return _none(formula, reason, **{name: divisor.value})
    return Figure(
        _money(Decimal(cost.value) / Decimal(divisor.value)),
        formula,
        {"cost": cost.value, name: divisor.value},
        unit=cost.unit,
    )


def _roi(cost: Figure, revenue: Figure) -> Figure:
    formula = "(revenue − cost) / cost"
    if revenue.value is None:
        return _none(formula, revenue.missing or "no_conversions")
    if cost.value is None:
        return _none(formula, cost.missing or "cost_not_given")
    if cost.unit != revenue.unit:
        return _none(
            formula, "currency_mismatch", cost_currency=cost.unit, revenue_currency=revenue.unit
        )
    if cost.value <= 0:
        return _none(formula, "zero", cost=cost.value)
    value = (Decimal(revenue.value) - Decimal(cost.value)) / Decimal(cost.value)
    return Figure(_money(value), formula, {"revenue": revenue.value, "cost": cost.value}, unit=None)


# -- the figures -------------------------------------------------------------------------------


def _sum_counts(posts: Sequence[CampaignPostRow], attribute: str, formula: str) -> Figure:
    if not posts:
        return _none(formula, "no_posts")
    known = [getattr(p, attribute) for p in posts if getattr(p, attribute) is not None]
    if not known:
        return _none(formula, "not_published", posts=len(posts))
    return Figure(
        sum(known),
        formula,
        {"posts": len(posts), "posts_with_count": len(known)},
        complete=len(known) == len(posts),
    )


def _figures(
    posts: Sequence[CampaignPostRow],
    *,
    cost: Figure,
    gained: Figure,
    conversions: _ConversionFigures,
    must_disclose: set[int],
) -> Figures:
    views = _sum_counts(posts, "views", "sum of the posts' latest views")
    interactions = _sum_counts(
        posts, "interactions", "sum of likes + comments + shares + saves, where published"
    )
    rates = [p.engagement_rate_by_followers for p in posts]
    known_rates = [r for r in rates if r is not None]
    by_followers_formula = "mean over posts of interactions / followers at publication"
    if not posts:
        by_followers = _none(by_followers_formula, "no_posts")
    elif not known_rates:
        by_followers = _none(by_followers_formula, "not_published", posts=len(posts))
    else:
        by_followers = Figure(
            sum(known_rates) / len(known_rates),
            by_followers_formula,
            {"posts": len(posts), "posts_with_rate": len(known_rates)},
            complete=len(known_rates) == len(posts),
        )
    both = [
        (p.interactions, p.views)
        for p in posts
        if p.interactions is not None and p.views is not None
    ]
    by_views_formula = "interactions / views over posts publishing both"
    view_total = sum(v for _, v in both)
    if not posts:
        by_views = _none(by_views_formula, "no_posts")
    elif not both:
        by_views = _none(by_views_formula, "not_published", posts=len(posts))
    elif view_total == 0:
        by_views = _none(by_views_formula, "zero", views=0)
    else:
        by_views = Figure(
            sum(i for i, _ in both) / view_total,
            by_views_formula,
            {"posts": len(posts), "posts_with_both": len(both), "views": view_total},
            complete=len(both) == len(posts),
        )
    return Figures(
        posts=len(posts),
        undisclosed_posts=sum(
            1 for p in posts if p.disclosure is None and p.post_id in must_disclose
        ),
        views=views,
        interactions=interactions,
        engagement_rate_by_followers=by_followers,
        engagement_rate_by_views=by_views,
        followers_gained=gained,
        cost=cost,
        cost_per_engagement=_per(cost, interactions, "cost / interactions", "interactions"),
        cost_per_view=_per(cost, views, "cost / views", "views"),
        cost_per_follower_gained=_per(cost, gained, "cost / followers gained", "followers_gained"),
        orders=conversions.orders,
        revenue=conversions.revenue,
        roi=_roi(cost, conversions.revenue),
        cost_per_order=_per(cost, conversions.orders, "cost / orders", "orders"),
    )

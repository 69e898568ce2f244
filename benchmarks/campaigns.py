"""How fast campaigns are attributed, checked, summed and reported on a large watchlist.

Builds a SQLite database (or uses ``--db`` for PostgreSQL, emptied first) of N accounts posting
every ~2 days for 90 days, captions in French, Arabic, Darija and English of which ~3 % carry
one campaign's markers (in varied spellings: case, accents, full width, Arabizi), then measures,
side by side in the same run:

- reading every caption of the campaign's dates with a plain query (the floor);
- matching them with a naive ``lower()`` + substring test (the baseline: fast, but blind to
  accents, full width, Arabic spellings and Darija variants, and fooled by longer hashtags);
- matching them with :class:`CampaignMarkers` (what attribution uses), and how many each finds;
- ``attribute`` (first run, then a run with nothing new), ``check_disclosures``,
  ``campaign_summaries`` and ``build_report`` for the campaign.

Run: ``.venv/bin/python benchmarks/campaigns.py [--accounts 2000] [--db URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from collector.campaigns.attribution import attribute, campaign_window
from collector.campaigns.disclosure import check_disclosures
from collector.campaigns.jobs import after_pass_hook
from collector.campaigns.markers import CampaignMarkers
from collector.campaigns.metrics import campaign_summaries
from collector.campaigns.report import build_report
from collector.campaigns.sync import sync_campaigns
from collector.pipeline import PassResult
from collector.settings import Watchlist
from collector.storage import repo
from collector.storage.db import make_engine, upgrade
from collector.storage.state import RunTotals

T = TypeVar("T")
NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
START = NOW - timedelta(days=90)
HASHTAG, CODE, MENTION = "#soukmoderne", "SOUK26", "@souk.moderne"
FILLER = [
    "Salam drari! ma routine du matin",
    "Bonjour la famille, un tour à la médina",
    "New drop: my favourite caftan",
    "l'ftour b zwin bzaf hamdullah 3la kolchi",
    "الحمد لله على كل شيء، رمضان كريم",
    "Weekend vibes ✨ #maroc #casablanca",
    "Petit rappel: dites-moi en commentaire",
    "the best msemen in town #food",
]
# Ways people write the markers; the naive matcher finds only the first of each.
SPONSORED = [
    f"Ma sélection {MENTION} code {CODE} {HASHTAG} #sponsorisé",
    "Coup de cœur ＃ＳｏｕｋＭｏｄｅｒｎｅ",  # full width only
    "إعلان | كود SOUK٢٦",  # Eastern Arabic digits only
    "Yallah #Souk_Moderne",  # a spelling variant only
    "Chokran @Souk.Moderne 🔥",  # capitals only
]
DECOYS = ["#soukmodernes #soukmoderne2025", "code SOUK260", "contact@souk.moderne"]


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def build(url: str, accounts: int, seed: int) -> tuple[Any, int]:
    rng = random.Random(seed)
    engine = make_engine(url)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    names = [f"creator{i}" for i in range(accounts)]
    watchlist = Watchlist.model_validate(
        {
            "creators": [{"name": n, "accounts": {"demo": n}} for n in names],
            "campaigns": [
                {
                    "name": "Fin d'année",
                    "start": (NOW - timedelta(days=30)).date().isoformat(),
                    "end": (NOW + timedelta(days=30)).date().isoformat(),
                    "hashtags": [HASHTAG],
                    "mentions": [MENTION],
                    "promo_codes": [CODE],
                    "creators": [{"name": n, "cost": 1000, "currency": "MAD"} for n in names[:200]],
                }
            ],
        }
    )
    posts = 0
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO creator (name, tags, created_at) VALUES (:n, '[]', :t)"),
            [{"n": n, "t": START} for n in names],
        )
        conn.execute(
            text(
                "INSERT INTO account (creator_id, platform, handle, status, added_at, "
                "consecutive_failures) SELECT id, 'demo', name, 'active', :t, 0 FROM creator "
                "ORDER BY id"
            ),
            {"t": START},
        )
        ids = [row[0] for row in conn.execute(text("SELECT id FROM account ORDER BY id"))]
        profiles, post_rows = [], []
        for account_id in ids:
            followers = int(10 ** rng.uniform(3.3, 5.2))
            for whole_day in range(0, 91, 1):
                profiles.append(
                    {
                        "a": account_id,
                        "t": START + timedelta(days=whole_day),
                        "f": followers + whole_day * rng.randint(0, 20),
                    }
                )
            day = rng.uniform(0, 2)
            while day < 90:
                roll = rng.random()
                caption = rng.choice(FILLER)
                if roll < 0.03:
                    caption += " " + rng.choice(SPONSORED)
                elif roll < 0.05:
                    caption += " " + rng.choice(DECOYS)
                post_rows.append(
                    {
                        "a": account_id,
                        "p": f"p{account_id}-{int(day * 10)}",
                        "t": START + timedelta(days=day),
                        "c": caption,
                    }
                )
                day += rng.uniform(1.5, 2.5)
        conn.execute(
            text(
                "INSERT INTO profile_snapshot (account_id, collected_at, followers, "
                "followers_rounded, followers_hidden) VALUES (:a, :t, :f, false, false)"
            ),
            profiles,
        )
        # Written around Collector's writers, which keep profile_latest (account_latest).
        repo.rebuild_profile_latest(conn)
        conn.execute(
            text(
                "INSERT INTO post (account_id, platform_post_id, published_at, caption, "
                "first_seen_at) VALUES (:a, :p, :t, :c, :t)"
            ),
            post_rows,
        )
        conn.execute(
            text(
                "INSERT INTO post_snapshot (post_id, collected_at, views, likes, comments, "
                "shares, saves) SELECT id, :now, 1000 + id % 5000, 50 + id % 300, id % 40, "
                "id % 12, id % 20 FROM post"
            ),
            {"now": NOW},
        )
        posts = len(post_rows)
    sync_campaigns(engine, watchlist, NOW)
    return engine, posts


def _score(found: list[bool], truth: list[bool]) -> str:
    hits = sum(1 for f, t in zip(found, truth, strict=True) if f and t)
    wrong = sum(1 for f, t in zip(found, truth, strict=True) if f and not t)
    missed = sum(1 for f, t in zip(found, truth, strict=True) if t and not f)
    return f"{hits:,} found, {wrong:,} false, {missed:,} missed"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--db", default=None, help="SQLAlchemy URL (default: a temporary SQLite)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    scratch = Path(tempfile.gettempdir()) / f"collector-campaigns-{args.accounts}.db"
    url = args.db or f"sqlite:///{scratch}"
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    (engine, posts), seconds = timed(lambda: build(url, args.accounts, args.seed))
    print(f"built {args.accounts:,} accounts, {posts:,} posts in {seconds:.1f}s ({url})\n")

    start, end = campaign_window(
        (NOW - timedelta(days=30)).date(), (NOW + timedelta(days=30)).date()
    )
    with engine.connect() as conn:
        query = text("SELECT id, caption FROM post WHERE published_at >= :s AND published_at < :e")
        bounds = {"s": start.strftime("%Y-%m-%d %H:%M:%S"), "e": end.strftime("%Y-%m-%d %H:%M:%S")}
        if conn.dialect.name == "postgresql":
            bounds = {"s": start, "e": end}  # type: ignore[dict-item]
        rows, read_s = timed(lambda: conn.execute(query, bounds).all())
    captions = [caption for _, caption in rows]
    truth = [any(sponsored in c for sponsored in SPONSORED) for c in captions]
    needles = (HASHTAG, MENTION, CODE.lower())
    naive, naive_s = timed(lambda: [any(n in c.lower() for n in needles) for c in captions])
    markers = CampaignMarkers(hashtags=(HASHTAG,), mentions=(MENTION,), promo_codes=(CODE,))
    proper, match_s = timed(lambda: [bool(markers.match(c)) for c in captions])
    first, first_s = timed(lambda: attribute(engine, now=NOW))
    again, again_s = timed(lambda: attribute(engine, now=NOW))
    hook_clock = [NOW + timedelta(hours=1)]
    hook = after_pass_hook(engine, clock=lambda: hook_clock[0])
    a_pass = PassResult("demo", None, "ok", RunTotals(post_rows=1), 0.0)
    _, hook_full_s = timed(lambda: asyncio.run(hook(a_pass)))
    hook_clock[0] += timedelta(hours=1)
    with engine.begin() as conn:
        # One pass re-polls about 1 % of the posts.
        conn.execute(
            text("UPDATE post SET last_polled_at = :t WHERE id % 100 = 0"), {"t": hook_clock[0]}
        )
        repolled = conn.execute(text("SELECT count(*) FROM post WHERE id % 100 = 0")).scalar()
    _, hook_s = timed(lambda: asyncio.run(hook(a_pass)))
    checked, check_s = timed(lambda: check_disclosures(engine, now=NOW))
    summaries, summary_s = timed(lambda: campaign_summaries(engine, clock=lambda: NOW))
    html, report_s = timed(
        lambda: build_report(engine, now=NOW, campaign="Fin d'année", refresh=False)
    )

    n = len(captions)
    print(f"{'step':<44} {'seconds':>8} {'per second':>12}  result")
    table = [
        ("read captions in the dates (floor)", read_s, n, f"{n:,} captions"),
        ("naive lower() + substring (baseline)", naive_s, n, _score(naive, truth)),
        ("CampaignMarkers.match", match_s, n, _score(proper, truth)),
        ("attribute, first run", first_s, first.posts_scanned, f"+{first.added:,} posts"),
        (
            "attribute, nothing new",
            again_s,
            again.posts_scanned,
            f"+{again.added} -{again.removed}",
        ),
        ("after-pass hook, first run (every post)", hook_full_s, n, "attribute + disclosure"),
        (
            "after-pass hook, 1 % of posts re-polled",
            hook_s,
            repolled or 0,
            "attribute + disclosure",
        ),
        ("check_disclosures", check_s, checked.checked, f"{checked.undisclosed:,} flags"),
        ("campaign_summaries", summary_s, summaries[0].totals.posts, "posts summed"),
        ("build_report (one campaign)", report_s, 1, f"{len(html.encode()):,} bytes"),
    ]
    for name, seconds, count, result in table:
        rate = f"{count / seconds:,.0f}" if seconds > 0 and count > 1 else "-"
        print(f"{name:<44} {seconds:>8.3f} {rate:>12}  {result}")
    totals = summaries[0].totals
    cpe = totals.cost_per_engagement.value
    print(
        f"\ncampaign: {totals.posts:,} posts, cost {totals.cost.value} MAD, "
        f"cost per engagement {cpe if cpe is None else Decimal(cpe):} MAD"
    )
    engine.dispose()


if __name__ == "__main__":
    main()

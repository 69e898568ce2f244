"""Sponsorship disclosure: every paid campaign post must say it is advertising.

Audiences in Morocco and France punish hidden advertising, and French law (loi du 9 juin 2023)
requires "Publicité" or "Collaboration commerciale" on it. A campaign post by a creator the
campaign pays (any creator, when the campaign lists none) is disclosed when its caption carries
one of :data:`DISCLOSURE_HASHTAGS` as a hashtag, one of :data:`DISCLOSURE_PHRASES` as words, or
one of :data:`ARABIC_DISCLOSURE_WORDS` (Arabic words take their attached prefixes: ``الإعلان``,
``وإعلان``, ``للإشهار``), compared after :func:`~collector.campaigns.markers.normalise`.

A platform's own paid-partnership label would count too, but none of the built-in connectors'
APIs publishes it for other people's posts, so captions are what is checked, and each flag says
so in its evidence.

An undisclosed post gets one ``disclosure`` flag (severity ``medium``) keyed by
``disclosure:{account_id}:{post_id}``: re-runs update it and keep its status (an acknowledged or
dismissed flag stays so). A post that gains a disclosure, or leaves the campaign, loses its flag
while the flag is still open.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from collector.campaigns.markers import find_hashtags, normalise
from collector.campaigns.sync import CAMPAIGN, CAMPAIGN_CREATOR, CAMPAIGN_POST
from collector.storage.models import Account, Flag, Post

__all__ = [
    "ARABIC_DISCLOSURE_WORDS",
    "DISCLOSURE_HASHTAGS",
    "DISCLOSURE_PHRASES",
    "FLAG_KIND",
    "DisclosureResult",
    "check_disclosures",
    "dedupe_key",
    "find_disclosure",
]

FLAG_KIND = "disclosure"
FLAG_SEVERITY = "medium"

#: Hashtags that disclose (English, French, Arabic, Darija in Latin letters).
DISCLOSURE_HASHTAGS = (
    "ad",
    "ads",
    "advert",
    "advertisement",
    "advertising",
    "sponsored",
    "sponsor",
    "spon",
    "paidpartnership",
    "paidpartner",
    "sponsorisé",
    "sponsorisée",
    "sponso",
    "partenariat",
    "partenariatrémunéré",
    "collaborationcommerciale",
    "publicité",
    "pub",
    "إعلان",
    "اعلان",
    "إشهار",
    "شراكة",
    "برعاية",
    "ممول",
    "i3lan",
    "ichhar",
    "ishhar",
)
#: Phrases that disclose wherever they stand in the caption.
DISCLOSURE_PHRASES = (
    "collaboration commerciale",
    "publicité",
    "partenariat rémunéré",
    "en partenariat avec",
    "sponsorisé par",
    "sponsorisée par",
    "contenu sponsorisé",
    "paid partnership",
    "sponsored by",
    "in paid partnership",
)
#: Arabic words that disclose, with whatever prefix or suffix attaches to them.
ARABIC_DISCLOSURE_WORDS = (
    "إعلان",
    "إشهار",
    "شراكة",
    "برعاية",
    "ممول",
    "محتوى مدفوع",
    "تعاون مدفوع",
)

# Normalised form -> as listed, so that what was found is shown as people write it.
_HASHTAGS = {normalise(tag): "#" + tag for tag in DISCLOSURE_HASHTAGS}
_SPELLED = {
    " ".join(normalise(phrase).split()): phrase
    for phrase in DISCLOSURE_PHRASES + ARABIC_DISCLOSURE_WORDS
}
_PHRASES = re.compile(
    "|".join(
        r"(?<!\w)" + r"\s+".join(re.escape(word) for word in normalise(phrase).split()) + r"(?!\w)"
        for phrase in DISCLOSURE_PHRASES
    )
)
_ARABIC_LETTER = "\u0621-\u064a"
# Conjunctions (wa, fa), prepositions (bi, li, ka) and the article (al) attach to the word.
_ARABIC_PREFIX = "(?:[وف])?(?:[بكل]?ال|لل|[بكل])?"
_ARABIC = re.compile(
    "|".join(
        rf"(?<![{_ARABIC_LETTER}]){_ARABIC_PREFIX}"
        + r"\s+".join(re.escape(word) for word in normalise(phrase).split())
        for phrase in ARABIC_DISCLOSURE_WORDS
    )
)

POST: Table = Post.__table__  # type: ignore[attr-defined]
ACCOUNT: Table = Account.__table__  # type: ignore[attr-defined]
FLAG: Table = Flag.__table__  # type: ignore[attr-defined]

#: What the flag's evidence says was looked for, for the person who reads it.
LOOKED_FOR = (
    "hashtags: "
    + ", ".join("#" + tag for tag in DISCLOSURE_HASHTAGS)
    + "; phrases: "
    + ", ".join(DISCLOSURE_PHRASES + ARABIC_DISCLOSURE_WORDS)
    + "; platform paid-partnership label: not published by this platform's API"
)
_EXCERPT = 280


def find_disclosure(caption: str | None) -> str | None:
    """The disclosure a caption carries, as the lists above spell it, or None."""
    if not caption:
        return None
    text = normalise(caption)
    for tag in find_hashtags(text):
        if tag in _HASHTAGS:
            return _HASHTAGS[tag]
    match = _PHRASES.search(text)
    if match:
        return _SPELLED.get(" ".join(match.group(0).split()), match.group(0))
    match = _ARABIC.search(text)
    if match:
        found = " ".join(match.group(0).split())
        return next((spelled for key, spelled in _SPELLED.items() if key in found), found)
    return None


def dedupe_key(account_id: int, post_id: int) -> str:
    """The ``flag.dedupe_key`` of a post's disclosure flag."""
    return f"{FLAG_KIND}:{account_id}:{post_id}"


@dataclass(frozen=True)
class DisclosureResult:
    """What one check found and changed."""

    checked: int
    disclosed: int
    undisclosed: int
    flags_written: int
    flags_withdrawn: int


def check_disclosures(engine: Engine, *, now: datetime) -> DisclosureResult:
    """Check every paid post of every live campaign; write or withdraw ``disclosure`` flags."""
    with engine.begin() as conn:
        posts = _paid_campaign_posts(conn)
        undisclosed: dict[int, dict[str, Any]] = {}
        disclosed = 0
        for post_id, post in posts.items():
            if find_disclosure(post["caption"]) is None:
                undisclosed[post_id] = post
            else:
                disclosed += 1
        written = _write_flags(conn, undisclosed, now)
        keep = {dedupe_key(post["account_id"], post_id) for post_id, post in undisclosed.items()}
        withdrawn = _withdraw_flags(conn, keep)
    return DisclosureResult(len(posts), disclosed, len(undisclosed), written, withdrawn)


def _paid_campaign_posts(conn: Connection) -> dict[int, dict[str, Any]]:
    """Included posts of live campaigns by their paid creators, each with its campaigns."""
    lists_creators = exists().where(CAMPAIGN_CREATOR.c.campaign_id == CAMPAIGN.c.id)
    paid = exists().where(
        CAMPAIGN_CREATOR.c.campaign_id == CAMPAIGN.c.id,
        CAMPAIGN_CREATOR.c.creator_id == ACCOUNT.c.creator_id,
    )
    rows = conn.execute(
        select(
            POST.c.id,
            POST.c.account_id,
            POST.c.platform_post_id,
            POST.c.published_at,
            POST.c.url,
            POST.c.caption,
            ACCOUNT.c.platform,
            ACCOUNT.c.handle,
            CAMPAIGN.c.name,
            CAMPAIGN_POST.c.matched,
        )
        .select_from(
            CAMPAIGN_POST.join(CAMPAIGN, CAMPAIGN.c.id == CAMPAIGN_POST.c.campaign_id)
            .join(POST, POST.c.id == CAMPAIGN_POST.c.post_id)
            .join(ACCOUNT, ACCOUNT.c.id == POST.c.account_id)
        )
        .where(
            CAMPAIGN_POST.c.included.is_(True),
            CAMPAIGN.c.removed_at.is_(None),
            paid | ~lists_creators,
        )
        .order_by(POST.c.id, CAMPAIGN.c.name)
    )
    posts: dict[int, dict[str, Any]] = {}
    markers: dict[int, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        post = posts.setdefault(
            row.id,
            {
                "account_id": row.account_id,
                "platform": row.platform,
                "handle": row.handle,
                "platform_post_id": row.platform_post_id,
                "published_at": row.published_at,
                "url": row.url,
                "caption": row.caption,
                "campaigns": [],
            },
        )
        post["campaigns"].append(row.name)
        for marker in row.matched or []:
            if marker not in markers[row.id]:
                markers[row.id].append(marker)
    for post_id, post in posts.items():
        post["markers"] = markers[post_id]
    return posts


def _insert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(FLAG)


def _write_flags(conn: Connection, posts: dict[int, dict[str, Any]], now: datetime) -> int:
    """Insert new flags and refresh changed evidence; returns how many rows were written."""
    known = {
        row.dedupe_key: row.evidence
        for row in conn.execute(
            select(FLAG.c.dedupe_key, FLAG.c.evidence).where(FLAG.c.kind == FLAG_KIND)
        )
    }
    written = 0
    for post_id, post in posts.items():
        key = dedupe_key(post["account_id"], post_id)
        evidence = _evidence(post)
        if key in known:
            if known[key] == evidence:
                continue  # unchanged: updated_at keeps meaning "last changed"
            conn.execute(
                update(FLAG)
                .where(FLAG.c.dedupe_key == key)
                .values(evidence=evidence, updated_at=now)
            )
        else:
            conn.execute(
                _insert(conn)
                .values(
                    account_id=post["account_id"],
                    post_id=post_id,
                    kind=FLAG_KIND,
                    severity=FLAG_SEVERITY,
                    window_start=post["published_at"],
                    window_end=post["published_at"],
                    score=1.0,
                    evidence=evidence,
                    status="open",
                    dedupe_key=key,
                    created_at=now,
                    updated_at=now,
                )
                # Another writer may have raised the same flag meanwhile: theirs stands.
                .on_conflict_do_nothing(index_elements=["dedupe_key"])
            )
        written += 1
    return written


def _evidence(post: dict[str, Any]) -> dict[str, Any]:
    caption = post["caption"] or ""
    return {
        "explanation": "a paid campaign post without a sponsorship disclosure in its caption",
        "campaigns": post["campaigns"],
        "platform_post_id": post["platform_post_id"],
        "url": post["url"],
        "published_at": post["published_at"].isoformat(),
        "campaign_markers": post["markers"],
        "caption_excerpt": caption[:_EXCERPT] + ("…" if len(caption) > _EXCERPT else ""),
        "looked_for": LOOKED_FOR,
    }


def _withdraw_flags(conn: Connection, keep: set[str]) -> int:
    open_keys = conn.execute(
        select(FLAG.c.dedupe_key).where(and_(FLAG.c.kind == FLAG_KIND, FLAG.c.status == "open"))
    ).scalars()
    gone = [key for key in open_keys if key not in keep]
    for start in range(0, len(gone), 500):
        conn.execute(delete(FLAG).where(FLAG.c.dedupe_key.in_(gone[start : start + 500])))
    return len(gone)

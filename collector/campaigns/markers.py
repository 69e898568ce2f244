"""What identifies a campaign's posts: hashtags, mentions, promo codes and tracked links.

Captions are written in French, Arabic, Darija (in Arabic or Latin letters, with Arabizi digits)
and English, on phones with every keyboard. Before anything is compared, text goes through
:func:`normalise`:

- NFKC, so full-width ``ＳＯＵＫ２６`` and ``＃ad`` and Arabic presentation forms read as their
  plain letters;
- case folding (``SOUK26`` = ``souk26``; ``ß`` = ``ss``);
- accents stripped (``sponsorisé`` = ``sponsorise``);
- Arabic unified: tatweel and harakat removed, ``أ إ آ ٱ`` read as ``ا``, ``ى ی`` as ``ي``,
  ``ة`` as ``ه``, ``ؤ ئ`` as ``و ي``, Eastern Arabic digits as ``0-9``;
- invisible characters (zero-width joiners, direction marks) removed.

How each kind of marker matches:

- **hashtags** match a whole hashtag of the caption, after :func:`normalise`; a hashtag long enough
  to be distinctive also matches its Darija spelling variants (:func:`darija_key`: Arabizi digits
  ``3 7 9 5 8 2`` inside words, ``ou``/``u``, ``sh``/``ch``, ``q``/``k``, vowels and doubled
  letters, underscores), so ``#ramadanm3akom`` finds ``#RamadanM3akoum`` and ``#ramadan_maakom``;
- **mentions** match a whole ``@handle`` (handles are exact identifiers: no spelling variants);
- **promo codes** match as a whole word anywhere in the caption (``code:SOUK26!``), never inside
  a longer code (``SOUK260``); digits are never read as Arabizi in codes;
- **links** match a URL of the caption with the same ``utm_campaign`` parameter; a link without
  one matches a URL on the same host (``www.`` ignored) under the same path.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import SplitResult, parse_qs, urlsplit

__all__ = [
    "MARKER_KINDS",
    "CampaignMarkers",
    "MarkerKind",
    "MarkerMatch",
    "darija_key",
    "find_hashtags",
    "find_mentions",
    "find_urls",
    "normalise",
    "utm_campaign",
]

MarkerKind = Literal["hashtag", "mention", "promo_code", "link"]
MARKER_KINDS: tuple[MarkerKind, ...] = ("hashtag", "mention", "promo_code", "link")

# Letters Arabic keyboards and transliterations write several ways, read as one.
_ARABIC_LETTERS = {
    "\u0671": "\u0627",  # alef wasla -> alef (the hamza forms lose their mark when decomposed)
    "\u0649": "\u064a",  # alef maksura -> ya
    "\u06cc": "\u064a",  # Persian ya -> ya
    "\u0629": "\u0647",  # ta marbuta -> ha
    "\u06a9": "\u0643",  # Persian kaf -> kaf
    "\u0640": "",  # tatweel: a stretch for looks, not a letter
}
_DIGITS = {chr(0x0660 + d): str(d) for d in range(10)} | {
    chr(0x06F0 + d): str(d) for d in range(10)
}
# Zero-width joiners and bidi controls: invisible, but they split words for a naive matcher.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x061C, 0xFEFF, *range(0x202A, 0x202F)],
    None,
)
_TABLE: dict[int, str | None] = {
    **{ord(k): v for k, v in _ARABIC_LETTERS.items()},
    **{ord(k): v for k, v in _DIGITS.items()},
    **_INVISIBLE,
}


def normalise(text: str) -> str:
    """Text folded for matching: NFKC, case-folded, accents stripped, Arabic unified."""
    if text.isascii():
        return text.lower()
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Decomposing splits accents and Arabic hamza/madda marks off their letters; dropping the
    # combining marks then also drops harakat (short vowels, shadda, sukun, tanwin).
    decomposed = unicodedata.normalize("NFD", folded)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.translate(_TABLE)


# Arabizi: digits that stand for Arabic letters with no Latin equivalent (3 = ع, 7 = ح, 9 = ق,
# 5 = خ, 8 = غ, 2 = ء), as Darija is typed in Latin letters. Only a lone digit touching a letter
# is one: "l3id" is a word, "2026" and "souk26" are numbers.
_ARABIZI = {"2": "", "3": "", "5": "kh", "7": "h", "8": "gh", "9": "k"}
_ARABIZI_DIGIT = re.compile(r"(?<=[a-z])[235789](?![0-9])|(?<![0-9a-z])[235789](?=[a-z])")
# Spellings of one Darija sound, unified before the vowels go (order matters: "ou" before "u").
_DIGRAPHS = (("sh", "ch"), ("ou", "u"), ("oo", "u"), ("dj", "j"), ("q", "k"))
_VOWELS = re.compile(r"[aeiouy]")
_REPEATS = re.compile(r"(.)\1+")
#: A Darija key shorter than this is too common to stand for one campaign's hashtag.
MIN_DARIJA_KEY = 4


def darija_key(word: str) -> str:
    """A spelling-tolerant key of a Latin-letter word: ``m3akoum`` and ``maakom`` share one.

    Only ASCII letters and digits take part; a word in another script keeps its normalised form.
    """
    text = normalise(word).replace("_", "")
    if not text.isascii():
        return text
    text = _ARABIZI_DIGIT.sub(lambda m: _ARABIZI[m.group(0)], text)
    for spelling, sound in _DIGRAPHS:
        text = text.replace(spelling, sound)
    # Darija vowels are written as the writer hears them (chokran, choukran, chukran): only the
    # consonant skeleton is stable.
    text = _VOWELS.sub("", text)
    return _REPEATS.sub(r"\1", text)


_HASHTAG = re.compile(r"#(\w+)")
_MENTION = re.compile(r"(?<![\w@])@([\w.]*\w)")
_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'«»]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]}…"


def find_hashtags(normalised_text: str) -> list[str]:
    """The hashtags of normalised text, without ``#``."""
    return _HASHTAG.findall(normalised_text)


def find_mentions(normalised_text: str) -> list[str]:
    """The ``@`` mentions of normalised text, without ``@`` (an e-mail address is none)."""
    return _MENTION.findall(normalised_text)


def find_urls(text: str) -> list[str]:
    """The URLs written in text (``http(s)://`` or ``www.``), trailing punctuation dropped."""
    return [match.rstrip(_URL_TRAILING) for match in _URL.findall(text)]


def utm_campaign(url: str) -> str | None:
    """The ``utm_campaign`` parameter of a URL, normalised, or None."""
    values = parse_qs(_split(url).query).get("utm_campaign")
    if not values or not values[0].strip():
        return None
    return normalise(values[0].strip())


def _split(url: str) -> SplitResult:
    text = url.strip()
    if not re.match(r"^[a-z][a-z0-9+.-]*://", text, re.IGNORECASE):
        text = "http://" + text
    return urlsplit(text)


def _host_path(url: str) -> tuple[str, str]:
    parts = _split(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    return host, parts.path.rstrip("/")


def _bare(marker: str, prefix: str) -> str:
    return normalise(marker.strip()).removeprefix(prefix).strip()


@dataclass(frozen=True, slots=True)
class MarkerMatch:
    """One marker found in a caption: its kind and the marker as the watchlist wrote it."""

    kind: MarkerKind
    marker: str

    def as_json(self) -> dict[str, str]:
        """The match as stored in ``campaign_post.matched``."""
        return {"kind": self.kind, "marker": self.marker}


@dataclass(frozen=True)
class _LinkMarker:
    marker: str
    campaign: str | None
    host: str
    path: str


@dataclass(frozen=True)
class CampaignMarkers:
    """The markers of one campaign, prepared once and matched against many captions."""

    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    promo_codes: tuple[str, ...] = ()
    links: tuple[str, ...] = ()
    _hashtags: dict[str, str] = field(init=False, repr=False, compare=False)
    _hashtag_keys: dict[str, str] = field(init=False, repr=False, compare=False)
    _mentions: dict[str, str] = field(init=False, repr=False, compare=False)
    _codes: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _code_names: dict[str, str] = field(init=False, repr=False, compare=False)
    _links: tuple[_LinkMarker, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        hashtags = {_bare(tag, "#"): tag for tag in self.hashtags if _bare(tag, "#")}
        keys = {
            darija_key(bare): tag
            for bare, tag in hashtags.items()
            if len(darija_key(bare)) >= MIN_DARIJA_KEY
        }
        mentions = {_bare(m, "@"): m for m in self.mentions if _bare(m, "@")}
        code_names = {_bare(code, ""): code for code in self.promo_codes if _bare(code, "")}
        codes = None
        if code_names:
            # Longest first, so a code that extends another is reported as itself.
            alternatives = "|".join(
                re.escape(code) for code in sorted(code_names, key=len, reverse=True)
            )
            codes = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")
        links = tuple(
            _LinkMarker(link, utm_campaign(link), *_host_path(link))
            for link in self.links
            if link.strip()
        )
        object.__setattr__(self, "_hashtags", hashtags)
        object.__setattr__(self, "_hashtag_keys", keys)
        object.__setattr__(self, "_mentions", mentions)
        object.__setattr__(self, "_codes", codes)
        object.__setattr__(self, "_code_names", code_names)
        object.__setattr__(self, "_links", links)

    @classmethod
    def from_json(cls, markers: Mapping[str, Any], *, brand: str | None = None) -> CampaignMarkers:
        """Markers as stored in ``campaign.markers``; a brand handle counts as a mention."""

        def listed(key: str) -> tuple[str, ...]:
            value = markers.get(key) or ()
            return tuple(str(item) for item in value if str(item).strip())

        mentions = listed("mentions")
        if brand and brand.strip().startswith("@"):
            mentions = (*mentions, brand.strip())
        return cls(
            hashtags=listed("hashtags"),
            mentions=mentions,
            promo_codes=listed("promo_codes"),
            links=listed("links"),
        )

    def is_empty(self) -> bool:
        """True when nothing could attribute a post (a campaign of manual assignments only)."""
        return not (self._hashtags or self._mentions or self._code_names or self._links)

    def codes(self) -> dict[str, str]:
        """Normalised promo codes and UTM campaign names → as the watchlist wrote them."""
        found = dict(self._code_names)
        for link in self._links:
            if link.campaign:
                found.setdefault(link.campaign, link.campaign)
        return found

    def match(self, caption: str | None) -> list[MarkerMatch]:
        """Every marker of this campaign the caption carries, each once, in marker order."""
        if not caption:
            return []
        text = normalise(caption)
        found: list[MarkerMatch] = []
        if self._hashtags:
            tags = find_hashtags(text)
            exact = set(tags) & self._hashtags.keys()
            loose = (
                {self._hashtag_keys[k] for k in map(darija_key, tags) if k in self._hashtag_keys}
                if self._hashtag_keys
                else set()
            )
            hits = {self._hashtags[tag] for tag in exact} | loose
            found.extend(MarkerMatch("hashtag", tag) for tag in self.hashtags if tag in hits)
        if self._mentions:
            handles = {handle.rstrip(".") for handle in find_mentions(text)}
            found.extend(
                MarkerMatch("mention", marker)
                for bare, marker in self._mentions.items()
                if bare in handles
            )
        if self._codes is not None:
            seen = {self._code_names[m] for m in self._codes.findall(text)}
            found.extend(MarkerMatch("promo_code", c) for c in self.promo_codes if c in seen)
        if self._links:
            found.extend(self._match_links(caption))
        return _unique(found)

    def _match_links(self, caption: str) -> Iterable[MarkerMatch]:
        urls = find_urls(caption)
        if not urls:
            return
        campaigns = {utm_campaign(url) for url in urls}
        places = [_host_path(url) for url in urls]
        for link in self._links:
            if link.campaign is not None:
                if link.campaign in campaigns:
                    yield MarkerMatch("link", link.marker)
            elif any(
                host == link.host and (path + "/").startswith(link.path + "/")
                for host, path in places
            ):
                yield MarkerMatch("link", link.marker)


def _unique(matches: Sequence[MarkerMatch]) -> list[MarkerMatch]:
    return list(dict.fromkeys(matches))

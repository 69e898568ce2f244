"""The dashboard's languages (English and French) and locale-aware number and date formats.

Labels are keyed by their English text, so a label missing from a catalogue shows in English
rather than as a key. Numbers, percentages, money and dates go through Babel with the CLDR data of
the page's locale (``1,234.5`` in English is ``1 234,5`` in French).
"""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Translator", "negotiate"]

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"

_FR: dict[str, str] = {
    "Collector": "Collector",
    "Creators": "Créateurs",
    "Creator": "Créateur",
    "Campaigns": "Campagnes",
    "Campaign": "Campagne",
    "Flags": "Alertes",
    "Flag": "Alerte",
    "Accounts": "Comptes",
    "Account": "Compte",
    "Other accounts": "Autres comptes",
    "Platform": "Plateforme",
    "Handle": "Identifiant",
    "Status": "Statut",
    "Tier": "Catégorie",
    "Followers": "Abonnés",
    "Following": "Abonnements",
    "Posts": "Publications",
    "Post": "Publication",
    "Engagement rate": "Taux d'engagement",
    "Open flags": "Alertes ouvertes",
    "Last collected": "Dernière collecte",
    "Tags": "Étiquettes",
    "No creator is watched yet.": "Aucun créateur n'est encore suivi.",
    "No campaign yet.": "Aucune campagne pour l'instant.",
    "No flag.": "Aucune alerte.",
    "No post yet.": "Aucune publication pour l'instant.",
    "Not enough data for a chart yet.": "Pas encore assez de données pour un graphique.",
    "Follower curve": "Courbe des abonnés",
    "Engagement per post": "Engagement par publication",
    "Engagement rate against the tier band": (
        "Taux d'engagement face à la fourchette de sa catégorie"
    ),
    "tier band": "fourchette de la catégorie",
    "median": "médiane",
    "below the band": "sous la fourchette",
    "within the band": "dans la fourchette",
    "above the band": "au-dessus de la fourchette",
    "no calibrated band": "pas de fourchette calibrée",
    "calibrated on watched accounts: {n}": "calibrée sur les comptes suivis : {n}",
    "Kind": "Type",
    "Severity": "Gravité",
    "Window": "Période",
    "Score": "Score",
    "Evidence": "Éléments",
    "Actions": "Actions",
    "Acknowledge": "Prendre en compte",
    "Dismiss": "Écarter",
    "Reopen": "Rouvrir",
    "open": "ouverte",
    "acknowledged": "prise en compte",
    "dismissed": "écartée",
    "all": "toutes",
    "low": "faible",
    "medium": "moyenne",
    "high": "élevée",
    "active": "actif",
    "unwatched": "plus suivi",
    "not_found": "introuvable",
    "private": "privé",
    "suspended": "suspendu",
    "nano": "nano",
    "micro": "micro",
    "mid": "intermédiaire",
    "macro": "macro",
    "mega": "méga",
    "Published": "Publiée",
    "Caption": "Légende",
    "Views": "Vues",
    "Likes": "J'aime",
    "Comments": "Commentaires",
    "Shares": "Partages",
    "Interactions": "Interactions",
    "Brand": "Marque",
    "Dates": "Dates",
    "Cost": "Coût",
    "Cost per engagement": "Coût par engagement",
    "Cost per view": "Coût par vue",
    "Cost per follower gained": "Coût par abonné gagné",
    "Followers gained": "Abonnés gagnés",
    "Orders": "Commandes",
    "Revenue": "Chiffre d'affaires",
    "ROI": "Retour sur investissement",
    "Cost per order": "Coût par commande",
    "Posts without disclosure": "Publications sans mention de partenariat",
    "Total": "Total",
    "Campaign posts": "Publications de la campagne",
    "Disclosure": "Mention de partenariat",
    "missing": "absente",
    "not paid": "non rémunéré",
    "upcoming": "à venir",
    "running": "en cours",
    "ended": "terminée",
    "Markers": "Marqueurs",
    "unknown": "inconnu",
    "Campaign figures are not available in this installation.": (
        "Les chiffres des campagnes ne sont pas disponibles dans cette installation."
    ),
    "A dash means unknown: an input is missing, it is not zero.": (
        "Un tiret signifie inconnu : une donnée manque, ce n'est pas zéro."
    ),
    "Download CSV": "Télécharger en CSV",
    "flagged period": "période signalée",
    "Sign in": "Connexion",
    "Access token": "Jeton d'accès",
    "The token is wrong.": "Le jeton est incorrect.",
    "Language": "Langue",
    "Page not found.": "Page introuvable.",
    "rounded by the platform": "arrondi par la plateforme",
    "hidden": "masqué",
    "from {start} to {end}": "du {start} au {end}",
    "last {n} posts": "{n} dernières publications",
    "Read API": "API de lecture",
    "{n} open": "{n} ouvertes",
}

_CATALOGUES: dict[str, dict[str, str]] = {"en": {}, "fr": _FR}


def negotiate(requested: str | None, accept_language: str | None) -> str:
    """The page language: ``?lang=`` if supported, else the best of Accept-Language."""
    if requested:
        lang = requested.strip().lower()[:2]
        if lang in LANGUAGES:
            return lang
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "").split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            # Higher quality first; among equals, the order the browser sent.
            ranked.append((-quality, index, tag))
    for _q, _i, tag in sorted(ranked):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


class Translator:
    """Labels and number formats of one language."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        self.locale = Locale.parse(self.lang)
        self._catalogue = _CATALOGUES[self.lang]

    def __call__(self, text: str, **values: object) -> str:
        """The label in this language, with ``{name}`` placeholders filled."""
        found = self._catalogue.get(text, text)
        return found.format(**values) if values else found

    def number(self, value: float | int | Decimal | None, digits: int = 0) -> str:
        """A number with the locale's separators; a dash when unknown."""
        if value is None:
            return "—"
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def signed(self, value: int | None) -> str:
        """An integer change with its sign (+1,200 / −300)."""
        if value is None:
            return "—"
        text = self.number(abs(value))
        return ("+" if value >= 0 else "−") + text

    def percent(self, value: float | None, digits: int = 2) -> str:
        """A fraction as a percentage (0.0123 → 1.23 % / 1,23 %); a dash when unknown."""
        if value is None:
            return "—"
        pattern = copy.copy(self.locale.percent_formats[None])
        pattern.frac_prec = (digits, digits)
        return str(pattern.apply(value, self.locale))

    def money(self, value: float | Decimal | None, currency: str | None) -> str:
        """An amount in its currency, or a plain number when the currency is unknown."""
        if value is None:
            return "—"
        if not currency:
            return self.number(value, 2)
        return format_currency(value, currency, locale=self.locale)

    def ratio(self, value: float | None) -> str:
        """A ratio such as ROI (1.5 → 150 %)."""
        return self.percent(value, 0)

    def date(self, value: date | datetime | None) -> str:
        """A calendar day in the locale's medium form."""
        if value is None:
            return "—"
        day = value.date() if isinstance(value, datetime) else value
        return format_date(day, format="medium", locale=self.locale)

    def datetime(self, value: datetime | None) -> str:
        """A moment in UTC in the locale's medium form, marked UTC."""
        if value is None:
            return "—"
        return format_datetime(value, format="medium", tzinfo=None, locale=self.locale) + " UTC"

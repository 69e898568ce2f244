"""The report's words in English and French, and numbers, money and dates in each locale.

Numbers go through Babel (CLDR data), so French reads ``4 000,00 MAD`` and ``1,23 %`` and
English ``MAD4,000.00`` and ``1.23%``. A missing value is an em dash, never 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent

from collector.campaigns.metrics import MISSING_REASONS, Figure

__all__ = ["LANGS", "MISSING", "Formatter", "Lang", "labels"]

Lang = Literal["en", "fr"]
LANGS: tuple[Lang, ...] = ("en", "fr")
MISSING = "—"

_LABELS: dict[str, tuple[str, str]] = {
    # key: (English, French)
    "title": ("Collector report", "Rapport Collector"),
    "generated": ("Generated on {when} (UTC)", "Généré le {when} (UTC)"),
    "campaign": ("Campaign", "Campagne"),
    "campaign_heading": ("Campaign: {name}", "Campagne : {name}"),
    "campaigns": ("Campaigns", "Campagnes"),
    "brand": ("Brand", "Marque"),
    "dates": ("Dates", "Dates"),
    "from_to": ("{start} to {end}", "du {start} au {end}"),
    "open_date": ("open", "non fixée"),
    "status": ("Status", "Statut"),
    "status.upcoming": ("upcoming", "à venir"),
    "status.running": ("running", "en cours"),
    "status.ended": ("ended", "terminée"),
    "markers": ("Markers", "Marqueurs"),
    "results": ("Results", "Résultats"),
    "creators": ("Creators", "Créateurs"),
    "creator": ("Creator", "Créateur"),
    "account": ("Account", "Compte"),
    "accounts": ("Accounts", "Comptes"),
    "total": ("Total", "Total"),
    "paid": ("paid", "rémunéré"),
    "not_paid": ("not paid", "non rémunéré"),
    "tier": ("Tier", "Palier"),
    "tier.nano": ("nano", "nano"),
    "tier.micro": ("micro", "micro"),
    "tier.mid": ("mid", "intermédiaire"),
    "tier.macro": ("macro", "macro"),
    "tier.mega": ("mega", "méga"),
    "followers": ("Followers", "Abonnés"),
    "posts": ("Posts", "Publications"),
    "undisclosed_posts": ("Posts without disclosure", "Publications sans mention"),
    "views": ("Views", "Vues"),
    "interactions": ("Interactions", "Interactions"),
    "engagement_rate_by_followers": (
        "Engagement rate (followers)",
        "Taux d'engagement (abonnés)",
    ),
    "engagement_rate_by_views": ("Engagement rate (views)", "Taux d'engagement (vues)"),
    "followers_gained": ("Followers gained", "Abonnés gagnés"),
    "cost": ("Cost", "Coût"),
    "cost_per_engagement": ("Cost per engagement", "Coût par interaction"),
    "cost_per_view": ("Cost per view", "Coût par vue"),
    "cost_per_follower_gained": ("Cost per follower gained", "Coût par abonné gagné"),
    "orders": ("Orders", "Commandes"),
    "revenue": ("Revenue", "Chiffre d'affaires"),
    "roi": ("ROI", "ROI (retour sur investissement)"),
    "cost_per_order": ("Cost per order", "Coût par commande"),
    "follower_curve": ("Follower curve", "Courbe d'abonnés"),
    "engagement_per_post": ("Engagement per post", "Engagement par publication"),
    "band_chart": (
        "Engagement rate against the tier band",
        "Taux d'engagement face à la fourchette du palier",
    ),
    "band_legend": (
        "Band: where the middle 80 % of the tier's accounts fall (calibrated on the watchlist "
        "and published benchmarks); line: the tier's median; dot: the account's median "
        "engagement rate over its posts of the last 90 days.",
        "Fourchette : là où se situent 80 % des comptes du palier (calibrée sur les comptes "
        "suivis et les références publiées) ; trait : la médiane du palier ; point : le taux "
        "d'engagement médian du compte sur ses publications des 90 derniers jours.",
    ),
    "position.below": ("below the band", "sous la fourchette"),
    "position.within": ("within the band", "dans la fourchette"),
    "position.above": ("above the band", "au-dessus de la fourchette"),
    "median": ("median", "médiane"),
    "campaign_period": ("campaign period", "période de la campagne"),
    "campaign_post": ("campaign post", "publication de la campagne"),
    "other_post": ("other post", "autre publication"),
    "no_disclosure": ("no sponsorship disclosure", "sans mention de partenariat"),
    "flags": ("Flags", "Alertes"),
    "flag": ("flag", "alerte"),
    "no_flags": ("No open flag.", "Aucune alerte ouverte."),
    "kind": ("Kind", "Type"),
    "severity": ("Severity", "Gravité"),
    "severity.low": ("low", "faible"),
    "severity.medium": ("medium", "moyenne"),
    "severity.high": ("high", "élevée"),
    "flag_status.open": ("open", "ouverte"),
    "flag_status.acknowledged": ("acknowledged", "prise en compte"),
    "flag_status.dismissed": ("dismissed", "écartée"),
    "kind.disclosure": ("sponsorship disclosure missing", "mention de partenariat absente"),
    "explanation.disclosure": (
        "a paid campaign post without a sponsorship disclosure in its caption",
        "une publication rémunérée de la campagne sans mention de partenariat dans sa légende",
    ),
    "evidence.explanation": ("explanation", "explication"),
    "evidence.campaigns": ("campaigns", "campagnes"),
    "evidence.platform_post_id": ("post id on the platform", "identifiant sur la plateforme"),
    "evidence.url": ("address", "adresse"),
    "evidence.published_at": ("published", "publiée le"),
    "evidence.campaign_markers": ("campaign markers", "marqueurs de campagne"),
    "evidence.caption_excerpt": ("caption", "légende"),
    "window": ("Window", "Période"),
    "score": ("Score", "Score"),
    "evidence": ("Evidence", "Éléments"),
    "campaign_posts": ("Campaign posts", "Publications de la campagne"),
    "date": ("Date", "Date"),
    "caption": ("Caption", "Légende"),
    "disclosure": ("Disclosure", "Mention publicitaire"),
    "disclosure_missing": ("missing", "absente"),
    "source": ("Attribution", "Attribution"),
    "source.auto": ("markers", "marqueurs"),
    "source.manual": ("by hand", "manuelle"),
    "no_data": ("No data yet.", "Pas encore de données."),
    "no_posts": ("No campaign post yet.", "Aucune publication de campagne pour l'instant."),
    "definition": (
        "Engagement rate = interactions (likes + comments + shares + saves, where the platform "
        "publishes them) of a post divided by the account's followers at publication, and "
        "separately by its views. A dash (—) is a figure that cannot be computed from the data "
        "collected; hover it to see why. Amounts in different currencies are never added.",
        "Taux d'engagement = interactions (j'aime + commentaires + partages + enregistrements, "
        "lorsque la plateforme les publie) d'une publication divisées par les abonnés du compte "
        "au moment de la publication, et séparément par ses vues. Un tiret (—) est un chiffre "
        "qui ne peut pas être calculé avec les données collectées ; survolez-le pour savoir "
        "pourquoi. Des montants en devises différentes ne sont jamais additionnés.",
    ),
    "computed_from": ("computed from", "calculé à partir de"),
    "partial": ("known for only part of the posts", "connu pour une partie des publications"),
}

_REASONS_FR: dict[str, str] = {
    "no_posts": "pas encore de publication de campagne",
    "not_published": "la plateforme ne publie pas ce chiffre pour ces publications",
    "incomplete": "connu pour une partie seulement des publications ou comptes que couvre le coût",
    "zero": "le diviseur est nul",
    "no_start": "la campagne n'a pas de date de début",
    "not_started": "la campagne n'a pas commencé",
    "no_snapshot_before_start": "aucun nombre d'abonnés avant le début de la campagne",
    "no_snapshot_since_start": "aucun nombre d'abonnés depuis le début de la campagne",
    "no_followers_gained": "aucun abonné gagné",
    "not_paid": "ce créateur n'est pas rémunéré par la campagne",
    "no_paid_creators": "la campagne ne liste aucun créateur rémunéré",
    "cost_not_given": "la liste de suivi ne donne pas de coût",
    "mixed_currencies": "des montants en devises différentes ne sont pas additionnés",
    "currency_mismatch": "le chiffre d'affaires et le coût sont dans des devises différentes",
    "no_conversions": "aucune conversion importée",
    "conversions_not_attributable": (
        "aucun des codes importés n'apparaît seulement dans les publications de ce créateur"
    ),
}

_FORMULAS_FR: dict[str, str] = {
    "sum of the posts' latest views": "somme des dernières vues des publications",
    "sum of likes + comments + shares + saves, where published": (
        "somme j'aime + commentaires + partages + enregistrements, lorsque publiés"
    ),
    "mean over posts of interactions / followers at publication": (
        "moyenne par publication des interactions / abonnés à la publication"
    ),
    "interactions / views over posts publishing both": (
        "interactions / vues des publications qui publient les deux"
    ),
    "followers at end − followers at start, per account": (
        "abonnés à la fin − abonnés au début, par compte"
    ),
    "sum of the creators' followers gained": "somme des abonnés gagnés par les créateurs",
    "cost in the watchlist": "coût indiqué dans la liste de suivi",
    "sum of the paid creators' costs": "somme des coûts des créateurs rémunérés",
    "cost / interactions": "coût / interactions",
    "cost / views": "coût / vues",
    "cost / followers gained": "coût / abonnés gagnés",
    "cost / orders": "coût / commandes",
    "sum of imported orders": "somme des commandes importées",
    "sum of imported revenue": "somme du chiffre d'affaires importé",
    "(revenue − cost) / cost": "(chiffre d'affaires − coût) / coût",
}


def labels(lang: Lang) -> dict[str, str]:
    """Every label of the report in one language."""
    index = LANGS.index(lang)
    return {key: pair[index] for key, pair in _LABELS.items()}


class Formatter:
    """Numbers, percentages, money and dates as the locale writes them."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self.locale = Locale.parse(lang)
        pattern = self.locale.percent_formats[None].pattern
        self._percent = pattern.replace("#,##0", "#,##0.00", 1)

    def number(self, value: int | float | Decimal | None) -> str:
        """A count or plain number; the em dash when unknown."""
        if value is None:
            return MISSING
        return format_decimal(value, locale=self.locale)

    def percent(self, value: float | Decimal | None) -> str:
        """A fraction as a percentage with two decimals (0.0123 → 1.23 %)."""
        if value is None:
            return MISSING
        return format_percent(value, format=self._percent, locale=self.locale)

    def money(self, value: int | float | Decimal | None, currency: str | None) -> str:
        """An amount; below one unit it keeps four decimals, so costs per view stay visible."""
        if value is None:
            return MISSING
        amount = Decimal(value)
        if abs(amount) >= 1:
            amount = amount.quantize(Decimal("0.01"))
        else:
            amount = amount.quantize(Decimal("0.0001")).normalize()
            if amount.as_tuple().exponent > -2:  # type: ignore[operator]
                amount = amount.quantize(Decimal("0.01"))
        if currency is None:
            return format_decimal(amount, locale=self.locale, decimal_quantization=False)
        return format_currency(
            amount,
            currency,
            locale=self.locale,
            currency_digits=False,
            decimal_quantization=False,
        )

    def date(self, value: date | datetime | None) -> str:
        """A calendar day, medium length (1 nov. 2026 / Nov 1, 2026)."""
        if value is None:
            return MISSING
        if isinstance(value, datetime):
            value = value.astimezone(UTC).date()
        return format_date(value, format="medium", locale=self.locale)

    def datetime(self, value: datetime | None) -> str:
        """A moment in UTC, medium length."""
        if value is None:
            return MISSING
        return format_datetime(value, format="medium", tzinfo=UTC, locale=self.locale)

    def reason(self, code: str | None) -> str:
        """Why a figure is missing, in words."""
        if code is None:
            return ""
        if self.lang == "fr":
            return _REASONS_FR.get(code, code)
        return MISSING_REASONS.get(code, code)

    def formula(self, text: str) -> str:
        """A figure's formula in this language."""
        return _FORMULAS_FR.get(text, text) if self.lang == "fr" else text

    def figure(self, figure: Figure, kind: str = "number") -> str:
        """A figure's value as text: ``kind`` is number, percent, money or ratio."""
        if figure.value is None:
            return MISSING
        if kind == "percent" or kind == "ratio":
            return self.percent(figure.value)
        if kind == "money":
            return self.money(figure.value, figure.unit)
        return self.number(figure.value)

    def explain(self, figure: Figure, names: Mapping[str, str]) -> str:
        """The tooltip of a figure: its formula, what it is computed from, or why it is missing."""
        parts = [self.formula(figure.formula)]
        if figure.value is None:
            parts.append(self.reason(figure.missing))
        else:
            used = _inputs_text(figure.inputs, self)
            if used:
                parts.append(f"{names['computed_from']}: {used}")
            if not figure.complete:
                parts.append(names["partial"])
        return " — ".join(part for part in parts if part)


_INPUTS_FR: dict[str, str] = {
    "posts": "publications",
    "posts_with_count": "publications avec ce chiffre",
    "posts_with_rate": "publications avec un taux",
    "posts_with_both": "publications avec les deux",
    "views": "vues",
    "interactions": "interactions",
    "cost": "coût",
    "revenue": "chiffre d'affaires",
    "orders": "commandes",
    "followers_gained": "abonnés gagnés",
    "rows": "lignes",
    "known": "connus",
    "of": "sur",
    "creators": "créateurs",
}


def _inputs_text(inputs: Mapping[str, object], fmt: Formatter) -> str:
    shown = []
    for key, value in inputs.items():
        if isinstance(value, bool | list | dict | tuple) or key.endswith("_id"):
            continue
        if isinstance(value, int | float | Decimal):
            name = _INPUTS_FR.get(key, key) if fmt.lang == "fr" else key
            shown.append(f"{name.replace('_', ' ')} {fmt.number(value)}")
    return ", ".join(shown)

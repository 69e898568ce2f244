"""Marker matching: case, accents, width, Arabic, Darija in Latin letters, codes and links."""

from __future__ import annotations

import pytest

from collector.campaigns.markers import CampaignMarkers, MarkerMatch, darija_key, normalise


def kinds(markers: CampaignMarkers, caption: str) -> list[tuple[str, str]]:
    return [(m.kind, m.marker) for m in markers.match(caption)]


def test_normalise_folds_case_accents_and_full_width_letters() -> None:
    assert normalise("SPONSORISÉ ＳＯＵＫ２６ ＃Ａｄ Ça") == "sponsorise souk26 #ad ca"


def test_normalise_removes_tatweel_and_harakat() -> None:
    assert normalise("إعـــلاَنٌ") == normalise("اعلان") == "اعلان"


def test_normalise_unifies_alef_ya_and_ta_marbuta_forms() -> None:
    assert normalise("أإآٱ") == "اااا"
    assert normalise("مستشفى") == normalise("مستشفي")
    assert normalise("شراكة") == normalise("شراكه")


def test_normalise_reads_eastern_arabic_digits_as_ascii() -> None:
    assert normalise("SOUK٢٦ ۲۰۲۶") == "souk26 2026"


def test_normalise_drops_invisible_joiners_and_direction_marks() -> None:
    assert normalise("#sou\u200bk\u200fmoderne") == "#soukmoderne"


def test_hashtag_matches_whatever_the_case_and_accents() -> None:
    markers = CampaignMarkers(hashtags=("#fêtedesmères",))
    assert kinds(markers, "Bonne #FETEDESMERES à toutes") == [("hashtag", "#fêtedesmères")]


def test_hashtag_matches_full_width_writing() -> None:
    markers = CampaignMarkers(hashtags=("#soukmoderne",))
    assert kinds(markers, "＃ＳｏｕｋＭｏｄｅｒｎｅ") == [("hashtag", "#soukmoderne")]


def test_hashtag_does_not_match_inside_a_longer_hashtag() -> None:
    markers = CampaignMarkers(hashtags=("#souk",))
    assert markers.match("#soukmoderne #souks") == []


def test_arabic_hashtag_matches_with_or_without_hamza_and_harakat() -> None:
    markers = CampaignMarkers(hashtags=("#رمضان_أحلى",))
    assert kinds(markers, "عرض خاص #رمضـان_احلىٰ") == [("hashtag", "#رمضان_أحلى")]


@pytest.mark.parametrize(
    "caption",
    ["#RamadanM3akoum", "#ramadan_maakom", "#ramadanm3akom", "#RAMADANMAAKOUM"],
)
def test_darija_hashtag_matches_its_latin_spellings(caption: str) -> None:
    markers = CampaignMarkers(hashtags=("#ramadanm3akom",))
    assert kinds(markers, f"Yallah {caption}!") == [("hashtag", "#ramadanm3akom")]


def test_arabizi_digits_stand_for_letters_only_inside_words() -> None:
    assert darija_key("3id") == darija_key("eid") == darija_key("aid")
    assert darija_key("l3id") == darija_key("laid")
    assert darija_key("7ayat") == darija_key("hayat")
    assert darija_key("9ahwa") == darija_key("qahwa")
    # A number stays a number: 2026 is not "a0a6".
    assert darija_key("ramadan2026") != darija_key("ramadanaa")


def test_short_hashtag_gets_no_spelling_tolerance() -> None:
    markers = CampaignMarkers(hashtags=("#mode",))
    assert markers.match("#mood #made") == []


def test_mention_matches_case_insensitively_and_ignores_trailing_dot() -> None:
    markers = CampaignMarkers(mentions=("@Souk.Moderne",))
    assert kinds(markers, "avec @souk.moderne.") == [("mention", "@Souk.Moderne")]


def test_an_email_address_is_not_a_mention() -> None:
    markers = CampaignMarkers(mentions=("@souk.moderne",))
    assert markers.match("écrivez à contact@souk.moderne") == []


def test_mention_gets_no_spelling_tolerance() -> None:
    markers = CampaignMarkers(mentions=("@soukmoderne",))
    assert markers.match("@soukmodern") == []


def test_promo_code_matches_as_a_whole_word_anywhere() -> None:
    markers = CampaignMarkers(promo_codes=("SOUK26",))
    assert kinds(markers, "code:souk26! -15%") == [("promo_code", "SOUK26")]
    assert kinds(markers, "كود SOUK٢٦") == [("promo_code", "SOUK26")]


def test_promo_code_does_not_match_inside_a_longer_code() -> None:
    markers = CampaignMarkers(promo_codes=("SOUK26",))
    assert markers.match("code SOUK260 or XSOUK26") == []


def test_link_matches_by_its_utm_campaign() -> None:
    markers = CampaignMarkers(links=("https://shop.example/?utm_source=ig&utm_campaign=Ramadan26",))
    caption = "Shop: https://shop.example/promo?utm_campaign=ramadan26&utm_medium=bio."
    assert kinds(markers, caption) == [
        ("link", "https://shop.example/?utm_source=ig&utm_campaign=Ramadan26")
    ]


def test_link_with_another_utm_campaign_does_not_match() -> None:
    markers = CampaignMarkers(links=("https://shop.example/?utm_campaign=ramadan26",))
    assert markers.match("https://shop.example/?utm_campaign=soldes") == []


def test_link_without_utm_campaign_matches_host_and_path() -> None:
    markers = CampaignMarkers(links=("https://www.shop.example/ramadan",))
    assert kinds(markers, "www.shop.example/ramadan/caftans") == [
        ("link", "https://www.shop.example/ramadan")
    ]
    assert markers.match("https://shop.example/ramadanx") == []


def test_brand_handle_counts_as_a_mention() -> None:
    markers = CampaignMarkers.from_json({"hashtags": ["#x2026"]}, brand="@marque")
    assert kinds(markers, "merci @MARQUE") == [("mention", "@marque")]


def test_every_marker_is_reported_once_in_marker_order() -> None:
    markers = CampaignMarkers(hashtags=("#a2026", "#b2026"), promo_codes=("CODE1",))
    found = markers.match("#b2026 CODE1 #a2026 #A2026 code1")
    assert found == [
        MarkerMatch("hashtag", "#a2026"),
        MarkerMatch("hashtag", "#b2026"),
        MarkerMatch("promo_code", "CODE1"),
    ]


def test_codes_lists_promo_codes_and_utm_campaigns() -> None:
    markers = CampaignMarkers(
        promo_codes=("SOUK26",), links=("https://x.example/?utm_campaign=FinAnnee",)
    )
    assert markers.codes() == {"souk26": "SOUK26", "finannee": "finannee"}

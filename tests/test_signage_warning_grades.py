"""A signage screen under a warning without 警戒レベル shows the warning, not a made-up level.

暴風警報 and 波浪警報 carry no 警戒レベル; the screen used to derive one from the CAP-style
severity (Severe → "警戒レベル4相当") and print level 4's action, "危険な場所から全員避難",
under a wind warning. Now it shows the warning class and names (警報: 暴風警報), in the
class's colour, with no evacuation call the warning never made. Real 富山県 telegrams.
"""

from __future__ import annotations

import pytest

from lalert.model import EnrichedAlert
from lalert.outputs.signage.content import build, matches_for, phrases
from lalert.outputs.signage.screens import Screen
from lalert.parsers import parse
from lalert.vocab import LEVEL_COLOURS

SNOW_SPECIAL = "15_11_03_150916_VPWW54.xml"  # 富山市, 魚津市 …: 大雪特別警報
STORM = "15_06_03_100514_VPWW50.xml"  # 魚津市: 暴風警報 + 波浪警報
ADVISORIES = "15_04_01_100514_VPWW50.xml"  # 魚津市: 大雪注意報 …
NARA_53 = "15_08_01_130412_VPWW53.xml"  # 十津川村: 大雨特別警報 (警戒レベル5相当)
UOZU = Screen(id="uozu", name="魚津市役所", areas=("jma.city:1620400",),
              languages=("ja", "en"))


def _load(corpus, name) -> EnrichedAlert:
    a = parse((corpus / "xml" / "jma" / name).read_bytes())[0]
    return EnrichedAlert(alert=a, areas=a.areas)


def _tr(lang: str, msgid: str) -> str:
    from lalert.i18n import gettext

    return gettext(lang, msgid)


def test_a_wind_warning_is_not_an_evacuation_call(corpus):
    body = build(UOZU, [_load(corpus, STORM)], tr=_tr)
    main = body["main"]
    assert body["mode"] == "takeover" and main["level"] is None  # a warning: on screen
    assert main["grade_names"] == ["暴風警報", "波浪警報"]
    assert main["colour"] == LEVEL_COLOURS[3]
    ja, en = body["text"]["ja"], body["text"]["en"]
    assert ja["level"] == "警報" and "暴風警報" in ja["level_words"]
    assert en["level"] == "Warning"
    assert "action" not in ja  # no "危険な場所から全員避難" the warning never said
    assert "警戒レベル" not in str(ja)


@pytest.mark.parametrize("name,word,paint", [(SNOW_SPECIAL, "特別警報", 5),
                                             (ADVISORIES, "注意報", 2)])
def test_each_warning_class_in_its_own_colour(corpus, name, word, paint):
    (m,) = matches_for(UOZU, [_load(corpus, name)])
    assert m.level is None and m.rank == paint
    body = build(UOZU, [_load(corpus, name)], tr=_tr)
    view = body["main"] or body["info"][0]
    assert view["paint"] == paint and body["text"]["ja"].get("level", word) == word


def test_the_page_shows_the_class_and_takes_over_for_the_special_warning(corpus):
    from lalert.outputs.signage.render import Renderer

    body = build(UOZU, [_load(corpus, SNOW_SPECIAL)], tr=_tr)
    html = Renderer().screen_page(body, UOZU, "ja")
    assert "mode-takeover" in html and "lv-5" in html
    assert "特別警報" in html and "大雪特別警報" in html
    assert "警戒レベル5" not in html and "命の危険" not in html


def test_levels_still_rule_where_they_apply(corpus):
    nara = _load(corpus, NARA_53)
    screen = Screen(id="t", name="十津川村", areas=("jma.city:2944900",))
    (m,) = matches_for(screen, [nara])
    assert m.level == 5 and m.grade is None
    assert phrases(build(screen, [nara], tr=_tr), "ja", _tr)["level"].startswith("警戒レベル5")


@pytest.mark.parametrize("name,area,word,paint,named", [
    ("32-39_11_02_250206_VTSE41.xml", "jma.tsunami_region:210", "特別警報", 5, "大津波警報"),
    ("45_01_01_200522_VFVO50.xml", "jma.city:2032100", "警報", 3, "火口周辺警報"),
])
def test_tsunami_and_volcano_warnings_say_what_they_are(corpus, name, area, word, paint, named):
    """大津波警報 is a 特別警報 and 火口周辺警報 a 警報; neither has a 警戒レベル (a volcano's
    噴火警戒レベル is another scale), so neither may be shown as "警戒レベルN相当"."""
    screen = Screen(id="s", name="s", areas=(area,), languages=("ja", "en"))
    body = build(screen, [_load(corpus, name)], tr=_tr)
    main = body["main"]
    assert main["level"] is None and main["paint"] == paint
    assert any(named in n for n in main["grade_names"])
    assert body["text"]["ja"]["level"] == word and "警戒レベル" not in str(body["text"])


def test_no_site_known_nearby_is_not_headed_as_a_list_of_designated_sites(corpus):
    """十津川村 under 大雨特別警報 with no site in the registry near the screen: the box
    says there is no open-site information, not "近くの指定避難場所：" over nothing."""
    from lalert.outputs.signage.render import Renderer

    nara = _load(corpus, NARA_53)
    screen = Screen(id="t", name="十津川村役場", areas=("jma.city:2944900",),
                    languages=("ja", "en"))
    body = build(screen, [nara], tr=_tr)
    assert body["main"] is not None and body["shelters"] == []
    html = Renderer().screen_page(body, screen, "ja")
    assert "近くの指定避難場所" not in html
    assert "近くで開設中の避難場所の情報がありません" in html


TSUNAMI = "32-39_11_02_250206_VTSE41.xml"  # 大津波警報 for 岩手県 … (forecast regions)
MIYAKO = Screen(id="miyako", name="宮古市役所", lat=39.6413, lon=141.9571,
                languages=("ja", "en"))


def test_a_warning_no_screen_can_place_is_named_not_left_out(corpus):
    """A coastal screen placed by a point, during a 大津波警報 whose forecast regions have
    no polygon: nothing matches the point, yet the screen must not look clear. It names
    the warning and its regions under the map's words for it, and does not take over
    (whether the screen lies inside is unknown)."""
    from lalert.outputs.signage.render import Renderer

    body = build(MIYAKO, [_load(corpus, TSUNAMI), _load(corpus, ADVISORIES)], tr=_tr)
    assert body["mode"] == "normal" and body["info"] == []
    # each region beside the class in force there, gravest first; 注意報 (below the
    # screen's min_level 3), the tsunami's and 魚津市's, are not named
    special, warning = body["unplaced"]
    assert special["grade"] == 4 and special["paint"] == 5
    assert any("大津波警報" in n for n in special["grade_names"])
    assert special["areas"] == ["岩手県", "宮城県", "福島県"]
    assert warning["grade"] == 2 and warning["grade_names"] == ["津波警報"]
    assert "茨城県" in warning["areas"] and "岩手県" not in warning["areas"]
    html = Renderer().screen_page(body, MIYAKO, "ja")
    assert "地図に範囲を示せない地域に発表中の情報" in html and "岩手県" in html
    assert "現在、この地域に警報・避難情報はありません。" not in html


def test_a_screen_that_lists_the_region_is_taken_over_and_names_it_once(corpus):
    from lalert.outputs.signage.render import Renderer

    screen = Screen(id="m", name="宮古", areas=("jma.tsunami_region:210",),
                    languages=("ja",))
    tsunami, nara = _load(corpus, TSUNAMI), _load(corpus, NARA_53)
    body = build(screen, [tsunami, nara], tr=_tr)
    assert body["mode"] == "takeover" and body["main"]["id"] == tsunami.alert.id
    # Nara's telegram has no shapes here either: it is named beside the takeover
    assert {u["id"] for u in body["unplaced"]} == {nara.alert.id}
    html = Renderer().screen_page(body, screen, "ja")
    assert "地図に範囲を示せない地域に発表中の情報" in html


def test_an_unplaced_alert_names_only_what_is_in_force(corpus):
    """Nara's part-lifting telegram (強風注意報 and 雷注意報 lifted everywhere) seen from a
    screen it cannot be placed against: the lifted warnings are not named."""
    body = build(MIYAKO, [_load(corpus, "15_08_04_160628_VPWW53.xml")], tr=_tr)
    (u,) = body["unplaced"]
    assert "大雨特別警報" in u["hazard_names"]
    assert "強風注意報" not in u["hazard_names"] and "雷注意報" not in u["hazard_names"]

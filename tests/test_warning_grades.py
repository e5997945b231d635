"""A place under a warning without 警戒レベル is told its warning class, not "no level".

大雪・暴風・波浪 warnings carry no 警戒レベル, so a town under 大雪特別警報 — the gravest
warning JMA issues — was painted "no level" grey with a "!" beside towns under 注意報. The
map now paints each such place in JMA's own warning colours (特別警報 / 警報 / 注意報 as
levels 5 / 3 / 2) and names the class and the warnings; places with a level are unchanged.
Real 富山県 telegrams over the corpus polygons.
"""

from __future__ import annotations

import pytest
import shapely

from lalert.parsers import parse
from lalert.vocab import LEVEL_COLOURS

SNOW_SPECIAL = "15_11_03_150916_VPWW54.xml"  # 富山市 …: 大雪特別警報, 暴風雪警報, 波浪警報
STORM = "15_06_03_100514_VPWW50.xml"  # 魚津市: 暴風警報; 富山市: 波浪警報 + 強風注意報
ADVISORIES = "15_04_01_100514_VPWW50.xml"  # 大雪注意報, 雷注意報 …
NARA_53 = "15_08_01_130412_VPWW53.xml"  # levels: 十津川村 5, 三宅町 2


@pytest.fixture(scope="module")
def enriched(corpus, jma_geo):
    from lalert.geo.enrich import enrich

    geo = jma_geo

    def load(name):
        return enrich(parse((corpus / "xml" / "jma" / name).read_bytes())[0], geo)

    return load, geo


def _places(ea, lang="ja"):
    from lalert.outputs.publicmap.data import alert_features

    return {f["properties"]["area"]: f["properties"]
            for f in alert_features([ea], lang)["features"]}


def test_a_town_under_a_special_snow_warning_is_painted_as_the_gravest(enriched):
    load, _geo = enriched
    ea = load(SNOW_SPECIAL)
    assert ea.alert.level is None  # no 警戒レベル for snow, wind or waves
    toyama = _places(ea)["富山市"]
    assert toyama["level"] is None
    assert toyama["grade_word"] == "特別警報" and toyama["grade_level"] == 5
    assert toyama["colour"] == LEVEL_COLOURS[5]
    assert "大雪特別警報" in toyama["level_label"]
    assert _places(ea, "en")["富山市"]["grade_word"] == "Emergency warning"


def test_warnings_and_advisories_take_their_own_colours(enriched):
    load, _geo = enriched
    storm = _places(load(STORM))
    assert storm["魚津市"]["grade_word"] == "警報"
    assert storm["魚津市"]["colour"] == LEVEL_COLOURS[3]
    assert "暴風警報" in storm["魚津市"]["level_label"]
    # 富山市 has 波浪警報 and 強風注意報: the gravest class there, named alone
    assert storm["富山市"]["grade_level"] == 3 and "強風注意報" not in storm["富山市"]["level_label"]
    advisories = _places(load(ADVISORIES))
    assert {p["grade_word"] for p in advisories.values()} == {"注意報"}
    assert {p["colour"] for p in advisories.values()} == {LEVEL_COLOURS[2]}


def test_places_with_a_level_are_unchanged(enriched):
    load, _geo = enriched
    nara = _places(load(NARA_53))
    assert nara["十津川村"]["level"] == 5 and nara["十津川村"]["grade_word"] is None
    assert nara["三宅町"]["level"] == 2 and nara["三宅町"]["colour"] == LEVEL_COLOURS[2]


def test_where_am_i_names_the_warning_class_at_the_point(enriched):
    from lalert.outputs.publicmap.data import Here

    load, geo = enriched
    snow, storm = load(SNOW_SPECIAL), load(STORM)
    area = next(a for a in snow.active_areas() if a.name == "富山市" and a.geometry)
    p = shapely.geometry.shape(area.geometry).representative_point()
    said = Here.build([storm, snow], geo).answer(p.y, p.x, lang="ja")["alerts"]
    assert {a["grade_word"] for a in said} == {"特別警報", "警報"}
    assert said[0]["grade_word"] == "特別警報"  # the gravest first


def test_text_names_the_warning_class_of_each_place(enriched):
    from lalert.outputs.publicmap.text import render_text

    load, geo = enriched
    html = render_text([load(STORM)], geo, lang="ja", updated="2026-07-03T10:00:00+09:00")
    line = {li.split(":", 1)[0].strip(): li for li in html.split("<li>") if ":" in li}
    uozu = next(v for k, v in line.items() if "魚津市" in k)
    assert "警報: 暴風警報" in uozu


# --- push: min_level judged by the warning class where no 警戒レベル applies -----------

HYOGO_STORM = "15_10_03_160628_VPWW53.xml"  # 大雨特別警報 (level 5) here, 暴風特別警報 in 伊丹市


def _at(ea, name, sub_id, min_level):
    from lalert.subscriptions import Subscription

    area = next(a for a in ea.active_areas() if a.name == name and a.geometry)
    p = shapely.geometry.shape(area.geometry).representative_point()
    return Subscription(sub_id, "webpush", lat=p.y, lon=p.x, min_level=min_level)


def test_the_gravest_warning_without_a_level_reaches_level_4_subscribers(enriched):
    """伊丹市 is under 暴風特別警報 (no 警戒レベル) while other towns of the telegram are at
    level 5: its subscriber who asked for level 4 and above must be told."""
    from lalert.subscriptions import SubscriptionIndex, match

    load, _geo = enriched
    ea = load(HYOGO_STORM)
    itami = next(a for a in ea.active_areas() if a.name == "伊丹市")
    assert ea.alert.area_levels()[(itami.scheme, itami.code, None)] is None
    subs = [_at(ea, "伊丹市", "itami-l4", 4), _at(ea, "伊丹市", "itami-l5", 5)]
    assert set(match(ea, SubscriptionIndex.build(subs))) == {"itami-l4", "itami-l5"}


def test_a_snow_warning_telegram_reaches_each_town_by_its_own_class(enriched):
    """富山県's 大雪特別警報 telegram has no 警戒レベル anywhere: 富山市 (特別警報) reaches a
    level-4 subscriber; a town under 注意報 only does not (its severity once made it 5)."""
    from lalert.subscriptions import SubscriptionIndex, match

    load, _geo = enriched
    ea = load(SNOW_SPECIAL)
    advisory_only = next(n for n, p in _places(ea).items() if p["grade_word"] == "注意報")
    subs = [_at(ea, "富山市", "toyama-l4", 4), _at(ea, advisory_only, "calm-l4", 4),
            _at(ea, advisory_only, "calm-l2", 2)]
    assert set(match(ea, SubscriptionIndex.build(subs))) == {"toyama-l4", "calm-l2"}


def test_the_notification_names_the_warning_where_no_level_applies(enriched):
    """The 伊丹市 subscriber's notification says 特別警報: 暴風特別警報, not the level 5 of
    the 大雨特別警報 towns nor nothing at all."""
    import json

    from lalert.changes import AlertChange
    from lalert.outputs.delivery import change_json
    from lalert.outputs.webpush.output import payload

    load, _geo = enriched
    ea = load(HYOGO_STORM)
    change = AlertChange(seq=1, kind="issued", reason="new", alert=ea, at="2016-06-28T00:00:00Z")
    body = json.loads(change_json(change))
    sub = _at(ea, "伊丹市", "itami", 4)
    told = payload(body, "{base_url}/map?alert={id}", "http://x", sub=sub)
    assert told["level"] is None and told["place"] == "伊丹市"
    assert told["level_label"] == "特別警報: 暴風特別警報"

"""Each place is told the 警戒レベル in force there, not the alert's highest anywhere.

A prefecture's warning telegram puts 大雨特別警報 (level 5) on some towns and only
注意報 on others; the map paints, labels and answers "where am I" per place, and /text
lists each place with its own level.
"""

from __future__ import annotations

import pytest

from lalert.model import Alert, Area, Evacuation, Hazard, area_key
from lalert.parsers import parse

NARA_53 = "15_08_01_130412_VPWW53.xml"  # 奈良県: 大雨特別警報 in 五條市・十津川村 …, 注意報 in 三宅町


def _nara(corpus) -> Alert:
    return parse((corpus / "xml" / "jma" / NARA_53).read_bytes())[0]


def _by_name(alert: Alert) -> dict[str, int | None]:
    levels = alert.area_levels()
    return {a.name: levels[area_key(a)] for a in alert.active_areas() if a.scheme == "jma.city"}


def test_a_warning_telegram_gives_each_town_its_own_level(corpus):
    a = _nara(corpus)
    assert a.level == 5
    towns = _by_name(a)
    assert towns["十津川村"] == 5 and towns["五條市北部"] == 5  # 大雨特別警報
    assert towns["三宅町"] == 2 and towns["上牧町"] == 2  # 大雨注意報 only
    assert set(towns.values()) >= {2, 5}


def _hz(code, level, state="issued", scheme="jma.city"):
    return Hazard(area_code=code, area_scheme=scheme, kind="heavy_rain", name="x", state=state,
                  level=level)


def _alert(**kw) -> Alert:
    base = dict(format="jmaxml", id="t", info_type="issue", status="actual", kind="weather_warning",
                title="t", issued_at="2026-07-03T10:00:00+09:00", raw_sha256="0" * 64)
    return Alert(**{**base, **kw})


def test_message_wide_hazards_count_everywhere_and_lifted_ones_nowhere():
    a = _alert(level=4, areas=(Area("1", "jma.city"), Area("2", "jma.city"), Area("3", "jma.city")),
               hazards=(_hz("1", 2), _hz("1", 4, "lifted"), _hz("2", None), _hz(None, 3),
                        _hz("3", 4)))
    levels = a.area_levels()
    assert levels[("jma.city", "1", None)] == 3  # its own 2, the message-wide 3; lifted 4 out
    assert levels[("jma.city", "2", None)] == 3
    assert levels[("jma.city", "3", None)] == 4


def test_commons_orders_per_place_and_cap_areas_take_the_alert_level():
    orders = (Evacuation("evacuation_order", "issued", area_name="黒髪一丁目", level=4),
              Evacuation("elderly_evacuation", "issued", area_name="黒髪二丁目", level=3),
              Evacuation("evacuation_order", "lifted", area_name="黒髪二丁目", level=4))
    a = _alert(format="commons", kind="evacuation", level=4, evacuations=orders,
               areas=(Area(None, "commons.name", name="黒髪一丁目"),
                      Area(None, "commons.name", name="黒髪二丁目")))
    assert list(a.area_levels().values()) == [4, 3]
    cap = _alert(format="cap", level=3, areas=(Area(None, "cap.areaDesc", name="A"),))
    assert list(cap.area_levels().values()) == [3]


@pytest.mark.parametrize("state", ["lifted", "none"])
def test_places_not_in_force_have_no_level(state):
    a = _alert(level=2, areas=(Area("1", "jma.city", status=state), Area("2", "jma.city")),
               hazards=(_hz("1", 4, state), _hz("2", 2)))
    assert a.area_levels() == {("jma.city", "2", None): 2}


# --- what a resident sees: the map, "where am I" and /text on the real Nara telegram ----

@pytest.fixture(scope="module")
def nara(corpus, jma_geo):
    from lalert.geo.enrich import enrich

    return enrich(_nara(corpus), jma_geo), jma_geo


def _feature(features, name):
    (f,) = [f for f in features if f["properties"]["area"] == name]
    return f["properties"]


def test_the_map_paints_and_labels_each_town_with_its_own_level(nara):
    from lalert.outputs.publicmap.data import alert_features
    from lalert.vocab import LEVEL_COLOURS

    ea, _geo = nara
    feats = alert_features([ea], "ja")["features"]
    miyake, totsukawa = _feature(feats, "三宅町"), _feature(feats, "十津川村")
    assert totsukawa["level"] == 5 and totsukawa["colour"] == LEVEL_COLOURS[5]
    assert miyake["level"] == 2 and miyake["colour"] == LEVEL_COLOURS[2]
    assert "5" not in (miyake["level_label"] or "") and "5" in totsukawa["level_label"]
    levels = [f["properties"]["level"] or 0 for f in feats]
    assert levels == sorted(levels)  # the most severe drawn last, on top


def test_where_am_i_answers_the_level_at_the_point(nara):
    import shapely

    from lalert.outputs.publicmap.data import Here

    ea, geo = nara
    here = Here.build([ea], geo)
    for name, level in (("三宅町", 2), ("十津川村", 5)):
        (area,) = [a for a in ea.active_areas() if a.name == name and a.geometry]
        p = shapely.geometry.shape(area.geometry).representative_point()
        (said,) = here.answer(p.y, p.x, lang="en")["alerts"]
        assert said["level"] == level, name


def test_text_lists_each_place_with_its_own_level(nara):
    from lalert.outputs.publicmap.text import render_text

    ea, geo = nara
    html = render_text([ea], geo, lang="ja", updated="2026-07-03T10:00:00+09:00")
    line = {li.split(":", 1)[0].strip(): li for li in html.split("<li>") if ":" in li}
    miyake = next(v for k, v in line.items() if "三宅町" in k)
    totsukawa = next(v for k, v in line.items() if "十津川村" in k)
    assert "レベル5" in totsukawa and "レベル5" not in miyake


@pytest.mark.parametrize("town,level", [("三宅町", 2), ("十津川村", 5)])
def test_a_signage_screen_shows_the_level_where_it_stands(nara, town, level):
    import shapely

    from lalert.outputs.signage.content import match
    from lalert.outputs.signage.screens import Screen

    ea, _geo = nara
    (area,) = [a for a in ea.active_areas() if a.name == town and a.geometry]
    p = shapely.geometry.shape(area.geometry).representative_point()
    by_point = match(ea, Screen(id="s", name=town, lat=p.y, lon=p.x))
    by_code = match(ea, Screen(id="c", name=town, areas=(f"{area.scheme}:{area.code}",)))
    assert by_point is not None and by_point.level == level
    assert by_code is not None and by_code.level == level

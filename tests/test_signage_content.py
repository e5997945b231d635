"""Signage decisions without HTTP: screens, coverage, takeover, drills, shelters, catalogues."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lalert.geo.distance import walking_minutes
from lalert.model import Area, Hazard
from lalert.outputs.signage import content
from lalert.outputs.signage.i18n import tr
from lalert.outputs.signage.screens import LANGS, ScreenConfigError, parse_screen, parse_screens
from lalert.outputs.signage.svgmap import render_map
from tests.signage_support import BOX, FAR, LAT, LON, SHELTERS, alert

POINT = parse_screen({"id": "p", "name": "駅", "lat": LAT, "lon": LON})
AREA = parse_screen({"id": "a", "name": "区役所", "areas": ["jma.city:4310100"], "min_level": 4})
DRILL = parse_screen({"id": "d", "name": "訓練画面", "lat": LAT, "lon": LON, "drills": True})


def build(screen, alerts, **kw):
    return content.build(screen, alerts, tr=tr, **kw)


# --- screens --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, words",
    [
        ({"id": "../etc", "lat": 1, "lon": 1}, "screen id"),
        ({"id": "Upper", "lat": 1, "lon": 1}, "screen id"),
        ({"id": "x"}, "needs a location"),
        ({"id": "x", "lat": 1}, "both lat and lon"),
        ({"id": "x", "lat": 91, "lon": 1}, "out of range"),
        ({"id": "x", "lat": 1, "lon": 1, "languages": ["fr"]}, "unknown language"),
        ({"id": "x", "lat": 1, "lon": 1, "orientation": "sideways"}, "orientation"),
        ({"id": "x", "lat": 1, "lon": 1, "min_level": 7}, "min_level"),
        ({"id": "x", "lat": 1, "lon": 1, "map_url": "javascript:alert(1)"}, "map_url"),
    ],
)
def test_bad_screens_are_refused_with_the_reason(raw, words):
    with pytest.raises(ScreenConfigError, match=words):
        parse_screen(raw)


def test_screens_by_table_or_list_and_duplicates_refused():
    by_table = parse_screens({"hall": {"lat": 1, "lon": 2, "orientation": "portrait"}})
    assert by_table["hall"].orientation == "portrait" and by_table["hall"].width == 1080
    with pytest.raises(ScreenConfigError, match="twice"):
        parse_screens([{"id": "a", "lat": 1, "lon": 1}, {"id": "a", "lat": 1, "lon": 1}])


# --- coverage and takeover ---------------------------------------------------------------


def test_no_alert_is_normal_mode_with_calm_content():
    body = build(POINT, [])
    assert body["mode"] == "normal" and body["main"] is None and body["info"] == []


def test_footprint_containing_the_screen_takes_over_and_far_one_does_not():
    body = build(POINT, [alert(footprint=BOX)])
    assert body["mode"] == "takeover"
    assert body["main"]["level"] == 4 and body["main"]["colour"] == "#aa00aa"
    assert build(POINT, [alert(footprint=FAR)])["mode"] == "normal"


def test_area_code_screen_matches_by_scheme_and_code_only():
    hit = Area("4310100", "jma.city", "熊本市中央区")
    other_table = Area("4310100", "jma.forecast_area", "?")
    h = Hazard("4310100", "jma.city", "heavy_rain", "大雨警報", "issued", level=4)
    assert build(AREA, [alert(areas=(hit,), hazards=(h,), footprint=None)])["mode"] == "takeover"
    h2 = Hazard("4310100", "jma.forecast_area", "heavy_rain", "大雨警報", "issued", level=4)
    body = build(AREA, [alert(areas=(other_table,), hazards=(h2,), footprint=None)])
    assert body["mode"] == "normal"


def test_lifted_hazard_at_the_screen_does_not_take_over():
    a = Area("4310100", "jma.city", "熊本市中央区")
    lifted = Hazard("4310100", "jma.city", "heavy_rain", "大雨警報", "lifted", level=3)
    body = build(AREA, [alert(level=None, kind="weather_warning", areas=(a,), hazards=(lifted,),
                              footprint=None)])
    assert body["mode"] == "normal" and body["info"] == []


def test_below_threshold_is_listed_as_information_not_takeover():
    body = build(AREA, [alert(level=3, areas=(Area("4310100", "jma.city"),), footprint=None)])
    assert body["mode"] == "normal"
    assert [i["level"] for i in body["info"]] == [3]


def test_most_severe_first_and_others_listed():
    a3 = alert("a3", level=3, kind="weather_warning", title="大雨警報")
    a5 = alert("a5", level=5, title="緊急安全確保")
    a4 = alert("a4", level=4, title="避難指示")
    body = build(POINT, [a3, a4, a5])
    assert body["main"]["id"] == "a5"
    assert [o["id"] for o in body["others"]] == ["a4", "a3"]
    assert body["text"]["ja"]["level"] == "警戒レベル5"
    assert body["text"]["ja"]["action"] == "命の危険 直ちに安全確保！"


def test_jma_information_is_printed_as_level_equivalent():
    body = build(POINT, [alert(kind="landslide", level=4)])
    assert body["main"]["level_equivalent"] is True
    assert body["text"]["ja"]["level"] == "警戒レベル4相当"
    assert body["text"]["en"]["level"] == "Alert level 4 equivalent"


def test_cap_severity_without_level_still_takes_over():
    a = alert(level=None, kind="tsunami", hazard_tags=("tsunami",))
    a = type(a)(alert=type(a.alert)(**{**a.alert.__dict__, "severity": "Extreme"}),
                footprint=BOX, hazard_tags=("tsunami",))
    body = build(POINT, [a])
    assert body["mode"] == "takeover" and body["main"]["level"] == 5
    assert body["main"]["level_equivalent"] is True


def test_expired_alert_returns_the_screen_to_normal():
    a = alert(valid_until="2025-06-30T12:00:00+09:00")
    before = datetime(2025, 6, 30, 2, 0, tzinfo=UTC)
    after = datetime(2025, 6, 30, 3, 0, tzinfo=UTC)
    assert build(POINT, [a], now=before)["mode"] == "takeover"
    assert build(POINT, [a], now=after)["mode"] == "normal"


def test_cancel_message_never_takes_over():
    assert build(POINT, [alert(info_type="cancel")])["mode"] == "normal"


def test_drills_only_on_drill_screens():
    drill = alert("d1", status="exercise", level=5)
    assert build(POINT, [drill])["mode"] == "normal"
    body = build(DRILL, [drill])
    assert body["mode"] == "takeover" and body["drill"] is True
    real = build(DRILL, [alert("r1", level=4)])
    assert real["drill"] is False


# --- shelters --------------------------------------------------------------------------


def test_takeover_lists_nearest_open_shelters_that_fit_the_hazard():
    body = build(POINT, [alert(hazard_tags=("flood",))])
    names = [s["name"] for s in body["shelters"]]
    assert names == ["熊本市立花畑小学校", "熊本城ホール"]  # S3: not for floods, S4: closed
    first = body["shelters"][0]
    assert first["open"] and first["direction"] == "SW"
    assert first["walk_min"] == walking_minutes(first["distance_m"])
    assert body["text"]["ja"]["shelters"][0]["distance"].startswith("南西へ")


def test_shelter_state_from_a_shelter_message_overrides():
    from lalert.model import Shelter

    closing = alert("s", level=None, kind="shelter", footprint=None, hazard_tags=())
    closing = type(closing)(
        alert=type(closing.alert)(**{**closing.alert.__dict__,
                                     "shelters": (Shelter("熊本市立花畑小学校", "closed", code="S1"),),
                                     "issued_at": "2025-06-30T11:00:00+09:00"}),
    )
    body = build(POINT, [alert(), closing])
    assert "熊本市立花畑小学校" not in [s["name"] for s in body["shelters"]]


def test_injected_finder_is_used_for_the_screen_position():
    calls = []

    def find(lat, lon, *, hazard, open_only, limit, hazards=()):
        calls.append((lat, lon, hazard))
        return SHELTERS[:1]

    body = build(POINT, [], find_shelters=find)
    assert calls == [(LAT, LON, None)] and body["shelters"][0]["id"] == "S1"


@pytest.mark.parametrize("deg, word", [(0, "N"), (44, "NE"), (91, "E"), (180, "S"), (359, "N"),
                                       (-90, "W"), (225, "SW")])
def test_compass(deg, word):
    assert content.compass(deg) == word


def test_walking_minutes_round_up_at_1_m_per_second():
    # the 379 m: signage said 5 min, the map 6; both now say 7 (60 m per minute)
    assert [walking_minutes(d) for d in (0, 60, 60.4, 61, 379, 400)] == [1, 1, 1, 2, 7, 7]


def test_wifi_japan_only_when_declared_open():
    from lalert.model import NearbyHotspot

    listed = [NearbyHotspot("h", "広場", LAT, LON, ssid="00000JAPAN"),
              NearbyHotspot("h2", "駅", LAT, LON, ssid="Free_Spot")]
    closed = build(POINT, [], hotspots=listed)["wifi"]
    assert closed == {"ssids": ["Free_Spot"], "japan_open": False}
    assert build(POINT, [])["wifi"]["japan_open"] is False
    assert build(POINT, [], wifi_00000japan=True)["wifi"]["japan_open"] is True


# --- catalogues ------------------------------------------------------------------------


# every msgid in every language: tests/test_i18n_catalogue.py (one catalogue for all outputs)


def test_placeholders_survive_translation():
    for lang in LANGS:
        text = tr(lang, content.DISTANCE) % {"m": "1,234", "dir": "X", "min": 9}
        assert "1,234" in text and "9" in text and "X" in text


# --- SVG map ---------------------------------------------------------------------------


def test_map_draws_clipped_area_screen_and_numbered_shelters():
    sh = [{"lat": s.lat, "lon": s.lon, "open": s.state == "open"} for s in SHELTERS[:2]]
    svg = render_map(LAT, LON, footprint=BOX, shelters=sh, colour="#aa00aa")
    assert svg.startswith("<svg") and 'role="img"' in svg
    assert svg.count('class="shelter"') == 2 and 'class="here"' in svg
    assert "<path d=\"M" in svg  # the area, clipped to the view
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")


def test_when_none_is_known_open_designated_sites_are_shown_without_claiming_open():
    unknown = tuple(type(s)(**{**s.__dict__, "state": "unknown"}) for s in SHELTERS)
    body = build(POINT, [alert(shelters=unknown)])
    assert body["mode"] == "takeover" and body["shelters_open_only"] is False
    assert body["shelters"] and not any(s["open"] for s in body["shelters"])
    assert all("flood" in s["hazards"] for s in body["shelters"])


def test_a_drill_never_hides_a_real_alert_on_a_drill_screen():
    body = build(DRILL, [alert("d5", status="exercise", level=5), alert("r3", level=3)])
    assert body["main"]["id"] == "r3" and body["drill"] is False
    assert [(o["id"], o["drill"]) for o in body["others"]] == [("d5", True)]


def test_hazard_without_area_code_applies_to_the_alerts_areas():
    ward = Area("431010", "lg_code", "熊本市中央区")
    h = Hazard(None, "cap", "evacuation", "避難指示", "issued")
    screen = parse_screen({"id": "w", "name": "区役所", "areas": ["lg_code:431010"]})
    assert build(screen, [alert(areas=(ward,), hazards=(h,), footprint=None)])["mode"] == "takeover"

"""The hand-made demo gazetteer, hazard mapping, enrichment rules and the geo CLI."""

from __future__ import annotations

import json

import pytest
import shapely
from shapely.geometry import shape

from lalert.cli import main
from lalert.geo.data import demo_geodata
from lalert.geo.enrich import EnrichConfig, enrich
from lalert.geo.hazards import alert_hazard_tags, hazard_tags_for
from lalert.geo.query import areas_at, hotspots_near, nearest_shelters
from lalert.model import Alert, Area, EnrichedAlert, Evacuation, Hazard, Shelter
from tests.conftest import CORPUS

CITY_HALL = dict(lat=32.8032, lon=130.7079)


@pytest.fixture(scope="module")
def geo():
    return demo_geodata()


def _alert(kind="weather_warning", *, areas=(), hazards=(), info_type="issue", **kw):
    return Alert(format="jmaxml", id=f"t-{kind}", info_type=info_type, status="actual", kind=kind,
                 title=kind, issued_at="2026-07-03T16:40:00+09:00", raw_sha256="0" * 64,
                 areas=tuple(areas), hazards=tuple(hazards), **kw)


def _hz(code, kind, state="issued", scheme="lg_code", sub_kinds=(), name=None):
    return Hazard(area_code=code, area_scheme=scheme, kind=kind, name=name or kind, state=state,
                  sub_kinds=sub_kinds)


@pytest.mark.parametrize("hazard,expected", [
    (_hz("x", "landslide_alert", name="土砂災害警戒情報"), {"landslide"}),
    (_hz("x", "heavy_rain_warning", sub_kinds=("inundation",), name="大雨警報"), {"inland_flood"}),
    (_hz("x", "heavy_rain_warning", sub_kinds=("landslide",), name="大雨警報"), {"landslide"}),
    (_hz("x", "heavy_rain_warning", name="大雨警報"), {"landslide", "inland_flood"}),
    (_hz("x", "flood_warning", name="洪水警報"), {"flood"}),
    (_hz("x", "river_flood", name="氾濫危険情報"), {"flood"}),
    (_hz("x", "storm_surge_warning", name="高潮警報"), {"storm_surge"}),
    (_hz("x", "major_tsunami_warning", name="大津波警報"), {"tsunami"}),
    (_hz("x", "eew", name="緊急地震速報"), {"earthquake"}),
    (_hz("x", "eruption_warning", name="噴火警報"), {"volcano"}),
    (_hz("x", "fire", name="大規模な火事"), {"large_fire"}),
    (_hz("x", "thunderstorm_advisory", name="雷注意報"), set()),
    (_hz("x", "strong_wind_warning", name="暴風警報"), set()),
])
def test_hazard_table(hazard, expected):
    assert hazard_tags_for(hazard) == expected


def test_lifted_hazards_give_no_tags():
    a = _alert(hazards=[_hz("431001", "flood_warning", state="lifted")])
    assert alert_hazard_tags(a) == ()


def test_demo_areas_at_city_hall(geo):
    got = {(a.scheme, a.code) for a in areas_at(geo, **CITY_HALL)}
    assert {("n03", "43101"), ("lg_code", "431010"), ("lg_code", "431001"), ("n03", "43100"),
            ("jma.city", "4310000"), ("jma.city", "4310100"), ("jma.forecast_area", "430011"),
            ("jma.forecast_area", "430010"), ("jma.forecast_area", "430000")} <= got
    assert not any(c == "431028" for _, c in got)


def test_demo_forecast_area_is_not_drawn_as_the_city(geo):
    assert geo.area("jma.forecast_area", "430011") is not None  # 熊本市 alone
    r = geo.gazetteer.resolve("jma.forecast_area", "430010")
    assert r.geometry is None and "members without polygons" in r.reason


def test_wards_tile_the_city(geo):
    wards = shapely.union_all([geo.area("n03", f"4310{i}") for i in range(1, 6)])
    city = geo.area("jma.city", "4310000")
    assert wards.symmetric_difference(city).area < 1e-4 * city.area


def test_enrich_landslide_fits_only_designated_sites(geo):
    a = _alert("landslide", areas=[Area("4310000", "jma.city", "熊本市")],
               hazards=[_hz("4310000", "landslide_alert", scheme="jma.city")])
    e = enrich(a, geo)
    assert e.hazard_tags == ("landslide",)
    assert len(e.shelters) == len(geo.shelters)
    for s in e.shelters:
        assert s.inside and s.distance_m == 0
        assert s.fits_hazard == ("landslide" in s.hazards)
    assert e.shelters[0].fits_hazard  # fitting sites first
    assert e.areas[0].geometry is not None and e.footprint is not None
    w, s_, east, n = e.bbox
    assert w < 130.7079 < east and s_ < 32.8032 < n
    # round-trips through the public JSON form
    back = EnrichedAlert.from_dict(json.loads(e.to_json()))
    assert back.shelters == e.shelters and back.hazard_tags == e.hazard_tags


def test_enrich_ward_footprint_and_buffer(geo):
    a = _alert(areas=[Area("431010", "lg_code")],
               hazards=[_hz("431010", "flood_warning")])
    near = enrich(a, geo, config=EnrichConfig(shelter_buffer_m=0))
    assert {s.municipality_code for s in near.shelters} == {"431001"}
    assert all(s.inside for s in near.shelters)
    wide = enrich(a, geo, config=EnrichConfig(shelter_buffer_m=3000))
    outside = [s for s in wide.shelters if not s.inside]
    assert outside and all(0 < s.distance_m <= 3000 for s in outside)
    assert len(wide.shelters) > len(near.shelters)
    assert {h.ssid for h in wide.hotspots} >= {"00000JAPAN"}


def test_unresolvable_scheme_is_reported(geo):
    a = _alert("earthquake", areas=[Area("741", "jma.eq_region", "熊本県熊本")],
               hazards=[_hz("741", "earthquake", scheme="jma.eq_region")])
    e = enrich(a, geo)
    assert e.areas[0].geometry is None and "no polygon source" in e.areas[0].unresolved
    assert e.footprint is None and e.shelters == ()


def test_cancel_has_no_footprint(geo):
    a = _alert(areas=[Area("431001", "lg_code")], hazards=[_hz("431001", "flood_warning")],
               info_type="cancel")
    assert enrich(a, geo).footprint is None


def test_evacuation_circle_and_its_own_shelter_report(geo):
    report = Shelter(name="花畑デモ広場", state="open", area_code="431001", head_count=12)
    a = _alert("evacuation", areas=[Area(None, "name", "花畑町周辺")],
               evacuations=[Evacuation(order="evacuation_order", action="issued", lat=32.8005,
                                       lon=130.7060, radius_m=300)],
               hazards=(), shelters=(report,))
    e = enrich(a, geo, config=EnrichConfig(shelter_buffer_m=0))
    (s,) = e.shelters
    assert s.id == "DEMO-431001-01" and s.state == "open" and s.head_count == 12
    fp = shape(e.footprint)
    assert fp.contains(shapely.Point(130.7060, 32.8005))
    assert any(h.shelter_id == s.id for h in e.hotspots)


def test_nearest_shelters_hazard_open_only_and_bearing(geo):
    got = nearest_shelters(geo, **CITY_HALL, hazard="tsunami", limit=10)
    assert got and all("tsunami" in s.hazards for s in got)
    assert [s.distance_m for s in got] == sorted(s.distance_m for s in got)
    first = got[0]
    assert first.name == "竜南中学校" and 0 <= first.bearing_deg < 90  # north-east of city hall
    assert nearest_shelters(geo, **CITY_HALL, open_only=True) == []
    opened = nearest_shelters(geo, **CITY_HALL, open_only=True, states={"DEMO-431001-03": "open"})
    assert [s.id for s in opened] == ["DEMO-431001-03"]
    assert nearest_shelters(geo, **CITY_HALL, max_m=100) == []


def test_hotspots_near(geo):
    got = hotspots_near(geo, lat=32.8005, lon=130.7060, max_m=300)
    assert got[0].ssid == "00000JAPAN" and got[0].distance_m < 20
    assert all(h.distance_m <= 300 for h in got)


def test_where_cli_demo(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("LALERT_HOME", str(tmp_path))
    assert main(["where", "32.8032", "130.7079", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"scheme": "lg_code", "code": "431010"}.items() <= next(
        a for a in out["areas"] if a["code"] == "431010").items()
    assert out["shelters"]["landslide"][0]["name"] == "花畑デモ広場"


@pytest.mark.skipif(not (CORPUS / "xml").is_dir(), reason="corpus absent")
def test_enrich_cli_rejects_bad_file(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("LALERT_HOME", str(tmp_path))
    bad = tmp_path / "bad.xml"
    bad.write_text("<not-an-alert/>")
    assert main(["enrich", str(bad)]) == 2
    assert "rejected" in capsys.readouterr().err


def test_demo_shelters_in_real_wards(corpus):
    """The hand-made demo sites lie in the ward their address names, also on real N03."""
    import geopandas as gpd

    n03 = gpd.read_file(corpus / "geo" / "municipalities" / "N03-21_43_210101.geojson")
    geo = demo_geodata()
    j = gpd.sjoin(geo.shelters, n03[["N03_004", "geometry"]], how="left")
    assert all(w in addr for w, addr in zip(j["N03_004"], j["address"], strict=True))

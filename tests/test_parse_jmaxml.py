"""JMA 防災情報XML parser: every corpus telegram parses and validates; field values are
checked against an independent reading of the XML (plain lxml XPath here, or literal values
read by eye from the named sample)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree

from lalert.model import Area, Hazard
from lalert.parsers import ParseError, parse, parse_one
from lalert.parsers.common import sha256
from lalert.parsers.jma_common import make_area, make_hazard, parse_coordinate
from lalert.schema import validation_errors
from lalert.vocab import KINDS
from lalert.vocab import jma as V
from tests.conftest import corpus_files

JMA_FILES = corpus_files("xml/jma", "*.xml")
NS = {"j": "http://xml.kishou.go.jp/jmaxml1/"}


def _load(corpus: Path, name: str):
    raw = (corpus / "xml" / "jma" / name).read_bytes()
    return raw, etree.fromstring(raw), parse_one(raw, source=name)


def _x(root, path: str) -> list:
    """XPath by local names only: 'Body/Warning/Item' → */*[local-name()='Warning']/…"""
    steps = "/".join(f"*[local-name()='{s}']" if not s.startswith("@") else s for s in path.split("/"))
    return root.xpath(steps)


def _t(el, path: str) -> str | None:
    found = _x(el, path)
    return found[0].text.strip() if found and found[0].text and found[0].text.strip() else None


def _hazards_at(alert, code: str) -> list[Hazard]:
    return [h for h in alert.hazards if h.area_code == code]


# --- every file ------------------------------------------------------------------------


@pytest.mark.parametrize("path", JMA_FILES, ids=lambda p: p.name)
def test_every_corpus_file_parses_and_validates(path: Path) -> None:
    raw = path.read_bytes()
    alerts = parse(raw, source=path.name)
    assert len(alerts) == 1
    a = alerts[0]
    assert a.format == "jmaxml"
    assert a.kind in KINDS
    assert a.raw_sha256 == sha256(raw)
    assert a.id == parse(raw)[0].id  # deterministic
    assert validation_errors(a.to_dict()) == []
    root = etree.fromstring(raw)
    assert a.title == _t(root, "Head/Title")
    keys = [(ar.scheme, ar.code, ar.name if ar.code is None else None) for ar in a.areas]
    assert len(keys) == len(set(keys)), "areas are deduplicated by (scheme, code)"
    for h in a.hazards:  # every hazard's place is among the areas
        assert any(ar.code == h.area_code and ar.scheme == h.area_scheme for ar in a.areas), h


def test_corpus_present(corpus: Path) -> None:
    assert len(JMA_FILES) == 221


# --- weather warnings, each generation ----------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "15_08_01_130412_VPWW50.xml",
        "15_08_01_130412_VPWW53.xml",
        "15_12_02_161130_VPWW54.xml",
        "15_16_03_241226_VPWW55.xml",
        "15_17_01_250630_VPWW56.xml",
        "15_16_02_241031_VPWW57.xml",
        "15_16_07_241226_VPWW61.xml",
    ],
)
def test_warning_hazards_match_municipal_section(corpus: Path, name: str) -> None:
    _raw, root, a = _load(corpus, name)
    expected = set()
    for item in root.xpath(
        "*[local-name()='Body']/*[local-name()='Warning'][@type='気象警報・注意報（市町村等）']/*[local-name()='Item']"
    ):
        code = _t(item, "Area/Code")
        for k in _x(item, "Kind"):
            expected.add((code, _t(k, "Code"), _t(k, "Status")))
    got = {(h.area_code, h.code, h.state_label) for h in a.hazards if h.area_scheme == "jma.city"}
    assert got == expected
    assert a.kind == "weather_warning"
    assert a.type_code == name[-10:-4]
    # every municipality and forecast area of the body is an area
    body_codes = {c.text for c in root.xpath("//*[local-name()='Warning']//*[local-name()='Area']/*[local-name()='Code']")}
    assert body_codes <= {ar.code for ar in a.areas}


def test_special_warning_levels_vpww53(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "15_08_01_130412_VPWW53.xml")
    special = [h for h in a.hazards if h.name == "大雨特別警報"]
    assert special and all(h.kind == "heavy_rain_special_warning" and h.level == 5 for h in special)
    assert all(h.severity == "Extreme" for h in special)
    assert a.level == 5 and a.severity == "Extreme"
    # 洪水警報 is 警戒レベル3相当
    assert {h.level for h in a.hazards if h.name == "洪水警報"} == {3}


def test_heavy_rain_warning_level_depends_on_landslide(corpus: Path) -> None:
    # 15_14_01: 大雨警報 with Condition 浸水害 only (no level) and 大雨特別警報 elsewhere.
    _raw, root, a = _load(corpus, "15_14_01_170216_VPWW54.xml")
    rain = [h for h in a.hazards if h.kind == "heavy_rain_warning"]
    assert rain
    for h in rain:
        cond = root.xpath(
            f"//*[local-name()='Warning'][@type='気象警報・注意報（市町村等）']/*[local-name()='Item']"
            f"[*[local-name()='Area']/*[local-name()='Code']='{h.area_code}']/*[local-name()='Kind']"
            "[*[local-name()='Name']='大雨警報']/*[local-name()='Condition']"
        )[0].text
        assert h.level == (3 if "土砂災害" in cond else None)
        assert "inundation" in h.sub_kinds


def test_r06_generation_levels_from_names(corpus: Path) -> None:
    _raw, _root, a = _load(corpus, "15_16_03_241226_VPWW55.xml")
    (wakkanai,) = _hazards_at(a, "0121400")
    assert (wakkanai.kind, wakkanai.name, wakkanai.code) == ("heavy_rain_danger_warning", "レベル４大雨危険警報", "43")
    assert wakkanai.level == 4 and wakkanai.severity == "Severe"
    assert wakkanai.state == "upgraded" and wakkanai.state_label == "発表"  # LastKind レベル３大雨警報
    (sarufutsu,) = _hazards_at(a, "0151100")
    assert (sarufutsu.name, sarufutsu.level, sarufutsu.state) == ("レベル３大雨警報", 3, "continued")
    (hamatonbetsu,) = _hazards_at(a, "0151200")
    assert (hamatonbetsu.kind, hamatonbetsu.level) == ("heavy_rain_advisory", 2)
    assert a.level == 4 and a.type_code == "VPWW55" and a.serial is None
    assert a.headline.startswith("宗谷地方にレベル４大雨危険警報")


def test_r06_landslide_and_storm_surge_section(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "15_17_01_250630_VPWW56.xml")
    assert {h.kind for h in a.hazards} >= {"landslide_danger_warning", "landslide_advisory"}
    assert a.level == 4
    comments = [e.text.strip() for e in root.xpath("//*[local-name()='Body']/*[local-name()='Comment']/*[local-name()='Text']")]
    assert comments and all(c in a.text for c in comments)
    _raw, root, b = _load(corpus, "15_16_02_241031_VPWW57.xml")
    surge = [h for h in b.hazards if h.kind == "storm_surge_danger_warning"]
    assert surge and {h.level for h in surge} == {4}
    # the 高潮予報区間 section names a stretch of coast, kept as its own area and hazard
    (sec,) = root.xpath("//*[local-name()='Warning'][@type='気象警報・注意報（高潮予報区間）']")
    code = _t(sec, "Item/Area/Code")
    assert any(h.area_code == code and h.area_scheme == "jma.other" for h in b.hazards)
    assert (code, "jma.other") in {(ar.code, ar.scheme) for ar in b.areas}


def test_lift_and_downgrade_states(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "15_09_03_130826_VPWW53.xml")
    states = {(h.area_code, h.code): h.state for h in a.hazards if h.area_scheme == "jma.city"}
    words = {"解除": "lifted", "特別警報から警報": "downgraded", "警報から注意報": "downgraded",
             "特別警報から注意報": "downgraded", "継続": "continued", "発表": "issued"}
    for item in root.xpath("//*[local-name()='Warning'][@type='気象警報・注意報（市町村等）']/*[local-name()='Item']"):
        for k in _x(item, "Kind"):
            st = _t(k, "Status")
            if st in words and _t(k, "Code"):
                assert states[(_t(item, "Area/Code"), _t(k, "Code"))] in (words[st], "upgraded")
    assert "lifted" in states.values() and "downgraded" in states.values()
    # nothing lifted counts toward the level
    assert a.level is None or all(
        h.level <= a.level for h in a.hazards if h.state not in ("lifted", "none") and h.level
    )


# --- 土砂災害警戒情報, 指定河川洪水予報, 記録的短時間大雨, 竜巻 ---------------------------------------


def test_landslide_alert(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "17_01_01_190529_VXWW50.xml")
    assert a.kind == "landslide" and a.type_code == "VXWW50" and a.serial == 5
    words = {"発表": "issued", "継続": "continued", "解除": "lifted", "なし": "none"}
    items = root.xpath("//*[local-name()='Warning'][@type='土砂災害警戒情報']/*[local-name()='Item']")
    assert len(items) == len(a.hazards)
    for item, h in zip(items, a.hazards, strict=True):
        assert h.area_code == _t(item, "Area/Code") and h.area_scheme == "jma.city"
        assert h.state == words[_t(item, "Kind/Status")]
        if _t(item, "Kind/Name") == "警戒" and h.state in ("issued", "continued"):
            assert h.level == 4 and h.severity == "Severe"
    assert a.level == 4
    assert ("400000", "jma.forecast_area") in {(ar.code, ar.scheme) for ar in a.areas}  # TargetArea


@pytest.mark.parametrize(
    "name,kind,level,code",
    [
        ("16_01_01_220728_VXKOii.xml", "river_flood_caution", 2, "20"),
        ("16_02_02_220728_VXKOii.xml", "river_flood_alert", 3, "30"),
        ("16_06_01_220728_VXKOii.xml", "river_flood_danger", 4, "41"),
        ("16_04_01_220728_VXKOii.xml", "river_flood_occurrence", 5, "53"),
    ],
)
def test_river_flood(corpus: Path, name: str, kind: str, level: int, code: str) -> None:
    _raw, root, a = _load(corpus, name)
    assert a.kind == "river_flood" and a.type_code is None
    section = _t(root, "Head/Headline/Information/Item/Areas/Area/Code")
    (h,) = [h for h in a.hazards if h.area_scheme == "jma.river"]
    assert (h.area_code, h.kind, h.level, h.code) == (section, kind, level, code)
    assert a.level == level
    assert a.details["river"]["names"] == [
        e.text for e in root.xpath("//*[local-name()='Information'][@type='指定河川洪水予報（河川）']//*[local-name()='Area']/*[local-name()='Name']")
    ]


def test_river_flood_inundation_municipalities(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "16_02_02_220728_VXKOii.xml")
    cities = {e.text for e in root.xpath("//*[local-name()='CityCode']")}
    assert {h.area_code for h in a.hazards if h.area_scheme == "jma.city"} == cities
    assert all(h.level == 3 for h in a.hazards)
    assert a.serial == 1 and a.event_id == "890904000100"


def test_record_rain_and_tornado(corpus: Path) -> None:
    _raw, _root, a = _load(corpus, "18_01_01_100806_VPOA50.xml")
    assert a.kind == "record_rain" and a.type_code == "VPOA50"
    assert [(h.area_code, h.kind, h.state) for h in a.hazards] == [("270000", "record_short_time_rain", "issued")]
    _raw, root, t = _load(corpus, "19_03_01_130906_VPHW50.xml")
    assert t.kind == "tornado"
    codes = [e.text for e in root.xpath("//*[local-name()='Warning'][@type='竜巻注意情報（市町村等）']//*[local-name()='Area']/*[local-name()='Code']")]
    assert [h.area_code for h in t.hazards] == codes
    assert ("4220100", "tornado_alert", "issued") == (t.hazards[0].area_code, t.hazards[0].kind, t.hazards[0].state)
    _raw, _root, w = _load(corpus, "19_04_01_140425_VPHW51.xml")
    assert w.type_code == "VPHW51" and w.kind == "tornado"


# --- earthquakes --------------------------------------------------------------------------


def test_eew_warning(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "37_01_01_240613_VXSE43.xml")
    assert (a.kind, a.type_code, a.serial, a.event_id) == ("eew", "VXSE43", 1, "20240417231454")
    hypo = a.details["earthquake"]["hypocenter"]
    assert (hypo["name"], hypo["code"], hypo["lat"], hypo["lon"], hypo["depth_km"]) == ("豊後水道", "681", 33.2, 132.4, 30.0)
    assert a.details["earthquake"]["magnitude"] == 5.8
    assert a.details["earthquake"]["max_intensity"] == "5-"
    (nanyo,) = _hazards_at(a, "622")
    assert (nanyo.kind, nanyo.name, nanyo.code, nanyo.area_scheme) == ("seismic_intensity", "震度5弱", "5-", "jma.eq_region")
    assert nanyo.severity == "Severe"
    (hiroshima,) = _hazards_at(a, "592")
    assert hiroshima.name == "震度3～4" and hiroshima.severity == "Severe"  # a 警報 area
    schemes = {(ar.code, ar.scheme) for ar in a.areas}
    assert ("9380", "jma.other") in schemes and ("9943", "jma.other") in schemes
    assert a.details["eew"]["warning"] is True
    assert a.level is None and a.severity == "Severe"


def test_eew_cancel(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "37_01_03_240613_VXSE43.xml")
    assert a.info_type == "cancel" and a.level is None and a.severity == "Unknown"
    assert _t(root, "Body/Text") in a.text


@pytest.mark.parametrize("name", ["32-35_01_01_100806_VXSE51.xml", "32-35_04_04_240613_VXSE53.xml"])
def test_observed_intensity_per_area(corpus: Path, name: str) -> None:
    _raw, root, a = _load(corpus, name)
    names = {"1": "震度1", "2": "震度2", "3": "震度3", "4": "震度4", "5-": "震度5弱", "5+": "震度5強",
             "6-": "震度6弱", "6+": "震度6強", "7": "震度7"}
    areas = root.xpath("//*[local-name()='Observation']/*[local-name()='Pref']/*[local-name()='Area']")
    assert areas
    for el in areas:
        (h,) = [h for h in _hazards_at(a, _t(el, "Code")) if h.area_scheme == "jma.eq_region"]
        assert (h.code, h.name) == (_t(el, "MaxInt"), names[_t(el, "MaxInt")])
    for el in root.xpath("//*[local-name()='Observation']//*[local-name()='City'][*[local-name()='MaxInt']]"):
        (h,) = [h for h in _hazards_at(a, _t(el, "Code")) if h.area_scheme == "jma.city"]
        assert h.code == _t(el, "MaxInt")
    assert a.details["earthquake"]["max_intensity"] == _t(root, "Body/Intensity/Observation/MaxInt")
    prefs = {e.text for e in root.xpath("//*[local-name()='Observation']/*[local-name()='Pref']/*[local-name()='Code']")}
    assert prefs <= {ar.code for ar in a.areas if ar.scheme == "jma.eq_pref"}


def test_first_intensity_report_literal(corpus: Path) -> None:
    _raw, _root, a = _load(corpus, "32-35_01_01_100806_VXSE51.xml")
    assert a.type_code == "VXSE51" and a.kind == "earthquake"
    (h,) = _hazards_at(a, "442")  # 静岡県中部, 震度6弱
    assert (h.name, h.severity) == ("震度6弱", "Extreme")
    assert a.severity == "Extreme"


def test_hypocenter_report(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "32-35_06_01_240613_VXSE52.xml")
    hypo = a.details["earthquake"]["hypocenter"]
    assert (hypo["name"], hypo["lat"], hypo["lon"], hypo["depth_km"]) == ("岩手県内陸南部", 39.0, 140.9, 10.0)
    assert a.details["earthquake"]["magnitude"] == float(_t(root, "Body/Earthquake/Magnitude"))
    assert "この地震による津波の心配はありません。" in a.text
    assert a.hazards == ()


def test_unreported_strong_intensity(corpus: Path) -> None:
    raw = (corpus / "xml/jma/32-35_06_03_240613_VXSE53.xml").read_bytes()
    a = parse_one(raw)
    pending = [h for h in a.hazards if h.name == "震度5弱以上未入電"]
    root = etree.fromstring(raw)
    cond = "[*[local-name()='Condition']='震度５弱以上未入電']"
    no_int = root.xpath(f"//*[local-name()='City']{cond}[not(*[local-name()='MaxInt'])]")
    assert len(pending) == len(no_int) == 2  # 金ケ崎町, 羽後町
    assert all(h.severity == "Severe" and h.code is None for h in pending)
    # 大蔵村 observed 震度4 so far but a station of 5弱+ has not reported: kept, flagged
    (okura,) = [h for h in _hazards_at(a, "0636500") if h.area_scheme == "jma.city"]
    assert (okura.name, okura.state_label, okura.severity) == ("震度4", "震度５弱以上未入電", "Severe")


def test_activity_and_nankai(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "74_02_01_200512_VXSE56.xml")
    assert a.kind == "earthquake_activity" and _t(root, "Body/Text") in a.text
    _raw, root, n = _load(corpus, "74_01_01_200512_VYSE50.xml")
    assert n.kind == "nankai" and n.type_code == "VYSE50"
    assert n.details["nankai"]["name"] == _t(root, "Body/EarthquakeInfo/InfoSerial/Name") == "調査中"
    assert n.severity == "Moderate"
    _raw, root, w = _load(corpus, "74_01_04_200512_VYSE50.xml")
    assert w.details["nankai"]["name"] == _t(root, "Body/EarthquakeInfo/InfoSerial/Name")
    assert w.severity == "Extreme"  # 巨大地震警戒
    _raw, _root, c = _load(corpus, "75_01_04_200512_VYSE52.xml")
    assert c.kind == "nankai" and c.type_code is None  # VYSE51 and 52 share the title


# --- tsunami -----------------------------------------------------------------------------


def test_tsunami_warning(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "32-39_11_02_250206_VTSE41.xml")
    assert a.kind == "tsunami" and a.type_code == "VTSE41"
    kinds = {"52": "major_tsunami_warning", "53": "major_tsunami_warning", "51": "tsunami_warning",
             "62": "tsunami_advisory", "71": "tsunami_forecast", "72": "tsunami_forecast", "73": "tsunami_forecast"}
    items = root.xpath("//*[local-name()='Tsunami']/*[local-name()='Forecast']/*[local-name()='Item']")
    assert len(items) == len(a.hazards)
    for item, h in zip(items, a.hazards, strict=True):
        assert (h.area_code, h.area_scheme) == (_t(item, "Area/Code"), "jma.tsunami_region")
        assert h.kind == kinds[_t(item, "Category/Kind/Code")]
        assert h.name == _t(item, "Category/Kind/Name")
    (iwate,) = _hazards_at(a, "210")
    assert (iwate.name, iwate.state, iwate.severity) == ("大津波警報：発表", "issued", "Extreme")
    assert a.details["tsunami"]["max_height_label"] == "巨大"
    assert a.level is None and a.severity == "Extreme"
    hypo = a.details["earthquake"]["hypocenter"]
    assert hypo["name"] == _t(root, "Body/Earthquake/Hypocenter/Area/Name")


def test_tsunami_lift_and_downgrade(corpus: Path) -> None:
    _raw, _root, a = _load(corpus, "32-39_12_13_250206_VTSE41.xml")
    assert {h.state for h in a.hazards} == {"downgraded", "lifted"}
    assert a.status == "exercise"
    assert a.severity == "Minor"  # only 津波予報 remain in force


def test_offshore_observation(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "61_11_02_250206_VTSE52.xml")
    assert a.kind == "tsunami" and a.type_code == "VTSE52" and a.hazards == ()
    obs = [float(e.text) for e in root.xpath("//*[local-name()='Observation']//*[local-name()='TsunamiHeight']") if e.text != "NaN"]
    assert a.details["tsunami"]["observed_max_height_m"] == (max(obs) if obs else None)


# --- volcano -----------------------------------------------------------------------------


def test_eruption_warning(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "45_01_01_200522_VFVO50.xml")
    assert a.kind == "volcano" and a.type_code == "VFVO50"
    (asama,) = _hazards_at(a, "306")
    assert (asama.kind, asama.name, asama.state, asama.area_scheme) == (
        "volcanic_alert_level", "レベル３（入山規制）", "upgraded", "jma.volcano")
    assert asama.level is None  # 噴火警戒レベル is not 警戒レベル
    v = a.details["volcano"]
    assert (v["name"], v["level"]) == ("浅間山", 3)
    assert v["lat"] == pytest.approx(36 + 24.38 / 60, abs=1e-6)
    assert v["lon"] == pytest.approx(138 + 31.38 / 60, abs=1e-6)
    cities = [e.text for e in root.xpath(
        "//*[local-name()='VolcanoInfo'][@type='噴火警報・予報（対象市町村等）']//*[local-name()='Area']/*[local-name()='Code']")]
    assert [h.area_code for h in a.hazards if h.kind == "crater_area_warning"] == cities
    _raw, _root, b = _load(corpus, "45_03_01_200731_VFVO50.xml")
    assert {h.state for h in b.hazards} == {"downgraded", "lifted"}
    assert b.details["volcano"]["level"] == 1


def test_volcano_commentary_flash_and_observation(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "44_01_01_151008_VFVO51.xml")
    lv5 = [h for h in a.hazards if h.name == "レベル５（避難）"]
    assert [h.area_code for h in lv5] == ["509"] and lv5[0].severity == "Extreme"
    assert len(a.hazards) == len(root.xpath("//*[local-name()='VolcanoInfo']//*[local-name()='Area']"))
    assert a.serial == 13
    _raw, _root, f = _load(corpus, "67_01_01_140927_VFVO56.xml")
    assert f.type_code == "VFVO56" and {h.kind for h in f.hazards} == {"eruption"}
    _raw, _root, fc = _load(corpus, "67_01_03_140927_VFVO56.xml")
    assert fc.info_type == "correction"
    _raw, _root, fx = _load(corpus, "67_01_04_140927_VFVO56.xml")
    assert fx.info_type == "cancel" and fx.severity == "Unknown"
    _raw, _root, o = _load(corpus, "43_01_01_200522_VFVO52.xml")
    assert o.type_code == "VFVO52" and o.event_id == "20200522144900_306"


def test_serial_with_leading_zeros(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "44_03_01_200731_VFVO51.xml")
    assert _t(root, "Head/Serial") == "001" and a.serial == 1


@pytest.mark.parametrize(
    "name,expected",
    [
        ("66_01_01_210517_VFVO53.xml", {"ashfall", "small_cinders"}),
        ("66_01_02_210514_VFVO54.xml", {"ashfall_moderate", "ashfall_light", "small_cinders"}),
        ("66_01_03_210514_VFVO55.xml", {"ashfall_moderate", "ashfall_light"}),
    ],
)
def test_ashfall(corpus: Path, name: str, expected: set[str]) -> None:
    _raw, root, a = _load(corpus, name)
    assert a.kind == "ashfall" and {h.kind for h in a.hazards} == expected
    assert all(h.area_scheme == "jma.city" for h in a.hazards)
    pairs = {(_t(it, "Areas/Area/Code"), _t(it, "Kind/Name")) for it in root.xpath(
        "//*[local-name()='VolcanoInfo'][@type='降灰予報（対象市町村等）']/*[local-name()='Item']")}
    assert {(c, n) for c, n in pairs} <= {(h.area_code, h.name) for h in a.hazards}


# --- Control / Head handling ----------------------------------------------------------------


def _edited(corpus: Path, name: str, old: str, new: str) -> bytes:
    text = (corpus / "xml/jma" / name).read_text("utf-8")
    assert old in text
    return text.replace(old, new, 1).encode("utf-8")


@pytest.mark.parametrize("word,status", [("訓練", "exercise"), ("試験", "test"), ("通常", "actual")])
def test_control_status(corpus: Path, word: str, status: str) -> None:
    # hand-made variant, in memory: a real telegram with its Control/Status edited
    raw = _edited(corpus, "15_16_03_241226_VPWW55.xml", "<Status>通常</Status>", f"<Status>{word}</Status>")
    assert parse_one(raw).status == status


def test_exercise_sample_is_exercise(corpus: Path) -> None:
    _raw, root, a = _load(corpus, "38_02_01_250710_VTSE51.xml")
    assert _t(root, "Control/Status") == "訓練" and a.status == "exercise" and not a.is_real


@pytest.mark.parametrize(
    "old,new,reason",
    [
        ("<InfoType>発表</InfoType>", "", "Head/InfoType"),
        ("<ReportDateTime>2020-06-22T23:00:00+09:00</ReportDateTime>", "", "Head/ReportDateTime"),
        ("<Status>通常</Status>", "<Status></Status>", "Control/Status"),
        ("<Title>気象警報・注意報（Ｒ０６）（大雨）</Title>", "", "Control/Title"),
        ("<InfoType>発表</InfoType>", "<InfoType>予告</InfoType>", "InfoType"),
        ("<Status>通常</Status>", "<Status>本番</Status>", "Control/Status"),
    ],
)
def test_missing_or_unknown_required_elements(corpus: Path, old: str, new: str, reason: str) -> None:
    raw = _edited(corpus, "15_16_03_241226_VPWW55.xml", old, new)
    with pytest.raises(ParseError) as err:
        parse(raw, source="edited.xml")
    assert reason in err.value.reason and err.value.source == "edited.xml"
    assert err.value.line is not None


def test_info_types(corpus: Path) -> None:
    for word, it in V.INFO_TYPES.items():
        raw = _edited(corpus, "15_16_03_241226_VPWW55.xml", "<InfoType>発表</InfoType>", f"<InfoType>{word}</InfoType>")
        assert parse_one(raw).info_type == it
    raw = _edited(corpus, "15_16_03_241226_VPWW55.xml", "<InfoType>発表</InfoType>", "<InfoType>取消</InfoType>")
    a = parse_one(raw)
    assert a.level is None and a.severity == "Unknown"  # nothing stays in force


def test_unknown_title_is_other_not_rejected(corpus: Path) -> None:
    raw = _edited(corpus, "74_02_01_200512_VXSE56.xml", "<Title>地震の活動状況等に関する情報</Title>", "<Title>未知の情報</Title>")
    raw = raw.replace("<InfoKind>地震の活動状況等に関する情報</InfoKind>".encode(), b"<InfoKind>x</InfoKind>")
    a = parse_one(raw)
    assert a.kind == "other" and a.type_code is None and a.text


def test_infokind_fallback(corpus: Path) -> None:
    raw = _edited(corpus, "17_01_01_190529_VXWW50.xml", "<Title>土砂災害警戒情報</Title>", "<Title>新しい名前</Title>")
    assert parse_one(raw).kind == "landslide"


def test_headline_and_valid_datetime(corpus: Path) -> None:
    raw = _edited(corpus, "18_01_01_100806_VPOA50.xml", "</ReportDateTime>",
                  "</ReportDateTime><ValidDateTime>2010-08-06T12:00:00+09:00</ValidDateTime>")
    a = parse_one(raw)
    assert a.valid_until == "2010-08-06T12:00:00+09:00"
    root = etree.fromstring(raw)
    assert a.headline == _t(root, "Head/Headline/Text")
    assert a.issued_at == _t(root, "Head/ReportDateTime")
    assert a.publisher == _t(root, "Control/PublishingOffice")


# --- helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value,expected",
    [
        ("+37.4+138.6-10000/", {"lat": 37.4, "lon": 138.6, "depth_km": 10.0}),
        ("+35.2+139.1/", {"lat": 35.2, "lon": 139.1}),
        ("-12.3+170.5-600000/", {"lat": -12.3, "lon": 170.5, "depth_km": 600.0}),
        ("+3624.38+13831.38+2568/", {"lat": round(36 + 24.38 / 60, 6), "lon": round(138 + 31.38 / 60, 6), "height_m": 2568.0}),
        ("+343000+1353000/", {"lat": 34.5, "lon": 135.5}),
        ("", None),
        ("nonsense", None),
    ],
)
def test_coordinates(value: str, expected) -> None:
    assert parse_coordinate(value) == expected


def test_fast_builders_equal_dataclass_constructors() -> None:
    h = dict(area_code="1", area_scheme="jma.city", kind="k", name="n", state="issued")
    assert make_hazard(h) == Hazard(**h)
    assert hash(make_hazard(h)) == hash(Hazard(**h))
    assert make_area({"code": "1", "scheme": "jma.city", "name": "x"}) == Area(code="1", scheme="jma.city", name="x")


def test_vocab_tables() -> None:
    assert V.split_level_name("レベル４土砂災害危険警報") == (4, "土砂災害危険警報")
    assert V.warning_kind("大雨特別警報", "33")[0] == "heavy_rain_special_warning"
    assert V.warning_kind(None, "18")[0] == "flood_advisory"
    assert V.river_kind("氾濫注意情報解除") == ("river_flood_caution", 2, "lifted")
    assert V.river_kind("レベル５氾濫特別警報") == ("river_flood_special_warning", 5, "issued")
    assert V.kind_for_title("津波情報a") == "tsunami"
    assert V.kind_for_title("気象警報・注意報（Ｒ０６）（その他注意報）") == "weather_warning"
    assert all(re.fullmatch(r"[a-z_]+", k) for k, *_ in V.WARNING_NAMES.values())

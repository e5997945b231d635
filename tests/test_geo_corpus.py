"""Truth checks of the geo layer against the real corpus (imported once per session)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
import shapely
from lxml import etree

from lalert.geo.data import GeoData
from lalert.geo.distance import distances_to
from lalert.geo.enrich import enrich
from lalert.geo.query import areas_at, nearest_shelters
from lalert.geo.store import import_sources, load_geodata
from lalert.model import Alert, Area, Hazard
from tests.conftest import corpus_files

# JMA Area codes of these types are 市町村等 / 地域 codes the gazetteer must draw.
AREA_TYPES = ("市町村等", "一次細分区域", "市町村等をまとめた地域", "府県予報区", "土砂災害警戒情報")


@pytest.fixture(scope="session")
def store(tmp_path_factory, corpus) -> Path:
    geo = corpus / "geo"
    db = tmp_path_factory.mktemp("geo") / "geo.gpkg"
    report = import_sources(db, [
        geo / "jma-areas" / "jma_city_areas.geojson", geo / "jma" / "jmacode.csv",
        geo / "jma" / "matomeareacode.csv", geo / "municipalities" / "N03-21_43_210101.geojson",
        geo / "national" / "N03-21_210101_s0010.topojson", geo / "shelters",
    ], progress=False)
    assert report.errors == 0
    return db


@pytest.fixture(scope="session")
def geo(store) -> GeoData:
    return load_geodata(store)


def _telegram_codes(path: Path) -> set[tuple[str, str]]:
    """(scheme, code) of every 6/7-digit area code in the warning parts of a telegram."""
    out = set()
    for area in etree.parse(str(path)).iter("{*}Area"):
        code = area.findtext("{*}Code")
        parent = area.getparent()
        kind = (area.get("codeType") or parent.get("codeType") or parent.get("type")
                or parent.getparent().get("type") or "")
        if not code or not code.isdigit() or len(code) not in (6, 7):
            continue
        if kind and not any(t in kind for t in AREA_TYPES):
            continue  # 高潮予報区間, 水位観測所 …: other code tables
        out.add(("jma.city" if len(code) == 7 else "jma.forecast_area", code))
    return out


WARNING_FILES = corpus_files("xml/jma", "15_*.xml", "17_*.xml")


@pytest.mark.parametrize("path", WARNING_FILES, ids=lambda p: p.name)
def test_every_warning_area_code_resolves(geo, path):
    codes = _telegram_codes(path)
    assert codes, "telegram without area codes"
    missing = [(s, c, geo.gazetteer.resolve(s, c).reason) for s, c in sorted(codes)
               if geo.area(s, c) is None]
    assert not missing


def test_old_whole_city_code_is_union_of_split_parts(geo):
    nara = geo.area("jma.city", "2920100")
    parts = shapely.union_all([geo.area("jma.city", "2920101"), geo.area("jma.city", "2920102")])
    assert nara is not None and nara.symmetric_difference(parts).area < 1e-6


def test_designated_city_and_ward_codes(geo):
    city, ward = geo.area("lg_code", "431001"), geo.area("lg_code", "431010")
    assert city is not None and ward is not None
    assert city.area > ward.area * 3 and city.buffer(1e-6).contains(ward)
    assert geo.area("jma.city", "4310100").symmetric_difference(ward).area < 1e-6


def test_no_polygon_source_is_unresolved_not_a_shape(geo):
    r = geo.gazetteer.resolve("jma.tsunami_region", "740")
    assert r.geometry is None and "no polygon source" in r.reason
    assert geo.gazetteer.resolve("lg_code", "431002").geometry is None  # wrong check digit


def _named_municipality(geo: GeoData, address: str, record_code: str) -> str:
    """N03 code of the municipality an address names (熊本県熊本市東区… → 43100), else the
    record's own. Publishers do designate sites in a neighbouring town: 益城町 lists
    福祉避難所 in 熊本市, and the address says so."""
    n03 = geo.areas[geo.areas["scheme"] == "n03"]
    names = dict(zip(n03["name"], n03["code"], strict=True))
    names.update({p: c for c, p in zip(n03["parent"], n03["parent_name"], strict=True) if c})
    rest = re.sub(r"^熊本県(\S+?郡)?", "", address)
    hits = [n for n in names if n and rest.startswith(n) and names[n].startswith("43")]
    return names[max(hits, key=len)] if hits else record_code[:5]


# 1 % simplified N03 moves borders by up to ~1 km; 3 of 3,099 sites are 500–1,001 m
# outside their (simplified) municipality, none further.
BORDER_TOLERANCE_M = 1500.0


def test_every_kumamoto_shelter_lies_in_its_municipality(geo):
    s = geo.shelters
    # 3,099 GSI entries (1,761 + 1,338), one row per facility (both lists name most schools)
    assert sum(len(ids) for ids in s["source_ids"]) == 3099 and len(s) < 2500
    expected = np.array([_named_municipality(geo, a, c) for a, c in
                         zip(s["address"], s["municipality_code"], strict=True)])
    lons, lats = s["lon"].to_numpy(), s["lat"].to_numpy()
    dist = np.full(len(s), np.inf)
    for code in np.unique(expected):
        sel = expected == code
        poly = geo.gazetteer.resolve("n03", code, simplify=False).geometry
        assert poly is not None, code
        dist[sel], _ = distances_to(poly, lons[sel], lats[sel])
    far = dist > BORDER_TOLERANCE_M
    assert not far.any(), list(zip(s["name"][far], expected[far], dist[far].round(), strict=True))
    assert (dist == 0).mean() > 0.98
    n03 = geo.areas[geo.areas["scheme"] == "n03"]
    city_of = {c: (p or c) for c, p in zip(n03["code"], n03["parent"], strict=True)}
    moved = np.array([city_of.get(e, e) for e in expected]) != s["municipality_code"].str[:5].to_numpy()
    assert 0 < moved.sum() < 20  # the cross-border 福祉避難所 are few and real


@pytest.mark.parametrize("scheme,code", [
    ("lg_code", "431010"), ("lg_code", "431001"), ("n03", "43101"), ("n03", "43100"),
    ("jma.city", "4310000"), ("jma.city", "4310100"), ("jma.forecast_area", "430011"),
    ("jma.forecast_area", "430010"), ("jma.forecast_area", "430000"),
])
def test_kumamoto_city_hall_in_every_scheme(geo, scheme, code):
    got = {(a.scheme, a.code) for a in areas_at(geo, lat=32.8032, lon=130.7079)}
    assert (scheme, code) in got
    assert geo.area(scheme, code).contains(shapely.Point(130.7079, 32.8032))


def test_aso_is_not_kumamoto_city(geo):
    got = {(a.scheme, a.code) for a in areas_at(geo, lat=32.8847, lon=131.1040)}  # 阿蘇市役所
    assert ("lg_code", "432148") in got and ("lg_code", "431001") not in got


def _alert(kind, hazard_kind, codes, scheme="jma.city", sub_kinds=()):
    return Alert(
        format="jmaxml", id=f"test-{kind}", info_type="issue", status="actual", kind=kind,
        title=f"test {kind}", issued_at="2026-07-03T16:40:00+09:00", raw_sha256="0" * 64,
        areas=tuple(Area(code=c, scheme=scheme) for c in codes),
        hazards=tuple(Hazard(area_code=c, area_scheme=scheme, kind=hazard_kind, name=hazard_kind,
                             state="issued", sub_kinds=sub_kinds) for c in codes),
    )


@pytest.mark.parametrize("kind,hazard_kind,codes,scheme,tag", [
    ("landslide", "landslide_alert", ("4310000", "4321400", "4343200"), "jma.city", "landslide"),
    ("tsunami", "tsunami_warning", ("432156", "432121", "432130"), "lg_code", "tsunami"),
])
def test_fitting_sites_carry_the_designation(geo, kind, hazard_kind, codes, scheme, tag):
    e = enrich(_alert(kind, hazard_kind, codes, scheme), geo)
    assert e.hazard_tags == (tag,)
    fits = [s for s in e.shelters if s.fits_hazard]
    assert fits and all(tag in s.hazards for s in fits)
    assert all(tag not in s.hazards for s in e.shelters if not s.fits_hazard)
    assert all(s.distance_m == 0 for s in e.shelters if s.inside)


def test_prefecture_wide_warning_lifted_areas_excluded(geo):
    a = _alert("weather_warning", "heavy_rain_warning", ("4310000", "4320200"), sub_kinds=("inundation",))
    lifted = Hazard(area_code="4320300", area_scheme="jma.city", kind="heavy_rain_warning",
                    name="大雨警報", state="lifted")
    a = Alert(**{**a.__dict__, "areas": (*a.areas, Area(code="4320300", scheme="jma.city",
                                                         status="lifted", status_label="解除")),
                 "hazards": (*a.hazards, lifted)})
    e = enrich(a, geo)
    fp = shapely.geometry.shape(e.footprint)
    hitoyoshi = geo.area("jma.city", "4320300")
    assert e.hazard_tags == ("inland_flood",)
    assert fp.intersection(hitoyoshi).area < 0.05 * hitoyoshi.area
    assert all(a.geometry is not None for a in e.areas)


def test_nearest_shelters_geodesic_and_sorted(geo):
    got = nearest_shelters(geo, lat=32.8032, lon=130.7079, hazard="flood", limit=5)
    assert got and all("flood" in s.hazards for s in got)
    d = [s.distance_m for s in got]
    assert d == sorted(d) and d[-1] <= 5000
    assert all(0 <= s.bearing_deg < 360 for s in got)


def test_corpus_landslide_telegrams_through_parser(geo, corpus):
    from lalert.parsers import parse

    paths = sorted((corpus / "xml" / "jma").glob("17_*.xml"))
    assert len(paths) >= 3, "the corpus lost its 土砂災害警戒情報 telegrams"
    for path in paths:
        alert = parse(path.read_bytes(), source=str(path))[0]
        assert alert.format == "jmaxml" and alert.kind == "landslide", path.name
        e = enrich(alert, geo)
        assert all(a.geometry is not None for a in e.areas if a.scheme in ("jma.city", "jma.forecast_area"))
        if any(h.state not in ("lifted", "none") for h in alert.hazards):
            assert e.footprint is not None and "landslide" in e.hazard_tags


LANDSLIDE_FILES = corpus_files("xml/jma", "*VXWW50.xml")


@pytest.mark.parametrize("path", LANDSLIDE_FILES, ids=[p.name for p in LANDSLIDE_FILES])
def test_landslide_footprint_is_only_the_areas_under_alert(geo, path):
    """A 土砂災害警戒情報 names every municipality of its prefecture: only those 警戒 there
    make the footprint, never a 解除 / なし town or the prefecture as a whole."""
    from lalert.parsers import parse

    a = parse(path.read_bytes())[0]
    e = enrich(a, geo)
    active = [x for x in a.areas if x.status == "active"]
    if not active:
        assert e.footprint is None
        return
    fp = shapely.geometry.shape(e.footprint)
    for x in a.areas:
        poly = geo.area(x.scheme, x.code) if x.scheme == "jma.city" else None
        if poly is None or poly.is_empty:
            continue
        share = fp.intersection(poly).area / poly.area
        if x.status == "active":
            assert share > 0.9, x
        else:
            assert share < 0.05, x


def test_an_area_given_by_code_only_is_named_from_the_gazetteer(geo):
    """A message may give a place by code alone (Commons 町丁目 rows, CAP geocodes): the
    resident reads 熊本市 or 阿蘇市, never "4310000"; a name the message gives is kept."""
    a = _alert("evacuation", "evacuation", ("431001", "432148"), scheme="lg_code")
    a = dataclasses.replace(a, areas=a.areas + (Area(code="432016", scheme="lg_code",
                                                     name="人吉市（本文の名前）"),))
    e = enrich(a, geo)
    names = {ar.code: ar.name for ar in e.active_areas()}
    assert names["431001"] == "熊本市"  # the whole city: the union of its wards
    assert names["432148"] == "阿蘇市"
    assert names["432016"] == "人吉市（本文の名前）"
    unknown = enrich(_alert("evacuation", "evacuation", ("999999",), scheme="lg_code"), geo)
    assert unknown.areas[0].name is None and unknown.areas[0].unresolved

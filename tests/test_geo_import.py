"""Importing official open data: recognition by content, bad rows, encodings, re-imports.

Every CSV here is hand-made in the test (shapes of the GSI and 自治体標準オープンデータセット
files), not real data.
"""

from __future__ import annotations

import os
import time

import pytest

from lalert.cli import main
from lalert.geo.store import import_sources, load_geodata

GSI_HEADER = ("NO,共通ID,施設・場所名,住所,洪水,崖崩れ、土石流及び地滑り,高潮,地震,津波,大規模な火事,"
              "内水氾濫,火山現象,指定避難所との住所同一,緯度,経度,備考\n")

# hand-made: rows 2–3 good, 4 no coordinates, 5 outside Japan, 6 unparseable latitude
GSI_CSV = GSI_HEADER + (
    "1,E4310000900001,テスト公園（手作り）,熊本県熊本市中央区手取本町1,,1,,1,,1,,,,32.8030,130.7080,hand-made\n"
    "2,E4310000900002,テスト小学校（手作り）,熊本県熊本市東区健軍1,1,1,,1,1,1,1,,1,32.7950,130.7800,hand-made\n"
    "3,E4310000900003,座標なし（手作り）,熊本県熊本市西区,1,,,,,,,,,,,hand-made\n"
    "4,E4310000900004,海外（手作り）,どこか,1,,,,,,,,,1.0,100.0,hand-made\n"
    "5,E4310000900005,壊れた緯度（手作り）,熊本県熊本市,1,,,,,,,,,abc,130.7,hand-made\n"
)

# hand-made 自治体標準オープンデータセット 指定緊急避難場所一覧 rows; line 3 has a bad check digit
OPEN_CSV = (
    "都道府県コード又は市区町村コード,NO,指定緊急避難場所名,所在地_連結表記,緯度,経度,"
    "災害種別_洪水,災害種別_崖崩れ、土石流及び地滑り,災害種別_高潮,災害種別_地震,災害種別_津波,"
    "災害種別_大規模な火事,災害種別_内水氾濫,災害種別_火山現象,指定避難所との住所同一,想定収容人数\n"
    "431001,1,手作り高台広場,熊本県熊本市北区植木町1,32.8800,130.7000,,,,1,1,,,,,300\n"
    "431002,2,手作りの誤コード,熊本県熊本市北区,32.8810,130.7010,1,,,,,,,,,10\n"
)

HOTSPOT_CSV = (
    "都道府県コード又は市区町村コード,NO,名称,所在地_連結表記,緯度,経度,設置者,SSID\n"
    "431001,1,手作りWi-Fi,熊本県熊本市中央区手取本町1,32.8031,130.7081,手作り,00000JAPAN\n"
)


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_bad_rows_reported_with_line_numbers(tmp_path):
    src = _write(tmp_path / "anything.txt", GSI_CSV)
    report = import_sources(tmp_path / "geo.gpkg", [src], progress=False)
    (f,) = report.files
    assert f.action == "loaded" and f.rows == 2
    got = {(b.line, b.reason.split(" (")[0]) for b in f.bad}
    assert got == {(4, "missing coordinates"), (5, "outside Japan"), (6, "unreadable coordinates")}
    geo = load_geodata(tmp_path / "geo.gpkg")
    assert set(geo.shelters["id"]) == {"E4310000900001", "E4310000900002"}
    park = geo.shelters.set_index("id").loc["E4310000900001"]
    assert park["hazards"] == ("landslide", "earthquake", "large_fire")
    assert park["municipality_code"] == "431001"  # from the 共通ID: E + 43100 + serial
    assert geo.shelters.set_index("id").loc["E4310000900002", "kind"] == "both"


def test_shift_jis_open_data_csv_and_check_digit(tmp_path):
    src = _write(tmp_path / "hinanbasho.csv", OPEN_CSV, encoding="cp932")
    report = import_sources(tmp_path / "geo.gpkg", [src], progress=False)
    (f,) = report.files
    assert f.rows == 1 and [(b.line, "unknown municipality code" in b.reason) for b in f.bad] == [(3, True)]
    s = load_geodata(tmp_path / "geo.gpkg").shelters.iloc[0]
    assert s["name"] == "手作り高台広場" and s["kind"] == "emergency_site"
    assert s["hazards"] == ("earthquake", "tsunami") and s["capacity"] == 300


def test_reimport_is_idempotent_and_newer_file_replaces(tmp_path):
    db = tmp_path / "geo.gpkg"
    src = _write(tmp_path / "a.csv", GSI_CSV)
    import_sources(db, [src], progress=False)
    first = db.read_bytes()
    again = import_sources(db, [src], progress=False)
    assert [f.action for f in again.files] == ["unchanged"] and db.read_bytes() == first
    # a newer edition of the same list (same publisher) drops a site and adds one
    newer = GSI_HEADER + (
        "1,E4310000900001,テスト公園（手作り・改）,熊本県熊本市中央区手取本町1,,1,,1,,1,,,,32.8030,130.7080,hand-made\n"
        "9,E4310000900009,新しい広場（手作り）,熊本県熊本市南区,,,,1,,,,,,32.7400,130.6900,hand-made\n"
    )
    src2 = _write(tmp_path / "b.csv", newer)
    later = time.time() + 10
    os.utime(src2, (later, later))
    rep = import_sources(db, [src2], progress=False)
    assert [f.action for f in rep.files] == ["replaced"]
    ids = set(load_geodata(db).shelters["id"])
    assert ids == {"E4310000900001", "E4310000900009"}
    # the older file again is refused, the stored newer data kept
    old = import_sources(db, [src], progress=False)
    assert [f.action for f in old.files] == ["older"]
    assert set(load_geodata(db).shelters["id"]) == ids


def test_unrecognised_file_is_an_error_not_a_crash(tmp_path, capsys):
    junk = _write(tmp_path / "shelters.csv", "foo,bar\n1,2\n")
    db = tmp_path / "geo.gpkg"
    assert main(["data", "import", "--db", str(db), str(junk)]) == 2
    assert "not recognised" in capsys.readouterr().err


def test_hotspots_link_to_nearby_shelter(tmp_path):
    db = tmp_path / "geo.gpkg"
    import_sources(db, [_write(tmp_path / "s.csv", GSI_CSV), _write(tmp_path / "w.csv", HOTSPOT_CSV)],
                   progress=False)
    h = load_geodata(db).hotspots.iloc[0]
    assert h["ssid"] == "00000JAPAN" and h["shelter_id"] == "E4310000900001"


def test_topojson_and_geojson_n03_read_alike(tmp_path, corpus):
    d = corpus / "geo" / "municipalities"
    a = import_sources(tmp_path / "a.gpkg", [d / "N03-21_43_210101.topojson"], progress=False)
    b = import_sources(tmp_path / "b.gpkg", [d / "N03-21_43_210101.geojson"], progress=False)
    assert a.files[0].rows == b.files[0].rows == 49
    ga, gb = load_geodata(tmp_path / "a.gpkg"), load_geodata(tmp_path / "b.gpkg")
    x, y = ga.area("lg_code", "432024"), gb.area("lg_code", "432024")
    assert x.symmetric_difference(y).area < 0.01 * x.area


def test_shapefile_with_tokyo_datum_is_shifted(tmp_path):
    """A Tokyo-datum (EPSG:4301) shapefile must land ~400 m away from its raw numbers."""
    gpd = pytest.importorskip("geopandas")
    from shapely.geometry import box

    g = gpd.GeoDataFrame({"N03_001": ["熊本県"], "N03_003": [None], "N03_004": ["テスト町"],
                          "N03_007": ["43999"]}, geometry=[box(130.70, 32.80, 130.72, 32.82)], crs="EPSG:4301")
    g.to_file(tmp_path / "n03.shp")
    rep = import_sources(tmp_path / "geo.gpkg", [tmp_path / "n03.shp"], progress=False)
    assert rep.files[0].action == "loaded"
    c = load_geodata(tmp_path / "geo.gpkg").area("n03", "43999").centroid
    from pyproj import Geod

    _, _, d = Geod(ellps="WGS84").inv(130.71, 32.81, c.x, c.y)
    assert 300 < d < 600

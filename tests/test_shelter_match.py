"""Reported shelters → registry facilities, over the real GSI data of the corpus.

The report names are written the ways municipalities write them (owner prefixes, full-width
and kanji numerals, building suffixes, half-width kana, naming-rights names); the expected
facilities are real GSI entries. Near-misses must stay unmatched.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from lalert.geo.data import GeoData
from lalert.geo.match import geo_index, link_key, match_report
from lalert.geo.store import import_sources, load_geodata

HITOYOSHI, YATSUSHIRO, MINAMATA = "432032", "432024", "432059"


@pytest.fixture(scope="module")
def geo(tmp_path_factory, corpus) -> GeoData:
    db = tmp_path_factory.mktemp("geo") / "geo.gpkg"
    g = corpus / "geo"
    report = import_sources(db, [g / "municipalities" / "N03-21_43_210101.geojson", g / "shelters"],
                            progress=False)
    assert report.errors == 0
    return load_geodata(db)


def test_one_facility_per_place_keeps_roles_and_ids(geo):
    s = geo.shelters.set_index("id")
    # 第二中学校 is in both GSI lists: one facility with both roles and both ids
    f = s.loc["E4320300019111"]
    assert f["name"] == "第二中学校"
    assert set(f["roles"]) == {"emergency_site", "shelter"}
    assert set(f["source_ids"]) == {"E4320300019111", "E4320300019201"}
    assert "flood" in f["hazards"]
    assert "E4320300019201" not in s.index
    # 人吉市保健センター: 緊急避難場所, 避難所 and 福祉避難所 at one address
    assert set(s.loc["E4320300038111", "roles"]) == {"emergency_site", "shelter", "welfare_shelter"}
    # same place, different 共通ID facility part, 字 in one address only: merged by address
    assert set(s.loc["E4320300034111", "source_ids"]) == {"E4320300034111", "E4320300001201"}
    names = s[s["municipality_code"] == HITOYOSHI]["name"].tolist()
    assert len(names) == len(set(names))
    assert len(geo.shelters) < 3099  # 1,761 + 1,338 entries are far fewer places


CASES = [
    # (report name, municipality, address, (lat, lon, radius) or None, expected id or None, how)
    ("人吉市立第一中学校 体育館", HITOYOSHI, None, None, "E4320300029111", "name"),
    ("第２中学校", HITOYOSHI, None, None, "E4320300019111", "name"),
    ("第2中学校", HITOYOSHI, None, None, "E4320300019111", "name"),
    ("人吉東小学校体育館", HITOYOSHI, None, None, "E4320300016111", "name"),
    ("県立人吉高等学校", HITOYOSHI, None, None, "E4320300032111", "name"),
    ("人吉市　保健センター", HITOYOSHI, None, None, "E4320300038111", "name"),
    ("ﾀﾝﾎﾟﾎﾟ", HITOYOSHI, None, None, "E4320300040121", "name"),
    ("西瀬小学校グラウンド", HITOYOSHI, None, None, "E4320300004111", "name"),
    ("八代市立第1中学校", YATSUSHIRO, None, None, None, "name"),  # filled below
    ("第五中学校", YATSUSHIRO, None, None, None, "name"),
    ("八代市総合体育館", YATSUSHIRO, None, None, None, "name"),  # GSI: 八代トヨオカ地建アリーナ（総合体育館）
    ("やつしろハーモニーホール", YATSUSHIRO, None, None, None, "name"),  # GSI: 桜十字ホールやつしろ（…）
    ("市民体育館", HITOYOSHI, "熊本県人吉市下城本町１５６６－１", None, "E4320300006111", "address"),
    ("臨時避難所", HITOYOSHI, None, (32.206405, 130.736667, 0.0), "E4320300004111", "location"),
    ("E4320300019201", HITOYOSHI, None, None, "E4320300019111", "code"),
]
EXPECTED_NAMES = {"八代市立第1中学校": "八代市立第一中学校", "第五中学校": "八代市立第五中学校",
                  "八代市総合体育館": "八代トヨオカ地建アリーナ（総合体育館）",
                  "やつしろハーモニーホール": "桜十字ホールやつしろ（やつしろハーモニーホール）"}


@pytest.mark.parametrize(("name", "muni", "address", "circle", "want", "how"), CASES)
def test_report_finds_its_facility(geo, name, muni, address, circle, want, how):
    idx = geo_index(geo)
    lat, lon, radius = circle or (None, None, None)
    code = name if name.startswith("E43") else None
    got = match_report(idx, name=name, muni=muni, code=code, address=address, lat=lat, lon=lon,
                       radius_m=radius)
    assert got is not None, name
    assert got.match == how
    if want:
        assert got.id == want
    else:
        s = geo.shelters.set_index("id")
        assert unicodedata.normalize("NFKC", EXPECTED_NAMES[name]) in s.loc[got.id, "aliases"]


NEAR_MISSES = [
    ("第十中学校", YATSUSHIRO),  # 八代 has 第一 … 第八, no 第十
    ("第五中学校", HITOYOSHI),  # 人吉 has 第一 … 第三
    ("第二中学校", "432041"),  # 荒尾: 第三 and 第四 only
    ("人吉東小学校", YATSUSHIRO),  # another city's school
    ("総合体育館", MINAMATA),  # 水俣 has two (南部館, 本館): ambiguous
    ("公民館", HITOYOSHI),
]


@pytest.mark.parametrize(("name", "muni"), NEAR_MISSES)
def test_near_misses_stay_unmatched(geo, name, muni):
    assert match_report(geo_index(geo), name=name, muni=muni) is None


def test_first_and_fifth_stay_distinct(geo):
    idx = geo_index(geo)
    one = match_report(idx, name="第一中学校", muni=YATSUSHIRO)
    five = match_report(idx, name="第５中学校", muni=YATSUSHIRO)
    assert one and five and one.id != five.id
    assert "第一" in one.name and "第五" in five.name


def test_circle_far_from_any_facility_is_no_location_match(geo):
    # 500 m circle in the river: the bound keeps it from grabbing the nearest school
    got = match_report(geo_index(geo), name="臨時避難所", muni=HITOYOSHI,
                       lat=32.2150, lon=130.7500, radius_m=500.0)
    assert got is None


def test_operator_link_applies(geo, tmp_path: Path):
    idx = geo_index(geo)
    manual = {link_key(HITOYOSHI, "旧人吉市役所 臨時避難所"): "E4320300031111"}
    got = match_report(idx, name="旧人吉市役所　臨時避難所", muni=HITOYOSHI, manual=manual)
    assert got is not None and (got.id, got.match) == ("E4320300031111", "manual")


def test_board_keeps_the_latest_report_per_facility_and_ignores_drills():
    from lalert.geo.reports import ShelterBoard
    from lalert.model import Alert, EnrichedAlert, Shelter

    def report(aid, at, state, crowding=None, status="actual"):
        reg = {"id": "F1", "name": "第一中学校", "match": "name"}
        s = Shelter("人吉市立第一中学校", state, crowding=crowding, registry=reg, area_code="432032")
        return EnrichedAlert(Alert(format="commons", id=aid, info_type="issue", status=status,
                                   kind="shelter", title="避難所情報", issued_at=at,
                                   raw_sha256="0" * 64, shelters=(s,)))

    later = report("b", "2026-07-03T18:00:00+09:00", "open", "full")
    earlier = report("a", "2026-07-03T17:00:00+09:00", "open", "vacant")
    drill = report("d", "2026-07-03T19:00:00+09:00", "closed", status="exercise")
    board = ShelterBoard([later, earlier, drill])
    c = board.get("F1")
    assert (c.state, c.status, c.open) == ("open", "full", False)  # full is never offered as open
    assert board.unmatched() == []

"""L-Alert / Commons parsing: corpus samples, hand-made examples and fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from pyproj import Geod

from lalert.parsers import ParseError, parse, parse_one
from lalert.parsers.common import circle_polygon
from lalert.schema import validation_errors
from tests.conftest import ROOT, corpus_files

FIX = Path(__file__).parent / "fixtures" / "commons"
EXAMPLES = ROOT / "lalert" / "demo" / "messages"
COMMONS = corpus_files("xml/commons", "*.xml")


def _xp(path: Path, name: str) -> list[str]:
    """Independent reading: plain XPath by local name."""
    tree = etree.parse(str(path))
    return [e.text.strip() for e in tree.xpath(f"//*[local-name()='{name}']") if e.text and e.text.strip()]


@pytest.mark.parametrize("path", COMMONS, ids=lambda p: p.name)
def test_corpus_sample_parses_and_matches_xpath(path: Path) -> None:
    alert = parse_one(path.read_bytes(), source=str(path))
    assert validation_errors(alert.to_dict()) == []
    assert alert.format == "commons"
    assert alert.id == _xp(path, "distributionID")[0]
    assert alert.event_id == _xp(path, "documentID")[0]
    assert alert.serial == int(_xp(path, "documentRevision")[0])
    assert alert.kind == "evacuation"  # category EvacuationOrder in every sample
    assert alert.title == _xp(path, "Title")[-1] if "soap" in path.name else _xp(path, "Title")[0]
    codes = {a.code for a in alert.areas if a.scheme == "lg_code"}
    assert codes <= set(_xp(path, "jisX0402"))


def test_soap_sample_areas_status_and_evacuations(corpus: Path) -> None:
    path = corpus / "xml/commons/publiccommons-py_soap1.xml"
    alert = parse_one(path.read_bytes(), source=str(path))
    chome = [a for a in alert.areas if a.scheme == "commons.chome"]
    assert len(chome) == 12
    assert all(len(a.code) == 12 and a.code.isdigit() for a in chome)
    assert [a.code for a in chome] == _xp(path, "ooAzaTyouTyouMokuCode")
    assert chome[0].name == "一ツ橋一丁目"
    assert chome[0].geometry == {"type": "Point", "coordinates": [139.756685, 35.691634]}
    assert [(a.code, a.name) for a in alert.areas if a.scheme == "lg_code"] == [("131016", "東京都千代田区")]
    assert alert.status == "test"
    assert alert.publisher == "東京都千代田区"
    assert alert.issued_at == "2013-04-10T18:54:00+09:00"
    assert alert.valid_until == "2013-04-12T18:56:00+09:00"
    assert len(alert.evacuations) == 12
    e = alert.evacuations[0]
    assert (e.order, e.action, e.level, e.order_label) == ("evacuation_preparation", "issued", 3, "避難準備")
    assert e.issued_at == "2013-04-10T18:55:00+09:00"
    assert alert.level == 3
    assert alert.details["disaster"] == "試験災害"


def test_example_evacuation_order() -> None:
    alert = parse_one((EXAMPLES / "20_commons_evacuation_order_kumamoto.xml").read_bytes())
    assert validation_errors(alert.to_dict()) == []
    assert (alert.kind, alert.info_type, alert.status, alert.level) == ("evacuation", "issue", "actual", 4)
    orders = [(e.area_name, e.order, e.level) for e in alert.evacuations]
    assert orders == [
        ("北区 龍田陳内", "evacuation_order", 4),
        ("中央区 黒髪", "evacuation_order", 4),
        ("東区 秋津", "evacuation_order", 4),
        ("南区 川尻", "elderly_evacuation", 3),
    ]
    assert sum(e.households for e in alert.evacuations) == alert.details["total"]["Households"] == 4210
    assert sum(e.people for e in alert.evacuations) == alert.details["total"]["HeadCount"] == 9180
    assert alert.evacuations[0].radius_m == 600.0
    shapes = [a for a in alert.areas if a.scheme == "geometry"]
    assert len(shapes) == 4 and all(a.geometry["type"] == "Polygon" for a in shapes)
    assert alert.areas[0].code == "431001"


def test_example_shelter_counts_and_states() -> None:
    path = EXAMPLES / "21_commons_shelter_kumamoto.xml"
    alert = parse_one(path.read_bytes())
    assert validation_errors(alert.to_dict()) == []
    assert alert.kind == "shelter" and alert.serial == 3 and alert.info_type == "update"
    by_name = {s.name: s for s in alert.shelters}
    assert list(by_name) == _xp(path, "areaName")[2:]  # after targetArea and Head area names
    assert [s.state for s in alert.shelters] == ["open", "open", "open", "open", "unopened", "open"]
    assert [s.crowding for s in alert.shelters] == ["crowded", "vacant", "full", "vacant", None, "vacant"]
    ryu = by_name["竜南中学校"]
    assert (ryu.capacity, ryu.head_count, ryu.head_count_voluntary, ryu.households) == (500, 500, 35, 214)
    assert (ryu.lat, ryu.lon) == (32.817869, 130.715085)
    assert ryu.address == "熊本県熊本市中央区坪井4-16-1"
    assert ryu.changed_at == "2026-07-03T16:45:00+09:00"
    assert by_name["月出小学校"].head_count is None
    assert alert.details["total"]["HeadCount"] == 312 + 187 + 500 + 64 + 12
    assert alert.details["total_shelters"] == 5


def test_example_general_information() -> None:
    alert = parse_one((EXAMPLES / "22_commons_general_kumamoto.xml").read_bytes())
    assert validation_errors(alert.to_dict()) == []
    assert alert.kind == "general" and alert.type_code == "GeneralInformation"
    assert "通行止め" in alert.text and "応急給水所" in alert.text
    assert alert.publisher == "熊本県熊本市"
    road = [a for a in alert.areas if a.scheme == "geometry"]
    assert len(road) == 1 and road[0].geometry["type"] == "Polygon"


def test_example_cancel_supersedes_the_order() -> None:
    order = parse_one((EXAMPLES / "20_commons_evacuation_order_kumamoto.xml").read_bytes())
    cancel = parse_one((EXAMPLES / "29_commons_evacuation_cancel_kumamoto.xml").read_bytes())
    assert validation_errors(cancel.to_dict()) == []
    assert cancel.info_type == "cancel"
    assert cancel.key == order.key
    assert cancel.serial > order.serial
    assert cancel.id != order.id
    assert cancel.evacuations == () and cancel.level is None


def test_bare_report_with_odd_prefixes() -> None:
    alert = parse_one((FIX / "bare_report_shelter.xml").read_bytes())
    assert validation_errors(alert.to_dict()) == []
    assert alert.status == "exercise"  # 訓練
    assert alert.id == "fixture-shelter-doc#4"
    assert alert.issued_at == "2026-09-01T10:30:00+09:00"  # bare time taken as JST
    a, b = alert.shelters
    assert (a.state, a.crowding, a.phone, a.kind) == ("closed", "unknown", "096-000-0000", "避難所")
    assert (b.state, b.capacity, b.lat) == ("permanent", 1200, None)


def test_broken_messages_are_parse_errors_with_a_line() -> None:
    raw = (FIX / "no_status.xml").read_bytes()
    with pytest.raises(ParseError) as exc:
        parse(raw, source="no_status.xml")
    assert "documentRevision 'one'" in exc.value.reason and exc.value.line == 17
    with pytest.raises(ParseError) as exc:
        parse(raw.replace(b">one<", b">1<"), source="no_status.xml")
    assert exc.value.reason.startswith("no status") and exc.value.line in (3, 4)  # lxml: where the start tag ends


def test_circle_polygon_is_geodesic_and_closed() -> None:
    poly = circle_polygon(32.8, 130.7, 1500)
    ring = poly["coordinates"][0]
    assert poly["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) == 33
    geod = Geod(ellps="WGS84")
    for lon, lat in ring[:-1]:
        _, _, d = geod.inv(130.7, 32.8, lon, lat)
        assert abs(d - 1500) < 0.5
    assert geod.geometry_area_perimeter(__import__("shapely").geometry.shape(poly))[0] > 0  # CCW
    assert circle_polygon(32.8, 130.7, 0) == {"type": "Point", "coordinates": [130.7, 32.8]}

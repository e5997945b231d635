"""CAP parsing: OASIS / google cap-library corpus, hand-made examples and fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree
from pyproj import Geod

from lalert.parsers import ParseError, parse, parse_one
from lalert.schema import validation_errors
from tests.conftest import ROOT, corpus_files

FIX = Path(__file__).parent / "fixtures" / "cap"
EXAMPLES = ROOT / "lalert" / "demo" / "messages"
BROKEN = {"invalid.cap", "invalid.rss", "invalid_element.atom", "canada_errors.cap",
          "noaa_errors.cap", "no_entries.atom", "no_id.atom", "no_link.atom", "no_title.atom",
          "weather_invalid.atom"}
LINK_ONLY = {"amber.rss", "ny_index.rss", "weather_index.atom", "earthquake_index.atom",
             "empty_weather_index.atom"}
READABLE = [p for p in corpus_files("xml/cap", "*.cap", "*.atom", "*.rss")
            if p.name not in BROKEN | LINK_ONLY]


def _alerts_by_xpath(path: Path) -> list[etree._Element]:
    tree = etree.parse(str(path))
    return tree.xpath("//*[local-name()='entry' or local-name()='item']//*[local-name()='alert']"
                      " | /*[local-name()='alert']")


def _child(el: etree._Element, name: str) -> str:
    return el.xpath(f"string(*[local-name()='{name}'])").strip()


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_corpus_alert_parses_and_matches_xpath(path: Path) -> None:
    alerts = parse(path.read_bytes(), source=str(path))
    expected = _alerts_by_xpath(path)
    assert len(alerts) == len(expected) >= 1
    for alert, el in zip(alerts, expected, strict=True):
        assert validation_errors(alert.to_dict()) == []
        assert alert.id == _child(el, "identifier")
        assert alert.status == _child(el, "status").lower()
        assert alert.issued_at[:19] == _child(el, "sent")[:19]
        info = el.xpath("*[local-name()='info']")
        if info:
            assert alert.title == _child(info[0], "event")


@pytest.mark.parametrize("name", sorted(LINK_ONLY))
def test_link_only_feeds_ask_to_be_fetched(corpus: Path, name: str) -> None:
    with pytest.raises(ParseError) as exc:
        parse((corpus / "xml/cap" / name).read_bytes(), source=name)
    if name == "empty_weather_index.atom":
        assert "no entries" in exc.value.reason
    else:
        n = len(etree.parse(str(corpus / "xml/cap" / name)).xpath(
            "//*[local-name()='entry' or local-name()='item']"))
        assert exc.value.reason == f"feed holds links to {n} alerts but inlines none; fetch them"


def test_alert_outside_entry_is_not_delivered(corpus: Path) -> None:
    with pytest.raises(ParseError, match="outside any entry"):
        parse((corpus / "xml/cap/no_entries.atom").read_bytes())


def test_canada_bilingual_update(corpus: Path) -> None:
    alert = parse_one((corpus / "xml/cap/canada.cap").read_bytes())
    assert (alert.language, alert.info_type, alert.severity) == ("en", "update", "Minor")
    assert alert.event_id == "2.49.0.1.124.a3f342a4.2012"
    assert len(alert.references) == 2 and alert.references[0].startswith("cap@ec.gc.ca,")
    (fr,) = alert.translations
    assert fr["language"] == "fr" and fr["event"] == "orages"
    assert fr["headline"] == "veille d'orages violents"
    assert fr["instruction"].startswith("Surveiller")
    assert alert.text.endswith("take appropriate precautions")
    # English areas only (the French block repeats them), polygons in lon,lat order
    polys = [a for a in alert.areas if a.scheme == "geometry"]
    assert [a.name for a in polys] == ["Windsor - Leamington - Essex County", "Chatham-Kent - Rondeau Park"]
    assert polys[0].geometry["coordinates"][0][0] == [-82.9314, 42.3481]
    codes = [a.code for a in alert.areas if a.scheme == "cap:profile:CAP-CP:Location:0.3"]
    assert len(codes) == len(set(codes)) == 11
    (hz,) = alert.hazards  # AllClear: the watch has ended
    assert (hz.kind, hz.state, hz.state_label) == ("thunderstorm", "lifted", "AllClear")


def test_circle_with_zero_radius_is_a_point(corpus: Path) -> None:
    alert = parse_one((corpus / "xml/cap/earthquake.atom").read_bytes())
    assert alert.kind == "earthquake"
    assert alert.areas[0].geometry == {"type": "Point", "coordinates": [-115.5527, 32.9525]}


def test_example_ja_en_evacuation() -> None:
    alert = parse_one((EXAMPLES / "23_cap_evacuation_kumamoto_ja_en.xml").read_bytes())
    assert validation_errors(alert.to_dict()) == []
    assert (alert.kind, alert.level, alert.language, alert.severity) == ("evacuation", 4, "ja", "Severe")
    assert alert.headline.startswith("【警戒レベル4】")
    assert [t["language"] for t in alert.translations] == ["en"]
    assert alert.translations[0]["event"] == "Evacuation Order"
    assert [(a.scheme, a.code) for a in alert.areas] == [
        ("geometry", None), ("lg_code", "431052"), ("lg_code", "431010")]
    ring = alert.areas[0].geometry["coordinates"][0]
    assert ring[0] == [130.735, 32.836] and ring[0] == ring[-1]
    assert alert.valid_until == "2026-07-04T17:00:00+09:00"


def test_example_exercise_circle() -> None:
    alert = parse_one((EXAMPLES / "24_cap_exercise_kumamoto.xml").read_bytes())
    assert alert.status == "exercise" and not alert.is_real
    shape = alert.areas[0].geometry
    assert shape["type"] == "Polygon"
    _, _, d = Geod(ellps="WGS84").inv(130.7079, 32.8032, *shape["coordinates"][0][0])
    assert abs(d - 3000) < 1  # CAP circle radius is in km


def test_soap_edxl_cancel() -> None:
    alert = parse_one((FIX / "soap_edxl_cap.xml").read_bytes())
    assert validation_errors(alert.to_dict()) == []
    assert (alert.info_type, alert.status, alert.event_id) == ("cancel", "test", "fixture-alert-1")
    assert alert.level == 3  # JMA_LEVEL レベル３ (full-width digit)
    assert alert.hazards[0].state == "lifted"
    assert ("cap:JMA", "4310000") in [(a.scheme, a.code) for a in alert.areas]


def test_atom_with_two_inline_alerts() -> None:
    a1, a2 = parse((FIX / "inline_two.atom").read_bytes())
    assert (a1.kind, a1.id, a2.kind, a2.event_id) == ("tsunami", "fixture-a1", "shelter", "fixture-a1")
    multi = a1.areas[0].geometry
    assert multi["type"] == "MultiPolygon" and len(multi["coordinates"]) == 2
    first_ring = multi["coordinates"][0][0]
    assert first_ring[0] == first_ring[-1] and len(first_ring) == 5  # closed by the parser
    assert a2.language == "en"  # CAP default when <language> is absent


def test_missing_identifier_is_a_parse_error() -> None:
    raw = (FIX / "inline_two.atom").read_bytes().replace(b"<identifier>fixture-a2</identifier>", b"")
    with pytest.raises(ParseError, match="identifier") as exc:
        parse(raw)
    assert exc.value.line == 41  # the second <alert>

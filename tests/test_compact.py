"""Alerts held in memory share equal areas, hazards and nearby sites (``lalert.compact``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from lalert.compact import Interner
from lalert.model import Area, EnrichedAlert, NearbyShelter
from lalert.parsers import parse

ROOT = Path(__file__).resolve().parent.parent
WARNING = ROOT / "lalert/demo/messages/10_jma_weather_warning_kumamoto.xml"


def copies(n: int) -> list:
    """``n`` receipts of the same telegram with distinct bytes (hence distinct ids)."""
    data = WARNING.read_bytes()
    end = data.find(b"?>") + 2
    return [parse(data[:end] + b"<!-- copy %d -->" % i + data[end:])[0] for i in range(n)]


def test_copies_of_a_message_share_their_areas_and_hazards():
    a, b = copies(2)
    assert a.id != b.id and a.areas[0] is not b.areas[0]  # parsed apart: own objects
    shared = Interner()
    a2, b2 = shared.alert(a), shared.alert(b)
    assert a2 == a and b2 == b  # same content
    assert all(x is y for x, y in zip(a2.areas, b2.areas, strict=True))
    assert all(x is y for x, y in zip(a2.hazards, b2.hazards, strict=True))


def test_a_changed_status_is_not_shared():
    (a,) = copies(1)
    lifted = dataclasses.replace(a, areas=tuple(dataclasses.replace(x, status="lifted")
                                                for x in a.areas))
    shared = Interner()
    a2, l2 = shared.alert(a), shared.alert(lifted)
    assert [x.status for x in l2.areas] == ["lifted"] * len(a.areas)
    assert not any(x is y for x, y in zip(a2.areas, l2.areas, strict=True))


def test_only_the_gazetteers_geometry_is_shared():
    poly = {"type": "Polygon", "coordinates": [[[130, 32], [131, 32], [131, 33], [130, 32]]]}
    gazetteer = {("jma.city", "4310000"): poly}
    shared = Interner(lambda scheme, code: gazetteer.get((scheme, code)))
    own = {"type": "Polygon", "coordinates": [[[130, 32], [131, 32], [131, 33], [130, 32]]]}
    g1 = shared.areas((Area("4310000", "jma.city", "熊本市", geometry=poly),))
    g2 = shared.areas((Area("4310000", "jma.city", "熊本市", geometry=poly),))
    m1 = shared.areas((Area("4310000", "jma.city", "熊本市", geometry=own),))
    m2 = shared.areas((Area("4310000", "jma.city", "熊本市", geometry=dict(own)),))
    assert g1[0] is g2[0]
    assert m1[0] is not m2[0] and m1[0].geometry is own  # a message's own shape stays its own


def test_enriched_alerts_share_nearby_sites():
    a, b = copies(2)
    site = dict(id="s1", name="熊本市役所", lat=32.8, lon=130.7, hazards=("flood",),
                fits_hazard=True, distance_m=10.0, inside=True)
    shared = Interner()
    e1 = shared.enriched(EnrichedAlert(alert=a, areas=a.areas, shelters=(NearbyShelter(**site),)))
    e2 = shared.enriched(EnrichedAlert(alert=b, areas=b.areas, shelters=(NearbyShelter(**site),)))
    assert e1.shelters[0] is e2.shelters[0] and e1.areas[0] is e2.areas[0]
    assert e1.alert.areas[0] is e2.alert.areas[0]


def test_copies_share_their_texts_and_details_and_still_equal_the_parse():
    a, b = copies(2)
    shared = Interner()
    a2, b2 = shared.alert(a), shared.alert(b)
    assert a2 == a and b2 == b
    assert a.headline is not b.headline  # parsed apart …
    assert a2.headline is b2.headline and a2.title is b2.title  # … held once
    assert a2.details is b2.details and a2.areas is b2.areas and a2.hazards is b2.hazards
    assert a2.id is not b2.id and a2.raw_sha256 != b2.raw_sha256  # what names one message


def test_details_that_differ_are_not_shared():
    a, b = copies(2)
    b = dataclasses.replace(b, details={**b.details, "extra": 1})
    shared = Interner()
    assert shared.alert(a).details is not shared.alert(b).details


def test_the_table_is_bounded():
    shared = Interner(max_entries=10)
    for i in range(100):
        shared.areas((Area(str(i), "jma.city"),))
    assert len(shared) <= 10


def test_the_table_forgets_what_left_force_and_keeps_what_is_held():
    """Past its limit the table drops what only it refers to (alerts that left force),
    keeps what a held alert still shares, and sharing goes on for those."""
    shared = Interner(max_entries=10, max_chars=50)
    held = [shared.text("".join(["in force ", str(i)])) for i in range(5)]
    for i in range(200):  # texts of alerts that came and went
        shared.text("".join(["gone ", str(i)]))
    assert len(shared) <= 30
    for i, s in enumerate(held):
        assert shared.text("".join(["in force ", str(i)])) is s


def test_the_view_shares_a_reported_sites_overlay_among_alerts():
    """Two alerts near the same facility, a 避難所情報 reporting it open: the view hands
    both alerts the current state, in one shared record."""
    from lalert.bus.view import ActiveView
    from lalert.model import Shelter

    a, b = copies(2)
    site = dict(id="s1", name="熊本市役所", lat=32.8, lon=130.7, hazards=("flood",),
                fits_hazard=True, distance_m=10.0, inside=True)
    report = dataclasses.replace(
        a, id="report-1", event_id="report-1", areas=(), hazards=(),
        shelters=(Shelter(name="熊本市役所", state="open", registry={"id": "s1", "name": "熊本市役所",
                                                                    "match": "code"}),))
    view = ActiveView()
    view.put("a", EnrichedAlert(alert=a, areas=a.areas, shelters=(NearbyShelter(**site),)), False, 1)
    view.put("b", EnrichedAlert(alert=b, areas=b.areas, shelters=(NearbyShelter(**site),)), False, 2)
    view.put("r", EnrichedAlert(alert=report), False, 3)
    view.bump()
    got = {e.id: e for e in view.active()}
    sa, sb = got[a.id].shelters[0], got[b.id].shelters[0]
    assert sa.state == "open" and sb.state == "open"
    assert sa is sb

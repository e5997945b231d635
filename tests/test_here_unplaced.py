""""Where am I" never answers "nothing here" while an alert it cannot place is in force.

A tsunami warning names JMA 津波予報区 (岩手県, 宮城県 …). Until their polygons are imported
the gazetteer holds none, so no point lies inside the warning; the lookup must then name
the warning and its places ("check whether they include this point") instead of telling a
resident on the coast that nothing is in force. Real telegrams over the corpus polygons.
"""

from __future__ import annotations

import pytest
import shapely

from lalert.parsers import parse

NARA_53 = "15_08_01_130412_VPWW53.xml"  # 奈良県 warnings: every town has a polygon
TSUNAMI = "32-39_11_02_250206_VTSE41.xml"  # 2011-03-11 大津波警報: forecast regions only
ASAMA = "45_01_01_200522_VFVO50.xml"  # 浅間山 噴火警報: the volcano's code and its towns


@pytest.fixture(scope="module")
def world(corpus, jma_geo):
    from lalert.geo.enrich import enrich

    geo = jma_geo
    jma = corpus / "xml" / "jma"
    nara = enrich(parse((jma / NARA_53).read_bytes())[0], geo)
    tsunami = enrich(parse((jma / TSUNAMI).read_bytes())[0], geo)
    asama = enrich(parse((jma / ASAMA).read_bytes())[0], geo)
    return nara, tsunami, asama, geo


def _point_of(ea, name):
    (area,) = [a for a in ea.active_areas() if a.name == name and a.geometry]
    p = shapely.geometry.shape(area.geometry).representative_point()
    return p.y, p.x


def _miyako(geo):
    """A point in 宮古市 (岩手県's coast), from the gazetteer the daemon uses."""
    p = geo.area("jma.city", "0320200").representative_point()
    return p.y, p.x


def test_the_tsunami_warning_is_named_where_it_cannot_be_placed(world):
    from lalert.outputs.publicmap.data import Here

    nara, tsunami, _asama, geo = world
    assert not [a for a in tsunami.active_areas() if a.geometry]  # no 予報区 polygons here
    here = Here.build([nara, tsunami], geo)
    said = here.answer(*_miyako(geo), lang="en")
    assert said["alerts"] == []  # nothing on the map covers 宮古市 …
    (maybe,) = said["unplaced"]  # … but the warning is named, with its places
    assert maybe["id"] == tsunami.alert.id
    assert "岩手県" in maybe["places"] and "宮城県" in maybe["places"]
    assert len(maybe["places"]) + maybe["more_places"] == len(
        {a.name for a in tsunami.active_areas()})


def test_a_placed_alert_is_answered_once_and_not_as_unplaced(world):
    from lalert.outputs.publicmap.data import Here

    nara, tsunami, asama, geo = world
    here = Here.build([nara, tsunami, asama], geo)
    said = here.answer(*_point_of(nara, "十津川村"), lang="ja")
    assert [a["id"] for a in said["alerts"]] == [nara.alert.id]
    assert [a["id"] for a in said["unplaced"]] == [tsunami.alert.id]
    # with its polygons imported (or a footprint) the tsunami warning is placed, not named
    only_nara = Here.build([nara], geo).answer(*_point_of(nara, "三宅町"), lang="ja")
    assert only_nara["unplaced"] == [] and len(only_nara["alerts"]) == 1


def test_an_alert_drawn_in_some_places_is_judged_by_them(world):
    """浅間山's warning names the volcano (no polygon) and its towns (polygons): it is on the
    map, so far from those towns it is neither answered nor named as unplaced."""
    from lalert.outputs.publicmap.data import Here

    _nara, _tsunami, asama, geo = world
    assert any(a.geometry for a in asama.active_areas())
    assert any(not a.geometry for a in asama.active_areas())  # the volcano's own code
    here = Here.build([asama], geo)
    far = here.answer(*_miyako(geo), lang="ja")
    assert far["alerts"] == [] and far["unplaced"] == []
    (town,) = [a.name for a in asama.active_areas() if a.geometry][:1]
    assert [a["id"] for a in here.answer(*_point_of(asama, town), lang="ja")["alerts"]] == [
        asama.alert.id]

"""What a resident is told at one place must be true there: found walking through real
JMA telegrams (corpus) as a resident at a signage screen, on the map and on a live stream."""

from __future__ import annotations

import pytest
import shapely

from lalert.model import EnrichedAlert
from lalert.parsers import parse

NARA_54 = "15_08_04_160628_VPWW53.xml"
"""奈良県 2011-09-05 10:26: 十津川村 大雨特別警報・洪水警報 (継続); 奈良市 大雨注意報
(特別警報から注意報), its 洪水注意報 解除."""


@pytest.fixture(scope="module")
def nara(corpus, jma_geo) -> EnrichedAlert:
    from lalert.geo.enrich import enrich

    return enrich(parse((corpus / "xml" / "jma" / NARA_54).read_bytes())[0], jma_geo)


def _inside(ea: EnrichedAlert, town: str) -> shapely.Point:
    (area,) = [a for a in ea.active_areas() if a.name == town and a.geometry]
    return shapely.geometry.shape(area.geometry).representative_point()


def test_a_screen_names_only_the_warnings_in_force_where_it_stands(nara):
    """十津川村's screen listed 大雨注意報・洪水注意報 beside its 大雨特別警報・洪水警報:
    奈良市's 注意報 (and a 洪水注意報 奈良市 had just lifted) shown as in force there."""
    from lalert.outputs.signage.content import build
    from lalert.outputs.signage.screens import Screen

    p = _inside(nara, "十津川村")
    body = build(Screen(id="t", name="十津川村役場", lat=p.y, lon=p.x), [nara])
    assert body["mode"] == "takeover"
    assert body["main"]["hazard_names"] == ["大雨特別警報", "洪水警報"]
    p = _inside(nara, "奈良市")
    body = build(Screen(id="n", name="奈良市役所", lat=p.y, lon=p.x), [nara])
    (info,) = body["info"]
    assert info["hazard_names"] == ["大雨注意報"]

"""Numbers a sender writes into a message must stay numbers every output can use.

A CAP ``<circle>32.8,130.7 nan</circle>`` (or ``inf``, or a radius of a billion km) once
became a ring of NaN vertices: the daemon accepted it, and the resident map's data, every
signage screen, "where am I" and the Web Push matcher then answered 500 for everyone.
Such a circle is refused with the reason; JMA numbers that are not finite are left out
rather than written as ``NaN`` / ``Infinity`` (not JSON). The last guard, ``check_places``
in the bounds pass, refuses any area geometry or shelter position off the globe whatever
format module produced it.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from pathlib import Path

import pytest

from lalert.model import Alert, Area
from lalert.parsers import ParseError, parse
from lalert.parsers.bounds import bound_alert
from tests.daemon_helpers import cap

FIXTURES = Path(__file__).parent / "fixtures"



def _cap_circle(circle: str) -> bytes:
    return cap("harden-circle", polygon=None).replace(
        b"<areaDesc>", f"<circle>{circle}</circle><areaDesc>".encode())


@pytest.mark.parametrize("radius", ["nan", "NaN", "inf", "-inf", "1e9", "1e400"])
def test_cap_circle_radius_that_is_no_place_is_refused_with_the_reason(radius: str) -> None:
    with pytest.raises(ParseError) as err:
        parse(_cap_circle(f"32.8,130.7 {radius}"))
    assert "circle" in err.value.reason and radius in err.value.reason
    assert err.value.line  # where in the message


def test_cap_circle_within_bounds_still_reads() -> None:
    (alert,) = parse(_cap_circle("32.8,130.7 5"))
    (geom,) = [a.geometry for a in alert.areas if a.geometry]
    assert geom["type"] == "Polygon"
    ring = geom["coordinates"][0]
    assert all(math.isfinite(x) and math.isfinite(y) for x, y in ring)


def _commons_with_circle(circle: str) -> bytes:
    """The hand-made Commons shelter report with its circle replaced."""
    raw = (FIXTURES / "commons" / "bare_report_shelter.xml").read_bytes()
    return re.sub(rb"<p19:circle>[^<]*</p19:circle>",
                  b"<p19:circle>" + circle.encode() + b"</p19:circle>", raw)


def test_commons_circle_radius_nan_is_refused() -> None:
    data = _commons_with_circle("32.8,130.7,nan")
    with pytest.raises(ParseError) as err:
        parse(data)
    assert "circle radius 'nan'" in err.value.reason


def _alert(**kw) -> Alert:
    (alert,) = parse(cap("harden-guard"))
    return dataclasses.replace(alert, **kw)


@pytest.mark.parametrize("coords", [
    [[[130.0, 32.0], [math.nan, 33.0], [131.0, 33.0], [130.0, 32.0]]],
    [[[130.0, 32.0], [math.inf, 33.0], [131.0, 33.0], [130.0, 32.0]]],
    [[[130.0, 32.0], [130.5, 95.0], [131.0, 33.0], [130.0, 32.0]]],
    [[[130.0, 32.0], ["130.5", 33.0], [131.0, 33.0], [130.0, 32.0]]],
])
def test_bounds_pass_refuses_a_geometry_off_the_globe(coords) -> None:
    bad = _alert(areas=(Area(None, "geometry", "沖", {"type": "Polygon", "coordinates": coords}),))
    with pytest.raises(ParseError) as err:
        bound_alert(bad, source="test.xml")
    assert "areas[0] (沖): geometry has the position" in err.value.reason


def test_bounds_pass_keeps_finite_geometry() -> None:
    good = _alert()
    assert bound_alert(good) is good


def _strict_json(alert: Alert) -> str:
    return json.dumps(alert.details, allow_nan=False, ensure_ascii=False)


def test_jma_magnitude_that_is_not_finite_is_left_out(corpus) -> None:
    raw = (corpus / "xml/jma/32-35_06_05_240613_VXSE53.xml").read_bytes()
    hostile = re.sub(rb"(<jmx_eb:Magnitude [^>]*>)7\.0<", rb"\1INF<", raw)
    assert hostile != raw
    (alert,) = parse(hostile)
    assert "INF" not in _strict_json(alert)  # strict JSON: no Infinity / NaN anywhere
    (good,) = parse(raw)
    assert "7.0" in _strict_json(good)


def test_jma_plume_height_that_is_not_finite_is_left_out(corpus) -> None:
    raw = (corpus / "xml/jma/66_01_03_210514_VFVO55.xml").read_bytes()
    hostile = re.sub(rb"(<jmx_eb:PlumeHeightAboveCrater [^>]*>)[0-9]+<", rb"\1NaN<", raw)
    assert hostile != raw
    (alert,) = parse(hostile)
    _strict_json(alert)


def _zigzag(n: int) -> str:
    """``n`` CAP ``lat,lon`` pairs of a ring that crosses itself at every step."""
    return " ".join(f"{32.7 + (i % 1000) / 10000},{130.6 + (i // 1000) / 10000}"
                    for i in range(n))


def test_area_geometries_over_the_vertex_bound_are_refused() -> None:
    from lalert.parsers.bounds import MAX_ALERT_VERTICES

    with pytest.raises(ParseError) as err:
        parse(cap("harden-zigzag", polygon=_zigzag(MAX_ALERT_VERTICES + 1)))
    assert f"over {MAX_ALERT_VERTICES:,} vertices" in err.value.reason
    (alert,) = parse(cap("harden-detailed", polygon=_zigzag(MAX_ALERT_VERTICES - 1)))
    assert alert.areas[0].geometry is not None


def test_many_small_areas_count_together() -> None:
    areas = "".join(f"<area><areaDesc>地区{i}</areaDesc><polygon>32.7,130.6 32.8,130.6 "
                    f"32.8,130.7 32.7,130.6</polygon></area>" for i in range(2600))
    many = cap("harden-areas").replace(b"<area>", areas.encode() + b"<area>", 1)
    with pytest.raises(ParseError) as err:
        parse(many)
    assert "vertices" in err.value.reason

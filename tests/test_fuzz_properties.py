"""Property tests beyond the parser ones in ``test_parse_safety.py``.

- CAP writer → lalert's CAP parser: random alerts come back with the same meaning
  (identity, status, kind, level, texts, times, area codes), schema-valid, with CAP
  polygons closed and within the vertex bound.
- Lifecycle: the change stream outputs follow (new / updated / withdrawn), folded from
  nothing, always equals the active set; at most one active message per event; drills and
  real alerts never mix; nothing past its ``valid_until`` stays active. (Arrival-order
  independence is already in ``test_lifecycle.py``.)
- The read API of a real daemon: random query strings never give a 5xx; filters mean what
  they say (bbox / point by geometry, ``min_level`` monotone).
"""

from __future__ import annotations

import http.client
import json
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from urllib.parse import quote, urlencode, urlsplit

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from lxml import etree
from shapely.geometry import box as shapely_box
from shapely.geometry import shape

from lalert.lifecycle import Lifecycle, is_drill, parse_time
from lalert.model import AREA_STATUSES, Alert, Area, EnrichedAlert
from lalert.outputs.feeds.capwriter import CAP_NS, MAX_VERTICES, cap_identifier, to_cap
from lalert.parsers import parse
from lalert.vocab import KINDS
from tests.conftest import CORPUS
from tests.daemon_helpers import Daemon, cap, start_daemon

JST = timezone(timedelta(hours=9))

# --- strategies ------------------------------------------------------------------------

# Text an alert can carry: it came out of XML, so XML-legal characters only, and parsers
# trim the ends of element text.
_chars = st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"))
words = st.text(_chars, min_size=1, max_size=40).map(str.strip).filter(bool)
ids = st.text(st.characters(codec="ascii", categories=("L", "N"), include_characters="._-:"),
              min_size=1, max_size=40) | words
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1),
                     timezones=st.sampled_from([JST, UTC, timezone(timedelta(hours=-5))]))


@st.composite
def boxes(draw) -> dict:
    """A small rectangle somewhere in Japan (lon/lat GeoJSON)."""
    w = draw(st.floats(123.0, 148.0))
    s = draw(st.floats(24.0, 45.0))
    dw = draw(st.floats(0.001, 1.0))
    ds = draw(st.floats(0.001, 1.0))
    return {"type": "Polygon", "coordinates": [[[w, s], [w + dw, s], [w + dw, s + ds],
                                                [w, s + ds], [w, s]]]}


@st.composite
def rings(draw) -> dict:
    """A star-shaped polygon with many vertices (exercises the vertex bound)."""
    import math

    n = draw(st.integers(3, 900))
    cx, cy = draw(st.floats(128.0, 145.0)), draw(st.floats(30.0, 44.0))
    radii = draw(st.lists(st.floats(0.01, 0.2), min_size=n, max_size=n))
    pts = [(cx + r * math.cos(2 * math.pi * i / n), cy + r * math.sin(2 * math.pi * i / n))
           for i, r in enumerate(radii)]
    return {"type": "Polygon", "coordinates": [pts + [pts[0]]]}


schemes = st.sampled_from(["lg_code", "n03", "jma.city", "jma.forecast_area", "jma.eq_region"])
areas = st.builds(Area, code=st.text("0123456789", min_size=2, max_size=7), scheme=schemes,
                  name=words, geometry=st.none() | boxes() | rings(),
                  status=st.sampled_from(AREA_STATUSES))


@st.composite
def alerts(draw) -> EnrichedAlert:
    issued = draw(times)
    until = draw(st.none() | st.timedeltas(timedelta(minutes=1), timedelta(days=30)))
    cancel = draw(st.booleans())
    aid = draw(ids)
    a = Alert(
        format="cap", id=aid, info_type="cancel" if cancel else "issue",
        status=draw(st.sampled_from(["actual", "exercise", "test"])),
        kind=draw(st.sampled_from(sorted(KINDS))), title=draw(words),
        issued_at=issued.isoformat(), raw_sha256="0" * 64,
        headline=draw(st.none() | words), publisher=draw(st.none() | words),
        valid_until=(issued + until).isoformat() if until else None,
        level=draw(st.none() | st.integers(1, 5)),
        areas=tuple(draw(st.lists(areas, min_size=1, max_size=3))),
        references=(draw(ids.filter(lambda r: r != aid)),) if cancel else (),
    )
    return EnrichedAlert(alert=a, areas=a.areas)


@cache
def cap_schema() -> etree.XMLSchema | None:
    xsd = CORPUS / "xml" / "cap-schema" / "cap12.xsd"
    return etree.XMLSchema(etree.parse(str(xsd))) if xsd.exists() else None


def same_instant(a: str | None, b: str | None) -> bool:
    if a is None or b is None:
        return a is b
    return parse_time(a).replace(microsecond=0) == parse_time(b).replace(microsecond=0)


# --- CAP writer round trip -------------------------------------------------------------


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alerts())
def test_cap_writer_round_trips_through_the_parser(ea):
    a = ea.alert
    xml = to_cap(ea, sender="lalert@example.org")
    schema = cap_schema()
    if schema is not None:
        assert schema.validate(etree.fromstring(xml)), schema.error_log
    root = etree.fromstring(xml)
    for poly in root.iter(f"{{{CAP_NS}}}polygon"):
        pts = poly.text.split(" ")
        assert 4 <= len(pts) <= MAX_VERTICES + 1 and pts[0] == pts[-1]
    (back,) = parse(xml, source="roundtrip.xml")
    assert back.format == "cap"
    assert back.id == cap_identifier(a.id)
    assert back.status == a.status
    assert back.kind == a.kind
    assert back.level == a.level
    assert back.title == a.title
    assert back.headline == (a.headline or a.title)
    assert back.publisher == (a.publisher or "lalert@example.org")  # else the sender
    assert same_instant(back.issued_at, a.issued_at)
    assert same_instant(back.valid_until, a.valid_until)
    if a.info_type == "cancel":
        assert back.info_type == "cancel"
        assert back.event_id == cap_identifier(a.references[0])  # joins the cancelled event
    else:
        assert back.info_type == "issue"
    codes = {(x.scheme, x.code) for x in back.areas if x.code}
    active = [x for x in a.areas if x.status == "active"]  # the feed names only these
    assert {(f"cap:{x.scheme}", x.code) for x in active} == codes
    shapes = [shape(x.geometry) for x in back.areas if x.geometry]
    assert bool(shapes) == any(x.geometry for x in active)
    if shapes:  # written shapes come back (boxes exactly, up to 5-decimal rounding)
        from shapely import union_all

        back_union = union_all([s.buffer(0) for s in shapes]).buffer(1e-4)
        for x in active:
            g = shape(x.geometry) if x.geometry else None
            if g is not None and len(g.exterior.coords) <= MAX_VERTICES:
                assert back_union.covers(g)


# --- lifecycle: the change stream is the active set --------------------------------------

_msg = st.tuples(
    st.sampled_from(["e1", "e2", "e3", "e4"]),        # event
    st.integers(1, 6),                                 # serial
    st.sampled_from(["issue", "issue", "update", "correction", "cancel"]),
    st.sampled_from(["actual", "actual", "exercise", "test"]),
    st.none() | st.integers(1, 180),                   # minutes of validity
    st.integers(0, 120),                               # minutes after T0 it arrives
)
T0 = datetime(2024, 7, 1, 12, 0, tzinfo=JST)


@settings(max_examples=300, deadline=None)
@given(st.lists(_msg, min_size=1, max_size=20))
def test_lifecycle_change_stream_folds_to_the_active_set(specs):
    lc = Lifecycle()
    followed: dict[tuple[bool, tuple], str] = {}  # what an output sees: (drill, key) -> id
    for i, (ev, serial, info, status, valid, arrive) in enumerate(
            sorted(specs, key=lambda s: s[5])):
        issued = T0 + timedelta(minutes=serial * 5)
        now = T0 + timedelta(minutes=arrive)
        alert = Alert(format="commons", id=f"m{i}", info_type=info, status=status,
                      kind="evacuation", title="t", issued_at=issued.isoformat(),
                      raw_sha256="0" * 64, event_id=ev, serial=serial,
                      valid_until=(issued + timedelta(minutes=valid)).isoformat()
                      if valid else None)
        applied = lc.apply(alert, now=now)
        for t in applied.transitions:
            k = (t.drill, t.key)
            if t.kind == "new":
                assert k not in followed
                followed[k] = t.alert.id
            elif t.kind == "updated":
                assert followed.get(k) == (t.previous.id if t.previous else None)
                followed[k] = t.alert.id
            else:
                assert t.kind == "withdrawn" and k in followed
                del followed[k]
        real, drills = lc.active_items(), lc.active_items(drills=True)
        assert {(False, k): x.id for k, x in real} | {(True, k): x.id for k, x in drills} \
            == followed
        assert all(not is_drill(x) for _, x in real)
        assert all(is_drill(x) for _, x in drills)
        assert len({k for k, _ in real}) == len(real)
        for _, x in real + drills:
            assert x.info_type != "cancel"
            until = parse_time(x.valid_until)
            assert until is None or until > now


# --- the read API of a real daemon --------------------------------------------------------

ALERT_PARAMS = ["bbox", "point", "kind", "min_level", "level>", "level", "drills"]
OTHER = {"/api/v1/history": ["before", "limit", "outcome"],
         "/api/v1/here": ["lat", "lon", "hazard", "lang"],
         "/api/v1/stream": ["point", "area", "kind", "radius", "last_event_id"],
         "/map/data.json": ["lang"], "/signage/cityhall": ["lang"], "/text": ["lang"]}
numberish = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=0, max_size=5).map(
        lambda xs: ",".join(map(repr, xs))),
)
values = st.one_of(numberish, st.text(max_size=30),
                   st.sampled_from(["' OR 1=1 --", "%00", "²", "３", "🌋", "\ufeff1", ""]))


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Daemon:
    home = tmp_path_factory.mktemp("fuzz") / "home"
    dm = start_daemon(home, demo=True, outputs=["signage", "map", "sse"])
    dm.wait_applied()
    # a few alerts of our own with known places and levels (hand-made, not real)
    for i, (poly, lvl) in enumerate([
        ("32.75,130.65 32.75,130.75 32.85,130.75 32.85,130.65 32.75,130.65", 4),
        ("35.60,139.60 35.60,139.80 35.75,139.80 35.75,139.60 35.60,139.60", 2),
        ("33.50,130.30 33.50,130.50 33.70,130.50 33.70,130.30 33.50,130.30", 5),
    ]):
        assert dm.post(cap(f"fuzz-{i}", polygon=poly, level=lvl))[0] == 202
    dm.wait_applied()
    yield dm
    dm.stop()


class Client:
    """One keep-alive connection to the daemon (hypothesis makes many small requests)."""

    def __init__(self, d: Daemon) -> None:
        u = urlsplit(d.url)
        self.addr = (u.hostname, u.port)
        self.conn = http.client.HTTPConnection(*self.addr, timeout=10)

    def get(self, path: str) -> tuple[int, str, bytes]:
        for attempt in (0, 1):
            try:
                self.conn.request("GET", path)
                r = self.conn.getresponse()
                ctype = r.getheader("Content-Type") or ""
                if "event-stream" in ctype:
                    self.conn.close()
                    self.conn = http.client.HTTPConnection(*self.addr, timeout=10)
                    return r.status, ctype, b""
                return r.status, ctype, r.read()
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(*self.addr, timeout=10)
                if attempt:
                    raise
        raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def client(d) -> Client:
    return Client(d)


FIXTURES_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]


@settings(max_examples=150, deadline=None, suppress_health_check=FIXTURES_OK)
@given(path=st.sampled_from(["/api/v1/alerts", *OTHER]), data=st.data())
def test_random_query_strings_never_5xx(client, path, data):
    names = ALERT_PARAMS if path == "/api/v1/alerts" else OTHER[path]
    keys = data.draw(st.lists(st.sampled_from(names) | st.text(max_size=8), max_size=4))
    query = urlencode([(k, data.draw(values)) for k in keys], quote_via=quote)
    status, _, body = client.get(f"{path}?{query}")
    assert status in (200, 400, 404), (path, query, status, body[:200])
    if status == 400:
        assert body.strip()


def _features(client: Client, query: str) -> dict[str, dict]:
    status, _, body = client.get(f"/api/v1/alerts?{query}")
    assert status == 200, body[:300]
    return {f["id"]: f for f in json.loads(body)["features"]}


@settings(max_examples=100, deadline=None, suppress_health_check=FIXTURES_OK)
@given(w=st.floats(120, 150), s=st.floats(20, 46), dw=st.floats(0, 20), ds=st.floats(0, 20))
def test_bbox_filter_keeps_exactly_what_intersects(client, w, s, dw, ds):
    everything = _features(client, "")
    got = _features(client, f"bbox={w},{s},{w + dw},{s + ds}")
    q = shapely_box(w, s, w + dw, s + ds)
    want = {i for i, f in everything.items()
            if f["geometry"] and shape(f["geometry"]).intersects(q)}
    assert set(got) == want


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES_OK)
@given(lat=st.floats(24, 46), lon=st.floats(122, 150))
def test_point_filter_keeps_exactly_what_covers_the_point(client, lat, lon):
    from shapely.geometry import Point

    everything = _features(client, "")
    got = _features(client, f"point={lat},{lon}")
    want = {i for i, f in everything.items()
            if f["geometry"] and shape(f["geometry"]).intersects(Point(lon, lat))}
    assert set(got) == want


@settings(max_examples=20, deadline=None, suppress_health_check=FIXTURES_OK)
@given(level=st.integers(0, 4), form=st.sampled_from(["min_level", "level>"]))
def test_min_level_is_monotone(client, level, form):
    lower = _features(client, f"{quote(form)}={level}")
    higher = _features(client, f"{quote(form)}={level + 1}")
    assert set(higher) <= set(lower)
    assert all((f["properties"]["level"] or 0) >= level + 1 for f in higher.values())
    assume(lower)

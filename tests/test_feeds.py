"""CAP 1.2 out: schema-valid alerts and Atom feeds, drills apart, ETags, round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aiohttp import web
from lxml import etree

from lalert.outputs.feeds import FeedsOutput
from lalert.outputs.feeds.capwriter import CAP_NS, cap_polygons, cap_time, to_cap
from tests.public_fakes import FakeState, client_for, context, drill_alert, flood_alert, with_alert

NS = {"cap": CAP_NS, "atom": "http://www.w3.org/2005/Atom"}


@pytest.fixture(scope="module")
def cap_schema(corpus: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(corpus / "xml" / "cap-schema" / "cap12.xsd")))


def assert_valid(schema: etree.XMLSchema, el: etree._Element) -> None:
    doc = etree.fromstring(etree.tostring(el))
    assert schema.validate(doc), schema.error_log


def test_cap_alert_is_schema_valid_with_both_languages(cap_schema):
    root = etree.fromstring(to_cap(flood_alert(), sender="lalert@example.org"))
    assert_valid(cap_schema, root)
    assert root.findtext("cap:status", namespaces=NS) == "Actual"
    assert root.findtext("cap:sent", namespaces=NS) == "2026-07-01T10:00:00+09:00"
    infos = root.findall("cap:info", NS)
    assert [i.findtext("cap:language", namespaces=NS) for i in infos] == ["ja-JP", "en"]
    en = infos[1]
    assert "Alert level 4" in en.findtext("cap:headline", namespaces=NS)
    params = {p.findtext("cap:valueName", namespaces=NS): p.findtext("cap:value", namespaces=NS)
              for p in infos[0].findall("cap:parameter", NS)}
    assert params["警戒レベル"] == "4"
    area = infos[0].find("cap:area", NS)
    assert area.findtext("cap:areaDesc", namespaces=NS) == "熊本市中央区"
    assert area.findtext("cap:geocode/cap:valueName", namespaces=NS) == "jma.city"
    assert area.findtext("cap:geocode/cap:value", namespaces=NS) == "4310100"
    ring = area.findtext("cap:polygon", namespaces=NS).split()
    assert ring[0] == ring[-1] and ring[0] == "32.78,130.69"  # lat,lon order, closed


def test_drill_is_exercise_and_update_references(cap_schema):
    root = etree.fromstring(to_cap(drill_alert(), sender="lalert"))
    assert root.findtext("cap:status", namespaces=NS) == "Exercise"
    upd = flood_alert(id="jma-flood-2", serial=2, info_type="correction",
                      references=("jma-flood-1",))
    root = etree.fromstring(to_cap(upd, sender="lalert"))
    assert_valid(cap_schema, root)
    assert root.findtext("cap:msgType", namespaces=NS) == "Update"
    assert root.findtext("cap:references", namespaces=NS).split(",")[:2] == ["lalert",
                                                                               "jma-flood-1"]


def test_real_polygon_is_simplified_to_200_vertices(corpus):
    gj = json.loads((corpus / "geo" / "jma-areas" / "jma_city_areas.geojson").read_text())
    big = max(gj["features"], key=lambda f: len(json.dumps(f["geometry"])))["geometry"]
    rings = cap_polygons(big)
    assert rings
    for ring in rings:
        pts = ring.split()
        assert 4 <= len(pts) <= 200 and pts[0] == pts[-1]
        lat, lon = map(float, pts[0].split(","))
        assert 20 < lat < 46 and 122 < lon < 154


def test_cap_time_forms():
    assert cap_time("2026-07-01T01:00:00Z") == "2026-07-01T01:00:00+00:00"
    assert cap_time("2026-07-01T10:00:00.123+09:00") == "2026-07-01T10:00:00+09:00"
    assert cap_time("2026-07-01T10:00:00") == "2026-07-01T10:00:00+09:00"
    assert cap_time("not a time") is None


@pytest.fixture
async def feeds_client():
    state = FakeState([flood_alert(), drill_alert()])
    out = FeedsOutput()
    await out.start(context("feeds", state))

    async def core_alert(request):  # the daemon core's route, registered after ours
        return web.json_response({"id": request.match_info["id"]})

    client = await client_for(out.routes(), [web.get("/api/v1/alerts/{id}", core_alert)])
    client.state, client.output = state, out
    yield client
    await client.close()


async def test_atom_feeds_validate_and_keep_drills_apart(feeds_client, cap_schema):
    r = await feeds_client.get("/feeds/cap.atom")
    assert r.status == 200 and r.content_type == "application/atom+xml"
    feed = etree.fromstring(await r.read())
    alerts = feed.findall("atom:entry/atom:content/cap:alert", NS)
    assert [a.findtext("cap:identifier", namespaces=NS) for a in alerts] == ["jma-flood-1"]
    for a in alerts:
        assert_valid(cap_schema, a)
    link = feed.find("atom:entry/atom:link", NS).get("href")
    assert link.endswith("/api/v1/alerts/jma-flood-1.cap")

    r = await feeds_client.get("/feeds/cap-drills.atom")
    feed = etree.fromstring(await r.read())
    alerts = feed.findall("atom:entry/atom:content/cap:alert", NS)
    assert [a.findtext("cap:status", namespaces=NS) for a in alerts] == ["Exercise"]
    assert_valid(cap_schema, alerts[0])


async def test_feed_etag_304_and_change(feeds_client):
    r = await feeds_client.get("/feeds/cap.atom")
    etag = r.headers["ETag"]
    r = await feeds_client.get("/feeds/cap.atom", headers={"If-None-Match": etag})
    assert r.status == 304
    feeds_client.state.set([with_alert(flood_alert(), headline="更新")])
    r = await feeds_client.get("/feeds/cap.atom", headers={"If-None-Match": etag})
    assert r.status == 200 and "更新".encode() in await r.read()


async def test_one_cap_route_beside_core_route(feeds_client, cap_schema):
    r = await feeds_client.get("/api/v1/alerts/jma-flood-1.cap")
    assert r.status == 200 and r.content_type == "application/cap+xml"
    assert_valid(cap_schema, etree.fromstring(await r.read()))
    r = await feeds_client.get("/api/v1/alerts/jma-flood-1")
    assert (await r.json()) == {"id": "jma-flood-1"}
    r = await feeds_client.get("/api/v1/alerts/nope.cap")
    assert r.status == 404


async def test_update_references_the_published_earlier_message(feeds_client):
    from lalert.changes import AlertChange

    out = feeds_client.output
    upd = flood_alert(id="jma-flood-2", serial=2, info_type="update")
    await out.handle(AlertChange(seq=2, kind="updated", reason="update", alert=upd))
    feeds_client.state.set([upd])
    root = etree.fromstring(await (await feeds_client.get("/api/v1/alerts/jma-flood-2.cap")).read())
    assert root.findtext("cap:msgType", namespaces=NS) == "Update"
    assert root.findtext("cap:references", namespaces=NS) == (
        "lalert@127.0.0.1,jma-flood-1,2026-07-01T10:00:00+09:00")


def test_round_trip_through_lalert_parser():
    from lalert.parsers import parse

    (alert,) = parse(to_cap(flood_alert(), sender="lalert"))
    assert alert.format == "cap" and alert.level == 4
    assert alert.issued_at.startswith("2026-07-01T10:00:00")
    assert alert.valid_until and alert.valid_until.startswith("2026-07-02T10:00:00")
    codes = {(a.scheme, a.code) for a in alert.areas if a.code}
    assert ("cap:jma.city", "4310100") in codes, alert.areas
    assert any(a.geometry for a in alert.areas)


async def test_feeds_pass_lalert_validate(feeds_client):
    from lalert.validate import is_valid, validate

    for path in ("/feeds/cap.atom", "/feeds/cap-drills.atom", "/api/v1/alerts/jma-flood-1.cap",
                 "/api/v1/alerts/drill-1.cap"):
        body = await (await feeds_client.get(path)).read()
        problems = validate(body, path)
        assert is_valid(problems), problems

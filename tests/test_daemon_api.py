"""Read API of a real daemon: lifecycle over HTTP, filters, drills, ETags, history,
health, metrics and the OpenAPI document."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from openapi_spec_validator import validate

from tests.daemon_helpers import Daemon, cap, start_daemon

REF = "test@lalert.example,{id},2026-07-03T17:00:00+09:00"
TOKYO = "35.65,139.70 35.65,139.80 35.72,139.80 35.72,139.70 35.65,139.70"


@pytest.fixture(scope="module")
def d(tmp_path_factory) -> Daemon:
    dm = start_daemon(tmp_path_factory.mktemp("api") / "home")
    yield dm
    dm.stop()


def post_ok(d: Daemon, data: bytes) -> dict:
    status, body = d.post(data)
    assert status == 202, body
    return body


def active_ids(d: Daemon, query: str = "") -> list[str]:
    d.wait_applied()
    return [f["id"] for f in d.get_json("/api/v1/alerts" + query)[1]["features"]]


def outcome(d: Daemon, alert_id: str) -> str:
    return d.get_json(f"/api/v1/alerts/{quote(alert_id)}?drills=1")[1]["properties"]["outcome"]


def test_update_replaces_and_cancel_withdraws(d):
    post_ok(d, cap("ev-1", sent="2026-07-03T17:00:00+09:00"))
    post_ok(d, cap("ev-2", sent="2026-07-03T17:10:00+09:00", msg_type="Update",
                   references=REF.format(id="ev-1")))
    ids = active_ids(d)
    assert "ev-2" in ids and "ev-1" not in ids
    assert outcome(d, "ev-1") == "superseded" and outcome(d, "ev-2") == "active"
    doc = d.get_json("/api/v1/alerts/ev-2")[1]
    assert doc["type"] == "Feature" and doc["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert [h["id"] for h in doc["history"]] == ["ev-1", "ev-2"]
    assert [c["kind"] for c in doc["history"][0]["changes"]] == ["new"]
    assert [c["kind"] for c in doc["history"][1]["changes"]] == ["updated"]
    post_ok(d, cap("ev-3", sent="2026-07-03T17:20:00+09:00", msg_type="Cancel",
                   references=REF.format(id="ev-2")))
    assert not {"ev-1", "ev-2", "ev-3"} & set(active_ids(d))
    assert outcome(d, "ev-2") == "cancelled"
    hist = d.get_json("/api/v1/history?limit=3")[1]["items"]
    assert [i["outcome"] for i in hist] == ["cancelled"] * 3


def test_out_of_order_update_never_regresses(d):
    post_ok(d, cap("oo-2", sent="2026-07-03T18:10:00+09:00", msg_type="Update",
                   references=REF.format(id="oo-1")))
    post_ok(d, cap("oo-1", sent="2026-07-03T18:00:00+09:00"))
    ids = active_ids(d)
    assert "oo-2" in ids and "oo-1" not in ids


def test_drills_never_public_unless_asked(d):
    post_ok(d, cap("drill-1", status="Exercise"))
    post_ok(d, cap("test-1", status="Test"))
    assert not {"drill-1", "test-1"} & set(active_ids(d))
    feats = d.get_json("/api/v1/alerts?drills=1")[1]["features"]
    drills = {f["id"]: f["properties"]["drill"] for f in feats}
    assert drills["drill-1"] is True and drills["test-1"] is True
    assert d.get("/api/v1/alerts/drill-1")[0] == 404
    assert d.get("/api/v1/alerts/drill-1?drills=1")[0] == 200


def test_filters(d):
    post_ok(d, cap("f-in", level=4))
    post_ok(d, cap("f-far", level=2, polygon=TOKYO, event="地震", category="Geo"))
    ids = active_ids(d)
    assert {"f-in", "f-far"} <= set(ids)
    in_box = set(active_ids(d, "?bbox=130.6,32.7,130.8,32.9"))
    assert "f-in" in in_box and "f-far" not in in_box
    at = set(active_ids(d, "?point=32.80,130.70"))
    assert "f-in" in at and "f-far" not in at
    assert "f-far" in active_ids(d, "?point=35.68,139.75")
    for q in ("?min_level=3", "?level>=3"):
        got = set(active_ids(d, q))
        assert "f-in" in got and "f-far" not in got
    far = d.get_json("/api/v1/alerts/f-far")[1]["properties"]
    assert active_ids(d, f"?kind={far['kind']}") and all(
        f["properties"]["kind"] == far["kind"]
        for f in d.get_json(f"/api/v1/alerts?kind={far['kind']}")[1]["features"])
    assert d.get("/api/v1/alerts?bbox=1,2,3")[0] == 400
    assert d.get("/api/v1/alerts?point=abc")[0] == 400


def test_most_severe_first(d):
    feats = d.get_json("/api/v1/alerts")[1]["features"]
    levels = [f["properties"]["level"] or 0 for f in feats]
    assert levels == sorted(levels, reverse=True)


def test_expired_alerts_leave(d):
    soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat(timespec="seconds")
    post_ok(d, cap("exp-1", expires=soon))
    assert "exp-1" in active_ids(d)
    d.wait(lambda: "exp-1" not in active_ids(d), timeout=20, what="expiry")
    assert outcome(d, "exp-1") == "expired"


@pytest.mark.parametrize("path", ["/api/v1/alerts", "/api/v1/alerts?min_level=3",
                                  "/api/v1/alerts/f-in", "/api/v1/history",
                                  "/api/v1/messages/1", "/healthz", "/openapi.json"])
def test_etag_and_304(d, path):
    d.wait_applied()
    status, headers, body = d.get(path)
    assert status == 200 and headers.get("ETag")
    status2, headers2, body2 = d.get(path, {"If-None-Match": headers["ETag"]})
    assert status2 == 304 and body2 == b"" and headers2["ETag"] == headers["ETag"]


def test_new_state_changes_the_etag(d):
    d.wait_applied()
    _, h1, _ = d.get("/api/v1/alerts")
    post_ok(d, cap("etag-1"))
    d.wait_applied()
    status, h2, body = d.get("/api/v1/alerts", {"If-None-Match": h1["ETag"]})
    assert status == 200 and h2["ETag"] != h1["ETag"]
    assert "etag-1" in [f["id"] for f in json.loads(body)["features"]]


def test_history_pagination_visits_every_message_once(d):
    d.wait_applied()
    total = d.health()["journal"]["messages"]
    seen: list[str] = []
    url = "/api/v1/history?limit=4"
    while url:
        page = d.get_json(url)[1]
        assert len(page["items"]) <= 4
        seen += [i["id"] for i in page["items"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == total
    assert [int(i) for i in seen] == sorted((int(i) for i in seen), reverse=True)
    assert d.get("/api/v1/history?limit=x")[0] == 400


def test_health_and_metrics(d):
    h = d.health()
    assert h["status"] == "ok" and h["journal"]["applied"] == h["journal"]["messages"]
    assert h["active"]["real"] >= 1 and h["active"]["drills"] >= 1
    # backends by scheme only (on postgis+redis the URLs carry user@host:port)
    assert (h["store"], h["bus"]) in (("sqlite", "memory"), ("postgresql", "redis"))
    raw = d.get("/healthz")[2]
    for url in (d.env.get("LALERT_STORE", ""), d.env.get("LALERT_BUS", "")):
        if "://" in url:
            assert url.split("://", 1)[1].split("/", 1)[0].encode() not in raw
    status, headers, body = d.get("/metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert 'lalert_messages_total{format="cap",outcome="accepted",source="http"}' in text
    assert 'lalert_stage_seconds_bucket{le="0.005",stage="journal"}' in text
    assert "lalert_active_alerts" in text and "lalert_outbox_backlog" in text


def test_the_favicon_is_served_not_a_404(d):
    """Every browser page asks for /favicon.ico; a 404 there is an error in every console
    (kiosks and phones included)."""
    status, headers, body = d.get("/favicon.ico")
    assert status == 200 and headers["Content-Type"].startswith("image/svg+xml")
    assert body.startswith(b"<svg")


def test_openapi_is_valid_and_covers_every_route(d):
    spec = d.get_json("/openapi.json")[1]
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    for path, method in [("/api/v1/messages", "post"), ("/api/v1/messages/{id}", "get"),
                         ("/api/v1/alerts", "get"), ("/api/v1/alerts/{id}", "get"),
                         ("/api/v1/history", "get"), ("/healthz", "get"), ("/metrics", "get"),
                         ("/openapi.json", "get")]:
        assert method in spec["paths"][path], (path, method)
    params = {p["name"] for p in spec["paths"]["/api/v1/alerts"]["get"]["parameters"]}
    assert {"bbox", "point", "kind", "min_level"} <= params


def test_openapi_with_outputs_mounted(tmp_path):
    """Routes that outputs mount appear in the document, which stays valid."""
    with start_daemon(tmp_path / "home", outputs=["feeds", "tiles", "signage", "map"]) as dm:
        spec = dm.get_json("/openapi.json")[1]
    validate(spec)
    assert any(p.startswith("/feeds/") for p in spec["paths"])

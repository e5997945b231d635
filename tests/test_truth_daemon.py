"""A real ``lalert run`` with the corpus geodata imported (``lalert data import``): a
土砂災害警戒情報 that names 熊本市 なし and 八代市 解除 never shows either as under alert
on any output — map data, tiles, ``/text``, point queries, signage, the CAP feed and
webhooks — while 阿蘇市 (警戒) is; the all-clear then takes the alert away everywhere.

The telegram is hand-made in JMA's VXWW50 layout (not a real message), dated now.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import mapbox_vector_tile
import mercantile
import pytest
from lxml import etree
from shapely.geometry import Point, Polygon, shape

from tests.conftest import CORPUS, ROOT
from tests.daemon_helpers import Daemon, start_daemon

JST = timezone(timedelta(hours=9))
KUMAMOTO_STATION = (32.7899, 130.6886)  # lat, lon — 熊本市西区 (なし)
YATSUSHIRO_STATION = (32.4997, 130.6040)  # 八代市 (解除)
ASO_STATION = (32.9465, 131.1220)  # 阿蘇市 (警戒)
STATUSES = {"4310000": ("熊本市", "なし", "0", "なし"), "4320200": ("八代市", "解除", "1", "解除"),
            "4321400": ("阿蘇市", "警戒", "3", "発表"), "4320300": ("人吉市", "なし", "0", "なし")}

pytestmark = pytest.mark.skipif(not (CORPUS / "geo").is_dir(), reason="corpus geodata not present")


def landslide(serial: int, statuses: dict[str, tuple[str, str, str, str]], at: datetime) -> bytes:
    items = "".join(
        f"<Item><Kind><Name>{kname}</Name><Code>{kcode}</Code><Status>{st}</Status></Kind>"
        f"<Area><Name>{name}</Name><Code>{code}</Code></Area></Item>"
        for code, (name, kname, kcode, st) in statuses.items())
    t = at.astimezone(JST).replace(microsecond=0).isoformat()
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- hand-made test message for lalert, not a real message (VXWW50 layout) -->
<Report xmlns="http://xml.kishou.go.jp/jmaxml1/" xmlns:jmx="http://xml.kishou.go.jp/jmaxml1/">
  <Control><Title>土砂災害警戒情報</Title><DateTime>{at.astimezone(UTC).replace(microsecond=0).isoformat()}</DateTime>
    <Status>通常</Status><EditorialOffice>熊本地方気象台</EditorialOffice>
    <PublishingOffice>熊本県 熊本地方気象台</PublishingOffice></Control>
  <Head xmlns="http://xml.kishou.go.jp/jmaxml1/informationBasis1/">
    <Title>熊本県土砂災害警戒情報</Title><ReportDateTime>{t}</ReportDateTime>
    <TargetDateTime>{t}</TargetDateTime><EventID>熊本県土砂災害警戒情報</EventID>
    <InfoType>発表</InfoType><Serial>{serial}</Serial><InfoKind>土砂災害警戒情報</InfoKind>
    <InfoKindVersion>1.0_0</InfoKindVersion>
    <Headline><Text>【試験】土砂災害の危険度が非常に高まっています。</Text></Headline>
  </Head>
  <Body xmlns="http://xml.kishou.go.jp/jmaxml1/body/meteorology1/">
    <TargetArea><Name>熊本県</Name><Code>430000</Code></TargetArea>
    <Warning type="土砂災害警戒情報">{items}</Warning>
  </Body>
</Report>""".encode()


class Receiver(ThreadingHTTPServer):
    """Webhook bodies by path, on a loopback port, in a thread."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[dict]] = {}
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    server.bodies.setdefault(self.path, []).append(body)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


CONFIG = f"""
[push]
allow_destinations = ["127.0.0.0/8"]  # the local receiver (lalert.outputs.netguard)

[outputs.webhook]
base_delay_s = 0.05

[outputs.signage]
[[outputs.signage.screens]]
id = "kumamoto-st"
name = "熊本駅"
lat = {KUMAMOTO_STATION[0]}
lon = {KUMAMOTO_STATION[1]}
[[outputs.signage.screens]]
id = "yatsushiro"
name = "八代市役所"
areas = ["jma.city:4320200"]
[[outputs.signage.screens]]
id = "aso"
name = "阿蘇駅"
lat = {ASO_STATION[0]}
lon = {ASO_STATION[1]}
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    home = tmp_path_factory.mktemp("truth") / "home"
    home.mkdir()
    subprocess.run([sys.executable, "-m", "lalert", "data", "import", str(CORPUS / "geo"),
                    "--db", str(home / "geo.gpkg"), "--quiet"],
                   check=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                   capture_output=True)
    rx = Receiver()
    d = start_daemon(home, outputs=["signage", "map", "tiles", "feeds", "webhook"], config_text=CONFIG)
    try:
        subs = {}
        for name, where in (("kumamoto", {"point": _pt(KUMAMOTO_STATION), "radius_m": 100}),
                            ("aso", {"point": _pt(ASO_STATION), "radius_m": 100}),
                            ("yatsushiro-code", {"areas": [{"scheme": "jma.city", "code": "4320200"}]})):
            status, _, body = d.request(
                "POST", "/api/v1/subscriptions",
                json.dumps({"channel": "webhook", "url": rx.url(f"/{name}"), "where": where}).encode(),
                {"Authorization": f"Bearer {d.token}", "Content-Type": "application/json"})
            assert status == 201, body
            subs[name] = json.loads(body)
        now = datetime.now(UTC)
        status, receipt = d.post(landslide(1, STATUSES, now))
        assert status == 202, receipt
        settle(d)
        yield d, rx, receipt["alerts"][0], now
    finally:
        d.stop()
        rx.shutdown()


def _pt(latlon: tuple[float, float]) -> dict:
    return {"lat": latlon[0], "lon": latlon[1]}


def settle(d: Daemon) -> None:
    d.wait_applied()
    d.wait(lambda: all(o["backlog"] == 0 for o in d.health()["outputs"].values()), what="outputs idle")


def covers(geometry: dict | None, latlon: tuple[float, float]) -> bool:
    return bool(geometry) and shape(geometry).covers(Point(latlon[1], latlon[0]))


def test_map_data_draws_only_the_area_under_alert(world):
    d, _, alert_id, _ = world
    data = d.get_json("/map/data.json?lang=ja")[1]
    feats = [f for f in data["alerts"]["features"] if alert_id in json.dumps(f["properties"], ensure_ascii=False)]
    assert feats, data["alerts"]
    assert any(covers(f["geometry"], ASO_STATION) for f in feats)
    for f in feats:
        assert not covers(f["geometry"], KUMAMOTO_STATION) and not covers(f["geometry"], YATSUSHIRO_STATION)
    labels = json.dumps([f["properties"] for f in feats], ensure_ascii=False)
    assert "阿蘇市" in labels and "熊本市" not in labels and "八代市" not in labels


def test_point_queries_answer_only_inside_the_area_under_alert(world):
    d, _, alert_id, _ = world
    for where, expected in ((KUMAMOTO_STATION, []), (YATSUSHIRO_STATION, []), (ASO_STATION, [alert_id])):
        got = d.get_json(f"/api/v1/alerts?point={where[0]},{where[1]}")[1]
        assert [f["id"] for f in got["features"]] == expected
        here = d.get_json(f"/api/v1/here?lat={where[0]}&lon={where[1]}")[1]
        assert [a["id"] for a in here["alerts"]] == expected
    # a box around 熊本市 and 八代市 only (west of 阿蘇) meets nothing
    assert d.get_json("/api/v1/alerts?bbox=130.55,32.45,130.75,32.85")[1]["features"] == []
    (f,) = d.get_json("/api/v1/alerts")[1]["features"]
    assert {a["name"] for a in f["properties"]["areas"]} == {"阿蘇市"}


def test_tiles_hold_no_alert_polygon_over_released_towns(world):
    d, _, _, _ = world
    for latlon, expect in ((KUMAMOTO_STATION, False), (YATSUSHIRO_STATION, False), (ASO_STATION, True)):
        t = mercantile.tile(latlon[1], latlon[0], 11)
        status, _, body = d.get(f"/tiles/{t.z}/{t.x}/{t.y}.mvt")
        assert status in (200, 204)
        layers = mapbox_vector_tile.decode(body, default_options={"y_coord_down": False}) if body else {}
        b = mercantile.xy_bounds(t)
        x, y = mercantile.xy(latlon[1], latlon[0])
        p = Point((x - b.left) / (b.right - b.left) * 4096, (y - b.bottom) / (b.top - b.bottom) * 4096)
        hit = any(shape(f["geometry"]).covers(p) for f in layers.get("alerts", {}).get("features", []))
        assert hit is expect, (latlon, layers.get("alerts"))


def test_text_lists_only_the_area_under_alert(world):
    d, _, _, _ = world
    status, _, body = d.get("/text?lang=ja")
    assert status == 200
    html = etree.HTML(body)
    by_area = html.xpath("//section[@aria-labelledby='by-area']//li")
    assert {"".join(li.itertext()).split(":")[0].strip() for li in by_area} == {"阿蘇市"}
    articles = " ".join(t for el in html.xpath("//article") for t in el.itertext())
    assert "阿蘇市" in articles
    for town in ("熊本市", "八代市", "人吉市"):
        assert town not in articles


def test_signage_shows_the_alert_only_where_it_is_in_force(world):
    d, _, alert_id, _ = world
    for screen, expected in (("kumamoto-st", False), ("yatsushiro", False), ("aso", True)):
        data = d.get_json(f"/signage/{screen}.json")[1]
        shown = [v for v in [data["main"], *data["others"], *data["info"]] if v]
        assert any(alert_id in json.dumps(v, ensure_ascii=False) for v in shown) is expected, (screen, data)
        assert "八代市" not in json.dumps(shown, ensure_ascii=False)


def test_cap_feed_names_only_the_area_under_alert(world):
    d, _, alert_id, _ = world
    status, _, body = d.get(f"/api/v1/alerts/{alert_id}.cap")
    assert status == 200
    ns = {"c": "urn:oasis:names:tc:emergency:cap:1.2"}
    doc = etree.fromstring(body)
    descs = {t.strip() for t in doc.xpath("//c:area/c:areaDesc/text()", namespaces=ns)}
    codes = {t.strip() for t in doc.xpath("//c:area/c:geocode/c:value/text()", namespaces=ns)}
    assert any("阿蘇市" in x for x in descs)
    assert not any("熊本市" in x or "八代市" in x or "人吉市" in x for x in descs)
    assert not codes & {"4310000", "4320200", "4320300", "430000"}
    for poly in doc.xpath("//c:area/c:polygon/text()", namespaces=ns):
        pts = [tuple(map(float, p.split(","))) for p in poly.split()]
        g = Polygon([(lon, lat) for lat, lon in pts])
        assert not g.covers(Point(KUMAMOTO_STATION[1], KUMAMOTO_STATION[0]))
    assert b"<entry" in d.get("/feeds/cap.atom")[2]


def test_webhooks_reach_only_subscribers_where_it_is_in_force(world):
    d, rx, alert_id, _ = world
    d.wait(lambda: rx.bodies.get("/aso"), what="the 阿蘇 webhook")
    (body,) = rx.bodies["/aso"]
    assert body["id"] == alert_id and body["change"]["kind"] == "new"
    status = {a["code"]: a["status"] for a in body["areas"]}
    assert (status["4321400"], status["4310000"], status["4320200"], status["430000"]) == (
        "active", "none", "lifted", "scope")
    assert not covers(body["footprint"], KUMAMOTO_STATION) and covers(body["footprint"], ASO_STATION)
    assert "/kumamoto" not in rx.bodies and "/yatsushiro-code" not in rx.bodies


def test_the_all_clear_takes_it_away_everywhere(world):
    d, rx, alert_id, issued = world
    cleared = {c: (n, "解除" if c == "4321400" else k, "1" if c == "4321400" else code, "解除" if c == "4321400" else s)
               for c, (n, k, code, s) in STATUSES.items()}
    status, receipt = d.post(landslide(2, cleared, issued + timedelta(minutes=5)))
    assert status == 202, receipt
    settle(d)
    assert d.get_json("/api/v1/alerts")[1]["features"] == []
    assert d.get_json("/map/data.json?lang=ja")[1]["alerts"]["features"] == []
    assert d.get_json("/signage/aso.json")[1]["main"] is None
    d.wait(lambda: len(rx.bodies.get("/aso", [])) == 2, what="the lifted change to 阿蘇")
    last = rx.bodies["/aso"][-1]
    assert (last["change"]["kind"], last["change"]["reason"]) == ("withdrawn", "lifted")
    (item,) = [i for i in d.get_json("/api/v1/history?limit=10")[1]["items"] if str(i["id"]) == receipt["id"]]
    assert item["outcome"] == "lifted", item

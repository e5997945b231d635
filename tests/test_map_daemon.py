"""End to end on a real ``lalert run --demo``: map, text twin, tiles and CAP feeds.

One daemon per module (start-up is the slow part); the browser part blocks everything
but loopback and leaves screenshots in tests/screenshots/ to be looked at.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

import mapbox_vector_tile
import mercantile
import pytest
from lxml import etree

from lalert.parsers import parse
from lalert.validate import is_valid, validate
from tests.browser_support import SHELTERS_SHOWN
from tests.daemon_helpers import cap, start_daemon

CAP_NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2", "atom": "http://www.w3.org/2005/Atom"}
SHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = start_daemon(tmp_path_factory.mktemp("map") / "home", demo=True,
                     outputs=["map", "tiles", "feeds"])
    try:
        d.wait_applied()
        # one hand-made CAP alert (square over central 熊本市) and one drill
        assert d.post(cap("lalert-test-map-1"))[0] in (200, 202)
        assert d.post(cap("lalert-test-drill-1", status="Exercise"))[0] in (200, 202)
        d.wait(lambda: "lalert-test-map-1" in str(d.get_json("/api/v1/alerts")[1]),
               what="test alert applied")
        yield d
    finally:
        d.stop()


def fetch(d, path: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    status, hdrs, body = d.get(path, headers)
    return status, {k.lower(): v for k, v in hdrs.items()}, body


def test_feed_and_every_cap_validate_and_round_trip(demo, corpus):
    schema = etree.XMLSchema(etree.parse(str(corpus / "xml" / "cap-schema" / "cap12.xsd")))
    status, _, body = fetch(demo, "/feeds/cap.atom")
    assert status == 200
    assert is_valid(validate(body, "cap.atom")), validate(body, "cap.atom")
    feed = etree.fromstring(body)
    alerts = feed.findall("atom:entry/atom:content/cap:alert", CAP_NS)
    assert alerts, "the demo has alerts in force"
    assert {a.findtext("cap:status", namespaces=CAP_NS) for a in alerts} == {"Actual"}
    for a in alerts:
        assert schema.validate(etree.fromstring(etree.tostring(a))), schema.error_log
    for link in feed.findall("atom:entry/atom:link", CAP_NS):
        path = urlsplit(link.get("href")).path
        status, _, one = fetch(demo, path)
        assert status == 200, path
        assert schema.validate(etree.fromstring(one)), (path, schema.error_log)
        assert is_valid(validate(one, path))
    # round trip of the alert we sent: areas (polygon), level and times survive
    ids = [a.findtext("cap:identifier", namespaces=CAP_NS) for a in alerts]
    assert any("lalert-test-map-1" in i for i in ids)
    api_id = _api_id(demo, "lalert-test-map-1")
    _, _, one = fetch(demo, f"/api/v1/alerts/{quote(api_id, safe='')}.cap")
    (back,) = parse(one)
    assert back.level == 4 and back.issued_at.startswith("2026-07-03T17:00:00")
    assert any(a.geometry for a in back.areas)

    status, _, drills = fetch(demo, "/feeds/cap-drills.atom")
    statuses = {el.text for el in etree.fromstring(drills).iter(f"{{{CAP_NS['cap']}}}status")}
    assert status == 200 and statuses <= {"Exercise", "Test"}
    assert b"lalert-test-drill-1" not in body


def _api_id(d, needle: str) -> str:
    feats = d.get_json("/api/v1/alerts")[1]["features"]
    for f in feats:
        fid = f.get("id") or f["properties"].get("id")
        if needle in str(fid):
            return fid
    raise AssertionError(f"{needle} not in {[f.get('id') for f in feats]}")


def test_tiles_and_tilejson(demo):
    status, _, body = fetch(demo, "/tiles.json")
    assert status == 200 and b'"3.0.0"' in body
    t = mercantile.tile(130.70, 32.80, 12)
    status, headers, tile = fetch(demo, f"/tiles/12/{t.x}/{t.y}.mvt")
    layers = mapbox_vector_tile.decode(tile, default_options={"y_coord_down": False})
    assert status == 200 and "alerts" in layers and "shelters" in layers
    etag = headers["etag"]
    assert fetch(demo, f"/tiles/12/{t.x}/{t.y}.mvt", {"If-None-Match": etag})[0] == 304


def test_text_twin_shows_demo_alerts(demo):
    status, _, body = fetch(demo, "/text?lang=ja")
    html = body.decode()
    assert status == 200 and "熊本市に避難指示（テスト用）" in html
    assert "警戒レベル4" in html and "危険な場所から全員避難" in html


# true once a loaded canvas tile has a painted (non-transparent) pixel
BOUNDARIES_PAINTED = """() => [...document.querySelectorAll(
    ".leaflet-tile-pane canvas.leaflet-tile-loaded")].some(c => {
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
  return false;
})"""


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")
def test_demo_map_in_browser_offline(demo):
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    tiles: list[tuple[str, int]] = []  # (url, status) of the vector tiles a page fetched
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for w, h in ((390, 844), (1280, 800)):
            ctx = b.new_context(viewport={"width": w, "height": h}, locale="ja-JP",
                                geolocation={"latitude": 32.80, "longitude": 130.70},
                                permissions=["geolocation"])
            page = ctx.new_page()

            def guard(route):
                if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", guard)
            tiles.clear()
            page.on("response", lambda r: tiles.append((r.url, r.status))
                    if r.url.endswith(".mvt") else None)
            page.goto(demo.url + "/?lang=ja")
            page.wait_for_selector("#lalert-alerts li.alert")
            assert page.locator(".leaflet-overlay-pane path").count() >= 1  # the alert area
            # the demo's notice and shelter report have no 警戒レベル: the list names their
            # kind, never "レベルなし"
            labels = page.locator("#lalert-alerts li.alert strong.level").all_inner_texts()
            assert "お知らせ" in labels or "避難所情報" in labels, labels
            assert "レベルなし" not in labels, labels
            # the boundaries: canvas tiles painted from the daemon's own /tiles
            page.wait_for_function(BOUNDARIES_PAINTED)
            assert tiles and all(u.startswith(demo.url + "/tiles/") and st == 200
                                 for u, st in tiles), tiles
            page.screenshot(path=str(SHOTS / f"demo_map_overview_{w}x{h}.png"))
            # every demo shelter is on the map, one by one or counted in a cluster
            shelters = len(demo.get_json("/map/data.json?lang=ja")[1]["shelters"])
            assert shelters >= 10 and page.evaluate(SHELTERS_SHOWN) == shelters
            page.click("#lalert-where")
            page.wait_for_selector("#lalert-nearest li")
            assert "熊本市に避難指示（テスト用）" in page.locator("#lalert-here").inner_text()
            time.sleep(0.5)
            page.screenshot(path=str(SHOTS / f"demo_map_{w}x{h}.png"))
            page.goto(demo.url + "/text?lang=ja")
            page.screenshot(path=str(SHOTS / f"demo_text_{w}x{h}.png"), full_page=True)
            ctx.close()
        b.close()
    assert outside == []
    assert re.match(r"http://127\.0\.0\.1:\d+", demo.url)


def test_tiles_export_from_the_daemon_home(demo, tmp_path):
    from pmtiles.reader import MmapSource, Reader

    from lalert.cli import main

    assert main(["tiles", "export", "--home", str(demo.home), "--demo", "--dir",
                 str(tmp_path / "d"), "--maxzoom", "11"]) == 0
    t = mercantile.tile(130.70, 32.80, 11)
    tile = (tmp_path / "d" / "11" / str(t.x) / f"{t.y}.mvt").read_bytes()
    served = fetch(demo, f"/tiles/11/{t.x}/{t.y}.mvt")[2]
    assert mapbox_vector_tile.decode(tile).keys() == mapbox_vector_tile.decode(served).keys()
    assert "alerts" in mapbox_vector_tile.decode(tile)
    assert main(["tiles", "export", "--home", str(demo.home), "--demo",
                 str(tmp_path / "k.pmtiles"), "--maxzoom", "11"]) == 0
    with open(tmp_path / "k.pmtiles", "rb") as fh:
        assert Reader(MmapSource(fh)).get(11, t.x, t.y) == tile
    assert main(["tiles", "export", "--home", str(demo.home)]) == 2  # neither FILE nor --dir

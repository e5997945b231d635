"""The resident map on the real corpus geodata (``lalert data import`` of corpus/geo: national
boundaries, JMA areas and Kumamoto's 3,099 GSI shelter records, ~2,000 facilities), in a
real daemon.

What a resident sees: the map opens on the imported region (熊本県), not on all of Japan;
shelter markers are clustered at low zoom; ``#zoom/lat/lon`` is honoured; the signage QR
code's URL answers 200 and opens the map at the screen's place; signage and the map give
the same walking time for the same shelter. Chromium blocks everything but loopback;
screenshots go to tests/screenshots/ to be looked at.
"""

from __future__ import annotations

import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from lalert.geo.distance import walking_minutes
from tests.browser_support import SHOTS, chromium, keep_on_loopback, needs_chromium
from tests.daemon_helpers import ROOT, start_daemon
from tests.map_tiles import ThreadTileServer

CITY_HALL = (32.8031, 130.7079)  # 熊本市役所
KUMAMOTO = (129.9, 32.0, 131.4, 33.3)  # 熊本県 (w, s, e, n), with a margin
SCREEN = f"""
[outputs]
enabled = ["signage", "map", "tiles"]

[map]
basemap = "{{tiles}}"
attribution = "テスト用タイル"

[[outputs.signage.screens]]
id = "cityhall"
name = "熊本市役所 1階ロビー"
lat = {CITY_HALL[0]}
lon = {CITY_HALL[1]}
"""

MAP = "window[Object.keys(window).find(k => k.startsWith('map_'))]"
VIEW = f"""() => {{
  const m = {MAP}, b = m.getBounds(), c = m.getCenter();
  return {{ zoom: m.getZoom(), lat: c.lat, lon: c.lng,
           w: b.getWest(), s: b.getSouth(), e: b.getEast(), n: b.getNorth() }};
}}"""
# markers drawn one by one, cluster icons, and the shelters the clusters stand for
MARKERS = """() => {
  const one = document.querySelectorAll(".leaflet-marker-icon.mk:not(.wifi)").length;
  const clusters = [...document.querySelectorAll(".leaflet-marker-icon.mk-cluster")];
  return { one: one, clusters: clusters.length,
           inClusters: clusters.reduce((n, c) => n + Number(c.textContent), 0),
           titled: clusters.filter(c => c.title.length > 0).length };
}"""
# the map has stopped moving and the markers of the new view are placed
SETTLED = f"""async () => {{
  const m = {MAP};
  if (m._animatingZoom) await new Promise(r => m.once("zoomend", r));
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
}}"""


@pytest.fixture(scope="module")
def corpus_daemon(tmp_path_factory, corpus):
    home = tmp_path_factory.mktemp("corpusmap") / "home"
    home.mkdir()
    # the import a municipality runs, on the whole corpus/geo directory
    done = subprocess.run([sys.executable, "-m", "lalert", "data", "import", "--quiet",
                           "--db", str(home / "geo.gpkg"), str(corpus / "geo")],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert (home / "geo.gpkg").is_file(), done.stdout + done.stderr
    with ThreadTileServer() as tiles:
        d = start_daemon(home, config_text=SCREEN.replace("{tiles}", tiles.template),
                         timeout=120)
        d.tiles = tiles
        try:
            yield d
        finally:
            d.stop()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _page(browser, size=(1280, 800)):
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="ja-JP")
    seen, outside = keep_on_loopback(ctx)
    page = ctx.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    # a Content-Security-Policy refusal is logged on the console, not thrown
    page.on("console", lambda m: page.errors.append(m.text)
            if "Content Security Policy" in m.text else None)
    return page, outside


def shelters_on_map(d) -> list[dict]:
    status, data = d.get_json("/map/data.json?lang=ja")
    assert status == 200
    return data["shelters"]


@needs_chromium
def test_opens_on_the_imported_region_with_clustered_shelters(corpus_daemon, browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    shelters = shelters_on_map(corpus_daemon)
    # GSI's 1,761 指定緊急避難場所 + 1,338 指定避難所 for 熊本県, one entry per facility
    assert len(shelters) > 2000
    page, outside = _page(browser)
    page.goto(corpus_daemon.url + "/?lang=ja")
    page.wait_for_selector(".leaflet-marker-icon.mk-cluster")
    page.evaluate(SETTLED)
    view = page.evaluate(VIEW)
    w, s, e, n = KUMAMOTO
    # the geo store holds all of Japan's boundaries; the map still opens on 熊本県
    assert view["zoom"] >= 8, view
    assert w <= view["lon"] <= e and s <= view["lat"] <= n, view
    assert view["e"] - view["w"] < 5, view  # not the whole country (~30° wide)
    marks = page.evaluate(MARKERS)
    # clustered: far fewer markers than shelters, and every shelter is counted once
    assert marks["clusters"] > 0 and marks["one"] + marks["clusters"] < len(shelters) / 10, marks
    assert marks["one"] + marks["inClusters"] == len(shelters), marks
    assert marks["titled"] == marks["clusters"]  # each cluster has an accessible name
    # the configured base map: its origin is allowed by the page's CSP, its tiles are drawn
    csp = corpus_daemon.get("/")[1]
    csp = {k.lower(): v for k, v in csp.items()}["content-security-policy"]
    img_src = next(d for d in csp.split(";") if d.strip().startswith("img-src"))
    assert corpus_daemon.tiles.origin in img_src.split()
    page.wait_for_function("""() => document.querySelectorAll(
        '.leaflet-tile-pane img.leaflet-tile-loaded').length >= 4""")
    assert {z for z, _x, _y in corpus_daemon.tiles.requests} >= {view["zoom"]}
    assert "テスト用タイル" in page.locator(".leaflet-control-attribution").inner_text()
    page.screenshot(path=str(SHOTS / "map_corpus_region_1280x800.png"))
    assert outside == [] and page.errors == []
    page.context.close()


HITOYOSHI = (32.2105, 130.7625)  # 人吉市役所


def _assert_view(page, zoom: int, at: tuple[float, float]) -> None:
    """Once the map settles, it shows ``at`` (lat, lon) at ``zoom``."""
    page.evaluate(SETTLED)
    view = page.evaluate(VIEW)
    assert view["zoom"] == zoom
    assert abs(view["lat"] - at[0]) < 1e-3 and abs(view["lon"] - at[1]) < 1e-3, view


@needs_chromium
def test_url_hash_opens_the_map_there(corpus_daemon, browser):
    page, outside = _page(browser, (390, 844))
    page.goto(corpus_daemon.url + "/?lang=ja#15/32.2105/130.7625")  # 人吉市役所
    page.wait_for_selector(".leaflet-marker-icon.mk")
    _assert_view(page, 15, HITOYOSHI)
    # at street level no shelter is clustered any more
    assert page.evaluate(MARKERS)["clusters"] == 0
    page.screenshot(path=str(SHOTS / "map_corpus_hash_390x844.png"))
    # moving the map writes the place back into the URL
    page.evaluate(f"{MAP}.setZoom(13, {{animate: false}})")
    page.wait_for_function("location.hash.startsWith('#13/')")
    assert outside == [] and page.errors == []
    page.context.close()


@needs_chromium
def test_signage_qr_code_opens_the_map_at_the_screen(corpus_daemon, browser):
    status, body = corpus_daemon.get_json("/signage/cityhall.json")
    assert status == 200
    url = body["map_url"]
    # the daemon's own address (it listens on a free port: the URL follows it)
    lat, lon = (f"{v:.5f}" for v in CITY_HALL)
    assert url == f"{corpus_daemon.url}/?here={lat},{lon}#16/{lat}/{lon}"
    # the same URL is what the QR code on the screen encodes
    page_html = corpus_daemon.get("/signage/cityhall")[2].decode()
    assert f'aria-label="QR: {url}"' in page_html
    parts = urlsplit(url)
    status, _h, html = corpus_daemon.get(f"{parts.path}?{parts.query}")
    assert status == 200 and b"/static/map/map.js" in html
    page, outside = _page(browser, (390, 844))
    page.goto(url)
    # "where am I" answered at the screen's place: the nearest shelters, as on the screen
    page.wait_for_selector("#lalert-nearest li[data-id]")
    page.evaluate(SETTLED)
    view = page.evaluate(VIEW)
    assert view["zoom"] == 16
    assert abs(view["lat"] - CITY_HALL[0]) < 1e-4 and abs(view["lon"] - CITY_HALL[1]) < 1e-4
    here = page.locator(".leaflet-overlay-pane path[stroke='#0050b3']")  # "you are here"
    assert here.count() == 1
    box = here.bounding_box()
    mapbox = page.locator(".folium-map").bounding_box()
    assert abs(box["x"] + box["width"] / 2 - (mapbox["x"] + mapbox["width"] / 2)) < 3
    listed = page.locator("#lalert-nearest li[data-id]").evaluate_all(
        "els => els.map(e => e.dataset.id)")
    on_screen = [s["id"] for s in body["shelters"]]
    assert listed and set(listed) & set(on_screen), (listed, on_screen)
    page.screenshot(path=str(SHOTS / "map_corpus_qr_390x844.png"))
    assert outside == [] and page.errors == []
    page.context.close()


def test_signage_and_map_give_the_same_walking_time(corpus_daemon):
    status, screen = corpus_daemon.get_json("/signage/cityhall.json")
    assert status == 200 and screen["shelters"]
    lat, lon = CITY_HALL
    status, here = corpus_daemon.get_json(f"/api/v1/here?lat={lat}&lon={lon}&lang=ja")
    assert status == 200 and here["shelters"]
    on_map = {s["id"]: s for s in here["shelters"]}
    shared = [s for s in screen["shelters"] if s["id"] in on_map]
    assert shared, (screen["shelters"], here["shelters"])
    for s in shared:
        m = on_map[s["id"]]
        assert abs(s["distance_m"] - m["distance_m"]) <= 1
        assert s["walk_min"] == m["walk_min"] == walking_minutes(m["distance_m"]), (s, m)
    for s in screen["shelters"] + here["shelters"]:
        assert s["walk_min"] == walking_minutes(s["distance_m"])


@needs_chromium
def test_here_without_a_view_opens_the_map_at_that_point(corpus_daemon, browser):
    """A shared ``?here=lat,lon`` link without ``#zoom/lat/lon``: the point answered for
    is on the map (it opened over the deployment's region, where the point may not be)."""
    page, outside = _page(browser, (390, 844))
    page.goto(corpus_daemon.url + "/?lang=ja&here=32.21050,130.76250")  # 人吉市役所
    page.wait_for_selector("#lalert-nearest li")
    _assert_view(page, 16, HITOYOSHI)
    assert outside == [] and page.errors == []
    page.context.close()

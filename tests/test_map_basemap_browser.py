"""Headless Chromium: the map over a base map, from a loopback tile server standing in for
地理院タイル and from a local .pmtiles archive lalert serves itself; and without one.

Every request that is not loopback is refused and recorded. Screenshots go to
tests/screenshots/ (git-ignored) to be looked at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lalert.geo.data import demo_geodata
from lalert.outputs.publicmap import MapOutput, protomaps_bundle
from lalert.outputs.tiles import TilesOutput
from tests.browser_support import CHROMIUM
from tests.map_tiles import TileServer, raster_pmtiles
from tests.public_fakes import FakeState, client_for, context, demo_alerts
from tests.test_map_browser import SHOTS, offline_page

pw = pytest.importorskip("playwright.async_api")
NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed"),
    pytest.mark.skipif(protomaps_bundle(NODE_MODULES) is None,
                       reason="protomaps-leaflet not installed: run `npm ci`"),
]

# every base-map <img> Leaflet has finished loading, with its natural size
LOADED_TILES = """() => [...document.querySelectorAll(
    ".leaflet-tile-pane img.leaflet-tile.leaflet-tile-loaded")]
  .filter(i => i.complete && i.naturalWidth > 0)
  .map(i => ({ src: i.src, w: i.naturalWidth, h: i.naturalHeight }))"""

# the map's current zoom (folium names the map variable map_<hex>)
ZOOM = """() => window[Object.keys(window).find(k => k.startsWith("map_"))].getZoom()"""


@pytest.fixture
async def browser():
    async with pw.async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu",
                                          "--disable-background-networking",
                                          "--disable-component-update", "--disable-sync",
                                          "--no-first-run"])
        yield b
        await b.close()


async def serve(settings: dict):
    """The map and tiles outputs over the demo data, with ``settings`` as the config tree."""
    state = FakeState(demo_alerts())
    geo = demo_geodata()
    outs = [MapOutput(), TilesOutput()]
    for o in outs:
        ctx = context(o.name, state, geo=geo)
        ctx.settings.update(settings)
        await o.start(ctx)
    client = await client_for(*(o.routes() for o in outs))
    client.base = str(client.make_url("/")).rstrip("/")
    client.outputs = outs
    return client


async def test_raster_basemap_from_a_tile_server(browser):
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with TileServer() as tiles:
        client = await serve({"map": {"basemap": tiles.template,
                                      "attribution": "テスト用タイル（ループバック）",
                                      "attribution_url": "https://example.jp/tiles"}})
        try:
            page = await offline_page(browser, (1280, 800))
            await page.goto(client.base + "/?lang=ja")
            await page.wait_for_selector("#lalert-alerts li.alert")
            await page.wait_for_function(f"({LOADED_TILES})().length >= 4")
            loaded = await page.evaluate(LOADED_TILES)
            zoom = await page.evaluate(ZOOM)
            # every image came from the tile server, at the map's zoom, and was drawn
            assert all(t["src"].startswith(tiles.template.split("{z}")[0]) for t in loaded)
            assert all(t["w"] == 256 and t["h"] == 256 for t in loaded)
            assert tiles.requests and {z for z, _x, _y in tiles.requests} >= {zoom}
            attribution = await page.locator(".leaflet-control-attribution").inner_text()
            assert "テスト用タイル（ループバック）" in attribution and "背景地図なし" not in attribution
            assert await page.locator(
                '.leaflet-control-attribution a[href="https://example.jp/tiles"]').count() == 1
            # alerts, boundaries' lines and shelters are still drawn over it
            assert await page.locator(".leaflet-overlay-pane path").count() >= 1
            assert await page.locator(".leaflet-marker-icon.mk.open").count() == 1
            await page.screenshot(path=str(SHOTS / "map_basemap_raster_1280x800.png"))
            assert page.outside == [] and page.errors == []
            await page.context.close()
        finally:
            await client.close()


async def test_local_pmtiles_basemap(browser, tmp_path):
    archive = tmp_path / "kumamoto.pmtiles"
    raster_pmtiles(archive, minzoom=5, maxzoom=13)
    client = await serve({"map": {"basemap": str(archive), "attribution": "PMTiles テスト"}})
    try:
        page = await offline_page(browser, (390, 844))
        served: list[tuple[str, int]] = []
        page.on("response", lambda r: served.append((r.url, r.status))
                if "/basemap/" in r.url else None)
        await page.goto(client.base + "/?lang=ja")
        await page.wait_for_selector("#lalert-alerts li.alert")
        await page.wait_for_function(f"({LOADED_TILES})().length >= 2")
        loaded = await page.evaluate(LOADED_TILES)
        assert all(t["src"].startswith(client.base + "/basemap/") for t in loaded)
        assert served and all(status == 200 for _u, status in served), served
        assert "PMTiles テスト" in await page.locator(".leaflet-control-attribution").inner_text()
        await page.screenshot(path=str(SHOTS / "map_basemap_pmtiles_390x844.png"))
        assert page.outside == [] and page.errors == []
        await page.context.close()
    finally:
        await client.close()


async def test_without_basemap_no_tile_images_and_the_attribution_says_offline(browser):
    client = await serve({})
    try:
        page = await offline_page(browser, (390, 844), lang="en-GB")
        await page.goto(client.base + "/?lang=en")
        await page.wait_for_selector("#lalert-alerts li.alert")
        attribution = await page.locator(".leaflet-control-attribution").inner_text()
        assert "No base map (offline)" in attribution
        assert await page.locator(".leaflet-tile-pane img").count() == 0
        assert page.outside == [] and page.errors == []
        await page.context.close()
    finally:
        await client.close()

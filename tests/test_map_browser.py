"""Headless Chromium on the public map and text twin, with every non-loopback request blocked.

Checks what a resident sees: municipal boundaries painted from the daemon's own vector
tiles (protomaps-leaflet canvas), alert polygons and shelters drawn, "where am I" at a fixed
position lists the right shelters, the hazard filter, and no serious / critical axe-core
violations. Screenshots go to tests/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from lalert.geo.data import demo_geodata
from lalert.outputs.publicmap import MapOutput, protomaps_bundle
from lalert.outputs.publicmap.page import BOUNDARY_LINE, LAND_FILL
from lalert.outputs.tiles import TilesOutput
from tests.browser_support import SHELTERS_SHOWN
from tests.public_fakes import FakeState, client_for, context, demo_alerts

pw = pytest.importorskip("playwright.async_api")

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "tests" / "screenshots"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORTS = [(390, 844), (1280, 800)]
HERE = {"latitude": 32.80, "longitude": 130.715}  # inside the 中央区 alert box
NODE_MODULES = ROOT / "node_modules"

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium not installed")


async def serve(map_config: dict | None = None, alerts: list | None = None):
    state = FakeState(demo_alerts() if alerts is None else alerts)
    geo = demo_geodata()
    outs = [MapOutput(), TilesOutput()]
    for o in outs:
        await o.start(context(o.name, state, geo=geo,
                              config=map_config if o.name == "map" else None))
    client = await client_for(*(o.routes() for o in outs))
    client.base = str(client.make_url("/")).rstrip("/")
    return client


@pytest.fixture
async def server():
    if protomaps_bundle(NODE_MODULES) is None:
        pytest.skip("protomaps-leaflet not installed: run `npm ci` at the repository root")
    client = await serve()
    yield client
    await client.close()


def _rgb(hex_colour: str) -> list[int]:
    return [int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)]


# Counts, over every loaded canvas tile, the pixels painted as land and as boundary line
# (anti-aliased lines blend into the land, so "line" is any pixel clearly darker than land
# and grey). Sea is the map's background, so an unpainted tile has neither.
PIXELS = """([land, line]) => {
  let tiles = 0, landPx = 0, linePx = 0;
  for (const c of document.querySelectorAll(".leaflet-tile-pane canvas.leaflet-tile-loaded")) {
    tiles++;
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 4) {
      const r = d[i], g = d[i + 1], b = d[i + 2];
      if (d[i + 3] === 0) continue;
      if (r === land[0] && g === land[1] && b === land[2]) landPx++;
      else if (r < land[0] - 20 && Math.abs(r - g) < 10 && Math.abs(g - b) < 10
               && r >= line[0] - 30) linePx++;
    }
  }
  return { tiles: tiles, land: landPx, line: linePx };
}"""


async def boundary_pixels(page) -> dict:
    await page.wait_for_function(
        "document.querySelectorAll('.leaflet-tile-pane canvas.leaflet-tile-loaded').length > 0")
    return await page.evaluate(PIXELS, [_rgb(LAND_FILL), _rgb(BOUNDARY_LINE)])


@pytest.fixture
async def browser():
    async with pw.async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        await b.close()


async def offline_page(browser, size, *, lang="ja-JP"):
    """A page whose requests to anything but loopback are aborted and recorded."""
    ctx = await browser.new_context(viewport={"width": size[0], "height": size[1]},
                                    geolocation=HERE, permissions=["geolocation"], locale=lang)
    page = await ctx.new_page()
    page.outside = []
    page.errors = []
    page.tiles = []  # (url, status) of every vector tile the daemon answered

    def seen(response):
        if "/tiles/" in response.url and response.url.endswith(".mvt"):
            page.tiles.append((response.url, response.status))

    async def guard(route):
        host = urlsplit(route.request.url).hostname
        if host in ("127.0.0.1", "localhost", "::1"):
            await route.continue_()
        else:
            page.outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", guard)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("response", seen)
    return page


async def axe_serious(page) -> list[dict]:
    if not AXE.exists():
        pytest.skip("axe-core not installed: run `npm ci` at the repository root")
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("size", VIEWPORTS, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_map_offline_draws_and_finds_shelters(server, browser, size):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = await offline_page(browser, size)
    await page.goto(server.base + "/?lang=ja")
    await page.wait_for_selector("#lalert-alerts li.alert")
    # the level-4 alert polygon (purple fill) is an SVG path; the boundaries are not: they
    # are painted on canvas tiles fetched from the daemon's own /tiles
    assert await page.locator('.leaflet-overlay-pane path[fill="#aa00aa"]').count() == 1
    assert await page.locator(".leaflet-overlay-pane path").count() == 1
    px = await boundary_pixels(page)
    assert px["tiles"] >= 2 and px["land"] > 5000 and px["line"] > 200, px
    base = server.base + "/tiles/"
    assert page.tiles and all(u.startswith(base) and st == 200 for u, st in page.tiles), page.tiles
    await page.screenshot(path=str(SHOTS / f"map_overview_{size[0]}x{size[1]}.png"))
    assert await page.locator(".leaflet-marker-icon.mk.open").count() == 1
    assert await page.locator(".leaflet-marker-icon.mk.closed").count() == 1
    assert await page.locator(".leaflet-marker-icon.mk.wifi").count() == 8
    assert await page.evaluate(SHELTERS_SHOWN) == 18  # facilities, one by one or in a cluster
    assert "L4" in await page.locator(".level-label").first.inner_text()

    await page.click("#lalert-where")
    await page.wait_for_selector("#lalert-nearest li[data-id]")
    ids = await page.locator("#lalert-nearest li[data-id]").evaluate_all(
        "els => els.map(e => e.dataset.id)")
    # flood-fit and open first; 12 is closed, 01/03 not for floods; then flood-fit, state unknown
    assert ids[0] == "DEMO-431001-02" and not {"DEMO-431001-12", "DEMO-431001-01"} & set(ids)
    assert "危険な場所から全員避難" in await page.locator("#lalert-here").inner_text()
    await page.evaluate(SETTLE)
    await page.screenshot(path=str(SHOTS / f"map_{size[0]}x{size[1]}.png"))

    # back out to the whole city through the URL hash: clusters hold the sites out of view
    await page.evaluate("location.hash = '#11/32.80/130.71'")
    await page.wait_for_function("location.hash === '#11/32.8000/130.7100'")
    await page.select_option("#lalert-hazard", "tsunami")
    await page.wait_for_function(f"({SHELTERS_SHOWN})() === 12")  # 7 demo + 5 real schools
    assert page.outside == [] and page.errors == []
    await page.context.close()


async def test_map_tap_point_in_english(server, browser):
    page = await offline_page(browser, (390, 844), lang="en-GB")
    await page.goto(server.base + "/")
    await page.wait_for_selector("#lalert-alerts li.alert")
    assert await page.locator("html").get_attribute("lang") == "en"
    await page.evaluate("lalertMap.lookup(32.93, 130.71)")  # 北区, outside every alert
    await page.wait_for_selector("#lalert-nearest li")
    text = await page.locator("#lalert-here").inner_text()
    assert "No alert covers this point." in text
    first = await page.locator("#lalert-nearest li[data-id]").first.get_attribute("data-id")
    assert first == "DEMO-431001-13"  # no hazard in force: the nearest site of any kind
    assert "1 min walk" in text
    assert await page.locator("#lalert-notify").inner_text() == "Notify me about this place"
    assert page.outside == [] and page.errors == []
    await page.context.close()


async def test_where_am_i_names_what_it_cannot_place(browser, corpus):
    """A tsunami warning over forecast regions the gazetteer has no polygon for: "where am
    I" says nothing on the map covers the point and names the warning and its places,
    instead of "no alert covers this point"."""
    from lalert.geo.enrich import enrich
    from lalert.parsers import parse

    raw = (corpus / "xml" / "jma" / "32-39_11_02_250206_VTSE41.xml").read_bytes()
    tsunami = enrich(parse(raw)[0], demo_geodata())
    client = await serve(alerts=[*demo_alerts(), tsunami])
    try:
        page = await offline_page(browser, (390, 844), lang="en-GB")
        await page.goto(client.base + "/")
        await page.wait_for_selector("#lalert-alerts li.alert")
        await page.evaluate("lalertMap.lookup(32.93, 130.71)")  # 北区, outside the flood
        await page.wait_for_selector("#lalert-here .here-unplaced li.alert")
        text = await page.locator("#lalert-here").inner_text()
        assert "No alert on the map covers this point." in text
        assert "No alert covers this point." not in text
        assert "Also in force for places the map cannot show" in text
        item = await page.locator("#lalert-here .here-unplaced li.alert").inner_text()
        assert "岩手県" in item and "more places" in item
        # each region beside what is in force there, not the gravest over them all
        lines = await page.locator("#lalert-here .here-unplaced li.alert li").all_inner_texts()
        (ariake,) = [x for x in lines if "有明・八代海" in x]
        assert ariake.startswith("津波予報（若干の海面変動）") and "大津波" not in ariake
        (miyagi,) = [x for x in lines if "宮城県" in x]
        assert "大津波警報" in miyagi
        await page.screenshot(path=str(SHOTS / "map_here_unplaced_390x844.png"))
        assert page.outside == [] and page.errors == []
        await page.context.close()
    finally:
        await client.close()


# folium names its variables map_<hex> and tile_boundaries_<hex>
ZOOM_AND_WAIT = """async (by) => {
  const find = p => window[Object.keys(window).find(k => k.startsWith(p))];
  const map = find("map_"), layer = find("tile_boundaries_");
  const done = new Promise(resolve => layer.once("load", resolve));
  map.setZoom(map.getZoom() + by, { animate: false });
  await done;
  return map.getZoom();
}"""


# Waits for a zoom animation and the tiles it asked for, then two frames: a state worth
# a screenshot (an event to wait on, not a guessed delay).
SETTLE = """async () => {
  const find = p => window[Object.keys(window).find(k => k.startsWith(p))];
  const map = find("map_"), layer = find("tile_boundaries_");
  if (map._animatingZoom) await new Promise(resolve => map.once("zoomend", resolve));
  if (layer && layer.isLoading()) await new Promise(resolve => layer.once("load", resolve));
  await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
}"""


def tile_zooms(page) -> set[int]:
    return {int(u.split("/tiles/")[1].split("/")[0]) for u, _ in page.tiles}


async def test_boundaries_follow_zoom_from_tiles(server, browser):
    """Zooming in asks the daemon for tiles of the new zoom and paints them too."""
    page = await offline_page(browser, (1280, 800))
    await page.goto(server.base + "/?lang=en")
    await page.wait_for_selector("#lalert-alerts li.alert")
    await boundary_pixels(page)
    before = tile_zooms(page)  # the first view may pass through a zoom on its way to fit
    assert before
    z = await page.evaluate(ZOOM_AND_WAIT, 2)
    assert z > max(before)
    assert z in tile_zooms(page)
    px = await boundary_pixels(page)
    assert px["land"] > 5000 and px["line"] > 100, px
    assert page.outside == [] and page.errors == []
    await page.context.close()


async def test_without_node_modules_boundaries_are_embedded(browser, tmp_path):
    """No protomaps-leaflet (an install without npm): the GeoJSON fallback still draws."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    client = await serve({"node_modules": str(tmp_path)})
    try:
        page = await offline_page(browser, (390, 844))
        await page.goto(client.base + "/?lang=ja")
        await page.wait_for_selector("#lalert-alerts li.alert")
        assert await page.locator(".leaflet-overlay-pane path").count() >= 6  # 5 + alert
        assert await page.locator(".leaflet-tile-pane canvas").count() == 0
        assert page.tiles == [] and page.outside == [] and page.errors == []
        await page.screenshot(path=str(SHOTS / "map_fallback_390x844.png"))
        await page.context.close()
    finally:
        await client.close()


@pytest.mark.parametrize("path", ["/?lang=ja", "/?lang=en", "/text?lang=ja", "/text?lang=en"])
async def test_axe_no_serious_violations(server, browser, path):
    page = await offline_page(browser, (390, 844))
    await page.goto(server.base + path)
    if path.startswith("/?"):
        await page.wait_for_selector("#lalert-alerts li.alert")
        await page.click("#lalert-where")
        await page.wait_for_selector("#lalert-nearest li")
    else:
        await page.screenshot(path=str(SHOTS / f"text_{path[-2:]}.png"), full_page=True)
    assert await axe_serious(page) == []
    assert page.outside == []
    await page.context.close()


XSS = '<img src=x onerror="window.__xss=1">'


async def test_area_name_is_text_not_html(browser):
    """A message's area name on the map's level label is text: no element is injected and
    no handler runs (it was put into L.divIcon's HTML string)."""
    from dataclasses import replace

    from tests.public_fakes import flood_alert

    ea = flood_alert()
    area = replace(ea.areas[0], name=XSS)
    state = FakeState([replace(ea, areas=(area,), alert=replace(ea.alert, areas=(area,)))])
    out = MapOutput()
    await out.start(context(out.name, state, geo=demo_geodata(),
                            config={"node_modules": "/nonexistent"}))
    client = await client_for(out.routes())
    try:
        page = await offline_page(browser, (1280, 800))
        await page.goto(str(client.make_url("/?lang=en")))
        await page.wait_for_selector(".level-label")
        assert XSS in await page.locator(".level-label").first.inner_text()
        assert await page.locator(".leaflet-marker-pane img").count() == 0
        assert await page.evaluate("window.__xss") is None
        await page.context.close()
    finally:
        await client.close()


# Stands in for the browser's push service: the subscription the page sends is what is
# tested, and a headless browser has no push service to reach offline.
FAKE_PUSH = """(() => {
  window.Notification = { requestPermission: async () => "granted", permission: "granted" };
  const sub = { toJSON: () => ({ endpoint: "http://127.0.0.1:9/push/visitor",
                                 keys: { p256dh: "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
                                         auth: "tBHItJI5svbpez7KI4CCXg" } }) };
  const reg = { pushManager: { getSubscription: async () => null, subscribe: async () => sub } };
  Object.defineProperty(navigator, "serviceWorker", { value: {
    register: async () => reg, ready: Promise.resolve(reg) } });
  window.PushManager = function () {};
})()"""


@pytest.mark.parametrize("locale", ["en-GB", "ko-KR"])
async def test_a_visitor_subscribing_in_another_language_is_told_of_japanese_alerts(
        server, browser, locale):
    """"Notify me" on the English or Korean page subscribes to the place, not to alerts
    published in English or Korean: the subscription the page sends matches the Japanese
    flood 避難指示 there (it once carried the page's language as a filter, so a visitor was
    never notified). The page's language goes as the reader's ``lang``: the level words
    of the notification come in it."""
    from lalert.outputs import phrases
    from lalert.outputs.delivery import change_body
    from lalert.outputs.subscriptions_routes import webpush_target
    from lalert.outputs.webpush.output import payload
    from lalert.subscriptions import SubscriptionIndex, match
    from lalert.subscriptions.model import subscription_from_request
    from tests.push_fakes import change

    page = await offline_page(browser, (390, 844), lang=locale)
    await page.add_init_script(FAKE_PUSH)
    sent = []

    async def capture(route):
        if route.request.method == "POST":
            sent.append(route.request.post_data_json)
            await route.fulfill(status=201, json={"id": "sub-1", "unsubscribe_key": "k"})
        else:
            await route.continue_()

    await page.route("**/api/v1/subscriptions", capture)
    await page.route("**/api/v1/webpush/vapid-public-key", lambda r: r.fulfill(
        json={"publicKey": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM"}))
    # the webpush output serves its module in the daemon; this server has the map only
    await page.route("**/static/webpush/lalert-push.js", lambda r: r.fulfill(
        path=str(ROOT / "lalert" / "outputs" / "webpush" / "static" / "lalert-push.js"),
        content_type="text/javascript"))
    await page.goto(server.base + "/")
    await page.wait_for_selector("#lalert-alerts li.alert")
    await page.evaluate(f"lalertMap.lookup({HERE['latitude']}, {HERE['longitude']})")
    await page.locator("#lalert-notify").click()
    await page.wait_for_selector(".notify-ok", timeout=10000)
    (body,) = sent
    # the server's own check of what the page sent: the page's language is the reader's
    target = webpush_target(body, allow_http=True)
    lang = {"en-GB": "en", "ko-KR": "ko"}[locale]
    assert target["lang"] == lang and body["languages"] == []
    sub = subscription_from_request(body, sub_id="visitor", channel="webpush",
                                    target=target, created_at="2026-07-03T00:00:00Z")
    flood = demo_alerts()[0]
    assert flood.alert.language == "ja"
    assert match(flood, SubscriptionIndex.build([sub]), channel="webpush") == ["visitor"]
    # and the notification's level words come in it (the alert's own text as published)
    told = payload(change_body(change(1, flood)), "{base_url}/map?alert={id}", "https://x",
                   sub=sub)
    words = phrases.level_label(flood.alert.level, flood.alert.kind, flood.hazard_tags, lang)
    assert told["level_label"] == words
    assert words != phrases.level_label(flood.alert.level, flood.alert.kind,
                                        flood.hazard_tags, "ja")
    assert told["title"] == flood.alert.title
    assert page.errors == []
    await page.context.close()


async def test_the_map_tells_japan_time_on_a_phone_set_to_another_zone(server, browser):
    """The map's "updated" clock used the device's zone: a visitor whose phone keeps
    London time read 23:22 at 08:22 in Japan, beside /text and signage in Japan time."""
    from datetime import datetime, timedelta, timezone

    jst = timezone(timedelta(hours=9))
    ctx = await browser.new_context(timezone_id="Europe/London", locale="ja-JP")
    page = await ctx.new_page()
    before = datetime.now(jst)
    await page.goto(server.base + "/?lang=ja")
    await page.wait_for_function(
        "document.getElementById('lalert-status').textContent.includes(':')")
    said = await page.locator("#lalert-status").inner_text()
    after = datetime.now(jst)
    hours = {f"{t.hour}:{t.minute:02d}" for t in (before, after)}
    assert any(h in said for h in hours), (said, hours)
    await ctx.close()


async def test_where_am_i_heads_sites_none_reported_open_as_such(server, browser):
    """On 有明海's coast "where am I" listed five sites, every one 状況不明, under the
    heading 近くの開設中の避難場所 (nearest open shelters). The heading says what the
    list is: open ones, designated ones with no opening reported, or both."""
    page = await offline_page(browser, (390, 844))
    await page.goto(server.base + "/?lang=ja")
    await page.wait_for_selector("#lalert-alerts li.alert")
    await page.evaluate("lalertMap.lookup(32.93, 130.71)")  # 北区: no site reported open
    await page.wait_for_selector("#lalert-nearest li")
    states = await page.locator("#lalert-nearest .state").all_inner_texts()
    assert states and not any("開設" in s for s in states)
    heads = await page.locator("#lalert-here h2").all_inner_texts()
    assert "近くの開設中の避難場所" not in heads
    assert "近くに開設の報告がある避難所はありません。近くの指定避難場所：" in heads
    await page.evaluate("lalertMap.lookup(32.80, 130.71)")  # by the one site reported open
    await page.wait_for_function(
        "document.querySelector('#lalert-nearest .state')?.textContent.includes('開設')")
    heads = await page.locator("#lalert-here h2").all_inner_texts()
    states = await page.locator("#lalert-nearest .state").all_inner_texts()
    opened = ["開設" in s and "状況不明" not in s for s in states]
    assert any(opened)
    assert ("近くの開設中の避難場所" in heads) == all(opened), (heads, states)
    assert page.outside == [] and page.errors == []
    await page.context.close()

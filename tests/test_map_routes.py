"""Public map and text twin over HTTP (no browser): no CDN, data, where-am-I, ETags."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import mercantile
import pytest

from lalert.config import (
    GSI_ATTRIBUTION,
    GSI_ATTRIBUTION_URL,
    GSI_PALE_URL,
    Basemap,
    basemap_config,
    load_config,
    parse_region,
)
from lalert.geo.data import demo_geodata
from lalert.geo.distance import walking_minutes
from lalert.outputs.listing import RegionFilter
from lalert.outputs.publicmap import MapOutput, markercluster_files, protomaps_bundle
from lalert.outputs.publicmap.basemap import attribution_html
from lalert.outputs.publicmap.data import opening_region
from lalert.outputs.publicmap.page import (
    MARKERCLUSTER_CSS,
    MARKERCLUSTER_JS,
    PROTOMAPS_JS,
    page_config_json,
)
from tests.map_tiles import raster_pmtiles
from tests.public_fakes import FakeState, client_for, context, demo_alerts, with_alert

HERE = {"lat": "32.80", "lon": "130.715"}  # inside the hand-made 中央区 alert box
NODE_MODULES = Path(__file__).resolve().parent.parent / "node_modules"
needs_protomaps = pytest.mark.skipif(protomaps_bundle(NODE_MODULES) is None,
                                     reason="protomaps-leaflet not installed: run `npm ci`")


async def full_page(client, url: str, headers: dict | None = None) -> str:
    """The page followed by the scripts folium inlined, which it now loads from files."""
    html = await (await client.get(url, headers=headers or {})).text()
    for src in re.findall(r'<script src="(/map/js/[^"]+)"', html):
        r = await client.get(src)
        assert r.status == 200 and "javascript" in r.content_type, src
        html += "\n" + await r.text()
    return html


@pytest.fixture(scope="module")
def geo():
    return demo_geodata()


@pytest.fixture
async def http(geo):
    state = FakeState(demo_alerts())
    out = MapOutput()
    await out.start(context("map", state, geo=geo))
    client = await client_for(out.routes())
    client.state = state
    yield client
    await client.close()


async def test_page_has_no_cdn_and_serves_its_assets(http):
    r = await http.get("/?lang=ja")
    assert r.status == 200 and r.content_type == "text/html"
    html = await r.text()
    assert html.startswith('<!DOCTYPE html>\n<html lang="ja">') and "<title>防災マップ</title>"
    assert "user-scalable=no" not in html
    assets = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert "/static/vendor/leaflet/leaflet.js" in assets and "/static/map/map.js" in assets
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for cdn in ("jsdelivr", "cdnjs", "jquery", "bootstrap", "unpkg", "fontawesome"):
        assert cdn not in html
    for asset in assets:
        res = await http.get(asset)
        small = 10 if asset.startswith("/map/js/") else 100  # folium's two-line preamble
        assert res.status == 200 and len(await res.read()) > small, asset
    assert not re.search(r"<script(?![^>]*src=)", html)  # no inline script (CSP)
    html = await full_page(http, "/?lang=ja")
    cfg = page_config_json(html)
    assert cfg["lang"] == "ja" and set(cfg["layers"]) == {"alerts", "shelters", "hotspots"}
    assert f"var {cfg['map']} = L.map(" in html
    en = await (await http.get("/", headers={"Accept-Language": "en-GB,en"})).text()
    assert '<html lang="en">' in en and "Disaster map" in en


async def _map_client(geo, config=None, settings=None):
    out = MapOutput()
    ctx = context("map", FakeState(demo_alerts()), geo=geo, config=config)
    ctx.settings.update(settings or {})
    await out.start(ctx)
    return await client_for(out.routes())


@needs_protomaps
async def test_boundaries_come_from_tiles_with_the_vendored_renderer(http):
    html = await full_page(http, "/?lang=ja")
    scripts = [s for s in re.findall(r'<script[^>]+src="([^"]+)"', html)
               if not s.startswith("/map/js/")]
    version = protomaps_bundle(NODE_MODULES)[1]
    cluster = markercluster_files(NODE_MODULES)
    assert scripts == ["/static/vendor/leaflet/leaflet.js", f"{MARKERCLUSTER_JS}?v={cluster[2]}",
                       f"{PROTOMAPS_JS}?v={version}", "/static/map/map.js"]
    # Leaflet first, then its plugins, then ours
    opts = re.search(r"lalertMap\.boundaryLayer\((\{.*?\})\);", html)
    assert opts and '"url": "/tiles/{z}/{x}/{y}.mvt"' in opts.group(1)
    assert '"maxzoom": 14' in opts.group(1) and '"minzoom": 4' in opts.group(1)
    assert "FeatureCollection" not in html  # no embedded boundaries
    r = await http.get(f"{PROTOMAPS_JS}?v={version}")
    body = await r.read()
    assert r.status == 200 and "javascript" in r.content_type
    assert body.startswith(b'"use strict";var protomapsL=')
    assert body == protomaps_bundle(NODE_MODULES)[0].read_bytes()
    assert "max-age" in r.headers["Cache-Control"]
    # one known file: nothing else of node_modules is reachable
    for other in ("/static/vendor/protomaps-leaflet/package.json",
                  "/static/vendor/protomaps-leaflet/../axe-core/axe.min.js",
                  "/static/vendor/protomaps-leaflet/protomaps-leaflet.js.map"):
        assert (await http.get(other)).status == 404, other


async def test_without_protomaps_the_page_embeds_boundaries_and_warns_once(geo, tmp_path,
                                                                          caplog):
    with caplog.at_level(logging.WARNING, logger="lalert.outputs.publicmap"):
        client = await _map_client(geo, config={"node_modules": str(tmp_path)})
        try:
            pages = [await full_page(client, f"/?lang={lang}") for lang in ("ja", "en")]
            assert (await client.get(PROTOMAPS_JS)).status == 404
        finally:
            await client.close()
    warnings = [r for r in caplog.records if "embedded as GeoJSON" in r.getMessage()]
    assert len(warnings) == 1 and str(tmp_path) in warnings[0].getMessage()
    for html in pages:
        assert "protomaps" not in html and "boundaryLayer" not in html
        assert "FeatureCollection" in html and all(f'"{c}"' in html for c in ("43101", "43105"))


@needs_protomaps
async def test_boundaries_embedded_when_no_tiles_are_served(geo, caplog):
    with caplog.at_level(logging.WARNING, logger="lalert.outputs.publicmap"):
        client = await _map_client(geo, settings={"outputs": {"enabled": ["map", "feeds"]}})
        html = await full_page(client, "/?lang=ja")
        await client.close()
    assert "FeatureCollection" in html and "boundaryLayer" not in html
    assert any("tiles output is not enabled" in r.getMessage() for r in caplog.records)
    # an explicit tiles URL (e.g. a static export) and the tiles output's zoom range
    client = await _map_client(geo, config={"tiles_url": "/export/{z}/{x}/{y}.mvt"},
                               settings={"outputs": {"enabled": ["map"],
                                                     "tiles": {"maxzoom": 12}}})
    html = await full_page(client, "/?lang=ja")
    await client.close()
    assert '"url": "/export/{z}/{x}/{y}.mvt"' in html and '"maxzoom": 12' in html
    assert "FeatureCollection" not in html


async def test_data_json_real_alerts_states_and_etag(http):
    r = await http.get("/map/data.json?lang=ja")
    data = await r.json()
    (feat,) = data["alerts"]["features"]  # the drill is not on the public map
    p = feat["properties"]
    assert p["level"] == 4 and p["area"] == "熊本市中央区" and p["colour"] == "#aa00aa"
    assert p["action"] == "危険な場所から全員避難"
    states = {s["id"]: s["state"] for s in data["shelters"]}
    assert states["DEMO-431001-02"] == "open" and states["DEMO-431001-12"] == "closed"
    # 13 hand-made demo sites + 5 real schools in both GSI lists, each facility once
    assert len(data["shelters"]) == 18 and len(data["hotspots"]) == 8
    assert len({s["id"] for s in data["shelters"]}) == 18
    etag = r.headers["ETag"]
    assert (await http.get("/map/data.json?lang=ja", headers={"If-None-Match": etag})).status == 304
    http.state.set([with_alert(demo_alerts()[0], level=5)])
    r = await http.get("/map/data.json?lang=ja", headers={"If-None-Match": etag})
    assert r.status == 200 and (await r.json())["alerts"]["features"][0]["properties"]["level"] == 5


async def test_where_am_i(http):
    ans = await (await http.get("/api/v1/here", params={**HERE, "lang": "en"})).json()
    assert [a["id"] for a in ans["alerts"]] == ["jma-flood-1"]
    assert ans["hazard"] == "flood"  # taken from the alert covering the point
    # flood-designated, not closed (DEMO-431001-12 is closed): open first, then the nearest
    ids = [s["id"] for s in ans["shelters"]]
    assert ids[0] == "DEMO-431001-02" and "DEMO-431001-12" not in ids
    assert all(s["state"] == "unknown" for s in ans["shelters"][1:])
    s = ans["shelters"][0]
    assert 1500 < s["distance_m"] < 2200 and s["walk_min"] == walking_minutes(s["distance_m"])
    assert s["state_label"] == "Open"
    quake = await (await http.get("/api/v1/here", params={**HERE, "hazard": "earthquake"})).json()
    ids = [s["id"] for s in quake["shelters"]]
    assert ids[0] == "DEMO-431001-02" and ids[1] == "DEMO-431001-01"  # the open one, then nearest
    outside = await (await http.get("/api/v1/here", params={"lat": "32.93", "lon": "130.71"})).json()
    assert outside["alerts"] == [] and outside["hazard"] is None
    for bad in ({"lat": "x", "lon": "1"}, {"lat": "95", "lon": "130"}, {**HERE, "hazard": "zz"}):
        assert (await http.get("/api/v1/here", params=bad)).status == 400


async def test_text_twin(http):
    r = await http.get("/text?lang=ja")
    html = await r.text()
    assert r.status == 200 and '<html lang="ja">' in html and "<script" not in html
    for s in ("警戒レベル4 避難指示", "危険な場所から全員避難", "熊本市中央区", "中央小学校",
              "<bdi>デモ中央小学校</bdi>（開設）"):  # message text isolated (bidi)
        assert s in html, s
    assert "訓練" not in html and "菊池市" not in html  # drills stay off the public twin
    assert "白川公園" not in html  # not fit for the hazard
    en = await (await http.get("/text?lang=en")).text()
    assert "Alert level 4 — Evacuation instruction" in en and "Everyone evacuate from dangerous places" in en
    etag = r.headers["ETag"]
    assert (await http.get("/text?lang=ja", headers={"If-None-Match": etag})).status == 304


async def test_shelters_opened_by_message_but_not_in_gazetteer(http):
    from dataclasses import replace

    from lalert.model import Shelter

    flood, drill = demo_alerts()
    opened = Shelter(name="坪井臨時避難所", state="open", lat=32.8150, lon=130.7100)
    shut = Shelter(name="月出臨時避難所", state="unopened", lat=32.800, lon=130.7708)
    unplaced = Shelter(name="健軍臨時避難所", state="open")  # no point, no facility
    reported = (opened, shut, unplaced)
    http.state.set([replace(flood, alert=replace(flood.alert, shelters=reported)), drill])
    data = await (await http.get("/map/data.json?lang=ja")).json()
    extra = {s["name"]: s for s in data["shelters"] if s["id"].startswith("report:")}
    assert extra["坪井臨時避難所"]["open"] is True and extra["月出臨時避難所"]["open"] is False
    assert [r["name"] for r in data["reported_unplaced"]] == ["健軍臨時避難所"]
    ans = await (await http.get("/api/v1/here", params=HERE)).json()
    names = [s["name"] for s in ans["shelters"]]
    assert set(names[:2]) == {"デモ中央小学校", "坪井臨時避難所"}  # the two open ones first
    assert "月出臨時避難所" not in names  # not opened
    text = await (await http.get("/text?lang=ja")).text()
    assert "坪井臨時避難所" in text and "<bdi>健軍臨時避難所</bdi>（開設）" in text


# --- base map, clustering plugin, opening region, old links ----------------------------


def _page_html_tile_layer(html: str) -> str | None:
    found = re.search(r'L\.tileLayer\(\s*"([^"]+)"', html)
    return found.group(1) if found else None


async def test_no_basemap_by_default_and_the_map_says_so(http):
    for lang, words in (("ja", "背景地図なし"), ("en", "No base map")):
        html = await full_page(http, f"/?lang={lang}")
        assert words in page_config_json(html)["attribution"]
        assert _page_html_tile_layer(html) is None
        assert "cyberjapandata" not in html and "https://" not in re.sub(
            r'href="https://[^"]+"', "", html.split("<body>")[0])


async def test_raster_basemap_from_config(geo):
    settings = {"map": {"basemap": GSI_PALE_URL, "attribution": GSI_ATTRIBUTION,
                        "attribution_url": GSI_ATTRIBUTION_URL, "max_zoom": 18}}
    client = await _map_client(geo, settings=settings)
    try:
        html = await full_page(client, "/?lang=ja")
    finally:
        await client.close()
    assert _page_html_tile_layer(html) == GSI_PALE_URL
    attr = json.loads(re.search(r'L\.tileLayer\([^{]+\{.*?"attribution": ("[^\n]*"),', html,
                                re.S).group(1))
    assert attr == f'<a href="{GSI_ATTRIBUTION_URL}" rel="noopener">地理院タイル</a>'
    assert page_config_json(html)["attribution"] is None  # the tile layer carries its own
    # over a base map the boundary layer keeps its lines and drops its land fill
    assert '"land_opacity": 0' in html or '"fillOpacity": 0.0' in html


def test_basemap_config_and_its_origin_for_the_csp(tmp_path):
    cfg = load_config(None, env={"LALERT_MAP__BASEMAP": GSI_PALE_URL,
                                 "LALERT_MAP__ATTRIBUTION": GSI_ATTRIBUTION})
    assert cfg.basemap.kind == "xyz" and cfg.basemap.url == GSI_PALE_URL
    assert cfg.basemap.origin == "https://cyberjapandata.gsi.go.jp"
    assert load_config(None, env={}).basemap == Basemap()  # none: offline
    assert load_config(None, env={}).basemap.origin is None
    local = basemap_config({"map": {"basemap": "japan.pmtiles"}}, tmp_path)
    assert local.kind == "pmtiles" and local.path == tmp_path / "japan.pmtiles"
    assert local.origin is None  # served by lalert itself
    attr = "<script>alert(1)</script>"
    assert "<script>" not in attribution_html(attr, "https://example.jp/")
    for bad in ({"basemap": "https://tiles.example/{z}/{x}.png", "attribution": "x"},
                {"basemap": GSI_PALE_URL},  # no attribution
                {"basemap": "ftp://tiles.example/{z}/{x}/{y}.png", "attribution": "x"},
                {"basemap": "japan.mbtiles"},
                {"basemap": GSI_PALE_URL, "attribution": "x", "attribution_url": "javascript:x"},
                {"max_zoom": 40}):
        with pytest.raises(ValueError):
            basemap_config({"map": bad})


async def test_local_pmtiles_basemap_is_served_by_lalert(geo, tmp_path):
    archive = tmp_path / "base.pmtiles"
    assert raster_pmtiles(archive, minzoom=5, maxzoom=8) > 5
    client = await _map_client(geo, settings={"map": {"basemap": str(archive),
                                                      "attribution": "テスト背景"}})
    try:
        html = await full_page(client, "/?lang=ja")
        assert _page_html_tile_layer(html) == "/basemap/{z}/{x}/{y}.png"
        assert json.dumps("テスト背景") in html  # the attribution, in the layer's options
        t = mercantile.tile(130.7, 32.8, 7)
        r = await client.get(f"/basemap/{t.z}/{t.x}/{t.y}.png")
        body = await r.read()
        assert r.status == 200 and r.content_type == "image/png"
        assert body.startswith(b"\x89PNG") and r.headers["ETag"]
        again = await client.get(f"/basemap/{t.z}/{t.x}/{t.y}.png",
                                 headers={"If-None-Match": r.headers["ETag"]})
        assert again.status == 304
        for missing in ("/basemap/7/0/0.png", "/basemap/13/1/1.png",
                        f"/basemap/{t.z}/{t.x}/{t.y}.mvt", "/basemap/7/x/1.png"):
            assert (await client.get(missing)).status == 404, missing
    finally:
        await client.close()


async def test_missing_pmtiles_leaves_the_map_without_basemap(geo, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="lalert.outputs.publicmap"):
        client = await _map_client(geo, settings={"map": {"basemap": str(tmp_path / "no.pmtiles")}})
    try:
        html = await full_page(client, "/?lang=ja")
        assert "背景地図なし" in page_config_json(html)["attribution"]
        assert (await client.get("/basemap/7/1/1.png")).status == 404
    finally:
        await client.close()
    assert any("no.pmtiles" in r.getMessage() for r in caplog.records)


@pytest.mark.skipif(markercluster_files(NODE_MODULES) is None,
                    reason="leaflet.markercluster not installed: run `npm ci`")
async def test_markercluster_is_served_from_node_modules(http):
    js, css, version = markercluster_files(NODE_MODULES)
    html = await full_page(http, "/?lang=ja")
    assert f'src="{MARKERCLUSTER_JS}?v={version}"' in html and f'href="{MARKERCLUSTER_CSS}"' in html
    r = await http.get(MARKERCLUSTER_JS)
    assert r.status == 200 and await r.read() == js.read_bytes()
    r = await http.get(MARKERCLUSTER_CSS)
    assert r.status == 200 and await r.read() == css.read_bytes()
    for other in ("/static/vendor/leaflet.markercluster/package.json",
                  "/static/vendor/leaflet.markercluster/MarkerCluster.Default.css"):
        assert (await http.get(other)).status == 404, other


async def test_old_map_links_redirect_to_the_map(http):
    for path, where in (("/map/", "/"), ("/map", "/"), ("/map/?lang=en", "/?lang=en")):
        r = await http.get(path, allow_redirects=False)
        assert r.status == 301 and r.headers["Location"] == where, path


def test_opening_region(geo):
    from shapely.geometry import box

    # demo data: the shelters' extent, not every area's
    assert opening_region(geo) == tuple(geo.shelters.total_bounds)
    assert box(*opening_region(geo)).area < box(*geo.areas.total_bounds).area / 2
    # [geo] region, parsed by the config and shaped by the listing outputs' RegionFilter
    def configured(value):
        return opening_region(geo, RegionFilter(parse_region(value), geo).shape)

    assert configured([130.6, 32.7, 130.8, 32.9]) == (130.6, 32.7, 130.8, 32.9)
    ward = configured(["lg_code:431010"])
    assert ward is not None and box(*ward).equals_exact(
        box(*geo.area("lg_code", "431010").bounds), 1e-9)
    # a single site opens on its town, not at street level
    one = type(geo)(areas=geo.areas.iloc[:0], shelters=geo.shelters.iloc[:1],
                    hotspots=geo.hotspots)
    w, s, e, n = opening_region(one)
    assert e - w >= 0.02 - 1e-9 and n - s >= 0.02 - 1e-9


def test_csp_allows_the_basemap_origin_only_when_configured():
    from lalert.server.security import img_origins

    gsi = load_config(None, env={"LALERT_MAP__BASEMAP": GSI_PALE_URL,
                                 "LALERT_MAP__ATTRIBUTION": GSI_ATTRIBUTION})
    assert img_origins(gsi) == ["https://cyberjapandata.gsi.go.jp"]
    assert img_origins(load_config(None, env={})) == []  # offline: this origin only
    local = load_config(None, env={"LALERT_MAP__BASEMAP": "/srv/japan.pmtiles"})
    assert img_origins(local) == []  # served by lalert itself


@pytest.mark.parametrize("ask,tag,title", [
    ({"query": "ko"}, "ko", "방재 정보(텍스트판)"),
    ({"query": "zh-Hans"}, "zh-Hans", "防灾信息（文字版）"),
    ({"query": "ja-x-easy"}, "ja", "ぼうさいの じょうほう（もじだけ）"),
    ({"header": "ko-KR,ko;q=0.9,en-US;q=0.8"}, "ko", "방재 정보(텍스트판)"),
    ({"header": "fr-FR,zh-CN;q=0.9,en;q=0.8"}, "zh-Hans", "防灾信息（文字版）"),
    ({"header": "fr-FR,en;q=0.5,ja;q=0.7"}, "ja", "防災情報（テキスト版）"),
    ({"header": "de-DE"}, "ja", "防災情報（テキスト版）"),
    ({"header": "en;q=0,ko"}, "ko", "방재 정보(텍스트판)"),
])
async def test_visitors_read_the_map_and_text_in_every_catalogue_language(http, ask, tag, title):
    """Korean, Chinese and やさしい日本語 readers get the pages in their language, by
    ?lang= or by their browser's Accept-Language (q-values honoured); the page offers every
    other language by its own name; the published Japanese alert text stays as published."""
    q = f"?lang={ask['query']}" if "query" in ask else ""
    headers = {"Accept-Language": ask["header"]} if "header" in ask else {}
    text = await (await http.get("/text" + q, headers=headers)).text()
    assert f'<html lang="{tag}">' in text and f"<title>{title}</title>" in text
    others = re.findall(r'<a href="/text\?lang=([\w-]+)" lang="([\w-]+)"', text)
    assert len(others) == 4 and len({q for q, _ in others}) == 4
    names = set(re.findall(r'<a href="/text\?lang=[\w-]+" lang="[\w-]+" hreflang="[\w-]+">([^<]+)</a>', text))
    assert len(names) == 4 and names <= {"日本語", "English", "中文（简体）", "한국어", "やさしい日本語"}
    page = await full_page(http, "/" + q, headers=headers)
    assert f'<html lang="{tag}">' in page
    cfg = page_config_json(page)
    assert cfg["locale"] == tag and cfg["data"].startswith("/map/data.json?lang=")
    data = await (await http.get(cfg["data"])).json()
    assert data["alerts"]

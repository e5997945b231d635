"""Signage routes through aiohttp: ETag / 304 everywhere, changes, cancel, drills, ids, export."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from shapely.geometry import Point

from lalert.changes import AlertChange
from lalert.cli import main as cli_main
from lalert.geo.data import build_geodata
from tests.signage_support import LAT, LON, SHELTERS, FakeState, alert, started_output


def fake_geo():
    """A tiny hand-made GeoData: the four test shelters and one hotspot."""
    shelters = gpd.GeoDataFrame(
        {"id": [s.id for s in SHELTERS], "name": [s.name for s in SHELTERS],
         "kind": ["both"] * 4, "hazards": [",".join(s.hazards) for s in SHELTERS],
         "municipality_code": ["431001"] * 4, "address": [""] * 4, "capacity": [100] * 4},
        geometry=[Point(s.lon, s.lat) for s in SHELTERS], crs="EPSG:4326")
    hotspots = gpd.GeoDataFrame(
        {"id": ["H1"], "name": ["花畑広場"], "ssid": ["Kumamoto_Free"], "provider": ["熊本市"],
         "address": [""], "municipality_code": ["431001"]},
        geometry=[Point(LON, LAT)], crs="EPSG:4326")
    return build_geodata(shelters=[shelters], hotspots=[hotspots])


@pytest.fixture
async def env(tmp_path: Path):
    state = FakeState()
    out = await started_output(state, tmp_path)
    out.ctx.geo = fake_geo()
    app = web.Application()
    app.add_routes(out.routes())
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield SimpleNamespace(state=state, out=out, client=client)
    await client.close()


ROUTES = [
    "/signage/",
    "/signage/station",
    "/signage/station?lang=ko",
    "/signage/station.json",
    "/signage/byarea",
    "/signage/static/signage.css",
    "/signage/static/player.js",
    "/signage/sw.js",
    "/here/S1",
    "/here/H1?lang=en",
]


@pytest.mark.parametrize("path", ROUTES)
async def test_every_route_has_etag_cache_control_and_304(env, path):
    r = await env.client.get(path)
    assert r.status == 200, path
    etag = r.headers["ETag"]
    assert etag.startswith('"') and r.headers["Cache-Control"]
    again = await env.client.get(path, headers={"If-None-Match": etag})
    assert again.status == 304 and again.headers["ETag"] == etag
    assert await again.read() == b""


async def test_json_is_the_page_content_as_data(env):
    r = await env.client.get("/signage/station.json")
    body = await r.json()
    assert body["schema"] == "lalert.signage/1" and body["mode"] == "normal"
    assert r.headers["Content-Type"].startswith("application/json")
    page = await (await env.client.get("/signage/station")).text()
    assert f'data-etag="{r.headers["ETag"]}"'.replace('"', "&#34;", 0) in page.replace("&#34;", '"')


async def test_alert_changes_page_and_cancel_returns_it_to_normal(env):
    c = env.client
    first = await c.get("/signage/station")
    etag = first.headers["ETag"]
    env.state.set([alert()])
    changed = await c.get("/signage/station", headers={"If-None-Match": etag})
    assert changed.status == 200
    html = await changed.text()
    assert "mode-takeover" in html and "警戒レベル4" in html and "避難指示（熊本市中央区）" in html
    data = await (await c.get("/signage/station.json")).json()
    assert data["main"]["title"] == "避難指示（熊本市中央区）"
    env.state.set([])  # the lifecycle withdrew it (cancel / lifted / expired)
    back = await c.get("/signage/station", headers={"If-None-Match": changed.headers["ETag"]})
    assert back.status == 200 and "mode-normal" in await back.text()
    assert back.headers["ETag"] == etag  # the same content as before the alert


async def test_unrelated_version_bump_keeps_the_etag(env):
    e1 = (await env.client.get("/signage/station.json")).headers["ETag"]
    env.state.set([alert(footprint={"type": "Point", "coordinates": [140.0, 40.0]}, shelters=())])
    assert (await env.client.get("/signage/station.json")).headers["ETag"] == e1


async def test_drills_never_on_non_drill_screens(env):
    env.state.set([alert("d1", status="exercise", level=5, title="【訓練】緊急安全確保")])
    plain = await (await env.client.get("/signage/station")).text()
    assert "訓練" not in plain and "Exercise" not in plain and "mode-normal" in plain
    drill = await (await env.client.get("/signage/cityhall-portrait")).text()
    assert "mode-takeover" in drill and 'class="drill"' in drill and "Exercise" in drill
    listing = await (await env.client.get("/signage/")).text()
    assert "cityhall-portrait" in listing


@pytest.mark.parametrize("path", [
    "/signage/nope", "/signage/nope.json", "/signage/..%2F..%2Fetc%2Fpasswd",
    "/signage/static/..%2Fpyproject.toml", "/signage/static/missing.css",
    "/signage/static/sw.js", "/here/unknown", "/here/..%2Fx",
])
async def test_unknown_ids_and_paths_are_404(env, path):
    assert (await env.client.get(path)).status == 404


async def test_landing_page_shows_place_state_and_language(env):
    env.state.set([alert()])
    html = await (await env.client.get("/here/S1?lang=en")).text()
    assert '<html lang="en">' in html and "熊本市立花畑小学校" in html
    assert "Everyone evacuate from dangerous places" in html
    ko = await (await env.client.get("/here/H1?lang=ko")).text()
    assert "Kumamoto_Free" in ko and "위험한 장소에서 전원 피난" in ko


async def test_00000japan_only_when_the_desk_declares_it(env):
    assert "00000JAPAN" not in await (await env.client.get("/signage/station")).text()
    env.out.ctx.settings["wifi_00000japan"] = True
    assert "00000JAPAN" in await (await env.client.get("/signage/station")).text()


async def test_desk_edited_screens_replace_configured_ones(env):
    env.out.ctx.settings["signage.screens"] = [{"id": "new", "name": "新しい画面", "lat": LAT,
                                                "lon": LON}]
    assert (await env.client.get("/signage/new")).status == 200
    assert (await env.client.get("/signage/station")).status == 404


async def test_reexport_on_change_to_configured_directory(tmp_path):
    state = FakeState()
    out = await started_output(state, tmp_path, export_dir="export")
    d = tmp_path / "export"
    assert json.loads((d / "station.json").read_text())["mode"] == "normal"
    state.set([alert()])
    await out.handle(AlertChange(seq=1, kind="new", reason="issue", alert=alert()))
    await out.stop()
    assert json.loads((d / "station.json").read_text())["mode"] == "takeover"
    for name in ("index.html", "station.html", "station.en.html", "sw.js",
                 "static/player.js", "static/signage.css", "byarea.json"):
        assert (d / name).is_file(), name
    html = (d / "station.html").read_text()
    assert "url=station.en.html" in html and 'href="static/signage.css"' in html


async def test_burst_of_changes_is_exported_once_more_then_flushed(tmp_path, monkeypatch):
    """A burst re-exports once per interval, not once per change; stop() flushes the last."""
    import asyncio

    import lalert.outputs.signage.export as export_mod

    writes: list[int] = []
    real = export_mod.export_all
    monkeypatch.setattr(export_mod, "export_all", lambda files, d: writes.append(1) or real(files, d))
    state = FakeState()
    out = await started_output(state, tmp_path, export_dir="export", export_interval=3600)
    d = tmp_path / "export"
    writes.clear()  # the export at start
    for i in range(50):
        a = alert(f"a{i}", title=f"避難指示 {i}")
        state.set([a])
        await out.handle(AlertChange(seq=i + 1, kind="new", reason="issue", alert=a))
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert len(writes) == 1  # the first change at once; the other 49 wait for the interval
    assert "避難指示 49" not in (d / "station.json").read_text()
    await out.stop()
    assert len(writes) == 2
    assert "避難指示 49" in (d / "station.json").read_text()


def test_cli_export_writes_every_screen(tmp_path):
    cfg = tmp_path / "lalert.toml"
    cfg.write_text(
        '[signage]\n[[signage.screens]]\nid = "hall"\nname = "ホール"\nlat = 32.8\nlon = 130.7\n',
        encoding="utf-8")
    rc = cli_main(["signage", "export", str(tmp_path / "out"), "--config", str(cfg),
                   "--home", str(tmp_path / "home")])
    assert rc == 0
    assert json.loads((tmp_path / "out" / "hall.json").read_text())["screen"]["name"] == "ホール"
    assert (tmp_path / "out" / "hall.ja_x_easy.html").is_file()

"""Vector tiles: decode, alert polygon where expected, empty where nothing is, ETags."""

from __future__ import annotations

import mapbox_vector_tile
import mercantile
import pytest
from shapely.geometry import Point, shape

from lalert.outputs.tiles import TilesOutput
from lalert.outputs.tiles.build import TileSource
from tests.public_fakes import (
    FakeState,
    client_for,
    context,
    drill_alert,
    fake_geo,
    flood_alert,
    with_alert,
)

CHUO_CENTRE = (130.72, 32.80)


@pytest.fixture(scope="module")
def geo(corpus):
    return fake_geo(corpus)


@pytest.fixture
async def tiles(geo):
    state = FakeState([flood_alert(), drill_alert()])
    out = TilesOutput()
    await out.start(context("tiles", state, geo=geo))
    client = await client_for(out.routes())
    client.state = state
    yield client
    await client.close()


def px(lon: float, lat: float, t: mercantile.Tile) -> tuple[float, float]:
    """Tile-local MVT coordinates (y up, extent 4096) of a lon/lat."""
    b = mercantile.xy_bounds(t)
    x, y = mercantile.xy(lon, lat)
    return ((x - b.left) / (b.right - b.left) * 4096, (y - b.bottom) / (b.top - b.bottom) * 4096)


def decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": False})


def test_tile_holds_alert_polygon_where_expected(geo):
    src = TileSource.build([flood_alert()], geo)
    t = mercantile.tile(*CHUO_CENTRE, 13)
    layers = decode(src.tile(t.z, t.x, t.y))
    assert {"alerts", "municipalities", "shelters", "hotspots"} <= set(layers)
    (feat,) = layers["alerts"]["features"]
    assert feat["properties"]["level"] == 4 and feat["properties"]["area"] == "熊本市中央区"
    assert feat["geometry"]["type"] == "Polygon"
    poly = shape(feat["geometry"])
    assert poly.contains(Point(px(*CHUO_CENTRE, t)))
    assert not poly.contains(Point(px(130.685, 32.80, t)))  # west of the alert box
    shelters = {f["properties"]["id"]: f["properties"] for f in layers["shelters"]["features"]}
    assert shelters["s-open"]["state"] == "open"
    assert shelters["s-open"]["hazards"] == "flood,earthquake"


def test_tile_without_alert_and_empty_tile(geo):
    src = TileSource.build([flood_alert()], geo)
    t = mercantile.tile(130.80, 32.98, 12)  # 菊池: boundaries, no real alert
    layers = decode(src.tile(t.z, t.x, t.y))
    assert "alerts" not in layers and "municipalities" in layers
    codes = {f["properties"]["code"] for f in layers["municipalities"]["features"]}
    assert "43210" in codes  # 菊池市
    tokyo = mercantile.tile(139.76, 35.68, 12)
    assert src.tile(tokyo.z, tokyo.x, tokyo.y) == b""


async def test_routes_etag_304_and_change(tiles):
    t = mercantile.tile(*CHUO_CENTRE, 12)
    url = f"/tiles/{t.z}/{t.x}/{t.y}.mvt"
    r = await tiles.get(url)
    assert r.status == 200 and r.content_type == "application/vnd.mapbox-vector-tile"
    etag = r.headers["ETag"]
    assert "alerts" in decode(await r.read())
    assert (await tiles.get(url, headers={"If-None-Match": etag})).status == 304
    # an unrelated change (new version, same content) still answers 304
    tiles.state.set(list(tiles.state.alerts))
    assert (await tiles.get(url, headers={"If-None-Match": etag})).status == 304
    tiles.state.set([with_alert(flood_alert(), level=5)])
    r = await tiles.get(url, headers={"If-None-Match": etag})
    assert r.status == 200
    assert decode(await r.read())["alerts"]["features"][0]["properties"]["level"] == 5
    assert (await tiles.get("/tiles/30/0/0.mvt")).status == 404
    assert (await tiles.get("/tiles/5/99/0.mvt")).status == 404


async def test_drills_stay_out_of_public_tiles(tiles):
    t = mercantile.tile(130.80, 32.98, 12)
    layers = decode(await (await tiles.get(f"/tiles/{t.z}/{t.x}/{t.y}.mvt")).read())
    assert "alerts" not in layers


async def test_tilejson(tiles):
    doc = await (await tiles.get("/tiles.json")).json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://127.0.0.1:8080/tiles/{z}/{x}/{y}.mvt"]
    assert [v["id"] for v in doc["vector_layers"]] == [
        "municipalities", "alerts", "shelters", "hotspots"]
    w, s, e, n = doc["bounds"]
    assert 129 < w < 131 and 32 < s < 33 and 130 < e < 132 and 32.5 < n < 34


def test_export_dir_and_pmtiles(geo, tmp_path):
    from pmtiles.reader import MmapSource, Reader

    from lalert.outputs.tiles.export import export_dir, export_pmtiles

    src = TileSource.build([flood_alert()], geo)
    n = export_dir(src, tmp_path / "d", minzoom=6, maxzoom=10)
    t = mercantile.tile(*CHUO_CENTRE, 10)
    f = tmp_path / "d" / "10" / str(t.x) / f"{t.y}.mvt"
    assert n > 5 and f.read_bytes() == src.tile(10, t.x, t.y)
    assert (tmp_path / "d" / "tiles.json").exists()

    assert export_pmtiles(src, tmp_path / "k.pmtiles", minzoom=6, maxzoom=10) == n
    with open(tmp_path / "k.pmtiles", "rb") as fh:
        reader = Reader(MmapSource(fh))
        assert reader.header()["max_zoom"] == 10
        assert "alerts" in decode(reader.get(10, t.x, t.y))
        assert reader.metadata()["vector_layers"][1]["id"] == "alerts"

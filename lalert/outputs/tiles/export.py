"""Static exports of a tile source: one PMTiles archive, or z/x/y.mvt files for nginx / a CDN."""

from __future__ import annotations

import json
from pathlib import Path

from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from lalert.outputs.tiles.build import TileSource, tilejson


def _cut(source: TileSource, minzoom: int, maxzoom: int):
    for t in source.tiles_covering(minzoom, maxzoom):
        data = source.tile(t.z, t.x, t.y)
        if data:
            yield t, data


def export_dir(source: TileSource, out: Path, *, minzoom: int, maxzoom: int,
               base_url: str = "") -> int:
    """Write DIR/z/x/y.mvt (empty tiles skipped) and DIR/tiles.json; return tiles written."""
    n = 0
    for t, data in _cut(source, minzoom, maxzoom):
        path = out / str(t.z) / str(t.x) / f"{t.y}.mvt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        n += 1
    out.mkdir(parents=True, exist_ok=True)
    doc = tilejson(source, tiles_url=base_url.rstrip("/") + "/{z}/{x}/{y}.mvt",
                   minzoom=minzoom, maxzoom=maxzoom)
    (out / "tiles.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), "utf-8")
    return n


def export_pmtiles(source: TileSource, path: Path, *, minzoom: int, maxzoom: int) -> int:
    """Write one PMTiles v3 archive (uncompressed MVT, clustered); return tiles written."""
    tiles = sorted(((zxy_to_tileid(t.z, t.x, t.y), data)
                    for t, data in _cut(source, minzoom, maxzoom)), key=lambda p: p[0])
    if not tiles:
        raise ValueError("nothing to export: the source has no features in range")
    w, s, e, n = source.bounds() or (122.0, 20.0, 154.0, 46.0)
    doc = tilejson(source, tiles_url="", minzoom=minzoom, maxzoom=maxzoom)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        writer = Writer(f)
        for tileid, data in tiles:
            writer.write_tile(tileid, data)
        header = {
            "tile_type": TileType.MVT, "tile_compression": Compression.NONE,
            "min_lon_e7": int(w * 1e7), "min_lat_e7": int(s * 1e7),
            "max_lon_e7": int(e * 1e7), "max_lat_e7": int(n * 1e7),
            "center_zoom": min(maxzoom, 9),
            "center_lon_e7": int((w + e) / 2 * 1e7), "center_lat_e7": int((s + n) / 2 * 1e7),
        }
        metadata = {"name": doc["name"], "description": doc["description"],
                    "attribution": doc["attribution"], "vector_layers": doc["vector_layers"]}
        writer.finalize(header, metadata)
    return len(tiles)

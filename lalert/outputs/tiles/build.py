"""Mapbox Vector Tiles from the active alerts and the geo data (no HTTP, no clock).

A ``TileSource`` is built once per state version: every feature is projected to Web
Mercator once and indexed in an STRtree, so one tile is a tree query, a vectorised clip
and simplify, and ``mapbox_vector_tile.encode``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import mercantile
import numpy as np
import shapely
from mapbox_vector_tile import encode
from pyproj import Transformer

from lalert.model import EnrichedAlert
from lalert.outputs.public import by_level, shaped_areas, site_statuses

LAYERS = ("municipalities", "alerts", "shelters", "hotspots")
EXTENT = 4096
BUFFER_PX = 64
MUNICIPALITY_SCHEMES = ("n03", "lg_code")
_TO_3857 = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True)

LAYER_FIELDS: dict[str, dict[str, str]] = {
    "municipalities": {"code": "String", "scheme": "String", "name": "String"},
    "alerts": {"id": "String", "kind": "String", "level": "Number", "severity": "String",
               "title": "String", "headline": "String", "area": "String", "issued_at": "String"},
    "shelters": {"id": "String", "name": "String", "kind": "String", "hazards": "String",
                 "state": "String", "capacity": "Number", "address": "String"},
    "hotspots": {"id": "String", "name": "String", "ssid": "String", "provider": "String"},
}


@dataclass
class Layer:
    geoms: np.ndarray  # shapely geometries in EPSG:3857
    props: list[dict[str, Any]]
    tree: shapely.STRtree

    @classmethod
    def of(cls, geoms_4326: Sequence[Any], props: list[dict[str, Any]]) -> Layer:
        arr = np.asarray(list(geoms_4326), dtype=object)
        if len(arr):
            arr = shapely.transform(arr, lambda xy: np.column_stack(
                _TO_3857.transform(xy[:, 0], xy[:, 1])))
        return cls(arr, props, shapely.STRtree(arr))


def _clean(props: dict[str, Any]) -> dict[str, Any]:
    """MVT values are str / number / bool; None is left out rather than stringified."""
    out: dict[str, Any] = {}
    for k, v in props.items():
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        if isinstance(v, (list, tuple)):
            v = ",".join(map(str, v))
        elif isinstance(v, np.generic):
            v = v.item()
        out[k] = v
    return out


def municipalities(geo: Any, schemes: Sequence[str] = MUNICIPALITY_SCHEMES):
    """The municipal boundaries in the gazetteer: the first listed scheme present."""
    areas = getattr(geo, "areas", None)
    if areas is None or len(areas) == 0:
        return None
    for scheme in schemes:
        sel = areas[areas["scheme"] == scheme]
        if len(sel):
            return sel
    return None


def alert_features(alerts: Iterable[EnrichedAlert]) -> tuple[list[Any], list[dict[str, Any]]]:
    """One feature per area with a shape (per-area names for the map), lowest level first."""
    geoms: list[Any] = []
    props: list[dict[str, Any]] = []
    for ea in by_level(alerts):
        a = ea.alert
        base = {"id": a.id, "kind": a.kind, "level": a.level, "severity": a.severity,
                "title": a.title, "headline": a.headline, "issued_at": a.issued_at}
        for geom, area in shaped_areas(ea):
            geoms.append(geom)
            props.append(_clean({**base, "area": area and (area.name or area.code)}))
    return geoms, props


class TileSource:
    """All layers of one state version, ready to cut tiles from."""

    def __init__(self, layers: dict[str, Layer]):
        self.layers = layers

    @classmethod
    def build(cls, alerts: Sequence[EnrichedAlert], geo: Any = None,
              municipality_schemes: Sequence[str] = MUNICIPALITY_SCHEMES) -> TileSource:
        layers: dict[str, Layer] = {}
        muni = municipalities(geo, municipality_schemes) if geo is not None else None
        if muni is not None:
            layers["municipalities"] = Layer.of(
                muni.geometry.values,
                [_clean({"code": r.code, "scheme": r.scheme, "name": r.name})
                 for r in muni[["code", "scheme", "name"]].itertuples()])
        layers["alerts"] = Layer.of(*alert_features(alerts))
        shelters = getattr(geo, "shelters", None)
        if shelters is not None and len(shelters):
            states = site_statuses(alerts)
            cols = [c for c in ("id", "name", "kind", "hazards", "capacity", "address")
                    if c in shelters.columns]
            recs = shelters[cols].to_dict("records")
            layers["shelters"] = Layer.of(
                shelters.geometry.values,
                [_clean({**r, "state": states.get(str(r.get("id")), "unknown")}) for r in recs])
        hotspots = getattr(geo, "hotspots", None)
        if hotspots is not None and len(hotspots):
            cols = [c for c in ("id", "name", "ssid", "provider") if c in hotspots.columns]
            layers["hotspots"] = Layer.of(hotspots.geometry.values,
                                          [_clean(r) for r in hotspots[cols].to_dict("records")])
        return cls(layers)

    def bounds(self) -> tuple[float, float, float, float] | None:
        """Lon/lat bounds of everything, for TileJSON and exports."""
        boxes = [shapely.total_bounds(layer.geoms) for layer in self.layers.values()
                 if len(layer.geoms)]
        if not boxes:
            return None
        b = np.array(boxes)
        w, s = mercantile.lnglat(b[:, 0].min(), b[:, 1].min())
        e, n = mercantile.lnglat(b[:, 2].max(), b[:, 3].max())
        return (w, s, e, n)

    def tile(self, z: int, x: int, y: int) -> bytes:
        """The MVT bytes of one tile; empty bytes when nothing falls in it."""
        xb = mercantile.xy_bounds(x, y, z)
        pad = (xb.right - xb.left) * BUFFER_PX / EXTENT
        clip = (xb.left - pad, xb.bottom - pad, xb.right + pad, xb.top + pad)
        tol = (xb.right - xb.left) / EXTENT  # one tile pixel
        out = []
        for name in LAYERS:
            layer = self.layers.get(name)
            if layer is None or not len(layer.geoms):
                continue
            idx = layer.tree.query(shapely.box(*clip))
            if not len(idx):
                continue
            idx.sort()
            parts = shapely.clip_by_rect(layer.geoms[idx], *clip)
            parts = shapely.simplify(parts, tol, preserve_topology=True)
            feats = [{"geometry": g, "properties": layer.props[i]}
                     for i, g in zip(idx, parts, strict=True) if not g.is_empty]
            if feats:
                out.append({"name": name, "features": feats})
        if not out:
            return b""
        return encode(out, default_options={
            "quantize_bounds": (xb.left, xb.bottom, xb.right, xb.top),
            "extents": EXTENT, "y_coord_down": False})

    def tiles_covering(self, minzoom: int, maxzoom: int,
                       bounds: tuple[float, float, float, float] | None = None
                       ) -> Iterator[mercantile.Tile]:
        b = bounds or self.bounds()
        if b is None:
            return iter(())
        return mercantile.tiles(*b, zooms=list(range(minzoom, maxzoom + 1)))


def tilejson(source: TileSource, *, tiles_url: str, minzoom: int, maxzoom: int,
             name: str = "lalert") -> dict[str, Any]:
    """TileJSON 3.0.0 describing the layers this source serves."""
    b = source.bounds() or (122.0, 20.0, 154.0, 46.0)
    return {
        "tilejson": "3.0.0",
        "name": name,
        "description": "lalert: alerts in force, shelters, Wi-Fi hotspots, municipal boundaries",
        "attribution": "国土数値情報（行政区域）, 国土地理院 指定緊急避難場所・指定避難所, 気象庁",
        "tiles": [tiles_url],
        "minzoom": minzoom,
        "maxzoom": maxzoom,
        "bounds": [round(v, 6) for v in b],
        "center": [round((b[0] + b[2]) / 2, 6), round((b[1] + b[3]) / 2, 6), min(maxzoom, 9)],
        "vector_layers": [
            {"id": name_, "fields": LAYER_FIELDS[name_], "minzoom": minzoom, "maxzoom": maxzoom}
            for name_ in LAYERS
        ],
    }

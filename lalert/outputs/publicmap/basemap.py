"""The public map's base map (``[map] basemap``): what the page draws, and the tiles of a
local ``.pmtiles`` archive that lalert serves itself.

Three cases, decided once at start (``lalert.config.Basemap``):

- none (the default, and the demo and tests): no outside tiles; land and municipal
  boundaries from lalert's own vector tiles, and the attribution says there is no base map;
- a raster tile URL template (GSI's 淡色地図 is the usual choice for Japan): the browser
  fetches the images from that origin (``Basemap.origin``, for the page's CSP ``img-src``);
- a local ``.pmtiles`` archive: raster (PNG / JPEG / WebP) tiles are served as images under
  ``/basemap/{z}/{x}/{y}``; vector (MVT) archives, such as a Protomaps basemap extract, are
  drawn by protomaps-leaflet with its built-in light style.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import mmap
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from markupsafe import escape
from pmtiles.reader import Reader
from pmtiles.tile import Compression, TileType

from lalert.config import Basemap
from lalert.outputs import phrases

log = logging.getLogger(__name__)
BASEMAP_PREFIX = "/basemap"
TILE_TYPES = {TileType.PNG: ("image/png", "png"), TileType.JPEG: ("image/jpeg", "jpg"),
              TileType.WEBP: ("image/webp", "webp"),
              TileType.MVT: ("application/vnd.mapbox-vector-tile", "mvt")}
TILE_ROUTE = BASEMAP_PREFIX + r"/{z:\d{1,2}}/{x:\d{1,7}}/{y:\d{1,7}}.{ext:png|jpg|webp|mvt}"
_CACHE_TILES = 1024  # tiles kept in memory: a town's worth of a phone's zoom levels


def attribution_html(attribution: str, url: str = "") -> str:
    """The attribution as safe HTML (Leaflet writes attributions as HTML): text escaped,
    linked only to an http(s) URL (``basemap_config`` checks it)."""
    text = escape(attribution)
    if url:
        return f'<a href="{escape(url)}" rel="noopener">{text}</a>'
    return str(text)


class PMTilesSource:
    """Tiles of one local PMTiles v3 archive, memory-mapped, with a small LRU of tiles."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = open(path, "rb")  # noqa: SIM115 - lives as long as the source
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
        self._reader = Reader(lambda offset, length: self._map[offset:offset + length])
        h = self._reader.header()
        if h["tile_type"] not in TILE_TYPES:
            raise ValueError(f"{path}: tile type {h['tile_type']!r} cannot be drawn")
        self.tile_type: TileType = h["tile_type"]
        self.content_type, self.ext = TILE_TYPES[self.tile_type]
        self.gzip = h["tile_compression"] == Compression.GZIP
        if h["tile_compression"] not in (Compression.NONE, Compression.GZIP):
            raise ValueError(f"{path}: tile compression {h['tile_compression']!r} is not served")
        self.min_zoom, self.max_zoom = int(h["min_zoom"]), int(h["max_zoom"])
        self.bounds = (h["min_lon_e7"] / 1e7, h["min_lat_e7"] / 1e7,
                       h["max_lon_e7"] / 1e7, h["max_lat_e7"] / 1e7)
        self._tiles: OrderedDict[tuple[int, int, int], tuple[bytes, str] | None] = OrderedDict()

    @property
    def raster(self) -> bool:
        return self.tile_type != TileType.MVT

    def tile(self, z: int, x: int, y: int) -> tuple[bytes, str] | None:
        """(body, strong ETag) of a tile, or None where the archive has none."""
        key = (z, x, y)
        if key in self._tiles:
            self._tiles.move_to_end(key)
            return self._tiles[key]
        data = None
        if self.min_zoom <= z <= self.max_zoom and 0 <= x < 2 ** z and 0 <= y < 2 ** z:
            raw = self._reader.get(z, x, y)
            if raw:
                body = bytes(raw)
                data = (body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')
        self._tiles[key] = data
        if len(self._tiles) > _CACHE_TILES:
            self._tiles.popitem(last=False)
        return data

    def close(self) -> None:
        self._map.close()
        self._file.close()


@dataclass
class BasemapView:
    """What the page needs to draw the base map, and the PMTiles source behind it."""

    config: Basemap
    source: PMTilesSource | None = None

    @classmethod
    def open(cls, config: Basemap) -> BasemapView:
        """Open a PMTiles archive; a missing or unreadable one leaves the map without a base
        map (and says so once) rather than stopping the daemon on the worst day."""
        if config.kind != "pmtiles" or config.path is None:
            return cls(config)
        try:
            return cls(config, PMTilesSource(config.path))
        except (OSError, ValueError) as exc:
            log.warning("map: base map %s cannot be served, the map has none: %s",
                        config.path, exc)
            return cls(Basemap(attribution=config.attribution))

    def page_options(self, lang: str) -> dict[str, Any]:
        """``kind`` raster | vector | none, ``url``, ``attribution`` (safe HTML), zooms."""
        c = self.config
        if c.kind == "xyz":
            return {"kind": "raster", "url": c.url, "max_native_zoom": c.max_zoom,
                    "attribution": attribution_html(c.attribution, c.attribution_url)}
        if self.source is not None:
            s = self.source
            return {"kind": "raster" if s.raster else "vector",
                    "url": f"{BASEMAP_PREFIX}/{{z}}/{{x}}/{{y}}.{s.ext}",
                    "min_native_zoom": s.min_zoom, "max_native_zoom": min(s.max_zoom, c.max_zoom),
                    "attribution": attribution_html(c.attribution or s.path.stem,
                                                    c.attribution_url)}
        return {"kind": "none",
                "attribution": attribution_html(phrases.ui(lang)["no_basemap"])}

    async def tile_response(self, request: web.Request) -> web.Response:
        """``/basemap/{z}/{x}/{y}.{ext}``: a tile of the local archive (numbers only from
        the request: nothing joins a path), 404 where there is none."""
        m = request.match_info
        found = None
        if self.source is not None and m["ext"] == self.source.ext:
            found = self.source.tile(int(m["z"]), int(m["x"]), int(m["y"]))
        if found is None or self.source is None:
            raise web.HTTPNotFound(headers={"Cache-Control": "public, max-age=3600"})
        body, etag = found
        headers = {"ETag": etag, "Cache-Control": "public, max-age=86400"}
        if self.source.gzip:
            headers["Vary"] = "Accept-Encoding"
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        if self.source.gzip:
            if "gzip" in request.headers.get("Accept-Encoding", ""):
                headers["Content-Encoding"] = "gzip"
            else:
                body = gzip.decompress(body)
        return web.Response(body=body, content_type=self.source.content_type, headers=headers)

    def close(self) -> None:
        if self.source is not None:
            self.source.close()

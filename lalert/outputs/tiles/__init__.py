"""Vector tiles of the alerts in force, shelters, hotspots and municipal boundaries.

The tile source is rebuilt lazily once per state version; tiles are cut on first request
and kept in an LRU keyed by (version, z, x, y), so a crowd asking for the same tiles costs
one encode each. Bodies carry a content ETag, so a tile that did not change across
versions still answers 304.

With a PostGIS store (``store = "postgresql://…"``) tiles are cut by the database
(``ST_AsMVT``, ``lalert.store.pgtiles``) instead: any tiles worker serves them without
holding a projected copy of every layer; ``[outputs.tiles] source = "memory"`` keeps
the in-process path.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from aiohttp import web

from lalert.changes import AlertChange
from lalert.httpcache import Rendered, _matches, respond
from lalert.outputs.base import BaseOutput, OutputContext
from lalert.outputs.tiles.build import MUNICIPALITY_SCHEMES, TileSource, tilejson

MVT_TYPE = "application/vnd.mapbox-vector-tile"
CORS = {"Access-Control-Allow-Origin": "*"}


class _Bounds:
    """What ``tilejson`` reads of a source, when the database cuts the tiles."""

    def __init__(self, b: tuple[float, float, float, float] | None) -> None:
        self._b = b

    def bounds(self) -> tuple[float, float, float, float] | None:
        return self._b


class TilesOutput(BaseOutput):
    name = "tiles"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._source: tuple[int, TileSource] | None = None
        self._tiles: OrderedDict[tuple[int, int, int, int], Rendered] = OrderedDict()
        self._tilejson: tuple[int, Rendered] | None = None
        self._headers: dict[str, dict[str, str]] = {}
        self._db: Any = None  # a PostGIS connection when the store is one

    async def start(self, ctx: OutputContext) -> None:
        await super().start(ctx)
        url = str(ctx.settings.get("store") or "")
        if self._cfg("source", "auto") != "memory" and url.split(":", 1)[0] in (
                "postgresql", "postgres", "postgis"):
            from lalert.store.postgis import connect

            self._db = connect(url)

    async def stop(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        await super().stop()

    def _municipality_schemes(self) -> tuple[str, ...]:
        return tuple(self._cfg("municipality_schemes", MUNICIPALITY_SCHEMES))

    @property
    def minzoom(self) -> int:
        return int(self._cfg("minzoom", 4))

    @property
    def maxzoom(self) -> int:
        return int(self._cfg("maxzoom", 14))

    def _cfg(self, key: str, default):
        assert self.ctx is not None
        return self.ctx.config.get(key, default)

    async def handle(self, change: AlertChange) -> None:
        """Nothing to push: the next request after a version change rebuilds the source."""
        return None

    def source(self) -> tuple[int, TileSource]:
        """The tile source of the current state version (built once per version)."""
        assert self.ctx is not None
        version = self.ctx.state.version
        current = self._source
        if current is None or current[0] != version:
            with self._lock:
                current = self._source
                if current is None or current[0] != version:
                    src = TileSource.build(self.ctx.state.active(), self.ctx.geo,
                                           self._municipality_schemes())
                    current = self._source = (version, src)
        return current

    def _version(self) -> int:
        assert self.ctx is not None
        return self.ctx.state.version if self._db is not None else self.source()[0]

    def _cut(self, z: int, x: int, y: int) -> bytes:
        if self._db is not None:
            from lalert.store.pgtiles import mvt

            with self._lock:
                return mvt(self._db, z, x, y, self._municipality_schemes())
        return self.source()[1].tile(z, x, y)

    def tile(self, z: int, x: int, y: int) -> Rendered:
        version = self._version()
        key = (version, z, x, y)
        hit = self._tiles.get(key)
        if hit is not None:
            self._tiles.move_to_end(key)
            return hit
        hit = Rendered.of(self._cut(z, x, y), MVT_TYPE)
        self._tiles[key] = hit
        limit = int(self._cfg("cache_tiles", 20000))
        while len(self._tiles) > limit:
            self._tiles.popitem(last=False)
        return hit

    def tilejson_doc(self) -> Rendered:
        assert self.ctx is not None
        version = self._version()
        if self._tilejson is None or self._tilejson[0] != version:
            url = self.ctx.base_url.rstrip("/") + "/tiles/{z}/{x}/{y}.mvt"
            if self._db is not None:
                from lalert.store.pgtiles import bounds

                with self._lock:
                    src: Any = _Bounds(bounds(self._db))
            else:
                src = self.source()[1]
            doc = tilejson(src, tiles_url=url, minzoom=self.minzoom, maxzoom=self.maxzoom)
            self._tilejson = (version, Rendered.of(json.dumps(doc, ensure_ascii=False),
                                                   "application/json; charset=utf-8"))
        return self._tilejson[1]

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            # bounded digits: int() of a 5,000-digit path segment raised (500 per request)
            web.get(r"/tiles/{z:\d{1,2}}/{x:\d{1,10}}/{y:\d{1,10}}.mvt", self._tile),
            web.get("/tiles.json", self._tilejson_route),
        ]

    async def _tile(self, request: web.Request) -> web.Response:
        # The hot path of a crowd: headers are built once per tile version and reused,
        # and a matching If-None-Match is answered before anything else is touched.
        m = request.match_info
        z, x, y = int(m["z"]), int(m["x"]), int(m["y"])
        if not (self.minzoom <= z <= self.maxzoom) or not (0 <= x < 2**z and 0 <= y < 2**z):
            raise web.HTTPNotFound(text="tile out of range\n")
        r = self.tile(z, x, y)
        headers = self._headers.get(r.etag)
        if headers is None:
            if len(self._headers) > 4 * int(self._cfg("cache_tiles", 20000)):
                self._headers.clear()
            headers = self._headers[r.etag] = {
                "ETag": r.etag, "Cache-Control": "public, max-age=10",
                "Vary": "Accept-Encoding", **CORS}
        inm = request.headers.get("If-None-Match")
        if inm is not None and (inm == r.etag or _matches(inm, r.etag)):
            return web.Response(status=304, headers=headers)
        return web.Response(body=r.body, headers=headers, content_type=MVT_TYPE)

    async def _tilejson_route(self, request: web.Request) -> web.Response:
        resp = respond(request, self.tilejson_doc())
        resp.headers.update(CORS)
        return resp

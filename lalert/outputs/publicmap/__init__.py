"""The resident map ``/`` (folium + Leaflet, served without CDNs) and its text twin ``/text``.

Pages and data are rendered once per state version and language and served from memory
with ETags; "where am I" (``/api/v1/here``) answers from an index built once per version.

Municipal boundaries are drawn from the tiles output's ``/tiles/{z}/{x}/{y}.mvt`` by the
npm package protomaps-leaflet; when that package or the tiles output is missing, the page
embeds them as GeoJSON instead. Shelter markers are clustered by leaflet.markercluster.
Both are built into the wheel from ``node_modules`` (``npm-files.json``, ``setup.py``) and
served from the package; a checkout serves its ``node_modules`` (``resources.node_modules``).
The base map is ``[map] basemap`` (``basemap.py``): none by default, and the map says so.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import xstatic.pkg.leaflet as xleaflet
from aiohttp import web

from lalert import resources
from lalert.changes import AlertChange
from lalert.config import basemap_config
from lalert.httpcache import Rendered, respond
from lalert.outputs import phrases
from lalert.outputs.base import BaseOutput, OutputContext
from lalert.outputs.listing import RegionFilter, wants_all
from lalert.outputs.publicmap.basemap import TILE_ROUTE, BasemapView
from lalert.outputs.publicmap.data import Here, map_data, opening_region
from lalert.outputs.publicmap.page import (
    ASSET_PREFIX,
    LEAFLET_PREFIX,
    MARKERCLUSTER_CSS,
    MARKERCLUSTER_JS,
    PROTOMAPS_JS,
    SCRIPT_PREFIX,
    TILES_URL,
    render_page,
    split_scripts,
)
from lalert.outputs.publicmap.text import render_text

log = logging.getLogger(__name__)
STATIC_DIR = resources.path("outputs", "publicmap", "static")
# the npm modules built into the package (a checkout: its node_modules); configurable
NODE_MODULES = resources.node_modules()
HTML = "text/html; charset=utf-8"
JSON = "application/json; charset=utf-8"


def protomaps_bundle(node_modules: Path) -> tuple[Path, str] | None:
    """protomaps-leaflet's browser bundle (an IIFE defining ``protomapsL``) and its version."""
    pkg = node_modules / "protomaps-leaflet"
    bundle = pkg / "dist" / "protomaps-leaflet.js"
    if not bundle.is_file():
        return None
    try:
        version = str(json.loads((pkg / "package.json").read_text("utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        version = str(int(bundle.stat().st_mtime))
    return bundle, version


def markercluster_files(node_modules: Path) -> tuple[Path, Path, str] | None:
    """leaflet.markercluster's script and core stylesheet, and its version."""
    pkg = node_modules / "leaflet.markercluster"
    js, css = pkg / "dist" / "leaflet.markercluster.js", pkg / "dist" / "MarkerCluster.css"
    if not (js.is_file() and css.is_file()):
        return None
    try:
        version = str(json.loads((pkg / "package.json").read_text("utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        version = str(int(js.stat().st_mtime))
    return js, css, version


def request_lang(request: web.Request) -> str:
    """?lang= wins; otherwise the most wanted Accept-Language lalert has; Japanese by
    default. Every catalogue language (``phrases.PAGE_LANGS``) can be asked for."""
    q = phrases.lang_of(request.query.get("lang"))
    if q is not None:
        return q
    return phrases.accept_lang(request.headers.get("Accept-Language"))


class MapOutput(BaseOutput):
    name = "map"

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[tuple[Any, ...], Rendered] = {}
        self._here: tuple[int, Here] | None = None
        self._protomaps: Path | None = None
        self._boundary_tiles: dict[str, Any] | None = None
        self.region: RegionFilter | None = None
        self._scripts: dict[str, Rendered] = {}  # folium's page scripts, by digest name
        self._cluster: tuple[Path, Path, str] | None = None
        self.basemap = BasemapView.open(basemap_config({}))

    async def start(self, ctx: OutputContext) -> None:
        await super().start(ctx)
        self._boundary_tiles = self._tile_boundaries()
        self._cluster = markercluster_files(Path(self._cfg("node_modules", NODE_MODULES)))
        if self._cluster is None:
            log.warning("map: shelter markers are not clustered: leaflet.markercluster is not "
                        "installed (`npm ci --omit=dev` in the checkout, then build the wheel)")
        self.basemap = BasemapView.open(basemap_config(ctx.settings, ctx.home))
        self.region = RegionFilter.from_settings(ctx.settings, ctx.geo)

    async def stop(self) -> None:
        self.basemap.close()

    def _tile_boundaries(self) -> dict[str, Any] | None:
        """Options of the tiled boundary layer, or None (embedded GeoJSON) with one warning."""
        assert self.ctx is not None
        if self._cfg("boundaries", "tiles") != "tiles":
            return None
        outputs = self.ctx.settings.get("outputs", {})
        tiles_cfg = outputs.get("tiles", {}) if isinstance(outputs, dict) else {}
        enabled = outputs.get("enabled") if isinstance(outputs, dict) else None
        node_modules = Path(self._cfg("node_modules", NODE_MODULES))
        found = protomaps_bundle(node_modules)
        if found is None:
            reason = (f"protomaps-leaflet is not installed under {node_modules} "
                      "(`npm ci --omit=dev` in the checkout, then build the wheel)")
        elif (enabled is not None and "tiles" not in enabled
              and self._cfg("tiles_url", None) is None):
            reason = "the tiles output is not enabled"
        else:
            self._protomaps, version = found
            return {
                "url": str(self._cfg("tiles_url", TILES_URL)),
                "minzoom": int(self._cfg("tiles_minzoom", tiles_cfg.get("minzoom", 4))),
                "maxzoom": int(self._cfg("tiles_maxzoom", tiles_cfg.get("maxzoom", 14))),
                "attribution": str(self._cfg("attribution", "")),
                "script": f"{PROTOMAPS_JS}?v={version}",
            }
        log.warning("map: municipal boundaries are embedded as GeoJSON: %s", reason)
        return None

    async def handle(self, change: AlertChange) -> None:
        """Nothing to push: readers poll ``/map/data.json``, which follows the version."""
        return None

    def _cfg(self, key: str, default: Any) -> Any:
        assert self.ctx is not None
        return self.ctx.config.get(key, default)

    def _bounds(self) -> tuple[float, float, float, float] | None:
        """``[outputs.map] bounds``, else the deployment's region (``opening_region``)."""
        assert self.ctx is not None
        b = self._cfg("bounds", None)
        if b:
            return tuple(b)  # type: ignore[return-value]
        # a configured [geo] region's shape; without one RegionFilter's default (all the
        # geodata, often the whole country) is no place to open on: opening_region decides
        rf = self.region
        shape = rf.shape if rf is not None and rf.region is not None else None
        return opening_region(self.ctx.geo, shape)

    def _cached(self, key: tuple[Any, ...], build) -> Rendered:
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) > 64:  # drop renders of older versions
                self._cache = {k: v for k, v in self._cache.items() if k[0] == "page"}
            hit = self._cache[key] = build()
        return hit

    def _updated(self) -> str:
        return datetime.now(UTC).astimezone().replace(microsecond=0).isoformat()

    # --- renders ----------------------------------------------------------------------

    def page(self, lang: str) -> Rendered:
        assert self.ctx is not None
        return self._cached(("page", lang), lambda: self._external_scripts(render_page(
            lang=lang, geo=self.ctx.geo, bounds=self._bounds(),
            poll_seconds=int(self._cfg("poll_seconds", 30)),
            municipality_schemes=tuple(self._cfg("municipality_schemes", ("n03", "lg_code"))),
            boundary_tiles=self._boundary_tiles, basemap=self.basemap.page_options(lang),
            markercluster=(f"{MARKERCLUSTER_JS}?v={self._cluster[2]}" if self._cluster
                           else None))))

    def _external_scripts(self, html: str) -> Rendered:
        """The page with folium's inline scripts served as files (CSP: no inline script)."""
        html, scripts = split_scripts(html)
        for name, js in scripts.items():
            self._scripts[name] = Rendered.of(js, "text/javascript; charset=utf-8")
        return Rendered.of(html, HTML)

    def data(self, lang: str, everything: bool = False) -> Rendered:
        assert self.ctx is not None
        state = self.ctx.state
        version = state.version
        return self._cached((version, "data", lang, everything), lambda: Rendered.of(json.dumps(
            map_data(state.active(), self.ctx.geo, lang=lang, version=version,
                     updated=self._updated(), region=self.region, everything=everything),
            ensure_ascii=False, separators=(",", ":")), JSON))

    def text(self, lang: str, everything: bool = False) -> Rendered:
        assert self.ctx is not None
        state = self.ctx.state
        return self._cached((state.version, "text", lang, everything), lambda: Rendered.of(
            render_text(state.active(), self.ctx.geo, lang=lang, updated=self._updated(),
                        region=self.region, everything=everything), HTML))

    def here_index(self) -> Here:
        assert self.ctx is not None
        version = self.ctx.state.version
        if self._here is None or self._here[0] != version:
            self._here = (version, Here.build(self.ctx.state.active(), self.ctx.geo))
        return self._here[1]

    # --- routes -----------------------------------------------------------------------

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/", self._page),
            web.get("/text", self._text),
            web.get("/map/data.json", self._data),
            web.get("/api/v1/here", self._here_route),
            # one known file from node_modules: nothing from the request joins a path
            web.get(PROTOMAPS_JS, self._protomaps_js),
            web.get(SCRIPT_PREFIX + "/{name}", self._page_script),
            web.get(MARKERCLUSTER_JS, self._markercluster(0)),
            web.get(MARKERCLUSTER_CSS, self._markercluster(1)),
            web.static(LEAFLET_PREFIX, xleaflet.BASE_DIR),
            web.static(ASSET_PREFIX, STATIC_DIR),
            # links printed before the map moved to "/" (signage QR codes said /map/#z/…);
            # a redirect keeps the #fragment
            web.get("/map", self._to_map),
            web.get("/map/", self._to_map),
            # mounted before start: the handler answers 404 until a .pmtiles base map opens
            web.get(TILE_ROUTE, self._basemap_tile),
        ]

    async def _basemap_tile(self, request: web.Request) -> web.StreamResponse:
        return await self.basemap.tile_response(request)

    async def _to_map(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently("/" + (f"?{request.query_string}"
                                              if request.query_string else ""))

    def _markercluster(self, which: int):
        async def serve(request: web.Request) -> web.StreamResponse:
            if self._cluster is None:
                raise web.HTTPNotFound(text="leaflet.markercluster is not installed\n")
            # asked for as ?v=<version> by the page, so a long max-age is never stale
            return web.FileResponse(self._cluster[which],
                                    headers={"Cache-Control": "public, max-age=86400"})
        return serve

    async def _page(self, request: web.Request) -> web.Response:
        resp = respond(request, self.page(request_lang(request)), cache_control="public, max-age=60")
        resp.headers["Vary"] = "Accept-Encoding, Accept-Language"
        return resp

    async def _page_script(self, request: web.Request) -> web.Response:
        # a name looked up in a dict, never a path; named by digest, so cacheable for long
        found = self._scripts.get(request.match_info["name"])
        if found is None:
            raise web.HTTPNotFound(text="no such page script\n")
        return respond(request, found, cache_control="public, max-age=86400, immutable")

    async def _protomaps_js(self, request: web.Request) -> web.StreamResponse:
        if self._protomaps is None:
            raise web.HTTPNotFound(text="protomaps-leaflet is not installed\n")
        # the page asks for ?v=<version>, so a long max-age cannot serve a stale bundle
        return web.FileResponse(self._protomaps,
                                headers={"Cache-Control": "public, max-age=86400"})

    async def _text(self, request: web.Request) -> web.Response:
        resp = respond(request, self.text(request_lang(request), wants_all(request.query)))
        resp.headers["Vary"] = "Accept-Encoding, Accept-Language"
        return resp

    async def _data(self, request: web.Request) -> web.Response:
        return respond(request, self.data(request_lang(request), wants_all(request.query)),
                       cache_control="no-cache")

    async def _here_route(self, request: web.Request) -> web.Response:
        try:
            lat = float(request.query["lat"])
            lon = float(request.query["lon"])
        except (KeyError, ValueError):
            raise web.HTTPBadRequest(text="lat and lon are required numbers\n") from None
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
                and -180 <= lon <= 180):
            raise web.HTTPBadRequest(text="lat/lon out of range\n")
        hazard = request.query.get("hazard") or None
        if hazard and hazard not in phrases.HAZARD_NAMES:
            raise web.HTTPBadRequest(text=f"unknown hazard {hazard!r}\n")
        body = self.here_index().answer(lat, lon, lang=request_lang(request), hazard=hazard)
        return web.json_response(body, headers={"Cache-Control": "no-store"},
                                 dumps=lambda o: json.dumps(o, ensure_ascii=False))

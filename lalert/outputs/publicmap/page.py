"""The resident map page, generated with folium and served without any CDN.

folium builds the Leaflet map, the configured base map (``[map] basemap``, none by default:
see ``basemap.py``), the municipal boundary layer, the (initially empty) alert / shelter /
hotspot layers and the layer control;
``static/map.js`` fills those layers from ``/map/data.json`` and keeps them current.
folium's default CDN scripts (jQuery, Bootstrap, awesome-markers) are dropped — nothing on
the page uses them — and Leaflet comes from the ``xstatic-leaflet`` package.

The boundaries come from lalert's own vector tiles (``/tiles/{z}/{x}/{y}.mvt``), drawn on
canvas by the npm package protomaps-leaflet, so the page stays small with national data;
without that package the page embeds the boundaries as GeoJSON instead. Shelter markers are
clustered by the npm package leaflet.markercluster, also served from ``node_modules``.

The map opens on the deployment's region (``region``), or on ``#zoom/lat/lon`` in the URL.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import folium
import shapely
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from jinja2 import Template
from markupsafe import escape

from lalert.outputs import phrases
from lalert.outputs.tiles.build import municipalities
from lalert.vocab import LEVEL_COLOURS

LEAFLET_PREFIX = "/static/vendor/leaflet"
PROTOMAPS_JS = "/static/vendor/protomaps-leaflet/protomaps-leaflet.js"
TILES_URL = "/tiles/{z}/{x}/{y}.mvt"
# The base map has no outside tiles: sea is the map's background (map.css), land a light
# fill, municipal boundaries thin grey lines. One set of colours for both drawing paths.
LAND_FILL = "#f7f5f0"
BOUNDARY_LINE = "#8f8f8f"
ASSET_PREFIX = "/static/map"
MARKERCLUSTER_PREFIX = "/static/vendor/leaflet.markercluster"
MARKERCLUSTER_JS = f"{MARKERCLUSTER_PREFIX}/leaflet.markercluster.js"
MARKERCLUSTER_CSS = f"{MARKERCLUSTER_PREFIX}/MarkerCluster.css"
DEFAULT_BOUNDS = (129.9, 32.0, 131.4, 33.25)  # 熊本県, where the demo data is


class _Init(MacroElement):
    """Emits ``lalertMap.init(config)`` after folium has defined every map variable."""

    _template = Template("""{% macro header(this, kwargs) %}
    <link rel="stylesheet" href="{{ this.prefix }}/map.css"/>
    <script src="{{ this.prefix }}/map.js"></script>
{% endmacro %}
{% macro script(this, kwargs) %}
    lalertMap.init({{ this.config|tojson }});
{% endmacro %}""")

    def __init__(self, config: dict[str, Any]):
        super().__init__()
        self._name = "LalertInit"
        self.config = config
        self.prefix = ASSET_PREFIX


class TileBoundaries(JSCSSMixin, Layer):
    """The municipalities layer of lalert's tiles, as a protomaps-leaflet canvas layer.

    ``lalertMap.boundaryLayer`` (static/map.js) holds the paint rules; this element only
    names the layer for the layer control and loads the vendored script.
    """

    _template = Template("""{% macro script(this, kwargs) %}
    var {{ this.get_name() }} = lalertMap.boundaryLayer({{ this.options|tojson }});
{% endmacro %}""")

    def __init__(self, name: str, options: dict[str, Any], script: str = PROTOMAPS_JS):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "TileBoundaries"
        self.options = options
        self.default_js = [("protomaps_leaflet", script)]  # per instance: never the class list


class VectorBasemap(JSCSSMixin, Layer):
    """A vector PMTiles base map served by lalert, drawn by protomaps-leaflet's light style."""

    _template = Template("""{% macro script(this, kwargs) %}
    var {{ this.get_name() }} = lalertMap.basemapLayer({{ this.options|tojson }});
{% endmacro %}""")

    def __init__(self, name: str, options: dict[str, Any], script: str = PROTOMAPS_JS):
        super().__init__(name=name, overlay=False, control=True, show=True)
        self._name = "VectorBasemap"
        self.options = options
        self.default_js = [("protomaps_leaflet", script)]


def _boundaries(geo: Any, schemes) -> Any:
    muni = municipalities(geo, schemes) if geo is not None else None
    if muni is None:
        return None
    muni = muni[["code", "name", "geometry"]].copy()
    muni["geometry"] = shapely.set_precision(
        shapely.simplify(muni.geometry.values, 0.0005, preserve_topology=True), 1e-5)
    return muni[~muni.geometry.is_empty]


def _legend(lang: str) -> str:
    ui = phrases.ui(lang)
    rows = []
    for level in (5, 4, 3, 2, 1):
        word = escape(phrases.legend_word(level, lang))
        rows.append(
            f'<li><span class="sw lv{level}" style="background:{LEVEL_COLOURS[level]}">'
            f'{level}</span>{escape(phrases.level_badge(level, "evacuation", lang) or "")} {word}</li>')
    rows.append(f'<li><span class="sw lv0">–</span>{escape(ui["no_level"])}</li>')
    rows.append(f'<li><span class="mk open">✓</span>{escape(ui["shelters"])}: '
                f'{escape(ui["open"])}</li>')
    rows.append(f'<li><span class="mk unknown">避</span>{escape(ui["shelters"])}: '
                f'{escape(phrases.shelter_state("unknown", lang))}</li>')
    rows.append(f'<li><span class="mk closed">×</span>{escape(ui["shelters"])}: '
                f'{escape(ui["closed"])}</li>')
    rows.append(f'<li><span class="mk wifi">W</span>{escape(ui["hotspots"])}</li>')
    return (f'<details class="legend"><summary>{escape(ui["legend"])}</summary>'
            f'<ul>{"".join(rows)}</ul></details>')


def _panel(lang: str) -> str:
    ui = phrases.ui(lang)
    others = "\n  ".join(
        f'<a href="/?lang={o["q"]}" lang="{o["tag"]}" hreflang="{o["tag"]}">{escape(o["name"])}</a>'
        for o in phrases.lang_links(lang))
    opts = "".join(f'<option value="{h}">{escape(phrases.hazard_name(h, lang))}</option>'
                   for h in phrases.HAZARD_NAMES)
    return f"""
<header class="lalert-bar">
  <h1>{escape(ui["title"])}</h1>
  <nav><a href="/text?lang={phrases.query_lang(lang)}">{escape(ui["text_link"])}</a>
  {others}</nav>
</header>
<section class="lalert-panel" aria-label="{escape(ui["where"])}">
  <p class="status" id="lalert-status" role="status"></p>
  <div class="controls">
    <button type="button" id="lalert-where">{escape(ui["where_btn"])}</button>
    <label>{escape(ui["filter"])}
      <select id="lalert-hazard"><option value="">{escape(ui["all"])}</option>{opts}</select>
    </label>
  </div>
  <p class="hint">{escape(ui["where_hint"])}</p>
  <div id="lalert-here" aria-live="polite"></div>
  <h2 class="alerts-h">{escape(ui["alerts"])}</h2>
  <ul id="lalert-alerts"><li>{escape(ui["no_alerts"])}</li></ul>
  {_legend(lang)}
</section>"""


def render_page(*, lang: str, geo: Any = None, bounds: tuple[float, float, float, float] | None
                = None, poll_seconds: int = 30,
                municipality_schemes=("n03", "lg_code"),
                boundary_tiles: dict[str, Any] | None = None,
                basemap: dict[str, Any] | None = None,
                markercluster: str | None = None) -> str:
    """The whole HTML page of the map in ``lang``; depends on geo only, not on alerts.

    ``bounds`` (w, s, e, n) is the region the map opens on. ``boundary_tiles`` (``url``,
    ``minzoom``, ``maxzoom``, optional ``script`` and ``attribution``) draws the boundaries
    from vector tiles; without it they are embedded. ``basemap`` comes from
    ``BasemapView.page_options`` (none when absent); ``markercluster`` is the plugin's
    script URL (markers are not clustered without it).
    """
    ui = phrases.ui(lang)
    basemap = basemap or {"kind": "none", "attribution": str(escape(ui["no_basemap"]))}
    w, s, e, n = bounds or DEFAULT_BOUNDS
    fig = Figure(title=ui["title"])
    m = folium.Map(location=[(s + n) / 2, (w + e) / 2], zoom_start=10, tiles=None,
                   control_scale=True,
                   # with no tile layer Leaflet has no max zoom, and zooming silently fails
                   minZoom=4, maxZoom=18)
    m.default_js = [("leaflet", f"{LEAFLET_PREFIX}/leaflet.js")]
    m.default_css = [("leaflet_css", f"{LEAFLET_PREFIX}/leaflet.css")]
    if markercluster:
        m.default_js.append(("leaflet_markercluster", markercluster))
        m.default_css.append(("leaflet_markercluster_css", MARKERCLUSTER_CSS))
    fig.add_child(m)
    if basemap["kind"] == "raster":
        folium.TileLayer(basemap["url"], attr=basemap["attribution"], name=ui["basemap"],
                         overlay=False, control=True, show=True, max_zoom=18,
                         min_native_zoom=basemap.get("min_native_zoom", 0),
                         max_native_zoom=basemap.get("max_native_zoom", 18)).add_to(m)
    elif basemap["kind"] == "vector":
        script = (boundary_tiles or {}).get("script", PROTOMAPS_JS)
        VectorBasemap(ui["basemap"], {k: basemap[k] for k in (
            "url", "attribution", "max_native_zoom")} | {"lang": phrases.HTML_LANG[lang]},
            script).add_to(m)
    if boundary_tiles is not None:
        opts = {k: v for k, v in boundary_tiles.items() if k != "script"}
        # over a base map only the lines stay: the land fill would hide it
        land = 0 if basemap["kind"] != "none" else 1
        TileBoundaries(ui["municipalities"], {"land": LAND_FILL, "line": BOUNDARY_LINE,
                                              "land_opacity": land, **opts},
                       boundary_tiles.get("script", PROTOMAPS_JS)).add_to(m)
    else:
        boundaries = _boundaries(geo, municipality_schemes)
        if boundaries is not None and len(boundaries):
            fill = 1.0 if basemap["kind"] == "none" else 0.0
            folium.GeoJson(
                boundaries, name=ui["municipalities"], interactive=False,
                style_function=lambda _f: {"color": BOUNDARY_LINE, "weight": 1,
                                           "fillColor": LAND_FILL, "fillOpacity": fill},
            ).add_to(m)
    groups = {key: folium.FeatureGroup(name=ui[key]) for key in ("alerts", "shelters", "hotspots")}
    for g in groups.values():
        g.add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    # no folium fit_bounds: its animated zoom would end after, and undo, a #zoom/lat/lon
    # view; map.js fits "region" itself when the URL names no place
    config = {
        "map": m.get_name(), "layers": {k: g.get_name() for k, g in groups.items()},
        "lang": lang, "locale": phrases.HTML_LANG[lang], "ui": ui,
        "data": f"/map/data.json?lang={phrases.query_lang(lang)}",
        "here": "/api/v1/here", "push_module": "/static/webpush/lalert-push.js", "poll_ms": poll_seconds * 1000,
        "hazards": {h: phrases.hazard_name(h, lang) for h in phrases.HAZARD_NAMES},
        "push_words": phrases.push_words(lang),
        "region": [w, s, e, n],
        # Leaflet writes attributions as HTML: this one is built and escaped in basemap.py
        "attribution": basemap["attribution"] if basemap["kind"] == "none" else None,
    }
    m.add_child(_Init(config))
    fig.html.add_child(Element(_panel(lang)), name="lalert_panel")
    html = fig.render()
    return _fix_head(html, lang)


_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>', re.S)


def _fix_head(html: str, lang: str) -> str:
    """folium's page lacks a language and forbids zooming; both fail WCAG (axe: serious)."""
    assert html.startswith("<!DOCTYPE html>\n<html>"), "folium page shape changed"
    html = html.replace("<html>", f'<html lang="{phrases.HTML_LANG[lang]}">', 1)
    html, n = _VIEWPORT.subn(
        '<meta name="viewport" content="width=device-width, initial-scale=1" />', html)
    assert n == 1, "folium viewport meta not found"
    return html


def page_config_json(html: str) -> dict[str, Any]:
    """The init config embedded in a page (for tests and debugging)."""
    found = re.search(r"lalertMap\.init\((\{.*?\})\);", html, re.S)
    return json.loads(found.group(1)) if found else {}


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)
SCRIPT_PREFIX = "/map/js"


def split_scripts(html: str, prefix: str = SCRIPT_PREFIX) -> tuple[str, dict[str, str]]:
    """folium's inline ``<script>`` blocks moved to files named by their digest, so the
    page runs under a Content-Security-Policy without ``'unsafe-inline'`` scripts.

    Returns the page (each block replaced, in place, by ``<script src=prefix/NAME>``:
    the order of execution is unchanged) and ``NAME → script``.
    """
    scripts: dict[str, str] = {}

    def move(m: re.Match[str]) -> str:
        js = m.group(1)
        name = hashlib.sha256(js.encode("utf-8")).hexdigest()[:24] + ".js"
        scripts[name] = js
        return f'<script src="{prefix}/{name}"></script>'

    out = _INLINE_SCRIPT.sub(move, stable_ids(html))
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", out), "an inline script is left"
    return out, scripts


_FOLIUM_ID = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9a-f])")


def stable_ids(html: str) -> str:
    """folium's random element ids (``map_<uuid hex>``) numbered in order of appearance,
    so every worker renders the same page and scripts (same ETag, same script names)."""
    seen: dict[str, str] = {}
    return _FOLIUM_ID.sub(lambda m: seen.setdefault(m.group(0), f"{len(seen) + 1:032x}"), html)

"""The desk's own CSS and script, served from memory by name (never by path) with ETags;
``levels.css`` is generated from the level colours."""

from __future__ import annotations

from aiohttp import web

from lalert import resources
from lalert.httpcache import Rendered, respond
from lalert.server.desk.formatting import level_css
from lalert.server.desk.state import DESK

STATIC = resources.path("server", "static", "desk")
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


def load_static() -> dict[str, Rendered]:
    out = {f.name: Rendered.of(f.read_bytes(), STATIC_TYPES[f.suffix])
           for f in sorted(STATIC.iterdir()) if f.is_file() and f.suffix in STATIC_TYPES}
    out["levels.css"] = Rendered.of(level_css(), STATIC_TYPES[".css"])
    return out


async def static(request: web.Request) -> web.Response:
    """The desk's own CSS and script (looked up by name, never by path)."""
    r = request.app[DESK].static.get(request.match_info["name"])
    if r is None:
        raise web.HTTPNotFound()
    return respond(request, r, cache_control="public, max-age=300")


"""Read-only signage routes. Screen ids and asset names are looked up in dictionaries built
from configuration and the ``static/`` directory; nothing in a URL becomes a path."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from lalert.httpcache import respond
from lalert.outputs.signage.screens import LANGS

if TYPE_CHECKING:  # pragma: no cover
    from lalert.outputs.signage import SignageOutput

PAGE_CACHE = "public, no-cache"  # always revalidate: the ETag makes that a cheap 304
STATIC_CACHE = "public, max-age=300"
ID = r"[a-z0-9][a-z0-9_-]{0,62}"
PLACE_ID = r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}"


def _lang(request: web.Request) -> str | None:
    lang = request.query.get("lang")
    return lang if lang in LANGS else None


def signage_routes(out: SignageOutput) -> list[web.AbstractRouteDef]:
    def screen_of(request: web.Request):  # noqa: ANN202 - Screen
        screen = out.screens().get(request.match_info["screen"])
        if screen is None:
            raise web.HTTPNotFound(text="no such screen\n")
        return screen

    async def listing(request: web.Request) -> web.StreamResponse:
        return respond(request, out.listing(), cache_control=PAGE_CACHE)

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMovedPermanently("/signage/")

    async def page(request: web.Request) -> web.StreamResponse:
        return respond(request, out.page(screen_of(request), _lang(request)),
                       cache_control=PAGE_CACHE)

    async def data(request: web.Request) -> web.StreamResponse:
        resp = respond(request, out.entry(screen_of(request)).json, cache_control=PAGE_CACHE)
        resp.headers["Access-Control-Allow-Origin"] = "*"  # players drawing their own page
        return resp

    async def static(request: web.Request) -> web.StreamResponse:
        r = out.static.get(request.match_info["name"])
        if r is None or r is out.static.get("sw.js"):
            raise web.HTTPNotFound()
        return respond(request, r, cache_control=STATIC_CACHE)

    async def worker(request: web.Request) -> web.StreamResponse:
        r = out.static.get("sw.js")
        if r is None:
            raise web.HTTPNotFound()
        return respond(request, r, cache_control="no-cache")

    async def here(request: web.Request) -> web.StreamResponse:
        r = out.here(request.match_info["place"], _lang(request) or "ja")
        if r is None:
            raise web.HTTPNotFound(text="no such shelter or hotspot\n")
        return respond(request, r, cache_control=PAGE_CACHE)

    return [
        web.get("/signage", redirect),
        web.get("/signage/", listing),
        web.get("/signage/sw.js", worker),
        web.get(r"/signage/static/{name:[A-Za-z0-9_-]+\.(?:css|js)}", static),
        web.get(rf"/signage/{{screen:{ID}}}.json", data),
        web.get(rf"/signage/{{screen:{ID}}}", page),
        web.get(rf"/here/{{place:{PLACE_ID}}}", here),
    ]

"""Web hardening in one place: response security headers and request-body encoding rules.

``setup(app, config)`` installs both on the daemon's app:

- every response gets ``X-Content-Type-Options: nosniff``, a ``Referrer-Policy`` and a
  ``Content-Security-Policy`` (``default-src 'self'``, scripts only from this origin — no
  inline script, no ``eval`` — styles from this origin plus inline styles, images from
  this origin, ``data:``/``blob:`` and the configured base-map origins); framing is
  refused (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``) unless
  ``[http] frame_ancestors`` names the signage players' origins that may frame pages.
  The desk console is never framable. Headers are added on ``on_response_prepare``, so
  they also reach static files, errors from the router and streamed responses.
- request bodies: aiohttp's automatic inflation is switched off (``create_app`` passes
  ``handler_args``), and a middleware answers 415 to any request with a
  ``Content-Encoding`` other than ``identity`` unless its handler is marked with
  :func:`accepts_encoding` (ingest: gzip, inflated by the handler under its size bound).
  A response sent before the body was read closes the connection, so aiohttp never
  drains (or inflates) a body nobody asked for.

``content_security_policy`` is the one function that builds the policy; base-map origins
come from ``img_origins(config)`` (the ``[map] basemap`` URL template and ``[http] img_src``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from lalert.config import Config, body_timeout_s

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REFERRER_POLICY = "strict-origin-when-cross-origin"
# What aiohttp's server options must be for these rules to hold (see create_app):
# no automatic inflation of request bodies, no lingering read of an unread body.
HANDLER_ARGS = {"auto_decompress": False, "lingering_time": 0.0}
_ENCODINGS_ATTR = "_lalert_content_encodings"
_LIMIT_ATTR = "_lalert_body_limit"
_CONFIG_KEY = web.AppKey("lalert.security", dict)  # header sets, body timeout


def accepts_encoding(*encodings: str) -> Callable[[Handler], Handler]:
    """Mark a handler as reading a body in these ``Content-Encoding``\\s itself (bounded)."""
    def mark(handler: Handler) -> Handler:
        setattr(handler, _ENCODINGS_ATTR, frozenset(e.lower() for e in encodings))
        return handler
    return mark


def body_limit(max_bytes: int) -> Callable[[Handler], Handler]:
    """Mark a handler that reads a body before it knows who sent it (the desk login): a
    declared length over ``max_bytes`` is refused (413) and an undeclared one (chunked)
    asked for (411), before anything is read; the form is then read within
    ``[http] body_timeout_s`` (``lalert.config.body_timeout_s``; 408 and the connection
    closed when it takes longer)."""
    def mark(handler: Handler) -> Handler:
        setattr(handler, _LIMIT_ATTR, int(max_bytes))
        return handler
    return mark


def content_encoding(request: web.Request) -> str:
    """The request's ``Content-Encoding`` (lower case, ``identity`` when absent)."""
    value = request.headers.get("Content-Encoding", "").strip().lower()
    return value or "identity"


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL or URL template, else None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or "{" in parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def _urls(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k in ("url", "tiles"):
            yield from _urls(value.get(k))
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _urls(v)


def img_origins(config: Config) -> list[str]:
    """Origins the public map may load images from: the configured raster base map
    (``[map] basemap``, see ``lalert.config.basemap_config``) and ``[http] img_src``.
    A local ``.pmtiles`` base map is served by lalert itself ('self')."""
    found: list[str] = []
    if config.basemap.origin:
        found.append(config.basemap.origin)
    for url in _urls(config.section("http").get("img_src")):
        origin = origin_of(url)
        if origin:
            found.append(origin)
        else:
            log.warning("CSP: %r is not an http(s) origin; not allowed as an image source", url)
    return list(dict.fromkeys(found))


def frame_ancestors(config: Config) -> list[str]:
    """``[http] frame_ancestors``: origins (or ``'self'``) allowed to frame public pages."""
    value = config.section("http").get("frame_ancestors", [])
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    out = []
    for v in value:
        v = str(v).strip()
        if v in ("'self'", "self"):
            out.append("'self'")
        elif origin_of(v):
            out.append(origin_of(v))  # type: ignore[arg-type]
        else:
            log.warning("[http] frame_ancestors: %r is not an origin; ignored", v)
    return out


def content_security_policy(*, img: Iterable[str] = (), frames: Iterable[str] = ()) -> str:
    """The policy every response carries: scripts from this origin only."""
    frames = list(frames)
    directives = [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # folium and the pages set inline styles
        "img-src " + " ".join(["'self'", "data:", "blob:", *img]),
        "connect-src 'self'",
        "font-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors " + (" ".join(frames) if frames else "'none'"),
    ]
    return "; ".join(directives)


def _headers(config: Config) -> dict[str, dict[str, str]]:
    img = img_origins(config)
    frames = frame_ancestors(config)
    public = {"Content-Security-Policy": content_security_policy(img=img, frames=frames),
              "X-Content-Type-Options": "nosniff", "Referrer-Policy": REFERRER_POLICY}
    if not frames:
        public["X-Frame-Options"] = "DENY"
    elif frames == ["'self'"]:
        public["X-Frame-Options"] = "SAMEORIGIN"
    desk = {**public, "Content-Security-Policy": content_security_policy(img=img),
            "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
    return {"public": public, "desk": desk}


async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
    sets = request.app[_CONFIG_KEY]
    chosen = sets["desk"] if (request.path == "/desk"
                              or request.path.startswith("/desk/")) else sets["public"]
    for k, v in chosen.items():
        response.headers.setdefault(k, v)
    if request.body_exists and not request.content.is_eof():
        # answered without reading the body: do not drain (or inflate) it, end the connection
        response.headers["Connection"] = "close"
        response.force_close()


@web.middleware
async def body_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """415 for a ``Content-Encoding`` the route does not read itself (before any read)."""
    enc = content_encoding(request)
    if enc != "identity":
        route_handler = request.match_info.handler
        allowed = getattr(route_handler, _ENCODINGS_ATTR, frozenset())
        if enc not in allowed:
            what = (f"only {', '.join(sorted(allowed))} or identity" if allowed
                    else "only identity (uncompressed) bodies")
            reason = f"Content-Encoding {enc[:40]} is not accepted here: {what}"
            raise web.HTTPUnsupportedMediaType(
                text=json.dumps({"error": "unsupported Content-Encoding", "reason": reason}),
                content_type="application/json", headers={"Connection": "close"})
    limit = getattr(request.match_info.handler, _LIMIT_ATTR, None)
    if limit is not None and request.body_exists:
        size = request.content_length
        head = {"content_type": "application/json", "headers": {"Connection": "close"}}
        if size is None:
            raise web.HTTPLengthRequired(text=json.dumps({
                "error": "length required",
                "reason": "send Content-Length: this form's body is bounded"}), **head)
        if size > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=size, text=json.dumps(
                {"error": "too large", "reason": f"this form takes at most {limit:,} bytes"}),
                **head)
        seconds = request.app[_CONFIG_KEY]["body_timeout"]
        try:
            async with asyncio.timeout(seconds):
                await request.post()  # kept by aiohttp: the handler's post() reads no more
        except TimeoutError:
            raise web.HTTPRequestTimeout(text=json.dumps({
                "error": "request timeout",
                "reason": f"the body did not arrive within {seconds:g} s"}), **head) from None
    return await handler(request)


def setup(app: web.Application, config: Config) -> None:
    """Install the header hook and the body middleware (before any route runs)."""
    app[_CONFIG_KEY] = {**_headers(config), "body_timeout": body_timeout_s(config.raw)}
    app.middlewares.append(body_guard)
    app.on_response_prepare.append(_add_headers)

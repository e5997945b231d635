"""Render once per change, serve from memory with a strong ETag and 304s.

Shared by every read endpoint (API, signage, map, tiles, feeds); it knows aiohttp's
request/response types but nothing about what is rendered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from aiohttp import web


@dataclass(frozen=True)
class Rendered:
    body: bytes
    content_type: str
    etag: str

    @classmethod
    def of(cls, body: bytes | str, content_type: str) -> Rendered:
        data = body.encode("utf-8") if isinstance(body, str) else body
        return cls(data, content_type, '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"')


def _matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return etag in tags


def respond(
    request: web.Request, r: Rendered, *, cache_control: str = "public, max-age=5"
) -> web.Response:
    """200 with the body, or 304 when the client already holds this version."""
    headers = {"ETag": r.etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding"}
    if _matches(request.headers.get("If-None-Match"), r.etag):
        return web.Response(status=304, headers=headers)
    resp = web.Response(body=r.body, headers=headers)
    resp.content_type = r.content_type.split(";")[0]
    if "charset=" in r.content_type:
        resp.charset = r.content_type.split("charset=")[1]
    return resp

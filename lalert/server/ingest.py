"""``POST /api/v1/messages`` (push ingest) and the message status routes.

The answer is sent only after the journal commit: 202 accepted (or a duplicate of
something already accepted), 400 with the reason when the bytes cannot be read (they
are still journaled among the rejected), 413 over the size bound, 401 / 403 without or
with a wrong token. The body is bare XML or L-Alert's SOAP ``publish`` envelope.
"""

from __future__ import annotations

import json
import zlib

from aiohttp import web

from lalert.httpcache import Rendered, respond
from lalert.server.auth import require_token
from lalert.server.keys import CONFIG, PIPELINE
from lalert.server.security import accepts_encoding, content_encoding

CHUNK = 64 * 1024


class BadEncoding(ValueError):
    """The body is not valid in its declared ``Content-Encoding``."""


async def read_bounded(request: web.Request, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of the body (one more than allowed means too large).

    A gzip body (``Content-Encoding: gzip``) is inflated here, never more than ``limit + 1``
    bytes of output: the bound is on what the message is, counted while inflating, so a
    small bomb costs at most one limit's worth of work. aiohttp's own automatic inflation
    is off (``lalert.server.security.HANDLER_ARGS``).
    """
    gz = zlib.decompressobj(wbits=31) if content_encoding(request) == "gzip" else None
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        if gz is not None and gz.unconsumed_tail:
            chunk = gz.unconsumed_tail
        else:
            chunk = await request.content.read(CHUNK if gz else min(CHUNK, limit + 1 - size))
            if not chunk:
                break
        if gz is not None:
            if gz.eof:
                raise BadEncoding("the body has bytes after its gzip stream")
            try:
                chunk = gz.decompress(chunk, limit + 1 - size)
            except zlib.error as exc:
                raise BadEncoding(f"the body is not valid gzip ({exc})") from None
            if gz.unused_data:
                raise BadEncoding("the body has bytes after its gzip stream")
        parts.append(chunk)
        size += len(chunk)
    if gz is not None and size <= limit and not gz.eof:
        raise BadEncoding("the gzip stream ends early (truncated body)")
    return b"".join(parts)


def _json(status: int, body: dict, headers: dict | None = None) -> web.Response:
    return web.Response(status=status, text=json.dumps(body, ensure_ascii=False),
                        content_type="application/json", headers=headers)


@accepts_encoding("gzip")
async def post_message(request: web.Request) -> web.Response:
    """Submit one message (bare XML or SOAP publish envelope)."""
    sender = require_token(request)
    limit = request.app[CONFIG].max_message_bytes
    pipeline = request.app[PIPELINE]
    if request.content_length is not None and request.content_length > limit:
        # Do not read a body we will not keep; record that it came.
        receipt = await pipeline.reject_oversize(request.content_length, source="http",
                                                 sender=sender)
        return _json(413, {"error": "too large", "reason": receipt.reason, "limit": limit,
                           "id": str(receipt.id)}, {"Connection": "close"})
    try:
        body = await read_bounded(request, limit)
    except BadEncoding as exc:
        return _json(400, {"error": "bad Content-Encoding", "reason": str(exc)},
                     {"Connection": "close"})
    receipt = await pipeline.submit(body, source="http", sender=sender)
    url = f"/api/v1/messages/{receipt.id}"
    out = {"id": str(receipt.id), "outcome": receipt.outcome, "status_url": url,
           "format": receipt.format, "alerts": list(receipt.alert_ids)}
    if receipt.duplicate_of:
        out["duplicate_of"] = str(receipt.duplicate_of)
    if receipt.too_large:
        out.update(error="too large", reason=receipt.reason, limit=limit)
        return _json(413, out)
    if receipt.outcome == "rejected":
        out.update(error="rejected", reason=receipt.reason)
        return _json(400, out, {"Location": url})
    if receipt.reason:
        out["reason"] = receipt.reason
    return _json(202, out, {"Location": url})


def _msg_id(request: web.Request) -> int:
    try:
        mid = int(request.match_info["id"])
        if not 0 < mid < 2**63:  # beyond SQLite's INTEGER: cannot exist
            raise ValueError(mid)
        return mid
    except ValueError:
        raise web.HTTPNotFound(text='{"error": "no such message"}',
                               content_type="application/json") from None


async def get_message(request: web.Request) -> web.Response:
    """Status of one received message: its outcome now (per alert) or why it was rejected."""
    pipeline = request.app[PIPELINE]
    row = pipeline.reader.get(_msg_id(request)) if pipeline.reader else None
    if row is None:
        raise web.HTTPNotFound(text='{"error": "no such message"}', content_type="application/json")
    body = json.dumps(pipeline.outcome_of(row), ensure_ascii=False)
    return respond(request, Rendered.of(body, "application/json"), cache_control="no-cache")


async def get_message_raw(request: web.Request) -> web.Response:
    """The raw bytes as received (needs an ingest token: rejected input is not public)."""
    require_token(request)
    pipeline = request.app[PIPELINE]
    raw = pipeline.reader.raw(_msg_id(request)) if pipeline.reader else None
    if raw is None:
        raise web.HTTPNotFound(text='{"error": "no raw bytes kept for this message"}',
                               content_type="application/json")
    return web.Response(body=raw, content_type="application/xml",
                        headers={"Cache-Control": "private, no-store",
                                 "X-Content-Type-Options": "nosniff"})


def routes() -> list[web.RouteDef]:
    return [
        web.post("/api/v1/messages", post_message),
        web.get("/api/v1/messages/{id}", get_message),
        web.get("/api/v1/messages/{id}/raw", get_message_raw),
    ]

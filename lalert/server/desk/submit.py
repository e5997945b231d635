"""Manual submission: paste or upload → preview of how lalert reads it → confirmation →
the same journal path as HTTP push, with the operator as sender."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from lalert.lifecycle import is_drill
from lalert.model import Alert, EnrichedAlert
from lalert.parsers import ParseError
from lalert.pipeline import fallback_enrich, parse_message
from lalert.server.desk.formatting import raw_text
from lalert.server.desk.session import render
from lalert.server.desk.state import DESK
from lalert.server.desk.text import translator
from lalert.server.desk.views import alert_view, map_svg
from lalert.server.keys import CONFIG, PIPELINE


async def submit_form(request: web.Request) -> web.Response:
    """Paste or upload a message."""
    return await render(request, "submit.html.j2", error=None, text="")


async def _form_bytes(request: web.Request) -> bytes:
    form = await request.post()
    upload = form.get("file")
    if isinstance(upload, web.FileField):
        data = upload.file.read()
        if data:
            return data
    text = form.get("text")
    return str(text).encode("utf-8") if text else b""


def _enrich(request: web.Request, alert: Alert) -> EnrichedAlert:
    p = request.app[PIPELINE]
    if p.enricher is not None and p.geo is not None:
        try:
            return p.enricher(alert, p.geo)
        except Exception:  # same fallback as the pipeline: show it without geometry
            pass
    return fallback_enrich(alert)


async def submit_preview(request: web.Request) -> web.Response:
    """Parse and enrich without journaling; keep the bytes for the confirmation."""
    desk = request.app[DESK]
    config = request.app[CONFIG]
    p = request.app[PIPELINE]
    raw = await _form_bytes(request)
    t = translator(request["desk.lang"])
    if not raw.strip():
        return await render(request, "submit.html.j2", status=400, error=t("submit.empty"),
                            text="")
    if len(raw) > config.max_message_bytes:
        return await render(request, "submit.html.j2", status=413,
                            error=f"{t('submit.too_large')}: {len(raw):,} > "
                                  f"{config.max_message_bytes:,} bytes", text="")
    reason = None
    views: list[dict[str, Any]] = []
    try:
        alerts = parse_message(raw, source="desk preview", max_bytes=config.max_message_bytes)
    except ParseError as exc:
        reason = exc.reason + (f" (line {exc.line})" if exc.line else "")
        alerts = []
    except ImportError as exc:
        reason = f"format not supported here: {exc}"
        alerts = []
    lang = request["desk.lang"]
    for i, a in enumerate(alerts, start=1):
        v = alert_view(_enrich(request, a), is_drill(a), lang, i)
        v["known"] = p.alert_by_id(a.id) is not None
        views.append(v)
    token = desk.pending.put(request["desk.user"], raw)
    text, cut = raw_text(raw)
    return await render(request, "preview.html.j2", alerts=views, reason=reason, pending=token,
                        size=len(raw), sha256=hashlib.sha256(raw).hexdigest(), raw=text, cut=cut,
                        map=map_svg(views, t) if views else "")


async def submit_confirm(request: web.Request) -> web.Response:
    """Journal the previewed bytes through the same path as HTTP push."""
    desk = request.app[DESK]
    form = await request.post()
    token = str(form.get("pending", ""))
    raw = desk.pending.take(token, request["desk.user"])
    if raw is None:
        return await render(request, "submit.html.j2", status=409,
                            error=translator(request["desk.lang"])("preview.expired"), text="")
    receipt = await request.app[PIPELINE].submit(raw, source="desk",
                                                 sender=request["desk.user"])
    raise web.HTTPSeeOther(f"/desk/messages/{receipt.id}?sent=1")


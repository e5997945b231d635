"""The read-only pages: overview (and its polled live part), history, rejected messages,
one message, feeds, push deliveries; and the two operator actions on them (retry a dead
delivery, withdraw a stale alert)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from lalert.httpcache import Rendered, respond
from lalert.lifecycle import is_drill, is_stale
from lalert.outputs.listing import RegionFilter, ordered
from lalert.outputs.public import unplaced_areas
from lalert.pipeline import fallback_enrich
from lalert.server import sessions
from lalert.server.api import health_document
from lalert.server.desk import deliveries as desk_deliveries
from lalert.server.desk.formatting import JST, raw_text, when
from lalert.server.desk.session import SECURITY_HEADERS, error_page, render, words
from lalert.server.desk.state import DESK
from lalert.server.desk.text import translator
from lalert.server.desk.views import alert_view, delivery_status, map_svg, push_states
from lalert.server.keys import CONFIG, PIPELINE, POLLER, SPOOL, STORES
from lalert.store import flags
from lalert.vocab.lifetimes import LIFETIMES


def _region(app: web.Application) -> RegionFilter:
    """The deployment's region (``[geo] region``), built once per geodata."""
    p = app[PIPELINE]
    desk = app[DESK]
    cached = getattr(desk, "region", None)
    if cached is None or cached[0] is not p.geo:
        cached = desk.region = (p.geo, RegionFilter.from_settings(app[CONFIG].raw, p.geo))
    return cached[1]


def overview_context(app: web.Application, lang: str) -> dict[str, Any]:
    p = app[PIPELINE]
    t = translator(lang)
    region = _region(app)
    active = ordered(p.view.active())
    inside = [e for e in active if region.covers(e)]
    beyond = [e for e in active if e not in inside]
    real = [alert_view(e, False, lang, i) for i, e in enumerate(inside, start=1)]
    # operators see everything in force: what lies outside the region is listed apart
    outside = [alert_view(e, False, lang, len(real) + i) for i, e in enumerate(beyond, start=1)]
    drills = [alert_view(e, True, lang, len(real) + len(outside) + i)
              for i, e in enumerate(ordered(p.view.active(drills=True)), start=1)]
    seqs = [q for q in (p.view.seq_of(v["id"]) for v in real + outside + drills) if q is not None]
    push = push_states(app, seqs)
    for v in real + outside + drills:
        v["delivery"] = delivery_status(app, v["id"], v["drill"], push)
    health = health_document(app)
    config, now = app[CONFIG], datetime.now(UTC)
    stale = [v for v, e in zip(real + outside, inside + beyond, strict=True)
             if is_stale(e.alert, now, config.stale_after, config.lifetimes or LIFETIMES)]
    # in force where no polygon stands for its places: residents locating themselves, point
    # subscribers and point-placed screens cannot be told; the desk must know, and import
    unplaced = [{**v, "places": [f"{ar.name or ar.code} ({ar.scheme} {ar.code or ''})".strip()
                                 for ar in missing[:12]], "more": max(0, len(missing) - 12)}
                for v, e in zip(real + outside, inside + beyond, strict=True)
                if (missing := unplaced_areas(e))]
    return {
        "alerts": real, "outside": outside, "drills": drills, "map": map_svg(real + drills, t),
        "stale": stale, "unplaced": unplaced,
        "health": health, "counts": p.reader.outcome_counts() if p.reader else {},
        "japan": flags.load_flags(app[CONFIG].home).get(flags.JAPAN),
        "generated": datetime.now(JST).strftime("%H:%M:%S"),
    }


async def overview(request: web.Request) -> web.Response:
    """Active alerts, map, delivery, alarms."""
    ctx = overview_context(request.app, request["desk.lang"])
    return await render(request, "overview.html.j2", **ctx)


async def live(request: web.Request) -> web.Response:
    """The overview's live part alone (polled by desk.js, 304 when unchanged)."""
    ctx = overview_context(request.app, request["desk.lang"])
    ctx.pop("generated")
    html = request.app[DESK].env.get_template("live.html.j2").render(
        t=translator(request["desk.lang"]), lang=request["desk.lang"], when=when,
        csrf=await sessions.csrf_token(request),
        **words(request["desk.lang"]), **ctx)
    r = respond(request, Rendered.of(html, "text/html; charset=utf-8"),
                cache_control="private, no-cache")
    r.headers.update({k: v for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"})
    return r


def _int_q(request: web.Request, name: str) -> int | None:
    v = request.rel_url.query.get(name)
    try:
        n = int(v) if v else None
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be an integer") from None
    if n is not None and not 0 <= n < 2**63:  # SQLite's INTEGER range
        raise web.HTTPBadRequest(text=f"{name} is out of range")
    return n


async def history(request: web.Request) -> web.Response:
    """Every message received, newest first, with its outcome now."""
    p = request.app[PIPELINE]
    before = _int_q(request, "before")
    limit = 50
    rows = p.reader.page(before=before, limit=limit + 1) if p.reader else []
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{**p.outcome_of(r), "publisher": publisher_of(p, r)} for r in rows]
    older = f"/desk/history?before={rows[-1]['id']}" if more and rows else None
    return await render(request, "history.html.j2", items=items, older=older)


def publisher_of(p: Any, row: dict[str, Any]) -> str | None:
    """Who published the message (the alert's publisher: 気象台, 市役所 …), which the sender
    column shows beside the token name that delivered it; None for rejected bytes."""
    names: list[str] = []
    for aid in row.get("alert_ids") or ():
        current = p.view.get(aid)
        a = current.alert if current is not None else p.alert_by_id(aid)
        if a is not None and a.publisher:
            names.append(a.publisher)
    return "、".join(dict.fromkeys(names)) or None


async def rejected(request: web.Request) -> web.Response:
    """Rejected messages with the reason and the raw text (escaped)."""
    p = request.app[PIPELINE]
    before = _int_q(request, "before")
    limit = 20
    rows = p.reader.page(before=before, limit=limit + 1, outcome="rejected") if p.reader else []
    more = len(rows) > limit
    rows = rows[:limit]
    items = []
    for r in rows:
        text, cut = raw_text(p.reader.raw(r["id"]))
        items.append({**r, "raw": text, "cut": cut})
    older = f"/desk/rejected?before={rows[-1]['id']}" if more and rows else None
    return await render(request, "rejected.html.j2", items=items, older=older)


async def message(request: web.Request) -> web.Response:
    """One received message: outcome, reason, alerts in it, raw text."""
    p = request.app[PIPELINE]
    try:
        msg_id = int(request.match_info["id"])
        if not 0 < msg_id < 2**63:  # beyond SQLite's INTEGER: cannot exist
            raise ValueError(msg_id)
    except ValueError:
        raise web.HTTPNotFound() from None
    row = p.reader.get(msg_id) if p.reader else None
    if row is None:
        raise web.HTTPNotFound(text="no such message")
    item = {**p.outcome_of(row), "publisher": publisher_of(p, row)}
    lang = request["desk.lang"]
    alerts = []
    for i, aid in enumerate(row["alert_ids"], start=1):
        current = p.view.get(aid)
        if current is not None:
            alerts.append(alert_view(current, p.view.is_drill(aid), lang, i))
            continue
        a = p.alert_by_id(aid)
        if a is not None:
            alerts.append(alert_view(fallback_enrich(a), is_drill(a), lang, i))
    text, cut = raw_text(p.reader.raw(msg_id))
    return await render(request, "message.html.j2", item=item, row=row, alerts=alerts,
                        raw=text, cut=cut, just_sent=request.rel_url.query.get("sent") == "1")


async def feeds(request: web.Request) -> web.Response:
    """Poller status per feed (last success, silence alarm), spool, journal."""
    app = request.app
    poller = app.get(POLLER)
    spool = app.get(SPOOL)
    return await render(request, "feeds.html.j2", feeds=poller.status() if poller else [],
                        spool=spool.status() if spool else None, health=health_document(app))


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str:
    v = request.rel_url.query.get(name, "")
    return v if v in allowed else ""


async def deliveries(request: web.Request) -> web.Response:
    """Push deliveries: counts per channel and state, recent ones filtered by channel/state."""
    channel = _choice(request, "channel", desk_deliveries.CHANNELS)
    state = _choice(request, "state", desk_deliveries.STATES)
    ctx = await asyncio.to_thread(desk_deliveries.listing, request.app[STORES],
                                  channel, state)
    return await render(request, "deliveries.html.j2", channel=channel, state=state,
                        channels=desk_deliveries.CHANNELS, states=desk_deliveries.STATES,
                        **ctx)


async def delivery_page(request: web.Request, *, status: int = 200,
                        notice: str | None = None, error: str | None = None) -> web.Response:
    """One delivery: recipient (masked), state and its full attempt log."""
    ctx = await asyncio.to_thread(desk_deliveries.detail, request.app[STORES],
                                  request.match_info["id"])
    if ctx is None:
        raise web.HTTPNotFound(text="no such delivery")
    t = translator(request["desk.lang"])
    if notice is None and request.rel_url.query.get("retried") in ("queued", "later"):
        notice = t("delivery.retried" if request.rel_url.query["retried"] == "queued"
                   else "delivery.retried_later")
    return await render(request, "delivery.html.j2", status=status, notice=notice,
                        error=error, **ctx)


async def delivery_retry(request: web.Request) -> web.Response:
    """Send a dead-lettered delivery again now (one more attempt)."""
    did = request.match_info["id"]
    outcome = desk_deliveries.retry(request.app[STORES], did)
    if outcome is None:
        return await delivery_page(request, status=409,
                                   error=translator(request["desk.lang"])("delivery.not_dead"))
    raise web.HTTPSeeOther(f"/desk/deliveries/{did}?" + urlencode({"retried": outcome}))


async def alert_withdraw(request: web.Request) -> web.Response:
    """Withdraw an alert in force (a stale one whose lifting was missed); journaled with
    the operator's name and applied like a message, so every output withdraws it."""
    receipt = await request.app[PIPELINE].withdraw(request.match_info["id"],
                                                    operator=str(request["desk.user"]))
    if receipt is None:
        return error_page(request, 409, "stale", "active.none")
    raise web.HTTPSeeOther(f"/desk/messages/{receipt.id}")


"""The desk console ``/desk``: what operators of a prefectural disaster desk look at.

Behind a login (``lalert.server.sessions``): the active alerts with their level, areas,
a small SVG map and each output's delivery state; rejected messages with the reason and
the raw text; the message history; feed health; manual submission (paste or upload →
preview of how lalert reads it → confirmation → the same journal path as HTTP push, with
the operator as sender); signage screens and the 00000JAPAN declaration, both kept in
the home (``lalert.store.flags``) and handed to outputs through ``OutputContext.settings``;
push deliveries per channel with each one's attempt log and "retry now" for dead letters
(``lalert.server.desk_deliveries``). Login attempts are counted before they are checked,
per client (``lalert.clientaddr``) and per name (``sessions.LoginThrottle``); logout and a
changed credential end a session server-side (``sessions.SessionRegistry``).

Pages are rendered on the server with jinja2 (autoescaped) and work without script;
``desk.js`` only refreshes the live part of the overview by polling ``/desk/live`` with
``If-None-Match``. Every POST carries the session's CSRF token. The routes are plain
routes of the main app whose handlers are wrapped in the session middleware, so public
readers never pay for cookie handling.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from markupsafe import Markup

from lalert.clientaddr import client_address, trusted_proxies
from lalert.httpcache import Rendered, respond
from lalert.lifecycle import is_drill, is_stale
from lalert.model import Alert, EnrichedAlert
from lalert.outputs import phrases
from lalert.outputs.htmltext import bdi
from lalert.outputs.listing import RegionFilter, ordered
from lalert.parsers import ParseError
from lalert.pipeline import fallback_enrich, parse_message
from lalert.server import desk_deliveries, desk_map, desk_shelters, security, sessions
from lalert.server.api import health_document
from lalert.server.auth import AUTH_KEY
from lalert.server.desk_text import (
    CHANNELS,
    DELIVERY,
    FACTS,
    FORMATS,
    INFO_TYPES,
    LANGS,
    OUTCOMES,
    OUTPUT_NAMES,
    SEVERITIES,
    SHELTER_STATES,
    SOURCES,
    STATUSES,
    kind_word,
    pick,
    translator,
)
from lalert.server.keys import CONFIG, EXTRA_DOCS, OUTPUTS, PIPELINE, POLLER, SPOOL
from lalert.store import flags
from lalert.vocab import LEVEL_COLOURS
from lalert.vocab import levels as level_vocab
from lalert.vocab.lifetimes import LIFETIMES

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates" / "desk"
STATIC = HERE / "static" / "desk"
STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
JST = timezone(timedelta(hours=9), "JST")
RAW_SHOWN = 32 * 1024  # bytes of a raw message shown inline
PENDING_MAX = 64
PENDING_TTL = 1800.0
NO_LEVEL_COLOUR = "#d9dde1"
LOGIN_MAX_BODY = 16 * 1024  # name, password, csrf, next: far below this

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Desk:
    """The console's parts, kept on the app under ``DESK``."""

    home: Path
    env: jinja2.Environment
    middleware: Any
    users: list[sessions.DeskUser]
    static: dict[str, Rendered]
    throttle: sessions.LoginThrottle = field(default_factory=sessions.LoginThrottle)
    name_throttle: sessions.LoginThrottle = field(default_factory=lambda: sessions.LoginThrottle(
        failures=sessions.LOGIN_FAILURES_PER_NAME))
    registry: sessions.SessionRegistry | None = None
    trusted: tuple[Any, ...] = ()
    pending: OrderedDict[str, tuple[str, bytes, float]] = field(default_factory=OrderedDict)
    region: tuple[Any, Any] | None = None  # (geodata, RegionFilter) built for it


DESK = web.AppKey("lalert.desk", Desk)


# --- small view helpers ----------------------------------------------------------------


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def text_colour(bg: str) -> str:
    """Black or white, whichever contrasts more with ``bg`` (WCAG ratio)."""
    lum = _luminance(bg)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#ffffff"


def level_css() -> str:
    """``.lv1``–``.lv5`` (and ``.lv0`` for no level) from ``lalert.vocab.LEVEL_COLOURS``."""
    rules = []
    for lv, bg in [*sorted(LEVEL_COLOURS.items()), (0, NO_LEVEL_COLOUR)]:
        rules.append(f".lv{lv}{{background:{bg};color:{text_colour(bg)};"
                     f"border:2px solid {'#000' if lv in (1, 0) else bg}}}")
    return "\n".join(rules) + "\n"


def when(iso: str | None) -> str:
    """ISO time → ``2024-07-01 12:34 JST`` for operators (Japan time)."""
    if not iso:
        return "—"
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if t.tzinfo is None:
        return t.strftime("%Y-%m-%d %H:%M")
    return t.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")


def level_text(level: int | None, lang: str, kind: str | None = None,
               hazard_tags: tuple[str, ...] = ()) -> str:
    """The level as every output writes it (``lalert.vocab.levels``): '警戒レベル4 避難指示'
    for a municipality's order, '警戒レベル4相当情報［土砂災害］' for JMA's information."""
    label = level_vocab.label(level, kind, hazard_tags, "en" if lang == "en" else "ja")
    if label:
        return label
    # no 警戒レベル (tsunami, earthquake, notices): the kind names it, as on the map
    return phrases.kind_name(kind, lang) if kind else phrases.ui(lang)["no_level"]


def _areas(areas: Any, has_footprint: bool) -> list[dict[str, Any]]:
    """Areas once per name (a message often names one place under several code schemes);
    a place counts as unresolved only when none of its codes was found."""
    out: dict[str, dict[str, Any]] = {}
    for x in areas:
        label = x.name or x.code or "?"
        unresolved = bool(x.unresolved) or (x.geometry is None and not has_footprint)
        seen = out.get(label)
        codes = [f"{x.scheme}:{x.code}"] if x.code else []
        if seen is None:
            out[label] = {"name": label, "codes": codes, "unresolved": unresolved}
        else:
            seen["codes"].extend(codes)
            seen["unresolved"] = seen["unresolved"] and unresolved
    return list(out.values())


def alert_view(e: EnrichedAlert, drill: bool, lang: str, number: int = 0) -> dict[str, Any]:
    """What the templates show of one enriched alert."""
    a = e.alert
    lv = a.level if a.level in LEVEL_COLOURS else 0
    areas = e.active_areas()  # only places under alert (Area.status)
    return {
        "number": number, "id": a.id, "title": a.title, "headline": a.headline,
        "kind": a.kind, "kind_text": kind_word(a.kind, lang),
        "info_type_text": pick(INFO_TYPES, a.info_type, lang),
        "severity_text": pick(SEVERITIES, a.severity, lang) if a.severity else "",
        "status_text": pick(STATUSES, a.status, lang), "format": a.format, "level": a.level, "lv": lv,
        "format_text": pick(FORMATS, a.format, lang),
        "level_text": level_text(a.level, lang, a.kind, e.hazard_tags),
        "level_source": level_vocab.source(a.kind, a.level),
        "instruction": a.instruction, "severity": a.severity, "status": a.status,
        "drill": drill, "info_type": a.info_type, "issued_at": a.issued_at,
        "valid_until": a.valid_until, "publisher": a.publisher, "serial": a.serial,
        "event_id": a.event_id, "hazard_tags": list(e.hazard_tags),
        "hazard_text": [phrases.hazard_name(h, lang)
                        for h in e.hazard_tags],
        "areas": _areas(areas, e.footprint is not None),
        "shelters": [{"name": s.name, "distance_m": round(s.distance_m), "fits": s.fits_hazard,
                      "state": s.state, "inside": s.inside} for s in e.shelters[:8]],
        "colour": LEVEL_COLOURS.get(a.level or 0, NO_LEVEL_COLOUR),
        "footprint": e.footprint,
    }


def map_svg(views: list[dict[str, Any]], t: Callable[[str], str]) -> Markup:
    """The overview's SVG, marked safe here (desk_map escapes every label) rather than
    with ``|safe`` in a template."""
    items = [desk_map.MapItem(v["number"], v["footprint"], v["colour"],
                              f"{v['number']}. {v['level_text']} {v['title']}") for v in views]
    return Markup(desk_map.render(items, label=t("map"), empty_text=t("map.none")))


def _wants_drills(app: web.Application, output: Any) -> bool:
    return bool(app[CONFIG].output_config(output.name).get("drills")) or bool(
        getattr(output, "wants_drills", False))


PUSH_ORDER = ("dead", "retrying", "pending", "sent")


def push_states(app: web.Application, seqs: list[int]) -> dict[int, dict[str, dict[str, int]]]:
    """Per-subscriber deliveries of push outputs (webhook, Web Push, MQTT) by change seq."""
    home = app[CONFIG].home
    from lalert.outputs.delivery import PushStore

    if not seqs:
        return {}
    try:
        store = PushStore.existing(home)
        return store.seq_states(seqs) if store is not None else {}
    except Exception:  # the console must render even if the push store is unreadable
        return {}


def summarise_push(counts: dict[str, int]) -> dict[str, str]:
    """One state for many subscribers' deliveries: the worst present, with the counts."""
    worst = next((s for s in PUSH_ORDER if counts.get(s)), "sent")
    return {"state": worst, "detail": "", "counts": dict(sorted(counts.items()))}


def delivery_status(app: web.Application, alert_id: str, drill: bool,
                    push: dict[int, dict[str, dict[str, int]]] | None = None,
                    ) -> list[dict[str, str]]:
    """Each output's state for an alert's current version.

    An outbox record (keyed by the change ``seq`` or the alert id) wins, then the push
    deliveries of that change (worst state first, with counts); otherwise the bus cursor
    says whether the output has handled the change yet.
    """
    p = app[PIPELINE]
    seq = p.view.seq_of(alert_id)
    cursors = p.bus.cursors()
    records: dict[str, dict[str, str]] = {}
    if seq is not None:
        records.update(p.outbox.status(str(seq)))
    records.update(p.outbox.status(alert_id))
    pushed = (push or {}).get(seq, {}) if seq is not None else {}
    out = []
    for o in app[OUTPUTS]:
        rec = records.get(o.name)
        counts = pushed.get(o.name)
        if rec is None and counts:
            rec = summarise_push(counts)
        tally: dict[str, int] = {}
        if rec is not None:
            state, detail = rec["state"], rec.get("detail", "")
            tally = rec.get("counts") or {}
        elif o.name not in cursors:
            state, detail = "stopped", ""
        elif drill and not _wants_drills(app, o):
            state, detail = "no_drills", ""
        elif seq is not None and cursors[o.name] >= seq:
            state, detail = "handled", ""
        else:
            state, detail = "queued", ""
        out.append({"output": o.name, "state": state, "detail": detail, "counts": tally})
    return out


def raw_text(raw: bytes | None) -> tuple[str | None, bool]:
    """Bytes as text for display (escaped by the template), and whether it was cut."""
    if raw is None:
        return None, False
    cut = len(raw) > RAW_SHOWN
    return raw[:RAW_SHOWN].decode("utf-8", errors="replace"), cut


# --- request plumbing ------------------------------------------------------------------


def _lang(request: web.Request, session: Any) -> str:
    q = request.rel_url.query.get("lang")
    if q in LANGS:
        if session is not None and session.get("user") and session.get("lang") != q:
            session["lang"] = q
        return q
    if session is not None and session.get("lang") in LANGS:
        return str(session["lang"])
    return "ja"


def _error_page(request: web.Request, status: int, title_key: str, body_key: str) -> web.Response:
    lang = request.get("desk.lang", "ja")
    t = translator(lang)
    html = request.app[DESK].env.get_template("error.html.j2").render(
        t=t, lang=lang, title=t(title_key), body=t(body_key), user=None, csrf="", nav=[],
        path=request.path)
    return web.Response(status=status, text=html, content_type="text/html",
                        headers=SECURITY_HEADERS)


def _live(request: web.Request, s: Any) -> bool:
    """The cookie's session is still open server-side (``sessions.SessionRegistry``)."""
    desk = request.app[DESK]
    if desk.registry is None:
        return False
    user = str(s.get("user"))
    cred = sessions.credential_of(desk.users, request.app[AUTH_KEY].names(), user, s.get("via"))
    return desk.registry.live(s.get("sid"), user, cred)


def page(handler: Handler, *, public: bool = False) -> Handler:
    """Wrap a desk handler: session, login check, CSRF check on POST, language."""

    async def inner(request: web.Request) -> web.StreamResponse:
        s = await sessions.session_of(request)
        if s.get("user") and not _live(request, s):
            s.invalidate()  # logged out, or its credential changed: the cookie is spent
        request["desk.lang"] = _lang(request, s)
        request["desk.user"] = s.get("user")
        if not public and not s.get("user"):
            if request.method == "GET":
                nxt = request.path_qs
                raise web.HTTPSeeOther("/desk/login?" + urlencode({"next": nxt}))
            return _error_page(request, 403, "login.title", "session.expired")
        if request.method == "POST":
            form = await request.post()
            if not await sessions.check_csrf(request, form.get("csrf")):
                return _error_page(request, 403, "csrf.title", "csrf.body")
        return await handler(request)

    async def wrapped(request: web.Request) -> web.StreamResponse:
        return await request.app[DESK].middleware(request, inner)

    wrapped.__doc__ = handler.__doc__
    return wrapped


NAV = [("overview", "/desk/"), ("history", "/desk/history"), ("rejected", "/desk/rejected"),
       ("feeds", "/desk/feeds"), ("deliveries", "/desk/deliveries"), ("submit", "/desk/submit"),
       ("screens", "/desk/screens"), ("shelters", "/desk/shelters")]


def _lang_url(request: web.Request, lang: str) -> str:
    """This page in the other language; a GET keeps its filters (e.g. channel, state)."""
    if request.method == "GET":
        return str(request.rel_url.update_query(lang=lang))
    return f"{request.path}?lang={lang}"


def words(lang: str) -> dict[str, Any]:
    """Every state and outcome word the templates print, in the page's language."""
    return {
        "delivery_word": lambda k: pick(DELIVERY, k, lang),
        "outcome_word": lambda k: pick(OUTCOMES, k or "", lang),
        "source_word": lambda k: pick(SOURCES, k or "", lang),
        "format_word": lambda k: pick(FORMATS, k, lang) if k else "—",
        "output_word": lambda k: pick(OUTPUT_NAMES, k or "", lang),
        "status_word": lambda k: pick(STATUSES, k or "", lang),
        "fact_word": lambda k: pick(FACTS, k or "", lang),
        "alarm_text": lambda text: alarm_text(text, lang),
    }


_SILENT = re.compile(r"^feed (.+) is silent$")


def alarm_text(text: str, lang: str) -> str:
    """/healthz's alarm sentences (English, for machines) in the desk's language."""
    m = _SILENT.match(text)
    return translator(lang)("alarm.silent").format(name=m.group(1)) if m else text


async def render(request: web.Request, template: str, *, status: int = 200,
                 **ctx: Any) -> web.Response:
    lang = request.get("desk.lang", "ja")
    other = "en" if lang == "ja" else "ja"
    html = request.app[DESK].env.get_template(template).render(
        t=translator(lang), lang=lang, user=request.get("desk.user"),
        csrf=await sessions.csrf_token(request), nav=NAV, path=request.path,
        other_lang=other, other_lang_url=_lang_url(request, other), when=when,
        channel_word=lambda k: pick(CHANNELS, k, lang),
        shelter_word=lambda k: pick(SHELTER_STATES, k or "unknown", lang),
        **words(lang), **ctx)
    return web.Response(status=status, text=html, content_type="text/html",
                        headers=SECURITY_HEADERS)


# --- login -----------------------------------------------------------------------------


def _safe_next(nxt: str | None) -> str:
    if nxt and nxt.startswith("/desk") and not nxt.startswith("//") and "\\" not in nxt:
        return nxt
    return "/desk/"


async def login_form(request: web.Request) -> web.Response:
    """The login page."""
    if request.get("desk.user"):
        raise web.HTTPSeeOther(_safe_next(request.rel_url.query.get("next")))
    return await render(request, "login.html.j2", failed=False,
                        next=_safe_next(request.rel_url.query.get("next")), name="")


async def login(request: web.Request) -> web.Response:
    """Check a name + password, or an ingest token; start a session."""
    form = await request.post()
    name = str(form.get("name", "")).strip()
    secret = str(form.get("secret", ""))
    desk = request.app[DESK]
    addr = client_address(request, desk.trusted)
    # counted before the (slow) check, with no await in between: concurrent guesses
    # cannot all pass the throttle before the first of them is counted
    who = name.casefold()  # per name too (not for token logins, which give none)
    wait = max(desk.throttle.retry_after(addr),
               desk.name_throttle.retry_after(who) if who else 0)
    if not wait:
        desk.throttle.failed(addr)
        if who:
            desk.name_throttle.failed(who)
    if wait:  # refused before any password is checked
        text = translator(request.get("desk.lang", "ja"))("login.throttled").format(s=wait)
        r = await render(request, "login.html.j2", status=429, failed=False, throttled=text,
                         next=_safe_next(str(form.get("next", ""))), name=name)
        r.headers["Retry-After"] = str(wait)
        return r
    operator = await asyncio.get_running_loop().run_in_executor(
        None, sessions.check_login, desk.users, request.app[AUTH_KEY].names(), name, secret)
    if operator is None:
        await asyncio.sleep(0.3)  # slows guessing; the page says only that it failed
        return await render(request, "login.html.j2", status=401, failed=True,
                            next=_safe_next(str(form.get("next", ""))), name=name)
    desk.throttle.succeeded(addr)
    desk.name_throttle.succeeded(who)
    via = "user" if any(u.name == name for u in desk.users) else "token"
    cred = sessions.credential_of(desk.users, request.app[AUTH_KEY].names(), operator, via)
    assert desk.registry is not None and cred is not None
    sid = await asyncio.get_running_loop().run_in_executor(
        None, desk.registry.start, operator, cred)
    await sessions.start_session(request, operator, request.get("desk.lang", "ja"), sid=sid,
                                 via=via)
    raise web.HTTPSeeOther(_safe_next(str(form.get("next", ""))))


async def logout(request: web.Request) -> web.Response:
    """End the session, server-side too: the cookie no longer opens anything."""
    s = await sessions.session_of(request)
    registry = request.app[DESK].registry
    if registry is not None:
        registry.end(s.get("sid"))
    s.invalidate()
    raise web.HTTPSeeOther("/desk/login")


# --- overview --------------------------------------------------------------------------


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
    return {
        "alerts": real, "outside": outside, "drills": drills, "map": map_svg(real + drills, t),
        "stale": stale,
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


# --- history, rejected, message --------------------------------------------------------


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


# --- feeds -----------------------------------------------------------------------------


async def feeds(request: web.Request) -> web.Response:
    """Poller status per feed (last success, silence alarm), spool, journal."""
    app = request.app
    poller = app.get(POLLER)
    spool = app.get(SPOOL)
    return await render(request, "feeds.html.j2", feeds=poller.status() if poller else [],
                        spool=spool.status() if spool else None, health=health_document(app))


# --- push deliveries -------------------------------------------------------------------


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str:
    v = request.rel_url.query.get(name, "")
    return v if v in allowed else ""


async def deliveries(request: web.Request) -> web.Response:
    """Push deliveries: counts per channel and state, recent ones filtered by channel/state."""
    channel = _choice(request, "channel", desk_deliveries.CHANNELS)
    state = _choice(request, "state", desk_deliveries.STATES)
    ctx = await asyncio.to_thread(desk_deliveries.listing, request.app[CONFIG].home,
                                  channel, state)
    return await render(request, "deliveries.html.j2", channel=channel, state=state,
                        channels=desk_deliveries.CHANNELS, states=desk_deliveries.STATES,
                        **ctx)


async def delivery_page(request: web.Request, *, status: int = 200,
                        notice: str | None = None, error: str | None = None) -> web.Response:
    """One delivery: recipient (masked), state and its full attempt log."""
    ctx = await asyncio.to_thread(desk_deliveries.detail, request.app[CONFIG].home,
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
    outcome = desk_deliveries.retry(request.app[CONFIG].home, did)
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
        return _error_page(request, 409, "stale", "active.none")
    raise web.HTTPSeeOther(f"/desk/messages/{receipt.id}")


# --- manual submission -----------------------------------------------------------------


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
    now = time.monotonic()
    for k, (_, _, at) in list(desk.pending.items()):
        if now - at > PENDING_TTL:
            del desk.pending[k]
    token = secrets.token_urlsafe(16)
    desk.pending[token] = (request["desk.user"], raw, now)
    while len(desk.pending) > PENDING_MAX:
        desk.pending.popitem(last=False)
    text, cut = raw_text(raw)
    return await render(request, "preview.html.j2", alerts=views, reason=reason, pending=token,
                        size=len(raw), sha256=hashlib.sha256(raw).hexdigest(), raw=text, cut=cut,
                        map=map_svg(views, t) if views else "")


async def submit_confirm(request: web.Request) -> web.Response:
    """Journal the previewed bytes through the same path as HTTP push."""
    desk = request.app[DESK]
    form = await request.post()
    token = str(form.get("pending", ""))
    held = desk.pending.get(token)
    if held is None or held[0] != request["desk.user"]:
        return await render(request, "submit.html.j2", status=409,
                            error=translator(request["desk.lang"])("preview.expired"), text="")
    del desk.pending[token]
    receipt = await request.app[PIPELINE].submit(held[1], source="desk",
                                                 sender=request["desk.user"])
    raise web.HTTPSeeOther(f"/desk/messages/{receipt.id}?sent=1")


# --- signage screens and 00000JAPAN ----------------------------------------------------


def config_screens(app: web.Application) -> list[dict[str, Any]]:
    """Screen tables from configuration (``[outputs.signage] screens`` or ``[signage]``)."""
    config = app[CONFIG]
    raw = config.output_config("signage").get("screens") or config.section("signage").get(
        "screens") or []
    if isinstance(raw, dict):
        return [{"id": k, **v} for k, v in raw.items() if isinstance(v, dict)]
    return [dict(x) for x in raw if isinstance(x, dict)]


def current_screens(app: web.Application) -> tuple[list[dict[str, Any]], str]:
    edited = flags.load_screens(app[CONFIG].home)
    if edited is not None:
        return edited, "desk"
    return config_screens(app), "config"


def apply_settings(app: web.Application) -> None:
    """Hand the home's operator settings to every running output."""
    settings = flags.output_settings(app[CONFIG].home)
    for o in app[OUTPUTS]:
        ctx = getattr(o, "ctx", None)
        if ctx is not None and isinstance(getattr(ctx, "settings", None), dict):
            ctx.settings.update(settings)


def _screen_rows(tables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from lalert.outputs.signage.screens import ScreenConfigError, parse_screen

    rows = []
    for tbl in tables:
        try:
            s = parse_screen(tbl)
            rows.append({"table": tbl, "screen": s, "error": None})
        except ScreenConfigError as exc:
            rows.append({"table": tbl, "screen": None, "error": str(exc)})
    return rows


async def screens_page(request: web.Request, *, status: int = 200, error: str | None = None,
                       form: dict[str, Any] | None = None) -> web.Response:
    """Signage screens: list, add / edit form, 00000JAPAN declaration."""
    from lalert.outputs.signage.screens import LANGS as SCREEN_LANGS

    tables, source = current_screens(request.app)
    if form is None:
        edit = request.rel_url.query.get("edit")
        form = next((dict(t) for t in tables if str(t.get("id")) == edit), None) or {}
    return await render(request, "screens.html.j2", status=status, rows=_screen_rows(tables),
                        source=source, error=error, form=form, screen_langs=SCREEN_LANGS,
                        saved=request.rel_url.query.get("saved"),
                        japan=flags.load_flags(request.app[CONFIG].home).get(flags.JAPAN))


def _csv(v: Any) -> list[str]:
    return [x.strip() for x in str(v or "").split(",") if x.strip()]


def _screen_table(form: Any) -> dict[str, Any]:
    """A TOML-shaped screen table from the form (validated by ``parse_screen``)."""
    tbl: dict[str, Any] = {"id": str(form.get("id", "")).strip(),
                           "name": str(form.get("name", "")).strip()}
    for k in ("lat", "lon"):
        v = str(form.get(k, "")).strip()
        if v:
            try:
                tbl[k] = float(v)
            except ValueError:
                tbl[k] = v  # parse_screen names the field in its message
    if _csv(form.get("areas")):
        tbl["areas"] = _csv(form.get("areas"))
    langs = [str(x) for x in form.getall("languages", [])]
    if langs:
        tbl["languages"] = langs
    tbl["orientation"] = str(form.get("orientation", "landscape"))
    try:
        tbl["min_level"] = int(str(form.get("min_level", "3")))
    except ValueError:
        tbl["min_level"] = 3
    tbl["drills"] = form.get("drills") == "1"
    if _csv(form.get("wifi_ssids")):
        tbl["wifi_ssids"] = _csv(form.get("wifi_ssids"))
    return tbl


async def screens_save(request: web.Request) -> web.Response:
    """Add or replace one screen (by id); the whole list must stay valid."""
    from lalert.outputs.signage.screens import ScreenConfigError, parse_screen, parse_screens

    form = await request.post()
    tbl = _screen_table(form)
    try:
        parse_screen(tbl)
        tables, _ = current_screens(request.app)
        tables = [t for t in tables if str(t.get("id")) != tbl["id"]]
        original = str(form.get("original_id", "")).strip()
        if original and original != tbl["id"]:
            tables = [t for t in tables if str(t.get("id")) != original]
        tables.append(tbl)
        parse_screens(tables)
    except ScreenConfigError as exc:
        return await screens_page(request, status=400, error=str(exc), form=tbl)
    flags.save_screens(request.app[CONFIG].home, tables)
    apply_settings(request.app)
    raise web.HTTPSeeOther("/desk/screens?" + urlencode({"saved": tbl["id"]}))


async def screens_delete(request: web.Request) -> web.Response:
    """Remove one screen from the desk's list."""
    form = await request.post()
    sid = str(form.get("id", ""))
    tables, _ = current_screens(request.app)
    flags.save_screens(request.app[CONFIG].home, [t for t in tables if str(t.get("id")) != sid])
    apply_settings(request.app)
    raise web.HTTPSeeOther("/desk/screens")


async def japan_toggle(request: web.Request) -> web.Response:
    """Declare 00000JAPAN open, or end the declaration."""
    form = await request.post()
    flags.set_flag(request.app[CONFIG].home, flags.JAPAN, form.get("open") == "1",
                   by=request["desk.user"])
    apply_settings(request.app)
    back = str(form.get("back", ""))
    raise web.HTTPSeeOther(back if back in ("/desk/", "/desk/screens") else "/desk/screens")


# --- static and setup ------------------------------------------------------------------


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


async def to_desk(request: web.Request) -> web.Response:
    """The console's entry (redirects to ``/desk/``)."""
    raise web.HTTPSeeOther("/desk/")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/desk", to_desk),
        web.get("/desk/static/{name}", static),
        web.get("/desk/login", page(login_form, public=True)),
        # read before anyone is known: a small bound, checked before reading
        web.post("/desk/login", security.body_limit(LOGIN_MAX_BODY)(page(login, public=True))),
        web.post("/desk/logout", page(logout)),
        web.get("/desk/", page(overview)),
        web.get("/desk/live", page(live)),
        web.get("/desk/history", page(history)),
        web.get("/desk/rejected", page(rejected)),
        web.get("/desk/messages/{id}", page(message)),
        web.get("/desk/feeds", page(feeds)),
        web.get("/desk/deliveries", page(deliveries)),
        web.get("/desk/deliveries/{id}", page(delivery_page)),
        web.post("/desk/deliveries/{id}/retry", page(delivery_retry)),
        web.post("/desk/alerts/{id}/withdraw", page(alert_withdraw)),
        web.get("/desk/submit", page(submit_form)),
        web.post("/desk/submit", page(submit_preview)),
        web.post("/desk/submit/confirm", page(submit_confirm)),
        web.get("/desk/screens", page(screens_page)),
        web.post("/desk/screens", page(screens_save)),
        web.post("/desk/screens/delete", page(screens_delete)),
        web.post("/desk/japan", page(japan_toggle)),
        *desk_shelters.routes(page),
    ]


def document(app: web.Application, defs: list[web.RouteDef]) -> None:
    """OpenAPI entries for the console's routes (HTML for people, not an API)."""
    docs = app.get(EXTRA_DOCS)
    if docs is None:
        return
    for d in defs:
        summary = (d.handler.__doc__ or "Desk console").strip().splitlines()[0]
        desc = ("Desk console (HTML). Needs the session cookie from /desk/login; without it "
                "GET redirects to the login page." + (
                    " Every POST carries the form field `csrf` (403 when missing or wrong)."
                    if d.method == "POST" else ""))
        ok = {"200": {"description": "HTML page", "content": {"text/html": {}}},
              "303": {"description": "Redirect (to the login page without a session)"}}
        if d.method == "POST":
            ok["403"] = {"description": "CSRF token missing or wrong"}
        if d.method == "POST" and d.path == "/desk/login":
            ok["429"] = {"description": "Too many failed logins from this address "
                                        "(see Retry-After)"}
        if d.path.startswith("/desk/deliveries/{id}"):
            ok["404"] = {"description": "No such delivery"}
        if d.method == "POST" and d.path.endswith("/retry"):
            ok["409"] = {"description": "The delivery is not dead-lettered"}
        docs.setdefault(d.path, {})[d.method.lower()] = {
            "summary": summary, "description": desc, "tags": ["desk"], "responses": ok}


def setup(app: web.Application) -> None:
    """Mount the console on the daemon's app (called by ``create_app``)."""
    config = app[CONFIG]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["bdi"] = bdi
    store = sessions.storage(config.home, secure=config.public_url.startswith("https://"))
    desk_cfg = config.section("desk")
    window = float(desk_cfg.get("login_window_s", sessions.LOGIN_WINDOW))
    app[DESK] = Desk(
        home=config.home, env=env, middleware=sessions.middleware(store),
        users=sessions.users_from_config(desk_cfg), static=load_static(),
        throttle=sessions.LoginThrottle(
            failures=int(desk_cfg.get("login_failures", sessions.LOGIN_FAILURES)),
            window=window),
        name_throttle=sessions.LoginThrottle(
            failures=int(desk_cfg.get("login_failures_per_name",
                                      sessions.LOGIN_FAILURES_PER_NAME)), window=window),
        registry=sessions.SessionRegistry(config.home), trusted=trusted_proxies(config.raw))

    async def _close_registry(app: web.Application) -> None:
        registry = app[DESK].registry
        if registry is not None:
            registry.close()

    app.on_cleanup.append(_close_registry)
    # Outputs start before any on_startup hook of ours runs: put the home's settings
    # where the factory builds every OutputContext.settings from, then keep them current.
    config.raw.update(flags.output_settings(config.home))
    defs = routes()
    app.router.add_routes(defs)
    document(app, defs)

    async def _apply(app: web.Application) -> None:
        apply_settings(app)

    app.on_startup.append(_apply)


__all__ = ["setup", "routes", "DESK", "delivery_status", "alert_view", "apply_settings"]

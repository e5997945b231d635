"""Session glue for every desk page: the ``page`` wrapper (login, server-side session,
CSRF on POST, language) and ``render``, which gives every template the same words."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from lalert.server import sessions
from lalert.server.auth import AUTH_KEY
from lalert.server.desk.formatting import when
from lalert.server.desk.state import DESK, Handler
from lalert.server.desk.text import (
    CHANNELS,
    DELIVERY,
    FACTS,
    FORMATS,
    LANGS,
    OUTCOMES,
    OUTPUT_NAMES,
    SHELTER_STATES,
    SOURCES,
    STATUSES,
    pick,
    translator,
)

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
}


def _lang(request: web.Request, session: Any) -> str:
    q = request.rel_url.query.get("lang")
    if q in LANGS:
        if session is not None and session.get("user") and session.get("lang") != q:
            session["lang"] = q
        return q
    if session is not None and session.get("lang") in LANGS:
        return str(session["lang"])
    return "ja"


def error_page(request: web.Request, status: int, title_key: str, body_key: str) -> web.Response:
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
            return error_page(request, 403, "login.title", "session.expired")
        if request.method == "POST":
            form = await request.post()
            if not await sessions.check_csrf(request, form.get("csrf")):
                return error_page(request, 403, "csrf.title", "csrf.body")
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


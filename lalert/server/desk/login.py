"""Login and logout: throttled per client and per name before the slow password check;
logout ends the session server-side (``sessions.SessionRegistry``)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from lalert.clientaddr import client_address
from lalert.server import sessions
from lalert.server.auth import AUTH_KEY
from lalert.server.desk.session import render
from lalert.server.desk.state import DESK
from lalert.server.desk.text import translator

LOGIN_MAX_BODY = 16 * 1024  # name, password, csrf, next: far below this


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


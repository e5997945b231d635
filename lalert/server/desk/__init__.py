"""The desk console ``/desk``: what operators of a prefectural disaster desk look at.

Behind a login (``lalert.server.sessions``): the active alerts with their level, areas,
a small SVG map and each output's delivery state; rejected messages with the reason and
the raw text; the message history; feed health; manual submission (paste or upload →
preview of how lalert reads it → confirmation → the same journal path as HTTP push, with
the operator as sender); signage screens and the 00000JAPAN declaration, both kept in
the home (``lalert.store.flags``) and handed to outputs through ``OutputContext.settings``;
push deliveries per channel with each one's attempt log and "retry now" for dead letters
(``deliveries``). Login attempts are counted before they are checked,
per client (``lalert.clientaddr``) and per name (``sessions.LoginThrottle``); logout and a
changed credential end a session server-side (``sessions.SessionRegistry``).

Pages are rendered on the server with jinja2 (autoescaped) and work without script;
``desk.js`` only refreshes the live part of the overview by polling ``/desk/live`` with
``If-None-Match``. Every POST carries the session's CSRF token. The routes are plain
routes of the main app whose handlers are wrapped in the session middleware, so public
readers never pay for cookie handling.

One module per concern: ``session`` (the page wrapper and rendering), ``login``,
``pages`` (the read-only pages), ``submit`` with its ``preview`` store, ``screens``,
``shelters``, ``staticfiles``; ``views`` is the one read model of an alert and its delivery
state; ``formatting`` the colour and time helpers; ``text`` the fixed strings;
``deliveries`` and ``svgmap`` what the deliveries page and the overview map draw.
"""

from __future__ import annotations

import jinja2
from aiohttp import web

from lalert import resources
from lalert.clientaddr import trusted_proxies
from lalert.outputs.htmltext import bdi
from lalert.server import security, sessions
from lalert.server.desk import login, pages, screens, shelters, submit
from lalert.server.desk.screens import apply_settings
from lalert.server.desk.session import page
from lalert.server.desk.state import DESK, Desk
from lalert.server.desk.staticfiles import load_static, static
from lalert.server.keys import CONFIG, EXTRA_DOCS
from lalert.store import flags

TEMPLATES = resources.path("server", "templates", "desk")


async def to_desk(request: web.Request) -> web.Response:
    """The console's entry (redirects to ``/desk/``)."""
    raise web.HTTPSeeOther("/desk/")


def routes() -> list[web.RouteDef]:
    return [
        web.get("/desk", to_desk),
        web.get("/desk/static/{name}", static),
        web.get("/desk/login", page(login.login_form, public=True)),
        # read before anyone is known: a small bound, checked before reading
        web.post("/desk/login",
                 security.body_limit(login.LOGIN_MAX_BODY)(page(login.login, public=True))),
        web.post("/desk/logout", page(login.logout)),
        web.get("/desk/", page(pages.overview)),
        web.get("/desk/live", page(pages.live)),
        web.get("/desk/history", page(pages.history)),
        web.get("/desk/rejected", page(pages.rejected)),
        web.get("/desk/messages/{id}", page(pages.message)),
        web.get("/desk/feeds", page(pages.feeds)),
        web.get("/desk/deliveries", page(pages.deliveries)),
        web.get("/desk/deliveries/{id}", page(pages.delivery_page)),
        web.post("/desk/deliveries/{id}/retry", page(pages.delivery_retry)),
        web.post("/desk/alerts/{id}/withdraw", page(pages.alert_withdraw)),
        web.get("/desk/submit", page(submit.submit_form)),
        web.post("/desk/submit", page(submit.submit_preview)),
        web.post("/desk/submit/confirm", page(submit.submit_confirm)),
        web.get("/desk/screens", page(screens.screens_page)),
        web.post("/desk/screens", page(screens.screens_save)),
        web.post("/desk/screens/delete", page(screens.screens_delete)),
        web.post("/desk/japan", page(screens.japan_toggle)),
        *shelters.routes(page),
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


__all__ = ["DESK", "routes", "setup"]

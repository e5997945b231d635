"""Signage screens and the 00000JAPAN declaration, kept in the home (``lalert.store.flags``)
and handed to running outputs through ``OutputContext.settings``."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from lalert.server.desk.session import render
from lalert.server.keys import CONFIG, OUTPUTS
from lalert.store import flags


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


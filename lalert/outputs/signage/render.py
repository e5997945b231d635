"""Content dict → HTML through the jinja2 templates under the top-level ``signage/``.

Rendering happens once per state version (the output caches the result as
``lalert.httpcache.Rendered``); requests never render. Every language of a screen is in
one page (elements carry ``data-l``) so the player rotates languages locally; the
``lang`` argument only chooses which one shows first, which is how players without
JavaScript rotate (``<meta http-equiv="refresh">`` to the next language's URL).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import segno
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from lalert.outputs.htmltext import bdi
from lalert.outputs.signage import content as c
from lalert.outputs.signage.i18n import ASSETS, tr
from lalert.outputs.signage.screens import HTML_LANG, Screen
from lalert.outputs.signage.svgmap import render_map

JST = ZoneInfo("Asia/Tokyo")
LANG_NAMES = {"ja": "日本語", "en": "English", "zh_Hans": "简体中文", "ko": "한국어",
              "ja_x_easy": "やさしい にほんご"}

URLS_DAEMON: dict[str, Callable[[str, str | None], str]] = {
    "page": lambda sid, lang: sid + (f"?lang={lang}" if lang else ""),
    "json": lambda sid, _lang: f"{sid}.json",
}
URLS_EXPORT: dict[str, Callable[[str, str | None], str]] = {
    "page": lambda sid, lang: f"{sid}.{lang}.html" if lang else f"{sid}.html",
    "json": lambda sid, _lang: f"{sid}.json",
}


def local_time(iso: str | None, fmt: str = "%m/%d %H:%M") -> str:
    """An ISO 8601 time shown in Japan time (the alerts' own zone), or '' when unusable."""
    if not iso:
        return ""
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if t.tzinfo is not None:
        t = t.astimezone(JST)
    return t.strftime(fmt)


def qr_svg(url: str) -> Markup:
    """Inline QR code (segno), dark on white with the quiet zone kept."""
    q = segno.make(url, error="m")
    return Markup(q.svg_inline(scale=4, omitsize=True, dark="#000", light="#fff"))


class Renderer:
    def __init__(self, templates: Path = ASSETS / "templates") -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(templates)),
            autoescape=select_autoescape(["html", "j2"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["localtime"] = local_time
        self.env.filters["bdi"] = bdi
        self.env.globals.update(tr=tr, html_lang=HTML_LANG, level_words=c.LEVEL_WORDS,
                                level_actions=c.LEVEL_ACTIONS, level_badges=c.LEVEL_BADGES, grade_words=c.GRADE_WORDS,
                                hazards=c.HAZARDS,
                                states=c.STATES, directions=c.DIRECTIONS)

    def screen_page(
        self, body: dict[str, Any], screen: Screen, lang: str, *, export: bool = False,
        json_etag: str = "",
    ) -> str:
        urls = URLS_EXPORT if export else URLS_DAEMON
        langs = list(screen.languages)
        nxt = langs[(langs.index(lang) + 1) % len(langs)] if lang in langs else langs[0]
        main = body["main"]
        map_svg = ""
        if screen.has_point and (main or body["shelters"]):
            w, h = (900, 640) if screen.orientation == "landscape" else (1000, 620)
            map_svg = Markup(render_map(
                screen.lat, screen.lon,  # type: ignore[arg-type]
                footprint=main and main.get("_footprint"),
                shelters=body["shelters"],
                colour=main["colour"] if main else None,
                width=w, height=h,
                label=f"{screen.name}: 地図 / map",
            ))
        info_times = [a["issued_at"] for a in [main, *body["others"], *body["info"]] if a]
        return self.env.get_template("screen.html.j2").render(
            b=body,
            s=screen,
            lang=lang if lang in langs else langs[0],
            langs=langs,
            main=main,
            next_url=urls["page"](screen.id, nxt),
            json_url=urls["json"](screen.id, None),
            json_etag=json_etag,
            qr=qr_svg(body["map_url"]) if body.get("map_url") else "",
            map_svg=map_svg,
            as_of=max(info_times) if info_times else None,
        )

    def listing(self, screens: Sequence[Screen], modes: dict[str, str]) -> str:
        return self.env.get_template("index.html.j2").render(screens=screens, modes=modes)

    def here_page(self, body: dict[str, Any], lang: str, langs: Sequence[str]) -> str:
        return self.env.get_template("here.html.j2").render(
            b=body, lang=lang, all_langs=list(langs), lang_names=LANG_NAMES
        )


def json_body(body: dict[str, Any]) -> str:
    """The public ``.json``: the content dict without private (``_``-prefixed) keys."""

    def strip(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if not k.startswith("_")}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v

    return json.dumps(strip(body), ensure_ascii=False, separators=(",", ":"))

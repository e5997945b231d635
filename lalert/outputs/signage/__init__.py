"""Digital-signage output: pages that players pull, alert takeover, static export.

Each screen's content is decided (``content``) and rendered (``render``) once per state
version, then served from memory with an ETag (``routes``). Nothing is rendered per
request, so a station's worth of players polling every few seconds costs a dictionary
look-up and, almost always, a 304.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lalert.changes import AlertChange
from lalert.httpcache import Rendered
from lalert.outputs.base import BaseOutput, OutputContext
from lalert.outputs.public import shelter_board
from lalert.outputs.signage import content, places
from lalert.outputs.signage.i18n import ASSETS, tr
from lalert.outputs.signage.render import Renderer, json_body
from lalert.outputs.signage.screens import LANGS, Screen, parse_screen, parse_screens

if TYPE_CHECKING:  # pragma: no cover
    from aiohttp import web

log = logging.getLogger(__name__)

STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
EXPORT_INTERVAL_S = 1.0  # at most one static re-export per this many seconds (config: export_interval)
SETTINGS_SCREENS = "signage.screens"
SETTINGS_JAPAN = "wifi_00000japan"


@dataclass
class _Entry:
    """One screen's renders for one cache key (state version + settings)."""

    key: tuple[Any, ...]
    body: dict[str, Any]
    json: Rendered
    expires_at: datetime | None
    pages: dict[tuple[str, bool], Rendered] = field(default_factory=dict)


class SignageOutput(BaseOutput):
    name = "signage"

    def __init__(self) -> None:
        super().__init__()
        self.renderer = Renderer()
        self._config_screens: dict[str, Screen] = {}
        self._cache: dict[str, _Entry] = {}
        self._here: dict[tuple[str, str], tuple[tuple[Any, ...], Rendered]] = {}
        self._listing: tuple[tuple[Any, ...], Rendered] | None = None
        self._alerts: tuple[int, list[Any], list[Any]] | None = None
        self.static: dict[str, Rendered] = load_static(ASSETS / "static")
        self.export_dir: Path | None = None
        self.export_interval = EXPORT_INTERVAL_S
        self._export_task: asyncio.Task[None] | None = None
        self._export_dirty = False
        self._export_wake = asyncio.Event()
        self._last_export = float("-inf")  # loop time of the last re-export's start

    # --- lifecycle -------------------------------------------------------------------

    async def start(self, ctx: OutputContext) -> None:
        await super().start(ctx)
        # [outputs.signage] screens, or a top-level [signage] table (ctx.settings is the tree)
        top = ctx.settings.get("signage") if isinstance(ctx.settings.get("signage"), dict) else {}
        self._config_screens = parse_screens(ctx.config.get("screens", top.get("screens")))
        raw = ctx.config.get("export_dir")
        self.export_dir = (ctx.home / raw) if raw else None
        self.export_interval = float(ctx.config.get("export_interval", EXPORT_INTERVAL_S))
        if self.export_dir:
            await self._export()

    async def handle(self, change: AlertChange) -> None:
        """Pages render lazily on the next request; only the export needs a push.

        The export is debounced: at most one per ``export_interval`` seconds, the first
        change after a quiet spell at once, the changes within an interval coalesced into
        one export at its end (a 1,000-message burst used to re-render every screen
        hundreds of times on the loop). ``stop()`` flushes what is pending."""
        if not self.export_dir:
            return
        self._export_dirty = True
        if self._export_task is None or self._export_task.done():
            self._export_task = asyncio.ensure_future(self._export_loop())

    async def stop(self) -> None:
        """Flush: a pending re-export runs now instead of after the interval."""
        if self._export_task is not None:
            self._export_wake.set()
            await asyncio.shield(self._export_task)

    async def _export_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while self._export_dirty:
            wait = self._last_export + self.export_interval - loop.time()
            if wait > 0 and not self._export_wake.is_set():
                try:  # changes meanwhile coalesce into the one export below
                    await asyncio.wait_for(self._export_wake.wait(), wait)
                except TimeoutError:
                    pass
            self._export_dirty = False
            self._last_export = loop.time()
            await self._export()

    async def _export(self) -> None:
        from lalert.outputs.signage.export import export_all

        assert self.export_dir is not None
        try:
            # render on the loop (reads shared state); write files in a thread
            files = export_files(self)
            await asyncio.get_running_loop().run_in_executor(
                None, export_all, files, self.export_dir
            )
        except OSError as exc:
            log.warning("signage export to %s failed: %s", self.export_dir, exc)

    def routes(self) -> list[web.AbstractRouteDef]:
        from lalert.outputs.signage.routes import signage_routes

        return signage_routes(self)

    # --- what to show ----------------------------------------------------------------

    @property
    def settings(self) -> dict[str, Any]:
        return self.ctx.settings if self.ctx else {}

    @property
    def config(self) -> dict[str, Any]:
        return self.ctx.config if self.ctx else {}

    def screens(self) -> dict[str, Screen]:
        """Configured screens, or the desk's edited set when it has one."""
        edited = self.settings.get(SETTINGS_SCREENS)
        if edited is None:
            return self._config_screens
        try:
            return parse_screens(edited)
        except ValueError as exc:
            log.warning("desk screen settings ignored: %s", exc)
            return self._config_screens

    def japan_open(self) -> bool:
        return bool(self.settings.get(SETTINGS_JAPAN, self.config.get(SETTINGS_JAPAN, False)))

    def _key(self) -> tuple[Any, ...]:
        version = self.ctx.state.version if self.ctx else 0
        edited = self.settings.get(SETTINGS_SCREENS)
        fp = hashlib.blake2b(
            json.dumps(edited, sort_keys=True, default=str).encode(), digest_size=8
        ).hexdigest() if edited is not None else ""
        return (version, fp, self.japan_open())

    def _active(self) -> tuple[list[Any], list[Any]]:
        """(real alerts, real + drills), fetched once per state version."""
        state = self.ctx.state if self.ctx else None
        version = state.version if state else 0
        if self._alerts is None or self._alerts[0] != version:
            real = list(state.active(drills=False)) if state else []
            # a view may answer drills=True with the drills alone or with everything
            ids = {a.id for a in real}
            drills = [a for a in (state.active(drills=True) if state else []) if a.id not in ids]
            every = real + drills
            self._alerts = (version, real, every)
        return self._alerts[1], self._alerts[2]

    def map_url(self, screen_or_place: Screen | dict[str, Any]) -> str | None:
        if isinstance(screen_or_place, Screen):
            if screen_or_place.map_url:
                return screen_or_place.map_url
            lat, lon = screen_or_place.lat, screen_or_place.lon
        else:
            lat, lon = screen_or_place["lat"], screen_or_place["lon"]
        # the resident map lives at "/", opens on "#zoom/lat/lon" and, with ?here=, lists
        # what is in force and the nearest open shelters there (publicmap's map.js): the
        # resident scanning the code stands at the screen
        base = (self.ctx.base_url if self.ctx else "").rstrip("/")
        if lat is None or lon is None:
            return f"{base}/"
        return f"{base}/?here={lat:.5f},{lon:.5f}#16/{lat:.5f}/{lon:.5f}"

    def build(self, screen: Screen, *, now: datetime | None = None) -> dict[str, Any]:
        """The screen's content dict now (pure decision in ``content.build``)."""
        now = now or datetime.now(UTC)
        real, every = self._active()
        alerts = every if screen.drills else real
        geo = self.ctx.geo if self.ctx else None
        return content.build(
            screen,
            alerts,
            now=now,
            find_shelters=places.shelter_finder(geo),
            hotspots=places.hotspots_near(geo, screen.lat, screen.lon),
            wifi_00000japan=self.japan_open(),
            map_url=self.map_url(screen),
            tr=tr,
        )

    def entry(self, screen: Screen) -> _Entry:
        now = datetime.now(UTC)
        key = (*self._key(), screen)
        hit = self._cache.get(screen.id)
        if hit and hit.key == key and (hit.expires_at is None or now < hit.expires_at):
            return hit
        body = self.build(screen, now=now)
        expiries = [
            _parse_time(a["valid_until"])
            for a in [body["main"], *body["others"], *body["info"]]
            if a and a.get("valid_until")
        ]
        expiries = [t for t in expiries if t is not None]
        entry = _Entry(
            key=key,
            body=body,
            json=Rendered.of(json_body(body), "application/json; charset=utf-8"),
            expires_at=min(expiries) if expiries else None,
        )
        self._cache[screen.id] = entry
        return entry

    def page(self, screen: Screen, lang: str | None = None, *, export: bool = False) -> Rendered:
        entry = self.entry(screen)
        lang = lang if lang in screen.languages else screen.languages[0]
        hit = entry.pages.get((lang, export))
        if hit is None:
            html = self.renderer.screen_page(
                entry.body, screen, lang, export=export, json_etag=entry.json.etag
            )
            hit = entry.pages[(lang, export)] = Rendered.of(html, "text/html; charset=utf-8")
        return hit

    def listing(self) -> Rendered:
        screens = self.screens()
        modes = {sid: self.entry(s).body["mode"] for sid, s in screens.items()}
        key = (*self._key(), tuple(screens.values()), tuple(modes.items()))
        if self._listing is None or self._listing[0] != key:
            html = self.renderer.listing(list(screens.values()), modes)
            self._listing = (key, Rendered.of(html, "text/html; charset=utf-8"))
        return self._listing[1]

    def here(self, place_id: str, lang: str) -> Rendered | None:
        """The Wi-Fi landing page for a shelter or hotspot id known to the geo data."""
        geo = self.ctx.geo if self.ctx else None
        place = places.find_place(geo, place_id)
        if place is None:
            return None
        key = self._key()
        cached = self._here.get((place_id, lang))
        if cached and cached[0] == key:
            return cached[1]
        screen = parse_screen({"id": "here", "name": place["name"], "lat": place["lat"],
                               "lon": place["lon"], "languages": [lang]})
        body = self.build(screen)
        current = shelter_board(self._active()[0]).get(place["id"])
        if place["kind"] == "shelter":
            place["state"] = current.status if current else "unknown"
        body["place"] = place
        html = self.renderer.here_page(body, lang, LANGS)
        r = Rendered.of(html, "text/html; charset=utf-8")
        if len(self._here) > 4096:  # bounded: ids come from geo data, languages are five
            self._here.clear()
        self._here[(place_id, lang)] = (key, r)
        return r


def _parse_time(iso: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(iso)
    except ValueError:
        return None
    return t if t.tzinfo else None


def load_static(directory: Path) -> dict[str, Rendered]:
    """Every asset in ``static/`` read once; requests look names up, never paths."""
    out: dict[str, Rendered] = {}
    if directory.is_dir():
        for f in sorted(directory.iterdir()):
            if f.is_file() and f.suffix in STATIC_TYPES:
                out[f.name] = Rendered.of(f.read_bytes(), STATIC_TYPES[f.suffix])
    return out


def export_files(out: SignageOutput) -> dict[str, bytes]:
    """Relative path → bytes for a static copy of every screen (see ``export.export_all``)."""
    files: dict[str, bytes] = {"index.html": out.listing().body}
    for sid, screen in out.screens().items():
        entry = out.entry(screen)
        files[f"{sid}.json"] = entry.json.body
        files[f"{sid}.html"] = out.page(screen, screen.languages[0], export=True).body
        for lang in screen.languages:
            files[f"{sid}.{lang}.html"] = out.page(screen, lang, export=True).body
    for name, r in out.static.items():
        files["sw.js" if name == "sw.js" else f"static/{name}"] = r.body
    return files


__all__ = ["SignageOutput", "export_files"]

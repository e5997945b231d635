"""Open feeds: CAP 1.2 per alert and Atom indexes of them (real alerts; drills apart).

Everything is rendered once per state version and served from memory with an ETag.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from aiohttp import web

from lalert.changes import AlertChange
from lalert.httpcache import Rendered, respond
from lalert.model import EnrichedAlert
from lalert.outputs import phrases
from lalert.outputs.base import BaseOutput, OutputContext
from lalert.outputs.feeds.capwriter import (
    CAP_MEDIA_TYPE,
    FeedEntry,
    Reference,
    atom_feed,
    cap_identifier,
    cap_time,
    to_cap_element,
)
from lalert.outputs.listing import RegionFilter, wants_all

ATOM_TYPE = "application/atom+xml; charset=utf-8"
CAP_TYPE = CAP_MEDIA_TYPE + "; charset=utf-8"


class FeedsOutput(BaseOutput):
    name = "feeds"

    def __init__(self) -> None:
        super().__init__()
        self._cache: dict[tuple[int, str], Rendered] = {}
        # CAP references of what this process has published, per event (in seq order).
        self._published: dict[tuple[str, str], list[Reference]] = defaultdict(list)
        self.region: RegionFilter | None = None

    async def start(self, ctx: OutputContext) -> None:
        await super().start(ctx)
        self.region = RegionFilter.from_settings(ctx.settings, ctx.geo)
        for ea in ctx.state.active(drills=True):
            self._remember(ea)

    @property
    def sender(self) -> str:
        assert self.ctx is not None
        host = urlsplit(self.ctx.base_url).hostname or "localhost"
        return str(self.ctx.config.get("sender") or f"lalert@{host}")

    def _remember(self, ea: EnrichedAlert) -> None:
        refs = self._published[ea.alert.key]
        ident = cap_identifier(ea.alert.id)
        if all(r.identifier != ident for r in refs):
            refs.append(Reference(cap_identifier(self.sender), ident,
                                  cap_time(ea.alert.issued_at) or ""))

    async def handle(self, change: AlertChange) -> None:
        self._remember(change.alert)

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/feeds/cap.atom", self._atom_real),
            web.get("/feeds/cap-drills.atom", self._atom_drills),
            web.get("/api/v1/alerts/{id:.+}.cap", self._one_cap),
        ]

    # --- rendering ------------------------------------------------------------------

    def references_for(self, ea: EnrichedAlert) -> list[Reference]:
        """Earlier published messages of the same event (never the alert itself)."""
        ident = cap_identifier(ea.alert.id)
        earlier: list[Reference] = []
        for r in self._published.get(ea.alert.key, []):
            if r.identifier == ident:
                break
            earlier.append(r)
        return earlier

    def cap_element(self, ea: EnrichedAlert):
        return to_cap_element(ea, sender=self.sender, references=self.references_for(ea))

    def cap_url(self, ea: EnrichedAlert) -> str:
        assert self.ctx is not None
        return f"{self.ctx.base_url.rstrip('/')}/api/v1/alerts/{quote(ea.alert.id, safe='')}.cap"

    def _cached(self, key: str, build) -> Rendered:
        assert self.ctx is not None
        version = self.ctx.state.version
        hit = self._cache.get((version, key))
        if hit is None:
            if len(self._cache) > 256:
                self._cache = {k: v for k, v in self._cache.items() if k[0] == version}
            hit = build()
            self._cache[(version, key)] = hit
        return hit

    def render_feed(self, *, drills: bool, everything: bool = False) -> Rendered:
        """The Atom index: alerts covering the region (all with ``?all=1``), in the one
        order of every listing (level, then newest)."""
        assert self.ctx is not None
        active = [a for a in self.ctx.state.active(drills=drills) if a.alert.is_real != drills]
        region = self.region or RegionFilter(None)
        alerts = region.apply(active, everything=everything)
        base = self.ctx.base_url.rstrip("/")
        path = "/feeds/cap-drills.atom" if drills else "/feeds/cap.atom"
        if everything:
            path += "?all=1"
        latest = max((cap_time(a.alert.issued_at) or "" for a in alerts), default="")
        updated = latest or datetime.now(UTC).replace(microsecond=0).isoformat()
        msgid = phrases.FEED_TITLES[drills]  # the feed is bilingual, as its entries are
        title = " / ".join(phrases.gettext(lang, msgid) for lang in phrases.LANGS)
        body = atom_feed(
            (FeedEntry(a, self.cap_element(a), self.cap_url(a)) for a in alerts),
            title=title, feed_url=base + path, updated=updated,
        )
        return Rendered.of(body, ATOM_TYPE)

    # --- handlers -------------------------------------------------------------------

    async def _atom_real(self, request: web.Request) -> web.Response:
        every = wants_all(request.query)
        return respond(request, self._cached(f"atom:{every}", lambda: self.render_feed(
            drills=False, everything=every)))

    async def _atom_drills(self, request: web.Request) -> web.Response:
        every = wants_all(request.query)
        return respond(request, self._cached(f"drills:{every}", lambda: self.render_feed(
            drills=True, everything=every)))

    async def _one_cap(self, request: web.Request) -> web.Response:
        assert self.ctx is not None
        alert_id = request.match_info["id"]
        ea = self.ctx.state.get(alert_id)
        if ea is None:
            raise web.HTTPNotFound(text=f"no active alert {alert_id!r}\n")
        from lxml import etree

        def build() -> Rendered:
            body = etree.tostring(self.cap_element(ea), xml_declaration=True,
                                  encoding="UTF-8", pretty_print=True)
            return Rendered.of(body, CAP_TYPE)

        return respond(request, self._cached("cap:" + alert_id, build))

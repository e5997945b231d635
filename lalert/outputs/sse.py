"""Server-sent events: ``GET /api/v1/stream`` — one event per alert change, ``id: <seq>``.

Filters: ``point=lat,lon`` (with optional ``radius=`` metres), ``area=`` (``scheme:code``
or a bare code for any scheme, comma-separated), ``kind=`` (comma-separated). Each
connected client is a subscription in an in-memory index, so one change is matched
against every client in one vectorised call and its frame is built once.

``Last-Event-ID`` (or ``?last_event_id=``) replays every change after that seq from the
durable change log of the push store (``push.sqlite``, or the shared PostgreSQL tables
with that store) before live events, so a reconnecting client misses nothing; the client
is registered *before* the replay and live events it already got are skipped by seq.

With several processes (``lalert worker --role push`` × N on a shared bus) a client is
connected to one of them, so every one must see every change: the output is
``broadcast`` — the Redis bus feeds it by following the stream (like the workers' active
view), not through a consumer group that would split the changes between workers. Each
process writes the changes it sees to the shared log *before* showing them to its
clients (``handle_batch``), so a client resuming on any worker finds there everything any
worker already sent (the same seq is the same event id everywhere). A client that cannot keep up is disconnected (it reconnects and
resumes) rather than slowing everyone. Heartbeat comment lines keep proxies from closing
idle streams.

Config (``[outputs.sse]``): ``heartbeat_s`` (15), ``queue`` (1000 events per client),
``max_clients`` (10000), ``max_clients_per_address`` (100: streams from one client,
``lalert.clientaddr`` — without it one anonymous client could hold every slot and
lock everyone else out; 429 with ``Retry-After``), ``drills`` (false).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field

from aiohttp import web

from lalert.changes import AlertChange
from lalert.clientaddr import client_address, trusted_proxies
from lalert.model import EnrichedAlert
from lalert.outputs.base import BaseOutput, OutputContext
from lalert.outputs.delivery import change_json, logged
from lalert.subscriptions.index import ANY_SCHEME, SubscriptionIndex, match
from lalert.subscriptions.model import MAX_KINDS, MAX_RADIUS_M, MAX_TERM_CHARS, Subscription

CHANNEL = "sse"


@dataclass(eq=False)
class _Client:
    filt: Subscription | None
    queue: asyncio.Queue[tuple[int, bytes]]
    overflow: asyncio.Event = field(default_factory=asyncio.Event)
    own_index: SubscriptionIndex | None = None

    def wants(self, ea: EnrichedAlert) -> bool:
        if self.filt is None:
            return True
        if self.own_index is None:
            self.own_index = SubscriptionIndex.build([self.filt])
        return bool(match(ea, self.own_index))


def frame(seq: int, data: str) -> bytes:
    return f"id: {seq}\nevent: alert\ndata: {data}\n\n".encode()


def parse_filters(q: dict[str, str], cid: str) -> Subscription | None:
    """Query string → a Subscription (None = no filter). Raises ValueError with a reason."""
    point, area, kind = q.get("point"), q.get("area"), q.get("kind")
    if not (point or area or kind):
        return None
    lat = lon = None
    radius = 0.0
    if point:
        parts = point.split(",")
        if len(parts) != 2:
            raise ValueError("point must be lat,lon")
        lat, lon = float(parts[0]), float(parts[1])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ValueError("point outside lat/lon range")
        radius = float(q.get("radius", "0"))
        if not 0 <= radius <= MAX_RADIUS_M:
            raise ValueError("radius out of range")
    areas: tuple[tuple[str, str], ...] = ()
    if area:
        areas = tuple(
            tuple(a.split(":", 1)) if ":" in a else (ANY_SCHEME, a)  # type: ignore[misc]
            for a in area.split(",")
            if a
        )[:100]
    kinds = frozenset(k for k in (kind or "").split(",") if k)
    if len(kinds) > MAX_KINDS or any(len(k) > MAX_TERM_CHARS for k in kinds):
        raise ValueError(f"kind: at most {MAX_KINDS} kinds of {MAX_TERM_CHARS} characters")
    if point is None and not areas:  # kinds only: the whole world is the place
        return Subscription(cid, CHANNEL, polygon=_WORLD, kinds=kinds, drills=True)
    # drills=True: whether drills stream at all is the output's setting, not the client's
    return Subscription(
        cid, CHANNEL, lat=lat, lon=lon, radius_m=radius, areas=areas, kinds=kinds, drills=True
    )


_WORLD = {"type": "Polygon",
          "coordinates": [[[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]]}  # fmt: skip


class SseOutput(BaseOutput):
    name = CHANNEL
    broadcast = True  # every process with clients needs every change (lalert.bus.redis)

    def __init__(self) -> None:
        super().__init__()
        self._clients: dict[str, _Client] = {}
        self._next = 0
        self._index: SubscriptionIndex | None = None
        self._closing = asyncio.Event()
        self._by_address: dict[str, dict[str, web.Request]] = {}  # client → its streams

    async def start(self, ctx: OutputContext) -> None:
        await super().start(ctx)
        cfg = ctx.config
        self.box = ctx.storage().push()
        self.heartbeat = float(cfg.get("heartbeat_s", 15))
        self.queue_size = int(cfg.get("queue", 1000))
        self.max_clients = int(cfg.get("max_clients", 10_000))
        self.max_per_address = int(cfg.get("max_clients_per_address", 100))
        self.trusted = trusted_proxies(ctx.settings)
        self.drills = bool(cfg.get("drills", False))

    @property
    def clients(self) -> int:
        return len(self._clients)

    # --- fan-out -----------------------------------------------------------------

    def _filtered_index(self) -> SubscriptionIndex:
        if self._index is None:
            self._index = SubscriptionIndex.build(
                [c.filt for c in self._clients.values() if c.filt is not None]
            )
        return self._index

    async def handle(self, change: AlertChange) -> None:
        await self.handle_batch([change])

    async def handle_batch(self, changes: list[AlertChange]) -> None:
        """Log the batch (one transaction, off the event loop), then show it: a client that
        resumes anywhere finds in the log every change a client here was already sent."""
        await asyncio.to_thread(self.box.log_changes, [logged(c) for c in changes])
        for change in changes:
            self._fan_out(change)

    def _fan_out(self, change: AlertChange) -> None:
        if (change.drill and not self.drills) or not self._clients:
            return
        data = frame(change.seq, change_json(change))
        targets = [cid for cid, c in self._clients.items() if c.filt is None]
        targets += match(change.alert, self._filtered_index())
        for cid in targets:
            client = self._clients.get(cid)
            if client is None:
                continue
            try:
                client.queue.put_nowait((change.seq, data))
            except asyncio.QueueFull:
                client.overflow.set()

    # --- the stream ----------------------------------------------------------------

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get("/api/v1/stream", self.stream)]

    async def stream(self, request: web.Request) -> web.StreamResponse:
        if self.ctx is None:
            raise web.HTTPServiceUnavailable(text="stream not started")
        if len(self._clients) >= self.max_clients:
            raise web.HTTPServiceUnavailable(headers={"Retry-After": "30"}, text="too many streams")
        addr = client_address(request, self.trusted)
        mine = self._by_address.get(addr, {})
        if len(mine) >= self.max_per_address and self._closed_dropped(mine) == 0:
            raise web.HTTPTooManyRequests(headers={"Retry-After": "30"},
                                          text="too many streams from this address")
        self._next += 1
        cid = f"c{self._next}"
        try:
            filt = parse_filters(dict(request.query), cid)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        last_raw = request.headers.get("Last-Event-ID") or request.query.get("last_event_id")
        last_raw = (last_raw or "").strip()  # ASCII digits only: '²'.isdigit() is True
        ok = last_raw.isascii() and last_raw.isdigit() and len(last_raw) < 19  # int64
        last = int(last_raw) if ok else None

        resp = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        self._by_address.setdefault(addr, {})[cid] = request
        try:
            return await self._serve(request, resp, cid, filt, last)
        finally:
            mine = self._by_address.get(addr, {})
            mine.pop(cid, None)
            if not mine:
                self._by_address.pop(addr, None)

    def _closed_dropped(self, streams: dict[str, web.Request]) -> int:
        """Forget streams whose client has already hung up (a handler learns that only at
        its next write, up to a heartbeat later) and end them; how many."""
        gone = [cid for cid, r in streams.items()
                if r.transport is None or r.transport.is_closing()]
        for cid in gone:
            del streams[cid]
            client = self._clients.get(cid)
            if client is not None:
                client.overflow.set()
                with contextlib.suppress(asyncio.QueueFull):
                    client.queue.put_nowait((-1, b""))
        return len(gone)

    async def _serve(self, request: web.Request, resp: web.StreamResponse, cid: str,
                     filt: Subscription | None, last: int | None) -> web.StreamResponse:
        await resp.prepare(request)
        client = _Client(filt, asyncio.Queue(self.queue_size))
        self._clients[cid] = client  # register before replay: no gap between the two
        self._index = None
        sent = last if last is not None else -1
        try:
            await resp.write(b"retry: 3000\n\n")
            if last is not None:
                sent = await self._replay(resp, client, last)
            await self._live(resp, client, sent)
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self._clients.pop(cid, None)
            self._index = None
        return resp

    async def _replay(self, resp: web.StreamResponse, client: _Client, after: int) -> int:
        sent = after
        while True:
            rows = self.box.changes_since(sent, limit=500)
            if not rows:
                return sent
            for seq, body in rows:
                d = json.loads(body)
                drill = bool((d.pop("change", None) or {}).get("drill"))
                d.pop("level_label", None)  # derived words for readers, not alert fields
                if (self.drills or not drill) and client.wants(EnrichedAlert.from_dict(d)):
                    await resp.write(frame(seq, body))
                sent = seq

    async def _live(self, resp: web.StreamResponse, client: _Client, sent: int) -> None:
        while not self._closing.is_set():
            if client.overflow.is_set():
                return  # too slow: drop; the browser reconnects with Last-Event-ID
            try:
                seq, data = await asyncio.wait_for(client.queue.get(), self.heartbeat)
            except TimeoutError:
                await resp.write(b": heartbeat\n\n")
                continue
            if seq < 0:
                return  # shutting down
            if seq > sent:
                await resp.write(data)
                sent = seq

    async def stop(self) -> None:
        self._closing.set()
        for c in list(self._clients.values()):
            c.overflow.set()
            with contextlib.suppress(asyncio.QueueFull):
                c.queue.put_nowait((-1, b""))

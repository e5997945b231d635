"""Server-sent events: ``GET /api/v1/stream`` — one event per alert change, ``id: <seq>``.

Filters: ``point=lat,lon`` (with optional ``radius=`` metres), ``area=`` (``scheme:code``
or a bare code for any scheme, comma-separated), ``kind=`` (comma-separated). Each
connected client is a subscription in an in-memory index, so one change is matched
against every client in one vectorised call and its frame is built once — once per
place for clients streaming for a place, who are told the level in force there and
when their places are lifted (``told``), as Web Push and MQTT tell theirs.

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
lock everyone else out; 429 with ``Retry-After``), ``max_replay`` (1000: a resume from
further back replays only the newest this many changes after an ``event: gap`` naming
where it starts — ``Last-Event-ID: 0`` once replayed the whole log, every change ever, on
the event loop, for anyone who asked), ``drills`` (false).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from functools import cached_property

import msgspec
import numpy as np
from aiohttp import web

from lalert.changes import AlertChange
from lalert.clientaddr import client_address, trusted_proxies
from lalert.model import EnrichedAlert
from lalert.outputs.base import BaseOutput, OutputContext
from lalert.outputs.delivery import change_json, logged
from lalert.outputs.phrases import grade_label
from lalert.subscriptions.index import (
    ANY_SCHEME,
    Place,
    Places,
    SubscriptionIndex,
    lifted_places,
    match,
    place_grade,
    place_level,
    places_of,
    touched,
)
from lalert.subscriptions.model import MAX_KINDS, MAX_RADIUS_M, MAX_TERM_CHARS, Subscription
from lalert.vocab.levels import describe

CHANNEL = "sse"
_encoder = msgspec.json.Encoder()
_PER_PLACE = frozenset({"level", "level_label", "here"})  # what ``told`` says per place


@dataclass(eq=False)
class _Client:
    filt: Subscription | None
    queue: asyncio.Queue[tuple[int, bytes]]
    overflow: asyncio.Event = field(default_factory=asyncio.Event)
    own_index: SubscriptionIndex | None = None

    @property
    def placed(self) -> bool:
        """Streaming for a place (point or areas), not for kinds only or everything."""
        return self.filt is not None and self.filt.polygon is not _WORLD

    def wants(self, ea: EnrichedAlert) -> bool:
        if self.filt is None:
            return True
        if self.own_index is None:
            self.own_index = SubscriptionIndex.build([self.filt])
        return bool(match(ea, self.own_index))


def frame(seq: int, data: str | bytes) -> bytes:
    if isinstance(data, str):
        data = data.encode()
    return b"id: %d\nevent: alert\ndata: %s\n\n" % (seq, data)


class _Told:
    """One change as clients streaming for a place are told it (``told``): its alert's
    places and lifted places, worked out once per change (only when such a client is
    connected), and each distinct frame built once."""

    def __init__(self, seq: int, body: str, ea: EnrichedAlert, kind: str) -> None:
        self.seq, self.body, self.ea, self.ended = seq, body, ea, kind == "withdrawn"
        self.plain = frame(seq, body)  # what every client not told of a place gets
        self.parsed: dict | None = None
        self.rest = b""  # the body's JSON without what ``told`` says per place
        self.frames: dict[tuple[object, ...], bytes] = {}

    @cached_property
    def places(self) -> Places:
        return places_of(self.ea)

    @cached_property
    def lifted(self) -> Places:
        return lifted_places(self.ea)

    @property
    def gone(self) -> Places:
        """The places it no longer concerns: all of them when it ends."""
        return self.places if self.ended else self.lifted


def told(t: _Told, here: tuple[Place, ...], gone: tuple[Place, ...],
         reached: bool) -> bytes | None:
    """The frame a client streaming for a place is sent, or None (not its concern), given
    the alert's places its place touches (``here``) and those lifted (``gone``).

    Like Web Push (``lalert.outputs.webpush.output.payload``) and MQTT's per-area topics:
    ``level`` and ``level_label`` are those in force at the alert's places the client's
    place touches (``touched``, the rule matching used) — 奈良市 is told its 注意報 (2), not
    十津川村's 大雨特別警報 — and ``here`` names those places; a client whose places
    are lifted (解除 / なし) while other towns stay under alert, or whose alert ends, is
    told so (``here.lifted``, no level) instead of hearing nothing and keeping a warning
    that is over; where no 警戒レベル applies but a JMA warning does, ``here.warning``
    names it (特別警報: 暴風特別警報). A client the alert reaches only through its
    footprint or a code no place carries gets the body as it is (its highest anywhere)."""
    if not reached and not gone:
        return None
    if not here and not gone:
        return t.plain
    names = list(dict.fromkeys(p.name for p in here or gone if p.name))
    key = (bool(gone), *map(id, here or gone))  # the places told of, not their names
    if key not in t.frames:
        if t.parsed is None:
            t.parsed = json.loads(t.body)
            # the body (its shapes: ~240 kB for Nara's 48 towns) is encoded once per
            # change; each frame encodes only what it says per place, then the rest
            t.rest = _encoder.encode({k: v for k, v in t.parsed.items() if k not in _PER_PLACE})
        d = t.parsed
        level = None if gone else place_level(here) if t.places.own else d.get("level")
        head: dict[str, object] = {"level": d.get("level"), "level_label": d.get("level_label")}
        if gone or t.places.own:
            head["level"] = level
            head["level_label"] = describe(level, d.get("kind"), d.get("hazard_tags") or ())
        head["here"] = here_said = {"places": names, "level": level, "lifted": bool(gone)}
        grade = None if gone or level is not None else place_grade(here)
        if grade is not None:  # no 警戒レベル here, a JMA warning is: 特別警報: 暴風特別警報
            here_said["warning"] = {lang: grade_label(None, grade, lang) for lang in ("ja", "en")}
        data = _encoder.encode(head)[:-1] + b"," + t.rest[1:]  # built once per set of places
        t.frames[key] = frame(t.seq, data)
    return t.frames[key]


def _places_of_one(sub: Subscription, t: _Told) -> tuple[tuple[Place, ...], tuple[Place, ...]]:
    """(here, gone) for one client: the places under alert its place touches, and the
    places it touches that the change lifts (all of them when the alert ends)."""
    here = () if t.ended else touched(sub, t.places)
    gone = () if here else touched(sub, t.gone) or (touched(sub, t.lifted) if t.ended else ())
    return here, gone


def _touching(idx: SubscriptionIndex, rows: np.ndarray, places: Places
              ) -> dict[int, tuple[Place, ...]]:
    """Row → the places its place touches, for ``rows`` of ``idx``: one vectorised
    ``reached`` per place (the rule ``touched`` asks of one row), not an index per
    client — ten thousand clients by point cost a few queries, not seconds."""
    out: dict[int, list[Place]] = {}
    for p in places.items:
        hit = idx.reached(p.geometry, p.keys, among=rows)
        for r in np.unique(hit[np.isin(hit, rows)]).tolist():
            out.setdefault(r, []).append(p)
    return {r: tuple(ps) for r, ps in out.items()}


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
        self._row: dict[str, int] = {}  # client → its row in _index (with _index)
        self._placed = np.zeros(0, np.int64)  # rows of clients streaming for a place
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
        self.max_replay = int(cfg.get("max_replay", 1000))
        self._newest = 0  # the newest seq this process has logged or seen in force
        self.trusted = trusted_proxies(ctx.settings)
        self.drills = bool(cfg.get("drills", False))

    @property
    def clients(self) -> int:
        return len(self._clients)

    # --- fan-out -----------------------------------------------------------------

    def _filtered_index(self) -> SubscriptionIndex:
        """The index of the clients with a filter, rebuilt only when clients come or go;
        with it each client's row and the rows of those streaming for a place."""
        if self._index is None:
            self._index = idx = SubscriptionIndex.build(
                [c.filt for c in self._clients.values() if c.filt is not None]
            )
            self._row = {cid: r for r, cid in enumerate(idx.ids)}
            self._placed = np.array([r for r, cid in enumerate(idx.ids)
                                     if self._clients[cid].placed], dtype=np.int64)
        return self._index

    async def handle(self, change: AlertChange) -> None:
        await self.handle_batch([change])

    async def handle_batch(self, changes: list[AlertChange]) -> None:
        """Log the batch (one transaction, off the event loop), then show it: a client that
        resumes anywhere finds in the log every change a client here was already sent."""
        await asyncio.to_thread(self.box.log_changes, [logged(c) for c in changes])
        self._newest = max([self._newest, *(c.seq for c in changes)])
        for change in changes:
            self._fan_out(change)

    def _fan_out(self, change: AlertChange) -> None:
        if (change.drill and not self.drills) or not self._clients:
            return
        t = _Told(change.seq, change_json(change), change.alert, change.kind)
        data = t.plain
        out = [(cid, data) for cid, c in self._clients.items() if c.filt is None]
        idx = self._filtered_index()
        reached = set(match(change.alert, idx))
        row, placed = self._row, self._placed
        here_of: dict[int, tuple[Place, ...]] = {}
        gone_of: dict[int, tuple[Place, ...]] = {}
        if len(placed):
            if not t.ended:
                here_of = _touching(idx, placed, t.places)
            # clients whose places it lifts are told so, though it reaches them no more
            gone_of = _touching(idx, placed, t.gone)
            if t.ended and t.lifted.items:
                gone_of = {**_touching(idx, placed, t.lifted), **gone_of}
        candidates = reached | {idx.ids[r] for r in gone_of}
        for cid in candidates:
            client = self._clients.get(cid)
            if client is None or client.filt is None:
                continue
            if client.placed:
                here = here_of.get(row[cid], ())
                said = told(t, here, () if here else gone_of.get(row[cid], ()), cid in reached)
            else:
                said = data if cid in reached else None
            if said is not None:
                out.append((cid, said))
        for cid, payload in out:
            client = self._clients.get(cid)
            if client is None:
                continue
            try:
                client.queue.put_nowait((change.seq, payload))
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
                floor = self._replay_floor()
                if last < floor:  # too far back: the newest max_replay, after a gap
                    gap = json.dumps({"after": last, "from": floor,
                                      "reason": "resume older than the replay bound; "
                                                "fetch /api/v1/alerts for the state"})
                    await resp.write(f"event: gap\ndata: {gap}\n\n".encode())
                    last = floor
                sent = await self._replay(resp, client, last)
            await self._live(resp, client, sent)
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self._clients.pop(cid, None)
            self._index = None
        return resp

    def _replay_floor(self) -> int:
        """The oldest seq a resume starts after: ``max_replay`` before the newest change
        known here (logged by this process, or the newest in force after a restart)."""
        assert self.ctx is not None
        state = self.ctx.state
        in_force = [*state.active(), *state.active(drills=True)]  # real ones, then drills
        newest = max([self._newest, *(state.seq_of(e.id) or 0 for e in in_force)])
        return max(0, newest - self.max_replay)

    async def _replay(self, resp: web.StreamResponse, client: _Client, after: int) -> int:
        sent = after
        while True:
            rows = self.box.changes_since(sent, limit=500)
            if not rows:
                return sent
            for seq, body in rows:
                d = json.loads(body)
                ch = d.pop("change", None) or {}
                for derived in ("level_label", "area_levels"):  # words for readers
                    d.pop(derived, None)
                if self.drills or not ch.get("drill"):
                    said = self._replayed(client, seq, body, EnrichedAlert.from_dict(d),
                                          str(ch.get("kind") or ""))
                    if said is not None:
                        await resp.write(said)
                sent = seq

    @staticmethod
    def _replayed(client: _Client, seq: int, body: str, ea: EnrichedAlert, kind: str
                  ) -> bytes | None:
        """What a resuming client is sent of one logged change: what ``_fan_out`` sent."""
        if client.filt is None:
            return frame(seq, body)
        if not client.placed:
            return frame(seq, body) if client.wants(ea) else None
        t = _Told(seq, body, ea, kind)
        return told(t, *_places_of_one(client.filt, t), client.wants(ea))

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

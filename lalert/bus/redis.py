"""Alert changes over Redis Streams, for workers in several processes or machines.

Chosen with ``bus = "redis://host:6379/0"`` (options in the query: ``stream``,
``maxlen``, ``claim_idle`` seconds, ``block_ms``). Same methods as the in-process
``lalert.bus.memory.Bus``.

- **publish**: each change is one stream entry whose id is ``<seq>-0``, so the stream is
  in ``seq`` order and publishing a change twice is refused by Redis (idempotent). The
  applier commits a change to the store first and publishes after; a crash in between is
  repaired at the next start, which republishes the store's changes the stream lacks.
- **consume**: one consumer group per output (``out:<name>``); any number of worker
  processes join it, and each entry goes to one of them. An entry is acknowledged
  (XACK) only after the output's ``handle`` returned, i.e. after its own outbox record
  was committed; an entry whose consumer died stays pending and is claimed back by a
  live one (XAUTOCLAIM) once it has been idle ``claim_idle`` seconds.
- **follow**: processes that do not apply messages keep their ``ActiveView`` current by
  reading the stream without a group (every follower sees every change).
- **broadcast outputs** (class attribute ``broadcast = True``, e.g. SSE, whose clients
  are connected to one process each) follow the stream the same way instead of joining a
  group: every process serving them sees every change, with the same ``seq``. They are
  best-effort live feeds; their own resume log is how a client catches up.
- **local consumers**: the publishing process keeps the changes it wrote that its own
  consumers have not read yet (at most ``LOCAL_KEPT``) and they take an entry's change
  from there instead of decoding the entry's bytes again; Redis still orders, groups and
  acknowledges, and is what other processes read. A change is dropped once every local
  reader is past it: it carries its alert and the JSON every push channel rendered
  (``AlertChange.memo``), about 20 KB, and keeping 4,096 read ones held some 60 MB at
  the peak of a burst. Acknowledgements go in one XACK per read, after every
  entry of it was handled (a crash in between re-offers them; each output's outbox
  makes that harmless).
- **entries lalert cannot read** (another client's bytes, a schema version this lalert
  does not read — ``lalert.codec``'s header says which wrote it): never executed, never
  acknowledged, never deleted; the entries around them go on being handled, and each is
  named in ``/healthz`` and counted in ``/metrics`` (``refused``). A newer worker, or an
  operator, deals with them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from lalert.bus.memory import SubsMixin
from lalert.changes import AlertChange, ChangeHandler
from lalert.codec import MAX_REASON, Undecodable, pack, unpack_enriched
from lalert.store.codec import Refused

log = logging.getLogger(__name__)

Follower = Callable[[AlertChange, str], None]

LOCAL_KEPT = 4096
"""At most this many changes this process published and its own readers have not read
yet are kept for them (a reader further behind decodes the entry instead)."""


def stream_id(seq: int) -> str:
    return f"{seq}-0"


def seq_of(entry_id: bytes | str) -> int:
    s = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(s.split("-", 1)[0])


def _id(entry_id: bytes | str) -> str:
    return entry_id.decode("ascii", "replace") if isinstance(entry_id, bytes) else entry_id


def encode_change(change: AlertChange, key: str) -> dict[str, bytes | str]:
    """One stream entry: the change's fields, and its alert packed by ``lalert.codec``
    (whose header carries the schema version)."""
    return {"seq": str(change.seq), "kind": change.kind, "reason": change.reason,
            "drill": "1" if change.drill else "0", "at": change.at, "key": key,
            "alert": pack(change.alert)}


def decode_change(fields: dict[bytes, bytes]) -> tuple[AlertChange, str]:
    """The change of a stream entry; ``Undecodable`` (with the reason) when it is not
    one this lalert wrote, in any field."""
    packed = fields.get(b"alert")
    if packed is None:
        raise Undecodable(f"not a lalert entry (fields {sorted(fields)[:6]!r})"[:MAX_REASON])
    enriched = unpack_enriched(packed)
    try:
        change = AlertChange(seq=int(fields[b"seq"]), kind=fields[b"kind"].decode(),  # type: ignore[arg-type]
                             reason=fields[b"reason"].decode(), alert=enriched,
                             drill=fields[b"drill"] == b"1", at=fields[b"at"].decode())
        return change, fields[b"key"].decode()
    except (KeyError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise Undecodable(f"entry fields: {type(exc).__name__} {exc}"[:MAX_REASON]) from None


class _Sub:
    def __init__(self, output: ChangeHandler, drills: bool, cursor: int) -> None:
        self.output = output
        self.drills = drills
        self.cursor = cursor
        self.group = f"out:{output.name}"
        self.task: asyncio.Task[None] | None = None
        self.failures = 0
        self.handled = 0
        self.claimed = 0
        self.broadcast = bool(getattr(output, "broadcast", False))


class RedisBus(SubsMixin):
    _sub_type = _Sub

    def __init__(self, url: str, *, stream: str = "lalert:changes", maxlen: int = 200_000,
                 claim_idle: float = 30.0, block_ms: int = 500,
                 consumer: str | None = None) -> None:
        self.url = url
        self.stream = stream
        self.maxlen = maxlen
        self.claim_idle = claim_idle
        self.block_ms = block_ms
        self.consumer = consumer or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.publisher = True  # False in worker processes that do not apply messages
        self.followers: list[Follower] = []
        self.follow_from = 0
        self.last_seq = 0
        self.on_dead: Callable[[str, AlertChange, BaseException], None] | None = None
        self._subs: dict[str, _Sub] = {}
        self._pubq: asyncio.Queue[tuple[AlertChange, str]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._r: aioredis.Redis | None = None
        self.published = 0
        # entry id → (change, key) of what this process wrote and its readers have not
        # all read yet, in seq order (see LOCAL_KEPT)
        self._local: OrderedDict[bytes, tuple[AlertChange, str]] = OrderedDict()
        self._followed = 0  # seq the view followers have read up to
        self.refused = Refused()  # entries kept unread (the daemon may share its own)

    @classmethod
    def from_url(cls, url: str) -> RedisBus:
        parts = urlsplit(url)
        opts = dict(parse_qsl(parts.query))
        plain = urlunsplit(parts._replace(query=""))
        return cls(plain, stream=opts.get("stream", "lalert:changes"),
                   maxlen=int(opts.get("maxlen", 200_000)),
                   claim_idle=float(opts.get("claim_idle", 30.0)),
                   block_ms=int(opts.get("block_ms", 500)))

    # --- the memory Bus's interface (add, names, cursors, ... from SubsMixin) ----------

    async def start(self, redeliver: Callable[[int], Awaitable[list[AlertChange]]],
                    key_of: Callable[[AlertChange], str] | None = None) -> None:
        r = self._r = aioredis.from_url(self.url)
        await r.ping()
        # broadcast outputs see what is published from now on (or from where the view
        # following starts); earlier changes are in their own resume log
        broadcast_from = self.follow_from if self.followers else self.last_seq
        for sub in self._subs.values():
            if sub.broadcast:
                continue
            try:
                await r.xgroup_create(self.stream, sub.group, id=stream_id(sub.cursor),
                                      mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        if self.publisher:
            top = await self.stream_last_seq()
            if self.last_seq > top:  # committed to the store but never published
                missing = await redeliver(top)
                log.info("bus: republishing %d change(s) after seq %d", len(missing), top)
                for ch in missing:
                    self._pubq.put_nowait((ch, key_of(ch) if key_of else ""))
            self._tasks.append(asyncio.create_task(self._publisher(), name="bus-publish"))
        else:
            self.last_seq = max(self.last_seq, await self.stream_last_seq())
        if self.followers:
            self._tasks.append(asyncio.create_task(self._follow(), name="bus-follow"))
        for sub in self._subs.values():
            sub.task = asyncio.create_task(
                self._broadcast(sub, broadcast_from) if sub.broadcast else self._consume(sub),
                name=f"output-{sub.output.name}")

    def publish(self, change: AlertChange, key: str = "") -> None:
        self.last_seq = max(self.last_seq, change.seq)
        self._pubq.put_nowait((change, key))

    async def drain(self, timeout: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while self._pubq.qsize() or any(s.cursor < self.last_seq for s in self._subs.values()):
            if loop.time() > end:
                return
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self.publisher and self._r is not None:
            end = asyncio.get_running_loop().time() + 2.0
            while self._pubq.qsize() and asyncio.get_running_loop().time() < end:
                await asyncio.sleep(0.01)
        tasks = self._tasks + [s.task for s in self._subs.values() if s.task]
        for t in tasks:
            t.cancel()
        for t in tasks:
            try:
                await t
            except asyncio.CancelledError:
                pass
        if self._r is not None:
            await self._r.aclose()
            self._r = None

    # --- stream ------------------------------------------------------------------------

    async def stream_last_seq(self) -> int:
        assert self._r is not None
        top = await self._r.xrevrange(self.stream, count=1)
        return seq_of(top[0][0]) if top else 0

    async def _publisher(self) -> None:
        assert self._r is not None
        while True:
            change, key = await self._pubq.get()
            fields = encode_change(change, key)
            entry = stream_id(change.seq).encode()
            while True:
                # kept before the XADD: a blocked reader here may get the entry before
                # the XADD's reply does, and would decode it again
                self._local[entry] = (change, key)
                try:
                    await self._r.xadd(self.stream, fields, id=stream_id(change.seq),
                                       maxlen=self.maxlen, approximate=True)
                    self.published += 1
                    self._forget_read()
                    break
                except ResponseError as exc:
                    # the entry at this id, if any, is not this one (the readers decode it)
                    self._local.pop(entry, None)
                    if "equal or smaller" not in str(exc):
                        raise
                    if not await self._r.xrange(self.stream, min=stream_id(change.seq),
                                                max=stream_id(change.seq)):
                        # not ours: another client wrote past this seq (an entry with an
                        # automatic, time-based id); the change is in the store, but the
                        # stream cannot carry it — never silent
                        self.skip("publish", change.seq, "the stream already holds a later "
                                  "entry id (written by another client?)")
                    break  # otherwise already published (a republish after restart)
                except (ConnectionError, OSError, aioredis.ConnectionError) as exc:
                    # Redis away: keep the change and retry (it is in the store anyway)
                    log.warning("bus: publishing seq %d failed (%s); retrying", change.seq, exc)
                    await asyncio.sleep(0.5)

    @property
    def kept_locally(self) -> int:
        """Published changes kept for this process's readers that have not read them."""
        return len(self._local)

    def _forget_read(self) -> None:
        """Drop the kept changes every local reader (output or view follower) is past, and
        the oldest beyond ``LOCAL_KEPT``."""
        local = self._local
        if not local:
            return
        marks = [s.cursor for s in self._subs.values()]
        if self.followers:
            marks.append(self._followed)
        read_up_to = min(marks) if marks else self.last_seq
        while local and (len(local) > LOCAL_KEPT
                         or next(iter(local.values()))[0].seq <= read_up_to):
            local.popitem(last=False)

    async def _read_after(self, last: bytes | str, what: str) -> list[Any] | None:
        """One XREAD of the entries after ``last``; None when Redis is away (logged, after
        a short pause, so the caller simply reads again)."""
        assert self._r is not None
        try:
            return await self._r.xread({self.stream: last}, count=256,
                                       block=self.block_ms) or []
        except (ConnectionError, OSError, aioredis.ConnectionError) as exc:
            log.warning("bus: %s failed (%s); retrying", what, exc)
            await asyncio.sleep(0.5)
            return None

    def _decode(self, where: str, entry_id: bytes, fields: Any) -> tuple[AlertChange, str] | None:
        """An entry's change, or None when this lalert cannot read it (then named in
        ``refused``: kept, never run, the caller goes on with the next entry)."""
        # only the exact id this process wrote (another client may add ``<seq>-1``)
        mine = self._local.get(entry_id if isinstance(entry_id, bytes) else entry_id.encode())
        if mine is not None:
            return mine
        try:
            return decode_change(fields or {})
        except Undecodable as exc:
            self.refused.note(where, _id(entry_id), exc.reason)
            return None

    def _decoded(self, resp: list[Any], where: str
                 ) -> Iterator[tuple[bytes, tuple[AlertChange, str] | None]]:
        """Each entry's id and change (None when this version cannot read it), raising
        ``last_seq`` to what was seen."""
        for _, entries in resp:
            for entry_id, fields in entries:
                decoded = self._decode(where, entry_id, fields)
                if decoded is not None:
                    self.last_seq = max(self.last_seq, decoded[0].seq)
                yield entry_id, decoded

    async def _follow(self) -> None:
        last: bytes | str = stream_id(self.follow_from)
        self._followed = self.follow_from
        while True:
            resp = await self._read_after(last, "following the stream")
            if resp is None:
                continue
            for entry_id, decoded in self._decoded(resp, "bus:view"):
                last = entry_id
                self._followed = seq_of(entry_id)
                if decoded is not None:
                    for fn in self.followers:
                        try:
                            fn(*decoded)
                        except Exception as exc:
                            log.exception("bus follower failed on seq %s", decoded[0].seq)
                            self.skip("view", decoded[0].seq, exc)

    async def _broadcast(self, sub: _Sub, after: int) -> None:
        """Every change, in seq order, to an output every process must feed (no group, no
        acknowledgement). A batch goes to ``handle_batch`` when the output has one."""
        last: bytes | str = stream_id(after)
        sub.cursor = max(sub.cursor, after)
        batch_fn = getattr(sub.output, "handle_batch", None)
        while True:
            resp = await self._read_after(last, f"following for {sub.output.name}")
            if resp is None:
                continue
            changes: list[AlertChange] = []
            for entry_id, decoded in self._decoded(resp, f"bus:{sub.output.name}"):
                last = entry_id
                if decoded is not None and not (decoded[0].drill and not sub.drills):
                    changes.append(decoded[0])
            if not changes:
                if resp:
                    sub.cursor = max(sub.cursor, seq_of(last))
                continue
            try:
                if batch_fn is not None:
                    await batch_fn(changes)
                else:
                    for ch in changes:
                        await sub.output.handle(ch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a live feed skips what it cannot show; never stalls
                sub.failures += 1
                for ch in changes:
                    self.skip(sub.output.name, ch.seq, exc)
            sub.handled += len(changes)
            sub.cursor = max(sub.cursor, seq_of(last))
            self._forget_read()

    async def _consume(self, sub: _Sub) -> None:
        assert self._r is not None
        r = self._r
        loop = asyncio.get_running_loop()
        next_claim = loop.time() + self.claim_idle / 2
        while True:
            try:
                if loop.time() >= next_claim:
                    next_claim = loop.time() + max(0.2, self.claim_idle / 2)
                    await self._claim(sub)
                resp = await r.xreadgroup(sub.group, self.consumer, {self.stream: ">"},
                                          count=64, block=self.block_ms)
            except asyncio.CancelledError:
                raise
            except (ConnectionError, OSError, aioredis.ConnectionError) as exc:
                log.warning("bus: reading for %s failed (%s); retrying", sub.output.name, exc)
                await asyncio.sleep(0.5)
                continue
            for _, entries in resp or []:
                await self._handle_all(sub, entries)

    async def _claim(self, sub: _Sub) -> None:
        """Take over entries a dead consumer received but never acknowledged."""
        assert self._r is not None
        start = "0-0"
        idle_ms = int(self.claim_idle * 1000)
        while True:
            resp = await self._r.xautoclaim(self.stream, sub.group, self.consumer, idle_ms,
                                            start_id=start, count=64)
            start, entries = resp[0], resp[1]
            gone = [entry_id for entry_id, fields in entries if fields is None]
            if gone:  # trimmed away meanwhile
                await self._r.xack(self.stream, sub.group, *gone)
            live = [(entry_id, fields) for entry_id, fields in entries if fields is not None]
            sub.claimed += len(live)
            await self._handle_all(sub, live)
            if start in (b"0-0", "0-0") or not entries:
                return

    async def _handle_all(self, sub: _Sub, entries: list[Any]) -> None:
        """Handle a read's entries in order, then acknowledge those handled in one XACK."""
        assert self._r is not None
        done: list[bytes] = []
        try:
            for entry_id, fields in entries:
                if await self._handle(sub, entry_id, fields):
                    done.append(entry_id)
        finally:
            if done:
                # the outputs' work (and their outbox records) is committed: acknowledge;
                # shielded, so a stop in the middle still acknowledges what was handled
                await asyncio.shield(self._r.xack(self.stream, sub.group, *done))
                self._forget_read()

    async def _handle(self, sub: _Sub, entry_id: bytes, fields: dict[bytes, bytes]) -> bool:
        """Handle one entry; True when it may be acknowledged."""
        decoded = self._decode(f"bus:{sub.output.name}", entry_id, fields)
        if decoded is None:
            # kept pending, never acknowledged: a claim retries it (and finds it named
            # already) until a lalert that reads it, or an operator, deals with it
            return False
        change, _ = decoded
        self.last_seq = max(self.last_seq, change.seq)
        if not (change.drill and not sub.drills):
            # a cancellation leaves the entry unacknowledged: pending, claimed back by a
            # live worker
            await self._deliver(sub, change)
        sub.handled += 1
        sub.cursor = max(sub.cursor, change.seq)
        return True

"""Push delivery: the body every channel sends, the fan-out rule and the retrying dispatcher.

The outbox itself is storage (``lalert.storage.PushDeliveries``), handed to each push
output through ``OutputContext.stores``: ``<home>/push.sqlite`` in one process
(``lalert.store.push``), or the PostgreSQL tables every push worker shares
(``lalert.store.pgpush``), where each open row is claimed by one worker at a time
(``SELECT … FOR UPDATE SKIP LOCKED`` with a lease). With a shared store the ``Dispatcher``
also *pulls*: whenever it has room it claims open rows nobody holds — the rest of a large
fan-out, a dead worker's, a desk retry — so every push worker shares the sending and a
kill -9 loses nothing. A crash can only repeat the few deliveries whose confirmation had
arrived but not yet been committed — with the same id (``delivery_id``), so the receiver's
dedupe keeps the effect exactly-once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
import msgspec

from lalert.changes import AlertChange
from lalert.codec import enriched_json
from lalert.model import EnrichedAlert, area_key
from lalert.outputs.netguard import guarded_connector
from lalert.outputs.phrases import level_info
from lalert.storage import Job, LoggedChange, Outcome, PushDeliveries

log = logging.getLogger(__name__)

FIRST_SHARE = 128
"""Rows of one fan-out the fanning worker holds at once on a shared store; the others are
claimed by whichever push workers have room."""


def alert_key(change: AlertChange) -> str:
    fmt, ident = change.alert.alert.key
    return f"{fmt}|{ident}"


class _What(msgspec.Struct):
    """A body's ``change`` object (fields in their JSON order)."""

    seq: int
    kind: str
    reason: str
    drill: bool
    at: str


_encoder = msgspec.json.Encoder()


class _AreaLevel(msgspec.Struct):
    """One entry of a body's ``area_levels``: a place in force and its level there."""

    scheme: str
    code: str | None
    name: str | None
    level: int | None


def area_levels(ea: EnrichedAlert) -> list[_AreaLevel]:
    """The level in force at each active area (``EnrichedAlert.area_levels``), in the
    order of ``areas``: a receiver tells 三宅町 its 注意報 (2) while 十津川村 is at 5."""
    levels = ea.area_levels()
    return [_AreaLevel(a.scheme, a.code, a.name, levels.get(area_key(a), ea.alert.level))
            for a in ea.active_areas()]


def change_json(change: AlertChange) -> str:
    """The JSON every push channel sends and the change log keeps: the enriched alert
    (``lalert.codec.enriched_json``; its ``level`` is the highest anywhere) plus the
    level's one wording in both languages (``level_label``: who says it, label, action),
    the level in force at each active area (``area_levels``: ``[{scheme, code, name,
    level}]``, see ``area_levels``) and what changed (``change``).

    Encoded once per change, by msgspec, and kept on the change (``AlertChange.memo``)
    for every other output that sends or logs it."""
    body = change.memo.get("push_json")
    if body is None:
        what = _What(change.seq, change.kind, change.reason, change.drill, change.at)
        body = (enriched_json(change.alert)[:-1] + b',"level_label":'
                + _encoder.encode(level_info(change.alert)) + b',"area_levels":'
                + _encoder.encode(area_levels(change.alert)) + b',"change":'
                + _encoder.encode(what) + b"}").decode()
        change.memo["push_json"] = body
    return body  # type: ignore[return-value]


def change_body(change: AlertChange) -> dict[str, Any]:
    """``change_json`` as Python data."""
    return json.loads(change_json(change))


def job_inputs(job: Job, subs: Any, body_of: Callable[[int], Any]) -> tuple[Any, Any] | Outcome:
    """The subscription and change body a send needs, or the final ``Outcome`` when one is
    gone: a deleted subscription or a change missing from the outbox never comes back, so
    retrying would only delay the dead letter."""
    sub = subs.get(job.sub_id)
    if sub is None:
        return Outcome(False, error="subscription deleted", final=True)
    body = body_of(job.seq)
    if body is None:
        return Outcome(False, error=f"change {job.seq} missing from the outbox", final=True)
    return sub, body


SendFn = Callable[[Job], Awaitable[Outcome]]


class Dispatcher:
    """Sends jobs with a global and a per-endpoint concurrency limit, retries with
    exponential backoff and full jitter, dead-letters after ``max_attempts`` and records
    every attempt through a group-committing writer."""

    def __init__(
        self,
        store: PushDeliveries,
        channel: str,
        send: SendFn,
        endpoint_of: Callable[[Job], str],
        *,
        workers: int = 64,
        per_endpoint: int = 4,
        max_attempts: int = 8,
        base_delay: float = 1.0,
        max_delay: float = 600.0,
    ) -> None:
        self.store, self.channel, self.send, self.endpoint_of = store, channel, send, endpoint_of
        self.n_workers, self.per_endpoint = workers, per_endpoint
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self._queue: asyncio.Queue[Job] = asyncio.Queue()
        self._sems: dict[str, asyncio.Semaphore] = {}
        self._results: list[tuple[Job, str, Outcome, float, float]] = []
        self._wake = asyncio.Event()
        self._batch_done: asyncio.Future[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self._open = 0  # submitted jobs not yet in a final state
        self.failing = ""  # why results cannot be recorded right now (an alarm)
        self._idle = asyncio.Event()
        self._idle.set()

    async def start(self) -> None:
        self._batch_done = asyncio.get_running_loop().create_future()
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self.n_workers)]
        self._tasks.append(asyncio.create_task(self._writer()))
        if getattr(self.store, "shared", False):
            self._tasks.append(asyncio.create_task(self._pull()))  # resumes, and shares
            return
        resumed = await asyncio.to_thread(self.store.unfinished, self.channel)
        if resumed:
            log.info("%s: resuming %d unfinished deliveries", self.channel, len(resumed))
        self.submit(resumed)

    async def _pull(self) -> None:
        """Shared store: while there is room, claim open rows nobody holds (another
        worker's large fan-out, a dead worker's rows, a desk retry, this worker's own
        rows from before a restart)."""
        poll = float(getattr(self.store, "poll_s", 0.5))
        while True:
            room = self.n_workers * 2 - self._queue.qsize()
            jobs: list[Job] = []
            if room > 0:
                try:
                    jobs = await asyncio.to_thread(self.store.claim, self.channel, room)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the database away: try again next round
                    log.warning("%s: claiming deliveries failed: %s", self.channel, exc)
            if jobs:
                self.submit(jobs)
            if len(jobs) < room or room <= 0:
                await asyncio.sleep(poll)

    def submit(self, jobs: Iterable[Job]) -> None:
        now = time.time()
        for job in jobs:
            self._open += 1
            self._idle.clear()
            self._schedule(job, job.next_at - now)

    def _schedule(self, job: Job, delay: float) -> None:
        if delay <= 0:
            self._queue.put_nowait(job)
            return
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            self._queue.put_nowait(job)

        handle = loop.call_later(delay, fire)
        self._timers.add(handle)

    def _backoff(self, attempts: int) -> float:
        cap = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        return cap / 2 + random.uniform(0, cap / 2)  # "equal jitter": never zero, never herd

    async def _worker(self) -> None:
        while True:
            job = await self._queue.get()
            try:
                endpoint = self.endpoint_of(job)
            except Exception:  # one bad row must not end this worker for every other
                endpoint = ""
            sem = self._sems.get(endpoint)
            if sem is None:
                sem = self._sems[endpoint] = asyncio.Semaphore(self.per_endpoint)
            async with sem:
                t0 = time.perf_counter()
                try:
                    outcome = await self.send(job)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # any transport failure is a retryable attempt
                    outcome = Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500])
                ms = (time.perf_counter() - t0) * 1000
            job.attempts += 1
            now = time.time()
            if outcome.ok:
                state = "sent"
            elif outcome.final or job.attempts >= self.max_attempts:
                state = "dead"
            else:
                state = "retrying"
                job.next_at = now + self._backoff(job.attempts)
            self._results.append((dataclasses.replace(job), state, outcome, now, ms))
            committed = self._batch_done
            assert committed is not None
            self._wake.set()
            # Back-pressure: take no new job before this result is on disk, so at most
            # `workers` confirmed deliveries can ever be unrecorded at a crash.
            await asyncio.shield(committed)
            if state == "retrying":
                self._schedule(job, job.next_at - now)

    async def _writer(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(0)  # results that arrive during a commit form the next group
            self._wake.clear()
            try:
                await self._flush()
                self.failing = ""
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # disk full, database away: keep the results, alarm
                self.failing = f"recording delivery results failed: {exc}"[:300]
                log.error("ALARM: %s: %s; retrying", self.channel, self.failing)
                await asyncio.sleep(1.0)
                self._wake.set()

    async def _flush(self) -> None:
        batch, self._results = self._results, []
        done, self._batch_done = self._batch_done, asyncio.get_running_loop().create_future()
        if not batch:
            if done is not None and not done.done():
                done.set_result(None)
            return
        try:
            await asyncio.to_thread(self.store.record, batch)
        except BaseException:
            self._results[:0] = batch  # recorded by the next flush that succeeds
            raise
        finally:
            if done is not None and not done.done():
                done.set_result(None)
        self._open -= sum(1 for _, st, *_ in batch if st != "retrying")
        if self._open <= 0:
            self._open = 0
            self._idle.set()

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every submitted job is sent or dead (tests, benchmarks, shutdown)."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
            return True
        except TimeoutError:
            return False

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for h in list(self._timers):
            h.cancel()
        await self._flush()  # what was confirmed is recorded; open rows resume next start


# Bytes of a push receiver's answer lalert reads; the rest is never read.
RESPONSE_READ_MAX = 64 * 1024


class BoundedResponse(aiohttp.ClientResponse):
    """A receiver's answer read at most ``RESPONSE_READ_MAX`` bytes deep.

    Web Push endpoints are registered anonymously and may be anyone's server, and a
    webhook receiver can be compromised: an answer of 200 followed by an endless body was
    read whole (by ``await r.read()`` here and by pywebpush's ``resp.text()``) until the
    request timeout — gigabytes on a fast link. Past the bound the connection is closed."""

    async def read(self) -> bytes:
        if self._body is None:
            body = bytearray()
            try:
                while len(body) < RESPONSE_READ_MAX:
                    chunk = await self.content.read(RESPONSE_READ_MAX - len(body))
                    if not chunk:
                        break
                    body.extend(chunk)
            except BaseException:
                self.close()
                raise
            self._body = bytes(body)
            if self.content.at_eof():
                self.release()
            else:
                self.close()  # the rest stays unread: this connection is not reused
        return self._body


def session_and_dispatcher(
    cfg: Any,
    store: Any,
    channel: str,
    send: SendFn,
    endpoint_of: Callable[[Job], str],
    *,
    workers: int,
    per_endpoint: int,
    max_attempts: int,
    base_delay: float,
    headers: dict[str, str] | None = None,
    allow: Iterable[Any] = (),
) -> tuple[aiohttp.ClientSession, Dispatcher]:
    """The HTTP session and the dispatcher a push output sends through, sized by its
    ``[outputs.<channel>]`` config (``workers``, ``per_endpoint``, ``max_attempts``,
    ``base_delay_s``, ``max_delay_s``, ``timeout_s``); each output passes its own defaults.
    Every connection is checked against public addresses plus ``allow``
    (``lalert.outputs.netguard``: the connect-time SSRF check)."""
    n = int(cfg.get("workers", workers))
    session = aiohttp.ClientSession(
        connector=guarded_connector(allow, limit=n, limit_per_host=0),
        timeout=aiohttp.ClientTimeout(total=float(cfg.get("timeout_s", 10))),
        headers=headers,
        response_class=BoundedResponse,
    )
    dispatcher = Dispatcher(
        store,
        channel,
        send,
        endpoint_of,
        workers=n,
        per_endpoint=int(cfg.get("per_endpoint", per_endpoint)),
        max_attempts=int(cfg.get("max_attempts", max_attempts)),
        base_delay=float(cfg.get("base_delay_s", base_delay)),
        max_delay=float(cfg.get("max_delay_s", 600.0)),
    )
    return session, dispatcher


def push_alarms(subs: Any, channel: str, dispatcher: Dispatcher | None) -> list[str]:
    """What a push output reports to ``/healthz``: subscriptions that cannot be matched
    (left out of matching, never failing the change for the others) and a dispatcher that
    cannot record results."""
    out: list[str] = []
    broken = getattr(subs, "broken", None)
    if callable(broken):
        for sub_id, why in sorted(broken(channel).items())[:20]:
            out.append(f"subscription {sub_id} cannot be matched: {why}")
    if dispatcher is not None and dispatcher.failing:
        out.append(dispatcher.failing)
    return out


def logged(change: AlertChange) -> LoggedChange:
    """The change as the push store keeps it: the body every channel sends, rendered once."""
    return LoggedChange(change.seq, alert_key(change), change_json(change))


def may_reach_anyone(subs: Any, channel: str) -> bool:
    """False when ``channel`` has no subscription at all, so a change needs no fan-out:
    nobody matches it, and nobody who got an earlier version of its alert is still
    subscribed (their rows could only end as "subscription deleted"). Stores that cannot
    say cheaply (no ``has_any``) are asked the full question every time."""
    has_any = getattr(subs, "has_any", None)
    return has_any is None or bool(has_any(channel))


def fan_out_change(store: PushDeliveries, channel: str, change: AlertChange,
                   matched: Iterable[str]) -> list[Job]:
    """Rows for the matched subscriptions plus everyone who got an earlier version of the
    same alert (so an update or cancel reaches them even if the footprint moved away)."""
    if store.fanned_out(channel, change.seq):
        return []
    recipients = set(matched) | store.previous_recipients(channel, alert_key(change))
    take = FIRST_SHARE if getattr(store, "shared", False) else None
    return store.fan_out(channel, logged(change), sorted(recipients), take=take)


async def fan_out_subscribed(output: Any, channel: str, change: AlertChange) -> None:
    """A subscription channel's ``handle`` (webhook, Web Push): nothing when the channel
    has no subscription, else the matching and the outbox write in a thread — an index
    rebuild (or PostGIS) and the outbox's durable commit (an fsync) never stall the event
    loop — and the jobs to the output's dispatcher."""
    assert output.dispatcher is not None, "start() first"
    if not may_reach_anyone(output.subs, channel):
        return  # nobody subscribed on this channel: no matching, no outbox write

    def fan_out() -> list[Job]:
        return fan_out_change(output.box, channel, change, output.subs.match(change.alert, channel))

    output.dispatcher.submit(await asyncio.to_thread(fan_out))

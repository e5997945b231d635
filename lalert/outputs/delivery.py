"""The push delivery outbox (``<home>/push.sqlite``) and the retrying dispatcher.

Every (alert version = change ``seq``, subscription) is one row, pending → sent |
retrying | dead, keyed by a delivery id that is stable across retries and restarts so a
receiver can dedupe on it. A row becomes ``sent`` only after the receiver confirmed and the
state reached disk (WAL, synchronous=FULL, group commit every few ms); after kill -9 the
unfinished rows are resumed and ``sent`` rows are never sent again. A crash can only
repeat the few deliveries whose confirmation had arrived but not yet been committed —
with the same id, so the receiver's dedupe keeps the effect exactly-once.

Why not the core ``Outbox``: it records one state per (output, key) and has no per-row
scheduling, attempt log or per-subscription fan-out query; push needs all three.

With the PostgreSQL store (``use_store``, called by the daemon at start, like the
subscriptions' switch) ``PushStore.for_home`` hands out the shared
``lalert.store.pgpush.PgPushStore`` instead: same methods, rows in the database every
push worker uses, each open row claimed by one worker at a time (``SELECT … FOR UPDATE
SKIP LOCKED`` with a lease). The ``Dispatcher`` then also *pulls*: whenever it has room
it claims open rows nobody holds — the rest of a large fan-out, a dead worker's, a desk
retry — so every push worker shares the sending and a kill -9 loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from lalert.changes import AlertChange
from lalert.outputs.netguard import guarded_connector
from lalert.outputs.phrases import level_info
from lalert.store.sqlite import open_durable

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY,
    alert_key TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_key ON changes(alert_key);
CREATE TABLE IF NOT EXISTS fanouts (
    channel TEXT NOT NULL,
    seq INTEGER NOT NULL,
    n INTEGER NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (channel, seq)
);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sub_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at REAL NOT NULL DEFAULT 0,
    updated_at REAL NOT NULL,
    last_status INTEGER,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_open ON deliveries(channel, state)
    WHERE state IN ('pending', 'retrying');
CREATE INDEX IF NOT EXISTS deliveries_sub ON deliveries(channel, sub_id);
CREATE TABLE IF NOT EXISTS attempts (
    delivery_id TEXT NOT NULL,
    n INTEGER NOT NULL,
    at REAL NOT NULL,
    status INTEGER,
    error TEXT,
    ms REAL
);
CREATE INDEX IF NOT EXISTS attempts_delivery ON attempts(delivery_id);
CREATE TABLE IF NOT EXISTS mqtt_topics (
    alert_key TEXT NOT NULL,
    topic TEXT NOT NULL,
    PRIMARY KEY (alert_key, topic)
);
"""

OPEN_STATES = ("pending", "retrying")
_STORES: dict[Path, PushStore] = {}
_STORES_LOCK = threading.Lock()
_BACKEND: dict[str, Any] = {"url": "", "store": None, "lease_s": 30.0, "poll_s": 0.5}
FIRST_SHARE = 128
"""Rows of one fan-out the fanning worker holds at once on a shared store; the others are
claimed by whichever push workers have room."""


def use_store(url: str, *, lease_s: float = 30.0, poll_s: float = 0.5) -> None:
    """The daemon's store URL: PostgreSQL keeps the deliveries in the database (shared by
    every worker; ``[push] lease_s`` / ``poll_s``), anything else in ``push.sqlite``."""
    from lalert.store.registry import scheme

    old = _BACKEND["store"]
    shared = scheme(url) in ("postgresql", "postgres", "postgis")
    _BACKEND.update(url=url if shared else "", store=None, lease_s=lease_s, poll_s=poll_s)
    if old is not None and not url:  # the daemon's cleanup: its outputs have stopped
        old.close()


def backend_name() -> str:
    return "postgis" if _BACKEND["url"] else "sqlite"


def delivery_id(channel: str, seq: int, sub_id: str) -> str:
    """Stable across retries and restarts: the receiver's dedupe key (webhook-id)."""
    h = hashlib.blake2b(f"{channel}:{seq}:{sub_id}".encode(), digest_size=16).hexdigest()
    return f"msg_{h}"


def alert_key(change: AlertChange) -> str:
    fmt, ident = change.alert.alert.key
    return f"{fmt}|{ident}"


def change_body(change: AlertChange) -> dict[str, Any]:
    """The JSON every push channel sends: the enriched alert plus what changed, and the
    level's one wording in both languages (``level_label``: who says it, label, action)."""
    body = change.alert.to_dict()
    body["level_label"] = level_info(change.alert)
    body["change"] = {
        "seq": change.seq,
        "kind": change.kind,
        "reason": change.reason,
        "drill": change.drill,
        "at": change.at,
    }
    return body


@dataclass
class Job:
    id: str
    channel: str
    seq: int
    sub_id: str
    attempts: int = 0
    next_at: float = 0.0


@dataclass
class Outcome:
    ok: bool
    status: int | None = None
    error: str = ""
    final: bool = False  # no point retrying (subscription gone, 404/410 from a push service)


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


class PushStore:
    """push.sqlite: change bodies, fan-out markers, deliveries, attempts, MQTT topics."""

    shared = False  # one process: fan_out hands out every job, nobody else claims rows

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_durable(path, _SCHEMA)
        self._lock = threading.RLock()

    @classmethod
    def for_home(cls, home: Path) -> Any:
        """The home's store, or the shared PostgreSQL one when ``use_store`` chose it."""
        if _BACKEND["url"]:
            with _STORES_LOCK:
                if _BACKEND["store"] is None:
                    from lalert.store.pgpush import PgPushStore

                    _BACKEND["store"] = PgPushStore(_BACKEND["url"], lease_s=_BACKEND["lease_s"],
                                                    poll_s=_BACKEND["poll_s"])
                return _BACKEND["store"]
        path = (Path(home) / "push.sqlite").resolve()
        with _STORES_LOCK:
            store = _STORES.get(path)
            if store is None:
                store = _STORES[path] = cls(path)
            return store

    @classmethod
    def existing(cls, home: Path) -> Any:
        """The store if one exists (the desk reads it, never creates ``push.sqlite``)."""
        if not _BACKEND["url"] and not (Path(home) / "push.sqlite").exists():
            return None
        return cls.for_home(home)

    def close(self) -> None:
        with _STORES_LOCK:
            _STORES.pop(self.path, None)
        with self._lock:
            self._db.close()

    # --- changes (also the SSE resume log when the core offers none) ----------------

    def log_change(self, change: AlertChange) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO changes(seq, alert_key, body) VALUES (?,?,?)",
                (change.seq, alert_key(change), json.dumps(change_body(change), ensure_ascii=False)),
            )

    def log_changes(self, changes: list[AlertChange]) -> None:
        rows = [(c.seq, alert_key(c), json.dumps(change_body(c), ensure_ascii=False))
                for c in changes]
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO changes(seq, alert_key, body) VALUES (?,?,?)", rows)
            self._db.execute("COMMIT")

    def change_json(self, seq: int) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM changes WHERE seq=?", (seq,)).fetchone()
        return row[0] if row else None

    def changes_since(self, seq: int, limit: int = 10_000) -> list[tuple[int, str]]:
        with self._lock:
            return self._db.execute(
                "SELECT seq, body FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
            ).fetchall()

    def last_seq(self) -> int:
        with self._lock:
            row = self._db.execute("SELECT max(seq) FROM changes").fetchone()
        return int(row[0] or 0)

    # --- fan-out -------------------------------------------------------------------

    def fanned_out(self, channel: str, seq: int) -> bool:
        with self._lock:
            return (
                self._db.execute(
                    "SELECT 1 FROM fanouts WHERE channel=? AND seq=?", (channel, seq)
                ).fetchone()
                is not None
            )

    def previous_recipients(self, channel: str, key: str) -> set[str]:
        """Who got an earlier version of this alert: they must hear of its update/cancel."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT d.sub_id FROM deliveries d JOIN changes c ON c.seq = d.seq"
                " WHERE c.alert_key = ? AND d.channel = ?",
                (key, channel),
            ).fetchall()
        return {r[0] for r in rows}

    def fan_out(self, channel: str, change: AlertChange, sub_ids: Iterable[str], *,
                take: int | None = None) -> list[Job]:
        """One transaction: the change body, a pending row per subscription, the marker.
        ``take`` matters to shared stores only: here this process sends every row."""
        jobs = [Job(delivery_id(channel, change.seq, s), channel, change.seq, s) for s in sub_ids]
        now = time.time()
        body = json.dumps(change_body(change), ensure_ascii=False)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if self._db.execute(
                    "SELECT 1 FROM fanouts WHERE channel=? AND seq=?", (channel, change.seq)
                ).fetchone():
                    self._db.execute("ROLLBACK")
                    return []
                self._db.execute(
                    "INSERT OR IGNORE INTO changes(seq, alert_key, body) VALUES (?,?,?)",
                    (change.seq, alert_key(change), body),
                )
                self._db.executemany(
                    "INSERT OR IGNORE INTO deliveries(id, channel, seq, sub_id, state, updated_at)"
                    " VALUES (?,?,?,?, 'pending', ?)",
                    [(j.id, channel, j.seq, j.sub_id, now) for j in jobs],
                )
                self._db.execute(
                    "INSERT INTO fanouts(channel, seq, n, at) VALUES (?,?,?,?)",
                    (channel, change.seq, len(jobs), now),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return jobs

    def unfinished(self, channel: str) -> list[Job]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, channel, seq, sub_id, attempts, next_at FROM deliveries"
                " WHERE channel=? AND state IN ('pending','retrying') ORDER BY seq, rowid",
                (channel,),
            ).fetchall()
        return [Job(*r) for r in rows]

    def record(self, results: list[tuple[Job, str, Outcome, float, float]]) -> None:
        """Group commit of attempt results: (job, new state, outcome, at, ms)."""
        if not results:
            return
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "UPDATE deliveries SET state=?, attempts=?, next_at=?, updated_at=?,"
                " last_status=?, last_error=? WHERE id=?",
                [
                    (st, j.attempts, j.next_at, at, o.status, o.error or None, j.id)
                    for j, st, o, at, _ in results
                ],
            )
            self._db.executemany(
                "INSERT INTO attempts(delivery_id, n, at, status, error, ms) VALUES (?,?,?,?,?,?)",
                [(j.id, j.attempts, at, o.status, o.error or None, ms) for j, _, o, at, ms in results],
            )
            self._db.execute("COMMIT")

    # --- reading for the desk console and tests --------------------------------------

    def seq_states(self, seqs: Iterable[int]) -> dict[int, dict[str, dict[str, int]]]:
        """seq → channel → state → deliveries, for the desk's per-alert status (one query)."""
        wanted = sorted(set(seqs))
        out: dict[int, dict[str, dict[str, int]]] = {}
        if not wanted:
            return out
        q = ",".join("?" * len(wanted))
        with self._lock:
            for seq, ch, st, n in self._db.execute(
                    f"SELECT seq, channel, state, count(*) FROM deliveries WHERE seq IN ({q})"
                    " GROUP BY seq, channel, state", wanted):
                out.setdefault(seq, {}).setdefault(ch, {})[st] = n
        return out

    def states(self, channel: str | None = None) -> dict[str, int]:
        q = "SELECT state, count(*) FROM deliveries"
        args: tuple[Any, ...] = ()
        if channel:
            q += " WHERE channel=?"
            args = (channel,)
        with self._lock:
            return dict(self._db.execute(q + " GROUP BY state", args).fetchall())

    def deliveries(
        self, *, channel: str | None = None, state: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        q = "SELECT id, channel, seq, sub_id, state, attempts, next_at, updated_at, last_status, last_error FROM deliveries"
        cond, args = [], []
        if channel:
            cond.append("channel=?")
            args.append(channel)
        if state:
            cond.append("state=?")
            args.append(state)
        if cond:
            q += " WHERE " + " AND ".join(cond)
        q += " ORDER BY updated_at DESC LIMIT ?"
        args.append(limit)
        cols = ["id", "channel", "seq", "sub_id", "state", "attempts", "next_at", "updated_at",
                "last_status", "last_error"]  # fmt: skip
        with self._lock:
            return [dict(zip(cols, r, strict=True)) for r in self._db.execute(q, args)]

    def attempts(self, delivery: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT n, at, status, error, ms FROM attempts WHERE delivery_id=? ORDER BY rowid",
                (delivery,),
            ).fetchall()
        return [dict(zip(("n", "at", "status", "error", "ms"), r, strict=True)) for r in rows]

    def delivery(self, delivery: str) -> dict[str, Any] | None:
        """One delivery row (the desk's detail page), or None."""
        cols = ["id", "channel", "seq", "sub_id", "state", "attempts", "next_at", "updated_at",
                "last_status", "last_error"]  # fmt: skip
        with self._lock:
            row = self._db.execute(
                f"SELECT {', '.join(cols)} FROM deliveries WHERE id=?", (delivery,)).fetchone()
        return dict(zip(cols, row, strict=True)) if row else None

    def change_titles(self, seqs: Iterable[int]) -> dict[int, str]:
        """seq → the alert's title, read inside SQLite (json_extract) so a page of
        deliveries never parses whole enriched bodies."""
        wanted = sorted(set(seqs))
        if not wanted:
            return {}
        q = ",".join("?" * len(wanted))
        with self._lock:
            rows = self._db.execute(
                f"SELECT seq, json_extract(body, '$.title') FROM changes WHERE seq IN ({q})",
                wanted).fetchall()
        return {int(s): str(t or "") for s, t in rows}

    def requeue(self, delivery: str) -> Job | None:
        """A dead-lettered delivery back to ``pending`` for one more attempt now (the desk's
        "retry now"); the attempt count goes on, so another failure dead-letters it again.
        Returns the job to hand to the running dispatcher, or None if it was not dead."""
        with self._lock:
            cur = self._db.execute(
                "UPDATE deliveries SET state='pending', next_at=0, updated_at=?"
                " WHERE id=? AND state='dead'", (time.time(), delivery))
            if cur.rowcount != 1:
                return None
            row = self._db.execute(
                "SELECT id, channel, seq, sub_id, attempts, next_at FROM deliveries WHERE id=?",
                (delivery,)).fetchone()
        return Job(*row)

    # --- MQTT retained topics ----------------------------------------------------------

    def mqtt_topics(self, key: str) -> set[str]:
        with self._lock:
            rows = self._db.execute("SELECT topic FROM mqtt_topics WHERE alert_key=?", (key,))
            return {r[0] for r in rows}

    def set_mqtt_topics(self, key: str, topics: Iterable[str]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM mqtt_topics WHERE alert_key=?", (key,))
            self._db.executemany(
                "INSERT INTO mqtt_topics(alert_key, topic) VALUES (?,?)", [(key, t) for t in topics]
            )
            self._db.execute("COMMIT")


SendFn = Callable[[Job], Awaitable[Outcome]]


class Dispatcher:
    """Sends jobs with a global and a per-endpoint concurrency limit, retries with
    exponential backoff and full jitter, dead-letters after ``max_attempts`` and records
    every attempt through a group-committing writer."""

    def __init__(
        self,
        store: PushStore,
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


def fan_out_change(store: Any, channel: str, change: AlertChange, matched: Iterable[str]) -> list[Job]:
    """Rows for the matched subscriptions plus everyone who got an earlier version of the
    same alert (so an update or cancel reaches them even if the footprint moved away)."""
    if store.fanned_out(channel, change.seq):
        return []
    recipients = set(matched) | store.previous_recipients(channel, alert_key(change))
    take = FIRST_SHARE if getattr(store, "shared", False) else None
    return store.fan_out(channel, change, sorted(recipients), take=take)

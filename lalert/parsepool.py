"""Parsing received bytes in worker processes, so that a burst uses every core.

In a burst, parsing is about half of the daemon's CPU, and it ran on the event loop's
thread: one core parsed while the other idled, and every other request waited behind it.
``ParsePool`` parses in a ``concurrent.futures.ProcessPoolExecutor`` (``[ingest]
parse_workers``: a number, or ``"auto"`` for one per core; 0, the default, parses on the
event loop).

Off by default, as measured: on the shared 2-core development machine (load 7-10 from
other work) a 3,000-message burst took the same time with and without the pool (60-66 s)
while the pool cost ~15 % more CPU per message (8.2 vs 6.6-7.3 ms: the hand-offs, and
the alerts decoded again in the daemon); with a core idle it was ~20 % faster (36 vs
45 s), and it takes the event loop's share per message from ~7 to ~4 ms. Turn it on
where the daemon has cores of its own (``bench/ingest.py --parse-workers auto``).

What crosses the process boundary is plain values only: the raw messages go in (bytes,
with the sender's name and the size bound), and one MessagePack ``bytes`` comes out with,
per message, the codec's packed alerts (``lalert.codec.pack``, version-tagged) or the
parse error's reason. The executor itself moves arguments and results with Python's
object serialisation; that is safe here because both ends are this daemon's own
processes and the values are plain ``bytes`` / ``str`` / ``int`` / ``bool`` in lists and
tuples — no model object and no exception is ever sent, and nothing a sender controls is
ever turned back into code (a parser that raises something unexpected is only flagged;
the daemon parses that message again itself). The packed bytes are also the
journal's alert cache, so the daemon does not encode the alerts again.

Workers are started with ``spawn`` (a fresh interpreter that imports only the parsers and
the codec): forking a daemon that runs threads (SQLite writers, ``to_thread`` calls)
could copy a lock some thread held. One pool per process and worker count, started on
first use and warmed at once, shared by every pipeline of the process (tests build many).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures.process import BrokenProcessPool

import msgspec

from lalert.codec import pack, unpack_alerts
from lalert.model import Alert
from lalert.parsers import ParseError, parse

log = logging.getLogger(__name__)


def timeless(alerts: list[Alert]) -> list[Alert]:
    """Demo messages stay in force until cancelled, whatever date the demo runs on."""
    return [dataclasses.replace(a, valid_until=None) for a in alerts]


class _Parsed(msgspec.Struct, array_like=True, frozen=True):
    """A worker's answer for one message: the packed alerts, or why the bytes cannot be
    read, or ``failed`` (the parser itself raised: the daemon parses that message again
    in its own thread, so it fails exactly as it did before the pool)."""

    packed: bytes | None = None
    reason: str | None = None
    line: int | None = None
    unsupported: str | None = None  # a format whose parser is not installed
    failed: bool = False


_encode = msgspec.msgpack.Encoder()
_decode = msgspec.msgpack.Decoder(list[_Parsed])

Job = tuple[bytes, str, int, bool]  # (bytes as received, sender, max_bytes, demo)


def _parse_one(data: bytes, sender: str, max_bytes: int, demo: bool) -> _Parsed:
    try:
        alerts = parse(data, source=sender, max_bytes=max_bytes)
    except ParseError as exc:
        return _Parsed(reason=exc.reason, line=exc.line)
    except ImportError as exc:
        return _Parsed(unsupported=str(exc))
    except Exception:
        return _Parsed(failed=True)
    return _Parsed(packed=pack(timeless(alerts) if demo else alerts))


def parse_many(jobs: list[Job]) -> bytes:
    """In a worker: parse a batch of messages; MessagePack of one ``_Parsed`` each."""
    return _encode.encode([_parse_one(*job) for job in jobs])


def _warm() -> int:
    """Run once in each new worker so the first message does not wait for imports."""
    return os.getpid()


def _watch_parent(parent: int) -> None:
    """In each worker: exit when the daemon is gone. A worker holds both ends of the
    executor's queue pipes, so a daemon killed with -9 would never close them for it;
    without this watch its workers would outlive it, idle, forever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


_POOLS: dict[int, concurrent.futures.ProcessPoolExecutor] = {}
_LOCK = threading.Lock()


def _pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    with _LOCK:
        pool = _POOLS.get(workers)
        if pool is None:
            pool = _POOLS[workers] = concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_watch_parent, initargs=(os.getpid(),))
            for _ in range(workers):
                pool.submit(_warm)
        return pool


def _forget(workers: int, pool: concurrent.futures.ProcessPoolExecutor) -> None:
    with _LOCK:
        if _POOLS.get(workers) is pool:
            del _POOLS[workers]
    pool.shutdown(wait=False, cancel_futures=True)


MAX_BATCH = 32
"""Most messages sent to a worker in one task. Under load requests queue while every
worker is busy and go together: one round trip (and thread hand-offs) per batch, not per
message. A lone message still goes at once, alone."""


class ParsePool:
    """Parses received bytes off the event loop; ``workers=0`` parses inline."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else max(0, workers)
        self._waiting: list[tuple[Job, asyncio.Future[_Parsed]]] = []
        self._in_flight = 0

    def start(self) -> None:
        """Start (and warm) the shared workers now, not on the first message."""
        if self.workers:
            _pool(self.workers)

    async def parse(self, data: bytes, *, sender: str, max_bytes: int,
                    demo: bool = False) -> tuple[list[Alert], bytes]:
        """The alerts of ``data`` and their packed form (the journal's cache).

        Raises ``ParseError`` with the parser's own reason and line, and ``ImportError``
        for a format whose parser is not installed, exactly as parsing inline does."""
        if self.workers:
            fut: asyncio.Future[_Parsed] = asyncio.get_running_loop().create_future()
            self._waiting.append(((data, sender, max_bytes, demo), fut))
            self._pump()
            got = await fut
            if got.packed is not None:
                return unpack_alerts(got.packed), got.packed
            if got.unsupported is not None:
                raise ImportError(got.unsupported)
            if not got.failed:
                raise ParseError(got.reason if got.reason is not None else "unreadable",
                                 line=got.line)
        alerts = parse(data, source=sender, max_bytes=max_bytes)  # inline, or failed there
        alerts = timeless(alerts) if demo else alerts
        return alerts, pack(alerts)

    def _pump(self) -> None:
        """Hand waiting messages to the workers: at most two batches per worker in
        flight (one parsing, one ready behind it), the waiting split evenly among the
        free slots."""
        slots = 2 * self.workers
        while self._waiting and self._in_flight < slots:
            n = min(MAX_BATCH, -(-len(self._waiting) // (slots - self._in_flight)))
            batch, self._waiting = self._waiting[:n], self._waiting[n:]
            self._in_flight += 1
            pool = _pool(self.workers)
            try:
                task = asyncio.wrap_future(pool.submit(parse_many, [job for job, _ in batch]))
            except (BrokenProcessPool, RuntimeError) as exc:  # broken, or shut down
                task = asyncio.get_running_loop().create_future()
                task.set_exception(BrokenProcessPool(str(exc)))
            task.add_done_callback(lambda t, batch=batch, pool=pool: self._done(t, batch, pool))

    def _done(self, task: asyncio.Future[bytes], batch: list[tuple[Job, asyncio.Future[_Parsed]]],
              pool: concurrent.futures.ProcessPoolExecutor) -> None:
        self._in_flight -= 1
        try:
            answers = _decode.decode(task.result())
            if len(answers) != len(batch):
                raise ValueError(f"{len(answers)} answers for {len(batch)} messages")
        except BaseException as exc:  # a worker died (killed, out of memory), or cancelled
            if isinstance(exc, BrokenProcessPool):
                # start a new pool for the next messages; parse these here, as before
                log.error("ALARM: a parse worker died; restarting the parse pool")
                _forget(self.workers, pool)
            answers = [_Parsed(failed=True)] * len(batch)
        for (_, fut), got in zip(batch, answers, strict=True):
            if not fut.done():
                fut.set_result(got)
        self._pump()

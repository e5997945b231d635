"""Parsing received bytes in worker processes, so that a burst uses every core.

In a burst, parsing is about half of the daemon's CPU, and it ran on the event loop's
thread: one core parsed while the other idled, and every other request waited behind it.
``ParsePool`` parses in a ``concurrent.futures.ProcessPoolExecutor`` (``[ingest]
parse_workers``, default: one per core; 0 parses in the daemon's own thread as before).

What crosses the process boundary is bytes only: the raw message goes in, and the codec's
packed MessagePack (``lalert.codec.pack``, version-tagged) or a parse error's reason comes
out, in a small msgspec struct. The executor itself moves its arguments and results with
Python's object serialisation; that is safe here because both ends are this daemon's own
processes and the values are plain ``bytes`` / ``str`` / ``int`` — no model object, and
nothing a sender controls, is ever turned back into code. The packed bytes are also the
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
    """A worker's answer: the packed alerts, or why the bytes cannot be read."""

    packed: bytes | None = None
    reason: str | None = None
    line: int | None = None
    unsupported: str | None = None  # a format whose parser is not installed


_encode = msgspec.msgpack.Encoder()
_decode = msgspec.msgpack.Decoder(_Parsed)


def parse_packed(data: bytes, sender: str, max_bytes: int, demo: bool) -> bytes:
    """In a worker: parse ``data`` and answer ``_Parsed`` as MessagePack bytes."""
    try:
        alerts = parse(data, source=sender, max_bytes=max_bytes)
    except ParseError as exc:
        return _encode.encode(_Parsed(reason=exc.reason, line=exc.line))
    except ImportError as exc:
        return _encode.encode(_Parsed(unsupported=str(exc)))
    return _encode.encode(_Parsed(packed=pack(timeless(alerts) if demo else alerts)))


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


class ParsePool:
    """Parses received bytes off the event loop; ``workers=0`` parses inline."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else max(0, workers)

    def start(self) -> None:
        """Start (and warm) the shared workers now, not on the first message."""
        if self.workers:
            _pool(self.workers)

    async def parse(self, data: bytes, *, sender: str, max_bytes: int,
                    demo: bool = False) -> tuple[list[Alert], bytes]:
        """The alerts of ``data`` and their packed form (the journal's cache).

        Raises ``ParseError`` with the parser's own reason and line, and ``ImportError``
        for a format whose parser is not installed, exactly as parsing inline does."""
        if not self.workers:
            alerts = parse(data, source=sender, max_bytes=max_bytes)
            alerts = timeless(alerts) if demo else alerts
            return alerts, pack(alerts)
        pool = _pool(self.workers)
        try:
            out = await asyncio.wrap_future(pool.submit(parse_packed, data, sender,
                                                        max_bytes, demo))
        except BrokenProcessPool:
            # A worker died (killed, out of memory): start a new pool for the next
            # messages, and parse this one here, as lalert did before the pool.
            log.error("ALARM: a parse worker died; restarting the parse pool")
            _forget(self.workers, pool)
            out = parse_packed(data, sender, max_bytes, demo)
        return self._answer(out)

    @staticmethod
    def _answer(out: bytes) -> tuple[list[Alert], bytes]:
        got = _decode.decode(out)
        if got.packed is not None:
            return unpack_alerts(got.packed), got.packed
        if got.unsupported is not None:
            raise ImportError(got.unsupported)
        raise ParseError(got.reason if got.reason is not None else "unreadable", line=got.line)

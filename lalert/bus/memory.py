"""In-process fan-out of ``AlertChange`` to outputs, each in its own task, in seq order.

A slow or failing output never holds up another: each has its own queue. Every output
has a durable cursor (last seq it finished) saved about once a second and at shutdown;
after a restart the bus hands it the changes after its cursor again, and the output's
outbox (``ctx.outbox``) tells it which of those it already acted on. Exercise / test
changes reach only outputs configured with ``drills = true`` (or whose class sets
``wants_drills = True``, e.g. the desk's own channels).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any

from lalert.changes import AlertChange, ChangeHandler

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 2.0, 5.0)
BATCH = 500  # most queued changes handed to an output's ``handle_batch`` in one call
MAX_SKIPPED_KEPT = 100  # the latest skipped changes named in /healthz; the count is total


class _Sub:
    def __init__(self, output: ChangeHandler, drills: bool, cursor: int) -> None:
        self.output = output
        self.drills = drills
        self.cursor = cursor
        self.queue: asyncio.Queue[AlertChange] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None
        self.failures = 0


class SubsMixin:
    """The per-output bookkeeping every bus shares; each bus names its own ``_sub_type``
    (what it keeps per output) and holds ``_subs`` and ``last_seq``."""

    _sub_type: Callable[[ChangeHandler, bool, int], Any]
    _subs: dict[str, Any]
    last_seq: int
    on_dead: Callable[[str, AlertChange, BaseException], None] | None

    def skip(self, output: str, seq: int, error: BaseException | str) -> None:
        """An output could not process change ``seq``: never silent. The change is named
        in ``skipped`` (``/healthz`` turns non-ok, ``/metrics`` counts it) and the error
        logged; ``on_dead`` hears of it too."""
        if not hasattr(self, "skipped"):
            self.skipped: deque[dict[str, object]] = deque(maxlen=MAX_SKIPPED_KEPT)
            self.skipped_total: Counter[str] = Counter()
        self.skipped.append({"output": output, "seq": seq, "error": str(error)[:300],
                             "at": time.time()})
        self.skipped_total[output] += 1
        logging.getLogger(type(self).__module__).error(
            "ALARM: output %s skipped change seq %s: %s", output, seq, error)

    def skipped_changes(self) -> list[dict[str, object]]:
        return list(getattr(self, "skipped", ()))

    def skipped_counts(self) -> dict[str, int]:
        return dict(getattr(self, "skipped_total", {}))

    def add(self, output: ChangeHandler, *, drills: bool, cursor: int) -> None:
        self._subs[output.name] = self._sub_type(output, drills, cursor)

    @property
    def names(self) -> list[str]:
        return list(self._subs)

    def takes_drills(self, name: str) -> bool:
        sub = self._subs.get(name)
        return bool(sub and sub.drills)

    def cursors(self) -> dict[str, int]:
        return {n: s.cursor for n, s in self._subs.items()}

    def backlog(self) -> dict[str, int]:
        return {n: max(0, self.last_seq - s.cursor) for n, s in self._subs.items()}

    async def _deliver(self, sub: Any, change: AlertChange) -> None:
        """``sub.output.handle(change)``, retried after each of ``RETRY_DELAYS``; then the
        change is skipped for this output with an alarm (``skip``), so one change that an
        output cannot process never stalls the changes after it, and never goes unseen.
        Cancellation passes through untouched."""
        log = logging.getLogger(type(self).__module__)  # each bus logs under its own name
        for attempt, delay in enumerate((*RETRY_DELAYS, None)):
            try:
                await sub.output.handle(change)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                sub.failures += 1
                if delay is None:
                    self.skip(sub.output.name, change.seq, exc)
                    if self.on_dead:
                        self.on_dead(sub.output.name, change, exc)
                    return
                log.warning("output %s failed on seq %s (attempt %d): %s",
                            sub.output.name, change.seq, attempt + 1, exc)
                await asyncio.sleep(delay)


class Bus(SubsMixin):
    _sub_type = _Sub

    def __init__(self) -> None:
        self._subs: dict[str, _Sub] = {}
        self.last_seq = 0
        self.on_dead: Callable[[str, AlertChange, BaseException], None] | None = None

    async def start(self, redeliver: Callable[[int], Awaitable[list[AlertChange]]],
                    key_of: Callable[[AlertChange], str] | None = None) -> None:
        """Queue each output's missed changes (``redeliver(after_seq)``), then run."""
        for sub in self._subs.values():
            if sub.cursor < self.last_seq:
                for ch in await redeliver(sub.cursor):
                    sub.queue.put_nowait(ch)
            sub.task = asyncio.create_task(self._run(sub), name=f"output-{sub.output.name}")

    def publish(self, change: AlertChange, key: str = "") -> None:
        """``key`` (the event key) matters only to buses that carry changes elsewhere."""
        self.last_seq = max(self.last_seq, change.seq)
        for sub in self._subs.values():
            sub.queue.put_nowait(change)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until every output has handled what was published (tests, shutdown)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while any(s.queue.qsize() or s.cursor < self.last_seq for s in self._subs.values()):
            if loop.time() > end:
                return
            await asyncio.sleep(0.01)

    async def _run(self, sub: _Sub) -> None:
        batch_fn = getattr(sub.output, "handle_batch", None)
        while True:
            changes = [await sub.queue.get()]
            if batch_fn is not None:  # what queued meanwhile goes in one call
                while len(changes) < BATCH and not sub.queue.empty():
                    changes.append(sub.queue.get_nowait())
            todo: list[AlertChange] = []
            last = sub.cursor
            for change in changes:
                if change.seq <= last:
                    continue
                last = change.seq
                if not change.drill or sub.drills:
                    todo.append(change)
            if len(todo) > 1 and batch_fn is not None:
                await self._deliver_batch(sub, batch_fn, todo)
            else:
                for change in todo:
                    await self._deliver(sub, change)
                    sub.cursor = change.seq
            sub.cursor = max(sub.cursor, last)

    async def _deliver_batch(self, sub: _Sub, batch_fn: Callable[[list[AlertChange]],
                             Awaitable[None]], changes: list[AlertChange]) -> None:
        """Several changes to an output's ``handle_batch`` (the SSE log writes them in one
        transaction, not one each); if the batch keeps failing, change by change, so only
        the change that cannot be processed is skipped."""
        for delay in RETRY_DELAYS:
            try:
                await batch_fn(changes)
                sub.cursor = changes[-1].seq
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                sub.failures += 1
                log.warning("output %s failed on seqs %s-%s: %s", sub.output.name,
                            changes[0].seq, changes[-1].seq, exc)
                await asyncio.sleep(delay)
        for change in changes:
            await self._deliver(sub, change)
            sub.cursor = change.seq

    async def stop(self) -> None:
        for sub in self._subs.values():
            if sub.task:
                sub.task.cancel()
        for sub in self._subs.values():
            if sub.task:
                try:
                    await sub.task
                except asyncio.CancelledError:
                    pass

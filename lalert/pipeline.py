"""journal → parse → lifecycle → enrich → bus: the daemon's one path for every message.

``submit`` answers only after the journal commit (the ack promise). Committed, accepted
messages are then applied strictly in journal order by one task: the lifecycle decides
the transitions, each is enriched once, numbered (``seq``), written with the active set
to ``state.sqlite`` in one transaction, shown in the ``ActiveView`` and published.

On start the lifecycle is rebuilt from the journal's stored alerts (each applied with
its own receive time, see ``lalert.lifecycle``), the enriched active set is loaded from
``state.sqlite``, and journaled messages that were never applied (a crash between
commit and apply) are applied now.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lalert.bus import ActiveView
from lalert.bus.registry import open_bus
from lalert.changes import AlertChange
from lalert.compact import Interner
from lalert.config import Config
from lalert.lifecycle import Lifecycle, Transition, parse_time
from lalert.model import Alert, EnrichedAlert
from lalert.parsepool import ParsePool, timeless
from lalert.parsers import ParseError, parse
from lalert.store import ChangeRow, Entry
from lalert.store.codec import Refused, decode_alerts, decode_enriched, encode
from lalert.store.registry import open_store
from lalert.store.state import key_str

log = logging.getLogger(__name__)

APPLY_BATCH = 200
"""Most queued messages applied in one state transaction (bounds its size and how long
one batch holds the event loop)."""


@dataclass
class _Emission:
    """Changes staged for one state transaction (one message, or a batch of them)."""

    at: str
    rows: list[ChangeRow] = field(default_factory=list)
    upserts: dict[str, tuple[str, str, bool, int, bytes]] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    changes: list[AlertChange] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    # (key, enriched alert, drill, message id) for the PostGIS store's GIS tables
    versions: list[tuple[str, EnrichedAlert, bool, int | None]] = field(default_factory=list)


@dataclass(frozen=True)
class Receipt:
    """What a sender is told once its message is journaled."""

    id: int
    outcome: str  # accepted | rejected | duplicate
    reason: str | None = None
    format: str | None = None
    alert_ids: tuple[str, ...] = ()
    duplicate_of: int | None = None
    too_large: bool = False


@dataclass
class _First:
    """The first receipt of some bytes, so resends are answered like it."""

    outcome: str
    reason: str | None
    format: str | None
    alert_ids: tuple[str, ...]
    id: asyncio.Future[int] | int = field(default=0)


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso_now() -> str:
    return now_utc().isoformat(timespec="microseconds")


def load_enricher() -> Callable[..., EnrichedAlert] | None:
    """``lalert.geo.enrich.enrich`` when the geo part is installed, else None."""
    try:
        from lalert.geo.enrich import enrich
    except ImportError:
        return None
    return enrich


def fallback_enrich(alert: Alert) -> EnrichedAlert:
    """No gazetteer: keep the shapes the message itself carries (CAP polygons, circles)."""
    shapes = [a.geometry for a in alert.active_areas() if a.geometry]
    if not shapes:
        return EnrichedAlert(alert=alert, areas=alert.areas)
    from shapely.geometry import mapping, shape
    from shapely.ops import unary_union

    try:
        geom = unary_union([shape(g) for g in shapes])
    except Exception:  # a malformed shape in a message must not stop the pipeline
        return EnrichedAlert(alert=alert, areas=alert.areas)
    return EnrichedAlert(alert=alert, areas=alert.areas, footprint=mapping(geom),
                         bbox=tuple(geom.bounds))


DEMO_SOURCE = "demo"


def parse_message(data: bytes, *, source: str, max_bytes: int) -> list[Alert]:
    """Parse bytes as received (bare XML or an L-Alert SOAP ``publish`` envelope)."""
    return parse(data, source=source, max_bytes=max_bytes)


WITHDRAW_SOURCE = "desk-withdraw"
"""Journal source of an operator's withdrawal: its bytes are the withdrawal alert's JSON
(``lifecycle.withdrawal``), written only by ``Pipeline.withdraw``, never read from a sender."""


def read_withdrawal(raw: bytes) -> list[Alert]:
    doc = json.loads(raw)
    return [Alert.from_dict(doc)]


def journaled_alerts(raw: bytes, *, source: str, sender: str, max_bytes: int) -> list[Alert]:
    """The alerts of a journaled message, read again from its bytes (by its source)."""
    if source == WITHDRAW_SOURCE:
        return read_withdrawal(raw)
    alerts = parse_message(raw, source=sender, max_bytes=max_bytes)
    return timeless(alerts) if source == DEMO_SOURCE else alerts


MODES = ("all", "apply", "ingest", "follow")
"""What a process does with committed messages: ``all`` (``lalert run``: journal and
apply), ``apply`` (the enrich worker: apply what any process journaled), ``ingest``
(journal only), ``follow`` (output workers: keep the view current from the bus)."""


class Pipeline:
    def __init__(self, config: Config, *, geo: Any = None, metrics: Any = None,
                 mode: str = "all") -> None:
        if mode not in MODES:
            raise ValueError(f"pipeline mode {mode!r} not in {MODES}")
        self.config = config
        self.geo = geo
        self.metrics = metrics
        self.mode = mode
        self.store = open_store(config.store, config.home)
        self.writer = self.store.writer()
        self.reader: Any = None  # the store's read-only journal, opened at start
        self.state = self.store.state()
        self.outbox = self.store.outbox(self.state)
        self.lifecycle = Lifecycle(lifetimes=config.lifetimes or None)
        self.view = ActiveView()
        self.bus = open_bus(config.bus)
        # stored / streamed entries this lalert keeps but cannot read (/healthz, /metrics)
        self.refused = Refused()
        if hasattr(self.bus, "refused"):
            self.bus.refused = self.refused
        # other processes may append to the journal: the applier reads it back from there
        self.poll_journal = mode == "apply" or (self.store.shared and mode == "all")
        self._journal_event = asyncio.Event()
        self._polled = 0
        # alerts of the messages this process journaled, until the poller reaches them
        # (it reads them back in journal order; decoding its own again cost the burst)
        self._own: dict[int, list[Alert]] = {}
        self.enricher = load_enricher()
        self._first: dict[str, _First] = {}
        # sha256 → done when the first copy of those bytes is parsed and known in _first
        self._parsing: dict[str, asyncio.Future[None]] = {}
        # parse in worker processes only when asked (``lalert.parsepool`` says why)
        workers = (config.raw.get("ingest") or {}).get("parse_workers") or 0
        self.parser = ParsePool(None if workers == "auto" else int(workers))
        self._geoms: dict[tuple[str, str], Any] = {}
        # one object per distinct area / hazard / nearby site among the alerts held
        self._shared = Interner(lambda scheme, code: self._geoms.get((scheme, code)))
        self._alert_msg: dict[str, int] = {}
        self._origins: set[str] = set()
        self._queue: asyncio.Queue[tuple[int, str, list[Alert]]] = asyncio.Queue()
        self._seq = 0
        self._applied = 0
        self.last_message_id = 0
        self._tasks: list[asyncio.Task[None]] = []
        self.started_at = iso_now()
        self.version_listeners: list[Callable[[], None]] = []
        self.failed_messages: deque[dict[str, Any]] = deque(maxlen=100)
        self.failed_outputs: dict[str, str] = {}  # name → why it did not start

    # --- start / stop ---------------------------------------------------------------

    async def start(self) -> None:
        if self.mode in ("all", "ingest"):
            self.parser.start()
        await self.writer.start()
        self.reader = self.store.reader()
        self.writer.on_commit = self._on_commit
        self.last_message_id = self.reader.last_id()
        self._seq = self.state.last_seq
        self.bus.last_seq = self._seq
        self._applied = self.state.applied_upto
        self._load_fingerprints()
        self._rebuild()
        if self.mode == "follow":
            self.bus.publisher = False
            self.bus.follow_from = self._seq
            self.bus.followers.append(self._follow)
        if self.mode not in ("all", "apply"):
            return
        if self.poll_journal:
            self._polled = self._applied
            return
        # every receipt, not only accepted ones: ``applied`` must reach the journal's end
        # even when its last messages were rejected or duplicates
        after = self._applied
        while rows := self.reader.iter_after(after, 2000):
            for row in rows:
                alerts = self._stored_alerts(row) if row["outcome"] == "accepted" else []
                self._queue.put_nowait((row["id"], row["received_at"], alerts))
                after = row["id"]

    @property
    def applies(self) -> bool:
        return self.mode in ("all", "apply")

    def run(self) -> None:
        """Start applying (after outputs have subscribed, so none misses a change)."""
        if not self.applies:
            self._tasks.append(asyncio.create_task(self._watch_state(), name="watch-state"))
            return
        if self.poll_journal:
            self._tasks.append(asyncio.create_task(self._poll_loop(), name="journal-poll"))
        self._tasks.append(asyncio.create_task(self._apply_loop(), name="apply"))
        self._tasks.append(asyncio.create_task(self._expiry_loop(), name="expiry"))

    async def _poll_loop(self) -> None:
        """Feed the apply queue from a journal other processes append to, in id order
        (the store commits ids in order, so ``id > last`` never skips a late commit)."""
        while True:
            try:
                rows = self.reader.iter_after(self._polled)
            except Exception:
                log.exception("reading the journal failed; retrying")
                rows = []
            for row in rows:
                own = self._own.pop(row["id"], None)
                alerts = ((own if own is not None else self._stored_alerts(row))
                          if row["outcome"] == "accepted" else [])
                self._queue.put_nowait((row["id"], row["received_at"], alerts))
                self._polled = row["id"]
                self.last_message_id = max(self.last_message_id, row["id"])
            if len(rows) < 500:
                self._journal_event.clear()
                try:
                    await asyncio.wait_for(self._journal_event.wait(), 0.1)
                except TimeoutError:
                    pass

    async def _watch_state(self) -> None:
        """Processes that do not apply report the applier's progress in their health."""
        while True:
            await asyncio.sleep(0.2)
            try:
                self._applied = self.state.applied_upto
                self.last_message_id = max(self.last_message_id, self.reader.last_id())
            except Exception:
                log.exception("reading the store failed")

    def _follow(self, change: AlertChange, key: str) -> None:
        """A change the applier published: keep this process's view in step."""
        if change.seq <= self._seq and self.view.seq_of(change.alert.id) == change.seq:
            return
        self._seq = max(self._seq, change.seq)
        if change.kind == "withdrawn":
            self.view.remove(key)
        else:
            self.view.put(key, change.alert, change.drill, change.seq)
        self.view.bump()
        for fn in self.version_listeners:
            fn()

    def key_of(self, change: AlertChange) -> str:
        """The event key of a numbered change (for buses that carry it elsewhere)."""
        rows = self.state.changes_after(change.seq - 1, limit=1)
        return rows[0].key if rows and rows[0].seq == change.seq else ""

    async def stop(self) -> None:
        await self.writer.close()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except asyncio.CancelledError:
                pass
        self.state.set_cursors(self.bus.cursors())
        if self.reader:
            self.reader.close()
        self.state.close()

    def _load_fingerprints(self) -> None:
        assert self.reader is not None
        for msg_id, sha, outcome, alert_ids, origin in self.reader.fingerprints():
            ids = tuple(json.loads(alert_ids)) if alert_ids else ()
            if sha not in self._first:
                self._first[sha] = _First(outcome, None, None, ids, msg_id)
            if outcome == "accepted":
                for a in ids:
                    self._alert_msg.setdefault(a, msg_id)
            if origin:
                self._origins.add(origin)

    def _rebuild(self) -> None:
        """Lifecycle from the journal (applied prefix), enriched view from state.sqlite."""
        assert self.reader is not None
        for row in self.reader.iter_accepted(upto=self._applied):
            now = parse_time(row["received_at"]) or now_utc()
            for a in self._stored_alerts(row):
                self.lifecycle.apply(self._shared.alert(a), now=now)
        in_force = {key_str(k): a for d in (False, True) for k, a in self.lifecycle.active_items(drills=d)}
        for key, alert_id, drill, seq, body in self.state.load_active():
            # Enriched alerts are not stored (they are large and cheap to rebuild): the
            # active table says which version of each event outputs were told about.
            enriched = decode_enriched(body, lambda why, key=key: self.refused.note(
                "store:active", key, why)) if body else None
            if enriched is None:
                alert = in_force.get(key)
                if alert is None or alert.id != alert_id:
                    alert = self.alert_by_id(alert_id)
                if alert is None:
                    continue
                enriched = self._enrich(alert)
            self.view.put(key, enriched, drill, seq)
        if not self.applies:  # only the applier writes state
            self.view.bump()
            return
        # Expiries the daemon announced before it stopped are already out of the view, so
        # this emits only what ran out while it was down.
        self._emit(self.lifecycle.expire(now_utc()), message_id=None)
        missing = [(k, a) for d in (False, True) for k, a in self.lifecycle.active_items(drills=d)
                   if self.view.current(key_str(k)) is None]
        if missing:  # cannot happen with transactional state; repaired rather than trusted
            log.warning("state.sqlite lacked %d active alert(s); re-announcing", len(missing))
            self._emit([Transition("new", "recovered", a, k, a.status != "actual")
                        for k, a in missing], message_id=None)
        self.view.bump()

    def _stored_alerts(self, row: dict[str, Any]) -> list[Alert]:
        """A journal row's alerts from the cache, else parsed again from its bytes."""
        alerts = decode_alerts(row["alerts"], lambda why: self.refused.note(
            "store:journal", f"message {row['id']}", why))
        if alerts is None and self.reader is not None:
            raw = self.reader.raw(row["id"])
            try:
                alerts = journaled_alerts(raw or b"", source=row.get("source", ""),
                                          sender=row.get("sender", ""),
                                          max_bytes=self.config.max_message_bytes)
            except (ParseError, ImportError, ValueError, TypeError):
                alerts = []
        return alerts or []

    # --- ingest ---------------------------------------------------------------------

    def seen_origin(self, source: str, origin_id: str) -> bool:
        return f"{source}:{origin_id}" in self._origins

    async def submit(self, raw: bytes, *, source: str, sender: str,
                     origin_id: str | None = None) -> Receipt:
        """Journal one message (durably) and say what became of it."""
        t0 = time.perf_counter()
        received_at = iso_now()
        max_bytes = self.config.max_message_bytes
        if origin_id:
            self._origins.add(f"{source}:{origin_id}")
        if len(raw) > max_bytes:
            return await self.reject_oversize(len(raw), source=source, sender=sender,
                                              origin_id=origin_id)
        sha = hashlib.sha256(raw).hexdigest()
        # Parsing awaits a worker: a resend arriving meanwhile waits for the first copy,
        # so it is still answered as a duplicate of it (never parsed and accepted twice).
        while (parsing := self._parsing.get(sha)) is not None:
            await asyncio.shield(parsing)
        first = self._first.get(sha)
        if first is not None:
            dup_of = await first.id if isinstance(first.id, asyncio.Future) else first.id
            entry = Entry(received_at, source, sender, sha, len(raw), None, "duplicate",
                          f"same bytes as message {dup_of}", first.format,
                          list(first.alert_ids), origin_id=origin_id, duplicate_of=dup_of)
            msg_id = await self.writer.append(entry)
            self._count(source, first.format, "duplicate")
            outcome = "rejected" if first.outcome == "rejected" else "duplicate"
            return Receipt(msg_id, outcome, first.reason or entry.reason, first.format,
                           first.alert_ids, dup_of)
        t_parse = time.perf_counter()
        loop = asyncio.get_running_loop()
        parsed = self._parsing[sha] = loop.create_future()
        packed: bytes | None = None
        try:
            alerts, packed = await self.parser.parse(raw, sender=sender, max_bytes=max_bytes,
                                                     demo=source == DEMO_SOURCE)
            reason, fmt = None, alerts[0].format
        except ParseError as exc:
            alerts, fmt = [], None
            reason = exc.reason + (f" (line {exc.line})" if exc.line else "")
        except ImportError as exc:  # a format whose parser is not installed
            alerts, fmt, reason = [], None, f"format not supported here: {exc}"
        except BaseException:
            del self._parsing[sha]
            parsed.set_result(None)
            raise
        self._observe("parse", t_parse)
        fut: asyncio.Future[int] = loop.create_future()
        ids = tuple(a.id for a in alerts)
        if alerts and all(a in self._alert_msg for a in ids):
            dup_of = self._alert_msg[ids[0]] if self._alert_msg[ids[0]] > 0 else None
            entry = Entry(received_at, source, sender, sha, len(raw), raw, "duplicate",
                          f"message id {ids[0]} already received", fmt,
                          list(ids), origin_id=origin_id, duplicate_of=dup_of)
            self._first[sha] = first = _First("duplicate", entry.reason, fmt, ids, fut)
        elif alerts:
            entry = Entry(received_at, source, sender, sha, len(raw), raw, "accepted", None, fmt,
                          list(ids), packed or encode(alerts), origin_id=origin_id,
                          parsed=alerts)
            self._first[sha] = first = _First("accepted", None, fmt, ids, fut)
            for a in ids:
                self._alert_msg.setdefault(a, -1)
        else:
            entry = Entry(received_at, source, sender, sha, len(raw), raw, "rejected", reason,
                          origin_id=origin_id)
            self._first[sha] = first = _First("rejected", reason, None, (), fut)
        del self._parsing[sha]  # resends now find _first
        parsed.set_result(None)
        t_j = time.perf_counter()
        try:
            msg_id = await self.writer.append(entry)
        except BaseException as exc:
            self._first.pop(sha, None)
            fut.set_exception(exc)
            fut.exception()  # consumed here; waiting duplicates see it too
            raise
        self._observe("journal", t_j)
        first.id = msg_id
        fut.set_result(msg_id)
        if entry.outcome == "accepted":
            for a in ids:
                if self._alert_msg.get(a) == -1:
                    self._alert_msg[a] = msg_id
        self._count(source, fmt, entry.outcome)
        self._observe("ingest", t0)
        return Receipt(msg_id, entry.outcome, entry.reason, fmt, ids, entry.duplicate_of)

    async def withdraw(self, alert_id: str, *, operator: str) -> Receipt | None:
        """An operator withdraws an alert in force: journaled (sender = the operator), then
        applied like any message, so every output gets the withdrawal. None when the alert
        is not in force."""
        from lalert.lifecycle import withdrawal

        current = self.view.get(alert_id)
        if current is None:
            return None
        w = withdrawal(current.alert, operator=operator, at=iso_now())
        raw = w.to_json().encode("utf-8")
        sha = hashlib.sha256(raw).hexdigest()
        if w.id in self._alert_msg:
            return None  # already withdrawn (a second click)
        self._alert_msg[w.id] = -1
        entry = Entry(iso_now(), WITHDRAW_SOURCE, operator, sha, len(raw), raw, "accepted", None,
                      w.format, [w.id], encode([w]), parsed=[w])
        msg_id = await self.writer.append(entry)
        self._alert_msg[w.id] = msg_id
        self._count(WITHDRAW_SOURCE, w.format, "accepted")
        return Receipt(msg_id, "accepted", None, w.format, (w.id,))

    async def reject_oversize(self, size: int, *, source: str, sender: str,
                              origin_id: str | None = None) -> Receipt:
        """Journal that an over-size message came (its bytes are not kept)."""
        limit = self.config.max_message_bytes
        reason = f"message is {size:,} bytes or more, over the {limit:,}-byte bound"
        entry = Entry(iso_now(), source, sender, "", size, None, "rejected", reason,
                      origin_id=origin_id)
        msg_id = await self.writer.append(entry)
        self._count(source, None, "rejected")
        return Receipt(msg_id, "rejected", reason, too_large=True)

    def _on_commit(self, msg_id: int, entry: Entry) -> None:
        self.last_message_id = max(self.last_message_id, msg_id)
        if self.poll_journal or not self.applies:
            if (self.poll_journal and entry.outcome == "accepted" and entry.parsed
                    and msg_id > self._polled):  # else the poller read it back already
                self._own[msg_id] = entry.parsed
            self._journal_event.set()  # the poller reads it back in journal order
            return
        # Every receipt goes through the apply queue so ``applied_upto`` follows journal
        # order exactly; only accepted ones carry alerts.
        alerts = entry.parsed if entry.outcome == "accepted" and entry.parsed else []
        self._queue.put_nowait((msg_id, entry.received_at, alerts))

    # --- apply ----------------------------------------------------------------------

    async def _apply_loop(self) -> None:
        """Apply queued messages in batches of up to ``APPLY_BATCH``, one state
        transaction per batch.

        A burst queues hundreds of messages; committing each alone made the store's round
        trips (BEGIN, COMMIT and, on PostgreSQL, the GIS writes) the applier's main cost
        and blocked the event loop once per message. Batching what is *already* queued
        keeps every guarantee: journal order, ``seq`` numbering, and ``applied_upto``
        moving in the same transaction as the changes it covers (a kill -9 loses nothing
        and a restart re-applies the whole uncommitted batch, delivering nothing twice,
        since changes are published only after the commit). A lone message is still
        applied at once."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < APPLY_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._apply_batch(batch)
            await asyncio.sleep(0)  # let ingest and readers in between batches

    def _apply_batch(self, batch: list[tuple[int, str, list[Alert]]]) -> None:
        t0 = time.perf_counter()
        em = _Emission(iso_now())
        staged: list[int] = []
        for msg_id, received_at, alerts in batch:
            if not alerts:
                continue
            try:
                self._stage(em, self._transitions(received_at, alerts), message_id=msg_id)
                staged.append(msg_id)
            except Exception as exc:  # never stop applying because of one message …
                self._failed(msg_id, exc)
        last = batch[-1][0]
        if staged:
            try:
                self._flush(em, applied_upto=last)
            except Exception as exc:
                for msg_id in staged:
                    self._failed(msg_id, exc)
                return
        self._applied = max(self._applied, last)
        self._observe("apply", t0)

    def _failed(self, msg_id: int, exc: Exception) -> None:
        log.exception("ALARM: applying message %s failed", msg_id)
        # … and never lose one unseen: /healthz and /metrics name it
        self.failed_messages.append({"message": msg_id, "error": str(exc)[:300]})

    def _transitions(self, received_at: str, alerts: list[Alert]) -> list[Transition]:
        """What the lifecycle makes of one message's alerts, at its receive time."""
        t0 = time.perf_counter()
        now = parse_time(received_at) or now_utc()
        transitions: list[Transition] = []
        for a in alerts:
            a = self._shared.alert(a)
            transitions.extend(self.lifecycle.apply(a, now=now).transitions)
        self._observe("lifecycle", t0)
        return transitions

    async def _expiry_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.expiry_interval)
            try:
                self._emit(self.lifecycle.expire(now_utc()), message_id=None)
            except Exception:
                log.exception("expiry failed")

    def _emit(self, transitions: list[Transition], *, message_id: int | None) -> None:
        """Enrich, number, persist, show and publish transitions (one transaction)."""
        em = _Emission(iso_now())
        self._stage(em, transitions, message_id=message_id)
        self._flush(em, applied_upto=message_id)

    def _stage(self, em: _Emission, transitions: list[Transition], *,
               message_id: int | None) -> None:
        """Enrich and number transitions, show them in the view, and add their rows to
        ``em`` (committed by ``_flush``; nothing is published before that)."""
        for t in transitions:
            k = key_str(t.key)
            current = self.view.current(k)
            if t.kind == "withdrawn":
                if current is None:
                    continue  # already announced (e.g. expired before a restart)
                enriched = current[0]
                if t.alert.id != enriched.id:
                    t_en = time.perf_counter()
                    own = self._enrich(t.alert)
                    self._observe("enrich", t_en)
                    enriched = own if own.footprint else dataclasses.replace(enriched, alert=t.alert)
                self.view.remove(k)
                em.upserts.pop(k, None)
                em.deletes.append(k)
            else:
                t_en = time.perf_counter()
                enriched = self._enrich(t.alert)
                self._observe("enrich", t_en)
            self._seq += 1
            change = AlertChange(seq=self._seq, kind=t.kind, reason=t.reason, alert=enriched,
                                 drill=t.drill, at=em.at)
            em.rows.append(ChangeRow(self._seq, em.at, t.kind, t.reason, k, t.alert.id, t.drill,
                                     message_id))
            if t.kind != "withdrawn":
                self.view.put(k, enriched, t.drill, self._seq)
                em.upserts[k] = (k, enriched.id, t.drill, self._seq, b"")
                if k in em.deletes:
                    em.deletes.remove(k)
            em.changes.append(change)
            em.keys.append(k)
            em.versions.append((k, enriched, t.drill, message_id))

    def _flush(self, em: _Emission, *, applied_upto: int | None) -> None:
        """Commit what ``em`` staged with ``applied_upto`` in one transaction, then
        tell listeners and publish, in ``seq`` order."""
        if not em.changes and applied_upto is None:
            return
        self.state.commit(changes=em.rows, upserts=list(em.upserts.values()),
                          deletes=em.deletes, applied_upto=applied_upto, versions=em.versions)
        if em.changes:
            self.view.bump()
            for fn in self.version_listeners:
                fn()
        for ch, k in zip(em.changes, em.keys, strict=True):
            self.bus.publish(ch, k)
        if self.metrics is not None:
            self.metrics.active_set(self.view.counts())

    def _enrich(self, alert: Alert) -> EnrichedAlert:
        if self.enricher is not None and self.geo is not None:
            try:
                return self._shared.enriched(self._intern(alert, self.enricher(
                    alert, self.geo)))
            except Exception:
                log.exception("enrichment of %s failed; showing it without geometry", alert.id)
        return fallback_enrich(alert)

    def _intern(self, alert: Alert, e: EnrichedAlert) -> EnrichedAlert:
        """Share one geometry object per gazetteer area among all alerts naming it.

        Thousands of active alerts name the same few hundred areas; without this each
        holds its own copy of every polygon. Only shapes the gazetteer filled in are
        shared (a shape the message carried itself stays its own).
        """
        if len(e.areas) != len(alert.areas):
            return e
        out, changed = [], False
        for orig, a in zip(alert.areas, e.areas, strict=True):
            if a.geometry is not None and orig.geometry is None and a.code is not None:
                k = (a.scheme, a.code)
                g = self._geoms.setdefault(k, a.geometry)
                if g is not a.geometry:
                    a = dataclasses.replace(a, geometry=g)
                    changed = True
            out.append(a)
        return dataclasses.replace(e, areas=tuple(out)) if changed else e

    # --- outputs resume -------------------------------------------------------------

    async def redeliver(self, after: int) -> list[AlertChange]:
        """Changes after ``after`` rebuilt from state.sqlite for an output that missed them."""
        out: list[AlertChange] = []
        cursor = after
        while True:
            rows = self.state.changes_after(cursor)
            if not rows:
                return out
            for r in rows:
                enriched = self._enriched_for(r.alert_id)
                if enriched is not None:
                    out.append(AlertChange(seq=r.seq, kind=r.kind, reason=r.reason,
                                           alert=enriched, drill=r.drill, at=r.at))
                cursor = r.seq

    def _enriched_for(self, alert_id: str) -> EnrichedAlert | None:
        current = self.view.get(alert_id)
        if current is not None:
            return current
        alert = self.alert_by_id(alert_id)
        return self._enrich(alert) if alert else None

    def alert_by_id(self, alert_id: str) -> Alert | None:
        """The parsed alert of any journaled message id (from the journal's stored JSON)."""
        msg_id = self._alert_msg.get(alert_id)
        if not msg_id or msg_id < 0 or self.reader is None:
            return None
        row = self.reader.alerts_row(msg_id)
        for a in self._stored_alerts(row) if row else []:
            if a.id == alert_id:
                return a
        return None

    def message_of(self, alert_id: str) -> int | None:
        m = self._alert_msg.get(alert_id)
        return m if m and m > 0 else None

    # --- status ---------------------------------------------------------------------

    @property
    def applied_upto(self) -> int:
        return self._applied

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def outcome_of(self, row: dict[str, Any]) -> dict[str, Any]:
        """History view of one journal row: its outcome now, per alert."""
        item = {
            "id": str(row["id"]),
            "received_at": row["received_at"],
            "source": row["source"],
            "sender": row["sender"],
            "format": row["format"],
            "size": row["size"],
            "sha256": row["sha256"],
            "outcome": row["outcome"],
            "status_url": f"/api/v1/messages/{row['id']}",
        }
        if row["outcome"] == "rejected":
            item["reason"] = row["reason"]
        elif row["outcome"] == "duplicate":
            item["reason"] = row["reason"]
            item["duplicate_of"] = str(row["duplicate_of"]) if row["duplicate_of"] else None
        else:
            alerts = []
            for aid in row["alert_ids"]:
                fate = self.lifecycle.fate(aid) if row["id"] <= self._applied else None
                alerts.append({"id": aid, "outcome": fate or "pending"})
            item["alerts"] = alerts
            fates = [a["outcome"] for a in alerts]
            for word in ("active", "pending", "cancelled", "lifted", "expired", "superseded",
                         "duplicate", "ignored"):
                if word in fates:
                    item["outcome"] = word
                    break
        return item

    def _count(self, source: str, fmt: str | None, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.message(source, fmt or "unknown", outcome)

    def _observe(self, stage: str, since: float) -> None:
        if self.metrics is not None:
            self.metrics.stage(stage, time.perf_counter() - since)

"""The push outbox of one process: ``<home>/push.sqlite`` (``lalert.storage.PushDeliveries``).

Every (alert version = change ``seq``, subscription) is one row, pending → sent |
retrying | dead, keyed by a delivery id that is stable across retries and restarts so a
receiver can dedupe on it. A row becomes ``sent`` only after the receiver confirmed and the
state reached disk (WAL, synchronous=FULL, group commit every few ms); after kill -9 the
unfinished rows are resumed and ``sent`` rows are never sent again.

Why not the core ``Outbox``: it records one state per (output, key) and has no per-row
scheduling, attempt log or per-subscription fan-out query; push needs all three. Several
workers share the PostgreSQL twin instead (``lalert.store.pgpush``); the statements both
run are written once, in ``lalert.store.pushsql``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lalert.storage import Job, LoggedChange, delivery_id
from lalert.store.pushsql import JOB_COLS, SQLITE, PushQueries, job_of, sqlite_transaction
from lalert.store.sqlite import PerFile, open_durable

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

class PushStore(PushQueries):
    """push.sqlite: change bodies, fan-out markers, deliveries, attempts, MQTT topics."""

    shared = False  # one process: fan_out hands out every job, nobody else claims rows
    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_durable(path, _SCHEMA)
        self._lock = threading.RLock()

    @classmethod
    def for_home(cls, home: Path) -> PushStore:
        """The home's ``push.sqlite``, one connection per file and process (the outputs,
        the desk and tests of one home share it)."""
        return _STORES.get(Path(home) / "push.sqlite")

    @classmethod
    def existing(cls, home: Path) -> PushStore | None:
        """The store if one exists (the desk reads it, never creates ``push.sqlite``)."""
        if not (Path(home) / "push.sqlite").exists():
            return None
        return cls.for_home(home)

    def close(self) -> None:
        _STORES.forget(self.path)
        with self._lock:
            self._db.close()

    # --- how statements run -----------------------------------------------------------

    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    @contextlib.contextmanager
    def _transaction(self, begin: str = "BEGIN") -> Iterator[Any]:
        with self._lock, sqlite_transaction(self._db, begin) as db:
            yield db

    # --- what only one process does ---------------------------------------------------

    def fan_out(self, channel: str, change: LoggedChange, sub_ids: Iterable[str], *,
                take: int | None = None) -> list[Job]:
        """One transaction: the change body, a pending row per subscription, the marker.
        ``take`` matters to shared stores only: here this process sends every row."""
        jobs = [Job(delivery_id(channel, change.seq, s), channel, change.seq, s) for s in sub_ids]
        now = time.time()
        with self._transaction("BEGIN IMMEDIATE") as tx:
            if not self._mark_fan_out(tx, channel, change, len(jobs), now):
                return []  # fanned out before: nothing was written
            tx.executemany(self._q(
                "INSERT INTO {deliveries} (id, channel, seq, sub_id, state, updated_at)"
                " VALUES (?,?,?,?, 'pending', ?) ON CONFLICT DO NOTHING"),
                [(j.id, channel, j.seq, j.sub_id, now) for j in jobs])
        return jobs

    def unfinished(self, channel: str) -> list[Job]:
        return [job_of(r) for r in self._all(self._q(
            f"SELECT {JOB_COLS} FROM {{deliveries}}"
            " WHERE channel=? AND state IN ('pending','retrying') ORDER BY seq, rowid"),
            (channel,))]

    def requeue(self, delivery: str) -> Job | None:
        """A dead-lettered delivery back to ``pending`` for one more attempt now (the desk's
        "retry now"); the attempt count goes on, so another failure dead-letters it again.
        Returns the job to hand to the running dispatcher, or None if it was not dead."""
        with self._transaction() as tx:
            cur = tx.execute(self._q("UPDATE {deliveries} SET state='pending', next_at=0,"
                                     " updated_at=? WHERE id=? AND state='dead'"),
                             (time.time(), delivery))
            if cur.rowcount != 1:
                return None
            row = tx.execute(self._q(f"SELECT {JOB_COLS} FROM {{deliveries}} WHERE id=?"),
                             (delivery,)).fetchone()
        return job_of(row)


_STORES: PerFile[PushStore] = PerFile(PushStore)  # PushStore.for_home

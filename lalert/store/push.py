"""The push outbox of one process: ``<home>/push.sqlite`` (``lalert.storage.PushDeliveries``).

Every (alert version = change ``seq``, subscription) is one row, pending → sent |
retrying | dead, keyed by a delivery id that is stable across retries and restarts so a
receiver can dedupe on it. A row becomes ``sent`` only after the receiver confirmed and the
state reached disk (WAL, synchronous=FULL, group commit every few ms); after kill -9 the
unfinished rows are resumed and ``sent`` rows are never sent again.

Why not the core ``Outbox``: it records one state per (output, key) and has no per-row
scheduling, attempt log or per-subscription fan-out query; push needs all three. Several
workers share the PostgreSQL twin instead (``lalert.store.pgpush``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lalert.storage import Job, LoggedChange, Outcome, delivery_id
from lalert.store.sqlite import open_durable

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

_STORES: dict[Path, PushStore] = {}
_STORES_LOCK = threading.Lock()


class PushStore:
    """push.sqlite: change bodies, fan-out markers, deliveries, attempts, MQTT topics."""

    shared = False  # one process: fan_out hands out every job, nobody else claims rows

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_durable(path, _SCHEMA)
        self._lock = threading.RLock()

    @classmethod
    def for_home(cls, home: Path) -> PushStore:
        """The home's ``push.sqlite``, one connection per file and process (the outputs,
        the desk and tests of one home share it)."""
        path = (Path(home) / "push.sqlite").resolve()
        with _STORES_LOCK:
            store = _STORES.get(path)
            if store is None:
                store = _STORES[path] = cls(path)
            return store

    @classmethod
    def existing(cls, home: Path) -> PushStore | None:
        """The store if one exists (the desk reads it, never creates ``push.sqlite``)."""
        if not (Path(home) / "push.sqlite").exists():
            return None
        return cls.for_home(home)

    def close(self) -> None:
        with _STORES_LOCK:
            _STORES.pop(self.path, None)
        with self._lock:
            self._db.close()

    # --- changes (also the SSE resume log when the core offers none) ----------------

    def log_changes(self, changes: list[LoggedChange]) -> None:
        rows = [(c.seq, c.alert_key, c.body) for c in changes]
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

    def fan_out(self, channel: str, change: LoggedChange, sub_ids: Iterable[str], *,
                take: int | None = None) -> list[Job]:
        """One transaction: the change body, a pending row per subscription, the marker.
        ``take`` matters to shared stores only: here this process sends every row."""
        jobs = [Job(delivery_id(channel, change.seq, s), channel, change.seq, s) for s in sub_ids]
        now = time.time()
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
                    (change.seq, change.alert_key, change.body),
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

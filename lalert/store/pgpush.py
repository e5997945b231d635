"""The push delivery outbox in PostgreSQL, shared by every push worker.

The PostgreSQL ``lalert.storage.PushDeliveries`` (the SQLite one is ``lalert.store.push``;
``lalert.store.backends`` opens this one when the store is PostgreSQL), in ``push_*`` tables
of the store's database, so restart-resume, the desk's deliveries page and the SSE resume
log see what every worker did. What sharing adds:

- **claims**: an open delivery (pending / retrying) is held by one worker at a time —
  ``owner`` plus a lease (``lease_until``, the database's clock, so workers on machines
  whose clocks disagree still agree). ``claim`` takes open rows nobody holds with
  ``SELECT … FOR UPDATE SKIP LOCKED``: two workers claiming at once never get the same
  row and never wait for each other. A background thread renews this process's leases
  every ``lease_s / 3``; after a kill -9 they lapse and a live worker (or the restarted
  one) claims the rows and finishes them.
- **shared fan-out**: ``fan_out(…, take=N)`` writes every row but holds only the first N
  for the worker that fanned out; the others are claimed by whichever workers have room,
  so one alert with many subscribers is delivered by all push workers together.
- the fan-out marker is inserted first (``ON CONFLICT DO NOTHING``): a change re-offered
  to a second worker (a bus entry claimed back) fans out once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from lalert.storage import Job, LoggedChange, delivery_id
from lalert.store.postgis import apply_schema, connect
from lalert.store.pushsql import JOB_COLS, POSTGRESQL, PushQueries

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS push_changes (
  seq BIGINT PRIMARY KEY,
  alert_key TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS push_changes_key ON push_changes(alert_key);
CREATE TABLE IF NOT EXISTS push_fanouts (
  channel TEXT NOT NULL,
  seq BIGINT NOT NULL,
  n INTEGER NOT NULL,
  at DOUBLE PRECISION NOT NULL,
  PRIMARY KEY (channel, seq)
);
CREATE TABLE IF NOT EXISTS push_deliveries (
  id TEXT PRIMARY KEY,
  channel TEXT NOT NULL,
  seq BIGINT NOT NULL,
  sub_id TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_at DOUBLE PRECISION NOT NULL DEFAULT 0,
  updated_at DOUBLE PRECISION NOT NULL,
  last_status INTEGER,
  last_error TEXT,
  owner TEXT,
  lease_until DOUBLE PRECISION NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS push_deliveries_open ON push_deliveries(channel, seq, id)
  WHERE state IN ('pending', 'retrying');
CREATE INDEX IF NOT EXISTS push_deliveries_owner ON push_deliveries(owner)
  WHERE state IN ('pending', 'retrying');
CREATE INDEX IF NOT EXISTS push_deliveries_sub ON push_deliveries(channel, sub_id);
CREATE INDEX IF NOT EXISTS push_deliveries_seq ON push_deliveries(seq);
CREATE INDEX IF NOT EXISTS push_deliveries_updated ON push_deliveries(updated_at);
CREATE TABLE IF NOT EXISTS push_attempts (
  n_row BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  delivery_id TEXT NOT NULL,
  n INTEGER NOT NULL,
  at DOUBLE PRECISION NOT NULL,
  status INTEGER,
  error TEXT,
  ms DOUBLE PRECISION
);
CREATE INDEX IF NOT EXISTS push_attempts_delivery ON push_attempts(delivery_id);
CREATE TABLE IF NOT EXISTS push_mqtt_topics (
  alert_key TEXT NOT NULL,
  topic TEXT NOT NULL,
  PRIMARY KEY (alert_key, topic)
);
"""

NOW = "extract(epoch from clock_timestamp())"  # the database's clock: one for all workers
OPEN = "state IN ('pending', 'retrying')"

def ensure_push_schema(url: str) -> None:
    apply_schema(url, SCHEMA)


def _job(r: dict[str, Any]) -> Job:
    return Job(r["id"], r["channel"], int(r["seq"]), r["sub_id"], int(r["attempts"]),
               float(r["next_at"]))


class PgPushStore(PushQueries):
    """push_* tables in the store's database; see the module docstring."""

    shared = True
    dialect = POSTGRESQL

    def __init__(self, url: str, *, lease_s: float = 30.0, poll_s: float = 0.5) -> None:
        ensure_push_schema(url)
        self.url = url
        self.lease_s = float(lease_s)
        self.poll_s = float(poll_s)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._db = connect(url)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._renewer = threading.Thread(target=self._renew_loop, name="push-lease",
                                         daemon=True)
        self._renewer.start()

    # --- how statements run -----------------------------------------------------------

    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock, self._db.cursor(row_factory=tuple_row) as cur:
            return cur.execute(sql, list(args)).fetchall()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[psycopg.Cursor[Any]]:
        with self._lock, self._db.transaction(), self._db.cursor() as cur:
            yield cur

    def close(self) -> None:
        """Stop renewing and hand this process's open rows back at once (a clean stop, e.g.
        a rolling restart, need not wait for the leases to lapse)."""
        self._stop.set()
        self._renewer.join(timeout=5)
        with self._lock:
            try:
                self._db.execute("UPDATE push_deliveries SET owner=NULL, lease_until=0"
                                 f" WHERE owner=%s AND {OPEN}", (self.owner,))
            except psycopg.Error as exc:  # the database away: the leases lapse instead
                log.warning("push: releasing delivery claims failed: %s", exc)
            self._db.close()

    # --- leases ----------------------------------------------------------------------

    def _renew_loop(self) -> None:
        conn: psycopg.Connection | None = None
        while not self._stop.wait(self.lease_s / 3):
            try:
                if conn is None or conn.closed:
                    conn = connect(self.url)
                self.renew(conn)
            except Exception as exc:  # the database away: the next round retries
                log.warning("push: renewing delivery leases failed: %s", exc)
                conn = None
        if conn is not None:
            conn.close()

    def renew(self, conn: psycopg.Connection | None = None) -> int:
        """Extend the leases of the open rows this process holds."""
        sql = (f"UPDATE push_deliveries SET lease_until = {NOW} + %s WHERE owner = %s AND {OPEN}")
        if conn is not None:
            return conn.execute(sql, (self.lease_s, self.owner)).rowcount
        with self._lock:
            return self._db.execute(sql, (self.lease_s, self.owner)).rowcount

    def claim(self, channel: str, limit: int) -> list[Job]:
        """Open rows of ``channel`` nobody holds (never claimed, or the lease lapsed), in seq
        order, now held by this process. Concurrent claimers skip each other's rows."""
        with self._lock:
            rows = self._db.execute(
                f"UPDATE push_deliveries SET owner = %s, lease_until = {NOW} + %s"
                f" WHERE id IN (SELECT id FROM push_deliveries WHERE channel = %s AND {OPEN}"
                f" AND lease_until < {NOW} ORDER BY seq, id LIMIT %s FOR UPDATE SKIP LOCKED)"
                f" RETURNING {JOB_COLS}",
                (self.owner, self.lease_s, channel, limit)).fetchall()
        return sorted((_job(r) for r in rows), key=lambda j: (j.seq, j.id))

    def unfinished(self, channel: str) -> list[Job]:
        """Every open row of ``channel`` nobody holds (a single sender's resume: MQTT)."""
        out: list[Job] = []
        while batch := self.claim(channel, 5000):
            out += batch
        return out

    # --- fan-out -----------------------------------------------------------------------

    def fan_out(self, channel: str, change: LoggedChange, sub_ids: Iterable[str], *,
                take: int | None = None) -> list[Job]:
        """One transaction: marker, change body, a pending row per subscription. Returns
        the jobs this process holds: all of them, or the first ``take`` (the rest are
        left for ``claim``)."""
        subs = list(sub_ids)
        ids = [delivery_id(channel, change.seq, s) for s in subs]
        held = len(subs) if take is None else max(0, min(take, len(subs)))
        now = time.time()
        if not subs:
            self._record_fan_out(channel, change, now)
            return []
        with self._transaction() as cur:
            if not self._mark_fan_out(cur, channel, change, len(subs), now):
                return []  # another worker fanned this change out already
            insert = ("INSERT INTO push_deliveries (id, channel, seq, sub_id, state,"
                      " updated_at, owner, lease_until)"
                      " SELECT d.id, %s, %s, d.sub, 'pending', %s, {owner}, {lease}"
                      " FROM unnest(%s::text[], %s::text[]) AS d(id, sub)"
                      " ON CONFLICT (id) DO NOTHING")
            if held:
                cur.execute(insert.format(owner="%s", lease=f"{NOW} + %s"),
                            (channel, change.seq, now, self.owner, self.lease_s,
                             ids[:held], subs[:held]))
            if held < len(subs):
                cur.execute(insert.format(owner="NULL", lease="0"),
                            (channel, change.seq, now, ids[held:], subs[held:]))
        return [Job(i, channel, change.seq, s) for i, s in zip(ids[:held], subs[:held],
                                                                strict=True)]

    def _record_fan_out(self, channel: str, change: LoggedChange, now: float) -> None:
        """A fan-out that reaches nobody: its marker and body (the body only if the marker
        is new), in one round trip (pipeline mode, no result awaited until the commit) and
        without waiting for the WAL flush — a record, not a promise to anyone. In a burst
        with few subscribers most changes reach nobody, and the round trips and the flush
        were their whole cost."""
        with self._lock, self._db.pipeline(), self._db.transaction(), self._db.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
            cur.execute("WITH m AS (INSERT INTO push_fanouts (channel, seq, n, at)"
                        " VALUES (%s,%s,0,%s) ON CONFLICT DO NOTHING RETURNING seq)"
                        " INSERT INTO push_changes (seq, alert_key, body)"
                        " SELECT seq, %s, %s FROM m ON CONFLICT DO NOTHING",
                        (channel, change.seq, now, change.alert_key, change.body))

    def requeue(self, delivery: str) -> Job | None:
        """A dead delivery back to ``pending``, held by nobody: the first push worker with
        room claims it (the desk's "retry now")."""
        with self._lock:
            r = self._db.execute(
                "UPDATE push_deliveries SET state='pending', next_at=0, updated_at=%s,"
                f" owner=NULL, lease_until=0 WHERE id=%s AND state='dead' RETURNING {JOB_COLS}",
                (time.time(), delivery)).fetchone()
        return _job(r) if r else None

"""The PostgreSQL / PostGIS store: journal, derived state and outbox in one database.

Chosen with ``store = "postgresql://user@host/db"``. The classes mirror the SQLite ones
(``Journal``, ``StateStore``, ``SqliteOutbox``) method for method, so the pipeline runs
the same code on either. Differences that matter:

- several processes (workers on several machines) append to one journal, so each append
  transaction takes one advisory lock first: ids are handed out *and committed* in
  order, and a reader following ``id > last`` never skips a row committed late;
- the journal commit is a plain PostgreSQL commit (``synchronous_commit`` on by
  default): durable when ``append_many`` returns, before the sender is answered;
- geometry that is queried lives in PostGIS (``lalert.store.pggeo``).

psycopg 3 is synchronous here on purpose: the SQLite classes are synchronous too, the
journal writer already runs in its own thread, and loopback round trips are ~0.1 ms.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from lalert.store.outbox import DONE_STATES, STATES
from lalert.store.state import ChangeRow

log = logging.getLogger(__name__)

JOURNAL_LOCK = 0x1A1E_0001  # advisory lock ids (any constant unique to lalert)
SCHEMA_LOCK = 0x1A1E_0002

COLUMNS = ("id, received_at, source, sender, origin_id, sha256, size, outcome, reason, format, "
           "alert_ids, duplicate_of")


def dsn_of(url: str) -> str:
    """``postgis://`` is accepted as a synonym (it says what the store needs)."""
    for alias in ("postgis://", "postgres://"):
        if url.startswith(alias):
            return "postgresql://" + url[len(alias):]
    return url


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(dsn_of(url), autocommit=True, row_factory=dict_row)


_READY: set[tuple[str, str]] = set()
_MIGRATED: set[str] = set()


def apply_schema(url: str, ddl: str) -> None:
    """Run ``ddl`` once per process and database (under a lock: workers start together)."""
    if (url, ddl) in _READY:
        return
    with connect(url) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            conn.execute(ddl)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
    _READY.add((url, ddl))


def ensure_schema(url: str) -> None:
    """Bring the database to the latest schema (``lalert.store.migrations``), once per
    process: the journal, state, outbox, subscriptions and the GIS tables."""
    if url in _MIGRATED:
        return
    from lalert.store.migrations import migrate

    migrate(dsn_of(url))
    _MIGRATED.add(url)


def _row(r: dict[str, Any]) -> dict[str, Any]:
    d = {k: v for k, v in r.items() if k not in ("raw", "alerts")}
    d["alert_ids"] = json.loads(d["alert_ids"]) if d.get("alert_ids") else []
    return d


def _blob(v: bytes | str | None) -> bytes | None:
    return v.encode() if isinstance(v, str) else v


class PgJournal:
    """The journal in PostgreSQL; same methods as ``lalert.store.journal.Journal``."""

    def __init__(self, url: str, *, readonly: bool = False) -> None:
        self.url = url
        ensure_schema(url)
        self.conn = connect(url)
        if readonly:
            self.conn.execute("SET default_transaction_read_only = on")

    def close(self) -> None:
        self.conn.close()

    def append_many(self, entries: list[Any]) -> list[int]:
        ids: list[int] = []
        with self.conn.transaction(), self.conn.cursor() as cur:
            # ids are assigned under the lock and committed with it released: in order
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (JOURNAL_LOCK,))
            # one pipelined round trip for the whole batch, not one per entry
            cur.executemany(
                "INSERT INTO messages (received_at, source, sender, origin_id, sha256, size,"
                " raw, outcome, reason, format, alert_ids, alerts, duplicate_of)"
                " VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id",
                [(e.received_at, e.source, e.sender, e.origin_id, e.sha256, e.size, e.raw,
                  e.outcome, e.reason, e.format,
                  json.dumps(e.alert_ids) if e.alert_ids is not None else None,
                  _blob(e.alerts_json), e.duplicate_of) for e in entries], returning=True)
            while True:
                ids.append(int(cur.fetchone()["id"]))
                if not cur.nextset():
                    break
        return ids

    def append(self, entry: Any) -> int:
        return self.append_many([entry])[0]

    def rewrite_outcomes(self, updates: list[tuple[Any, ...]]) -> None:
        """``lalert replay``: (outcome, reason, format, alert_ids, alerts, id) per row."""
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                "UPDATE messages SET outcome=%s, reason=%s, format=%s, alert_ids=%s, alerts=%s"
                " WHERE id=%s", [(o, r, f, a, _blob(b), i) for o, r, f, a, b, i in updates])

    def last_id(self) -> int:
        return int(self.conn.execute("SELECT coalesce(max(id), 0) AS n FROM messages")
                   .fetchone()["n"])

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) AS n FROM messages").fetchone()["n"])

    def get(self, msg_id: int) -> dict[str, Any] | None:
        r = self.conn.execute(f"SELECT {COLUMNS} FROM messages WHERE id=%s", (msg_id,)).fetchone()
        return _row(r) if r else None

    def raw(self, msg_id: int) -> bytes | None:
        r = self.conn.execute("SELECT raw, duplicate_of FROM messages WHERE id=%s",
                              (msg_id,)).fetchone()
        if r is None:
            return None
        if r["raw"] is None and r["duplicate_of"]:
            return self.raw(int(r["duplicate_of"]))
        return r["raw"]

    def alerts_row(self, msg_id: int) -> dict[str, Any] | None:
        return self.conn.execute("SELECT id, alerts, sender, source FROM messages WHERE id=%s",
                                 (msg_id,)).fetchone()

    def page(self, *, before: int | None = None, limit: int = 50,
             outcome: str | None = None) -> list[dict[str, Any]]:
        sql = f"SELECT {COLUMNS} FROM messages WHERE id < %s"
        args: list[Any] = [before if before is not None else 2**62]
        if outcome:
            sql += " AND outcome = %s"
            args.append(outcome)
        sql += " ORDER BY id DESC LIMIT %s"
        args.append(limit)
        return [_row(r) for r in self.conn.execute(sql, args)]

    def iter_accepted(self, *, after: int = 0, upto: int | None = None,
                      with_raw: bool = False) -> Iterator[dict[str, Any]]:
        cols = "id, received_at, source, sender, alerts" + (", raw" if with_raw else "")
        sql = f"SELECT {cols} FROM messages WHERE outcome='accepted' AND id > %s"
        args: list[Any] = [after]
        if upto is not None:
            sql += " AND id <= %s"
            args.append(upto)
        yield from self._stream(sql + " ORDER BY id", args)

    def iter_after(self, after: int, limit: int = 500) -> list[dict[str, Any]]:
        """Every receipt after ``after`` (any outcome), for an applier in another process."""
        return self.conn.execute(
            "SELECT id, received_at, source, sender, outcome, alerts FROM messages"
            " WHERE id > %s ORDER BY id LIMIT %s", (after, limit)).fetchall()

    def iter_all(self, *, with_raw: bool = True) -> Iterator[dict[str, Any]]:
        cols = COLUMNS + (", raw" if with_raw else "")
        for r in self._stream(f"SELECT {cols} FROM messages ORDER BY id", []):
            d = _row(r)
            if with_raw:
                d["raw"] = r["raw"]
            yield d

    def _stream(self, sql: str, args: list[Any]) -> Iterator[dict[str, Any]]:
        # a server-side cursor: a long journal is not loaded into memory at once
        with self.conn.transaction(), self.conn.cursor(name="lalert_iter") as cur:
            cur.itersize = 2000
            cur.execute(sql, args)
            yield from cur

    def fingerprints(self) -> Iterator[tuple[int, str, str | None, str | None, str | None]]:
        for r in self._stream(
                "SELECT id, sha256, outcome, alert_ids, source || ':' || origin_id AS origin"
                " FROM messages WHERE outcome != 'duplicate' ORDER BY id", []):
            yield r["id"], r["sha256"], r["outcome"], r["alert_ids"], r["origin"]

    def outcome_counts(self) -> dict[str, int]:
        return {r["outcome"]: r["n"] for r in self.conn.execute(
            "SELECT outcome, count(*) AS n FROM messages GROUP BY outcome")}


class PgState:
    """Derived state in PostgreSQL; same methods as ``lalert.store.state.StateStore``.

    Its commits are ``synchronous_commit = off``: everything here is derived from the
    journal (whose commits stay synchronous) and ``applied_upto`` moves in the same
    transaction, so a PostgreSQL crash that loses the last few state commits only makes
    the applier apply those messages again; a kill -9 of lalert loses nothing. It saves
    one WAL flush per applied message, the applier's main cost in a burst.
    """

    def __init__(self, url: str) -> None:
        from lalert.store.pggis import ShapeCache

        self.url = url
        ensure_schema(url)
        self.conn = connect(url)
        self.conn.execute("SET synchronous_commit = off")
        self._shapes = ShapeCache()

    def close(self) -> None:
        self.conn.close()

    def meta(self, k: str, default: str = "0") -> str:
        r = self.conn.execute("SELECT v FROM meta WHERE k=%s", (k,)).fetchone()
        return r["v"] if r else default

    @property
    def applied_upto(self) -> int:
        return int(self.meta("applied_upto"))

    @property
    def last_seq(self) -> int:
        r = self.conn.execute("SELECT coalesce(max(seq), 0) AS n FROM changes").fetchone()
        return max(int(r["n"]), int(self.meta("seq_base")))

    def commit(self, *, changes: list[ChangeRow], upserts: list[tuple[str, str, bool, int, bytes]],
               deletes: list[str], applied_upto: int | None = None,
               versions: Sequence[tuple[Any, ...]] = ()) -> None:
        """As ``StateStore.commit``; ``versions`` (key, enriched alert, drill) also go into
        the GIS tables (``lalert.store.pggis``) in the same transaction. Should writing
        them fail, the state commits without them (the GIS copy never costs the state)."""
        try:
            self._commit(changes, upserts, deletes, applied_upto, versions)
        except psycopg.Error:
            if not versions:
                raise
            log.exception("ALARM: writing alert versions to the GIS tables failed")
            self._commit(changes, upserts, deletes, applied_upto, ())

    def _commit(self, changes: list[ChangeRow], upserts: list[tuple[str, str, bool, int, bytes]],
                deletes: list[str], applied_upto: int | None,
                versions: Sequence[tuple[Any, ...]]) -> None:
        from lalert.store.pggis import write_versions

        # pipeline mode, no savepoint: one applied message's statements travel together
        # and wait for one sync (the commit), the applier's main cost in a burst
        shapes: list[str] = []
        with self.conn.pipeline(), self.conn.transaction(), self.conn.cursor() as c:
            if versions:
                shapes = write_versions(c, versions, applied_upto, self._shapes)
            if changes:
                c.executemany(
                    "INSERT INTO changes (seq, at, kind, reason, key, alert_id, drill, message_id)"
                    " VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                    [(r.seq, r.at, r.kind, r.reason, r.key, r.alert_id, bool(r.drill),
                      r.message_id) for r in changes])
            if deletes:
                c.execute("DELETE FROM active WHERE key = ANY(%s)", (deletes,))
            if upserts:
                c.executemany(
                    "INSERT INTO active (key, alert_id, drill, seq, enriched)"
                    " VALUES (%s,%s,%s,%s,%s) ON CONFLICT (key) DO UPDATE SET"
                    " alert_id=excluded.alert_id, drill=excluded.drill, seq=excluded.seq,"
                    " enriched=excluded.enriched",
                    [(k, i, bool(d), s, j) for k, i, d, s, j in upserts])
            if applied_upto is not None:
                self._set_meta(c, "applied_upto", str(applied_upto))
        self._shapes.written.update(shapes)  # committed: later versions may refer to them

    @staticmethod
    def _set_meta(c: Any, k: str, v: str) -> None:
        c.execute("INSERT INTO meta (k, v) VALUES (%s,%s) ON CONFLICT (k) DO UPDATE"
                  " SET v=excluded.v", (k, v))

    def load_active(self) -> list[tuple[str, str, bool, int, bytes]]:
        return [(r["key"], r["alert_id"], bool(r["drill"]), int(r["seq"]), r["enriched"])
                for r in self.conn.execute(
                    "SELECT key, alert_id, drill, seq, enriched FROM active")]

    @staticmethod
    def _change(r: dict[str, Any]) -> ChangeRow:
        return ChangeRow(int(r["seq"]), r["at"], r["kind"], r["reason"], r["key"], r["alert_id"],
                         bool(r["drill"]), r["message_id"])

    def changes_after(self, seq: int, limit: int = 1000) -> list[ChangeRow]:
        return [self._change(r) for r in self.conn.execute(
            "SELECT * FROM changes WHERE seq > %s ORDER BY seq LIMIT %s", (seq, limit))]

    def changes_for_alerts(self, alert_ids: list[str]) -> Iterator[ChangeRow]:
        if not alert_ids:
            return
        for r in self.conn.execute(
                "SELECT * FROM changes WHERE alert_id = ANY(%s) ORDER BY seq", (alert_ids,)):
            yield self._change(r)

    def cursor(self, output: str) -> int | None:
        r = self.conn.execute("SELECT seq FROM cursors WHERE output=%s", (output,)).fetchone()
        return int(r["seq"]) if r else None

    def set_cursors(self, cursors: dict[str, int]) -> None:
        if cursors:
            with self.conn.cursor() as c:
                # several workers of one role share a cursor row: it only moves forward
                c.executemany(
                    "INSERT INTO cursors (output, seq) VALUES (%s,%s) ON CONFLICT (output)"
                    " DO UPDATE SET seq=greatest(cursors.seq, excluded.seq)",
                    list(cursors.items()))

    def cursor_names(self) -> list[str]:
        return [r["output"] for r in self.conn.execute("SELECT output FROM cursors")]

    def reset_for_replay(self) -> int:
        base = self.last_seq
        with self.conn.transaction(), self.conn.cursor() as c:
            c.execute("DELETE FROM changes")
            c.execute("DELETE FROM active")
            self._set_meta(c, "seq_base", str(base))
            self._set_meta(c, "applied_upto", "0")
        return base

    def stats(self) -> dict[str, Any]:
        return {"last_seq": self.last_seq, "applied_upto": self.applied_upto}


class PgOutbox:
    """Per-output delivery records; same methods as ``lalert.store.outbox.SqliteOutbox``.

    Unlike the SQLite one it keeps no in-process cache of finished keys: another worker of
    the same role may have finished a key since, and the database is the one truth.
    """

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def is_done(self, output: str, key: str) -> bool:
        return self.state(output, key) in DONE_STATES

    def record(self, output: str, key: str, state: str, detail: str = "") -> None:
        if state not in STATES:
            raise ValueError(f"outbox state {state!r} not in {sorted(STATES)}")
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.conn.execute(
            "INSERT INTO outbox (output, key, state, detail, updated_at) VALUES (%s,%s,%s,%s,%s)"
            " ON CONFLICT (output, key) DO UPDATE SET state=excluded.state,"
            " detail=excluded.detail, updated_at=excluded.updated_at",
            (output, key, state, detail[:2000], now))

    def state(self, output: str, key: str) -> str | None:
        r = self.conn.execute("SELECT state FROM outbox WHERE output=%s AND key=%s",
                              (output, key)).fetchone()
        return r["state"] if r else None

    def status(self, key: str) -> dict[str, dict[str, str]]:
        return {r["output"]: {"state": r["state"], "detail": r["detail"],
                              "updated_at": r["updated_at"]}
                for r in self.conn.execute(
                    "SELECT output, state, detail, updated_at FROM outbox WHERE key=%s", (key,))}

    def summary(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for r in self.conn.execute(
                "SELECT output, state, count(*) AS n FROM outbox GROUP BY output, state"):
            out.setdefault(r["output"], {})[r["state"]] = r["n"]
        return out


class LeaderLock:
    """A session advisory lock: one process of a role holds it, the others stand by."""

    def __init__(self, url: str, name: str) -> None:
        self.url, self.key = url, int.from_bytes(name.encode()[:7].ljust(7, b"\0"), "big")
        self.conn: psycopg.Connection | None = None

    def try_acquire(self) -> bool:
        if self.conn is None:
            self.conn = connect(self.url)
        r = self.conn.execute("SELECT pg_try_advisory_lock(%s) AS ok", (self.key,)).fetchone()
        return bool(r["ok"])

    def release(self) -> None:
        if self.conn is not None:
            self.conn.close()  # closing the session releases the lock
            self.conn = None

"""The journal: every raw message, committed durably before its sender gets an answer.

SQLite in WAL mode with ``synchronous=FULL``: a commit has reached the disk when
``append`` returns. Each receipt is one row (who sent what, when, and what became of
it); the raw bytes are kept once: a byte-identical resend is a ``duplicate`` row that
points at the first (``duplicate_of``) without a second copy. Rejected messages keep
their bytes and the reason so the desk can inspect them. Accepted rows also keep the
parsed alerts (``lalert.store.codec``: version-tagged MessagePack), so a restart
rebuilds the lifecycle without reparsing;
``lalert replay`` reparses from the raw bytes instead.

Writes come from one thread at a time (``JournalWriter`` batches concurrent receipts
into one transaction: group commit). Readers open their own connection.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lalert.store.private import private_file

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY,
  received_at TEXT NOT NULL,
  source TEXT NOT NULL,
  sender TEXT NOT NULL,
  origin_id TEXT,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL,
  raw BLOB,
  outcome TEXT NOT NULL,
  reason TEXT,
  format TEXT,
  alert_ids TEXT,
  alerts TEXT,
  duplicate_of INTEGER
);
CREATE INDEX IF NOT EXISTS messages_sha ON messages(sha256);
CREATE INDEX IF NOT EXISTS messages_origin ON messages(source, origin_id);
CREATE INDEX IF NOT EXISTS messages_outcome ON messages(outcome, id);
"""

COLUMNS = ("id, received_at, source, sender, origin_id, sha256, size, outcome, reason, format, "
           "alert_ids, duplicate_of")


@dataclass
class Entry:
    """One receipt to journal. ``outcome``: accepted | rejected | duplicate."""

    received_at: str
    source: str  # http | spool | feed | demo | desk | replay
    sender: str  # token name, file name or feed URL
    sha256: str
    size: int
    raw: bytes | None
    outcome: str
    reason: str | None = None
    format: str | None = None
    alert_ids: list[str] | None = None
    alerts_json: bytes | str | None = None  # lalert.store.codec cache of the parsed alerts
    origin_id: str | None = None
    duplicate_of: int | None = None
    parsed: Any = None  # the Alert objects, handed on after the commit; not stored


def connect(path: Path, *, synchronous: str = "FULL", readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False,
                               isolation_level=None)
    else:
        private_file(path)  # 0600 before SQLite opens it: -wal / -shm take its mode
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=10000")
    conn.row_factory = sqlite3.Row
    return conn


class Journal:
    """Synchronous access to ``journal.sqlite``; one instance per thread."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        if not readonly:
            self.conn = connect(path)
            self.conn.executescript(SCHEMA)
        else:
            self.conn = connect(path, readonly=True)

    def close(self) -> None:
        self.conn.close()

    # --- writing --------------------------------------------------------------------

    def append_many(self, entries: list[Entry]) -> list[int]:
        """Insert the entries in one transaction; returns their ids once durable."""
        ids: list[int] = []
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for e in entries:
                cur.execute(
                    "INSERT INTO messages (received_at, source, sender, origin_id, sha256, size,"
                    " raw, outcome, reason, format, alert_ids, alerts, duplicate_of)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (e.received_at, e.source, e.sender, e.origin_id, e.sha256, e.size, e.raw,
                     e.outcome, e.reason, e.format,
                     json.dumps(e.alert_ids) if e.alert_ids is not None else None,
                     e.alerts_json, e.duplicate_of),
                )
                ids.append(int(cur.lastrowid))
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        return ids

    def append(self, entry: Entry) -> int:
        return self.append_many([entry])[0]

    def rewrite_outcomes(self, updates: list[tuple[Any, ...]]) -> None:
        """``lalert replay``: (outcome, reason, format, alert_ids, alerts, id) per row."""
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(
            "UPDATE messages SET outcome=?, reason=?, format=?, alert_ids=?, alerts=? "
            "WHERE id=?", updates)
        self.conn.execute("COMMIT")

    # --- reading --------------------------------------------------------------------

    def last_id(self) -> int:
        row = self.conn.execute("SELECT max(id) FROM messages").fetchone()
        return int(row[0] or 0)

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM messages").fetchone()[0])

    def get(self, msg_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(f"SELECT {COLUMNS} FROM messages WHERE id=?", (msg_id,)).fetchone()
        return _row(row) if row else None

    def raw(self, msg_id: int) -> bytes | None:
        """The message's bytes, following ``duplicate_of`` for byte-identical resends."""
        row = self.conn.execute("SELECT raw, duplicate_of FROM messages WHERE id=?",
                                (msg_id,)).fetchone()
        if row is None:
            return None
        if row["raw"] is None and row["duplicate_of"]:
            return self.raw(int(row["duplicate_of"]))
        return row["raw"]

    def alerts_row(self, msg_id: int) -> dict[str, Any] | None:
        """``id, alerts, sender, source`` of one message (to read its parsed alerts)."""
        row = self.conn.execute("SELECT id, alerts, sender, source FROM messages WHERE id=?",
                                (msg_id,)).fetchone()
        return dict(row) if row else None

    def iter_after(self, after: int, limit: int = 500) -> list[dict[str, Any]]:
        """Every receipt after ``after`` (any outcome), for an applier in another process."""
        return [dict(r) for r in self.conn.execute(
            "SELECT id, received_at, source, sender, outcome, alerts FROM messages"
            " WHERE id > ? ORDER BY id LIMIT ?", (after, limit))]

    def page(self, *, before: int | None = None, limit: int = 50,
             outcome: str | None = None) -> list[dict[str, Any]]:
        """Newest first, ``id < before``."""
        sql = f"SELECT {COLUMNS} FROM messages WHERE id < ?"
        args: list[Any] = [before if before is not None else 2**62]
        if outcome:
            sql += " AND outcome = ?"
            args.append(outcome)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [_row(r) for r in self.conn.execute(sql, args)]

    def iter_accepted(self, *, after: int = 0, upto: int | None = None,
                      with_raw: bool = False) -> Iterator[dict[str, Any]]:
        """Accepted messages in journal order, with their stored alerts JSON."""
        cols = "id, received_at, source, sender, alerts" + (", raw" if with_raw else "")
        sql = f"SELECT {cols} FROM messages WHERE outcome='accepted' AND id > ?"
        args: list[Any] = [after]
        if upto is not None:
            sql += " AND id <= ?"
            args.append(upto)
        for r in self.conn.execute(sql + " ORDER BY id", args):
            yield dict(r)

    def iter_all(self, *, with_raw: bool = True) -> Iterator[dict[str, Any]]:
        cols = COLUMNS + (", raw" if with_raw else "")
        for r in self.conn.execute(f"SELECT {cols} FROM messages ORDER BY id"):
            d = _row(r)
            if with_raw:
                d["raw"] = r["raw"]
            yield d

    def fingerprints(self) -> Iterator[tuple[int, str, str | None, str | None, str | None]]:
        """(id, sha256, outcome, alert_ids JSON, origin) of every first receipt, for dedupe."""
        yield from self.conn.execute(
            "SELECT id, sha256, outcome, alert_ids, source || ':' || origin_id FROM messages"
            " WHERE outcome != 'duplicate' ORDER BY id")

    def outcome_counts(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self.conn.execute(
            "SELECT outcome, count(*) FROM messages GROUP BY outcome")}


def _row(row: sqlite3.Row) -> dict[str, Any]:
    d = {k: row[k] for k in row.keys() if k not in ("raw", "alerts")}
    d["alert_ids"] = json.loads(d["alert_ids"]) if d.get("alert_ids") else []
    return d


class JournalWriter:
    """Group commit: receipts arriving together share one durable transaction.

    ``await append(entry)`` returns the id only after the commit; callers are answered
    in journal order, and ``on_commit`` (if set) sees each committed entry in that order
    before its caller resumes, so downstream processing follows journal order too.
    """

    def __init__(self, path: Path | str, *, max_batch: int = 512,
                 factory: Any = None) -> None:
        self.path = path
        self.max_batch = max_batch
        self.factory = factory or Journal  # another store's journal class (same methods)
        self._exec = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        self._journal: Journal | None = None
        self._queue: asyncio.Queue[tuple[Entry, asyncio.Future[int]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self.on_commit: Any = None  # callable(id, entry) in the loop, journal order

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._journal = await loop.run_in_executor(self._exec, self.factory, self.path)
        self._queue = asyncio.Queue()
        self._task = asyncio.create_task(self._run(), name="journal-writer")

    async def append(self, entry: Entry) -> int:
        assert self._queue is not None, "JournalWriter.start() first"
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((entry, fut))
        return await fut

    async def _run(self) -> None:
        assert self._queue is not None and self._journal is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                ids = await loop.run_in_executor(
                    self._exec, self._journal.append_many, [e for e, _ in batch])
            except Exception as exc:  # disk full, I/O error: every caller hears of it
                for _, fut in batch:
                    if not fut.done():
                        fut.set_exception(exc)
                continue
            for (entry, fut), msg_id in zip(batch, ids, strict=True):
                if self.on_commit is not None:
                    self.on_commit(msg_id, entry)
                if not fut.done():
                    fut.set_result(msg_id)

    async def close(self) -> None:
        if self._task:
            # let queued receipts reach the disk before stopping
            while self._queue is not None and not self._queue.empty():
                await asyncio.sleep(0.01)
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._journal is not None:
            j = self._journal
            await asyncio.get_running_loop().run_in_executor(self._exec, j.close)
        self._exec.shutdown(wait=True)

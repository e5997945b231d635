"""Derived state: numbered changes, the enriched active set, output cursors.

Everything here can be rebuilt from the journal (``lalert replay``), so it runs with
``synchronous=NORMAL``: a killed process loses nothing committed (WAL), and only a power
cut can lose the last few commits, which the restart then re-derives from the journal.
Each processed message's changes, active-set rows and ``applied_upto`` are written in
one transaction, so the derived state always corresponds to a prefix of the journal.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lalert.store.journal import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS changes (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  kind TEXT NOT NULL,
  reason TEXT NOT NULL,
  key TEXT NOT NULL,
  alert_id TEXT NOT NULL,
  drill INTEGER NOT NULL,
  message_id INTEGER
);
CREATE INDEX IF NOT EXISTS changes_alert ON changes(alert_id);
CREATE INDEX IF NOT EXISTS changes_key ON changes(key, seq);
CREATE TABLE IF NOT EXISTS active (
  key TEXT PRIMARY KEY,
  alert_id TEXT NOT NULL,
  drill INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  enriched BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (output TEXT PRIMARY KEY, seq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
  output TEXT NOT NULL,
  key TEXT NOT NULL,
  state TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT '',
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  PRIMARY KEY (output, key)
);
"""


@dataclass(frozen=True)
class ChangeRow:
    seq: int
    at: str
    kind: str
    reason: str
    key: str
    alert_id: str
    drill: bool
    message_id: int | None


def key_str(key: tuple[str, ...]) -> str:
    return json.dumps(list(key), ensure_ascii=False)


class StateStore:
    """``state.sqlite``; used from the event loop thread only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn: sqlite3.Connection = connect(path, synchronous="NORMAL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def meta(self, k: str, default: str = "0") -> str:
        row = self.conn.execute("SELECT v FROM meta WHERE k=?", (k,)).fetchone()
        return row[0] if row else default

    @property
    def applied_upto(self) -> int:
        return int(self.meta("applied_upto"))

    @property
    def last_seq(self) -> int:
        row = self.conn.execute("SELECT max(seq) FROM changes").fetchone()
        return max(int(row[0] or 0), int(self.meta("seq_base")))

    def commit(
        self,
        *,
        changes: list[ChangeRow],
        upserts: list[tuple[str, str, bool, int, bytes]],
        deletes: list[str],
        applied_upto: int | None = None,
        versions: Sequence[tuple[Any, ...]] = (),
    ) -> None:
        """One transaction: new changes, active rows (key, id, drill, seq, json), removals.
        ``versions`` (key, enriched alert, drill) feed the PostGIS store's GIS tables;
        SQLite keeps no spatial copy (the in-memory view answers spatial queries)."""
        c = self.conn
        c.execute("BEGIN")
        try:
            c.executemany(
                "INSERT INTO changes (seq, at, kind, reason, key, alert_id, drill, message_id)"
                " VALUES (?,?,?,?,?,?,?,?)",
                [(r.seq, r.at, r.kind, r.reason, r.key, r.alert_id, int(r.drill), r.message_id)
                 for r in changes])
            if deletes:
                c.executemany("DELETE FROM active WHERE key=?", [(k,) for k in deletes])
            if upserts:
                c.executemany(
                    "INSERT OR REPLACE INTO active (key, alert_id, drill, seq, enriched)"
                    " VALUES (?,?,?,?,?)", [(k, i, int(d), s, j) for k, i, d, s, j in upserts])
            if applied_upto is not None:
                c.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('applied_upto', ?)",
                          (str(applied_upto),))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def load_active(self) -> list[tuple[str, str, bool, int, bytes]]:
        return [(r["key"], r["alert_id"], bool(r["drill"]), r["seq"], r["enriched"])
                for r in self.conn.execute("SELECT key, alert_id, drill, seq, enriched FROM active")]

    def changes_after(self, seq: int, limit: int = 1000) -> list[ChangeRow]:
        return [ChangeRow(r["seq"], r["at"], r["kind"], r["reason"], r["key"], r["alert_id"],
                          bool(r["drill"]), r["message_id"])
                for r in self.conn.execute(
                    "SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit))]

    def changes_for_alerts(self, alert_ids: list[str]) -> Iterator[ChangeRow]:
        if not alert_ids:
            return
        q = ",".join("?" * len(alert_ids))
        for r in self.conn.execute(
                f"SELECT * FROM changes WHERE alert_id IN ({q}) ORDER BY seq", alert_ids):
            yield ChangeRow(r["seq"], r["at"], r["kind"], r["reason"], r["key"], r["alert_id"],
                            bool(r["drill"]), r["message_id"])

    def cursor(self, output: str) -> int | None:
        row = self.conn.execute("SELECT seq FROM cursors WHERE output=?", (output,)).fetchone()
        return int(row[0]) if row else None

    def set_cursors(self, cursors: dict[str, int]) -> None:
        if cursors:
            self.conn.executemany("INSERT OR REPLACE INTO cursors (output, seq) VALUES (?,?)",
                                  list(cursors.items()))

    def cursor_names(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT output FROM cursors")]

    def reset_for_replay(self) -> int:
        """Forget derived state but keep numbering going; returns the new seq base."""
        base = self.last_seq
        c = self.conn
        c.execute("BEGIN")
        c.execute("DELETE FROM changes")
        c.execute("DELETE FROM active")
        c.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('seq_base', ?)", (str(base),))
        c.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('applied_upto', '0')")
        c.execute("COMMIT")
        return base

    def stats(self) -> dict[str, Any]:
        return {"last_seq": self.last_seq, "applied_upto": self.applied_upto}

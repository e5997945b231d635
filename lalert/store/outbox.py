"""Per-output delivery records (``lalert.outputs.base.Outbox``) in ``state.sqlite``.

An output records ``pending`` before acting and ``sent`` after; a restart asks
``is_done`` and skips what was done. Each record is its own commit, so a killed
process forgets at most the action it was in the middle of (at-least-once within that
window; receivers dedupe by the change ``seq``).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

DONE_STATES = frozenset({"sent", "skipped", "dead"})
STATES = frozenset({"pending", "sent", "retrying", "dead", "skipped"})


class SqliteOutbox:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._done: set[tuple[str, str]] = {
            (r[0], r[1]) for r in conn.execute(
                "SELECT output, key FROM outbox WHERE state IN ('sent','skipped','dead')")}

    def is_done(self, output: str, key: str) -> bool:
        return (output, key) in self._done

    def record(self, output: str, key: str, state: str, detail: str = "") -> None:
        if state not in STATES:
            raise ValueError(f"outbox state {state!r} not in {sorted(STATES)}")
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        self.conn.execute(
            "INSERT INTO outbox (output, key, state, detail, updated_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT(output, key) DO UPDATE SET state=excluded.state,"
            " detail=excluded.detail, updated_at=excluded.updated_at",
            (output, key, state, detail[:2000], now))
        if state in DONE_STATES:
            self._done.add((output, key))

    def state(self, output: str, key: str) -> str | None:
        """The recorded state (``pending`` after a crash mid-action), or None."""
        row = self.conn.execute("SELECT state FROM outbox WHERE output=? AND key=?",
                                (output, key)).fetchone()
        return row[0] if row else None

    def status(self, key: str) -> dict[str, dict[str, str]]:
        """Every output's record for one key (the desk shows delivery per output)."""
        return {r[0]: {"state": r[1], "detail": r[2], "updated_at": r[3]} for r in self.conn.execute(
            "SELECT output, state, detail, updated_at FROM outbox WHERE key=?", (key,))}

    def summary(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for output, state, n in self.conn.execute(
                "SELECT output, state, count(*) FROM outbox GROUP BY output, state"):
            out.setdefault(output, {})[state] = n
        return out

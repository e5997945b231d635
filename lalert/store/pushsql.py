"""The push outbox's SQL, written once for SQLite (``store.push``) and PostgreSQL
(``store.pgpush``).

The two backends keep the same tables (PostgreSQL's carry a ``push_`` prefix, since they
share a database with the journal and state) and ask the same questions, so each statement
lives here once, with ``{changes}``, ``{deliveries}``, ``{attempts}``, ``{fanouts}`` and
``{topics}`` for the table names and ``?`` for a parameter. A backend says how it differs —
``Dialect``: table prefix, placeholder, how to read a JSON field, the insertion order of
attempts — and how it runs a statement (``_all``, ``_one``, ``_transaction``). What only
one backend does stays with it: PostgreSQL's claims and leases, SQLite's single-writer
fan-out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from lalert.storage import Job, LoggedChange, Outcome

ROW_COLS = ("id", "channel", "seq", "sub_id", "state", "attempts", "next_at", "updated_at",
            "last_status", "last_error")
JOB_COLS = "id, channel, seq, sub_id, attempts, next_at"
LOG_SLICE = 32  # change-log rows per executemany (see log_changes)


@dataclass(frozen=True)
class Dialect:
    """Where the two SQL dialects differ, for the statements in this module."""

    prefix: str  # table-name prefix
    param: str  # parameter placeholder
    title_of_body: str  # SQL reading the alert title out of a change body (JSON text)
    attempt_order: str  # column that orders attempts as they were recorded

    def sql(self, text: str) -> str:
        p = self.prefix
        return text.format(changes=f"{p}changes", deliveries=f"{p}deliveries",
                           attempts=f"{p}attempts", fanouts=f"{p}fanouts",
                           topics=f"{p}mqtt_topics").replace("?", self.param)


SQLITE = Dialect(prefix="", param="?", title_of_body="json_extract(body, '$.title')",
                 attempt_order="rowid")
POSTGRESQL = Dialect(prefix="push_", param="%s", title_of_body="body::jsonb ->> 'title'",
                     attempt_order="n_row")


class Executor(Protocol):
    def execute(self, sql: str, args: Any = ...) -> Any: ...
    def executemany(self, sql: str, rows: Any) -> Any: ...


def job_of(row: tuple[Any, ...]) -> Job:
    """A ``JOB_COLS`` row as a ``Job``."""
    return Job(row[0], row[1], int(row[2]), row[3], int(row[4]), float(row[5]))


class PushQueries:
    """Every push-outbox statement the two backends share; a subclass sets ``dialect`` and
    runs statements (rows come back as tuples, in the order the statement names them)."""

    dialect: Dialect

    # --- what a backend provides ------------------------------------------------------

    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _transaction(self) -> contextlib.AbstractContextManager[Executor]:
        raise NotImplementedError

    # --- helpers ------------------------------------------------------------------------

    def _q(self, text: str) -> str:
        return self.dialect.sql(text)

    def _one(self, sql: str, args: Iterable[Any] = ()) -> tuple[Any, ...] | None:
        rows = self._all(sql, args)
        return rows[0] if rows else None

    def _in(self, values: list[Any]) -> str:
        return ",".join([self.dialect.param] * len(values))

    # --- the change log (also the SSE resume log) -------------------------------------

    def log_changes(self, changes: list[LoggedChange]) -> None:
        if not changes:
            return
        sql = self._q("INSERT INTO {changes} (seq, alert_key, body) VALUES (?,?,?)"
                      " ON CONFLICT DO NOTHING")
        with self._transaction() as tx:
            # in slices: psycopg encodes every row of one executemany before sending, and
            # a read of 256 changes of ~20 KB JSON each held 32 MB of copies at once
            for i in range(0, len(changes), LOG_SLICE):
                tx.executemany(sql, [(c.seq, c.alert_key, c.body)
                                     for c in changes[i:i + LOG_SLICE]])

    def change_json(self, seq: int) -> str | None:
        row = self._one(self._q("SELECT body FROM {changes} WHERE seq=?"), (seq,))
        return row[0] if row else None

    def changes_since(self, seq: int, limit: int = 10_000) -> list[tuple[int, str]]:
        return [(int(s), b) for s, b in self._all(
            self._q("SELECT seq, body FROM {changes} WHERE seq > ? ORDER BY seq LIMIT ?"),
            (seq, limit))]

    def last_seq(self) -> int:
        row = self._one(self._q("SELECT coalesce(max(seq), 0) FROM {changes}"))
        return int(row[0]) if row else 0

    # --- fan-out ------------------------------------------------------------------------

    def fanned_out(self, channel: str, seq: int) -> bool:
        return self._one(self._q("SELECT 1 FROM {fanouts} WHERE channel=? AND seq=?"),
                         (channel, seq)) is not None

    def previous_recipients(self, channel: str, key: str) -> set[str]:
        """Who got an earlier version of this alert: they must hear of its update/cancel."""
        return {r[0] for r in self._all(self._q(
            "SELECT DISTINCT d.sub_id FROM {deliveries} d JOIN {changes} c ON c.seq = d.seq"
            " WHERE c.alert_key = ? AND d.channel = ?"), (key, channel))}

    def _mark_fan_out(self, tx: Executor, channel: str, change: LoggedChange, count: int,
                      now: float) -> bool:
        """Inside a fan-out's transaction, first: the marker, and the change body if this
        is the change's first fan-out on ``channel``. False when it was fanned out before
        (by this process or another worker): the caller then writes nothing more."""
        cur = tx.execute(self._q("INSERT INTO {fanouts} (channel, seq, n, at) VALUES (?,?,?,?)"
                                 " ON CONFLICT DO NOTHING"), (channel, change.seq, count, now))
        if cur.rowcount != 1:
            return False
        tx.execute(self._q("INSERT INTO {changes} (seq, alert_key, body) VALUES (?,?,?)"
                           " ON CONFLICT DO NOTHING"), (change.seq, change.alert_key, change.body))
        return True

    def record(self, results: list[tuple[Job, str, Outcome, float, float]]) -> None:
        """Group commit of attempt results: (job, new state, outcome, at, ms)."""
        if not results:
            return
        with self._transaction() as tx:
            tx.executemany(self._q(
                "UPDATE {deliveries} SET state=?, attempts=?, next_at=?, updated_at=?,"
                " last_status=?, last_error=? WHERE id=?"),
                [(st, j.attempts, j.next_at, at, o.status, o.error or None, j.id)
                 for j, st, o, at, _ in results])
            tx.executemany(self._q(
                "INSERT INTO {attempts} (delivery_id, n, at, status, error, ms)"
                " VALUES (?,?,?,?,?,?)"),
                [(j.id, j.attempts, at, o.status, o.error or None, ms)
                 for j, _, o, at, ms in results])

    # --- reading for the desk console and the delivery log ------------------------------

    def seq_states(self, seqs: Iterable[int]) -> dict[int, dict[str, dict[str, int]]]:
        """seq → channel → state → deliveries, for the desk's per-alert status (one query)."""
        wanted = sorted(set(seqs))
        out: dict[int, dict[str, dict[str, int]]] = {}
        if not wanted:
            return out
        for seq, ch, st, n in self._all(self._q(
                f"SELECT seq, channel, state, count(*) FROM {{deliveries}}"
                f" WHERE seq IN ({self._in(wanted)}) GROUP BY seq, channel, state"), wanted):
            out.setdefault(int(seq), {}).setdefault(ch, {})[st] = int(n)
        return out

    def states(self, channel: str | None = None) -> dict[str, int]:
        where, args = (" WHERE channel=?", [channel]) if channel else ("", [])
        return {st: int(n) for st, n in self._all(self._q(
            "SELECT state, count(*) FROM {deliveries}" + where + " GROUP BY state"), args)}

    def deliveries(self, *, channel: str | None = None, state: str | None = None,
                   limit: int = 100) -> list[dict[str, Any]]:
        cond, args = [], []
        for col, value in (("channel", channel), ("state", state)):
            if value:
                cond.append(f"{col}=?")
                args.append(value)
        where = " WHERE " + " AND ".join(cond) if cond else ""
        rows = self._all(self._q(f"SELECT {', '.join(ROW_COLS)} FROM {{deliveries}}{where}"
                                 " ORDER BY updated_at DESC LIMIT ?"), [*args, limit])
        return [_row(r) for r in rows]

    def delivery(self, delivery: str) -> dict[str, Any] | None:
        """One delivery row (the desk's detail page), or None."""
        row = self._one(self._q(f"SELECT {', '.join(ROW_COLS)} FROM {{deliveries}} WHERE id=?"),
                        (delivery,))
        return _row(row) if row else None

    def attempts(self, delivery: str) -> list[dict[str, Any]]:
        return [dict(zip(("n", "at", "status", "error", "ms"), r, strict=True))
                for r in self._all(self._q(
                    "SELECT n, at, status, error, ms FROM {attempts} WHERE delivery_id=?"
                    f" ORDER BY {self.dialect.attempt_order}"), (delivery,))]

    def change_titles(self, seqs: Iterable[int]) -> dict[int, str]:
        """seq → the alert's title, read inside the database so a page of deliveries never
        parses whole enriched bodies."""
        wanted = sorted(set(seqs))
        if not wanted:
            return {}
        return {int(s): str(t or "") for s, t in self._all(self._q(
            f"SELECT seq, {self.dialect.title_of_body} FROM {{changes}}"
            f" WHERE seq IN ({self._in(wanted)})"), wanted)}

    # --- MQTT retained topics ---------------------------------------------------------

    def mqtt_topics(self, key: str) -> set[str]:
        return {r[0] for r in self._all(self._q("SELECT topic FROM {topics} WHERE alert_key=?"),
                                        (key,))}

    def set_mqtt_topics(self, key: str, topics: Iterable[str]) -> None:
        with self._transaction() as tx:
            tx.execute(self._q("DELETE FROM {topics} WHERE alert_key=?"), (key,))
            tx.executemany(self._q("INSERT INTO {topics} (alert_key, topic) VALUES (?,?)"),
                           [(key, t) for t in topics])


def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    d = dict(zip(ROW_COLS, r, strict=True))
    d["seq"] = int(d["seq"])
    return d


@contextlib.contextmanager
def sqlite_transaction(db: Any, begin: str = "BEGIN") -> Iterator[Any]:
    """BEGIN … COMMIT on an autocommit SQLite connection, ROLLBACK on any error."""
    db.execute(begin)
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")

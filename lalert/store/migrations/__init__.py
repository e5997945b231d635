"""Numbered schema migrations, applied in one transaction when a store opens.

Each backend has one schema definition: the ordered files ``<backend>/NNN_name.sql`` in
this package. ``schema_version`` records which numbers a database has; at start every
missing one runs, in order, inside a single transaction under an advisory lock, so
workers starting together never race and a failed upgrade leaves the old schema intact.

Numbered SQL files rather than Alembic: lalert has no ORM models to diff, the schema is
PostGIS DDL (views, comments, GiST indexes) that Alembic would only wrap in ``op.execute``,
and the runner below is all the bookkeeping needed. Migration 001 is the schema written
before migrations existed, idempotent (``IF NOT EXISTS``), so such a database is adopted
as version 1 with its rows untouched.
"""

from __future__ import annotations

import re
from importlib.resources import files

import psycopg

MIGRATION_LOCK = 0x1A1E_0002  # the advisory lock the schema was created under before
_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migrations(backend: str = "postgresql") -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every migration of ``backend``, in order."""
    out = []
    for f in files(__name__).joinpath(backend).iterdir():
        m = _NAME.match(f.name)
        if m:
            out.append((int(m.group(1)), f.name, f.read_text(encoding="utf-8")))
    out.sort()
    numbers = [n for n, _, _ in out]
    if numbers != list(range(1, len(out) + 1)):
        raise RuntimeError(f"{backend} migrations are not numbered 1..n: {numbers}")
    return out


def latest(backend: str = "postgresql") -> int:
    return len(migrations(backend))


def current_version(conn: psycopg.Connection) -> int:
    """The highest migration applied (0: none, or a database without ``schema_version``)."""
    row = conn.execute(
        "SELECT to_regclass('schema_version') IS NOT NULL AS has").fetchone()
    has = row["has"] if isinstance(row, dict) else row[0]
    if not has:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) AS v FROM schema_version").fetchone()
    return int(row["v"] if isinstance(row, dict) else row[0])


def migrate(dsn: str, *, upto: int | None = None) -> list[int]:
    """Bring the PostgreSQL database at ``dsn`` to migration ``upto`` (default: the
    latest); return the numbers applied now. All of them commit together or not at all."""
    applied: list[int] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            with conn.transaction():
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY,"
                    " name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
                have = current_version(conn)
                for number, name, sql in migrations("postgresql"):
                    if number <= have or (upto is not None and number > upto):
                        continue
                    conn.execute(sql)  # type: ignore[arg-type]  (trusted package file)
                    conn.execute("INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                                 (number, name))
                    applied.append(number)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return applied

"""Opening the small SQLite files kept beside the journal (push outbox, subscriptions)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from lalert.store.private import private_file


def open_durable(path: Path, schema: str) -> sqlite3.Connection:
    """One connection for every thread (the caller serialises with its own lock), in WAL
    mode with ``synchronous=FULL`` so a committed row survives a crash or power loss, and
    with ``schema`` applied."""
    private_file(path)  # 0600 before SQLite opens it: -wal / -shm take its mode
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.executescript(schema)
    return db

"""Opening the small SQLite files kept beside the journal (push outbox, subscriptions)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

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


T = TypeVar("T")


class PerFile(Generic[T]):
    """One object per database file and process: the outputs, the desk and the tests of
    one home must share a connection (and whatever the object caches), never open twins."""

    def __init__(self, make: Callable[[Path], T]) -> None:
        self._make = make
        self._objects: dict[Path, T] = {}
        self._lock = threading.Lock()

    def get(self, path: Path) -> T:
        path = Path(path).resolve()
        with self._lock:
            obj = self._objects.get(path)
            if obj is None:
                obj = self._objects[path] = self._make(path)
            return obj

    def forget(self, path: Path) -> None:
        """Called by the object's ``close``: the next ``get`` opens the file afresh."""
        with self._lock:
            self._objects.pop(Path(path).resolve(), None)

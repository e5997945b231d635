"""Durable storage, chosen by name in configuration (``store = "sqlite"`` or
``"sqlite:///DIR"``). Only SQLite is built; a PostGIS backend would provide the same
three pieces (journal, derived state, outbox) under ``store = "postgresql://…"``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lalert.store.journal import Entry, Journal, JournalWriter
from lalert.store.outbox import SqliteOutbox
from lalert.store.state import ChangeRow, StateStore

__all__ = ["Entry", "Journal", "JournalWriter", "SqliteOutbox", "StateStore", "ChangeRow",
           "StorePaths", "store_paths"]


@dataclass(frozen=True)
class StorePaths:
    journal: Path
    state: Path


def store_paths(store: str, home: Path) -> StorePaths:
    """Where the SQLite files of a store URL live; other schemes are refused by name."""
    if store in ("", "sqlite"):
        base = home
    elif store.startswith("sqlite:///"):
        base = Path(store.removeprefix("sqlite:///"))
    else:
        raise ValueError(f"store {store!r}: only 'sqlite' or 'sqlite:///DIR' is available")
    return StorePaths(journal=base / "journal.sqlite", state=base / "state.sqlite")

"""Stores by URL scheme: ``sqlite`` (default, files in the home) or ``postgresql://…``.

``open_store(url, home)`` returns a ``Store``: the factories the pipeline needs (journal
writer, journal reader, derived state, outbox) plus a leader lock, so the pipeline never
asks which backend it runs on. Third-party stores register under the ``lalert.stores``
entry-point group by scheme, like outputs do under ``lalert.outputs``.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from lalert.store.private import private_dir

log = logging.getLogger(__name__)


@dataclass
class Store:
    """One backend. ``state`` and ``outbox`` objects share a connection (outbox(state))."""

    name: str  # sqlite | postgis
    url: str
    writer: Callable[[], Any]  # -> JournalWriter (not started)
    reader: Callable[[], Any]  # -> read-only journal
    journal: Callable[[], Any]  # -> writable journal (lalert replay rewrites outcomes)
    state: Callable[[], Any]  # -> StateStore-like
    outbox: Callable[[Any], Any]  # state -> Outbox
    leader: Callable[[str], Any]  # name -> object with try_acquire() / release()
    shared: bool  # can processes on other machines use it?
    # answers the read API's point / bbox filters in the database (``among(ids, point=,
    # box=)``, ``lalert.store.pggis.PlaceQueries``); None: the API tests its own shapes
    places: Any = None


class FileLock:
    """``flock`` on a file in the home: the leader lock of the SQLite store (one machine)."""

    def __init__(self, path: Path) -> None:
        self.path, self.fh = path, None

    def try_acquire(self) -> bool:
        private_dir(self.path.parent)
        fh = open(self.path, "a+")  # noqa: SIM115 - held while leading
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        self.fh = fh
        return True

    def release(self) -> None:
        if self.fh is not None:
            self.fh.close()
            self.fh = None


def sqlite_store(url: str, home: Path) -> Store:
    from lalert.store import Journal, JournalWriter, SqliteOutbox, StateStore, store_paths

    paths = store_paths(url, home)
    return Store(
        name="sqlite", url=url,
        writer=lambda: JournalWriter(paths.journal),
        reader=lambda: Journal(paths.journal, readonly=True),
        journal=lambda: Journal(paths.journal),
        state=lambda: StateStore(paths.state),
        outbox=lambda st: SqliteOutbox(st.conn),
        leader=lambda name: FileLock(paths.state.parent / f"{name}.leader"),
        shared=False)


def postgis_store(url: str, home: Path) -> Store:
    try:
        from lalert.store import postgis as pg
    except ImportError as exc:  # psycopg is an optional extra
        raise ValueError(f"store {url!r} needs psycopg: pip install 'lalert[postgis]' ({exc})") \
            from None
    from lalert.store import JournalWriter
    from lalert.store.pggis import PlaceQueries

    pg.ensure_schema(url)  # a wrong URL or a server that is down fails here, at start
    return Store(
        name="postgis", url=url,
        writer=lambda: JournalWriter(url, factory=pg.PgJournal),
        reader=lambda: pg.PgJournal(url, readonly=True),
        journal=lambda: pg.PgJournal(url),
        state=lambda: pg.PgState(url),
        outbox=lambda st: pg.PgOutbox(st.conn),
        leader=lambda name: pg.LeaderLock(url, name),
        shared=True, places=PlaceQueries(url))


BUILTIN: dict[str, Callable[[str, Path], Store]] = {
    "sqlite": sqlite_store,
    "postgresql": postgis_store,
    "postgres": postgis_store,
    "postgis": postgis_store,
}


def scheme(url: str) -> str:
    return (url or "sqlite").split(":", 1)[0].lower()


def available() -> dict[str, Callable[[str, Path], Store]]:
    found = dict(BUILTIN)
    for ep in entry_points(group="lalert.stores"):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a broken plug-in must not stop the daemon
            log.warning("store %s (%s) cannot be loaded: %s", ep.name, ep.value, exc)
    return found


def open_store(url: str, home: Path) -> Store:
    """The store named by ``url`` (``sqlite``, ``sqlite:///DIR``, ``postgresql://…``)."""
    avail = available()
    factory = avail.get(scheme(url))
    if factory is None:
        raise ValueError(f"store {url!r}: unknown scheme; available: {sorted(avail)}")
    return factory(url or "sqlite", Path(home))

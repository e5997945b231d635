"""Subscriptions on disk (``<home>/subscriptions.sqlite``) and their cached index.

The SQLite ``lalert.storage.Subscriptions``. One store per home per process
(``SubscriptionStore.for_home``) so the webhook, Web Push and route code share one index;
the index is rebuilt lazily after a write. With the PostgreSQL store the daemon hands its
outputs ``lalert.store.pggeo.PgSubscriptionStore`` instead, which matches in PostGIS
(``lalert.store.backends`` chooses by store URL).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterable
from pathlib import Path

from lalert.model import EnrichedAlert
from lalert.store.sqlite import PerFile, open_durable
from lalert.subscriptions.index import SubscriptionIndex, match
from lalert.subscriptions.model import Subscription, from_record, to_record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subscriptions (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    record TEXT NOT NULL,
    key_hash TEXT,
    owner TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS subscriptions_channel ON subscriptions(channel);
"""

def hash_key(key: str) -> str:
    """Unsubscribe keys are stored hashed: a leaked db does not let anyone unsubscribe."""
    return hashlib.sha256(key.encode()).hexdigest()


class SubscriptionStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_durable(path, _SCHEMA)
        self._lock = threading.RLock()
        self._version = 0
        self._indexes: dict[str | None, tuple[int, SubscriptionIndex]] = {}
        self._cache: dict[str, Subscription] | None = None
        self._unreadable: dict[str, str] = {}
        self._channels: tuple[int, set[str]] | None = None  # (version, channels with subs)

    @classmethod
    def for_home(cls, home: Path) -> SubscriptionStore:
        """The home's ``subscriptions.sqlite``, one store (and index) per file and process."""
        return _STORES.get(Path(home) / "subscriptions.sqlite")

    # --- writes ------------------------------------------------------------------

    def add(self, sub: Subscription, *, unsubscribe_key: str | None = None, owner: str = "") -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO subscriptions(id, channel, record, key_hash, owner, created_at)"
                " VALUES (?,?,?,?,?,?)",
                (
                    sub.id,
                    sub.channel,
                    json.dumps(to_record(sub), ensure_ascii=False),
                    hash_key(unsubscribe_key) if unsubscribe_key else None,
                    owner,
                    sub.created_at,
                ),
            )
            self._changed(add=[sub])

    def add_many(self, subs: list[Subscription]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT INTO subscriptions(id, channel, record, key_hash, owner, created_at)"
                " VALUES (?,?,?,?,?,?)",
                [
                    (s.id, s.channel, json.dumps(to_record(s)), None, "", s.created_at)
                    for s in subs
                ],
            )
            self._db.execute("COMMIT")
            self._changed(add=subs)

    def delete(self, sub_id: str) -> bool:
        with self._lock:
            cur = self._db.execute("DELETE FROM subscriptions WHERE id=?", (sub_id,))
            self._changed(drop=sub_id)
            return cur.rowcount > 0

    def _changed(self, add: Iterable[Subscription] = (), drop: str = "") -> None:
        """A write: the next ``index`` rebuilds. The cached records are updated in place
        of a reload (copy-on-write: an index being built in a thread keeps its snapshot),
        so a sign-up never costs a re-read of every record."""
        self._version += 1
        if self._cache is not None:
            cache = dict(self._cache)
            cache.update((x.id, x) for x in add)
            cache.pop(drop, None)
            self._cache = cache

    # --- reads -------------------------------------------------------------------

    def check_key(self, sub_id: str, key: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT key_hash FROM subscriptions WHERE id=?", (sub_id,)
            ).fetchone()
        return bool(row and row[0] and hmac.compare_digest(row[0], hash_key(key)))

    def _all(self) -> dict[str, Subscription]:
        with self._lock:
            if self._cache is None:
                rows = self._db.execute("SELECT id, record FROM subscriptions ORDER BY rowid")
                cache: dict[str, Subscription] = {}
                self._unreadable = {}
                for sub_id, rec in rows:
                    try:
                        cache[sub_id] = from_record(json.loads(rec))
                    except Exception as exc:  # one unreadable row never hides the others
                        self._unreadable[sub_id] = f"unreadable record: {exc}"[:300]
                self._cache = cache
            return self._cache

    def broken(self, channel: str | None = None) -> dict[str, str]:
        """Subscriptions that cannot be matched (unreadable, or refused by the index),
        with the reason: the outputs report them as alarms instead of failing a change.
        What the last load and index build found: ``/healthz`` asks, and must stay cheap."""
        with self._lock:
            cached = self._indexes.get(channel)
            return {**self._unreadable, **(cached[1].broken if cached else {})}

    def get(self, sub_id: str) -> Subscription | None:
        return self._all().get(sub_id)

    def owner(self, sub_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT owner FROM subscriptions WHERE id=?", (sub_id,)).fetchone()
        return row[0] if row else None

    def has_any(self, channel: str) -> bool:
        """Whether ``channel`` has a subscription (readable or not): asked once per change
        by the push outputs, so answered from a set kept per write version."""
        with self._lock:
            if self._channels is None or self._channels[0] != self._version:
                rows = self._db.execute("SELECT DISTINCT channel FROM subscriptions")
                self._channels = (self._version, {r[0] for r in rows})
            return channel in self._channels[1]

    def list(self, channel: str | None = None) -> list[Subscription]:
        return [s for s in self._all().values() if channel is None or s.channel == channel]

    def index(self, channel: str | None = None) -> SubscriptionIndex:
        """The spatial index of one channel's subscriptions, rebuilt after writes.

        Built outside the lock (from a snapshot), so sign-ups and deliveries never wait
        for a rebuild; outputs call this in a thread (``asyncio.to_thread``), so a large
        rebuild never stalls the event loop either."""
        with self._lock:
            cached = self._indexes.get(channel)
            if cached and cached[0] == self._version:
                return cached[1]
            version, subs = self._version, self.list(channel)
        idx = SubscriptionIndex.build(subs)
        with self._lock:
            if version >= self._indexes.get(channel, (-1, None))[0]:
                self._indexes[channel] = (version, idx)
        return idx

    def prepare(self, channel: str | None = None) -> None:
        """Build the channel's index now (at output start), so the first alert waits less."""
        self.index(channel)

    def match(self, enriched: EnrichedAlert, channel: str | None = None) -> list[str]:
        """Ids of the subscriptions of ``channel`` this alert reaches (in-memory index)."""
        return match(enriched, self.index(channel), channel=channel)

    def close(self) -> None:
        _STORES.forget(self.path)
        self._db.close()


_STORES: PerFile[SubscriptionStore] = PerFile(SubscriptionStore)  # SubscriptionStore.for_home

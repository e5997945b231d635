"""The storage the daemon hands its outputs (``lalert.storage.OutputStores``), by store URL.

The one place that decides where push deliveries and subscriptions live: files in the
home (``push.sqlite``, ``subscriptions.sqlite``) for the SQLite store, or tables in the
shared PostgreSQL database when that is the store, so several workers see the same rows.
One ``Backends`` per app; outputs reach it through ``OutputContext.stores`` and never
choose a backend themselves (no process-global switch: two apps in one process, as in
tests, each keep their own).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from lalert.storage import PushDeliveries, Subscriptions
from lalert.store.push import PushStore
from lalert.store.registry import scheme
from lalert.subscriptions.store import SubscriptionStore

SHARED_SCHEMES = ("postgresql", "postgres", "postgis")


class Backends:
    """Push deliveries and subscriptions for one daemon, each opened on first use."""

    def __init__(self, url: str, home: Path, *, lease_s: float = 30.0,
                 poll_s: float = 0.5) -> None:
        self.url = url
        self.home = Path(home)
        self.shared = scheme(url) in SHARED_SCHEMES if url else False
        self.lease_s = lease_s
        self.poll_s = poll_s
        self._lock = threading.Lock()
        self._opened: dict[str, Any] = {}

    @classmethod
    def from_config(cls, config: Any) -> Backends:
        """From a ``Config``: its store URL, home and ``[push] lease_s`` / ``poll_s``."""
        push = config.section("push")
        return cls(config.store, config.home, lease_s=float(push.get("lease_s", 30)),
                   poll_s=float(push.get("poll_s", 0.5)))

    def push(self) -> PushDeliveries:
        with self._lock:
            if not self.shared:
                return PushStore.for_home(self.home)
            if "push" not in self._opened:
                from lalert.store.pgpush import PgPushStore  # psycopg only when used

                self._opened["push"] = PgPushStore(self.url, lease_s=self.lease_s,
                                                   poll_s=self.poll_s)
            return self._opened["push"]

    def existing_push(self) -> PushDeliveries | None:
        """The push store if there is one to read (the desk never creates ``push.sqlite``)."""
        return self.push() if self.shared else PushStore.existing(self.home)

    def existing_subscriptions(self) -> Subscriptions | None:
        """The subscriptions if there are any to read (never creates the SQLite file)."""
        if not self.shared and not (self.home / "subscriptions.sqlite").exists():
            return None
        return self.subscriptions()

    def subscriptions(self) -> Subscriptions:
        with self._lock:
            if not self.shared:
                return SubscriptionStore.for_home(self.home)
            if "subscriptions" not in self._opened:
                from lalert.store.pggeo import PgSubscriptionStore

                self._opened["subscriptions"] = PgSubscriptionStore(self.url)
            return self._opened["subscriptions"]

    def close(self) -> None:
        """Close the database stores this object opened (after the outputs stopped); the
        SQLite files stay open for the process, shared per path."""
        with self._lock:
            opened, self._opened = self._opened, {}
        for store in opened.values():
            store.close()

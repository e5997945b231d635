"""What outputs need from storage, as typed Protocols the store backends implement.

Push outputs (webhook, Web Push, MQTT, SSE) keep deliveries and subscriptions; where they
are kept (SQLite files in the home, or the shared PostgreSQL database) is the daemon's
choice, not theirs. So the outputs see only these interfaces, handed to them through
``OutputContext.stores`` (``OutputStores``), and the backends in ``lalert.store`` implement
them without knowing any channel: nothing here imports an output, and nothing in the store
renders a push body (the outputs hand it over ready, as a ``LoggedChange``).

Backends: ``lalert.store.push.PushStore`` (SQLite) and ``lalert.store.pgpush.PgPushStore``
for ``PushDeliveries``; ``lalert.subscriptions.store.SubscriptionStore`` (SQLite, in-memory
spatial index) and ``lalert.store.pggeo.PgSubscriptionStore`` (matched in PostGIS) for
``Subscriptions``; ``lalert.store.backends.Backends`` opens them by store URL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from lalert.model import EnrichedAlert
    from lalert.subscriptions.model import Subscription

OPEN_STATES = ("pending", "retrying")
"""Delivery states a dispatcher still has to act on; then ``sent`` or ``dead``."""


@dataclass
class Job:
    """One delivery to send: a change (``seq``) to one subscription of one channel."""

    id: str
    channel: str
    seq: int
    sub_id: str
    attempts: int = 0
    next_at: float = 0.0


@dataclass
class Outcome:
    """What one attempt came to."""

    ok: bool
    status: int | None = None
    error: str = ""
    final: bool = False  # no point retrying (subscription gone, 404/410 from a push service)


@dataclass(frozen=True)
class LoggedChange:
    """A change as the push store keeps it: its ``seq``, the alert it concerns
    (``alert_key``: who heard of an earlier version must hear of this one) and the JSON
    body every channel sends (built by the outputs, stored verbatim)."""

    seq: int
    alert_key: str
    body: str


def delivery_id(channel: str, seq: int, sub_id: str) -> str:
    """Stable across retries and restarts: the receiver's dedupe key (webhook-id)."""
    h = hashlib.blake2b(f"{channel}:{seq}:{sub_id}".encode(), digest_size=16).hexdigest()
    return f"msg_{h}"


class PushDeliveries(Protocol):
    """The push outbox: change bodies, one row per (change, subscription), attempts.

    ``shared`` stores (PostgreSQL) are used by several workers at once: ``fan_out`` then
    holds only ``take`` rows for the caller and the dispatcher ``claim``s the rest as it
    has room; single-process stores hand out every row and need no claims.
    """

    shared: bool

    # the change log (also the SSE resume log)
    def log_changes(self, changes: list[LoggedChange]) -> None: ...
    def change_json(self, seq: int) -> str | None: ...
    def changes_since(self, seq: int, limit: int = 10_000) -> list[tuple[int, str]]: ...
    def last_seq(self) -> int: ...

    # fan-out and sending
    def fanned_out(self, channel: str, seq: int) -> bool: ...
    def previous_recipients(self, channel: str, key: str) -> set[str]:
        """Who got an earlier version of the alert ``key``: they must hear of its update."""
    def fan_out(self, channel: str, change: LoggedChange, sub_ids: Iterable[str], *,
                take: int | None = None) -> list[Job]:
        """One transaction: the body, a pending row per subscription, the fan-out marker;
        nothing (``[]``) when this change was fanned out on this channel before."""
    def unfinished(self, channel: str) -> list[Job]: ...
    def record(self, results: list[tuple[Job, str, Outcome, float, float]]) -> None:
        """Group commit of attempt results: (job, new state, outcome, at, ms)."""
    def requeue(self, delivery: str) -> Job | None:
        """A dead delivery back to pending (the desk's "retry now"), else None."""

    # reading (the desk, the delivery log API)
    def seq_states(self, seqs: Iterable[int]) -> dict[int, dict[str, dict[str, int]]]: ...
    def states(self, channel: str | None = None) -> dict[str, int]: ...
    def deliveries(self, *, channel: str | None = None, state: str | None = None,
                   limit: int = 100) -> list[dict[str, Any]]: ...
    def delivery(self, delivery: str) -> dict[str, Any] | None: ...
    def attempts(self, delivery: str) -> list[dict[str, Any]]: ...
    def change_titles(self, seqs: Iterable[int]) -> dict[int, str]: ...

    # MQTT's retained topics per alert
    def mqtt_topics(self, key: str) -> set[str]: ...
    def set_mqtt_topics(self, key: str, topics: Iterable[str]) -> None: ...

    def close(self) -> None: ...


class Subscriptions(Protocol):
    """Who wants to hear about which place, and which of them an alert reaches.

    Kept small on purpose: a backend is free in *how* it matches (an in-memory spatial
    index, or PostGIS in the database) as long as ``match`` answers the ids of one
    channel's subscriptions that the alert's active areas reach. A backend may also offer
    ``broken(channel) -> {id: reason}`` (subscriptions it cannot match; reported as alarms)
    and ``prepare(channel)`` (build an index at output start, so the first alert waits less).
    """

    def add(self, sub: Subscription, *, unsubscribe_key: str | None = None,
            owner: str = "") -> None: ...
    def add_many(self, subs: list[Subscription]) -> None: ...
    def delete(self, sub_id: str) -> bool: ...
    def check_key(self, sub_id: str, key: str) -> bool:
        """Whether ``key`` is the subscription's unsubscribe key (stored hashed)."""
    def get(self, sub_id: str) -> Subscription | None: ...
    def owner(self, sub_id: str) -> str | None: ...
    def list(self, channel: str | None = None) -> list[Subscription]: ...
    def match(self, enriched: EnrichedAlert, channel: str | None = None) -> list[str]: ...
    def close(self) -> None: ...


class OutputStores(Protocol):
    """The storage the daemon offers its outputs (``OutputContext.stores``), each opened on
    first use and shared by every output of the process."""

    def push(self) -> PushDeliveries: ...
    def subscriptions(self) -> Subscriptions: ...

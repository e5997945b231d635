"""How parsed and enriched alerts are cached in the stores (SQLite, PostgreSQL).

A cache, not a record: the journal's raw bytes are the record and ``lalert replay``
rebuilds everything from them. Entries are ``lalert.codec``'s packed form (MessagePack
behind a schema-version header); nothing stored is ever loaded as Python objects or run.

Reading an entry gives the alerts, or None and the caller re-parses / re-enriches from
the record. Two kinds of None:

- *stale*: written by an older lalert (the Python-object caches before 1.1): rebuilt
  quietly — never loaded, since whoever can write a row could otherwise run code in
  every worker. JSON written by older versions is still read (it cannot run anything).
- *refused*: foreign bytes, damage, or a schema version this lalert does not read (a
  newer lalert wrote it). The row is kept as it is, and ``on_refused(reason)`` hears of
  it, so the daemon names it in ``/healthz`` and counts it in ``/metrics`` (``Refused``).
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

import msgspec

from lalert.codec import LEGACY, MAX_REASON, Undecodable, pack, unpack_alerts, unpack_enriched
from lalert.model import Alert, EnrichedAlert

log = logging.getLogger(__name__)

MAX_REFUSED_KEPT = 100  # the latest refused entries named in /healthz; the count is total

OnRefused = Callable[[str], None]


def encode(obj: EnrichedAlert | list[Alert] | tuple[Alert, ...]) -> bytes:
    """The cache entry of a list of alerts or of one enriched alert."""
    return pack(obj)


def decode_alerts(stored: Any, on_refused: OnRefused | None = None) -> list[Alert] | None:
    """The alerts of a cache entry; None when there is none or it must be rebuilt."""
    if stored is None:
        return None
    if isinstance(stored, memoryview):
        stored = bytes(stored)
    if _legacy_json(stored):
        return _decode(stored, lambda s: [Alert.from_dict(d) for d in json.loads(s)], on_refused)
    return _decode(stored, unpack_alerts, on_refused)


def decode_enriched(stored: Any, on_refused: OnRefused | None = None) -> EnrichedAlert | None:
    """The enriched alert of a cache entry; None when it must be rebuilt."""
    if stored is None:
        return None
    if isinstance(stored, memoryview):
        stored = bytes(stored)
    if _legacy_json(stored):
        return _decode(stored, lambda s: EnrichedAlert.from_dict(json.loads(s)), on_refused)
    return _decode(stored, unpack_enriched, on_refused)


def _legacy_json(stored: Any) -> bool:
    return isinstance(stored, str) or (isinstance(stored, bytes) and stored[:1] in (b"[", b"{"))


def _decode(stored: Any, unpack: Callable[[Any], Any], on_refused: OnRefused | None) -> Any:
    if isinstance(stored, bytes) and stored.startswith(LEGACY):
        return None  # stale: an older lalert's Python-object cache, rebuilt from the record
    try:
        return unpack(stored)
    except Undecodable as exc:
        reason = exc.reason
    except (ValueError, TypeError, KeyError, AttributeError, msgspec.ValidationError) as exc:
        reason = f"not the JSON of a lalert alert: {exc}"[:MAX_REASON]  # legacy JSON path
    if on_refused is not None:
        on_refused(reason)
    else:
        log.warning("cache entry refused (%s); rebuilt from the record", reason)
    return None


class Refused:
    """Entries lalert keeps but cannot read (foreign bytes, another schema version): the
    latest named for ``/healthz``, all counted by place for ``/metrics``."""

    def __init__(self, keep: int = MAX_REFUSED_KEPT) -> None:
        self.latest: deque[dict[str, object]] = deque(maxlen=keep)
        self.total: Counter[str] = Counter()
        self._seen: set[tuple[str, str]] = set()

    def note(self, where: str, entry: str, reason: str) -> bool:
        """Record that ``entry`` (a stream entry id, a journal row) at ``where`` cannot be
        read; an entry seen again (a claim retry, a restart's rebuild) counts once. True
        when it is new."""
        if (where, entry) in self._seen:
            return False
        if len(self._seen) < 100_000:  # bound the memory a flood of foreign entries takes
            self._seen.add((where, entry))
        self.latest.append({"where": where, "entry": entry, "reason": reason[:300],
                            "at": time.time()})
        self.total[where] += 1
        log.error("ALARM: %s entry %s kept unread: %s", where, entry, reason)
        return True

    def entries(self) -> list[dict[str, object]]:
        return list(self.latest)

    def counts(self) -> dict[str, int]:
        return dict(self.total)

"""One object per distinct area, hazard and nearby site among the alerts held in memory.

Thousands of alerts in force name the same few thousand places: every 震度速報 lists the
same municipalities, every warning telegram the same 市町村等, each with the same polygon
and the same nearby shelters. Parsed and enriched separately, each alert would hold its
own ``Area`` / ``Hazard`` / ``NearbyShelter`` objects (and their strings), so memory grew
with alerts x areas. ``Interner`` hands back the first equal object it has seen, so what
is held grows with the number of *distinct* parts instead.

The same holds for what an alert *says*: JMA's fixed phrases (固定付加文, the
instruction and tsunami advice texts), headlines of parallel telegrams, the publisher and
report time of one batch, and each product's ``details``. Those strings and the
``details`` dict (held only by the alert: outputs read it through the codec) were the
largest part of an alert in force — about 60 % of the active set's memory in
``bench/ingest.py --distinct-events`` — and equal ones now share one object too. (That
bench copies 231 corpus messages 65 times each, so it shares more text than a real flood
of distinct events would; fixed phrases and publishers are shared either way.)

The model's records are frozen, so sharing them is safe; a ``details`` dict is shared
only with one whose MessagePack encoding is byte-identical, and nothing mutates an
alert's ``details`` after parsing. A geometry is shared only when it is the gazetteer's
object for the area's (scheme, code) — a shape a message carries itself stays its own.

The table forgets what only it still holds: when it reaches ``max_entries`` entries (or
its strings ``max_chars`` characters) it drops every entry nothing else refers to (the
alerts that named it left force) and its next limit becomes twice what is still alive.
So it holds about what the alerts in force share, never a long-running daemon's history.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import msgspec

from lalert.model import Alert, Area, EnrichedAlert

T = TypeVar("T")

# An alert's string fields that equal alerts' often repeat (``id``, ``raw_sha256`` and
# ``event_id`` never do: they name one message or event).
_TEXT_FIELDS = ("format", "info_type", "status", "kind", "title", "issued_at", "headline",
                "text", "instruction", "valid_until", "publisher", "type_code", "language",
                "severity")
_pack = msgspec.msgpack.Encoder().encode


class Interner:
    """Canonical instances of equal frozen model records (see the module docstring)."""

    def __init__(self, geometry_of: Callable[[str, str], Any] | None = None, *,
                 max_entries: int = 500_000, max_chars: int = 4_000_000) -> None:
        # (scheme, code) → the shared GeoJSON of that area, or None (see ``_area_key``)
        self._geometry_of = geometry_of or (lambda scheme, code: None)
        self._table: dict[Hashable, Any] = {}
        self.max_entries = max_entries
        self.max_chars = max_chars
        self._limit = max_entries  # entries, then chars, before the next sweep
        self._chars = 0
        self._char_limit = max_chars

    def __len__(self) -> int:
        return len(self._table)

    def _one(self, key: Hashable, obj: T) -> T:
        table = self._table
        hit = table.get(key)
        if hit is not None:
            return hit
        if len(table) >= self._limit:
            self._sweep()
        table[key] = obj
        return obj

    def text(self, s: str | None) -> str | None:
        """The shared copy of a string equal to ``s``."""
        if not s:
            return s
        hit = self._table.get(s)
        if hit is not None:
            return hit
        self._chars += len(s)
        if self._chars > self._char_limit:
            self._sweep()
        return self._one(s, s)

    def _sweep(self) -> None:
        """Drop the entries nothing but this table refers to, and set the next limits to
        twice what is left (amortised O(1) per entry).

        An object's references are counted by ``sys.getrefcount``; what the loop itself
        adds (its variables, the iterator's item tuple) is measured on two probes only
        the table holds — one stored under another key, one (a string) as its own key —
        so the rule does not depend on interpreter details."""
        table = self._table
        probe_key = ("lalert.compact", "probe", id(self))
        probe_str = f"lalert.compact probe {id(self)}"
        table[probe_key] = object()
        table[probe_str] = probe_str
        del probe_str
        counts: list[tuple[Hashable, bool, int]] = []
        base = {False: 0, True: 0}
        for key, obj in table.items():
            n = sys.getrefcount(obj)
            self_keyed = key is obj
            if key is probe_key or (self_keyed and key == f"lalert.compact probe {id(self)}"):
                base[self_keyed] = n
                continue
            own = sum(x is obj for x in key) if type(key) is tuple else 0
            counts.append((key, self_keyed, n - own))
        for key, self_keyed, n in counts:
            if n <= base[self_keyed]:
                del table[key]
        del table[probe_key], table[f"lalert.compact probe {id(self)}"]
        self._chars = sum(len(k) for k in table if type(k) is str)
        self._limit = max(self.max_entries, 2 * len(table))
        self._char_limit = max(self.max_chars, 2 * self._chars)

    def _area_key(self, a: Area) -> Hashable | None:
        geom = a.geometry
        if geom is not None:
            if a.code is None or geom is not self._geometry_of(a.scheme, a.code):
                return None  # the message's own shape: not shared
            geom = True  # the gazetteer's one object for (scheme, code)
        return (Area, a.code, a.scheme, a.name, geom, a.unresolved, a.status, a.status_label)

    def areas(self, areas: tuple[Area, ...]) -> tuple[Area, ...]:
        out = []
        changed = False
        for a in areas:
            key = self._area_key(a)
            b = a if key is None else self._one(key, a)
            changed |= b is not a
            out.append(b)
        return tuple(out) if changed else areas

    def records(self, items: tuple[T, ...]) -> tuple[T, ...]:
        """Shared copies of hashable frozen records (``Hazard``, ``NearbyShelter`` …)."""
        out = []
        changed = False
        for x in items:
            try:
                y = self._one((type(x), x), x)
            except TypeError:  # a field that is not hashable (a dict): kept as is
                y = x
            changed |= y is not x
            out.append(y)
        return tuple(out) if changed else items

    def tuple_of(self, items: tuple[T, ...]) -> tuple[T, ...]:
        """One tuple for equal sequences of shared objects (``areas`` …): the key is
        their identities, valid while the table's tuple keeps them alive."""
        if not items:
            return items
        return self._one((tuple, *map(id, items)), items)

    def details(self, d: dict[str, Any]) -> dict[str, Any]:
        """One dict for byte-identical ``details`` (its MessagePack encoding is the key)."""
        if not d:
            return d
        try:
            key = (dict, _pack(d))
        except (TypeError, ValueError, OverflowError):  # not encodable: kept as is
            return d
        return self._one(key, d)

    def alert(self, alert: Alert) -> Alert:
        """``alert`` with its areas, hazards, texts and details shared with equal ones
        seen before."""
        changes: dict[str, Any] = {
            "areas": self.tuple_of(self.areas(alert.areas)),
            "hazards": self.tuple_of(self.records(alert.hazards)),
            "details": self.details(alert.details),
        }
        for name in _TEXT_FIELDS:
            changes[name] = self.text(getattr(alert, name))
        changes = {k: v for k, v in changes.items() if v is not getattr(alert, k)}
        return dataclasses.replace(alert, **changes) if changes else alert

    def enriched(self, e: EnrichedAlert) -> EnrichedAlert:
        """``e`` with its alert, areas, nearby shelters and hotspots shared with equal
        ones seen before."""
        changes = {
            "alert": self.alert(e.alert),
            "areas": self.tuple_of(self.areas(e.areas)),
            "shelters": self.records(e.shelters),
            "hotspots": self.records(e.hotspots),
        }
        changes = {k: v for k, v in changes.items() if v is not getattr(e, k)}
        return dataclasses.replace(e, **changes) if changes else e

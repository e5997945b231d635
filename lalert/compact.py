"""One object per distinct area, hazard and nearby site among the alerts held in memory.

Thousands of alerts in force name the same few thousand places: every 震度速報 lists the
same municipalities, every warning telegram the same 市町村等, each with the same polygon
and the same nearby shelters. Parsed and enriched separately, each alert would hold its
own ``Area`` / ``Hazard`` / ``NearbyShelter`` objects (and their strings), so memory grew
with alerts x areas. ``Interner`` hands back the first equal object it has seen, so what
is held grows with the number of *distinct* parts instead.

The model's records are frozen, so sharing them is safe. A geometry is shared only when
it is the gazetteer's object for the area's (scheme, code) — a shape a message carries
itself stays its own — and the table is cleared when it reaches ``max_entries`` (objects
already shared stay shared; only later ones start a new table), so it never grows
without bound in a long-running daemon.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from lalert.model import Alert, Area, EnrichedAlert

T = TypeVar("T")


class Interner:
    """Canonical instances of equal frozen model records (see the module docstring)."""

    def __init__(self, geometry_of: Callable[[str, str], Any] | None = None, *,
                 max_entries: int = 500_000) -> None:
        # (scheme, code) → the shared GeoJSON of that area, or None (see ``_area_key``)
        self._geometry_of = geometry_of or (lambda scheme, code: None)
        self._table: dict[Hashable, Any] = {}
        self.max_entries = max_entries

    def __len__(self) -> int:
        return len(self._table)

    def _one(self, key: Hashable, obj: T) -> T:
        table = self._table
        hit = table.get(key)
        if hit is not None:
            return hit
        if len(table) >= self.max_entries:
            table.clear()
        table[key] = obj
        return obj

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

    def alert(self, alert: Alert) -> Alert:
        """``alert`` with its areas and hazards shared with equal ones seen before."""
        areas = self.areas(alert.areas)
        hazards = self.records(alert.hazards)
        if areas is alert.areas and hazards is alert.hazards:
            return alert
        return dataclasses.replace(alert, areas=areas, hazards=hazards)

    def enriched(self, e: EnrichedAlert) -> EnrichedAlert:
        """``e`` with its alert, areas, nearby shelters and hotspots shared with equal
        ones seen before."""
        changes = {
            "alert": self.alert(e.alert),
            "areas": self.areas(e.areas),
            "shelters": self.records(e.shelters),
            "hotspots": self.records(e.hotspots),
        }
        changes = {k: v for k, v in changes.items() if v is not getattr(e, k)}
        return dataclasses.replace(e, **changes) if changes else e

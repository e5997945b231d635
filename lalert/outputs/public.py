"""Pure helpers the public outputs share (map, tiles): what is in force where, shelter states.

Kept here rather than in one output so that outputs never import each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shapely.geometry import shape

from lalert.model import Area, EnrichedAlert


def shelter_states(alerts: Iterable[EnrichedAlert]) -> dict[str, str]:
    """Latest known open/closed state per shelter id from the alerts in force."""
    states: dict[str, str] = {}
    for ea in alerts:
        for s in ea.shelters:
            if s.state and s.state != "unknown":
                states[s.id] = s.state
        for s in ea.alert.shelters:
            if s.code and s.state:
                states[s.code] = s.state
    return states


def message_shelters(alerts: Iterable[EnrichedAlert], known_ids: set[str],
                     known_names: set[str]) -> list[dict[str, Any]]:
    """Shelters named (with a position) in 避難所情報 that the gazetteer does not list.

    A city opens schools that are not in the designated-site data; residents still need
    to find them, so they are shown with the state the message gives.
    """
    seen: dict[str, dict[str, Any]] = {}
    for ea in alerts:
        for s in ea.alert.shelters:
            if s.lat is None or s.lon is None:
                continue
            if (s.code and s.code in known_ids) or s.name in known_names:
                continue
            key = s.code or s.name
            seen[key] = {"id": f"msg:{key}", "name": s.name, "lat": s.lat, "lon": s.lon,
                         "state": s.state or "unknown", "kind": s.kind, "hazards": [],
                         "address": s.address, "capacity": s.capacity}
    return list(seen.values())


def shaped_areas(ea: EnrichedAlert) -> list[tuple[Any, Area | None]]:
    """(shapely geometry, area) per area under alert with a shape (never a 解除 / なし area
    or a telegram's scope: ``EnrichedAlert.active_areas``); the footprint when none has one."""
    out: list[tuple[Any, Area | None]] = []
    for ar in ea.active_areas():
        if not ar.geometry:
            continue
        try:
            out.append((shape(ar.geometry), ar))
        except (ValueError, TypeError, AttributeError, KeyError):
            continue
    if not out and ea.footprint:
        try:
            out.append((shape(ea.footprint), None))
        except (ValueError, TypeError, AttributeError, KeyError):
            pass
    return out


def by_level(alerts: Iterable[EnrichedAlert]) -> list[EnrichedAlert]:
    """Lowest level first, so that the most severe areas are drawn on top."""
    return sorted(alerts, key=lambda ea: ea.alert.level or 0)

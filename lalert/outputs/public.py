"""Pure helpers the public outputs share (map, tiles): what is in force where, shelter states.

Kept here rather than in one output so that outputs never import each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shapely.geometry import shape

from lalert.geo.reports import Current, ShelterBoard, status_of
from lalert.i18n import N_, gettext
from lalert.model import Area, EnrichedAlert, Grade, area_key, gravest, highest


def shelter_board(alerts: Iterable[EnrichedAlert]) -> ShelterBoard:
    """The latest 避難所情報 per facility among ``alerts`` (the one place states live)."""
    return ShelterBoard(alerts)


def site_statuses(alerts: Iterable[EnrichedAlert], board: ShelterBoard | None = None) -> dict[str, str]:
    """What residents are told per facility id (open | crowded | full | closed …): the
    board's latest report, else the state the view put on the alerts' nearby sites (the
    view overlays them from the same board, so the two never disagree)."""
    alerts = list(alerts)
    board = board if board is not None else ShelterBoard(alerts)
    out: dict[str, str] = {}
    for ea in alerts:
        for s in ea.shelters:
            if s.state and s.state != "unknown":
                out[s.id] = status_of(s.state, s.crowding)
    out.update(board.statuses())
    return out


# How a report's counts read (python-brace-format msgids of the one catalogue)
COUNT_OF = N_("{head}/{cap}人")
COUNT = N_("{head}人")
WITH_COUNTS = N_("{state}（{counts}）")


def count_text(c: Current, lang: str) -> str:
    """'312/420人' / '312 of 420 people' when the report gives them, else ''."""
    head, cap = c.report.head_count, c.report.capacity
    if head is None and cap is None:
        return ""
    if cap is None:
        return gettext(lang, COUNT).format(head=head)
    return gettext(lang, COUNT_OF).format(head=head if head is not None else "?", cap=cap)


def status_label(c: Current | None, lang: str) -> str:
    """The state a resident reads: 開設 / 開設・混雑 / 定員一杯 / 閉鎖 … with counts when given."""
    from lalert.outputs import phrases

    if c is None:
        return phrases.shelter_state("unknown", lang)
    word = phrases.shelter_state(c.status, lang)
    counts = count_text(c, lang) if c.state in ("open", "permanent") else ""
    return gettext(lang, WITH_COUNTS).format(state=word, counts=counts) if counts else word


def reported_records(board: ShelterBoard, lang: str) -> list[dict[str, Any]]:
    """Reported shelters that match no registry facility, with their own point when the
    message gives one (``lat`` / ``lon`` None otherwise): a city opens places that are not
    in the designated data, and residents still need to find them."""
    out = []
    for c in board.unmatched():
        s = c.report
        out.append({"id": c.key, "name": s.name, "lat": s.lat, "lon": s.lon, "kind": s.kind,
                    "hazards": [], "address": s.address, "state": c.status,
                    "state_label": status_label(c, lang), "open": c.open,
                    "capacity": s.capacity, "head_count": s.head_count, "registry": None})
    return out


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


def unplaced_areas(ea: EnrichedAlert) -> list[Area]:
    """The places of an alert that the map cannot draw at all: no footprint, and none of
    its places under alert has a shape (a tsunami warning's forecast regions before their
    polygons are imported). A point lookup cannot tell whether such an alert covers the
    point, so it must name them rather than answer "nothing here". An alert with some
    places drawn (浅間山's towns beside the volcano's own code) is judged by those."""
    active = ea.active_areas()
    if ea.footprint or any(ar.geometry for ar in active):
        return []
    return list(active)


def place_grades(ea: EnrichedAlert, areas: Iterable[Area]) -> dict[str, Grade]:
    """The gravest warning class in force at each place name among ``areas``
    (``Alert.area_grades``), like ``place_levels``: what a town under 大雪特別警報 or
    暴風警報 — warnings without 警戒レベル — is told."""
    grades = ea.alert.area_grades()
    by_name: dict[str, list[Grade | None]] = {}
    for ar in areas:
        name = ar.name or ar.code
        if name:
            by_name.setdefault(name, []).append(grades.get(area_key(ar)))
    return {name: g for name, gs in by_name.items() if (g := gravest(gs)) is not None}


def by_level(alerts: Iterable[EnrichedAlert]) -> list[EnrichedAlert]:
    """Lowest level first, so that the most severe areas are drawn on top."""
    return sorted(alerts, key=lambda ea: ea.alert.level or 0)


def place_levels(ea: EnrichedAlert, areas: Iterable[Area]) -> dict[str, int | None]:
    """The level in force at each place name among ``areas`` (``EnrichedAlert.area_levels``):
    one place under several code schemes is one name, at the highest of its levels."""
    levels = ea.area_levels()
    by_name: dict[str, list[int | None]] = {}
    for ar in areas:
        name = ar.name or ar.code
        if name:
            by_name.setdefault(name, []).append(levels.get(area_key(ar), ea.alert.level))
    return {name: highest(lvs) for name, lvs in by_name.items()}

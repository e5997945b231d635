"""One current state per facility: the latest 避難所情報 for it, read at render time (pure).

Every output (signage, map, /text, /here, ``lalert where``, the read API through
``lalert.bus.view``) asks a ``ShelterBoard`` built from the alerts in force, never a copy
taken when an alert was enriched — so none shows a state older than the latest report.
Reports were joined to registry facilities at enrichment (``Shelter.registry``); a
report that matched none keeps its own key (municipality + normalised name) and its own
point, and is still listed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

from lalert.geo.match import muni_key
from lalert.geo.names import name_keys
from lalert.model import EnrichedAlert, NearbyShelter, Shelter

OPEN_STATES = frozenset({"open", "permanent"})
CLOSED_STATES = frozenset({"closed", "unopened"})
# never offered to residents as somewhere to go (a site with no report still is)
UNAVAILABLE = CLOSED_STATES | {"full"}


def _ts(value: str | None) -> float:
    from lalert.lifecycle import timestamp  # pure; imported late to keep geo's imports light

    return timestamp(value)


def status_of(state: str | None, crowding: str | None) -> str:
    """open | crowded | full | permanent | closed | unopened | unknown."""
    if state in OPEN_STATES and crowding in ("full", "crowded"):
        return crowding
    return state or "unknown"


def is_open(status: str) -> bool:
    """Offered as open (a ``status_of`` value): open, permanent or crowded — never full,
    closed or unknown."""
    return status in OPEN_STATES or status == "crowded"


@dataclass(frozen=True)
class Current:
    """The latest report for one facility (or one unmatched reported shelter)."""

    key: str
    facility_id: str | None
    report: Shelter
    issued_at: str
    publisher: str | None = None

    @property
    def state(self) -> str:
        return self.report.state or "unknown"

    @property
    def crowding(self) -> str | None:
        return self.report.crowding

    @property
    def full(self) -> bool:
        return self.crowding == "full"

    @property
    def open(self) -> bool:
        """Open *and* taking people in: a full shelter is never offered as open."""
        return self.state in OPEN_STATES and not self.full

    @property
    def status(self) -> str:
        """What a resident is told: open | crowded | full | permanent | closed | unopened | unknown."""
        return status_of(self.state, self.crowding)


def report_key(shelter: Shelter, muni: str | None = None) -> str:
    """The facility id a report was matched to, else its own code, else
    ``report:<municipality>:<name>``."""
    reg = shelter.registry
    if reg and reg.get("id"):
        return str(reg["id"])
    if shelter.code:
        return str(shelter.code)
    keys = name_keys(shelter.name)
    return f"report:{muni_key(shelter.area_code or muni)}:{keys[0] if keys else shelter.name}"


class ShelterBoard:
    """The latest report per facility among ``alerts`` (drills never change real states)."""

    def __init__(self, alerts: Iterable[EnrichedAlert], *, drills: bool = False) -> None:
        best: dict[str, tuple[tuple[float, float, int], Current]] = {}
        n = 0
        for ea in alerts:
            a = ea.alert
            if not a.shelters or (not drills and not a.is_real):
                continue
            when = _ts(a.issued_at)
            muni = next((ar.code for ar in a.areas if ar.code), None)
            for s in a.shelters:
                n += 1
                key = report_key(s, muni)
                rank = (when, _ts(s.checked_at or s.changed_at), n)
                old = best.get(key)
                if old is None or rank >= old[0]:
                    fid = str(s.registry["id"]) if s.registry and s.registry.get("id") else None
                    best[key] = (rank, Current(key, fid, s, a.issued_at, a.publisher))
        self._by_key = {k: v for k, (_, v) in best.items()}
        # what overlays depend on: equal fingerprints give equal overlays
        self.fingerprint = tuple(sorted(
            (k, c.state, c.crowding, c.report.head_count, c.report.capacity)
            for k, c in self._by_key.items()))

    def __len__(self) -> int:
        return len(self._by_key)

    def __bool__(self) -> bool:
        return bool(self._by_key)

    def get(self, facility_id: str) -> Current | None:
        return self._by_key.get(facility_id)

    def state(self, facility_id: str) -> str:
        c = self._by_key.get(facility_id)
        return c.state if c else "unknown"

    def items(self) -> list[Current]:
        return list(self._by_key.values())

    def unmatched(self) -> list[Current]:
        """Reported shelters that match no registry facility (listed all the same)."""
        return [c for c in self._by_key.values() if c.facility_id is None]

    def states(self) -> dict[str, str]:
        """Facility id → reported state (open | closed | unopened | permanent | unknown)."""
        return {k: c.state for k, c in self._by_key.items()}

    def statuses(self) -> dict[str, str]:
        """Facility id → what residents are told (``Current.status``: crowded / full too)."""
        return {k: c.status for k, c in self._by_key.items()}

    def overlay(self, ea: EnrichedAlert) -> EnrichedAlert:
        """``ea`` with each nearby facility's state, crowding and counts as reported last."""
        if not ea.shelters:
            return ea
        by_key = self._by_key
        if not by_key and all(s.state == "unknown" for s in ea.shelters):
            return ea  # nothing reported and nothing to clear: the common case, fast
        out: list[NearbyShelter] = []
        changed = False
        for s in ea.shelters:
            c = by_key.get(s.id)
            if c is None:
                if s.state != "unknown" or s.crowding is not None or s.head_count is not None:
                    s = dataclasses.replace(s, state="unknown", crowding=None, head_count=None)
                    changed = True
                out.append(s)
                continue
            cap = c.report.capacity if c.report.capacity is not None else s.capacity
            new = (c.state, c.crowding, c.report.head_count, cap)
            if (s.state, s.crowding, s.head_count, s.capacity) != new:
                s = dataclasses.replace(s, state=new[0], crowding=new[1], head_count=new[2], capacity=cap)
                changed = True
            out.append(s)
        return dataclasses.replace(ea, shelters=tuple(out)) if changed else ea

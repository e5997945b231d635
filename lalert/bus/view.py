"""The active set as outputs and the read API see it (``lalert.outputs.base.StateView``)."""

from __future__ import annotations

import dataclasses

from lalert.compact import Interner
from lalert.geo.reports import ShelterBoard
from lalert.lifecycle import timestamp
from lalert.model import EnrichedAlert
from lalert.vocab import SEVERITY_ORDER


def severity_sort_key(e: EnrichedAlert) -> tuple:
    a = e.alert
    return (-(a.level or 0), -SEVERITY_ORDER.get(a.severity, 0), -timestamp(a.issued_at), a.id)


class ActiveView:
    """Active enriched alerts by event key; ``version`` grows once per committed batch.

    What it hands out carries each facility's *current* shelter state (the latest
    避難所情報 in force, ``lalert.geo.reports``), not the copy taken at enrichment.
    """

    def __init__(self) -> None:
        self.version = 0
        self._by_key: dict[str, tuple[EnrichedAlert, bool, int]] = {}
        self._key_by_id: dict[str, str] = {}
        self._sorted: dict[bool, tuple[int, list[EnrichedAlert]]] = {}
        self._board: tuple[int, ShelterBoard] | None = None
        # alert id → (alert as stored, board fingerprint, alert with current states): an
        # alert is re-overlaid only when it or some facility's reported state changed
        self._overlaid: dict[str, tuple[EnrichedAlert, tuple, EnrichedAlert]] = {}
        # overlaid nearby sites shared among alerts, for one board fingerprint
        self._shared = Interner()
        self._shared_for: tuple | None = None

    # --- StateView ------------------------------------------------------------------

    def active(self, *, drills: bool = False) -> list[EnrichedAlert]:
        cached = self._sorted.get(drills)
        if cached and cached[0] == self.version:
            return list(cached[1])
        items = sorted((self._current(e) for e, d, _ in self._by_key.values() if d == drills),
                       key=severity_sort_key)
        self._sorted[drills] = (self.version, items)
        return list(items)

    def board(self) -> ShelterBoard:
        """The latest report per facility among the real alerts in force (once per version)."""
        if self._board is None or self._board[0] != self.version:
            self._board = (self.version, ShelterBoard(e for e, d, _ in self._by_key.values() if not d))
        return self._board[1]

    def _current(self, e: EnrichedAlert) -> EnrichedAlert:
        board = self.board()
        hit = self._overlaid.get(e.id)
        if hit is not None and hit[0] is e and hit[1] == board.fingerprint:
            return hit[2]
        out = board.overlay(e)
        if out is not e:
            # the same facility near many alerts gets one overlaid copy, not one per alert
            if self._shared_for != board.fingerprint:
                self._shared, self._shared_for = Interner(), board.fingerprint
            out = dataclasses.replace(out, shelters=self._shared.records(out.shelters))
        if len(self._overlaid) > 4 * len(self._by_key) + 64:
            live = {x.id for x, _, _ in self._by_key.values()}
            self._overlaid = {k: v for k, v in self._overlaid.items() if k in live}
        self._overlaid[e.id] = (e, board.fingerprint, out)
        return out

    def get(self, alert_id: str) -> EnrichedAlert | None:
        key = self._key_by_id.get(alert_id)
        return self._current(self._by_key[key][0]) if key else None

    # --- daemon side ----------------------------------------------------------------

    def is_drill(self, alert_id: str) -> bool:
        key = self._key_by_id.get(alert_id)
        return bool(key and self._by_key[key][1])

    def seq_of(self, alert_id: str) -> int | None:
        key = self._key_by_id.get(alert_id)
        return self._by_key[key][2] if key else None

    def current(self, key: str) -> tuple[EnrichedAlert, bool, int] | None:
        return self._by_key.get(key)

    def put(self, key: str, enriched: EnrichedAlert, drill: bool, seq: int) -> None:
        old = self._by_key.get(key)
        if old is not None:
            self._key_by_id.pop(old[0].id, None)
        self._by_key[key] = (enriched, drill, seq)
        self._key_by_id[enriched.id] = key

    def remove(self, key: str) -> tuple[EnrichedAlert, bool, int] | None:
        old = self._by_key.pop(key, None)
        if old is not None:
            self._key_by_id.pop(old[0].id, None)
        return old

    def bump(self) -> None:
        self.version += 1

    def __len__(self) -> int:
        return len(self._by_key)

    def counts(self) -> dict[str, int]:
        drills = sum(1 for _, d, _ in self._by_key.values() if d)
        return {"real": len(self._by_key) - drills, "drills": drills}

"""The active-alert state machine. Pure: no I/O, no clock (``now`` is always passed in).

Rules, per *event* (see ``event_key``):

* Every message of an event gets a **rank** ``(serial, issued_at, info_rank, id)``; the
  message with the highest rank the event has ever seen is what is in force. Because
  rank is a total order over distinct messages, any arrival order of the same set of
  messages ends in the same state: out-of-order or repeated serials never regress it.
  ``info_rank`` puts a correction (訂正 / CAP Update with the same serial) above the
  issue it corrects and a cancel (取消 / Cancel) above both; a JMA correction keeps the
  ReportDateTime of the report it corrects, so this tie-break is what makes it win.
* The top message decides the event's state: a cancel withdraws the event; an
  "all clear" (every hazard lifted / none, every evacuation lifted) withdraws it too
  (reason ``lifted``); anything else is in force, until its ``valid_until`` has passed.
* A message id seen before is a duplicate and changes nothing.
* Exercise / test / system / draft messages live in a separate set (``drill=True``):
  they never displace, cancel or appear among real alerts.
* Expiry: an alert ends at ``min(valid_until, issued_at + lifetime)`` (``ends_at``), the
  lifetime coming from ``lalert.vocab.lifetimes`` for information JMA never cancels
  (EEW, earthquake reports, 記録的短時間大雨情報 …). ``expire(now)`` withdraws alerts whose
  end is <= now; a message whose end passed before it arrived is ``expired`` at once and
  never in force. ``apply`` runs the same expiry first with the message's own ``now``,
  so replaying a journal with each message's receive time rebuilds exactly the state a
  live daemon had.

Event keys. ``Alert.key`` is ``(format, event_id or id)``. Three refinements:

* JMA numbers each *product* separately: 緊急地震速報（警報） VXSE43, （予報） VXSE44 and
  震源速報 VXSE52 / 震源・震度情報 VXSE53 share one EventID but have their own serials and
  their own 取消. JMA events are therefore keyed ``(format, type_code, event_id)``.
* JMA weather warnings (気象警報・注意報, VPWW5x) carry no EventID; each telegram from an
  office restates the whole prefecture and replaces the previous one. When ``event_id``
  is None such alerts are keyed by ``(format, type_code, publisher, title)`` so the newer
  telegram replaces the older one by issue time. The parallel formats of one warning
  telegram (VPWW50 / 53 / 54) share that key, ranked by report time, then 訂正 / 取消,
  then the later format (``PARALLEL_WARNING_FORMATS``): residents see one alert, and the
  one that can say 特別警報.
* CAP Update / Cancel name earlier messages in ``references`` (``sender,identifier,sent``);
  when a referenced identifier is known, the message joins that event.

The latest state of each shelter is not kept here: it is read from the 避難所情報 in
force when an output renders (``lalert.geo.reports``), the one place it lives.
"""

from __future__ import annotations

import dataclasses
import hashlib
import heapq
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from lalert.model import Alert
from lalert.vocab.lifetimes import LIFETIMES, lifetime_key

ChangeKind = Literal["new", "updated", "withdrawn"]
Key = tuple[str, ...]

DRILL_STATUSES = frozenset({"exercise", "test", "system", "draft"})
_INFO_RANK = {"cancel": 2, "correction": 1, "update": 0, "issue": 0, "delay": 0}
_NO_OP_TYPES = frozenset({"ack", "error"})  # CAP Ack / Error: acknowledgements, no state
_CLEAR_STATES = frozenset({"lifted", "none"})


def lifetime_of(alert: Alert, table: Mapping[str, float | None] = LIFETIMES) -> float | None:
    """Seconds the alert stays in force from its report time (None: until lifted)."""
    key = lifetime_key(format=alert.format, kind=alert.kind, type_code=alert.type_code,
                       title=alert.title, in_force_hazards=(h.kind for h in alert.hazards
                                                            if h.state not in _CLEAR_STATES))
    return table.get(key) if key is not None else None


def ends_at(alert: Alert, table: Mapping[str, float | None] = LIFETIMES) -> datetime | None:
    """When the alert stops being in force by itself: ``min(valid_until, issued_at +
    lifetime)``; None when only a later message can end it."""
    until = parse_time(alert.valid_until)
    life = lifetime_of(alert, table)
    issued = parse_time(alert.issued_at) if life is not None else None
    if issued is None:
        return until
    end = issued + timedelta(seconds=life)  # type: ignore[arg-type]
    if until is None:
        return end
    return until if _le(until, end) else end


@dataclass(frozen=True)
class Transition:
    """One change of the active set, before enrichment and numbering (``seq``)."""

    kind: ChangeKind
    reason: str  # issue | update | correction | cancel | withdrawn | lifted | expired | superseded
    alert: Alert
    key: Key
    drill: bool
    previous: Alert | None = None


@dataclass(frozen=True)
class Applied:
    """What ``apply`` did with one alert: its immediate outcome and the transitions."""

    outcome: str  # active | superseded | cancelled | lifted | expired | duplicate | ignored
    key: Key
    drill: bool
    transitions: tuple[Transition, ...] = ()


@dataclass
class _Event:
    top: Alert  # the highest-ranked message seen for this event
    rank: tuple
    ids: list[str] = field(default_factory=list)
    active: bool = False  # is ``top`` currently in force
    ended: str | None = None  # cancelled | lifted | expired when not active


def is_drill(alert: Alert) -> bool:
    return alert.status in DRILL_STATUSES


def parse_time(value: str | None) -> datetime | None:
    """ISO 8601 → aware datetime (naive input is left naive and compared as-is)."""
    if not value:
        return None
    v = value.strip()
    if v.endswith("Z"):
        v = v[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(v)
    except ValueError:
        return None


def timestamp(value: str | None) -> float:
    """ISO 8601 → POSIX seconds; -inf when absent or unreadable (sorts first)."""
    dt = parse_time(value)
    return float("-inf") if dt is None else _ts(dt)


# JMA publishes one prefecture's weather warnings in parallel telegram formats, from the
# same office with the same Head/Title and ReportDateTime: VPWW50 (気象警報・注意報, which
# cannot say 特別警報), VPWW53 (気象特別警報・警報・注意報) and VPWW54 (the H27 format).
# They are one event; at the same report time the later format, which says the most,
# is what is in force. Their serials are numbered per format, so they are not compared.
PARALLEL_WARNING_FORMATS = {"VPWW50": 0, "VPWW53": 1, "VPWW54": 2}
_PARALLEL = "VPWW50/53/54"


def _parallel_warning(alert: Alert) -> bool:
    return (alert.format == "jmaxml" and alert.event_id is None
            and alert.kind == "weather_warning" and alert.type_code in PARALLEL_WARNING_FORMATS)


def rank(alert: Alert) -> tuple:
    """Total order of the messages of one event (see module docstring)."""
    if _parallel_warning(alert):
        return (timestamp(alert.issued_at), _INFO_RANK.get(alert.info_type, 0),
                PARALLEL_WARNING_FORMATS[alert.type_code or ""], alert.id)
    serial = alert.serial if alert.serial is not None else -1
    return (serial, timestamp(alert.issued_at), _INFO_RANK.get(alert.info_type, 0), alert.id)


def all_clear(alert: Alert) -> bool:
    """True when the message says nothing is in force any more (解除 / なし everywhere):
    no area is ``active`` among those it gives a status (``Alert.cleared``), or every
    hazard / evacuation it carries is lifted."""
    if alert.shelters:
        return False
    if alert.cleared:
        return True
    if alert.hazards and all(h.state in _CLEAR_STATES for h in alert.hazards):
        return not any(e.action != "lifted" for e in alert.evacuations)
    if alert.evacuations and not alert.hazards:
        return all(e.action == "lifted" for e in alert.evacuations)
    return False


WITHDRAWN_BY = "withdrawn_by"  # details key of a desk withdrawal (``withdrawal``)


def withdrawal(alert: Alert, *, operator: str, at: str) -> Alert:
    """An operator's withdrawal of ``alert`` as a cancel of the same event.

    It keeps the event's identity (format, type, EventID, serial, report time, title,
    publisher), so ``event_key`` finds the event and ``rank`` puts it above the alert it
    withdraws; a later message of the event (a higher serial) is in force again. Its id
    is derived from the withdrawn alert's, so a second click is a duplicate."""
    wid = f"withdraw:{alert.id}"
    return dataclasses.replace(
        alert, id=wid, info_type="cancel", references=(alert.id,),
        raw_sha256=hashlib.sha256(wid.encode()).hexdigest(),
        details={WITHDRAWN_BY: operator, "withdrawn_at": at, "withdraws": alert.id},
    )


def is_stale(alert: Alert, now: datetime, stale_after: float | None,
             lifetimes: Mapping[str, float | None] = LIFETIMES) -> bool:
    """An alert with no end of its own (a warning JMA must lift) whose current version is
    older than ``stale_after`` seconds: the desk asks whether it still holds."""
    if stale_after is None or ends_at(alert, lifetimes) is not None:
        return False
    issued = parse_time(alert.issued_at)
    return issued is not None and _le(issued + timedelta(seconds=stale_after), now)


def _reference_ids(alert: Alert) -> list[str]:
    out: list[str] = []
    for ref in alert.references:
        out.append(ref)
        parts = ref.split(",")
        if len(parts) >= 2:
            out.append(parts[1].strip())
    return out


class Lifecycle:
    """The active set of real alerts and, apart from it, of drills."""

    def __init__(self, *, lifetimes: Mapping[str, float | None] | None = None) -> None:
        self.lifetimes: Mapping[str, float | None] = LIFETIMES if lifetimes is None else lifetimes
        self._events: dict[bool, dict[Key, _Event]] = {False: {}, True: {}}
        self._key_of_id: dict[str, tuple[bool, Key]] = {}
        # (valid_until, drill, key, alert id) of alerts put in force; stale entries are
        # skipped when popped, so expiry costs O(log n) per alert, not O(n) per call
        self._expiries: list[tuple[float, bool, Key, str]] = []

    # --- queries --------------------------------------------------------------------

    def event_key(self, alert: Alert) -> Key:
        """The event this message belongs to (module docstring, "Event keys")."""
        drill = is_drill(alert)
        for ref in _reference_ids(alert):
            known = self._key_of_id.get(ref)
            if known and known[0] == drill:
                return known[1]
        if alert.format == "jmaxml":
            product = alert.type_code or alert.kind
            if alert.event_id is None and alert.kind == "weather_warning":
                if _parallel_warning(alert):
                    product = _PARALLEL
                return (alert.format, product, alert.publisher or "", alert.title)
            if alert.event_id is not None:
                return (alert.format, product, alert.event_id)
        return alert.key

    def active(self, *, drills: bool = False) -> list[Alert]:
        return [e.top for e in self._events[drills].values() if e.active]

    def active_items(self, *, drills: bool = False) -> list[tuple[Key, Alert]]:
        return [(k, e.top) for k, e in self._events[drills].items() if e.active]

    def fate(self, alert_id: str) -> str | None:
        """Where a message stands now: active | superseded | cancelled | lifted | expired."""
        found = self._key_of_id.get(alert_id)
        if not found:
            return None
        ev = self._events[found[0]][found[1]]
        if ev.ended == "cancelled":
            return "cancelled"
        if ev.top.id != alert_id:
            return "superseded"
        if ev.active:
            return "active"
        return ev.ended or "superseded"

    def key_of(self, alert_id: str) -> Key | None:
        found = self._key_of_id.get(alert_id)
        return found[1] if found else None

    def event_ids(self, alert_id: str) -> list[str]:
        """Ids of every message of the event ``alert_id`` belongs to, in arrival order."""
        found = self._key_of_id.get(alert_id)
        if not found:
            return []
        return list(self._events[found[0]][found[1]].ids)

    def __len__(self) -> int:
        return sum(1 for d in self._events.values() for e in d.values() if e.active)

    # --- transitions ----------------------------------------------------------------

    def apply(self, alert: Alert, *, now: datetime) -> Applied:
        """Take one message into account (after expiring what has run out at ``now``)."""
        drill = is_drill(alert)
        expired = self.expire(now)
        if alert.id in self._key_of_id:
            key = self._key_of_id[alert.id][1]
            return Applied("duplicate", key, drill, tuple(expired))
        key = self.event_key(alert)
        self._key_of_id[alert.id] = (drill, key)
        if alert.info_type in _NO_OP_TYPES:
            return Applied("ignored", key, drill, tuple(expired))
        events = self._events[drill]
        ev = events.get(key)
        r = rank(alert)
        if ev is not None:
            ev.ids.append(alert.id)
            if r <= ev.rank:
                return Applied("superseded", key, drill, tuple(expired))
        previous = ev.top if ev is not None and ev.active else None
        if ev is None:
            ev = events[key] = _Event(top=alert, rank=r, ids=[alert.id])
        ev.top, ev.rank = alert, r
        out = list(expired)
        if alert.info_type == "cancel" or all_clear(alert):
            reason = "cancel" if alert.info_type == "cancel" else "lifted"
            if alert.details.get(WITHDRAWN_BY):
                reason = "withdrawn"  # by an operator at the desk (``withdrawal``)
            ev.active, ev.ended = False, ("lifted" if reason == "lifted" else "cancelled")
            if previous is not None:
                out.append(Transition("withdrawn", reason, alert, key, drill, previous))
            return Applied(ev.ended, key, drill, tuple(out))
        until = self.ends_at(alert)
        if until is not None and _le(until, now):
            ev.active, ev.ended = False, "expired"
            if previous is not None:
                out.append(Transition("withdrawn", "expired", alert, key, drill, previous))
            return Applied("expired", key, drill, tuple(out))
        ev.active, ev.ended = True, None
        if until is not None:
            heapq.heappush(self._expiries, (_ts(until), drill, key, alert.id))
        if previous is None:
            out.append(Transition("new", alert.info_type if alert.info_type != "delay" else "issue",
                                  alert, key, drill))
        else:
            reason = alert.info_type if alert.info_type in ("update", "correction") else "update"
            out.append(Transition("updated", reason, alert, key, drill, previous))
        return Applied("active", key, drill, tuple(out))

    def expire(self, now: datetime) -> list[Transition]:
        """Withdraw every alert whose ``valid_until`` is at or before ``now``."""
        if now.tzinfo is None:  # a naive "now" (never from the daemon): compare directly
            return self._expire_naive(now)
        out: list[Transition] = []
        heap = self._expiries
        limit = now.timestamp()
        while heap and heap[0][0] <= limit:
            _, drill, key, alert_id = heapq.heappop(heap)
            ev = self._events[drill].get(key)
            if ev is None or not ev.active or ev.top.id != alert_id:
                continue  # superseded or withdrawn since
            until = self.ends_at(ev.top)
            if until is not None and _le(until, now):
                ev.active, ev.ended = False, "expired"
                out.append(Transition("withdrawn", "expired", ev.top, key, drill, ev.top))
        return out

    def ends_at(self, alert: Alert) -> datetime | None:
        """When ``alert`` stops being in force by itself (module docstring, "Expiry")."""
        return ends_at(alert, self.lifetimes)

    def _expire_naive(self, now: datetime) -> list[Transition]:
        out: list[Transition] = []
        for drill, events in self._events.items():
            for key, ev in events.items():
                until = self.ends_at(ev.top) if ev.active else None
                if until is not None and _le(until, now):
                    ev.active, ev.ended = False, "expired"
                    out.append(Transition("withdrawn", "expired", ev.top, key, drill, ev.top))
        return out


def _ts(dt: datetime) -> float:
    """``dt.timestamp()``, -inf for a datetime outside the platform's range."""
    try:
        return dt.timestamp()
    except (OverflowError, OSError, ValueError):
        return float("-inf")


def _le(a: datetime, b: datetime) -> bool:
    """a <= b, tolerating one naive side (taken as the other's zone)."""
    if (a.tzinfo is None) != (b.tzinfo is None):
        if a.tzinfo is None:
            a = a.replace(tzinfo=b.tzinfo)
        else:
            b = b.replace(tzinfo=a.tzinfo)
    return a <= b

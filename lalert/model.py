"""The normalised alert model: the one shape every output sees.

It knows no input format and does no I/O. Its JSON form (``Alert.to_json``, made by
``lalert.codec``) is a public contract described by ``lalert/alert.schema.json``; any
incompatible change bumps ``SCHEMA_ID``, any compatible one ``SCHEMA_VERSION`` (which
also tags every stored and streamed entry).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

SCHEMA_ID = "lalert.alert/1"
SCHEMA_VERSION = "1.1"  # minor version of lalert/alert.schema.json (1.1: Area.status)
ENRICHED_SCHEMA_ID = "lalert.enriched/1"

Format = Literal["jmaxml", "commons", "cap"]
InfoType = Literal["issue", "update", "correction", "cancel", "delay", "ack", "error"]
Status = Literal["actual", "exercise", "test", "system", "draft"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]

FORMATS: tuple[str, ...] = ("jmaxml", "commons", "cap")
INFO_TYPES: tuple[str, ...] = ("issue", "update", "correction", "cancel", "delay", "ack", "error")
STATUSES: tuple[str, ...] = ("actual", "exercise", "test", "system", "draft")
SEVERITIES: tuple[str, ...] = ("Extreme", "Severe", "Moderate", "Minor", "Unknown")

# Area.status: what the message says of one place (see ``Area``).
AREA_STATUSES: tuple[str, ...] = ("active", "lifted", "none", "scope")
ACTIVE = "active"
_OFF = frozenset({"lifted", "none"})  # hazard states that put nothing in force


def highest(levels: Iterable[int | None]) -> int | None:
    """The highest of some levels, ignoring places without one; None when none has one."""
    return max((lv for lv in levels if lv is not None), default=None)


Grade = tuple[int, tuple[str, ...]]
"""A JMA warning class (``lalert.vocab.jma``: ADVISORY 1 … SPECIAL 4) and the published
names of the warnings of that class."""


def warning_grade(hazards: Iterable[Hazard]) -> Grade | None:
    """The gravest JMA warning class among ``hazards`` and the names of that class; None
    when none of them is a JMA warning (rain levels, CAP events, orders …)."""
    from lalert.vocab.jma import WARNING_CLASS

    ranked = [(WARNING_CLASS[h.kind], h.name) for h in hazards if h.kind in WARNING_CLASS]
    if not ranked:
        return None
    top = max(c for c, _name in ranked)
    return top, tuple(dict.fromkeys(n for c, n in ranked if c == top))


def gravest(grades: Iterable[Grade | None]) -> Grade | None:
    """The gravest of some warning classes (``highest`` for grades); None when none."""
    return max((g for g in grades if g is not None), key=lambda g: g[0], default=None)


def area_key(area: Area) -> tuple[str, str | None, str | None]:
    """An area's identity among one alert's areas: its scheme and code, or its name when
    it has no code (enrichment may add a name to a coded place; the key stays)."""
    return (area.scheme, area.code, None if area.code is not None else area.name)


@dataclass(frozen=True)
class Area:
    """One place a message names, keyed by its code *and* the code table it comes from.

    ``scheme`` values are listed in ``lalert.vocab.AREA_SCHEMES``; the same digits mean
    different places in different tables, so a code is never used without its scheme.
    ``geometry`` is GeoJSON (lon/lat, WGS 84) when the message itself carries a shape
    (CAP polygon/circle, Commons circle) or after enrichment; ``unresolved`` says why
    enrichment found none.

    ``status`` is what the message says of this place, and ``status_label`` its own word
    (警戒, 発表・継続, 解除, なし, 発令 …):

    - ``active``: something is in force here (a warning 発表 / 継続, 警戒, an order 発令;
      every area of a CAP alert or of a message that gives no per-area status);
    - ``lifted``: what was in force here is lifted (解除) and nothing else is;
    - ``none``: the message names the place only to say nothing is in force (なし);
    - ``scope``: the place is the message's coverage or a coarser summary of places it
      lists one by one with their own status (the 府県予報区 of a 土砂災害警戒情報, the
      一次細分区域 rows of a warning telegram, the municipality above an order's 町丁目).
      It is never drawn, matched or listed as under alert: the finer places say where.

    Only ``active`` areas make an alert's footprint, map shapes, point and push matches
    (``Alert.active_areas``); an alert whose stated areas are all lifted / none is not in
    force. Old JSON without the field reads as ``active`` (what it meant then).
    """

    code: str | None
    scheme: str
    name: str | None = None
    geometry: dict[str, Any] | None = None
    unresolved: str | None = None
    status: str = ACTIVE
    status_label: str | None = None


def area_is_active(area: Area) -> bool:
    """The one test every output uses: is something in force in this area?"""
    return area.status == ACTIVE


@dataclass(frozen=True)
class Hazard:
    """What is in force in one area: one JMA warning kind, a CAP event, a river forecast ...

    ``kind`` is a controlled English name (``lalert.vocab.HAZARD_KINDS``), ``name`` the
    published (usually Japanese) name. ``state`` is ``issued`` | ``continued`` |
    ``upgraded`` | ``downgraded`` | ``lifted`` | ``none`` and ``state_label`` the
    published word (発表, 継続, 解除 ...). ``sub_kinds`` holds e.g. 大雨's 土砂災害 / 浸水害
    as ``landslide`` / ``inundation``.
    """

    area_code: str | None
    area_scheme: str
    kind: str
    name: str
    state: str
    code: str | None = None
    state_label: str | None = None
    sub_kinds: tuple[str, ...] = ()
    level: int | None = None
    severity: str = "Unknown"


@dataclass(frozen=True)
class Shelter:
    """A shelter named in a 避難所情報 message, with its open/closed state and counts.

    ``state``: ``unopened`` (未開設) | ``open`` (開設) | ``closed`` (閉鎖) | ``permanent`` (常設)
    | ``unknown`` (不明); ``crowding``: ``vacant`` | ``crowded`` | ``full`` | ``unknown``.
    ``radius_m`` is the message's circle radius around ``lat`` / ``lon``. ``registry`` is
    filled by enrichment: ``{"id", "name", "match"}`` of the registry facility this report
    names (``match``: ``code`` | ``name`` | ``address`` | ``location`` | ``manual``), or None.
    """

    name: str
    state: str
    code: str | None = None
    state_label: str | None = None
    kind: str | None = None
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    phone: str | None = None
    area_code: str | None = None
    capacity: int | None = None
    head_count: int | None = None
    head_count_voluntary: int | None = None
    households: int | None = None
    households_voluntary: int | None = None
    crowding: str | None = None
    changed_at: str | None = None
    checked_at: str | None = None
    radius_m: float | None = None
    registry: dict[str, str] | None = None


@dataclass(frozen=True)
class Evacuation:
    """One area's evacuation order from an EvacuationOrder (避難指示等) message.

    ``order``: ``emergency_safety`` (緊急安全確保, level 5) | ``evacuation_order`` (避難指示, 4)
    | ``elderly_evacuation`` (高齢者等避難, 3) | ``evacuation_advisory`` (避難勧告, old 4) |
    ``evacuation_preparation`` (避難準備, old 3) | ``other``; ``action``: ``issued`` | ``lifted``.
    """

    order: str
    action: str
    area_name: str | None = None
    area_code: str | None = None
    order_label: str | None = None
    level: int | None = None
    issued_at: str | None = None
    households: int | None = None
    people: int | None = None
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None


@dataclass(frozen=True)
class Alert:
    """One received message, normalised. Frozen: a new version is a new ``Alert``."""

    format: str
    id: str
    info_type: str
    status: str
    kind: str
    title: str
    issued_at: str
    raw_sha256: str
    event_id: str | None = None
    serial: int | None = None
    headline: str | None = None
    text: str | None = None
    # What residents should do, as the sender wrote it (JMA 付加文 / 補足情報 / 付加事項,
    # CAP ``instruction``, Commons ComplementaryInfo); shown as text only.
    instruction: str | None = None
    valid_until: str | None = None
    publisher: str | None = None
    type_code: str | None = None
    language: str = "ja"
    level: int | None = None
    severity: str = "Unknown"
    areas: tuple[Area, ...] = ()
    hazards: tuple[Hazard, ...] = ()
    shelters: tuple[Shelter, ...] = ()
    evacuations: tuple[Evacuation, ...] = ()
    references: tuple[str, ...] = ()
    translations: tuple[dict[str, Any], ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """The identity of the *event* this message belongs to, for the lifecycle."""
        return (self.format, self.event_id or self.id)

    @property
    def is_real(self) -> bool:
        return self.status == "actual"

    def active_areas(self) -> tuple[Area, ...]:
        """The areas where something is in force (none for a 取消 / Cancel)."""
        if self.info_type == "cancel":
            return ()
        return tuple(a for a in self.areas if a.status == ACTIVE)

    def area_levels(self) -> dict[tuple[str, str | None, str | None], int | None]:
        """The 警戒レベル in force at each active area, keyed ``area_key(area)``.

        An alert's ``level`` is its highest anywhere; a prefecture's warning telegram puts
        大雨特別警報 (5) on some towns and only 注意報 (2) on others, and a Commons order
        issues 避難指示 (4) here and 高齢者等避難 (3) there. A place is told its own: the
        highest level among the hazards in force there (JMA, with those the message gives
        for every place) or the orders issued there (Commons); the alert's ``level`` where
        the message gives no place anything of its own (CAP, a message-wide hazard).
        """
        wide = [h.level for h in self.hazards
                if h.area_code is None and h.state not in _OFF and h.level is not None]
        own: dict[tuple[str, str], list[int]] = {}
        for h in self.hazards:
            if h.area_code is not None and h.state not in _OFF:
                own.setdefault((h.area_scheme, h.area_code), []).extend(
                    () if h.level is None else (h.level,))
        orders: dict[str, list[int]] = {}
        for e in self.evacuations:
            if e.action == "issued":
                for k in {e.area_code, e.area_name} - {None}:
                    orders.setdefault(k, []).extend(() if e.level is None else (e.level,))
        out: dict[tuple[str, str | None, str | None], int | None] = {}
        for a in self.active_areas():
            if a.code is not None and (a.scheme, a.code) in own:
                levels = own[(a.scheme, a.code)] + wide
            elif a.code in orders or a.name in orders:
                levels = orders.get(a.code or "", []) + orders.get(a.name or "", [])
            else:
                out[area_key(a)] = self.level
                continue
            out[area_key(a)] = highest(levels)
        return out

    def area_grades(self) -> dict[tuple[str, str | None, str | None], Grade | None]:
        """The gravest JMA warning class in force at each active area (``warning_grade``
        of its own hazards and those the message gives every place), keyed ``area_key``.

        What a place under a warning without 警戒レベル (大雪特別警報, 暴風警報, 津波警報 …)
        is told instead of "no level"; None where no JMA warning is in force."""
        return {k: warning_grade(hs) for k, hs in self.area_hazards().items()}

    def area_hazards(self) -> dict[tuple[str, str | None, str | None], tuple[Hazard, ...]]:
        """The hazards in force at each active area: its own and those the message gives
        every place, keyed ``area_key``. What a place under neither a 警戒レベル nor a
        warning class is told is in force there (津波予報（若干の海面変動）, not the
        telegram's 大津波警報 elsewhere)."""
        live = self._live_hazards()
        wide = [h for h in live if h.area_code is None]
        own: dict[tuple[str, str], list[Hazard]] = {}
        for h in live:
            if h.area_code is not None:
                own.setdefault((h.area_scheme, h.area_code), []).append(h)
        return {area_key(a): (*own.get((a.scheme, a.code or ""), ()), *wide)
                for a in self.active_areas()}

    def grade(self) -> Grade | None:
        """The gravest JMA warning class in force anywhere in the alert, with its names."""
        return warning_grade(self._live_hazards())

    def _live_hazards(self) -> list[Hazard]:
        """The hazards in force (none for a 取消 / Cancel)."""
        return [] if self.info_type == "cancel" else [
            h for h in self.hazards if h.state not in _OFF]

    @property
    def cleared(self) -> bool:
        """True when the message gives places their own status and none is active: it
        lifts the alert (解除 / なし everywhere). A message naming no place is not cleared."""
        if self.shelters:
            return False
        stated = [a for a in self.areas if a.status != "scope"]
        return bool(stated) and not any(a.status == ACTIVE for a in stated)

    # The JSON form comes from ``lalert.codec`` (msgspec); these keep the old names.
    # (``codec`` imports this module, hence the imports inside the methods.)

    def to_dict(self) -> dict[str, Any]:
        from lalert.codec import alert_dict

        return alert_dict(self)

    def to_json(self) -> str:
        """The public JSON as text; ``lalert.codec.alert_json`` gives the bytes."""
        from lalert.codec import alert_json

        return alert_json(self).decode("utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Alert:
        from lalert.codec import alert_from_dict

        return alert_from_dict(data)


# --- enrichment (filled by lalert.geo.enrich, consumed by outputs) -----------------


@dataclass(frozen=True)
class NearbyShelter:
    """A designated shelter / evacuation site near an alert's footprint.

    ``hazards`` are the site's designations in English (``lalert.vocab.SHELTER_HAZARDS``);
    ``fits_hazard`` is True only when a designation matches the alert's hazard, None when
    the alert names no hazard. ``state``, ``crowding`` and ``head_count`` come from the
    latest 避難所情報 for the facility (``lalert.geo.reports``), read when served.
    """

    id: str
    name: str
    lat: float
    lon: float
    hazards: tuple[str, ...]
    fits_hazard: bool | None
    distance_m: float
    inside: bool
    state: str = "unknown"
    kind: str | None = None
    address: str | None = None
    municipality_code: str | None = None
    capacity: int | None = None
    head_count: int | None = None
    bearing_deg: float | None = None
    crowding: str | None = None


@dataclass(frozen=True)
class NearbyHotspot:
    id: str
    name: str
    lat: float
    lon: float
    ssid: str | None = None
    provider: str | None = None
    address: str | None = None
    shelter_id: str | None = None
    distance_m: float = 0.0


@dataclass(frozen=True)
class EnrichedAlert:
    """An alert with geometry: what the bus carries and every output consumes.

    ``areas`` repeats ``alert.areas`` with ``geometry`` / ``unresolved`` filled in.
    ``footprint`` is the GeoJSON union of the areas where something is in force;
    ``bbox`` is ``[west, south, east, north]``.
    """

    alert: Alert
    areas: tuple[Area, ...] = ()
    footprint: dict[str, Any] | None = None
    bbox: tuple[float, float, float, float] | None = None
    hazard_tags: tuple[str, ...] = ()
    shelters: tuple[NearbyShelter, ...] = ()
    hotspots: tuple[NearbyHotspot, ...] = ()

    @property
    def id(self) -> str:
        return self.alert.id

    def area_levels(self) -> dict[tuple[str, str | None, str | None], int | None]:
        """The level in force at each active area (``Alert.area_levels``)."""
        return self.alert.area_levels()

    def active_areas(self) -> tuple[Area, ...]:
        """``areas`` (with geometry) where something is in force; see ``Alert.active_areas``."""
        if self.alert.info_type == "cancel":
            return ()
        return tuple(a for a in (self.areas or self.alert.areas) if a.status == ACTIVE)

    def to_dict(self) -> dict[str, Any]:
        """The public JSON form: the alert's keys (``areas`` with geometry), then
        ``footprint``, ``bbox``, ``hazard_tags``, ``nearby_shelters``, ``hotspots``."""
        from lalert.codec import enriched_dict

        return enriched_dict(self)

    def to_json(self) -> str:
        from lalert.codec import enriched_json

        return enriched_json(self).decode("utf-8")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EnrichedAlert:
        from lalert.codec import enriched_from_dict

        return enriched_from_dict(data)

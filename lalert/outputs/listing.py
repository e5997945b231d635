"""How every output lists alerts: one order, one region, names once. Pure (no I/O, no clock).

The map list, ``/text``, the desk, signage's "others" and the CAP feed all call
``ordered`` (highest 警戒レベル first, then the newest issue time) and ``RegionFilter``
(only what covers the deployment's ``[geo] region`` unless a reader asks for all), so
no two outputs list the same alerts in a different order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import shapely
from shapely.geometry import box, shape

from lalert.config import Region, parse_region
from lalert.lifecycle import timestamp
from lalert.model import Area, EnrichedAlert, area_is_active

# Schemes whose codes start with the JIS prefecture code (2 digits).
PREFECTURE_PREFIX_SCHEMES = frozenset(
    {"lg_code", "n03", "jma.city", "jma.forecast_area", "commons.chome"})
# Simplified boundaries of neighbours overlap by a few hundred metres: an alert must reach
# this far into the region to count (≈ 300 m in degrees).
BORDER_SLACK_DEG = 0.003


# Where a message has no 警戒レベル (tsunami, earthquake, CAP without one), its severity
# ranks it among the levels, so a 大津波警報 (Extreme) never sinks below a 注意報 (level 2).
# The inverse of ``vocab.severity_for_level``; used for ordering only, never shown.
SEVERITY_RANK = {"Extreme": 5, "Severe": 4, "Moderate": 2, "Minor": 1}


def sort_key(ea: EnrichedAlert, level: int | None = None) -> tuple[int, int, float]:
    """Highest level first (severity standing in for a missing level; at the same rank a
    stated level first), then newest first (as a key for ``sorted``, ascending)."""
    lv = ea.alert.level if level is None else level
    rank = lv if lv else SEVERITY_RANK.get(ea.alert.severity, 0)
    return (-rank, 0 if lv else 1, -timestamp(ea.alert.issued_at))


def ordered(alerts: Iterable[EnrichedAlert],
            level_of: Callable[[EnrichedAlert], int | None] | None = None) -> list[EnrichedAlert]:
    """The one order of every alert list: level (highest first; severity where there is no
    level), then issue time (newest).

    ``level_of`` lets signage rank by the level an alert has *at a screen* (a warning's
    level where the screen stands), still in this one order."""
    if level_of is None:
        return sorted(alerts, key=sort_key)
    return sorted(alerts, key=lambda ea: sort_key(ea, level_of(ea)))


def area_names(areas: Iterable[Area]) -> list[str]:
    """Each place under alert once, in message order: a message often names one place
    under several code schemes (the same 市 as 市町村等 code, 全国地方公共団体コード, N03)."""
    return list(dict.fromkeys(a.name or a.code for a in areas  # type: ignore[misc]
                              if (a.name or a.code) and area_is_active(a)))


class RegionFilter:
    """Does an alert cover the deployment's region?

    The region is ``[geo] region`` — prefecture codes (their municipalities' polygons in
    the geodata, and the codes' two-digit prefix) or a bbox — or, by default, the extent
    of the imported geodata. An alert counts when its footprint reaches into the region,
    or, without a footprint, when one of its area codes lies in a region prefecture. An
    alert whose place lalert cannot tell (no footprint, no prefecture code) is kept: a
    listing never hides what might apply.
    """

    def __init__(self, region: Region | None, geo: Any = None) -> None:
        self.region = region
        self.prefectures = (self._region_prefectures(region) if region
                            else self._geo_prefectures(geo))
        self.shape = self._shape(region, geo)
        if self.shape is not None:
            shapely.prepare(self.shape)
        self._seen: dict[str, bool] = {}

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None, geo: Any = None) -> RegionFilter:
        geo_cfg = (settings or {}).get("geo") or {}
        return cls(parse_region(geo_cfg.get("region") if isinstance(geo_cfg, dict) else None), geo)

    @staticmethod
    def _region_prefectures(region: Region) -> tuple[str, ...]:
        """Configured prefectures, and those of configured area codes whose digits start
        with one (an alert placed only by a code in the same prefecture is kept)."""
        extra = [r.partition(":")[2][:2] for r in region.areas
                 if r.partition(":")[0] in PREFECTURE_PREFIX_SCHEMES]
        return tuple(dict.fromkeys([*region.prefectures, *extra]))

    @staticmethod
    def _geo_prefectures(geo: Any) -> tuple[str, ...]:
        """Without a configured region: the prefectures the imported geodata covers."""
        areas = getattr(geo, "areas", None)
        if areas is None or not len(areas):
            return ()
        codes = areas.loc[areas["scheme"].isin(["n03", "lg_code"]), "code"].astype(str)
        return tuple(sorted({c[:2] for c in codes if len(c) >= 5 and c[:2].isdigit()}))

    @staticmethod
    def _shape(region: Region | None, geo: Any) -> Any:
        areas = getattr(geo, "areas", None)
        if region is not None and region.bbox is not None:
            return box(*region.bbox)
        if region is not None and region.areas and hasattr(geo, "area"):
            shapes = [g for g in (geo.area(*r.split(":", 1)) for r in region.areas) if g is not None]
            pref = RegionFilter._shape(Region(prefectures=region.prefectures), geo) \
                if region.prefectures else None
            shapes += [pref] if pref is not None else []
            if shapes:
                return shapely.union_all(shapes)
        if areas is None or not len(areas):
            return None
        if region is not None and region.prefectures:
            codes = areas["code"].astype(str)
            mask = areas["scheme"].isin(["n03", "lg_code"]) & codes.str[:2].isin(
                list(region.prefectures))
            picked = areas[mask]
            if not len(picked):
                return None  # the geodata has no polygon there: codes alone decide
            whole = shapely.union_all(shapely.make_valid(picked.geometry.values))
            inner = whole.buffer(-BORDER_SLACK_DEG)
            return inner if not inner.is_empty else whole
        return box(*(float(v) for v in areas.total_bounds))

    def covers(self, ea: EnrichedAlert) -> bool:
        """Cached per alert id: an alert's id names immutable content, and the desk asks
        again on every poll."""
        hit = self._seen.get(ea.alert.id)
        if hit is None:
            if len(self._seen) > 4096:
                self._seen.clear()
            hit = self._seen[ea.alert.id] = self._covers(ea)
        return hit

    def _covers(self, ea: EnrichedAlert) -> bool:
        if self.region is None and self.shape is None:
            return True
        if ea.footprint and self.shape is not None:
            try:
                return bool(self.shape.intersects(shape(ea.footprint)))
            except (ValueError, TypeError, AttributeError, KeyError):
                pass
        codes = [a for a in ea.active_areas() if a.code and a.scheme in PREFECTURE_PREFIX_SCHEMES]
        if codes and self.prefectures:
            return any(a.code[:2] in self.prefectures for a in codes)  # type: ignore[index]
        if ea.footprint or codes:
            return self.shape is None  # placed, and nothing says it is in the region
        return True  # no place lalert can tell: shown rather than hidden

    def apply(self, alerts: Iterable[EnrichedAlert], *, everything: bool = False
              ) -> list[EnrichedAlert]:
        """``alerts`` in the region (all of them when ``everything``), in the one order."""
        return ordered(a for a in alerts if everything or self.covers(a))


def wants_all(query: Any) -> bool:
    """``?all=1`` (or true/yes): a reader asks for every alert, not only the region's."""
    return str(query.get("all", "")).strip().lower() in ("1", "true", "yes", "on")

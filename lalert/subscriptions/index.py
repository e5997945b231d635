"""A columnar, spatially indexed set of subscriptions, and the pure ``match`` over it.

Why columnar: a million subscriptions as Python objects cost seconds and hundreds of MB;
as numpy columns plus one shapely 2 STRtree they are matched against a footprint in a
few vectorised calls. Distances are geodesic-accurate: near-boundary candidates are
projected to an azimuthal-equidistant CRS centred on the footprint (metres), never
degrees treated as metres (degrees only give a conservative *pre-filter* box).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pyproj
import shapely
from shapely import STRtree

from lalert.model import EnrichedAlert, Grade, area_key, gravest, highest
from lalert.subscriptions.model import MAX_RADIUS_M, Subscription
from lalert.vocab.jma import CLASS_LEVEL

ANY_SCHEME = "*"  # an area filter given without a scheme (SSE convenience) matches any
_CHANNEL_CODES: dict[str, int] = {}
# Effective level for alerts that carry none: severity says how serious it is.
_SEVERITY_LEVEL = {"Extreme": 5, "Severe": 4, "Moderate": 2, "Minor": 1}
_M_PER_DEG_LAT = 110_574.0  # the shortest degree of latitude (at the equator), metres


def _channel_code(name: str) -> int:
    return _CHANNEL_CODES.setdefault(name, len(_CHANNEL_CODES) + 1)


class _Grouped:
    """Each value → the rows (ascending) that name it; ``has``: per row, names any.

    Built vectorised (``pandas.factorize`` hashes in C; one argsort) and looked up by
    slicing, because a set built to be slow — ten thousand rows of hundreds of distinct
    values each — must not hold up the alert that is matched against it. No ceiling on
    distinct values (a fixed-width bit mask once had one: 63, and one subscriber past it
    made the whole index unbuildable, so every subscriber missed the change)."""

    def __init__(self, per_row: Sequence[Collection[Hashable]] = ()) -> None:
        lens = np.fromiter((len(v) for v in per_row), np.int64, len(per_row))
        self.has = lens > 0
        self.code: dict[Any, int] = {}
        self.rows = self.starts = self.ends = np.zeros(0, np.int64)
        if not lens.sum():
            return
        flat = np.fromiter(itertools.chain.from_iterable(per_row), dtype=object,
                           count=int(lens.sum()))  # a 1-D array even of tuples
        codes, uniques = pd.factorize(flat, sort=False)
        rows = np.repeat(np.arange(len(per_row), dtype=np.int64), lens)
        self.rows = rows[np.argsort(codes, kind="stable")]
        self.ends = np.cumsum(np.bincount(codes, minlength=len(uniques)))
        self.starts = self.ends - np.bincount(codes, minlength=len(uniques))
        self.code = dict(zip(uniques, range(len(uniques)), strict=True))

    def get(self, value: Hashable) -> np.ndarray | None:
        c = self.code.get(value)
        return None if c is None else self.rows[self.starts[c]:self.ends[c]]

    def passing(self, rows: np.ndarray, values: Iterable[str]) -> np.ndarray:
        """Per row of ``rows``: it names no value (no filter) or one of ``values``."""
        hits = [h for h in map(self.get, values) if h is not None]
        ok = ~self.has[rows]
        if hits:
            ok |= np.isin(rows, np.concatenate(hits))
        return ok


class SubscriptionIndex:
    """Subscriptions as columns: ids, filter masks, points (+ radius), areas, polygons."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.kinds = _Grouped()
        self.languages = _Grouped()
        self.channel = np.zeros(0, np.int16)
        self.min_level = np.zeros(0, np.int8)
        self.drills = np.zeros(0, bool)
        # points
        self.pt_rows = np.zeros(0, np.int64)
        self.pt_lon = np.zeros(0)
        self.pt_lat = np.zeros(0)
        self.pt_radius = np.zeros(0)
        self._pt_tree: STRtree | None = None
        # polygons
        self.poly_rows = np.zeros(0, np.int64)
        self._poly_tree: STRtree | None = None
        # areas
        self.areas = _Grouped()  # (scheme, code) → rows
        self.broken: dict[str, str] = {}  # id → why it could not be indexed

    def __len__(self) -> int:
        return len(self.ids)

    # --- building ---------------------------------------------------------------

    @classmethod
    def build(cls, subs: Sequence[Subscription]) -> SubscriptionIndex:
        """Index a modest list of Subscription objects (API-sized sets).

        A subscription that cannot be indexed (a record written by another version or
        edited by hand: a level out of range, a broken polygon) is left out and named in
        ``broken`` with the reason, so one bad row never makes the whole set unmatchable.
        """
        idx = cls()
        good: list[Subscription] = []
        polys: list[Any] = []
        for s in subs:
            try:
                geom = _check(s)
            except Exception as exc:  # any defect of one row stays that row's problem
                idx.broken[s.id] = f"{type(exc).__name__}: {exc}"[:300]
                continue
            good.append(s)
            polys.append(geom)
        subs = good
        n = len(subs)
        idx.ids = [s.id for s in subs]
        idx.channel = np.array([_channel_code(s.channel) for s in subs], np.int16)
        idx.kinds = _Grouped([s.kinds for s in subs])
        idx.languages = _Grouped([s.languages for s in subs])
        idx.min_level = np.array([s.min_level or 0 for s in subs], np.int8).reshape(n)
        idx.drills = np.array([s.drills for s in subs], bool).reshape(n)
        pts = [i for i, s in enumerate(subs) if s.lat is not None and s.lon is not None]
        idx._set_points(
            np.array(pts, np.int64),
            np.array([subs[i].lon for i in pts], float),
            np.array([subs[i].lat for i in pts], float),
            np.array([subs[i].radius_m for i in pts], float),
        )
        rows = [i for i, g in enumerate(polys) if g is not None]
        idx.poly_rows = np.array(rows, np.int64)
        if rows:
            idx._poly_tree = STRtree([polys[i] for i in rows])
        idx.areas = _Grouped([s.areas for s in subs])
        return idx

    @classmethod
    def from_points(
        cls,
        ids: Sequence[str],
        lon: np.ndarray,
        lat: np.ndarray,
        radius_m: np.ndarray,
        *,
        channel: str = "webhook",
        min_level: np.ndarray | None = None,
    ) -> SubscriptionIndex:
        """Bulk path for very many point subscriptions (no per-row Python objects)."""
        idx = cls()
        n = len(ids)
        idx.ids = list(ids)
        idx.channel = np.full(n, _channel_code(channel), np.int16)
        idx.kinds = _Grouped([()] * n)
        idx.languages = _Grouped([()] * n)
        idx.min_level = (
            np.zeros(n, np.int8) if min_level is None else min_level.astype(np.int8)
        )
        idx.drills = np.zeros(n, bool)
        idx._set_points(np.arange(n, dtype=np.int64), lon, lat, radius_m)
        return idx

    def _set_points(self, rows: np.ndarray, lon: np.ndarray, lat: np.ndarray, r: np.ndarray):
        self.pt_rows, self.pt_lon, self.pt_lat, self.pt_radius = rows, lon, lat, r
        self._pt_tree = STRtree(shapely.points(lon, lat)) if len(rows) else None

    # --- matching ----------------------------------------------------------------

    def geo_rows(self, footprint: shapely.Geometry | None,
                 among: np.ndarray | None = None) -> np.ndarray:
        """Rows whose point-circle or polygon touches the footprint. With ``among`` (rows,
        ascending), the costly exact radius test is spent on those rows only; others
        may or may not be in the answer."""
        if footprint is None or footprint.is_empty:
            return np.zeros(0, np.int64)
        found: list[np.ndarray] = []
        if self._pt_tree is not None:
            found.append(self._point_rows(footprint, among))
        if self._poly_tree is not None:
            hit = self._poly_tree.query(footprint, predicate="intersects")
            found.append(self.poly_rows[hit])
        return np.concatenate(found) if found else np.zeros(0, np.int64)

    def _point_rows(self, fp: shapely.Geometry, among: np.ndarray | None = None) -> np.ndarray:
        assert self._pt_tree is not None
        shapely.prepare(fp)
        inside = self._pt_tree.query(fp, predicate="intersects")
        max_r = float(self.pt_radius.max()) if len(self.pt_radius) else 0.0
        if max_r <= 0:
            return self.pt_rows[inside]
        near = self._pt_tree.query(_grown(fp.bounds, max_r))
        if len(inside):
            near = near[~np.isin(near, inside, assume_unique=True)]
        near = near[self.pt_radius[near] > 0]
        if among is not None:
            near = near[np.isin(self.pt_rows[near], among)]
        if not len(near):
            return self.pt_rows[inside]
        # Exact test in metres: a local azimuthal-equidistant projection of the footprint.
        c = fp.centroid
        to_m = _aeqd(round(c.y, 3), round(c.x, 3))
        fp_m = shapely.transform(fp, lambda xy: np.column_stack(to_m.transform(xy[:, 0], xy[:, 1])))
        x, y = to_m.transform(self.pt_lon[near], self.pt_lat[near])
        shapely.prepare(fp_m)
        close = shapely.dwithin(fp_m, shapely.points(x, y), self.pt_radius[near])
        return self.pt_rows[np.concatenate([inside, near[close]])]

    def envelope(self) -> shapely.Geometry | None:
        """A lon/lat box holding every row's place, circles included (a pre-filter)."""
        boxes = []
        if len(self.pt_rows):
            bounds = (self.pt_lon.min(), self.pt_lat.min(), self.pt_lon.max(), self.pt_lat.max())
            boxes.append(_grown(bounds, float(self.pt_radius.max())))
        if self._poly_tree is not None:
            boxes.append(shapely.box(*shapely.total_bounds(self._poly_tree.geometries)))
        return shapely.union_all(boxes).envelope if boxes else None

    def reached(self, geometry: shapely.Geometry | None, keys: Iterable[tuple[str, str]],
                among: np.ndarray | None = None) -> np.ndarray:
        """Rows whose place touches ``geometry`` or names one of ``keys`` (repeats kept):
        the one rule of "this subscription's place is there", for a whole footprint, for
        the places of one level and for one place (``touched``). ``among``: as
        ``geo_rows``."""
        return np.concatenate([self.geo_rows(geometry, among), self.area_rows(keys)])

    def area_rows(self, keys: Iterable[tuple[str, str]]) -> np.ndarray:
        found = [r for scheme, code in keys
                 for r in (self.areas.get((scheme, code)), self.areas.get((ANY_SCHEME, code)))
                 if r is not None]
        return np.concatenate(found) if found else np.zeros(0, np.int64)

    def filter_rows(
        self,
        rows: np.ndarray,
        *,
        kinds: Iterable[str],
        level: int | None,
        languages: Iterable[str],
        drill: bool,
        channel: str | None = None,
    ) -> np.ndarray:
        """Keep the rows whose kind / level / language / drill / channel filters pass."""
        if not len(rows):
            return rows
        ok = np.ones(len(rows), bool)
        if channel is not None:
            ok &= self.channel[rows] == _CHANNEL_CODES.get(channel, -1)
        ok &= self.kinds.passing(rows, kinds)
        ok &= self.languages.passing(rows, languages)
        if level is not None:
            ok &= self.min_level[rows] <= level
        if drill:
            ok &= self.drills[rows]
        return rows[ok]


def _grown(bounds: tuple[float, float, float, float], metres: float) -> shapely.Geometry:
    """``bounds`` grown by a margin in degrees never smaller than ``metres`` (a
    conservative pre-filter box; the exact test is in metres)."""
    minx, miny, maxx, maxy = bounds
    lat_edge = min(89.0, max(abs(miny), abs(maxy)) + metres / _M_PER_DEG_LAT)
    dlat = metres / _M_PER_DEG_LAT
    dlon = min(180.0, metres / (_M_PER_DEG_LAT * math.cos(math.radians(lat_edge))))
    return shapely.box(minx - dlon, miny - dlat, maxx + dlon, maxy + dlat)


def _check(s: Subscription) -> shapely.Geometry | None:
    """Raise when ``s`` cannot be indexed; its polygon geometry (or None) otherwise."""
    if s.min_level is not None and not (isinstance(s.min_level, int) and 0 <= s.min_level <= 5):
        raise ValueError(f"min_level {s.min_level!r} out of range")
    if (s.lat is None) != (s.lon is None):
        raise ValueError("a point needs both lat and lon")
    if s.lat is not None and s.lon is not None:
        lat, lon, r = float(s.lat), float(s.lon), float(s.radius_m)
        if not (-90 <= lat <= 90 and -180 <= lon <= 180 and 0 <= r <= MAX_RADIUS_M):
            raise ValueError("point or radius out of range")
    if s.polygon is None:
        return None
    geom = shapely.from_geojson(json.dumps(s.polygon))
    if geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        raise ValueError("polygon is not a Polygon/MultiPolygon")
    return geom


@lru_cache(maxsize=64)
def _aeqd(lat0: float, lon0: float) -> pyproj.Transformer:
    crs = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m +no_defs"
    return pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)


# --- the alert side ------------------------------------------------------------------


def footprint_of(enriched: EnrichedAlert) -> shapely.Geometry | None:
    """The alert's footprint, or the union of its active areas' geometries when it has none."""
    if enriched.footprint:
        return shapely.from_geojson(json.dumps(enriched.footprint))
    geoms = [
        shapely.from_geojson(json.dumps(a.geometry))
        for a in enriched.active_areas()
        if a.geometry
    ]
    if not geoms:
        return None
    return shapely.union_all(geoms)


def area_keys(enriched: EnrichedAlert) -> set[tuple[str, str]]:
    """Every (scheme, code) where the alert is in force: its active areas and the areas of
    hazards in force. A subscriber to a 解除 / なし area, or to a telegram's scope, is not
    reached by it."""
    a = enriched.alert
    keys = {(x.scheme, x.code) for x in (*enriched.active_areas(), *a.active_areas()) if x.code}
    if a.info_type != "cancel":
        keys |= {(h.area_scheme, h.area_code) for h in a.hazards
                 if h.area_code and h.state not in ("lifted", "none")}
    return keys


def alert_kinds(enriched: EnrichedAlert) -> set[str]:
    """The alert kind plus its hazards' kinds and sub-kinds: a filter matches any of them."""
    a = enriched.alert
    out = {a.kind, *enriched.hazard_tags}
    for h in a.hazards:
        out.add(h.kind)
        out.update(h.sub_kinds)
    return out


def effective_level(enriched: EnrichedAlert) -> int | None:
    """警戒レベル, else one derived from severity; None (unknown) passes every level filter
    — a subscriber is better told about an unrated alert than not told."""
    a = enriched.alert
    levels = [a.level, *(h.level for h in a.hazards)]
    known = [x for x in levels if x is not None]
    if known:
        return max(known)
    return _SEVERITY_LEVEL.get(a.severity)


def alert_languages(enriched: EnrichedAlert) -> set[str]:
    a = enriched.alert
    langs = {(a.language or "ja").lower().split("-")[0]}
    for t in a.translations:
        lang = str(t.get("language") or t.get("lang") or "").lower().split("-")[0]
        if lang:
            langs.add(lang)
    return langs


@dataclass(frozen=True)
class Place:
    """One area of an alert as push sees it: its name, its code (if any), its shape (if
    resolved and readable) and the 警戒レベル in force there (``EnrichedAlert.area_levels``;
    None for a lifted place)."""

    name: str | None
    keys: tuple[tuple[str, str], ...]
    geometry: shapely.Geometry | None
    level: int | None
    grade: Grade | None = None  # the JMA warning class in force there (Alert.area_grades)

    @property
    def rank(self) -> int | None:
        """What ``min_level`` is judged by: the level, else the one whose colour JMA paints
        the warning class in force there (大雪特別警報 → 5, 暴風警報 → 3), so the gravest
        warnings without 警戒レベル still reach those who asked for level 4 and above."""
        if self.level is not None or self.grade is None:
            return self.level
        return CLASS_LEVEL[self.grade[0]]


@dataclass(frozen=True)
class Places:
    """An alert's places and whether it gives them levels of their own.

    ``own`` is False when every place has the alert's ``level`` (the fallback of
    ``Alert.area_levels``: a CAP alert with one footprint, a Commons order whose places
    all carry the same level): the alert is then judged as a whole, by
    ``effective_level`` (which also reads severity), as before per-place levels existed."""

    items: tuple[Place, ...]
    own: bool

    @cached_property
    def _tree(self) -> STRtree:
        """The places' shapes (none: an empty point), to pre-filter ``touched``."""
        empty = shapely.Point()
        return STRtree([p.geometry if p.geometry is not None else empty for p in self.items])


def places_of(enriched: EnrichedAlert) -> Places:
    """The active areas of ``enriched`` with their shapes and levels (pure)."""
    levels, grades = enriched.area_levels(), enriched.alert.area_grades()
    wide = enriched.alert.level
    items = tuple(Place(a.name, ((a.scheme, a.code),) if a.code else (), _shape(a.geometry),
                        levels.get(area_key(a), wide), grades.get(area_key(a)))
                  for a in enriched.active_areas())
    return Places(items, any(p.rank != wide for p in items))


def _shape(geojson: dict[str, Any] | None) -> shapely.Geometry | None:
    """An area's GeoJSON as a shape; None when it has none or it cannot be read (the
    place is then judged by its code, or by the alert as a whole: never an error that
    would keep a change from everyone)."""
    if not geojson:
        return None
    try:
        geom = shapely.from_geojson(json.dumps(geojson))
    except (shapely.errors.GEOSException, ValueError, TypeError):
        return None
    return None if geom.is_empty else geom


def _union(geoms: list[shapely.Geometry]) -> shapely.Geometry | None:
    """One shape for the places of one level: their union (prepared, fast to test), or
    the plain collection when GEOS cannot union them (an invalid ring)."""
    if not geoms:
        return None
    try:
        return shapely.union_all(geoms)
    except shapely.errors.GEOSException:
        return shapely.geometrycollections(geoms)


def lifted_places(enriched: EnrichedAlert) -> Places:
    """The places ``enriched`` names where nothing of it is in force any more: those it
    says are lifted (解除) or clear (なし), and every stated place of a cancel (取消).
    What a subscriber there is told instead of another town's level (pure)."""
    cancel = enriched.alert.info_type == "cancel"
    items = tuple(Place(a.name, ((a.scheme, a.code),) if a.code else (), _shape(a.geometry),
                        None) for a in (enriched.areas or enriched.alert.areas)
                  if a.status in ("lifted", "none") or (cancel and a.status != "scope"))
    return Places(items, False)


def touched(sub: Subscription, places: Places) -> tuple[Place, ...]:
    """The places of an alert that ``sub``'s own place touches (point within radius,
    polygon intersecting, code named): the same rule as matching (``reached``), asked
    of a one-row index, so the notification tells what matching judged."""
    idx = SubscriptionIndex.build([sub])
    if not len(idx):
        return ()
    box = idx.envelope()
    near = set(places._tree.query(box).tolist()) if box is not None else set()
    return tuple(p for i, p in enumerate(places.items)
                 if len(idx.reached(p.geometry if i in near else None, p.keys)))


def place_level(places: Sequence[Place]) -> int | None:
    """The level in force at some places: their highest (None: none has a level)."""
    return highest(p.level for p in places)


def place_grade(places: Sequence[Place]) -> Grade | None:
    """The gravest JMA warning class in force at some places (None: none has one)."""
    return gravest(p.grade for p in places)


def _level_ok(enriched: EnrichedAlert, subs: SubscriptionIndex, rows: np.ndarray,
              places: Places | None = None) -> np.ndarray:
    """Per row: its ``min_level`` is met where it is.

    A row is judged by the highest level among the alert's places its own place touches
    (a 三宅町 subscriber is not told of 十津川村's 大雨特別警報 by its 注意報); a row the
    alert reaches only through its footprint or a code no place carries, or an alert that
    gives no place a level of its own, is judged by ``effective_level`` (None, an unrated
    alert, passes every filter). A place with no 警戒レベル is judged by the class
    of the JMA warning in force there (``Place.rank``: 暴風特別警報 beside 大雨特別警報 is
    5, 雷注意報 2); with neither it meets no ``min_level``.

    Vectorised by level, not by row: the places of one level (at most six groups) are
    one union (a prepared polygon: far faster to test than a collection) matched with
    ``reached`` against the index, highest level first, while some row falls short and
    is touched by no place yet (a lower group still decides whether such a row is judged
    by its place or by the alert); the exact radius test is spent on those rows only."""
    need = subs.min_level[rows]
    ok = need <= 0
    if ok.all():
        return ok
    wide = effective_level(enriched)
    places = places_of(enriched) if places is None else places
    if not places.own:
        return ok | (True if wide is None else need <= wide)
    got = np.full(len(rows), -1, np.int16)  # -1: touched by no place
    groups: dict[int, list[Place]] = {}
    for p in places.items:
        groups.setdefault(p.rank or 0, []).append(p)
    for level in sorted(groups, reverse=True):
        open_ = (~ok) & (got < 0)  # falls short and no place has told it its level yet
        if not open_.any():
            break
        group = groups[level]
        geom = _union([p.geometry for p in group if p.geometry is not None])
        hit = np.isin(rows, subs.reached(geom, (k for p in group for k in p.keys),
                                         among=rows[open_]))
        hit &= open_
        got[hit & (got < 0)] = level
        ok |= hit & (need <= level)
    outside = got < 0  # reached, but by no place: the alert as a whole
    ok |= outside & (True if wide is None else need <= wide)
    return ok


def match(
    enriched: EnrichedAlert,
    subs: SubscriptionIndex,
    *,
    channel: str | None = None,
    footprint: Any = None,
) -> list[str]:
    """Ids of the subscriptions this alert reaches (pure).

    A subscription is reached when its place touches the footprint (point within radius,
    polygon intersecting) or it names one of the alert's area codes, *and* its filters
    pass; its ``min_level`` is met by the level in force where it is (``_level_ok``).
    Drills reach only subscriptions that asked for drills. ``footprint`` may be passed
    pre-parsed when several indexes are matched against one alert.
    """
    if not len(subs):
        return []
    fp = footprint if footprint is not None else footprint_of(enriched)
    rows = subs.reached(fp, area_keys(enriched))
    if not len(rows):
        return []
    rows = judge(enriched, subs, np.unique(rows), channel=channel)
    ids = subs.ids
    return [ids[r] for r in rows.tolist()]


def judge(enriched: EnrichedAlert, subs: SubscriptionIndex, rows: np.ndarray, *,
          channel: str | None = None) -> np.ndarray:
    """The rows (already reached by the alert) whose filters pass: kinds, languages,
    drills, channel, and the level where each one is. The in-memory and the PostGIS
    matcher both end here, so they answer alike."""
    rows = subs.filter_rows(
        rows,
        kinds=alert_kinds(enriched),
        level=None,
        languages=alert_languages(enriched),
        drill=not enriched.alert.is_real,
        channel=channel,
    )
    return rows[_level_ok(enriched, subs, rows)] if len(rows) else rows

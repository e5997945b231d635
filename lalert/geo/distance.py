"""Geodesic distances between points and shapes, vectorised (pure).

Degrees are never used as metres: a shape and its candidate points are projected to an
azimuthal-equidistant plane centred on the shape (metres, accurate near the centre) only
to *find* the nearest point of the shape; the distance reported is the WGS 84 geodesic
(pyproj.Geod) between the point and that nearest point.

The projected copy of a shape, and an STRtree over its boundary segments, are built once
per shape object and reused while it lives (footprints are cached per area set): finding
the nearest segment through the tree is O(log n) per point instead of a scan of every
vertex, which is what made a whole prefecture cost ~20 µs per point.
"""

from __future__ import annotations

import math
import weakref
from functools import lru_cache

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry.base import BaseGeometry

GEOD = Geod(ellps="WGS84")
# Walking pace for evacuation, 1.0 m/s: 消防庁「津波避難対策推進マニュアル検討会報告書」(2013)
# plans evacuation on foot at 1.0 m/s (0.5 m/s for people who need help). Slower than the
# estate agents' 80 m/min: a resident with children or luggage in the rain, not a brochure.
WALK_M_PER_MIN = 60.0
M_PER_DEG_LAT = 110_574.0  # smallest length of a degree of latitude (equator)
_TREE_MIN_POINTS = 64  # fewer outside points than this: scan the shape, skip building a tree


def walking_minutes(distance_m: float) -> int:
    """Whole minutes on foot at ``WALK_M_PER_MIN``, rounded up and at least 1.

    The one walking time every output shows (signage, /here, the map, "where am I"), so a
    screen and a phone never disagree about the same distance. The metres are rounded
    first, as every output shows them, so the shown distance always gives the shown time.
    """
    return max(1, math.ceil(round(float(distance_m)) / WALK_M_PER_MIN))


def degree_margin(distance_m: float, max_abs_lat: float) -> tuple[float, float]:
    """Conservative (dlon, dlat) in degrees covering ``distance_m`` at latitudes up to
    ``max_abs_lat`` — for bounding-box prefilters only, never as a distance."""
    dlat = distance_m / M_PER_DEG_LAT * 1.01
    coslat = max(math.cos(math.radians(min(abs(max_abs_lat) + dlat, 89.0))), 1e-6)
    return dlat / coslat, dlat


@lru_cache(maxsize=64)
def _aeqd(lat0: float, lon0: float) -> Transformer:
    # building a Transformer costs ~5 ms; the same footprint always has the same centre
    return Transformer.from_crs("EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m",
                                always_xy=True)


class _Planar:
    """A shape in its own azimuthal-equidistant plane, with a lazy boundary-segment index."""

    def __init__(self, geom: BaseGeometry) -> None:
        c = geom.centroid
        self.fwd = _aeqd(c.y, c.x)
        self.geom = shapely.transform(geom, lambda xy: np.column_stack(self.fwd.transform(xy[:, 0], xy[:, 1])))
        self._segments: np.ndarray | None = None
        self._tree: shapely.STRtree | None = None

    def nearest_points(self, pts: np.ndarray) -> np.ndarray:
        """(n, 2) nearest planar point of the shape for each planar point in ``pts``."""
        if len(pts) < _TREE_MIN_POINTS:
            return shapely.get_coordinates(shapely.shortest_line(pts, self.geom)).reshape(-1, 2, 2)[:, 1, :]
        if self._tree is None:
            rings = shapely.get_rings(shapely.get_parts(shapely.get_parts(self.geom)))
            coords, ring_idx = shapely.get_coordinates(rings, return_index=True)
            same = ring_idx[1:] == ring_idx[:-1]  # consecutive vertices of one ring
            starts = np.flatnonzero(same)
            self._segments = shapely.linestrings(
                np.stack([coords[starts], coords[starts + 1]], axis=1))
            self._tree = shapely.STRtree(self._segments)
        src, seg = self._tree.query_nearest(pts, all_matches=False)
        near = np.empty((len(pts), 2))
        near[src] = shapely.get_coordinates(
            shapely.shortest_line(pts[src], self._segments[seg])).reshape(-1, 2, 2)[:, 1, :]
        return near


_PLANAR: dict[int, _Planar] = {}


def _planar(geom: BaseGeometry) -> _Planar:
    key = id(geom)
    hit = _PLANAR.get(key)
    if hit is None:
        hit = _PLANAR[key] = _Planar(geom)
        weakref.finalize(geom, _PLANAR.pop, key, None)  # forget it with the shape
    return hit


def distances_to(geom: BaseGeometry, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(geodesic metres, inside) from each point to ``geom`` (lon/lat); 0 inside or on
    the boundary."""
    lons = np.asarray(lons, dtype=float)
    lats = np.asarray(lats, dtype=float)
    n = len(lons)
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    shapely.prepare(geom)
    inside = shapely.intersects_xy(geom, lons, lats)  # interior or boundary
    dist = np.zeros(n)
    out = ~inside
    if out.any():
        p = _planar(geom)
        px, py = p.fwd.transform(lons[out], lats[out])
        near = p.nearest_points(shapely.points(px, py))
        nlon, nlat = p.fwd.transform(near[:, 0], near[:, 1], direction="INVERSE")
        _, _, d = GEOD.inv(lons[out], lats[out], nlon, nlat)
        dist[out] = d
    return dist, inside


def point_distances(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(geodesic metres, bearing degrees 0–360 clockwise from north) from one point."""
    n = len(lons)
    az, _, d = GEOD.inv(np.full(n, lon), np.full(n, lat), np.asarray(lons, float), np.asarray(lats, float))
    return d, np.mod(az, 360.0)

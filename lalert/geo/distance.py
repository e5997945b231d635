"""Geodesic distances between points and shapes, vectorised (pure).

Degrees are never used as metres: a shape and its candidate points are projected to an
azimuthal-equidistant plane centred on the shape (metres, accurate near the centre) only
to *find* the nearest point of the shape; the distance reported is the WGS 84 geodesic
(pyproj.Geod) between the point and that nearest point.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from pyproj import Geod, Transformer
from shapely.geometry.base import BaseGeometry

GEOD = Geod(ellps="WGS84")
M_PER_DEG_LAT = 110_574.0  # smallest length of a degree of latitude (equator)


def degree_margin(distance_m: float, max_abs_lat: float) -> tuple[float, float]:
    """Conservative (dlon, dlat) in degrees covering ``distance_m`` at latitudes up to
    ``max_abs_lat`` — for bounding-box prefilters only, never as a distance."""
    dlat = distance_m / M_PER_DEG_LAT * 1.01
    coslat = max(math.cos(math.radians(min(abs(max_abs_lat) + dlat, 89.0))), 1e-6)
    return dlat / coslat, dlat


def distances_to(geom: BaseGeometry, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(geodesic metres, inside) from each point to ``geom`` (lon/lat); 0 inside."""
    lons = np.asarray(lons, dtype=float)
    lats = np.asarray(lats, dtype=float)
    n = len(lons)
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=bool)
    shapely.prepare(geom)
    inside = shapely.contains_xy(geom, lons, lats) | shapely.intersects_xy(geom.boundary, lons, lats)
    dist = np.zeros(n)
    out = ~inside
    if out.any():
        c = geom.centroid
        fwd = Transformer.from_crs("EPSG:4326", f"+proj=aeqd +lat_0={c.y} +lon_0={c.x} +datum=WGS84 +units=m",
                                   always_xy=True)
        g_m = shapely.transform(geom, lambda xy: np.column_stack(fwd.transform(xy[:, 0], xy[:, 1])))
        px, py = fwd.transform(lons[out], lats[out])
        pts = shapely.points(px, py)
        near = shapely.get_coordinates(shapely.shortest_line(pts, g_m)).reshape(-1, 2, 2)[:, 1, :]
        nlon, nlat = fwd.transform(near[:, 0], near[:, 1], direction="INVERSE")
        _, _, d = GEOD.inv(lons[out], lats[out], nlon, nlat)
        dist[out] = d
    return dist, inside


def point_distances(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(geodesic metres, bearing degrees 0–360 clockwise from north) from one point."""
    n = len(lons)
    az, _, d = GEOD.inv(np.full(n, lon), np.full(n, lat), np.asarray(lons, float), np.asarray(lats, float))
    return d, np.mod(az, 360.0)
